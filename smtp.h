/* The SMTP engine (smtp.c). */
#ifndef SMTP_H
#define SMTP_H

#include <stddef.h>

struct session;

/* the greeting, then commands until the session ends; does not return */
void smtp_run(struct session *s);

/* the connect hooks and the greeting: at the start, and again for the
   client an XCLIENT names (xclient.c) */
void smtp_connect_greet(struct session *s);

/* DSN (smtp_dsn.c). A MAIL (rcpt 0) or RCPT parameter, key lower case,
   v its value or NULL: -1 not DSN's (or DSN is not offered), 0 refused
   with a 501, 1 kept; seen holds what this command gave already */
int smtp_dsn_param(struct session *s, const char *key, size_t kl, const char *v, int rcpt, unsigned int *seen);
/* at a RCPT's acceptance: its NOTIFY and ORCPT into its notes */
void smtp_dsn_rcpt(struct session *s, const char *rcpt);

#endif
