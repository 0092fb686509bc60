#include <str.h>
#include <case.h>
#include "retcode.h"

int retcode_parse(const char *name)
{
  static const struct { const char *n; int c; } t[] = {
    { "OK", OK }, { "DENY", DENY }, { "DENYSOFT", DENYSOFT },
    { "DENY_DISCONNECT", DENY_DISCONNECT }, { "DENYHARD", DENY_DISCONNECT },
    { "DENYSOFT_DISCONNECT", DENYSOFT_DISCONNECT }, { "DECLINED", DECLINED }, { "DONE", DONE },
  };
  unsigned int i;
  for (i = 0; i < sizeof t / sizeof t[0]; ++i)
    if (case_equals(name, t[i].n)) return t[i].c;
  return 0;
}

int retcode_deny(int c)
{
  return c == DENY || c == DENYSOFT || c == DENY_DISCONNECT || c == DENYSOFT_DISCONNECT;
}

int retcode_temp(int c)
{
  return c == DENYSOFT || c == DENYSOFT_DISCONNECT;
}
