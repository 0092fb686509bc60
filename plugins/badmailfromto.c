/* badmailfromto: refuses given sender/recipient pairs, like Perl qpsmtpd's
   plugins/badmailfromto, answering as if the recipient did not exist
   ("mail to ADDRESS not accepted here", 550 5.1.1), so the sender is not
   told that it is the one blocked (good against harassment). Each line
   of badmailfromto is "sender recipient", separated by white space (Perl
   wanted a tab); the sender may be "@domain". Addresses compare
   case-insensitively. At MAIL the matching sender entry is kept in the
   transaction note "badmailfromto". The null sender is never matched.

   Arguments (optional; Perl's takes none): the shared reject convention,
   reject 0|1|naughty (default 1), reject_type (default perm). */
#include <stdlib.h>
#include <byte.h>
#include <case.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "badmailfromto"

struct bmft { struct reject r; stralloc list, from, to, text; };

static int bmft_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct bmft *b = calloc(1, sizeof *b);
  if (!b) return stralloc_copys(err, "out of memory"), 0;
  b->r.mode = REJECT_YES;
  if (!reject_args(&b->r, argc, argv, err)) return 0;
  *self = b;
  return 1;
}

/* the first field of a line (its length in flen) and the second (t, tlen) */
static void fields(const char *line, size_t *flen, const char **t, size_t *tlen)
{
  size_t i = 0;
  while (line[i] && line[i] != ' ' && line[i] != '\t') ++i;
  *flen = i;
  while (line[i] == ' ' || line[i] == '\t') ++i;
  *t = line + i;
  i = 0;
  while ((*t)[i] && (*t)[i] != ' ' && (*t)[i] != '\t') ++i;
  *tlen = i;
}

/* does the from field match the (lower-cased) sender with its '@' at at? */
static int from_match(const char *f, size_t flen, const stralloc *from, size_t at)
{
  if (flen == from->len && case_equalb(f, flen, from->s)) return 1;
  return f[0] == '@' && flen == from->len - at && case_equalb(f, flen, from->s + at);
}

static int bmft_setup(struct session *s, void *self)
{
  struct bmft *b = self;
  control_readlist(s, "badmailfromto", &b->list);
  return 1;
}

static int bmft_mail(struct session *s, void *self, struct addr_args *a)
{
  struct bmft *b = self;
  size_t at, i;

  if (!a->addrlen) return DECLINED;
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at == 0 || at + 1 >= a->addrlen) return DECLINED;
  if (!b->list.len) return DECLINED;
  if (!stralloc_copyb(&b->from, a->addr, a->addrlen)) return DECLINED;
  for (i = 0; i < b->list.len; i += str_len(b->list.s + i) + 1) {
    const char *line = b->list.s + i, *t;
    size_t flen, tlen;
    fields(line, &flen, &t, &tlen);
    if (byte_chr(line, flen, '@') == flen) {
      qlogm(s, LOGWARN, PLUGIN, "bad config, no @ sign in ", line);
      continue;
    }
    if (from_match(line, flen, &b->from, at)) {
      if (!stralloc_copyb(&b->text, line, flen) || !stralloc_0(&b->text)) return DECLINED;
      note_txn_set(s, "badmailfromto", b->text.s);
      qlogm(s, LOGDEBUG, PLUGIN, "sender listed as ", b->text.s);
      return DECLINED;
    }
  }
  return DECLINED;
}

static int bmft_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct bmft *b = self;
  const char *sender = txn_sender(s);
  size_t i, at;

  if (!note_true(note_txn_get(s, "badmailfromto")) || !sender || !*sender) return DECLINED;
  if (!b->list.len) return DECLINED;
  if (!stralloc_copys(&b->from, sender)) return DECLINED;
  at = byte_rchr(b->from.s, b->from.len, '@');
  for (i = 0; i < b->list.len; i += str_len(b->list.s + i) + 1) {
    const char *line = b->list.s + i, *t;
    size_t flen, tlen, j;
    fields(line, &flen, &t, &tlen);
    if (!tlen || !from_match(line, flen, &b->from, at)) continue;
    if (tlen != a->addrlen || !case_equalb(t, tlen, a->addr)) continue;
    if (!stralloc_copys(&b->text, "mail to ") || !stralloc_catb(&b->text, a->addr, a->addrlen)) return DECLINED;
    for (j = 8; j < b->text.len; ++j)
      if ((unsigned char)b->text.s[j] <= ' ' || (unsigned char)b->text.s[j] >= 127) b->text.s[j] = '?';
    case_lowerb(b->text.s + 8, b->text.len - 8);
    if (!stralloc_cats(&b->text, " not accepted here") || !stralloc_0(&b->text)) return DECLINED;
    if (b->r.mode == REJECT_YES) {
      int rc = reject_type_code(b->r.type, DENY);
      int k = reject_get(s, &b->r, DENY, PLUGIN, b->text.s, line, a->msg);
      if (!stralloc_copys(a->msg, rc == DENYSOFT || rc == DENYSOFT_DISCONNECT ? "4.1.1 " : "5.1.1 ")
          || !stralloc_cats(a->msg, b->text.s))
        return DECLINED;
      return k;
    }
    return reject_get(s, &b->r, DENY, PLUGIN, b->text.s, line, a->msg);
  }
  qlog(s, LOGDEBUG, PLUGIN, "pass, recipient not listed");
  return DECLINED;
}

const struct plugin plugin_badmailfromto = {
  .name = "badmailfromto",
  .init = bmft_init,
  .setup = bmft_setup,
  .mail = bmft_mail, .rcpt = bmft_rcpt,
};
