/*
 * vllm_bench.c -- `vllm bench serve` settings and result JSON (vllm_bench.h).
 */
#include "es_vllm_bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "es_paths.h"
#include "es_rng.h"
#include "es_str.h"
#include "es_trace.h"

#define VB_SHAREGPT_FILE "traces/sharegpt-lengths/sharegpt_8k_filtered_stats_llama2_tokenizer.csv"

static const char *const k_keys[] = {"result", "dataset", "num_prompts", "random_input_len", "random_output_len",
                                     "random_range_ratio", "request_rate", "burstiness", "max_concurrency",
                                     "backend", "chat_template_tokens", "total_input_tokens",
                                     "total_output_tokens", NULL};

typedef struct vb_src {
    const es_node_t *keys;        /* workload.vllm_bench */
    const es_node_t *result;      /* the result JSON's root, or NULL */
} vb_src_t;

/* A key from the settings, else from the result JSON. */
static const es_node_t *pick(const vb_src_t *s, const char *name, const char *result_name, char *path, size_t size)
{
    const es_node_t *n = es_map_get(s->keys, name);
    if (n && !es_node_is_null(n)) { snprintf(path, size, "workload.vllm_bench.%s", name); return n; }
    n = s->result && result_name ? es_map_get(s->result, result_name) : NULL;
    if (n && !es_node_is_null(n)) { snprintf(path, size, "%s", result_name); return n; }
    return NULL;
}

static int get_num(const vb_src_t *s, const char *name, const char *rname, double lo, double hi, double *out,
                   bool *found, es_err_t *err)
{
    char path[128];
    const es_node_t *n = pick(s, name, rname, path, sizeof path);
    if (found) *found = n != NULL;
    if (!n) return 0;
    return es_node_to_double(n, path, lo, hi, out, err);
}

/* The longest request length eppsim takes from a vllm bench result, read or
 * rescaled to the result's totals. */
#define VB_MAX_LEN 100000000.0

static int read_lens(const es_node_t *a, const char *path, uint64_t n, uint32_t *out, es_err_t *err)
{
    if (a->kind != ES_NODE_SEQ || a->n != n)
        return es_node_err(err, ES_EINVAL, a, path, "expected a list of %llu lengths", (unsigned long long)n);
    for (size_t i = 0; i < a->n; i++) {
        int64_t v;
        int rc = es_node_to_i64(a->items[i], path, 0, (int64_t)VB_MAX_LEN, &v, err);
        if (rc < 0) return rc;
        out[i] = (uint32_t)v;
    }
    return 0;
}

/* sharegpt without saved lengths: vLLM's filter over the bundled lengths, a
 * seeded sample of n, each side rescaled to its total. */
static int sharegpt_sample(es_vb_config_t *c, uint64_t seed, double tin, double tout, const vb_src_t *s,
                           es_err_t *err)
{
    char file[4096];
    es_data_path(file, sizeof file, VB_SHAREGPT_FILE);
    es_trace_t *t;
    int rc = es_trace_open(file, ES_TRACE_SHAREGPT, 512, false, &t, err);
    if (rc < 0) return rc;
    uint32_t *pi = NULL, *po = NULL;
    size_t np = 0, cap = 0;
    es_trace_rec_t rec;
    while ((rc = es_trace_next(t, &rec, err)) == 1) {
        if (rec.input_tokens < 4 || rec.output_tokens < 4 || rec.input_tokens > 1024 ||
            rec.input_tokens + rec.output_tokens > 2048)
            continue;
        if (np == cap) {
            cap = cap ? cap * 2 : 4096;
            uint32_t *a = realloc(pi, cap * sizeof *a);
            if (a) pi = a;
            uint32_t *b = a ? realloc(po, cap * sizeof *b) : NULL;
            if (!a || !b) { es_trace_close(t); free(pi); return es_err_set(err, ES_ENOMEM, "out of memory"); }
            po = b;
        }
        pi[np] = rec.input_tokens;
        po[np++] = rec.output_tokens;
    }
    es_trace_close(t);
    if (rc < 0 || np == 0) {
        free(pi); free(po);
        return rc < 0 ? rc : es_err_set(err, ES_EINVAL, "%s: no ShareGPT record passes vLLM's filter", file);
    }
    es_rng_t r;
    es_rng_stream(&r, seed, 0x574c00, 0x200, 3);
    double si = 0, so = 0;
    uint32_t max_in = 0, max_out = 0;
    for (uint64_t i = 0; i < c->num_prompts; i++) {
        uint64_t k = es_rng_below(&r, np);
        c->input_lens[i] = pi[k];
        c->output_lens[i] = po[k];
        si += pi[k];
        so += po[k];
        if (pi[k] > max_in) max_in = pi[k];
        if (po[k] > max_out) max_out = po[k];
    }
    free(pi);
    free(po);
    const char *const side[2] = {"total_input_tokens", "total_output_tokens"};
    const double scaled[2] = {tin > 0 ? max_in * tin / si : 0, tout > 0 ? max_out * tout / so : 0};
    for (int k = 0; k < 2; k++) {
        if (scaled[k] <= VB_MAX_LEN) continue;
        char path[128];
        const es_node_t *n = pick(s, side[k], side[k], path, sizeof path);
        return es_node_err(err, ES_EINVAL, n, path,
                           "%.0f tokens over %llu prompts would make a ShareGPT request %.3g tokens long "
                           "(at most %.0f)",
                           k ? tout : tin, (unsigned long long)c->num_prompts, scaled[k], VB_MAX_LEN);
    }
    for (uint64_t i = 0; i < c->num_prompts; i++) {
        if (tin > 0) c->input_lens[i] = (uint32_t)fmax(1, nearbyint(c->input_lens[i] * tin / si));
        if (tout > 0) c->output_lens[i] = (uint32_t)fmax(1, nearbyint(c->output_lens[i] * tout / so));
    }
    c->approximate = true;
    return 0;
}

int es_vb_parse(const es_node_t *n, const char *base_dir, uint64_t seed, es_vb_config_t *c, es_err_t *err)
{
    memset(c, 0, sizeof *c);
    c->burstiness = 1;
    es_doc_t *rdoc = NULL;
    int rc = es_node_expect_map(n, "workload.vllm_bench", err);
    if (rc < 0) return rc;
    if ((rc = es_map_check_keys(n, "workload.vllm_bench", k_keys, err)) < 0) return rc;
    vb_src_t s = {n, NULL};
    const es_node_t *rn = es_map_get(n, "result");
    if (rn) {
        const char *rel;
        if ((rc = es_node_to_str(rn, "workload.vllm_bench.result", &rel, err)) < 0) return rc;
        char path[4096];
        esi_resolve(base_dir, rel, path, sizeof path);
        if ((rc = es_doc_load_file(path, &rdoc, err)) < 0) {
            size_t pl = strlen(path);
            if (strncmp(err->msg, path, pl) || err->msg[pl] != ':' || err->msg[pl + 1] != ' ') return rc;
            /* unreadable as a whole (no line in it): name the experiment's line */
            char m[ES_ERR_MSG_MAX];
            snprintf(m, sizeof m, "%s", err->msg);
            return es_node_err(err, rc, rn, "workload.vllm_bench.result", "%s", m);
        }
        if (!rdoc->root || rdoc->root->kind != ES_NODE_MAP) {
            es_doc_destroy(rdoc);
            return es_node_err(err, ES_EINVAL, rn, "workload.vllm_bench.result",
                               "%s: expected a vllm bench serve result (a JSON object)", path);
        }
        s.result = rdoc->root;
        c->file = es_strdup(path);
    } else {
        c->file = es_strdup(n->doc ? n->doc->file : "workload.vllm_bench");
    }
    if (!c->file) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto out; }
    char path[128];
    /* dataset: given, or sharegpt/random as the result's label says nothing: default random */
    const es_node_t *d = pick(&s, "dataset", "dataset_name", path, sizeof path);
    snprintf(c->dataset, sizeof c->dataset, "random");
    if (d) {
        static const char *const ds[] = {"random", "sharegpt", NULL};
        int v;
        if ((rc = es_node_to_enum(d, path, ds, &v, err)) < 0) goto out;
        snprintf(c->dataset, sizeof c->dataset, "%s", ds[v]);
    }
    double np = 0, rate = 0, burst = 1, conc = 0, in_len = 1024, out_len = 128, range = 0, tin = 0, tout = 0;
    double tmpl = -1;
    bool found;
    if ((rc = get_num(&s, "num_prompts", "num_prompts", 1, 1e8, &np, &found, err)) < 0) goto out;
    if (!found) {
        const es_node_t *cn = s.result ? es_map_get(s.result, "completed") : NULL;
        if (cn) { if ((rc = es_node_to_double(cn, "completed", 1, 1e8, &np, err)) < 0) goto out; }
        else np = 1000;   /* vllm bench serve's default */
    }
    /* request_rate: a number, or inf (the default; the result writes "inf") */
    const es_node_t *rr = pick(&s, "request_rate", "request_rate", path, sizeof path);
    if (rr && !(rr->str && (strcmp(rr->str, "inf") == 0 || strcmp(rr->str, "Infinity") == 0 || strcmp(rr->str, ".inf") == 0)))
        if ((rc = es_node_to_double(rr, path, 1e-9, 1e12, &rate, err)) < 0) goto out;
    if ((rc = get_num(&s, "burstiness", "burstiness", 1e-6, 1e6, &burst, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "max_concurrency", "max_concurrency", 1, 1e9, &conc, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "random_input_len", NULL, 1, 1e8, &in_len, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "random_output_len", NULL, 1, 1e8, &out_len, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "random_range_ratio", NULL, 0, 0.999999, &range, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "total_input_tokens", "total_input_tokens", 0, 1e15, &tin, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "total_output_tokens", "total_output_tokens", 0, 1e15, &tout, NULL, err)) < 0) goto out;
    if ((rc = get_num(&s, "chat_template_tokens", NULL, 0, 1e6, &tmpl, &found, err)) < 0) goto out;
    const es_node_t *be = pick(&s, "backend", "backend", path, sizeof path);
    if (!be) be = pick(&s, "backend", "endpoint_type", path, sizeof path);
    if (be) {
        static const char *const bs[] = {"openai", "openai-chat", "vllm", NULL};
        int v;
        if ((rc = es_node_to_enum(be, path, bs, &v, err)) < 0) goto out;
        c->chat = v == 1;
    }
    c->num_prompts = (uint64_t)np;
    c->request_rate = rate;
    c->burstiness = burst;
    c->max_concurrency = (uint64_t)conc;
    c->chat_template_tokens = tmpl >= 0 ? (uint32_t)tmpl : c->chat ? 9 : 0;
    c->input_lens = malloc(c->num_prompts * sizeof *c->input_lens);
    c->output_lens = malloc(c->num_prompts * sizeof *c->output_lens);
    if (!c->input_lens || !c->output_lens) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto out; }
    const es_node_t *il = s.result ? es_map_get(s.result, "input_lens") : NULL;
    const es_node_t *ol = s.result ? es_map_get(s.result, "output_lens") : NULL;
    if (il && ol) {   /* --save-detailed: the run's own lengths */
        if ((rc = read_lens(il, "input_lens", c->num_prompts, c->input_lens, err)) < 0) goto out;
        if ((rc = read_lens(ol, "output_lens", c->num_prompts, c->output_lens, err)) < 0) goto out;
        for (uint64_t i = 0; i < c->num_prompts; i++) {
            if (!c->input_lens[i]) c->input_lens[i] = 1;
            if (!c->output_lens[i]) c->output_lens[i] = 1;
        }
    } else if (strcmp(c->dataset, "sharegpt") == 0) {
        if ((rc = sharegpt_sample(c, seed, tin, tout, &s, err)) < 0) goto out;
    } else {
        /* random: lengths uniform in [len (1 - r), len (1 + r)] (fixed at r = 0) */
        es_rng_t r;
        es_rng_stream(&r, seed, 0x574c00, 0x201, 2);
        for (uint64_t i = 0; i < c->num_prompts; i++) {
            double a = range > 0 ? in_len * (1 - range) + es_rng_uniform(&r) * 2 * range * in_len : in_len;
            double b = range > 0 ? out_len * (1 - range) + es_rng_uniform(&r) * 2 * range * out_len : out_len;
            c->input_lens[i] = (uint32_t)fmax(1, floor(a));
            c->output_lens[i] = (uint32_t)fmax(1, floor(b));
        }
    }
    rc = 0;
out:
    es_doc_destroy(rdoc);
    if (rc < 0) es_vb_fini(c);
    return rc;
}

void es_vb_fini(es_vb_config_t *c)
{
    if (!c) return;
    free(c->input_lens);
    free(c->output_lens);
    free(c->file);
    memset(c, 0, sizeof *c);
}
