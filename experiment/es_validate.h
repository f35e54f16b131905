/*
 * validate.h -- replaying real vLLM runs and measuring eppsim against them
 * (`eppsim validate`, docs/validate.md).
 *
 * A source is one of:
 *  - an inference-perf result directory: results/config.yaml (what ran),
 *    results/summary_lifecycle_metrics.json and stage_N_lifecycle_metrics.json
 *    (measured), and the serve settings beside it (exp-config.yaml style, or
 *    vllm-args.txt: a `vllm serve` argument list);
 *  - a `vllm bench serve` result JSON, its serve flags from the options;
 *  - a validation case file (YAML): a `set` header (settings every case
 *    shares, given once) and `cases` with setup and measured aggregates.
 *
 * Each run becomes an in-memory experiment (one pod, the client talking to it
 * directly), is simulated without writing anything, and its figures are
 * computed the same way on both sides (results/infperf.h).  Figures are
 * milliseconds, requests/s, tokens/s and counts; NaN = not measured.
 */
#ifndef ES_VALIDATE_H
#define ES_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_err.h"
#include "es_experiment.h"
#include "es_lifecycle.h"

enum { ES_VF_E2E_MEAN, ES_VF_E2E_P50, ES_VF_E2E_P90, ES_VF_E2E_P99,
       ES_VF_TTFT_MEAN, ES_VF_TTFT_P50, ES_VF_TTFT_P90, ES_VF_TTFT_P99,
       ES_VF_PER_TOKEN, ES_VF_ITL_MEAN, ES_VF_ITL_P50, ES_VF_ITL_P99,
       ES_VF_TPOT_MEAN, ES_VF_TPOT_P50, ES_VF_TPOT_P99,
       ES_VF_RPS, ES_VF_OUTPUT_TPS, ES_VF_SUCCESSES, ES_VF_FAILURES, ES_VF_N };
/* "e2e_mean_ms", ...: the keys of case files and of every output format */
extern const char *const es_vf_names[ES_VF_N];

typedef struct es_val_figs {
    double v[ES_VF_N];
} es_val_figs_t;

#define ES_VAL_MAX_STAGES 16

typedef struct es_val_options {
    const char *model_configs;     /* folder of Hugging Face config.json files */
    const char *gpu;               /* GPU of runs that do not name one */
    const char *vllm_version;      /* vLLM of runs that do not name one */
    const char *vllm_args;         /* flags every run of the command line shares (a set's settings) */
    int         stamps_per_token;  /* client timestamps per token; 0: the source's (1, or its set's) */
    const char *ip_version;        /* inference-perf build of runs that do not name one: current | 2025-10 */
    uint64_t    seed;
    const char *const *sets;       /* `--set KEY.PATH=VALUE`s applied to every replay, in order */
    size_t      nsets;
} es_val_options_t;

typedef struct es_val_run {
    char          name[160];
    char          source[1024];     /* file or folder it came from */
    char          kind[24];         /* "inference-perf", "vllm-bench", "case" */
    char         *experiment;       /* YAML text of the replay */
    char          base_dir[1024];
    size_t        nstages;          /* measured[nstages] is the whole run */
    es_val_figs_t measured[ES_VAL_MAX_STAGES + 1];
    es_val_figs_t simulated[ES_VAL_MAX_STAGES + 1];
    double        stage_rate[ES_VAL_MAX_STAGES];
    int           stamps_per_token; /* client timestamps per token (and after the last one) */
    int           trailing_stamps;
    bool          approximate;      /* setup only partly known (lengths matched to totals...) */
    char          notes[1024];      /* approximations of this run, one per line */
    char          step_model[320];  /* which step model the replay used */
    char          warnings[2048];   /* server flags recorded but not modelled */
    int           rc;               /* 0 simulated; else not simulated, see error */
    char          error[ES_ERR_MSG_MAX];
} es_val_run_t;

typedef struct es_val_set {
    char    header[2048];   /* the settings sources share, printed above the table */
} es_val_set_t;

void es_val_figs_clear(es_val_figs_t *f);
/* Figures (ms) from inference-perf statistics (s); per-token time =
 * (mean latency - mean TTFT) / (mean output_len - 1). */
void es_val_figs_from_lc(const es_lc_stats_t *s, es_val_figs_t *f);

/* Loads one source into *runs (appended; *n grows).  A case file's set
 * header is appended to set->header.  Bad input: err names file, line, key. */
int es_val_load(const char *path, const es_val_options_t *opt, es_val_run_t **runs, size_t *n, es_val_set_t *set,
                es_err_t *err);

/* A replay's experiment document with opt->sets applied over the run's own
 * settings, so a --set wins.  `holder` (named "--set", so messages say
 * `--set:1: key: ...`) owns the set values and `epp_src` an EPP config a short
 * form needed; both outlive the experiment, whose nodes point into them. */
typedef struct es_val_doc {
    es_doc_t *doc, *holder, *epp_src;
} es_val_doc_t;
/* On a bad assignment, *culprit is the index of the --set at fault. */
int  es_val_run_doc(const es_val_run_t *r, const es_val_options_t *opt, es_val_doc_t *d, size_t *culprit,
                    es_err_t *err);
void es_val_doc_fini(es_val_doc_t *d);
/* Checks opt->sets against every run before any replay: 0, or the first
 * error that a --set causes (a run whose experiment fails without them too is
 * left to its replay, which reports it as not simulated); *culprit is the
 * index of the --set at fault, or opt->nsets when the experiment as a whole
 * refused the values. */
int  es_val_check_sets(const es_val_run_t *runs, size_t n, const es_val_options_t *opt, size_t *culprit,
                       es_err_t *err);

/* Builds and simulates one run (nothing written); fills r->simulated or r->rc
 * and r->error.  Safe to call from several threads at once. */
void es_val_replay(es_val_run_t *r, const es_val_options_t *opt);

/* Absolute percentage error |sim - meas| / |meas| x 100; NaN when either is
 * missing or meas is 0. */
double es_val_ape(double measured, double simulated);

/* Importers: a CSV of published aggregates -> a case file (YAML text, caller frees). */
int es_val_import_blis(const char *csv_path, char **yaml, es_err_t *err);
int es_val_import_gpustack(const char *csv_path, char **yaml, es_err_t *err);

#endif /* ES_VALIDATE_H */
