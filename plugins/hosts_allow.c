/* hosts_allow: refuses or admits clients by address at connect, from the
   control file hosts_allow, like the rule part of Perl qpsmtpd's
   plugins/hosts_allow. Each line is "ADDRESS[/BITS] CODE [message]"
   (IPv4 or IPv6; BITS defaults to the whole address); CODE is a return
   code name. The first line whose block holds the client decides: a
   refusal (DENY, DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT) is sent
   with the message and the connection closed; OK or DECLINED admits the
   client and lets the later connect plugins run (in Perl this ran at
   pre-connection, before them). A line that does not parse is a
   configuration error naming the file and the line: 421 at connect.

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

/* one line, parsed: the block, the code and the message; 0 when the line
   does not parse */
struct entry { char net[16]; unsigned int bits; int code; char name[32]; const char *msg; };

static int entry_parse(const char *line, struct entry *e)
{
  size_t alen = 0, slash, cs, ce, ms;
  unsigned long want;
  while (line[alen] && line[alen] != ' ' && line[alen] != '\t') ++alen;
  for (cs = alen; line[cs] == ' ' || line[cs] == '\t'; ++cs) ;
  for (ce = cs; line[ce] && line[ce] != ' ' && line[ce] != '\t'; ++ce) ;
  for (ms = ce; line[ms] == ' ' || line[ms] == '\t'; ++ms) ;
  slash = byte_chr(line, alen, '/');
  if (!parse_ip(line, slash, e->net, &e->bits)) return 0;
  if (slash < alen) {
    size_t bl = alen - slash - 1;
    if (!bl || bl > 3 || scan_ulong(line + slash + 1, &want) != bl || want > e->bits) return 0;
    e->bits = (unsigned int)want;
  }
  if (byte_chr(line, slash, ':') == slash) e->bits += 96;    /* IPv4, as v4-mapped */
  if (ce == cs || ce - cs >= sizeof e->name) return 0;
  byte_copy(e->name, ce - cs, line + cs);
  e->name[ce - cs] = 0;
  e->code = retcode_parse(e->name);
  if (!e->code || e->code == DONE) return 0;
  e->msg = line + ms;
  return 1;
}

/* the file, before the greeting: a line that does not parse is a 421 at
   connect naming the file and the line */
static int ha_setup(struct session *s, void *self)
{
  struct ha *h = self;
  struct control_at at = { {0}, {0} };
  size_t i;
  if (!control_readlist_at(s, "hosts_allow", &h->list, &at)) return 1;
  for (i = 0; i < h->list.len; i += str_len(h->list.s + i) + 1) {
    const char *line = h->list.s + i;
    struct entry e;
    if (!entry_parse(line, &e)) {
      stralloc m = {0};
      if (!stralloc_copys(&m, "does not parse: ") || !stralloc_cats(&m, line) || !stralloc_0(&m)) return 0;
      die_control_at(s, &at, &h->list, line, "hosts_allow", m.s);
    }
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

static int ha_connect(struct session *s, void *self, struct msg_args *a)
{
  struct ha *h = self;
  const char *rip = session_remote_ip(s);
  char ip[16];
  unsigned int ipbits;
  size_t i;
  unsigned long n = 0;

  if (!h->list.len) return DECLINED;
  if (!parse_ip(rip, str_len(rip), ip, &ipbits)) {
    qlogm(s, LOGWARN, PLUGIN, "skip, cannot parse the client's address ", rip);
    return DECLINED;
  }
  for (i = 0; i < h->list.len; i += str_len(h->list.s + i) + 1) {
    const char *line = h->list.s + i;
    char num[FMT_ULONG];
    struct entry e;
    ++n;
    if (!entry_parse(line, &e) || !in_block(e.net, e.bits, ip)) continue;   /* checked at setup */
    num[fmt_ulong(num, n)] = 0;
    if (!retcode_deny(e.code)) {
      qlogm(s, LOGINFO, PLUGIN, "pass, entry ", num, ", ", e.name);
      return DECLINED;
    }
    qlogm(s, LOGINFO, PLUGIN, "fail, entry ", num, ": ", line);
    if (*e.msg && !stralloc_copys(a->msg, e.msg)) return DENYSOFT;
    return e.code;
  }
  qlog(s, LOGDEBUG, PLUGIN, "pass");
  return DECLINED;
}

const struct plugin plugin_hosts_allow = {
  .name = "hosts_allow",
  .init = ha_init,
  .setup = ha_setup,
  .connect = ha_connect,
};
