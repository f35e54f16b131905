/*
 * prefix_index.c -- block hashing (character view, plain text, xxh64) and the
 * prefix index shared by the approximate and the precise prefix scorers.
 *
 * Index layout: an es_hmap (common/es_hmap.h: linear probing, backward-shift
 * deletion, load <= 1/2) maps a block hash to the head of a singly linked
 * list of holder nodes {key, pod}; each node is also
 * in its pod's circular LRU list, so that the common add -- a new key on a
 * full pod -- reuses the pod's oldest node in place (a rotation of the list).
 * A lookup costs one probe sequence plus the holders (a handful of pods).
 * Nodes live in one array with a free list, so after warm-up no allocation
 * happens (the arrays only grow while the index fills up).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "es_alloc.h"
#include "es_util.h"

/* ------------------------------------------------------------------ */
/* xxh64, written from the published algorithm description            */
/* ------------------------------------------------------------------ */
/* xxHash64's PRIME64_1..5, as its specification names them */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t xround(uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = es_rotl64(acc, 31);
    return acc * P1;
}

static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
    acc ^= xround(0, v);
    return acc * P1 + P4;
}

uint64_t esi_xxh64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        const unsigned char *limit = end - 32;
        do {
            v1 = xround(v1, rd64(p)); v2 = xround(v2, rd64(p + 8));
            v3 = xround(v3, rd64(p + 16)); v4 = xround(v4, rd64(p + 24));
            p += 32;
        } while (p <= limit);
        h = es_rotl64(v1, 1) + es_rotl64(v2, 7) + es_rotl64(v3, 12) + es_rotl64(v4, 18);
        h = xmerge(h, v1); h = xmerge(h, v2); h = xmerge(h, v3); h = xmerge(h, v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)len;
    while (p + 8 <= end) {
        h ^= xround(0, rd64(p));
        h = es_rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)rd32(p) * P1;
        h = es_rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p) * P5;
        h = es_rotl64(h, 11) * P1;
        p++;
    }
    h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32;
    return h;
}

/* ------------------------------------------------------------------ */
/* hashing                                                             */
/* ------------------------------------------------------------------ */

/* A piece of a block: characters [o0 of token p0, o1 of token p1) of a
 * segment.  The characters are a function of (segment, position), so the
 * piece's description identifies its text.  Its value does not depend on the
 * chain, so that only one mix per piece is serial (the chain's latency, not
 * the walk through tokens, bounds this loop). */
static inline uint64_t piece_value(uint64_t id, uint32_t p0, uint32_t o0, uint32_t p1, uint32_t o1)
{
    uint64_t a = ((uint64_t)p0 << 3) | o0, b = ((uint64_t)p1 << 3) | o1;
    return es_mix64(es_mix64(id ^ ES_HASH_PIECE_DOMAIN) ^ a ^ (b << 32) ^ (b >> 32) * ES_HASH_WEYL);
}

static inline uint64_t piece(uint64_t h, uint64_t id, uint32_t p0, uint32_t o0, uint32_t p1,
                             uint32_t o1)
{
    return es_mix64(h ^ piece_value(id, p0, o0, p1, o1));
}

/* Sum of the characters of n tokens from fraction f, one at a time. */
static uint32_t chars_from(uint32_t f, uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++, f += ESI_TOKEN_WEYL) sum += esi_frac_chars(f);
    return sum;
}

void esi_charview_init(esi_charview_t *cv)
{
    const uint32_t shift = 32 - ESI_CV_BITS;
    for (uint32_t b = 0; b < (1u << ESI_CV_BITS); b++) {
        cv->sum4[b] = (uint8_t)chars_from(b << shift, 4);
        cv->sum8[b] = (uint8_t)chars_from(b << shift, 8);
    }
    /* a token's count steps where its fraction crosses k * 2^32 / 7 (k = 1..6)
     * or wraps to 0: the buckets holding such a point for token i of the run
     * are mixed */
    for (uint32_t k = 0; k < 7; k++) {
        uint32_t t = (uint32_t)(((uint64_t)k << 32) / 7 + (k ? 1 : 0));   /* first fraction of count k + 1 */
        for (uint32_t i = 0; i < 8; i++) {
            uint32_t f = t - i * ESI_TOKEN_WEYL;   /* token i starts a step here */
            if (i < 4) cv->sum4[f >> shift] = 0;
            cv->sum8[f >> shift] = 0;
        }
    }
}

size_t esi_char_block_hashes(const esi_charview_t *cv, const es_content_t *c, uint32_t C,
                             uint64_t seed, uint64_t *out, size_t max)
{
    if (max == 0 || C == 0) return 0;
    uint64_t h = seed ^ ES_HASH_CHAIN_DOMAIN;
    uint32_t fill = 0;
    size_t nb = 0;
    for (uint32_t si = 0; si < c->nsegs; si++) {
        const es_segment_t *sg = &c->segs[si];
        uint32_t pp = 0, po = 0;   /* start of the open piece in this segment */
        uint32_t pos = 0;
        while (pos < sg->len) {
            /* tokens that leave the open block short: only their characters
             * count (the hot loop: ~15 of 16 tokens; esi_token_chars with the
             * Weyl sequence stepped instead of multiplied) */
            uint32_t frac = esi_token_frac(sg->id, pos), tc;
            /* eight, then four at a time while all of them leave it short */
            while (pos + 8 < sg->len) {
                uint32_t q = cv->sum8[frac >> (32 - ESI_CV_BITS)];
                if (!q) q = chars_from(frac, 8);
                if (q + fill >= C) break;
                fill += q;
                pos += 8;
                frac += 8 * ESI_TOKEN_WEYL;
            }
            while (pos + 4 < sg->len) {
                uint32_t q = cv->sum4[frac >> (32 - ESI_CV_BITS)];
                if (!q) q = chars_from(frac, 4);
                if (q + fill >= C) break;
                fill += q;
                pos += 4;
                frac += 4 * ESI_TOKEN_WEYL;
            }
            while ((tc = esi_frac_chars(frac)) + fill < C) {
                fill += tc;
                if (++pos == sg->len) goto segment_done;
                frac += ESI_TOKEN_WEYL;
            }
            /* token pos completes one block or more */
            uint32_t used = 0;
            while (fill + (tc - used) >= C) {
                uint32_t end_off = used + (C - fill);
                h = piece(h, sg->id, pp, po, pos, end_off);
                out[nb++] = h;                /* the block's hash */
                if (nb == max) return nb;     /* input truncated to C * max chars */
                h ^= ES_HASH_CHAIN_DOMAIN;   /* parent of the next block */
                fill = 0;
                used = end_off;
                if (end_off == tc) { pp = pos + 1; po = 0; } else { pp = pos; po = end_off; }
            }
            fill += tc - used;
            pos++;
        }
    segment_done:
        if (pp < sg->len) h = piece(h, sg->id, pp, po, sg->len, 0);
    }
    /* partial last block, also when it is the only one (v0.10 prefixhash.GetBlockHashes) */
    if (fill > 0) out[nb++] = es_mix64(h ^ ES_HASH_PARTIAL_DOMAIN);
    return nb;
}

static uint64_t chunk_hash(const char *chunk, size_t len, uint64_t prev)
{
    unsigned char stackbuf[1024];
    unsigned char *buf = len + 8 <= sizeof stackbuf ? stackbuf : es_xmalloc(len + 8);
    memcpy(buf, chunk, len);
    for (int i = 0; i < 8; i++) buf[len + (size_t)i] = (unsigned char)(prev >> (8 * i));
    uint64_t h = esi_xxh64(buf, len + 8, 0);
    if (buf != stackbuf) free(buf);
    return h;
}

size_t esi_text_block_hashes(const char *text, size_t len, uint32_t C, uint64_t seed,
                             uint64_t *out, size_t max)
{
    if (C == 0 || len == 0 || max == 0) return 0;
    if (len > (size_t)C * max) len = (size_t)C * max;
    uint64_t prev = seed;
    size_t nb = 0, i = 0;
    for (; i + C <= len; i += C) out[nb++] = prev = chunk_hash(text + i, C, prev);
    if (i < len) out[nb++] = chunk_hash(text + i, len - i, prev);
    return nb;
}

size_t esi_text_full_block_keys(const char *text, uint32_t tokens_per_block, uint64_t *out,
                                size_t max)
{
    size_t C = (size_t)tokens_per_block * 4, len = strlen(text), nb = 0;
    uint64_t prev = ES_CONTENT_ROOT_HASH;
    for (size_t i = 0; C > 0 && i + C <= len && nb < max; i += C)
        out[nb++] = prev = chunk_hash(text + i, C, prev);
    return nb;
}

/* ------------------------------------------------------------------ */
/* index                                                               */
/* ------------------------------------------------------------------ */

void esi_pindex_init(esi_pindex_t *ix)
{
    memset(ix, 0, sizeof *ix);
    es_hmap_init(&ix->keys, 512);
    ix->capnodes = 512;
    ix->nodes = es_xmalloc(ix->capnodes * sizeof *ix->nodes);
    ix->nnodes = 1;   /* node 0 is the null node */
}

void esi_pindex_fini(esi_pindex_t *ix)
{
    es_hmap_fini(&ix->keys);
    free(ix->nodes); free(ix->pods);
    memset(ix, 0, sizeof *ix);
}

static void ensure_pod(esi_pindex_t *ix, uint32_t pod)
{
    if (pod < ix->npods) return;
    size_t nn = ix->npods ? ix->npods : 16;
    while (nn <= pod) nn *= 2;
    esi_ppod_t *np = es_xrealloc(ix->pods, nn * sizeof *np);
    memset(np + ix->npods, 0, (nn - ix->npods) * sizeof *np);
    ix->pods = np;
    ix->npods = nn;
}

/* A pod's entries form a circular list: p->mru is the newest, lnext leads
 * to older ones and the oldest is nodes[p->mru].lprev.  Replacing the oldest
 * by a new newest entry is then a rotation: p->mru = oldest. */
static inline uint32_t oldest_of(const esi_pindex_t *ix, const esi_ppod_t *p)
{
    return p->mru ? ix->nodes[p->mru].lprev : 0;
}

static void ring_unlink(esi_pindex_t *ix, esi_ppod_t *p, uint32_t ni)
{
    esi_pnode_t *n = &ix->nodes[ni];
    if (n->lnext == ni) { p->mru = 0; return; }
    ix->nodes[n->lprev].lnext = n->lnext;
    ix->nodes[n->lnext].lprev = n->lprev;
    if (p->mru == ni) p->mru = n->lnext;
}

static void ring_push_front(esi_pindex_t *ix, esi_ppod_t *p, uint32_t ni)
{
    esi_pnode_t *n = &ix->nodes[ni];
    if (!p->mru) {
        n->lprev = n->lnext = ni;
    } else {
        uint32_t h = p->mru, t = ix->nodes[h].lprev;
        n->lnext = h;
        n->lprev = t;
        ix->nodes[h].lprev = ni;
        ix->nodes[t].lnext = ni;
    }
    p->mru = ni;
}

/* es_hmap's key test: the slot's value is the head holder node, which has the key */
static bool node_has(const void *ix, uint32_t ni, uint64_t key) { return ((const esi_pindex_t *)ix)->nodes[ni].key == key; }

static inline size_t key_slot(const esi_pindex_t *ix, uint64_t key) { return es_hmap_probe(&ix->keys, key, node_has, ix); }

/* Unlinks node ni from its key's holder list; the key's slot goes when the
 * list empties (*at as in es_hmap_remove_at). */
static inline __attribute__((always_inline)) void unhold(esi_pindex_t *ix, uint32_t ni, size_t *at)
{
    size_t si = key_slot(ix, ix->nodes[ni].key);
    ES_ASSERT(ix->keys.slots[si].tag, "prefix index: node without a slot");
    uint32_t *link = &ix->keys.slots[si].val;
    while (*link != ni) link = &ix->nodes[*link].next;
    *link = ix->nodes[ni].next;
    if (!ix->keys.slots[si].val) es_hmap_remove_at(&ix->keys, si, at);
}

/* Removes node ni from its key and its pod, and frees it. */
static void drop_node(esi_pindex_t *ix, uint32_t ni)
{
    size_t none = SIZE_MAX;   /* tracks nothing */
    esi_ppod_t *p = &ix->pods[ix->nodes[ni].pod];
    unhold(ix, ni, &none);
    ring_unlink(ix, p, ni);
    p->count--;
    ix->nodes[ni].next = ix->freelist;
    ix->freelist = ni;
}

static uint32_t new_node(esi_pindex_t *ix)
{
    if (ix->freelist) {
        uint32_t ni = ix->freelist;
        ix->freelist = ix->nodes[ni].next;
        return ni;
    }
    if (ix->nnodes == ix->capnodes) {
        uint32_t nc = ix->capnodes * 2;
        ix->nodes = es_xrealloc(ix->nodes, (size_t)nc * sizeof *ix->nodes);
        ix->capnodes = nc;
    }
    return ix->nnodes++;
}

/* Adds key for pod (p = its record, cap set).  A key's slot value is the
 * head of its holder list (0, as in an empty slot, is nobody). */
static inline __attribute__((always_inline)) void add_one(esi_pindex_t *ix, esi_ppod_t *p, uint32_t pod, uint64_t key)
{
    size_t si = key_slot(ix, key);
    uint32_t holders = 0, last = 0, before_last = 0;
    for (uint32_t *link = &ix->keys.slots[si].val, ni; (ni = *link) != 0; link = &ix->nodes[ni].next) {
        if (ix->nodes[ni].pod == pod) {   /* hit: move to MRU */
            if (p->mru != ni) { ring_unlink(ix, p, ni); ring_push_front(ix, p, ni); }
            if (ix->key_cap && link != &ix->keys.slots[si].val) {   /* and to the key's front */
                *link = ix->nodes[ni].next;
                ix->nodes[ni].next = ix->keys.slots[si].val;
                ix->keys.slots[si].val = ni;
            }
            return;
        }
        holders++;
        before_last = last;
        last = ni;
    }
    /* hashicorp LRU: add, then evict the oldest beyond cap -- the same as
     * replacing the oldest in place when the pod is full (the new entry is
     * never the one evicted) */
    uint32_t ni;
    if (p->count >= p->cap) {
        ni = oldest_of(ix, p);
        unhold(ix, ni, &si);
        if (si == SIZE_MAX) si = key_slot(ix, key);
        p->mru = ni;   /* rotation: the oldest becomes the newest */
    } else {
        ni = new_node(ix);
        ix->nodes[ni].pod = pod;
        ring_push_front(ix, p, ni);
        p->count++;
    }
    esi_pnode_t *n = &ix->nodes[ni];
    n->key = key;
    n->next = ix->keys.slots[si].val;
    if (ix->keys.slots[si].tag) ix->keys.slots[si].val = ni;
    else es_hmap_insert_at(&ix->keys, si, key, ni);
    /* the key's least recently added holder beyond key_cap goes (the new
     * holder is at the front, so the key keeps its slot) */
    if (ix->key_cap && holders >= ix->key_cap && last) {
        esi_pnode_t *victim = &ix->nodes[last];
        ix->nodes[before_last ? before_last : ni].next = victim->next;
        esi_ppod_t *vp = &ix->pods[victim->pod];
        ring_unlink(ix, vp, last);
        vp->count--;
        victim->next = ix->freelist;
        ix->freelist = last;
    }
}

static esi_ppod_t *pod_for_add(esi_pindex_t *ix, uint32_t pod, uint32_t cap)
{
    ensure_pod(ix, pod);
    esi_ppod_t *p = &ix->pods[pod];
    if (p->cap == 0) p->cap = cap ? cap : 1;
    return p;
}

void esi_pindex_add(esi_pindex_t *ix, uint64_t key, uint32_t pod, uint32_t cap)
{
    add_one(ix, pod_for_add(ix, pod, cap), pod, key);
}

void esi_pindex_add_n(esi_pindex_t *ix, const uint64_t *keys, size_t n, uint32_t pod, uint32_t cap)
{
    esi_ppod_t *p = pod_for_add(ix, pod, cap);
    /* The slots of the keys, and of the keys the adds will likely evict (the
     * pod's oldest), are random lines of a large table: prefetch them all
     * first so that their misses overlap.  (The prefetches stay here: GCC
     * deletes calls to a function that only prefetches.) */
    const es_hmap_t *m = &ix->keys;
    const size_t line = 64 / sizeof *m->slots;   /* a probe run often goes on into the next line */
    for (size_t k = 0; k < n; k++) {
        size_t i = es_hmap_home(m, keys[k]);
        __builtin_prefetch(&m->slots[i]);
        __builtin_prefetch(&m->slots[(i + line) & m->mask]);
    }
    if (p->count + n > p->cap) {
        uint32_t ni = oldest_of(ix, p);
        for (size_t k = 0; k < n && ni; k++, ni = ix->nodes[ni].lprev) {
            size_t i = es_hmap_home(m, ix->nodes[ni].key);
            __builtin_prefetch(&m->slots[i]);
            __builtin_prefetch(&m->slots[(i + line) & m->mask]);
        }
    }
    for (size_t k = 0; k < n; k++) add_one(ix, p, pod, keys[k]);
}

void esi_pindex_remove(esi_pindex_t *ix, uint64_t key, uint32_t pod)
{
    for (uint32_t ni = esi_pindex_holders(ix, key); ni; ni = ix->nodes[ni].next)
        if (ix->nodes[ni].pod == pod) { drop_node(ix, ni); return; }
}

void esi_pindex_remove_pod(esi_pindex_t *ix, uint32_t pod)
{
    if (pod >= ix->npods) return;
    while (ix->pods[pod].mru) drop_node(ix, oldest_of(ix, &ix->pods[pod]));
    ix->pods[pod].cap = 0;   /* a new pod with this id gets a fresh LRU */
}

uint32_t esi_pindex_holders(const esi_pindex_t *ix, uint64_t key)
{
    return ix->keys.slots[key_slot(ix, key)].val;
}

size_t esi_pindex_pod_count(const esi_pindex_t *ix, uint32_t pod)
{
    return pod < ix->npods ? ix->pods[pod].count : 0;
}
