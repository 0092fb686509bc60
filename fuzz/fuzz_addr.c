/* The path, xtext and ESMTP parameter parsers: never read out of bounds;
   addr_parse accepts exactly what a reference accepts (the grammar of
   addr.h written again as regular expressions, run by our own engine) and
   stores what the reference says; a parsed address holds only printable
   ASCII and space (nothing that could break a header, an envelope record
   or a log line), parses again to itself inside brackets, is no longer
   than its input, and its internal form has no NUL, CR or LF either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "../addr.h"
#include "../regex.h"

#define ATEXT "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-"
/* a quoted string: qtext (32-126 but '"' and '\') or a quoted pair */
static const char *re_quoted = "^\"(?:[ !#-\\[\\]-~]|\\\\[ -~])+\"$";
static const char *re_loose = "^[" ATEXT ".]*[" ATEXT "][" ATEXT ".]*$";
static const char *re_strict = "^[" ATEXT "]+(?:\\.[" ATEXT "]+)*$";
static const char *re_name = "^[A-Za-z0-9_](?:[A-Za-z0-9_\\-]*[A-Za-z0-9_])?(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_\\-]*[A-Za-z0-9_])?)*$";
static const char *re_v4 = "^\\[[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\]$";
static const char *re_v6 = "^\\[IPv6:[0-9a-fA-F:.]+\\]$";

static struct re rq, rl, rs, rn, r4, r6;

static int m(struct re *r, const char *x, size_t len) { return re_match(r, x, len); }

static int ref_domain(const char *x, size_t len)
{
  size_t i, lab = 0;
  if (!len || len > 255) return 0;
  if (m(&r6, x, len)) return 1;
  if (m(&r4, x, len)) {
    unsigned v = 0;
    for (i = 1; i < len; ++i) {
      if (x[i] >= '0' && x[i] <= '9') { v = v * 10 + (unsigned)(x[i] - '0'); continue; }
      if (v > 255) return 0;
      v = 0;
    }
    return 1;
  }
  if (!m(&rn, x, len)) return 0;
  for (i = 0; i < len; ++i) {
    if (x[i] == '.') lab = 0;
    else if (++lab > 63) return 0;
  }
  return 1;
}

/* 1 and the stored form in out, or 0 */
static int ref_parse(const char *x, size_t len, int rcpt, stralloc *out)
{
  const char *p, *at;
  size_t pl, i, ll;
  if (len < 2 || x[0] != '<' || x[len - 1] != '>') return 0;
  p = x + 1;
  pl = len - 2;
  if (pl > 512) return 0;
  for (i = 0; i < pl; ++i)
    if ((unsigned char)p[i] < 32 || (unsigned char)p[i] > 126) return 0;
  if (!pl) return !rcpt && stralloc_copys(out, "");
  if (p[0] == '@') {
    const char *colon = memchr(p, ':', pl), *d = p;
    if (!colon) return 0;
    while (d < colon) {
      const char *e = memchr(d, ',', (size_t)(colon - d));
      if (!e) e = colon;
      if (*d != '@' || !ref_domain(d + 1, (size_t)(e - d - 1))) return 0;
      d = e < colon ? e + 1 : e;
    }
    if (colon[-1] == ',') return 0;
    pl -= (size_t)(colon + 1 - p);
    p = colon + 1;
  }
  if (rcpt && pl == 10 && !strncasecmp(p, "postmaster", 10)) return stralloc_copyb(out, p, pl);
  at = NULL;
  for (i = 0; i < pl; ++i) if (p[i] == '@') at = p + i;
  if (!at || !ref_domain(at + 1, pl - (size_t)(at + 1 - p))) return 0;
  ll = (size_t)(at - p);
  if (m(&rl, p, ll)) return stralloc_copyb(out, p, pl);
  if (!m(&rq, p, ll)) return 0;
  if (!stralloc_copys(out, "")) return 0;
  for (i = 1; i + 1 < ll; ++i) {
    if (p[i] == '\\') ++i;
    if (!stralloc_append(out, p + i)) return 0;
  }
  if (m(&rs, out->s, out->len)) return stralloc_catb(out, at, pl - ll);
  return stralloc_copyb(out, p, pl);
}

static void compile(struct re *r, const char *pat)
{
  const char *err;
  if (!re_compile(r, pat, 0, &err)) abort();
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* RFC 3461 4 written again: 1 when x is xtext decoding to printable ASCII */
static int ref_xtext(const char *x, size_t len, stralloc *out)
{
  size_t i;
  out->len = 0;
  for (i = 0; i < len; ++i) {
    int c = (unsigned char)x[i];
    if (c == '+') {
      if (len - i < 3 || hexval(x[i + 1]) < 0 || hexval(x[i + 2]) < 0) return 0;
      c = hexval(x[i + 1]) * 16 + hexval(x[i + 2]);
      i += 2;
      if (c < 32 || c > 126) return 0;
    } else if (c < 33 || c > 126 || c == '=') return 0;
    if (!stralloc_append(out, (char *)&c)) abort();
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int ready;
  stralloc out = {0}, again = {0}, params = {0}, ref = {0}, in = {0};
  const char *x = (const char *)data;
  long pl = addr_pathlen(x, size);
  int rcpt;
  if (!ready) {
    compile(&rq, re_quoted); compile(&rl, re_loose); compile(&rs, re_strict);
    compile(&rn, re_name); compile(&r4, re_v4); compile(&r6, re_v6);
    ready = 1;
  }
  for (rcpt = 0; rcpt < 2; ++rcpt) {
    int ok = addr_parse(x, size, rcpt, &out) == ADDR_OK;
    ref.len = 0;
    if (ok != ref_parse(x, size, rcpt, &ref)) abort();
    if (ok) {
      size_t i, len = out.len - 1;          /* without the \0 */
      if (len != ref.len || (len && memcmp(out.s, ref.s, len))) abort();
      if (len > size) abort();
      for (i = 0; i < len; ++i)
        if ((unsigned char)out.s[i] < 32 || (unsigned char)out.s[i] > 126) abort();
      if (!addr_internal(out.s, &in)) abort();
      if (in.len > out.len || strlen(in.s) != in.len - 1) abort();
      if (memchr(in.s, '\r', in.len) || memchr(in.s, '\n', in.len)) abort();
      if (len) {
        stralloc w = {0};
        if (!stralloc_copys(&w, "<") || !stralloc_catb(&w, out.s, len) || !stralloc_cats(&w, ">")) abort();
        if (addr_parse(w.s, w.len, rcpt, &again) != ADDR_OK) abort();
        if (again.len != out.len || memcmp(again.s, out.s, out.len)) abort();
        stralloc_free(&w);
      }
    }
  }
  if (pl > (long)size) abort();
  {
    int ok = addr_xtext(x, size, &out) == 0;
    if (ok != ref_xtext(x, size, &ref)) abort();
    if (ok && (out.len != ref.len + 1 || (ref.len && memcmp(out.s, ref.s, ref.len)))) abort();
  }
  if (addr_params(x, size, &params) == 0) {
    size_t i;
    for (i = 0; i < params.len; ++i)
      if (params.s[i] == '\r' || params.s[i] == '\n') abort();
  }
  stralloc_free(&out);
  stralloc_free(&again);
  stralloc_free(&params);
  stralloc_free(&ref);
  stralloc_free(&in);
  return 0;
}
