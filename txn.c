/* The transaction: envelope, notes, message, and what plugins may ask of it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <case.h>
#include <scan.h>
#include "control.h"
#include "env.h"
#include "hooks.h"
#include "log.h"
#include "notes.h"
#include "reply.h"
#include "session.h"
#include "spool.h"
#include "txn.h"

static const char *spool_dir(struct session *s)
{
  static stralloc dir;
  static int done;
  if (!done) {
    unsigned long perms = 0700;
    stralloc p = {0};
    done = 1;
    if (control_readline(s, "spool_perms", &p)) {
      size_t n = scan_8long(p.s, &perms);
      if (!n || n != p.len - 1 || perms > 07777) die_control(s, "spool_perms", "not an octal mode");
    }
    stralloc_free(&p);
    if (control_readline(s, "spool_dir", &dir)) {
      struct stat st;
      while (dir.len > 2 && dir.s[dir.len - 2] == '/') { dir.s[dir.len - 2] = 0; dir.len--; }
      if (stat(dir.s, &st) == -1) {
        /* chmod: mkdir's mode went through the umask */
        if (errno != ENOENT || mkdir(dir.s, (mode_t)perms) == -1 || chmod(dir.s, (mode_t)perms) == -1)
          die_control(s, "spool_dir", "cannot create the spool directory");
      } else if ((st.st_mode & 07777) != perms)
        qlogm(s, LOGWARN, NULL, "Permissions on spool_dir ", dir.s, " are not as spool_perms says");
    } else {
      const char *t = env_get("TMPDIR");
      if (!stralloc_copys(&dir, t && *t ? t : "/tmp") || !stralloc_0(&dir)) die_nomem(s);
    }
  }
  return dir.s;
}

void txn_new(struct session *s)
{
  struct txn *t = &s->t;
  t->have_sender = 0;
  t->sender.len = 0;
  t->rcpts.len = 0;
  t->nrcpt = 0;
  t->declared_size = 0;
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
  spool_free(&t->spool);
  spool_init(&t->spool, NULL, s->size_threshold);
  s->txn_exists = 1;
}

void txn_spool_prepare(struct session *s)
{
  spool_init(&s->t.spool, spool_dir(s), s->size_threshold);
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
