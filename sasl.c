/* SASL message formats for SMTP AUTH; see sasl.h. Every function here is
   pure: bytes in, bytes out. */
#include <string.h>
#include <bearssl.h>
#include "base64.h"
#include "sasl.h"
#include "wipe.h"

long sasl_b64decode(const char *in, size_t len, unsigned char *out, size_t max)
{
  size_t pad = 0, outlen, i, o = 0;
  if (len % 4) return -1;
  if (!len) return 0;
  if (in[len - 1] == '=') ++pad;
  if (in[len - 2] == '=') ++pad;
  outlen = len / 4 * 3 - pad;
  if (outlen > max) return -1;
  for (i = 0; i < len; i += 4) {
    int v[4], k, n = (i + 4 == len) ? 4 - (int)pad : 4;
    unsigned long q = 0;
    for (k = 0; k < 4; ++k) {
      if (k >= n) {
        if (in[i + k] != '=') return -1;
        v[k] = 0;
      } else if ((v[k] = base64_val((unsigned char)in[i + k])) < 0) return -1;
      q = (q << 6) | (unsigned long)v[k];
    }
    /* the bits after the last octet must be zero (RFC 4648 3.5) */
    if (n == 3 && (v[2] & 3)) return -1;
    if (n == 2 && (v[1] & 15)) return -1;
    out[o++] = (unsigned char)(q >> 16);
    if (n > 2) out[o++] = (unsigned char)(q >> 8);
    if (n > 3) out[o++] = (unsigned char)q;
  }
  return (long)o;
}

size_t sasl_b64encode(const unsigned char *in, size_t len, char *out)
{
  size_t i, o = 0;
  for (i = 0; i + 2 < len; i += 3) {
    unsigned long q = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
    out[o++] = base64_digits[q >> 18];
    out[o++] = base64_digits[(q >> 12) & 63];
    out[o++] = base64_digits[(q >> 6) & 63];
    out[o++] = base64_digits[q & 63];
  }
  if (len - i == 1) {
    unsigned long q = (unsigned long)in[i] << 16;
    out[o++] = base64_digits[q >> 18];
    out[o++] = base64_digits[(q >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (len - i == 2) {
    unsigned long q = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
    out[o++] = base64_digits[q >> 18];
    out[o++] = base64_digits[(q >> 12) & 63];
    out[o++] = base64_digits[(q >> 6) & 63];
    out[o++] = '=';
  }
  return o;
}

static int has_crlf(const unsigned char *x, size_t len)
{
  return memchr(x, '\r', len) || memchr(x, '\n', len);
}

int sasl_plain_parse(unsigned char *msg, size_t len, const char **user, const char **pass)
{
  unsigned char *n1, *n2;
  size_t zl, ul, pl;
  n1 = memchr(msg, 0, len);
  if (!n1) return SASL_MALFORMED;
  n2 = memchr(n1 + 1, 0, len - (size_t)(n1 + 1 - msg));
  if (!n2) return SASL_MALFORMED;
  if (memchr(n2 + 1, 0, len - (size_t)(n2 + 1 - msg))) return SASL_MALFORMED;
  zl = (size_t)(n1 - msg);
  ul = (size_t)(n2 - n1 - 1);
  pl = len - (size_t)(n2 + 1 - msg);
  if (!ul || !pl || zl > SASL_FIELD_MAX || ul > SASL_FIELD_MAX || pl > SASL_FIELD_MAX) return SASL_MALFORMED;
  if (has_crlf(msg, len)) return SASL_MALFORMED;
  msg[len] = 0;
  *user = (const char *)n1 + 1;
  *pass = (const char *)n2 + 1;
  if (zl && (zl != ul || memcmp(msg, n1 + 1, zl))) return SASL_AUTHZID;
  return SASL_OK;
}

int sasl_login_field(unsigned char *msg, size_t len)
{
  if (!len || len > SASL_FIELD_MAX || memchr(msg, 0, len) || has_crlf(msg, len)) return SASL_MALFORMED;
  msg[len] = 0;
  return SASL_OK;
}

int sasl_cram_parse(unsigned char *msg, size_t len, const char **user, const char **digest)
{
  size_t sp, i;
  if (len < 34 || len - 33 > SASL_FIELD_MAX) return SASL_MALFORMED;
  if (memchr(msg, 0, len) || has_crlf(msg, len)) return SASL_MALFORMED;
  sp = len - 33;
  if (msg[sp] != ' ') return SASL_MALFORMED;
  for (i = sp + 1; i < len; ++i) {
    unsigned char c = msg[i];
    if (c >= 'A' && c <= 'F') msg[i] = (unsigned char)(c + 32);
    else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return SASL_MALFORMED;
  }
  msg[sp] = 0;
  msg[len] = 0;
  *user = (const char *)msg;
  *digest = (const char *)msg + sp + 1;
  return SASL_OK;
}

void sasl_cram_digest(const char *secret, size_t secretlen, const char *ticket, size_t ticketlen,
                      char hex[33])
{
  static const char hd[] = "0123456789abcdef";
  br_hmac_key_context kc;
  br_hmac_context hc;
  unsigned char mac[16];
  size_t i;
  br_hmac_key_init(&kc, &br_md5_vtable, secret, secretlen);
  br_hmac_init(&hc, &kc, 0);
  br_hmac_update(&hc, ticket, ticketlen);
  br_hmac_out(&hc, mac);
  for (i = 0; i < 16; ++i) {
    hex[2 * i] = hd[mac[i] >> 4];
    hex[2 * i + 1] = hd[mac[i] & 15];
  }
  hex[32] = 0;
  wipe(&kc, sizeof kc);
  wipe(&hc, sizeof hc);
  wipe(mac, sizeof mac);
}

int sasl_equal(const char *a, size_t alen, const char *b, size_t blen)
{
  unsigned char d = 0;
  size_t i;
  if (alen != blen) return 0;
  for (i = 0; i < alen; ++i) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}
