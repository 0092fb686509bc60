/* tests/notes: shows the notes at work, for the test suite. At connect it
   sets the connection note "seen"; at MAIL the transaction note "sender";
   the deny hook remembers who denied last; at data_post it adds
   "X-Notes: conn=... txn=... denied=..." to the message. */
#include "plugin.h"

static int connect_(struct session *s, void *self, struct msg_args *a)
{
  return note_conn_set(s, "seen", "yes") ? DECLINED : DENYSOFT;
}

static int mail(struct session *s, void *self, struct addr_args *a)
{
  const char *prev = note_txn_get(s, "sender");
  if (!note_txn_set(s, "sender", prev ? "stale" : "fresh")) return DENYSOFT;
  return DECLINED;
}

static int deny(struct session *s, void *self, struct result_args *a)
{
  note_conn_set(s, "denied", a->plugin);
  return DECLINED;
}

static int data_post(struct session *s, void *self, struct msg_args *a)
{
  stralloc v = {0};
  const char *c = note_conn_get(s, "seen"), *t = note_txn_get(s, "sender"), *d = note_conn_get(s, "denied");
  if (!stralloc_copys(&v, "conn=") || !stralloc_cats(&v, c ? c : "unset")
      || !stralloc_cats(&v, " txn=") || !stralloc_cats(&v, t ? t : "unset")
      || !stralloc_cats(&v, " denied=") || !stralloc_cats(&v, d ? d : "none") || !stralloc_0(&v)
      || !txn_add_header(s, "X-Notes", v.s)) return DENYSOFT;
  stralloc_free(&v);
  return DECLINED;
}

const struct plugin plugin_tests_notes = {
  .name = "tests/notes",
  .connect = connect_, .mail = mail, .deny = deny, .data_post = data_post,
};
