/* dmarc: DMARC (RFC 7489) for the RFC5322.From domain, like Perl qpsmtpd's
   plugins/dmarc (which asks Mail::DMARC): at data_post_headers, the policy
   record _dmarc.<From domain> (TXT), else _dmarc.<organizational domain>
   (both asked at once, under one deadline: timeout, default 5 s), then
   identifier alignment of the SPF and DKIM results the plugins before it
   left in transaction notes (spf_mailfrom and spf_mailfrom_domain;
   dkim_pass_domains), strict or relaxed as adkim= and aspf= say.

   Each From domain gets "dmarc=RESULT (p=POLICY dis=DISPOSITION)
   header.from=DOMAIN" in Authentication-Results; the transaction notes
   dmarc_result (pass fail none temperror permerror) and dmarc_disposition
   (none quarantine reject) hold the outcome, and dmarc_no_policy is set
   when no From domain has a usable policy (for sender_permitted_from's
   no_dmarc_policy). A failure whose disposition is
   reject (p=reject, or sp=reject for a subdomain, sampled by pct=) sets the
   note reject_dmarc, and data_post refuses the message by Perl's reject
   convention: reject 1 (the default) "552 failed DMARC policy" (DENY at
   data_post is 552, as in Perl), reject 0
   logs only, reject_type as elsewhere. Perl refuses quarantine too; here a
   quarantine disposition does not refuse: it is in the header (dis=) and
   the note, for a queue or delivery plugin to file the message as spam
   (RFC 7489 6.3: quarantine means "treat as suspicious"). Both cost karma 3.
   A DNS failure or timeout is temperror and never refuses.

   The From field, as Perl meant it (its refusals at data_post_headers
   were lost: nothing reads that hook's answer, here or in Perl, so every
   refusal is made at data_post): none at all refuses "empty from address,
   null sender?"; a field with no address whose domain is a domain name
   refuses "unparseable from header". More than one From field (RFC 5322
   allows one) refuses "multiple From headers" (Perl's TODO; RFC 7489
   6.6.1 lets receivers reject them). One field with several addresses has
   each distinct domain checked (6.6.1; at most four, more refuse as
   unparseable) and the strictest disposition applies. All these go
   through the reject convention. Relay clients and whitelisted hosts or
   senders are skipped (Perl skips relay clients). reporting 0|1 is taken
   for Perl's sake; no reports are sent (rua= and ruf= are parsed only). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "dmarc.h"

#define PLUGIN "dmarc"
#define FROM_MAX 4

struct dmarc {
  struct reject r;
  unsigned long timeout;
  stralloc from, ar;
  const char *deny, *why;       /* this transaction's refusal, for data_post */
  int nomem;
};

static int dm_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct dmarc *d = calloc(1, sizeof *d);
  int i;
  if (!d) return stralloc_copys(err, "out of memory"), 0;
  d->r.mode = REJECT_YES;
  d->timeout = 5;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    int got = reject_arg(&d->r, k, v, err);
    if (got < 0) return 0;
    if (got) continue;
    if (!v) {
      if (stralloc_copys(err, k)) stralloc_cats(err, " needs a value");
      return 0;
    }
    if (str_equal(k, "reporting")) {
      if (!str_equal(v, "0") && !str_equal(v, "1")) {
        if (stralloc_copys(err, "reporting takes 0 or 1, not ")) stralloc_cats(err, v);
        return 0;
      }
    } else if (str_equal(k, "timeout")) {
      size_t n = str_len(v);
      if (!n || scan_ulong(v, &d->timeout) != n || !d->timeout || d->timeout > 300) {
        if (stralloc_copys(err, "timeout takes 1 to 300 seconds, not ")) stralloc_cats(err, v);
        return 0;
      }
    } else {
      if (stralloc_copys(err, "unknown argument ")) stralloc_cats(err, k);
      return 0;
    }
  }
  *self = d;
  return 1;
}

/* the DMARC records among a TXT answer: 0, 1 (parsed into r, its status
   returned in *st) or 2 (several: no policy, 6.6.3 step 5) */
static int records(struct dns_query *q, struct dmarc_record *r, int *st)
{
  const char *p = q->rr.s;
  unsigned int i;
  int n = 0;
  struct dmarc_record t;
  if (q->status != DNS_OK) return 0;
  for (i = 0; i < q->n; i++) {
    size_t len = str_len(p);
    int k = dmarc_record_parse(p, len, &t);
    if (k != DMARC_REC_NOT) {
      if (++n > 1) return 2;
      *r = t;
      *st = k;
    }
    p += len + 1;
  }
  return n;
}

struct outcome {
  int result;
  int policy;           /* DMARC_P_UNSET: no usable record */
  int disposition;
  char why[96];
};

static unsigned int roll(void)
{
  unsigned int u = 0;
  if (getrandom(&u, sizeof u, 0) != (ssize_t)sizeof u) u = (unsigned int)getpid() * 2654435761u;
  return u % 100;
}

static void say(struct outcome *o, const char *a, const char *b)
{
  size_t n = str_len(a), m = str_len(b);
  if (n >= sizeof o->why) n = sizeof o->why - 1;
  if (m > sizeof o->why - 1 - n) m = sizeof o->why - 1 - n;
  memcpy(o->why, a, n);
  memcpy(o->why + n, b, m);
  o->why[n + m] = 0;
}

/* one From domain: the DNS, then the verdict */
static int check(struct session *s, struct dmarc *d, const char *from, struct outcome *o)
{
  struct dns_query q[2];
  stralloc name = {0};
  struct dmarc_record rec;
  struct dmarc_verdict v;
  struct dmarc_auth a;
  size_t flen = str_len(from), org = dmarc_org_domain(from, flen);
  unsigned int nq = org ? 2 : 1, i;
  int n, st = DMARC_REC_NOT, sub = 0, ok = 1;

  memset(q, 0, sizeof q);
  memset(o, 0, sizeof *o);
  o->result = DMARC_NONE;
  for (i = 0; i < nq; i++) {
    const char *dom = i ? from + org : from;
    if (!stralloc_copys(&name, "_dmarc.") || !stralloc_cats(&name, dom)
        || dns_query_set(&q[i], name.s, name.len, DNSQ_TXT) < 0) {
      ok = 0;
      goto done;
    }
  }
  dns_run(s, q, nq, (unsigned int)d->timeout);
  if (q[0].status == DNS_TEMP) { say(o, "DNS failure for _dmarc.", from); o->result = DMARC_TEMPERROR; goto done; }
  n = records(&q[0], &rec, &st);
  if (!n && nq == 2) {
    if (q[1].status == DNS_TEMP) {
      say(o, "DNS failure for _dmarc.", from + org);
      o->result = DMARC_TEMPERROR;
      goto done;
    }
    n = records(&q[1], &rec, &st);
    sub = 1;
  }
  if (!n) { say(o, "no policy for ", from); goto done; }
  if (n > 1) { say(o, "several policy records for ", sub ? from + org : from); goto done; }
  if (st == DMARC_REC_BAD) {
    say(o, "unusable policy record: ", rec.why);
    o->result = DMARC_PERMERROR;
    goto done;
  }
  a.spf = note_txn_get(s, "spf_mailfrom");
  a.spf_domain = note_txn_get(s, "spf_mailfrom_domain");
  a.dkim = note_txn_get(s, "dkim_pass_domains");
  dmarc_evaluate(&v, &rec, from, sub, &a, roll());
  o->result = v.result;
  o->policy = v.policy;
  o->disposition = v.disposition;
  if (v.result == DMARC_PASS) say(o, v.dkim_aligned ? "DKIM aligned" : "SPF aligned", "");
  else if (v.disposition != v.policy) say(o, "not sampled, pct=", "");
  else say(o, "neither SPF nor DKIM aligned", "");
  if (v.result == DMARC_PASS && v.dkim_aligned && v.spf_aligned) say(o, "SPF and DKIM aligned", "");
  if (rec.why[0]) qlogm(s, LOGDEBUG, PLUGIN, "record for ", from, ": ", rec.why);
done:
  stralloc_free(&name);
  for (i = 0; i < 2; i++) {
    dns_query_free(&q[i]);
    stralloc_free(&q[i].name);
    stralloc_free(&q[i].rr);
  }
  return ok;
}

/* "dmarc=fail (p=reject dis=reject) header.from=example.com" */
static int authres(struct session *s, struct dmarc *d, const struct outcome *o, const char *from)
{
  stralloc *t = &d->ar;
  if (!stralloc_copys(t, "dmarc=") || !stralloc_cats(t, dmarc_result_name(o->result))) return 0;
  if (o->policy != DMARC_P_UNSET
      && (!stralloc_cats(t, " (p=") || !stralloc_cats(t, dmarc_policy_name(o->policy))
          || !stralloc_cats(t, " dis=") || !stralloc_cats(t, dmarc_policy_name(o->disposition))
          || !stralloc_cats(t, ")")))
    return 0;
  if (!stralloc_cats(t, " header.from=") || !stralloc_cats(t, from) || !stralloc_0(t)) return 0;
  return authres_add_txn(s, t->s);
}

static int worse(int a, int b)
{
  /* fail, then temperror, permerror, none, pass */
  static const int rank[] = { [DMARC_PASS] = 0, [DMARC_NONE] = 1, [DMARC_PERMERROR] = 2,
                              [DMARC_TEMPERROR] = 3, [DMARC_FAIL] = 4 };
  return rank[a] > rank[b];
}

/* The core takes no reply from data_post_headers (nor did Perl's): what
   is to be refused is kept here and refused at data_post, as Perl does
   with its note reject_dmarc. */
static int headers(struct session *s, struct dmarc *d)
{
  char dom[FROM_MAX][DMARC_DOMAIN_MAX];
  struct outcome o;
  int n, i, result = DMARC_PASS, dis = DMARC_P_NONE;
  unsigned int fields;

  fields = txn_header_count(s, "From");
  if (!fields) { d->deny = "empty from address, null sender?"; d->why = "no From header"; return 1; }
  if (fields > 1) { d->deny = "multiple From headers"; d->why = d->deny; return 1; }
  if (!txn_header_get(s, "From", &d->from)) return 1;
  n = dmarc_from_domains(d->from.s, d->from.len, dom, FROM_MAX);
  if (n <= 0) {
    d->deny = "unparseable from header";
    d->why = n ? "too many From domains" : "no domain in From";
    return 1;
  }
  for (i = 0; i < n; i++) {
    if (!check(s, d, dom[i], &o)) return 0;
    qlogm(s, LOGINFO, PLUGIN, dmarc_result_name(o.result), ", ", dom[i], ": ", o.why);
    if (!authres(s, d, &o, dom[i])) return 0;
    if (worse(o.result, result)) result = o.result;
    if (o.result == DMARC_FAIL && o.disposition > dis) dis = o.disposition;
  }
  if (!note_txn_set(s, "dmarc_result", dmarc_result_name(result))
      || !note_txn_set(s, "dmarc_disposition", dmarc_policy_name(dis))
      || (result == DMARC_NONE && !note_txn_set(s, "dmarc_no_policy", "1")))
    return 0;
  if (dis == DMARC_P_NONE) return 1;
  karma_adjust(s, -3);
  if (dis == DMARC_P_QUARANTINE) qlog(s, LOGINFO, PLUGIN, "quarantine: transaction note dmarc_disposition");
  if (dis == DMARC_P_REJECT) {
    if (!note_txn_set(s, "reject_dmarc", "1")) return 0;
    d->deny = "failed DMARC policy";
    d->why = "DMARC policy reject";
  }
  return 1;
}

static int dm_headers(struct session *s, void *self, struct msg_args *m)
{
  struct dmarc *d = self;
  d->deny = d->why = 0;
  d->nomem = 0;
  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!headers(s, d)) d->nomem = 1;
  return DECLINED;
}

static int dm_post(struct session *s, void *self, struct msg_args *m)
{
  struct dmarc *d = self;
  if (d->nomem) return hook_nomem(m->msg);
  if (!d->deny) return DECLINED;
  return reject_get(s, &d->r, DENY, PLUGIN, d->deny, d->why, m->msg);
}

const struct plugin plugin_dmarc = {
  .name = "dmarc",
  .init = dm_init,
  .data_post_headers = dm_headers,
  .data_post = dm_post,
};
