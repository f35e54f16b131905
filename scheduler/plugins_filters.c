/*
 * plugins_filters.c -- the filters that narrow the candidates by prefix
 * affinity, labels (label selector, by-label), topology (with its extractor
 * and scorer) and llm-d.ai/role (decode, prefill, encode).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "es_util.h"
#include "plugins_internal.h"

/* prefix-cache-affinity-filter (v0.10.0 scheduling/filter/prefixcacheaffinity/
 * plugin.go): keeps the "sticky" pods whose prefix score reaches the
 * threshold, unless exploring, none is sticky, or the best sticky pod's TTFT
 * exceeds the best other's by more than maxTTFTPenaltyMs.  TTFT comes from
 * the latency predictor (ttftSource latencyPredictor) or in-flight tokens /
 * peakPrefillThroughput x 1000 (prefillThroughput, the default). */
typedef struct affinity_params {
    double threshold, exploration, max_ttft_penalty_ms, peak_prefill;
    char   source[ESI_STR_MAX];
    char   prefix_producer[ESI_STR_MAX], lat_producer[ESI_STR_MAX], inflight_producer[ESI_STR_MAX];
} affinity_params_t;
static const esi_param_t k_affinity_params[] = {
    {"affinityThreshold", ESI_P_DOUBLE, P(affinity_params_t, threshold), "0.80", -1e300, 1e300, NULL},
    {"explorationProbability", ESI_P_DOUBLE, P(affinity_params_t, exploration), "0", -1e300, 1e300, NULL},
    {"maxTTFTPenaltyMs", ESI_P_DOUBLE, P(affinity_params_t, max_ttft_penalty_ms), "18000", -1e300, 1e300, NULL},
    {"ttftSource", ESI_P_STR, P(affinity_params_t, source), "prefillThroughput", 0, 0, NULL},
    {"peakPrefillThroughput", ESI_P_DOUBLE, P(affinity_params_t, peak_prefill), "15928", -1e300, 1e300, NULL},
    {"prefixMatchInfoProducerName", ESI_P_STR, P(affinity_params_t, prefix_producer), "", 0, 0, NULL},
    {"latencyPredictionInfoProducerName", ESI_P_STR, P(affinity_params_t, lat_producer), "", 0, 0, NULL},
    {"inFlightLoadProducerName", ESI_P_STR, P(affinity_params_t, inflight_producer), "", 0, 0, NULL},
    END};

static bool affinity_predictor(const affinity_params_t *p) { return strcmp(p->source, "latencyPredictor") == 0; }

static int affinity_check(void *params, const es_node_t *at, const char *path, const char **warning, es_err_t *err)
{
    (void)warning;
    const affinity_params_t *p = params;
    const char *bad = NULL;
    char msg[160];
    if (p->threshold > 1.0) snprintf(msg, sizeof msg, "affinityThreshold must be <= 1.0, got %f", p->threshold), bad = msg;
    else if (p->exploration < 0 || p->exploration > 1.0)
        snprintf(msg, sizeof msg, "explorationProbability must be in [0, 1], got %f", p->exploration), bad = msg;
    else if (p->max_ttft_penalty_ms < 0)
        snprintf(msg, sizeof msg, "maxTTFTPenaltyMs must be >= 0, got %f", p->max_ttft_penalty_ms), bad = msg;
    else if (p->peak_prefill < 0)
        snprintf(msg, sizeof msg, "peakPrefillThroughput must be >= 0, got %f", p->peak_prefill), bad = msg;
    else if (!affinity_predictor(p) && strcmp(p->source, "prefillThroughput") != 0)
        snprintf(msg, sizeof msg, "ttftSource must be \"latencyPredictor\" or \"prefillThroughput\", got \"%s\"",
                 p->source), bad = msg;
    else if (!affinity_predictor(p) && p->max_ttft_penalty_ms > 0 && p->peak_prefill == 0)
        bad = "peakPrefillThroughput must be > 0 when ttftSource is prefillThroughput";
    return bad ? es_node_err(err, ES_EINVAL, at, path, "invalid config: %s", bad) : 0;
}

static unsigned affinity_consumes(const void *params)
{
    const affinity_params_t *p = params;
    return p->max_ttft_penalty_ms > 0 && affinity_predictor(p) ? ESI_DATA_LATENCY : 0;
}

static const char *affinity_producer_ref(const void *params)
{
    return ((const affinity_params_t *)params)->prefix_producer;
}

static double affinity_ttft(const affinity_params_t *p, const esi_cycle_t *cy, uint32_t i)
{
    if (affinity_predictor(p)) return cy->latency ? cy->latency[i].ttft : 1.7976931348623157e308;
    return (double)cy->inflight_tok[i] / p->peak_prefill * 1000;
}

static size_t affinity_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const affinity_params_t *p = st;
    if (m <= 1 || p->threshold <= 0) return m;
    if (es_rng_uniform(cy->rng) < p->exploration) return m;
    size_t k = 0;
    double best_s = 1.7976931348623157e308, best_n = best_s;
    for (size_t i = 0; i < m; i++) {
        double score = cy->have_prefix && cy->total_blocks ? (double)cy->match[idx[i]] / cy->total_blocks : 0;
        bool sticky = score >= p->threshold;
        k += sticky;
        if (p->max_ttft_penalty_ms > 0) {
            double t = affinity_ttft(p, cy, idx[i]);
            if (sticky && t < best_s) best_s = t;
            if (!sticky && t < best_n) best_n = t;
        }
    }
    if (k == 0) return m;
    if (p->max_ttft_penalty_ms > 0 && k < m && best_s - best_n > p->max_ttft_penalty_ms) return m;   /* load gate */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        double score = cy->have_prefix && cy->total_blocks ? (double)cy->match[idx[i]] / cy->total_blocks : 0;
        if (score >= p->threshold) idx[o++] = idx[i];
    }
    return o;
}

/* label-selector-filter (and its deprecated alias by-label-selector): a
 * Kubernetes metav1.LabelSelector (matchLabels, matchExpressions with In,
 * NotIn, Exists, DoesNotExist), v0.10.0 scheduling/filter/bylabel/selector.go;
 * by-label: label, validValues, allowsNoLabel (filter.go). */
#define LBL_MAX 16
enum { LBL_IN, LBL_NOT_IN, LBL_EXISTS, LBL_NOT_EXISTS };
typedef struct lbl_req {
    char     key[ESI_STR_MAX];
    int      op;
    uint32_t nvals;
    char     vals[LBL_MAX][ESI_STR_MAX];
} lbl_req_t;
typedef struct selector_params {
    uint32_t  nreq;
    uint32_t  nlabels;      /* req[0, nlabels): matchLabels, the rest matchExpressions */
    lbl_req_t req[2 * LBL_MAX];
} selector_params_t;
typedef struct by_label_params {
    char     label[ESI_STR_MAX];
    bool     allows_no_label;
    uint32_t nvals;
    char     vals[LBL_MAX][ESI_STR_MAX];
} by_label_params_t;

static const esi_param_t k_selector_params[] = {
    {"matchLabels", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    {"matchExpressions", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    END};
static const esi_param_t k_by_label_params[] = {
    {"label", ESI_P_STR, P(by_label_params_t, label), "", 0, 0, NULL},
    {"validValues", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    {"allowsNoLabel", ESI_P_BOOL, P(by_label_params_t, allows_no_label), "false", 0, 0, NULL},
    END};

/* copies a scalar of at most ESI_STR_MAX - 1 characters */
static int lbl_str(const es_node_t *n, const char *path, char *out, es_err_t *err)
{
    const char *s;
    int rc = es_node_to_str(n, path, &s, err);
    if (!rc && strlen(s) >= ESI_STR_MAX)
        rc = es_node_err(err, ES_ERANGE, n, path, "longer than %d characters", ESI_STR_MAX - 1);
    if (!rc) snprintf(out, ESI_STR_MAX, "%s", s);
    return rc;
}

static int lbl_values(const es_node_t *seq, const char *path, char (*vals)[ESI_STR_MAX], uint32_t *n,
                      es_err_t *err)
{
    *n = 0;
    if (!seq || es_node_is_null(seq)) return 0;
    int rc = es_node_expect_seq(seq, path, err);
    if (!rc && seq->n > LBL_MAX) rc = es_node_err(err, ES_ERANGE, seq, path, "at most %d values", LBL_MAX);
    for (size_t i = 0; !rc && i < seq->n; i++) {
        char p[200];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        rc = lbl_str(seq->items[i], p, vals[(*n)++], err);
    }
    return rc;
}

static int selector_check(void *params, const es_node_t *at, const char *path, const char **warning,
                          es_err_t *err)
{
    (void)warning;
    selector_params_t *p = params;
    if (!at || at->kind != ES_NODE_MAP) return 0;   /* an empty selector matches everything */
    char full[240];
    int rc = 0;
    const es_node_t *ml = es_map_get(at, "matchLabels");
    snprintf(full, sizeof full, "%s.matchLabels", path);
    if (ml && !es_node_is_null(ml) && (rc = es_node_expect_map(ml, full, err))) return rc;
    for (size_t i = 0; ml && ml->kind == ES_NODE_MAP && i < ml->n; i++) {
        if (p->nreq == 2 * LBL_MAX) return es_node_err(err, ES_ERANGE, ml, full, "too many requirements");
        lbl_req_t *r = &p->req[p->nreq++];
        char kp[300];
        snprintf(kp, sizeof kp, "%s.%s", full, ml->keys[i]);
        if (strlen(ml->keys[i]) >= ESI_STR_MAX) return es_node_err(err, ES_ERANGE, ml, kp, "key too long");
        snprintf(r->key, sizeof r->key, "%s", ml->keys[i]);
        r->op = LBL_IN;
        r->nvals = 1;
        if ((rc = lbl_str(ml->items[i], kp, r->vals[0], err))) return rc;
        p->nlabels = p->nreq;
    }
    const es_node_t *me = es_map_get(at, "matchExpressions");
    snprintf(full, sizeof full, "%s.matchExpressions", path);
    if (!me || es_node_is_null(me)) return 0;
    if ((rc = es_node_expect_seq(me, full, err))) return rc;
    static const char *const keys[] = {"key", "operator", "values", NULL};
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};
    for (size_t i = 0; i < me->n; i++) {
        char ep[260], fp[300];
        snprintf(ep, sizeof ep, "%s[%zu]", full, i);
        const es_node_t *e = me->items[i];
        if ((rc = es_node_expect_map(e, ep, err)) || (rc = es_map_check_keys(e, ep, keys, err))) return rc;
        if (p->nreq == 2 * LBL_MAX) return es_node_err(err, ES_ERANGE, e, ep, "too many requirements");
        lbl_req_t *r = &p->req[p->nreq++];
        const es_node_t *k = es_map_get(e, "key"), *o = es_map_get(e, "operator");
        snprintf(fp, sizeof fp, "%s.key", ep);
        if (!k) return es_node_err(err, ES_EINVAL, e, fp, "missing");
        if ((rc = lbl_str(k, fp, r->key, err))) return rc;
        snprintf(fp, sizeof fp, "%s.operator", ep);
        if (!o) return es_node_err(err, ES_EINVAL, e, fp, "missing");
        if ((rc = es_node_to_enum(o, fp, ops, &r->op, err))) return rc;
        snprintf(fp, sizeof fp, "%s.values", ep);
        if ((rc = lbl_values(es_map_get(e, "values"), fp, r->vals, &r->nvals, err))) return rc;
        /* metav1.LabelSelectorAsSelector: In/NotIn need values, Exists/DoesNotExist none */
        if ((r->op == LBL_IN || r->op == LBL_NOT_IN) && r->nvals == 0)
            return es_node_err(err, ES_EINVAL, e, fp, "for 'in', 'notin' operators, values set can't be empty");
        if ((r->op == LBL_EXISTS || r->op == LBL_NOT_EXISTS) && r->nvals > 0)
            return es_node_err(err, ES_EINVAL, e, fp, "values set must be empty for exists and does not exist");
    }
    return 0;
}

/* a YAML double-quoted scalar (the label keys and values as parsed) */
static void lbl_write_values(FILE *f, const char (*vals)[ESI_STR_MAX], uint32_t n)
{
    fputc('[', f);
    for (uint32_t i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        es_json_write_string(f, vals[i]);
    }
    fputc(']', f);
}

/* the selector as parsed: matchLabels, then the expressions */
static void selector_write(const void *params, const char *key, FILE *f, int indent)
{
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
    const selector_params_t *p = params;
    if (strcmp(key, "matchLabels") == 0 && p->nlabels) {
        fprintf(f, "%*smatchLabels:\n", indent, "");
        for (uint32_t i = 0; i < p->nlabels; i++) {
            fprintf(f, "%*s", indent + 2, "");
            es_json_write_string(f, p->req[i].key);
            fputs(": ", f);
            es_json_write_string(f, p->req[i].vals[0]);
            fputc('\n', f);
        }
    } else if (strcmp(key, "matchExpressions") == 0 && p->nreq > p->nlabels) {
        fprintf(f, "%*smatchExpressions:\n", indent, "");
        for (uint32_t i = p->nlabels; i < p->nreq; i++) {
            const lbl_req_t *r = &p->req[i];
            fprintf(f, "%*s- {key: ", indent, "");
            es_json_write_string(f, r->key);
            fprintf(f, ", operator: %s", ops[r->op]);
            if (r->nvals) {
                fputs(", values: ", f);
                lbl_write_values(f, (const char (*)[ESI_STR_MAX])r->vals, r->nvals);
            }
            fputs("}\n", f);
        }
    }
}

static void by_label_write(const void *params, const char *key, FILE *f, int indent)
{
    const by_label_params_t *p = params;
    if (strcmp(key, "validValues")) return;
    fprintf(f, "%*svalidValues: ", indent, "");
    lbl_write_values(f, (const char (*)[ESI_STR_MAX])p->vals, p->nvals);
    fputc('\n', f);
}

static bool in_vals(const char (*vals)[ESI_STR_MAX], uint32_t n, const char *v)
{
    for (uint32_t i = 0; i < n; i++) if (strcmp(vals[i], v) == 0) return true;
    return false;
}

static bool selector_matches(const selector_params_t *p, const es_endpoint_t *e)
{
    for (uint32_t i = 0; i < p->nreq; i++) {
        const lbl_req_t *r = &p->req[i];
        const char *v = es_endpoint_label(e, r->key);
        bool ok;
        switch (r->op) {
        case LBL_IN:         ok = v && in_vals((const char (*)[ESI_STR_MAX])r->vals, r->nvals, v); break;
        case LBL_NOT_IN:     ok = !v || !in_vals((const char (*)[ESI_STR_MAX])r->vals, r->nvals, v); break;
        case LBL_EXISTS:     ok = v != NULL; break;
        default:             ok = v == NULL; break;
        }
        if (!ok) return false;
    }
    return true;
}

static size_t selector_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const selector_params_t *p = st;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (selector_matches(p, &cy->eps[idx[i]])) idx[o++] = idx[i];
    return o;
}

static int by_label_check(void *params, const es_node_t *at, const char *path, const char **warning,
                          es_err_t *err)
{
    (void)warning;
    by_label_params_t *p = params;
    char full[240];
    snprintf(full, sizeof full, "%s.validValues", path);
    int rc = lbl_values(at && at->kind == ES_NODE_MAP ? es_map_get(at, "validValues") : NULL, full, p->vals,
                        &p->nvals, err);
    if (rc) return rc;
    if (!p->label[0])
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'by-label' filter: 'label' must "
                           "be specified");
    if (p->nvals == 0 && !p->allows_no_label)
        return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'by-label' filter: either "
                           "'validValues' must be non-empty or 'allowsNoLabel' must be true");
    return 0;
}

/* a pod passes when its value is valid, or it has no such label and that is allowed */
static size_t by_label_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const by_label_params_t *p = st;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const char *v = es_endpoint_label(&cy->eps[idx[i]], p->label);
        if ((!v && p->allows_no_label) || in_vals((const char (*)[ESI_STR_MAX])p->vals, p->nvals, v ? v : ""))
            idx[o++] = idx[i];
    }
    return o;
}

/* Topology (v0.10.0 datalayer/extractor/topology/extractor.go,
 * scheduling/util/topology, scheduling/filter/topologyaffinity,
 * scheduling/scorer/topologyaffinity): topology-extractor reads a pod's
 * hostname, rack, zone and region labels; the affinity filter and scorer
 * compare each candidate with the peer, the decode pick when the prefill
 * profile runs (disagg PeerEndpointAttributeKey).  Closeness: host < rack <
 * zone < region < none, equal non-empty values at the finest level. */
typedef struct topo_keys { char host[ESI_STR_MAX], rack[ESI_STR_MAX], zone[ESI_STR_MAX], region[ESI_STR_MAX]; } topo_keys_t;
enum { TOPO_HOST, TOPO_RACK, TOPO_ZONE, TOPO_REGION, TOPO_NONE };

static const esi_param_t k_topo_extractor_params[] = {
    {"hostname", ESI_P_STR, P(topo_keys_t, host), "kubernetes.io/hostname", 0, 0, NULL},
    {"rack", ESI_P_STR, P(topo_keys_t, rack), "topology.kubernetes.io/rack", 0, 0, NULL},
    {"zone", ESI_P_STR, P(topo_keys_t, zone), "topology.kubernetes.io/zone", 0, 0, NULL},
    {"region", ESI_P_STR, P(topo_keys_t, region), "topology.kubernetes.io/region", 0, 0, NULL},
    END};

typedef struct topo_params {
    char        min_affinity[ESI_STR_MAX];   /* filter: host (default), rack, zone, region */
    char        producer[ESI_STR_MAX];       /* topologyProducerName */
    int         min_level;
    bool        linked;                      /* an extractor feeds it */
    topo_keys_t keys;                        /* the extractor's labels */
} topo_params_t;
static const esi_param_t k_topo_filter_params[] = {
    {"minAffinity", ESI_P_STR, P(topo_params_t, min_affinity), "host", 0, 0, NULL},
    {"topologyProducerName", ESI_P_STR, P(topo_params_t, producer), "", 0, 0, NULL},
    END};
static const esi_param_t k_topo_scorer_params[] = {
    {"topologyProducerName", ESI_P_STR, P(topo_params_t, producer), "", 0, 0, NULL},
    END};

static int topo_filter_check(void *params, const es_node_t *at, const char *path, const char **warning,
                             es_err_t *err)
{
    (void)warning;
    topo_params_t *p = params;
    static const char *const levels[] = {"host", "rack", "zone", "region"};
    for (int l = 0; l < 4; l++) if (strcmp(p->min_affinity, levels[l]) == 0) { p->min_level = l; return 0; }
    return es_node_err(err, ES_EINVAL, at, path, "invalid configuration for 'topology-affinity-filter' filter: "
                       "invalid topology level \"%s\", must be one of host, rack, zone, region", p->min_affinity);
}

/* the extractor named topologyProducerName, else the first one; none: no topology */
static int topo_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    topo_params_t *p = params;
    for (size_t i = 0; i < c->nplugins; i++) {
        if (!(c->plugins[i].vt->produces & ESI_DATA_TOPOLOGY)) continue;
        if (p->producer[0] && strcmp(p->producer, c->plugins[i].name)) continue;
        p->keys = *(const topo_keys_t *)c->plugins[i].params;
        p->linked = true;
        return 0;
    }
    if (p->producer[0])
        return es_node_err(err, ES_ENOTFOUND, at, "parameters.topologyProducerName",
                           "no topology producer named \"%s\"", p->producer);
    return 0;
}

/* The value of e's label key; the hostname label, when absent or empty,
 * falls back to the pod's spec.hostname (v0.10.0 extractor.go: Extract and
 * the pod notification handler; the simulated pods are ready). */
static const char *topo_value(const topo_params_t *p, const es_endpoint_t *e, const char *key)
{
    const char *v = es_endpoint_label(e, key);
    if ((!v || !*v) && key == p->keys.host) v = e->hostname;
    return v;
}

static bool topo_same(const topo_params_t *p, const es_endpoint_t *a, const es_endpoint_t *b, const char *key)
{
    const char *x = topo_value(p, a, key), *y = topo_value(p, b, key);
    return x && y && *x && strcmp(x, y) == 0;
}

static bool topo_known(const topo_params_t *p, const es_endpoint_t *e)
{
    const char *k[4] = {p->keys.host, p->keys.rack, p->keys.zone, p->keys.region};
    for (int i = 0; i < 4; i++) { const char *v = topo_value(p, e, k[i]); if (v && *v) return true; }
    return false;
}

static int topo_compare(const topo_params_t *p, const es_endpoint_t *peer, const es_endpoint_t *cand)
{
    if (topo_same(p, peer, cand, p->keys.host)) return TOPO_HOST;
    if (topo_same(p, peer, cand, p->keys.rack)) return TOPO_RACK;
    if (topo_same(p, peer, cand, p->keys.zone)) return TOPO_ZONE;
    if (topo_same(p, peer, cand, p->keys.region)) return TOPO_REGION;
    return TOPO_NONE;
}

/* the peer: the decode pick, once the primary profile has picked */
static const es_endpoint_t *topo_peer(const topo_params_t *p, const esi_cycle_t *cy)
{
    uint32_t d = esi_cycle_primary(cy);
    if (!p->linked || d == UINT32_MAX || !topo_known(p, &cy->eps[d])) return NULL;
    return &cy->eps[d];
}

static size_t topo_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const topo_params_t *p = st;
    const es_endpoint_t *peer = topo_peer(p, cy);
    if (!peer) return m;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (topo_known(p, e) && topo_compare(p, peer, e) <= p->min_level) k++;
    }
    if (k == 0) return m;   /* nothing close enough: keep every candidate */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (topo_known(p, e) && topo_compare(p, peer, e) <= p->min_level) idx[o++] = idx[i];
    }
    return o;
}

static void topo_score(void *st, esi_cycle_t *cy, const uint32_t *idx, size_t m, double *out)
{
    static const double level_score[] = {1.00, 0.20, 0.05, 0.02, 0.00};
    const topo_params_t *p = st;
    const es_endpoint_t *peer = topo_peer(p, cy);
    for (size_t i = 0; i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        out[i] = peer && topo_known(p, e) ? level_score[topo_compare(p, peer, e)] : 0.0;
    }
}

/* endpoint-attribute-filter (v0.10.0 scheduling/filter/endpointattribute/
 * filter.go): keeps the endpoints whose attribute compares true against a
 * threshold; onMissing Pass (default) keeps those without it, Fail drops them;
 * fallbackOnEmpty returns every candidate when none is left. */
enum { CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_EQ, CMP_NE };
static const char *const k_cmp_ops[] = {"LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual",
                                        "Equal", "NotEqual", NULL};
typedef struct attr_filter_params {
    char   attribute[ESI_STR_MAX];
    char   on_missing[ESI_STR_MAX];
    bool   fallback_on_empty;
    int    op;
    double value;
    int    attr;            /* ESI_ATTR_*, resolved at link */
} attr_filter_params_t;
static const esi_param_t k_attr_filter_params[] = {
    {"attribute", ESI_P_STR, P(attr_filter_params_t, attribute), "", 0, 0, NULL},
    {"onMissing", ESI_P_STR, P(attr_filter_params_t, on_missing), "", 0, 0, NULL},
    {"fallbackOnEmpty", ESI_P_BOOL, P(attr_filter_params_t, fallback_on_empty), "false", 0, 0, NULL},
    {"algorithm", ESI_P_NODE, 0, NULL, 0, 0, NULL},
    END};

/* algorithm as parsed: type threshold, its operator and value */
static void attr_filter_write(const void *params, const char *key, FILE *f, int indent)
{
    const attr_filter_params_t *p = params;
    if (strcmp(key, "algorithm") || p->op < 0) return;
    fprintf(f, "%*salgorithm:\n%*stype: threshold\n%*sthreshold:\n", indent, "", indent + 2, "", indent + 2, "");
    fprintf(f, "%*soperator: %s\n%*svalue: %.17g\n", indent + 4, "", k_cmp_ops[p->op], indent + 4, "", p->value);
}

static const char k_attr_unproduced[] =
    "attribute is produced by nothing eppsim models (only " ESI_ATTR_GPU_UTIL_KEY
    ", by a dcgm-extractor): every endpoint lacks it";

static int attr_filter_check(void *params, const es_node_t *at, const char *path, const char **warning,
                             es_err_t *err)
{
    attr_filter_params_t *p = params;
    if (!p->attribute[0])
        return es_node_err(err, ES_EINVAL, at, path, "endpoint attribute filter requires a non-empty attribute");
    if (!p->on_missing[0]) snprintf(p->on_missing, sizeof p->on_missing, "Pass");
    if (strcmp(p->on_missing, "Pass") && strcmp(p->on_missing, "Fail"))
        return es_node_err(err, ES_EINVAL, at, path, "endpoint attribute filter onMissing must be \"Pass\" or "
                           "\"Fail\", got \"%s\"", p->on_missing);
    char full[300];
    const es_node_t *alg = at && at->kind == ES_NODE_MAP ? es_map_get(at, "algorithm") : NULL;
    snprintf(full, sizeof full, "%s.algorithm", path);
    static const char *const akeys[] = {"type", "threshold", NULL}, *const tkeys[] = {"operator", "value", NULL};
    int rc;
    const char *type = "";
    if (alg && !es_node_is_null(alg)) {
        if ((rc = es_node_expect_map(alg, full, err)) || (rc = es_map_check_keys(alg, full, akeys, err))) return rc;
        const es_node_t *t = es_map_get(alg, "type");
        snprintf(full, sizeof full, "%s.algorithm.type", path);
        if (t && !es_node_is_null(t) && (rc = es_node_to_str(t, full, &type, err))) return rc;
    }
    if (strcmp(type, "threshold"))
        return es_node_err(err, ES_EINVAL, alg ? alg : at, full, "endpoint attribute filter algorithm.type must be "
                           "\"threshold\", got \"%s\"", type);
    const es_node_t *th = es_map_get(alg, "threshold");
    snprintf(full, sizeof full, "%s.algorithm.threshold", path);
    if (!th || es_node_is_null(th))
        return es_node_err(err, ES_EINVAL, alg, full, "endpoint attribute filter requires algorithm.threshold "
                           "when algorithm.type is \"threshold\"");
    if ((rc = es_node_expect_map(th, full, err)) || (rc = es_map_check_keys(th, full, tkeys, err))) return rc;
    const es_node_t *op = es_map_get(th, "operator"), *val = es_map_get(th, "value");
    const char *ops = "";
    snprintf(full, sizeof full, "%s.algorithm.threshold.operator", path);
    if (op && !es_node_is_null(op) && (rc = es_node_to_str(op, full, &ops, err))) return rc;
    p->op = -1;
    for (int i = 0; k_cmp_ops[i]; i++) if (strcmp(ops, k_cmp_ops[i]) == 0) p->op = i;
    if (p->op < 0)
        return es_node_err(err, ES_EINVAL, op ? op : th, full, "endpoint attribute filter threshold.operator must "
                           "be one of LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual, Equal, NotEqual, "
                           "got \"%s\"", ops);
    snprintf(full, sizeof full, "%s.algorithm.threshold.value", path);
    p->value = 0;
    if (val && !es_node_is_null(val) && (rc = es_node_to_double(val, full, -INFINITY, INFINITY, &p->value, err)))
        return rc;
    if (strcmp(p->attribute, ESI_ATTR_GPU_UTIL_KEY)) *warning = k_attr_unproduced;
    return 0;
}

static int attr_filter_link(void *params, const es_epp_config_t *c, const es_node_t *at, es_err_t *err)
{
    (void)at; (void)err;
    attr_filter_params_t *p = params;
    p->attr = esi_attr_resolve(p->attribute, c);
    return 0;
}

static bool attr_filter_keeps(const attr_filter_params_t *p, const es_endpoint_t *e)
{
    double v;
    if (!esi_attr_read(p->attr, e, &v)) return p->on_missing[0] == 'P';
    switch (p->op) {
    case CMP_LT: return v < p->value;
    case CMP_LE: return v <= p->value;
    case CMP_GT: return v > p->value;
    case CMP_GE: return v >= p->value;
    case CMP_EQ: return v == p->value;
    default:     return v != p->value;
    }
}

static size_t attr_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    const attr_filter_params_t *p = st;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) if (attr_filter_keeps(p, &cy->eps[idx[i]])) k++;
    if (k == 0 && p->fallback_on_empty) return m;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) if (attr_filter_keeps(p, &cy->eps[idx[i]])) idx[o++] = idx[i];
    return o;
}

/* header-based-testing-filter (v0.10.0 scheduling/test/filter/
 * request_header_based_filter.go): keeps the endpoints the request's
 * test-epp-endpoint-selection header names, a comma list of "ip" or
 * "ip:port" (IPv6 in brackets); no header: none.  Survivors keep the
 * candidates' order (upstream: the header's), duplicates by IP once. */
static bool hbt_names(const char *list, const es_endpoint_t *e)
{
    const char *addr = e->address ? e->address : "", *colon = strrchr(addr, ':');
    size_t iplen = colon ? (size_t)(colon - addr) : strlen(addr);
    const char *port = colon ? colon + 1 : "";
    if (iplen >= 2 && addr[0] == '[' && addr[iplen - 1] == ']') { addr++; iplen -= 2; }
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *q = end;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t')) q--;
        /* split host[:port]: "[v6]:port", "v4:port", or a bare host */
        const char *h = p, *he = q, *pt = NULL;
        if (*h == '[') {
            const char *rb = memchr(h, ']', (size_t)(q - h));
            if (rb) { pt = rb + 1 < q && rb[1] == ':' ? rb + 2 : NULL; h++; he = rb; }
        } else {
            const char *c = memchr(h, ':', (size_t)(q - h));
            if (c && !memchr(c + 1, ':', (size_t)(q - c - 1))) { he = c; pt = c + 1; }
        }
        bool ip_ok = (size_t)(he - h) == iplen && iplen > 0 && memcmp(h, addr, iplen) == 0;
        bool port_ok = !pt || ((size_t)(q - pt) == strlen(port) && memcmp(pt, port, strlen(port)) == 0);
        if (ip_ok && port_ok) return true;
        p = end;
    }
    return false;
}

static size_t hbt_filter(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)
{
    (void)st;
    const char *list = NULL;
    for (uint32_t h = 0; h < cy->req->nheaders; h++)
        if (strcmp(cy->req->headers[h].name, "test-epp-endpoint-selection") == 0) list = cy->req->headers[h].value;
    size_t o = 0;
    for (size_t i = 0; list && i < m; i++) {
        const es_endpoint_t *e = &cy->eps[idx[i]];
        if (!hbt_names(list, e)) continue;
        const char *a = e->address ? e->address : "", *c = strrchr(a, ':');
        size_t n = c ? (size_t)(c - a) : strlen(a);
        bool dup = false;   /* one endpoint per IP */
        for (size_t k = 0; k < o && !dup; k++) {
            const char *b = cy->eps[idx[k]].address ? cy->eps[idx[k]].address : "", *d = strrchr(b, ':');
            size_t nb = d ? (size_t)(d - b) : strlen(b);
            dup = nb == n && memcmp(a, b, n) == 0;
        }
        if (!dup) idx[o++] = idx[i];
    }
    return o;
}

/* role filters, label llm-d.ai/role */
static bool role_in(const es_endpoint_t *e, const char *const *set, bool unlabeled)
{
    const char *r = es_endpoint_label(e, "llm-d.ai/role");
    if (!r) return unlabeled;
    for (; *set; set++) if (strcmp(*set, r) == 0) return true;
    return false;
}

static const char *const k_decode_roles[] = {"decode", "prefill-decode", "both", "encode-prefill-decode", NULL};
static const char *const k_prefill_roles[] = {"prefill", "encode-prefill", "prefill-decode", "both",
                                              "encode-prefill-decode", NULL};
static const char *const k_encode_roles[] = {"encode", "encode-prefill", "encode-prefill-decode", NULL};

#define ROLE_FILTER(fn, set, unl)                                                     \
    static size_t fn(void *st, esi_cycle_t *cy, uint32_t *idx, size_t m)             \
    {                                                                                 \
        (void)st;                                                                     \
        size_t o = 0;                                                                 \
        for (size_t i = 0; i < m; i++) if (role_in(&cy->eps[idx[i]], set, unl)) idx[o++] = idx[i]; \
        return o;                                                                     \
    }
ROLE_FILTER(decode_filter, k_decode_roles, true)
ROLE_FILTER(prefill_filter, k_prefill_roles, false)
ROLE_FILTER(encode_filter, k_encode_roles, false)

static const esi_plugin_vt_t k_plugins[] = {
    {VT("prefix-cache-affinity-filter", ESI_FILTER, k_affinity_params, sizeof(affinity_params_t),
        sizeof(affinity_params_t)), .consumes = ESI_DATA_PREFIX_MATCH, .x_consumes = affinity_consumes,
     .x_check = affinity_check, .x_producer_ref = affinity_producer_ref, .x_filter = affinity_filter},
    {VT("label-selector-filter", ESI_FILTER, k_selector_params, sizeof(selector_params_t),
        sizeof(selector_params_t)), .x_check = selector_check, .x_filter = selector_filter,
     .x_write_node = selector_write},
    {VT("by-label-selector", ESI_FILTER, k_selector_params, sizeof(selector_params_t), sizeof(selector_params_t)),
     .replaced_by = "label-selector-filter", .x_check = selector_check, .x_filter = selector_filter,
     .x_write_node = selector_write},
    {VT("by-label", ESI_FILTER, k_by_label_params, sizeof(by_label_params_t), sizeof(by_label_params_t)),
     .replaced_by = "label-selector-filter (or decode-filter/prefill-filter/encode-filter for roles)",
     .x_check = by_label_check, .x_filter = by_label_filter, .x_write_node = by_label_write},
    {VT("topology-affinity-filter", ESI_FILTER, k_topo_filter_params, sizeof(topo_params_t), sizeof(topo_params_t)),
     .alpha = true, .x_check = topo_filter_check, .x_link = topo_link, .x_filter = topo_filter},
    {VT("topology-affinity-scorer", ESI_SCORER, k_topo_scorer_params, sizeof(topo_params_t), sizeof(topo_params_t)),
     .alpha = true, .x_link = topo_link, .x_score = topo_score},
    {VT("topology-extractor", ESI_EXTRACTOR, k_topo_extractor_params, sizeof(topo_keys_t), 0),
     .produces = ESI_DATA_TOPOLOGY, .klass = ESI_CLASS_FED, .alpha = true,
     .note = "reads the pods' hostname/rack/zone/region labels (experiment key cluster.pod_labels, or the manifests' template labels), the host falling back to spec.hostname (cluster.pod_hostnames)"},
    {VT("endpoint-attribute-filter", ESI_FILTER, k_attr_filter_params, sizeof(attr_filter_params_t),
        sizeof(attr_filter_params_t)), .alpha = true, .x_check = attr_filter_check, .x_link = attr_filter_link,
     .x_filter = attr_filter, .x_write_node = attr_filter_write},
    {VT("header-based-testing-filter", ESI_FILTER, NULL, 0, 0), .x_filter = hbt_filter},
    {VT("decode-filter", ESI_FILTER, NULL, 0, 0), .x_filter = decode_filter},
    {VT("prefill-filter", ESI_FILTER, NULL, 0, 0), .x_filter = prefill_filter},
    {VT("encode-filter", ESI_FILTER, NULL, 0, 0), .x_filter = encode_filter},
};

ESI_PLUGIN_FAMILY(esi_filter_plugins, k_plugins);
