
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


/*
 * How long a browser may reuse a preflight's answer: Firefox keeps it up
 * to 24 hours, Chromium up to 2.  Every request is checked again anyway,
 * so an origin removed from ws_cors_origin is refused at once.
 */
#define NGX_WS_CORS_MAX_AGE  "86400"


/* An origin of ws_cors_origin, or the one of a request's Origin header. */
typedef struct {
    ngx_str_t                  scheme;
    ngx_str_t                  host;           /* a wildcard's: ".suffix" */
    ngx_uint_t                 port;           /* given, else the default */
    ngx_uint_t                 default_port;   /* the scheme's, 0: none */
    unsigned                   any:1;          /* "*" */
    unsigned                   wildcard:1;     /* "*." as the first label */
} ngx_ws_cors_origin_t;


static const char *ngx_ws_cors_parse(ngx_str_t *value,
    ngx_ws_cors_origin_t *o, ngx_uint_t conf);
static ngx_uint_t ngx_ws_cors_host_char(u_char c);
static ngx_uint_t ngx_ws_cors_listed(ngx_ws_loc_conf_t *wlcf,
    ngx_ws_cors_origin_t *o, ngx_uint_t *any);
static ngx_uint_t ngx_ws_cors_same_origin(ngx_http_request_t *r,
    ngx_ws_cors_origin_t *o);
static ngx_int_t ngx_ws_cors_preflight(ngx_http_request_t *r);


/* engine.io's answer to a request its allowRequest refused */
static ngx_str_t  ngx_ws_cors_forbidden =
    ngx_string("{\"code\":4,\"message\":\"Forbidden\"}");


#define ngx_ws_cors_add(r, name, value, len)                                 \
    ngx_ws_http_header_out(r, name, sizeof(name) - 1, (u_char *) value, len)


/*
 * Runs first for every request of a ws_socketio location.  An Origin
 * header is what a browser sends, and a page of any site can open a
 * WebSocket (or send a form's POST) to this server with the user's
 * cookies: that origin must be one of ws_cors_origin or, with none
 * listed, this very site.  No Origin is a client that is not a browser,
 * and is let through.
 */

ngx_int_t
ngx_ws_cors(ngx_http_request_t *r)
{
    ngx_uint_t             ok, any;
    const char            *err;
    ngx_table_elt_t       *origin;
    ngx_ws_loc_conf_t     *wlcf;
    ngx_ws_cors_origin_t   o;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    origin = ngx_ws_http_header_in(r, "Origin", sizeof("Origin") - 1);

    if (origin == NULL) {

        /* a cache must not give this answer to a browser's request */

        if (wlcf->cors_origins
            && ngx_ws_cors_add(r, "Vary", "Origin", 6) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DECLINED;
    }

    any = 0;
    err = ngx_ws_cors_parse(&origin->value, &o, 0);

    if (err != NULL) {
        ok = 0;

    } else if (wlcf->cors_origins) {
        ok = ngx_ws_cors_listed(wlcf, &o, &any);
        err = "not in ws_cors_origin";

    } else {
        ok = ngx_ws_cors_same_origin(r, &o);
        err = "not the Host and no ws_cors_origin";
    }

    if (!ok) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: origin \"%V\" refused: %s", &origin->value, err);

        if (wlcf->cors_origins
            && ngx_ws_cors_add(r, "Vary", "Origin", 6) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_ws_http_reply(r, NGX_HTTP_FORBIDDEN,
                                 ngx_ws_cors_forbidden.data,
                                 ngx_ws_cors_forbidden.len);
    }

    if (wlcf->cors_origins == NULL) {
        /* the site's own page: CORS has nothing to say */
        return NGX_DECLINED;
    }

    /* browsers refuse "*" on a request with credentials */

    if (any && !wlcf->cors_credentials) {
        if (ngx_ws_cors_add(r, "Access-Control-Allow-Origin", "*", 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (ngx_ws_cors_add(r, "Access-Control-Allow-Origin",
                               origin->value.data, origin->value.len)
               != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (wlcf->cors_credentials
        && ngx_ws_cors_add(r, "Access-Control-Allow-Credentials", "true", 4)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_OPTIONS
        && ngx_ws_http_header_in(r, "Access-Control-Request-Method",
                                 sizeof("Access-Control-Request-Method") - 1))
    {
        return ngx_ws_cors_preflight(r);
    }

    if (ngx_ws_cors_add(r, "Vary", "Origin", 6) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/* 204 with what the request may use; the origin headers are there */

static ngx_int_t
ngx_ws_cors_preflight(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (ngx_ws_cors_add(r, "Access-Control-Allow-Methods",
                        "GET, POST, OPTIONS",
                        sizeof("GET, POST, OPTIONS") - 1)
        != NGX_OK
        || ngx_ws_cors_add(r, "Access-Control-Max-Age", NGX_WS_CORS_MAX_AGE,
                           sizeof(NGX_WS_CORS_MAX_AGE) - 1)
           != NGX_OK
        || ngx_ws_cors_add(r, "Vary", "Origin, Access-Control-Request-Headers",
                           sizeof("Origin, Access-Control-Request-Headers")
                           - 1)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the headers the client asks for (socket.io-client's extraHeaders) */

    h = ngx_ws_http_header_in(r, "Access-Control-Request-Headers",
                              sizeof("Access-Control-Request-Headers") - 1);

    if (h != NULL && h->value.len
        && ngx_ws_cors_add(r, "Access-Control-Allow-Headers",
                           h->value.data, h->value.len)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r == r->main && !r->request_body) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* nginx leaves out Content-Length on a 204, as RFC 9110 says */

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* Set-Cookie with the sid, socket.io's cookie option and its defaults */

ngx_int_t
ngx_ws_cors_cookie(ngx_http_request_t *r, u_char *sid, size_t len)
{
    u_char             *value, *p;
    size_t              size;
    ngx_ws_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    if (wlcf->cookie.len == 0) {
        return NGX_OK;
    }

    size = wlcf->cookie.len + 1 + len + sizeof("; Path=") - 1
           + wlcf->cookie_path.len + sizeof("; HttpOnly; SameSite=Lax") - 1;

    value = ngx_pnalloc(r->pool, size);
    if (value == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(value, wlcf->cookie.data, wlcf->cookie.len);
    *p++ = '=';
    p = ngx_cpymem(p, sid, len);
    p = ngx_cpymem(p, "; Path=", sizeof("; Path=") - 1);
    p = ngx_cpymem(p, wlcf->cookie_path.data, wlcf->cookie_path.len);
    p = ngx_cpymem(p, "; HttpOnly; SameSite=Lax",
                   sizeof("; HttpOnly; SameSite=Lax") - 1);

    return ngx_ws_cors_add(r, "Set-Cookie", value, p - value);
}


/* ws_cors_origin origin ...: every argument, every time, adds to the list */

char *
ngx_ws_cors_origin_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_str_t             *value;
    ngx_uint_t             i;
    const char            *err;
    ngx_ws_cors_origin_t  *o;

    if (wlcf->cors_origins == NGX_CONF_UNSET_PTR) {
        wlcf->cors_origins = ngx_array_create(cf->pool, 4,
                                              sizeof(ngx_ws_cors_origin_t));
        if (wlcf->cors_origins == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        o = ngx_array_push(wlcf->cors_origins);
        if (o == NULL) {
            return NGX_CONF_ERROR;
        }

        err = ngx_ws_cors_parse(&value[i], o, 1);

        if (err != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\" in \"%V\": %s; an "
                               "origin is scheme://host[:port], "
                               "scheme://*.domain[:port] or \"*\"",
                               &value[i], &cmd->name, err);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* ws_cookie off | name [path=/...] */

char *
ngx_ws_cors_cookie_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    u_char     *p, *last;
    ngx_str_t  *value;

    if (wlcf->cookie.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_str_set(&wlcf->cookie_path, "/");

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        if (cf->args->nelts == 3) {
            return "takes \"off\" alone";
        }

        ngx_str_set(&wlcf->cookie, "");
        return NGX_CONF_OK;
    }

    /* a token of RFC 6265: no controls, spaces or separators */

    last = value[1].data + value[1].len;

    for (p = value[1].data; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f
            || ngx_strchr("()<>@,;:\\\"/[]?={}", *p) != NULL)
        {
            break;
        }
    }

    if (value[1].len == 0 || p < last) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\" in \"%V\": letters, "
                           "digits and !#$%%&'*+-.^_`|~ only",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    wlcf->cookie = value[1];

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (value[2].len < 6
        || ngx_strncmp(value[2].data, "path=", 5) != 0
        || value[2].data[5] != '/')
    {
        return "takes a name and an optional path=/...";
    }

    last = value[2].data + value[2].len;

    for (p = value[2].data + 5; p < last; p++) {
        if (*p < ' ' || *p >= 0x7f || *p == ';') {
            return "takes a path with no \";\" nor control characters";
        }
    }

    wlcf->cookie_path.data = value[2].data + 5;
    wlcf->cookie_path.len = value[2].len - 5;

    return NGX_CONF_OK;
}


/*
 * scheme://host[:port] as a browser sends it (RFC 6454), with no path:
 * NULL, or why not.  In the configuration (conf) "*" and a first label
 * "*." are allowed too, and the scheme and host are lower-cased.
 */

static const char *
ngx_ws_cors_parse(ngx_str_t *value, ngx_ws_cors_origin_t *o, ngx_uint_t conf)
{
    u_char     *p, *last, *host, *star;
    u_char      c;
    ngx_int_t   port;

    ngx_memzero(o, sizeof(ngx_ws_cors_origin_t));

    p = value->data;
    last = p + value->len;

    if (conf && value->len == 1 && *p == '*') {
        o->any = 1;
        return NULL;
    }

    /* ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 */

    for ( /* void */ ; p < last; p++) {
        c = (u_char) (*p | 0x20);

        if ((c >= 'a' && c <= 'z')
            || (p > value->data
                && ((*p >= '0' && *p <= '9')
                    || *p == '+' || *p == '-' || *p == '.')))
        {
            continue;
        }

        break;
    }

    if (p == value->data || last - p < 3 || ngx_strncmp(p, "://", 3) != 0) {
        return "no scheme";
    }

    o->scheme.data = value->data;
    o->scheme.len = p - value->data;

    if (o->scheme.len == 4
        && ngx_strncasecmp(o->scheme.data, (u_char *) "http", 4) == 0)
    {
        o->default_port = 80;

    } else if (o->scheme.len == 5
               && ngx_strncasecmp(o->scheme.data, (u_char *) "https", 5)
                  == 0)
    {
        o->default_port = 443;
    }

    host = p + 3;

    for (p = host; p < last; p++) {
        if (*p == '/' || *p == '?' || *p == '#') {
            return "a path, query or fragment (not even a \"/\" at the end)";
        }

        if (*p == '@') {
            return "a user name";
        }
    }

    star = NULL;

    if (host < last && *host == '[') {

        /* an IPv6 literal */

        for (p = host + 1; p < last && *p != ']'; p++) {
            c = (u_char) (*p | 0x20);

            if (!((*p >= '0' && *p <= '9') || (c >= 'a' && c <= 'f')
                  || *p == ':' || *p == '.'))
            {
                return "a bad host";
            }
        }

        if (p == last || p == host + 1) {
            return "a bad host";
        }

        p++;

    } else {

        for (p = host; p < last && *p != ':'; p++) {
            if (*p == '*' && star == NULL) {
                star = p;
                continue;
            }

            if (!ngx_ws_cors_host_char(*p)) {
                return (*p == '*') ? "a bad wildcard" : "a bad host";
            }
        }

        /* labels are not empty: no leading, doubled or trailing dot */

        if (p == host || *host == '.' || p[-1] == '.'
            || ngx_strlcasestrn(host, p, (u_char *) "..", 2 - 1) != NULL)
        {
            return "a bad host";
        }
    }

    o->host.data = host;
    o->host.len = p - host;

    if (star != NULL) {
        if (!conf || star != host || o->host.len < 3 || host[1] != '.') {
            return "a bad wildcard";
        }

        o->wildcard = 1;
        o->host.data++;
        o->host.len--;
    }

    if (p < last) {
        if (*p != ':') {
            return "a bad host";
        }

        p++;
        port = ngx_atoi(p, last - p);

        if (port < 1 || port > 65535) {
            return "a bad port";
        }

        o->port = port;

    } else {
        o->port = o->default_port;
    }

    if (conf) {
        ngx_strlow(o->scheme.data, o->scheme.data, o->scheme.len);
        ngx_strlow(o->host.data, o->host.data, o->host.len);
    }

    return NULL;
}


static ngx_uint_t
ngx_ws_cors_host_char(u_char c)
{
    u_char  l;

    l = (u_char) (c | 0x20);

    return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '.' || c == '_';
}


/* any: "*" is listed */

static ngx_uint_t
ngx_ws_cors_listed(ngx_ws_loc_conf_t *wlcf, ngx_ws_cors_origin_t *o,
    ngx_uint_t *any)
{
    ngx_uint_t             i, found;
    ngx_ws_cors_origin_t  *a;

    a = wlcf->cors_origins->elts;
    found = 0;

    for (i = 0; i < wlcf->cors_origins->nelts; i++) {

        if (a[i].any) {
            *any = 1;
            return 1;
        }

        if (found
            || a[i].scheme.len != o->scheme.len
            || ngx_strncasecmp(a[i].scheme.data, o->scheme.data,
                               o->scheme.len) != 0
            || a[i].port != o->port)
        {
            continue;
        }

        /* "*.example.com": any subdomain, not example.com itself */

        if (a[i].wildcard) {
            found = (o->host.len > a[i].host.len
                     && ngx_strncasecmp(o->host.data + o->host.len
                                        - a[i].host.len,
                                        a[i].host.data, a[i].host.len)
                        == 0);

        } else {
            found = (o->host.len == a[i].host.len
                     && ngx_strncasecmp(o->host.data, a[i].host.data,
                                        o->host.len) == 0);
        }
    }

    return found;
}


/*
 * The origin names the host and port the request was sent to: its Host
 * header, with no port for the scheme's default one.  The scheme is left
 * out: behind a proxy that ends TLS this nginx may see http from an
 * https page.
 */

static ngx_uint_t
ngx_ws_cors_same_origin(ngx_http_request_t *r, ngx_ws_cors_origin_t *o)
{
    u_char     *p, *last;
    ngx_int_t   port;
    ngx_str_t   host;

    if (r->headers_in.host == NULL) {
        return 0;
    }

    host = r->headers_in.host->value;
    last = host.data + host.len;

    for (p = last; p > host.data && p[-1] >= '0' && p[-1] <= '9'; p--) {
        /* void */
    }

    if (p > host.data && p[-1] == ':') {
        port = ngx_atoi(p, last - p);   /* "host:" is NGX_ERROR */
        host.len = p - 1 - host.data;

    } else {
        port = o->default_port;
    }

    return port == (ngx_int_t) o->port
           && host.len == o->host.len
           && ngx_strncasecmp(host.data, o->host.data, host.len) == 0;
}


