/* Session and transaction state, private to the core: types only, no
   functions (each module has its own header). */
#ifndef SESSION_H
#define SESSION_H

#include <buffer.h>
#include <stralloc.h>
#include "spool.h"

#define VERSION "0.1"

/* limits (see qpsmtpd.8) */
#define CMDLINE_MAX   1024      /* octets with CRLF: RFC 5321's 512 plus room for ESMTP parameters */
#define DATALINE_MAX  1000      /* octets with CRLF, RFC 5321 4.5.3.1.6 */
#define HEADER_MAX    (256 * 1024)
#define RCPT_MAX      1000      /* RFC 5321 4.5.3.1.8 asks for at least 100 */
#define MAXHOPS       100
#define ERRORS_MAX    50        /* failed commands before 421 */

/* the core's control files, read before the greeting (config.c) */
struct config {
  stralloc me;                  /* me, else the host name; \0-terminated */
  stralloc greeting;            /* smtpgreeting's first line, \0-terminated; empty: none */
  unsigned long timeout;        /* timeoutsmtpd, seconds */
  unsigned long databytes;      /* 0: no limit */
  unsigned long size_threshold; /* bytes kept in memory before spooling */
  int loglevel;
  /* DATA (io.c): each wait for the client may last timeout seconds, and
     past data_grace the client must keep data_min_rate bytes a second */
  int strict_lines;             /* strict_line_length: refuse lines over 998 */
  unsigned long data_min_rate;  /* bytes a second; 0 off */
  unsigned long data_grace;     /* seconds */
  unsigned long queue_timeout;  /* timeoutqueue, seconds */
  stralloc spool_dir;           /* \0-terminated: spool_dir, else $TMPDIR or /tmp */
  unsigned long spool_perms;    /* the spool directory's mode */
  /* AUTH, read only when the chain offers it */
  int tls_before_auth;
  unsigned long auth_delay_ms;  /* auth_failure_delay */
  unsigned long auth_limit;     /* auth_failure_limit */
  stralloc authres_id;          /* me-auth-results; empty: me; "none": no header */
  /* PROXY protocol (proxy.c): the proxies allowed to send a header, 17
     bytes each (an IPv6 or IPv4-mapped network, its prefix length) */
  stralloc proxy_nets;
  unsigned long proxy_timeout;  /* timeoutproxy, seconds */
  /* LIMITS (RFC 9422): advertised when either file exists */
  unsigned long rcpt_max;       /* maxrcpt: recipients per transaction, RCPT_MAX at most */
  unsigned long mail_max;       /* maxmail: transactions per session; 0 no limit */
  int limits_set;
};

struct notes { stralloc kv; };  /* "key\0value\0" ... (notes.h) */

struct txn {
  int have_sender;
  stralloc sender;              /* without brackets, \0-terminated */
  stralloc rcpts;               /* "addr\0" each */
  unsigned int nrcpt;
  unsigned long long declared_size;
  int smtputf8;                 /* MAIL said SMTPUTF8 (RFC 6531) */
  /* DSN (smtp_dsn.c): the NOTIFY and ORCPT of the RCPT being checked,
     kept at its acceptance if s->replies is still dsn_at */
  int dsn_pending;
  unsigned long dsn_at;
  int dsn_notify;
  stralloc dsn_orcpt;
  struct notes notes;
  struct notes rcpt_notes;       /* per recipient: "address\nkey" */
  stralloc newhdrs;             /* header fields the core and plugins add, LF ends */
  stralloc hdr;                 /* copy of the message's header section */
  int in_headers;
  size_t hdr_linestart;
  int hdr_toolarge;
  int hdr_edited;               /* a plugin removed fields from hdr (message.c) */
  size_t hdr_spoollen;          /* then: the header section's length in the spool */
  unsigned long long size;      /* stored bytes: LF line ends, dots unstuffed */
  int toobig;
  int longline;
  int spoolerr;
  unsigned int hops;
  int authres_seen;             /* the client sent an Authentication-Results field */
  /* BDAT (data.c): a chunked message is under way (the data hook ran) */
  int bdat;
  int bdat_cr;                  /* the last chunk ended with a CR */
  int bdat_bare;                /* 0, or DATA_BARELF / DATA_BARECR: refused at its chunk */
  size_t bdat_linelen;          /* octets of the line so far (capped) */
  struct spool spool;
};

struct session {
  buffer *in;
  buffer *out;
  const char *remote_ip;
  const char *remote_port;
  const char *remote_host;      /* NULL when unknown */
  const char *remote_info;      /* NULL when no ident */
  const char *local_ip;
  const char *local_port;
  const char *local_host;
  char peerbuf[2][64];
  stralloc remote_desc;         /* Perl's remote_info: ident@host, host or [ip] */
  struct config conf;           /* the core's control files (config.c) */
  int relay_client;
  int relay_at_connect;         /* relay_client after the connect hooks; STARTTLS goes back to it */
  int hello;                    /* 0, HELLO_HELO, HELLO_EHLO */
  stralloc hello_host;
  struct notes notes;
  int tls;
  int authenticated;
  int auth_tried;               /* an AUTH reached the check: for Authentication-Results */
  unsigned int auth_failures;
  unsigned long mails;          /* MAIL commands accepted (maxmail) */
  unsigned long lookaheads;     /* MAIL commands whose mail_lookahead hooks ran */
  stralloc auth_user;           /* of the last checked AUTH, \0-terminated */
  char auth_mech[12];           /* "plain", "login", "cram-md5" */
  int logok;                    /* fd 2 may be written */
  long long deadline;           /* monotonic ms; 0 none */
  /* DATA (io.c): the rate's state (conf holds its limits) */
  int in_data;                  /* between io_data_start and io_data_stop */
  int data_slow;                /* a wait ended at the rate's deadline */
  long long data_start;         /* monotonic ms at the 354 */
  unsigned long long data_rx0;  /* io_rx_bytes at the 354, less what was buffered */
  int disconnecting;
  unsigned int errors;
  unsigned long replies;        /* replies sent, to see if a DONE plugin replied */
  const char *hookname;         /* for log lines */
  int txn_exists;
  struct txn t;
  stralloc msg;
  stralloc out2;
  stralloc tmp;
};

#define HELLO_HELO 1
#define HELLO_EHLO 2

#endif
