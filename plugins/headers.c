/* headers: checks the message's header section at data_post (Perl
   qpsmtpd's plugins/headers, HEAD): the required fields are there and not
   empty (default From), no singular field (Date From Sender Reply-To To Cc
   Bcc Message-Id In-Reply-To References Subject) appears twice, and, when
   future or past is given, the Date is not more than that many days ahead
   or behind. An empty message is refused first; immune clients (relay
   clients, whitelisted hosts or senders) skip the other checks.

   Arguments: require Name[,Name...], future DAYS, past DAYS, reject
   0|1|naughty (default 1), reject_type (default perm), loglevel (taken and
   ignored). Perl sends the reject_type's number as the reply text after a
   header error (a bug); here the reply lists the errors. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <case.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "headers"
#define MAXREQ 16

static const char *const singular[] = {
  "Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
  "Message-Id", "In-Reply-To", "References", "Subject", NULL
};

struct headers {
  struct reject r;
  const char *req[MAXREQ];
  unsigned int nreq;
  char *reqbuf;
  unsigned long future, past;   /* days; 0: not checked */
};

static int days_arg(const char *v, unsigned long *d, stralloc *err, const char *key)
{
  size_t n = v ? scan_ulong(v, d) : 0;
  if (!n || v[n] || n > 5) {
    stralloc_copys(err, key);
    stralloc_cats(err, " takes a number of days");
    return 0;
  }
  return 1;
}

static int headers_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct headers *h = calloc(1, sizeof *h);
  int i;
  if (!h) { stralloc_copys(err, "out of memory"); return 0; }
  h->r.mode = REJECT_YES;
  h->req[0] = "From";
  h->nreq = 1;
  if (argc % 2) { stralloc_copys(err, "arguments come in pairs: name value"); goto fail; }
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    int r = reject_arg(&h->r, k, v, err);
    if (r < 0) goto fail;
    if (r) continue;
    if (str_equal(k, "require")) {
      char *p;
      size_t j;
      free(h->reqbuf);
      h->reqbuf = malloc(str_len(v) + 1);
      if (!h->reqbuf) { stralloc_copys(err, "out of memory"); goto fail; }
      memcpy(h->reqbuf, v, str_len(v) + 1);
      h->nreq = 0;
      for (p = h->reqbuf; *p; ) {
        char *c = strchr(p, ',');
        if (c) *c = 0;
        for (j = 0; p[j]; ++j)
          if (p[j] <= 32 || p[j] >= 127 || p[j] == ':') break;
        if (!*p || p[j]) { stralloc_copys(err, "require takes header names separated by commas, not "); stralloc_cats(err, v); goto fail; }
        if (h->nreq == MAXREQ) { stralloc_copys(err, "require takes at most 16 names"); goto fail; }
        h->req[h->nreq++] = p;
        if (!c) break;
        p = c + 1;
        if (!*p) { stralloc_copys(err, "require: empty header name"); goto fail; }
      }
    } else if (str_equal(k, "future")) {
      if (!days_arg(v, &h->future, err, k)) goto fail;
    } else if (str_equal(k, "past")) {
      if (!days_arg(v, &h->past, err, k)) goto fail;
    } else if (str_equal(k, "loglevel")) {
      ;
    } else {
      stralloc_copys(err, "unknown argument ");
      stralloc_cats(err, k);
      goto fail;
    }
  }
  *self = h;
  return 1;
fail:
  free(h->reqbuf);
  free(h);
  return 0;
}

/* ---- RFC 5322 3.3 date-time, with the obsolete forms of 4.3; -1 when
   it cannot be read */

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
  long long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static const char *skip_cfws(const char *p)
{
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
    if (*p != '(') return p;
    {
      int depth = 0;
      do {
        if (*p == '\\' && p[1]) ++p;
        else if (*p == '(') ++depth;
        else if (*p == ')') --depth;
        ++p;
      } while (*p && depth > 0);
    }
  }
}

static const char *num(const char *p, unsigned int maxdig, unsigned long *v, unsigned int *ndig)
{
  unsigned int n = 0;
  *v = 0;
  while (*p >= '0' && *p <= '9' && n < maxdig) { *v = *v * 10 + (unsigned long)(*p - '0'); ++p; ++n; }
  *ndig = n;
  return n ? p : NULL;
}

long long headers_parse_date(const char *p);
long long headers_parse_date(const char *p)
{
  static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
  static const struct { const char *n; int off; } zones[] = {
    { "ut", 0 }, { "gmt", 0 }, { "z", 0 }, { "est", -500 }, { "edt", -400 }, { "cst", -600 },
    { "cdt", -500 }, { "mst", -700 }, { "mdt", -600 }, { "pst", -800 }, { "pdt", -700 }, { NULL, 0 }
  };
  unsigned long day, year, hh, mm, ss = 0;
  unsigned int nd, mon = 0, i;
  long zone = 0;
  p = skip_cfws(p);
  if ((p[0] | 32) >= 'a' && (p[0] | 32) <= 'z') {           /* day-of-week "," */
    for (i = 0; i < 3 && ((p[i] | 32) >= 'a' && (p[i] | 32) <= 'z'); ++i) ;
    if (i != 3) return -1;
    p = skip_cfws(p + 3);
    if (*p != ',') return -1;
    p = skip_cfws(p + 1);
  }
  if (!(p = num(p, 2, &day, &nd)) || day < 1 || day > 31) return -1;
  p = skip_cfws(p);
  for (i = 0; i < 12; ++i)
    if (case_equalb(p, 3, months + 3 * i)) { mon = i + 1; break; }
  if (!mon) return -1;
  p = skip_cfws(p + 3);
  if (!(p = num(p, 4, &year, &nd)) || nd < 2) return -1;
  if (nd == 2) year += year < 50 ? 2000 : 1900;          /* RFC 5322 4.3 */
  else if (nd == 3) year += 1900;
  if (year < 1900) return -1;
  p = skip_cfws(p);
  if (!(p = num(p, 2, &hh, &nd)) || hh > 23) return -1;
  p = skip_cfws(p);
  if (*p++ != ':') return -1;
  p = skip_cfws(p);
  if (!(p = num(p, 2, &mm, &nd)) || nd != 2 || mm > 59) return -1;
  p = skip_cfws(p);
  if (*p == ':') {
    p = skip_cfws(p + 1);
    if (!(p = num(p, 2, &ss, &nd)) || nd != 2 || ss > 60) return -1;
    p = skip_cfws(p);
  }
  if (*p == '+' || *p == '-') {
    unsigned long z;
    const char *q = num(p + 1, 4, &z, &nd);
    if (!q || nd != 4 || z % 100 > 59) return -1;
    zone = *p == '-' ? -(long)z : (long)z;
    p = q;
  } else if ((*p | 32) >= 'a' && (*p | 32) <= 'z') {
    size_t n = 0;
    while (((p[n] | 32) >= 'a' && (p[n] | 32) <= 'z')) ++n;
    for (i = 0; zones[i].n; ++i)
      if (n == str_len(zones[i].n) && case_equalb(p, n, zones[i].n)) { zone = zones[i].off; break; }
    /* other names, military zones included, count as -0000 (RFC 5322 4.3) */
    p += n;
  }
  p = skip_cfws(p);
  if (*p) return -1;
  return days_from_civil((long long)year, mon, (unsigned)day) * 86400 + (long long)hh * 3600
         + (long long)mm * 60 + (long long)ss - ((zone / 100) * 3600 + (zone % 100) * 60);
}

/* the reply: one line per error, each with the enhanced code for the
   class the reject type gives (RFC 3463 x.6.0: a problem of the content) */
static int finish(int rc, stralloc *msg)
{
  stralloc t = {0};
  size_t i, start = 0;
  const char *ec;
  if (rc == DECLINED || rc == OK || rc == DONE) return rc;
  ec = (rc == DENYSOFT || rc == DENYSOFT_DISCONNECT) ? "4.6.0 " : "5.6.0 ";
  for (i = 0; i <= msg->len; ++i)
    if (i == msg->len || msg->s[i] == '\n') {
      if ((start && !stralloc_append(&t, "\n")) || !stralloc_cats(&t, ec)
          || !stralloc_catb(&t, msg->s + start, i - start)) { stralloc_free(&t); return rc; }
      start = i + 1;
    }
  stralloc_copy(msg, &t);
  stralloc_free(&t);
  return rc;
}

static int blank(const stralloc *v)
{
  size_t i;
  for (i = 0; i < v->len; ++i)
    if (v->s[i] != ' ' && v->s[i] != '\t' && v->s[i] != '\r') return 0;
  return 1;
}

static int headers_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct headers *h = self;
  stralloc errs = {0}, v = {0};
  unsigned int i;
  int rc;
  if (txn_data_size(s) == 0)
    return finish(reject_get(s, &h->r, DENY, PLUGIN, "You must send some data first", "no data", a->msg), a->msg);
  if (session_immune(s, PLUGIN)) return DECLINED;

  for (i = 0; i < h->nreq; ++i) {
    if (txn_header_get(s, h->req[i], &v) == 1 && !blank(&v)) continue;
    qlogm(s, LOGINFO, PLUGIN, "fail, no ", h->req[i], " header");
    if ((errs.len && !stralloc_append(&errs, "\n")) || !stralloc_cats(&errs, "We require a valid ")
        || !stralloc_cats(&errs, h->req[i]) || !stralloc_cats(&errs, " header")) goto nomem;
  }
  for (i = 0; singular[i]; ++i) {
    if (txn_header_count(s, singular[i]) < 2) continue;
    qlogm(s, LOGINFO, PLUGIN, "fail, too many ", singular[i], " headers");
    if ((errs.len && !stralloc_append(&errs, "\n")) || !stralloc_cats(&errs, "Only one ")
        || !stralloc_cats(&errs, singular[i]) || !stralloc_cats(&errs, " header allowed. See RFC 5322, Section 3.6"))
      goto nomem;
  }
  if ((h->future || h->past) && txn_header_get(s, "Date", &v) == 1) {
    long long t;
    if (!stralloc_0(&v)) goto nomem;
    t = headers_parse_date(v.s);
    if (t < 0) qlogm(s, LOGINFO, PLUGIN, "skip, date not parseable (", v.s, ")");
    else {
      long long now = (long long)time(NULL);
      const char *why = NULL;
      if (h->past && t < now - (long long)h->past * 86400) why = "The Date header is too far in the past";
      else if (h->future && t > now + (long long)h->future * 86400) why = "The Date header is too far in the future";
      if (why) {
        rc = reject_get(s, &h->r, DENY, PLUGIN, why, why, a->msg);
        stralloc_free(&errs);
        stralloc_free(&v);
        return finish(rc, a->msg);
      }
    }
  }
  stralloc_free(&v);
  if (errs.len) {
    if (!stralloc_0(&errs)) goto nomem;
    rc = reject_get(s, &h->r, DENY, PLUGIN, errs.s, "RFC 5322 validation errors", a->msg);
    stralloc_free(&errs);
    return finish(rc, a->msg);
  }
  qlog(s, LOGINFO, PLUGIN, "pass");
  return DECLINED;
nomem:
  stralloc_free(&errs);
  stralloc_free(&v);
  return hook_nomem(a->msg);
}

const struct plugin plugin_headers = {
  .name = "headers",
  .init = headers_init,
  .data_post = headers_data_post,
};
