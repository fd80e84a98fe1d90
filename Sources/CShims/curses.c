#define _XOPEN_SOURCE 700
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include "CShims.h"
#include <ncursesw/ncurses.h>
#include <sys/ioctl.h>
#include <unistd.h>

int lidit_getmaxy(void *win) { return getmaxy((WINDOW *)win); }
int lidit_getmaxx(void *win) { return getmaxx((WINDOW *)win); }
int lidit_color_pair(int n) { return (int)COLOR_PAIR(n); }
int lidit_key_resize(void) { return KEY_RESIZE; }
unsigned lidit_attr_bits(int which) {
    switch (which) { case 0: return A_BOLD; case 1: return A_UNDERLINE; case 2: return A_REVERSE; case 3: return A_DIM; default: return A_NORMAL; }
}
int lidit_attr_set(void *win, unsigned attrs, int pair) { return wattr_set((WINDOW *)win, (attr_t)attrs, 0, &pair); }

int lidit_terminal_size(int fd, int *rows, int *cols, int *xpixel, int *ypixel) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return 1;
    *rows = ws.ws_row; *cols = ws.ws_col; *xpixel = ws.ws_xpixel; *ypixel = ws.ws_ypixel;
    return 0;
}

#include <wchar.h>
int lidit_wcwidth(uint32_t codepoint) { return wcwidth((wchar_t)codepoint); }
