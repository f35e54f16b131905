/*
 * workload_config.h -- the experiment's `workload` section: where requests
 * come from (a trace or a generator), when they arrive, and what they hold.
 * Every key and default is in the schema table in workload_config.c.
 */
#ifndef ES_WORKLOAD_CONFIG_H
#define ES_WORKLOAD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "es_doc.h"
#include "es_schema.h"

enum { ES_WL_SHARED_PREFIX = 0, ES_WL_TRACE = 1, ES_WL_SYNTHETIC = 2, ES_WL_SESSIONS = 3 };
enum { ES_ARRIVAL_POISSON = 0, ES_ARRIVAL_GAMMA = 1, ES_ARRIVAL_CONSTANT = 2, ES_ARRIVAL_CLOSED = 3 };

typedef struct es_arrival_config {
    int     process;              /* ES_ARRIVAL_* */
    double  rate;                 /* requests per second */
    double  cv;                   /* coefficient of variation for gamma */
    int64_t concurrency;          /* closed loop: clients */
    const es_node_t *stages;      /* list of {rate, duration_s}; borrowed */
} es_arrival_config_t;

typedef struct es_shared_prefix_config {
    int64_t num_groups;
    int64_t num_prompts_per_group;
    int64_t system_prompt_len;
    int64_t question_len;
    double  question_len_std;
    int64_t output_len;
    double  output_len_std;
} es_shared_prefix_config_t;

typedef struct es_trace_config {
    char   *file;                 /* trace path */
    char   *format;               /* mooncake|azure|burstgpt|sharegpt|eppsim|auto */
    int64_t block_tokens;         /* tokens per hash id (mooncake) */
    double  time_scale;           /* multiply timestamps (0.5 = twice the rate) */
    double  target_rate;          /* rescale to this mean rate; 0 = keep */
    double  start_s;              /* window start */
    bool    skip_bad_lines;
} es_trace_config_t;

typedef struct es_workload_config {
    int      type;            /* ES_WL_* */
    int64_t  num_requests;    /* stop after this many requests; 0 = no limit */
    double   duration_s;      /* stop arrivals after this time; 0 = no limit */
    char    *model;           /* model name requests carry */
    char    *path;            /* HTTP path requests go to */
    es_arrival_config_t       arrival;
    es_shared_prefix_config_t shared_prefix;
    es_trace_config_t         trace;
    double   sheddable_fraction;  /* share of requests with priority -1 */
} es_workload_config_t;

extern const es_schema_t es_workload_schema;

#endif /* ES_WORKLOAD_CONFIG_H */
