/* Client I/O on fd 0 and 1 through libowfat buffers whose ops honour the
   session deadline. Output is flushed before every blocking read, so
   pipelined replies go out together (RFC 2920). Once TLS is on, the ops
   go through the TLS engine (tls.c), which uses the raw ops below. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>
#include "io.h"
#include "netio.h"
#include "session.h"

static char inbuf[65536];
static char outbuf[4096];
static struct session *io_s;

long long io_now(void)
{
  return net_deadline(0);
}

void io_set_deadline(struct session *s, unsigned long seconds)
{
  s->deadline = io_now() + (long long)seconds * 1000;
}

/* bytes read from the client in the session (TLS records included):
   one add per read, so the rate check needs nothing on the fast path */
unsigned long long io_rx_bytes;

void io_data_start(struct session *s)
{
  size_t buffered = io_in.n - io_in.p;
  s->data_start = io_now();
  s->data_rx0 = io_rx_bytes >= buffered ? io_rx_bytes - buffered : 0;
  s->data_slow = 0;
  s->in_data = 1;
}

void io_data_stop(struct session *s) { s->in_data = 0; }

/* BDAT: the next chunk of the message, under the same rate from the first */
void io_data_resume(struct session *s) { s->in_data = 1; }

/* In DATA the client has until data_start + data_grace + bytes/data_min_rate
   to send more: each byte it sent buys it 1/data_min_rate seconds, as
   Postfix's smtpd_min_data_rate. Saturates instead of overflowing. */
static long long rate_deadline(const struct session *s)
{
  unsigned long long bytes = io_rx_bytes - s->data_rx0, rate = s->conf.data_min_rate, ms, part;
  if (__builtin_mul_overflow(bytes / rate, 1000ULL, &ms)) return LLONG_MAX;
  part = bytes % rate * 1000 / rate;    /* bytes % rate < rate <= 10^9: no overflow */
  if (__builtin_add_overflow(ms, part, &ms)) return LLONG_MAX;
  if (__builtin_add_overflow(ms, (unsigned long long)s->conf.data_grace * 1000, &ms)) return LLONG_MAX;
  if (ms > (unsigned long long)(LLONG_MAX - s->data_start)) return LLONG_MAX;
  return s->data_start + (long long)ms;
}

/* Commands have one deadline each (s->deadline); in DATA every wait has
   timeout seconds (as qmail-smtpd), a read no longer than the rate allows */
static int io_wait(int fd, short ev)
{
  struct session *s = io_s;
  int capped;
  if (!s->in_data) return net_wait(fd, ev, s->deadline);
  if (net_wait_for(fd, ev, s->conf.timeout * 1000, ev == POLLIN && s->conf.data_min_rate ? rate_deadline(s) : LLONG_MAX, &capped) == 0)
    return 0;
  if (capped && errno == ETIMEDOUT) s->data_slow = 1;
  return -1;
}

ssize_t (*io_tls_read)(char *buf, size_t len);
ssize_t (*io_tls_write)(const char *buf, size_t len);

/* After a read that filled the buffer (a big message streaming in), more
   is most likely waiting: it is taken without a poll first (MSG_DONTWAIT),
   and only an empty socket makes us wait, within the deadline. */
ssize_t io_raw_read(int fd, char *buf, size_t len)
{
  static int notsock, full;
  ssize_t r;
  if (full && !notsock) {
    r = recv(fd, buf, len, MSG_DONTWAIT);
    if (r >= 0) { full = (size_t)r == len; io_rx_bytes += (size_t)r; return r; }
    if (errno == ENOTSOCK) notsock = 1;
    else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
  }
  for (;;) {
    if (io_wait(fd, POLLIN) == -1) return -1;
    r = read(fd, buf, len);
    if (r >= 0) { full = len && (size_t)r == len; io_rx_bytes += (size_t)r; return r; }
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

/* A reply almost always fits in the socket buffer, so it is sent at once
   without blocking (MSG_DONTWAIT: the file description stays blocking,
   for whoever shares it), and only a full buffer makes us wait, within
   the deadline. A descriptor that is not a socket (a pipe under sslserver,
   a file in tests) takes poll and write. */
ssize_t io_raw_write(int fd, const char *buf, size_t len)
{
  static int notsock;
  ssize_t r;
  for (;;) {
    if (!notsock) {
      r = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r >= 0) return r;
      if (errno == ENOTSOCK) notsock = 1;
      else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
    if (io_wait(fd, POLLOUT) == -1) return -1;
    if (!notsock) continue;
    r = write(fd, buf, len);
    if (r >= 0) return r;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

static ssize_t io_read(int fd, char *buf, size_t len)
{
  if (io_out.p && buffer_flush(&io_out) == -1) return -1;
  if (io_tls_read) return io_tls_read(buf, len);
  return io_raw_read(fd, buf, len);
}

static ssize_t io_write(int fd, const char *buf, size_t len)
{
  ssize_t r;
  long long saved = io_s->deadline;
  /* a write gets its own deadline: the client must read our replies */
  io_set_deadline(io_s, io_s->conf.timeout);
  r = io_tls_write ? io_tls_write(buf, len) : io_raw_write(fd, buf, len);
  io_s->deadline = saved;
  return r;
}

buffer io_in = BUFFER_INIT(io_read, 0, inbuf, sizeof inbuf);
buffer io_out = BUFFER_INIT(io_write, 1, outbuf, sizeof outbuf);

/* drops what was read but not consumed; returns how many bytes */
size_t io_discard_input(void)
{
  size_t n = io_in.n - io_in.p;
  io_in.p = io_in.n = 0;
  return n;
}

int io_fill(size_t need)
{
  size_t have = io_in.n - io_in.p;
  if (need > io_in.a) return -1;
  if (have >= need) return 1;
  if (io_in.p) {
    memmove(io_in.x, io_in.x + io_in.p, have);
    io_in.p = 0;
    io_in.n = have;
  }
  while (io_in.n < need) {
    ssize_t r = io_in.op(io_in.fd, io_in.x + io_in.n, io_in.a - io_in.n);
    if (r < 0) return -1;
    if (r == 0) return 0;
    io_in.n += (size_t)r;
  }
  return 1;
}

void io_init(struct session *s)
{
  io_s = s;
  s->in = &io_in;
  s->out = &io_out;
}
