/*
 * trace_gen.c -- a Mooncake-style trace generator for scale tests
 * (es_trace_gen_mooncake).  The shape: every prompt starts with block 0 (a
 * shared system prompt); half the requests open a conversation of 2-30
 * fresh blocks, the others continue one of the open conversations (popular
 * ones more often), replaying its history and adding 1-4 blocks, as chat
 * turns do.  Conversations close past 240 blocks (~123k tokens).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "es_rng.h"
#include "es_trace.h"

#define GEN_OPEN 4096       /* open conversations */
#define GEN_MAX_BLOCKS 256

int es_trace_gen_mooncake(FILE *f, uint64_t n, double rate, uint64_t seed)
{
    typedef struct conv { uint32_t n; uint64_t ids[GEN_MAX_BLOCKS]; } conv_t;
    conv_t *open = calloc(GEN_OPEN, sizeof *open);
    if (!open) return ES_ENOMEM;
    es_rng_t r;
    es_rng_stream(&r, seed, 0x6e6e, 0, ES_STREAM_ARRIVALS);
    uint64_t next_id = 1;
    double t_ms = 0;
    for (uint64_t i = 0; i < n; i++) {
        conv_t *c;
        /* continue: the low slots are the popular ones (a squared uniform) */
        double u = es_rng_uniform(&r);
        uint32_t slot = (uint32_t)(u * u * GEN_OPEN);
        c = &open[slot];
        if (c->n == 0 || c->n + 4 > 240 || es_rng_uniform(&r) < 0.5) {
            c->n = 0;
            c->ids[c->n++] = 0;
            uint32_t fresh = 2 + (uint32_t)es_rng_below(&r, 29);
            for (uint32_t k = 0; k < fresh; k++) c->ids[c->n++] = next_id++;
        } else {
            uint32_t add = 1 + (uint32_t)es_rng_below(&r, 4);
            for (uint32_t k = 0; k < add; k++) c->ids[c->n++] = next_id++;
        }
        uint32_t input = (c->n - 1) * 512 + 1 + (uint32_t)es_rng_below(&r, 512);
        uint32_t output = 1 + (uint32_t)es_rng_below(&r, 700);
        fprintf(f, "{\"timestamp\": %" PRIu64 ", \"input_length\": %" PRIu32 ", \"output_length\": %" PRIu32
                   ", \"hash_ids\": [", (uint64_t)t_ms, input, output);
        for (uint32_t k = 0; k < c->n; k++) fprintf(f, k ? ", %" PRIu64 : "%" PRIu64, c->ids[k]);
        fputs("]}\n", f);
        t_ms += es_rng_exp(&r, 1000.0 / rate);
    }
    free(open);
    return ferror(f) ? ES_EIO : 0;
}
