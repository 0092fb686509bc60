/* dnsbl: the client's address against the DNS blocklists in dnsbl_zones,
   like Perl qpsmtpd's plugins/dnsbl (HEAD). One line a zone:
   "zone" (the TXT record is the reply text) or "zone:text" (an A record
   lists; %IP% in text becomes the client's address). All zones are asked
   at once at connect, under one deadline (timeout, default 30 s); the
   answer is read at the first RCPT (at connect with reject naughty), and
   the first zone in file order that lists the client decides. IPv6
   clients are looked up by reversed nibbles (RFC 5782), IPv4-mapped ones
   as IPv4.

   Skipped: immune clients (relay, whitelisthost), addresses in dnsbl_allow
   (an address, or a prefix ending in '.'), and RBLSMTPD set but empty.
   RBLSMTPD set and not empty refuses every recipient with its text, as
   rblsmtpd does ("-text": permanent). Recipients postmaster, abuse,
   mailer-daemon and root are never refused. dnsbl_rejectmsg lines come
   before the list's text. A lookup that fails temporarily lets the client
   through (Perl, rblsmtpd -C) unless "failclosed 1" (rblsmtpd -c). */
#include <string.h>
#include <case.h>
#include <byte.h>
#include <stdlib.h>
#include <str.h>
#include <scan.h>
#include "lib/dnsargs.h"

#define PLUGIN "dnsbl"

struct dnsbl {
  struct dnsargs d;
  int started;
  int evaluated;
  int listed;
  int temp;
  unsigned int nq;
  struct dns_query *q;
  stralloc allow, zonelist, rejectmsg;   /* the control files, read at setup */
  stralloc zones;       /* "zone\0text\0" a zone; text "" for TXT zones */
  stralloc text;        /* the reply when listed */
  stralloc zone;        /* the zone that listed */
  stralloc tmp;
};

static int dnsbl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct dnsbl *b = calloc(1, sizeof *b);
  if (!b) { stralloc_copys(err, "out of memory"); return 0; }
  b->d.r.mode = REJECT_YES;
  b->d.timeout = 30;
  /* Perl's older form: a single argument is the reject type */
  if (argc == 1) {
    const char *a[2] = { "reject_type", argv[0] };
    if (!dnsargs_parse(&b->d, 2, a, DNSARG_FAILCLOSED, err)) return 0;
  } else if (!dnsargs_parse(&b->d, argc, argv, DNSARG_FAILCLOSED, err))
    return 0;
  *self = b;
  return 1;
}

static int allowed(const char *ip, const stralloc *list)
{
  size_t i, iplen = strlen(ip);
  for (i = 0; i < list->len; i += strlen(list->s + i) + 1) {
    const char *e = list->s + i;
    size_t l = strlen(e);
    if (!l) continue;
    /* "1.2.3.4" and "1.2.3." both match as a prefix ending in a dot */
    if (e[l - 1] == '.') {
      if (iplen >= l && byte_equal(ip, l, e)) return 1;
    } else if (iplen == l && byte_equal(ip, l, e))
      return 1;
  }
  return 0;
}

/* text with %IP% replaced */
static int subst_ip(stralloc *out, const char *text, const char *ip)
{
  const char *p;
  while ((p = strstr(text, "%IP%"))) {
    if (!stralloc_catb(out, text, (size_t)(p - text)) || !stralloc_cats(out, ip)) return 0;
    text = p + 4;
  }
  return stralloc_cats(out, text);
}

static int evaluate_connect(struct session *s, struct dnsbl *b, stralloc *msg);

static int dnsbl_connect(struct session *s, void *self, struct msg_args *a)
{
  struct dnsbl *b = self;
  const char *ip = session_remote_ip(s);
  const char *e = env_get("RBLSMTPD");
  stralloc rev = {0};
  size_t i;
  unsigned int k;

  if (e) {
    if (*e) qlogm(s, LOGINFO, PLUGIN, "RBLSMTPD=\"", e, "\" for ", ip);
    else qlogm(s, LOGINFO, PLUGIN, "skip, RBLSMTPD set, but empty for ", ip);
    return DECLINED;
  }
  if (session_immune(s, PLUGIN)) return DECLINED;
  if (allowed(ip, &b->allow)) {
    qlogm(s, LOGINFO, PLUGIN, "skip, ", ip, " is in dnsbl_allow");
    return DECLINED;
  }
  if (!b->zonelist.len) {
    qlog(s, LOGDEBUG, PLUGIN, "skip, no list configured");
    return DECLINED;
  }
  switch (dns_reverse_ip(&rev, ip)) {
  case 0:
    qlogm(s, LOGINFO, PLUGIN, "skip, not an IP address: ", ip);
    return DECLINED;
  case -1: goto nomem;
  }
  b->zones.len = 0;
  b->nq = 0;
  for (i = 0; i < b->zonelist.len; i += strlen(b->zonelist.s + i) + 1) {
    const char *l = b->zonelist.s + i;
    size_t zl = str_chr(l, ':');
    if (!zl) continue;
    if (!stralloc_catb(&b->zones, l, zl) || !stralloc_0(&b->zones)
        || !stralloc_cats(&b->zones, l[zl] ? l + zl + 1 : "") || !stralloc_0(&b->zones))
      goto nomem;
    b->nq++;
  }
  if (!b->nq) { stralloc_free(&rev); return DECLINED; }
  if (b->nq > 64) {
    qlog(s, LOGWARN, PLUGIN, "more than 64 zones in dnsbl_zones, using the first 64");
    b->nq = 64;
  }
  b->q = calloc(b->nq, sizeof *b->q);
  if (!b->q) goto nomem;
  for (i = 0, k = 0; k < b->nq; ++k) {
    const char *zone = b->zones.s + i;
    const char *text = zone + strlen(zone) + 1;
    b->tmp.len = 0;
    if (!stralloc_cat(&b->tmp, &rev) || !stralloc_cats(&b->tmp, ".") || !stralloc_cats(&b->tmp, zone))
      goto nomem;
    if (dns_query_set(&b->q[k], b->tmp.s, b->tmp.len, *text ? DNSQ_A : DNSQ_TXT) < 0) goto nomem;
    if (b->q[k].status != DNS_PENDING) qlogm(s, LOGWARN, PLUGIN, "bad zone name in dnsbl_zones: ", zone);
    i = (size_t)(text - b->zones.s) + strlen(text) + 1;
  }
  stralloc_free(&rev);
  dns_start(s, b->q, b->nq, (unsigned int)b->d.timeout);
  b->started = 1;
  if (b->d.r.mode == REJECT_NAUGHTY) {
    /* Perl does the lookups at connect then, for the naughty plugin */
    return evaluate_connect(s, b, a->msg);
  }
  return DECLINED;
nomem:
  stralloc_free(&rev);
  hook_nomem(a->msg);
  return DENYSOFT_DISCONNECT;
}

/* waits for the answers; 1 done, 0 out of memory */
static int evaluate(struct session *s, struct dnsbl *b)
{
  const char *ip = session_remote_ip(s);
  size_t i = 0;
  unsigned int k;
  if (b->evaluated) return 1;
  b->evaluated = 1;
  dns_wait(s, b->q, b->nq);
  for (k = 0; k < b->nq; ++k) {
    const char *zone = b->zones.s + i;
    const char *text = zone + strlen(zone) + 1;
    struct dns_query *q = &b->q[k];
    i = (size_t)(text - b->zones.s) + strlen(text) + 1;
    if (q->status == DNS_TEMP) {
      qlogm(s, LOGWARN, PLUGIN, zone, " query failed temporarily (", q->name.s, ")");
      b->temp++;
      continue;
    }
    if (q->status != DNS_OK || b->listed) continue;
    b->listed = 1;
    if (!stralloc_copys(&b->zone, zone) || !stralloc_0(&b->zone)) return 0;
    b->text.len = 0;
    {
      size_t j;
      for (j = 0; j < b->rejectmsg.len; ++j)
        if (!stralloc_append(&b->text, b->rejectmsg.s[j] ? &b->rejectmsg.s[j] : "\n")) return 0;
    }
    if (*text) {
      if (!subst_ip(&b->text, text, ip)) return 0;
    } else if (!stralloc_cats(&b->text, q->rr.s))
      return 0;
    if (!stralloc_0(&b->text)) return 0;
    if (!note_conn_set(s, "dnsbl", b->text.s)) return 0;
  }
  for (k = 0; k < b->nq; ++k) dns_query_free(&b->q[k]);
  if (!b->listed) qlogm(s, LOGINFO, PLUGIN, b->temp ? "pass, but some lists did not answer" : "pass");
  return 1;
}

static int evaluate_connect(struct session *s, struct dnsbl *b, stralloc *msg)
{
  if (!evaluate(s, b)) goto nomem;
  if (b->listed) return reject_get(s, &b->d.r, DENY, PLUGIN, b->text.s, b->zone.s, msg);
  return DECLINED;
nomem:
  hook_nomem(msg);
  return DENYSOFT_DISCONNECT;
}

static int special(const char *addr, size_t len)
{
  static const char *const names[] = { "postmaster", "abuse", "mailer-daemon", "root" };
  size_t at = byte_rchr(addr, len, '@');
  unsigned int i;
  for (i = 0; i < sizeof names / sizeof names[0]; ++i)
    if (at == strlen(names[i]) && case_diffb(addr, at, names[i]) == 0) return 1;
  return 0;
}

static int dnsbl_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct dnsbl *b = self;
  const char *e = env_get("RBLSMTPD");

  if (e && *e) {
    struct reject r = b->d.r;
    const char *ip = session_remote_ip(s);
    b->text.len = 0;
    if (*e == '-') { ++e; r.type = "perm"; }
    {
      size_t j;
      for (j = 0; j < b->rejectmsg.len; ++j)
        if (!stralloc_append(&b->text, b->rejectmsg.s[j] ? &b->rejectmsg.s[j] : " ")) goto nomem;
    }
    if (!subst_ip(&b->text, e, ip) || !stralloc_0(&b->text)) goto nomem;
    if (r.mode == REJECT_NAUGHTY) r.mode = REJECT_YES;
    return reject_get(s, &r, DENY, PLUGIN, b->text.s, "RBLSMTPD", a->msg);
  }
  if (!b->started) return DECLINED;
  if (!evaluate(s, b)) goto nomem;
  if (!b->listed) {
    if (b->temp && b->d.failclosed) {
      qlog(s, LOGINFO, PLUGIN, "fail, a list did not answer and failclosed is set");
      stralloc_copys(a->msg, "4.4.3 Temporary DNS blocklist lookup failure, try again later");
      return DENYSOFT;
    }
    return DECLINED;
  }
  if (b->d.r.mode == REJECT_NAUGHTY) return DECLINED;   /* recorded at connect */
  if (session_immune(s, PLUGIN)) return DECLINED;
  if (special(a->addr, a->addrlen)) {
    qlogm(s, LOGWARN, PLUGIN, "skip, don't blacklist special account");
    return DECLINED;
  }
  return reject_get(s, &b->d.r, DENY, PLUGIN, b->text.s, b->zone.s, a->msg);
nomem:
  return hook_nomem(a->msg);
}

static int dnsbl_setup(struct session *s, void *self)
{
  struct dnsbl *b = self;
  control_readlist(s, "dnsbl_allow", &b->allow);
  control_readlist(s, "dnsbl_zones", &b->zonelist);
  control_readlist(s, "dnsbl_rejectmsg", &b->rejectmsg);
  return 1;
}

const struct plugin plugin_dnsbl = {
  .name = "dnsbl",
  .init = dnsbl_init,
  .setup = dnsbl_setup,
  .connect = dnsbl_connect, .rcpt = dnsbl_rcpt,
};
