/* Perl-style patterns from an admin's control file, compiled as POSIX
   extended regular expressions: \d \w \s \D \W \S become bracket
   expressions and an escaped punctuation character stands for itself, so
   the patterns in Perl qpsmtpd's documentation (/^user\d+\@doma\.in$/)
   keep working. Perl-only syntax (lookahead, lazy quantifiers, \b) is not
   supported: such a pattern fails to compile and is reported. */
#ifndef PLUGINS_PERLRE_H
#define PLUGINS_PERLRE_H

#include <sys/types.h>
#include <regex.h>
#include <stralloc.h>

static const char *perlre_class(char c, int inbracket)
{
  switch (c) {
  case 'd': return inbracket ? "0-9" : "[0-9]";
  case 'w': return inbracket ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
  case 's': return inbracket ? " \t\r\n\f\v" : "[ \t\r\n\f\v]";
  case 'D': return inbracket ? 0 : "[^0-9]";
  case 'W': return inbracket ? 0 : "[^A-Za-z0-9_]";
  case 'S': return inbracket ? 0 : "[^ \t\r\n\f\v]";
  }
  return 0;
}

/* 0 compiled, else the regcomp error (or REG_BADPAT for an unsupported
   escape); flags as regcomp's */
static int perlre_compile(regex_t *re, const char *pat, size_t len, int flags)
{
  stralloc e = {0};
  size_t i;
  int inb = 0, rc;

  for (i = 0; i < len; ++i) {
    char c = pat[i];
    if (c == '\\' && i + 1 < len) {
      char n = pat[++i];
      const char *cl = perlre_class(n, inb);
      if (cl) { if (!stralloc_cats(&e, cl)) goto nomem; continue; }
      if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9')) {
        stralloc_free(&e);
        return REG_BADPAT;
      }
      if (inb) { if (!stralloc_append(&e, &n)) goto nomem; continue; }
      if (n == '.' || n == '[' || n == ']' || n == '(' || n == ')' || n == '*' || n == '+' || n == '?'
          || n == '{' || n == '}' || n == '|' || n == '^' || n == '$' || n == '\\') {
        if (!stralloc_append(&e, "\\") || !stralloc_append(&e, &n)) goto nomem;
      } else if (!stralloc_append(&e, &n))
        goto nomem;
      continue;
    }
    if (!inb && c == '[') {
      inb = 1;
      if (!stralloc_append(&e, &c)) goto nomem;
      /* "[]" and "[^]" take the ] literally */
      if (i + 1 < len && pat[i + 1] == '^') { if (!stralloc_append(&e, "^")) goto nomem; ++i; }
      if (i + 1 < len && pat[i + 1] == ']') { if (!stralloc_append(&e, "]")) goto nomem; ++i; }
      continue;
    }
    if (inb && c == ']') inb = 0;
    if (!stralloc_append(&e, &c)) goto nomem;
  }
  if (!stralloc_0(&e)) goto nomem;
  rc = regcomp(re, e.s, flags);
  stralloc_free(&e);
  return rc;
nomem:
  stralloc_free(&e);
  return REG_ESPACE;
}

#endif
