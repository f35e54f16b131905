/*
 * es_paths.h -- where eppsim finds its bundled data (GPU profiles, traces).
 *
 * EPPSIM_DATA_DIR overrides; otherwise the source tree's data/ folder, whose
 * path is compiled in (ES_SOURCE_DIR), so a build runs from anywhere.
 */
#ifndef ES_PATHS_H
#define ES_PATHS_H

#include <stdio.h>
#include <stdlib.h>

#ifndef ES_SOURCE_DIR
#define ES_SOURCE_DIR "."
#endif

static inline const char *es_data_dir(void)
{
    const char *env = getenv("EPPSIM_DATA_DIR");
    return env && *env ? env : ES_SOURCE_DIR "/data";
}

/* Writes <data dir>/<rel> into buf. */
static inline const char *es_data_path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", es_data_dir(), rel);
    return buf;
}

#endif /* ES_PATHS_H */
