#ifndef ADDR_H
#define ADDR_H
#include <stddef.h>
#include <stralloc.h>

/* length of the path token at the start of x: "<...>" (quotes and
   quoted pairs respected) or a bare word; -1 if a '<' is never closed */
long addr_pathlen(const char *x, size_t len);

enum { ADDR_OK, ADDR_SYNTAX, ADDR_NULL_NOT_ALLOWED, ADDR_TOOLONG };
/* parses "<path>" (with brackets) into out, without brackets and without a
   source route, \0-terminated; "" is the null path. rcpt: postmaster alone
   is allowed, <> is not. */
int addr_parse(const char *x, size_t len, int rcpt, stralloc *out);

/* parses " key[=value] ..." into "key=value\0" pairs, keys lower case;
   0 ok, -1 syntax error */
int addr_params(const char *x, size_t len, stralloc *out);

#endif
