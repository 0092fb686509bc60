/* The SPF engine (spf.c, spf_macro.c) over a fake DNS that answers from
   the input. Input: the first line is "ip sender helo"; each other line is
   "K name value", K one of A, 6 (AAAA), M (MX), P (PTR), T (TXT), X (the
   name times out), or "E macro-string". Name "*" answers every name.
   Checked, besides ASan and UBSan:
   - every name the engine asks for keeps spf.h's promise: 1-253 octets of
     printable ASCII without '\', no empty label;
   - at most 10 DNS mechanisms (4.6.4), and a bounded number of queries;
   - temperror only when some lookup timed out (the fake never fails
     otherwise), an explanation only with fail, the answer's strings
     terminated and printable;
   - the same input gives the same answer twice;
   - a macro-string expands iff spf_macro_check accepts it, within the
     bound, and text without '%' expands to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../spf.h"
#include "../spf_macro.h"

#define LINES_MAX 64
#define QUERIES_MAX 400

struct line { char kind; const char *name, *value; size_t nlen, vlen; };
struct fake { struct line l[LINES_MAX]; unsigned int n; unsigned int temps; };

static int ieq(const char *a, size_t alen, const char *b)
{
  size_t i;
  if (strlen(b) != alen) return 0;
  for (i = 0; i < alen; ++i) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return 0;
  }
  return 1;
}

static void name_promise(const char *name)
{
  size_t len = strlen(name), i, label = 0;
  if (!len || len > 253) abort();
  for (i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c > 0x7e || c == '\\') abort();
    if (c == '.') {
      if (!label) abort();
      label = 0;
    } else if (++label > 63) abort();
  }
  if (!label) abort();
}

static int fake_lookup(void *ctx, enum spf_rrtype t, const char *name, stralloc *out, unsigned int *n)
{
  static const char kinds[] = { 'A', '6', 'M', 'P', 'T' };
  struct fake *f = ctx;
  unsigned int i;
  int seen = 0;
  name_promise(name);
  *n = 0;
  out->len = 0;
  for (i = 0; i < f->n; ++i) {
    struct line *l = &f->l[i];
    if (l->kind == 'E') continue;
    if (!(l->nlen == 1 && l->name[0] == '*') && !ieq(l->name, l->nlen, name)) continue;
    seen = 1;
    if (l->kind == 'X') { f->temps++; out->len = 0; *n = 0; return SPF_DNS_TEMP; }
    if (l->kind != kinds[t]) continue;
    if (!stralloc_catb(out, l->value, l->vlen) || !stralloc_0(out)) abort();
    ++*n;
  }
  if (*n) return SPF_DNS_OK;
  return seen ? SPF_DNS_NODATA : SPF_DNS_NXDOMAIN;
}

static void string_ok(const char *s, size_t size)
{
  const char *z = memchr(s, 0, size);
  if (!z) abort();
  for (; s < z; ++s)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) abort();
}

static void answer_ok(const struct spf_answer *a, const struct fake *f)
{
  if (a->result > SPF_PERMERROR) abort();
  if (a->lookups > 10) abort();
  if (a->queries > QUERIES_MAX) abort();
  if (a->result == SPF_TEMPERROR && !f->temps) abort();
  string_ok(a->mechanism, sizeof a->mechanism);
  string_ok(a->domain, sizeof a->domain);
  string_ok(a->explanation, sizeof a->explanation);
  string_ok(a->why, sizeof a->why);
  if (a->explanation[0] && a->result != SPF_FAIL) abort();
}

static const char *p_value(void *ctx)
{
  return "mail.example.com";
}

static void macro_one(const char *s, size_t len)
{
  struct spf_macro_env e = {
    "user+tag@example.com", "user+tag", "example.com", "example.com", "192.0.2.1",
    "helo.example.org", "in-addr", "192.0.2.1", "receiver.example.net", "1234567890",
    p_value, 0
  };
  stralloc out = {0};
  int mode;
  for (mode = SPF_MACRO_DOMAIN; mode <= SPF_MACRO_EXP; ++mode) {
    int ok = spf_macro_check(s, len, mode);
    int r = spf_macro_expand(&out, s, len, &e, mode, 4096);
    if (r != 1 && r != 0 && r != -2) abort();
    if ((r == 0) != !ok) abort();
    if (r == 1 && out.len > 4096) abort();
    if (r == 1 && len && !memchr(s, '%', len) && (out.len != len || memcmp(out.s, s, len))) abort();
    if (spf_domain_spec_check(s, len) && !spf_macro_check(s, len, SPF_MACRO_DOMAIN)) abort();
  }
  stralloc_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct fake f;
  char *in, *p, *end, *first = 0, *ip, *sender, *helo;
  struct spf_request r;
  struct spf_dns dns;
  struct spf_answer a, b;
  unsigned int temps;

  if (size > 16384) return 0;
  in = malloc(size + 1);
  if (!in) abort();
  memcpy(in, data, size);
  in[size] = 0;
  memset(&f, 0, sizeof f);
  for (p = in, end = in + size; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
    if (!nl) nl = end;
    *nl = 0;
    if (!first) first = p;
    else if (f.n < LINES_MAX && nl - p >= 2 && p[1] == ' ' && strchr("A6MPTXE", p[0])) {
      struct line *l = &f.l[f.n++];
      l->kind = p[0];
      l->name = p + 2;
      if (l->kind == 'E') {
        l->nlen = 0;
        macro_one(p + 2, (size_t)(nl - p - 2));
      } else {
        sp = memchr(p + 2, ' ', (size_t)(nl - p - 2));
        l->nlen = sp ? (size_t)(sp - l->name) : (size_t)(nl - l->name);
        l->value = sp ? sp + 1 : nl;
        l->vlen = (size_t)(nl - l->value);
      }
    }
    p = nl + 1;
  }
  if (!first) { free(in); return 0; }
  /* "ip sender helo": missing parts are empty */
  ip = first;
  sender = strchr(ip, ' ');
  if (sender) *sender++ = 0; else sender = ip + strlen(ip);
  helo = strchr(sender, ' ');
  if (helo) *helo++ = 0; else helo = sender + strlen(sender);
  if (!*ip) ip = "192.0.2.1";

  r.ip = ip;
  r.helo = helo;
  r.receiver = "receiver.example.net";
  r.now = 1234567890;
  dns.ctx = &f;
  dns.lookup = fake_lookup;

  spf_check_mailfrom(&a, &dns, &r, sender);
  answer_ok(&a, &f);
  temps = f.temps;
  f.temps = 0;
  spf_check_mailfrom(&b, &dns, &r, sender);
  if (f.temps != temps || memcmp(&a, &b, sizeof a)) abort();

  f.temps = 0;
  spf_check_helo(&a, &dns, &r);
  answer_ok(&a, &f);
  free(in);
  return 0;
}
