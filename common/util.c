/*
 * util.c -- see es_util.h.
 */
#include "es_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_err.h"
#include "es_str.h"

int es_file_read(const char *path, char **text, size_t *len)
{
    /* O_NONBLOCK: opening a FIFO without a writer must not wait for one */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ES_ENOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
        close(fd);
        errno = EINVAL;
        return ES_EINVAL;   /* a device (/dev/zero) or a directory */
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) { close(fd); return ES_ENOTFOUND; }
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return ES_ENOMEM; }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); fclose(f); return ES_ENOMEM; }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
        if (n > (size_t)ES_FILE_READ_MAX) {   /* a pipe that never ends, a huge file */
            free(buf);
            fclose(f);
            errno = EFBIG;
            return ES_ERANGE;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return ES_EIO; }
    buf[n] = '\0';
    *text = buf;
    if (len) *len = n;
    return 0;
}

void es_json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

int es_go_duration_parse(const char *s, double unit_ns, double *out)
{
    /* each suffix's length in ns divided by unit_ns: exact for the powers of
     * ten used here, so "50ms" in ms is exactly 50 */
    if (!s || !*s) return ES_EINVAL;
    if (strcmp(s, "0") == 0) { *out = 0; return 0; }
    double total = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double v = es_strtod(p, &end);   /* no NaN, infinity or hex (a NaN passed every check) */
        if (end == p || v < 0) return ES_EINVAL;
        p = end;
        double ns;
        if (!strncmp(p, "ns", 2)) { ns = 1; p += 2; }
        else if (!strncmp(p, "us", 2)) { ns = 1e3; p += 2; }
        else if (!strncmp(p, "\xc2\xb5s", 3)) { ns = 1e3; p += 3; }   /* µs */
        else if (!strncmp(p, "ms", 2)) { ns = 1e6; p += 2; }
        else if (*p == 's') { ns = 1e9; p++; }
        else if (*p == 'm') { ns = 60e9; p++; }
        else if (*p == 'h') { ns = 3600e9; p++; }
        else return ES_EINVAL;
        total += v * (ns / unit_ns);
    }
    if (!(total * unit_ns <= 9e18)) return ES_ERANGE;
    *out = total;
    return 0;
}

bool es_path_prefix_match(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/') n--;
    if (strncmp(path, prefix, n) != 0) return false;
    return n == 1 || path[n] == '\0' || path[n] == '/';
}

long es_key_path_part(const char *p, char *part, size_t size, const char **next)
{
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    *next = dot ? dot + 1 : NULL;
    if (len >= size) return -1;
    memcpy(part, p, len);
    part[len] = '\0';
    return (long)len;
}

void es_oom(size_t bytes)
{
    fprintf(stderr, "eppsim: out of memory (%zu bytes)\n", bytes);
    abort();
}
