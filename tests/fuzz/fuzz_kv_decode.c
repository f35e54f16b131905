/* libFuzzer target: eppsim gateway's KV event decoder (es_live_kv_decode):
 * any bytes, as a subscriber may receive from a publisher it does not
 * control; no crash, no overread, no allocation beyond a few times the
 * input (libFuzzer's malloc limit catches a declared-size bomb). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_live_gw.h"

static void count(void *ud, const es_kv_event_t *ev)
{
    if (ev->kind != ES_KV_BLOCK_STORED && ev->kind != ES_KV_BLOCK_REMOVED && ev->kind != ES_KV_ALL_CLEARED) abort();
    (*(uint64_t *)ud)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);   /* exactly size bytes: an overread is caught */
    if (!buf) return 0;
    memcpy(buf, data, size);
    uint64_t n = 0;
    int r = es_live_kv_decode(buf, size, 0, 0, count, &n);
    if (r >= 0 && (uint64_t)r != n) abort();
    free(buf);
    return 0;
}
