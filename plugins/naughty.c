/* naughty: carries out the refusals other plugins deferred with "reject
   naughty" (the connection note "naughty", one "(plugin) text" line per
   refusal), like Perl qpsmtpd's plugins/naughty. The refusal comes at the
   phase named by "reject" (connect, mail, rcpt, data or data_post;
   default rcpt), and, as a safety net when a plugin before it said OK, at
   data_post. Its type is the first deferring plugin's reject_type (the
   note "naughty_reject_type"), else this plugin's reject_type, else
   disconnect. A relay client (one that authenticated, say) is let go: in
   Perl, authentication clears the naughty flag. */
#include <stdlib.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "naughty"

enum phase { P_CONNECT, P_MAIL, P_RCPT, P_DATA, P_DATA_POST };
static const char *const phases[] = { "connect", "mail", "rcpt", "data", "data_post" };

struct naughty {
  enum phase phase;
  const char *type;
};

static int naughty_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct naughty *n = calloc(1, sizeof *n);
  int i;
  unsigned int p;

  if (!n) return stralloc_copys(err, "out of memory"), 0;
  n->phase = P_RCPT;
  n->type = "disconnect";
  for (i = 0; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : 0;
    if (!v) {
      if (stralloc_copys(err, "missing value after ")) stralloc_cats(err, argv[i]);
      return 0;
    }
    if (str_equal(argv[i], "reject")) {
      for (p = 0; p < sizeof phases / sizeof phases[0]; ++p)
        if (str_equal(v, phases[p])) break;
      if (p == sizeof phases / sizeof phases[0]) {
        if (stralloc_copys(err, "reject takes connect, mail, rcpt, data or data_post, not ")) stralloc_cats(err, v);
        return 0;
      }
      n->phase = (enum phase)p;
    } else if (str_equal(argv[i], "reject_type")) {
      if (!reject_type_code(v, 0)) {
        if (stralloc_copys(err, "reject_type takes perm, hard, temp, soft, disconnect or temp_disconnect, not "))
          stralloc_cats(err, v);
        return 0;
      }
      n->type = v;
    } else {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, argv[i]);
      return 0;
    }
  }
  *self = n;
  return 1;
}

static int naughty_check(struct session *s, struct naughty *n, enum phase here, stralloc *msg)
{
  const char *why;
  int rc;

  if (here != n->phase && here != P_DATA_POST) return DECLINED;
  why = note_conn_get(s, "naughty");
  if (!note_true(why)) {
    qlog(s, LOGINFO, PLUGIN, "pass");
    return DECLINED;
  }
  if (session_relay_client(s)) {
    qlog(s, LOGINFO, PLUGIN, "skip, relay client");
    return DECLINED;
  }
  rc = reject_type_code(note_conn_get(s, "naughty_reject_type"),
                        reject_type_code(n->type, DENY_DISCONNECT));
  qlog(s, LOGINFO, PLUGIN, rc == DENY_DISCONNECT || rc == DENYSOFT_DISCONNECT ? "disconnecting" : "rejecting");
  if (!stralloc_copys(msg, why)) {
    return hook_nomem(msg);
  }
  return rc;
}

static int on_connect(struct session *s, void *self, struct msg_args *a) { return naughty_check(s, self, P_CONNECT, a->msg); }
static int on_mail(struct session *s, void *self, struct addr_args *a) { return naughty_check(s, self, P_MAIL, a->msg); }
static int on_rcpt(struct session *s, void *self, struct addr_args *a) { return naughty_check(s, self, P_RCPT, a->msg); }
static int on_data(struct session *s, void *self, struct msg_args *a) { return naughty_check(s, self, P_DATA, a->msg); }
static int on_data_post(struct session *s, void *self, struct msg_args *a) { return naughty_check(s, self, P_DATA_POST, a->msg); }

const struct plugin plugin_naughty = {
  .name = "naughty",
  .init = naughty_init,
  .connect = on_connect, .mail = on_mail, .rcpt = on_rcpt,
  .data = on_data, .data_post = on_data_post,
};
