#ifndef UTF8_H
#define UTF8_H
#include <stddef.h>

/* 1 when x[0, len) is well-formed UTF-8 (RFC 3629 3: no overlong form, no
   surrogate, nothing above U+10FFFF, no truncated sequence) and holds no
   C1 control (U+0080 to U+009F); 0 otherwise. ASCII bytes are not looked
   at: the grammar that calls this refuses the controls it must. */
int utf8_valid(const char *x, size_t len);

#endif
