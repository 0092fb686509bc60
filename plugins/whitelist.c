/* whitelist: exempts listed hosts, HELO names, senders and recipients
   from the plugins after it, like Perl qpsmtpd's plugins/whitelist. Each
   match returns OK for its hook, so the later plugins of that hook do not
   run, and sets a note for later hooks:
     connect  $WHITELISTCLIENT set (tcprules), or the client's address
              equal to or starting with a whitelisthosts line: connection
              note "whitelistclient" or "whitelisthost" (which
              session_immune honours)
     helo     HELO/EHLO host equal (any case) to a whitelisthelo line:
              connection note "whitelisthelo"
     mail     sender address or its domain in whitelistsenders:
              transaction note "whitelistsender" (honoured by
              session_immune)
     rcpt     recipient address or its domain in whitelistrcpt: the
              recipient is accepted; transaction note "whitelistrcpt"
              counts them
   Perl's per_recipient mode needs per-user configuration, which this
   daemon does not have: the argument is refused. */
#include <stdlib.h>
#include <byte.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "whitelist"

struct wl { stralloc hosts, helo, senders, rcpts, addr; };

static int wl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct wl *w;
  if (argc) {
    if (stralloc_copys(err, str_equal(argv[0], "per_recipient") || str_equal(argv[0], "merge")
                              ? "per_recipient mode needs per-user configuration, which is not available: "
                              : "unknown argument "))
      stralloc_cats(err, argv[0]);
    return 0;
  }
  w = calloc(1, sizeof *w);
  if (!w) return stralloc_copys(err, "out of memory"), 0;
  *self = w;
  return 1;
}

static int wl_connect(struct session *s, void *self, struct msg_args *a)
{
  struct wl *w = self;
  const char *ip = session_remote_ip(s);
  size_t i, iplen = str_len(ip);

  (void)a;
  if (env_get("WHITELISTCLIENT")) {
    note_conn_set(s, "whitelistclient", "1");
    qlog(s, LOGINFO, PLUGIN, "pass, is whitelisted client");
    return OK;
  }
  for (i = 0; i < w->hosts.len; i += str_len(w->hosts.s + i) + 1) {
    const char *h = w->hosts.s + i;
    size_t hl = str_len(h);
    if (hl && hl <= iplen && byte_equal(h, hl, ip)) {
      note_conn_set(s, "whitelisthost", "1");
      qlogm(s, LOGINFO, PLUGIN, "pass, is a whitelisted host (", h, ")");
      return OK;
    }
  }
  qlog(s, LOGDEBUG, PLUGIN, "skip, host not whitelisted");
  return DECLINED;
}

static int wl_helo(struct session *s, void *self, struct helo_args *a)
{
  struct wl *w = self;
  size_t i;

  for (i = 0; i < w->helo.len; i += str_len(w->helo.s + i) + 1) {
    const char *h = w->helo.s + i;
    if (str_len(h) == a->hostlen && case_equalb(h, a->hostlen, a->host)) {
      note_conn_set(s, "whitelisthelo", "1");
      qlogm(s, LOGINFO, PLUGIN, "helo host ", h, " in whitelisthelo");
      return OK;
    }
  }
  return DECLINED;
}

/* the line of the list matching the address or its domain, or NULL */
static const char *match_addr(const stralloc *list, struct addr_args *a)
{
  size_t at = byte_rchr(a->addr, a->addrlen, '@');
  size_t i;

  if (!a->addrlen || at == 0 || at + 1 >= a->addrlen) return 0;
  for (i = 0; i < list->len; i += str_len(list->s + i) + 1) {
    const char *h = list->s + i;
    size_t hl = str_len(h);
    if ((hl == a->addrlen && case_equalb(h, hl, a->addr))
        || (hl == a->addrlen - at - 1 && case_equalb(h, hl, a->addr + at + 1)))
      return h;
  }
  return 0;
}

static int wl_mail(struct session *s, void *self, struct addr_args *a)
{
  const char *h = match_addr(&((struct wl *)self)->senders, a);
  if (!h) return DECLINED;
  note_txn_set(s, "whitelistsender", "1");
  qlogm(s, LOGINFO, PLUGIN, "envelope sender in whitelistsenders (", h, ")");
  return OK;
}

static int wl_rcpt(struct session *s, void *self, struct addr_args *a)
{
  const char *h = match_addr(&((struct wl *)self)->rcpts, a);
  const char *n;
  unsigned long count = 0;
  char num[FMT_ULONG];

  if (!h) return DECLINED;
  n = note_txn_get(s, "whitelistrcpt");
  if (n) scan_ulong(n, &count);
  num[fmt_ulong(num, count + 1)] = 0;
  note_txn_set(s, "whitelistrcpt", num);
  qlogm(s, LOGINFO, PLUGIN, "recipient in whitelistrcpt (", h, ")");
  return OK;
}

static int wl_setup(struct session *s, void *self)
{
  struct wl *w = self;
  control_readlist(s, "whitelisthosts", &w->hosts);
  control_readlist(s, "whitelisthelo", &w->helo);
  control_readlist(s, "whitelistsenders", &w->senders);
  control_readlist(s, "whitelistrcpt", &w->rcpts);
  return 1;
}

const struct plugin plugin_whitelist = {
  .name = "whitelist",
  .init = wl_init,
  .setup = wl_setup,
  .connect = wl_connect, .helo = wl_helo, .ehlo = wl_helo,
  .mail = wl_mail, .rcpt = wl_rcpt,
};
