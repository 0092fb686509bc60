/* the Postfix record stream encoder; see pdrecord.h */
#include <errno.h>
#include <string.h>
#include "pdrecord.h"

void pdrec_init(struct pdrec *r, int (*write)(void *ctx, const char *buf, size_t len), void *ctx)
{
  r->write = write;
  r->ctx = ctx;
  r->err = 0;
  r->len = 0;
  r->linelen = 0;
}

int pdrec_flush(struct pdrec *r)
{
  if (!r->err && r->len && r->write(r->ctx, r->buf, r->len) == -1) r->err = errno ? errno : EIO;
  r->len = 0;
  return r->err ? -1 : 0;
}

void pdrec_put(struct pdrec *r, char type, const char *data, size_t len)
{
  size_t n = len;
  if (len > PDREC_MAX) { if (!r->err) r->err = EINVAL; return; }
  if (r->len + 1 + 10 + len > sizeof r->buf) pdrec_flush(r);
  r->buf[r->len++] = type;
  do {
    unsigned char c = n & 0x7f;
    n >>= 7;
    if (n) c |= 0x80;
    r->buf[r->len++] = (char)c;
  } while (n);
  memcpy(r->buf + r->len, data, len);
  r->len += len;
}

int pdrec_content(void *ctx, const char *buf, size_t len)
{
  struct pdrec *r = ctx;
  while (len) {
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) : len;
    while (n) {
      size_t k;
      if (r->linelen == PDREC_MAX) { pdrec_put(r, 'L', r->line, r->linelen); r->linelen = 0; }
      k = PDREC_MAX - r->linelen;
      if (k > n) k = n;
      memcpy(r->line + r->linelen, buf, k);
      r->linelen += k;
      buf += k; len -= k; n -= k;
    }
    if (nl) {
      pdrec_put(r, 'N', r->line, r->linelen);
      r->linelen = 0;
      ++buf; --len;
    }
  }
  return r->err ? -1 : 0;
}

void pdrec_content_end(struct pdrec *r)
{
  if (r->linelen) pdrec_put(r, 'N', r->line, r->linelen);
  r->linelen = 0;
}
