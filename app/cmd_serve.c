/*
 * cmd_serve.c -- `eppsim serve [EXPERIMENT] [options]`: emulated vLLM pods on
 * loopback, in real time (live/es_live.h, docs/live.md).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <uv.h>

#include "es_cli.h"
#include "es_experiment.h"
#include "es_live.h"
#include "es_util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim serve [EXPERIMENT] [options]\n"
            "\n"
            "Serves N emulated vLLM pods, each the server model of `eppsim run` (the\n"
            "experiment's server section; default: the built-in experiment), one TCP port\n"
            "each, advancing in wall-clock time.  OpenAI-compatible /v1/completions,\n"
            "/v1/chat/completions, /v1/models, /health and vLLM's /metrics (docs/live.md).\n"
            "\n"
            "options:\n"
            "      --pods N           pods (default: the experiment's cluster.replicas)\n"
            "      --listen ADDR      address to listen on (default 127.0.0.1)\n"
            "      --port BASE        pod i listens on BASE + i; 0: ephemeral ports (default 8000)\n"
            "      --time-scale X     simulated seconds per wall second (default 1)\n"
            "      --max-body BYTES   largest request body (default 1048576)\n"
            "      --max-conns N      open connections, all pods together (default 1024)\n"
            "      --max-queued BYTES  bytes queued for clients that read slower than their\n"
            "                         streams, all connections together (default 268435456);\n"
            "                         past it (or 8 MiB on one connection) a client is cut off\n"
            "      --idle-timeout S   close a connection idle (still sending its request, or\n"
            "                         taking none of its response) for S seconds (default 30)\n"
            "      --served-model-name NAME  the model name requests must carry (default: the\n"
            "                         experiment's workload.model, else server.model)\n"
            "      --kv-events BASE   publish KV events as vLLM does (ZMQ PUB, msgpack): pod i\n"
            "                         on tcp://ADDR:BASE+i, topic kv@ADDR:PORT@MODEL; 0: ephemeral\n"
            "      --stats            measure step lateness (wall time an engine step ends after\n"
            "                         its scheduled end); percentiles printed when stopped\n"
            "  -h, --help             this help\n"
            "\n"
            "Prints one line `pod I port P` per pod when listening (and `pod I kv-events\n"
            "ENDPOINT` with --kv-events).  SIGINT or SIGTERM stops it.\n"
            "exit codes: 0 stopped by a signal, 2 bad input or cannot listen.\n");
}

/* sigs[0] is SIGINT's handle, sigs[1] SIGTERM's: either closes both. */
static void on_signal(uv_signal_t *h, int sig)
{
    uv_signal_t *sigs = sig == SIGINT ? h : h - 1;
    es_live_close(h->data);
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&sigs[i])) uv_close((uv_handle_t *)&sigs[i], NULL);
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(d >= lo && d <= hi)) {
        fprintf(stderr, "eppsim serve: %s: %s: must be a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

int es_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pods", required_argument, NULL, 'n'},       {"listen", required_argument, NULL, 'l'},
        {"port", required_argument, NULL, 'p'},       {"time-scale", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, 'b'},   {"max-conns", required_argument, NULL, 'c'},
        {"idle-timeout", required_argument, NULL, 'i'}, {"kv-events", required_argument, NULL, 'k'},
        {"served-model-name", required_argument, NULL, 'm'}, {"stats", no_argument, NULL, 'S'},
        {"max-queued", required_argument, NULL, 'Q'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    double pods = 0, port = 8000, scale = 1, max_body = 1 << 20, max_conns = 1024, idle = 30, kv_port = -1,
           max_queued = 256.0 * (1 << 20);
    const char *listen = "127.0.0.1", *served = NULL;
    bool stats = false;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'n': bad = parse_num("--pods", optarg, 1, 1024, &pods); break;
        case 'l': listen = optarg; break;
        case 'p': bad = parse_num("--port", optarg, 0, 65535, &port); break;
        case 't': bad = parse_num("--time-scale", optarg, 1e-3, 1000, &scale); break;
        case 'b': bad = parse_num("--max-body", optarg, 1024, 1 << 30, &max_body); break;
        case 'c': bad = parse_num("--max-conns", optarg, 1, 65536, &max_conns); break;
        case 'i': bad = parse_num("--idle-timeout", optarg, 0.01, 86400, &idle); break;
        case 'm': served = optarg; break;
        case 'Q': bad = parse_num("--max-queued", optarg, 4096, 1ull << 40, &max_queued); break;
        case 'S': stats = true; break;
        case 'k': bad = parse_num("--kv-events", optarg, 0, 65535, &kv_port); break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
        if (bad) return ES_EXIT_USAGE;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "eppsim serve: more than one experiment given\n");
        return ES_EXIT_USAGE;
    }
    es_err_t err;
    es_err_clear(&err);
    es_experiment_t exp;
    if (es_experiment_load(optind < argc ? argv[optind] : NULL, &exp, &err)) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    es_live_config_t cfg = {
        .server = &exp.server,
        .pods = pods > 0 ? (uint32_t)pods : (uint32_t)exp.cluster.replicas,
        .listen = listen,
        .port = (int)port,
        .time_scale = scale,
        .seed = exp.seed,
        .max_body = (size_t)max_body,
        .max_header = 16384,
        .max_conns = (uint32_t)max_conns,
        .max_queued = (size_t)max_queued,
        .idle_timeout_ms = (uint64_t)(idle * 1000),
        /* as `vllm serve <model>` serves the name clients send: the workload's */
        .model_name = served ? served : exp.workload.model && exp.workload.model[0] ? exp.workload.model : NULL,
        .stats = stats,
        .faults = exp.cluster.fault_list,
        .nfaults = exp.cluster.nfaults,
        .readiness_delay_s = exp.cluster.readiness_delay_s,
        .scrape_latency_ms = exp.epp.scrape_latency_ms,
        .scrape_failure_rate = exp.epp.scrape_failure_rate,
        .kv_events = kv_port >= 0,
        .kv_port = kv_port > 0 ? (int)kv_port : 0,
    };
    signal(SIGPIPE, SIG_IGN);   /* a client that hangs up is an error code, not a kill */
    uv_loop_t loop;
    uv_loop_init(&loop);
    es_live_t *lv;
    if (es_live_create(&loop, &cfg, &lv, &err)) {
        fprintf(stderr, "eppsim serve: %s\n", err.msg);
        uv_loop_close(&loop);
        es_experiment_fini(&exp);
        return ES_EXIT_USAGE;
    }
    uv_signal_t sigs[2];
    uv_signal_init(&loop, &sigs[0]);
    uv_signal_init(&loop, &sigs[1]);
    sigs[0].data = sigs[1].data = lv;
    uv_signal_start(&sigs[0], on_signal, SIGINT);
    uv_signal_start(&sigs[1], on_signal, SIGTERM);
    for (uint32_t i = 0; i < cfg.pods; i++) printf("pod %u port %d\n", i, es_live_port(lv, i));
    for (uint32_t i = 0; cfg.kv_events && i < cfg.pods; i++) printf("pod %u kv-events %s\n", i, es_live_kv_endpoint(lv, i));
    fflush(stdout);
    /* the engine's timer fires when due, not up to the default 50 us later */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    uv_run(&loop, UV_RUN_DEFAULT);
    const es_live_lat_hist_t *lat = es_live_lateness(lv);
    if (lat) {
        double la[3];
        uv_loadavg(la);
        printf("step lateness: %llu steps, p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us"
               " (load average %.2f %.2f %.2f)\n",
               (unsigned long long)lat->n, es_live_lat_quantile_us(lat, 0.5), es_live_lat_quantile_us(lat, 0.9),
               es_live_lat_quantile_us(lat, 0.99), es_live_lat_quantile_us(lat, 0.999), (double)lat->max_ns / 1000.0,
               la[0], la[1], la[2]);
        const es_live_lat_hist_t *tok = es_live_token_lateness(lv);
        printf("token lateness: %llu flushes, p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
               (unsigned long long)tok->n, es_live_lat_quantile_us(tok, 0.5), es_live_lat_quantile_us(tok, 0.9),
               es_live_lat_quantile_us(tok, 0.99), es_live_lat_quantile_us(tok, 0.999), (double)tok->max_ns / 1000.0);
        fflush(stdout);
    }
    es_live_destroy(lv);
    uv_loop_close(&loop);
    es_experiment_fini(&exp);
    fprintf(stderr, "eppsim serve: stopped\n");
    return ES_EXIT_OK;
}
