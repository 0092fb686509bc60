/* The TLS policy parsers (tls_policy.c) over any bytes: tls_protocols
   gives a range within TLS 1.0..1.2 or an error, and taking a "!" word
   out of a string never widens it; tls_ciphers gives suites we have
   (each with a name), without duplicates, never more than exist, and
   "!WORD" appended never adds one; the CA file's PEM gives anchors with
   a name and a key, or an error; a key file gives a key whose public
   point, when the file has one, fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../tls_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *x = (const char *)data, *err = NULL;
  unsigned lo, hi, lo2, hi2;
  uint16_t s[TLS_MAXSUITES], s2[TLS_MAXSUITES];
  size_t n = 0, n2 = 0, i, j;
  char *y;
  struct tls_anchors *a;

  if (size > 4096) return 0;
  y = malloc(size + 16);
  if (!y) return 0;
  if (tls_parse_protocols(x, size, &lo, &hi, &err)) {
    if (lo < BR_TLS10 || hi > BR_TLS12 || lo > hi) abort();
    /* one more "!TLSv1" only narrows */
    memcpy(y, x, size);
    memcpy(y + size, ":!TLSv1", 7);
    if (tls_parse_protocols(y, size + 7, &lo2, &hi2, &err) && (lo2 < lo || hi2 > hi)) abort();
  } else if (!err) abort();

  if (tls_parse_ciphers(x, size, BR_TLS12, s, &n, &err)) {
    if (!n || n > TLS_MAXSUITES) abort();
    for (i = 0; i < n; ++i) {
      if (!strcmp(tls_suite_name(s[i]), "unknown")) abort();
      for (j = 0; j < i; ++j) if (s[i] == s[j]) abort();
    }
    /* banning a group afterwards never adds a suite */
    memcpy(y, x, size);
    memcpy(y + size, ":!aRSA", 6);
    if (tls_parse_ciphers(y, size + 6, BR_TLS12, s2, &n2, &err)) {
      if (n2 > n) abort();
      for (i = 0; i < n2; ++i) {
        for (j = 0; j < n && s[j] != s2[i]; ++j) {}
        if (j == n || strstr(tls_suite_name(s2[i]), "-RSA-")) abort();
      }
    }
  } else if (!err) abort();

  {
    struct tls_key *k = malloc(sizeof *k);
    if (k) {
      if (tls_pem_key(x, size, k, &err)) {
        if (k->publen > sizeof k->pub || (k->publen && k->type != BR_KEYTYPE_EC)) abort();
      } else if (!err) abort();
      tls_key_wipe(k);
      free(k);
    }
  }
  a = malloc(sizeof *a);
  if (a) {
    if (tls_pem_anchors(x, size, a, &err)) {
      if (!a->n) abort();
      for (i = 0; i < a->n; ++i) {
        const br_x509_trust_anchor *t = &a->ta[i];
        if (t->pkey.key_type == BR_KEYTYPE_RSA ? !t->pkey.key.rsa.nlen : t->pkey.key_type == BR_KEYTYPE_EC ? !t->pkey.key.ec.qlen : 1)
          abort();
      }
      tls_anchors_free(a);
    } else if (!err) abort();
    free(a);
  }
  free(y);
  return 0;
}
