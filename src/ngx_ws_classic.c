
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The host as one member of a cluster of socket.io's classic Redis
 * adapters (@socket.io/redis-adapter's createAdapter, and the emitter):
 * broadcasts on "<prefix>#<nsp>#..." (PUBLISH, PSUBSCRIBE), requests on
 * "<prefix>-request#<nsp>#", answers on "<prefix>-response#<nsp>#".
 */


#include "ngx_ws.h"
#include "ngx_ws_adapter.h"
#include "ngx_ws_redis.h"


static void ngx_ws_classic_answer(ngx_ws_bytes_t *nsp, unsigned type,
    redisReply *payload, ngx_pool_t *pool);
static void ngx_ws_classic_respond(ngx_ws_bytes_t *nsp, ngx_uint_t type,
    ngx_ws_bytes_t *request_id, const char *rest, ngx_pool_t *pool);


/*
 * A broadcast of another member, or a request: into the log, like a push
 * answered here, marked so that it does not go back to Redis.
 */

void
ngx_ws_classic_message(redisReply *channel, redisReply *payload)
{
    size_t               plen;
    unsigned             type;
    ngx_uint_t           matched;
    ngx_pool_t          *pool;
    ngx_ws_op_t          op;
    const char          *reason;
    ngx_ws_bytes_t       uid, nsp;
    ngx_str_t           *prefix;

    if (channel->type != REDIS_REPLY_STRING
        || payload->type != REDIS_REPLY_STRING)
    {
        return;
    }

    prefix = ngx_ws_redis_prefix();
    plen = prefix->len;

    if ((size_t) channel->len <= plen
        || ngx_strncmp(channel->str, prefix->data, plen) != 0)
    {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_memzero(&uid, sizeof(ngx_ws_bytes_t));

    if (channel->str[plen] == '-') {

        /* <prefix>-request#<nsp>#: the namespace is in the channel */

        if ((size_t) channel->len < plen + sizeof("-request##") - 1) {
            ngx_destroy_pool(pool);
            return;
        }

        nsp.data = (u_char *) channel->str + plen + sizeof("-request#") - 1;
        nsp.len = channel->len - plen - (sizeof("-request#") - 1) - 1;

        reason = ngx_ws_adapter_request((u_char *) payload->str,
                                        payload->len, &nsp, &op, &type,
                                        &uid, ngx_ws_pool_alloc, pool);

        if (reason
            && (type == NGX_WS_ADAPTER_SOCKETS
                || type == NGX_WS_ADAPTER_ALL_ROOMS
                || type == NGX_WS_ADAPTER_REMOTE_FETCH))
        {
            if (uid.len != NGX_WS_REDIS_UID_LEN
                || ngx_memcmp(uid.data, ngx_ws_worker.sh->uid,
                              NGX_WS_REDIS_UID_LEN) != 0)
            {
                ngx_ws_gather_start(&nsp, type, (u_char *) payload->str,
                                    payload->len, NULL, pool);
            }

            ngx_destroy_pool(pool);
            return;
        }

        if (reason
            && (type == NGX_WS_ADAPTER_SERVER_SIDE_EMIT
                || type == NGX_WS_ADAPTER_BROADCAST))
        {
            ngx_ws_classic_answer(&nsp, type, payload, pool);
            ngx_destroy_pool(pool);
            return;
        }

    } else {
        reason = ngx_ws_adapter_decode((u_char *) payload->str, payload->len,
                                       &op, &uid, NULL, ngx_ws_pool_alloc,
                                       pool);

        /*
         * "<prefix>#<nsp>#...": the adapter of that namespace ignores a
         * packet of another one, and so do we
         */

        if (reason == NULL
            && ((size_t) channel->len < plen + op.nsp.len + 2
                || channel->str[plen] != '#'
                || ngx_memcmp(channel->str + plen + 1, op.nsp.data,
                              op.nsp.len) != 0
                || channel->str[plen + 1 + op.nsp.len] != '#'))
        {
            reason = "a packet of another namespace";
        }
    }

    if (reason) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws redis: message on \"%*s\" ignored",
                       (size_t) channel->len, channel->str);
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws redis: %s", reason);
        ngx_destroy_pool(pool);
        return;
    }

    if (uid.len == NGX_WS_REDIS_UID_LEN
        && ngx_memcmp(uid.data, ngx_ws_worker.sh->uid,
                      NGX_WS_REDIS_UID_LEN) == 0)
    {
        /* our own, back from Redis */
        ngx_destroy_pool(pool);
        return;
    }

    op.flags |= NGX_WS_OP_FROM_REDIS;

    (void) ngx_ws_broker_publish(&op, pool, &matched);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws redis: op %ui from \"%*s\" applied",
                   (ngx_uint_t) op.type, (size_t) channel->len,
                   channel->str);

    ngx_destroy_pool(pool);
}


/*
 * The requests of a Node server this host answers so that it does not
 * wait for a timeout: a serverSideEmit with an ack (nginx has no
 * server-side listeners: acknowledged with no argument), and a broadcast
 * with acks (delivered here like any broadcast, its clients' acks not
 * collected: the client count answered is 0).
 */

static void
ngx_ws_classic_answer(ngx_ws_bytes_t *nsp, unsigned type, redisReply *payload,
    ngx_pool_t *pool)
{
    u_char          *p, *end, *v, *v_end;
    ngx_uint_t       matched;
    ngx_ws_op_t      op;
    const char      *reason;
    ngx_ws_bytes_t   uid, id;

    p = (u_char *) payload->str;
    end = p + payload->len;

    if (type == NGX_WS_ADAPTER_SERVER_SIDE_EMIT) {

        /* JSON; msgpack (binary arguments) goes unanswered */

        if (!ngx_ws_json_valid(p, end)) {
            return;
        }

        v = ngx_ws_json_member(p, end, "requestId", &v_end);

        if (v == NULL || *v != '"' || v_end - v < 3) {
            /* no ack asked for */
            return;
        }

        id.data = ngx_pnalloc(pool, v_end - v);
        if (id.data == NULL) {
            return;
        }

        id.len = ngx_ws_json_string_decode(v, v_end, id.data);

        v = ngx_ws_json_member(p, end, "uid", &v_end);

        if (v && v_end - v == NGX_WS_REDIS_UID_LEN + 2
            && ngx_memcmp(v + 1, ngx_ws_worker.sh->uid,
                          NGX_WS_REDIS_UID_LEN) == 0)
        {
            return;
        }

        ngx_ws_classic_respond(nsp, NGX_WS_ADAPTER_SERVER_SIDE_EMIT, &id, "",
                             pool);
        return;
    }

    reason = ngx_ws_adapter_broadcast_request(p, payload->len, &op, &uid,
                                              &id, ngx_ws_pool_alloc, pool);
    if (reason) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws redis: a broadcast request ignored: %s", reason);
        return;
    }

    if (uid.len == NGX_WS_REDIS_UID_LEN
        && ngx_memcmp(uid.data, ngx_ws_worker.sh->uid,
                      NGX_WS_REDIS_UID_LEN) == 0)
    {
        return;
    }

    op.flags |= NGX_WS_OP_FROM_REDIS;

    (void) ngx_ws_broker_publish(&op, pool, &matched);

    ngx_ws_classic_respond(nsp, NGX_WS_ADAPTER_BROADCAST_COUNT, &id,
                         ",\"clientCount\":0", pool);
}


/* An answer, JSON, on <prefix>-response#<nsp>#: Node listens there. */

void
ngx_ws_classic_response(ngx_ws_bytes_t *nsp, u_char *body, size_t len)
{
    ngx_str_t   *ch;
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ch = ngx_ws_redis_channel(pool, "-response#", nsp);

    if (ch == NULL || ngx_ws_redis_publish(ch, body, len) != NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }

    ngx_destroy_pool(pool);
}


/* {"type":N,"requestId":"...",rest} on <prefix>-response#<nsp>#, JSON */

static void
ngx_ws_classic_respond(ngx_ws_bytes_t *nsp, ngx_uint_t type,
    ngx_ws_bytes_t *request_id, const char *rest, ngx_pool_t *pool)
{
    u_char     *body, *p;
    size_t      len;
    ngx_str_t  *ch;

    len = sizeof("{\"type\":,\"requestId\":}") + NGX_INT_T_LEN
          + ngx_ws_json_string_len(request_id->data, request_id->len)
          + ngx_strlen(rest);

    body = ngx_pnalloc(pool, len);
    ch = ngx_ws_redis_channel(pool, "-response#", nsp);

    if (body == NULL || ch == NULL) {
        return;
    }

    p = ngx_sprintf(body, "{\"type\":%ui,\"requestId\":", type);
    p = ngx_ws_json_string_write(p, request_id->data, request_id->len);
    p = ngx_cpymem(p, rest, ngx_strlen(rest));
    *p++ = '}';

    if (ngx_ws_redis_publish(ch, body, p - body) != NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }
}


/* An operation accepted by this host, in its Redis worker: to the others. */

void
ngx_ws_classic_forward(ngx_ws_op_t *op)
{
    u_char      *out;
    size_t       len;
    ngx_str_t    ch, *prefix;
    ngx_pool_t  *pool;
    const char  *reason;

    if (op->flags & NGX_WS_OP_FROM_REDIS) {
        return;
    }

    prefix = ngx_ws_redis_prefix();

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    reason = ngx_ws_adapter_encode(op, ngx_ws_worker.sh->uid,
                                   NGX_WS_REDIS_UID_LEN, &out, &len,
                                   ngx_ws_pool_alloc, pool);
    if (reason) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: an operation not published to redis: %s", reason);
        ngx_destroy_pool(pool);
        return;
    }

    ch.len = ngx_ws_adapter_channel_len(op, prefix->data, prefix->len);
    ch.data = ngx_pnalloc(pool, ch.len);

    if (ch.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    (void) ngx_ws_adapter_channel(ch.data, op, prefix->data, prefix->len);

    if (ngx_ws_redis_publish(&ch, out, len) != NGX_OK) {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }

    ngx_destroy_pool(pool);
}


