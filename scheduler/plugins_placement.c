/*
 * plugins_placement.c -- filters and scorers that place a request by what the
 * pod advertises or what the session asks (llm-d-router v0.10.0, commit
 * 71f4f099): utilization-filter, context-length-aware (filter + scorer) and
 * session-affinity-filter.
 *
 * The simulation feeds them: the metrics as last scraped and the replica's
 * in-flight requests (utilization-filter), the pods' labels from the
 * experiment or manifest and the token producer's count of the prompt
 * (context-length-aware), the request's headers and the workload's session
 * id, which simulated clients send as x-session-id (session-affinity-filter).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_str.h"
#include "es_util.h"
#include "plugins_internal.h"

/* A request header by lower-case name (request headers are lower case). */
static const char *req_header(const es_sched_request_t *r, const char *name)
{
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* strings.ToLower(strings.TrimSpace(s)) into out (ESI_STR_MAX) */
static void header_norm(const char *s, char *out)
{
    const char *e;
    es_str_trim_span(s, &s, &e);
    size_t n = (size_t)(e - s), i = 0;
    for (; i < n && i + 1 < ESI_STR_MAX; i++) out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

/* ------------------------------------------------------------------ */
/* utilization-filter (scheduling/filter/utilization/filter.go)        */
/* ------------------------------------------------------------------ */

#define UF_MAX_CONDITIONS 16
enum { UF_ACTIVE, UF_RUNNING, UF_WAITING, UF_KV };
typedef struct uf_params {
    bool     fallback_on_empty;
    char     producer[ESI_STR_MAX];   /* inFlightLoadProducerName: eppsim keeps one in-flight count */
    uint32_t n;
    int      metric[UF_MAX_CONDITIONS];
    double   max_value[UF_MAX_CONDITIONS];
} uf_params_t;
static const esi_param_t k_uf_params[] = {
    {"conditions", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    {"fallbackOnEmpty", ESI_P_BOOL, P(uf_params_t, fallback_on_empty), "false", 0, 0, NULL},
    {"inFlightLoadProducerName", ESI_P_STR, P(uf_params_t, producer), "", 0, 0, NULL},
    END};

static int uf_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    uf_params_t *p = params;
    static const char *const metrics[] = {"active-requests", "running-requests", "waiting-queue",
                                          "kv-cache-utilization", NULL};
    static const char *const keys[] = {"metric", "maxValue", NULL};
    const es_node_t *seq = at && at->kind == ES_NODE_MAP ? es_map_get(at, "conditions") : NULL;
    char full[240];
    snprintf(full, sizeof full, "%s.conditions", path);
    int rc;
    if (seq && !es_node_is_null(seq) && (rc = es_node_expect_seq(seq, full, err))) return rc;
    if (!seq || es_node_is_null(seq) || seq->n == 0)
        return es_node_err(err, ES_EINVAL, seq ? seq : at, full, "utilization filter requires at least one condition");
    if (seq->n > UF_MAX_CONDITIONS)
        return es_node_err(err, ES_ERANGE, seq, full, "at most %d conditions", UF_MAX_CONDITIONS);
    for (size_t i = 0; i < seq->n; i++) {
        char ep[260], fp[300];
        snprintf(ep, sizeof ep, "%s[%zu]", full, i);
        const es_node_t *e = seq->items[i];
        if ((rc = es_node_expect_map(e, ep, err)) || (rc = es_map_check_keys(e, ep, keys, err))) return rc;
        const es_node_t *m = es_map_get(e, "metric"), *v = es_map_get(e, "maxValue");
        const char *name = "";
        snprintf(fp, sizeof fp, "%s.metric", ep);
        if (m && !es_node_is_null(m) && (rc = es_node_to_str(m, fp, &name, err))) return rc;
        int k = -1;
        for (int j = 0; metrics[j]; j++) if (strcmp(name, metrics[j]) == 0) k = j;
        if (k < 0)
            return es_node_err(err, ES_EINVAL, m ? m : e, fp, "utilization filter condition metric must be one of "
                               "\"active-requests\", \"running-requests\", \"waiting-queue\", "
                               "\"kv-cache-utilization\", got \"%s\"", name);
        snprintf(fp, sizeof fp, "%s.maxValue", ep);
        if (!v || es_node_is_null(v))
            return es_node_err(err, ES_EINVAL, e, fp, "utilization filter condition for \"%s\" requires maxValue",
                               name);
        double x;
        if ((rc = es_node_to_double(v, fp, -INFINITY, INFINITY, &x, err))) return rc;
        if (x < 0)
            return es_node_err(err, ES_EINVAL, v, fp, "utilization filter condition for \"%s\" requires a "
                               "non-negative maxValue, got %g", name, x);
        if (k == UF_KV && x > 1)
            return es_node_err(err, ES_EINVAL, v, fp, "utilization filter maxValue for \"kv-cache-utilization\" "
                               "is a fraction and must be at most 1, got %g", x);
        p->metric[p->n] = k;
        p->max_value[p->n++] = x;
    }
    return 0;
}

static void uf_write(const void *params, const char *key, FILE *f, int indent)
{
    static const char *const names[] = {"active-requests", "running-requests", "waiting-queue", "kv-cache-utilization"};
    const uf_params_t *p = params;
    if (strcmp(key, "conditions")) return;
    fprintf(f, "%*sconditions:\n", indent, "");
    for (uint32_t k = 0; k < p->n; k++)
        fprintf(f, "%*s- {metric: %s, maxValue: %.17g}\n", indent, "", names[p->metric[k]], p->max_value[k]);
}

/* metricValue: a missing metric reads 0 (eppsim's pods always have them) */
static double uf_value(const esi_cycle_t *cy, uint32_t i, int metric)
{
    const es_endpoint_t *e = &cy->eps[i];
    switch (metric) {
    case UF_ACTIVE:  return (double)cy->inflight_req[i];
    case UF_RUNNING: return (double)e->metrics.running;
    case UF_WAITING: return (double)e->metrics.waiting;
    default:         return esi_metric_kv(e);
    }
}

static bool uf_keeps(const uf_params_t *p, const esi_cycle_t *cy, uint32_t i)
{
    for (uint32_t k = 0; k < p->n; k++)
        if (uf_value(cy, i, p->metric[k]) > p->max_value[k]) return false;
    return true;
}

static size_t uf_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const uf_params_t *p = st;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) if (uf_keeps(p, cy, idx[i])) k++;
    if (k == 0 && p->fallback_on_empty) return m;   /* the unfiltered candidates */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (uf_keeps(p, cy, idx[i])) idx[o++] = idx[i];
    return o;
}

/* ------------------------------------------------------------------ */
/* context-length-aware (scheduling/scorer/contextlengthaware/          */
/* context_length_aware.go): a filter (enableFiltering) and a scorer   */
/* ------------------------------------------------------------------ */

typedef struct cla_params {
    char label[ESI_STR_MAX];   /* llm-d.ai/context-length-range */
    bool enable_filtering;
} cla_params_t;
static const esi_param_t k_cla_params[] = {
    {"label", ESI_P_STR, P(cla_params_t, label), "llm-d.ai/context-length-range", 0, 0, NULL},
    {"enableFiltering", ESI_P_BOOL, P(cla_params_t, enable_filtering), "false", 0, 0, NULL},
    END};

static int cla_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    const cla_params_t *p = params;
    if (!p->label[0])
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'context-length-aware' plugin: "
                           "'label' must be specified");
    return 0;
}

/* strconv.Atoi of strings.TrimSpace(s[b, e)): an optional sign, decimal
 * digits, within int64 */
static bool atoi_span(const char *b, const char *e, int64_t *out)
{
    char buf[32];
    const char *tb, *te;
    size_t n = (size_t)(e - b);
    if (n >= sizeof buf) {   /* longer than any int64: only white space could make it fit */
        while (b < e && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r' || *b == '\v' || *b == '\f')) b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\v' ||
                         e[-1] == '\f')) e--;
        n = (size_t)(e - b);
        if (n >= sizeof buf) return false;
    }
    memcpy(buf, b, n);
    buf[n] = '\0';
    es_str_trim_span(buf, &tb, &te);
    const char *d = tb;
    if (d < te && (*d == '+' || *d == '-')) d++;
    if (d == te) return false;
    for (const char *q = d; q < te; q++) if (*q < '0' || *q > '9') return false;
    char num[32];
    memcpy(num, tb, (size_t)(te - tb));
    num[te - tb] = '\0';
    errno = 0;
    long long v = strtoll(num, NULL, 10);
    if (errno == ERANGE) return false;
    *out = v;
    return true;
}

/* parseContextRange: "min-max" (split on '-': exactly two parts), min <= max */
bool esi_context_range_parse(const char *s, int64_t *lo, int64_t *hi)
{
    if (!s || !*s) return false;
    const char *dash = strchr(s, '-');
    if (!dash || strchr(dash + 1, '-')) return false;
    return atoi_span(s, dash, lo) && atoi_span(dash + 1, s + strlen(s), hi) && *lo <= *hi;
}

/* calculateRangeScore: in range (0.3, 1]: 0.3 + 0.7(0.7/(1 + width/10000) +
 * 0.3 headroom/width), a zero-width range 1; out of range 0.3/(1 + d/1000),
 * d the distance to the nearest bound */
double esi_context_range_score(int64_t len, int64_t lo, int64_t hi)
{
    const double fallback = 0.3;
    if (len >= lo && len <= hi) {
        int64_t width = hi - lo;
        if (width == 0) return 1.0;
        double w = 1.0 / (1.0 + (double)width / 10000.0);
        double pos = (double)(hi - len) / (double)width;
        return fallback + (0.7 * w + 0.3 * pos) * (1.0 - fallback);
    }
    int64_t d = len > hi ? len - hi : lo - len;
    return fallback / (1.0 + (double)d / 1000.0);
}

static size_t cla_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const cla_params_t *p = st;
    if (!p->enable_filtering) return m;
    int64_t len = cy->est_tokens;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const char *v = es_endpoint_label(&cy->eps[idx[i]], p->label);
        int64_t lo, hi;
        if (!v || (esi_context_range_parse(v, &lo, &hi) && len >= lo && len <= hi)) idx[o++] = idx[i];   /* no label: any length */
    }
    return o;
}

static void cla_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    const cla_params_t *p = st;
    int64_t len = cy->est_tokens;
    for (size_t i = 0; i < m; i++) {
        const char *v = es_endpoint_label(&cy->eps[idx[i]], p->label);
        int64_t lo, hi;
        out[i] = !v ? 0.5 : esi_context_range_parse(v, &lo, &hi) ? esi_context_range_score(len, lo, hi) : 0.0;
    }
}

/* ------------------------------------------------------------------ */
/* session-affinity-filter (scheduling/filter/sessionaffinity/,         */
/* util/sessionaffinity/header.go, session_id.go)                      */
/* ------------------------------------------------------------------ */

#define SA_MAX_SOURCES 8
#define SA_SIM_HEADER "x-session-id"   /* where simulated clients send their workload session id */
enum { SA_ENCODED, SA_SESSION_ID };
typedef struct sa_params {
    char     strategy[ESI_STR_MAX];     /* encoded_endpoint_header | session_id */
    char     header[ESI_STR_MAX];       /* encodedEndpointHeaderConfig.header, x-session-token */
    char     profile[ESI_STR_MAX];      /* profileName: "" = the primary profile */
    double   ttl_s, sweep_s;            /* sessionIdConfig.evictionTtlSeconds 300, evictionSweepSeconds 10 */
    /* not parameters: the resolved configuration */
    int      mode;                      /* SA_* */
    uint32_t nsources;
    char     source[SA_MAX_SOURCES][ESI_STR_MAX];   /* lower-cased header names, or attribute keys */
    bool     attribute[SA_MAX_SOURCES];             /* source k is an attribute (none in eppsim) */
    int32_t  profile_idx;               /* -1: the primary; -2: a profile that does not exist */
} sa_params_t;
static const esi_param_t k_sa_encoded[] = {
    {"header", ESI_P_STR, P(sa_params_t, header), "", 0, 0, NULL}, END};
static const esi_param_t k_sa_session[] = {
    {"sources", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    {"evictionTtlSeconds", ESI_P_DOUBLE, P(sa_params_t, ttl_s), "0", -INFINITY, INFINITY, NULL},
    {"evictionSweepSeconds", ESI_P_DOUBLE, P(sa_params_t, sweep_s), "0", -INFINITY, INFINITY, NULL},
    END};
static const esi_param_t k_sa_params[] = {
    {"strategy", ESI_P_STR, P(sa_params_t, strategy), "encoded_endpoint_header", 0, 0, NULL},
    {"encodedEndpointHeaderConfig", ESI_P_SUB, 0, NULL, 0, 0, k_sa_encoded},
    {"sessionIdConfig", ESI_P_SUB, 0, NULL, 0, 0, k_sa_session},
    {"profileName", ESI_P_STR, P(sa_params_t, profile), "", 0, 0, NULL},
    END};

static int sa_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    sa_params_t *p = params;
    char norm[ESI_STR_MAX];
    header_norm(p->header, norm);   /* NormalizeHeader */
    snprintf(p->header, sizeof p->header, "%s", norm[0] ? norm : "x-session-token");
    if (strcmp(p->strategy, "encoded_endpoint_header") == 0) {
        p->mode = SA_ENCODED;
        return 0;
    }
    if (strcmp(p->strategy, "session_id") != 0)
        return es_node_err(err, ES_EINVAL, at, path, "invalid parameters of the session affinity plugin - "
                           "strategy must be \"encoded_endpoint_header\" or \"session_id\", got \"%s\"", p->strategy);
    p->mode = SA_SESSION_ID;
    /* SessionIDConfig.ApplyDefaults, then Validate */
    const es_node_t *sc = at && at->kind == ES_NODE_MAP ? es_map_get(at, "sessionIdConfig") : NULL;
    const es_node_t *seq = sc && sc->kind == ES_NODE_MAP ? es_map_get(sc, "sources") : NULL;
    char full[240];
    snprintf(full, sizeof full, "%s.sessionIdConfig.sources", path);
    int rc;
    if (seq && !es_node_is_null(seq) && (rc = es_node_expect_seq(seq, full, err))) return rc;
    p->nsources = 0;
    bool attribute = false;
    if (!seq || es_node_is_null(seq) || seq->n == 0) {
        snprintf(p->source[p->nsources++], ESI_STR_MAX, "%s", SA_SIM_HEADER);
    } else {
        if (seq->n > SA_MAX_SOURCES) return es_node_err(err, ES_ERANGE, seq, full, "at most %d sources", SA_MAX_SOURCES);
        static const char *const keys[] = {"header", "attribute", NULL};
        for (size_t i = 0; i < seq->n; i++) {
            char ep[260];
            snprintf(ep, sizeof ep, "%s[%zu]", full, i);
            const es_node_t *e = seq->items[i];
            if ((rc = es_node_expect_map(e, ep, err)) || (rc = es_map_check_keys(e, ep, keys, err))) return rc;
            const char *h = "", *a = "";
            const es_node_t *hn = es_map_get(e, "header"), *an = es_map_get(e, "attribute");
            if (hn && !es_node_is_null(hn) && (rc = es_node_to_str(hn, ep, &h, err))) return rc;
            if (an && !es_node_is_null(an) && (rc = es_node_to_str(an, ep, &a, err))) return rc;
            if ((h[0] == '\0') == (a[0] == '\0'))
                return es_node_err(err, ES_EINVAL, e, ep, "invalid parameters of the session affinity plugin - "
                                   "sources[%zu]: exactly one of header or attribute must be set", i);
            if (strlen(h) >= ESI_STR_MAX || strlen(a) >= ESI_STR_MAX)
                return es_node_err(err, ES_ERANGE, e, ep, "longer than %d characters", ESI_STR_MAX - 1);
            if (a[0]) {
                snprintf(p->source[p->nsources], ESI_STR_MAX, "%s", a);
                p->attribute[p->nsources] = attribute = true;
            } else {
                header_norm(h, p->source[p->nsources]);   /* NormalizeHeader */
                if (!p->source[p->nsources][0]) snprintf(p->source[p->nsources], ESI_STR_MAX, "x-session-token");
            }
            p->nsources++;
        }
    }
    if (p->ttl_s == 0) p->ttl_s = 300;
    if (p->sweep_s == 0) p->sweep_s = 10;
    if (p->ttl_s <= 0)
        return es_node_err(err, ES_EINVAL, at, path, "invalid parameters of the session affinity plugin - "
                           "evictionTtlSeconds must be > 0, got %g", p->ttl_s);
    if (p->sweep_s <= 0)
        return es_node_err(err, ES_EINVAL, at, path, "invalid parameters of the session affinity plugin - "
                           "evictionSweepSeconds must be > 0, got %g", p->sweep_s);
    if (attribute)
        *warning = "sessionIdConfig.sources: an attribute source yields nothing in eppsim (no plugin publishes "
                   "request attributes); header sources are read";
    return 0;
}

static void sa_write(const void *params, const char *key, FILE *f, int indent)
{
    const sa_params_t *p = params;
    if (strcmp(key, "sources") || p->mode != SA_SESSION_ID) return;
    fprintf(f, "%*ssources:\n", indent, "");
    for (uint32_t k = 0; k < p->nsources; k++) {
        fprintf(f, "%*s- {%s: ", indent, "", p->attribute[k] ? "attribute" : "header");
        es_json_write_string(f, p->source[k]);   /* a JSON string is a YAML double-quoted one */
        fputs("}\n", f);
    }
}

/* profileName: the profile whose pick the binding records */
static int sa_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    (void)at; (void)err;
    sa_params_t *p = params;
    p->profile_idx = -1;
    if (!p->profile[0]) return 0;
    p->profile_idx = -2;
    for (size_t i = 0; i < c->nprofiles; i++)
        if (strcmp(c->profiles[i].name, p->profile) == 0) p->profile_idx = (int32_t)i;
    return 0;
}

/* session_id strategy's binding store: session -> pod, keyed by xxh64 of
 * the session id; a dense array indexed by an es_hmap of the keys */
typedef struct sa_binding {
    uint64_t  key;
    uint32_t  pod;        /* endpoint id */
    es_time_t last_seen;
} sa_binding_t;

typedef struct sa_state {
    sa_params_t   p;
    sa_binding_t *binds;
    size_t        nbinds, capbinds;
    es_hmap_t     keys;          /* key -> index in binds */
    es_time_t     ttl, sweep, next_sweep;
    uint64_t      present_req;   /* boundPodPresence of this request's Filter */
    int8_t        present;       /* -1: no record; 0 absent; 1 present */
} sa_state_t;

static int sa_init(void *state, const void *params, es_scheduler_t *s, es_err_t *err)
{
    (void)s; (void)err;
    sa_state_t *st = state;
    st->p = *(const sa_params_t *)params;
    st->ttl = (es_time_t)llround(st->p.ttl_s * 1e9);
    st->sweep = (es_time_t)llround(st->p.sweep_s * 1e9);
    st->next_sweep = -1;
    st->present = -1;
    es_hmap_init(&st->keys, 0);
    return 0;
}

static void sa_fini(void *state)
{
    sa_state_t *st = state;
    free(st->binds);
    es_hmap_fini(&st->keys);
}

static uint64_t sa_key(const char *id, size_t len) { return esi_xxh64(id, len, 0x5e55); }

/* es_hmap's key test: binding val has key */
static bool sa_has(const void *st, uint32_t i, uint64_t key) { return ((const sa_state_t *)st)->binds[i].key == key; }

static sa_binding_t *sa_find(sa_state_t *st, uint64_t key)
{
    const es_hmap_slot_t *s = es_hmap_find(&st->keys, key, sa_has, st);
    return s ? &st->binds[s->val] : NULL;
}

/* Binds key (unbound) to pod. */
static void sa_put(sa_state_t *st, uint64_t key, uint32_t pod, es_time_t now)
{
    if (st->nbinds == st->capbinds) {
        st->capbinds = st->capbinds ? st->capbinds * 2 : 64;
        st->binds = es_xrealloc(st->binds, st->capbinds * sizeof *st->binds);
    }
    ES_ASSERT(st->nbinds < UINT32_MAX, "session affinity: more than 2^32 sessions");
    st->binds[st->nbinds] = (sa_binding_t){key, pod, now};
    es_hmap_put(&st->keys, key, (uint32_t)st->nbinds++, sa_has, st);
}

/* Drops binding i; the last one moves into its place. */
static void sa_delete_at(sa_state_t *st, size_t i)
{
    es_hmap_remove(&st->keys, st->binds[i].key, NULL, sa_has, st);
    if (i != --st->nbinds) {
        es_hmap_find(&st->keys, st->binds[st->nbinds].key, sa_has, st)->val = (uint32_t)i;
        st->binds[i] = st->binds[st->nbinds];
    }
}

/* runEviction's ticker (every evictionSweepSeconds from the first hook),
 * run at the first hook at or after a tick with that tick's time: drops
 * bindings unused for longer than the TTL */
static void sa_sweep(sa_state_t *st, es_time_t now)
{
    if (st->next_sweep < 0) { st->next_sweep = now + st->sweep; return; }
    if (now < st->next_sweep) return;
    es_time_t tick = st->next_sweep;   /* the last tick due: what upstream's sweep saw */
    while (st->next_sweep <= now) { tick = st->next_sweep; st->next_sweep += st->sweep; }
    for (size_t i = 0; i < st->nbinds;) {
        if (tick - st->binds[i].last_seen > st->ttl) sa_delete_at(st, i);   /* i refilled */
        else i++;
    }
}

/* resolveSessionID: the first source with a non-empty (trimmed) value; a
 * simulated client sends its workload session id as x-session-id */
static bool sa_session(const sa_params_t *p, const es_sched_request_t *r, const char **b, const char **e)
{
    for (uint32_t k = 0; k < p->nsources; k++) {
        if (p->attribute[k]) continue;   /* an attribute: none in eppsim */
        const char *v = req_header(r, p->source[k]);
        if (!v && r->session && strcmp(p->source[k], SA_SIM_HEADER) == 0) v = r->session;
        if (!v) continue;
        es_str_trim_span(v, b, e);
        if (*e > *b) return true;
    }
    return false;
}

/* base64.StdEncoding.DecodeString (padding required, no line breaks) */
static int b64_std_decode(const char *in, char *out, size_t size)
{
    size_t n = strlen(in), o = 0;
    if (n % 4) return -1;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t acc = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            int c = (unsigned char)in[i + j], v;
            if (c == '=') {
                if (i + 4 != n || j < 2) return -1;
                pad++;
                v = 0;
            } else {
                if (pad) return -1;
                v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
                    : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
                if (v < 0) return -1;
            }
            acc = acc << 6 | (uint32_t)v;
        }
        unsigned char bytes[3] = {(unsigned char)(acc >> 16), (unsigned char)(acc >> 8), (unsigned char)acc};
        if ((pad == 2 && bytes[1]) || (pad >= 1 && bytes[2])) return -1;   /* non-canonical trailing bits */
        for (int j = 0; j < 3 - pad; j++) {
            if (o + 1 >= size) return -1;
            out[o++] = (char)bytes[j];
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* ID.String() of an endpoint is "namespace/name"; eppsim's pods are named
 * without a namespace, so the name alone matches too */
static bool sa_names(const char *id, const es_endpoint_t *e)
{
    if (!e->name) return false;
    if (strcmp(id, e->name) == 0) return true;
    const char *slash = strrchr(id, '/');
    return slash && strcmp(slash + 1, e->name) == 0;
}

/* The candidate (position in idx) the session is pinned to; -1 for none
 * (no token or session, an unbound session, its pod not a candidate).
 * session_id: records, for PreRequest, whether a bound pod was present
 * (Choose, util/sessionaffinity/session_id.go). */
static long sa_choose(sa_state_t *st, esi_cycle_t *cy, const uint32_t *idx, size_t m)
{
    if (st->p.mode == SA_ENCODED) {
        const char *tok = req_header(cy->req, st->p.header);
        char pod[256];
        if (!tok || !*tok || b64_std_decode(tok, pod, sizeof pod) <= 0) return -1;
        for (size_t j = 0; j < m; j++) if (sa_names(pod, &cy->eps[idx[j]])) return (long)j;
        return -1;
    }
    sa_sweep(st, cy->now);
    const char *b, *e;
    if (m == 0 || !sa_session(&st->p, cy->req, &b, &e)) return -1;
    const sa_binding_t *bd = sa_find(st, sa_key(b, (size_t)(e - b)));
    if (!bd) return -1;   /* unbound: no preference */
    st->present_req = cy->req->id;
    st->present = 0;
    for (size_t j = 0; j < m; j++)
        if (cy->eps[idx[j]].id == bd->pod) { st->present = 1; return (long)j; }
    return -1;
}

/* the filter: the pinned candidate alone, else all of them */
static size_t sa_filter(void *state, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    long j = sa_choose(state, cy, idx, m);
    if (j < 0) return m;
    idx[0] = idx[j];
    return 1;
}

/* session-affinity-scorer (scheduling/scorer/sessionaffinity/): the same
 * strategies as a soft preference: 1 for the pinned candidate, 0 else */
static void sa_score(void *state, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    long j = sa_choose(state, cy, idx, m);
    for (size_t i = 0; i < m; i++) out[i] = (long)i == j ? 1.0 : 0.0;
}

/* PreRequest: binds a new session to the pod picked for the instance's
 * profile, refreshes a binding to that pod, and migrates a session only
 * when this request's Filter found its bound pod absent;
 * encoded_endpoint_header: names the pod its response header carries */
static void sa_pre_request(void *state, esi_cycle_t *cy)
{
    sa_state_t *st = state;
    if (cy->record_only) return;
    if (st->p.mode == SA_ENCODED) {   /* ResponseHeader: ResolvePodToWrite, written at the decision */
        uint32_t pod = st->p.profile_idx == -1 ? esi_cycle_primary(cy) : esi_cycle_pick(cy, st->p.profile_idx);
        if (pod != UINT32_MAX) { cy->session_header = st->p.header; cy->session_pod = pod; }
        return;
    }
    int8_t present = st->present_req == cy->req->id ? st->present : -1;
    st->present = -1;
    sa_sweep(st, cy->now);
    const char *b, *e;
    if (!sa_session(&st->p, cy->req, &b, &e)) return;
    uint32_t pick = st->p.profile_idx == -1 ? esi_cycle_primary(cy)
                    : st->p.profile_idx >= 0 ? esi_cycle_pick(cy, st->p.profile_idx) : UINT32_MAX;
    if (pick == UINT32_MAX) return;
    uint32_t pod = cy->eps[pick].id;
    uint64_t key = sa_key(b, (size_t)(e - b));
    sa_binding_t *bd = sa_find(st, key);
    if (!bd) { sa_put(st, key, pod, cy->now); return; }
    if (bd->pod == pod) { bd->last_seen = cy->now; return; }
    if (present == 0) { bd->pod = pod; bd->last_seen = cy->now; }
}

static const esi_plugin_vt_t k_plugins[] = {
    {VT("utilization-filter", ESI_FILTER, k_uf_params, sizeof(uf_params_t), sizeof(uf_params_t)), .alpha = true,
     .x_check = uf_check, .x_filter = uf_filter, .x_write_node = uf_write},
    {VT("context-length-aware", ESI_FILTER | ESI_SCORER, k_cla_params, sizeof(cla_params_t), sizeof(cla_params_t)),
     .x_check = cla_check, .x_filter = cla_filter, .x_score = cla_score},
    {VT("session-affinity-filter", ESI_FILTER, k_sa_params, sizeof(sa_params_t), sizeof(sa_state_t)),
     .alpha = true, .x_check = sa_check, .x_link = sa_link, .x_init = sa_init, .x_fini = sa_fini,
     .x_filter = sa_filter, .x_pre_request = sa_pre_request, .x_write_node = sa_write},
    {VT("session-affinity-scorer", ESI_SCORER, k_sa_params, sizeof(sa_params_t), sizeof(sa_state_t)),
     .alpha = true,   /* StabilityAlpha at v0.10.0 (cmd/epp/runner/runner.go) */
     .x_check = sa_check, .x_link = sa_link, .x_init = sa_init, .x_fini = sa_fini, .x_score = sa_score,
     .x_pre_request = sa_pre_request, .x_write_node = sa_write},
};

ESI_PLUGIN_FAMILY(esi_placement_plugins, k_plugins);
