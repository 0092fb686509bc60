/* The PROXY protocol (HAProxy's specification, versions 1 and 2) from the
   load balancers listed in proxyclients: the header is read before the
   greeting, under its own deadline (timeoutproxy, default 5 s), and the
   client it names becomes the session's client for everything after it:
   TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP and TCPLOCALPORT are set to its
   addresses for plugins and children, and what tcpserver said about the
   balancer's own connection (TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALHOST,
   and RELAYCLIENT from its tcprules) is dropped: a rule written for the
   balancer must not make every client behind it a relay client.

   A listed address must send a header: none in time, or a malformed one,
   is a 421. A header from an address not listed is never read as one:
   it reaches the SMTP engine as a command, and is refused there. */
#include <stdlib.h>
#include <string.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include "env.h"
#include "io.h"
#include "ipnet.h"
#include "log.h"
#include "proxy.h"
#include "proxy_parse.h"
#include "reply.h"
#include "session.h"

static void put_ip(char *buf, const char ip[16])
{
  if (ip6_isv4mapped(ip)) buf[fmt_ip4(buf, ip + 12)] = 0;
  else buf[ipnet_fmt6(buf, ip)] = 0;
}

static void refuse(struct session *s, enum reply_id id, const char *why)
{
  qlogm(s, LOGWARN, NULL, "PROXY header from ", s->remote_ip, ": ", why);
  reply_send(s, id);
  reply_flush_exit(s, 0);
}

void proxy_client(struct session *s, const char *rip, const char *rport, const char *lip, const char *lport,
                  const char *host, const char *how)
{
  const char *proxy = s->remote_ip;
  if (env_get("RELAYCLIENT")) {
    env_unset("RELAYCLIENT");
    qlogm(s, LOGINFO, NULL, how, ": RELAYCLIENT was set for the balancer ", proxy, ", not for its clients: dropped");
  }
  s->remote_ip = rip;
  s->remote_port = rport;
  s->local_ip = lip;
  s->local_port = lport;
  s->remote_host = host;
  s->remote_info = s->local_host = NULL;
  if (!env_set("TCPREMOTEIP", rip) || !env_set("TCPREMOTEPORT", rport ? rport : "0")
      || !env_set("TCPLOCALIP", lip) || !env_set("TCPLOCALPORT", lport ? lport : "0")
      || (host && !env_set("TCPREMOTEHOST", host)))
    die_nomem(s);
  if (!host) env_unset("TCPREMOTEHOST");
  env_unset("TCPREMOTEINFO");
  env_unset("TCPLOCALHOST");
}

/* the header of a balancer in proxy_nets: a function of its own, so that
   a session of a site without PROXY runs (and maps) only the test below */
static __attribute__((noinline)) void accept_listed(struct session *s)
{
  static char port[2][8];
  char ip[16];
  struct proxy_hdr h;
  size_t need = 16, have;
  int r;

  if (!ipnet_scan(s->remote_ip, strlen(s->remote_ip), ip)
      || !ipnet_listed(s->conf.proxy_nets.s, s->conf.proxy_nets.len, ip)) return;
  io_set_deadline(s, s->conf.proxy_timeout);
  for (;;) {
    have = s->in->n - s->in->p;
    r = proxy_parse(s->in->x + s->in->p, have, &h, &need);
    if (r == PROXY_OK) break;
    if (r == PROXY_BAD) refuse(s, R_PROXY_BAD, "malformed");
    r = io_fill(need);
    if (r == 0) refuse(s, R_PROXY_BAD, "the connection closed before a complete header");
    if (r < 0) refuse(s, R_PROXY_TIMEOUT, "no complete header in time");
  }
  s->in->p += h.len;
  if (h.local) {
    qlogm(s, LOGINFO, NULL, "PROXY header from ", s->remote_ip, ": ",
          h.version == 1 ? "UNKNOWN" : "LOCAL", ", the connection's own addresses stand");
    return;
  }
  {
    char *balancer = strdup(s->remote_ip);
    if (!balancer) die_nomem(s);
    put_ip(s->peerbuf[0], h.src);
    put_ip(s->peerbuf[1], h.dst);
    port[0][fmt_ulong(port[0], h.sport)] = 0;
    port[1][fmt_ulong(port[1], h.dport)] = 0;
    proxy_client(s, s->peerbuf[0], port[0], s->peerbuf[1], port[1], NULL, "PROXY");
    qlogm(s, LOGINFO, NULL, "PROXY v", h.version == 1 ? "1" : "2", " from ", balancer, ": client ",
          s->remote_ip, ":", s->remote_port, ", server ", s->local_ip, ":", s->local_port);
    free(balancer);
  }
}

void proxy_accept(struct session *s)
{
  if (s->conf.proxy_nets.len) accept_listed(s);
}
