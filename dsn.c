/* DSN parameters (RFC 3461 4) and their encodings (RFC 3461 4, RFC 6533
   3). Pure functions; the engine (smtp.c) keeps what they return in the
   transaction's notes. */
#include <string.h>
#include "addr.h"
#include "dsn.h"
#include "utf8.h"

int dsn_word(const char *v, size_t len, const char *w)
{
  size_t i;
  if (strlen(w) != len) return 0;
  for (i = 0; i < len; ++i) {
    char c = v[i];
    if (c >= 'a' && c <= 'z') c = (char)(c - 32);
    if (c != w[i]) return 0;
  }
  return 1;
}

const char *dsn_parse_ret(const char *v, size_t len, int *ret)
{
  if (dsn_word(v, len, "FULL")) *ret = DSN_RET_FULL;
  else if (dsn_word(v, len, "HDRS")) *ret = DSN_RET_HDRS;
  else return "Bad RET parameter: FULL or HDRS";
  return 0;
}

const char *dsn_parse_envid(const char *v, size_t len, stralloc *out)
{
  if (len > DSN_ENVID_MAX) return "Bad ENVID parameter: longer than 100 characters";
  if (addr_xtext(v, len, out) == -1) return "Bad ENVID parameter: not xtext of printable ASCII";
  return 0;
}

static const char *const notify_words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };

const char *dsn_parse_notify(const char *v, size_t len, int *mask)
{
  size_t i = 0;
  *mask = 0;
  while (i <= len) {
    const char *c = memchr(v + i, ',', len - i);
    size_t e = c ? (size_t)(c - v) : len;
    int k, bit = 0;
    for (k = 0; k < 4; ++k)
      if (dsn_word(v + i, e - i, notify_words[k])) bit = 1 << k;
    if (!bit) return "Bad NOTIFY parameter: NEVER, or a comma list of SUCCESS, FAILURE and DELAY";
    if (*mask & bit) return "Bad NOTIFY parameter: a keyword given twice";
    *mask |= bit;
    i = e + 1;
  }
  if ((*mask & DSN_NOTIFY_NEVER) && *mask != DSN_NOTIFY_NEVER) return "Bad NOTIFY parameter: NEVER must stand alone";
  return 0;
}

size_t dsn_notify_fmt(char *buf, int mask)
{
  size_t n = 0;
  int k;
  for (k = 0; k < 4; ++k) {
    size_t l;
    if (!(mask & (1 << k))) continue;
    if (n) buf[n++] = ',';
    l = strlen(notify_words[k]);
    memcpy(buf + n, notify_words[k], l);
    n += l;
  }
  buf[n] = 0;
  return n;
}

int dsn_xtext_encode(stralloc *out, const char *x, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i;
  for (i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)x[i];
    if (c > 32 && c < 127 && c != '+' && c != '=') {
      if (!stralloc_append(out, (char *)&c)) return 0;
    } else {
      char e[3] = { '+', hex[c >> 4], hex[c & 15] };
      if (!stralloc_catb(out, e, 3)) return 0;
    }
  }
  return 1;
}

static size_t utf8_put(char *o, unsigned long cp)
{
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* RFC 6533's QCHAR: printable ASCII but "+", "=" and "\" */
static int qchar(unsigned char c) { return c > 32 && c < 127 && c != '+' && c != '=' && c != '\\'; }

int dsn_utf8addr_decode(const char *x, size_t len, int unitext, stralloc *out)
{
  size_t i = 0;
  out->len = 0;
  while (i < len) {
    unsigned char c = (unsigned char)x[i];
    if (c == '\\') {
      /* \x{HEXPOINT}: 2 to 6 hex digits, no leading zero past two */
      unsigned long cp = 0;
      size_t j = i + 3, n;
      char u[4];
      if (len - i < 6 || x[i + 1] != 'x' || x[i + 2] != '{') return -1;
      while (j < len && j - i - 3 < 7) {
        char h = x[j];
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) break;
        cp = cp * 16 + (unsigned long)d;
        ++j;
      }
      n = j - i - 3;
      if (j >= len || x[j] != '}' || n < 2 || n > 6 || (n > 2 && x[i + 3] == '0')) return -1;
      /* only what a QCHAR cannot say: space, "+", "=", "\" and non-ASCII
         scalar values (controls would be refused below anyway) */
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp < 0x80 && qchar((unsigned char)cp))
          || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return -1;
      if (!stralloc_catb(out, u, utf8_put(u, cp))) return -1;
      i = j + 1;
      continue;
    }
    if (qchar(c)) {
      if (!stralloc_append(out, (char *)&c)) return -1;
      ++i;
      continue;
    }
    if (c < 0x80 || !unitext) return -1;
    {
      /* a UTF-8 sequence, whole */
      size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if (len - i < n || !utf8_valid(x + i, n) || !stralloc_catb(out, x + i, n)) return -1;
      i += n;
    }
  }
  return stralloc_0(out) ? 0 : -1;
}

int dsn_utf8addr_encode(stralloc *out, const char *x, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *p = (const unsigned char *)x;
  size_t i = 0;
  if (!utf8_valid(x, len)) return 0;
  while (i < len) {
    unsigned long cp = p[i];
    size_t n = 1, k;
    char e[12];
    size_t l = 0, d;
    if (qchar(p[i])) {
      if (!stralloc_append(out, x + i)) return 0;
      ++i;
      continue;
    }
    if (cp >= 0x80) {
      n = cp >= 0xf0 ? 4 : cp >= 0xe0 ? 3 : 2;
      cp &= n == 4 ? 0x07 : n == 3 ? 0x0f : 0x1f;
      for (k = 1; k < n; ++k) cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    e[l++] = '\\'; e[l++] = 'x'; e[l++] = '{';
    for (d = 6; d > 2 && !(cp >> (4 * (d - 1))); --d) ;
    while (d--) e[l++] = hex[(cp >> (4 * d)) & 15];
    e[l++] = '}';
    if (!stralloc_catb(out, e, l)) return 0;
    i += n;
  }
  return 1;
}

static int has_control(const stralloc *sa)
{
  size_t i;
  for (i = 0; i + 1 < sa->len; ++i)
    if ((unsigned char)sa->s[i] < 32 || sa->s[i] == 127) return 1;
  return 0;
}

const char *dsn_parse_orcpt(const char *v, size_t len, int utf8, stralloc *out)
{
  const char *semi = memchr(v, ';', len);
  stralloc dec = {0};
  size_t tl;
  int r;
  if (len > DSN_ORCPT_MAX) return "Bad ORCPT parameter: longer than 500 characters";
  if (!semi) return "Bad ORCPT parameter: addr-type;address";
  tl = (size_t)(semi - v);
  ++semi;
  if (dsn_word(v, tl, "RFC822")) {
    r = addr_xtext(semi, len - tl - 1, &dec);
    if (!stralloc_copys(out, "rfc822;")) r = -1;
  } else if (dsn_word(v, tl, "UTF-8")) {
    r = dsn_utf8addr_decode(semi, len - tl - 1, utf8, &dec);
    if (!stralloc_copys(out, "utf-8;")) r = -1;
  } else
    return "Bad ORCPT parameter: the address type must be rfc822 or utf-8";
  if (r == -1 || dec.len < 2 || has_control(&dec) || !stralloc_cat(out, &dec)) {
    stralloc_free(&dec);
    return utf8 ? "Bad ORCPT parameter: not xtext, utf-8-addr-xtext or utf-8-addr-unitext"
                : "Bad ORCPT parameter: not xtext or utf-8-addr-xtext";
  }
  stralloc_free(&dec);
  return 0;
}
