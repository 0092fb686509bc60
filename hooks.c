/* The hook dispatcher: walks the compiled-in chain; the first plugin that
   returns something other than DECLINED decides. After each plugin the
   deny or ok hook fires, as in Perl qpsmtpd. */
#include <string.h>
#include <time.h>
#include <fmt.h>
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

int hook_nomem(struct hook_args *a)
{
  stralloc_copys(a->msg, "4.3.0 out of memory");
  return DENYSOFT;
}

int hook_any(enum hook h)
{
  unsigned int i;
  for (i = 0; i < plugin_chain_len; ++i)
    if (plugin_chain[i].p->hooks[h]) return 1;
  return 0;
}

/* the logging hook as log.c's sink: every log line goes to the plugins
   that have it, instead of fd 2 */
static void log_to_plugins(struct session *s, int level, const char *hook, const char *plugin,
                           const char *text, size_t len)
{
  static int busy;      /* a logging plugin that logs must not loop */
  struct hook_args a;
  stralloc m = {0};
  unsigned int i;

  if (busy) return;
  busy = 1;
  memset(&a, 0, sizeof a);
  a.rc = level;
  a.arg = text;
  a.arglen = len;
  a.plugin = plugin;
  a.rest = hook;
  a.restlen = hook ? strlen(hook) : 0;
  a.msg = &m;
  for (i = 0; i < plugin_chain_len; ++i) {
    hook_fn f = plugin_chain[i].p->hooks[HOOK_LOGGING];
    if (f) f(s, plugin_chain[i].self, &a);
  }
  stralloc_free(&m);
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

int hook_plugins_init(stralloc *err)
{
  unsigned int i;
  for (i = 0; i < plugin_chain_len; ++i) {
    struct plugin_inst *pi = &plugin_chain[i];
    if (pi->p->init) {
      err->len = 0;
      if (!pi->p->init(&pi->self, pi->argc, pi->argv, err)) {
        stralloc e = {0};
        if (!stralloc_copys(&e, "plugin ") || !stralloc_cats(&e, pi->name)
            || !stralloc_cats(&e, ": ") || !stralloc_cat(&e, err)) return 0;
        if (!stralloc_copy(err, &e)) return 0;
        stralloc_free(&e);
        return 0;
      }
    }
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

static void notify(struct session *s, enum hook which, const char *plugin, int rc, stralloc *msg)
{
  unsigned int i;
  struct hook_args a;
  const char *saved = s->hookname;
  memset(&a, 0, sizeof a);
  a.plugin = plugin;
  a.rc = rc;
  a.arg = msg->s;
  a.arglen = msg->len;
  s->hookname = hook_names[which];
  for (i = 0; i < plugin_chain_len; ++i) {
    hook_fn f = plugin_chain[i].p->hooks[which];
    stralloc m = {0};
    if (!f) continue;
    a.msg = &m;
    if (f(s, plugin_chain[i].self, &a) != DECLINED) { stralloc_free(&m); break; }
    stralloc_free(&m);
  }
  s->hookname = saved;
}

/* Runs hook h. The reply text of the deciding plugin is left in a->msg
   (s->msg when a->msg is NULL). Returns the code, DECLINED when no plugin
   decided. */
int hook_run(struct session *s, enum hook h, struct hook_args *a)
{
  unsigned int i;
  int rc = DECLINED;
  const char *saved = s->hookname;
  struct timespec t0 = { 0, 0 };
  static int hooked_deny = -1, hooked_ok = -1;
  if (hooked_deny < 0) { hooked_deny = hook_any(HOOK_DENY); hooked_ok = hook_any(HOOK_OK); }
  if (!a->msg) a->msg = &s->msg;
  a->msg->len = 0;
  for (i = 0; i < plugin_chain_len; ++i) {
    struct plugin_inst *pi = &plugin_chain[i];
    hook_fn f = pi->p->hooks[h];
    if (!f) continue;
    a->msg->len = 0;
    s->hookname = hook_names[h];
    if (s->conf.loglevel >= LOGDEBUG) clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = f(s, pi->self, a);
    s->hookname = saved;
    if (!rc_name(rc)) {
      char num[24];
      num[fmt_long(num, rc)] = 0;
      qlogm(s, LOGERROR, pi->name, "plugin ", pi->name, ", hook ", hook_names[h], " returned ", num);
      rc = DECLINED;
      continue;
    }
    if (s->conf.loglevel >= LOGDEBUG) {
      /* with the time the plugin took, to see what each one costs */
      struct timespec t1;
      char us[24];
      clock_gettime(CLOCK_MONOTONIC, &t1);
      us[fmt_ulonglong(us, (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000LL
                                                + (t1.tv_nsec - t0.tv_nsec) / 1000))] = 0;
      qlogm(s, LOGDEBUG, pi->name, "hook ", hook_names[h], " returned ", rc_name(rc), " in ", us, " us");
    }
    if (h != HOOK_DENY && h != HOOK_OK) {
      if (rc_is_deny(rc)) {
        if (hooked_deny) notify(s, HOOK_DENY, pi->name, rc, a->msg);
      } else if (hooked_ok) notify(s, HOOK_OK, pi->name, rc, a->msg);
    }
    if (rc != DECLINED) {
      if (rc != OK && rc != DONE) {
        stralloc l = {0};
        if (stralloc_copys(&l, rc_name(rc)) && stralloc_cats(&l, " ") && stralloc_cat(&l, a->msg))
          log_line(s, LOGINFO, hook_names[h], pi->name, l.s, l.len);
        stralloc_free(&l);
      }
      return rc;
    }
  }
  return DECLINED;
}
