
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


static ngx_ws_msg_t *ngx_ws_event_encode(ngx_ws_event_t *ev,
    unsigned b64);


/* A message holding one frame; *p is where its payload goes. */

ngx_ws_msg_t *
ngx_ws_msg_frame(unsigned opcode, size_t len, u_char **p)
{
    size_t         hlen;
    ngx_ws_msg_t  *msg;

    hlen = ngx_ws_frame_header_len(len);

    msg = ngx_alloc(offsetof(ngx_ws_msg_t, data) + hlen + len,
                    ngx_cycle->log);
    if (msg == NULL) {
        return NULL;
    }

    msg->refs = 1;
    msg->len = hlen + len;

    *p = ngx_ws_frame_header_write(msg->data, opcode, len);

    return msg;
}


void
ngx_ws_msg_release(ngx_ws_msg_t *msg)
{
    if (--msg->refs == 0) {
        ngx_free(msg);
    }
}


/*
 * The frames of an event, built on first use and shared by every receiver:
 * the Engine.IO message "4<packet>" and one frame per binary attachment,
 * binary frames or, for clients that asked for base64, "b<base64>" text.
 */

ngx_ws_msg_t *
ngx_ws_event_msg(ngx_ws_event_t *ev, unsigned b64)
{
    ngx_ws_msg_t  **msg;

    msg = b64 ? &ev->msg_b64 : &ev->msg;

    if (*msg == NULL) {
        *msg = ngx_ws_event_encode(ev, b64);
    }

    return *msg;
}


static ngx_ws_msg_t *
ngx_ws_event_encode(ngx_ws_event_t *ev, unsigned b64)
{
    u_char        *p;
    size_t         len, plen, i;
    ngx_ws_op_t   *op;
    ngx_ws_msg_t  *msg;

    op = ev->op;

    len = ngx_ws_frame_header_len(1 + op->packet.len) + 1 + op->packet.len;

    for (i = 0; i < op->nbins; i++) {
        plen = b64 ? 1 + ngx_ws_base64_encoded_len(op->bins[i].len)
                   : op->bins[i].len;
        len += ngx_ws_frame_header_len(plen) + plen;
    }

    msg = ngx_alloc(offsetof(ngx_ws_msg_t, data) + len, ngx_cycle->log);
    if (msg == NULL) {
        return NULL;
    }

    msg->refs = 1;
    msg->len = len;

    p = ngx_ws_frame_header_write(msg->data, NGX_WS_OP_TEXT,
                                  1 + op->packet.len);
    *p++ = NGX_WS_EIO_MESSAGE;
    p = ngx_cpymem(p, op->packet.data, op->packet.len);

    for (i = 0; i < op->nbins; i++) {
        if (b64) {
            plen = 1 + ngx_ws_base64_encoded_len(op->bins[i].len);
            p = ngx_ws_frame_header_write(p, NGX_WS_OP_TEXT, plen);
            *p++ = 'b';
            p = ngx_ws_base64_encode(p, op->bins[i].data, op->bins[i].len);

        } else {
            p = ngx_ws_frame_header_write(p, NGX_WS_OP_BINARY,
                                          op->bins[i].len);
            p = ngx_cpymem(p, op->bins[i].data, op->bins[i].len);
        }
    }

    return msg;
}


void
ngx_ws_event_release(ngx_ws_event_t *ev)
{
    if (ev->msg) {
        ngx_ws_msg_release(ev->msg);
        ev->msg = NULL;
    }

    if (ev->msg_b64) {
        ngx_ws_msg_release(ev->msg_b64);
        ev->msg_b64 = NULL;
    }
}
