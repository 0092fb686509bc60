/* The environment (env.c). */
#ifndef ENV_H
#define ENV_H

/* getenv, without musl's cost per variable */
const char *env_get(const char *name);

#endif
