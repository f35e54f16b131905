/*
 * plugins_internal.h -- what the plugin family files share (esi_ names).
 *
 * One file per family: plugins_scorers.c, plugins_prefix.c (index owners:
 * precise scorer, approximate and precise producers), plugins_filters.c,
 * plugins_admission.c (saturation, admitters, flow-control policies) and
 * plugins_pickers.c (pickers, baselines, profile handlers, deciders).  A
 * family keeps its functions, parameter tables and state types static and
 * exports one esi_plugin_family_t: its table of vtables.  plugins.c is the
 * registry: the families in lookup order plus the types that have no
 * functions (fed by the simulation, meaningless, missing).  Adding a plugin
 * is one entry in its family's table plus its functions; a new family is one
 * more line in plugins.c and here.
 */
#ifndef ESI_PLUGINS_INTERNAL_H
#define ESI_PLUGINS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "es_alloc.h"
#include "internal.h"

/* parameter table rows: field offset, end marker */
#define P(type, field) offsetof(type, field)
#define END {NULL, ESI_P_END, 0, NULL, 0, 0, NULL}

/* the common head of a table entry: type name, roles, parameters, sizes */
#define VT(name_, roles_, params_, psize_, ssize_) .type_name = name_, .roles = roles_, \
    .params = params_, .params_size = psize_, .state_size = ssize_

typedef struct esi_plugin_family {
    const esi_plugin_vt_t *vts;
    size_t                 n;
} esi_plugin_family_t;

/* Defines a family named var over the file's static table. */
#define ESI_PLUGIN_FAMILY(var, table) \
    const esi_plugin_family_t var = {table, sizeof table / sizeof table[0]}

extern const esi_plugin_family_t esi_scorer_plugins, esi_prefix_plugins, esi_filter_plugins,
    esi_admission_plugins, esi_picker_plugins, esi_latency_plugins;
extern const esi_plugin_family_t esi_burst_plugins;   /* plugins_burst.c */
extern const esi_plugin_family_t esi_placement_plugins;   /* plugins_placement.c */

/* context-length-aware's calculateRangeScore (plugins_placement.c), for the tests */
double esi_context_range_score(int64_t len, int64_t lo, int64_t hi);
/* its parseContextRange: "min-max", min <= max; false when malformed */
bool esi_context_range_parse(const char *s, int64_t *lo, int64_t *hi);
/* slo-deadline-ordering-policy's deadline of a request received at `received` (plugins_admission.c) */
es_time_t esi_slo_deadline_key(const es_sched_request_t *req, es_time_t received);
extern const esi_plugin_family_t esi_multimodal_plugins;   /* plugins_multimodal.c */

/* predicted-latency-producer's validatePrediction and TPOT neutralisation
 * (v0.10.0 dataproducer/predictedlatency/prediction.go), for the tests */
void esi_latency_validate(bool streaming, double slo_buffer, double ttft_slo, double tpot_slo, double pod_min_tpot_slo,
                          bool prefill, double ttft, double tpot, esi_latency_info_t *o);

static inline double esi_metric_kv(const es_endpoint_t *e) { return e->metrics.kv_cache_usage; }

/* Whether an adapter list of an endpoint's metrics names the model (LoRA). */
static inline bool esi_lora_listed(const char *const *list, uint32_t n, const char *name)
{
    if (!name) return false;
    for (uint32_t i = 0; i < n && i < ES_LORA_LIST_MAX; i++)
        if (list[i] && strcmp(list[i], name) == 0) return true;
    return false;
}

/* Endpoint attributes a plugin can read by key (endpoint-attribute-filter and
 * -scorer): the only one eppsim produces is the dcgm-extractor's GPU
 * utilisation, under upstream's fixed key (attribute/gpu/data_types.go). */
#define ESI_ATTR_GPU_UTIL_KEY "GPUUtilization/dcgm-extractor"
enum { ESI_ATTR_NONE = 0, ESI_ATTR_GPU_UTIL = 1 };
/* Which attribute key names, given the config (none: no producer of it). */
static inline int esi_attr_resolve(const char *key, const es_epp_config_t *c)
{
    if (strcmp(key, ESI_ATTR_GPU_UTIL_KEY) != 0) return ESI_ATTR_NONE;
    for (size_t i = 0; i < c->nplugins; i++)
        if (c->plugins[i].vt->produces & ESI_DATA_GPU_UTIL) return ESI_ATTR_GPU_UTIL;
    return ESI_ATTR_NONE;
}
/* The endpoint's value of a resolved attribute; false when it lacks it. */
static inline bool esi_attr_read(int attr, const es_endpoint_t *e, double *v)
{
    if (attr != ESI_ATTR_GPU_UTIL || !e->metrics.has_gpu_util) return false;
    *v = e->metrics.gpu_util;
    return true;
}

#endif /* ESI_PLUGINS_INTERNAL_H */
