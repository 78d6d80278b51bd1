
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_EIO_H_INCLUDED_
#define _NGX_WS_EIO_H_INCLUDED_


/* Engine.IO v4 packets over WebSocket, and base64; libc only. */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define NGX_WS_EIO_OPEN     '0'
#define NGX_WS_EIO_CLOSE    '1'
#define NGX_WS_EIO_PING     '2'
#define NGX_WS_EIO_PONG     '3'
#define NGX_WS_EIO_MESSAGE  '4'
#define NGX_WS_EIO_UPGRADE  '5'
#define NGX_WS_EIO_NOOP     '6'


typedef struct {
    unsigned   type;      /* one of the above */
    unsigned   binary;    /* 1: binary frame, or decoded "b<base64>" */
    u_char    *data;
    size_t     len;
    const char *error;    /* why the packet is malformed */
} ngx_ws_eio_packet_t;


/*
 * One WebSocket message as an Engine.IO packet: a binary frame is a binary
 * MESSAGE; a text frame is "<type><data>" or "b<base64>" (decoded in place,
 * data points into p).  Returns 0, or -1 if the packet is malformed (empty,
 * unknown type, bad base64) with pkt->error saying which.
 */
int ngx_ws_eio_decode(u_char *p, size_t len, unsigned binary_frame,
    ngx_ws_eio_packet_t *pkt);

/*
 * The open packet, exactly as engine.io writes it:
 * 0{"sid":"<sid>","upgrades":[],"pingInterval":N,"pingTimeout":N,
 * "maxPayload":N}, with "upgrades":["websocket"] when upgrade is set (a
 * polling session).  The sid is copied as is: it must need no JSON
 * escaping.
 */
size_t ngx_ws_eio_open_len(size_t sid_len, unsigned upgrade,
    unsigned ping_interval, unsigned ping_timeout, size_t max_payload);
u_char *ngx_ws_eio_open_write(u_char *dst, const u_char *sid, size_t sid_len,
    unsigned upgrade, unsigned ping_interval, unsigned ping_timeout,
    size_t max_payload);

/* standard alphabet with '=' padding */
size_t ngx_ws_base64_encoded_len(size_t len);
u_char *ngx_ws_base64_encode(u_char *dst, const u_char *src, size_t len);

/*
 * Standard alphabet; the padding may be omitted, but if present it must be
 * complete and last.  No whitespace.  Returns the decoded length, or -1 if
 * src is invalid.  dst may be src (decoding in place); at most
 * ngx_ws_base64_decoded_len(len) bytes are written.
 */
ssize_t ngx_ws_base64_decode(u_char *dst, const u_char *src, size_t len);
size_t ngx_ws_base64_decoded_len(size_t len);


#endif /* _NGX_WS_EIO_H_INCLUDED_ */
