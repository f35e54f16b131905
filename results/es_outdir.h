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

/* The longest output directory path accepted (bytes): every path derived
 * from it (temporary names, files, plots) then fits the buffers below, so
 * nothing is ever cut short.  Longer paths are refused before anything is
 * written. */
#define ES_OUTDIR_MAX 960

typedef struct es_outdir {
    char final[ES_OUTDIR_MAX + 1];   /* where the results end up */
    char tmp[ES_OUTDIR_MAX + 32];    /* where they are written meanwhile */
    bool force;                      /* replace an existing final directory */
    int  stale_removed;              /* stale temporary directories begin removed */
} es_outdir_t;

/* Creates the temporary directory (and parents of the final one).  Fails if
 * the final directory exists and !force, or if its path is longer than
 * ES_OUTDIR_MAX. */
int es_outdir_begin(es_outdir_t *o, const char *final, bool force, es_err_t *err);
/* Removes the <x>.tmp-<pid> and <x>.old-<pid> directories in root whose
 * process no longer exists (left by a killed run); only <only>.tmp-<pid>
 * ones when only is not NULL.  Returns how many.  es_outdir_begin calls it
 * on the final directory's parent for the final directory's own name. */
int es_outdir_clean_stale(const char *root, const char *only);
/* Path of a file inside the temporary directory. */
const char *es_outdir_file(const es_outdir_t *o, const char *name, char *buf, size_t size);
/* Moves the temporary directory into place; an existing final directory is
 * replaced only with force (checked again here: the same path as begin's). */
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
