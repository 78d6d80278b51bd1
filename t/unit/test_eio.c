
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "unit.h"
#include "ngx_ws_eio.h"


/* decodes a copy of the text frame s */

static int
decode(const char *s, ngx_ws_eio_packet_t *pkt, u_char *buf)
{
    size_t  len;

    len = strlen(s);
    memcpy(buf, s, len);

    return ngx_ws_eio_decode(buf, len, 0, pkt);
}


static void
test_decode(void)
{
    u_char               buf[256];
    unsigned             t;
    ngx_ws_eio_packet_t  pkt;

    /* every packet type, with and without data */

    for (t = '0'; t <= '6'; t++) {
        buf[0] = (u_char) t;
        memset(&pkt, 0xaa, sizeof(pkt));
        UNIT_EQ(ngx_ws_eio_decode(buf, 1, 0, &pkt), 0);
        UNIT_EQ(pkt.type, t);
        UNIT_EQ(pkt.binary, 0);
        UNIT_EQ(pkt.len, 0);
        UNIT_CHECK(pkt.data == buf + 1);
    }

    UNIT_EQ(decode("4hello", &pkt, buf), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_MESSAGE);
    UNIT_EQ(pkt.binary, 0);
    UNIT_MEM(pkt.data, pkt.len, "hello");
    UNIT_CHECK(pkt.data == buf + 1);

    UNIT_EQ(decode("42[\"hello\",\"world\"]", &pkt, buf), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_MESSAGE);
    UNIT_MEM(pkt.data, pkt.len, "2[\"hello\",\"world\"]");

    UNIT_EQ(decode("3", &pkt, buf), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_PONG);

    UNIT_EQ(decode("2probe", &pkt, buf), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_PING);
    UNIT_MEM(pkt.data, pkt.len, "probe");

    UNIT_EQ(decode("1", &pkt, buf), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_CLOSE);

    /* "b<base64>" is a binary message, decoded in place */

    UNIT_EQ(decode("bAQIDBA==", &pkt, buf), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_MESSAGE);
    UNIT_EQ(pkt.binary, 1);
    UNIT_MEM(pkt.data, pkt.len, "\x01\x02\x03\x04");
    UNIT_CHECK(pkt.data == buf + 1);

    UNIT_EQ(decode("bAQID", &pkt, buf), 0);
    UNIT_MEM(pkt.data, pkt.len, "\x01\x02\x03");

    UNIT_EQ(decode("b", &pkt, buf), 0);
    UNIT_EQ(pkt.binary, 1);
    UNIT_EQ(pkt.len, 0);

    /* malformed */

    UNIT_EQ(decode("", &pkt, buf), -1);
    UNIT_CHECK(pkt.error && strcmp(pkt.error, "empty packet") == 0);
    UNIT_EQ(decode("bA", &pkt, buf), -1);
    UNIT_CHECK(pkt.error && strcmp(pkt.error, "invalid base64") == 0);
    UNIT_EQ(decode("7", &pkt, buf), -1);
    UNIT_CHECK(pkt.error && strcmp(pkt.error, "unknown packet type") == 0);
    UNIT_EQ(decode("abc", &pkt, buf), -1);
    UNIT_EQ(decode("7", &pkt, buf), -1);
    UNIT_EQ(decode("9hello", &pkt, buf), -1);
    UNIT_EQ(decode("/4", &pkt, buf), -1);
    UNIT_EQ(decode(" 4x", &pkt, buf), -1);
    UNIT_EQ(decode("B4x", &pkt, buf), -1);
    UNIT_EQ(decode("b!!!!", &pkt, buf), -1);
    UNIT_EQ(decode("bAQIDB", &pkt, buf), -1);
    UNIT_EQ(decode("bAQ=D", &pkt, buf), -1);

    /* a binary frame: the whole payload, even empty or "4..." */

    memcpy(buf, "4abc", 4);
    UNIT_EQ(ngx_ws_eio_decode(buf, 4, 1, &pkt), 0);
    UNIT_EQ(pkt.type, NGX_WS_EIO_MESSAGE);
    UNIT_EQ(pkt.binary, 1);
    UNIT_CHECK(pkt.data == buf);
    UNIT_EQ(pkt.len, 4);

    UNIT_EQ(ngx_ws_eio_decode(buf, 0, 1, &pkt), 0);
    UNIT_EQ(pkt.binary, 1);
    UNIT_EQ(pkt.len, 0);
}


static void
test_open(void)
{
    u_char  buf[256], *e;
    size_t  len;

    static const char  expect[] =
        "0{\"sid\":\"eRcruc-C0nrI4n0VAAAA\",\"upgrades\":[],"
        "\"pingInterval\":25000,\"pingTimeout\":20000,"
        "\"maxPayload\":1000000}";

    len = ngx_ws_eio_open_len(20, 0, 25000, 20000, 1000000);
    UNIT_EQ(len, sizeof(expect) - 1);
    UNIT_EQ(len, 0x6b);                       /* as observed: 81 6b */

    memset(buf, 0, sizeof(buf));
    e = ngx_ws_eio_open_write(buf, (const u_char *) "eRcruc-C0nrI4n0VAAAA",
                              20, 0, 25000, 20000, 1000000);
    UNIT_MEM(buf, e - buf, expect);

    len = ngx_ws_eio_open_len(3, 0, 300, 200, 0);
    e = ngx_ws_eio_open_write(buf, (const u_char *) "abc", 3, 0, 300, 200, 0);
    UNIT_EQ((size_t) (e - buf), len);
    UNIT_MEM(buf, e - buf,
             "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":300,"
             "\"pingTimeout\":200,\"maxPayload\":0}");

    len = ngx_ws_eio_open_len(1, 0, 4294967295u, 9, (size_t) 1 << 40);
    e = ngx_ws_eio_open_write(buf, (const u_char *) "x", 1, 0, 4294967295u, 9,
                              (size_t) 1 << 40);
    UNIT_EQ((size_t) (e - buf), len);
    UNIT_MEM(buf, e - buf,
             "0{\"sid\":\"x\",\"upgrades\":[],\"pingInterval\":4294967295,"
             "\"pingTimeout\":9,\"maxPayload\":1099511627776}");

    /* a polling session's, as engine.io 6 writes it */
    len = ngx_ws_eio_open_len(20, 1, 25000, 20000, 1000000);
    e = ngx_ws_eio_open_write(buf, (const u_char *) "MlXoW6BcRsUcnJEEAAAA",
                              20, 1, 25000, 20000, 1000000);
    UNIT_EQ((size_t) (e - buf), len);
    UNIT_MEM(buf, e - buf,
             "0{\"sid\":\"MlXoW6BcRsUcnJEEAAAA\",\"upgrades\":"
             "[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,"
             "\"maxPayload\":1000000}");
}


static void
test_base64(void)
{
    static const struct {
        const char  *raw;
        const char  *b64;
    } v[] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
        { "\xfb\xff\xbf", "+/+/" },
    };

    static const char  *bad[] = {
        "Z", "Zm9vY", "Zg=", "Zg===", "Z===", "====", "=", "Zg==Zg==",
        "Zm9v\n", " Zm9v", "Zm-_", "Zm9v=", "Zm9v====", "Z=g=", "Zm\0v",
    };

    u_char   buf[512], out[512], raw[300];
    size_t   i, n, rlen, blen;
    ssize_t  d;
    unsigned seed;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        rlen = strlen(v[i].raw);
        blen = strlen(v[i].b64);

        UNIT_EQ(ngx_ws_base64_encoded_len(rlen), blen);
        n = ngx_ws_base64_encode(buf, (const u_char *) v[i].raw, rlen) - buf;
        UNIT_EQ(n, blen);
        UNIT_CHECK(memcmp(buf, v[i].b64, blen) == 0);

        d = ngx_ws_base64_decode(out, (const u_char *) v[i].b64, blen);
        UNIT_EQ(d, rlen);
        UNIT_CHECK(memcmp(out, v[i].raw, rlen) == 0);
        UNIT_CHECK(ngx_ws_base64_decoded_len(blen) >= rlen);

        /* without the padding */

        n = blen;
        while (n && v[i].b64[n - 1] == '=') {
            n--;
        }

        d = ngx_ws_base64_decode(out, (const u_char *) v[i].b64, n);
        UNIT_EQ(d, rlen);
        UNIT_CHECK(memcmp(out, v[i].raw, rlen) == 0);
        UNIT_CHECK(ngx_ws_base64_decoded_len(n) >= rlen);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = (i == sizeof(bad) / sizeof(bad[0]) - 1) ? 4 : strlen(bad[i]);

        if (!UNIT_EQ(ngx_ws_base64_decode(out, (const u_char *) bad[i], n),
                     -1))
        {
            printf("  \"%s\"\n", bad[i]);
        }
    }

    /* random round trips, decoded in place */

    seed = 7;

    for (i = 0; i < 2000; i++) {
        rlen = i % 300;

        for (n = 0; n < rlen; n++) {
            seed = seed * 1103515245 + 12345;
            raw[n] = (u_char) (seed >> 16);
        }

        blen = ngx_ws_base64_encode(buf, raw, rlen) - buf;
        UNIT_EQ(blen, ngx_ws_base64_encoded_len(rlen));

        d = ngx_ws_base64_decode(buf, buf, blen);
        if (!UNIT_EQ(d, rlen) || memcmp(buf, raw, rlen) != 0) {
            UNIT_CHECK(0);
            break;
        }
    }
}


int
main(void)
{
    test_decode();
    test_open();
    test_base64();

    return UNIT_DONE();
}
