
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_frame.h"


/* validator states besides ACCEPT (0) and REJECT (1) */
#define NGX_WS_UTF8_TAIL1   2   /* one 80-BF byte left */
#define NGX_WS_UTF8_TAIL2   3   /* two 80-BF bytes left */
#define NGX_WS_UTF8_TAIL3   4   /* three 80-BF bytes left */
#define NGX_WS_UTF8_E0      5   /* A0-BF, then one more: no overlong */
#define NGX_WS_UTF8_ED      6   /* 80-9F, then one more: no surrogate */
#define NGX_WS_UTF8_F0      7   /* 90-BF, then two more: no overlong */
#define NGX_WS_UTF8_F4      8   /* 80-8F, then two more: <= U+10FFFF */


/* the parser keeps why it failed, for the log */
#define ngx_ws_frame_error(p, code, reason)                                  \
    ((p)->error = (reason), -(ssize_t) (code))


static ssize_t ngx_ws_parser_frame(ngx_ws_parser_t *p, unsigned opcode,
    unsigned fin, u_char *payload, size_t len, size_t max_payload,
    const ngx_ws_parser_ops_t *ops, void *data);
static ssize_t ngx_ws_parser_append(ngx_ws_parser_t *p, u_char *payload,
    size_t len, size_t max_payload, const ngx_ws_parser_ops_t *ops,
    void *data);
static ssize_t ngx_ws_parser_close(ngx_ws_parser_t *p, u_char *payload,
    size_t len);
static void ngx_ws_unmask(u_char *p, size_t len, const u_char *key);


ssize_t
ngx_ws_parser_execute(ngx_ws_parser_t *p, u_char *buf, size_t len,
    size_t max_payload, const ngx_ws_parser_ops_t *ops, void *data,
    size_t *need)
{
    u_char    *pos, *end, *payload;
    size_t     avail, hlen, i;
    ssize_t    rc;
    unsigned   fin, opcode, control;
    uint64_t   plen;

    *need = 0;

    pos = buf;
    end = buf + len;

    for ( ;; ) {
        avail = end - pos;

        if (avail < 2) {
            break;
        }

        /*
         * Everything the first two bytes tell is checked before the frame
         * is complete, so that a bad stream fails without being buffered.
         */

        fin = pos[0] & 0x80;
        opcode = pos[0] & 0x0f;

        if (pos[0] & 0x70) {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                      "reserved bits set");
        }

        switch (opcode) {

        case NGX_WS_OP_CONT:
            if (p->frag_opcode == 0) {
                return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                          "continuation with no message");
            }

            control = 0;
            break;

        case NGX_WS_OP_TEXT:
        case NGX_WS_OP_BINARY:
            if (p->frag_opcode) {
                return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                          "message inside a fragmented one");
            }

            control = 0;
            break;

        case NGX_WS_OP_CLOSE:
        case NGX_WS_OP_PING:
        case NGX_WS_OP_PONG:
            control = 1;
            break;

        default:
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                      "unknown opcode");
        }

        if (!(pos[1] & 0x80)) {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                      "frame not masked");
        }

        plen = pos[1] & 0x7f;

        if (control
            && (!fin || plen > 125
                || (opcode == NGX_WS_OP_CLOSE && plen == 1)))
        {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                      "invalid control frame");
        }

        hlen = 2;

        if (plen == 126) {
            hlen = 4;

            if (avail < hlen) {
                break;
            }

            plen = ((uint64_t) pos[2] << 8) | pos[3];

        } else if (plen == 127) {
            hlen = 10;

            if (avail < hlen) {
                break;
            }

            if (pos[2] & 0x80) {
                return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                          "length over 2^63");
            }

            plen = 0;

            for (i = 2; i < 10; i++) {
                plen = (plen << 8) | pos[i];
            }
        }

        /* the reassembled length never exceeds max_payload */

        if (!control
            && (p->frag_len > max_payload
                || plen > (uint64_t) (max_payload - p->frag_len)))
        {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_TOO_BIG,
                                      "message larger than ws_max_payload");
        }

        hlen += 4;

        if (avail < hlen) {
            break;
        }

        if (plen > avail - hlen) {
            *need = hlen + (size_t) plen;
            break;
        }

        payload = pos + hlen;
        ngx_ws_unmask(payload, (size_t) plen, pos + hlen - 4);

        pos = payload + plen;

        rc = ngx_ws_parser_frame(p, opcode, fin, payload, (size_t) plen,
                                 max_payload, ops, data);

        if (rc == NGX_WS_PARSE_PAUSED) {
            return pos - buf;
        }

        if (rc != 0) {
            return rc;
        }
    }

    return pos - buf;
}


/* Returns 0 to go on, or what ngx_ws_parser_execute() must return. */

static ssize_t
ngx_ws_parser_frame(ngx_ws_parser_t *p, unsigned opcode, unsigned fin,
    u_char *payload, size_t len, size_t max_payload,
    const ngx_ws_parser_ops_t *ops, void *data)
{
    u_char  *msg;
    ssize_t  rc;

    switch (opcode) {

    case NGX_WS_OP_CLOSE:
        rc = ngx_ws_parser_close(p, payload, len);
        if (rc != 0) {
            return rc;
        }

        break;

    case NGX_WS_OP_PING:
    case NGX_WS_OP_PONG:
        break;

    case NGX_WS_OP_TEXT:
    case NGX_WS_OP_BINARY:

        if (!fin) {
            p->frag_opcode = opcode;
            p->frag_len = 0;
            p->utf8 = NGX_WS_UTF8_ACCEPT;

            return ngx_ws_parser_append(p, payload, len, max_payload, ops,
                                        data);
        }

        if (opcode == NGX_WS_OP_TEXT
            && ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, payload, len)
               != NGX_WS_UTF8_ACCEPT)
        {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_INVALID_DATA,
                                      "invalid UTF-8 in a text message");
        }

        break;

    default: /* NGX_WS_OP_CONT */

        rc = ngx_ws_parser_append(p, payload, len, max_payload, ops, data);
        if (rc != 0 || !fin) {
            return rc;
        }

        if (p->frag_opcode == NGX_WS_OP_TEXT
            && p->utf8 != NGX_WS_UTF8_ACCEPT)
        {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_INVALID_DATA,
                                      "invalid UTF-8 in a text message");
        }

        opcode = p->frag_opcode;
        len = p->frag_len;

        /* an empty message may have no buffer: payload is still valid */
        msg = p->frag ? p->frag : payload;

        /* the message is closed before the handler may reset the parser */
        p->frag_opcode = 0;
        p->frag_len = 0;
        p->utf8 = NGX_WS_UTF8_ACCEPT;

        rc = ops->message(data, opcode, msg, len);

        if (rc == 1) {
            return NGX_WS_PARSE_STOPPED;
        }

        /* messages are rarely fragmented: do not keep the buffer around */

        if (p->frag) {
            ops->free(data, p->frag);
            p->frag = NULL;
            p->frag_cap = 0;
        }

        return rc ? NGX_WS_PARSE_PAUSED : 0;
    }

    rc = ops->message(data, opcode, payload, len);

    if (rc == 1) {
        return NGX_WS_PARSE_STOPPED;
    }

    return rc ? NGX_WS_PARSE_PAUSED : 0;
}


static ssize_t
ngx_ws_parser_append(ngx_ws_parser_t *p, u_char *payload, size_t len,
    size_t max_payload, const ngx_ws_parser_ops_t *ops, void *data)
{
    u_char  *buf;
    size_t   size;

    if (p->frag_opcode == NGX_WS_OP_TEXT) {
        p->utf8 = ngx_ws_utf8_validate(p->utf8, payload, len);

        if (p->utf8 == NGX_WS_UTF8_REJECT) {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_INVALID_DATA,
                                      "invalid UTF-8 in a text message");
        }
    }

    if (len == 0) {
        return 0;
    }

    if (len > p->frag_cap - p->frag_len) {

        /* doubling keeps appends linear; the caller checked max_payload */

        if (p->frag_cap == 0) {
            size = 1024;

        } else if (p->frag_cap > max_payload / 2) {
            size = max_payload;

        } else {
            size = p->frag_cap * 2;
        }

        if (size < p->frag_len + len) {
            size = p->frag_len + len;
        }

        if (size > max_payload) {
            size = max_payload;
        }

        buf = ops->alloc(data, size);
        if (buf == NULL) {
            return ngx_ws_frame_error(p, NGX_WS_CLOSE_INTERNAL,
                                      "no memory for a fragmented message");
        }

        if (p->frag) {
            memcpy(buf, p->frag, p->frag_len);
            ops->free(data, p->frag);
        }

        p->frag = buf;
        p->frag_cap = size;
    }

    memcpy(p->frag + p->frag_len, payload, len);
    p->frag_len += len;

    return 0;
}


static ssize_t
ngx_ws_parser_close(ngx_ws_parser_t *p, u_char *payload, size_t len)
{
    if (len == 0) {
        return 0;
    }

    /* a length of 1 was refused from the header */

    if (!ngx_ws_close_code_valid(ngx_ws_close_code(payload, len))) {
        return ngx_ws_frame_error(p, NGX_WS_CLOSE_PROTOCOL_ERROR,
                                  "invalid close code");
    }

    if (ngx_ws_utf8_validate(NGX_WS_UTF8_ACCEPT, payload + 2, len - 2)
        != NGX_WS_UTF8_ACCEPT)
    {
        return ngx_ws_frame_error(p, NGX_WS_CLOSE_INVALID_DATA,
                                  "invalid UTF-8 in a close reason");
    }

    return 0;
}


static void
ngx_ws_unmask(u_char *p, size_t len, const u_char *key)
{
    size_t    i;
    uint64_t  word, mask8;
    uint32_t  mask4;

    /* a word at a time: the mask repeats every 4 bytes, so also every 8 */

    memcpy(&mask4, key, 4);
    mask8 = ((uint64_t) mask4 << 32) | mask4;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&word, p + i, 8);
        word ^= mask8;
        memcpy(p + i, &word, 8);
    }

    for ( /* void */ ; i < len; i++) {
        p[i] ^= key[i & 3];
    }
}


void
ngx_ws_parser_reset(ngx_ws_parser_t *p, const ngx_ws_parser_ops_t *ops,
    void *data)
{
    if (p->frag) {
        ops->free(data, p->frag);
    }

    memset(p, 0, sizeof(ngx_ws_parser_t));
}


size_t
ngx_ws_frame_header_len(uint64_t payload_len)
{
    if (payload_len <= 125) {
        return 2;
    }

    if (payload_len <= 0xffff) {
        return 4;
    }

    return 10;
}


u_char *
ngx_ws_frame_header_write(u_char *dst, unsigned opcode, uint64_t payload_len)
{
    int  shift;

    *dst++ = (u_char) (0x80 | (opcode & 0x0f));

    if (payload_len <= 125) {
        *dst++ = (u_char) payload_len;
        return dst;
    }

    if (payload_len <= 0xffff) {
        *dst++ = 126;
        *dst++ = (u_char) (payload_len >> 8);
        *dst++ = (u_char) payload_len;
        return dst;
    }

    *dst++ = 127;

    for (shift = 56; shift >= 0; shift -= 8) {
        *dst++ = (u_char) (payload_len >> shift);
    }

    return dst;
}


size_t
ngx_ws_close_frame_write(u_char *dst, unsigned code)
{
    dst[0] = 0x80 | NGX_WS_OP_CLOSE;

    if (code == 0) {
        dst[1] = 0;
        return 2;
    }

    dst[1] = 2;
    dst[2] = (u_char) (code >> 8);
    dst[3] = (u_char) code;

    return 4;
}


unsigned
ngx_ws_close_code(const u_char *payload, size_t len)
{
    if (len < 2) {
        return NGX_WS_CLOSE_NO_STATUS;
    }

    return ((unsigned) payload[0] << 8) | payload[1];
}


int
ngx_ws_close_code_valid(unsigned code)
{
    /* 1004-1006 and 1015 are reserved, 1012+ unassigned by RFC 6455 */

    return (code >= 1000 && code <= 1003)
           || (code >= 1007 && code <= 1011)
           || (code >= 3000 && code <= 4999);
}


uint32_t
ngx_ws_utf8_validate(uint32_t state, const u_char *p, size_t len)
{
    u_char        c;
    const u_char  *end;

    end = p + len;

    while (p < end) {
        c = *p++;

        switch (state) {

        case NGX_WS_UTF8_ACCEPT:

            if (c < 0x80) {
                /* ASCII runs are by far the most common */
                while (p < end && *p < 0x80) {
                    p++;
                }

                continue;
            }

            if (c < 0xc2) {
                /* a continuation byte, or an overlong C0/C1 lead */
                return NGX_WS_UTF8_REJECT;
            }

            if (c < 0xe0) {
                state = NGX_WS_UTF8_TAIL1;

            } else if (c == 0xe0) {
                state = NGX_WS_UTF8_E0;

            } else if (c == 0xed) {
                state = NGX_WS_UTF8_ED;

            } else if (c < 0xf0) {
                state = NGX_WS_UTF8_TAIL2;

            } else if (c == 0xf0) {
                state = NGX_WS_UTF8_F0;

            } else if (c < 0xf4) {
                state = NGX_WS_UTF8_TAIL3;

            } else if (c == 0xf4) {
                state = NGX_WS_UTF8_F4;

            } else {
                return NGX_WS_UTF8_REJECT;
            }

            continue;

        case NGX_WS_UTF8_TAIL1:
            if (c < 0x80 || c > 0xbf) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_ACCEPT;
            continue;

        case NGX_WS_UTF8_TAIL2:
            if (c < 0x80 || c > 0xbf) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_TAIL1;
            continue;

        case NGX_WS_UTF8_TAIL3:
            if (c < 0x80 || c > 0xbf) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_TAIL2;
            continue;

        case NGX_WS_UTF8_E0:
            if (c < 0xa0 || c > 0xbf) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_TAIL1;
            continue;

        case NGX_WS_UTF8_ED:
            if (c < 0x80 || c > 0x9f) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_TAIL1;
            continue;

        case NGX_WS_UTF8_F0:
            if (c < 0x90 || c > 0xbf) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_TAIL2;
            continue;

        case NGX_WS_UTF8_F4:
            if (c < 0x80 || c > 0x8f) {
                return NGX_WS_UTF8_REJECT;
            }

            state = NGX_WS_UTF8_TAIL2;
            continue;

        default:
            return NGX_WS_UTF8_REJECT;
        }
    }

    return state;
}
