/*
 * es_gpu_spec.h -- GPU datasheets: what the any-model step time and the KV
 * capacity need to know about a GPU it has no measured profile for.
 *
 * A datasheet file (data/gpus.yaml ships H100 SXM, H200 SXM, A100 SXM 80GB,
 * L40S, B200; format in docs/server.md) maps GPU names to peak dense
 * BF16/FP8 FLOP/s, HBM bandwidth, memory as the runtime reports it, and the
 * per-direction NVLink and PCIe bandwidths, each entry citing its source.
 * Units here: FLOP/s, bytes/s, bytes.  A GPU without FP8 tensor cores has
 * fp8_flops 0; one without NVLink has link_Bps 0.
 */
#ifndef ES_GPU_SPEC_H
#define ES_GPU_SPEC_H

#include <stddef.h>

#include "es_err.h"

typedef struct es_gpu_spec {
    char   name[64];          /* key in the datasheet file */
    char   device[128];       /* marketing name */
    double memory_bytes;      /* one GPU, as the CUDA runtime reports it */
    double hbm_Bps;           /* peak memory bandwidth */
    double bf16_flops;        /* peak dense BF16 tensor FLOP/s */
    double fp8_flops;         /* peak dense FP8 tensor FLOP/s; 0 = none */
    double link_Bps;          /* NVLink, one direction; 0 = none (PCIe only) */
    double pcie_Bps;          /* PCIe, one direction */
    char   source[384];       /* where the numbers come from */
} es_gpu_spec_t;

/* Looks `name` up in the datasheet file `path` (NULL: the shipped
 * data/gpus.yaml).  Malformed files fail with "file:line: gpus.<name>.<key>:
 * message"; an unknown name fails with ES_ENOTFOUND listing the known ones. */
int es_gpu_spec_lookup(const char *path, const char *name, es_gpu_spec_t *out, es_err_t *err);

/* "a, b, c": the GPU names a datasheet file holds (sorted as written). */
void es_gpu_spec_names(const char *path, char *buf, size_t size);

#endif /* ES_GPU_SPEC_H */
