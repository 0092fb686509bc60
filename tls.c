/* The BearSSL server engine under the io buffers: once the handshake is
   done, io.c's read and write ops call tls_read and tls_write, which run
   the engine over fd 0 and 1 with the same deadlines as plain text.
   TLS 1.2 (BearSSL's ceiling; 1.0 and 1.1 when tls_protocols says so),
   ECDHE only, the server's order (tls_policy.c), no renegotiation. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <bearssl.h>
#include <fmt.h>
#include "io.h"
#include "log.h"
#include "session.h"
#include "tls.h"
#include "tls_ec.h"
#include "tls_pem.h"
#include "tls_policy.h"
#include "wipe.h"

static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
static struct tls_cert *certs[2];
static struct session *ts;       /* for log lines and deadlines */
static int on;                    /* handshake done, io goes through us */
static const char *why;           /* the last failure */
static char whybuf[64];

static const struct { int code; const char *name; } err_names[] = {
  { BR_ERR_BAD_PARAM, "BR_ERR_BAD_PARAM" }, { BR_ERR_BAD_STATE, "BR_ERR_BAD_STATE" },
  { BR_ERR_UNSUPPORTED_VERSION, "BR_ERR_UNSUPPORTED_VERSION (client offers no TLS 1.2)" },
  { BR_ERR_BAD_VERSION, "BR_ERR_BAD_VERSION" }, { BR_ERR_BAD_LENGTH, "BR_ERR_BAD_LENGTH (not TLS)" },
  { BR_ERR_TOO_LARGE, "BR_ERR_TOO_LARGE" }, { BR_ERR_BAD_MAC, "BR_ERR_BAD_MAC" },
  { BR_ERR_NO_RANDOM, "BR_ERR_NO_RANDOM" }, { BR_ERR_UNKNOWN_TYPE, "BR_ERR_UNKNOWN_TYPE (not TLS)" },
  { BR_ERR_UNEXPECTED, "BR_ERR_UNEXPECTED" }, { BR_ERR_BAD_CCS, "BR_ERR_BAD_CCS" },
  { BR_ERR_BAD_ALERT, "BR_ERR_BAD_ALERT" }, { BR_ERR_BAD_HANDSHAKE, "BR_ERR_BAD_HANDSHAKE" },
  { BR_ERR_OVERSIZED_ID, "BR_ERR_OVERSIZED_ID" },
  { BR_ERR_BAD_CIPHER_SUITE, "BR_ERR_BAD_CIPHER_SUITE (no common forward-secret AEAD suite)" },
  { BR_ERR_BAD_COMPRESSION, "BR_ERR_BAD_COMPRESSION" }, { BR_ERR_BAD_FRAGLEN, "BR_ERR_BAD_FRAGLEN" },
  { BR_ERR_BAD_SECRENEG, "BR_ERR_BAD_SECRENEG" }, { BR_ERR_EXTRA_EXTENSION, "BR_ERR_EXTRA_EXTENSION" },
  { BR_ERR_BAD_SNI, "BR_ERR_BAD_SNI" }, { BR_ERR_BAD_HELLO_DONE, "BR_ERR_BAD_HELLO_DONE" },
  { BR_ERR_LIMIT_EXCEEDED, "BR_ERR_LIMIT_EXCEEDED" }, { BR_ERR_BAD_FINISHED, "BR_ERR_BAD_FINISHED" },
  { BR_ERR_RESUME_MISMATCH, "BR_ERR_RESUME_MISMATCH" },
  { BR_ERR_INVALID_ALGORITHM, "BR_ERR_INVALID_ALGORITHM" },
  { BR_ERR_BAD_SIGNATURE, "BR_ERR_BAD_SIGNATURE" }, { BR_ERR_WRONG_KEY_USAGE, "BR_ERR_WRONG_KEY_USAGE" },
  { BR_ERR_NO_CLIENT_AUTH, "BR_ERR_NO_CLIENT_AUTH" }, { BR_ERR_IO, "BR_ERR_IO" },
};

static const struct { int code; const char *name; } alert_names[] = {
  { 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
  { 40, "handshake_failure" }, { 42, "bad_certificate" }, { 43, "unsupported_certificate" },
  { 44, "certificate_revoked" }, { 45, "certificate_expired" }, { 46, "certificate_unknown" },
  { 47, "illegal_parameter" }, { 48, "unknown_ca" }, { 50, "decode_error" },
  { 51, "decrypt_error" }, { 70, "protocol_version" }, { 71, "insufficient_security" },
  { 80, "internal_error" }, { 86, "inappropriate_fallback" }, { 90, "user_canceled" },
  { 100, "no_renegotiation" }, { 110, "unsupported_extension" }, { 112, "unrecognized_name" },
};

static const char *alert_name(int a)
{
  size_t i;
  for (i = 0; i < sizeof alert_names / sizeof alert_names[0]; ++i)
    if (alert_names[i].code == a) return alert_names[i].name;
  return "unknown alert";
}

/* BearSSL's error code as a name */
static const char *err_name(int e)
{
  size_t i, n;
  if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT) {
    n = (size_t)fmt_str(whybuf, "BR_ERR_RECV_FATAL_ALERT (client sent ");
    n += fmt_str(whybuf + n, alert_name(e - BR_ERR_RECV_FATAL_ALERT));
    n += fmt_str(whybuf + n, ")");
    whybuf[n] = 0;
    return whybuf;
  }
  if (e >= BR_ERR_SEND_FATAL_ALERT) {
    n = (size_t)fmt_str(whybuf, "BR_ERR_SEND_FATAL_ALERT (");
    n += fmt_str(whybuf + n, alert_name(e - BR_ERR_SEND_FATAL_ALERT));
    n += fmt_str(whybuf + n, ")");
    whybuf[n] = 0;
    return whybuf;
  }
  for (i = 0; i < sizeof err_names / sizeof err_names[0]; ++i)
    if (err_names[i].code == e) return err_names[i].name;
  n = (size_t)fmt_str(whybuf, "BearSSL error ");
  n += fmt_ulong(whybuf + n, (unsigned long)e);
  whybuf[n] = 0;
  return whybuf;
}

const char *tls_engine_error(void) { return why ? why : "unknown"; }

const char *tls_engine_version(void)
{
  switch (br_ssl_engine_get_version(&sc.eng)) {
  case BR_TLS12: return "TLSv1.2";
  case BR_TLS11: return "TLSv1.1";
  case BR_TLS10: return "TLSv1";
  }
  return "TLS";
}

const char *tls_engine_cipher(void)
{
  br_ssl_session_parameters pp;
  /* the public accessor copies the master secret too: wiped at once */
  br_ssl_engine_get_session_parameters(&sc.eng, &pp);
  wipe(pp.master_secret, sizeof pp.master_secret);
  return tls_suite_name(pp.cipher_suite);
}

int tls_engine_setup(const struct tls_setup *t, const br_ssl_session_cache_class **cache, const char **err)
{
  br_ssl_engine_context *eng = &sc.eng;
  br_ssl_server_zero(&sc);
  br_ssl_engine_set_versions(eng, t->vmin, t->vmax);
  br_ssl_engine_set_suites(eng, t->suites, t->nsuites);
  br_ssl_engine_set_ec(eng, &tls_ec);
  /* the engine hashes every handshake message with each hash it has:
     SHA-224 and SHA-512 are never worth it (SHA-256 and SHA-384 are the
     PRFs' and every client's signature hashes; SHA-1 for clients that
     name none, MD5 and SHA-1 for TLS 1.0 and 1.1) */
  if (t->vmin < BR_TLS12) {
    br_ssl_engine_set_hash(eng, br_md5_ID, &br_md5_vtable);
    br_ssl_engine_set_prf10(eng, &br_tls10_prf);
  }
  br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
  br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
  br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
  br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
  br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
  br_ssl_engine_set_default_aes_gcm(eng);
  br_ssl_engine_set_default_chapol(eng);
  br_ssl_engine_set_default_aes_cbc(eng);
  certs[0] = t->rsa;
  certs[1] = t->ec;
  tls_policy_install(&sc, t->rsa, t->ec);
  if (t->ca) tls_client_auth(&sc, t->ca);
  if (cache) br_ssl_server_set_cache(&sc, cache);
  br_ssl_engine_set_buffer(eng, iobuf, sizeof iobuf, 1);
  br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
  if (!br_ssl_server_reset(&sc)) { *err = err_name(br_ssl_engine_last_error(eng)); return 0; }
  return 1;
}

/* Runs the engine until a state in want is there, records first. Returns
   the state, 0 at a clean close or EOF, -1 on error (why says which;
   errno is ETIMEDOUT after a deadline). */
static int pump(unsigned want)
{
  br_ssl_engine_context *eng = &sc.eng;
  for (;;) {
    unsigned st = br_ssl_engine_current_state(eng);
    unsigned char *b;
    size_t len;
    ssize_t r;
    if (st & BR_SSL_CLOSED) {
      int e = br_ssl_engine_last_error(eng);
      if (e == BR_ERR_OK) return 0;
      why = err_name(e);
      errno = EPROTO;
      return -1;
    }
    if (st & BR_SSL_SENDREC) {
      b = br_ssl_engine_sendrec_buf(eng, &len);
      r = io_raw_write(1, (char *)b, len);
      if (r <= 0) {
        why = errno == ETIMEDOUT ? "timeout writing to the client" : "write error";
        return -1;
      }
      br_ssl_engine_sendrec_ack(eng, (size_t)r);
      continue;
    }
    if (st & want) return (int)st;
    if (st & BR_SSL_RECVREC) {
      b = br_ssl_engine_recvrec_buf(eng, &len);
      r = io_raw_read(0, (char *)b, len);
      if (r == 0) { why = "the client closed the connection"; return 0; }
      if (r < 0) {
        why = errno == ETIMEDOUT ? "timeout" : "read error";
        return -1;
      }
      br_ssl_engine_recvrec_ack(eng, (size_t)r);
      continue;
    }
    why = "TLS engine stalled";
    errno = EPROTO;
    return -1;
  }
}

static ssize_t tls_read(char *buf, size_t len)
{
  br_ssl_engine_context *eng = &sc.eng;
  unsigned char *b;
  size_t alen;
  int st = pump(BR_SSL_RECVAPP);
  if (st <= 0) {
    if (st < 0 && errno != ETIMEDOUT) qlogm(ts, LOGNOTICE, "tls", "TLS error: ", why);
    return st;
  }
  b = br_ssl_engine_recvapp_buf(eng, &alen);
  if (alen > len) alen = len;
  memcpy(buf, b, alen);
  br_ssl_engine_recvapp_ack(eng, alen);
  return (ssize_t)alen;
}

/* writes everything, then flushes the records out */
static ssize_t tls_write(const char *buf, size_t len)
{
  br_ssl_engine_context *eng = &sc.eng;
  size_t done = 0;
  while (done < len) {
    unsigned char *b;
    size_t alen;
    int st = pump(BR_SSL_SENDAPP);
    if (st <= 0) { if (!st) errno = EPIPE; return -1; }
    b = br_ssl_engine_sendapp_buf(eng, &alen);
    if (alen > len - done) alen = len - done;
    memcpy(b, buf + done, alen);
    br_ssl_engine_sendapp_ack(eng, alen);
    done += alen;
  }
  br_ssl_engine_flush(eng, 0);
  while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
    unsigned char *b;
    size_t rlen;
    ssize_t r;
    b = br_ssl_engine_sendrec_buf(eng, &rlen);
    r = io_raw_write(1, (char *)b, rlen);
    if (r <= 0) return -1;
    br_ssl_engine_sendrec_ack(eng, (size_t)r);
  }
  return (ssize_t)len;
}

int tls_engine_handshake(struct session *s, unsigned long seconds)
{
  int st, one = 1;
  long long saved = s->deadline;
  ts = s;
  io_set_deadline(s, seconds);
  /* The engine sends some flights as several records, one write each (its
     ChangeCipherSpec, then its Finished): under Nagle's algorithm the
     second waits for the client's ACK of the first, which the client
     delays (40 ms or more) since it waits for the Finished before saying
     anything. Every write of ours is a whole flight or reply, so none
     needs holding back. Not a socket (sslserver's pipes): nothing to do. */
  setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  st = pump(BR_SSL_SENDAPP);
  s->deadline = saved;
  /* the keys are needed for the handshake only (no renegotiation) */
  if (certs[0]) tls_key_wipe(&certs[0]->key);
  if (certs[1]) tls_key_wipe(&certs[1]->key);
  if (st <= 0) {
    if (!st && !why) why = "the client closed the connection";
    if (st < 0 && errno == ETIMEDOUT) why = "handshake timed out";
    return 0;
  }
  on = 1;
  io_tls_read = tls_read;
  io_tls_write = tls_write;
  return 1;
}

void tls_engine_close(void)
{
  br_ssl_engine_context *eng = &sc.eng;
  if (!on) return;
  on = 0;
  io_tls_read = NULL;
  io_tls_write = NULL;
  br_ssl_engine_close(eng);
  io_set_deadline(ts, 2);
  /* close_notify out, a short while at most; the peer's is not awaited */
  while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
    size_t len;
    unsigned char *b = br_ssl_engine_sendrec_buf(eng, &len);
    ssize_t r = io_raw_write(1, (char *)b, len);
    if (r <= 0) break;
    br_ssl_engine_sendrec_ack(eng, (size_t)r);
  }
}
