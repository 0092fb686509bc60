/* Our Received header field (received.c). */
#ifndef RECEIVED_H
#define RECEIVED_H

#include <stddef.h>
#include <stralloc.h>

struct session;

int received_build(struct session *s, stralloc *sa);
void safe_append(stralloc *sa, const char *x, size_t len);

#endif
