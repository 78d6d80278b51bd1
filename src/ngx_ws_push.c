
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <cjson/cJSON.h>

#include "ngx_ws.h"


/*
 * The push endpoint: the application's way to emit, to put sockets in and
 * out of rooms and to disconnect them, as socket.io's
 * io.of(nsp).to(rooms).except(rooms).emit() / socketsJoin() /
 * socketsLeave() / disconnectSockets() do.
 */


#define NGX_WS_PUSH_JOIN        1
#define NGX_WS_PUSH_LEAVE       2
#define NGX_WS_PUSH_DISCONNECT  3


typedef struct {
    u_char                    *start;
    size_t                     len;
    size_t                     json_len;
    unsigned                   nbins;
} ngx_ws_push_arg_t;


typedef struct {
    ngx_http_request_t        *request;
    cJSON                     *json;
    u_char                    *body;
    size_t                     len;
    ngx_ws_target_t            target;
    const char                *error;
} ngx_ws_push_t;


static void ngx_ws_push_body(ngx_http_request_t *r);
static u_char *ngx_ws_push_read_body(ngx_http_request_t *r, size_t *len);
static ngx_int_t ngx_ws_push_run(ngx_ws_push_t *p);
static ngx_int_t ngx_ws_push_target(ngx_ws_push_t *p);
static ngx_int_t ngx_ws_push_strings(ngx_ws_push_t *p, const char *key,
    ngx_str_t **list, ngx_uint_t *n);
static ngx_int_t ngx_ws_push_emit(ngx_ws_push_t *p);
static ngx_int_t ngx_ws_push_encode(ngx_ws_push_t *p, ngx_ws_event_t *ev,
    ngx_str_t *event, u_char *data);
static u_char *ngx_ws_push_member(u_char *p, u_char *end, const char *key,
    size_t *len, ngx_ws_json_type_e *type);
static void ngx_ws_push_emit_one(ngx_ws_socket_t *sock, void *data);
static ngx_int_t ngx_ws_push_sockets(ngx_ws_push_t *p, ngx_str_t *op);
static void ngx_ws_push_collect(ngx_ws_socket_t *sock, void *data);
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
    ngx_int_t      rc;
    ngx_ws_push_t  p;

    ngx_memzero(&p, sizeof(ngx_ws_push_t));

    p.request = r;

    p.body = ngx_ws_push_read_body(r, &p.len);
    if (p.body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_ws_push_run(&p);

    if (p.json) {
        cJSON_Delete(p.json);
    }

    if (p.error) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: push refused: %s", p.error);
        rc = ngx_ws_http_error(r, NGX_HTTP_BAD_REQUEST, "%s", p.error);
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
ngx_ws_push_run(ngx_ws_push_t *p)
{
    cJSON      *op;
    ngx_str_t   name;

    /*
     * The strict scanner first: arguments are cut from the body's own
     * bytes, so what cJSON would let through (invalid UTF-8, leading
     * zeros) must not reach a client.
     */

    if (!ngx_ws_json_valid(p->body, p->body + p->len)) {
        p->error = "body is not valid JSON";
        return NGX_ERROR;
    }

    p->json = cJSON_ParseWithLength((char *) p->body, p->len);

    if (p->json == NULL || !cJSON_IsObject(p->json)) {
        p->error = "body must be a JSON object";
        return NGX_ERROR;
    }

    if (ngx_ws_push_target(p) != NGX_OK) {
        return NGX_ERROR;
    }

    op = cJSON_GetObjectItemCaseSensitive(p->json, "op");

    if (op == NULL) {
        return ngx_ws_push_emit(p);
    }

    if (!cJSON_IsString(op)) {
        p->error = "\\\"op\\\" must be a string";
        return NGX_ERROR;
    }

    name.data = (u_char *) op->valuestring;
    name.len = ngx_strlen(op->valuestring);

    if (name.len == 4 && ngx_strncmp(name.data, "emit", 4) == 0) {
        return ngx_ws_push_emit(p);
    }

    return ngx_ws_push_sockets(p, &name);
}


static ngx_int_t
ngx_ws_push_target(ngx_ws_push_t *p)
{
    u_char  *name;
    size_t   len;
    cJSON   *nsp;

    nsp = cJSON_GetObjectItemCaseSensitive(p->json, "nsp");

    if (nsp == NULL) {
        name = (u_char *) "/";
        len = 1;

    } else if (cJSON_IsString(nsp)) {
        name = (u_char *) nsp->valuestring;
        len = ngx_strlen(name);

    } else {
        p->error = "\\\"nsp\\\" must be a string";
        return NGX_ERROR;
    }

    /* io.of("chat") is io.of("/chat") */

    if (len == 0 || name[0] != '/') {
        p->target.nsp = NULL;

        if (len < 255) {
            u_char  buf[256];

            buf[0] = '/';
            ngx_memcpy(buf + 1, name, len);
            p->target.nsp = ngx_ws_nsp_find(buf, len + 1);
        }

    } else {
        p->target.nsp = ngx_ws_nsp_find(name, len);
    }

    if (p->target.nsp == NULL) {
        p->error = "unknown namespace";
        return NGX_ERROR;
    }

    if (ngx_ws_push_strings(p, "rooms", &p->target.rooms, &p->target.nrooms)
        != NGX_OK
        || ngx_ws_push_strings(p, "except", &p->target.except,
                               &p->target.nexcept)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A string or an array of strings; absent or null is an empty list. */

static ngx_int_t
ngx_ws_push_strings(ngx_ws_push_t *p, const char *key, ngx_str_t **list,
    ngx_uint_t *n)
{
    cJSON      *item, *elt;
    ngx_str_t  *s;
    ngx_uint_t  i;

    *list = NULL;
    *n = 0;

    item = cJSON_GetObjectItemCaseSensitive(p->json, key);

    if (item == NULL || cJSON_IsNull(item)) {
        return NGX_OK;
    }

    if (cJSON_IsString(item)) {
        s = ngx_palloc(p->request->pool, sizeof(ngx_str_t));
        if (s == NULL) {
            p->error = "out of memory";
            return NGX_ERROR;
        }

        s->data = (u_char *) item->valuestring;
        s->len = ngx_strlen(item->valuestring);

        *list = s;
        *n = 1;

        return NGX_OK;
    }

    if (!cJSON_IsArray(item)) {
        goto invalid;
    }

    s = ngx_palloc(p->request->pool,
                   (cJSON_GetArraySize(item) + 1) * sizeof(ngx_str_t));
    if (s == NULL) {
        p->error = "out of memory";
        return NGX_ERROR;
    }

    i = 0;

    cJSON_ArrayForEach(elt, item) {
        if (!cJSON_IsString(elt)) {
            goto invalid;
        }

        s[i].data = (u_char *) elt->valuestring;
        s[i].len = ngx_strlen(elt->valuestring);
        i++;
    }

    *list = s;
    *n = i;

    return NGX_OK;

invalid:

    p->error = (key[0] == 'r') ? "\\\"rooms\\\" must be a string or "
                                 "an array of strings"
                               : "\\\"except\\\" must be a string or "
                                 "an array of strings";
    return NGX_ERROR;
}


static ngx_int_t
ngx_ws_push_emit(ngx_ws_push_t *p)
{
    u_char              *end, *data;
    size_t               len;
    ngx_str_t            event;
    ngx_uint_t           n;
    ngx_ws_event_t       ev;
    ngx_ws_json_type_e   type;

    end = p->body + p->len;

    /* the name goes out as written, escapes and all */

    event.data = ngx_ws_push_member(p->body, end, "event", &event.len,
                                    &type);

    if (event.data == NULL || type != NGX_WS_JSON_STRING || event.len == 2) {
        p->error = "\\\"event\\\" is required and must be a non-empty "
                   "string";
        return NGX_ERROR;
    }

    if (ngx_ws_sio_reserved_event(event.data, event.data + event.len)) {
        p->error = "\\\"event\\\" is a reserved name";
        return NGX_ERROR;
    }

    data = ngx_ws_push_member(p->body, end, "data", &len, &type);

    if (data != NULL && type != NGX_WS_JSON_ARRAY) {
        p->error = "\\\"data\\\" must be an array of arguments";
        return NGX_ERROR;
    }

    ngx_memzero(&ev, sizeof(ngx_ws_event_t));

    if (ngx_ws_push_encode(p, &ev, &event, data) != NGX_OK) {
        return NGX_ERROR;
    }

    n = ngx_ws_select(&p->target, ngx_ws_push_emit_one, &ev);

    ngx_ws_event_release(&ev);

    return ngx_ws_push_matched(p->request, n);
}


/*
 * The packet is built from the body's own bytes: each argument goes out as
 * the application wrote it, with {"$binary":"<base64>"} objects turned
 * into attachments.
 */

static ngx_int_t
ngx_ws_push_encode(ngx_ws_push_t *p, ngx_ws_event_t *ev, ngx_str_t *event,
    u_char *data)
{
    u_char              *pos, *end, *elt, *elt_end, *out, *bin;
    size_t               len, json_len, bin_len, total_bin;
    unsigned             nbins, total, k;
    ngx_str_t           *nsp;
    ngx_uint_t           i, nargs;
    ngx_array_t          args;
    ngx_ws_push_arg_t   *arg;
    size_t               lens[NGX_WS_SIO_MAX_ATTACHMENTS];

    if (ngx_array_init(&args, p->request->pool, 4, sizeof(ngx_ws_push_arg_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    end = p->body + p->len;

    total = 0;
    total_bin = 0;

    for (pos = data ? data + 1 : NULL;
         pos && (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         /* void */)
    {
        if (ngx_ws_json_binary_measure(elt, elt_end - elt, &json_len, &nbins,
                                       &bin_len)
            != 0)
        {
            p->error = "invalid base64 in \\\"$binary\\\"";
            return NGX_ERROR;
        }

        arg = ngx_array_push(&args);
        if (arg == NULL) {
            return NGX_ERROR;
        }

        arg->start = elt;
        arg->len = elt_end - elt;
        arg->json_len = json_len;
        arg->nbins = nbins;

        total += nbins;
        total_bin += bin_len;
    }

    if (total > NGX_WS_SIO_MAX_ATTACHMENTS) {
        p->error = "more than 10 binary attachments";
        return NGX_ERROR;
    }

    nsp = &p->target.nsp->name;
    arg = args.elts;
    nargs = args.nelts;

    len = ngx_ws_sio_header_len(total ? NGX_WS_SIO_BINARY_EVENT
                                      : NGX_WS_SIO_EVENT,
                                nsp->len, total, -1)
          + 2 + event->len;

    for (i = 0; i < nargs; i++) {
        len += 1 + arg[i].json_len;
    }

    out = ngx_pnalloc(p->request->pool, len);
    bin = ngx_pnalloc(p->request->pool, total_bin + 1);
    ev->bins = ngx_palloc(p->request->pool, (total + 1) * sizeof(ngx_str_t));

    if (out == NULL || bin == NULL || ev->bins == NULL) {
        return NGX_ERROR;
    }

    ev->text.data = out;

    out = ngx_ws_sio_header_write(out, total ? NGX_WS_SIO_BINARY_EVENT
                                             : NGX_WS_SIO_EVENT,
                                  nsp->data, nsp->len, total, -1);
    *out++ = '[';
    out = ngx_cpymem(out, event->data, event->len);

    total = 0;

    for (i = 0; i < nargs; i++) {
        *out++ = ',';

        if (arg[i].nbins == 0) {
            out = ngx_cpymem(out, arg[i].start, arg[i].len);
            continue;
        }

        if (ngx_ws_json_binary_write(arg[i].start, arg[i].len, total,
                                     out, bin, lens)
            != 0)
        {
            p->error = "invalid base64 in \\\"$binary\\\"";
            return NGX_ERROR;
        }

        out += arg[i].json_len;

        for (k = 0; k < arg[i].nbins; k++) {
            ev->bins[total + k].data = bin;
            ev->bins[total + k].len = lens[k];
            bin += lens[k];
        }

        total += arg[i].nbins;
    }

    *out++ = ']';

    ev->text.len = out - ev->text.data;
    ev->nbins = total;

    return NGX_OK;
}


/*
 * The raw value of a top-level member (the first of that name, as cJSON
 * finds it), or NULL.  The body is valid JSON already.
 */

static u_char *
ngx_ws_push_member(u_char *p, u_char *end, const char *key, size_t *len,
    ngx_ws_json_type_e *type)
{
    u_char  *k, *k_end, *v;

    p = ngx_ws_json_skip_ws(p, end);

    if (p == end || *p != '{') {
        return NULL;
    }

    p++;

    for ( ;; ) {
        k = ngx_ws_json_skip_ws(p, end);

        if (k == end || *k != '"') {
            return NULL;
        }

        k_end = ngx_ws_json_value(k, end, type);
        if (k_end == NULL) {
            return NULL;
        }

        p = ngx_ws_json_skip_ws(k_end, end);

        if (p == end || *p != ':') {
            return NULL;
        }

        v = ngx_ws_json_skip_ws(p + 1, end);

        p = ngx_ws_json_value(v, end, type);
        if (p == NULL) {
            return NULL;
        }

        if (ngx_ws_json_string_eq(k, k_end, key)) {
            *len = p - v;
            return v;
        }

        p = ngx_ws_json_skip_ws(p, end);

        if (p == end || *p != ',') {
            return NULL;
        }

        p++;
    }
}


static void
ngx_ws_push_emit_one(ngx_ws_socket_t *sock, void *data)
{
    ngx_ws_event_t *ev = data;

    ngx_ws_msg_t  *msg;

    msg = ngx_ws_event_msg(ev, sock->session->b64);

    if (msg) {
        ngx_ws_session_send(sock->session, msg);
    }
}


static ngx_int_t
ngx_ws_push_sockets(ngx_ws_push_t *p, ngx_str_t *op)
{
    cJSON             *close;
    ngx_str_t         *rooms;
    ngx_uint_t         i, j, nrooms, n;
    ngx_uint_t         what;
    ngx_array_t        sockets;
    ngx_ws_socket_t  **sock;

    if (op->len == 4 && ngx_strncmp(op->data, "join", 4) == 0) {
        what = NGX_WS_PUSH_JOIN;

    } else if (op->len == 5 && ngx_strncmp(op->data, "leave", 5) == 0) {
        what = NGX_WS_PUSH_LEAVE;

    } else if (op->len == 10 && ngx_strncmp(op->data, "disconnect", 10) == 0)
    {
        what = NGX_WS_PUSH_DISCONNECT;

    } else {
        p->error = "unknown \\\"op\\\": use emit, join, leave or disconnect";
        return NGX_ERROR;
    }

    rooms = NULL;
    nrooms = 0;
    close = NULL;

    if (what == NGX_WS_PUSH_DISCONNECT) {
        close = cJSON_GetObjectItemCaseSensitive(p->json, "close");

        if (close && !cJSON_IsBool(close)) {
            p->error = "\\\"close\\\" must be a boolean";
            return NGX_ERROR;
        }

    } else {
        if (ngx_ws_push_strings(p, "room", &rooms, &nrooms) != NGX_OK) {
            p->error = "\\\"room\\\" must be a string or an array of strings";
            return NGX_ERROR;
        }

        if (nrooms == 0) {
            p->error = "\\\"room\\\" is required";
            return NGX_ERROR;
        }
    }

    /* rooms change below: collect first, act after the walk */

    if (ngx_array_init(&sockets, p->request->pool, 16,
                       sizeof(ngx_ws_socket_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    (void) ngx_ws_select(&p->target, ngx_ws_push_collect, &sockets);

    sock = sockets.elts;
    n = sockets.nelts;

    for (i = 0; i < n; i++) {
        switch (what) {

        case NGX_WS_PUSH_JOIN:
            for (j = 0; j < nrooms; j++) {
                if (ngx_ws_room_join(sock[i], &rooms[j]) != NGX_OK) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }
            }
            break;

        case NGX_WS_PUSH_LEAVE:
            for (j = 0; j < nrooms; j++) {
                ngx_ws_room_leave(sock[i], &rooms[j]);
            }
            break;

        default:
            if (cJSON_IsTrue(close)) {
                ngx_ws_session_close(sock[i]->session, NGX_WS_CLOSE_NORMAL);

            } else {
                ngx_ws_socket_disconnect(sock[i]);
            }
        }
    }

    return ngx_ws_push_matched(p->request, n);
}


static void
ngx_ws_push_collect(ngx_ws_socket_t *sock, void *data)
{
    ngx_array_t *sockets = data;

    ngx_ws_socket_t  **elt;

    elt = ngx_array_push(sockets);
    if (elt) {
        *elt = sock;
    }
}


static ngx_int_t
ngx_ws_push_matched(ngx_http_request_t *r, ngx_uint_t n)
{
    u_char  *p;
    u_char   buf[sizeof("{\"matched\":}") + NGX_INT_T_LEN];

    p = ngx_sprintf(buf, "{\"matched\":%ui}", n);

    return ngx_ws_http_reply(r, NGX_HTTP_OK, buf, p - buf);
}
