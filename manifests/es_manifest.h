/*
 * es_manifest.h -- reading the Kubernetes manifests users deploy
 * (`eppsim run --manifest FILE.yaml ...`) into an experiment document.
 *
 * Manifests are multi-document YAML files.  The kinds read are the ones that
 * shape the request path: the InferencePool (selector, targetPorts, the EPP
 * reference and failureMode; apiVersions inference.networking.k8s.io/v1 and
 * inference.networking.x-k8s.io/v1alpha2), the model-server Deployments its
 * selector matches (replicas, llm-d.ai/role labels, readinessProbe delay,
 * vLLM flags), the EPP Service it names and the EPP Deployment behind that
 * Service (--pool-name, --config-file / --config-text, the ConfigMap that
 * holds the EndpointPickerConfig, --refresh-metrics-interval), HTTPRoutes
 * whose backendRefs name the pool, InferenceObjectives of the pool, and
 * Gateways (checked, nothing mapped).  Every other kind is named in one
 * warning and ignored.  docs/manifests.md lists each field and its key.
 *
 * Precedence: the manifests define the pool, the EPP and the routes; the
 * experiment adds what they do not say (GPU, workload, durations).  Where
 * both set a key, the manifest's value replaces the experiment's and one
 * warning lists the overridden keys with their old positions.
 *
 * Strictness: an unknown field in the parts of a used kind that eppsim reads
 * (and their parents) is an error; standard Kubernetes fields eppsim does not
 * use are accepted.  Errors read "file:line: Kind/name: field: message".
 *
 * Ownership: nodes written into the experiment document keep pointing at the
 * manifest documents (so later validation errors name the manifest line);
 * the es_manifest_t owns those documents and must outlive the experiment
 * built from the document (call es_manifest_fini after es_experiment_fini).
 */
#ifndef ES_MANIFEST_H
#define ES_MANIFEST_H

#include <stddef.h>

#include "es_doc.h"
#include "es_err.h"

/* The longest InferencePool name: its pods are <pool>-<index> (up to 5
 * digits) and must fit one 63-character Kubernetes label, so that no two
 * pods share a name. */
#define ES_POOL_NAME_MAX 57

typedef struct es_manifest {
    /* read-only after es_manifest_apply */
    char      **warnings;      /* human-readable warnings, in the order found */
    size_t      nwarnings;
    char       *pool_name;     /* the InferencePool simulated */
    /* private */
    es_doc_t  **docs;          /* every manifest document and parsed EPP config */
    size_t      ndocs;
} es_manifest_t;

void es_manifest_init(es_manifest_t *m);
void es_manifest_fini(es_manifest_t *m);

/* Loads the manifest files paths[0..npaths) and applies them onto exp_doc
 * (whose root may be NULL: no experiment file) before the experiment is
 * validated.  Warnings accumulate in m.  Returns 0 or a negative ES_E* code
 * with err naming file, line, object and field (the CLI exits with 2). */
int es_manifest_apply(es_manifest_t *m, const char *const *paths, size_t npaths,
                      es_doc_t *exp_doc, es_err_t *err);

/* Same, from documents already loaded (tests, stdin); takes ownership of
 * docs[0..ndocs) (not of the array) even on failure. */
int es_manifest_apply_docs(es_manifest_t *m, es_doc_t **docs, size_t ndocs,
                           es_doc_t *exp_doc, es_err_t *err);

#endif /* ES_MANIFEST_H */
