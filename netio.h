/* Client connections from plugins to local daemons (spamd, clamd, redis):
   every step under a deadline, no DNS. */
#ifndef NETIO_H
#define NETIO_H

#include <stddef.h>
#include <sys/types.h>

/* a deadline in monotonic milliseconds, now + ms */
long long net_deadline(unsigned long ms);
/* waits until fd is ready for ev (poll events) or the deadline passes:
   0, or -1 with errno (ETIMEDOUT past the deadline) */
int net_wait(int fd, short ev, long long deadline);
/* the poll loop under both: polls at least once, until fd is ready for ev
   or the clock (now, when called) reaches until (monotonic ms): the
   revents, 0 when time ran out, -1 with errno */
int net_poll(int fd, short ev, long long now, long long until);
/* waits until fd is ready for ev, at most ms from now and not past cap
   (monotonic ms): a ready fd is always seen, even past the cap. 0, or -1
   with errno (ETIMEDOUT when time ran out; *capped then says whether the
   cap came first). Reads the clock once, and again only after a poll that
   did not see fd ready. */
int net_wait_for(int fd, short ev, unsigned long ms, long long cap, int *capped);
/* 1 when spec is a usable address: "/path" (Unix socket), "IPv4:port",
   "[IPv6]:port"; 0 otherwise */
int net_addr_ok(const char *spec);
/* connects (non-blocking, then poll) before the deadline; the fd stays
   non-blocking. -1 with errno (ETIMEDOUT past the deadline). */
int net_connect(const char *spec, long long deadline);
int net_write_all(int fd, const char *buf, size_t len, long long deadline);
/* one read: >0 bytes, 0 EOF, -1 error or ETIMEDOUT */
ssize_t net_read(int fd, char *buf, size_t len, long long deadline);

#endif
