/* aliases: recipient aliases with options, as in the qpsmtpd-with-Postfix
   tutorial. The control file aliases holds lines

       local1,local2@dom1,dom2: target1, target2 (option, key=value)

   The keys are every local part at every domain on the left; "*" as the
   local part is the catch-all of its domains; keys without "@domain"
   apply at every local domain (those named in the file, me, rcpthosts).
   A target without a domain stays in the domain of the address it
   replaces; a target with "*" as its local part takes that address's
   local part. Targets are resolved again (an alias may name aliases), at
   most 10 levels deep; a target equal to the address being resolved is
   final (so "*@d: postmaster@d" works), an alias that leads back to an
   address on its own path is a loop. Options become recipient notes for
   other plugins (option alone: 1), e.g. denysoft_greylist or
   spamassassin_reject_threshold=10; the options of the aliases nearer the
   recipient win.

   At RCPT an address with an alias is accepted (250) and its options are
   noted on it; an address at a domain named in the file that matches
   nothing is refused: 550 5.1.1 No such user (reject 0|1|naughty and
   reject_type as everywhere; reject 0 lets the next plugins decide). Other
   addresses are left to the next plugins. At queue_pre every recipient is
   replaced by its final targets (duplicates dropped) and the targets get
   its notes, so the queue delivers to the targets while the client only
   ever saw its own addresses. An alias loop, a chain too deep or too many
   targets is a configuration error: 450/451 4.3.0 and a log line. A line
   that cannot be parsed is an error naming the file (421). */
#include <stdlib.h>
#include <string.h>
#include <case.h>
#include <fmt.h>
#include <str.h>
#include "plugin.h"
#include "utf8.h"

#define PLUGIN "aliases"
#define DEPTH_MAX 10
#define TARGETS_MAX 100

/* offsets into the parsed text */
struct entry {
  size_t local;                 /* lower case; "*" the catch-all */
  size_t domain;                /* lower case; "" for every local domain */
  size_t targets;               /* "t\0t\0...\0" ends with an empty string */
  size_t options;               /* "k\0v\0k\0v\0\0" */
};

struct aliases {
  struct reject r;
  stralloc text;                /* the parsed file, strings \0-terminated */
  struct entry *e;
  size_t n, cap;
  stralloc domains;             /* named in the file: "d\0d\0" */
  stralloc me, rcpthosts;
  stralloc out;                 /* resolved targets "t\0..." */
  unsigned int nout;
  stralloc opts;                /* collected options "k\0v\0..." */
  stralloc path;                /* addresses on the current path "a\0..." */
};

static int aliases_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct aliases *al = calloc(1, sizeof *al);
  int i;
  if (!al) { stralloc_copys(err, "out of memory"); return 0; }
  al->r.mode = REJECT_YES;
  if (argc % 2) { stralloc_copys(err, "arguments come in pairs: name value"); free(al); return 0; }
  for (i = 0; i < argc; i += 2) {
    int k = reject_arg(&al->r, argv[i], argv[i + 1], err);
    if (k < 0) { free(al); return 0; }
    if (!k) { stralloc_copys(err, "unknown argument "); stralloc_cats(err, argv[i]); free(al); return 0; }
  }
  *self = al;
  return 1;
}

/* ---- parsing */

static int is_ws(char c) { return c == ' ' || c == '\t'; }
/* 8-bit bytes: UTF-8 local parts and U-labels (SMTPUTF8), the key
   checked whole by utf8_valid; matched byte for byte, lower-cased in ASCII
   only, as the core leaves a UTF-8 address */
static int localchar(char c)
{
  return (unsigned char)c >= 0x80 || (c > 32 && c < 127 && !strchr("()<>,;:@\"[]\\", c));
}
static int domainchar(char c)
{
  return (unsigned char)c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || c == '-' || c == '.';
}
static int namechar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static int valid_domain(const char *d, size_t l)
{
  size_t i;
  if (!l || l > 253 || d[0] == '.' || d[l - 1] == '.') return 0;
  for (i = 0; i < l; ++i) {
    if (!domainchar(d[i])) return 0;
    if (d[i] == '.' && d[i + 1] == '.') return 0;
  }
  return 1;
}

static int valid_local(const char *x, size_t l)
{
  size_t i;
  if (!l || l > 64) return 0;
  for (i = 0; i < l; ++i) if (!localchar(x[i])) return 0;
  return 1;
}

/* one line into entries; the strings go into al->text; 0 on a syntax
   error, with the reason in why */
static int parse_line(struct aliases *al, const char *l, const char **why)
{
  const char *colon = strchr(l, ':'), *at, *p, *q;
  size_t keylen, tstart, ostart, i, nlocal = 0;
  const char *locals[64];
  size_t locallen[64];
  if (!colon) { *why = "no colon"; return 0; }
  keylen = (size_t)(colon - l);
  while (keylen && is_ws(l[keylen - 1])) --keylen;
  if (!keylen) { *why = "no key before the colon"; return 0; }
  if (!utf8_valid(l, str_len(l))) { *why = "not well-formed UTF-8"; return 0; }
  at = memchr(l, '@', keylen);
  /* the local parts */
  for (p = l; p < (at ? at : l + keylen); ) {
    q = p;
    while (q < (at ? at : l + keylen) && *q != ',') ++q;
    while (p < q && is_ws(*p)) ++p;
    {
      const char *e = q;
      while (e > p && is_ws(e[-1])) --e;
      if (!valid_local(p, (size_t)(e - p))) { *why = "bad local part"; return 0; }
      if (nlocal == 64) { *why = "more than 64 local parts"; return 0; }
      locals[nlocal] = p;
      locallen[nlocal++] = (size_t)(e - p);
    }
    p = q + 1;
    if (q == (at ? at : l + keylen)) break;
  }
  if (!nlocal) { *why = "no local part"; return 0; }
  /* the targets, then the options */
  tstart = al->text.len;
  p = colon + 1;
  for (;;) {
    while (*p && (is_ws(*p) || *p == ',')) ++p;
    if (!*p || *p == '(') break;
    /* sendmail's |program and /file targets are not addresses */
    if (*p == '|' || *p == '/') { *why = "bad target (programs and files are not supported)"; return 0; }
    q = p;
    while (*q && !is_ws(*q) && *q != ',' && *q != '(') ++q;
    {
      const char *a = memchr(p, '@', (size_t)(q - p));
      size_t ll = a ? (size_t)(a - p) : (size_t)(q - p);
      if (!valid_local(p, ll) || (a && !valid_domain(a + 1, (size_t)(q - a - 1)))) { *why = "bad target"; return 0; }
    }
    if (!stralloc_catb(&al->text, p, (size_t)(q - p)) || !stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
    p = q;
  }
  if (al->text.len == tstart) { *why = "no target"; return 0; }
  if (!stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
  ostart = al->text.len;
  if (*p == '(') {
    ++p;
    for (;;) {
      while (*p && (is_ws(*p) || *p == ',')) ++p;
      if (*p == ')') { ++p; break; }
      if (!*p) { *why = "no closing parenthesis"; return 0; }
      q = p;
      while (namechar(*q)) ++q;
      if (q == p) { *why = "bad option name"; return 0; }
      if (!stralloc_catb(&al->text, p, (size_t)(q - p)) || !stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
      if (*q == '=') {
        p = ++q;
        while (*q > 32 && *q < 127 && *q != ',' && *q != ')' && *q != '(') ++q;
        if (q == p) { *why = "empty option value"; return 0; }
        if (!stralloc_catb(&al->text, p, (size_t)(q - p))) { *why = "out of memory"; return 0; }
      } else if (!stralloc_cats(&al->text, "1")) { *why = "out of memory"; return 0; }
      if (!stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
      p = q;
      if (*p && !is_ws(*p) && *p != ',' && *p != ')') { *why = "bad option"; return 0; }
    }
    while (is_ws(*p)) ++p;
    if (*p) { *why = "text after the options"; return 0; }
  }
  if (!stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
  /* an entry per local part and domain; offsets now, pointers later */
  {
    const char *dl = at ? at + 1 : NULL;
    size_t dlen = at ? (size_t)(l + keylen - dl) : 0;
    size_t k = 0;
    do {
      size_t ds = k, de, dstart;
      if (dl) {
        while (k < dlen && dl[k] != ',') ++k;
        de = k;
        while (ds < de && is_ws(dl[ds])) ++ds;
        while (de > ds && is_ws(dl[de - 1])) --de;
        if (!valid_domain(dl + ds, de - ds)) { *why = "bad domain"; return 0; }
        dstart = al->text.len;
        if (!stralloc_catb(&al->text, dl + ds, de - ds) || !stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
        case_lowerb(al->text.s + dstart, de - ds);
        if (!stralloc_catb(&al->domains, al->text.s + dstart, de - ds + 1)) { *why = "out of memory"; return 0; }
      } else {
        dstart = al->text.len;
        if (!stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
      }
      for (i = 0; i < nlocal; ++i) {
        size_t lstart = al->text.len;
        if (!stralloc_catb(&al->text, locals[i], locallen[i]) || !stralloc_0(&al->text)) { *why = "out of memory"; return 0; }
        case_lowerb(al->text.s + lstart, locallen[i]);
        if (al->n == al->cap) {
          size_t nc = al->cap ? al->cap * 2 : 64;
          struct entry *ne = realloc(al->e, nc * sizeof *ne);
          if (!ne) { *why = "out of memory"; return 0; }
          al->e = ne;
          al->cap = nc;
        }
        al->e[al->n].local = lstart;
        al->e[al->n].domain = dstart;
        al->e[al->n].targets = tstart;
        al->e[al->n].options = ostart;
        al->n++;
      }
      ++k;
    } while (dl && k <= dlen);
  }
  return 1;
}

/* the aliases file, parsed before the greeting: a bad entry is a 421 at
   connect naming its file and line */
static int aliases_setup(struct session *s, void *self)
{
  struct aliases *al = self;
  stralloc lines = {0};
  struct control_at at = { {0}, {0} };
  size_t i = 0;
  if (control_readlist_at(s, "aliases", &lines, &at)) {
    while (i < lines.len) {
      const char *l = lines.s + i, *why = NULL;
      i += str_len(l) + 1;
      if (!parse_line(al, l, &why)) {
        stralloc m = {0};
        if (!stralloc_copys(&m, why) || !stralloc_cats(&m, ": ") || !stralloc_cats(&m, l) || !stralloc_0(&m))
          die_control_at(s, &at, &lines, l, "aliases", why);
        die_control_at(s, &at, &lines, l, "aliases", m.s);
      }
    }
  }
  stralloc_free(&lines);
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  if (!stralloc_copys(&al->me, session_me(s)) || !stralloc_0(&al->me)) return 0;
  case_lowerb(al->me.s, al->me.len);
  if (control_readlist(s, "rcpthosts", &al->rcpthosts)) case_lowerb(al->rcpthosts.s, al->rcpthosts.len);
  return 1;
}

static int in_list(const stralloc *list, const char *x)
{
  size_t i = 0;
  while (i < list->len) {
    const char *l = list->s + i;
    if (str_equal(l, x)) return 1;
    i += str_len(l) + 1;
  }
  return 0;
}

static int in_list_nocase(const stralloc *list, const char *x)
{
  size_t i = 0;
  while (i < list->len) {
    const char *l = list->s + i;
    if (case_equals(l, x)) return 1;
    i += str_len(l) + 1;
  }
  return 0;
}

static int local_domain(struct aliases *al, const char *d)
{
  return in_list(&al->domains, d) || str_equal(al->me.s, d) || in_list(&al->rcpthosts, d);
}

/* the entry for local@domain (both lower case), or NULL */
static const struct entry *lookup(struct aliases *al, const char *local, const char *domain)
{
  size_t i;
  int pass;
  int local_d = local_domain(al, domain);
  for (pass = 0; pass < 4; ++pass)
    for (i = 0; i < al->n; ++i) {
      const struct entry *e = &al->e[i];
      const char *el = al->text.s + e->local, *ed = al->text.s + e->domain;
      int star = str_equal(el, "*");
      if (pass == 0 && !star && *ed && str_equal(el, local) && str_equal(ed, domain)) return e;
      if (pass == 1 && !star && !*ed && local_d && str_equal(el, local)) return e;
      if (pass == 2 && star && *ed && str_equal(ed, domain)) return e;
      if (pass == 3 && star && !*ed && local_d) return e;
    }
  return NULL;
}

/* splits addr into lower-case local part and domain ("postmaster"
   without a domain is at me) */
static int split(struct aliases *al, const char *addr, stralloc *local, stralloc *domain)
{
  const char *at = strrchr(addr, '@');
  size_t ll = at ? (size_t)(at - addr) : str_len(addr);
  if (!stralloc_copyb(local, addr, ll) || !stralloc_0(local)) return 0;
  if (!stralloc_copys(domain, at ? at + 1 : al->me.s) || !stralloc_0(domain)) return 0;
  case_lowerb(local->s, ll);
  case_lowerb(domain->s, domain->len);
  return 1;
}

static void add_options(struct aliases *al, const char *o)
{
  while (*o) {
    const char *v = o + str_len(o) + 1;
    size_t i = 0;
    int have = 0;
    while (i < al->opts.len) {
      if (str_equal(al->opts.s + i, o)) { have = 1; break; }
      i += str_len(al->opts.s + i) + 1;
      i += str_len(al->opts.s + i) + 1;
    }
    if (!have) {
      if (!stralloc_cats(&al->opts, o) || !stralloc_0(&al->opts) || !stralloc_cats(&al->opts, v) || !stralloc_0(&al->opts)) return;
    }
    o = v + str_len(v) + 1;
  }
}

/* resolves addr into al->out; 1 ok, 0 a configuration error (why set) */
static int resolve(struct aliases *al, const char *addr, unsigned int depth, const char **why)
{
  stralloc local = {0}, domain = {0}, t = {0};
  const struct entry *e;
  const char *x;
  size_t mark = al->path.len;
  int ok = 0;
  if (depth > DEPTH_MAX) { *why = "aliases nested more than 10 deep"; return 0; }
  if (in_list_nocase(&al->path, addr)) { *why = "alias loop"; return 0; }
  if (!split(al, addr, &local, &domain)) { *why = "out of memory"; goto done; }
  e = lookup(al, local.s, domain.s);
  if (!e) {
    if (!in_list_nocase(&al->out, addr)) {
      if (al->nout >= TARGETS_MAX) { *why = "more than 100 targets"; goto done; }
      if (!stralloc_cats(&al->out, addr) || !stralloc_0(&al->out)) { *why = "out of memory"; goto done; }
      al->nout++;
    }
    ok = 1;
    goto done;
  }
  add_options(al, al->text.s + e->options);
  if (!stralloc_cats(&al->path, addr) || !stralloc_0(&al->path)) { *why = "out of memory"; goto done; }
  for (x = al->text.s + e->targets; *x; x += str_len(x) + 1) {
    const char *at = strchr(x, '@');
    t.len = 0;
    if (at && at - x == 1 && x[0] == '*') {
      if (!stralloc_cats(&t, local.s) || !stralloc_cats(&t, at)) { *why = "out of memory"; goto done; }
    } else if (!stralloc_cats(&t, x)) { *why = "out of memory"; goto done; }
    if (!at && (!stralloc_append(&t, "@") || !stralloc_cats(&t, domain.s))) { *why = "out of memory"; goto done; }
    if (!stralloc_0(&t)) { *why = "out of memory"; goto done; }
    if (case_equals(t.s, addr)) {
      /* an address that names itself is final */
      if (!in_list_nocase(&al->out, t.s)) {
        if (al->nout >= TARGETS_MAX) { *why = "more than 100 targets"; goto done; }
        if (!stralloc_cats(&al->out, t.s) || !stralloc_0(&al->out)) { *why = "out of memory"; goto done; }
        al->nout++;
      }
      continue;
    }
    if (!resolve(al, t.s, depth + 1, why)) goto done;
  }
  ok = 1;
done:
  al->path.len = mark;
  stralloc_free(&local);
  stralloc_free(&domain);
  stralloc_free(&t);
  return ok;
}

static int resolve_top(struct aliases *al, const char *addr, const char **why)
{
  al->out.len = 0;
  al->nout = 0;
  al->opts.len = 0;
  al->path.len = 0;
  return resolve(al, addr, 0, why);
}

static int aliases_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct aliases *al = self;
  stralloc addr = {0}, local = {0}, domain = {0};
  const char *why = NULL;
  const struct entry *e;
  int rc = DECLINED;
  size_t i;
  if (!al->n) return DECLINED;
  if (!stralloc_copyb(&addr, a->addr, a->addrlen) || !stralloc_0(&addr) || !split(al, addr.s, &local, &domain)) goto nomem;
  e = lookup(al, local.s, domain.s);
  if (!e) {
    if (in_list(&al->domains, domain.s))
    {
      rc = reject_get(s, &al->r, DENY, PLUGIN, "No such user", "no alias for this address", a->msg);
      if (rc == DENY || rc == DENY_DISCONNECT) { if (!stralloc_copys(a->msg, "5.1.1 No such user")) goto nomem; }
      else if (rc == DENYSOFT || rc == DENYSOFT_DISCONNECT) { if (!stralloc_copys(a->msg, "4.1.1 No such user")) goto nomem; }
    }
    else qlog(s, LOGDEBUG, PLUGIN, "skip, not an alias domain");
    goto done;
  }
  if (!resolve_top(al, addr.s, &why)) {
    qlogm(s, LOGERROR, PLUGIN, "configuration error for ", addr.s, ": ", why);
    if (!stralloc_copys(a->msg, "4.3.0 Alias configuration error, try again later")) goto nomem;
    rc = DENYSOFT;
    goto done;
  }
  for (i = 0; i < al->opts.len; ) {
    const char *k = al->opts.s + i, *v = k + str_len(k) + 1;
    if (!txn_rcpt_note_set(s, addr.s, k, v)) goto nomem;
    qlogm(s, LOGINFO, PLUGIN, "note ", k, "=", v, " for ", addr.s);
    i = (size_t)(v - al->opts.s) + str_len(v) + 1;
  }
  qlogm(s, LOGINFO, PLUGIN, "pass, ", addr.s, " is an alias");
  rc = OK;
done:
  stralloc_free(&addr);
  stralloc_free(&local);
  stralloc_free(&domain);
  return rc;
nomem:
  stralloc_free(&addr);
  stralloc_free(&local);
  stralloc_free(&domain);
  return hook_nomem(a->msg);
}

/* replaces the recipients by their targets, last to first so that the
   indexes of those not yet done stay put; a target that an earlier
   recipient already brings is dropped */
static int aliases_queue_pre(struct session *s, void *self, struct msg_args *a)
{
  struct aliases *al = self;
  stralloc all = {0}, orig = {0}, val = {0};
  unsigned int n = txn_rcpt_count(s), i, k, *cnt = NULL;
  size_t *off = NULL;
  const char **v = NULL;
  const char *why = NULL;
  int rc = DECLINED;
  if (!al->n || !n) return DECLINED;
  cnt = calloc(n, sizeof *cnt);
  off = calloc(n, sizeof *off);
  v = calloc(TARGETS_MAX + 1, sizeof *v);
  if (!cnt || !off || !v) goto nomem;
  for (i = 0; i < n; ++i) {
    const char *x;
    if (!resolve_top(al, txn_rcpt(s, i), &why)) {
      qlogm(s, LOGERROR, PLUGIN, "configuration error for ", txn_rcpt(s, i), ": ", why);
      if (!stralloc_copys(a->msg, "4.3.0 Alias configuration error, try again later")) goto nomem;
      rc = DENYSOFT;
      goto done;
    }
    off[i] = all.len;
    for (x = al->out.s; x < al->out.s + al->out.len; x += str_len(x) + 1) {
      if (in_list_nocase(&all, x)) continue;
      if (!stralloc_cats(&all, x) || !stralloc_0(&all)) goto nomem;
      cnt[i]++;
    }
  }
  for (i = n; i-- > 0; ) {
    const char *x = all.s + off[i];
    if (!stralloc_copys(&orig, txn_rcpt(s, i)) || !stralloc_0(&orig)) goto nomem;
    for (k = 0; k < cnt[i]; ++k, x += str_len(x) + 1) v[k] = x;
    if (cnt[i] == 1 && str_equal(v[0], orig.s)) continue;
    /* the recipient's notes go to its targets */
    if (!resolve_top(al, orig.s, &why)) goto nomem;
    for (k = 0; k < cnt[i]; ++k) {
      size_t j;
      for (j = 0; j < al->opts.len; ) {
        const char *key = al->opts.s + j, *dv = key + str_len(key) + 1;
        const char *have = txn_rcpt_note_get(s, orig.s, key);
        if (!stralloc_copys(&val, have ? have : dv) || !stralloc_0(&val)) goto nomem;
        if (!txn_rcpt_note_get(s, v[k], key) && !txn_rcpt_note_set(s, v[k], key, val.s)) goto nomem;
        j = (size_t)(dv - al->opts.s) + str_len(dv) + 1;
      }
      qlogm(s, LOGINFO, PLUGIN, "rewrote ", orig.s, " to ", v[k]);
    }
    if (!cnt[i]) qlogm(s, LOGINFO, PLUGIN, "dropped ", orig.s, ": its targets are recipients already");
    if (!txn_rcpt_replace(s, i, v, cnt[i])) {
      qlog(s, LOGERROR, PLUGIN, "too many recipients after alias expansion");
      if (!stralloc_copys(a->msg, "4.5.3 Too many recipients after alias expansion")) goto nomem;
      rc = DENYSOFT;
      goto done;
    }
  }
  goto done;
nomem:
  hook_nomem(a->msg);
  rc = DENYSOFT;
done:
  free(cnt);
  free(off);
  free(v);
  stralloc_free(&all);
  stralloc_free(&orig);
  stralloc_free(&val);
  return rc;
}

const struct plugin plugin_aliases = {
  .name = "aliases",
  .init = aliases_init,
  .setup = aliases_setup,
  .rcpt = aliases_rcpt, .queue_pre = aliases_queue_pre,
};
