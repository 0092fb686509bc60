/* xclient: switches on the XCLIENT command (Postfix's XCLIENT_README,
   xclient.c) for the clients listed in the control file xclient_hosts,
   as Postfix's smtpd_authorized_xclient_hosts: one network a line
   ("10.0.0.0/8", "2001:db8::/32" or a bare address; anything after white
   space is a comment). To them EHLO offers XCLIENT and the command is
   taken; anyone else gets 550 5.7.0. Put it first in the chain: its
   connect hook must run before any that could refuse the proxy itself. */
#include <string.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include "plugin.h"
#include "ipnet.h"
#include "xclient.h"

#define NAME "xclient"

static int xc_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  (void)self; (void)argv;
  if (argc) { stralloc_copys(err, NAME ": takes no arguments"); return 0; }
  return 1;
}

static int client_ip(const char *text, char ip[16])
{
  size_t l = strlen(text);
  if (l && !memchr(text, ':', l)) {
    if (scan_ip4(text, ip + 12) != l) return 0;
    memcpy(ip, V4mappedprefix, 12);
    return 1;
  }
  return l && scan_ip6(text, ip) == l;
}

static int xc_connect(struct session *s, void *self, struct msg_args *a)
{
  stralloc l = {0};
  struct control_at at = { {0}, {0} };
  char ip[16];
  size_t i;
  int ok = 0;
  (void)self; (void)a;
  if (!client_ip(session_remote_ip(s), ip) || !control_readlist_at(s, "xclient_hosts", &l, &at)) return DECLINED;
  for (i = 0; i < l.len && !ok; i += strlen(l.s + i) + 1) {
    char net[16];
    unsigned int bits;
    const char *e = l.s + i;
    size_t n = 0;
    while (e[n] && e[n] != ' ' && e[n] != '\t') ++n;
    if (!n) continue;
    if (!ipnet_parse(e, n, net, &bits)) die_control_at(s, &at, &l, e, "xclient_hosts", "not an address or network");
    ok = ipnet_match(ip, net, bits);
  }
  stralloc_free(&l);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  if (ok && !note_conn_set(s, "xclient_allowed", "1")) return hook_nomem(a->msg);
  if (ok) qlogm(s, LOGINFO, NAME, session_remote_ip(s), " is in xclient_hosts: XCLIENT offered");
  return DECLINED;
}

static int xc_ehlo(struct session *s, void *self, struct helo_args *a)
{
  (void)self;
  if (note_conn_get(s, "xclient_allowed") && !note_add_capability(s, XCLIENT_EHLO)) return hook_nomem(a->msg);
  return DECLINED;
}

const struct plugin plugin_xclient = {
  .name = NAME,
  .init = xc_init,
  .connect = xc_connect,
  .ehlo = xc_ehlo,
  .flags = PLUGIN_XCLIENT,
};
