/* helpers.h -- shared fixtures of the scheduler tests (header-only). */
#ifndef ES_TEST_SCHED_HELPERS_H
#define ES_TEST_SCHED_HELPERS_H

#include <math.h>
#include <string.h>

#include "es_scheduler.h"

#define TEST_MAX_EPS 16

/* cmocka before 1.1.6 has no assert_double_equal */
#ifndef assert_double_equal
#define assert_double_equal(a, b, eps) do {                                          \
        double a_ = (a), b_ = (b);                                                   \
        if (!(fabs(a_ - b_) <= (eps))) fprintf(stderr, "%.17g != %.17g\n", a_, b_); \
        assert_true(fabs(a_ - b_) <= (eps));                                         \
    } while (0)
#endif

typedef struct pool {
    es_endpoint_t eps[TEST_MAX_EPS];
    char          names[TEST_MAX_EPS][16];
    es_label_t    role[TEST_MAX_EPS];
    size_t        n;
} pool_t;

static inline void pool_init(pool_t *p, size_t n, es_time_t now)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(p->names[i], sizeof p->names[i], "pod%zu", i + 1);
        p->eps[i].id = (uint32_t)i;
        p->eps[i].name = p->names[i];
        p->eps[i].address = "10.0.0.1:8000";
        p->eps[i].ready = true;
        p->eps[i].metrics.update_time = now;
    }
}

static inline void pool_role(pool_t *p, size_t i, const char *role)
{
    p->role[i].key = "llm-d.ai/role";
    p->role[i].value = role;
    p->eps[i].labels = &p->role[i];
    p->eps[i].nlabels = 1;
}

/* Loads a config from text; fails the test on error. */
static inline es_epp_config_t *cfg_text(const char *text)
{
    es_epp_config_t *c = NULL;
    es_err_t err;
    int rc = es_epp_config_load_string("test.yaml", text, &c, &err);
    if (rc) fprintf(stderr, "config error: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return c;
}

/* Expects a config error whose message contains `want`. */
static inline void cfg_fails(const char *text, const char *want)
{
    es_epp_config_t *c = NULL;
    es_err_t err;
    int rc = es_epp_config_load_string("bad.yaml", text, &c, &err);
    if (rc == 0 || !strstr(err.msg, want))
        fprintf(stderr, "want error containing '%s', got rc=%d '%s'\n", want, rc, rc ? err.msg : "");
    assert_true(rc < 0);
    assert_null(c);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "bad.yaml:"));
}

/* A one-profile config with the given scorers (name:weight pairs). */
#define CFG_HEAD "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n"

/* Raw score of scorer k for endpoint e in profile 0 of a trace. */
static inline double raw_of(const es_sched_trace_t *t, uint32_t k, uint32_t e)
{
    return t->profile[0].raw[k * t->cap_eps + e];
}

static inline es_sched_request_t text_req(uint64_t id, const char *model, const char *prompt)
{
    es_sched_request_t r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.model = model;
    r.prompt_text = prompt;
    return r;
}

#endif
