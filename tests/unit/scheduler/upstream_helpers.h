/* upstream_helpers.h -- fixtures of the ported upstream (Go) test tables
 * (header-only): a configured plugin instance made as the scheduler makes it. */
#ifndef ES_TEST_SCHED_UPSTREAM_HELPERS_H
#define ES_TEST_SCHED_UPSTREAM_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HEAD "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n"

/* State of the plugin named `name` in c, initialised from its parameters. */
static inline void *instance(const es_epp_config_t *c, const char *name, const esi_plugin_vt_t **vt_out)
{
    *vt_out = NULL;   /* set on every path (fail_msg does not return) */
    for (size_t i = 0; i < c->nplugins; i++) {
        if (strcmp(c->plugins[i].name, name)) continue;
        const esi_plugin_vt_t *vt = c->plugins[i].vt;
        void *st = calloc(1, vt->state_size ? vt->state_size : 8);
        assert_non_null(st);
        es_err_t err;
        if (vt->x_init) assert_int_equal(vt->x_init(st, c->plugins[i].params, NULL, &err), 0);
        else if (vt->params_size) memcpy(st, c->plugins[i].params, vt->params_size);
        *vt_out = vt;
        return st;
    }
    fail_msg("no plugin %s", name);
    return NULL;
}

static inline void release(const esi_plugin_vt_t *vt, void *st)
{
    if (vt->x_fini) vt->x_fini(st);
    free(st);
}

#endif
