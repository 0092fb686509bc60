/* DMARC's pure functions (dmarc.c, psl.c) over hostile bytes: the input,
   copied to the heap at its exact length, is a policy record, a From
   field's value, a domain name and a list of DKIM domains at once.
   Checked, besides ASan and UBSan:
   - the record parser answers NOT exactly when the input does not start
     with "v" *WSP "=" *WSP "DMARC1" and a ';' or the end, and a usable
     record's fields are in range, its why terminated;
   - the From parser gives at most max distinct names, each already
     normalised;
   - a normalised name's organizational domain is a suffix of it on a
     label boundary, is its own organizational domain, and aligns with it
     in relaxed mode;
   - the verdict: a pass has disposition none, a fail never a stricter
     disposition than its policy;
   - the same input gives the same answers twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../dmarc.h"

static int wsp(char c) { return c == ' ' || c == '\t'; }

static int is_dmarc(const char *s, size_t n)
{
  size_t i = 1;
  if (!n || (s[0] != 'v' && s[0] != 'V')) return 0;
  while (i < n && wsp(s[i])) i++;
  if (i >= n || s[i++] != '=') return 0;
  while (i < n && wsp(s[i])) i++;
  if (n - i < 6 || memcmp(s + i, "DMARC1", 6)) return 0;
  i += 6;
  while (i < n && wsp(s[i])) i++;
  return i == n || s[i] == ';';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *in = malloc(size ? size : 1), *z;
  struct dmarc_record r, r2;
  char out[4][DMARC_DOMAIN_MAX], out2[4][DMARC_DOMAIN_MAX];
  int st, n, i, j;
  size_t len;

  if (!in) return 0;
  memcpy(in, data, size);

  memset(&r, 0x55, sizeof r);
  memset(&r2, 0xaa, sizeof r2);
  st = dmarc_record_parse(in, size, &r);
  if (dmarc_record_parse(in, size, &r2) != st || memcmp(&r, &r2, sizeof r)) abort();
  if ((st == DMARC_REC_NOT) != !is_dmarc(in, size)) abort();
  if (st != DMARC_REC_NOT && st != DMARC_REC_OK && st != DMARC_REC_BAD) abort();
  if (!memchr(r.why, 0, sizeof r.why)) abort();
  if (st == DMARC_REC_OK) {
    if (r.p < DMARC_P_NONE || r.p > DMARC_P_REJECT || r.sp < DMARC_P_UNSET || r.sp > DMARC_P_REJECT) abort();
    if (r.pct > 100 || (r.adkim != 'r' && r.adkim != 's') || (r.aspf != 'r' && r.aspf != 's')) abort();
    if (r.ri > 4294967295UL || r.fo > 15) abort();
  }

  n = dmarc_from_domains(in, size, out, 4);
  if (n < -1 || n > 4 || dmarc_from_domains(in, size, out2, 4) != n) abort();
  for (i = 0; i < n; i++) {
    char c[DMARC_DOMAIN_MAX];
    size_t l = strlen(out[i]);
    if (strcmp(out[i], out2[i])) abort();
    memcpy(c, out[i], l + 1);
    if (dmarc_domain_norm(c, l) != l || memcmp(c, out[i], l)) abort();
    for (j = 0; j < i; j++) if (!strcmp(out[i], out[j])) abort();
  }

  z = malloc(size + 1);
  if (!z) { free(in); return 0; }
  memcpy(z, data, size);
  len = dmarc_domain_norm(z, size);
  if (len) {
    size_t org = dmarc_org_domain(z, len), again;
    char save;
    if (org > len || (org && z[org - 1] != '.')) abort();
    save = z[len];
    z[len] = 0;
    again = dmarc_org_domain(z + org, len - org);
    if (again) abort();
    if (!dmarc_aligned(z, z + org, 0) || !dmarc_aligned(z, z, 1)) abort();
    if (st == DMARC_REC_OK) {
      struct dmarc_verdict v, v2;
      struct dmarc_auth a = { "pass", z + org, z };
      dmarc_evaluate(&v, &r, z, org > 0, &a, size % 100);
      dmarc_evaluate(&v2, &r, z, org > 0, &a, size % 100);
      if (memcmp(&v, &v2, sizeof v)) abort();
      if (v.result != DMARC_PASS) abort();      /* the SPF domain is the org domain: relaxed aligns */
      if (v.disposition != DMARC_P_NONE) abort();
      a.spf = "fail";
      a.dkim = 0;
      dmarc_evaluate(&v, &r, z, org > 0, &a, size % 100);
      if (v.result != DMARC_FAIL || v.disposition > v.policy) abort();
    }
    z[len] = save;
  }
  free(z);
  free(in);
  return 0;
}
