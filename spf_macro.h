/* The SPF macro language, RFC 7208 section 7 (spf_macro.c). */
#ifndef SPF_MACRO_H
#define SPF_MACRO_H

#include <stddef.h>
#include <stralloc.h>

/* the values of the macro letters; p is found only when used */
struct spf_macro_env {
  const char *s, *l, *o, *d, *i, *h, *v;
  const char *c, *r, *t;        /* explanations only */
  const char *(*p)(void *ctx);  /* the validated name, or "unknown" */
  void *pctx;
};

#define SPF_MACRO_DOMAIN 0      /* a domain-spec or modifier value: c r t refused */
#define SPF_MACRO_EXP    1      /* an explanation string: c r t allowed, spaces too */

/* 1 a valid macro-string, 0 not */
int spf_macro_check(const char *s, size_t len, int mode);
/* a domain-spec: a macro-string ending in a macro or "." toplabel */
int spf_domain_spec_check(const char *s, size_t len);
/* out gets the expansion (not \0-terminated); at most max octets.
   1 ok, 0 syntax error, -1 out of memory, -2 longer than max */
int spf_macro_expand(stralloc *out, const char *s, size_t len, const struct spf_macro_env *e, int mode, size_t max);

#endif
