/* The SMTP engine (smtp.c). */
#ifndef SMTP_H
#define SMTP_H

struct session;

/* the greeting, then commands until the session ends; does not return */
void smtp_run(struct session *s);

#endif
