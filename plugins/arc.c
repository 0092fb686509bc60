/* arc: validates the message's Authenticated Received Chain (RFC 8617;
   no Perl equivalent). At data_post_headers (so that the result is in
   the Authentication-Results field the core adds next): the ARC sets
   i=1..N (at most 50) must be complete, the first seal cv=none and the
   later ones cv=pass, the newest ARC-Message-Signature must verify (as a
   DKIM signature: dkim.c) and every ARC-Seal must verify over the ARC
   fields (arc.c). The result goes into Authentication-Results as section
   10 of the RFC suggests:
     arc=pass smtp.remote-ip=IP header.oldest-pass=K
     arc=fail (why) smtp.remote-ip=IP
     arc=none
   (arc=temperror when a key lookup timed out or failed), and into the
   transaction notes arc_result (pass, fail, none or temperror) and
   arc_oldest_pass (K, for a pass). Keys are TXT records at
   S._domainkey.D, looked up in parallel under one deadline.

   Arguments: reject 0|1 (0: report only; 1 refuses a failed chain at
   data_post, never a temperror), timeout SECONDS (10). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <case.h>
#include <scan.h>
#include <str.h>
#include <fmt.h>
#include "plugin.h"
#include "arc.h"
#include "dkim.h"

#define PLUGIN "arc"
#define HDR_CAP (512 * 1024)
#define MAXKEYS (2 * ARC_MAXSETS)

struct cfg {
  int reject;
  unsigned long timeout;
};

static int arc_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct cfg *c = calloc(1, sizeof *c);
  int i;
  if (!c) return arg_error(err, "out of memory", 0);
  c->timeout = 10;
  for (i = 0; i < argc; i += 2) {
    const char *v = i + 1 < argc ? argv[i + 1] : 0;
    if (!v) return arg_error(err, "missing value after ", argv[i]);
    if (str_equal(argv[i], "reject")) {
      if (str_equal(v, "0")) c->reject = 0;
      else if (str_equal(v, "1")) c->reject = 1;
      else return arg_error(err, "reject takes 0 or 1, not ", v);
    } else if (str_equal(argv[i], "timeout")) {
      size_t n = scan_ulong(v, &c->timeout);
      if (!n || v[n] || !c->timeout || c->timeout > 300)
        return arg_error(err, "timeout takes seconds (1-300), not ", v);
    } else
      return arg_error(err, "unknown argument ", argv[i]);
  }
  *self = c;
  return 1;
}

/* ---- reading the message: the header section, the body's hashes ---- */

struct reader {
  stralloc hdr;
  int in_body, start, toolarge, nomem;
  struct dkim_body body[2];     /* simple, relaxed; the whole body (no l=) */
};

static int read_chunk(void *ctx, const char *buf, size_t len)
{
  struct reader *r = ctx;
  size_t i = 0;
  while (!r->in_body && i < len) {
    const char *e;
    size_t n;
    if (r->start && buf[i] == '\n') { r->in_body = 1; ++i; break; }
    e = memchr(buf + i, '\n', len - i);
    n = e ? (size_t)(e - (buf + i)) + 1 : len - i;
    if (n > HDR_CAP - r->hdr.len) { r->toolarge = 1; return -1; }
    if (!stralloc_catb(&r->hdr, buf + i, n)) { r->nomem = 1; return -1; }
    r->start = e != 0;
    i += n;
  }
  if (r->in_body && i < len) {
    dkim_body_update(&r->body[0], buf + i, len - i);
    dkim_body_update(&r->body[1], buf + i, len - i);
  }
  return 0;
}

/* ---- validating ---- */

struct set {
  struct dkim_sig ams, as;
  int ams_parsed, as_parsed, cv;
  int ams_ok, as_ok;
  int ams_key, as_key;          /* index into the key queries, -1 none */
  const char *why;
};

struct check {
  struct reader r;
  struct dkim_field *f;
  unsigned int nf;
  struct arc_chain chain;
  struct set *sets;
  struct dns_query q[MAXKEYS];
  unsigned int nq;
  int temp;
};

/* the query for S._domainkey.D, shared by every signature that names it:
   its index, -1 no usable name, -2 out of memory */
static int key_query(struct check *k, const struct dkim_sig *sig)
{
  stralloc name = {0};
  unsigned int i;
  int set;
  if (!stralloc_copys(&name, sig->s) || !stralloc_cats(&name, "._domainkey.") || !stralloc_cats(&name, sig->d)
      || !stralloc_0(&name)) { stralloc_free(&name); return -2; }
  for (i = 0; i < k->nq; ++i)
    if (!strcmp(k->q[i].name.s, name.s)) { stralloc_free(&name); return (int)i; }
  if (k->nq == MAXKEYS) { stralloc_free(&name); return -1; }
  set = dns_query_set(&k->q[k->nq], name.s, name.len - 1, DNSQ_TXT);
  stralloc_free(&name);
  if (set < 0) return -2;
  if (!set) { dns_query_free(&k->q[k->nq]); stralloc_free(&k->q[k->nq].name); stralloc_free(&k->q[k->nq].rr); return -1; }
  return (int)k->nq++;
}

/* a signature against its key: 1 pass, 0 not, -1 temperror, -2 out of memory */
static int sig_check(struct check *k, int qi, const struct dkim_sig *sig, int seal, const char **why)
{
  struct dns_query *q;
  struct dkim_key key;
  unsigned char hh[32];
  const char *rec;
  unsigned int j;
  int got = 0;
  if (qi < 0) { *why = "no key: s= and d= do not make a DNS name"; return 0; }
  q = &k->q[qi];
  if (q->status == DNS_TEMP || q->status == DNS_PENDING) { *why = "key lookup failed or timed out"; return -1; }
  if (q->status != DNS_OK || !q->n) { *why = "no key"; return 0; }
  rec = q->rr.s;
  for (j = 0; j < q->n && !got; ++j) {
    got = dkim_key_parse(rec, strlen(rec), &key, why);
    rec += strlen(rec) + 1;
  }
  if (!got) return 0;
  if (!(seal ? arc_seal_hash(k->r.hdr.s, k->f, &k->chain, sig, hh)
             : dkim_header_hash(k->r.hdr.s, k->f, k->nf, sig, hh))) return -2;
  return dkim_verify(sig, &key, hh, why) == DKIM_PASS;
}

static void check_free(struct check *k)
{
  unsigned int i;
  for (i = 0; i < k->nq; ++i) {
    dns_query_free(&k->q[i]);
    stralloc_free(&k->q[i].name);
    stralloc_free(&k->q[i].rr);
  }
  free(k->sets);
  free(k->f);
  stralloc_free(&k->r.hdr);
}

/* 4.1.2: an AMS does not sign the seals */
static int signs_seal(void *ctx, const char *name, size_t len)
{
  (void)ctx;
  return len == 8 && !case_diffb(name, 8, "arc-seal");
}

/* the hashing and the DNS: ARC_CV_PASS, ARC_CV_FAIL (with *why), -1
   temperror (*why), -2 out of memory */
static int validate(struct session *s, struct cfg *c, struct check *k, unsigned int *oldest, const char **why)
{
  unsigned int n = k->chain.n, i;
  unsigned long long now = (unsigned long long)time(0);
  unsigned char bh[2][32];
  int cv[ARC_MAXSETS], amsok[ARC_MAXSETS], asok[ARC_MAXSETS];

  if (!(k->sets = calloc(n, sizeof *k->sets))) return -2;
  dkim_body_final(&k->r.body[0], bh[0]);
  dkim_body_final(&k->r.body[1], bh[1]);
  for (i = 0; i < n; ++i) {
    struct set *g = &k->sets[i];
    const struct dkim_field *fa = &k->f[k->chain.field[i][ARC_AS]], *fm = &k->f[k->chain.field[i][ARC_AMS]];
    const char *w = 0;
    g->ams_key = g->as_key = -1;
    g->as_parsed = arc_seal_parse(&g->as, &g->cv, k->r.hdr.s + fa->off, fa->len, &w);
    if (!g->as_parsed) { *why = w; return ARC_CV_FAIL; }     /* every seal counts */
    g->ams_parsed = dkim_ams_parse(&g->ams, k->r.hdr.s + fm->off, fm->len, now, &w);
    if (g->ams_parsed && dkim_hnames(g->ams.field + g->ams.h, g->ams.hlen, signs_seal, 0)) {
      g->ams_parsed = 0; w = "the ARC-Message-Signature signs ARC-Seal";
    }
    if (!g->ams_parsed) g->why = w;
    else if (g->ams.bhlen != 32 || memcmp(g->ams.bh, bh[g->ams.brelaxed], 32)) {
      g->ams_parsed = 0; g->why = "body hash did not verify";
    }
    cv[i] = g->cv;
  }
  /* structure first: no DNS for a chain that the cv= values already fail */
  {
    int ones[ARC_MAXSETS];
    unsigned int o;
    for (i = 0; i < n; ++i) ones[i] = 1;
    if (arc_verdict(n, cv, ones, ones, &o, why) != ARC_CV_PASS) return ARC_CV_FAIL;
  }
  if (!k->sets[n - 1].ams_parsed) { *why = k->sets[n - 1].why; return ARC_CV_FAIL; }
  for (i = 0; i < n; ++i) {
    struct set *g = &k->sets[i];
    if ((g->as_key = key_query(k, &g->as)) == -2) return -2;
    if (g->ams_parsed && (g->ams_key = key_query(k, &g->ams)) == -2) return -2;
  }
  if (k->nq) dns_run(s, k->q, k->nq, (unsigned int)c->timeout);
  for (i = n; i-- > 0;) {
    struct set *g = &k->sets[i];
    const char *w = 0;
    int r = sig_check(k, g->as_key, &g->as, 1, &w);
    if (r == -2) return -2;
    if (r == -1) { *why = w; return -1; }
    asok[i] = r;
    if (!r && !g->why) g->why = w;
    amsok[i] = 0;
    if (g->ams_parsed) {
      r = sig_check(k, g->ams_key, &g->ams, 0, &w);
      if (r == -2) return -2;
      if (r == -1 && i == n - 1) { *why = w; return -1; }
      amsok[i] = r == 1;
      if (r != 1 && !g->why) g->why = w;
    }
  }
  return arc_verdict(n, cv, amsok, asok, oldest, why);
}

static int arc_data_post_headers(struct session *s, void *self, struct msg_args *a)
{
  struct cfg *c = self;
  struct check *k = calloc(1, sizeof *k);
  stralloc ar = {0};
  const char *why = 0, *res, *ip = session_remote_ip(s);
  unsigned int oldest = 0;
  int rr = ARC_CV_FAIL, st;
  char num[FMT_ULONG];

  if (!k) goto nomem;
  k->r.start = 1;
  dkim_body_init(&k->r.body[0], 0, 0, 0);
  dkim_body_init(&k->r.body[1], 1, 0, 0);
  if (txn_each_client(s, read_chunk, &k->r) == -1) {
    if (k->r.nomem) goto nomem;
    qlog(s, LOGWARN, PLUGIN, k->r.toolarge ? "skip, header section too large" : "skip, cannot read the spool");
    goto out;
  }
  if (!dkim_fields(k->r.hdr.s, k->r.hdr.len, &k->f, &k->nf)) goto nomem;
  st = arc_chain_collect(k->r.hdr.s, k->f, k->nf, &k->chain, &why);
  if (st == ARC_NONE) rr = ARC_CV_NONE;
  else if (st == ARC_OK) rr = validate(s, c, k, &oldest, &why);
  if (rr == -2) goto nomem;
  res = rr == ARC_CV_PASS ? "pass" : rr == ARC_CV_NONE ? "none" : rr == -1 ? "temperror" : "fail";
  if (!stralloc_copys(&ar, "arc=") || !stralloc_cats(&ar, res)) goto nomem;
  if (why && (!stralloc_cats(&ar, " (") || !stralloc_cats(&ar, why) || !stralloc_cats(&ar, ")"))) goto nomem;
  if (rr != ARC_CV_NONE && ip && *ip
      && (!stralloc_cats(&ar, " smtp.remote-ip=") || !stralloc_cats(&ar, ip))) goto nomem;
  num[fmt_ulong(num, oldest)] = 0;
  if (rr == ARC_CV_PASS && (!stralloc_cats(&ar, " header.oldest-pass=") || !stralloc_cats(&ar, num))) goto nomem;
  if (!stralloc_0(&ar) || !authres_add_txn(s, ar.s)) goto nomem;
  if (!note_txn_set(s, "arc_result", res)) goto nomem;
  if (rr == ARC_CV_PASS && !note_txn_set(s, "arc_oldest_pass", num)) goto nomem;
  qlogm(s, LOGDEBUG, PLUGIN, "notes: arc_result \"", res, "\" arc_oldest_pass \"", rr == ARC_CV_PASS ? num : "", "\"");
  if (rr == ARC_CV_NONE) qlog(s, LOGINFO, PLUGIN, "none, no ARC set");
  else {
    char sets[FMT_ULONG];
    sets[fmt_ulong(sets, k->chain.n)] = 0;
    qlogm(s, LOGINFO, PLUGIN, res, ", ", why ? why : "chain valid", ", sets ", st == ARC_OK ? sets : "?",
          rr == ARC_CV_PASS ? ", oldest-pass " : "", rr == ARC_CV_PASS ? num : "");
  }
out:
  stralloc_free(&ar);
  if (k) check_free(k);
  free(k);
  return DECLINED;
nomem:
  stralloc_free(&ar);
  if (k) check_free(k);
  free(k);
  hook_nomem(a->msg);
  return DECLINED;
}

static int arc_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct cfg *c = self;
  const char *r = note_txn_get(s, "arc_result");
  if (!c->reject || !r || !str_equal(r, "fail")) return DECLINED;
  qlog(s, LOGINFO, PLUGIN, "deny, ARC chain failed");
  if (!stralloc_copys(a->msg, "ARC validation failed")) hook_nomem(a->msg);
  return DENY;
}

const struct plugin plugin_arc = {
  .name = PLUGIN,
  .init = arc_init,
  .data_post_headers = arc_data_post_headers,
  .data_post = arc_data_post,
};
