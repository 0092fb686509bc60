/* The hook dispatcher: walks the compiled-in chain; the first plugin that
   returns something other than DECLINED decides. After each plugin the
   deny or ok hook fires, as in Perl qpsmtpd. */
#include <stdlib.h>
#include <time.h>
#include <fmt.h>
#include <str.h>
#include "hooks.h"
#include "log.h"
#include "session.h"

const char *const hook_names[HOOK_COUNT] = {
  [HOOK_CONNECT] = "connect", [HOOK_HELO] = "helo", [HOOK_EHLO] = "ehlo",
  [HOOK_MAIL_PARSE] = "mail_parse", [HOOK_MAIL_PRE] = "mail_pre", [HOOK_MAIL] = "mail",
  [HOOK_RCPT_PARSE] = "rcpt_parse", [HOOK_RCPT_PRE] = "rcpt_pre", [HOOK_RCPT] = "rcpt",
  [HOOK_DATA] = "data", [HOOK_DATA_HEADERS_END] = "data_headers_end",
  [HOOK_DATA_POST_HEADERS] = "data_post_headers", [HOOK_DATA_POST] = "data_post",
  [HOOK_QUEUE_PRE] = "queue_pre", [HOOK_QUEUE] = "queue", [HOOK_QUEUE_POST] = "queue_post",
  [HOOK_VRFY] = "vrfy", [HOOK_NOOP] = "noop", [HOOK_HELP] = "help", [HOOK_QUIT] = "quit",
  [HOOK_DISCONNECT] = "disconnect", [HOOK_POST_CONNECTION] = "post-connection",
  [HOOK_RESET_TRANSACTION] = "reset_transaction",
  [HOOK_UNRECOGNIZED_COMMAND] = "unrecognized_command", [HOOK_DENY] = "deny", [HOOK_OK] = "ok",
  [HOOK_RECEIVED_LINE] = "received_line", [HOOK_AUTH_PARSE] = "auth_parse",
  [HOOK_AUTH] = "auth", [HOOK_AUTH_PLAIN] = "auth-plain", [HOOK_AUTH_LOGIN] = "auth-login",
  [HOOK_AUTH_CRAM_MD5] = "auth-cram-md5", [HOOK_LOGGING] = "logging",
};

static const char *rc_name(int rc)
{
  switch (rc) {
  case OK: return "OK";
  case DENY: return "DENY";
  case DENYSOFT: return "DENYSOFT";
  case DENY_DISCONNECT: return "DENY_DISCONNECT";
  case DENYSOFT_DISCONNECT: return "DENYSOFT_DISCONNECT";
  case DECLINED: return "DECLINED";
  case DONE: return "DONE";
  }
  return NULL;
}

int rc_is_deny(int rc)
{
  return rc == DENY || rc == DENYSOFT || rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT;
}

int rc_is_disconnect(int rc)
{
  return rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT;
}

int hook_nomem(stralloc *msg)
{
  stralloc_copys(msg, "4.3.0 out of memory");
  return DENYSOFT;
}

/* whether plugin p has hook h */
static int has_hook(const struct plugin *p, enum hook h)
{
  switch (h) {
  case HOOK_CONNECT: return !!p->connect;
  case HOOK_HELO: return !!p->helo;
  case HOOK_EHLO: return !!p->ehlo;
  case HOOK_MAIL_PARSE: return !!p->mail_parse;
  case HOOK_MAIL_PRE: return !!p->mail_pre;
  case HOOK_MAIL: return !!p->mail;
  case HOOK_RCPT_PARSE: return !!p->rcpt_parse;
  case HOOK_RCPT_PRE: return !!p->rcpt_pre;
  case HOOK_RCPT: return !!p->rcpt;
  case HOOK_DATA: return !!p->data;
  case HOOK_DATA_HEADERS_END: return !!p->data_headers_end;
  case HOOK_DATA_POST_HEADERS: return !!p->data_post_headers;
  case HOOK_DATA_POST: return !!p->data_post;
  case HOOK_QUEUE_PRE: return !!p->queue_pre;
  case HOOK_QUEUE: return !!p->queue;
  case HOOK_QUEUE_POST: return !!p->queue_post;
  case HOOK_VRFY: return !!p->vrfy;
  case HOOK_NOOP: return !!p->noop;
  case HOOK_HELP: return !!p->help;
  case HOOK_QUIT: return !!p->quit;
  case HOOK_DISCONNECT: return !!p->disconnect;
  case HOOK_POST_CONNECTION: return !!p->post_connection;
  case HOOK_RESET_TRANSACTION: return !!p->reset_transaction;
  case HOOK_UNRECOGNIZED_COMMAND: return !!p->unrecognized_command;
  case HOOK_DENY: return !!p->deny;
  case HOOK_OK: return !!p->ok;
  case HOOK_RECEIVED_LINE: return !!p->received_line;
  case HOOK_AUTH_PARSE: return !!p->auth_parse;
  case HOOK_AUTH: return !!p->auth;
  case HOOK_AUTH_PLAIN: return !!p->auth_plain;
  case HOOK_AUTH_LOGIN: return !!p->auth_login;
  case HOOK_AUTH_CRAM_MD5: return !!p->auth_cram_md5;
  case HOOK_LOGGING: return !!p->logging;
  case HOOK_COUNT: break;
  }
  return 0;
}

int hook_any(enum hook h)
{
  unsigned int i;
  for (i = 0; i < plugin_chain_len; ++i)
    if (has_hook(plugin_chain[i].p, h)) return 1;
  return 0;
}

/* the logging hook as log.c's sink: every log line goes to the plugins
   that have it, instead of fd 2 */
static void log_to_plugins(struct session *s, int level, const char *hook, const char *plugin,
                           const char *text, size_t len)
{
  static int busy;      /* a logging plugin that logs must not loop */
  struct log_args a;
  unsigned int i;

  if (busy) return;
  busy = 1;
  a.level = level;
  a.text = text;
  a.len = len;
  a.plugin = plugin;
  a.hook = hook;
  for (i = 0; i < plugin_chain_len; ++i) {
    const struct plugin_inst *pi = &plugin_chain[i];
    if (pi->p->logging) pi->p->logging(s, pi->self, &a);
  }
  busy = 0;
}

void hook_route_logging(void)
{
  if (hook_any(HOOK_LOGGING)) log_set_sink(log_to_plugins);
}

/* -V: runs every plugin's init (the build's check of the plugins file),
   then prints the version and the chain with each plugin's arguments; the
   exit code, 0 or 100 */
int hook_check_chain(void)
{
  stralloc err = {0};
  unsigned int i;
  int k;
  if (!hook_plugins_init(&err)) {
    buffer_puts(buffer_2, "qpsmtpd: ");
    buffer_put(buffer_2, err.s, err.len);
    buffer_putsflush(buffer_2, "\n");
    return 100;
  }
  buffer_puts(buffer_1, "qpsmtpd " VERSION "\n");
  for (i = 0; i < plugin_chain_len; ++i) {
    buffer_puts(buffer_1, plugin_chain[i].name);
    for (k = 0; k < plugin_chain[i].argc; ++k) {
      buffer_puts(buffer_1, " ");
      buffer_puts(buffer_1, plugin_chain[i].argv[k]);
    }
    buffer_puts(buffer_1, "\n");
  }
  buffer_flush(buffer_1);
  return 0;
}

/* the level a line of plugin is logged at, after its loglevel argument
   (Perl's Plugin.pm adjust_log_level: N replaces the level, +N and -N
   move it, within 0 to 7) */
static int plugin_log_level(const char *plugin, int level)
{
  unsigned int i;
  for (i = 0; i < plugin_chain_len; ++i) {
    const struct plugin_inst *pi = &plugin_chain[i];
    if (!pi->llmode || (!str_equal(pi->name, plugin) && !str_equal(pi->p->name, plugin))) continue;
    level = pi->llmode == 1 ? pi->ll : level + pi->ll;
    return level < 0 ? 0 : level > 7 ? 7 : level;
  }
  return level;
}

/* an array, not a literal: its own section, with the cold read-only data
   (layout.ld) */
static const char ll_usage[] =
  "loglevel takes a level 0 to 7, or +N or -N (N a digit) to move every line's level, not ";

/* takes "loglevel V" out of pi's arguments into pi->llmode and ll; the
   arguments for init in *argv (pi->argv itself, when there is none); 0
   with err set for a bad value or out of memory. Logging plugins keep
   theirs: it is their own threshold (logging/syslog). */
static const char **kept;

/* only for a plugin given a loglevel argument: not inlined into the loop
   every session runs */
static __attribute__((noinline)) int take_loglevel(struct plugin_inst *pi, const char *const **argv, int *argc, stralloc *err)
{
  const char **a;
  const char *v;
  int i, j, k;
  if (pi->p->logging) return 1;
  i = pi->llarg - 1;
  if (i + 1 >= pi->argc || !str_equal(pi->argv[i], "loglevel")) return 1;
  v = pi->argv[i + 1];
  if (v[0] >= '0' && v[0] <= '7' && !v[1]) {
    /* Perl: 0 is false, no change */
    if (v[0] != '0') { pi->llmode = 1; pi->ll = (signed char)(v[0] - '0'); }
  } else if ((v[0] == '+' || v[0] == '-') && v[1] >= '0' && v[1] <= '9' && !v[2]) {
    pi->llmode = 2;
    pi->ll = (signed char)(v[0] == '-' ? '0' - v[1] : v[1] - '0');
  } else
    return arg_error(err, ll_usage, v);
  /* the copy lives as long as the process (a plugin may keep argv); the
     copies are chained from kept, its first slot, so they stay reachable */
  a = malloc(sizeof *a * ((size_t)pi->argc + 1));
  if (!a) return arg_error(err, "out of memory", 0);
  a[0] = (const char *)kept;
  kept = a;
  ++a;
  for (j = k = 0; j < pi->argc; ++j)
    if (j != i && j != i + 1) a[k++] = pi->argv[j];
  a[k] = NULL;
  *argv = a;
  *argc = k;
  if (pi->llmode) log_set_adjust(plugin_log_level);
  return 1;
}

/* "plugin NAME: " before err; 0 */
static int init_failed(const struct plugin_inst *pi, stralloc *err)
{
  stralloc e = {0};
  if (stralloc_copys(&e, "plugin ") && stralloc_cats(&e, pi->name) && stralloc_cats(&e, ": ")
      && stralloc_cat(&e, err))
    stralloc_copy(err, &e);
  stralloc_free(&e);
  return 0;
}

int hook_plugins_init(stralloc *err)
{
  unsigned int i;
  for (i = 0; i < plugin_chain_len; ++i) {
    struct plugin_inst *pi = &plugin_chain[i];
    const char *const *argv = pi->argv;
    int argc = pi->argc;
    err->len = 0;
    if (pi->llarg && !take_loglevel(pi, &argv, &argc, err)) return init_failed(pi, err);
    if (pi->p->init && !pi->p->init(&pi->self, argc, argv, err)) return init_failed(pi, err);
  }
  return 1;
}

int hook_plugins_setup(struct session *s)
{
  unsigned int i;
  for (i = 0; i < plugin_chain_len; ++i) {
    struct plugin_inst *pi = &plugin_chain[i];
    if (pi->p->setup && !pi->p->setup(s, pi->self)) {
      qlogm(s, LOGERROR, pi->name, "plugin ", pi->name, ": setup failed");
      return 0;
    }
  }
  return 1;
}

/* after a plugin returned rc: the deny hook (rc a deny) or the ok hook
   (any other code), as in Perl qpsmtpd; the first plugin returning other
   than DECLINED ends it */
static void notify(struct session *s, int deny, const char *plugin, int rc, const stralloc *msg)
{
  unsigned int i;
  struct result_args a;
  const char *saved = s->hookname;
  s->hookname = hook_names[deny ? HOOK_DENY : HOOK_OK];
  for (i = 0; i < plugin_chain_len; ++i) {
    const struct plugin_inst *pi = &plugin_chain[i];
    int (*f)(struct session *, void *, struct result_args *) = deny ? pi->p->deny : pi->p->ok;
    if (!f) continue;
    a.plugin = plugin;
    a.rc = rc;
    a.text = msg->s;
    a.textlen = msg->len;
    if (f(s, pi->self, &a) != DECLINED) break;
  }
  s->hookname = saved;
}

/* One run of a hook through the chain (the runners below): the hook, the
   reply text, the hook name to restore, when the plugin started, and the
   deciding code. */
struct hook_call {
  enum hook h;
  stralloc *msg;
  const char *saved;
  struct timespec t0;
  int rc;
};

static int hooked_deny = -1, hooked_ok = -1;

static void call_start(struct session *s, struct hook_call *c, enum hook h, stralloc **msg)
{
  if (hooked_deny < 0) { hooked_deny = hook_any(HOOK_DENY); hooked_ok = hook_any(HOOK_OK); }
  if (!*msg) *msg = &s->msg;
  c->h = h;
  c->msg = *msg;
  c->msg->len = 0;
  c->saved = s->hookname;
}

/* before each plugin's call */
static void call_before(struct session *s, struct hook_call *c)
{
  c->msg->len = 0;
  s->hookname = hook_names[c->h];
  if (s->conf.loglevel >= LOGDEBUG) clock_gettime(CLOCK_MONOTONIC, &c->t0);
}

/* the log line of a plugin's return code that is none (a plugin's bug),
   or with the time the plugin took at loglevel debug, to see what each
   one costs: a function of its own, so that a session at a lower
   loglevel runs (and maps) none of it */
static __attribute__((noinline)) void call_log(struct session *s, const struct hook_call *c,
                                                const struct plugin_inst *pi, int rc)
{
  const char *name = hook_names[c->h];
  if (!rc_name(rc)) {
    char num[24];
    num[fmt_long(num, rc)] = 0;
    qlogm_core(s, LOGERROR, pi->name, "plugin ", pi->name, ", hook ", name, " returned ", num);
  } else {
    struct timespec t1;
    char us[24];
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us[fmt_ulonglong(us, (unsigned long long)((t1.tv_sec - c->t0.tv_sec) * 1000000LL
                                              + (t1.tv_nsec - c->t0.tv_nsec) / 1000))] = 0;
    qlogm_core(s, LOGDEBUG, pi->name, "hook ", name, " returned ", rc_name(rc), " in ", us, " us");
  }
}

/* after plugin pi returned rc: logs, runs deny or ok; 1 when rc decides
   (then it is in c->rc) */
static int call_after(struct session *s, struct hook_call *c, const struct plugin_inst *pi, int rc)
{
  const char *name = hook_names[c->h];
  s->hookname = c->saved;
  if (!rc_name(rc)) {
    call_log(s, c, pi, rc);
    return 0;
  }
  if (s->conf.loglevel >= LOGDEBUG) call_log(s, c, pi, rc);
  if (rc_is_deny(rc)) {
    if (hooked_deny) notify(s, 1, pi->name, rc, c->msg);
  } else if (hooked_ok) notify(s, 0, pi->name, rc, c->msg);
  if (rc == DECLINED) return 0;
  if (rc != OK && rc != DONE) {
    stralloc l = {0};
    if (stralloc_copys(&l, rc_name(rc)) && stralloc_cats(&l, " ") && stralloc_cat(&l, c->msg))
      log_line_core(s, LOGINFO, name, pi->name, l.s, l.len);
    stralloc_free(&l);
  }
  c->rc = rc;
  return 1;
}

/* The runner of one hook: every plugin of the chain that has it, in
   order, until one decides. One function per hook, so that each calls
   its hook through the hook's own type. */
#define HOOK_RUNNER(member, h, type)                                            \
  int hook_run_##member(struct session *s, type *a)                             \
  {                                                                             \
    struct hook_call c;                                                         \
    unsigned int i;                                                             \
    call_start(s, &c, h, &a->msg);                                              \
    for (i = 0; i < plugin_chain_len; ++i) {                                    \
      const struct plugin_inst *pi = &plugin_chain[i];                          \
      if (!pi->p->member) continue;                                             \
      call_before(s, &c);                                                       \
      if (call_after(s, &c, pi, pi->p->member(s, pi->self, a))) return c.rc;   \
    }                                                                           \
    return DECLINED;                                                            \
  }

HOOK_RUNNER(connect, HOOK_CONNECT, struct msg_args)
HOOK_RUNNER(helo, HOOK_HELO, struct helo_args)
HOOK_RUNNER(ehlo, HOOK_EHLO, struct helo_args)
HOOK_RUNNER(mail_parse, HOOK_MAIL_PARSE, struct parse_args)
HOOK_RUNNER(mail_pre, HOOK_MAIL_PRE, struct pre_args)
HOOK_RUNNER(mail, HOOK_MAIL, struct addr_args)
HOOK_RUNNER(rcpt_parse, HOOK_RCPT_PARSE, struct parse_args)
HOOK_RUNNER(rcpt_pre, HOOK_RCPT_PRE, struct pre_args)
HOOK_RUNNER(rcpt, HOOK_RCPT, struct addr_args)
HOOK_RUNNER(data, HOOK_DATA, struct msg_args)
HOOK_RUNNER(data_headers_end, HOOK_DATA_HEADERS_END, struct msg_args)
HOOK_RUNNER(data_post_headers, HOOK_DATA_POST_HEADERS, struct msg_args)
HOOK_RUNNER(data_post, HOOK_DATA_POST, struct msg_args)
HOOK_RUNNER(queue_pre, HOOK_QUEUE_PRE, struct msg_args)
HOOK_RUNNER(queue, HOOK_QUEUE, struct msg_args)
HOOK_RUNNER(queue_post, HOOK_QUEUE_POST, struct queue_post_args)
HOOK_RUNNER(vrfy, HOOK_VRFY, struct cmd_args)
HOOK_RUNNER(noop, HOOK_NOOP, struct cmd_args)
HOOK_RUNNER(help, HOOK_HELP, struct cmd_args)
HOOK_RUNNER(quit, HOOK_QUIT, struct msg_args)
HOOK_RUNNER(disconnect, HOOK_DISCONNECT, struct msg_args)
HOOK_RUNNER(post_connection, HOOK_POST_CONNECTION, struct msg_args)
HOOK_RUNNER(reset_transaction, HOOK_RESET_TRANSACTION, struct msg_args)
HOOK_RUNNER(unrecognized_command, HOOK_UNRECOGNIZED_COMMAND, struct unrecognized_args)
HOOK_RUNNER(received_line, HOOK_RECEIVED_LINE, struct received_args)
HOOK_RUNNER(auth_parse, HOOK_AUTH_PARSE, struct parse_args)
HOOK_RUNNER(auth, HOOK_AUTH, struct auth_args)
HOOK_RUNNER(auth_plain, HOOK_AUTH_PLAIN, struct auth_args)
HOOK_RUNNER(auth_login, HOOK_AUTH_LOGIN, struct auth_args)
HOOK_RUNNER(auth_cram_md5, HOOK_AUTH_CRAM_MD5, struct auth_args)

void hook_lookahead_mail(struct session *s, const struct addr_args *a)
{
  unsigned int i;
  s->lookaheads++;              /* dns_lookahead: a new MAIL's lookups */
  for (i = 0; i < plugin_chain_len; ++i)
    if (plugin_chain[i].p->mail_lookahead) plugin_chain[i].p->mail_lookahead(s, plugin_chain[i].self, a);
}

int arg_error(stralloc *err, const char *what, const char *v)
{
  stralloc_copys(err, what);
  if (v) stralloc_cats(err, v);
  return 0;
}
