/* BDAT (RFC 3030): the argument parser and the chunk machine.
   The argument: data_bdat_arg agrees with a reference (digits that fit in
   64 bits, then nothing or spaces and LAST in any case), and what it
   parsed, printed again, parses to the same.
   The chunks: the input holds a message and where to cut it into chunks;
   read through data_chunk (and the reads cut it elsewhere again), exactly
   the message's bytes are taken, a CR or LF outside CRLF is found as the
   first one a reader meets, and otherwise the stored message and the
   header section are what data_read stores and captures for the same
   message sent with DATA (dot-stuffed, CRLF.CRLF after it). */
#include <stdio.h>
#include <stdlib.h>
#include <buffer.h>
#include "../session.h"
#include "data.h"
#include "input.h"
#include "spool.h"
#include "txn.h"

static struct session s;
static char space[4096];

static int ref_arg(const uint8_t *x, size_t n, unsigned long long *v, int *last)
{
  size_t i = 0, z, nd;
  char digits[32];
  while (i < n && x[i] >= '0' && x[i] <= '9') ++i;
  if (!i) return -1;
  for (z = 0; z < i - 1 && x[z] == '0'; ++z) ;
  nd = i - z;
  if (nd > 20 || (nd == 20 && memcmp(x + z, "18446744073709551615", 20) > 0)) return -1;
  memcpy(digits, x + z, nd);
  digits[nd] = 0;
  *v = strtoull(digits, NULL, 10);
  *last = 0;
  if (i == n) return 0;
  if (x[i] != ' ') return -1;
  while (i < n && x[i] == ' ') ++i;
  if (n - i != 4) return -1;
  if ((x[i] | 32) != 'l' || (x[i + 1] | 32) != 'a' || (x[i + 2] | 32) != 's' || (x[i + 3] | 32) != 't') return -1;
  *last = 1;
  return 0;
}

static void check_arg(const uint8_t *x, size_t n)
{
  unsigned long long v = 0, rv = 0, v2 = 0;
  int last = 0, rlast = 0, last2 = 0, r = data_bdat_arg((const char *)x, n, &v, &last);
  char again[40];
  int l;
  if (r != ref_arg(x, n, &rv, &rlast)) abort();
  if (r) return;
  if (v != rv || last != rlast) abort();
  l = snprintf(again, sizeof again, "%llu%s", v, last ? " LAST" : "");
  if (data_bdat_arg(again, (size_t)l, &v2, &last2) || v2 != v || last2 != last) abort();
}

static void session_reset(buffer *b)
{
  s.in = b;
  s.conf.size_threshold = ~0UL;
  s.conf.databytes = 0;
  s.disconnecting = 0;
  s.conf.loglevel = -1;
  s.deadline = 0;
  txn_new(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  buffer b = BUFFER_INIT(fz_read, 0, space, sizeof space);
  size_t cuts[8], ncut, i, mlen, o, k, start;
  const uint8_t *m;
  uint8_t *wire, *want, *got, *hdr;
  size_t wantlen, gotlen, hdrlen, wl;
  int bare = 0, rc, dotline = 0;

  check_arg(data, size);
  if (size < 2) return 0;

  /* byte 0 seeds the reads (fz_start), byte 1 the number of cuts, then
     two bytes a cut, then the message */
  ncut = data[1] % 8;
  if (size < 2 + 2 * ncut) return 0;
  m = data + 2 + 2 * ncut;
  mlen = size - 2 - 2 * ncut;
  for (i = 0; i < ncut; ++i) {
    size_t c = ((size_t)data[2 + 2 * i] << 8 | data[3 + 2 * i]);
    cuts[i] = mlen ? c % (mlen + 1) : 0;
  }
  for (i = 1; i < ncut; ++i) {                   /* sorted */
    size_t j = i, c = cuts[i];
    while (j && cuts[j - 1] > c) { cuts[j] = cuts[j - 1]; --j; }
    cuts[j] = c;
  }

  /* the reference: the first stray CR or LF a reader meets; the message
     stored with LF ends, a last line without CRLF given its LF */
  want = malloc(mlen + 2);
  wire = malloc(2 * mlen + 8);
  if (!want || !wire) abort();
  for (i = 0, o = 0; i < mlen && !bare; ) {
    if (m[i] == '\r') {
      if (i + 1 == mlen || m[i + 1] != '\n') bare = DATA_BARECR;
      else { want[o++] = '\n'; i += 2; }
    } else if (m[i] == '\n') bare = DATA_BARELF;
    else want[o++] = m[i++];
  }
  if (o && want[o - 1] != '\n') want[o++] = '\n';
  wantlen = o;

  /* BDAT: the message and then bytes that are not its own */
  memcpy(wire, m, mlen);
  memcpy(wire + mlen, "QUIT\r\n", 6);
  fz_start(data, 1);            /* the reads' seed: byte 0 */
  fz_data = wire;
  fz_len = mlen + 6;
  fz_off = 0;
  session_reset(&b);
  start = 0;
  rc = DATA_END;
  for (k = 0; k <= ncut && rc == DATA_END; ++k) {
    size_t end = k < ncut ? cuts[k] : mlen;
    rc = data_chunk(&s, end - start, 1);
    start = end;
  }
  if (rc != DATA_END) abort();
  if (fz_off - (b.n - b.p) != mlen) abort();          /* not a byte more or less */
  rc = data_chunks_end(&s);
  if (bare) {
    if (rc != bare) abort();
    free(want);
    free(wire);
    return 0;
  }
  if (rc != DATA_END) abort();
  if (s.t.spool.fd >= 0 || s.t.spool.mem.len != wantlen || memcmp(s.t.spool.mem.s, want, wantlen)) abort();
  gotlen = s.t.spool.mem.len;
  got = malloc(gotlen + 1);
  hdrlen = s.t.hdr.len;
  hdr = malloc(hdrlen + 1);
  if (!got || !hdr) abort();
  memcpy(got, s.t.spool.mem.s, gotlen);
  memcpy(hdr, s.t.hdr.s, hdrlen);
  if (s.t.in_headers) abort();
  {
    int ll = s.t.longline;
    /* DATA: the same message, each line dot-stuffed, then CRLF.CRLF */
    for (i = 0, wl = 0; i < wantlen; ) {
      const uint8_t *nl = memchr(want + i, '\n', wantlen - i);
      size_t l = (size_t)(nl - (want + i));
      if (want[i] == '.') { wire[wl++] = '.'; dotline = 1; }
      memcpy(wire + wl, want + i, l);
      wl += l;
      wire[wl++] = '\r';
      wire[wl++] = '\n';
      i += l + 1;
    }
    memcpy(wire + wl, ".\r\n", 3);
    wl += 3;
    fz_data = wire;
    fz_len = wl;
    fz_off = 0;
    b.p = b.n = 0;
    session_reset(&b);
    if (data_read(&s) != DATA_END) abort();
    if (s.t.spool.mem.len != gotlen || memcmp(s.t.spool.mem.s, got, gotlen)) abort();
    if (s.t.hdr.len != hdrlen || memcmp(s.t.hdr.s, hdr, hdrlen)) abort();
    if (!dotline && s.t.longline != ll) abort();
  }
  free(got);
  free(hdr);
  free(want);
  free(wire);
  return 0;
}
