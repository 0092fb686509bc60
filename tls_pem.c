/* PEM certificate chains and private keys (RSA and EC) for the TLS
   server, decoded with BearSSL's PEM, X.509 and key decoders. No I/O. */
#include <stdlib.h>
#include <string.h>
#include "base64.h"
#include "tls_pem.h"
#include "wipe.h"

typedef int (*obj_fn)(void *ctx, const char *name, const unsigned char *der, size_t len, const char **err);

/* Calls fn for every "-----BEGIN name-----" ... "-----END name-----"
   object of pem, with its base64 body decoded. Text outside objects is
   skipped (as openssl does); inside, only base64 is allowed. BearSSL's
   own PEM decoder would do, at some 1000 instructions a byte. */
static int pem_walk(const char *pem, size_t len, obj_fn fn, void *ctx, const char **err)
{
  unsigned char *der = malloc(TLS_PEM_MAXOBJ);
  char name[128];
  size_t i = 0, n = 0, namelen = 0;
  unsigned long acc = 0;
  int inobj = 0, quad = 0, pad = 0, ok = 1;

  if (!der) { *err = "out of memory"; return 0; }
  while (ok && i < len) {
    const char *l = pem + i, *nl = memchr(l, '\n', len - i);
    size_t ll = nl ? (size_t)(nl - l) : len - i, k;
    i += ll + (nl ? 1 : 0);
    while (ll && (l[ll - 1] == '\r' || l[ll - 1] == ' ' || l[ll - 1] == '\t')) --ll;
    if (ll > 16 && !memcmp(l, "-----BEGIN ", 11) && !memcmp(l + ll - 5, "-----", 5)) {
      if (inobj) { *err = "BEGIN line inside a PEM object"; ok = 0; break; }
      namelen = ll - 16;
      if (namelen >= sizeof name) { *err = "PEM object name too long"; ok = 0; break; }
      memcpy(name, l + 11, namelen);
      name[namelen] = 0;
      inobj = 1; n = 0; acc = 0; quad = 0; pad = 0;
      continue;
    }
    if (!inobj) continue;
    if (ll >= 14 && !memcmp(l, "-----END ", 9)) {
      if (ll - 14 != namelen || memcmp(l + 9, name, namelen) || memcmp(l + ll - 5, "-----", 5)) {
        *err = "PEM END line does not match its BEGIN line"; ok = 0; break;
      }
      if (quad) { *err = "not valid PEM (base64 length)"; ok = 0; break; }
      inobj = 0;
      if (!fn(ctx, name, der, n, err)) ok = 0;
      wipe(der, n);
      n = 0;
      continue;
    }
    for (k = 0; k < ll; ++k) {
      unsigned char c = (unsigned char)l[k];
      int v;
      if (c == ' ' || c == '\t') continue;
      if (c == ':') { *err = "PEM headers (an encrypted key?) are not supported"; ok = 0; break; }
      if (c == '=') {
        if (quad < 2 || ++pad + quad > 4) { *err = "not valid PEM (base64 padding)"; ok = 0; break; }
        if (pad + quad == 4) {
          if (n + 2 > TLS_PEM_MAXOBJ) { *err = "PEM object too large"; ok = 0; break; }
          if (quad == 2) der[n++] = (unsigned char)(acc >> 4);
          else { der[n++] = (unsigned char)(acc >> 10); der[n++] = (unsigned char)(acc >> 2); }
          quad = 0; acc = 0;
        }
        continue;
      }
      v = base64_val(c);
      if (v < 0 || pad) { *err = "not valid PEM (base64)"; ok = 0; break; }
      acc = (acc << 6) | (unsigned long)v;
      if (++quad == 4) {
        if (n + 3 > TLS_PEM_MAXOBJ) { *err = "PEM object too large"; ok = 0; break; }
        der[n++] = (unsigned char)(acc >> 16);
        der[n++] = (unsigned char)(acc >> 8);
        der[n++] = (unsigned char)acc;
        quad = 0; acc = 0;
      }
    }
  }
  if (ok && inobj) { *err = "PEM object without its END line"; ok = 0; }
  acc = 0;
  wipe(der, n < TLS_PEM_MAXOBJ ? n : TLS_PEM_MAXOBJ);
  free(der);
  return ok;
}

static int chain_obj(void *ctx, const char *name, const unsigned char *der, size_t len, const char **err)
{
  struct tls_chain *c = ctx;
  unsigned char *copy;
  if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE")) return 1;
  if (c->n >= TLS_PEM_MAXCERTS) { *err = "too many certificates in the chain"; return 0; }
  if (!len) { *err = "empty certificate"; return 0; }
  copy = malloc(len);
  if (!copy) { *err = "out of memory"; return 0; }
  memcpy(copy, der, len);
  c->cert[c->n].data = copy;
  c->cert[c->n].data_len = len;
  c->n++;
  return 1;
}

void tls_chain_free(struct tls_chain *c)
{
  size_t i;
  for (i = 0; i < c->n; ++i) free(c->cert[i].data);
  c->n = 0;
}

int tls_pem_chain(const char *pem, size_t len, struct tls_chain *c, const char **err)
{
  c->n = 0;
  if (!pem_walk(pem, len, chain_obj, c, err)) { tls_chain_free(c); return 0; }
  if (!c->n) { *err = "no CERTIFICATE in the file"; return 0; }
  /* each certificate must at least decode, or the handshake fails later;
     the first is decoded by tls_key_matches (or was, when the session
     cache holds the record of its check): not twice */
  {
    size_t i;
    for (i = 1; i < c->n; ++i) {
      br_x509_decoder_context dc;
      br_x509_decoder_init(&dc, NULL, NULL);
      br_x509_decoder_push(&dc, c->cert[i].data, c->cert[i].data_len);
      if (br_x509_decoder_last_error(&dc) || !br_x509_decoder_get_pkey(&dc)) {
        *err = "a CERTIFICATE that is not valid X.509";
        tls_chain_free(c);
        return 0;
      }
    }
  }
  return 1;
}

/* one DER element at *p: its tag, its value; *p and *len move past it */
static int der_next(const unsigned char **p, size_t *len, unsigned *tag, const unsigned char **val, size_t *vlen)
{
  size_t l, off = 2, i, n;
  if (*len < 2) return 0;
  *tag = (*p)[0];
  l = (*p)[1];
  if (l & 0x80) {
    n = l & 0x7F;
    if (!n || n > 2 || *len < 2 + n) return 0;
    for (l = 0, i = 0; i < n; ++i) l = l << 8 | (*p)[2 + i];
    off += n;
  }
  if (l > *len - off) return 0;
  *val = *p + off;
  *vlen = l;
  *p += off + l;
  *len -= off + l;
  return 1;
}

/* The public point of an EC key's DER: SEC1's ECPrivateKey { 1, key,
   [0] parameters, [1] BIT STRING point }, or PKCS#8's { 0, algorithm,
   OCTET STRING ECPrivateKey }. The length of the point copied to out,
   0 when absent or malformed. */
static size_t ec_pub(const unsigned char *d, size_t n, unsigned char *out, size_t size, int depth)
{
  const unsigned char *v;
  size_t vl;
  unsigned tag;
  if (!der_next(&d, &n, &tag, &v, &vl) || tag != 0x30) return 0;
  d = v;
  n = vl;
  if (!der_next(&d, &n, &tag, &v, &vl) || tag != 0x02 || vl != 1) return 0;
  if (v[0] == 0 && !depth) {
    if (!der_next(&d, &n, &tag, &v, &vl) || tag != 0x30) return 0;
    if (!der_next(&d, &n, &tag, &v, &vl) || tag != 0x04) return 0;
    return ec_pub(v, vl, out, size, 1);
  }
  if (v[0] != 1 || !der_next(&d, &n, &tag, &v, &vl) || tag != 0x04) return 0;
  while (der_next(&d, &n, &tag, &v, &vl))
    if (tag == 0xA1) {
      const unsigned char *b = v;
      size_t bl = vl;
      if (!der_next(&b, &bl, &tag, &v, &vl) || tag != 0x03 || vl < 2 || v[0] || vl - 1 > size) return 0;
      memcpy(out, v + 1, vl - 1);
      return vl - 1;
    }
  return 0;
}

static int key_obj(void *ctx, const char *name, const unsigned char *der, size_t len, const char **err)
{
  struct tls_key *k = ctx;
  if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) { *err = "encrypted private keys are not supported"; return 0; }
  if (strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY") && strcmp(name, "PRIVATE KEY"))
    return 1;
  if (k->type) { *err = "more than one private key in the file"; return 0; }
  br_skey_decoder_init(&k->dc);
  br_skey_decoder_push(&k->dc, der, len);
  if (br_skey_decoder_last_error(&k->dc)) { *err = "a private key that cannot be decoded (RSA and EC only)"; return 0; }
  k->type = br_skey_decoder_key_type(&k->dc);
  if (k->type != BR_KEYTYPE_RSA && k->type != BR_KEYTYPE_EC) {
    k->type = 0;
    *err = "a private key that is neither RSA nor EC";
    return 0;
  }
  k->publen = k->type == BR_KEYTYPE_EC ? ec_pub(der, len, k->pub, sizeof k->pub, 0) : 0;
  return 1;
}

void tls_key_wipe(struct tls_key *k)
{
  wipe(&k->dc, sizeof k->dc);
  k->type = 0;
}

int tls_pem_key(const char *pem, size_t len, struct tls_key *k, const char **err)
{
  k->type = 0;
  k->publen = 0;
  if (!pem_walk(pem, len, key_obj, k, err)) { tls_key_wipe(k); return 0; }
  if (!k->type) { *err = "no PRIVATE KEY in the file"; return 0; }
  return 1;
}

/* compares big-endian unsigned integers, ignoring leading zeros */
static int same_uint(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
  while (al && !*a) { ++a; --al; }
  while (bl && !*b) { ++b; --bl; }
  return al == bl && !memcmp(a, b, al);
}

int tls_key_matches(const struct tls_key *k, const br_x509_certificate *cert)
{
  br_x509_decoder_context dc;
  const br_x509_pkey *pk;
  int ok = 0;
  br_x509_decoder_init(&dc, NULL, NULL);
  br_x509_decoder_push(&dc, cert->data, cert->data_len);
  pk = br_x509_decoder_get_pkey(&dc);
  if (!pk || br_x509_decoder_last_error(&dc)) return -1;
  if (k->type == BR_KEYTYPE_RSA && pk->key_type == BR_KEYTYPE_RSA) {
    /* the modulus (p*q) identifies the pair; BearSSL 0.6's
       br_rsa_compute_pubexp returns 0 for valid keys, so e is not compared */
    const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&k->dc);
    unsigned char n[4096 / 8 + 1];      /* BearSSL: RSA up to 4096 bits */
    size_t nl = br_rsa_compute_modulus_get_default()(NULL, sk);
    if (nl && nl <= sizeof n && br_rsa_compute_modulus_get_default()(n, sk) == nl)
      ok = same_uint(n, nl, pk->key.rsa.n, pk->key.rsa.nlen);
    wipe(n, sizeof n);
  } else if (k->type == BR_KEYTYPE_EC && pk->key_type == BR_KEYTYPE_EC) {
    const br_ec_private_key *sk = br_skey_decoder_get_ec(&k->dc);
    br_ec_public_key pub;
    unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
    size_t ql = k->publen;
    if (ql) memcpy(q, k->pub, ql);
    else ql = br_ec_compute_pub(br_ec_get_default(), &pub, q, sk);
    ok = ql && sk->curve == pk->key.ec.curve && ql == pk->key.ec.qlen && !memcmp(q, pk->key.ec.q, ql);
  }
  wipe(&dc, sizeof dc);
  return ok;
}
