/* The connection: its start (who the peer is, the control files, the
   plugins' init), the facts plugins ask about (session_remote_ip, ...),
   the client's description in replies and logs (Perl's remote_info:
   ident@host, host or [ip]), the host name a plugin may learn later
   (fcrdns after a forward-confirmed PTR lookup), peeking at the client's
   input (earlytalker) and closing after the current reply (count_denies). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include "clock.h"
#include "config.h"
#include "connection.h"
#include "env.h"
#include "hooks.h"
#include "io.h"
#include "ipnet.h"
#include "log.h"
#include "netio.h"
#include "privdrop.h"
#include "proxy.h"
#include "reply.h"
#include "session.h"

int session_input_pending(struct session *s, unsigned long ms)
{
  int r;
  long long now;
  if (s->in->p < s->in->n) return 1;      /* already read, not yet parsed */
  if (ms > 3600000UL) ms = 3600000UL;
  now = clock_ms();
  r = net_poll(s->in->fd, POLLIN, now, now + (long long)ms);
  if (r > 0) return (r & (POLLIN | POLLHUP)) ? 1 : -1;
  return r;
}

void session_disconnect_later(struct session *s)
{
  s->disconnecting = 1;
}

int session_hello_ehlo(struct session *s)
{
  return s->hello == HELLO_EHLO;
}

void session_describe(struct session *s)
{
  s->remote_desc.len = 0;
  if (s->remote_info) {
    if (!stralloc_copys(&s->remote_desc, s->remote_info) || !stralloc_append(&s->remote_desc, "@")
        || !stralloc_cats(&s->remote_desc, s->remote_host ? s->remote_host : s->remote_ip)) die_nomem(s);
  } else if (s->remote_host) {
    if (!stralloc_copys(&s->remote_desc, s->remote_host)) die_nomem(s);
  } else if (!stralloc_copys(&s->remote_desc, "[") || !stralloc_cats(&s->remote_desc, s->remote_ip)
             || !stralloc_cats(&s->remote_desc, "]")) die_nomem(s);
}

int session_set_remote_host(struct session *s, const char *host)
{
  char *h = strdup(host);
  if (!h) return 0;
  s->remote_host = h;
  session_describe(s);
  return 1;
}

static const char *peer(int remote, char *buf, size_t len, const char **port, char *portbuf)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int r = remote ? getpeername(0, (struct sockaddr *)&ss, &sl) : getsockname(0, (struct sockaddr *)&ss, &sl);
  if (r == -1) return NULL;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    if (len < FMT_IP4 + 1) return NULL;
    buf[fmt_ip4(buf, (const char *)&in->sin_addr)] = 0;
    portbuf[fmt_ulong(portbuf, ntohs(in->sin_port))] = 0;
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (len < IPNET_FMT6) return NULL;
    buf[ipnet_fmt6(buf, (const char *)&in6->sin6_addr)] = 0;
    portbuf[fmt_ulong(portbuf, ntohs(in6->sin6_port))] = 0;
  } else return NULL;
  *port = portbuf;
  return buf;
}

void session_start(struct session *s)
{
  static char portbuf[2][8];
  stralloc err = {0};
  const char *e;

  s->t.spool.fd = -1;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);     /* a file size limit is a write error (EFBIG), not death */
  s->conf.loglevel = LOGWARN;
  log_init(s);
  io_init(s);
  s->conf.timeout = 1200;
  priv_drop(s);                 /* as root: become UID/GID or refuse */

  s->remote_ip = env_get("TCPREMOTEIP");
  s->remote_port = env_get("TCPREMOTEPORT");
  s->local_ip = env_get("TCPLOCALIP");
  s->local_port = env_get("TCPLOCALPORT");
  if (!s->remote_ip) s->remote_ip = peer(1, s->peerbuf[0], sizeof s->peerbuf[0], &s->remote_port, portbuf[0]);
  if (!s->local_ip) s->local_ip = peer(0, s->peerbuf[1], sizeof s->peerbuf[1], &s->local_port, portbuf[1]);
  if (!s->remote_ip) s->remote_ip = "unknown";
  if (!s->local_ip) s->local_ip = "unknown";
  e = env_get("TCPREMOTEHOST");
  s->remote_host = e && *e ? e : NULL;
  e = env_get("TCPREMOTEINFO");
  s->remote_info = e && *e ? e : NULL;
  e = env_get("TCPLOCALHOST");
  s->local_host = e && *e ? e : NULL;

  config_read(s);
  proxy_accept(s);              /* from a listed balancer: its client's addresses */
  session_describe(s);

  if (!hook_plugins_init(&err)) {
    log_line(s, LOGCRIT, NULL, NULL, err.s, err.len);
    replys(s, 421, "4.3.0", "configuration error, closing connection");
    reply_flush_exit(s, 100);
  }
  hook_route_logging();
  if (s->conf.loglevel >= LOGNOTICE) {
    stralloc m = {0};
    if (stralloc_copys(&m, "Connection from ") && stralloc_cat(&m, &s->remote_desc)
        && stralloc_cats(&m, " [") && stralloc_cats(&m, s->remote_ip) && stralloc_cats(&m, "]"))
      log_line(s, LOGNOTICE, NULL, NULL, m.s, m.len);
    stralloc_free(&m);
  }
}

/* plugin accessors for connection facts */
const char *session_me(struct session *s) { return s->conf.me.s; }
const char *session_remote_ip(struct session *s) { return s->remote_ip; }
const char *session_remote_host(struct session *s) { return s->remote_host; }
const char *session_remote_port(struct session *s) { return s->remote_port; }
const char *session_local_ip(struct session *s) { return s->local_ip; }
const char *session_local_port(struct session *s) { return s->local_port; }
const char *session_auth_user(struct session *s) { return s->authenticated && s->auth_user.len ? s->auth_user.s : NULL; }
int session_relay_client(struct session *s) { return s->relay_client; }
void session_set_relay_client(struct session *s, int yes) { s->relay_client = yes; }
const char *session_hello_host(struct session *s) { return s->hello ? s->hello_host.s : NULL; }
