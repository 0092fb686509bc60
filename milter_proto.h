/* The Sendmail/Postfix milter protocol, version 6, from the MTA's side
   (milter_proto.c): building packets and checking the milter's replies.
   Pure functions over bytes: no I/O. A packet is a 4-byte big-endian
   length, then a command byte and its data (the length counts both). */
#ifndef MILTER_PROTO_H
#define MILTER_PROTO_H

#include <stddef.h>
#include <stralloc.h>

/* commands to the milter (SMFIC_*) */
#define SMFIC_ABORT   'A'
#define SMFIC_BODY    'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO   'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO    'H'
#define SMFIC_HEADER  'L'
#define SMFIC_MAIL    'M'
#define SMFIC_EOH     'N'
#define SMFIC_OPTNEG  'O'
#define SMFIC_QUIT    'Q'
#define SMFIC_RCPT    'R'
#define SMFIC_DATA    'T'

/* replies (SMFIR_*) */
#define SMFIR_ADDRCPT     '+'
#define SMFIR_DELRCPT     '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN    '4'
#define SMFIR_ACCEPT      'a'
#define SMFIR_REPLBODY    'b'
#define SMFIR_CONTINUE    'c'
#define SMFIR_DISCARD     'd'
#define SMFIR_CHGFROM     'e'
#define SMFIR_ADDHEADER   'h'
#define SMFIR_INSHEADER   'i'
#define SMFIR_CHGHEADER   'm'
#define SMFIR_PROGRESS    'p'
#define SMFIR_QUARANTINE  'q'
#define SMFIR_REJECT      'r'
#define SMFIR_SKIP        's'
#define SMFIR_TEMPFAIL    't'
#define SMFIR_REPLYCODE   'y'

/* actions the milter may take (SMFIF_*) */
#define SMFIF_ADDHDRS     0x01
#define SMFIF_CHGBODY     0x02
#define SMFIF_ADDRCPT     0x04
#define SMFIF_DELRCPT     0x08
#define SMFIF_CHGHDRS     0x10
#define SMFIF_QUARANTINE  0x20
#define SMFIF_CHGFROM     0x40
#define SMFIF_ADDRCPT_PAR 0x80

/* protocol steps (SMFIP_*): events not sent, replies not expected */
#define SMFIP_NOCONNECT   0x1
#define SMFIP_NOHELO      0x2
#define SMFIP_NOMAIL      0x4
#define SMFIP_NORCPT      0x8
#define SMFIP_NOBODY      0x10
#define SMFIP_NOHDRS      0x20
#define SMFIP_NOEOH       0x40
#define SMFIP_NR_HDR      0x80
#define SMFIP_NOUNKNOWN   0x100
#define SMFIP_NODATA      0x200
#define SMFIP_SKIP        0x400
#define SMFIP_NR_CONN     0x1000
#define SMFIP_NR_HELO     0x2000
#define SMFIP_NR_MAIL     0x4000
#define SMFIP_NR_RCPT     0x8000
#define SMFIP_NR_DATA     0x10000
#define SMFIP_NR_EOH      0x40000
#define SMFIP_NR_BODY     0x80000
#define SMFIP_HDR_LEADSPC 0x100000

#define MILTER_VERSION 6
/* what we offer: every step above but SMFIP_RCPT_REJ and the unknown
   command (never sent) */
#define MILTER_PROTO_OFFER (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY \
  | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_NR_CONN \
  | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_EOH | SMFIP_NR_BODY \
  | SMFIP_HDR_LEADSPC)
#define MILTER_ACTIONS_OFFER 0xff

/* the largest reply packet taken (command byte and data); a body chunk
   we send is at most MILTER_CHUNK bytes */
#define MILTER_PKT_MAX (1024 * 1024)
#define MILTER_CHUNK 65535
#define MILTER_ADDR_MAX 1024
#define MILTER_NAME_MAX 256

/* appends one packet: cmd and len bytes of data; 0 out of memory or too long */
int milter_pkt(stralloc *out, char cmd, const char *data, size_t len);
/* the data length announced by a packet's 4-byte header (the command byte
   not counted): 1, or 0 when the packet is empty or over MILTER_PKT_MAX */
int milter_pkt_len(const unsigned char h[4], size_t *datalen);
/* appends a NUL-terminated string (a packet's data being built) */
int milter_cat0(stralloc *sa, const char *x, size_t len);
/* appends a 4-byte big-endian number */
int milter_cat32(stralloc *sa, unsigned long v);

/* the data of the milter's SMFIC_OPTNEG reply: 1 with its version (2 to
   6), actions and protocol steps, 0 when malformed */
int milter_optneg_parse(const char *data, size_t len, unsigned long *ver, unsigned long *act,
                        unsigned long *proto);

/* one reply, checked */
struct milter_reply {
  char cmd;
  unsigned long index;          /* INSHEADER, CHGHEADER */
  const char *name;             /* header name; address (without <>) for the
                                   recipient and sender replies; quarantine reason */
  size_t namelen;
  const char *value;            /* header value (CHGHEADER: empty deletes);
                                   ESMTP arguments of ADDRCPT_PAR and CHGFROM */
  size_t valuelen;
  const char *data;             /* REPLBODY: the bytes; REPLYCODE: the reply */
  size_t datalen;
};
/* checks the data of one reply packet for command cmd: 1 ok (r filled,
   every pointer into data), 0 malformed or unknown. Header names are
   1 to MILTER_NAME_MAX bytes of printable ASCII without ':'; values have
   no NUL and no line end except a fold (CRLF or LF before a space or a
   tab); addresses are 1 to MILTER_ADDR_MAX bytes without control bytes
   (CHGFROM may be empty, the null sender); a REPLYCODE passes
   milter_replycode. */
int milter_reply_parse(char cmd, const char *data, size_t len, struct milter_reply *r);

/* a REPLYCODE's text ("550 5.7.1 text", several lines "550-...\r\n550 ...")
   as a reply: the code (400 to 599), the enhanced code when the first line
   has one of the code's class (else empty; at most 15 bytes) and the lines
   without their codes, separated by \n, in text (set when not NULL). 1 ok,
   0 malformed, -1 out of memory. */
int milter_replycode(const char *x, size_t len, unsigned int *code, char ecode[16], stralloc *text);

#endif
