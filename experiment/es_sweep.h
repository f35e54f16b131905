/*
 * es_sweep.h -- parameter sweeps: many runs of one base experiment.
 *
 * A sweep spec (YAML or JSON, docs/sweeps.md) names a base experiment, a
 * `grid` (key path -> values; the cross product) or a list of `points`, the
 * `seeds` (replications; the same seed gives the same requests, so points
 * are compared under common random numbers) and the summary.json `metrics`
 * that go into sweep.csv.  Key paths are the experiment's, dotted; the
 * EndpointPickerConfig is addressable as `epp.config.<path>` (sequence items
 * by index), and by two short forms: `epp.weights.<pluginRef>` (the weight in
 * the single scheduling profile) and `epp.plugins.<name>.<param>` (a plugin
 * parameter).  Both materialise the EPP config into the point document as
 * `epp.config`: the base's inline config, else its `epp.config_file`, else the
 * upstream default (queue 2, kv-cache-utilization 2, prefix 3).
 *
 * Points are numbered 0..npoints-1 in grid order (the last key varies
 * fastest) or list order; point i with seed s runs in
 * OUT/points/<i>-seed<s>/.  A point whose directory holds summary.json and
 * an experiment.yaml equal to the fully defaulted experiment the spec gives
 * it now is done (resume); one whose experiment changed runs again, and the
 * log names the changed keys.  A shard I/N runs the points with i % N == I.
 *
 * Outputs of a sweep directory: points/, sweep.json (keys, metrics, points,
 * seeds: what merge and compare need) and sweep.csv: one row per point and
 * seed, then one aggregated row per point (seed "all") with the mean across
 * seeds and its 95 % Student-t interval.  Rows are sorted by point and seed,
 * so outputs do not depend on -j or on completion order.
 */
#ifndef ES_SWEEP_H
#define ES_SWEEP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "es_doc.h"
#include "es_err.h"

#define ES_SWEEP_MAX_SEEDS 10000

typedef struct es_sweep_spec {
    es_doc_t     *doc;        /* the spec document (values point into it) */
    es_doc_t     *base;       /* the base experiment document */
    char         *base_dir;   /* folder of the base experiment (its relative paths) */
    es_doc_t     *epp_doc;    /* EPP config the short forms start from; NULL when none is used */
    size_t        nkeys;      /* key paths that vary (sweep.csv columns), spec order */
    char        **keys;
    size_t        npoints;
    const es_node_t **values; /* [npoints * nkeys]: value of key k at point i; borrowed from doc */
    size_t        nseeds;
    uint64_t     *seeds;
    size_t        nmetrics;   /* summary.json key paths for sweep.csv */
    char        **metrics;
} es_sweep_spec_t;

/* Loads and checks a spec file (strict; errors are file:line: path: ...).
 * Does not validate the point experiments: see es_sweep_spec_validate.
 * Free with es_sweep_spec_fini. */
int  es_sweep_spec_load(const char *path, es_sweep_spec_t *spec, es_err_t *err);
/* Same from a loaded document; takes ownership of doc; `dir` resolves a base
 * path given in the spec. */
int  es_sweep_spec_from_doc(es_doc_t *doc, const char *dir, es_sweep_spec_t *spec, es_err_t *err);
void es_sweep_spec_fini(es_sweep_spec_t *spec);

/* Builds the experiment document of point i with `seed` (owned by the
 * caller; hand it to es_experiment_from_doc).  Nodes keep the line and file
 * they came from, so a bad value is reported at its line in the spec. */
int  es_sweep_point_doc(const es_sweep_spec_t *spec, size_t point, uint64_t seed, es_doc_t **out,
                        es_err_t *err);
/* Loads every point's experiment (first seed) and fails on the first one that
 * does not validate. */
int  es_sweep_spec_validate(const es_sweep_spec_t *spec, es_err_t *err);
/* Sets one key path in an experiment document, short forms included.
 * `epp_src` is the config to materialise when the document has no inline
 * epp.config (see es_sweep_spec_t.epp_doc).  Takes ownership of value. */
int  es_sweep_apply(es_doc_t *doc, const es_doc_t *epp_src, const char *key, es_node_t *value,
                    es_err_t *err);
/* `--set KEY.PATH=VALUE`: sets one key of an experiment document (short
 * forms included) to VALUE parsed as YAML, before validation, so it is typed
 * and checked like the file.  `holder` is a document named "--set" that owns
 * the value (messages say `--set:1: key: ...`); *epp_src is loaded when a
 * short form needs the EPP config (caller destroys both after validation). */
int  es_sweep_override(es_doc_t *doc, const char *base_dir, es_doc_t *holder, es_doc_t **epp_src,
                       const char *assignment, es_err_t *err);
/* "key=value, key=value" of point i into buf (labels, logs). */
const char *es_sweep_point_label(const es_sweep_spec_t *spec, size_t point, char *buf, size_t size);

/* ---- shards ---- */
typedef struct es_sweep_shard {
    uint32_t index;   /* 0 <= index < count */
    uint32_t count;   /* 1: everything */
} es_sweep_shard_t;

/* The shard from `--shard I/N` (arg, may be NULL), else SLURM_ARRAY_TASK_ID
 * (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, else
 * JOB_COMPLETION_INDEX of `shards` (--shards N; 0 = not given), else 0/1.
 * `getenv_fn` reads the environment (tests pass a fake; NULL = getenv). */
int  es_sweep_shard_resolve(const char *arg, uint32_t shards, const char *(*getenv_fn)(const char *),
                            es_sweep_shard_t *out, es_err_t *err);
static inline bool es_sweep_shard_has(const es_sweep_shard_t *s, size_t point)
{
    return point % s->count == s->index;
}

/* ---- running ---- */
typedef struct es_sweep_options {
    const char *out_dir;                  /* the sweep directory */
    unsigned    jobs;                     /* points run at once (>= 1) */
    es_sweep_shard_t shard;
    bool        tty_progress;             /* progress bar with ETA (else one line per point) */
    FILE       *log;                      /* progress and failures; NULL = silent */
    volatile sig_atomic_t *interrupted;   /* set asynchronously: stop queueing, keep what completed */
} es_sweep_options_t;

typedef struct es_sweep_stats {
    size_t total;         /* point-seed runs in this shard */
    size_t skipped;       /* already done (resume): summary.json and the same experiment.yaml */
    size_t rerun;         /* done before, but the spec now gives another experiment: run again */
    size_t completed;     /* run now */
    size_t failed;
    bool   interrupted;
    double wall_s;
} es_sweep_stats_t;

/* Runs the shard's point-seed pairs on the libuv thread pool (sized to jobs
 * through UV_THREADPOOL_SIZE before its first use), then writes sweep.json
 * and sweep.csv from every point directory present.  A failing point is
 * logged and counted; the others go on.  Returns 0 (check stats for
 * failures and interruption) or an error for the sweep as a whole. */
int  es_sweep_run(const es_sweep_spec_t *spec, const es_sweep_options_t *opt, es_sweep_stats_t *stats,
                  es_err_t *err);
/* Writes sweep.json and sweep.csv of out_dir from its points/ (no runs). */
int  es_sweep_write_results(const es_sweep_spec_t *spec, const char *out_dir, es_err_t *err);
/* Joins the sweep.csv/sweep.json of shard directories into out_dir (which may
 * be one of them).  The shards must come from the same spec. */
int  es_sweep_merge(const char *const *dirs, size_t ndirs, const char *out_dir, es_err_t *err);

/* The aggregated rows of a sweep directory's sweep.csv (what compare reads). */
typedef struct es_sweep_result {
    size_t  nkeys, nmetrics;
    char  **keys, **metrics;
    size_t  n;                 /* aggregated rows, by point */
    size_t *point;             /* [n] point index */
    size_t *nseeds;            /* [n] seeds the row aggregates */
    char  **label;             /* [n] "key=value, ..." from the csv's key columns */
    double *mean, *lo, *hi;    /* [n * nmetrics]; NAN when empty */
} es_sweep_result_t;

int  es_sweep_result_load(const char *dir, es_sweep_result_t *r, es_err_t *err);
/* Prints the aggregated rows of a sweep directory as a table: one line per
 * point (its metrics' means and interval half-widths, then the values that
 * define the point). */
int  es_sweep_print_table(FILE *f, const char *dir, es_err_t *err);
/* v in plain notation, 3-4 significant digits ("1882", "51.4", "0.046"). */
const char *es_sweep_fmt_plain(double v, char *buf, size_t size);
void es_sweep_result_fini(es_sweep_result_t *r);

/* Mean of n replications and its 95 % Student-t interval (NaN below two);
 * the lower end stops at 0 when every value is >= 0. */
void es_sweep_interval(const double *v, size_t n, double *mean, double *lo, double *hi);

/* The metrics used when a spec names none (NULL-terminated). */
extern const char *const es_sweep_default_metrics[];

#endif /* ES_SWEEP_H */
