/* DSN's and XCLIENT's parsers over hostile bytes (dsn.c,
   xclient_parse.c), with properties: xtext decodes to printable ASCII no
   longer than what was sent, and encoding it again decodes to the same;
   any printable string survives encode then decode; RFC 6533's
   utf-8-addr-xtext and -unitext decode to well-formed UTF-8 without
   controls, no longer than the input (ASCII-only input when not unitext),
   and encode back to xtext that decodes to the same; any such UTF-8
   survives encode then decode; NOTIFY's mask prints and parses back to
   itself, NEVER alone; an ORCPT taken is "rfc822;" or "utf-8;" and an
   address without controls; XCLIENT attributes taken print back (xtext)
   to a line that parses to the same attributes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <stralloc.h>
#include "../addr.h"
#include "../dsn.h"
#include "../ipnet.h"
#include "../utf8.h"
#include "../xclient_parse.h"

static void no_controls(const stralloc *sa)
{
  size_t i;
  for (i = 0; i + 1 < sa->len; ++i)
    if ((unsigned char)sa->s[i] < 32 || sa->s[i] == 127) abort();
  if (!sa->len || sa->s[sa->len - 1]) abort();
}

static void xtext_props(const char *x, size_t n)
{
  stralloc d = {0}, e = {0}, d2 = {0};
  size_t i;
  int printable = 1;
  if (addr_xtext(x, n, &d) == 0) {
    no_controls(&d);
    if (d.len - 1 > n) abort();
    for (i = 0; i + 1 < d.len; ++i) if ((unsigned char)d.s[i] > 126) abort();
    if (!dsn_xtext_encode(&e, d.s, d.len - 1)) abort();
    if (e.len > 3 * (d.len - 1)) abort();
    if (addr_xtext(e.s, e.len, &d2) != 0 || d2.len != d.len || memcmp(d2.s, d.s, d.len)) abort();
  }
  /* the raw bytes as a string: printable ASCII comes back the same */
  for (i = 0; i < n; ++i) if ((unsigned char)x[i] < 32 || (unsigned char)x[i] > 126) printable = 0;
  e.len = 0;
  if (!dsn_xtext_encode(&e, x, n)) abort();
  for (i = 0; i < e.len; ++i) if ((unsigned char)e.s[i] <= 32 || (unsigned char)e.s[i] >= 127 || e.s[i] == '=') abort();
  if ((addr_xtext(e.s, e.len, &d2) == 0) != printable) abort();
  if (printable && (d2.len != n + 1 || memcmp(d2.s, x, n))) abort();
  stralloc_free(&d); stralloc_free(&e); stralloc_free(&d2);
}

static void utf8addr_props(const char *x, size_t n)
{
  stralloc d = {0}, e = {0}, d2 = {0};
  int unitext;
  size_t i;
  for (unitext = 0; unitext < 2; ++unitext) {
    if (dsn_utf8addr_decode(x, n, unitext, &d) != 0) continue;
    no_controls(&d);
    if (d.len - 1 > n || !utf8_valid(d.s, d.len - 1)) abort();
    if (!unitext) for (i = 0; i < n; ++i) if ((unsigned char)x[i] >= 128) abort();
    e.len = 0;
    if (!dsn_utf8addr_encode(&e, d.s, d.len - 1)) abort();
    for (i = 0; i < e.len; ++i) if ((unsigned char)e.s[i] <= 32 || (unsigned char)e.s[i] >= 127) abort();
    if (dsn_utf8addr_decode(e.s, e.len, 0, &d2) != 0 || d2.len != d.len || memcmp(d2.s, d.s, d.len)) abort();
  }
  /* the raw bytes as an address: well-formed UTF-8 without controls
     comes back the same */
  for (i = 0; i < n; ++i) if ((unsigned char)x[i] < 32 || x[i] == 127) break;
  if (i == n && n && utf8_valid(x, n)) {
    e.len = 0;
    if (!dsn_utf8addr_encode(&e, x, n)) abort();
    if (dsn_utf8addr_decode(e.s, e.len, 0, &d2) != 0 || d2.len != n + 1 || memcmp(d2.s, x, n)) abort();
  }
  stralloc_free(&d); stralloc_free(&e); stralloc_free(&d2);
}

static void param_props(const char *x, size_t n)
{
  stralloc o = {0};
  int mask, again;
  char buf[32];
  if (!dsn_parse_notify(x, n, &mask)) {
    size_t l = dsn_notify_fmt(buf, mask);
    if (!mask || mask > 15 || ((mask & DSN_NOTIFY_NEVER) && mask != DSN_NOTIFY_NEVER)) abort();
    if (dsn_parse_notify(buf, l, &again) || again != mask) abort();
  }
  if (!dsn_parse_ret(x, n, &mask) && mask != DSN_RET_FULL && mask != DSN_RET_HDRS) abort();
  if (!dsn_parse_envid(x, n, &o) && (n > DSN_ENVID_MAX || o.len > n + 1)) abort();
  if (!dsn_parse_orcpt(x, n, n & 1, &o)) {
    no_controls(&o);
    if (n > DSN_ORCPT_MAX) abort();
    if (strncmp(o.s, "rfc822;", 7) && strncmp(o.s, "utf-8;", 6)) abort();
  }
  stralloc_free(&o);
}

static void put_ip(stralloc *l, const char ip[16])
{
  char b[IPNET_FMT6 + 1];
  if (ip6_isv4mapped(ip)) stralloc_catb(l, b, fmt_ip4(b, ip + 12));
  else { stralloc_cats(l, "IPV6:"); stralloc_catb(l, b, ipnet_fmt6(b, ip)); }
}

static void xclient_props(const char *x, size_t n)
{
  static struct xclient a, b;
  stralloc l = {0};
  unsigned int k;
  char num[FMT_ULONG];
  if (xclient_parse(x, n, &a)) return;
  if (!a.given || (a.unavail & a.tempunavail) || ((a.unavail | a.tempunavail) & ~a.given)) abort();
  if (strlen(a.name) > XC_TEXT_MAX || strlen(a.helo) > XC_TEXT_MAX || strlen(a.login) > XC_TEXT_MAX) abort();
  for (k = 0; k < XC_COUNT; ++k) {
    if (!(a.given & (1u << k))) continue;
    stralloc_cats(&l, l.len ? " " : "");
    stralloc_cats(&l, xclient_names[k]);
    stralloc_cats(&l, "=");
    if (a.unavail & (1u << k)) { stralloc_cats(&l, "[UNAVAILABLE]"); continue; }
    if (a.tempunavail & (1u << k)) { stralloc_cats(&l, "[TEMPUNAVAIL]"); continue; }
    switch (k) {
    case XC_NAME: dsn_xtext_encode(&l, a.name, strlen(a.name)); break;
    case XC_HELO: dsn_xtext_encode(&l, a.helo, strlen(a.helo)); break;
    case XC_LOGIN: dsn_xtext_encode(&l, a.login, strlen(a.login)); break;
    case XC_ADDR: put_ip(&l, a.addr); break;
    case XC_DESTADDR: put_ip(&l, a.destaddr); break;
    case XC_PORT: stralloc_catb(&l, num, fmt_ulong(num, a.port)); break;
    case XC_DESTPORT: stralloc_catb(&l, num, fmt_ulong(num, a.destport)); break;
    case XC_PROTO: stralloc_cats(&l, a.esmtp ? "ESMTP" : "SMTP"); break;
    }
  }
  if (xclient_parse(l.s, l.len, &b) || memcmp(&a, &b, sizeof a)) abort();
  stralloc_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *x = (const char *)data;
  xtext_props(x, size);
  utf8addr_props(x, size);
  param_props(x, size);
  xclient_props(x, size);
  return 0;
}
