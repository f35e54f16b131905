/* libFuzzer target: eppsim serve's request path without sockets.  The input
 * is fed to the HTTP assembler in pieces (the first byte picks the piece
 * size, as reads split a stream), and every whole request's body goes to the
 * OpenAI request mapping, as /v1/completions and /v1/chat/completions do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_live.h"
#include "es_live_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t piece = (size_t)data[0] % 64 + 1;
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    es_live_http_t h;
    es_live_http_init(&h, 2048, 4096);
    while (left > 0) {
        size_t n = left < piece ? left : piece, used;
        int rc = es_live_http_feed(&h, p, n, &used);
        if (rc >= 400) { (void)es_live_http_error(&h, rc); break; }
        p += used;
        left -= used;
        if (rc == ES_LIVE_HTTP_DONE) {
            es_live_completion_t c;
            char msg[160];
            if (es_live_parse_completion(h.body.data ? h.body.data : "", h.body.len, h.url_len & 1, &c, msg,
                                         sizeof msg) == 0) {
                es_segment_t *segs = malloc(sizeof *segs * es_live_segment_count(c.prompt_len));
                es_content_t content;
                if (segs) es_live_tokenize(c.prompt, c.prompt_len, segs, &content);
                free(segs);
                es_live_completion_fini(&c);
            }
            es_live_http_next(&h);
        } else if (used < n) {
            break;   /* paused or stuck: nothing more is read */
        }
    }
    es_live_http_fini(&h);
    return 0;
}
