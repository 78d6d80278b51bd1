
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <sys/random.h>
#include <openssl/rand.h>

#include "ngx_ws_metrics.h"
#include "ngx_ws_var.h"


static void ngx_ws_read_handler(ngx_event_t *rev);
static void ngx_ws_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_ws_session_put(ngx_ws_session_t *s, ngx_ws_msg_t *msg,
    ngx_uint_t now);
static ngx_int_t ngx_ws_session_read(ngx_ws_session_t *s);
static ngx_int_t ngx_ws_session_parse(ngx_ws_session_t *s);
static ngx_int_t ngx_ws_session_grow(ngx_ws_session_t *s, size_t size);
static ngx_int_t ngx_ws_session_flush(ngx_ws_session_t *s);
static void ngx_ws_session_fail(ngx_ws_session_t *s);
static void ngx_ws_session_finalize(ngx_ws_session_t *s);
static int ngx_ws_on_message(void *data, unsigned opcode, u_char *payload,
    size_t len);
static int ngx_ws_on_close(ngx_ws_session_t *s, u_char *payload,
    size_t len);
static ngx_int_t ngx_ws_session_takeover(ngx_ws_session_t *probe);
static void ngx_ws_session_error(ngx_ws_session_t *s);
static ngx_int_t ngx_ws_probe_answer(ngx_ws_session_t *s,
    ngx_ws_eio_packet_t *pkt);
static void ngx_ws_relay_probe(ngx_ws_session_t *s,
    ngx_ws_eio_packet_t *pkt);
static void ngx_ws_probe_packet(ngx_ws_session_t *s,
    ngx_ws_eio_packet_t *pkt);
static void ngx_ws_send_control(ngx_ws_session_t *s, unsigned opcode,
    u_char *payload, size_t len);
static ngx_int_t ngx_ws_random(u_char *buf, size_t len);
static void *ngx_ws_parser_alloc(void *data, size_t size);
static void ngx_ws_parser_free(void *data, void *p);


static const ngx_ws_parser_ops_t  ngx_ws_parser_ops = {
    ngx_ws_on_message,
    ngx_ws_parser_alloc,
    ngx_ws_parser_free
};


/* One "2" ping frame serves every session of the worker. */
static ngx_ws_msg_t  *ngx_ws_ping_msg;


ngx_ws_session_t *
ngx_ws_session_create(ngx_connection_t *c, ngx_ws_loc_conf_t *conf)
{
    ngx_ws_session_t  *s;

    /* a polling session has no connection of its own */

    s = ngx_calloc(sizeof(ngx_ws_session_t) + ngx_ws_limit_extra(conf),
                   c ? c->log : ngx_cycle->log);
    if (s == NULL) {
        return NULL;
    }

    s->connection = c;
    s->conf = conf;
    s->out_last = &s->out;

    if (ngx_ws_id_generate(s->sid) != NGX_OK) {
        ngx_free(s);
        return NULL;
    }

    return s;
}


/* The Engine.IO open packet as a whole frame, allocated from pool. */

u_char *
ngx_ws_session_open(ngx_ws_session_t *s, ngx_pool_t *pool, size_t *len)
{
    u_char             *frame, *p;
    size_t              plen;
    ngx_ws_loc_conf_t  *conf;

    conf = s->conf;

    plen = ngx_ws_eio_open_len(NGX_WS_ID_LEN, 0, conf->ping_interval,
                               conf->ping_timeout, conf->max_payload);

    *len = ngx_ws_frame_header_len(plen) + plen;

    frame = ngx_pnalloc(pool, *len);
    if (frame == NULL) {
        return NULL;
    }

    p = ngx_ws_frame_header_write(frame, NGX_WS_OP_TEXT, plen);
    ngx_ws_eio_open_write(p, s->sid, NGX_WS_ID_LEN, 0, conf->ping_interval,
                          conf->ping_timeout, conf->max_payload);

    return frame;
}


/* Bytes the client sent right behind its handshake: already frames. */

ngx_int_t
ngx_ws_session_input(ngx_ws_session_t *s, u_char *data, size_t len)
{
    if (ngx_ws_session_grow(s, ngx_max(len, NGX_WS_RBUF_MIN)) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->rbuf, data, len);
    s->rbuf_len = len;

    return NGX_OK;
}


void
ngx_ws_session_start(ngx_ws_session_t *s)
{
    ngx_msec_t          now;
    ngx_connection_t   *c;
    ngx_ws_loc_conf_t  *conf;

    c = s->connection;
    conf = s->conf;

    c->read->handler = ngx_ws_read_handler;
    c->write->handler = ngx_ws_write_handler;
    c->log->action = "serving socket.io";

    /*
     * Only a session that owns its connection is in the worker's table; a
     * probe is the WebSocket of a polling session already there.
     */

    if (!s->probe) {
        ngx_ws_session_register(s);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "ws session %*s: started, %uz bytes read ahead, "
                   "%ui in the worker", (size_t) NGX_WS_ID_LEN, s->sid,
                   s->rbuf_len, ngx_ws_worker.nsessions);

    /* an idle connection is told about a graceful shutdown */
    c->idle = 1;

    if (ngx_tcp_nodelay(c) != NGX_OK) {
        ngx_ws_session_finalize(s);
        return;
    }

    if (ngx_exiting || ngx_terminate) {
        ngx_ws_session_close(s, NGX_WS_CLOSE_GOING_AWAY,
                             "server shutting down");
        return;
    }

    if (s->probe && s->discard) {
        /* a second upgrade of the session */
        ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "transport close");
        return;
    }

    now = ngx_current_msec;

    /* a probe has as long as engine.io's upgradeTimeout to say "5" */

    s->heartbeat_at = now + (s->probe ? NGX_WS_UPGRADE_TIMEOUT
                                      : conf->ping_interval);
    s->connect_at = now + conf->connect_timeout;

    ngx_ws_session_timer_arm(s);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_session_finalize(s);
        return;
    }

    if (s->rbuf_len || c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }
}


void
ngx_ws_session_register(ngx_ws_session_t *s)
{
    s->node.key = ngx_crc32_short(s->sid, NGX_WS_ID_LEN);

    ngx_rbtree_insert(&ngx_ws_worker.sessions, &s->node);
    ngx_ws_worker.nsessions++;
    s->started = 1;

    ngx_ws_registry_add(s->sid);
    ngx_ws_zone_count(NULL, 1);
    ngx_ws_metric_add(s->polling ? NGX_WS_M_EIO_POLLING
                                 : NGX_WS_M_EIO_WEBSOCKET, 1);
}


/*
 * The common case writes at once, with no allocation; only what the socket
 * does not take is queued, and a queue over the bound drops the client so
 * that one slow reader cannot grow the worker's memory.  Never closes the
 * session here: the caller may be walking a room.  NGX_OK when the bytes
 * were written or queued, NGX_ERROR when the client gets nothing.
 */

ngx_int_t
ngx_ws_session_send(ngx_ws_session_t *s, ngx_ws_msg_t *msg)
{
    return ngx_ws_session_put(s, msg, 1);
}


/*
 * Queued, to be written on a later turn of the event loop: a broadcast to
 * many sockets is written in slices (ngx_ws_flush.c), so that the worker
 * answers other requests between them.
 */

ngx_int_t
ngx_ws_session_send_later(ngx_ws_session_t *s, ngx_ws_msg_t *msg)
{
    return ngx_ws_session_put(s, msg, 0);
}


static ngx_int_t
ngx_ws_session_put(ngx_ws_session_t *s, ngx_ws_msg_t *msg, ngx_uint_t now)
{
    size_t             pos, cost;
    ssize_t            n;
    ngx_ws_out_t      *out;
    ngx_connection_t  *c;

    if (s->error) {
        return NGX_ERROR;
    }

    ngx_ws_metric_add(NGX_WS_M_PACKETS_OUT, 1);
    s->packets_out++;

    if (s->polling) {
        return ngx_ws_poll_queue(s, msg);
    }

    c = s->connection;
    pos = 0;

    if (s->out == NULL && now) {
        n = c->send(c, msg->data, msg->len);

        if (n > 0) {
            ngx_ws_metric_add(NGX_WS_M_BYTES_OUT, n);
        }

        if (n == (ssize_t) msg->len) {
            return NGX_OK;
        }

        if (n == NGX_ERROR) {
            ngx_ws_session_fail(s);
            return NGX_ERROR;
        }

        if (n > 0) {
            pos = n;
        }
    }

    /*
     * One message however large may wait; a queue behind it is bounded,
     * each entry counted with what it costs in memory besides its bytes,
     * so that many tiny replies (pongs) cannot hold more than the bound.
     */

    cost = msg->len - pos + NGX_WS_OUT_COST;

    if (s->out && s->out_bytes + cost > s->conf->write_queue) {
        ngx_ws_metric_add(NGX_WS_M_SLOW_READER, 1);
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "ws: slow reader, %uz bytes queued over "
                      "ws_write_queue %uz, closing",
                      s->out_bytes + cost, s->conf->write_queue);
        ngx_ws_session_fail(s);
        return NGX_ERROR;
    }

    out = ngx_alloc(sizeof(ngx_ws_out_t), c->log);
    if (out == NULL) {
        ngx_ws_session_fail(s);
        return NGX_ERROR;
    }

    out->next = NULL;
    out->msg = msg;
    out->pos = pos;
    msg->refs++;

    *s->out_last = out;
    s->out_last = &out->next;
    s->out_bytes += cost;

    if (!now && !s->flush_later) {
        s->flush_later = 1;
        ngx_ws_flush_add(c);
    }

    if (!c->write->timer_set) {
        ngx_add_timer(c->write, s->conf->send_timeout);
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_ws_session_fail(s);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* Its turn among the writes spread over turns: what it has queued. */

void
ngx_ws_session_flush_later(ngx_connection_t *c)
{
    ngx_ws_session_t  *s;

    s = c->data;

    if (!s->flush_later) {
        return;
    }

    s->flush_later = 0;

    ngx_ws_write_handler(c->write);
}


/* The close is finished from the write event, outside any room walk. */

static void
ngx_ws_session_fail(ngx_ws_session_t *s)
{
    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                   "ws session %*s: failed, %uz bytes queued",
                   (size_t) NGX_WS_ID_LEN, s->sid, s->out_bytes);

    if (s->polling) {
        ngx_ws_poll_fail(s);
        return;
    }

    s->error = 1;
    ngx_post_event(s->connection->write, &ngx_posted_events);
}


/*
 * Starts the closing handshake: the sockets leave their namespaces now,
 * the close frame is queued, and the connection waits a little for the
 * client's close frame or end of stream.  The wait timer is not
 * cancelable, so an exiting worker lets its clients see the close.
 */

void
ngx_ws_session_close(ngx_ws_session_t *s, ngx_uint_t code, const char *reason)
{
    u_char            *p;
    ngx_ws_msg_t      *msg;
    ngx_connection_t  *c;

    if (s->closing) {
        return;
    }

    s->closing = 1;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                   "ws session %*s: closing with %ui, %s",
                   (size_t) NGX_WS_ID_LEN, s->sid, code, reason);

    ngx_ws_session_detach(s, reason);

    if (s->polling) {
        ngx_ws_poll_close(s);
        return;
    }

    c = s->connection;

    msg = ngx_ws_msg_frame(NGX_WS_OP_CLOSE, code ? 2 : 0, &p);
    if (msg == NULL) {
        ngx_ws_session_fail(s);
        return;
    }

    if (code) {
        p[0] = (u_char) (code >> 8);
        p[1] = (u_char) (code & 0xff);
    }

    ngx_ws_session_send(s, msg);
    ngx_ws_msg_release(msg);

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    c->read->cancelable = 0;
    ngx_add_timer(c->read, NGX_WS_LINGER);
}


static void
ngx_ws_read_handler(ngx_event_t *rev)
{
    ngx_connection_t  *c;
    ngx_ws_session_t  *s;

    c = rev->data;
    s = c->data;

    if (c->close) {

        /* a graceful shutdown, or worker_shutdown_timeout */

        c->close = 0;

        if (c->error || s->closing) {
            ngx_ws_session_finalize(s);
            return;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: worker is shutting down, closing");

        ngx_ws_session_close(s, NGX_WS_CLOSE_GOING_AWAY,
                             "server shutting down");
    }

    if (rev->timedout) {
        rev->timedout = 0;

        if (s->closing || s->probe) {
            /* a probe that never said "5" goes, its session stays */
            ngx_ws_session_finalize(s);
            return;
        }

        ngx_ws_session_heartbeat(s);
    }

    if (ngx_ws_session_read(s) == NGX_DONE) {
        return;
    }

    if (s->error) {
        ngx_ws_session_finalize(s);
    }
}


static ngx_int_t
ngx_ws_session_read(ngx_ws_session_t *s)
{
    size_t             total;
    ssize_t            n;
    ngx_connection_t  *c;

    c = s->connection;
    total = 0;

    if (s->rbuf_len && !s->throttled && ngx_ws_session_parse(s) == NGX_DONE)
    {
        return NGX_DONE;
    }

    /* a throttled client is read again when its hook queue has room */

    while (c->read->ready && !s->error && !s->throttled) {

        if (total >= NGX_WS_READ_BUDGET) {
            /* a client that keeps sending yields to the others */
            ngx_post_event(c->read, &ngx_posted_next_events);
            break;
        }

        if (s->rbuf == NULL
            && ngx_ws_session_grow(s, NGX_WS_RBUF_MIN) != NGX_OK)
        {
            ngx_ws_session_finalize(s);
            return NGX_DONE;
        }

        n = c->recv(c, s->rbuf + s->rbuf_len, s->rbuf_size - s->rbuf_len);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                           "ws session: %s", n ? "transport error"
                                               : "transport close");
            ngx_ws_session_finalize(s);
            return NGX_DONE;
        }

        s->rbuf_len += n;
        total += n;
        ngx_ws_metric_add(NGX_WS_M_BYTES_IN, n);

        if (ngx_ws_session_parse(s) == NGX_DONE) {
            return NGX_DONE;
        }
    }

    /* an idle connection keeps no read buffer */

    if (s->rbuf_len == 0 && s->rbuf) {
        ngx_free(s->rbuf);
        s->rbuf = NULL;
        s->rbuf_size = 0;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_session_finalize(s);
        return NGX_DONE;
    }

    return NGX_OK;
}


/* Returns NGX_DONE when the session was finalized meanwhile. */

static ngx_int_t
ngx_ws_session_parse(ngx_ws_session_t *s)
{
    size_t   need;
    ssize_t  n;

    if (s->discard) {
        /* after a protocol error the rest of the stream means nothing */
        s->rbuf_len = 0;
        return NGX_OK;
    }

    n = ngx_ws_parser_execute(&s->parser, s->rbuf, s->rbuf_len,
                              s->conf->max_payload, &ngx_ws_parser_ops, s,
                              &need);

    if (n == NGX_WS_PARSE_STOPPED) {
        return NGX_DONE;
    }

    if (n >= 0 && s->upgraded) {
        /* the connection goes to its polling session, unread bytes too */
        s->rbuf_len -= n;
        ngx_memmove(s->rbuf, s->rbuf + n, s->rbuf_len);
        return ngx_ws_session_takeover(s);
    }

    if (n >= 0 && s->throttled) {
        /* the parser paused: the rest waits in the buffer */
        s->rbuf_len -= n;
        ngx_memmove(s->rbuf, s->rbuf + n, s->rbuf_len);
        return NGX_OK;
    }

    if (n < 0) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "ws: bad frame (%s), closing with %z",
                      s->parser.error, -n);
        s->rbuf_len = 0;
        s->discard = 1;
        ngx_ws_metrics_protocol((ngx_uint_t) -n);
        ngx_ws_session_close(s, (ngx_uint_t) -n, "transport error");
        return NGX_OK;
    }

    if (n) {
        s->rbuf_len -= n;
        ngx_memmove(s->rbuf, s->rbuf + n, s->rbuf_len);
    }

    /*
     * A big frame's buffer grows with what arrives, not with what its
     * header announces.
     */

    if (need > s->rbuf_size && s->rbuf_len == s->rbuf_size) {
        if (ngx_ws_session_grow(s, ngx_min(need, 2 * s->rbuf_size))
            != NGX_OK)
        {
            ngx_ws_session_finalize(s);
            return NGX_DONE;
        }

    } else if (need <= s->rbuf_size && s->rbuf_len == s->rbuf_size) {
        /* a frame header longer than the buffer cannot happen */
        ngx_ws_session_finalize(s);
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ws_session_grow(ngx_ws_session_t *s, size_t size)
{
    u_char  *buf;

    buf = ngx_alloc(size, s->connection->log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (s->rbuf) {
        ngx_memcpy(buf, s->rbuf, s->rbuf_len);
        ngx_free(s->rbuf);
    }

    s->rbuf = buf;
    s->rbuf_size = size;

    return NGX_OK;
}


static void
ngx_ws_write_handler(ngx_event_t *wev)
{
    ngx_connection_t  *c;
    ngx_ws_session_t  *s;

    c = wev->data;
    s = c->data;

    if (wev->timedout) {
        ngx_ws_metric_add(NGX_WS_M_SEND_TIMEOUT, 1);
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "ws: client timed out reading, closing");
        c->timedout = 1;
        ngx_ws_session_finalize(s);
        return;
    }

    if (s->error || ngx_ws_session_flush(s) != NGX_OK) {
        ngx_ws_session_finalize(s);
        return;
    }

    /* the client closed first: our close frame was its answer */

    if (s->out == NULL && s->peer_closed) {
        ngx_ws_session_finalize(s);
    }
}


static ngx_int_t
ngx_ws_session_flush(ngx_ws_session_t *s)
{
    ssize_t            n;
    ngx_uint_t         progress;
    ngx_ws_out_t      *out;
    ngx_connection_t  *c;

    c = s->connection;
    progress = 0;

    while (s->out) {
        out = s->out;

        n = c->send(c, out->msg->data + out->pos, out->msg->len - out->pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            break;
        }

        progress = 1;
        out->pos += n;
        ngx_ws_metric_add(NGX_WS_M_BYTES_OUT, n);
        s->out_bytes -= n;

        if (out->pos < out->msg->len) {
            break;
        }

        s->out = out->next;
        s->out_bytes -= NGX_WS_OUT_COST;
        ngx_ws_msg_release(out->msg);
        ngx_free(out);
    }

    if (s->out == NULL) {
        s->out_last = &s->out;

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        /* a level-triggered event module would report writable forever */

        if (c->write->active && (ngx_event_flags & NGX_USE_LEVEL_EVENT)) {
            if (ngx_del_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "ws flush: client caught up");

        return NGX_OK;
    }

    /* send_timeout counts from the last progress, as nginx's does */

    if (progress || !c->write->timer_set) {
        ngx_add_timer(c->write, s->conf->send_timeout);
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_ws_session_detach(ngx_ws_session_t *s, const char *reason)
{
    ngx_ws_socket_t  *sock;

    /* the first reason is the session's, said while its sockets are here */
    ngx_ws_var_log(s, reason);

    while (s->sockets) {
        sock = s->sockets;
        s->sockets = sock->next;
        ngx_ws_socket_destroy(sock, reason);
    }
}


static void
ngx_ws_session_finalize(ngx_ws_session_t *s)
{
    ngx_connection_t  *c;

    c = s->connection;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "ws session %*s: finalized, %uz bytes unsent, "
                   "%ui left in the worker", (size_t) NGX_WS_ID_LEN, s->sid,
                   s->out_bytes, ngx_ws_worker.nsessions - s->started);

    ngx_ws_session_free(s);

    c->data = NULL;

    ngx_http_close_connection(c);
}


/* A throttled client may be read again: its hook queue has room. */

void
ngx_ws_session_resume(ngx_ws_session_t *s)
{
    if (s->polling) {
        ngx_ws_poll_resume(s);
        return;
    }

    ngx_post_event(s->connection->read, &ngx_posted_events);
}


/* A session of this worker by id, or NULL: late answers find it so. */

ngx_ws_session_t *
ngx_ws_session_find(u_char *sid)
{
    return (ngx_ws_session_t *) ngx_ws_id_rbtree_lookup(
                                          &ngx_ws_worker.sessions, sid);
}


/*
 * Trees of ids: sessions, sockets, the zone's registry.  Each node is
 * followed by its 20-byte id; the key is the id's crc32.
 */

void
ngx_ws_id_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t  **p;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            /* ngx_memcmp() casts without parentheses: the ids, as such */
            p = (ngx_memcmp((u_char *) (node + 1), (u_char *) (temp + 1),
                            NGX_WS_ID_LEN)
                 < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_rbtree_node_t *
ngx_ws_id_rbtree_lookup(ngx_rbtree_t *tree, u_char *id)
{
    uint32_t            hash;
    ngx_int_t           rc;
    ngx_rbtree_node_t  *node, *sentinel;

    hash = ngx_crc32_short(id, NGX_WS_ID_LEN);
    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        rc = ngx_memcmp(id, (u_char *) (node + 1), NGX_WS_ID_LEN);

        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* Frees the session alone: also for one whose 101 never went out. */

void
ngx_ws_session_free(ngx_ws_session_t *s)
{
    ngx_ws_out_t      *out;
    ngx_ws_session_t  *target;

    ngx_ws_limit_release(s);

    if (s->probe && !s->discard) {
        /* a probe that did not upgrade: the session may try again */
        target = ngx_ws_session_find(s->sid);

        if (target && target->polling) {
            target->poll->probing = 0;
            target->poll->upgrading = 0;
        }
    }

    /* a session closed by us has no sockets left: the client went away */
    ngx_ws_session_detach(s, s->error ? "transport error"
                                      : "transport close");

    while (s->out) {
        out = s->out;
        s->out = out->next;
        ngx_ws_msg_release(out->msg);
        ngx_free(out);
    }

    ngx_ws_parser_reset(&s->parser, &ngx_ws_parser_ops, s);

    if (s->rbuf) {
        ngx_free(s->rbuf);
    }

    if (s->hooks) {
        ngx_ws_hook_release(s);
    }

    if (s->polling) {
        ngx_ws_poll_free(s);
    }

    if (s->started) {
        ngx_rbtree_delete(&ngx_ws_worker.sessions, &s->node);
        ngx_ws_worker.nsessions--;

        if (s->relay) {
            /* the WebSocket is gone: so is the session, in its worker */
            (void) ngx_ws_relay_send(NGX_WS_RELAY_END, s->sid, 0, 1, NULL,
                                     0);

        } else {
            ngx_ws_registry_del(s->sid);
            ngx_ws_zone_count(NULL, -1);
        }
    }

    ngx_free(s);
}


void
ngx_ws_session_close_all(void)
{
    ngx_rbtree_node_t  *node;
    ngx_ws_session_t   *s;

    while (ngx_ws_worker.sessions.root != ngx_ws_worker.sessions.sentinel) {
        node = ngx_rbtree_min(ngx_ws_worker.sessions.root,
                              ngx_ws_worker.sessions.sentinel);
        s = (ngx_ws_session_t *) ((u_char *) node
                                  - offsetof(ngx_ws_session_t, node));

        if (s->polling) {
            ngx_ws_session_free(s);

        } else {
            ngx_ws_session_finalize(s);
        }
    }
}


/* Returns non-zero only when the session is gone. */

static int
ngx_ws_on_message(void *data, unsigned opcode, u_char *payload, size_t len)
{
    ngx_ws_session_t *s = data;

    switch (opcode) {

    case NGX_WS_OP_CLOSE:
        return ngx_ws_on_close(s, payload, len);

    case NGX_WS_OP_PING:
        if (!s->closing) {
            ngx_ws_send_control(s, NGX_WS_OP_PONG, payload, len);
        }
        return 0;

    case NGX_WS_OP_PONG:
        /* Engine.IO keeps its own heartbeat; WebSocket pongs mean nothing */
        return 0;

    default:
        if (!s->closing) {
            ngx_ws_session_engineio(s, opcode == NGX_WS_OP_BINARY, payload,
                                    len);
        }

        /*
         * A full hook queue: nothing more is parsed until it has room; a
         * probe's "5": what follows is read by the session it upgrades.
         */
        return (s->throttled || s->upgraded) ? 2 : 0;
    }
}


static int
ngx_ws_on_close(ngx_ws_session_t *s, u_char *payload, size_t len)
{
    ngx_uint_t  code;

    if (s->closing) {
        /* the answer to our close frame */
        ngx_ws_session_finalize(s);
        return 1;
    }

    code = (len >= 2) ? (ngx_uint_t) (payload[0] << 8 | payload[1])
                      : NGX_WS_CLOSE_NORMAL;

    ngx_ws_session_close(s, code, "transport close");

    if (s->out == NULL || s->error) {
        ngx_ws_session_finalize(s);
        return 1;
    }

    /* the close frame is still queued: finish once it is written */
    s->peer_closed = 1;

    return 0;
}


static void
ngx_ws_send_control(ngx_ws_session_t *s, unsigned opcode, u_char *payload,
    size_t len)
{
    u_char        *p;
    ngx_ws_msg_t  *msg;

    msg = ngx_ws_msg_frame(opcode, len, &p);
    if (msg == NULL) {
        ngx_ws_session_fail(s);
        return;
    }

    ngx_memcpy(p, payload, len);

    ngx_ws_session_send(s, msg);
    ngx_ws_msg_release(msg);
}


/*
 * An Engine.IO packet from either transport: a WebSocket message, or one
 * packet of a polling payload ("b<base64>" decoded in place).
 */

void
ngx_ws_session_engineio(ngx_ws_session_t *s, unsigned binary,
    u_char *payload, size_t len)
{
    const char           *error;
    ngx_ws_eio_packet_t   pkt;

    if (s->relay && !s->probe) {
        /* the session is another worker's: it reads the packet */
        if (ngx_ws_relay_send(NGX_WS_RELAY_PACKET, s->sid, 0, binary,
                              payload, len)
            != NGX_OK)
        {
            ngx_ws_session_close(s, NGX_WS_CLOSE_INTERNAL, "transport error");
        }

        return;
    }

    ngx_ws_metric_add(NGX_WS_M_PACKETS_IN, 1);
    s->packets_in++;

    if (ngx_ws_eio_decode(payload, len, binary, &pkt) != 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_ws_session_log(s), 0,
                      "ws: engine.io parse error (%s), closing", pkt.error);
        ngx_ws_session_error(s);
        return;
    }

    if (s->probe) {
        ngx_ws_probe_packet(s, &pkt);
        return;
    }

    switch (pkt.type) {

    case NGX_WS_EIO_MESSAGE:
        if (pkt.binary) {
            error = ngx_ws_socket_attachment(s, pkt.data, pkt.len);

        } else {
            error = ngx_ws_socket_packet(s, pkt.data, pkt.len);
        }

        if (error) {
            ngx_log_error(NGX_LOG_INFO, ngx_ws_session_log(s), 0,
                          "ws: invalid socket.io packet (%s), closing",
                          error);
            ngx_ws_metrics_protocol(NGX_WS_CLOSE_NORMAL);
            ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "parse error");
        }

        return;

    case NGX_WS_EIO_PONG:
        if (s->pong_wait) {
            s->pong_wait = 0;
            s->heartbeat_at = ngx_current_msec + s->conf->ping_interval;
            ngx_ws_session_timer_arm(s);
        }

        return;

    case NGX_WS_EIO_PING:
        /* v4 clients never ping: engine.io closes on it */
        ngx_log_error(NGX_LOG_INFO, ngx_ws_session_log(s), 0,
                      "ws: ping from client, closing");
        ngx_ws_session_error(s);
        return;

    case NGX_WS_EIO_CLOSE:
        if (s->polling) {
            ngx_ws_poll_closed(s);
            return;
        }

        ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "transport close");
        return;

    default:
        /* open, upgrade and noop mean nothing once a session runs */
        return;
    }
}


/*
 * An Engine.IO protocol error.  engine.io forgets a polling session at
 * once (its next GET gets 400), where a close the server asks for waits
 * for the next GET to carry the close packet.
 */

static void
ngx_ws_session_error(ngx_ws_session_t *s)
{
    ngx_ws_metrics_protocol(NGX_WS_CLOSE_NORMAL);

    if (s->polling) {
        s->closing = 1;
        ngx_ws_session_detach(s, "parse error");
        ngx_ws_poll_fail(s);
        return;
    }

    ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "parse error");
}


/*
 * The WebSocket of an upgrade, before it carries the session: "2probe" is
 * answered "3probe", "5" hands the connection over; anything else ends the
 * probe and leaves the polling session as it was, as engine.io does.
 */

static void
ngx_ws_probe_packet(ngx_ws_session_t *s, ngx_ws_eio_packet_t *pkt)
{
    ngx_ws_session_t  *target;

    if (s->relay) {
        ngx_ws_relay_probe(s, pkt);
        return;
    }

    target = ngx_ws_session_find(s->sid);

    if (target == NULL || !target->polling || target->closing) {
        ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "transport close");
        return;
    }

    if (ngx_ws_probe_answer(s, pkt) == NGX_OK) {
        ngx_ws_poll_probed(target);
        return;
    }

    if (pkt->type == NGX_WS_EIO_UPGRADE) {
        s->upgraded = 1;
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "ws: unexpected packet during the upgrade, closing it");
    ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "transport error");
}


/* "2probe" is answered "3probe"; NGX_DECLINED for any other packet. */

static ngx_int_t
ngx_ws_probe_answer(ngx_ws_session_t *s, ngx_ws_eio_packet_t *pkt)
{
    u_char        *p;
    ngx_ws_msg_t  *msg;

    if (pkt->type != NGX_WS_EIO_PING || pkt->binary || pkt->len != 5
        || ngx_strncmp(pkt->data, "probe", 5) != 0)
    {
        return NGX_DECLINED;
    }

    msg = ngx_ws_msg_frame(NGX_WS_OP_TEXT, 6, &p);
    if (msg == NULL) {
        ngx_ws_session_fail(s);
        return NGX_ERROR;
    }

    ngx_memcpy(p, "3probe", 6);
    (void) ngx_ws_session_send(s, msg);
    ngx_ws_msg_release(msg);

    return NGX_OK;
}


/*
 * The probe of a session of another worker: it is told of "2probe" and of
 * "5", after which this WebSocket carries the session's packets both ways
 * through the log, indexed here by sid.
 */

static void
ngx_ws_relay_probe(ngx_ws_session_t *s, ngx_ws_eio_packet_t *pkt)
{
    ngx_int_t  rc;

    rc = ngx_ws_probe_answer(s, pkt);

    if (rc == NGX_OK) {
        (void) ngx_ws_relay_send(NGX_WS_RELAY_PROBE, s->sid, 0, 0, NULL, 0);
        return;
    }

    if (rc == NGX_ERROR) {
        return;
    }

    if (pkt->type != NGX_WS_EIO_UPGRADE
        || ngx_ws_session_find(s->sid) != NULL
        || ngx_ws_relay_send(NGX_WS_RELAY_UPGRADE, s->sid, 0, 0, NULL, 0)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "ws: unexpected packet during the upgrade, closing it");
        ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "transport error");
        return;
    }

    s->probe = 0;

    s->node.key = ngx_crc32_short(s->sid, NGX_WS_ID_LEN);
    ngx_rbtree_insert(&ngx_ws_worker.sessions, &s->node);
    ngx_ws_worker.nsessions++;
    s->started = 1;

    /* the heartbeat is the owner's */

    if (s->connection->read->timer_set) {
        ngx_del_timer(s->connection->read);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "ws session %*s: upgraded, relayed to its worker",
                   (size_t) NGX_WS_ID_LEN, s->sid);
}


/*
 * The probe's "5": the polling session takes the connection, with what the
 * client sent behind the "5", and its queue goes out on the WebSocket.
 * The probe is freed; the connection stays open.
 */

static ngx_int_t
ngx_ws_session_takeover(ngx_ws_session_t *probe)
{
    ngx_connection_t  *c;
    ngx_ws_session_t  *s;

    c = probe->connection;
    s = ngx_ws_session_find(probe->sid);

    if (s == NULL || !s->polling || s->closing || s->probe
        || s->rbuf || ngx_ws_poll_detach(s) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws: upgrade of a session that is gone or busy");
        ngx_ws_session_finalize(probe);
        return NGX_DONE;
    }

    s->connection = c;
    c->data = s;

    s->rbuf = probe->rbuf;
    s->rbuf_len = probe->rbuf_len;
    s->rbuf_size = probe->rbuf_size;
    probe->rbuf = NULL;

    /* binary goes out as binary again, unless the WebSocket asked not to */
    s->b64 = probe->b64;

    ngx_ws_parser_reset(&probe->parser, &ngx_ws_parser_ops, probe);
    ngx_free(probe);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "ws session %*s: upgraded to websocket",
                   (size_t) NGX_WS_ID_LEN, s->sid);

    ngx_ws_metric_add(NGX_WS_M_UPGRADES, 1);

    ngx_ws_session_timer_arm(s);

    if (s->out) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    if (s->rbuf_len) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    return NGX_DONE;
}



/*
 * One timer serves the heartbeat and the connect timeout: it fires at the
 * earlier of the two deadlines, and the handler looks at both.
 */

void
ngx_ws_session_heartbeat(ngx_ws_session_t *s)
{
    u_char      *p;
    ngx_log_t   *log;
    ngx_msec_t   now;

    log = ngx_ws_session_log(s);
    now = ngx_current_msec;

    if (!s->connected && (ngx_msec_int_t) (now - s->connect_at) >= 0) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "ws: no namespace connected in time, closing");
        ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "connect timeout");
        return;
    }

    if ((ngx_msec_int_t) (now - s->heartbeat_at) >= 0) {

        if (s->pong_wait && s->throttled) {
            /* the pong may be among what nginx does not read now */
            s->heartbeat_at = now + s->conf->ping_timeout;
            ngx_ws_session_timer_arm(s);
            return;
        }

        if (s->pong_wait) {
            ngx_log_error(NGX_LOG_INFO, log, 0,
                          "ws: ping timeout, closing");

            if (s->polling) {
                /* engine.io forgets the sid at once: its next GET gets 400 */
                ngx_ws_poll_end(s, "ping timeout");
                return;
            }

            ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL, "ping timeout");
            return;
        }

        if (ngx_ws_ping_msg == NULL) {
            ngx_ws_ping_msg = ngx_ws_msg_frame(NGX_WS_OP_TEXT, 1, &p);
            if (ngx_ws_ping_msg == NULL) {
                ngx_ws_session_fail(s);
                return;
            }

            *p = NGX_WS_EIO_PING;
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                       "ws heartbeat: ping, waiting for the pong");

        (void) ngx_ws_session_send(s, ngx_ws_ping_msg);

        s->pong_wait = 1;
        s->heartbeat_at = now + s->conf->ping_timeout;
    }

    ngx_ws_session_timer_arm(s);
}


/* the timer is the connection's read timer, or polling's own */

void
ngx_ws_session_timer_arm(ngx_ws_session_t *s)
{
    ngx_msec_t       at;
    ngx_event_t     *ev;
    ngx_msec_int_t   delay;

    ev = s->polling ? &s->poll->timer : s->connection->read;
    at = s->heartbeat_at;

    if (!s->connected && (ngx_msec_int_t) (s->connect_at - at) < 0) {
        at = s->connect_at;
    }

    delay = (ngx_msec_int_t) (at - ngx_current_msec);

    if (delay < 0) {
        delay = 0;
    }

    /* re-added exactly: ngx_add_timer() would keep a timer 300 ms off */

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ev->cancelable = 1;
    ngx_add_timer(ev, (ngx_msec_t) delay);
}


ngx_int_t
ngx_ws_id_generate(u_char *id)
{
    ngx_str_t  src, dst;
    u_char     raw[NGX_WS_ID_RAW];

    if (ngx_ws_random(raw, sizeof(raw)) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * The first byte names the worker, so that a request of this session
     * arriving at another worker can be routed here.
     */

    raw[0] = (u_char) ngx_worker;

    src.data = raw;
    src.len = sizeof(raw);
    dst.data = id;

    ngx_encode_base64url(&dst, &src);

    return NGX_OK;
}


/*
 * Unguessable bytes from the kernel's CSPRNG, fetched in batches: one
 * getrandom() serves 64 ids.  The batch is the worker's own (it starts
 * empty after the fork), and is never handed out twice.
 */

static ngx_int_t
ngx_ws_random(u_char *buf, size_t len)
{
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;

    if (w->rand_left < len) {
        if (getrandom(w->rand, sizeof(w->rand), GRND_NONBLOCK)
            != (ssize_t) sizeof(w->rand)
            && RAND_bytes(w->rand, sizeof(w->rand)) != 1)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "ws: no random bytes for session ids");
            return NGX_ERROR;
        }

        w->rand_left = sizeof(w->rand);
    }

    w->rand_left -= len;
    ngx_memcpy(buf, w->rand + w->rand_left, len);

    return NGX_OK;
}


static void *
ngx_ws_parser_alloc(void *data, size_t size)
{
    ngx_ws_session_t *s = data;

    return ngx_alloc(size, ngx_ws_session_log(s));
}


static void
ngx_ws_parser_free(void *data, void *p)
{
    ngx_free(p);
}
