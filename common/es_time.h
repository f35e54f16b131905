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

static inline es_time_t es_time_from_ms(double ms) { return (es_time_t)(ms * 1e6 + (ms >= 0 ? 0.5 : -0.5)); }
static inline es_time_t es_time_from_s(double s)   { return (es_time_t)(s * 1e9 + (s >= 0 ? 0.5 : -0.5)); }
static inline es_time_t es_time_from_us(double us) { return (es_time_t)(us * 1e3 + (us >= 0 ? 0.5 : -0.5)); }
static inline double es_time_to_ms(es_time_t t)    { return (double)t / 1e6; }
static inline double es_time_to_s(es_time_t t)     { return (double)t / 1e9; }

#endif /* ES_TIME_H */
