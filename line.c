/* A bounded command-line reader. Only CRLF ends a line. A line longer
   than max is consumed up to its LF and reported as too long, so its rest
   can never be read as a second command. */
#include <errno.h>
#include <string.h>
#include "session.h"

int line_read(buffer *b, char *line, size_t max, size_t *len)
{
  size_t n = 0;
  int toolong = 0;
  for (;;) {
    ssize_t avail = buffer_feed(b);
    char *p, *lf;
    size_t take;
    if (avail == 0) return LINE_EOF;
    if (avail < 0) return (errno == ETIMEDOUT) ? LINE_TIMEOUT : LINE_ERROR;
    p = buffer_peek(b);
    lf = memchr(p, '\n', (size_t)avail);
    take = lf ? (size_t)(lf - p) + 1 : (size_t)avail;
    if (!toolong) {
      if (take > max - n) toolong = 1;
      else { memcpy(line + n, p, take); n += take; }
    }
    buffer_seek(b, take);
    if (lf) break;
  }
  if (toolong) return LINE_TOOLONG;
  *len = n - 1;                     /* without the LF */
  if (n < 2 || line[n - 2] != '\r') return LINE_BARELF;
  *len = n - 2;
  {
    size_t i;
    int eight = 0;
    for (i = 0; i < *len; ++i) {
      unsigned char c = (unsigned char)line[i];
      if (c == '\r') return LINE_BARECR;
      if (c == 0) return LINE_NUL;
      if (c >= 128) eight = 1;
    }
    if (eight) return LINE_8BIT;
  }
  return LINE_OK;
}
