
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "unit.h"
#include "ngx_ws_op.h"


/* an arena freed after each case, and a budget to make alloc fail */

#define ARENA_MAX  64

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


/* the body in heap memory of its exact size, so ASan sees over-reads */

static u_char  *body;


static const char *
parse(const char *s, ngx_ws_op_t *op)
{
    size_t  len;

    arena_free();
    free(body);

    len = strlen(s);
    body = malloc(len ? len : 1);
    memcpy(body, s, len);

    return ngx_ws_op_parse(body, body + len, NULL, op, arena_alloc, NULL);
}


#define REFUSED(s, reason)                                                    \
    do {                                                                      \
        ngx_ws_op_t  op_;                                                     \
        const char  *r_ = parse(s, &op_);                                     \
        if (!UNIT_CHECK(r_ != NULL && strcmp(r_, reason) == 0)) {             \
            printf("  \"%s\": got \"%s\"\n", s, r_ ? r_ : "(accepted)");     \
        }                                                                     \
    } while (0)


static void
test_emit(void)
{
    ngx_ws_op_t  op;

    UNIT_CHECK(parse("{\"event\":\"x\",\"data\":[1,\"a\",{\"b\":[]}]}", &op)
               == NULL);
    UNIT_EQ(op.type, NGX_WS_EMIT);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/");
    UNIT_MEM(op.packet.data, op.packet.len, "2[\"x\",1,\"a\",{\"b\":[]}]");
    UNIT_EQ(op.nbins, 0);
    UNIT_EQ(op.nrooms, 0);
    UNIT_EQ(op.nexcept, 0);

    /* io.of("chat"); explicit "emit"; no data; the name as written */

    UNIT_CHECK(parse(" { \"op\" : \"emit\", \"nsp\":\"chat\", "
                     "\"event\":\"h\\u00e9\" } ", &op) == NULL);
    UNIT_EQ(op.type, NGX_WS_EMIT);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/chat");
    UNIT_MEM(op.packet.data, op.packet.len, "2/chat,[\"h\\u00e9\"]");

    UNIT_CHECK(parse("{\"nsp\":\"/chat\",\"event\":\"x\",\"data\":[]}", &op)
               == NULL);
    UNIT_MEM(op.packet.data, op.packet.len, "2/chat,[\"x\"]");

    /* attachments, numbered across arguments */

    UNIT_CHECK(parse("{\"event\":\"b\",\"data\":[{\"$binary\":\"AQI=\"},2,"
                     "[{\"$binary\":\"Aw\"}]]}", &op) == NULL);
    UNIT_MEM(op.packet.data, op.packet.len,
             "52-[\"b\",{\"_placeholder\":true,\"num\":0},2,"
             "[{\"_placeholder\":true,\"num\":1}]]");
    UNIT_EQ(op.nbins, 2);
    UNIT_MEM(op.bins[0].data, op.bins[0].len, "\x01\x02");
    UNIT_MEM(op.bins[1].data, op.bins[1].len, "\x03");

    UNIT_CHECK(parse("{\"event\":\"b\",\"data\":[{\"$binary\":\"\"},"
                     "{\"$binary\":\"\"},{\"$binary\":\"\"},"
                     "{\"$binary\":\"\"},{\"$binary\":\"\"},"
                     "{\"$binary\":\"\"},{\"$binary\":\"\"},"
                     "{\"$binary\":\"\"},{\"$binary\":\"\"},"
                     "{\"$binary\":\"\"}]}", &op) == NULL);
    UNIT_EQ(op.nbins, 10);

    REFUSED("{\"event\":\"b\",\"data\":[{\"$binary\":\"\"},"
            "{\"$binary\":\"\"},{\"$binary\":\"\"},{\"$binary\":\"\"},"
            "{\"$binary\":\"\"},{\"$binary\":\"\"},{\"$binary\":\"\"},"
            "{\"$binary\":\"\"},{\"$binary\":\"\"},{\"$binary\":\"\"},"
            "[{\"$binary\":\"\"}]]}", "more than 10 binary attachments");
    REFUSED("{\"event\":\"b\",\"data\":[{\"$binary\":\"A\"}]}",
            "invalid base64 in \\\"$binary\\\"");

    REFUSED("{}", "\\\"event\\\" is required and must be a non-empty string");
    REFUSED("{\"event\":\"\"}",
            "\\\"event\\\" is required and must be a non-empty string");
    REFUSED("{\"event\":1}",
            "\\\"event\\\" is required and must be a non-empty string");
    REFUSED("{\"event\":\"connect\"}", "\\\"event\\\" is a reserved name");
    REFUSED("{\"event\":\"disconnecting\"}",
            "\\\"event\\\" is a reserved name");
    REFUSED("{\"event\":\"x\",\"data\":{}}",
            "\\\"data\\\" must be an array of arguments");
    REFUSED("{\"event\":\"x\",\"data\":\"a\"}",
            "\\\"data\\\" must be an array of arguments");

    /* "connect\u0000" is not "connect" (nor a NUL-ended literal) */

    UNIT_CHECK(parse("{\"event\":\"connect\\u0000\"}", &op) == NULL);
    UNIT_MEM(op.packet.data, op.packet.len, "2[\"connect\\u0000\"]");
}


static void
test_target(void)
{
    ngx_ws_op_t  op;

    UNIT_CHECK(parse("{\"event\":\"x\",\"rooms\":\"a\",\"except\":[\"b\","
                     "\"c\\u0064\"]}", &op) == NULL);
    UNIT_EQ(op.nrooms, 1);
    UNIT_MEM(op.rooms[0].data, op.rooms[0].len, "a");
    UNIT_EQ(op.nexcept, 2);
    UNIT_MEM(op.except[0].data, op.except[0].len, "b");
    UNIT_MEM(op.except[1].data, op.except[1].len, "cd");

    UNIT_CHECK(parse("{\"event\":\"x\",\"rooms\":null,\"except\":[]}", &op)
               == NULL);
    UNIT_EQ(op.nrooms, 0);
    UNIT_EQ(op.nexcept, 0);

    /* the first member of a name counts, as with cJSON */

    UNIT_CHECK(parse("{\"event\":\"x\",\"rooms\":\"a\",\"rooms\":1}", &op)
               == NULL);
    UNIT_MEM(op.rooms[0].data, op.rooms[0].len, "a");

    REFUSED("{\"event\":\"x\",\"rooms\":1}",
            "\\\"rooms\\\" must be a string or an array of strings");
    REFUSED("{\"event\":\"x\",\"except\":[\"a\",2]}",
            "\\\"except\\\" must be a string or an array of strings");
    REFUSED("{\"event\":\"x\",\"nsp\":1}", "\\\"nsp\\\" must be a string");

    /* a NUL would cut a name short in C strings: refused */

    REFUSED("{\"event\":\"x\",\"rooms\":\"user:1\\u0000x\"}",
            "\\\"rooms\\\" must not contain \\\\u0000");
    REFUSED("{\"event\":\"x\",\"except\":[\"a\",\"\\u0000\"]}",
            "\\\"except\\\" must not contain \\\\u0000");
    REFUSED("{\"event\":\"x\",\"nsp\":\"/chat\\u0000\"}",
            "\\\"nsp\\\" must not contain \\\\u0000");
    REFUSED("{\"op\":\"join\",\"room\":\"a\\u0000\"}",
            "\\\"room\\\" must not contain \\\\u0000");
}


static void
test_rooms_ops(void)
{
    ngx_ws_op_t  op;

    UNIT_CHECK(parse("{\"op\":\"join\",\"rooms\":\"a\",\"room\":[\"x\","
                     "\"y\"]}", &op) == NULL);
    UNIT_EQ(op.type, NGX_WS_JOIN);
    UNIT_EQ(op.nnames, 2);
    UNIT_MEM(op.names[1].data, op.names[1].len, "y");

    UNIT_CHECK(parse("{\"op\":\"leave\",\"room\":\"x\"}", &op) == NULL);
    UNIT_EQ(op.type, NGX_WS_LEAVE);
    UNIT_EQ(op.nnames, 1);

    UNIT_CHECK(parse("{\"op\":\"disconnect\"}", &op) == NULL);
    UNIT_EQ(op.type, NGX_WS_DISCONNECT);
    UNIT_EQ(op.close, 0);

    UNIT_CHECK(parse("{\"op\":\"disconnect\",\"close\":true}", &op) == NULL);
    UNIT_EQ(op.close, 1);

    UNIT_CHECK(parse("{\"op\":\"\\u0064isconnect\",\"close\":false}", &op)
               == NULL);
    UNIT_EQ(op.type, NGX_WS_DISCONNECT);
    UNIT_EQ(op.close, 0);

    REFUSED("{\"op\":\"join\"}", "\\\"room\\\" is required");
    REFUSED("{\"op\":\"leave\",\"room\":[]}", "\\\"room\\\" is required");
    REFUSED("{\"op\":\"join\",\"room\":{}}",
            "\\\"room\\\" must be a string or an array of strings");
    REFUSED("{\"op\":\"disconnect\",\"close\":1}",
            "\\\"close\\\" must be a boolean");
    REFUSED("{\"op\":1}", "\\\"op\\\" must be a string");
    REFUSED("{\"op\":\"emit\\u0000\",\"event\":\"x\"}",
            "unknown \\\"op\\\": use emit, join, leave or disconnect");
    REFUSED("{\"op\":\"Join\",\"room\":\"a\"}",
            "unknown \\\"op\\\": use emit, join, leave or disconnect");
}


static void
test_invalid(void)
{
    char    *deep;
    size_t   i, n;

    REFUSED("", "body is not valid JSON");
    REFUSED("{", "body is not valid JSON");
    REFUSED("{\"event\":\"x\",}", "body is not valid JSON");
    REFUSED("{\"event\":\"x\"} x", "body is not valid JSON");
    REFUSED("[]", "body must be a JSON object");
    REFUSED(" \"x\" ", "body must be a JSON object");

    /* 1000 levels deep is fine, one more is not */

    n = 1000;
    deep = malloc(32 + 2 * n);

    for (i = 0; i < 2; i++, n++) {
        size_t  k, len;

        len = sizeof("{\"event\":\"x\",\"data\":") - 1;
        memcpy(deep, "{\"event\":\"x\",\"data\":", len);

        for (k = 1; k < n; k++) {
            deep[len++] = '[';
        }

        for (k = 1; k < n; k++) {
            deep[len++] = ']';
        }

        deep[len++] = '}';
        deep[len] = '\0';

        if (i == 0) {
            ngx_ws_op_t  op;

            UNIT_CHECK(parse(deep, &op) == NULL);

        } else {
            REFUSED(deep, "body is not valid JSON");
        }
    }

    free(deep);
}


/* A hook's push entries name no namespace: the socket's is the default. */

static void
test_default_nsp(void)
{
    u_char          text[] = "{\"event\":\"x\"}";
    u_char          other[] = "{\"nsp\":\"/\",\"event\":\"x\"}";
    ngx_ws_op_t     op;
    ngx_ws_bytes_t  chat = { (u_char *) "/chat", 5 };

    UNIT_CHECK(ngx_ws_op_parse(text, text + sizeof(text) - 1, &chat, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/chat");
    UNIT_MEM(op.packet.data, op.packet.len, "2/chat,[\"x\"]");

    UNIT_CHECK(ngx_ws_op_parse(other, other + sizeof(other) - 1, &chat, &op,
                               arena_alloc, NULL)
               == NULL);
    UNIT_MEM(op.nsp.data, op.nsp.len, "/");
    UNIT_MEM(op.packet.data, op.packet.len, "2[\"x\"]");
}


/* An ACK for the hooks' answers: no event name, the client's ack id. */

static void
test_ack_packet(void)
{
    u_char       args[] = "[1,{\"$binary\":\"AQI=\"}]";
    u_char       none[] = "[]";
    ngx_ws_op_t  op;

    memset(&op, 0, sizeof(ngx_ws_op_t));
    op.nsp.data = (u_char *) "/chat";
    op.nsp.len = 5;

    UNIT_CHECK(ngx_ws_op_packet(&op, NULL, 0, args, args + sizeof(args) - 1,
                                12, arena_alloc, NULL)
               == NULL);
    UNIT_MEM(op.packet.data, op.packet.len,
             "61-/chat,12[1,{\"_placeholder\":true,\"num\":0}]");
    UNIT_EQ(op.nbins, 1);
    UNIT_MEM(op.bins[0].data, op.bins[0].len, "\x01\x02");

    op.nsp.data = (u_char *) "/";
    op.nsp.len = 1;

    UNIT_CHECK(ngx_ws_op_packet(&op, NULL, 0, none, none + 2, 0, arena_alloc,
                                NULL)
               == NULL);
    UNIT_MEM(op.packet.data, op.packet.len, "30[]");

    UNIT_CHECK(ngx_ws_op_packet(&op, NULL, 0, NULL, NULL, 7, arena_alloc,
                                NULL)
               == NULL);
    UNIT_MEM(op.packet.data, op.packet.len, "37[]");
}


/* The record as bytes reads back the same; damaged bytes are refused. */

static void
test_bytes(void)
{
    u_char        buf[512];
    size_t        size, cut;
    ngx_ws_op_t   op, back;

    UNIT_CHECK(parse("{\"nsp\":\"chat\",\"event\":\"b\",\"rooms\":[\"a\","
                     "\"b\"],\"except\":\"c\",\"data\":[{\"$binary\":"
                     "\"AQI=\"}]}", &op) == NULL);

    size = ngx_ws_op_size(&op);
    UNIT_CHECK(size < sizeof(buf));
    UNIT_CHECK(ngx_ws_op_write(&op, buf) == buf + size);

    UNIT_EQ(ngx_ws_op_read(buf, size, &back, arena_alloc, NULL), 0);
    UNIT_EQ(back.type, NGX_WS_EMIT);
    UNIT_MEM(back.nsp.data, back.nsp.len, "/chat");
    UNIT_MEM(back.packet.data, back.packet.len,
             "51-/chat,[\"b\",{\"_placeholder\":true,\"num\":0}]");
    UNIT_EQ(back.nrooms, 2);
    UNIT_MEM(back.rooms[1].data, back.rooms[1].len, "b");
    UNIT_EQ(back.nexcept, 1);
    UNIT_MEM(back.except[0].data, back.except[0].len, "c");
    UNIT_EQ(back.nbins, 1);
    UNIT_MEM(back.bins[0].data, back.bins[0].len, "\x01\x02");

    /* every shorter prefix and one byte more are refused */

    for (cut = 0; cut < size; cut++) {
        UNIT_EQ(ngx_ws_op_read(buf, cut, &back, arena_alloc, NULL), -1);
    }

    UNIT_EQ(ngx_ws_op_read(buf, size + 1, &back, arena_alloc, NULL), -1);

    UNIT_CHECK(parse("{\"op\":\"disconnect\",\"close\":true}", &op)
               == NULL);
    size = ngx_ws_op_size(&op);
    (void) ngx_ws_op_write(&op, buf);
    UNIT_EQ(ngx_ws_op_read(buf, size, &back, arena_alloc, NULL), 0);
    UNIT_EQ(back.type, NGX_WS_DISCONNECT);
    UNIT_EQ(back.close, 1);

    buf[0] = 9;    /* no such type */
    UNIT_EQ(ngx_ws_op_read(buf, size, &back, arena_alloc, NULL), -1);
}


/* Every allocation failing in turn: a clean "out of memory", no crash. */

static void
test_nomem(void)
{
    int           budget;
    const char   *r;
    ngx_ws_op_t   op;

    static const char  *bodies[] = {
        "{\"nsp\":\"chat\",\"event\":\"b\",\"rooms\":[\"a\\u0062\"],"
        "\"except\":\"c\",\"data\":[{\"$binary\":\"AQI=\"}]}",
        "{\"op\":\"join\",\"nsp\":\"chat\",\"rooms\":\"x\",\"room\":[\"y\"]}",
        NULL
    };

    for (const char **b = bodies; *b; b++) {
        for (budget = 0; budget < ARENA_MAX; budget++) {
            arena_budget = budget;
            r = parse(*b, &op);

            if (r == NULL) {
                break;
            }

            UNIT_CHECK(r == ngx_ws_op_nomem);
        }

        UNIT_CHECK(budget > 0 && budget < ARENA_MAX);
    }

    arena_budget = -1;
}


int
main(void)
{
    test_emit();
    test_target();
    test_rooms_ops();
    test_invalid();
    test_default_nsp();
    test_ack_packet();
    test_bytes();
    test_nomem();

    arena_free();
    free(body);

    return UNIT_DONE();
}
