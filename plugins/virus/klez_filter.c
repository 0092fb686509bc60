/* virus/klez_filter: Perl qpsmtpd's plugins/virus/klez_filter, exactly.
   A message of 60000 octets or more (headers and body, LF line ends, as
   Perl's data_size) whose body, in its first 41 lines counted from the
   empty line that ends the header section, has a line starting
   "Content-type:" (any case) that names audio or application (any case),
   and after it a line starting with the base64 of a Windows executable's
   header (TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQA), is refused: 552 "Klez Virus
   Detected". No arguments. The lines are read as a stream: a line of any
   length is matched whole, without holding it. */
#include <stdlib.h>
#include <string.h>
#include "plugin.h"

#define PLUGIN "virus/klez_filter"
#define THRESHOLD 60000
#define LINES 41
#define CHUNK 8192

static const char ctype[] = "content-type:";
static const char sig[] = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQA";

/* the state of the line being read */
struct klez {
  unsigned int line;            /* lines done */
  int seen;                     /* a Content-type line with audio|application */
  size_t pos;                   /* octets of this line so far (capped) */
  int ct, is_sig;               /* its start still matches ctype / sig */
  int found_type;               /* audio|application after "Content-type:" */
  char tail[11];                /* the last octets after "Content-type:", lower case */
  size_t tlen;
};

static int klez_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  (void)self;
  (void)argv;
  if (argc) { stralloc_copys(err, "virus/klez_filter takes no arguments"); return 0; }
  return 1;
}

static void line_start(struct klez *k)
{
  k->pos = 0;
  k->ct = 1;
  k->is_sig = 1;
  k->found_type = 0;
  k->tlen = 0;
}

static int ends_with(const char *x, size_t len, const char *w)
{
  size_t l = strlen(w);
  return len >= l && !memcmp(x + len - l, w, l);
}

/* one octet of the line (not its LF) */
static void octet(struct klez *k, char c)
{
  char lc = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
  if (k->pos < sizeof sig - 1 && c != sig[k->pos]) k->is_sig = 0;
  if (k->pos < sizeof ctype - 1 && lc != ctype[k->pos]) k->ct = 0;
  if (k->ct && k->pos >= sizeof ctype - 1 && !k->found_type) {
    /* /^Content-type:.*(?:audio|application)/i: either word anywhere after
       the colon */
    if (k->tlen == sizeof k->tail) {
      memmove(k->tail, k->tail + 1, sizeof k->tail - 1);
      k->tlen--;
    }
    k->tail[k->tlen++] = lc;
    if (ends_with(k->tail, k->tlen, "audio") || ends_with(k->tail, k->tlen, "application")) k->found_type = 1;
  }
  if (k->pos < sizeof sig) k->pos++;   /* both prefixes are shorter */
}

/* the end of a line: 1 Klez */
static int line_end(struct klez *k)
{
  int ct = k->ct && k->pos >= sizeof ctype - 1 && k->found_type;
  int is_sig = k->is_sig && k->pos >= sizeof sig - 1;
  k->line++;
  if (ct) { k->seen++; return 0; }
  return k->seen && is_sig;
}

static int klez_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct klez k;
  unsigned long long hdr, off, size = txn_message_size(s);
  char buf[CHUNK];
  (void)self;
  if (txn_data_size(s) < THRESHOLD) return DECLINED;
  memset(&k, 0, sizeof k);
  line_start(&k);
  txn_message_parts(s, &hdr, &off);
  while (off < size && k.line < LINES) {
    ssize_t r = txn_message_read(s, off, buf, sizeof buf);
    ssize_t i;
    if (r <= 0) {
      if (r < 0) qlog(s, LOGERROR, PLUGIN, "cannot read the spool");
      break;
    }
    off += (unsigned long long)r;
    for (i = 0; i < r && k.line < LINES; ++i) {
      if (buf[i] != '\n') { octet(&k, buf[i]); continue; }
      if (line_end(&k)) goto klez;
      line_start(&k);
    }
  }
  /* a last line without its LF */
  if (k.line < LINES && k.pos && line_end(&k)) goto klez;
  return DECLINED;
klez:
  qlog(s, LOGINFO, PLUGIN, "fail, Klez Virus Detected");
  stralloc_copys(a->msg, "Klez Virus Detected");
  return DENY;
}

const struct plugin plugin_virus_klez_filter = {
  .name = "virus/klez_filter",
  .init = klez_init,
  .data_post = klez_data_post,
};
