
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "unit.h"
#include "ngx_ws_frame.h"


#define FIN   0x80
#define RSV1  0x40
#define RSV2  0x20
#define RSV3  0x10

#define MAX_MSGS  64


typedef struct {
    unsigned   opcode;
    size_t     len;
    u_char    *data;      /* a copy */
    int        in_buf;    /* the payload pointed into the input buffer */
} rec_msg_t;


typedef struct {
    rec_msg_t  msgs[MAX_MSGS];
    unsigned   n;
    unsigned   stop_at;   /* return 1 from the n-th message (1-based) */
    unsigned   pause_at;  /* return 2 from the n-th message */
    long       live;      /* allocations not freed */
    long       allocs;
    int        fail_alloc;
    u_char    *buf;
    size_t     buf_len;
} rec_t;


static const u_char  key[4] = { 0x37, 0xfa, 0x21, 0x3d };


static int
rec_message(void *data, unsigned opcode, u_char *payload, size_t len)
{
    rec_t      *r = data;
    rec_msg_t  *m;

    if (r->n == MAX_MSGS) {
        return 1;
    }

    m = &r->msgs[r->n++];
    m->opcode = opcode;
    m->len = len;
    m->data = malloc(len + 1);
    if (len) {
        memcpy(m->data, payload, len);
    }

    m->in_buf = payload >= r->buf && payload <= r->buf + r->buf_len;

    if (r->pause_at && r->n == r->pause_at) {
        return 2;
    }

    return r->stop_at && r->n == r->stop_at;
}


static void *
rec_alloc(void *data, size_t size)
{
    rec_t  *r = data;

    if (r->fail_alloc) {
        return NULL;
    }

    r->live++;
    r->allocs++;

    return malloc(size);
}


static void
rec_free(void *data, void *p)
{
    rec_t  *r = data;

    r->live--;
    free(p);
}


static const ngx_ws_parser_ops_t  rec_ops = {
    rec_message, rec_alloc, rec_free
};


static void
rec_clear(rec_t *r)
{
    unsigned  i;

    for (i = 0; i < r->n; i++) {
        free(r->msgs[i].data);
    }

    memset(r, 0, sizeof(rec_t));
}


/* a client frame: b0 = FIN|RSV|opcode; masked unless told otherwise */

static size_t
mkframe_ex(u_char *dst, unsigned b0, const void *payload, uint64_t len,
    int masked)
{
    size_t          n, i;
    const u_char   *src = payload;

    dst[0] = (u_char) b0;

    if (len <= 125) {
        dst[1] = (u_char) len;
        n = 2;

    } else if (len <= 0xffff) {
        dst[1] = 126;
        dst[2] = (u_char) (len >> 8);
        dst[3] = (u_char) len;
        n = 4;

    } else {
        dst[1] = 127;
        for (i = 0; i < 8; i++) {
            dst[2 + i] = (u_char) (len >> (56 - 8 * i));
        }
        n = 10;
    }

    if (masked) {
        dst[1] |= 0x80;
        memcpy(dst + n, key, 4);
        n += 4;
    }

    for (i = 0; i < len && src; i++) {
        dst[n + i] = masked ? src[i] ^ key[i & 3] : src[i];
    }

    return n + (size_t) len;
}


static size_t
mkframe(u_char *dst, unsigned b0, const char *s)
{
    return mkframe_ex(dst, b0, s, strlen(s), 1);
}


static ssize_t
run(rec_t *r, ngx_ws_parser_t *p, u_char *buf, size_t len, size_t max,
    size_t *need)
{
    r->buf = buf;
    r->buf_len = len;

    return ngx_ws_parser_execute(p, buf, len, max, &rec_ops, r, need);
}


/* the whole buffer must fail with code */

static ssize_t
run_error(u_char *buf, size_t len, size_t max)
{
    rec_t            r;
    size_t           need;
    ssize_t          rc;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    rc = run(&r, &p, buf, len, max, &need);

    /* a protocol error says why, for the log */
    if (rc < NGX_WS_PARSE_STOPPED) {
        UNIT_CHECK(p.error != NULL && p.error[0] != '\0');
    }

    ngx_ws_parser_reset(&p, &rec_ops, &r);
    UNIT_EQ(r.live, 0);
    rec_clear(&r);

    return rc;
}


static void
test_rfc_example(void)
{
    /* RFC 6455 5.7: a masked "Hello" */
    static const u_char  hello[] = {
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };

    u_char           buf[64];
    size_t           need, i;
    ssize_t          rc;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    memcpy(buf, hello, sizeof(hello));

    /* every prefix is incomplete: nothing consumed */

    for (i = 0; i < sizeof(hello); i++) {
        need = 12345;
        rc = run(&r, &p, buf, i, 1000, &need);
        UNIT_EQ(rc, 0);
        UNIT_EQ(need, i < 6 ? 0 : 11);
        UNIT_EQ(r.n, 0);
    }

    rc = run(&r, &p, buf, sizeof(hello), 1000, &need);
    UNIT_EQ(rc, 11);
    UNIT_EQ(need, 0);
    UNIT_EQ(r.n, 1);
    UNIT_EQ(r.msgs[0].opcode, NGX_WS_OP_TEXT);
    UNIT_MEM(r.msgs[0].data, r.msgs[0].len, "Hello");
    UNIT_CHECK(r.msgs[0].in_buf);
    UNIT_MEM(buf + 6, 5, "Hello");       /* unmasked in place */

    rec_clear(&r);
}


static void
test_lengths(void)
{
    static const size_t  lens[] = { 0, 1, 7, 8, 9, 125, 126, 127, 65535,
                                    65536, 70000 };

    u_char           *buf, *payload;
    size_t            i, j, n, need, hlen;
    ssize_t           rc;
    rec_t             r;
    ngx_ws_parser_t   p;

    buf = malloc(80000);
    payload = malloc(80000);

    for (j = 0; j < 80000; j++) {
        payload[j] = (u_char) (j * 7 + 3);
    }

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        memset(&r, 0, sizeof(rec_t));
        memset(&p, 0, sizeof(ngx_ws_parser_t));

        n = mkframe_ex(buf, FIN | NGX_WS_OP_BINARY, payload, lens[i], 1);
        hlen = n - lens[i];

        UNIT_EQ(hlen, lens[i] <= 125 ? 6 : lens[i] <= 65535 ? 8 : 14);

        /* the header alone, then all but one byte */

        rc = run(&r, &p, buf, hlen, 100000, &need);
        UNIT_EQ(rc, lens[i] ? 0 : (ssize_t) n);
        UNIT_EQ(need, lens[i] ? n : 0);

        if (lens[i]) {
            rc = run(&r, &p, buf, n - 1, 100000, &need);
            UNIT_EQ(rc, 0);
            UNIT_EQ(need, n);

            rc = run(&r, &p, buf, n, 100000, &need);
            UNIT_EQ(rc, n);
            UNIT_EQ(need, 0);
        }

        UNIT_EQ(r.n, 1);
        UNIT_EQ(r.msgs[0].opcode, NGX_WS_OP_BINARY);
        UNIT_EQ(r.msgs[0].len, lens[i]);
        UNIT_CHECK(lens[i] == 0
                   || memcmp(r.msgs[0].data, payload, lens[i]) == 0);

        /* exactly max_payload passes, one byte less fails from the header */

        n = mkframe_ex(buf, FIN | NGX_WS_OP_BINARY, payload, lens[i], 1);
        UNIT_EQ(run(&r, &p, buf, n, lens[i], &need), n);

        if (lens[i]) {
            UNIT_EQ(run_error(buf, hlen - 4, lens[i] - 1),
                    -NGX_WS_CLOSE_TOO_BIG);
        }

        ngx_ws_parser_reset(&p, &rec_ops, &r);
        UNIT_EQ(r.live, 0);
        rec_clear(&r);
    }

    free(buf);
    free(payload);
}


static void
test_several_frames(void)
{
    u_char           buf[256];
    size_t           n, n1, need;
    ssize_t          rc;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    n = mkframe(buf, FIN | NGX_WS_OP_TEXT, "42[\"a\"]");
    n += mkframe(buf + n, FIN | NGX_WS_OP_PING, "pi");
    n += mkframe(buf + n, FIN | NGX_WS_OP_PONG, "");
    n += mkframe_ex(buf + n, FIN | NGX_WS_OP_BINARY, "\xff\x00\x01", 3, 1);
    n1 = n;
    n += mkframe(buf + n, FIN | NGX_WS_OP_TEXT, "partial");

    rc = run(&r, &p, buf, n - 3, 1000, &need);
    UNIT_EQ(rc, n1);
    UNIT_EQ(need, n - n1);
    UNIT_EQ(r.n, 4);
    UNIT_EQ(r.msgs[0].opcode, NGX_WS_OP_TEXT);
    UNIT_MEM(r.msgs[0].data, r.msgs[0].len, "42[\"a\"]");
    UNIT_EQ(r.msgs[1].opcode, NGX_WS_OP_PING);
    UNIT_MEM(r.msgs[1].data, r.msgs[1].len, "pi");
    UNIT_EQ(r.msgs[2].opcode, NGX_WS_OP_PONG);
    UNIT_EQ(r.msgs[2].len, 0);
    UNIT_EQ(r.msgs[3].opcode, NGX_WS_OP_BINARY);
    UNIT_EQ(r.msgs[3].len, 3);
    UNIT_CHECK(memcmp(r.msgs[3].data, "\xff\x00\x01", 3) == 0);

    /* the caller keeps the partial frame and appends the rest */

    memmove(buf, buf + n1, n - n1);
    rc = run(&r, &p, buf, n - n1, 1000, &need);
    UNIT_EQ(rc, n - n1);
    UNIT_EQ(need, 0);
    UNIT_EQ(r.n, 5);
    UNIT_MEM(r.msgs[4].data, r.msgs[4].len, "partial");

    UNIT_EQ(r.allocs, 0);     /* nothing fragmented, nothing allocated */

    rec_clear(&r);
}


/* A paused parser returns what it consumed; the rest parses later. */

static void
test_pause(void)
{
    u_char           buf[256];
    size_t           n, first, need;
    ssize_t          rc;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    first = mkframe(buf, 0x81, "one");
    n = first + mkframe(buf + first, 0x81, "two");
    n += mkframe(buf + n, 0x81, "three");

    r.pause_at = 1;
    rc = run(&r, &p, buf, n, 1000, &need);
    UNIT_EQ(rc, (ssize_t) first);
    UNIT_EQ(r.n, 1);
    UNIT_EQ(need, 0);

    r.pause_at = 0;
    rc = run(&r, &p, buf + first, n - first, 1000, &need);
    UNIT_EQ(rc, (ssize_t) (n - first));
    UNIT_EQ(r.n, 3);
    UNIT_MEM(r.msgs[2].data, r.msgs[2].len, "three");

    /* after a fragmented message too, and its buffer is let go */

    memset(&p, 0, sizeof(ngx_ws_parser_t));
    rec_clear(&r);
    memset(&r, 0, sizeof(rec_t));

    n = mkframe(buf, 0x01, "fr");
    n += mkframe(buf + n, 0x80, "ag");
    first = n;
    n += mkframe(buf + n, 0x81, "next");

    r.pause_at = 1;
    rc = run(&r, &p, buf, n, 1000, &need);
    UNIT_EQ(rc, (ssize_t) first);
    UNIT_MEM(r.msgs[0].data, r.msgs[0].len, "frag");
    UNIT_CHECK(p.frag == NULL);
    UNIT_EQ(r.live, 0);

    ngx_ws_parser_reset(&p, &rec_ops, &r);
    rec_clear(&r);
}


static void
test_fragments(void)
{
    u_char           buf[512];
    size_t           n, need;
    ssize_t          rc;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    /* control frames between fragments are delivered at once */

    n = mkframe(buf, NGX_WS_OP_TEXT, "Hel");
    n += mkframe(buf + n, FIN | NGX_WS_OP_PING, "ping");
    n += mkframe(buf + n, NGX_WS_OP_CONT, "l");
    n += mkframe(buf + n, FIN | NGX_WS_OP_PONG, "pong");
    n += mkframe(buf + n, NGX_WS_OP_CONT, "");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CLOSE, "\x03\xe8" "bye");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "o");

    rc = run(&r, &p, buf, n, 1000, &need);
    UNIT_EQ(rc, n);
    UNIT_EQ(r.n, 4);
    UNIT_EQ(r.msgs[0].opcode, NGX_WS_OP_PING);
    UNIT_MEM(r.msgs[0].data, r.msgs[0].len, "ping");
    UNIT_EQ(r.msgs[1].opcode, NGX_WS_OP_PONG);
    UNIT_EQ(r.msgs[2].opcode, NGX_WS_OP_CLOSE);
    UNIT_MEM(r.msgs[2].data, r.msgs[2].len, "\x03\xe8" "bye");
    UNIT_EQ(r.msgs[3].opcode, NGX_WS_OP_TEXT);
    UNIT_MEM(r.msgs[3].data, r.msgs[3].len, "Hello");
    UNIT_CHECK(!r.msgs[3].in_buf);
    UNIT_EQ(p.frag_opcode, 0);
    UNIT_CHECK(p.frag == NULL);
    UNIT_EQ(r.live, 0);

    /* one frame per call, binary */

    n = mkframe(buf, NGX_WS_OP_BINARY, "ab");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    UNIT_EQ(p.frag_opcode, NGX_WS_OP_BINARY);
    UNIT_EQ(r.n, 4);

    n = mkframe(buf, NGX_WS_OP_CONT, "cd");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    UNIT_EQ(r.n, 4);

    n = mkframe(buf, FIN | NGX_WS_OP_CONT, "\x80");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    UNIT_EQ(r.n, 5);
    UNIT_EQ(r.msgs[4].opcode, NGX_WS_OP_BINARY);
    UNIT_MEM(r.msgs[4].data, r.msgs[4].len, "abcd\x80");
    UNIT_EQ(r.live, 0);

    /* all fragments empty: an empty message */

    n = mkframe(buf, NGX_WS_OP_TEXT, "");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    UNIT_EQ(r.n, 6);
    UNIT_EQ(r.msgs[5].opcode, NGX_WS_OP_TEXT);
    UNIT_EQ(r.msgs[5].len, 0);

    /* a partial continuation reports its need */

    n = mkframe(buf, NGX_WS_OP_TEXT, "x");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "yz");
    UNIT_EQ(run(&r, &p, buf, n - 1, 1000, &need), 7);
    UNIT_EQ(need, 8);
    memmove(buf, buf + 7, n - 7);
    UNIT_EQ(run(&r, &p, buf, n - 7, 1000, &need), n - 7);
    UNIT_MEM(r.msgs[6].data, r.msgs[6].len, "xyz");

    /* a reassembled message over max_payload: 1009 */

    n = mkframe(buf, NGX_WS_OP_TEXT, "12345");
    n += mkframe(buf + n, NGX_WS_OP_CONT, "67890");
    UNIT_EQ(run(&r, &p, buf, n, 10, &need), n);
    n = mkframe(buf, FIN | NGX_WS_OP_CONT, "!");
    UNIT_EQ(run(&r, &p, buf, 2, 10, &need), -NGX_WS_CLOSE_TOO_BIG);
    UNIT_CHECK(r.live == 1);

    /* reset frees the reassembly buffer */

    ngx_ws_parser_reset(&p, &rec_ops, &r);
    UNIT_EQ(r.live, 0);
    UNIT_CHECK(p.frag == NULL && p.frag_len == 0 && p.frag_opcode == 0);

    /* exactly max_payload reassembled passes */

    n = mkframe(buf, NGX_WS_OP_TEXT, "12345");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "67890");
    UNIT_EQ(run(&r, &p, buf, n, 10, &need), n);
    UNIT_MEM(r.msgs[r.n - 1].data, r.msgs[r.n - 1].len, "1234567890");
    UNIT_EQ(r.live, 0);

    rec_clear(&r);
}


static void
test_fragments_big(void)
{
    u_char           *buf, *payload;
    size_t            n, need, off, chunk, total;
    ssize_t           rc;
    rec_t             r;
    ngx_ws_parser_t   p;

    /* many fragments grow the buffer several times */

    total = 200000;
    buf = malloc(total + 1000);
    payload = malloc(total);

    for (n = 0; n < total; n++) {
        payload[n] = 'a' + n % 26;
    }

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    n = 0;

    for (off = 0; off < total; off += chunk) {
        chunk = 777 + off % 5000;
        if (chunk > total - off) {
            chunk = total - off;
        }

        n += mkframe_ex(buf + n,
                        (off ? NGX_WS_OP_CONT : NGX_WS_OP_TEXT)
                        | (off + chunk == total ? FIN : 0),
                        payload + off, chunk, 1);
    }

    rc = run(&r, &p, buf, n, total, &need);
    UNIT_EQ(rc, n);
    UNIT_EQ(r.n, 1);
    UNIT_EQ(r.msgs[0].len, total);
    UNIT_CHECK(memcmp(r.msgs[0].data, payload, total) == 0);
    UNIT_EQ(r.live, 0);

    rec_clear(&r);
    free(buf);
    free(payload);
}


static void
test_utf8_fragments(void)
{
    u_char           buf[256];
    size_t           n, need;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    /* U+20AC split over three fragments, U+1F600 over two */

    n = mkframe(buf, NGX_WS_OP_TEXT, "a\xe2");
    n += mkframe(buf + n, NGX_WS_OP_CONT, "\x82");
    n += mkframe(buf + n, NGX_WS_OP_CONT, "\xac" "b\xf0\x9f");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "\x98\x80");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    UNIT_EQ(r.n, 1);
    UNIT_MEM(r.msgs[0].data, r.msgs[0].len,
             "a\xe2\x82\xac" "b\xf0\x9f\x98\x80");

    /* definitely invalid in a middle fragment: at once, before the end */

    n = mkframe(buf, NGX_WS_OP_TEXT, "a\xe2");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    n = mkframe(buf, NGX_WS_OP_CONT, "\x28");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), -NGX_WS_CLOSE_INVALID_DATA);
    ngx_ws_parser_reset(&p, &rec_ops, &r);

    n = mkframe(buf, NGX_WS_OP_TEXT, "ok\xed\xa0\x80");   /* surrogate */
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), -NGX_WS_CLOSE_INVALID_DATA);
    ngx_ws_parser_reset(&p, &rec_ops, &r);

    /* the final fragment ends inside a code point */

    n = mkframe(buf, NGX_WS_OP_TEXT, "a");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "\xf0\x9f\x98");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), -NGX_WS_CLOSE_INVALID_DATA);
    ngx_ws_parser_reset(&p, &rec_ops, &r);

    /* binary fragments are not UTF-8 */

    n = mkframe(buf, NGX_WS_OP_BINARY, "\xff");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "\xc0\x80");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);

    UNIT_EQ(r.live, 0);
    rec_clear(&r);
}


static void
test_errors(void)
{
    u_char    buf[256];
    size_t    n;
    unsigned  op;

    /* unmasked: known from the first two bytes */

    n = mkframe_ex(buf, FIN | NGX_WS_OP_TEXT, "abc", 3, 0);
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    UNIT_EQ(run_error(buf, 2, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    /* reserved bits */

    n = mkframe(buf, FIN | RSV1 | NGX_WS_OP_TEXT, "a");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    n = mkframe(buf, FIN | RSV2 | NGX_WS_OP_BINARY, "a");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    n = mkframe(buf, FIN | RSV3 | NGX_WS_OP_PING, "a");
    UNIT_EQ(run_error(buf, 2, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    /* unknown opcodes */

    for (op = 3; op <= 0xf; op++) {
        if (op >= 8 && op <= 0xa) {
            continue;
        }

        n = mkframe(buf, FIN | op, "");
        UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    }

    /* control frames: fragmented, too long */

    n = mkframe(buf, NGX_WS_OP_PING, "x");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    n = mkframe(buf, NGX_WS_OP_CLOSE, "");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    n = mkframe_ex(buf, FIN | NGX_WS_OP_PONG, NULL, 126, 1);
    UNIT_EQ(run_error(buf, 2, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    n = mkframe_ex(buf, FIN | NGX_WS_OP_PING, NULL, 125, 1);
    UNIT_EQ(run_error(buf, n, 1000), n);

    /* control frames do not count against max_payload */

    UNIT_EQ(run_error(buf, n, 10), n);

    /* continuation without a message, data frame inside a message */

    n = mkframe(buf, FIN | NGX_WS_OP_CONT, "x");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    n = mkframe(buf, NGX_WS_OP_CONT, "x");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    n = mkframe(buf, NGX_WS_OP_TEXT, "x");
    n += mkframe(buf + n, FIN | NGX_WS_OP_TEXT, "y");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    n = mkframe(buf, NGX_WS_OP_BINARY, "x");
    n += mkframe(buf + n, NGX_WS_OP_BINARY, "y");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    n = mkframe(buf, NGX_WS_OP_TEXT, "x");
    n += mkframe(buf + n, FIN | NGX_WS_OP_BINARY, "y");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    /* a 64-bit length with the top bit set, from the header alone */

    buf[0] = FIN | NGX_WS_OP_BINARY;
    buf[1] = 0x80 | 127;
    buf[2] = 0x80;
    memset(buf + 3, 0, 7);
    UNIT_EQ(run_error(buf, 10, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
    UNIT_EQ(run_error(buf, 9, 1000), 0);          /* not known yet */

    /* huge but legal lengths are too big, from the header alone */

    buf[2] = 0x7f;
    memset(buf + 3, 0xff, 7);
    UNIT_EQ(run_error(buf, 10, 1000000), -NGX_WS_CLOSE_TOO_BIG);

    /* too big before the mask key arrives */

    n = mkframe_ex(buf, FIN | NGX_WS_OP_TEXT, NULL, 1001, 1);
    UNIT_EQ(run_error(buf, 4, 1000), -NGX_WS_CLOSE_TOO_BIG);
    UNIT_EQ(run_error(buf, 4, 1001), 0);

    /* invalid UTF-8 in a text frame */

    n = mkframe(buf, FIN | NGX_WS_OP_TEXT, "abc\xff");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_INVALID_DATA);
    n = mkframe(buf, FIN | NGX_WS_OP_TEXT, "abc\xe2\x82");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_INVALID_DATA);
    n = mkframe(buf, FIN | NGX_WS_OP_TEXT, "\xc0\xaf");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_INVALID_DATA);

    /* errors after good frames still win */

    n = mkframe(buf, FIN | NGX_WS_OP_TEXT, "ok");
    n += mkframe_ex(buf + n, FIN | NGX_WS_OP_TEXT, "x", 1, 0);
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
}


static void
test_close(void)
{
    static const unsigned  good[] = { 1000, 1001, 1002, 1003, 1007, 1008,
                                      1009, 1010, 1011, 3000, 3999, 4000,
                                      4999 };
    static const unsigned  bad[] = { 0, 1, 999, 1004, 1005, 1006, 1012,
                                     1013, 1014, 1015, 1016, 1100, 2000,
                                     2999, 5000, 65535 };

    u_char           buf[256], pl[130];
    size_t           n, i, need;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    /* empty close */

    n = mkframe(buf, FIN | NGX_WS_OP_CLOSE, "");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    UNIT_EQ(r.msgs[0].opcode, NGX_WS_OP_CLOSE);
    UNIT_EQ(r.msgs[0].len, 0);
    UNIT_EQ(ngx_ws_close_code(buf, 0), NGX_WS_CLOSE_NO_STATUS);

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        pl[0] = (u_char) (good[i] >> 8);
        pl[1] = (u_char) good[i];
        memcpy(pl + 2, "reason \xc3\xa9", 9);
        n = mkframe_ex(buf, FIN | NGX_WS_OP_CLOSE, pl, 11, 1);
        UNIT_EQ(run_error(buf, n, 1000), n);
        UNIT_EQ(ngx_ws_close_code(buf + 6, 11), good[i]);
        UNIT_CHECK(ngx_ws_close_code_valid(good[i]));
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pl[0] = (u_char) (bad[i] >> 8);
        pl[1] = (u_char) bad[i];
        n = mkframe_ex(buf, FIN | NGX_WS_OP_CLOSE, pl, 2, 1);
        UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);
        UNIT_CHECK(!ngx_ws_close_code_valid(bad[i]));
    }

    /* one byte of payload: refused from the header */

    n = mkframe(buf, FIN | NGX_WS_OP_CLOSE, "\x03");
    UNIT_EQ(run_error(buf, 2, 1000), -NGX_WS_CLOSE_PROTOCOL_ERROR);

    /* invalid UTF-8 in the reason */

    n = mkframe(buf, FIN | NGX_WS_OP_CLOSE, "\x03\xe8\xce\xba\xe1");
    UNIT_EQ(run_error(buf, n, 1000), -NGX_WS_CLOSE_INVALID_DATA);

    /* 125 bytes is the most */

    pl[0] = 0x03;
    pl[1] = 0xe8;
    memset(pl + 2, 'x', 123);
    n = mkframe_ex(buf, FIN | NGX_WS_OP_CLOSE, pl, 125, 1);
    UNIT_EQ(run_error(buf, n, 1000), n);

    UNIT_EQ(r.live, 0);
    rec_clear(&r);
}


static void
test_stop(void)
{
    u_char           buf[256];
    size_t           n, need;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    n = mkframe(buf, FIN | NGX_WS_OP_TEXT, "one");
    n += mkframe(buf + n, FIN | NGX_WS_OP_TEXT, "two");
    n += mkframe(buf + n, FIN | NGX_WS_OP_TEXT, "three");

    r.stop_at = 2;
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), NGX_WS_PARSE_STOPPED);
    UNIT_EQ(r.n, 2);

    rec_clear(&r);

    /* stopping on a reassembled message, then reset frees its buffer */

    memset(&p, 0, sizeof(ngx_ws_parser_t));
    n = mkframe(buf, NGX_WS_OP_TEXT, "on");
    n += mkframe(buf + n, FIN | NGX_WS_OP_CONT, "e");
    n += mkframe(buf + n, FIN | NGX_WS_OP_TEXT, "two");

    r.stop_at = 1;
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), NGX_WS_PARSE_STOPPED);
    UNIT_EQ(r.n, 1);
    UNIT_MEM(r.msgs[0].data, r.msgs[0].len, "one");
    ngx_ws_parser_reset(&p, &rec_ops, &r);
    UNIT_EQ(r.live, 0);

    rec_clear(&r);

    /* stopping on a control frame */

    memset(&p, 0, sizeof(ngx_ws_parser_t));
    n = mkframe(buf, FIN | NGX_WS_OP_CLOSE, "\x03\xe8");
    n += mkframe(buf + n, FIN | NGX_WS_OP_TEXT, "after");
    r.stop_at = 1;
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), NGX_WS_PARSE_STOPPED);
    UNIT_EQ(r.n, 1);

    rec_clear(&r);
}


static void
test_alloc_failure(void)
{
    u_char           buf[256];
    size_t           n, need;
    rec_t            r;
    ngx_ws_parser_t  p;

    memset(&r, 0, sizeof(rec_t));
    memset(&p, 0, sizeof(ngx_ws_parser_t));

    r.fail_alloc = 1;
    n = mkframe(buf, NGX_WS_OP_TEXT, "abc");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), -NGX_WS_CLOSE_INTERNAL);
    ngx_ws_parser_reset(&p, &rec_ops, &r);
    UNIT_EQ(r.live, 0);

    /* an empty first fragment needs no memory yet */

    n = mkframe(buf, NGX_WS_OP_TEXT, "");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), n);
    n = mkframe(buf, NGX_WS_OP_CONT, "x");
    UNIT_EQ(run(&r, &p, buf, n, 1000, &need), -NGX_WS_CLOSE_INTERNAL);
    ngx_ws_parser_reset(&p, &rec_ops, &r);

    rec_clear(&r);
}


static void
test_header_write(void)
{
    u_char  buf[16], *e;

    UNIT_EQ(ngx_ws_frame_header_len(0), 2);
    UNIT_EQ(ngx_ws_frame_header_len(125), 2);
    UNIT_EQ(ngx_ws_frame_header_len(126), 4);
    UNIT_EQ(ngx_ws_frame_header_len(65535), 4);
    UNIT_EQ(ngx_ws_frame_header_len(65536), 10);
    UNIT_EQ(ngx_ws_frame_header_len(0xffffffffffULL), 10);

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_TEXT, 19);
    UNIT_MEM(buf, e - buf, "\x81\x13");       /* 42["hello","world"] */

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_TEXT, 0x6b);
    UNIT_MEM(buf, e - buf, "\x81\x6b");       /* the open packet */

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_BINARY, 125);
    UNIT_MEM(buf, e - buf, "\x82\x7d");

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_BINARY, 126);
    UNIT_MEM(buf, e - buf, "\x82\x7e\x00\x7e");

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_TEXT, 65535);
    UNIT_MEM(buf, e - buf, "\x81\x7e\xff\xff");

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_TEXT, 65536);
    UNIT_MEM(buf, e - buf, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00");

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_PONG, 0);
    UNIT_MEM(buf, e - buf, "\x8a\x00");

    e = ngx_ws_frame_header_write(buf, NGX_WS_OP_CLOSE, 0x0102030405ULL);
    UNIT_MEM(buf, e - buf, "\x88\x7f\x00\x00\x00\x01\x02\x03\x04\x05");

    UNIT_EQ(ngx_ws_close_frame_write(buf, 1000), 4);
    UNIT_MEM(buf, 4, "\x88\x02\x03\xe8");
    UNIT_EQ(ngx_ws_close_frame_write(buf, 1009), 4);
    UNIT_MEM(buf, 4, "\x88\x02\x03\xf1");
    UNIT_EQ(ngx_ws_close_frame_write(buf, 0), 2);
    UNIT_MEM(buf, 2, "\x88\x00");
}


/* a plain reference: decode every sequence by the RFC 3629 rules */

static int
ref_utf8_valid(const u_char *s, size_t len)
{
    size_t    i, n, k;
    uint32_t  cp;

    for (i = 0; i < len; i += n) {
        if (s[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((s[i] & 0xe0) == 0xc0) {
            n = 2;
            cp = s[i] & 0x1f;

        } else if ((s[i] & 0xf0) == 0xe0) {
            n = 3;
            cp = s[i] & 0x0f;

        } else if ((s[i] & 0xf8) == 0xf0) {
            n = 4;
            cp = s[i] & 0x07;

        } else {
            return 0;
        }

        if (i + n > len) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (s[i + k] & 0x3f);
        }

        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
            || (n == 4 && cp < 0x10000) || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}


static int
utf8_valid(const u_char *s, size_t len)
{
    return ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, s, len)
           == NGX_WS_UTF8_ACCEPT;
}


static size_t
utf8_encode(u_char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (u_char) cp;
        return 1;
    }

    if (cp < 0x800) {
        d[0] = (u_char) (0xc0 | (cp >> 6));
        d[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        d[0] = (u_char) (0xe0 | (cp >> 12));
        d[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        d[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }

    d[0] = (u_char) (0xf0 | (cp >> 18));
    d[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    d[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    d[3] = (u_char) (0x80 | (cp & 0x3f));
    return 4;
}


static void
test_utf8(void)
{
    static const struct {
        const char  *s;
        int          valid;
    } cases[] = {
        { "", 1 },
        { "plain ascii", 1 },
        { "\x7f", 1 },
        { "\xc2\x80", 1 },                  /* U+0080 */
        { "\xdf\xbf", 1 },                  /* U+07FF */
        { "\xe0\xa0\x80", 1 },              /* U+0800 */
        { "\xed\x9f\xbf", 1 },              /* U+D7FF */
        { "\xee\x80\x80", 1 },              /* U+E000 */
        { "\xef\xbf\xbf", 1 },              /* U+FFFF */
        { "\xf0\x90\x80\x80", 1 },          /* U+10000 */
        { "\xf4\x8f\xbf\xbf", 1 },          /* U+10FFFF */
        { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1 },
        { "\x80", 0 },
        { "\xbf", 0 },
        { "\xc0\x80", 0 },                  /* overlong NUL */
        { "\xc1\xbf", 0 },
        { "\xe0\x80\x80", 0 },
        { "\xe0\x9f\xbf", 0 },
        { "\xf0\x80\x80\x80", 0 },
        { "\xf0\x8f\xbf\xbf", 0 },
        { "\xed\xa0\x80", 0 },              /* U+D800 */
        { "\xed\xbf\xbf", 0 },              /* U+DFFF */
        { "\xed\xa0\x80\xed\xb0\x80", 0 },  /* CESU pair */
        { "\xf4\x90\x80\x80", 0 },          /* U+110000 */
        { "\xf5\x80\x80\x80", 0 },
        { "\xf8\x88\x80\x80\x80", 0 },
        { "\xfe", 0 },
        { "\xff", 0 },
        { "\xc2", 0 },                      /* truncated */
        { "\xe2\x82", 0 },
        { "\xf0\x9f\x98", 0 },
        { "\xc2\x41", 0 },
        { "\xe2\x28\xa1", 0 },
    };

    u_char    buf[8];
    size_t    i, j, n, split;
    uint32_t  cp, st;
    unsigned  seed, mismatches;
    u_char    rnd[12];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = strlen(cases[i].s);

        if (!UNIT_EQ(utf8_valid((const u_char *) cases[i].s, n),
                     cases[i].valid))
        {
            printf("  case %zu\n", i);
        }

        /* any split gives the same answer */

        for (split = 0; split <= n; split++) {
            st = ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT,
                                      (const u_char *) cases[i].s, split);
            st = ngx_ws_utf8_validate(st,
                                      (const u_char *) cases[i].s + split,
                                      n - split);
            UNIT_EQ(st == NGX_WS_UTF8_ACCEPT, cases[i].valid);
        }
    }

    /* truncated is neither accepted nor rejected: it may continue */

    st = ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, (const u_char *) "\xf0", 1);
    UNIT_CHECK(st != NGX_WS_UTF8_ACCEPT && st != NGX_WS_UTF8_REJECT);

    /* REJECT is sticky */

    st = ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, (const u_char *) "\xff", 1);
    UNIT_EQ(st, NGX_WS_UTF8_REJECT);
    UNIT_EQ(ngx_ws_utf8_validate(st, (const u_char *) "a", 1),
            NGX_WS_UTF8_REJECT);

    /* every code point */

    mismatches = 0;

    for (cp = 0; cp <= 0x10ffff; cp++) {
        n = utf8_encode(buf, cp);

        if (utf8_valid(buf, n) != !(cp >= 0xd800 && cp <= 0xdfff)) {
            mismatches++;
        }
    }

    UNIT_EQ(mismatches, 0);

    /* every 2-byte string, and random strings, against the reference */

    mismatches = 0;

    for (i = 0; i < 65536; i++) {
        buf[0] = (u_char) (i >> 8);
        buf[1] = (u_char) i;

        if (utf8_valid(buf, 2) != ref_utf8_valid(buf, 2)) {
            mismatches++;
        }
    }

    seed = 12345;

    for (i = 0; i < 2000000; i++) {
        n = 1 + i % sizeof(rnd);

        for (j = 0; j < n; j++) {
            seed = seed * 1103515245 + 12345;
            /* bias towards the interesting high bytes */
            rnd[j] = (u_char) ((seed >> 16) | ((seed >> 8) & 0x80));
        }

        if (utf8_valid(rnd, n) != ref_utf8_valid(rnd, n)) {
            mismatches++;
        }
    }

    UNIT_EQ(mismatches, 0);
}


int
main(void)
{
    test_rfc_example();
    test_lengths();
    test_several_frames();
    test_fragments();
    test_pause();
    test_fragments_big();
    test_utf8_fragments();
    test_errors();
    test_close();
    test_stop();
    test_alloc_failure();
    test_header_write();
    test_utf8();

    return UNIT_DONE();
}
