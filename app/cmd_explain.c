/*
 * cmd_explain.c -- `eppsim explain`: why did the endpoint picker pick that pod?
 *
 *   eppsim explain [--epp-config EPP.yaml] --state STATE.json [--seed N] [--json]
 *
 * Builds the endpoints of STATE (JSON or YAML), replays its history through
 * the prefix-index hooks, runs one decision with a trace and prints every
 * profile's survivors, every plugin's raw score per endpoint and the totals
 * (docs/scheduler.md, "eppsim explain").  Exit 0 whenever an explanation was
 * produced (whatever the outcome), 2 for bad input.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "es_cli.h"
#include "es_doc.h"
#include "es_scheduler.h"
#include "es_file.h"
#include "es_util.h"

typedef struct ep_in {
    es_label_t  labels[32];
    int64_t     inflight_req, inflight_tok;
    const es_node_t *kv_blocks;
} ep_in_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: eppsim explain [--epp-config EPP.yaml] --state STATE.json [--seed N] [--json]\n"
               "       eppsim explain --from-run DIR --request ID [--json]\n"
               "       (--strict-stability: refuse Alpha plugins as the EPP does, unless\n"
               "       --allow-experimental-plugins)\n\n"
               "Runs one endpoint-picker decision on the state in STATE (JSON or YAML) and shows\n"
               "the survivors of every profile's filters, every scorer's raw score per endpoint\n"
               "and the weighted totals.  Without --epp-config the upstream default applies\n"
               "(queue 2, kv-cache-utilization 2, prefix 3).  See docs/scheduler.md.\n\n"
               "--from-run replays one decision of a run made with `eppsim run --record-decisions`:\n"
               "the endpoints as that EPP replica saw them, its in-flight counters, the earlier\n"
               "requests it routed (rebuilding its prefix index) and the run's EPP config;\n"
               "with flowControl, the queues the request found at its arrival (its verdict:\n"
               "dispatched, held or rejected, as the run decided).\n\n"
               "options:\n"
               "  --state FILE         the endpoints and the request (docs/scheduler.md)\n"
               "  --epp-config FILE    EndpointPickerConfig (default: the upstream default; with\n"
               "                       --from-run: the run's epp-config.yaml)\n"
               "  --seed N             seed of the picker's random tie-breaks (default 0; with\n"
               "                       --from-run: the seed the run's EPP replica used)\n"
               "  --from-run DIR       a run directory made with --record-decisions\n"
               "  --request ID         the request of --from-run to replay\n"
               "  --json               the explanation as JSON\n"
               "  --strict-stability   refuse Alpha plugins (see above)\n"
               "  --allow-experimental-plugins  with --strict-stability: accept them\n"
               "  -h, --help           this help\n"
               "exit codes: 0 an explanation was produced (whatever the outcome), 2 bad input.\n");
}

static int get_i64(const es_node_t *map, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *out, es_err_t *err)
{
    const es_node_t *v = es_map_get(map, key);
    if (!v || es_node_is_null(v)) return 0;
    char full[256];
    snprintf(full, sizeof full, "%s.%s", path, key);
    return es_node_to_i64(v, full, min, max, out, err);
}

static int get_dbl(const es_node_t *map, const char *key, const char *path, double min, double max,
                   double *out, es_err_t *err)
{
    const es_node_t *v = es_map_get(map, key);
    if (!v || es_node_is_null(v)) return 0;
    char full[256];
    snprintf(full, sizeof full, "%s.%s", path, key);
    return es_node_to_double(v, full, min, max, out, err);
}

static int get_str(const es_node_t *map, const char *key, const char *path, const char **out, es_err_t *err)
{
    const es_node_t *v = es_map_get(map, key);
    if (!v || es_node_is_null(v)) return 0;
    char full[256];
    snprintf(full, sizeof full, "%s.%s", path, key);
    return es_node_to_str(v, full, out, err);
}

static int str_list(const es_node_t *seq, const char *path, const char **out, uint32_t *n, es_err_t *err)
{
    *n = 0;
    if (!seq || es_node_is_null(seq)) return 0;
    int rc = es_node_expect_seq(seq, path, err);
    if (rc) return rc;
    if (seq->n > ES_LORA_LIST_MAX) return es_node_err(err, ES_ERANGE, seq, path, "at most %d adapters", ES_LORA_LIST_MAX);
    for (size_t i = 0; i < seq->n; i++) {
        char full[256];
        snprintf(full, sizeof full, "%s[%zu]", path, i);
        if ((rc = es_node_to_str(seq->items[i], full, &out[i], err))) return rc;
    }
    *n = (uint32_t)seq->n;
    return 0;
}

static int parse_endpoint(const es_node_t *n, const char *pre, size_t i, es_time_t now, es_endpoint_t *ep, ep_in_t *in,
                          es_err_t *err)
{
    char path[64];
    snprintf(path, sizeof path, "%sendpoints[%zu]", pre, i);
    int rc = es_node_expect_map(n, path, err);
    static const char *const keys[] = {"name", "address", "labels", "metrics", "inflight", "kv_blocks", NULL};
    if (rc || (rc = es_map_check_keys(n, path, keys, err))) return rc;
    ep->id = (uint32_t)i;
    ep->ready = true;
    ep->metrics.update_time = -1;
    if ((rc = get_str(n, "name", path, &ep->name, err))) return rc;
    if (!ep->name) return es_node_err(err, ES_EINVAL, n, path, "missing name");
    ep->address = "";
    if ((rc = get_str(n, "address", path, &ep->address, err))) return rc;
    const es_node_t *lb = es_map_get(n, "labels");
    if (lb && !es_node_is_null(lb)) {
        char lp[96];
        snprintf(lp, sizeof lp, "%s.labels", path);
        if ((rc = es_node_expect_map(lb, lp, err))) return rc;
        if (lb->n > 32) return es_node_err(err, ES_ERANGE, lb, lp, "at most 32 labels");
        for (size_t k = 0; k < lb->n; k++) {
            in->labels[k].key = lb->keys[k];
            char kp[160];
            snprintf(kp, sizeof kp, "%s.%s", lp, lb->keys[k]);
            if ((rc = es_node_to_str(lb->items[k], kp, &in->labels[k].value, err))) return rc;
        }
        ep->labels = in->labels;
        ep->nlabels = (uint32_t)lb->n;
    }
    const es_node_t *m = es_map_get(n, "metrics");
    if (m && !es_node_is_null(m)) {
        char mp[96];
        snprintf(mp, sizeof mp, "%s.metrics", path);
        static const char *const mk[] = {"waiting", "running", "kv_cache_usage", "lora", "cache_block_size",
                                         "num_gpu_blocks", "age_ms", "gpu_utilization", NULL};
        if ((rc = es_node_expect_map(m, mp, err)) || (rc = es_map_check_keys(m, mp, mk, err))) return rc;
        int64_t w = 0, r = 0, bs = 0, nb = 0;
        double kv = 0, age = 0;
        if ((rc = get_i64(m, "waiting", mp, 0, INT32_MAX, &w, err)) ||
            (rc = get_i64(m, "running", mp, 0, INT32_MAX, &r, err)) ||
            (rc = get_dbl(m, "kv_cache_usage", mp, 0, 1, &kv, err)) ||
            (rc = get_i64(m, "cache_block_size", mp, 0, 1 << 20, &bs, err)) ||
            (rc = get_i64(m, "num_gpu_blocks", mp, 0, UINT32_MAX, &nb, err)) ||
            (rc = get_dbl(m, "age_ms", mp, 0, 1e12, &age, err)))
            return rc;
        ep->metrics.waiting = (int32_t)w;
        ep->metrics.running = (int32_t)r;
        ep->metrics.kv_cache_usage = kv;
        ep->metrics.block_size = (uint32_t)bs;
        ep->metrics.num_gpu_blocks = (uint32_t)nb;
        ep->metrics.update_time = now - es_time_from_ms(age);
        if (es_map_get(m, "gpu_utilization") && !es_node_is_null(es_map_get(m, "gpu_utilization"))) {
            if ((rc = get_dbl(m, "gpu_utilization", mp, 0, 1, &ep->metrics.gpu_util, err))) return rc;
            ep->metrics.has_gpu_util = true;
        }
        const es_node_t *l = es_map_get(m, "lora");
        if (l && !es_node_is_null(l)) {
            char lp[128];
            snprintf(lp, sizeof lp, "%s.lora", mp);
            static const char *const lk[] = {"active", "waiting", "max", NULL};
            if ((rc = es_node_expect_map(l, lp, err)) || (rc = es_map_check_keys(l, lp, lk, err))) return rc;
            char ap[160], wp[160];
            snprintf(ap, sizeof ap, "%s.active", lp);
            snprintf(wp, sizeof wp, "%s.waiting", lp);
            int64_t mx = 0;
            if ((rc = str_list(es_map_get(l, "active"), ap, ep->metrics.running_lora, &ep->metrics.n_running_lora, err)) ||
                (rc = str_list(es_map_get(l, "waiting"), wp, ep->metrics.waiting_lora, &ep->metrics.n_waiting_lora, err)) ||
                (rc = get_i64(l, "max", lp, 0, 1 << 20, &mx, err)))
                return rc;
            ep->metrics.max_lora = (int32_t)mx;
        }
    }
    const es_node_t *f = es_map_get(n, "inflight");
    if (f && !es_node_is_null(f)) {
        char fp[96];
        snprintf(fp, sizeof fp, "%s.inflight", path);
        static const char *const fk[] = {"requests", "tokens", NULL};
        if ((rc = es_node_expect_map(f, fp, err)) || (rc = es_map_check_keys(f, fp, fk, err)) ||
            (rc = get_i64(f, "requests", fp, 0, INT64_MAX, &in->inflight_req, err)) ||
            (rc = get_i64(f, "tokens", fp, 0, INT64_MAX, &in->inflight_tok, err)))
            return rc;
    }
    in->kv_blocks = es_map_get(n, "kv_blocks");
    if (in->kv_blocks && !es_node_is_null(in->kv_blocks)) {
        char kp[96];
        snprintf(kp, sizeof kp, "%s.kv_blocks", path);
        if ((rc = es_node_expect_seq(in->kv_blocks, kp, err))) return rc;
    }
    return 0;
}

/* An image named in a state file: FNV-1a (64 bits) of its name. */
static uint64_t esi_explain_image_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* `content`: a list of [segment id, tokens] pairs (prompts of a simulation run). */
typedef struct seg_store { es_segment_t **v; size_t n; } seg_store_t;

static int parse_content(const es_node_t *c, const char *path, seg_store_t *st, es_content_t *out, es_err_t *err)
{
    int rc = es_node_expect_seq(c, path, err);
    if (rc) return rc;
    es_segment_t *segs = calloc(c->n ? c->n : 1, sizeof *segs);
    es_segment_t **v = realloc(st->v, (st->n + 1) * sizeof *v);
    if (!segs || !v) { free(segs); if (v) st->v = v; return es_err_set(err, ES_ENOMEM, "out of memory"); }
    st->v = v;
    v[st->n++] = segs;
    uint32_t tokens = 0;
    for (size_t i = 0; i < c->n; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        const es_node_t *pair = c->items[i];
        if ((rc = es_node_expect_seq(pair, p, err))) return rc;
        if (pair->n != 2) return es_node_err(err, ES_EINVAL, pair, p, "expected [segment id, tokens]");
        int64_t len;
        const es_node_t *idn = pair->items[0];
        if (idn->kind == ES_NODE_SCALAR && idn->quoted) {
            /* ids are 64-bit: decision records write them as strings so JSON keeps them exact */
            es_node_t plain = *idn;
            plain.quoted = false;
            if ((rc = es_node_to_u64(&plain, p, &segs[i].id, err))) return rc;
        } else if ((rc = es_node_to_u64(idn, p, &segs[i].id, err))) {
            return rc;
        }
        if ((rc = es_node_to_i64(pair->items[1], p, 1, UINT32_MAX, &len, err))) return rc;
        segs[i].len = (uint32_t)len;
        tokens += (uint32_t)len;
    }
    *out = (es_content_t){segs, (uint32_t)c->n, tokens};
    return 0;
}

/* `images`: a list of image names (a text, hashed; 576 tokens each) or
 * [id, tokens] pairs (decision records), as the request's multimodal items. */
#define EXPLAIN_IMAGE_TOKENS 576
static int parse_images(const es_node_t *c, const char *path, seg_store_t *st, const es_mm_item_t **out,
                        uint32_t *n_out, es_err_t *err)
{
    *out = NULL;
    *n_out = 0;
    if (!c || es_node_is_null(c)) return 0;
    int rc = es_node_expect_seq(c, path, err);
    if (rc) return rc;
    if (c->n > 64) return es_node_err(err, ES_ERANGE, c, path, "at most 64 images");
    /* kept with the segments (the store frees them): an item is the size of a segment */
    es_segment_t *cells = calloc(c->n ? c->n : 1, sizeof *cells);
    es_segment_t **v = realloc(st->v, (st->n + 1) * sizeof *v);
    if (!cells || !v) { free(cells); if (v) st->v = v; return es_err_set(err, ES_ENOMEM, "out of memory"); }
    st->v = v;
    v[st->n++] = cells;
    es_mm_item_t *items = (es_mm_item_t *)cells;
    _Static_assert(sizeof(es_mm_item_t) <= sizeof(es_segment_t), "an image fits a segment's storage");
    for (size_t i = 0; i < c->n; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        const es_node_t *it = c->items[i];
        if (it->kind == ES_NODE_SCALAR) {
            const char *name;
            if ((rc = es_node_to_str(it, p, &name, err))) return rc;
            items[i] = (es_mm_item_t){esi_explain_image_hash(name), EXPLAIN_IMAGE_TOKENS};
            continue;
        }
        if ((rc = es_node_expect_seq(it, p, err))) return rc;
        if (it->n != 2) return es_node_err(err, ES_EINVAL, it, p, "expected an image name or [id, tokens]");
        es_node_t plain = *it->items[0];
        plain.quoted = false;   /* ids are 64-bit: decision records write them as strings */
        int64_t tok;
        if ((rc = es_node_to_u64(&plain, p, &items[i].hash, err)) ||
            (rc = es_node_to_i64(it->items[1], p, 1, UINT32_MAX, &tok, err)))
            return rc;
        items[i].tokens = (uint32_t)tok;
    }
    *out = items;
    *n_out = (uint32_t)c->n;
    return 0;
}

/* The endpoints of a record, as explain's state: a live gateway's kv_blocks
 * are decimal strings (64-bit keys are not exact as JSON numbers), made bare
 * integers again for the state parser. */
static cJSON *record_endpoints(const cJSON *rec)
{
    cJSON *eps = cJSON_Duplicate(cJSON_GetObjectItem(rec, "endpoints"), 1), *ep;
    cJSON_ArrayForEach(ep, eps) {
        cJSON *kb = cJSON_GetObjectItem(ep, "kv_blocks"), *k;
        cJSON_ArrayForEach(k, kb)
            if (cJSON_IsString(k) && k->valuestring[0] && strspn(k->valuestring, "0123456789") == strlen(k->valuestring)) {
                cJSON *raw = cJSON_CreateRaw(k->valuestring);
                if (!raw) continue;
                cJSON_ReplaceItemViaPointer(kb, k, raw);   /* frees k */
                k = raw;
            }
    }
    return eps;
}

static bool is_arrival(const cJSON *rec) { return cJSON_GetObjectItem(rec, "event") != NULL; }
static int rec_replica(const cJSON *rec) { const cJSON *r = cJSON_GetObjectItem(rec, "replica"); return r ? r->valueint : -1; }
/* A request id as the run wrote it; one no uint64 holds (an edited log) matches nothing. */
static uint64_t json_id(const cJSON *r) { return r && r->valuedouble >= 0 && r->valuedouble < 1.8e19 ? (uint64_t)r->valuedouble : UINT64_MAX; }
static uint64_t rec_id(const cJSON *rec) { return json_id(cJSON_GetObjectItem(rec, "request_id")); }

/* Every earlier request the replica routed (records before `upto`), as history. */
static cJSON *record_history(cJSON **lines, size_t upto, int replica)
{
    cJSON *hist = cJSON_CreateArray();
    for (size_t i = 0; hist && i < upto; i++) {
        cJSON *j = lines[i];
        cJSON *picked = cJSON_GetObjectItem(j, "picked");
        if (is_arrival(j) || rec_replica(j) != replica || cJSON_GetArraySize(picked) == 0) continue;
        cJSON *rq = cJSON_GetObjectItem(j, "request");
        cJSON *h = cJSON_CreateObject();
        cJSON_AddItemToObject(h, "model", cJSON_Duplicate(cJSON_GetObjectItem(rq, "model"), 1));
        cJSON_AddItemToObject(h, "content", cJSON_Duplicate(cJSON_GetObjectItem(rq, "content"), 1));
        if (cJSON_GetObjectItem(rq, "images"))
            cJSON_AddItemToObject(h, "images", cJSON_Duplicate(cJSON_GetObjectItem(rq, "images"), 1));
        cJSON_AddItemToObject(h, "endpoint", cJSON_Duplicate(cJSON_GetArrayItem(picked, 0), 1));
        cJSON_AddItemToArray(hist, h);
    }
    return hist;
}

/* The state's `arrival` from an arrival record (flow control): the
 * endpoints and history then, the bands, and each queued request as its own
 * arrival record wrote it, with its enqueue time. */
static int record_arrival(const char *path, cJSON **lines, size_t at, cJSON **out, es_err_t *err)
{
    const cJSON *a = lines[at], *flow = cJSON_GetObjectItem(a, "flow");
    int replica = rec_replica(a);
    cJSON *arr = cJSON_CreateObject();
    cJSON_AddItemToObject(arr, "now_ms", cJSON_Duplicate(cJSON_GetObjectItem(a, "now_ms"), 1));
    cJSON_AddItemToObject(arr, "endpoints", record_endpoints(a));
    cJSON_AddItemToObject(arr, "history", record_history(lines, at, replica));
    cJSON_AddItemToObject(arr, "bands", cJSON_Duplicate(cJSON_GetObjectItem(flow, "bands"), 1));
    cJSON *qs = cJSON_CreateArray(), *q;
    cJSON_AddItemToObject(arr, "queued", qs);
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(flow, "queued")) {
        const cJSON *qj = cJSON_GetArrayItem(q, 0);
        if (!cJSON_IsNumber(qj) || json_id(qj) == UINT64_MAX) {
            cJSON_Delete(arr);
            return es_err_set(err, ES_EINVAL, "%s:%zu: flow.queued: expected [request id, ...] entries", path, at + 1);
        }
        uint64_t qid = json_id(qj);
        size_t k = at;
        while (k-- > 0)   /* its own arrival, on the same replica: the latest before this one */
            if (is_arrival(lines[k]) && rec_id(lines[k]) == qid && rec_replica(lines[k]) == replica) break;
        if (k == (size_t)-1) {
            cJSON_Delete(arr);
            return es_err_set(err, ES_EINVAL, "%s: request %llu is queued ahead of request %llu but has no arrival record",
                              path, (unsigned long long)qid, (unsigned long long)rec_id(a));
        }
        const cJSON *qr = cJSON_GetObjectItem(lines[k], "request");
        if (!cJSON_IsObject(qr)) {   /* an edited log: enq_ms would have no request to go to (it leaked) */
            cJSON_Delete(arr);
            return es_err_set(err, ES_EINVAL, "%s:%zu: request: expected an object (request %llu, queued ahead of request %llu)",
                              path, k + 1, (unsigned long long)qid, (unsigned long long)rec_id(a));
        }
        cJSON *r = cJSON_Duplicate(qr, 1);
        cJSON_AddItemToObject(r, "enq_ms", cJSON_Duplicate(cJSON_GetArrayItem(q, 1), 1));
        cJSON_AddItemToArray(qs, r);
    }
    *out = arr;
    return 0;
}

/* Builds an explain state (JSON text) for one decision of decisions.jsonl:
 * the endpoints it saw, its request, and as history every earlier request
 * the same replica routed.  With flow control, the state's `arrival` is the
 * request's arrival record: the queues it found. */
static int state_from_run(const char *dir, uint64_t id, char **text, char *name, size_t name_size, uint64_t *seed,
                          es_err_t *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/decisions.jsonl", dir);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return es_err_set(err, ES_EIO, "%s: cannot open (was the run made with --record-decisions?)", path);
    FILE *f = es_open_input(path, "r", 0, err);
    if (!f) return err ? err->code : ES_EIO;
    char *line = NULL;
    size_t cap = 0, nlines = 0;
    int rc = 0;
    cJSON **lines = NULL;
    long dec = -1, arr = -1;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        if (!j || !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            rc = es_err_set(err, ES_EPARSE, "%s:%zu: not a JSON object", path, nlines + 1);
            break;
        }
        cJSON **nl = realloc(lines, (nlines + 1) * sizeof *nl);
        if (!nl) { cJSON_Delete(j); rc = ES_ENOMEM; break; }
        lines = nl;
        lines[nlines] = j;
        if (rec_id(j) == id) {
            if (is_arrival(j) && arr < 0 && dec < 0) arr = (long)nlines;
            else if (!is_arrival(j) && dec < 0) dec = (long)nlines;
        }
        nlines++;
        if (dec >= 0) break;   /* its arrival comes first when there is one */
    }
    free(line);
    fclose(f);
    if (!rc && dec < 0 && arr < 0)
        rc = es_err_set(err, ES_ENOTFOUND, "%s: no decision for request %llu", path, (unsigned long long)id);
    if (!rc) {
        size_t at = (size_t)(dec >= 0 ? dec : arr);   /* never decided (held until cancelled): the arrival's view */
        const cJSON *found = lines[at];
        int replica = rec_replica(found);
        snprintf(name, name_size, "%s:%zu", path, at + 1);
        const cJSON *sd = cJSON_GetObjectItem(found, "seed");
        *seed = cJSON_IsString(sd) ? strtoull(sd->valuestring, NULL, 10) : 0;
        cJSON *state = cJSON_CreateObject();
        cJSON_AddItemToObject(state, "now_ms", cJSON_Duplicate(cJSON_GetObjectItem(found, "now_ms"), 1));
        cJSON_AddItemToObject(state, "endpoints", record_endpoints(found));
        cJSON *hist = record_history(lines, at, replica);
        int nhist = cJSON_GetArraySize(hist);
        cJSON_AddItemToObject(state, "history", hist);
        cJSON_AddItemToObject(state, "request", cJSON_Duplicate(cJSON_GetObjectItem(found, "request"), 1));
        cJSON *arrival = NULL;
        if (arr >= 0 && (rc = record_arrival(path, lines, (size_t)arr, &arrival, err))) {
            cJSON_Delete(state);
            goto done;
        }
        if (arrival) cJSON_AddItemToObject(state, "arrival", arrival);
        *text = cJSON_PrintUnformatted(state);
        cJSON_Delete(state);
        fprintf(stderr, "eppsim explain: request %llu, EPP replica %d, %d earlier requests replayed; the run picked",
                (unsigned long long)id, replica, nhist);
        cJSON *pk = cJSON_GetObjectItem(found, "picked");
        const cJSON *oc = cJSON_GetObjectItem(found, "outcome");
        if (dec < 0) fprintf(stderr, " nothing (queued, never decided)");
        else if (cJSON_GetArraySize(pk) == 0) fprintf(stderr, " nothing (outcome %d)", oc ? oc->valueint : 0);
        for (int i = 0; i < cJSON_GetArraySize(pk); i++) {   /* an edited log's non-string is no name (NULL for %s) */
            const cJSON *p = cJSON_GetArrayItem(pk, i);
            fprintf(stderr, " %s", cJSON_IsString(p) ? p->valuestring : "?");
        }
        const cJSON *fa = cJSON_GetObjectItem(found, "flow_at_arrival");
        if (arr >= 0)
            fprintf(stderr, "; flow control at its arrival: %s, %d requests queued",
                    cJSON_IsString(fa) ? fa->valuestring : "held",
                    cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(lines[arr], "flow"), "queued")));
        fprintf(stderr, "\n");
    }
done:
    for (size_t i = 0; i < nlines; i++) cJSON_Delete(lines[i]);
    free(lines);
    return rc;
}

static int find_ep(const es_endpoint_t *eps, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) if (strcmp(eps[i].name, name) == 0) return (int)i;
    return -1;
}

static int parse_headers(const es_node_t *h, const char *path, es_header_t *out, uint32_t *n, es_err_t *err)
{
    *n = 0;
    if (!h || es_node_is_null(h)) return 0;
    int rc = es_node_expect_map(h, path, err);
    if (rc) return rc;
    if (h->n > 32) return es_node_err(err, ES_ERANGE, h, path, "at most 32 headers");
    for (size_t i = 0; i < h->n; i++) {
        char full[160];
        snprintf(full, sizeof full, "%s.%s", path, h->keys[i]);
        out[i].name = h->keys[i];
        if ((rc = es_node_to_str(h->items[i], full, &out[i].value, err))) return rc;
    }
    *n = (uint32_t)h->n;
    return 0;
}

/* What the replay of the queues at the request's arrival found. */
typedef struct flow_replay {
    bool   on;
    size_t queued;      /* requests queued when it arrived */
    size_t before;      /* of them, dispatched (or timed out) by the same cycles before it */
} flow_replay_t;

/* Shortest text that reads back as the same double. */
static void put_num(FILE *f, double v)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void json_plugin(FILE *f, const char *key, const char *name, const char *type)
{
    fprintf(f, "    \"%s\": {\"name\": ", key);
    es_json_write_string(f, name);
    fputs(", \"type\": ", f);
    es_json_write_string(f, type);
    fputs("},\n", f);
}

/* Flow control for the request (es_scheduler_flow_explain), as JSON members. */
static void print_flow_json(FILE *f, const es_sched_flow_explain_t *fx, const flow_replay_t *fr)
{
    fprintf(f, "  \"flow_control\": {\n    \"gate\": %s,\n    \"saturation_detector\": {\"name\": ",
            fx->gate ? "true" : "false");
    es_json_write_string(f, fx->detector);
    fputs(", \"type\": ", f);
    es_json_write_string(f, fx->detector_type);
    fputs(", \"saturation\": ", f);
    put_num(f, fx->saturation);
    fprintf(f, ", \"saturated\": %s},\n", fx->saturation >= 1.0 ? "true" : "false");
    if (fx->gate) {
        fprintf(f, "    \"band\": %lld,\n    \"band_listed\": %s,\n    \"flow\": ", (long long)fx->band,
                fx->band_listed ? "true" : "false");
        es_json_write_string(f, fx->flow);
        fprintf(f, ",\n    \"bytes\": %llu,\n", (unsigned long long)fx->bytes);
        json_plugin(f, "fairness", fx->fairness, fx->fairness_type);
        json_plugin(f, "ordering", fx->ordering, fx->ordering_type);
        fputs("    \"usage_limit\": {\"name\": ", f);
        es_json_write_string(f, fx->usage);
        fputs(", \"type\": ", f);
        es_json_write_string(f, fx->usage_type);
        fputs(", \"ceilings\": {", f);
        for (size_t i = 0; i < fx->nbands; i++) {
            fprintf(f, "%s\"%lld\": ", i ? ", " : "", (long long)fx->band_priority[i]);
            put_num(f, fx->band_ceiling[i]);
        }
        fputs("}},\n", f);
    }
    if (fr->on)   /* the queues it found, replayed (state key arrival) */
        fprintf(f, "    \"replayed\": {\"queued\": %zu, \"dispatched_before\": %zu},\n", fr->queued, fr->before);
    fprintf(f, "    \"outcome\": %d,\n    \"verdict\": ", fx->status == ES_SCHED_QUEUED ? 202 : fx->status);
    es_json_write_string(f, fx->verdict);
    fputs("\n  },\n", f);
}

static void print_flow_table(FILE *f, const es_sched_flow_explain_t *fx, const flow_replay_t *fr)
{
    fprintf(f, "flow control: %s\n  saturation detector %s (%s): %.3f (%s)\n", fx->gate ? "on" : "off (featureGates lacks flowControl)",
            fx->detector, fx->detector_type, fx->saturation, fx->saturation >= 1.0 ? "saturated" : "not saturated");
    if (fx->gate) {
        fprintf(f, "  band %lld (%s), flow \"%s\", %llu bytes\n", (long long)fx->band,
                fx->band_listed ? "priorityBands" : "default band template", fx->flow, (unsigned long long)fx->bytes);
        fprintf(f, "  fairness %s (%s), ordering %s (%s)\n", fx->fairness, fx->fairness_type, fx->ordering,
                fx->ordering_type);
        fprintf(f, "  usage limit %s (%s):", fx->usage, fx->usage_type);
        for (size_t i = 0; i < fx->nbands; i++)
            fprintf(f, "%s band %lld ceiling %.3f", i ? "," : "", (long long)fx->band_priority[i], fx->band_ceiling[i]);
        fputc('\n', f);
    }
    if (fr->on)
        fprintf(f, "  replayed at its arrival: %zu requests queued, %zu of them out of the queue before it\n", fr->queued,
                fr->before);
    fprintf(f, "  verdict: %s\n", fx->verdict);
}

static void print_json(FILE *f, const es_sched_result_t *res, const es_sched_trace_t *tr, const es_endpoint_t *eps,
                       size_t n, const es_sched_flow_explain_t *fx, const flow_replay_t *fr)
{
    fprintf(f, "{\n  \"outcome\": %d,\n  \"reason\": ", res->status);
    if (res->status == 200 || !res->reason) fputs("null", f); else es_json_write_string(f, res->reason);
    fputs(",\n  \"picked\": [", f);
    if (res->status == 200) {
        for (uint32_t i = 0; i < res->ntargets; i++) { if (i) fputs(", ", f); es_json_write_string(f, eps[res->targets[i]].name); }
        if (res->prefill >= 0) { fputs(", ", f); es_json_write_string(f, eps[res->prefill].name); }
    }
    fputs("],\n", f);
    if (res->status == 200 && res->nencode) {   /* E/P/D: x-encoder-hosts-ports */
        fputs("  \"encode\": [", f);
        for (uint32_t i = 0; i < res->nencode; i++) { if (i) fputs(", ", f); es_json_write_string(f, eps[res->encode[i]].name); }
        fputs("],\n", f);
    }
    if (res->status == 200 && res->kv_source >= 0) {   /* p2p-source-producer: x-kv-cache-source-host-port */
        fputs("  \"kv_source\": ", f);
        es_json_write_string(f, eps[res->kv_source].name);
        fprintf(f, ",\n  \"kv_source_tokens\": %lld,\n", (long long)res->kv_source_tokens);
    }
    print_flow_json(f, fx, fr);
    if (tr->have_latency) {   /* LatencyPredictionInfo of every candidate (predicted-latency-producer) */
        fputs("  \"predictions\": {", f);
        for (size_t e = 0; e < n && e < tr->cap_eps; e++) {
            fprintf(f, "%s\n    ", e ? "," : "");
            es_json_write_string(f, eps[e].name);
            fputs(": {\"ttft_ms\": ", f);
            put_num(f, tr->pred_ttft[e]);
            fputs(", \"tpot_ms\": ", f);
            put_num(f, tr->pred_tpot[e]);
            fputs(", \"ttft_headroom_ms\": ", f);
            put_num(f, tr->ttft_headroom[e]);
            fputs(", \"tpot_headroom_ms\": ", f);
            put_num(f, tr->tpot_headroom[e]);
            fprintf(f, ", \"within_slo\": %s}", tr->pred_valid[e] ? "true" : "false");
        }
        fputs("\n  },\n", f);
    }
    fputs("  \"profiles\": {", f);
    for (uint32_t p = 0; p < tr->nprofiles; p++) {
        const es_sched_trace_profile_t *tp = &tr->profile[p];
        fprintf(f, "%s\n    ", p ? "," : "");
        es_json_write_string(f, tp->name);
        fputs(": {\n      \"filtered\": [", f);
        for (uint32_t i = 0; i < tp->nsurvivors; i++) { if (i) fputs(", ", f); es_json_write_string(f, eps[tp->survivors[i]].name); }
        fputs("],\n      \"scores\": {", f);
        for (uint32_t i = 0; i < tp->nsurvivors && !tp->failed; i++) {
            uint32_t e = tp->survivors[i];
            fprintf(f, "%s\n        ", i ? "," : "");
            es_json_write_string(f, eps[e].name);
            fputs(": {", f);
            for (uint32_t k = 0; k < tp->nscorers; k++) {
                if (k) fputs(", ", f);
                es_json_write_string(f, tp->scorer[k]);
                fputs(": ", f);
                put_num(f, tp->raw[k * tr->cap_eps + e]);
            }
            fputs("}", f);
        }
        fputs(tp->nsurvivors && !tp->failed ? "\n      },\n      \"total\": {" : "},\n      \"total\": {", f);
        for (uint32_t i = 0; i < tp->nsurvivors && !tp->failed; i++) {
            uint32_t e = tp->survivors[i];
            fprintf(f, "%s\n        ", i ? "," : "");
            es_json_write_string(f, eps[e].name);
            fputs(": ", f);
            put_num(f, tp->total[e]);
        }
        fputs(tp->nsurvivors && !tp->failed ? "\n      }\n    }" : "}\n    }", f);
    }
    fputs(tr->nprofiles ? "\n  }\n}\n" : "}\n}\n", f);
}

static void print_table(FILE *f, const es_sched_result_t *res, const es_sched_trace_t *tr, const es_endpoint_t *eps,
                        size_t n, const es_sched_flow_explain_t *fx, const flow_replay_t *fr)
{
    fprintf(f, "outcome: %d", res->status);
    if (res->status != 200 && res->reason) fprintf(f, " (%s)", res->reason);
    if (res->status == 200) {
        fprintf(f, "\npicked:  %s", eps[res->primary].name);
        for (uint32_t i = 1; i < res->ntargets; i++) fprintf(f, ", %s (fallback)", eps[res->targets[i]].name);
        if (res->prefill >= 0) fprintf(f, "\nprefill: %s", eps[res->prefill].name);
        for (uint32_t i = 0; i < res->nencode; i++) fprintf(f, i ? ", %s" : "\nencode:  %s", eps[res->encode[i]].name);
        if (res->kv_source >= 0)
            fprintf(f, "\nkv source: %s (%lld prompt tokens cached)", eps[res->kv_source].name,
                    (long long)res->kv_source_tokens);
    }
    fprintf(f, "\nsaturation: %.3f\n", fx->saturation);   /* the detector, whether or not admission asked it */
    print_flow_table(f, fx, fr);
    int w = 8;   /* name column: as wide as the longest name */
    for (size_t i = 0; i < n; i++) if ((int)strlen(eps[i].name) > w) w = (int)strlen(eps[i].name);
    if (tr->have_latency) {
        fprintf(f, "\nlatency predictions (ms; headroom = SLO - predicted):\n  %-*s %10s %10s %14s %14s %11s\n", w,
                "endpoint", "TTFT", "TPOT", "TTFT headroom", "TPOT headroom", "within SLO");
        for (size_t e = 0; e < n && e < tr->cap_eps; e++)
            fprintf(f, "  %-*s %10.2f %10.2f %14.2f %14.2f %11s\n", w, eps[e].name, tr->pred_ttft[e], tr->pred_tpot[e],
                    tr->ttft_headroom[e], tr->tpot_headroom[e], tr->pred_valid[e] ? "yes" : "no");
    }
    for (uint32_t p = 0; p < tr->nprofiles; p++) {
        const es_sched_trace_profile_t *tp = &tr->profile[p];
        fprintf(f, "\nprofile %s: %u of %zu endpoints pass the filters%s\n", tp->name, tp->nsurvivors, n,
                tp->failed ? " (profile failed)" : "");
        if (tp->failed) continue;
        fprintf(f, "  %-*s", w, "endpoint");
        for (uint32_t k = 0; k < tp->nscorers; k++) fprintf(f, " %14.14s", tp->scorer[k]);
        fprintf(f, " %10s\n  %-*s", "total", w, "weight");
        for (uint32_t k = 0; k < tp->nscorers; k++) fprintf(f, " %14g", tp->weight[k]);
        fprintf(f, "\n");
        for (uint32_t i = 0; i < tp->nsurvivors; i++) {
            uint32_t e = tp->survivors[i];
            bool picked = false;
            for (uint32_t q = 0; q < tp->npicked; q++) if (tp->picked[q] == e) picked = true;
            fprintf(f, "%s %-*s", picked ? "*" : " ", w, eps[e].name);
            for (uint32_t k = 0; k < tp->nscorers; k++) fprintf(f, " %14.4f", tp->raw[k * tr->cap_eps + e]);
            fprintf(f, " %10.4f\n", tp->total[e]);
        }
    }
    fprintf(f, "\n(raw scores are before clamping to [0,1]; total = sum of clamped score x weight; * = picked)\n");
}

/* The decision's world: a scheduler with the endpoints, their in-flight
 * counters and KV blocks, and the history replayed into its prefix index.
 * Keys are read from `at`, else from `base` (the arrival of a flow-control
 * replay inherits what it does not set); error paths start with `pre`. */
typedef struct world {
    es_scheduler_t *s;
    es_endpoint_t  *eps;
    ep_in_t        *ins;
    size_t          n;
    es_time_t       now;
} world_t;

static void world_destroy(world_t *w)
{
    es_scheduler_destroy(w->s);
    free(w->eps);
    free(w->ins);
    memset(w, 0, sizeof *w);
}

static const es_node_t *key_of(const es_node_t *at, const es_node_t *base, const char *key)
{
    const es_node_t *v = es_map_get(at, key);
    return v || !base ? v : es_map_get(base, key);
}

static int world_build(const es_node_t *at, const es_node_t *base, const char *pre, const es_epp_config_t *cfg,
                       uint64_t seed, seg_store_t *segs, world_t *w, es_err_t *err)
{
    int rc;
    uint64_t *keys = NULL;
    char tp[64];
    const es_node_t *tn = key_of(at, base, "now_ms");
    snprintf(tp, sizeof tp, "%snow_ms", pre);
    double now_ms = 0;
    if (tn && !es_node_is_null(tn) && (rc = es_node_to_double(tn, tp, 0, 1e15, &now_ms, err))) return rc;
    w->now = es_time_from_ms(now_ms);
    const es_node_t *en = key_of(at, base, "endpoints");
    snprintf(tp, sizeof tp, "%sendpoints", pre);
    if (!en) return es_node_err(err, ES_EINVAL, at, tp, "missing");
    if ((rc = es_node_expect_seq(en, tp, err))) return rc;
    size_t n = en->n;
    w->n = n;
    w->eps = calloc(n + 1, sizeof *w->eps);
    w->ins = calloc(n + 1, sizeof *w->ins);
    if (!w->eps || !w->ins) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if ((rc = parse_endpoint(en->items[i], pre, i, w->now, &w->eps[i], &w->ins[i], err))) return rc;
        if (find_ep(w->eps, i, w->eps[i].name) >= 0)
            return es_node_err(err, ES_EINVAL, en->items[i], tp, "duplicate endpoint name \"%s\"", w->eps[i].name);
    }
    if ((rc = es_scheduler_create(cfg, seed, &w->s, err))) return rc;
    for (size_t i = 0; i < n; i++) {
        es_scheduler_set_inflight(w->s, (uint32_t)i, w->ins[i].inflight_req, w->ins[i].inflight_tok);
        const es_node_t *kb = w->ins[i].kv_blocks;
        for (size_t k = 0; kb && !es_node_is_null(kb) && k < kb->n; k++) {
            const es_node_t *it = kb->items[k];
            char kp[96];
            snprintf(kp, sizeof kp, "%sendpoints[%zu].kv_blocks[%zu]", pre, i, k);
            es_kv_event_t ev = {ES_KV_BLOCK_STORED, (uint32_t)i, 0, w->now};
            if (it->kind == ES_NODE_SCALAR && !it->quoted) {
                if ((rc = es_node_to_u64(it, kp, &ev.block_hash, err))) goto out;
                es_scheduler_on_kv_event(w->s, &ev);
            } else {   /* a text: the endpoint holds its full blocks */
                const char *txt;
                if ((rc = es_node_to_str(it, kp, &txt, err))) goto out;
                size_t cap = strlen(txt) / 4 + 2, nk;
                free(keys);
                keys = malloc(cap * sizeof *keys);
                if (!keys) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto out; }
                nk = es_sched_text_block_keys(w->s, txt, keys, cap);
                for (size_t q = 0; q < nk; q++) { ev.block_hash = keys[q]; es_scheduler_on_kv_event(w->s, &ev); }
            }
        }
    }
    const es_node_t *hist = key_of(at, base, "history");
    if (hist && !es_node_is_null(hist)) {
        snprintf(tp, sizeof tp, "%shistory", pre);
        if ((rc = es_node_expect_seq(hist, tp, err))) goto out;
        for (size_t i = 0; i < hist->n; i++) {
            const es_node_t *h = hist->items[i];
            char hp[64];
            snprintf(hp, sizeof hp, "%shistory[%zu]", pre, i);
            static const char *const hk[] = {"model", "prompt", "content", "endpoint", "images", NULL};
            if ((rc = es_node_expect_map(h, hp, err)) || (rc = es_map_check_keys(h, hp, hk, err))) goto out;
            es_sched_request_t r = {0};
            const char *epname = NULL;
            r.id = i + 1;
            r.prompt_text = "";
            if ((rc = get_str(h, "model", hp, &r.model, err)) || (rc = get_str(h, "prompt", hp, &r.prompt_text, err)) ||
                (rc = get_str(h, "endpoint", hp, &epname, err)))
                goto out;
            const es_node_t *hc = es_map_get(h, "content");
            if (hc && !es_node_is_null(hc)) {
                char cp[96];
                snprintf(cp, sizeof cp, "%s.content", hp);
                if ((rc = parse_content(hc, cp, segs, &r.content, err))) goto out;
                r.prompt_text = NULL;
            }
            char ip[96];
            snprintf(ip, sizeof ip, "%s.images", hp);
            if ((rc = parse_images(es_map_get(h, "images"), ip, segs, &r.mm, &r.nmm, err))) goto out;
            int e = epname ? find_ep(w->eps, n, epname) : -1;
            if (e < 0) { rc = es_node_err(err, ES_ENOTFOUND, h, hp, "endpoint \"%s\" is not in endpoints", epname ? epname : ""); goto out; }
            es_scheduler_record(w->s, &r, w->eps, n, (uint32_t)e, w->now);
        }
    }
    rc = 0;
out:
    free(keys);
    return rc;
}

/* A request of the state (`request`, or a queued one of `arrival.queued`,
 * which adds `enq_ms`). */
typedef struct req_in {
    es_sched_request_t req;
    es_header_t        hdrs[32];
    es_time_t          enq;
} req_in_t;

static int parse_request(const es_node_t *rq, const char *path, bool queued, seg_store_t *segs, req_in_t *out,
                         es_err_t *err)
{
    static const char *const rk[] = {"model", "prompt", "content", "priority", "headers", "images", "body_bytes", NULL};
    static const char *const qk[] = {"model", "prompt", "content", "priority", "headers", "images", "body_bytes",
                                     "enq_ms", NULL};
    int rc;
    if ((rc = es_node_expect_map(rq, path, err)) || (rc = es_map_check_keys(rq, path, queued ? qk : rk, err))) return rc;
    es_sched_request_t *req = &out->req;
    memset(req, 0, sizeof *req);
    int64_t prio = 0, body = 0;
    double enq = 0;
    char hp[96];
    snprintf(hp, sizeof hp, "%s.headers", path);
    req->prompt_text = "";
    if ((rc = get_str(rq, "model", path, &req->model, err)) || (rc = get_str(rq, "prompt", path, &req->prompt_text, err)) ||
        (rc = get_i64(rq, "priority", path, INT32_MIN, INT32_MAX, &prio, err)) ||
        (rc = get_i64(rq, "body_bytes", path, 0, UINT32_MAX, &body, err)) ||
        (rc = get_dbl(rq, "enq_ms", path, 0, 1e15, &enq, err)) ||
        (rc = parse_headers(es_map_get(rq, "headers"), hp, out->hdrs, &req->nheaders, err)))
        return rc;
    req->priority = (int32_t)prio;
    req->body_bytes = (uint32_t)body;
    req->headers = out->hdrs;
    out->enq = es_time_from_ms(enq);
    const es_node_t *c = es_map_get(rq, "content");
    if (c && !es_node_is_null(c)) {
        char cp[96];
        snprintf(cp, sizeof cp, "%s.content", path);
        if ((rc = parse_content(c, cp, segs, &req->content, err))) return rc;
        req->prompt_text = NULL;
    }
    char ip[96];
    snprintf(ip, sizeof ip, "%s.images", path);
    return parse_images(es_map_get(rq, "images"), ip, segs, &req->mm, &req->nmm, err);
}

typedef struct replay_watch {
    uint64_t id;
    int      status;    /* -1: not out of the queue */
    size_t   before;
} replay_watch_t;

static void replay_cb(void *ud, const es_sched_request_t *req, const es_sched_result_t *res)
{
    replay_watch_t *w = ud;
    if (w->status >= 0) return;
    if (req->id == w->id) w->status = res->status;
    else w->before++;
}

#define REPLAY_ID UINT64_MAX   /* the explained request in the replay (queued ones are 1..n) */

/* Flow control at the request's arrival with the queues of `arrival`: its
 * bands are provisioned (with their round-robin positions), its queued
 * requests submitted again at their enqueue times, then the request at
 * arrival.now_ms, and dispatch cycles run until one dispatches nothing, as
 * the EPP does at an arrival (models/epp_service.c). */
static int flow_replay(const es_node_t *arr, const es_node_t *root, const es_epp_config_t *cfg, uint64_t seed,
                       seg_store_t *segs, const req_in_t *rin, es_sched_flow_explain_t *fx, flow_replay_t *fr,
                       es_err_t *err)
{
    world_t w = {0};
    req_in_t *q = NULL;
    int rc;
    if ((rc = es_node_expect_map(arr, "arrival", err))) return rc;
    static const char *const ak[] = {"now_ms", "endpoints", "history", "bands", "queued", NULL};
    if ((rc = es_map_check_keys(arr, "arrival", ak, err))) return rc;
    if ((rc = world_build(arr, root, "arrival.", cfg, seed, segs, &w, err))) goto out;
    const es_node_t *bn = es_map_get(arr, "bands");
    if (bn && !es_node_is_null(bn)) {
        if ((rc = es_node_expect_seq(bn, "arrival.bands", err))) goto out;
        for (size_t i = 0; i < bn->n; i++) {
            char bp[64];
            snprintf(bp, sizeof bp, "arrival.bands[%zu]", i);
            const es_node_t *b = bn->items[i];
            if ((rc = es_node_expect_seq(b, bp, err))) goto out;
            if (b->n != 2) { rc = es_node_err(err, ES_EINVAL, b, bp, "expected [priority, last round-robin flow or null]"); goto out; }
            int64_t prio;
            const char *fl = NULL;
            if ((rc = es_node_to_i64(b->items[0], bp, INT32_MIN, INT32_MAX, &prio, err))) goto out;
            if (!es_node_is_null(b->items[1]) && (rc = es_node_to_str(b->items[1], bp, &fl, err))) goto out;
            es_scheduler_flow_restore_band(w.s, prio, fl);
        }
    }
    const es_node_t *qn = es_map_get(arr, "queued");
    size_t nq = 0;
    if (qn && !es_node_is_null(qn)) {
        if ((rc = es_node_expect_seq(qn, "arrival.queued", err))) goto out;
        nq = qn->n;
        q = calloc(nq ? nq : 1, sizeof *q);
        if (!q) { rc = es_err_set(err, ES_ENOMEM, "out of memory"); goto out; }
        for (size_t i = 0; i < nq; i++) {
            char qp[64];
            snprintf(qp, sizeof qp, "arrival.queued[%zu]", i);
            if ((rc = parse_request(qn->items[i], qp, true, segs, &q[i], err))) goto out;
            if (q[i].enq > w.now) { rc = es_node_err(err, ES_ERANGE, qn->items[i], qp, "enq_ms is after the arrival"); goto out; }
            q[i].req.id = i + 1;
            es_sched_result_t res = {0};
            es_scheduler_submit(w.s, &q[i].req, w.eps, w.n, q[i].enq, &res);
            if (res.status != ES_SCHED_QUEUED) {
                rc = es_node_err(err, ES_EINVAL, qn->items[i], qp, "flow control does not queue it (%s)",
                                 res.reason ? res.reason : "flowControl gate off");
                goto out;
            }
        }
    }
    es_sched_request_t req = rin->req;
    req.id = REPLAY_ID;
    es_scheduler_flow_explain(w.s, &req, w.eps, w.n, w.now, fx);   /* detector, band, ceilings as it arrives */
    fr->on = true;
    fr->queued = nq;
    es_sched_result_t res = {0};
    es_scheduler_submit(w.s, &req, w.eps, w.n, w.now, &res);
    if (res.status == 429) {
        fx->status = 429;
        fx->verdict = "rejected: flow control capacity (maxBytes / maxRequests) with the requests queued ahead";
        goto out;
    }
    replay_watch_t watch = {REPLAY_ID, -1, 0};
    while (es_scheduler_flow_cycle(w.s, w.eps, w.n, w.now, replay_cb, &watch) > 0 && watch.status < 0) {}
    fr->before = watch.before;
    if (watch.status == 503) {
        fx->status = 503;
        fx->verdict = "timed out in its queue at once (its TTL had passed)";
    } else if (watch.status >= 0) {
        fx->status = 200;
        fx->verdict = nq ? "dispatched at its arrival, after the requests the same cycles dispatched before it"
                         : "dispatched at its arrival: every band down to its own is below its usage limit";
    } else {   /* still queued: the cycles stopped at a band at its usage limit */
        es_sched_flow_explain_t held;
        es_scheduler_flow_explain(w.s, &req, w.eps, w.n, w.now, &held);
        fx->status = ES_SCHED_QUEUED;
        fx->verdict = held.status == ES_SCHED_QUEUED ? held.verdict
                                                     : "held in its queue: requests ahead of it in its band wait";
    }
out:
    free(q);
    world_destroy(&w);
    return rc;
}

int es_cmd_explain(int argc, char **argv)

{
    const char *cfg_path = NULL, *state_path = NULL, *run_dir = NULL;
    uint64_t seed = 0, request_id = 0;
    int json = 0, have_request = 0, have_seed = 0, strict = 0, allow_alpha = 0;
    for (int i = 1; i < argc; i++) {
        if (es_cli_is_help(argv[i])) { usage(stdout); return ES_EXIT_OK; }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--strict-stability")) strict = 1;
        else if (!strcmp(argv[i], "--allow-experimental-plugins")) allow_alpha = 1;
        else if (!strcmp(argv[i], "--epp-config") && i + 1 < argc) cfg_path = argv[++i];
        else if (!strcmp(argv[i], "--state") && i + 1 < argc) state_path = argv[++i];
        else if (!strcmp(argv[i], "--from-run") && i + 1 < argc) run_dir = argv[++i];
        else if (!strcmp(argv[i], "--request") && i + 1 < argc) {
            char *end;
            request_id = strtoull(argv[++i], &end, 10);
            if (*end || !isdigit((unsigned char)*argv[i])) { fprintf(stderr, "eppsim explain: bad --request '%s' (expected an unsigned integer)\n", argv[i]); return ES_EXIT_USAGE; }
            have_request = 1;
        }
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            char *end;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || !isdigit((unsigned char)*argv[i])) { fprintf(stderr, "eppsim explain: bad --seed '%s' (expected an unsigned integer)\n", argv[i]); return ES_EXIT_USAGE; }
            have_seed = 1;
        } else {
            fprintf(stderr, "eppsim explain: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return ES_EXIT_USAGE;
        }
    }
    if ((!state_path && !run_dir) || (state_path && run_dir) || (run_dir && !have_request)) {
        fprintf(stderr, "eppsim explain: give --state STATE, or --from-run DIR --request ID\n");
        usage(stderr);
        return ES_EXIT_USAGE;
    }

    int code = ES_EXIT_USAGE;
    es_err_t err;
    es_err_clear(&err);
    es_epp_config_t *cfg = NULL;
    es_doc_t *doc = NULL;
    es_sched_trace_t *tr = NULL;
    seg_store_t segs = {0};
    world_t w = {0};
    char run_cfg[1100];
    if (run_dir && !cfg_path) {
        snprintf(run_cfg, sizeof run_cfg, "%s/epp-config.yaml", run_dir);
        cfg_path = run_cfg;
    }
    int rc = cfg_path ? es_epp_config_load_file(cfg_path, &cfg, &err) : es_epp_config_default(&cfg, &err);
    if (rc) goto out;
    for (size_t i = 0; es_epp_config_warning(cfg, i); i++)
        fprintf(stderr, "eppsim: warning: %s\n", es_epp_config_warning(cfg, i));
    if (strict && !allow_alpha && (rc = es_epp_config_check_stability(cfg, &err))) goto out;
    if (run_dir) {
        char *text = NULL, name[1200];
        uint64_t run_seed = 0;
        if ((rc = state_from_run(run_dir, request_id, &text, name, sizeof name, &run_seed, &err))) goto out;
        if (!have_seed) seed = run_seed;
        rc = text ? es_doc_load_string(name, text, strlen(text), &doc, &err) : ES_ENOMEM;
        free(text);
        if (rc) goto out;
    } else if ((rc = es_doc_load_file(state_path, &doc, &err))) goto out;
    const es_node_t *root = doc->root;
    static const char *const keys_top[] = {"now_ms", "endpoints", "history", "request", "arrival", NULL};
    if ((rc = es_node_expect_map(root, "", &err)) || (rc = es_map_check_keys(root, "", keys_top, &err))) goto out;
    if ((rc = world_build(root, NULL, "", cfg, seed, &segs, &w, &err))) goto out;
    const es_node_t *rq = es_map_get(root, "request");
    if (!rq) { rc = es_node_err(&err, ES_EINVAL, root, "request", "missing"); goto out; }
    req_in_t rin;
    if ((rc = parse_request(rq, "request", false, &segs, &rin, &err))) goto out;
    es_sched_request_t *req = &rin.req;
    req->id = 1000000;
    tr = es_sched_trace_create(w.n);
    if (!tr) { rc = es_err_set(&err, ES_ENOMEM, "out of memory"); goto out; }
    es_sched_result_t res = {0};
    res.trace = tr;
    es_sched_flow_explain_t fx;   /* before the pick: the request as it arrives */
    flow_replay_t fr = {0};
    const es_node_t *arr = es_map_get(root, "arrival");
    if (arr && !es_node_is_null(arr)) {
        if (!es_epp_config_gate(cfg, "flowControl")) {
            rc = es_node_err(&err, ES_EINVAL, arr, "arrival", "flow control is off (featureGates lacks flowControl)");
            goto out;
        }
        if ((rc = flow_replay(arr, root, cfg, seed, &segs, &rin, &fx, &fr, &err))) goto out;
    } else {
        es_scheduler_flow_explain(w.s, req, w.eps, w.n, w.now, &fx);
    }
    if ((rc = es_scheduler_pick(w.s, req, w.eps, w.n, w.now, &res))) { es_err_set(&err, rc, "scheduler: %s", es_strerror(rc)); goto out; }
    if (json) print_json(stdout, &res, tr, w.eps, w.n, &fx, &fr);
    else print_table(stdout, &res, tr, w.eps, w.n, &fx, &fr);
    code = ES_EXIT_OK;
out:
    if (code != ES_EXIT_OK) fprintf(stderr, "eppsim explain: %s\n", err.msg[0] ? err.msg : es_strerror(rc));
    for (size_t i = 0; i < segs.n; i++) free(segs.v[i]);
    free(segs.v);
    es_sched_trace_destroy(tr);
    world_destroy(&w);
    es_epp_config_destroy(cfg);
    es_doc_destroy(doc);
    return code;
}
