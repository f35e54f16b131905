/*
 * fuzz_util.h -- helpers shared by the libFuzzer targets (tests/fuzz).
 *
 * Parsers that take text get a NUL-terminated copy of the input; parsers
 * that take a path get the input written to a file private to this process
 * (libFuzzer -fork/-jobs run several processes at once).
 */
#ifndef ES_FUZZ_UTIL_H
#define ES_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The input as a C string (embedded NULs end it early, as they would in a file read as text). */
static inline char *es_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Writes the input to a per-process file named after `tag`; returns its path (static buffer). */
static inline const char *es_fuzz_file(const char *tag, const uint8_t *data, size_t size)
{
    static char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/eppsim-fuzz-%ld-%s", dir && *dir ? dir : "/tmp", (long)getpid(), tag);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f)) abort();
    return path;
}

#endif /* ES_FUZZ_UTIL_H */
