/* DKIM (dkim.c) over hostile bytes. The input is a message (LF line
   ends): its header section, an empty line, its body; a first line
   "K <record>" is taken off and parsed as a key record. Checked, besides
   ASan and UBSan:
   - dkim_tags_parse: every tag inside the text, names of letters, digits
     and '_' starting with a letter, no name twice;
   - each DKIM-Signature field: parsed or refused; parsed, d= and s= are
     lower case/printable, l=, h= and b= inside the field; the header hash
     is computed (and verified against the key when there is one);
   - the body canonicalizers give the same hash fed whole, byte by byte
     and in pieces of 7, with and without l=, and count the same length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../dkim.h"

static void check_tags(const char *x, size_t len)
{
  struct dkim_tag t[DKIM_MAXTAGS];
  unsigned int n, i, j;
  if (!dkim_tags_parse(x, len, t, DKIM_MAXTAGS, &n)) return;
  for (i = 0; i < n; ++i) {
    if (t[i].name + t[i].namelen > len || t[i].val + t[i].vallen > len || !t[i].namelen) abort();
    if (!((x[t[i].name] | 32) >= 'a' && (x[t[i].name] | 32) <= 'z')) abort();
    for (j = 0; j < i; ++j)
      if (t[j].namelen == t[i].namelen && !memcmp(x + t[j].name, x + t[i].name, t[i].namelen)) abort();
  }
}

static void body_same(const char *x, size_t len, int relaxed, int has_l, unsigned long long l)
{
  struct dkim_body a, b, c;
  unsigned char ha[32], hb[32], hc[32];
  size_t i;
  dkim_body_init(&a, relaxed, has_l, l);
  dkim_body_init(&b, relaxed, has_l, l);
  dkim_body_init(&c, relaxed, has_l, l);
  dkim_body_update(&a, x, len);
  for (i = 0; i < len; ++i) dkim_body_update(&b, x + i, 1);
  for (i = 0; i < len; i += 7) dkim_body_update(&c, x + i, len - i < 7 ? len - i : 7);
  dkim_body_final(&a, ha);
  dkim_body_final(&b, hb);
  dkim_body_final(&c, hc);
  if (memcmp(ha, hb, 32) || memcmp(ha, hc, 32) || a.total != b.total || a.total != c.total) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *x = (const char *)data, *hdr, *body = "";
  size_t len = size, hlen, blen = 0, i;
  struct dkim_key key;
  int havekey = 0;
  struct dkim_field *f;
  unsigned int nf, k;

  if (len >= 2 && x[0] == 'K' && x[1] == ' ') {
    const char *e = memchr(x, '\n', len);
    size_t kl = e ? (size_t)(e - x) : len;
    const char *why;
    check_tags(x + 2, kl - 2);
    havekey = dkim_key_parse(x + 2, kl - 2, &key, &why);
    if (havekey && key.type == DKIM_RSA_SHA256 && (key.nlen > sizeof key.n || key.bits > key.nlen * 8)) abort();
    x += e ? kl + 1 : kl;
    len -= e ? kl + 1 : kl;
  }
  check_tags(x, len);
  hdr = x;
  hlen = len;
  for (i = 0; i + 1 < len; ++i)
    if (x[i] == '\n' && x[i + 1] == '\n') { hlen = i + 1; body = x + i + 2; blen = len - i - 2; break; }
  body_same(body, blen, 0, 0, 0);
  body_same(body, blen, 1, 0, 0);
  body_same(body, blen, 1, 1, blen / 2);
  if (!dkim_fields(hdr, hlen, &f, &nf)) return 0;
  for (k = 0; k < nf; ++k) {
    struct dkim_sig sig;
    const char *why;
    unsigned char hh[32];
    if (f[k].off + f[k].len > hlen || f[k].namelen > f[k].len) abort();
    if (f[k].namelen != 14 || memcmp(hdr + f[k].off, "DKIM-Signature", 14)) continue;
    if (!dkim_sig_parse(&sig, hdr + f[k].off, f[k].len, 1000, &why)) continue;
    if (sig.h + sig.hlen > sig.fieldlen || sig.bval + sig.bvallen > sig.fieldlen) abort();
    for (i = 0; sig.d[i]; ++i) if (sig.d[i] >= 'A' && sig.d[i] <= 'Z') abort();
    if (!dkim_header_hash(hdr, f, nf, &sig, hh)) continue;
    if (havekey) (void)dkim_verify(&sig, &key, hh, &why);
  }
  free(f);
  return 0;
}
