/* The Authentication-Results header field (authres.c, RFC 8601). */
#ifndef AUTHRES_H
#define AUTHRES_H

struct session;

int auth_results_header(struct session *s);

#endif
