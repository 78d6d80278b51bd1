
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


#define NGX_WS_ERROR_MAX  256


/* an error page of nginx's own, rewritten as JSON */
typedef struct {
    ngx_buf_t                 *json;
    ngx_uint_t                 sent;
} ngx_ws_error_ctx_t;


static ngx_int_t ngx_ws_error_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_ws_error_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_buf_t *ngx_ws_error_json(ngx_http_request_t *r,
    ngx_uint_t status);


static ngx_http_output_header_filter_pt  ngx_ws_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_ws_next_body_filter;


/* A complete JSON response; body is copied, so it may live anywhere. */

ngx_int_t
ngx_ws_http_reply(ngx_http_request_t *r, ngx_uint_t status, u_char *body,
    size_t len)
{
    return ngx_ws_http_send(r, status, "application/json", body, len);
}


/*
 * An answer of the module's own: the body (none when len is 0, header
 * only) in the request's memory or in memory that outlives it; type NULL
 * leaves the Content-Type unset.
 */

ngx_int_t
ngx_ws_http_send(ngx_http_request_t *r, ngx_uint_t status, const char *type,
    u_char *body, size_t len)
{
    ngx_int_t    rc;
    ngx_buf_t   *b;
    ngx_chain_t  out;

    if (r == r->main && !r->request_body) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (type) {
        r->headers_out.content_type.len = ngx_strlen(type);
        r->headers_out.content_type.data = (u_char *) type;
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
    }

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_table_elt_t *
ngx_ws_http_header_in(ngx_http_request_t *r, const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* name and value must outlive the request's header filter */

ngx_int_t
ngx_ws_http_header_out(ngx_http_request_t *r, const char *name, size_t nlen,
    u_char *value, size_t vlen)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.len = nlen;
    h->key.data = (u_char *) name;
    h->value.len = vlen;
    h->value.data = value;

    return NGX_OK;
}


/* {"error":"..."}: fmt must produce JSON-safe text. */

ngx_int_t
ngx_ws_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;
    u_char    buf[NGX_WS_ERROR_MAX];

    last = buf + sizeof(buf) - 2;

    p = ngx_cpymem(buf, "{\"error\":\"", sizeof("{\"error\":\"") - 1);

    va_start(args, fmt);
    p = ngx_vslprintf(p, last, fmt, args);
    va_end(args);

    *p++ = '"';
    *p++ = '}';

    return ngx_ws_http_reply(r, status, buf, p - buf);
}


/* 405 with the Allow header, in JSON like every other answer here */

ngx_int_t
ngx_ws_http_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    return ngx_ws_http_error(r, NGX_HTTP_NOT_ALLOWED, "use %s", allow);
}


/*
 * Some answers are nginx's own, given before or around the handler: a
 * body over client_max_body_size (413, checked before any module runs),
 * a body that times out (408), a malformed chunked body (400).  In the
 * JSON endpoints their HTML pages become {"error":"..."} like the rest.
 */

ngx_int_t
ngx_ws_http_init_filters(ngx_conf_t *cf)
{
    ngx_ws_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_ws_error_header_filter;

    ngx_ws_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_ws_error_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_error_header_filter(ngx_http_request_t *r)
{
    ngx_buf_t           *b;
    ngx_ws_loc_conf_t   *wlcf;
    ngx_ws_error_ctx_t  *ctx;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    /* r->err_status marks a special response: ours never set it */

    if (!wlcf->json_errors || r->err_status < NGX_HTTP_BAD_REQUEST
        || r != r->main)
    {
        return ngx_ws_next_header_filter(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_ws_error_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    b = ngx_ws_error_json(r, r->err_status);
    if (b == NULL) {
        return NGX_ERROR;
    }

    ctx->json = b;
    ngx_http_set_ctx(r, ctx, ngx_ws_module);

    r->headers_out.content_length_n = b->last - b->pos;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_ws_next_header_filter(r);
}


static ngx_int_t
ngx_ws_error_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t          out;
    ngx_ws_loc_conf_t   *wlcf;
    ngx_ws_error_ctx_t  *ctx;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    if (!wlcf->json_errors) {
        return ngx_ws_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_ws_module);

    if (ctx == NULL) {
        return ngx_ws_next_body_filter(r, in);
    }

    /* the HTML page is dropped: its buffers are nginx's static texts */

    for ( /* void */ ; in; in = in->next) {
        in->buf->pos = in->buf->last;
    }

    if (ctx->sent) {
        return NGX_OK;
    }

    ctx->sent = 1;

    out.buf = ctx->json;
    out.next = NULL;

    return ngx_ws_next_body_filter(r, &out);
}


static ngx_buf_t *
ngx_ws_error_json(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_buf_t                 *b;
    ngx_http_core_loc_conf_t  *clcf;

    b = ngx_create_temp_buf(r->pool, NGX_WS_ERROR_MAX);
    if (b == NULL) {
        return NULL;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;

    switch (status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        b->last = ngx_sprintf(b->pos, "{\"error\":\"body is larger than "
                              "client_max_body_size (%O bytes)\"}",
                              clcf->client_max_body_size);
        break;

    case NGX_HTTP_REQUEST_TIME_OUT:
        b->last = ngx_sprintf(b->pos, "{\"error\":\"request timed out\"}");
        break;

    case NGX_HTTP_BAD_REQUEST:
        b->last = ngx_sprintf(b->pos, "{\"error\":\"bad request\"}");
        break;

    default:
        b->last = ngx_sprintf(b->pos, "{\"error\":\"HTTP %ui\"}", status);
    }

    return b;
}
