/*
 * es_content.h -- request content as shared segments (no token arrays).
 *
 * A prompt is a sequence of segments.  A segment is a run of `len` tokens
 * identified by `id`: two segments with the same id hold the same tokens, so
 * prompts that start with the same segments share a prefix, and distinct ids
 * never collide.  Token t of a segment is a deterministic function of
 * (id, t); no token is ever stored.  A 1M-request trace of 8k-token prompts
 * therefore costs a few segments per request, while prefix hits follow the
 * trace exactly (Mooncake hash_ids map one-to-one to segments).
 *
 * Block hashes are chained over full blocks only (vLLM):
 *   h[i] = H(h[i-1], tokens of block i), h[-1] = ES_CONTENT_ROOT_HASH.
 * Both the servers' KV cache (16-token blocks) and the precise prefix index use
 * these hashes; the approximate index hashes a character view instead (see
 * scheduler/).  Output tokens of a request form one segment with id
 * `output_segment` (set by the workload), so a chat session's next turn that
 * replays the answer hits the blocks the answer filled.
 */
#ifndef ES_CONTENT_H
#define ES_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "es_rng.h"

#define ES_CONTENT_ROOT_HASH 0x243f6a8885a308d3ULL

typedef struct es_segment {
    uint64_t id;    /* content identity; equal ids mean equal tokens */
    uint32_t len;   /* tokens, > 0 */
} es_segment_t;

typedef struct es_content {
    const es_segment_t *segs;   /* borrowed; owned by the workload */
    uint32_t nsegs;
    uint32_t tokens;            /* sum of segs[i].len */
} es_content_t;

/* Identity of token `pos` within segment `id` (what a tokenizer would emit). */
static inline uint64_t es_token_id(uint64_t seg_id, uint32_t pos)
{
    return es_mix64(seg_id ^ ((uint64_t)pos * ES_HASH_WEYL));
}

/*
 * Iterator over the chained hashes of full blocks of `block_size` tokens,
 * optionally continued across a second content (the output) so that output
 * blocks are hashed in the same chain.  No allocation; O(segments + blocks).
 */
typedef struct es_block_iter {
    const es_segment_t *segs; uint32_t nsegs;
    const es_segment_t *tail; uint32_t ntail;   /* continuation (output), may be 0 */
    uint32_t block_size;
    uint32_t seg;          /* current segment index over segs ++ tail */
    uint32_t off;          /* offset inside the current segment */
    uint64_t parent;       /* hash of the previous block */
    uint32_t limit_tokens; /* stop after this many tokens (full blocks only) */
    uint32_t done_tokens;
} es_block_iter_t;

static inline void es_block_iter_init(es_block_iter_t *it, const es_content_t *c,
                                      const es_segment_t *tail, uint32_t ntail,
                                      uint32_t tail_tokens, uint32_t block_size,
                                      uint32_t limit_tokens)
{
    it->segs = c->segs; it->nsegs = c->nsegs;
    it->tail = tail; it->ntail = ntail;
    it->block_size = block_size;
    it->seg = 0; it->off = 0;
    it->parent = ES_CONTENT_ROOT_HASH;
    uint32_t total = c->tokens + tail_tokens;
    it->limit_tokens = limit_tokens < total ? limit_tokens : total;
    it->done_tokens = 0;
}

static inline const es_segment_t *es_block_iter_seg(const es_block_iter_t *it, uint32_t i)
{
    return i < it->nsegs ? &it->segs[i] : &it->tail[i - it->nsegs];
}

/* Next full block's chained hash; returns 0 when no full block is left. */
static inline int es_block_iter_next(es_block_iter_t *it, uint64_t *hash)
{
    if (it->done_tokens + it->block_size > it->limit_tokens) return 0;
    uint64_t h = it->parent;
    uint32_t need = it->block_size;
    while (need > 0) {
        const es_segment_t *s = es_block_iter_seg(it, it->seg);
        uint32_t avail = s->len - it->off;
        uint32_t take = avail < need ? avail : need;
        /* A run of `take` tokens of segment s starting at off: hashing the
         * (id, off, take) triple is equivalent to hashing the tokens, since
         * tokens are a function of (id, position).  The run's value does not
         * depend on the chain: one serial mix per run. */
        uint64_t run = es_mix64(s->id ^ ((((uint64_t)it->off << 32) | take) * ES_HASH_WEYL));
        h = es_mix64(h ^ run);
        need -= take;
        it->off += take;
        if (it->off == s->len) { it->seg++; it->off = 0; }
    }
    it->done_tokens += it->block_size;
    it->parent = h;
    *hash = h;
    return 1;
}

/* Writes up to max hashes of the full blocks of c; returns how many. */
static inline size_t es_content_block_hashes(const es_content_t *c, uint32_t block_size,
                                             uint64_t *out, size_t max)
{
    es_block_iter_t it;
    es_block_iter_init(&it, c, NULL, 0, 0, block_size, UINT32_MAX);
    size_t n = 0;
    while (n < max && es_block_iter_next(&it, &out[n])) n++;
    return n;
}

#endif /* ES_CONTENT_H */
