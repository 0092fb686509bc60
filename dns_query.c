/* DNS for plugins: a stub resolver over the servers in $DNSCACHEIP, else
   /etc/resolv.conf, else 127.0.0.1 (libowfat's dns_resolvconfip), several
   queries in flight at once, each bounded by a deadline. A query ends as
   an answer, a permanent "no such name / no such record" or a temporary
   failure (server failure, no answer in time, local error); a temporary
   failure never reads as "not listed" or "does not exist" unless the
   plugin decides so.

   The session keeps one connected UDP socket per server for all its
   queries (a query costs a send and a receive, not a socket, a bind, a
   connect and a close of its own), made on the first query to that
   server; the kernel picks its source port at random. An answer counts
   only from that server's address and port 53, with the query's 16-bit
   random ID and its question. Asking goes as djbdns' resolver does: each
   server in turn, again after 1, 3, 11 and 45 seconds, up to the query's
   deadline; a truncated answer is asked again over TCP; a server failure
   (SERVFAIL, NOTIMP, REFUSED, a refused connection) moves on to the next
   server at once, and when every server has failed the query is a
   temporary failure at once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
/* libowfat's iopause.h includes <sys/poll.h>, which musl warns about */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcpp"
#include <dns.h>
#pragma GCC diagnostic pop
#include <byte.h>
#include <case.h>
#include <fmt.h>
#include <ip4.h>
#include <ip6.h>
#include <scan.h>
#include "dns_query.h"
#include "ipnet.h"
#include "env.h"
#include "io.h"
#include "log.h"
#include "session.h"

#define QUERIES_MAX 64          /* in flight in one dns_wait */
#define INFLIGHT_MAX 128        /* in flight in the session */
#define SERVERS 16              /* as many as libowfat reads */
#define ANSWER_MAX 65535

static char servers[16 * SERVERS];
static unsigned int nservers;
static int servers_state;       /* 0 not read, 1 ok, -1 unusable */
static int sock[SERVERS];       /* the session's UDP socket to each server, -1 none yet */

/* a query in flight (struct dns_query's priv) */
struct xmit {
  struct dns_query *q;
  char *pkt;                    /* 2-octet length (for TCP), then the query */
  unsigned int len;             /* of the query */
  unsigned int srv;             /* the server being asked */
  unsigned int round;           /* 0..3: waits of 1, 3, 11, 45 s */
  unsigned int asked;           /* servers asked in this round */
  uint32_t failed;              /* servers that failed this query */
  long long resend;             /* io time to ask the next server */
  int tcp;                      /* after a truncated answer, else -1 */
  int tcpstate;                 /* 0 connecting/writing, 1 reading the length, 2 the answer */
  unsigned int pos;             /* octets of the TCP write or read so far */
  unsigned char lenbuf[2];
  char *ans;                    /* the TCP answer */
  unsigned int anslen;
};
static struct xmit *inflight[INFLIGHT_MAX];
static unsigned int ninflight;

static const unsigned int round_ms[4] = { 1000, 3000, 11000, 45000 };

/* lookups started ahead of the plugin that makes them (dns_lookahead) */
#define AHEAD_MAX 16
static struct dns_query ahead[AHEAD_MAX];
static unsigned int nahead;

static void seed(void)
{
  char buf[128];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t r = getrandom(buf + got, sizeof buf - got, 0);
    if (r <= 0) break;
    got += (size_t)r;
  }
  if (got < sizeof buf) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd != -1) {
      while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r <= 0) break;
        got += (size_t)r;
      }
      close(fd);
    }
  }
  /* libowfat mixes in the time and pid as well */
  dns_random_init(buf);
  byte_zero(buf, sizeof buf);
}

/* DNSCACHEIP set but naming no address would make libowfat fall back to
   /etc/resolv.conf, i.e. possibly to a resolver the administrator did not
   mean: refuse instead */
static int dnscacheip_usable(const char *x)
{
  char ip[16];
  while (*x == '.' || *x == ' ' || *x == ',') ++x;
  return scan_ip6(x, ip) > 0 || scan_ip4(x, ip) > 0;
}

static int servers_setup(struct session *s)
{
  const char *e;
  unsigned int i;
  if (servers_state) return servers_state > 0;
  servers_state = -1;
  e = env_get("DNSCACHEIP");
  if (e && !dnscacheip_usable(e)) {
    qlogm(s, LOGERROR, "dns", "DNSCACHEIP is set but names no address: ", e);
    return 0;
  }
  if (dns_resolvconfip(servers) == -1) {
    qlog(s, LOGERROR, "dns", "cannot read /etc/resolv.conf");
    return 0;
  }
  seed();
  for (i = 0; i < SERVERS; ++i) sock[i] = -1;
  nservers = 0;
  while (nservers < SERVERS && !byte_equal(servers + 16 * nservers, 16, V6any)) ++nservers;
  if (!nservers) {
    qlog(s, LOGERROR, "dns", "no DNS server to ask");
    return 0;
  }
  servers_state = 1;
  if (s->conf.loglevel >= LOGDEBUG) {
    stralloc m = {0};
    for (i = 0; i < 16; ++i) {
      char t[IPNET_FMT6];
      if (byte_equal(servers + 16 * i, 16, V6any)) continue;
      if (ip6_isv4mapped(servers + 16 * i)) stralloc_catb(&m, t, fmt_ip4(t, servers + 16 * i + 12));
      else stralloc_catb(&m, t, ipnet_fmt6(t, servers + 16 * i));
      stralloc_cats(&m, " ");
    }
    if (stralloc_0(&m)) qlogm(s, LOGDEBUG, "dns", "servers: ", m.s);
    stralloc_free(&m);
  }
  return 1;
}

/* host names as plugins meet them (sender domains, HELO, PTR names): only
   letters, digits, '-', '_' and dots between labels of 1 to 63 octets */
int dns_name_ok(const char *name, size_t len)
{
  size_t i, label = 0;
  if (len && name[len - 1] == '.') --len;
  if (!len || len > 253) return 0;
  for (i = 0; i < len; ++i) {
    char c = name[i];
    if (c == '.') {
      if (!label) return 0;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
    if (++label > 63) return 0;
  }
  return label > 0;
}

int dns_query_set(struct dns_query *q, const char *name, size_t len, const char type[2])
{
  dns_query_free(q);
  q->status = DNS_NONE;
  q->nxdomain = 0;
  q->n = 0;
  q->rr.len = 0;
  q->type[0] = type[0];
  q->type[1] = type[1];
  if (len && name[len - 1] == '.') --len;
  if (!stralloc_copyb(&q->name, name, len) || !stralloc_0(&q->name)) return -1;
  if (!dns_name_ok(name, len)) return 0;
  q->status = DNS_PENDING;
  return 1;
}

/* big-endian 16 bits at any alignment (libowfat's inline version loads
   unaligned words directly) */
static unsigned int get16(const char *b)
{
  return ((unsigned int)(unsigned char)b[0] << 8) | (unsigned char)b[1];
}

static int rr_add_name(stralloc *rr, const char *buf, unsigned int len, unsigned int pos)
{
  char *dn = 0;
  size_t start = rr->len;
  if (!dns_packet_getname(buf, len, pos, &dn)) return 0;
  if (!dns_domain_todot_cat(rr, dn)) { free(dn); return -1; }
  free(dn);
  if (rr->len > start && rr->s[rr->len - 1] == '.') --rr->len;
  return stralloc_0(rr) ? 1 : -1;
}

/* the answer records of the queried type, as text; 1 ok, 0 malformed,
   -1 out of memory */
static int parse(struct dns_query *q, const char *buf, unsigned int len)
{
  char hdr[12];
  char rrh[10];
  unsigned int pos, ancount, i;
  unsigned int mxpref[64];
  unsigned int nmx = 0;

  pos = dns_packet_copy(buf, len, 0, hdr, 12);
  if (!pos) return 0;
  if ((hdr[3] & 15) == 3) { q->nxdomain = 1; return 1; }
  if (hdr[3] & 15) return 0;
  ancount = get16(hdr + 6);
  pos = dns_packet_skipname(buf, len, pos);
  if (!pos) return 0;
  pos += 4;
  if (pos > len) return 0;
  for (; ancount; --ancount) {
    unsigned int rdlen, rdpos;
    pos = dns_packet_skipname(buf, len, pos);
    if (!pos) return 0;
    pos = dns_packet_copy(buf, len, pos, rrh, 10);
    if (!pos) return 0;
    rdlen = get16(rrh + 8);
    rdpos = pos;
    if (rdlen > len - pos) return 0;
    pos += rdlen;
    if (!byte_equal(rrh, 2, q->type) || !byte_equal(rrh + 2, 2, DNS_C_IN)) continue;
    if (byte_equal(q->type, 2, DNS_T_A)) {
      char t[FMT_IP4];
      if (rdlen != 4) return 0;
      if (!stralloc_catb(&q->rr, t, fmt_ip4(t, buf + rdpos)) || !stralloc_0(&q->rr)) return -1;
    } else if (byte_equal(q->type, 2, DNS_T_AAAA)) {
      char t[IPNET_FMT6];
      if (rdlen != 16) return 0;
      if (!stralloc_catb(&q->rr, t, ipnet_fmt6(t, buf + rdpos)) || !stralloc_0(&q->rr)) return -1;
    } else if (byte_equal(q->type, 2, DNS_T_TXT)) {
      unsigned int k = 0;
      while (k < rdlen) {
        unsigned int sl = (unsigned char)buf[rdpos + k++];
        unsigned int j;
        if (sl > rdlen - k) return 0;
        for (j = 0; j < sl; ++j) {
          char c = buf[rdpos + k + j];
          if ((unsigned char)c < 32 || c == 127) c = '?';
          if (!stralloc_append(&q->rr, &c)) return -1;
        }
        k += sl;
      }
      if (!stralloc_0(&q->rr)) return -1;
    } else if (byte_equal(q->type, 2, DNS_T_MX)) {
      unsigned int pref;
      int r;
      if (rdlen < 3 || nmx == sizeof mxpref / sizeof mxpref[0]) continue;
      pref = get16(buf + rdpos);
      r = rr_add_name(&q->rr, buf, len, rdpos + 2);
      if (r <= 0) return r;
      mxpref[nmx++] = pref;
    } else {                    /* PTR, CNAME, NS */
      int r = rr_add_name(&q->rr, buf, len, rdpos);
      if (r <= 0) return r;
    }
    q->n++;
  }
  if (nmx > 1) {                /* MX hosts in preference order, stable */
    stralloc sorted = {0};
    unsigned int done = 0, best;
    char *used = calloc(nmx, 1);
    if (!used) return -1;
    while (done < nmx) {
      size_t off = 0, boff = 0;
      best = nmx;
      for (i = 0; i < nmx; ++i) {
        if (!used[i] && (best == nmx || mxpref[i] < mxpref[best])) { best = i; boff = off; }
        off += strlen(q->rr.s + off) + 1;
      }
      used[best] = 1;
      if (!stralloc_cats(&sorted, q->rr.s + boff) || !stralloc_0(&sorted)) { free(used); return -1; }
      ++done;
    }
    free(used);
    if (!stralloc_copy(&q->rr, &sorted)) { stralloc_free(&sorted); return -1; }
    stralloc_free(&sorted);
  }
  return 1;
}

static void xmit_close_tcp(struct xmit *x)
{
  if (x->tcp != -1) close(x->tcp);
  x->tcp = -1;
  free(x->ans);
  x->ans = 0;
  x->anslen = 0;
}

void dns_query_free(struct dns_query *q)
{
  struct xmit *x = q->priv;
  unsigned int i;
  if (!x) return;
  for (i = 0; i < ninflight; ++i)
    if (inflight[i] == x) { inflight[i] = inflight[--ninflight]; break; }
  xmit_close_tcp(x);
  free(x->pkt);
  free(x);
  q->priv = 0;
}

static void fail(struct dns_query *q, int status)
{
  dns_query_free(q);
  q->status = status;
}

static int server_addr(unsigned int srv, struct sockaddr_storage *ss, socklen_t *sl)
{
  const char *ip = servers + 16 * srv;
  byte_zero(ss, sizeof *ss);
  if (ip6_isv4mapped(ip)) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(53);
    byte_copy(&sin->sin_addr, 4, ip + 12);
    *sl = sizeof *sin;
    return AF_INET;
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(53);
    byte_copy(&sin6->sin6_addr, 16, ip);
    *sl = sizeof *sin6;
    return AF_INET6;
  }
}

/* a new socket connected (or connecting, for TCP) to server srv; -1 on error */
static int server_socket(unsigned int srv, int type)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  int af = server_addr(srv, &ss, &sl);
  int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  if (connect(fd, (struct sockaddr *)&ss, sl) == -1 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

/* sends x's query over UDP to its server; 0 when the server cannot be
   asked (it then counts as failed) */
static int udp_send(struct xmit *x)
{
  if (sock[x->srv] == -1) sock[x->srv] = server_socket(x->srv, SOCK_DGRAM);
  if (sock[x->srv] == -1) return 0;
  if (send(sock[x->srv], x->pkt + 2, x->len, 0) != (ssize_t)x->len) {
    if (errno == EAGAIN || errno == ENOBUFS) return 1;   /* as a lost datagram: asked again later */
    return 0;
  }
  return 1;
}

/* asks the next server that has not failed this query, from x->srv on
   (x->srv itself when first is set), over UDP; waits of 1, 3, 11 and 45 s
   a round; 0 when no server is left */
static int udp_next(struct xmit *x, int first, long long now)
{
  for (;;) {
    unsigned int k;
    if (!first) {
      if (++x->asked >= nservers) {
        if (++x->round >= sizeof round_ms / sizeof round_ms[0]) return 0;
        x->asked = 0;
      }
      x->srv = (x->srv + 1) % nservers;
    }
    first = 0;
    for (k = 0; k < nservers && (x->failed >> x->srv & 1); ++k) x->srv = (x->srv + 1) % nservers;
    if (k == nservers) return 0;
    if (udp_send(x)) break;
    x->failed |= (uint32_t)1 << x->srv;
  }
  x->resend = now + round_ms[x->round];
  return 1;
}

/* over TCP to the next server that has not failed, from x->srv on; 0 when
   none is left */
static int tcp_next(struct xmit *x)
{
  unsigned int k;
  xmit_close_tcp(x);
  for (k = 0; k < nservers; ++k, x->srv = (x->srv + 1) % nservers) {
    if (x->failed >> x->srv & 1) continue;
    x->tcp = server_socket(x->srv, SOCK_STREAM);
    if (x->tcp != -1) {
      x->tcpstate = 0;
      x->pos = 0;
      return 1;
    }
    x->failed |= (uint32_t)1 << x->srv;
  }
  return 0;
}

static void server_failed(struct xmit *x)
{
  x->failed |= (uint32_t)1 << x->srv;
}

/* the lookahead query with q's type and name, or NULL */
static struct dns_query *ahead_find(const struct dns_query *q)
{
  unsigned int j;
  for (j = 0; j < nahead; ++j)
    if (byte_equal(ahead[j].type, 2, q->type) && ahead[j].name.len == q->name.len
        && !case_diffb(ahead[j].name.s, q->name.len, q->name.s))
      return &ahead[j];
  return 0;
}

static void ahead_drop(struct dns_query *e)
{
  struct dns_query *last = &ahead[--nahead];
  dns_query_free(e);
  stralloc_free(&e->name);
  stralloc_free(&e->rr);
  if (e != last) {
    *e = *last;
    if (e->priv) ((struct xmit *)e->priv)->q = e;
  }
  byte_zero(last, sizeof *last);
}

/* q takes over the lookahead query with its type and name: 1 taken (q is
   in flight or answered), 0 none to take */
static int ahead_take(struct dns_query *q)
{
  struct dns_query *e = ahead_find(q);
  if (!e) return 0;
  if (e->status == DNS_PENDING && e->priv) {
    /* the wait counts from when the lookup was started, with the
       deadline the plugin gave it then */
    if (e->deadline < q->deadline) q->deadline = e->deadline;
    q->priv = e->priv;
    ((struct xmit *)q->priv)->q = q;
    e->priv = 0;
  } else if (e->status == DNS_OK || e->status == DNS_NONE) {
    if (!stralloc_copy(&q->rr, &e->rr)) { ahead_drop(e); return 0; }
    q->status = e->status;
    q->nxdomain = e->nxdomain;
    q->n = e->n;
  } else {                      /* a temporary failure: asked again */
    ahead_drop(e);
    return 0;
  }
  ahead_drop(e);
  return 1;
}

static void start_one(struct session *s, struct dns_query *q, long long now)
{
  struct xmit *x;
  char *wire = 0;
  unsigned int wl, id, tries, j;
  if (!servers_setup(s)) { fail(q, DNS_TEMP); return; }
  if (ninflight == INFLIGHT_MAX) {
    qlogm(s, LOGERROR, "dns", "too many queries in flight for ", q->name.s);
    fail(q, DNS_TEMP);
    return;
  }
  x = calloc(1, sizeof *x);
  if (!x || !dns_domain_fromdot(&wire, q->name.s, q->name.len - 1)) {
    free(x);
    fail(q, DNS_TEMP);
    return;
  }
  wl = dns_domain_length(wire);
  x->len = 12 + wl + 4;
  x->pkt = malloc(2 + x->len);
  if (!x->pkt) {
    free(x);
    dns_domain_free(&wire);
    fail(q, DNS_TEMP);
    return;
  }
  /* an ID no other query in flight has: an answer finds its query by it */
  for (tries = 0;; ++tries) {
    id = dns_random(65536);
    for (j = 0; j < ninflight; ++j)
      if (get16(inflight[j]->pkt + 2) == id) break;
    if (j == ninflight || tries == 64) break;
  }
  x->pkt[0] = (char)(x->len >> 8);
  x->pkt[1] = (char)x->len;
  x->pkt[2] = (char)(id >> 8);
  x->pkt[3] = (char)id;
  byte_copy(x->pkt + 4, 10, "\1\0\0\1\0\0\0\0\0\0");   /* RD; one question */
  byte_copy(x->pkt + 14, wl, wire);
  byte_copy(x->pkt + 14 + wl, 2, q->type);
  byte_copy(x->pkt + 16 + wl, 2, DNS_C_IN);
  dns_domain_free(&wire);
  x->q = q;
  x->tcp = -1;
  x->srv = 0;
  q->priv = x;
  inflight[ninflight++] = x;
  if (!udp_next(x, 1, now)) {
    qlogm(s, LOGINFO, "dns", "cannot send the query for ", q->name.s);
    fail(q, DNS_TEMP);
  }
}

void dns_start(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds)
{
  unsigned int i;
  long long now = 0;            /* the clock, read once and only when needed */
  for (i = 0; i < n; ++i) {
    if (q[i].status != DNS_PENDING || q[i].priv) continue;
    if (!now && seconds) now = io_now();
    if (seconds) q[i].deadline = now + (long long)seconds * 1000;
    if (nahead && ahead_take(&q[i])) continue;
    if (!now) now = io_now();
    start_one(s, &q[i], now);
  }
}

int dns_lookahead(struct session *s, const char *name, size_t len, const char type[2], unsigned int seconds)
{
  static unsigned long round;
  struct dns_query *e;
  if (round != s->lookaheads) {   /* a new MAIL: drop what the last one's plugins did not take */
    while (nahead) ahead_drop(&ahead[nahead - 1]);
    round = s->lookaheads;
  }
  if (nahead == AHEAD_MAX) return 0;
  e = &ahead[nahead];
  if (dns_query_set(e, name, len, type) != 1) {
    stralloc_free(&e->name);
    return 0;
  }
  if (ahead_find(e)) {          /* already waiting: the same name and type */
    stralloc_free(&e->name);
    byte_zero(e, sizeof *e);
    return 1;
  }
  ++nahead;
  {
    long long now = io_now();
    e->deadline = now + (long long)seconds * 1000;
    start_one(s, e, now);
  }
  return 1;
}

/* is buf an answer to x's query: its ID and its question? */
static int answers(const struct xmit *x, const char *buf, unsigned int len)
{
  char *dn = 0;
  unsigned int pos;
  int same;
  if (len < 12 || !byte_equal(buf, 2, x->pkt + 2) || !(buf[2] & 128)) return 0;
  if (get16(buf + 4) != 1) return 0;
  pos = dns_packet_getname(buf, len, 12, &dn);
  if (!pos) return 0;
  /* our question as we sent it: the name in wire form at offset 12, the
     type and class in the query's last 4 octets */
  same = dns_domain_equal(dn, x->pkt + 14) && pos + 4 <= len && byte_equal(buf + pos, 4, x->pkt + 2 + x->len - 4);
  free(dn);
  return same;
}

/* an answer for x from its server: ends the query, or moves on (to TCP,
   or to the next server) */
static void take(struct session *s, struct xmit *x, const char *buf, unsigned int len, int tcp)
{
  struct dns_query *q = x->q;
  unsigned int rcode = (unsigned char)buf[3] & 15;
  int p;
  if (!tcp && (buf[2] & 2)) {          /* truncated: ask over TCP */
    if (!tcp_next(x)) { qlogm(s, LOGINFO, "dns", "query failed for ", q->name.s); fail(q, DNS_TEMP); }
    return;
  }
  if (rcode != 0 && rcode != 3) {       /* SERVFAIL, NOTIMP, REFUSED ...: the next server */
    server_failed(x);
    if (!(tcp ? tcp_next(x) : udp_next(x, 0, io_now()))) {
      qlogm(s, LOGINFO, "dns", "query failed for ", q->name.s);
      fail(q, DNS_TEMP);
    }
    return;
  }
  p = parse(q, buf, len);
  dns_query_free(q);
  if (p <= 0) {
    qlogm(s, LOGINFO, "dns", p < 0 ? "out of memory for " : "malformed answer for ", q->name.s);
    q->rr.len = 0;
    q->n = 0;
    q->status = DNS_TEMP;
  } else
    q->status = q->n ? DNS_OK : DNS_NONE;
}

/* every datagram waiting on server srv's socket, to the queries in flight
   (those of other calls as well: a plugin may have its lookups in flight
   while another waits for its own) */
static void udp_read(struct session *s, unsigned int srv)
{
  char buf[4096];             /* 512 without EDNS, but a lenient server may send more */
  unsigned int i, n;
  /* at most 64 datagrams a call: a flood of forged ones must not keep
     dns_wait from its deadlines */
  for (n = 0; n < 64; ++n) {
    ssize_t r = recv(sock[srv], buf, sizeof buf, 0);
    if (r == -1) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      /* ECONNREFUSED and the like: nothing answers there */
      for (i = 0; i < ninflight; ++i) {
        struct xmit *x = inflight[i];
        if (x->srv != srv || x->tcp != -1) continue;
        server_failed(x);
        if (!udp_next(x, 0, io_now())) {
          qlogm(s, LOGINFO, "dns", "query failed for ", x->q->name.s);
          fail(x->q, DNS_TEMP);
          i = (unsigned int)-1;          /* the list changed: from the start */
        }
      }
      return;
    }
    for (i = 0; i < ninflight; ++i) {
      struct xmit *x = inflight[i];
      if (x->srv == srv && x->tcp == -1 && answers(x, buf, (unsigned int)r)) {
        take(s, x, buf, (unsigned int)r, 0);
        break;
      }
    }
    /* no query left waiting on this server: no receive that only says
       EAGAIN (a late answer to one already taken waits for the next) */
    for (i = 0; i < ninflight; ++i)
      if (inflight[i]->srv == srv && inflight[i]->tcp == -1) break;
    if (i == ninflight) return;
  }
}

/* one step of x's TCP exchange after poll said its socket is ready */
static void tcp_step(struct session *s, struct xmit *x)
{
  struct dns_query *q = x->q;
  ssize_t r;
  if (x->tcpstate == 0) {
    r = write(x->tcp, x->pkt + x->pos, 2 + x->len - x->pos);
    if (r <= 0) goto next;
    x->pos += (unsigned int)r;
    if (x->pos == 2 + x->len) { x->tcpstate = 1; x->pos = 0; }
    return;
  }
  if (x->tcpstate == 1) {
    r = read(x->tcp, x->lenbuf + x->pos, 2 - x->pos);
    if (r <= 0) goto next;
    x->pos += (unsigned int)r;
    if (x->pos < 2) return;
    x->anslen = (unsigned int)x->lenbuf[0] << 8 | x->lenbuf[1];
    if (x->anslen < 12) goto next;
    x->ans = malloc(x->anslen);
    if (!x->ans) { fail(q, DNS_TEMP); return; }
    x->tcpstate = 2;
    x->pos = 0;
    return;
  }
  r = read(x->tcp, x->ans + x->pos, x->anslen - x->pos);
  if (r <= 0) goto next;
  x->pos += (unsigned int)r;
  if (x->pos < x->anslen) return;
  if (!answers(x, x->ans, x->anslen)) goto next;
  {
    char *ans = x->ans;
    x->ans = 0;                       /* take() may free x */
    take(s, x, ans, x->anslen, 1);
    free(ans);
  }
  return;
next:
  if (r == -1 && (errno == EAGAIN || errno == EINTR)) return;
  server_failed(x);
  if (!tcp_next(x)) {
    qlogm(s, LOGINFO, "dns", "query failed for ", q->name.s);
    fail(q, DNS_TEMP);
  }
}

void dns_wait(struct session *s, struct dns_query *q, unsigned int n)
{
  struct pollfd pfd[QUERIES_MAX + SERVERS];
  struct xmit *tcpx[QUERIES_MAX];
  for (;;) {
    long long left = -1, t;
    unsigned int i, k = 0, ntcp = 0, srvk;
    uint32_t want = 0;
    int pr;

    for (i = 0; i < n && q[i].status != DNS_PENDING; ++i) ;
    if (i == n) return;         /* all answered: no need of the clock */
    t = io_now();

    for (i = 0; i < n; ++i) {
      struct xmit *x = q[i].priv;
      long long until;
      if (q[i].status != DNS_PENDING) continue;
      if (!x) { fail(&q[i], DNS_TEMP); continue; }
      if (t >= q[i].deadline) {
        qlogm(s, LOGINFO, "dns", "no answer in time for ", q[i].name.s);
        fail(&q[i], DNS_TEMP);
        continue;
      }
      until = q[i].deadline;
      if (x->tcp != -1) {
        if (ntcp == QUERIES_MAX) continue;   /* polled once others are done; its deadline holds */
        pfd[k].fd = x->tcp;
        pfd[k].events = x->tcpstate == 0 ? POLLOUT : POLLIN;
        pfd[k].revents = 0;
        tcpx[ntcp++] = x;
        ++k;
      } else {
        if (t >= x->resend && !udp_next(x, 0, t)) {
          qlogm(s, LOGINFO, "dns", "no answer in time for ", q[i].name.s);
          fail(&q[i], DNS_TEMP);
          continue;
        }
        if (x->resend < until) until = x->resend;
        want |= (uint32_t)1 << x->srv;
      }
      if (left < 0 || until - t < left) left = until - t;
    }
    if (left < 0) return;
    srvk = k;
    for (i = 0; i < nservers; ++i)
      if ((want >> i & 1) && sock[i] != -1) {
        pfd[k].fd = sock[i];
        pfd[k].events = POLLIN;
        pfd[k].revents = 0;
        ++k;
      }
    if (left > 0x7fffffff) left = 0x7fffffff;
    pr = poll(pfd, k, (int)left);
    if (pr == -1) {
      if (errno == EINTR) continue;
      for (i = 0; i < n; ++i)
        if (q[i].status == DNS_PENDING) fail(&q[i], DNS_TEMP);
      return;
    }
    if (!pr) continue;
    for (i = 0; i < ntcp; ++i)
      if (pfd[i].revents) tcp_step(s, tcpx[i]);
    for (i = srvk; i < k; ++i) {
      unsigned int srv;
      if (!pfd[i].revents) continue;
      for (srv = 0; srv < nservers && sock[srv] != pfd[i].fd; ++srv) ;
      if (srv < nservers) udp_read(s, srv);
    }
  }
}

void dns_run(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds)
{
  dns_start(s, q, n, seconds);
  dns_wait(s, q, n);
}

/* the name to look up for ip under a DNSBL-style zone: 4.3.2.1 for
   1.2.3.4, nibbles for IPv6 (RFC 5782); 0 when ip is not an address */
int dns_reverse_ip(stralloc *out, const char *ip)
{
  char b[16];
  size_t len = strlen(ip);
  int i;
  out->len = 0;
  if (scan_ip4(ip, b + 12) == len && len) {
    byte_copy(b, 12, V4mappedprefix);
  } else if (!len || scan_ip6(ip, b) != len)
    return 0;
  if (ip6_isv4mapped(b)) {
    for (i = 15; i >= 12; --i) {
      char t[FMT_ULONG];
      if (!stralloc_catb(out, t, fmt_ulong(t, (unsigned char)b[i])) || !stralloc_append(out, ".")) return -1;
    }
  } else {
    for (i = 15; i >= 0; --i) {
      char t[4];
      t[0] = "0123456789abcdef"[(unsigned char)b[i] & 15];
      t[1] = '.';
      t[2] = "0123456789abcdef"[(unsigned char)b[i] >> 4];
      t[3] = '.';
      if (!stralloc_catb(out, t, 4)) return -1;
    }
  }
  out->len--;                   /* the last dot */
  return 1;
}
