/* TLS for the session (RFC 3207, RFC 8314): which of the four ways the
   channel gets encrypted, the certificate files, the STARTTLS command and
   the reset after it.
     SSL_PROTOCOL set   sslserver already encrypts (-N -s): TLS is on
     SMTPS set          our handshake before the greeting (port 465)
     UCSPITLS + SSL*FD  STARTTLS delegated to sslserver -n (ucspitls.c)
     otherwise          STARTTLS with our engine (tls.c) when the tls
                        plugin is in the chain and a certificate exists */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fmt.h>
#include "control.h"
#include "env.h"
#include "io.h"
#include "log.h"
#include "notes.h"
#include "reply.h"
#include "session.h"
#include "tls.h"
#include "tls_cache.h"
#include "tls_pem.h"
#include "tls_policy.h"
#include "txn.h"
#include "wipe.h"

#define CERT_DEFAULT "ssl/qpsmtpd-server.crt"
#define KEY_DEFAULT  "ssl/qpsmtpd-server.key"
#define CA_DEFAULT   "ssl/qpsmtpd-ca.crt"
#define CERT2_DEFAULT "ssl/qpsmtpd-server2.crt"
#define KEY2_DEFAULT  "ssl/qpsmtpd-server2.key"
#define PEM_MAX      (1024 * 1024)
/* the names every session looks for at connect, as objects of their own:
   a string literal shared with load() would be merged into load()'s
   strings, which layout.ld keeps with the cold read-only data, and each
   plain session would then map 64 KB of it to read 23 bytes */
static const char cert_default[] = CERT_DEFAULT;
static const char cert2_default[] = CERT2_DEFAULT;
#define HANDSHAKE_TIMEOUT 30

static struct {
  int configured;
  const char *cert, *key, *ca, *cert2, *key2;  /* plugin arguments: plain paths; NULL: control files */
  int no_ca;                  /* ca "-": no client certificates */
} conf;

/* the certificates with their keys, in the order read; rsa and ec
   point to them by key type */
static struct tls_cert certs[2], *rsa, *ec;
static int ncerts;
static int ec_pending;        /* the EC key's check is still to be done */
static stralloc ec_keypath, ec_certpath;   /* then: its files, for the log */
static struct tls_anchors anchors;
static uint16_t suites[TLS_MAXSUITES];
static int offer;             /* a certificate exists: STARTTLS is offered */
static int ready;             /* certificates loaded: our engine can start TLS */
static const br_ssl_session_cache_class **cache;
static int ucspi;             /* sslserver -n can */
static int smtps;
static unsigned long hs_timeout = HANDSHAKE_TIMEOUT;

void tls_configure(const char *const *args, int n)
{
  conf.configured = 1;
  conf.cert = n > 0 ? args[0] : NULL;
  conf.key = n > 1 ? args[1] : conf.cert;
  conf.no_ca = n > 2 && !strcmp(args[2], "-");
  conf.ca = n > 2 && !conf.no_ca ? args[2] : NULL;
  conf.cert2 = n > 4 ? args[4] : NULL;
  conf.key2 = n > 5 ? args[5] : conf.cert2;
}

/* No plaintext may reach a client that expects TLS: under SMTPS a
   failure is logged and the connection closed without a word. */
static void fail(struct session *s, const char *file, const char *why)
{
  if (file) qlogm(s, LOGERROR, "tls", "TLS certificate or key ", file, ": ", why);
  else qlogm(s, LOGERROR, "tls", why);
  if (!smtps) reply_send(s, R_TLS_CONFIG);
  reply_flush_exit(s, 111);
}

/* reads a certificate or key file: a plain path, or a control file name;
   1 read (path set), 0 missing; anything else is fatal */
static int read_pem(struct session *s, const char *file, int control, stralloc *path, stralloc *sa)
{
  int fd, r;
  if (control) {
    r = control_open(s, file, path, &fd);
    if (r < 0) fail(s, path->s, strerror(errno));
    if (!r) return 0;
  } else {
    if (!stralloc_copys(path, file) || !stralloc_0(path)) die_nomem(s);
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      if (errno == ENOENT) return 0;
      fail(s, path->s, strerror(errno));
    }
  }
  sa->len = 0;
  for (;;) {
    ssize_t n;
    if (sa->len >= PEM_MAX) { close(fd); fail(s, path->s, "file too large"); }
    if (!stralloc_readyplus(sa, 8192)) die_nomem(s);
    n = read(fd, sa->s + sa->len, 8192);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      fail(s, path->s, strerror(errno));
    }
    sa->len += (size_t)n;
  }
  close(fd);
  return 1;
}

/* tls_session_cache names the file shared by every session for resumption
   (tls_cache.c), tls_session_lifetime its entries' seconds; a file that
   cannot be used is logged and the session goes on without it */
static const br_ssl_session_cache_class **open_cache(struct session *s, const struct tls_key *key)
{
  stralloc path = {0};
  const br_ssl_session_cache_class **cls = NULL;
  const char *err = NULL;
  unsigned long life = TLS_CACHE_LIFETIME;
  if (!control_readline(s, "tls_session_cache", &path) || path.len < 2) { stralloc_free(&path); return NULL; }
  control_readulong(s, "tls_session_lifetime", &life, 1, 86400);
  if (!tls_cache_open(path.s, life, key, &cls, &err)) {
    qlogm(s, LOGWARN, "tls", "TLS session cache ", path.s, ": ", err, ": no resumption");
    cls = NULL;
  }
  stralloc_free(&path);
  return cls;
}

static void set_notes(struct session *s, const char *version, const char *cipher)
{
  if (!notes_set(&s->notes, "tls_enabled", "1")) die_nomem(s);
  if (version && !notes_set(&s->notes, "tls_version", version)) die_nomem(s);
  if (cipher && !notes_set(&s->notes, "tls_cipher", cipher)) die_nomem(s);
}

static void log_started(struct session *s, const char *how)
{
  const char *v = notes_get(&s->notes, "tls_version"), *c = notes_get(&s->notes, "tls_cipher");
  const char *cc = notes_get(&s->notes, "tls_client");
  qlogm(s, LOGNOTICE, "tls", how, " ", v ? v : "?", " ", c ? c : "?", tls_cache_resumed() ? " (resumed)" : "",
        cc ? ", " : "", cc ? cc : "");
}

/* 1 if the file exists: a plain path, or a control file */
static int exists(struct session *s, const char *path, const char *def)
{
  stralloc p = {0};
  int fd, r;
  if (path) return access(path, F_OK) == 0;
  r = control_open(s, def, &p, &fd);
  if (r > 0) close(fd);
  stralloc_free(&p);
  return r != 0;
}

/* the certificate must decode and hold the key's public half */
static void key_matches(struct session *s, const struct tls_cert *c, const char *cert, const char *key)
{
  int r = tls_key_matches(&c->key, &c->chain.cert[0]);
  if (r < 0) fail(s, cert, "a CERTIFICATE that is not valid X.509");
  if (!r) fail(s, key, "the key does not belong to the certificate");
}

/* one certificate and its key into the slot of the key's type */
static int load_pair(struct session *s, const char *cert, const char *key, const char *cdef, const char *kdef)
{
  stralloc cpath = {0}, kpath = {0}, pem = {0};
  struct tls_cert *c = &certs[ncerts];
  const char *err = NULL;
  int r;
  r = read_pem(s, cert ? cert : cdef, !cert, &cpath, &pem);
  if (!r) {
    if (cert) fail(s, cpath.s, "no such file");
    stralloc_free(&cpath);
    return 0;
  }
  if (!tls_pem_chain(pem.s, pem.len, &c->chain, &err)) fail(s, cpath.s, err);
  r = read_pem(s, key ? key : kdef, !key, &kpath, &pem);
  if (!r) fail(s, key ? key : kdef, "the certificate exists but its key does not");
  r = tls_pem_key(pem.s, pem.len, &c->key, &err);
  wipe(pem.s, pem.len);
  if (!r) fail(s, kpath.s, err);
  ncerts++;
  /* an RSA key's check is cheap; an EC key's is a scalar multiplication
     (3.8 million instructions): done before the first handshake that
     needs it, unless the cache holds the record of an earlier pass */
  if (c->key.type == BR_KEYTYPE_RSA) {
    if (rsa) fail(s, kpath.s, "a second RSA key (the two certificates need an RSA and an EC key)");
    rsa = c;
    key_matches(s, c, cpath.s, kpath.s);
  } else {
    if (ec) fail(s, kpath.s, "a second EC key (the two certificates need an RSA and an EC key)");
    ec = c;
    ec_pending = 1;
    if (!stralloc_copy(&ec_keypath, &kpath) || !stralloc_copy(&ec_certpath, &cpath)) die_nomem(s);
  }
  stralloc_free(&cpath);
  stralloc_free(&kpath);
  stralloc_free(&pem);
  return 1;
}

/* tls_protocols and tls_ciphers (Perl qpsmtpd's names and syntax); 
   without them TLS 1.2 and the AEAD suites */
static void policy(struct session *s, struct tls_setup *t)
{
  stralloc line = {0};
  const char *err = NULL;
  t->vmin = t->vmax = BR_TLS12;
  if (control_readline(s, "tls_protocols", &line) && line.len > 1
      && !tls_parse_protocols(line.s, line.len - 1, &t->vmin, &t->vmax, &err))
    fail(s, "tls_protocols", err);
  t->suites = suites;
  if (control_readline(s, "tls_ciphers", &line) && line.len > 1) {
    if (!tls_parse_ciphers(line.s, line.len - 1, t->vmin, suites, &t->nsuites, &err)) fail(s, "tls_ciphers", err);
  } else t->nsuites = tls_default_suites(t->vmin, suites);
  stralloc_free(&line);
}

/* client certificates: the CA file (the plugin's third argument, "-"
   for none, or ssl/qpsmtpd-ca.crt); no file, no certificate asked for */
static const struct tls_anchors *load_ca(struct session *s)
{
  stralloc path = {0}, pem = {0};
  const char *err = NULL;
  int r;
  if (conf.no_ca) return NULL;
  r = read_pem(s, conf.ca ? conf.ca : CA_DEFAULT, !conf.ca, &path, &pem);
  if (r && !tls_pem_anchors(pem.s, pem.len, &anchors, &err)) fail(s, path.s, err);
  if (!r && conf.ca) fail(s, path.s, "no such file");
  stralloc_free(&path);
  stralloc_free(&pem);
  return r ? &anchors : NULL;
}

/* Everything TLS needs, read when a session starts TLS (STARTTLS or
   SMTPS), not at connect: 1 when a certificate is loaded, 0 when none
   exists; a bad file is fatal (421 before the 220 to STARTTLS). */
static int load(struct session *s)
{
  struct tls_setup t;
  const char *err = NULL;
  unsigned long u;
  int n = load_pair(s, conf.cert, conf.key, CERT_DEFAULT, KEY_DEFAULT);
  n += load_pair(s, conf.cert2, conf.key2, CERT2_DEFAULT, KEY2_DEFAULT);
  if (!n) return 0;
  if (control_readulong(s, "tls_handshake_timeout", &u, 1, 3600)) hs_timeout = u;
  cache = open_cache(s, &certs[0].key);
  if (ec_pending && cache) ec_pending = !tls_cache_checked(ec->chain.cert[0].data, ec->chain.cert[0].data_len);
  policy(s, &t);
  t.rsa = rsa;
  t.ec = ec;
  t.ca = load_ca(s);
  if (!tls_engine_setup(&t, cache, &err)) fail(s, NULL, err);
  return 1;
}

/* the EC key's check, before the first handshake that uses it: a key of
   another certificate is a configuration error (421), and after a pass
   the cache remembers it */
static void check_key(struct session *s)
{
  if (!ec_pending) return;
  key_matches(s, ec, ec_certpath.s, ec_keypath.s);
  if (cache) tls_cache_mark_checked(ec->chain.cert[0].data, ec->chain.cert[0].data_len);
  ec_pending = 0;
}

/* TLS is up: the notes and the log line; with client certificates
   asked for, what the client's proved */
static void started(struct session *s, const char *how)
{
  char subject[128], line[160];
  int why = 0, r;
  size_t n;
  set_notes(s, tls_engine_version(), tls_engine_cipher());
  if (anchors.n) {
    r = tls_client_result(subject, sizeof subject, &why);
    if (!notes_set(&s->notes, "tls_client_cert", r > 0 ? "verified" : r < 0 ? "failed" : "none")) die_nomem(s);
    if (r > 0 && !notes_set(&s->notes, "tls_client_subject", subject)) die_nomem(s);
    if (r > 0) {
      n = (size_t)fmt_str(line, "client CN=");
      n += fmt_str(line + n, subject);
      n += fmt_str(line + n, " verified");
    } else if (r < 0) {
      n = (size_t)fmt_str(line, "client certificate not verified (BearSSL error ");
      n += fmt_ulong(line + n, (unsigned long)why);
      n += fmt_str(line + n, ")");
    } else n = (size_t)fmt_str(line, "no client certificate");
    line[n] = 0;
    if (!notes_set(&s->notes, "tls_client", line)) die_nomem(s);
  }
  log_started(s, how);
}

/* SMTPS: the handshake before the greeting */
static void smtps_start(struct session *s)
{
  if (!conf.configured) fail(s, NULL, "SMTPS is set but the tls plugin is not in the plugins file");
  ready = load(s);
  if (!ready) fail(s, CERT_DEFAULT, "SMTPS is set but there is no certificate");
  check_key(s);
  if (!tls_engine_handshake(s, hs_timeout)) {
    qlogm(s, LOGNOTICE, "tls", "TLS handshake failed: ", tls_engine_error());
    reply_flush_exit(s, 0);
  }
  s->tls = 1;
  started(s, "SMTPS:");
}

void tls_session_start(struct session *s)
{
  const char *e = env_get("SSL_PROTOCOL");
  if (e) {                                  /* sslserver -N -s: already encrypted */
    s->tls = 1;
    set_notes(s, e, env_get("SSL_CIPHER"));
    return;
  }
  smtps = env_get("SMTPS") != NULL;
  if (smtps) { smtps_start(s); return; }
  if (!conf.configured) return;
  e = env_get("UCSPITLS");
  if (e && strcmp(e, "-") && ucspitls_available()) { ucspi = 1; return; }
  /* the files are read at STARTTLS: a session that never starts TLS
     does not pay for parsing them */
  offer = exists(s, conf.cert, cert_default) || exists(s, conf.cert2, cert2_default);
}

int tls_offer(struct session *s)
{
  return !s->tls && (offer || ucspi);
}

/* RFC 3207 4.2: forget everything the client said before TLS */
static void reset_after_tls(struct session *s)
{
  s->hello = 0;
  s->hello_host.len = 0;
  s->authenticated = 0;
  /* what an AUTH before TLS tried; failures still count toward the limit */
  s->auth_tried = 0;
  s->auth_user.len = 0;
  notes_set(&s->notes, "auth_user", NULL);
  notes_set(&s->notes, "auth_mechanism", NULL);
  s->relay_client = s->relay_at_connect;
  txn_reset(s);
}

void tls_starttls(struct session *s, const char *arg, size_t len)
{
  size_t pending;
  /* TLS on already, or a transaction open: smtp.c's command table */
  if (len) { reply_send(s, R_NO_PARAMS); return; }
  if (!tls_offer(s)) { reply_send(s, R_TLS_UNAVAILABLE); return; }
  /* before our 220: after it, no plaintext */
  if (!ucspi) {
    if (!ready && !(ready = load(s))) { reply_send(s, R_TLS_UNAVAILABLE); return; }
    check_key(s);
  }
  reply_send(s, R_TLS_READY);
  if (buffer_flush(s->out) == -1) reply_flush_exit(s, 0);
  /* CVE-2011-0411: what the client sent after STARTTLS, before the
     handshake, is plaintext anyone could have injected */
  pending = io_discard_input();
  if (pending) {
    char num[24];
    num[fmt_ulong(num, pending)] = 0;
    qlogm(s, LOGNOTICE, "tls", "discarded ", num, " bytes pipelined after STARTTLS");
  }
  if (ucspi) {
    const char *err = NULL;
    unsigned long u;
    if (control_readulong(s, "tls_handshake_timeout", &u, 1, 3600)) hs_timeout = u;
    if (!ucspitls_start(s, hs_timeout, &err)) {
      qlogm(s, LOGNOTICE, "tls", "TLS handshake failed: ", err);
      reply_flush_exit(s, 0);
    }
  } else {
    if (!tls_engine_handshake(s, hs_timeout)) {
      qlogm(s, LOGNOTICE, "tls", "TLS handshake failed: ", tls_engine_error());
      reply_flush_exit(s, 0);
    }
  }
  s->tls = 1;
  if (!notes_set(&s->notes, "tls_enabled", "1")) die_nomem(s);
  reset_after_tls(s);
  if (ucspi) log_started(s, "STARTTLS:");
  else started(s, "STARTTLS:");
}
