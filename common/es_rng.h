/*
 * es_rng.h -- deterministic random streams (xoshiro256++), header-only.
 *
 * Every source of randomness in eppsim is a stream derived from one master
 * seed and a (entity kind, entity id, purpose) triple, so that adding a pod
 * or a scorer never shifts the arrival stream: configurations compared in a
 * sweep see the same requests (common random numbers).  The scheduler library
 * uses these streams too, which is why they live here and not in sim/.
 * Generator name recorded in results: ES_RNG_NAME.
 */
#ifndef ES_RNG_H
#define ES_RNG_H

#include <math.h>
#include <stdint.h>

#define ES_RNG_NAME "xoshiro256++/splitmix64"

typedef struct es_rng {
    uint64_t s[4];   /* xoshiro256++ state; never all zero */
} es_rng_t;

/* Purposes: one stream per (entity, purpose).  Values are part of the
 * determinism contract: never renumber, only append. */
enum {
    ES_STREAM_ARRIVALS = 1, ES_STREAM_LENGTHS = 2, ES_STREAM_CONTENT = 3,
    ES_STREAM_SCHEDULER = 4, ES_STREAM_NETWORK = 5, ES_STREAM_SCRAPE = 6,
    ES_STREAM_SERVER = 7, ES_STREAM_FAULTS = 8, ES_STREAM_GATEWAY = 9,
    ES_STREAM_WORKLOAD_MIX = 10, ES_STREAM_SESSIONS = 11,
    ES_STREAM_IMAGES = 12   /* a request's images (workload.images) */
};

/* Entity kinds (es_rng_stream's second argument) of the request path; the
 * workload's are ES_WL_ENTITY_* (es_workload.h).  Part of the determinism
 * contract: never renumber, only append. */
enum {
    ES_ENTITY_POD = 1,            /* reserved (a pod's server draws from no stream) */
    ES_ENTITY_EPP_REPLICA = 2,    /* id: replica index; scrape failures and phases, from the master seed */
    ES_ENTITY_GATEWAY = 3,        /* id 0: FailOpen and body-less picks; id 1: client cancellations */
    ES_ENTITY_EPP_SCHEDULER = 4   /* id 0: a scheduler's own stream, from the seed it is created
                                   * with (es_rng_epp_seed for the simulated replicas) */
};

/* Hash constants, named so that every use is found by one search; changing
 * one moves every result. */
#define ES_HASH_WEYL        0x9e3779b97f4a7c15ULL   /* 2^64 / golden ratio (splitmix64's increment) */
#define ES_HASH_OFFSET      0x632be59bd9b4e019ULL   /* a second odd offset, separating two inputs */
#define ES_HASH_MUL         0xc2b2ae3d27d4eb4fULL   /* xxHash64's prime 2 */
#define ES_HASH_SEED_DOMAIN 0x5851f42d4c957f2dULL   /* PCG's multiplier: separates the master seed */
#define ES_SEED_DOMAIN_EPP  0x45505000ULL           /* "EPP\0": the EPP replicas' scheduler seeds */
/* Domains of the approximate prefix index's character-block hashes
 * (scheduler/prefix_index.c): the first three SHA-512 initial words, chosen
 * only as arbitrary odd-looking constants with no structure. */
#define ES_HASH_PIECE_DOMAIN   0x6a09e667f3bcc909ULL   /* a piece's segment id, apart from es_content's (seg ^ pos * WEYL) */
#define ES_HASH_CHAIN_DOMAIN   0xbb67ae8584caa73bULL   /* chain seed and each parent link: a block's hash is not the next chain state */
#define ES_HASH_PARTIAL_DOMAIN 0x3c6ef372fe94f82bULL   /* the partial last block: unlike a full block of the same pieces */

static inline uint64_t es_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += ES_HASH_WEYL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A strong 64-bit mix (the splitmix64 finalizer) for hashing ids. */
static inline uint64_t es_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void es_rng_seed(es_rng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = es_splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

/* Derives the stream for (entity_kind, entity_id, purpose) from the master seed. */
static inline void es_rng_stream(es_rng_t *r, uint64_t master, uint64_t entity_kind,
                                 uint64_t entity_id, uint64_t purpose)
{
    uint64_t h = es_mix64(master ^ ES_HASH_SEED_DOMAIN);
    h = es_mix64(h ^ (entity_kind * ES_HASH_WEYL));
    h = es_mix64(h ^ (entity_id + ES_HASH_OFFSET));
    h = es_mix64(h ^ (purpose * ES_HASH_MUL));
    es_rng_seed(r, h);
}

/* The seed of EPP replica `replica`'s scheduler (es_scheduler_create).  The
 * run records it in decisions.jsonl and `explain --from-run` replays with
 * it, so this is the one place it is derived. */
static inline uint64_t es_rng_epp_seed(uint64_t master, uint32_t replica)
{
    return es_mix64(master ^ (ES_SEED_DOMAIN_EPP + replica));
}

static inline uint64_t es_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t es_rng_u64(es_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = es_rotl64(s[0] + s[3], 23) + s[0];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = es_rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1), 53 random bits. */
static inline double es_rng_uniform(es_rng_t *r)
{
    return (double)(es_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) without modulo bias (Lemire); n > 0. */
static inline uint64_t es_rng_below(es_rng_t *r, uint64_t n)
{
    __extension__ typedef unsigned __int128 u128;
    uint64_t x = es_rng_u64(r);
    u128 m = (u128)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) { x = es_rng_u64(r); m = (u128)x * n; l = (uint64_t)m; }
    }
    return (uint64_t)(m >> 64);
}

/* Exponential with the given mean (inverse CDF). */
static inline double es_rng_exp(es_rng_t *r, double mean)
{
    return -mean * log1p(-es_rng_uniform(r));
}

#endif /* ES_RNG_H */
