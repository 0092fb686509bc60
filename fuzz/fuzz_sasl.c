/* The SASL decoders of SMTP AUTH: strict base64 accepts exactly the
   canonical encodings (decoding then encoding gives the input back), and
   the PLAIN, LOGIN and CRAM-MD5 parsers take any decoded bytes without
   reading or writing outside them; what PLAIN accepts has exactly two NULs
   and no CR or LF, and a CRAM-MD5 digest is 32 lower-case hex digits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char *out, *copy;
  char *enc, hex[33];
  const char *u, *p;
  long n;
  size_t e, i;

  if (size > SASL_LINE_MAX) return 0;
  out = malloc(SASL_DECODED_MAX + 1);
  copy = malloc(SASL_DECODED_MAX + 1);
  enc = malloc(SASL_LINE_MAX + 4);
  if (!out || !copy || !enc) abort();
  n = sasl_b64decode((const char *)data, size, out, SASL_DECODED_MAX);
  if (n >= 0) {
    e = sasl_b64encode(out, (size_t)n, enc);
    if (e != size || memcmp(enc, data, size)) abort();
  }
  /* the parsers also get the raw input, as if it had decoded to it */
  if (n < 0) { n = (long)(size > SASL_DECODED_MAX ? SASL_DECODED_MAX : size); memcpy(out, data, (size_t)n); }

  memcpy(copy, out, (size_t)n);
  if (sasl_plain_parse(copy, (size_t)n, &u, &p) == SASL_OK) {
    size_t nuls = 0;
    for (i = 0; i < (size_t)n; ++i) {
      if (out[i] == 0) ++nuls;
      if (out[i] == '\r' || out[i] == '\n') abort();
    }
    if (nuls != 2 || !*u || !*p) abort();
  }
  memcpy(copy, out, (size_t)n);
  if (sasl_login_field(copy, (size_t)n) == SASL_OK && strlen((char *)copy) != (size_t)n) abort();
  memcpy(copy, out, (size_t)n);
  if (sasl_cram_parse(copy, (size_t)n, &u, &p) == SASL_OK) {
    if (strlen(p) != 32 || !*u) abort();
    for (i = 0; i < 32; ++i)
      if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) abort();
    sasl_cram_digest(u, strlen(u), p, 32, hex);
    if (strlen(hex) != 32) abort();
  }
  free(out);
  free(copy);
  free(enc);
  return 0;
}
