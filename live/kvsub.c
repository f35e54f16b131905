/*
 * kvsub.c -- the reading side of vLLM's KV event stream for `eppsim
 * gateway` (es_live_gw.h): one KVEventBatch payload (msgpack, the layout of
 * es_live_kvev.h: vllm/distributed/kv_events.py) into es_kv_event_t, one
 * per block, as the precise prefix producer consumes them.
 */
#include "es_live_gw.h"

#include <string.h>

#include <msgpack.h>

static bool tag_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

/* Each unsigned integer hash of arr as one event of `kind`; other hash forms are skipped. */
static int hashes(const msgpack_object *arr, es_kv_event_kind_t kind, uint32_t endpoint, es_time_t now,
                  es_kv_event_fn fn, void *ud)
{
    if (arr->type != MSGPACK_OBJECT_ARRAY) return 0;
    int n = 0;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *h = &arr->via.array.ptr[i];
        if (h->type != MSGPACK_OBJECT_POSITIVE_INTEGER) continue;   /* byte-string hashes: not eppsim's */
        es_kv_event_t ev = {kind, endpoint, h->via.u64, now};
        fn(ud, &ev);
        n++;
    }
    return n;
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* msgpack-c's unpacker allocates a container's elements as its header
 * declares them, before reading them: a 5-byte header could ask for 64 GiB.
 * This walk (headers and lengths only; the unpacker still decodes) accepts a
 * payload only when every declared element and byte fits in what is left, so
 * the unpacker allocates at most a few times the payload's size. */
static bool sizes_fit(const unsigned char *p, size_t len)
{
    size_t pos = 0, pending = 1;   /* objects still to read */
    while (pending > 0) {
        if (pos >= len) return false;
        unsigned c = p[pos++];
        pending--;
        uint64_t count = 0, skip = 0;
        int lenbytes = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) continue;
        if (c >= 0x80 && c <= 0x8f) count = 2u * (c & 0x0f);
        else if (c >= 0x90 && c <= 0x9f) count = c & 0x0f;
        else if (c >= 0xa0 && c <= 0xbf) skip = c & 0x1f;
        else switch (c) {
        case 0xc4: case 0xd9: lenbytes = 1; break;
        case 0xc5: case 0xda: lenbytes = 2; break;
        case 0xc6: case 0xdb: lenbytes = 4; break;
        case 0xc7: lenbytes = 1; skip = 1; break;
        case 0xc8: lenbytes = 2; skip = 1; break;
        case 0xc9: lenbytes = 4; skip = 1; break;
        case 0xca: skip = 4; break;
        case 0xcb: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break;
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: case 0xdd: case 0xde: case 0xdf: {
            int nb = c == 0xdc || c == 0xde ? 2 : 4;
            if (len - pos < (size_t)nb) return false;
            count = be(p + pos, nb) * (c >= 0xde ? 2u : 1u);
            pos += (size_t)nb;
            break;
        }
        default: return false;   /* 0xc1: never used */
        }
        if (lenbytes) {
            if (len - pos < (size_t)lenbytes) return false;
            skip += be(p + pos, lenbytes);
            pos += (size_t)lenbytes;
        }
        if (skip > len - pos) return false;
        pos += (size_t)skip;
        if (count > len - pos || pending + count > len - pos) return false;   /* each element needs a byte */
        pending += (size_t)count;
    }
    return true;
}

int es_live_kv_decode(const char *data, size_t len, uint32_t endpoint, es_time_t now, es_kv_event_fn fn, void *ud)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int n = -1;
    if (!sizes_fit((const unsigned char *)data, len)) goto out;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS) goto out;
    const msgpack_object *top = &u.data;
    /* [ts, [event...], data_parallel_rank] (the rank is optional in older vLLM) */
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size < 2) goto out;
    const msgpack_object *evs = &top->via.array.ptr[1];
    if (evs->type != MSGPACK_OBJECT_ARRAY) goto out;
    n = 0;
    for (uint32_t i = 0; i < evs->via.array.size; i++) {
        const msgpack_object *e = &evs->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size == 0) continue;
        const msgpack_object *tag = &e->via.array.ptr[0];
        if (tag_is(tag, "BlockStored") && e->via.array.size >= 2) {
            n += hashes(&e->via.array.ptr[1], ES_KV_BLOCK_STORED, endpoint, now, fn, ud);
        } else if (tag_is(tag, "BlockRemoved") && e->via.array.size >= 2) {
            n += hashes(&e->via.array.ptr[1], ES_KV_BLOCK_REMOVED, endpoint, now, fn, ud);
        } else if (tag_is(tag, "AllBlocksCleared")) {
            es_kv_event_t ev = {ES_KV_ALL_CLEARED, endpoint, 0, now};
            fn(ud, &ev);
            n++;
        }
    }
out:
    msgpack_unpacked_destroy(&u);
    return n;
}
