/*
 * steptime.c -- GPU profiles (loading, interpolation) and the step-time models.
 */
#include "es_steptime.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "es_doc.h"
#include "es_paths.h"
#include "es_util.h"

/* ---- tables ---- */

/* Piecewise linear; flat below the first point, linear extrapolation past the last. */
double es_table1_eval(const es_table1_t *t, double x)
{
    if (t->n == 0) return 0.0;
    if (t->n == 1 || x <= t->x[0]) return t->y[0];
    uint32_t lo = 0, hi = t->n - 1;
    if (x >= t->x[hi]) {
        lo = hi - 1;
    } else {
        while (hi - lo > 1) {
            uint32_t mid = (lo + hi) / 2;
            if (t->x[mid] <= x) lo = mid; else hi = mid;
        }
    }
    hi = lo + 1;
    double f = (x - t->x[lo]) / (t->x[hi] - t->x[lo]);
    double y = t->y[lo] + f * (t->y[hi] - t->y[lo]);
    return y > 0 ? y : 0;
}

double es_table2_eval(const es_table2_t *t, double key, double x)
{
    if (t->nrows == 0) return 0.0;
    if (t->nrows == 1 || key <= t->key[0]) return es_table1_eval(&t->row[0], x);
    uint32_t lo = 0, hi = t->nrows - 1;
    if (key >= t->key[hi]) {
        lo = hi - 1;
    } else {
        while (hi - lo > 1) {
            uint32_t mid = (lo + hi) / 2;
            if (t->key[mid] <= key) lo = mid; else hi = mid;
        }
    }
    hi = lo + 1;
    double a = es_table1_eval(&t->row[lo], x), b = es_table1_eval(&t->row[hi], x);
    double f = (key - t->key[lo]) / (t->key[hi] - t->key[lo]);
    double y = a + f * (b - a);
    return y > 0 ? y : 0;
}

static void table1_free(es_table1_t *t) { free(t->x); free(t->y); t->x = t->y = NULL; t->n = 0; }
static void table2_free(es_table2_t *t)
{
    for (uint32_t i = 0; i < t->nrows; i++) table1_free(&t->row[i]);
    free(t->row); free(t->key);
    t->row = NULL; t->key = NULL; t->nrows = 0;
}

/* Median column of a row: [key..., median, min, max]. */
static int row_num(const cJSON *row, int i, double *out)
{
    const cJSON *v = cJSON_GetArrayItem(row, i);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return -1;   /* 1e999 parses as inf */
    *out = v->valuedouble;
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const double *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Reads `[x, median, ...]` rows (nkey = 1) or `[key, x, median, ...]` rows
 * (nkey = 2) into sorted (key, x, y) triples; rows with a null median (a
 * failed measurement) are skipped. */
static int read_rows(const cJSON *arr, int nkey, double **out, uint32_t *n)
{
    if (!cJSON_IsArray(arr)) return -1;
    int cnt = cJSON_GetArraySize(arr);
    double *v = calloc((size_t)(cnt > 0 ? cnt : 1), 3 * sizeof *v);
    if (!v) return -1;
    uint32_t k = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, arr) {
        double key = 0, x, y;
        if (nkey == 2 && row_num(row, 0, &key) != 0) { free(v); return -1; }
        if (row_num(row, nkey - 1, &x) != 0) { free(v); return -1; }
        if (cJSON_IsNull(cJSON_GetArrayItem(row, nkey))) continue;   /* failed point */
        if (row_num(row, nkey, &y) != 0) { free(v); return -1; }
        v[3 * k] = key; v[3 * k + 1] = x; v[3 * k + 2] = y;
        k++;
    }
    qsort(v, k, 3 * sizeof *v, cmp_pair);
    *out = v; *n = k;
    return 0;
}

static int build1(const cJSON *arr, es_table1_t *t)
{
    double *v; uint32_t n;
    if (read_rows(arr, 1, &v, &n) != 0) return -1;
    if (n == 0) { free(v); return -1; }   /* every point failed */
    t->x = malloc(n * sizeof *t->x); t->y = malloc(n * sizeof *t->y);
    if (!t->x || !t->y) { free(v); return -1; }
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k > 0 && t->x[k - 1] == v[3 * i + 1]) continue;   /* duplicate x: keep the first */
        t->x[k] = v[3 * i + 1]; t->y[k] = v[3 * i + 2]; k++;
    }
    t->n = k;
    free(v);
    return 0;
}

static int build2(const cJSON *arr, es_table2_t *t)
{
    double *v; uint32_t n;
    if (read_rows(arr, 2, &v, &n) != 0) return -1;
    if (n == 0) { free(v); return -1; }   /* every point failed */
    uint32_t nr = 0;
    for (uint32_t i = 0; i < n; i++) if (i == 0 || v[3 * i] != v[3 * (i - 1)]) nr++;
    t->key = calloc(nr, sizeof *t->key); t->row = calloc(nr, sizeof *t->row);
    if (!t->key || !t->row) { free(v); return -1; }
    t->nrows = nr;
    uint32_t r = 0, i = 0;
    while (i < n) {
        uint32_t j = i;
        while (j < n && v[3 * j] == v[3 * i]) j++;
        es_table1_t *row = &t->row[r];
        row->x = malloc((j - i) * sizeof *row->x); row->y = malloc((j - i) * sizeof *row->y);
        if (!row->x || !row->y) { free(v); return -1; }
        for (uint32_t m = i; m < j; m++) {
            if (row->n > 0 && row->x[row->n - 1] == v[3 * m + 1]) continue;
            row->x[row->n] = v[3 * m + 1]; row->y[row->n] = v[3 * m + 2]; row->n++;
        }
        t->key[r++] = v[3 * i];
        i = j;
    }
    free(v);
    return 0;
}

/* ---- profile documents ---- */

static int get_u32(const cJSON *o, const char *k, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9) return -1;
    *out = (uint32_t)v->valuedouble;
    return 0;
}

static int get_pos(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0)) return -1;
    *out = v->valuedouble;
    return 0;
}

void es_profile_destroy(es_profile_t *p)
{
    if (!p) return;
    for (uint32_t i = 0; i < p->nmodels; i++) {
        es_profile_model_t *m = &p->models[i];
        table1_free(&m->dense); table1_free(&m->lm_head);
        table2_free(&m->prefill); table2_free(&m->decode);
    }
    free(p->models);
    free(p);
}

static int parse_model(const cJSON *o, const char *file, es_profile_model_t *m, es_err_t *err)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(o, "config");
    es_model_shape_t *s = &m->shape;
    if (!cJSON_IsObject(cfg) || get_u32(cfg, "layers", &s->layers) || get_u32(cfg, "hidden", &s->hidden) ||
        get_u32(cfg, "heads", &s->heads) || get_u32(cfg, "kv_heads", &s->kv_heads) ||
        get_u32(cfg, "head_dim", &s->head_dim) || get_u32(cfg, "inter", &s->inter) ||
        get_u32(cfg, "vocab", &s->vocab))
        return es_err_set(err, ES_EPARSE, "%s: %s.config: needs positive layers, hidden, heads, kv_heads, "
                          "head_dim, inter, vocab", file, m->name);
    if (get_u32(cfg, "context_len", &s->context_len) != 0) s->context_len = 131072;
    es_model_shape_finish(s);
    snprintf(m->source, sizeof m->source, "profile");
    static const char *const tabs[] = {"dense", "lm_head", "attn_prefill", "attn_decode"};
    int rc[4];
    rc[0] = build1(cJSON_GetObjectItemCaseSensitive(o, tabs[0]), &m->dense);
    rc[1] = build1(cJSON_GetObjectItemCaseSensitive(o, tabs[1]), &m->lm_head);
    rc[2] = build2(cJSON_GetObjectItemCaseSensitive(o, tabs[2]), &m->prefill);
    rc[3] = build2(cJSON_GetObjectItemCaseSensitive(o, tabs[3]), &m->decode);
    for (int i = 0; i < 4; i++)
        if (rc[i] != 0)
            return es_err_set(err, ES_EPARSE, "%s: %s.%s: missing, empty or malformed table", file, m->name,
                              tabs[i]);
    return 0;
}

int es_profile_parse(const char *name, const char *file, const char *text, es_profile_t **out, es_err_t *err)
{
    cJSON *root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return es_err_set(err, ES_EPARSE, "%s: not a JSON object", file);
    }
    es_profile_t *p = calloc(1, sizeof *p);
    if (!p) { cJSON_Delete(root); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    snprintf(p->gpu, sizeof p->gpu, "%s", name);
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(root, "gpu");
    snprintf(p->device, sizeof p->device, "%s", cJSON_IsString(dev) ? dev->valuestring : name);
    const cJSON *hw = cJSON_GetObjectItemCaseSensitive(root, "hardware");
    double mem_mib, tbps, tflops;
    if (!cJSON_IsObject(hw) || get_pos(hw, "memory_MiB", &mem_mib) || get_pos(hw, "hbm_TBps", &tbps) ||
        get_pos(hw, "bf16_TFLOPs", &tflops)) {
        es_profile_destroy(p); cJSON_Delete(root);
        return es_err_set(err, ES_EPARSE, "%s: hardware: needs memory_MiB, hbm_TBps and bf16_TFLOPs",
                          file);
    }
    p->memory_bytes = mem_mib * 1048576.0;
    p->hbm_Bps = tbps * 1e12;
    p->peak_flops = tflops * 1e12;
    p->config_model = -1;
    double nvl;
    if (get_pos(hw, "nvlink_GBps", &nvl) == 0) p->link_Bps = nvl * 1e9;
    uint32_t nm = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
        if (cJSON_IsObject(it) && cJSON_GetObjectItemCaseSensitive(it, "dense")) nm++;
    p->models = calloc(nm ? nm : 1, sizeof *p->models);
    if (!p->models) { es_profile_destroy(p); cJSON_Delete(root); return es_err_set(err, ES_ENOMEM, "out of memory"); }
    cJSON_ArrayForEach(it, root) {
        if (!cJSON_IsObject(it) || !cJSON_GetObjectItemCaseSensitive(it, "dense")) continue;
        es_profile_model_t *m = &p->models[p->nmodels++];
        snprintf(m->name, sizeof m->name, "%s", it->string);
        int rc = parse_model(it, file, m, err);
        if (rc != 0) { es_profile_destroy(p); cJSON_Delete(root); return rc; }
    }
    cJSON_Delete(root);
    if (p->nmodels == 0) {
        es_profile_destroy(p);
        return es_err_set(err, ES_EPARSE, "%s: holds no model tables", file);
    }
    *out = p;
    return 0;
}

const es_profile_model_t *es_profile_model(const es_profile_t *p, const char *model)
{
    if (es_model_is_path(model)) return p->config_model >= 0 ? &p->models[p->config_model] : NULL;
    for (uint32_t i = 0; i < p->nmodels; i++)
        if (strcmp(p->models[i].name, model) == 0) return &p->models[i];
    return NULL;
}

void es_profile_model_list(const es_profile_t *p, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < p->nmodels && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", p->models[i].name);
}

double es_model_params(const es_model_shape_t *m) { return m->params_total; }

int es_profile_model_has_tables(const es_profile_model_t *m)
{
    return m->dense.n > 0 && m->lm_head.n > 0 && m->prefill.nrows > 0 && m->decode.nrows > 0;
}

/* ---- opening a GPU + model ---- */

static char *slurp_file(const char *path)
{
    char *t;
    return es_file_read(path, &t, NULL) == 0 ? t : NULL;
}

static const char *const k_coeff_keys[] = {"gemm_efficiency", "attention_efficiency", "hbm_efficiency",
                                           "link_efficiency", "allreduce_latency_us", "layer_us", "step_us",
                                           "smoothness", NULL};

int es_step_coeffs_load(const char *path, es_step_coeffs_t *out, es_err_t *err)
{
    char buf[1024];
    const char *shown = path && *path ? path : "data/steptime-coeffs.yaml";   /* not the machine's data dir */
    if (!path || !*path) path = es_data_path(buf, sizeof buf, "steptime-coeffs.yaml");
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc) return rc;
    static const char *const top[] = {"analytic", "provenance", NULL};
    const es_node_t *root = doc->root, *a = NULL;
    if (!root) rc = es_err_set(err, ES_EPARSE, "%s: empty coefficients file", path);
    else if (!(rc = es_node_expect_map(root, "", err)) && !(rc = es_map_check_keys(root, "", top, err))) {
        a = es_map_get(root, "analytic");
        if (!a) rc = es_node_err(err, ES_EINVAL, root, "analytic", "missing");
        else if (!(rc = es_node_expect_map(a, "analytic", err)))
            rc = es_map_check_keys(a, "analytic", k_coeff_keys, err);
    }
    double v[8];
    static const double lo[8] = {1e-4, 1e-4, 1e-4, 1e-4, 0, 0, 0, 1}, hi[8] = {1, 1, 1, 1, 1e5, 1e5, 1e6, 1e3};
    for (int i = 0; !rc && i < 8; i++) {
        char kp[64];
        snprintf(kp, sizeof kp, "analytic.%s", k_coeff_keys[i]);
        const es_node_t *n = es_map_get(a, k_coeff_keys[i]);
        rc = n ? es_node_to_double(n, kp, lo[i], hi[i], &v[i], err)
               : es_node_err(err, ES_EINVAL, a, kp, "missing (the analytic model needs all of its coefficients)");
    }
    if (!rc) {
        memset(out, 0, sizeof *out);
        out->gemm_eff = v[0]; out->attn_eff = v[1]; out->hbm_eff = v[2]; out->link_eff = v[3];
        out->allreduce_us = v[4]; out->layer_us = v[5]; out->step_us = v[6]; out->smooth = v[7];
        snprintf(out->file, sizeof out->file, "%s", shown);
    }
    es_doc_destroy(doc);
    return rc;
}

static int hardware_from_datasheet(es_profile_t *p, const es_gpu_spec_t *g)
{
    snprintf(p->device, sizeof p->device, "%s", g->device);
    p->memory_bytes = g->memory_bytes;
    p->hbm_Bps = g->hbm_Bps;
    p->peak_flops = g->bf16_flops;
    p->fp8_flops = g->fp8_flops;
    p->link_Bps = g->link_Bps;
    p->pcie_Bps = g->pcie_Bps;
    return 0;
}

int es_profile_open(const char *gpu, const char *model, const char *gpus_file, const char *coeffs_file,
                    es_profile_t **out, es_err_t *err)
{
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "profiles/%s.json", gpu);
    es_data_path(path, sizeof path, rel);
    struct stat sb;
    es_profile_t *p = NULL;
    es_gpu_spec_t spec;
    es_err_t ignore;
    int rc;
    if (strchr(gpu, '/') == NULL && stat(path, &sb) == 0) {
        char *text = slurp_file(path);
        if (!text) return es_err_set(err, ES_EIO, "server.gpu: cannot read profile %s", path);
        rc = es_profile_parse(gpu, path, text, &p, err);
        free(text);
        if (rc) return rc;
        /* the datasheet adds what a profile does not hold (FP8 peak, PCIe); its peaks are the profile's */
        rc = es_gpu_spec_lookup(gpus_file, gpu, &spec, &ignore);
        if (rc == 0) {
            p->fp8_flops = spec.fp8_flops;
            p->pcie_Bps = spec.pcie_Bps;
            if (p->link_Bps == 0) p->link_Bps = spec.link_Bps;
        } else if (rc != ES_ENOTFOUND) {   /* a broken datasheet is an error whichever GPU is asked for */
            if (err) *err = ignore;
            es_profile_destroy(p);
            return rc;
        }
    } else {
        if ((rc = es_gpu_spec_lookup(gpus_file, gpu, &spec, err))) {
            if (rc == ES_ENOTFOUND) {
                char known[512];
                es_gpu_spec_names(gpus_file, known, sizeof known);
                es_err_set(err, ES_ENOTFOUND, "server.gpu: no profile or datasheet GPU \"%s\" (datasheet %s has: "
                           "%s)", gpu, gpus_file && *gpus_file ? gpus_file : "data/gpus.yaml", known);
            }
            return rc;
        }
        p = calloc(1, sizeof *p);
        if (!p) return es_err_set(err, ES_ENOMEM, "out of memory");
        snprintf(p->gpu, sizeof p->gpu, "%s", gpu);
        p->config_model = -1;
        hardware_from_datasheet(p, &spec);
    }
    if (es_model_is_path(model)) {
        es_model_shape_t shape;
        if ((rc = es_model_config_load(model, &shape, err))) { es_profile_destroy(p); return rc; }
        es_profile_model_t *grown = realloc(p->models, (p->nmodels + 1) * sizeof *grown);
        if (!grown) { es_profile_destroy(p); return es_err_set(err, ES_ENOMEM, "out of memory"); }
        p->models = grown;
        es_profile_model_t *m = &p->models[p->nmodels];
        memset(m, 0, sizeof *m);
        const char *base = strrchr(model, '/');
        snprintf(m->name, sizeof m->name, "%s", base ? base + 1 : model);
        snprintf(m->source, sizeof m->source, "%s", model);
        m->shape = shape;
        p->config_model = (int)p->nmodels++;
    }
    if ((rc = es_step_coeffs_load(coeffs_file, &p->coeffs, err))) { es_profile_destroy(p); return rc; }
    *out = p;
    return 0;
}

/* ---- step models ---- */

/* layer_us is the fixed time of a dense 16-bit decoder layer, whose forward
 * launches ES_DENSE_LAYER_KERNELS small kernels besides its GEMMs' weight
 * traffic (vLLM's LlamaDecoderLayer: two fused add+RMSNorms, qkv, RoPE,
 * KV-cache write, attention, o_proj, gate_up, SiLU-and-mul, down).  Other
 * layers take it in proportion to the kernels they launch:
 *  - an MoE MLP (vllm/model_executor/layers/fused_moe): router GEMM, top-k,
 *    token alignment / permutation, two grouped GEMMs, activation and the
 *    weighted combine: 7 in place of the dense MLP's 3;
 *  - shared experts: gate_up, activation, down and the add (4);
 *  - FP8 activations (W8A8): one dynamic quantisation before every FP8 GEMM
 *    input (qkv and o_proj unless left 16-bit, gate_up and down, the
 *    experts' two, the shared experts' two);
 *  - QK-norm: the q and k norms (2) on the layers that use it.
 * Counts, not fitted. */
#define ES_DENSE_LAYER_KERNELS 10.0

static double layer_units(const es_model_shape_t *m)
{
    uint32_t nmoe = m->experts > 0 ? m->moe_layers : 0;
    double extra = 4.0 * nmoe;
    if (nmoe > 0 && m->shared_inter > 0) extra += 4.0 * nmoe;
    if (m->fp8) {
        extra += 2.0 * (m->layers - m->attn_16bit_layers) + 2.0 * (m->layers - nmoe) + 2.0 * nmoe;
        if (m->shared_inter > 0) extra += 2.0 * nmoe;
    }
    if (m->qk_norm) extra += 2.0 * (m->attn_chunk > 0 ? m->chunked_layers : m->layers);
    return extra > 0 ? m->layers + extra / ES_DENSE_LAYER_KERNELS : (double)m->layers;
}

void es_steptime_init(es_steptime_t *st, const es_server_config_t *cfg, const es_profile_t *prof,
                      const es_profile_model_t *pm)
{
    memset(st, 0, sizeof *st);
    st->kind = cfg->step_model;
    st->pm = pm;
    st->prof = prof;
    st->tp = (uint32_t)cfg->tensor_parallel;
    st->overhead_us = cfg->cpu_overhead_us;
    st->c[0] = cfg->linear_c0_us; st->c[1] = cfg->linear_c1_us; st->c[2] = cfg->linear_c2_us;
    st->c[3] = cfg->linear_c3_us; st->c[4] = cfg->linear_c4_us;
    st->mfu = cfg->roofline_mfu;
    st->bw_eff = cfg->roofline_bw_efficiency;
    st->link_Bps = cfg->tp_link_gbps * 1e9;
    st->ar_lat_us = cfg->tp_allreduce_latency_us;
    st->kind = es_steptime_resolve(st->kind, pm);
    if (st->kind != ES_STEP_ANALYTIC) return;
    /* analytic: everything that does not depend on the step's composition */
    const es_model_shape_t *m = &pm->shape;
    const es_step_coeffs_t *k = &prof->coeffs;
    double tp = st->tp, d = m->hidden;
    uint32_t nmoe = m->experts > 0 ? m->moe_layers : 0;
    double ndense = (double)(m->layers - nmoe);
    st->gemm_flops_tok = 2.0 * (m->layers * m->attn_params + ndense * 3.0 * d * m->inter +
                                nmoe * ((double)m->top_k * m->expert_params + 3.0 * d * m->shared_inter + d * m->experts));
    st->lm_flops_row = 2.0 * d * m->vocab;
    double peak = m->fp8 && prof->fp8_flops > 0 ? prof->fp8_flops : prof->peak_flops;
    if (m->fp8 && prof->fp8_flops > 0) {
        /* FP8 GEMMs at the FP8 peak; lm_head, the routers (vLLM builds them unquantised) and the
         * attention quantization_config.ignore names stay in 16 bits */
        st->gemm16_flops_tok = 2.0 * (m->attn_16bit_layers * m->attn_params + nmoe * d * m->experts);
        st->gemm_flops_tok -= st->gemm16_flops_tok;
        st->lm16_flops_row = st->lm_flops_row;
        st->lm_flops_row = 0;
        st->gemm16_inv = 1e6 / (prof->peak_flops * k->gemm_eff * tp);
    }
    st->sample_bytes_row = (double)m->vocab * ES_SAMPLER_BYTES_PER_LOGIT;
    st->attn_flops_unit = 2.0 * m->layers * m->heads * ((double)m->head_dim + m->v_head_dim);
    double experts_bytes = nmoe * (double)m->experts * m->expert_params * m->weight_bytes_per_param;
    double embed_bytes = m->tie_embeddings ? 0 : (double)m->vocab * d * m->dtype_bytes;   /* only T rows read */
    st->fixed_bytes = (m->weight_bytes - experts_bytes - embed_bytes) / tp;
    st->expert_bytes = m->expert_params * m->weight_bytes_per_param / tp;
    st->kv_bytes_tok = es_model_kv_bytes_per_token(m, st->tp);
    st->layer_units = layer_units(m);
    if (m->sliding_window > 0 && m->sliding_layers > 0) {
        st->local_window = m->sliding_window;
        st->local_frac = (double)m->sliding_layers / m->layers;
    } else if (m->attn_chunk > 0 && m->chunked_layers > 0) {
        st->local_window = m->attn_chunk;
        st->local_frac = (double)m->chunked_layers / m->layers;
    }
    st->gemm_Bps_inv = 1e6 / (peak * k->gemm_eff * tp);
    st->attn_inv = 1e6 / (prof->peak_flops * k->attn_eff * tp);
    st->hbm_inv = 1e6 / (prof->hbm_Bps * k->hbm_eff);
    double link = prof->link_Bps > 0 ? prof->link_Bps : prof->pcie_Bps;
    st->link_Bps = (link > 0 ? link : cfg->tp_link_gbps * 1e9) * k->link_eff;
    st->ar_lat_us = k->allreduce_us;
}

int es_steptime_resolve(int kind, const es_profile_model_t *pm)
{
    if (kind != ES_STEP_AUTO) return kind;
    return es_profile_model_has_tables(pm) ? ES_STEP_PROFILE : ES_STEP_ANALYTIC;
}

const char *es_steptime_kind_name(int kind)
{
    switch (kind) {
    case ES_STEP_PROFILE:  return "profile";
    case ES_STEP_LINEAR:   return "linear";
    case ES_STEP_ROOFLINE: return "roofline";
    case ES_STEP_ANALYTIC: return "analytic";
    default:               return "auto";
    }
}

/* Two ring all-reduces per layer (after attention and after the MLP) of the
 * step's hidden states in bf16: 2 (TP-1)/TP x bytes over the link. */
static double tp_comm_us(const es_steptime_t *st, uint64_t tokens)
{
    if (st->tp <= 1) return 0.0;
    double bytes = (double)tokens * st->pm->shape.hidden * 2.0;
    double one = st->ar_lat_us + 2.0 * (st->tp - 1) / st->tp * bytes / st->link_Bps * 1e6;
    return 2.0 * st->pm->shape.layers * one;
}

static double profile_us(const es_steptime_t *st, const es_step_comp_t *c, uint64_t T)
{
    const es_profile_model_t *m = st->pm;
    double layer = es_table1_eval(&m->dense, (double)T);
    for (uint32_t i = 0; i < c->n_prefill; i++)
        layer += es_table2_eval(&m->prefill, c->q[i], c->p[i]);
    if (c->n_decode)
        layer += es_table2_eval(&m->decode, c->n_decode, (double)c->sum_ctx / c->n_decode);
    double t = m->shape.layers * layer + es_table1_eval(&m->lm_head, c->n_sampled);
    return t / st->tp;
}

static double linear_us(const es_steptime_t *st, const es_step_comp_t *c)
{
    double ptok = 0, attn = 0;
    for (uint32_t i = 0; i < c->n_prefill; i++) {
        ptok += c->q[i];
        attn += (double)c->q[i] * (c->p[i] + c->q[i] / 2.0);
    }
    double t = st->c[0] + st->c[1] * ptok + st->c[2] * c->n_decode + st->c[3] * (double)c->sum_ctx +
               st->c[4] * attn;
    return t / st->tp;
}

static double roofline_us(const es_steptime_t *st, const es_step_comp_t *c, uint64_t T)
{
    const es_model_shape_t *m = &st->pm->shape;
    double d = m->hidden, qd = (double)m->heads * m->head_dim;
    double kv_bpt = 2.0 * m->layers * m->kv_heads * m->head_dim * 2.0;
    double p_layer = d * (qd + 2.0 * m->kv_heads * m->head_dim) + qd * d + 3.0 * d * m->inter;
    double attn_units = (double)c->sum_ctx, ctx_read = (double)c->sum_ctx;
    for (uint32_t i = 0; i < c->n_prefill; i++) {
        attn_units += (double)c->q[i] * (c->p[i] + c->q[i] / 2.0);
        ctx_read += c->p[i];
    }
    double flops = 2.0 * m->layers * p_layer * T + 4.0 * m->layers * qd * attn_units +
                   2.0 * d * m->vocab * c->n_sampled;
    double bytes = 2.0 * (m->layers * p_layer + d * m->vocab) + kv_bpt * (ctx_read + T);
    double tc = flops / (st->prof->peak_flops * st->mfu), tm = bytes / (st->prof->hbm_Bps * st->bw_eff);
    return (tc > tm ? tc : tm) * 1e6 / st->tp;
}

/* Bytes one rank moves over the link in an all-reduce of `bytes`, as vLLM's
 * custom all-reduce picks its kernel (csrc/custom_all_reduce.cuh at
 * vllm-project/vllm 036bb685, CustomAllreduce::allreduce): one stage (every
 * rank reads the TP - 1 others' buffers) at TP 2, and below 512 KiB at TP 4
 * or 256 KiB at TP 8; two stages (reduce-scatter then all-gather,
 * 2 (TP - 1) / TP of the bytes) above. */
static double allreduce_bytes(uint32_t tp, double bytes)
{
    bool one_stage = tp == 2 || (tp <= 4 && bytes < 512.0 * 1024) || (tp <= 8 && bytes < 256.0 * 1024);
    return one_stage ? (tp - 1) * bytes : 2.0 * (tp - 1) / tp * bytes;
}

void es_steptime_terms(const es_steptime_t *st, const es_step_comp_t *c, es_step_terms_t *o)
{
    const es_model_shape_t *m = &st->pm->shape;
    const es_step_coeffs_t *k = &st->prof->coeffs;
    memset(o, 0, sizeof *o);
    double T = c->n_decode, units = (double)c->sum_ctx, ctx_read = (double)c->sum_ctx;
    for (uint32_t i = 0; i < c->n_prefill; i++) {
        T += c->q[i];
        units += (double)c->q[i] * (c->p[i] + c->q[i] / 2.0);
        ctx_read += c->p[i];
    }
    if (st->local_frac > 0) {
        /* windowed layers see at most W keys (decodes at their mean context) */
        double W = st->local_window, f = st->local_frac, B = c->n_decode, mean = B > 0 ? c->sum_ctx / B : 0;
        double dec = B * fmin(mean, W);
        units = (1 - f) * units + f * dec;
        ctx_read = (1 - f) * ctx_read + f * dec;
        for (uint32_t i = 0; i < c->n_prefill; i++) {
            units += f * (double)c->q[i] * fmin(c->p[i] + c->q[i] / 2.0, W);
            ctx_read += f * fmin((double)c->p[i], W);
        }
    }
    o->fixed_us = st->layer_units * k->layer_us + k->step_us;
    if (T > 0) {
        uint32_t nmoe = m->experts > 0 ? m->moe_layers : 0;
        o->experts_touched = es_model_experts_touched(m, T);
        o->gemm_us = (st->gemm_flops_tok * T + st->lm_flops_row * c->n_sampled) * st->gemm_Bps_inv;
        if (st->gemm16_inv > 0)   /* an FP8 model's 16-bit GEMMs */
            o->gemm_us += (st->gemm16_flops_tok * T + st->lm16_flops_row * c->n_sampled) * st->gemm16_inv;
        o->attn_us = st->attn_flops_unit * units * st->attn_inv;
        o->weight_us = (st->fixed_bytes + nmoe * o->experts_touched * st->expert_bytes) * st->hbm_inv;
        o->kv_us = st->kv_bytes_tok * (ctx_read + T) * st->hbm_inv;
        /* the sampler's full-vocabulary float32 passes, after the forward and on every rank */
        o->sample_us = c->n_sampled * st->sample_bytes_row * st->hbm_inv;
        if (st->tp > 1) {
            double bytes = T * m->hidden * m->dtype_bytes;
            o->comm_us = 2.0 * m->layers * (st->ar_lat_us + allreduce_bytes(st->tp, bytes) / st->link_Bps * 1e6);
        }
    }
    double tc = o->gemm_us + o->attn_us, tm = o->weight_us + o->kv_us, hi = tc > tm ? tc : tm, gpu = hi;
    if (hi > 0 && k->smooth < 64) {   /* (tc^s + tm^s)^(1/s), scaled so it cannot overflow */
        double a = tc / hi, b = tm / hi;
        gpu = hi * pow(pow(a, k->smooth) + pow(b, k->smooth), 1.0 / k->smooth);
    }
    o->total_us = T > 0 ? gpu + o->sample_us + o->fixed_us + o->comm_us + st->overhead_us : st->overhead_us;
}

double es_steptime_us(const es_steptime_t *st, const es_step_comp_t *c)
{
    if (st->kind == ES_STEP_ANALYTIC) {
        es_step_terms_t o;
        es_steptime_terms(st, c, &o);
        return o.total_us;
    }
    uint64_t T = c->n_decode;
    for (uint32_t i = 0; i < c->n_prefill; i++) T += c->q[i];
    if (T == 0) return st->overhead_us;
    double t;
    switch (st->kind) {
    case ES_STEP_LINEAR:   t = linear_us(st, c); break;
    case ES_STEP_ROOFLINE: t = roofline_us(st, c, T); break;
    default:               t = profile_us(st, c, T); break;
    }
    return t + tp_comm_us(st, T) + st->overhead_us;
}
