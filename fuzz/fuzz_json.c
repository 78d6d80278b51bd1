
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The JSON scanner on arbitrary text (exact-size buffers): validity agrees
 * with value(), array iteration agrees with validity, strings written are
 * valid and read back equal, and the $binary rewrite writes exactly what it
 * measured and produces valid JSON.
 */


#define _GNU_SOURCE            /* memmem() */

#include <stdlib.h>
#include <string.h>
#include "ngx_ws_json.h"
#include "ngx_ws_frame.h"


static void
check_array(u_char *p, u_char *end)
{
    u_char    *pos, *elt, *elt_end;
    unsigned   n;

    n = 0;

    for (pos = p + 1; (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         /* void */)
    {
        if (elt == NULL || elt_end <= elt || elt_end > end
            || !ngx_ws_json_valid(elt, elt_end))
        {
            abort();
        }

        n++;
    }

    /* p..end is a valid array: the iteration ends at its ']' */

    if (elt != NULL || elt_end != end) {
        abort();
    }
}


/* placeholders out: what it measures it writes, and the result is JSON */

static void
check_unplace(u_char *p, size_t len)
{
    u_char        *out;
    ssize_t        n, m;
    const u_char  *bins[2] = { (const u_char *) "\x00\xff", (const u_char *) "" };
    size_t         lens[2] = { 2, 0 };

    n = ngx_ws_json_unplace(p, len, bins, lens, 2, NULL);

    if (n < 0) {
        return;
    }

    out = malloc(n ? n : 1);
    m = ngx_ws_json_unplace(p, len, bins, lens, 2, out);

    if (m != n || !ngx_ws_json_valid(out, out + n)) {
        abort();
    }

    free(out);
}


static void
check_binary(u_char *p, size_t len)
{
    u_char    *json, *bin;
    size_t     json_len, bin_len, lens[64], sum, i;
    unsigned   nbins, first;

    if (ngx_ws_json_binary_measure(p, len, &json_len, &nbins, &bin_len) != 0)
    {
        if (ngx_ws_json_valid(p, p + len)) {
            /* only a bad base64 string may fail valid JSON */
            if (memmem(p, len, "$binary", 7) == NULL
                && memmem(p, len, "\\u", 2) == NULL)
            {
                abort();
            }
        }

        return;
    }

    if (nbins > 64) {
        return;
    }

    /* numbers keep their width only while they stay single digits */
    first = nbins <= 10 ? 10 - nbins : 0;

    json = malloc(json_len ? json_len : 1);
    bin = malloc(bin_len ? bin_len : 1);

    /* valid JSON is UTF-8 and has no 0xff: all of json_len is written */
    memset(json, 0xff, json_len);

    if (ngx_ws_json_binary_write(p, len, first, json, bin, lens) != 0) {
        abort();
    }

    if (memchr(json, 0xff, json_len) != NULL
        || !ngx_ws_json_valid(json, json + json_len))
    {
        abort();
    }

    if (nbins == 0 && (json_len != len || memcmp(json, p, len) != 0)) {
        abort();
    }

    sum = 0;

    for (i = 0; i < nbins; i++) {
        sum += lens[i];
    }

    if (sum != bin_len) {
        abort();
    }

    free(json);
    free(bin);
}


static void
check_string(const uint8_t *data, size_t size)
{
    u_char  *out, *e;
    char    *lit;
    size_t   len;

    len = ngx_ws_json_string_len(data, size);
    out = malloc(len);
    e = ngx_ws_json_string_write(out, data, size);

    if ((size_t) (e - out) != len) {
        abort();
    }

    if (ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, data, size)
        == NGX_WS_UTF8_ACCEPT)
    {
        if (!ngx_ws_json_valid(out, e)) {
            abort();
        }

        if (memchr(data, 0, size) == NULL) {
            lit = malloc(size + 1);
            memcpy(lit, data, size);
            lit[size] = '\0';

            if (!ngx_ws_json_string_eq(out, e, lit)) {
                abort();
            }

            free(lit);
        }
    }

    free(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char              *p, *end, *v, *e;
    int                  valid;
    ngx_ws_json_type_e   type;

    p = malloc(size ? size : 1);
    memcpy(p, data, size);
    end = p + size;

    valid = ngx_ws_json_valid(p, end);

    v = ngx_ws_json_skip_ws(p, end);
    e = ngx_ws_json_value(v, end, &type);

    if (e == NULL) {
        if (valid || type != NGX_WS_JSON_INVALID) {
            abort();
        }

    } else {
        if (e <= v || e > end || type == NGX_WS_JSON_INVALID) {
            abort();
        }

        if (valid != (ngx_ws_json_skip_ws(e, end) == end)) {
            abort();
        }

        if (valid && type == NGX_WS_JSON_ARRAY) {
            check_array(v, e);
        }

        if (valid) {
            check_unplace(p, size);
        }

        if (type == NGX_WS_JSON_STRING) {
            /* comparing any valid token stays in bounds */
            (void) ngx_ws_json_string_eq(v, e, "x");
        }
    }

    check_binary(p, size);
    check_string(data, size);

    free(p);

    return 0;
}
