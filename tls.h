/* TLS for the session: the tls plugin's configuration, STARTTLS, implicit
   TLS (SMTPS), sslserver and UCSPI-TLS (starttls.c), the BearSSL engine
   under the io buffers (tls.c), UCSPI-TLS delegation (ucspitls.c). */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>

struct session;
struct tls_chain;
struct tls_key;
struct tls_cert;
struct tls_anchors;
struct br_ssl_session_cache_class_;

/* starttls.c. The tls plugin's init passes its arguments (cert key ca
   dhparam cert2 key2, all optional: the control files under ssl/ stand
   for those missing); without this call the session never offers TLS. */
void tls_configure(const char *const *args, int n);
/* before the connect hooks: reads the certificate and key, or notes that
   sslserver already encrypts, or runs the SMTPS handshake */
void tls_session_start(struct session *s);
/* 1 if STARTTLS may be offered now */
int tls_offer(struct session *s);
/* the STARTTLS command; arg is the rest of the line */
void tls_starttls(struct session *s, const char *arg, size_t len);

/* tls.c: the engine. setup takes the certificates and keys (kept by
   reference, the keys wiped after the handshake), the policy, and a session cache (tls_cache.h) or NULL; handshake returns 1 when TLS
   is up on fd 0/1 (the io buffers then go through it), 0 with the reason
   in tls_engine_error() */
struct tls_setup {
  struct tls_cert *rsa, *ec;            /* either may be NULL, not both */
  unsigned vmin, vmax;                  /* BR_TLS10..BR_TLS12 */
  const uint16_t *suites;
  size_t nsuites;
  const struct tls_anchors *ca;         /* client certificates: NULL none */
};
int tls_engine_setup(const struct tls_setup *t, const struct br_ssl_session_cache_class_ **cache, const char **err);
int tls_engine_handshake(struct session *s, unsigned long seconds);
const char *tls_engine_error(void);
const char *tls_engine_version(void);
const char *tls_engine_cipher(void);
/* sends close_notify if TLS is on (at exit) */
void tls_engine_close(void);

/* ucspitls.c: 1 when sslserver -n handed us the UCSPI-TLS descriptors */
int ucspitls_available(void);
/* asks sslserver for TLS; 1 when fd 0/1 are the decrypted pipes, 0 with
   a reason in *err */
int ucspitls_start(struct session *s, unsigned long seconds, const char **err);

#endif
