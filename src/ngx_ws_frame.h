
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_FRAME_H_INCLUDED_
#define _NGX_WS_FRAME_H_INCLUDED_


/*
 * RFC 6455 framing: the parser of client frames, the writer of server
 * frames, and a UTF-8 validator.  Only libc is used, so that the codec can
 * be unit-tested and fuzzed outside nginx.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define NGX_WS_OP_CONT    0x0
#define NGX_WS_OP_TEXT    0x1
#define NGX_WS_OP_BINARY  0x2
#define NGX_WS_OP_CLOSE   0x8
#define NGX_WS_OP_PING    0x9
#define NGX_WS_OP_PONG    0xa

#define NGX_WS_CLOSE_NORMAL          1000
#define NGX_WS_CLOSE_GOING_AWAY      1001
#define NGX_WS_CLOSE_PROTOCOL_ERROR  1002
#define NGX_WS_CLOSE_NO_STATUS       1005   /* never on the wire */
#define NGX_WS_CLOSE_INVALID_DATA    1007
#define NGX_WS_CLOSE_POLICY          1008
#define NGX_WS_CLOSE_TOO_BIG         1009
#define NGX_WS_CLOSE_INTERNAL        1011

#define NGX_WS_PARSE_STOPPED  (-1)   /* the message handler asked to stop */
#define NGX_WS_PARSE_PAUSED   (-2)   /* ... to pause after this message */

#define NGX_WS_UTF8_ACCEPT  0
#define NGX_WS_UTF8_REJECT  1

/* the longest header of a client frame: 2 + 8 length + 4 mask */
#define NGX_WS_FRAME_MAX_HEADER  14


typedef struct {
    /*
     * 0 goes on; 1 stops the parser: NGX_WS_PARSE_STOPPED; 2 pauses it
     * after this message: execute() returns what it consumed so far
     */
    int    (*message)(void *data, unsigned opcode, u_char *payload,
                      size_t len);
    /* NULL on failure */
    void  *(*alloc)(void *data, size_t size);
    void   (*free)(void *data, void *p);
} ngx_ws_parser_ops_t;


typedef struct {
    u_char    *frag;          /* reassembly buffer, or NULL */
    size_t     frag_len;
    size_t     frag_cap;
    uint32_t   utf8;          /* UTF-8 validator state across fragments */
    unsigned   frag_opcode;   /* TEXT/BINARY of the open message, 0 if none */
    const char *error;        /* why the last protocol error was one */
} ngx_ws_parser_t;            /* zero-initialised = ready */


/*
 * Parses the complete client frames at the start of buf[0..len), unmasking
 * them in place, and calls ops->message for every complete data message
 * (TEXT or BINARY, reassembled if fragmented) and every control frame.
 *
 * Returns the number of bytes consumed (whole frames), NGX_WS_PARSE_STOPPED
 * if ops->message returned non-zero (p and buf are not touched after that),
 * or -(close code) on a protocol error: -1002, -1007, -1009, or -1011 when
 * ops->alloc failed; p->error then says why.
 *
 * *need is set to the total length of the partial frame left at the end of
 * buf when its header is complete, else to 0.
 *
 * An unfragmented message's payload points into buf; a fragmented one's into
 * p->frag, which is freed once ops->message has returned 0.
 */
ssize_t ngx_ws_parser_execute(ngx_ws_parser_t *p, u_char *buf, size_t len,
    size_t max_payload, const ngx_ws_parser_ops_t *ops, void *data,
    size_t *need);

/* frees p->frag with ops->free and zeroes the state */
void ngx_ws_parser_reset(ngx_ws_parser_t *p, const ngx_ws_parser_ops_t *ops,
    void *data);

/* the header of an unmasked server frame with FIN set: 2, 4 or 10 bytes */
size_t ngx_ws_frame_header_len(uint64_t payload_len);
u_char *ngx_ws_frame_header_write(u_char *dst, unsigned opcode,
    uint64_t payload_len);

/*
 * A whole close frame: 4 bytes with the code, or 2 bytes (empty payload)
 * when code is 0.  Returns its length.
 */
size_t ngx_ws_close_frame_write(u_char *dst, unsigned code);

/*
 * The code of a close payload that the parser has validated, or
 * NGX_WS_CLOSE_NO_STATUS when it is empty.
 */
unsigned ngx_ws_close_code(const u_char *payload, size_t len);

/* 1 if code may be sent by a peer in a close frame */
int ngx_ws_close_code_valid(unsigned code);

/*
 * Incremental UTF-8 (RFC 3629) validation: start with NGX_WS_UTF8_ACCEPT and
 * feed consecutive chunks; NGX_WS_UTF8_ACCEPT at the end of the text means
 * valid, NGX_WS_UTF8_REJECT (sticky) means invalid, anything else means a
 * code point is unfinished.
 */
uint32_t ngx_ws_utf8_validate(uint32_t state, const u_char *p, size_t len);


#endif /* _NGX_WS_FRAME_H_INCLUDED_ */
