/* XCLIENT (Postfix's XCLIENT_README) in the engine (xclient.c). */
#ifndef XCLIENT_H
#define XCLIENT_H

#include <stddef.h>

struct session;

/* XCLIENT (the xclient plugin's unrecognized_command hook): the whole
   command, its reply, and a new greeting after xclient_apply */
void xclient_command(struct session *s, const char *arg, size_t len);
/* XCLIENT's command line: refused (550 5.7.0) unless the connection note
   xclient_allowed is set (the xclient plugin sets it for the addresses in
   xclient_hosts), 503 in a transaction, 501 for bad attributes; else the
   session's client becomes the one the attributes name, the session's
   state is forgotten as after STARTTLS, and 1 is returned: the caller
   runs the connect hooks again and greets anew. 0 after a reply. */
int xclient_apply(struct session *s, const char *arg, size_t len);
/* after the connect hooks ran again: LOGIN's authentication */
void xclient_login(struct session *s);
/* the attributes xclient_apply takes, for EHLO */
#define XCLIENT_EHLO "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"

#endif
