/* sender_permitted_from: SPF (RFC 7208) at MAIL, with Perl qpsmtpd's
   arguments (plugins/sender_permitted_from, HEAD):

     reject N    0 log only (the default, or the spfbehavior control file)
                 1 annotate: Received-SPF and Authentication-Results
                 2 also defer on a temporary DNS error and on fail
                 3 refuse fail (550), defer softfail (450)
                 4 refuse softfail too; defer permerror
                 5 refuse neutral too
                 6 refuse none and permerror too
     spf_deny 1|2          Perl's old names for reject 3 and 4
     no_dmarc_policy N     a second chance after the dmarc plugin (data_post)
                           when the From domain publishes no DMARC record:
                           1 fail, 2 softfail, 3 neutral, 4 none/permerror
     check_helo 0|1        also check the HELO identity (RFC 7208 2.3)
                           first; a HELO fail is refused like a MAIL FROM
                           fail. Off by default: one more check per session
     timeout N             seconds for one whole check (default 20)

   Unlike Perl, the null sender is checked, as RFC 7208 2.4 says: its
   identity is postmaster@<HELO name>. Relay clients (authenticated ones
   included) and whitelisted ones are skipped (Perl's is_immune).

   The result goes into a Received-SPF header (RFC 7208 9.1, added after
   the final dot) and Authentication-Results (spf=... smtp.mailfrom= or
   smtp.helo=), and into transaction notes: spf_mailfrom (the result's
   name), spf_mailfrom_domain (the domain checked: MAIL FROM's, or the HELO
   name for <>), for the dmarc plugin, and spf_pass_host on pass, as Perl.
   A lookup that times out is temperror, never a permanent refusal. */
#include <string.h>
#include <stdlib.h>
#include <scan.h>
#include <time.h>
#include <byte.h>
#include "plugin.h"
#include "spf_dns.h"

#define PLUGIN "sender_permitted_from"

struct spf_plugin {
  unsigned long reject;
  int reject_set;
  unsigned long no_dmarc;
  unsigned long timeout;
  int check_helo;
  /* this transaction's check, for the header and no_dmarc_policy */
  struct spf_answer a;
  int done;
  int helo_identity;            /* the null sender: HELO was the identity */
  stralloc sender;              /* as checked, "" for <> */
  stralloc why;
  stralloc t;
};

static int num_arg(const char *v, unsigned long max, unsigned long *out)
{
  unsigned long n;
  size_t l = scan_ulong(v, &n);
  if (!l || v[l] || n > max) return 0;
  *out = n;
  return 1;
}

static int spf_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct spf_plugin *p = calloc(1, sizeof *p);
  int i;
  if (!p) { stralloc_copys(err, "out of memory"); return 0; }
  p->timeout = 20;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long n;
    if (!v) { stralloc_copys(err, "argument without a value: "); stralloc_cats(err, k); goto bad; }
    if (!strcmp(k, "reject")) {
      if (!num_arg(v, 6, &p->reject)) { stralloc_copys(err, "reject must be 0 to 6"); goto bad; }
      p->reject_set = 1;
    } else if (!strcmp(k, "spf_deny")) {
      if (!num_arg(v, 2, &n)) { stralloc_copys(err, "spf_deny must be 0, 1 or 2"); goto bad; }
      if (n) { p->reject = n + 2; p->reject_set = 1; }
    } else if (!strcmp(k, "no_dmarc_policy")) {
      if (!num_arg(v, 4, &p->no_dmarc)) { stralloc_copys(err, "no_dmarc_policy must be 0 to 4"); goto bad; }
    } else if (!strcmp(k, "check_helo")) {
      if (!num_arg(v, 1, &n)) { stralloc_copys(err, "check_helo must be 0 or 1"); goto bad; }
      p->check_helo = (int)n;
    } else if (!strcmp(k, "timeout")) {
      if (!num_arg(v, 300, &p->timeout) || !p->timeout) { stralloc_copys(err, "timeout must be 1 to 300 seconds"); goto bad; }
    } else {
      stralloc_copys(err, "unknown argument: ");
      stralloc_cats(err, k);
      goto bad;
    }
  }
  *self = p;
  return 1;
bad:
  free(p);
  return 0;
}

/* spfbehavior: Perl's fallback for a missing reject argument */
static int spf_setup(struct session *s, void *self)
{
  struct spf_plugin *p = self;
  unsigned long v;
  if (!p->reject_set && control_readulong(s, "spfbehavior", &v, 0, 6)) p->reject = v;
  return 1;
}

/* a value for a header's key=value or A-R's property: a dot-atom as it
   is, anything else as a quoted-string (printable ASCII, '"' and '\'
   escaped) */
static int put_value(stralloc *t, const char *v, size_t n)
{
  size_t i;
  int atom = n > 0;
  for (i = 0; i < n && atom; ++i) {
    unsigned char c = (unsigned char)v[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || strchr("!#$%&'*+-/=?^_`{|}~.@", c)) || c == 0)
      atom = 0;
  }
  if (atom && (v[0] == '.' || v[n - 1] == '.')) atom = 0;
  if (atom) return stralloc_catb(t, v, n);
  if (!stralloc_append(t, "\"")) return 0;
  for (i = 0; i < n; ++i) {
    char c = v[i];
    if ((unsigned char)c < 32 || (unsigned char)c > 126) c = '?';
    if ((c == '"' || c == '\\') && !stralloc_append(t, "\\")) return 0;
    if (!stralloc_append(t, &c)) return 0;
  }
  return stralloc_append(t, "\"");
}

/* text for a header comment: no parentheses or backslashes unescaped */
static int put_ctext(stralloc *t, const char *v)
{
  for (; *v; ++v) {
    char c = *v;
    if ((unsigned char)c < 32 || (unsigned char)c > 126) c = '?';
    if ((c == '(' || c == ')' || c == '\\') && !stralloc_append(t, "\\")) return 0;
    if (!stralloc_append(t, &c)) return 0;
  }
  return 1;
}

/* the local explanation, as Mail::SPF words it */
static int explain(struct spf_plugin *p, const char *identity, const char *ip)
{
  stralloc *w = &p->why;
  const struct spf_answer *a = &p->a;
  w->len = 0;
  switch (a->result) {
  case SPF_PASS:
    return stralloc_copys(w, "domain of ") && stralloc_cats(w, identity)
           && stralloc_cats(w, " designates ") && stralloc_cats(w, ip)
           && stralloc_cats(w, " as permitted sender") && stralloc_0(w);
  case SPF_FAIL:
    if (a->explanation[0]) return stralloc_copys(w, a->explanation) && stralloc_0(w);
    /* fall through */
  case SPF_SOFTFAIL:
  case SPF_NEUTRAL:
    return stralloc_copys(w, "domain of ") && stralloc_cats(w, identity)
           && stralloc_cats(w, a->result == SPF_NEUTRAL ? " does not say whether " : " does not designate ")
           && stralloc_cats(w, ip) && stralloc_cats(w, a->result == SPF_NEUTRAL ? " is a permitted sender" : " as permitted sender")
           && (!a->mechanism[0] || (stralloc_cats(w, " (mechanism '") && stralloc_cats(w, a->mechanism)
                                    && stralloc_cats(w, "' matched)")))
           && stralloc_0(w);
  default:
    return stralloc_copys(w, a->domain[0] ? a->domain : identity) && stralloc_cats(w, ": ")
           && stralloc_cats(w, a->why[0] ? a->why : "no reason given") && stralloc_0(w);
  }
}

/* "SPF - <what>: <why>" with the enhanced code of RFC 7372 for rc */
static int refuse(struct spf_plugin *p, struct session *s, int rc, const char *what, stralloc *msg)
{
  int temp = rc == DENYSOFT;
  const char *ec = p->a.result == SPF_TEMPERROR ? (temp ? "4.7.24 " : "5.7.24 ")
                   : p->a.result == SPF_PERMERROR ? (temp ? "4.7.24 " : "5.7.24 ")
                   : (temp ? "4.7.23 " : "5.7.23 ");
  qlogm(s, LOGINFO, PLUGIN, "fail, ", spf_result_name(p->a.result), ", ", p->why.s);
  if (!stralloc_copys(msg, ec) || !stralloc_cats(msg, "SPF - ") || !stralloc_cats(msg, what)
      || !stralloc_cats(msg, ": ") || !stralloc_cats(msg, p->why.s)) return hook_nomem(msg);
  return rc;
}

static int tolerated(struct session *s, struct spf_plugin *p)
{
  qlogm(s, LOGINFO, PLUGIN, "skip, tolerated (", spf_result_name(p->a.result), ": ", p->why.s, ")");
  return DECLINED;
}

/* Perl's levels for one result */
static int judge(struct session *s, struct spf_plugin *p, stralloc *msg)
{
  unsigned long r = p->reject;
  switch (p->a.result) {
  case SPF_PASS:
    qlogm(s, LOGINFO, PLUGIN, "pass, ", p->why.s);
    return DECLINED;
  case SPF_FAIL:
    if (r >= 3) return refuse(p, s, DENY, "forgery", msg);
    if (r == 2) return refuse(p, s, DENYSOFT, "fail", msg);
    break;
  case SPF_SOFTFAIL:
    if (r >= 4) return refuse(p, s, DENY, "fail", msg);
    if (r == 3) return refuse(p, s, DENYSOFT, "fail", msg);
    break;
  case SPF_NEUTRAL:
    if (r >= 5) return refuse(p, s, DENY, "neutral", msg);
    break;
  case SPF_NONE:
    if (r >= 6) return refuse(p, s, DENY, "none", msg);
    break;
  case SPF_PERMERROR:
    if (r >= 6) return refuse(p, s, DENY, "permerror", msg);
    if (r >= 4) return refuse(p, s, DENYSOFT, "permerror", msg);
    break;
  case SPF_TEMPERROR:
    if (r >= 2) return refuse(p, s, DENYSOFT, "temperror", msg);
    break;
  }
  return tolerated(s, p);
}

static int check(struct session *s, struct spf_plugin *p, int helo, const char *sender)
{
  struct spf_dns dns;
  struct spf_dns_ctx ctx;
  struct spf_request r;
  r.ip = session_remote_ip(s);
  r.helo = session_hello_host(s);
  r.receiver = session_me(s);
  r.now = (long long)time(NULL);
  spf_dns_init(&dns, &ctx, s, (unsigned int)p->timeout);
  if (helo) spf_check_helo(&p->a, &dns, &r);
  else spf_check_mailfrom(&p->a, &dns, &r, sender);
  return 1;
}

/* the A-R entry: spf=<result> smtp.mailfrom=<domain> or smtp.helo=<name> */
static int add_authres(struct session *s, struct spf_plugin *p, const char *prop, const char *v)
{
  stralloc *t = &p->t;
  t->len = 0;
  if (!stralloc_copys(t, "spf=") || !stralloc_cats(t, spf_result_name(p->a.result))
      || !stralloc_cats(t, " ") || !stralloc_cats(t, prop) || !stralloc_cats(t, "=")
      || !put_value(t, v, strlen(v)) || !stralloc_0(t)) return 0;
  return authres_add_txn(s, t->s);
}

/* the first lookups of the mail hook below (the SPF records of the HELO
   name and of the sender's domain), started before the chain's mail
   hooks run */
static void spf_lookahead(struct session *s, void *self, const struct addr_args *a)
{
  struct spf_plugin *p = self;
  const char *helo = session_hello_host(s);
  const char *ip = session_remote_ip(s);
  size_t at = byte_rchr(a->addr, a->addrlen, '@');
  if (!ip || !*ip || session_immune(s, PLUGIN)) return;
  if (helo && *helo && (p->check_helo || !a->addrlen))
    dns_lookahead(s, helo, strlen(helo), DNSQ_TXT, (unsigned int)p->timeout);
  if (a->addrlen && at > 0 && at + 1 < a->addrlen)
    dns_lookahead(s, a->addr + at + 1, a->addrlen - at - 1, DNSQ_TXT, (unsigned int)p->timeout);
}

static int spf_mail(struct session *s, void *self, struct addr_args *a)
{
  struct spf_plugin *p = self;
  const char *helo = session_hello_host(s);
  const char *ip = session_remote_ip(s);
  const char *domain;
  size_t at;
  int rc;

  p->done = 0;
  p->helo_identity = 0;
  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!ip || !*ip) { qlog(s, LOGINFO, PLUGIN, "skip, no client address"); return DECLINED; }
  if (!stralloc_copyb(&p->sender, a->addr, a->addrlen) || !stralloc_0(&p->sender)) return hook_nomem(a->msg);
  at = byte_rchr(a->addr, a->addrlen, '@');
  if (a->addrlen && (at >= a->addrlen || at == 0 || at + 1 == a->addrlen)) {
    qlogm(s, LOGINFO, PLUGIN, "skip, no domain in the sender ", p->sender.s);
    return DECLINED;
  }

  if (p->check_helo && helo && *helo) {
    const char *cached = note_conn_get(s, "spf_helo");
    check(s, p, 1, NULL);
    if (!cached && !note_conn_set(s, "spf_helo", spf_result_name(p->a.result))) return hook_nomem(a->msg);
    if (p->a.result != SPF_NONE || p->a.why[0]) {
      if (!add_authres(s, p, "smtp.helo", helo)) return hook_nomem(a->msg);
    }
    if (p->a.result == SPF_FAIL) {
      if (!explain(p, helo, ip)) return hook_nomem(a->msg);
      p->done = 1;
      p->helo_identity = 1;
      karma_adjust(s, -1);
      if (p->reject >= 3) return refuse(p, s, DENY, "forgery", a->msg);
    }
  }

  if (!a->addrlen) {
    /* RFC 7208 2.4: the null sender's identity is postmaster@<HELO> */
    if (!helo || !*helo) { qlog(s, LOGINFO, PLUGIN, "skip, null sender without HELO"); return DECLINED; }
    p->helo_identity = 1;
    domain = helo;
  } else {
    p->helo_identity = 0;
    domain = p->sender.s + at + 1;
  }
  check(s, p, 0, p->sender.s);
  p->done = 1;
  {
    /* the notes the dmarc plugin reads: the result and the domain checked */
    stralloc *t = &p->t;
    size_t i, n = strlen(domain);
    t->len = 0;
    for (i = 0; i < n; ++i) {
      char c = domain[i];
      if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
      if (!stralloc_append(t, &c)) return hook_nomem(a->msg);
    }
    if (!stralloc_0(t)) return hook_nomem(a->msg);
    if (!note_txn_set(s, "spf_mailfrom", spf_result_name(p->a.result))
        || !note_txn_set(s, "spf_mailfrom_domain", t->s)
        || (p->a.result == SPF_PASS && !note_txn_set(s, "spf_pass_host", t->s)))
      return hook_nomem(a->msg);
  }
  if (!add_authres(s, p, p->helo_identity ? "smtp.helo" : "smtp.mailfrom", domain)) return hook_nomem(a->msg);
  if (p->helo_identity) {
    stralloc id = {0};
    int ok = stralloc_copys(&id, "postmaster@") && stralloc_cats(&id, helo) && stralloc_0(&id)
             && explain(p, id.s, ip);
    stralloc_free(&id);
    if (!ok) return hook_nomem(a->msg);
  } else if (!explain(p, p->sender.s, ip)) return hook_nomem(a->msg);

  if (p->a.result == SPF_PASS) karma_adjust(s, 1);
  if (p->a.result == SPF_FAIL || p->a.result == SPF_SOFTFAIL) karma_adjust(s, -1);
  if (!p->reject && p->a.result != SPF_PASS) return tolerated(s, p);
  rc = judge(s, p, a->msg);
  return rc;
}

/* Received-SPF (RFC 7208 9.1), on top of the client's header */
static int spf_data_post_headers(struct session *s, void *self, struct msg_args *a)
{
  struct spf_plugin *p = self;
  stralloc *t = &p->t;
  const char *helo = session_hello_host(s);
  const char *ip = session_remote_ip(s);
  const char *me = session_me(s);
  if (!p->done) return DECLINED;
  t->len = 0;
  if (!stralloc_cats(t, spf_result_name(p->a.result)) || !stralloc_cats(t, " (")
      || !put_ctext(t, me) || !stralloc_cats(t, ": ") || !put_ctext(t, p->why.s)
      || !stralloc_cats(t, ") client-ip=") || !stralloc_cats(t, ip)
      || !stralloc_cats(t, "; envelope-from=") || !put_value(t, p->sender.s, strlen(p->sender.s)))
    return hook_nomem(a->msg);
  if (helo && *helo && (!stralloc_cats(t, "; helo=") || !put_value(t, helo, strlen(helo))))
    return hook_nomem(a->msg);
  if (!stralloc_cats(t, "; receiver=") || !put_value(t, me, strlen(me))
      || !stralloc_cats(t, "; identity=") || !stralloc_cats(t, p->helo_identity && p->sender.len > 1 ? "helo" : "mailfrom"))
    return hook_nomem(a->msg);
  if (p->a.mechanism[0] && (!stralloc_cats(t, "; mechanism=") || !put_value(t, p->a.mechanism, strlen(p->a.mechanism))))
    return hook_nomem(a->msg);
  if (!stralloc_0(t) || !txn_add_header(s, "Received-SPF", t->s)) return hook_nomem(a->msg);
  return DECLINED;
}

/* no_dmarc_policy: the dmarc plugin ran (before us in data_post: it
   runs at data_post_headers) and found no DMARC record for the From
   domain ("dmarc_no_policy" note); then SPF alone may refuse */
static int spf_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct spf_plugin *p = self;
  unsigned long n = p->no_dmarc;
  int deny = 0;
  if (!n || !p->done) return DECLINED;
  if (session_immune(s, PLUGIN)) return DECLINED;
  if (!note_true(note_txn_get(s, "dmarc_no_policy"))) return DECLINED;
  switch (p->a.result) {
  case SPF_FAIL: deny = n >= 1; break;
  case SPF_SOFTFAIL: deny = n >= 2; break;
  case SPF_NEUTRAL: deny = n >= 3; break;
  case SPF_NONE: case SPF_PERMERROR: deny = n >= 4; break;
  default: break;
  }
  if (!deny) { qlog(s, LOGINFO, PLUGIN, "pass, no DMARC policy and SPF allows it"); return DECLINED; }
  return refuse(p, s, DENY, spf_result_name(p->a.result), a->msg);
}

static int spf_reset(struct session *s, void *self, struct msg_args *a)
{
  struct spf_plugin *p = self;
  p->done = 0;
  return DECLINED;
}

const struct plugin plugin_sender_permitted_from = {
  .name = "sender_permitted_from",
  .init = spf_init,
  .setup = spf_setup,
  .mail = spf_mail,
  .mail_lookahead = spf_lookahead,
  .data_post_headers = spf_data_post_headers,
  .data_post = spf_data_post,
  .reset_transaction = spf_reset,
};
