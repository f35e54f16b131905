/* libFuzzer target: one trace reader, read to the end (built once per format
 * with ES_FUZZ_TRACE_FORMAT; ES_TRACE_AUTO also exercises format detection).
 * The low bit of the input's length picks skip_bad_lines, so both the
 * failing and the skipping paths run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_trace.h"
#include "fuzz_util.h"

#ifndef ES_FUZZ_TRACE_FORMAT
#define ES_FUZZ_TRACE_FORMAT ES_TRACE_AUTO
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = es_fuzz_file("trace", data, size);
    es_err_t err;
    es_err_clear(&err);
    es_trace_t *t = NULL;
    if (es_trace_open(path, ES_FUZZ_TRACE_FORMAT, 512, size & 1, &t, &err) == 0) {
        es_trace_rec_t rec;
        volatile uint64_t sink = 0;
        int rc;
        while ((rc = es_trace_next(t, &rec, &err)) == 1) {
            /* touch every borrowed array so ASan checks its bounds */
            for (uint32_t i = 0; i < rec.nhash; i++) sink += rec.hash_ids[i];
            for (uint32_t i = 0; i < rec.nsegs; i++) sink += rec.segs[i].id + rec.segs[i].len;
            for (uint32_t i = 0; i < rec.nheaders; i++) sink += (uint64_t)strlen(rec.headers[i].name) + strlen(rec.headers[i].value);
            if (rec.path) sink += strlen(rec.path);
            if (rec.model) sink += strlen(rec.model);
            if (rec.objective) sink += strlen(rec.objective);
            if (rec.session) sink += strlen(rec.session);
            if (rec.lora) sink += strlen(rec.lora);
        }
        (void)sink;
        es_trace_close(t);
    }
    unlink(path);
    return 0;
}
