/* The Received header (RFC 5321 4.4) in Perl qpsmtpd's form. Every string
   that came from the client or from DNS is passed through safe_append, so
   no header can be injected. */
#include <string.h>
#include <time.h>
#include <fmt.h>
#include "notes.h"
#include "received.h"
#include "session.h"

void safe_append(stralloc *sa, const char *x, size_t len)
{
  size_t i;
  for (i = 0; i < len; ++i) {
    char c = x[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '-' || c == '_' || c == '@' || c == '[' || c == ']'
          || c == ':' || c == '%' || c == '+' || c == '/' || c == '='))
      c = '?';
    stralloc_append(sa, &c);
  }
}

static const char wd[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char mo[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* two digits; libowfat's fmt_ulong0 is not used: Debian's version
   writes a NUL instead of the digit after the padding */
static size_t fmt_2(char *b, unsigned long v)
{
  b[0] = (char)('0' + (v / 10) % 10);
  b[1] = (char)('0' + v % 10);
  return 2;
}

size_t received_date(char *b, time_t now)
{
  struct tm tm;
  size_t n = 0;
  gmtime_r(&now, &tm);
  n += fmt_str(b + n, wd[tm.tm_wday]);
  n += fmt_str(b + n, ", ");
  n += fmt_2(b + n, (unsigned long)tm.tm_mday);
  b[n++] = ' ';
  n += fmt_str(b + n, mo[tm.tm_mon]);
  b[n++] = ' ';
  n += fmt_ulong(b + n, (unsigned long)tm.tm_year + 1900);
  b[n++] = ' ';
  n += fmt_2(b + n, (unsigned long)tm.tm_hour);
  b[n++] = ':';
  n += fmt_2(b + n, (unsigned long)tm.tm_min);
  b[n++] = ':';
  n += fmt_2(b + n, (unsigned long)tm.tm_sec);
  n += fmt_str(b + n, " +0000");
  return n;
}

/* RFC 3848's WITH values, and RFC 6531 3.7.3's for SMTPUTF8 */
const char *received_proto(const struct session *s)
{
  if (s->t.smtputf8)
    return s->tls ? (s->authenticated ? "UTF8SMTPSA" : "UTF8SMTPS") : (s->authenticated ? "UTF8SMTPA" : "UTF8SMTP");
  if (s->hello == HELLO_EHLO)
    return s->tls ? (s->authenticated ? "ESMTPSA" : "ESMTPS") : (s->authenticated ? "ESMTPA" : "ESMTP");
  return "SMTP";
}

/* the value of the header, without "Received: " and without the final LF */
int received_build(struct session *s, stralloc *sa)
{
  char date[64];
  const char *proto = received_proto(s);
  sa->len = 0;
  if (!stralloc_cats(sa, "from ")) return 0;
  safe_append(sa, s->remote_desc.s, s->remote_desc.len);
  if (!stralloc_cats(sa, " (HELO ")) return 0;
  safe_append(sa, s->hello_host.s, s->hello_host.len);
  if (!stralloc_cats(sa, ") (")) return 0;
  safe_append(sa, s->remote_ip, strlen(s->remote_ip));
  if (!stralloc_cats(sa, ")\n\tby ")) return 0;
  safe_append(sa, s->conf.me.s, strlen(s->conf.me.s));
  if (!stralloc_cats(sa, " (qpsmtpd/" VERSION ") with ") || !stralloc_cats(sa, proto)) return 0;
  {
    const char *cipher = notes_get(&s->notes, "tls_cipher");
    const char *version = notes_get(&s->notes, "tls_version");
    if (cipher && s->tls) {
      if (!stralloc_cats(sa, " (")) return 0;
      if (version) {
        safe_append(sa, version, strlen(version));
        if (!stralloc_cats(sa, " ")) return 0;
      }
      safe_append(sa, cipher, strlen(cipher));
      if (!stralloc_cats(sa, " encrypted")) return 0;
      /* with client certificates asked for: "client CN=... verified";
         starttls.c builds it, the CN reduced to printable ASCII without
         parentheses, quotes, backslashes or semicolons */
      if ((cipher = notes_get(&s->notes, "tls_client")))
        if (!stralloc_cats(sa, "; ") || !stralloc_cats(sa, cipher)) return 0;
      if (!stralloc_cats(sa, ")")) return 0;
    }
  }
  if (!stralloc_cats(sa, "; ")) return 0;
  return stralloc_catb(sa, date, received_date(date, time(NULL)));
}
