/*
 * experiment.c -- composing and validating the experiment schema.
 */
#include "es_experiment.h"

#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "es_paths.h"
#include "es_time.h"
#include "es_str.h"
#include "es_server.h"
#include "es_steptime.h"
#include "es_vllm_args.h"
#include "es_gpu_spec.h"
#include "es_model_config.h"

#define X(x) offsetof(es_experiment_t, x)
static const es_schema_entry_t k_top[] = {
    {"schema_version", ES_ST_INT, X(schema_version), "1", 1, 1, NULL, "",
     "experiment schema version (1)", NULL},
    {"name", ES_ST_STRING, X(name), "default", 0, 0, NULL, "",
     "experiment name; the default output directory is out/<name>-seed<seed>, so one folder name: no '/', not . or .., no control characters, at most 200 bytes", NULL},
    {"seed", ES_ST_U64, X(seed), "1", 0, 0, NULL, "", "master seed (unsigned 64-bit)", NULL},
    {"duration_s", ES_ST_DOUBLE, X(duration_s), "0", 0, ES_TIME_MAX_S, NULL, "s",
     "simulated time limit; 0 = run until every request has ended", NULL},
    {"server", ES_ST_SECTION, X(server), NULL, 0, 0, NULL, "", "vLLM-like model server", &es_server_schema},
    {"cluster", ES_ST_SECTION, X(cluster), NULL, 0, 0, NULL, "", "pods, faults, disaggregation", &es_cluster_schema},
    {"epp", ES_ST_SECTION, X(epp), NULL, 0, 0, NULL, "", "endpoint picker service", &es_epp_service_schema},
    {"gateway", ES_ST_SECTION, X(gateway), NULL, 0, 0, NULL, "", "gateway and ext_proc", &es_gateway_schema},
    {"workload", ES_ST_SECTION, X(workload), NULL, 0, 0, NULL, "", "requests", &es_workload_schema},
    {"results", ES_ST_SECTION, X(results), NULL, 0, 0, NULL, "", "measurement and outputs", &es_results_schema},
};
#undef X
ES_SCHEMA_DEFINE(es_experiment_schema, "", k_top);

const char es_default_experiment_yaml[] =
    "# eppsim built-in default experiment: the Istio guide's InferencePool\n"
    "# (3 vLLM pods, Llama-3.1-8B on H100) behind the EPP's default plugins\n"
    "# (queue-scorer 2, kv-cache-utilization-scorer 2, prefix-cache-scorer 3),\n"
    "# with a shared-prefix workload.\n"
    "name: default\n"
    "seed: 1\n"
    "server:\n"
    "  gpu: h100-sxm-80gb\n"
    "  model: llama-3.1-8b\n"
    "cluster:\n"
    "  replicas: 3\n"
    "workload:\n"
    "  type: shared_prefix\n"
    "  num_requests: 600\n"
    "  arrival: {process: poisson, rate: 12}\n"
    "  shared_prefix: {num_groups: 6, num_prompts_per_group: 100, system_prompt_len: 1000,\n"
    "                  question_len: 300, question_len_std: 60, output_len: 120, output_len_std: 40}\n";

/* Known GPUs are the profile files present in the data directory and the
 * GPUs of the datasheet (models/es_gpu_spec.h). */
static int check_gpu(const es_experiment_t *exp, es_err_t *err)
{
    char dir[1024], file[1200];
    es_data_path(dir, sizeof dir, "profiles");
    snprintf(file, sizeof file, "%s/%s.json", dir, exp->server.gpu);
    struct stat st;
    if (strchr(exp->server.gpu, '/') == NULL && stat(file, &st) == 0) return 0;
    es_gpu_spec_t spec;
    int rc = es_gpu_spec_lookup(exp->server.gpu_datasheet, exp->server.gpu, &spec, err);
    if (rc != ES_ENOTFOUND) return rc;
    char known[512] = "";
    size_t used = 0;
    DIR *d = opendir(dir);
    if (d) {
        /* sorted listing, so the message is stable */
        char *names[64];
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) && n < 64) {
            size_t len = strlen(de->d_name);
            if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) {
                names[n] = strndup(de->d_name, len - 5);
                if (names[n]) n++;
            }
        }
        closedir(d);
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                char *t = names[j]; names[j] = names[j - 1]; names[j - 1] = t;
            }
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", names[i]);
            if (w > 0 && (size_t)w < sizeof known - used) used += (size_t)w;
            free(names[i]);
        }
    }
    /* then the datasheet's GPUs that have no profile */
    char sheet[512], *save = NULL;
    es_gpu_spec_names(exp->server.gpu_datasheet, sheet, sizeof sheet);
    for (char *tok = strtok_r(sheet, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        snprintf(file, sizeof file, "%s/%s.json", dir, tok);
        if (stat(file, &st) == 0) continue;
        int w = snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", tok);
        if (w > 0 && (size_t)w < sizeof known - used) used += (size_t)w;
    }
    const es_node_t *node = exp->doc ? es_node_find(exp->doc->root, "server.gpu") : NULL;
    if (node)
        return es_node_err(err, ES_EINVAL, node, "server.gpu", "unknown GPU \"%s\" (known: %s)", exp->server.gpu,
                           known);
    return es_err_set(err, ES_EINVAL, "server.gpu: unknown GPU \"%s\" (known: %s)", exp->server.gpu, known);
}

/* A config.json model is read now, so its errors come before any run. */
static int check_model(const es_experiment_t *exp, es_err_t *err)
{
    if (!es_model_is_path(exp->server.model)) return 0;
    es_model_shape_t shape;
    int rc = es_model_config_load(exp->server.model, &shape, err);
    const es_node_t *node = exp->doc ? es_node_find(exp->doc->root, "server.model") : NULL;
    if (rc && node && strncmp(err->msg, "server.model: ", 14) == 0) {
        char m[ES_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", err->msg + 14);
        return es_node_err(err, rc, node, "server.model", "%s", m);
    }
    return rc;
}

/* ---- server.vllm_args / server.vllm_config (models/vllm_args.h) ---- */

static bool explicit_server_key(void *ud, const char *key)
{
    const es_experiment_t *exp = ud;
    char path[128];
    snprintf(path, sizeof path, "server.%s", key);
    return exp->doc && exp->doc->root && es_node_find(exp->doc->root, path) != NULL;
}

/* A key `eppsim validate --set` set (held by ES_WHATIF_DOC) wins over the
 * replayed run's flags: no conflict with them, and es_vllm_apply keeps it. */
static bool file_server_key(void *ud, const char *key)
{
    const es_experiment_t *exp = ud;
    char path[128];
    snprintf(path, sizeof path, "server.%s", key);
    const es_node_t *n = exp->doc && exp->doc->root ? es_node_find(exp->doc->root, path) : NULL;
    return n && !(n->doc && n->doc->file && !strcmp(n->doc->file, ES_WHATIF_DOC));
}

static int server_node_err(const es_experiment_t *exp, es_err_t *err, int code, const char *key, const char *msg)
{
    char path[128];
    snprintf(path, sizeof path, "server.%s", key);
    const es_node_t *n = exp->doc && exp->doc->root ? es_node_find(exp->doc->root, path) : NULL;
    if (n) return es_node_err(err, code, n, path, "%s", msg);
    return es_err_set(err, code, "%s: %s", path, msg);
}

static int apply_vllm(es_experiment_t *exp, es_err_t *err)
{
    es_server_config_t *sc = &exp->server;
    char msg[ES_ERR_MSG_MAX];
    int version;
    /* checked with or without flags: the server reads it too, where no line is known */
    if (sc->vllm_version && sc->vllm_version[0] && es_vllm_version_parse(sc->vllm_version, &version, err)) {
        snprintf(msg, sizeof msg, "%s", err->msg);
        return server_node_err(exp, err, ES_EINVAL, "vllm_version", msg);
    }
    /* a version the file names, alone, is `vllm serve MODEL` of that version: its defaults too */
    if (!sc->vllm_args[0] && !sc->vllm_config[0] && !explicit_server_key(exp, "vllm_version")) return 0;
    if (es_vllm_version_parse(sc->vllm_version, &version, err)) {
        snprintf(msg, sizeof msg, "%s", err->msg);
        return server_node_err(exp, err, ES_EINVAL, "vllm_version", msg);
    }
    es_vllm_serve_t given;
    es_vllm_serve_init(&given);
    int rc;
    if (sc->vllm_config[0]) {
        char path[1200];
        es_doc_t *doc;
        es_experiment_path(exp, sc->vllm_config, path, sizeof path);
        if ((rc = es_doc_load_file(path, &doc, err))) {
            size_t pl = strlen(path);
            if (strncmp(err->msg, path, pl) || err->msg[pl] != ':' || err->msg[pl + 1] != ' ') return rc;
            snprintf(msg, sizeof msg, "%s", err->msg);   /* unreadable as a whole: name the experiment's line */
            return server_node_err(exp, err, rc, "vllm_config", msg);
        }
        rc = doc->root ? es_vllm_parse_map(doc->root, "", &given, err) : 0;
        es_doc_destroy(doc);
        if (rc) return rc;
    }
    if (sc->vllm_args[0] && es_vllm_parse_args(sc->vllm_args, "server.vllm_args", &given, err)) {
        const char *m = strncmp(err->msg, "server.vllm_args: ", 18) == 0 ? err->msg + 18 : err->msg;
        snprintf(msg, sizeof msg, "%s", m);
        return server_node_err(exp, err, ES_EINVAL, "vllm_args", msg);
    }
    const char *both = es_vllm_conflict(&given, sc, file_server_key, exp);
    if (both) {
        snprintf(msg, sizeof msg, "differs from the value server.%s sets; give it once",
                 sc->vllm_args[0] ? "vllm_args" : "vllm_config");
        return server_node_err(exp, err, ES_EINVAL, both, msg);
    }
    /* the GPU: a measured profile, else a datasheet entry (both name the device and its memory) */
    es_profile_t *prof = NULL;
    es_err_t perr;
    char gpu_name[256];
    double mem_bytes;
    if (es_profile_load(sc->gpu, &prof, &perr) == 0) {
        snprintf(gpu_name, sizeof gpu_name, "%s %s", sc->gpu, prof->device);
        mem_bytes = prof->memory_bytes;
    } else {
        es_gpu_spec_t spec;
        if ((rc = es_gpu_spec_lookup(sc->gpu_datasheet, sc->gpu, &spec, err))) return rc;
        snprintf(gpu_name, sizeof gpu_name, "%s %s", sc->gpu, spec.device);
        mem_bytes = spec.memory_bytes;
    }
    if (given.model[0] && !explicit_server_key(exp, "model")) {
        char key[256];
        es_vllm_model_key(given.model, key, sizeof key);
        if (prof && es_profile_model(prof, key)) {
            free(sc->model);
            sc->model = es_strdup(key);
            if (!sc->model) { es_profile_destroy(prof); return es_err_set(err, ES_ENOMEM, "out of memory"); }
        } else {
            char list[512] = "none";
            if (prof) es_profile_model_list(prof, list, sizeof list);
            snprintf(msg, sizeof msg, "model \"%s\" has no step-time profile on %s (it has: %s); set server.model "
                     "(a profile model or the model's config.json)", given.model, sc->gpu, list);
            es_profile_destroy(prof);
            return server_node_err(exp, err, ES_ENOTFOUND, sc->vllm_args[0] ? "vllm_args" : "vllm_config", msg);
        }
    }
    es_profile_destroy(prof);
    double mem_gib = sc->gpu_memory_gib > 0 ? sc->gpu_memory_gib : mem_bytes / ES_GIB;
    es_vllm_serve_t r;
    es_vllm_resolve(&given, version, gpu_name, mem_gib, &r);
    es_vllm_apply(&r, explicit_server_key, exp, sc);
    char warn[2048] = "";
    es_vllm_warnings(&r, warn, sizeof warn);
    if (warn[0]) {
        exp->warnings = es_strdup(warn);
        if (!exp->warnings) return es_err_set(err, ES_ENOMEM, "out of memory");
    }
    return 0;
}

/* The server refuses other TP sizes at creation, where no line is known; say it here with one. */
static int check_tensor_parallel(const es_experiment_t *exp, es_err_t *err)
{
    int64_t tp = exp->server.tensor_parallel;
    if (tp == 1 || tp == 2 || tp == 4 || tp == 8) return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "%lld is not 1, 2, 4 or 8", (long long)tp);
    const char *key = explicit_server_key((void *)exp, "tensor_parallel") ? "tensor_parallel"
                      : exp->server.vllm_args[0]                            ? "vllm_args"
                                                                            : "vllm_config";
    if (strcmp(key, "tensor_parallel")) snprintf(msg, sizeof msg, "--tensor-parallel-size %lld: eppsim models TP 1, 2, 4 or 8",
                                                 (long long)tp);
    return server_node_err(exp, err, ES_EINVAL, key, msg);
}

/* A relative file path in the server section names a file beside the experiment. */
static int resolve_server_path(es_experiment_t *exp, char **field)
{
    if (!*field || !**field || (*field)[0] == '/' || strcmp(exp->base_dir, ".") == 0) return 0;
    char buf[2048];
    es_experiment_path(exp, *field, buf, sizeof buf);
    char *dup = strdup(buf);
    if (!dup) return ES_ENOMEM;
    free(*field);
    *field = dup;
    return 0;
}

static int resolve_paths(es_experiment_t *exp, es_err_t *err)
{
    int rc = 0;
    if (es_model_is_path(exp->server.model)) rc = resolve_server_path(exp, &exp->server.model);
    if (!rc) rc = resolve_server_path(exp, &exp->server.gpu_datasheet);
    if (!rc) rc = resolve_server_path(exp, &exp->server.step_coefficients);
    return rc ? es_err_set(err, rc, "out of memory") : 0;
}

/* server.vllm_fidelity auto: vLLM's overheads are modelled when the run names
 * vLLM settings (a version, vllm_args or vllm_config), so experiments that
 * name none keep eppsim's own model and their results. */
static void resolve_vllm_fidelity(es_experiment_t *exp)
{
    es_server_config_t *sc = &exp->server;
    if (sc->vllm_fidelity != ES_FIDELITY_AUTO) return;
    bool named = explicit_server_key(exp, "vllm_version") || sc->vllm_args[0] || sc->vllm_config[0];
    sc->vllm_fidelity = named ? ES_FIDELITY_ON : ES_FIDELITY_OFF;
}

/* The name becomes one path component of the default output directory
 * (out/<name>-seed<seed>) and a title in every output: one component, no
 * control characters, short enough for any file system's NAME_MAX. */
static int check_name(const es_experiment_t *exp, es_err_t *err)
{
    const char *name = exp->name, *why = NULL;
    size_t len = strlen(name);
    char toolong[64];
    snprintf(toolong, sizeof toolong, "is %zu bytes, longer than the %d allowed", len, ES_NAME_MAX);
    if (len == 0) why = "must not be empty";
    else if (len > ES_NAME_MAX) why = toolong;
    else if (!strcmp(name, ".") || !strcmp(name, "..")) why = "must not be '.' or '..'";
    else if (strchr(name, '/')) why = "must not contain '/' (it is one folder name, not a path; use --out DIR)";
    else
        for (const char *p = name; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) { why = "must not contain control characters"; break; }
    if (!why) return 0;
    const es_node_t *node = exp->doc ? es_node_find(exp->doc->root, "name") : NULL;
    if (node) return es_node_err(err, ES_EINVAL, node, "name", "%s", why);
    return es_err_set(err, ES_EINVAL, "name: %s", why);
}

/* Values inside the schema's ranges that the models still cannot take;
 * rejected here, with the file and line, rather than failing mid-run. */
static int check_values(const es_experiment_t *exp, es_err_t *err)
{
    const es_node_t *root = exp->doc ? exp->doc->root : NULL;
    const char *key = NULL;
    char why[160];
    if (exp->server.num_gpu_blocks == 1) {
        key = "server.num_gpu_blocks";
        snprintf(why, sizeof why, "1 leaves no usable block (one is vLLM's null block); 0 derives the count, else at least 2");
    } else if (exp->workload.arrival.rate > 0 && exp->workload.arrival.rate < ES_WL_MIN_RATE) {
        key = "workload.arrival.rate";
        snprintf(why, sizeof why, "%g req/s is below %g (a request every %.0f days at most)", exp->workload.arrival.rate,
                 ES_WL_MIN_RATE, 1 / ES_WL_MIN_RATE / 86400);
    }
    const es_workload_config_t *wl = &exp->workload;
    bool finite_source = wl->type == ES_WL_TRACE || (wl->type == ES_WL_SESSIONS && wl->sessions.num_sessions > 0) ||
                         (wl->arrival.stages && !es_node_is_null(wl->arrival.stages));
    if (!key && exp->duration_s == 0 && wl->duration_s == 0 && wl->num_requests == 0 && !finite_source) {
        key = "workload.num_requests";
        snprintf(why, sizeof why, "0 (no limit) with no duration_s either: the run would never end; "
                                  "set workload.num_requests, workload.duration_s or duration_s");
    }
    if (!key) return 0;
    const es_node_t *node = root ? es_node_find(root, key) : NULL;
    if (node) return es_node_err(err, ES_EINVAL, node, key, "%s", why);
    return es_err_set(err, ES_EINVAL, "%s: %s", key, why);
}

int es_experiment_from_doc(es_doc_t *doc, const char *base_dir, es_experiment_t *exp, es_err_t *err)
{
    memset(exp, 0, sizeof *exp);
    exp->doc = doc;
    exp->base_dir = strdup(base_dir ? base_dir : ".");
    if (!exp->base_dir) return es_err_set(err, ES_ENOMEM, "out of memory");
    int rc = es_schema_defaults(&es_experiment_schema, exp, err);
    if (!rc && doc->root && doc->root->kind != ES_NODE_MAP)
        rc = es_node_expect_map(doc->root, "", err);
    if (!rc) rc = es_schema_load(&es_experiment_schema, exp, doc->root, "", err);
    if (!rc) rc = resolve_paths(exp, err);
    if (!rc) rc = check_name(exp, err);
    if (!rc) rc = check_values(exp, err);
    if (!rc) rc = check_gpu(exp, err);
    if (!rc) rc = check_model(exp, err);
    if (!rc) rc = es_e2e_config_parse(&exp->cluster, &exp->epp, &exp->gateway, err);
    if (!rc) rc = apply_vllm(exp, err);
    if (!rc) rc = check_tensor_parallel(exp, err);
    if (!rc) resolve_vllm_fidelity(exp);
    if (rc) es_experiment_fini(exp);
    return rc;
}

int es_experiment_load(const char *path, es_experiment_t *exp, es_err_t *err)
{
    es_doc_t *doc;
    int rc;
    char base[1024] = ".";
    if (path) {
        rc = es_doc_load_file(path, &doc, err);
        const char *slash = strrchr(path, '/');
        if (slash) snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
    } else {
        rc = es_doc_load_string("<built-in default>", es_default_experiment_yaml,
                                strlen(es_default_experiment_yaml), &doc, err);
    }
    if (rc) return rc;
    return es_experiment_from_doc(doc, base, exp, err);
}

void es_experiment_fini(es_experiment_t *exp)
{
    es_e2e_config_fini(&exp->cluster, &exp->epp, &exp->gateway);
    es_schema_fini(&es_experiment_schema, exp);
    es_doc_destroy(exp->doc);
    free(exp->base_dir);
    free(exp->warnings);
    memset(exp, 0, sizeof *exp);
}

const char *es_experiment_path(const es_experiment_t *exp, const char *rel, char *buf, size_t size)
{
    if (!rel || rel[0] == '/' || !exp->base_dir || strcmp(exp->base_dir, ".") == 0)
        snprintf(buf, size, "%s", rel ? rel : "");
    else
        snprintf(buf, size, "%s/%s", exp->base_dir, rel);
    return buf;
}
