/* rcpt_regexp: answers recipients from the control file rcpt_regexp, like
   Perl qpsmtpd's plugins/rcpt_regexp. Each line is "PATTERN CODE
   [comment]": a PATTERN written /like this/ is a regular expression (see
   regex.h; case-insensitive), anything else an address compared
   case-insensitively. CODE is a return code name (OK, DENY, DENYSOFT,
   DENY_DISCONNECT, DENYSOFT_DISCONNECT, DECLINED); the first matching line
   decides, with its comment as the reply text. No match: the next plugin
   decides. A line that does not parse (no code, an unknown code, a
   pattern that does not compile) is an error naming the line: 451, come
   back later (Perl logged and skipped it). */
#include <stdlib.h>
#include <byte.h>
#include <case.h>
#include <fmt.h>
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

static int bad_line(struct session *s, unsigned long n, const char *why, const char *line, stralloc *msg)
{
  char num[FMT_ULONG];
  num[fmt_ulong(num, n)] = 0;
  qlogm(s, LOGERROR, PLUGIN, "rcpt_regexp line ", num, ": ", why, ": ", line);
  stralloc_copys(msg, "4.3.0 Local configuration error (rcpt_regexp); try again later");
  return DENYSOFT;
}

static int rre_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct rre *r = self;
  size_t at = byte_rchr(a->addr, a->addrlen, '@');
  size_t i;
  unsigned long n = 0;

  if (!a->addrlen || at == 0 || at + 1 >= a->addrlen) return DECLINED;
  if (!control_readlist(s, "rcpt_regexp", &r->list)) return DECLINED;
  if (!stralloc_copyb(&r->rcpt, a->addr, a->addrlen) || !stralloc_0(&r->rcpt)) return DECLINED;
  case_lowerb(r->rcpt.s, a->addrlen);
  for (i = 0; i < r->list.len; i += str_len(r->list.s + i) + 1) {
    const char *line = r->list.s + i;
    size_t plen = 0, cs, ce, ms;
    char code[32];
    int c, match;

    ++n;
    while (line[plen] && line[plen] != ' ' && line[plen] != '\t') ++plen;
    for (cs = plen; line[cs] == ' ' || line[cs] == '\t'; ++cs) ;
    for (ce = cs; line[ce] && line[ce] != ' ' && line[ce] != '\t'; ++ce) ;
    for (ms = ce; line[ms] == ' ' || line[ms] == '\t'; ++ms) ;
    if (ce == cs) return bad_line(s, n, "no return code", line, a->msg);
    if (ce - cs >= sizeof code) return bad_line(s, n, "not a valid return code", line, a->msg);
    byte_copy(code, ce - cs, line + cs);
    code[ce - cs] = 0;
    c = retcode_parse(code);
    if (!c || c == DONE) return bad_line(s, n, "not a valid return code", line, a->msg);
    if (plen >= 2 && line[0] == '/' && line[plen - 1] == '/') {
      struct re re;
      const char *why = 0;
      if (!stralloc_copyb(&r->pat, line + 1, plen - 2) || !stralloc_0(&r->pat)) return DENYSOFT;
      if (!re_compile(&re, r->pat.s, RE_ICASE, &why)) return bad_line(s, n, "pattern does not compile", line, a->msg);
      match = re_match(&re, r->rcpt.s, a->addrlen);
      re_free(&re);
    } else
      match = plen == a->addrlen && case_equalb(line, plen, r->rcpt.s);
    if (!match) continue;
    qlogm(s, LOGINFO, PLUGIN, "matched line ", line);
    if (line[ms] && !stralloc_copys(a->msg, line + ms)) return DENYSOFT;
    return c;
  }
  return DECLINED;
}

const struct plugin plugin_rcpt_regexp = {
  .name = "rcpt_regexp",
  .init = rre_init,
  .rcpt = rre_rcpt,
};
