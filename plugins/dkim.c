/* dkim: verifies the DKIM signatures of a message and signs relay
   clients' mail, as Perl qpsmtpd's plugins/dkim (dkim.c does the RFC
   6376/8301/8463 work).

   Verifying (data_post_headers, so that the results are in the
   Authentication-Results field the core adds next): every DKIM-Signature
   of the client's header section, up to MAXSIGS, gets pass, fail,
   neutral, policy, temperror or permerror: one A-R entry each ("dkim=none"
   for an unsigned message), a log line, and the transaction notes the
   dmarc plugin reads:
     dkim_pass_domains  the d= of each passing signature, lower case,
                        space separated ("" when none)
     dkim_results       one line per signature: "RESULT d=D s=S a=A"
   A signature whose l= leaves body octets unsigned is said so in the log
   and in an A-R comment. Keys are TXT records at S._domainkey.D, looked up
   in parallel under one deadline; no answer in time is temperror.
   Relay clients and immune clients (whitelists) are not checked.

   The verdict (data_post: the core ignores data_post_headers' code): a
   message with signatures of which none passes and one failed is refused
   per reject/reject_type ("DKIM signature invalid: ..."); with only
   temperrors and reject 1, 451 "Please try again later - ...".

   Signing (data_post): for relay clients (AUTH makes one), with the key
   of the From domain (else the sender's), found as Perl does under the
   control directories: dkim/DOMAIN/private (PEM RSA key) and
   dkim/DOMAIN/selector; a parent domain's directory serves its
   subdomains; a symlinked directory signs as the domain it points to.
   rsa-sha256, relaxed/relaxed, the header fields Mail::DKIM signs; the
   DKIM-Signature goes above every other field.

   Arguments: reject 0|1|naughty (1), reject_type perm|temp|... (perm),
   timeout SECONDS for the key lookups (10). */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "base64.h"
#include "dkim.h"
#include "tls_pem.h"

#define PLUGIN "dkim"
#define MAXSIGS 8
#define HDR_CAP (512 * 1024)

struct cfg {
  struct reject rej;
  unsigned long timeout;
};

static int dkim_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct cfg *c = calloc(1, sizeof *c);
  int i;
  if (!c) return arg_error(err, "out of memory", 0);
  c->rej.mode = REJECT_YES;
  c->timeout = 10;
  for (i = 0; i < argc; i += 2) {
    int r;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", argv[i]);
    r = reject_arg(&c->rej, argv[i], argv[i + 1], err);
    if (r < 0) return 0;
    if (r) continue;
    if (str_equal(argv[i], "timeout")) {
      size_t n = scan_ulong(argv[i + 1], &c->timeout);
      if (!n || argv[i + 1][n] || !c->timeout || c->timeout > 300)
        return arg_error(err, "timeout takes seconds (1-300), not ", argv[i + 1]);
    } else
      return arg_error(err, "unknown argument ", argv[i]);
  }
  *self = c;
  return 1;
}

/* ---- reading the message ---- */

struct sigst {
  struct dkim_sig sig;
  int ok;                       /* parsed */
  enum dkim_result res;
  const char *why;
  struct dkim_body body;
  unsigned char bh[32];
  stralloc fieldcopy;           /* the field, kept while the header buffer moves */
};

struct reader {
  stralloc hdr;
  int in_body;
  int toolarge;
  int start;                    /* at the start of a line */
  struct sigst *sigs;
  unsigned int nsigs, skipped;
  struct dkim_field *f;
  unsigned int nf;
  int nomem;
  /* signing: one relaxed body */
  int signing;
  struct dkim_body sbody;
};

static int is_sigfield(const char *x, const struct dkim_field *f)
{
  return f->namelen == 14 && !case_diffb(x + f->off, 14, "DKIM-Signature");
}

/* the header section is complete: the signatures, their body states */
static int header_done(struct reader *r)
{
  unsigned int i;
  unsigned long long now = (unsigned long long)time(0);
  if (!dkim_fields(r->hdr.s, r->hdr.len, &r->f, &r->nf)) { r->nomem = 1; return -1; }
  if (r->signing) { dkim_body_init(&r->sbody, 1, 0, 0); return 0; }
  for (i = 0; i < r->nf; ++i) {
    struct sigst *g;
    if (!is_sigfield(r->hdr.s, &r->f[i])) continue;
    if (r->nsigs == MAXSIGS) { ++r->skipped; continue; }
    g = &r->sigs[r->nsigs++];
    if (!stralloc_copyb(&g->fieldcopy, r->hdr.s + r->f[i].off, r->f[i].len)) { r->nomem = 1; return -1; }
    g->ok = dkim_sig_parse(&g->sig, g->fieldcopy.s, g->fieldcopy.len, now, &g->why);
    if (!g->ok) g->res = DKIM_PERMERROR;
    else if (g->sig.alg == DKIM_RSA_SHA1) {
      g->ok = 0; g->res = DKIM_PERMERROR; g->why = "rsa-sha1 is not valid (RFC 8301)";
    } else
      dkim_body_init(&g->body, g->sig.brelaxed, g->sig.has_l, g->sig.l);
  }
  return 0;
}

static void body_feed(struct reader *r, const char *x, size_t len)
{
  unsigned int i;
  if (r->signing) { dkim_body_update(&r->sbody, x, len); return; }
  for (i = 0; i < r->nsigs; ++i) if (r->sigs[i].ok) dkim_body_update(&r->sigs[i].body, x, len);
}

/* txn_each's callback: the header section into hdr, the body through the
   canonicalizers */
static int read_chunk(void *ctx, const char *buf, size_t len)
{
  struct reader *r = ctx;
  size_t i = 0;
  while (!r->in_body && i < len) {
    const char *e;
    size_t n;
    if (r->start && buf[i] == '\n') {       /* the empty line: the body follows */
      r->in_body = 1;
      ++i;
      if (header_done(r) < 0) return -1;
      break;
    }
    e = memchr(buf + i, '\n', len - i);
    n = e ? (size_t)(e - (buf + i)) + 1 : len - i;
    if (r->hdr.len + n > HDR_CAP) { r->toolarge = 1; return -1; }
    if (!stralloc_catb(&r->hdr, buf + i, n)) { r->nomem = 1; return -1; }
    r->start = e != 0;
    i += n;
  }
  if (r->in_body && i < len) body_feed(r, buf + i, len - i);
  return 0;
}

static void reader_free(struct reader *r)
{
  unsigned int i;
  for (i = 0; r->sigs && i < MAXSIGS; ++i) stralloc_free(&r->sigs[i].fieldcopy);
  free(r->sigs);
  free(r->f);
  stralloc_free(&r->hdr);
}

/* 0 ok, -1 out of memory, -2 header section too large, -3 spool error */
static int reader_run(struct session *s, struct reader *r, int client)
{
  r->start = 1;
  if (!r->signing && !(r->sigs = calloc(MAXSIGS, sizeof *r->sigs))) return -1;
  if ((client ? txn_each_client(s, read_chunk, r) : txn_each(s, read_chunk, r)) == -1) {
    if (r->nomem) return -1;
    if (r->toolarge) return -2;
    return -3;
  }
  if (!r->in_body && header_done(r) < 0) return -1;   /* no body at all */
  return 0;
}

/* ---- verifying ---- */

/* the verdict of data_post_headers for data_post */
static struct { int set, fail, temp; stralloc why; } verdict;

/* printable, no white space, no A-R specials */
static int safe(const char *x)
{
  if (!*x) return 0;
  for (; *x; ++x)
    if ((unsigned char)*x <= ' ' || (unsigned char)*x >= 0x7f || strchr(";()\"\\", *x)) return 0;
  return 1;
}

static int cat_num(stralloc *sa, unsigned long long u)
{
  char num[40] = { 0 };
  size_t n = fmt_ulonglong(num, u);
  return stralloc_catb(sa, num, n);
}

/* l= that leaves body octets unsigned: how many, else 0 */
static unsigned long long unsigned_tail(const struct sigst *g)
{
  if (!g->ok || !g->sig.has_l || g->body.total <= g->sig.l) return 0;
  return g->body.total - g->sig.l;
}

static void verify_keys(struct session *s, struct cfg *c, struct reader *r)
{
  struct dns_query q[MAXSIGS];
  unsigned int i, nq = 0, qi[MAXSIGS];
  memset(q, 0, sizeof q);
  for (i = 0; i < r->nsigs; ++i) {
    struct sigst *g = &r->sigs[i];
    stralloc name = {0};
    int set;
    if (!g->ok) continue;
    if (g->sig.has_l && g->body.total < g->sig.l) {
      g->ok = 0; g->res = DKIM_PERMERROR; g->why = "l= is longer than the body"; continue;
    }
    if (g->sig.bhlen != 32 || memcmp(g->bh, g->sig.bh, 32)) {
      g->ok = 0; g->res = DKIM_FAIL; g->why = "body hash did not verify"; continue;
    }
    if (!stralloc_copys(&name, g->sig.s) || !stralloc_cats(&name, "._domainkey.")
        || !stralloc_cats(&name, g->sig.d)) {
      stralloc_free(&name); g->ok = 0; g->res = DKIM_TEMPERROR; g->why = "out of memory"; continue;
    }
    set = dns_query_set(&q[nq], name.s, name.len, DNSQ_TXT);
    stralloc_free(&name);
    if (set <= 0) {
      g->ok = 0;
      g->res = set < 0 ? DKIM_TEMPERROR : DKIM_PERMERROR;
      g->why = set < 0 ? "out of memory" : "no key: s= and d= do not make a DNS name";
      dns_query_free(&q[nq]);
      continue;
    }
    qi[nq++] = i;
  }
  if (nq) dns_run(s, q, nq, (unsigned int)c->timeout);
  for (i = 0; i < nq; ++i) {
    struct sigst *g = &r->sigs[qi[i]];
    if (q[i].status == DNS_TEMP || q[i].status == DNS_PENDING) {
      g->res = DKIM_TEMPERROR; g->why = "key lookup failed or timed out";
    } else if (q[i].status != DNS_OK || !q[i].n) {
      g->res = DKIM_PERMERROR; g->why = "no key for signature";
    } else {
      struct dkim_key k;
      unsigned char hh[32];
      const char *why = 0, *rec = q[i].rr.s;
      unsigned int j;
      int got = 0;
      for (j = 0; j < q[i].n && !got; ++j) {     /* the first record that is a key */
        got = dkim_key_parse(rec, strlen(rec), &k, &why);
        rec += strlen(rec) + 1;
      }
      if (!got) { g->res = DKIM_PERMERROR; g->why = why; }
      else if (!dkim_header_hash(r->hdr.s, r->f, r->nf, &g->sig, hh)) {
        g->res = DKIM_TEMPERROR; g->why = "out of memory";
      } else
        g->res = dkim_verify(&g->sig, &k, hh, &g->why);
    }
    dns_query_free(&q[i]);
    stralloc_free(&q[i].name);
    stralloc_free(&q[i].rr);
  }
}

/* A-R, notes, log: 0 out of memory */
static int report(struct session *s, struct reader *r)
{
  stralloc ar = {0}, pass = {0}, res = {0}, log = {0};
  unsigned int i;
  int ok = 0;
  verdict.set = 1;
  verdict.fail = verdict.temp = 0;
  verdict.why.len = 0;
  for (i = 0; i < r->nsigs; ++i) {
    struct sigst *g = &r->sigs[i];
    const char *rn = dkim_result_name[g->res];
    const char *d = safe(g->sig.d) ? g->sig.d : 0, *sel = safe(g->sig.s) ? g->sig.s : 0;
    const char *a = safe(g->sig.a) ? g->sig.a : 0;
    unsigned long long tail = g->res == DKIM_PASS ? unsigned_tail(g) : 0;
    ar.len = 0;
    log.len = 0;
    if (!stralloc_copys(&ar, "dkim=") || !stralloc_cats(&ar, rn)) goto out;
    if (g->res != DKIM_PASS && g->why
        && (!stralloc_cats(&ar, " (") || !stralloc_cats(&ar, g->why) || !stralloc_cats(&ar, ")"))) goto out;
    if (tail && (!stralloc_cats(&ar, " (l= leaves ") || !cat_num(&ar, tail)
                 || !stralloc_cats(&ar, " body octets unsigned)"))) goto out;
    if (d && (!stralloc_cats(&ar, " header.d=") || !stralloc_cats(&ar, d))) goto out;
    if (sel && (!stralloc_cats(&ar, " header.s=") || !stralloc_cats(&ar, sel))) goto out;
    if (a && (!stralloc_cats(&ar, " header.a=") || !stralloc_cats(&ar, a))) goto out;
    if (!stralloc_0(&ar) || !authres_add_txn(s, ar.s)) goto out;
    /* the note: "result d=... s=... a=..." */
    if (res.len && !stralloc_append(&res, "\n")) goto out;
    if (!stralloc_cats(&res, rn) || !stralloc_cats(&res, " d=") || !stralloc_cats(&res, d ? d : "")
        || !stralloc_cats(&res, " s=") || !stralloc_cats(&res, sel ? sel : "")
        || !stralloc_cats(&res, " a=") || !stralloc_cats(&res, a ? a : "")) goto out;
    if (g->res == DKIM_PASS && d) {
      /* each domain once */
      size_t dl = strlen(d), p = 0;
      int seen = 0;
      while (p < pass.len) {
        size_t e = p;
        while (e < pass.len && pass.s[e] != ' ') ++e;
        if (e - p == dl && !memcmp(pass.s + p, d, dl)) seen = 1;
        p = e + 1;
      }
      if (!seen && ((pass.len && !stralloc_append(&pass, " ")) || !stralloc_cats(&pass, d))) goto out;
    }
    if (g->res == DKIM_FAIL) verdict.fail = 1;
    if (g->res == DKIM_TEMPERROR) verdict.temp = 1;
    if (g->res != DKIM_PASS && !verdict.why.len
        && (!stralloc_cats(&verdict.why, rn) || !stralloc_cats(&verdict.why, " (")
            || !stralloc_cats(&verdict.why, g->why ? g->why : "") || !stralloc_cats(&verdict.why, ")"))) goto out;
    if (!stralloc_copys(&log, rn) || !stralloc_cats(&log, ", ")) goto out;
    if (g->why && g->res != DKIM_PASS && (!stralloc_cats(&log, g->why) || !stralloc_cats(&log, ", "))) goto out;
    if (tail && (!stralloc_cats(&log, "l= leaves ") || !cat_num(&log, tail)
                 || !stralloc_cats(&log, " body octets unsigned, "))) goto out;
    if (!stralloc_cats(&log, "d=") || !stralloc_cats(&log, g->sig.d) || !stralloc_cats(&log, " s=")
        || !stralloc_cats(&log, g->sig.s) || !stralloc_cats(&log, " a=") || !stralloc_cats(&log, g->sig.a)
        || !stralloc_0(&log)) goto out;
    qlog(s, LOGINFO, PLUGIN, log.s);
  }
  for (i = 0; i < r->nsigs; ++i) if (r->sigs[i].res == DKIM_PASS) { verdict.fail = verdict.temp = 0; break; }
  if (r->skipped) {
    log.len = 0;
    if (!stralloc_copys(&log, "skipped ") || !cat_num(&log, r->skipped)
        || !stralloc_cats(&log, " signatures past the first 8") || !stralloc_0(&log)) goto out;
    qlog(s, LOGINFO, PLUGIN, log.s);
  }
  if (!r->nsigs) {
    qlog(s, LOGINFO, PLUGIN, "none, no signature");
    if (!authres_add_txn(s, "dkim=none")) goto out;
  }
  if (!stralloc_0(&pass) || !stralloc_0(&res) || !stralloc_0(&verdict.why)
      || !note_txn_set(s, "dkim_pass_domains", pass.s) || !note_txn_set(s, "dkim_results", res.s)) goto out;
  qlogm(s, LOGDEBUG, PLUGIN, "notes: dkim_pass_domains \"", pass.s, "\" dkim_results \"", res.s, "\"");
  if (pass.len > 1) karma_adjust(s, 1);
  else if (verdict.fail) karma_adjust(s, -1);
  ok = 1;
out:
  stralloc_free(&ar);
  stralloc_free(&pass);
  stralloc_free(&res);
  stralloc_free(&log);
  return ok;
}

static int dkim_data_post_headers(struct session *s, void *self, struct msg_args *a)
{
  struct cfg *c = self;
  struct reader r;
  unsigned int i;
  int rr;
  verdict.set = 0;
  if (session_relay_client(s)) return DECLINED;     /* signed at data_post */
  if (session_immune(s, PLUGIN)) return DECLINED;
  memset(&r, 0, sizeof r);
  rr = reader_run(s, &r, 1);
  if (rr == -2) qlog(s, LOGWARN, PLUGIN, "skip, header section too large");
  else if (rr == -3) qlog(s, LOGERROR, PLUGIN, "skip, cannot read the spool");
  if (rr == -1) goto nomem;
  if (rr < 0) goto out;
  for (i = 0; i < r.nsigs; ++i) if (r.sigs[i].ok) dkim_body_final(&r.sigs[i].body, r.sigs[i].bh);
  verify_keys(s, c, &r);
  if (!report(s, &r)) goto nomem;
out:
  reader_free(&r);
  return DECLINED;
nomem:
  reader_free(&r);
  verdict.set = 0;
  hook_nomem(a->msg);
  return DECLINED;
}

/* ---- signing ---- */

/* the domain of the From field's address (the last '@' in the first
   <...>, else in the value), lower case, into d; 1 found */
static int from_domain(const char *v, size_t len, char *d, size_t dsz)
{
  const char *lt = memchr(v, '<', len), *e = v + len, *at = 0, *p;
  size_t n = 0;
  if (lt) { const char *gt = memchr(lt, '>', (size_t)(e - lt)); if (gt) { v = lt + 1; e = gt; } }
  for (p = v; p < e; ++p) if (*p == '@') at = p;
  if (!at) return 0;
  for (p = at + 1; p < e && *p != '>' && *p != ' ' && *p != '\t' && *p != ',' && *p != ';' && *p != '\n'; ++p) {
    if (n + 1 >= dsz) return 0;
    d[n++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
  }
  d[n] = 0;
  return n && dns_name_ok(d, n);
}

/* Mail::DKIM::Signer's default list (and RFC 6376 5.4.1's advice) */
static const char *const signed_fields[] = {
  "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc", "mime-version",
  "content-type", "content-transfer-encoding", "content-id", "content-description",
  "resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-message-id",
  "in-reply-to", "references", "list-id", "list-help", "list-unsubscribe", "list-subscribe",
  "list-post", "list-owner", "list-archive", 0
};

/* reads a key file whole into out, sized once from fstat so that no
   realloc leaves a copy of the key behind: 1, 0 missing; dies on a bad
   file */
static int read_secret(struct session *s, const char *name, stralloc *out)
{
  stralloc path = {0};
  struct stat st;
  size_t cap;
  int fd, r = control_open(s, name, &path, &fd);
  if (r < 0) die_control_at(s, 0, 0, 0, name, strerror(errno));
  stralloc_free(&path);
  if (!r) return 0;
  if (fstat(fd, &st) == -1) { close(fd); die_control_at(s, 0, 0, 0, name, strerror(errno)); }
  if (st.st_size < 0 || st.st_size > TLS_PEM_MAXOBJ * 2) { close(fd); die_control_at(s, 0, 0, 0, name, "key file too large"); }
  cap = (size_t)st.st_size + 1;
  if (!stralloc_ready(out, cap)) { close(fd); die_nomem(s); }
  out->len = 0;
  for (;;) {
    ssize_t n = read(fd, out->s + out->len, cap - out->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { close(fd); wipe(out->s, out->len); die_control_at(s, 0, 0, 0, name, strerror(errno)); }
    if (!n) break;
    out->len += (size_t)n;
    if (out->len == cap) { close(fd); wipe(out->s, out->len); die_control_at(s, 0, 0, 0, name, "key file changed while read"); }
  }
  close(fd);
  return 1;
}

/* the key directory for dom: dom's own or a parent's (Perl's get_keydir);
   the signing domain into d (a symlinked directory's target name) */
static int find_keydir(struct session *s, const char *dom, char *d, size_t dsz, stralloc *dir)
{
  const char *p = dom;
  stralloc path = {0}, name = {0};
  int fd = -1;
  while (p) {
    if (!stralloc_copys(&name, "dkim/") || !stralloc_cats(&name, p) || !stralloc_cats(&name, "/selector")
        || !stralloc_0(&name)) die_nomem(s);
    if (control_open(s, name.s, &path, &fd) == 1) break;
    p = strchr(p, '.');
    if (p) { ++p; if (!strchr(p, '.')) p = 0; }       /* not the top-level domain */
  }
  stralloc_free(&name);
  if (!p) { stralloc_free(&path); return 0; }
  close(fd);
  /* path: DIR/dkim/DOM/selector; a symlinked DOM signs as its target */
  path.len -= sizeof "/selector";
  if (!stralloc_copys(dir, p) || !stralloc_0(dir) || !stralloc_0(&path)) die_nomem(s);
  {
    char link[256];
    ssize_t n = readlink(path.s, link, sizeof link - 1);
    const char *base;
    if (n > 0) {
      link[n] = 0;
      while (n > 1 && link[n - 1] == '/') link[--n] = 0;
      base = strrchr(link, '/');
      base = base ? base + 1 : link;
      p = base;
    }
    if (strlen(p) >= dsz || !dns_name_ok(p, strlen(p))) { stralloc_free(&path); return 0; }
    {
      size_t i;
      for (i = 0; p[i]; ++i) d[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
      d[i] = 0;
    }
  }
  stralloc_free(&path);
  return 1;
}

static int b64_cat(stralloc *sa, const unsigned char *x, size_t n)
{
  size_t i;
  for (i = 0; i < n; i += 3) {
    unsigned long v = (unsigned long)x[i] << 16;
    char o[4];
    if (i + 1 < n) v |= (unsigned long)x[i + 1] << 8;
    if (i + 2 < n) v |= x[i + 2];
    o[0] = base64_digits[v >> 18 & 63];
    o[1] = base64_digits[v >> 12 & 63];
    o[2] = i + 1 < n ? base64_digits[v >> 6 & 63] : '=';
    o[3] = i + 2 < n ? base64_digits[v & 63] : '=';
    if (!stralloc_catb(sa, o, 4)) return 0;
  }
  return 1;
}

static int dkim_data_post_sign(struct session *s, struct msg_args *a)
{
  char dom[DKIM_MAXNAME + 1], d[DKIM_MAXNAME + 1];
  stralloc v = {0}, dir = {0}, name = {0}, sel = {0}, pem = {0}, value = {0}, field = {0}, hnames = {0};
  struct tls_key key;
  struct reader r;
  struct dkim_sig sig;
  unsigned char bh[32], hh[32], sigbuf[512];
  unsigned int i, j;
  int rc = DECLINED, haskey = 0;
  size_t siglen;

  memset(&r, 0, sizeof r);
  memset(&key, 0, sizeof key);
  if (!(txn_header_get(s, "From", &v) == 1 && from_domain(v.s, v.len, dom, sizeof dom))) {
    const char *snd = txn_sender(s), *at = snd ? strrchr(snd, '@') : 0;
    if (!at || !from_domain(at, strlen(at), dom, sizeof dom)) {
      qlog(s, LOGINFO, PLUGIN, "skip, no domain to sign for");
      goto out;
    }
  }
  if (!find_keydir(s, dom, d, sizeof d, &dir)) {
    qlogm(s, LOGINFO, PLUGIN, "skip, no key for ", dom);
    goto out;
  }
  if (!stralloc_copys(&name, "dkim/") || !stralloc_cats(&name, dir.s) || !stralloc_cats(&name, "/selector")
      || !stralloc_0(&name)) goto nomem;
  if (!control_readline(s, name.s, &sel) || sel.len <= 1 || !dns_name_ok(sel.s, sel.len - 1))
    die_control_at(s, 0, 0, 0, name.s, "not a selector");
  if (!stralloc_copys(&name, "dkim/") || !stralloc_cats(&name, dir.s) || !stralloc_cats(&name, "/private")
      || !stralloc_0(&name)) goto nomem;
  if (!read_secret(s, name.s, &pem)) {
    qlogm(s, LOGINFO, PLUGIN, "skip, no private key for ", d);
    goto out;
  }
  {
    const char *err;
    int ok = tls_pem_key(pem.s, pem.len, &key, &err);
    wipe(pem.s, pem.len);
    stralloc_free(&pem);
    if (!ok) die_control_at(s, 0, 0, 0, name.s, err);
    haskey = 1;
    if (key.type != BR_KEYTYPE_RSA) { tls_key_wipe(&key); die_control_at(s, 0, 0, 0, name.s, "not an RSA key"); }
    if (br_skey_decoder_get_rsa(&key.dc)->n_bitlen < 1024) {
      tls_key_wipe(&key); die_control_at(s, 0, 0, 0, name.s, "RSA key shorter than 1024 bits (RFC 8301)");
    }
  }

  r.signing = 1;
  i = (unsigned int)reader_run(s, &r, 0);
  if ((int)i == -1) goto nomem;
  if ((int)i < 0) { qlog(s, LOGERROR, PLUGIN, "skip, cannot read the message"); goto out; }
  dkim_body_final(&r.sbody, bh);

  /* h=: each listed field as often as it occurs */
  for (j = 0; signed_fields[j]; ++j) {
    size_t l = strlen(signed_fields[j]);
    for (i = 0; i < r.nf; ++i)
      if (r.f[i].namelen == l && !case_diffb(r.hdr.s + r.f[i].off, l, signed_fields[j]))
        if ((hnames.len && !stralloc_append(&hnames, ":")) || !stralloc_cats(&hnames, signed_fields[j])) goto nomem;
  }
  if (!hnames.len && !stralloc_cats(&hnames, "from")) goto nomem;
  if (!stralloc_copys(&value, "v=1; a=rsa-sha256; c=relaxed/relaxed; d=") || !stralloc_cats(&value, d)
      || !stralloc_cats(&value, "; s=") || !stralloc_catb(&value, sel.s, sel.len - 1)
      || !stralloc_cats(&value, ";\n\tt=") || !cat_num(&value, (unsigned long long)time(0))
      || !stralloc_cats(&value, "; bh=") || !b64_cat(&value, bh, 32)
      || !stralloc_cats(&value, ";\n\th=")) goto nomem;
  for (i = 0, j = 0; i < hnames.len; ++i) {      /* fold h= at 70 columns */
    if (!stralloc_append(&value, &hnames.s[i])) goto nomem;
    if (hnames.s[i] == ':' && ++j % 6 == 0 && !stralloc_cats(&value, "\n\t  ")) goto nomem;
  }
  if (!stralloc_cats(&value, ";\n\tb=")) goto nomem;
  if (!stralloc_copys(&field, "DKIM-Signature: ") || !stralloc_cat(&field, &value) || !stralloc_append(&field, "\n"))
    goto nomem;
  /* the parser refuses an empty b=: what the hash needs, by hand */
  memset(&sig, 0, sizeof sig);
  sig.field = field.s;
  sig.fieldlen = field.len;
  sig.hrelaxed = 1;
  sig.h = 0;
  {
    const char *hp = strstr(field.s, "\th=");      /* not bh= */
    if (hp) ++hp;
    const char *he = hp ? strchr(hp, ';') : 0;
    if (!hp || !he) goto nomem;
    sig.h = (size_t)(hp + 2 - field.s);
    sig.hlen = (size_t)(he - hp - 2);
  }
  sig.bval = field.len - 1;                      /* b= is last and empty */
  sig.bvallen = 0;
  if (!dkim_header_hash(r.hdr.s, r.f, r.nf, &sig, hh)) goto nomem;
  siglen = (br_skey_decoder_get_rsa(&key.dc)->n_bitlen + 7) / 8;
  if (siglen > sizeof sigbuf
      || !br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hh, 32, br_skey_decoder_get_rsa(&key.dc), sigbuf)) {
    qlog(s, LOGERROR, PLUGIN, "signing failed");
    goto out;
  }
  {
    stralloc b = {0};
    if (!b64_cat(&b, sigbuf, siglen)) goto nomem;
    for (i = 0; i < b.len; ++i) {
      if (i && i % 72 == 0 && !stralloc_cats(&value, "\n\t  ")) { stralloc_free(&b); goto nomem; }
      if (!stralloc_append(&value, &b.s[i])) { stralloc_free(&b); goto nomem; }
    }
    stralloc_free(&b);
  }
  if (!stralloc_0(&value) || !txn_add_header_top(s, "DKIM-Signature", value.s)) goto nomem;
  qlogm(s, LOGINFO, PLUGIN, "signed, d=", d, " s=", sel.s);
  goto out;
nomem:
  hook_nomem(a->msg);
  rc = DENYSOFT;
out:
  if (haskey) tls_key_wipe(&key);
  wipe(sigbuf, sizeof sigbuf);
  reader_free(&r);
  stralloc_free(&v);
  stralloc_free(&dir);
  stralloc_free(&name);
  stralloc_free(&sel);
  stralloc_free(&value);
  stralloc_free(&field);
  stralloc_free(&hnames);
  return rc;
}

static int dkim_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct cfg *c = self;
  int set = verdict.set;
  verdict.set = 0;
  if (session_relay_client(s)) return dkim_data_post_sign(s, a);
  if (!set) return DECLINED;
  if (verdict.fail) {
    stralloc t = {0};
    int rc;
    if (!stralloc_copys(&t, "DKIM signature invalid: ") || !stralloc_cats(&t, verdict.why.s) || !stralloc_0(&t)) {
      stralloc_free(&t);
      hook_nomem(a->msg);
      return DENYSOFT;
    }
    rc = reject_get(s, &c->rej, DENY, PLUGIN, t.s, "no valid signature", a->msg);
    stralloc_free(&t);
    return rc;
  }
  if (verdict.temp && c->rej.mode == REJECT_YES) {
    qlogm(s, LOGINFO, PLUGIN, "defer, ", verdict.why.s);
    if (!stralloc_copys(a->msg, "Please try again later - ") || !stralloc_cats(a->msg, verdict.why.s)) {
      hook_nomem(a->msg);
    }
    return DENYSOFT;
  }
  return DECLINED;
}

const struct plugin plugin_dkim = {
  .name = PLUGIN,
  .init = dkim_init,
  .data_post_headers = dkim_data_post_headers,
  .data_post = dkim_data_post,
};
