/*
 * evictor.c -- demand-driven in-flight eviction of flow control
 * (flowControl.enableEviction; llm-d-router v0.10.0, commit 71f4f099:
 * pkg/epp/flowcontrol/eviction/request_evictor.go, queue.go and
 * pkg/epp/flowcontrol/controller/internal/reclamation.go).
 *
 * Every dispatched request is tracked from PreRequest to the end of its
 * stream; those the victim filter accepts are evictable, in the victim
 * order.  When a blocked band has queued demand above the next victim's
 * priority, Reclaim sizes a decision in saturation units and revokes up to
 * MaxRevocationsPerDecision victims below the demand's priority.  Pacing is
 * stop-and-wait: no decision while a revocation awaits its confirmation (the
 * evicted stream's end) or while a confirmed one cools for the grace.
 *
 * The tracked requests live in a dense array indexed by an es_hmap of their
 * ids; the victim is found by a scan, O(tracked), run only at a head-of-line
 * block with the gate open (the order among equals is the id's, so the scan
 * order does not matter).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_util.h"
#include "internal.h"

void esi_evictor_init(esi_evictor_t *ev, const esi_plugin_vt_t *filter, const esi_plugin_vt_t *order, es_time_t grace)
{
    memset(ev, 0, sizeof *ev);
    ev->filter = filter;
    ev->order = order;
    ev->grace = grace;
    ev->timeout = es_time_from_s(10);   /* defaultEvictionConfirmationTimeout */
    ev->max_per_decision = 2;           /* defaultMaxRevocationsPerDecision */
    es_hmap_init(&ev->ids, 128);
}

void esi_evictor_fini(esi_evictor_t *ev)
{
    free(ev->items);
    es_hmap_fini(&ev->ids);
    free(ev->out);
    free(ev->cool);
    memset(ev, 0, sizeof *ev);
}

/* es_hmap's key test: item val has id */
static bool ev_has(const void *ev, uint32_t i, uint64_t id) { return ((const esi_evictor_t *)ev)->items[i].id == id; }

static esi_ev_item_t *ev_find(esi_evictor_t *ev, uint64_t id)
{
    const es_hmap_slot_t *s = es_hmap_find(&ev->ids, id, ev_has, ev);
    return s ? &ev->items[s->val] : NULL;
}

/* Removes it; the last item moves into its place (pointers to it go stale). */
static void ev_delete(esi_evictor_t *ev, esi_ev_item_t *it)
{
    if (it->evictable) ev->nevictable--;
    size_t i = (size_t)(it - ev->items);
    es_hmap_remove(&ev->ids, it->id, NULL, ev_has, ev);
    if (i != --ev->used) {
        es_hmap_find(&ev->ids, ev->items[ev->used].id, ev_has, ev)->val = (uint32_t)i;
        ev->items[i] = ev->items[ev->used];
    }
}

void esi_evictor_track(esi_evictor_t *ev, const es_sched_request_t *req, es_time_t now)
{
    esi_ev_item_t *it = ev_find(ev, req->id);
    if (it) ev_delete(ev, it);   /* Track replaces an entry of the same id */
    if (ev->used == ev->capitems) {
        ev->capitems = ev->capitems ? ev->capitems * 2 : 64;
        ev->items = es_xrealloc(ev->items, ev->capitems * sizeof *ev->items);
    }
    ES_ASSERT(ev->used < UINT32_MAX, "evictor: more than 2^32 requests in flight");
    it = &ev->items[ev->used];
    *it = (esi_ev_item_t){.id = req->id, .req = req, .dispatched = now, .priority = req->priority};
    it->evictable = ev->filter->x_evict_accept(req->priority);
    es_hmap_put(&ev->ids, req->id, (uint32_t)ev->used++, ev_has, ev);
    if (it->evictable) ev->nevictable++;
}

static void ev_cool(esi_evictor_t *ev, double credit, es_time_t expires)
{
    if (ev->ncool == ev->capcool) {
        ev->capcool = ev->capcool ? ev->capcool * 2 : 8;
        ev->cool = es_xrealloc(ev->cool, ev->capcool * sizeof *ev->cool);
    }
    ev->cool[ev->ncool++] = (esi_ev_cooling_t){credit, expires};
}

void esi_evictor_untrack(esi_evictor_t *ev, uint64_t id, es_time_t now)
{
    esi_ev_item_t *it = ev_find(ev, id);
    if (it) ev_delete(ev, it);
    for (size_t k = 0; k < ev->nout; k++) {   /* Confirm: the evicted stream ended */
        if (ev->out[k].id != id) continue;
        ev_cool(ev, ev->out[k].credit, now + ev->grace);
        ev->out[k] = ev->out[--ev->nout];
        ev->confirmed++;
        return;
    }
}

bool esi_evictor_gate_open(esi_evictor_t *ev, es_time_t now)
{
    for (size_t k = 0; k < ev->nout;) {   /* sweepTimeouts: treated as confirmed */
        if (now - ev->out[k].issued < ev->timeout) { k++; continue; }
        ev_cool(ev, ev->out[k].credit, now + ev->grace);
        ev->out[k] = ev->out[--ev->nout];
        ev->timed_out++;
    }
    bool changed = false;
    for (size_t k = 0; k < ev->ncool;) {   /* expireCooling */
        if (now < ev->cool[k].expires) { k++; continue; }
        ev->pending -= ev->cool[k].credit;
        ev->cool[k] = ev->cool[--ev->ncool];
        changed = true;
    }
    if (changed && ev->pending < 0) ev->pending = 0;
    return ev->nout == 0 && ev->ncool == 0;
}

/* the first victim in the victim order; NULL when none is evictable */
static esi_ev_item_t *ev_head(esi_evictor_t *ev)
{
    esi_ev_item_t *best = NULL;
    if (ev->nevictable == 0) return NULL;
    for (size_t i = 0; i < ev->used; i++) {
        esi_ev_item_t *it = &ev->items[i];
        if (!it->evictable) continue;
        if (!best || ev->order->x_evict_less(it->priority, it->dispatched, best->priority, best->dispatched) ||
            (!ev->order->x_evict_less(best->priority, best->dispatched, it->priority, it->dispatched) &&
             it->id < best->id))   /* equal in the order: the lower id (upstream: heap order) */
            best = it;
    }
    return best;
}

bool esi_evictor_victim_priority(esi_evictor_t *ev, int64_t *priority)
{
    const esi_ev_item_t *h = ev_head(ev);
    if (!h) return false;
    *priority = h->priority;
    return true;
}

size_t esi_evictor_reclaim(esi_evictor_t *ev, double saturation, double ceiling, int64_t demand_priority, es_time_t now,
                           const es_sched_request_t **victims, size_t max)
{
    size_t in_flight = ev->used, evictable = ev->nevictable;
    if (in_flight == 0 || evictable == 0) return 0;
    double credit = saturation / (double)in_flight;   /* mean lease footprint */
    if (!(credit > 0) || isinf(credit)) return 0;
    double net = saturation - ceiling - ev->pending;
    if (net < 0 || (net == 0 && ev->pending > 0)) return 0;
    double want = ceil(net / credit);
    size_t n = want < 1 ? 1 : want > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)want;
    if (n > (size_t)ev->max_per_decision) n = (size_t)ev->max_per_decision;
    if (n > evictable) n = evictable;
    if (n > max) n = max;
    size_t k = 0;
    while (k < n) {   /* EvictN: victims strictly below the demand's priority */
        esi_ev_item_t *h = ev_head(ev);
        if (!h || h->priority >= demand_priority) break;
        victims[k++] = h->req;
        if (ev->nout == ev->capout) {
            ev->capout = ev->capout ? ev->capout * 2 : 8;
            ev->out = es_xrealloc(ev->out, ev->capout * sizeof *ev->out);
        }
        ev->out[ev->nout++] = (esi_ev_revocation_t){h->id, credit, now};
        ev->pending += credit;
        ev_delete(ev, h);   /* PopN: no longer tracked */
    }
    ev->evicted += k;
    return k;
}
