/* Small services for plugins that steer the session: peeking at the
   client's input (earlytalker) and closing after the current reply
   (count_denies). */
#include <errno.h>
#include <poll.h>
#include "session.h"

int session_input_pending(struct session *s, unsigned long ms)
{
  long long deadline;
  struct pollfd p;

  if (s->in->p < s->in->n) return 1;      /* already read, not yet parsed */
  if (ms > 3600000UL) ms = 3600000UL;
  deadline = io_now() + (long long)ms;
  for (;;) {
    long long left = deadline - io_now();
    int r;
    if (left < 0) left = 0;
    p.fd = s->in->fd;
    p.events = POLLIN;
    p.revents = 0;
    r = poll(&p, 1, (int)left);
    if (r > 0) return (p.revents & (POLLIN | POLLHUP)) ? 1 : -1;
    if (r == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

void session_disconnect_later(struct session *s)
{
  s->disconnecting = 1;
}

int session_hello_ehlo(struct session *s)
{
  return s->hello == HELLO_EHLO;
}
