/* libFuzzer target: `eppsim load`'s response reader without sockets.  The
 * input is fed in pieces (the first byte picks the piece size, as reads
 * split a stream) to the HTTP response + server-sent-event parser; a
 * complete response is followed by a reset, as a kept-alive connection is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_live_client.h"

static void on_token(void *ud) { (*(uint64_t *)ud)++; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t piece = (size_t)data[0] % 64 + 1;
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    uint64_t seen = 0;
    es_live_sse_t s;
    es_live_sse_init(&s);
    s.on_token = on_token;
    s.keep_header = "x-session-token";   /* the session-token capture is parsed too */
    s.ud = &seen;
    s.raw = (data[0] >> 6) & 1;   /* a /metrics page read whole (eppsim load's scrapes) */
    while (left > 0) {
        size_t n = left < piece ? left : piece;
        if (es_live_sse_feed(&s, p, n) < 0) break;
        p += n;
        left -= n;
        if (s.complete) es_live_sse_reset(&s);
    }
    if (!s.failed) es_live_sse_eof(&s);
    es_live_sse_fini(&s);
    return 0;
}
