/* The Public Suffix List, compiled in (psl.c; the table is made at build
   time by make-psl from Debian's publicsuffix package into psl-data.c). */
#ifndef PSL_H
#define PSL_H

#include <stddef.h>

/* what an entry says of its name */
#define PSL_RULE      1         /* "name" is a rule */
#define PSL_WILDCARD  2         /* "*.name" is a rule */
#define PSL_EXCEPTION 4         /* "!name" is a rule */
#define PSL_INNER     8         /* a longer rule ends in ".name" */

#define PSL_SLOTS 16384         /* a power of two */

/* FNV-1a over the octets, for the table (psl_hash.c) */
unsigned int psl_hash(const char *s, size_t len);
/* the flags of name (lower case, no trailing dot): 0 when no rule
   mentions it */
unsigned int psl_flags(const char *name, size_t len);
/* the length of the public suffix of name, in labels (at least 1: a name
   no rule matches has its last label as its suffix, the rule "*") */
unsigned int psl_suffix_labels(const char *name, size_t len);

/* psl-data.c */
extern const unsigned int psl_rules;
extern const char psl_names[];
extern const unsigned int psl_slot[PSL_SLOTS];

#endif
