/* SASL for SMTP AUTH (RFC 4954): strict base64 and the PLAIN, LOGIN and
   CRAM-MD5 message formats. Pure functions over bytes: no I/O, no session,
   so that tests and fuzzers can call them directly. */
#ifndef SASL_H
#define SASL_H

#include <stddef.h>

/* RFC 4954 4: AUTH command lines and client responses may be up to 12288
   octets, CRLF included */
#define SASL_LINE_MAX   12288
/* the most a response can decode to */
#define SASL_DECODED_MAX (SASL_LINE_MAX / 4 * 3)
/* longest user name or password we take */
#define SASL_FIELD_MAX  1024

/* Strict base64 (RFC 4648 4): the whole input, a multiple of 4 long,
   padding only at the end, no white space, zero pad bits. Decodes into out
   (room for max octets). Returns the decoded length, or -1 when the input
   is not strict base64 or decodes to more than max octets (checked before
   anything is written). An empty input decodes to nothing (0). */
long sasl_b64decode(const char *in, size_t len, unsigned char *out, size_t max);
/* encodes len octets into out, which has room for 4 * ((len + 2) / 3)
   bytes; returns the encoded length */
size_t sasl_b64encode(const unsigned char *in, size_t len, char *out);

/* results of the parsers below */
#define SASL_OK        0
#define SASL_MALFORMED (-1)   /* not the mechanism's format: 501 */
#define SASL_AUTHZID   (-2)   /* PLAIN: authzid is not the user (no proxy login): 535 */

/* RFC 4616: authzid NUL authcid NUL passwd, exactly two NULs, authcid and
   passwd not empty, no CR or LF anywhere, each field at most
   SASL_FIELD_MAX. On SASL_OK, user and pass point into msg, NUL-terminated
   in place (msg needs room for len + 1 bytes). */
int sasl_plain_parse(unsigned char *msg, size_t len, const char **user, const char **pass);

/* LOGIN: one field (user name or password), not empty, no NUL, CR or LF,
   at most SASL_FIELD_MAX; NUL-terminated in place (msg needs len + 1). */
int sasl_login_field(unsigned char *msg, size_t len);

/* RFC 2195: "user SP digest", the digest 32 hex digits (lower-cased in
   place), split at the last space; user not empty, no NUL, CR or LF. On
   SASL_OK, user and digest point into msg (NUL-terminated; msg needs
   len + 1). */
int sasl_cram_parse(unsigned char *msg, size_t len, const char **user, const char **digest);

/* the lower-case hex HMAC-MD5 of ticket keyed by secret (RFC 2104, 2195),
   in hex[33] */
void sasl_cram_digest(const char *secret, size_t secretlen, const char *ticket, size_t ticketlen,
                      char hex[33]);

/* 1 when the two strings are equal; the time taken depends only on their
   lengths */
int sasl_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
