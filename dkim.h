/* DKIM (dkim.c): RFC 6376 signatures with RFC 8301 (no rsa-sha1, RSA
   keys of 1024 bits at least) and RFC 8463 (ed25519-sha256). Pure
   functions over bytes, no I/O, so that a test or a fuzzer can call them;
   plugins/dkim.c does the DNS, the message and the results. Text comes
   as the spool holds it: LF line ends, folded lines "\n" + WSP. */
#ifndef DKIM_H
#define DKIM_H

#include <stddef.h>
#include <stralloc.h>
#include <bearssl.h>

#define DKIM_MAXTAGS 32
/* a tag of a tag-list (RFC 6376 3.2): offsets into the text; the value
   without the white space around it (FWS inside it stays) */
struct dkim_tag { size_t name, namelen, val, vallen; };
/* 1 ok, 0 not a tag-list (syntax, a tag twice, more than max tags) */
int dkim_tags_parse(const char *x, size_t len, struct dkim_tag *t, unsigned int max, unsigned int *n);
/* the tag of that name, NULL when absent */
const struct dkim_tag *dkim_tag_find(const char *x, const struct dkim_tag *t, unsigned int n, const char *name);
/* a signature header field's tag-list (after its colon) into t, offsets
   counted from field's start; sig zeroed, with field and fieldlen set.
   1, or 0 with the reason in *why */
struct dkim_sig;
int dkim_field_tags(struct dkim_sig *sig, const char *field, size_t len, struct dkim_tag *t,
                    unsigned int *n, const char **why);

enum dkim_result { DKIM_PASS, DKIM_FAIL, DKIM_NEUTRAL, DKIM_POLICY, DKIM_TEMPERROR, DKIM_PERMERROR };
extern const char *const dkim_result_name[];   /* "pass", ... as RFC 8601 writes them */

#define DKIM_RSA_SHA256 1
#define DKIM_ED25519_SHA256 2
#define DKIM_RSA_SHA1 3
#define DKIM_MAXSIG 512         /* bytes of b= (RSA 4096) */
#define DKIM_MAXNAME 253

/* one DKIM-Signature field, parsed */
struct dkim_sig {
  const char *field;            /* "DKIM-Signature:..." as in the message, with its LF */
  size_t fieldlen;
  char d[DKIM_MAXNAME + 1];     /* lower case */
  char s[DKIM_MAXNAME + 1];
  int alg;                      /* DKIM_RSA_SHA256 ...; 0 unknown */
  char a[32];                   /* a= as written (printable, cut), for the results */
  int hrelaxed, brelaxed;
  int has_l;
  unsigned long long l;
  unsigned char bh[64];
  size_t bhlen;
  unsigned char b[DKIM_MAXSIG];
  size_t blen;
  size_t h, hlen;               /* h= in field */
  size_t bval, bvallen;         /* b='s value in field, removed for the hash */
  int has_x;
  unsigned long long t, x;
  unsigned int instance;        /* ARC's i= (dkim_ams_parse), else 0 */
};
/* the field (name, colon, value, LF); 1 ok, 0 permerror with *why. What
   could be read of d=, s= and a= is set even then. now: seconds, for x= */
int dkim_sig_parse(struct dkim_sig *sig, const char *field, size_t len, unsigned long long now,
                   const char **why);

/* an ARC-Message-Signature (RFC 8617 4.1.2): as a DKIM-Signature, but
   no v=, i= the instance (1-50) in sig->instance, l= ignored */
int dkim_ams_parse(struct dkim_sig *sig, const char *field, size_t len, unsigned long long now,
                   const char **why);

/* the body canonicalizer (3.4.3, 3.4.4) and its SHA-256, l= applied:
   fed the body (LF line ends) in pieces of any size */
struct dkim_body {
  int relaxed, inl, ws;
  unsigned long long crlfs;     /* empty lines not yet written */
  unsigned long long total;     /* canonical octets */
  int has_l;
  unsigned long long l;
  br_sha256_context h;
};
void dkim_body_init(struct dkim_body *b, int relaxed, int has_l, unsigned long long l);
void dkim_body_update(struct dkim_body *b, const char *x, size_t len);
void dkim_body_final(struct dkim_body *b, unsigned char out[32]);

/* a header field (3.4.1, 3.4.2) appended to out, ending in CRLF; 0 out
   of memory */
int dkim_header_canon(stralloc *out, const char *f, size_t len, int relaxed);

/* the fields of a header section: offsets, each field with its LF */
struct dkim_field { size_t off, len, namelen; };
/* into *f (malloc'ed, free it): 1 ok, 0 out of memory */
int dkim_fields(const char *hdr, size_t len, struct dkim_field **f, unsigned int *n);
/* the SHA-256 of the signed header fields (h=, bottom-up) and of the
   signature field sig (field i of f) without its b= value; 0 out of memory */
int dkim_header_hash(const char *hdr, const struct dkim_field *f, unsigned int n,
                     const struct dkim_sig *sig, unsigned char out[32]);

/* a key record (3.6.1) */
struct dkim_key {
  int type;                     /* DKIM_RSA_SHA256 (rsa) or DKIM_ED25519_SHA256 */
  unsigned char n[1024];
  size_t nlen;
  unsigned char e[16];
  size_t elen;
  unsigned int bits;
  unsigned char ed[32];
  int testing;
};
/* 1 ok, 0 permerror with *why (revoked, not DKIM1, bad key) */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *k, const char **why);

/* the signature's result against the key and the header hash */
enum dkim_result dkim_verify(const struct dkim_sig *sig, const struct dkim_key *k,
                             const unsigned char hhash[32], const char **why);

/* base64 (white space allowed) into out; 1 ok, 0 bad or too long */
int dkim_b64(const char *x, size_t len, unsigned char *out, size_t max, size_t *outlen);
/* the field names of a colon list (h=), in order: calls fn for each */
int dkim_hnames(const char *x, size_t len, int (*fn)(void *ctx, const char *name, size_t len), void *ctx);

#endif
