/* SMTP AUTH (auth.c, RFC 4954). */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stralloc.h>

struct session;

int auth_command_known(struct session *s);
void auth_ehlo(struct session *s, stralloc *r);
void smtp_auth(struct session *s, const char *arg, size_t len);
size_t auth_log_len(const char *line, size_t len);

#endif
