/* XCLIENT's attribute list (Postfix's XCLIENT_README): pure parser
   (xclient_parse.c). */
#ifndef XCLIENT_PARSE_H
#define XCLIENT_PARSE_H

#include <stddef.h>

enum { XC_NAME, XC_ADDR, XC_PORT, XC_PROTO, XC_HELO, XC_LOGIN, XC_DESTADDR, XC_DESTPORT, XC_COUNT };
#define XC_TEXT_MAX 255

struct xclient {
  unsigned int given;           /* bit per attribute sent */
  unsigned int unavail;         /* bit per attribute sent as [UNAVAILABLE] */
  unsigned int tempunavail;     /* bit per attribute sent as [TEMPUNAVAIL] */
  char addr[16], destaddr[16];  /* IPv4 as IPv4-mapped */
  unsigned long port, destport;
  int esmtp;                    /* PROTO=ESMTP (else SMTP) */
  char name[XC_TEXT_MAX + 1];   /* a host name: letters, digits, "-", "_", "." */
  char helo[XC_TEXT_MAX + 1];   /* printable ASCII */
  char login[XC_TEXT_MAX + 1];  /* printable ASCII */
};

extern const char *const xclient_names[XC_COUNT];

/* "NAME=value ..." (names in any case, values xtext, RFC 3461 4) into x:
   NULL when good, else the text of a 501 reply */
const char *xclient_parse(const char *s, size_t len, struct xclient *x);

#endif
