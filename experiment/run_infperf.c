/*
 * run_lifecycle.c -- `eppsim run --write-inference-perf-results`: the run as an
 * inference-perf result directory (docs/validate.md), which `eppsim validate`
 * reads back.
 */
#define _GNU_SOURCE   /* open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_client_metrics.h"
#include "es_lifecycle.h"
#include "es_metrics.h"
#include "es_outdir.h"
#include "es_run.h"
#include "es_summary.h"
#include "es_util.h"

/* ---- eppsim run --write-inference-perf-results ---- */

static int write_text(const char *path, const char *text, es_err_t *err)
{
    return es_write_file_atomic(path, text, strlen(text), err);
}

int es_run_write_inference_perf(const es_experiment_t *exp, const struct es_metrics *m,
                                const struct es_summary_stage *stages, size_t nstages,
                                const struct es_client_emul *client, const char *dir, es_err_t *err)
{
    char base[1200], path[1400];
    snprintf(base, sizeof base, "%s/inference-perf/results", dir);
    if (es_mkdirs(base)) return es_err_set(err, ES_EIO, "%s: cannot create", base);
    const es_req_record_t *recs = es_metrics_records(m);
    size_t n = es_metrics_count(m);
    int rc = 0;
    /* the figures the benchmark client computes from its own timestamps, as
     * inference-perf writes them: every SSE line stamped by the builds that
     * do (es_client_metrics.h); eppsim's real gaps otherwise */
    bool stamped = client && client->streaming;
    int k = stamped ? (int)client->timestamps_per_token : 1, trailing = stamped ? (int)client->trailing : 0;
    for (size_t i = 0; i <= nstages && !rc; i++) {
        es_lc_stats_t s;
        es_lat_stats_t itl;
        es_metrics_itl(m, &itl);
        uint32_t stage = i < nstages ? (uint32_t)i : ES_ALL_STAGES;
        if (es_lc_compute(recs, n, stage, k, trailing, i < nstages ? stages[i].rate : NAN,
                          i < nstages || stamped ? NULL : &itl, &s))
            return es_err_set(err, ES_ENOMEM, "out of memory");
        if (stamped) {   /* the pooled stamp gaps: the client's ITL, percentiles included */
            es_client_stats_t cs;
            if (es_client_stats(m, client, stage, &cs) < 0) return es_err_set(err, ES_ENOMEM, "out of memory");
            es_lc_dist_t *d = &s.lat[ES_LC_ITL];
            d->v[ES_LC_MEAN] = cs.itl.mean / 1e3;
            d->v[ES_LC_MEDIAN] = cs.itl.p[0] / 1e3;
            d->v[ES_LC_P90] = cs.itl.p[1] / 1e3;
            d->v[ES_LC_P95] = cs.itl.p[2] / 1e3;
            d->v[ES_LC_P99] = cs.itl.p[3] / 1e3;
        }
        char *json = es_lc_to_json(&s, i < nstages);
        if (!json) return es_err_set(err, ES_ENOMEM, "out of memory");
        if (i < nstages) snprintf(path, sizeof path, "%s/stage_%zu_lifecycle_metrics.json", base, i);
        else snprintf(path, sizeof path, "%s/summary_lifecycle_metrics.json", base);
        rc = write_text(path, json, err);
        free(json);
    }
    if (rc) return rc;
    /* the server settings */
    const es_server_config_t *sc = &exp->server;
    char *text = NULL;
    size_t len = 0;
    FILE *y = open_memstream(&text, &len);
    if (!y) return es_err_set(err, ES_ENOMEM, "out of memory");
    fprintf(y, "# written by eppsim run --write-inference-perf-results: the pods' settings as engine arguments\n"
               "model: ");
    es_json_write_string(y, sc->model);
    fprintf(y, "\ngpu: ");   /* eppsim's own keys: the GPU, the vLLM whose defaults apply */
    es_json_write_string(y, sc->gpu);
    if (sc->vllm_version && sc->vllm_version[0]) {
        fprintf(y, "\nvllm_version: ");
        es_json_write_string(y, sc->vllm_version);
    }
    fprintf(y, "\ntensor_parallelism: %lld\n", (long long)sc->tensor_parallel);
    if (sc->max_model_len > 0) fprintf(y, "max_model_len: %lld\n", (long long)sc->max_model_len);
    fprintf(y, "max_num_batched_tokens: %lld\nmax_num_seqs: %lld\nblock_size: %lld\ngpu_memory_utilization: %.9g\n"
               "enable_prefix_caching: %s\n", (long long)sc->max_num_batched_tokens, (long long)sc->max_num_seqs,
            (long long)sc->block_size, sc->gpu_memory_utilization, sc->enable_prefix_caching ? "true" : "false");
    if (sc->long_prefill_token_threshold > 0)
        fprintf(y, "long_prefill_token_threshold: %lld\n", (long long)sc->long_prefill_token_threshold);
    if (sc->num_gpu_blocks > 0) fprintf(y, "num_gpu_blocks_override: %lld\n", (long long)sc->num_gpu_blocks);
    if (sc->scheduling_policy == ES_POLICY_PRIORITY) fprintf(y, "scheduling_policy: priority\n");
    fclose(y);
    snprintf(path, sizeof path, "%s/inference-perf/exp-config.yaml", dir);
    rc = text ? write_text(path, text, err) : es_err_set(err, ES_ENOMEM, "out of memory");
    free(text);
    if (rc) return rc;
    /* the workload as an inference-perf config: the one the run replayed, else
     * eppsim's own workload when inference-perf can say it */
    const es_workload_config_t *w = &exp->workload;
    const es_node_t *ip = w->inference_perf;
    if (ip && !es_node_is_null(ip)) {
        const es_node_t *file = ip->kind == ES_NODE_SCALAR ? ip : ip->kind == ES_NODE_MAP ? es_map_get(ip, "file") : NULL;
        const es_node_t *inl = ip->kind == ES_NODE_MAP ? es_map_get(ip, "config") : NULL;
        if (!file && !inl) inl = ip;
        snprintf(path, sizeof path, "%s/inference-perf/results/config.yaml", dir);
        if (file && file->kind == ES_NODE_SCALAR) {
            char src[1400];
            es_experiment_path(exp, file->str, src, sizeof src);
            char *buf;
            size_t blen;
            rc = es_file_read(src, &buf, &blen);
            if (rc == ES_ENOMEM) return es_err_set(err, ES_ENOMEM, "out of memory");
            if (rc) return es_err_set(err, ES_EIO, "%s: cannot read", src);
            rc = es_write_file_atomic(path, buf, blen, err);
            free(buf);
            return rc;
        }
        text = NULL;
        y = open_memstream(&text, &len);
        if (!y) return es_err_set(err, ES_ENOMEM, "out of memory");
        fprintf(y, "# written by eppsim run --write-inference-perf-results: the inference-perf config the run replayed\n");
        es_node_write_json(y, inl);
        fputc('\n', y);
        fclose(y);
        rc = text ? write_text(path, text, err) : es_err_set(err, ES_ENOMEM, "out of memory");
        free(text);
        return rc;
    }
    const es_shared_prefix_config_t *sp = &w->shared_prefix;
    bool ok = w->type == ES_WL_SHARED_PREFIX && sp->question_len_std == 0 && sp->output_len_std == 0 &&
              w->arrival.process == ES_ARRIVAL_POISSON && nstages > 0 && stages[nstages - 1].end != ES_TIME_NEVER;
    text = NULL;
    y = open_memstream(&text, &len);
    if (!y) return es_err_set(err, ES_ENOMEM, "out of memory");
    if (!ok) {
        fprintf(y, "# eppsim could not write this run's workload as an inference-perf config: only shared_prefix\n"
                   "# with fixed lengths and Poisson rate stages (workload.arrival.stages) can be said so.\n");
    } else {
        fprintf(y, "# written by eppsim run --write-inference-perf-results: the run's workload as an inference-perf\n"
                   "# config (late-2025 schema)\napi: {type: completion, streaming: true}\ndata:\n  type: shared_prefix\n"
                   "  shared_prefix: {num_groups: %lld, num_prompts_per_group: %lld, system_prompt_len: %lld, "
                   "question_len: %lld, output_len: %lld}\nload:\n  type: poisson\n  interval: 0\n  stages:\n",
                (long long)sp->num_groups, (long long)sp->num_prompts_per_group, (long long)sp->system_prompt_len,
                (long long)sp->question_len, (long long)sp->output_len);
        for (size_t i = 0; i < nstages; i++)
            fprintf(y, "  - {rate: %.9g, duration: %.9g}\n", stages[i].rate,
                    es_time_to_s(stages[i].end - stages[i].start));
        if (exp->gateway.client_timeout_s > 0) fprintf(y, "  request_timeout: %.9g\n", exp->gateway.client_timeout_s);
        else fprintf(y, "  request_timeout: null\n");
        fprintf(y, "server:\n  type: vllm\n  model_name: ");
        es_json_write_string(y, sc->model);
        fprintf(y, "\n  ignore_eos: true\n");
    }
    fclose(y);
    snprintf(path, sizeof path, "%s/inference-perf/results/config.yaml", dir);
    rc = text ? write_text(path, text, err) : es_err_set(err, ES_ENOMEM, "out of memory");
    free(text);
    return rc;
}
