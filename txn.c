/* The transaction: envelope, notes, message, and what plugins may ask of it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <case.h>
#include <scan.h>
#include "env.h"
#include "hooks.h"
#include "log.h"
#include "notes.h"
#include "reply.h"
#include "session.h"
#include "spool.h"
#include "txn.h"

void txn_new(struct session *s)
{
  struct txn *t = &s->t;
  t->have_sender = 0;
  t->sender.len = 0;
  t->rcpts.len = 0;
  t->nrcpt = 0;
  t->declared_size = 0;
  t->smtputf8 = 0;
  notes_clear(&t->notes);
  notes_clear(&t->rcpt_notes);
  t->newhdrs.len = 0;
  t->hdr.len = 0;
  t->in_headers = 1;
  t->hdr_linestart = 0;
  t->hdr_toolarge = 0;
  t->hdr_edited = 0;
  t->size = 0;
  t->toobig = 0;
  t->longline = 0;
  t->hops = 0;
  t->authres_seen = 0;
  t->bdat = 0;
  t->bdat_cr = 0;
  t->bdat_bare = 0;
  t->bdat_linelen = 0;
  spool_free(&t->spool);
  spool_init(&t->spool, NULL, s->conf.size_threshold);
  s->txn_exists = 1;
}

void txn_spool_prepare(struct session *s)
{
  spool_init(&s->t.spool, s->conf.spool_dir.s, s->conf.size_threshold);
}

void txn_reset(struct session *s)
{
  if (s->txn_exists) {
    struct msg_args a = { NULL };
    hook_run_reset_transaction(s, &a);
  }
  txn_new(s);
}

const char *txn_sender(struct session *s) { return s->t.have_sender ? s->t.sender.s : NULL; }
unsigned int txn_rcpt_count(struct session *s) { return s->t.nrcpt; }

int txn_set_sender(struct session *s, const char *addr)
{
  if (!stralloc_copys(&s->t.sender, addr) || !stralloc_0(&s->t.sender)) return 0;
  s->t.have_sender = 1;
  return 1;
}
int txn_smtputf8(struct session *s) { return s->t.smtputf8; }
unsigned long long txn_data_size(struct session *s) { return s->t.size; }

const char *txn_rcpt(struct session *s, unsigned int i)
{
  size_t off = 0;
  if (i >= s->t.nrcpt) return NULL;
  while (i--) off += strlen(s->t.rcpts.s + off) + 1;
  return s->t.rcpts.s + off;
}

int txn_add_header(struct session *s, const char *name, const char *value)
{
  stralloc *h = &s->t.newhdrs;
  size_t i, n = strlen(value);
  if (!stralloc_cats(h, name) || !stralloc_cats(h, ": ")) return 0;
  /* a value may be folded with \n + white space; any other CR/LF is dropped */
  for (i = 0; i < n; ++i) {
    char c = value[i];
    if (c == '\r') continue;
    if (c == '\n' && !(value[i + 1] == ' ' || value[i + 1] == '\t')) continue;
    if (!stralloc_append(h, &c)) return 0;
  }
  return stralloc_append(h, "\n");
}

int txn_add_header_top(struct session *s, const char *name, const char *value)
{
  stralloc old = {0};
  int ok;
  if (!stralloc_copy(&old, &s->t.newhdrs)) return 0;
  s->t.newhdrs.len = 0;
  ok = txn_add_header(s, name, value) && stralloc_cat(&s->t.newhdrs, &old);
  if (!ok && stralloc_copy(&s->t.newhdrs, &old)) { /* as it was */ }
  stralloc_free(&old);
  return ok;
}
