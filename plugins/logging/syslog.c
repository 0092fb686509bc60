/* logging/syslog: sends the log lines to syslog, like Perl qpsmtpd's
   plugins/logging/syslog; the logging route under xinetd, where fd 2 is
   the client. With this plugin in the chain, log lines no longer go to fd
   2. It writes RFC 3164 datagrams ("<PRI>Mmm dd hh:mm:ss ident[pid]:
   text") to the Unix socket /dev/log itself, without libc's syslog, so
   the socket can be chosen, a slow syslog daemon never blocks the session
   (a line that does not fit is dropped) and nothing is opened before the
   first line.

   Arguments, in pairs: loglevel N|LOGNAME (lines up to this level; default
   LOGWARN), priority N|LOG_NAME (send every line at this priority; default
   the line's own level), ident NAME (default qpsmtpd), facility NAME
   (LOG_MAIL by default; LOG_LOCAL0, local0, ... also), logsock: Perl's
   Sys::Syslog socket types, one or several separated by commas, tried in
   order when the first line is sent until one opens: unix (and native:
   datagrams to /dev/log, the default), stream (/dev/log as a stream
   socket, each line ending in NUL, as libc sends it), udp (127.0.0.1
   port 514), tcp (127.0.0.1 port 514, each line ending in LF), inet (tcp,
   then udp), console (/dev/console, each line ending in LF), or an
   absolute path (datagrams to that socket). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "logging/syslog"

/* logsock's socket types */
enum { T_UNIX, T_STREAM, T_UDP, T_TCP, T_CONSOLE };
#define MAXSOCK 8

struct sl {
  int level, priority, facility, fd;
  const char *ident;
  int type[MAXSOCK];            /* logsock, in order */
  const char *path[MAXSOCK];    /* T_UNIX's and T_STREAM's socket */
  int ntypes, used;             /* used: the type that opened */
};

/* logsock's list into l; 0 a word it does not know */
static int sl_socks(struct sl *l, const char *v)
{
  static const struct { const char *n; int t; } words[] = {
    { "unix", T_UNIX }, { "native", T_UNIX }, { "stream", T_STREAM }, { "udp", T_UDP },
    { "tcp", T_TCP }, { "console", T_CONSOLE },
  };
  l->ntypes = 0;
  while (*v) {
    size_t n = str_chr(v, ','), k;
    int found = 0;
    if (v[0] == '/' && n < sizeof ((struct sockaddr_un *)0)->sun_path && l->ntypes < MAXSOCK) {
      char *p = malloc(n + 1);
      if (!p) return 0;
      memcpy(p, v, n);
      p[n] = 0;
      l->path[l->ntypes] = p;
      l->type[l->ntypes++] = T_UNIX;
      found = 1;
    }
    for (k = 0; !found && k < sizeof words / sizeof words[0]; ++k)
      if (str_len(words[k].n) == n && !memcmp(v, words[k].n, n) && l->ntypes < MAXSOCK) {
        l->path[l->ntypes] = "/dev/log";
        l->type[l->ntypes++] = words[k].t;
        found = 1;
      }
    if (!found && n == 4 && !memcmp(v, "inet", 4) && l->ntypes + 2 <= MAXSOCK) {
      l->type[l->ntypes++] = T_TCP;
      l->type[l->ntypes++] = T_UDP;
      found = 1;
    }
    if (!found || !n) return 0;
    v += n;
    if (*v) ++v;
  }
  return l->ntypes > 0;
}

static const char *const levels[] = { "EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG" };
static const char *const qplevels[] = { "LOGEMERG", "LOGALERT", "LOGCRIT", "LOGERROR", "LOGWARN", "LOGNOTICE", "LOGINFO", "LOGDEBUG" };
static const struct { const char *n; int f; } facilities[] = {
  { "KERN", 0 }, { "USER", 1 }, { "MAIL", 2 }, { "DAEMON", 3 }, { "AUTH", 4 }, { "SYSLOG", 5 },
  { "LPR", 6 }, { "NEWS", 7 }, { "UUCP", 8 }, { "CRON", 9 }, { "AUTHPRIV", 10 }, { "FTP", 11 },
  { "LOCAL0", 16 }, { "LOCAL1", 17 }, { "LOCAL2", 18 }, { "LOCAL3", 19 }, { "LOCAL4", 20 },
  { "LOCAL5", 21 }, { "LOCAL6", 22 }, { "LOCAL7", 23 },
};

static int digit_level(const char *v)
{
  return v[0] >= '0' && v[0] <= '7' && !v[1] ? v[0] - '0' : -1;
}

static int sl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct sl *l = calloc(1, sizeof *l);
  int i;
  unsigned int k;

  if (!l) return stralloc_copys(err, "out of memory"), 0;
  if (argc % 2) return stralloc_copys(err, "takes pairs of arguments"), 0;
  l->level = LOGWARN;
  l->priority = -1;
  l->facility = 2;
  l->fd = -1;
  l->ident = "qpsmtpd";
  l->type[0] = T_UNIX;
  l->path[0] = "/dev/log";
  l->ntypes = 1;
  for (i = 0; i < argc; i += 2) {
    const char *key = argv[i], *v = argv[i + 1];
    int n = -1;
    if (str_equal(key, "loglevel")) {
      n = digit_level(v);
      for (k = 0; n < 0 && k < 8; ++k)
        if (case_equals(v, qplevels[k])) n = (int)k;
      if (n < 0) goto bad;
      l->level = n;
    } else if (str_equal(key, "priority")) {
      n = digit_level(v);
      for (k = 0; n < 0 && k < 8; ++k)
        if (case_starts(v, "LOG_") && case_equals(v + 4, levels[k])) n = (int)k;
      if (n < 0) goto bad;
      l->priority = n;
    } else if (str_equal(key, "ident")) {
      size_t j;
      if (!*v || str_len(v) > 64) goto bad;
      for (j = 0; v[j]; ++j)
        if (!((v[j] >= 'a' && v[j] <= 'z') || (v[j] >= 'A' && v[j] <= 'Z') || (v[j] >= '0' && v[j] <= '9')
              || v[j] == '_' || v[j] == '-' || v[j] == '.'))
          goto bad;
      l->ident = v;
    } else if (str_equal(key, "facility")) {
      const char *f = case_starts(v, "LOG_") ? v + 4 : v;
      for (k = 0; k < sizeof facilities / sizeof facilities[0]; ++k)
        if (case_equals(f, facilities[k].n)) n = facilities[k].f;
      if (n < 0) goto bad;
      l->facility = n;
    } else if (str_equal(key, "logsock")) {
      if (!sl_socks(l, v)) {
        if (stralloc_copys(err, "bad value for logsock: ") && stralloc_cats(err, v))
          stralloc_cats(err, " (it takes unix, native, stream, udp, tcp, inet, console or a socket path,"
                             " several separated by commas)");
        return 0;
      }
    } else {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, key);
      return 0;
    }
  }
  *self = l;
  return 1;
bad:
  if (stralloc_copys(err, "bad value for ") && stralloc_cats(err, argv[i]) && stralloc_cats(err, ": "))
    stralloc_cats(err, argv[i + 1]);
  return 0;
}

/* type t's connection, or -1 */
static int sl_connect(int t, const char *path)
{
  struct sockaddr_un sa;
  struct sockaddr_in in;
  int fd;
  if (t == T_CONSOLE) return open("/dev/console", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (t == T_UDP || t == T_TCP) {
    fd = socket(AF_INET, (t == T_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd == -1) return -1;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = htons(514);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&in, sizeof in) == -1) { close(fd); return -1; }
    return fd;
  }
  fd = socket(AF_UNIX, (t == T_STREAM ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, str_len(path));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) { close(fd); return -1; }
  return fd;
}

/* the first of logsock's types that opens (Sys::Syslog's order) */
static int sl_open(struct sl *l)
{
  int i;
  if (l->fd != -1) return 1;
  for (i = 0; i < l->ntypes; ++i) {
    l->fd = sl_connect(l->type[i], l->path[i]);
    if (l->fd != -1) { l->used = l->type[i]; return 1; }
  }
  return 0;
}

static size_t two(char *b, int v)
{
  b[0] = (char)('0' + v / 10 % 10);
  b[1] = (char)('0' + v % 10);
  return 2;
}

static int sl_log(struct session *s, void *self, struct log_args *a)
{
  static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  struct sl *l = self;
  char buf[1200];
  size_t n = 0, room;
  time_t t = time(0);
  struct tm tm;
  int pri, attempt;

  (void)s;
  if (a->level > l->level) return DECLINED;
  if (a->plugin && str_equal(a->plugin, PLUGIN)) return DECLINED;
  pri = l->facility * 8 + (l->priority >= 0 ? l->priority : a->level < 0 ? 0 : a->level > 7 ? 7 : a->level);
  localtime_r(&t, &tm);
  buf[n++] = '<';
  n += fmt_ulong(buf + n, (unsigned long)pri);
  buf[n++] = '>';
  memcpy(buf + n, mon + 3 * tm.tm_mon, 3); n += 3;
  buf[n++] = ' ';
  buf[n++] = tm.tm_mday < 10 ? ' ' : (char)('0' + tm.tm_mday / 10);
  buf[n++] = (char)('0' + tm.tm_mday % 10);
  buf[n++] = ' ';
  n += two(buf + n, tm.tm_hour); buf[n++] = ':';
  n += two(buf + n, tm.tm_min); buf[n++] = ':';
  n += two(buf + n, tm.tm_sec); buf[n++] = ' ';
  n += fmt_str(buf + n, l->ident);
  buf[n++] = '[';
  n += fmt_ulong(buf + n, (unsigned long)getpid());
  n += fmt_str(buf + n, "]: ");
  if (a->hook) { buf[n++] = '('; n += fmt_strn(buf + n, a->hook, 40); n += fmt_str(buf + n, ") "); }
  if (a->plugin) { n += fmt_strn(buf + n, a->plugin, 64); n += fmt_str(buf + n, ": "); }
  room = sizeof buf - n - 1;
  if (a->len < room) room = a->len;
  memcpy(buf + n, a->text, room);   /* the core has replaced control bytes */
  n += room;
  for (attempt = 0; attempt < 2; ++attempt) {
    ssize_t w;
    size_t len = n;
    if (!sl_open(l)) return DECLINED;
    /* a stream needs a line end: NUL on /dev/log (libc's), LF on TCP and the console */
    if (l->used == T_STREAM) buf[len++] = 0;
    else if (l->used == T_TCP || l->used == T_CONSOLE) buf[len++] = '\n';
    w = l->used == T_CONSOLE ? write(l->fd, buf, len) : send(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w != -1) break;
    if (errno == EAGAIN || errno == ENOBUFS) break;     /* dropped, not waited for */
    close(l->fd);                                       /* the daemon restarted: reconnect once */
    l->fd = -1;
  }
  return DECLINED;
}

const struct plugin plugin_logging_syslog = {
  .name = "logging/syslog",
  .init = sl_init,
  .logging = sl_log,
};
