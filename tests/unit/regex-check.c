/* Reads "flags<TAB>pattern<TAB>subject" lines (flags: i for case-insensitive,
   - for none) and prints, per line, "1" (match), "0" (no match) or
   "error: reason" (the pattern does not compile). */
#include <stdio.h>
#include <string.h>
#include "../../regex.h"

int main(void)
{
  static char line[70000];
  while (fgets(line, sizeof line, stdin)) {
    char *pat, *subj, *nl;
    struct re re;
    const char *err;
    nl = strchr(line, '\n');
    if (nl) *nl = 0;
    pat = strchr(line, '\t');
    if (!pat) return 2;
    *pat++ = 0;
    subj = strchr(pat, '\t');
    if (!subj) return 2;
    *subj++ = 0;
    if (!re_compile(&re, pat, line[0] == 'i' ? RE_ICASE : 0, &err)) { printf("error: %s\n", err); continue; }
    printf("%d\n", re_match(&re, subj, strlen(subj)));
    re_free(&re);
  }
  return 0;
}
