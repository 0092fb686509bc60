/* Connections to local daemons under deadlines. Addresses are literals
   only: a plugin never waits on DNS. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "netio.h"

long long net_deadline(unsigned long ms) { return clock_ms() + (long long)ms; }

/* the one poll loop: polls at least once, until fd is ready for ev or the
   clock (now when called) reaches until. The revents, 0 when time ran out,
   -1 with errno. The clock is read again only after a poll that did not
   see fd ready. */
static inline __attribute__((always_inline)) int poll_until(int fd, short ev, long long now, long long until)
{
  struct pollfd p;
  for (;;) {
    long long left = until - now;
    int r;
    if (left < 0) left = 0;
    if (left > 3600000) left = 3600000;
    p.fd = fd; p.events = ev; p.revents = 0;
    r = poll(&p, 1, (int)left);
    if (r > 0) return p.revents ? p.revents : ev;
    if (r < 0 && errno != EINTR) return -1;
    now = clock_ms();
    if (r == 0 && now >= until) return 0;
  }
}

int net_poll(int fd, short ev, long long now, long long until)
{
  return poll_until(fd, ev, now, until);
}

int net_wait(int fd, short ev, long long deadline)
{
  long long now = clock_ms();
  int r;
  if (deadline <= now) { errno = ETIMEDOUT; return -1; }
  r = poll_until(fd, ev, now, deadline);
  if (r > 0) return 0;
  if (r == 0) errno = ETIMEDOUT;
  return -1;
}

int net_wait_for(int fd, short ev, unsigned long ms, long long cap, int *capped)
{
  long long now = clock_ms(), until;
  int r;
  *capped = 0;
  if (ms > 86400000UL) ms = 86400000UL;
  until = now + (long long)ms;
  if (cap < until) { until = cap; *capped = 1; }
  r = poll_until(fd, ev, now, until);
  if (r > 0) return 0;
  if (r == 0) errno = ETIMEDOUT;
  return -1;
}

/* parses spec into ss; 0 ok, -1 not an address we take */
static int parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
  size_t n = strlen(spec), i;
  unsigned long port = 0;
  char host[64];
  const char *colon, *p;
  memset(ss, 0, sizeof *ss);
  if (spec[0] == '/') {
    struct sockaddr_un *u = (struct sockaddr_un *)ss;
    if (n >= sizeof u->sun_path) return -1;
    u->sun_family = AF_UNIX;
    memcpy(u->sun_path, spec, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
  }
  colon = strrchr(spec, ':');
  if (!colon || !colon[1]) return -1;
  for (p = colon + 1; *p; ++p) {
    if (*p < '0' || *p > '9') return -1;
    port = port * 10 + (unsigned long)(*p - '0');
    if (port > 65535) return -1;
  }
  if (!port) return -1;
  if (spec[0] == '[') {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    i = (size_t)(colon - spec);
    if (i < 3 || spec[i - 1] != ']' || i - 2 >= sizeof host) return -1;
    memcpy(host, spec + 1, i - 2);
    host[i - 2] = 0;
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) return -1;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((unsigned short)port);
    *len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    i = (size_t)(colon - spec);
    if (!i || i >= sizeof host) return -1;
    memcpy(host, spec, i);
    host[i] = 0;
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) return -1;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)port);
    *len = sizeof *s4;
  }
  return 0;
}

int net_addr_ok(const char *spec)
{
  struct sockaddr_storage ss;
  socklen_t len;
  return parse(spec, &ss, &len) == 0;
}

int net_connect(const char *spec, long long deadline)
{
  struct sockaddr_storage ss;
  socklen_t len;
  int fd, e;
  socklen_t el = sizeof e;
  if (parse(spec, &ss, &len) == -1) { errno = EINVAL; return -1; }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  if (connect(fd, (struct sockaddr *)&ss, len) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) goto fail;
  if (net_wait(fd, POLLOUT, deadline) == -1) goto fail;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == -1) goto fail;
  if (e) { errno = e; goto fail; }
  return fd;
fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

int net_write_all(int fd, const char *buf, size_t len, long long deadline)
{
  while (len) {
    ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (net_wait(fd, POLLOUT, deadline) == -1) return -1;
      continue;
    }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

ssize_t net_read(int fd, char *buf, size_t len, long long deadline)
{
  for (;;) {
    ssize_t r = read(fd, buf, len);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (net_wait(fd, POLLIN, deadline) == -1) return -1;
  }
}
