/* cli.c -- small helpers shared by the subcommands (in es_app, so tests can call subcommands). */
#include "es_cli.h"

#include <stdio.h>
#include <string.h>

int es_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* The location a message starts with, "FILE:LINE: ", or 0. */
static size_t location_len(const char *msg)
{
    const char *sep = strstr(msg, ": ");
    if (!sep) return 0;
    const char *d = sep;
    while (d > msg && d[-1] >= '0' && d[-1] <= '9') d--;
    return d < sep && d > msg && d[-1] == ':' ? (size_t)(sep + 2 - msg) : 0;
}

void es_cli_print_set_error(const char *msg, const char *const *sets, size_t nsets)
{
    const char *from = NULL;
    size_t loc = location_len(msg);
    const char *body = msg + loc;
    for (size_t i = 0; i < nsets && !from; i++) {
        size_t key = strcspn(sets[i], "=");
        char needle[520];
        snprintf(needle, sizeof needle, " %.*s: ", (int)(key < 512 ? key : 512), sets[i]);
        /* the key itself, or a dotted prefix of it (server.x=: "server: ...", a.b.c=1: "a.b: ...") */
        size_t m = strcspn(body, ":");
        if (strstr(msg, needle) || (m > 0 && m <= key && !strncmp(body, sets[i], m) &&
                                    (sets[i][m] == '.' || sets[i][m] == '=')))
            from = sets[i];
    }
    /* a --set value has no line in any file: the option is its place */
    if (from) fprintf(stderr, "eppsim: --set %s: %s\n", from, body);
    else fprintf(stderr, "eppsim: %s\n", msg[0] ? msg : "out of memory");
}
