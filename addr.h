#ifndef ADDR_H
#define ADDR_H
#include <stddef.h>
#include <stralloc.h>

/* length of the path token at the start of x: "<...>" (quotes and
   quoted pairs respected) or a bare word; -1 if a '<' is never closed */
long addr_pathlen(const char *x, size_t len);

/* the longest path between the brackets: RFC 5321 4.5.3.1.3's 256 is
   too small for SRS and VERP senders; the command line is bounded too */
#define ADDR_MAX 512

enum { ADDR_OK, ADDR_SYNTAX, ADDR_NULL_NOT_ALLOWED, ADDR_TOOLONG,
       ADDR_NEED_UTF8,          /* well-formed UTF-8, but no ADDR_UTF8 */
       ADDR_BAD_UTF8 };         /* 8-bit bytes that are not well-formed UTF-8 */
/* flags */
#define ADDR_RCPT 1             /* postmaster alone is allowed, <> is not */
#define ADDR_UTF8 2             /* the transaction declared SMTPUTF8 (RFC 6531) */
/* parses "<path>" (with brackets) into out, without brackets and without a
   source route, \0-terminated; "" is the null path. The local part is a dot-atom whose labels may be
   empty, or a quoted string (printable ASCII and space, quoted pairs),
   kept quoted as sent unless its content is a plain Dot-string; the domain
   a DNS name (underscores allowed) or an address literal. Without
   ADDR_UTF8 the result never holds a byte below 32 or above 126; with it,
   local parts (atext and qtext) and domains (U-labels) may also hold
   well-formed UTF-8 without C1 controls (utf8.h), and nothing else. */
int addr_parse(const char *x, size_t len, int flags, stralloc *out);

/* the internal form of a parsed address, as qmail-queue's and Postfix's
   envelopes hold it (qmail-smtpd and Postfix's smtpd store it so, and
   qmail-remote and Postfix's smtp quote it again): a quoted local part's
   quotes and quoted-pair backslashes removed. 1 ok, 0 out of memory */
int addr_internal(const char *a, stralloc *out);

/* decodes RFC 3461 4 xtext ("+HH" for a byte) into out, \0-terminated;
   -1 if malformed or if it decodes to a control or 8-bit byte */
int addr_xtext(const char *x, size_t len, stralloc *out);

/* parses " key[=value] ..." into "key=value\0" pairs, keys lower case,
   values printable ASCII but "=" (ORCPT's 8-bit bytes too); 0 ok, -1
   syntax error */
int addr_params(const char *x, size_t len, stralloc *out);

#endif
