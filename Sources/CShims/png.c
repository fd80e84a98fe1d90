#include "CShims.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const uint8_t *data; size_t size; size_t pos; } mem_reader;

static void mem_read(png_structp png, png_bytep out, png_size_t len) {
    mem_reader *r = (mem_reader *)png_get_io_ptr(png);
    if (r->pos + len > r->size) png_error(png, "truncated PNG data");
    memcpy(out, r->data + r->pos, len);
    r->pos += len;
}

static void error_fn(png_structp png, png_const_charp msg) {
    char *buf = (char *)png_get_error_ptr(png);
    if (buf) snprintf(buf, 256, "%s", msg);
    png_longjmp(png, 1);
}
static void warning_fn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static char *dupstr(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void collect_texts(png_structp png, png_infop info, lidit_png_image *image) {
    png_textp texts = NULL;
    int n = 0;
    png_get_text(png, info, &texts, &n);
    if (n <= 0) return;
    lidit_png_text *out = calloc((size_t)n, sizeof(lidit_png_text));
    if (!out) return;
    int k = 0;
    for (int i = 0; i < n; i++) {
        size_t len = texts[i].compression >= PNG_ITXT_COMPRESSION_NONE ? texts[i].itxt_length : texts[i].text_length;
        out[k].key = dupstr(texts[i].key, strlen(texts[i].key));
        out[k].text = dupstr(texts[i].text ? texts[i].text : "", texts[i].text ? len : 0);
        out[k].isInternational = texts[i].compression >= PNG_ITXT_COMPRESSION_NONE;
        k++;
    }
    image->texts = out;
    image->textCount = k;
}

#define LIDIT_PNG_MAX_PIXELS (64ull << 20)

/* `rows` is the caller's, so that a libpng error (a longjmp out of png_read_image) cannot leak it. */
static int read_common(png_structp png, png_infop info, lidit_png_image *image, png_bytep *volatile *rows_out) {
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w == 0 || h == 0 || w > 16384 || h > 16384) {
        snprintf(image->error, sizeof image->error, "unsupported PNG size %ux%u", (unsigned)w, (unsigned)h);
        return 1;
    }
    /* 16384 a side is still 1 GB of RGBA, which a 1 MB file of zeros can ask for: cap the area too,
     * far above any picture this tool makes or a camera takes. */
    if ((uint64_t)w * h > LIDIT_PNG_MAX_PIXELS) {
        snprintf(image->error, sizeof image->error, "PNG of %ux%u is too large (over %u megapixels)",
                 (unsigned)w, (unsigned)h, (unsigned)(LIDIT_PNG_MAX_PIXELS >> 20));
        return 1;
    }
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    if (channels != 3 && channels != 4) {
        snprintf(image->error, sizeof image->error, "unsupported PNG channel count %d", channels);
        return 1;
    }
    size_t rowbytes = png_get_rowbytes(png, info);
    uint8_t *pixels = malloc(rowbytes * h);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) { free(pixels); free(rows); snprintf(image->error, sizeof image->error, "out of memory"); return 1; }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + y * rowbytes;
    image->pixels = pixels; // owned by image so a longjmp below still frees it
    *rows_out = rows;       // and the row pointers by the caller
    png_read_image(png, rows);
    *rows_out = NULL;
    free(rows);
    png_read_end(png, info);
    image->width = w; image->height = h; image->channels = (uint32_t)channels;
    collect_texts(png, info, image);
    return 0;
}

static int read_with(lidit_png_image *image, FILE *fp, mem_reader *mem) {
    memset(image, 0, sizeof *image);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, image->error, error_fn, warning_fn);
    if (!png) { snprintf(image->error, sizeof image->error, "libpng init failed"); return 1; }
    png_infop info = png_create_info_struct(png);
    png_infop end = png_create_info_struct(png);
    if (!info || !end) { png_destroy_read_struct(&png, &info, &end); snprintf(image->error, sizeof image->error, "libpng init failed"); return 1; }
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &info, &end);
        char msg[256]; memcpy(msg, image->error, sizeof msg);
        lidit_png_free(image);
        memcpy(image->error, msg, sizeof msg);
        if (!image->error[0]) snprintf(image->error, sizeof image->error, "corrupt PNG");
        return 1;
    }
    if (fp) png_init_io(png, fp); else png_set_read_fn(png, mem, mem_read);
    png_set_user_limits(png, 16384, 16384);
    /* What a compressed chunk (zTXt, iTXt, iCCP) may inflate to, and how many ancillary chunks
     * are kept: far above any real file's text, far below what a small hostile file could ask. */
    png_set_chunk_malloc_max(png, 8u << 20);
    png_set_chunk_cache_max(png, 1000);
    int rc = read_common(png, info, image, &rows);
    png_destroy_read_struct(&png, &info, &end);
    if (rc) { char msg[256]; memcpy(msg, image->error, sizeof msg); lidit_png_free(image); memcpy(image->error, msg, sizeof msg); }
    return rc;
}

/* Every chunk's declared length must fit in the file. libpng allocates a text chunk's declared
 * length before it reads the data, so a 400-byte file claiming a 1.9 GB tEXt chunk cost 1.9 GB
 * (found by scripts/fuzz). `size` is the file's; `header` reads the 8 bytes at an offset. */
static int chunks_fit(uint64_t size, int (*header)(void *ctx, uint64_t at, uint8_t out[8]), void *ctx,
                      char *err, size_t errlen) {
    uint64_t pos = 8;
    uint8_t h[8];
    while (size - pos >= 8) {
        if (!header(ctx, pos, h)) return 1; /* libpng reports the read error */
        uint64_t len = (uint64_t)h[0] << 24 | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 8 | h[3];
        if (len + 12 > size - pos) {
            snprintf(err, errlen, "truncated PNG (the chunk at offset %llu claims %llu bytes, past the end of the file)",
                     (unsigned long long)pos, (unsigned long long)len);
            return 0;
        }
        if (memcmp(h + 4, "IEND", 4) == 0) break;
        pos += len + 12;
    }
    return 1;
}

static int mem_header(void *ctx, uint64_t at, uint8_t out[8]) {
    const mem_reader *r = ctx;
    if (at + 8 > r->size) return 0;
    memcpy(out, r->data + at, 8);
    return 1;
}

static int file_header(void *ctx, uint64_t at, uint8_t out[8]) {
    FILE *fp = ctx;
    return fseeko(fp, (off_t)at, SEEK_SET) == 0 && fread(out, 1, 8, fp) == 8;
}

int lidit_png_read(const char *path, lidit_png_image *image) {
    FILE *fp = fopen(path, "rb");
    if (!fp) { memset(image, 0, sizeof *image); snprintf(image->error, sizeof image->error, "cannot open file"); return 1; }
    uint8_t sig[8];
    if (fread(sig, 1, 8, fp) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(fp); memset(image, 0, sizeof *image); snprintf(image->error, sizeof image->error, "not a PNG file"); return 1;
    }
    if (fseeko(fp, 0, SEEK_END) == 0) {
        off_t size = ftello(fp);
        if (size > 0 && !chunks_fit((uint64_t)size, file_header, fp, image->error, sizeof image->error)) {
            char msg[256]; memcpy(msg, image->error, sizeof msg);
            fclose(fp); memset(image, 0, sizeof *image); memcpy(image->error, msg, sizeof msg);
            return 1;
        }
    }
    rewind(fp);
    int rc = read_with(image, fp, NULL);
    fclose(fp);
    return rc;
}

int lidit_png_read_memory(const uint8_t *data, size_t size, lidit_png_image *image) {
    if (size < 8 || png_sig_cmp(data, 0, 8)) { memset(image, 0, sizeof *image); snprintf(image->error, sizeof image->error, "not a PNG file"); return 1; }
    mem_reader m = { data, size, 0 };
    memset(image, 0, sizeof *image);
    if (!chunks_fit(size, mem_header, &m, image->error, sizeof image->error)) return 1;
    return read_with(image, NULL, &m);
}

void lidit_png_free(lidit_png_image *image) {
    free(image->pixels);
    for (int i = 0; i < image->textCount; i++) { free(image->texts[i].key); free(image->texts[i].text); }
    free(image->texts);
    memset(image, 0, sizeof *image);
}

int lidit_png_write(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                    uint32_t channels, const lidit_png_text *texts, int textCount,
                    char *errbuf, size_t errlen) {
    char err[256] = {0};
    if (channels != 3 && channels != 4) { snprintf(errbuf, errlen, "channels must be 3 or 4"); return 1; }
    FILE *fp = fopen(path, "wb");
    if (!fp) { snprintf(errbuf, errlen, "cannot create file"); return 1; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, error_fn, warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_textp ptexts = NULL;
    if (!png || !info) { fclose(fp); snprintf(errbuf, errlen, "libpng init failed"); return 1; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        free(ptexts);
        snprintf(errbuf, errlen, "%s", err[0] ? err : "PNG write failed");
        return 1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, width, height, 8, channels == 4 ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (textCount > 0) {
        ptexts = calloc((size_t)textCount, sizeof(png_text));
        for (int i = 0; i < textCount; i++) {
            ptexts[i].key = texts[i].key;
            ptexts[i].text = texts[i].text;
            if (texts[i].isInternational) {
                ptexts[i].compression = PNG_ITXT_COMPRESSION_NONE;
                ptexts[i].itxt_length = strlen(texts[i].text);
                ptexts[i].lang = "";
                ptexts[i].lang_key = "";
            } else {
                ptexts[i].compression = PNG_TEXT_COMPRESSION_NONE;
                ptexts[i].text_length = strlen(texts[i].text);
            }
        }
        png_set_text(png, info, ptexts, textCount);
    }
    png_write_info(png, info);
    size_t stride = (size_t)width * channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + y * stride));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(ptexts);
    if (fflush(fp) != 0 || ferror(fp)) { fclose(fp); snprintf(errbuf, errlen, "write failed (disk full?)"); return 1; }
    if (fclose(fp) != 0) { snprintf(errbuf, errlen, "write failed (disk full?)"); return 1; }
    return 0;
}
