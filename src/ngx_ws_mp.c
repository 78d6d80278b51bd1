
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_ws_json.h"
#include "ngx_ws_sio.h"
#include "ngx_ws_adapter.h"
#include "ngx_ws_mp.h"


static uint32_t ngx_ws_mp_be32(const u_char *p);
static int ngx_ws_mp_is(u_char *p, u_char *end, const char *lit);
static size_t ngx_ws_mp_utf8(const u_char *p, const u_char *end,
    size_t *bad);
static int ngx_ws_mp_digits(double a, int p, unsigned up,
    char *digits, int *k, int *e);
static size_t ngx_ws_mp_date(double ms, u_char *buf);
static const char *ngx_ws_mp_keys(ngx_ws_mp_json_t *j, u_char *p,
    u_char *end, uint32_t n, unsigned *twice);
static const char *ngx_ws_mp_map_twice(ngx_ws_mp_json_t *j,
    u_char **pp, u_char *end, uint32_t n, unsigned depth,
    unsigned *placeholder);
static int ngx_ws_mp_same_key(u_char *a, u_char *b, u_char *end);
static size_t ngx_ws_mp_key_hash(u_char *p, u_char *end);
static const char *ngx_ws_mp_ext(ngx_ws_mp_json_t *j,
    ngx_ws_mp_t *v, unsigned depth);
static const char *ngx_ws_mp_placeholder(ngx_ws_mp_json_t *j,
    u_char *data, size_t len, unsigned depth);
static u_char *ngx_ws_mp_scan(ngx_ws_mp_pack_t *c, u_char *p);
static u_char *ngx_ws_mp_number_end(ngx_ws_mp_pack_t *c,
    u_char *p);
static double ngx_ws_mp_strtod(ngx_ws_mp_pack_t *c, u_char *p);
static u_char *ngx_ws_mp_string_end(u_char *p);
static void ngx_ws_mp_pack_number(msgpack_packer *pk, double v);


const char  ngx_ws_mp_bad_mp[] = "not valid msgpack";
const char  ngx_ws_mp_deep[] = "data nests over 1000 levels";
const char  ngx_ws_mp_bins[] = "more than 10 binary attachments";

static const char  ngx_ws_mp_placeholder_start[] =
    "{\"_placeholder\":true,\"num\":";


void
ngx_ws_mp_put(ngx_ws_mp_out_t *o, const void *p, size_t n)
{
    if (o->buf && n) {
        if (o->over || n > o->cap - o->len) {
            o->over = 1;

        } else {
            memcpy(o->buf + o->len, p, n);
        }
    }

    o->len += n;
}


/* msgpack-c's packer writes here */

int
ngx_ws_mp_sink(void *data, const char *buf, size_t len)
{
    ngx_ws_mp_put(data, buf, len);
    return 0;
}


static uint32_t
ngx_ws_mp_be32(const u_char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


/*
 * Reads one header at *pp and, for STR, BIN and EXT, the payload: *pp
 * goes past them (an ARRAY's or MAP's entries follow).  -1 if the bytes
 * are no msgpack or end too soon: every entry takes a byte at least, so
 * counts are checked against what is left.
 */

int
ngx_ws_mp_read(u_char **pp, u_char *end, ngx_ws_mp_t *v)
{
    u_char     *p, c;
    size_t      size;
    uint64_t    n, bits;
    uint32_t    f32;
    float       f;

    p = *pp;

    if (p == end) {
        return -1;
    }

    c = *p++;
    v->code = c;
    v->ext = 0;
    v->n = 0;
    v->data = NULL;
    v->num = 0;

    if (c < 0x80 || c >= 0xe0) {
        v->type = NGX_WS_MP_NUMBER;
        v->num = (c < 0x80) ? c : (int8_t) c;
        goto done;
    }

    if (c < 0xc0) {
        if (c < 0x90) {
            v->type = NGX_WS_MP_MAP;
            n = c & 0x0f;
            goto entries;
        }

        if (c < 0xa0) {
            v->type = NGX_WS_MP_ARRAY;
            n = c & 0x0f;
            goto entries;
        }

        v->type = NGX_WS_MP_STR;
        n = c & 0x1f;
        goto payload;
    }

    /* the size of what follows the first byte: a length, or a value */

    switch (c) {

    case 0xc0:
        v->type = NGX_WS_MP_NIL;
        goto done;

    case 0xc2:
        v->type = NGX_WS_MP_FALSE;
        goto done;

    case 0xc3:
        v->type = NGX_WS_MP_TRUE;
        goto done;

    case 0xc4: case 0xc7: case 0xcc: case 0xd0: case 0xd9:
        size = 1;
        break;

    case 0xc5: case 0xc8: case 0xcd: case 0xd1: case 0xda: case 0xdc:
    case 0xde:
        size = 2;
        break;

    case 0xc6: case 0xc9: case 0xca: case 0xce: case 0xd2: case 0xdb:
    case 0xdd: case 0xdf:
        size = 4;
        break;

    case 0xcb: case 0xcf: case 0xd3:
        size = 8;
        break;

    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        /* fixext 1, 2, 4, 8, 16: the type, then the data */
        if (end - p < 1) {
            return -1;
        }

        v->type = NGX_WS_MP_EXT;
        v->ext = (int8_t) *p++;
        n = (uint64_t) 1 << (c - 0xd4);
        goto payload;

    default: /* 0xc1 */
        return -1;
    }

    if ((size_t) (end - p) < size) {
        return -1;
    }

    n = 0;

    while (size--) {
        n = (n << 8) | *p++;
    }

    switch (c) {

    case 0xc4: case 0xc5: case 0xc6:
        v->type = NGX_WS_MP_BIN;
        goto payload;

    case 0xc7: case 0xc8: case 0xc9:
        if (end - p < 1) {
            return -1;
        }

        v->type = NGX_WS_MP_EXT;
        v->ext = (int8_t) *p++;
        goto payload;

    case 0xd9: case 0xda: case 0xdb:
        v->type = NGX_WS_MP_STR;
        goto payload;

    case 0xdc: case 0xdd:
        v->type = NGX_WS_MP_ARRAY;
        goto entries;

    case 0xde: case 0xdf:
        v->type = NGX_WS_MP_MAP;
        goto entries;

    case 0xca:
        f32 = (uint32_t) n;
        memcpy(&f, &f32, 4);
        v->num = f;
        break;

    case 0xcb:
        bits = n;
        memcpy(&v->num, &bits, 8);
        break;

    case 0xcc: case 0xcd: case 0xce:
        v->num = (double) n;
        break;

    case 0xcf:
        /* notepack.io: hi * 2^32 + lo, rounded once as a double */
        v->num = (double) (n >> 32) * NGX_WS_MP_2_32
                 + (double) (n & 0xffffffff);
        break;

    case 0xd0:
        v->num = (int8_t) n;
        break;

    case 0xd1:
        v->num = (int16_t) n;
        break;

    case 0xd2:
        v->num = (int32_t) n;
        break;

    default: /* 0xd3 */
        v->num = (double) (int32_t) (n >> 32) * NGX_WS_MP_2_32
                 + (double) (n & 0xffffffff);
        break;
    }

    v->type = NGX_WS_MP_NUMBER;
    goto done;

entries:

    if (n > (uint64_t) (end - p) / (v->type == NGX_WS_MP_MAP ? 2 : 1)) {
        return -1;
    }

    v->n = (uint32_t) n;
    goto done;

payload:

    if (n > (uint64_t) (end - p)) {
        return -1;
    }

    v->n = (uint32_t) n;
    v->data = p;
    p += n;

done:

    *pp = p;

    return 0;
}


/* goes past n values, whatever they hold; no recursion */

int
ngx_ws_mp_skip(u_char **pp, u_char *end, uint64_t n)
{
    ngx_ws_mp_t  v;

    while (n) {
        if (ngx_ws_mp_read(pp, end, &v) != 0) {
            return -1;
        }

        n--;

        if (v.type == NGX_WS_MP_ARRAY) {
            n += v.n;

        } else if (v.type == NGX_WS_MP_MAP) {
            n += (uint64_t) v.n * 2;
        }
    }

    return 0;
}


/*
 * The values of the members of the map at p named in keys (NULL-ended):
 * vals[k] for keys[k], NULL when absent, the last of a key counting (as
 * notepack.io and JSON.parse() read them).  -1 when p holds no map.
 */

int
ngx_ws_mp_members(u_char *p, u_char *end, const char **keys, u_char **vals)
{
    u_char       *key, *val;
    size_t        k;
    uint32_t      i;
    ngx_ws_mp_t   v;

    for (k = 0; keys[k]; k++) {
        vals[k] = NULL;
    }

    if (p == NULL || ngx_ws_mp_read(&p, end, &v) != 0
        || v.type != NGX_WS_MP_MAP)
    {
        return -1;
    }

    for (i = 0; i < v.n; i++) {
        key = p;
        (void) ngx_ws_mp_skip(&p, end, 1);
        val = p;
        (void) ngx_ws_mp_skip(&p, end, 1);

        for (k = 0; keys[k]; k++) {
            if (ngx_ws_mp_is(key, end, keys[k])) {
                vals[k] = val;
                break;
            }
        }
    }

    return 0;
}


/* 1 and *s if the value at p (may be NULL) is a string */

int
ngx_ws_mp_string(u_char *p, u_char *end, ngx_ws_bytes_t *s)
{
    ngx_ws_mp_t  v;

    if (p == NULL || ngx_ws_mp_read(&p, end, &v) != 0
        || v.type != NGX_WS_MP_STR)
    {
        return 0;
    }

    s->data = v.data;
    s->len = v.n;

    return 1;
}


/* 1 if the value at p is the string lit */

static int
ngx_ws_mp_is(u_char *p, u_char *end, const char *lit)
{
    size_t       len;
    ngx_ws_mp_t  v;

    len = strlen(lit);

    return ngx_ws_mp_read(&p, end, &v) == 0 && v.type == NGX_WS_MP_STR
           && v.n == len && memcmp(v.data, lit, len) == 0;
}


/* notepack.io's legacy undefined: fixext 1 of type 0 */

int
ngx_ws_mp_undefined(u_char *p, u_char *end)
{
    return end - p >= 3 && p[0] == 0xd4 && p[1] == 0x00;
}


/* the value at p (NULL: absent, undefined) as JavaScript's if() sees it */

int
ngx_ws_mp_truthy(u_char *p, u_char *end)
{
    ngx_ws_mp_t  v;

    if (p == NULL || ngx_ws_mp_undefined(p, end)
        || ngx_ws_mp_read(&p, end, &v) != 0)
    {
        return 0;
    }

    switch (v.type) {

    case NGX_WS_MP_NIL:
    case NGX_WS_MP_FALSE:
        return 0;

    case NGX_WS_MP_NUMBER:
        return v.num != 0 && v.num == v.num;

    case NGX_WS_MP_STR:
        return v.n != 0;

    default:
        /* true, and objects: arrays, maps, Buffers, Dates */
        return 1;
    }
}


/*
 * The length of the valid UTF-8 sequence at p (*p >= 0x80), or 0 with
 * *bad the length of its maximal subpart, which the WHATWG decoder (and
 * so Node's Buffer.toString()) replaces with one U+FFFD.
 */

static size_t
ngx_ws_mp_utf8(const u_char *p, const u_char *end, size_t *bad)
{
    size_t  n, i;
    u_char  lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;

        if (p[0] == 0xe0) {
            lo = 0xa0;

        } else if (p[0] == 0xed) {
            hi = 0x9f;
        }

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;

        if (p[0] == 0xf0) {
            lo = 0x90;

        } else if (p[0] == 0xf4) {
            hi = 0x8f;
        }

    } else {
        *bad = 1;
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (p + i == end || p[i] < lo || p[i] > hi) {
            *bad = i;
            return 0;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    return n;
}


/*
 * Valid UTF-8, and with nul 0 without NUL: names (a namespace, rooms)
 * and map keys.  notepack.io writes nothing else (lone surrogates too go
 * out as valid sequences); as keys, two invalid ones could read as one.
 */

int
ngx_ws_mp_text_valid(const u_char *s, size_t len, unsigned nul)
{
    size_t         n, bad;
    const u_char  *end;

    end = s + len;

    while (s < end) {
        if (*s < 0x80) {
            if (*s++ == '\0' && !nul) {
                return 0;
            }

            continue;
        }

        n = ngx_ws_mp_utf8(s, end, &bad);
        if (n == 0) {
            return 0;
        }

        s += n;
    }

    return 1;
}


/*
 * s as JSON.stringify() writes the string: invalid UTF-8 is replaced as
 * Node decodes it, or, with cesu, a lone surrogate that
 * ngx_ws_json_string_decode() wrote as 3 bytes goes out as its \u escape,
 * as JSON.stringify() writes one.
 */

void
ngx_ws_mp_json_string(ngx_ws_mp_out_t *o, const u_char *s,
    size_t len, unsigned cesu)
{
    u_char         esc[6];
    size_t         n, bad;
    uint32_t       cp;
    const u_char  *end, *run;

    static const u_char  hex[] = "0123456789abcdef";

    if (len == 0) {
        /* s may be NULL */
        ngx_ws_mp_put(o, "\"\"", 2);
        return;
    }

    ngx_ws_mp_put(o, "\"", 1);

    end = s + len;
    run = s;

    while (s < end) {

        if (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\') {
            s++;
            continue;
        }

        if (*s >= 0x80) {
            n = ngx_ws_mp_utf8(s, end, &bad);
            if (n) {
                s += n;
                continue;
            }
        }

        ngx_ws_mp_put(o, run, s - run);

        esc[0] = '\\';
        n = 2;

        switch (*s) {

        case '"':
        case '\\':
            esc[1] = *s;
            break;

        case '\b':
            esc[1] = 'b';
            break;

        case '\f':
            esc[1] = 'f';
            break;

        case '\n':
            esc[1] = 'n';
            break;

        case '\r':
            esc[1] = 'r';
            break;

        case '\t':
            esc[1] = 't';
            break;

        default:
            if (*s < 0x20) {
                cp = *s;
                bad = 1;

            } else if (cesu && end - s >= 3 && s[0] == 0xed
                       && s[1] >= 0xa0 && s[1] <= 0xbf
                       && (s[2] & 0xc0) == 0x80)
            {
                cp = 0xd000 | ((s[1] & 0x3f) << 6) | (s[2] & 0x3f);
                bad = 3;

            } else {
                ngx_ws_mp_put(o, "\xef\xbf\xbd", 3);
                s += bad;
                run = s;
                continue;
            }

            esc[1] = 'u';
            esc[2] = hex[cp >> 12];
            esc[3] = hex[(cp >> 8) & 0xf];
            esc[4] = hex[(cp >> 4) & 0xf];
            esc[5] = hex[cp & 0xf];
            n = 6;
            s += bad - 1;
        }

        ngx_ws_mp_put(o, esc, n);
        s++;
        run = s;
    }

    ngx_ws_mp_put(o, run, s - run);
    ngx_ws_mp_put(o, "\"", 1);
}


/*
 * Number::toString: the fewest significant digits that read back as v
 * (the nearest such number when several have as few), then plain
 * notation for exponents -7 < e < 21, else d.ddde+X.  snprintf() and
 * strtod() round correctly.  Whether p digits read back only grows with
 * p, so p is found by bisection; but at a power of two the neighbour
 * below is twice as close as the one above, so a candidate rounded up
 * may read back where the nearest does not: those few values are
 * searched digit by digit, trying both.
 */

size_t
ngx_ws_adapter_number(double v, u_char *buf)
{
    int        p, lo, hi, k, n, e, i, have;
    char       digits[24];
    u_char    *b;
    double     a;
    uint64_t   bits;

    if (v != v || v - v != 0) {
        memcpy(buf, "null", 4);
        return 4;
    }

    if (v == 0) {
        buf[0] = '0';
        return 1;
    }

    a = (v < 0) ? -v : v;

    if (a < NGX_WS_MP_2_53 && (double) (int64_t) v == v) {
        return snprintf((char *) buf, 32, "%lld", (long long) v);
    }

    memcpy(&bits, &a, 8);

    /* have: how many digits are in digits[], if they read back */

    have = 0;

    if ((bits & 0x000fffffffffffffULL) == 0 && (bits >> 52) != 0) {

        for (p = 1; p < 17; p++) {
            if (ngx_ws_mp_digits(a, p, 0, digits, &k, &e)
                || ngx_ws_mp_digits(a, p, 1, digits, &k, &e))
            {
                have = p;
                break;
            }
        }

        p = have ? have : 17;

    } else {

        /* 17 digits always read back */

        lo = 1;
        hi = 17;

        while (lo < hi) {
            p = (lo + hi) / 2;

            if (ngx_ws_mp_digits(a, p, 0, digits, &k, &e)) {
                hi = p;
                have = p;

            } else {
                lo = p + 1;
                have = 0;
            }
        }

        p = lo;
    }

    if (have != p) {
        (void) ngx_ws_mp_digits(a, p, 0, digits, &k, &e);
    }

    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }

    /* a = 0.d1d2...dk * 10^n */

    n = e + 1;
    b = buf;

    if (v < 0) {
        *b++ = '-';
    }

    if (k <= n && n <= 21) {
        memcpy(b, digits, k);
        b += k;

        for (i = k; i < n; i++) {
            *b++ = '0';
        }

    } else if (0 < n && n <= 21) {
        memcpy(b, digits, n);
        b += n;
        *b++ = '.';
        memcpy(b, digits + n, k - n);
        b += k - n;

    } else if (-6 < n && n <= 0) {
        *b++ = '0';
        *b++ = '.';

        for (i = n; i < 0; i++) {
            *b++ = '0';
        }

        memcpy(b, digits, k);
        b += k;

    } else {
        *b++ = (u_char) digits[0];

        if (k > 1) {
            *b++ = '.';
            memcpy(b, digits + 1, k - 1);
            b += k - 1;
        }

        b += snprintf((char *) b, 8, "e%c%d", n - 1 < 0 ? '-' : '+',
                      n - 1 < 0 ? 1 - n : n - 1);
    }

    return b - buf;
}


/*
 * The p significant digits of a > 0 rounded to nearest (up: one unit in
 * the last place more, when the nearest is below a), into digits (no
 * NUL) and *k, with *e the exponent of the first; 1 if they read back as
 * a.
 */

static int
ngx_ws_mp_digits(double a, int p, unsigned up, char *digits, int *k,
    int *e)
{
    int    i, n;
    char   tmp[40], *s;

    snprintf(tmp, sizeof(tmp), "%.*e", p - 1, a);

    /* d[.ddd]e[+-]XX */

    n = 0;

    for (s = tmp; *s != 'e'; s++) {
        if (*s != '.') {
            digits[n++] = *s;
        }
    }

    *k = n;
    *e = atoi(s + 1);

    if (!up) {
        return strtod(tmp, NULL) == a;
    }

    if (strtod(tmp, NULL) > a) {
        return 0;
    }

    for (i = n - 1; i >= 0 && digits[i] == '9'; i--) {
        digits[i] = '0';
    }

    if (i < 0) {
        digits[0] = '1';
        (*e)++;

    } else {
        digits[i]++;
    }

    digits[n] = '\0';
    snprintf(tmp, sizeof(tmp), "%c.%se%d", digits[0], digits + 1, *e);

    return strtod(tmp, NULL) == a;
}


/*
 * JSON.stringify() of new Date(ms): its toISOString() in quotes, with a
 * six-digit signed year outside 0..9999, or null for an invalid date
 * (TimeClip: beyond 8.64e15 ms).  Room for 32 bytes.
 */

static size_t
ngx_ws_mp_date(double ms, u_char *buf)
{
    int64_t  t, days, msd, z, era, doe, yoe, y, doy, mp, d, m;

    if (!(ms >= -NGX_WS_MP_MAX_TIME && ms <= NGX_WS_MP_MAX_TIME)) {
        memcpy(buf, "null", 4);
        return 4;
    }

    t = (int64_t) ms;

    days = t / 86400000;
    msd = t % 86400000;

    if (msd < 0) {
        msd += 86400000;
        days--;
    }

    /* the proleptic Gregorian date of a day number (H. Hinnant's) */

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = (mp < 10) ? mp + 3 : mp - 9;
    y += (m <= 2);

    return snprintf((char *) buf, 32,
                    (y >= 0 && y <= 9999)
                    ? "\"%s%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ\""
                    : "\"%s%06lld-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
                    (y >= 0 && y <= 9999) ? "" : (y < 0 ? "-" : "+"),
                    (long long) (y < 0 ? -y : y), (int) m, (int) d,
                    (int) (msd / 3600000), (int) (msd / 60000 % 60),
                    (int) (msd / 1000 % 60), (int) (msd % 1000));
}


/*
 * The value at *pp as socket.io-parser would send what notepack.io
 * decodes; depth is the level an array or object here would have.
 */

const char *
ngx_ws_mp_value(ngx_ws_mp_json_t *j, u_char **pp, u_char *end,
    unsigned depth)
{
    u_char       *key, num[32];
    uint32_t      i;
    unsigned      first, placeholder, twice;
    const char   *rc;
    ngx_ws_mp_t   v, k;

    if (ngx_ws_mp_read(pp, end, &v) != 0) {
        return ngx_ws_mp_bad_mp;
    }

    switch (v.type) {

    case NGX_WS_MP_NIL:
        ngx_ws_mp_put(&j->out, "null", 4);
        return NULL;

    case NGX_WS_MP_FALSE:
        ngx_ws_mp_put(&j->out, "false", 5);
        return NULL;

    case NGX_WS_MP_TRUE:
        ngx_ws_mp_put(&j->out, "true", 4);
        return NULL;

    case NGX_WS_MP_NUMBER:
        if (j->out.buf == NULL && v.num == v.num && v.num - v.num == 0
            && !(v.num > -NGX_WS_MP_2_53 && v.num < NGX_WS_MP_2_53
                 && (double) (int64_t) v.num == v.num))
        {
            /* measuring: the longest it prints, not the search for it */
            j->out.len += NGX_WS_MP_NUMBER_MAX;
            return NULL;
        }

        ngx_ws_mp_put(&j->out, num, ngx_ws_adapter_number(v.num, num));
        return NULL;

    case NGX_WS_MP_STR:
        ngx_ws_mp_json_string(&j->out, v.data, v.n, 0);
        return NULL;

    case NGX_WS_MP_BIN:
        return ngx_ws_mp_placeholder(j, v.data, v.n, depth);

    case NGX_WS_MP_EXT:
        return ngx_ws_mp_ext(j, &v, depth);

    case NGX_WS_MP_ARRAY:
        if (depth > NGX_WS_MP_MAX_DEPTH) {
            return ngx_ws_mp_deep;
        }

        ngx_ws_mp_put(&j->out, "[", 1);

        for (i = 0; i < v.n; i++) {
            if (i) {
                ngx_ws_mp_put(&j->out, ",", 1);
            }

            rc = ngx_ws_mp_value(j, pp, end, depth + 1);
            if (rc) {
                return rc;
            }
        }

        ngx_ws_mp_put(&j->out, "]", 1);
        return NULL;

    default: /* NGX_WS_MP_MAP */
        if (depth > NGX_WS_MP_MAX_DEPTH) {
            return ngx_ws_mp_deep;
        }

        ngx_ws_mp_put(&j->out, "{", 1);
        placeholder = 0;

        /* the writing pass: the keys were checked when measuring */

        twice = 0;

        if (j->out.buf == NULL || j->twice) {
            rc = ngx_ws_mp_keys(j, *pp, end, v.n, &twice);
            if (rc) {
                return rc;
            }
        }

        if (twice) {
            j->twice = 1;

            rc = ngx_ws_mp_map_twice(j, pp, end, v.n, depth,
                                     &placeholder);
            if (rc) {
                return rc;
            }

            v.n = 0;
        }

        first = 1;

        for (i = 0; i < v.n; i++) {
            key = *pp;

            (void) ngx_ws_mp_read(pp, end, &k);

            /* socket.io-parser's test: "_placeholder" is true */

            if (ngx_ws_mp_is(key, end, "_placeholder")) {
                placeholder = (*pp < end && **pp == 0xc3);
            }

            /*
             * JSON.stringify() leaves out undefined members, and what
             * notepack.io assigns to "__proto__" is no member
             */

            if (ngx_ws_mp_undefined(*pp, end)
                || ngx_ws_mp_is(key, end, "__proto__"))
            {
                if (ngx_ws_mp_skip(pp, end, 1) != 0) {
                    return ngx_ws_mp_bad_mp;
                }

                continue;
            }

            if (!first) {
                ngx_ws_mp_put(&j->out, ",", 1);
            }

            first = 0;

            ngx_ws_mp_json_string(&j->out, k.data, k.n, 0);
            ngx_ws_mp_put(&j->out, ":", 1);

            rc = ngx_ws_mp_value(j, pp, end, depth + 1);
            if (rc) {
                return rc;
            }
        }

        if (placeholder) {
            j->lookalike = 1;
        }

        ngx_ws_mp_put(&j->out, "}", 1);
        return NULL;
    }
}


/*
 * Checks the keys of a map (its n members at p) and tells whether one
 * comes twice: keys are strings of valid UTF-8 (notepack.io writes no
 * other; two invalid ones could read as one key).  Only the keys are
 * read: the values are skipped without recursion.
 */

static const char *
ngx_ws_mp_keys(ngx_ws_mp_json_t *j, u_char *p, u_char *end,
    uint32_t n, unsigned *twice)
{
    u_char       *key, **slot, *few[NGX_WS_MP_FEW_KEYS];
    size_t        m, h, i;
    ngx_ws_mp_t   v;

    *twice = 0;
    slot = NULL;
    m = 0;

    if (n > NGX_WS_MP_FEW_KEYS) {
        for (m = 32; m < (size_t) n * 2; m *= 2) { /* void */ }

        if (m > j->nslots) {
            j->slots = j->alloc(j->data, m * sizeof(u_char *));
            if (j->slots == NULL) {
                j->nslots = 0;
                return ngx_ws_op_nomem;
            }

            j->nslots = m;
        }

        slot = j->slots;
        memset(slot, 0, m * sizeof(u_char *));
    }

    for (i = 0; i < n; i++) {
        key = p;

        if (ngx_ws_mp_read(&p, end, &v) != 0) {
            return ngx_ws_mp_bad_mp;
        }

        if (v.type != NGX_WS_MP_STR) {
            return "a map key is no string";
        }

        if (!ngx_ws_mp_text_valid(v.data, v.n, 1)) {
            return "a map key is no valid UTF-8";
        }

        if (ngx_ws_mp_skip(&p, end, 1) != 0) {
            return ngx_ws_mp_bad_mp;
        }

        if (*twice) {
            continue;
        }

        if (slot == NULL) {
            for (h = 0; h < i; h++) {
                if (ngx_ws_mp_same_key(few[h], key, end)) {
                    *twice = 1;
                }
            }

            few[i] = key;
            continue;
        }

        for (h = ngx_ws_mp_key_hash(key, end) & (m - 1);
             slot[h];
             h = (h + 1) & (m - 1))
        {
            if (ngx_ws_mp_same_key(slot[h], key, end)) {
                *twice = 1;
                break;
            }
        }

        slot[h] = key;
    }

    return NULL;
}


/*
 * A map with a key twice, as the object notepack.io builds of it: each
 * key in the place it first comes, with the value it last has; left out
 * if that is undefined.  *pp goes past the map.
 */

static const char *
ngx_ws_mp_map_twice(ngx_ws_mp_json_t *j, u_char **pp,
    u_char *end, uint32_t n, unsigned depth, unsigned *placeholder)
{
    u_char       *p, **key, **val, *q, *few_key[NGX_WS_MP_FEW_KEYS],
                 *few_val[NGX_WS_MP_FEW_KEYS];
    size_t        m, h, i, *slot, *last, *owner,
                  few_last[NGX_WS_MP_FEW_KEYS],
                  few_owner[NGX_WS_MP_FEW_KEYS];
    unsigned      first;
    const char   *rc;
    ngx_ws_mp_t   k;

    /* owner[i]: the first member of member i's key; last[first]: the last */

    slot = NULL;
    m = 0;

    if (n <= NGX_WS_MP_FEW_KEYS) {
        key = few_key;
        val = few_val;
        last = few_last;
        owner = few_owner;

    } else {
        for (m = 32; m < (size_t) n * 2; m *= 2) { /* void */ }

        key = j->alloc(j->data, (size_t) n * sizeof(u_char *));
        val = j->alloc(j->data, (size_t) n * sizeof(u_char *));
        last = j->alloc(j->data, (size_t) n * sizeof(size_t));
        owner = j->alloc(j->data, (size_t) n * sizeof(size_t));
        slot = j->alloc(j->data, m * sizeof(size_t));

        if (key == NULL || val == NULL || last == NULL || owner == NULL
            || slot == NULL)
        {
            return ngx_ws_op_nomem;
        }

        memset(slot, 0, m * sizeof(size_t));
    }

    p = *pp;

    for (i = 0; i < n; i++) {
        key[i] = p;
        (void) ngx_ws_mp_skip(&p, end, 1);
        val[i] = p;
        (void) ngx_ws_mp_skip(&p, end, 1);

        if (slot == NULL) {
            for (h = 0; !ngx_ws_mp_same_key(key[h], key[i], end); h++) {
                /* void: key[i] itself ends the search */
            }

            owner[i] = h;
            last[h] = i;
            continue;
        }

        /* slot: 1 + the first member of a key */

        for (h = ngx_ws_mp_key_hash(key[i], end) & (m - 1);
             slot[h] && !ngx_ws_mp_same_key(key[slot[h] - 1], key[i], end);
             h = (h + 1) & (m - 1))
        {
            /* void */
        }

        if (slot[h] == 0) {
            slot[h] = i + 1;
        }

        owner[i] = slot[h] - 1;
        last[owner[i]] = i;
    }

    *pp = p;
    first = 1;

    for (i = 0; i < n; i++) {
        if (owner[i] != i) {
            continue;
        }

        q = val[last[i]];

        if (ngx_ws_mp_is(key[i], end, "_placeholder")) {
            *placeholder = (*q == 0xc3);
        }

        if (ngx_ws_mp_undefined(q, end)
            || ngx_ws_mp_is(key[i], end, "__proto__"))
        {
            continue;
        }

        if (!first) {
            ngx_ws_mp_put(&j->out, ",", 1);
        }

        first = 0;

        p = key[i];
        (void) ngx_ws_mp_read(&p, end, &k);
        ngx_ws_mp_json_string(&j->out, k.data, k.n, 0);
        ngx_ws_mp_put(&j->out, ":", 1);

        rc = ngx_ws_mp_value(j, &q, end, depth + 1);
        if (rc) {
            return rc;
        }
    }

    return NULL;
}


/* the string keys at a and b are the same */

static int
ngx_ws_mp_same_key(u_char *a, u_char *b, u_char *end)
{
    ngx_ws_mp_t  x, y;

    (void) ngx_ws_mp_read(&a, end, &x);
    (void) ngx_ws_mp_read(&b, end, &y);

    return x.n == y.n && (x.n == 0 || memcmp(x.data, y.data, x.n) == 0);
}


/* FNV-1a of the string key at p */

static size_t
ngx_ws_mp_key_hash(u_char *p, u_char *end)
{
    size_t       h;
    uint32_t     i;
    ngx_ws_mp_t  k;

    (void) ngx_ws_mp_read(&p, end, &k);

    h = 2166136261u;

    for (i = 0; i < k.n; i++) {
        h = (h ^ k.data[i]) * 16777619u;
    }

    return h;
}


/*
 * notepack.io's extensions: type -1 is a timestamp (a Date), type 0 the
 * legacy undefined (fixext 1), Date (fixext 8, ms as int64) and
 * ArrayBuffer (ext 8/16/32); any other is [type, Buffer].
 */

static const char *
ngx_ws_mp_ext(ngx_ws_mp_json_t *j, ngx_ws_mp_t *v, unsigned depth)
{
    u_char            buf[32];
    uint32_t          hi, lo;
    const char       *rc;
    volatile double   ms;

    if (v->ext == 0) {
        switch (v->code) {

        case 0xd4:
            /* undefined, null as an element (members were left out) */
            ngx_ws_mp_put(&j->out, "null", 4);
            return NULL;

        case 0xd7:
            ms = (double) (int32_t) ngx_ws_mp_be32(v->data)
                 * NGX_WS_MP_2_32
                 + (double) ngx_ws_mp_be32(v->data + 4);
            goto date;

        case 0xc7:
        case 0xc8:
        case 0xc9:
            return ngx_ws_mp_placeholder(j, v->data, v->n, depth);
        }

    } else if (v->ext == -1) {

        /* as notepack.io computes it, one rounding after another */

        switch (v->code) {

        case 0xd6:
            ms = (double) ngx_ws_mp_be32(v->data) * 1e3;
            goto date;

        case 0xd7:
            hi = ngx_ws_mp_be32(v->data);
            lo = ngx_ws_mp_be32(v->data + 4);
            ms = (double) (hi & 3) * NGX_WS_MP_2_32 + (double) lo;
            ms = ms * 1e3;
            ms = ms + (double) (hi >> 2) / 1e6;
            goto date;

        case 0xc7:
            if (v->n != 12) {
                /* notepack.io would read 12 bytes all the same */
                return "a timestamp 96 of other than 12 bytes";
            }

            ms = (double) (int32_t) ngx_ws_mp_be32(v->data + 4)
                 * NGX_WS_MP_2_32
                 + (double) ngx_ws_mp_be32(v->data + 8);
            ms = ms * 1e3;
            ms = ms + (double) ngx_ws_mp_be32(v->data) / 1e6;
            goto date;
        }
    }

    if (depth > NGX_WS_MP_MAX_DEPTH) {
        return ngx_ws_mp_deep;
    }

    ngx_ws_mp_put(&j->out, buf,
                  snprintf((char *) buf, sizeof(buf), "[%d,", v->ext));

    rc = ngx_ws_mp_placeholder(j, v->data, v->n, depth + 1);
    if (rc) {
        return rc;
    }

    ngx_ws_mp_put(&j->out, "]", 1);
    return NULL;

date:

    ngx_ws_mp_put(&j->out, buf, ngx_ws_mp_date(ms, buf));
    return NULL;
}


static const char *
ngx_ws_mp_placeholder(ngx_ws_mp_json_t *j, u_char *data,
    size_t len, unsigned depth)
{
    u_char  num[4];

    if (depth > NGX_WS_MP_MAX_DEPTH) {
        return ngx_ws_mp_deep;
    }

    if (j->nbins == NGX_WS_SIO_MAX_ATTACHMENTS) {
        return ngx_ws_mp_bins;
    }

    j->bins[j->nbins].data = data;
    j->bins[j->nbins].len = len;

    ngx_ws_mp_put(&j->out, ngx_ws_mp_placeholder_start,
                  sizeof(ngx_ws_mp_placeholder_start) - 1);
    ngx_ws_mp_put(&j->out, num,
                  snprintf((char *) num, sizeof(num), "%u}", j->nbins));

    j->nbins++;

    return NULL;
}


/*
 * Valid JSON text p..end scanned for packing: its arrays and objects
 * counted, noted in document order, and room for its longest token.
 */

const char *
ngx_ws_mp_pack_prepare(ngx_ws_mp_pack_t *c, u_char *p, u_char *end,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char    *s;
    unsigned   in_string;

    c->base = p;
    c->end = end;
    c->nboxes = 0;

    in_string = 0;

    for (s = p; s < end; s++) {
        if (in_string) {
            if (*s == '\\') {
                s++;

            } else if (*s == '"') {
                in_string = 0;
            }

        } else if (*s == '"') {
            in_string = 1;

        } else if (*s == '[' || *s == '{') {
            c->nboxes++;
        }
    }

    c->boxes = alloc(data, (c->nboxes + 1) * sizeof(ngx_ws_mp_box_t));
    c->scratch = alloc(data, end - p + 1);

    if (c->boxes == NULL || c->scratch == NULL) {
        return ngx_ws_op_nomem;
    }

    c->k = 0;

    (void) ngx_ws_mp_scan(c, p);

    if (c->k != c->nboxes) {
        return "the JSON text could not be scanned";
    }

    return NULL;
}


/*
 * Notes every array and object of valid JSON text at p: its count, its
 * end, how many it holds, and for an object its "_placeholder" and "num"
 * (the last of a key counts, as JSON.parse() has it).  Returns the end
 * of the value.
 */

static u_char *
ngx_ws_mp_scan(ngx_ws_mp_pack_t *c, u_char *p)
{
    u_char                *k, *v;
    double                 d;
    size_t                 i;
    unsigned               kind, obj;
    ngx_ws_mp_box_t       *b;

    switch (*p) {

    case '"':
        return ngx_ws_mp_string_end(p);

    case 't':
    case 'n':
        return p + 4;

    case 'f':
        return p + 5;

    case '[':
    case '{':
        break;

    default:
        return ngx_ws_mp_number_end(c, p);
    }

    obj = (*p == '{');

    i = c->k++;
    b = &c->boxes[i];
    b->count = 0;
    b->num = -1;
    b->placeholder = 0;

    p = ngx_ws_json_skip_ws(p + 1, c->end);

    while (*p != ']' && *p != '}') {
        kind = 0;

        if (obj) {
            k = p;
            p = ngx_ws_mp_string_end(k);

            kind = ngx_ws_json_string_eq(k, p, "_placeholder") ? 1
                   : ngx_ws_json_string_eq(k, p, "num") ? 2 : 0;

            /* the ':' */

            p = ngx_ws_json_skip_ws(p, c->end);
            p = ngx_ws_json_skip_ws(p + 1, c->end);
        }

        v = p;
        p = ngx_ws_mp_scan(c, p);

        b = &c->boxes[i];

        if (kind == 1) {
            b->placeholder = (*v == 't');

        } else if (kind == 2) {
            b->num = -1;

            if (*v == '-' || (*v >= '0' && *v <= '9')) {
                d = ngx_ws_mp_strtod(c, v);

                if (d >= 0 && d < NGX_WS_SIO_MAX_ATTACHMENTS
                    && d == (double) (int) d)
                {
                    b->num = (int32_t) d;
                }
            }
        }

        b->count++;

        p = ngx_ws_json_skip_ws(p, c->end);

        if (*p == ',') {
            p = ngx_ws_json_skip_ws(p + 1, c->end);
        }
    }

    b->end = (uint32_t) (p + 1 - c->base);
    b->inner = (uint32_t) (c->k - i - 1);

    return p + 1;
}


/* one past the number token at p */

static u_char *
ngx_ws_mp_number_end(ngx_ws_mp_pack_t *c, u_char *p)
{
    while (p < c->end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+'
                          || *p == '.' || *p == 'e' || *p == 'E'))
    {
        p++;
    }

    return p;
}


/* the number token at p as JSON.parse() reads it, through the scratch */

static double
ngx_ws_mp_strtod(ngx_ws_mp_pack_t *c, u_char *p)
{
    u_char  *e;

    e = ngx_ws_mp_number_end(c, p);

    memcpy(c->scratch, p, e - p);
    c->scratch[e - p] = '\0';

    return strtod((char *) c->scratch, NULL);
}


/* one past the closing quote of the valid string token at p */

static u_char *
ngx_ws_mp_string_end(u_char *p)
{
    for (p++; *p != '"'; p++) {
        if (*p == '\\') {
            p++;
        }
    }

    return p + 1;
}


/* the JSON value at *pp, scanned before, as notepack.io encodes it */

const char *
ngx_ws_mp_pack(ngx_ws_mp_pack_t *c, u_char **pp)
{
    u_char                *p, *e;
    size_t                 n;
    uint32_t               i;
    unsigned               obj;
    const char            *rc;
    ngx_ws_mp_box_t       *b;

    p = *pp;

    switch (*p) {

    case '"':
        e = ngx_ws_mp_string_end(p);
        n = ngx_ws_json_string_decode(p, e, c->scratch);
        ngx_ws_mp_pack_str(&c->pk, c->scratch, n);
        *pp = e;
        return NULL;

    case 't':
        msgpack_pack_true(&c->pk);
        *pp = p + 4;
        return NULL;

    case 'f':
        msgpack_pack_false(&c->pk);
        *pp = p + 5;
        return NULL;

    case 'n':
        msgpack_pack_nil(&c->pk);
        *pp = p + 4;
        return NULL;

    case '[':
    case '{':
        break;

    default:
        ngx_ws_mp_pack_number(&c->pk, ngx_ws_mp_strtod(c, p));
        *pp = ngx_ws_mp_number_end(c, p);
        return NULL;
    }

    obj = (*p == '{');
    b = &c->boxes[c->k++];

    if (obj && b->placeholder && c->nbins) {

        /* socket.io-parser's reconstructPacket(): the attachment */

        if (b->num < 0 || (size_t) b->num >= c->nbins) {
            return "a placeholder names no attachment";
        }

        msgpack_pack_bin(&c->pk, c->bins[b->num].len);
        msgpack_pack_bin_body(&c->pk, c->bins[b->num].data,
                              c->bins[b->num].len);

        c->k += b->inner;
        *pp = c->base + b->end;
        return NULL;
    }

    if (obj) {
        msgpack_pack_map(&c->pk, b->count);

    } else {
        msgpack_pack_array(&c->pk, b->count);
    }

    p = ngx_ws_json_skip_ws(p + 1, c->end);

    for (i = 0; i < b->count; i++) {

        if (obj) {
            e = ngx_ws_mp_string_end(p);
            n = ngx_ws_json_string_decode(p, e, c->scratch);
            ngx_ws_mp_pack_str(&c->pk, c->scratch, n);

            p = ngx_ws_json_skip_ws(e, c->end);
            p = ngx_ws_json_skip_ws(p + 1, c->end);
        }

        rc = ngx_ws_mp_pack(c, &p);
        if (rc) {
            return rc;
        }

        p = ngx_ws_json_skip_ws(p, c->end);

        if (*p == ',') {
            p = ngx_ws_json_skip_ws(p + 1, c->end);
        }
    }

    *pp = c->base + b->end;

    return NULL;
}


/*
 * A string as msgpack str.  A lone surrogate that
 * ngx_ws_json_string_decode() wrote as 3 bytes (ED A0..BF xx; valid text
 * has none) goes out as U+FFFD, as Node's Buffer.write() writes one.
 */

void
ngx_ws_mp_pack_str(msgpack_packer *pk, const u_char *s, size_t len)
{
    const u_char  *end, *run;

    msgpack_pack_str(pk, len);

    if (len == 0) {
        /* s may be NULL */
        return;
    }

    end = s + len;

    for (run = s; s + 2 < end; s++) {
        if (s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf) {
            msgpack_pack_str_body(pk, run, s - run);
            msgpack_pack_str_body(pk, "\xef\xbf\xbd", 3);
            s += 2;
            run = s + 1;
        }
    }

    msgpack_pack_str_body(pk, run, end - run);
}


/*
 * notepack.io: an integer in the smallest int form, any other number as
 * float64.  Integers beyond uint64 and int64, which notepack.io writes
 * wrapped around, go as float64: the value the receiver reads.
 */

static void
ngx_ws_mp_pack_number(msgpack_packer *pk, double v)
{
    if (v == v && v - v == 0) {

        if (v >= 0) {
            if (v < 18446744073709551616.0
                && (v >= NGX_WS_MP_2_52 || (double) (uint64_t) v == v))
            {
                msgpack_pack_uint64(pk, (uint64_t) v);
                return;
            }

        } else if (v >= -9223372036854775808.0
                   && (v <= -NGX_WS_MP_2_52
                       || (double) (int64_t) v == v))
        {
            msgpack_pack_int64(pk, (int64_t) v);
            return;
        }
    }

    msgpack_pack_double(pk, v);
}


void
ngx_ws_mp_pack_list(msgpack_packer *pk, ngx_ws_bytes_t *list, size_t n)
{
    size_t  i;

    msgpack_pack_array(pk, n);

    for (i = 0; i < n; i++) {
        ngx_ws_mp_pack_str(pk, list[i].data, list[i].len);
    }
}


const char *
ngx_ws_mp_from_json(u_char *p, u_char *end, u_char **out,
    size_t *out_len, ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char                 *q;
    size_t                  pass;
    const char             *rc;
    ngx_ws_mp_pack_t        c;

    memset(&c, 0, sizeof(ngx_ws_mp_pack_t));

    p = ngx_ws_json_skip_ws(p, end);

    rc = ngx_ws_mp_pack_prepare(&c, p, end, alloc, data);
    if (rc) {
        return rc;
    }

    for (pass = 0; pass < 2; pass++) {

        if (ngx_ws_mp_pack_pass(&c, pass, alloc, data) != NGX_WS_MP_OK) {
            return ngx_ws_op_nomem;
        }

        c.k = 0;
        q = c.base;

        rc = ngx_ws_mp_pack(&c, &q);
        if (rc) {
            return rc;
        }
    }

    if (c.out.over || c.out.len != c.out.cap) {
        return "the message changed between two passes";
    }

    *out = c.out.buf;
    *out_len = c.out.len;

    return NULL;
}


/*
 * Packing is done twice: the first pass (0) only measures, the second
 * writes into memory of the measured size.  Starts pass "pass".
 */

int
ngx_ws_mp_pack_pass(ngx_ws_mp_pack_t *c, size_t pass,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    if (pass) {
        c->out.buf = alloc(data, c->out.len);
        if (c->out.buf == NULL) {
            return NGX_WS_MP_ERROR;
        }

        c->out.cap = c->out.len;
        c->out.len = 0;
    }

    msgpack_packer_init(&c->pk, &c->out, ngx_ws_mp_sink);

    return NGX_WS_MP_OK;
}
