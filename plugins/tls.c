/* tls: STARTTLS (RFC 3207) and implicit TLS (SMTPS), like Perl qpsmtpd's
   plugins/tls, with BearSSL in the process (see starttls.c and tls.c).
   STARTTLS is offered in EHLO when a certificate is configured, or when
   sslserver -n offers UCSPI-TLS; never once TLS is on.

   Arguments (all optional, as in Perl): CERT [KEY [CA [DHPARAM]]], file
   paths. Without them the control files ssl/qpsmtpd-server.crt and
   ssl/qpsmtpd-server.key are used. One argument names a file that holds
   both the chain and the key. CA (client certificates) and DHPARAM (only
   ECDHE is offered) are accepted for compatibility and not used.

   Being in the chain, anywhere, switches the core's STARTTLS command on
   (PLUGIN_STARTTLS; smtp.c's command table). */
#include "plugin.h"
#include "tls.h"

static int tls_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  (void)self;
  if (argc > 4) {
    stralloc_copys(err, "takes at most 4 arguments: cert key ca dhparam");
    return 0;
  }
  if (argc == 0) tls_configure(NULL, NULL);
  else tls_configure(argv[0], argc > 1 ? argv[1] : argv[0]);
  return 1;
}

static int tls_ehlo(struct session *s, void *self, struct helo_args *a)
{
  (void)self;
  if (!tls_offer(s)) return DECLINED;
  if (!note_add_capability(s, "STARTTLS") || !note_txn_set(s, "tls_enabled", "1")) return hook_nomem(a->msg);
  return DECLINED;
}

const struct plugin plugin_tls = {
  .name = "tls",
  .init = tls_init,
  .ehlo = tls_ehlo,
  .flags = PLUGIN_STARTTLS,
};
