/* uribl's message scanner (uribl_scan.c): the host names and IPv4
   addresses in a message's text, found as Perl qpsmtpd's plugins/uribl
   finds them, as the names to look up under a URI blocklist. Pure: bytes
   in, names out through a callback; no I/O, no allocation. */
#ifndef URIBL_SCAN_H
#define URIBL_SCAN_H

#include <stddef.h>

/* a line (or a line joined from quoted-printable soft breaks) is scanned
   up to this many octets; the rest of it is not looked at */
#define URIBL_LINE_MAX 65536

struct uribl_emit {
  /* a name to look up: a reversed IPv4 address ("4.3.2.1"), or a host
     name (lower case) or one of its parents down to its registered domain;
     at most 253 octets, not \0-terminated. 0 goes on, -1 stops the scan */
  int (*name)(void *ctx, const char *name, size_t len);
  /* 1 when the registered domain dom (lower case) is whitelisted */
  int (*whitelisted)(void *ctx, const char *dom, size_t len);
  /* a host skipped because its domain is whitelisted (may be NULL) */
  void (*skipped)(void *ctx, const char *host, size_t len);
  void *ctx;
};

struct uribl_scan {
  struct uribl_emit e;
  int skipping;                 /* before the first empty line */
  int stopped;                  /* e.name said -1 */
  int have_cont;                /* quoted-printable soft breaks pending */
  int partial;                  /* a line without its LF yet */
  char last;                    /* that line's last octet so far */
  size_t linelen, contlen;
  char line[URIBL_LINE_MAX];
  char cont[URIBL_LINE_MAX];
  unsigned short work[URIBL_LINE_MAX];  /* the decoded line: chars up to 999 */
  char name[256];
};

/* skip_head: the first lines up to and including the first empty one are
   not scanned (Perl's "read past the headers" without check-headers) */
void uribl_scan_init(struct uribl_scan *u, const struct uribl_emit *e, int skip_head);
/* the text in chunks of any size (lines end in LF); 0 ok, -1 stopped */
int uribl_scan_feed(struct uribl_scan *u, const char *buf, size_t len);
/* a last line without LF; 0 ok, -1 stopped */
int uribl_scan_end(struct uribl_scan *u);

/* the labels that make a registered domain in Perl's reckoning: 3 under
   the strict two-level ccTLDs (co.uk, com.au, ...), else 2; tld lower case */
unsigned int uribl_cutoff(const char *tld, size_t len);

#endif
