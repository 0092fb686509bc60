/* uribl's scanner: Perl qpsmtpd's plugins/uribl (lookup_start) over
   bytes. Per line, as Perl does it:

   - a line ending in '=' (a quoted-printable soft break) is kept; the next
     line that does not end in '=' is scanned joined to the kept ones (each
     part is also scanned alone, as Perl does);
   - "=XX" and "%XX" become the octet XX, then "&#NN;" / "&#NNN;" (the ';'
     optional) the character NN(N), then every ';' goes;
   - four patterns, each over the whole line, in this order:
       1. scheme://[userinfo@]DDDDDDD  an address as one decimal number
          (7 digits or more), then [:port] and '/', '?', a space or the end;
       2. scheme://[userinfo@]A.B.C.D  octets decimal, octal (0377) or hex
          (0xff), made decimal;
       3. any host name: letters, digits, '-' and '.' ending in ".TLD" (a
          2-letter one or one of Perl's list) and not followed by a letter,
          digit or '_';
       4. scheme://[userinfo@]host.TLD, where the TLD may run on (Perl's
          pattern has no end check there: "example.community" is taken as
          "example.com");
     scheme is 3 to 16 letters, digits or '_', and userinfo ends at the
     last '@' before white space that lets the rest match, as Perl's
     backtracking does;
   - an address is looked up reversed (4.3.2.1); a host name as itself and
     each parent down to its registered domain: the last 2 labels, or 3
     under Perl's strict two-level ccTLDs (example.co.uk). A host whose
     registered domain is whitelisted gives nothing (Perl checks the
     whitelist this way for pattern 3, and a mis-sliced domain for pattern
     4: we use the registered domain for both).

   Characters: octets are characters 0-255 without locale, so only ASCII
   letters and digits are word characters; an "&#NNN;" above 255 makes the
   line a Perl character string, where Latin-1 letters are word characters
   and 0x85 and 0xa0 white space, as in Perl (the characters above 255 count
   as letters that belong to no host name). Names longer than 253 octets are
   not given (no DNS name is), nor an octal or hex octet beyond 64 bits.

   Every pass is linear in the line: the userinfo candidates of a run of
   non-space are tried at most once per pattern. */
#include <stdint.h>
#include <string.h>
#include "uribl_scan.h"

typedef unsigned short ch;

struct line { const ch *w; size_t n; int wide; };
struct span { size_t s, e; };
struct match { struct span o[4]; size_t end; };
enum { P_INTIP, P_DOTIP, P_URIHOST };

static const char *const gtlds[] = {
  "aero", "arpa", "asia", "biz", "cat", "com", "coop", "edu", "gov", "info", "int", "jobs", "mil",
  "mobi", "museum", "name", "net", "org", "pro", "tel", "travel",
};
static const char cctlds[][3] = {
  "ac", "ae", "uk", "ai", "ar", "at", "au", "az", "bb", "bh", "bm", "br", "bs", "ca", "ck", "cn",
  "co", "cr", "cu", "cy", "do", "et", "ge", "hk", "id", "il", "jp", "kr", "kw", "lv", "sg", "za",
};

static int is_digit(ch c) { return c >= '0' && c <= '9'; }
static int is_alpha(ch c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnum(ch c) { return is_digit(c) || is_alpha(c); }
static int is_hostc(ch c) { return is_alnum(c) || c == '-' || c == '.'; }
static ch lower(ch c) { return c >= 'A' && c <= 'Z' ? (ch)(c + 32) : c; }

static int xval(ch c)
{
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Perl's \w and \s */
static int is_w(const struct line *l, ch c)
{
  if (c < 128) return is_alnum(c) || c == '_';
  if (c > 255) return 1;
  if (!l->wide) return 0;
  return c == 0xaa || c == 0xb5 || c == 0xba || (c >= 0xc0 && c != 0xd7 && c != 0xf7);
}

static int is_s(const struct line *l, ch c)
{
  if (c == ' ' || (c >= 9 && c <= 13)) return 1;
  return l->wide && (c == 0x85 || c == 0xa0);
}

unsigned int uribl_cutoff(const char *tld, size_t len)
{
  size_t i;
  if (len != 2) return 2;
  for (i = 0; i < sizeof cctlds / sizeof cctlds[0]; ++i)
    if (tld[0] == cctlds[i][0] && tld[1] == cctlds[i][1]) return 3;
  return 2;
}

/* w[t..t+len) equals one of the listed TLDs (any case) */
static int gtld_is(const struct line *l, size_t t, size_t len)
{
  size_t i, j;
  for (i = 0; i < sizeof gtlds / sizeof gtlds[0]; ++i) {
    if (strlen(gtlds[i]) != len) continue;
    for (j = 0; j < len && lower(l->w[t + j]) == (ch)gtlds[i][j]; ++j) ;
    if (j == len) return 1;
  }
  return 0;
}

/* the length of the first TLD of Perl's alternation that w[t..] starts
   with: a listed one, else 2 letters; 0 none */
static size_t gtld_prefix(const struct line *l, size_t t)
{
  size_t i, j, len;
  if (t + 1 >= l->n || !is_alpha(l->w[t]) || !is_alpha(l->w[t + 1])) return 0;
  for (i = 0; i < sizeof gtlds / sizeof gtlds[0]; ++i) {
    len = strlen(gtlds[i]);
    if (len > l->n - t) continue;
    for (j = 0; j < len && lower(l->w[t + j]) == (ch)gtlds[i][j]; ++j) ;
    if (j == len) return len;
  }
  return 2;
}

/* s/[=%]([0-9A-Fa-f]{2})/chr(hex($1))/ge; s/&#(\d{2,3});?/chr($1)/ge;
   tr/;//d -- into u->work */
static void decode(struct uribl_scan *u, const char *x, size_t len, struct line *l)
{
  ch *w = u->work;
  size_t i, n = 0, m = 0;
  for (i = 0; i < len; ) {
    ch c = (unsigned char)x[i];
    if ((c == '=' || c == '%') && len - i >= 3 && xval((unsigned char)x[i + 1]) >= 0
        && xval((unsigned char)x[i + 2]) >= 0) {
      w[n++] = (ch)(xval((unsigned char)x[i + 1]) * 16 + xval((unsigned char)x[i + 2]));
      i += 3;
    } else {
      w[n++] = c;
      ++i;
    }
  }
  l->wide = 0;
  for (i = 0; i < n; ) {
    ch c = w[i];
    if (c == '&' && n - i >= 4 && w[i + 1] == '#' && is_digit(w[i + 2]) && is_digit(w[i + 3])) {
      unsigned int v = (unsigned int)(w[i + 2] - '0') * 10 + (unsigned int)(w[i + 3] - '0');
      i += 4;
      if (i < n && is_digit(w[i])) v = v * 10 + (unsigned int)(w[i++] - '0');
      if (i < n && w[i] == ';') ++i;
      c = (ch)v;
      if (v > 255) l->wide = 1;
    } else
      ++i;
    if (c != ';') w[m++] = c;   /* m <= i: in place */
  }
  l->w = w;
  l->n = m;
}

/* the scan's name callback, with the stop remembered */
static int give(struct uribl_scan *u, size_t len)
{
  if (u->stopped) return -1;
  if (u->e.name(u->e.ctx, u->name, len) < 0) { u->stopped = 1; return -1; }
  return 0;
}

/* a host name at w[s..e) (ASCII letters, digits, '-', '.'): itself and
   its parents down to the registered domain, unless that is whitelisted */
static int emit_host(struct uribl_scan *u, const struct line *l, size_t s, size_t e)
{
  size_t i, len = e - s, last = 0, reg, labels = 1, cut;
  char *h = u->name;
  /* only the last 253 octets can make a DNS name: start at a label there
     (the registered domain is among the last labels either way) */
  if (len > 253) {
    size_t k = e - 253;
    while (k < e && l->w[k - 1] != '.') ++k;
    if (k >= e) return 0;
    s = k;
    len = e - s;
  }
  for (i = 0; i < len; ++i) {
    h[i] = (char)lower(l->w[s + i]);
    if (h[i] == '.') { ++labels; last = i + 1; }
  }
  cut = uribl_cutoff(h + last, len - last);
  if (labels < cut) return 0;
  /* reg: where the last cut labels start */
  reg = len;
  for (i = 0; i < cut; ++i) {
    while (reg && h[reg - 1] != '.') --reg;
    if (i + 1 < cut) --reg;
  }
  if (u->e.whitelisted(u->e.ctx, h + reg, len - reg)) {
    if (u->e.skipped) u->e.skipped(u->e.ctx, h, len);
    return 0;
  }
  for (;;) {
    size_t d = 0;
    if (give(u, len) < 0) return -1;
    if (!reg) return 0;
    while (h[d] != '.') ++d;
    memmove(h, h + d + 1, len - d - 1);
    len -= d + 1;
    reg -= d + 1;
  }
}

/* pattern 1's tail: (\d{7,})(?::\d*)?([/?\s]|$) */
static int tail_intip(const struct line *l, size_t h, struct match *m)
{
  size_t p = h;
  while (p < l->n && is_digit(l->w[p])) ++p;
  if (p - h < 7) return 0;
  m->o[0].s = h;
  m->o[0].e = p;
  if (p < l->n && l->w[p] == ':')
    for (++p; p < l->n && is_digit(l->w[p]); ++p) ;
  if (p == l->n) { m->end = p; return 1; }
  if (l->w[p] == '/' || l->w[p] == '?' || is_s(l, l->w[p])) { m->end = p + 1; return 1; }
  return 0;
}

/* pattern 2's tail: four of (\d+|0[xX][0-9A-Fa-f]+) joined by dots; the
   alternatives exclude each other, so there is nothing to backtrack */
static int tail_dotip(const struct line *l, size_t h, struct match *m)
{
  size_t p = h;
  int i;
  for (i = 0; i < 4; ++i) {
    size_t s = p;
    if (p < l->n && is_digit(l->w[p])) {
      while (p < l->n && is_digit(l->w[p])) ++p;
      if (i == 3 || (p < l->n && l->w[p] == '.')) goto ok;
      p = s;
    }
    if (i < 3 && l->n - p >= 3 && l->w[p] == '0' && (l->w[p + 1] == 'x' || l->w[p + 1] == 'X')
        && xval(l->w[p + 2]) >= 0) {
      for (p += 2; p < l->n && xval(l->w[p]) >= 0; ++p) ;
      if (p < l->n && l->w[p] == '.') goto ok;
    }
    return 0;
  ok:
    m->o[i].s = s;
    m->o[i].e = p;
    if (i < 3) ++p;
  }
  m->end = p;
  return 1;
}

/* pattern 4's tail: [a-zA-Z0-9][a-zA-Z0-9\-.]+\.(?:TLDs|[a-zA-Z]{2}) --
   the last dot that a TLD of the alternation follows, no end check */
static int tail_urihost(const struct line *l, size_t h, struct match *m)
{
  size_t r, q;
  if (h >= l->n || !is_alnum(l->w[h])) return 0;
  for (r = h + 1; r < l->n && is_hostc(l->w[r]); ++r) ;
  for (q = r; q-- > h + 2; ) {
    size_t t;
    if (l->w[q] != '.') continue;
    t = gtld_prefix(l, q + 1);
    if (!t) continue;
    m->o[0].s = h;
    m->o[0].e = q + 1 + t;
    m->end = q + 1 + t;
    return 1;
  }
  return 0;
}

static int tail(int pat, const struct line *l, size_t h, struct match *m)
{
  switch (pat) {
  case P_INTIP: return tail_intip(l, h, m);
  case P_DOTIP: return tail_dotip(l, h, m);
  default: return tail_urihost(l, h, m);
  }
}

/* what one pattern's /g loop knows about the current run of non-space:
   it spans [from, sp), and every '@' in [failed, sp) was tried */
struct run { int known; size_t from, sp, failed; };

/* the next match of \w{3,16}:/+(?:\S+@)?TAIL at or after from */
static int uri_next(const struct line *l, int pat, size_t from, struct run *rn, struct match *m)
{
  size_t c;
  for (c = from + 3; c < l->n; ++c) {
    size_t fs, se, a;
    if (l->w[c] != ':' || !is_w(l, l->w[c - 1]) || !is_w(l, l->w[c - 2]) || !is_w(l, l->w[c - 3]))
      continue;
    if (c + 1 >= l->n || l->w[c + 1] != '/') continue;
    fs = c + 1;
    for (se = fs; se < l->n && l->w[se] == '/'; ++se) ;
    if (!(rn->known && se >= rn->from && se <= rn->sp)) {
      size_t sp;
      for (sp = se; sp < l->n && !is_s(l, l->w[sp]); ++sp) ;
      rn->known = 1;
      rn->from = se;
      rn->sp = sp;
      rn->failed = sp;
    }
    /* userinfo: the last '@' first, as \S+ gives back from the right */
    for (a = rn->failed; a > se + 1; ) {
      --a;
      if (l->w[a] == '@' && tail(pat, l, a + 1, m)) { rn->failed = a + 1; return 1; }
    }
    if (rn->failed > se + 1) rn->failed = se + 1;
    if (tail(pat, l, se, m)) return 1;
    /* /+ gives back a slash: an '@' right after the slashes */
    if (se - fs >= 2 && se < l->n && l->w[se] == '@' && tail(pat, l, se + 1, m)) return 1;
  }
  return 0;
}

static size_t put_ulong(char *b, unsigned long long v)
{
  char t[24];
  size_t n = 0, i;
  do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  for (i = 0; i < n; ++i) b[i] = t[n - 1 - i];
  return n;
}

static int emit_intip(struct uribl_scan *u, const struct line *l, const struct match *m)
{
  unsigned long long v = 0;
  size_t i, n = 0;
  int sat = 0;
  for (i = m->o[0].s; i < m->o[0].e; ++i) {
    unsigned int d = l->w[i] - '0';
    if (v > (UINT64_MAX - d) / 10) sat = 1;
    else v = v * 10 + d;
  }
  /* Perl: a number beyond 64 bits shifts as the largest one */
  if (sat) v = UINT64_MAX;
  for (i = 0; i < 4; ++i) {
    if (i) u->name[n++] = '.';
    n += put_ulong(u->name + n, (v >> (8 * i)) & 0xff);
  }
  return give(u, n);
}

/* one octet of pattern 2 as Perl leaves it: 0[0-7]+ made decimal, 0x..
   (lower-case x) made decimal, anything else as written; 0 when it does
   not fit */
static int octet(const struct line *l, const struct span *o, char *b, size_t room, size_t *n)
{
  size_t i, len = o->e - o->s;
  const ch *w = l->w + o->s;
  int base = 0;
  if (len >= 2 && w[0] == '0') {
    base = 8;
    for (i = 1; i < len; ++i) if (w[i] < '0' || w[i] > '7') base = 0;
    if (!base && len >= 3 && w[1] == 'x') {
      base = 16;
      for (i = 2; i < len; ++i) if (xval(w[i]) < 0) base = 0;
    }
  }
  if (base) {
    unsigned long long v = 0;
    for (i = base == 8 ? 1 : 2; i < len; ++i) {
      unsigned int d = (unsigned int)xval(w[i]);
      if (v > (UINT64_MAX - d) / (unsigned int)base) return 0;
      v = v * (unsigned int)base + d;
    }
    if (room < 20) return 0;
    *n = put_ulong(b, v);
    return 1;
  }
  if (len > room) return 0;
  for (i = 0; i < len; ++i) b[i] = (char)w[i];
  *n = len;
  return 1;
}

static int emit_dotip(struct uribl_scan *u, const struct line *l, const struct match *m)
{
  size_t n = 0, k;
  int i;
  for (i = 3; i >= 0; --i) {
    if (i < 3) { if (n >= 253) return 0; u->name[n++] = '.'; }
    if (!octet(l, &m->o[i], u->name + n, 253 - n, &k)) return 0;
    n += k;
  }
  return give(u, n);
}

static int pattern(struct uribl_scan *u, const struct line *l, int pat)
{
  struct run rn = { 0, 0, 0, 0 };
  struct match m;
  size_t from = 0;
  while (uri_next(l, pat, from, &rn, &m)) {
    int r = pat == P_INTIP ? emit_intip(u, l, &m) : pat == P_DOTIP ? emit_dotip(u, l, &m)
          : emit_host(u, l, m.o[0].s, m.o[0].e);
    if (r < 0) return -1;
    from = m.end;
  }
  return 0;
}

/* pattern 3: ((?:www\.)?[a-zA-Z0-9][a-zA-Z0-9\-.]+\.(?:TLDs|[a-zA-Z]{2}))(?!\w)
   -- in a run of host characters from its first letter or digit, the last
   dot (2 or more characters in) after which a whole TLD of the list or of
   2 letters is not followed by a word character; none there, none in the
   rest of the run either */
static int hosts(struct uribl_scan *u, const struct line *l)
{
  size_t pos = 0;
  while (pos < l->n) {
    size_t p = pos, r, q;
    if (!is_alnum(l->w[p])) { ++pos; continue; }
    for (r = p + 1; r < l->n && is_hostc(l->w[r]); ++r) ;
    for (q = r; q-- > p + 2; ) {
      size_t k;
      if (l->w[q] != '.') continue;
      for (k = q + 1; k < l->n && is_alpha(l->w[k]); ++k) ;
      if (k < l->n && is_w(l, l->w[k])) continue;
      if (k - q - 1 != 2 && !gtld_is(l, q + 1, k - q - 1)) continue;
      if (emit_host(u, l, p, k) < 0) return -1;
      break;
    }
    pos = r;
  }
  return 0;
}

/* the body of Perl's loop for one line */
static int scan_line(struct uribl_scan *u, const char *x, size_t len)
{
  struct line l;
  size_t i;
  int scheme = 0;
  decode(u, x, len, &l);
  for (i = 0; i + 1 < l.n; ++i)
    if (l.w[i] == ':' && l.w[i + 1] == '/') { scheme = 1; break; }
  if (scheme && (pattern(u, &l, P_INTIP) < 0 || pattern(u, &l, P_DOTIP) < 0)) return -1;
  if (hosts(u, &l) < 0) return -1;
  if (scheme && pattern(u, &l, P_URIHOST) < 0) return -1;
  return 0;
}

static void cont_add(struct uribl_scan *u, const char *x, size_t len)
{
  size_t room = URIBL_LINE_MAX - u->contlen;
  if (len > room) len = room;
  memcpy(u->cont + u->contlen, x, len);
  u->contlen += len;
}

/* a whole line (its first URIBL_LINE_MAX octets; last: its real last one) */
static int line_done(struct uribl_scan *u, char last)
{
  const char *x = u->line;
  size_t len = u->linelen;
  if (u->skipping) {
    if (!len || (len == 1 && x[0] == '0')) u->skipping = 0;
    return 0;
  }
  if (len && last == '=') {
    cont_add(u, x, len == URIBL_LINE_MAX ? len : len - 1);
    u->have_cont = 1;
    return scan_line(u, x, len);
  }
  if (u->have_cont) {
    int r;
    cont_add(u, x, len);
    r = scan_line(u, u->cont, u->contlen);
    u->contlen = 0;
    u->have_cont = 0;
    return r;
  }
  return scan_line(u, x, len);
}

void uribl_scan_init(struct uribl_scan *u, const struct uribl_emit *e, int skip_head)
{
  u->e = *e;
  u->skipping = skip_head;
  u->stopped = 0;
  u->have_cont = 0;
  u->linelen = 0;
  u->contlen = 0;
  u->partial = 0;
  u->last = 0;
}

int uribl_scan_feed(struct uribl_scan *u, const char *buf, size_t len)
{
  while (len && !u->stopped) {
    const char *nl = memchr(buf, '\n', len);
    size_t take = nl ? (size_t)(nl - buf) : len;
    size_t room = URIBL_LINE_MAX - u->linelen;
    memcpy(u->line + u->linelen, buf, take < room ? take : room);
    u->linelen += take < room ? take : room;
    if (take) { u->last = buf[take - 1]; u->partial = 1; }
    if (!nl) break;
    if (line_done(u, u->last) < 0) u->stopped = 1;
    u->linelen = 0;
    u->last = 0;
    u->partial = 0;
    buf += take + 1;
    len -= take + 1;
  }
  return u->stopped ? -1 : 0;
}

int uribl_scan_end(struct uribl_scan *u)
{
  if (!u->stopped && u->partial && line_done(u, u->last) < 0) u->stopped = 1;
  u->partial = 0;
  u->linelen = 0;
  return u->stopped ? -1 : 0;
}
