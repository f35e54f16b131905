/*
 * es_alloc.h -- the out-of-memory policy, in one place.
 *
 * The rule (docs/architecture.md, Failure policy): inside a running
 * simulation (sim/, models/, scheduler/ decisions, workload generators,
 * metrics) memory exhaustion is not an outcome a result could carry, so the
 * es_x* allocators print "eppsim: out of memory" with the size and abort;
 * nothing on those paths checks for NULL, and nothing is silently dropped.
 * Loading inputs and writing results (configs, traces, manifests, output
 * files) return ES_ENOMEM / ES_EIO through es_err_t instead, because there the
 * caller can report the file and stop cleanly.
 */
#ifndef ES_ALLOC_H
#define ES_ALLOC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Prints "eppsim: out of memory (N bytes)" to stderr and aborts. */
#if defined(__GNUC__)
__attribute__((noreturn, cold))
#endif
void es_oom(size_t bytes);

static inline void *es_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) es_oom(n);
    return p;
}

static inline void *es_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) es_oom(n * size);
    return p;
}

/* Like realloc; on failure aborts (the old block is never lost or freed). */
static inline void *es_xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n ? n : 1);
    if (!p) es_oom(n);
    return p;
}

#endif /* ES_ALLOC_H */
