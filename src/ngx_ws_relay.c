
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Any worker serves any request of a session.  A session lives in the
 * worker that opened it; a request of it that another worker accepted is
 * held there, and the two workers talk through the log they share, in
 * records of type NGX_WS_RELAY named by the sid:
 *
 *   holder -> owner: GET (a GET is parked here), GET_GONE (it was
 *   cancelled), POST (a payload), END (end the session), PROBE ("2probe"
 *   on a WebSocket here), UPGRADE ("5": it carries the session now),
 *   PACKET (a packet from that WebSocket);
 *
 *   owner -> holder: ANSWER (the parked GET's status and body), FRAMES
 *   (WebSocket frames to write, and a close code when the session ends).
 *
 * The owner finds its session by sid, the holder its held GET or its
 * WebSocket by sid; either may be gone by then, and the record is then
 * dropped.  The cost: each answer and each message of a relayed session
 * is one more record in the log, read by every worker.
 */


#include "ngx_ws.h"


/* a GET held for a session of another worker */
typedef struct {
    ngx_rbtree_node_t          node;
    u_char                     sid[NGX_WS_ID_LEN];
    ngx_http_request_t        *request;
    unsigned                   answered:1;
    unsigned                   linked:1;       /* in ngx_ws_worker.holds */
} ngx_ws_relay_hold_t;


static ngx_int_t ngx_ws_relay_get(ngx_http_request_t *r, u_char *sid,
    ngx_pid_t owner);
static ngx_int_t ngx_ws_relay_post(ngx_http_request_t *r, u_char *sid);
static void ngx_ws_relay_body_handler(ngx_http_request_t *r);
static void ngx_ws_relay_hold_cleanup(void *data);
static void ngx_ws_relay_answer(ngx_ws_op_t *op);
static void ngx_ws_relay_frames(ngx_ws_op_t *op);


/*
 * The worker that owns sid, if another one of this host does.  A worker
 * that died (and was not reaped yet) owns nothing.
 */

ngx_pid_t
ngx_ws_relay_owner(u_char *sid, size_t len)
{
    ngx_pid_t  pid;

    pid = ngx_ws_registry_owner(sid, len);

    if (pid == 0 || pid == ngx_pid) {
        return 0;
    }

    if (!ngx_ws_pid_alive(pid)) {
        return 0;
    }

    return pid;
}


/* A polling request of a session of another worker. */

ngx_int_t
ngx_ws_relay_request(ngx_http_request_t *r, u_char *sid, ngx_pid_t owner)
{
    if (r->method == NGX_HTTP_GET) {
        return ngx_ws_relay_get(r, sid, owner);
    }

    if (r->method == NGX_HTTP_POST) {
        return ngx_ws_relay_post(r, sid);
    }

    return ngx_ws_poll_reply(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                             NULL, 0);
}


static ngx_int_t
ngx_ws_relay_get(ngx_http_request_t *r, u_char *sid, ngx_pid_t owner)
{
    ngx_pool_cleanup_t   *cln;
    ngx_ws_relay_hold_t  *hold;

    if (ngx_ws_id_rbtree_lookup(&ngx_ws_worker.holds, sid)) {
        /* an overlap: the owner ends the session, the held GET sees it */
        (void) ngx_ws_relay_send(NGX_WS_RELAY_END, sid, 0, 0, NULL, 0);
        return ngx_ws_poll_reply(r, NGX_HTTP_BAD_REQUEST, NULL, NULL, 0);
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_ws_relay_hold_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hold = cln->data;
    ngx_memzero(hold, sizeof(ngx_ws_relay_hold_t));
    ngx_memcpy(hold->sid, sid, NGX_WS_ID_LEN);
    hold->request = r;
    hold->node.key = ngx_crc32_short(sid, NGX_WS_ID_LEN);

    /* addressed, so that an owner without the session still answers */

    if (ngx_ws_relay_send(NGX_WS_RELAY_GET, sid, owner, 0, NULL, 0)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_rbtree_insert(&ngx_ws_worker.holds, &hold->node);
    hold->linked = 1;

    cln->handler = ngx_ws_relay_hold_cleanup;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws relay %*s: GET held for another worker",
                   (size_t) NGX_WS_ID_LEN, sid);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;

    return NGX_DONE;
}


/* The request ends: answered, or cancelled, which ends the session. */

static void
ngx_ws_relay_hold_cleanup(void *data)
{
    ngx_ws_relay_hold_t *hold = data;

    if (!hold->linked) {
        /* taken out of the tree already */
        return;
    }

    ngx_rbtree_delete(&ngx_ws_worker.holds, &hold->node);

    if (!hold->answered) {
        (void) ngx_ws_relay_send(NGX_WS_RELAY_GET_GONE, hold->sid, 0, 0,
                                 NULL, 0);
    }
}


static ngx_int_t
ngx_ws_relay_post(ngx_http_request_t *r, u_char *sid)
{
    ngx_int_t           rc;
    ngx_ws_loc_conf_t  *conf;
    ngx_ws_poll_ref_t  *ref;

    conf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    rc = ngx_ws_poll_post_check(r, conf->max_payload);

    if (rc == NGX_HTTP_BAD_REQUEST) {
        (void) ngx_ws_relay_send(NGX_WS_RELAY_END, sid, 0, 0, NULL, 0);
    }

    if (rc != NGX_OK) {
        return ngx_ws_poll_reply(r, rc, NULL, NULL, 0);
    }

    ref = ngx_pcalloc(r->pool, sizeof(ngx_ws_poll_ref_t));
    if (ref == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ref->sid, sid, NGX_WS_ID_LEN);
    ngx_http_set_ctx(r, ref, ngx_ws_module);

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_ws_relay_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The payload goes to the owner as it is; "ok" is answered here at once,
 * so the owner's hook queue does not hold back a relayed POST.
 */

static void
ngx_ws_relay_body_handler(ngx_http_request_t *r)
{
    u_char             *payload;
    size_t              len;
    ngx_int_t           rc;
    ngx_ws_poll_ref_t  *ref;
    ngx_ws_loc_conf_t  *conf;

    ref = ngx_http_get_module_ctx(r, ngx_ws_module);
    conf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    rc = ngx_ws_poll_body_len(r, conf->max_payload, &len);

    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_ws_poll_reply(r, rc, NULL, NULL, 0));
        return;
    }

    payload = ngx_pnalloc(r->pool, len ? len : 1);
    if (payload == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) ngx_ws_poll_body_copy(r, payload);

    if (ngx_ws_relay_send(NGX_WS_RELAY_POST, ref->sid, 0, 0, payload, len)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_ws_poll_reply(r, NGX_HTTP_OK,
                                                   "text/html",
                                                   (u_char *) "ok", 2));
}


/* A record for the worker of sid (target 0: whoever has it). */

ngx_int_t
ngx_ws_relay_send(ngx_uint_t kind, u_char *sid, ngx_pid_t target,
    ngx_uint_t status, u_char *data, size_t len)
{
    ngx_ws_op_t  op;

    ngx_memzero(&op, sizeof(ngx_ws_op_t));

    op.type = NGX_WS_RELAY;
    op.kind = (uint32_t) kind;
    op.target = (uint32_t) target;
    op.status = (uint32_t) status;
    op.sid.data = sid;
    op.sid.len = NGX_WS_ID_LEN;
    op.packet.data = data;
    op.packet.len = len;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws relay %*s: sending %ui, %uz bytes",
                   (size_t) NGX_WS_ID_LEN, sid, kind, len);

    return ngx_ws_broker_relay(&op);
}


/* A relay record from the log, from worker "from". */

void
ngx_ws_relay_apply(ngx_ws_op_t *op, ngx_pid_t from)
{
    ngx_ws_session_t  *s;

    if (op->kind == NGX_WS_RELAY_GATHER || op->kind == NGX_WS_RELAY_PART) {
        /* a fetchSockets() or allRooms() of a Node server, for the host */
        ngx_ws_gather_apply(op, from);
        return;
    }

    if (op->kind == NGX_WS_RELAY_ROOM) {
        /* a room new to the host, for its Redis worker */
        ngx_ws_shard_room_apply(op);
        return;
    }

    if (op->sid.len != NGX_WS_ID_LEN
        || (op->target && (ngx_pid_t) op->target != ngx_pid))
    {
        return;
    }

    switch (op->kind) {

    case NGX_WS_RELAY_ANSWER:
        ngx_ws_relay_answer(op);
        return;

    case NGX_WS_RELAY_FRAMES:
        ngx_ws_relay_frames(op);
        return;

    default:
        break;
    }

    s = ngx_ws_session_find(op->sid.data);

    if (s == NULL || s->relay || s->probe || !s->polling) {

        if (op->target && op->kind == NGX_WS_RELAY_GET) {
            /* the session ended meanwhile: the GET must not wait forever */
            (void) ngx_ws_relay_send(NGX_WS_RELAY_ANSWER, op->sid.data, from,
                                     NGX_HTTP_BAD_REQUEST,
                                     ngx_ws_eio_unknown_sid.data,
                                     ngx_ws_eio_unknown_sid.len);
        }

        return;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, &s->poll->log, 0,
                   "ws relay %*s: got %ui from %P",
                   (size_t) NGX_WS_ID_LEN, s->sid, (ngx_uint_t) op->kind,
                   from);

    ngx_ws_poll_relayed(s, op, from);
}


static void
ngx_ws_relay_answer(ngx_ws_op_t *op)
{
    u_char               *body;
    ngx_http_request_t   *r;
    ngx_ws_relay_hold_t  *hold;

    hold = (ngx_ws_relay_hold_t *) ngx_ws_id_rbtree_lookup(
                                       &ngx_ws_worker.holds, op->sid.data);
    if (hold == NULL) {
        return;
    }

    r = hold->request;
    hold->answered = 1;

    body = ngx_pnalloc(r->pool, op->packet.len ? op->packet.len : 1);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (op->packet.len) {
        ngx_memcpy(body, op->packet.data, op->packet.len);
    }

    ngx_http_finalize_request(r, ngx_ws_poll_reply(r, op->status,
                                    op->packet.len == 0 ? NULL
                                    : op->status == NGX_HTTP_OK
                                    ? NGX_WS_POLL_TEXT : "application/json",
                                    body, op->packet.len));
}


/* Frames for a WebSocket held here; a status is the close code. */

static void
ngx_ws_relay_frames(ngx_ws_op_t *op)
{
    u_char            *p;
    ngx_ws_msg_t      *msg;
    ngx_ws_session_t  *s;

    s = ngx_ws_session_find(op->sid.data);

    if (s == NULL || !s->relay || s->closing) {
        return;
    }

    if (op->packet.len) {
        msg = ngx_alloc(offsetof(ngx_ws_msg_t, data) + op->packet.len,
                        s->connection->log);
        if (msg == NULL) {
            ngx_ws_session_close(s, NGX_WS_CLOSE_INTERNAL, "transport error");
            return;
        }

        msg->refs = 1;
        msg->len = op->packet.len;
        p = msg->data;
        ngx_memcpy(p, op->packet.data, op->packet.len);

        (void) ngx_ws_session_send(s, msg);
        ngx_ws_msg_release(msg);
    }

    if (op->status) {
        ngx_ws_session_close(s, op->status, "forced close");
    }
}


/*
 * A graceful shutdown: GETs held here for other workers' sessions get the
 * close packet, so that their clients reconnect to the new workers; their
 * sessions end with them (the cleanup tells the owners).
 */

void
ngx_ws_relay_close_all(void)
{
    ngx_rbtree_node_t    *root, *sentinel;
    ngx_http_request_t   *r;
    ngx_ws_relay_hold_t  *hold;

    sentinel = ngx_ws_worker.holds.sentinel;

    for ( ;; ) {
        root = ngx_ws_worker.holds.root;

        if (root == sentinel) {
            return;
        }

        hold = (ngx_ws_relay_hold_t *) ngx_rbtree_min(root, sentinel);
        r = hold->request;

        /* answered here, so out of the tree before the request ends */
        ngx_rbtree_delete(&ngx_ws_worker.holds, &hold->node);
        hold->linked = 0;

        (void) ngx_ws_relay_send(NGX_WS_RELAY_GET_GONE, hold->sid, 0, 0,
                                 NULL, 0);
        hold->answered = 1;

        ngx_http_finalize_request(r, ngx_ws_poll_reply(r, NGX_HTTP_OK,
                                                       NGX_WS_POLL_TEXT,
                                                       (u_char *) "1", 1));
    }
}
