/* The postdrop record encoder against an independent decoder of Postfix's
   record format (type byte; length in base-128 groups, least significant
   first, high bit = more; data). The stream the plugin writes (S sender,
   R per recipient, M, the content, X, E) must decode into well-formed,
   minimally encoded records of at most PDREC_MAX bytes, in that order,
   S and R giving the addresses back; the L and N records between M and X
   give the content back (L = PDREC_MAX bytes of a line that goes on, N =
   the rest of a line, its LF dropped; an N after L is never empty, and a
   last line without LF gets an N too). The content is fed in random
   pieces, so piece boundaries fall everywhere (inside CRLF, on LF, at
   PDREC_MAX). An address over PDREC_MAX is refused with EINVAL; a write
   failure is kept and stops the output.

   Input: seed byte, flags byte (low 3 bits: recipients; 0x40: content
   repeated 9 times, so the 64 KB buffer is flushed midway; 0x20: the
   second write fails, or the first with 0x10 too), then the sender and
   the recipients, each ended by a NUL, then the content. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../pdrecord.h"

#define REPEAT 9

/* the write function: fail is the call that fails, or 0 */
struct sink { uint8_t *s; size_t len, cap; int calls, fail; };

static int sink_write(void *ctx, const char *buf, size_t len)
{
  struct sink *k = ctx;
  if (!len) abort();                           /* nothing written for nothing */
  if (++k->calls == k->fail) { errno = EPIPE; return -1; }
  if (k->fail && k->calls > k->fail) abort();  /* nothing after a failure */
  if (len > k->cap - k->len) {
    size_t cap = (k->len + len) * 2;
    uint8_t *s = realloc(k->s, cap);
    if (!s) abort();
    k->s = s;
    k->cap = cap;
  }
  memcpy(k->s + k->len, buf, len);
  k->len += len;
  return 0;
}

struct record { uint8_t type; const uint8_t *data; size_t len; };

/* the next record at *pos: 1, 0 at the end; aborts on a malformed one */
static int decode(const uint8_t *x, size_t n, size_t *pos, struct record *r)
{
  size_t p = *pos, len = 0;
  unsigned shift = 0;
  uint8_t c;
  if (p == n) return 0;
  r->type = x[p++];
  do {
    if (p == n || shift > 28) abort();         /* cut short, or over 32 bits */
    c = x[p++];
    len |= (size_t)(c & 0x7f) << shift;
    shift += 7;
  } while (c & 0x80);
  if (shift > 7 && !(c & 0x7f)) abort();       /* not minimal */
  if (len > PDREC_MAX || len > n - p) abort();
  r->data = x + p;
  r->len = len;
  *pos = p + len;
  return 1;
}

static uint32_t rng;

static size_t piece(size_t left)
{
  size_t k;
  rng = rng * 1103515245u + 12345u;
  k = 1 + (rng >> 16) % 97;
  if ((rng & 0x300) == 0x300) k = 1 + (rng >> 16) % 1500;
  return k < left ? k : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pdrec *r;
  struct sink k = {0};
  const uint8_t *addr[8], *content;
  size_t addrlen[8], contentlen, p, pos, i, toolong = 0, rep, reps;
  unsigned nrcpt, na = 0;
  struct record rec;
  uint8_t *want, *got;
  size_t wantlen, gotlen;
  int prev_l = 0, contentret = 0;

  if (size < 2) return 0;
  rng = data[0];
  nrcpt = data[1] & 7;
  reps = data[1] & 0x40 ? REPEAT : 1;
  k.fail = data[1] & 0x20 ? 2 - !!(data[1] & 0x10) : 0;
  p = 2;
  for (na = 0; na < 1 + nrcpt; ++na) {
    const uint8_t *z = memchr(data + p, 0, size - p);
    if (!z) return 0;
    addr[na] = data + p;
    addrlen[na] = (size_t)(z - (data + p));
    if (addrlen[na] > PDREC_MAX) toolong = 1;
    p = (size_t)(z - data) + 1;
  }
  content = data + p;
  contentlen = size - p;

  r = malloc(sizeof *r);
  if (!r) return 0;
  pdrec_init(r, sink_write, &k);
  pdrec_put(r, 'S', (const char *)addr[0], addrlen[0]);
  for (i = 1; i < na; ++i) pdrec_put(r, 'R', (const char *)addr[i], addrlen[i]);
  pdrec_put(r, 'M', "", 0);
  for (rep = 0; rep < reps; ++rep) {
    size_t off = 0;
    while (off < contentlen) {
      size_t m = piece(contentlen - off);
      int ret = pdrec_content(r, (const char *)content + off, m);
      if (ret != (r->err ? -1 : 0)) abort();
      if (ret) contentret = -1;
      off += m;
    }
  }
  pdrec_content_end(r);
  pdrec_put(r, 'X', "", 0);
  pdrec_put(r, 'E', "", 0);
  if (pdrec_flush(r) != (r->err ? -1 : 0)) abort();
  if (contentret && !r->err) abort();

  /* whatever was written decodes into whole, well-formed records */
  pos = 0;
  while (decode(k.s, k.len, &pos, &rec)) ;

  if (toolong) {
    /* refused, not written: the first failure is the one kept */
    if (r->err != EINVAL && !(k.fail && k.calls >= k.fail && r->err == EPIPE)) abort();
    goto out;
  }
  if (k.fail && k.calls >= k.fail) {
    if (r->err != EPIPE) abort();
    goto out;                                  /* a prefix; checked above */
  }
  if (r->err) abort();

  /* the envelope */
  pos = 0;
  for (i = 0; i < na; ++i) {
    if (!decode(k.s, k.len, &pos, &rec)) abort();
    if (rec.type != (i ? 'R' : 'S') || rec.len != addrlen[i] || (rec.len && memcmp(rec.data, addr[i], rec.len)))
      abort();
  }
  if (!decode(k.s, k.len, &pos, &rec) || rec.type != 'M' || rec.len) abort();

  /* the content: L and N records up to X */
  if (__builtin_mul_overflow(contentlen, reps, &wantlen) || __builtin_add_overflow(wantlen, 1, &wantlen)) abort();
  want = malloc(wantlen);
  got = malloc(wantlen + PDREC_MAX + 1);
  if (!want || !got) abort();
  wantlen = 0;
  for (rep = 0; rep < reps; ++rep) {
    if (contentlen) memcpy(want + wantlen, content, contentlen);
    wantlen += contentlen;
  }
  if (wantlen && want[wantlen - 1] != '\n') want[wantlen++] = '\n';
  gotlen = 0;
  for (;;) {
    if (!decode(k.s, k.len, &pos, &rec)) abort();
    if (rec.type == 'X') break;
    if (rec.type != 'L' && rec.type != 'N') abort();
    if (rec.type == 'L' && rec.len != PDREC_MAX) abort();
    if (rec.type == 'N' && prev_l && !rec.len) abort();
    if (rec.len > wantlen + 1 - gotlen) abort();
    if (rec.len) memcpy(got + gotlen, rec.data, rec.len);
    gotlen += rec.len;
    if (rec.type == 'N') got[gotlen++] = '\n';
    if (gotlen > wantlen) abort();
    if (memchr(rec.data, '\n', rec.len)) abort();
    prev_l = rec.type == 'L';
  }
  if (prev_l) abort();                         /* an L is always followed by its N */
  if (rec.len) abort();
  if (gotlen != wantlen || (gotlen && memcmp(got, want, gotlen))) abort();
  if (!decode(k.s, k.len, &pos, &rec) || rec.type != 'E' || rec.len) abort();
  if (pos != k.len) abort();
  free(want);
  free(got);
out:
  free(r);
  free(k.s);
  return 0;
}
