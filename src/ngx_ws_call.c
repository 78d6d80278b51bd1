
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"


/*
 * HTTP calls to the application from a connection that has no request:
 * after the hand-off a WebSocket has none.  A call is a POST subrequest to
 * a location of the server (usually internal, with proxy_pass to the app),
 * so upstreams, keepalive, TLS and timeouts are nginx's own; it runs on a
 * request and a connection of its own that has no socket, in a pool of its
 * own freed when the call ends, and its answer is kept in memory
 * (subrequest_output_buffer_size bounds it).
 */


static ngx_connection_t *ngx_ws_call_connection(ngx_ws_call_t *call,
    ngx_ws_hooks_t *hooks);
static ngx_http_request_t *ngx_ws_call_request(ngx_ws_call_t *call,
    ngx_ws_hooks_t *hooks, u_char *body, size_t len);
static ngx_int_t ngx_ws_call_header(ngx_http_request_t *r, u_char *name,
    size_t nlen, u_char *value, size_t vlen);
static ngx_int_t ngx_ws_call_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);
static void ngx_ws_call_event_handler(ngx_event_t *ev);
static void ngx_ws_call_finalize(ngx_http_request_t *r);
static void ngx_ws_call_close(ngx_connection_t *c);


ngx_ws_call_t *
ngx_ws_call_create(ngx_str_t *uri, const char *name)
{
    ngx_pool_t     *pool;
    ngx_ws_call_t  *call;

    /* the pool may outlive the session: the cycle's log */

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    call = ngx_pcalloc(pool, sizeof(ngx_ws_call_t));
    if (call == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    call->pool = pool;
    call->uri = *uri;
    call->name = name;

    return call;
}


/*
 * Starts the call; call->handler gets the answer.  On NGX_ERROR the call
 * and its pool are gone.  The call may end before this returns: the
 * caller does not touch it after.
 */

ngx_int_t
ngx_ws_call_start(ngx_ws_call_t *call, ngx_ws_hooks_t *hooks, u_char *body,
    size_t len)
{
    ngx_connection_t            *c;
    ngx_http_request_t          *r, *sr;
    ngx_http_post_subrequest_t  *ps;

    call->start = ngx_ws_metrics_usec();

    c = ngx_ws_call_connection(call, hooks);
    if (c == NULL) {
        ngx_destroy_pool(call->pool);
        return NGX_ERROR;
    }

    r = ngx_ws_call_request(call, hooks, body, len);
    if (r == NULL) {
        ngx_ws_call_close(c);
        return NGX_ERROR;
    }

    ps = ngx_palloc(call->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        ngx_ws_call_close(c);
        return NGX_ERROR;
    }

    ps->handler = ngx_ws_call_done;
    ps->data = call;

    if (ngx_http_subrequest(r, &call->uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        ngx_ws_call_close(c);
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_POST;
    ngx_str_set(&sr->method_name, "POST");

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "ws call: %s to \"%V\", %uz bytes", call->name,
                   &call->uri, len);

    ngx_http_run_posted_requests(c);

    return NGX_OK;
}


static ngx_connection_t *
ngx_ws_call_connection(ngx_ws_call_t *call, ngx_ws_hooks_t *hooks)
{
    ngx_log_t             *log;
    ngx_connection_t      *c, *saved;
    ngx_http_log_ctx_t    *ctx;

    log = ngx_palloc(call->pool, sizeof(ngx_log_t));
    ctx = ngx_pcalloc(call->pool, sizeof(ngx_http_log_ctx_t));

    if (log == NULL || ctx == NULL) {
        return NULL;
    }

    saved = ngx_cycle->files ? ngx_cycle->files[0] : NULL;

    c = ngx_get_connection(0, ngx_cycle->log);

    if (ngx_cycle->files) {
        ngx_cycle->files[0] = saved;
    }

    if (c == NULL) {
        return NULL;
    }

    c->fd = (ngx_socket_t) -1;
    c->pool = call->pool;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    *log = *ngx_cycle->log;
    log->connection = c->number;
    log->data = ctx;
    log->handler = NULL;
    log->action = "calling the application hook";

    ctx->connection = c;

    c->log = log;
    c->log_error = NGX_ERROR_INFO;
    c->read->log = log;
    c->write->log = log;

    /*
     * The upstream module would add the events of the client's connection
     * to epoll: this one has no socket, and says they are in.
     */
    c->read->active = 1;
    c->write->active = 1;

    /*
     * What nginx does to a client connection, it may do to this one (a
     * limit_req delay sets a timer on it, the event pipe writes to it):
     * its events run the request's handlers, as ngx_http_request_handler
     * does; it can always be written to, and has no TCP_NODELAY to set.
     */

    c->read->handler = ngx_ws_call_event_handler;
    c->write->handler = ngx_ws_call_event_handler;
    c->write->ready = 1;
    c->tcp_nodelay = NGX_TCP_NODELAY_DISABLED;

    /* $remote_addr and the like in the hook's location: the client's */

    c->listening = hooks->listening;
    c->socklen = hooks->socklen;
    c->sockaddr = &hooks->sockaddr.sockaddr;
    c->local_socklen = hooks->local_socklen;
    c->local_sockaddr = &hooks->local_sockaddr.sockaddr;

    c->addr_text.data = hooks->info;
    c->addr_text.len = ngx_strlen(hooks->info);

    call->connection = c;

    return c;
}


static ngx_http_request_t *
ngx_ws_call_request(ngx_ws_call_t *call, ngx_ws_hooks_t *hooks, u_char *body,
    size_t len)
{
    u_char                     *name, *value, *info;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_log_ctx_t         *ctx;
    ngx_ws_loc_conf_t          *conf;
    ngx_http_core_main_conf_t  *cmcf;

    c = call->connection;
    conf = hooks->conf;

    r = ngx_pcalloc(call->pool, sizeof(ngx_http_request_t));
    if (r == NULL) {
        return NULL;
    }

    r->signature = NGX_HTTP_MODULE;
    r->connection = c;
    r->pool = call->pool;
    r->main = r;
    r->count = 1;

    r->main_conf = conf->ctx->main_conf;
    r->srv_conf = conf->ctx->srv_conf;
    r->loc_conf = conf->ctx->loc_conf;

    r->ctx = ngx_pcalloc(r->pool, sizeof(void *) * ngx_http_max_module);

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    r->variables = ngx_pcalloc(r->pool, cmcf->variables.nelts
                                        * sizeof(ngx_http_variable_value_t));

    if (r->ctx == NULL || r->variables == NULL
        || ngx_list_init(&r->headers_in.headers, r->pool, 4,
                         sizeof(ngx_table_elt_t))
           != NGX_OK
        || ngx_list_init(&r->headers_out.headers, r->pool, 1,
                         sizeof(ngx_table_elt_t))
           != NGX_OK
        || ngx_list_init(&r->headers_out.trailers, r->pool, 1,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NULL;
    }

    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");
    r->http_version = NGX_HTTP_VERSION_11;
    ngx_str_set(&r->http_protocol, "HTTP/1.1");
    r->http_state = NGX_HTTP_PROCESS_REQUEST_STATE;
    r->headers_in.keep_alive_n = -1;
    r->headers_in.content_length_n = len;
    r->uri_changes = NGX_HTTP_MAX_URI_CHANGES + 1;
    r->subrequests = NGX_HTTP_MAX_SUBREQUESTS + 1;
    r->start_sec = ngx_time();
    r->start_msec = ngx_current_msec;
    r->uri = call->uri;
    r->unparsed_uri = call->uri;
    r->request_line = call->uri;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_ws_call_finalize;

    /* the body, as if read from a client */

    r->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (r->request_body == NULL || b == NULL || cl == NULL) {
        return NULL;
    }

    b->pos = body;
    b->last = body + len;
    b->start = body;
    b->end = body + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;
    r->request_body->bufs = cl;

    if (ngx_ws_call_header(r, (u_char *) "Content-Type",
                           sizeof("Content-Type") - 1,
                           (u_char *) "application/json",
                           sizeof("application/json") - 1)
        != NGX_OK)
    {
        return NULL;
    }

    r->headers_in.content_type = r->headers_in.headers.part.elts;

    /* the handshake's headers, as the app's session code expects them */

    info = hooks->info + ngx_strlen(hooks->info) + 1;

    while (*info) {
        name = info;
        value = name + ngx_strlen(name) + 1;
        info = value + ngx_strlen(value) + 1;

        if (ngx_ws_call_header(r, name, ngx_strlen(name), value,
                               ngx_strlen(value))
            != NGX_OK)
        {
            return NULL;
        }
    }

    ctx = c->log->data;
    ctx->request = r;
    ctx->current_request = r;

    ngx_http_set_ctx(r, call, ngx_ws_module);

    c->data = r;
    c->requests++;

    return r;
}


static ngx_int_t
ngx_ws_call_header(ngx_http_request_t *r, u_char *name, size_t nlen,
    u_char *value, size_t vlen)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.data = name;
    h->key.len = nlen;
    h->value.data = value;
    h->value.len = vlen;

    h->lowcase_key = ngx_pnalloc(r->pool, nlen);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, name, nlen);

    return NGX_OK;
}


/*
 * The subrequest ended: 200 with a body that fit is an answer, anything
 * else a failure.  The subrequest then ends as if all went well, whatever
 * happened: no error page is made for nobody, and the call's own request
 * is not torn down by nginx, which would close a connection that has no
 * socket.
 */

static ngx_int_t
ngx_ws_call_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_ws_call_t *call = data;

    u_char      *body;
    size_t       len;
    ngx_uint_t   status;

    /* an error of the call's own connection means nothing to anybody */
    sr->connection->error = 0;

    if (call->answered || rc == NGX_AGAIN) {
        return NGX_OK;
    }

    call->answered = 1;

    status = sr->headers_out.status;
    body = NULL;
    len = 0;

    if (rc == NGX_OK && status == NGX_HTTP_OK) {
        if (sr->out && sr->out->buf) {
            body = sr->out->buf->pos;
            len = sr->out->buf->last - sr->out->buf->pos;

        } else {
            body = (u_char *) "";
        }

    } else {
        ngx_log_error(NGX_LOG_ERR, call->connection->log, 0,
                      "ws: the %s hook \"%V\" failed: status %ui, rc %i",
                      call->name, &call->uri, status, rc);
    }

    ngx_ws_metrics_hook(call->name, body != NULL, call->start);

    call->handler(call, body, len);

    return NGX_OK;
}


static void
ngx_ws_call_event_handler(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = ev->data;
    r = c->data;

    if (ev->write) {
        r->write_event_handler(r);

    } else {
        r->read_event_handler(r);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * The call's own request ends once its subrequest has been answered, and
 * only then: everything goes.
 */

static void
ngx_ws_call_finalize(ngx_http_request_t *r)
{
    ngx_ws_call_t       *call;
    ngx_http_cleanup_t  *cln;

    call = ngx_http_get_module_ctx(r, ngx_ws_module);

    if (call == NULL || !call->answered || call->finalized) {
        return;
    }

    call->finalized = 1;

    if (--r->count) {
        return;
    }

    for (cln = r->cleanup; cln; cln = cln->next) {
        if (cln->handler) {
            cln->handler(cln->data);
        }
    }

    r->cleanup = NULL;

    ngx_ws_call_close(r->connection);
}


static void
ngx_ws_call_close(ngx_connection_t *c)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *saved;

    c->destroyed = 1;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    pool = c->pool;

    /* ngx_free_connection() looks at files[c->fd] */

    saved = ngx_cycle->files ? ngx_cycle->files[0] : NULL;
    c->fd = 0;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;

    if (ngx_cycle->files) {
        ngx_cycle->files[0] = saved;
    }

    ngx_destroy_pool(pool);
}


/* The value of a top-level member of a valid JSON object, or NULL. */

u_char *
ngx_ws_json_member(u_char *p, u_char *end, const char *key,
    u_char **val_end)
{
    u_char  *k, *k_end, *v, *v_end;

    p = ngx_ws_json_skip_ws(p, end);

    if (p == end || *p != '{') {
        return NULL;
    }

    for (p++;
         (p = ngx_ws_json_object_next(p, end, &k, &k_end, &v, &v_end));
         /* void */)
    {
        if (ngx_ws_json_string_eq(k, k_end, key)) {
            *val_end = v_end;
            return v;
        }
    }

    return NULL;
}
