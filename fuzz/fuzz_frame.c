
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Feeds arbitrary bytes through the frame parser twice: at once, and in
 * chunks of pseudo-random sizes with a growing buffer as the module keeps
 * it.  Both must see the same messages and end the same way; every message
 * must respect the limits; reset must free everything (ASan's leak checker).
 */


#include <stdio.h>
#include <stdlib.h>
#include "ngx_ws_frame.h"


#define MAX_PAYLOAD  4096


typedef struct {
    uint64_t   hash;
    unsigned   count;
    unsigned   stop_at;
    long       live;
} run_t;


static int
on_message(void *data, unsigned opcode, u_char *payload, size_t len)
{
    run_t   *r = data;
    size_t   i;

    switch (opcode) {

    case NGX_WS_OP_TEXT:
        if (ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, payload, len)
            != NGX_WS_UTF8_ACCEPT)
        {
            abort();
        }

        /* fall through */

    case NGX_WS_OP_BINARY:
        if (len > MAX_PAYLOAD) {
            abort();
        }

        break;

    case NGX_WS_OP_CLOSE:
        if (len == 1 || len > 125
            || (len >= 2
                && !ngx_ws_close_code_valid(ngx_ws_close_code(payload, len))))
        {
            abort();
        }

        break;

    case NGX_WS_OP_PING:
    case NGX_WS_OP_PONG:
        if (len > 125) {
            abort();
        }

        break;

    default:
        abort();
    }

    r->hash = (r->hash ^ opcode) * 1099511628211ULL;

    for (i = 0; i < len; i++) {
        r->hash = (r->hash ^ payload[i]) * 1099511628211ULL;
    }

    r->hash = (r->hash ^ len) * 1099511628211ULL;

    return ++r->count == r->stop_at;
}


static void *
on_alloc(void *data, size_t size)
{
    run_t  *r = data;

    if (size == 0 || size > MAX_PAYLOAD) {
        abort();
    }

    r->live++;

    return malloc(size);
}


static void
on_free(void *data, void *p)
{
    run_t  *r = data;

    r->live--;
    free(p);
}


static const ngx_ws_parser_ops_t  ops = { on_message, on_alloc, on_free };


static ssize_t
run_whole(const uint8_t *data, size_t size, run_t *r)
{
    u_char           *buf;
    size_t            need;
    ssize_t           rc;
    ngx_ws_parser_t   p;

    memset(&p, 0, sizeof(ngx_ws_parser_t));

    buf = malloc(size + 1);
    memcpy(buf, data, size);

    rc = ngx_ws_parser_execute(&p, buf, size, MAX_PAYLOAD, &ops, r, &need);

    if (rc >= 0) {
        if ((size_t) rc > size) {
            abort();
        }

        if (need && (need <= size - rc
                     || need > MAX_PAYLOAD + NGX_WS_FRAME_MAX_HEADER))
        {
            abort();
        }
    }

    ngx_ws_parser_reset(&p, &ops, r);
    free(buf);

    /* only the part that is sure to be parsed: complete frames */
    return rc < 0 ? rc : 0;
}


static ssize_t
run_chunked(const uint8_t *data, size_t size, uint32_t seed, run_t *r)
{
    u_char           *buf, *nbuf;
    size_t            len, cap, off, chunk, need;
    ssize_t           rc;
    ngx_ws_parser_t   p;

    memset(&p, 0, sizeof(ngx_ws_parser_t));

    cap = 16;
    buf = malloc(cap);
    len = 0;
    off = 0;
    rc = 0;

    while (off < size) {
        seed = seed * 1103515245 + 12345;
        chunk = 1 + (seed >> 16) % 64;

        if (chunk > size - off) {
            chunk = size - off;
        }

        /*
         * The buffer grows only as *need asks, like the module's: a
         * complete header always tells the need, so it never fills up.
         */

        if (chunk > cap - len) {
            chunk = cap - len;

            if (chunk == 0) {
                abort();
            }
        }

        memcpy(buf + len, data + off, chunk);
        len += chunk;
        off += chunk;

        rc = ngx_ws_parser_execute(&p, buf, len, MAX_PAYLOAD, &ops, r, &need);

        if (rc < 0) {
            break;
        }

        if ((size_t) rc > len) {
            abort();
        }

        len -= rc;
        memmove(buf, buf + rc, len);

        if (need) {
            if (need <= len || need > MAX_PAYLOAD + NGX_WS_FRAME_MAX_HEADER) {
                abort();
            }

            if (need > cap) {
                cap = need;
                nbuf = malloc(cap);
                memcpy(nbuf, buf, len);
                free(buf);
                buf = nbuf;
            }

        } else if (len >= NGX_WS_FRAME_MAX_HEADER) {
            /* a complete header always tells the need */
            abort();
        }

        rc = 0;
    }

    ngx_ws_parser_reset(&p, &ops, r);
    free(buf);

    return rc;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run_t     a, b;
    ssize_t   ra, rb;
    uint32_t  seed;

    if (size < 2) {
        return 0;
    }

    /* the first two bytes choose the chunking and where to stop */

    seed = data[0];

    memset(&a, 0, sizeof(run_t));
    memset(&b, 0, sizeof(run_t));
    a.stop_at = data[1] < 16 ? data[1] : 0;
    b.stop_at = a.stop_at;

    data += 2;
    size -= 2;

    ra = run_whole(data, size, &a);
    rb = run_chunked(data, size, seed, &b);

    if (a.live || b.live) {
        abort();
    }

    /*
     * The chunked run sees frames complete earlier only by chance; what
     * both saw must agree, and a stream error must be the same error.
     */

    if (ra != rb || a.count != b.count || a.hash != b.hash) {
        fprintf(stderr, "whole %zd/%u, chunked %zd/%u\n", ra, a.count, rb,
                b.count);
        abort();
    }

    return 0;
}
