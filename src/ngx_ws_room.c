
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


static ngx_ws_room_t *ngx_ws_room_find(ngx_ws_nsp_t *nsp, ngx_str_t *name,
    uint32_t hash);
static void ngx_ws_member_free(ngx_ws_member_t *m);
static ngx_uint_t ngx_ws_room_visit(ngx_ws_nsp_t *nsp, ngx_str_t *name,
    uint32_t epoch, ngx_ws_socket_pt handler, void *data);
static ngx_uint_t ngx_ws_visit(ngx_ws_socket_t *sock, uint32_t epoch,
    ngx_ws_socket_pt handler, void *data);
static uint32_t ngx_ws_epoch_next(void);


static ngx_ws_room_t *
ngx_ws_room_find(ngx_ws_nsp_t *nsp, ngx_str_t *name, uint32_t hash)
{
    return (ngx_ws_room_t *) ngx_str_rbtree_lookup(&nsp->rooms, name, hash);
}


/* NGX_OK: joined; NGX_DECLINED: a member already; NGX_ERROR: no memory */

ngx_int_t
ngx_ws_room_join(ngx_ws_socket_t *sock, ngx_str_t *name)
{
    uint32_t          hash;
    ngx_ws_room_t    *room;
    ngx_ws_member_t  *m;

    for (m = sock->rooms; m; m = m->next) {
        if (m->room->node.str.len == name->len
            && ngx_memcmp(m->room->node.str.data, name->data, name->len) == 0)
        {
            return NGX_DECLINED;
        }
    }

    hash = ngx_crc32_short(name->data, name->len);

    room = ngx_ws_room_find(sock->nsp, name, hash);

    if (room == NULL) {
        room = ngx_alloc(sizeof(ngx_ws_room_t) + name->len, ngx_cycle->log);
        if (room == NULL) {
            return NGX_ERROR;
        }

        room->node.str.data = (u_char *) (room + 1);
        room->node.str.len = name->len;
        ngx_memcpy(room->node.str.data, name->data, name->len);
        room->node.node.key = hash;

        ngx_queue_init(&room->members);
        room->count = 0;

        ngx_rbtree_insert(&sock->nsp->rooms, &room->node.node);

        ngx_ws_shard_room(sock->nsp, &room->node.str, 1);
    }

    m = ngx_alloc(sizeof(ngx_ws_member_t), ngx_cycle->log);
    if (m == NULL) {
        if (room->count == 0) {
            ngx_ws_shard_room(sock->nsp, &room->node.str, 0);
            ngx_rbtree_delete(&sock->nsp->rooms, &room->node.node);
            ngx_free(room);
        }

        return NGX_ERROR;
    }

    m->room = room;
    m->socket = sock;
    ngx_queue_insert_tail(&room->members, &m->queue);
    room->count++;

    m->next = sock->rooms;
    sock->rooms = m;

    return NGX_OK;
}


void
ngx_ws_room_leave(ngx_ws_socket_t *sock, ngx_str_t *name)
{
    ngx_ws_member_t  *m, **prev;

    for (prev = &sock->rooms; *prev; prev = &(*prev)->next) {
        m = *prev;

        if (m->room->node.str.len == name->len
            && ngx_memcmp(m->room->node.str.data, name->data, name->len) == 0)
        {
            *prev = m->next;
            ngx_ws_member_free(m);
            return;
        }
    }
}


void
ngx_ws_room_leave_all(ngx_ws_socket_t *sock)
{
    ngx_ws_member_t  *m;

    while (sock->rooms) {
        m = sock->rooms;
        sock->rooms = m->next;
        ngx_ws_member_free(m);
    }
}


static void
ngx_ws_member_free(ngx_ws_member_t *m)
{
    ngx_ws_nsp_t   *nsp;
    ngx_ws_room_t  *room;

    room = m->room;
    nsp = m->socket->nsp;

    ngx_queue_remove(&m->queue);
    ngx_free(m);

    if (--room->count == 0) {
        ngx_ws_shard_room(nsp, &room->node.str, 0);
        ngx_rbtree_delete(&nsp->rooms, &room->node.node);
        ngx_free(room);
    }
}


/*
 * Calls handler once for every socket of t->nsp in any of t->rooms (every
 * socket when there are none) and in none of t->except.  A socket is
 * visited at most once: each selection stamps the sockets it has seen
 * with a new epoch, the excepted ones first.  The handler must not change
 * rooms; whoever needs to collects the sockets first.
 */

ngx_uint_t
ngx_ws_select(ngx_ws_target_t *t, ngx_ws_socket_pt handler, void *data)
{
    uint32_t          epoch;
    ngx_uint_t        i, n;
    ngx_queue_t      *q;
    ngx_ws_socket_t  *sock;

    epoch = ngx_ws_epoch_next();

    for (i = 0; i < t->nexcept; i++) {
        ngx_ws_room_visit(t->nsp, &t->except[i], epoch, NULL, NULL);
    }

    n = 0;

    if (t->nrooms == 0) {
        for (q = ngx_queue_head(&t->nsp->sockets);
             q != ngx_queue_sentinel(&t->nsp->sockets);
             q = ngx_queue_next(q))
        {
            sock = ngx_queue_data(q, ngx_ws_socket_t, queue);
            n += ngx_ws_visit(sock, epoch, handler, data);
        }

        return n;
    }

    for (i = 0; i < t->nrooms; i++) {
        n += ngx_ws_room_visit(t->nsp, &t->rooms[i], epoch, handler, data);
    }

    return n;
}


/* A room's members, and the socket whose id is the room's name. */

static ngx_uint_t
ngx_ws_room_visit(ngx_ws_nsp_t *nsp, ngx_str_t *name, uint32_t epoch,
    ngx_ws_socket_pt handler, void *data)
{
    uint32_t          hash;
    ngx_uint_t        n;
    ngx_queue_t      *q, *next;
    ngx_ws_room_t    *room;
    ngx_ws_member_t  *m;
    ngx_ws_socket_t  *sock;

    n = 0;
    hash = ngx_crc32_short(name->data, name->len);

    room = ngx_ws_room_find(nsp, name, hash);

    if (room) {
        for (q = ngx_queue_head(&room->members);
             q != ngx_queue_sentinel(&room->members);
             q = next)
        {
            next = ngx_queue_next(q);
            m = ngx_queue_data(q, ngx_ws_member_t, queue);
            n += ngx_ws_visit(m->socket, epoch, handler, data);
        }
    }

    if (name->len == NGX_WS_ID_LEN) {
        sock = (ngx_ws_socket_t *) ngx_ws_id_rbtree_lookup(&nsp->ids,
                                                           name->data);
        if (sock) {
            n += ngx_ws_visit(sock, epoch, handler, data);
        }
    }

    return n;
}


static ngx_uint_t
ngx_ws_visit(ngx_ws_socket_t *sock, uint32_t epoch, ngx_ws_socket_pt handler,
    void *data)
{
    if (sock->mark == epoch) {
        return 0;
    }

    sock->mark = epoch;

    if (handler) {
        handler(sock, data);
    }

    return 1;
}


/* On wrap-around old stamps could match again: clear them all once. */

static uint32_t
ngx_ws_epoch_next(void)
{
    ngx_uint_t        i;
    ngx_queue_t      *q;
    ngx_ws_socket_t  *sock;

    if (++ngx_ws_worker.epoch != 0) {
        return ngx_ws_worker.epoch;
    }

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        for (q = ngx_queue_head(&ngx_ws_worker.nsps[i].sockets);
             q != ngx_queue_sentinel(&ngx_ws_worker.nsps[i].sockets);
             q = ngx_queue_next(q))
        {
            sock = ngx_queue_data(q, ngx_ws_socket_t, queue);
            sock->mark = 0;
        }
    }

    return ++ngx_ws_worker.epoch;
}
