/* DKIM signatures (RFC 6376, RFC 8301, RFC 8463): parsing, canonicalization
   and verification over bytes; see dkim.h. Every byte is the sender's. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "base64.h"
#include "dkim.h"

const char *const dkim_result_name[] = { "pass", "fail", "neutral", "policy", "temperror", "permerror" };

static int wsp(char c) { return c == ' ' || c == '\t'; }
static int fws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }
static int alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int digit(char c) { return c >= '0' && c <= '9'; }

/* RFC 6376 3.2: tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS];
   VALCHAR %x21-3A / %x3C-7E (bytes past 0x7f allowed: z= and i= may carry
   UTF-8); a tag twice is an error (3.2). */
int dkim_tags_parse(const char *x, size_t len, struct dkim_tag *t, unsigned int max, unsigned int *n)
{
  size_t i = 0;
  unsigned int k;
  *n = 0;
  for (;;) {
    size_t name, end;
    while (i < len && fws(x[i])) ++i;
    if (i == len) return 1;                 /* empty list or a trailing ';' */
    if (!alpha(x[i])) return 0;
    name = i;
    while (i < len && (alpha(x[i]) || digit(x[i]) || x[i] == '_')) ++i;
    if (*n == max) return 0;
    t[*n].name = name;
    t[*n].namelen = i - name;
    while (i < len && fws(x[i])) ++i;
    if (i == len || x[i] != '=') return 0;
    ++i;
    while (i < len && fws(x[i])) ++i;
    t[*n].val = i;
    end = i;
    while (i < len && x[i] != ';') {
      unsigned char c = (unsigned char)x[i];
      if (fws((char)c)) { ++i; continue; }
      if (c < 0x21 || c == 0x7f) return 0;
      end = ++i;
    }
    t[*n].vallen = end - t[*n].val;
    for (k = 0; k < *n; ++k)
      if (t[k].namelen == t[*n].namelen && !memcmp(x + t[k].name, x + t[*n].name, t[k].namelen)) return 0;
    ++*n;
    if (i == len) return 1;
    ++i;                                    /* ';' */
  }
}

const struct dkim_tag *dkim_tag_find(const char *x, const struct dkim_tag *t, unsigned int n, const char *name)
{
  size_t l = strlen(name);
  unsigned int i;
  for (i = 0; i < n; ++i)
    if (t[i].namelen == l && !memcmp(x + t[i].name, name, l)) return &t[i];
  return NULL;
}

int dkim_b64(const char *x, size_t len, unsigned char *out, size_t max, size_t *outlen)
{
  unsigned long acc = 0;
  unsigned int bits = 0, pad = 0;
  size_t i, o = 0;
  for (i = 0; i < len; ++i) {
    int v;
    if (fws(x[i])) continue;
    if (x[i] == '=') { if (++pad > 2) return 0; continue; }
    if (pad) return 0;                      /* data after padding */
    v = base64_val((unsigned char)x[i]);
    if (v < 0) return 0;
    acc = (acc << 6) | (unsigned long)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o == max) return 0;
      out[o++] = (unsigned char)(acc >> bits);
      acc &= (1UL << bits) - 1;
    }
  }
  if (bits >= 6 || acc) return 0;           /* a lone digit, or bits left over */
  *outlen = o;
  return 1;
}

/* a value into a \0-terminated buffer of size sz, lower case when asked;
   0 when it does not fit or holds white space */
static int copy_token(char *dst, size_t sz, const char *x, size_t len, int lc)
{
  size_t i;
  if (len >= sz) return 0;
  for (i = 0; i < len; ++i) {
    if (fws(x[i])) return 0;
    dst[i] = lc ? lower(x[i]) : x[i];
  }
  dst[len] = 0;
  return 1;
}

static int scan_u64(const char *x, size_t len, unsigned long long *u)
{
  size_t i;
  unsigned long long v = 0;
  if (!len || len > 76) return 0;           /* 3.5: l=, t=, x= at most 76 digits */
  for (i = 0; i < len; ++i) {
    if (!digit(x[i])) return 0;
    if (__builtin_mul_overflow(v, 10ULL, &v) || __builtin_add_overflow(v, (unsigned long long)(x[i] - '0'), &v))
      v = ~0ULL, i = len;                   /* saturate: a far future or a huge l= */
  }
  *u = v;
  return 1;
}

static int val_is(const char *x, const struct dkim_tag *t, const char *s)
{
  return t && t->vallen == strlen(s) && !memcmp(x + t->val, s, t->vallen);
}

static int has_name(void *ctx, const char *name, size_t len)
{
  (void)ctx;
  return len == 4 && lower(name[0]) == 'f' && lower(name[1]) == 'r' && lower(name[2]) == 'o' && lower(name[3]) == 'm';
}

int dkim_hnames(const char *x, size_t len, int (*fn)(void *ctx, const char *name, size_t len), void *ctx)
{
  size_t i = 0;
  for (;;) {
    size_t a, e;
    while (i < len && fws(x[i])) ++i;
    a = i;
    while (i < len && x[i] != ':' && !fws(x[i])) ++i;
    e = i;
    while (i < len && fws(x[i])) ++i;
    if (e > a) { int r = fn(ctx, x + a, e - a); if (r) return r; }
    if (i >= len) return 0;
    if (x[i] != ':') return -1;             /* white space inside a name */
    ++i;
  }
}

static int bad_name(void *ctx, const char *name, size_t len)
{
  size_t i;
  (void)ctx;
  for (i = 0; i < len; ++i)                 /* RFC 5322 ftext */
    if ((unsigned char)name[i] < 33 || (unsigned char)name[i] > 126 || name[i] == ':') return 1;
  return 0;
}

int dkim_field_tags(struct dkim_sig *sig, const char *field, size_t len, struct dkim_tag *t,
                    unsigned int *n, const char **why)
{
  const char *colon = memchr(field, ':', len);
  size_t off;
  unsigned int k;
  memset(sig, 0, sizeof *sig);
  sig->field = field;
  sig->fieldlen = len;
  if (!colon) { *why = "not a header field"; return 0; }
  off = (size_t)(colon + 1 - field);
  if (!dkim_tags_parse(field + off, len - off, t, DKIM_MAXTAGS, n)) { *why = "bad tag-list"; return 0; }
  for (k = 0; k < *n; ++k) { t[k].name += off; t[k].val += off; }
  return 1;
}

/* arc: an ARC-Message-Signature (RFC 8617 4.1.2): no v=, i= the instance
   (1-50), l= not honoured (the whole body is hashed) */
static int sig_parse(struct dkim_sig *sig, const char *field, size_t len, unsigned long long now,
                     int arc, const char **why)
{
  struct dkim_tag t[DKIM_MAXTAGS];
  const struct dkim_tag *v, *a, *b, *bh, *d, *h, *s, *c, *i, *l, *q, *ts, *xs;
  unsigned int n;

  if (!dkim_field_tags(sig, field, len, t, &n, why)) return 0;
  d = dkim_tag_find(field, t, n, "d");
  s = dkim_tag_find(field, t, n, "s");
  a = dkim_tag_find(field, t, n, "a");
  if (d && !copy_token(sig->d, sizeof sig->d, field + d->val, d->vallen, 1)) sig->d[0] = 0;
  if (s && !copy_token(sig->s, sizeof sig->s, field + s->val, s->vallen, 1)) sig->s[0] = 0;
  if (a && !copy_token(sig->a, sizeof sig->a, field + a->val, a->vallen, 1)) sig->a[0] = 0;
  v = dkim_tag_find(field, t, n, "v");
  b = dkim_tag_find(field, t, n, "b");
  bh = dkim_tag_find(field, t, n, "bh");
  h = dkim_tag_find(field, t, n, "h");
  c = dkim_tag_find(field, t, n, "c");
  i = dkim_tag_find(field, t, n, "i");
  l = dkim_tag_find(field, t, n, "l");
  q = dkim_tag_find(field, t, n, "q");
  ts = dkim_tag_find(field, t, n, "t");
  xs = dkim_tag_find(field, t, n, "x");
  if (arc) {
    unsigned long long u;
    if (!i || !scan_u64(field + i->val, i->vallen, &u) || !u || u > 50) { *why = "bad i="; return 0; }
    sig->instance = (unsigned int)u;
    i = 0;
    l = 0;
  }
  if ((!arc && !v) || !a || !b || !bh || !d || !h || !s) { *why = "a required tag is missing"; return 0; }
  if (!arc && !val_is(field, v, "1")) { *why = "v= is not 1"; return 0; }
  if (!sig->d[0] || !sig->s[0]) { *why = "bad d= or s="; return 0; }
  if (!sig->a[0]) { *why = "bad a="; return 0; }
  if (!strcmp(sig->a, "rsa-sha256")) sig->alg = DKIM_RSA_SHA256;
  else if (!strcmp(sig->a, "ed25519-sha256")) sig->alg = DKIM_ED25519_SHA256;
  else if (!strcmp(sig->a, "rsa-sha1")) sig->alg = DKIM_RSA_SHA1;
  else { *why = "unknown algorithm"; return 0; }
  if (c) {
    char cc[32], *slash;
    if (!copy_token(cc, sizeof cc, field + c->val, c->vallen, 1)) { *why = "bad c="; return 0; }
    slash = strchr(cc, '/');
    if (slash) *slash++ = 0;
    if (!strcmp(cc, "relaxed")) sig->hrelaxed = 1;
    else if (strcmp(cc, "simple")) { *why = "bad c="; return 0; }
    if (slash) {
      if (!strcmp(slash, "relaxed")) sig->brelaxed = 1;
      else if (strcmp(slash, "simple")) { *why = "bad c="; return 0; }
    }
  }
  if (q && !val_is(field, q, "dns/txt")) { *why = "q= is not dns/txt"; return 0; }
  if (!dkim_b64(field + bh->val, bh->vallen, sig->bh, sizeof sig->bh, &sig->bhlen) || !sig->bhlen) {
    *why = "bad bh="; return 0;
  }
  if (!dkim_b64(field + b->val, b->vallen, sig->b, sizeof sig->b, &sig->blen) || !sig->blen) {
    *why = "bad b="; return 0;
  }
  /* 3.7: b='s value and the white space around it are removed */
  sig->bval = b->val;
  while (sig->bval > 0 && field[sig->bval - 1] != '=') --sig->bval;
  {
    size_t e = b->val + b->vallen;
    while (e < len && fws(field[e])) ++e;
    sig->bvallen = e - sig->bval;
  }
  sig->h = h->val;
  sig->hlen = h->vallen;
  if (dkim_hnames(field + h->val, h->vallen, bad_name, 0)) { *why = "bad h="; return 0; }
  if (!dkim_hnames(field + h->val, h->vallen, has_name, 0)) { *why = "From is not signed"; return 0; }
  if (l && !scan_u64(field + l->val, l->vallen, &sig->l)) { *why = "bad l="; return 0; }
  sig->has_l = !!l;
  if (ts && !scan_u64(field + ts->val, ts->vallen, &sig->t)) { *why = "bad t="; return 0; }
  if (xs) {
    if (!scan_u64(field + xs->val, xs->vallen, &sig->x)) { *why = "bad x="; return 0; }
    if (ts && sig->x < sig->t) { *why = "x= is before t="; return 0; }
    sig->has_x = 1;
    if (now > sig->x) { *why = "signature expired"; return 0; }
  }
  if (i) {                                  /* 3.5: i='s domain is d= or below it */
    const char *at = memchr(field + i->val, '@', i->vallen);
    size_t dl = strlen(sig->d), il, k;
    const char *id;
    if (!at) { *why = "bad i="; return 0; }
    id = at + 1;
    il = i->vallen - (size_t)(id - (field + i->val));
    if (il < dl) { *why = "i= is not in d="; return 0; }
    for (k = 0; k < dl; ++k)
      if (lower(id[il - dl + k]) != sig->d[k]) { *why = "i= is not in d="; return 0; }
    if (il > dl && id[il - dl - 1] != '.') { *why = "i= is not in d="; return 0; }
  }
  return 1;
}

int dkim_sig_parse(struct dkim_sig *sig, const char *field, size_t len, unsigned long long now,
                   const char **why)
{
  return sig_parse(sig, field, len, now, 0, why);
}

int dkim_ams_parse(struct dkim_sig *sig, const char *field, size_t len, unsigned long long now,
                   const char **why)
{
  return sig_parse(sig, field, len, now, 1, why);
}

/* the canonical body goes out through here: counted, hashed up to l= */
static void emit(struct dkim_body *b, const char *x, size_t n)
{
  size_t take = n;
  if (b->has_l) {
    unsigned long long left = b->total >= b->l ? 0 : b->l - b->total;
    if (take > left) take = (size_t)left;
  }
  if (take) br_sha256_update(&b->h, x, take);
  b->total += n;
}

static void flush_crlfs(struct dkim_body *b)
{
  for (; b->crlfs; --b->crlfs) emit(b, "\r\n", 2);
}

void dkim_body_init(struct dkim_body *b, int relaxed, int has_l, unsigned long long l)
{
  memset(b, 0, sizeof *b);
  b->relaxed = relaxed;
  b->has_l = has_l;
  b->l = l;
  br_sha256_init(&b->h);
}

void dkim_body_update(struct dkim_body *b, const char *x, size_t len)
{
  size_t i = 0;
  while (i < len) {
    char c = x[i];
    if (c == '\n') {
      b->ws = 0;                            /* relaxed: trailing WSP goes */
      if (b->inl) { emit(b, "\r\n", 2); b->inl = 0; }
      else ++b->crlfs;                      /* empty lines wait: trailing ones go */
      ++i;
      continue;
    }
    if (b->relaxed && wsp(c)) { b->ws = 1; ++i; continue; }
    if (!b->inl) { flush_crlfs(b); b->inl = 1; }
    if (b->ws) { emit(b, " ", 1); b->ws = 0; }
    {                                       /* a run of plain bytes at once */
      size_t j = i + 1;
      while (j < len && x[j] != '\n' && !(b->relaxed && wsp(x[j]))) ++j;
      emit(b, x + i, j - i);
      i = j;
    }
  }
}

void dkim_body_final(struct dkim_body *b, unsigned char out[32])
{
  if (b->inl) { emit(b, "\r\n", 2); b->inl = 0; }
  /* 3.4.3: an empty body is one CRLF (simple); relaxed leaves it empty
     (3.4.4, errata 1384) */
  if (!b->total && !b->relaxed) emit(b, "\r\n", 2);
  br_sha256_out(&b->h, out);
}

int dkim_header_canon(stralloc *out, const char *f, size_t len, int relaxed)
{
  size_t i, colon;
  if (len && f[len - 1] == '\n') --len;
  if (!relaxed) {
    for (i = 0; i < len; ++i) {
      if (f[i] == '\n') { if (!stralloc_catb(out, "\r\n", 2)) return 0; }
      else if (!stralloc_append(out, &f[i])) return 0;
    }
    return stralloc_catb(out, "\r\n", 2);
  }
  for (colon = 0; colon < len && f[colon] != ':'; ++colon) ;
  i = colon;
  while (i > 0 && fws(f[i - 1])) --i;       /* "Subject :" */
  {
    size_t k;
    for (k = 0; k < i; ++k) { char c = lower(f[k]); if (!stralloc_append(out, &c)) return 0; }
  }
  if (!stralloc_append(out, ":")) return 0;
  if (colon < len) {
    int sp = 0, any = 0;
    for (i = colon + 1; i < len; ++i) {
      if (f[i] == '\n' || f[i] == '\r') continue;          /* unfold */
      if (wsp(f[i])) { sp = 1; continue; }
      if (sp && any && !stralloc_append(out, " ")) return 0;
      sp = 0;
      any = 1;
      if (!stralloc_append(out, &f[i])) return 0;
    }
  }
  return stralloc_catb(out, "\r\n", 2);
}

int dkim_fields(const char *hdr, size_t len, struct dkim_field **f, unsigned int *n)
{
  size_t i, lines = 1;
  unsigned int k = 0;
  for (i = 0; i < len; ++i) if (hdr[i] == '\n') ++lines;
  if (lines > 100000) lines = 100000;
  *f = calloc(lines, sizeof **f);
  if (!*f) return 0;
  i = 0;
  while (i < len && k < lines) {
    size_t a = i, c;
    do {                                    /* a field and its continuation lines */
      const char *e = memchr(hdr + i, '\n', len - i);
      i = e ? (size_t)(e - hdr) + 1 : len;
    } while (i < len && wsp(hdr[i]));
    if (wsp(hdr[a])) continue;              /* continuation without a field */
    for (c = a; c < i && hdr[c] != ':'; ++c) ;
    if (c == i) continue;                   /* no colon: not a field */
    while (c > a && wsp(hdr[c - 1])) --c;
    (*f)[k].off = a;
    (*f)[k].len = i - a;
    (*f)[k].namelen = c - a;
    ++k;
  }
  *n = k;
  return 1;
}

struct hh {
  const char *hdr;
  const struct dkim_field *f;
  unsigned int n;
  unsigned char *used;
  int relaxed;
  stralloc *buf;
};

static int pick(void *ctx, const char *name, size_t len)
{
  struct hh *h = ctx;
  unsigned int i = h->n;
  while (i--) {
    const struct dkim_field *x = &h->f[i];
    size_t k;
    if (h->used[i] || x->namelen != len) continue;
    for (k = 0; k < len && lower(h->hdr[x->off + k]) == lower(name[k]); ++k) ;
    if (k < len) continue;
    h->used[i] = 1;
    return dkim_header_canon(h->buf, h->hdr + x->off, x->len, h->relaxed) ? 0 : -2;
  }
  return 0;                                 /* absent: the null string (5.4.2) */
}

int dkim_header_hash(const char *hdr, const struct dkim_field *f, unsigned int n,
                     const struct dkim_sig *sig, unsigned char out[32])
{
  stralloc buf = {0}, self = {0};
  struct hh h;
  br_sha256_context c;
  int ok = 0;
  h.hdr = hdr;
  h.f = f;
  h.n = n;
  h.relaxed = sig->hrelaxed;
  h.buf = &buf;
  h.used = calloc(n ? n : 1, 1);
  if (!h.used) return 0;
  if (dkim_hnames(sig->field + sig->h, sig->hlen, pick, &h) == -2) goto out;
  /* the signature field itself, b= emptied, without its CRLF (3.7) */
  if (!stralloc_copyb(&self, sig->field, sig->bval)
      || !stralloc_catb(&self, sig->field + sig->bval + sig->bvallen, sig->fieldlen - sig->bval - sig->bvallen))
    goto out;
  if (self.len && self.s[self.len - 1] == '\n') --self.len;
  if (!dkim_header_canon(&buf, self.s, self.len, sig->hrelaxed)) goto out;
  buf.len -= 2;
  br_sha256_init(&c);
  br_sha256_update(&c, buf.s, buf.len);
  br_sha256_out(&c, out);
  ok = 1;
out:
  free(h.used);
  stralloc_free(&buf);
  stralloc_free(&self);
  return ok;
}

/* DER: one TLV at *pos; 1 with tag, value offset and length */
static int der(const unsigned char *x, size_t len, size_t *pos, unsigned char *tag, size_t *voff, size_t *vlen)
{
  size_t p = *pos, l;
  if (p > len || len - p < 2) return 0;
  *tag = x[p++];
  l = x[p++];
  if (l & 0x80) {
    unsigned int k = l & 0x7f;
    if (!k || k > 3) return 0;
    l = 0;
    while (k--) { if (p == len) return 0; l = (l << 8) | x[p++]; }
  }
  if (l > len - p) return 0;
  *voff = p;
  *vlen = l;
  *pos = p + l;
  return 1;
}

/* SubjectPublicKeyInfo with rsaEncryption, or a bare RSAPublicKey */
static int rsa_key(const unsigned char *x, size_t len, struct dkim_key *k)
{
  static const unsigned char rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
  size_t pos = 0, vo, vl, p2, end;
  unsigned char tag;
  if (!der(x, len, &pos, &tag, &vo, &vl) || tag != 0x30 || pos != len) return 0;
  p2 = vo;
  end = vo + vl;
  if (!der(x, end, &p2, &tag, &vo, &vl)) return 0;
  if (tag == 0x30) {                        /* AlgorithmIdentifier, then the BIT STRING */
    size_t q = vo, ovo, ovl;
    if (!der(x, vo + vl, &q, &tag, &ovo, &ovl) || tag != 0x06 || ovl != sizeof rsa_oid
        || memcmp(x + ovo, rsa_oid, ovl)) return 0;
    if (!der(x, end, &p2, &tag, &vo, &vl) || tag != 0x03 || !vl || x[vo] != 0) return 0;
    x += vo + 1;
    len = vl - 1;
    pos = 0;
    if (!der(x, len, &pos, &tag, &vo, &vl) || tag != 0x30 || pos != len) return 0;
    p2 = vo;
    end = vo + vl;
    if (!der(x, end, &p2, &tag, &vo, &vl)) return 0;
  }
  if (tag != 0x02) return 0;                /* modulus */
  while (vl && !x[vo]) { ++vo; --vl; }
  if (!vl || vl > sizeof k->n) return 0;
  memcpy(k->n, x + vo, vl);
  k->nlen = vl;
  k->bits = (unsigned int)vl * 8;
  { unsigned char t = k->n[0]; while (!(t & 0x80)) { t <<= 1; --k->bits; } }
  if (!der(x, end, &p2, &tag, &vo, &vl) || tag != 0x02) return 0;
  while (vl && !x[vo]) { ++vo; --vl; }
  if (!vl || vl > sizeof k->e) return 0;
  memcpy(k->e, x + vo, vl);
  k->elen = vl;
  return 1;
}

int dkim_key_parse(const char *txt, size_t len, struct dkim_key *k, const char **why)
{
  struct dkim_tag t[DKIM_MAXTAGS];
  const struct dkim_tag *v, *kt, *p, *h, *s, *fl;
  unsigned char raw[1100];
  size_t rawlen;
  unsigned int n;
  memset(k, 0, sizeof *k);
  if (!dkim_tags_parse(txt, len, t, DKIM_MAXTAGS, &n)) { *why = "bad key record"; return 0; }
  v = dkim_tag_find(txt, t, n, "v");
  if (v && (v != t || !val_is(txt, v, "DKIM1"))) { *why = "key record is not DKIM1"; return 0; }
  p = dkim_tag_find(txt, t, n, "p");
  if (!p) { *why = "key record has no p="; return 0; }
  if (!p->vallen) { *why = "key revoked"; return 0; }
  kt = dkim_tag_find(txt, t, n, "k");
  if (!kt || val_is(txt, kt, "rsa")) k->type = DKIM_RSA_SHA256;
  else if (val_is(txt, kt, "ed25519")) k->type = DKIM_ED25519_SHA256;
  else { *why = "unknown key type"; return 0; }
  h = dkim_tag_find(txt, t, n, "h");
  if (h) {
    int found = 0;
    size_t i = h->val, e = h->val + h->vallen;
    while (i < e) {                         /* "sha1:sha256" */
      size_t a;
      while (i < e && (fws(txt[i]) || txt[i] == ':')) ++i;
      a = i;
      while (i < e && !fws(txt[i]) && txt[i] != ':') ++i;
      if (i - a == 6 && !memcmp(txt + a, "sha256", 6)) found = 1;
    }
    if (!found) { *why = "key does not allow sha256"; return 0; }
  }
  s = dkim_tag_find(txt, t, n, "s");
  if (s) {
    int found = 0;
    size_t i = s->val, e = s->val + s->vallen;
    while (i < e) {
      size_t a;
      while (i < e && (fws(txt[i]) || txt[i] == ':')) ++i;
      a = i;
      while (i < e && !fws(txt[i]) && txt[i] != ':') ++i;
      if ((i - a == 1 && txt[a] == '*') || (i - a == 5 && !memcmp(txt + a, "email", 5))) found = 1;
    }
    if (!found) { *why = "key is not for email"; return 0; }
  }
  fl = dkim_tag_find(txt, t, n, "t");
  if (fl) {
    size_t i;
    for (i = fl->val; i < fl->val + fl->vallen; ++i)
      if (txt[i] == 'y' && (i == fl->val || txt[i - 1] == ':' || fws(txt[i - 1]))) k->testing = 1;
  }
  if (!dkim_b64(txt + p->val, p->vallen, raw, sizeof raw, &rawlen)) { *why = "bad p="; return 0; }
  if (k->type == DKIM_ED25519_SHA256) {
    if (rawlen != 32) { *why = "bad ed25519 key"; return 0; }
    memcpy(k->ed, raw, 32);
    return 1;
  }
  if (!rsa_key(raw, rawlen, k)) { *why = "bad RSA key"; return 0; }
  return 1;
}

enum dkim_result dkim_verify(const struct dkim_sig *sig, const struct dkim_key *k,
                             const unsigned char hhash[32], const char **why)
{
  if (sig->alg == DKIM_RSA_SHA1) { *why = "rsa-sha1 is not valid (RFC 8301)"; return DKIM_PERMERROR; }
  if (k->type != sig->alg) { *why = "key type does not match a="; return DKIM_PERMERROR; }
  if (k->type == DKIM_ED25519_SHA256) {
    /* RFC 8463 3: Ed25519 (PureEdDSA) over the SHA-256 of the headers */
    if (sig->blen != 64 || crypto_sign_ed25519_verify_detached(sig->b, hhash, 32, k->ed) != 0) {
      *why = "signature did not verify"; return DKIM_FAIL;
    }
    return DKIM_PASS;
  }
  if (k->bits < 1024) { *why = "RSA key shorter than 1024 bits (RFC 8301)"; return DKIM_POLICY; }
  if (k->bits > 4096) { *why = "RSA key longer than 4096 bits"; return DKIM_PERMERROR; }
  {
    br_rsa_public_key pk;
    br_rsa_pkcs1_vrfy vrfy = br_rsa_pkcs1_vrfy_get_default();
    unsigned char out[32];
    pk.n = (unsigned char *)k->n;
    pk.nlen = k->nlen;
    pk.e = (unsigned char *)k->e;
    pk.elen = k->elen;
    if (sig->blen != k->nlen || !vrfy(sig->b, sig->blen, BR_HASH_OID_SHA256, 32, &pk, out)
        || memcmp(out, hhash, 32)) {
      *why = "signature did not verify"; return DKIM_FAIL;
    }
  }
  return DKIM_PASS;
}
