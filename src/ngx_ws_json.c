
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_json.h"
#include "ngx_ws_eio.h"


#define NGX_WS_JSON_B64_BAD  0xff


/* what a rewrite pass produces; the out pointers are NULL when measuring */
typedef struct {
    unsigned   first_num;
    u_char    *json_out;
    u_char    *bin_out;
    size_t    *bin_lens;
    size_t     json_len;
    size_t     bin_len;
    unsigned   nbins;
} ngx_ws_json_binary_t;


static u_char *ngx_ws_json_string(u_char *p, u_char *end);
static size_t ngx_ws_json_utf8(const u_char *p, const u_char *end);
static u_char *ngx_ws_json_number(u_char *p, u_char *end);
static u_char *ngx_ws_json_literal(u_char *p, u_char *end, const char *lit,
    size_t len);
static u_char *ngx_ws_json_member(u_char *p, u_char *end);
static int ngx_ws_json_hex4(const u_char *p, uint32_t *value);
static size_t ngx_ws_json_char(const u_char **pp, u_char *out);
static int ngx_ws_json_binary(const u_char *p, size_t len,
    ngx_ws_json_binary_t *b);
static u_char *ngx_ws_json_binary_object(u_char *p, u_char *end,
    u_char **str);
static ssize_t ngx_ws_json_base64(const u_char *s, u_char *out);
static int ngx_ws_json_placeholder_num(u_char *p, u_char *end,
    unsigned nbins);
static u_char ngx_ws_json_base64_value(u_char c);
static void ngx_ws_json_binary_copy(ngx_ws_json_binary_t *b,
    const u_char *p, size_t len);
static void ngx_ws_json_placeholder(ngx_ws_json_binary_t *b, unsigned num);


static const char  ngx_ws_json_placeholder_start[] =
    "{\"_placeholder\":true,\"num\":";


u_char *
ngx_ws_json_skip_ws(u_char *p, u_char *end)
{
    while (p < end
           && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    {
        p++;
    }

    return p;
}


u_char *
ngx_ws_json_value(u_char *p, u_char *end, ngx_ws_json_type_e *type)
{
    u_char              close, stack[NGX_WS_JSON_MAX_DEPTH];
    unsigned            depth;
    ngx_ws_json_type_e  t, first;

    /*
     * Iterative, with the closing bytes of the open containers on a fixed
     * stack: hostile nesting costs neither C stack nor memory.
     */

    *type = NGX_WS_JSON_INVALID;
    first = NGX_WS_JSON_INVALID;
    depth = 0;

    for ( ;; ) {

        /* p is at the first byte of a value */

        if (p >= end) {
            return NULL;
        }

        switch (*p) {

        case '{':
        case '[':
            if (depth == NGX_WS_JSON_MAX_DEPTH) {
                return NULL;
            }

            if (*p == '{') {
                close = '}';
                t = NGX_WS_JSON_OBJECT;

            } else {
                close = ']';
                t = NGX_WS_JSON_ARRAY;
            }

            if (first == NGX_WS_JSON_INVALID) {
                first = t;
            }

            stack[depth++] = close;

            p = ngx_ws_json_skip_ws(p + 1, end);

            if (p < end && *p == close) {
                /* empty: the container is a complete value */
                p++;
                depth--;
                break;
            }

            if (close == '}') {
                p = ngx_ws_json_member(p, end);
                if (p == NULL) {
                    return NULL;
                }
            }

            continue;

        case '"':
            t = NGX_WS_JSON_STRING;
            p = ngx_ws_json_string(p, end);
            break;

        case 't':
            t = NGX_WS_JSON_TRUE;
            p = ngx_ws_json_literal(p, end, "true", 4);
            break;

        case 'f':
            t = NGX_WS_JSON_FALSE;
            p = ngx_ws_json_literal(p, end, "false", 5);
            break;

        case 'n':
            t = NGX_WS_JSON_NULL;
            p = ngx_ws_json_literal(p, end, "null", 4);
            break;

        default:
            t = NGX_WS_JSON_NUMBER;
            p = ngx_ws_json_number(p, end);
            break;
        }

        if (p == NULL) {
            return NULL;
        }

        if (first == NGX_WS_JSON_INVALID) {
            first = t;
        }

        /* a value ended: close containers until another value is due */

        for ( ;; ) {
            if (depth == 0) {
                *type = first;
                return p;
            }

            p = ngx_ws_json_skip_ws(p, end);

            if (p == end) {
                return NULL;
            }

            if (*p == ',') {
                p = ngx_ws_json_skip_ws(p + 1, end);

                if (stack[depth - 1] == '}') {
                    p = ngx_ws_json_member(p, end);
                    if (p == NULL) {
                        return NULL;
                    }
                }

                break;
            }

            if (*p != stack[depth - 1]) {
                return NULL;
            }

            p++;
            depth--;
        }
    }
}


/* p is at a member's key: returns the position of its value */

static u_char *
ngx_ws_json_member(u_char *p, u_char *end)
{
    if (p >= end || *p != '"') {
        return NULL;
    }

    p = ngx_ws_json_string(p, end);
    if (p == NULL) {
        return NULL;
    }

    p = ngx_ws_json_skip_ws(p, end);

    if (p == end || *p != ':') {
        return NULL;
    }

    return ngx_ws_json_skip_ws(p + 1, end);
}


/* p is at the opening quote: returns one past the closing one, or NULL */

static u_char *
ngx_ws_json_string(u_char *p, u_char *end)
{
    u_char    c;
    size_t    n;
    uint32_t  cp;

    for (p++; p < end; /* void */) {
        c = *p;

        if (c == '"') {
            return p + 1;
        }

        if (c == '\\') {
            if (end - p < 2) {
                return NULL;
            }

            switch (p[1]) {

            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;

            case 'u':
                /* lone surrogates pass, as with JSON.parse */
                if (end - p < 6 || ngx_ws_json_hex4(p + 2, &cp) != 0) {
                    return NULL;
                }

                p += 6;
                continue;

            default:
                return NULL;
            }
        }

        if (c < 0x20) {
            return NULL;
        }

        if (c < 0x80) {
            p++;
            continue;
        }

        n = ngx_ws_json_utf8(p, end);
        if (n == 0) {
            return NULL;
        }

        p += n;
    }

    return NULL;
}


/* the length of the valid UTF-8 sequence of 2-4 bytes at p, or 0 */

static size_t
ngx_ws_json_utf8(const u_char *p, const u_char *end)
{
    u_char  c, lo, hi;
    size_t  n, i;

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;             /* overlong */

        } else if (c == 0xed) {
            hi = 0x9f;             /* surrogates */
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;             /* overlong */

        } else if (c == 0xf4) {
            hi = 0x8f;             /* past U+10FFFF */
        }

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    if (p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


static int
ngx_ws_json_hex4(const u_char *p, uint32_t *value)
{
    u_char    c;
    size_t    i;
    uint32_t  v;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            v = (v << 4) | (uint32_t) (c - '0');

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v = (v << 4) | (uint32_t) ((c | 0x20) - 'a' + 10);

        } else {
            return -1;
        }
    }

    *value = v;

    return 0;
}


static u_char *
ngx_ws_json_number(u_char *p, u_char *end)
{
    if (*p == '-') {
        p++;
    }

    if (p == end) {
        return NULL;
    }

    if (*p == '0') {
        /* no leading zeros: "01" ends after the 0 and fails after it */
        p++;

    } else if (*p >= '1' && *p <= '9') {
        do {
            p++;
        } while (p < end && *p >= '0' && *p <= '9');

    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        do {
            p++;
        } while (p < end && *p >= '0' && *p <= '9');
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        do {
            p++;
        } while (p < end && *p >= '0' && *p <= '9');
    }

    return p;
}


static u_char *
ngx_ws_json_literal(u_char *p, u_char *end, const char *lit, size_t len)
{
    if ((size_t) (end - p) < len || memcmp(p, lit, len) != 0) {
        return NULL;
    }

    return p + len;
}


int
ngx_ws_json_valid(u_char *p, u_char *end)
{
    ngx_ws_json_type_e  type;

    p = ngx_ws_json_skip_ws(p, end);

    p = ngx_ws_json_value(p, end, &type);
    if (p == NULL) {
        return 0;
    }

    return ngx_ws_json_skip_ws(p, end) == end;
}


u_char *
ngx_ws_json_array_next(u_char *p, u_char *end, u_char **elt,
    u_char **elt_end)
{
    u_char              *start, *next;
    ngx_ws_json_type_e   type;

    *elt = NULL;
    *elt_end = NULL;

    p = ngx_ws_json_skip_ws(p, end);

    if (p == end) {
        return NULL;
    }

    if (*p == ']') {
        *elt_end = p + 1;
        return NULL;
    }

    start = p;

    p = ngx_ws_json_value(p, end, &type);
    if (p == NULL) {
        return NULL;
    }

    next = ngx_ws_json_skip_ws(p, end);

    if (next == end) {
        return NULL;
    }

    if (*next == ',') {
        /* a trailing comma is refused here, the element with it */
        next = ngx_ws_json_skip_ws(next + 1, end);

        if (next == end || *next == ']') {
            return NULL;
        }

    } else if (*next != ']') {
        return NULL;
    }

    *elt = start;
    *elt_end = p;

    return next;
}


u_char *
ngx_ws_json_object_next(u_char *p, u_char *end, u_char **key,
    u_char **key_end, u_char **val, u_char **val_end)
{
    u_char              *k, *k_end, *v, *v_end, *next;
    ngx_ws_json_type_e   type;

    *key = NULL;
    *val_end = NULL;

    p = ngx_ws_json_skip_ws(p, end);

    if (p == end) {
        return NULL;
    }

    if (*p == '}') {
        *val_end = p + 1;
        return NULL;
    }

    if (*p != '"') {
        return NULL;
    }

    k = p;

    k_end = ngx_ws_json_string(k, end);
    if (k_end == NULL) {
        return NULL;
    }

    p = ngx_ws_json_skip_ws(k_end, end);

    if (p == end || *p != ':') {
        return NULL;
    }

    v = ngx_ws_json_skip_ws(p + 1, end);

    v_end = ngx_ws_json_value(v, end, &type);
    if (v_end == NULL) {
        return NULL;
    }

    next = ngx_ws_json_skip_ws(v_end, end);

    if (next == end) {
        return NULL;
    }

    if (*next == ',') {
        next = ngx_ws_json_skip_ws(next + 1, end);

        if (next == end || *next != '"') {
            return NULL;
        }

    } else if (*next != '}') {
        return NULL;
    }

    *key = k;
    *key_end = k_end;
    *val = v;
    *val_end = v_end;

    return next;
}


size_t
ngx_ws_json_string_decode(const u_char *p, const u_char *end, u_char *out)
{
    size_t   n;
    u_char  *o;

    o = out;
    end--;

    for (p++; p < end; o += n) {
        n = ngx_ws_json_char(&p, o);
    }

    return o - out;
}


size_t
ngx_ws_json_string_len(const u_char *s, size_t len)
{
    size_t  n;

    n = len + 2;

    while (len--) {
        switch (*s++) {

        case '"':
        case '\\':
        case '\b':
        case '\f':
        case '\n':
        case '\r':
        case '\t':
            n += 1;
            break;

        default:
            if (s[-1] < 0x20) {
                n += 5;
            }
        }
    }

    return n;
}


u_char *
ngx_ws_json_string_write(u_char *dst, const u_char *s, size_t len)
{
    u_char                c;
    static const u_char   hex[] = "0123456789abcdef";

    *dst++ = '"';

    while (len--) {
        c = *s++;

        switch (c) {

        case '"':
        case '\\':
            *dst++ = '\\';
            *dst++ = c;
            break;

        case '\b':
            *dst++ = '\\';
            *dst++ = 'b';
            break;

        case '\f':
            *dst++ = '\\';
            *dst++ = 'f';
            break;

        case '\n':
            *dst++ = '\\';
            *dst++ = 'n';
            break;

        case '\r':
            *dst++ = '\\';
            *dst++ = 'r';
            break;

        case '\t':
            *dst++ = '\\';
            *dst++ = 't';
            break;

        default:
            if (c < 0x20) {
                *dst++ = '\\';
                *dst++ = 'u';
                *dst++ = '0';
                *dst++ = '0';
                *dst++ = hex[c >> 4];
                *dst++ = hex[c & 0xf];

            } else {
                *dst++ = c;
            }
        }
    }

    *dst++ = '"';

    return dst;
}


/*
 * The next character of a valid string token's value, as UTF-8 bytes in
 * out (at most 4); advances *pp.  A surrogate pair of escapes becomes one
 * code point, a lone surrogate its 3-byte form.
 */

static size_t
ngx_ws_json_char(const u_char **pp, u_char *out)
{
    uint32_t       cp, lo;
    const u_char  *p;

    p = *pp;

    if (*p != '\\') {
        out[0] = *p;
        *pp = p + 1;
        return 1;
    }

    switch (p[1]) {

    case 'b':
        out[0] = '\b';
        break;

    case 'f':
        out[0] = '\f';
        break;

    case 'n':
        out[0] = '\n';
        break;

    case 'r':
        out[0] = '\r';
        break;

    case 't':
        out[0] = '\t';
        break;

    case 'u':
        if (ngx_ws_json_hex4(p + 2, &cp) != 0) {
            /* not a valid token: the caller broke the contract */
            cp = 0xfffd;
        }

        p += 6;

        if (cp >= 0xd800 && cp <= 0xdbff
            && p[0] == '\\' && p[1] == 'u'
            && ngx_ws_json_hex4(p + 2, &lo) == 0
            && lo >= 0xdc00 && lo <= 0xdfff)
        {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }

        *pp = p;

        if (cp < 0x80) {
            out[0] = (u_char) cp;
            return 1;
        }

        if (cp < 0x800) {
            out[0] = (u_char) (0xc0 | (cp >> 6));
            out[1] = (u_char) (0x80 | (cp & 0x3f));
            return 2;
        }

        if (cp < 0x10000) {
            out[0] = (u_char) (0xe0 | (cp >> 12));
            out[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            out[2] = (u_char) (0x80 | (cp & 0x3f));
            return 3;
        }

        out[0] = (u_char) (0xf0 | (cp >> 18));
        out[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
        out[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        out[3] = (u_char) (0x80 | (cp & 0x3f));
        return 4;

    default:
        /* '"', '\\', '/' */
        out[0] = p[1];
        break;
    }

    *pp = p + 2;

    return 1;
}


int
ngx_ws_json_string_eq(const u_char *p, const u_char *end, const char *lit)
{
    u_char         buf[4];
    size_t         n, i;
    const u_char  *l;

    if (end - p < 2 || *p != '"') {
        return 0;
    }

    l = (const u_char *) lit;
    end--;

    for (p++; p < end; /* void */) {
        n = ngx_ws_json_char(&p, buf);

        /*
         * An escaped "\u0000" is a character of the value, never the
         * literal's end: the literal must still have a byte to compare.
         */

        for (i = 0; i < n; i++) {
            if (*l == '\0' || *l++ != buf[i]) {
                return 0;
            }
        }
    }

    return *l == '\0';
}


int
ngx_ws_json_binary_measure(const u_char *p, size_t len, size_t *json_len,
    unsigned *nbins, size_t *bin_len)
{
    ngx_ws_json_binary_t  b;

    memset(&b, 0, sizeof(ngx_ws_json_binary_t));

    if (ngx_ws_json_binary(p, len, &b) != 0) {
        return -1;
    }

    *json_len = b.json_len;
    *nbins = b.nbins;
    *bin_len = b.bin_len;

    return 0;
}


int
ngx_ws_json_binary_write(const u_char *p, size_t len, unsigned first_num,
    u_char *json_out, u_char *bin_out, size_t *bin_lens)
{
    ngx_ws_json_binary_t  b;

    memset(&b, 0, sizeof(ngx_ws_json_binary_t));

    b.first_num = first_num;
    b.json_out = json_out;
    b.bin_out = bin_out;
    b.bin_lens = bin_lens;

    return ngx_ws_json_binary(p, len, &b);
}


static int
ngx_ws_json_binary(const u_char *p, size_t len, ngx_ws_json_binary_t *b)
{
    u_char   *pos, *end, *copy, *next, *str;
    ssize_t   n;

    pos = (u_char *) p;
    end = pos + len;

    if (!ngx_ws_json_valid(pos, end)) {
        return -1;
    }

    /*
     * The text is valid, so a plain scan sees its structure: outside
     * strings, every '{' starts an object.
     */

    copy = pos;

    while (pos < end) {

        if (*pos == '"') {
            pos = ngx_ws_json_string(pos, end);
            continue;
        }

        if (*pos != '{') {
            pos++;
            continue;
        }

        next = ngx_ws_json_binary_object(pos, end, &str);
        if (next == NULL) {
            pos++;
            continue;
        }

        n = ngx_ws_json_base64(str,
                               b->bin_out ? b->bin_out + b->bin_len : NULL);
        if (n < 0) {
            return -1;
        }

        if (b->bin_lens) {
            b->bin_lens[b->nbins] = (size_t) n;
        }

        ngx_ws_json_binary_copy(b, copy, pos - copy);
        ngx_ws_json_placeholder(b, b->first_num + b->nbins);

        b->bin_len += (size_t) n;
        b->nbins++;

        pos = next;
        copy = pos;
    }

    ngx_ws_json_binary_copy(b, copy, pos - copy);

    return 0;
}


/*
 * p is at a '{' of valid JSON: if the object is {"$binary":"..."}, returns
 * one past its '}' and sets *str to the string token, else returns NULL.
 */

static u_char *
ngx_ws_json_binary_object(u_char *p, u_char *end, u_char **str)
{
    u_char  *key;

    key = ngx_ws_json_skip_ws(p + 1, end);

    if (key == end || *key != '"') {
        return NULL;
    }

    p = ngx_ws_json_string(key, end);

    if (!ngx_ws_json_string_eq(key, p, "$binary")) {
        return NULL;
    }

    p = ngx_ws_json_skip_ws(p, end);        /* at ':' */
    p = ngx_ws_json_skip_ws(p + 1, end);

    if (*p != '"') {
        return NULL;
    }

    *str = p;

    p = ngx_ws_json_skip_ws(ngx_ws_json_string(p, end), end);

    if (*p != '}') {
        return NULL;
    }

    return p + 1;
}


/*
 * Decodes the base64 text of the valid string token s (escapes such as
 * "\/" are resolved first) to out, unless out is NULL.  Returns the decoded
 * length, or -1.
 */

static ssize_t
ngx_ws_json_base64(const u_char *s, u_char *out)
{
    u_char     buf[4], v;
    size_t     n, pad, olen;
    uint32_t   acc;

    n = 0;
    pad = 0;
    olen = 0;
    acc = 0;

    for (s++; *s != '"'; /* void */) {

        if (ngx_ws_json_char(&s, buf) != 1) {
            return -1;
        }

        if (buf[0] == '=') {
            pad++;
            continue;
        }

        if (pad) {
            /* data after the padding */
            return -1;
        }

        v = ngx_ws_json_base64_value(buf[0]);
        if (v == NGX_WS_JSON_B64_BAD) {
            return -1;
        }

        acc = (acc << 6) | v;
        n++;

        if ((n & 3) == 0) {
            if (out) {
                out[olen] = (u_char) (acc >> 16);
                out[olen + 1] = (u_char) (acc >> 8);
                out[olen + 2] = (u_char) acc;
            }

            olen += 3;
            acc = 0;
        }
    }

    /* the padding is optional, but if present it completes the quantum */

    if ((n & 3) == 1 || (pad && ((n + pad) & 3) != 0) || pad > 2) {
        return -1;
    }

    switch (n & 3) {

    case 2:
        if (out) {
            out[olen] = (u_char) (acc >> 4);
        }

        olen += 1;
        break;

    case 3:
        if (out) {
            out[olen] = (u_char) (acc >> 10);
            out[olen + 1] = (u_char) (acc >> 2);
        }

        olen += 2;
        break;
    }

    return (ssize_t) olen;
}


static u_char
ngx_ws_json_base64_value(u_char c)
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

    return NGX_WS_JSON_B64_BAD;
}


static void
ngx_ws_json_binary_copy(ngx_ws_json_binary_t *b, const u_char *p, size_t len)
{
    if (b->json_out) {
        memcpy(b->json_out + b->json_len, p, len);
    }

    b->json_len += len;
}


static void
ngx_ws_json_placeholder(ngx_ws_json_binary_t *b, unsigned num)
{
    u_char    digits[10];
    size_t    n;

    ngx_ws_json_binary_copy(b, (const u_char *) ngx_ws_json_placeholder_start,
                            sizeof(ngx_ws_json_placeholder_start) - 1);

    n = sizeof(digits);

    do {
        digits[--n] = (u_char) ('0' + num % 10);
        num /= 10;
    } while (num);

    ngx_ws_json_binary_copy(b, digits + n, sizeof(digits) - n);
    ngx_ws_json_binary_copy(b, (const u_char *) "}", 1);
}


ssize_t
ngx_ws_json_unplace(const u_char *p, size_t len, const u_char **bins,
    const size_t *lens, unsigned nbins, u_char *out)
{
    int                  num;
    size_t               n;
    u_char              *pos, *end, *copy;
    ssize_t              total;
    ngx_ws_json_type_e   type;

    static const char  head[] = "{\"$binary\":\"";

    pos = (u_char *) p;
    end = pos + len;
    copy = pos;
    total = 0;

    /* valid text: outside strings every '{' starts an object */

    while (pos < end) {

        if (*pos == '"') {
            pos = ngx_ws_json_string(pos, end);
            continue;
        }

        if (*pos != '{') {
            pos++;
            continue;
        }

        num = ngx_ws_json_placeholder_num(pos, end, nbins);

        if (num == -1) {
            pos++;
            continue;
        }

        if (num == -2) {
            return -1;
        }

        n = pos - copy;

        if (out) {
            out = (u_char *) memcpy(out, copy, n) + n;
            out = (u_char *) memcpy(out, head, sizeof(head) - 1)
                  + sizeof(head) - 1;
            out = ngx_ws_base64_encode(out, bins[num], lens[num]);
            *out++ = '"';
            *out++ = '}';
        }

        total += n + sizeof(head) - 1
                 + ngx_ws_base64_encoded_len(lens[num]) + 2;

        pos = ngx_ws_json_value(pos, end, &type);
        copy = pos;
    }

    n = pos - copy;

    if (out) {
        memcpy(out, copy, n);
    }

    return total + n;
}


/*
 * p is at a '{' of valid JSON: -1 if the object is no placeholder, -2 if
 * it is one with a bad "num", else its num.  Only an object of scalars
 * can be one (socket.io-parser writes {"_placeholder":true,"num":N}): the
 * look stops at the first member that is an array or an object, so that
 * no byte is looked at again for each object around it.
 */

static int
ngx_ws_json_placeholder_num(u_char *p, u_char *end, unsigned nbins)
{
    int                  num;
    u_char              *k, *k_end, *v, *v_end;
    unsigned             placeholder;
    ngx_ws_json_type_e   type;

    num = -2;
    placeholder = 0;

    for (p = ngx_ws_json_skip_ws(p + 1, end); *p == '"'; /* void */) {
        k = p;
        k_end = ngx_ws_json_string(k, end);

        v = ngx_ws_json_skip_ws(ngx_ws_json_skip_ws(k_end, end) + 1, end);

        if (*v == '{' || *v == '[') {
            return -1;
        }

        v_end = ngx_ws_json_value(v, end, &type);

        if (ngx_ws_json_string_eq(k, k_end, "_placeholder")) {
            placeholder = (type == NGX_WS_JSON_TRUE);

        } else if (ngx_ws_json_string_eq(k, k_end, "num")) {
            num = -2;

            if (v_end - v <= 2 && *v >= '0' && *v <= '9'
                && (v_end - v == 1 || (*v != '0' && v[1] >= '0'
                                       && v[1] <= '9')))
            {
                num = *v - '0';

                if (v_end - v == 2) {
                    num = num * 10 + (v[1] - '0');
                }

                if ((unsigned) num >= nbins) {
                    num = -2;
                }
            }
        }

        /* a ',' and the next key, or the closing '}' */

        p = ngx_ws_json_skip_ws(v_end, end);

        if (*p == ',') {
            p = ngx_ws_json_skip_ws(p + 1, end);
        }
    }

    if (!placeholder) {
        return -1;
    }

    return num;
}
