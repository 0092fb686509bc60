/* Our Received header field (received.c). */
#ifndef RECEIVED_H
#define RECEIVED_H

#include <stddef.h>
#include <stralloc.h>

struct session;

int received_build(struct session *s, stralloc *sa);
/* the Received WITH protocol: SMTP, ESMTP[S][A], UTF8SMTP[S][A] */
const char *received_proto(const struct session *s);
void safe_append(stralloc *sa, const char *x, size_t len);

#endif
