/* DMARC (RFC 7489) as pure functions over bytes; see dmarc.h. Every byte
   of a record or a From field is hostile: nothing here reads past len or
   writes past its buffers, and nothing allocates. */
#include <string.h>
#include "dmarc.h"
#include "psl.h"

static int wsp(char c) { return c == ' ' || c == '\t'; }
static int alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* s[0..n) equals the lower-case b, whatever the case of s */
static int ieq(const char *s, size_t n, const char *b)
{
  size_t i;
  for (i = 0; i < n; i++) if (!b[i] || lower(s[i]) != b[i]) return 0;
  return !b[n];
}

static void trim(const char **s, size_t *n)
{
  while (*n && wsp(**s)) { (*s)++; (*n)--; }
  while (*n && wsp((*s)[*n - 1])) (*n)--;
}

static void why(struct dmarc_record *r, const char *a, const char *b, size_t blen)
{
  size_t n = strlen(a), m;
  if (r->why[0]) return;
  if (n >= sizeof r->why) n = sizeof r->why - 1;
  memcpy(r->why, a, n);
  m = blen < sizeof r->why - 1 - n ? blen : sizeof r->why - 1 - n;
  memcpy(r->why + n, b, m);
  r->why[n + m] = 0;
}

/* 1*max DIGIT, at most lim */
static int number(const char *s, size_t n, unsigned int max, unsigned long lim, unsigned long *u)
{
  unsigned long v = 0;
  size_t i;
  if (!n || n > max) return 0;
  for (i = 0; i < n; i++) {
    if (!digit(s[i])) return 0;
    v = v * 10 + (unsigned long)(s[i] - '0');     /* at most 10 digits: no overflow in 64 bits */
  }
  if (v > lim) return 0;
  *u = v;
  return 1;
}

static int policy(const char *s, size_t n)
{
  if (ieq(s, n, "none")) return DMARC_P_NONE;
  if (ieq(s, n, "quarantine")) return DMARC_P_QUARANTINE;
  if (ieq(s, n, "reject")) return DMARC_P_REJECT;
  return DMARC_P_UNSET;
}

/* dmarc-uri (6.4): an RFC 3986 URI with a scheme, then an optional
   "!" size with a unit; commas and '!' in the URI itself are escaped */
static int uri_ok(const char *s, size_t n)
{
  size_t i = 0, bang;
  for (bang = 0; bang < n && s[bang] != '!'; bang++) {}
  if (bang < n) {
    size_t j = bang + 1, d = 0;
    while (j < n && digit(s[j])) { j++; d++; }
    if (!d) return 0;
    if (j < n && (s[j] == 'k' || s[j] == 'm' || s[j] == 'g' || s[j] == 't')) j++;
    if (j != n) return 0;
  }
  if (!bang || !alpha(s[0])) return 0;
  for (i = 1; i < bang && s[i] != ':'; i++)
    if (!alpha(s[i]) && !digit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.') return 0;
  if (i >= bang || i + 1 >= bang) return 0;        /* no ':' or nothing after it */
  for (i++; i < bang; i++) if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] > '~') return 0;
  return 1;
}

/* the valid URIs of a comma-separated list */
static unsigned int uris(const char *s, size_t n)
{
  unsigned int k = 0;
  size_t i = 0;
  while (i <= n) {
    size_t j = i;
    const char *u;
    size_t m;
    while (j < n && s[j] != ',') j++;
    u = s + i;
    m = j - i;
    trim(&u, &m);
    if (uri_ok(u, m)) k++;
    i = j + 1;
  }
  return k;
}

/* fo= (0, 1, d, s) and rf= (keywords) are lists separated by ':'; the
   next item from *i, trimmed, or 0 when the list is done */
static int next_item(const char *s, size_t n, size_t *i, const char **t, size_t *m)
{
  size_t j = *i;
  if (j > n) return 0;
  while (j < n && s[j] != ':') j++;
  *t = s + *i;
  *m = j - *i;
  trim(t, m);
  *i = j + 1;
  return 1;
}

static int fo_parse(const char *s, size_t n, unsigned int *fo)
{
  unsigned int f = 0;
  size_t i = 0, m;
  const char *t;
  while (next_item(s, n, &i, &t, &m)) {
    if (m != 1) return 0;
    switch (lower(*t)) {
    case '0': f |= DMARC_FO_0; break;
    case '1': f |= DMARC_FO_1; break;
    case 'd': f |= DMARC_FO_D; break;
    case 's': f |= DMARC_FO_S; break;
    default: return 0;
    }
  }
  *fo = f;
  return 1;
}

static int rf_parse(const char *s, size_t n, int *afrf)
{
  int a = 0;
  size_t i = 0, k, m;
  const char *t;
  while (next_item(s, n, &i, &t, &m)) {
    if (!m || !alpha(t[0])) return 0;
    for (k = 1; k < m; k++) if (!alpha(t[k]) && !digit(t[k]) && t[k] != '-') return 0;
    if (ieq(t, m, "afrf")) a = 1;
  }
  *afrf = a;
  return 1;
}

enum { T_V, T_P, T_SP, T_PCT, T_ADKIM, T_ASPF, T_RUA, T_RUF, T_FO, T_RF, T_RI, T_N };
static const char *const tags[T_N] = { "v", "p", "sp", "pct", "adkim", "aspf", "rua", "ruf", "fo", "rf", "ri" };

int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r)
{
  size_t i = 0;
  unsigned int seen = 0;
  int p_bad = 0, sp_bad = 0;

  memset(r, 0, sizeof *r);
  r->pct = 100;
  r->adkim = r->aspf = 'r';
  r->ri = 86400;
  r->rf_afrf = 1;

  /* dmarc-version = "v" *WSP "=" *WSP %x44.4d.41.52.43.31 (6.4): first */
  if (len < 1 || lower(txt[0]) != 'v') return DMARC_REC_NOT;
  for (i = 1; i < len && wsp(txt[i]); i++) {}
  if (i >= len || txt[i] != '=') return DMARC_REC_NOT;
  for (i++; i < len && wsp(txt[i]); i++) {}
  if (len - i < 6 || memcmp(txt + i, "DMARC1", 6)) return DMARC_REC_NOT;
  for (i += 6; i < len && wsp(txt[i]); i++) {}
  if (i < len && txt[i] != ';') return DMARC_REC_NOT;
  seen = 1u << T_V;

  /* tag-list (RFC 6376 3.2): an empty tag-spec is let go, a malformed one
     or a known tag twice makes the whole list invalid */
  while (i < len) {
    const char *spec, *name, *val;
    size_t j, n, nlen, vlen, eq, k;
    int t;
    i++;                                /* the ';' */
    for (j = i; j < len && txt[j] != ';'; j++) {}
    spec = txt + i;
    n = j - i;
    i = j;
    trim(&spec, &n);
    if (!n) continue;
    for (eq = 0; eq < n && spec[eq] != '='; eq++) {}
    if (eq == n) { why(r, "tag without a value: ", spec, n); return DMARC_REC_BAD; }
    name = spec;
    nlen = eq;
    val = spec + eq + 1;
    vlen = n - eq - 1;
    trim(&name, &nlen);
    trim(&val, &vlen);
    if (!nlen || !alpha(name[0])) { why(r, "bad tag name: ", name, nlen); return DMARC_REC_BAD; }
    for (k = 1; k < nlen; k++)
      if (!alpha(name[k]) && !digit(name[k]) && name[k] != '_') { why(r, "bad tag name: ", name, nlen); return DMARC_REC_BAD; }
    for (k = 0; k < vlen; k++)
      if (!wsp(val[k]) && ((unsigned char)val[k] < 0x21 || (unsigned char)val[k] > 0x7e)) {
        why(r, "bad octet in tag ", name, nlen);
        return DMARC_REC_BAD;
      }
    for (t = 0; t < T_N && !ieq(name, nlen, tags[t]); t++) {}
    if (t == T_N) continue;             /* unknown tags are ignored (6.3) */
    if (seen & (1u << t)) { why(r, "duplicate tag ", name, nlen); return DMARC_REC_BAD; }
    seen |= 1u << t;
    switch (t) {
    case T_P:
      r->p = policy(val, vlen);
      p_bad = r->p == DMARC_P_UNSET;
      break;
    case T_SP:
      r->sp = policy(val, vlen);
      sp_bad = r->sp == DMARC_P_UNSET;
      break;
    case T_PCT: {
      unsigned long u;
      if (number(val, vlen, 3, 100, &u)) r->pct = (unsigned int)u;
      else why(r, "ignored pct=", val, vlen);
      break;
    }
    case T_ADKIM:
    case T_ASPF:
      if (vlen == 1 && (lower(*val) == 'r' || lower(*val) == 's')) {
        if (t == T_ADKIM) r->adkim = lower(*val); else r->aspf = lower(*val);
      } else why(r, t == T_ADKIM ? "ignored adkim=" : "ignored aspf=", val, vlen);
      break;
    case T_RUA: r->rua = uris(val, vlen); break;
    case T_RUF: r->ruf = uris(val, vlen); break;
    case T_FO: if (!fo_parse(val, vlen, &r->fo)) why(r, "ignored fo=", val, vlen); break;
    case T_RF: if (!rf_parse(val, vlen, &r->rf_afrf)) why(r, "ignored rf=", val, vlen); break;
    case T_RI: {
      unsigned long u;
      if (number(val, vlen, 10, 4294967295UL, &u)) r->ri = u;
      else why(r, "ignored ri=", val, vlen);
      break;
    }
    default: break;                     /* T_V again: caught as a duplicate */
    }
  }
  if (!(seen & (1u << T_P))) p_bad = 1;
  /* 6.6.3 step 6: no valid p, or an invalid sp */
  if (p_bad || sp_bad) {
    if (!r->rua) {
      r->why[0] = 0;
      why(r, p_bad ? "no valid p=" : "invalid sp=", "", 0);
      return DMARC_REC_BAD;
    }
    r->p = DMARC_P_NONE;
    r->sp = DMARC_P_UNSET;
    r->p_from_rua = 1;
  }
  return DMARC_REC_OK;
}

size_t dmarc_domain_norm(char *d, size_t len)
{
  size_t i, label = 0;
  if (len && d[len - 1] == '.') len--;
  if (!len || len > 253) return 0;
  for (i = 0; i < len; i++) {
    char c = lower(d[i]);
    d[i] = c;
    if (c == '.') {
      if (!label) return 0;
      label = 0;
      continue;
    }
    if (!alpha(c) && !digit(c) && c != '-' && c != '_') return 0;
    if (++label > 63) return 0;
  }
  return label ? len : 0;
}

/* one address's text, comments gone and quoted strings blanked to 'q' (so
   that an '@' or '<' in them is not seen), at most ADDR_MAX octets */
#define ADDR_MAX 998
struct addr { char s[ADDR_MAX]; size_t n; int over; };

static void put(struct addr *a, char c)
{
  if (a->n < ADDR_MAX) a->s[a->n++] = c;
  else a->over = 1;
}

/* the domain of an address, added to out when new: 1 added or known, 0
   not a domain, -1 no room */
static int take(struct addr *a, char (*out)[DMARC_DOMAIN_MAX], int max, int *n)
{
  size_t i, lt = a->n, gt, at, start, end, len;
  char dom[DMARC_DOMAIN_MAX];
  int k;
  if (a->over || !a->n) return 0;
  for (i = 0; i < a->n; i++) if (a->s[i] == '<') { lt = i; break; }
  if (lt < a->n) {
    for (gt = lt + 1; gt < a->n && a->s[gt] != '>'; gt++) {}
    if (gt == a->n) return 0;
    start = lt + 1;
    end = gt;
    for (i = start; i < end; i++) if (a->s[i] == ':') start = i + 1;    /* obs-route */
  } else {
    start = 0;
    end = a->n;
  }
  for (at = end; at > start && a->s[at - 1] != '@'; at--) {}
  if (at == start) return 0;
  while (at < end && wsp(a->s[at])) at++;
  while (end > at && wsp(a->s[end - 1])) end--;
  len = end - at;
  if (!len || len >= DMARC_DOMAIN_MAX) return 0;
  memcpy(dom, a->s + at, len);
  len = dmarc_domain_norm(dom, len);
  if (!len) return 0;
  dom[len] = 0;
  for (k = 0; k < *n; k++) if (!strcmp(out[k], dom)) return 1;
  if (*n >= max) return -1;
  memcpy(out[*n], dom, len + 1);
  (*n)++;
  return 1;
}

int dmarc_from_domains(const char *v, size_t len, char (*out)[DMARC_DOMAIN_MAX], int max)
{
  struct addr a;
  size_t i = 0;
  int n = 0, angle = 0, square = 0;

  a.n = 0;
  a.over = 0;
  while (i <= len) {
    char c = i < len ? v[i] : ',';
    if (i < len && c == '(') {                  /* a comment, nested */
      unsigned int depth = 1;
      for (i++; i < len && depth; i++) {
        if (v[i] == '\\') i++;
        else if (v[i] == '(') depth++;
        else if (v[i] == ')') depth--;
      }
      put(&a, ' ');
      continue;
    }
    if (i < len && c == '"') {
      for (i++; i < len && v[i] != '"'; i++) if (v[i] == '\\') i++;
      i++;
      put(&a, 'q');
      continue;
    }
    if (c == '<') angle = 1;
    else if (c == '>') angle = 0;
    else if (c == '[') square = 1;
    else if (c == ']') square = 0;
    if (!angle && !square && (c == ',' || c == ';' || (c == ':' && i < len))) {
      if (c != ':' && take(&a, out, max, &n) < 0) return -1;
      a.n = 0;                                  /* ':' ends a group's display name */
      a.over = 0;
      i++;
      continue;
    }
    put(&a, c);
    i++;
  }
  return n;
}

size_t dmarc_org_domain(const char *name, size_t len)
{
  unsigned int want = psl_suffix_labels(name, len) + 1, k = 0;
  size_t p = len;
  while (p > 0) {
    if (name[p - 1] == '.' && ++k == want) return p;
    p--;
  }
  return 0;                             /* fewer labels: the name itself */
}

int dmarc_aligned(const char *a, const char *b, int strict)
{
  size_t alen = strlen(a), blen = strlen(b), ao, bo;
  if (alen == blen && !memcmp(a, b, alen)) return 1;
  if (strict) return 0;
  ao = dmarc_org_domain(a, alen);
  bo = dmarc_org_domain(b, blen);
  return alen - ao == blen - bo && !memcmp(a + ao, b + bo, alen - ao);
}

const char *dmarc_result_name(int result)
{
  switch (result) {
  case DMARC_PASS: return "pass";
  case DMARC_FAIL: return "fail";
  case DMARC_TEMPERROR: return "temperror";
  case DMARC_PERMERROR: return "permerror";
  default: return "none";
  }
}

const char *dmarc_policy_name(int p)
{
  switch (p) {
  case DMARC_P_QUARANTINE: return "quarantine";
  case DMARC_P_REJECT: return "reject";
  default: return "none";
  }
}

/* an authenticated domain, normalised into d */
static int auth_domain(char d[DMARC_DOMAIN_MAX], const char *s, size_t n)
{
  if (!n || n >= DMARC_DOMAIN_MAX) return 0;
  memcpy(d, s, n);
  n = dmarc_domain_norm(d, n);
  d[n] = 0;
  return n > 0;
}

void dmarc_evaluate(struct dmarc_verdict *v, const struct dmarc_record *r, const char *from, int subdomain,
                    const struct dmarc_auth *a, unsigned int roll)
{
  char d[DMARC_DOMAIN_MAX];
  memset(v, 0, sizeof *v);
  if (a->spf && !strcmp(a->spf, "pass") && a->spf_domain
      && auth_domain(d, a->spf_domain, strlen(a->spf_domain)) && dmarc_aligned(d, from, r->aspf == 's'))
    v->spf_aligned = 1;
  if (a->dkim) {
    const char *s = a->dkim;
    while (*s && !v->dkim_aligned) {
      size_t n = 0;
      while (*s == ' ') s++;
      while (s[n] && s[n] != ' ') n++;
      if (auth_domain(d, s, n) && dmarc_aligned(d, from, r->adkim == 's')) {
        v->dkim_aligned = 1;
        memcpy(v->dkim_domain, d, strlen(d) + 1);
      }
      s += n;
    }
  }
  v->policy = subdomain && r->sp != DMARC_P_UNSET ? r->sp : r->p;
  if (v->spf_aligned || v->dkim_aligned) {
    v->result = DMARC_PASS;
    v->disposition = DMARC_P_NONE;
    return;
  }
  v->result = DMARC_FAIL;
  v->disposition = v->policy;
  if (roll >= r->pct && v->disposition > DMARC_P_NONE) v->disposition--;   /* 6.6.4 */
}
