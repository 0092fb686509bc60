/* The TLS server's policy (tls_policy.c): which protocol versions and
   cipher suites (the control files tls_protocols and tls_ciphers, in the
   OpenSSL syntax Perl qpsmtpd's tls plugin passes to IO::Socket::SSL),
   which of two certificates a client gets (RSA or ECDSA, by the suites
   and signature algorithms it offers), and client certificates checked
   against a CA file. The parsers are pure functions over bytes. */
#ifndef TLS_POLICY_H
#define TLS_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include "tls_pem.h"

#define TLS_MAXSUITES 16
#define TLS_MAXANCHORS 64

/* tls_protocols: "SSLv23:!SSLv2:!SSLv3:!TLSv1" and the like. A plain
   name sets the base (SSLv23 or ALL: every version; TLSv1, TLSv1_1 or
   TLSv1.1, TLSv1_2 or TLSv1.2: that one only), "!name" takes one out;
   without a base every version is the base. BearSSL has TLS 1.0 to 1.2:
   SSLv2, SSLv3 and TLSv1_3 are accepted and have no effect. The result
   is the range *min..*max (BR_TLS10..BR_TLS12); versions left out in the
   middle of it are an error, as is an empty range. 1, or 0 with *err. */
int tls_parse_protocols(const char *s, size_t len, unsigned *min, unsigned *max, const char **err);

/* tls_ciphers: OpenSSL cipher-list words separated by ':', ',' or
   blanks, over the suites BearSSL has with forward secrecy (ECDHE): a
   suite's OpenSSL name, or a word naming a group (ALL, DEFAULT, HIGH,
   ECDHE, EECDH, aRSA, aECDSA, AESGCM, AES, AES128, AES256, CHACHA20,
   SHA1, SHA256, SHA384, CBC, AEAD), words joined by '+' for the suites
   in all of them; "!" or "-" before a word takes its suites out. Words
   naming nothing we have (kRSA, DHE, MEDIUM, @STRENGTH) are ignored.
   The suites are kept in the server's own order (AEAD first). vmin:
   below TLS 1.2 only the CBC suites work, so DEFAULT and HIGH include
   them then. 1 with the list in suites, 0 when no suite is left. */
int tls_parse_ciphers(const char *s, size_t len, unsigned vmin, uint16_t *suites, size_t *n, const char **err);
/* the default list: s NULL */
size_t tls_default_suites(unsigned vmin, uint16_t *suites);
const char *tls_suite_name(uint16_t id);

/* Trust anchors (CA certificates) from PEM text, for client
   certificates: every CERTIFICATE object. 1, or 0 with *err; memory is
   malloc'ed (tls_anchors_free). */
struct tls_anchors {
  br_x509_trust_anchor ta[TLS_MAXANCHORS];
  size_t n;
};
int tls_pem_anchors(const char *pem, size_t len, struct tls_anchors *a, const char **err);
void tls_anchors_free(struct tls_anchors *a);

/* The server's certificates: one RSA and one EC at most. */
struct tls_cert {
  struct tls_chain chain;
  struct tls_key key;
};

/* Installs the policy that chooses between the certificates (either may
   be NULL, not both) on sc: for every suite the client offers, in the
   server's order, the first whose key exchange a certificate can sign,
   with the client's strongest hash (SHA-256 before SHA-384, SHA-512,
   SHA-224; SHA-1 only when the client offers nothing else; MD5+SHA-1 for
   RSA and SHA-1 for ECDSA below TLS 1.2, as the protocol says). An ECDSA
   certificate is chosen only when the client names its curve. */
void tls_policy_install(br_ssl_server_context *sc, struct tls_cert *rsa, struct tls_cert *ec);
/* which certificate the last handshake used: BR_KEYTYPE_RSA, _EC, 0 */
int tls_policy_used(void);

/* Client certificates: the engine asks for one, naming the anchors, and
   checks it with BearSSL's X.509 validator (chain to an anchor, dates,
   signatures); a client without one, or whose certificate does not
   verify, goes on unauthenticated (the handshake still proves that it
   holds the key of what it sent). */
void tls_client_auth(br_ssl_server_context *sc, const struct tls_anchors *a);
/* after the handshake: 0 no certificate, 1 verified, -1 failed; subject
   gets the verified certificate's CN (printable ASCII only, at most
   size-1 bytes) and why a failure's BearSSL error code */
int tls_client_result(char *subject, size_t size, int *why);

#endif
