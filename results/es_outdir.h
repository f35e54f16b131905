/*
 * es_outdir.h -- output directories written atomically.
 *
 * A run writes into `<dir>.tmp-<pid>` and renames it to `<dir>` only when
 * everything is written: an interrupted or failed run leaves no partial
 * output, and an existing directory is replaced only on request (--force).
 * Single files are written to `<file>.tmp` and renamed the same way.
 */
#ifndef ES_OUTDIR_H
#define ES_OUTDIR_H

#include <stdbool.h>
#include <stdio.h>

#include "es_err.h"

typedef struct es_outdir {
    char final[1024];   /* where the results end up */
    char tmp[1100];     /* where they are written meanwhile */
} es_outdir_t;

/* Creates the temporary directory (and parents of the final one).  Fails if
 * the final directory exists and !force. */
int es_outdir_begin(es_outdir_t *o, const char *final, bool force, es_err_t *err);
/* Path of a file inside the temporary directory. */
const char *es_outdir_file(const es_outdir_t *o, const char *name, char *buf, size_t size);
/* Moves the temporary directory into place (replacing the old one). */
int es_outdir_commit(es_outdir_t *o, es_err_t *err);
/* Removes the temporary directory and everything in it. */
void es_outdir_abort(es_outdir_t *o);

/* Removes a directory tree (like rm -rf); missing is fine. */
int es_rmtree(const char *path);
/* mkdir -p */
int es_mkdirs(const char *path);

/* Writes a whole file atomically (tmp + rename). */
int es_write_file_atomic(const char *path, const char *data, size_t len, es_err_t *err);

#endif /* ES_OUTDIR_H */
