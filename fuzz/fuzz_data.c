/* The DATA state machine against a simple reference scanner: the message
   ends exactly at the first CRLF "." CRLF (the start counts as following a
   CRLF), a bare LF or bare CR before it is an error, the stored message is
   the input with CRLF turned into LF and one leading dot removed from
   each line, and a line over 998 octets is flagged. When every dot line
   was stuffed, stuffing the stored message again gives the input back. */
#include <stdlib.h>
#include <buffer.h>
#include "../session.h"
#include "data.h"
#include "input.h"
#include "spool.h"
#include "txn.h"

static struct session s;
static char space[4096];

static int ref(const uint8_t *x, size_t n, size_t *end, uint8_t *out, size_t *outlen, int *longline, int *stuffed)
{
  size_t i = 0, o = 0;
  *longline = 0;
  *stuffed = 1;
  for (;;) {
    size_t j;
    if (i + 3 <= n && x[i] == '.' && x[i + 1] == '\r' && x[i + 2] == '\n') {
      *end = i + 3;
      *outlen = o;
      return DATA_END;
    }
    for (j = i; j < n && x[j] != '\r' && x[j] != '\n'; ++j) ;
    if (j == n) return DATA_EOF;
    if (x[j] == '\n') return DATA_BARELF;
    if (j + 1 == n) return DATA_EOF;
    if (x[j + 1] != '\n') return DATA_BARECR;
    if (j - i > 998) *longline = 1;
    if (x[i] == '.') {
      if (j - i < 2 || x[i + 1] != '.') *stuffed = 0;
      ++i;
    }
    memcpy(out + o, x + i, j - i);
    o += j - i;
    out[o++] = '\n';
    i = j + 2;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  buffer b = BUFFER_INIT(fz_read, 0, space, sizeof space);
  uint8_t *want;
  size_t end = 0, wantlen = 0;
  int st, rst, longline, stuffed;

  fz_start(data, size);
  want = malloc(fz_len + 1);
  if (!want) return 0;
  s.in = &b;
  s.conf.size_threshold = ~0UL;
  s.conf.databytes = 0;
  s.disconnecting = 0;
  s.conf.loglevel = -1;
  s.deadline = 0;
  txn_new(&s);
  rst = ref(fz_data, fz_len, &end, want, &wantlen, &longline, &stuffed);
  st = data_read(&s);
  if (st != rst) abort();
  if (st == DATA_END) {
    const struct spool *sp = &s.t.spool;
    size_t unread = b.n - b.p;
    if (sp->fd >= 0 || sp->mem.len != wantlen || memcmp(sp->mem.s, want, wantlen)) abort();
    if (fz_off - unread != end) abort();                 /* not a byte more or less */
    if (s.t.longline != longline) abort();
    if (stuffed) {                                      /* restuff: the input again */
      size_t i = 0, k = 0;
      while (i < wantlen) {
        const uint8_t *nl = memchr(want + i, '\n', wantlen - i);
        size_t l = (size_t)(nl - (want + i));
        if (want[i] == '.' && fz_data[k++] != '.') abort();
        if (memcmp(fz_data + k, want + i, l) || fz_data[k + l] != '\r' || fz_data[k + l + 1] != '\n') abort();
        k += l + 2;
        i += l + 1;
      }
      if (k + 3 != end) abort();
    }
  }
  free(want);
  return 0;
}
