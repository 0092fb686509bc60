/* ARC (arc.c) over hostile bytes. The input is a header section (LF line
   ends; what follows an empty line is ignored). Checked, besides ASan and
   UBSan:
   - arc_chain_collect: ARC_OK means 1-50 sets, each field index inside
     the fields and of the right name;
   - each set's ARC-Seal and ARC-Message-Signature parsed or refused;
     parsed, their instance is the set's, b= inside the field; the seal's
     hash is computed;
   - arc_verdict over every combination the input's last byte picks: a
     pass never has an oldest-pass of 1 or above n, a newest cv=fail never
     passes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../arc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *x = (const char *)data;
  size_t len = size, i;
  struct dkim_field *f;
  struct arc_chain c;
  unsigned int nf, k;
  const char *why;
  int st;

  for (i = 0; i + 1 < len; ++i)
    if (x[i] == '\n' && x[i + 1] == '\n') { len = i + 1; break; }
  if (!dkim_fields(x, len, &f, &nf)) return 0;
  st = arc_chain_collect(x, f, nf, &c, &why);
  if (st == ARC_OK) {
    int cv[ARC_MAXSETS], ams[ARC_MAXSETS], as[ARC_MAXSETS];
    unsigned int oldest, bits = size ? data[size - 1] : 0;
    if (!c.n || c.n > ARC_MAXSETS) abort();
    for (k = 0; k < c.n; ++k) {
      struct dkim_sig sig;
      const struct dkim_field *fa = &f[c.field[k][ARC_AS]], *fm = &f[c.field[k][ARC_AMS]];
      unsigned char hh[32];
      unsigned int j;
      for (j = 0; j < 3; ++j) if (c.field[k][j] >= nf) abort();
      cv[k] = ARC_CV_FAIL;
      if (arc_seal_parse(&sig, &cv[k], x + fa->off, fa->len, &why)) {
        if (sig.instance != k + 1 || sig.bval + sig.bvallen > sig.fieldlen) abort();
        (void)arc_seal_hash(x, f, &c, &sig, hh);
      }
      if (dkim_ams_parse(&sig, x + fm->off, fm->len, 1000, &why)) {
        if (sig.instance != k + 1 || sig.has_l || sig.h + sig.hlen > sig.fieldlen) abort();
        (void)dkim_header_hash(x, f, nf, &sig, hh);
      }
      ams[k] = (bits >> (k % 8)) & 1;
      as[k] = (bits >> ((k + 3) % 8)) & 1;
    }
    st = arc_verdict(c.n, cv, ams, as, &oldest, &why);
    if (st == ARC_CV_PASS && (oldest == 1 || oldest > c.n || cv[c.n - 1] == ARC_CV_FAIL || !ams[c.n - 1])) abort();
  } else if (st != ARC_NONE && st != ARC_BAD) abort();
  free(f);
  return 0;
}
