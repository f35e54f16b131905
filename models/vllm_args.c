/*
 * vllm_args.c -- `vllm serve` flags and settings files -> the server section.
 */
#include "es_vllm_args.h"
#include "es_server_config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What eppsim does with a flag. */
enum { USE_MODELLED, USE_RECORDED_ONLY, USE_NOT_MODELLED };
enum { T_INT, T_GIB, T_FRAC, T_BOOL, T_STR, T_POLICY, T_MODEL, T_OTHER };

typedef struct flag {
    const char *name;       /* without the leading dashes */
    int         type;
    size_t      off;        /* into es_vllm_serve_t; 0 for T_OTHER */
    int         use;
    const char *server_key; /* the server key it sets, or NULL */
} flag_t;

#define O(x) offsetof(es_vllm_serve_t, x)
static const flag_t k_flags[] = {
    {"model", T_MODEL, O(model), USE_MODELLED, "model"},
    {"max-num-seqs", T_INT, O(max_num_seqs), USE_MODELLED, "max_num_seqs"},
    {"max-num-batched-tokens", T_INT, O(max_num_batched_tokens), USE_MODELLED, "max_num_batched_tokens"},
    {"max-model-len", T_INT, O(max_model_len), USE_MODELLED, "max_model_len"},
    {"tensor-parallel-size", T_INT, O(tensor_parallel_size), USE_MODELLED, "tensor_parallel"},
    {"tensor-parallelism", T_INT, O(tensor_parallel_size), USE_MODELLED, "tensor_parallel"},  /* BLIS */
    {"block-size", T_INT, O(block_size), USE_MODELLED, "block_size"},
    {"long-prefill-token-threshold", T_INT, O(long_prefill_token_threshold), USE_MODELLED,
     "long_prefill_token_threshold"},
    {"num-gpu-blocks-override", T_INT, O(num_gpu_blocks_override), USE_MODELLED, "num_gpu_blocks"},
    {"gpu-memory-utilization", T_FRAC, O(gpu_memory_utilization), USE_MODELLED, "gpu_memory_utilization"},
    {"enable-prefix-caching", T_BOOL, O(enable_prefix_caching), USE_MODELLED, "enable_prefix_caching"},
    {"scheduling-policy", T_POLICY, O(scheduling_policy), USE_MODELLED, "scheduling_policy"},
    {"enable-chunked-prefill", T_BOOL, O(enable_chunked_prefill), USE_MODELLED, NULL},
    {"pipeline-parallel-size", T_INT, O(pipeline_parallel_size), USE_NOT_MODELLED, NULL},
    {"data-parallel-size", T_INT, O(data_parallel_size), USE_NOT_MODELLED, NULL},
    {"api-server-count", T_INT, O(api_server_count), USE_MODELLED, "api_server_count"},
    {"kv-offloading-size", T_GIB, O(kv_offloading_gib), USE_MODELLED, "kv_offloading_gib"},
    {"swap-space", T_GIB, O(swap_space_gib), USE_NOT_MODELLED, NULL},
    {"cpu-offload-gb", T_GIB, O(cpu_offload_gib), USE_NOT_MODELLED, NULL},
    {"async-scheduling", T_BOOL, O(async_scheduling), USE_MODELLED, "async_scheduling"},
    {"enforce-eager", T_BOOL, O(enforce_eager), USE_NOT_MODELLED, NULL},
    {"kv-cache-dtype", T_STR, O(kv_cache_dtype), USE_NOT_MODELLED, NULL},
    {"dtype", T_STR, O(dtype), USE_NOT_MODELLED, NULL},
    {"quantization", T_STR, O(quantization), USE_NOT_MODELLED, NULL},
    /* no effect on timing */
    {"host", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"port", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"served-model-name", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"seed", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"tokenizer", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"download-dir", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"trust-remote-code", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"disable-log-requests", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"disable-log-stats", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"uvicorn-log-level", T_OTHER, 0, USE_RECORDED_ONLY, NULL},
    {"app", T_OTHER, 0, USE_RECORDED_ONLY, NULL},   /* BLIS exp-config: the client's name */
};
#undef O

/* Short aliases argparse knows. */
static const char *const k_alias[][2] = {
    {"tp", "tensor-parallel-size"}, {"pp", "pipeline-parallel-size"}, {"dp", "data-parallel-size"},
};

static const char *const k_not_modelled_why[][2] = {
    {"pipeline-parallel-size", "a pod is one tensor-parallel group"},
    {"data-parallel-size", "a pod is one engine"},
    {"swap-space", "preempted requests recompute"},
    {"cpu-offload-gb", "weights stay in GPU memory"},
    {"enforce-eager", "step times are those of CUDA graphs"},
    {"kv-cache-dtype", "KV bytes per token follow the model's dtype"},
    {"dtype", "weights follow the step model"},
    {"quantization", "weights follow the step model"},
};

void es_vllm_serve_init(es_vllm_serve_t *s)
{
    memset(s, 0, sizeof *s);
    s->max_num_seqs = s->max_num_batched_tokens = s->max_model_len = ES_VLLM_UNSET;
    s->tensor_parallel_size = s->pipeline_parallel_size = s->data_parallel_size = ES_VLLM_UNSET;
    s->block_size = s->long_prefill_token_threshold = s->num_gpu_blocks_override = ES_VLLM_UNSET;
    s->api_server_count = ES_VLLM_UNSET;
    s->gpu_memory_utilization = s->kv_offloading_gib = s->swap_space_gib = s->cpu_offload_gib = ES_VLLM_UNSET;
    s->enable_prefix_caching = s->enable_chunked_prefill = s->async_scheduling = s->enforce_eager = ES_VLLM_UNSET;
    s->scheduling_policy = ES_VLLM_UNSET;
}

int es_vllm_version_parse(const char *text, int *out, es_err_t *err)
{
    const char *p = text;
    if (*p == 'v' || *p == 'V') p++;
    char *end;
    errno = 0;
    long major = strtol(p, &end, 10);
    long minor = 0;
    if (end == p || errno) goto bad;
    if (*end == '.') {
        p = end + 1;
        minor = strtol(p, &end, 10);
        if (end == p) goto bad;
        if (*end == '.') {              /* patch: read and ignore */
            p = end + 1;
            (void)strtol(p, &end, 10);
            if (end == p) goto bad;
        }
    }
    if (*end && *end != '+' && *end != 'r' && *end != '-') goto bad;   /* 0.11.0rc1, 0.11.0+cu128 */
    if (major < 0 || minor < 0 || minor > 99 || major > 99) goto bad;
    *out = (int)(major * 10000 + minor * 100);
    if (*out < 800)
        return es_err_set(err, ES_EUNSUPP, "vLLM %s: versions before 0.8 (the V0 engine) are not modelled", text);
    return 0;
bad:
    return es_err_set(err, ES_EINVAL, "\"%s\" is not a vLLM version (e.g. 0.11 or 0.15.1)", text);
}

/* ---- tokenising ---- */

int es_vllm_split_args(const char *text, char ***argv_out, int *argc_out, es_err_t *err)
{
    size_t len = strlen(text);
    /* words fit in len + 1 bytes plus one NUL each; at most len/2 + 1 words */
    size_t maxw = len / 2 + 2;
    char **argv = malloc(maxw * sizeof *argv + 2 * len + 2);
    if (!argv) return es_err_set(err, ES_ENOMEM, "out of memory");
    char *buf = (char *)(argv + maxw);
    int argc = 0;
    const char *p = text;
    char *w = buf;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
               (*p == '\\' && (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n'))))
            p += *p == '\\' ? (p[1] == '\r' ? 3 : 2) : 1;
        if (!*p) break;
        argv[argc++] = w;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');
                if (!q) { free(argv); return es_err_set(err, ES_EPARSE, "unterminated ' quote"); }
                memcpy(w, p + 1, (size_t)(q - p - 1));
                w += q - p - 1;
                p = q + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`')) p++;
                    *w++ = *p++;
                }
                if (*p != '"') { free(argv); return es_err_set(err, ES_EPARSE, "unterminated \" quote"); }
                p++;
            } else if (*p == '\\') {
                if (p[1] == '\n') { p += 2; continue; }
                if (!p[1]) { p++; continue; }
                *w++ = p[1];
                p += 2;
            } else {
                *w++ = *p++;
            }
        }
        *w++ = '\0';
    }
    *argv_out = argv;
    *argc_out = argc;
    return 0;
}

/* ---- one flag ---- */

static const flag_t *find_flag(const char *name)
{
    for (size_t i = 0; i < sizeof k_alias / sizeof k_alias[0]; i++)
        if (strcmp(name, k_alias[i][0]) == 0) { name = k_alias[i][1]; break; }
    for (size_t i = 0; i < sizeof k_flags / sizeof k_flags[0]; i++)
        if (strcmp(k_flags[i].name, name) == 0) return &k_flags[i];
    return NULL;
}

static void record(es_vllm_serve_t *s, const char *name, const char *value)
{
    /* a flag given twice is recorded once, with its last value */
    char item[96];
    snprintf(item, sizeof item, "--%s%s%s", name, value ? " " : "", value ? value : "");
    size_t nl = strlen(name) + 2;
    if (nl >= sizeof item) nl = sizeof item - 1;   /* a name cut short: compare the part kept */
    for (uint32_t i = 0; i < s->nrecorded; i++)
        if (strncmp(s->recorded[i], item, nl) == 0 && (s->recorded[i][nl] == ' ' || !s->recorded[i][nl])) {
            snprintf(s->recorded[i], sizeof s->recorded[i], "%s", item);
            return;
        }
    if (s->nrecorded < sizeof s->recorded / sizeof s->recorded[0])
        snprintf(s->recorded[s->nrecorded++], sizeof s->recorded[0], "%s", item);
}

/* vLLM's human_readable_int: 25.6k = 25600, 1K = 1024 (binary: integers only). */
static int parse_int(const char *v, int64_t *out)
{
    /* its grammar: [+]digits, or [+]digits[.digits] and a suffix (int() refuses 1e3, 0x10, inf) */
    const char *d = v + (*v == '+');
    size_t n = strspn(d, "0123456789");
    if (!n) return -1;
    if (d[n] == '.') {
        size_t f = strspn(d + n + 1, "0123456789");
        if (!f || !d[n + 1 + f]) return -1;
        n += 1 + f;
    }
    if (d[n] && d[n + 1]) return -1;
    char *end;
    errno = 0;
    double x = strtod(d, &end);
    if (end != d + n || errno || !isfinite(x)) return -1;
    double mult = 1;
    bool binary = false;
    if (*end) {
        if (end[1]) return -1;
        switch (*end) {
        case 'k': mult = 1e3; break;
        case 'm': mult = 1e6; break;
        case 'g': mult = 1e9; break;
        case 'K': mult = 1024; binary = true; break;
        case 'M': mult = 1048576; binary = true; break;
        case 'G': mult = 1073741824.0; binary = true; break;
        default: return -1;
        }
    }
    if ((binary || mult == 1) && x != floor(x)) return -1;
    x *= mult;
    if (x > 9e15) return -1;
    *out = (int64_t)x;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1")) { *out = 1; return 0; }
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0")) { *out = 0; return 0; }
    return -1;
}

/* What vLLM's argparse accepts where it has choices (vllm-project/vllm,
 * vllm/config/cache.py and model.py): BlockSize, the --block-size choices
 * through the 0.11 releases (later ones take any size the attention kernels
 * do, which these are); ModelDType; CacheDType (the newest list, a superset
 * of the older ones). */
static const int64_t k_block_sizes[] = {1, 8, 16, 32, 64, 128};
static const char *const k_dtypes[] = {"auto", "half", "float16", "bfloat16", "float", "float32", NULL};
static const char *const k_kv_dtypes[] = {
    "auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc", "fp8_ds_mla", "nvfp4_ds_mla",
    "turboquant_k8v4", "turboquant_4bit_nc", "turboquant_k3v4_nc", "turboquant_3bit_nc", "int4_per_token_head",
    "int8_per_token_head", "fp8_per_token_head", "nvfp4", "nvfp4_4over6", NULL};

bool es_vllm_block_size_ok(int64_t v)
{
    for (size_t i = 0; i < sizeof k_block_sizes / sizeof k_block_sizes[0]; i++)
        if (v == k_block_sizes[i]) return true;
    return false;
}

static bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++) if (!strcmp(v, *list)) return true;
    return false;
}

static const char *const *choices_of(const char *flag)
{
    if (!strcmp(flag, "dtype")) return k_dtypes;
    if (!strcmp(flag, "kv-cache-dtype")) return k_kv_dtypes;
    return NULL;
}

bool es_vllm_choice_ok(const char *flag, const char *value, char *choices, size_t size)
{
    const char *const *list = choices_of(flag);
    if (!list || in_list(value, list)) return true;
    size_t k = 0;
    if (choices && size) choices[0] = '\0';
    for (; choices && *list && k + 1 < size; list++) {
        int n = snprintf(choices + k, size - k, "%s%s", k ? ", " : "", *list);
        if (n < 0) break;
        k += (size_t)n;
    }
    return false;
}

/* Sets one known flag from its text value (NULL: a bare boolean flag). */
static int set_flag(es_vllm_serve_t *s, const flag_t *f, const char *value, const char *what, es_err_t *err)
{
    char *base = (char *)s;
    switch (f->type) {
    case T_INT: {
        int64_t v;
        if (!value || parse_int(value, &v) || v < 1)
            return es_err_set(err, ES_EINVAL, "%s: --%s: expected a positive integer, got \"%s\"", what, f->name,
                              value ? value : "");
        if (f->off == offsetof(es_vllm_serve_t, api_server_count) && v > 64)
            return es_err_set(err, ES_EINVAL, "%s: --api-server-count: eppsim models at most 64, got %lld", what,
                              (long long)v);
        if (f->off == offsetof(es_vllm_serve_t, block_size) && !es_vllm_block_size_ok(v))
            return es_err_set(err, ES_EINVAL, "%s: --block-size: %lld is not one of vLLM's choices "
                              "(1, 8, 16, 32, 64, 128)", what, (long long)v);
        /* the server key's range, as if the setting were written there */
        const es_schema_entry_t *e = f->server_key ? es_schema_lookup(&es_server_schema, f->server_key, NULL) : NULL;
        if (e && e->type == ES_ST_INT && ((double)v < e->min || (double)v > e->max))
            return es_err_set(err, ES_EINVAL, "%s: --%s: %lld is out of range [%.0f, %.0f] (server.%s)", what, f->name,
                              (long long)v, e->min, e->max, f->server_key);
        *(int64_t *)(base + f->off) = v;
        break;
    }
    case T_GIB:
    case T_FRAC: {
        char *end;
        double v = value ? strtod(value, &end) : NAN;
        if (!value || end == value || *end || !isfinite(v) || v < 0 || (f->type == T_FRAC && (v <= 0 || v > 1)))
            return es_err_set(err, ES_EINVAL, "%s: --%s: expected %s, got \"%s\"", what, f->name,
                              f->type == T_FRAC ? "a fraction in (0, 1]" : "a size in GiB", value ? value : "");
        *(double *)(base + f->off) = v;
        break;
    }
    case T_BOOL: {
        int v = 1;
        if (value && parse_bool(value, &v))
            return es_err_set(err, ES_EINVAL, "%s: --%s: expected true or false, got \"%s\"", what, f->name, value);
        *(int *)(base + f->off) = v;
        break;
    }
    case T_STR:
    case T_MODEL: {
        if (!value || !*value) return es_err_set(err, ES_EINVAL, "%s: --%s needs a value", what, f->name);
        size_t cap = f->type == T_MODEL ? sizeof s->model : f->off == offsetof(es_vllm_serve_t, quantization)
                                                                 ? sizeof s->quantization : sizeof s->dtype;
        if (strlen(value) >= cap) return es_err_set(err, ES_EINVAL, "%s: --%s: value too long", what, f->name);
        char known[600];
        if (!es_vllm_choice_ok(f->name, value, known, sizeof known))
            return es_err_set(err, ES_EINVAL, "%s: --%s: \"%s\" is not one of vLLM's choices (%s)", what, f->name,
                              value, known);
        memcpy(base + f->off, value, strlen(value) + 1);
        break;
    }
    case T_POLICY:
        if (!value || (strcmp(value, "fcfs") && strcmp(value, "priority")))
            return es_err_set(err, ES_EINVAL, "%s: --scheduling-policy: expected fcfs or priority, got \"%s\"", what,
                              value ? value : "");
        s->scheduling_policy = strcmp(value, "fcfs") == 0 ? ES_POLICY_FCFS : ES_POLICY_PRIORITY;
        break;
    default:
        break;
    }
    if (f->use != USE_MODELLED || f->type == T_OTHER) record(s, f->name, value);
    return 0;
}

/* argparse reads "-0.5" after a flag as its value (no vLLM flag looks like a number) */
static bool looks_negative(const char *a)
{
    return a[0] == '-' && (isdigit((unsigned char)a[1]) || (a[1] == '.' && isdigit((unsigned char)a[2])));
}

int es_vllm_parse_args(const char *text, const char *what, es_vllm_serve_t *s, es_err_t *err)
{
    char **argv;
    int argc;
    int rc = es_vllm_split_args(text, &argv, &argc, err);
    if (rc) {
        char m[ES_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", err ? err->msg : "");
        return es_err_set(err, rc, "%s: %s", what, m);
    }
    int i = 0;
    if (argc >= 2 && strcmp(argv[0], "vllm") == 0 && strcmp(argv[1], "serve") == 0) i = 2;
    if (i < argc && argv[i][0] != '-') {
        if (strlen(argv[i]) >= sizeof s->model) { rc = es_err_set(err, ES_EINVAL, "%s: model name too long", what); goto out; }
        snprintf(s->model, sizeof s->model, "%s", argv[i]);
        i++;
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            rc = es_err_set(err, ES_EINVAL, "%s: unexpected argument \"%s\" (flags start with --)", what, a);
            goto out;
        }
        char name[96];
        const char *value = NULL;
        const char *n = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(n, '=');
        size_t nl = eq ? (size_t)(eq - n) : strlen(n);
        if (nl >= sizeof name) { rc = es_err_set(err, ES_EINVAL, "%s: flag too long: %.40s", what, a); goto out; }
        memcpy(name, n, nl);
        name[nl] = '\0';
        for (char *c = name; *c; c++) if (*c == '_') *c = '-';
        if (eq) value = eq + 1;
        bool negated = false;
        const flag_t *f = find_flag(name);
        if (!f && strncmp(name, "no-", 3) == 0) {
            f = find_flag(name + 3);
            if (f && f->type == T_BOOL) negated = true;
            else f = NULL;
        }
        if (f && f->type == T_BOOL) {
            if (negated) {
                if (value) { rc = es_err_set(err, ES_EINVAL, "%s: --%s takes no value", what, name); goto out; }
                value = "false";
            }
        } else if (!value && i + 1 < argc &&
                   (argv[i + 1][0] != '-' || !f || f->type == T_INT || looks_negative(argv[i + 1]))) {
            /* a value (unknown flags: the next word unless it is a flag) */
            if (f || argv[i + 1][0] != '-') value = argv[++i];
        }
        if (!f) {
            record(s, name, value);
            continue;
        }
        if (f->type == T_OTHER) { record(s, f->name, value); continue; }
        if ((rc = set_flag(s, f, value, what, err))) goto out;
    }
out:
    free(argv);
    return rc;
}

int es_vllm_parse_map(const es_node_t *map, const char *path, es_vllm_serve_t *s, es_err_t *err)
{
    int rc = es_node_expect_map(map, path, err);
    if (rc) return rc;
    for (size_t i = 0; i < map->n; i++) {
        const es_node_t *v = map->items[i];
        char name[96], kp[256];
        snprintf(name, sizeof name, "%s", map->keys[i]);
        for (char *c = name; *c; c++) if (*c == '_') *c = '-';
        snprintf(kp, sizeof kp, "%s%s%s", path, *path ? "." : "", map->keys[i]);
        if (v->kind != ES_NODE_SCALAR)
            return es_node_err(err, ES_EINVAL, v, kp, "expected a single value");
        /* max-num-seqs and max_num_seqs are one setting: given twice, which wins? */
        for (size_t j = 0; j < i; j++) {
            char other[96];
            snprintf(other, sizeof other, "%s", map->keys[j]);
            for (char *c = other; *c; c++) if (*c == '_') *c = '-';
            if (!strcmp(other, name))
                return es_node_err(err, ES_EINVAL, v, kp, "the same setting as '%s' (line %u): give it once",
                                   map->keys[j], map->items[j]->line);
        }
        const flag_t *f = find_flag(name);
        if (!f) { record(s, name, v->str); continue; }
        if (f->type == T_OTHER) { record(s, f->name, v->str); continue; }
        es_err_t e2;
        es_err_clear(&e2);
        if (set_flag(s, f, v->str, kp, &e2)) {
            const char *m = strstr(e2.msg, ": --");
            m = m ? strchr(m + 4, ':') : NULL;
            return es_node_err(err, e2.code, v, kp, "%s", m ? m + 2 : e2.msg);
        }
    }
    return 0;
}

/* ---- defaults ---- */

void es_vllm_resolve(const es_vllm_serve_t *in, int version, const char *gpu_name, double gpu_mem_gib,
                     es_vllm_serve_t *out)
{
    *out = *in;
    char lower[160];
    size_t k = 0;
    for (const char *c = gpu_name ? gpu_name : ""; *c && k + 1 < sizeof lower; c++)
        lower[k++] = (char)tolower((unsigned char)*c);
    lower[k] = '\0';
    bool big = gpu_mem_gib >= 70.0 && strstr(lower, "a100") == NULL;
    if (out->enable_chunked_prefill == ES_VLLM_UNSET) out->enable_chunked_prefill = 1;
    if (out->enable_prefix_caching == ES_VLLM_UNSET) out->enable_prefix_caching = 1;
    if (out->max_num_batched_tokens == ES_VLLM_UNSET) {
        /* without chunked prefill a step must hold a whole prompt */
        if (!out->enable_chunked_prefill && out->max_model_len > 0) out->max_num_batched_tokens = out->max_model_len;
        else out->max_num_batched_tokens = big ? 8192 : 2048;
    }
    if (out->max_num_seqs == ES_VLLM_UNSET) {
        int64_t d = big ? 1024 : 256;
        out->max_num_seqs = d < out->max_num_batched_tokens ? d : out->max_num_batched_tokens;
    }
    if (out->max_model_len == ES_VLLM_UNSET) out->max_model_len = 0;
    if (out->tensor_parallel_size == ES_VLLM_UNSET) out->tensor_parallel_size = 1;
    if (out->pipeline_parallel_size == ES_VLLM_UNSET) out->pipeline_parallel_size = 1;
    if (out->data_parallel_size == ES_VLLM_UNSET) out->data_parallel_size = 1;
    if (out->block_size == ES_VLLM_UNSET) out->block_size = 16;
    if (out->long_prefill_token_threshold == ES_VLLM_UNSET) out->long_prefill_token_threshold = 0;
    if (out->num_gpu_blocks_override == ES_VLLM_UNSET) out->num_gpu_blocks_override = 0;
    if (out->api_server_count == ES_VLLM_UNSET) out->api_server_count = out->data_parallel_size;
    if (out->gpu_memory_utilization < 0) out->gpu_memory_utilization = 0.9;
    if (out->kv_offloading_gib < 0) out->kv_offloading_gib = 0;
    if (out->swap_space_gib < 0) out->swap_space_gib = 4;
    if (out->cpu_offload_gib < 0) out->cpu_offload_gib = 0;
    if (out->async_scheduling == ES_VLLM_UNSET) out->async_scheduling = version >= 1400;
    if (out->enforce_eager == ES_VLLM_UNSET) out->enforce_eager = 0;
    if (out->scheduling_policy == ES_VLLM_UNSET) out->scheduling_policy = ES_POLICY_FCFS;
    if (!out->kv_cache_dtype[0]) snprintf(out->kv_cache_dtype, sizeof out->kv_cache_dtype, "auto");
    if (!out->dtype[0]) snprintf(out->dtype, sizeof out->dtype, "auto");
}

static const char *why(const char *name)
{
    for (size_t i = 0; i < sizeof k_not_modelled_why / sizeof k_not_modelled_why[0]; i++)
        if (strcmp(k_not_modelled_why[i][0], name) == 0) return k_not_modelled_why[i][1];
    return NULL;
}

static void addf(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void addf(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

void es_vllm_warnings(const es_vllm_serve_t *r, char *buf, size_t size)
{
    /* settings that change timing but are not modelled: warn when they differ from the engine eppsim models */
    if (r->pipeline_parallel_size > 1)
        addf(buf, size, "--pipeline-parallel-size %lld is recorded but not modelled (%s)\n",
             (long long)r->pipeline_parallel_size, why("pipeline-parallel-size"));
    if (r->data_parallel_size > 1)
        addf(buf, size, "--data-parallel-size %lld is recorded but not modelled (%s)\n",
             (long long)r->data_parallel_size, why("data-parallel-size"));
    if (r->cpu_offload_gib > 0)
        addf(buf, size, "--cpu-offload-gb %g is recorded but not modelled (%s)\n", r->cpu_offload_gib,
             why("cpu-offload-gb"));
    if (r->enforce_eager == 1)
        addf(buf, size, "--enforce-eager is recorded but not modelled (%s)\n", why("enforce-eager"));
    if (strcmp(r->kv_cache_dtype, "auto") != 0)
        addf(buf, size, "--kv-cache-dtype %s is recorded but not modelled (%s)\n", r->kv_cache_dtype,
             why("kv-cache-dtype"));
    if (strcmp(r->dtype, "auto") != 0)
        addf(buf, size, "--dtype %s is recorded but not modelled (%s)\n", r->dtype, why("dtype"));
    if (r->quantization[0])
        addf(buf, size, "--quantization %s is recorded but not modelled (%s)\n", r->quantization, why("quantization"));
    if (r->enable_chunked_prefill == 0)
        addf(buf, size, "chunked prefill off is recorded but not modelled (eppsim's engine always chunks; "
                        "max_num_batched_tokens follows vLLM's rule)\n");
    /* flags unknown to the table */
    for (uint32_t i = 0; i < r->nrecorded; i++) {
        char name[96];
        sscanf(r->recorded[i] + 2, "%95[^ ]", name);
        if (!find_flag(name))
            addf(buf, size, "%s is not a flag eppsim knows: recorded, not modelled\n", r->recorded[i]);
    }
}

/* ---- onto the server section ---- */

static const struct { const char *key; size_t voff; int kind; } k_apply[] = {
    {"max_num_seqs", offsetof(es_vllm_serve_t, max_num_seqs), 0},
    {"max_num_batched_tokens", offsetof(es_vllm_serve_t, max_num_batched_tokens), 0},
    {"max_model_len", offsetof(es_vllm_serve_t, max_model_len), 0},
    {"tensor_parallel", offsetof(es_vllm_serve_t, tensor_parallel_size), 0},
    {"block_size", offsetof(es_vllm_serve_t, block_size), 0},
    {"long_prefill_token_threshold", offsetof(es_vllm_serve_t, long_prefill_token_threshold), 0},
    {"num_gpu_blocks", offsetof(es_vllm_serve_t, num_gpu_blocks_override), 0},
    {"gpu_memory_utilization", offsetof(es_vllm_serve_t, gpu_memory_utilization), 1},
    {"enable_prefix_caching", offsetof(es_vllm_serve_t, enable_prefix_caching), 2},
    {"scheduling_policy", offsetof(es_vllm_serve_t, scheduling_policy), 2},
    {"api_server_count", offsetof(es_vllm_serve_t, api_server_count), 0},
    {"kv_offloading_gib", offsetof(es_vllm_serve_t, kv_offloading_gib), 1},
    {"async_scheduling", offsetof(es_vllm_serve_t, async_scheduling), 2},
};

void es_vllm_apply(const es_vllm_serve_t *r, es_vllm_explicit_fn explicit_key, void *ud, es_server_config_t *cfg)
{
    const char *base = (const char *)r;
    for (size_t i = 0; i < sizeof k_apply / sizeof k_apply[0]; i++) {
        if (explicit_key && explicit_key(ud, k_apply[i].key)) continue;
        const char *k = k_apply[i].key;
        int64_t iv = k_apply[i].kind == 0 ? *(const int64_t *)(base + k_apply[i].voff) : 0;
        if (!strcmp(k, "max_num_seqs")) cfg->max_num_seqs = iv;
        else if (!strcmp(k, "max_num_batched_tokens")) cfg->max_num_batched_tokens = iv;
        else if (!strcmp(k, "max_model_len")) cfg->max_model_len = iv;
        else if (!strcmp(k, "tensor_parallel")) cfg->tensor_parallel = iv;
        else if (!strcmp(k, "block_size")) cfg->block_size = iv;
        else if (!strcmp(k, "long_prefill_token_threshold")) cfg->long_prefill_token_threshold = iv;
        else if (!strcmp(k, "num_gpu_blocks")) cfg->num_gpu_blocks = iv;
        else if (!strcmp(k, "gpu_memory_utilization")) cfg->gpu_memory_utilization = r->gpu_memory_utilization;
        else if (!strcmp(k, "enable_prefix_caching")) cfg->enable_prefix_caching = r->enable_prefix_caching == 1;
        else if (!strcmp(k, "scheduling_policy")) cfg->scheduling_policy = r->scheduling_policy;
        else if (!strcmp(k, "api_server_count")) cfg->api_server_count = iv;
        /* vLLM's size is the buffer summed over the TP ranks; the server key is per GPU */
        else if (!strcmp(k, "kv_offloading_gib"))
            cfg->kv_offloading_gib = r->kv_offloading_gib / (double)(r->tensor_parallel_size > 0 ? r->tensor_parallel_size : 1);
        else if (!strcmp(k, "async_scheduling")) cfg->async_scheduling = r->async_scheduling == 1 ? ES_ASYNC_ON : ES_ASYNC_OFF;
    }
}

const char *es_vllm_conflict(const es_vllm_serve_t *given, const es_server_config_t *cfg,
                             es_vllm_explicit_fn explicit_key, void *ud)
{
    if (!explicit_key) return NULL;
    const char *base = (const char *)given;
    for (size_t i = 0; i < sizeof k_flags / sizeof k_flags[0]; i++) {
        const flag_t *f = &k_flags[i];
        if (!f->server_key || !explicit_key(ud, f->server_key)) continue;
        const char *k = f->server_key;
        bool differs = false;
        if (f->type == T_INT) {
            int64_t v = *(const int64_t *)(base + f->off), have = 0;
            if (v == ES_VLLM_UNSET) continue;
            if (!strcmp(k, "max_num_seqs")) have = cfg->max_num_seqs;
            else if (!strcmp(k, "max_num_batched_tokens")) have = cfg->max_num_batched_tokens;
            else if (!strcmp(k, "max_model_len")) have = cfg->max_model_len;
            else if (!strcmp(k, "tensor_parallel")) have = cfg->tensor_parallel;
            else if (!strcmp(k, "block_size")) have = cfg->block_size;
            else if (!strcmp(k, "long_prefill_token_threshold")) have = cfg->long_prefill_token_threshold;
            else if (!strcmp(k, "num_gpu_blocks")) have = cfg->num_gpu_blocks;
            else if (!strcmp(k, "api_server_count")) have = cfg->api_server_count;
            differs = v != have;
        } else if (f->type == T_FRAC) {
            if (given->gpu_memory_utilization < 0) continue;
            differs = given->gpu_memory_utilization != cfg->gpu_memory_utilization;
        } else if (f->type == T_GIB) {
            double v = *(const double *)(base + f->off);
            if (v < 0) continue;
            int64_t tp = given->tensor_parallel_size > 0 ? given->tensor_parallel_size : 1;
            differs = v / (double)tp != cfg->kv_offloading_gib;
        } else if (f->type == T_BOOL && !strcmp(k, "async_scheduling")) {
            if (given->async_scheduling == ES_VLLM_UNSET) continue;
            differs = cfg->async_scheduling != (given->async_scheduling == 1 ? ES_ASYNC_ON : ES_ASYNC_OFF);
        } else if (f->type == T_BOOL) {
            if (given->enable_prefix_caching == ES_VLLM_UNSET) continue;
            differs = (given->enable_prefix_caching == 1) != cfg->enable_prefix_caching;
        } else if (f->type == T_POLICY) {
            if (given->scheduling_policy == ES_VLLM_UNSET) continue;
            differs = given->scheduling_policy != cfg->scheduling_policy;
        } else if (f->type == T_MODEL) {
            char key[256];
            if (!given->model[0]) continue;
            es_vllm_model_key(given->model, key, sizeof key);
            differs = strcmp(key, cfg->model) != 0 && strcmp(given->model, cfg->model) != 0;
        }
        if (differs) return k;
    }
    return NULL;
}

void es_vllm_model_key(const char *hf_name, char *buf, size_t size)
{
    const char *slash = strrchr(hf_name, '/');
    const char *n = slash ? slash + 1 : hf_name;
    size_t k = 0;
    for (; *n && k + 1 < size; n++) buf[k++] = (char)tolower((unsigned char)*n);
    buf[k] = '\0';
    static const char *const k_suffixes[] = {"-hf", "-instruct", "-chat"};
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < sizeof k_suffixes / sizeof k_suffixes[0]; i++) {
            size_t sl = strlen(k_suffixes[i]), bl = strlen(buf);
            if (bl > sl && strcmp(buf + bl - sl, k_suffixes[i]) == 0) { buf[bl - sl] = '\0'; again = true; }
        }
    }
}
