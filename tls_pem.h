/* Certificate chains and private keys from PEM text: pure functions over
   bytes, no I/O, so that a test or a fuzzer can call them directly. */
#ifndef TLS_PEM_H
#define TLS_PEM_H

#include <stddef.h>
#include <bearssl.h>

#define TLS_PEM_MAXCERTS 16           /* certificates in one chain */
#define TLS_PEM_MAXOBJ   (64 * 1024)  /* decoded bytes of one PEM object */

struct tls_chain {
  br_x509_certificate cert[TLS_PEM_MAXCERTS];
  size_t n;
};

struct tls_key {
  int type;                           /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC, 0 none */
  br_skey_decoder_context dc;         /* holds the key's bytes */
  unsigned char pub[BR_EC_KBUF_PUB_MAX_SIZE]; /* an EC key's public point, when the file has it */
  size_t publen;                      /* 0: not in the file */
};

/* Every CERTIFICATE object of pem, in order (the server's own first).
   Returns 1, or 0 with a reason in *err; the chain's memory is malloc'ed
   (tls_chain_free). Other objects (keys) are skipped. Every certificate
   but the first is checked to decode as X.509; the first is decoded by
   tls_key_matches. */
int tls_pem_chain(const char *pem, size_t len, struct tls_chain *c, const char **err);
void tls_chain_free(struct tls_chain *c);

/* The one private key of pem ("RSA PRIVATE KEY", "EC PRIVATE KEY" or
   PKCS#8 "PRIVATE KEY"); certificates in the same text are skipped.
   Returns 1, or 0 with a reason in *err. Every intermediate copy of the
   key is wiped. */
int tls_pem_key(const char *pem, size_t len, struct tls_key *k, const char **err);
void tls_key_wipe(struct tls_key *k);

/* 1 if the certificate's public key belongs to the private key, 0 if
   not, -1 if the certificate is not valid X.509. An EC
   key file written by OpenSSL (SEC1 or PKCS#8) holds the public point
   beside the private scalar: then the two points are compared, else the
   point is computed from the scalar (a P-256 multiplication, 3.8 million
   instructions). Either way a key of another certificate is found; a
   file whose point does not belong to its own scalar (written by hand)
   makes clients refuse our signature instead. */
int tls_key_matches(const struct tls_key *k, const br_x509_certificate *cert);


#endif
