/* The interface between the core and the compiled-in plugins.
   Hooks, return codes and notes follow Perl qpsmtpd (see qpsmtpd.8). */
#ifndef PLUGIN_H
#define PLUGIN_H

#include <stddef.h>
#include <sys/types.h>
#include <stralloc.h>

/* return codes, with Perl qpsmtpd's values */
#define OK                  900
#define DENY                901
#define DENYSOFT            902
#define DENY_DISCONNECT     903
#define DENYSOFT_DISCONNECT 904
#define DECLINED            909
#define DONE                910
/* DENY, DENYSOFT, DENY_DISCONNECT or DENYSOFT_DISCONNECT */
int rc_is_deny(int rc);
/* DENY_DISCONNECT or DENYSOFT_DISCONNECT */
int rc_is_disconnect(int rc);

enum hook {
  HOOK_CONNECT,
  HOOK_HELO,
  HOOK_EHLO,
  HOOK_MAIL_PARSE,
  HOOK_MAIL_PRE,
  HOOK_MAIL,
  HOOK_RCPT_PARSE,
  HOOK_RCPT_PRE,
  HOOK_RCPT,
  HOOK_DATA,
  HOOK_DATA_HEADERS_END,
  HOOK_DATA_POST_HEADERS,
  HOOK_DATA_POST,
  HOOK_QUEUE_PRE,
  HOOK_QUEUE,
  HOOK_QUEUE_POST,
  HOOK_VRFY,
  HOOK_NOOP,
  HOOK_HELP,
  HOOK_QUIT,
  HOOK_DISCONNECT,
  HOOK_POST_CONNECTION,
  HOOK_RESET_TRANSACTION,
  HOOK_UNRECOGNIZED_COMMAND,
  HOOK_DENY,
  HOOK_OK,
  HOOK_RECEIVED_LINE,
  HOOK_AUTH_PARSE,
  HOOK_AUTH,
  HOOK_AUTH_PLAIN,
  HOOK_AUTH_LOGIN,
  HOOK_AUTH_CRAM_MD5,
  HOOK_LOGGING,
  HOOK_COUNT
};

/* log levels, as Perl qpsmtpd (and syslog) */
#define LOGEMERG  0
#define LOGALERT  1
#define LOGCRIT   2
#define LOGERROR  3
#define LOGWARN   4
#define LOGNOTICE 5
#define LOGINFO   6
#define LOGDEBUG  7

struct session;

/* What a hook gets besides the session. Which fields are set depends on
   the hook:
     helo, ehlo            arg = the host argument
     mail_parse/rcpt_parse arg = the text after the verb
     mail_pre, rcpt_pre    arg = the path string, e.g. "a@b" or "<a@b>";
                           to replace it, return OK with the new string in
                           out (the core then parses out instead)
     mail, rcpt            addr = the parsed address without brackets
                           ("" is the null sender), params = the ESMTP
                           parameters as "key=value\0" pairs (keys lower case)
     unrecognized_command  arg = the verb (lower case), rest = the rest
     help                  arg = the rest of the line
     deny, ok              plugin = the plugin that returned, rc = its code,
                           arg = its message
     received_line         arg = "SMTP"/"ESMTP"/"ESMTPS"/...; return OK with
                           the header value (without "Received: ") in out
     logging               rc = the level, arg = the text, plugin = the
                           plugin that logs (or NULL), rest = the hook (or
                           NULL); the return code is ignored. When a plugin
                           has this hook, log lines go to it, not to fd 2.
     auth_parse            arg = the text after AUTH; return OK with a
                           replacement in out, or DENY (501)
     auth-plain, auth-login, auth-cram-md5, auth
                           auth = what the client sent (see struct auth_args)
   The reply text a hook wants the core to send goes into msg (lines
   separated by \n); it is empty on entry. */
struct hook_args {
  const char *arg;
  size_t arglen;
  const char *rest;
  size_t restlen;
  const char *addr;
  size_t addrlen;
  const char *params;
  size_t paramslen;
  const char *plugin;
  int rc;
  stralloc *out;
  stralloc *msg;
  const struct auth_args *auth;
};

/* The credentials of one AUTH attempt (Perl's $mechanism, $user,
   $passClear, $passHash, $ticket). The core wipes them when the hooks have
   run: a plugin must not keep pointers to them, and must wipe its own
   copies (sasl_wipe in sasl.h). Never log pass. */
struct auth_args {
  const char *mech;     /* "plain", "login" or "cram-md5" */
  const char *user;     /* not empty; no NUL, CR or LF */
  const char *pass;     /* plain, login: the clear-text password; else NULL */
  size_t passlen;
  const char *hash;     /* cram-md5: the client's digest, 32 lower-case hex digits; else NULL */
  const char *ticket;   /* cram-md5: the challenge we sent; else NULL */
};

typedef int (*hook_fn)(struct session *s, void *self, struct hook_args *a);

struct plugin {
  const char *name;   /* as in the plugins file, e.g. "queue/qmail-queue" */
  /* Checks the arguments and sets up *self. Must not read files or talk to
     the network: the build runs it to reject a bad plugins file. On error it
     puts a reason in err and returns 0. May be NULL. */
  int (*init)(void **self, int argc, const char *const *argv, stralloc *err);
  hook_fn hooks[HOOK_COUNT];
  unsigned int flags;  /* PLUGIN_* below */
};

/* hooks the generic auth hook but checks no credentials (auth/authdeny):
   AUTH offers no mechanism because of it */
#define PLUGIN_AUTH_CHECKS_NOTHING 1
/* switches the core's STARTTLS command on (tls): in the chain anywhere,
   STARTTLS is a command like MAIL, never an unrecognized one */
#define PLUGIN_STARTTLS 2

/* one line of the plugins file, generated at build time */
struct plugin_inst {
  const struct plugin *p;
  const char *name;            /* with any ":N" instance suffix */
  int argc;
  const char *const *argv;
  void *self;
};

extern struct plugin_inst plugin_chain[];
extern const unsigned int plugin_chain_len;

/* services the core offers to plugins */
/* a plugin out of memory: the reply text (4.3.0), and DENYSOFT to return */
int hook_nomem(struct hook_args *a);
void qlog(struct session *s, int level, const char *plugin, const char *text);
void qlogm_internal(struct session *s, int level, const char *plugin, ...);
#define qlogm(s, level, plugin, ...) qlogm_internal(s, level, plugin, __VA_ARGS__, (char *)0)

/* notes: connection notes live as long as the session, transaction notes
   until the transaction is reset. get returns NULL when unset. */
const char *note_conn_get(struct session *s, const char *key);
int note_conn_set(struct session *s, const char *key, const char *value);
const char *note_txn_get(struct session *s, const char *key);
int note_txn_set(struct session *s, const char *key, const char *value);

/* a note's value is true as in Perl: set, not "" and not "0" */
int note_true(const char *value);

/* The reject convention of Perl's Plugin.pm. A plugin keeps a struct
   reject (mode REJECT_YES and type NULL unless it has other defaults) and
   passes every argument pair to reject_arg, which returns 2 when it took
   "reject"/"reject_type" and its value, 0 when the key is not one of
   them, -1 on a bad value (reason in err). */
#define REJECT_LOG     0        /* reject 0: log only */
#define REJECT_YES     1        /* reject 1 */
#define REJECT_NAUGHTY 2        /* reject naughty: the naughty plugin rejects later */
struct reject { int mode; const char *type; };
/* getenv, without musl's cost per variable (env.c) */
const char *env_get(const char *name);

int reject_arg(struct reject *r, const char *key, const char *value, stralloc *err);
/* for a plugin whose only arguments are reject and reject_type: parses
   them all; 1 ok, 0 with the reason in err */
int reject_args(struct reject *r, int argc, const char *const *argv, stralloc *err);
/* the code for a reject_type name (perm|hard, temp|soft, disconnect,
   temp_disconnect); deftype when name is NULL or unknown */
int reject_type_code(const char *name, int deftype);
/* Perl's get_reject: logs "fail..." with logtext, then by mode returns
   DECLINED (reject 0), DECLINED after appending "(plugin) text" to the
   connection note "naughty" (reject naughty), or the reject_type's code
   (deftype when none) with text in a->msg. */
int reject_get(struct session *s, const struct reject *r, int deftype, const char *plugin,
               const char *text, const char *logtext, struct hook_args *a);
/* Perl's is_immune: relay client, "whitelisthost" connection note or
   "whitelistsender" transaction note; logs the reason */
int session_immune(struct session *s, const char *plugin);
/* Perl's adjust_karma: adds delta to the connection note karma, when the
   karma plugin runs (the note is set) */
void karma_adjust(struct session *s, int delta);

/* control files: 1 found, 0 missing; a file that exists but cannot be read
   or parsed makes the core answer 421 and exit (it does not return). */
int control_readline(struct session *s, const char *name, stralloc *sa);
int control_readlist(struct session *s, const char *name, stralloc *sa); /* lines, each ending in \0 */
int control_readulong(struct session *s, const char *name, unsigned long *u, unsigned long max);
/* cdb map NAME.cdb: 1 key present, 0 absent or no map */
int control_cdb_has(struct session *s, const char *name, const char *key, size_t keylen);

/* 1 when the client has sent bytes we have not read yet, waiting up to ms
   milliseconds for them to come (earlytalker); 0 when none came, -1 on a
   read error or hang-up */
int session_input_pending(struct session *s, unsigned long ms);
/* closes the connection after the reply to the current command */
void session_disconnect_later(struct session *s);

/* sends a reply now, for a hook that answers itself and returns DONE;
   lines separated by \n; ecode is the RFC 3463 code, e.g. "2.0.0" */
void session_reply(struct session *s, unsigned int code, const char *ecode, const char *text);

/* facts of the connection and the transaction */
const char *session_me(struct session *s);
const char *session_remote_ip(struct session *s);
const char *session_remote_host(struct session *s);   /* may be NULL */
int session_relay_client(struct session *s);
void session_set_relay_client(struct session *s, int yes);
const char *session_hello_host(struct session *s);    /* NULL before HELO */
int session_hello_ehlo(struct session *s);            /* 1 after a successful EHLO */

const char *txn_sender(struct session *s);       /* NULL before MAIL; "" for <> */
unsigned int txn_rcpt_count(struct session *s);
const char *txn_rcpt(struct session *s, unsigned int i);  /* no brackets */
int txn_add_header(struct session *s, const char *name, const char *value);
/* the first header field with this name (case-insensitive), its value
   unfolded into sa; 1 found, 0 not */
int txn_header_get(struct session *s, const char *name, stralloc *sa);
unsigned long long txn_data_size(struct session *s);
/* writes the message as it will be queued (new headers first, LF line
   ends) to fd; 0 ok, -1 on a write error (errno set) */
int txn_write_message(struct session *s, int fd);
/* the n-th (from 0) field with this name, or of any name when name is
   NULL, value unfolded into sa; 1 found, 0 not; and how many there are */
int txn_header_nth(struct session *s, const char *name, unsigned int n, stralloc *sa);
unsigned int txn_header_count(struct session *s, const char *name);
/* per-recipient notes (Perl's $rcpt->notes), keyed by the address as
   accepted at RCPT, without brackets; they end with the transaction */
const char *txn_rcpt_note_get(struct session *s, const char *rcpt, const char *key);
int txn_rcpt_note_set(struct session *s, const char *rcpt, const char *key, const char *value);
/* replaces recipient i by the n addresses in addrs (n = 0 removes it);
   0 when out of memory or past the recipient limit */
int txn_rcpt_replace(struct session *s, unsigned int i, const char *const *addrs, unsigned int n);
/* appends to the message body (LF line ends), from data_post on */
int txn_body_append(struct session *s, const char *x, size_t len);
/* a plugin's control file exists but cannot be parsed: logs the file and
   why, answers 421 and exits */
void control_fail(struct session *s, const char *name, const char *why);

/* DNS (dns.c): libowfat's resolver (servers from $DNSCACHEIP, else
   /etc/resolv.conf). Fill queries with dns_query_set, then dns_run (or
   dns_start now and dns_wait later): all of them are in flight at once,
   each until its deadline. Records come as text, each ending in \0: A and
   AAAA addresses, MX hosts in preference order, TXT strings (control
   characters as '?'), PTR names without the trailing dot. */
#define DNSQ_A    "\0\1"
#define DNSQ_PTR  "\0\14"
#define DNSQ_MX   "\0\17"
#define DNSQ_TXT  "\0\20"
#define DNSQ_AAAA "\0\34"
#define DNS_PENDING 0
#define DNS_OK      1   /* n records in rr */
#define DNS_NONE    2   /* permanent: no such name (nxdomain) or no such record */
#define DNS_TEMP    3   /* temporary: server failure, no answer in time, local error */
struct dns_query {
  char type[2];         /* DNSQ_A etc. */
  int status;
  int nxdomain;
  stralloc name;        /* as queried, \0-terminated */
  stralloc rr;
  unsigned int n;
  long long deadline;
  void *priv;
};
/* 1 set, 0 not a usable host name (status DNS_NONE), -1 out of memory */
int dns_query_set(struct dns_query *q, const char *name, size_t len, const char type[2]);
/* seconds 0: each query keeps the deadline set in q->deadline (io time,
   e.g. that of an earlier round, so that a chain of lookups shares one) */
void dns_start(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds);
void dns_wait(struct session *s, struct dns_query *q, unsigned int n);
void dns_run(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds);
void dns_query_free(struct dns_query *q);
/* letters, digits, '-', '_', labels of 1-63 octets, at most 253 in all */
int dns_name_ok(const char *name, size_t len);
/* "4.3.2.1" for 1.2.3.4, reversed nibbles for IPv6; 1 ok, 0 not an
   address, -1 out of memory */
int dns_reverse_ip(stralloc *out, const char *ip);
/* after a PTR lookup: the client's host name, as TCPREMOTEHOST would give it */
int session_set_remote_host(struct session *s, const char *host);
/* calls fn with the same bytes in order, in chunks of any size; returns
   -1 as soon as fn does, else 0 (-1 with errno on a spool read error) */
int txn_each(struct session *s, int (*fn)(void *ctx, const char *buf, size_t len), void *ctx);

/* for queue back ends (backend.c) */
/* writes all of buf, across short writes and EINTR; 0 ok, -1 with errno */
int fd_write_all(int fd, const char *buf, size_t len);
/* seconds a back end may take (control file timeoutqueue, default 300) */
unsigned long queue_timeout(struct session *s);
/* After seconds, SIGALRM kills process group and process pid (if > 0) and
   shuts socket fd down (if >= 0), so that whatever blocks on them returns;
   watchdog_set changes pid and fd later. watchdog_stop returns 1 when the
   deadline passed. One at a time. */
void watchdog_start(unsigned long seconds, pid_t pid, int fd);
void watchdog_set(pid_t pid, int fd);
int watchdog_fired(void);
int watchdog_stop(void);
/* Starting a child (spawn.c), the one way every plugin runs a program.
   from[i] (our descriptor, or SPAWN_NULL for /dev/null) becomes to[i] in
   the child; fds 0 and 1 not in the map get /dev/null (ours are the
   client's), fd 2 not in the map stays our log, or gets /dev/null when fd
   2 is not a log (the client's socket under xinetd, or closed). The child
   leads a process group of its own (the watchdog kills the group), starts
   with no signal blocked and SIGPIPE, SIGXFSZ at their defaults, and exits
   failcode when exec fails. fast: a clone sharing our memory that we do
   not wait for while it execs (QPSMTPD_SPAWN_VFORK=1: vfork, for
   valgrind); one fast child at a time, until spawn_wait has reaped it.
   Returns the pid, or -1 with errno. */
#define SPAWN_FDS 4
#define SPAWN_NULL (-2)
struct spawn {
  const char *path;
  char *const *argv;
  char *const *envp;            /* NULL: our environment */
  int nfd;
  int from[SPAWN_FDS];
  int to[SPAWN_FDS];
  int failcode;
  int fast;
};
pid_t spawn_start(struct session *s, const struct spawn *sp);
/* waitpid across EINTR (flags as waitpid's) */
pid_t spawn_wait(pid_t pid, int *wstat, int flags);
/* after the child has exited: what fd holds now, up to max bytes, without
   waiting for EOF (a grandchild may keep the other end open) */
size_t spawn_readnow(int fd, char *buf, size_t max);
/* the same message in chunks, for streaming it to a daemon: its size, and
   up to max bytes from offset off (>0 read, 0 at the end, -1 error) */
unsigned long long txn_message_size(struct session *s);
ssize_t txn_message_read(struct session *s, unsigned long long off, char *buf, size_t max);
/* removes every field with this name (case-insensitive) from the client's
   header section (data_post and later): the number removed, -1 when the
   header section is too large to edit */
int txn_header_delete(struct session *s, const char *name);

#endif
