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
#include "txn.h"
#include "wipe.h"

#define CERT_DEFAULT "ssl/qpsmtpd-server.crt"
#define KEY_DEFAULT  "ssl/qpsmtpd-server.key"
#define PEM_MAX      (1024 * 1024)
#define HANDSHAKE_TIMEOUT 30

static struct {
  int configured;
  const char *cert, *key;     /* plugin arguments: plain paths; NULL: control files */
} conf;

static struct tls_chain chain;
static struct tls_key key;
static int ready;             /* our engine can start TLS */
static int key_pending;       /* the EC key's check is still to be done */
static stralloc keypath;      /* then: the key file, for the log */
static const br_ssl_session_cache_class **cache;
static int ucspi;             /* sslserver -n can */
static int smtps;
static unsigned long hs_timeout = HANDSHAKE_TIMEOUT;

void tls_configure(const char *cert, const char *key_)
{
  conf.configured = 1;
  conf.cert = cert;
  conf.key = key_;
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
static const br_ssl_session_cache_class **open_cache(struct session *s)
{
  stralloc path = {0};
  const br_ssl_session_cache_class **cls = NULL;
  const char *err = NULL;
  unsigned long life = TLS_CACHE_LIFETIME;
  if (!control_readline(s, "tls_session_cache", &path) || path.len < 2) { stralloc_free(&path); return NULL; }
  control_readulong(s, "tls_session_lifetime", &life, 1, 86400);
  if (!tls_cache_open(path.s, life, &key, &cls, &err)) {
    qlogm(s, LOGWARN, "tls", "TLS session cache ", path.s, ": ", err, ": no resumption");
    cls = NULL;
  }
  stralloc_free(&path);
  return cls;
}

/* 1 when a certificate is configured and loaded, 0 when there is none */
static int load(struct session *s)
{
  stralloc cpath = {0}, kpath = {0}, pem = {0};
  const char *err = NULL;
  int r;
  r = read_pem(s, conf.cert ? conf.cert : CERT_DEFAULT, !conf.cert, &cpath, &pem);
  if (!r) {
    if (conf.cert) fail(s, cpath.s, "no such file");
    stralloc_free(&cpath);
    return 0;
  }
  if (!tls_pem_chain(pem.s, pem.len, &chain, &err)) fail(s, cpath.s, err);
  r = read_pem(s, conf.key ? conf.key : KEY_DEFAULT, !conf.key, &kpath, &pem);
  if (!r) fail(s, conf.key ? conf.key : KEY_DEFAULT, "the certificate exists but its key does not");
  r = tls_pem_key(pem.s, pem.len, &key, &err);
  wipe(pem.s, pem.len);
  if (!r) fail(s, kpath.s, err);
  cache = open_cache(s);
  /* an RSA key's check is cheap; an EC key's is a scalar multiplication
     (3.8 million instructions): done before the first handshake that
     needs it, unless the cache holds the record of an earlier pass */
  if (key.type == BR_KEYTYPE_RSA || !cache) {
    if (key.type == BR_KEYTYPE_RSA && !tls_key_matches(&key, &chain.cert[0]))
      fail(s, kpath.s, "the key does not belong to the certificate");
    key_pending = key.type != BR_KEYTYPE_RSA;
  } else key_pending = !tls_cache_checked(chain.cert[0].data, chain.cert[0].data_len);
  if (key_pending && !stralloc_copy(&keypath, &kpath)) die_nomem(s);
  if (!tls_engine_setup(&chain, &key, cache, &err)) fail(s, kpath.s, err);
  stralloc_free(&cpath);
  stralloc_free(&kpath);
  stralloc_free(&pem);
  return 1;
}

/* the EC key's check, before the first handshake that uses it: a key of
   another certificate is a configuration error (421), and after a pass
   the cache remembers it */
static void check_key(struct session *s)
{
  if (!key_pending) return;
  if (!tls_key_matches(&key, &chain.cert[0])) fail(s, keypath.s, "the key does not belong to the certificate");
  if (cache) tls_cache_mark_checked(chain.cert[0].data, chain.cert[0].data_len);
  key_pending = 0;
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
  qlogm(s, LOGNOTICE, "tls", how, " ", v ? v : "?", " ", c ? c : "?", tls_cache_resumed() ? " (resumed)" : "");
}

void tls_session_start(struct session *s)
{
  const char *e = env_get("SSL_PROTOCOL");
  unsigned long u;
  if (e) {                                  /* sslserver -N -s: already encrypted */
    s->tls = 1;
    set_notes(s, e, env_get("SSL_CIPHER"));
    return;
  }
  smtps = env_get("SMTPS") != NULL;
  if (!conf.configured) {
    if (smtps) fail(s, NULL, "SMTPS is set but the tls plugin is not in the plugins file");
    return;
  }
  e = env_get("UCSPITLS");
  if (!smtps && e && strcmp(e, "-") && ucspitls_available()) ucspi = 1;
  else ready = load(s);
  if (!ready && !ucspi && !smtps) return;     /* no TLS: nothing more to read */
  if (control_readulong(s, "tls_handshake_timeout", &u, 1, 3600)) hs_timeout = u;
  if (!smtps) return;
  if (!ready) fail(s, CERT_DEFAULT, "SMTPS is set but there is no certificate");
  check_key(s);
  if (!tls_engine_handshake(s, hs_timeout)) {
    qlogm(s, LOGNOTICE, "tls", "TLS handshake failed: ", tls_engine_error());
    reply_flush_exit(s, 0);
  }
  s->tls = 1;
  set_notes(s, tls_engine_version(), tls_engine_cipher());
  log_started(s, "SMTPS:");
}

int tls_offer(struct session *s)
{
  return !s->tls && (ready || ucspi);
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
  if (!ucspi) check_key(s);     /* before our 220: after it, no plaintext */
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
    if (!ucspitls_start(s, hs_timeout, &err)) {
      qlogm(s, LOGNOTICE, "tls", "TLS handshake failed: ", err);
      reply_flush_exit(s, 0);
    }
  } else {
    if (!tls_engine_handshake(s, hs_timeout)) {
      qlogm(s, LOGNOTICE, "tls", "TLS handshake failed: ", tls_engine_error());
      reply_flush_exit(s, 0);
    }
    set_notes(s, tls_engine_version(), tls_engine_cipher());
  }
  s->tls = 1;
  if (!notes_set(&s->notes, "tls_enabled", "1")) die_nomem(s);
  reset_after_tls(s);
  log_started(s, "STARTTLS:");
}
