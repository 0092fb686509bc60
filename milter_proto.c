/* The milter protocol's packets, from the MTA's side (milter_proto.h):
   every byte a milter sends is checked here before the plugin uses it. */
#include <string.h>
#include "milter_proto.h"

int milter_cat32(stralloc *sa, unsigned long v)
{
  char b[4];
  b[0] = (char)(v >> 24 & 0xff);
  b[1] = (char)(v >> 16 & 0xff);
  b[2] = (char)(v >> 8 & 0xff);
  b[3] = (char)(v & 0xff);
  return stralloc_catb(sa, b, 4);
}

int milter_cat0(stralloc *sa, const char *x, size_t len)
{
  return stralloc_catb(sa, x, len) && stralloc_append(sa, "");
}

int milter_pkt(stralloc *out, char cmd, const char *data, size_t len)
{
  if (len >= 0x7fffffffUL) return 0;
  return milter_cat32(out, (unsigned long)len + 1) && stralloc_append(out, &cmd) && stralloc_catb(out, data, len);
}

static unsigned long get32(const char *x)
{
  const unsigned char *u = (const unsigned char *)x;
  return (unsigned long)u[0] << 24 | (unsigned long)u[1] << 16 | (unsigned long)u[2] << 8 | u[3];
}

int milter_pkt_len(const unsigned char h[4], size_t *datalen)
{
  unsigned long n = get32((const char *)h);
  if (n == 0 || n > MILTER_PKT_MAX) return 0;
  *datalen = n - 1;
  return 1;
}

int milter_optneg_parse(const char *data, size_t len, unsigned long *ver, unsigned long *act,
                        unsigned long *proto)
{
  if (len < 12) return 0;
  *ver = get32(data);
  *act = get32(data + 4);
  *proto = get32(data + 8);
  return *ver >= 2 && *ver <= 6;
}

/* data holds exactly want (or, with opt, want - 1) NUL-terminated
   strings: their starts and lengths; the count, or 0 */
static int strings(const char *data, size_t len, const char **s, size_t *l, int want, int opt)
{
  size_t i = 0;
  int n = 0;
  while (i < len) {
    const char *z = memchr(data + i, 0, len - i);
    if (!z || n == want) return 0;
    s[n] = data + i;
    l[n] = (size_t)(z - (data + i));
    ++n;
    i = (size_t)(z - data) + 1;
  }
  if (n == want || (opt && n == want - 1)) return n;
  return 0;
}

static int name_ok(const char *x, size_t len)
{
  size_t i;
  if (!len || len > MILTER_NAME_MAX) return 0;
  for (i = 0; i < len; ++i)
    if ((unsigned char)x[i] <= ' ' || (unsigned char)x[i] >= 0x7f || x[i] == ':') return 0;
  return 1;
}

/* a header value: no line end but a fold */
static int value_ok(const char *x, size_t len)
{
  size_t i;
  for (i = 0; i < len; ++i) {
    if (x[i] == '\r') {
      if (i + 1 >= len || x[i + 1] != '\n') return 0;
      ++i;
    }
    if (x[i] == '\n' && (i + 1 >= len || (x[i + 1] != ' ' && x[i + 1] != '\t'))) return 0;
  }
  return 1;
}

/* an address, its angle brackets taken off; empty only when may_empty */
static int addr_ok(const char **x, size_t *len, int may_empty)
{
  size_t i;
  if (*len >= 2 && (*x)[0] == '<' && (*x)[*len - 1] == '>') { ++*x; *len -= 2; }
  if (*len > MILTER_ADDR_MAX || (!*len && !may_empty)) return 0;
  for (i = 0; i < *len; ++i)
    if ((unsigned char)(*x)[i] < 0x20 || (*x)[i] == 0x7f || (*x)[i] == '<' || (*x)[i] == '>') return 0;
  return 1;
}

static int args_ok(const char *x, size_t len)
{
  size_t i;
  for (i = 0; i < len; ++i) if ((unsigned char)x[i] < 0x20 || x[i] == 0x7f) return 0;
  return 1;
}

int milter_reply_parse(char cmd, const char *data, size_t len, struct milter_reply *r)
{
  const char *s[2];
  size_t l[2];
  int n;
  memset(r, 0, sizeof *r);
  r->cmd = cmd;
  switch (cmd) {
  case SMFIR_ACCEPT: case SMFIR_CONTINUE: case SMFIR_DISCARD: case SMFIR_REJECT:
  case SMFIR_TEMPFAIL: case SMFIR_PROGRESS: case SMFIR_SKIP: case SMFIR_SHUTDOWN:
    return len == 0;
  case SMFIR_REPLYCODE: {
    unsigned int code;
    char ec[16];
    if (!len || data[len - 1] || memchr(data, 0, len - 1)) return 0;
    if (milter_replycode(data, len - 1, &code, ec, NULL) != 1) return 0;
    r->data = data;
    r->datalen = len - 1;
    return 1;
  }
  case SMFIR_REPLBODY:
    r->data = data;
    r->datalen = len;
    return 1;
  case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
    if (len < 4) return 0;
    r->index = get32(data);
    data += 4;
    len -= 4;
    /* fall through */
  case SMFIR_ADDHEADER:
    if (strings(data, len, s, l, 2, 0) != 2 || !name_ok(s[0], l[0]) || !value_ok(s[1], l[1])) return 0;
    r->name = s[0]; r->namelen = l[0];
    r->value = s[1]; r->valuelen = l[1];
    return 1;
  case SMFIR_ADDRCPT: case SMFIR_DELRCPT:
    if (strings(data, len, s, l, 1, 0) != 1 || !addr_ok(&s[0], &l[0], 0)) return 0;
    r->name = s[0]; r->namelen = l[0];
    return 1;
  case SMFIR_ADDRCPT_PAR: case SMFIR_CHGFROM:
    n = strings(data, len, s, l, 2, 1);
    if (!n || !addr_ok(&s[0], &l[0], cmd == SMFIR_CHGFROM)) return 0;
    r->name = s[0]; r->namelen = l[0];
    if (n == 2) {
      if (!args_ok(s[1], l[1])) return 0;
      r->value = s[1]; r->valuelen = l[1];
    }
    return 1;
  case SMFIR_QUARANTINE:
    if (strings(data, len, s, l, 1, 0) != 1 || !args_ok(s[0], l[0]) || l[0] > 1024) return 0;
    r->name = s[0]; r->namelen = l[0];
    return 1;
  }
  return 0;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

/* an enhanced code of class c at x ("5.7.1"), followed by a space or the
   end: its length, else 0 */
static size_t ecode_len(const char *x, size_t len, char c)
{
  size_t i = 0, k, part;
  if (len < 5 || x[0] != c || x[1] != '.') return 0;
  i = 2;
  for (part = 0; part < 2; ++part) {
    for (k = 0; i < len && digit(x[i]) && k < 3; ++i, ++k) ;
    if (!k || (i < len && digit(x[i]))) return 0;
    if (part == 0) { if (i >= len || x[i] != '.') return 0; ++i; }
  }
  if (i < len && x[i] != ' ') return 0;
  return i;
}

int milter_replycode(const char *x, size_t len, unsigned int *code, char ecode[16], stralloc *text)
{
  size_t i = 0, lines = 0;
  ecode[0] = 0;
  if (len < 3 || (x[0] != '4' && x[0] != '5') || !digit(x[1]) || !digit(x[2])) return 0;
  *code = (unsigned int)((x[0] - '0') * 100 + (x[1] - '0') * 10 + (x[2] - '0'));
  if (text) text->len = 0;
  while (i < len) {
    size_t e = i, t, el;
    int last;
    while (e < len && x[e] != '\r' && x[e] != '\n') ++e;
    if (e < len && (x[e] != '\r' || e + 1 >= len || x[e + 1] != '\n')) return 0;
    last = e == len;
    if (e + 2 == len) return 0;          /* a trailing line end */
    if (e - i < 3 || memcmp(x + i, x, 3)) return 0;
    t = i + 3;
    if (t < e) {
      if (x[t] != (last ? ' ' : '-')) return 0;
      ++t;
    } else if (!last) return 0;
    for (el = t; el < e; ++el) if ((unsigned char)x[el] < 0x20 || x[el] == 0x7f) return 0;
    /* the first line's enhanced code is the reply's; a later line's is
       dropped as a repeat of it, but kept as text when the first line had
       none (the reply is printed with the first line's code on every
       line, so the text must not lose what it cannot print back) */
    el = ecode_len(x + t, e - t, x[0]);
    if (el && (!lines || ecode[0])) {
      if (!lines) { memcpy(ecode, x + t, el); ecode[el] = 0; }
      t += el;
      if (t < e) ++t;
    }
    if (++lines > 100) return 0;
    if (text && ((lines > 1 && !stralloc_append(text, "\n")) || !stralloc_catb(text, x + t, e - t))) return -1;
    i = last ? len : e + 2;
  }
  return 1;
}
