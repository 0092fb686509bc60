/* addsig: appends the signature of the sender's domain to the message
   (the data_post example of the qpsmtpd-with-Postfix tutorial's section
   on writing plugins). The signature is the file DIR/DOMAIN, DOMAIN being
   the envelope sender's domain in lower case. The domain is used only
   when it is a plain host name (letters, digits, '-' and '.', no leading,
   trailing or double dot), so it can never name a path outside DIR; the
   file is opened without following a symbolic link and must be a regular
   file of at most 64 KiB without NUL bytes.

   MIME: the signature is appended only where a reader will see it as
   plain text: a message without Content-Type, or text/plain, with no
   Content-Transfer-Encoding or 7bit/8bit (a signature with 8-bit bytes
   only under 8bit). Multipart messages are left as they are: text after
   the closing boundary is an epilogue no mail reader shows, and a part
   added inside would break multipart/signed and multipart/alternative;
   the log says why. Messages with a DKIM-Signature are left too, since
   the appended text would break the signature. No signature file for the
   domain, or anything else wrong with it, never refuses the message; only
   a failure to store the appended text does (452, nothing queued).

   Argument: the signature directory (required). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <case.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "addsig"
#define SIG_MAX 65536

struct addsig { const char *dir; };

static int addsig_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct addsig *a;
  if (argc != 1 || !argv[0][0]) { stralloc_copys(err, "takes one argument, the signature directory"); return 0; }
  a = malloc(sizeof *a);
  if (!a) { stralloc_copys(err, "out of memory"); return 0; }
  a->dir = argv[0];
  *self = a;
  return 1;
}

/* the lower-cased domain into d when it is a safe file name */
static int safe_domain(const char *x, stralloc *d)
{
  size_t i, l = str_len(x);
  if (!l || l > 253 || x[0] == '.' || x[l - 1] == '.') return 0;
  for (i = 0; i < l; ++i) {
    char c = x[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return 0;
    if (c == '.' && x[i + 1] == '.') return 0;
  }
  if (!stralloc_copyb(d, x, l) || !stralloc_0(d)) return 0;
  case_lowerb(d->s, l);
  return 1;
}

/* the MIME type of a Content-Type value, lower case, without parameters */
static void media_type(const stralloc *v, stralloc *t)
{
  size_t i = 0, e;
  t->len = 0;
  while (i < v->len && (v->s[i] == ' ' || v->s[i] == '\t')) ++i;
  for (e = i; e < v->len && v->s[e] != ';' && v->s[e] != ' ' && v->s[e] != '\t' && v->s[e] != '('; ++e) ;
  if (stralloc_copyb(t, v->s + i, e - i) && stralloc_0(t)) case_lowerb(t->s, e - i);
  else t->len = 0;
}

static int read_sig(struct session *s, const char *path, stralloc *sig)
{
  struct stat st;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  ssize_t r;
  if (fd < 0) {
    if (errno == ENOENT) qlogm(s, LOGDEBUG, PLUGIN, "skip, no signature ", path);
    else qlogm(s, LOGERROR, PLUGIN, "cannot open ", path, ": ", strerror(errno));
    return 0;
  }
  if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > SIG_MAX) {
    qlogm(s, LOGERROR, PLUGIN, "skip, ", path, " is not a regular file of at most 64 KiB");
    close(fd);
    return 0;
  }
  if (!stralloc_ready(sig, (size_t)st.st_size + 2)) { close(fd); return 0; }
  sig->len = 0;
  for (;;) {
    r = read(fd, sig->s + sig->len, (size_t)st.st_size + 1 - sig->len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    sig->len += (size_t)r;
    if (sig->len > (size_t)st.st_size) break;
  }
  close(fd);
  if (r < 0 || sig->len > SIG_MAX) { qlogm(s, LOGERROR, PLUGIN, "cannot read ", path); return 0; }
  return 1;
}

/* CRLF to LF, a final LF; 0 for a NUL, a bare CR or a line over 998 */
static int normalise(stralloc *sig, int *eight)
{
  size_t i, o = 0, col = 0;
  *eight = 0;
  for (i = 0; i < sig->len; ++i) {
    char c = sig->s[i];
    if (c == 0) return 0;
    if (c == '\r') {
      if (i + 1 < sig->len && sig->s[i + 1] == '\n') continue;
      return 0;
    }
    if ((unsigned char)c >= 128) *eight = 1;
    col = c == '\n' ? 0 : col + 1;
    if (col > 998) return 0;
    sig->s[o++] = c;
  }
  sig->len = o;
  if (o && sig->s[o - 1] != '\n') return stralloc_append(sig, "\n");
  return 1;
}

static int addsig_data_post(struct session *s, void *self, struct msg_args *a)
{
  struct addsig *as = self;
  const char *sender = txn_sender(s), *at;
  stralloc dom = {0}, v = {0}, t = {0}, path = {0}, sig = {0};
  int eight, cte8 = 0, rc = DECLINED;
  if (!sender || !(at = strrchr(sender, '@'))) return DECLINED;
  if (!safe_domain(at + 1, &dom)) {
    qlog(s, LOGINFO, PLUGIN, "skip, the sender's domain is not a plain host name");
    goto done;
  }
  if (txn_header_get(s, "Content-Type", &v) == 1) {
    media_type(&v, &t);
    if (t.len > 10 && !memcmp(t.s, "multipart/", 10)) {
      qlogm(s, LOGINFO, PLUGIN, "skip, a ", t.s, " message is left as it is");
      goto done;
    }
    if (!t.len || !str_equal(t.s, "text/plain")) {
      qlogm(s, LOGINFO, PLUGIN, "skip, not text/plain: ", t.len ? t.s : "?");
      goto done;
    }
  }
  if (txn_header_get(s, "Content-Transfer-Encoding", &v) == 1) {
    media_type(&v, &t);
    if (t.len && str_equal(t.s, "8bit")) cte8 = 1;
    else if (!t.len || !str_equal(t.s, "7bit")) {
      qlogm(s, LOGINFO, PLUGIN, "skip, Content-Transfer-Encoding ", t.len ? t.s : "?");
      goto done;
    }
  }
  if (txn_header_count(s, "DKIM-Signature")) {
    qlog(s, LOGINFO, PLUGIN, "skip, the message has a DKIM signature");
    goto done;
  }
  if (!stralloc_copys(&path, as->dir) || !stralloc_append(&path, "/") || !stralloc_cats(&path, dom.s)
      || !stralloc_0(&path)) goto done;
  if (!read_sig(s, path.s, &sig)) goto done;
  if (!normalise(&sig, &eight)) {
    qlogm(s, LOGERROR, PLUGIN, "skip, ", path.s, " has a NUL, a bare CR or a line over 998 characters");
    goto done;
  }
  if (eight && !cte8) {
    qlogm(s, LOGINFO, PLUGIN, "skip, ", path.s, " has 8-bit text and the message is not 8bit");
    goto done;
  }
  if (!sig.len) goto done;
  if (!txn_body_append(s, sig.s, sig.len)) {
    /* part of it may be stored: never queue that */
    qlogm(s, LOGERROR, PLUGIN, "cannot append the signature: ", strerror(errno));
    stralloc_copys(a->msg, "4.3.0 Local error in processing; try again later");
    rc = DENYSOFT;
    goto done;
  }
  qlogm(s, LOGINFO, PLUGIN, "appended ", path.s);
done:
  stralloc_free(&dom);
  stralloc_free(&v);
  stralloc_free(&t);
  stralloc_free(&path);
  stralloc_free(&sig);
  return rc;
}

const struct plugin plugin_addsig = {
  .name = "addsig",
  .init = addsig_init,
  .data_post = addsig_data_post,
};
