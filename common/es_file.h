/*
 * es_file.h -- opening the files users name, safely.
 *
 * Streamed inputs (traces, decision records) are read from regular files
 * only: a FIFO, a device (/dev/zero) or a directory would be read until
 * memory or disk runs out, or block forever.  (Whole configuration files go
 * through es_file_read, es_util.h, which also takes pipes, up to a cap.)
 */
#ifndef ES_FILE_H
#define ES_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_err.h"

/* Opens path for reading ("r" or "rb") if it is a regular file of at most
 * max_bytes (0: any size); else NULL with err set ("path: ..."). */
static inline FILE *es_open_input(const char *path, const char *mode, long long max_bytes, es_err_t *err)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        es_err_set(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        es_err_set(err, ES_EINVAL, "%s: not a regular file (a FIFO, device or directory cannot be read)", path);
        return NULL;
    }
    if (max_bytes > 0 && (long long)st.st_size > max_bytes) {
        close(fd);
        es_err_set(err, ES_EINVAL, "%s: %lld bytes, larger than the %lld allowed", path,
                   (long long)st.st_size, max_bytes);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, mode);
    if (!f) {
        es_err_set(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

#endif /* ES_FILE_H */
