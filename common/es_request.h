/*
 * es_request.h -- the request as the endpoint picker sees it.
 *
 * A value object built by the gateway model (or by `eppsim explain` from a
 * state file) and passed to the scheduler library for one decision.  All
 * pointers are borrowed for the duration of the call.
 */
#ifndef ES_REQUEST_H
#define ES_REQUEST_H

#include <stdint.h>

#include "es_content.h"

typedef struct es_header {
    const char *name;    /* lower-case HTTP header name */
    const char *value;
} es_header_t;

/* One multimodal item of the prompt (an image): the token producer's
 * MultiModalFeature (v0.10.0 framework/interface/requesthandling:
 * Hash, Length); its placeholder tokens are part of content. */
typedef struct es_mm_item {
    uint64_t hash;       /* content identity: equal images, equal hashes */
    uint32_t tokens;     /* placeholder (image) tokens in the prompt */
} es_mm_item_t;

typedef struct es_sched_request {
    uint64_t            id;            /* unique within a run */
    const char         *model;         /* "model" from the body; NULL when no body */
    const char         *objective;     /* InferenceObjective name, NULL if none */
    int32_t             priority;      /* from the objective; default 0; < 0 is sheddable */
    es_content_t        content;       /* the prompt */
    uint32_t            body_bytes;    /* request body size; 0 if unknown */
    uint32_t            max_tokens;    /* requested output limit; 0 if unset */
    const char         *session;       /* the workload's session id (a simulated client sends it as
                                          x-session-id); NULL if none.  Tokens travel as headers */
    const es_header_t  *headers;
    uint32_t            nheaders;
    const char         *prompt_text;   /* plain-text prompt when known (explain); else NULL */
    const es_mm_item_t *mm;            /* multimodal items (images), prompt order; NULL if none */
    uint32_t            nmm;
} es_sched_request_t;

#endif /* ES_REQUEST_H */
