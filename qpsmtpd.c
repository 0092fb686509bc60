/* qpsmtpd: one SMTP session on fd 0/1, log on fd 2. */
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <buffer.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include "session.h"

static struct session sess;

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
    if (len < FMT_IP6 + 1) return NULL;
    buf[fmt_ip6(buf, (const char *)&in6->sin6_addr)] = 0;
    portbuf[fmt_ulong(portbuf, ntohs(in6->sin6_port))] = 0;
  } else return NULL;
  *port = portbuf;
  return buf;
}

static void print_chain(void)
{
  unsigned int i;
  int k;
  buffer_puts(buffer_1, "qpsmtpd " VERSION "\n");
  for (i = 0; i < plugin_chain_len; ++i) {
    buffer_puts(buffer_1, plugin_chain[i].name);
    for (k = 0; k < plugin_chain[i].argc; ++k) {
      buffer_puts(buffer_1, " ");
      buffer_puts(buffer_1, plugin_chain[i].argv[k]);
    }
    buffer_puts(buffer_1, "\n");
  }
  buffer_flush(buffer_1);
}

int main(int argc, char **argv)
{
  struct session *s = &sess;
  static char portbuf[2][8];
  stralloc err = {0};
  const char *e;

  if (argc > 1) {
    if (!strcmp(argv[1], "-V") && argc == 2) {
      if (!hook_plugins_init(&err)) {
        buffer_puts(buffer_2, "qpsmtpd: ");
        buffer_put(buffer_2, err.s, err.len);
        buffer_putsflush(buffer_2, "\n");
        return 100;
      }
      print_chain();
      return 0;
    }
    buffer_putsflush(buffer_2, "usage: qpsmtpd [-V]\n");
    return 100;
  }

  s->t.spool.fd = -1;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);     /* a file size limit is a write error (EFBIG), not death */
  s->loglevel = LOGWARN;
  log_init(s);
  io_init(s);
  s->timeout = 1200;
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
  session_describe(s);

  control_setup(s);

  if (!hook_plugins_init(&err)) {
    log_line(s, LOGCRIT, NULL, NULL, err.s, err.len);
    replys(s, 421, "4.3.0", "configuration error, closing connection");
    die_exit(s, 100);
  }
  log_route_plugins();
  if (s->loglevel >= LOGNOTICE) {
    stralloc m = {0};
    if (stralloc_copys(&m, "Connection from ") && stralloc_cat(&m, &s->remote_desc)
        && stralloc_cats(&m, " [") && stralloc_cats(&m, s->remote_ip) && stralloc_cats(&m, "]"))
      log_line(s, LOGNOTICE, NULL, NULL, m.s, m.len);
    stralloc_free(&m);
  }
  smtp_run(s);
  return 0;
}

/* plugin accessors for connection facts */
const char *session_me(struct session *s) { return s->me.s; }
const char *session_remote_ip(struct session *s) { return s->remote_ip; }
const char *session_remote_host(struct session *s) { return s->remote_host; }
int session_relay_client(struct session *s) { return s->relay_client; }
void session_set_relay_client(struct session *s, int yes) { s->relay_client = yes; }
const char *session_hello_host(struct session *s) { return s->hello ? s->hello_host.s : NULL; }
