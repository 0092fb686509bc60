/* Our Received header field (received.c). */
#ifndef RECEIVED_H
#define RECEIVED_H

#include <stddef.h>
#include <time.h>
#include <stralloc.h>

struct session;

int received_build(struct session *s, stralloc *sa);
/* the Received WITH protocol: SMTP, ESMTP[S][A], UTF8SMTP[S][A] */
const char *received_proto(const struct session *s);
void safe_append(stralloc *sa, const char *x, size_t len);
/* an RFC 5322 date in UTC, "Sun, 06 Dec 2026 20:00:00 +0000" (at most
   RECEIVED_DATE_MAX bytes, no NUL); its length */
#define RECEIVED_DATE_MAX 40
size_t received_date(char *b, time_t now);

#endif
