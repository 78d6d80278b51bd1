
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"
#include "ngx_ws_recovery.h"


/*
 * The one way an operation record acts on this worker's sockets, whatever
 * its source: the push endpoint now, the other workers, the application
 * hooks and Redis later.  Nothing here depends on an HTTP request.
 */


/*
 * An emit writes to this many sockets at once; the rest of a large room
 * are written in slices over the next turns (ngx_ws_flush.c).
 */
#define NGX_WS_EMIT_NOW  128


typedef struct {
    ngx_ws_event_t             event;
    ngx_uint_t                 queued;
} ngx_ws_emit_t;


typedef struct {
    ngx_array_t                sockets;        /* ngx_ws_socket_t * */
    ngx_uint_t                 failed;
} ngx_ws_collect_t;


typedef struct {
    ngx_ws_socket_t           *socket;
    ngx_str_t                 *name;
} ngx_ws_joined_t;


static ngx_str_t *ngx_ws_apply_names(ngx_pool_t *pool, ngx_ws_bytes_t *src,
    size_t n);
static ngx_uint_t ngx_ws_apply_emit(ngx_ws_op_t *op, ngx_ws_target_t *t);
static void ngx_ws_apply_emit_one(ngx_ws_socket_t *sock, void *data);
static ngx_int_t ngx_ws_apply_collect(ngx_ws_target_t *t, ngx_pool_t *pool,
    ngx_array_t **sockets);
static void ngx_ws_apply_collect_one(ngx_ws_socket_t *sock, void *data);
static ngx_int_t ngx_ws_apply_join(ngx_array_t *sockets, ngx_str_t *names,
    ngx_uint_t nnames, ngx_pool_t *pool);


/*
 * Returns NGX_OK and *matched, the sockets of this worker the operation
 * reached (for an emit: those the packet was queued to); NGX_DECLINED for
 * a namespace this configuration does not serve; NGX_ERROR when memory ran
 * out, and then a join has been undone.  pool holds temporaries.
 */

ngx_int_t
ngx_ws_apply(ngx_ws_op_t *op, ngx_pool_t *pool, ngx_uint_t *matched)
{
    ngx_str_t         *names;
    ngx_uint_t         i, j;
    ngx_ws_session_t  *s;
    ngx_array_t       *sockets;
    ngx_ws_target_t    t;
    ngx_ws_socket_t  **sock;

    *matched = 0;

    t.nsp = ngx_ws_nsp_find(op->nsp.data, op->nsp.len);
    if (t.nsp == NULL) {
        return NGX_DECLINED;
    }

    t.rooms = ngx_ws_apply_names(pool, op->rooms, op->nrooms);
    t.nrooms = op->nrooms;
    t.except = ngx_ws_apply_names(pool, op->except, op->nexcept);
    t.nexcept = op->nexcept;
    names = ngx_ws_apply_names(pool, op->names, op->nnames);

    if (t.rooms == NULL || t.except == NULL || names == NULL) {
        return NGX_ERROR;
    }

    ngx_log_debug6(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws apply: op %ui nsp \"%*s\" rooms %uz except %uz "
                   "names %uz", (ngx_uint_t) op->type, op->nsp.len,
                   op->nsp.data, op->nrooms, op->nexcept, op->nnames);

    if (op->type == NGX_WS_EMIT) {
        *matched = ngx_ws_apply_emit(op, &t);
        ngx_ws_metric_add(NGX_WS_M_DELIVERIES, *matched);
        return NGX_OK;
    }

    /* rooms change below: collect first, act after the walk */

    if (ngx_ws_apply_collect(&t, pool, &sockets) != NGX_OK) {
        return NGX_ERROR;
    }

    sock = sockets->elts;

    switch (op->type) {

    case NGX_WS_JOIN:
        if (ngx_ws_apply_join(sockets, names, op->nnames, pool) != NGX_OK) {
            return NGX_ERROR;
        }

        break;

    case NGX_WS_LEAVE:
        for (i = 0; i < sockets->nelts; i++) {
            for (j = 0; j < op->nnames; j++) {
                ngx_ws_room_leave(sock[i], &names[j]);
            }
        }

        break;

    default: /* NGX_WS_DISCONNECT */
        for (i = 0; i < sockets->nelts; i++) {
            if (op->close) {
                /*
                 * socket.io's disconnect(true): every socket of the client
                 * gets its DISCONNECT, then the connection closes.  One
                 * socket per session in a namespace: no double free.
                 */
                s = sock[i]->session;

                while (s->sockets) {
                    ngx_ws_socket_disconnect(s->sockets);
                }

                ngx_ws_session_close(s, NGX_WS_CLOSE_NORMAL,
                                     "forced server close");

            } else {
                ngx_ws_socket_disconnect(sock[i]);
            }
        }
    }

    *matched = sockets->nelts;

    return NGX_OK;
}


static ngx_str_t *
ngx_ws_apply_names(ngx_pool_t *pool, ngx_ws_bytes_t *src, size_t n)
{
    size_t      i;
    ngx_str_t  *dst;

    dst = ngx_palloc(pool, (n + 1) * sizeof(ngx_str_t));
    if (dst == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        dst[i].data = src[i].data;
        dst[i].len = src[i].len;
    }

    return dst;
}


static ngx_uint_t
ngx_ws_apply_emit(ngx_ws_op_t *op, ngx_ws_target_t *t)
{
    ngx_ws_emit_t  emit;

    ngx_memzero(&emit, sizeof(ngx_ws_emit_t));
    emit.event.op = op;

    (void) ngx_ws_select(t, ngx_ws_apply_emit_one, &emit);

    ngx_ws_event_release(&emit.event);

    return emit.queued;
}


static void
ngx_ws_apply_emit_one(ngx_ws_socket_t *sock, void *data)
{
    ngx_ws_emit_t *emit = data;

    unsigned       form;
    ngx_ws_msg_t  *msg;

    if (ngx_ws_recovery_nskips
        && ngx_ws_recovery_skip(sock, emit->event.op->seq))
    {
        return;
    }

    form = sock->session->b64 ? NGX_WS_MSG_B64 : 0;

    if (sock->session->conf->recovery) {
        form |= NGX_WS_MSG_OFFSET;
    }

    msg = ngx_ws_event_msg(&emit->event, form);

    if (msg == NULL) {
        return;
    }

    /* the first sockets at once; a large room's rest spread over turns */

    if ((emit->queued < NGX_WS_EMIT_NOW
         ? ngx_ws_session_send(sock->session, msg)
         : ngx_ws_session_send_later(sock->session, msg))
        == NGX_OK)
    {
        emit->queued++;
    }
}


static ngx_int_t
ngx_ws_apply_collect(ngx_ws_target_t *t, ngx_pool_t *pool,
    ngx_array_t **sockets)
{
    ngx_ws_collect_t  *col;

    col = ngx_palloc(pool, sizeof(ngx_ws_collect_t));
    if (col == NULL) {
        return NGX_ERROR;
    }

    if (ngx_array_init(&col->sockets, pool, 16, sizeof(ngx_ws_socket_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    col->failed = 0;

    (void) ngx_ws_select(t, ngx_ws_apply_collect_one, col);

    if (col->failed) {
        return NGX_ERROR;
    }

    *sockets = &col->sockets;

    return NGX_OK;
}


static void
ngx_ws_apply_collect_one(ngx_ws_socket_t *sock, void *data)
{
    ngx_ws_collect_t *col = data;

    ngx_ws_socket_t  **elt;

    elt = ngx_array_push(&col->sockets);

    if (elt == NULL) {
        col->failed = 1;
        return;
    }

    *elt = sock;
}


/* All or nothing: the memberships this join made are undone on failure. */

static ngx_int_t
ngx_ws_apply_join(ngx_array_t *sockets, ngx_str_t *names,
    ngx_uint_t nnames, ngx_pool_t *pool)
{
    ngx_int_t          rc;
    ngx_uint_t         i, j;
    ngx_array_t        joined;
    ngx_ws_joined_t   *elt;
    ngx_ws_socket_t  **sock;

    if (ngx_array_init(&joined, pool, 16, sizeof(ngx_ws_joined_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sock = sockets->elts;

    for (i = 0; i < sockets->nelts; i++) {
        for (j = 0; j < nnames; j++) {

            elt = ngx_array_push(&joined);
            if (elt == NULL) {
                goto failed;
            }

            rc = ngx_ws_room_join(sock[i], &names[j]);

            if (rc == NGX_ERROR) {
                joined.nelts--;
                goto failed;
            }

            if (rc == NGX_DECLINED) {
                /* a member already: not this join's to undo */
                joined.nelts--;
                continue;
            }

            elt->socket = sock[i];
            elt->name = &names[j];
        }
    }

    return NGX_OK;

failed:

    elt = joined.elts;

    for (i = 0; i < joined.nelts; i++) {
        ngx_ws_room_leave(elt[i].socket, elt[i].name);
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "ws: join failed for want of memory, undone");

    return NGX_ERROR;
}


void *
ngx_ws_pool_alloc(void *data, size_t size)
{
    return ngx_palloc(data, size);
}
