
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"


/*
 * The push endpoint: the application's way to emit, to put sockets in and
 * out of rooms and to disconnect them, as socket.io's
 * io.of(nsp).to(rooms).except(rooms).emit() / socketsJoin() /
 * socketsLeave() / disconnectSockets() do.  The body becomes an operation
 * record (ngx_ws_op.c) that every worker of the host applies
 * (ngx_ws_broker.c).
 */


static void ngx_ws_push_body(ngx_http_request_t *r);
static u_char *ngx_ws_push_read_body(ngx_http_request_t *r, size_t *len);
static ngx_int_t ngx_ws_push_matched(ngx_http_request_t *r, ngx_uint_t n);


ngx_int_t
ngx_ws_push_handler(ngx_http_request_t *r)
{
    size_t            len;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (r->method != NGX_HTTP_POST) {
        return ngx_ws_http_not_allowed(r, "POST");
    }

    h = r->headers_in.content_type;

    len = sizeof("application/json") - 1;

    if (h == NULL
        || h->value.len < len
        || ngx_strncasecmp(h->value.data, (u_char *) "application/json", len)
           != 0
        || (h->value.len > len
            && h->value.data[len] != ';' && h->value.data[len] != ' '))
    {
        return ngx_ws_http_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "Content-Type must be application/json");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_ws_push_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_ws_push_body(ngx_http_request_t *r)
{
    u_char       *body;
    size_t        len;
    ngx_int_t     rc;
    ngx_uint_t    matched;
    ngx_ws_op_t   op;
    const char   *reason;

    body = ngx_ws_push_read_body(r, &len);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    reason = ngx_ws_op_parse(body, body + len, NULL, &op, ngx_ws_pool_alloc,
                             r->pool);

    if (reason == ngx_ws_op_nomem) {
        ngx_ws_metrics_push(0, NGX_WS_M_PUSH_ERROR);
        rc = ngx_ws_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR, "%s",
                               reason);

    } else if (reason) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: push refused: %s", reason);
        ngx_ws_metrics_push(0, NGX_WS_M_PUSH_REJECTED);
        rc = ngx_ws_http_error(r, NGX_HTTP_BAD_REQUEST, "%s", reason);

    } else {
        rc = ngx_ws_broker_publish(&op, r->pool, &matched);

        ngx_ws_metrics_push(op.type, (rc == NGX_OK) ? NGX_WS_M_PUSH_OK
                                     : (rc == NGX_ERROR) ? NGX_WS_M_PUSH_ERROR
                                     : NGX_WS_M_PUSH_REJECTED);

        if (rc == NGX_OK) {
            rc = ngx_ws_push_matched(r, matched);

        } else if (rc == NGX_BUSY) {
            rc = ngx_ws_http_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "too large for the log of ws_zone");

        } else if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "ws: push refused: unknown namespace \"%*s\"",
                          op.nsp.len, op.nsp.data);
            rc = ngx_ws_http_error(r, NGX_HTTP_BAD_REQUEST,
                                   "unknown namespace");

        } else {
            rc = ngx_ws_http_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "out of memory");
        }
    }

    ngx_http_finalize_request(r, rc);
}


/* The body in one piece; nginx may have written a large one to a file. */

static u_char *
ngx_ws_push_read_body(ngx_http_request_t *r, size_t *len)
{
    u_char       *body, *p;
    off_t         size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    size = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            size += ngx_buf_size(cl->buf);
        }
    }

    body = ngx_pnalloc(r->pool, size + 1);
    if (body == NULL) {
        return NULL;
    }

    p = body;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            b = cl->buf;

            if (b->in_file) {
                n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                                  b->file_pos);
                if (n != b->file_last - b->file_pos) {
                    return NULL;
                }

                p += n;
                continue;
            }

            if (b->last > b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }
        }
    }

    *p = '\0';
    *len = p - body;

    return body;
}


static ngx_int_t
ngx_ws_push_matched(ngx_http_request_t *r, ngx_uint_t n)
{
    u_char  *p;
    u_char   buf[sizeof("{\"matched\":}") + NGX_INT_T_LEN];

    p = ngx_sprintf(buf, "{\"matched\":%ui}", n);

    return ngx_ws_http_reply(r, NGX_HTTP_OK, buf, p - buf);
}
