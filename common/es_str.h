/*
 * es_str.h -- the one string helper every module needs: a copy that C11
 * lacks (strdup is POSIX, and the tree builds as strict C11), a number
 * reader for user text, and Go's strings.TrimSpace for the ported plugins.
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

/* s without surrounding ASCII white space (Go's strings.TrimSpace on ASCII
 * text), as the span [*b, *e) of s. */
static inline void es_str_trim_span(const char *s, const char **b, const char **e)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f') s++;
    const char *t = s + strlen(s);
    while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\n' || t[-1] == '\r' || t[-1] == '\v' ||
                     t[-1] == '\f')) t--;
    *b = s;
    *e = t;
}

#endif /* ES_STR_H */
