/* hosts_allow: refuses or admits clients by address at connect, from the
   control file hosts_allow, like the rule part of Perl qpsmtpd's
   plugins/hosts_allow. Each line is "ADDRESS[/BITS] CODE [message]"
   (IPv4 or IPv6; BITS defaults to the whole address); CODE is a return
   code name. The first line whose block holds the client decides: a
   refusal (DENY, DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT) is sent
   with the message and the connection closed; OK or DECLINED admits the
   client and lets the later connect plugins run (in Perl this ran at
   pre-connection, before them). A line that does not parse is an error
   naming the line: the client is told to come back later.

   Perl's other half, the limit on connections per address (max_conn_ip),
   needs a view of all connections, which one process per connection does
   not have: use the server's limit instead (tcpsvd -C, xinetd
   per_source). */
#include <stdlib.h>
#include <byte.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include <str.h>
#include <case.h>
#include "plugin.h"
#include "lib/retcode.h"

#define PLUGIN "hosts_allow"

struct ha { stralloc list; };

static int ha_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct ha *h;
  (void)argv;
  if (argc) return stralloc_copys(err, "takes no arguments"), 0;
  h = calloc(1, sizeof *h);
  if (!h) return stralloc_copys(err, "out of memory"), 0;
  *self = h;
  return 1;
}

/* an address as 16 bytes (IPv4 v4-mapped) and its bit count; 0 if bad */
static int parse_ip(const char *x, size_t len, char *ip, unsigned int *bits)
{
  if (byte_chr(x, len, ':') == len) {
    byte_copy(ip, 12, V4mappedprefix);
    *bits = 32;
    return len && scan_ip4(x, ip + 12) == len;
  }
  *bits = 128;
  return len && scan_ip6(x, ip) == len;
}

static int in_block(const char *net, unsigned int bits, const char *ip)
{
  unsigned int full = bits / 8, rest = bits % 8;
  unsigned char mask;
  if (!byte_equal(net, full, ip)) return 0;
  if (!rest) return 1;
  mask = (unsigned char)(0xff << (8 - rest));
  return ((unsigned char)net[full] & mask) == ((unsigned char)ip[full] & mask);
}

static int ha_connect(struct session *s, void *self, struct msg_args *a)
{
  struct ha *h = self;
  const char *rip = session_remote_ip(s);
  char ip[16], net[16];
  unsigned int ipbits;
  size_t i;
  unsigned long n = 0;

  if (!control_readlist(s, "hosts_allow", &h->list)) return DECLINED;
  if (!parse_ip(rip, str_len(rip), ip, &ipbits)) {
    qlogm(s, LOGWARN, PLUGIN, "skip, cannot parse the client's address ", rip);
    return DECLINED;
  }
  for (i = 0; i < h->list.len; i += str_len(h->list.s + i) + 1) {
    const char *line = h->list.s + i;
    size_t alen = 0, slash, cs, ce, ms;
    unsigned int bits;
    unsigned long want;
    char code[32], num[FMT_ULONG];
    int c;

    ++n;
    num[fmt_ulong(num, n)] = 0;
    while (line[alen] && line[alen] != ' ' && line[alen] != '\t') ++alen;
    for (cs = alen; line[cs] == ' ' || line[cs] == '\t'; ++cs) ;
    for (ce = cs; line[ce] && line[ce] != ' ' && line[ce] != '\t'; ++ce) ;
    for (ms = ce; line[ms] == ' ' || line[ms] == '\t'; ++ms) ;
    slash = byte_chr(line, alen, '/');
    if (!parse_ip(line, slash, net, &bits)) goto bad;
    if (slash < alen) {
      size_t bl = alen - slash - 1;
      if (!bl || bl > 3 || scan_ulong(line + slash + 1, &want) != bl || want > bits) goto bad;
      bits = (unsigned int)want;
    }
    if (byte_chr(line, slash, ':') == slash) bits += 96;    /* IPv4, as v4-mapped */
    if (ce == cs || ce - cs >= sizeof code) goto bad;
    byte_copy(code, ce - cs, line + cs);
    code[ce - cs] = 0;
    c = retcode_parse(code);
    if (!c || c == DONE) goto bad;
    if (!in_block(net, bits, ip)) continue;
    if (!retcode_deny(c)) {
      qlogm(s, LOGINFO, PLUGIN, "pass, line ", num, ", ", code);
      return DECLINED;
    }
    qlogm(s, LOGINFO, PLUGIN, "fail, line ", num, ": ", line);
    if (line[ms] && !stralloc_copys(a->msg, line + ms)) return DENYSOFT;
    return c;
bad:
    qlogm(s, LOGERROR, PLUGIN, "hosts_allow line ", num, " does not parse: ", line);
    stralloc_copys(a->msg, "4.3.0 Local configuration error (hosts_allow); try again later");
    return DENYSOFT;
  }
  qlog(s, LOGDEBUG, PLUGIN, "pass");
  return DECLINED;
}

const struct plugin plugin_hosts_allow = {
  .name = "hosts_allow",
  .init = ha_init,
  .connect = ha_connect,
};
