
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_SIO_H_INCLUDED_
#define _NGX_WS_SIO_H_INCLUDED_


/* Socket.IO v5 packets (socket.io-parser 4.2.x text encoding); libc only. */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define NGX_WS_SIO_CONNECT        0
#define NGX_WS_SIO_DISCONNECT     1
#define NGX_WS_SIO_EVENT          2
#define NGX_WS_SIO_ACK            3
#define NGX_WS_SIO_CONNECT_ERROR  4
#define NGX_WS_SIO_BINARY_EVENT   5
#define NGX_WS_SIO_BINARY_ACK     6

#define NGX_WS_SIO_MAX_ATTACHMENTS  10

/* longer ack ids would lose precision as JavaScript numbers */
#define NGX_WS_SIO_MAX_ACK_DIGITS   15


typedef struct {
    unsigned   type;
    unsigned   attachments;
    u_char    *nsp;           /* points into the input, or to a static "/" */
    size_t     nsp_len;
    int64_t    ack_id;        /* -1: none */
    u_char    *data;          /* JSON payload text, NULL/0 if absent */
    size_t     data_len;
    const char *error;        /* why the packet is malformed */
} ngx_ws_sio_packet_t;


/*
 * Decodes "<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]" as
 * socket.io-parser's decodeString does, including its payload checks:
 * CONNECT takes an object, DISCONNECT nothing, CONNECT_ERROR an object or a
 * string, (BINARY_)EVENT a non-empty array starting with a number or a
 * non-reserved event name, (BINARY_)ACK an array; no payload is fine for
 * all.  Returns 0, or -1 if the packet is malformed, with pkt->error saying
 * why.
 */
int ngx_ws_sio_decode(u_char *p, size_t len, ngx_ws_sio_packet_t *pkt);

/*
 * "<type>[<attachments>-][<nsp>,][<ack id>]": attachments only for the
 * binary types, the namespace only if nsp_len > 1 (namespaces start with
 * '/', so a length of 0 or 1 means "/"), the ack id only if >= 0.
 */
size_t ngx_ws_sio_header_len(unsigned type, size_t nsp_len,
    unsigned attachments, int64_t ack_id);
u_char *ngx_ws_sio_header_write(u_char *dst, unsigned type, const u_char *nsp,
    size_t nsp_len, unsigned attachments, int64_t ack_id);

/* 1 if the JSON string token p..end is an event name a client may not use */
int ngx_ws_sio_reserved_event(const u_char *p, const u_char *end);


#endif /* _NGX_WS_SIO_H_INCLUDED_ */
