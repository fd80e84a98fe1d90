#ifndef LIDIT_CSHIMS_H
#define LIDIT_CSHIMS_H
// Small C helpers for what Swift cannot call directly: libpng's setjmp-based error
// handling, and ncurses' function-like macros.
#include <stddef.h>
#include <stdint.h>

// ---- PNG (libpng) ----
typedef struct {
    char *key;          // Latin-1/ASCII keyword
    char *text;         // UTF-8 for iTXt, Latin-1 for tEXt/zTXt
    int isInternational; // 1 = iTXt
} lidit_png_text;

typedef struct {
    uint32_t width, height;
    uint32_t channels;       // 3 = RGB, 4 = RGBA (input is expanded to these)
    uint8_t *pixels;         // width*height*channels, row-major, caller frees with lidit_png_free
    lidit_png_text *texts;
    int textCount;
    char error[256];
} lidit_png_image;

// Returns 0 on success; on failure, non-zero with a message in image->error.
int lidit_png_read(const char *path, lidit_png_image *image);
int lidit_png_read_memory(const uint8_t *data, size_t size, lidit_png_image *image);
void lidit_png_free(lidit_png_image *image);

// Writes to an already-open FILE-less path; returns 0 on success, error text in errbuf.
int lidit_png_write(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height,
                    uint32_t channels, const lidit_png_text *texts, int textCount,
                    char *errbuf, size_t errlen);

// ---- ncurses macro shims ----
int lidit_getmaxy(void *win);
int lidit_getmaxx(void *win);
int lidit_color_pair(int n);
int lidit_key_resize(void);
// A_BOLD (0), A_UNDERLINE (1), A_REVERSE (2), A_DIM (3).
unsigned lidit_attr_bits(int which);
// wattr_set with the colour pair passed through the opts pointer (pairs above 255 work).
int lidit_attr_set(void *win, unsigned attrs, int pair);
int lidit_wcwidth(uint32_t codepoint);

// ---- terminal ----
int lidit_terminal_size(int fd, int *rows, int *cols, int *xpixel, int *ypixel);

#endif
