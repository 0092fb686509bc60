/* The environment (env.c). */
#ifndef ENV_H
#define ENV_H

/* getenv, without musl's cost per variable */
const char *env_get(const char *name);
/* setenv (overwriting) and unsetenv, for which env_get must not keep its
   table: 1 done, 0 out of memory */
int env_set(const char *name, const char *value);
void env_unset(const char *name);

#endif
