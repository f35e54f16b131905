/*
 * failio.c -- an LD_PRELOAD shim for tests/cli/security.sh: rename() onto a
 * file whose name is $ES_FAIL_RENAME fails with ENOSPC, as on a full disk,
 * so the test can check that eppsim then commits nothing and exits non-zero.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rename(const char *from, const char *to)
{
    const char *fail = getenv("ES_FAIL_RENAME");
    const char *base = strrchr(to, '/');
    base = base ? base + 1 : to;
    if (fail && *fail && strcmp(base, fail) == 0) {
        errno = ENOSPC;
        return -1;
    }
    int (*real)(const char *, const char *) = NULL;
    void *sym = dlsym(RTLD_NEXT, "rename");
    memcpy(&real, &sym, sizeof real);   /* object to function pointer, without a cast ISO C forbids */
    return real ? real(from, to) : (errno = ENOSYS, -1);
}
