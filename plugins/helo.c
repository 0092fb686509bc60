/* helo: checks the HELO/EHLO host name, like Perl qpsmtpd's plugins/helo
   (0.94; where HEAD differs, HEAD's IPv6 handling is followed). The checks
   by policy:
     lenient  is_in_badhelo, invalid_localhost, is_forged_literal,
              is_plain_ip
     rfc      lenient's, and is_not_fqdn, no_forward_dns, no_reverse_dns
     strict   rfc's, and is_address_literal, no_matching_dns
   The first check that fails decides, through the shared reject
   convention: reject 0|1|naughty (default 1), reject_type (default
   disconnect; Perl forced disconnect whatever the argument said). Relay
   clients and whitelisted hosts are immune. At data_post the message gets
   an X-HELO header.

   The DNS checks (dns_query.c) ask for the A and AAAA records of the name and
   the PTR of the client's address at once, under one deadline: timeout N
   seconds (default 5). no_forward_dns: NXDOMAIN fails ("HELO hostname
   does not exist"), no address record fails ("HELO hostname did not
   resolve"; Perl's Net::DNS reported that case as an error and let it
   pass), a temporary failure is logged and passes (as Perl). An address
   equal to the client's, or in its /24 (IPv4) or /96 (IPv6, Perl's six
   groups), sets the connection note helo_forward_match. no_reverse_dns:
   no PTR fails ("no rDNS for IP"); a PTR name equal to the HELO name, or
   with the same last two labels, sets helo_reverse_match. A temporary
   failure of the PTR lookup, which Perl refused like a missing PTR, is
   answered 450 (4.4.3, with the connection closed when reject_type is a
   disconnect) under reject 1 and only logged under reject 0 or naughty:
   never a 5xx. no_matching_dns fails when neither note is set.

   badhelo holds host names (compared case-insensitively) and patterns: a
   line holding any of { } [ ] ( ) ^ $ | * + ? \ ! is a regular expression
   (see regex.h), negated when it starts with '!'. Every line is tried
   (Perl stopped at the first pattern line, match or not). A pattern that
   does not compile is an error naming the line: the client is told to
   come back later. */
#include <stdlib.h>
#include <string.h>
#include <byte.h>
#include <case.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "regex.h"

#define PLUGIN "helo"

enum policy { LENIENT, RFC, STRICT };

struct helo {
  enum policy policy;
  struct reject r;
  unsigned long timeout;
  stralloc host, text, log, bad, rev;
  struct dns_query q[3];        /* A, AAAA of the name; PTR of the client */
};

static int helo_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct helo *h = calloc(1, sizeof *h);
  int i;

  if (!h) return stralloc_copys(err, "out of memory"), 0;
  h->r.mode = REJECT_YES;
  h->r.type = "disconnect";
  h->timeout = 5;
  for (i = 0; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : 0;
    int k = reject_arg(&h->r, argv[i], v, err);
    if (k < 0) return 0;
    if (k) continue;
    if (!v) {
      if (stralloc_copys(err, "missing value after ")) stralloc_cats(err, argv[i]);
      return 0;
    }
    if (str_equal(argv[i], "policy")) {
      if (str_equal(v, "lenient")) h->policy = LENIENT;
      else if (str_equal(v, "rfc")) h->policy = RFC;
      else if (str_equal(v, "strict")) h->policy = STRICT;
      else {
        if (stralloc_copys(err, "policy takes lenient, rfc or strict, not ")) stralloc_cats(err, v);
        return 0;
      }
    } else if (str_equal(argv[i], "timeout") || str_equal(argv[i], "dns_timeout")) {
      size_t len = str_len(v);
      if (!len || v[0] < '0' || v[0] > '9' || scan_ulong(v, &h->timeout) != len || !h->timeout || h->timeout > 300) {
        if (stralloc_copys(err, "timeout takes seconds from 1 to 300, not ")) stralloc_cats(err, v);
        return 0;
      }
    } else if (!str_equal(argv[i], "loglevel")) {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, argv[i]);
      return 0;
    }
  }
  *self = h;
  return 1;
}

/* a.b.c.d with 1 to 3 digits each */
static int dotted_quad(const char *x, size_t len)
{
  char ip[4];
  size_t i, dots = 0;
  for (i = 0; i < len; ++i)
    if (x[i] == '.') ++dots;
    else if (x[i] < '0' || x[i] > '9') return 0;
  return dots == 3 && scan_ip4(x, ip) == len;
}

static int plain_ip6(const char *x, size_t len)
{
  char ip[16];
  return byte_chr(x, len, ':') < len && scan_ip6(x, ip) == len;
}

/* "[a.b.c.d]" or "[IPv6:...]": the address in ip (16 bytes, v4-mapped) */
static int literal(const char *x, size_t len, char *ip)
{
  if (len < 3 || x[0] != '[' || x[len - 1] != ']') return 0;
  x++; len -= 2;
  if (dotted_quad(x, len)) {
    byte_copy(ip, 12, V4mappedprefix);
    return scan_ip4(x, ip + 12) == len;
  }
  if (len > 5 && case_equalb(x, 5, "IPv6:")) return scan_ip6(x + 5, ip) == len - 5 && byte_chr(x + 5, len - 5, ':') < len - 5;
  return 0;
}

static int remote_addr(struct session *s, char *ip)
{
  const char *r = session_remote_ip(s);
  size_t len = str_len(r);
  if (byte_chr(r, len, ':') == len) {
    byte_copy(ip, 12, V4mappedprefix);
    return scan_ip4(r, ip + 12) == len;
  }
  return scan_ip6(r, ip) == len;
}

static int localhost_ip(struct session *s)
{
  char ip[16];
  if (!remote_addr(s, ip)) return 0;
  if (ip6_isv4mapped(ip)) return ip[12] == 127;
  return byte_equal(ip, 16, V6loopback);
}

static int is_pattern(const char *line)
{
  return line[strcspn(line, "{}[]()^$|*+?\\!")] != 0;
}

/* badhelo, read before the greeting: a pattern that does not compile is a
   421 at connect naming its file and line */
static int helo_setup(struct session *s, void *self)
{
  struct helo *h = self;
  struct control_at at = { {0}, {0} };
  size_t i;
  if (!control_readlist_at(s, "badhelo", &h->bad, &at)) return 1;
  for (i = 0; i < h->bad.len; i += str_len(h->bad.s + i) + 1) {
    const char *line = h->bad.s + i, *why = 0;
    struct re re;
    stralloc m = {0};
    if (!is_pattern(line)) continue;
    if (re_compile(&re, line + (line[0] == '!'), RE_ICASE, &why)) { re_free(&re); continue; }
    if (!stralloc_copys(&m, "bad pattern ") || !stralloc_cats(&m, line) || !stralloc_cats(&m, " (")
        || !stralloc_cats(&m, why ? why : "?") || !stralloc_cats(&m, ")") || !stralloc_0(&m))
      return 0;
    die_control_at(s, &at, &h->bad, line, "badhelo", m.s);
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

/* 1 fail (text, log set), 0 pass, -1 error (reply set) */
static int in_badhelo(struct session *s, struct helo *h, stralloc *msg)
{
  size_t i;

  for (i = 0; i < h->bad.len; i += str_len(h->bad.s + i) + 1) {
    const char *line = h->bad.s + i;
    if (is_pattern(line)) {
      struct re re;
      int neg = line[0] == '!';
      const char *why = 0;
      int m;
      if (!re_compile(&re, line + neg, RE_ICASE, &why)) {  /* checked at setup: out of memory */
        stralloc_copys(msg, "4.3.0 Local configuration error (badhelo); try again later");
        return -1;
      }
      m = re_match(&re, h->host.s, h->host.len - 1);
      re_free(&re);
      if (m != neg) {
        if (!stralloc_copys(&h->text, "Your HELO hostname is not allowed") || !stralloc_0(&h->text)
            || !stralloc_copys(&h->log, "badhelo pattern match (") || !stralloc_cats(&h->log, line)
            || !stralloc_cats(&h->log, ")") || !stralloc_0(&h->log))
          return -1;
        return 1;
      }
    } else if (case_equals(line, h->host.s)) {
      if (!stralloc_copys(&h->text, "I do not believe you are ") || !stralloc_cats(&h->text, h->host.s)
          || !stralloc_cats(&h->text, ".") || !stralloc_0(&h->text) || !stralloc_copys(&h->log, "in badhelo")
          || !stralloc_0(&h->log))
        return -1;
      return 1;
    }
  }
  return 0;
}

static int fail(struct helo *h, const char *text, const char *log)
{
  if (!stralloc_copys(&h->text, text) || !stralloc_0(&h->text) || !stralloc_copys(&h->log, log) || !stralloc_0(&h->log))
    return -1;
  return 1;
}

/* Perl's check_ip_match: the same address, or the same /24 (IPv4) or
   first six groups (IPv6) */
static int ip_match(const char *client, const char *addr)
{
  char b[16];
  size_t len = str_len(addr);
  if (byte_chr(addr, len, ':') == len) {
    byte_copy(b, 12, V4mappedprefix);
    if (scan_ip4(addr, b + 12) != len) return 0;
  } else if (scan_ip6(addr, b) != len)
    return 0;
  if (ip6_isv4mapped(client) != ip6_isv4mapped(b)) return 0;
  return byte_equal(client, ip6_isv4mapped(b) ? 15 : 12, b);
}

/* the last two labels of a name */
static const char *last2(const char *x)
{
  size_t len = str_len(x), dots = 0;
  while (len) {
    if (x[len - 1] == '.' && ++dots == 2) break;
    --len;
  }
  return x + len;
}

/* Perl's check_name_match (names in lower case) */
static int name_match(const char *ptr, const char *helo)
{
  if (byte_chr(ptr, str_len(ptr), '.') == str_len(ptr)) return 0;   /* not a FQDN */
  return str_equal(ptr, helo) || str_equal(last2(ptr), last2(helo));
}

/* no_forward_dns and no_reverse_dns: 0 pass, 1 fail and 2 temporary
   failure (text, log set), -1 out of memory */
static int dns_checks(struct session *s, struct helo *h, const char *x, size_t len)
{
  const char *rip = session_remote_ip(s);
  char ip[16], client[16];
  unsigned int i;
  int isliteral = literal(x, len, ip), fwdmatch = 0, revmatch = 0;
  size_t k;

  if (h->host.len > 2 && h->host.s[h->host.len - 2] == '.') h->host.s[h->host.len - 2] = 0;
  if (!note_conn_set(s, "helo_forward_match", "") || !note_conn_set(s, "helo_reverse_match", "")) return -1;
  if (!remote_addr(s, client)) {
    qlogm(s, LOGINFO, PLUGIN, "skip DNS checks, not an IP address: ", rip);
    return 0;
  }
  for (i = 0; i < 3; ++i) {
    dns_query_free(&h->q[i]);
    h->q[i].status = DNS_NONE;
  }
  /* no_forward_dns is skipped for an address literal, as in Perl */
  if (!isliteral && (dns_query_set(&h->q[0], x, len, DNSQ_A) < 0 || dns_query_set(&h->q[1], x, len, DNSQ_AAAA) < 0))
    return -1;
  if (dns_reverse_ip(&h->rev, rip) <= 0
      || !stralloc_cats(&h->rev, ip6_isv4mapped(client) ? ".in-addr.arpa" : ".ip6.arpa")
      || dns_query_set(&h->q[2], h->rev.s, h->rev.len, DNSQ_PTR) < 0)
    return -1;
  dns_run(s, h->q, 3, (unsigned int)h->timeout);

  if (!isliteral) {
    int nx = h->q[0].nxdomain || h->q[1].nxdomain;
    int temp = h->q[0].status == DNS_TEMP || h->q[1].status == DNS_TEMP;
    int hits = 0;
    for (i = 0; i < 2; ++i) {
      struct dns_query *q = &h->q[i];
      if (q->status != DNS_OK) continue;
      for (k = 0; k < q->rr.len; k += str_len(q->rr.s + k) + 1) {
        ++hits;
        if (ip_match(client, q->rr.s + k)) {
          qlogm(s, LOGDEBUG, PLUGIN, "forward match: ", q->rr.s + k);
          fwdmatch = 1;
        }
      }
    }
    if (!hits) {
      if (nx && !temp) return fail(h, "HELO hostname does not exist", "no such host");
      if (temp) qlog(s, LOGERROR, PLUGIN, "no_forward_dns skipped, query failed (temporary DNS failure)");
      else return fail(h, "HELO hostname did not resolve", "no forward DNS");
    }
  }
  if (h->q[2].status == DNS_TEMP) {
    k = str_len(rip);
    if (!stralloc_copys(&h->text, "4.4.3 error getting reverse DNS for ") || !stralloc_catb(&h->text, rip, k)
        || !stralloc_0(&h->text) || !stralloc_copys(&h->log, "rDNS temporary failure") || !stralloc_0(&h->log))
      return -1;
    return 2;
  }
  if (h->q[2].status != DNS_OK) {
    if (!stralloc_copys(&h->text, h->q[2].nxdomain ? "no rDNS for " : "no reverse DNS for ") || !stralloc_cats(&h->text, rip) || !stralloc_0(&h->text)
        || !stralloc_copys(&h->log, "no rDNS") || !stralloc_0(&h->log))
      return -1;
    return 1;
  }
  for (k = 0; k < h->q[2].rr.len; k += str_len(h->q[2].rr.s + k) + 1) {
    char *p = h->q[2].rr.s + k;
    case_lowers(p);
    qlogm(s, LOGDEBUG, PLUGIN, "PTR: ", p);
    if (name_match(p, h->host.s)) revmatch = 1;
  }
  if ((fwdmatch && !note_conn_set(s, "helo_forward_match", "1"))
      || (revmatch && !note_conn_set(s, "helo_reverse_match", "1")))
    return -1;
  return 0;
}

/* a temporary DNS failure: 450 under reject 1, logged otherwise (naughty
   would turn it into a permanent refusal later) */
static int temp_reject(struct session *s, struct helo *h, stralloc *msg)
{
  int code = reject_type_code(h->r.type, DENY_DISCONNECT);
  if (h->r.mode != REJECT_YES) {
    qlogm(s, LOGINFO, PLUGIN, "fail, tolerated, ", h->log.s);
    return DECLINED;
  }
  qlogm(s, LOGINFO, PLUGIN, "fail, ", h->log.s);
  if (!stralloc_copys(msg, h->text.s)) return DENYSOFT;
  return code == DENY_DISCONNECT || code == DENYSOFT_DISCONNECT ? DENYSOFT_DISCONNECT : DENYSOFT;
}

static int helo_check(struct session *s, void *self, struct helo_args *a)
{
  struct helo *h = self;
  const char *x = a->host;
  size_t len = a->hostlen;
  char ip[16], rip[16];
  int r;

  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!stralloc_copyb(&h->host, x, len) || !stralloc_0(&h->host)) goto nomem;
  case_lowerb(h->host.s, len);

  r = in_badhelo(s, h, a->msg);
  if (r < 0) return a->msg->len ? DENYSOFT : hook_nomem(a->msg);
  if (r) goto rejected;
  if (case_equals(h->host.s, "localhost") && !localhost_ip(s)) {
    if (fail(h, "You are not localhost", "invalid localhost") < 0) goto nomem;
    goto rejected;
  }
  if (literal(x, len, ip) && !(remote_addr(s, rip) && byte_equal(ip, 16, rip))) {
    if (fail(h, "Forged IPs not accepted here", "forged IP literal") < 0) goto nomem;
    goto rejected;
  }
  if (dotted_quad(x, len) || plain_ip6(x, len)) {
    if (fail(h, "Plain IP is invalid HELO hostname (RFC 2821)", "plain IP") < 0) goto nomem;
    goto rejected;
  }
  if (h->policy >= RFC) {
    if (!literal(x, len, ip)) {
      if (byte_chr(x, len, '.') == len) {
        if (fail(h, "HELO name is not fully qualified. Read RFC 2821", "not FQDN") < 0) goto nomem;
        goto rejected;
      }
      if (h->host.s[strspn(h->host.s, "abcdefghijklmnopqrstuvwxyz0123456789-.")]) {
        if (fail(h, "HELO name contains invalid FQDN characters. Read RFC 1035", "invalid FQDN chars") < 0) goto nomem;
        goto rejected;
      }
    }
    r = dns_checks(s, h, x, len);
    if (r < 0) goto nomem;
    if (r == 2) return temp_reject(s, h, a->msg);
    if (r) goto rejected;
  }
  if (h->policy >= STRICT) {
    if (literal(x, len, ip)) {
      if (fail(h, "RFC 2821 allows an address literal, but we do not", "bracketed IP") < 0) goto nomem;
      goto rejected;
    }
    if (!note_true(note_conn_get(s, "helo_forward_match")) && !note_true(note_conn_get(s, "helo_reverse_match"))) {
      if (fail(h, "That HELO hostname fails FCrDNS", "no matching DNS") < 0) goto nomem;
      goto rejected;
    }
  }
  qlog(s, LOGINFO, PLUGIN, "pass");
  return DECLINED;

rejected:
  return reject_get(s, &h->r, DENY_DISCONNECT, PLUGIN, h->text.s, h->log.s, a->msg);
nomem:
  return hook_nomem(a->msg);
}

static int helo_data_post(struct session *s, void *self, struct msg_args *a)
{
  const char *host = session_hello_host(s);
  (void)self; (void)a;
  if (host) txn_add_header(s, "X-HELO", host);
  return DECLINED;
}

const struct plugin plugin_helo = {
  .name = "helo",
  .init = helo_init,
  .setup = helo_setup,
  .helo = helo_check, .ehlo = helo_check, .data_post = helo_data_post,
};
