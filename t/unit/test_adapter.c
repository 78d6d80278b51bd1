
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The Redis adapter codec against bytes written by the Node side:
 * @socket.io/redis-emitter 5.1.0 and @socket.io/redis-adapter 8.3.0 with
 * notepack.io 3.0.1 (observed, or notepack.io's encode() of the same
 * values), and the text socket.io-parser 4.2 sends the clients for them.
 */


#include "unit.h"
#include "ngx_ws_op.h"
#include "ngx_ws_sio.h"
#include "ngx_ws_adapter.h"


/* an arena freed before each case, and a budget to make alloc fail */

#define ARENA_MAX  256

static void      *arena[ARENA_MAX];
static unsigned   arena_n;
static int        arena_budget = -1;


static void *
arena_alloc(void *data, size_t size)
{
    void  *p;

    (void) data;

    if (arena_budget == 0 || arena_n == ARENA_MAX) {
        return NULL;
    }

    if (arena_budget > 0) {
        arena_budget--;
    }

    p = malloc(size ? size : 1);
    arena[arena_n++] = p;

    return p;
}


static void
arena_free(void)
{
    while (arena_n) {
        free(arena[--arena_n]);
    }
}


/* the input in heap memory of its exact size, so ASan sees over-reads */

static u_char  *input;
static size_t   input_len;


static void
set_bytes(const void *p, size_t len)
{
    arena_free();
    free(input);

    input = malloc(len ? len : 1);
    memcpy(input, p, len);
    input_len = len;
}


static void
set_hex(const char *hex)
{
    size_t         i, n;
    unsigned       b;
    static u_char  buf[65536];

    n = 0;

    for (i = 0; hex[i] && hex[i + 1]; /* void */) {
        if (hex[i] == ' ') {
            i++;
            continue;
        }

        sscanf(hex + i, "%2x", &b);
        buf[n++] = (u_char) b;
        i += 2;
    }

    set_bytes(buf, n);
}


static void
set_text(const char *s)
{
    set_bytes(s, strlen(s));
}


static const char *
decode(ngx_ws_op_t *op, ngx_ws_bytes_t *uid, unsigned *flags)
{
    return ngx_ws_adapter_decode(input, input_len, op, uid, flags,
                                 arena_alloc, NULL);
}


static const char *
request(ngx_ws_op_t *op, unsigned *type, ngx_ws_bytes_t *uid)
{
    ngx_ws_bytes_t  nsp = { (u_char *) "/chat", 5 };

    return ngx_ws_adapter_request(input, input_len, &nsp, op, type, uid,
                                  arena_alloc, NULL);
}


static const char *
to_hex(const u_char *p, size_t len)
{
    size_t       i;
    static char  buf[65536 * 2 + 1];

    for (i = 0; i < len && i < 65536; i++) {
        sprintf(buf + 2 * i, "%02x", p[i]);
    }

    buf[2 * i] = '\0';

    return buf;
}


/* decode: the packet text the clients get, or the reason it is refused */

#define PACKET(hex, text)                                                     \
    do {                                                                      \
        ngx_ws_op_t     op_;                                                  \
        ngx_ws_bytes_t  uid_;                                                 \
        const char     *r_;                                                   \
        set_hex(hex);                                                         \
        r_ = decode(&op_, &uid_, NULL);                                       \
        if (!UNIT_CHECK(r_ == NULL)) {                                        \
            printf("  %s: %s\n", hex, r_);                                    \
        } else {                                                              \
            UNIT_MEM(op_.packet.data, op_.packet.len, text);                  \
        }                                                                     \
    } while (0)

#define REFUSED(hex, reason)                                                  \
    do {                                                                      \
        ngx_ws_op_t     op_;                                                  \
        ngx_ws_bytes_t  uid_;                                                 \
        const char     *r_;                                                   \
        set_hex(hex);                                                         \
        r_ = decode(&op_, &uid_, NULL);                                       \
        if (!UNIT_CHECK(r_ != NULL && strcmp(r_, reason) == 0)) {             \
            printf("  %s: got \"%s\"\n", hex, r_ ? r_ : "(accepted)");       \
        }                                                                     \
    } while (0)

/* an emitter message (uid "emitter", no rooms) around data */

#define EMITTER(data)                                                         \
    "93 a7656d6974746572 83 a474797065 02 a464617461 " data                   \
    " a36e7370 a12f 83 a5726f6f6d73 90 a5666c616773 80 a6657863657074 90"

#define DATA(hex, text)     PACKET(EMITTER(hex), text)
#define DATA_NO(hex, why)   REFUSED(EMITTER(hex), why)


static void
test_emitter(void)
{
    ngx_ws_op_t     op;
    ngx_ws_bytes_t  uid;
    unsigned        flags;

    /* to("user:42").emit("notification", {id:7, text:"hi"}), observed */

    set_hex("93 a7656d6974746572 83 a474797065 02 a464617461 92"
            " ac6e6f74696669636174696f6e 82 a26964 07 a474657874 a26869"
            " a36e7370 ae2f6e6f74696669636174696f6e73"
            " 83 a5726f6f6d73 91 a7757365723a3432 a5666c616773 80"
            " a6657863657074 90");
    UNIT_EQ(input_len, 98);
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_EQ(op.type, NGX_WS_EMIT);
    UNIT_MEM(uid.data, uid.len, "emitter");
    UNIT_MEM(op.nsp.data, op.nsp.len, "/notifications");
    UNIT_MEM(op.packet.data, op.packet.len,
             "2/notifications,[\"notification\",{\"id\":7,\"text\":\"hi\"}]");
    UNIT_EQ(op.packet.len + 1, 54);
    UNIT_EQ(op.nrooms, 1);
    UNIT_MEM(op.rooms[0].data, op.rooms[0].len, "user:42");
    UNIT_EQ(op.nexcept, 0);
    UNIT_EQ(op.nbins, 0);
    UNIT_EQ(flags, 0);

    /* emit("hello", "world"), 63 bytes */

    set_hex("93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f"
            "726c64a36e7370a12f83a5726f6f6d7390a5666c61677380a6657863657074"
            "90");
    UNIT_EQ(input_len, 63);
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/");
    UNIT_MEM(op.packet.data, op.packet.len, "2[\"hello\",\"world\"]");

    /* of("/chat").to(["r1","r2"]).except("r3").volatile.emit(...) */

    set_hex("93a7656d697474657283a47479706502a46461746195a36d736701cb400400"
            "0000000000c3c0a36e7370a52f6368617483a5726f6f6d7392a27231a27232"
            "a5666c61677381a8766f6c6174696c65c3a665786365707491a27233");
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_MEM(op.packet.data, op.packet.len,
             "2/chat,[\"msg\",1,2.5,true,null]");
    UNIT_EQ(op.nrooms, 2);
    UNIT_MEM(op.rooms[1].data, op.rooms[1].len, "r2");
    UNIT_EQ(op.nexcept, 1);
    UNIT_MEM(op.except[0].data, op.except[0].len, "r3");
    UNIT_EQ(flags, NGX_WS_ADAPTER_VOLATILE);

    /* flags may be left out */
    UNIT_CHECK(decode(&op, &uid, NULL) == NULL);

    /* emit("bin", Buffer.from([1,2,3])) */

    set_hex("93a7656d697474657283a47479706502a46461746192a362696ec403010203"
            "a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490");
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_MEM(op.packet.data, op.packet.len,
             "51-[\"bin\",{\"_placeholder\":true,\"num\":0}]");
    UNIT_EQ(op.nbins, 1);
    UNIT_MEM(op.bins[0].data, op.bins[0].len, "\x01\x02\x03");
}


/* the Node adapter's io.of("/chat").to("room1").emit("msg", "x") */

#define NODE_CHAT                                                             \
    "93 a6384949574834 83 a474797065 02 a464617461 92 a36d7367 a178"          \
    " a36e7370 a52f63686174 83 a5726f6f6d73 91 a5726f6f6d31"                  \
    " a6657863657074 90 a5666c616773 80"


static void
test_node(void)
{
    u_char          chan[64], *out;
    size_t          out_len;
    ngx_ws_op_t     op, back;
    ngx_ws_bytes_t  uid, room, bin, uid2;

    set_hex(NODE_CHAT);
    UNIT_CHECK(decode(&op, &uid, NULL) == NULL);
    UNIT_MEM(uid.data, uid.len, "8IIWH4");
    UNIT_MEM(op.packet.data, op.packet.len, "2/chat,[\"msg\",\"x\"]");
    UNIT_EQ(op.nrooms, 1);

    /* and back: the same bytes */

    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "8IIWH4", 6, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "93a638494957483483a47479706502a46461746192a36d7367a178a36e7370"
             "a52f6368617483a5726f6f6d7391a5726f6f6d31a665786365707490a5666c"
             "61677380");

    UNIT_EQ(ngx_ws_adapter_channel_len(&op, (u_char *) "socket.io", 9), 22);
    UNIT_MEM(chan, ngx_ws_adapter_channel(chan, &op, (u_char *) "socket.io",
                                          9) - chan,
             "socket.io#/chat#room1#");

    /*
     * Node: a Date, escapes, undefined, NaN, Infinity, -0, integers past
     * 2^53 as notepack.io writes them (wrapped), a Buffer, nsp before
     * data; socket.io-parser sends its clients exactly this
     */

    set_hex("93a7656d697474657283a47479706502a36e7370a12fa46461746194a26576"
            "d7ff1d53530039481c80aa6100225c0ae280a8c3a983a16398c0cb7ff80000"
            "00000000cb7ff000000000000000cf35c9adc5dea00000cb3fb99999999999"
            "9acf0000000000000000d3ffffff0000000000a164c4026869a00183a5726f"
            "6f6d7390a5666c61677380a665786365707490");
    UNIT_CHECK(decode(&op, &uid, NULL) == NULL);
    UNIT_MEM(op.packet.data, op.packet.len,
             "51-[\"ev\",\"2000-06-15T00:00:00.123Z\",\"a\\u0000\\\"\\\\"
             "\\n\xe2\x80\xa8\xc3\xa9\",{\"c\":[null,null,null,0,"
             "3875820019684212700,0.1,0,-1099511627776],\"d\":{\"_placeho"
             "lder\":true,\"num\":0},\"\":1}]");
    UNIT_MEM(op.bins[0].data, op.bins[0].len, "hi");

    /* notepack.io's encode() of a broadcast with a Buffer: still type 2 */

    memset(&op, 0, sizeof(ngx_ws_op_t));
    op.type = NGX_WS_EMIT;
    op.nsp.data = (u_char *) "/chat";
    op.nsp.len = 5;
    op.packet.data = (u_char *) "51-/chat,[\"msg\",{\"_placeholder\":true,"
                                "\"num\":0},{\"a\":[1,-5,-200,70000,-70000,"
                                "5000000000,-5000000000,2.5,true,false,"
                                "null]}]";
    op.packet.len = strlen((char *) op.packet.data);
    bin.data = (u_char *) "\x01\x02\x03";
    bin.len = 3;
    op.bins = &bin;
    op.nbins = 1;
    room.data = (u_char *) "r1";
    room.len = 2;
    op.rooms = &room;
    op.nrooms = 1;
    uid.data = (u_char *) "r2";
    uid.len = 2;
    op.except = &uid;
    op.nexcept = 1;

    arena_free();
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "8IIWH4", 6, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "93a638494957483483a47479706502a46461746193a36d7367c40301020381"
             "a1619b01fbd1ff38ce00011170d2fffeee90cf000000012a05f200d3ffffff"
             "fed5fa0e00cb4004000000000000c3c2c0a36e7370a52f6368617483a5726f"
             "6f6d7391a27231a665786365707491a27232a5666c61677380");

    /* which decodes to the packet it came from */

    UNIT_CHECK(ngx_ws_adapter_decode(out, out_len, &back, &uid2, NULL,
                                     arena_alloc, NULL)
               == NULL);
    UNIT_MEM(back.packet.data, back.packet.len, "51-/chat,[\"msg\",{\"_pla"
             "ceholder\":true,\"num\":0},{\"a\":[1,-5,-200,70000,-70000,"
             "5000000000,-5000000000,2.5,true,false,null]}]");
    UNIT_EQ(back.nbins, 1);
    UNIT_MEM(back.bins[0].data, back.bins[0].len, "\x01\x02\x03");
    UNIT_MEM(uid2.data, uid2.len, "8IIWH4");
}


/* the push endpoint's op, published: what Node would publish */

static void
test_push(void)
{
    u_char          chan[64], *out;
    size_t          out_len;
    ngx_ws_op_t     op;
    const char     *body;

    body = "{\"nsp\":\"chat\",\"rooms\":[\"r1\",\"r1\"],\"except\":[\"r2\","
           "\"r2\",\"r3\"],\"event\":\"msg\",\"data\":[{\"$binary\":\"AQID\"},"
           " {\"a\" : [1.0, -5, -2e2, 7e4, -70000, 5000000000, -5000000000,"
           " 2.5, true, false, null]}]}";
    set_text(body);

    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "8IIWH4", 6, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);

    /* duplicates dropped, as from the adapter's Sets */

    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "93a638494957483483a47479706502a46461746193a36d7367c40301020381"
             "a1619b01fbd1ff38ce00011170d2fffeee90cf000000012a05f200d3ffffff"
             "fed5fa0e00cb4004000000000000c3c2c0a36e7370a52f6368617483a5726f"
             "6f6d7391a27231a665786365707492a27232a27233a5666c61677380");

    /* two copies of one room are one room: the room's channel */

    UNIT_MEM(chan, ngx_ws_adapter_channel(chan, &op, (u_char *) "socket.io",
                                          9) - chan,
             "socket.io#/chat#r1#");

    /* a room of its own, the namespace's channel with several */

    set_text("{\"rooms\":[\"a\",\"b\"],\"event\":\"e\"}");
    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_MEM(chan, ngx_ws_adapter_channel(chan, &op, (u_char *) "app", 3)
                   - chan,
             "app#/#");
    UNIT_EQ(ngx_ws_adapter_channel_len(&op, (u_char *) "app", 3), 6);

    /* escapes, unicode, a lone surrogate (U+FFFD as Node writes it) */

    set_text("{\"event\":\"\\u00e9v\",\"data\":[\"a\\\"\\u0000\\n\\ud83d"
             "\\ude00\",\"\\ud800x\",{\"k\\/\":-0,\"\":1e400}]}");
    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "93a17583a47479706502a46461746194a3c3a976a8612200"
             "0af09f9880a4efbfbd78"
             "82a26b2f00a0cb7ff0000000000000"
             "a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380");
}


static void
test_values(void)
{
    /* numbers as JavaScript prints them */

    DATA("9a a165 cc80 cdffff ceffffffff cfffffffffffffffff d080 d18000"
         " d280000000 d38000000000000000 ca3fc00000",
         "2[\"e\",128,65535,4294967295,18446744073709552000,-128,-32768,"
         "-2147483648,-9223372036854776000,1.5]");
    DATA("99 a165 cb3fb999999999999a cb3e7ad7f29abcaf48 cb444b1ae4d6e2ef50"
         " cb7ff8000000000000 cbfff0000000000000 cb8000000000000000"
         " cb0000000000000001 cb3eb0c6f7a0b5ed8d",
         "2[\"e\",0.1,1e-7,1e+21,null,null,0,5e-324,0.000001]");
    DATA("92 a165 ca3dcccccd", "2[\"e\",0.10000000149011612]");
    DATA("92 01 02", "2[1,2]");

    /* dates: timestamps 32, 64, 96, the legacy ms form, out of range */

    DATA("96 a165 d6ff39457980 d7ff1d53530039457980"
         " c70cff3b8b87c0ffffffffffffffff c70cff00000000fffffff184aa5080"
         " d70000000000000003e8",
         "2[\"e\",\"2000-06-13T00:00:00.000Z\",\"2000-06-13T00:00:00.123Z\","
         "\"1969-12-31T23:59:59.999Z\",\"-000001-01-01T00:00:00.000Z\","
         "\"1970-01-01T00:00:01.000Z\"]");
    DATA("95 a165 c70cff000000000000003afff44180"
         " c70cff00000000fffff82457de8000 c70cff00000000000007dba8218001"
         " c70cff3b9ac9ff0000000400000000",
         "2[\"e\",\"+010000-01-01T00:00:00.000Z\","
         "\"-271821-04-20T00:00:00.000Z\",null,"
         "\"2514-05-30T01:53:05.000Z\"]");
    DATA("92 a165 d7fffffffffc00000003",
         "2[\"e\",\"1970-01-01T00:00:04.073Z\"]");
    DATA_NO("92 a165 c70bff3b9ac9ff00000004000000",
            "a timestamp 96 of other than 12 bytes");

    /* strings: JSON.stringify()'s escapes, Node's U+FFFD */

    DATA("92 a165 ac6122625c630a09017fe280a8",
         "2[\"e\",\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xe2\x80\xa8\"]");
    DATA("92 a165 a6c3a9f09f9880", "2[\"e\",\"\xc3\xa9\xf0\x9f\x98\x80\"]");
    DATA("9a a165 a1ff a2c0af a3eda080 a4f0908080 a2e282 a4f4908080 a2e0a0"
         " a3edbfbf a1c2",
         "2[\"e\",\"\xef\xbf\xbd\",\"\xef\xbf\xbd\xef\xbf\xbd\","
         "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",\"\xf0\x90\x80\x80\","
         "\"\xef\xbf\xbd\",\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
         "\xef\xbf\xbd\",\"\xef\xbf\xbd\",\"\xef\xbf\xbd\xef\xbf\xbd"
         "\xef\xbf\xbd\",\"\xef\xbf\xbd\"]");
    DATA("92 a3e282ac d9 20 4142434445464748494a4b4c4d4e4f50"
         "4142434445464748494a4b4c4d4e4f50",
         "2[\"\xe2\x82\xac\",\"ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP\"]");

    /* maps: undefined members and "__proto__" left out, keys escaped */

    DATA("93 a165 84 a161 d40000 a162 01 a95f5f70726f746f5f5f 81 a161 01"
         " a10a c0 93 d40000 c0 d40000",
         "2[\"e\",{\"b\":1,\"\\n\":null},[null,null,null]]");
    DATA_NO("92 a165 81 01 02", "a map key is no string");
    DATA_NO("92 a165 82 a1df 01 a1e4 02", "a map key is no valid UTF-8");
    DATA("92 a165 81 a3610062 01", "2[\"e\",{\"a\\u0000b\":1}]");

    /* binary: bin, legacy ArrayBuffer, other extensions, 10 at most */

    DATA("94 a165 c400 c70300616263 d40561",
         "5" "3-[\"e\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":"
         "true,\"num\":1},[5,{\"_placeholder\":true,\"num\":2}]]");
    DATA("9b a165 c400 c400 c400 c400 c400 c400 c400 c400 c400 c400",
         "510-[\"e\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":"
         "true,\"num\":1},{\"_placeholder\":true,\"num\":2},{\"_placeholder"
         "\":true,\"num\":3},{\"_placeholder\":true,\"num\":4},{\"_placeh"
         "older\":true,\"num\":5},{\"_placeholder\":true,\"num\":6},{\"_pl"
         "aceholder\":true,\"num\":7},{\"_placeholder\":true,\"num\":8},{"
         "\"_placeholder\":true,\"num\":9}]");
    DATA_NO("9c a165 c400 c400 c400 c400 c400 c400 c400 c400 c400 c400 c400",
            "more than 10 binary attachments");

    /* a map that socket.io-parser would take for a placeholder */

    DATA("92 a165 82 ac5f706c616365686f6c646572 c3 a36e756d 00",
         "2[\"e\",{\"_placeholder\":true,\"num\":0}]");
    DATA_NO("93 a165 c400 82 ac5f706c616365686f6c646572 c3 a36e756d 00",
            "a map with _placeholder true beside binary data");

    /* a key twice: the last value in the first place, as in Node */

    DATA("93 a165 c400 82 ac5f706c616365686f6c646572 c3"
         " ac5f706c616365686f6c646572 d40000",
         "51-[\"e\",{\"_placeholder\":true,\"num\":0},{}]");
    DATA("92 a165 84 a161 01 a162 02 a161 03 a163 c400",
         "51-[\"e\",{\"a\":3,\"b\":2,\"c\":{\"_placeholder\":true,"
         "\"num\":0}}]");
    DATA("92 a165 83 a161 c400 a162 c400 a161 d40000",
         "51-[\"e\",{\"b\":{\"_placeholder\":true,\"num\":0}}]");
    DATA("92 a165 82 a0 01 a0 02", "2[\"e\",{\"\":2}]");
    DATA("92 a165 89 a161 01 a162 02 a163 03 a164 04 a165 05 a166 06 a167 07"
         " a168 08 a169 09",
         "2[\"e\",{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,"
         "\"g\":7,\"h\":8,\"i\":9}]");
    DATA("92 a165 89 a161 01 a162 02 a163 03 a164 04 a165 05 a166 06 a167"
         " 07 a168 08 a168 09",
         "2[\"e\",{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,"
         "\"g\":7,\"h\":9}]");
    DATA("92 a165 89 a0 01 a162 02 a163 03 a164 04 a165 05 a166 06 a167"
         " 07 a168 08 d900 09",
         "2[\"e\",{\"\":9,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,"
         "\"g\":7,\"h\":8}]");
    DATA_NO("93 a165 c400 83 ac5f706c616365686f6c646572 c2 a36e756d 00"
            " ac5f706c616365686f6c646572 c3",
            "a map with _placeholder true beside binary data");

    /* the event */

    DATA("91 a0", "2[\"\"]");
    DATA("91 cb4004000000000000", "2[2.5]");
    DATA_NO("91 a7636f6e6e656374", "the event name is reserved");
    DATA_NO("91 c0", "the event name is no string");
    DATA_NO("91 cb7ff8000000000000", "the event name is no string");
    DATA_NO("91 c400", "the event name is no string");
    DATA_NO("90", "the packet data is no array of an event and arguments");
    DATA_NO("a165", "the packet data is no array of an event and arguments");
}


static void
test_packet(void)
{
    ngx_ws_op_t     op;
    ngx_ws_bytes_t  uid;
    unsigned        flags;

    /* keys in any order, extra keys and elements ignored, no nsp is "/" */

    PACKET("94 c0 83 a36e7370 a52f63686174 a474797065 05 a464617461 91 a165"
           " 84 a5666c616773 81 a8766f6c6174696c65 00 a6657863657074 90"
           " a5726f6f6d73 c0 a178 01 c0",
           "2/chat,[\"e\"]");
    PACKET("93 a0 82 a474797065 02 a464617461 91 a165 80", "2[\"e\"]");
    PACKET("93 a0 83 a474797065 02 a464617461 91 a165 a36e7370 d40000 80",
           "2[\"e\"]");
    PACKET("93 a0 83 a474797065 02 a464617461 91 a165 a3696420 07 90",
           "2[\"e\"]");

    /* the last of a key counts */

    PACKET("93 a0 83 a474797065 02 a464617461 91 a165 a464617461 91 a166"
           " 80", "2[\"f\"]");

    /* a uid that is no string: empty */

    set_hex("93 01 82 a474797065 02 a464617461 91 a165 80");
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_EQ(uid.len, 0);

    /* volatile as JavaScript's if() sees it */

    set_hex("93 a0 82 a474797065 02 a464617461 91 a165"
            " 81 a5666c616773 81 a8766f6c6174696c65 a130");
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_EQ(flags, NGX_WS_ADAPTER_VOLATILE);

    set_hex("93 a0 82 a474797065 02 a464617461 91 a165"
            " 81 a5666c616773 81 a8766f6c6174696c65 a0");
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_EQ(flags, 0);

    /* rooms and except */

    set_hex("93 a0 82 a474797065 02 a464617461 91 a165"
            " 82 a5726f6f6d73 94 a161 a162 a161 a0 a6657863657074 c0");
    UNIT_CHECK(decode(&op, &uid, &flags) == NULL);
    UNIT_EQ(op.nrooms, 3);
    UNIT_MEM(op.rooms[1].data, op.rooms[1].len, "b");
    UNIT_EQ(op.rooms[2].len, 0);
    UNIT_EQ(op.nexcept, 0);

    REFUSED("93 a0 82 a474797065 02 a464617461 91 a165 81 a5726f6f6d73 a161",
            "rooms and except must be arrays of strings without NUL");
    REFUSED("93 a0 82 a474797065 02 a464617461 91 a165 81 a5726f6f6d73 91 2a",
            "rooms and except must be arrays of strings without NUL");
    REFUSED("93 a0 82 a474797065 02 a464617461 91 a165 81 a6657863657074 91"
            " a20061",
            "rooms and except must be arrays of strings without NUL");
    REFUSED("93 a0 82 a474797065 02 a464617461 91 a165 81 a6657863657074 91"
            " a1ff",
            "rooms and except must be arrays of strings without NUL");

    /* opts: an array is an object without rooms; others are refused */

    PACKET("93 a0 82 a474797065 02 a464617461 91 a165 90", "2[\"e\"]");
    REFUSED("93 a0 82 a474797065 02 a464617461 91 a165 c0",
            "the opts are no map");

    /* packets that are no broadcast event, namespaces */

    REFUSED("93 a0 82 a474797065 03 a464617461 91 a165 80",
            "the packet is no EVENT");
    REFUSED("93 a0 82 a474797065 a132 a464617461 91 a165 80",
            "the packet is no EVENT");
    REFUSED("93 a0 81 a464617461 91 a165 80", "the packet is no EVENT");
    REFUSED("93 a0 83 a474797065 02 a464617461 91 a165 a36e7370 c0 80",
            "the namespace is no valid name");
    REFUSED("93 a0 83 a474797065 02 a464617461 91 a165 a36e7370 a163 80",
            "the namespace is no valid name");
    REFUSED("93 a0 83 a474797065 02 a464617461 91 a165 a36e7370 a22f00 80",
            "the namespace is no valid name");
    REFUSED("93 a0 c0 80", "the packet is no map");
    REFUSED("92 a0 80", "not a msgpack array of uid, packet and opts");
    REFUSED("81 a0 80", "not a msgpack array of uid, packet and opts");
}


/* truncated, garbage, deep: a reason, never a crash */

static void
test_garbage(void)
{
    u_char          buf[4096];
    size_t          i, n, len;
    unsigned        seed, type;
    ngx_ws_op_t     op;
    ngx_ws_bytes_t  uid;
    const char     *full;

    full = NODE_CHAT;

    set_hex(full);
    len = input_len;
    memcpy(buf, input, len);

    for (i = 0; i < len; i++) {
        set_bytes(buf, i);
        UNIT_CHECK(decode(&op, &uid, NULL) != NULL);
    }

    /* a byte more */

    buf[len] = 0xc0;
    set_bytes(buf, len + 1);
    UNIT_CHECK(decode(&op, &uid, NULL) != NULL);

    /* counts that claim more than is there */

    REFUSED("dd ffffffff", "not valid msgpack");
    REFUSED("93 a0 df ffffffff", "not valid msgpack");
    REFUSED("93 a0 80 80 db ffffffff", "not valid msgpack");
    REFUSED("c1", "not valid msgpack");
    REFUSED("", "not valid msgpack");

    /* random bytes */

    seed = 1;

    for (i = 0; i < 20000; i++) {
        n = i % 64;

        for (len = 0; len < n; len++) {
            seed = seed * 1103515245 + 12345;
            buf[len] = (u_char) (seed >> 16);
        }

        if (n > 0) {
            buf[0] = 0x93;
        }

        set_bytes(buf, n);
        (void) decode(&op, &uid, NULL);
        set_bytes(buf, n);
        (void) request(&op, &type, &uid);
    }

    UNIT_CHECK(1);
}


/* data nesting 1000 levels deep is fine, 1001 is not (the JSON limit) */

static void
test_depth(void)
{
    u_char          *buf, *p;
    size_t           i, levels;
    const char      *r;
    unsigned              k;
    ngx_ws_op_t           op;
    ngx_ws_bytes_t        uid;
    ngx_ws_sio_packet_t   pkt;

    static const u_char  head[] = "\x93\xa0\x82\xa4type\x02\xa4" "data";

    for (k = 0; k < 4; k++) {
        levels = (k & 1) ? 1001 : 1000;

        buf = malloc(levels + 64);
        p = buf;

        memcpy(p, head, sizeof(head) - 1);
        p += sizeof(head) - 1;

        /* the data array is level 1: ["e", [[...]]] */

        *p++ = 0x92;
        *p++ = 0xa1;
        *p++ = 'e';

        for (i = 2; i < levels; i++) {
            *p++ = 0x91;
        }

        if (k >= 2) {
            /* the innermost level a placeholder object */
            *p++ = 0xc4;
            *p++ = 0x00;

        } else {
            *p++ = 0x90;
        }

        *p++ = 0x80;

        set_bytes(buf, p - buf);
        free(buf);

        r = decode(&op, &uid, NULL);

        if (levels == 1000) {
            /* and the module's JSON takes it */
            UNIT_CHECK(r == NULL
                       && ngx_ws_sio_decode(op.packet.data, op.packet.len,
                                            &pkt) == 0
                       && pkt.attachments == (k >= 2));

        } else {
            UNIT_CHECK(r != NULL && strcmp(r, "data nests over 1000 levels")
                                    == 0);
        }
    }

    /* deep in what is skipped: no recursion there */

    buf = malloc(200064);
    p = buf;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    *p++ = 0x91;
    *p++ = 0xa1;
    *p++ = 'e';
    *p++ = 0x81;
    *p++ = 0xa1;
    *p++ = 'x';

    for (i = 0; i < 200000; i++) {
        *p++ = 0x91;
    }

    *p++ = 0xc0;

    set_bytes(buf, p - buf);
    free(buf);
    UNIT_CHECK(decode(&op, &uid, NULL) == NULL);
}


static void
test_requests(void)
{
    u_char          *out;
    size_t           out_len;
    unsigned         type;
    ngx_ws_op_t      op;
    ngx_ws_bytes_t   uid;
    const char      *r;

    /* the emitter's socketsJoin, socketsLeave, disconnectSockets */

    set_text("{\"type\":2,\"opts\":{\"rooms\":[\"r1\"],\"except\":[]},"
             "\"rooms\":[\"r2\"]}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(type, NGX_WS_ADAPTER_REMOTE_JOIN);
    UNIT_EQ(op.type, NGX_WS_JOIN);
    UNIT_EQ(uid.len, 0);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/chat");
    UNIT_EQ(op.nrooms, 1);
    UNIT_MEM(op.rooms[0].data, op.rooms[0].len, "r1");
    UNIT_EQ(op.nexcept, 0);
    UNIT_EQ(op.nnames, 1);
    UNIT_MEM(op.names[0].data, op.names[0].len, "r2");

    set_text("{\"type\":3,\"opts\":{\"rooms\":[],\"except\":[]},"
             "\"rooms\":[\"r2\"]}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.type, NGX_WS_LEAVE);
    UNIT_EQ(op.nrooms, 0);

    set_text("{\"type\":4,\"opts\":{\"rooms\":[\"r1\"],\"except\":[]},"
             "\"close\":true}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.type, NGX_WS_DISCONNECT);
    UNIT_EQ(op.close, 1);

    /* the Node adapter's, with its uid; and what it writes for ours */

    set_text("{\"uid\":\"8IIWH4\",\"type\":2,\"opts\":{\"rooms\":[\"room1\"],"
             "\"except\":[]},\"rooms\":[\"room2\"]}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_MEM(uid.data, uid.len, "8IIWH4");
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "8IIWH4", 6, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(out, out_len, "{\"uid\":\"8IIWH4\",\"type\":2,\"opts\":{\"rooms\""
             ":[\"room1\"],\"except\":[]},\"rooms\":[\"room2\"]}");

    set_text("{\"uid\":\"8IIWH4\",\"type\":4,\"opts\":{\"rooms\":[],"
             "\"except\":[]},\"close\":true}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "8IIWH4", 6, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(out, out_len, "{\"uid\":\"8IIWH4\",\"type\":4,\"opts\":{\"rooms\""
             ":[],\"except\":[]},\"close\":true}");

    /* JavaScript's truthiness, strings for rooms, escapes, order */

    set_text("{\"type\":4,\"close\":0,\"opts\":1,\"close\":\"x\"}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.close, 1);
    UNIT_EQ(op.nrooms, 0);

    set_text("{\"type\":4,\"opts\":{},\"close\":0.0}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.close, 0);

    set_text("{\"type\":2.0,\"opts\":{\"except\":[\"a\",\"b\",\"a\"]},"
             "\"rooms\":\"r\\u00e9\"}");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.nexcept, 2);
    UNIT_MEM(op.names[0].data, op.names[0].len, "r\xc3\xa9");

    /* not for us to apply: *type says what it is */

    set_text("{\"uid\":\"emitter\",\"type\":6,\"data\":[\"ping\",{\"a\":1}]}");
    r = request(&op, &type, &uid);
    UNIT_CHECK(r != NULL);
    UNIT_EQ(type, NGX_WS_ADAPTER_SERVER_SIDE_EMIT);
    UNIT_MEM(uid.data, uid.len, "emitter");
    UNIT_EQ(op.type, 0);

    set_text("{\"uid\":\"8IIWH4\",\"requestId\":\"jjKoY9\",\"type\":5,"
             "\"opts\":{\"rooms\":[],\"except\":[]}}");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    UNIT_EQ(type, NGX_WS_ADAPTER_REMOTE_FETCH);

    set_text("{\"uid\":\"x\",\"requestId\":\"y\",\"type\":2,\"sid\":\"s\","
             "\"room\":\"r\"}");
    r = request(&op, &type, &uid);
    UNIT_CHECK(r != NULL && strcmp(r, "a legacy request without opts") == 0);
    UNIT_EQ(type, NGX_WS_ADAPTER_REMOTE_JOIN);

    set_text("{\"type\":\"2\",\"opts\":{},\"rooms\":[\"r\"]}");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    UNIT_EQ(type, NGX_WS_ADAPTER_NO_TYPE);

    set_text("{\"type\":2,\"opts\":{},\"rooms\":[]}");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    set_text("{\"type\":2,\"opts\":{},\"rooms\":[1]}");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    set_text("{\"type\":2,\"opts\":{},\"rooms\":[\"a\\u0000\"]}");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    set_text("{\"type\":2,\"opts\":{\"rooms\":\"a\"},\"rooms\":[\"b\"]}");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    set_text("{\"type\":2,");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    UNIT_EQ(type, NGX_WS_ADAPTER_NO_TYPE);

    /* msgpack: the broadcast with ack (type 7), and a join */

    set_hex("85 a3756964 a6384949574834 a9726571756573744964 a66a6a4b6f5939"
            " a474797065 07 a67061636b6574 83 a474797065 02 a464617461 91"
            " a165 a36e7370 a12f a46f707473 83 a5726f6f6d73 90"
            " a6657863657074 90 a5666c616773 81 a774696d656f7574 cd03e8");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    UNIT_EQ(type, NGX_WS_ADAPTER_BROADCAST);
    UNIT_MEM(uid.data, uid.len, "8IIWH4");

    set_hex("83 a474797065 02 a46f707473 81 a6657863657074 92 a178 a178"
            " a5726f6f6d73 a179");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.type, NGX_WS_JOIN);
    UNIT_EQ(op.nexcept, 1);
    UNIT_MEM(op.names[0].data, op.names[0].len, "y");

    set_hex("83 a474797065 04 a46f707473 c3 a5636c6f7365 c3");
    UNIT_CHECK(request(&op, &type, &uid) == NULL);
    UNIT_EQ(op.close, 1);

    set_hex("82 a474797065 04 a46f707473 c2");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    set_hex(" 20 7b");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
    set_hex("");
    UNIT_CHECK(request(&op, &type, &uid) != NULL);
}


static void
test_encode_refused(void)
{
    u_char          *out;
    size_t           out_len;
    ngx_ws_op_t      op;
    ngx_ws_bytes_t   bin;

    memset(&op, 0, sizeof(ngx_ws_op_t));
    op.type = NGX_WS_EMIT;
    op.nsp.data = (u_char *) "/";
    op.nsp.len = 1;

    /* an ack, another namespace, no array, an empty one, a bad number */

    op.packet.data = (u_char *) "21[\"e\"]";
    op.packet.len = 7;
    arena_free();
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               != NULL);

    op.packet.data = (u_char *) "2/x,[\"e\"]";
    op.packet.len = 9;
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               != NULL);

    op.packet.data = (u_char *) "2{}";
    op.packet.len = 3;
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               != NULL);

    op.packet.data = (u_char *) "2[]";
    op.packet.len = 3;
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               != NULL);

    /* a placeholder naming no attachment */

    op.packet.data = (u_char *) "51-[\"e\",{\"_placeholder\":true,\"num\":1}]";
    op.packet.len = strlen((char *) op.packet.data);
    bin.data = (u_char *) "x";
    bin.len = 1;
    op.bins = &bin;
    op.nbins = 1;
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               != NULL);

    /* the placeholder as socket.io-parser sees one: nested members too */

    op.packet.data = (u_char *) "51-[\"e\",{\"num\":0,\"x\":[{}],"
                                "\"_placeholder\":false,"
                                "\"_placeholder\":true},[1,{\"a\":2}]]";
    op.packet.len = strlen((char *) op.packet.data);
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               == NULL);
    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "93a17583a47479706502a46461746193a165c40178920181a16102a36e7370"
             "a12f83a5726f6f6d7390a665786365707490a5666c61677380");

    /* not binary: a placeholder-like object is an object */

    op.packet.data = (u_char *) "2[\"e\",{\"_placeholder\":true,\"num\":0}]";
    op.packet.len = strlen((char *) op.packet.data);
    op.nbins = 0;
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               == NULL);
    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "93a17583a47479706502a46461746192a16582ac5f706c616365686f6c6465"
             "72c3a36e756d00a36e7370a12f83a5726f6f6d7390a665786365707490a566"
             "6c61677380");

    op.type = NGX_WS_RELAY;
    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                     arena_alloc, NULL)
               != NULL);
}


/* every allocation failing in turn: ngx_ws_op_nomem, never a crash */

static void
test_nomem(void)
{
    int              budget;
    u_char          *out;
    size_t           out_len;
    unsigned         type, fails;
    ngx_ws_op_t      op;
    ngx_ws_bytes_t   uid;
    const char      *r;

    fails = 0;

    for (budget = 0; budget < 12; budget++) {
        set_hex(EMITTER("93 a165 c40101 91 a162"));
        arena_budget = budget;
        r = decode(&op, &uid, NULL);
        fails += (r == ngx_ws_op_nomem);
        UNIT_CHECK(r == NULL || r == ngx_ws_op_nomem);

        if (r == NULL) {
            r = ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                      arena_alloc, NULL);
            UNIT_CHECK(r == NULL || r == ngx_ws_op_nomem);
        }

        set_text("{\"type\":2,\"opts\":{\"rooms\":[\"a\\n\"]},"
                 "\"rooms\":[\"b\\n\"]}");
        arena_budget = budget;
        r = request(&op, &type, &uid);
        UNIT_CHECK(r == NULL || r == ngx_ws_op_nomem);

        if (r == NULL) {
            r = ngx_ws_adapter_encode(&op, (u_char *) "u", 1, &out, &out_len,
                                      arena_alloc, NULL);
            UNIT_CHECK(r == NULL || r == ngx_ws_op_nomem);
        }
    }

    arena_budget = -1;
    UNIT_CHECK(fails > 0);
}


static void
test_numbers(void)
{
    u_char  buf[32];

#define NUM(v, s)  UNIT_MEM(buf, ngx_ws_adapter_number(v, buf), s)

    NUM(0.0, "0");
    NUM(-0.0, "0");
    NUM(1e21, "1e+21");
    NUM(1e20, "100000000000000000000");
    NUM(123456789012345680000.0, "123456789012345680000");
    NUM(1.5e-7, "1.5e-7");
    NUM(0.000001, "0.000001");
    NUM(-1e-300, "-1e-300");
    NUM(1.7976931348623157e308, "1.7976931348623157e+308");
    NUM(9007199254740994.0, "9007199254740994");
    NUM(18446744073709551616.0, "18446744073709552000");
    NUM(0.1 + 0.2, "0.30000000000000004");
    NUM(4.35, "4.35");
    NUM(9.5367431640625e-7, "9.5367431640625e-7");
    NUM(2.2250738585072014e-308, "2.2250738585072014e-308");
    NUM(8.98846567431158e307, "8.98846567431158e+307");

#undef NUM
}



/*
 * The sharded adapter's ClusterAdapter messages: JSON as socket.io 4.8
 * wrote them (observed), msgpack as notepack.io encodes the same objects.
 */

static void
test_sharded(void)
{
    u_char                   chan[64], *out;
    size_t                   out_len;
    ngx_ws_op_t              op;
    const char              *r;
    ngx_ws_adapter_shard_t   m;

    set_text("{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"msg\","
             "\"x\"]},\"opts\":{\"rooms\":[\"room1\"],\"except\":[],"
             "\"flags\":{}}},\"uid\":\"109f669f9b3ce80e\",\"nsp\":\"/chat\"}");
    r = ngx_ws_adapter_shard_decode(input, input_len, &op, &m, arena_alloc,
                                    NULL);
    UNIT_CHECK(r == NULL);
    UNIT_EQ(op.type, NGX_WS_EMIT);
    UNIT_EQ(m.type, NGX_WS_SHARD_BROADCAST);
    UNIT_MEM(op.packet.data, op.packet.len, "2/chat,[\"msg\",\"x\"]");
    UNIT_EQ(op.nrooms, 1);
    UNIT_MEM(op.rooms[0].data, op.rooms[0].len, "room1");
    UNIT_MEM(m.uid.data, m.uid.len, "109f669f9b3ce80e");
    UNIT_EQ(m.request_id.len, 0);

    set_text("{\"type\":4,\"data\":{\"opts\":{\"rooms\":[\"room1\"],"
             "\"except\":[],\"flags\":{}},\"rooms\":[\"room2\"]},"
             "\"uid\":\"109f669f9b3ce80e\",\"nsp\":\"/chat\"}");
    r = ngx_ws_adapter_shard_decode(input, input_len, &op, &m, arena_alloc,
                                    NULL);
    UNIT_CHECK(r == NULL);
    UNIT_EQ(op.type, NGX_WS_JOIN);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/chat");
    UNIT_EQ(op.nnames, 1);
    UNIT_MEM(op.names[0].data, op.names[0].len, "room2");
    UNIT_MEM(op.rooms[0].data, op.rooms[0].len, "room1");

    set_text("{\"type\":6,\"data\":{\"opts\":{\"rooms\":[],\"except\":[\"a\"]"
             ",\"flags\":{}},\"close\":true},\"uid\":\"u\",\"nsp\":\"/\"}");
    r = ngx_ws_adapter_shard_decode(input, input_len, &op, &m, arena_alloc,
                                    NULL);
    UNIT_CHECK(r == NULL);
    UNIT_EQ(op.type, NGX_WS_DISCONNECT);
    UNIT_EQ(op.close, 1);
    UNIT_EQ(op.nexcept, 1);

    /* answered by the caller: its type and requestId */

    set_text("{\"type\":9,\"data\":{\"packet\":[\"hello\",1],\"requestId\":"
             "\"r1\"},\"uid\":\"109f669f9b3ce80e\",\"nsp\":\"/chat\"}");
    r = ngx_ws_adapter_shard_decode(input, input_len, &op, &m, arena_alloc,
                                    NULL);
    UNIT_CHECK(r != NULL);
    UNIT_EQ(op.type, 0);
    UNIT_EQ(m.type, NGX_WS_SHARD_SERVER_SIDE_EMIT);
    UNIT_MEM(m.request_id.data, m.request_id.len, "r1");

    /* binary: msgpack of the whole message */

    set_hex("84a47479706503a46461746182a67061636b657482a47479706502a4646174"
            "6192a362696ec4020102a46f70747383a5726f6f6d7390a665786365707490"
            "a5666c61677380a3756964a461626364a36e7370a52f63686174");
    r = ngx_ws_adapter_shard_decode(input, input_len, &op, &m, arena_alloc,
                                    NULL);
    UNIT_CHECK(r == NULL);
    UNIT_MEM(op.packet.data, op.packet.len,
             "51-/chat,[\"bin\",{\"_placeholder\":true,\"num\":0}]");
    UNIT_EQ(op.nbins, 1);

    /* no namespace, no JSON, a JSON array: refused */

    set_text("{\"type\":3,\"data\":{}}");
    UNIT_CHECK(ngx_ws_adapter_shard_decode(input, input_len, &op, &m,
                                           arena_alloc, NULL)
               != NULL);
    set_text("{\"type\":3,");
    UNIT_CHECK(ngx_ws_adapter_shard_decode(input, input_len, &op, &m,
                                           arena_alloc, NULL)
               != NULL);
    set_text("[1,2]");
    UNIT_CHECK(ngx_ws_adapter_shard_decode(input, input_len, &op, &m,
                                           arena_alloc, NULL)
               != NULL);

    /* encode: an EMIT as notepack.io encodes the adapter's message */

    set_text("{\"nsp\":\"chat\",\"rooms\":[\"r1\"],\"except\":[\"r2\"],"
             "\"event\":\"msg\",\"data\":[1,\"x\",{\"$binary\":\"AQI=\"}]}");
    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_CHECK(ngx_ws_adapter_shard_encode(&op,
                                           (u_char *) "0123456789abcdef", 16,
                                           &out, &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(to_hex(out, out_len), strlen(to_hex(out, out_len)),
             "84a47479706503a46461746182a67061636b657482a47479706502a46461"
             "746194a36d736701a178c4020102a46f70747383a5726f6f6d7391a27231"
             "a665786365707491a27232a5666c61677380a3756964b030313233343536"
             "373839616263646566a36e7370a52f63686174");
    UNIT_MEM(chan, ngx_ws_adapter_shard_channel(chan, &op,
                                                (u_char *) "socket.io", 9)
                   - chan,
             "socket.io#/chat#r1#");
    UNIT_EQ(ngx_ws_adapter_shard_channel_len(&op, 9), 19);

    /* a room named like a socket id: the namespace's channel */

    set_text("{\"rooms\":[\"abcdefghij0123456789\"],\"event\":\"e\"}");
    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_MEM(chan, ngx_ws_adapter_shard_channel(chan, &op,
                                                (u_char *) "socket.io", 9)
                   - chan,
             "socket.io#/#");

    /* join and disconnect, as JSON.stringify() writes them */

    set_text("{\"op\":\"join\",\"nsp\":\"/chat\",\"rooms\":[\"r1\"],"
             "\"room\":\"r2\"}");
    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_CHECK(ngx_ws_adapter_shard_encode(&op, (u_char *) "u1", 2, &out,
                                           &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(out, out_len,
             "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[\"r1\"],\"except\":[],"
             "\"flags\":{}},\"rooms\":[\"r2\"]},\"uid\":\"u1\","
             "\"nsp\":\"/chat\"}");

    set_text("{\"op\":\"disconnect\",\"close\":true}");
    UNIT_CHECK(ngx_ws_op_parse(input, input + input_len, NULL, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_CHECK(ngx_ws_adapter_shard_encode(&op, (u_char *) "u1", 2, &out,
                                           &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(out, out_len,
             "{\"type\":6,\"data\":{\"opts\":{\"rooms\":[],\"except\":[],"
             "\"flags\":{}},\"close\":true},\"uid\":\"u1\",\"nsp\":\"/\"}");

    /* what the classic adapter writes has not changed */

    UNIT_CHECK(ngx_ws_adapter_encode(&op, (u_char *) "u1", 2, &out,
                                     &out_len, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(out, out_len,
             "{\"uid\":\"u1\",\"type\":4,\"opts\":{\"rooms\":[],\"except\":[]},"
             "\"close\":true}");
}

int
main(void)
{
    test_emitter();
    test_node();
    test_push();
    test_values();
    test_packet();
    test_garbage();
    test_depth();
    test_requests();
    test_encode_refused();
    test_nomem();
    test_numbers();
    test_sharded();

    arena_free();
    free(input);

    return UNIT_DONE();
}
