/* spf-check FILE: runs the openspf test suite (as tests/spf-yaml2zone.py
   writes it) against spf.c, each scenario's zone data answering the
   engine's DNS the way the suite's own driver (pyspf's testspf.py) does:
   a name not in the zone is NXDOMAIN (TEMP under "error."), a label over
   63 octets is TEMP, TIMEOUT entries are TEMP, CNAMEs are followed (a
   loop is TEMP, as a resolver's SERVFAIL). Prints "ok ID" or "FAIL ID ..."
   per test and "N of M passed" last; a test with a query count (our own
   scenarios) also fails when the check made another number of queries. -q: the failures and the total only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spf.h"

struct rr { char *name, *type, *value; };
static struct rr *zone;
static size_t nzone, azone;

static char *unesc(const char *s)
{
  char *o = malloc(strlen(s) + 1), *p = o;
  if (!o) exit(111);
  while (*s) {
    if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
      char h[3] = { s[2], s[3], 0 };
      *p = (char)strtol(h, 0, 16);
      /* control characters as the resolver layer (dns_query.c) gives them */
      if ((unsigned char)*p < 32 || *p == 127) *p = '?';
      ++p;
      s += 4;
    } else
      *p++ = *s++;
  }
  *p = 0;
  return o;
}

static const char *tname(enum spf_rrtype t)
{
  switch (t) {
  case SPF_RR_A: return "A";
  case SPF_RR_AAAA: return "AAAA";
  case SPF_RR_MX: return "MX";
  case SPF_RR_PTR: return "PTR";
  default: return "TXT";
  }
}

/* the suite's names: lower case, empty labels dropped */
static int normalise(const char *in, char *out, size_t size)
{
  size_t k = 0, label = 0;
  for (; *in; ++in) {
    char c = *in;
    if (c == '.') {
      if (label && k + 1 < size) out[k++] = '.';
      label = 0;
      continue;
    }
    if (++label > 63) return 0;
    if (c >= 'A' && c <= 'Z') c += 32;
    if (k + 1 < size) out[k++] = c;
  }
  if (k && out[k - 1] == '.') --k;
  out[k] = 0;
  return 1;
}

static int zone_lookup(void *ctx, enum spf_rrtype type, const char *qname, stralloc *out, unsigned int *n)
{
  const char *t = tname(type);
  char name[1024];
  int hops;
  unsigned int *calls = ctx;
  ++*calls;
  *n = 0;
  out->len = 0;
  if (!normalise(qname, name, sizeof name)) return SPF_DNS_TEMP;
  for (hops = 0; hops < 8; ++hops) {
    size_t i;
    int found = 0;
    const char *cname = 0;
    unsigned int prefs[64];
    for (i = 0; i < nzone; ++i) {
      struct rr *r = &zone[i];
      if (strcmp(r->name, name)) continue;
      found = 1;
      if (!strcmp(r->type, "TIMEOUT")) {
        if (!strcmp(r->value, "*")) {
          if (!*n) return SPF_DNS_TEMP;
          break;
        }
        if (!strcmp(r->value, t)) return SPF_DNS_TEMP;
        continue;
      }
      if (!strcmp(r->type, "CNAME")) cname = r->value;
      if (strcmp(r->type, t)) continue;
      if (type == SPF_RR_MX) {
        char *sp = strchr(r->value, ' ');
        if (!sp || *n >= 64) continue;
        prefs[*n] = (unsigned int)atoi(r->value);
        stralloc_cats(out, sp + 1);
      } else
        stralloc_cats(out, r->value);
      stralloc_0(out);
      ++*n;
    }
    if (*n > 1 && type == SPF_RR_MX) {  /* preference order, stable */
      stralloc s = {0};
      unsigned int done = 0, j;
      char *used = calloc(*n, 1);
      while (done < *n) {
        size_t off = 0, boff = 0;
        unsigned int best = *n;
        for (j = 0; j < *n; ++j) {
          if (!used[j] && (best == *n || prefs[j] < prefs[best])) { best = j; boff = off; }
          off += strlen(out->s + off) + 1;
        }
        used[best] = 1;
        stralloc_cats(&s, out->s + boff);
        stralloc_0(&s);
        ++done;
      }
      free(used);
      stralloc_copy(out, &s);
      stralloc_free(&s);
    }
    if (*n) return SPF_DNS_OK;
    if (!found) return strncmp(name, "error.", 6) ? SPF_DNS_NXDOMAIN : SPF_DNS_TEMP;
    if (!cname) return SPF_DNS_NODATA;
    if (!normalise(cname, name, sizeof name)) return SPF_DNS_TEMP;
  }
  return SPF_DNS_TEMP;          /* a CNAME loop */
}

static char *field(char **line)
{
  char *f = *line, *tab;
  if (!f) return "";
  tab = strchr(f, '\t');
  if (tab) { *tab = 0; *line = tab + 1; } else *line = 0;
  return f;
}

int main(int argc, char **argv)
{
  FILE *f;
  char line[65536];
  unsigned int tests = 0, passed = 0;
  int quiet = 0;
  if (argc > 1 && !strcmp(argv[1], "-q")) { quiet = 1; ++argv; --argc; }
  if (argc != 2 || !(f = fopen(argv[1], "r"))) {
    fprintf(stderr, "usage: spf-check [-q] FILE\n");
    return 100;
  }
  while (fgets(line, sizeof line, f)) {
    char *p = line, *kind;
    size_t l = strlen(line);
    if (l && line[l - 1] == '\n') line[--l] = 0;
    kind = field(&p);
    if (!strcmp(kind, "S")) {
      size_t i;
      for (i = 0; i < nzone; ++i) { free(zone[i].name); free(zone[i].type); free(zone[i].value); }
      nzone = 0;
    } else if (!strcmp(kind, "Z")) {
      if (nzone == azone) {
        azone = azone ? 2 * azone : 64;
        zone = realloc(zone, azone * sizeof *zone);
        if (!zone) return 111;
      }
      zone[nzone].name = unesc(field(&p));
      zone[nzone].type = unesc(field(&p));
      zone[nzone].value = unesc(field(&p));
      ++nzone;
    } else if (!strcmp(kind, "T")) {
      char *id = unesc(field(&p)), *host = unesc(field(&p)), *helo = unesc(field(&p));
      char *from = unesc(field(&p)), *want = field(&p), *exp = unesc(field(&p));
      const char *wantq = field(&p);
      struct spf_answer a;
      struct spf_request r = { host, helo, "receiver.example.net", 1234567890 };
      unsigned int calls = 0;
      struct spf_dns dns = { &calls, zone_lookup };
      const char *got, *gotexp;
      char wl[256], *w, *save;
      int ok = 0;
      spf_check_mailfrom(&a, &dns, &r, from);
      got = spf_result_name(a.result);
      gotexp = a.explanation[0] ? a.explanation : "DEFAULT";
      snprintf(wl, sizeof wl, "%s", want);
      for (w = strtok_r(wl, ",", &save); w; w = strtok_r(0, ",", &save))
        if (!strcmp(w, got)) ok = 1;
      if (ok && strcmp(exp, "-") && strcmp(exp, gotexp)) ok = 0;
      if (ok && *wantq && strtoul(wantq, 0, 10) != a.queries) ok = 0;
      ++tests;
      if (ok) {
        ++passed;
        if (strncmp(want, got, strlen(got)) || (want[strlen(got)] && want[strlen(got)] != ','))
          printf("ok %s %s (the suite prefers %s)\n", id, got, want);
        else if (!quiet)
          printf("ok %s %s\n", id, got);
      } else
        printf("FAIL %s: want %s%s%s%s%s, got %s \"%s\" (%s; %s) lookups %u queries %u\n", id, want,
               strcmp(exp, "-") ? " exp " : "", strcmp(exp, "-") ? exp : "",
               *wantq ? " queries " : "", wantq, got, gotexp,
               a.mechanism, a.why, a.lookups, a.queries);
      free(id); free(host); free(helo); free(from); free(exp);
    }
  }
  fclose(f);
  printf("%u of %u passed\n", passed, tests);
  return 0;
}
