/* tests/tls_notes: NOOP answers with the TLS notes, for the test suite:
   "250 2.0.0 conn tls_enabled=... txn tls_enabled=... cipher=... client=...
   subject=..." (client: the client certificate's tls_client_cert). */
#include "plugin.h"

static int noop(struct session *s, void *self, struct cmd_args *a)
{
  stralloc v = {0};
  const char *c = note_conn_get(s, "tls_enabled"), *t = note_txn_get(s, "tls_enabled");
  const char *ci = note_conn_get(s, "tls_cipher");
  const char *cc = note_conn_get(s, "tls_client_cert"), *cs = note_conn_get(s, "tls_client_subject");
  (void)self; (void)a;
  if (!stralloc_copys(&v, "conn tls_enabled=") || !stralloc_cats(&v, c ? c : "unset")
      || !stralloc_cats(&v, " txn tls_enabled=") || !stralloc_cats(&v, t ? t : "unset")
      || !stralloc_cats(&v, " cipher=") || !stralloc_cats(&v, ci ? ci : "unset")
      || !stralloc_cats(&v, " client=") || !stralloc_cats(&v, cc ? cc : "unset")
      || !stralloc_cats(&v, " subject=") || !stralloc_cats(&v, cs ? cs : "unset") || !stralloc_0(&v))
    return DENYSOFT;
  session_reply(s, 250, "2.0.0", v.s);
  stralloc_free(&v);
  return DONE;
}

const struct plugin plugin_tests_tls_notes = {
  .name = "tests/tls_notes",
  .noop = noop,
};
