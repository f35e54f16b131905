/*
 * es_experiment.h -- an experiment: everything one `eppsim run` needs.
 *
 * Schema v1 (docs/configuration.md): top-level keys schema_version, name,
 * seed, duration_s, and the sections server, cluster, epp, gateway,
 * workload, results.  Keys are snake_case; EndpointPickerConfig documents
 * keep their upstream camelCase.  Each section's defaults live in its schema
 * table (models/, workloads/, results/); this file composes them.
 */
#ifndef ES_EXPERIMENT_H
#define ES_EXPERIMENT_H

#include <stdint.h>

#include "es_e2e_config.h"
#include "es_doc.h"
#include "es_err.h"
#include "es_schema.h"
#include "es_results_config.h"
#include "es_server_config.h"
#include "es_workload_config.h"

#define ES_EXPERIMENT_SCHEMA_VERSION 1

/* Longest experiment name (bytes): out/<name>-seed<seed>.tmp-<pid> stays one
 * path component within NAME_MAX (255). */
#define ES_NAME_MAX 200

typedef struct es_experiment {
    int64_t                 schema_version;
    char                   *name;        /* names the default output directory */
    uint64_t                seed;        /* master seed of every random stream */
    double                  duration_s;  /* simulated time limit; 0 = until every request ended */
    es_server_config_t      server;
    es_cluster_config_t     cluster;
    es_epp_service_config_t epp;
    es_gateway_config_t     gateway;
    es_workload_config_t    workload;
    es_results_config_t     results;
    /* read-only */
    es_doc_t               *doc;         /* source document; NODE entries point into it */
    char                   *base_dir;    /* folder of the experiment file (relative paths) */
    char                   *warnings;    /* one per line (vLLM flags not modelled...); NULL none */
} es_experiment_t;

extern const es_schema_t es_experiment_schema;

/* The built-in default experiment (YAML text). */
extern const char es_default_experiment_yaml[];

/* Loads an experiment file (YAML or JSON), or the built-in default when path
 * is NULL.  Validates strictly.  Free with es_experiment_fini. */
int es_experiment_load(const char *path, es_experiment_t *exp, es_err_t *err);
/* Same, from an already loaded document (takes ownership of doc). */
int es_experiment_from_doc(es_doc_t *doc, const char *base_dir, es_experiment_t *exp, es_err_t *err);

/* The name of the document that holds `eppsim validate --set` values: a
 * server key from it wins over the replayed run's own vLLM flag for that key
 * (a what-if on a real run).  Elsewhere (`run`, `sweep`, `load`, whose
 * experiment.yaml records both) a key and a flag that differ are refused. */
#define ES_WHATIF_DOC "validate --set"
void es_experiment_fini(es_experiment_t *exp);
/* Resolves a path relative to the experiment's folder into buf. */
const char *es_experiment_path(const es_experiment_t *exp, const char *rel, char *buf, size_t size);

#endif /* ES_EXPERIMENT_H */
