/* The SPF macro language (RFC 7208 section 7): %{letter digits r delims},
   %%, %_, %-. The values come from the caller; every part is bounded. */
#include <string.h>
#include "spf_macro.h"

#define PARTS_MAX 1024          /* more parts than this: too long (spf.c bounds the values) */

static int is_delim(char c)
{
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

/* one %{...} at s (s[0] == '%', s[1] == '{'): its length, 0 when malformed;
   letter, digits (0: none), reversal and delimiters through the pointers */
static size_t macro_parse(const char *s, size_t len, int mode, char *letter, unsigned int *digits,
                          int *rev, const char **delim, size_t *ndelim)
{
  size_t k = 2;
  char c;
  int ndig = 0;
  if (k >= len) return 0;
  c = s[k++];
  switch (c | 0x20) {
  case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v':
    break;
  case 'c': case 'r': case 't':
    if (mode != SPF_MACRO_EXP) return 0;
    break;
  default:
    return 0;
  }
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return 0;
  *letter = c;
  *digits = 0;
  while (k < len && s[k] >= '0' && s[k] <= '9') {
    if (*digits < 1000) *digits = *digits * 10 + (unsigned int)(s[k] - '0');
    ++k;
    ++ndig;
  }
  if (ndig && !*digits) return 0;       /* "the value MUST be nonzero" */
  *rev = 0;
  if (k < len && (s[k] == 'r' || s[k] == 'R')) { *rev = 1; ++k; }
  *delim = s + k;
  while (k < len && is_delim(s[k])) ++k;
  *ndelim = (size_t)(s + k - *delim);
  if (k >= len || s[k] != '}') return 0;
  return k + 1;
}

int spf_macro_check(const char *s, size_t len, int mode)
{
  size_t k = 0;
  while (k < len) {
    unsigned char c = (unsigned char)s[k];
    if (c == '%') {
      char letter;
      unsigned int digits;
      int rev;
      const char *delim;
      size_t nd, m;
      if (k + 1 >= len) return 0;
      if (s[k + 1] == '%' || s[k + 1] == '_' || s[k + 1] == '-') { k += 2; continue; }
      if (s[k + 1] != '{') return 0;
      m = macro_parse(s + k, len - k, mode, &letter, &digits, &rev, &delim, &nd);
      if (!m) return 0;
      k += m;
      continue;
    }
    if (c == ' ' && mode == SPF_MACRO_EXP) { ++k; continue; }
    if (c < 0x21 || c > 0x7e) return 0;
    ++k;
  }
  return 1;
}

static int put(stralloc *out, const char *x, size_t n, size_t max)
{
  if (n > max || out->len > max - n) return -2;
  return stralloc_catb(out, x, n) ? 1 : -1;
}

static int put_escaped(stralloc *out, const char *x, size_t n, size_t max)
{
  size_t i;
  for (i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)x[i];
    int r;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~')
      r = put(out, (const char *)&x[i], 1, max);
    else {
      char h[3];
      h[0] = '%';
      h[1] = "0123456789ABCDEF"[c >> 4];
      h[2] = "0123456789ABCDEF"[c & 15];
      r = put(out, h, 3, max);
    }
    if (r != 1) return r;
  }
  return 1;
}

/* the value split at the delimiters, maybe reversed, the rightmost digits
   parts, joined with dots */
static int transform(stralloc *out, const char *v, unsigned int digits, int rev,
                     const char *delim, size_t nd, int escape, size_t max)
{
  size_t start[PARTS_MAX], plen[PARTS_MAX];
  size_t n = 0, i, vl = strlen(v), b = 0, first;
  size_t k;
  for (k = 0; k <= vl; ++k) {
    int cut = k == vl;
    if (!cut) cut = nd ? memchr(delim, v[k], nd) != 0 : v[k] == '.';
    if (!cut) continue;
    if (n == PARTS_MAX) return -2;
    start[n] = b;
    plen[n] = k - b;
    ++n;
    b = k + 1;
  }
  if (rev) {
    for (i = 0; i < n / 2; ++i) {
      size_t t = start[i]; start[i] = start[n - 1 - i]; start[n - 1 - i] = t;
      t = plen[i]; plen[i] = plen[n - 1 - i]; plen[n - 1 - i] = t;
    }
  }
  first = digits && digits < n ? n - digits : 0;
  for (i = first; i < n; ++i) {
    int r;
    if (i > first && (r = put(out, ".", 1, max)) != 1) return r;
    r = escape ? put_escaped(out, v + start[i], plen[i], max) : put(out, v + start[i], plen[i], max);
    if (r != 1) return r;
  }
  return 1;
}

static const char *value(const struct spf_macro_env *e, char letter)
{
  const char *v = 0;
  switch (letter | 0x20) {
  case 's': v = e->s; break;
  case 'l': v = e->l; break;
  case 'o': v = e->o; break;
  case 'd': v = e->d; break;
  case 'i': v = e->i; break;
  case 'p': v = e->p ? e->p(e->pctx) : 0; break;
  case 'h': v = e->h; break;
  case 'v': v = e->v; break;
  case 'c': v = e->c; break;
  case 'r': v = e->r; break;
  case 't': v = e->t; break;
  }
  return v ? v : "unknown";
}

int spf_macro_expand(stralloc *out, const char *s, size_t len, const struct spf_macro_env *e, int mode, size_t max)
{
  size_t k = 0;
  out->len = 0;
  if (!spf_macro_check(s, len, mode)) return 0;
  while (k < len) {
    int r;
    if (s[k] != '%') {
      size_t j = k;
      while (j < len && s[j] != '%') ++j;
      r = put(out, s + k, j - k, max);
      if (r != 1) return r;
      k = j;
      continue;
    }
    if (s[k + 1] == '%') r = put(out, "%", 1, max);
    else if (s[k + 1] == '_') r = put(out, " ", 1, max);
    else if (s[k + 1] == '-') r = put(out, "%20", 3, max);
    else {
      char letter;
      unsigned int digits;
      int rev;
      const char *delim;
      size_t nd;
      size_t m = macro_parse(s + k, len - k, mode, &letter, &digits, &rev, &delim, &nd);
      r = transform(out, value(e, letter), digits, rev, delim, nd, letter >= 'A' && letter <= 'Z', max);
      if (r != 1) return r;
      k += m;
      continue;
    }
    if (r != 1) return r;
    k += 2;
  }
  return 1;
}

static int alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* domain-spec = macro-string domain-end; domain-end = ( "." toplabel
   [ "." ] ) / macro-expand (RFC 7208 section 12) */
int spf_domain_spec_check(const char *s, size_t len)
{
  size_t k = 0, last = 0, end, dot, i;
  int alpha = 0;
  if (!len || !spf_macro_check(s, len, SPF_MACRO_DOMAIN)) return 0;
  while (k < len) {             /* where does the last token start? */
    last = k;
    if (s[k] != '%') { ++k; continue; }
    if (s[k + 1] != '{') { k += 2; continue; }
    while (s[k] != '}') ++k;
    ++k;
  }
  if (s[last] == '%') return 1;
  end = len;
  if (s[end - 1] == '.') --end;
  dot = end;
  while (dot > 0 && s[dot - 1] != '.' && s[dot - 1] != '}' && s[dot - 1] != '%') --dot;
  if (dot == 0 || s[dot - 1] != '.' || dot == end) return 0;
  if (s[dot] == '-' || s[end - 1] == '-') return 0;
  for (i = dot; i < end; ++i) {
    if (!alnum(s[i]) && s[i] != '-') return 0;
    if (s[i] == '-' || (s[i] < '0' || s[i] > '9')) alpha = 1;
  }
  return alpha;
}
