// SwiftPM drops pkg-config's -D_XOPEN_SOURCE=600, without which ncurses.h hides the wide-char API.
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <ncursesw/ncurses.h>
