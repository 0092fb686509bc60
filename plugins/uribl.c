/* uribl: the host names and addresses in a message against URI
   blocklists (SURBL, URIBL and the like), as Perl qpsmtpd's plugins/uribl,
   at data_post. uribl_scan.c finds the names as Perl's patterns do.

   uribl_zones, one zone a line: "zone [mask[,mask...] [action]]". A name
   is listed when an A record under the zone, as a 32-bit number ANDed with
   the mask (the OR of the listed numbers; none, 0 or a negative one:
   0x00ffffff, i.e. any 127.x.y.z but 127.0.0.0), is not 0. action:
   add-header, deny, denysoft or log; without one, the plugin's "action".
   uribl_whitelist_domains: registered domains never looked up.

   Arguments (Perl's): action add-header|deny|denysoft|log (add-header),
   timeout S (30: the deadline for all lookups of a message together),
   scan-headers 1 or check-headers 1 (scan the client's header section as
   well; Perl HEAD documents this but, since its body starts at the empty
   line, scans nothing more -- we do what the documentation says), mask N
   (accepted and unused, as in Perl).

   A listed name: add-header adds "X-URIBL-Match: NAME in ZONE: TEXT"
   (TEXT: the zone's TXT record for the name, else the A record), deny
   answers 552 with that text, denysoft 452, log logs it; every match is
   logged. The matches are taken in the order the names occur and then of
   the zones (Perl's order is its hashes'). A lookup that fails or times
   out is no listing: DNS trouble never refuses a message.

   Bound: at most LOOKUPS_MAX (name, zone) lookups a message, the first
   names in the message's order: a message of ten thousand links must not
   make us send ten thousand queries to a list's servers (nor hold as many
   sockets), and 128 cover the links of any ordinary mail (a host and its
   parents are a few names). Perl asks an A and a TXT record for every
   name; we ask the TXT record only of the names found listed, under the
   same deadline. */
#include <stdlib.h>
#include <string.h>
#include <case.h>
#include <ip4.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "uribl_scan.h"

#define PLUGIN "uribl"
#define LOOKUPS_MAX 128
#define ZONES_MAX 16
#define TXT_MAX 256
#define CHUNK 65536

enum { ACT_ADD_HEADER, ACT_DENY, ACT_DENYSOFT, ACT_LOG };

struct zone { const char *name; unsigned long long mask; int action; };

struct uribl {
  int action;
  unsigned long timeout;
  int headers;
  stralloc zonelist, white;
  struct control_at at;
  struct zone zones[ZONES_MAX];
  unsigned int nz;
  /* a message's names: "name\0" each */
  stralloc names;
  unsigned int nnames, maxnames;
  int capped, nomem;
  struct session *s;
};

static int action_parse(const char *x)
{
  if (str_equal(x, "add-header")) return ACT_ADD_HEADER;
  if (str_equal(x, "deny")) return ACT_DENY;
  if (str_equal(x, "denysoft")) return ACT_DENYSOFT;
  if (str_equal(x, "log")) return ACT_LOG;
  return -1;
}

/* Perl's truth of an argument's value */
static int perl_true(const char *v) { return *v && !str_equal(v, "0"); }

static int uribl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct uribl *u = calloc(1, sizeof *u);
  int i;
  if (!u) return arg_error(err, "out of memory", 0);
  u->action = ACT_ADD_HEADER;
  u->timeout = 30;
  for (i = 0; i < argc; i += 2) {
    const char *k = argv[i], *v;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if (str_equal(k, "action")) {
      if ((u->action = action_parse(v)) < 0) return arg_error(err, "action takes add-header, deny, denysoft or log, not ", v);
    } else if (str_equal(k, "timeout")) {
      size_t n = scan_ulong(v, &u->timeout);
      if (!n || v[n] || u->timeout < 1 || u->timeout > 300) return arg_error(err, "timeout takes seconds from 1 to 300, not ", v);
    } else if (str_equal(k, "scan-headers") || str_equal(k, "check-headers")) {
      u->headers = perl_true(v);
    } else if (str_equal(k, "mask") || str_equal(k, "loglevel")) {
      /* Perl takes mask and never uses it; loglevel: the core's rules */
    } else
      return arg_error(err, "unknown argument ", k);
  }
  *self = u;
  return 1;
}

/* Perl's mask column: numbers (-?\d+) joined by commas, ORed; a negative
   one counts as 0x00ffffff; absent or "0": 0x00ffffff. 0 when malformed */
static int mask_parse(const char *x, size_t len, unsigned long long *mask)
{
  size_t i = 0;
  *mask = 0;
  if (!len || (len == 1 && x[0] == '0')) { *mask = 0x00ffffff; return 1; }
  /* Perl's split drops empty fields at the end */
  while (len && x[len - 1] == ',') --len;
  while (i < len) {
    int neg = 0, sat = 0;
    unsigned long long v = 0;
    size_t st;
    if (x[i] == '-') { neg = 1; ++i; }
    st = i;
    for (; i < len && x[i] >= '0' && x[i] <= '9'; ++i) {
      unsigned int d = (unsigned int)(x[i] - '0');
      if (v > (~0ULL - d) / 10) sat = 1;
      else v = v * 10 + d;
    }
    if (i == st || (i < len && x[i] != ',')) return 0;
    if (sat) v = ~0ULL;
    *mask |= neg && v ? 0x00ffffff : v;
    if (i < len) ++i;
  }
  return 1;
}

static int uribl_setup(struct session *s, void *self)
{
  struct uribl *u = self;
  size_t i;
  control_readlist_at(s, "uribl_zones", &u->zonelist, &u->at);
  control_readlist(s, "uribl_whitelist_domains", &u->white);
  u->nz = 0;
  for (i = 0; i < u->zonelist.len; ) {
    char *l = u->zonelist.s + i;
    char *f[3] = { 0, 0, 0 };
    size_t n = 0, j, fl[3] = { 0, 0, 0 };
    unsigned long long mask;
    int action = u->action;
    char *p = l;
    i += strlen(l) + 1;         /* before the fields are cut in place */
    while (*p && n < 3) {
      while (*p == ' ' || *p == '\t') ++p;
      if (!*p) break;
      f[n] = p;
      while (*p && *p != ' ' && *p != '\t') ++p;
      fl[n] = (size_t)(p - f[n]);
      ++n;
    }
    if (!n) continue;
    f[0][fl[0]] = 0;            /* the zone name, \0-terminated in place */
    if (!dns_name_ok(f[0], fl[0]))
      die_control_at(s, &u->at, &u->zonelist, l, "uribl_zones", "not a DNS zone name");
    if (!mask_parse(f[1], fl[1], &mask))
      die_control_at(s, &u->at, &u->zonelist, l, "uribl_zones", "the mask is not numbers joined by commas");
    if (f[2]) {
      f[2][fl[2]] = 0;
      if ((action = action_parse(f[2])) < 0)
        die_control_at(s, &u->at, &u->zonelist, l, "uribl_zones", "the action is not add-header, deny, denysoft or log");
    }
    /* Perl keeps zones in a hash: a zone named again takes the later line */
    for (j = 0; j < u->nz && case_diffs(u->zones[j].name, f[0]); ++j) ;
    if (j == u->nz) {
      if (u->nz == ZONES_MAX)
        die_control_at(s, &u->at, &u->zonelist, l, "uribl_zones", "more than 16 zones");
      u->nz++;
    }
    u->zones[j].name = f[0];
    u->zones[j].mask = mask;
    u->zones[j].action = action;
  }
  return 1;
}

static int whitelisted(void *ctx, const char *dom, size_t len)
{
  struct uribl *u = ctx;
  size_t i;
  for (i = 0; i < u->white.len; i += strlen(u->white.s + i) + 1) {
    const char *w = u->white.s + i;
    if (strlen(w) == len && !case_diffb(w, len, dom)) return 1;
  }
  return 0;
}

static void skipped(void *ctx, const char *host, size_t len)
{
  struct uribl *u = ctx;
  stralloc m = {0};
  if (stralloc_copyb(&m, host, len) && stralloc_0(&m))
    qlogm(u->s, LOGINFO, PLUGIN, "skipping whitelisted URI domain ", m.s);
  stralloc_free(&m);
}

/* a name to look up: kept once, in order, up to the bound */
static int name_add(void *ctx, const char *name, size_t len)
{
  struct uribl *u = ctx;
  size_t i;
  if (!dns_name_ok(name, len)) return 0;
  for (i = 0; i < u->names.len; i += strlen(u->names.s + i) + 1)
    if (strlen(u->names.s + i) == len && !memcmp(u->names.s + i, name, len)) return 0;
  if (u->nnames == u->maxnames) { u->capped = 1; return -1; }
  if (!stralloc_catb(&u->names, name, len) || !stralloc_0(&u->names)) { u->nomem = 1; return -1; }
  u->nnames++;
  return 0;
}

/* the message through the scanner: 1 ok, 0 out of memory, -1 spool error */
static int scan(struct session *s, struct uribl *u)
{
  struct uribl_emit e = { name_add, whitelisted, skipped, u };
  struct uribl_scan *sc = malloc(sizeof *sc);
  char *buf = malloc(CHUNK);
  unsigned long long off, hdr, body, size = txn_message_size(s);
  int ok = 1;
  if (!sc || !buf) { free(sc); free(buf); return 0; }
  txn_message_parts(s, &hdr, &body);
  /* the header section, then the body from its empty line; without
     scan-headers the body's first line (that empty one) is skipped, as
     Perl's loop skips up to the first empty line */
  uribl_scan_init(sc, &e, !u->headers);
  for (off = u->headers ? hdr : body; off < size; ) {
    ssize_t r;
    if (u->headers && off < body) r = txn_message_read(s, off, buf, (size_t)(body - off) < CHUNK ? (size_t)(body - off) : CHUNK);
    else r = txn_message_read(s, off, buf, CHUNK);
    if (r < 0) { qlog(s, LOGERROR, PLUGIN, "cannot read the spool"); ok = -1; break; }
    if (r == 0) break;
    off += (unsigned long long)r;
    if (uribl_scan_feed(sc, buf, (size_t)r) < 0) break;
  }
  if (ok > 0) uribl_scan_end(sc);
  free(sc);
  free(buf);
  return u->nomem ? 0 : ok;
}

/* A record a.b.c.d ANDed with the zone's mask */
static int listed(const char *a, unsigned long long mask)
{
  char ip[4];
  size_t n = scan_ip4(a, ip);
  unsigned long long v;
  if (!n || a[n]) return 0;
  v = ((unsigned long long)(unsigned char)ip[0] << 24) | ((unsigned long long)(unsigned char)ip[1] << 16)
      | ((unsigned long long)(unsigned char)ip[2] << 8) | (unsigned char)ip[3];
  return (v & mask) != 0;
}

/* the last of a query's records */
static const char *last_rr(const struct dns_query *q)
{
  const char *x = q->rr.s, *last = 0;
  size_t i;
  for (i = 0; i < q->rr.len; i += strlen(q->rr.s + i) + 1) last = q->rr.s + i;
  return last ? last : x;
}

static int uribl_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct uribl *u = self;
  struct dns_query *q = 0, *t = 0;
  unsigned int *hit = 0;
  unsigned int nq = 0, nhit = 0, k, temp = 0;
  const char *name;
  int rc = DECLINED;
  stralloc desc = {0};

  if (!u->nz) return DECLINED;
  u->s = s;
  u->names.len = 0;
  u->nnames = 0;
  u->capped = 0;
  u->nomem = 0;
  u->maxnames = LOOKUPS_MAX / u->nz;
  switch (scan(s, u)) {
  case 0: goto nomem;
  case -1: goto out;            /* the queue meets the spool's trouble too */
  }
  if (!u->nnames) { qlog(s, LOGINFO, PLUGIN, "No URIs found in mail"); return DECLINED; }
  if (u->capped) qlog(s, LOGWARN, PLUGIN, "more names in the message than the lookup bound, checking the first");

  nq = u->nnames * u->nz;
  q = calloc(nq, sizeof *q);
  hit = calloc(nq, sizeof *hit);
  if (!q || !hit) goto nomem;
  for (k = 0, name = u->names.s; k < u->nnames; ++k, name += strlen(name) + 1) {
    unsigned int z;
    for (z = 0; z < u->nz; ++z) {
      struct dns_query *x = &q[k * u->nz + z];
      desc.len = 0;
      if (!stralloc_copys(&desc, name) || !stralloc_cats(&desc, ".") || !stralloc_cats(&desc, u->zones[z].name))
        goto nomem;
      if (dns_query_set(x, desc.s, desc.len, DNSQ_A) < 0) goto nomem;
    }
  }
  dns_run(s, q, nq, (unsigned int)u->timeout);
  for (k = 0; k < nq; ++k) {
    size_t i;
    if (q[k].status == DNS_TEMP) { temp++; continue; }
    if (q[k].status != DNS_OK) continue;
    for (i = 0; i < q[k].rr.len; i += strlen(q[k].rr.s + i) + 1)
      if (listed(q[k].rr.s + i, u->zones[k % u->nz].mask)) { hit[nhit++] = k; break; }
  }
  if (nhit) {
    /* the TXT records of the listed names, in what is left of the time */
    t = calloc(nhit, sizeof *t);
    if (!t) goto nomem;
    for (k = 0; k < nhit; ++k) {
      if (dns_query_set(&t[k], q[hit[k]].name.s, q[hit[k]].name.len - 1, DNSQ_TXT) < 0) goto nomem;
      t[k].deadline = q[hit[k]].deadline;
    }
    dns_run(s, t, nhit, 0);
  }
  qlogm(s, LOGINFO, PLUGIN, nhit ? "listed" : temp ? "pass, but some lookups failed" : "pass");
  for (k = 0; k < nhit; ++k) {
    unsigned int z = hit[k] % u->nz;
    const char *txt = t[k].status == DNS_OK ? last_rr(&t[k]) : "";
    size_t tl = strlen(txt);
    name = u->names.s;
    {
      unsigned int j;
      for (j = 0; j < hit[k] / u->nz; ++j) name += strlen(name) + 1;
    }
    if (tl > TXT_MAX) tl = TXT_MAX;
    desc.len = 0;
    if (!stralloc_copys(&desc, name) || !stralloc_cats(&desc, " in ") || !stralloc_cats(&desc, u->zones[z].name)
        || !stralloc_cats(&desc, ": "))
      goto nomem;
    if (tl ? !stralloc_catb(&desc, txt, tl) : !stralloc_cats(&desc, last_rr(&q[hit[k]]))) goto nomem;
    if (!stralloc_0(&desc)) goto nomem;
    {
      /* the list's text goes into a header and a reply: printable ASCII */
      size_t j;
      for (j = 0; j + 1 < desc.len; ++j)
        if ((unsigned char)desc.s[j] < 0x20 || (unsigned char)desc.s[j] > 0x7e) desc.s[j] = '?';
    }
    qlog(s, LOGWARN, PLUGIN, desc.s);
    if (u->zones[z].action == ACT_ADD_HEADER) {
      if (!txn_add_header(s, "X-URIBL-Match", desc.s)) goto nomem;
    } else if (u->zones[z].action == ACT_DENY || u->zones[z].action == ACT_DENYSOFT) {
      if (!stralloc_copyb(a->msg, desc.s, desc.len - 1)) goto nomem;
      rc = u->zones[z].action == ACT_DENY ? DENY : DENYSOFT;
      break;
    }
  }
  goto out;
nomem:
  rc = hook_nomem(a->msg);
out:
  if (q) for (k = 0; k < nq; ++k) { dns_query_free(&q[k]); stralloc_free(&q[k].name); stralloc_free(&q[k].rr); }
  if (t) for (k = 0; k < nhit; ++k) { dns_query_free(&t[k]); stralloc_free(&t[k].name); stralloc_free(&t[k].rr); }
  free(q);
  free(t);
  free(hit);
  stralloc_free(&desc);
  stralloc_free(&u->names);
  return rc;
}

const struct plugin plugin_uribl = {
  .name = "uribl",
  .init = uribl_init,
  .setup = uribl_setup,
  .data_post = uribl_data_post,
};
