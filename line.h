/* Command lines (line.c): read with a bound and an explicit status. */
#ifndef LINE_H
#define LINE_H

#include <stddef.h>
#include <buffer.h>

enum line_status { LINE_OK, LINE_EOF, LINE_TIMEOUT, LINE_ERROR, LINE_TOOLONG, LINE_BARELF, LINE_BARECR, LINE_NUL, LINE_8BIT };
int line_read(buffer *b, char *line, size_t max, size_t *len);
/* wipes what the reader has already handed out of b's buffer */
void line_wipe_consumed(buffer *b);

#endif
