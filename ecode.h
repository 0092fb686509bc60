/* RFC 3463 enhanced status codes (leaf: no project header). */
#ifndef ECODE_H
#define ECODE_H

#include <stddef.h>

/* the length of the code "c.d.d" at the start of x (c one of 2, 4, 5;
   each d one to three digits), 0 when x does not start with one */
size_t ecode_scan(const char *x, size_t len);

#endif
