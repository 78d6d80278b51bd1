
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The push body parser on arbitrary text (an exact-size buffer): it refuses
 * with a reason or gives a record whose names hold no NUL, whose namespace
 * starts with '/', and whose emit packet decodes as a Socket.IO EVENT or
 * BINARY_EVENT with as many attachments as the record has; the record
 * written as bytes reads back the same.  The same input read as record
 * bytes is refused or writes back byte for byte.
 */


#include <stdlib.h>
#include <string.h>
#include "ngx_ws_op.h"
#include "ngx_ws_sio.h"


#define ARENA_MAX  64


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


static int
same_list(ngx_ws_bytes_t *a, ngx_ws_bytes_t *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (a[i].len != b[i].len
            || (a[i].len && memcmp(a[i].data, b[i].data, a[i].len) != 0))
        {
            return 0;
        }
    }

    return 1;
}


static void
check_roundtrip(ngx_ws_op_t *op)
{
    u_char       *buf;
    size_t        size;
    ngx_ws_op_t   back;

    size = ngx_ws_op_size(op);
    buf = malloc(size);

    if (ngx_ws_op_write(op, buf) != buf + size
        || ngx_ws_op_read(buf, size, &back, arena_alloc, NULL) != 0
        || back.type != op->type || back.close != op->close
        || back.nrooms != op->nrooms || back.nexcept != op->nexcept
        || back.nnames != op->nnames || back.nbins != op->nbins
        || !same_list(&back.nsp, &op->nsp, 1)
        || !same_list(&back.packet, &op->packet, 1)
        || !same_list(back.rooms, op->rooms, op->nrooms)
        || !same_list(back.except, op->except, op->nexcept)
        || !same_list(back.names, op->names, op->nnames)
        || !same_list(back.bins, op->bins, op->nbins))
    {
        abort();
    }

    free(buf);
}


static void
check_read(u_char *p, size_t size)
{
    u_char       *buf;
    ngx_ws_op_t   op;

    if (ngx_ws_op_read(p, size, &op, arena_alloc, NULL) != 0) {
        return;
    }

    buf = malloc(size ? size : 1);

    if (ngx_ws_op_size(&op) != size || ngx_ws_op_write(&op, buf) != buf + size
        || memcmp(buf, p, size) != 0)
    {
        abort();
    }

    free(buf);
}


static void
check_packet(ngx_ws_op_t *op)
{
    u_char               *copy;
    ngx_ws_sio_packet_t   pkt;

    copy = malloc(op->packet.len);
    memcpy(copy, op->packet.data, op->packet.len);

    if (ngx_ws_sio_decode(copy, op->packet.len, &pkt) != 0
        || (pkt.type != NGX_WS_SIO_EVENT
            && pkt.type != NGX_WS_SIO_BINARY_EVENT)
        || pkt.attachments != op->nbins
        || pkt.nsp_len != (op->nsp.len > 1 ? op->nsp.len : 1))
    {
        abort();
    }

    free(copy);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char       *p;
    const char   *reason;
    ngx_ws_op_t   op;

    p = malloc(size ? size : 1);
    memcpy(p, data, size);

    check_read(p, size);

    reason = ngx_ws_op_parse(p, p + size, NULL, &op, arena_alloc, NULL);

    if (reason) {
        if (reason[0] == '\0') {
            abort();
        }

        goto done;
    }

    if (op.type < NGX_WS_EMIT || op.type > NGX_WS_DISCONNECT
        || op.nsp.len == 0 || op.nsp.data[0] != '/')
    {
        abort();
    }

    check_names(&op.nsp, 1);
    check_names(op.rooms, op.nrooms);
    check_names(op.except, op.nexcept);
    check_names(op.names, op.nnames);

    /* names nginx.conf cannot serve never reach a client: the lookup fails */

    if (op.type != NGX_WS_EMIT) {
        if (op.packet.len || op.nbins) {
            abort();
        }

    } else if (memchr(op.nsp.data, ',', op.nsp.len) == NULL) {
        check_packet(&op);
    }

    if ((op.type == NGX_WS_JOIN || op.type == NGX_WS_LEAVE)
        && op.nnames == 0)
    {
        abort();
    }

    check_roundtrip(&op);

done:

    while (arena_n) {
        free(arena[--arena_n]);
    }

    free(p);

    return 0;
}
