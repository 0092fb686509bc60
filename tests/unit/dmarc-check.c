/* tests/dmarc.bats' driver for dmarc.c and psl.c: one command a line on
   stdin, fields separated by tabs, an answer a line on stdout.
     org NAME                 "ORG" (the organizational domain)
     rec TEXT                 "not", "bad WHY" or "ok p= sp= pct= adkim= aspf=
                              fo= rf= ri= rua= ruf= [from-rua] [why=WHY]"
     from VALUE               "N dom..." (-1: too many, max 4)
     align A B s|r            "1" or "0"
     eval RECORD FROM SUB SPF SPFDOMAIN DKIM ROLL
                              "RESULT POLICY DISPOSITION spf=0|1 dkim=0|1";
                              "-" for a missing SPF, SPFDOMAIN or DKIM
   Text may carry \t and \x01-style escapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dmarc.h"

static size_t unescape(char *s)
{
  size_t i = 0, o = 0;
  while (s[i]) {
    if (s[i] == '\\' && s[i + 1] == 't') { s[o++] = '\t'; i += 2; }
    else if (s[i] == '\\' && s[i + 1] == 'x' && s[i + 2] && s[i + 3]) {
      char h[3] = { s[i + 2], s[i + 3], 0 };
      s[o++] = (char)strtoul(h, 0, 16);
      i += 4;
    } else s[o++] = s[i++];
  }
  s[o] = 0;
  return o;
}

static const char *opt(const char *s) { return strcmp(s, "-") ? s : 0; }

int main(void)
{
  static char line[70000];
  while (fgets(line, sizeof line, stdin)) {
    char *f[8];
    size_t lens[8];
    int n = 0;
    char *p = line;
    line[strcspn(line, "\n")] = 0;
    while (n < 8) {
      char *t = strchr(p, '\t');
      f[n] = p;
      if (t) *t = 0;
      n++;
      if (!t) break;
      p = t + 1;
    }
    for (int i = 1; i < n; i++) {
      /* copied to the heap at their exact length: an overread shows */
      size_t l = unescape(f[i]);
      char *c = malloc(l + 1);
      if (!c) return 111;
      memcpy(c, f[i], l + 1);
      f[i] = c;
      lens[i] = l;
    }
    if (!strcmp(f[0], "org") && n == 2) {
      char *d = malloc(lens[1] ? lens[1] : 1);
      size_t len;
      if (!d) return 111;
      memcpy(d, f[1], lens[1]);
      len = dmarc_domain_norm(d, lens[1]);
      if (!len) printf("invalid\n");
      else printf("%.*s\n", (int)(len - dmarc_org_domain(d, len)), d + dmarc_org_domain(d, len));
      free(d);
    } else if (!strcmp(f[0], "rec") && n == 2) {
      struct dmarc_record r;
      char *t = malloc(lens[1] ? lens[1] : 1);
      int st;
      if (!t) return 111;
      memcpy(t, f[1], lens[1]);
      st = dmarc_record_parse(t, lens[1], &r);
      free(t);
      if (st == DMARC_REC_NOT) printf("not\n");
      else if (st == DMARC_REC_BAD) printf("bad %s\n", r.why);
      else {
        printf("ok p=%s sp=%s pct=%u adkim=%c aspf=%c fo=%u rf=%s ri=%lu rua=%u ruf=%u%s", dmarc_policy_name(r.p),
               r.sp ? dmarc_policy_name(r.sp) : "-", r.pct, r.adkim, r.aspf, r.fo, r.rf_afrf ? "afrf" : "other",
               r.ri, r.rua, r.ruf, r.p_from_rua ? " from-rua" : "");
        if (r.why[0]) printf(" why=%s", r.why);
        printf("\n");
      }
    } else if (!strcmp(f[0], "from") && n == 2) {
      char out[4][DMARC_DOMAIN_MAX];
      int k = dmarc_from_domains(f[1], lens[1], out, 4);
      printf("%d", k);
      for (int i = 0; i < k; i++) printf(" %s", out[i]);
      printf("\n");
    } else if (!strcmp(f[0], "align") && n == 4) {
      printf("%d\n", dmarc_aligned(f[1], f[2], !strcmp(f[3], "s")));
    } else if (!strcmp(f[0], "eval") && n == 8) {
      struct dmarc_record r;
      struct dmarc_verdict v;
      struct dmarc_auth a = { opt(f[4]), opt(f[5]), opt(f[6]) };
      if (dmarc_record_parse(f[1], lens[1], &r) != DMARC_REC_OK) { printf("unusable record\n"); continue; }
      dmarc_evaluate(&v, &r, f[2], atoi(f[3]), &a, (unsigned int)atoi(f[7]));
      printf("%s %s %s spf=%d dkim=%d\n", dmarc_result_name(v.result), dmarc_policy_name(v.policy),
             dmarc_policy_name(v.disposition), v.spf_aligned, v.dkim_aligned);
    } else {
      printf("? %s\n", f[0]);
    }
    for (int i = 1; i < n; i++) free(f[i]);
    fflush(stdout);
  }
  return 0;
}
