/* XCLIENT: an authorized proxy (xclient_hosts, the xclient plugin) names
   the client it speaks for. As PROXY does before the greeting
   (proxy_client), the named client becomes the session's for everything
   after: TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST, TCPLOCALIP and
   TCPLOCALPORT say what XCLIENT said, and the proxy's own RELAYCLIENT,
   TCPREMOTEINFO and TCPLOCALHOST go. Then, as in Postfix, the session
   starts again: HELO, AUTH and the transaction are forgotten, the connect
   hooks run for the new client and a new 220 greeting is sent; the client
   sends EHLO again. LOGIN makes the session authenticated as that user,
   as a successful AUTH would. */
#include <stdlib.h>
#include <string.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include "connection.h"
#include "ipnet.h"
#include "log.h"
#include "notes.h"
#include "proxy.h"
#include "reply.h"
#include "session.h"
#include "smtp.h"
#include "txn.h"
#include "xclient.h"
#include "xclient_parse.h"

static struct xclient xc;

/* a new string for an address: the session's may point into peerbuf or
   at an earlier XCLIENT's, and the old one is still logged */
static const char *ip_text(struct session *s, const char ip[16])
{
  char buf[IPNET_FMT6 + 1];
  char *t;
  if (ip6_isv4mapped(ip)) buf[fmt_ip4(buf, ip + 12)] = 0;
  else buf[ipnet_fmt6(buf, ip)] = 0;
  if (!(t = strdup(buf))) die_nomem(s);
  return t;
}

int xclient_apply(struct session *s, const char *arg, size_t len)
{
  static char port[2][8], name[XC_TEXT_MAX + 1];
  const char *why;
  const char *rip, *rport, *lip, *lport, *host;
  if (!notes_get(&s->notes, "xclient_allowed")) {
    qlogm(s, LOGWARN, NULL, "XCLIENT from ", s->remote_ip, ", not in xclient_hosts: refused");
    replys(s, 550, "5.7.0", "Insufficient authorization for XCLIENT");
    return 0;
  }
  if (s->t.have_sender) { replys(s, 503, "5.5.1", "XCLIENT not allowed in a mail transaction"); return 0; }
  if ((why = xclient_parse(arg, len, &xc))) { replys(s, 501, "5.5.4", why); return 0; }

  rip = s->remote_ip; rport = s->remote_port; lip = s->local_ip; lport = s->local_port; host = s->remote_host;
  if (xc.given & (1u << XC_ADDR)) {
    if ((xc.unavail | xc.tempunavail) & (1u << XC_ADDR)) rip = "unknown";
    else rip = ip_text(s, xc.addr);
  }
  if (xc.given & (1u << XC_DESTADDR)) {
    if ((xc.unavail | xc.tempunavail) & (1u << XC_DESTADDR)) lip = "unknown";
    else lip = ip_text(s, xc.destaddr);
  }
  if (xc.given & (1u << XC_PORT)) {
    port[0][fmt_ulong(port[0], (xc.unavail | xc.tempunavail) & (1u << XC_PORT) ? 0 : xc.port)] = 0;
    rport = port[0];
  }
  if (xc.given & (1u << XC_DESTPORT)) {
    port[1][fmt_ulong(port[1], (xc.unavail | xc.tempunavail) & (1u << XC_DESTPORT) ? 0 : xc.destport)] = 0;
    lport = port[1];
  }
  if (xc.given & (1u << XC_NAME)) {
    if ((xc.unavail | xc.tempunavail) & (1u << XC_NAME)) host = NULL;
    else { memcpy(name, xc.name, sizeof name); host = name; }
  } else if (xc.given & (1u << XC_ADDR)) host = NULL;      /* the proxy's name is not the client's */
  qlogm(s, LOGINFO, NULL, "XCLIENT from ", s->remote_ip, ": client ", rip, ":", rport, host ? " (" : "",
        host ? host : "", host ? ")" : "", ", server ", lip, ":", lport);
  proxy_client(s, rip, rport, lip, lport, host, "XCLIENT");
  session_describe(s);

  /* RFC 3207 4.2's reset, as after STARTTLS, and what was known of the
     old client: the connect hooks say it again of the new one. The
     permission (xclient_allowed) is the connection's, as in Postfix: the
     proxy may send XCLIENT again */
  s->hello = 0;
  s->hello_host.len = 0;
  s->authenticated = 0;
  s->auth_tried = 0;
  s->auth_user.len = 0;
  s->relay_client = 0;
  {
    static const char *const forget[] = { "auth_user", "auth_mechanism", "naughty", "naughty_reject_type",
                                          "karma", "xclient_helo", "xclient_proto", NULL };
    const char *const *k;
    for (k = forget; *k; ++k) notes_set(&s->notes, *k, NULL);
  }
  if ((xc.given & (1u << XC_HELO)) && !((xc.unavail | xc.tempunavail) & (1u << XC_HELO))
      && !notes_set(&s->notes, "xclient_helo", xc.helo)) die_nomem(s);
  if ((xc.given & (1u << XC_PROTO)) && !((xc.unavail | xc.tempunavail) & (1u << XC_PROTO))
      && !notes_set(&s->notes, "xclient_proto", xc.esmtp ? "ESMTP" : "SMTP")) die_nomem(s);
  txn_reset(s);
  return 1;
}

void xclient_login(struct session *s)
{
  if (!(xc.given & (1u << XC_LOGIN)) || ((xc.unavail | xc.tempunavail) & (1u << XC_LOGIN))) return;
  if (!stralloc_copys(&s->auth_user, xc.login) || !stralloc_0(&s->auth_user)) die_nomem(s);
  s->authenticated = 1;
  s->relay_client = 1;
  if (!notes_set(&s->notes, "auth_user", xc.login) || !notes_set(&s->notes, "auth_mechanism", "xclient")) die_nomem(s);
  qlogm(s, LOGINFO, NULL, "XCLIENT LOGIN: authenticated as ", xc.login);
}

void xclient_command(struct session *s, const char *arg, size_t len)
{
  if (!xclient_apply(s, arg, len)) return;
  smtp_connect_greet(s);
  xclient_login(s);
}
