/* milter: a Sendmail/Postfix milter client (protocol version 6), as
   Postfix's smtpd_milters. One connection to the milter per SMTP session,
   opened at connect; each SMTP stage is sent as it happens (connect,
   HELO/EHLO, MAIL, RCPT, DATA), the message at data_post (its header
   fields as they will be queued, the end of the header section, the body
   in chunks of at most 65535 bytes with CRLF line ends, the end of the
   message), with the macros Postfix sends before each stage. The
   milter's replies: continue, accept (no more for this message, or for
   the session at connect and HELO), reject (550 5.7.1), tempfail (451
   4.7.1), discard (250, nothing queued), a reply of its own
   (REPLYCODE), shutdown (421). Its changes to the message apply when the
   message is accepted: header fields added, inserted (index 0: at the
   very top, as a DKIM-Signature), changed and removed; the body replaced;
   recipients added and removed; the sender changed; quarantine (the
   transaction note milter_quarantine holds the reason; postfix-queue
   through cleanup puts such a message in Postfix's hold queue, the other
   queues have none and take it as usual).

   Every byte from the milter is checked (milter_proto.c). A milter that
   cannot be reached, times out, breaks the protocol or asks for a change
   it did not negotiate gets the default action, for the rest of the
   session: accept (skip the milter), tempfail (451 4.7.1 from MAIL on)
   or reject (550 5.5.0 from MAIL on).

   Several milters: one plugin line each, in the order they are asked.
   Put them after the plugins that refuse clients and recipients (a
   milter sees only what they let through) and before rcpt_ok and the
   queue plugin (it never says yes to a recipient, only no).

   Arguments (Postfix's names):
     SOCKET                  inet:IP:port, inet:[IPv6]:port or unix:/path
     default_action A        accept, tempfail (default) or reject
     connect_timeout T       connecting and negotiating (30s)
     command_timeout T       each SMTP stage (30s)
     content_timeout T       each header field, body chunk and the end of
                             the message (300s)
   T: seconds, "Ns" or "Nms". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <case.h>
#include <fmt.h>
#include <scan.h>
#include <str.h>
#include "plugin.h"
#include "netio.h"
#include "milter_proto.h"

#define PLUGIN "milter"
#define MODS_MAX (32UL * 1024 * 1024)   /* the changes buffered at the end of a message */
#define PACKETS_MAX 100000              /* replies to one event (progress, changes) */

enum { DA_ACCEPT, DA_TEMPFAIL, DA_REJECT };
/* the milter's standing for the session */
enum { M_NONE, M_OPEN, M_ACCEPTED, M_FAILED };

struct mlt {
  const char *spec;
  const char *addr;             /* for net_connect */
  int defact;
  unsigned long conn_ms, cmd_ms, content_ms;
  int fd;
  int state;
  unsigned long act, proto;
  int in_txn;                   /* MAIL sent, the message not ended */
  int txn_done;                 /* accepted for this message: no more events */
  int discard;
  unsigned int rcpts;           /* RCPT events sent in this transaction */
  unsigned long txns;
  char qid[48];
  stralloc pkt, rep, mods, tmp;
};

/* "30", "30s", "500ms": milliseconds, 0 when bad */
static unsigned long scan_ms(const char *v)
{
  unsigned long n;
  size_t l = scan_ulong(v, &n);
  if (!l || n > 3600000) return 0;
  if (!v[l] || str_equal(v + l, "s")) return n > 3600 ? 0 : n * 1000;
  if (str_equal(v + l, "ms")) return n;
  return 0;
}

static int m_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct mlt *m = calloc(1, sizeof *m);
  int i;
  if (!m) return arg_error(err, "out of memory", 0);
  m->fd = -1;
  m->defact = DA_TEMPFAIL;
  m->conn_ms = m->cmd_ms = 30000;
  m->content_ms = 300000;
  if (argc < 1) return arg_error(err, "names no milter socket (inet:IP:port or unix:/path)", 0);
  m->spec = argv[0];
  if (!strncmp(argv[0], "inet:", 5)) m->addr = argv[0] + 5;
  else if (!strncmp(argv[0], "unix:", 5)) m->addr = argv[0] + 5;
  else m->addr = argv[0];
  if (!net_addr_ok(m->addr)) return arg_error(err, "the milter socket is inet:IP:port, inet:[IPv6]:port or unix:/path, not ", argv[0]);
  for (i = 1; i < argc; i += 2) {
    const char *k = argv[i], *v;
    if (i + 1 >= argc) return arg_error(err, "missing value after ", k);
    v = argv[i + 1];
    if (str_equal(k, "default_action")) {
      if (str_equal(v, "accept")) m->defact = DA_ACCEPT;
      else if (str_equal(v, "tempfail")) m->defact = DA_TEMPFAIL;
      else if (str_equal(v, "reject")) m->defact = DA_REJECT;
      else return arg_error(err, "default_action takes accept, tempfail or reject, not ", v);
    } else if (str_equal(k, "connect_timeout") || str_equal(k, "command_timeout") || str_equal(k, "content_timeout")) {
      unsigned long ms = scan_ms(v);
      if (!ms) return arg_error(err, "a timeout takes seconds (1-3600), Ns or Nms, not ", v);
      if (str_equal(k, "connect_timeout")) m->conn_ms = ms;
      else if (str_equal(k, "command_timeout")) m->cmd_ms = ms;
      else m->content_ms = ms;
    } else
      return arg_error(err, "unknown argument ", k);
  }
  *self = m;
  return 1;
}

static void m_close(struct mlt *m)
{
  if (m->fd >= 0) close(m->fd);
  m->fd = -1;
}

/* the milter failed: closed, and the default action from now on */
static void m_fail(struct session *s, struct mlt *m, const char *why)
{
  static const char *const acts[] = { "accept", "tempfail", "reject" };
  qlogm(s, LOGERROR, PLUGIN, m->spec, ": ", why, errno == ETIMEDOUT ? " (timed out)" : "",
        "; default_action ", acts[m->defact]);
  m_close(m);
  m->state = M_FAILED;
}

/* the default action's answer at a stage that can refuse */
static int m_default(struct mlt *m, stralloc *msg)
{
  if (m->defact == DA_TEMPFAIL) { stralloc_copys(msg, "4.7.1 Service unavailable - try again later"); return DENYSOFT; }
  if (m->defact == DA_REJECT) { stralloc_copys(msg, "5.5.0 Service unavailable"); return DENY; }
  return DECLINED;
}

static int read_exact(int fd, char *buf, size_t len, long long deadline)
{
  while (len) {
    ssize_t r = net_read(fd, buf, len, deadline);
    if (r <= 0) { if (r == 0) errno = ECONNRESET; return -1; }
    buf += r;
    len -= (size_t)r;
  }
  return 0;
}

/* one packet from the milter: its command, its data in m->rep; 0 ok, -1
   failed (why set) */
static int m_read(struct mlt *m, char *cmd, long long deadline, const char **why)
{
  unsigned char h[5];
  size_t len;
  if (read_exact(m->fd, (char *)h, 5, deadline) == -1) { *why = "cannot read from the milter"; return -1; }
  if (!milter_pkt_len(h, &len)) { *why = "a reply packet of a bad length"; return -1; }
  *cmd = (char)h[4];
  if (!stralloc_ready(&m->rep, len + 1)) { *why = "out of memory"; return -1; }
  m->rep.len = len;
  if (len && read_exact(m->fd, m->rep.s, len, deadline) == -1) { *why = "cannot read from the milter"; return -1; }
  return 0;
}

/* appends a macro packet for stage cmd: names and values alternate in
   kv (NULL values are left out), n pairs */
static int m_macros(struct mlt *m, char cmd, const char *const *kv, int n)
{
  int i;
  m->tmp.len = 0;
  if (!stralloc_append(&m->tmp, &cmd)) return 0;
  for (i = 0; i < n; ++i) {
    if (!kv[2 * i + 1]) continue;
    if (!milter_cat0(&m->tmp, kv[2 * i], strlen(kv[2 * i]))
        || !milter_cat0(&m->tmp, kv[2 * i + 1], strlen(kv[2 * i + 1]))) return 0;
  }
  return milter_pkt(&m->pkt, SMFIC_MACRO, m->tmp.s, m->tmp.len);
}

/* sends what m->pkt holds and, unless noreply, reads the milter's final
   answer to it (progress renews the deadline). The answer's command, 0
   when the milter failed (m_fail called). At the end of the message
   (eom) the changes are kept in m->mods. */
static char m_exchange(struct session *s, struct mlt *m, unsigned long ms, int noreply, int body, int eom)
{
  long long deadline = net_deadline(ms);
  const char *why = 0;
  unsigned long n;
  struct milter_reply r;
  char cmd;
  if (net_write_all(m->fd, m->pkt.s, m->pkt.len, deadline) == -1) { m_fail(s, m, "cannot write to the milter"); return 0; }
  m->pkt.len = 0;
  if (noreply) return SMFIR_CONTINUE;
  for (n = 0; n < PACKETS_MAX; ++n) {
    errno = 0;
    if (m_read(m, &cmd, deadline, &why) == -1) { m_fail(s, m, why); return 0; }
    if (!milter_reply_parse(cmd, m->rep.s, m->rep.len, &r)) { errno = 0; m_fail(s, m, "a malformed or unknown reply"); return 0; }
    switch (cmd) {
    case SMFIR_PROGRESS:
      deadline = net_deadline(ms);
      continue;
    case SMFIR_ACCEPT: case SMFIR_CONTINUE: case SMFIR_REJECT: case SMFIR_TEMPFAIL:
    case SMFIR_DISCARD: case SMFIR_REPLYCODE: case SMFIR_SHUTDOWN:
      return cmd;
    case SMFIR_SKIP:
      if (body && (m->proto & SMFIP_SKIP)) return cmd;
      break;
    default: {
      /* a change: only at the end of the message, and only if negotiated */
      static const struct { char cmd; unsigned long act; } need[] = {
        { SMFIR_ADDHEADER, SMFIF_ADDHDRS }, { SMFIR_INSHEADER, SMFIF_ADDHDRS }, { SMFIR_CHGHEADER, SMFIF_CHGHDRS },
        { SMFIR_REPLBODY, SMFIF_CHGBODY }, { SMFIR_ADDRCPT, SMFIF_ADDRCPT }, { SMFIR_ADDRCPT_PAR, SMFIF_ADDRCPT_PAR },
        { SMFIR_DELRCPT, SMFIF_DELRCPT }, { SMFIR_CHGFROM, SMFIF_CHGFROM }, { SMFIR_QUARANTINE, SMFIF_QUARANTINE },
      };
      size_t i;
      for (i = 0; i < sizeof need / sizeof need[0] && need[i].cmd != cmd; ++i) ;
      if (!eom || i == sizeof need / sizeof need[0] || !(m->act & need[i].act)) break;
      if (m->mods.len + m->rep.len + 5 > MODS_MAX) { errno = 0; m_fail(s, m, "too many changes"); return 0; }
      if (!stralloc_append(&m->mods, &cmd) || !milter_cat32(&m->mods, m->rep.len)
          || !stralloc_catb(&m->mods, m->rep.s, m->rep.len)) { errno = 0; m_fail(s, m, "out of memory"); return 0; }
      continue;
    }
    }
    errno = 0;
    m_fail(s, m, "a reply out of place or not negotiated");
    return 0;
  }
  errno = 0;
  m_fail(s, m, "too many replies");
  return 0;
}

/* the answer to a stage as the hook's code. stage: 0 session (connect,
   HELO), 1 message */
static int m_answer(struct session *s, struct mlt *m, char cmd, int stage, stralloc *msg)
{
  switch (cmd) {
  case 0:
    return stage ? m_default(m, msg) : DECLINED;
  case SMFIR_CONTINUE:
    return DECLINED;
  case SMFIR_ACCEPT:
    if (stage) m->txn_done = 1;
    else { m->state = M_ACCEPTED; m_close(m); }
    qlogm(s, LOGINFO, PLUGIN, m->spec, ": accept");
    return DECLINED;
  case SMFIR_DISCARD:
    if (stage) { m->discard = 1; m->txn_done = 1; qlogm(s, LOGINFO, PLUGIN, m->spec, ": discard"); }
    return DECLINED;
  case SMFIR_REJECT:
    qlogm(s, LOGINFO, PLUGIN, m->spec, ": reject");
    stralloc_copys(msg, "5.7.1 Command rejected");
    return DENY;
  case SMFIR_TEMPFAIL:
    qlogm(s, LOGINFO, PLUGIN, m->spec, ": tempfail");
    stralloc_copys(msg, "4.7.1 Service unavailable - try again later");
    return DENYSOFT;
  case SMFIR_SHUTDOWN:
    qlogm(s, LOGINFO, PLUGIN, m->spec, ": shutdown");
    stralloc_copys(msg, "4.7.0 Server closing connection");
    return DENYSOFT_DISCONNECT;
  case SMFIR_REPLYCODE: {
    unsigned int code;
    char ec[16];
    if (milter_replycode(m->rep.s, m->rep.len - 1, &code, ec, &m->tmp) != 1 || !stralloc_0(&m->tmp)) return hook_nomem(msg);
    qlogm(s, LOGINFO, PLUGIN, m->spec, ": reply ", m->rep.s);
    session_reply(s, code, ec[0] ? ec : (code < 500 ? "4.7.1" : "5.7.1"),
                  m->tmp.len > 1 ? m->tmp.s : (code < 500 ? "Service unavailable - try again later" : "Command rejected"));
    if (code == 421 || !stage) session_disconnect_later(s);
    return DONE;
  }
  }
  return DECLINED;
}

/* a stage's event is sent: m is open and the milter wants it */
static int m_wants(struct mlt *m, int stage)
{
  return m->state == M_OPEN && !(stage && m->txn_done);
}

/* the number in x, or 0 */
static unsigned long num(const char *x)
{
  unsigned long n = 0;
  if (x) scan_ulong(x, &n);
  return n;
}

/* connects and negotiates, then the connect stage: at the connect hook,
   or at the first hook that runs when a plugin before this one ended the
   connect hook (OK) */
static int m_open(struct session *s, struct mlt *m, struct msg_args *a)
{
  long long deadline = net_deadline(m->conn_ms);
  const char *ip = session_remote_ip(s), *host = session_remote_host(s), *why = 0;
  unsigned long ver, port;
  char cmd, pb[2], desc[320], *bracket;
  size_t n;
  if (m->state != M_NONE) return DECLINED;
  m->pkt.len = 0;
  m->fd = net_connect(m->addr, deadline);
  if (m->fd < 0) { m_fail(s, m, "cannot connect"); return DECLINED; }
  m->tmp.len = 0;
  if (!milter_cat32(&m->tmp, MILTER_VERSION) || !milter_cat32(&m->tmp, MILTER_ACTIONS_OFFER)
      || !milter_cat32(&m->tmp, MILTER_PROTO_OFFER) || !milter_pkt(&m->pkt, SMFIC_OPTNEG, m->tmp.s, m->tmp.len))
    return hook_nomem(a->msg);
  if (net_write_all(m->fd, m->pkt.s, m->pkt.len, deadline) == -1) { m_fail(s, m, "cannot write to the milter"); return DECLINED; }
  m->pkt.len = 0;
  errno = 0;
  if (m_read(m, &cmd, deadline, &why) == -1) { m_fail(s, m, why); return DECLINED; }
  if (cmd != SMFIC_OPTNEG || !milter_optneg_parse(m->rep.s, m->rep.len, &ver, &m->act, &m->proto)) {
    errno = 0;
    m_fail(s, m, "a bad answer to the negotiation");
    return DECLINED;
  }
  /* what it asks for beyond what we offered it does not get */
  m->act &= MILTER_ACTIONS_OFFER;
  if (m->proto & ~(unsigned long)MILTER_PROTO_OFFER) { errno = 0; m_fail(s, m, "asks for protocol steps we do not offer"); return DECLINED; }
  m->state = M_OPEN;
  if (m->proto & SMFIP_NOCONNECT) return DECLINED;

  /* _ is "name [ip]" as Postfix has it; the host is "[ip]" when unknown */
  if (!ip || strlen(ip) > 45) ip = "";
  if (host && strlen(host) > 253) host = 0;
  n = str_copy(desc, host ? host : "unknown");
  desc[n++] = ' ';
  bracket = desc + n;
  desc[n++] = '[';
  n += str_copy(desc + n, ip);
  desc[n++] = ']';
  desc[n] = 0;
  {
    const char *kv[] = { "j", session_me(s), "_", desc, "{daemon_name}", "qpsmtpd", "v", "qpsmtpd",
                         "{daemon_addr}", session_local_ip(s), "{if_addr}", session_local_ip(s),
                         "{client_addr}", ip, "{client_port}", session_remote_port(s),
                         "{client_name}", host ? host : "unknown" };
    if (!m_macros(m, SMFIC_CONNECT, kv, 9)) return hook_nomem(a->msg);
  }
  m->tmp.len = 0;
  port = num(session_remote_port(s));
  pb[0] = (char)(port >> 8 & 0xff);
  pb[1] = (char)(port & 0xff);
  if (!milter_cat0(&m->tmp, host ? host : bracket, strlen(host ? host : bracket))) return hook_nomem(a->msg);
  if (*ip) {
    if (!stralloc_append(&m->tmp, strchr(ip, ':') ? "6" : "4") || !stralloc_catb(&m->tmp, pb, 2)
        || !milter_cat0(&m->tmp, ip, strlen(ip))) return hook_nomem(a->msg);
  } else if (!stralloc_append(&m->tmp, "U")) return hook_nomem(a->msg);
  if (!milter_pkt(&m->pkt, SMFIC_CONNECT, m->tmp.s, m->tmp.len)) return hook_nomem(a->msg);
  return m_answer(s, m, m_exchange(s, m, m->cmd_ms, m->proto & SMFIP_NR_CONN, 0, 0), 0, a->msg);
}

static int m_connect(struct session *s, void *self, struct msg_args *a)
{
  return m_open(s, self, a);
}

/* opened when it was not yet: m_open's code */
static int m_opened(struct session *s, struct mlt *m, stralloc *msg)
{
  struct msg_args a = { msg };
  return m->state == M_NONE ? m_open(s, m, &a) : DECLINED;
}

/* {cipher_bits}: the symmetric key's bits, read off the suite's name
   (OpenSSL's names, as starttls.c logs them) */
static const char *cipher_bits(const char *cipher)
{
  if (!cipher) return 0;
  if (strstr(cipher, "AES128")) return "128";
  if (strstr(cipher, "AES256") || strstr(cipher, "CHACHA20")) return "256";
  return 0;
}

static int m_helo(struct session *s, void *self, struct helo_args *a)
{
  struct mlt *m = self;
  int rc = m_opened(s, m, a->msg);
  if (rc != DECLINED) return rc;
  if (!m_wants(m, 0) || (m->proto & SMFIP_NOHELO)) return DECLINED;
  {
    /* Postfix's milter_helo_macros: the TLS state after STARTTLS (the
       client certificate's subject when one was verified; its issuer is
       not kept, so {cert_issuer} is never sent) */
    const char *cipher = note_conn_get(s, "tls_enabled") ? note_conn_get(s, "tls_cipher") : 0;
    const char *kv[] = { "{tls_version}", cipher ? note_conn_get(s, "tls_version") : 0, "{cipher}", cipher,
                         "{cipher_bits}", cipher_bits(cipher),
                         "{cert_subject}", cipher ? note_conn_get(s, "tls_client_subject") : 0 };
    if (cipher && !m_macros(m, SMFIC_HELO, kv, 4)) return hook_nomem(a->msg);
  }
  m->tmp.len = 0;
  if (!milter_cat0(&m->tmp, a->host, a->hostlen) || !milter_pkt(&m->pkt, SMFIC_HELO, m->tmp.s, m->tmp.len))
    return hook_nomem(a->msg);
  return m_answer(s, m, m_exchange(s, m, m->cmd_ms, m->proto & SMFIP_NR_HELO, 0, 0), 0, a->msg);
}

/* MAIL and RCPT: "<addr>" and the ESMTP parameters, keys upper case */
static int m_addr_event(struct session *s, struct mlt *m, char cmd, struct addr_args *a)
{
  size_t i = 0;
  m->tmp.len = 0;
  if (!stralloc_append(&m->tmp, "<") || !stralloc_catb(&m->tmp, a->addr, a->addrlen)
      || !milter_cat0(&m->tmp, ">", 1)) return 0;
  while (i < a->paramslen) {
    const char *p = a->params + i, *z = memchr(p, 0, a->paramslen - i);
    size_t l = z ? (size_t)(z - p) : a->paramslen - i, j, start = m->tmp.len;
    if (!milter_cat0(&m->tmp, p, l)) return 0;
    for (j = start; j < m->tmp.len && m->tmp.s[j] != '='; ++j)
      if (m->tmp.s[j] >= 'a' && m->tmp.s[j] <= 'z') m->tmp.s[j] = (char)(m->tmp.s[j] - 32);
    i += l + 1;
  }
  return milter_pkt(&m->pkt, cmd, m->tmp.s, m->tmp.len);
}

/* the MAIL stage (a new transaction for the milter) */
static int m_mail_event(struct session *s, struct mlt *m, struct addr_args *a)
{
  char addr[MILTER_ADDR_MAX + 1];
  size_t n;
  m->txn_done = 0;
  m->discard = 0;
  m->rcpts = 0;
  m->mods.len = 0;
  if (!m_wants(m, 1)) return DECLINED;
  n = fmt_ulong(m->qid, (unsigned long)getpid());
  m->qid[n++] = '.';
  m->qid[n + fmt_ulong(m->qid + n, ++m->txns)] = 0;
  m->in_txn = 1;
  if (m->proto & SMFIP_NOMAIL) return DECLINED;
  n = a->addrlen < MILTER_ADDR_MAX ? a->addrlen : MILTER_ADDR_MAX;
  memcpy(addr, a->addr, n);
  addr[n] = 0;
  {
    const char *user = note_conn_get(s, "auth_user");
    /* {auth_author}: MAIL's AUTH= parameter, which the core keeps (as
       auth_sender) only from an authenticated client; "<>" stays out */
    const char *author = user ? note_txn_get(s, "auth_sender") : 0;
    /* {auth_type}: the SASL mechanism's name as registered (upper case) */
    const char *mech = user ? note_conn_get(s, "auth_mechanism") : 0;
    char type[24];
    if (mech) {
      size_t k;
      for (k = 0; mech[k] && k < sizeof type - 1; ++k)
        type[k] = mech[k] >= 'a' && mech[k] <= 'z' ? (char)(mech[k] - 32) : mech[k];
      type[k] = 0;
    }
    const char *kv[] = { "i", m->qid, "{mail_addr}", addr, "{auth_type}", mech ? type : 0,
                         "{auth_authen}", user, "{auth_author}", author && *author ? author : 0 };
    if (!m_macros(m, SMFIC_MAIL, kv, 5) || !m_addr_event(s, m, SMFIC_MAIL, a)) return hook_nomem(a->msg);
  }
  return m_answer(s, m, m_exchange(s, m, m->cmd_ms, m->proto & SMFIP_NR_MAIL, 0, 0), 1, a->msg);
}

static int m_mail(struct session *s, void *self, struct addr_args *a)
{
  struct mlt *m = self;
  int rc = m_opened(s, m, a->msg);
  if (rc != DECLINED) return rc;
  if (m->state == M_FAILED) return m_default(m, a->msg);
  return m_mail_event(s, m, a);
}

/* before RCPT, DATA and the end of the message: the milter opened and its
   transaction begun, when a plugin before this one ended the connect or
   the mail hook (OK); DECLINED, or the code to return */
static int m_ready(struct session *s, struct mlt *m, stralloc *msg)
{
  const char *from = txn_sender(s);
  int rc = m_opened(s, m, msg);
  if (rc != DECLINED) return rc;
  if (m->state == M_FAILED) return m_default(m, msg);
  if (m->state == M_OPEN && !m->in_txn && !m->txn_done && from) {
    struct addr_args a = { from, strlen(from), "", 0, msg };
    return m_mail_event(s, m, &a);
  }
  return DECLINED;
}

/* the RCPT stage */
static int m_rcpt_event(struct session *s, struct mlt *m, struct addr_args *a)
{
  char addr[MILTER_ADDR_MAX + 1];
  size_t n = a->addrlen < MILTER_ADDR_MAX ? a->addrlen : MILTER_ADDR_MAX;
  const char *kv[] = { "i", m->qid, "{rcpt_addr}", addr };
  memcpy(addr, a->addr, n);
  addr[n] = 0;
  if (!m_macros(m, SMFIC_RCPT, kv, 2) || !m_addr_event(s, m, SMFIC_RCPT, a)) return hook_nomem(a->msg);
  ++m->rcpts;
  return m_answer(s, m, m_exchange(s, m, m->cmd_ms, m->proto & SMFIP_NR_RCPT, 0, 0), 1, a->msg);
}

static int m_rcpt(struct session *s, void *self, struct addr_args *a)
{
  struct mlt *m = self;
  int rc = m_ready(s, m, a->msg);
  if (rc != DECLINED) return rc;
  if (!m_wants(m, 1) || (m->proto & SMFIP_NORCPT)) return DECLINED;
  return m_rcpt_event(s, m, a);
}

/* DATA and the end of the message: when a plugin before this one accepted
   every recipient (OK at rcpt), the milter has seen none: they are sent
   now, and one it refuses refuses the message */
static int m_ready_rcpts(struct session *s, struct mlt *m, stralloc *msg)
{
  unsigned int i;
  int rc = m_ready(s, m, msg);
  if (rc != DECLINED || m->rcpts || !m_wants(m, 1) || (m->proto & SMFIP_NORCPT)) return rc;
  for (i = 0; i < txn_rcpt_count(s) && m_wants(m, 1); ++i) {
    const char *r = txn_rcpt(s, i);
    struct addr_args a = { r, strlen(r), "", 0, msg };
    rc = m_rcpt_event(s, m, &a);
    if (rc != DECLINED) return rc;        /* DONE: its own reply is sent */
  }
  return DECLINED;
}

static int m_data(struct session *s, void *self, struct msg_args *a)
{
  struct mlt *m = self;
  const char *kv[] = { "i", m->qid };
  int rc = m_ready_rcpts(s, m, a->msg);
  if (rc != DECLINED) return rc;
  if (!m_wants(m, 1) || (m->proto & SMFIP_NODATA)) return DECLINED;
  if (!m_macros(m, SMFIC_DATA, kv, 1) || !milter_pkt(&m->pkt, SMFIC_DATA, "", 0)) return hook_nomem(a->msg);
  return m_answer(s, m, m_exchange(s, m, m->cmd_ms, m->proto & SMFIP_NR_DATA, 0, 0), 1, a->msg);
}

/* the header fields, one event each: the milter's answer, SMFIR_CONTINUE
   when it wants no more of them, 0 failed, 'n' out of memory */
static char m_headers(struct session *s, struct mlt *m, const stralloc *h)
{
  size_t i = 0;
  while (i < h->len) {
    const char *x = h->s + i, *colon;
    size_t l = 0, nl, v;
    char cmd;
    do {
      const char *e = memchr(x + l, '\n', h->len - i - l);
      l = e ? (size_t)(e - x) + 1 : h->len - i;
    } while (i + l < h->len && (x[l] == ' ' || x[l] == '\t'));
    i += l;
    colon = memchr(x, ':', l);
    if (!colon || colon == x || x[0] == ' ' || x[0] == '\t') continue;
    nl = (size_t)(colon - x);
    v = nl + 1;
    if (!(m->proto & SMFIP_HDR_LEADSPC)) while (v < l && (x[v] == ' ' || x[v] == '\t')) ++v;
    if (l && x[l - 1] == '\n') --l;
    m->tmp.len = 0;
    if (!milter_cat0(&m->tmp, x, nl) || !milter_cat0(&m->tmp, x + v, l > v ? l - v : 0)
        || !milter_pkt(&m->pkt, SMFIC_HEADER, m->tmp.s, m->tmp.len)) return 'n';
    cmd = m_exchange(s, m, m->content_ms, m->proto & SMFIP_NR_HDR, 0, 0);
    if (cmd != SMFIR_CONTINUE) return cmd;
  }
  return SMFIR_CONTINUE;
}

/* the body from off on, CRLF line ends, chunk by chunk */
static char m_body(struct session *s, struct mlt *m, unsigned long long off)
{
  char in[16384], *out = malloc(MILTER_CHUNK);
  size_t ol = 0;
  char cmd = SMFIR_CONTINUE;
  int last = 0;
  if (!out) return 'n';
  while (!last) {
    ssize_t r = txn_message_read(s, off, in, sizeof in), k;
    if (r < 0) { free(out); errno = 0; m_fail(s, m, "cannot read the spool"); return 0; }
    if (r == 0) last = 1;
    off += (unsigned long long)(r > 0 ? r : 0);
    for (k = 0; k <= r; ++k) {
      if (ol + 2 > MILTER_CHUNK || (last && ol)) {
        if (!milter_pkt(&m->pkt, SMFIC_BODY, out, ol)) { free(out); return 'n'; }
        ol = 0;
        cmd = m_exchange(s, m, m->content_ms, m->proto & SMFIP_NR_BODY, 1, 0);
        if (cmd != SMFIR_CONTINUE) { free(out); return cmd == SMFIR_SKIP ? SMFIR_CONTINUE : cmd; }
      }
      if (k == r) break;
      if (in[k] == '\n') out[ol++] = '\r';
      out[ol++] = in[k];
    }
  }
  free(out);
  return cmd;
}

/* a header value from the milter: CRLF folds as LF, leading blanks off */
static const char *m_value(struct mlt *m, const char *v, size_t len)
{
  size_t i;
  m->tmp.len = 0;
  while (len && (*v == ' ' || *v == '\t')) { ++v; --len; }
  for (i = 0; i < len; ++i)
    if (v[i] != '\r' && !stralloc_append(&m->tmp, v + i)) return 0;
  return stralloc_0(&m->tmp) ? m->tmp.s : 0;
}

/* m->mods applied: 1 ok, 0 out of memory or a spool error */
static int m_apply(struct session *s, struct mlt *m)
{
  size_t i = 0;
  int body = 0, cr = 0;
  stralloc name = {0}, addr = {0};
  int ok = 0;
  while (i < m->mods.len) {
    char cmd = m->mods.s[i];
    const unsigned char *u = (const unsigned char *)m->mods.s + i + 1;
    size_t len = (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
    struct milter_reply r;
    const char *v;
    unsigned int k;
    milter_reply_parse(cmd, m->mods.s + i + 5, len, &r);
    i += 5 + len;
    if (r.name && (!stralloc_copyb(&name, r.name, r.namelen) || !stralloc_0(&name))) goto out;
    switch (cmd) {
    case SMFIR_ADDHEADER: case SMFIR_INSHEADER:
      if (!(v = m_value(m, r.value, r.valuelen))) goto out;
      if (!(cmd == SMFIR_INSHEADER && r.index == 0 ? txn_add_header_top(s, name.s, v) : txn_add_header(s, name.s, v))) goto out;
      qlogm(s, LOGINFO, PLUGIN, m->spec, ": add header ", name.s);
      break;
    case SMFIR_CHGHEADER: {
      int c;
      if (!(v = m_value(m, r.value, r.valuelen))) goto out;
      c = txn_header_change(s, name.s, r.index, *v ? v : NULL);
      if (c < 0) qlogm(s, LOGWARN, PLUGIN, m->spec, ": header section too large to change ", name.s);
      else if (c == 0 && *v && !txn_add_header(s, name.s, v)) goto out;
      qlogm(s, LOGINFO, PLUGIN, m->spec, *v ? ": change header " : ": delete header ", name.s);
      break;
    }
    case SMFIR_REPLBODY: {
      size_t j, start = 0;
      if (!body) {
        if (!txn_body_replace(s)) goto out;
        body = 1;
        qlogm(s, LOGINFO, PLUGIN, m->spec, ": replace body");
      }
      /* CRLF to LF, across chunks */
      for (j = 0; j < r.datalen; ++j) {
        if (cr && r.data[j] != '\n' && !txn_body_append(s, "\r", 1)) goto out;
        cr = 0;
        if (r.data[j] == '\r') {
          if (j > start && !txn_body_append(s, r.data + start, j - start)) goto out;
          start = j + 1;
          cr = 1;
        }
      }
      if (j > start && !txn_body_append(s, r.data + start, j - start)) goto out;
      break;
    }
    case SMFIR_ADDRCPT: case SMFIR_ADDRCPT_PAR: {
      const char *two[2];
      unsigned int n = txn_rcpt_count(s);
      if (!n) break;
      two[0] = txn_rcpt(s, n - 1);
      two[1] = name.s;
      if (!stralloc_copys(&addr, two[0]) || !stralloc_0(&addr)) goto out;
      two[0] = addr.s;
      if (!txn_rcpt_replace(s, n - 1, two, 2)) {
        if (errno == E2BIG) { qlogm(s, LOGWARN, PLUGIN, m->spec, ": too many recipients, not added: ", name.s); break; }
        goto out;
      }
      qlogm(s, LOGINFO, PLUGIN, m->spec, ": add recipient ", name.s);
      break;
    }
    case SMFIR_DELRCPT:
      for (k = 0; k < txn_rcpt_count(s);) {
        if (!case_diffs(txn_rcpt(s, k), name.s)) {
          if (!txn_rcpt_replace(s, k, NULL, 0)) goto out;
          qlogm(s, LOGINFO, PLUGIN, m->spec, ": delete recipient ", name.s);
        } else ++k;
      }
      break;
    case SMFIR_CHGFROM:
      if (!txn_set_sender(s, name.s)) goto out;
      qlogm(s, LOGINFO, PLUGIN, m->spec, ": change sender to <", name.s, ">");
      break;
    case SMFIR_QUARANTINE:
      if (!note_txn_set(s, "milter_quarantine", name.s)) goto out;
      qlogm(s, LOGNOTICE, PLUGIN, m->spec, ": quarantine: ", name.s);
      break;
    }
  }
  if (cr && !txn_body_append(s, "\r", 1)) goto out;
  ok = 1;
out:
  stralloc_free(&name);
  stralloc_free(&addr);
  m->mods.len = 0;
  return ok;
}

static int m_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct mlt *m = self;
  unsigned long long hoff, boff, off;
  stralloc h = {0};
  char cmd = SMFIR_CONTINUE, buf[4096];
  int rc = m_ready_rcpts(s, m, a->msg);
  if (rc != DECLINED) return rc;
  if (m_wants(m, 1)) {
    const char *kv[] = { "i", m->qid };
    txn_message_parts(s, &hoff, &boff);
    m->mods.len = 0;
    if (!(m->proto & SMFIP_NOHDRS)) {
      for (off = 0; off < boff;) {
        ssize_t r = txn_message_read(s, off, buf, boff - off < sizeof buf ? (size_t)(boff - off) : sizeof buf);
        if (r <= 0) { stralloc_free(&h); errno = 0; m_fail(s, m, "cannot read the spool"); return m_default(m, a->msg); }
        if (!stralloc_catb(&h, buf, (size_t)r)) { stralloc_free(&h); return hook_nomem(a->msg); }
        off += (unsigned long long)r;
      }
      cmd = m_headers(s, m, &h);
      stralloc_free(&h);
    }
    if (cmd == SMFIR_CONTINUE && !(m->proto & SMFIP_NOEOH)) {
      if (!m_macros(m, SMFIC_EOH, kv, 1) || !milter_pkt(&m->pkt, SMFIC_EOH, "", 0)) return hook_nomem(a->msg);
      cmd = m_exchange(s, m, m->content_ms, m->proto & SMFIP_NR_EOH, 0, 0);
    }
    if (cmd == SMFIR_CONTINUE && !(m->proto & SMFIP_NOBODY)) {
      /* the empty line that ends the header section is not the body's */
      off = boff;
      if (txn_message_read(s, boff, buf, 1) == 1 && buf[0] == '\n') ++off;
      cmd = m_body(s, m, off);
    }
    if (cmd == 'n') return hook_nomem(a->msg);
    if (cmd == SMFIR_CONTINUE) {
      if (!m_macros(m, SMFIC_BODYEOB, kv, 1) || !milter_pkt(&m->pkt, SMFIC_BODYEOB, "", 0)) return hook_nomem(a->msg);
      cmd = m_exchange(s, m, m->content_ms, 0, 0, 1);
      if (cmd) m->in_txn = 0;
    }
    rc = m_answer(s, m, cmd, 1, a->msg);
    if (rc != DECLINED) return rc;
    if (!m->discard && m->mods.len && !m_apply(s, m)) return hook_nomem(a->msg);
    m->txn_done = 1;
  }
  if (m->discard || !txn_rcpt_count(s)) {
    qlogm(s, LOGINFO, PLUGIN, m->spec, m->discard ? ": message discarded" : ": no recipient left, message discarded");
    session_reply(s, 250, "2.0.0", "Message discarded");
    return DONE;
  }
  return DECLINED;
}

static int m_reset(struct session *s, void *self, struct msg_args *a)
{
  struct mlt *m = self;
  (void)a;
  if (m->state == M_OPEN && m->in_txn) {
    if (!milter_pkt(&m->pkt, SMFIC_ABORT, "", 0)) return DECLINED;
    m_exchange(s, m, m->cmd_ms, 1, 0, 0);
  }
  m->in_txn = 0;
  m->txn_done = 0;
  m->discard = 0;
  m->mods.len = 0;
  return DECLINED;
}

static int m_disconnect(struct session *s, void *self, struct msg_args *a)
{
  struct mlt *m = self;
  (void)s;
  (void)a;
  if (m->state == M_OPEN && milter_pkt(&m->pkt, SMFIC_QUIT, "", 0))
    net_write_all(m->fd, m->pkt.s, m->pkt.len, net_deadline(m->cmd_ms));
  m->pkt.len = 0;
  m_close(m);
  if (m->state == M_OPEN) m->state = M_NONE;
  return DECLINED;
}

const struct plugin plugin_milter = {
  .name = PLUGIN,
  .init = m_init,
  .connect = m_connect,
  .helo = m_helo,
  .ehlo = m_helo,
  .mail = m_mail,
  .rcpt = m_rcpt,
  .data = m_data,
  .data_post = m_data_post,
  .reset_transaction = m_reset,
  .disconnect = m_disconnect,
};
