/* outdir.c -- atomic output directories and files. */
#define _XOPEN_SOURCE 700
#include "es_outdir.h"

#include <assert.h>
#include <errno.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int es_mkdirs(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

int es_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A directory named <x>.tmp-<pid> or <x>.old-<pid> whose process is gone is
 * what a killed run (SIGKILL, power loss) left behind: nothing else removes
 * it.  A pid that is alive (another run, or a reused pid) is left alone. */
static bool stale_entry(const char *name, const char *only)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return false;
    if (only && (dot - name != (long)strlen(only) || strncmp(name, only, strlen(only)) != 0)) return false;
    if ((strncmp(dot, ".tmp-", 5) != 0 && strncmp(dot, ".old-", 5) != 0) || !dot[5]) return false;
    char *end;
    errno = 0;
    long pid = strtol(dot + 5, &end, 10);
    if (*end || errno || pid <= 1 || pid == (long)getpid()) return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int es_outdir_clean_stale(const char *root, const char *only)
{
    DIR *d = opendir(root && *root ? root : ".");
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!stale_entry(de->d_name, only)) continue;
        char p[4096];
        struct stat st;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", root && *root ? root : ".", de->d_name) >= sizeof p) continue;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && es_rmtree(p) == 0) n++;
    }
    closedir(d);
    return n;
}

int es_outdir_begin(es_outdir_t *o, const char *final, bool force, es_err_t *err)
{
    size_t len = strlen(final);
    if (len == 0) return es_err_set(err, ES_EINVAL, "output directory: empty path");
    if (len > ES_OUTDIR_MAX)
        return es_err_set(err, ES_EINVAL, "output directory: path is %zu bytes, longer than the %d allowed", len,
                          ES_OUTDIR_MAX);
    memcpy(o->final, final, len + 1);
    while (len > 1 && o->final[len - 1] == '/') o->final[--len] = '\0';   /* "out/" is "out" */
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp-%ld", o->final, (long)getpid());
    o->force = force;
    struct stat st;
    if (!force && lstat(o->final, &st) == 0)
        return es_err_set(err, ES_EINVAL, "%s: exists (use --force to replace it, or --out DIR)", o->final);
    /* parents of the final directory */
    char parent[sizeof o->final];
    snprintf(parent, sizeof parent, "%s", o->final);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (es_mkdirs(parent)) return es_err_set(err, ES_EIO, "%s: cannot create: %s", parent, strerror(errno));
    }
    /* leftovers of killed runs into this same directory (only those: other
     * names in the parent may be anything of the user's) */
    const char *base = strrchr(o->final, '/');
    o->stale_removed = es_outdir_clean_stale(slash ? (slash != parent ? parent : "/") : ".", base ? base + 1 : o->final);
    es_rmtree(o->tmp);
    if (es_mkdirs(o->tmp)) return es_err_set(err, ES_EIO, "%s: cannot create: %s", o->tmp, strerror(errno));
    return 0;
}

const char *es_outdir_file(const es_outdir_t *o, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", o->tmp, name);
    assert(n > 0 && (size_t)n < size);   /* callers size buf for ES_OUTDIR_MAX */
    (void)n;
    return buf;
}

int es_outdir_commit(es_outdir_t *o, es_err_t *err)
{
    struct stat st;
    if (lstat(o->final, &st) == 0) {
        if (!o->force)   /* appeared while the run ran */
            return es_err_set(err, ES_EINVAL, "%s: exists (use --force to replace it, or --out DIR)", o->final);
        char old[sizeof o->final + 32];
        snprintf(old, sizeof old, "%s.old-%ld", o->final, (long)getpid());
        if (rename(o->final, old)) return es_err_set(err, ES_EIO, "%s: cannot replace: %s", o->final, strerror(errno));
        if (rename(o->tmp, o->final)) {
            rename(old, o->final);
            return es_err_set(err, ES_EIO, "%s: cannot rename: %s", o->final, strerror(errno));
        }
        es_rmtree(old);
        return 0;
    }
    if (rename(o->tmp, o->final)) return es_err_set(err, ES_EIO, "%s: cannot rename: %s", o->final, strerror(errno));
    return 0;
}

void es_outdir_abort(es_outdir_t *o)
{
    es_rmtree(o->tmp);
}

int es_write_file_atomic(const char *path, const char *data, size_t len, es_err_t *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp)
        return es_err_set(err, ES_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return es_err_set(err, ES_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    size_t w = fwrite(data, 1, len, f);
    int bad = ferror(f) | (w != len) | (fflush(f) != 0) | (fsync(fileno(f)) != 0);   /* on disk before the rename */
    if (fclose(f) || bad) { remove(tmp); return es_err_set(err, ES_EIO, "%s: write failed", path); }
    if (rename(tmp, path)) { remove(tmp); return es_err_set(err, ES_EIO, "%s: cannot rename: %s", path, strerror(errno)); }
    return 0;
}
