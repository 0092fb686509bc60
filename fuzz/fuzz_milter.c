/* The milter reply checker (milter_proto.c) over hostile bytes: the first
   byte is the reply's command, the rest its data. A reply taken has every
   field inside the data and within the documented bounds (header names
   printable without ':', values with no line end but a fold, addresses
   without control bytes or brackets, a REPLYCODE of 400-599 whose lines
   carry no control byte); written back as a milter would send it, it
   parses to the same fields; and a REPLYCODE's reply printed back from
   its code, enhanced code and lines parses to the same again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../milter_proto.h"

static void inside(const char *p, size_t l, const char *d, size_t n)
{
  if (!p) { if (l) abort(); return; }
  if (p < d || p + l > d + n) abort();
}

static void same(const struct milter_reply *a, const struct milter_reply *b)
{
  if (a->cmd != b->cmd || a->index != b->index || a->namelen != b->namelen || a->valuelen != b->valuelen
      || a->datalen != b->datalen) abort();
  if (a->namelen && memcmp(a->name, b->name, a->namelen)) abort();
  if (a->valuelen && memcmp(a->value, b->value, a->valuelen)) abort();
  if (a->datalen && memcmp(a->data, b->data, a->datalen)) abort();
}

static void replycode(const char *x, size_t len)
{
  unsigned int code, code2;
  char ec[16], ec2[16];
  stralloc t = {0}, back = {0}, t2 = {0};
  size_t i, start = 0, lines = 1;
  char c[3];
  if (milter_replycode(x, len, &code, ec, &t) != 1) abort();
  if (code < 400 || code > 599 || (unsigned int)((x[0] - '0') * 100 + (x[1] - '0') * 10 + (x[2] - '0')) != code) abort();
  if (ec[0] && ec[0] != x[0]) abort();
  if (strlen(ec) > 9) abort();
  for (i = 0; i < t.len; ++i) {
    if (t.s[i] == '\n') ++lines;
    else if ((unsigned char)t.s[i] < 0x20 || t.s[i] == 0x7f) abort();
  }
  /* printed back: "550-5.7.1 line\r\n" ... "550 5.7.1 last" */
  memcpy(c, x, 3);
  for (i = 0; i <= t.len; ++i) {
    if (i < t.len && t.s[i] != '\n') continue;
    if (!stralloc_catb(&back, c, 3) || !stralloc_append(&back, i == t.len ? " " : "-")) abort();
    if (ec[0] && (!stralloc_cats(&back, ec) || !stralloc_append(&back, " "))) abort();
    if (!stralloc_catb(&back, t.s + start, i - start)) abort();
    if (i < t.len && !stralloc_cats(&back, "\r\n")) abort();
    start = i + 1;
  }
  if (milter_replycode(back.s, back.len, &code2, ec2, &t2) != 1) abort();
  if (code2 != code || strcmp(ec, ec2) || t2.len != t.len || memcmp(t.s, t2.s, t.len)) abort();
  (void)lines;
  stralloc_free(&t);
  stralloc_free(&t2);
  stralloc_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct milter_reply r, r2;
  const char *d;
  size_t n, i;
  stralloc back = {0};
  unsigned long v, a, p;
  if (size < 1) return 0;
  d = (const char *)data + 1;
  n = size - 1;
  if (milter_optneg_parse(d, n, &v, &a, &p) && (v < 2 || v > 6)) abort();
  if (n >= 4) {
    size_t l;
    if (milter_pkt_len((const unsigned char *)d, &l) && l + 1 > MILTER_PKT_MAX) abort();
  }
  if (!milter_reply_parse((char)data[0], d, n, &r)) return 0;
  if (r.cmd != (char)data[0]) abort();
  inside(r.name, r.namelen, d, n);
  inside(r.value, r.valuelen, d, n);
  inside(r.data, r.datalen, d, n);
  switch (r.cmd) {
  case SMFIR_ADDHEADER: case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
    if (!r.namelen || r.namelen > MILTER_NAME_MAX) abort();
    for (i = 0; i < r.namelen; ++i)
      if ((unsigned char)r.name[i] <= ' ' || (unsigned char)r.name[i] >= 0x7f || r.name[i] == ':') abort();
    for (i = 0; i < r.valuelen; ++i) {
      if (!r.value[i]) abort();
      if (r.value[i] == '\r' && (i + 1 >= r.valuelen || r.value[i + 1] != '\n')) abort();
      if (r.value[i] == '\n' && (i + 1 >= r.valuelen || (r.value[i + 1] != ' ' && r.value[i + 1] != '\t'))) abort();
    }
    if (r.cmd != SMFIR_ADDHEADER && !milter_cat32(&back, r.index)) abort();
    if (!milter_cat0(&back, r.name, r.namelen) || !milter_cat0(&back, r.value, r.valuelen)) abort();
    break;
  case SMFIR_ADDRCPT: case SMFIR_DELRCPT: case SMFIR_ADDRCPT_PAR: case SMFIR_CHGFROM: case SMFIR_QUARANTINE:
    if (r.namelen > MILTER_ADDR_MAX || (!r.namelen && r.cmd != SMFIR_CHGFROM && r.cmd != SMFIR_QUARANTINE)) abort();
    for (i = 0; i < r.namelen; ++i) {
      if ((unsigned char)r.name[i] < 0x20 || r.name[i] == 0x7f) abort();
      if (r.cmd != SMFIR_QUARANTINE && (r.name[i] == '<' || r.name[i] == '>')) abort();
    }
    if (r.cmd == SMFIR_QUARANTINE) { if (!milter_cat0(&back, r.name, r.namelen)) abort(); }
    else if (!stralloc_append(&back, "<") || !stralloc_catb(&back, r.name, r.namelen) || !milter_cat0(&back, ">", 1)) abort();
    if (r.value && !milter_cat0(&back, r.value, r.valuelen)) abort();
    break;
  case SMFIR_REPLYCODE:
    if (r.datalen + 1 != n || memchr(r.data, 0, r.datalen)) abort();
    replycode(r.data, r.datalen);
    if (!milter_cat0(&back, r.data, r.datalen)) abort();
    break;
  case SMFIR_REPLBODY:
    if (r.datalen != n) abort();
    if (!stralloc_catb(&back, r.data, r.datalen)) abort();
    break;
  default:
    if (n) abort();
    if (!stralloc_copys(&back, "")) abort();
  }
  if (!milter_reply_parse(r.cmd, back.s, back.len, &r2)) abort();
  same(&r, &r2);
  stralloc_free(&back);
  return 0;
}
