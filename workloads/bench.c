/*
 * bench.c -- benchmark clients replayed as workloads (bench.h).
 *
 * Content follows the client's data generators (inference-perf 7de5ef2 /
 * 3b6f82a, inference_perf/datagen/):
 *  - shared_prefix: G system prompts x U questions; the G*U prompts are
 *    shuffled once; request k of a stage sends prompt k mod G*U (the index
 *    restarts with every stage: run_stage calls get_data()/get_request(n)
 *    afresh).  Multi-turn chat (current build): prompt p is one user's
 *    session; round r sends context + prompt, the context starting as the
 *    system prompt and growing by prompt + answer after each success
 *    (apis/user_session.py); sessions are cleared between stages.
 *  - random: input/output lengths drawn once (total_count of each, normal,
 *    clipped, rounded: utils/distribution.py); request k uses entry
 *    k mod total_count; fresh random tokens every request.
 *  - synthetic: the same lengths; every prompt is the first L tokens of one
 *    corpus (a sonnet), so prompts share prefixes.
 *  - shareGPT: (input, output) lengths of a length file in order, wrapping,
 *    skipping records outside the distributions' [min, max].
 *  - conversation_replay: C conversations (slots); request k is slot
 *    k mod C, round k div C, turn round mod T_c; a slot starts a fresh
 *    conversation at turn 0 with the stage's shared system prompt plus its
 *    dynamic part; history grows as in multi-turn chat.
 * Re-tokenisation (a client counting the text it got back) is not
 * modelled: token counts are the configured ones.
 */
#include "bench.h"

#include <gsl/gsl_randist.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "es_gsl.h"
#include "es_str.h"
#include "es_trace.h"
#include "es_workload.h"
#include "es_inference_perf.h"
#include "es_vllm_bench.h"

/* Segment namespaces of bench content (never meet workload.c's). */
enum { BT_SYSTEM = 0x4201, BT_QUESTION, BT_RANDOM, BT_CORPUS, BT_FILE, BT_CONV_SHARED, BT_CONV_DYN,
       BT_CONV_TURN, BT_OUTPUT, BT_IMAGE, BT_GROUP_IMAGE };

static inline uint64_t bseg(uint64_t tag, uint64_t a, uint64_t b)
{
    return es_mix64(es_mix64(tag * 0xbf58476d1ce4e5b9ULL ^ a) ^ (b + 0x94d049bb133111ebULL));
}

typedef struct hist {
    es_segment_t *s;
    uint32_t      n, cap;
    uint64_t      conv;          /* conversation_replay: which conversation the slot is on */
} hist_t;

struct esi_bench {
    bool        vllm;             /* a vllm bench serve run (vb) rather than inference-perf (ip) */
    es_vb_config_t vb;
    es_ip_config_t ip;
    esi_cl_t   *load;
    uint64_t    seed;
    char       *path;
    char        client[160];
    double      timeout_s;
    double     *stage_rate;
    size_t      nstages;
    /* shared_prefix */
    uint64_t    gu;               /* prompts */
    uint64_t   *perm;             /* prompt p -> g * U + u */
    uint32_t   *sys_len;          /* per group */
    uint32_t   *q_len, *o_len;    /* per g * U + u */
    /* random / synthetic / shareGPT */
    uint32_t   *in_lens, *out_lens;
    uint64_t    nlens;
    /* conversation_replay */
    uint32_t   *conv_turns, *conv_dyn;
    uint32_t  **conv_in, **conv_out;
    /* sessions (multi-turn, conversations) */
    hist_t     *hist;
    uint64_t    nusers;
    uint32_t    cur_stage;        /* stage whose sessions are in hist */
    bool        sessions_started;
    uint64_t    made;
    double      prompt_scale;     /* random-token text grows when re-tokenised (workload.inference_perf.prompt_scale) */
    /* synthetic images: per length entry (synthetic) or prompt (shared_prefix), per group */
    uint8_t    *img_n, *gimg_n;
    char      **warnings;
    size_t      nwarnings;
};

/* ------------------------------------------------------------- helpers */

static uint32_t draw(const es_ip_dist_t *d, gsl_rng *g)
{
    double v = d->fixed || d->std_dev <= 0 ? d->mean : d->mean + gsl_ran_gaussian(g, d->std_dev);
    if (v < d->min) v = d->min;
    if (v > d->max) v = d->max;
    v = nearbyint(v);
    if (v < d->min) v = ceil(d->min);
    if (v > d->max) v = floor(d->max);
    return v < 0 ? 0 : (uint32_t)v;
}

/* Prompts of random tokens are decoded to text by the client and
 * re-tokenised by the server, which usually gives more tokens than asked
 * (../shared/validation: 591.6 for 100 + 466 with Llama-2's tokenizer). */
static uint32_t scaled(const esi_bench_t *b, uint32_t len)
{
    return b->prompt_scale == 1 ? len : (uint32_t)nearbyint((double)len * b->prompt_scale);
}

static gsl_rng *stream(uint64_t seed, uint64_t id, int purpose)
{
    es_rng_t r;
    es_rng_stream(&r, seed, ES_WL_ENTITY_WORKLOAD, 0x100 + id, purpose);
    return es_gsl_rng_new(&r);
}

static int add_warning(esi_bench_t *b, const char *msg)
{
    char **w = realloc(b->warnings, (b->nwarnings + 1) * sizeof *w);
    if (!w) return ES_ENOMEM;
    b->warnings = w;
    if (!(w[b->nwarnings] = es_strdup(msg))) return ES_ENOMEM;
    b->nwarnings++;
    return 0;
}

static int segs_reserve(es_segment_t **segs, uint32_t *cap, uint32_t n)
{
    if (n <= *cap) return 0;
    uint32_t c = *cap ? *cap : 8;
    while (c < n) c *= 2;
    es_segment_t *s = realloc(*segs, c * sizeof *s);
    if (!s) return ES_ENOMEM;
    *segs = s;
    *cap = c;
    return 0;
}

static int hist_push(hist_t *h, es_segment_t s)
{
    if (h->n == h->cap) {
        uint32_t c = h->cap ? h->cap * 2 : 8;
        es_segment_t *n = realloc(h->s, c * sizeof *n);
        if (!n) return ES_ENOMEM;
        h->s = n;
        h->cap = c;
    }
    h->s[h->n++] = s;
    return 0;
}

/* ------------------------------------------------------------- data */

static int setup_shared_prefix(esi_bench_t *b)
{
    const es_ip_config_t *c = &b->ip;
    uint64_t G = (uint64_t)c->groups, U = (uint64_t)c->users;
    b->gu = G * U;
    b->perm = malloc(b->gu * sizeof *b->perm);
    b->sys_len = malloc(G * sizeof *b->sys_len);
    b->q_len = malloc(b->gu * sizeof *b->q_len);
    b->o_len = malloc(b->gu * sizeof *b->o_len);
    gsl_rng *g = stream(b->seed, 1, ES_STREAM_LENGTHS);
    if (!b->perm || !b->sys_len || !b->q_len || !b->o_len || !g) { if (g) gsl_rng_free(g); return ES_ENOMEM; }
    for (uint64_t i = 0; i < G; i++) b->sys_len[i] = scaled(b, draw(&c->sys_len, g));
    for (uint64_t i = 0; i < b->gu; i++) b->q_len[i] = scaled(b, draw(&c->question_len, g));
    for (uint64_t i = 0; i < b->gu; i++) b->o_len[i] = draw(&c->output_len, g);
    gsl_rng_free(g);
    /* the one shuffle (random.shuffle / rng.permutation): Fisher-Yates */
    es_rng_t r;
    es_rng_stream(&r, b->seed, ES_WL_ENTITY_WORKLOAD, 0x101, ES_STREAM_CONTENT);
    for (uint64_t i = 0; i < b->gu; i++) b->perm[i] = i;
    for (uint64_t i = b->gu; i > 1; i--) {
        uint64_t j = es_rng_below(&r, i), t = b->perm[i - 1];
        b->perm[i - 1] = b->perm[j];
        b->perm[j] = t;
    }
    if (c->multi_turn) b->nusers = b->gu;
    return 0;
}

static int setup_lengths(esi_bench_t *b, es_err_t *err)
{
    const es_ip_config_t *c = &b->ip;
    if (c->data == ES_IP_DATA_SHAREGPT) {
        es_trace_t *t;
        int rc = es_trace_open(c->data_path, ES_TRACE_AUTO, 512, false, &t, err);
        if (rc < 0) return rc;
        es_trace_rec_t rec;
        uint64_t cap = 0;
        while ((rc = es_trace_next(t, &rec, err)) == 1) {
            if (c->has_input && (rec.input_tokens < c->input.min || rec.input_tokens > c->input.max)) continue;
            if (c->has_output && (rec.output_tokens < c->output.min || rec.output_tokens > c->output.max)) continue;
            if (b->nlens == cap) {
                cap = cap ? cap * 2 : 1024;
                uint32_t *a = realloc(b->in_lens, cap * sizeof *a), *o = a ? realloc(b->out_lens, cap * sizeof *o) : NULL;
                if (a) b->in_lens = a;
                if (!a || !o) { es_trace_close(t); return es_err_set(err, ES_ENOMEM, "out of memory"); }
                b->out_lens = o;
            }
            b->in_lens[b->nlens] = rec.input_tokens ? rec.input_tokens : 1;
            b->out_lens[b->nlens] = rec.output_tokens ? rec.output_tokens : 1;
            b->nlens++;
        }
        es_trace_close(t);
        if (rc < 0) return rc;
        if (b->nlens == 0) return es_err_set(err, ES_EINVAL, "%s: data.path: no record within the length limits", c->file);
        return 0;
    }
    /* random / synthetic: total_count lengths each (upstream requires it) */
    if (c->input.total_count == 0 || c->output.total_count == 0)
        return es_err_set(err, ES_EINVAL, "%s: data.input_distribution.total_count: random and synthetic data need "
                          "total_count in both distributions", c->file);
    b->nlens = (uint64_t)(c->input.total_count < c->output.total_count ? c->input.total_count : c->output.total_count);
    b->in_lens = malloc(b->nlens * sizeof *b->in_lens);
    b->out_lens = malloc(b->nlens * sizeof *b->out_lens);
    gsl_rng *g = stream(b->seed, 2, ES_STREAM_LENGTHS);
    if (!b->in_lens || !b->out_lens || !g) { if (g) gsl_rng_free(g); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    for (uint64_t i = 0; i < b->nlens; i++)
        b->in_lens[i] = c->data == ES_IP_DATA_RANDOM ? scaled(b, draw(&c->input, g)) : draw(&c->input, g);
    for (uint64_t i = 0; i < b->nlens; i++) b->out_lens[i] = draw(&c->output, g);
    for (uint64_t i = 0; i < b->nlens; i++) {
        if (b->in_lens[i] == 0) b->in_lens[i] = 1;
        if (b->out_lens[i] == 0) b->out_lens[i] = 1;
    }
    gsl_rng_free(g);
    return 0;
}

/* Image counts (data.multimodal, data.shared_prefix.multimodal), drawn from
 * their own stream so no length moves: a group's once (prefix_specs_by_group
 * in shared_prefix_datagen.py), a request's per length entry or prompt. */
static int setup_images(esi_bench_t *b)
{
    const es_ip_config_t *c = &b->ip;
    if (!c->images.on && !c->group_images.on) return 0;
    gsl_rng *g = stream(b->seed, 4, ES_STREAM_IMAGES);
    if (!g) return ES_ENOMEM;
    uint64_t per = c->data == ES_IP_DATA_SHARED_PREFIX ? b->gu : b->nlens, G = (uint64_t)c->groups;
    if (c->group_images.on && c->data == ES_IP_DATA_SHARED_PREFIX) {
        if (!(b->gimg_n = malloc(G))) { gsl_rng_free(g); return ES_ENOMEM; }
        for (uint64_t i = 0; i < G; i++) b->gimg_n[i] = (uint8_t)draw(&c->group_images.count, g);
    }
    if (c->images.on) {
        if (!(b->img_n = malloc(per ? per : 1))) { gsl_rng_free(g); return ES_ENOMEM; }
        for (uint64_t i = 0; i < per; i++) b->img_n[i] = (uint8_t)draw(&c->images.count, g);
    }
    gsl_rng_free(g);
    return 0;
}

static int setup_conversations(esi_bench_t *b)
{
    const es_ip_config_t *c = &b->ip;
    uint64_t C = (uint64_t)c->conv_count;
    b->conv_turns = calloc(C, sizeof *b->conv_turns);
    b->conv_dyn = calloc(C, sizeof *b->conv_dyn);
    b->conv_in = calloc(C, sizeof *b->conv_in);
    b->conv_out = calloc(C, sizeof *b->conv_out);
    gsl_rng *g = stream(b->seed, 3, ES_STREAM_LENGTHS);
    if (!b->conv_turns || !b->conv_dyn || !b->conv_in || !b->conv_out || !g) { if (g) gsl_rng_free(g); return ES_ENOMEM; }
    for (uint64_t i = 0; i < C; i++) {
        uint32_t t = draw(&c->conv_turns, g);
        b->conv_turns[i] = t ? t : 1;
        b->conv_dyn[i] = c->has_conv_dynamic ? scaled(b, draw(&c->conv_dynamic_len, g)) : 0;
        b->conv_in[i] = malloc(b->conv_turns[i] * sizeof **b->conv_in);
        b->conv_out[i] = malloc(b->conv_turns[i] * sizeof **b->conv_out);
        if (!b->conv_in[i] || !b->conv_out[i]) { gsl_rng_free(g); return ES_ENOMEM; }
        for (uint32_t k = 0; k < b->conv_turns[i]; k++) {
            uint32_t in = scaled(b, draw(&c->conv_input, g)), out = draw(&c->conv_output, g);
            b->conv_in[i][k] = in ? in : 1;
            b->conv_out[i][k] = out ? out : 1;
        }
    }
    gsl_rng_free(g);
    b->nusers = C;
    return 0;
}

/* ------------------------------------------------------------- load */

static int read_trace_times(const char *file, double **out, size_t *n, es_err_t *err)
{
    es_trace_t *t;
    int rc = es_trace_open(file, ES_TRACE_AZURE, 512, false, &t, err);
    if (rc < 0) return rc;
    es_trace_rec_t rec;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    while ((rc = es_trace_next(t, &rec, err)) == 1) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            double *a = realloc(*out, cap * sizeof *a);
            if (!a) { es_trace_close(t); return es_err_set(err, ES_ENOMEM, "out of memory"); }
            *out = a;
        }
        (*out)[(*n)++] = es_time_to_s(rec.t);
    }
    es_trace_close(t);
    if (rc < 0) return rc;
    if (*n == 0) return es_err_set(err, ES_EINVAL, "%s: load.trace: no request in the trace", file);
    return 0;
}

static int setup_ip_load(esi_bench_t *b, es_err_t *err)
{
    const es_ip_config_t *c = &b->ip;
    esi_cl_stage_t *st = calloc(c->nstages, sizeof *st);
    b->stage_rate = calloc(c->nstages, sizeof *b->stage_rate);
    if (!st || !b->stage_rate) { free(st); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    b->nstages = c->nstages;
    double *times = NULL;
    size_t ntimes = 0;
    int rc = 0;
    if (c->load == ES_IP_LOAD_TRACE_REPLAY && (rc = read_trace_times(c->trace_file, &times, &ntimes, err)) < 0) {
        free(st);
        return rc;
    }
    uint64_t cap = (uint64_t)es_ip_worker_cap(c);
    for (size_t i = 0; i < c->nstages; i++) {
        const es_ip_stage_t *s = &c->stages[i];
        b->stage_rate[i] = s->rate;
        switch (c->load) {
        case ES_IP_LOAD_POISSON: st[i] = (esi_cl_stage_t){ESI_TIMER_POISSON, s->rate, s->duration, 0, cap, 1}; break;
        case ES_IP_LOAD_CONCURRENT:
            /* main.py: rate = num_requests, duration = 1; the semaphores sum to concurrency_level */
            st[i] = (esi_cl_stage_t){ESI_TIMER_CONSTANT, (double)s->num_requests, 1, (uint64_t)s->num_requests,
                                     (uint64_t)s->concurrency_level, 1};
            b->stage_rate[i] = 0;
            break;
        case ES_IP_LOAD_TRACE_REPLAY: {
            uint64_t n = (uint64_t)(s->rate * s->duration);
            st[i] = (esi_cl_stage_t){ESI_TIMER_TIMES, s->rate, s->duration, n < ntimes ? n : ntimes, cap, 1};
            break;
        }
        default: st[i] = (esi_cl_stage_t){ESI_TIMER_CONSTANT, s->rate, s->duration, 0, cap, 1}; break;
        }
    }
    /* trace_replay: a stage replays the trace from its start, cut at floor(rate x duration) */
    esi_cl_config_t lc = {st, c->nstages, 1.0, c->interval, times, ntimes, b->nusers, b->seed};
    rc = esi_cl_create(&lc, &b->load, err);
    free(st);
    free(times);
    return rc;
}

/* ------------------------------------------------------------- create */

bool esi_bench_wanted(const es_workload_config_t *cfg)
{
    return (cfg->inference_perf && !es_node_is_null(cfg->inference_perf)) ||
           (cfg->vllm_bench && !es_node_is_null(cfg->vllm_bench));
}

/* vllm bench serve: one stage, gamma gaps (or all at once), the max-concurrency cap */
static int setup_vllm(esi_bench_t *b, const es_workload_config_t *cfg, const char *base_dir, es_err_t *err)
{
    if (cfg->inference_perf && !es_node_is_null(cfg->inference_perf))
        return es_node_err(err, ES_EINVAL, cfg->vllm_bench, "workload.vllm_bench",
                           "give workload.inference_perf or workload.vllm_bench, not both");
    int rc = es_vb_parse(cfg->vllm_bench, base_dir, b->seed, &b->vb, err);
    if (rc < 0) return rc;
    const es_vb_config_t *v = &b->vb;
    b->vllm = true;
    snprintf(b->client, sizeof b->client, "vllm bench serve (%s%s%s)", v->dataset,
             v->approximate ? ", lengths matched to the run's totals: approximate" : "",
             v->chat ? ", openai-chat" : "");
    if (v->approximate) {
        char w[512];
        snprintf(w, sizeof w, "%s: dataset sharegpt without the run's input_lens/output_lens: %llu ShareGPT "
                 "lengths rescaled to the run's totals (approximate)", v->file, (unsigned long long)v->num_prompts);
        if (add_warning(b, w) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    b->timeout_s = ES_VB_TIMEOUT_S;
    if (!(b->path = es_strdup(v->chat ? "/v1/chat/completions" : "/v1/completions")))
        return es_err_set(err, ES_ENOMEM, "out of memory");
    b->nlens = v->num_prompts;
    b->nstages = 1;
    if (!(b->stage_rate = calloc(1, sizeof *b->stage_rate))) return es_err_set(err, ES_ENOMEM, "out of memory");
    b->stage_rate[0] = v->request_rate;
    esi_cl_stage_t st = {ESI_TIMER_GAMMA, v->request_rate, 0, v->num_prompts, v->max_concurrency, v->burstiness};
    esi_cl_config_t lc = {&st, 1, 0, 0, NULL, 0, 0, b->seed};
    return esi_cl_create(&lc, &b->load, err);
}

/* The longest scaled length eppsim takes, the longest a distribution may name. */
#define IP_MAX_SCALED_LEN 1e9

/* The longest length draw() gives from d. */
static double dist_top(const es_ip_dist_t *d) { return fmax(ceil(d->min), floor(d->max)); }

/* Refuses a prompt_scale that would take a scaled length past
 * IP_MAX_SCALED_LEN (and past uint32: a cast out of range). */
static int check_scaled(const es_node_t *ps, es_ip_config_t *c, double scale, es_err_t *err)
{
    const char *name = NULL;
    double top = 0;
#define TOP(v, what) do { if ((v) > top) { top = (v); name = (what); } } while (0)
    if (c->data == ES_IP_DATA_RANDOM) TOP(dist_top(&c->input), "data.input_distribution");
    if (c->data == ES_IP_DATA_SHARED_PREFIX) {
        TOP(dist_top(&c->sys_len), "data.shared_prefix.system_prompt_len");
        TOP(dist_top(&c->question_len), "data.shared_prefix.question_len");
    }
    if (c->data == ES_IP_DATA_CONVERSATION_REPLAY) {
        if (c->has_conv_dynamic) TOP(dist_top(&c->conv_dynamic_len), "data.conversation_replay.dynamic_system_prompt_len");
        TOP(dist_top(&c->conv_input), "data.conversation_replay.input_tokens_per_turn");
        TOP((double)c->conv_shared_len, "data.conversation_replay.shared_system_prompt_len");
    }
#undef TOP
    if (!name || top * scale <= IP_MAX_SCALED_LEN) return 0;
    es_ip_fini(c);   /* the caller frees nothing of a config that failed */
    return es_node_err(err, ES_ERANGE, ps, "workload.inference_perf.prompt_scale",
                       "%g makes %s (up to %.0f tokens) %.3g tokens long (at most %.0f)", scale, name, top,
                       top * scale, IP_MAX_SCALED_LEN);
}

static int load_ip_node(const es_node_t *n, const char *base_dir, es_ip_config_t *ip, double *prompt_scale,
                        es_err_t *err)
{
    static const char *const wrap_keys[] = {"file", "config", "version", "prompt_scale", NULL};
    int version = ES_IP_CURRENT;
    *prompt_scale = 1;
    const es_node_t *file = NULL, *inline_cfg = NULL;
    if (n->kind == ES_NODE_SCALAR) file = n;
    else if (n->kind == ES_NODE_MAP && (es_map_get(n, "file") || es_map_get(n, "config") || es_map_get(n, "version"))) {
        int rc = es_map_check_keys(n, "workload.inference_perf", wrap_keys, err);
        if (rc < 0) return rc;
        const es_node_t *ps = es_map_get(n, "prompt_scale");
        if (ps && (rc = es_node_to_double(ps, "workload.inference_perf.prompt_scale", 0.1, 10, prompt_scale, err)) < 0)
            return rc;
        const es_node_t *v = es_map_get(n, "version");
        if (v) {
            const char *s;
            if ((rc = es_node_to_str(v, "workload.inference_perf.version", &s, err)) < 0) return rc;
            if ((version = es_ip_version_parse(s)) < 0)
                return es_node_err(err, ES_EINVAL, v, "workload.inference_perf.version",
                                   "unknown version \"%s\" (known: current, 2025-10, 2025-11)", s);
        }
        file = es_map_get(n, "file");
        inline_cfg = es_map_get(n, "config");
        if (!!file == !!inline_cfg)
            return es_node_err(err, ES_EINVAL, n, "workload.inference_perf", "give exactly one of file and config");
    } else if (n->kind == ES_NODE_MAP) inline_cfg = n;
    else return es_node_err(err, ES_EINVAL, n, "workload.inference_perf",
                            "expected a path, an inline inference-perf config, or {file|config, version}");
    const es_node_t *ps = n->kind == ES_NODE_MAP ? es_map_get(n, "prompt_scale") : NULL;
    if (inline_cfg) {
        int rc = es_ip_parse(inline_cfg, version, base_dir, ip, err);
        return rc < 0 || !ps ? rc : check_scaled(ps, ip, *prompt_scale, err);
    }
    const char *s;
    int rc = es_node_to_str(file, "workload.inference_perf.file", &s, err);
    if (rc < 0) return rc;
    char path[4096];
    esi_resolve(base_dir, s, path, sizeof path);
    rc = es_ip_load_file(path, version, ip, err);
    size_t pl = strlen(path);
    if (rc < 0 && strncmp(err->msg, path, pl) == 0 && err->msg[pl] == ':' && err->msg[pl + 1] == ' ') {
        /* the file could not be read at all (no line in it): name the experiment's line instead */
        char m[ES_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", err->msg);
        return es_node_err(err, rc, file, n->kind == ES_NODE_MAP ? "workload.inference_perf.file"
                                                                 : "workload.inference_perf", "%s", m);
    }
    return rc < 0 || !ps ? rc : check_scaled(ps, ip, *prompt_scale, err);
}

int esi_bench_create(const es_workload_config_t *cfg, const char *base_dir, uint64_t seed,
                     esi_bench_t **out, es_err_t *err)
{
    *out = NULL;
    esi_bench_t *b = calloc(1, sizeof *b);
    if (!b) return es_err_set(err, ES_ENOMEM, "out of memory");
    int rc;
    if (cfg->vllm_bench && !es_node_is_null(cfg->vllm_bench)) {
        b->seed = seed;
        if ((rc = setup_vllm(b, cfg, base_dir, err)) < 0) goto fail;
        *out = b;
        return 0;
    }
    rc = load_ip_node(cfg->inference_perf, base_dir, &b->ip, &b->prompt_scale, err);
    if (rc < 0) { free(b); return rc; }
    es_ip_config_t *c = &b->ip;
    /* the data seed, when the file pins one, seeds the content streams (not the arrivals) */
    b->seed = seed;
    for (size_t i = 0; i < c->nwarnings; i++)
        if (add_warning(b, c->warnings[i]) < 0) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    snprintf(b->client, sizeof b->client, "inference-perf %s (%s)", es_ip_version_name(c->version),
             es_ip_version_commit(c->version));
    b->timeout_s = es_ip_timeout_s(c);
    if (!(b->path = es_strdup(c->chat ? "/v1/chat/completions" : "/v1/completions"))) {
        rc = es_err_set(err, ES_ENOMEM, "out of memory");
        goto fail;
    }
    switch (c->data) {
    case ES_IP_DATA_SHARED_PREFIX: rc = setup_shared_prefix(b); break;
    case ES_IP_DATA_CONVERSATION_REPLAY: rc = setup_conversations(b); break;
    default: rc = setup_lengths(b, err); break;
    }
    if (rc == 0) rc = setup_images(b);
    if (rc == ES_ENOMEM) rc = es_err_set(err, ES_ENOMEM, "out of memory");
    if (rc < 0) goto fail;
    if (b->nusers && !(b->hist = calloc(b->nusers, sizeof *b->hist))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    if ((rc = setup_ip_load(b, err)) < 0) goto fail;
    *out = b;
    return 0;
fail:
    esi_bench_destroy(b);
    return rc;
}

void esi_bench_destroy(esi_bench_t *b)
{
    if (!b) return;
    if (b->conv_in)
        for (int64_t i = 0; i < b->ip.conv_count; i++) { free(b->conv_in[i]); free(b->conv_out[i]); }
    free(b->conv_in); free(b->conv_out); free(b->conv_turns); free(b->conv_dyn);
    for (uint64_t i = 0; b->hist && i < b->nusers; i++) free(b->hist[i].s);
    free(b->hist);
    free(b->perm); free(b->sys_len); free(b->q_len); free(b->o_len);
    free(b->in_lens); free(b->out_lens);
    free(b->img_n); free(b->gimg_n);
    free(b->stage_rate);
    esi_cl_destroy(b->load);
    es_vb_fini(&b->vb);
    for (size_t i = 0; i < b->nwarnings; i++) free(b->warnings[i]);
    free(b->warnings);
    free(b->path);
    es_ip_fini(&b->ip);
    free(b);
}

/* ------------------------------------------------------------- requests */

/* Sessions start over with every stage (LocalUserSession.clear_instances). */
static int reset_sessions(esi_bench_t *b, uint32_t stage)
{
    const es_ip_config_t *c = &b->ip;
    for (uint64_t u = 0; u < b->nusers; u++) {
        hist_t *h = &b->hist[u];
        h->n = 0;
        h->conv = 0;
        int rc;
        if (c->data == ES_IP_DATA_SHARED_PREFIX) {
            uint64_t g = b->perm[u] / (uint64_t)c->users;
            rc = hist_push(h, (es_segment_t){bseg(BT_SYSTEM, g, 0), b->sys_len[g]});
        } else {
            rc = hist_push(h, (es_segment_t){bseg(BT_CONV_SHARED, stage, 0), scaled(b, (uint32_t)c->conv_shared_len)});
            if (rc == 0 && b->conv_dyn[u]) rc = hist_push(h, (es_segment_t){bseg(BT_CONV_DYN, u, 0), b->conv_dyn[u]});
        }
        if (rc < 0) return rc;
    }
    b->cur_stage = stage;
    b->sessions_started = true;
    return 0;
}

int esi_bench_next(esi_bench_t *b, es_time_t now, esi_bench_req_t *r, es_segment_t **segs,
                   uint32_t *cap, uint32_t *nsegs, es_err_t *err)
{
    int rc = esi_cl_next(b->load, now, &r->item);
    if (rc == -2) return es_err_set(err, ES_ENOMEM, "out of memory");
    if (rc <= 0) return rc;
    const es_ip_config_t *c = &b->ip;
    const esi_cl_item_t *it = &r->item;
    uint64_t key = b->made++;
    r->output_segment = bseg(BT_OUTPUT, b->seed, key);
    r->nimg = 0;
    uint32_t n = 0;
    if (b->vllm) {
        /* request k: the chat template's tokens (shared), then the prompt's own */
        const es_vb_config_t *v = &b->vb;
        if (segs_reserve(segs, cap, 2) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        if (v->chat_template_tokens) (*segs)[n++] = (es_segment_t){bseg(BT_SYSTEM, 0xc4a7, 0), v->chat_template_tokens};
        (*segs)[n++] = (es_segment_t){bseg(BT_RANDOM, b->seed, key), v->input_lens[it->k]};
        r->output_tokens = v->output_lens[it->k];
        *nsegs = n;
        return 1;
    }
    if (b->nusers && (!b->sessions_started || b->cur_stage != it->stage) && reset_sessions(b, it->stage) < 0)
        return es_err_set(err, ES_ENOMEM, "out of memory");
    switch (c->data) {
    case ES_IP_DATA_SHARED_PREFIX: {
        uint64_t p = it->k % b->gu, o = b->perm[p], g = o / (uint64_t)c->users;
        const hist_t *h = b->nusers ? &b->hist[p] : NULL;
        uint32_t extra = h ? h->n : 0;
        if (segs_reserve(segs, cap, extra + 2) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        if (h) { memcpy(*segs, h->s, h->n * sizeof **segs); n = h->n; }
        (*segs)[n++] = (es_segment_t){bseg(BT_SYSTEM, g, 0), b->sys_len[g]};
        (*segs)[n++] = (es_segment_t){bseg(BT_QUESTION, o, 0), b->q_len[o]};
        r->output_tokens = b->o_len[o];
        /* the group's images are the same ones for each of its prompts (prefix_cache_key = group) */
        for (uint32_t j = 0; b->gimg_n && j < b->gimg_n[g]; j++) r->img[r->nimg++] = bseg(BT_GROUP_IMAGE, g, j);
        for (uint32_t j = 0; b->img_n && j < b->img_n[o]; j++) r->img[r->nimg++] = bseg(BT_IMAGE, b->seed ^ key, j);
        break;
    }
    case ES_IP_DATA_CONVERSATION_REPLAY: {
        uint64_t C = (uint64_t)c->conv_count, slot = it->k % C, round = it->k / C;
        uint32_t turn = (uint32_t)(round % b->conv_turns[slot]);
        hist_t *h = &b->hist[slot];
        if (turn == 0 && round > 0) {   /* the slot starts a fresh conversation */
            h->n = 0;
            h->conv++;
            if (hist_push(h, (es_segment_t){bseg(BT_CONV_SHARED, it->stage, 0), scaled(b, (uint32_t)c->conv_shared_len)}) < 0 ||
                (b->conv_dyn[slot] && hist_push(h, (es_segment_t){bseg(BT_CONV_DYN, slot, 0), b->conv_dyn[slot]}) < 0))
                return es_err_set(err, ES_ENOMEM, "out of memory");
        }
        if (segs_reserve(segs, cap, h->n + 1) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        memcpy(*segs, h->s, h->n * sizeof **segs);
        n = h->n;
        (*segs)[n++] = (es_segment_t){bseg(BT_CONV_TURN, slot, turn), b->conv_in[slot][turn]};
        r->output_tokens = b->conv_out[slot][turn];
        break;
    }
    default: {
        /* random and synthetic: entry k of the drawn lengths; shareGPT: the file in order */
        uint64_t i = c->data == ES_IP_DATA_SHAREGPT ? key % b->nlens : it->k % b->nlens;
        if (segs_reserve(segs, cap, 1) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
        uint64_t id = c->data == ES_IP_DATA_SYNTHETIC ? bseg(BT_CORPUS, 0, 0)
                      : c->data == ES_IP_DATA_SHAREGPT ? bseg(BT_FILE, i, 0) : bseg(BT_RANDOM, b->seed, key);
        (*segs)[n++] = (es_segment_t){id, b->in_lens[i]};
        r->output_tokens = b->out_lens[i];
        /* synthetic images: fresh random pixels per request (multimodal_datagen.py), so unique */
        for (uint32_t j = 0; b->img_n && j < b->img_n[i]; j++) r->img[r->nimg++] = bseg(BT_IMAGE, b->seed ^ key, j);
        break;
    }
    }
    /* segments of zero tokens (a 0-token system prompt) are dropped */
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) if ((*segs)[i].len) (*segs)[m++] = (*segs)[i];
    if (m == 0) { (*segs)[0] = (es_segment_t){bseg(BT_RANDOM, b->seed, key), 1}; m = 1; }
    if (r->output_tokens == 0) r->output_tokens = 1;
    *nsegs = m;
    return 1;
}

es_time_t esi_bench_next_time(const esi_bench_t *b) { return esi_cl_next_time(b->load); }

int esi_bench_on_complete(esi_bench_t *b, const esi_bench_req_t *r, int status, es_time_t t)
{
    const es_ip_config_t *c = &b->ip;
    int rc = 0;
    if (b->nusers && status == 200 && b->sessions_started && r->item.stage == b->cur_stage) {
        /* the answer joins the history: context + this turn's prompt + the output */
        hist_t *h = &b->hist[r->item.user];
        if (c->data == ES_IP_DATA_SHARED_PREFIX) {
            uint64_t o = b->perm[r->item.user], g = o / (uint64_t)c->users;
            if ((rc = hist_push(h, (es_segment_t){bseg(BT_SYSTEM, g, 0), b->sys_len[g]})) == 0)
                rc = hist_push(h, (es_segment_t){bseg(BT_QUESTION, o, 0), b->q_len[o]});
        } else {
            uint64_t C = (uint64_t)c->conv_count, slot = r->item.k % C;
            uint32_t turn = (uint32_t)((r->item.k / C) % b->conv_turns[slot]);
            rc = hist_push(h, (es_segment_t){bseg(BT_CONV_TURN, slot, turn), b->conv_in[slot][turn]});
        }
        if (rc == 0) rc = hist_push(h, (es_segment_t){r->output_segment, r->output_tokens});
    }
    esi_cl_on_complete(b->load, &r->item, t);
    return rc;
}

size_t esi_bench_stage_count(const esi_bench_t *b) { return b->nstages; }

void esi_bench_stage(const esi_bench_t *b, size_t i, double *rate, es_time_t *start, es_time_t *end)
{
    if (rate) *rate = b->stage_rate[i];
    esi_cl_stage_times(b->load, i, start, end);
}

const char *esi_bench_path(const esi_bench_t *b) { return b->path; }
double esi_bench_timeout_s(const esi_bench_t *b) { return b->timeout_s; }
const char *esi_bench_server_model(const esi_bench_t *b) { return b->vllm ? NULL : b->ip.model_name; }
size_t esi_bench_warning_count(const esi_bench_t *b) { return b->nwarnings; }
const char *esi_bench_warning(const esi_bench_t *b, size_t i) { return i < b->nwarnings ? b->warnings[i] : NULL; }
const char *esi_bench_client(const esi_bench_t *b) { return b->client; }

void esi_bench_stamps(const esi_bench_t *b, bool *streaming, uint32_t *per_token, uint32_t *trailing)
{
    /* 2025-10 (apis/completion.py process_response): one stamp per line of
     * the SSE body, blank separators and `data: [DONE]` included; the
     * current build stamps text-bearing chunks only (apis/streaming_parser.py) */
    bool old = !b->vllm && b->ip.version == ES_IP_2025_10;
    *streaming = b->vllm || b->ip.streaming;
    *per_token = old ? 2 : 1;
    *trailing = old ? 2 : 0;
}
