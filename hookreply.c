/* The replies to a hook's result (hookreply.h). */
#include <stralloc.h>
#include "hookreply.h"
#include "hooks.h"
#include "log.h"
#include "reply.h"
#include "session.h"

/* sends the reply for rc from table t (terminated by rc 0); returns the
   action; msg (a plugin's text) replaces the table's, and a text of MAIL's
   replies follows "<addr>, " when addr is set. DONE sends nothing, but if
   the plugin did not reply itself the client would hang: then 451. */
int hook_respond(struct session *s, const struct hook_reply *t, int rc, const stralloc *msg,
                        const stralloc *addr, unsigned long replies_before)
{
  for (; t->rc; ++t) {
    if (t->rc != rc) continue;
    if (t->r == R_NONE) ;
    else if (msg->len) reply_with(s, t->r, msg->s, msg->len);
    else if (addr) {
      stralloc *x = &s->tmp;
      if (!stralloc_copys(x, "<") || !stralloc_catb(x, addr->s, addr->len - 1) || !stralloc_cats(x, ">, ")
          || !stralloc_cats(x, reply_texts[t->r].text)) die_nomem(s);
      reply_with(s, t->r, x->s, x->len);
    } else reply_send(s, t->r);
    if (t->act == ACT_DISCONNECT) { s->disconnecting = 1; }
    return t->act;
  }
  if (rc == DONE && s->replies == replies_before) {
    qlog(s, LOGERROR, NULL, "a plugin returned DONE without replying");
    reply_send(s, R_INTERNAL_DONE);
  }
  return ACT_NONE;
}

/* only the _DISCONNECT codes act here, as in Perl qpsmtpd */
static const struct hook_reply headers_end_replies[] = {
  { DENY_DISCONNECT, R_MSG_DENIED, ACT_DISCONNECT },
  { DENYSOFT_DISCONNECT, R_MSG_DENIED_421, ACT_DISCONNECT },
  { 0, 0, 0 }
};

/* data.c, at the end of the header section: the reply to the
   data_headers_end hook's result; the session ends after the message */
void hook_respond_headers_end(struct session *s, int rc, const stralloc *msg)
{
  if (rc == DONE) return;       /* the message is still coming: no 451 yet */
  hook_respond(s, headers_end_replies, rc, msg, NULL, s->replies);
}
