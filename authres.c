/* The Authentication-Results header (RFC 8601) in Perl qpsmtpd's form:
   "<id>; auth=<result>[; <what plugins stored>]", where id is the
   me-auth-results control file or me ("none" turns the header off), and
   plugins append their results to the connection note
   authentication_results.

   authres_add_conn and authres_add_txn append to the connection note or
   the transaction note "authentication_results" (joined with "; ", as
   Perl's store_auth_results does), so that a second message in a session
   does not carry the first's spf, dkim or dmarc.

   Unlike Perl, the header is only added when the chain can check AUTH or a
   plugin stored a result, and auth= only when the chain offers AUTH: a
   server that offers none has nothing to say about it. After a failed AUTH the mechanism and the claimed user are given
   (Perl says "auth=fail () smtp.auth="). */
#include <string.h>
#include <case.h>
#include "auth.h"
#include "authres.h"
#include "notes.h"
#include "received.h"
#include "session.h"
#include "txn.h"

#define NOTE "authentication_results"

static int add(struct session *s, int txn, const char *result)
{
  const char *prev = txn ? note_txn_get(s, NOTE) : note_conn_get(s, NOTE);
  stralloc v = {0};
  size_t i, n = strlen(result);
  int ok;
  if (prev && *prev && (!stralloc_cats(&v, prev) || !stralloc_cats(&v, "; "))) goto nomem;
  for (i = 0; i < n; ++i) {
    char c = (result[i] >= 32 && result[i] < 127) ? result[i] : '?';
    if (!stralloc_append(&v, &c)) goto nomem;
  }
  if (!stralloc_0(&v)) goto nomem;
  ok = txn ? note_txn_set(s, NOTE, v.s) : note_conn_set(s, NOTE, v.s);
  stralloc_free(&v);
  return ok;
nomem:
  stralloc_free(&v);
  return 0;
}

int authres_add_conn(struct session *s, const char *result) { return add(s, 0, result); }
int authres_add_txn(struct session *s, const char *result) { return add(s, 1, result); }

const char *authres_id(struct session *s)
{
  return s->conf.authres_id.len ? s->conf.authres_id.s : s->conf.me.s;
}

static int append_printable(stralloc *v, const char *more)
{
  size_t i, n = strlen(more);
  if (!stralloc_cats(v, "; ")) return 0;
  for (i = 0; i < n; ++i) {
    char c = (more[i] >= 32 && more[i] < 127) ? more[i] : '?';
    if (!stralloc_append(v, &c)) return 0;
  }
  return 1;
}

/* skips folding white space and (nested) comments */
static size_t skip_cfws(const char *v, size_t i, size_t len)
{
  unsigned int depth = 0;
  for (; i < len; ++i) {
    char c = v[i];
    if (depth) {
      if (c == '\\' && i + 1 < len) ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
    } else if (c == '(') depth = 1;
    else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
  }
  return i;
}

/* RFC 8601 section 5: a field whose authserv-id is ours did not come from
   us, whatever it says: it is removed before ours is added */
static int claims_our_id(const char *v, size_t len, void *ctx)
{
  const char *id = ctx;
  size_t i = skip_cfws(v, 0, len), n = 0, idl = strlen(id);
  while (i + n < len && !strchr(" \t\r\n;(", v[i + n])) ++n;
  if (n >= 2 && v[i] == '"' && v[i + n - 1] == '"') { ++i; n -= 2; }  /* a quoted id */
  return n == idl && !case_diffb(v + i, n, id);
}

int authres_remove_claims(struct session *s)
{
  const char *id = authres_id(s);
  if (!strcmp(id, "none")) return 0;
  return txn_header_delete_if(s, "Authentication-Results", claims_our_id, (void *)id);
}

int auth_results_header(struct session *s)
{
  const char *more = note_conn_get(s, NOTE);
  const char *tmore = note_txn_get(s, NOTE);
  const char *id = authres_id(s);
  int auth = auth_command_known(s) || s->auth_tried;
  stralloc v = {0};
  int ok;
  if (!auth && !(more && *more) && !(tmore && *tmore)) return 1;
  if (!strcmp(id, "none")) return 1;
  safe_append(&v, id, strlen(id));
  /* auth= only where the chain offers AUTH: elsewhere it says nothing */
  if (auth) {
    if (!stralloc_cats(&v, "; auth=")) return 0;
    if (s->authenticated || s->auth_tried) {
      if (!stralloc_cats(&v, s->authenticated ? "pass (" : "fail (")
          || !stralloc_cats(&v, s->auth_mech) || !stralloc_cats(&v, ") smtp.auth=")) return 0;
      safe_append(&v, s->auth_user.s, s->auth_user.len ? s->auth_user.len - 1 : 0);
    } else if (!stralloc_cats(&v, "none")) return 0;
  }
  /* plugin text: printable ASCII only */
  if (more && *more && !append_printable(&v, more)) return 0;
  if (tmore && *tmore && !append_printable(&v, tmore)) return 0;
  if (!stralloc_0(&v)) return 0;
  ok = txn_add_header(s, "Authentication-Results", v.s);
  stralloc_free(&v);
  return ok;
}
