/*
 * metrics.c -- request records, pooled ITL histogram, oracle cache, statistics.
 */
#include "es_metrics.h"
#include "es_rng.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ITL histogram: log-linear buckets, 128 per power of two (<0.6% relative error). */
#define ITL_SUB_BITS 7
#define ITL_SUB (1u << ITL_SUB_BITS)
#define ITL_BUCKETS (64u * ITL_SUB)

struct es_metrics {
    es_results_config_t cfg;
    es_req_record_t *recs;
    size_t n, cap;
    uint64_t *itl;                 /* ITL_BUCKETS counts: gaps of the measured window's requests */
    es_time_t first_arrival, last_arrival;
    /* oracle: open-addressing set of block hashes (0 = empty) */
    bool oracle;
    uint32_t oracle_block;
    uint64_t *set;
    size_t set_n, set_cap;
    uint64_t oracle_hit_tokens, oracle_prompt_tokens;
    /* es_metrics_latency results for the current records (the summary, the
     * report and the terminal table ask for the same ones; each sorts every
     * record).  Records are append-only and the window depends on them
     * alone, so an entry is valid while n is unchanged.  Behind a pointer:
     * filled by const queries. */
    struct lat_memo *memo;
    uint64_t **stage_itl;          /* per stage: ITL_BUCKETS counts (es_metrics_add_stage_gaps) */
    uint32_t nstage_itl;
};

#define LAT_MEMO 16
typedef struct lat_memo {
    size_t n;               /* records when computed; SIZE_MAX = empty */
    es_lat_metric_t which;
    uint32_t stage;
    es_lat_stats_t stats;
} lat_memo_t;

es_metrics_t *es_metrics_create(const es_results_config_t *cfg, bool oracle, uint32_t oracle_block)
{
    es_metrics_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cfg = *cfg;
    m->itl = calloc(ITL_BUCKETS, sizeof *m->itl);
    m->oracle = oracle;
    m->oracle_block = oracle_block ? oracle_block : 16;
    m->first_arrival = ES_TIME_NEVER;
    m->last_arrival = 0;
    m->memo = malloc(LAT_MEMO * sizeof *m->memo);
    if (!m->itl || !m->memo) { free(m->itl); free(m->memo); free(m); return NULL; }
    for (int i = 0; i < LAT_MEMO; i++) m->memo[i].n = SIZE_MAX;
    return m;
}

void es_metrics_destroy(es_metrics_t *m)
{
    if (!m) return;
    free(m->recs);
    free(m->itl);
    free(m->set);
    free(m->memo);
    for (uint32_t i = 0; i < m->nstage_itl; i++) free(m->stage_itl[i]);
    free(m->stage_itl);
    free(m);
}

int es_metrics_add_request(es_metrics_t *m, const es_req_record_t *r)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        es_req_record_t *p = realloc(m->recs, cap * sizeof *p);
        if (!p) return ES_ENOMEM;
        m->recs = p;
        m->cap = cap;
    }
    m->recs[m->n++] = *r;
    if (r->arrival < m->first_arrival) m->first_arrival = r->arrival;
    if (r->arrival > m->last_arrival) m->last_arrival = r->arrival;
    return 0;
}

size_t es_metrics_count(const es_metrics_t *m) { return m->n; }
const es_results_config_t *es_metrics_config(const es_metrics_t *m) { return &m->cfg; }
const es_req_record_t *es_metrics_records(const es_metrics_t *m) { return m->recs; }

static inline uint32_t itl_bucket(uint64_t v)
{
    if (v < ITL_SUB) return (uint32_t)v;
    int e = 63 - __builtin_clzll(v);                 /* v in [2^e, 2^(e+1)) */
    uint32_t sub = (uint32_t)(v >> (e - ITL_SUB_BITS)) & (ITL_SUB - 1);
    return (uint32_t)(e - ITL_SUB_BITS + 1) * ITL_SUB + sub;
}

static inline double itl_bucket_mid(uint32_t b)
{
    if (b < ITL_SUB) return (double)b;
    uint32_t e = b / ITL_SUB + ITL_SUB_BITS - 1, sub = b % ITL_SUB;
    double lo = ldexp(1.0, (int)e) + (double)sub * ldexp(1.0, (int)e - ITL_SUB_BITS);
    return lo + ldexp(1.0, (int)e - ITL_SUB_BITS) / 2;
}

void es_metrics_add_gaps(es_metrics_t *m, es_time_t gap, uint32_t count)
{
    if (gap < 0 || count == 0) return;
    m->itl[itl_bucket((uint64_t)gap)] += count;
}

/* ---- oracle ----
 *
 * An infinite cache shared by all pods hits the longest token prefix that any
 * earlier sequence (prompt + output) shares with this prompt, in whole
 * blocks.  Since token t of a segment is a function of (segment id, t), two
 * sequences agree on a prefix exactly when they agree segment by segment, so
 * the set of earlier prefixes is a trie over segments: a node is (the path
 * before it, its segment id) and remembers the longest run of that segment
 * seen there.  That is the same answer as a set of chained block hashes, at
 * one lookup per segment instead of one per block.
 */

typedef struct onode {
    uint64_t key;      /* 0 = empty slot */
    uint32_t covered;  /* longest run of this segment seen after this path */
    uint32_t pad;
} onode_t;

/* Keys are es_mix64 outputs: one multiply spreads them over the table. */
static inline size_t oracle_home(uint64_t key, size_t cap)
{
    return (size_t)((key * ES_HASH_WEYL) >> 32) & (cap - 1);
}

static int set_grow(es_metrics_t *m)
{
    size_t cap = m->set_cap ? m->set_cap * 2 : 1 << 14;
    onode_t *s = calloc(cap, sizeof *s);
    if (!s) return ES_ENOMEM;
    onode_t *old = (onode_t *)m->set;
    for (size_t i = 0; i < m->set_cap; i++) {
        if (!old[i].key) continue;
        size_t j = oracle_home(old[i].key, cap);
        while (s[j].key) j = (j + 1) & (cap - 1);
        s[j] = old[i];
    }
    free(m->set);
    m->set = (uint64_t *)s;
    m->set_cap = cap;
    return 0;
}

/* The node for key, created when `create`; NULL when absent (or no memory). */
static onode_t *node_at(es_metrics_t *m, uint64_t key, bool create)
{
    key |= 1;   /* 0 marks an empty slot */
    /* grows at 80% full: the table is the largest randomly read structure of
     * a long run after the pods' (two entries per unique request), and a
     * denser one leaves more of the cache to them; a miss's probe stays
     * within a few adjacent lines */
    if (create && (m->set_n + 1) * 5 >= m->set_cap * 4 && set_grow(m)) return NULL;
    if (!m->set_cap) return NULL;
    onode_t *s = (onode_t *)m->set;
    size_t j = oracle_home(key, m->set_cap);
    while (s[j].key) {
        if (s[j].key == key) return &s[j];
        j = (j + 1) & (m->set_cap - 1);
    }
    if (!create) return NULL;
    s[j].key = key;
    s[j].covered = 0;
    m->set_n++;
    return &s[j];
}

static inline uint64_t child_key(uint64_t path, const es_segment_t *seg)
{
    return es_mix64(path ^ es_mix64(seg->id + ES_HASH_WEYL));
}

static inline uint64_t next_path(uint64_t key, uint32_t len)
{
    return es_mix64(key ^ ((uint64_t)len * ES_HASH_MUL));
}

uint32_t es_metrics_oracle_observe(es_metrics_t *m, const es_content_t *prompt, uint64_t output_segment,
                                   uint32_t output_tokens)
{
    if (!m->oracle || prompt->tokens == 0) return 0;
    uint32_t bs = m->oracle_block;
    /* 1. longest prefix matched by earlier sequences */
    uint64_t path = ES_CONTENT_ROOT_HASH;
    uint32_t matched = 0;
    for (uint32_t i = 0; i < prompt->nsegs; i++) {
        const es_segment_t *seg = &prompt->segs[i];
        uint64_t key = child_key(path, seg);
        onode_t *n = node_at(m, key, false);
        uint32_t run = n ? (n->covered < seg->len ? n->covered : seg->len) : 0;
        matched += run;
        if (run < seg->len) break;
        path = next_path(key, seg->len);
    }
    uint32_t cap_blocks = (prompt->tokens - 1) / bs;   /* vLLM: at most prompt - 1 tokens hit */
    uint32_t hit_blocks = matched / bs < cap_blocks ? matched / bs : cap_blocks;
    /* 2. this sequence (prompt, then its output) joins the cache */
    path = ES_CONTENT_ROOT_HASH;
    es_segment_t out = {output_segment, output_tokens};
    uint32_t nseg = prompt->nsegs + (output_tokens ? 1 : 0);
    for (uint32_t i = 0; i < nseg; i++) {
        const es_segment_t *seg = i < prompt->nsegs ? &prompt->segs[i] : &out;
        uint64_t key = child_key(path, seg);
        onode_t *n = node_at(m, key, true);
        if (!n) break;   /* out of memory: the oracle undercounts rather than fails */
        if (n->covered < seg->len) n->covered = seg->len;
        path = next_path(key, seg->len);
    }
    m->oracle_hit_tokens += (uint64_t)hit_blocks * bs;
    m->oracle_prompt_tokens += prompt->tokens;
    return hit_blocks * bs;
}

double es_metrics_oracle_rate(const es_metrics_t *m)
{
    return m->oracle_prompt_tokens ? (double)m->oracle_hit_tokens / (double)m->oracle_prompt_tokens : NAN;
}

/* ---- statistics ---- */

double es_percentile_sorted(const double *v, size_t n, double q)
{
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    double frac = pos - (double)i;
    return v[i] + (v[i + 1] - v[i]) * frac;
}

double es_record_tpot_ms(const es_req_record_t *r)
{
    if (r->status != 200 || r->output_tokens < 2 || r->ttft_ms < 0 || r->e2e_ms < 0) return -1;
    return ((double)r->e2e_ms - (double)r->ttft_ms) / (double)(r->output_tokens - 1);
}

void es_metrics_window(const es_metrics_t *m, es_time_t *from, es_time_t *to)
{
    *from = es_time_from_s(m->cfg.warmup_s);
    *to = m->n ? m->last_arrival - es_time_from_s(m->cfg.cooldown_s) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n), all >= 0 (no NaN), ascending, into the same order as
 * qsort with cmp_double: a stable LSD radix sort on the bit patterns, which
 * order like the values for non-negative doubles (the key of -0.0 is +0.0's,
 * as cmp_double has them equal; stable, as glibc's merge sort).  Sorting
 * 200k latencies this way is several times cheaper than qsort. */
static void sort_nonneg(double *v, size_t n)
{
    enum { BITS = 11, NB = 1 << BITS, PASSES = (64 + BITS - 1) / BITS };
    if (n < 64) {   /* insertion sort: stable */
        for (size_t i = 1; i < n; i++) {
            double x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    double *tmp = malloc(n * sizeof *tmp);
    size_t *count = calloc((size_t)PASSES * NB, sizeof *count);
    if (!tmp || !count) {
        free(tmp); free(count);
        qsort(v, n, sizeof *v, cmp_double);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k;
        double x = v[i] + 0.0;   /* -0.0 + 0.0 = +0.0 */
        memcpy(&k, &x, sizeof k);
        for (int p = 0; p < PASSES; p++) count[(size_t)p * NB + ((k >> (p * BITS)) & (NB - 1))]++;
    }
    double *src = v, *dst = tmp;
    for (int p = 0; p < PASSES; p++) {
        size_t *c = &count[(size_t)p * NB], sum = 0;
        bool trivial = false;
        for (size_t d = 0; d < NB; d++) {
            if (c[d] == n) trivial = true;   /* every key has this digit: nothing moves */
            size_t t = c[d];
            c[d] = sum;
            sum += t;
        }
        if (trivial) continue;
        for (size_t i = 0; i < n; i++) {
            uint64_t k;
            double x = src[i] + 0.0;
            memcpy(&k, &x, sizeof k);
            dst[c[(k >> (p * BITS)) & (NB - 1)]++] = src[i];
        }
        double *t = src; src = dst; dst = t;
    }
    if (src != v) memcpy(v, src, n * sizeof *v);
    free(tmp);
    free(count);
}

static double value_of(const es_req_record_t *r, es_lat_metric_t which)
{
    switch (which) {
    case ES_LAT_TTFT: return r->ttft_ms;
    case ES_LAT_TPOT: return es_record_tpot_ms(r);
    case ES_LAT_E2E: break;
    }
    return r->e2e_ms;
}

static const double k_q[4] = {0.50, 0.90, 0.95, 0.99};

static void latency_compute(const es_metrics_t *m, es_lat_metric_t which, uint32_t stage, es_lat_stats_t *out);
static void batch_intervals(const es_metrics_t *m, es_lat_metric_t which, uint32_t stage, es_time_t from, es_time_t to,
                            const double *sorted, size_t n, es_lat_stats_t *out);

void es_metrics_latency(const es_metrics_t *m, es_lat_metric_t which, uint32_t stage, es_lat_stats_t *out)
{
    lat_memo_t *slot = NULL;
    for (int i = 0; i < LAT_MEMO; i++) {
        lat_memo_t *e = &m->memo[i];
        if (e->n == m->n && e->which == which && e->stage == stage) { *out = e->stats; return; }
        if (!slot && e->n != m->n) slot = e;   /* empty or stale */
    }
    latency_compute(m, which, stage, out);
    if (slot) { slot->n = m->n; slot->which = which; slot->stage = stage; slot->stats = *out; }
}

static void latency_compute(const es_metrics_t *m, es_lat_metric_t which, uint32_t stage, es_lat_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 4; i++) { out->p[i] = NAN; out->ci[i][0] = out->ci[i][1] = NAN; }
    out->mean = out->mean_ci[0] = out->mean_ci[1] = NAN;
    es_time_t from, to;
    es_metrics_window(m, &from, &to);
    double *v = malloc((m->n ? m->n : 1) * sizeof *v);
    if (!v) return;
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const es_req_record_t *r = &m->recs[i];
        if (r->status != 200 || r->arrival < from || r->arrival > to) continue;
        if (stage != ES_ALL_STAGES && r->stage != stage) continue;
        double x = value_of(r, which);
        if (x >= 0) v[n++] = x;
    }
    out->n = n;
    if (n == 0) { free(v); return; }
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    sort_nonneg(v, n);
    for (int q = 0; q < 4; q++) out->p[q] = es_percentile_sorted(v, n, k_q[q]);
    out->mean = sum / (double)n;
    int64_t nb = m->cfg.batch_count;
    if ((int64_t)n >= nb * 5) batch_intervals(m, which, stage, from, to, v, n, out);
    free(v);
}

/* 95 % intervals from the window's values in arrival order, split into
 * batch_count batches (the batches soak up the autocorrelation of a queue).
 *
 * Mean: batch means, Student t.
 *
 * Percentile p_q: an interval of order statistics, never a mean of batch
 * percentiles (a batch's p99 of a few hundred values is biased low, so such
 * an interval can miss its own estimate).  P(X <= p_q) is estimated per
 * batch by the fraction of the batch at or below the estimate; its spread
 * across batches gives the half-width h of an interval for the probability
 * (at least the i.i.d. binomial one, z sqrt(q(1-q)/n), when batches are too
 * small to see the tail), and the interval is
 * [x_(n(q-h)), x_(n(q+h))] of the sorted values: inside the data (so never
 * negative for a positive metric), around the estimate, and exact in
 * distribution for i.i.d. values (tests/unit/results: coverage). */
static void batch_intervals(const es_metrics_t *m, es_lat_metric_t which, uint32_t stage, es_time_t from, es_time_t to,
                            const double *sorted, size_t n, es_lat_stats_t *out)
{
    int64_t nb = m->cfg.batch_count;
    size_t *idx = malloc(n * sizeof *idx);
    es_time_t *arr = malloc(n * sizeof *arr);
    if (!idx || !arr) { free(idx); free(arr); return; }
    size_t k = 0;
    for (size_t i = 0; i < m->n && k < n; i++) {
        const es_req_record_t *r = &m->recs[i];
        if (r->status != 200 || r->arrival < from || r->arrival > to || value_of(r, which) < 0) continue;
        if (stage != ES_ALL_STAGES && r->stage != stage) continue;
        arr[k] = r->arrival;
        idx[k++] = i;
    }
    /* insertion into arrival order: records are nearly sorted already */
    for (size_t i = 1; i < k; i++) {
        size_t j = i;
        es_time_t a = arr[i];
        size_t id = idx[i];
        while (j > 0 && (arr[j - 1] > a || (arr[j - 1] == a && m->recs[idx[j - 1]].id > m->recs[id].id))) {
            arr[j] = arr[j - 1];
            idx[j] = idx[j - 1];
            j--;
        }
        arr[j] = a;
        idx[j] = id;
    }
    double t = gsl_cdf_tdist_Pinv(0.975, (double)(nb - 1));
    double stat[5][1000];   /* per batch: fraction <= p_q (q < 4), mean (4) */
    for (int64_t b = 0; b < nb; b++) {
        size_t lo = (size_t)b * k / (size_t)nb, hi = (size_t)(b + 1) * k / (size_t)nb, c = hi - lo;
        double s = 0;
        size_t below[4] = {0};
        for (size_t i = lo; i < hi; i++) {
            double x = value_of(&m->recs[idx[i]], which);
            s += x;
            for (int q = 0; q < 4; q++) below[q] += x <= out->p[q];
        }
        for (int q = 0; q < 4; q++) stat[q][b] = c ? (double)below[q] / (double)c : 0;
        stat[4][b] = c ? s / (double)c : 0;
    }
    free(idx);
    free(arr);
    double half[5];
    for (int q = 0; q < 5; q++) {
        double mean = 0, var = 0;
        for (int64_t b = 0; b < nb; b++) mean += stat[q][b];
        mean /= (double)nb;
        for (int64_t b = 0; b < nb; b++) var += (stat[q][b] - mean) * (stat[q][b] - mean);
        var /= (double)(nb - 1);
        half[q] = t * sqrt(var / (double)nb);
        if (q == 4) { out->mean_ci[0] = mean - half[q]; out->mean_ci[1] = mean + half[q]; }
    }
    double per_batch = (double)k / (double)nb;
    for (int q = 0; q < 4; q++) {
        /* batches that expect fewer than 2 values beyond the quantile say
         * little about its spread: the i.i.d. width is then a floor */
        double p = k_q[q], h = half[q], iid = 1.959964 * sqrt(p * (1 - p) / (double)n);
        if (per_batch * (1 - p) < 2 && iid > h) h = iid;
        /* 1-based ranks floor(n(p - h)) and ceil(n(p + h)), clamped */
        double rl = floor((double)n * (p - h)), ru = ceil((double)n * (p + h));
        size_t il = rl < 1 ? 0 : (size_t)rl - 1, iu = ru > (double)n ? n - 1 : (size_t)ru - 1;
        out->ci[q][0] = sorted[il] < out->p[q] ? sorted[il] : out->p[q];
        out->ci[q][1] = sorted[iu] > out->p[q] ? sorted[iu] : out->p[q];
    }
}

void es_metrics_itl(const es_metrics_t *m, es_lat_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 4; i++) { out->p[i] = NAN; out->ci[i][0] = out->ci[i][1] = NAN; }
    out->mean = out->mean_ci[0] = out->mean_ci[1] = NAN;
    uint64_t total = 0;
    double sum = 0;
    for (uint32_t b = 0; b < ITL_BUCKETS; b++) {
        total += m->itl[b];
        sum += (double)m->itl[b] * itl_bucket_mid(b);
    }
    out->n = total;
    if (!total) return;
    out->mean = sum / (double)total / 1e6;
    for (int q = 0; q < 4; q++) {
        /* the value at rank q*(total-1), bucket midpoint */
        uint64_t rank = (uint64_t)(k_q[q] * (double)(total - 1)), seen = 0;
        for (uint32_t b = 0; b < ITL_BUCKETS; b++) {
            seen += m->itl[b];
            if (seen > rank) { out->p[q] = itl_bucket_mid(b) / 1e6; break; }
        }
    }
}

int es_metrics_add_stage_gaps(es_metrics_t *m, uint32_t stage, es_time_t gap, uint32_t count)
{
    if (gap < 0) return 0;
    if (stage >= m->nstage_itl) {
        uint64_t **h = realloc(m->stage_itl, (stage + 1) * sizeof *h);
        if (!h) return ES_ENOMEM;
        m->stage_itl = h;
        for (uint32_t i = m->nstage_itl; i <= stage; i++) h[i] = NULL;
        m->nstage_itl = stage + 1;
    }
    if (!m->stage_itl[stage] && !(m->stage_itl[stage] = calloc(ITL_BUCKETS, sizeof **m->stage_itl))) return ES_ENOMEM;
    m->stage_itl[stage][itl_bucket((uint64_t)gap)] += count;
    return 0;
}

void es_metrics_stage_itl(const es_metrics_t *m, uint32_t stage, uint64_t real, uint64_t extra, double extra_ns,
                          es_lat_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 4; i++) { out->p[i] = NAN; out->ci[i][0] = out->ci[i][1] = NAN; }
    out->mean = out->mean_ci[0] = out->mean_ci[1] = NAN;
    uint32_t eb = itl_bucket(extra_ns > 0 ? (uint64_t)extra_ns : 0);
    uint64_t recorded = 0;
    double sum = 0;
    for (uint32_t st = 0; st < m->nstage_itl; st++) {
        if ((stage != ES_ALL_STAGES && st != stage) || !m->stage_itl[st]) continue;
        for (uint32_t b = 0; b < ITL_BUCKETS; b++) {
            recorded += m->stage_itl[st][b];
            sum += (double)m->stage_itl[st][b] * itl_bucket_mid(b);
        }
    }
    /* the recorded gaps give the shape; `real` the count they stand for */
    double w = real && recorded ? (double)real / (double)recorded : 1;
    double total = (double)extra + w * (double)recorded;
    out->n = (uint64_t)llround(total);
    if (total <= 0) return;
    out->mean = (w * sum + (double)extra * extra_ns) / total / 1e6;
    for (int q = 0; q < 4; q++) {
        double rank = k_q[q] * (total - 1), seen = 0;
        for (uint32_t b = 0; b < ITL_BUCKETS; b++) {
            uint64_t c = 0;
            for (uint32_t st = 0; st < m->nstage_itl; st++)
                if ((stage == ES_ALL_STAGES || st == stage) && m->stage_itl[st]) c += m->stage_itl[st][b];
            seen += w * (double)c + (b == eb ? (double)extra : 0);
            if (seen > rank + 1e-9) { out->p[q] = itl_bucket_mid(b) / 1e6; break; }
        }
    }
}
