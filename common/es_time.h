/*
 * es_time.h -- simulated time.
 *
 * All simulated times and durations are int64 nanoseconds (es_time_t): equal
 * timestamps compare equal and nothing drifts.  Convert to double seconds or
 * milliseconds only at the edges (results, config loading).
 */
#ifndef ES_TIME_H
#define ES_TIME_H

#include <stdint.h>

typedef int64_t es_time_t;

#define ES_NS ((es_time_t)1)
#define ES_US ((es_time_t)1000)
#define ES_MS ((es_time_t)1000000)
#define ES_S  ((es_time_t)1000000000)
#define ES_TIME_NEVER INT64_MAX

/* The longest time or duration a configuration or trace may name: ~31.7
 * years.  Sums of a few such values still fit es_time_t, so checking inputs
 * against it keeps every later addition free of overflow. */
#define ES_TIME_MAX_S 1e9
/* Conversions saturate at +-ES_TIME_LIMIT (~127 years; NaN goes to the
 * limit): no input makes them undefined.  Below the limit they round to
 * the nearest nanosecond, as they always did. */
#define ES_TIME_LIMIT ((es_time_t)4000000000000000000LL)

static inline es_time_t es_time_from_ns_f(double ns)
{
    if (ns >= (double)ES_TIME_LIMIT || ns != ns) return ES_TIME_LIMIT;
    if (ns <= -(double)ES_TIME_LIMIT) return -ES_TIME_LIMIT;
    return (es_time_t)(ns + (ns >= 0 ? 0.5 : -0.5));
}
/* Same, truncating toward zero (trace timestamps scaled by time_scale). */
static inline es_time_t es_time_trunc_ns_f(double ns)
{
    if (ns >= (double)ES_TIME_LIMIT || ns != ns) return ES_TIME_LIMIT;
    if (ns <= -(double)ES_TIME_LIMIT) return -ES_TIME_LIMIT;
    return (es_time_t)ns;
}
static inline es_time_t es_time_from_ms(double ms) { return es_time_from_ns_f(ms * 1e6); }
static inline es_time_t es_time_from_s(double s)   { return es_time_from_ns_f(s * 1e9); }
static inline es_time_t es_time_from_us(double us) { return es_time_from_ns_f(us * 1e3); }
/* a + b for b >= 0, saturating at ES_TIME_NEVER. */
static inline es_time_t es_time_add_sat(es_time_t a, es_time_t b)
{
    return a > ES_TIME_NEVER - b ? ES_TIME_NEVER : a + b;
}
static inline double es_time_to_ms(es_time_t t)    { return (double)t / 1e6; }
static inline double es_time_to_s(es_time_t t)     { return (double)t / 1e9; }

#endif /* ES_TIME_H */
