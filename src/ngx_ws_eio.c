
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_eio.h"


#define NGX_WS_B64_BAD  0xff


static size_t ngx_ws_eio_uint_len(uint64_t n);
static u_char *ngx_ws_eio_uint_write(u_char *dst, uint64_t n);


static const char  ngx_ws_eio_open_sid[] = "0{\"sid\":\"";
static const char  ngx_ws_eio_open_ping[] = "],\"pingInterval\":";
static const char  ngx_ws_eio_open_upgrades[] = "\",\"upgrades\":[";
static const char  ngx_ws_eio_open_websocket[] = "\"websocket\"";
static const char  ngx_ws_eio_open_timeout[] = ",\"pingTimeout\":";
static const char  ngx_ws_eio_open_max[] = ",\"maxPayload\":";

static const u_char  ngx_ws_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
ngx_ws_eio_decode(u_char *p, size_t len, unsigned binary_frame,
    ngx_ws_eio_packet_t *pkt)
{
    ssize_t  n;

    pkt->error = NULL;

    if (binary_frame) {
        pkt->type = NGX_WS_EIO_MESSAGE;
        pkt->binary = 1;
        pkt->data = p;
        pkt->len = len;
        return 0;
    }

    if (len == 0) {
        pkt->error = "empty packet";
        return -1;
    }

    if (p[0] == 'b') {
        n = ngx_ws_base64_decode(p + 1, p + 1, len - 1);
        if (n < 0) {
            pkt->error = "invalid base64";
            return -1;
        }

        pkt->type = NGX_WS_EIO_MESSAGE;
        pkt->binary = 1;
        pkt->data = p + 1;
        pkt->len = (size_t) n;
        return 0;
    }

    if (p[0] < NGX_WS_EIO_OPEN || p[0] > NGX_WS_EIO_NOOP) {
        pkt->error = "unknown packet type";
        return -1;
    }

    pkt->type = p[0];
    pkt->binary = 0;
    pkt->data = p + 1;
    pkt->len = len - 1;

    return 0;
}


size_t
ngx_ws_eio_open_len(size_t sid_len, unsigned upgrade, unsigned ping_interval,
    unsigned ping_timeout, size_t max_payload)
{
    return sizeof(ngx_ws_eio_open_sid) - 1 + sid_len
           + sizeof(ngx_ws_eio_open_upgrades) - 1
           + (upgrade ? sizeof(ngx_ws_eio_open_websocket) - 1 : 0)
           + sizeof(ngx_ws_eio_open_ping) - 1
           + ngx_ws_eio_uint_len(ping_interval)
           + sizeof(ngx_ws_eio_open_timeout) - 1
           + ngx_ws_eio_uint_len(ping_timeout)
           + sizeof(ngx_ws_eio_open_max) - 1
           + ngx_ws_eio_uint_len(max_payload)
           + 1;
}


u_char *
ngx_ws_eio_open_write(u_char *dst, const u_char *sid, size_t sid_len,
    unsigned upgrade, unsigned ping_interval, unsigned ping_timeout,
    size_t max_payload)
{
    memcpy(dst, ngx_ws_eio_open_sid, sizeof(ngx_ws_eio_open_sid) - 1);
    dst += sizeof(ngx_ws_eio_open_sid) - 1;

    memcpy(dst, sid, sid_len);
    dst += sid_len;

    memcpy(dst, ngx_ws_eio_open_upgrades,
           sizeof(ngx_ws_eio_open_upgrades) - 1);
    dst += sizeof(ngx_ws_eio_open_upgrades) - 1;

    if (upgrade) {
        memcpy(dst, ngx_ws_eio_open_websocket,
               sizeof(ngx_ws_eio_open_websocket) - 1);
        dst += sizeof(ngx_ws_eio_open_websocket) - 1;
    }

    memcpy(dst, ngx_ws_eio_open_ping, sizeof(ngx_ws_eio_open_ping) - 1);
    dst += sizeof(ngx_ws_eio_open_ping) - 1;
    dst = ngx_ws_eio_uint_write(dst, ping_interval);

    memcpy(dst, ngx_ws_eio_open_timeout, sizeof(ngx_ws_eio_open_timeout) - 1);
    dst += sizeof(ngx_ws_eio_open_timeout) - 1;
    dst = ngx_ws_eio_uint_write(dst, ping_timeout);

    memcpy(dst, ngx_ws_eio_open_max, sizeof(ngx_ws_eio_open_max) - 1);
    dst += sizeof(ngx_ws_eio_open_max) - 1;
    dst = ngx_ws_eio_uint_write(dst, max_payload);

    *dst++ = '}';

    return dst;
}


static size_t
ngx_ws_eio_uint_len(uint64_t n)
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
ngx_ws_eio_uint_write(u_char *dst, uint64_t n)
{
    u_char  *p;
    size_t   len;

    len = ngx_ws_eio_uint_len(n);
    p = dst + len;

    do {
        *--p = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return dst + len;
}


size_t
ngx_ws_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}


u_char *
ngx_ws_base64_encode(u_char *dst, const u_char *src, size_t len)
{
    while (len >= 3) {
        *dst++ = ngx_ws_b64_alphabet[src[0] >> 2];
        *dst++ = ngx_ws_b64_alphabet[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *dst++ = ngx_ws_b64_alphabet[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *dst++ = ngx_ws_b64_alphabet[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len) {
        *dst++ = ngx_ws_b64_alphabet[src[0] >> 2];

        if (len == 1) {
            *dst++ = ngx_ws_b64_alphabet[(src[0] & 0x03) << 4];
            *dst++ = '=';

        } else {
            *dst++ = ngx_ws_b64_alphabet[((src[0] & 0x03) << 4)
                                         | (src[1] >> 4)];
            *dst++ = ngx_ws_b64_alphabet[(src[1] & 0x0f) << 2];
        }

        *dst++ = '=';
    }

    return dst;
}


static u_char
ngx_ws_base64_value(u_char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return NGX_WS_B64_BAD;
}


size_t
ngx_ws_base64_decoded_len(size_t len)
{
    return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}


ssize_t
ngx_ws_base64_decode(u_char *dst, const u_char *src, size_t len)
{
    u_char     c;
    size_t     i, n, pad;
    uint32_t   acc;
    u_char    *d;

    /* a complete padding is one or two '=' that fill the last quantum */

    pad = 0;

    if (len % 4 == 0 && len) {
        if (src[len - 1] == '=') {
            pad++;

            if (src[len - 2] == '=') {
                pad++;
            }
        }
    }

    n = len - pad;

    if (n % 4 == 1) {
        return -1;
    }

    d = dst;
    acc = 0;

    /* in place, every quantum is read before its 3 bytes are written */

    for (i = 0; i < n; i++) {
        c = ngx_ws_base64_value(src[i]);
        if (c == NGX_WS_B64_BAD) {
            return -1;
        }

        acc = (acc << 6) | c;

        if ((i & 3) == 3) {
            *d++ = (u_char) (acc >> 16);
            *d++ = (u_char) (acc >> 8);
            *d++ = (u_char) acc;
            acc = 0;
        }
    }

    /* the bits of an incomplete quantum past the last byte are ignored */

    switch (n & 3) {

    case 2:
        *d++ = (u_char) (acc >> 4);
        break;

    case 3:
        *d++ = (u_char) (acc >> 10);
        *d++ = (u_char) (acc >> 2);
        break;
    }

    return d - dst;
}
