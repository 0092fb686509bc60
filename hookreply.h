/* What a hook's result makes the core say (hookreply.c), for the
   command table (smtp.c) and the end of the header section (data.c). */
#ifndef HOOKREPLY_H
#define HOOKREPLY_H

#include <stralloc.h>
#include "reply.h"

struct session;

/* what a hook's result makes the core say: per code, the reply (code,
   enhanced code, default text: reply.c) and what happens next. A DONE
   row with R_NONE sends nothing. */
enum { ACT_NONE, ACT_RESET, ACT_DISCONNECT };
struct hook_reply { int rc; enum reply_id r; int act; };

/* sends the reply for rc from table t (terminated by rc 0) and returns
   its action (ACT_*); see hookreply.c */
int hook_respond(struct session *s, const struct hook_reply *t, int rc, const stralloc *msg,
                 const stralloc *addr, unsigned long replies_before);
/* the reply to the data_headers_end hook's result (data.c, at the end
   of the header section) */
void hook_respond_headers_end(struct session *s, int rc, const stralloc *msg);

#endif
