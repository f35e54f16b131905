/*
 * inference_perf.c -- reading an inference-perf config (inference_perf.h).
 *
 * Keys are checked against the schema of the build mirrored.  A key table
 * per section says which build knows each key; a key the 2025-10 build does
 * not know is ignored with a warning (pydantic's default `extra="ignore"`
 * there), and one the current build does not know is an error (its
 * StrictBaseModel forbids extras).  Sections eppsim has no use for
 * (storage, report, metrics, tokenizer, circuit breakers) are accepted as
 * they are.
 */
#include "es_inference_perf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "es_str.h"

enum { K_OLD = 1, K_CUR = 2, K_BOTH = 3 };

typedef struct key {
    const char *name;
    int         known;            /* K_* */
    const char *old_instead;      /* what the 2025-10 build did when it is absent there */
} key_t;

static const char *const k_commit[] = {"7de5ef2, 2026-08-19",
                                       "3b6f82a, between b81afa4 and ad40050"};

int es_ip_version_parse(const char *name)
{
    if (!name) return -1;
    if (strcmp(name, "current") == 0) return ES_IP_CURRENT;
    if (strcmp(name, "2025-10") == 0 || strcmp(name, "2025-11") == 0) return ES_IP_2025_10;
    return -1;
}

const char *es_ip_version_name(int v) { return v == ES_IP_2025_10 ? "2025-10" : "current"; }
const char *es_ip_version_commit(int v) { return k_commit[v == ES_IP_2025_10]; }

double es_ip_timeout_s(const es_ip_config_t *c)
{
    return c->request_timeout > 0 ? c->request_timeout : ES_IP_AIOHTTP_TIMEOUT_S;
}

int64_t es_ip_worker_cap(const es_ip_config_t *c)
{
    int64_t w = c->num_workers > 0 ? c->num_workers : ES_IP_DEFAULT_WORKERS;
    return w * c->worker_max_concurrency;
}

/* ---------------------------------------------------------------- helpers */

typedef struct ctx {
    es_ip_config_t *c;
    es_err_t       *err;
    const char     *base_dir;
} ctx_t;

static int warn(ctx_t *x, const es_node_t *n, const char *fmt, ...)
{
    char msg[768], full[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s:%u: %s", n && n->doc ? n->doc->file : x->c->file, n ? n->line : 0, msg);
    char **w = realloc(x->c->warnings, (x->c->nwarnings + 1) * sizeof *w);
    if (!w) return es_err_set(x->err, ES_ENOMEM, "out of memory");
    x->c->warnings = w;
    if (!(w[x->c->nwarnings] = es_strdup(full))) return es_err_set(x->err, ES_ENOMEM, "out of memory");
    x->c->nwarnings++;
    return 0;
}

/* Checks a map's keys against a table; 2025-10 warns and ignores keys it did
 * not know, current fails on them.  Returns < 0 on error. */
static int check_keys(ctx_t *x, const es_node_t *map, const char *path, const key_t *keys)
{
    int rc = es_node_expect_map(map, path, x->err);
    if (rc < 0) return rc;
    int want = x->c->version == ES_IP_2025_10 ? K_OLD : K_CUR;
    for (size_t i = 0; i < map->n; i++) {
        const key_t *k = NULL;
        for (const key_t *p = keys; p->name; p++)
            if (strcmp(p->name, map->keys[i]) == 0) { k = p; break; }
        char kp[256];
        snprintf(kp, sizeof kp, "%s%s%s", path, *path ? "." : "", map->keys[i]);
        es_node_t at = *map->items[i];
        at.line = map->key_lines ? map->key_lines[i] : at.line;
        if (k && (k->known & want)) continue;
        if (want == K_CUR) {
            if (k) return es_node_err(x->err, ES_EINVAL, &at, kp,
                                      "known only to inference-perf 2025-10; the current build rejects it");
            return es_node_err(x->err, ES_EINVAL, &at, kp, "unknown key (inference-perf %s forbids extra keys)",
                               es_ip_version_commit(ES_IP_CURRENT));
        }
        if ((rc = warn(x, &at, "%s: unknown to inference-perf 2025-10 (%s), which ignored it%s%s", kp,
                       es_ip_version_commit(ES_IP_2025_10), k && k->old_instead ? "; it " : "",
                       k && k->old_instead ? k->old_instead : "")) < 0)
            return rc;
    }
    return 0;
}

/* A key is used only when the version knows it (else check_keys warned). */
static const es_node_t *get(ctx_t *x, const es_node_t *map, const key_t *keys, const char *name)
{
    int want = x->c->version == ES_IP_2025_10 ? K_OLD : K_CUR;
    for (const key_t *p = keys; p->name; p++)
        if (strcmp(p->name, name) == 0 && !(p->known & want)) return NULL;
    const es_node_t *n = es_map_get(map, name);
    return n && !es_node_is_null(n) ? n : NULL;
}

static int get_double(ctx_t *x, const es_node_t *map, const key_t *keys, const char *path, const char *name,
                      double lo, double hi, double *out)
{
    const es_node_t *n = get(x, map, keys, name);
    if (!n) return 0;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%s", path, name);
    return es_node_to_double(n, kp, lo, hi, out, x->err);
}

static int get_int(ctx_t *x, const es_node_t *map, const key_t *keys, const char *path, const char *name,
                   int64_t lo, int64_t hi, int64_t *out)
{
    const es_node_t *n = get(x, map, keys, name);
    if (!n) return 0;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%s", path, name);
    return es_node_to_i64(n, kp, lo, hi, out, x->err);
}

static int get_bool(ctx_t *x, const es_node_t *map, const key_t *keys, const char *path, const char *name, bool *out)
{
    const es_node_t *n = get(x, map, keys, name);
    if (!n) return 0;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%s", path, name);
    return es_node_to_bool(n, kp, out, x->err);
}

static int get_str(ctx_t *x, const es_node_t *map, const key_t *keys, const char *path, const char *name, char **out)
{
    const es_node_t *n = get(x, map, keys, name);
    if (!n) return 0;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%s", path, name);
    const char *s;
    int rc = es_node_to_str(n, kp, &s, x->err);
    if (rc < 0) return rc;
    free(*out);
    if (!(*out = es_strdup(s))) return es_err_set(x->err, ES_ENOMEM, "out of memory");
    return 0;
}

static const key_t k_dist[] = {
    {"min", K_BOTH, NULL}, {"max", K_BOTH, NULL}, {"mean", K_BOTH, NULL}, {"std_dev", K_BOTH, NULL},
    {"total_count", K_BOTH, NULL}, {"type", K_CUR, "used a normal distribution"},
    {"variance", K_CUR, "used std_dev"}, {"skew", K_CUR, "used a normal distribution"}, {NULL, 0, NULL}};

static int parse_dist(ctx_t *x, const es_node_t *n, const char *path, es_ip_dist_t *d)
{
    *d = (es_ip_dist_t){10, 1024, 512, 200, 0, false};
    if (n->kind == ES_NODE_SCALAR) {   /* current: an int is a fixed length */
        int64_t v;
        int rc = es_node_to_i64(n, path, 0, 100000000, &v, x->err);
        if (rc < 0) return rc;
        *d = (es_ip_dist_t){(double)v, (double)v, (double)v, 0, 0, true};
        return 0;
    }
    int rc = check_keys(x, n, path, k_dist);
    if (rc < 0) return rc;
    if ((rc = get_double(x, n, k_dist, path, "min", 0, 1e9, &d->min)) < 0) return rc;
    if ((rc = get_double(x, n, k_dist, path, "max", 0, 1e9, &d->max)) < 0) return rc;
    if ((rc = get_double(x, n, k_dist, path, "mean", 0, 1e9, &d->mean)) < 0) return rc;
    if ((rc = get_double(x, n, k_dist, path, "std_dev", 0, 1e9, &d->std_dev)) < 0) return rc;
    if ((rc = get_int(x, n, k_dist, path, "total_count", 1, ES_IP_MAX_REQUESTS, &d->total_count)) < 0) return rc;
    double var = -1;
    if ((rc = get_double(x, n, k_dist, path, "variance", 0, 1e18, &var)) < 0) return rc;
    if (var >= 0) { d->std_dev = 0; for (double s = 0; s * s <= var; s += 0.5) d->std_dev = s; }
    const es_node_t *t = get(x, n, k_dist, "type");
    if (t) {
        static const char *const types[] = {"normal", "fixed", NULL};
        int v;
        char kp[256];
        snprintf(kp, sizeof kp, "%s.type", path);
        if ((rc = es_node_to_enum(t, kp, types, &v, x->err)) < 0)
            return es_node_err(x->err, ES_EINVAL, t, kp, "eppsim reads the normal and fixed distributions only");
        d->fixed = v == 1;
    }
    if (d->min > d->max) return es_node_err(x->err, ES_EINVAL, n, path, "min (%g) is above max (%g)", d->min, d->max);
    return 0;
}

/* ---------------------------------------------------------------- data */

/* data.multimodal / data.shared_prefix.multimodal (current build only;
 * config/datagen/multimodal.py SyntheticMultimodalDatagenConfig): images
 * become workload.images items (docs/workloads.md, "inference-perf"). */
static const key_t k_mm[] = {{"image", K_CUR, NULL}, {"video", K_CUR, NULL}, {"audio", K_CUR, NULL}, {NULL, 0, NULL}};
static const key_t k_mm_image[] = {{"count", K_CUR, NULL}, {"insertion_point", K_CUR, NULL},
                                   {"resolutions", K_CUR, NULL}, {"representation", K_CUR, NULL}, {NULL, 0, NULL}};
static const key_t k_mm_res[] = {{"height", K_CUR, NULL}, {"width", K_CUR, NULL}, {NULL, 0, NULL}};
static const key_t k_mm_wres[] = {{"resolution", K_CUR, NULL}, {"weight", K_CUR, NULL}, {NULL, 0, NULL}};

/* AnyResolution: a ResolutionPreset or {height, width} */
static int parse_resolution(ctx_t *x, const es_node_t *n, const char *path)
{
    if (n->kind == ES_NODE_SCALAR) {
        static const char *const presets[] = {"4k", "1080p", "720p", "360p", NULL};
        int v;
        return es_node_to_enum(n, path, presets, &v, x->err);
    }
    int rc = check_keys(x, n, path, k_mm_res);
    int64_t h = 0, w = 0;
    if (rc < 0 || (rc = get_int(x, n, k_mm_res, path, "height", 1, 1000000, &h)) < 0 ||
        (rc = get_int(x, n, k_mm_res, path, "width", 1, 1000000, &w)) < 0)
        return rc;
    if (!h || !w) return es_node_err(x->err, ES_EINVAL, n, path, "a Resolution needs height and width");
    return 0;
}

static int parse_multimodal(ctx_t *x, const es_node_t *m, const char *path, es_ip_images_t *out)
{
    int rc = check_keys(x, m, path, k_mm);
    if (rc < 0) return rc;
    char kp[256];
    static const char *const other[] = {"video", "audio"};
    for (size_t i = 0; i < 2; i++) {
        const es_node_t *o = get(x, m, k_mm, other[i]);
        snprintf(kp, sizeof kp, "%s.%s", path, other[i]);
        if (o && !es_node_is_null(o))
            return es_node_err(x->err, ES_EUNSUPP, o, kp, "eppsim models images only (no %s encoder): drop it, "
                               "or describe the media as images in workload.images", other[i]);
    }
    const es_node_t *img = get(x, m, k_mm, "image");
    if (!img || es_node_is_null(img)) return 0;
    snprintf(kp, sizeof kp, "%s.image", path);
    if ((rc = check_keys(x, img, kp, k_mm_image)) < 0) return rc;
    char sub[300];
    const es_node_t *n;
    if ((n = get(x, img, k_mm_image, "resolutions")) && !es_node_is_null(n)) {
        snprintf(sub, sizeof sub, "%s.resolutions", kp);
        if (n->kind == ES_NODE_SEQ) {
            for (size_t i = 0; i < n->n; i++) {
                char ip[320];
                snprintf(ip, sizeof ip, "%s[%zu]", sub, i);
                const es_node_t *wr = n->items[i], *r;
                double wgt = 1;
                if ((rc = check_keys(x, wr, ip, k_mm_wres)) < 0 ||
                    (rc = get_double(x, wr, k_mm_wres, ip, "weight", -1e300, 1e300, &wgt)) < 0)
                    return rc;
                if (!(r = get(x, wr, k_mm_wres, "resolution")))
                    return es_node_err(x->err, ES_EINVAL, wr, ip, "a WeightedResolution needs resolution");
                char rp[340];
                snprintf(rp, sizeof rp, "%s.resolution", ip);
                if ((rc = parse_resolution(x, r, rp)) < 0) return rc;
            }
        } else if ((rc = parse_resolution(x, n, sub)) < 0) {
            return rc;
        }
        if ((rc = warn(x, n, "%s: read, but every image counts workload.images.tokens placeholder tokens whatever its "
                       "resolution (docs/workloads.md)", sub)) < 0)
            return rc;
    }
    if ((n = get(x, img, k_mm_image, "representation")) && !es_node_is_null(n)) {
        static const char *const reps[] = {"png", "jpeg", NULL};
        int v;
        snprintf(sub, sizeof sub, "%s.representation", kp);
        if ((rc = es_node_to_enum(n, sub, reps, &v, x->err)) < 0) return rc;
    }
    if ((n = get(x, img, k_mm_image, "insertion_point")) && !es_node_is_null(n)) {
        snprintf(sub, sizeof sub, "%s.insertion_point", kp);
        es_ip_dist_t ignored;
        double at;
        if (n->kind == ES_NODE_SCALAR) { if ((rc = es_node_to_double(n, sub, 0, 1, &at, x->err)) < 0) return rc; }
        else if ((rc = parse_dist(x, n, sub, &ignored)) < 0) return rc;
        if ((rc = warn(x, n, "%s: read, but eppsim places a request's images before its own text (the question or "
                       "unique part; docs/workloads.md, Images)", sub)) < 0)
            return rc;
    }
    if (!(n = get(x, img, k_mm_image, "count")) || es_node_is_null(n)) return 0;   /* no count: no images upstream */
    snprintf(sub, sizeof sub, "%s.count", kp);
    if ((rc = parse_dist(x, n, sub, &out->count)) < 0) return rc;
    if (out->count.max > ES_IP_MAX_IMAGES)
        return es_node_err(x->err, ES_ERANGE, n, sub, "at most %d images a request in eppsim (workload.images)",
                           ES_IP_MAX_IMAGES);
    out->on = true;
    return 0;
}

static const key_t k_sp[] = {
    {"num_groups", K_BOTH, NULL},
    {"num_prompts_per_group", K_BOTH, NULL},
    {"num_unique_system_prompts", K_CUR, "used num_groups (default 10)"},
    {"num_users_per_system_prompt", K_CUR, "used num_prompts_per_group (default 10)"},
    {"enable_multi_turn_chat", K_CUR, "sent every prompt as a single-turn completion"},
    {"system_prompt_len", K_BOTH, NULL}, {"question_len", K_BOTH, NULL}, {"output_len", K_BOTH, NULL},
    {"seed", K_CUR, "shuffled unseeded"},
    {"question_distribution", K_CUR, "used question_len exactly"},
    {"output_distribution", K_CUR, "used output_len exactly"},
    {"multimodal", K_CUR, NULL},
    {NULL, 0, NULL}};

static int parse_len(ctx_t *x, const es_node_t *sp, const char *path, const char *name, double def, es_ip_dist_t *d)
{
    *d = (es_ip_dist_t){def, def, def, 0, 0, true};
    const es_node_t *n = get(x, sp, k_sp, name);
    if (!n) return 0;
    char kp[256];
    snprintf(kp, sizeof kp, "%s.%s", path, name);
    if (n->kind != ES_NODE_SCALAR && x->c->version == ES_IP_2025_10)
        return es_node_err(x->err, ES_EINVAL, n, kp, "inference-perf 2025-10 takes an integer here");
    return parse_dist(x, n, kp, d);
}

static int parse_shared_prefix(ctx_t *x, const es_node_t *sp)
{
    es_ip_config_t *c = x->c;
    const char *path = "data.shared_prefix";
    int rc = check_keys(x, sp, path, k_sp);
    if (rc < 0) return rc;
    const char *gk = "num_groups", *uk = "num_prompts_per_group";
    if (c->version == ES_IP_CURRENT) {
        /* pydantic AliasChoices: the new name first */
        if (es_map_get(sp, "num_unique_system_prompts")) gk = "num_unique_system_prompts";
        if (es_map_get(sp, "num_users_per_system_prompt")) uk = "num_users_per_system_prompt";
    }
    if ((rc = get_int(x, sp, k_sp, path, gk, 1, 100000000, &c->groups)) < 0) return rc;
    if ((rc = get_int(x, sp, k_sp, path, uk, 1, 100000000, &c->users)) < 0) return rc;
    if ((rc = parse_len(x, sp, path, "system_prompt_len", 100, &c->sys_len)) < 0) return rc;
    if ((rc = parse_len(x, sp, path, "question_len", 50, &c->question_len)) < 0) return rc;
    if ((rc = parse_len(x, sp, path, "output_len", 50, &c->output_len)) < 0) return rc;
    const es_node_t *qd = get(x, sp, k_sp, "question_distribution");
    if (qd && (rc = parse_dist(x, qd, "data.shared_prefix.question_distribution", &c->question_len)) < 0) return rc;
    const es_node_t *od = get(x, sp, k_sp, "output_distribution");
    if (od && (rc = parse_dist(x, od, "data.shared_prefix.output_distribution", &c->output_len)) < 0) return rc;
    if ((rc = get_bool(x, sp, k_sp, path, "enable_multi_turn_chat", &c->multi_turn)) < 0) return rc;
    if ((rc = get_int(x, sp, k_sp, path, "seed", 0, INT64_MAX, &c->seed)) < 0) return rc;
    if (c->groups * c->users > ES_IP_MAX_REQUESTS)
        return es_node_err(x->err, ES_EINVAL, sp, path, "%lld x %lld prompts: more than eppsim replays (%lld)",
                           (long long)c->groups, (long long)c->users, (long long)ES_IP_MAX_REQUESTS);
    const es_node_t *mm = get(x, sp, k_sp, "multimodal");
    if (mm && !es_node_is_null(mm) &&
        (rc = parse_multimodal(x, mm, "data.shared_prefix.multimodal", &c->group_images)) < 0)
        return rc;
    return 0;
}

static const key_t k_conv[] = {
    {"seed", K_CUR, NULL}, {"num_conversations", K_CUR, NULL}, {"shared_system_prompt_len", K_CUR, NULL},
    {"dynamic_system_prompt_len", K_CUR, NULL}, {"turns_per_conversation", K_CUR, NULL},
    {"input_tokens_per_turn", K_CUR, NULL}, {"output_tokens_per_turn", K_CUR, NULL},
    {"tool_call_latency_sec", K_CUR, NULL}, {"max_model_len", K_CUR, NULL}, {NULL, 0, NULL}};

static int parse_conversation(ctx_t *x, const es_node_t *cr)
{
    es_ip_config_t *c = x->c;
    const char *path = "data.conversation_replay";
    int rc = check_keys(x, cr, path, k_conv);
    if (rc < 0) return rc;
    c->conv_count = 200;
    c->conv_shared_len = 8359;
    if ((rc = get_int(x, cr, k_conv, path, "seed", 0, INT64_MAX, &c->seed)) < 0) return rc;
    if ((rc = get_int(x, cr, k_conv, path, "num_conversations", 1, 10000000, &c->conv_count)) < 0) return rc;
    if ((rc = get_int(x, cr, k_conv, path, "shared_system_prompt_len", 0, 100000000, &c->conv_shared_len)) < 0) return rc;
    static const char *const names[] = {"dynamic_system_prompt_len", "turns_per_conversation",
                                        "input_tokens_per_turn", "output_tokens_per_turn"};
    es_ip_dist_t *dst[] = {&c->conv_dynamic_len, &c->conv_turns, &c->conv_input, &c->conv_output};
    /* upstream defaults when a distribution is absent (conversation_replay_datagen.py) */
    const es_ip_dist_t defs[] = {{0, 0, 0, 0, 0, true}, {5, 5, 5, 0, 0, true},
                                 {10, 1024, 512, 200, 0, false}, {10, 1024, 512, 200, 0, false}};
    for (size_t i = 0; i < 4; i++) {
        *dst[i] = defs[i];
        const es_node_t *n = get(x, cr, k_conv, names[i]);
        char kp[256];
        snprintf(kp, sizeof kp, "%s.%s", path, names[i]);
        if (n && (rc = parse_dist(x, n, kp, dst[i])) < 0) return rc;
        if (n && i == 0) c->has_conv_dynamic = true;
    }
    if ((double)c->conv_count * c->conv_turns.max > (double)ES_IP_MAX_REQUESTS)
        return es_node_err(x->err, ES_EINVAL, cr, path, "num_conversations x turns_per_conversation.max is more "
                           "than eppsim replays (%lld turns)", (long long)ES_IP_MAX_REQUESTS);
    const es_node_t *tl = get(x, cr, k_conv, "tool_call_latency_sec");
    if (tl) return es_node_err(x->err, ES_EINVAL, tl, "data.conversation_replay.tool_call_latency_sec",
                               "eppsim does not model tool-call pauses");
    return 0;
}

static const key_t k_data[] = {
    {"type", K_BOTH, NULL}, {"path", K_BOTH, NULL}, {"input_distribution", K_BOTH, NULL},
    {"output_distribution", K_BOTH, NULL}, {"shared_prefix", K_BOTH, NULL},
    {"corpus_file_path", K_CUR, NULL}, {"multimodal", K_CUR, NULL}, {"trace", K_CUR, NULL},
    {"otel_trace_replay", K_CUR, NULL}, {"weka_trace_replay", K_CUR, NULL},
    {"conversation_replay", K_CUR, NULL}, {"visionarena", K_CUR, NULL}, {"use_chat_template", K_CUR, NULL},
    {NULL, 0, NULL}};

static int parse_data(ctx_t *x, const es_node_t *d)
{
    es_ip_config_t *c = x->c;
    int rc = check_keys(x, d, "data", k_data);
    if (rc < 0) return rc;
    const es_node_t *t = get(x, d, k_data, "type");
    c->data = ES_IP_DATA_MOCK;
    if (t) {
        static const char *const types[] = {"shared_prefix", "random", "synthetic", "shareGPT",
                                            "conversation_replay", "mock", NULL};
        int v;
        if ((rc = es_node_to_enum(t, "data.type", types, &v, x->err)) < 0)
            return es_node_err(x->err, ES_EINVAL, t, "data.type",
                               "eppsim replays shared_prefix, random, synthetic, shareGPT, conversation_replay, mock");
        if (v == ES_IP_DATA_CONVERSATION_REPLAY && c->version == ES_IP_2025_10)
            return es_node_err(x->err, ES_EINVAL, t, "data.type",
                               "conversation_replay is not in inference-perf 2025-10 (its DataGenType has no such value)");
        c->data = v;
    }
    if ((rc = get_str(x, d, k_data, "data", "path", &c->data_path)) < 0) return rc;
    const es_node_t *n;
    if ((n = get(x, d, k_data, "input_distribution"))) {
        if ((rc = parse_dist(x, n, "data.input_distribution", &c->input)) < 0) return rc;
        c->has_input = true;
    }
    if ((n = get(x, d, k_data, "output_distribution"))) {
        if ((rc = parse_dist(x, n, "data.output_distribution", &c->output)) < 0) return rc;
        c->has_output = true;
    }
    if ((n = get(x, d, k_data, "shared_prefix")) && (rc = parse_shared_prefix(x, n)) < 0) return rc;
    if ((n = get(x, d, k_data, "conversation_replay")) && (rc = parse_conversation(x, n)) < 0) return rc;
    if (c->data == ES_IP_DATA_CONVERSATION_REPLAY && !n) c->conv_count = 200, c->conv_shared_len = 8359,
        c->conv_turns = (es_ip_dist_t){5, 5, 5, 0, 0, true},
        c->conv_input = c->conv_output = (es_ip_dist_t){10, 1024, 512, 200, 0, false};
    if ((n = get(x, d, k_data, "multimodal")) && !es_node_is_null(n)) {
        if (c->data != ES_IP_DATA_SYNTHETIC && c->data != ES_IP_DATA_SHARED_PREFIX)
            return es_node_err(x->err, ES_EINVAL, n, "data.multimodal", "eppsim attaches inference-perf's synthetic "
                               "media for data.type synthetic and shared_prefix (main.py: MultimodalDataGenerator, "
                               "SharedPrefixDataGenerator)");
        if ((rc = parse_multimodal(x, n, "data.multimodal", &c->images)) < 0) return rc;
    }
    if (c->multi_turn && (c->images.on || c->group_images.on))
        return es_node_err(x->err, ES_EUNSUPP, get(x, d, k_data, "shared_prefix"), "data.shared_prefix.enable_multi_turn_chat",
                           "inference-perf does not send media on multi-turn shared prefix chats (NotImplementedError "
                           "in shared_prefix_datagen.py)");
    if (c->images.on && c->group_images.on &&
        c->images.count.max + c->group_images.count.max > ES_IP_MAX_IMAGES)
        return es_node_err(x->err, ES_ERANGE, get(x, d, k_data, "multimodal"), "data.multimodal.image.count",
                           "with the shared prefix's images, at most %d images a request in eppsim", ES_IP_MAX_IMAGES);
    static const char *const unsupported[] = {"otel_trace_replay", "weka_trace_replay", "visionarena"};
    for (size_t i = 0; i < 3; i++)
        if ((n = get(x, d, k_data, unsupported[i]))) {
            char kp[64];
            snprintf(kp, sizeof kp, "data.%s", unsupported[i]);
            return es_node_err(x->err, ES_EINVAL, n, kp, "eppsim cannot replay this data source");
        }
    if ((c->data == ES_IP_DATA_RANDOM || c->data == ES_IP_DATA_SYNTHETIC) && (!c->has_input || !c->has_output))
        return es_node_err(x->err, ES_EINVAL, t ? t : d, "data.type",
                           "random and synthetic need input_distribution and output_distribution");
    if (c->data == ES_IP_DATA_SHAREGPT && (!c->data_path || !*c->data_path))
        return es_node_err(x->err, ES_EINVAL, t ? t : d, "data.path",
                           "shareGPT needs a length file eppsim can read (a sharegpt CSV of input,output tokens)");
    return 0;
}

/* ---------------------------------------------------------------- load */

static const key_t k_stage[] = {
    {"rate", K_BOTH, NULL}, {"duration", K_BOTH, NULL}, {"num_requests", K_CUR, NULL},
    {"concurrency_level", K_CUR, NULL}, {NULL, 0, NULL}};

static const key_t k_load[] = {
    {"type", K_BOTH, NULL}, {"interval", K_BOTH, NULL}, {"stages", K_BOTH, NULL}, {"sweep", K_BOTH, NULL},
    {"num_workers", K_BOTH, NULL}, {"worker_max_concurrency", K_BOTH, NULL},
    {"worker_max_tcp_connections", K_BOTH, NULL}, {"circuit_breakers", K_BOTH, NULL},
    {"request_timeout", K_BOTH, NULL}, {"trace", K_CUR, NULL}, {"lora_traffic_split", K_CUR, NULL},
    {"base_seed", K_CUR, "seeded from the clock"}, {NULL, 0, NULL}};

static int parse_load(ctx_t *x, const es_node_t *l)
{
    es_ip_config_t *c = x->c;
    int rc = check_keys(x, l, "load", k_load);
    if (rc < 0) return rc;
    const es_node_t *t = get(x, l, k_load, "type");
    if (t) {
        static const char *const types[] = {"constant", "poisson", "concurrent", "trace_replay", NULL};
        int v;
        if ((rc = es_node_to_enum(t, "load.type", types, &v, x->err)) < 0)
            return es_node_err(x->err, ES_EINVAL, t, "load.type",
                               "eppsim replays constant, poisson, concurrent and trace_replay loads");
        if (v >= ES_IP_LOAD_CONCURRENT && c->version == ES_IP_2025_10)
            return es_node_err(x->err, ES_EINVAL, t, "load.type",
                               "'%s' is not in inference-perf 2025-10 (its LoadType: constant, poisson)", t->str);
        c->load = v;
    }
    if ((rc = get_double(x, l, k_load, "load", "interval", 0, 1e9, &c->interval)) < 0) return rc;
    if ((rc = get_int(x, l, k_load, "load", "num_workers", 1, 1000000, &c->num_workers)) < 0) return rc;
    if ((rc = get_int(x, l, k_load, "load", "worker_max_concurrency", 1, 100000000, &c->worker_max_concurrency)) < 0)
        return rc;
    if ((rc = get_double(x, l, k_load, "load", "request_timeout", 1e-6, 1e9, &c->request_timeout)) < 0) return rc;
    const es_node_t *n;
    if ((n = get(x, l, k_load, "sweep")))
        return es_node_err(x->err, ES_EINVAL, n, "load.sweep",
                           "a sweep derives its stages from a live saturation probe; give the stages it chose");
    if ((n = get(x, l, k_load, "circuit_breakers")) && n->kind == ES_NODE_SEQ && n->n > 0)
        if ((rc = warn(x, n, "load.circuit_breakers: not modelled; every stage runs to its end")) < 0) return rc;
    if ((n = get(x, l, k_load, "lora_traffic_split")))
        return es_node_err(x->err, ES_EINVAL, n, "load.lora_traffic_split", "not replayed yet; use workload.mix");
    if ((n = get(x, l, k_load, "trace"))) {
        const es_node_t *f = es_node_expect_map(n, "load.trace", x->err) < 0 ? NULL : es_map_get(n, "file");
        if (!f) return es_node_err(x->err, ES_EINVAL, n, "load.trace.file", "missing");
        const char *s;
        if ((rc = es_node_to_str(f, "load.trace.file", &s, x->err)) < 0) return rc;
        char buf[4096];
        esi_resolve(x->base_dir, s, buf, sizeof buf);
        if (!(c->trace_file = es_strdup(buf))) return es_err_set(x->err, ES_ENOMEM, "out of memory");
    }
    if (c->load == ES_IP_LOAD_TRACE_REPLAY && !c->trace_file)
        return es_node_err(x->err, ES_EINVAL, t, "load.trace", "trace_replay needs load.trace.file");
    const es_node_t *st = get(x, l, k_load, "stages");
    if (!st) return es_node_err(x->err, ES_EINVAL, l, "load.stages", "missing: eppsim replays the stages given");
    if ((rc = es_node_expect_seq(st, "load.stages", x->err)) < 0) return rc;
    if (st->n == 0) return es_node_err(x->err, ES_EINVAL, st, "load.stages", "needs at least one stage");
    if (!(c->stages = calloc(st->n, sizeof *c->stages))) return es_err_set(x->err, ES_ENOMEM, "out of memory");
    c->nstages = st->n;
    for (size_t i = 0; i < st->n; i++) {
        char p[64];
        snprintf(p, sizeof p, "load.stages[%zu]", i);
        const es_node_t *s = st->items[i];
        if ((rc = check_keys(x, s, p, k_stage)) < 0) return rc;
        es_ip_stage_t *o = &c->stages[i];
        bool conc = c->load == ES_IP_LOAD_CONCURRENT;
        const char *need[2] = {conc ? "num_requests" : "rate", conc ? "concurrency_level" : "duration"};
        for (size_t k = 0; k < 2; k++)
            if (!get(x, s, k_stage, need[k])) {
                char kp[96];
                snprintf(kp, sizeof kp, "%s.%s", p, need[k]);
                return es_node_err(x->err, ES_EINVAL, s, kp, "missing (a %s stage needs it)",
                                   conc ? "concurrent" : "constant/poisson/trace_replay");
            }
        if ((rc = get_double(x, s, k_stage, p, "rate", 1e-9, 1e9, &o->rate)) < 0) return rc;
        if ((rc = get_double(x, s, k_stage, p, "duration", 1e-9, 1e9, &o->duration)) < 0) return rc;
        if ((rc = get_int(x, s, k_stage, p, "num_requests", 1, 1000000000, &o->num_requests)) < 0) return rc;
        if ((rc = get_int(x, s, k_stage, p, "concurrency_level", 1, 100000000, &o->concurrency_level)) < 0) return rc;
        double nreq = conc ? (double)o->num_requests : o->rate * o->duration;
        if (nreq > (double)ES_IP_MAX_REQUESTS) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.%s", p, conc ? "num_requests" : "rate");
            return es_node_err(x->err, ES_EINVAL, s, kp, "%.0f requests in one stage: more than eppsim replays (%lld)",
                               nreq, (long long)ES_IP_MAX_REQUESTS);
        }
        if (!conc && (o->num_requests || o->concurrency_level)) {
            char kp[96];
            snprintf(kp, sizeof kp, "%s.%s", p, o->num_requests ? "num_requests" : "concurrency_level");
            return es_node_err(x->err, ES_EINVAL, s, kp, "should not be set for CONSTANT/POISSON load types");
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- top */

static const key_t k_api[] = {
    {"type", K_BOTH, NULL}, {"streaming", K_BOTH, NULL}, {"headers", K_BOTH, NULL}, {"slo_unit", K_CUR, NULL},
    {"slo_tpot_header", K_CUR, NULL}, {"slo_ttft_header", K_CUR, NULL}, {"response_format", K_CUR, NULL},
    {"session_id_header_key", K_CUR, NULL}, {"session_token_header_key", K_CUR, NULL}, {NULL, 0, NULL}};
static const key_t k_server[] = {
    {"type", K_BOTH, NULL}, {"model_name", K_BOTH, NULL}, {"base_url", K_BOTH, NULL},
    {"ignore_eos", K_BOTH, NULL}, {"api_key", K_BOTH, NULL}, {"cert_path", K_CUR, NULL},
    {"key_path", K_CUR, NULL}, {NULL, 0, NULL}};
static const key_t k_top[] = {
    {"api", K_BOTH, NULL}, {"data", K_BOTH, NULL}, {"load", K_BOTH, NULL}, {"metrics", K_BOTH, NULL},
    {"report", K_BOTH, NULL}, {"storage", K_BOTH, NULL}, {"server", K_BOTH, NULL},
    {"tokenizer", K_BOTH, NULL}, {"circuit_breakers", K_BOTH, NULL}, {NULL, 0, NULL}};

int es_ip_parse(const es_node_t *root, int version, const char *base_dir, es_ip_config_t *out, es_err_t *err)
{
    memset(out, 0, sizeof *out);
    out->version = version;
    out->interval = 1.0;
    out->worker_max_concurrency = 100;
    out->ignore_eos = true;
    out->seed = -1;
    out->data = ES_IP_DATA_MOCK;   /* DataConfig's default */
    out->groups = out->users = 10;
    out->sys_len = (es_ip_dist_t){100, 100, 100, 0, 0, true};
    out->question_len = (es_ip_dist_t){50, 50, 50, 0, 0, true};
    out->output_len = (es_ip_dist_t){50, 50, 50, 0, 0, true};
    if (!out->file && !(out->file = es_strdup(root && root->doc ? root->doc->file : "<inference-perf>")))
        return es_err_set(err, ES_ENOMEM, "out of memory");
    ctx_t x = {out, err, base_dir};
    int rc;
    if (!root) { rc = es_err_set(err, ES_EINVAL, "%s: empty inference-perf config", out->file); goto fail; }
    if ((rc = check_keys(&x, root, "", k_top)) < 0) goto fail;
    const es_node_t *n;
    if ((n = get(&x, root, k_top, "api"))) {
        if ((rc = check_keys(&x, n, "api", k_api)) < 0) goto fail;
        const es_node_t *t = get(&x, n, k_api, "type");
        if (t) {
            static const char *const types[] = {"completion", "chat", NULL};
            int v;
            if ((rc = es_node_to_enum(t, "api.type", types, &v, err)) < 0) goto fail;
            out->chat = v == 1;
        }
        if ((rc = get_bool(&x, n, k_api, "api", "streaming", &out->streaming)) < 0) goto fail;
    }
    if ((n = get(&x, root, k_top, "data")) && (rc = parse_data(&x, n)) < 0) goto fail;
    if (out->data == ES_IP_DATA_MOCK) {
        const es_node_t *t = n ? es_map_get(n, "type") : NULL;
        rc = es_node_err(err, ES_EINVAL, t ? t : n ? n : root, "data.type",
                         "mock (the default) sends a placeholder prompt; eppsim replays shared_prefix, random, "
                         "synthetic, shareGPT and conversation_replay");
        goto fail;
    }
    if (out->data == ES_IP_DATA_SHAREGPT && out->data_path) {
        char buf[4096];
        esi_resolve(base_dir, out->data_path, buf, sizeof buf);
        free(out->data_path);
        if (!(out->data_path = es_strdup(buf))) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto fail; }
    }
    if (!(n = get(&x, root, k_top, "load"))) {
        rc = es_node_err(err, ES_EINVAL, root, "load", "missing: eppsim replays the load stages given");
        goto fail;
    }
    if ((rc = parse_load(&x, n)) < 0) goto fail;
    if ((n = get(&x, root, k_top, "server"))) {
        if ((rc = check_keys(&x, n, "server", k_server)) < 0) goto fail;
        if ((rc = get_str(&x, n, k_server, "server", "model_name", &out->model_name)) < 0) goto fail;
        if ((rc = get_bool(&x, n, k_server, "server", "ignore_eos", &out->ignore_eos)) < 0) goto fail;
        if (!out->ignore_eos && (rc = warn(&x, n, "server.ignore_eos: false; eppsim still generates every "
                                                  "requested token (it has no end-of-sequence model)")) < 0)
            goto fail;
    }
    if (!out->streaming && out->data != ES_IP_DATA_MOCK &&
        (rc = warn(&x, root, "api.streaming: false; inference-perf then reports no TTFT, TPOT or ITL")) < 0)
        goto fail;
    if (out->num_workers == 0 && out->load != ES_IP_LOAD_CONCURRENT &&
        (rc = warn(&x, root, "load.num_workers: absent; inference-perf takes the client machine's CPU count, "
                             "eppsim assumes %d (a cap of %lld requests in flight)",
                   ES_IP_DEFAULT_WORKERS, (long long)es_ip_worker_cap(out))) < 0)
        goto fail;
    return 0;
fail:
    es_ip_fini(out);
    return rc;
}

int es_ip_load_file(const char *path, int version, es_ip_config_t *out, es_err_t *err)
{
    es_doc_t *doc;
    int rc = es_doc_load_file(path, &doc, err);
    if (rc < 0) return rc;
    char base[4096] = ".";
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
    if (doc->root == NULL) rc = es_err_set(err, ES_EINVAL, "%s: empty inference-perf config", path);
    else rc = es_ip_parse(doc->root, version, base, out, err);
    es_doc_destroy(doc);
    return rc;
}

void es_ip_fini(es_ip_config_t *c)
{
    if (!c) return;
    free(c->file);
    free(c->data_path);
    free(c->stages);
    free(c->trace_file);
    free(c->model_name);
    for (size_t i = 0; i < c->nwarnings; i++) free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof *c);
}
