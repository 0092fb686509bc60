/* DSN (RFC 3461) parameters of MAIL and RCPT, and the encodings they
   travel in: xtext (RFC 3461 4) and RFC 6533's utf-8-addr-xtext and
   utf-8-addr-unitext. Pure functions over bytes (dsn.c). */
#ifndef DSN_H
#define DSN_H

#include <stddef.h>
#include <stralloc.h>

#define DSN_ENVID_MAX 100       /* RFC 3461 4.4, the value as sent */
#define DSN_ORCPT_MAX 500       /* RFC 3461 4.2, the value as sent */

/* NOTIFY, as Postfix's dsn_mask.h numbers them (its queue files use them) */
#define DSN_NOTIFY_NEVER   1
#define DSN_NOTIFY_SUCCESS 2
#define DSN_NOTIFY_FAILURE 4
#define DSN_NOTIFY_DELAY   8
/* RET, the same */
#define DSN_RET_FULL 1
#define DSN_RET_HDRS 2

/* Each parser takes a parameter's value as sent and returns NULL when it
   is good, else the text of a 501 reply saying what is wrong. */
/* RET=FULL|HDRS (any case) */
const char *dsn_parse_ret(const char *v, size_t len, int *ret);
/* ENVID=xtext: at most DSN_ENVID_MAX, decoded into out (\0-terminated,
   printable ASCII) */
const char *dsn_parse_envid(const char *v, size_t len, stralloc *out);
/* NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE, DELAY (any case),
   none twice */
const char *dsn_parse_notify(const char *v, size_t len, int *mask);
/* ORCPT=addr-type;value, at most DSN_ORCPT_MAX: "rfc822" with xtext, or
   "utf-8" with utf-8-addr-xtext, or with utf-8-addr-unitext when utf8 (the
   transaction said SMTPUTF8). out: "rfc822;" or "utf-8;" and the decoded
   address, \0-terminated, without controls */
const char *dsn_parse_orcpt(const char *v, size_t len, int utf8, stralloc *out);

/* whether v[0..len) is w (upper case) in any case */
int dsn_word(const char *v, size_t len, const char *w);

/* NOTIFY's mask as its keywords, "SUCCESS,FAILURE" (buf: 32 bytes); the length */
size_t dsn_notify_fmt(char *buf, int mask);

/* appends x as xtext: every byte outside 33-126, and "+" and "=", as +HH.
   0 out of memory */
int dsn_xtext_encode(stralloc *out, const char *x, size_t len);
/* RFC 6533: decodes utf-8-addr-xtext (unitext == 0: ASCII only) or
   utf-8-addr-unitext (raw UTF-8 allowed too) into out, \0-terminated: a
   \x{HEX} is a Unicode scalar value, written in its shortest form. -1 when
   malformed, when it decodes to a control or NUL, or out of memory */
int dsn_utf8addr_decode(const char *x, size_t len, int unitext, stralloc *out);
/* appends x (UTF-8) as utf-8-addr-xtext: ASCII 33-126 but "+", "=" and
   "\" as is, everything else \x{HEX}. 0 out of memory or not UTF-8 */
int dsn_utf8addr_encode(stralloc *out, const char *x, size_t len);

#endif
