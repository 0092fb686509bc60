/* dns_whitelist_soft: the client's address against the DNS whitelists in
   whitelist_zones (the first word of each line is the zone), like Perl
   qpsmtpd's plugins/dns_whitelist_soft. An A or TXT record sets the
   connection note whitelisthost (the TXT text, or "listed in ZONE"), which
   makes the client immune to the plugins that honour it (dnsbl, rhsbl,
   resolvable_fromhost, fcrdns, ...). The lookups run at connect, all at
   once, under one deadline (timeout, default 4 s as Perl's wait), so the
   note is there for every later hook; put the plugin before those it
   should override. A lookup that fails only means "not whitelisted". */
#include <string.h>
#include <stdlib.h>
#include <str.h>
#include <scan.h>
#include "lib/dnsargs.h"

#define PLUGIN "dns_whitelist_soft"
#define MAXZ 32

struct wl {
  struct dnsargs d;
  stralloc zones;
  stralloc name;
  stralloc rev;
  struct dns_query q[2 * MAXZ];
};

static int wl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct wl *w = calloc(1, sizeof *w);
  if (!w) { stralloc_copys(err, "out of memory"); return 0; }
  w->d.timeout = 4;
  if (!dnsargs_parse(&w->d, argc, argv, 0, err)) return 0;
  *self = w;
  return 1;
}

static int wl_connect(struct session *s, void *self, struct msg_args *a)
{
  struct wl *w = self;
  const char *ip = session_remote_ip(s);
  const char *zone[MAXZ];
  size_t zlen[MAXZ];
  unsigned int nz = 0, k;
  size_t i;
  int r;

  if (!w->zones.len) return DECLINED;
  r = dns_reverse_ip(&w->rev, ip);
  if (r < 0) goto nomem;
  if (!r) { qlogm(s, LOGINFO, PLUGIN, "skip, not an IP address: ", ip); return DECLINED; }
  for (i = 0; i < w->zones.len && nz < MAXZ; i += strlen(w->zones.s + i) + 1) {
    const char *z = w->zones.s + i;
    zone[nz] = z;
    zlen[nz] = strcspn(z, " \t");
    w->name.len = 0;
    if (!stralloc_cat(&w->name, &w->rev) || !stralloc_cats(&w->name, ".")
        || !stralloc_catb(&w->name, z, zlen[nz]))
      goto nomem;
    if (dns_query_set(&w->q[2 * nz], w->name.s, w->name.len, DNSQ_TXT) < 0
        || dns_query_set(&w->q[2 * nz + 1], w->name.s, w->name.len, DNSQ_A) < 0)
      goto nomem;
    ++nz;
  }
  dns_run(s, w->q, 2 * nz, (unsigned int)w->d.timeout);
  for (k = 0; k < nz; ++k) {
    struct dns_query *txt = &w->q[2 * k], *A = &w->q[2 * k + 1];
    if (txt->status != DNS_OK && A->status != DNS_OK) {
      if (txt->status == DNS_TEMP || A->status == DNS_TEMP)
        qlogm(s, LOGWARN, PLUGIN, "lookup in ", zone[k], " failed temporarily");
      continue;
    }
    w->name.len = 0;
    if (txt->status == DNS_OK) {
      if (!stralloc_cats(&w->name, txt->rr.s)) goto nomem;
    } else if (!stralloc_cats(&w->name, "listed in ") || !stralloc_catb(&w->name, zone[k], zlen[k]))
      goto nomem;
    if (!stralloc_0(&w->name) || !note_conn_set(s, "whitelisthost", w->name.s)) goto nomem;
    qlogm(s, LOGNOTICE, PLUGIN, "Host ", ip, " is whitelisted: ", w->name.s);
    return DECLINED;
  }
  qlog(s, LOGINFO, PLUGIN, "pass, not whitelisted");
  return DECLINED;
nomem:
  hook_nomem(a->msg);
  return DENYSOFT_DISCONNECT;
}

static int wl_setup(struct session *s, void *self)
{
  struct wl *w = self;
  control_readlist(s, "whitelist_zones", &w->zones);
  return 1;
}

const struct plugin plugin_dns_whitelist_soft = {
  .name = "dns_whitelist_soft",
  .init = wl_init,
  .setup = wl_setup,
  .connect = wl_connect,
};
