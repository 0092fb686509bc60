/* Session and transaction state, private to the core. */
#ifndef SESSION_H
#define SESSION_H

#include <buffer.h>
#include <stralloc.h>
#include "plugin.h"
#include "spool.h"

#define VERSION "0.1"

/* limits (see qpsmtpd.8) */
#define CMDLINE_MAX   1024      /* octets with CRLF: RFC 5321's 512 plus room for ESMTP parameters */
#define DATALINE_MAX  1000      /* octets with CRLF, RFC 5321 4.5.3.1.6 */
#define HEADER_MAX    (256 * 1024)
#define RCPT_MAX      1000      /* RFC 5321 4.5.3.1.8 asks for at least 100 */
#define MAXHOPS       100
#define ERRORS_MAX    50        /* failed commands before 421 */

struct notes { stralloc kv; };  /* "key\0value\0" ... */

struct txn {
  int have_sender;
  stralloc sender;              /* without brackets, \0-terminated */
  stralloc rcpts;               /* "addr\0" each */
  unsigned int nrcpt;
  unsigned long long declared_size;
  struct notes notes;
  struct notes rcpt_notes;       /* per recipient: "address\nkey" */
  stralloc newhdrs;             /* header fields the core and plugins add, LF ends */
  stralloc hdr;                 /* copy of the message's header section */
  int in_headers;
  size_t hdr_linestart;
  int hdr_toolarge;
  int hdr_edited;               /* a plugin removed fields from hdr (txnmsg.c) */
  size_t hdr_spoollen;          /* then: the header section's length in the spool */
  unsigned long long size;      /* stored bytes: LF line ends, dots unstuffed */
  int toobig;
  int longline;
  int spoolerr;
  unsigned int hops;
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
  stralloc me;
  int relay_client;
  int relay_at_connect;         /* relay_client after the connect hooks; STARTTLS goes back to it */
  int hello;                    /* 0, HELLO_HELO, HELLO_EHLO */
  stralloc hello_host;
  struct notes notes;
  int tls;
  int authenticated;
  int auth_tried;               /* an AUTH reached the check: for Authentication-Results */
  unsigned int auth_failures;
  stralloc auth_user;           /* of the last checked AUTH, \0-terminated */
  char auth_mech[12];           /* "plain", "login", "cram-md5" */
  unsigned long databytes;      /* 0: no limit */
  unsigned long timeout;        /* seconds */
  unsigned long size_threshold;
  int loglevel;
  int logok;                    /* fd 2 may be written */
  long long deadline;           /* monotonic ms; 0 none */
  /* DATA (io.c): each wait for the client may last timeout seconds, and
     past data_grace the client must keep data_min_rate bytes a second */
  int strict_lines;             /* strict_line_length: refuse lines over 998 */
  int data_conf;                /* the three DATA control files are read */
  unsigned long data_min_rate;  /* bytes a second; 0 off */
  unsigned long data_grace;     /* seconds */
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

extern const char *const hook_names[HOOK_COUNT];

/* privdrop.c */
void priv_drop(struct session *s);

/* remote.c */
void session_describe(struct session *s);

/* log.c */
void log_init(struct session *s);
void log_route_plugins(void);
void log_line(struct session *s, int level, const char *hook, const char *plugin, const char *text, size_t len);

/* io.c */
extern buffer io_in;
extern buffer io_out;
long long io_now(void);
void io_set_deadline(struct session *s, unsigned long seconds);
extern unsigned long long io_rx_bytes;
void io_data_start(struct session *s);
void io_data_stop(struct session *s);
void io_init(struct session *s);
ssize_t io_raw_read(int fd, char *buf, size_t len);
ssize_t io_raw_write(int fd, const char *buf, size_t len);
extern ssize_t (*io_tls_read)(char *buf, size_t len);
extern ssize_t (*io_tls_write)(const char *buf, size_t len);
size_t io_discard_input(void);

/* line.c */
enum line_status { LINE_OK, LINE_EOF, LINE_TIMEOUT, LINE_ERROR, LINE_TOOLONG, LINE_BARELF, LINE_BARECR, LINE_NUL, LINE_8BIT };
int line_read(buffer *b, char *line, size_t max, size_t *len);
/* wipes what the reader has already handed out of b's buffer */
void line_wipe_consumed(buffer *b);

/* reply.c */
void reply(struct session *s, unsigned int code, const char *ecode, const char *text, size_t len);
void replys(struct session *s, unsigned int code, const char *ecode, const char *text);
void reply_flush(struct session *s);
void die_control(struct session *s, const char *name, const char *why);
void die_nomem(struct session *s);
void die_exit(struct session *s, int code);

/* notes.c */
const char *notes_get(struct notes *n, const char *key);
int notes_set(struct notes *n, const char *key, const char *value);
void notes_clear(struct notes *n);

/* control.c */
void control_setup(struct session *s);
void control_data_setup(struct session *s);
/* opens the first NAME of the control directories: 1 (fd and path set),
   0 none, -1 error (errno; path names the file) */
int control_open(struct session *s, const char *name, stralloc *path, int *fd);

/* hooks.c */
int hook_run(struct session *s, enum hook h, struct hook_args *a);
int hook_plugins_init(stralloc *err);
int hook_any(enum hook h);

/* txn.c */
void txn_reset(struct session *s);
void txn_new(struct session *s);
void txn_spool_prepare(struct session *s);
/* txnmsg.c */
int txn_write_edited(struct session *s, int fd);
int txn_each_edited(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx);

/* received.c */
int received_build(struct session *s, stralloc *sa);
void safe_append(stralloc *sa, const char *x, size_t len);

/* data.c */
enum data_status { DATA_END, DATA_EOF, DATA_TIMEOUT, DATA_ERROR, DATA_BARELF, DATA_BARECR, DATA_DISCONNECT };
int data_read(struct session *s);

/* smtp.c */
void smtp_run(struct session *s);
void smtp_disconnect(struct session *s, int exitcode);
/* wipes the command line and the input already read (after AUTH) */
void smtp_line_wipe(struct session *s);
/* the reply to the data_headers_end hook's result (data.c) */
void smtp_headers_end_reply(struct session *s, int rc, const stralloc *msg);

/* auth.c */
int auth_command_known(struct session *s);
void auth_ehlo(struct session *s, stralloc *r);
void smtp_auth(struct session *s, const char *arg, size_t len);
size_t auth_log_len(const char *line, size_t len);
int auth_results_header(struct session *s);

#endif
