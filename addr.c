/* RFC 5321 4.1.2 paths and ESMTP parameters. Pure functions over bytes. */
#include <string.h>
#include <strings.h>
#include "addr.h"

long addr_pathlen(const char *x, size_t len)
{
  size_t i;
  int q = 0;
  if (!len || x[0] != '<') {
    for (i = 0; i < len && x[i] != ' '; ++i) ;
    return (long)i;
  }
  for (i = 1; i < len; ++i) {
    if (q) {
      if (x[i] == '\\' && i + 1 < len) ++i;
      else if (x[i] == '"') q = 0;
    } else if (x[i] == '"') q = 1;
    else if (x[i] == '>') return (long)i + 1;
  }
  return -1;
}

static int is_atext(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int dot_string(const char *x, size_t len)
{
  size_t i;
  int prev_dot = 1;
  if (!len) return 0;
  for (i = 0; i < len; ++i) {
    if (x[i] == '.') { if (prev_dot) return 0; prev_dot = 1; }
    else if (is_atext((unsigned char)x[i])) prev_dot = 0;
    else return 0;
  }
  return !prev_dot;
}

static int domain_ok(const char *x, size_t len)
{
  size_t i, lab = 0;
  if (!len || len > 255) return 0;
  if (x[0] == '[') {
    if (x[len - 1] != ']' || len < 3) return 0;
    if (len > 6 && !memcmp(x + 1, "IPv6:", 5)) {
      for (i = 6; i < len - 1; ++i)
        if (!x[i] || !strchr("0123456789abcdefABCDEF:.", x[i])) return 0;
      return 1;
    }
    {
      int parts = 0, digits = 0;
      unsigned v = 0;
      for (i = 1; i < len - 1; ++i) {
        if (x[i] >= '0' && x[i] <= '9') {
          v = v * 10 + (unsigned)(x[i] - '0');
          if (++digits > 3 || v > 255) return 0;
        } else if (x[i] == '.' && digits) { ++parts; digits = 0; v = 0; }
        else return 0;
      }
      return parts == 3 && digits;
    }
  }
  for (i = 0; i < len; ++i) {
    char c = x[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) { ++lab; continue; }
    if (c == '-') { if (!lab) return 0; ++lab; continue; }
    if (c == '.') { if (!lab || x[i - 1] == '-') return 0; lab = 0; continue; }
    return 0;
  }
  return lab && x[len - 1] != '-' && lab <= 63;
}

int addr_parse(const char *x, size_t len, int rcpt, stralloc *out)
{
  size_t i, at;
  const char *p;
  size_t pl;
  out->len = 0;
  if (len < 2 || x[0] != '<' || x[len - 1] != '>') return ADDR_SYNTAX;
  p = x + 1;
  pl = len - 2;
  if (pl > 256) return ADDR_TOOLONG;
  if (!pl) {
    if (rcpt) return ADDR_NULL_NOT_ALLOWED;
    return stralloc_0(out) ? ADDR_OK : ADDR_SYNTAX;
  }
  /* an obsolete source route "@a,@b:" is accepted and dropped (RFC 5321 C) */
  if (p[0] == '@') {
    const char *colon = memchr(p, ':', pl);
    if (!colon) return ADDR_SYNTAX;
    for (i = 0; p + i < colon; ) {
      size_t j;
      if (p[i] != '@') return ADDR_SYNTAX;
      for (j = i + 1; p + j < colon && p[j] != ','; ++j) ;
      if (!domain_ok(p + i + 1, j - i - 1)) return ADDR_SYNTAX;
      i = (p + j < colon) ? j + 1 : j;
    }
    pl -= (size_t)(colon + 1 - p);
    p = colon + 1;
  }
  if (rcpt && pl == 10 && !strncasecmp(p, "postmaster", 10))
    return stralloc_copyb(out, p, pl) && stralloc_0(out) ? ADDR_OK : ADDR_SYNTAX;
  if (p[0] == '"') {
    /* quoted local part: accepted only when its content is a dot-string,
       which is then stored unquoted; anything else would need quoting
       downstream, where it is easy to get wrong */
    stralloc lp = {0};
    int ok;
    for (i = 1; i < pl && p[i] != '"'; ++i) {
      if (p[i] == '\\' && i + 1 < pl) ++i;
      if (!stralloc_append(&lp, p + i)) { stralloc_free(&lp); return ADDR_SYNTAX; }
    }
    if (i >= pl || i + 1 >= pl || p[i + 1] != '@') { stralloc_free(&lp); return ADDR_SYNTAX; }
    at = i + 1;
    ok = lp.len <= 64 && dot_string(lp.s, lp.len) && domain_ok(p + at + 1, pl - at - 1);
    ok = ok && stralloc_copy(out, &lp) && stralloc_catb(out, p + at, pl - at) && stralloc_0(out);
    stralloc_free(&lp);
    return ok ? ADDR_OK : ADDR_SYNTAX;
  }
  {
    const char *a = memchr(p, '@', pl);
    if (!a) return ADDR_SYNTAX;
    at = (size_t)(a - p);
  }
  if (at > 64) return ADDR_TOOLONG;
  if (!dot_string(p, at) || !domain_ok(p + at + 1, pl - at - 1)) return ADDR_SYNTAX;
  return stralloc_copyb(out, p, pl) && stralloc_0(out) ? ADDR_OK : ADDR_SYNTAX;
}

int addr_params(const char *x, size_t len, stralloc *out)
{
  size_t i = 0;
  out->len = 0;
  while (i < len) {
    size_t k, v, ve;
    if (x[i] != ' ') return -1;
    while (i < len && x[i] == ' ') ++i;
    if (i == len) break;
    k = i;
    if (!((x[i] >= 'a' && x[i] <= 'z') || (x[i] >= 'A' && x[i] <= 'Z') || (x[i] >= '0' && x[i] <= '9'))) return -1;
    while (i < len && ((x[i] >= 'a' && x[i] <= 'z') || (x[i] >= 'A' && x[i] <= 'Z')
                       || (x[i] >= '0' && x[i] <= '9') || x[i] == '-')) ++i;
    for (v = k; v < i; ++v) {
      char c = x[v];
      if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
      if (!stralloc_append(out, &c)) return -1;
    }
    if (i < len && x[i] == '=') {
      v = ++i;
      while (i < len && x[i] > 32 && x[i] < 127 && x[i] != '=') ++i;
      ve = i;
      if (ve == v) return -1;
      if (!stralloc_append(out, "=") || !stralloc_catb(out, x + v, ve - v)) return -1;
    }
    if (i < len && x[i] != ' ') return -1;
    if (!stralloc_0(out)) return -1;
  }
  return 0;
}
