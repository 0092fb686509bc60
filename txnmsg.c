/* The message as plugins see it: the header fields the core and plugins
   added, then the client's header section (after any fields a plugin
   removed), then the rest of the spool. Read in chunks, so a plugin can
   stream a message of any size to a daemon. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <case.h>
#include "session.h"

/* the message's parts: [0] new headers, [1] the edited header section
   (empty when not edited), [2] the spool from its offset */
static void parts(struct session *s, unsigned long long len[3], unsigned long long *spooloff)
{
  struct txn *t = &s->t;
  len[0] = t->newhdrs.len;
  len[1] = t->hdr_edited ? t->hdr.len : 0;
  *spooloff = t->hdr_edited ? t->hdr_spoollen : 0;
  len[2] = t->spool.len - *spooloff;
}

unsigned long long txn_message_size(struct session *s)
{
  unsigned long long len[3], off;
  parts(s, len, &off);
  return len[0] + len[1] + len[2];
}

ssize_t txn_message_read(struct session *s, unsigned long long off, char *buf, size_t max)
{
  unsigned long long len[3], spooloff;
  parts(s, len, &spooloff);
  if (off < len[0]) {
    size_t n = (size_t)(len[0] - off) < max ? (size_t)(len[0] - off) : max;
    memcpy(buf, s->t.newhdrs.s + off, n);
    return (ssize_t)n;
  }
  off -= len[0];
  if (off < len[1]) {
    size_t n = (size_t)(len[1] - off) < max ? (size_t)(len[1] - off) : max;
    memcpy(buf, s->t.hdr.s + off, n);
    return (ssize_t)n;
  }
  off -= len[1];
  return spool_read_at(&s->t.spool, spooloff + off, buf, max);
}

int txn_header_delete(struct session *s, const char *name)
{
  struct txn *t = &s->t;
  size_t nl = strlen(name), i = 0, o = 0;
  int removed = 0, dropping = 0;
  if (t->hdr_toolarge || t->in_headers) return -1;
  if (!t->hdr_edited) { t->hdr_spoollen = t->hdr.len; }
  while (i < t->hdr.len) {
    const char *x = t->hdr.s + i;
    const char *e = memchr(x, '\n', t->hdr.len - i);
    size_t l = e ? (size_t)(e - x) + 1 : t->hdr.len - i;
    if (x[0] == ' ' || x[0] == '\t') {
      /* a continuation belongs to the field above */
    } else {
      dropping = l > nl && x[nl] == ':' && !case_diffb(x, nl, name);
      if (dropping) ++removed;
    }
    if (!dropping) {
      if (o != i) memmove(t->hdr.s + o, x, l);
      o += l;
    }
    i += l;
  }
  t->hdr.len = o;
  if (removed) t->hdr_edited = 1;
  return removed;
}

/* txn_each's part after the new header fields, when fields were removed */
int txn_each_edited(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx)
{
  char buf[65536];
  unsigned long long off = s->t.newhdrs.len;
  for (;;) {
    ssize_t r = txn_message_read(s, off, buf, sizeof buf);
    if (r < 0) return -1;
    if (r == 0) return 0;
    off += (unsigned long long)r;
    if (fn(ctx, buf, (size_t)r) == -1) return -1;
  }
}

int txn_write_edited(struct session *s, int fd)
{
  char buf[65536];
  unsigned long long off = s->t.newhdrs.len;   /* the caller wrote those */
  for (;;) {
    ssize_t r = txn_message_read(s, off, buf, sizeof buf);
    if (r < 0) return -1;
    if (r == 0) return 0;
    off += (unsigned long long)r;
    if (fd_write_all(fd, buf, (size_t)r) == -1) return -1;
  }
}
