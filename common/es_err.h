/*
 * es_err.h -- error codes and error messages shared by every eppsim module.
 *
 * Fallible functions return 0 on success or a negative ES_E* code (libuv
 * style).  Functions whose failures a user must be able to fix (configs,
 * traces, manifests, plugin parameters) also fill an es_err_t with a message
 * that names the file, the line and the field: "exp.yaml:14: server.gpu: ...".
 * Programming errors are not reported this way: they trip ES_ASSERT.
 */
#ifndef ES_ERR_H
#define ES_ERR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ES_OK        0
#define ES_EINVAL   (-1)   /* invalid value or argument */
#define ES_ENOMEM   (-2)   /* out of memory */
#define ES_EIO      (-3)   /* file could not be read or written */
#define ES_EPARSE   (-4)   /* malformed input (syntax) */
#define ES_ENOTFOUND (-5)  /* a named thing does not exist */
#define ES_ERANGE   (-6)   /* value out of its allowed range */
#define ES_EUNSUPP  (-7)   /* valid but not supported by this build */
#define ES_EINTR    (-8)   /* interrupted by a signal */

#define ES_ERR_MSG_MAX 512

typedef struct es_err {
    int  code;                  /* ES_OK or a negative ES_E* code */
    char msg[ES_ERR_MSG_MAX];   /* human-readable, "" when code == ES_OK */
} es_err_t;

static inline const char *es_strerror(int code)
{
    switch (code) {
    case ES_OK:        return "ok";
    case ES_EINVAL:    return "invalid value";
    case ES_ENOMEM:    return "out of memory";
    case ES_EIO:       return "input/output error";
    case ES_EPARSE:    return "parse error";
    case ES_ENOTFOUND: return "not found";
    case ES_ERANGE:    return "out of range";
    case ES_EUNSUPP:   return "not supported";
    case ES_EINTR:     return "interrupted";
    default:           return "unknown error";
    }
}

static inline void es_err_clear(es_err_t *err)
{
    if (err) { err->code = ES_OK; err->msg[0] = '\0'; }
}

/* Sets err (if not NULL) and returns code, so callers can `return es_err_set(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int es_err_set(es_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

/* Draconian checks for programming errors; they stay on in every build. */
#define ES_ASSERT(cond, msg)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__,    \
                    __LINE__, #cond, (msg));                                   \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif /* ES_ERR_H */
