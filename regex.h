/* Regular expressions for control files (badmailfrom, badhelo, ...): the
   part of Perl's and POSIX ERE syntax that such files use, compiled to a
   small NFA and run in time linear in the subject (no backtracking, so no
   pattern can make a session spin). No captures, no backreferences.

   Syntax: literals, ., [set] [^set] with ranges, \d \w \s \D \W \S and
   [:alpha:]-style classes, ^ $ \A \z, \b \B, groups ( ) and (?: ), |,
   * + ? {m} {m,} {m,n} (a trailing ? for laziness is accepted and does not
   change whether a pattern matches), escapes \t \n \r \f \v \e \xHH and a
   backslash before any punctuation. Anything else is a compile error. */
#ifndef REGEX_H
#define REGEX_H

#include <stddef.h>

#define RE_ICASE 1

struct re_inst;

struct re {
  struct re_inst *prog;
  unsigned char (*sets)[32];
  unsigned int n, nsets;
  int icase;
  unsigned int *mark;           /* scratch for re_match */
  unsigned int *list;           /* two lists of n, and a stack of n */
  unsigned int gen;
};

/* 1 compiled; 0 with a static reason in *err (out of memory included) */
int re_compile(struct re *re, const char *pattern, int flags, const char **err);
/* 1 when the pattern matches anywhere in s[0..len) */
int re_match(struct re *re, const char *s, size_t len);
void re_free(struct re *re);

#endif
