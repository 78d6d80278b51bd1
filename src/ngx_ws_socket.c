
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"
#include "ngx_ws_recovery.h"


#define NGX_WS_INVALID_NSP  "{\"message\":\"Invalid namespace\"}"
#define NGX_WS_AUTH_TOO_BIG "{\"message\":\"Auth payload too large\"}"



static ngx_ws_socket_t *ngx_ws_socket_find(ngx_ws_session_t *s,
    u_char *nsp, size_t len);
static ngx_ws_nsp_t *ngx_ws_nsp_served(ngx_ws_session_t *s, u_char *name,
    size_t len);
static const char *ngx_ws_socket_connect(ngx_ws_session_t *s,
    ngx_ws_sio_packet_t *pkt);
static void ngx_ws_socket_unlink(ngx_ws_socket_t *sock);
static const char *ngx_ws_socket_event(ngx_ws_socket_t *sock,
    ngx_ws_sio_packet_t *pkt);
static ngx_int_t ngx_ws_socket_relay(ngx_ws_socket_t *sock,
    ngx_ws_sio_packet_t *pkt, ngx_ws_relay_t *relay);
static ngx_int_t ngx_ws_socket_reply(ngx_ws_session_t *s, unsigned type,
    u_char *nsp, size_t nsp_len, u_char *json, size_t json_len);


/*
 * What socket.io's Client.ondecoded() accepts: a CONNECT to a namespace
 * not joined yet, anything else but CONNECT and CONNECT_ERROR to a joined
 * one.  Every other packet is a protocol error that closes the connection:
 * the reason is returned for the log, NULL when all is well.
 */

const char *
ngx_ws_socket_packet(ngx_ws_session_t *s, u_char *data, size_t len)
{
    ngx_ws_socket_t      *sock;
    ngx_ws_sio_packet_t   pkt;

    if (s->attachments) {
        return "text while binary attachments are due";
    }

    if (ngx_ws_sio_decode(data, len, &pkt) != 0) {
        return pkt.error;
    }

    sock = ngx_ws_socket_find(s, pkt.nsp, pkt.nsp_len);

    if (sock && sock->pending
        && pkt.type != NGX_WS_SIO_CONNECT && pkt.type != NGX_WS_SIO_DISCONNECT)
    {
        /* the application has not let it in yet */
        sock = NULL;
    }

    switch (pkt.type) {

    case NGX_WS_SIO_CONNECT:
        if (sock) {
            return "CONNECT to a namespace already connected";
        }

        return ngx_ws_socket_connect(s, &pkt);

    case NGX_WS_SIO_DISCONNECT:
        if (sock == NULL) {
            return "DISCONNECT from a namespace not connected";
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                       "ws socket %*s: client namespace disconnect",
                       (size_t) NGX_WS_ID_LEN, sock->id);

        ngx_ws_socket_unlink(sock);
        ngx_ws_socket_destroy(sock, "client namespace disconnect");
        return NULL;

    case NGX_WS_SIO_EVENT:
        if (sock == NULL) {
            return "EVENT or ACK to a namespace not connected";
        }

        return ngx_ws_socket_event(sock, &pkt);

    case NGX_WS_SIO_ACK:
        /* the server asks for no acks: nobody waits for this one */
        return sock ? NULL : "EVENT or ACK to a namespace not connected";

    case NGX_WS_SIO_BINARY_EVENT:
    case NGX_WS_SIO_BINARY_ACK:
        if (sock == NULL) {
            return "EVENT or ACK to a namespace not connected";
        }

        s->attachments = pkt.attachments;

        if (pkt.type == NGX_WS_SIO_BINARY_EVENT
            && pkt.data
            && s->conf->hook_event.len
            && ngx_ws_hook_binary_event(sock, &pkt) != NGX_OK)
        {
            return "bad attachment placeholders, or out of memory";
        }

        return NULL;

    default:
        return "CONNECT_ERROR from a client";
    }
}


const char *
ngx_ws_socket_attachment(ngx_ws_session_t *s, u_char *data, size_t len)
{
    if (s->attachments == 0) {
        return "binary with no packet waiting for it";
    }

    s->attachments--;

    if (s->hooks && ngx_ws_hook_attachment(s, data, len) != NGX_OK) {
        return "bad attachment placeholders, or out of memory";
    }

    return NULL;
}


static ngx_ws_socket_t *
ngx_ws_socket_find(ngx_ws_session_t *s, u_char *nsp, size_t len)
{
    ngx_ws_socket_t  *sock;

    for (sock = s->sockets; sock; sock = sock->next) {
        if (sock->nsp->name.len == len
            && ngx_memcmp(sock->nsp->name.data, nsp, len) == 0)
        {
            return sock;
        }
    }

    return NULL;
}


/*
 * A client's event: re-emitted by nginx when ws_relay names it, handed to
 * the application when there is an event hook, else dropped, as socket.io
 * drops events nobody listens to.
 */

static const char *
ngx_ws_socket_event(ngx_ws_socket_t *sock, ngx_ws_sio_packet_t *pkt)
{
    u_char             *name, *name_end, *end;
    ngx_uint_t          i;
    ngx_ws_relay_t     *relay;
    ngx_ws_loc_conf_t  *conf;

    conf = sock->session->conf;

    if (pkt->data == NULL) {
        /* "42" names no event: socket.io dispatches nothing */
        return NULL;
    }

    if (conf->relays) {
        end = pkt->data + pkt->data_len;

        /* the packet was checked: an array that starts with its event */

        (void) ngx_ws_json_array_next(ngx_ws_json_skip_ws(pkt->data, end) + 1,
                                      end, &name, &name_end);

        relay = conf->relays->elts;

        for (i = 0; i < conf->relays->nelts; i++) {
            if (*name == '"'
                && ngx_ws_json_string_eq(name, name_end,
                                         (char *) relay[i].event.data))
            {
                if (ngx_ws_socket_relay(sock, pkt, &relay[i]) != NGX_OK) {
                    return "out of memory";
                }

                return NULL;
            }
        }
    }

    if (conf->hook_event.len == 0) {
        return NULL;
    }

    if (ngx_ws_hook_event(sock, pkt->data, pkt->data_len, pkt->ack_id)
        != NGX_OK)
    {
        return "out of memory";
    }

    return NULL;
}


/*
 * ws_relay: the event as the client sent it, to every room the sender is
 * in (socket.to([...socket.rooms]).emit), or to the room named by its
 * argument N if the sender is in it; never to the sender, never acked.
 */

static ngx_int_t
ngx_ws_socket_relay(ngx_ws_socket_t *sock, ngx_ws_sio_packet_t *pkt,
    ngx_ws_relay_t *relay)
{
    u_char           *pos, *end, *elt, *elt_end, *name;
    size_t            n;
    ngx_int_t         rc, k;
    ngx_uint_t        matched;
    ngx_pool_t       *pool;
    ngx_ws_op_t       op;
    ngx_ws_member_t  *m;
    ngx_ws_bytes_t    except, *rooms;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&op, sizeof(ngx_ws_op_t));
    op.type = NGX_WS_EMIT;
    op.nsp.data = sock->nsp->name.data;
    op.nsp.len = sock->nsp->name.len;

    /*
     * Names are copied: publishing applies other workers' operations
     * first, and one of them may end this socket or its rooms.
     */

    except.data = ngx_pnalloc(pool, NGX_WS_ID_LEN);
    if (except.data == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ngx_memcpy(except.data, sock->id, NGX_WS_ID_LEN);
    except.len = NGX_WS_ID_LEN;
    op.except = &except;
    op.nexcept = 1;

    for (n = 0, m = sock->rooms; m; m = m->next) {
        n++;
    }

    rooms = ngx_palloc(pool, (n + 1) * sizeof(ngx_ws_bytes_t));
    if (rooms == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    op.rooms = rooms;

    if (relay->room < 0) {
        for (m = sock->rooms; m; m = m->next) {
            rooms[op.nrooms].len = m->room->node.str.len;
            rooms[op.nrooms].data = ngx_pnalloc(pool,
                                                m->room->node.str.len + 1);
            if (rooms[op.nrooms].data == NULL) {
                ngx_destroy_pool(pool);
                return NGX_ERROR;
            }

            ngx_memcpy(rooms[op.nrooms].data, m->room->node.str.data,
                       m->room->node.str.len);
            op.nrooms++;
        }

    } else {
        /* argument N (after the event name) names the room */

        end = pkt->data + pkt->data_len;
        pos = ngx_ws_json_skip_ws(pkt->data, end) + 1;
        elt = NULL;

        for (k = -1; k <= relay->room && pos; k++) {
            pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end);
        }

        for (m = sock->rooms; pos && elt && *elt == '"' && m; m = m->next) {
            name = ngx_pnalloc(pool, elt_end - elt);
            if (name == NULL) {
                ngx_destroy_pool(pool);
                return NGX_ERROR;
            }

            n = ngx_ws_json_string_decode(elt, elt_end, name);

            if (m->room->node.str.len == n
                && ngx_memcmp(m->room->node.str.data, name, n) == 0)
            {
                rooms[0].data = name;
                rooms[0].len = n;
                op.nrooms = 1;
                break;
            }
        }
    }

    if (op.nrooms == 0) {
        /* no room: socket.to([]) reaches nobody */
        ngx_destroy_pool(pool);
        return NGX_OK;
    }

    /* the packet as the client wrote it, under this namespace */

    n = ngx_ws_sio_header_len(NGX_WS_SIO_EVENT, op.nsp.len, 0, -1);

    op.packet.data = ngx_pnalloc(pool, n + pkt->data_len);
    if (op.packet.data == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    name = ngx_ws_sio_header_write(op.packet.data, NGX_WS_SIO_EVENT,
                                   op.nsp.data, op.nsp.len, 0, -1);
    ngx_memcpy(name, pkt->data, pkt->data_len);
    op.packet.len = n + pkt->data_len;

    rc = ngx_ws_broker_publish(&op, pool, &matched);

    ngx_destroy_pool(pool);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* A session's socket by id: what a late answer finds it by, if still there */

ngx_ws_socket_t *
ngx_ws_socket_by_id(ngx_ws_session_t *s, u_char *id)
{
    ngx_ws_socket_t  *sock;

    for (sock = s->sockets; sock; sock = sock->next) {
        if (ngx_memcmp(sock->id, id, NGX_WS_ID_LEN) == 0) {
            return sock;
        }
    }

    return NULL;
}


ngx_ws_nsp_t *
ngx_ws_nsp_find(u_char *name, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        if (ngx_ws_worker.nsps[i].name.len == len
            && ngx_memcmp(ngx_ws_worker.nsps[i].name.data, name, len) == 0)
        {
            return &ngx_ws_worker.nsps[i];
        }
    }

    return NULL;
}


/* "/" and the namespaces of the session's location */

static ngx_ws_nsp_t *
ngx_ws_nsp_served(ngx_ws_session_t *s, u_char *name, size_t len)
{
    ngx_uint_t     i, *index;
    ngx_ws_nsp_t  *nsp;

    if (ngx_ws_worker.nnsps == 0) {
        return NULL;
    }

    if (len == 1 && name[0] == '/') {
        return &ngx_ws_worker.nsps[0];
    }

    if (s->conf->namespaces == NULL) {
        return NULL;
    }

    index = s->conf->namespaces->elts;

    for (i = 0; i < s->conf->namespaces->nelts; i++) {
        nsp = &ngx_ws_worker.nsps[index[i]];

        if (nsp->name.len == len && ngx_memcmp(nsp->name.data, name, len) == 0)
        {
            return nsp;
        }
    }

    return NULL;
}


static const char *
ngx_ws_socket_connect(ngx_ws_session_t *s, ngx_ws_sio_packet_t *pkt)
{
    ngx_int_t         rc;
    ngx_ws_nsp_t     *nsp;
    ngx_ws_socket_t  *sock;

    nsp = ngx_ws_nsp_served(s, pkt->nsp, pkt->nsp_len);

    if (nsp == NULL) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                       "ws connect: \"%*s\" is not served here",
                       pkt->nsp_len, pkt->nsp);

        /* a name the client chose never becomes a label */
        ngx_ws_metrics_connect(NULL, NGX_WS_M_CONNECT_REJECTED);

        rc = ngx_ws_socket_reply(s, NGX_WS_SIO_CONNECT_ERROR, pkt->nsp,
                                 pkt->nsp_len, (u_char *) NGX_WS_INVALID_NSP,
                                 sizeof(NGX_WS_INVALID_NSP) - 1);
        return (rc == NGX_OK) ? NULL : "out of memory";
    }

    if (pkt->data_len > NGX_WS_DATA_MAX) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                       "ws connect: auth payload of %uz bytes refused",
                       pkt->data_len);

        ngx_ws_metrics_connect(nsp, NGX_WS_M_CONNECT_REJECTED);

        rc = ngx_ws_socket_reply(s, NGX_WS_SIO_CONNECT_ERROR, pkt->nsp,
                                 pkt->nsp_len, (u_char *) NGX_WS_AUTH_TOO_BIG,
                                 sizeof(NGX_WS_AUTH_TOO_BIG) - 1);
        return (rc == NGX_OK) ? NULL : "out of memory";
    }

    sock = ngx_calloc(sizeof(ngx_ws_socket_t), ngx_ws_session_log(s));
    if (sock == NULL) {
        return "out of memory";
    }

    if (pkt->data_len) {
        sock->data = ngx_alloc(pkt->data_len, ngx_ws_session_log(s));
        if (sock->data == NULL) {
            ngx_free(sock);
            return "out of memory";
        }

        ngx_memcpy(sock->data, pkt->data, pkt->data_len);
        sock->data_len = (uint32_t) pkt->data_len;
    }

    sock->data_is_auth = 1;

    if (ngx_ws_id_generate(sock->id) != NGX_OK) {
        if (sock->data) {
            ngx_free(sock->data);
        }

        ngx_free(sock);
        return "no random bytes for a socket id";
    }

    sock->session = s;
    sock->nsp = nsp;
    sock->next = s->sockets;
    s->sockets = sock;

    if (s->conf->recovery) {
        /* a kept session named by the payload: the socket takes its id */
        (void) ngx_ws_recovery_connect(sock, pkt->data, pkt->data_len);
    }

    if (s->conf->hook_connect.len == 0
        || (sock->recovering && s->conf->recovery_skip_hooks))
    {
        return ngx_ws_socket_accept(sock);
    }

    /* the application says whether it may join; meanwhile it waits */

    sock->pending = 1;

    if (ngx_ws_hook_connect(sock) != NGX_OK) {
        ngx_ws_session_close(s, NGX_WS_CLOSE_INTERNAL, "connect hook failed");
    }

    return NULL;
}


/* The socket joins its namespace, and the client is told. */

const char *
ngx_ws_socket_accept(ngx_ws_socket_t *sock)
{
    u_char            *p;
    ngx_ws_nsp_t      *nsp;
    ngx_ws_session_t  *s;
    u_char             reply[sizeof("{\"sid\":\"\",\"pid\":\"\"}") - 1
                             + 2 * NGX_WS_ID_LEN];

    s = sock->session;
    nsp = sock->nsp;

    sock->pending = 0;

    if (sock->recovering) {
        /* rooms, data, and the missed packets before the CONNECT */
        ngx_ws_recovery_restore(sock);
    }

    ngx_queue_insert_tail(&nsp->sockets, &sock->queue);
    nsp->nsockets++;

    sock->node.key = ngx_crc32_short(sock->id, NGX_WS_ID_LEN);
    ngx_rbtree_insert(&nsp->ids, &sock->node);

    ngx_ws_zone_count(nsp, 1);
    ngx_ws_metrics_connect(nsp, NGX_WS_M_CONNECT_SUCCESS);

    s->connected = 1;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                   "ws socket %*s: connected to \"%V\"",
                   (size_t) NGX_WS_ID_LEN, sock->id, &nsp->name);

    p = ngx_cpymem(reply, "{\"sid\":\"", sizeof("{\"sid\":\"") - 1);
    p = ngx_cpymem(p, sock->id, NGX_WS_ID_LEN);
    *p++ = '"';

    if (s->conf->recovery) {
        p = ngx_cpymem(p, ",\"pid\":\"", sizeof(",\"pid\":\"") - 1);
        p = ngx_ws_recovery_pid(sock, p);

        if (p == NULL) {
            return "no private id";
        }

        *p++ = '"';
    }

    *p++ = '}';

    if (ngx_ws_socket_reply(s, NGX_WS_SIO_CONNECT, nsp->name.data,
                            nsp->name.len, reply, p - reply)
        != NGX_OK)
    {
        return "out of memory";
    }

    return NULL;
}


/* A CONNECT the application refused: CONNECT_ERROR with its payload. */

ngx_int_t
ngx_ws_socket_refuse(ngx_ws_socket_t *sock, u_char *json, size_t len)
{
    ngx_int_t          rc;
    ngx_ws_session_t  *s;

    s = sock->session;

    ngx_ws_metrics_connect(sock->nsp, NGX_WS_M_CONNECT_REJECTED);

    rc = ngx_ws_socket_reply(s, NGX_WS_SIO_CONNECT_ERROR,
                             sock->nsp->name.data, sock->nsp->name.len,
                             json, len);

    ngx_ws_socket_unlink(sock);
    ngx_ws_socket_destroy(sock, NULL);

    return rc;
}


/* A server-side disconnect: the client is told and does not reconnect. */

void
ngx_ws_socket_disconnect(ngx_ws_socket_t *sock)
{
    ngx_ws_session_t  *s;

    s = sock->session;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                   "ws socket %*s: server namespace disconnect",
                   (size_t) NGX_WS_ID_LEN, sock->id);

    (void) ngx_ws_socket_reply(s, NGX_WS_SIO_DISCONNECT, sock->nsp->name.data,
                               sock->nsp->name.len, NULL, 0);

    ngx_ws_socket_unlink(sock);
    ngx_ws_socket_destroy(sock, "server namespace disconnect");
}


static void
ngx_ws_socket_unlink(ngx_ws_socket_t *sock)
{
    ngx_ws_socket_t  **prev;

    for (prev = &sock->session->sockets; *prev; prev = &(*prev)->next) {
        if (*prev == sock) {
            *prev = sock->next;
            return;
        }
    }
}


/*
 * Leaves the namespace; the caller has taken it off the session's list.
 * The application hears of it with socket.io's reason, once it had let
 * the socket in.  A socket still waiting for the connect hook goes with a
 * reason when its CONNECT was never answered (a refusal gives none).
 */

void
ngx_ws_socket_destroy(ngx_ws_socket_t *sock, const char *reason)
{
    ngx_uint_t  deferred;

    if (sock->recovering) {
        ngx_ws_recovery_release(sock);
    }

    if (sock->pending && reason) {
        ngx_ws_metrics_connect(sock->nsp, NGX_WS_M_CONNECT_ERROR);
    }

    if (!sock->pending) {
        if (reason) {
            ngx_ws_metrics_disconnect(reason);
        }

        if (reason && sock->session->hooks) {
            /* kept: its disconnect call waits for the window to pass */
            deferred = sock->session->conf->recovery
                       && ngx_ws_recovery_persist(sock, reason) == NGX_OK;

            ngx_ws_hook_disconnect(sock, deferred ? NULL : reason);

        } else if (sock->session->conf->recovery) {
            (void) ngx_ws_recovery_persist(sock, reason);
        }

        ngx_ws_room_leave_all(sock);

        ngx_rbtree_delete(&sock->nsp->ids, &sock->node);
        ngx_queue_remove(&sock->queue);
        sock->nsp->nsockets--;

        ngx_ws_zone_count(sock->nsp, -1);
    }

    if (sock->data) {
        ngx_free(sock->data);
    }

    ngx_free(sock);
}


static ngx_int_t
ngx_ws_socket_reply(ngx_ws_session_t *s, unsigned type, u_char *nsp,
    size_t nsp_len, u_char *json, size_t json_len)
{
    u_char        *p;
    size_t         len;
    ngx_ws_msg_t  *msg;

    len = 1 + ngx_ws_sio_header_len(type, nsp_len, 0, -1) + json_len;

    msg = ngx_ws_msg_frame(NGX_WS_OP_TEXT, len, &p);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    *p++ = NGX_WS_EIO_MESSAGE;
    p = ngx_ws_sio_header_write(p, type, nsp, nsp_len, 0, -1);

    if (json_len) {
        ngx_memcpy(p, json, json_len);
    }

    ngx_ws_session_send(s, msg);
    ngx_ws_msg_release(msg);

    return NGX_OK;
}
