
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_OP_H_INCLUDED_
#define _NGX_WS_OP_H_INCLUDED_


/*
 * The operation record: what the push endpoint's JSON asks for (emit,
 * join, leave, disconnect, and which sockets), parsed and, for an emit,
 * encoded once.  Every source of operations produces this record and one
 * function applies it.  libc only, so that the parser can be fuzzed alone.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define NGX_WS_EMIT        1
#define NGX_WS_JOIN        2
#define NGX_WS_LEAVE       3
#define NGX_WS_DISCONNECT  4

/*
 * A session's traffic between the worker that holds one of its requests
 * and the worker the session lives in: the kinds are ngx_ws_relay.c's.
 */
#define NGX_WS_RELAY       5
#define NGX_WS_RELAY_KINDS 12

/* op->flags: it came from Redis, so it does not go back there */
#define NGX_WS_OP_FROM_REDIS  1


typedef struct {
    u_char            *data;
    size_t             len;
} ngx_ws_bytes_t;


typedef struct {
    unsigned           type;
    unsigned           close;       /* DISCONNECT: close the connection */

    ngx_ws_bytes_t     nsp;         /* "/" or "/name" */
    ngx_ws_bytes_t    *rooms;       /* none: the whole namespace */
    size_t             nrooms;
    ngx_ws_bytes_t    *except;
    size_t             nexcept;

    ngx_ws_bytes_t    *names;       /* JOIN, LEAVE: the rooms ("room") */
    size_t             nnames;

    ngx_ws_bytes_t     packet;      /* EMIT: the Socket.IO packet;
                                       RELAY: the payload */
    ngx_ws_bytes_t    *bins;        /* EMIT: its binary attachments */
    size_t             nbins;

    ngx_ws_bytes_t     sid;         /* RELAY: the session */
    uint32_t           target;      /* RELAY: the worker's pid */
    uint32_t           kind;        /* RELAY: what it is */
    uint32_t           status;      /* RELAY: an HTTP status, a flag */
    uint32_t           flags;       /* NGX_WS_OP_FROM_REDIS */

    uint64_t           seq;         /* its number in the host's log, 0:
                                       none; not part of the bytes */
} ngx_ws_op_t;


/* Memory for the record; the caller frees it all at once. */
typedef void *(*ngx_ws_op_alloc_pt)(void *data, size_t size);


/* the reason returned when alloc failed */
extern const char  ngx_ws_op_nomem[];


/*
 * Parses the JSON text p..end, an object as the push endpoint takes it,
 * into *op; nsp is the namespace when the object names none (NULL: "/").
 * Returns NULL, or the reason it is refused (JSON-safe text), or
 * ngx_ws_op_nomem.  Strings in the record point into p..end (the event
 * name and the arguments go out as they were written) or into memory from
 * alloc (names with escapes decoded, the encoded packet).
 */
const char *ngx_ws_op_parse(u_char *p, u_char *end, ngx_ws_bytes_t *nsp,
    ngx_ws_op_t *op, ngx_ws_op_alloc_pt alloc, void *data);


/*
 * Encodes op->packet and op->bins for op->nsp: an EVENT [event, args...]
 * (ack_id -1; event is the name's JSON token, as written), or an ACK with
 * ack_id [args...] (event NULL); BINARY_ when args hold {"$binary":...}.
 * args..end is a JSON array (args NULL: none).  Returns NULL or a reason.
 */
const char *ngx_ws_op_packet(ngx_ws_op_t *op, u_char *event,
    size_t event_len, u_char *args, u_char *end, int64_t ack_id,
    ngx_ws_op_alloc_pt alloc, void *data);

/*
 * The record as bytes, for the log the workers share: a header of counts
 * and lengths, then every string.  Same host, so host byte order.
 * ngx_ws_op_read() checks every length against len and points the
 * record's strings into p; it returns 0, or -1 for bytes that are no
 * record (or when alloc failed).
 */
size_t ngx_ws_op_size(ngx_ws_op_t *op);
u_char *ngx_ws_op_write(ngx_ws_op_t *op, u_char *p);
int ngx_ws_op_read(u_char *p, size_t len, ngx_ws_op_t *op,
    ngx_ws_op_alloc_pt alloc, void *data);


#endif /* _NGX_WS_OP_H_INCLUDED_ */
