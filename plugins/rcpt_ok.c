/* rcpt_ok: accepts a recipient whose domain is ours, like Perl qpsmtpd's
   plugins/rcpt_ok and qmail's rcpthosts.c; meant to be the last rcpt plugin.
   A relay client may send anywhere. Otherwise the domain after the last '@',
   lower-cased, must be `me`, be listed in rcpthosts (an entry "example.com"
   matches that host, ".example.com" its subdomains), or be found in
   morercpthosts.cdb with the same suffix walk. postmaster and abuse without
   a domain are ours too.

   Unlike qmail, a missing rcpthosts does not open the relay: like Perl, only
   `me` is accepted then. */
#include <stdlib.h>
#include <byte.h>
#include <str.h>
#include <case.h>
#include "plugin.h"

#define PLUGIN "rcpt_ok"

struct rcpt_ok {
  int have_rcpthosts;
  stralloc rcpthosts;   /* "host\0" each, lower case */
  stralloc host;
};

static int rcpt_ok_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct rcpt_ok *r;

  (void)argv;
  if (argc) {
    stralloc_copys(err, "takes no arguments");
    return 0;
  }
  r = calloc(1, sizeof *r);
  if (!r) {
    stralloc_copys(err, "out of memory");
    return 0;
  }
  *self = r;
  return 1;
}

/* host (lower case, length len) against an rcpthosts entry */
static int host_match(const char *host, size_t len, const char *entry)
{
  size_t elen = str_len(entry);

  if (!elen) return 0;
  if (entry[0] == '.')
    return len >= elen && byte_equal(host + len - elen, elen, entry);
  return len == elen && byte_equal(host, len, entry);
}

static int rcpt_ok_setup(struct session *s, void *self)
{
  struct rcpt_ok *r = self;
  r->have_rcpthosts = control_readlist(s, "rcpthosts", &r->rcpthosts);
  if (!r->have_rcpthosts)
    qlog(s, LOGWARN, PLUGIN, "no rcpthosts: only mail for me is accepted");
  else
    case_lowerb(r->rcpthosts.s, r->rcpthosts.len);
  return 1;
}

static int rcpt_ok_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct rcpt_ok *r = self;
  const char *me = session_me(s);
  const char *h;
  size_t at;
  size_t len;
  size_t i;

  if (session_relay_client(s)) {
    qlog(s, LOGINFO, PLUGIN, "pass, relay client");
    return OK;
  }

  at = byte_rchr(a->addr, a->addrlen, '@');
  if (at == a->addrlen) {
    if ((a->addrlen == 10 && case_equalb(a->addr, 10, "postmaster")) ||
        (a->addrlen == 5 && case_equalb(a->addr, 5, "abuse"))) {
      qlog(s, LOGINFO, PLUGIN, "pass, postmaster or abuse without a domain");
      return OK;
    }
    goto deny;
  }
  len = a->addrlen - at - 1;
  if (!len) goto deny;
  /* no domain has controls, spaces or NULs: such a host can match nothing
     and must not reach the log. 8-bit bytes are a U-label's UTF-8 (an
     SMTPUTF8 transaction: the core checked it), lower-cased in ASCII only
     (RFC 6531 leaves U-labels as sent; rcpthosts lists them so) */
  for (i = at + 1; i < a->addrlen; ++i)
    if ((unsigned char)a->addr[i] <= ' ' || (unsigned char)a->addr[i] == 127) goto deny;
  if (!stralloc_copyb(&r->host, a->addr + at + 1, len) || !stralloc_0(&r->host)) goto nomem;
  case_lowerb(r->host.s, len);
  h = r->host.s;

  if (me && str_len(me) == len && case_equalb(h, len, me)) {
    qlogm(s, LOGINFO, PLUGIN, "pass, ", h, " is me");
    return OK;
  }

  for (i = 0; i < r->rcpthosts.len; i += str_len(r->rcpthosts.s + i) + 1)
    if (host_match(h, len, r->rcpthosts.s + i)) {
      qlogm(s, LOGINFO, PLUGIN, "pass, ", h, " in rcpthosts as ", r->rcpthosts.s + i);
      return OK;
    }

  for (i = 0; i < len; ++i)
    if ((i == 0 || h[i] == '.') && control_cdb_has(s, "morercpthosts", h + i, len - i)) {
      qlogm(s, LOGINFO, PLUGIN, "pass, ", h, " in morercpthosts as ", h + i);
      return OK;
    }

deny:
  qlog(s, LOGINFO, PLUGIN, "fail, relaying denied");
  stralloc_copys(a->msg, "5.7.1 Relaying denied");
  return DENY;

nomem:
  return hook_nomem(a->msg);
}

const struct plugin plugin_rcpt_ok = {
  .name = "rcpt_ok",
  .init = rcpt_ok_init,
  .setup = rcpt_ok_setup,
  .rcpt = rcpt_ok_rcpt,
};
