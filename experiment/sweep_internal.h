/*
 * sweep_internal.h -- what the parts of the sweep share (experiment/ only):
 *   sweep.c        specs, key paths, point documents, shards
 *   sweep_table.c  sweep.csv / sweep.json, merge, reading results back
 *   sweep_run.c    running the points on the libuv thread pool
 */
#ifndef ESI_SWEEP_INTERNAL_H
#define ESI_SWEEP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "es_doc.h"

/* A regular file exists at path. */
bool  esi_sweep_file_exists(const char *path);
/* Text of a value for sweep.csv and labels: a scalar's text, JSON otherwise;
 * NULL (the base's value) gives "".  Caller frees; NULL when out of memory. */
char *esi_sweep_node_text(const es_node_t *n);
/* <out_dir>/points/<point>-seed<seed> */
void  esi_sweep_point_dir(const char *out_dir, size_t point, uint64_t seed, char *buf, size_t size);

#endif /* ESI_SWEEP_INTERNAL_H */
