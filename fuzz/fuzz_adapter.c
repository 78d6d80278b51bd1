
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The Redis adapter codec on arbitrary bytes (an exact-size buffer), read
 * three ways:
 *
 * - as a broadcast: refused with a reason, or an EMIT op whose names hold
 *   no NUL and whose packet decodes as an EVENT or BINARY_EVENT with as
 *   many attachments as the op has; encoded again (from its uid), it
 *   decodes to the same op and uid;
 * - as a request: refused, or a JOIN, LEAVE or DISCONNECT op that
 *   encodes to a request that reads back the same;
 * - as a push endpoint body: an op that encodes (or is refused with a
 *   reason) to a message that reads back, as above.
 */


#include <stdlib.h>
#include <string.h>
#include "ngx_ws_op.h"
#include "ngx_ws_sio.h"
#include "ngx_ws_adapter.h"


#define ARENA_MAX  512


static void      *arena[ARENA_MAX];
static unsigned   arena_n;


static void *
arena_alloc(void *data, size_t size)
{
    void  *p;

    (void) data;

    if (arena_n == ARENA_MAX) {
        return NULL;
    }

    p = malloc(size ? size : 1);
    arena[arena_n++] = p;

    return p;
}


static int
same(ngx_ws_bytes_t *a, ngx_ws_bytes_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


static int
same_list(ngx_ws_bytes_t *a, size_t na, ngx_ws_bytes_t *b, size_t nb)
{
    size_t  i;

    if (na != nb) {
        return 0;
    }

    for (i = 0; i < na; i++) {
        if (!same(&a[i], &b[i])) {
            return 0;
        }
    }

    return 1;
}


/* b is a without its later copies of a name */

static int
unique_of(ngx_ws_bytes_t *a, size_t na, ngx_ws_bytes_t *b, size_t nb)
{
    size_t  i, j, k;

    k = 0;

    for (i = 0; i < na; i++) {
        for (j = 0; j < i; j++) {
            if (same(&a[j], &a[i])) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if (k == nb || !same(&a[i], &b[k])) {
            return 0;
        }

        k++;
    }

    return k == nb;
}


static void
check_names(ngx_ws_bytes_t *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (s[i].len && memchr(s[i].data, '\0', s[i].len)) {
            abort();
        }
    }
}


static void
check_channel(ngx_ws_op_t *op)
{
    u_char  *buf;
    size_t   len;

    len = ngx_ws_adapter_channel_len(op, (u_char *) "socket.io", 9);
    buf = malloc(len);

    if (ngx_ws_adapter_channel(buf, op, (u_char *) "socket.io", 9)
        != buf + len)
    {
        abort();
    }

    free(buf);
}


/* an EMIT op from decode(): its packet, and the way back */

static void
check_emit(ngx_ws_op_t *op, ngx_ws_bytes_t *uid)
{
    u_char               *copy, *out;
    size_t                out_len;
    const char           *reason;
    ngx_ws_op_t           back;
    ngx_ws_bytes_t        uid2;
    ngx_ws_sio_packet_t   pkt;

    if (op->type != NGX_WS_EMIT || op->nsp.len == 0 || op->nsp.data[0] != '/'
        || op->nbins > NGX_WS_SIO_MAX_ATTACHMENTS)
    {
        abort();
    }

    check_names(&op->nsp, 1);
    check_names(op->rooms, op->nrooms);
    check_names(op->except, op->nexcept);

    if (memchr(op->nsp.data, ',', op->nsp.len) == NULL) {
        copy = malloc(op->packet.len);
        memcpy(copy, op->packet.data, op->packet.len);

        if (ngx_ws_sio_decode(copy, op->packet.len, &pkt) != 0
            || (pkt.type != NGX_WS_SIO_EVENT
                && pkt.type != NGX_WS_SIO_BINARY_EVENT)
            || pkt.attachments != op->nbins || pkt.ack_id != -1
            || pkt.data == NULL)
        {
            abort();
        }

        free(copy);
    }

    check_channel(op);

    reason = ngx_ws_adapter_encode(op, uid->data, uid->len, &out, &out_len,
                                   arena_alloc, NULL);
    if (reason) {
        if (reason == ngx_ws_op_nomem) {
            return;
        }

        abort();
    }

    reason = ngx_ws_adapter_decode(out, out_len, &back, &uid2, NULL,
                                   arena_alloc, NULL);
    if (reason) {
        if (reason == ngx_ws_op_nomem) {
            return;
        }

        abort();
    }

    if (!same(&back.nsp, &op->nsp) || !same(&back.packet, &op->packet)
        || !same(&uid2, uid)
        || !same_list(back.rooms, back.nrooms, op->rooms, op->nrooms)
        || !same_list(back.except, back.nexcept, op->except, op->nexcept)
        || !same_list(back.bins, back.nbins, op->bins, op->nbins))
    {
        abort();
    }
}


/* a JOIN, LEAVE or DISCONNECT op: the request it encodes to reads back */

static void
check_request(ngx_ws_op_t *op, ngx_ws_bytes_t *uid, int same_uid)
{
    u_char          *out;
    size_t           out_len;
    unsigned         type;
    const char      *reason;
    ngx_ws_op_t      back;
    ngx_ws_bytes_t   uid2;

    if (op->type < NGX_WS_JOIN || op->type > NGX_WS_DISCONNECT
        || (op->type != NGX_WS_DISCONNECT && op->nnames == 0)
        || (op->type == NGX_WS_DISCONNECT && op->nnames != 0))
    {
        abort();
    }

    check_names(op->rooms, op->nrooms);
    check_names(op->except, op->nexcept);
    check_names(op->names, op->nnames);
    check_channel(op);

    reason = ngx_ws_adapter_encode(op, uid->data, uid->len, &out, &out_len,
                                   arena_alloc, NULL);
    if (reason) {
        if (reason == ngx_ws_op_nomem) {
            return;
        }

        abort();
    }

    reason = ngx_ws_adapter_request(out, out_len, &op->nsp, &back, &type,
                                    &uid2, arena_alloc, NULL);
    if (reason) {
        if (reason == ngx_ws_op_nomem) {
            return;
        }

        abort();
    }

    if (back.type != op->type || back.close != op->close
        || !same(&back.nsp, &op->nsp)
        || (same_uid && !same(&uid2, uid))
        || !unique_of(op->rooms, op->nrooms, back.rooms, back.nrooms)
        || !unique_of(op->except, op->nexcept, back.except, back.nexcept)
        || !same_list(back.names, back.nnames, op->names, op->nnames))
    {
        abort();
    }
}


/* what the push endpoint makes of the bytes, published and read back */

static void
check_push(u_char *p, size_t size)
{
    u_char          *out;
    size_t           out_len;
    const char      *reason;
    ngx_ws_op_t      op, back;
    ngx_ws_bytes_t   uid;

    if (ngx_ws_op_parse(p, p + size, NULL, &op, arena_alloc, NULL) != NULL) {
        return;
    }

    uid.data = (u_char *) "ngx-ws";
    uid.len = 6;

    if (op.type != NGX_WS_EMIT) {
        check_request(&op, &uid, 1);
        return;
    }

    reason = ngx_ws_adapter_encode(&op, uid.data, uid.len, &out, &out_len,
                                   arena_alloc, NULL);
    if (reason) {
        if (reason[0] == '\0') {
            abort();
        }

        return;
    }

    reason = ngx_ws_adapter_decode(out, out_len, &back, &uid, NULL,
                                   arena_alloc, NULL);
    if (reason) {
        /* the attachments and placeholder-like objects of the body */

        if (reason == ngx_ws_op_nomem
            || strcmp(reason, "more than 10 binary attachments") == 0)
        {
            return;
        }

        abort();
    }

    /* a lone surrogate in the namespace went out as U+FFFD, as long */

    if (back.nsp.len != op.nsp.len || back.nbins < op.nbins) {
        abort();
    }

    check_emit(&back, &uid);
}


/* a cluster message: what it decodes to encodes back to the same */

static void
check_shard(u_char *p, size_t size)
{
    u_char                  *out;
    size_t                   out_len;
    const char              *reason;
    ngx_ws_op_t              op, back;
    ngx_ws_adapter_shard_t   m, m2;

    reason = ngx_ws_adapter_shard_decode(p, size, &op, &m, arena_alloc,
                                         NULL);
    if (reason) {
        if (reason[0] == '\0' || op.type != 0) {
            abort();
        }

        return;
    }

    if (op.type < NGX_WS_EMIT || op.type > NGX_WS_DISCONNECT
        || m.nsp.len == 0 || m.nsp.data[0] != '/' || !same(&op.nsp, &m.nsp)
        || (m.flags & ~NGX_WS_ADAPTER_VOLATILE))
    {
        abort();
    }

    check_names(op.rooms, op.nrooms);
    check_names(op.except, op.nexcept);
    check_names(op.names, op.nnames);

    reason = ngx_ws_adapter_shard_encode(&op, m.uid.data, m.uid.len, &out,
                                         &out_len, arena_alloc, NULL);
    if (reason) {
        if (reason == ngx_ws_op_nomem) {
            return;
        }

        abort();
    }

    reason = ngx_ws_adapter_shard_decode(out, out_len, &back, &m2,
                                         arena_alloc, NULL);
    if (reason) {
        if (reason == ngx_ws_op_nomem) {
            return;
        }

        abort();
    }

    if (back.type != op.type || back.close != op.close
        || !same(&back.nsp, &op.nsp) || !same(&m2.uid, &m.uid)
        || !same(&back.packet, &op.packet)
        || !same_list(back.bins, back.nbins, op.bins, op.nbins)
        || !unique_of(op.rooms, op.nrooms, back.rooms, back.nrooms)
        || !unique_of(op.except, op.nexcept, back.except, back.nexcept)
        || !same_list(back.names, back.nnames, op.names, op.nnames))
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char          *p;
    unsigned         type, flags;
    const char      *reason;
    ngx_ws_op_t      op;
    ngx_ws_bytes_t   uid, nsp;

    p = malloc(size ? size : 1);
    memcpy(p, data, size);

    reason = ngx_ws_adapter_decode(p, size, &op, &uid, &flags, arena_alloc,
                                   NULL);

    if (reason == NULL) {
        if (flags & ~NGX_WS_ADAPTER_VOLATILE) {
            abort();
        }

        check_emit(&op, &uid);

    } else if (reason[0] == '\0') {
        abort();
    }

    nsp.data = (u_char *) "/chat";
    nsp.len = 5;

    reason = ngx_ws_adapter_request(p, size, &nsp, &op, &type, &uid,
                                    arena_alloc, NULL);

    if (reason == NULL) {
        if (type < NGX_WS_ADAPTER_REMOTE_JOIN
            || type > NGX_WS_ADAPTER_REMOTE_DISCONNECT)
        {
            abort();
        }

        check_request(&op, &uid, size && p[0] == '{');

    } else if (reason[0] == '\0' || op.type != 0
               || (type > 255 && type != NGX_WS_ADAPTER_NO_TYPE))
    {
        abort();
    }

    /* a broadcast with acks: its broadcast as decode() reads one */

    reason = ngx_ws_adapter_broadcast_request(p, size, &op, &uid, &nsp,
                                              arena_alloc, NULL);

    if (reason == NULL) {
        if (nsp.len == 0) {
            abort();
        }

        check_emit(&op, &uid);

    } else if (reason[0] == '\0') {
        abort();
    }

    check_push(p, size);
    check_shard(p, size);

    while (arena_n) {
        free(arena[--arena_n]);
    }

    free(p);

    return 0;
}
