/* rspamd's answer reader (rspamd_reply.c) over any bytes. Checked,
   besides ASan and UBSan:
   - every name kept is 1 to RSPAMD_NAME_MAX bytes of '!'..'~' but ':';
     every text is NUL-terminated within its bound with no byte below
     0x20 and no 0x7f; counts within their bounds; scores clamped; the
     action one of the enum;
   - a failed parse leaves the result empty;
   - round trip: what was read, written back as an HTTP answer with a
     JSON object, reads back to exactly the same result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../rspamd_reply.h"

#define OUT_MAX (1 << 19)

static struct rspamd_result a, b, zero;
static char out[OUT_MAX];
static size_t n;

static void cat(const char *x, size_t len)
{
  if (n + len > OUT_MAX) abort();
  memcpy(out + n, x, len);
  n += len;
}
static void cats(const char *x) { cat(x, strlen(x)); }

static void str(const char *x)
{
  cat("\"", 1);
  for (; *x; ++x) {
    if (*x == '"' || *x == '\\') cat("\\", 1);
    cat(x, 1);
  }
  cat("\"", 1);
}

static void num(long v)
{
  char buf[40];
  size_t k = sizeof buf;
  unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
  buf[--k] = (char)('0' + u % 10);
  buf[--k] = (char)('0' + u / 10 % 10);
  buf[--k] = '.';
  u /= 100;
  do buf[--k] = (char)('0' + u % 10); while (u /= 10);
  if (v < 0) buf[--k] = '-';
  cat(buf + k, sizeof buf - k);
}

static void text_ok(const char *x, size_t max)
{
  size_t i;
  for (i = 0; i <= max && x[i]; ++i)
    if ((unsigned char)x[i] < 0x20 || x[i] == 0x7f) abort();
  if (i > max) abort();
}

static void name_ok(const char *x)
{
  size_t i;
  for (i = 0; i <= RSPAMD_NAME_MAX && x[i]; ++i)
    if ((unsigned char)x[i] <= ' ' || (unsigned char)x[i] > '~' || x[i] == ':') abort();
  if (!i || i > RSPAMD_NAME_MAX) abort();
}

static void score_ok(long v)
{
  if (v > RSPAMD_SCORE_MAX || v < -RSPAMD_SCORE_MAX) abort();
}

static void check(const struct rspamd_result *r)
{
  unsigned int i;
  if (r->action < 0 || r->action > RSPAMD_OTHER) abort();
  score_ok(r->score);
  score_ok(r->required);
  text_ok(r->subject, RSPAMD_TEXT_MAX);
  text_ok(r->message, RSPAMD_TEXT_MAX);
  if (r->nsym > RSPAMD_SYMBOLS_MAX || r->nsym > r->nsym_seen) abort();
  if (r->nadd > RSPAMD_HEADERS_MAX || r->nremove > RSPAMD_HEADERS_MAX) abort();
  for (i = 0; i < r->nsym; ++i) { name_ok(r->sym[i].name); score_ok(r->sym[i].score); }
  for (i = 0; i < r->nadd; ++i) { name_ok(r->add[i].name); text_ok(r->add[i].value, RSPAMD_TEXT_MAX); }
  for (i = 0; i < r->nremove; ++i) name_ok(r->remove[i].name);
}

static void write_back(const struct rspamd_result *r)
{
  unsigned int i;
  n = 0;
  cats("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"action\":");
  str(rspamd_action_name(r->action));
  if (r->have_score) { cats(",\"score\":"); num(r->score); }
  if (r->have_required) { cats(",\"required_score\":"); num(r->required); }
  if (r->have_subject) { cats(",\"subject\":"); str(r->subject); }
  if (r->have_message) { cats(",\"messages\":{\"smtp_message\":"); str(r->message); cats("}"); }
  cats(",\"symbols\":{");
  for (i = 0; i < r->nsym; ++i) {
    if (i) cats(",");
    str(r->sym[i].name);
    cats(":{\"name\":\"x\",\"score\":");
    num(r->sym[i].score);
    cats(",\"options\":[\"a\",1,{\"b\":null}]}");
  }
  cats("},\"milter\":{\"add_headers\":{");
  for (i = 0; i < r->nadd; ++i) {
    if (i) cats(",");
    str(r->add[i].name);
    if (i & 1) { cats(":{\"order\":0,\"value\":"); str(r->add[i].value); cats("}"); }
    else { cats(":"); str(r->add[i].value); }
  }
  cats("},\"remove_headers\":{");
  for (i = 0; i < r->nremove; ++i) {
    if (i) cats(",");
    str(r->remove[i].name);
    cats(":1");
  }
  cats("}}}\n");
}

static void same(const struct rspamd_result *x, const struct rspamd_result *y)
{
  unsigned int i;
  if (x->action != y->action || x->have_score != y->have_score || x->have_required != y->have_required
      || x->have_subject != y->have_subject || x->have_message != y->have_message || x->nsym != y->nsym
      || x->nadd != y->nadd || x->nremove != y->nremove) abort();
  if ((x->have_score && x->score != y->score) || (x->have_required && x->required != y->required)) abort();
  if (strcmp(x->subject, y->subject) || strcmp(x->message, y->message)) abort();
  for (i = 0; i < x->nsym; ++i)
    if (strcmp(x->sym[i].name, y->sym[i].name) || x->sym[i].score != y->sym[i].score) abort();
  for (i = 0; i < x->nadd; ++i)
    if (strcmp(x->add[i].name, y->add[i].name) || strcmp(x->add[i].value, y->add[i].value)) abort();
  for (i = 0; i < x->nremove; ++i)
    if (strcmp(x->remove[i].name, y->remove[i].name)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (rspamd_reply_parse((const char *)data, size, &a)) {
    if (memcmp(&a, &zero, sizeof a)) abort();
    return 0;
  }
  check(&a);
  write_back(&a);
  if (rspamd_reply_parse(out, n, &b)) abort();
  check(&b);
  same(&a, &b);
  return 0;
}
