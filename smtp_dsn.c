/* DSN (RFC 3461) in the engine: MAIL's RET and ENVID, RCPT's NOTIFY and
   ORCPT, accepted only when DSN is offered (queue_dsn_offered: every
   queue plugin of the chain can carry them), kept for plugins in the
   transaction's notes dsn_ret and dsn_envid and in each recipient's notes
   dsn_notify and dsn_orcpt (txn_rcpt_note_get). */
#include <string.h>
#include "dsn.h"
#include "hooks.h"
#include "log.h"
#include "notes.h"
#include "queue.h"
#include "reply.h"
#include "session.h"
#include "smtp.h"
#include "txn.h"

int queue_dsn_offered(void)
{
  static int on = -1;
  if (on < 0) {
    unsigned int i;
    on = 0;
    for (i = 0; i < plugin_chain_len; ++i) {
      if (!plugin_chain[i].p->queue) continue;
      if (!(plugin_chain[i].p->flags & PLUGIN_DSN)) { on = 0; break; }
      on = 1;
    }
  }
  return on;
}

int queue_dsn_ehlo(struct session *s)
{
  const char *caps;
  size_t n;
  if (!queue_dsn_offered()) return 1;
  /* once, whichever of the chain's queue plugins comes first */
  caps = notes_get(&s->t.notes, "capabilities");
  n = caps ? strlen(caps) : 0;
  if (n >= 3 && !strcmp(caps + n - 3, "DSN") && (n == 3 || caps[n - 4] == '\n')) return 1;
  return note_add_capability(s, "DSN");
}

static int bad(struct session *s, const char *why)
{
  replys(s, 501, "5.5.4", why);
  return 0;
}

int smtp_dsn_param(struct session *s, const char *key, size_t kl, const char *v, int rcpt, unsigned int *seen)
{
  static const char *const keys[] = { "ret", "envid", "notify", "orcpt" };
  stralloc out = {0};
  const char *why;
  unsigned int k;
  size_t vl;
  int n;
  for (k = 0; k < 4; ++k)
    if (kl == strlen(keys[k]) && !memcmp(key, keys[k], kl)) break;
  if (k == 4 || (k >= 2) != !!rcpt || !queue_dsn_offered()) return -1;
  if (!v) return bad(s, k == 0 ? "Bad RET parameter: a value is required" : k == 1 ? "Bad ENVID parameter: a value is required"
                     : k == 2 ? "Bad NOTIFY parameter: a value is required" : "Bad ORCPT parameter: a value is required");
  if (*seen & (1u << k)) return bad(s, k == 0 ? "Bad RET parameter: given twice" : k == 1 ? "Bad ENVID parameter: given twice"
                                    : k == 2 ? "Bad NOTIFY parameter: given twice" : "Bad ORCPT parameter: given twice");
  *seen |= 1u << k;
  vl = strlen(v);
  switch (k) {
  case 0:
    if ((why = dsn_parse_ret(v, vl, &n))) return bad(s, why);
    if (!notes_set(&s->t.notes, "dsn_ret", n == DSN_RET_FULL ? "FULL" : "HDRS")) die_nomem(s);
    break;
  case 1:
    if ((why = dsn_parse_envid(v, vl, &out))) { stralloc_free(&out); return bad(s, why); }
    if (!notes_set(&s->t.notes, "dsn_envid", out.s)) die_nomem(s);
    break;
  case 2:
    if ((why = dsn_parse_notify(v, vl, &n))) return bad(s, why);
    s->t.dsn_notify = n;
    break;
  case 3:
    if ((why = dsn_parse_orcpt(v, vl, s->t.smtputf8, &out))) { stralloc_free(&out); return bad(s, why); }
    if (!stralloc_copy(&s->t.dsn_orcpt, &out)) die_nomem(s);
    break;
  }
  stralloc_free(&out);
  if (rcpt) {
    if (!s->t.dsn_pending || s->t.dsn_at != s->replies) {
      /* the first DSN parameter of this RCPT: forget an earlier one's */
      if (k == 2) s->t.dsn_orcpt.len = 0;
      else s->t.dsn_notify = 0;
    }
    s->t.dsn_pending = 1;
    s->t.dsn_at = s->replies;
  }
  return 1;
}

void smtp_dsn_rcpt(struct session *s, const char *rcpt)
{
  struct txn *t = &s->t;
  t->dsn_pending = 0;
  if (t->dsn_at != s->replies) return;          /* an earlier, refused RCPT's */
  if (t->dsn_notify) {
    char buf[32];
    dsn_notify_fmt(buf, t->dsn_notify);
    if (!txn_rcpt_note_set(s, rcpt, "dsn_notify", buf)) die_nomem(s);
  }
  if (t->dsn_orcpt.len && !txn_rcpt_note_set(s, rcpt, "dsn_orcpt", t->dsn_orcpt.s)) die_nomem(s);
  t->dsn_notify = 0;
  t->dsn_orcpt.len = 0;
}
