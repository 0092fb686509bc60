/* XCLIENT attributes (Postfix's XCLIENT_README): NAME, ADDR, PORT, PROTO,
   HELO, LOGIN, DESTADDR, DESTPORT, each at most once, its value xtext;
   [UNAVAILABLE] and [TEMPUNAVAIL] for any. ADDR and DESTADDR are IPv4 or
   "IPV6:" and an IPv6 address (a bare IPv6 address too). Pure. */
#include <string.h>
#include <stralloc.h>
#include "addr.h"
#include "dsn.h"
#include "ipnet.h"
#include "xclient_parse.h"

const char *const xclient_names[XC_COUNT] = { "NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT" };

static int ip(const char *v, size_t n, char out[16])
{
  if (n > 5 && dsn_word(v, 5, "IPV6:")) { v += 5; n -= 5; }
  return ipnet_scan(v, n, out);
}

static int port(const char *v, size_t n, unsigned long *p)
{
  size_t i;
  *p = 0;
  if (!n || n > 5) return 0;
  for (i = 0; i < n; ++i) {
    if (v[i] < '0' || v[i] > '9') return 0;
    *p = *p * 10 + (unsigned long)(v[i] - '0');
  }
  return *p <= 65535;
}

static int text(const char *v, size_t n, char *out, int host)
{
  size_t i;
  if (!n || n > XC_TEXT_MAX) return 0;
  for (i = 0; i < n; ++i) {
    char c = v[i];
    if (host ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
             : (c < 32 || c >= 127)) return 0;
  }
  memcpy(out, v, n);
  out[n] = 0;
  return 1;
}

const char *xclient_parse(const char *s, size_t len, struct xclient *x)
{
  stralloc d = {0};
  const char *why = 0;
  size_t i = 0;
  memset(x, 0, sizeof *x);
  while (i < len && !why) {
    size_t k = i, eq, e;
    unsigned int a;
    const char *v;
    size_t vl;
    while (i < len && s[i] != ' ') ++i;
    e = i;
    while (i < len && s[i] == ' ') ++i;
    for (eq = k; eq < e && s[eq] != '='; ++eq) ;
    if (eq == e) { why = "Bad XCLIENT syntax: NAME=value expected"; break; }
    for (a = 0; a < XC_COUNT && !dsn_word(s + k, eq - k, xclient_names[a]); ++a) ;
    if (a == XC_COUNT) { why = "Bad XCLIENT attribute name"; break; }
    if (x->given & (1u << a)) { why = "Bad XCLIENT syntax: an attribute given twice"; break; }
    x->given |= 1u << a;
    if (addr_xtext(s + eq + 1, e - eq - 1, &d) == -1 || d.len < 2) { why = "Bad XCLIENT attribute value: not xtext"; break; }
    v = d.s;
    vl = d.len - 1;
    if (dsn_word(v, vl, "[UNAVAILABLE]")) { x->unavail |= 1u << a; continue; }
    if (dsn_word(v, vl, "[TEMPUNAVAIL]")) { x->tempunavail |= 1u << a; continue; }
    switch (a) {
    case XC_NAME: if (!text(v, vl, x->name, 1)) why = "Bad XCLIENT NAME: not a host name"; break;
    case XC_ADDR: if (!ip(v, vl, x->addr)) why = "Bad XCLIENT ADDR: not an IP address"; break;
    case XC_DESTADDR: if (!ip(v, vl, x->destaddr)) why = "Bad XCLIENT DESTADDR: not an IP address"; break;
    case XC_PORT: if (!port(v, vl, &x->port)) why = "Bad XCLIENT PORT: not a port number"; break;
    case XC_DESTPORT: if (!port(v, vl, &x->destport)) why = "Bad XCLIENT DESTPORT: not a port number"; break;
    case XC_PROTO:
      if (dsn_word(v, vl, "ESMTP")) x->esmtp = 1;
      else if (!dsn_word(v, vl, "SMTP")) why = "Bad XCLIENT PROTO: SMTP or ESMTP";
      break;
    case XC_HELO: if (!text(v, vl, x->helo, 0)) why = "Bad XCLIENT HELO: printable ASCII expected"; break;
    case XC_LOGIN: if (!text(v, vl, x->login, 0)) why = "Bad XCLIENT LOGIN: printable ASCII expected"; break;
    }
  }
  if (!why && !x->given) why = "Bad XCLIENT syntax: no attribute";
  stralloc_free(&d);
  return why;
}
