/*
 * conn.c -- client connection plumbing shared by serve and gateway
 * (es_live_conn.h).
 */
#include "es_live_conn.h"

#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

#include <cjson/cJSON.h>

typedef struct close_req {
    uv_shutdown_t req;
    uv_close_cb   on_closed;
} close_req_t;

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;   /* shut down or not, the stream is closed now */
    close_req_t *cr = (close_req_t *)req;
    uv_close_cb cb = cr->on_closed;
    uv_stream_t *s = req->handle;
    free(cr);
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, cb);
}

int es_live_close_after_writes(uv_stream_t *s, uv_close_cb on_closed)
{
    close_req_t *cr = malloc(sizeof *cr);
    if (!cr) return UV_ENOMEM;
    cr->on_closed = on_closed;
    int rc = uv_shutdown(&cr->req, s, on_shutdown);
    if (rc) free(cr);
    return rc;
}

const char *es_live_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    default:  return "Service Unavailable";
    }
}

char *es_live_error_body(int status, const char *msg)
{
    cJSON *j = cJSON_CreateObject(), *e = j ? cJSON_AddObjectToObject(j, "error") : NULL;
    if (!e) { cJSON_Delete(j); return NULL; }
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", status == 404  ? "NotFoundError"
                                       : status < 500 ? "BadRequestError"
                                       : status == 500 ? "InternalServerError"
                                                       : "ServiceUnavailableError");
    cJSON_AddNumberToObject(e, "code", status);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

bool es_live_self_connected(const uv_tcp_t *tcp)
{
    struct sockaddr_storage me, peer;
    int n = sizeof me, m = sizeof peer;
    if (uv_tcp_getsockname(tcp, (struct sockaddr *)&me, &n) || uv_tcp_getpeername(tcp, (struct sockaddr *)&peer, &m))
        return false;
    if (me.ss_family != peer.ss_family) return false;
    if (me.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&me, *b = (const struct sockaddr_in *)&peer;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (me.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&me, *b = (const struct sockaddr_in6 *)&peer;
        return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    return false;
}

size_t es_live_unsent(const uv_tcp_t *tcp)
{
    size_t n = uv_stream_get_write_queue_size((const uv_stream_t *)tcp);
#ifdef __linux__
    uv_os_fd_t fd;
    int out = 0;
    if (uv_fileno((const uv_handle_t *)tcp, &fd) == 0 && ioctl(fd, SIOCOUTQ, &out) == 0 && out > 0) n += (size_t)out;
#endif
    return n;
}
