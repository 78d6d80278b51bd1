
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The push body parser on arbitrary text (an exact-size buffer): it refuses
 * with a reason or gives a record whose names hold no NUL, whose namespace
 * starts with '/', and whose emit packet decodes as a Socket.IO EVENT or
 * BINARY_EVENT with as many attachments as the record has.
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

    reason = ngx_ws_op_parse(p, p + size, &op, arena_alloc, NULL);

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

done:

    while (arena_n) {
        free(arena[--arena_n]);
    }

    free(p);

    return 0;
}
