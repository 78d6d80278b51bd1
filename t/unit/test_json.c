
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "unit.h"
#include "ngx_ws_json.h"


/* checks on an exact-size heap copy, so that ASan sees any overread */

static u_char *
dup_text(const char *s, size_t len)
{
    u_char  *p;

    p = malloc(len ? len : 1);
    memcpy(p, s, len);

    return p;
}


static int
valid_n(const char *s, size_t len)
{
    int      rc;
    u_char  *p;

    p = dup_text(s, len);
    rc = ngx_ws_json_valid(p, p + len);
    free(p);

    return rc;
}


#define VALID(s)                                                              \
    do {                                                                      \
        if (!UNIT_EQ(valid_n(s, sizeof(s) - 1), 1)) {                         \
            printf("  '%s' refused\n", s);                                    \
        }                                                                     \
    } while (0)

#define INVALID(s)                                                            \
    do {                                                                      \
        if (!UNIT_EQ(valid_n(s, sizeof(s) - 1), 0)) {                         \
            printf("  '%s' accepted\n", s);                                   \
        }                                                                     \
    } while (0)


static void
test_valid(void)
{
    VALID("0");
    VALID("-0");
    VALID("1");
    VALID("-12.5e+3");
    VALID("1E5");
    VALID("1e-5");
    VALID("0.0001");
    VALID("123456789012345678901234567890");
    VALID("1e400");
    VALID("true");
    VALID("false");
    VALID("null");
    VALID("\"\"");
    VALID("\"plain\"");
    VALID("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    VALID("\"\\u00e9\\u00E9\\uD83D\\uDE00\"");
    VALID("\"\\ud800\"");                          /* lone, as JSON.parse */
    VALID("\"\\udc00x\"");
    VALID("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    VALID("\"\x7f\"");
    VALID("[]");
    VALID("{}");
    VALID("[ ]");
    VALID("{ }");
    VALID(" \t\r\n[1, \"a\", {\"b\": [null, true, false]}, -0.5] \n");
    VALID("{\"a\":1,\"a\":2}");
    VALID("{\"\":{\"\":[[],{}]}}");
    VALID("[\"message\",1,\"2\",{\"3\":[true]}]");

    INVALID("");
    INVALID(" ");
    INVALID("01");
    INVALID("-01");
    INVALID("00");
    INVALID("-");
    INVALID("+1");
    INVALID("1.");
    INVALID(".5");
    INVALID("1.e5");
    INVALID("1e");
    INVALID("1e+");
    INVALID("0x10");
    INVALID("NaN");
    INVALID("Infinity");
    INVALID("-Infinity");
    INVALID("tru");
    INVALID("True");
    INVALID("nul");
    INVALID("nulls");
    INVALID("[1,]");
    INVALID("[,1]");
    INVALID("[,]");
    INVALID("[1 2]");
    INVALID("[1");
    INVALID("[");
    INVALID("]");
    INVALID("[]]");
    INVALID("{");
    INVALID("{\"a\"}");
    INVALID("{\"a\":}");
    INVALID("{\"a\" 1}");
    INVALID("{a:1}");
    INVALID("{'a':1}");
    INVALID("{\"a\":1,}");
    INVALID("{,}");
    INVALID("{\"a\":1 \"b\":2}");
    INVALID("{1:2}");
    INVALID("[}");
    INVALID("{]");
    INVALID("'x'");
    INVALID("\"abc");
    INVALID("\"abc\\\"");
    INVALID("\"\t\"");
    INVALID("\"\n\"");
    INVALID("\"\x01\"");
    INVALID("\"\x1f\"");
    INVALID("\"\\x\"");
    INVALID("\"\\U0041\"");
    INVALID("\"\\u12\"");
    INVALID("\"\\u12g4\"");
    INVALID("\"\\\"");
    INVALID("\"\xc0\x80\"");
    INVALID("\"\xed\xa0\x80\"");
    INVALID("\"\xf4\x90\x80\x80\"");
    INVALID("\"\xe2\x82\"");
    INVALID("\"\x80\"");
    INVALID("\"\xff\"");
    INVALID("1 2");
    INVALID("[] []");
    INVALID("{} x");
    INVALID("\xef\xbb\xbf[]");                     /* no BOM */
    INVALID("[\v]");
    INVALID("[1]\f");
    INVALID("\0");

    /* a NUL inside a string is a control character */

    UNIT_EQ(valid_n("\"a\0b\"", 5), 0);
    UNIT_EQ(valid_n("[1]\0", 4), 0);
}


static void
test_depth(void)
{
    char    buf[8192];
    size_t  i, n;

    for (n = NGX_WS_JSON_MAX_DEPTH - 1; n <= NGX_WS_JSON_MAX_DEPTH + 2; n++) {
        for (i = 0; i < n; i++) {
            buf[i] = '[';
            buf[2 * n - 1 - i] = ']';
        }

        UNIT_EQ(valid_n(buf, 2 * n), n <= NGX_WS_JSON_MAX_DEPTH);
    }

    /* objects count as well */

    n = 0;

    for (i = 0; i < NGX_WS_JSON_MAX_DEPTH / 2; i++) {
        memcpy(buf + n, "{\"a\":[", 6);
        n += 6;
    }

    buf[n++] = '1';

    for (i = 0; i < NGX_WS_JSON_MAX_DEPTH / 2; i++) {
        memcpy(buf + n, "]}", 2);
        n += 2;
    }

    UNIT_EQ(valid_n(buf, n), 1);

    memmove(buf + 1, buf, n);
    buf[0] = '[';
    buf[n + 1] = ']';
    UNIT_EQ(valid_n(buf, n + 2), 0);

    /* many siblings are not depth */

    n = 0;
    buf[n++] = '[';

    for (i = 0; i < 100; i++) {
        memcpy(buf + n, "[],", 3);
        n += 3;
    }

    buf[n - 1] = ']';
    UNIT_EQ(valid_n(buf, n), 1);
}


static void
test_value(void)
{
    static const struct {
        const char          *s;
        size_t               len;     /* of the value, 0: invalid */
        ngx_ws_json_type_e   type;
    } v[] = {
        { "[1,2] rest", 5, NGX_WS_JSON_ARRAY },
        { "{\"a\":[]},", 8, NGX_WS_JSON_OBJECT },
        { "\"x\",1", 3, NGX_WS_JSON_STRING },
        { "123abc", 3, NGX_WS_JSON_NUMBER },
        { "-0.5]", 4, NGX_WS_JSON_NUMBER },
        { "01", 1, NGX_WS_JSON_NUMBER },
        { "truex", 4, NGX_WS_JSON_TRUE },
        { "false}", 5, NGX_WS_JSON_FALSE },
        { "null", 4, NGX_WS_JSON_NULL },
        { " 1", 0, NGX_WS_JSON_INVALID },
        { "[1,]", 0, NGX_WS_JSON_INVALID },
        { "x", 0, NGX_WS_JSON_INVALID },
        { "", 0, NGX_WS_JSON_INVALID },
    };

    u_char              *p, *e;
    size_t               i, len;
    ngx_ws_json_type_e   type;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        len = strlen(v[i].s);
        p = dup_text(v[i].s, len);

        type = NGX_WS_JSON_NULL;
        e = ngx_ws_json_value(p, p + len, &type);

        if (!UNIT_EQ(e ? (size_t) (e - p) : 0, v[i].len)
            || !UNIT_EQ(type, v[i].type))
        {
            printf("  '%s'\n", v[i].s);
        }

        free(p);
    }

    /* skip_ws */

    p = dup_text(" \t\r\n x", 6);
    UNIT_CHECK(ngx_ws_json_skip_ws(p, p + 6) == p + 5);
    UNIT_CHECK(ngx_ws_json_skip_ws(p, p + 3) == p + 3);
    UNIT_CHECK(ngx_ws_json_skip_ws(p + 5, p + 6) == p + 5);
    free(p);
}


static void
test_array_next(void)
{
    static const char  arr[] = "[1, \"a\" ,{\"x\":[2,3]} ,\n null]tail";
    static const char  *elts[] = { "1", "\"a\"", "{\"x\":[2,3]}", "null" };

    u_char  *p, *pos, *elt, *elt_end;
    size_t   n, len;

    len = sizeof(arr) - 1;
    p = dup_text(arr, len);

    n = 0;

    for (pos = p + 1;
         (pos = ngx_ws_json_array_next(pos, p + len, &elt, &elt_end));
         /* void */)
    {
        UNIT_CHECK(n < 4);
        UNIT_CHECK(elt != NULL);

        if (n < 4) {
            UNIT_CHECK((size_t) (elt_end - elt) == strlen(elts[n])
                       && memcmp(elt, elts[n], elt_end - elt) == 0);
        }

        n++;
    }

    UNIT_EQ(n, 4);
    UNIT_CHECK(elt == NULL);
    UNIT_CHECK(elt_end == p + len - 4);          /* after ']' */
    free(p);

    /* the lead engineer's loop form */

    p = dup_text("[7]", 3);
    pos = ngx_ws_json_array_next(p + 1, p + 3, &elt, &elt_end);
    UNIT_CHECK(pos == p + 2 && elt == p + 1 && elt_end == p + 2);
    pos = ngx_ws_json_array_next(pos, p + 3, &elt, &elt_end);
    UNIT_CHECK(pos == NULL && elt == NULL && elt_end == p + 3);
    free(p);

    /* empty arrays */

    p = dup_text("[ ]", 3);
    pos = ngx_ws_json_array_next(p + 1, p + 3, &elt, &elt_end);
    UNIT_CHECK(pos == NULL && elt == NULL && elt_end == p + 3);
    free(p);

    p = dup_text("[]", 2);
    pos = ngx_ws_json_array_next(p + 1, p + 2, &elt, &elt_end);
    UNIT_CHECK(pos == NULL && elt == NULL && elt_end == p + 2);
    free(p);

    /* errors: elt and elt_end both NULL, at the first bad step */

    {
        static const char  *bad[] = { "[1,]", "[1 2]", "[1", "[,1]", "[1,",
                                      "[x]", "[", "[1,,2]", "[1}" };
        size_t  i, steps;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            len = strlen(bad[i]);
            p = dup_text(bad[i], len);
            steps = 0;

            for (pos = p + 1;
                 (pos = ngx_ws_json_array_next(pos, p + len, &elt, &elt_end));
                 /* void */)
            {
                steps++;
            }

            if (!UNIT_CHECK(elt == NULL && elt_end == NULL)) {
                printf("  '%s'\n", bad[i]);
            }

            UNIT_CHECK(steps <= 1);
            free(p);
        }
    }
}


static void
test_string_write(void)
{
    static const struct {
        const char  *raw;
        const char  *json;
    } v[] = {
        { "", "\"\"" },
        { "notification", "\"notification\"" },
        { "a\"b\\c/d", "\"a\\\"b\\\\c/d\"" },
        { "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"" },
        { "\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"" },
        { "caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"" },
    };

    u_char    out[512], raw[64], *e;
    size_t    i, len, n;
    unsigned  seed;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        len = strlen(v[i].raw);
        UNIT_EQ(ngx_ws_json_string_len((const u_char *) v[i].raw, len),
                strlen(v[i].json));
        e = ngx_ws_json_string_write(out, (const u_char *) v[i].raw, len);
        UNIT_CHECK((size_t) (e - out) == strlen(v[i].json)
                   && memcmp(out, v[i].json, e - out) == 0);
    }

    /* random ASCII/control strings: valid JSON that reads back the same */

    seed = 99;

    for (i = 0; i < 5000; i++) {
        len = i % 63;

        for (n = 0; n < len; n++) {
            seed = seed * 1103515245 + 12345;
            raw[n] = (u_char) (1 + (seed >> 16) % 127);
        }

        raw[len] = '\0';

        e = ngx_ws_json_string_write(out, raw, len);

        if (!UNIT_EQ((size_t) (e - out), ngx_ws_json_string_len(raw, len))
            || !UNIT_CHECK(ngx_ws_json_valid(out, e))
            || !UNIT_CHECK(ngx_ws_json_string_eq(out, e, (char *) raw)))
        {
            break;
        }
    }
}


static int
eq(const char *tok, const char *lit)
{
    int      rc;
    size_t   len;
    u_char  *p;

    len = strlen(tok);
    p = dup_text(tok, len);
    rc = ngx_ws_json_string_eq(p, p + len, lit);
    free(p);

    return rc;
}


static void
test_string_eq(void)
{
    UNIT_EQ(eq("\"abc\"", "abc"), 1);
    UNIT_EQ(eq("\"abc\"", "ab"), 0);
    UNIT_EQ(eq("\"abc\"", "abcd"), 0);
    UNIT_EQ(eq("\"abc\"", ""), 0);
    UNIT_EQ(eq("\"\"", ""), 1);
    UNIT_EQ(eq("\"\"", "a"), 0);
    UNIT_EQ(eq("\"\\u0061bc\"", "abc"), 1);
    UNIT_EQ(eq("\"\\u0041\"", "a"), 0);
    UNIT_EQ(eq("\"\\/\\\"\\\\\\n\\t\\r\\b\\f\"", "/\"\\\n\t\r\b\f"), 1);
    UNIT_EQ(eq("\"\\u00e9\"", "\xc3\xa9"), 1);
    UNIT_EQ(eq("\"\xc3\xa9\"", "\xc3\xa9"), 1);
    UNIT_EQ(eq("\"\\u20ac\"", "\xe2\x82\xac"), 1);
    UNIT_EQ(eq("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"), 1);
    UNIT_EQ(eq("\"\\uD83D\\uDE00!\"", "\xf0\x9f\x98\x80!"), 1);
    UNIT_EQ(eq("\"\\ud83d\"", "\xed\xa0\xbd"), 1);    /* lone: 3 bytes */
    UNIT_EQ(eq("\"$binary\"", "$binary"), 1);

    /* an escaped NUL is a character, not the end of the literal */
    UNIT_EQ(eq("\"x\\u0000\"", "x"), 0);
    UNIT_EQ(eq("\"connect\\u0000\"", "connect"), 0);
    UNIT_EQ(eq("\"\\u0000\"", ""), 0);
    UNIT_EQ(eq("\"\\u0024binary\"", "$binary"), 1);
    UNIT_EQ(eq("\"connect\"", "connect_error"), 0);
    UNIT_EQ(eq("\"connect_error\"", "connect"), 0);
    UNIT_EQ(eq("x", "x"), 0);
}


/* measure, then write into exact-size buffers; returns the measure rc */

static int
binary(const char *in, unsigned first_num, const char *out_expect,
    unsigned nbins_expect, const char *bins_expect, size_t bin_len_expect,
    const size_t *lens_expect, int line)
{
    int        rc;
    u_char    *p, *json, *bin;
    size_t     len, json_len, bin_len, lens[16], i;
    unsigned   nbins;

    len = strlen(in);
    p = dup_text(in, len);

    rc = ngx_ws_json_binary_measure(p, len, &json_len, &nbins, &bin_len);

    if (out_expect == NULL) {
        if (!UNIT_EQ(rc, -1)) {
            printf("  line %d: accepted\n", line);
        }

        free(p);
        return rc;
    }

    if (!UNIT_EQ(rc, 0)) {
        printf("  line %d: refused\n", line);
        free(p);
        return rc;
    }

    UNIT_EQ(json_len, strlen(out_expect));
    UNIT_EQ(nbins, nbins_expect);
    UNIT_EQ(bin_len, bin_len_expect);

    json = malloc(json_len ? json_len : 1);
    bin = malloc(bin_len ? bin_len : 1);

    UNIT_EQ(ngx_ws_json_binary_write(p, len, first_num, json, bin, lens), 0);

    if (!UNIT_CHECK(memcmp(json, out_expect, json_len) == 0)) {
        printf("  line %d: \"%.*s\"\n", line, (int) json_len, json);
    }

    UNIT_CHECK(memcmp(bin, bins_expect, bin_len) == 0);

    for (i = 0; i < nbins; i++) {
        UNIT_EQ(lens[i], lens_expect[i]);
    }

    free(json);
    free(bin);
    free(p);

    return rc;
}


#define PH(n)  "{\"_placeholder\":true,\"num\":" #n "}"

#define BIN(in, first, out, nbins, bins, bin_len, ...)                        \
    do {                                                                      \
        static const size_t  lens_[] = { 0, __VA_ARGS__ };                    \
        binary(in, first, out, nbins, bins, bin_len, lens_ + 1, __LINE__);    \
    } while (0)

#define BIN_BAD(in)                                                           \
    binary(in, 0, NULL, 0, NULL, 0, NULL, __LINE__)


static void
test_binary(void)
{
    /* no binary: copied byte for byte */

    BIN("[1, {\"a\": \"b\"} ]", 0, "[1, {\"a\": \"b\"} ]", 0, "", 0, 0);
    BIN("{\"id\":7}", 0, "{\"id\":7}", 0, "", 0, 0);
    BIN("\"x\"", 0, "\"x\"", 0, "", 0, 0);

    /* one attachment, as the whole value or inside */

    BIN("{\"$binary\":\"AQID\"}", 0, PH(0), 1, "\x01\x02\x03", 3, 3);
    BIN("{ \"$binary\" :\n\"AQID\" }", 0, PH(0), 1, "\x01\x02\x03", 3, 3);
    BIN("[\"a\",{\"$binary\":\"AQIDBA==\"}]", 0, "[\"a\"," PH(0) "]", 1,
        "\x01\x02\x03\x04", 4, 4);
    BIN("[\"a\",{\"$binary\":\"AQIDBA\"}]", 2, "[\"a\"," PH(2) "]", 1,
        "\x01\x02\x03\x04", 4, 4);
    BIN("{\"file\":{\"$binary\":\"\"}}", 0, "{\"file\":" PH(0) "}", 1,
        "", 0, 0);

    /* escapes in the key and in the base64 text */

    BIN("{\"\\u0024binary\":\"AQ==\"}", 0, PH(0), 1, "\x01", 1, 1);
    BIN("{\"$binary\":\"\\/w==\"}", 0, PH(0), 1, "\xff", 1, 1);
    BIN("{\"$binary\":\"\\u0041Q\"}", 0, PH(0), 1, "\x01", 1, 1);

    /* document order, depth first, numbered from first_num */

    BIN("[{\"a\":{\"$binary\":\"AQ==\"}},[{\"$binary\":\"\"}],"
        "{\"$binary\":\"AgM=\"}]", 3,
        "[{\"a\":" PH(3) "},[" PH(4) "]," PH(5) "]", 3,
        "\x01\x02\x03", 3, 1, 0, 2);

    /* not a binary object: other members, another value type, case */

    BIN("{\"$binary\":\"AQ==\",\"x\":1}", 0, "{\"$binary\":\"AQ==\",\"x\":1}",
        0, "", 0, 0);
    BIN("{\"x\":1,\"$binary\":\"AQ==\"}", 0, "{\"x\":1,\"$binary\":\"AQ==\"}",
        0, "", 0, 0);
    BIN("{\"$binary\":1}", 0, "{\"$binary\":1}", 0, "", 0, 0);
    BIN("{\"$Binary\":\"AQ==\"}", 0, "{\"$Binary\":\"AQ==\"}", 0, "", 0, 0);
    BIN("{\"$binary\":{\"$binary\":\"AQ==\"}}", 0,
        "{\"$binary\":" PH(0) "}", 1, "\x01", 1, 1);
    BIN("[\"{\\\"$binary\\\":\\\"AQ==\\\"}\"]", 0,
        "[\"{\\\"$binary\\\":\\\"AQ==\\\"}\"]", 0, "", 0, 0);
    BIN("{}", 0, "{}", 0, "", 0, 0);

    /* ten attachments: the most a packet may carry */

    BIN("[{\"$binary\":\"AA\"},{\"$binary\":\"AQ\"},{\"$binary\":\"Ag\"},"
        "{\"$binary\":\"Aw\"},{\"$binary\":\"BA\"},{\"$binary\":\"BQ\"},"
        "{\"$binary\":\"Bg\"},{\"$binary\":\"Bw\"},{\"$binary\":\"CA\"},"
        "{\"$binary\":\"CQ\"}]", 0,
        "[" PH(0) "," PH(1) "," PH(2) "," PH(3) "," PH(4) "," PH(5) ","
        PH(6) "," PH(7) "," PH(8) "," PH(9) "]", 10,
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1);

    /* invalid base64 or JSON */

    BIN_BAD("{\"$binary\":\"A\"}");
    BIN_BAD("{\"$binary\":\"AQ=x\"}");
    BIN_BAD("{\"$binary\":\"AQ=\"}");
    BIN_BAD("{\"$binary\":\"AQID=\"}");
    BIN_BAD("{\"$binary\":\"AQ===\"}");
    BIN_BAD("{\"$binary\":\"A Q==\"}");
    BIN_BAD("{\"$binary\":\"AQ\\n\"}");
    BIN_BAD("{\"$binary\":\"AQ-_\"}");
    BIN_BAD("{\"$binary\":\"\xc3\xa9\"}");
    BIN_BAD("{\"$binary\":\"\\u00e9\"}");
    BIN_BAD("[{\"$binary\":\"AQ==\"},{\"$binary\":\"!\"}]");
    BIN_BAD("{\"$binary\":\"AQ==\"");
    BIN_BAD("[1,]");
    BIN_BAD("");
}


static ssize_t
unplace_bad(const char *text, const u_char **bins, const size_t *lens)
{
    ssize_t   n;
    u_char   *p;

    p = dup_text(text, strlen(text));
    n = ngx_ws_json_unplace(p, strlen(text), bins, lens, 2, NULL);
    free(p);

    return n;
}


/* placeholders from a client become {"$binary":...} for the app */

static void
test_unplace(void)
{
    u_char         out[256];
    ssize_t        n;
    const u_char  *bins[2] = { (const u_char *) "\x01\x02",
                               (const u_char *) "hi" };
    size_t         lens[2] = { 2, 2 };

    static const char  in[] =
        "[\"b\",{\"_placeholder\":true,\"num\":1},"
        "[{\"num\":0,\"_placeholder\":true}],\"{\\\"_placeholder\\\"\","
        "{\"_placeholder\":false,\"num\":0}]";

    static const char  want[] =
        "[\"b\",{\"$binary\":\"aGk=\"},[{\"$binary\":\"AQI=\"}],"
        "\"{\\\"_placeholder\\\"\",{\"_placeholder\":false,\"num\":0}]";

    n = ngx_ws_json_unplace((const u_char *) in, sizeof(in) - 1, bins, lens,
                            2, NULL);
    UNIT_EQ(n, sizeof(want) - 1);

    n = ngx_ws_json_unplace((const u_char *) in, sizeof(in) - 1, bins, lens,
                            2, out);
    UNIT_MEM(out, n, want);

    UNIT_EQ(unplace_bad("[{\"_placeholder\":true,\"num\":2}]", bins, lens),
            -1);
    UNIT_EQ(unplace_bad("[{\"_placeholder\":true}]", bins, lens), -1);
    UNIT_EQ(unplace_bad("[{\"_placeholder\":true,\"num\":\"0\"}]", bins,
                        lens), -1);
    UNIT_EQ(unplace_bad("[{\"_placeholder\":true,\"num\":1.5}]", bins, lens),
            -1);

    /* a placeholder has scalars only: an object around others is none */
    UNIT_EQ(unplace_bad("[{\"_placeholder\":true,\"num\":0,\"x\":[]}]", bins,
                        lens),
            (ssize_t) sizeof("[{\"_placeholder\":true,\"num\":0,\"x\":[]}]")
            - 1);
}


int
main(void)
{
    test_valid();
    test_depth();
    test_value();
    test_array_next();
    test_string_write();
    test_string_eq();
    test_unplace();
    test_binary();

    return UNIT_DONE();
}
