/*
 * plugins_burst.c -- burst-prefix-cache-producer (llm-d-router v0.10.0
 * requestcontrol/dataproducer/burstprefix/plugin.go, assign.go, types.go,
 * commit 71f4f099): requests arriving within a window are held and assigned
 * jointly, so the samples of one prompt (an RL rollout group) land on the
 * same replica(s) and a shared prefix is prefilled once.  It produces
 * PrefixCacheMatchInfo: a full match on the assigned replica, zero
 * elsewhere, for the prefix-cache-scorer that names it.
 *
 * The window is the scheduler's hold (x_hold / x_seal): the first request
 * opens a batch that closes windowDurationMs later; es_scheduler_flow_cycle
 * seals it and decides the held requests in arrival order.  A request
 * es_scheduler_pick decides at once is a batch of one (no affinity).
 * Blocks are the approximate producer's (blockSizeTokens tokens of the
 * character view, partial last block included), so identical prompts share
 * every block hash and a chained hash names a whole leading prefix.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "plugins_internal.h"

typedef struct burst_params {
    int64_t window_ms;        /* windowDurationMs, 1..10000 */
    int64_t max_per_replica;  /* maxPerReplica k; -1 unlimited */
    int64_t block_tokens;     /* blockSizeTokens, > 0 */
    int64_t max_tokens;       /* maxPrefixTokensToMatch, 0 or >= blockSizeTokens */
    int64_t min_colocate;     /* minColocateBlocks, >= 0 */
    int64_t max_batch;        /* maxBatchSize; -1 unlimited */
    char    balance_by[ESI_STR_MAX];   /* requests | tokens */
    bool    by_tokens;
    int64_t max_blocks;       /* resolved: maxPrefixTokensToMatch / blockSizeTokens, else 2048 */
} burst_params_t;

static const esi_param_t k_burst_params[] = {
    {"windowDurationMs", ESI_P_INT, P(burst_params_t, window_ms), "100", -1e15, 1e15, NULL},
    {"maxPerReplica", ESI_P_INT, P(burst_params_t, max_per_replica), "-1", -1e15, 1e15, NULL},
    {"blockSizeTokens", ESI_P_INT, P(burst_params_t, block_tokens), "64", -1e15, 1e15, NULL},
    {"maxPrefixTokensToMatch", ESI_P_INT, P(burst_params_t, max_tokens), "0", -1e15, 1e15, NULL},
    {"minColocateBlocks", ESI_P_INT, P(burst_params_t, min_colocate), "0", -1e15, 1e15, NULL},
    {"maxBatchSize", ESI_P_INT, P(burst_params_t, max_batch), "1000", -1e15, 1e15, NULL},
    {"balanceBy", ESI_P_STR, P(burst_params_t, balance_by), "requests", 0, 0, NULL},
    END};

/* newDataProducer's validation, in its order */
static int burst_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    burst_params_t *p = params;
#define BAD(cond, ...) if (cond) return es_node_err(err, ES_EINVAL, at, path, "invalid configuration: " __VA_ARGS__)
    BAD(p->window_ms <= 0, "windowDurationMs must be > 0 (current value: %lld)", (long long)p->window_ms);
    BAD(p->window_ms > 10000, "windowDurationMs must be <= 10000 (current value: %lld)", (long long)p->window_ms);
    BAD(p->max_per_replica != -1 && p->max_per_replica < 1,
        "maxPerReplica must be -1 (unlimited) or >= 1 (current value: %lld)", (long long)p->max_per_replica);
    BAD(p->block_tokens <= 0, "blockSizeTokens must be > 0 (current value: %lld)", (long long)p->block_tokens);
    BAD(p->max_tokens < 0, "maxPrefixTokensToMatch must be >= 0 (current value: %lld)", (long long)p->max_tokens);
    BAD(p->max_tokens > 0 && p->max_tokens < p->block_tokens,
        "maxPrefixTokensToMatch (%lld) must be 0 or >= blockSizeTokens (%lld); a smaller positive value yields "
        "zero prefix blocks", (long long)p->max_tokens, (long long)p->block_tokens);
    BAD(p->min_colocate < 0, "minColocateBlocks must be >= 0 (current value: %lld)", (long long)p->min_colocate);
    BAD(p->max_batch != -1 && p->max_batch < 1,
        "maxBatchSize must be -1 (unlimited) or >= 1 (current value: %lld)", (long long)p->max_batch);
    if (!p->balance_by[0]) snprintf(p->balance_by, sizeof p->balance_by, "requests");
    BAD(strcmp(p->balance_by, "requests") && strcmp(p->balance_by, "tokens"),
        "balanceBy must be \"requests\" or \"tokens\" (current value: \"%s\")", p->balance_by);
    BAD(p->block_tokens > (1 << 20), "blockSizeTokens must be <= %d in eppsim (current value: %lld)", 1 << 20,
        (long long)p->block_tokens);
#undef BAD
    p->by_tokens = strcmp(p->balance_by, "tokens") == 0;
    p->max_blocks = p->max_tokens > 0 ? p->max_tokens / p->block_tokens : 2048;
    return 0;
}

typedef struct burst_entry {
    uint64_t req_id;
    size_t   off;         /* its block hashes: hashes[off .. off + n) */
    uint32_t n;
    uint32_t group;       /* identical-prefix group */
    int64_t  assigned;    /* endpoint id; -1: no affinity */
} burst_entry_t;

typedef struct burst_group {
    uint32_t first;       /* entry that represents it */
    uint32_t members;
    uint32_t n;           /* its prefix blocks */
    int      tier;        /* 0 identical group, 1 prefix-sharing single, -1 not placed */
} burst_group_t;

typedef struct burst {
    burst_params_t p;
    esi_charview_t cv;
    bool           open, sealed;
    es_time_t      seal_at;
    burst_entry_t *e; size_t ne, ecap;
    uint64_t      *h; size_t nh, hcap;
    /* scratch of the assignment, grown at a seal */
    burst_group_t *g; size_t ng, gcap;
    uint32_t      *units; size_t ucap;
    int64_t       *load, *per, *match; size_t rcap;   /* per replica (eps index) */
    struct { uint32_t g, r; } *placed; size_t nplaced, pcap;   /* units placed: group on replica */
} burst_t;

static int burst_init(void *st, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    burst_t *b = st;
    b->p = *(const burst_params_t *)params;
    esi_charview_init(&b->cv);
    return 0;
}

static void burst_fini(void *st)
{
    burst_t *b = st;
    free(b->e); free(b->h); free(b->g); free(b->units);
    free(b->load); free(b->per); free(b->match); free(b->placed);
}

#define GROW(ptr, cap, need) do {                                          \
        if ((need) > (cap)) {                                              \
            size_t nc_ = (cap) ? (cap) : 16;                               \
            while (nc_ < (need)) nc_ *= 2;                                 \
            (ptr) = es_xrealloc((ptr), nc_ * sizeof *(ptr));               \
            (cap) = nc_;                                                   \
        }                                                                  \
    } while (0)

static bool burst_hold(void *st, esi_cycle_t *cy, es_time_t *seal_at)
{
    burst_t *b = st;
    if (b->sealed) { b->ne = b->nh = 0; b->sealed = false; }   /* the last batch was decided */
    if (!b->open) { b->open = true; b->seal_at = cy->now + b->p.window_ms * ES_MS; }
    *seal_at = b->seal_at;
    if (b->p.max_batch != -1 && (int64_t)b->ne >= b->p.max_batch) return false;   /* Produce's error: no data */
    uint32_t chars = (uint32_t)b->p.block_tokens * 4;
    size_t whole = ((size_t)cy->req->content.tokens * 7) / chars + 1;   /* <= 7 characters a token */
    size_t maxb = (size_t)b->p.max_blocks < whole ? (size_t)b->p.max_blocks : whole;
    GROW(b->h, b->hcap, b->nh + maxb);
    GROW(b->e, b->ecap, b->ne + 1);
    const char *model = cy->req->model ? cy->req->model : "";
    uint64_t seed = esi_xxh64(model, strlen(model), 0);
    size_t n = esi_char_block_hashes(&b->cv, &cy->req->content, chars, seed, b->h + b->nh, maxb);
    b->e[b->ne++] = (burst_entry_t){cy->req->id, b->nh, (uint32_t)n, 0, -1};
    b->nh += n;
    return true;
}

/* leading blocks entries x and y share (chained hashes: equal at j means equal before) */
static uint32_t burst_common(const burst_t *b, const burst_entry_t *x, const burst_entry_t *y)
{
    uint32_t m = x->n < y->n ? x->n : y->n, c = 0;
    while (c < m && b->h[x->off + c] == b->h[y->off + c]) c++;
    return c;
}

/* less: lower batch load, then fewer running requests, then the lower name */
static bool burst_less(const burst_t *b, const esi_cycle_t *cy, size_t x, size_t y)
{
    if (b->load[x] != b->load[y]) return b->load[x] < b->load[y];
    int32_t rx = cy->eps[x].metrics.running, ry = cy->eps[y].metrics.running;
    if (rx != ry) return rx < ry;
    return strcmp(cy->eps[x].name, cy->eps[y].name) < 0;
}

static size_t burst_pick_replica(const burst_t *b, const esi_cycle_t *cy, int64_t max_share, bool prefer)
{
    int64_t k = b->p.max_per_replica;
    size_t best = SIZE_MAX;
    if (prefer) {
        for (size_t r = 0; r < cy->n; r++) {
            if (k != -1 && b->per[r] >= k) continue;
            if (b->load[r] >= max_share) continue;   /* at fair share: co-locating would unbalance the batch */
            if (b->match[r] < b->p.min_colocate) continue;
            if (best == SIZE_MAX || b->match[r] > b->match[best] ||
                (b->match[r] == b->match[best] && burst_less(b, cy, r, best)))
                best = r;
        }
        if (best != SIZE_MAX) return best;
    }
    for (size_t r = 0; r < cy->n; r++) {   /* least loaded with room for this group */
        if (k != -1 && b->per[r] >= k) continue;
        if (best == SIZE_MAX || burst_less(b, cy, r, best)) best = r;
    }
    if (best != SIZE_MAX) return best;
    for (size_t r = 0; r < cy->n; r++) if (best == SIZE_MAX || burst_less(b, cy, r, best)) best = r;
    return best;
}

/* placeGroup: the primary replica with the prefix preference (bounded by the
 * fair share), the rest of the group, k at a time, on the least loaded */
static void burst_place(burst_t *b, const esi_cycle_t *cy, uint32_t g, int64_t max_share)
{
    const burst_group_t *gr = &b->g[g];
    const burst_entry_t *rep = &b->e[gr->first];
    bool prefer = b->p.min_colocate > 0;
    memset(b->per, 0, cy->n * sizeof *b->per);
    memset(b->match, 0, cy->n * sizeof *b->match);
    if (prefer || b->p.by_tokens)   /* longestPrefix over the units placed so far */
        for (size_t i = 0; i < b->nplaced; i++) {
            int64_t c = burst_common(b, &b->e[b->g[b->placed[i].g].first], rep);
            if (c > b->match[b->placed[i].r]) b->match[b->placed[i].r] = c;
        }
    int64_t k = b->p.max_per_replica;
    size_t next = gr->first;   /* members in entry order */
    for (uint32_t i = 0; i < gr->members;) {
        size_t t = burst_pick_replica(b, cy, max_share, prefer);
        uint32_t run = gr->members - i;
        if (k != -1) {
            int64_t left = k - b->per[t];
            if (left < 1) left = 1;   /* more members than k x replicas: one more, then rebalance */
            if (left < run) run = (uint32_t)left;
        }
        for (uint32_t j = 0; j < run; next++) {
            if (b->e[next].group != g) continue;
            b->e[next].assigned = cy->eps[t].id;
            j++;
        }
        bool first_touch = b->per[t] == 0;
        b->per[t] += run;
        if (!b->p.by_tokens) b->load[t] += run;
        else if (first_touch) b->load[t] += gr->n > b->match[t] ? gr->n - b->match[t] : 0;
        i += run;
        prefer = false;   /* only the primary replica gets the prefix preference */
    }
    for (size_t r = 0; r < cy->n; r++) {
        if (!b->per[r]) continue;
        GROW(b->placed, b->pcap, b->nplaced + 1);
        b->placed[b->nplaced].g = g;
        b->placed[b->nplaced++].r = (uint32_t)r;
    }
}

/* assign: identical groups first, then prefix-sharing singles, each tier by
 * descending prefix length (stable) */
static void burst_seal(void *st, esi_cycle_t *cy)
{
    burst_t *b = st;
    b->open = false;
    b->sealed = true;
    b->ng = 0;
    for (size_t i = 0; i < b->ne; i++) {
        burst_entry_t *x = &b->e[i];
        x->assigned = -1;
        if (x->n == 0) { x->group = UINT32_MAX; continue; }   /* no prefix: never grouped */
        size_t g = 0;
        for (; g < b->ng; g++) {
            const burst_entry_t *y = &b->e[b->g[g].first];
            if (y->n == x->n && memcmp(b->h + y->off, b->h + x->off, x->n * sizeof *b->h) == 0) break;
        }
        if (g == b->ng) {
            GROW(b->g, b->gcap, b->ng + 1);
            b->g[b->ng++] = (burst_group_t){(uint32_t)i, 0, x->n, -1};
        }
        b->g[g].members++;
        x->group = (uint32_t)g;
    }
    if (cy->n == 0 || b->ng == 0) return;
    /* sharedPrefixKeys: groups whose first minColocateBlocks blocks some other request shares */
    int64_t mc = b->p.min_colocate;
    for (size_t g = 0; g < b->ng; g++) {
        if (b->g[g].members >= 2) { b->g[g].tier = 0; continue; }
        if (mc <= 0 || b->g[g].n < mc) continue;
        const burst_entry_t *x = &b->e[b->g[g].first];
        uint32_t count = 0;
        for (size_t o = 0; o < b->ng; o++) {
            const burst_entry_t *y = &b->e[b->g[o].first];
            if (b->g[o].n >= mc && memcmp(b->h + y->off, b->h + x->off, (size_t)mc * sizeof *b->h) == 0)
                count += b->g[o].members;
        }
        if (count >= 2) b->g[g].tier = 1;
    }
    size_t nu = 0;
    GROW(b->units, b->ucap, b->ng);
    int64_t total = 0;
    for (int tier = 0; tier <= 1; tier++) {
        size_t start = nu;
        for (size_t g = 0; g < b->ng; g++) {
            if (b->g[g].tier != tier) continue;
            size_t at = nu++;   /* insertion sort: descending blocks, stable */
            while (at > start && b->g[b->units[at - 1]].n < b->g[g].n) { b->units[at] = b->units[at - 1]; at--; }
            b->units[at] = (uint32_t)g;
            total += b->p.by_tokens ? b->g[g].n : b->g[g].members;
        }
    }
    if (nu == 0) return;
    GROW(b->load, b->rcap, cy->n);
    b->per = es_xrealloc(b->per, b->rcap * sizeof *b->per);
    b->match = es_xrealloc(b->match, b->rcap * sizeof *b->match);
    memset(b->load, 0, cy->n * sizeof *b->load);
    int64_t max_share = (total + (int64_t)cy->n - 1) / (int64_t)cy->n;   /* fair share, rounded up */
    b->nplaced = 0;
    for (size_t u = 0; u < nu; u++) burst_place(b, cy, b->units[u], max_share);
}

/* Produce after the seal: a full match on the assigned replica, zero elsewhere */
static void burst_prepare(void *st, esi_cycle_t *cy)
{
    burst_t *b = st;
    if (!b->sealed) return;   /* decided at once (a batch of one, or the batch was full): no data */
    for (size_t i = 0; i < b->ne; i++) {
        const burst_entry_t *x = &b->e[i];
        if (x->req_id != cy->req->id) continue;
        memset(cy->match, 0, cy->n * sizeof *cy->match);
        cy->have_prefix = true;
        cy->total_blocks = x->n;
        cy->block_tokens = (uint32_t)b->p.block_tokens;
        cy->hashes = b->h + x->off;
        uint32_t at = x->assigned >= 0 ? esi_cycle_pos(cy, (uint32_t)x->assigned) : UINT32_MAX;
        if (at != UINT32_MAX) cy->match[at] = x->n;   /* absent from the candidates now: no affinity */
        return;
    }
}

void esi_burst_assign(const uint64_t *const *hashes, const uint32_t *nblocks, size_t n, const es_endpoint_t *eps,
                      size_t neps, int64_t max_per_replica, int64_t min_colocate, bool by_tokens, int64_t *assigned)
{
    burst_t b;
    memset(&b, 0, sizeof b);
    b.p.max_per_replica = max_per_replica;
    b.p.min_colocate = min_colocate;
    b.p.by_tokens = by_tokens;
    for (size_t i = 0; i < n; i++) {
        GROW(b.h, b.hcap, b.nh + nblocks[i] + 1);
        GROW(b.e, b.ecap, b.ne + 1);
        if (nblocks[i]) memcpy(b.h + b.nh, hashes[i], nblocks[i] * sizeof *b.h);
        b.e[b.ne++] = (burst_entry_t){i, b.nh, nblocks[i], 0, -1};
        b.nh += nblocks[i];
    }
    esi_cycle_t cy;
    memset(&cy, 0, sizeof cy);
    cy.eps = eps;
    cy.n = neps;
    burst_seal(&b, &cy);
    for (size_t i = 0; i < n; i++) assigned[i] = b.e[i].assigned;
    burst_fini(&b);
}

static const esi_plugin_vt_t k_plugins[] = {
    {VT("burst-prefix-cache-producer", ESI_PRODUCER, k_burst_params, sizeof(burst_params_t), sizeof(burst_t)),
     .alpha = true, .produces = ESI_DATA_PREFIX_MATCH, .x_check = burst_check, .x_init = burst_init,
     .x_fini = burst_fini, .x_prepare = burst_prepare, .x_hold = burst_hold, .x_seal = burst_seal},
};

ESI_PLUGIN_FAMILY(esi_burst_plugins, k_plugins);
