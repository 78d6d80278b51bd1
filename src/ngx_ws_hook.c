
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"


/*
 * The application hooks: nginx asks the application, over HTTP
 * (ngx_ws_call.c), whether a socket may connect, hands it the client's
 * events and tells it of disconnects.  A session's calls go one at a
 * time, in the order of what the client sent: an event's ack and pushes
 * are applied before the next event is sent; the disconnect hook comes
 * after the socket's events.  Events wait in the session's queue, bounded
 * by ws_hook_queue: when it is full nginx stops reading from the client.
 * ws_hook_concurrency bounds the calls in flight in the worker.  Every
 * answer finds its session and socket again by id: either may be gone.
 */


#define NGX_WS_HOOK_CONNECT     1
#define NGX_WS_HOOK_EVENT       2
#define NGX_WS_HOOK_DISCONNECT  3
#define NGX_WS_HOOK_EVENT_MADE  4       /* its socket is gone: the body
                                           was made when it went */


struct ngx_ws_hook_item_s {
    ngx_ws_hook_item_t        *next;
    ngx_uint_t                 type;
    int64_t                    ack_id;
    size_t                     len;
    u_char                     id[NGX_WS_ID_LEN];
    u_char                     data[1];        /* EVENT: the packet's JSON
                                                  array; DISCONNECT: the
                                                  whole body */
};


/* a BINARY_EVENT whose attachments are still arriving */
struct ngx_ws_hook_binary_s {
    u_char                     id[NGX_WS_ID_LEN];
    int64_t                    ack_id;
    unsigned                   nbins;
    unsigned                   have;
    size_t                     len;
    u_char                    *payload;
    u_char                    *bins[NGX_WS_SIO_MAX_ATTACHMENTS];
    size_t                     lens[NGX_WS_SIO_MAX_ATTACHMENTS];
};


/* what a call remembers of its queue */
typedef struct {
    ngx_ws_hooks_t            *hooks;
    ngx_ws_hook_item_t        *item;
} ngx_ws_hook_ctx_t;


static ngx_ws_hook_item_t *ngx_ws_hook_item(ngx_ws_socket_t *sock,
    ngx_uint_t type, size_t len);
static ngx_int_t ngx_ws_hook_binary_done(ngx_ws_session_t *s);
static void ngx_ws_hook_binary_free(ngx_ws_hooks_t *hooks);
static void ngx_ws_hook_enqueue(ngx_ws_hooks_t *hooks,
    ngx_ws_hook_item_t *item);
static void ngx_ws_hook_enqueue_event(ngx_ws_hooks_t *hooks,
    ngx_ws_hook_item_t *item);
static void ngx_ws_hook_next_handler(ngx_event_t *ev);
static void ngx_ws_hook_dispatch(ngx_ws_hooks_t *hooks);
static void ngx_ws_hook_wake(ngx_uint_t limit);
static ngx_int_t ngx_ws_hook_send(ngx_ws_hooks_t *hooks,
    ngx_ws_hook_item_t *item);
static u_char *ngx_ws_hook_connect_body(ngx_ws_call_t *call,
    ngx_ws_socket_t *sock, size_t *len);
static u_char *ngx_ws_hook_event_body(ngx_ws_call_t *call,
    ngx_ws_socket_t *sock, ngx_ws_hook_item_t *item, size_t *len);
static size_t ngx_ws_hook_event_len(ngx_ws_socket_t *sock,
    ngx_ws_hook_item_t *item);
static u_char *ngx_ws_hook_event_write(u_char *p, ngx_ws_socket_t *sock,
    ngx_ws_hook_item_t *item);
static void ngx_ws_hook_orphan(ngx_ws_hooks_t *hooks, ngx_ws_socket_t *sock);
static void ngx_ws_hook_done(ngx_ws_call_t *call, u_char *body, size_t len);
static void ngx_ws_hook_finish(ngx_ws_hooks_t *hooks);
static void ngx_ws_hook_throttle(ngx_ws_hooks_t *hooks);
static ngx_int_t ngx_ws_hook_connect_answer(ngx_ws_call_t *call,
    ngx_ws_socket_t *sock, u_char *body, size_t len);
static void ngx_ws_hook_event_answer(ngx_ws_call_t *call,
    ngx_ws_socket_t *sock, int64_t ack_id, u_char *body, size_t len);
static ngx_int_t ngx_ws_hook_refuse(ngx_ws_socket_t *sock, ngx_pool_t *pool,
    u_char *error, u_char *error_end);
static ngx_int_t ngx_ws_hook_set_data(ngx_ws_socket_t *sock, u_char *data,
    u_char *end);
static void ngx_ws_hook_ack(ngx_ws_socket_t *sock, ngx_pool_t *pool,
    int64_t ack_id, u_char *args, u_char *end);
static void ngx_ws_hook_push(ngx_ws_call_t *call, ngx_ws_socket_t *sock,
    u_char *push, u_char *end);
static u_char *ngx_ws_hook_common(u_char *p, const char *type,
    ngx_ws_socket_t *sock);
static size_t ngx_ws_hook_data_len(ngx_ws_socket_t *sock);
static u_char *ngx_ws_hook_info_json(u_char *p, u_char *info);
static size_t ngx_ws_hook_info_len(u_char *info);


/*
 * At the hand-off, what the hooks will need of the handshake request,
 * which is freed then: the addresses, and the headers named by
 * ws_hook_headers as "address\0name\0value\0...\0".
 */

ngx_int_t
ngx_ws_hook_keep(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    u_char             *p;
    size_t              len;
    ngx_str_t          *name;
    ngx_uint_t          i, k, pass;
    ngx_list_part_t    *part;
    ngx_table_elt_t    *h;
    ngx_connection_t   *c;
    ngx_ws_hooks_t     *hooks;
    ngx_ws_loc_conf_t  *conf;

    c = r->connection;
    conf = s->conf;
    name = conf->hook_headers->elts;

    len = c->addr_text.len + 2;
    hooks = NULL;
    p = NULL;

    /* the first pass measures, the second copies */

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            hooks = ngx_calloc(offsetof(ngx_ws_hooks_t, info) + len, c->log);
            if (hooks == NULL) {
                return NGX_ERROR;
            }

            p = ngx_cpymem(hooks->info, c->addr_text.data, c->addr_text.len);
            *p++ = '\0';
        }

        for (part = &r->headers_in.headers.part; part; part = part->next) {
            h = part->elts;

            for (i = 0; i < part->nelts; i++) {
                for (k = 0; k < conf->hook_headers->nelts; k++) {
                    if (h[i].key.len != name[k].len
                        || ngx_strncasecmp(h[i].key.data, name[k].data,
                                           name[k].len)
                           != 0)
                    {
                        continue;
                    }

                    if (pass == 0) {
                        len += name[k].len + h[i].value.len + 2;
                        continue;
                    }

                    p = ngx_cpymem(p, name[k].data, name[k].len);
                    *p++ = '\0';
                    p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
                    *p++ = '\0';
                }
            }
        }
    }

    *p = '\0';

    hooks->session = s;
    hooks->conf = conf;
    hooks->tail = &hooks->head;
    ngx_memcpy(hooks->sid, s->sid, NGX_WS_ID_LEN);

    hooks->listening = c->listening;
    hooks->socklen = c->socklen;
    ngx_memcpy(&hooks->sockaddr, c->sockaddr, c->socklen);
    hooks->local_socklen = c->local_socklen;
    ngx_memcpy(&hooks->local_sockaddr, c->local_sockaddr, c->local_socklen);

    hooks->next.handler = ngx_ws_hook_next_handler;
    hooks->next.data = hooks;
    hooks->next.log = ngx_cycle->log;

    s->hooks = hooks;

    return NGX_OK;
}


/* The session is gone; its calls go on, and the queue goes when done. */

void
ngx_ws_hook_release(ngx_ws_session_t *s)
{
    ngx_ws_hooks_t  *hooks;

    hooks = s->hooks;
    hooks->session = NULL;
    s->hooks = NULL;

    ngx_ws_hook_binary_free(hooks);
    ngx_ws_hook_finish(hooks);
}


ngx_int_t
ngx_ws_hook_connect(ngx_ws_socket_t *sock)
{
    ngx_ws_hook_item_t  *item;

    item = ngx_ws_hook_item(sock, NGX_WS_HOOK_CONNECT, 0);
    if (item == NULL) {
        return NGX_ERROR;
    }

    ngx_ws_hook_enqueue(sock->session->hooks, item);

    return NGX_OK;
}


/* A client's event for the app; the session is throttled when full. */

ngx_int_t
ngx_ws_hook_event(ngx_ws_socket_t *sock, u_char *payload, size_t len,
    int64_t ack_id)
{
    ngx_ws_hooks_t      *hooks;
    ngx_ws_hook_item_t  *item;

    hooks = sock->session->hooks;

    item = ngx_ws_hook_item(sock, NGX_WS_HOOK_EVENT, len);
    if (item == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(item->data, payload, len);
    item->ack_id = ack_id;

    ngx_ws_hook_enqueue_event(hooks, item);

    return NGX_OK;
}


/*
 * A BINARY_EVENT: its attachments come as the next binary messages; the
 * event goes to the app once they are all there, each placeholder as
 * {"$binary":"<base64>"}.
 */

ngx_int_t
ngx_ws_hook_binary_event(ngx_ws_socket_t *sock, ngx_ws_sio_packet_t *pkt)
{
    ngx_ws_hooks_t        *hooks;
    ngx_ws_hook_binary_t  *b;

    hooks = sock->session->hooks;

    ngx_ws_hook_binary_free(hooks);

    b = ngx_calloc(sizeof(ngx_ws_hook_binary_t), ngx_cycle->log);
    if (b == NULL) {
        return NGX_ERROR;
    }

    hooks->binary = b;

    b->payload = ngx_alloc(pkt->data_len + 1, ngx_cycle->log);
    if (b->payload == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(b->payload, pkt->data, pkt->data_len);
    b->len = pkt->data_len;
    b->ack_id = pkt->ack_id;
    b->nbins = pkt->attachments;
    ngx_memcpy(b->id, sock->id, NGX_WS_ID_LEN);

    return (b->nbins == 0) ? ngx_ws_hook_binary_done(sock->session) : NGX_OK;
}


ngx_int_t
ngx_ws_hook_attachment(ngx_ws_session_t *s, u_char *data, size_t len)
{
    ngx_ws_hook_binary_t  *b;

    b = s->hooks ? s->hooks->binary : NULL;

    if (b == NULL) {
        /* an event nobody listens to: its attachments go too */
        return NGX_OK;
    }

    b->bins[b->have] = ngx_alloc(len + 1, ngx_cycle->log);
    if (b->bins[b->have] == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(b->bins[b->have], data, len);
    b->lens[b->have] = len;

    return (++b->have == b->nbins) ? ngx_ws_hook_binary_done(s) : NGX_OK;
}


static ngx_int_t
ngx_ws_hook_binary_done(ngx_ws_session_t *s)
{
    ssize_t                n;
    ngx_int_t              rc;
    ngx_ws_socket_t       *sock;
    ngx_ws_hooks_t        *hooks;
    ngx_ws_hook_binary_t  *b;
    ngx_ws_hook_item_t    *item;

    hooks = s->hooks;
    b = hooks->binary;
    rc = NGX_OK;

    sock = ngx_ws_socket_by_id(s, b->id);

    n = ngx_ws_json_unplace(b->payload, b->len, (const u_char **) b->bins,
                            b->lens, b->nbins, NULL);

    if (n < 0) {
        rc = NGX_DECLINED;
        goto done;
    }

    if (sock == NULL || sock->pending) {
        goto done;
    }

    item = ngx_ws_hook_item(sock, NGX_WS_HOOK_EVENT, n);
    if (item == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    (void) ngx_ws_json_unplace(b->payload, b->len, (const u_char **) b->bins,
                               b->lens, b->nbins, item->data);
    item->ack_id = b->ack_id;

    ngx_ws_hook_binary_free(hooks);

    ngx_ws_hook_enqueue_event(hooks, item);

    return NGX_OK;

done:

    ngx_ws_hook_binary_free(hooks);

    return rc;
}


static void
ngx_ws_hook_binary_free(ngx_ws_hooks_t *hooks)
{
    unsigned               i;
    ngx_ws_hook_binary_t  *b;

    b = hooks->binary;

    if (b == NULL) {
        return;
    }

    for (i = 0; i < b->have; i++) {
        ngx_free(b->bins[i]);
    }

    if (b->payload) {
        ngx_free(b->payload);
    }

    ngx_free(b);
    hooks->binary = NULL;
}


/*
 * {"type":"disconnect","nsp":"/chat","sid":"...","data":...,
 *  "rooms":[...],"reason":"..."}, made now: the socket is going.
 */

void
ngx_ws_hook_disconnect(ngx_ws_socket_t *sock, const char *reason)
{
    u_char              *p;
    ngx_ws_hook_item_t  *item;

    ngx_ws_hook_orphan(sock->session->hooks, sock);

    if (reason == NULL || sock->session->conf->hook_disconnect.len == 0) {
        /* no hook, or one deferred (ngx_ws_recovery.c) */
        return;
    }

    item = ngx_ws_hook_item(sock, NGX_WS_HOOK_DISCONNECT,
                            ngx_ws_hook_disconnect_len(sock, reason));
    if (item == NULL) {
        return;
    }

    p = ngx_ws_hook_disconnect_write(item->data, sock, reason);

    item->len = p - item->data;

    ngx_ws_hook_enqueue(sock->session->hooks, item);
}


size_t
ngx_ws_hook_disconnect_len(ngx_ws_socket_t *sock, const char *reason)
{
    size_t            len;
    ngx_ws_member_t  *m;

    len = sizeof("{\"type\":\"disconnect\",\"nsp\":\"\",\"sid\":\"\","
                 "\"data\":,\"rooms\":[\"\"],\"reason\":\"\"}")
          + sock->nsp->name.len + 2 * NGX_WS_ID_LEN
          + ngx_ws_hook_data_len(sock) + ngx_strlen(reason);

    for (m = sock->rooms; m; m = m->next) {
        len += 1 + ngx_ws_json_string_len(m->room->node.str.data,
                                          m->room->node.str.len);
    }

    return len;
}


u_char *
ngx_ws_hook_disconnect_write(u_char *p, ngx_ws_socket_t *sock,
    const char *reason)
{
    ngx_ws_member_t  *m;

    p = ngx_ws_hook_common(p, "disconnect", sock);

    /* socket.rooms: its own id, then the rooms it joined */

    p = ngx_cpymem(p, ",\"rooms\":[\"", sizeof(",\"rooms\":[\"") - 1);
    p = ngx_cpymem(p, sock->id, NGX_WS_ID_LEN);
    *p++ = '"';

    for (m = sock->rooms; m; m = m->next) {
        *p++ = ',';
        p = ngx_ws_json_string_write(p, m->room->node.str.data,
                                     m->room->node.str.len);
    }

    return ngx_sprintf(p, "],\"reason\":\"%s\"}", reason);
}


/*
 * A disconnect call made long after its session went (a recovery window
 * passed), maybe by another worker: hooks is the caller's, with its
 * conf, addresses and info; it goes once the call is done.
 */

ngx_int_t
ngx_ws_hook_deferred(ngx_ws_hooks_t *hooks, u_char *body, size_t len)
{
    ngx_ws_hook_item_t  *item;

    item = ngx_alloc(offsetof(ngx_ws_hook_item_t, data) + len,
                     ngx_cycle->log);
    if (item == NULL) {
        ngx_free(hooks);
        return NGX_ERROR;
    }

    item->next = NULL;
    item->type = NGX_WS_HOOK_DISCONNECT;
    item->ack_id = -1;
    item->len = len;
    ngx_memcpy(item->id, hooks->sid, NGX_WS_ID_LEN);
    ngx_memcpy(item->data, body, len);

    hooks->session = NULL;
    hooks->tail = &hooks->head;
    hooks->next.handler = ngx_ws_hook_next_handler;
    hooks->next.data = hooks;
    hooks->next.log = ngx_cycle->log;

    ngx_ws_hook_enqueue(hooks, item);

    return NGX_OK;
}


static ngx_ws_hook_item_t *
ngx_ws_hook_item(ngx_ws_socket_t *sock, ngx_uint_t type, size_t len)
{
    ngx_ws_hook_item_t  *item;

    item = ngx_alloc(offsetof(ngx_ws_hook_item_t, data) + len,
                     ngx_cycle->log);
    if (item == NULL) {
        return NULL;
    }

    item->next = NULL;
    item->type = type;
    item->ack_id = -1;
    item->len = len;
    ngx_memcpy(item->id, sock->id, NGX_WS_ID_LEN);

    return item;
}


/*
 * Calls start from the event loop, never from inside what enqueued them
 * (a broadcast being applied, a socket being destroyed): a call may end
 * at once and run pushes of its own.
 */

static void
ngx_ws_hook_enqueue(ngx_ws_hooks_t *hooks, ngx_ws_hook_item_t *item)
{
    *hooks->tail = item;
    hooks->tail = &item->next;

    ngx_post_event(&hooks->next, &ngx_posted_events);
}


/* An event counts against ws_hook_queue until its call is sent. */

static void
ngx_ws_hook_enqueue_event(ngx_ws_hooks_t *hooks, ngx_ws_hook_item_t *item)
{
    hooks->events++;
    hooks->bytes += item->len;

    ngx_ws_hook_enqueue(hooks, item);
    ngx_ws_hook_throttle(hooks);
}


static void
ngx_ws_hook_next_handler(ngx_event_t *ev)
{
    ngx_ws_hook_dispatch(ev->data);
}


/*
 * Sends the queue's first call unless one is in flight or the worker is
 * at ws_hook_concurrency; then the queue waits its turn, in order.
 */

static void
ngx_ws_hook_dispatch(ngx_ws_hooks_t *hooks)
{
    ngx_ws_hook_item_t  *item;

    while (!hooks->busy && hooks->head) {

        if (ngx_ws_worker.calls >= hooks->conf->hook_concurrency) {
            if (!hooks->waiting) {
                hooks->waiting = 1;
                ngx_queue_insert_tail(&ngx_ws_worker.calls_wait,
                                      &hooks->wait);
            }

            return;
        }

        if (hooks->waiting) {
            hooks->waiting = 0;
            ngx_queue_remove(&hooks->wait);
        }

        item = hooks->head;
        hooks->head = item->next;

        if (hooks->head == NULL) {
            hooks->tail = &hooks->head;
        }

        if (item->type == NGX_WS_HOOK_EVENT) {
            hooks->events--;
            hooks->bytes -= item->len;
        }

        if (ngx_ws_hook_send(hooks, item) == NGX_OK) {
            /* the call may have ended already: hooks->busy tells */
            continue;
        }
    }

    /* a queue that took no slot passes its turn on */

    if (!hooks->busy) {
        ngx_ws_hook_wake(hooks->conf->hook_concurrency);
    }

    ngx_ws_hook_throttle(hooks);
    ngx_ws_hook_finish(hooks);
}


/* Queues waiting for a call slot get their turn, in order. */

static void
ngx_ws_hook_wake(ngx_uint_t limit)
{
    ngx_uint_t       n;
    ngx_queue_t     *q;
    ngx_ws_hooks_t  *next;

    for (n = ngx_ws_worker.calls;
         n < limit && !ngx_queue_empty(&ngx_ws_worker.calls_wait);
         n++)
    {
        q = ngx_queue_head(&ngx_ws_worker.calls_wait);
        ngx_queue_remove(q);

        next = ngx_queue_data(q, ngx_ws_hooks_t, wait);
        next->waiting = 0;
        ngx_post_event(&next->next, &ngx_posted_events);
    }
}


/* Makes and starts one call; the item is freed here, one way or another. */

static ngx_int_t
ngx_ws_hook_send(ngx_ws_hooks_t *hooks, ngx_ws_hook_item_t *item)
{
    u_char              *body;
    size_t               len;
    ngx_str_t           *uri;
    ngx_uint_t           type;
    const char          *name;
    ngx_ws_call_t       *call;
    ngx_ws_socket_t     *sock;
    ngx_ws_hook_ctx_t   *ctx;
    ngx_ws_loc_conf_t   *conf;
    ngx_pool_cleanup_t  *cln;

    conf = hooks->conf;
    type = item->type;
    sock = hooks->session ? ngx_ws_socket_by_id(hooks->session, item->id)
                          : NULL;

    switch (type) {

    case NGX_WS_HOOK_CONNECT:
        uri = &conf->hook_connect;
        name = "connect";
        break;

    case NGX_WS_HOOK_EVENT:
    case NGX_WS_HOOK_EVENT_MADE:
        uri = &conf->hook_event;
        name = "event";
        break;

    default:
        uri = &conf->hook_disconnect;
        name = "disconnect";
    }

    /* a connect or event whose socket is gone goes nowhere */

    if (sock == NULL
        && (type == NGX_WS_HOOK_CONNECT || type == NGX_WS_HOOK_EVENT))
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws hook: %s of a socket that is gone, dropped",
                       name);
        ngx_free(item);
        return NGX_DECLINED;
    }

    call = ngx_ws_call_create(uri, name);
    if (call == NULL) {
        ngx_free(item);
        goto failed;
    }

    /* the item lives as long as the call's pool now */

    cln = ngx_pool_cleanup_add(call->pool, 0);
    ctx = ngx_palloc(call->pool, sizeof(ngx_ws_hook_ctx_t));

    if (cln == NULL || ctx == NULL) {
        ngx_free(item);
        ngx_destroy_pool(call->pool);
        goto failed;
    }

    cln->handler = ngx_free;
    cln->data = item;

    ctx->hooks = hooks;
    ctx->item = item;

    switch (type) {

    case NGX_WS_HOOK_CONNECT:
        body = ngx_ws_hook_connect_body(call, sock, &len);
        break;

    case NGX_WS_HOOK_EVENT:
        body = ngx_ws_hook_event_body(call, sock, item, &len);
        break;

    default:
        body = item->data;
        len = item->len;
    }

    if (body == NULL) {
        ngx_destroy_pool(call->pool);
        goto failed;
    }

    call->handler = ngx_ws_hook_done;
    call->data = ctx;

    hooks->busy = 1;
    ngx_ws_worker.calls++;

    if (ngx_ws_call_start(call, hooks, body, len) != NGX_OK) {
        /* the pool, and the item with it, are gone */
        hooks->busy = 0;
        ngx_ws_worker.calls--;
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "ws: the %s hook could not be called", name);

    ngx_ws_metrics_hook(name, 0, 0);

    if (type == NGX_WS_HOOK_CONNECT && hooks->session) {
        ngx_ws_session_close(hooks->session, NGX_WS_CLOSE_INTERNAL,
                             "connect hook failed");
    }

    return NGX_ERROR;
}


/*
 * {"type":"connect","nsp":"/chat","sid":"<socket id>","auth":{...},
 *  "headers":{"cookie":"..."},"address":"..."}
 */

static u_char *
ngx_ws_hook_connect_body(ngx_ws_call_t *call, ngx_ws_socket_t *sock,
    size_t *len)
{
    u_char          *body, *p;
    ngx_ws_hooks_t  *hooks;

    hooks = sock->session->hooks;

    body = ngx_pnalloc(call->pool,
                       sizeof("{\"type\":\"connect\",\"nsp\":\"\","
                              "\"sid\":\"\",\"auth\":{},}")
                       + sock->nsp->name.len + NGX_WS_ID_LEN
                       + sock->data_len + ngx_ws_hook_info_len(hooks->info));
    if (body == NULL) {
        return NULL;
    }

    /* namespace names and ids need no escaping; auth is valid JSON */

    p = ngx_sprintf(body, "{\"type\":\"connect\",\"nsp\":\"%V\",\"sid\":\"",
                    &sock->nsp->name);
    p = ngx_cpymem(p, sock->id, NGX_WS_ID_LEN);
    p = ngx_cpymem(p, "\",\"auth\":", sizeof("\",\"auth\":") - 1);

    if (sock->data_len) {
        p = ngx_cpymem(p, sock->data, sock->data_len);

    } else {
        /* socket.io's handshake.auth when the client sends none */
        *p++ = '{';
        *p++ = '}';
    }

    *p++ = ',';
    p = ngx_ws_hook_info_json(p, hooks->info);
    *p++ = '}';

    *len = p - body;

    return body;
}


/*
 * {"type":"event","nsp":"/chat","sid":"...","data":...,"event":"message",
 *  "args":[...],"ack":true}, from the packet's array as the client wrote
 * it: its first element is the event, the others the arguments.
 */

static u_char *
ngx_ws_hook_event_body(ngx_ws_call_t *call, ngx_ws_socket_t *sock,
    ngx_ws_hook_item_t *item, size_t *len)
{
    u_char  *body, *p;

    body = ngx_pnalloc(call->pool, ngx_ws_hook_event_len(sock, item));
    if (body == NULL) {
        return NULL;
    }

    p = ngx_ws_hook_event_write(body, sock, item);

    *len = p - body;

    return body;
}


static size_t
ngx_ws_hook_event_len(ngx_ws_socket_t *sock, ngx_ws_hook_item_t *item)
{
    return sizeof("{\"type\":\"event\",\"nsp\":\"\",\"sid\":\"\","
                  "\"data\":,\"event\":,\"args\":[],\"ack\":false}")
           + sock->nsp->name.len + NGX_WS_ID_LEN
           + ngx_ws_hook_data_len(sock) + item->len;
}


static u_char *
ngx_ws_hook_event_write(u_char *p, ngx_ws_socket_t *sock,
    ngx_ws_hook_item_t *item)
{
    u_char  *pos, *end, *elt, *elt_end;

    p = ngx_ws_hook_common(p, "event", sock);

    end = item->data + item->len;
    pos = ngx_ws_json_skip_ws(item->data, end) + 1;

    /* the packet was checked: an array whose first element is the event */

    pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end);

    p = ngx_cpymem(p, ",\"event\":", sizeof(",\"event\":") - 1);
    p = ngx_cpymem(p, elt, elt_end - elt);
    p = ngx_cpymem(p, ",\"args\":[", sizeof(",\"args\":[") - 1);

    while (pos && (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end))) {
        if (p[-1] != '[') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, elt, elt_end - elt);
    }

    return ngx_sprintf(p, "],\"ack\":%s}",
                       item->ack_id >= 0 ? "true" : "false");
}


/*
 * The socket is going with events still queued: they go to the app all
 * the same, before its disconnect, their bodies made now (with the data
 * the socket has now); nothing can be acked any more.
 */

static void
ngx_ws_hook_orphan(ngx_ws_hooks_t *hooks, ngx_ws_socket_t *sock)
{
    u_char               *p;
    ngx_ws_hook_item_t  **prev, *item, *made;

    for (prev = &hooks->head; *prev; /* void */) {
        item = *prev;

        if (item->type != NGX_WS_HOOK_EVENT
            || ngx_memcmp(item->id, sock->id, NGX_WS_ID_LEN) != 0)
        {
            prev = &item->next;
            continue;
        }

        made = ngx_ws_hook_item(sock, NGX_WS_HOOK_EVENT_MADE,
                                ngx_ws_hook_event_len(sock, item));
        if (made == NULL) {
            prev = &item->next;
            continue;
        }

        p = ngx_ws_hook_event_write(made->data, sock, item);
        made->len = p - made->data;
        made->next = item->next;

        hooks->events--;
        hooks->bytes -= item->len;

        *prev = made;
        prev = &made->next;

        if (hooks->tail == &item->next) {
            hooks->tail = &made->next;
        }

        ngx_free(item);
    }
}


/* "type", "nsp", "sid" and "data" */

static u_char *
ngx_ws_hook_common(u_char *p, const char *type, ngx_ws_socket_t *sock)
{
    p = ngx_sprintf(p, "{\"type\":\"%s\",\"nsp\":\"%V\",\"sid\":\"", type,
                    &sock->nsp->name);
    p = ngx_cpymem(p, sock->id, NGX_WS_ID_LEN);
    p = ngx_cpymem(p, "\",\"data\":", sizeof("\",\"data\":") - 1);

    if (sock->data_is_auth || sock->data_len == 0) {
        return ngx_cpymem(p, "null", 4);
    }

    return ngx_cpymem(p, sock->data, sock->data_len);
}


static size_t
ngx_ws_hook_data_len(ngx_ws_socket_t *sock)
{
    return (sock->data_is_auth || sock->data_len == 0) ? 4 : sock->data_len;
}


/* A call ended: its answer is applied, and the queue goes on. */

static void
ngx_ws_hook_done(ngx_ws_call_t *call, u_char *body, size_t len)
{
    ngx_ws_hook_ctx_t *ctx = call->data;

    ngx_ws_hooks_t      *hooks;
    ngx_ws_socket_t     *sock;
    ngx_ws_hook_item_t  *item;

    hooks = ctx->hooks;
    item = ctx->item;

    sock = hooks->session ? ngx_ws_socket_by_id(hooks->session, item->id)
                          : NULL;

    switch (item->type) {

    case NGX_WS_HOOK_CONNECT:
        if (sock && sock->pending
            && ngx_ws_hook_connect_answer(call, sock, body, len) != NGX_OK)
        {
            /*
             * Not a connect error, after which socket.io-client would give
             * up: the connection closes, and the client comes back with
             * its backoff.
             */

            ngx_ws_session_close(hooks->session, NGX_WS_CLOSE_INTERNAL,
                                 "connect hook failed");
        }

        break;

    case NGX_WS_HOOK_EVENT:
        if (sock && body) {
            ngx_ws_hook_event_answer(call, sock, item->ack_id, body, len);
        }

        break;

    default:
        /* best effort: the answer means nothing */
        break;
    }

    hooks->busy = 0;
    ngx_ws_worker.calls--;

    /* the next call goes from the event loop, not from inside this one */

    ngx_post_event(&hooks->next, &ngx_posted_events);

    ngx_ws_hook_wake(hooks->conf->hook_concurrency);
}


/* A queue with nothing to do and no session to serve goes. */

static void
ngx_ws_hook_finish(ngx_ws_hooks_t *hooks)
{
    if (hooks->session || hooks->busy || hooks->head) {
        return;
    }

    if (hooks->next.posted) {
        ngx_delete_posted_event(&hooks->next);
    }

    if (hooks->waiting) {
        ngx_queue_remove(&hooks->wait);
    }

    ngx_free(hooks);
}


/*
 * A full queue stops the reading of the client (the parser pauses after
 * the message that filled it); a queue with room again resumes it.
 */

static void
ngx_ws_hook_throttle(ngx_ws_hooks_t *hooks)
{
    ngx_uint_t         full;
    ngx_ws_session_t  *s;

    s = hooks->session;

    if (s == NULL) {
        return;
    }

    full = hooks->events >= hooks->conf->hook_queue
           || hooks->bytes >= hooks->conf->hook_queue_size;

    if (full && !s->throttled) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                       "ws hook: %ui events queued, %uz bytes: "
                       "not reading the client", hooks->events,
                       hooks->bytes);
        s->throttled = 1;

    } else if (!full && s->throttled) {
        s->throttled = 0;
        ngx_ws_session_resume(s);
    }
}


/* ------------------------------------------------------------ answers */


static ngx_int_t
ngx_ws_hook_connect_answer(ngx_ws_call_t *call, ngx_ws_socket_t *sock,
    u_char *body, size_t len)
{
    u_char  *end, *error, *error_end, *data, *data_end, *push, *push_end;

    if (body == NULL) {
        return NGX_ERROR;
    }

    end = body + len;

    if (!ngx_ws_json_valid(body, end)
        || *ngx_ws_json_skip_ws(body, end) != '{')
    {
        ngx_log_error(NGX_LOG_ERR, ngx_ws_session_log(sock->session), 0,
                      "ws: the connect hook's answer is not a JSON object");
        return NGX_ERROR;
    }

    error = ngx_ws_json_member(body, end, "error", &error_end);

    if (error) {
        return ngx_ws_hook_refuse(sock, call->pool, error, error_end);
    }

    data = ngx_ws_json_member(body, end, "data", &data_end);

    if (data && ngx_ws_hook_set_data(sock, data, data_end) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_ws_socket_accept(sock) != NULL) {
        return NGX_ERROR;
    }

    push = ngx_ws_json_member(body, end, "push", &push_end);

    if (push) {
        ngx_ws_hook_push(call, sock, push, push_end);
    }

    return NGX_OK;
}


/* {"ack":[...],"data":...,"push":[...]}, each optional */

static void
ngx_ws_hook_event_answer(ngx_ws_call_t *call, ngx_ws_socket_t *sock,
    int64_t ack_id, u_char *body, size_t len)
{
    u_char  *end, *ack, *ack_end, *data, *data_end, *push, *push_end;

    end = body + len;

    if (!ngx_ws_json_valid(body, end)
        || *ngx_ws_json_skip_ws(body, end) != '{')
    {
        ngx_log_error(NGX_LOG_ERR, ngx_ws_session_log(sock->session), 0,
                      "ws: the event hook's answer is not a JSON object, "
                      "the event is dropped");
        return;
    }

    ack = ngx_ws_json_member(body, end, "ack", &ack_end);

    if (ack && ack_id >= 0) {
        if (*ack == '[') {
            ngx_ws_hook_ack(sock, call->pool, ack_id, ack, ack_end);

        } else {
            ngx_log_error(NGX_LOG_ERR, ngx_ws_session_log(sock->session), 0,
                          "ws: \"ack\" from the event hook is not an array");
        }
    }

    data = ngx_ws_json_member(body, end, "data", &data_end);

    if (data) {
        (void) ngx_ws_hook_set_data(sock, data, data_end);
    }

    push = ngx_ws_json_member(body, end, "push", &push_end);

    if (push) {
        ngx_ws_hook_push(call, sock, push, push_end);
    }
}


/* {"error":{"message":"...","data":...}}: the client's connect_error */

static ngx_int_t
ngx_ws_hook_refuse(ngx_ws_socket_t *sock, ngx_pool_t *pool, u_char *error,
    u_char *error_end)
{
    u_char  *msg, *msg_end, *data, *data_end, *json, *p;

    if (*error != '{') {
        return NGX_ERROR;
    }

    msg = ngx_ws_json_member(error, error_end, "message", &msg_end);

    if (msg == NULL || *msg != '"') {
        return NGX_ERROR;
    }

    data = ngx_ws_json_member(error, error_end, "data", &data_end);

    json = ngx_pnalloc(pool, sizeof("{\"message\":,\"data\":}")
                             + (msg_end - msg)
                             + (data ? data_end - data : 0));
    if (json == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(json, "{\"message\":", sizeof("{\"message\":") - 1);
    p = ngx_cpymem(p, msg, msg_end - msg);

    if (data) {
        p = ngx_cpymem(p, ",\"data\":", sizeof(",\"data\":") - 1);
        p = ngx_cpymem(p, data, data_end - data);
    }

    *p++ = '}';

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(sock->session), 0,
                   "ws socket %*s: the application refused the connect",
                   (size_t) NGX_WS_ID_LEN, sock->id);

    return ngx_ws_socket_refuse(sock, json, p - json);
}


/* The socket's data as the application set it, bounded like auth. */

static ngx_int_t
ngx_ws_hook_set_data(ngx_ws_socket_t *sock, u_char *data, u_char *end)
{
    u_char  *copy;
    size_t   len;

    len = end - data;

    if (len > NGX_WS_DATA_MAX) {
        ngx_log_error(NGX_LOG_ERR, ngx_ws_session_log(sock->session), 0,
                      "ws: socket data of %uz bytes from a hook, "
                      "over %d", len, NGX_WS_DATA_MAX);
        return NGX_ERROR;
    }

    copy = ngx_alloc(len, ngx_ws_session_log(sock->session));
    if (copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(copy, data, len);

    if (sock->data) {
        ngx_free(sock->data);
    }

    sock->data = copy;
    sock->data_len = (uint32_t) len;
    sock->data_is_auth = 0;

    return NGX_OK;
}


/* The client's ack, with the app's arguments ($binary allowed). */

static void
ngx_ws_hook_ack(ngx_ws_socket_t *sock, ngx_pool_t *pool, int64_t ack_id,
    u_char *args, u_char *end)
{
    ngx_ws_msg_t    *msg;
    ngx_ws_op_t      op;
    const char      *reason;
    ngx_ws_event_t   ev;

    ngx_memzero(&op, sizeof(ngx_ws_op_t));
    op.nsp.data = sock->nsp->name.data;
    op.nsp.len = sock->nsp->name.len;

    reason = ngx_ws_op_packet(&op, NULL, 0, args, end, ack_id,
                              ngx_ws_pool_alloc, pool);
    if (reason) {
        ngx_log_error(NGX_LOG_ERR, ngx_ws_session_log(sock->session), 0,
                      "ws: the event hook's ack is refused: %s", reason);
        return;
    }

    ngx_memzero(&ev, sizeof(ngx_ws_event_t));
    ev.op = &op;

    msg = ngx_ws_event_msg(&ev, sock->session->b64 ? NGX_WS_MSG_B64 : 0);

    if (msg) {
        (void) ngx_ws_session_send(sock->session, msg);
    }

    ngx_ws_event_release(&ev);
}


/*
 * "push": operations as the push endpoint takes them, the socket's
 * namespace by default, applied in order; a malformed one is logged and
 * the others still run.
 */

static void
ngx_ws_hook_push(ngx_ws_call_t *call, ngx_ws_socket_t *sock, u_char *push,
    u_char *end)
{
    u_char          *pos, *elt, *elt_end;
    ngx_int_t        rc;
    ngx_uint_t       matched;
    ngx_ws_op_t      op;
    const char      *reason;
    ngx_ws_bytes_t   nsp;

    if (*push != '[') {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: \"push\" from the %s hook is not an array",
                      call->name);
        return;
    }

    nsp.data = sock->nsp->name.data;
    nsp.len = sock->nsp->name.len;

    for (pos = push + 1;
         (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         /* void */)
    {
        reason = ngx_ws_op_parse(elt, elt_end, &nsp, &op, ngx_ws_pool_alloc,
                                 call->pool);
        if (reason) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ws: a push from the %s hook is refused: %s",
                          call->name, reason);
            continue;
        }

        rc = ngx_ws_broker_publish(&op, call->pool, &matched);

        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ws: a push from the %s hook failed (%i)",
                          call->name, rc);
        }
    }
}


/* ------------------------------------------------------------ helpers */


static u_char *
ngx_ws_hook_info_json(u_char *p, u_char *info)
{
    u_char      *addr, *name, *value;
    size_t       len;
    ngx_uint_t   n;

    addr = info;
    info += ngx_strlen(info) + 1;

    p = ngx_cpymem(p, "\"headers\":{", sizeof("\"headers\":{") - 1);

    for (n = 0; *info; n++) {
        name = info;
        len = ngx_strlen(name);
        value = name + len + 1;

        if (n) {
            *p++ = ',';
        }

        p = ngx_ws_json_string_write(p, name, len);
        *p++ = ':';
        len = ngx_strlen(value);
        p = ngx_ws_json_string_write(p, value, len);

        info = value + len + 1;
    }

    p = ngx_cpymem(p, "},\"address\":", sizeof("},\"address\":") - 1);

    return ngx_ws_json_string_write(p, addr, ngx_strlen(addr));
}


static size_t
ngx_ws_hook_info_len(u_char *info)
{
    size_t  len, n;

    len = sizeof("\"headers\":{},\"address\":");

    /* the address, then names and values; each with a ':' or ',' */

    do {
        n = ngx_strlen(info);
        len += ngx_ws_json_string_len(info, n) + 1;
        info += n + 1;
    } while (*info);

    return len;
}
