/* The reject convention of Perl qpsmtpd's Plugin.pm (get_reject,
   get_reject_type, store_deferred_reject, is_immune), shared by the
   policy plugins so that "reject 0|1|naughty" and "reject_type ..." mean
   the same everywhere. */
#include <string.h>
#include <str.h>
#include <scan.h>
#include <fmt.h>
#include "hooks.h"
#include "log.h"
#include "notes.h"
#include "reject.h"
#include "session.h"

static int type_code(const char *t)
{
  if (!t || !*t) return 0;
  if (str_equal(t, "temp") || str_equal(t, "soft")) return DENYSOFT;
  if (str_equal(t, "perm") || str_equal(t, "hard")) return DENY;
  if (str_equal(t, "disconnect")) return DENY_DISCONNECT;
  if (str_equal(t, "temp_disconnect")) return DENYSOFT_DISCONNECT;
  return -1;
}

int reject_type_code(const char *name, int deftype)
{
  int c = type_code(name);
  return c > 0 ? c : deftype;
}

int reject_arg(struct reject *r, const char *key, const char *value, stralloc *err)
{
  if (str_equal(key, "reject")) {
    if (!value) goto missing;
    if (str_equal(value, "0")) r->mode = REJECT_LOG;
    else if (str_equal(value, "1")) r->mode = REJECT_YES;
    else if (str_equal(value, "naughty")) r->mode = REJECT_NAUGHTY;
    else {
      stralloc_copys(err, "reject takes 0, 1 or naughty, not ");
      stralloc_cats(err, value);
      return -1;
    }
    return 2;
  }
  if (str_equal(key, "reject_type")) {
    if (!value) goto missing;
    if (type_code(value) < 0) {
      stralloc_copys(err, "reject_type takes perm, hard, temp, soft, disconnect or temp_disconnect, not ");
      stralloc_cats(err, value);
      return -1;
    }
    r->type = value;
    return 2;
  }
  return 0;
missing:
  stralloc_copys(err, key);
  stralloc_cats(err, " needs a value");
  return -1;
}

int reject_args(struct reject *r, int argc, const char *const *argv, stralloc *err)
{
  int i;
  for (i = 0; i < argc; i += 2) {
    int k = reject_arg(r, argv[i], i + 1 < argc ? argv[i + 1] : 0, err);
    if (k < 0) return 0;
    if (!k) {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, argv[i]);
      return 0;
    }
  }
  return 1;
}

int reject_get(struct session *s, const struct reject *r, int deftype, const char *plugin,
               const char *text, const char *logtext, stralloc *msg)
{
  const char *sep = logtext && *logtext ? ", " : "";
  if (!logtext) logtext = "";
  if (!text || !*text) text = "unspecified error";
  if (r->mode == REJECT_LOG) {
    qlogm(s, LOGINFO, plugin, "fail, tolerated", sep, logtext);
    return DECLINED;
  }
  if (r->mode == REJECT_NAUGHTY) {
    const char *prev = note_conn_get(s, "naughty");
    stralloc *t = &s->tmp;
    qlogm(s, LOGINFO, plugin, "fail, NAUGHTY", sep, logtext);
    t->len = 0;
    if (note_true(prev) && (!stralloc_cats(t, prev) || !stralloc_cats(t, "\n"))) goto nomem;
    if (!stralloc_cats(t, "(") || !stralloc_cats(t, plugin) || !stralloc_cats(t, ") ")
        || !stralloc_cats(t, text) || !stralloc_0(t))
      goto nomem;
    if (!note_conn_set(s, "naughty", t->s)) goto nomem;
    if (!note_true(note_conn_get(s, "naughty_reject_type")) && r->type
        && !note_conn_set(s, "naughty_reject_type", r->type))
      goto nomem;
    return DECLINED;
  }
  qlogm(s, LOGINFO, plugin, "fail", sep, logtext);
  if (!stralloc_copys(msg, text)) goto nomem;
  return reject_type_code(r->type, deftype);
nomem:
  return hook_nomem(msg);
}

int session_immune(struct session *s, const char *plugin)
{
  if (s->relay_client) { qlog(s, LOGINFO, plugin, "skip, relay client"); return 1; }
  if (note_true(note_conn_get(s, "whitelisthost"))) { qlog(s, LOGINFO, plugin, "skip, whitelisted host"); return 1; }
  if (s->txn_exists && note_true(note_txn_get(s, "whitelistsender"))) {
    qlog(s, LOGINFO, plugin, "skip, whitelisted sender");
    return 1;
  }
  return 0;
}
