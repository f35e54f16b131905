/*
 * es_gsl.h -- GSL distributions drawing from eppsim's xoshiro256++ streams.
 *
 * GSL allows custom generator types; this one keeps an es_rng_t as its state,
 * so gsl_ran_gamma(), gsl_ran_lognormal() and friends draw from a stream
 * derived like every other (es_rng_stream), and stay deterministic.
 */
#ifndef ES_GSL_H
#define ES_GSL_H

#include <gsl/gsl_rng.h>

#include "es_rng.h"

extern const gsl_rng_type *es_gsl_rng_type;

/* Allocates a gsl_rng whose state starts as a copy of *init.  Free with gsl_rng_free. */
gsl_rng *es_gsl_rng_new(const es_rng_t *init);
/* The stream inside a gsl_rng made by es_gsl_rng_new. */
es_rng_t *es_gsl_rng_state(gsl_rng *r);

#endif /* ES_GSL_H */
