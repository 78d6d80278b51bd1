
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_sio.h"
#include "ngx_ws_json.h"


static const char *ngx_ws_sio_payload_check(unsigned type, u_char *p,
    u_char *end);
static int ngx_ws_sio_event_valid(u_char *p, u_char *end);
static size_t ngx_ws_sio_uint_len(uint64_t n);
static u_char *ngx_ws_sio_uint_write(u_char *dst, uint64_t n);


static u_char  ngx_ws_sio_main_nsp[] = "/";

static const char  *ngx_ws_sio_reserved[] = {
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
    NULL
};


int
ngx_ws_sio_decode(u_char *p, size_t len, ngx_ws_sio_packet_t *pkt)
{
    u_char    *end, *start;
    unsigned   n;
    int64_t    id;

    end = p + len;

    if (p == end || *p < '0' || *p > '6') {
        pkt->error = "unknown packet type";
        return -1;
    }

    pkt->type = *p++ - '0';
    pkt->attachments = 0;
    pkt->nsp = ngx_ws_sio_main_nsp;
    pkt->nsp_len = 1;
    pkt->ack_id = -1;
    pkt->data = NULL;
    pkt->data_len = 0;
    pkt->error = NULL;

    if (pkt->type == NGX_WS_SIO_BINARY_EVENT
        || pkt->type == NGX_WS_SIO_BINARY_ACK)
    {
        /* socket.io-parser rejects a count over its maxAttachments */

        start = p;
        n = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            n = n * 10 + (*p++ - '0');

            if (n > NGX_WS_SIO_MAX_ATTACHMENTS) {
                pkt->error = "more than 10 attachments";
                return -1;
            }
        }

        if (p == start || p == end || *p != '-') {
            pkt->error = "no attachment count";
            return -1;
        }

        p++;
        pkt->attachments = n;
    }

    if (p < end && *p == '/') {

        /* the namespace runs to the first ',' (consumed) or to the end */

        start = p;

        while (p < end && *p != ',') {
            p++;
        }

        pkt->nsp = start;
        pkt->nsp_len = p - start;

        if (p < end) {
            p++;
        }
    }

    if (p < end && *p >= '0' && *p <= '9') {
        start = p;
        id = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (p - start == NGX_WS_SIO_MAX_ACK_DIGITS) {
                pkt->error = "ack id of more than 15 digits";
                return -1;
            }

            id = id * 10 + (*p++ - '0');
        }

        pkt->ack_id = id;
    }

    if (p == end) {
        return 0;
    }

    /* the rest is JSON.parse()d, surrounding whitespace included */

    pkt->error = ngx_ws_sio_payload_check(pkt->type, p, end);

    if (pkt->error) {
        return -1;
    }

    pkt->data = p;
    pkt->data_len = end - p;

    return 0;
}


/* NULL if the payload suits the packet type, else why not */

static const char *
ngx_ws_sio_payload_check(unsigned type, u_char *p, u_char *end)
{
    u_char              *v, *v_end;
    ngx_ws_json_type_e   t;

    if (type == NGX_WS_SIO_DISCONNECT) {
        return "payload on a DISCONNECT";
    }

    v = ngx_ws_json_skip_ws(p, end);

    v_end = ngx_ws_json_value(v, end, &t);
    if (v_end == NULL || ngx_ws_json_skip_ws(v_end, end) != end) {
        return "payload is not valid JSON or nests over 1000 levels";
    }

    switch (type) {

    case NGX_WS_SIO_CONNECT:
        return (t == NGX_WS_JSON_OBJECT) ? NULL
                                         : "CONNECT payload is no object";

    case NGX_WS_SIO_CONNECT_ERROR:
        return (t == NGX_WS_JSON_OBJECT || t == NGX_WS_JSON_STRING)
               ? NULL : "CONNECT_ERROR payload is no object or string";

    case NGX_WS_SIO_EVENT:
    case NGX_WS_SIO_BINARY_EVENT:
        if (t != NGX_WS_JSON_ARRAY) {
            return "EVENT payload is no array";
        }

        return ngx_ws_sio_event_valid(v, v_end)
               ? NULL : "event name missing, or reserved";

    default: /* ACK, BINARY_ACK */
        return (t == NGX_WS_JSON_ARRAY) ? NULL : "ACK payload is no array";
    }
}


/* p..end is a valid array: its first element must name the event */

static int
ngx_ws_sio_event_valid(u_char *p, u_char *end)
{
    u_char              *e;
    ngx_ws_json_type_e   t;

    p = ngx_ws_json_skip_ws(p + 1, end);

    e = ngx_ws_json_value(p, end, &t);
    if (e == NULL) {
        /* "[]": no first element */
        return 0;
    }

    if (t == NGX_WS_JSON_NUMBER) {
        return 1;
    }

    return t == NGX_WS_JSON_STRING && !ngx_ws_sio_reserved_event(p, e);
}


int
ngx_ws_sio_reserved_event(const u_char *p, const u_char *end)
{
    const char  **name;

    for (name = ngx_ws_sio_reserved; *name; name++) {
        if (ngx_ws_json_string_eq(p, end, *name)) {
            return 1;
        }
    }

    return 0;
}


size_t
ngx_ws_sio_header_len(unsigned type, size_t nsp_len, unsigned attachments,
    int64_t ack_id)
{
    size_t  len;

    len = 1;

    if (type == NGX_WS_SIO_BINARY_EVENT || type == NGX_WS_SIO_BINARY_ACK) {
        len += ngx_ws_sio_uint_len(attachments) + 1;
    }

    if (nsp_len > 1) {
        len += nsp_len + 1;
    }

    if (ack_id >= 0) {
        len += ngx_ws_sio_uint_len((uint64_t) ack_id);
    }

    return len;
}


u_char *
ngx_ws_sio_header_write(u_char *dst, unsigned type, const u_char *nsp,
    size_t nsp_len, unsigned attachments, int64_t ack_id)
{
    *dst++ = (u_char) ('0' + type);

    if (type == NGX_WS_SIO_BINARY_EVENT || type == NGX_WS_SIO_BINARY_ACK) {
        dst = ngx_ws_sio_uint_write(dst, attachments);
        *dst++ = '-';
    }

    if (nsp_len > 1) {
        memcpy(dst, nsp, nsp_len);
        dst += nsp_len;
        *dst++ = ',';
    }

    if (ack_id >= 0) {
        dst = ngx_ws_sio_uint_write(dst, (uint64_t) ack_id);
    }

    return dst;
}


static size_t
ngx_ws_sio_uint_len(uint64_t n)
{
    size_t  len;

    len = 1;

    while (n >= 10) {
        n /= 10;
        len++;
    }

    return len;
}


static u_char *
ngx_ws_sio_uint_write(u_char *dst, uint64_t n)
{
    u_char  *p;
    size_t   len;

    len = ngx_ws_sio_uint_len(n);
    p = dst + len;

    do {
        *--p = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return dst + len;
}
