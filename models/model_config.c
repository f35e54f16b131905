/*
 * model_config.c -- model shapes from Hugging Face config.json files, and
 * the parameter, byte and KV counts derived from a shape.
 */
#include "es_model_config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_doc.h"
#include "es_util.h"

bool es_model_is_path(const char *model)
{
    if (!model) return false;
    size_t n = strlen(model);
    return strchr(model, '/') != NULL || (n > 5 && strcmp(model + n - 5, ".json") == 0);
}

void es_model_shape_finish(es_model_shape_t *m)
{
    if (m->dtype_bytes <= 0) m->dtype_bytes = 2.0;
    if (m->weight_bytes_per_param <= 0) m->weight_bytes_per_param = m->dtype_bytes;
    if (m->v_head_dim == 0) m->v_head_dim = m->head_dim;
    double d = m->hidden, H = m->heads;
    /* attention projections of one layer */
    double attn;
    if (m->kv_lora_rank > 0) {
        double qk = m->head_dim, r = m->qk_rope_dim, kvl = m->kv_lora_rank, v = m->v_head_dim;
        double q = m->q_lora_rank > 0 ? d * m->q_lora_rank + m->q_lora_rank + (double)m->q_lora_rank * H * qk
                                      : d * H * qk;
        attn = q + d * (kvl + r) + kvl + kvl * H * (qk - r + v) + H * v * d;
    } else {
        double dkv = (double)m->kv_heads * m->head_dim, dq = H * m->head_dim;
        attn = d * (dq + 2 * dkv) + dq * d;
    }
    m->attn_params = attn;
    double dense_mlp = 3.0 * d * m->inter;
    uint32_t nmoe = m->experts > 0 ? m->moe_layers : 0;
    double expert = 3.0 * d * m->moe_inter, shared = 3.0 * d * m->shared_inter, router = d * m->experts;
    m->expert_params = m->experts > 0 ? expert : 0;
    double ndense = (double)(m->layers - nmoe);
    double linear_total = m->layers * attn + ndense * dense_mlp + nmoe * ((double)m->experts * expert + shared);
    double linear_active = m->layers * attn + ndense * dense_mlp + nmoe * ((double)m->top_k * expert + shared);
    double embed = (double)m->vocab * d * (m->tie_embeddings ? 1.0 : 2.0);
    double small = m->layers * 2.0 * d + d + nmoe * router;   /* norms, routers: kept in the model dtype */
    m->params_total = linear_total + small + embed;
    m->params_active = linear_active + small + embed;
    m->weight_bytes = linear_total * m->weight_bytes_per_param + (small + embed) * m->dtype_bytes;
    if (m->attn_16bit_layers > 0 && m->weight_bytes_per_param != m->dtype_bytes)   /* quantization_config.ignore */
        m->weight_bytes += m->attn_16bit_layers * attn * (m->dtype_bytes - m->weight_bytes_per_param);
    m->kv_bytes_per_token_layer = m->kv_lora_rank > 0 ? ((double)m->kv_lora_rank + m->qk_rope_dim) * m->dtype_bytes
                                                      : 2.0 * m->kv_heads * m->head_dim * m->dtype_bytes;
}

double es_model_kv_bytes_per_token(const es_model_shape_t *m, uint32_t tp)
{
    if (m->kv_lora_rank > 0) return m->layers * ((double)m->kv_lora_rank + m->qk_rope_dim) * m->dtype_bytes;
    if (tp < 1) tp = 1;
    uint32_t kvh = (m->kv_heads + tp - 1) / tp;   /* heads replicate when TP > kv_heads */
    return 2.0 * m->layers * kvh * m->head_dim * m->dtype_bytes;
}

double es_model_experts_touched(const es_model_shape_t *m, double tokens)
{
    if (m->experts == 0 || tokens <= 0) return 0;
    double E = m->experts, k = m->top_k < m->experts ? m->top_k : m->experts;
    return E * (1.0 - pow(1.0 - k / E, tokens));
}

/* ---- config.json ---- */

typedef struct rd {
    const es_node_t *map;      /* the decoder's keys (text_config when nested) */
    const char      *prefix;   /* "" or "text_config." for messages */
    es_err_t        *err;
} rd_t;

static const es_node_t *get(const rd_t *r, const char *key)
{
    const es_node_t *n = es_map_get(r->map, key);
    return es_node_is_null(n) ? NULL : n;
}

/* Reads an optional positive integer; *out unchanged when absent or null. */
static int opt_u32(const rd_t *r, const char *key, int64_t min, uint32_t *out)
{
    const es_node_t *n = get(r, key);
    if (!n) return 0;
    char path[96];
    snprintf(path, sizeof path, "%s%s", r->prefix, key);
    int64_t v;
    int rc = es_node_to_i64(n, path, min, 4294967295LL, &v, r->err);
    if (rc) return rc;
    *out = (uint32_t)v;
    return 0;
}

static int req_u32(const rd_t *r, const char *key, uint32_t *out)
{
    if (!get(r, key))
        return es_node_err(r->err, ES_EINVAL, r->map, r->prefix[0] ? "text_config" : "",
                           "missing key '%s' (a decoder config needs hidden_size, num_hidden_layers, "
                           "num_attention_heads, intermediate_size, vocab_size)", key);
    return opt_u32(r, key, 1, out);
}

static bool opt_bool(const rd_t *r, const char *key, bool dflt)
{
    const es_node_t *n = get(r, key);
    if (!n || n->kind != ES_NODE_SCALAR) return dflt;
    return strcmp(n->str, "true") == 0 || strcmp(n->str, "True") == 0;
}

static const char *opt_str(const es_node_t *map, const char *key)
{
    const es_node_t *n = es_map_get(map, key);
    return n && n->kind == ES_NODE_SCALAR && !es_node_is_null(n) ? n->str : NULL;
}

static int64_t opt_int(const es_node_t *map, const char *key, int64_t dflt)
{
    const char *s = opt_str(map, key);
    return s ? strtoll(s, NULL, 10) : dflt;
}

static bool names_attention(const char *s)
{
    static const char *const parts[] = {"self_attn", "q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj", NULL};
    for (const char *const *p = parts; *p; p++)
        if (strstr(s, *p)) return true;
    return false;
}

/* Decoder layers whose attention projections the quantisation leaves in the
 * model dtype: compressed-tensors' `ignore` (llm-compressor names every
 * module, "language_model.model.layers.N.self_attn.q_proj", or gives an
 * "re:" pattern), or fp8's `ignored_layers` / `modules_to_not_convert`.  A
 * pattern, or a name without a layer index, covers every layer; the vision
 * tower's modules are not the decoder's. */
static uint32_t unquantised_attn_layers(const es_node_t *q, uint32_t layers)
{
    static const char *const keys[] = {"ignore", "ignored_layers", "modules_to_not_convert", NULL};
    uint8_t *seen = layers > 0 ? calloc(layers, 1) : NULL;
    if (!seen) return 0;
    uint32_t n = 0;
    for (const char *const *k = keys; *k && n < layers; k++) {
        const es_node_t *list = es_map_get(q, *k);
        if (!list || list->kind != ES_NODE_SEQ) continue;
        for (size_t i = 0; i < list->n && n < layers; i++) {
            const es_node_t *it = list->items[i];
            if (it->kind != ES_NODE_SCALAR || !names_attention(it->str)) continue;
            const char *s = it->str;
            if (strstr(s, "vision") || strstr(s, "visual") || strstr(s, "multi_modal")) continue;
            const char *at = strncmp(s, "re:", 3) == 0 ? NULL : strstr(s, "layers.");
            if (!at || !isdigit((unsigned char)at[7])) { n = layers; break; }   /* every layer */
            unsigned long idx = strtoul(at + 7, NULL, 10);
            if (idx < layers && !seen[idx]) { seen[idx] = 1; n++; }
        }
    }
    free(seen);
    return n;
}

/* Weight width from quantization_config: fp8 (vLLM's "fp8" method, or
 * compressed-tensors float 8-bit weights), 8-bit integer, or gptq/awq bits;
 * and the attention layers it leaves unquantised. */
static void read_quant(const es_node_t *q, es_model_shape_t *m)
{
    if (!q || q->kind != ES_NODE_MAP) return;
    const char *method = opt_str(q, "quant_method");
    if (method && strcmp(method, "fp8") == 0) {
        m->weight_bytes_per_param = 1.0;
        m->fp8 = true;
        m->attn_16bit_layers = unquantised_attn_layers(q, m->layers);
        return;
    }
    int64_t bits = opt_int(q, "bits", 0);
    if (bits > 0 && bits <= 16) {
        m->weight_bytes_per_param = (double)bits / 8.0;
        m->attn_16bit_layers = unquantised_attn_layers(q, m->layers);
        return;
    }
    const es_node_t *groups = es_map_get(q, "config_groups");
    if (!groups || groups->kind != ES_NODE_MAP) return;
    m->attn_16bit_layers = unquantised_attn_layers(q, m->layers);
    for (size_t i = 0; i < groups->n; i++) {
        const es_node_t *w = es_map_get(groups->items[i], "weights");
        const es_node_t *a = es_map_get(groups->items[i], "input_activations");
        if (!w || w->kind != ES_NODE_MAP) continue;
        int64_t wb = opt_int(w, "num_bits", 0);
        const char *type = opt_str(w, "type");
        if (wb <= 0 || wb > 16) continue;
        m->weight_bytes_per_param = (double)wb / 8.0;
        if (wb == 8 && type && strcmp(type, "float") == 0 && a && a->kind == ES_NODE_MAP &&
            opt_int(a, "num_bits", 0) == 8)
            m->fp8 = true;
        return;
    }
}

/* Which layers carry experts, per the conventions of each family. */
static uint32_t count_moe_layers(const rd_t *r, const es_model_shape_t *m)
{
    if (m->experts == 0) return 0;
    int64_t first_dense = opt_int(r->map, "first_k_dense_replace", 0);
    int64_t freq = opt_int(r->map, "moe_layer_freq", 1);
    int64_t sparse_step = opt_int(r->map, "decoder_sparse_step", 1);
    int64_t interleave = opt_int(r->map, "interleave_moe_layer_step", 1);
    const es_node_t *mlp_only = es_map_get(r->map, "mlp_only_layers");
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->layers; i++) {
        bool moe = (int64_t)i >= first_dense;
        if (freq > 1 && (int64_t)i % freq != 0) moe = false;
        if (sparse_step > 1 && ((int64_t)i + 1) % sparse_step != 0) moe = false;
        if (interleave > 1 && ((int64_t)i + 1) % interleave != 0) moe = false;
        if (mlp_only && mlp_only->kind == ES_NODE_SEQ)
            for (size_t k = 0; k < mlp_only->n; k++)
                if (mlp_only->items[k]->kind == ES_NODE_SCALAR && strtoll(mlp_only->items[k]->str, NULL, 10) == i)
                    moe = false;
        n += moe;
    }
    return n;
}

static int read_shape(const rd_t *r, const es_node_t *root, es_model_shape_t *m)
{
    int rc;
    if ((rc = req_u32(r, "hidden_size", &m->hidden)) || (rc = req_u32(r, "num_hidden_layers", &m->layers)) ||
        (rc = req_u32(r, "num_attention_heads", &m->heads)) || (rc = req_u32(r, "vocab_size", &m->vocab)) ||
        (rc = req_u32(r, "intermediate_size", &m->inter)))
        return rc;
    if (m->layers > 100000)
        return es_node_err(r->err, ES_ERANGE, get(r, "num_hidden_layers"), "num_hidden_layers",
                           "%u layers is more than the 100000 eppsim takes", m->layers);
    m->kv_heads = m->heads;
    if ((rc = opt_u32(r, "num_key_value_heads", 1, &m->kv_heads))) return rc;
    if (m->kv_heads > m->heads || m->heads % m->kv_heads != 0)
        return es_node_err(r->err, ES_EINVAL, get(r, "num_key_value_heads"), "num_key_value_heads",
                           "%u does not divide num_attention_heads (%u)", m->kv_heads, m->heads);
    m->head_dim = m->hidden / m->heads;
    if ((rc = opt_u32(r, "head_dim", 1, &m->head_dim))) return rc;
    if (m->head_dim == 0)
        return es_node_err(r->err, ES_EINVAL, r->map, "head_dim",
                           "hidden_size %u over %u heads leaves no head dimension (give head_dim)", m->hidden, m->heads);
    m->context_len = 131072;
    if ((rc = opt_u32(r, "max_position_embeddings", 1, &m->context_len))) return rc;
    /* MLA */
    if ((rc = opt_u32(r, "kv_lora_rank", 1, &m->kv_lora_rank))) return rc;
    if (m->kv_lora_rank > 0) {
        uint32_t nope = 0;
        if ((rc = opt_u32(r, "q_lora_rank", 1, &m->q_lora_rank)) || (rc = opt_u32(r, "qk_nope_head_dim", 1, &nope)) ||
            (rc = opt_u32(r, "qk_rope_head_dim", 1, &m->qk_rope_dim)) ||
            (rc = opt_u32(r, "v_head_dim", 1, &m->v_head_dim)))
            return rc;
        if (nope == 0 || m->qk_rope_dim == 0)
            return es_node_err(r->err, ES_EINVAL, r->map, "kv_lora_rank",
                               "an MLA config needs qk_nope_head_dim and qk_rope_head_dim");
        m->head_dim = nope + m->qk_rope_dim;
        m->kv_heads = m->heads;
    }
    /* MoE */
    static const char *const expert_keys[] = {"num_local_experts", "num_experts", "n_routed_experts"};
    for (int i = 0; i < 3 && m->experts == 0; i++)
        if ((rc = opt_u32(r, expert_keys[i], 0, &m->experts))) return rc;
    if (m->experts > 0) {
        m->top_k = 1;
        if ((rc = opt_u32(r, "num_experts_per_tok", 1, &m->top_k))) return rc;
        if (m->top_k > m->experts)
            return es_node_err(r->err, ES_EINVAL, get(r, "num_experts_per_tok"), "num_experts_per_tok",
                               "%u is more than the %u experts", m->top_k, m->experts);
        m->moe_inter = m->inter;
        if ((rc = opt_u32(r, "moe_intermediate_size", 1, &m->moe_inter))) return rc;
        uint32_t nshared = 0, shared_inter = 0;
        if ((rc = opt_u32(r, "n_shared_experts", 0, &nshared)) ||
            (rc = opt_u32(r, "shared_expert_intermediate_size", 0, &shared_inter)))
            return rc;
        m->shared_inter = shared_inter ? shared_inter : nshared * m->moe_inter;
        const char *type = opt_str(r->map, "model_type");
        if (type && strncmp(type, "llama4", 6) == 0) {   /* one shared expert; dense layers use intermediate_size_mlp */
            m->shared_inter = m->moe_inter;
            if ((rc = opt_u32(r, "intermediate_size_mlp", 1, &m->inter))) return rc;
        }
        m->moe_layers = count_moe_layers(r, m);
    }
    /* sliding window / chunked local attention: recorded for the KV model */
    uint32_t window = 0;
    if ((rc = opt_u32(r, "sliding_window", 0, &window))) return rc;
    if (window > 0 && opt_bool(r, "use_sliding_window", true)) {
        m->sliding_window = window;
        m->sliding_layers = m->layers;
        const es_node_t *types = es_map_get(r->map, "layer_types");
        uint32_t mwl = 0;
        if (types && types->kind == ES_NODE_SEQ) {
            m->sliding_layers = 0;
            for (size_t i = 0; i < types->n; i++)
                if (types->items[i]->kind == ES_NODE_SCALAR && strcmp(types->items[i]->str, "sliding_attention") == 0)
                    m->sliding_layers++;
        } else if (get(r, "use_sliding_window") && !opt_u32(r, "max_window_layers", 0, &mwl)) {
            m->sliding_layers = mwl < m->layers ? m->layers - mwl : 0;   /* Qwen2: layers >= max_window_layers */
        }
    }
    if ((rc = opt_u32(r, "attention_chunk_size", 0, &m->attn_chunk))) return rc;
    if (m->attn_chunk > 0) m->chunked_layers = m->layers - m->layers / 4;   /* Llama-4: every 4th layer is global */
    m->tie_embeddings = opt_bool(r, "tie_word_embeddings", false);
    m->qk_norm = opt_bool(r, "use_qk_norm", false);
    /* dtype: vLLM serves fp32 checkpoints in 16 bits too, so 2 bytes unless quantised */
    m->dtype_bytes = 2.0;
    m->weight_bytes_per_param = 2.0;
    static const char *const dtype_keys[] = {"torch_dtype", "dtype"};
    const char *dtype = NULL;
    for (int i = 0; i < 3 && !dtype; i++) {
        const es_node_t *map = i < 2 ? r->map : root;
        const char *key = dtype_keys[i == 1];
        if (!(dtype = opt_str(map, key))) continue;
        /* the torch dtype names a checkpoint is saved in (transformers writes them without "torch.") */
        static const char *const known[] = {"float32", "float", "float16", "half", "bfloat16", "float64", "double",
                                            "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
                                            "int8", "uint8", "auto", NULL};
        const char *name = strncmp(dtype, "torch.", 6) == 0 ? dtype + 6 : dtype;
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++) ok = strcmp(name, *k) == 0;
        if (!ok) {
            char kp[64];
            snprintf(kp, sizeof kp, "%s%s", map == root ? "" : r->prefix, key);
            return es_node_err(r->err, ES_EINVAL, es_map_get(map, key), kp,
                               "\"%s\" is not a torch dtype (known: float32, float16, bfloat16, float64, "
                               "float8_e4m3fn, float8_e5m2, int8, uint8, auto; fnuz variants too)", dtype);
        }
        dtype = name;
    }
    if (dtype && strncmp(dtype, "float8", 6) == 0) {   /* weights stored in FP8 without a quantization_config */
        m->weight_bytes_per_param = 1.0;
        m->fp8 = true;
    }
    const es_node_t *q = get(r, "quantization_config");
    read_quant(q ? q : es_map_get(root, "quantization_config"), m);
    return 0;
}

int es_model_config_parse(const char *file, const char *text, es_model_shape_t *out, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_string(file, text, strlen(text), &doc, err);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    const es_node_t *root = doc->root;
    if (!root || root->kind != ES_NODE_MAP) {
        rc = root ? es_node_err(err, ES_EPARSE, root, "", "a config.json must be a JSON object")
                  : es_err_set(err, ES_EPARSE, "%s: empty (a config.json must be a JSON object)", file);
    } else {
        rd_t r = {root, "", err};
        const es_node_t *text_cfg = es_map_get(root, "text_config");
        if (text_cfg && text_cfg->kind == ES_NODE_MAP && !es_map_get(root, "hidden_size")) {
            r.map = text_cfg;
            r.prefix = "text_config.";
        }
        rc = read_shape(&r, root, out);
    }
    if (!rc) es_model_shape_finish(out);
    es_doc_destroy(doc);
    return rc;
}

int es_model_config_load(const char *path, es_model_shape_t *out, es_err_t *err)
{
    /* es_file_read: a FIFO, /dev/zero or a directory must not hang or be read as empty */
    char *text = NULL;
    int rc = es_file_read(path, &text, NULL);
    if (rc == ES_ENOTFOUND) return es_err_set(err, rc, "server.model: cannot read model config \"%s\"", path);
    if (rc == ES_EINVAL)
        return es_err_set(err, rc, "server.model: \"%s\" is not a regular file or pipe (a device or directory "
                          "cannot be read)", path);
    if (rc == ES_ERANGE)
        return es_err_set(err, ES_EINVAL, "server.model: \"%s\" is larger than the %lld bytes a config.json may have",
                          path, (long long)ES_FILE_READ_MAX);
    if (rc) return es_err_set(err, rc, "server.model: cannot read model config \"%s\"", path);
    rc = es_model_config_parse(path, text, out, err);
    free(text);
    return rc;
}
