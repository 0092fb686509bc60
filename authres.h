/* The Authentication-Results header field (authres.c, RFC 8601). */
#ifndef AUTHRES_H
#define AUTHRES_H

struct session;

/* Adds one method's result, e.g. "spf=pass smtp.mailfrom=example.com",
   to the session's Authentication-Results header. A connection's result
   (iprev) lasts the session; a transaction's (spf, dkim, dmarc, arc) is
   cleared with the transaction. Non-printable bytes become '?'. 0: out
   of memory. */
int authres_add_conn(struct session *s, const char *result);
int authres_add_txn(struct session *s, const char *result);

/* the authserv-id: me-auth-results, or me; "none" means no header */
const char *authres_id(struct session *s);

/* Removes the client's Authentication-Results fields that claim our
   authserv-id (RFC 8601 section 5): the number removed, -1 when the header
   section is too large to edit */
int authres_remove_claims(struct session *s);

/* Adds the header: "<id>; auth=...; <results>" */
int auth_results_header(struct session *s);

#endif
