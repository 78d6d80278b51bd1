
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "unit.h"
#include "ngx_ws_sio.h"


static u_char  buf[4096];


static int
decode(const char *s, ngx_ws_sio_packet_t *pkt)
{
    size_t  len;

    len = strlen(s);
    memcpy(buf, s, len);
    memset(pkt, 0x5a, sizeof(ngx_ws_sio_packet_t));

    return ngx_ws_sio_decode(buf, len, pkt);
}


/* decodes s, which must be valid, and checks every field */

static void
check(const char *s, unsigned type, unsigned attachments, const char *nsp,
    int64_t ack_id, const char *data, int line)
{
    ngx_ws_sio_packet_t  pkt;

    if (!UNIT_EQ(decode(s, &pkt), 0)) {
        printf("  line %d: \"%s\"\n", line, s);
        return;
    }

    if (!UNIT_EQ(pkt.type, type)
        || !UNIT_EQ(pkt.attachments, attachments)
        || !UNIT_CHECK(pkt.nsp_len == strlen(nsp)
                       && memcmp(pkt.nsp, nsp, pkt.nsp_len) == 0)
        || !UNIT_EQ(pkt.ack_id, ack_id)
        || !UNIT_CHECK(data == NULL
                       ? pkt.data == NULL && pkt.data_len == 0
                       : pkt.data != NULL && pkt.data_len == strlen(data)
                         && memcmp(pkt.data, data, pkt.data_len) == 0))
    {
        printf("  line %d: \"%s\"\n", line, s);
    }
}


#define OK(s, type, att, nsp, ack, data)                                      \
    check(s, type, att, nsp, ack, data, __LINE__)

#define BAD(s)                                                                \
    do {                                                                      \
        ngx_ws_sio_packet_t  pkt_;                                            \
        if (!UNIT_EQ(decode(s, &pkt_), -1)                                    \
            || !UNIT_CHECK(pkt_.error != NULL))                               \
        {                                                                     \
            printf("  \"%s\" decoded\n", s);                                  \
        }                                                                     \
    } while (0)


static void
test_decode_valid(void)
{
    /* socketio-wire.md 2.1 */

    OK("0", 0, 0, "/", -1, NULL);
    OK("0{\"token\":\"abc\"}", 0, 0, "/", -1, "{\"token\":\"abc\"}");
    OK("0/chat,", 0, 0, "/chat", -1, NULL);
    OK("0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", 0, 0, "/admin", -1,
       "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    OK("4{\"message\":\"Not authorized\"}", 4, 0, "/", -1,
       "{\"message\":\"Not authorized\"}");
    OK("4/chat,{\"message\":\"not authorized\",\"data\":{\"content\":\"x\"}}",
       4, 0, "/chat", -1,
       "{\"message\":\"not authorized\",\"data\":{\"content\":\"x\"}}");
    OK("4\"just a string\"", 4, 0, "/", -1, "\"just a string\"");
    OK("2[\"foo\"]", 2, 0, "/", -1, "[\"foo\"]");
    OK("2/admin,[\"bar\"]", 2, 0, "/admin", -1, "[\"bar\"]");
    OK("212[\"foo\"]", 2, 0, "/", 12, "[\"foo\"]");
    OK("3/admin,13[\"bar\"]", 3, 0, "/admin", 13, "[\"bar\"]");
    OK("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", 5, 1, "/", -1,
       "[\"baz\",{\"_placeholder\":true,\"num\":0}]");
    OK("52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
       "{\"_placeholder\":true,\"num\":1}]", 5, 2, "/admin", -1,
       "[\"baz\",{\"_placeholder\":true,\"num\":0},"
       "{\"_placeholder\":true,\"num\":1}]");
    OK("61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", 6, 1, "/", 15,
       "[\"bar\",{\"_placeholder\":true,\"num\":0}]");
    OK("1", 1, 0, "/", -1, NULL);
    OK("1/admin,", 1, 0, "/admin", -1, NULL);
    OK("20[\"hello\",\"x\"]", 2, 0, "/", 0, "[\"hello\",\"x\"]");
    OK("30[{\"ok\":true}]", 3, 0, "/", 0, "[{\"ok\":true}]");

    /* the v5 test suite's packets */

    OK("40", 4, 0, "/", 0, NULL);           /* "440": CONNECT_ERROR, id 0 */
    OK("0/custom", 0, 0, "/custom", -1, NULL);
    OK("1/custom", 1, 0, "/custom", -1, NULL);
    OK("0/random", 0, 0, "/random", -1, NULL);
    OK("2[\"message\",1,\"2\",{\"3\":[true]}]", 2, 0, "/", -1,
       "[\"message\",1,\"2\",{\"3\":[true]}]");
    OK("52-[\"message\",{\"_placeholder\":true,\"num\":0},"
       "{\"_placeholder\":true,\"num\":1}]", 5, 2, "/", -1,
       "[\"message\",{\"_placeholder\":true,\"num\":0},"
       "{\"_placeholder\":true,\"num\":1}]");
    OK("2456[\"message-with-ack\",1,\"2\",{\"3\":[false]}]", 2, 0, "/", 456,
       "[\"message-with-ack\",1,\"2\",{\"3\":[false]}]");
    OK("52-789[\"message-with-ack\",{\"_placeholder\":true,\"num\":0}]",
       5, 2, "/", 789,
       "[\"message-with-ack\",{\"_placeholder\":true,\"num\":0}]");

    /* no payload at all is fine for every type */

    OK("2", 2, 0, "/", -1, NULL);
    OK("2/chat,", 2, 0, "/chat", -1, NULL);
    OK("212", 2, 0, "/", 12, NULL);
    OK("3/x,5", 3, 0, "/x", 5, NULL);
    OK("3", 3, 0, "/", -1, NULL);
    OK("4", 4, 0, "/", -1, NULL);
    OK("50-", 5, 0, "/", -1, NULL);
    OK("610-/a,7", 6, 10, "/a", 7, NULL);

    /* event names: numbers, non-reserved strings, escapes */

    OK("2[1]", 2, 0, "/", -1, "[1]");
    OK("2[-1.5e3,2]", 2, 0, "/", -1, "[-1.5e3,2]");
    OK("2[\"connected\"]", 2, 0, "/", -1, "[\"connected\"]");
    /* not a reserved name: socket.io compares the whole string */
    OK("2[\"connect\\u0000\"]", 2, 0, "/", -1, "[\"connect\\u0000\"]");
    OK("2[\"Connect\"]", 2, 0, "/", -1, "[\"Connect\"]");
    OK("2[\"\"]", 2, 0, "/", -1, "[\"\"]");
    OK("2 [ \"a\" ] ", 2, 0, "/", -1, " [ \"a\" ] ");
    OK("3[]", 3, 0, "/", -1, "[]");
    OK("0{}", 0, 0, "/", -1, "{}");
    OK("01", 0, 0, "/", 1, NULL);
    OK("41", 4, 0, "/", 1, NULL);
    OK("600-", 6, 0, "/", -1, NULL);
    OK("0\t{\"a\":[1,{\"b\":null}]}\n", 0, 0, "/", -1,
       "\t{\"a\":[1,{\"b\":null}]}\n");

    /* the namespace runs to the first comma, digits and all */

    OK("2/a1[b,[\"x\"]", 2, 0, "/a1[b", -1, "[\"x\"]");
    OK("2/", 2, 0, "/", -1, NULL);
    OK("2/,", 2, 0, "/", -1, NULL);
    OK("2/é,[\"x\"]", 2, 0, "/é", -1, "[\"x\"]");

    /* the largest ack id, 15 digits */

    OK("2999999999999999[\"x\"]", 2, 0, "/", 999999999999999LL, "[\"x\"]");
}


static void
test_decode_malformed(void)
{
    /* the v5 test suite's invalid packets */

    BAD("abc");
    BAD("2{}");
    BAD("2abc[\"message-with-ack\",1,\"2\",{\"3\":[false]}]");

    /* type */

    BAD("");
    BAD("7");
    BAD("9[\"x\"]");
    BAD("a");
    BAD(" 2[\"x\"]");
    BAD("-1");

    /* attachments */

    BAD("5");
    BAD("5[\"x\"]");
    BAD("51[\"x\"]");
    BAD("5-[\"x\"]");
    BAD("511-[\"x\"]");
    BAD("599999999999999999999-[\"x\"]");
    BAD("5a-[\"x\"]");
    BAD("6");
    BAD("6-");

    /* payloads that are not JSON */

    BAD("2[\"x\"");
    BAD("2[\"x\"]]");
    BAD("2[\"x\"] x");
    BAD("2/chat,abc");
    BAD("2,[\"x\"]");
    BAD("2[\"x\",]");
    BAD("2['x']");
    BAD("0{a:1}");
    BAD("2[01]");
    BAD("2[\"\x01\"]");
    BAD("2[\"\xff\"]");
    BAD("2 ");

    /* payloads of the wrong shape */

    BAD("0[]");
    BAD("0\"x\"");
    BAD("0null");
    BAD("1{}");
    BAD("1[]");
    BAD("1/chat,{}");
    BAD("1null");
    BAD("2[]");
    BAD("2[ ]");
    BAD("2\"x\"");
    BAD("2[null]");
    BAD("2[true]");
    BAD("2[[\"x\"]]");
    BAD("2[{\"x\":1}]");
    BAD("3{}");
    BAD("3\"x\"");
    BAD("4[]");
    BAD("4true");
    BAD("5-{}");
    BAD("51-{}");
    BAD("61-{}");
    BAD("51-[]");

    /* reserved event names, also when escaped */

    BAD("2[\"connect\"]");
    BAD("2[\"connect_error\"]");
    BAD("2[\"disconnect\",1]");
    BAD("2[\"disconnecting\"]");
    BAD("2[\"newListener\"]");
    BAD("2[\"removeListener\"]");
    BAD("2/chat,5[\"connect\"]");
    BAD("51-[\"disconnect\",{\"_placeholder\":true,\"num\":0}]");
    BAD("2[\"\\u0063onnect\"]");
    BAD("2[\"connect\\u005ferror\"]");

    /* ack ids over 15 digits */

    BAD("21234567890123456[\"x\"]");
    BAD("21234567890123456");
}


static void
test_header(void)
{
    u_char  out[128], *e;
    size_t  len;

    static const struct {
        unsigned     type;
        const char  *nsp;
        unsigned     att;
        int64_t      ack;
        const char  *expect;
    } v[] = {
        { 2, "/", 0, -1, "2" },
        { 2, "", 0, -1, "2" },
        { 2, "/notifications", 0, -1, "2/notifications," },
        { 0, "/admin", 0, -1, "0/admin," },
        { 4, "/random", 0, -1, "4/random," },
        { 1, "/chat", 0, -1, "1/chat," },
        { 3, "/", 0, 456, "3456" },
        { 3, "/admin", 0, 13, "3/admin,13" },
        { 5, "/", 1, -1, "51-" },
        { 5, "/admin", 2, -1, "52-/admin," },
        { 6, "/", 2, 789, "62-789" },
        { 6, "/", 1, 15, "61-15" },
        { 5, "/", 10, 0, "510-0" },
        { 2, "/x", 3, 0, "2/x,0" },          /* no attachments on EVENT */
        { 3, "/", 0, 999999999999999LL, "3999999999999999" },
    };

    size_t  i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        len = ngx_ws_sio_header_len(v[i].type, strlen(v[i].nsp), v[i].att,
                                    v[i].ack);
        e = ngx_ws_sio_header_write(out, v[i].type,
                                    (const u_char *) v[i].nsp,
                                    strlen(v[i].nsp), v[i].att, v[i].ack);

        if (!UNIT_EQ(len, e - out)
            || !UNIT_CHECK(len == strlen(v[i].expect)
                           && memcmp(out, v[i].expect, len) == 0))
        {
            printf("  \"%.*s\" != \"%s\"\n", (int) (e - out), out,
                   v[i].expect);
        }
    }

    /* what the push endpoint sends, socketio-wire.md 1.5 */

    e = ngx_ws_sio_header_write(out, NGX_WS_SIO_EVENT,
                                (const u_char *) "/notifications", 14, 0, -1);
    memcpy(e, "[\"notification\",{\"id\":7}]", 25);
    e += 25;
    UNIT_MEM(out, e - out, "2/notifications,[\"notification\",{\"id\":7}]");
}


static void
test_round_trip(void)
{
    u_char               out[256], *e;
    ngx_ws_sio_packet_t  pkt;
    size_t               i;
    unsigned             type, att;
    int64_t              ack;

    static const int64_t  acks[] = { -1, 0, 3, 24, 171, 999999999999999LL };

    /* header + a fitting payload decodes to the same fields */

    for (type = 0; type <= 6; type++) {
        for (att = 0; att <= 10; att += 5) {
            for (i = 0; i < sizeof(acks) / sizeof(acks[0]); i++) {
                ack = acks[i];
                e = ngx_ws_sio_header_write(out, type,
                                            (const u_char *) "/n", 2, att,
                                            ack);

                if (type == 2 || type == 5) {
                    memcpy(e, "[\"e\"]", 5);
                    e += 5;
                }

                if (!UNIT_EQ(ngx_ws_sio_decode(out, e - out, &pkt), 0)) {
                    continue;
                }

                UNIT_EQ(pkt.type, type);
                UNIT_EQ(pkt.attachments, (type == 5 || type == 6) ? att : 0);
                UNIT_EQ(pkt.ack_id, ack);
                UNIT_MEM(pkt.nsp, pkt.nsp_len, "/n");
            }
        }
    }
}


int
main(void)
{
    test_decode_valid();
    test_decode_malformed();
    test_header();
    test_round_trip();

    return UNIT_DONE();
}
