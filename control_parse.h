/* control files: the pure parsing of one file's bytes, apart from the
   file access in control.c, so that a test or a fuzzer can call it */
#ifndef CONTROL_PARSE_H
#define CONTROL_PARSE_H

#include <stddef.h>
#include <stralloc.h>

#define CONTROL_PARSE_NUL (-1)          /* a value holds a NUL byte */
#define CONTROL_PARSE_NOMEM (-2)

/* where a value came from: its offset in out, the file (a number the
   caller gives) and the line, counted from 1 */
struct control_line { size_t off; unsigned int file; unsigned int line; };

/* Appends each value of x[0..len) to out, each ending in \0. A value is a
   line (up to LF or the end) with the white space " \t\r\v\f" trimmed at
   both ends; blank lines and lines whose first non-blank byte is # are
   skipped. When lines is not NULL, one struct control_line {the value's
   offset in out, file, its line} is appended to it for each value. A line "$include ARG" (white
   space after $include, ARG non-empty) calls include(ctx, ARG, its line)
   instead, ARG \0-terminated; a non-zero return stops the parse and is
   returned. 0 when all went well. */
int control_parse(const char *x, size_t len, stralloc *out, stralloc *lines, unsigned int file,
                  int (*include)(void *ctx, const char *arg, unsigned int line), void *ctx);

/* a control file's number: 1 to 19 decimal digits, nothing else, at most
   max; 1 and *u set, or 0 */
int control_scanulong(const char *line, unsigned long max, unsigned long *u);

#endif
