/*
 * es_util.h -- the small helpers several modules need, one copy each:
 * reading a whole file, writing a JSON string, parsing a Go duration,
 * matching a Gateway API PathPrefix, walking a dotted key path.
 */
#ifndef ES_UTIL_H
#define ES_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- files ---- */

/* The most es_file_read reads: 64 MiB (configuration files, summaries,
 * sweep tables); more is refused rather than read until memory runs out. */
#define ES_FILE_READ_MAX (64LL << 20)

/* Reads the whole file at path into *text (NUL-terminated, caller frees);
 * *len (may be NULL) is its length without the NUL.  Reads to the end, so
 * pipes and /proc files work; devices (/dev/zero) and directories are
 * refused.  Returns 0, ES_ENOTFOUND when the file cannot be opened (errno
 * says why: missing, no permission, ...), ES_EINVAL for a device or a
 * directory, ES_ERANGE beyond ES_FILE_READ_MAX, ES_EIO when reading fails,
 * ES_ENOMEM. */
int es_file_read(const char *path, char **text, size_t *len);

/* ---- JSON ---- */

/* Writes s as a JSON string literal: quotes, backslash escapes for '"' and
 * '\\', \n \r \t, \u00XX for other control bytes; UTF-8 passes through.
 * NULL writes "". */
void es_json_write_string(FILE *f, const char *s);

/* ---- Go durations ---- */

/* Parses a Go time.Duration text ("50ms", "1m30s", "0.5s", "0"; units ns,
 * us, µs, ms, s, m, h; no sign) into a number of units of `unit_ns`
 * nanoseconds each (1 for ns, 1e6 for ms).  Returns 0, ES_EINVAL (syntax,
 * negative, overflow of a number) or ES_ERANGE (over 9e18 ns). */
int es_go_duration_parse(const char *s, double unit_ns, double *out);

/* ---- Gateway API paths ---- */

/* HTTPRoute PathPrefix: prefix matches path by whole path elements
 * ("/get" matches "/get" and "/get/x", not "/getter"); trailing slashes of
 * the prefix are ignored; "/" matches every path. */
bool es_path_prefix_match(const char *prefix, const char *path);

/* ---- open addressing ---- */

/* Backward-shift deletion in a linear-probing table of mask + 1 slots (a
 * power of two): after emptying slot `hole`, walk j = hole+1, hole+2, ...
 * until an empty slot; the entry at j, whose home slot is `home`, moves into
 * the hole (which then becomes j) exactly when its home is not cyclically in
 * (hole, j].  Keeps every probe run intact without tombstones and keeps the
 * entries of one home in their order.  Used by es_hmap (es_hmap.h) and the
 * KV-cache map (a multimap of 8-byte tag slots); tested in tests/unit/common. */
static inline bool es_oa_moves_back(size_t home, size_t hole, size_t j, size_t mask)
{
    return ((j - home) & mask) >= ((j - hole) & mask);
}

/* ---- dotted key paths ---- */

/* One component of a dotted key path ("server.gpu"): copies the text up to
 * the next '.' (or the end) into part and returns its length; *next is the
 * text after the dot, or NULL after the last component.  Returns -1 when the
 * component does not fit in size (part is then unusable). */
long es_key_path_part(const char *p, char *part, size_t size, const char **next);

#endif /* ES_UTIL_H */
