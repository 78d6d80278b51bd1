
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Engine.IO decoding of arbitrary text and binary frames, base64 decoding
 * (in place and not, re-encoding round trips) and the open packet writer,
 * on exact-size buffers so that ASan sees any overrun.
 */


#include <stdlib.h>
#include "ngx_ws_eio.h"


static void
check_decode(const uint8_t *data, size_t size, unsigned binary)
{
    u_char               *buf;
    ngx_ws_eio_packet_t   pkt;

    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);

    if (ngx_ws_eio_decode(buf, size, binary, &pkt) == 0) {
        if (pkt.data < buf || pkt.data + pkt.len > buf + size) {
            abort();
        }

        if (binary && (pkt.type != NGX_WS_EIO_MESSAGE || !pkt.binary)) {
            abort();
        }

        if (!binary && size && data[0] != 'b'
            && (pkt.type != data[0] || pkt.binary || pkt.len != size - 1))
        {
            abort();
        }

    } else if (binary || (size && data[0] >= '0' && data[0] <= '6')) {
        abort();
    }

    free(buf);
}


static void
check_base64(const uint8_t *data, size_t size)
{
    u_char   *out, *in, *enc, *dec;
    size_t    elen;
    ssize_t   n, m;

    /* decoding: in place and out of place agree */

    out = malloc(ngx_ws_base64_decoded_len(size) + 1);
    in = malloc(size ? size : 1);
    memcpy(in, data, size);

    n = ngx_ws_base64_decode(out, data, size);
    m = ngx_ws_base64_decode(in, in, size);

    if (n != m || n > (ssize_t) ngx_ws_base64_decoded_len(size)
        || (n > 0 && memcmp(out, in, n) != 0))
    {
        abort();
    }

    /* what decoded re-encodes to something that decodes the same */

    if (n >= 0) {
        elen = ngx_ws_base64_encoded_len(n);
        enc = malloc(elen + 1);

        if ((size_t) (ngx_ws_base64_encode(enc, out, n) - enc) != elen) {
            abort();
        }

        dec = malloc(ngx_ws_base64_decoded_len(elen) + 1);

        if (ngx_ws_base64_decode(dec, enc, elen) != n
            || memcmp(dec, out, n) != 0)
        {
            abort();
        }

        free(enc);
        free(dec);
    }

    /* any bytes encode and decode back */

    elen = ngx_ws_base64_encoded_len(size);
    enc = malloc(elen + 1);

    if ((size_t) (ngx_ws_base64_encode(enc, data, size) - enc) != elen) {
        abort();
    }

    dec = malloc(ngx_ws_base64_decoded_len(elen) + 1);

    if (ngx_ws_base64_decode(dec, enc, elen) != (ssize_t) size
        || memcmp(dec, data, size) != 0)
    {
        abort();
    }

    free(enc);
    free(dec);
    free(out);
    free(in);
}


static void
check_open(const uint8_t *data, size_t size)
{
    u_char    *buf;
    size_t     len, max;
    unsigned   interval, timeout;

    if (size < 12) {
        return;
    }

    max = 0;
    memcpy(&interval, data, 4);
    memcpy(&timeout, data + 4, 4);
    memcpy(&max, data + 8, size < 16 ? 4 : sizeof(size_t) < 8 ? 4 : 8);

    len = ngx_ws_eio_open_len(size - 12, data[0] & 1, interval, timeout,
                              max);
    buf = malloc(len);

    if ((size_t) (ngx_ws_eio_open_write(buf, data + 12, size - 12,
                                        data[0] & 1, interval, timeout, max)
                  - buf)
        != len)
    {
        abort();
    }

    free(buf);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size, 0);
    check_decode(data, size, 1);
    check_base64(data, size);
    check_open(data, size);

    return 0;
}
