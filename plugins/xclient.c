/* xclient: switches on the XCLIENT command (Postfix's XCLIENT_README,
   xclient.c) for the clients listed in the control file xclient_hosts,
   as Postfix's smtpd_authorized_xclient_hosts: one network a line
   ("10.0.0.0/8", "2001:db8::/32" or a bare address; anything after white
   space is a comment). To them EHLO offers XCLIENT and the command is
   taken; anyone else gets 550 5.7.0. Put it first in the chain: its
   connect hook must run before any that could refuse the proxy itself,
   and its unrecognized_command hook (XCLIENT) before any other's. */
#include <string.h>
#include <strings.h>
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

static int xc_connect(struct session *s, void *self, struct msg_args *a)
{
  static stralloc nets;
  static int read;
  const char *rip = session_remote_ip(s);
  char ip[16];
  (void)self;
  /* read once: after XCLIENT the hooks run again, for the new client */
  if (!read && !control_readnets(s, "xclient_hosts", &nets)) nets.len = 0;
  read = 1;
  if (!ipnet_scan(rip, strlen(rip), ip) || !ipnet_listed(nets.s, nets.len, ip)) return DECLINED;
  if (!note_conn_set(s, "xclient_allowed", "1")) return hook_nomem(a->msg);
  qlogm(s, LOGINFO, NAME, rip, " is in xclient_hosts: XCLIENT offered");
  return DECLINED;
}

static int xc_ehlo(struct session *s, void *self, struct helo_args *a)
{
  (void)self;
  if (note_conn_get(s, "xclient_allowed") && !note_add_capability(s, XCLIENT_EHLO)) return hook_nomem(a->msg);
  return DECLINED;
}

/* XCLIENT is a command of this plugin's, not of the engine's table: a
   chain without the plugin knows no XCLIENT (500) */
static int xc_unrecognized(struct session *s, void *self, struct unrecognized_args *a)
{
  (void)self;
  if (a->verblen != 7 || strcasecmp(a->verb, "xclient")) return DECLINED;
  xclient_command(s, a->rest, a->restlen);
  return DONE;
}

const struct plugin plugin_xclient = {
  .name = NAME,
  .init = xc_init,
  .connect = xc_connect,
  .ehlo = xc_ehlo,
  .unrecognized_command = xc_unrecognized,
};
