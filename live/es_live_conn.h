/*
 * es_live_conn.h -- what `eppsim serve` (live.c) and `eppsim gateway`
 * (gateway.c) do alike with a client connection: close it once its queued
 * writes are out, and word an HTTP error the way OpenAI's API does.
 * The connection structs stay each server's own; these work on the libuv
 * stream and on plain values.
 */
#ifndef ES_LIVE_CONN_H
#define ES_LIVE_CONN_H

#include <stdbool.h>

#include <uv.h>

/* Closes s once the writes queued on it have gone out (uv_shutdown, then
 * uv_close with on_closed; s->data is left as it is).  Returns 0, or a
 * libuv error when that cannot start: the caller then closes at once. */
int es_live_close_after_writes(uv_stream_t *s, uv_close_cb on_closed);

/* The reason phrase of an HTTP status eppsim answers ("Service
 * Unavailable" for any other). */
const char *es_live_reason(int status);

/* The body of an error answer, OpenAI style:
 * {"error": {"message": msg, "type": ..., "code": status}}, the type by the
 * status (404 NotFoundError, other 4xx BadRequestError, 500
 * InternalServerError, else ServiceUnavailableError).  Allocated (free it);
 * NULL when out of memory. */
char *es_live_error_body(int status, const char *msg);

/* Whether a connected TCP handle is connected to itself: a connect to a
 * loopback port nobody listens on can pick that very port as its own
 * ephemeral one and "succeed" (TCP simultaneous open).  Such a connection
 * is a refused one; Go's dialer checks the same (net/tcpsock_posix.go,
 * selfConnect). */
bool es_live_self_connected(const uv_tcp_t *tcp);

/* Bytes written to the stream that its peer has not taken yet: libuv's
 * write queue plus what the kernel has not had acknowledged (SIOCOUTQ, on
 * Linux; elsewhere libuv's queue alone).  A connection whose count falls is
 * being read, however slowly: an idle timeout runs from when it last fell. */
size_t es_live_unsent(const uv_tcp_t *tcp);

#endif /* ES_LIVE_CONN_H */
