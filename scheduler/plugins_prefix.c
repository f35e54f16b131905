/*
 * plugins_prefix.c -- the prefix-cache index owners: precise-prefix-cache-scorer
 * (fed by the servers' KV events), approx-prefix-cache-producer (the index of
 * what this replica routed) and precise-prefix-cache-producer (the KV-event
 * index, optionally with speculative entries), the last two producing
 * PrefixCacheMatchInfo for the consumers (prefix-cache-scorer, no-hit-lru,
 * the affinity filter, the P/D decider).
 *
 * After x_init only the indexes and the per-request key arrays grow.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "plugins_internal.h"

/* indexerConfig.kvBlockIndexConfig.inMemoryConfig (llm-d-router v0.10.0
 * pkg/kvcache/kvblock/in_memory.go InMemoryIndexConfig, index.go IndexConfig):
 * podCacheSize is the LRU of pod entries per block key (default 10); size,
 * the LRU of block keys (default 1e8), is kept when written (key_lru.c;
 * unwritten, an index of the default's 1e8 keys would outgrow the run's
 * memory first, so nothing is tracked).  The
 * factories overlay the YAML on DefaultIndexConfig, so an unset key keeps
 * its default.  First member of both params structs (one omit hook). */
typedef struct kvindex_params {
    int64_t pods_per_key;   /* podCacheSize */
    int64_t max_keys;       /* size; 0 = not written (upstream 1e8) */
} kvindex_params_t;

#define KVINDEX_PARAM_TABLES(T, pre)                                                                    \
    static const esi_param_t pre##_inmem[] = {                                                          \
        {"size", ESI_P_INT, P(T, kv.max_keys), "0", 1, 1e18, NULL},                                     \
        {"podCacheSize", ESI_P_INT, P(T, kv.pods_per_key), "10", 1, 1 << 30, NULL},                     \
        END};                                                                                           \
    static const esi_param_t pre##_kvblock[] = {                                                        \
        {"inMemoryConfig", ESI_P_SUB, 0, NULL, 0, 0, pre##_inmem},                                      \
        {"redisConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},                                                \
        {"costAwareMemoryConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},                                      \
        {"enableMetrics", ESI_P_ANY, 0, NULL, 0, 0, NULL},                                              \
        {"metricsLoggingInterval", ESI_P_ANY, 0, NULL, 0, 0, NULL},                                     \
        END};                                                                                           \
    static const esi_param_t pre##_indexer[] = {                                                        \
        {"kvBlockIndexConfig", ESI_P_SUB, 0, NULL, 0, 0, pre##_kvblock},                                \
        {"kvCacheBackendConfigs", ESI_P_ANY, 0, NULL, 0, 0, NULL},                                      \
        {"tokenizersPoolConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},                                       \
        END}

/* size is written back only when the config set it (0 would be refused) */
static bool kvindex_param_omitted(const void *params, const char *key)
{
    return strcmp(key, "size") == 0 && ((const kvindex_params_t *)params)->max_keys == 0;
}

/* precise-prefix-cache-scorer (llm-d): index fed by KV events */
typedef struct precise_params {
    kvindex_params_t kv;
    int64_t block_size;
    char    hash_seed[ESI_STR_MAX];
    bool    speculative;
    es_time_t speculative_ttl;
} precise_params_t;

KVINDEX_PARAM_TABLES(precise_params_t, k_precise);

static const esi_param_t k_token_proc_params[] = {
    {"blockSize", ESI_P_INT, P(precise_params_t, block_size), "16", 1, 1 << 16, NULL},
    {"hashSeed", ESI_P_STR, P(precise_params_t, hash_seed), "", 0, 0, NULL},
    END};
static const esi_param_t k_precise_params[] = {
    {"tokenProcessorConfig", ESI_P_SUB, 0, NULL, 0, 0, k_token_proc_params},
    {"indexerConfig", ESI_P_SUB, 0, NULL, 0, 0, k_precise_indexer},
    {"kvEventsConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"speculativeIndexing", ESI_P_BOOL, P(precise_params_t, speculative), "false", 0, 0, NULL},
    {"speculativeTTL", ESI_P_DURATION, P(precise_params_t, speculative_ttl), "2s", 0, 1e18, NULL},
    END};

static int precise_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    const precise_params_t *p = params;
    (void)warning;
    if (p->speculative)
        return es_node_err(err, ES_EUNSUPP, at, path,
                           "speculativeIndexing is not supported by eppsim yet");
    return 0;
}

/* The kvcache index keeps, per block key, an LRU of at most podCacheSize pod
 * entries (default 10, llm-d-router v0.10.0 pkg/kvcache/kvblock/in_memory.go
 * defaultPodsPerKey; its key LRU is key_lru.c).  Upstream's speculative
 * entries share a key's LRU with the confirmed ones; here each index has its
 * own, with the same limit. */

typedef struct precise {
    precise_params_t p;
    esi_pindex_t     ix;
    uint64_t        *keys;
    size_t           cap;
    uint8_t         *alive;   /* [n] per eps index during a walk */
    size_t           alive_cap;
    uint32_t        *stamp;   /* per pod id: last key index that holds it */
    size_t           stamp_cap;
    esi_klru_t       klru;    /* inMemoryConfig.size, when written: the key LRU */
    bool             lru_on;
    esi_pindex_t    *spec;    /* the producer's speculative entries (a dropped key's go too) */
} precise_t;

static int precise_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    precise_t *pr = st;
    pr->p = *(const precise_params_t *)params;
    esi_pindex_init(&pr->ix);
    pr->ix.key_cap = (uint32_t)pr->p.kv.pods_per_key;
    pr->lru_on = pr->p.kv.max_keys > 0;
    if (pr->lru_on) esi_klru_init(&pr->klru, (uint64_t)pr->p.kv.max_keys);
    return 0;
}

static void precise_fini(void *st)
{
    precise_t *pr = st;
    if (pr->lru_on) esi_klru_fini(&pr->klru);
    esi_pindex_fini(&pr->ix);
    free(pr->keys); free(pr->alive); free(pr->stamp);
}

static size_t precise_keys(precise_t *pr, const es_sched_request_t *r)
{
    size_t need = (r->prompt_text ? strlen(r->prompt_text) / 4 : r->content.tokens) /
                  (size_t)pr->p.block_size + 1;
    if (need > pr->cap) {
        pr->keys = es_xrealloc(pr->keys, need * sizeof *pr->keys);
        pr->cap = need;
    }
    if (r->prompt_text)
        return esi_text_full_block_keys(r->prompt_text, (uint32_t)pr->p.block_size, pr->keys, pr->cap);
    return es_content_block_hashes(&r->content, (uint32_t)pr->p.block_size, pr->keys, pr->cap);
}

/* InMemoryIndex.Lookup: Get of every key of the request, in order (each
 * present one becomes the most recently used). */
static void precise_lookup_touch(precise_t *pr, size_t nk)
{
    if (!pr->lru_on) return;
    for (size_t k = 0; k < nk; k++) esi_klru_touch(&pr->klru, pr->keys[k]);
}

static void precise_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    precise_t *pr = st;
    size_t nk = precise_keys(pr, cy->req);
    for (size_t i = 0; i < m; i++) out[i] = 0.0;
    if (nk == 0) return;
    precise_lookup_touch(pr, nk);
    /* LongestPrefix: a pod scores while it holds every key so far (contiguous) */
    for (size_t i = 0; i < m; i++) {
        uint32_t id = cy->eps[idx[i]].id;
        size_t run = 0;
        for (size_t k = 0; k < nk; k++) {
            bool has = false;
            for (uint32_t ni = esi_pindex_holders(&pr->ix, pr->keys[k]); ni; ni = pr->ix.nodes[ni].next)
                if (pr->ix.nodes[ni].pod == id) { has = true; break; }
            if (!has) break;
            run++;
        }
        double sc = (double)run / (double)nk;   /* gpu tier weight 1.0 */
        out[i] = sc > 1 ? 1 : sc;
    }
}

/* The run of r's keys, from the first, that endpoint id holds in ix (or in spec). */
static size_t held_run(precise_t *pr, const esi_pindex_t *spec, const es_sched_request_t *r, uint32_t id,
                       uint64_t *out, size_t max)
{
    size_t nk = precise_keys(pr, r), run = 0;
    for (size_t k = 0; k < nk; k++) {
        bool has = false;
        for (uint32_t ni = esi_pindex_holders(&pr->ix, pr->keys[k]); ni && !has; ni = pr->ix.nodes[ni].next)
            has = pr->ix.nodes[ni].pod == id;
        for (uint32_t ni = spec ? esi_pindex_holders(spec, pr->keys[k]) : 0; ni && !has; ni = spec->nodes[ni].next)
            has = spec->nodes[ni].pod == id;
        if (!has) break;
        if (run < max) out[run] = pr->keys[k];
        run++;
    }
    return run;
}

static size_t precise_held(void *st, const es_sched_request_t *r, uint32_t id, uint64_t *out, size_t max)
{
    return held_run(st, NULL, r, id, out, max);
}

/* Drops every entry of key (the key LRU let it go). */
static void drop_key(esi_pindex_t *ix, uint64_t key)
{
    for (uint32_t ni; (ni = esi_pindex_holders(ix, key)) != 0;) esi_pindex_remove(ix, key, ix->nodes[ni].pod);
}

static bool holds(const esi_pindex_t *ix, uint64_t key, uint32_t pod)
{
    for (uint32_t ni = esi_pindex_holders(ix, key); ni; ni = ix->nodes[ni].next)
        if (ix->nodes[ni].pod == pod) return true;
    return false;
}

/* InMemoryIndex.Clear: over the keys oldest first, a key the pod holds is
 * promoted (evictPodsFromRequestKey's Get) and dropped once empty. */
static void precise_clear_pod(precise_t *pr, uint32_t pod)
{
    if (pr->lru_on) {
        esi_klru_t *l = &pr->klru;
        uint64_t left = l->n;
        for (uint32_t r = l->tail, prev; r && left; r = prev, left--) {
            prev = l->recs[r].prev;
            uint64_t key = l->recs[r].key;
            if (!holds(&pr->ix, key, pod)) continue;
            uint32_t first = esi_pindex_holders(&pr->ix, key);
            if (pr->ix.nodes[first].next == 0) esi_klru_remove(l, key);   /* the pod was its only holder */
            else esi_klru_touch(l, key);
        }
    }
    esi_pindex_remove_pod(&pr->ix, pod);
}

static void precise_removed(void *st, uint32_t id) { precise_clear_pod(st, id); }

static size_t precise_text_keys(void *st, const char *text, uint64_t *out, size_t max)
{
    return esi_text_full_block_keys(text, (uint32_t)((precise_t *)st)->p.block_size, out, max);
}

static void precise_on_event(void *st, const es_kv_event_t *ev)
{
    precise_t *pr = st;
    uint64_t gone;
    switch (ev->kind) {
    case ES_KV_BLOCK_STORED:   /* InMemoryIndex.Add: Get, else ContainsOrAdd (may drop the oldest key) */
        if (pr->lru_on && esi_klru_add(&pr->klru, ev->block_hash, &gone)) {
            drop_key(&pr->ix, gone);
            if (pr->spec) drop_key(pr->spec, gone);
        }
        esi_pindex_add(&pr->ix, ev->block_hash, ev->endpoint, UINT32_MAX);
        break;
    case ES_KV_BLOCK_REMOVED:   /* Evict: Get (promotes), remove the pod, Remove the key once empty */
        if (pr->lru_on && esi_pindex_holders(&pr->ix, ev->block_hash)) {
            esi_pindex_remove(&pr->ix, ev->block_hash, ev->endpoint);
            if (esi_pindex_holders(&pr->ix, ev->block_hash)) esi_klru_touch(&pr->klru, ev->block_hash);
            else esi_klru_remove(&pr->klru, ev->block_hash);
            break;
        }
        esi_pindex_remove(&pr->ix, ev->block_hash, ev->endpoint);
        break;
    case ES_KV_ALL_CLEARED: precise_clear_pod(pr, ev->endpoint); break;
    }
}

/* precise-prefix-cache-producer (llm-d-router v0.10.0
 * requestcontrol/dataproducer/preciseprefixcache): the KV-event index as a
 * producer of PrefixCacheMatchInfo (match = the longest run of the request's
 * block keys a pod holds, from the first; total = the request's full
 * blocks), for prefix-cache-scorer with prefixMatchInfoProducerName.
 * speculativeIndexing adds the keys for the primary pick (and the pick of a
 * profile named "prefill") at PreRequest; they expire after speculativeTTL
 * unless a KV event stored them (prerequest.go). */
typedef struct pprod_params {
    kvindex_params_t kv;
    int64_t   block_size;          /* tokenProcessorConfig.blockSize (deprecated) */
    int64_t   block_size_tokens;   /* tokenProcessorConfig.blockSizeTokens; 0 = blockSize or 16 */
    char      hash_seed[ESI_STR_MAX];
    bool      speculative;
    es_time_t speculative_ttl;     /* a Go duration; <= 0: 2s */
} pprod_params_t;

static const esi_param_t k_pprod_tokproc[] = {
    {"blockSize", ESI_P_INT, P(pprod_params_t, block_size), "0", 0, 1 << 16, NULL},
    {"blockSizeTokens", ESI_P_INT, P(pprod_params_t, block_size_tokens), "0", 0, 1 << 16, NULL},
    {"hashSeed", ESI_P_STR, P(pprod_params_t, hash_seed), "", 0, 0, NULL},
    END};
KVINDEX_PARAM_TABLES(pprod_params_t, k_pprod);
static const esi_param_t k_pprod_params[] = {
    {"tokenProcessorConfig", ESI_P_SUB, 0, NULL, 0, 0, k_pprod_tokproc},
    {"indexerConfig", ESI_P_SUB, 0, NULL, 0, 0, k_pprod_indexer},
    {"kvEventsConfig", ESI_P_ANY, 0, NULL, 0, 0, NULL},
    {"speculativeIndexing", ESI_P_BOOL, P(pprod_params_t, speculative), "false", 0, 0, NULL},
    {"speculativeTTL", ESI_P_DURATION, P(pprod_params_t, speculative_ttl), "2s", -1e18, 1e18, NULL},
    END};

static int pprod_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    pprod_params_t *p = params;
    (void)at; (void)path; (void)err; (void)warning;
    if (p->block_size_tokens == 0) p->block_size_tokens = p->block_size > 0 ? p->block_size : 16;
    return 0;
}

typedef struct spec_entry { es_time_t expire; uint64_t key; uint32_t pod; } spec_entry_t;

typedef struct pprod {
    precise_t     pr;           /* confirmed entries (KV events) */
    esi_pindex_t  spec;         /* speculative entries */
    spec_entry_t *ring;         /* FIFO of speculative entries by expiry */
    size_t        rcap, rhead, rlen;
    es_time_t     ttl;
} pprod_t;

static int pprod_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    pprod_t *pp = st;
    const pprod_params_t *p = params;
    precise_params_t pr = {.kv = p->kv, .block_size = p->block_size_tokens, .speculative = p->speculative};
    snprintf(pr.hash_seed, sizeof pr.hash_seed, "%s", p->hash_seed);
    pp->ttl = p->speculative_ttl > 0 ? p->speculative_ttl : 2 * ES_S;
    precise_init(&pp->pr, &pr, s, err);
    pp->pr.spec = &pp->spec;
    esi_pindex_init(&pp->spec);
    pp->spec.key_cap = (uint32_t)p->kv.pods_per_key;
    return 0;
}

static void pprod_fini(void *st)
{
    pprod_t *pp = st;
    precise_fini(&pp->pr);
    esi_pindex_fini(&pp->spec);
    free(pp->ring);
}

static void pprod_expire(pprod_t *pp, es_time_t now)
{
    while (pp->rlen && pp->ring[pp->rhead].expire <= now) {
        const spec_entry_t *e = &pp->ring[pp->rhead];
        esi_pindex_remove(&pp->spec, e->key, e->pod);
        pp->rhead = (pp->rhead + 1) % pp->rcap;
        pp->rlen--;
    }
}

/* counts, for each candidate, the run of keys from the first that it holds */
static void count_run(const esi_pindex_t *ix, uint64_t key, size_t k, esi_cycle_t *cy, bool *any)
{
    for (uint32_t ni = esi_pindex_holders(ix, key); ni; ni = ix->nodes[ni].next) {
        uint32_t at = esi_cycle_pos(cy, ix->nodes[ni].pod);
        if (at != UINT32_MAX && cy->match[at] == k) { cy->match[at]++; *any = true; }
    }
}

static void pprod_prepare(void *st, esi_cycle_t *cy)
{
    pprod_t *pp = st;
    pprod_expire(pp, cy->now);
    size_t nk = precise_keys(&pp->pr, cy->req);
    memset(cy->match, 0, cy->n * sizeof *cy->match);
    cy->have_prefix = true;
    cy->total_blocks = (uint32_t)nk;
    cy->block_tokens = (uint32_t)pp->pr.p.block_size;
    cy->hashes = pp->pr.keys;
    precise_lookup_touch(&pp->pr, nk);
    for (size_t k = 0; k < nk; k++) {
        bool any = false;
        count_run(&pp->pr.ix, pp->pr.keys[k], k, cy, &any);
        count_run(&pp->spec, pp->pr.keys[k], k, cy, &any);
        if (!any) break;
    }
}

static void spec_add(pprod_t *pp, esi_cycle_t *cy, uint32_t e)
{
    if (e == UINT32_MAX) return;
    uint32_t pod = cy->eps[e].id;
    for (uint32_t k = 0; k < cy->total_blocks; k++) {
        if (pp->rlen == pp->rcap) {   /* grow the ring, keeping FIFO order */
            size_t nc = pp->rcap ? pp->rcap * 2 : 1024;
            spec_entry_t *nr = es_xmalloc(nc * sizeof *nr);
            for (size_t i = 0; i < pp->rlen; i++) nr[i] = pp->ring[(pp->rhead + i) % pp->rcap];
            free(pp->ring);
            pp->ring = nr;
            pp->rcap = nc;
            pp->rhead = 0;
        }
        pp->ring[(pp->rhead + pp->rlen++) % pp->rcap] = (spec_entry_t){cy->now + pp->ttl, cy->hashes[k], pod};
        esi_pindex_add(&pp->spec, cy->hashes[k], pod, UINT32_MAX);
    }
}

static void pprod_pre(void *st, esi_cycle_t *cy)
{
    pprod_t *pp = st;
    if (!pp->pr.p.speculative || cy->record_only) return;
    spec_add(pp, cy, esi_cycle_primary(cy));
    spec_add(pp, cy, esi_cycle_prefill(cy));
}

static void pprod_kv_event(void *st, const es_kv_event_t *ev) { precise_on_event(&((pprod_t *)st)->pr, ev); }

static size_t pprod_text_keys(void *st, const char *text, uint64_t *out, size_t max)
{
    return precise_text_keys(&((pprod_t *)st)->pr, text, out, max);
}

static size_t pprod_held(void *st, const es_sched_request_t *r, uint32_t id, uint64_t *out, size_t max)
{
    pprod_t *pp = st;
    return held_run(&pp->pr, &pp->spec, r, id, out, max);
}

static void pprod_removed(void *st, uint32_t id)
{
    pprod_t *pp = st;
    precise_clear_pod(&pp->pr, id);
    esi_pindex_remove_pod(&pp->spec, id);
}

static const esi_param_t k_producer_params[] = {
    {"autoTune", ESI_P_BOOL, P(esi_approx_params_t, auto_tune), "true", 0, 0, NULL},
    {"blockSizeTokens", ESI_P_INT, P(esi_approx_params_t, block_size_tokens), "16", -(1 << 20), 1 << 20, NULL},
    {"blockSize", ESI_P_INT, P(esi_approx_params_t, block_size_chars), "0", 0, 1 << 22, NULL},
    {"maxPrefixBlocksToMatch", ESI_P_INT, P(esi_approx_params_t, max_blocks), "2048", 0, 1 << 24, NULL},
    {"maxPrefixTokensToMatch", ESI_P_INT, P(esi_approx_params_t, max_tokens), "131072", 0, 1e12, NULL},
    {"lruCapacityPerServer", ESI_P_INT, P(esi_approx_params_t, lru_capacity), "31250", -2147483648.0, 2147483647.0, NULL},
    END};

/* approx-prefix-cache-producer (llm-d-router v0.10.0, commit 71f4f099,
 * pkg/epp/framework/plugins/requestcontrol/dataproducer/approximateprefix/
 * plugin.go): owns the approximate index.  ApproxPrefixCacheFactory and
 * newDataProducer: */
static int producer_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    esi_approx_params_t *p = params;
    p->min_block_tokens = ESI_APPROX_MIN_BLOCK_TOKENS;
    if (p->block_size_chars > 0) {
        *warning = "'blockSize' is deprecated; use 'blockSizeTokens' instead";
        if (p->block_size_tokens == 16) p->block_size_tokens = p->block_size_chars;
        p->block_size_chars = 0;
    }
    if (!p->auto_tune && p->block_size_tokens <= 0)
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration: BlockSizeTokens must be > 0 when "
                           "AutoTune is disabled (current value: %lld)", (long long)p->block_size_tokens);
    bool written = at && at->kind == ES_NODE_MAP && es_map_get(at, "blockSizeTokens");
    p->block_size_given = written;
    if (written && p->block_size_tokens > 0 && p->block_size_tokens < p->min_block_tokens)
        *warning = "configured blockSizeTokens is below the recommended minimum (64), overriding it";
    /* plugin.go makeserver: a non-positive capacity leaves the default (silently upstream) */
    if (p->lru_capacity <= 0) {
        p->lru_capacity = 31250;
        *warning = "lruCapacityPerServer <= 0: using the default 31250 (as upstream)";
    }
    return 0;
}

/* the default 16 written out would warn when the run's epp-config.yaml is read back */
static bool producer_param_omitted(const void *params, const char *key)
{
    const esi_approx_params_t *p = params;
    return !strcmp(key, "blockSizeTokens") && !p->block_size_given && p->block_size_tokens == 16;
}

typedef struct approx {
    esi_approx_params_t p;
    esi_pindex_t        ix;
    esi_charview_t      cv;        /* character view sums */
    uint64_t           *hashes;    /* the current request's block hashes */
    size_t              hcap;
} approx_t;

static int approx_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    approx_t *a = st;
    a->p = *(const esi_approx_params_t *)params;
    esi_pindex_init(&a->ix);
    esi_charview_init(&a->cv);
    return 0;
}

static void approx_fini(void *st)
{
    approx_t *a = st;
    esi_pindex_fini(&a->ix);
    free(a->hashes);
}

/* GetBlockSize: the server's block size (autoTune) or blockSizeTokens, floored at 64 */
static uint32_t approx_block_tokens(const approx_t *a, const esi_cycle_t *cy)
{
    int64_t bs = a->p.block_size_tokens;
    if (a->p.auto_tune && cy->n > 0 && cy->eps[0].metrics.block_size > 0) bs = cy->eps[0].metrics.block_size;
    return (uint32_t)(bs < a->p.min_block_tokens ? a->p.min_block_tokens : bs);
}

/* PrepareRequestData: hashes, greedy match walk. */
static void approx_prepare(void *st, esi_cycle_t *cy)
{
    approx_t *a = st;
    uint32_t bs = approx_block_tokens(a, cy);
    /* resolveMaxBlocks: tokens cap first, then the blocks cap, 0 and 0 = the whole prompt */
    size_t maxb = a->p.max_tokens > 0 ? (size_t)(a->p.max_tokens / bs) : (size_t)a->p.max_blocks;
    size_t len = cy->req->prompt_text ? strlen(cy->req->prompt_text) : (size_t)cy->req->content.tokens * 7;
    size_t whole = len / ((size_t)bs * 4) + 1;   /* blocks the prompt can make (<= 7 characters a token) */
    if (maxb == 0 || maxb > whole) maxb = whole;
    if (maxb > a->hcap) {
        a->hashes = es_xrealloc(a->hashes, maxb * sizeof *a->hashes);
        a->hcap = maxb;
    }
    const char *model = cy->req->model ? cy->req->model : "";
    uint64_t seed = esi_xxh64(model, strlen(model), 0);
    size_t nh = cy->req->prompt_text
        ? esi_text_block_hashes(cy->req->prompt_text, strlen(cy->req->prompt_text), bs * 4, seed, a->hashes, maxb)
        : esi_char_block_hashes(&a->cv, &cy->req->content, bs * 4, seed, a->hashes, maxb);
    memset(cy->match, 0, cy->n * sizeof *cy->match);
    cy->have_prefix = true;
    cy->total_blocks = (uint32_t)nh;
    cy->block_tokens = bs;
    cy->hashes = a->hashes;
    for (size_t k = 0; k < nh; k++) {
        uint32_t ni = esi_pindex_holders(&a->ix, a->hashes[k]);
        if (!ni) break;   /* greedy: stop at the first block nobody has */
        for (; ni; ni = a->ix.nodes[ni].next) {
            uint32_t at = esi_cycle_pos(cy, a->ix.nodes[ni].pod);   /* pods outside the candidates are skipped */
            if (at != UINT32_MAX) cy->match[at]++;
        }
    }
}

static void approx_add(approx_t *a, esi_cycle_t *cy, uint32_t e)
{
    if (e == UINT32_MAX || cy->total_blocks == 0) return;
    const es_endpoint_t *ep = &cy->eps[e];
    uint32_t cap = a->p.auto_tune && ep->metrics.num_gpu_blocks > 0 ? ep->metrics.num_gpu_blocks
                                                                     : (uint32_t)a->p.lru_capacity;
    esi_pindex_add_n(&a->ix, cy->hashes, cy->total_blocks, ep->id, cap);
}

/* PreRequest: the primary pick and the prefill pick now hold the request's blocks. */
static void approx_pre(void *st, esi_cycle_t *cy)
{
    approx_t *a = st;
    if (cy->record_only) { approx_add(a, cy, cy->record_target); return; }
    approx_add(a, cy, esi_cycle_primary(cy));
    approx_add(a, cy, esi_cycle_prefill(cy));
}

static void approx_removed(void *st, uint32_t id) { esi_pindex_remove_pod(&((approx_t *)st)->ix, id); }

static const esi_plugin_vt_t k_plugins[] = {
    /* scorer fed by the servers' KV events */
    {VT("precise-prefix-cache-scorer", ESI_SCORER, k_precise_params, sizeof(precise_params_t),
        sizeof(precise_t)), .caps = ESI_CAP_KV_EVENTS, .x_check = precise_check,
     .x_param_omitted = kvindex_param_omitted, .x_init = precise_init,
     .x_fini = precise_fini, .x_score = precise_score, .x_kv_event = precise_on_event,
     .x_text_keys = precise_text_keys, .x_removed = precise_removed, .x_held_keys = precise_held},
    /* producers of PrefixCacheMatchInfo */
    {VT("approx-prefix-cache-producer", ESI_PRODUCER, k_producer_params, sizeof(esi_approx_params_t),
        sizeof(approx_t)), .produces = ESI_DATA_PREFIX_MATCH, .caps = ESI_CAP_DEFAULT_PRODUCER,
     .x_check = producer_check, .x_param_omitted = producer_param_omitted, .x_init = approx_init, .x_fini = approx_fini, .x_prepare = approx_prepare,
     .x_pre_request = approx_pre, .x_removed = approx_removed},
    {VT("precise-prefix-cache-producer", ESI_PRODUCER, k_pprod_params, sizeof(pprod_params_t), sizeof(pprod_t)),
     .produces = ESI_DATA_PREFIX_MATCH, .caps = ESI_CAP_KV_EVENTS, .x_check = pprod_check,
     .x_param_omitted = kvindex_param_omitted, .x_init = pprod_init,
     .x_fini = pprod_fini, .x_prepare = pprod_prepare, .x_pre_request = pprod_pre, .x_kv_event = pprod_kv_event,
     .x_text_keys = pprod_text_keys, .x_removed = pprod_removed, .x_held_keys = pprod_held},
};

ESI_PLUGIN_FAMILY(esi_prefix_plugins, k_plugins);
