/* libFuzzer target: eppsim gateway's scrape of a pod's /metrics page
 * (es_live_parse_metrics): any bytes, no crash, no overread; a page it
 * accepts has a KV usage in [0, 1] and LoRA lists within their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "es_live_gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);   /* exactly size bytes: an overread is caught */
    es_live_scrape_t *s = malloc(sizeof *s);
    if (!text || !s) { free(text); free(s); return 0; }
    memcpy(text, data, size);
    char msg[128];
    if (es_live_parse_metrics(text, size, s, msg, sizeof msg) == 0) {
        if (!(s->m.kv_cache_usage >= 0 && s->m.kv_cache_usage <= 1)) abort();
        if (s->m.n_running_lora > ES_LORA_LIST_MAX || s->m.n_waiting_lora > ES_LORA_LIST_MAX) abort();
        for (uint32_t i = 0; i < s->m.n_running_lora; i++) if (strlen(s->m.running_lora[i]) >= ES_LIVE_LORA_NAME_MAX) abort();
    }
    free(s);
    free(text);
    return 0;
}
