/* tls: STARTTLS (RFC 3207) and implicit TLS (SMTPS), like Perl qpsmtpd's
   plugins/tls, with BearSSL in the process (see starttls.c and tls.c).
   STARTTLS is offered in EHLO when a certificate is configured, or when
   sslserver -n offers UCSPI-TLS; never once TLS is on.

   Arguments (all optional, as in Perl): CERT [KEY [CA [DHPARAM [CERT2
   [KEY2]]]]], file paths. Without them the control files
   ssl/qpsmtpd-server.crt and .key, ssl/qpsmtpd-ca.crt and
   ssl/qpsmtpd-server2.crt and .key are used. A CERT without KEY names a
   file that holds both the chain and the key (CERT2 the same). CA asks
   clients for a certificate and checks it ("-": none asked for);
   DHPARAM is accepted for compatibility and not used (only ECDHE is
   offered). CERT2 and KEY2 are a second certificate of the other key
   type (RSA and EC): each client gets the one it can use.

   Being in the chain, anywhere, switches the core's STARTTLS command on
   (PLUGIN_STARTTLS; smtp.c's command table). */
#include "plugin.h"
#include "tls.h"

static int tls_init(void **self, int argc, const char *const *argv, stralloc *err)
{
  (void)self;
  if (argc > 6) {
    stralloc_copys(err, "takes at most 6 arguments: cert key ca dhparam cert2 key2");
    return 0;
  }
  tls_configure(argv, argc);
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
