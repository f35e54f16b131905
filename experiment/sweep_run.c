/*
 * sweep_run.c -- running a sweep's points on the libuv thread pool, with a
 * progress bar (es_sweep.h, docs/sweeps.md).
 */
#define _GNU_SOURCE   /* setenv */
#include "es_sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "es_experiment.h"
#include "es_outdir.h"
#include "es_run.h"
#include "es_util.h"
#include "sweep_internal.h"

/* ------------------------------------------------------------------ */
/* running on the libuv thread pool                                    */
/* ------------------------------------------------------------------ */

typedef struct sweep_ctx sweep_ctx_t;

typedef struct job {
    uv_work_t    req;
    sweep_ctx_t *ctx;
    size_t       point;
    uint64_t     seed;
    int          rc;
    es_err_t     err;
    double       wall_s;
} job_t;

struct sweep_ctx {
    const es_sweep_spec_t    *spec;
    const es_sweep_options_t *opt;
    es_sweep_stats_t         *st;
    uv_loop_t                 loop;
    uv_timer_t                timer;    /* redraws the progress bar */
    job_t                    *jobs;
    size_t                    njobs, next, running, finished;
    uint64_t                  t0_ns;
};

static double now_s(void) { return (double)uv_hrtime() / 1e9; }

static void work(uv_work_t *req)
{
    job_t *j = req->data;
    const sweep_ctx_t *c = j->ctx;
    double t0 = now_s();
    es_err_clear(&j->err);
    es_doc_t *doc;
    es_experiment_t exp;
    if ((j->rc = es_sweep_point_doc(c->spec, j->point, j->seed, &doc, &j->err))) return;
    if ((j->rc = es_experiment_from_doc(doc, c->spec->base_dir, &exp, &j->err))) return;
    char dir[2048];
    esi_sweep_point_dir(c->opt->out_dir, j->point, j->seed, dir, sizeof dir);
    /* no summary.json means no completed run here: replace whatever is there */
    es_run_options_t ro = {dir, true, false, false, false, c->opt->interrupted, NULL, NULL, NULL, false};
    es_run_report_t rep;
    j->rc = es_run_experiment(&exp, &ro, &rep, &j->err);
    if (j->rc && !j->err.msg[0]) es_err_set(&j->err, j->rc, "%s", es_strerror(j->rc));
    es_experiment_fini(&exp);
    j->wall_s = now_s() - t0;
}

static void fmt_hms(double s, char *buf, size_t size)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void draw_bar(sweep_ctx_t *c)
{
    FILE *f = c->opt->log;
    if (!f || !c->opt->tty_progress) return;
    size_t done = c->finished, total = c->njobs;
    int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
    double el = now_s() - (double)c->t0_ns / 1e9;
    char elb[32], etab[32] = "-";
    fmt_hms(el, elb, sizeof elb);
    if (done > 0 && done < total) fmt_hms(el / (double)done * (double)(total - done), etab, sizeof etab);
    else if (done == total) snprintf(etab, sizeof etab, "0:00");
    fprintf(f, "\r[%.*s%.*s] %zu/%zu  %zu running  %zu failed  elapsed %s  ETA %s \033[K", fill,
            "##############################", width - fill, "..............................", done, total,
            c->running, c->st->failed, elb, etab);
    fflush(f);
}

static void on_timer(uv_timer_t *t)
{
    draw_bar(t->data);
}

static void after_work(uv_work_t *req, int status);

static void queue_more(sweep_ctx_t *c)
{
    while (c->running < c->opt->jobs && c->next < c->njobs &&
           !(c->opt->interrupted && *c->opt->interrupted)) {
        job_t *j = &c->jobs[c->next++];
        j->req.data = j;
        if (uv_queue_work(&c->loop, &j->req, work, after_work)) {
            j->rc = ES_EIO;
            es_err_set(&j->err, ES_EIO, "cannot queue work on the libuv thread pool");
            c->st->failed++;
            continue;
        }
        c->running++;
    }
    if (c->running == 0 && uv_is_active((uv_handle_t *)&c->timer)) uv_timer_stop(&c->timer);
}

static void after_work(uv_work_t *req, int status)
{
    job_t *j = req->data;
    sweep_ctx_t *c = j->ctx;
    c->running--;
    if (status == UV_ECANCELED) j->rc = ES_EINTR;
    FILE *f = c->opt->log;
    char label[512];
    if (j->rc == ES_EINTR) {
        c->st->interrupted = true;
    } else {
        c->finished++;
        if (j->rc == 0) c->st->completed++;
        else c->st->failed++;
        if (f && (j->rc || !c->opt->tty_progress)) {
            if (c->opt->tty_progress) fputs("\r\033[K", f);
            es_sweep_point_label(c->spec, j->point, label, sizeof label);
            if (j->rc)
                fprintf(f, "eppsim sweep: point %zu seed %llu (%s) FAILED: %s\n", j->point,
                        (unsigned long long)j->seed, label, j->err.msg);
            else
                fprintf(f, "eppsim sweep: [%zu/%zu] point %zu seed %llu (%s) done in %.2f s\n", c->finished,
                        c->njobs, j->point, (unsigned long long)j->seed, label, j->wall_s);
            fflush(f);
        }
    }
    if (c->opt->interrupted && *c->opt->interrupted) c->st->interrupted = true;
    queue_more(c);
    draw_bar(c);
}

/* ---- resume: is a finished point still the experiment the spec asks for? ---- */

static void diff_note(char *buf, size_t size, size_t *off, int *count, const char *path, const es_node_t *a,
                      const es_node_t *b)
{
    if (*count < 4 && *off < size) {
        const char *was = a && a->kind == ES_NODE_SCALAR ? a->str : a ? "(a block)" : "(absent)";
        const char *now = b && b->kind == ES_NODE_SCALAR ? b->str : b ? "(a block)" : "(absent)";
        *off += (size_t)snprintf(buf + *off, size - *off, "%s%s: %s -> %s", *count ? ", " : "",
                                 *path ? path : "(document)", was, now);
    }
    (*count)++;
}

/* The leaf key paths where two documents differ, "key: old -> new", into buf. */
static void diff_nodes(const es_node_t *a, const es_node_t *b, const char *path, char *buf, size_t size,
                       size_t *off, int *count)
{
    char sub[512];
    if (!a || !b || a->kind != b->kind) { diff_note(buf, size, off, count, path, a, b); return; }
    if (a->kind == ES_NODE_SCALAR) {
        if (strcmp(a->str, b->str) || a->quoted != b->quoted) diff_note(buf, size, off, count, path, a, b);
        return;
    }
    if (a->kind == ES_NODE_SEQ) {
        size_t n = a->n > b->n ? a->n : b->n;
        for (size_t i = 0; i < n; i++) {
            snprintf(sub, sizeof sub, "%s%s%zu", path, *path ? "." : "", i);
            diff_nodes(i < a->n ? a->items[i] : NULL, i < b->n ? b->items[i] : NULL, sub, buf, size, off, count);
        }
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", a->keys[i]);
        diff_nodes(a->items[i], es_map_get(b, a->keys[i]), sub, buf, size, off, count);
    }
    for (size_t i = 0; i < b->n; i++) {
        if (es_map_get(a, b->keys[i])) continue;
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", b->keys[i]);
        diff_nodes(NULL, b->items[i], sub, buf, size, off, count);
    }
}

/* 1 when the point directory's experiment.yaml is the fully defaulted
 * experiment the spec now gives this point-seed (its fingerprint), else 0
 * with the changed keys in `changes`. */
static int point_current(const es_sweep_spec_t *s, size_t point, uint64_t seed, const char *dir, char *changes,
                         size_t size)
{
    changes[0] = '\0';
    es_err_t err;
    es_doc_t *doc;
    es_experiment_t exp;
    if (es_sweep_point_doc(s, point, seed, &doc, &err) || es_experiment_from_doc(doc, s->base_dir, &exp, &err)) {
        snprintf(changes, size, "%s", err.msg);
        return 0;
    }
    size_t len;
    char *now = es_run_experiment_yaml(&exp, &len);
    es_experiment_fini(&exp);
    char path[2100];
    snprintf(path, sizeof path, "%s/experiment.yaml", dir);
    char *was = NULL;
    if (es_file_read(path, &was, NULL) != 0) was = NULL;
    int same = now && was && !strcmp(now, was);
    if (!same) {
        es_doc_t *da = NULL, *db = NULL;
        size_t off = 0;
        int count = 0;
        if (!was) snprintf(changes, size, "no experiment.yaml");
        else if (now && !es_doc_load_string(path, was, strlen(was), &da, &err) &&
                 !es_doc_load_string("spec", now, len, &db, &err)) {
            diff_nodes(da->root, db->root, "", changes, size, &off, &count);
            if (count > 4 && off < size) snprintf(changes + off, size - off, ", and %d more", count - 4);
        }
        if (!changes[0]) snprintf(changes, size, "experiment.yaml differs");
        es_doc_destroy(da);
        es_doc_destroy(db);
    }
    free(now);
    free(was);
    return same;
}

int es_sweep_run(const es_sweep_spec_t *s, const es_sweep_options_t *opt, es_sweep_stats_t *st, es_err_t *err)
{
    ES_ASSERT(opt->jobs >= 1 && opt->shard.count >= 1, "bad sweep options");
    memset(st, 0, sizeof *st);
    double t0 = now_s();
    char path[2048];
    snprintf(path, sizeof path, "%s/points", opt->out_dir);
    if (es_mkdirs(path)) return es_err_set(err, ES_EIO, "%s: cannot create: %s", path, strerror(errno));

    sweep_ctx_t c;
    memset(&c, 0, sizeof c);
    c.spec = s;
    c.opt = opt;
    c.st = st;
    c.jobs = calloc(s->npoints * s->nseeds, sizeof *c.jobs);
    if (!c.jobs) return es_err_set(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->npoints; i++) {
        if (!es_sweep_shard_has(&opt->shard, i)) continue;
        for (size_t k = 0; k < s->nseeds; k++) {
            st->total++;
            char dir[2048];
            esi_sweep_point_dir(opt->out_dir, i, s->seeds[k], dir, sizeof dir);
            snprintf(path, sizeof path, "%s/summary.json", dir);
            if (esi_sweep_file_exists(path)) {
                char changes[1024];
                if (point_current(s, i, s->seeds[k], dir, changes, sizeof changes)) { st->skipped++; continue; }
                st->rerun++;
                if (opt->log)
                    fprintf(opt->log, "eppsim sweep: point %zu seed %llu changed since it ran (%s); running it again\n",
                            i, (unsigned long long)s->seeds[k], changes);
            }
            job_t *j = &c.jobs[c.njobs++];
            j->ctx = &c;
            j->point = i;
            j->seed = s->seeds[k];
        }
    }
    if (opt->log && st->skipped)
        fprintf(opt->log, "eppsim sweep: %zu of %zu runs already done (resumed)\n", st->skipped, st->total);

    if (c.njobs > 0) {
        /* The pool is global and sized at its first use: say how big before
         * anything queues.  At most `jobs` runs are queued at once anyway, so
         * a pool sized earlier in this process cannot run more. */
        char n[16];
        snprintf(n, sizeof n, "%u", opt->jobs > 1024 ? 1024 : opt->jobs);
        setenv("UV_THREADPOOL_SIZE", n, 1);
        if (uv_loop_init(&c.loop)) { free(c.jobs); return es_err_set(err, ES_EIO, "cannot start a libuv loop"); }
        c.t0_ns = uv_hrtime();
        uv_timer_init(&c.loop, &c.timer);
        c.timer.data = &c;
        if (opt->log && opt->tty_progress) uv_timer_start(&c.timer, on_timer, 1000, 1000);
        queue_more(&c);
        draw_bar(&c);
        uv_run(&c.loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *)&c.timer, NULL);
        uv_run(&c.loop, UV_RUN_DEFAULT);
        uv_loop_close(&c.loop);
        if (opt->log && opt->tty_progress) fputc('\n', opt->log);
    }
    if (opt->interrupted && *opt->interrupted) st->interrupted = true;
    free(c.jobs);
    int rc = es_sweep_write_results(s, opt->out_dir, err);
    st->wall_s = now_s() - t0;
    return rc;
}

