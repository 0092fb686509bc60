/* bogus_bounce: refuses bounces that cannot be real (Perl qpsmtpd's
   plugins/bogus_bounce, HEAD): a message from the null sender must have
   exactly one recipient and no Return-Path other than <>.

   Arguments: the action log (the default: log only), deny (552) or
   denysoft (452); or the usual reject 0|1|naughty and reject_type. Perl
   HEAD leaves reject at 0 even for "deny", so its deny only logs; here
   deny and denysoft refuse, as its documentation says. */
#include <stdlib.h>
#include <string.h>
#include <str.h>
#include "plugin.h"

#define PLUGIN "bogus_bounce"

static int bb_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  struct reject *r = calloc(1, sizeof *r);
  int i = 0;
  if (!r) { stralloc_copys(err, "out of memory"); return 0; }
  r->mode = REJECT_LOG;
  if (argc % 2) {
    if (str_equal(argv[0], "log")) r->mode = REJECT_LOG;
    else if (str_equal(argv[0], "deny")) r->mode = REJECT_YES;
    else if (str_equal(argv[0], "denysoft")) { r->mode = REJECT_YES; r->type = "temp"; }
    else {
      stralloc_copys(err, "the action is log, deny or denysoft, not ");
      stralloc_cats(err, argv[0]);
      free(r);
      return 0;
    }
    i = 1;
  }
  for (; i < argc; i += 2) {
    int k = reject_arg(r, argv[i], argv[i + 1], err);
    if (k < 0) { free(r); return 0; }
    if (!k) {
      stralloc_copys(err, "unknown argument ");
      stralloc_cats(err, argv[i]);
      free(r);
      return 0;
    }
  }
  *self = r;
  return 1;
}

static int bb_data_post(struct session *s, void *self, struct msg_args *a)
{
  const struct reject *r = self;
  const char *sender = txn_sender(s);
  stralloc rp = {0};
  int found;
  if (sender && *sender) {
    qlog(s, LOGDEBUG, PLUGIN, "pass, not a null sender");
    return DECLINED;
  }
  if (txn_rcpt_count(s) != 1)
    return reject_get(s, r, DENY, PLUGIN, "fail, this bounce message does not have 1 recipient",
                      "bogus bounce with more than one recipient", a->msg);
  found = txn_header_get(s, "Return-Path", &rp);
  if (found == 1) {
    size_t b = 0, e = rp.len;
    while (b < e && (rp.s[b] == ' ' || rp.s[b] == '\t')) ++b;
    while (e > b && (rp.s[e - 1] == ' ' || rp.s[e - 1] == '\t' || rp.s[e - 1] == '\r')) --e;
    if (e > b && !(e - b == 2 && rp.s[b] == '<' && rp.s[b + 1] == '>')) {
      stralloc_free(&rp);
      return reject_get(s, r, DENY, PLUGIN, "a bounce return path must be empty (RFC 3834)",
                        "bounce messages must not have a Return-Path", a->msg);
    }
  }
  stralloc_free(&rp);
  qlog(s, LOGINFO, PLUGIN, "pass, single recipient, empty Return-Path");
  return DECLINED;
}

const struct plugin plugin_bogus_bounce = {
  .name = "bogus_bounce",
  .init = bb_init,
  .data_post = bb_data_post,
};
