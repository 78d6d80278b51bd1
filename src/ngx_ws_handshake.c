
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_sha1.h>

#include "ngx_ws_var.h"


#define NGX_WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define NGX_WS_KEY_LEN     24
#define NGX_WS_ACCEPT_LEN  28

/* nginx 1.22 knows no name nor reason phrase for it */
#define NGX_WS_HTTP_UPGRADE_REQUIRED  426


/* engine.io's error codes and texts, as its server answers them */
#define NGX_WS_EIO_UNKNOWN_TRANSPORT  0
#define NGX_WS_EIO_UNKNOWN_SID        1
#define NGX_WS_EIO_BAD_METHOD         2
#define NGX_WS_EIO_BAD_REQUEST        3
#define NGX_WS_EIO_BAD_VERSION        5


static ngx_int_t ngx_ws_eio_error(ngx_http_request_t *r, ngx_uint_t code);
static ngx_int_t ngx_ws_session_request(ngx_http_request_t *r,
    ngx_str_t *sid, ngx_uint_t polling);
static ngx_int_t ngx_ws_check_websocket(ngx_http_request_t *r,
    ngx_str_t *key);
static ngx_int_t ngx_ws_check_upgrade(ngx_http_request_t *r,
    ngx_str_t *key);
static ngx_uint_t ngx_ws_has_token(ngx_table_elt_t *h, const char *token,
    size_t len);
static ngx_int_t ngx_ws_accept(ngx_http_request_t *r, ngx_str_t *key,
    u_char *sid, ngx_ws_session_t *target);
static void ngx_ws_session_abort(void *data);
static void ngx_ws_handoff(ngx_http_request_t *r);
static void ngx_ws_release_http(ngx_connection_t *c,
    ngx_http_connection_t *hc);


ngx_str_t  ngx_ws_eio_unknown_sid =
    ngx_string("{\"code\":1,\"message\":\"Session ID unknown\"}");
ngx_str_t  ngx_ws_eio_bad_request =
    ngx_string("{\"code\":3,\"message\":\"Bad request\"}");


static ngx_str_t  ngx_ws_eio_errors[] = {
    ngx_string("{\"code\":0,\"message\":\"Transport unknown\"}"),
    ngx_string("{\"code\":1,\"message\":\"Session ID unknown\"}"),
    ngx_string("{\"code\":2,\"message\":\"Bad handshake method\"}"),
    ngx_string("{\"code\":3,\"message\":\"Bad request\"}"),
    ngx_string("{\"code\":4,\"message\":\"Forbidden\"}"),
    ngx_string("{\"code\":5,\"message\":\"Unsupported protocol version\"}")
};


/*
 * The checks run in engine.io's order (transport, sid, method, upgrade,
 * protocol version), so a client sees the code a Node server would give.
 */

ngx_int_t
ngx_ws_socketio_handler(ngx_http_request_t *r)
{
    ngx_int_t   rc;
    ngx_str_t   value, key;
    ngx_uint_t  polling;

    rc = ngx_ws_cors(r);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_arg(r, (u_char *) "transport", 9, &value) != NGX_OK) {
        return ngx_ws_eio_error(r, NGX_WS_EIO_UNKNOWN_TRANSPORT);
    }

    if (value.len == 7 && ngx_strncmp(value.data, "polling", 7) == 0) {
        polling = 1;

    } else if (value.len == 9
               && ngx_strncmp(value.data, "websocket", 9) == 0)
    {
        polling = 0;

    } else {
        return ngx_ws_eio_error(r, NGX_WS_EIO_UNKNOWN_TRANSPORT);
    }

    if (ngx_http_arg(r, (u_char *) "sid", 3, &value) == NGX_OK) {
        return ngx_ws_session_request(r, &value, polling);
    }

    if (r->method != NGX_HTTP_GET) {
        return ngx_ws_eio_error(r, NGX_WS_EIO_BAD_METHOD);
    }

    if (!polling) {
        rc = ngx_ws_check_websocket(r, &key);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (ngx_http_arg(r, (u_char *) "EIO", 3, &value) != NGX_OK
        || value.len != 1 || value.data[0] != '4')
    {
        return ngx_ws_eio_error(r, NGX_WS_EIO_BAD_VERSION);
    }

    if (polling) {
        return ngx_ws_poll_open(r);
    }

    return ngx_ws_accept(r, &key, NULL, NULL);
}


/*
 * A request of a session: a poll of a polling session, or the WebSocket
 * that upgrades it.  The session lives in this worker or in no other.
 */

static ngx_int_t
ngx_ws_session_request(ngx_http_request_t *r, ngx_str_t *sid,
    ngx_uint_t polling)
{
    ngx_int_t          rc;
    ngx_str_t          key;
    ngx_pid_t          owner;
    ngx_ws_session_t  *s;

    s = (sid->len == NGX_WS_ID_LEN) ? ngx_ws_session_find(sid->data) : NULL;
    owner = 0;

    if (s == NULL) {
        /* another worker's session: this one relays for it */
        owner = ngx_ws_relay_owner(sid->data, sid->len);

        if (owner == 0) {
            return ngx_ws_eio_error(r, NGX_WS_EIO_UNKNOWN_SID);
        }

        if (polling) {
            return ngx_ws_relay_request(r, sid->data, owner);
        }

    } else if (s->probe) {
        return ngx_ws_eio_error(r, NGX_WS_EIO_UNKNOWN_SID);

    } else if (polling) {
        /* engine.io's transport mismatch: the session was upgraded */
        if (!s->polling || s->poll->ws_pid) {
            return ngx_ws_eio_error(r, NGX_WS_EIO_BAD_REQUEST);
        }

        return ngx_ws_poll_request(r, s);
    }

    if (r->method != NGX_HTTP_GET) {
        return ngx_ws_eio_error(r, NGX_WS_EIO_BAD_METHOD);
    }

    rc = ngx_ws_check_websocket(r, &key);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_ws_accept(r, &key, sid->data, s);
}


/*
 * The WebSocket handshake's checks, answered as engine.io answers them:
 * NGX_DECLINED when the handshake may go on, else the answer's result.
 */

static ngx_int_t
ngx_ws_check_websocket(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_int_t  rc;

    rc = ngx_ws_check_upgrade(r, key);

    if (rc == NGX_WS_HTTP_UPGRADE_REQUIRED) {
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");

        if (ngx_ws_http_header_out(r, "Sec-WebSocket-Version",
                              sizeof("Sec-WebSocket-Version") - 1,
                              (u_char *) "13", 2)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_ws_http_reply(r, NGX_WS_HTTP_UPGRADE_REQUIRED,
                                 ngx_ws_eio_errors[3].data,
                                 ngx_ws_eio_errors[3].len);
    }

    if (rc != NGX_OK) {
        return ngx_ws_eio_error(r, NGX_WS_EIO_BAD_REQUEST);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_ws_eio_error(ngx_http_request_t *r, ngx_uint_t code)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ws: handshake refused: %V", &ngx_ws_eio_errors[code]);

    return ngx_ws_http_reply(r, NGX_HTTP_BAD_REQUEST,
                             ngx_ws_eio_errors[code].data,
                             ngx_ws_eio_errors[code].len);
}


/*
 * RFC 6455 section 4.2.1.  HTTP/2 is refused: its requests share one
 * connection (no RFC 8441 here), and a 101 cannot be sent on a stream.
 */

static ngx_int_t
ngx_ws_check_upgrade(ngx_http_request_t *r, ngx_str_t *key)
{
    u_char            buf[NGX_WS_KEY_LEN];
    ngx_str_t         decoded;
    ngx_table_elt_t  *h;

    if (r != r->main || r->http_version != NGX_HTTP_VERSION_11) {
        return NGX_HTTP_BAD_REQUEST;
    }

    if (r->headers_in.upgrade == NULL
        || r->headers_in.upgrade->value.len != 9
        || ngx_strncasecmp(r->headers_in.upgrade->value.data,
                           (u_char *) "websocket", 9) != 0)
    {
        return NGX_HTTP_BAD_REQUEST;
    }

    /* nginx 1.22 does not keep r->headers_in.connection */

    h = ngx_ws_http_header_in(r, "Connection", sizeof("Connection") - 1);

    if (!ngx_ws_has_token(h, "upgrade", 7)) {
        return NGX_HTTP_BAD_REQUEST;
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return NGX_HTTP_BAD_REQUEST;
    }

    h = ngx_ws_http_header_in(r, "Sec-WebSocket-Version",
                      sizeof("Sec-WebSocket-Version") - 1);

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        return NGX_WS_HTTP_UPGRADE_REQUIRED;
    }

    h = ngx_ws_http_header_in(r, "Sec-WebSocket-Key",
                      sizeof("Sec-WebSocket-Key") - 1);

    if (h == NULL || h->value.len != NGX_WS_KEY_LEN) {
        return NGX_HTTP_BAD_REQUEST;
    }

    decoded.data = buf;

    if (ngx_decode_base64(&decoded, &h->value) != NGX_OK
        || decoded.len != 16)
    {
        return NGX_HTTP_BAD_REQUEST;
    }

    *key = h->value;

    return NGX_OK;
}


/* "Connection: keep-alive, Upgrade" is a list of tokens */

static ngx_uint_t
ngx_ws_has_token(ngx_table_elt_t *h, const char *token, size_t len)
{
    u_char  *p, *last, *start;

    if (h == NULL) {
        return 0;
    }

    p = h->value.data;
    last = p + h->value.len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The 101 goes out through the header filter (so the access log and
 * headers added with "always" see it), with the Engine.IO open packet
 * behind it in the same write; the request is then freed in
 * ngx_ws_handoff() and the connection kept, as a keepalive connection is.
 */

static ngx_int_t
ngx_ws_accept(ngx_http_request_t *r, ngx_str_t *key, u_char *sid,
    ngx_ws_session_t *target)
{
    u_char              *accept, *open;
    size_t               len;
    ngx_int_t            rc;
    ngx_str_t            src, dst, value;
    ngx_buf_t           *b;
    ngx_sha1_t           sha1;
    ngx_chain_t          out;
    ngx_connection_t    *c;
    ngx_ws_session_t    *s;
    ngx_ws_loc_conf_t   *wlcf;
    ngx_pool_cleanup_t  *cln;
    u_char               hash[20];

    c = r->connection;
    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    /* the session is freed with the request unless the hand-off happens */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s = ngx_ws_session_create(c, wlcf);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_ws_session_abort;
    cln->data = s;
    ngx_http_set_ctx(r, cln, ngx_ws_module);

    if (sid == NULL) {
        /* for the 101 line: an upgrade has its sid in the arguments */
        ngx_ws_var_sid(r, s->sid);
    }

    /* a new session counts against its address, before any 101 header */

    if (sid == NULL) {
        rc = ngx_ws_limit_take(r, s);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, key->data, key->len);
    ngx_sha1_update(&sha1, NGX_WS_GUID, sizeof(NGX_WS_GUID) - 1);
    ngx_sha1_final(hash, &sha1);

    accept = ngx_pnalloc(r->pool, NGX_WS_ACCEPT_LEN);
    if (accept == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    src.data = hash;
    src.len = sizeof(hash);
    dst.data = accept;

    ngx_encode_base64(&dst, &src);

    if (ngx_ws_http_header_out(r, "Upgrade", sizeof("Upgrade") - 1,
                          (u_char *) "websocket", 9)
        != NGX_OK
        || ngx_ws_http_header_out(r, "Sec-WebSocket-Accept",
                             sizeof("Sec-WebSocket-Accept") - 1,
                             dst.data, dst.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* engine.io-client's forceBase64: binary goes out as "b<base64>" */

    if (ngx_http_arg(r, (u_char *) "b64", 3, &value) == NGX_OK) {
        s->b64 = 1;
    }

    if (sid) {
        /*
         * An upgrade: the probe carries the polling session's sid, and the
         * session, its hooks and its open packet are there already, in
         * this worker (target) or in another one (a relay).
         */
        s->probe = 1;
        ngx_memcpy(s->sid, sid, NGX_WS_ID_LEN);

        /*
         * One upgrade per session: engine.io accepts any other WebSocket
         * with the sid and closes it at once.
         */

        if (target == NULL) {
            s->relay = 1;

        } else if (!target->polling || target->closing
                   || target->poll->probing || target->poll->ws_pid)
        {
            s->discard = 1;

        } else {
            target->poll->probing = 1;
        }

        open = NULL;
        len = 0;

    } else {
        if ((wlcf->hook_connect.len || wlcf->hook_event.len
             || wlcf->hook_disconnect.len)
            && ngx_ws_hook_keep(r, s) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        open = ngx_ws_session_open(s, r->pool, &len);
        if (open == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = open;
    b->last = open + len;
    b->memory = open ? 1 : 0;
    b->flush = 1;
    b->last_buf = 1;

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    if (ngx_http_output_filter(r, &out) == NGX_ERROR) {
        return NGX_ERROR;
    }

    /*
     * The request is freed from an event, not here: the caller still uses
     * it after the content handler returns.
     */

    r->main->count++;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_ws_handoff;

    ngx_post_event(c->write, &ngx_posted_events);

    return NGX_DONE;
}


static void
ngx_ws_session_abort(void *data)
{
    ngx_ws_session_free(data);
}


static void
ngx_ws_handoff(ngx_http_request_t *r)
{
    ngx_buf_t              *b;
    ngx_connection_t       *c;
    ngx_ws_session_t       *s;
    ngx_ws_loc_conf_t      *wlcf;
    ngx_pool_cleanup_t     *cln;
    ngx_http_connection_t  *hc;

    c = r->connection;
    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    if (c->write->timedout) {
        c->timedout = 1;
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "ws: client timed out reading the 101");
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (r->out || r->buffered || c->buffered) {

        /* the 101 is still on its way */

        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_ERROR);
            return;
        }

        if (r->out || r->buffered || c->buffered) {
            ngx_add_timer(c->write, wlcf->send_timeout);

            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_http_finalize_request(r, NGX_ERROR);
            }

            return;
        }
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    cln = ngx_http_get_module_ctx(r, ngx_ws_module);
    s = cln->data;

    b = r->header_in;

    if (b->pos < b->last
        && ngx_ws_session_input(s, b->pos, b->last - b->pos) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    /* from here on the session owns the connection */
    cln->handler = NULL;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "ws handoff: 101 sent, request freed, session %*s",
                   (size_t) NGX_WS_ID_LEN, s->sid);

    hc = r->http_connection;

    /* writes the access log line (the 101) and destroys the request pool */
    ngx_http_free_request(r, 0);

    c->data = s;

    ngx_ws_release_http(c, hc);

    ngx_ws_session_start(s);
}


/*
 * What ngx_http_set_keepalive() frees for an idle connection: the header
 * buffers and, on TLS, the send buffer.  What stays is c->pool's first
 * block and the session.
 */

static void
ngx_ws_release_http(ngx_connection_t *c, ngx_http_connection_t *hc)
{
    ngx_chain_t  *cl, *ln;

    if (c->buffer) {
        if (ngx_pfree(c->pool, c->buffer->start) == NGX_OK) {
            c->buffer = NULL;
        }
    }

    for (cl = hc->free; cl; /* void */) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }

    hc->free = NULL;

    for (cl = hc->busy; cl; /* void */) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }

    hc->busy = NULL;
    hc->nbusy = 0;

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        ngx_ssl_free_buffer(c);
    }
#endif
}
