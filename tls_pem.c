/* PEM certificate chains and private keys (RSA and EC) for the TLS
   server, decoded with BearSSL's PEM, X.509 and key decoders. No I/O. */
#include <stdlib.h>
#include <string.h>
#include "tls_pem.h"

void tls_wipe(void *p, size_t len)
{
  volatile unsigned char *v = p;
  while (len--) *v++ = 0;
}

struct obj {
  unsigned char *buf;
  size_t len;
  int toolong;
};

static void obj_append(void *ctx, const void *data, size_t len)
{
  struct obj *o = ctx;
  if (o->toolong) return;
  if (len > TLS_PEM_MAXOBJ - o->len) { o->toolong = 1; return; }
  memcpy(o->buf + o->len, data, len);
  o->len += len;
}

typedef int (*obj_fn)(void *ctx, const char *name, const unsigned char *der, size_t len, const char **err);

/* calls fn for every complete PEM object of pem */
static int pem_walk(const char *pem, size_t len, obj_fn fn, void *ctx, const char **err)
{
  br_pem_decoder_context pc;
  struct obj o;
  char name[128];
  int inobj = 0, ok = 1, last = 0;
  size_t i = 0;

  o.buf = malloc(TLS_PEM_MAXOBJ);
  if (!o.buf) { *err = "out of memory"; return 0; }
  o.len = 0;
  o.toolong = 0;
  br_pem_decoder_init(&pc);
  /* a final newline ends a last line that has none */
  while (ok && !last) {
    const char *p;
    size_t n, t;
    int ev;
    if (i < len) { p = pem + i; n = len - i; }
    else { p = "\n"; n = 1; last = 1; }
    while (n) {
      t = br_pem_decoder_push(&pc, p, n);
      p += t;
      n -= t;
      if (!last) i += t;
      ev = br_pem_decoder_event(&pc);
      if (ev == BR_PEM_BEGIN_OBJ) {
        size_t nl = strlen(br_pem_decoder_name(&pc));
        if (nl >= sizeof name) nl = sizeof name - 1;
        memcpy(name, br_pem_decoder_name(&pc), nl);
        name[nl] = 0;
        o.len = 0;
        o.toolong = 0;
        br_pem_decoder_setdest(&pc, obj_append, &o);
        inobj = 1;
      } else if (ev == BR_PEM_END_OBJ) {
        if (inobj) {
          if (o.toolong) { *err = "PEM object too large"; ok = 0; }
          else if (!fn(ctx, name, o.buf, o.len, err)) ok = 0;
          tls_wipe(o.buf, o.len);
          o.len = 0;
        }
        inobj = 0;
        if (!ok) break;
      } else if (ev == BR_PEM_ERROR) {
        *err = "not valid PEM";
        ok = 0;
        break;
      } else if (!t) {
        *err = "not valid PEM";
        ok = 0;
        break;
      }
    }
  }
  if (ok && inobj) { *err = "PEM object without its END line"; ok = 0; }
  tls_wipe(o.buf, o.len < TLS_PEM_MAXOBJ ? o.len : TLS_PEM_MAXOBJ);
  tls_wipe(&pc, sizeof pc);
  free(o.buf);
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
  /* each certificate must at least decode, or the handshake fails later */
  {
    size_t i;
    for (i = 0; i < c->n; ++i) {
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
  return 1;
}

void tls_key_wipe(struct tls_key *k)
{
  tls_wipe(&k->dc, sizeof k->dc);
  k->type = 0;
}

int tls_pem_key(const char *pem, size_t len, struct tls_key *k, const char **err)
{
  k->type = 0;
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
  if (!pk || br_x509_decoder_last_error(&dc)) return 0;
  if (k->type == BR_KEYTYPE_RSA && pk->key_type == BR_KEYTYPE_RSA) {
    /* the modulus (p*q) identifies the pair; BearSSL 0.6's
       br_rsa_compute_pubexp returns 0 for valid keys, so e is not compared */
    const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&k->dc);
    unsigned char n[4096 / 8 + 1];      /* BearSSL: RSA up to 4096 bits */
    size_t nl = br_rsa_compute_modulus_get_default()(NULL, sk);
    if (nl && nl <= sizeof n && br_rsa_compute_modulus_get_default()(n, sk) == nl)
      ok = same_uint(n, nl, pk->key.rsa.n, pk->key.rsa.nlen);
    tls_wipe(n, sizeof n);
  } else if (k->type == BR_KEYTYPE_EC && pk->key_type == BR_KEYTYPE_EC) {
    const br_ec_private_key *sk = br_skey_decoder_get_ec(&k->dc);
    br_ec_public_key pub;
    unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
    size_t ql = br_ec_compute_pub(br_ec_get_default(), &pub, q, sk);
    ok = ql && pub.curve == pk->key.ec.curve && ql == pk->key.ec.qlen && !memcmp(q, pk->key.ec.q, ql);
  }
  tls_wipe(&dc, sizeof dc);
  return ok;
}
