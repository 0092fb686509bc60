/* The DATA phase as a byte-level state machine. Only CRLF "." CRLF ends
   the message (the first line after 354 counts as following a CRLF). A LF
   without CR before it or a CR without LF after it is a framing error:
   after one, the client and we may disagree on where the message ends
   (SMTP smuggling), so the caller rejects the message and closes. Lines
   are stored with LF ends and the leading dot of a stuffed line removed
   (RFC 5321 4.5.2). */
#include <errno.h>
#include <string.h>
#include <case.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "data.h"
#include "hooks.h"
#include "hookreply.h"
#include "reply.h"
#include "session.h"
#include "spool.h"

enum { ST_BOL, ST_MID, ST_CR, ST_DOT, ST_DOTCR };

static int is_field_name_char(unsigned char c) { return c > 32 && c < 127 && c != ':'; }

static void headers_end(struct session *s)
{
  struct txn *t = &s->t;
  size_t i = 0;
  struct msg_args a = { NULL };
  int rc;
  t->in_headers = 0;
  while (i < t->hdr.len) {
    const char *x = t->hdr.s + i;
    const char *e = memchr(x, '\n', t->hdr.len - i);
    size_t l = e ? (size_t)(e - x) : t->hdr.len - i;
    if ((l >= 9 && case_equalb(x, 9, "received:")) || (l >= 13 && case_equalb(x, 13, "delivered-to:")))
      if (t->hops < MAXHOPS + 1) ++t->hops;
    if (l >= 23 && case_equalb(x, 23, "authentication-results:")) t->authres_seen = 1;
    i += l + 1;
  }
  rc = hook_run_data_headers_end(s, &a);
  hook_respond_headers_end(s, rc, a.msg);
}

/* the header section ends at the first empty line, or before the first
   line that is neither a header field nor a continuation; x may hold more
   than the header section, and a line may arrive in pieces */
static void header_feed(struct session *s, const char *x, size_t len)
{
  struct txn *t = &s->t;
  while (len && t->in_headers) {
    const char *nl = memchr(x, '\n', len);
    size_t take = nl ? (size_t)(nl - x) + 1 : len;
    const char *l;
    size_t ll, j;
    if (take > HEADER_MAX - t->hdr.len) { t->hdr_toolarge = 1; t->in_headers = 0; return; }
    if (!stralloc_catb(&t->hdr, x, take)) { t->spoolerr = ENOMEM; t->in_headers = 0; return; }
    x += take;
    len -= take;
    if (!nl) return;
    l = t->hdr.s + t->hdr_linestart;
    ll = t->hdr.len - 1 - t->hdr_linestart;
    if (ll == 0) {
      t->hdr.len = t->hdr_linestart;
      headers_end(s);
      return;
    }
    if (l[0] == ' ' || l[0] == '\t') {
      if (t->hdr_linestart == 0) { t->hdr.len = 0; headers_end(s); return; }
    } else {
      for (j = 0; j < ll && is_field_name_char((unsigned char)l[j]); ++j) ;
      if (j == 0 || j == ll || l[j] != ':') {
        t->hdr.len = t->hdr_linestart;
        headers_end(s);
        return;
      }
    }
    t->hdr_linestart = t->hdr.len;
  }
}

static void store(struct session *s, const char *x, size_t len)
{
  struct txn *t = &s->t;
  if (t->in_headers) header_feed(s, x, len);
  if (t->size + len < t->size) t->size = ~0ULL;
  else t->size += len;
  if (t->toobig || t->spoolerr) return;
  if (s->conf.databytes && t->size > s->conf.databytes) { t->toobig = 1; return; }
  if (spool_put(&t->spool, x, len) == -1) t->spoolerr = errno ? errno : EIO;
}

/* the first CR or LF in [p, e), or e: 16 bytes a step where SSE2 is there
   (every x86-64), which is what makes large messages cheap; inlined into
   DATA's loop (and BDAT's) as a call costs DATA more than it saves */
static inline __attribute__((always_inline)) const char *scan_crlf(const char *p, const char *e)
{
#ifdef __SSE2__
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  while (e - p >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    unsigned int m = (unsigned int)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
    if (m) return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (p < e && *p != '\r' && *p != '\n') ++p;
  return p;
}

/* Reads the message to CRLF.CRLF. Each chunk of input is rewritten in
   place (CRLF to LF, stuffed dots removed: every output byte stands for an
   input byte already read, so the output never overtakes the input) and
   stored in one piece. */
int data_read(struct session *s)
{
  int st = ST_BOL;
  size_t linelen = 0;
  for (;;) {
    ssize_t avail = buffer_feed(s->in);
    char *p;
    size_t n, i = 0, w = 0;
    int r = -1;
    if (avail == 0) return DATA_EOF;
    if (avail < 0) return errno == ETIMEDOUT ? DATA_TIMEOUT : DATA_ERROR;
    p = buffer_peek(s->in);
    n = (size_t)avail;
    while (i < n && r < 0) {
      switch (st) {
      case ST_MID: {
        size_t end = (size_t)(scan_crlf(p + i, p + n) - p);
        linelen += end - i;
        if (linelen > DATALINE_MAX - 2) s->t.longline = 1;
        if (w != i) memmove(p + w, p + i, end - i);
        w += end - i;
        i = end;
        if (i < n) {
          if (p[i] == '\n') r = DATA_BARELF;
          else { ++i; st = ST_CR; }
        }
        break;
      }
      case ST_CR:
        if (p[i] != '\n') { r = DATA_BARECR; break; }
        p[w++] = '\n';
        ++i;
        linelen = 0;
        st = ST_BOL;
        break;
      case ST_BOL:
        if (p[i] == '.') { ++i; st = ST_DOT; }
        else st = ST_MID;
        break;
      case ST_DOT:
        if (p[i] == '\r') { ++i; st = ST_DOTCR; }
        else if (p[i] == '\n') r = DATA_BARELF;
        else { linelen = 1; st = ST_MID; }
        break;
      case ST_DOTCR:
        if (p[i] != '\n') { r = DATA_BARECR; break; }
        ++i;
        r = DATA_END;
        break;
      }
    }
    if (r == DATA_END) {
      if (w) store(s, p, w);
      buffer_seek(s->in, i);
      if (s->t.in_headers) headers_end(s);
      return s->disconnecting ? DATA_DISCONNECT : DATA_END;
    }
    buffer_seek(s->in, n);
    if (r >= 0) return r;
    if (w) store(s, p, w);
    if (s->disconnecting) return DATA_DISCONNECT;
  }
}

int data_bdat_arg(const char *arg, size_t len, unsigned long long *size, int *last)
{
  unsigned long long v = 0;
  size_t i = 0;
  if (!len || arg[0] < '0' || arg[0] > '9') return -1;
  for (; i < len && arg[i] >= '0' && arg[i] <= '9'; ++i) {
    unsigned d = (unsigned)(arg[i] - '0');
    if (v > (~0ULL - d) / 10) return -1;
    v = v * 10 + d;
  }
  *last = 0;
  if (i < len) {
    if (arg[i] != ' ') return -1;
    while (i < len && arg[i] == ' ') ++i;
    if (len - i != 4 || !case_equalb(arg + i, 4, "last")) return -1;
    *last = 1;
  }
  *size = v;
  return 0;
}

/* BDAT (RFC 3030 2): a chunk is exactly n octets taken as they come: no
   dot unstuffing, and nothing inside it ends the message. It is stored as
   DATA stores the same message: CRLF becomes LF, and a chunk may end
   between the CR and the LF (t->bdat_cr). A CR or LF outside a CRLF is no
   line end for us nor for the back ends, so the message is refused
   (t->bdat_bare), but the length frames the chunk: the session stays in
   step, and the rest of the chunk is read and dropped. */
int data_chunk(struct session *s, unsigned long long n, int keep)
{
  struct txn *t = &s->t;
  while (n) {
    ssize_t avail = buffer_feed(s->in);
    char *p;
    size_t m, i = 0, w = 0;
    if (avail == 0) return DATA_EOF;
    if (avail < 0) return errno == ETIMEDOUT ? DATA_TIMEOUT : DATA_ERROR;
    p = buffer_peek(s->in);
    m = (unsigned long long)avail < n ? (size_t)avail : (size_t)n;
    if (keep && !t->bdat_bare) {
      while (i < m) {
        size_t end;
        if (t->bdat_cr) {
          if (p[i] != '\n') { t->bdat_bare = DATA_BARECR; break; }
          t->bdat_cr = 0;
          p[w++] = '\n';
          ++i;
          t->bdat_linelen = 0;
          continue;
        }
        end = (size_t)(scan_crlf(p + i, p + m) - p);
        t->bdat_linelen += end - i;
        if (t->bdat_linelen > DATALINE_MAX - 2) { s->t.longline = 1; t->bdat_linelen = DATALINE_MAX; }
        if (w != i) memmove(p + w, p + i, end - i);
        w += end - i;
        i = end;
        if (i < m) {
          if (p[i] == '\n') { t->bdat_bare = DATA_BARELF; break; }
          ++i;
          t->bdat_cr = 1;
        }
      }
      if (w && !t->bdat_bare) store(s, p, w);
    }
    buffer_seek(s->in, m);
    n -= m;
    if (s->disconnecting) return DATA_DISCONNECT;
  }
  return DATA_END;
}

/* A message whose last line has no CRLF gets its LF, as the same message
   by DATA would have it (DATA's end marker starts with the last CRLF). */
int data_chunks_end(struct session *s)
{
  struct txn *t = &s->t;
  if (t->bdat_cr) t->bdat_bare = DATA_BARECR;
  if (t->bdat_bare) return t->bdat_bare;
  if (t->bdat_linelen) store(s, "\n", 1);
  if (t->in_headers) headers_end(s);
  return s->disconnecting ? DATA_DISCONNECT : DATA_END;
}
