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
   Arguments (Perl's): per_recipient 1 moves every check to RCPT, in
   Perl's order (host, HELO, sender, recipient; the first match accepts
   the recipient and sets its note), for the recipient at hand. Perl then
   reads per-user lists, merged with the global ones unless merge 0,
   through a per-user configuration plugin; there is none here, so the
   global lists serve every recipient (what Perl does without such a
   plugin) and merge is taken and changes nothing. */
#include <stdlib.h>
#include <byte.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "whitelist"

struct wl { stralloc hosts, helo, senders, rcpts, addr; int per_rcpt; };

static int wl_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct wl *w = calloc(1, sizeof *w);
  int i;
  if (!w) return arg_error(err, "out of memory", 0);
  for (i = 0; i < argc; i += 2) {
    if (i + 1 >= argc) return arg_error(err, "missing value after ", argv[i]);
    /* Perl's truth: "0" and "" are false */
    if (str_equal(argv[i], "per_recipient")) w->per_rcpt = !str_equal(argv[i + 1], "0");
    else if (!str_equal(argv[i], "merge"))
      return arg_error(err, "unknown argument (the arguments are per_recipient and merge): ", argv[i]);
  }
  *self = w;
  return 1;
}

static int check_host(struct session *s, struct wl *w)
{
  const char *ip = session_remote_ip(s);
  size_t i, iplen = str_len(ip);

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

static int wl_connect(struct session *s, void *self, struct msg_args *a)
{
  (void)a;
  return ((struct wl *)self)->per_rcpt ? DECLINED : check_host(s, self);
}

static int check_helo(struct session *s, struct wl *w, const char *host, size_t hostlen)
{
  size_t i;

  for (i = 0; i < w->helo.len; i += str_len(w->helo.s + i) + 1) {
    const char *h = w->helo.s + i;
    if (str_len(h) == hostlen && case_equalb(h, hostlen, host)) {
      note_conn_set(s, "whitelisthelo", "1");
      qlogm(s, LOGINFO, PLUGIN, "helo host ", h, " in whitelisthelo");
      return OK;
    }
  }
  return DECLINED;
}

static int wl_helo(struct session *s, void *self, struct helo_args *a)
{
  return ((struct wl *)self)->per_rcpt ? DECLINED : check_helo(s, self, a->host, a->hostlen);
}

/* the line of the list matching the address or its domain, or NULL */
static const char *match_addr(const stralloc *list, const char *addr, size_t addrlen)
{
  size_t at = byte_rchr(addr, addrlen, '@');
  size_t i;

  if (!addrlen || at == 0 || at + 1 >= addrlen) return 0;
  for (i = 0; i < list->len; i += str_len(list->s + i) + 1) {
    const char *h = list->s + i;
    size_t hl = str_len(h);
    if ((hl == addrlen && case_equalb(h, hl, addr))
        || (hl == addrlen - at - 1 && case_equalb(h, hl, addr + at + 1)))
      return h;
  }
  return 0;
}

static int check_sender(struct session *s, struct wl *w, const char *addr, size_t addrlen)
{
  const char *h = match_addr(&w->senders, addr, addrlen);
  if (!h) return DECLINED;
  note_txn_set(s, "whitelistsender", "1");
  qlogm(s, LOGINFO, PLUGIN, "envelope sender in whitelistsenders (", h, ")");
  return OK;
}

static int wl_mail(struct session *s, void *self, struct addr_args *a)
{
  return ((struct wl *)self)->per_rcpt ? DECLINED : check_sender(s, self, a->addr, a->addrlen);
}

static int check_rcpt(struct session *s, struct wl *w, struct addr_args *a)
{
  const char *h = match_addr(&w->rcpts, a->addr, a->addrlen);
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

static int wl_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct wl *w = self;
  const char *helo, *sender;
  if (w->per_rcpt) {
    /* Perl's per_recipient order; the first match accepts the recipient */
    if (check_host(s, w) == OK) return OK;
    if ((helo = session_hello_host(s)) && check_helo(s, w, helo, str_len(helo)) == OK) return OK;
    if ((sender = txn_sender(s)) && check_sender(s, w, sender, str_len(sender)) == OK) return OK;
  }
  return check_rcpt(s, w, a);
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
