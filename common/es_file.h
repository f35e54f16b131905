/*
 * es_file.h -- opening the files users name, safely.
 *
 * Only regular files are read: a FIFO, a device (/dev/zero) or a directory
 * named as a config or trace would be read until memory runs out, or block
 * forever.  Configuration files also have a size cap (ES_CONFIG_MAX_BYTES),
 * so a mistaken path to a huge file fails at once with a message.
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

/* The largest configuration file eppsim reads (experiments, EPP configs,
 * manifests, sweep specs, explain states, profiles, summaries): 16 MiB. */
#define ES_CONFIG_MAX_BYTES (16LL << 20)

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
        es_err_set(err, ES_EINVAL, "%s: %lld bytes, larger than the %lld a configuration file may have", path,
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
