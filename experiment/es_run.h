/*
 * es_run.h -- one simulation run: an experiment in, an output directory out.
 *
 * Wires the workload, the cluster (gateway, EPP replicas, pods) and the
 * metrics on one es_sim_t, runs it, and writes the results atomically
 * (docs/results.md).  Reentrant: sweeps call it from several threads at once.
 */
#ifndef ES_RUN_H
#define ES_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "es_err.h"
#include "es_experiment.h"
#include "es_time.h"

struct es_metrics;
struct es_client_emul;

typedef struct es_run_options {
    const char *out_dir;                  /* final output directory */
    bool        force;                    /* replace an existing out_dir */
    bool        progress;                 /* progress line on stderr */
    bool        plots;                    /* run gnuplot (also needs results.plots) */
    bool        record_decisions;         /* write decisions/ for `explain --from-run` */
    volatile sig_atomic_t *interrupted;   /* set asynchronously: stop, write nothing */
    const char *pool_name;                /* InferencePool name (pods are <pool>-<i>); NULL: default */
    /* NULL out_dir: write nothing (validate replays); on_finish, when set, sees the
     * run's metrics and stages just before they are freed (every request recorded) */
    void      (*on_finish)(void *ud, const struct es_metrics *m, const es_time_t (*stages)[2], size_t nstages,
                           const struct es_client_emul *client);   /* client: NULL when not emulated */
    void       *finish_ud;
    bool        inference_perf;           /* also write inference-perf/ (docs/validate.md) */
} es_run_options_t;

typedef struct es_run_report {
    uint64_t requests;           /* every request that arrived */
    uint64_t completed;          /* 200s */
    double   sim_s;              /* simulated seconds */
    double   wall_s;             /* wall-clock seconds */
    uint64_t events;
    double   ttft_p50_ms, ttft_p99_ms, e2e_p50_ms, e2e_p99_ms, tpot_p50_ms, itl_p50_ms;
    double   est_hit, act_hit, oracle_hit;
    double   throughput_rps, output_tps;
    char     step_model[640];    /* "analytic (config.json on h100-sxm-80gb; coefficients ...)" */
} es_run_report_t;

/* `--strict-stability`: the experiment's EndpointPickerConfig refused as the
 * EPP refuses Alpha plugins without --allow-experimental-plugins
 * (es_epp_config_check_stability); 0 when it has none. */
int es_run_check_stability(const es_experiment_t *exp, es_err_t *err);

/* Runs exp; returns 0, ES_EINTR when interrupted (nothing written), or an
 * error code with err filled. */
int es_run_experiment(const es_experiment_t *exp, const es_run_options_t *opt, es_run_report_t *rep,
                      es_err_t *err);

/* `eppsim run --write-inference-perf-results`: <dir>/inference-perf/ holds
 * results/{summary,stage_N}_lifecycle_metrics.json, results/config.yaml (the
 * workload as an inference-perf config, when it can be said so) and
 * exp-config.yaml (the server settings): what `eppsim validate` reads. */
struct es_summary_stage;
int es_run_write_inference_perf(const es_experiment_t *exp, const struct es_metrics *m,
                                const struct es_summary_stage *stages, size_t nstages,
                                const struct es_client_emul *client, const char *dir, es_err_t *err);
/* The experiment as run, every default filled in: the text of a run's
 * experiment.yaml (malloc'd; NULL when out of memory).  A sweep compares it
 * with a finished point's file to know whether the point is still current. */
char *es_run_experiment_yaml(const es_experiment_t *exp, size_t *len);

/* Draws DIR's plots with scripts/plot-run (needs gnuplot; a failure is a
 * warning); ES_EINTR when *interrupted is set meanwhile (may be NULL). */
int es_run_plots(const char *dir, bool quiet, volatile sig_atomic_t *interrupted, es_err_t *err);

/* Default output directory: out/<name>-seed<seed>. */
void es_run_default_dir(const es_experiment_t *exp, char *buf, size_t size);

#endif /* ES_RUN_H */
