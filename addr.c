/* RFC 5321 4.1.2 paths and ESMTP parameters. Pure functions over bytes. */
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "utf8.h"

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

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* RFC 5321's atext, and with SMTPUTF8 RFC 6531's UTF8-non-ascii (the
   path was checked to be well-formed UTF-8 first) */
static int is_atext(unsigned char c, int utf8)
{
  if (c >= 0x80) return utf8;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5321 4.1.2's Dot-string, strict: no empty label */
static int dot_string(const char *x, size_t len, int utf8)
{
  size_t i;
  int prev_dot = 1;
  if (!len) return 0;
  for (i = 0; i < len; ++i) {
    if (x[i] == '.') { if (prev_dot) return 0; prev_dot = 1; }
    else if (is_atext((unsigned char)x[i], utf8)) prev_dot = 0;
    else return 0;
  }
  return !prev_dot;
}

/* the unquoted local part real mail uses: atext and dots, empty labels
   allowed ("a..b", ".a", "a.": addresses at Japanese carriers), at least
   one atext */
static int dot_loose(const char *x, size_t len, int utf8)
{
  size_t i;
  int atext = 0;
  for (i = 0; i < len; ++i) {
    if (is_atext((unsigned char)x[i], utf8)) atext = 1;
    else if (x[i] != '.') return 0;
  }
  return atext;
}

/* a DNS name as mail uses it (letters, digits, hyphens inside a label,
   underscores anywhere: SRV-style and Windows host names), or an address
   literal; with SMTPUTF8, labels may be U-labels (RFC 6531 3.3): any
   non-ASCII character, not checked against IDNA2008's tables, at most
   59 characters (the A-label, "xn--" and at least one character for each,
   must fit DNS's 63 octets) */
#define ULABEL_MAX 59
static int ulabels_ok(const char *x, size_t len)
{
  size_t i, lab = 0, cps = 0;
  int eight = 0;
  for (i = 0; i < len; ++i) {
    char c = x[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      if (++lab > 63 && !eight) return 0;
      ++cps;
      continue;
    }
    if ((unsigned char)c >= 0x80) {
      eight = 1;
      ++lab;
      if (((unsigned char)c & 0xc0) != 0x80 && ++cps > ULABEL_MAX) return 0;
      continue;
    }
    if (c == '-') { if (!lab) return 0; ++lab; ++cps; continue; }
    if (c == '.') {
      if (!lab || x[i - 1] == '-' || (eight && cps > ULABEL_MAX)) return 0;
      lab = cps = 0;
      eight = 0;
      continue;
    }
    return 0;
  }
  if (eight && cps > ULABEL_MAX) return 0;
  return lab && x[len - 1] != '-';
}

static int domain_ok(const char *x, size_t len, int utf8)
{
  size_t i, lab = 0;
  if (!len || len > 255) return 0;
  if (x[0] == '[') {
    if (x[len - 1] != ']' || len < 3) return 0;
    if (len > 7 && !memcmp(x + 1, "IPv6:", 5)) {
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
  if (utf8) return ulabels_ok(x, len);
  for (i = 0; i < len; ++i) {
    char c = x[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      if (++lab > 63) return 0;
      continue;
    }
    if (c == '-') { if (!lab) return 0; ++lab; continue; }
    if (c == '.') { if (!lab || x[i - 1] == '-') return 0; lab = 0; continue; }
    return 0;
  }
  return lab && x[len - 1] != '-';
}

/* the length of the quoted string at the start of x (both quotes), or 0:
   qtextSMTP and quoted-pairSMTP of RFC 5321 4.1.2, printable ASCII and
   space only, so no CR, LF, NUL or control byte ever gets in; with
   SMTPUTF8 also UTF8-non-ascii in qtext (RFC 6531 3.3), not in a pair */
static size_t quoted_len(const char *x, size_t len, int utf8)
{
  size_t i;
  if (!len || x[0] != '"') return 0;
  for (i = 1; i < len; ++i) {
    unsigned char c = (unsigned char)x[i];
    if (c == '"') return i + 1;
    if (c >= 0x80 && utf8) continue;
    if (c < 32 || c > 126) return 0;
    if (c == '\\') {
      if (i + 1 >= len || (unsigned char)x[i + 1] < 32 || (unsigned char)x[i + 1] > 126) return 0;
      ++i;
    }
  }
  return 0;
}

/* appends the content of a quoted string of length ql, quotes and
   backslashes of quoted pairs removed */
static int cat_unquoted(stralloc *out, const char *x, size_t ql)
{
  size_t i;
  for (i = 1; i + 1 < ql; ++i) {
    if (x[i] == '\\') ++i;
    if (!stralloc_append(out, x + i)) return 0;
  }
  return 1;
}

static int parse(const char *x, size_t len, int flags, stralloc *out)
{
  size_t i, at;
  const char *p;
  size_t pl;
  int rcpt = flags & ADDR_RCPT, utf8 = (flags & ADDR_UTF8) != 0;
  out->len = 0;
  if (len < 2 || x[0] != '<' || x[len - 1] != '>') return ADDR_SYNTAX;
  p = x + 1;
  pl = len - 2;
  if (pl > ADDR_MAX) return ADDR_TOOLONG;
  if (utf8 && !utf8_valid(p, pl)) return ADDR_BAD_UTF8;
  if (!pl) {
    if (rcpt) return ADDR_NULL_NOT_ALLOWED;
    return stralloc_0(out) ? ADDR_OK : ADDR_SYNTAX;
  }
  /* an obsolete source route "@a,@b:" is accepted and dropped (RFC 5321 C) */
  if (p[0] == '@') {
    const char *colon = memchr(p, ':', pl);
    if (!colon || colon[-1] == ',') return ADDR_SYNTAX;
    for (i = 0; p + i < colon; ) {
      size_t j;
      if (p[i] != '@') return ADDR_SYNTAX;
      for (j = i + 1; p + j < colon && p[j] != ','; ++j) ;
      if (!domain_ok(p + i + 1, j - i - 1, utf8)) return ADDR_SYNTAX;
      i = (p + j < colon) ? j + 1 : j;
    }
    pl -= (size_t)(colon + 1 - p);
    p = colon + 1;
  }
  if (rcpt && pl == 10 && !strncasecmp(p, "postmaster", 10))
    return stralloc_copyb(out, p, pl) && stralloc_0(out) ? ADDR_OK : ADDR_SYNTAX;
  if (p[0] == '"') {
    /* a quoted local part is kept as sent, so that it round-trips and
       reaches smtp-forward, plugins and logs as the client wrote it;
       quotes that were not needed (the content is a Dot-string) are
       dropped, as they always were */
    size_t ql = quoted_len(p, pl, utf8);
    stralloc lp = {0};
    int ok;
    if (ql < 3 || ql >= pl || p[ql] != '@' || !domain_ok(p + ql + 1, pl - ql - 1, utf8)) return ADDR_SYNTAX;
    ok = cat_unquoted(&lp, p, ql);
    if (ok && dot_string(lp.s, lp.len, utf8))
      ok = stralloc_copy(out, &lp) && stralloc_catb(out, p + ql, pl - ql) && stralloc_0(out);
    else
      ok = ok && stralloc_copyb(out, p, pl) && stralloc_0(out);
    stralloc_free(&lp);
    return ok ? ADDR_OK : ADDR_SYNTAX;
  }
  {
    const char *a = memchr(p, '@', pl);
    if (!a) return ADDR_SYNTAX;
    at = (size_t)(a - p);
  }
  /* no 64-octet limit on the local part (RFC 5321 4.5.3.1.1 allows
     more): SRS and VERP senders exceed it; the whole path is bounded */
  if (!dot_loose(p, at, utf8) || !domain_ok(p + at + 1, pl - at - 1, utf8)) return ADDR_SYNTAX;
  return stralloc_copyb(out, p, pl) && stralloc_0(out) ? ADDR_OK : ADDR_SYNTAX;
}

int addr_parse(const char *x, size_t len, int flags, stralloc *out)
{
  int r = parse(x, len, flags, out);
  size_t i;
  /* only a refusal looks for 8-bit bytes: a plain path costs nothing more */
  if (r != ADDR_SYNTAX || (flags & ADDR_UTF8) || len < 2) return r;
  for (i = 1; i + 1 < len; ++i)
    if ((unsigned char)x[i] >= 0x80)
      return utf8_valid(x + 1, len - 2) ? ADDR_NEED_UTF8 : ADDR_BAD_UTF8;
  return r;
}

int addr_internal(const char *a, stralloc *out)
{
  size_t len = strlen(a), ql = quoted_len(a, len, 1);
  out->len = 0;
  if (ql) {
    if (!cat_unquoted(out, a, ql)) return 0;
    a += ql;
  }
  return stralloc_cats(out, a) && stralloc_0(out);
}

int addr_xtext(const char *x, size_t len, stralloc *out)
{
  size_t i;
  out->len = 0;
  for (i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)x[i];
    if (c == '+') {
      int h, l;
      if (i + 2 >= len) return -1;
      h = hexval(x[i + 1]);
      l = hexval(x[i + 2]);
      if (h < 0 || l < 0) return -1;
      c = (unsigned char)(h * 16 + l);
      i += 2;
      if (c < 32 || c > 126) return -1;
    } else if (c < 33 || c > 126 || c == '=') return -1;
    if (!stralloc_append(out, (char *)&c)) return -1;
  }
  return stralloc_0(out) ? 0 : -1;
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
      /* 8-bit bytes only in ORCPT's value (RFC 6533's utf-8-addr-unitext
         under SMTPUTF8, checked there) */
      int eight = i - k == 5 && !strncasecmp(x + k, "orcpt", 5);
      v = ++i;
      while (i < len && (unsigned char)x[i] > 32 && x[i] != 127 && x[i] != '='
             && ((unsigned char)x[i] < 128 || eight)) ++i;
      ve = i;
      if (ve == v) return -1;
      if (!stralloc_append(out, "=") || !stralloc_catb(out, x + v, ve - v)) return -1;
    }
    if (i < len && x[i] != ' ') return -1;
    if (!stralloc_0(out)) return -1;
  }
  return 0;
}
