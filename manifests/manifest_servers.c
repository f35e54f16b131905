/*
 * manifest_servers.c -- model-server Deployments: checks, container command
 * lines (shell words, flags), vLLM flags onto server.* keys (manifest_internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_e2e_config.h"
#include "es_paths.h"
#include "es_str.h"
#include "es_schema.h"
#include "es_experiment.h"
#include "es_vllm_args.h"
#include "manifest_internal.h"

/* ---- Deployments ---- */

static const char *const k_dep_spec[] = {"replicas", "selector", "template", "strategy", "minReadySeconds",
                                          "revisionHistoryLimit", "progressDeadlineSeconds", "paused", NULL};
static const char *const k_label_selector[] = {"matchLabels", "matchExpressions", NULL};
static const char *const k_template[] = {"metadata", "spec", NULL};
static const char *const k_pod_spec[] = {
    "containers", "initContainers", "ephemeralContainers", "volumes", "affinity", "nodeSelector", "nodeName",
    "tolerations", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "securityContext",
    "terminationGracePeriodSeconds", "activeDeadlineSeconds", "restartPolicy", "dnsPolicy", "dnsConfig",
    "hostNetwork", "hostIPC", "hostPID", "hostUsers", "hostname", "subdomain", "hostAliases", "setHostnameAsFQDN",
    "imagePullSecrets", "priority", "priorityClassName", "preemptionPolicy", "schedulerName", "runtimeClassName",
    "topologySpreadConstraints", "shareProcessNamespace", "enableServiceLinks", "readinessGates", "overhead", "os",
    "resourceClaims", "schedulingGates", "resources", NULL};
static const char *const k_container[] = {
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
    "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
    "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext",
    "stdin", "stdinOnce", "tty", NULL};
static const char *const k_probe[] = {"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds",
                                       "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold",
                                       "terminationGracePeriodSeconds", NULL};
static const char *const k_mount[] = {"name", "mountPath", "subPath", "subPathExpr", "readOnly",
                                       "recursiveReadOnly", "mountPropagation", NULL};
static const char *const k_cm_volume[] = {"name", "items", "defaultMode", "optional", NULL};
static const char *const k_key_path[] = {"key", "path", "mode", NULL};

static int check_string_list(ctx_t *c, const obj_t *o, const es_node_t *seq, const char *field)
{
    int rc = esi_mf_expect_seq(c, o, seq, field);
    for (size_t i = 0; !rc && i < seq->n; i++)
        if (seq->items[i]->kind != ES_NODE_SCALAR) {
            char f[320], idx[24];
            snprintf(idx, sizeof idx, "[%zu]", i);
            rc = esi_mf_oerr(c, o, seq->items[i], esi_mf_join(f, sizeof f, field, idx), "expected a string");
        }
    return rc;
}

int esi_mf_check_deployment(ctx_t *c, const obj_t *o)
{
    const es_node_t *spec = es_map_get(o->root, "spec");
    int rc = esi_mf_check_keys(c, o, spec, "spec", k_dep_spec);
    const es_node_t *sel = es_map_get(spec, "selector"), *tpl = es_map_get(spec, "template");
    if (!rc && sel) rc = esi_mf_expect_map(c, o, sel, "spec.selector");
    if (!rc) rc = esi_mf_check_keys(c, o, sel, "spec.selector", k_label_selector);
    if (!rc && !tpl) rc = esi_mf_oerr(c, o, spec, "spec.template", "missing");
    if (!rc) rc = esi_mf_expect_map(c, o, tpl, "spec.template");
    if (!rc) rc = esi_mf_check_keys(c, o, tpl, "spec.template", k_template);
    const es_node_t *tmeta = es_map_get(tpl, "metadata"), *pod = es_map_get(tpl, "spec");
    if (!rc && tmeta) rc = esi_mf_expect_map(c, o, tmeta, "spec.template.metadata");
    if (!rc) rc = esi_mf_check_keys(c, o, tmeta, "spec.template.metadata", esi_mf_meta_keys);
    if (!rc && tmeta && es_map_get(tmeta, "labels"))
        rc = esi_mf_expect_map(c, o, es_map_get(tmeta, "labels"), "spec.template.metadata.labels");
    if (!rc && !pod) rc = esi_mf_oerr(c, o, tpl, "spec.template.spec", "missing");
    if (!rc) rc = esi_mf_expect_map(c, o, pod, "spec.template.spec");
    if (!rc) rc = esi_mf_check_keys(c, o, pod, "spec.template.spec", k_pod_spec);
    const es_node_t *ctrs = es_map_get(pod, "containers");
    if (!rc && !ctrs) rc = esi_mf_oerr(c, o, pod, "spec.template.spec.containers", "missing");
    if (!rc) rc = esi_mf_expect_seq(c, o, ctrs, "spec.template.spec.containers");
    for (size_t i = 0; !rc && i < ctrs->n; i++) {
        char f[128], g[256];
        snprintf(f, sizeof f, "spec.template.spec.containers[%zu]", i);
        const es_node_t *ct = ctrs->items[i];
        rc = esi_mf_expect_map(c, o, ct, f);
        if (!rc) rc = esi_mf_check_keys(c, o, ct, f, k_container);
        const char *probes[] = {"readinessProbe", "livenessProbe", "startupProbe"};
        for (int p = 0; !rc && p < 3; p++) {
            const es_node_t *pr = es_map_get(ct, probes[p]);
            if (!pr) continue;
            rc = esi_mf_expect_map(c, o, pr, esi_mf_join(g, sizeof g, f, probes[p]));
            if (!rc) rc = esi_mf_check_keys(c, o, pr, g, k_probe);
        }
        if (!rc && es_map_get(ct, "command")) rc = check_string_list(c, o, es_map_get(ct, "command"), esi_mf_join(g, sizeof g, f, "command"));
        if (!rc && es_map_get(ct, "args")) rc = check_string_list(c, o, es_map_get(ct, "args"), esi_mf_join(g, sizeof g, f, "args"));
        const es_node_t *mounts = es_map_get(ct, "volumeMounts");
        if (!rc && mounts) rc = esi_mf_expect_seq(c, o, mounts, esi_mf_join(g, sizeof g, f, "volumeMounts"));
        for (size_t j = 0; !rc && mounts && j < mounts->n; j++) {
            char h[300];
            snprintf(h, sizeof h, "%s.volumeMounts[%zu]", f, j);
            rc = esi_mf_expect_map(c, o, mounts->items[j], h);
            if (!rc) rc = esi_mf_check_keys(c, o, mounts->items[j], h, k_mount);
        }
    }
    const es_node_t *vols = es_map_get(pod, "volumes");
    if (!rc && vols) rc = esi_mf_expect_seq(c, o, vols, "spec.template.spec.volumes");
    for (size_t j = 0; !rc && vols && j < vols->n; j++) {
        char h[128], g[256];
        snprintf(h, sizeof h, "spec.template.spec.volumes[%zu]", j);
        rc = esi_mf_expect_map(c, o, vols->items[j], h);
        const es_node_t *cm = rc ? NULL : es_map_get(vols->items[j], "configMap");
        if (!cm) continue;
        rc = esi_mf_expect_map(c, o, cm, esi_mf_join(g, sizeof g, h, "configMap"));
        if (!rc) rc = esi_mf_check_keys(c, o, cm, g, k_cm_volume);
        const es_node_t *items = es_map_get(cm, "items");
        if (!rc && items) rc = esi_mf_expect_seq(c, o, items, esi_mf_join(g, sizeof g, h, "configMap.items"));
        for (size_t k = 0; !rc && items && k < items->n; k++) {
            char q[300];
            snprintf(q, sizeof q, "%s.configMap.items[%zu]", h, k);
            rc = esi_mf_expect_map(c, o, items->items[k], q);
            if (!rc) rc = esi_mf_check_keys(c, o, items->items[k], q, k_key_path);
        }
    }
    return rc;
}

const es_node_t *esi_mf_pod_labels(const obj_t *o)
{
    return es_node_find(o->root, "spec.template.metadata.labels");
}

int esi_mf_deployment_replicas(ctx_t *c, const obj_t *o, int64_t *out)
{
    const es_node_t *r = es_node_find(o->root, "spec.replicas");
    *out = 1;  /* the Kubernetes default */
    return r ? esi_mf_read_i64(c, o, r, "spec.replicas", 0, 100000, out) : 0;
}

/* ---- container command lines ---- */

static int toks_push(toks_t *t, const char *s, size_t len, const es_node_t *n, const char *field)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        tok_t *v = realloc(t->v, cap * sizeof *v);
        if (!v) return ES_ENOMEM;
        t->v = v; t->cap = cap;
    }
    char *copy = strndup(s, len);
    if (!copy) return ES_ENOMEM;
    t->v[t->n].s = copy;
    snprintf(t->v[t->n].field, sizeof t->v[t->n].field, "%s", field);
    t->v[t->n++].n = n;
    return 0;
}

void esi_mf_toks_free(toks_t *t)
{
    for (size_t i = 0; i < t->n; i++) free(t->v[i].s);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* Splits a shell command string into words: quotes, backslash escapes and
 * line continuations; operators (&&, ;, |) become words of their own. */
static int split_shell(toks_t *t, const char *s, const es_node_t *n, const char *field)
{
    char word[1024];
    size_t len = 0;
    bool in_word = false;
    for (const char *p = s;; p++) {
        char ch = *p;
        if (ch == '\0' || isspace((unsigned char)ch) || ch == ';' || ch == '|' || ch == '&') {
            if (in_word && toks_push(t, word, len, n, field)) return ES_ENOMEM;
            in_word = false; len = 0;
            if (ch == '\0') return 0;
            if (ch == ';' || ch == '|' || ch == '&') {
                size_t olen = (p[1] == ch) ? 2 : 1;
                if (toks_push(t, p, olen, n, field)) return ES_ENOMEM;
                p += olen - 1;
            }
            continue;
        }
        in_word = true;
        if (ch == '\\' && p[1]) {
            p++;
            if (*p != '\n' && len < sizeof word - 1) word[len++] = *p;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            const char *q = p + 1;
            while (*q && *q != ch) {
                if (ch == '"' && *q == '\\' && q[1]) q++;
                if (len < sizeof word - 1) word[len++] = *q;
                q++;
            }
            p = *q ? q : q - 1;
            continue;
        }
        if (len < sizeof word - 1) word[len++] = ch;
    }
}

static const char *base_name(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* command ++ args of container number `index`; `sh -c "script"` is split into words. */
int esi_mf_container_tokens(const es_node_t *ct, size_t index, toks_t *t)
{
    toks_t raw = {0};
    const char *lists[] = {"command", "args"};
    int rc = 0;
    for (int l = 0; l < 2 && !rc; l++) {
        const es_node_t *seq = es_map_get(ct, lists[l]);
        char field[64];
        snprintf(field, sizeof field, "spec.template.spec.containers[%zu].%s", index, lists[l]);
        for (size_t i = 0; seq && !rc && i < seq->n; i++)
            rc = toks_push(&raw, seq->items[i]->str, strlen(seq->items[i]->str), seq->items[i], field);
    }
    if (!rc && raw.n >= 3 && strcmp(raw.v[1].s, "-c") == 0 &&
        (!strcmp(base_name(raw.v[0].s), "sh") || !strcmp(base_name(raw.v[0].s), "bash") ||
         !strcmp(base_name(raw.v[0].s), "dash"))) {
        rc = split_shell(t, raw.v[2].s, raw.v[2].n, raw.v[2].field);
        esi_mf_toks_free(&raw);
        return rc;
    }
    *t = raw;
    return rc;
}

static bool is_separator(const char *s)
{
    return !strcmp(s, "&&") || !strcmp(s, "||") || !strcmp(s, ";") || !strcmp(s, "|") || !strcmp(s, "&");
}

/* Parses the flag at t->v[*i]; consumes its value when `takes_value` says so
 * (1 yes, 0 no, -1 guess: the next word when it is not a flag). */
void esi_mf_parse_flag(const toks_t *t, size_t *i, flag_t *f, int (*takes_value)(const char *name))
{
    const char *s = t->v[*i].s;
    while (*s == '-') s++;
    const char *eq = strchr(s, '=');
    size_t len = eq ? (size_t)(eq - s) : strlen(s);
    if (len >= sizeof f->name) len = sizeof f->name - 1;
    memcpy(f->name, s, len);
    f->name[len] = '\0';
    for (char *p = f->name; *p; p++) if (*p == '_') *p = '-';
    f->node = t->v[*i].n;
    f->field = t->v[*i].field;
    f->value = eq ? eq + 1 : NULL;
    if (eq) return;
    int tv = takes_value(f->name);
    if (tv == 0 || *i + 1 >= t->n) return;
    const char *next = t->v[*i + 1].s;
    if (tv < 0 && (next[0] == '-' || is_separator(next))) return;
    f->value = next;
    f->node = t->v[*i + 1].n;
    (*i)++;
}

/* vLLM's human-readable integers: 1k = 1000, 1K = 1024 (also m/M, g/G). */
static bool parse_hr_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = es_strtod(s, &end);
    if (end == s) return false;
    double mult = 1;
    if (*end) {
        switch (*end) {
        case 'k': mult = 1e3; break;
        case 'm': mult = 1e6; break;
        case 'g': mult = 1e9; break;
        case 'K': mult = 1024.0; break;
        case 'M': mult = 1024.0 * 1024.0; break;
        case 'G': mult = 1024.0 * 1024.0 * 1024.0; break;
        default: return false;
        }
        if (end[1]) return false;
    }
    v *= mult;
    if (v < -9e18 || v > 9e18 || v != (double)(int64_t)v) return false;
    *out = (int64_t)v;
    return true;
}

/* ---- vLLM model servers ---- */

typedef enum vtype { V_INT, V_HRINT, V_DOUBLE, V_STR, V_BOOL } vtype_t;

typedef struct vflag {
    const char *flag;   /* normalised name */
    const char *key;    /* experiment key, NULL = handled specially */
    vtype_t     type;
} vflag_t;

static const vflag_t k_vllm_flags[] = {
    {"max-num-seqs", "server.max_num_seqs", V_INT},
    {"max-num-batched-tokens", "server.max_num_batched_tokens", V_HRINT},
    {"gpu-memory-utilization", "server.gpu_memory_utilization", V_DOUBLE},
    {"block-size", "server.block_size", V_INT},
    {"max-model-len", "server.max_model_len", V_HRINT},
    {"tensor-parallel-size", "server.tensor_parallel", V_INT},
    {"tp", "server.tensor_parallel", V_INT},
    {"long-prefill-token-threshold", "server.long_prefill_token_threshold", V_INT},
    {"num-gpu-blocks-override", "server.num_gpu_blocks", V_INT},
    {"scheduling-policy", "server.scheduling_policy", V_STR},
    {"enable-prefix-caching", "server.enable_prefix_caching", V_BOOL},
    {"max-loras", NULL, V_INT},
    {"enable-lora", NULL, V_BOOL},
    {"model", NULL, V_STR},
    {"served-model-name", NULL, V_STR},
    {"dtype", NULL, V_STR},             /* checked against vLLM's choices, not simulated */
    {"kv-cache-dtype", NULL, V_STR},
};

/* Flags with no bearing on the simulation, accepted silently. */
static const char *const k_vllm_quiet[] = {
    "port", "host", "disable-log-requests", "disable-log-stats", "enable-log-requests", "uvicorn-log-level",
    "api-key", "download-dir", "trust-remote-code", "root-path", "disable-uvicorn-access-log", NULL};

static const vflag_t *vllm_flag(const char *name)
{
    const char *n = strncmp(name, "no-", 3) == 0 ? name + 3 : name;
    for (size_t i = 0; i < sizeof k_vllm_flags / sizeof k_vllm_flags[0]; i++)
        if (strcmp(k_vllm_flags[i].flag, n) == 0) return &k_vllm_flags[i];
    return NULL;
}

static int vllm_takes_value(const char *name)
{
    const vflag_t *f = vllm_flag(name);
    if (f) return f->type == V_BOOL ? 0 : 1;
    return -1;
}

/* What the model-server Deployments say, merged (first value wins). */
typedef struct server_info {
    es_node_t *values[sizeof k_vllm_flags / sizeof k_vllm_flags[0]];  /* keyed by table index */
    const char *value_from[sizeof k_vllm_flags / sizeof k_vllm_flags[0]];
    char        model[256];          /* --model / positional */
    const es_node_t *model_node;
    char        served[256];         /* first --served-model-name */
    const es_node_t *served_node;
    bool        enable_lora;
    int64_t     max_loras;           /* -1 = not given */
    const es_node_t *lora_node;
    double      readiness_s;         /* -1 = no readinessProbe */
    const es_node_t *readiness_node;
} server_info_t;

static bool is_vllm_container(const es_node_t *ct, const toks_t *t)
{
    const es_node_t *img = es_map_get(ct, "image");
    if (img && img->kind == ES_NODE_SCALAR && strstr(img->str, "vllm")) return true;
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(base_name(t->v[i].s), "vllm") || strstr(t->v[i].s, "vllm.entrypoints")) return true;
        if (t->v[i].s[0] == '-') {
            flag_t f;
            size_t j = i;
            esi_mf_parse_flag(t, &j, &f, vllm_takes_value);
            const vflag_t *vf = vllm_flag(f.name);
            if (vf && vf->key) return true;
        }
    }
    return false;
}

static int vllm_value(ctx_t *c, const obj_t *o, const vflag_t *vf, const flag_t *f, es_node_t **out)
{
    char text[64];
    const char *fname = f->field;
    if (vf->type == V_BOOL) {
        bool v = strncmp(f->name, "no-", 3) != 0;
        if (f->value) {
            if (!strcmp(f->value, "false") || !strcmp(f->value, "False")) v = !v;
            else if (strcmp(f->value, "true") && strcmp(f->value, "True"))
                return esi_mf_oerr(c, o, f->node, fname, "--%s: expected true or false, got \"%s\"", f->name, f->value);
        }
        *out = esi_mf_scalar_at(f->node, v ? "true" : "false", false);
    } else if (!f->value) {
        return esi_mf_oerr(c, o, f->node, fname, "--%s needs a value", f->name);
    } else if (vf->type == V_INT || vf->type == V_HRINT) {
        int64_t v = 0;
        bool ok;
        if (vf->type == V_HRINT) {
            ok = parse_hr_int(f->value, &v);
        } else {
            char *end;
            errno = 0;
            v = strtoll(f->value, &end, 10);
            ok = *end == '\0' && end != f->value && !errno;
        }
        if (!ok) return esi_mf_oerr(c, o, f->node, fname, "--%s: expected an integer, got \"%s\"", f->name, f->value);
        if (vf->key && !strcmp(vf->key, "server.block_size") && !es_vllm_block_size_ok(v))
            return esi_mf_oerr(c, o, f->node, fname, "--block-size: %lld is not one of vLLM's choices (1, 8, 16, 32, 64, "
                               "128)", (long long)v);
        snprintf(text, sizeof text, "%lld", (long long)v);
        *out = esi_mf_scalar_at(f->node, text, false);
    } else if (vf->type == V_DOUBLE) {
        char *end;
        errno = 0;
        es_strtod(f->value, &end);
        if (end == f->value || *end)
            return esi_mf_oerr(c, o, f->node, fname, "--%s: expected a number, got \"%s\"", f->name, f->value);
        *out = esi_mf_scalar_at(f->node, f->value, false);
    } else {
        *out = esi_mf_scalar_at(f->node, f->value, true);
    }
    return *out ? 0 : es_err_set(c->err, ES_ENOMEM, "out of memory");
}

static int read_server_container(ctx_t *c, const obj_t *o, const es_node_t *ct, const toks_t *t,
                                 server_info_t *si)
{
    /* parse after "vllm serve" / the api_server module when present */
    size_t start = 0;
    bool after_serve = false;
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(base_name(t->v[i].s), "vllm") && i + 1 < t->n && !strcmp(t->v[i + 1].s, "serve")) {
            start = i + 2; after_serve = true; break;
        }
        if (strstr(t->v[i].s, "vllm.entrypoints")) { start = i + 1; break; }
    }
    char unknown[512] = "";
    for (size_t i = start; i < t->n; i++) {
        const char *s = t->v[i].s;
        if (is_separator(s)) break;
        if (s[0] != '-') {
            if (after_serve && !si->model_node) {
                snprintf(si->model, sizeof si->model, "%s", s);
                si->model_node = t->v[i].n;
            }
            continue;
        }
        flag_t f;
        esi_mf_parse_flag(t, &i, &f, vllm_takes_value);
        const vflag_t *vf = vllm_flag(f.name);
        if (!vf) {
            const char *const *q = k_vllm_quiet;
            while (*q && strcmp(*q, f.name)) q++;
            if (!*q) {
                size_t used = strlen(unknown);
                snprintf(unknown + used, sizeof unknown - used, "%s--%s", used ? ", " : "", f.name);
            }
            continue;
        }
        if (!strcmp(vf->flag, "dtype") || !strcmp(vf->flag, "kv-cache-dtype")) {
            /* a value vLLM would refuse is an error here too (as in server.vllm_args) */
            char known[600];
            if (!f.value) return esi_mf_oerr(c, o, f.node, f.field, "--%s needs a value", vf->flag);
            if (!es_vllm_choice_ok(vf->flag, f.value, known, sizeof known))
                return esi_mf_oerr(c, o, f.node, f.field, "--%s: \"%s\" is not one of vLLM's choices (%s)", vf->flag,
                                   f.value, known);
            size_t used = strlen(unknown);
            snprintf(unknown + used, sizeof unknown - used, "%s--%s", used ? ", " : "", vf->flag);
            continue;
        }
        size_t idx = (size_t)(vf - k_vllm_flags);
        if (!strcmp(vf->flag, "served-model-name")) {
            if (!f.value) return esi_mf_oerr(c, o, f.node, f.field, "--served-model-name needs a value");
            if (!si->served_node) { snprintf(si->served, sizeof si->served, "%s", f.value); si->served_node = f.node; }
            while (i + 1 < t->n && t->v[i + 1].s[0] != '-' && !is_separator(t->v[i + 1].s)) i++;  /* nargs '+' */
            continue;
        }
        if (!strcmp(vf->flag, "model")) {
            if (!f.value) return esi_mf_oerr(c, o, f.node, f.field, "--model needs a value");
            if (!si->model_node) { snprintf(si->model, sizeof si->model, "%s", f.value); si->model_node = f.node; }
            continue;
        }
        es_node_t *v = NULL;
        int rc = vllm_value(c, o, vf, &f, &v);
        if (rc) return rc;
        if (!strcmp(vf->flag, "enable-lora")) {
            si->enable_lora = strcmp(v->str, "true") == 0;
            es_node_destroy(v);
            continue;
        }
        if (!strcmp(vf->flag, "max-loras")) {
            si->max_loras = strtoll(v->str, NULL, 10);
            si->lora_node = f.node;
            es_node_destroy(v);
            continue;
        }
        if (vf->type == V_INT && !strcmp(vf->key, "server.tensor_parallel")) idx = (size_t)(vllm_flag("tensor-parallel-size") - k_vllm_flags);
        if (!si->values[idx]) {
            si->values[idx] = v;
            si->value_from[idx] = o->name;
        } else {
            if (strcmp(si->values[idx]->str, v->str) != 0)
                esi_mf_warn(c, "%s: --%s %s differs from Deployment/%s (%s); the simulation gives every pod %s", o->label,
                     f.name, v->str, si->value_from[idx], si->values[idx]->str, si->values[idx]->str);
            es_node_destroy(v);
        }
    }
    if (*unknown) esi_mf_warn(c, "%s: vLLM flags not simulated (ignored): %s", o->label, unknown);
    const es_node_t *probe = es_map_get(ct, "readinessProbe");
    if (probe && si->readiness_s < 0) {
        const es_node_t *d = es_map_get(probe, "initialDelaySeconds");
        int64_t v = 0;
        int rc = d ? esi_mf_read_i64(c, o, d, "spec.template.spec.containers[].readinessProbe.initialDelaySeconds", 0,
                              100000000, &v) : 0;
        if (rc) return rc;
        si->readiness_s = (double)v;
        si->readiness_node = d ? d : probe;
    }
    return 0;
}

/* Profile model names ("llama-3.1-8b") are the GPU profile's objects with a
 * "config"; an HF id maps to one when it is that name with an org prefix,
 * a "Meta-" prefix or an -Instruct/-Chat/-Base/-HF/-it suffix. */
static bool map_model(const char *gpu, const char *hf, char *out, size_t size)
{
    char lower[256], path[1200], rel[300];
    snprintf(lower, sizeof lower, "%s", base_name(hf));
    for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
    const char *name = strncmp(lower, "meta-", 5) == 0 ? lower + 5 : lower;
    snprintf(rel, sizeof rel, "profiles/%s.json", gpu);
    es_doc_t *doc;
    es_err_t err;
    if (strchr(gpu, '/') || es_doc_load_file(es_data_path(path, sizeof path, rel), &doc, &err)) return false;
    static const char *const suffixes[] = {"", "-instruct", "-chat", "-base", "-hf", "-it", NULL};
    bool found = false;
    const es_node_t *root = doc->root;
    for (size_t i = 0; root && root->kind == ES_NODE_MAP && i < root->n && !found; i++) {
        if (root->items[i]->kind != ES_NODE_MAP || !es_map_get(root->items[i], "config")) continue;
        size_t kl = strlen(root->keys[i]);
        if (strncmp(name, root->keys[i], kl) != 0) continue;
        for (const char *const *s = suffixes; *s && !found; s++)
            if (!strcmp(name + kl, *s)) {
                snprintf(out, size, "%s", root->keys[i]);
                found = true;
            }
    }
    es_doc_destroy(doc);
    return found;
}

static const char *experiment_gpu(const ctx_t *c)
{
    const es_node_t *g = c->exp->root ? es_node_find(c->exp->root, "server.gpu") : NULL;
    if (g && g->kind == ES_NODE_SCALAR) return g->str;
    void *obj = NULL;
    const es_schema_entry_t *e = es_schema_lookup(&es_experiment_schema, "server.gpu", &obj);
    return e && e->def ? e->def : "";
}

/* ---- model servers ---- */

/* One Deployment of the pool: its pods' template labels. */
typedef struct pool_dep {
    const obj_t *o;
    int64_t      replicas;
    bool         prefill;
} pool_dep_t;

/* The label map of the pods of d, cloned into the experiment (nodes keep the
 * manifest's lines); the role is left out when cluster.prefill_replicas sets
 * it.  Keys and values are checked as Kubernetes labels. */
static int dep_labels(ctx_t *c, const pool_dep_t *d, bool drop_role, es_node_t **out)
{
    *out = NULL;
    const es_node_t *labels = esi_mf_pod_labels(d->o);
    es_node_t *m = es_node_new_map(c->exp);
    if (!m) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    if (labels) { m->line = labels->line; m->col = labels->col; }
    size_t kept = 0;
    for (size_t k = 0; labels && k < labels->n; k++) {
        const char *key = labels->keys[k];
        char field[400];
        snprintf(field, sizeof field, "spec.template.metadata.labels.%s", key);
        const char *v = esi_mf_text_of(c, d->o, labels->items[k], field);
        if (!v) { es_node_destroy(m); return c->err->code; }
        const char *slash = strrchr(key, '/');
        size_t name_len = strlen(slash ? slash + 1 : key);
        int rc = 0;
        if (name_len == 0 || name_len > 63 || strlen(key) > 316)
            rc = esi_mf_oerr(c, d->o, labels->items[k], field,
                             "not a label key (a name of 1 to 63 characters, with an optional DNS prefix and '/')");
        else if (strlen(v) > 63)
            rc = esi_mf_oerr(c, d->o, labels->items[k], field, "label value longer than 63 characters");
        if (rc) { es_node_destroy(m); return rc; }
        if (drop_role && strcmp(key, "llm-d.ai/role") == 0) continue;
        if (++kept > ES_POD_LABELS_MAX) {
            es_node_destroy(m);
            return esi_mf_oerr(c, d->o, labels, "spec.template.metadata.labels",
                               "more than %d labels (besides llm-d.ai/role): eppsim keeps at most %d a pod",
                               ES_POD_LABELS_MAX, ES_POD_LABELS_MAX);
        }
        if ((rc = esi_mf_put(m, key, es_node_clone(labels->items[k], c->exp)))) {
            es_node_destroy(m);
            return es_err_set(c->err, ES_ENOMEM, "out of memory");
        }
    }
    *out = m;
    return 0;
}

/* Adds to map m the labels of the experiment's entry `from` it lacks (the
 * manifest's value wins). */
static int merge_labels(ctx_t *c, es_node_t *m, const es_node_t *from)
{
    for (size_t k = 0; k < from->n; k++) {
        if (es_map_get(m, from->keys[k])) continue;
        if (esi_mf_put(m, from->keys[k], es_node_clone(from->items[k], c->exp)))
            return es_err_set(c->err, ES_ENOMEM, "out of memory");
    }
    return 0;
}

/* cluster.pod_labels from the pool's Deployments: pod i carries the template
 * labels of the Deployment it belongs to, prefill pods first (the cluster
 * model gives pods 0..prefill-1 the prefill role), each Deployment's pods in
 * manifest order.  One Deployment: one entry (every pod the same).  Labels
 * the experiment gives pod i (cluster.pod_labels, item i mod its length:
 * topology, which manifests do not carry) are kept where the template does
 * not set the key. */
static int set_pod_labels(ctx_t *c, const pool_dep_t *deps, size_t n, bool have_prefill, const es_node_t *where)
{
    const es_node_t *exp = c->exp->root ? es_node_find(c->exp->root, "cluster.pod_labels") : NULL;
    bool merge = exp && exp->kind == ES_NODE_SEQ && exp->n > 0;
    for (size_t i = 0; merge && i < exp->n; i++) merge = exp->items[i]->kind == ES_NODE_MAP;
    es_node_t *seq = es_node_new_seq(c->exp);
    if (!seq) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    seq->line = where->line; seq->col = where->col;
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {   /* prefill Deployments, then the others */
        for (size_t i = 0; i < n && !rc; i++) {
            if (deps[i].prefill != (pass == 0)) continue;
            es_node_t *m;
            if ((rc = dep_labels(c, &deps[i], have_prefill, &m))) break;
            int64_t copies = n == 1 && !merge ? 1 : deps[i].replicas;
            for (int64_t k = 0; k < copies; k++) {   /* the last copy is m itself */
                es_node_t *e = k + 1 < copies ? es_node_clone(m, c->exp) : m;
                if (!rc && e && merge && merge_labels(c, e, exp->items[seq->n % exp->n])) rc = c->err->code;
                if (!rc && e && !es_seq_append(seq, e)) continue;
                es_node_destroy(e);
                if (!rc) rc = es_err_set(c->err, ES_ENOMEM, "out of memory");
            }
            if (copies == 0) es_node_destroy(m);   /* a Deployment scaled to 0 has no pods */
        }
    }
    if (rc) { es_node_destroy(seq); return rc; }
    if (!merge) return esi_mf_set_key(c, "cluster.pod_labels", seq);
    esi_mf_warn(c, "%s:%u: cluster.pod_labels: merged with the Deployments' template labels (the template wins on a "
                "shared key)", exp->doc->file, exp->line);
    return es_doc_set_path(c->exp, "cluster.pod_labels", seq, c->err);
}

/* cluster.pod_hostnames from the pool's Deployments' spec.template.spec.hostname
 * (every pod of a Deployment gets it; "" where a template has none), pods in
 * set_pod_labels' order; nothing when no template sets one.  The topology
 * extractor falls back to it where the hostname label is absent (llm-d-router
 * v0.10.0 datalayer/extractor/topology/extractor.go). */
static int set_pod_hostnames(ctx_t *c, const pool_dep_t *deps, size_t n, const es_node_t *where)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) any = any || es_node_find(deps[i].o->root, "spec.template.spec.hostname");
    if (!any) return 0;
    es_node_t *seq = es_node_new_seq(c->exp);
    if (!seq) return es_err_set(c->err, ES_ENOMEM, "out of memory");
    seq->line = where->line; seq->col = where->col;
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {   /* prefill Deployments, then the others */
        for (size_t i = 0; i < n && !rc; i++) {
            if (deps[i].prefill != (pass == 0)) continue;
            const es_node_t *h = es_node_find(deps[i].o->root, "spec.template.spec.hostname");
            const char *v = h ? esi_mf_text_of(c, deps[i].o, h, "spec.template.spec.hostname") : "";
            if (!v) { rc = c->err->code; break; }
            if (!es_is_dns_label(v)) { rc = esi_mf_oerr(c, deps[i].o, h, "spec.template.spec.hostname", ES_HOSTNAME_RULE); break; }
            for (int64_t k = 0; k < (n == 1 ? 1 : deps[i].replicas) && !rc; k++) {
                es_node_t *e = h ? es_node_clone(h, c->exp) : es_node_new_scalar(c->exp, "", true);
                if (e && !es_seq_append(seq, e)) continue;
                es_node_destroy(e);
                rc = es_err_set(c->err, ES_ENOMEM, "out of memory");
            }
        }
    }
    if (rc) { es_node_destroy(seq); return rc; }
    return esi_mf_set_key(c, "cluster.pod_hostnames", seq);
}

int esi_mf_read_servers(ctx_t *c, const pool_t *p)
{
    server_info_t si;
    memset(&si, 0, sizeof si);
    si.max_loras = -1;
    si.readiness_s = -1;
    int64_t total = 0, prefill = 0;
    size_t ndeps = 0;
    pool_dep_t *deps = NULL;
    int rc = 0;
    const obj_t *first = NULL;
    for (size_t i = 0; i < c->nobjs && !rc; i++) {
        const obj_t *o = &c->objs[i];
        if (o->kind != K_DEPLOYMENT || strcmp(o->ns, p->o->ns) || !esi_mf_labels_match(p->selector, esi_mf_pod_labels(o))) continue;
        if (!first) first = o;
        int64_t r;
        if ((rc = esi_mf_deployment_replicas(c, o, &r))) break;
        total += r;
        const es_node_t *role = es_map_get(esi_mf_pod_labels(o), "llm-d.ai/role");
        bool is_prefill = role && role->kind == ES_NODE_SCALAR && !strcmp(role->str, "prefill");
        if (is_prefill) prefill += r;
        pool_dep_t *nd = realloc(deps, (ndeps + 1) * sizeof *deps);
        if (!nd) { rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
        deps = nd;
        deps[ndeps++] = (pool_dep_t){o, r, is_prefill};
        const es_node_t *ctrs = es_node_find(o->root, "spec.template.spec.containers");
        const es_node_t *server = NULL;
        toks_t t = {0};
        for (size_t k = 0; k < ctrs->n && !server; k++) {
            toks_t tk = {0};
            if (esi_mf_container_tokens(ctrs->items[k], k, &tk)) { esi_mf_toks_free(&tk); rc = es_err_set(c->err, ES_ENOMEM, "out of memory"); break; }
            if (is_vllm_container(ctrs->items[k], &tk)) { server = ctrs->items[k]; t = tk; }
            else esi_mf_toks_free(&tk);
        }
        if (rc) break;
        if (!server) {
            const es_node_t *img = es_map_get(ctrs->items[0], "image");
            esi_mf_warn(c, "%s: no container runs vLLM (image %s); the simulated servers take the experiment's server settings",
                 o->label, img && img->kind == ES_NODE_SCALAR ? img->str : "?");
            /* the readiness delay still applies to whatever serves the pool */
            const es_node_t *probe = es_map_get(ctrs->items[0], "readinessProbe");
            if (probe && si.readiness_s < 0) {
                const es_node_t *d = es_map_get(probe, "initialDelaySeconds");
                int64_t v = 0;
                if (d && (rc = esi_mf_read_i64(c, o, d, "spec.template.spec.containers[0].readinessProbe.initialDelaySeconds", 0, 100000000, &v))) break;
                si.readiness_s = (double)v;
                si.readiness_node = d ? d : probe;
            }
            continue;
        }
        rc = read_server_container(c, o, server, &t, &si);
        esi_mf_toks_free(&t);
    }
    if (!rc && ndeps == 0) {
        char labels[256];
        esi_mf_format_labels(labels, sizeof labels, p->selector);
        rc = es_err_set(c->err, ES_ENOTFOUND, "%s:%u: %s: spec.selector: no Deployment in namespace %s has pods labelled %s",
                        p->selector->doc->file, p->selector->line, p->o->label, p->o->ns, labels);
    }
    if (!rc && total < 1)
        rc = esi_mf_oerr(c, first, es_node_find(first->root, "spec.replicas"), "spec.replicas", "the InferencePool has no pods (replicas 0)");
    char num[48];
    const es_node_t *where = first ? es_node_find(first->root, "spec.replicas") : NULL;
    if (!where && first) where = first->root;
    if (!rc) {
        snprintf(num, sizeof num, "%lld", (long long)total);
        rc = esi_mf_set_key(c, "cluster.replicas", esi_mf_scalar_at(where, num, false));
    }
    if (!rc && prefill > 0) {
        snprintf(num, sizeof num, "%lld", (long long)prefill);
        rc = esi_mf_set_key(c, "cluster.prefill_replicas", esi_mf_scalar_at(where, num, false));
    }
    /* the pods' labels, as label selectors and topology plugins see them */
    if (!rc && total <= ES_CLUSTER_MAX_PODS) rc = set_pod_labels(c, deps, ndeps, prefill > 0, where);
    if (!rc && total <= ES_CLUSTER_MAX_PODS) rc = set_pod_hostnames(c, deps, ndeps, where);
    free(deps);
    deps = NULL;
    if (!rc && si.readiness_s >= 0) {
        snprintf(num, sizeof num, "%.17g", si.readiness_s);
        rc = esi_mf_set_key(c, "cluster.readiness_delay_s", esi_mf_scalar_at(si.readiness_node, num, false));
    }
    for (size_t i = 0; i < sizeof si.values / sizeof si.values[0]; i++) {
        if (!si.values[i]) continue;
        if (!rc) rc = esi_mf_set_key(c, k_vllm_flags[i].key, si.values[i]);
        else es_node_destroy(si.values[i]);
        si.values[i] = NULL;
    }
    if (!rc && si.enable_lora) {
        snprintf(num, sizeof num, "%lld", (long long)(si.max_loras > 0 ? si.max_loras : 1));  /* vLLM's default 1 */
        rc = esi_mf_set_key(c, "server.max_loras", esi_mf_scalar_at(si.lora_node ? si.lora_node : where, num, false));
    }
    if (!rc && si.model_node) {
        char prof[128];
        const char *gpu = experiment_gpu(c);
        if (map_model(gpu, si.model, prof, sizeof prof))
            rc = esi_mf_set_key(c, "server.model", esi_mf_scalar_at(si.model_node, prof, true));
        else
            esi_mf_warn(c, "vLLM model \"%s\" has no step-time table in GPU profile %s; server.model stays as the experiment says",
                 si.model, gpu);
        const char *req_model = si.served_node ? si.served : si.model;
        const es_node_t *wm = c->exp->root ? es_node_find(c->exp->root, "workload.model") : NULL;
        if (!rc && !wm)
            rc = esi_mf_set_key(c, "workload.model", esi_mf_scalar_at(si.served_node ? si.served_node : si.model_node, req_model, true));
        else if (!rc && wm->kind == ES_NODE_SCALAR && strcmp(wm->str, req_model) != 0)
            esi_mf_warn(c, "%s:%u: workload.model \"%s\" is not the model the pool serves (\"%s\")", wm->doc->file, wm->line,
                 wm->str, req_model);
    }
    return rc;
}
