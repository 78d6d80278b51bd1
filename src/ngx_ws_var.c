
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_var.h"


/*
 * The module's nginx variables, and the access log line of a session's
 * end.  The handshake request is freed at the hand-off, so the end of a
 * session is logged through a request made for it: the ws_socketio
 * location's configuration, the session's connection (a WebSocket) and
 * the values of the session, handed to nginx's log phase as nginx hands a
 * request that ends.  Whatever access_log and log_format say, with if=,
 * decides what is written.
 */


static ngx_int_t ngx_ws_var_arg(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_ws_var_none(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_request_t *ngx_ws_var_request(ngx_ws_session_t *s,
    ngx_pool_t *pool);
static u_char *ngx_ws_var_namespaces(ngx_ws_session_t *s, ngx_pool_t *pool,
    size_t *len);


static ngx_http_variable_t  ngx_ws_vars[NGX_WS_VAR_N] = {

    { ngx_string("ws_sid"), NULL, ngx_ws_var_arg, (uintptr_t) "sid",
      0, 0 },

    { ngx_string("ws_transport"), NULL, ngx_ws_var_arg,
      (uintptr_t) "transport", 0, 0 },

    { ngx_string("ws_namespaces"), NULL, ngx_ws_var_none, 0, 0, 0 },

    { ngx_string("ws_disconnect_reason"), NULL, ngx_ws_var_none, 0, 0, 0 },

    { ngx_string("ws_packets_in"), NULL, ngx_ws_var_none, 0, 0, 0 },

    { ngx_string("ws_packets_out"), NULL, ngx_ws_var_none, 0, 0, 0 },
};


/* this configuration's indexes of the variables, in every worker */
static ngx_int_t  ngx_ws_var_index[NGX_WS_VAR_N];


ngx_int_t
ngx_ws_var_add(ngx_conf_t *cf)
{
    ngx_uint_t            i;
    ngx_http_variable_t  *var;

    for (i = 0; i < NGX_WS_VAR_N; i++) {
        var = ngx_http_add_variable(cf, &ngx_ws_vars[i].name, 0);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = ngx_ws_vars[i].get_handler;
        var->data = ngx_ws_vars[i].data;
    }

    return NGX_OK;
}


/*
 * The indexes of the variables the configuration uses (log_format, map,
 * if= have indexed them by now), so that the module can give a request
 * their values before anybody asks: the sid of a new session, the end of
 * a session.  One nobody uses is not indexed: no request grows with it.
 */

ngx_int_t
ngx_ws_var_init(ngx_conf_t *cf)
{
    ngx_uint_t                  i, k;
    ngx_http_variable_t        *v;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    v = cmcf->variables.elts;

    for (i = 0; i < NGX_WS_VAR_N; i++) {
        ngx_ws_var_index[i] = NGX_ERROR;

        for (k = 0; k < cmcf->variables.nelts; k++) {
            if (v[k].name.len == ngx_ws_vars[i].name.len
                && ngx_strncmp(v[k].name.data, ngx_ws_vars[i].name.data,
                               v[k].name.len)
                   == 0)
            {
                ngx_ws_var_index[i] = k;
                break;
            }
        }
    }

    return NGX_OK;
}


void
ngx_ws_var_set(ngx_http_request_t *r, ngx_uint_t var, u_char *data,
    size_t len)
{
    ngx_http_variable_value_t  *v;

    if (ngx_ws_var_index[var] == NGX_ERROR || r->variables == NULL) {
        return;
    }

    v = &r->variables[ngx_ws_var_index[var]];

    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}


/* A session id given to a new session, for the request that opened it. */

void
ngx_ws_var_sid(ngx_http_request_t *r, u_char *sid)
{
    u_char  *p;

    if (ngx_ws_var_index[NGX_WS_VAR_SID] == NGX_ERROR) {
        return;
    }

    p = ngx_pnalloc(r->pool, NGX_WS_ID_LEN);
    if (p == NULL) {
        return;
    }

    ngx_memcpy(p, sid, NGX_WS_ID_LEN);

    ngx_ws_var_set(r, NGX_WS_VAR_SID, p, NGX_WS_ID_LEN);
}


/* $ws_sid and $ws_transport: the arguments, in a ws_socketio location */

static ngx_int_t
ngx_ws_var_arg(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                    *name;
    ngx_str_t                  value;
    ngx_http_core_loc_conf_t  *clcf;

    name = (u_char *) data;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->handler != ngx_ws_socketio_handler
        || ngx_http_arg(r, name, ngx_strlen(name), &value) != NGX_OK)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = value.data;
    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* Only what the module gives a request has a value. */

static ngx_int_t
ngx_ws_var_none(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    v->not_found = 1;

    return NGX_OK;
}


/*
 * A session ends: its line in the access log of its location, once.  The
 * WebSocket of an upgrade that goes to another worker's session is no
 * session of its own: the owner logs it.
 */

void
ngx_ws_var_log(ngx_ws_session_t *s, const char *reason)
{
    u_char                     *p, *ns;
    size_t                      len;
    ngx_uint_t                  i;
    ngx_pool_t                 *pool;
    ngx_http_handler_pt        *h;
    ngx_http_request_t         *r;
    ngx_http_core_main_conf_t  *cmcf;

    if (!s->started || s->logged || s->probe || s->relay
        || s->conf->ctx == NULL)
    {
        return;
    }

    s->logged = 1;

    cmcf = s->conf->ctx->main_conf[ngx_http_core_module.ctx_index];

    if (cmcf->phases[NGX_HTTP_LOG_PHASE].handlers.nelts == 0) {
        return;
    }

    pool = ngx_create_pool(1024, ngx_ws_session_log(s));
    if (pool == NULL) {
        return;
    }

    r = ngx_ws_var_request(s, pool);
    if (r == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ns = ngx_ws_var_namespaces(s, pool, &len);

    p = ngx_pnalloc(pool, 2 * NGX_INT32_LEN);

    if (ns == NULL || p == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_ws_var_set(r, NGX_WS_VAR_SID, s->sid, NGX_WS_ID_LEN);

    /* upgraded to a WebSocket that another worker holds: a WebSocket */

    if (s->polling && s->poll->ws_pid == 0) {
        ngx_ws_var_set(r, NGX_WS_VAR_TRANSPORT, (u_char *) "polling", 7);

    } else {
        ngx_ws_var_set(r, NGX_WS_VAR_TRANSPORT, (u_char *) "websocket", 9);
    }

    ngx_ws_var_set(r, NGX_WS_VAR_NAMESPACES, ns, len);
    ngx_ws_var_set(r, NGX_WS_VAR_REASON, (u_char *) reason,
                   ngx_strlen(reason));

    ngx_ws_var_set(r, NGX_WS_VAR_PACKETS_IN, p,
                   ngx_sprintf(p, "%uD", s->packets_in) - p);
    p += NGX_INT32_LEN;
    ngx_ws_var_set(r, NGX_WS_VAR_PACKETS_OUT, p,
                   ngx_sprintf(p, "%uD", s->packets_out) - p);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                   "ws session %*s: logged", (size_t) NGX_WS_ID_LEN, s->sid);

    h = cmcf->phases[NGX_HTTP_LOG_PHASE].handlers.elts;

    for (i = 0; i < cmcf->phases[NGX_HTTP_LOG_PHASE].handlers.nelts; i++) {
        h[i](r);
    }

    ngx_destroy_pool(pool);
}


/*
 * A request as the log phase reads one: the location's configuration, a
 * connection, a start (the session's: $request_time is its length), the
 * status it began with.  A polling session has no connection left: it
 * gets an empty one (no address; its requests have their own lines).
 */

static ngx_http_request_t *
ngx_ws_var_request(ngx_ws_session_t *s, ngx_pool_t *pool)
{
    ngx_msec_t                  start;
    ngx_time_t                 *tp;
    ngx_uint_t                  msec;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_conf_ctx_t        *ctx;
    ngx_http_core_main_conf_t  *cmcf;

    ctx = s->conf->ctx;
    cmcf = ctx->main_conf[ngx_http_core_module.ctx_index];

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    if (r == NULL) {
        return NULL;
    }

    if (s->polling) {
        c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
        if (c == NULL) {
            return NULL;
        }

        c->sockaddr = ngx_pcalloc(pool, sizeof(ngx_sockaddr_t));
        if (c->sockaddr == NULL) {
            return NULL;
        }

        c->sockaddr->sa_family = AF_UNSPEC;
        c->socklen = sizeof(struct sockaddr);
        c->local_sockaddr = c->sockaddr;
        c->local_socklen = c->socklen;
        c->log = &s->poll->log;
        c->pool = pool;
        c->fd = (ngx_socket_t) -1;
        start = s->poll->start;

        r->headers_out.status = NGX_HTTP_OK;

    } else {
        c = s->connection;
        start = c->start_time;

        r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    }

    r->ctx = ngx_pcalloc(pool, sizeof(void *) * ngx_http_max_module);
    r->variables = ngx_pcalloc(pool, cmcf->variables.nelts
                                     * sizeof(ngx_http_variable_value_t));

    if (r->ctx == NULL || r->variables == NULL) {
        return NULL;
    }

    r->pool = pool;
    r->connection = c;
    r->main = r;
    r->count = 1;
    r->main_conf = ctx->main_conf;
    r->srv_conf = ctx->srv_conf;
    r->loc_conf = ctx->loc_conf;
    r->method = NGX_HTTP_GET;
    r->http_version = NGX_HTTP_VERSION_11;

    tp = ngx_timeofday();
    msec = (ngx_uint_t) tp->sec * 1000 + tp->msec - (ngx_current_msec - start);

    r->start_sec = msec / 1000;
    r->start_msec = msec % 1000;

    return r;
}


/*
 * The namespaces the session's sockets are in, in the order they joined
 * (the list has the newest first): "/,/chat" (no name has ",").
 */

static u_char *
ngx_ws_var_namespaces(ngx_ws_session_t *s, ngx_pool_t *pool, size_t *len)
{
    u_char            *data, *p;
    ngx_uint_t         n;
    ngx_ws_socket_t   *sock, **socks;

    *len = 0;
    n = 0;

    for (sock = s->sockets; sock; sock = sock->next) {
        if (!sock->pending) {
            *len += sock->nsp->name.len + 1;
            n++;
        }
    }

    data = ngx_pnalloc(pool, *len + 1);
    socks = ngx_palloc(pool, (n + 1) * sizeof(ngx_ws_socket_t *));

    if (data == NULL || socks == NULL) {
        return NULL;
    }

    n = 0;

    for (sock = s->sockets; sock; sock = sock->next) {
        if (!sock->pending) {
            socks[n++] = sock;
        }
    }

    p = data;

    while (n--) {
        if (p != data) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, socks[n]->nsp->name.data, socks[n]->nsp->name.len);
    }

    *len = p - data;

    return data;
}
