/*
 * manifest_internal.h -- what the parts of the manifest reader share
 * (manifests/ only; esi_mf_ = manifest-internal):
 *   manifest.c          objects, messages, building the experiment document, the driver
 *   manifest_servers.c  Deployments, container command lines, vLLM model servers
 *   manifest_epp.c      the InferencePool, the EPP Service/Deployment/flags/ConfigMap
 *   manifest_routes.c   HTTPRoutes, InferenceObjectives, Gateways
 */
#ifndef ESI_MANIFEST_INTERNAL_H
#define ESI_MANIFEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_err.h"
#include "es_manifest.h"

/* ---- objects ---- */

typedef enum kind {
    K_OTHER = 0, K_DEPLOYMENT, K_SERVICE, K_CONFIGMAP, K_POOL, K_ROUTE, K_OBJECTIVE, K_GATEWAY
} kind_t;

typedef struct obj {
    const es_node_t *root;
    kind_t      kind;
    const char *kind_name;
    const char *api;
    const char *name;
    const char *ns;          /* "default" when metadata.namespace is absent */
    char        label[192];  /* "Kind/name", the prefix of every message */
} obj_t;

typedef struct ctx {
    es_manifest_t *m;
    es_doc_t      *exp;
    es_err_t      *err;
    obj_t         *objs;
    size_t         nobjs;
    char           overrides[1024];  /* "key (file:line), ..." for the precedence warning */
    size_t         noverrides;
} ctx_t;

typedef struct tok {
    char            *s;
    const es_node_t *n;          /* where it was written */
    char             field[64];  /* "spec.template.spec.containers[i].args" */
} tok_t;

typedef struct toks {
    tok_t *v;
    size_t n, cap;
} toks_t;

/* One parsed flag: "--name=value", "--name value" or a bare "--name". */
typedef struct flag {
    char             name[96];   /* without dashes, '_' turned into '-' */
    const char      *value;      /* NULL for a bare flag */
    const es_node_t *node;
    const char      *field;      /* the container's command or args */
} flag_t;

typedef struct pool {
    const obj_t     *o;
    const es_node_t *selector;       /* label map */
    const char      *epp_service;
    const es_node_t *epp_ref_node;
    int64_t          epp_port;       /* 0 = not given */
    const es_node_t *failure_mode;   /* NULL = default FailClose */
} pool_t;

/* ---- manifest.c: messages, the experiment document, lookups ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
int esi_mf_oerr(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field, const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void esi_mf_warn(ctx_t *c, const char *fmt, ...);
/* Field path "a.b" joined with "c" (or "[i]"). */
const char *esi_mf_join(char *buf, size_t size, const char *base, const char *key);
/* Strict key check: "file:line: Kind/name: field.key: unknown field (known: ...)". */
int esi_mf_check_keys(ctx_t *c, const obj_t *o, const es_node_t *map, const char *field, const char *const *allowed);
int esi_mf_expect_map(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field);
int esi_mf_expect_seq(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field);
/* Reads a scalar as text; NULL with an error when it is not a scalar. */
const char *esi_mf_text_of(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field);
int esi_mf_read_i64(ctx_t *c, const obj_t *o, const es_node_t *n, const char *field, int64_t min, int64_t max, int64_t *out);
/* Scalar in the manifest's document at src's position, so that later
 * validation errors point at the manifest line. */
es_node_t *esi_mf_scalar_at(const es_node_t *src, const char *text, bool quoted);
/* es_map_set / es_seq_append that own value on every path (NULL = out of memory). */
int esi_mf_put(es_node_t *map, const char *key, es_node_t *value);
int esi_mf_append(es_node_t *seq, es_node_t *item);
/* Sets key in the experiment; takes ownership of value (NULL = out of memory). */
int esi_mf_set_key(ctx_t *c, const char *key, es_node_t *value);
/* Removes key (a dotted path) from the experiment, noting the override. */
void esi_mf_remove_key(ctx_t *c, const char *key);
es_manifest_t *esi_mf_keep_doc(ctx_t *c, es_doc_t *doc);
const obj_t *esi_mf_find_obj(const ctx_t *c, kind_t kind, const char *ns, const char *name);
/* Every key of selector (a label map) is in labels with the same value. */
bool esi_mf_labels_match(const es_node_t *selector, const es_node_t *labels);
void esi_mf_format_labels(char *buf, size_t size, const es_node_t *sel);

/* ---- manifest_servers.c: Deployments, command lines, model servers ---- */

int esi_mf_check_deployment(ctx_t *c, const obj_t *o);
const es_node_t *esi_mf_pod_labels(const obj_t *o);
int esi_mf_deployment_replicas(ctx_t *c, const obj_t *o, int64_t *out);
void esi_mf_toks_free(toks_t *t);
/* command ++ args of container number `index`; `sh -c "script"` is split into words. */
int esi_mf_container_tokens(const es_node_t *ct, size_t index, toks_t *t);
/* Parses the flag at t->v[*i]; consumes its value when `takes_value` says so
 * (1 yes, 0 no, -1 guess: the next word when it is not a flag). */
void esi_mf_parse_flag(const toks_t *t, size_t *i, flag_t *f, int (*takes_value)(const char *name));
int esi_mf_read_servers(ctx_t *c, const pool_t *p);

/* ---- manifest_epp.c: the InferencePool and the EPP ---- */

int esi_mf_read_pool(ctx_t *c, const obj_t *o, pool_t *p);
int esi_mf_check_service(ctx_t *c, const obj_t *o);
int esi_mf_read_epp(ctx_t *c, const pool_t *p);

/* ---- manifest_routes.c: HTTPRoutes, InferenceObjectives, Gateways ---- */

int esi_mf_read_routes(ctx_t *c, const pool_t *p, es_node_t **routes_out);
/* A workload without a path sends completions to the first route that takes
 * requests without headers; one with a path is checked against the routes. */
int esi_mf_choose_workload_path(ctx_t *c, const es_node_t *routes);
int esi_mf_read_objectives(ctx_t *c, const pool_t *p);
int esi_mf_check_gateway(ctx_t *c, const obj_t *o);

/* Keys allowed under metadata (objects and pod templates). */
extern const char *const esi_mf_meta_keys[];

#endif /* ESI_MANIFEST_INTERNAL_H */
