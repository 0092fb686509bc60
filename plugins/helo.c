/* helo: checks the HELO/EHLO host name, like Perl qpsmtpd's plugins/helo
   (0.94; where HEAD differs, HEAD's IPv6 handling is followed). The checks
   by policy:
     lenient  is_in_badhelo, invalid_localhost, is_forged_literal,
              is_plain_ip
     rfc      lenient's, and is_not_fqdn, no_forward_dns, no_reverse_dns
     strict   rfc's, and is_address_literal, no_matching_dns
   The first check that fails decides, through the shared reject
   convention: reject 0|1|naughty (default 1), reject_type (default
   disconnect; Perl forced disconnect whatever the argument said). The
   DNS checks need a resolver this build does not have yet: they are
   skipped with the log line "skipped: no resolver". timeout N (seconds,
   default 5) is accepted for them. Relay clients and whitelisted hosts are
   immune. At data_post the message gets an X-HELO header.

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
  stralloc host, text, log, bad;
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

/* 1 fail (text, log set), 0 pass, -1 error (reply set) */
static int in_badhelo(struct session *s, struct helo *h, struct hook_args *a)
{
  size_t i;
  int n = 0;

  h->bad.len = 0;
  if (!control_readlist(s, "badhelo", &h->bad)) return 0;
  for (i = 0; i < h->bad.len; i += str_len(h->bad.s + i) + 1) {
    const char *line = h->bad.s + i;
    ++n;
    if (line[strcspn(line, "{}[]()^$|*+?\\!")]) {
      struct re re;
      int neg = line[0] == '!';
      const char *why = 0;
      int m;
      if (!re_compile(&re, line + neg, RE_ICASE, &why)) {
        char num[FMT_ULONG];
        num[fmt_ulong(num, (unsigned long)n)] = 0;
        qlogm(s, LOGERROR, PLUGIN, "badhelo line ", num, ": bad pattern ", line, " (", why ? why : "?", ")");
        stralloc_copys(a->msg, "4.3.0 Local configuration error (badhelo); try again later");
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

static int helo_check(struct session *s, void *self, struct hook_args *a)
{
  struct helo *h = self;
  const char *x = a->arg;
  size_t len = a->arglen;
  char ip[16], rip[16];
  int r;

  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!stralloc_copyb(&h->host, x, len) || !stralloc_0(&h->host)) goto nomem;
  case_lowerb(h->host.s, len);

  r = in_badhelo(s, h, a);
  if (r < 0) return a->msg->len ? DENYSOFT : (stralloc_copys(a->msg, "4.3.0 out of memory"), DENYSOFT);
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
    qlog(s, LOGINFO, PLUGIN, "no_forward_dns skipped: no resolver");
    qlog(s, LOGINFO, PLUGIN, "no_reverse_dns skipped: no resolver");
  }
  if (h->policy >= STRICT) {
    if (literal(x, len, ip)) {
      if (fail(h, "RFC 2821 allows an address literal, but we do not", "bracketed IP") < 0) goto nomem;
      goto rejected;
    }
    qlog(s, LOGINFO, PLUGIN, "no_matching_dns skipped: no resolver");
  }
  qlog(s, LOGINFO, PLUGIN, "pass");
  return DECLINED;

rejected:
  return reject_get(s, &h->r, DENY_DISCONNECT, PLUGIN, h->text.s, h->log.s, a);
nomem:
  stralloc_copys(a->msg, "4.3.0 out of memory");
  return DENYSOFT;
}

static int helo_data_post(struct session *s, void *self, struct hook_args *a)
{
  const char *host = session_hello_host(s);
  (void)self; (void)a;
  if (host) txn_add_header(s, "X-HELO", host);
  return DECLINED;
}

const struct plugin plugin_helo = {
  .name = "helo",
  .init = helo_init,
  .hooks = { [HOOK_HELO] = helo_check, [HOOK_EHLO] = helo_check, [HOOK_DATA_POST] = helo_data_post },
};
