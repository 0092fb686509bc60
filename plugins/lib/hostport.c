#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fmt.h>
#include <scan.h>
#include "hostport.h"
#include "netio.h"

/* the port after the last colon (1-65535), the name before it: 1 ok */
static int split(const char *spec, size_t *namelen, unsigned long *port)
{
  const char *colon = strrchr(spec, ':');
  size_t n;
  if (!colon || colon == spec || !colon[1]) return 0;
  n = scan_ulong(colon + 1, port);
  if (!n || colon[1 + n] || !*port || *port > 65535) return 0;
  *namelen = (size_t)(colon - spec);
  return 1;
}

int hostport_ok(const char *spec)
{
  size_t len, i;
  unsigned long port;
  if (net_addr_ok(spec)) return 1;
  if (!split(spec, &len, &port) || !dns_name_ok(spec, len)) return 0;
  /* a name, not a mistyped address: some letter in it */
  for (i = 0; i < len; ++i)
    if ((spec[i] | 0x20) >= 'a' && (spec[i] | 0x20) <= 'z') return 1;
  return 0;
}

const char *hostport_default(const char *spec, unsigned int port)
{
  unsigned char ip[16];
  char *a;
  size_t n = strlen(spec), k;
  int v6;
  if (net_addr_ok(spec)) return spec;
  if (!strcasecmp(spec, "localhost")) spec = "127.0.0.1", n = 9;
  else if (!strncasecmp(spec, "localhost:", 10)) {
    if (!(a = malloc(n + 1))) return NULL;
    memcpy(a, "127.0.0.1", 9);
    memcpy(a + 9, spec + 9, n - 8);
    return net_addr_ok(a) ? a : (free(a), NULL);
  }
  if (inet_pton(AF_INET, spec, ip) == 1) v6 = 0;
  else if (inet_pton(AF_INET6, spec, ip) == 1) v6 = 1;
  else return NULL;
  if (!(a = malloc(n + 10))) return NULL;
  k = 0;
  if (v6) a[k++] = '[';
  memcpy(a + k, spec, n);
  k += n;
  if (v6) a[k++] = ']';
  a[k++] = ':';
  k += fmt_ulong(a + k, port);
  a[k] = 0;
  return a;
}

/* "ip:port" or "[ip]:port" into buf (at least 64 + 8) */
static void join(char *buf, const char *ip, int v6, unsigned long port)
{
  size_t k = 0;
  if (v6) buf[k++] = '[';
  k += fmt_str(buf + k, ip);
  if (v6) buf[k++] = ']';
  buf[k++] = ':';
  k += fmt_ulong(buf + k, port);
  buf[k] = 0;
}

int hostport_connect(struct session *s, const char *spec, long long deadline)
{
  struct dns_query q[2];
  unsigned long port;
  long long left;
  size_t len, i;
  unsigned int k, secs;
  char buf[80];
  int fd = -1, e = ENOENT;

  if (net_addr_ok(spec)) return net_connect(spec, deadline);
  if (!hostport_ok(spec) || !split(spec, &len, &port)) { errno = EINVAL; return -1; }
  if (len == 9 && !strncasecmp(spec, "localhost", 9)) {
    join(buf, "127.0.0.1", 0, port);
    return net_connect(buf, deadline);
  }
  memset(q, 0, sizeof q);
  if (dns_query_set(&q[0], spec, len, DNSQ_A) != 1 || dns_query_set(&q[1], spec, len, DNSQ_AAAA) != 1) {
    e = ENOMEM;
    goto out;
  }
  left = deadline - clock_ms();
  secs = left <= 1000 ? 1 : (unsigned int)((left + 999) / 1000);
  dns_run(s, q, 2, secs);
  for (k = 0; k < 2 && fd < 0; ++k) {
    if (q[k].status != DNS_OK) continue;
    for (i = 0; i < q[k].rr.len && fd < 0; i += strlen(q[k].rr.s + i) + 1) {
      if (strlen(q[k].rr.s + i) > 64) continue;
      join(buf, q[k].rr.s + i, k == 1, port);
      fd = net_connect(buf, deadline);
      if (fd < 0) e = errno;
    }
  }
out:
  dns_query_free(&q[0]);
  dns_query_free(&q[1]);
  if (fd < 0) errno = e;
  return fd;
}
