/* earlytalker: refuses clients that talk before our greeting, like Perl
   qpsmtpd's plugins/earlytalker: direct-to-MX spamware often pipelines the
   whole dialogue without waiting. At connect it waits up to "wait"
   seconds (default 1; fractions such as 0.5 allowed) for the client's
   first byte before the greeting goes out. With "check-at DATA" it also
   waits after the DATA command, before 354: a client that sends its
   message without waiting for 354 is refused.

   Arguments: wait SECONDS, check-at CONNECT|DATA (may be given twice;
   default CONNECT), defer-reject 0|1 (greet the early talker anyway and
   refuse its MAIL commands), the shared reject convention: reject
   0|1|naughty (default 1), reject_type (default perm, or temp with
   defer-reject, as Perl's code does); "action deny|denysoft|log" is the
   old form of reject. The refusal says "Connecting host started
   transmitting before SMTP greeting"; the connection note "earlytalker" is
   set. Relay clients and whitelisted hosts are not checked. */
#include <stdlib.h>
#include <case.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "earlytalker"
#define TEXT "Connecting host started transmitting before SMTP greeting"
#define LOGTEXT "remote started talking before we said hello"

struct et {
  unsigned long wait_ms;
  int at_connect, at_data, defer;
  struct reject r;
};

/* "1", "0.5", "2.25": milliseconds, at most 60 s */
static int parse_wait(const char *v, unsigned long *ms)
{
  unsigned long sec = 0, frac = 0, scale = 1000;
  size_t i = scan_ulong(v, &sec);
  if (!i || sec > 60) return 0;
  if (v[i] == '.') {
    ++i;
    if (v[i] < '0' || v[i] > '9') return 0;
    while (v[i] >= '0' && v[i] <= '9') {
      scale /= 10;
      frac += (unsigned long)(v[i] - '0') * scale;
      ++i;
    }
  }
  if (v[i]) return 0;
  *ms = sec * 1000 + frac;
  return *ms <= 60000;
}

static int et_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct et *e = calloc(1, sizeof *e);
  int i, have_reject = 0, have_type = 0, at = 0;

  if (!e) return stralloc_copys(err, "out of memory"), 0;
  if (argc % 2) return stralloc_copys(err, "takes pairs of arguments"), 0;
  e->wait_ms = 1000;
  e->r.mode = REJECT_YES;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    int r = reject_arg(&e->r, k, v, err);
    if (r < 0) return 0;
    if (r) {
      if (str_equal(k, "reject")) have_reject = 1; else have_type = 1;
      continue;
    }
    if (str_equal(k, "wait")) {
      if (!parse_wait(v, &e->wait_ms)) {
        if (stralloc_copys(err, "wait takes seconds from 0 to 60, not ")) stralloc_cats(err, v);
        return 0;
      }
    } else if (str_equal(k, "check-at")) {
      if (case_equals(v, "CONNECT")) e->at_connect = 1;
      else if (case_equals(v, "DATA")) e->at_data = 1;
      else {
        if (stralloc_copys(err, "check-at takes CONNECT or DATA, not ")) stralloc_cats(err, v);
        return 0;
      }
      at = 1;
    } else if (str_equal(k, "defer-reject")) {
      e->defer = !str_equal(v, "0");
    } else if (str_equal(k, "action")) {
      if (!have_reject) e->r.mode = case_starts(v, "deny") ? REJECT_YES : REJECT_LOG;
      if (case_equals(v, "denysoft") && !have_type) { e->r.type = "temp"; have_type = 1; }
    } else if (!str_equal(k, "loglevel")) {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, k);
      return 0;
    }
  }
  if (!at) e->at_connect = 1;
  if (!have_type) e->r.type = e->defer ? "temp" : "perm";
  *self = e;
  return 1;
}

static int deny(struct session *s, struct et *e, stralloc *msg)
{
  note_conn_set(s, "earlytalker", "1");
  return reject_get(s, &e->r, DENY, PLUGIN, TEXT, LOGTEXT, msg);
}

static int et_connect(struct session *s, void *self, struct msg_args *a)
{
  struct et *e = self;
  int r;

  if (!e->at_connect) return DECLINED;
  if (session_immune(s, PLUGIN)) return DECLINED;
  r = session_input_pending(s, e->wait_ms);
  if (r <= 0) {
    if (!r) qlog(s, LOGINFO, PLUGIN, "pass, not spontaneous");
    return DECLINED;
  }
  if (!e->defer) return deny(s, e, a->msg);
  qlog(s, LOGINFO, PLUGIN, "early talker, refusal deferred to MAIL");
  note_conn_set(s, "earlytalker", "1");
  return DECLINED;
}

static int et_data(struct session *s, void *self, struct msg_args *a)
{
  struct et *e = self;
  if (!e->at_data) return DECLINED;
  if (session_immune(s, PLUGIN)) return DECLINED;
  if (session_input_pending(s, e->wait_ms) <= 0) {
    qlog(s, LOGINFO, PLUGIN, "pass, not spontaneous");
    return DECLINED;
  }
  return deny(s, e, a->msg);
}

static int et_mail(struct session *s, void *self, struct addr_args *a)
{
  struct et *e = self;
  if (!e->defer || !note_true(note_conn_get(s, "earlytalker"))) return DECLINED;
  if (session_immune(s, PLUGIN)) return DECLINED;
  return deny(s, e, a->msg);
}

const struct plugin plugin_earlytalker = {
  .name = "earlytalker",
  .init = et_init,
  .connect = et_connect, .data = et_data, .mail = et_mail,
};
