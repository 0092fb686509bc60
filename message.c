/* The message as plugins and queue back ends see it: the header fields
   the core and plugins added, then the client's header section (after any
   fields a plugin removed), then the rest of the spool. Read in chunks, so
   a plugin can stream a message of any size to a daemon; appended to from
   data_post on (addsig). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <case.h>
#include "fdio.h"
#include "message.h"
#include "session.h"
#include "spool.h"

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

void txn_message_parts(struct session *s, unsigned long long *headers, unsigned long long *body)
{
  *headers = s->t.newhdrs.len;
  *body = (unsigned long long)s->t.newhdrs.len + s->t.hdr.len;
}

/* txn_each's part after the new header fields, when fields were removed */
static int each_edited(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx)
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

static int write_chunk(void *ctx, const char *buf, size_t len)
{
  return fd_write_all(*(int *)ctx, buf, len);
}

int txn_each(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx)
{
  if (s->t.newhdrs.len && fn(ctx, s->t.newhdrs.s, s->t.newhdrs.len) == -1) return -1;
  if (s->t.hdr_edited) return each_edited(s, fn, ctx);
  return spool_each(&s->t.spool, fn, ctx);
}

int txn_each_client(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx)
{
  if (s->t.hdr_edited) return each_edited(s, fn, ctx);
  return spool_each(&s->t.spool, fn, ctx);
}

int txn_write_message(struct session *s, int fd)
{
  if (s->t.hdr_edited) {
    if (fd_write_all(fd, s->t.newhdrs.s, s->t.newhdrs.len) == -1) return -1;
    return each_edited(s, write_chunk, &fd);
  }
  return spool_write_to(&s->t.spool, fd, s->t.newhdrs.s, s->t.newhdrs.len);
}

int txn_body_replace(struct session *s)
{
  struct txn *t = &s->t;
  struct spool ns;
  unsigned long long hlen = t->hdr_edited ? t->hdr_spoollen : t->hdr.len, off = 0;
  char buf[8192];
  if (t->hdr_toolarge) return 0;
  ns.mem.s = NULL;
  ns.mem.len = ns.mem.a = 0;
  ns.wbuf = NULL;
  spool_init(&ns, t->spool.dir, t->spool.threshold);
  while (off < hlen) {
    size_t want = hlen - off < sizeof buf ? (size_t)(hlen - off) : sizeof buf;
    ssize_t r = spool_read_at(&t->spool, off, buf, want);
    if (r <= 0 || spool_put(&ns, buf, (size_t)r) == -1) goto fail;
    off += (unsigned long long)r;
  }
  if (spool_put(&ns, "\n", 1) == -1) goto fail;
  spool_free(&t->spool);
  stralloc_free(&t->spool.mem);
  t->spool = ns;
  t->size = ns.len;
  return 1;
fail:
  spool_free(&ns);
  stralloc_free(&ns.mem);
  return 0;
}

int txn_body_append(struct session *s, const char *x, size_t len)
{
  struct txn *t = &s->t;
  /* a message of header fields only gets the empty line that starts a body */
  if (t->size == (t->hdr_edited ? t->hdr_spoollen : t->hdr.len)) {
    if (spool_put(&t->spool, "\n", 1) == -1) return 0;
    t->size++;
  }
  if (spool_put(&t->spool, x, len) == -1) return 0;
  t->size += len;
  return 1;
}
