/*
 * es_str.h -- the one string helper every module needs: a copy that C11
 * lacks (strdup is POSIX, and the tree builds as strict C11), and a
 * number reader for user text.
 */
#ifndef ES_STR_H
#define ES_STR_H

#include <errno.h>
#include <stdbool.h>
#include <math.h>
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

/* strtod for numbers users write: decimal notation only ([+-]digits[.digits]
 * [e[+-]digits]).  NaN, infinities, hex floats and values that overflow read
 * as no number at all (*end == s), so every caller's "not a number" path
 * rejects them and no NaN reaches a range check (where it would pass). */
static inline double es_strtod(const char *s, char **end)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    bool digit = (*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9');
    if (!digit || (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))) { *end = (char *)s; return 0; }
    errno = 0;
    double v = strtod(s, end);
    if (!isfinite(v) || (errno == ERANGE && fabs(v) > 1)) { *end = (char *)s; return 0; }
    return v;
}

#endif /* ES_STR_H */
