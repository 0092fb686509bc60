/* DMARC, RFC 7489, as pure functions (dmarc.c): the policy record, the
   RFC5322.From domain, the organizational domain (psl.c), alignment and
   the result with its disposition. plugins/dmarc.c does the DNS. */
#ifndef DMARC_H
#define DMARC_H

#include <stddef.h>

#define DMARC_P_UNSET      0
#define DMARC_P_NONE       1
#define DMARC_P_QUARANTINE 2
#define DMARC_P_REJECT     3

#define DMARC_FO_0 1
#define DMARC_FO_1 2
#define DMARC_FO_D 4
#define DMARC_FO_S 8

struct dmarc_record {
  int p;                        /* DMARC_P_* (never UNSET in a usable record) */
  int sp;                       /* DMARC_P_UNSET: as p */
  unsigned int pct;             /* 0-100, default 100 */
  char adkim, aspf;             /* 'r' (default) or 's' */
  unsigned int fo;              /* DMARC_FO_* bits, default 0 */
  unsigned long ri;             /* default 86400 */
  unsigned int rua, ruf;        /* syntactically valid URIs in each */
  int rf_afrf;                  /* rf= names afrf (the default) */
  int p_from_rua;               /* p or sp was invalid: p=none for the sake of rua (6.6.3 6A) */
  char why[64];                 /* the first tag ignored or the reason it is unusable */
};

/* dmarc_record_parse's answer */
#define DMARC_REC_NOT 0         /* does not start with v=DMARC1: not a DMARC record */
#define DMARC_REC_OK  1
#define DMARC_REC_BAD 2         /* v=DMARC1 but unusable (tag-list syntax, duplicate tag, no valid p
                                   or an invalid sp without a valid rua): no action, permerror */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r);

/* A domain name as DMARC takes it: letters, digits, '-', '_', labels of
   1-63 octets, at most 253 octets; a trailing dot is dropped and the name
   is lowered in place. The new length, 0 when it is not such a name. */
size_t dmarc_domain_norm(char *d, size_t len);

/* The domains of the addresses of a From field's (unfolded) value, RFC
   5322 3.4 (display names, quoted strings, comments, groups), normalised:
   up to max distinct domains, each \0-terminated in out[i] (254 octets).
   The number of distinct domains found; 0 when the field has no address
   whose domain is a domain name; -1 when there are more than max. */
#define DMARC_DOMAIN_MAX 254
int dmarc_from_domains(const char *v, size_t len, char (*out)[DMARC_DOMAIN_MAX], int max);

/* The organizational domain of a normalised name (RFC 7489 3.2): the
   suffix of name it is, as an offset into name. A name that is itself a
   public suffix is its own organizational domain. */
size_t dmarc_org_domain(const char *name, size_t len);

/* identifier alignment (RFC 7489 3.1): strict, the names are equal;
   relaxed, their organizational domains are. Both normalised. */
int dmarc_aligned(const char *a, const char *b, int strict);

#define DMARC_PASS      0
#define DMARC_FAIL      1
#define DMARC_NONE      2
#define DMARC_TEMPERROR 3
#define DMARC_PERMERROR 4
const char *dmarc_result_name(int result);
const char *dmarc_policy_name(int p);

/* What the other plugins found: spf, the SPF result's name (or NULL) for
   spf_domain, the MAIL FROM domain checked (or the HELO name); dkim, the
   d= of the passing signatures, separated by spaces (or NULL). */
struct dmarc_auth {
  const char *spf;
  const char *spf_domain;
  const char *dkim;
};

struct dmarc_verdict {
  int result;                   /* DMARC_PASS or DMARC_FAIL */
  int policy;                   /* the policy that applies: sp for a subdomain, DMARC_P_* */
  int disposition;              /* DMARC_P_*: policy, or less when pct left the message out */
  int spf_aligned, dkim_aligned;
  char dkim_domain[DMARC_DOMAIN_MAX];   /* the aligned d=, "" when none */
};

/* Evaluates a usable record for from (normalised). subdomain: the record
   came from the organizational domain, not from from itself. roll: a
   number from 0 to 99 drawn at random; the policy applies when roll < pct,
   else the next milder one (6.6.4: reject then quarantine, quarantine
   then none). */
void dmarc_evaluate(struct dmarc_verdict *v, const struct dmarc_record *r, const char *from, int subdomain,
                    const struct dmarc_auth *a, unsigned int roll);

#endif
