
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


/*
 * The application hooks: nginx asks the application, over HTTP, whether a
 * socket may connect (and, next, what to do with client events).  A hook
 * is a POST subrequest to an ordinary location of the server (usually
 * internal, with proxy_pass to the app), so upstreams, keepalive, TLS and
 * timeouts are nginx's own.  A WebSocket connection has no request after
 * the hand-off: each call gets a request of its own, on a connection of
 * its own that has no socket, in a pool of its own that is freed when the
 * call ends.  The answer finds its session and socket again by their ids:
 * either may be gone by then.
 */


typedef struct ngx_ws_hook_s  ngx_ws_hook_t;

/* body is NULL when the call failed */
typedef void (*ngx_ws_hook_pt)(ngx_ws_hook_t *h, ngx_ws_socket_t *sock,
    u_char *body, size_t len);


struct ngx_ws_hook_s {
    ngx_pool_t                *pool;
    ngx_connection_t          *connection;     /* the call's own */
    ngx_ws_hook_pt             handler;
    ngx_str_t                  uri;
    const char                *name;
    ngx_uint_t                 answered;
    u_char                     sid[NGX_WS_ID_LEN];
    u_char                     id[NGX_WS_ID_LEN];
};


static ngx_ws_hook_t *ngx_ws_hook_create(ngx_ws_socket_t *sock,
    ngx_str_t *uri, const char *name, ngx_ws_hook_pt handler);
static u_char *ngx_ws_hook_info_json(u_char *p, u_char *info);
static size_t ngx_ws_hook_info_len(u_char *info);
static ngx_int_t ngx_ws_hook_start(ngx_ws_hook_t *h, ngx_ws_session_t *s,
    u_char *body, size_t len);
static ngx_connection_t *ngx_ws_hook_connection(ngx_ws_hook_t *h,
    ngx_connection_t *from);
static ngx_http_request_t *ngx_ws_hook_request(ngx_ws_hook_t *h,
    ngx_ws_session_t *s, u_char *body, size_t len);
static ngx_int_t ngx_ws_hook_header(ngx_http_request_t *r, u_char *name,
    size_t nlen, u_char *value, size_t vlen);
static ngx_int_t ngx_ws_hook_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);
static void ngx_ws_hook_finalize(ngx_http_request_t *r);
static void ngx_ws_hook_close(ngx_connection_t *c);
static void ngx_ws_hook_connect_done(ngx_ws_hook_t *h, ngx_ws_socket_t *sock,
    u_char *body, size_t len);
static ngx_int_t ngx_ws_hook_refuse(ngx_ws_socket_t *sock, ngx_pool_t *pool,
    u_char *error, u_char *error_end);
static ngx_int_t ngx_ws_hook_set_data(ngx_ws_socket_t *sock, u_char *data,
    u_char *end);
static void ngx_ws_hook_push(ngx_ws_hook_t *h, ngx_ws_socket_t *sock,
    u_char *push, u_char *end);
static u_char *ngx_ws_hook_member(u_char *p, u_char *end, const char *key,
    u_char **val_end);


/*
 * At the hand-off, what the hooks will need of the handshake request,
 * which is freed then: the address (after realip) and the headers named
 * by ws_hook_headers, as "address\0name\0value\0...\0".
 */

ngx_int_t
ngx_ws_hook_keep(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    u_char             *p;
    size_t              len;
    ngx_str_t          *name;
    ngx_uint_t          i, k;
    ngx_list_part_t    *part;
    ngx_table_elt_t    *h;
    ngx_ws_loc_conf_t  *conf;

    conf = s->conf;
    name = conf->hook_headers->elts;

    len = r->connection->addr_text.len + 2;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            for (k = 0; k < conf->hook_headers->nelts; k++) {
                if (h[i].key.len == name[k].len
                    && ngx_strncasecmp(h[i].key.data, name[k].data,
                                       name[k].len) == 0)
                {
                    len += name[k].len + h[i].value.len + 2;
                }
            }
        }
    }

    s->hook_info = ngx_alloc(len, r->connection->log);
    if (s->hook_info == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(s->hook_info, r->connection->addr_text.data,
                   r->connection->addr_text.len);
    *p++ = '\0';

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            for (k = 0; k < conf->hook_headers->nelts; k++) {
                if (h[i].key.len == name[k].len
                    && ngx_strncasecmp(h[i].key.data, name[k].data,
                                       name[k].len) == 0)
                {
                    p = ngx_cpymem(p, name[k].data, name[k].len);
                    *p++ = '\0';
                    p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
                    *p++ = '\0';
                }
            }
        }
    }

    *p = '\0';

    return NGX_OK;
}


/* ------------------------------------------------------------ connect */


/*
 * {"type":"connect","nsp":"/chat","sid":"<socket id>","auth":{...},
 *  "headers":{"cookie":"..."},"address":"..."}
 */

ngx_int_t
ngx_ws_hook_connect(ngx_ws_socket_t *sock)
{
    u_char            *body, *p;
    size_t             len;
    ngx_ws_hook_t     *h;
    ngx_ws_session_t  *s;

    s = sock->session;

    h = ngx_ws_hook_create(sock, &s->conf->hook_connect, "connect",
                           ngx_ws_hook_connect_done);
    if (h == NULL) {
        return NGX_ERROR;
    }

    len = sizeof("{\"type\":\"connect\",\"nsp\":\"\",\"sid\":\"\","
                 "\"auth\":{},}")
          + sock->nsp->name.len + NGX_WS_ID_LEN + sock->data_len
          + ngx_ws_hook_info_len(s->hook_info);

    body = ngx_pnalloc(h->pool, len);
    if (body == NULL) {
        ngx_destroy_pool(h->pool);
        return NGX_ERROR;
    }

    /* namespace names and ids need no escaping; auth is valid JSON */

    p = ngx_sprintf(body, "{\"type\":\"connect\",\"nsp\":\"%V\",\"sid\":\"",
                    &sock->nsp->name);
    p = ngx_cpymem(p, sock->id, NGX_WS_ID_LEN);
    p = ngx_cpymem(p, "\",\"auth\":", sizeof("\",\"auth\":") - 1);

    if (sock->data_len) {
        p = ngx_cpymem(p, sock->data, sock->data_len);

    } else {
        /* socket.io's handshake.auth when the client sends none */
        *p++ = '{';
        *p++ = '}';
    }

    *p++ = ',';
    p = ngx_ws_hook_info_json(p, s->hook_info);
    *p++ = '}';

    return ngx_ws_hook_start(h, s, body, p - body);
}


static void
ngx_ws_hook_connect_done(ngx_ws_hook_t *h, ngx_ws_socket_t *sock,
    u_char *body, size_t len)
{
    u_char            *end, *error, *error_end, *data, *data_end, *push,
                      *push_end;
    ngx_ws_session_t  *s;

    s = sock->session;

    if (body == NULL) {
        goto failed;
    }

    end = body + len;

    if (!ngx_ws_json_valid(body, end)
        || *ngx_ws_json_skip_ws(body, end) != '{')
    {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "ws: the connect hook's answer is not a JSON object");
        goto failed;
    }

    error = ngx_ws_hook_member(body, end, "error", &error_end);

    if (error) {
        if (ngx_ws_hook_refuse(sock, h->pool, error, error_end) != NGX_OK) {
            goto failed;
        }

        return;
    }

    data = ngx_ws_hook_member(body, end, "data", &data_end);

    if (data && ngx_ws_hook_set_data(sock, data, data_end) != NGX_OK) {
        goto failed;
    }

    if (ngx_ws_socket_accept(sock) != NULL) {
        goto failed;
    }

    push = ngx_ws_hook_member(body, end, "push", &push_end);

    if (push) {
        ngx_ws_hook_push(h, sock, push, push_end);
    }

    return;

failed:

    /*
     * Not a connect error, after which socket.io-client would give up:
     * the connection closes, and the client comes back with its backoff.
     */

    ngx_ws_session_close(s, NGX_WS_CLOSE_INTERNAL, "connect hook failed");
}


/* {"error":{"message":"...","data":...}}: the client's connect_error */

static ngx_int_t
ngx_ws_hook_refuse(ngx_ws_socket_t *sock, ngx_pool_t *pool, u_char *error,
    u_char *error_end)
{
    u_char  *msg, *msg_end, *data, *data_end, *json, *p;

    if (*error != '{') {
        return NGX_ERROR;
    }

    msg = ngx_ws_hook_member(error, error_end, "message", &msg_end);

    if (msg == NULL || *msg != '"') {
        return NGX_ERROR;
    }

    data = ngx_ws_hook_member(error, error_end, "data", &data_end);

    json = ngx_pnalloc(pool, sizeof("{\"message\":,\"data\":}")
                             + (msg_end - msg)
                             + (data ? data_end - data : 0));
    if (json == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(json, "{\"message\":", sizeof("{\"message\":") - 1);
    p = ngx_cpymem(p, msg, msg_end - msg);

    if (data) {
        p = ngx_cpymem(p, ",\"data\":", sizeof(",\"data\":") - 1);
        p = ngx_cpymem(p, data, data_end - data);
    }

    *p++ = '}';

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sock->session->connection->log, 0,
                   "ws socket %*s: the application refused the connect",
                   (size_t) NGX_WS_ID_LEN, sock->id);

    return ngx_ws_socket_refuse(sock, json, p - json);
}


/* The socket's data as the application set it, bounded like auth. */

static ngx_int_t
ngx_ws_hook_set_data(ngx_ws_socket_t *sock, u_char *data, u_char *end)
{
    u_char  *copy;
    size_t   len;

    len = end - data;

    if (len > NGX_WS_DATA_MAX) {
        ngx_log_error(NGX_LOG_ERR, sock->session->connection->log, 0,
                      "ws: socket data of %uz bytes from a hook, "
                      "over %d", len, NGX_WS_DATA_MAX);
        return NGX_ERROR;
    }

    copy = ngx_alloc(len, sock->session->connection->log);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(copy, data, len);

    if (sock->data) {
        ngx_free(sock->data);
    }

    sock->data = copy;
    sock->data_len = (uint32_t) len;
    sock->data_is_auth = 0;

    return NGX_OK;
}


/*
 * "push": operations as the push endpoint takes them, the socket's
 * namespace by default, applied in order; a malformed one is logged and
 * the others still run.
 */

static void
ngx_ws_hook_push(ngx_ws_hook_t *h, ngx_ws_socket_t *sock, u_char *push,
    u_char *end)
{
    u_char          *pos, *elt, *elt_end;
    ngx_int_t        rc;
    ngx_uint_t       matched;
    ngx_ws_op_t      op;
    const char      *reason;
    ngx_ws_bytes_t   nsp;

    if (*push != '[') {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: \"push\" from the %s hook is not an array",
                      h->name);
        return;
    }

    nsp.data = sock->nsp->name.data;
    nsp.len = sock->nsp->name.len;

    for (pos = push + 1;
         (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         /* void */)
    {
        reason = ngx_ws_op_parse(elt, elt_end, &nsp, &op, ngx_ws_pool_alloc,
                                 h->pool);
        if (reason) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ws: a push from the %s hook is refused: %s",
                          h->name, reason);
            continue;
        }

        rc = ngx_ws_broker_publish(&op, h->pool, &matched);

        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ws: a push from the %s hook failed (%i)",
                          h->name, rc);
        }
    }
}


/* ------------------------------------------------------------ calls */


static ngx_ws_hook_t *
ngx_ws_hook_create(ngx_ws_socket_t *sock, ngx_str_t *uri, const char *name,
    ngx_ws_hook_pt handler)
{
    ngx_pool_t     *pool;
    ngx_ws_hook_t  *h;

    /* the pool outlives the session, maybe: the cycle's log */
    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    h = ngx_pcalloc(pool, sizeof(ngx_ws_hook_t));
    if (h == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    h->pool = pool;
    h->uri = *uri;
    h->name = name;
    h->handler = handler;
    ngx_memcpy(h->sid, sock->session->sid, NGX_WS_ID_LEN);
    ngx_memcpy(h->id, sock->id, NGX_WS_ID_LEN);

    return h;
}


/* "headers":{"cookie":"..."},"address":"..." */

static u_char *
ngx_ws_hook_info_json(u_char *p, u_char *info)
{
    u_char      *addr, *name, *value;
    size_t       len;
    ngx_uint_t   n;

    addr = info;
    info += ngx_strlen(info) + 1;

    p = ngx_cpymem(p, "\"headers\":{", sizeof("\"headers\":{") - 1);

    for (n = 0; *info; n++) {
        name = info;
        len = ngx_strlen(name);
        value = name + len + 1;

        if (n) {
            *p++ = ',';
        }

        p = ngx_ws_json_string_write(p, name, len);
        *p++ = ':';
        len = ngx_strlen(value);
        p = ngx_ws_json_string_write(p, value, len);

        info = value + len + 1;
    }

    p = ngx_cpymem(p, "},\"address\":", sizeof("},\"address\":") - 1);

    return ngx_ws_json_string_write(p, addr, ngx_strlen(addr));
}


static size_t
ngx_ws_hook_info_len(u_char *info)
{
    size_t  len, n;

    len = sizeof("\"headers\":{},\"address\":");

    /* the address, then names and values; each with a ':' or ',' */

    do {
        n = ngx_strlen(info);
        len += ngx_ws_json_string_len(info, n) + 1;
        info += n + 1;
    } while (*info);

    return len;
}


/*
 * A POST to the hook's location as a subrequest, its answer kept in
 * memory (subrequest_output_buffer_size bounds it), on a request and a
 * connection made for the call.
 */

static ngx_int_t
ngx_ws_hook_start(ngx_ws_hook_t *h, ngx_ws_session_t *s, u_char *body,
    size_t len)
{
    ngx_connection_t            *c;
    ngx_http_request_t          *r, *sr;
    ngx_http_post_subrequest_t  *ps;

    c = ngx_ws_hook_connection(h, s->connection);
    if (c == NULL) {
        ngx_destroy_pool(h->pool);
        return NGX_ERROR;
    }

    r = ngx_ws_hook_request(h, s, body, len);
    if (r == NULL) {
        ngx_ws_hook_close(c);
        return NGX_ERROR;
    }

    ps = ngx_palloc(h->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        ngx_ws_hook_close(c);
        return NGX_ERROR;
    }

    ps->handler = ngx_ws_hook_done;
    ps->data = h;

    if (ngx_http_subrequest(r, &h->uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        ngx_ws_hook_close(c);
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_POST;
    ngx_str_set(&sr->method_name, "POST");

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->connection->log, 0,
                   "ws hook: %s to \"%V\", %uz bytes", h->name, &h->uri, len);

    /* the call may end right away: h and its pool are not touched after */
    ngx_http_run_posted_requests(c);

    return NGX_OK;
}


/*
 * A connection with no socket: ngx_get_connection() wants a descriptor,
 * and 0 is borrowed for the moment, as lua-nginx-module does.
 */

static ngx_connection_t *
ngx_ws_hook_connection(ngx_ws_hook_t *h, ngx_connection_t *from)
{
    ngx_log_t             *log;
    ngx_connection_t      *c, *saved;
    ngx_http_log_ctx_t    *ctx;

    log = ngx_palloc(h->pool, sizeof(ngx_log_t));
    ctx = ngx_pcalloc(h->pool, sizeof(ngx_http_log_ctx_t));

    if (log == NULL || ctx == NULL) {
        return NULL;
    }

    saved = ngx_cycle->files ? ngx_cycle->files[0] : NULL;

    c = ngx_get_connection(0, from->log);

    if (ngx_cycle->files) {
        ngx_cycle->files[0] = saved;
    }

    if (c == NULL) {
        return NULL;
    }

    c->fd = (ngx_socket_t) -1;
    c->pool = h->pool;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    *log = *from->log;
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

    /* $remote_addr and the like in the hook's location: the client's */

    c->listening = from->listening;
    c->socklen = from->socklen;
    c->sockaddr = ngx_pnalloc(h->pool, from->socklen);
    c->addr_text.data = ngx_pnalloc(h->pool, from->addr_text.len);
    c->local_socklen = from->local_socklen;
    c->local_sockaddr = ngx_pnalloc(h->pool, from->local_socklen);

    if (c->sockaddr == NULL || c->addr_text.data == NULL
        || c->local_sockaddr == NULL)
    {
        ngx_ws_hook_close(c);
        return NULL;
    }

    ngx_memcpy(c->sockaddr, from->sockaddr, from->socklen);
    ngx_memcpy(c->addr_text.data, from->addr_text.data, from->addr_text.len);
    c->addr_text.len = from->addr_text.len;
    ngx_memcpy(c->local_sockaddr, from->local_sockaddr, from->local_socklen);

    h->connection = c;

    return c;
}


static ngx_http_request_t *
ngx_ws_hook_request(ngx_ws_hook_t *h, ngx_ws_session_t *s, u_char *body,
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

    c = h->connection;
    conf = s->conf;

    r = ngx_pcalloc(h->pool, sizeof(ngx_http_request_t));
    if (r == NULL) {
        return NULL;
    }

    r->signature = NGX_HTTP_MODULE;
    r->connection = c;
    r->pool = h->pool;
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
    r->uri = h->uri;
    r->unparsed_uri = h->uri;
    r->request_line = h->uri;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_ws_hook_finalize;

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

    if (ngx_ws_hook_header(r, (u_char *) "Content-Type",
                           sizeof("Content-Type") - 1,
                           (u_char *) "application/json",
                           sizeof("application/json") - 1)
        != NGX_OK)
    {
        return NULL;
    }

    r->headers_in.content_type = r->headers_in.headers.part.elts;

    /* the handshake's headers, as the app's session code expects them */

    info = s->hook_info + ngx_strlen(s->hook_info) + 1;

    while (*info) {
        name = info;
        value = name + ngx_strlen(name) + 1;
        info = value + ngx_strlen(value) + 1;

        if (ngx_ws_hook_header(r, name, ngx_strlen(name), value,
                               ngx_strlen(value))
            != NGX_OK)
        {
            return NULL;
        }
    }

    ctx = c->log->data;
    ctx->request = r;
    ctx->current_request = r;

    c->data = r;
    c->requests++;

    return r;
}


static ngx_int_t
ngx_ws_hook_header(ngx_http_request_t *r, u_char *name, size_t nlen,
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
 * else a failure.  The session and the socket are looked up again.  The
 * subrequest then ends as if all went well, whatever happened: no error
 * page is made for nobody, and the call's own request is not torn down
 * by nginx, which would close a connection that has no socket.
 */

static ngx_int_t
ngx_ws_hook_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_ws_hook_t *h = data;

    u_char            *body;
    size_t             len;
    ngx_uint_t         status;
    ngx_ws_socket_t   *sock;
    ngx_ws_session_t  *s;

    /* an error of the call's own connection means nothing to anybody */
    sr->connection->error = 0;

    if (h->answered || rc == NGX_AGAIN) {
        return NGX_OK;
    }

    h->answered = 1;

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
        ngx_log_error(NGX_LOG_ERR, h->connection->log, 0,
                      "ws: the %s hook \"%V\" failed: status %ui, rc %i",
                      h->name, &h->uri, status, rc);
    }

    s = ngx_ws_session_find(h->sid);
    sock = s ? ngx_ws_socket_by_id(s, h->id) : NULL;

    if (sock == NULL) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, h->connection->log, 0,
                       "ws hook: %s answered for a socket that is gone",
                       h->name);
        return NGX_OK;
    }

    h->handler(h, sock, body, len);

    return NGX_OK;
}


/* The call's own request ends after its subrequest: everything goes. */

static void
ngx_ws_hook_finalize(ngx_http_request_t *r)
{
    ngx_http_cleanup_t  *cln;

    if (--r->count) {
        return;
    }

    for (cln = r->cleanup; cln; cln = cln->next) {
        if (cln->handler) {
            cln->handler(cln->data);
        }
    }

    r->cleanup = NULL;

    ngx_ws_hook_close(r->connection);
}


static void
ngx_ws_hook_close(ngx_connection_t *c)
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

static u_char *
ngx_ws_hook_member(u_char *p, u_char *end, const char *key,
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

