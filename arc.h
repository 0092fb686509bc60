/* ARC (arc.c): RFC 8617's chain of ARC sets as pure functions over the
   header section (the text and fields of dkim.h); the ARC-Message-Signature
   is parsed and hashed by dkim.c (dkim_ams_parse, dkim_header_hash), the
   signatures verified by dkim_verify. plugins/arc.c does the DNS. */
#ifndef ARC_H
#define ARC_H

#include <stddef.h>
#include "dkim.h"

#define ARC_MAXSETS 50
#define ARC_AAR 0
#define ARC_AMS 1
#define ARC_AS  2

#define ARC_CV_NONE 0
#define ARC_CV_PASS 1
#define ARC_CV_FAIL 2

/* the sets i=1..n: field[i-1][ARC_AAR...] indexes the dkim_field array */
struct arc_chain {
  unsigned int n;
  unsigned int field[ARC_MAXSETS][3];
};

#define ARC_NONE 0              /* no ARC field */
#define ARC_OK   1
#define ARC_BAD  2              /* a field without a usable i=, one twice, a
                                   set incomplete, a gap, more than 50 */
int arc_chain_collect(const char *hdr, const struct dkim_field *f, unsigned int nf,
                      struct arc_chain *c, const char **why);

/* an ARC-Seal (4.1.3): i=, cv=, a=, b=, d=, s= (t= optional), no h=;
   sig gets field, d, s, a, alg, b, bval, instance. 1 ok, 0 with *why */
int arc_seal_parse(struct dkim_sig *sig, int *cv, const char *field, size_t len, const char **why);

/* the SHA-256 the seal as signs (5.1.1): the sets 1..as->instance, each
   AAR, AMS, AS, relaxed, the last AS without its b= value nor CRLF; 0 out
   of memory */
int arc_seal_hash(const char *hdr, const struct dkim_field *f, const struct arc_chain *c,
                  const struct dkim_sig *as, unsigned char out[32]);

/* the chain's validity (5.2) from each set's facts (index i-1): the
   seals' cv=, whether each AMS and AS verified. ARC_CV_PASS with
   *oldest_pass (the oldest AMS of an unbroken run of passing ones from
   the newest, 0 when all pass), else ARC_CV_FAIL with *why */
int arc_verdict(unsigned int n, const int *cv, const int *ams_ok, const int *as_ok,
                unsigned int *oldest_pass, const char **why);

#endif
