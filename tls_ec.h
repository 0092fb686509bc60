/* The elliptic-curve code the TLS engine uses (tls_ec.c). */
#ifndef TLS_EC_H
#define TLS_EC_H

#include <bearssl.h>

/* BearSSL's 32-bit code for P-256, P-384 and P-521, and libsodium's
   X25519 for curve25519: Debian's BearSSL 0.6 has no 64-bit EC code, and
   its X25519 (c25519_m31) took 3.7 of a STARTTLS session's 16.7 million
   instructions */
extern const br_ec_impl tls_ec;

#endif
