/*
 * es_cli.h -- the `eppsim` command line: subcommands and exit codes.
 *
 * Exit codes (docs/cli.md): 0 success; 1 a check failed (a regression, a
 * failed sweep point); 2 usage or input error; 130 interrupted.
 * Each subcommand is a function in its own cmd_*.c file, listed in main.c.
 */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <stdbool.h>
#include <stddef.h>

#define ES_EXIT_OK          0
#define ES_EXIT_CHECK       1
#define ES_EXIT_USAGE       2
#define ES_EXIT_INTERRUPTED 130

/* A subcommand: argv[0] is the subcommand's name. */
typedef int (*es_cmd_fn)(int argc, char **argv);

int es_cmd_run(int argc, char **argv);
int es_cmd_sweep(int argc, char **argv);
int es_cmd_compare(int argc, char **argv);
int es_cmd_explain(int argc, char **argv);
int es_cmd_trace(int argc, char **argv);
int es_cmd_bench(int argc, char **argv);
int es_cmd_config(int argc, char **argv);
int es_cmd_validate(int argc, char **argv);
/* Whether writing out would replace input or an existing file inside input (a directory). */
bool es_cli_writes_input(const char *out, const char *input);
int es_cmd_calibrate(int argc, char **argv);
int es_cmd_serve(int argc, char **argv);
int es_cmd_gateway(int argc, char **argv);
int es_cmd_load(int argc, char **argv);
/* workload.inference_perf = {file: <absolute path of file>, version} in doc
 * (`run --inference-perf`, `load --inference-perf`); version NULL = current. */
struct es_doc;
struct es_err;
int es_cli_set_inference_perf(struct es_doc *doc, const char *file, const char *version, struct es_err *err);

/* Benchmarks, one per module; each prints figures (or JSON with --json). */
int es_bench_core(int argc, char **argv);
int es_bench_server(int argc, char **argv);
int es_bench_scheduler(int argc, char **argv);
int es_bench_trace(int argc, char **argv);
int es_bench_e2e(int argc, char **argv);
int es_bench_steptime(int argc, char **argv);
/* bench steptime --model-config F | --fit (app/bench_analytic.c) */
int es_bench_steptime_any(int argc, char **argv);
/* The shipped profiles' whole-model points as data of a step-time fit
 * (app/bench_analytic.c): sum of |ln(analytic / measured)| at k, count in *n. */
struct es_step_coeffs;
typedef struct es_profile_points es_profile_points_t;
int    es_profile_points_open(es_profile_points_t **out);
double es_profile_points_loss(es_profile_points_t *p, const struct es_step_coeffs *k, int *n);
void   es_profile_points_close(es_profile_points_t *p);

/* True when `arg` is -h or --help. */
int es_cli_is_help(const char *arg);
/* Prints an experiment error: one that a `--set KEY=VALUE` of `sets` caused
 * as "eppsim: --set KEY=VALUE: KEY: message" (the place where the base
 * holds the key is not where the value came from), others as they are. */
void es_cli_print_set_error(const char *msg, const char *const *sets, size_t nsets);

#endif /* ES_CLI_H */
