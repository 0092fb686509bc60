/* The client's description in replies and logs (Perl's remote_info:
   ident@host, host or [ip]), and the host name a plugin may learn later
   (fcrdns after a forward-confirmed PTR lookup). */
#include <stdlib.h>
#include <string.h>
#include "session.h"

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
