/* The TLS server's policy (tls_policy.h): protocol versions and cipher
   suites from the control files, the choice between an RSA and an ECDSA
   certificate per client, and client certificates. */
#include <stdlib.h>
#include <string.h>
#include "tls_ec.h"
#include "tls_policy.h"
#include "wipe.h"

enum {
  A_RSA = 1, A_ECDSA = 2, E_AES128 = 4, E_AES256 = 8, E_CHACHA = 16, GCM = 32,
  M_SHA1 = 64, M_SHA256 = 128, M_SHA384 = 256, CBC = 512, AEAD = 1024, TLS12 = 2048
};

/* the server's order: AEAD first, then CBC with SHA-2, then CBC with
   SHA-1 (TLS 1.0 and 1.1 have only those) */
static const struct suite { uint16_t id; uint16_t attr; const char *name; } tab[] = {
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, A_ECDSA | E_AES128 | GCM | AEAD | M_SHA256 | TLS12, "ECDHE-ECDSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, A_RSA | E_AES128 | GCM | AEAD | M_SHA256 | TLS12, "ECDHE-RSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, A_ECDSA | E_AES256 | GCM | AEAD | M_SHA384 | TLS12, "ECDHE-ECDSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, A_RSA | E_AES256 | GCM | AEAD | M_SHA384 | TLS12, "ECDHE-RSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, A_ECDSA | E_CHACHA | AEAD | M_SHA256 | TLS12, "ECDHE-ECDSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, A_RSA | E_CHACHA | AEAD | M_SHA256 | TLS12, "ECDHE-RSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, A_ECDSA | E_AES128 | CBC | M_SHA256 | TLS12, "ECDHE-ECDSA-AES128-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, A_RSA | E_AES128 | CBC | M_SHA256 | TLS12, "ECDHE-RSA-AES128-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, A_ECDSA | E_AES256 | CBC | M_SHA384 | TLS12, "ECDHE-ECDSA-AES256-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, A_RSA | E_AES256 | CBC | M_SHA384 | TLS12, "ECDHE-RSA-AES256-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, A_ECDSA | E_AES128 | CBC | M_SHA1, "ECDHE-ECDSA-AES128-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, A_RSA | E_AES128 | CBC | M_SHA1, "ECDHE-RSA-AES128-SHA" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, A_ECDSA | E_AES256 | CBC | M_SHA1, "ECDHE-ECDSA-AES256-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, A_RSA | E_AES256 | CBC | M_SHA1, "ECDHE-RSA-AES256-SHA" },
};
#define NTAB (sizeof tab / sizeof tab[0])
#define ALLSUITES ((1u << NTAB) - 1)

const char *tls_suite_name(uint16_t id)
{
  size_t i;
  for (i = 0; i < NTAB; ++i)
    if (tab[i].id == id) return tab[i].name;
  return "unknown";
}

/* a bit per tab entry: AEAD, and with TLS 1.0 or 1.1 the SHA-1 CBC suites */
static unsigned default_set(unsigned vmin)
{
  unsigned set = 0;
  size_t i;
  for (i = 0; i < NTAB; ++i)
    if ((tab[i].attr & AEAD) || (vmin < BR_TLS12 && (tab[i].attr & M_SHA1))) set |= 1u << i;
  return set;
}

static size_t emit(unsigned set, uint16_t *suites)
{
  size_t i, n = 0;
  for (i = 0; i < NTAB; ++i)
    if (set & (1u << i)) suites[n++] = tab[i].id;
  return n;
}

size_t tls_default_suites(unsigned vmin, uint16_t *suites)
{
  return emit(default_set(vmin), suites);
}

static int word_is(const char *w, size_t len, const char *name)
{
  return strlen(name) == len && !strncasecmp(w, name, len);
}

/* the suites one word names */
static unsigned word_set(const char *w, size_t len, unsigned vmin)
{
  static const struct { const char *w; uint16_t attr; } attrs[] = {
    { "aRSA", A_RSA }, { "RSA", A_RSA }, { "aECDSA", A_ECDSA }, { "ECDSA", A_ECDSA },
    { "AESGCM", GCM }, { "AES128", E_AES128 }, { "AES256", E_AES256 }, { "AES", E_AES128 | E_AES256 },
    { "CHACHA20", E_CHACHA }, { "SHA1", M_SHA1 }, { "SHA", M_SHA1 }, { "SHA256", M_SHA256 },
    { "SHA384", M_SHA384 }, { "CBC", CBC }, { "AEAD", AEAD }, { "TLSv1.2", TLS12 },
  };
  unsigned set = 0;
  size_t i;
  if (word_is(w, len, "DEFAULT") || word_is(w, len, "HIGH")) return default_set(vmin);
  if (word_is(w, len, "ALL") || word_is(w, len, "ECDHE") || word_is(w, len, "EECDH")
      || word_is(w, len, "kECDHE") || word_is(w, len, "kEECDH"))
    return ALLSUITES;
  for (i = 0; i < NTAB; ++i)
    if (word_is(w, len, tab[i].name)) return 1u << i;
  for (i = 0; i < sizeof attrs / sizeof attrs[0]; ++i)
    if (word_is(w, len, attrs[i].w)) {
      size_t j;
      for (j = 0; j < NTAB; ++j)
        if (tab[j].attr & attrs[i].attr) set |= 1u << j;
      return set;
    }
  return 0;
}

int tls_parse_ciphers(const char *s, size_t len, unsigned vmin, uint16_t *suites, size_t *n, const char **err)
{
  unsigned set = 0, banned = 0;
  size_t i = 0, j;
  while (i < len) {
    size_t start, end;
    unsigned t = ALLSUITES;
    char op = 0;
    while (i < len && (s[i] == ':' || s[i] == ',' || s[i] == ' ' || s[i] == '\t')) ++i;
    start = i;
    while (i < len && s[i] != ':' && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
    end = i;
    if (start == end) break;
    if (s[start] == '!' || s[start] == '-' || s[start] == '+') op = s[start++];
    if (start == end || s[start] == '@') continue;      /* @STRENGTH, @SECLEVEL=n */
    for (j = start; j <= end; ++j)
      if (j == end || s[j] == '+') {
        t &= word_set(s + start, j - start, vmin);
        start = j + 1;
      }
    if (op == '!') banned |= t;
    else if (op == '-') set &= ~t;
    else if (op != '+') set |= t;
  }
  set &= ~banned;
  /* below TLS 1.2 only the SHA-1 CBC suites can be used: a list without
     any of them would leave those clients nothing */
  *n = emit(set, suites);
  if (!*n) { *err = "no cipher suite left (only ECDHE suites with AES or ChaCha20 exist here)"; return 0; }
  return 1;
}

static int version_word(const char *w, size_t len)
{
  if (word_is(w, len, "TLSv1")) return BR_TLS10;
  if (word_is(w, len, "TLSv1_1") || word_is(w, len, "TLSv11") || word_is(w, len, "TLSv1.1")) return BR_TLS11;
  if (word_is(w, len, "TLSv1_2") || word_is(w, len, "TLSv12") || word_is(w, len, "TLSv1.2")) return BR_TLS12;
  if (word_is(w, len, "SSLv23") || word_is(w, len, "ALL") || word_is(w, len, "SSLv2/3")) return 1;
  if (word_is(w, len, "SSLv2") || word_is(w, len, "SSLv3") || word_is(w, len, "TLSv1_3")
      || word_is(w, len, "TLSv13") || word_is(w, len, "TLSv1.3")) return 0;
  return -1;
}

int tls_parse_protocols(const char *s, size_t len, unsigned *min, unsigned *max, const char **err)
{
  unsigned on = 7, off = 0;     /* bit 0 TLS 1.0, 1 TLS 1.1, 2 TLS 1.2 */
  int based = 0;
  size_t i = 0;
  while (i < len) {
    size_t start, end;
    int neg = 0, v;
    while (i < len && (s[i] == ':' || s[i] == ',' || s[i] == ' ' || s[i] == '\t')) ++i;
    start = i;
    while (i < len && s[i] != ':' && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
    end = i;
    if (start == end) break;
    if (s[start] == '!' || s[start] == '-') { neg = 1; ++start; }
    v = version_word(s + start, end - start);
    if (v < 0) { *err = "an unknown protocol name (SSLv23, TLSv1, TLSv1_1, TLSv1_2 and ! before one)"; return 0; }
    if (v == 0) continue;
    if (neg) { if (v > 1) off |= 1u << (v - BR_TLS10); }
    else if (!based) { on = v == 1 ? 7 : 1u << (v - BR_TLS10); based = 1; }
    else on |= v == 1 ? 7 : 1u << (v - BR_TLS10);
  }
  on &= ~off;
  if (!on) { *err = "no protocol version left (BearSSL has TLS 1.0 to 1.2)"; return 0; }
  *min = BR_TLS10;
  while (!(on & (1u << (*min - BR_TLS10)))) ++*min;
  *max = BR_TLS12;
  while (!(on & (1u << (*max - BR_TLS10)))) --*max;
  if (*max - *min + 1 != (unsigned)((on & 1) + (on >> 1 & 1) + (on >> 2 & 1))) {
    *err = "a version left out between two others (BearSSL takes a range)";
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------------ anchors */

struct dnbuf { unsigned char *p; size_t len, cap; int bad; };

static void dn_append(void *ctx, const void *buf, size_t len)
{
  struct dnbuf *d = ctx;
  if (d->bad) return;
  if (len > d->cap - d->len) {
    size_t cap = d->cap ? d->cap * 2 : 256;
    unsigned char *p;
    while (cap - d->len < len && cap < 65536) cap *= 2;
    if (cap - d->len < len || !(p = realloc(d->p, cap))) { d->bad = 1; return; }
    d->p = p;
    d->cap = cap;
  }
  memcpy(d->p + d->len, buf, len);
  d->len += len;
}

static unsigned char *dup(const unsigned char *p, size_t len)
{
  unsigned char *q = malloc(len ? len : 1);
  if (q && len) memcpy(q, p, len);
  return q;
}

static int anchor(struct tls_anchors *a, const br_x509_certificate *c, const char **err)
{
  br_x509_decoder_context dc;
  struct dnbuf dn = { 0, 0, 0, 0 };
  const br_x509_pkey *pk;
  br_x509_trust_anchor *ta;
  if (a->n >= TLS_MAXANCHORS) { *err = "too many CA certificates"; return 0; }
  br_x509_decoder_init(&dc, dn_append, &dn);
  br_x509_decoder_push(&dc, c->data, c->data_len);
  pk = br_x509_decoder_get_pkey(&dc);
  if (!pk || br_x509_decoder_last_error(&dc) || dn.bad) {
    free(dn.p);
    *err = "a CA CERTIFICATE that is not valid X.509";
    return 0;
  }
  ta = &a->ta[a->n];
  memset(ta, 0, sizeof *ta);
  ta->dn.data = dn.p;
  ta->dn.len = dn.len;
  ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
  ta->pkey.key_type = pk->key_type;
  if (pk->key_type == BR_KEYTYPE_RSA) {
    ta->pkey.key.rsa.n = dup(pk->key.rsa.n, pk->key.rsa.nlen);
    ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
    ta->pkey.key.rsa.e = dup(pk->key.rsa.e, pk->key.rsa.elen);
    ta->pkey.key.rsa.elen = pk->key.rsa.elen;
  } else {
    ta->pkey.key.ec.curve = pk->key.ec.curve;
    ta->pkey.key.ec.q = dup(pk->key.ec.q, pk->key.ec.qlen);
    ta->pkey.key.ec.qlen = pk->key.ec.qlen;
  }
  a->n++;
  if (!dn.p || (pk->key_type == BR_KEYTYPE_RSA ? !ta->pkey.key.rsa.n || !ta->pkey.key.rsa.e : !ta->pkey.key.ec.q)) {
    *err = "out of memory";
    return 0;
  }
  return 1;
}

void tls_anchors_free(struct tls_anchors *a)
{
  size_t i;
  for (i = 0; i < a->n; ++i) {
    br_x509_trust_anchor *ta = &a->ta[i];
    free(ta->dn.data);
    if (ta->pkey.key_type == BR_KEYTYPE_RSA) { free(ta->pkey.key.rsa.n); free(ta->pkey.key.rsa.e); }
    else free(ta->pkey.key.ec.q);
  }
  a->n = 0;
}

int tls_pem_anchors(const char *pem, size_t len, struct tls_anchors *a, const char **err)
{
  struct tls_chain c;
  size_t i;
  a->n = 0;
  if (!tls_pem_chain(pem, len, &c, err)) return 0;
  for (i = 0; i < c.n; ++i)
    if (!anchor(a, &c.cert[i], err)) { tls_anchors_free(a); tls_chain_free(&c); return 0; }
  tls_chain_free(&c);
  return 1;
}

/* ------------------------------------------------------------ certificate choice */

static struct {
  const br_ssl_server_policy_class *vtable;
  br_ssl_server_context *sc;
  struct tls_cert *rsa, *ec;
  int used;
} pol;

/* SHA-256 first: the engine hashes with SHA-1, SHA-256 and SHA-384 only */
static unsigned pick_hash(uint32_t bits)
{
  static const unsigned char pref[] = { br_sha256_ID, br_sha384_ID, br_sha1_ID };
  size_t i;
  for (i = 0; i < sizeof pref; ++i)
    if (bits >> pref[i] & 1) return pref[i];
  return 0;
}

static int choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
                  br_ssl_server_choices *ch)
{
  const br_suite_translated *st;
  size_t u, n;
  uint32_t hashes = br_ssl_server_get_client_hashes(cc);
  unsigned ver = cc->eng.session.version, rh, eh;
  int rsa_ok, ec_ok;
  (void)pctx;
  st = br_ssl_server_get_client_suites(cc, &n);
  /* below TLS 1.2: MD5+SHA-1 (id 0) for RSA, SHA-1 for ECDSA */
  rh = ver < BR_TLS12 ? 0 : pick_hash(hashes & 0xFF);
  eh = ver < BR_TLS12 ? br_sha1_ID : pick_hash(hashes >> 8 & 0xFF);
  rsa_ok = pol.rsa && (ver < BR_TLS12 || rh);
  ec_ok = pol.ec && eh
          && (br_ssl_server_get_client_curves(cc) >> br_skey_decoder_get_ec(&pol.ec->key.dc)->curve & 1);
  for (u = 0; u < n; ++u) {
    unsigned kx = st[u][1] >> 12;
    struct tls_cert *c = NULL;
    if (kx == BR_SSLKEYX_ECDHE_ECDSA && ec_ok) { c = pol.ec; ch->algo_id = 0xFF00 + eh; pol.used = BR_KEYTYPE_EC; }
    else if (kx == BR_SSLKEYX_ECDHE_RSA && rsa_ok) { c = pol.rsa; ch->algo_id = 0xFF00 + rh; pol.used = BR_KEYTYPE_RSA; }
    if (c) {
      ch->cipher_suite = st[u][0];
      ch->chain = c->chain.cert;
      ch->chain_len = c->chain.n;
      return 1;
    }
  }
  return 0;
}

static uint32_t do_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len)
{
  (void)pctx; (void)data; (void)len;
  return 0;                     /* no static RSA or ECDH suites */
}

static size_t do_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id, unsigned char *data,
                      size_t hv_len, size_t len)
{
  static const unsigned char oid_sha1[] = { 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A };
  static const unsigned char oid_sha256[] = { 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
  static const unsigned char oid_sha384[] = { 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };
  unsigned char hv[64];
  size_t r = 0;
  (void)pctx;
  algo_id &= 0xFF;
  if (hv_len > sizeof hv) return 0;
  memcpy(hv, data, hv_len);
  if (pol.used == BR_KEYTYPE_RSA) {
    const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&pol.rsa->key.dc);
    const unsigned char *oid = algo_id == br_sha1_ID ? oid_sha1 : algo_id == br_sha256_ID ? oid_sha256
                               : algo_id == br_sha384_ID ? oid_sha384 : NULL;
    size_t sl = (sk->n_bitlen + 7) >> 3;
    if ((algo_id && !oid) || len < sl) return 0;
    r = br_rsa_pkcs1_sign_get_default()(oid, hv, hv_len, sk, data) ? sl : 0;
  } else if (pol.used == BR_KEYTYPE_EC) {
    const br_hash_class *hc = algo_id >= 1 && algo_id <= 6 ? br_multihash_getimpl(&pol.sc->eng.mhash, (int)algo_id) : NULL;
    if (hc && len >= 139)
      r = br_ecdsa_sign_asn1_get_default()(&tls_ec, hc, hv, br_skey_decoder_get_ec(&pol.ec->key.dc), data);
  }
  wipe(hv, sizeof hv);
  return r;
}

static const br_ssl_server_policy_class policy_class = { sizeof pol, choose, do_keyx, do_sign };

void tls_policy_install(br_ssl_server_context *sc, struct tls_cert *rsa, struct tls_cert *ec)
{
  pol.vtable = &policy_class;
  pol.sc = sc;
  pol.rsa = rsa;
  pol.ec = ec;
  pol.used = 0;
  br_ssl_server_set_policy(sc, &pol.vtable);
}

int tls_policy_used(void) { return pol.used; }

/* ------------------------------------------------------------ client certificates */

static const unsigned char oid_cn[] = { 3, 0x55, 0x04, 0x03 };

static struct {
  const br_x509_class *vtable;
  br_x509_minimal_context m;
  br_x509_decoder_context d;    /* the client's own certificate, for its key when not verified */
  br_name_element cn;
  char cnbuf[256];
  unsigned ncert, err;
  int ended;
} cx;

static void cx_start_chain(const br_x509_class **ctx, const char *server_name)
{
  (void)ctx;
  cx.ncert = 0;
  cx.err = 0;
  cx.ended = 0;
  br_x509_decoder_init(&cx.d, NULL, NULL);
  cx.m.vtable->start_chain(&cx.m.vtable, server_name);
}

static void cx_start_cert(const br_x509_class **ctx, uint32_t length)
{
  (void)ctx;
  cx.ncert++;
  cx.m.vtable->start_cert(&cx.m.vtable, length);
}

static void cx_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
  (void)ctx;
  if (cx.ncert == 1) br_x509_decoder_push(&cx.d, buf, len);
  cx.m.vtable->append(&cx.m.vtable, buf, len);
}

static void cx_end_cert(const br_x509_class **ctx)
{
  (void)ctx;
  cx.m.vtable->end_cert(&cx.m.vtable);
}

/* a certificate that does not verify does not end the handshake: the
   session goes on as without one, and the result says so */
static unsigned cx_end_chain(const br_x509_class **ctx)
{
  (void)ctx;
  cx.err = cx.m.vtable->end_chain(&cx.m.vtable);
  cx.ended = 1;
  if (!cx.ncert) return cx.err ? cx.err : BR_ERR_X509_EMPTY_CHAIN;
  if (cx.err && (br_x509_decoder_last_error(&cx.d) || !br_x509_decoder_get_pkey(&cx.d))) return cx.err;
  return 0;
}

static const br_x509_pkey *cx_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
  (void)ctx;
  if (!cx.err) return cx.m.vtable->get_pkey(&cx.m.vtable, usages);
  if (usages) *usages = BR_KEYTYPE_SIGN;
  return br_x509_decoder_get_pkey(&cx.d);
}

static const br_x509_class cx_class = {
  sizeof cx, cx_start_chain, cx_start_cert, cx_append, cx_end_cert, cx_end_chain, cx_get_pkey
};

void tls_client_auth(br_ssl_server_context *sc, const struct tls_anchors *a)
{
  br_ssl_engine_context *eng = &sc->eng;
  memset(&cx, 0, sizeof cx);
  cx.vtable = &cx_class;
  br_x509_minimal_init(&cx.m, &br_sha256_vtable, a->ta, a->n);
  br_x509_minimal_set_hash(&cx.m, br_sha1_ID, &br_sha1_vtable);
  br_x509_minimal_set_hash(&cx.m, br_sha256_ID, &br_sha256_vtable);
  br_x509_minimal_set_hash(&cx.m, br_sha384_ID, &br_sha384_vtable);
  br_x509_minimal_set_hash(&cx.m, br_sha512_ID, &br_sha512_vtable);
  br_x509_minimal_set_rsa(&cx.m, br_rsa_pkcs1_vrfy_get_default());
  br_x509_minimal_set_ecdsa(&cx.m, &tls_ec, br_ecdsa_vrfy_asn1_get_default());
  cx.cn.oid = oid_cn;
  cx.cn.buf = cx.cnbuf;
  cx.cn.len = sizeof cx.cnbuf;
  br_x509_minimal_set_name_elements(&cx.m, &cx.cn, 1);
  br_ssl_engine_set_rsavrfy(eng, br_rsa_pkcs1_vrfy_get_default());
  br_ssl_engine_set_ecdsa(eng, br_ecdsa_vrfy_asn1_get_default());
  br_ssl_engine_set_x509(eng, &cx.vtable);
  br_ssl_server_set_trust_anchor_names_alt(sc, a->ta, a->n);
  br_ssl_engine_add_flags(eng, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
}

int tls_client_result(char *subject, size_t size, int *why)
{
  size_t i, o = 0;
  *why = 0;
  if (size) subject[0] = 0;
  if (!cx.vtable || !cx.ended || !cx.ncert) return 0;
  if (cx.err) { *why = (int)cx.err; return -1; }
  /* the CN as printable ASCII, nothing a header or log line could misread */
  if (cx.cn.status > 0)
    for (i = 0; cx.cnbuf[i] && o + 1 < size && i < sizeof cx.cnbuf; ++i) {
      unsigned char c = (unsigned char)cx.cnbuf[i];
      subject[o++] = c > 32 && c < 127 && c != '(' && c != ')' && c != ';' && c != '\\' && c != '"' ? (char)c : '?';
    }
  if (size) subject[o] = 0;
  return 1;
}
