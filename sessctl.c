/* Small services for plugins that steer the session: peeking at the
   client's input (earlytalker) and closing after the current reply
   (count_denies). */
#include <errno.h>
#include <poll.h>
#include "clock.h"
#include "netio.h"
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
