/* Calls the pure SASL functions (sasl.c) directly, for tests/auth.bats
   and as a fuzzing entry point.

   sasl-check b64 TEXT            "ok HEX" (the decoded octets) or "bad"
   sasl-check plain TEXT          base64 TEXT as PLAIN: "user=U pass=P",
                                  "authzid user=U" or "malformed" (or "bad")
   sasl-check login TEXT          "field=F" or "malformed" (or "bad")
   sasl-check cram TEXT           "user=U digest=D" or "malformed" (or "bad")
   sasl-check digest KEY TICKET   the CRAM-MD5 hex digest
   sasl-check encode TEXT         base64 of TEXT

   fuzz/fuzz_sasl.c is the libFuzzer harness for the same functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../sasl.h"

static unsigned char out[SASL_DECODED_MAX + 1];

static void hexout(const unsigned char *x, long n)
{
  long i;
  for (i = 0; i < n; ++i) printf("%02x", x[i]);
}

int main(int argc, char **argv)
{
  long n;
  const char *u, *p;
  if (argc == 4 && !strcmp(argv[1], "digest")) {
    char hex[33];
    sasl_cram_digest(argv[2], strlen(argv[2]), argv[3], strlen(argv[3]), hex);
    printf("%s\n", hex);
    return 0;
  }
  if (argc != 3) { fprintf(stderr, "usage: sasl-check b64|plain|login|cram|encode TEXT\n"); return 2; }
  if (!strcmp(argv[1], "encode")) {
    char *enc = malloc(4 * ((strlen(argv[2]) + 2) / 3) + 1);
    size_t e;
    if (!enc) return 2;
    e = sasl_b64encode((const unsigned char *)argv[2], strlen(argv[2]), enc);
    enc[e] = 0;
    printf("%s\n", enc);
    return 0;
  }
  n = sasl_b64decode(argv[2], strlen(argv[2]), out, SASL_DECODED_MAX);
  if (n < 0) { printf("bad\n"); return 1; }
  if (!strcmp(argv[1], "b64")) { printf("ok "); hexout(out, n); printf("\n"); return 0; }
  if (!strcmp(argv[1], "plain")) {
    int r = sasl_plain_parse(out, (size_t)n, &u, &p);
    if (r == SASL_OK) printf("user=%s pass=%s\n", u, p);
    else if (r == SASL_AUTHZID) printf("authzid user=%s\n", u);
    else printf("malformed\n");
    return r == SASL_OK ? 0 : 1;
  }
  if (!strcmp(argv[1], "login")) {
    if (sasl_login_field(out, (size_t)n) != SASL_OK) { printf("malformed\n"); return 1; }
    printf("field=%s\n", (const char *)out);
    return 0;
  }
  if (!strcmp(argv[1], "cram")) {
    if (sasl_cram_parse(out, (size_t)n, &u, &p) != SASL_OK) { printf("malformed\n"); return 1; }
    printf("user=%s digest=%s\n", u, p);
    return 0;
  }
  return 2;
}
