/* DNS for plugins: libowfat's djbdns-style resolver (servers from
   $DNSCACHEIP, else /etc/resolv.conf, else 127.0.0.1), several queries in
   flight at once, each bounded by a deadline. A query ends as an answer,
   a permanent "no such name / no such record" or a temporary failure
   (server failure, no answer in time, local error); a temporary failure
   never reads as "not listed" or "does not exist" unless the plugin
   decides so. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
/* libowfat's iopause.h includes <sys/poll.h>, which musl warns about */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcpp"
#include <dns.h>
#pragma GCC diagnostic pop
#include <taia.h>
#include <byte.h>
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

static char servers[256];
static int servers_state;       /* 0 not read, 1 ok, -1 unusable */

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

void dns_query_free(struct dns_query *q)
{
  struct dns_transmit *tx = q->priv;
  if (tx) {
    dns_transmit_free(tx);
    free(tx);
    q->priv = 0;
  }
}

static void fail(struct dns_query *q, int status)
{
  dns_query_free(q);
  q->status = status;
}

void dns_start(struct session *s, struct dns_query *q, unsigned int n, unsigned int seconds)
{
  unsigned int i;
  long long deadline = seconds ? io_now() + (long long)seconds * 1000 : 0;
  for (i = 0; i < n; ++i) {
    struct dns_transmit *tx;
    char *wire = 0;
    if (q[i].status != DNS_PENDING || q[i].priv) continue;
    if (deadline) q[i].deadline = deadline;
    if (!servers_setup(s)) { fail(&q[i], DNS_TEMP); continue; }
    tx = calloc(1, sizeof *tx);
    if (!tx || !dns_domain_fromdot(&wire, q[i].name.s, q[i].name.len - 1)) {
      free(tx);
      fail(&q[i], DNS_TEMP);
      continue;
    }
    if (dns_transmit_start(tx, servers, 1, wire, q[i].type, V6any) == -1) {
      free(tx);
      dns_domain_free(&wire);
      fail(&q[i], DNS_TEMP);
      continue;
    }
    dns_domain_free(&wire);
    q[i].priv = tx;
  }
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

void dns_wait(struct session *s, struct dns_query *q, unsigned int n)
{
  struct pollfd pfd[QUERIES_MAX];
  unsigned int idx[QUERIES_MAX];
  for (;;) {
    struct taia now, txdl, diff;
    long long left = 0, t = io_now();
    unsigned int i, k = 0;
    int pr;

    taia_now(&now);
    taia_uint(&txdl, 3600);
    taia_add(&txdl, &txdl, &now);
    for (i = 0; i < n && k < QUERIES_MAX; ++i) {
      if (q[i].status != DNS_PENDING) continue;
      if (!q[i].priv) { fail(&q[i], DNS_TEMP); continue; }
      if (t >= q[i].deadline) {
        qlogm(s, LOGINFO, "dns", "no answer in time for ", q[i].name.s);
        fail(&q[i], DNS_TEMP);
        continue;
      }
      if (q[i].deadline - t > left) left = q[i].deadline - t;
      dns_transmit_io(q[i].priv, &pfd[k], &txdl);
      pfd[k].revents = 0;
      idx[k++] = i;
    }
    if (!k) return;
    if (taia_less(&txdl, &now)) left = 0;
    else {
      double d;
      taia_sub(&diff, &txdl, &now);
      d = taia_approx(&diff) * 1000.0;
      if (d < (double)left) left = (long long)d + 1;
    }
    pr = poll(pfd, k, (int)left);
    if (pr == -1 && errno != EINTR) {
      for (i = 0; i < k; ++i) fail(&q[idx[i]], DNS_TEMP);
      return;
    }
    taia_now(&now);
    for (i = 0; i < k; ++i) {
      struct dns_query *x = &q[idx[i]];
      struct dns_transmit *tx = x->priv;
      int r;
      if (pr == -1) pfd[i].revents = 0;
      r = dns_transmit_get(tx, &pfd[i], &now);
      if (r == -1) {
        qlogm(s, LOGINFO, "dns", "query failed for ", x->name.s);
        fail(x, DNS_TEMP);
      } else if (r == 1) {
        int p = parse(x, tx->packet, tx->packetlen);
        dns_query_free(x);
        if (p <= 0) {
          qlogm(s, LOGINFO, "dns", p < 0 ? "out of memory for " : "malformed answer for ", x->name.s);
          x->rr.len = 0;
          x->n = 0;
          x->status = DNS_TEMP;
        } else
          x->status = x->n ? DNS_OK : DNS_NONE;
      }
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
