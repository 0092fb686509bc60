/* rhsbl: the sender's domain, and the HELO name when it differs, against
   the right-hand-side blocklists in rhsbl_zones ("zone [text]" a line),
   like Perl qpsmtpd's plugins/rhsbl. All lookups (A records) run at once
   at MAIL under one deadline (timeout, default 30 s); the first listing in
   file order refuses the sender: "Mail from HOST rejected because it
   TEXT" (TEXT defaults to "is listed in ZONE"). Immune clients and the
   null sender are skipped. A lookup that fails temporarily lets the
   sender through unless "failclosed 1".

   Arguments: reject, reject_type, timeout, failclosed, in pairs; or
   Perl's older one-word form, the reply type alone: a reject_type
   (perm, temp, disconnect, ...) or a return code's name (deny,
   denysoft, deny_disconnect, denysoft_disconnect). Perl's rhsbl honoured
   only "disconnect" there and refused with a 5xx for any other word;
   here "rhsbl denysoft" defers, as it says. */
#include <string.h>
#include <strings.h>
#include <case.h>
#include <byte.h>
#include <stdlib.h>
#include <str.h>
#include <scan.h>
#include "lib/dnsargs.h"

#define PLUGIN "rhsbl"
#define MAXQ 64

struct rhsbl {
  struct dnsargs d;
  stralloc zones;
  stralloc name;
  stralloc text;
  struct dns_query q[MAXQ];
};

static int rhsbl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rhsbl *b = calloc(1, sizeof *b);
  if (!b) { stralloc_copys(err, "out of memory"); return 0; }
  b->d.r.mode = REJECT_YES;
  b->d.timeout = 30;
  if (argc == 1) {
    /* Perl's one word: the reply type */
    static const char *const words[][2] = {
      { "deny", "perm" }, { "denysoft", "temp" }, { "deny_disconnect", "disconnect" },
      { "denysoft_disconnect", "temp_disconnect" }, { "disconnect", "disconnect" },
    };
    const char *a[2] = { "reject_type", argv[0] };
    size_t i;
    for (i = 0; i < sizeof words / sizeof words[0]; ++i)
      if (!strcasecmp(argv[0], words[i][0])) a[1] = words[i][1];
    if (!dnsargs_parse(&b->d, 2, a, DNSARG_FAILCLOSED, err)) {
      stralloc_copys(err, "the one-word form takes deny, denysoft, deny_disconnect, denysoft_disconnect"
                          " or a reject_type (perm, hard, temp, soft, disconnect, temp_disconnect), not ");
      stralloc_cats(err, argv[0]);
      return 0;
    }
  } else if (!dnsargs_parse(&b->d, argc, argv, DNSARG_FAILCLOSED, err))
    return 0;
  *self = b;
  return 1;
}

/* the hosts to look up (the sender's domain, the HELO name) and the
   queries for them in b->q, with each one's zone and host; the count, or
   -1 out of memory */
static int names(struct session *s, struct rhsbl *b, const struct addr_args *a, const char *hosts[2],
                 size_t hostlen[2], const char *zone[MAXQ], unsigned int which[MAXQ])
{
  unsigned int nh = 0, nq = 0, h;
  size_t i, at;
  const char *helo = session_hello_host(s);

  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at < a->addrlen && at + 1 < a->addrlen) {
    hosts[nh] = a->addr + at + 1;
    hostlen[nh++] = a->addrlen - at - 1;
  }
  if (helo && *helo && !(nh && strlen(helo) == hostlen[0] && !case_diffb(helo, hostlen[0], hosts[0]))) {
    hosts[nh] = helo;
    hostlen[nh++] = strlen(helo);
  }
  for (h = 0; h < nh; ++h) {
    if (!dns_name_ok(hosts[h], hostlen[h])) continue;
    for (i = 0; i < b->zones.len && nq < MAXQ; i += strlen(b->zones.s + i) + 1) {
      const char *z = b->zones.s + i;
      size_t zl = str_chr(z, ' ');
      if (str_chr(z, '\t') < zl) zl = str_chr(z, '\t');
      b->name.len = 0;
      if (!stralloc_catb(&b->name, hosts[h], hostlen[h]) || !stralloc_cats(&b->name, ".")
          || !stralloc_catb(&b->name, z, zl))
        return -1;
      if (dns_query_set(&b->q[nq], b->name.s, b->name.len, DNSQ_A) < 0) return -1;
      zone[nq] = z;
      which[nq++] = h;
    }
  }
  return (int)nq;
}

/* the lookups of the mail hook below, started before the chain's mail
   hooks run */
static void rhsbl_lookahead(struct session *s, void *self, const struct addr_args *a)
{
  struct rhsbl *b = self;
  const char *hosts[2];
  size_t hostlen[2];
  const char *zone[MAXQ];
  unsigned int which[MAXQ];
  int k, nq;
  if (!a->addrlen || !b->zones.len || session_immune(s, PLUGIN)) return;
  nq = names(s, b, a, hosts, hostlen, zone, which);
  for (k = 0; k < nq; ++k)
    if (b->q[k].status == DNS_PENDING)
      dns_lookahead(s, b->q[k].name.s, b->q[k].name.len - 1, DNSQ_A, (unsigned int)b->d.timeout);
}

static int rhsbl_mail(struct session *s, void *self, struct addr_args *a)
{
  struct rhsbl *b = self;
  const char *hosts[2];
  size_t hostlen[2];
  const char *zone[MAXQ];
  unsigned int which[MAXQ];
  unsigned int nq, k, temp = 0;
  int r;

  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!a->addrlen) { qlog(s, LOGINFO, PLUGIN, "skip, null sender"); return DECLINED; }
  if (!b->zones.len) return DECLINED;
  r = names(s, b, a, hosts, hostlen, zone, which);
  if (r < 0) goto nomem;
  nq = (unsigned int)r;
  if (!nq) return DECLINED;
  dns_run(s, b->q, nq, (unsigned int)b->d.timeout);
  for (k = 0; k < nq; ++k) {
    const char *z = zone[k];
    size_t zl = strcspn(z, " \t");
    const char *msg = z + zl;
    if (b->q[k].status == DNS_TEMP) { temp++; continue; }
    if (b->q[k].status != DNS_OK) continue;
    while (*msg == ' ' || *msg == '\t') ++msg;
    b->text.len = 0;
    if (!stralloc_cats(&b->text, "Mail from ")
        || (which[k] == 1 && !stralloc_cats(&b->text, "HELO "))
        || !stralloc_catb(&b->text, hosts[which[k]], hostlen[which[k]])
        || !stralloc_cats(&b->text, " rejected because it "))
      goto nomem;
    if (*msg) { if (!stralloc_cats(&b->text, msg)) goto nomem; }
    else if (!stralloc_cats(&b->text, "is listed in ") || !stralloc_catb(&b->text, z, zl))
      goto nomem;
    if (!stralloc_0(&b->text)) goto nomem;
    b->name.len = 0;
    if (!stralloc_copys(&b->name, b->q[k].name.s) || !stralloc_0(&b->name)) goto nomem;
    return reject_get(s, &b->d.r, DENY, PLUGIN, b->text.s, b->name.s, a->msg);
  }
  if (temp && b->d.failclosed) {
    qlog(s, LOGINFO, PLUGIN, "fail, a list did not answer and failclosed is set");
    stralloc_copys(a->msg, "4.4.3 Temporary DNS blocklist lookup failure, try again later");
    return DENYSOFT;
  }
  qlog(s, LOGINFO, PLUGIN, temp ? "pass, but some lists did not answer" : "pass");
  return DECLINED;
nomem:
  return hook_nomem(a->msg);
}

static int rhsbl_setup(struct session *s, void *self)
{
  struct rhsbl *b = self;
  control_readlist(s, "rhsbl_zones", &b->zones);
  return 1;
}

const struct plugin plugin_rhsbl = {
  .name = "rhsbl",
  .init = rhsbl_init,
  .setup = rhsbl_setup,
  .mail = rhsbl_mail,
  .mail_lookahead = rhsbl_lookahead,
};
