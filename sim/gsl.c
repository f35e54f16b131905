/*
 * gsl.c -- the xoshiro256++ gsl_rng_type.
 */
#include "es_gsl.h"

#include <string.h>

static void x_set(void *state, unsigned long seed) { es_rng_seed(state, seed); }
static unsigned long x_get(void *state) { return (unsigned long)(es_rng_u64(state) >> 32); }
static double x_get_double(void *state) { return es_rng_uniform(state); }

static const gsl_rng_type k_type = {
    "xoshiro256++", 0xffffffffUL, 0, sizeof(es_rng_t), x_set, x_get, x_get_double
};
const gsl_rng_type *es_gsl_rng_type = &k_type;

gsl_rng *es_gsl_rng_new(const es_rng_t *init)
{
    gsl_rng *r = gsl_rng_alloc(&k_type);
    if (r && init) memcpy(r->state, init, sizeof *init);
    return r;
}

es_rng_t *es_gsl_rng_state(gsl_rng *r) { return r->state; }
