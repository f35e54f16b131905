/*
 * cmd_gateway.c -- `eppsim gateway [EXPERIMENT] [options]`: the scheduler
 * library as a live reverse proxy in front of vLLM-like pods
 * (live/es_live_gw.h, docs/live.md).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "es_cli.h"
#include "es_experiment.h"
#include "es_live.h"
#include "es_live_gw.h"
#include "es_scheduler.h"
#include "es_str.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim gateway [EXPERIMENT] (--pods ADDR,... | --serve N) [--kv-events BASE] [options]\n"
            "\n"
            "An HTTP reverse proxy that routes each completion with eppsim's endpoint picker\n"
            "(the experiment's EndpointPickerConfig; default: the upstream default) on the\n"
            "pods' scraped /metrics, and streams the pod's response back (docs/live.md).\n"
            "\n"
            "options:\n"
            "      --pods LIST          pods as IP:PORT,IP:PORT,... (vLLM or `eppsim serve` pods)\n"
            "      --serve N            start N emulated pods in this process (as `eppsim serve`)\n"
            "                           on ephemeral ports and route to them\n"
            "      --epp-config FILE    EndpointPickerConfig (instead of the experiment's)\n"
            "      --kv-events BASE     subscribe to pod i's KV events at tcp://IP:BASE+i (IP of its\n"
            "                           --pods address; with --serve, the pods publish from BASE,\n"
            "                           0 = ephemeral ports); or a list tcp://IP:PORT,... in pod order\n"
            "      --record DIR         write DIR/decisions.jsonl and DIR/epp-config.yaml:\n"
            "                           `eppsim explain --from-run DIR --request ID` replays a decision\n"
            "      --listen ADDR        address to listen on (default 127.0.0.1)\n"
            "      --port P             port (default 8080; 0: ephemeral)\n"
            "      --time-scale X       model seconds per wall second, as the pods' (default 1)\n"
            "      --seed N             master seed of the decisions (default: the experiment's)\n"
            "      --pool-name NAME     pods are NAME-0, NAME-1, ... (default vllm-<model>, as in runs)\n"
            "      --max-body BYTES     largest request body (default 1048576)\n"
            "      --max-conns N        open client connections (default 1024)\n"
            "      --idle-timeout S     close a client connection idle (or taking none of its\n"
            "                           response) S seconds (default 30)\n"
            "      --upstream-timeout S fail a request whose pod is silent, or whose client reads\n"
            "                           nothing, S seconds (default 60)\n"
            "  -h, --help               this help\n"
            "\n"
            "Prints `gateway port P` when listening (and `pod I port P` lines with --serve);\n"
            "GET /metrics on it gives the ready pods and the counts of the stop line.\n"
            "SIGINT or SIGTERM stops it.  exit codes: 0 stopped by a signal, 2 bad input.\n");
}

typedef struct gw_app {
    es_live_gw_t *gw;
    es_live_t    *serve;
    uv_signal_t   sigs[2];
} gw_app_t;

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    gw_app_t *a = h->data;
    es_live_gw_close(a->gw);
    if (a->serve) es_live_close(a->serve);
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&a->sigs[i])) uv_close((uv_handle_t *)&a->sigs[i], NULL);
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(d >= lo && d <= hi)) {
        fprintf(stderr, "eppsim gateway: %s: %s: must be a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

static int load_epp(const es_experiment_t *exp, const char *file, es_epp_config_t **out, es_err_t *err)
{
    if (file) return es_epp_config_load_file(file, out, err);
    if (exp->epp.config) return es_epp_config_load_node(exp->epp.config, out, err);
    if (exp->epp.config_file && exp->epp.config_file[0]) {
        char path[4096];
        return es_epp_config_load_file(es_experiment_path(exp, exp->epp.config_file, path, sizeof path), out, err);
    }
    return es_epp_config_default(out, err);
}

/* DIR/epp-config.yaml (written whole, then renamed) and DIR/decisions.jsonl. */
static FILE *open_record(const char *dir, const es_epp_config_t *epp)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "eppsim gateway: --record %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/epp-config.yaml", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) { fprintf(stderr, "eppsim gateway: %s: cannot write\n", tmp); return NULL; }
    es_epp_config_write_yaml(f, epp);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "eppsim gateway: %s: cannot write\n", path);
        remove(tmp);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/decisions.jsonl", dir);
    f = fopen(path, "w");
    if (!f) fprintf(stderr, "eppsim gateway: %s: cannot write\n", path);
    /* a buffer larger than any decision line: with the flush after each line
     * (log_decision), a reader tailing the file never sees half a line */
    else setvbuf(f, NULL, _IOFBF, 1 << 16);
    return f;
}

/* Splits "a,b,c" into addrs (pointers into list, which it edits). */
static uint32_t split_pods(char *list, char **addrs, uint32_t max)
{
    uint32_t n = 0;
    for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ",")) addrs[n++] = tok;
    return n;
}

int es_cmd_gateway(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pods", required_argument, NULL, 'P'},        {"serve", required_argument, NULL, 'S'},
        {"epp-config", required_argument, NULL, 'e'},  {"record", required_argument, NULL, 'r'},
        {"listen", required_argument, NULL, 'l'},      {"port", required_argument, NULL, 'p'},
        {"time-scale", required_argument, NULL, 't'},  {"seed", required_argument, NULL, 's'},
        {"pool-name", required_argument, NULL, 'n'},   {"max-body", required_argument, NULL, 'b'},
        {"max-conns", required_argument, NULL, 'c'},   {"idle-timeout", required_argument, NULL, 'i'},
        {"upstream-timeout", required_argument, NULL, 'u'}, {"kv-events", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    double port = 8080, scale = 1, max_body = 1 << 20, max_conns = 1024, idle = 30, upto = 60, serve = 0;
    const char *listen = "127.0.0.1", *epp_file = NULL, *record = NULL, *pool = NULL, *pods_arg = NULL, *seed_arg = NULL, *kv_arg = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'P': pods_arg = optarg; break;
        case 'S': bad = parse_num("--serve", optarg, 1, 1024, &serve); break;
        case 'e': epp_file = optarg; break;
        case 'r': record = optarg; break;
        case 'l': listen = optarg; break;
        case 'p': bad = parse_num("--port", optarg, 0, 65535, &port); break;
        case 't': bad = parse_num("--time-scale", optarg, 1e-3, 1000, &scale); break;
        case 's': seed_arg = optarg; break;
        case 'n': pool = optarg; break;
        case 'b': bad = parse_num("--max-body", optarg, 1024, 1 << 30, &max_body); break;
        case 'c': bad = parse_num("--max-conns", optarg, 1, 65536, &max_conns); break;
        case 'i': bad = parse_num("--idle-timeout", optarg, 0.01, 86400, &idle); break;
        case 'u': bad = parse_num("--upstream-timeout", optarg, 0.01, 86400, &upto); break;
        case 'k': kv_arg = optarg; break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        default: usage(stderr); return ES_EXIT_USAGE;
        }
        if (bad) return ES_EXIT_USAGE;
    }
    if (argc - optind > 1) { fprintf(stderr, "eppsim gateway: more than one experiment given\n"); return ES_EXIT_USAGE; }
    if (!pods_arg == !(serve > 0)) {
        fprintf(stderr, "eppsim gateway: give --pods IP:PORT,... or --serve N\n");
        usage(stderr);
        return ES_EXIT_USAGE;
    }
    uint64_t seed = 0;
    if (seed_arg) {
        char *end;
        seed = strtoull(seed_arg, &end, 10);
        if (*end || *seed_arg < '0' || *seed_arg > '9') {
            fprintf(stderr, "eppsim gateway: --seed: %s: expected an unsigned integer\n", seed_arg);
            return ES_EXIT_USAGE;
        }
    }
    es_err_t err;
    es_err_clear(&err);
    es_experiment_t exp;
    if (es_experiment_load(optind < argc ? argv[optind] : NULL, &exp, &err)) {
        fprintf(stderr, "eppsim: %s\n", err.msg);
        return ES_EXIT_USAGE;
    }
    int code = ES_EXIT_USAGE;
    es_epp_config_t *epp = NULL;
    FILE *dec = NULL;
    char *list = NULL, **addrs = NULL, (*served)[32] = NULL, *kv_list = NULL, **kv = NULL, (*kv_made)[96] = NULL;
    double kv_base = -1;
    if (kv_arg && !strstr(kv_arg, "tcp://") && parse_num("--kv-events", kv_arg, 0, 65535, &kv_base)) {
        es_experiment_fini(&exp);
        return ES_EXIT_USAGE;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_app_t app = {0};
    if (load_epp(&exp, epp_file, &epp, &err)) { fprintf(stderr, "eppsim: %s\n", err.msg); goto out; }
    for (size_t i = 0; es_epp_config_warning(epp, i); i++)
        fprintf(stderr, "eppsim: warning: %s\n", es_epp_config_warning(epp, i));
    uint32_t npods = 0;
    addrs = calloc(1024, sizeof *addrs);
    if (!addrs) goto out;
    signal(SIGPIPE, SIG_IGN);
    if (pods_arg) {
        list = es_strdup(pods_arg);
        if (!list) goto out;
        npods = split_pods(list, addrs, 1024);
        if (npods == 0) { fprintf(stderr, "eppsim gateway: --pods: no address\n"); goto out; }
    } else {
        es_live_config_t lc = {.server = &exp.server, .pods = (uint32_t)serve, .listen = "127.0.0.1", .port = 0,
                               .time_scale = scale, .seed = exp.seed, .max_body = (size_t)max_body,
                               .max_header = 16384, .max_conns = (uint32_t)max_conns, .max_queued = (size_t)256 << 20,
                               .idle_timeout_ms = (uint64_t)(idle * 1000),
                               .kv_events = kv_base >= 0, .kv_port = kv_base > 0 ? (int)kv_base : 0};
        if (es_live_create(&loop, &lc, &app.serve, &err)) { fprintf(stderr, "eppsim gateway: %s\n", err.msg); goto out; }
        npods = lc.pods;
        served = calloc(npods, sizeof *served);
        if (!served) goto out;
        for (uint32_t i = 0; i < npods; i++) {
            snprintf(served[i], sizeof served[i], "127.0.0.1:%d", es_live_port(app.serve, i));
            addrs[i] = served[i];
            printf("pod %u port %d\n", i, es_live_port(app.serve, i));
            if (kv_base >= 0) printf("pod %u kv-events %s\n", i, es_live_kv_endpoint(app.serve, i));
        }
    }
    if (kv_arg) {   /* pod i's publisher: from the list, or BASE + i on its address */
        kv = calloc(npods, sizeof *kv);
        kv_made = calloc(npods, sizeof *kv_made);
        if (!kv || !kv_made) goto out;
        if (kv_base < 0) {
            kv_list = es_strdup(kv_arg);
            if (!kv_list) goto out;
            uint32_t commas = 0;
            for (const char *c = kv_arg; *c; c++) commas += *c == ',';
            if (commas + 1 != npods || split_pods(kv_list, kv, npods) != npods) {
                fprintf(stderr, "eppsim gateway: --kv-events: give one tcp://IP:PORT per pod (%u)\n", npods);
                goto out;
            }
        } else {
            for (uint32_t i = 0; i < npods; i++) {
                if (app.serve) snprintf(kv_made[i], sizeof kv_made[i], "%s", es_live_kv_endpoint(app.serve, i));
                else {
                    const char *colon = strrchr(addrs[i], ':');
                    if (kv_base + i > 65535 || !colon) { fprintf(stderr, "eppsim gateway: --kv-events: BASE + pods > 65535\n"); goto out; }
                    snprintf(kv_made[i], sizeof kv_made[i], "tcp://%.*s:%u", (int)(colon - addrs[i]), addrs[i],
                             (unsigned)kv_base + i);
                }
                kv[i] = kv_made[i];
            }
        }
        if (!es_scheduler_wants_kv_events(epp))
            fprintf(stderr, "eppsim: warning: --kv-events: no plugin of the EndpointPickerConfig consumes KV events\n");
    } else if (es_scheduler_wants_kv_events(epp)) {
        fprintf(stderr, "eppsim: warning: the EndpointPickerConfig consumes KV events: without --kv-events its index stays empty\n");
    }
    if (record && !(dec = open_record(record, epp))) goto out;
    char pool_buf[160];
    snprintf(pool_buf, sizeof pool_buf, "vllm-%s", exp.server.model);
    es_live_gw_config_t cfg = {
        .epp = epp,
        .seed = seed_arg ? seed : exp.seed,
        .listen = listen,
        .port = (int)port,
        .pods = (const char *const *)addrs,
        .npods = npods,
        .pool_name = pool ? pool : pool_buf,
        .refresh_interval_ms = exp.epp.refresh_interval_ms,
        .scrape_timeout_ms = exp.epp.scrape_timeout_ms,
        .time_scale = scale,
        .max_body = (size_t)max_body,
        .max_header = 16384,
        .max_conns = (uint32_t)max_conns,
        .idle_timeout_ms = (uint64_t)(idle * 1000),
        .upstream_timeout_ms = (uint64_t)(upto * 1000),
        .decisions = dec,
        .kv_endpoints = (const char *const *)kv,
    };
    if (es_live_gw_create(&loop, &cfg, &app.gw, &err)) {
        fprintf(stderr, "eppsim gateway: %s\n", err.msg);
        if (app.serve) { es_live_close(app.serve); uv_run(&loop, UV_RUN_DEFAULT); }
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        uv_signal_init(&loop, &app.sigs[i]);
        app.sigs[i].data = &app;
    }
    uv_signal_start(&app.sigs[0], on_signal, SIGINT);
    uv_signal_start(&app.sigs[1], on_signal, SIGTERM);
    printf("gateway port %d\n", es_live_gw_port(app.gw));
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    es_live_gw_stats_t st;
    es_live_gw_stats(app.gw, &st);
    fprintf(stderr, "eppsim gateway: stopped: %llu requests decided, %llu proxied whole, %llu rejected, "
                    "%llu pod errors; %llu scrapes, %llu failed, %llu on a local connect error, %llu scrape connections, "
                    "%llu stale replaced; %llu KV events in %llu batches, %llu bad; "
                    "%llu pod connections, %llu requests on kept-alive ones, %llu stale retried; %llu queued in flow control\n",
            (unsigned long long)st.requests, (unsigned long long)st.proxied, (unsigned long long)st.rejected,
            (unsigned long long)st.upstream_errors, (unsigned long long)st.scrapes,
            (unsigned long long)st.scrape_failures, (unsigned long long)st.scrape_local_errors,
            (unsigned long long)st.scrape_connections, (unsigned long long)st.scrape_retries, (unsigned long long)st.kv_events,
            (unsigned long long)st.kv_batches, (unsigned long long)st.kv_bad,
            (unsigned long long)st.pod_connections, (unsigned long long)st.pod_reused,
            (unsigned long long)st.pod_retries, (unsigned long long)st.flow_queued);
    code = ES_EXIT_OK;
out:
    es_live_gw_destroy(app.gw);
    es_live_destroy(app.serve);
    if (dec && fclose(dec) != 0 && code == ES_EXIT_OK) {
        fprintf(stderr, "eppsim gateway: %s/decisions.jsonl: write failed\n", record);
        code = ES_EXIT_USAGE;
    }
    uv_loop_close(&loop);
    free(served);
    free(kv);
    free(kv_made);
    free(kv_list);
    free(addrs);
    free(list);
    es_epp_config_destroy(epp);
    es_experiment_fini(&exp);
    return code;
}
