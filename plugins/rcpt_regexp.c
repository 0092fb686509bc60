/* rcpt_regexp: answers recipients from the control file rcpt_regexp, like
   Perl qpsmtpd's plugins/rcpt_regexp. Each line is "PATTERN CODE
   [comment]": a PATTERN written /like this/ is a regular expression (see
   regex.h; case-insensitive), anything else an address compared
   case-insensitively. CODE is a return code name (OK, DENY, DENYSOFT,
   DENY_DISCONNECT, DENYSOFT_DISCONNECT, DECLINED); the first matching line
   decides, with its comment as the reply text. No match: the next plugin
   decides. A line that does not parse (no code, an unknown code, a
   pattern that does not compile) is a configuration error naming the file
   and the line: 421 at connect (Perl logged and skipped it). */
#include <stdlib.h>
#include <byte.h>
#include <case.h>
#include <str.h>
#include "plugin.h"
#include "lib/retcode.h"
#include "regex.h"

#define PLUGIN "rcpt_regexp"

struct rre { stralloc list, rcpt, pat; };

static int rre_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rre *r;
  (void)argv;
  if (argc) return stralloc_copys(err, "takes no arguments"), 0;
  r = calloc(1, sizeof *r);
  if (!r) return stralloc_copys(err, "out of memory"), 0;
  *self = r;
  return 1;
}

/* one line of the file, parsed and compiled at setup */
struct entry {
  const char *line;
  size_t plen;          /* the pattern or address */
  int code;
  const char *msg;      /* the comment, "" when none */
  int is_re;
  struct re re;
};

static struct entry *entries;
static size_t nentries;

/* NULL, or why the line does not parse */
static const char *entry_parse(struct entry *e, const char *line, stralloc *pat)
{
  size_t plen = 0, cs, ce, ms;
  char code[32];
  const char *why = 0;
  while (line[plen] && line[plen] != ' ' && line[plen] != '\t') ++plen;
  for (cs = plen; line[cs] == ' ' || line[cs] == '\t'; ++cs) ;
  for (ce = cs; line[ce] && line[ce] != ' ' && line[ce] != '\t'; ++ce) ;
  for (ms = ce; line[ms] == ' ' || line[ms] == '\t'; ++ms) ;
  if (ce == cs) return "no return code";
  if (ce - cs >= sizeof code) return "not a valid return code";
  byte_copy(code, ce - cs, line + cs);
  code[ce - cs] = 0;
  e->code = retcode_parse(code);
  if (!e->code || e->code == DONE) return "not a valid return code";
  e->line = line;
  e->plen = plen;
  e->msg = line + ms;
  e->is_re = plen >= 2 && line[0] == '/' && line[plen - 1] == '/';
  if (!e->is_re) return 0;
  if (!stralloc_copyb(pat, line + 1, plen - 2) || !stralloc_0(pat)) return "out of memory";
  if (!re_compile(&e->re, pat->s, RE_ICASE, &why)) return "pattern does not compile";
  return 0;
}

/* the file, before the greeting: a line that does not parse is a 421 at
   connect naming the file and the line */
static int rre_setup(struct session *s, void *self)
{
  struct rre *r = self;
  struct control_at at = { {0}, {0} };
  size_t i, n = 0;
  if (!control_readlist_at(s, "rcpt_regexp", &r->list, &at)) return 1;
  for (i = 0; i < r->list.len; ++i) if (!r->list.s[i]) ++n;
  if (!n) return 1;
  entries = calloc(n, sizeof *entries);
  if (!entries) return 0;
  for (i = 0; i < r->list.len; i += str_len(r->list.s + i) + 1) {
    const char *line = r->list.s + i;
    const char *why = entry_parse(&entries[nentries], line, &r->pat);
    if (why) {
      stralloc m = {0};
      if (!stralloc_copys(&m, why) || !stralloc_cats(&m, ": ") || !stralloc_cats(&m, line) || !stralloc_0(&m))
        return 0;
      die_control_at(s, &at, &r->list, line, "rcpt_regexp", m.s);
    }
    ++nentries;
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  return 1;
}

static int rre_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct rre *r = self;
  size_t at = byte_rchr(a->addr, a->addrlen, '@');
  size_t i;

  if (!a->addrlen || at == 0 || at + 1 >= a->addrlen || !nentries) return DECLINED;
  if (!stralloc_copyb(&r->rcpt, a->addr, a->addrlen) || !stralloc_0(&r->rcpt)) return DECLINED;
  case_lowerb(r->rcpt.s, a->addrlen);
  for (i = 0; i < nentries; ++i) {
    struct entry *e = &entries[i];
    int match = e->is_re ? re_match(&e->re, r->rcpt.s, a->addrlen)
                         : e->plen == a->addrlen && case_equalb(e->line, e->plen, r->rcpt.s);
    if (!match) continue;
    qlogm(s, LOGINFO, PLUGIN, "matched line ", e->line);
    if (*e->msg && !stralloc_copys(a->msg, e->msg)) return DENYSOFT;
    return e->code;
  }
  return DECLINED;
}

const struct plugin plugin_rcpt_regexp = {
  .name = "rcpt_regexp",
  .init = rre_init,
  .setup = rre_setup,
  .rcpt = rre_rcpt,
};
