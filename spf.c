/* SPF check_host(), RFC 7208. Pure: DNS comes through struct spf_dns, and
   every record, name and address it returns is hostile. A record is
   checked whole before any term is evaluated (4.6: a syntax error anywhere
   is permerror); the 10-lookup, 2-void, 10-MX and 10-PTR limits of 4.6.4
   bound the work, and a depth limit bounds the recursion. */
#include <arpa/inet.h>
#include <string.h>
#include "spf.h"
#include "spf_macro.h"

#define LOOKUPS_MAX 10          /* 4.6.4 */
#define VOIDS_MAX   2
#define MX_MAX      10
#define PTR_MAX     10
#define DEPTH_MAX   12          /* include/redirect: the lookup limit stops them first */
#define RECORD_MAX  8192        /* octets of one SPF record */
#define EXPAND_MAX  8192        /* a macro expansion before truncation to 253 */
#define SENDER_MAX  1024

struct check {
  const struct spf_dns *dns;
  const struct spf_request *r;
  struct spf_answer *a;
  int v6;
  unsigned char ip[16];         /* IPv4 in the first 4 */
  char ifmt[72], cfmt[48], tfmt[24];
  const char *sender, *local, *sdomain;
  unsigned int voids;
  int depth;
  int includes;                 /* inside an include: no exp= lookups (6.2) */
  int pdone;                    /* %{p}: the validated names, found once */
  unsigned int np;
  char pnames[PTR_MAX][254];
  char pchosen[254];
  const char *d;                /* the current domain, for %{p} */
  stralloc rr;                  /* scratch for one lookup's records */
};

const char *spf_result_name(enum spf_result r)
{
  switch (r) {
  case SPF_NONE: return "none";
  case SPF_NEUTRAL: return "neutral";
  case SPF_PASS: return "pass";
  case SPF_FAIL: return "fail";
  case SPF_SOFTFAIL: return "softfail";
  case SPF_TEMPERROR: return "temperror";
  case SPF_PERMERROR: return "permerror";
  }
  return "permerror";
}

static void setstr(char *dst, size_t size, const char *s, size_t len)
{
  size_t i, k = 0;
  for (i = 0; i < len && k + 1 < size; ++i) {
    unsigned char c = (unsigned char)s[i];
    dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  dst[k] = 0;
}

static enum spf_result why(struct check *c, enum spf_result res, const char *text, const char *detail)
{
  char b[SPF_WHY_MAX];
  size_t tl = strlen(text), dl = detail ? strlen(detail) : 0;
  if (c->a->why[0]) return res;
  if (tl > sizeof b - 1) tl = sizeof b - 1;
  memcpy(b, text, tl);
  if (dl > sizeof b - 1 - tl) dl = sizeof b - 1 - tl;
  if (dl) memcpy(b + tl, detail, dl);
  setstr(c->a->why, sizeof c->a->why, b, tl + dl);
  return res;
}

static int lower(int x)
{
  return x >= 'A' && x <= 'Z' ? x + 32 : x;
}

static int ieq(const char *a, size_t alen, const char *b)
{
  size_t i;
  if (strlen(b) != alen) return 0;
  for (i = 0; i < alen; ++i)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

/* dotted quad, no leading zeros (RFC 7208 ip4-network) */
static int scan_ip4(const char *s, size_t len, unsigned char out[4])
{
  size_t k = 0;
  int part;
  for (part = 0; part < 4; ++part) {
    unsigned int v = 0, nd = 0;
    if (part && (k >= len || s[k++] != '.')) return 0;
    while (k < len && s[k] >= '0' && s[k] <= '9' && nd < 4) { v = v * 10 + (unsigned)(s[k++] - '0'); ++nd; }
    if (!nd || nd > 3 || v > 255 || (nd > 1 && s[k - nd] == '0')) return 0;
    out[part] = (unsigned char)v;
  }
  return k == len;
}

static int scan_ip6(const char *s, size_t len, unsigned char out[16])
{
  char b[64];
  if (!len || len >= sizeof b) return 0;
  memcpy(b, s, len);
  b[len] = 0;
  return inet_pton(AF_INET6, b, out) == 1;
}

/* "1.2.3.4" or "2001:db8::1" from DNS or the caller: 4, 6 or 0 */
static int scan_addr(const char *s, size_t len, unsigned char out[16])
{
  static const unsigned char mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
  if (scan_ip4(s, len, out)) return 4;
  if (!scan_ip6(s, len, out)) return 0;
  if (!memcmp(out, mapped, 12)) { memmove(out, out + 12, 4); return 4; }
  return 6;
}

static int in_net(const unsigned char *ip, const unsigned char *net, unsigned int bits)
{
  unsigned int full = bits / 8, rest = bits % 8;
  if (memcmp(ip, net, full)) return 0;
  if (!rest) return 1;
  return ((ip[full] ^ net[full]) & (0xff00 >> rest) & 0xff) == 0;
}

/* 4.3: labels of 1-63 octets, at most 253 in all, at least two labels.
   strict: letters, digits, '-', '_' (the identities we are given);
   otherwise any printable ASCII or space but '\\' (names made by macros:
   the test suite's "macro%percent  space%20url-space.example.com") */
static int domain_ok(const char *s, size_t len, int strict)
{
  size_t i, label = 0, labels = 0;
  /* the caller has cut one trailing dot: a second is an empty label, and
     len is what it copies into 254 octets */
  if (!len || len > 253) return 0;
  for (i = 0; i < len; ++i) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '.') {
      if (!label) return 0;
      label = 0;
      continue;
    }
    if (strict ? !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
               : ch < 0x20 || ch >= 0x7f || ch == '\\')
      return 0;
    if (!label++) ++labels;
    if (label > 63) return 0;
  }
  if (!label) return 0;
  return labels >= 2 || !strict ? 1 : 0;
}

/* the next record of a lookup's answer: 1 and rec/len, 0 at the end */
static int next_rec(const stralloc *rr, size_t *off, const char **rec, size_t *len)
{
  const char *z;
  if (!rr->s || *off >= rr->len) return 0;
  *rec = rr->s + *off;
  z = memchr(*rec, 0, rr->len - *off);
  *len = z ? (size_t)(z - *rec) : rr->len - *off;
  *off += *len + 1;
  return 1;
}

static int lookup(struct check *c, enum spf_rrtype t, const char *name)
{
  unsigned int n = 0;
  int st;
  c->rr.len = 0;
  if (c->a->queries < 100000) c->a->queries++;
  st = c->dns->lookup(c->dns->ctx, t, name, &c->rr, &n);
  if (st == SPF_DNS_OK && (!n || !c->rr.len)) st = SPF_DNS_NODATA;
  if (st != SPF_DNS_OK) c->rr.len = 0;
  if (st < SPF_DNS_OK || st > SPF_DNS_TEMP) st = SPF_DNS_TEMP;
  return st;
}

/* does an address record list hold the client's address? copies first */
static int rr_has_ip(struct check *c, unsigned int bits4, unsigned int bits6)
{
  size_t off = 0, len;
  const char *rec;
  while (next_rec(&c->rr, &off, &rec, &len)) {
    unsigned char x[16];
    int fam = scan_addr(rec, len, x);
    if (fam == 4 && !c->v6 && in_net(c->ip, x, bits4)) return 1;
    if (fam == 6 && c->v6 && in_net(c->ip, x, bits6)) return 1;
  }
  return 0;
}

/* name is dom or a name under it, case-insensitively */
static int name_is_under(const char *name, const char *dom)
{
  size_t nl = strlen(name), dl = strlen(dom), i;
  while (nl && name[nl - 1] == '.') --nl;
  while (dl && dom[dl - 1] == '.') --dl;
  if (nl < dl) return 0;
  for (i = 0; i < dl; ++i)
    if (lower((unsigned char)name[nl - dl + i]) != lower((unsigned char)dom[i])) return 0;
  return nl == dl || name[nl - dl - 1] == '.';
}

/* the client's PTR names (at most 10) whose address records hold the
   client's address; target: only names at or under it (0: all).
   -1 the PTR lookup failed, else how many validated names went to out */
static int ptr_validated(struct check *c, const char *target, char out[][254], unsigned int max)
{
  char names[PTR_MAX][254];
  unsigned int n = 0, i, got = 0;
  size_t off = 0, len;
  const char *rec;
  char rev[80];
  int st;
  if (c->v6) {
    for (i = 0; i < 16; ++i) {
      rev[4 * i] = "0123456789abcdef"[c->ip[15 - i] & 15];
      rev[4 * i + 1] = '.';
      rev[4 * i + 2] = "0123456789abcdef"[c->ip[15 - i] >> 4];
      rev[4 * i + 3] = '.';
    }
    memcpy(rev + 64, "ip6.arpa", 9);
  } else {
    size_t k = 0;
    for (i = 4; i-- > 0;) {
      unsigned int v = c->ip[i];
      if (v >= 100) rev[k++] = (char)('0' + v / 100);
      if (v >= 10) rev[k++] = (char)('0' + v / 10 % 10);
      rev[k++] = (char)('0' + v % 10);
      rev[k++] = '.';
    }
    memcpy(rev + k, "in-addr.arpa", 13);
  }
  st = lookup(c, SPF_RR_PTR, rev);
  if (st == SPF_DNS_TEMP) return -1;
  if (st != SPF_DNS_OK) return -2;
  while (n < PTR_MAX && next_rec(&c->rr, &off, &rec, &len)) {
    if (len && rec[len - 1] == '.') --len;
    if (!domain_ok(rec, len, 0)) continue;
    memcpy(names[n], rec, len);
    names[n][len] = 0;
    ++n;
  }
  for (i = 0; i < n && got < max; ++i) {
    if (target && !name_is_under(names[i], target)) continue;
    if (lookup(c, c->v6 ? SPF_RR_AAAA : SPF_RR_A, names[i]) != SPF_DNS_OK) continue;
    if (!rr_has_ip(c, 32, 128)) continue;
    memcpy(out[got++], names[i], 254);
  }
  return (int)got;
}

/* %{p} (7.3): a validated name at or under the current domain, else any
   validated name, else "unknown" */
static const char *macro_p(void *ctx)
{
  struct check *c = ctx;
  unsigned int i;
  stralloc keep = c->rr;
  if (!c->pdone) {
    int n;
    c->rr.s = 0; c->rr.len = 0; c->rr.a = 0;
    n = ptr_validated(c, 0, c->pnames, PTR_MAX);
    stralloc_free(&c->rr);
    c->rr = keep;
    c->np = n > 0 ? (unsigned int)n : 0;
    c->pdone = 1;
  }
  for (i = 0; i < c->np; ++i)
    if (c->d && name_is_under(c->pnames[i], c->d)) break;
  if (i == c->np) i = 0;
  if (!c->np) return "unknown";
  memcpy(c->pchosen, c->pnames[i], sizeof c->pchosen);
  return c->pchosen;
}

static void macro_env(struct check *c, struct spf_macro_env *e, const char *domain)
{
  e->s = c->sender;
  e->l = c->local;
  e->o = c->sdomain;
  e->d = domain;
  e->i = c->ifmt;
  e->h = c->r->helo && c->r->helo[0] ? c->r->helo : "unknown";
  e->v = c->v6 ? "ip6" : "in-addr";
  e->c = c->cfmt;
  e->r = c->r->receiver && c->r->receiver[0] ? c->r->receiver : "unknown";
  e->t = c->tfmt;
  e->p = macro_p;
  e->pctx = c;
}

/* a domain-spec (or the current domain) to the name to query, truncated
   from the left to 253 octets (7.3). 1 ok, 0 not a usable name, -1 out of
   memory or too long */
static int target_name(struct check *c, char out[254], const char *spec, size_t len, const char *domain)
{
  struct spf_macro_env e;
  stralloc x = {0};
  size_t n, k = 0;
  int r;
  if (!spec) {
    n = strlen(domain);
    if (n > 253) return 0;
    memcpy(out, domain, n + 1);
    return 1;
  }
  c->d = domain;
  macro_env(c, &e, domain);
  r = spf_macro_expand(&x, spec, len, &e, SPF_MACRO_DOMAIN, EXPAND_MAX);
  if (r != 1) { stralloc_free(&x); return r == 0 ? 0 : -1; }
  n = x.len;
  if (n && x.s[n - 1] == '.') --n;
  while (n - k > 253) {
    const char *dot = memchr(x.s + k, '.', n - k);
    if (!dot) { stralloc_free(&x); return 0; }
    k = (size_t)(dot - x.s) + 1;
  }
  if (!domain_ok(x.s + k, n - k, 0)) { stralloc_free(&x); return 0; }
  memcpy(out, x.s + k, n - k);
  out[n - k] = 0;
  stralloc_free(&x);
  return 1;
}

/* one term of a record, parsed */
enum kind { T_ALL, T_INCLUDE, T_A, T_MX, T_PTR, T_IP4, T_IP6, T_EXISTS, T_REDIRECT, T_EXP, T_UNKNOWN };
struct term {
  enum kind kind;
  char qual;
  const char *spec;             /* domain-spec, 0 when absent */
  size_t speclen;
  unsigned int cidr4, cidr6;
  unsigned char net[16];
};

static int scan_cidr(const char *s, size_t len, unsigned int max, unsigned int *out)
{
  unsigned int v = 0;
  size_t i;
  if (!len || len > 3 || (len > 1 && s[0] == '0')) return 0;
  for (i = 0; i < len; ++i) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > max) return 0;
  *out = v;
  return 1;
}

/* the "/N" or "//N" at the end of s[0..*len): 1 found (and *len cut), 0
   none, -1 malformed */
static int cut_cidr(const char *s, size_t *len, int dbl, unsigned int max, unsigned int *out)
{
  size_t k = *len;
  while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9') --k;
  if (k == 0 || s[k - 1] != '/') return 0;
  if (dbl != (k >= 2 && s[k - 2] == '/')) return 0;
  if (k == *len || !scan_cidr(s + k, *len - k, max, out)) return -1;
  *len = k - 1 - (dbl ? 1 : 0);
  return 1;
}

/* 1 parsed, 0 syntax error */
static int term_parse(const char *s, size_t len, struct term *t)
{
  static const struct { const char *name; enum kind kind; } mechs[] = {
    {"all", T_ALL}, {"include", T_INCLUDE}, {"a", T_A}, {"mx", T_MX}, {"ptr", T_PTR},
    {"ip4", T_IP4}, {"ip6", T_IP6}, {"exists", T_EXISTS},
  };
  size_t k = 0, nl, i;
  memset(t, 0, sizeof *t);
  t->cidr4 = 32;
  t->cidr6 = 128;
  t->qual = '+';
  for (i = 0; i < len; ++i)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
  /* modifier: name "=" macro-string */
  if ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') {
    for (k = 1; k < len; ++k) {
      char ch = s[k];
      if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
        break;
    }
    if (k < len && s[k] == '=') {
      t->spec = s + k + 1;
      t->speclen = len - k - 1;
      if (ieq(s, k, "redirect")) t->kind = T_REDIRECT;
      else if (ieq(s, k, "exp")) t->kind = T_EXP;
      else {
        t->kind = T_UNKNOWN;
        return spf_macro_check(t->spec, t->speclen, SPF_MACRO_DOMAIN);
      }
      return spf_domain_spec_check(t->spec, t->speclen);
    }
  }
  k = 0;
  if (s[0] == '+' || s[0] == '-' || s[0] == '~' || s[0] == '?') t->qual = s[k++];
  nl = k;
  while (nl < len && s[nl] != ':' && s[nl] != '/') ++nl;
  for (i = 0; i < sizeof mechs / sizeof mechs[0]; ++i)
    if (ieq(s + k, nl - k, mechs[i].name)) break;
  if (i == sizeof mechs / sizeof mechs[0]) return 0;
  t->kind = mechs[i].kind;
  s += nl;
  len -= nl;
  switch (t->kind) {
  case T_ALL:
    return len == 0;
  case T_INCLUDE:
  case T_EXISTS:
    if (!len || s[0] != ':') return 0;
    t->spec = s + 1;
    t->speclen = len - 1;
    return spf_domain_spec_check(t->spec, t->speclen);
  case T_PTR:
    if (!len) return 1;
    if (s[0] != ':') return 0;
    t->spec = s + 1;
    t->speclen = len - 1;
    return spf_domain_spec_check(t->spec, t->speclen);
  case T_A:
  case T_MX: {
    size_t l = len;
    if (cut_cidr(s, &l, 1, 128, &t->cidr6) < 0) return 0;
    if (cut_cidr(s, &l, 0, 32, &t->cidr4) < 0) return 0;
    if (!l) return 1;
    if (s[0] != ':') return 0;
    t->spec = s + 1;
    t->speclen = l - 1;
    return spf_domain_spec_check(t->spec, t->speclen);
  }
  case T_IP4: {
    size_t l = len;
    if (!len || s[0] != ':') return 0;
    if (cut_cidr(s, &l, 0, 32, &t->cidr4) < 0) return 0;
    return scan_ip4(s + 1, l - 1, t->net);
  }
  case T_IP6: {
    size_t l = len;
    if (!len || s[0] != ':') return 0;
    if (cut_cidr(s, &l, 0, 128, &t->cidr6) < 0) return 0;
    return scan_ip6(s + 1, l - 1, t->net);
  }
  default:
    return 0;
  }
}

static enum spf_result qual_result(char q)
{
  switch (q) {
  case '-': return SPF_FAIL;
  case '~': return SPF_SOFTFAIL;
  case '?': return SPF_NEUTRAL;
  default: return SPF_PASS;
  }
}

static enum spf_result check_host(struct check *c, const char *domain);

/* 4.6.4: count a DNS-querying term; 0 over the limit */
static int count_lookup(struct check *c)
{
  if (c->a->lookups >= LOOKUPS_MAX) return 0;
  c->a->lookups++;
  return 1;
}

/* a lookup that found nothing: 0 over the void limit */
static int count_void(struct check *c, int st)
{
  if (st != SPF_DNS_NXDOMAIN && st != SPF_DNS_NODATA) return 1;
  return ++c->voids <= VOIDS_MAX;
}

/* 1 match, 0 no match, or -1 - an spf_result to return at once */
#define RET(res) (-1 - (int)(res))
static int mech_eval(struct check *c, const struct term *t, const char *domain)
{
  char target[254];
  int st, r;
  switch (t->kind) {
  case T_ALL:
    return 1;
  case T_IP4:
    return !c->v6 && in_net(c->ip, t->net, t->cidr4);
  case T_IP6:
    return c->v6 && in_net(c->ip, t->net, t->cidr6);
  default:
    break;
  }
  if (!count_lookup(c)) return RET(why(c, SPF_PERMERROR, "more than 10 DNS lookups at ", domain));
  r = target_name(c, target, t->spec, t->speclen, domain);
  if (r < 0) return RET(why(c, SPF_PERMERROR, "macro expansion too long in ", domain));
  if (r == 0) {                 /* a name nobody can hold: nothing there */
    if (t->kind == T_INCLUDE) return RET(why(c, SPF_PERMERROR, "include of an invalid domain at ", domain));
    if (!count_void(c, SPF_DNS_NXDOMAIN)) return RET(why(c, SPF_PERMERROR, "more than 2 void lookups at ", domain));
    return 0;
  }
  switch (t->kind) {
  case T_INCLUDE: {
    enum spf_result ir;
    ++c->depth;
    ++c->includes;
    ir = check_host(c, target);
    --c->includes;
    --c->depth;
    switch (ir) {
    case SPF_PASS: return 1;
    case SPF_FAIL: case SPF_SOFTFAIL: case SPF_NEUTRAL: return 0;
    case SPF_TEMPERROR: return RET(SPF_TEMPERROR);
    case SPF_NONE: return RET(why(c, SPF_PERMERROR, "include of a domain without an SPF record: ", target));
    default: return RET(SPF_PERMERROR);
    }
  }
  case T_A:
  case T_EXISTS:
    st = lookup(c, t->kind == T_EXISTS || !c->v6 ? SPF_RR_A : SPF_RR_AAAA, target);
    if (st == SPF_DNS_TEMP) return RET(why(c, SPF_TEMPERROR, "DNS failure for ", target));
    if (!count_void(c, st)) return RET(why(c, SPF_PERMERROR, "more than 2 void lookups at ", target));
    if (st != SPF_DNS_OK) return 0;
    if (t->kind == T_EXISTS) {   /* any A record at all */
      size_t off = 0, len;
      const char *rec;
      unsigned char x[16];
      while (next_rec(&c->rr, &off, &rec, &len))
        if (scan_addr(rec, len, x) == 4) return 1;
      return 0;
    }
    return rr_has_ip(c, t->cidr4, t->cidr6);
  case T_MX: {
    char hosts[MX_MAX][254];
    unsigned int n = 0, i;
    size_t off = 0, len;
    const char *rec;
    st = lookup(c, SPF_RR_MX, target);
    if (st == SPF_DNS_TEMP) return RET(why(c, SPF_TEMPERROR, "DNS failure for ", target));
    if (!count_void(c, st)) return RET(why(c, SPF_PERMERROR, "more than 2 void lookups at ", target));
    if (st != SPF_DNS_OK) return 0;
    while (next_rec(&c->rr, &off, &rec, &len)) {
      if (n == MX_MAX) return RET(why(c, SPF_PERMERROR, "more than 10 MX names at ", target));
      if (len && rec[len - 1] == '.') --len;
      if (!len || !domain_ok(rec, len, 0)) continue;    /* a null MX, or junk */
      memcpy(hosts[n], rec, len);
      hosts[n++][len] = 0;
    }
    for (i = 0; i < n; ++i) {
      st = lookup(c, c->v6 ? SPF_RR_AAAA : SPF_RR_A, hosts[i]);
      if (st == SPF_DNS_TEMP) return RET(why(c, SPF_TEMPERROR, "DNS failure for ", hosts[i]));
      if (st == SPF_DNS_OK && rr_has_ip(c, t->cidr4, t->cidr6)) return 1;
    }
    return 0;
  }
  case T_PTR: {
    char got[1][254];
    int n = ptr_validated(c, target, got, 1);
    if (n == -2 && !count_void(c, SPF_DNS_NXDOMAIN))
      return RET(why(c, SPF_PERMERROR, "more than 2 void lookups at ", target));
    return n > 0;
  }
  default:
    return 0;
  }
}

/* 6.2: the explanation for a fail; any trouble leaves it empty */
static void explain(struct check *c, const struct term *exp, const char *domain)
{
  char target[254];
  struct spf_macro_env e;
  stralloc x = {0};
  size_t off = 0, len;
  const char *rec;
  unsigned int n = 0;
  c->a->explanation[0] = 0;
  if (target_name(c, target, exp->spec, exp->speclen, domain) != 1) return;
  if (lookup(c, SPF_RR_TXT, target) != SPF_DNS_OK) return;
  while (next_rec(&c->rr, &off, &rec, &len)) ++n;
  if (n != 1) return;
  off = 0;
  next_rec(&c->rr, &off, &rec, &len);
  {
    stralloc t = {0};
    if (!stralloc_copyb(&t, rec, len)) return;
    c->d = domain;
    macro_env(c, &e, domain);
    if (spf_macro_expand(&x, t.s, t.len, &e, SPF_MACRO_EXP, SPF_EXP_MAX - 1) == 1) {
      size_t i;
      for (i = 0; i < x.len; ++i)
        if ((unsigned char)x.s[i] < 0x20 || (unsigned char)x.s[i] > 0x7e) break;
      if (i == x.len) setstr(c->a->explanation, sizeof c->a->explanation, x.s ? x.s : "", x.len);
    }
    stralloc_free(&t);
  }
  stralloc_free(&x);
}

/* 4.5: the one record that starts "v=spf1" */
static enum spf_result record_find(struct check *c, const char *domain, stralloc *rec)
{
  size_t off = 0, len;
  const char *r;
  unsigned int n = 0;
  int st = lookup(c, SPF_RR_TXT, domain);
  if (st == SPF_DNS_TEMP) return why(c, SPF_TEMPERROR, "DNS failure for the SPF record of ", domain);
  if (st != SPF_DNS_OK) return why(c, SPF_NONE, "no SPF record at ", domain);
  while (next_rec(&c->rr, &off, &r, &len)) {
    if (len < 6 || !ieq(r, 6, "v=spf1") || (len > 6 && r[6] != ' ')) continue;
    if (++n > 1) return why(c, SPF_PERMERROR, "more than one SPF record at ", domain);
    if (len > RECORD_MAX) return why(c, SPF_PERMERROR, "SPF record too long at ", domain);
    if (!stralloc_copyb(rec, r + 6, len - 6)) return why(c, SPF_TEMPERROR, "out of memory", 0);
  }
  if (!n) return why(c, SPF_NONE, "no SPF record at ", domain);
  return SPF_PASS;              /* found */
}

static enum spf_result record_eval(struct check *c, const char *domain, const char *s, size_t len)
{
  struct term t, redirect = {0}, exp = {0};
  const char *redir_at = 0, *exp_at = 0;
  int has_all = 0;
  size_t k, b;
  char target[254];
  enum spf_result res;

  /* the whole record first: any syntax error is permerror (4.6) */
  for (k = 0; k < len;) {
    while (k < len && s[k] == ' ') ++k;
    if (k == len) break;
    b = k;
    while (k < len && s[k] != ' ') ++k;
    if (!term_parse(s + b, k - b, &t)) {
      char bad[64];
      setstr(bad, sizeof bad, s + b, k - b);
      return why(c, SPF_PERMERROR, "syntax error in term ", bad);
    }
    if (t.kind == T_REDIRECT) {
      if (redir_at) return why(c, SPF_PERMERROR, "two redirect= at ", domain);
      redir_at = s + b;
      redirect = t;
    } else if (t.kind == T_EXP) {
      if (exp_at) return why(c, SPF_PERMERROR, "two exp= at ", domain);
      exp_at = s + b;
      exp = t;
    } else if (t.kind == T_ALL)
      has_all = 1;
  }
  for (k = 0; k < len;) {
    int m;
    while (k < len && s[k] == ' ') ++k;
    if (k == len) break;
    b = k;
    while (k < len && s[k] != ' ') ++k;
    term_parse(s + b, k - b, &t);
    if (t.kind >= T_REDIRECT) continue;
    m = mech_eval(c, &t, domain);
    if (m < 0) return (enum spf_result)(-1 - m);
    if (!m) continue;
    res = qual_result(t.qual);
    setstr(c->a->mechanism, sizeof c->a->mechanism, s + b, k - b);
    setstr(c->a->domain, sizeof c->a->domain, domain, strlen(domain));
    /* an included record's explanation is never used: not looked up */
    if (res == SPF_FAIL && exp_at && !c->includes) explain(c, &exp, domain);
    return res;
  }
  if (redir_at && !has_all) {   /* 6.1 */
    int r;
    if (!count_lookup(c)) return why(c, SPF_PERMERROR, "more than 10 DNS lookups at ", domain);
    r = target_name(c, target, redirect.spec, redirect.speclen, domain);
    if (r < 0) return why(c, SPF_PERMERROR, "macro expansion too long in ", domain);
    if (r == 0) return why(c, SPF_PERMERROR, "redirect to an invalid domain at ", domain);
    ++c->depth;
    res = check_host(c, target);
    --c->depth;
    if (res == SPF_NONE) return why(c, SPF_PERMERROR, "redirect to a domain without an SPF record: ", target);
    return res;
  }
  strcpy(c->a->mechanism, "default");
  setstr(c->a->domain, sizeof c->a->domain, domain, strlen(domain));
  return SPF_NEUTRAL;
}

static enum spf_result check_host(struct check *c, const char *domain)
{
  stralloc rec = {0};
  enum spf_result res;
  if (c->depth > DEPTH_MAX) return why(c, SPF_PERMERROR, "includes nested too deep at ", domain);
  if (!domain_ok(domain, strlen(domain), 0)) return why(c, SPF_NONE, "not a domain: ", domain);
  res = record_find(c, domain, &rec);
  if (res == SPF_PASS) res = record_eval(c, domain, rec.s ? rec.s : "", rec.len);
  stralloc_free(&rec);
  return res;
}

static enum spf_result start(struct spf_answer *a, const struct spf_dns *dns, const struct spf_request *r,
                             const char *domain, const char *sender, int strict)
{
  struct check c;
  stralloc s = {0};
  const char *at;
  size_t dl, i;
  enum spf_result res;
  int fam;

  memset(a, 0, sizeof *a);
  memset(&c, 0, sizeof c);
  c.dns = dns;
  c.r = r;
  c.a = a;
  fam = r->ip ? scan_addr(r->ip, strlen(r->ip), c.ip) : 0;
  if (!fam) return a->result = why(&c, SPF_PERMERROR, "not an IP address: ", r->ip ? r->ip : "");
  c.v6 = fam == 6;
  if (c.v6) {
    for (i = 0; i < 16; ++i) {
      c.ifmt[4 * i] = "0123456789abcdef"[c.ip[i] >> 4];
      c.ifmt[4 * i + 1] = '.';
      c.ifmt[4 * i + 2] = "0123456789abcdef"[c.ip[i] & 15];
      c.ifmt[4 * i + 3] = '.';
    }
    c.ifmt[63] = 0;
    inet_ntop(AF_INET6, c.ip, c.cfmt, sizeof c.cfmt);
  } else {
    inet_ntop(AF_INET, c.ip, c.ifmt, sizeof c.ifmt);
    memcpy(c.cfmt, c.ifmt, sizeof c.cfmt);
  }
  {
    unsigned long long t = r->now > 0 ? (unsigned long long)r->now : 0;
    char d[24];
    size_t k = 0;
    do { d[k++] = (char)('0' + t % 10); t /= 10; } while (t && k < sizeof d);
    for (i = 0; i < k; ++i) c.tfmt[i] = d[k - 1 - i];
    c.tfmt[k] = 0;
  }
  dl = strlen(domain);
  if (dl && domain[dl - 1] == '.') --dl;
  if (!domain_ok(domain, dl, strict)) {
    res = why(&c, SPF_NONE, "not a domain: ", domain);
    goto done;
  }
  /* sender: local-part@domain, an empty local-part is "postmaster" (4.3) */
  if (strlen(sender) > SENDER_MAX) { res = why(&c, SPF_NONE, "sender too long", 0); goto done; }
  at = strrchr(sender, '@');
  if (!at || at == sender) {
    if (!stralloc_copys(&s, "postmaster") || !stralloc_0(&s) ||
        !stralloc_cats(&s, at ? at + 1 : sender) || !stralloc_0(&s)) goto nomem;
  } else {
    if (!stralloc_copyb(&s, sender, (size_t)(at - sender)) || !stralloc_0(&s) ||
        !stralloc_cats(&s, at + 1) || !stralloc_0(&s)) goto nomem;
  }
  {
    size_t ll = strlen(s.s);
    stralloc full = {0};
    /* s.s: local \0 domain \0; then local@domain */
    if (!stralloc_copyb(&full, s.s, ll) || !stralloc_append(&full, "@") ||
        !stralloc_cats(&full, s.s + ll + 1) || !stralloc_0(&full)) { stralloc_free(&full); goto nomem; }
    if (!stralloc_catb(&s, full.s, full.len)) { stralloc_free(&full); goto nomem; }
    stralloc_free(&full);
    c.local = s.s;
    c.sdomain = s.s + ll + 1;
    c.sender = c.sdomain + strlen(c.sdomain) + 1;
  }
  {
    char dom[254];
    memcpy(dom, domain, dl);
    dom[dl] = 0;
    res = check_host(&c, dom);
  }
  goto done;
nomem:
  res = why(&c, SPF_TEMPERROR, "out of memory", 0);
done:
  if (res != SPF_FAIL) a->explanation[0] = 0;
  if (res != SPF_TEMPERROR && res != SPF_PERMERROR && res != SPF_NONE) a->why[0] = 0;
  if (res == SPF_TEMPERROR || res == SPF_PERMERROR || res == SPF_NONE) a->mechanism[0] = 0;
  stralloc_free(&s);
  stralloc_free(&c.rr);
  return a->result = res;
}

enum spf_result spf_check_host(struct spf_answer *a, const struct spf_dns *dns,
                               const struct spf_request *r, const char *domain, const char *sender)
{
  return start(a, dns, r, domain, sender, 0);
}

enum spf_result spf_check_mailfrom(struct spf_answer *a, const struct spf_dns *dns,
                                   const struct spf_request *r, const char *mailfrom)
{
  const char *at;
  if (!mailfrom[0]) return spf_check_helo(a, dns, r);
  at = strrchr(mailfrom, '@');
  return start(a, dns, r, at ? at + 1 : mailfrom, mailfrom, 1);
}

enum spf_result spf_check_helo(struct spf_answer *a, const struct spf_dns *dns, const struct spf_request *r)
{
  const char *h = r->helo ? r->helo : "";
  stralloc s = {0};
  enum spf_result res;
  if (!stralloc_copys(&s, "postmaster@") || !stralloc_cats(&s, h) || !stralloc_0(&s)) {
    memset(a, 0, sizeof *a);
    strcpy(a->why, "out of memory");
    return a->result = SPF_TEMPERROR;
  }
  res = start(a, dns, r, h, s.s, 1);
  stralloc_free(&s);
  return res;
}
