/* ARC (RFC 8617): the chain's structure, the seals and their hash; see
   arc.h. Every byte is the sender's. */
#include <string.h>
#include "arc.h"

static int fws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static int name_is(const char *x, size_t len, const char *name)
{
  size_t i;
  if (len != strlen(name)) return 0;
  for (i = 0; i < len; ++i) if (lower(x[i]) != name[i]) return 0;
  return 1;
}

/* 1-50, the whole token; 0 otherwise */
static unsigned int instance_val(const char *x, size_t len)
{
  unsigned int v = 0;
  size_t i;
  if (!len || len > 2) return 0;
  for (i = 0; i < len; ++i) {
    if (x[i] < '0' || x[i] > '9') return 0;
    v = v * 10 + (unsigned int)(x[i] - '0');
  }
  return v <= ARC_MAXSETS ? v : 0;
}

/* the instance of an AAR: "i=N;" first in the value (4.1.1) */
static unsigned int aar_instance(const char *v, size_t len)
{
  size_t i = 0, a;
  while (i < len && fws(v[i])) ++i;
  if (i == len || lower(v[i]) != 'i') return 0;
  ++i;
  while (i < len && fws(v[i])) ++i;
  if (i == len || v[i] != '=') return 0;
  ++i;
  while (i < len && fws(v[i])) ++i;
  a = i;
  while (i < len && v[i] >= '0' && v[i] <= '9') ++i;
  {
    unsigned int n = instance_val(v + a, i - a);
    while (i < len && fws(v[i])) ++i;
    return i < len && v[i] == ';' ? n : 0;
  }
}

/* the i= tag of an AMS or AS */
static unsigned int tag_instance(const char *v, size_t len)
{
  struct dkim_tag t[DKIM_MAXTAGS];
  const struct dkim_tag *i;
  unsigned int n;
  if (!dkim_tags_parse(v, len, t, DKIM_MAXTAGS, &n)) return 0;
  i = dkim_tag_find(v, t, n, "i");
  return i ? instance_val(v + i->val, i->vallen) : 0;
}

int arc_chain_collect(const char *hdr, const struct dkim_field *f, unsigned int nf,
                      struct arc_chain *c, const char **why)
{
  static const char *const names[3] = { "arc-authentication-results", "arc-message-signature", "arc-seal" };
  unsigned int k, i, any = 0;
  unsigned char seen[ARC_MAXSETS][3];
  memset(seen, 0, sizeof seen);
  c->n = 0;
  for (k = 0; k < nf; ++k) {
    const char *x = hdr + f[k].off, *v;
    size_t vlen;
    unsigned int kind, inst;
    for (kind = 0; kind < 3 && !name_is(x, f[k].namelen, names[kind]); ++kind) ;
    if (kind == 3) continue;
    any = 1;
    v = memchr(x, ':', f[k].len);
    if (!v) { *why = "ARC field without a colon"; return ARC_BAD; }
    ++v;
    vlen = f[k].len - (size_t)(v - x);
    inst = kind == ARC_AAR ? aar_instance(v, vlen) : tag_instance(v, vlen);
    if (!inst) { *why = "ARC field without a valid i="; return ARC_BAD; }
    if (seen[inst - 1][kind]) { *why = "two ARC fields of one kind and instance"; return ARC_BAD; }
    seen[inst - 1][kind] = 1;
    c->field[inst - 1][kind] = k;
    if (inst > c->n) c->n = inst;
  }
  if (!any) return ARC_NONE;
  for (i = 0; i < c->n; ++i)
    if (!seen[i][0] || !seen[i][1] || !seen[i][2]) { *why = "incomplete ARC set"; return ARC_BAD; }
  return ARC_OK;
}

static int copy_token(char *dst, size_t sz, const char *x, size_t len)
{
  size_t i;
  if (!len || len >= sz) return 0;
  for (i = 0; i < len; ++i) {
    if (fws(x[i])) return 0;
    dst[i] = lower(x[i]);
  }
  dst[len] = 0;
  return 1;
}

int arc_seal_parse(struct dkim_sig *sig, int *cv, const char *field, size_t len, const char **why)
{
  struct dkim_tag t[DKIM_MAXTAGS];
  const struct dkim_tag *i, *c, *a, *b, *d, *s;
  char cvs[8];
  size_t e;
  unsigned int n;

  *cv = ARC_CV_FAIL;
  if (!dkim_field_tags(sig, field, len, t, &n, why)) return 0;
  i = dkim_tag_find(field, t, n, "i");
  c = dkim_tag_find(field, t, n, "cv");
  a = dkim_tag_find(field, t, n, "a");
  b = dkim_tag_find(field, t, n, "b");
  d = dkim_tag_find(field, t, n, "d");
  s = dkim_tag_find(field, t, n, "s");
  if (!i || !c || !a || !b || !d || !s) { *why = "a required tag is missing"; return 0; }
  if (dkim_tag_find(field, t, n, "h")) { *why = "h= in an ARC-Seal"; return 0; }
  if (!(sig->instance = instance_val(field + i->val, i->vallen))) { *why = "bad i="; return 0; }
  if (!copy_token(cvs, sizeof cvs, field + c->val, c->vallen)) { *why = "bad cv="; return 0; }
  if (!strcmp(cvs, "none")) *cv = ARC_CV_NONE;
  else if (!strcmp(cvs, "pass")) *cv = ARC_CV_PASS;
  else if (!strcmp(cvs, "fail")) *cv = ARC_CV_FAIL;
  else { *why = "bad cv="; return 0; }
  if (!copy_token(sig->d, sizeof sig->d, field + d->val, d->vallen)
      || !copy_token(sig->s, sizeof sig->s, field + s->val, s->vallen)) { *why = "bad d= or s="; return 0; }
  if (!copy_token(sig->a, sizeof sig->a, field + a->val, a->vallen)) { *why = "bad a="; return 0; }
  if (!strcmp(sig->a, "rsa-sha256")) sig->alg = DKIM_RSA_SHA256;
  else if (!strcmp(sig->a, "ed25519-sha256")) sig->alg = DKIM_ED25519_SHA256;
  else { *why = "unknown algorithm"; return 0; }
  if (!dkim_b64(field + b->val, b->vallen, sig->b, sizeof sig->b, &sig->blen) || !sig->blen) {
    *why = "bad b="; return 0;
  }
  /* b='s value and the white space around it are removed (RFC 6376 3.7) */
  sig->bval = b->val;
  while (sig->bval > 0 && field[sig->bval - 1] != '=') --sig->bval;
  e = b->val + b->vallen;
  while (e < len && fws(field[e])) ++e;
  sig->bvallen = e - sig->bval;
  return 1;
}

int arc_seal_hash(const char *hdr, const struct dkim_field *f, const struct arc_chain *c,
                  const struct dkim_sig *as, unsigned char out[32])
{
  stralloc buf = {0}, self = {0};
  br_sha256_context h;
  unsigned int i, k;
  int ok = 0;
  if (!as->instance || as->instance > c->n) return 0;
  for (i = 0; i < as->instance; ++i)
    for (k = 0; k < 3; ++k) {
      const struct dkim_field *x = &f[c->field[i][k]];
      if (i + 1 == as->instance && k == ARC_AS) break;
      if (!dkim_header_canon(&buf, hdr + x->off, x->len, 1)) goto out;
    }
  if (!stralloc_copyb(&self, as->field, as->bval)
      || !stralloc_catb(&self, as->field + as->bval + as->bvallen, as->fieldlen - as->bval - as->bvallen))
    goto out;
  if (!dkim_header_canon(&buf, self.s, self.len, 1)) goto out;
  buf.len -= 2;
  br_sha256_init(&h);
  br_sha256_update(&h, buf.s, buf.len);
  br_sha256_out(&h, out);
  ok = 1;
out:
  stralloc_free(&buf);
  stralloc_free(&self);
  return ok;
}

int arc_verdict(unsigned int n, const int *cv, const int *ams_ok, const int *as_ok,
                unsigned int *oldest_pass, const char **why)
{
  unsigned int i;
  *oldest_pass = 0;
  if (!n || n > ARC_MAXSETS) { *why = "no ARC set"; return ARC_CV_FAIL; }
  if (cv[n - 1] == ARC_CV_FAIL) { *why = "the newest seal says cv=fail"; return ARC_CV_FAIL; }
  for (i = 0; i < n; ++i)
    if ((i == 0 && cv[i] != ARC_CV_NONE) || (i > 0 && cv[i] != ARC_CV_PASS)) {
      *why = i == 0 ? "the first seal's cv= is not none" : "a later seal's cv= is not pass";
      return ARC_CV_FAIL;
    }
  if (!ams_ok[n - 1]) { *why = "the newest ARC-Message-Signature did not verify"; return ARC_CV_FAIL; }
  for (i = n; i-- > 0;)
    if (!as_ok[i]) { *why = "an ARC-Seal did not verify"; return ARC_CV_FAIL; }
  for (i = n; i > 1 && ams_ok[i - 2]; --i) ;
  *oldest_pass = i == 1 ? 0 : i;
  return ARC_CV_PASS;
}
