/* rcpt_map: answers the recipients of one domain from a map file, like
   Perl qpsmtpd's plugins/rcpt_map. Arguments (in pairs): file PATH and
   domain NAME (both required), default CODE[=MSG] for recipients not in
   the map (default DENY=No_such_user.; '_' in MSG stands for a space).
   Each line of the map is "address CODE [message]"; CODE is a return code
   name (OK, DENY, DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT,
   DECLINED); the message defaults to "No such user.". Addresses compare
   case-insensitively. Recipients of other domains are left to the next
   plugin. The file is read at the first recipient of the domain (one
   process serves one session, so a changed file is seen by the next
   connection). A map that cannot be read, or a line without a valid code,
   is an error naming the file and line: 451, come back later (Perl
   refused to start on a missing map and skipped bad lines). A refusal
   without an enhanced code gets x.1.1 (no such user). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <byte.h>
#include <case.h>
#include <fmt.h>
#include <str.h>
#include "plugin.h"
#include "lib/retcode.h"

#define PLUGIN "rcpt_map"
#define MAP_MAX (4UL << 20)

struct rmap {
  const char *file, *domain;
  int defcode;
  stralloc defmsg;
  int loaded, bad;
  stralloc text;        /* the file, lines split at \0 */
  stralloc msg;
};

static int rm_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rmap *m = calloc(1, sizeof *m);
  int i;

  if (!m) return stralloc_copys(err, "out of memory"), 0;
  if (argc % 2) return stralloc_copys(err, "takes pairs of arguments: file MAP domain NAME [default CODE=MSG]"), 0;
  m->defcode = DENY;
  if (!stralloc_copys(&m->defmsg, "No such user.")) return 0;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (str_equal(k, "file")) m->file = v;
    else if (str_equal(k, "domain")) m->domain = v;
    else if (str_equal(k, "default")) {
      size_t eq = str_chr(v, '=');
      char code[32];
      if (eq >= sizeof code) goto badcode;
      byte_copy(code, eq, v);
      code[eq] = 0;
      m->defcode = retcode_parse(code);
      if (!m->defcode || m->defcode == DONE) goto badcode;
      if (v[eq] && v[eq + 1]) {
        size_t j;
        if (!stralloc_copys(&m->defmsg, v + eq + 1)) return 0;
        for (j = 0; j < m->defmsg.len; ++j)
          if (m->defmsg.s[j] == '_') m->defmsg.s[j] = ' ';
      }
    } else {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, k);
      return 0;
    }
  }
  if (!m->file) return stralloc_copys(err, "no map file given (file PATH)"), 0;
  if (!m->domain) return stralloc_copys(err, "no domain name given (domain NAME)"), 0;
  if (!stralloc_0(&m->defmsg)) return 0;
  *self = m;
  return 1;
badcode:
  if (stralloc_copys(err, "default takes CODE[=MSG] with a return code name, not ")) stralloc_cats(err, argv[i + 1]);
  return 0;
}

static void line_error(struct session *s, struct rmap *m, unsigned long n, const char *why)
{
  char num[FMT_ULONG];
  num[fmt_ulong(num, n)] = 0;
  qlogm(s, LOGERROR, PLUGIN, m->file, ":", num, ": ", why);
  m->bad = 1;
}

/* reads and checks the map; lines become "address\0CODE\0message\0" */
static void load(struct session *s, struct rmap *m)
{
  int fd;
  stralloc raw = {0};
  size_t i, start;
  unsigned long n = 0;

  m->loaded = 1;
  fd = open(m->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) {
    qlogm(s, LOGERROR, PLUGIN, "cannot open map ", m->file);
    m->bad = 1;
    return;
  }
  for (;;) {
    ssize_t r;
    if (raw.len >= MAP_MAX) { qlogm(s, LOGERROR, PLUGIN, "map too large: ", m->file); m->bad = 1; break; }
    if (!stralloc_readyplus(&raw, 8192)) { m->bad = 1; break; }
    r = read(fd, raw.s + raw.len, 8192);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { qlogm(s, LOGERROR, PLUGIN, "cannot read map ", m->file); m->bad = 1; break; }
    if (!r) break;
    raw.len += (size_t)r;
  }
  close(fd);
  if (m->bad) { stralloc_free(&raw); return; }
  for (start = 0, i = 0; i <= raw.len; ++i) {
    char *l, *f[3] = {0, 0, 0};
    size_t len, j, k = 0;
    if (i < raw.len && raw.s[i] != '\n') continue;
    l = raw.s + start;
    len = i - start;
    start = i + 1;
    ++n;
    while (len && (l[len - 1] == ' ' || l[len - 1] == '\t' || l[len - 1] == '\r')) --len;
    for (j = 0; j < len && (l[j] == ' ' || l[j] == '\t'); ++j) ;
    if (j == len || l[j] == '#') continue;
    /* address, code, the rest */
    while (j < len && k < 3) {
      size_t e = j;
      if (k < 2) while (e < len && l[e] != ' ' && l[e] != '\t') ++e;
      else e = len;
      f[k++] = l + j;
      l[e < len ? e : len] = 0;
      if (e >= len) break;
      j = e + 1;
      while (j < len && (l[j] == ' ' || l[j] == '\t')) ++j;
    }
    if (!f[1]) { line_error(s, m, n, "no return code"); continue; }
    {
      int c = retcode_parse(f[1]);
      if (!c || c == DONE) { line_error(s, m, n, "not a valid return code"); continue; }
    }
    case_lowers(f[0]);
    if (!stralloc_cats(&m->text, f[0]) || !stralloc_0(&m->text) || !stralloc_cats(&m->text, f[1])
        || !stralloc_0(&m->text) || !stralloc_cats(&m->text, f[2] && *f[2] ? f[2] : "No such user.")
        || !stralloc_0(&m->text)) { m->bad = 1; break; }
  }
  stralloc_free(&raw);
}

static int answer(struct rmap *m, int code, const char *msg, stralloc *reply)
{
  if (retcode_deny(code) && !(msg[0] && msg[1] == '.' && (msg[0] == '4' || msg[0] == '5')))
    if (!stralloc_copys(reply, retcode_temp(code) ? "4.1.1 " : "5.1.1 ")) return DENYSOFT;
  if (!stralloc_cats(reply, msg)) return DENYSOFT;
  (void)m;
  return code;
}

static int rm_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct rmap *m = self;
  size_t at = byte_rchr(a->addr, a->addrlen, '@');
  size_t i;

  if (!a->addrlen || at == 0 || at + 1 >= a->addrlen) return DECLINED;
  if (str_len(m->domain) != a->addrlen - at - 1 || !case_equalb(m->domain, a->addrlen - at - 1, a->addr + at + 1))
    return DECLINED;
  if (!m->loaded) load(s, m);
  if (m->bad) {
    stralloc_copys(a->msg, "4.3.0 Local configuration error (recipient map); try again later");
    return DENYSOFT;
  }
  for (i = 0; i < m->text.len; ) {
    const char *addr = m->text.s + i, *code, *msg;
    code = addr + str_len(addr) + 1;
    msg = code + str_len(code) + 1;
    i = (size_t)(msg - m->text.s) + str_len(msg) + 1;
    if (str_len(addr) == a->addrlen && case_equalb(addr, a->addrlen, a->addr)) {
      qlogm(s, LOGINFO, PLUGIN, "listed, ", code);
      return answer(m, retcode_parse(code), msg, a->msg);
    }
  }
  qlog(s, LOGINFO, PLUGIN, "not listed, default");
  return answer(m, m->defcode, m->defmsg.s, a->msg);
}

const struct plugin plugin_rcpt_map = {
  .name = "rcpt_map",
  .init = rm_init,
  .rcpt = rm_rcpt,
};
