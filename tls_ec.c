/* tls_ec (tls_ec.h): an br_ec_impl that sends curve25519 to libsodium and
   every other curve to BearSSL's br_ec_all_m31.

   BearSSL gives an X25519 scalar in big-endian order (c25519_m31.c clamps
   k[31] & 0xF8 and k[0]), RFC 7748 and libsodium in little-endian order:
   the bytes are reversed. Points are the RFC's 32-byte little-endian
   u-coordinate in both. libsodium refuses a result of all zeros (a
   low-order point from the peer): so does BearSSL's mul, returning 0. */
#include <string.h>
#include <sodium.h>
#include "tls_ec.h"
#include "wipe.h"

/* sodium_init is not called: it links every implementation libsodium
   has (the binary doubled) to choose among them; without it X25519 is
   libsodium's portable ref10 code */
static int sodium_ready(void) { return 1; }

/* x (big-endian, xlen <= 32) as RFC 7748's little-endian scalar */
static int scalar(unsigned char n[32], const unsigned char *x, size_t xlen)
{
  size_t i;
  if (xlen > 32) return 0;
  memset(n, 0, 32);
  for (i = 0; i < xlen; ++i) n[i] = x[xlen - 1 - i];
  return 1;
}

static const unsigned char *gen(int curve, size_t *len)
{
  return br_ec_all_m31.generator(curve, len);
}

static const unsigned char *order(int curve, size_t *len)
{
  return br_ec_all_m31.order(curve, len);
}

static size_t xoff(int curve, size_t *len)
{
  return br_ec_all_m31.xoff(curve, len);
}

static uint32_t mul(unsigned char *G, size_t Glen, const unsigned char *x, size_t xlen, int curve)
{
  unsigned char n[32], q[32];
  uint32_t ok;
  if (curve != BR_EC_curve25519 || !sodium_ready()) return br_ec_all_m31.mul(G, Glen, x, xlen, curve);
  if (Glen != 32 || !scalar(n, x, xlen)) return 0;
  G[31] &= 0x7F;                        /* RFC 7748 5: the top bit is ignored */
  ok = crypto_scalarmult_curve25519(q, n, G) == 0;
  if (ok) memcpy(G, q, 32);
  wipe(n, sizeof n);
  wipe(q, sizeof q);
  return ok;
}

static size_t mulgen(unsigned char *R, const unsigned char *x, size_t xlen, int curve)
{
  unsigned char n[32];
  if (curve != BR_EC_curve25519 || !sodium_ready()) return br_ec_all_m31.mulgen(R, x, xlen, curve);
  if (!scalar(n, x, xlen)) return 0;
  if (crypto_scalarmult_curve25519_base(R, n) != 0) { wipe(n, sizeof n); return 0; }
  wipe(n, sizeof n);
  return 32;
}

static uint32_t muladd(unsigned char *A, const unsigned char *B, size_t len, const unsigned char *x,
                       size_t xlen, const unsigned char *y, size_t ylen, int curve)
{
  return br_ec_all_m31.muladd(A, B, len, x, xlen, y, ylen, curve);
}

const br_ec_impl tls_ec = {
  (uint32_t)1 << BR_EC_secp256r1 | (uint32_t)1 << BR_EC_secp384r1 | (uint32_t)1 << BR_EC_secp521r1
    | (uint32_t)1 << BR_EC_curve25519,
  gen, order, xoff, mul, mulgen, muladd
};
