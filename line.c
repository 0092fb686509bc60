/* A bounded command-line reader. Only CRLF ends a line: a bare LF is part
   of the line it is in and makes the whole line, up to the next CRLF, one
   refused line (no part of it can be read as a command of its own). A
   line longer than max is consumed up to its CRLF and reported as too
   long, so its rest can never be read as a second command either. */
#include <errno.h>
#include <string.h>
#include "line.h"
#include "wipe.h"

int line_read(buffer *b, char *line, size_t max, size_t *len)
{
  size_t n = 0;
  int toolong = 0, barelf = 0, lastcr = 0;
  for (;;) {
    ssize_t avail = buffer_feed(b);
    char *p, *lf = 0;
    size_t take, off = 0;
    if (avail == 0) return LINE_EOF;
    if (avail < 0) return (errno == ETIMEDOUT) ? LINE_TIMEOUT : LINE_ERROR;
    p = buffer_peek(b);
    while (off < (size_t)avail) {
      char *x = memchr(p + off, '\n', (size_t)avail - off);
      if (!x) break;
      if (x > p ? x[-1] == '\r' : lastcr) { lf = x; break; }
      barelf = 1;
      off = (size_t)(x - p) + 1;
    }
    take = lf ? (size_t)(lf - p) + 1 : (size_t)avail;
    if (!toolong) {
      if (take > max - n) toolong = 1;
      else { memcpy(line + n, p, take); n += take; }
    }
    lastcr = p[take - 1] == '\r';
    buffer_seek(b, take);
    if (lf) break;
  }
  if (toolong) return LINE_TOOLONG;
  if (barelf) return LINE_BARELF;
  *len = n - 2;                     /* without the CRLF */
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

/* libowfat's buffer keeps what it handed out in x[0, p) until the next
   feed moves the rest down: credentials read from there must not stay */
void line_wipe_consumed(buffer *b)
{
  if (b->p <= b->a) wipe(b->x, b->p);
}
