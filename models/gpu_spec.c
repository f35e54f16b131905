/*
 * gpu_spec.c -- reading GPU datasheet files (data/gpus.yaml).
 */
#include "es_gpu_spec.h"

#include <stdio.h>
#include <string.h>

#include "es_doc.h"
#include "es_paths.h"

static const char *const k_keys[] = {"device", "memory_MiB", "hbm_TBps", "bf16_TFLOPs", "fp8_TFLOPs",
                                     "nvlink_GBps", "pcie_GBps", "source", NULL};

static int read_num(const es_node_t *e, const char *name, const char *key, double min, double *out, es_err_t *err)
{
    char path[128];
    snprintf(path, sizeof path, "gpus.%s.%s", name, key);
    const es_node_t *n = es_map_get(e, key);
    if (!n) return es_node_err(err, ES_EINVAL, e, path, "missing (every GPU needs %s)", key);
    return es_node_to_double(n, path, min, 1e9, out, err);
}

static int read_entry(const es_node_t *e, const char *name, es_gpu_spec_t *g, es_err_t *err)
{
    char path[128];
    snprintf(path, sizeof path, "gpus.%s", name);
    int rc;
    if ((rc = es_node_expect_map(e, path, err)) || (rc = es_map_check_keys(e, path, k_keys, err))) return rc;
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    double mib, tbps, bf16, fp8, nvl, pcie;
    if ((rc = read_num(e, name, "memory_MiB", 1, &mib, err)) || (rc = read_num(e, name, "hbm_TBps", 1e-3, &tbps, err)) ||
        (rc = read_num(e, name, "bf16_TFLOPs", 1e-3, &bf16, err)) || (rc = read_num(e, name, "fp8_TFLOPs", 0, &fp8, err)) ||
        (rc = read_num(e, name, "nvlink_GBps", 0, &nvl, err)) || (rc = read_num(e, name, "pcie_GBps", 1e-3, &pcie, err)))
        return rc;
    const char *s;
    const es_node_t *src = es_map_get(e, "source");
    snprintf(path, sizeof path, "gpus.%s.source", name);
    if (!src) return es_node_err(err, ES_EINVAL, e, path, "missing: every datasheet entry cites its source");
    if ((rc = es_node_to_str(src, path, &s, err))) return rc;
    snprintf(g->source, sizeof g->source, "%s", s);
    const es_node_t *dev = es_map_get(e, "device");
    snprintf(path, sizeof path, "gpus.%s.device", name);
    if (dev) {
        if ((rc = es_node_to_str(dev, path, &s, err))) return rc;
        snprintf(g->device, sizeof g->device, "%s", s);
    } else {
        snprintf(g->device, sizeof g->device, "%s", name);
    }
    g->memory_bytes = mib * 1048576.0;
    g->hbm_Bps = tbps * 1e12;
    g->bf16_flops = bf16 * 1e12;
    g->fp8_flops = fp8 * 1e12;
    g->link_Bps = nvl * 1e9;
    g->pcie_Bps = pcie * 1e9;
    return 0;
}

static int open_doc(const char *path, es_doc_t **doc, const es_node_t **gpus, es_err_t *err)
{
    int rc = es_doc_load_file(path, doc, err);
    if (rc) return rc;
    const es_node_t *root = (*doc)->root;
    static const char *const top[] = {"gpus", NULL};
    if (!root) { rc = es_err_set(err, ES_EPARSE, "%s: empty GPU datasheet", path); goto fail; }
    if ((rc = es_node_expect_map(root, "", err)) || (rc = es_map_check_keys(root, "", top, err))) goto fail;
    *gpus = es_map_get(root, "gpus");
    if (!*gpus) { rc = es_node_err(err, ES_EINVAL, root, "gpus", "missing"); goto fail; }
    if ((rc = es_node_expect_map(*gpus, "gpus", err))) goto fail;
    return 0;
fail:
    es_doc_destroy(*doc);
    *doc = NULL;
    return rc;
}

static const char *default_path(const char *path, char *buf, size_t size)
{
    return path && *path ? path : es_data_path(buf, size, "gpus.yaml");
}

int es_gpu_spec_lookup(const char *path, const char *name, es_gpu_spec_t *out, es_err_t *err)
{
    char buf[1024];
    path = default_path(path, buf, sizeof buf);
    es_doc_t *doc;
    const es_node_t *gpus;
    int rc = open_doc(path, &doc, &gpus, err);
    if (rc) return rc;
    /* every entry is checked, so a broken file fails whichever GPU is asked for */
    rc = ES_ENOTFOUND;
    for (size_t i = 0; i < gpus->n; i++) {
        es_gpu_spec_t g;
        int r = read_entry(gpus->items[i], gpus->keys[i], &g, err);
        if (r) { rc = r; break; }
        if (strcmp(gpus->keys[i], name) == 0) { *out = g; rc = 0; }
    }
    if (rc == ES_ENOTFOUND) {
        char known[512];
        es_gpu_spec_names(path, known, sizeof known);
        es_err_set(err, ES_ENOTFOUND, "server.gpu: no GPU \"%s\" in %s (it has: %s)", name, path, known);
    }
    es_doc_destroy(doc);
    return rc;
}

void es_gpu_spec_names(const char *path, char *buf, size_t size)
{
    char pbuf[1024];
    path = default_path(path, pbuf, sizeof pbuf);
    buf[0] = '\0';
    es_doc_t *doc;
    const es_node_t *gpus;
    es_err_t err;
    if (open_doc(path, &doc, &gpus, &err) != 0) return;
    size_t off = 0;
    for (size_t i = 0; i < gpus->n && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", gpus->keys[i]);
    es_doc_destroy(doc);
}
