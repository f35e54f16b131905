/*
 * cmd_trace.c -- `eppsim trace stats|convert|gen`: look at, convert and make
 * request traces (docs/workloads.md).
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_cli.h"
#include "es_str.h"
#include "es_trace.h"
#include "es_trace_stats.h"

/* The most requests `trace gen` writes: ~100 GB of JSONL. */
#define ES_TRACE_GEN_MAX 1000000000ULL

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eppsim trace stats FILE [--format F] [--block-tokens N] [--json] [--skip-bad-lines]\n"
            "       eppsim trace convert IN [--format F] [--block-tokens N] [--skip-bad-lines] -o OUT.jsonl\n"
            "       eppsim trace gen [--requests N] [--rate R] [--seed S] -o OUT.jsonl\n"
            "\n"
            "stats    requests, duration, rate, burstiness (cv of inter-arrival gaps), token\n"
            "         percentiles and the ideal prefix hit ratio of an infinite cache, in the\n"
            "         trace's own blocks and in 16-token server blocks (prompt-1 cap)\n"
            "convert  writes eppsim's own JSONL (Mooncake hash ids become segments); OUT is\n"
            "         written whole or not at all, and may not be IN\n"
            "gen      writes a Mooncake-style trace for scale tests (default 1000000 requests, at most 1000000000)\n"
            "\n"
            "formats: mooncake, azure, burstgpt, sharegpt, eppsim (detected when --format is not given)\n"
            "\n"
            "options:\n"
            "  -f, --format F       the input's format (default: detected)\n"
            "      --block-tokens N tokens per hash id of a Mooncake trace (default 512)\n"
            "      --skip-bad-lines skip (and count) malformed lines instead of stopping\n"
            "      --json           stats as JSON\n"
            "  -o OUT.jsonl         convert, gen: the output file\n"
            "      --requests N     gen: requests (default 1000000)\n"
            "      --rate R         gen: Poisson arrivals per second (default 100)\n"
            "      --seed S         gen: seed (default 1)\n"
            "  -h, --help           this help\n"
            "exit codes: 0 ok, 2 bad input.\n");
}

typedef struct opts {
    const char *file, *out, *format;
    uint32_t block_tokens;
    int json, skip;
    uint64_t requests, seed;
    double rate;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.format = "auto", .block_tokens = 512, .requests = 1000000, .seed = 1, .rate = 100};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) o->json = 1;
        else if (strcmp(a, "--skip-bad-lines") == 0) o->skip = 1;
        else if ((strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) && v) { o->format = v; i++; }
        else if (strcmp(a, "-o") == 0 && v) { o->out = v; i++; }
        else if (strcmp(a, "--block-tokens") == 0 && v) {
            char *end;
            unsigned long x = strtoul(v, &end, 10);
            if (*end || x == 0 || x > 1000000) { fprintf(stderr, "eppsim trace: --block-tokens: expected 1..1000000\n"); return -1; }
            o->block_tokens = (uint32_t)x;
            i++;
        } else if (strcmp(a, "--requests") == 0 && v) {
            char *end;
            errno = 0;
            o->requests = strtoull(v, &end, 10);
            /* strtoull reads "-1" as 2^64 - 1: digits only, and a cap (~100 bytes a line) */
            if (!*v || *v < '0' || *v > '9' || *end || errno || o->requests == 0 || o->requests > ES_TRACE_GEN_MAX) {
                fprintf(stderr, "eppsim trace: --requests: expected a count from 1 to %llu\n",
                        (unsigned long long)ES_TRACE_GEN_MAX);
                return -1;
            }
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (!*v || *v < '0' || *v > '9' || *end || errno) { fprintf(stderr, "eppsim trace: --seed: expected an unsigned integer\n"); return -1; }
            i++;
        } else if (strcmp(a, "--rate") == 0 && v) {
            char *end;
            o->rate = es_strtod(v, &end);
            if (end == v || *end || !(o->rate > 0)) { fprintf(stderr, "eppsim trace: --rate: expected a finite req/s > 0\n"); return -1; }
            i++;
        } else if (a[0] != '-' && !o->file) o->file = a;
        else { fprintf(stderr, "eppsim trace: unexpected argument '%s'\n", a); return -1; }
    }
    if (es_trace_format_parse(o->format) < 0) {
        fprintf(stderr, "eppsim trace: --format: unknown format '%s' (known: mooncake, azure, burstgpt, sharegpt, eppsim)\n",
                o->format);
        return -1;
    }
    return 0;
}

static int cmd_stats(const opts_t *o)
{
    if (!o->file) { usage(stderr); return ES_EXIT_USAGE; }
    es_trace_stats_t st;
    es_err_t err;
    es_err_clear(&err);
    int rc = es_trace_stats_compute(o->file, (es_trace_format_t)es_trace_format_parse(o->format), o->block_tokens,
                                    16, o->skip, &st, &err);
    if (rc < 0) { fprintf(stderr, "eppsim trace stats: %s\n", err.msg); return ES_EXIT_USAGE; }
    es_trace_stats_print(stdout, o->file, &st, o->json);
    if (st.skipped) fprintf(stderr, "eppsim trace stats: skipped %zu malformed lines\n", st.skipped);
    return ES_EXIT_OK;
}

/* Output files are written to OUT.tmp-<pid> and renamed over OUT only when
 * complete: a failed or interrupted write leaves OUT as it was. */
static FILE *out_open(const char *out, char *tmp, size_t size)
{
    if (strcmp(out, "-") == 0) return stdout;
    if ((size_t)snprintf(tmp, size, "%s.tmp-%ld", out, (long)getpid()) >= size) {
        fprintf(stderr, "eppsim trace: %s: path too long\n", out);
        return NULL;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) fprintf(stderr, "eppsim trace: %s: cannot write: %s\n", out, strerror(errno));
    return f;
}

/* Closes f; on success (ok) moves it into place.  Returns 0 or -1. */
static int out_close(FILE *f, const char *tmp, const char *out, bool ok)
{
    if (f == stdout) return fflush(f) == 0 && !ferror(f) && ok ? 0 : -1;
    ok = ok && fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, out) == 0) return 0;
    remove(tmp);
    return -1;
}

/* Whether a and b name the same existing file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int cmd_convert(const opts_t *o)
{
    if (!o->file || !o->out) { usage(stderr); return ES_EXIT_USAGE; }
    if (same_file(o->file, o->out)) {
        fprintf(stderr, "eppsim trace convert: -o %s is the input file itself (write elsewhere)\n", o->out);
        return ES_EXIT_USAGE;
    }
    es_err_t err;
    es_err_clear(&err);
    es_trace_t *t;
    int rc = es_trace_open(o->file, (es_trace_format_t)es_trace_format_parse(o->format), o->block_tokens, o->skip,
                           &t, &err);
    if (rc < 0) { fprintf(stderr, "eppsim trace convert: %s\n", err.msg); return ES_EXIT_USAGE; }
    char tmp[4200];
    FILE *f = out_open(o->out, tmp, sizeof tmp);
    if (!f) { es_trace_close(t); return ES_EXIT_USAGE; }
    es_trace_rec_t rec;
    es_segment_t *segs = NULL;
    size_t cap = 0;
    uint64_t n = 0;
    while ((rc = es_trace_next(t, &rec, &err)) == 1) {
        es_content_t c = {0};
        if (rec.nhash) {
            if (rec.nhash > cap) {
                es_segment_t *ns = realloc(segs, rec.nhash * 2 * sizeof *ns);
                if (!ns) { rc = es_err_set(&err, ES_ENOMEM, "out of memory"); break; }
                segs = ns; cap = rec.nhash * 2;
            }
            es_trace_mooncake_content(&rec, o->block_tokens, segs);
            c = (es_content_t){segs, rec.nhash, rec.input_tokens};
        } else if (rec.nsegs) {
            c = (es_content_t){rec.segs, rec.nsegs, rec.input_tokens};
        }
        /* no timestamps (ShareGPT): every arrival_ms is 0; replay it with
         * trace.replay_timestamps: false and an arrival process */
        if (!rec.has_time) rec.t = 0;
        /* BurstGPT's model column names the upstream service, not ours */
        if (es_trace_format(t) != ES_TRACE_EPPSIM) rec.model = NULL;
        es_trace_write_eppsim(f, &rec, c.nsegs ? &c : NULL);
        n++;
    }
    size_t skipped = es_trace_skipped(t);
    es_trace_close(t);
    free(segs);
    int bad = out_close(f, tmp, o->out, rc >= 0) != 0;
    if (rc < 0) { fprintf(stderr, "eppsim trace convert: %s\n", err.msg); return ES_EXIT_USAGE; }
    if (bad) { fprintf(stderr, "eppsim trace convert: cannot write %s\n", o->out); return ES_EXIT_USAGE; }
    fprintf(stderr, "eppsim trace convert: %" PRIu64 " requests written to %s", n, o->out);
    if (skipped) fprintf(stderr, " (skipped %zu malformed lines)", skipped);
    fputc('\n', stderr);
    return ES_EXIT_OK;
}

static int cmd_gen(const opts_t *o)
{
    if (!o->out) { usage(stderr); return ES_EXIT_USAGE; }
    char tmp[4200];
    FILE *f = out_open(o->out, tmp, sizeof tmp);
    if (!f) return ES_EXIT_USAGE;
    int rc = es_trace_gen_mooncake(f, o->requests, o->rate, o->seed);
    if (out_close(f, tmp, o->out, rc >= 0) != 0) rc = ES_EIO;
    if (rc < 0) { fprintf(stderr, "eppsim trace gen: cannot write %s\n", o->out); return ES_EXIT_USAGE; }
    return ES_EXIT_OK;
}

int es_cmd_trace(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return ES_EXIT_USAGE; }
    if (es_cli_is_help(argv[1])) { usage(stdout); return ES_EXIT_OK; }
    opts_t o;
    if (parse(argc, argv, &o) < 0) return ES_EXIT_USAGE;
    if (strcmp(argv[1], "stats") == 0) return cmd_stats(&o);
    if (strcmp(argv[1], "convert") == 0) return cmd_convert(&o);
    if (strcmp(argv[1], "gen") == 0) return cmd_gen(&o);
    fprintf(stderr, "eppsim trace: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return ES_EXIT_USAGE;
}
