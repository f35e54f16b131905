/*
 * es_str.h -- the one string helper every module needs: a copy that C11
 * lacks (strdup is POSIX, and the tree builds as strict C11).
 */
#ifndef ES_STR_H
#define ES_STR_H

#include <stdlib.h>
#include <string.h>

/* A malloc'd copy of s; NULL when s is NULL or memory runs out. */
static inline char *es_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

#endif /* ES_STR_H */
