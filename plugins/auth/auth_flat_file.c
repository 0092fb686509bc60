/* auth/auth_flat_file: AUTH PLAIN, LOGIN and CRAM-MD5 against the
   flat_auth_pw control file, one "user@domain:password" line per user
   (clear-text passwords, so CRAM-MD5 can be checked), as Perl qpsmtpd's
   plugin. The user must contain '@' and is compared without regard to
   case; the password is everything after the first ':'.

   Results as Perl (Qpsmtpd::Auth::validate_password): an unknown user or
   one without a domain is DECLINED (other plugins may know it), a wrong
   password is DENY "auth_flat_file - wrong password", a match is OK.

   The file is read for each attempt and wiped from memory after it.
   A line without ':' makes the file unparsable: 421, naming it. */
#include <string.h>
#include <fmt.h>
#include "plugin.h"
#include "sasl.h"
#include "wipe.h"

#define NAME "auth/auth_flat_file"
#define FILE_ "flat_auth_pw"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int user_equal(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t i;
  if (alen != blen) return 0;
  for (i = 0; i < alen; ++i)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

static int flat_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  (void)self;
  (void)argv;
  if (argc) {
    stralloc_copys(err, "takes no arguments");
    return 0;
  }
  return 1;
}

static int flat_auth(struct session *s, void *self, struct auth_args *a)
{
  stralloc pw = {0};
  const char *secret = NULL;
  size_t secretlen = 0, ul = strlen(a->user), i = 0;
  struct control_at at = { {0}, {0} };
  int rc;
  (void)self;

  if (!strchr(a->user, '@')) {
    qlog(s, LOGINFO, NAME, "fail: missing domain");
    return DECLINED;
  }
  if (!control_readlist_at(s, FILE_, &pw, &at)) {
    qlog(s, LOGWARN, NAME, "fail: no " FILE_ " file");
    return DECLINED;
  }
  while (i < pw.len) {
    const char *l = pw.s + i;
    size_t n = strlen(l);
    const char *colon = memchr(l, ':', n);
    i += n + 1;
    if (!colon) {
      stralloc where = {0};
      int known = control_where(&at, &pw, l, &where);
      wipe(pw.s, pw.len);
      stralloc_free(&pw);
      die_control(s, known ? where.s : FILE_, "an entry has no ':' between user and password");
    }
    if (!secret && user_equal(l, (size_t)(colon - l), a->user, ul)) {
      secret = colon + 1;
      secretlen = n - (size_t)(colon - l) - 1;
    }
  }
  stralloc_free(&at.files);
  stralloc_free(&at.lines);
  if (!secret) {
    wipe(pw.s, pw.len);
    stralloc_free(&pw);
    qlogm(s, LOGINFO, NAME, "fail: no such user: ", a->user);
    return DECLINED;
  }
  if (a->pass) {
    rc = sasl_equal(secret, secretlen, a->pass, a->passlen) ? OK : DENY;
  } else if (a->hash && a->ticket) {
    char hex[33];
    sasl_cram_digest(secret, secretlen, a->ticket, strlen(a->ticket), hex);
    rc = sasl_equal(hex, 32, a->hash, strlen(a->hash)) ? OK : DENY;
    wipe(hex, sizeof hex);
  } else rc = DENY;
  wipe(pw.s, pw.len);
  stralloc_free(&pw);
  if (rc == OK) {
    qlog(s, LOGINFO, NAME, a->pass ? "pass: clear match" : "pass: hash match");
    stralloc_copys(a->msg, "auth_flat_file");
  } else {
    qlog(s, LOGINFO, NAME, "fail: wrong password");
    stralloc_copys(a->msg, "auth_flat_file - wrong password");
  }
  return rc;
}

const struct plugin plugin_auth_auth_flat_file = {
  .name = NAME,
  .init = flat_init,
  .auth_plain = flat_auth,
  .auth_login = flat_auth,
  .auth_cram_md5 = flat_auth,
};
