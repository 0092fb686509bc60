/* tests/rcpt_notes: shows per-recipient notes, for the test suite. At
   data_post it adds, for each recipient, "X-Rcpt-Notes: ADDR KEY=VALUE
   ..." with the notes named in its arguments; at queue_pre, after the
   plugins before it, the same as "X-Rcpt-Notes-Queue". */
#include "plugin.h"

struct rn { int argc; const char *const *argv; };

static int rn_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  static struct rn r;
  (void)err;
  r.argc = argc;
  r.argv = argv;
  *self = &r;
  return 1;
}

static int show(struct session *s, struct rn *r, const char *name)
{
  unsigned int i;
  int k;
  stralloc v = {0};
  for (i = 0; i < txn_rcpt_count(s); ++i) {
    const char *addr = txn_rcpt(s, i);
    if (!stralloc_copys(&v, addr)) return DENYSOFT;
    for (k = 0; k < r->argc; ++k) {
      const char *n = txn_rcpt_note_get(s, addr, r->argv[k]);
      if (!stralloc_cats(&v, " ") || !stralloc_cats(&v, r->argv[k]) || !stralloc_cats(&v, "=")
          || !stralloc_cats(&v, n ? n : "unset")) return DENYSOFT;
    }
    if (!stralloc_0(&v) || !txn_add_header(s, name, v.s)) return DENYSOFT;
  }
  stralloc_free(&v);
  return DECLINED;
}

static int data_post(struct session *s, void *self, struct msg_args *a) { (void)a; return show(s, self, "X-Rcpt-Notes"); }
static int queue_pre(struct session *s, void *self, struct msg_args *a) { (void)a; return show(s, self, "X-Rcpt-Notes-Queue"); }

const struct plugin plugin_tests_rcpt_notes = {
  .name = "tests/rcpt_notes",
  .init = rn_init,
  .data_post = data_post, .queue_pre = queue_pre,
};
