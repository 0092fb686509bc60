/* The connection (connection.c): its start, and the facts and controls
   plugins have of it. */
#ifndef CONNECTION_H
#define CONNECTION_H

struct session;

/* everything before the greeting: signals, the log, privileges, who the
   peer is, the control files, the plugins' init (a failure answers 421
   and exits) */
void session_start(struct session *s);
/* the client's description (Perl's remote_info) in s->remote_desc */
void session_describe(struct session *s);

/* 1 when the client has sent bytes we have not read yet, waiting up to ms
   milliseconds for them to come (earlytalker); 0 when none came, -1 on a
   read error or hang-up */
int session_input_pending(struct session *s, unsigned long ms);
/* closes the connection after the reply to the current command */
void session_disconnect_later(struct session *s);

/* facts of the connection */
const char *session_me(struct session *s);
const char *session_remote_ip(struct session *s);
const char *session_remote_host(struct session *s);   /* may be NULL */
const char *session_remote_port(struct session *s);   /* may be NULL */
const char *session_local_ip(struct session *s);      /* may be NULL */
const char *session_local_port(struct session *s);    /* may be NULL */
const char *session_auth_user(struct session *s);     /* NULL unless authenticated */
int session_relay_client(struct session *s);
void session_set_relay_client(struct session *s, int yes);
const char *session_hello_host(struct session *s);    /* NULL before HELO */
int session_hello_ehlo(struct session *s);            /* 1 after a successful EHLO */

/* after a PTR lookup: the client's host name, as TCPREMOTEHOST would give it */
int session_set_remote_host(struct session *s, const char *host);

#endif
