/* The Authentication-Results header (RFC 8601) in Perl qpsmtpd's form:
   "<id>; auth=<result>[; <what plugins stored>]", where id is the
   me-auth-results control file or me ("none" turns the header off), and
   plugins append their results to the connection note
   authentication_results.

   Unlike Perl, the header is only added when the chain can check AUTH or a
   plugin stored a result: a server that offers no AUTH has nothing to say
   in it. After a failed AUTH the mechanism and the claimed user are given
   (Perl says "auth=fail () smtp.auth="). */
#include <string.h>
#include "auth.h"
#include "authres.h"
#include "notes.h"
#include "received.h"
#include "session.h"
#include "txn.h"

int auth_results_header(struct session *s)
{
  const char *more = notes_get(&s->notes, "authentication_results");
  stralloc v = {0};
  int ok;
  if (!auth_command_known(s) && !(more && *more)) return 1;
  const char *id = s->conf.authres_id.len ? s->conf.authres_id.s : s->conf.me.s;
  if (!strcmp(id, "none")) return 1;
  safe_append(&v, id, strlen(id));
  if (!stralloc_cats(&v, "; auth=")) return 0;
  if (s->authenticated || s->auth_tried) {
    if (!stralloc_cats(&v, s->authenticated ? "pass (" : "fail (")
        || !stralloc_cats(&v, s->auth_mech) || !stralloc_cats(&v, ") smtp.auth=")) return 0;
    safe_append(&v, s->auth_user.s, s->auth_user.len ? s->auth_user.len - 1 : 0);
  } else if (!stralloc_cats(&v, "none")) return 0;
  if (more && *more) {
    size_t i, n = strlen(more);
    if (!stralloc_cats(&v, "; ")) return 0;
    /* plugin text: printable ASCII only */
    for (i = 0; i < n; ++i) {
      char c = (more[i] >= 32 && more[i] < 127) ? more[i] : '?';
      if (!stralloc_append(&v, &c)) return 0;
    }
  }
  if (!stralloc_0(&v)) return 0;
  ok = txn_add_header(s, "Authentication-Results", v.s);
  stralloc_free(&v);
  return ok;
}
