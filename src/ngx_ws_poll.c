
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"
#include "ngx_ws_var.h"


/*
 * How long a closing session waits for the GET that carries its close
 * packet; engine.io waits 30 s, a client that polls comes back at once.
 */
#define NGX_WS_POLL_LINGER     10000


static ngx_int_t ngx_ws_poll_get(ngx_http_request_t *r, ngx_ws_session_t *s);
static ngx_int_t ngx_ws_poll_post(ngx_http_request_t *r,
    ngx_ws_session_t *s);
static void ngx_ws_poll_body_handler(ngx_http_request_t *r);
static u_char *ngx_ws_poll_append(ngx_ws_session_t *s, size_t len);
static ngx_int_t ngx_ws_poll_read(ngx_ws_session_t *s);
static u_char *ngx_ws_poll_take(ngx_ws_session_t *s, ngx_pool_t *pool,
    u_char tail, size_t *len);
static void ngx_ws_poll_answer_remote(ngx_ws_session_t *s, ngx_pid_t pid,
    u_char tail);
static void ngx_ws_poll_frames_remote(ngx_ws_session_t *s,
    ngx_uint_t code);
static void ngx_ws_poll_release_get(ngx_ws_session_t *s, u_char packet);
static void ngx_ws_poll_let_go(ngx_ws_session_t *s);
static u_char ngx_ws_poll_due(ngx_ws_session_t *s);
static ngx_int_t ngx_ws_poll_hold(ngx_http_request_t *r,
    ngx_ws_session_t *s);
static void ngx_ws_poll_ref_cleanup(void *data);
static ngx_int_t ngx_ws_poll_answer(ngx_ws_session_t *s,
    ngx_http_request_t *r, u_char tail);
static size_t ngx_ws_poll_msg_len(ngx_ws_msg_t *msg, ngx_uint_t *count);
static u_char *ngx_ws_poll_msg_write(u_char *p, ngx_ws_msg_t *msg);
static u_char *ngx_ws_poll_frame(u_char *p, u_char *end, unsigned *opcode,
    u_char **payload, size_t *len);
static void ngx_ws_poll_finish(ngx_http_request_t *r, ngx_int_t rc);
static void ngx_ws_poll_timer_handler(ngx_event_t *ev);
static void ngx_ws_poll_flush_handler(ngx_event_t *ev);


/*
 * The first GET of a polling session: the session is made here and lives
 * in this worker; the open packet is the whole answer.
 */

ngx_int_t
ngx_ws_poll_open(ngx_http_request_t *r)
{
    u_char             *open, *p;
    size_t              len;
    ngx_int_t           rc;
    ngx_ws_poll_t      *poll;
    ngx_ws_session_t   *s;
    ngx_ws_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_ws_module);

    if (ngx_exiting || ngx_terminate) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    s = ngx_ws_session_create(NULL, conf);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    poll = ngx_calloc(sizeof(ngx_ws_poll_t), r->connection->log);
    if (poll == NULL) {
        ngx_ws_session_free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->polling = 1;
    s->poll = poll;

    /* engine.io-parser always sends binary over polling as base64 */
    s->b64 = 1;

    /* the request's log names its connection, which does not last */
    poll->log = *ngx_cycle->log;
    poll->log.action = "serving socket.io over polling";
    poll->start = ngx_current_msec;

    ngx_ws_var_sid(r, s->sid);

    poll->timer.handler = ngx_ws_poll_timer_handler;
    poll->timer.data = s;
    poll->timer.log = &poll->log;
    poll->timer.cancelable = 1;

    poll->flush.handler = ngx_ws_poll_flush_handler;
    poll->flush.data = s;
    poll->flush.log = &poll->log;

    rc = ngx_ws_limit_take(r, s);

    if (rc != NGX_DECLINED) {
        ngx_ws_session_free(s);
        return rc;
    }

    if ((conf->hook_connect.len || conf->hook_event.len
         || conf->hook_disconnect.len)
        && ngx_ws_hook_keep(r, s) != NGX_OK)
    {
        ngx_ws_session_free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_ws_eio_open_len(NGX_WS_ID_LEN, 1, conf->ping_interval,
                              conf->ping_timeout, conf->max_payload);

    open = ngx_pnalloc(r->pool, len);
    if (open == NULL) {
        ngx_ws_session_free(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_eio_open_write(open, s->sid, NGX_WS_ID_LEN, 1,
                              conf->ping_interval, conf->ping_timeout,
                              conf->max_payload);

    ngx_ws_session_register(s);

    s->heartbeat_at = ngx_current_msec + conf->ping_interval;
    s->connect_at = ngx_current_msec + conf->connect_timeout;
    ngx_ws_session_timer_arm(s);

    if (ngx_ws_cors_cookie(r, s->sid, NGX_WS_ID_LEN) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_ws_poll_reply(r, NGX_HTTP_OK, NGX_WS_POLL_TEXT, open,
                             p - open);
}


/* A request of a polling session of this worker. */

ngx_int_t
ngx_ws_poll_request(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    if (r->method == NGX_HTTP_GET) {
        return ngx_ws_poll_get(r, s);
    }

    if (r->method == NGX_HTTP_POST) {
        return ngx_ws_poll_post(r, s);
    }

    /* engine.io answers other methods on a session with a bare 500 */
    return ngx_ws_poll_reply(r, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                             NULL, 0);
}


static ngx_int_t
ngx_ws_poll_get(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    ngx_int_t       rc;
    ngx_ws_poll_t  *poll;

    poll = s->poll;

    if (s->error) {
        /* ending: engine.io has forgotten the sid already */
        return ngx_ws_poll_reply(r, NGX_HTTP_BAD_REQUEST, "application/json",
                                 ngx_ws_eio_unknown_sid.data,
                                 ngx_ws_eio_unknown_sid.len);
    }

    if (poll->get) {
        /* engine.io: the second GET gets 400, the first the close */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: overlapping polling GET, closing");
        ngx_ws_poll_end(s, "transport error");
        return ngx_ws_poll_reply(r, NGX_HTTP_BAD_REQUEST, NULL, NULL, 0);
    }

    if (s->out || s->closing || poll->upgrading) {
        rc = ngx_ws_poll_answer(s, r, ngx_ws_poll_due(s));

        if (s->closing && s->out == NULL) {
            ngx_ws_session_free(s);
        }

        return rc;
    }

    rc = ngx_ws_poll_hold(r, s);
    if (rc != NGX_OK) {
        return rc;
    }

    poll->get = r;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws poll %*s: GET parked", (size_t) NGX_WS_ID_LEN, s->sid);

    /* a client that goes away is seen at once, on HTTP/2 as a reset */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_ws_poll_post(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    ngx_int_t  rc;

    if (s->poll->post) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: overlapping polling POST, closing");
        ngx_ws_poll_end(s, "transport error");
        return ngx_ws_poll_reply(r, NGX_HTTP_BAD_REQUEST, NULL, NULL, 0);
    }

    rc = ngx_ws_poll_post_check(r, s->conf->max_payload);

    if (rc == NGX_HTTP_BAD_REQUEST) {
        ngx_ws_poll_end(s, "transport error");
    }

    if (rc != NGX_OK) {
        return ngx_ws_poll_reply(r, rc, NULL, NULL, 0);
    }

    rc = ngx_ws_poll_hold(r, s);
    if (rc != NGX_OK) {
        return rc;
    }

    s->poll->post = r;

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_ws_poll_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* a chunked body over the limit: engine.io keeps the session */
        s->poll->post = NULL;
        return rc;
    }

    return NGX_DONE;
}


/*
 * What a POST's headers refuse, as engine.io does, before its body is
 * read (here or by the worker that relays it): a binary body is
 * engine.io's "invalid content" and ends the session (NGX_HTTP_BAD_REQUEST),
 * an announced length over ws_max_payload gets 413 and the session goes
 * on.  NGX_OK otherwise.
 */

ngx_int_t
ngx_ws_poll_post_check(ngx_http_request_t *r, size_t max_payload)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.content_type;

    if (h && h->value.len >= 24
        && ngx_strncasecmp(h->value.data,
                           (u_char *) "application/octet-stream", 24) == 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: binary polling payload, closing");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (r->headers_in.content_length_n > (off_t) max_payload) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    return NGX_OK;
}


/*
 * The length of a POST's body once read: NGX_OK, or the status it gets.
 * client_body_buffer_size is raised to ws_max_payload, so a body in a
 * file is an error; a chunked one may still be over the limit.
 */

ngx_int_t
ngx_ws_poll_body_len(ngx_http_request_t *r, size_t max_payload, size_t *len)
{
    ngx_chain_t  *cl;

    *len = 0;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        if (cl->buf->in_file) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "ws: polling payload written to a file");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *len += cl->buf->last - cl->buf->pos;
    }

    return (*len > max_payload) ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE : NGX_OK;
}


/* The body copied to p; returns where it ends. */

u_char *
ngx_ws_poll_body_copy(ngx_http_request_t *r, u_char *p)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        b = cl->buf;

        /* an empty body's buffer may have no memory at all */
        if (b->last > b->pos) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    return p;
}


static void
ngx_ws_poll_body_handler(ngx_http_request_t *r)
{
    u_char             *p;
    size_t              len;
    ngx_int_t           rc;
    ngx_ws_session_t   *s;
    ngx_ws_poll_ref_t  *ref;

    ref = ngx_http_get_module_ctx(r, ngx_ws_module);
    s = ngx_ws_session_find(ref->sid);

    if (s == NULL || !s->polling || s->poll->post != r) {
        /* the session ended while the body was read */
        ngx_ws_poll_finish(r, ngx_ws_poll_reply(r, NGX_HTTP_BAD_REQUEST,
                                                NULL, NULL, 0));
        return;
    }

    rc = ngx_ws_poll_body_len(r, s->conf->max_payload, &len);

    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        s->poll->post = NULL;
        ngx_ws_poll_end(s, "transport error");
        ngx_ws_poll_finish(r, rc);
        return;
    }

    if (rc != NGX_OK) {
        s->poll->post = NULL;
        ngx_ws_poll_finish(r, ngx_ws_poll_reply(r, rc, NULL, NULL, 0));
        return;
    }

    /* the packets are kept apart from the request: a hook may pause them */

    p = ngx_ws_poll_append(s, len);
    if (p == NULL) {
        s->poll->post = NULL;
        ngx_ws_poll_end(s, "transport error");
        ngx_ws_poll_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) ngx_ws_poll_body_copy(r, p);

    (void) ngx_ws_poll_read(s);
}


/*
 * Room for len more bytes of payload behind what is still to be read (a
 * POST, or several relayed ones, whose packets a full hook queue paused).
 */

static u_char *
ngx_ws_poll_append(ngx_ws_session_t *s, size_t len)
{
    u_char         *buf;
    size_t          left;
    ngx_ws_poll_t  *poll;

    poll = s->poll;
    left = s->rbuf ? (size_t) (s->rbuf + s->rbuf_len - poll->post_data) : 0;

    buf = ngx_alloc(left + len + 1, &poll->log);
    if (buf == NULL) {
        return NULL;
    }

    if (left) {
        ngx_memcpy(buf, poll->post_data, left);
    }

    if (s->rbuf) {
        ngx_free(s->rbuf);
    }

    s->rbuf = buf;
    s->rbuf_len = left + len;
    s->rbuf_size = left + len + 1;
    poll->post_data = buf;

    return buf + left;
}


/*
 * The packets of a POST, split on the record separator; the answer "ok"
 * goes out when all are read, so a client whose hook queue is full waits,
 * as on a WebSocket.  Returns NGX_DONE when the session is gone.
 */

static ngx_int_t
ngx_ws_poll_read(ngx_ws_session_t *s)
{
    u_char              *p, *end, *sep;
    ngx_int_t            rc;
    ngx_ws_poll_t       *poll;
    ngx_http_request_t  *r;

    poll = s->poll;
    r = poll->post;

    p = poll->post_data;
    end = s->rbuf + s->rbuf_len;

    while (p < end && !s->closing && !s->throttled) {
        sep = ngx_strlchr(p, end, 0x1e);
        if (sep == NULL) {
            sep = end;
        }

        ngx_ws_metric_add(NGX_WS_M_BYTES_IN, (sep < end) ? sep - p + 1
                                                         : sep - p);
        ngx_ws_session_engineio(s, 0, p, sep - p);

        p = (sep < end) ? sep + 1 : end;
    }

    poll->post_data = p;

    if (s->throttled && !s->closing && p < end) {
        return NGX_OK;
    }

    poll->post = NULL;
    poll->post_data = NULL;
    s->rbuf_len = 0;
    ngx_free(s->rbuf);
    s->rbuf = NULL;
    s->rbuf_size = 0;

    /* a relayed POST was answered by the worker that read it */

    rc = r ? ngx_ws_poll_reply(r, NGX_HTTP_OK, "text/html",
                               (u_char *) "ok", 2)
           : NGX_OK;

    if (s->peer_closed) {
        ngx_ws_session_free(s);

        if (r) {
            ngx_ws_poll_finish(r, rc);
        }

        return NGX_DONE;
    }

    if (r) {
        ngx_ws_poll_finish(r, rc);
    }

    return NGX_OK;
}


/* A hook queue with room again: the rest of the POST's packets. */

void
ngx_ws_poll_resume(ngx_ws_session_t *s)
{
    if (s->rbuf && !s->poll->flush.posted) {
        ngx_post_event(&s->poll->flush, &ngx_posted_events);
    }
}


/*
 * Ties a request to its session for as long as the request lives: if it
 * ends before the session let go of it, the session learns from the
 * cleanup.
 */

static ngx_int_t
ngx_ws_poll_hold(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    ngx_pool_cleanup_t  *cln;
    ngx_ws_poll_ref_t   *ref;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_ws_poll_ref_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ref = cln->data;
    ref->request = r;
    ngx_memcpy(ref->sid, s->sid, NGX_WS_ID_LEN);

    cln->handler = ngx_ws_poll_ref_cleanup;
    ngx_http_set_ctx(r, ref, ngx_ws_module);

    return NGX_OK;
}


/*
 * A request ends: one the session still holds was cancelled by the client
 * (a closed connection, an HTTP/2 reset).  engine.io closes the session;
 * the close itself runs from an event, not inside the request's teardown.
 */

static void
ngx_ws_poll_ref_cleanup(void *data)
{
    ngx_ws_poll_ref_t *ref = data;

    ngx_ws_session_t  *s;

    s = ngx_ws_session_find(ref->sid);

    if (s == NULL || !s->polling) {
        return;
    }

    if (s->poll->get == ref->request) {
        s->poll->get = NULL;

    } else if (s->poll->post == ref->request) {
        s->poll->post = NULL;

        if (ref->request->headers_out.status
            == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
        {
            /* nginx refused a chunked body over the limit as it came */
            return;
        }

    } else {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &s->poll->log, 0,
                   "ws poll %*s: request cancelled",
                   (size_t) NGX_WS_ID_LEN, s->sid);

    s->error = 1;
    ngx_post_event(&s->poll->flush, &ngx_posted_events);
}


/*
 * Everything queued, as one payload: each frame's packet, binary ones as
 * "b<base64>", joined with the record separator, then the tail packet
 * (a noop or a close) if any.  The answer takes the queue whole.
 */

static ngx_int_t
ngx_ws_poll_answer(ngx_ws_session_t *s, ngx_http_request_t *r, u_char tail)
{
    u_char  *body;
    size_t   len;

    if (s->poll->get == r) {
        s->poll->get = NULL;
    }

    body = ngx_ws_poll_take(s, r->pool, tail, &len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws poll %*s: answering with %uz bytes",
                   (size_t) NGX_WS_ID_LEN, s->sid, len);

    return ngx_ws_poll_reply(r, NGX_HTTP_OK, NGX_WS_POLL_TEXT, body, len);
}


/* The same for a GET parked in another worker, through the log. */

static void
ngx_ws_poll_answer_remote(ngx_ws_session_t *s, ngx_pid_t pid, u_char tail)
{
    u_char  *body;
    size_t   len;

    if (s->poll->get_pid == pid) {
        s->poll->get_pid = 0;
    }

    body = ngx_ws_poll_take(s, NULL, tail, &len);

    if (body == NULL) {
        (void) ngx_ws_relay_send(NGX_WS_RELAY_ANSWER, s->sid, pid,
                                 NGX_HTTP_INTERNAL_SERVER_ERROR, NULL, 0);
        return;
    }

    (void) ngx_ws_relay_send(NGX_WS_RELAY_ANSWER, s->sid, pid, NGX_HTTP_OK,
                             body, len);
    ngx_free(body);
}


/*
 * The queue for a WebSocket held by another worker: its frames as they
 * are; a code closes that WebSocket after them.
 */

static void
ngx_ws_poll_frames_remote(ngx_ws_session_t *s, ngx_uint_t code)
{
    u_char        *buf, *p;
    size_t         len;
    ngx_ws_out_t  *out;

    len = 0;

    for (out = s->out; out; out = out->next) {
        len += out->msg->len;
    }

    buf = ngx_alloc(len + 1, &s->poll->log);
    if (buf == NULL) {
        len = 0;
        code = NGX_WS_CLOSE_INTERNAL;
    }

    p = buf;

    while (s->out) {
        out = s->out;

        if (buf) {
            p = ngx_cpymem(p, out->msg->data, out->msg->len);
        }

        s->out = out->next;
        ngx_ws_msg_release(out->msg);
        ngx_free(out);
    }

    s->out_last = &s->out;
    s->out_bytes = 0;

    if (len || code) {
        (void) ngx_ws_relay_send(NGX_WS_RELAY_FRAMES, s->sid,
                                 s->poll->ws_pid, code, buf, len);
    }

    if (buf) {
        ngx_free(buf);
    }
}


/*
 * Everything queued, as one payload: each frame's packet, binary ones as
 * "b<base64>", joined with the record separator, then the tail packet
 * (a noop or a close) if any.  It takes the queue whole; memory from pool,
 * or from the heap without one.
 */

static u_char *
ngx_ws_poll_take(ngx_ws_session_t *s, ngx_pool_t *pool, u_char tail,
    size_t *len)
{
    u_char        *body, *p;
    size_t         size;
    ngx_uint_t     n;
    ngx_ws_out_t  *out;

    size = 0;
    n = 0;

    for (out = s->out; out; out = out->next) {
        size += ngx_ws_poll_msg_len(out->msg, &n);
    }

    if (tail) {
        size++;
        n++;
    }

    size += n ? n - 1 : 0;

    body = pool ? ngx_pnalloc(pool, size + 1)
                : ngx_alloc(size + 1, &s->poll->log);
    if (body == NULL) {
        return NULL;
    }

    p = body;

    while (s->out) {
        out = s->out;

        if (p != body) {
            *p++ = 0x1e;
        }

        p = ngx_ws_poll_msg_write(p, out->msg);

        s->out = out->next;
        ngx_ws_msg_release(out->msg);
        ngx_free(out);
    }

    s->out_last = &s->out;
    s->out_bytes = 0;

    if (tail) {
        if (p != body) {
            *p++ = 0x1e;
        }

        *p++ = tail;
    }

    *len = p - body;

    return body;
}


static size_t
ngx_ws_poll_msg_len(ngx_ws_msg_t *msg, ngx_uint_t *count)
{
    u_char    *p, *end, *payload;
    size_t     len, plen;
    unsigned   opcode;

    len = 0;
    p = msg->data;
    end = msg->data + msg->len;

    /* the separators are counted by the caller */

    while ((p = ngx_ws_poll_frame(p, end, &opcode, &payload, &plen))) {
        len += (opcode == NGX_WS_OP_BINARY)
               ? 1 + ngx_ws_base64_encoded_len(plen) : plen;
        (*count)++;
    }

    return len;
}


static u_char *
ngx_ws_poll_msg_write(u_char *p, ngx_ws_msg_t *msg)
{
    u_char    *f, *end, *payload, *start;
    size_t     plen;
    unsigned   opcode;

    f = msg->data;
    end = msg->data + msg->len;
    start = p;

    while ((f = ngx_ws_poll_frame(f, end, &opcode, &payload, &plen))) {
        if (p != start) {
            *p++ = 0x1e;
        }

        if (opcode == NGX_WS_OP_BINARY) {
            *p++ = 'b';
            p = ngx_ws_base64_encode(p, payload, plen);

        } else {
            p = ngx_cpymem(p, payload, plen);
        }
    }

    return p;
}


/*
 * The next of our own frames in a message (unmasked, FIN set, no control
 * frames on a polling session), or NULL at its end.
 */

static u_char *
ngx_ws_poll_frame(u_char *p, u_char *end, unsigned *opcode, u_char **payload,
    size_t *len)
{
    size_t      n;
    ngx_uint_t  i;

    if (end - p < 2) {
        return NULL;
    }

    *opcode = p[0] & 0x0f;
    n = p[1] & 0x7f;
    p += 2;

    if (n == 126) {
        n = (size_t) p[0] << 8 | p[1];
        p += 2;

    } else if (n == 127) {
        for (i = 0, n = 0; i < 8; i++) {
            n = n << 8 | p[i];
        }

        p += 8;
    }

    *payload = p;
    *len = n;

    return p + n;
}


ngx_int_t
ngx_ws_poll_reply(ngx_http_request_t *r, ngx_uint_t status, const char *type,
    u_char *body, size_t len)
{
    /* a cached poll would be a lost message */

    if (status == NGX_HTTP_OK
        && ngx_ws_http_header_out(r, "Cache-Control",
                                  sizeof("Cache-Control") - 1,
                                  (u_char *) "no-store", 8)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_ws_metric_add(NGX_WS_M_BYTES_OUT, len);

    return ngx_ws_http_send(r, status, type, body, len);
}


/* A held request's answer: the count taken when it was held goes back. */

static void
ngx_ws_poll_finish(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
}


/*
 * The session ends at once, with no goodbye queued: a cancelled or
 * overlapping request, a bad payload.  A parked GET gets the close packet.
 */

void
ngx_ws_poll_end(ngx_ws_session_t *s, const char *reason)
{
    ngx_ws_poll_t       *poll;
    ngx_http_request_t  *r;

    poll = s->poll;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, &poll->log, 0,
                   "ws poll %*s: ending, %s", (size_t) NGX_WS_ID_LEN, s->sid,
                   reason);

    if (!s->closing) {
        s->closing = 1;
        ngx_ws_session_detach(s, reason);
    }

    r = poll->get;

    if (r) {
        poll->get = NULL;
        ngx_ws_poll_finish(r, ngx_ws_poll_answer(s, r, NGX_WS_EIO_CLOSE));
    }

    ngx_ws_session_free(s);
}


/*
 * The transport side of ngx_ws_session_send(): the message waits for the
 * next GET, counted against ws_write_queue as on a WebSocket.
 */

ngx_int_t
ngx_ws_poll_queue(ngx_ws_session_t *s, ngx_ws_msg_t *msg)
{
    size_t         cost;
    ngx_ws_out_t  *out;

    cost = msg->len + NGX_WS_OUT_COST;

    if (s->out && s->out_bytes + cost > s->conf->write_queue) {
        ngx_ws_metric_add(NGX_WS_M_SLOW_READER, 1);
        ngx_log_error(NGX_LOG_WARN, &s->poll->log, 0,
                      "ws: slow reader, %uz bytes queued over "
                      "ws_write_queue %uz, closing",
                      s->out_bytes + cost, s->conf->write_queue);
        ngx_ws_poll_fail(s);
        return NGX_ERROR;
    }

    out = ngx_alloc(sizeof(ngx_ws_out_t), &s->poll->log);
    if (out == NULL) {
        ngx_ws_poll_fail(s);
        return NGX_ERROR;
    }

    out->next = NULL;
    out->msg = msg;
    out->pos = 0;
    msg->refs++;

    *s->out_last = out;
    s->out_last = &out->next;
    s->out_bytes += cost;

    /* what one turn of the event loop queues goes out in one answer */

    if ((s->poll->get || s->poll->get_pid || s->poll->ws_pid)
        && !s->poll->flush.posted)
    {
        ngx_post_event(&s->poll->flush, &ngx_posted_events);
    }

    return NGX_OK;
}


void
ngx_ws_poll_fail(ngx_ws_session_t *s)
{
    s->error = 1;

    if (!s->poll->flush.posted) {
        ngx_post_event(&s->poll->flush, &ngx_posted_events);
    }
}


/*
 * A close by the server: the sockets are gone already, the close packet
 * is queued; the session ends when a GET has taken it, or after a while.
 */

void
ngx_ws_poll_close(ngx_ws_session_t *s)
{
    u_char        *p;
    ngx_ws_msg_t  *msg;

    if (s->poll->ws_pid) {
        /* a WebSocket in another worker: closed there after the queue */
        if (!s->poll->flush.posted) {
            ngx_post_event(&s->poll->flush, &ngx_posted_events);
        }

        return;
    }

    msg = ngx_ws_msg_frame(NGX_WS_OP_TEXT, 1, &p);
    if (msg == NULL) {
        ngx_ws_poll_fail(s);
        return;
    }

    *p = NGX_WS_EIO_CLOSE;

    s->poll->upgrading = 0;

    (void) ngx_ws_poll_queue(s, msg);
    ngx_ws_msg_release(msg);

    if (s->poll->timer.timer_set) {
        ngx_del_timer(&s->poll->timer);
    }

    s->poll->timer.cancelable = 0;
    ngx_add_timer(&s->poll->timer, NGX_WS_POLL_LINGER);
}


/*
 * A "1" in a POST: the client is leaving.  The session ends once the POST
 * is answered; a parked GET is let go with a noop, as engine.io does.
 */

void
ngx_ws_poll_closed(ngx_ws_session_t *s)
{
    s->closing = 1;
    s->peer_closed = 1;
    ngx_ws_session_detach(s, "transport close");

    ngx_ws_poll_let_go(s);
}


/* A probe answered "3probe": a parked GET is let go with a noop. */

void
ngx_ws_poll_probed(ngx_ws_session_t *s)
{
    s->poll->upgrading = 1;

    if (s->out) {
        /* the queue goes out now, which lets the GET go as well */
        return;
    }

    ngx_ws_poll_let_go(s);
}


/*
 * What a GET that arrives takes after the queue: during an upgrade, with
 * nothing else for it, a noop lets it go.
 */

static u_char
ngx_ws_poll_due(ngx_ws_session_t *s)
{
    return (s->poll->upgrading && s->out == NULL && !s->closing)
           ? NGX_WS_EIO_NOOP : 0;
}


/* A parked GET, here or in another worker, gets the queue and a noop. */

static void
ngx_ws_poll_let_go(ngx_ws_session_t *s)
{
    ngx_http_request_t  *r;

    r = s->poll->get;

    if (r) {
        ngx_ws_poll_finish(r, ngx_ws_poll_answer(s, r, NGX_WS_EIO_NOOP));

    } else if (s->poll->get_pid) {
        ngx_ws_poll_answer_remote(s, s->poll->get_pid, NGX_WS_EIO_NOOP);
    }
}


/*
 * The upgrade is done: the polling side lets go of its requests (a parked
 * GET gets a noop) and of its timers; the queue stays with the session.
 */

ngx_int_t
ngx_ws_poll_detach(ngx_ws_session_t *s)
{
    ngx_ws_poll_t  *poll;

    poll = s->poll;

    if (poll->post || s->rbuf || poll->ws_pid) {
        /* its packets would be read after what the WebSocket brings */
        return NGX_DECLINED;
    }

    ngx_ws_poll_release_get(s, NGX_WS_EIO_NOOP);

    ngx_ws_poll_free(s);

    return NGX_OK;
}


/* A parked GET, here or in another worker, answered with one packet. */

static void
ngx_ws_poll_release_get(ngx_ws_session_t *s, u_char packet)
{
    ngx_pid_t            pid;
    ngx_http_request_t  *r;

    r = s->poll->get;

    if (r) {
        s->poll->get = NULL;
        ngx_ws_poll_finish(r, ngx_ws_poll_reply(r, NGX_HTTP_OK,
                                                NGX_WS_POLL_TEXT,
                                                &packet, 1));
    }

    pid = s->poll->get_pid;

    if (pid) {
        s->poll->get_pid = 0;
        (void) ngx_ws_relay_send(NGX_WS_RELAY_ANSWER, s->sid, pid,
                                 NGX_HTTP_OK, &packet, 1);
    }
}


/*
 * Frees what polling holds.  A parked GET is answered with the close
 * packet (a worker that exits lets its clients reconnect elsewhere); a
 * POST still being read is refused; a WebSocket in another worker is
 * closed there.
 */

void
ngx_ws_poll_free(ngx_ws_session_t *s)
{
    ngx_ws_poll_t       *poll;
    ngx_http_request_t  *r;

    poll = s->poll;

    if (poll->timer.timer_set) {
        ngx_del_timer(&poll->timer);
    }

    if (poll->flush.posted) {
        ngx_delete_posted_event(&poll->flush);
    }

    ngx_ws_poll_release_get(s, NGX_WS_EIO_CLOSE);

    if (poll->ws_pid) {
        ngx_ws_poll_frames_remote(s, ngx_exiting ? NGX_WS_CLOSE_GOING_AWAY
                                                 : NGX_WS_CLOSE_NORMAL);
    }

    r = poll->post;

    if (r) {
        poll->post = NULL;
        ngx_ws_poll_finish(r, ngx_ws_poll_reply(r, NGX_HTTP_BAD_REQUEST,
                                                NULL, NULL, 0));
    }

    ngx_free(poll);

    s->polling = 0;
    s->poll = NULL;
}


static void
ngx_ws_poll_timer_handler(ngx_event_t *ev)
{
    ngx_ws_session_t  *s;

    s = ev->data;

    if (s->closing) {
        /* no GET came for the close packet */
        ngx_ws_session_free(s);
        return;
    }

    ngx_ws_session_heartbeat(s);
}


static void
ngx_ws_poll_flush_handler(ngx_event_t *ev)
{
    ngx_ws_session_t    *s;
    ngx_http_request_t  *r;

    s = ev->data;

    if (s->error) {
        ngx_ws_poll_end(s, "transport error");
        return;
    }

    if (s->rbuf && !s->throttled && ngx_ws_poll_read(s) == NGX_DONE) {
        return;
    }

    if (s->poll->ws_pid) {
        if (s->closing) {
            /* ngx_ws_poll_free() sends the queue and the close */
            ngx_ws_session_free(s);
            return;
        }

        if (s->out) {
            ngx_ws_poll_frames_remote(s, 0);
        }

        return;
    }

    if (!(s->out || s->closing)) {
        return;
    }

    r = s->poll->get;

    if (r) {
        ngx_ws_poll_finish(r, ngx_ws_poll_answer(s, r, 0));

    } else if (s->poll->get_pid) {
        ngx_ws_poll_answer_remote(s, s->poll->get_pid, 0);

    } else {
        return;
    }

    if (s->closing && s->out == NULL) {
        ngx_ws_session_free(s);
    }
}


/*
 * A record from a worker that holds a request of this session (see
 * ngx_ws_relay.c): the same steps as for a request held here.
 */

void
ngx_ws_poll_relayed(ngx_ws_session_t *s, ngx_ws_op_t *op, ngx_pid_t from)
{
    u_char         *p;
    ngx_ws_poll_t  *poll;

    poll = s->poll;

    switch (op->kind) {

    case NGX_WS_RELAY_GET:

        if (poll->ws_pid) {
            /* engine.io's transport mismatch: the session was upgraded */
            (void) ngx_ws_relay_send(NGX_WS_RELAY_ANSWER, op->sid.data,
                                     from, NGX_HTTP_BAD_REQUEST,
                                     ngx_ws_eio_bad_request.data,
                                     ngx_ws_eio_bad_request.len);
            return;
        }

        if (poll->get || poll->get_pid) {
            ngx_log_error(NGX_LOG_INFO, &poll->log, 0,
                          "ws: overlapping polling GET, closing");
            ngx_ws_poll_end(s, "transport error");
            (void) ngx_ws_relay_send(NGX_WS_RELAY_ANSWER, op->sid.data,
                                     from, NGX_HTTP_BAD_REQUEST, NULL, 0);
            return;
        }

        poll->get_pid = from;

        if (s->out || s->closing || poll->upgrading) {
            ngx_ws_poll_answer_remote(s, from, ngx_ws_poll_due(s));

            if (s->closing && s->out == NULL) {
                ngx_ws_session_free(s);
            }
        }

        return;

    case NGX_WS_RELAY_GET_GONE:

        if (poll->get_pid == from) {
            poll->get_pid = 0;
            ngx_ws_poll_end(s, "transport error");
        }

        return;

    case NGX_WS_RELAY_POST:

        if (s->closing || poll->ws_pid) {
            /* a POST after the upgrade: engine.io would refuse it */
            return;
        }

        p = ngx_ws_poll_append(s, op->packet.len);
        if (p == NULL) {
            ngx_ws_poll_end(s, "transport error");
            return;
        }

        if (op->packet.len) {
            ngx_memcpy(p, op->packet.data, op->packet.len);
        }

        if (!s->throttled) {
            (void) ngx_ws_poll_read(s);
        }

        return;

    case NGX_WS_RELAY_END:
        ngx_ws_poll_end(s, "transport error");
        return;

    case NGX_WS_RELAY_PROBE:

        if (!poll->probing && !poll->ws_pid && !s->closing) {
            poll->probing = 1;
            ngx_ws_poll_probed(s);
        }

        return;

    case NGX_WS_RELAY_UPGRADE:

        if (poll->ws_pid || poll->post || s->rbuf || s->closing) {
            (void) ngx_ws_relay_send(NGX_WS_RELAY_FRAMES, op->sid.data, from,
                                     NGX_WS_CLOSE_NORMAL, NULL, 0);
            return;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, &poll->log, 0,
                       "ws poll %*s: upgraded to a websocket in %P",
                       (size_t) NGX_WS_ID_LEN, s->sid, from);

        ngx_ws_poll_release_get(s, NGX_WS_EIO_NOOP);
        ngx_ws_metric_add(NGX_WS_M_UPGRADES, 1);

        poll->ws_pid = from;
        poll->probing = 0;
        poll->upgrading = 0;

        if (s->out) {
            ngx_ws_poll_frames_remote(s, 0);
        }

        return;

    case NGX_WS_RELAY_PACKET:

        if (poll->ws_pid != from || s->closing) {
            return;
        }

        ngx_ws_session_engineio(s, op->status ? 1 : 0, op->packet.data,
                                op->packet.len);

        if (s->peer_closed) {
            ngx_ws_session_free(s);
        }

        return;

    default:
        return;
    }
}


/*
 * A graceful shutdown: polling sessions have no idle connection for nginx
 * to tell, so the worker ends them at once, a parked GET answered with the
 * close packet; their clients reconnect to the new workers.
 */

void
ngx_ws_poll_close_all(void)
{
    ngx_rbtree_node_t  *node, *next, *sentinel;
    ngx_ws_session_t   *s;

    sentinel = ngx_ws_worker.sessions.sentinel;

    node = (ngx_ws_worker.sessions.root == sentinel)
           ? NULL : ngx_rbtree_min(ngx_ws_worker.sessions.root, sentinel);

    while (node) {
        next = ngx_rbtree_next(&ngx_ws_worker.sessions, node);

        s = (ngx_ws_session_t *) ((u_char *) node
                                  - offsetof(ngx_ws_session_t, node));

        if (s->polling) {
            ngx_ws_poll_end(s, "server shutting down");
        }

        node = next;
    }

    ngx_ws_relay_close_all();
}
