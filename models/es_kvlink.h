/*
 * kvlink.h -- the pods' KV-transfer network: every transfer between pods
 * (P/D prefill -> decode KV, P2P prefix pulls, E/P/D encoder outputs) shares
 * its pods' NICs.
 *
 * Each node (pod) has one full-duplex link of `gbps` each way.  A transfer
 * waits `latency` (connection setup, the connector's lookup), then moves its
 * bytes from its source's send side to its destination's receive side.
 * Transfers in flight share the links by max-min fairness (processor
 * sharing, as progressive filling computes it): NIXL posts every transfer's
 * reads at once (vLLM's NixlConnector start_load_kv, the OffloadingConnector
 * P2P tier's fetch) and the NIC serves its queue pairs round-robin, so
 * concurrent transfers progress together rather than one after another.  A
 * transfer alone on its links takes latency + bytes x 8 / gbps, as the
 * cluster model had it before links were shared.
 *
 * Cost: one event per transfer's setup and one pending completion event for
 * the whole network; each start or end recomputes the rates in
 * O(transfers x links they touch).  Meant for tens of concurrent transfers.
 *
 * Units: bytes (double), Gbit/s, es_time_t ns.
 * Invariants: every send's callback runs exactly once, at its completion,
 * unless the network is destroyed first; callbacks may send again.
 */
#ifndef ES_KVLINK_H
#define ES_KVLINK_H

#include <stdint.h>

#include "es_err.h"
#include "es_sim.h"
#include "es_time.h"

typedef struct es_kvlink es_kvlink_t;

/* Transfer `id` (es_kvlink_send's) has arrived at time t (now). */
typedef void (*es_kvlink_done_fn)(void *ud, uint64_t arg, uint64_t id);

int  es_kvlink_create(es_sim_t *sim, uint32_t nodes, double gbps, es_time_t latency, es_kvlink_t **out,
                      es_err_t *err);
void es_kvlink_destroy(es_kvlink_t *l);

/* Starts a transfer of `bytes` from node src to node dst (src != dst);
 * returns its id (> 0). */
uint64_t es_kvlink_send(es_kvlink_t *l, uint32_t src, uint32_t dst, double bytes, es_kvlink_done_fn fn, void *ud,
                        uint64_t arg);

/* Transfers moving bytes now (past their setup). */
uint32_t es_kvlink_active(const es_kvlink_t *l);
/* Current rate of transfer `id` in Gbit/s; 0 when it is not moving bytes. */
double es_kvlink_rate(const es_kvlink_t *l, uint64_t id);

#endif /* ES_KVLINK_H */
