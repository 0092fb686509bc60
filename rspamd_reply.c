/* rspamd's /checkv2 answer: HTTP/1.x 200, then a JSON object (RFC 8259)
   of which we keep action, score, required_score, subject,
   messages.smtp_message, symbols.NAME.score and milter.add_headers /
   milter.remove_headers. Every byte is hostile: nesting is bounded, every
   text is cut at its bound, numbers are parsed by hand (no locale, no
   floating point) and clamped, anything else is skipped after checking
   its syntax. A JSON syntax error anywhere fails the whole answer. */
#include <string.h>
#include "rspamd_reply.h"

#define DEPTH_MAX 32

struct jp { const char *p, *end; int depth; };

static const char *const action_names[] = {
  "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject", "discard", "other"
};

const char *rspamd_action_name(int action)
{
  if (action < 0 || action > RSPAMD_OTHER) action = RSPAMD_OTHER;
  return action_names[action];
}

static void ws(struct jp *j)
{
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) ++j->p;
}

static int eat(struct jp *j, char c)
{
  ws(j);
  if (j->p < j->end && *j->p == c) { ++j->p; return 1; }
  return 0;
}

static int hex4(struct jp *j, unsigned long *u)
{
  int i;
  *u = 0;
  if (j->end - j->p < 4) return 0;
  for (i = 0; i < 4; ++i) {
    char c = *j->p++;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return 0;
    *u = *u << 4 | (unsigned long)d;
  }
  return 1;
}

static void put(char *out, size_t max, size_t *n, unsigned char c)
{
  if (out && *n < max) out[(*n)++] = (char)c;
}

/* a string (after ws); decoded into out (max bytes, then NUL; out may be
   NULL to skip it), control characters as spaces; 0 on a syntax error */
static int string(struct jp *j, char *out, size_t max)
{
  size_t n = 0;
  if (!eat(j, '"')) return 0;
  for (;;) {
    unsigned char c;
    if (j->p >= j->end) return 0;
    c = (unsigned char)*j->p++;
    if (c == '"') break;
    if (c < 0x20) return 0;
    if (c != '\\') { put(out, max, &n, c == 0x7f ? ' ' : c); continue; }
    if (j->p >= j->end) return 0;
    c = (unsigned char)*j->p++;
    switch (c) {
    case '"': case '\\': case '/': put(out, max, &n, c); break;
    case 'b': case 'f': case 'n': case 'r': case 't': put(out, max, &n, ' '); break;
    case 'u': {
      unsigned long u, lo;
      if (!hex4(j, &u)) return 0;
      if (u >= 0xd800 && u < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
        j->p += 2;
        if (!hex4(j, &lo)) return 0;
        if (lo >= 0xdc00 && lo < 0xe000) u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        else u = '?';
      } else if (u >= 0xd800 && u < 0xe000) u = '?';
      if (u < 0x20 || u == 0x7f) put(out, max, &n, ' ');
      else if (u < 0x80) put(out, max, &n, (unsigned char)u);
      else if (u < 0x800) { put(out, max, &n, (unsigned char)(0xc0 | u >> 6)); put(out, max, &n, (unsigned char)(0x80 | (u & 0x3f))); }
      else if (u < 0x10000) {
        put(out, max, &n, (unsigned char)(0xe0 | u >> 12)); put(out, max, &n, (unsigned char)(0x80 | (u >> 6 & 0x3f)));
        put(out, max, &n, (unsigned char)(0x80 | (u & 0x3f)));
      } else {
        put(out, max, &n, (unsigned char)(0xf0 | u >> 18)); put(out, max, &n, (unsigned char)(0x80 | (u >> 12 & 0x3f)));
        put(out, max, &n, (unsigned char)(0x80 | (u >> 6 & 0x3f))); put(out, max, &n, (unsigned char)(0x80 | (u & 0x3f)));
      }
      break;
    }
    default: return 0;
    }
  }
  if (out) out[n] = 0;
  return 1;
}

/* a JSON number as hundredths, truncated toward zero, clamped */
static int number(struct jp *j, long *out)
{
  unsigned long long m = 0;
  long e10 = 0, ex = 0, e;
  int neg = 0, eneg = 0, digits = 0;
  ws(j);
  if (j->p < j->end && *j->p == '-') { neg = 1; ++j->p; }
  if (j->p < j->end && *j->p == '0') { ++j->p; digits = 1; }
  else
    for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; ++j->p, ++digits) {
      if (m < 100000000000000000ULL) m = m * 10 + (unsigned long long)(*j->p - '0');
      else ++e10;
    }
  if (!digits) return 0;
  if (j->p < j->end && *j->p == '.') {
    ++j->p;
    digits = 0;
    for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; ++j->p, ++digits)
      if (m < 100000000000000000ULL) { m = m * 10 + (unsigned long long)(*j->p - '0'); --e10; }
    if (!digits) return 0;
  }
  if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
    ++j->p;
    if (j->p < j->end && (*j->p == '+' || *j->p == '-')) eneg = *j->p++ == '-';
    digits = 0;
    for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; ++j->p, ++digits)
      if (ex < 100000) ex = ex * 10 + (*j->p - '0');
    if (!digits) return 0;
  }
  e = e10 + (eneg ? -ex : ex) + 2;
  for (; e > 0 && m; --e) {
    if (m > (unsigned long long)RSPAMD_SCORE_MAX) break;
    m *= 10;
  }
  for (; e < 0 && m; ++e) m /= 10;
  if (m > (unsigned long long)RSPAMD_SCORE_MAX) m = (unsigned long long)RSPAMD_SCORE_MAX;
  *out = neg ? -(long)m : (long)m;
  return 1;
}

static int literal(struct jp *j, const char *w)
{
  size_t n = strlen(w);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n)) return 0;
  j->p += n;
  return 1;
}

static int skip(struct jp *j);

/* an object's members, each handed to fn with the key (cut to keymax);
   fn parses the value. */
typedef int (*member_fn)(struct jp *j, const char *key, void *ctx);

static int object(struct jp *j, member_fn fn, void *ctx)
{
  char key[RSPAMD_NAME_MAX + 2];
  int ok = 0;
  if (++j->depth > DEPTH_MAX || !eat(j, '{')) goto out;
  if (eat(j, '}')) { ok = 1; goto out; }
  for (;;) {
    if (!string(j, key, sizeof key - 1) || !eat(j, ':')) goto out;
    if (!(fn ? fn(j, key, ctx) : skip(j))) goto out;
    if (eat(j, ',')) continue;
    if (eat(j, '}')) break;
    goto out;
  }
  ok = 1;
out:
  --j->depth;
  return ok;
}

static int skip_member(struct jp *j, const char *key, void *ctx) { (void)key; (void)ctx; return skip(j); }

static int skip(struct jp *j)
{
  long n;
  ws(j);
  if (j->p >= j->end) return 0;
  switch (*j->p) {
  case '{': return object(j, skip_member, 0);
  case '[':
    if (++j->depth > DEPTH_MAX) return 0;
    ++j->p;
    if (!eat(j, ']')) {
      do if (!skip(j)) return 0; while (eat(j, ','));
      if (!eat(j, ']')) return 0;
    }
    --j->depth;
    return 1;
  case '"': return string(j, 0, 0);
  case 't': return literal(j, "true");
  case 'f': return literal(j, "false");
  case 'n': return literal(j, "null");
  default: return number(j, &n);
  }
}

/* a name as the result holds it: '!'..'~' but ':', 1 to RSPAMD_NAME_MAX */
static int name_ok(const char *x)
{
  size_t i;
  for (i = 0; x[i]; ++i) if ((unsigned char)x[i] <= ' ' || (unsigned char)x[i] > '~' || x[i] == ':') return 0;
  return i > 0 && i <= RSPAMD_NAME_MAX;
}

static void copy_name(char *to, const char *from)
{
  size_t n = strlen(from);
  if (n > RSPAMD_NAME_MAX) n = RSPAMD_NAME_MAX;
  memcpy(to, from, n);
  to[n] = 0;
}

/* symbols.NAME: { "score": N, ... } */
static int sym_member(struct jp *j, const char *key, void *ctx)
{
  long *score = ctx;
  if (!strcmp(key, "score")) {
    ws(j);
    if (j->p < j->end && *j->p == 'n') return literal(j, "null");
    return number(j, score);
  }
  return skip(j);
}

static int symbols_member(struct jp *j, const char *key, void *ctx)
{
  struct rspamd_result *r = ctx;
  long score = 0;
  ws(j);
  if (j->p >= j->end || *j->p != '{') return skip(j);
  if (!object(j, sym_member, &score)) return 0;
  if (r->nsym_seen < 0xffffffffU) ++r->nsym_seen;
  if (r->nsym < RSPAMD_SYMBOLS_MAX && name_ok(key) && strlen(key) <= RSPAMD_NAME_MAX) {
    copy_name(r->sym[r->nsym].name, key);
    r->sym[r->nsym++].score = score;
  }
  return 1;
}

/* milter.add_headers.NAME: "v", {"value": "v", "order": n}, or an array of those */
struct addh { struct rspamd_result *r; const char *name; };

static int add_one(struct addh *a, const char *v)
{
  struct rspamd_result *r = a->r;
  if (r->nadd >= RSPAMD_HEADERS_MAX || !name_ok(a->name) || strlen(a->name) > RSPAMD_NAME_MAX) return 1;
  copy_name(r->add[r->nadd].name, a->name);
  memcpy(r->add[r->nadd].value, v, strlen(v) + 1);
  ++r->nadd;
  return 1;
}

static int addval_member(struct jp *j, const char *key, void *ctx)
{
  char *v = ctx;
  ws(j);
  if (!strcmp(key, "value") && j->p < j->end && *j->p == '"') { v[RSPAMD_TEXT_MAX + 1] = 1; return string(j, v, RSPAMD_TEXT_MAX); }
  return skip(j);
}

static int add_value(struct jp *j, struct addh *a)
{
  char v[RSPAMD_TEXT_MAX + 2];
  ws(j);
  if (j->p < j->end && *j->p == '"') return string(j, v, RSPAMD_TEXT_MAX) && add_one(a, v);
  if (j->p < j->end && *j->p == '{') {
    v[RSPAMD_TEXT_MAX + 1] = 0;
    if (!object(j, addval_member, v)) return 0;
    return v[RSPAMD_TEXT_MAX + 1] ? add_one(a, v) : 1;
  }
  return skip(j);
}

static int add_member(struct jp *j, const char *key, void *ctx)
{
  struct addh a = { ctx, key };
  ws(j);
  if (j->p < j->end && *j->p == '[') {
    int ok = 0;
    if (++j->depth > DEPTH_MAX) return 0;
    ++j->p;
    if (eat(j, ']')) ok = 1;
    else {
      do if (!add_value(j, &a)) goto out; while (eat(j, ','));
      ok = eat(j, ']');
    }
  out:
    --j->depth;
    return ok;
  }
  return add_value(j, &a);
}

static int remove_member(struct jp *j, const char *key, void *ctx)
{
  struct rspamd_result *r = ctx;
  if (!skip(j)) return 0;
  if (r->nremove < RSPAMD_HEADERS_MAX && name_ok(key) && strlen(key) <= RSPAMD_NAME_MAX)
    copy_name(r->remove[r->nremove++].name, key);
  return 1;
}

static int milter_member(struct jp *j, const char *key, void *ctx)
{
  ws(j);
  if (j->p < j->end && *j->p == '{') {
    if (!strcmp(key, "add_headers")) return object(j, add_member, ctx);
    if (!strcmp(key, "remove_headers")) return object(j, remove_member, ctx);
  }
  return skip(j);
}

static int messages_member(struct jp *j, const char *key, void *ctx)
{
  struct rspamd_result *r = ctx;
  ws(j);
  if (!strcmp(key, "smtp_message") && j->p < j->end && *j->p == '"') {
    r->have_message = 1;
    return string(j, r->message, RSPAMD_TEXT_MAX);
  }
  return skip(j);
}

static int top_member(struct jp *j, const char *key, void *ctx)
{
  struct rspamd_result *r = ctx;
  char act[24];
  int i;
  ws(j);
  if (j->p >= j->end) return 0;
  if (!strcmp(key, "action") && *j->p == '"') {
    if (!string(j, act, sizeof act - 1)) return 0;
    r->action = RSPAMD_OTHER;
    for (i = 0; i < RSPAMD_OTHER; ++i) if (!strcmp(act, action_names[i])) r->action = i;
    return 1;
  }
  if (!strcmp(key, "score") && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')))
    return (r->have_score = 1) && number(j, &r->score);
  if (!strcmp(key, "required_score") && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')))
    return (r->have_required = 1) && number(j, &r->required);
  if (!strcmp(key, "subject") && *j->p == '"') return (r->have_subject = 1) && string(j, r->subject, RSPAMD_TEXT_MAX);
  if (*j->p == '{') {
    if (!strcmp(key, "symbols")) return object(j, symbols_member, r);
    if (!strcmp(key, "milter")) return object(j, milter_member, r);
    if (!strcmp(key, "messages")) return object(j, messages_member, r);
  }
  return skip(j);
}

/* "HTTP/1.x 200 ..." and its fields: where the body starts, or 0 */
static const char *http_head(const char *x, size_t len, size_t *body)
{
  size_t i;
  if (len < 12 || memcmp(x, "HTTP/1.", 7) || (x[7] != '0' && x[7] != '1') || x[8] != ' ') return "rspamd's answer is not HTTP";
  if (memcmp(x + 9, "200", 3) || (len > 12 && x[12] != ' ' && x[12] != '\r' && x[12] != '\n')) return "rspamd answered with an HTTP error";
  for (i = 12; i < len; ++i) {
    if (x[i] != '\n') continue;
    if (i + 1 < len && x[i + 1] == '\n') { *body = i + 2; return 0; }
    if (i + 2 < len && x[i + 1] == '\r' && x[i + 2] == '\n') { *body = i + 3; return 0; }
  }
  return "rspamd's answer is truncated";
}

const char *rspamd_reply_parse(const char *x, size_t len, struct rspamd_result *r)
{
  struct jp j;
  size_t body = 0;
  const char *why;
  memset(r, 0, sizeof *r);
  if ((why = http_head(x, len, &body))) return why;
  j.p = x + body;
  j.end = x + len;
  j.depth = 0;
  ws(&j);
  if (j.p >= j.end || *j.p != '{' || !object(&j, top_member, r)) { memset(r, 0, sizeof *r); return "rspamd's answer is not a JSON object"; }
  ws(&j);
  if (j.p != j.end) { memset(r, 0, sizeof *r); return "rspamd's answer has bytes after its JSON object"; }
  return 0;
}
