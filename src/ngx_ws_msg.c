
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"
#include "ngx_ws_recovery.h"


static ngx_ws_msg_t *ngx_ws_event_encode(ngx_ws_event_t *ev,
    unsigned form);


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
 * With NGX_WS_MSG_OFFSET an event of the log carries its offset as its
 * last argument, as socket.io's session-aware adapter appends it.
 */

ngx_ws_msg_t *
ngx_ws_event_msg(ngx_ws_event_t *ev, unsigned form)
{
    ngx_ws_op_t  *op;

    op = ev->op;

    if ((form & NGX_WS_MSG_OFFSET)
        && (op->seq == 0 || op->packet.len < 2
            || op->packet.data[op->packet.len - 1] != ']'
            || (op->packet.data[0] != '2' && op->packet.data[0] != '5')))
    {
        /* not an event of the log: nothing to append */
        form &= ~NGX_WS_MSG_OFFSET;
    }

    if (ev->msgs[form] == NULL) {
        ev->msgs[form] = ngx_ws_event_encode(ev, form);
    }

    return ev->msgs[form];
}


static ngx_ws_msg_t *
ngx_ws_event_encode(ngx_ws_event_t *ev, unsigned form)
{
    u_char        *p, *offset_end;
    size_t         len, plen, tlen, olen, i;
    unsigned       b64;
    ngx_ws_op_t   *op;
    ngx_ws_msg_t  *msg;
    u_char         offset[NGX_WS_RECOVERY_OFFSET_LEN];

    op = ev->op;
    b64 = form & NGX_WS_MSG_B64;
    olen = 0;

    if (form & NGX_WS_MSG_OFFSET) {
        offset_end = ngx_ws_recovery_offset(offset, op->seq);

        /* ,"<offset>" before the closing bracket */
        olen = 3 + (offset_end - offset);
    }

    tlen = op->packet.len + olen;
    len = ngx_ws_frame_header_len(1 + tlen) + 1 + tlen;

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

    p = ngx_ws_frame_header_write(msg->data, NGX_WS_OP_TEXT, 1 + tlen);
    *p++ = NGX_WS_EIO_MESSAGE;

    if (olen) {
        p = ngx_cpymem(p, op->packet.data, op->packet.len - 1);
        *p++ = ',';
        *p++ = '"';
        p = ngx_cpymem(p, offset, olen - 3);
        *p++ = '"';
        *p++ = ']';

    } else {
        p = ngx_cpymem(p, op->packet.data, op->packet.len);
    }

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
    ngx_uint_t  i;

    for (i = 0; i < 4; i++) {
        if (ev->msgs[i]) {
            ngx_ws_msg_release(ev->msgs[i]);
            ev->msgs[i] = NULL;
        }
    }
}
