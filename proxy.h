/* The PROXY protocol before the greeting (proxy.c). */
#ifndef PROXY_H
#define PROXY_H

struct session;

/* When the connection comes from an address in proxyclients, reads the
   PROXY header (version 1 or 2) within timeoutproxy seconds and makes its
   client the session's; a missing, late or malformed header ends the
   session (421). From any other address nothing is read. */
void proxy_accept(struct session *s);
/* the session's client is now rip:rport (host its name, or NULL), seen
   at lip:lport (PROXY, XCLIENT: how): TCPREMOTEIP and the others follow,
   what tcpserver said of the proxy's own connection (TCPREMOTEHOST,
   TCPREMOTEINFO, TCPLOCALHOST, RELAYCLIENT) goes; the caller runs
   session_describe */
void proxy_client(struct session *s, const char *rip, const char *rport, const char *lip, const char *lport,
                  const char *host, const char *how);

#endif
