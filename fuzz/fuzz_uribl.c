/* uribl's scanner (uribl_scan.c) over any text. The first byte: bit 0
   skips the head (up to the first empty line), bits 1-3 make every name
   ending in ".wl.com" whitelisted, the rest seeds the chunk sizes; the
   second byte is the number of names after which the callback stops the
   scan (0: never). Checked, besides ASan and UBSan:
   - every name is 1 to 253 octets of letters, digits, '.' and '-';
   - no name comes after the callback said stop, and the scan says so;
   - the text fed whole and fed in chunks of any size gives the same names
     in the same order;
   - a whitelisted registered domain gives no name under it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../uribl_scan.h"

#define NAMES_MAX 4096

struct out {
  char names[NAMES_MAX][254];
  size_t len[NAMES_MAX];
  unsigned int n, stop_after;
  int stopped, wl;
};

static struct uribl_scan scan;
static struct out a, b;

static int name(void *ctx, const char *x, size_t len)
{
  struct out *o = ctx;
  size_t i;
  if (o->stopped) abort();
  if (!len || len > 253) abort();
  for (i = 0; i < len; ++i) {
    char c = x[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      abort();
  }
  /* under a whitelisted domain: wl.com or anything.wl.com */
  if (o->wl && len >= 6 && !memcmp(x + len - 6, "wl.com", 6) && (len == 6 || x[len - 7] == '.')) abort();
  if (o->n < NAMES_MAX) {
    memcpy(o->names[o->n], x, len);
    o->len[o->n] = len;
  }
  o->n++;
  if (o->stop_after && o->n == o->stop_after) { o->stopped = 1; return -1; }
  return 0;
}

static int whitelisted(void *ctx, const char *dom, size_t len)
{
  struct out *o = ctx;
  return o->wl && len == 6 && !memcmp(dom, "wl.com", 6);
}

static int run(struct out *o, const uint8_t *d, size_t len, int skip, uint32_t seed, int whole)
{
  struct uribl_emit e = { name, whitelisted, 0, o };
  int r = 0;
  uribl_scan_init(&scan, &e, skip);
  if (whole) r = uribl_scan_feed(&scan, (const char *)d, len);
  else {
    size_t off = 0;
    while (off < len && r == 0) {
      size_t k;
      seed = seed * 1103515245u + 12345u;
      k = 1 + (seed >> 16) % 97;
      if (k > len - off) k = len - off;
      r = uribl_scan_feed(&scan, (const char *)d + off, k);
      off += k;
    }
  }
  if (r == 0) r = uribl_scan_end(&scan);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned int i;
  int ra, rb, skip, wl;
  if (size < 2 || size > 200000) return 0;
  skip = data[0] & 1;
  wl = (data[0] & 14) != 0;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.stop_after = b.stop_after = data[1];
  a.wl = b.wl = wl;
  ra = run(&a, data + 2, size - 2, skip, data[0], 1);
  rb = run(&b, data + 2, size - 2, skip, data[0], 0);
  if (ra != rb || a.n != b.n) abort();
  if ((ra < 0) != a.stopped) abort();
  for (i = 0; i < a.n && i < NAMES_MAX; ++i)
    if (a.len[i] != b.len[i] || memcmp(a.names[i], b.names[i], a.len[i])) abort();
  return 0;
}
