
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Socket.IO decoding of arbitrary packets on exact-size buffers; what
 * decodes must point into the input, carry valid JSON, and survive a
 * round trip through the header writer.
 */


#include <stdlib.h>
#include "ngx_ws_sio.h"
#include "ngx_ws_json.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *buf, *out, *e;
    size_t                len;
    ngx_ws_sio_packet_t   pkt, pkt2;

    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);

    if (ngx_ws_sio_decode(buf, size, &pkt) != 0) {
        free(buf);
        return 0;
    }

    if (pkt.type > NGX_WS_SIO_BINARY_ACK
        || pkt.attachments > NGX_WS_SIO_MAX_ATTACHMENTS
        || pkt.nsp_len == 0 || pkt.nsp[0] != '/'
        || memchr(pkt.nsp, ',', pkt.nsp_len) != NULL
        || pkt.ack_id < -1 || pkt.ack_id > 999999999999999LL)
    {
        abort();
    }

    if (pkt.nsp_len > 1
        && (pkt.nsp < buf || pkt.nsp + pkt.nsp_len > buf + size))
    {
        abort();
    }

    if (pkt.data) {
        if (pkt.data < buf || pkt.data + pkt.data_len != buf + size
            || !ngx_ws_json_valid(pkt.data, pkt.data + pkt.data_len)
            || pkt.type == NGX_WS_SIO_DISCONNECT)
        {
            abort();
        }
    }

    /* header + payload decodes to the same packet */

    len = ngx_ws_sio_header_len(pkt.type, pkt.nsp_len, pkt.attachments,
                                pkt.ack_id)
          + pkt.data_len;
    out = malloc(len ? len : 1);

    e = ngx_ws_sio_header_write(out, pkt.type, pkt.nsp, pkt.nsp_len,
                                pkt.attachments, pkt.ack_id);

    if (pkt.data_len) {
        memcpy(e, pkt.data, pkt.data_len);
    }

    if ((size_t) (e - out) + pkt.data_len != len) {
        abort();
    }

    if (ngx_ws_sio_decode(out, len, &pkt2) != 0
        || pkt2.type != pkt.type
        || pkt2.attachments != pkt.attachments
        || pkt2.nsp_len != pkt.nsp_len
        || memcmp(pkt2.nsp, pkt.nsp, pkt.nsp_len) != 0
        || pkt2.ack_id != pkt.ack_id
        || pkt2.data_len != pkt.data_len
        || (pkt.data_len && memcmp(pkt2.data, pkt.data, pkt.data_len) != 0))
    {
        abort();
    }

    free(out);
    free(buf);

    return 0;
}
