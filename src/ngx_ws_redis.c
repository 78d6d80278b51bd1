
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The host as one member of a socket.io cluster over Redis pub/sub.
 *
 * One worker of the host, elected through the zone, holds two connections
 * to Redis: one publishes, one subscribes.  Every operation the host
 * accepts passes through the log of the zone, which that worker reads like
 * the others: it publishes those that did not come from Redis, in the
 * format of socket.io's Redis adapter.  What the subscription brings is
 * decoded once and published into the log like a push, marked as from
 * Redis.  So local delivery never waits for Redis, the host counts once
 * among the adapter's servers, and its own messages come back to no one.
 *
 * The connections are nginx's own, driven by the event loop; hiredis
 * formats the commands and parses the replies (its reader and formatter
 * only: the async API of Debian's hiredis 0.14 would abort on message
 * types it does not know).  No call blocks: the address is resolved when
 * the configuration loads, connects are non-blocking with a timeout, and
 * a lost connection is retried with a growing, jittered delay.
 */


#include <signal.h>
#include <hiredis/hiredis.h>

#include "ngx_ws.h"
#include "ngx_ws_adapter.h"


#define NGX_WS_REDIS_READ        16384
#define NGX_WS_REDIS_CHECK       1000
#define NGX_WS_REDIS_BACKOFF     100


typedef struct {
    ngx_peer_connection_t      peer;
    redisReader               *reader;
    u_char                    *out;
    size_t                     out_len;
    size_t                     out_pos;
    size_t                     out_size;
    ngx_event_t                retry;
    ngx_uint_t                 attempts;
    ngx_uint_t                 expect;         /* subscriptions unconfirmed */
    const char                *name;
    unsigned                   subscriber:1;
    unsigned                   connected:1;
    unsigned                   up:1;
    unsigned                   reported:1;     /* its failure was logged */
} ngx_ws_redis_link_t;


static void ngx_ws_redis_check_handler(ngx_event_t *ev);
static void ngx_ws_redis_connect(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_setup(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_write_handler(ngx_event_t *wev);
static void ngx_ws_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_ws_redis_flush(ngx_ws_redis_link_t *l);
static ngx_int_t ngx_ws_redis_command(ngx_ws_redis_link_t *l, int argc,
    const char **argv, const size_t *argvlen);
static void ngx_ws_redis_reply(ngx_ws_redis_link_t *l, redisReply *reply);
static void ngx_ws_redis_message(redisReply *channel, redisReply *payload);
static void ngx_ws_redis_down(ngx_ws_redis_link_t *l, const char *why);
static void ngx_ws_redis_close(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_retry_handler(ngx_event_t *ev);
static void ngx_ws_redis_state(void);
static ngx_int_t ngx_ws_redis_publish(ngx_str_t *channel, u_char *data,
    size_t len);
static ngx_str_t *ngx_ws_redis_channel(ngx_pool_t *pool, const char *kind,
    ngx_ws_bytes_t *nsp);
static void ngx_ws_redis_answer(ngx_ws_bytes_t *nsp, unsigned type,
    redisReply *payload, ngx_pool_t *pool);
static void ngx_ws_redis_respond(ngx_ws_bytes_t *nsp, ngx_uint_t type,
    ngx_ws_bytes_t *request_id, const char *rest, ngx_pool_t *pool);


static ngx_ws_redis_conf_t  *ngx_ws_redis_conf;
static ngx_ws_redis_link_t   ngx_ws_redis_pub;
static ngx_ws_redis_link_t   ngx_ws_redis_sub;
static ngx_event_t           ngx_ws_redis_check;

/* what nginx's debug log of a timer reads as its connection */
static ngx_connection_t      ngx_ws_redis_dumb;
static ngx_uint_t            ngx_ws_redis_elected;


/*
 * ws_redis address [user=name] [password=secret] [db=n] [prefix=name];
 * address is host:port (6379 by default) or unix:/path.
 */

char *
ngx_ws_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_main_conf_t *wmcf = conf;

    ngx_str_t            *value, v;
    ngx_int_t             n;
    ngx_uint_t            i;
    ngx_url_t             u;
    ngx_ws_redis_conf_t  *rcf;

    if (wmcf->redis) {
        return "is duplicate";
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = value[1];
    u.default_port = 6379;

    /* resolved here, once: a worker never waits for DNS */

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\" of ws_redis",
                           u.err ? u.err : "no address", &u.url);
        return NGX_CONF_ERROR;
    }

    rcf->url = value[1];
    rcf->addr = &u.addrs[0];
    ngx_str_set(&rcf->prefix, "socket.io");
    rcf->connect_timeout = 2000;
    rcf->backoff_max = 2000;

    for (i = 2; i < cf->args->nelts; i++) {
        v = value[i];

        if (ngx_strncmp(v.data, "user=", 5) == 0 && v.len > 5) {
            rcf->user.data = v.data + 5;
            rcf->user.len = v.len - 5;
            continue;
        }

        if (ngx_strncmp(v.data, "password=", 9) == 0 && v.len > 9) {
            rcf->password.data = v.data + 9;
            rcf->password.len = v.len - 9;
            continue;
        }

        if (ngx_strncmp(v.data, "prefix=", 7) == 0 && v.len > 7) {
            rcf->prefix.data = v.data + 7;
            rcf->prefix.len = v.len - 7;
            continue;
        }

        if (ngx_strncmp(v.data, "db=", 3) == 0) {
            n = ngx_atoi(v.data + 3, v.len - 3);
            if (n == NGX_ERROR) {
                return "has an invalid \"db\" value";
            }

            rcf->db = n;
            continue;
        }

        if (ngx_strncmp(v.data, "backoff=", 8) == 0) {
            rcf->backoff_max = ngx_parse_time(&(ngx_str_t) { v.len - 8,
                                                             v.data + 8 },
                                              0);
            if (rcf->backoff_max == (ngx_msec_t) NGX_ERROR
                || rcf->backoff_max == 0)
            {
                return "has an invalid \"backoff\" value";
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" of ws_redis", &v);
        return NGX_CONF_ERROR;
    }

    if (rcf->user.len && rcf->password.len == 0) {
        return "has \"user\" without \"password\"";
    }

    wmcf->redis = rcf;

    return NGX_CONF_OK;
}


/*
 * Every worker looks, now and then, whether the host has its Redis worker;
 * the first to see none (or a dead one) becomes it.
 */

ngx_int_t
ngx_ws_redis_init(ngx_cycle_t *cycle)
{
    ngx_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_module);

    if (wmcf == NULL || wmcf->redis == NULL || ngx_ws_worker.sh == NULL) {
        return NGX_OK;
    }

    ngx_ws_redis_conf = wmcf->redis;

    ngx_ws_redis_pub.name = "publisher";
    ngx_ws_redis_sub.name = "subscriber";
    ngx_ws_redis_sub.subscriber = 1;

    ngx_ws_redis_pub.retry.handler = ngx_ws_redis_retry_handler;
    ngx_ws_redis_pub.retry.data = &ngx_ws_redis_pub;
    ngx_ws_redis_pub.retry.log = cycle->log;
    ngx_ws_redis_pub.retry.cancelable = 1;

    ngx_ws_redis_sub.retry.handler = ngx_ws_redis_retry_handler;
    ngx_ws_redis_sub.retry.data = &ngx_ws_redis_sub;
    ngx_ws_redis_sub.retry.log = cycle->log;
    ngx_ws_redis_sub.retry.cancelable = 1;

    ngx_ws_redis_dumb.fd = (ngx_socket_t) -1;

    ngx_ws_redis_check.handler = ngx_ws_redis_check_handler;
    ngx_ws_redis_check.data = &ngx_ws_redis_dumb;
    ngx_ws_redis_check.log = cycle->log;
    ngx_ws_redis_check.cancelable = 1;

    ngx_post_event(&ngx_ws_redis_check, &ngx_posted_events);

    return NGX_OK;
}


static void
ngx_ws_redis_check_handler(ngx_event_t *ev)
{
    ngx_pid_t     pid;
    ngx_ws_sh_t  *sh;

    sh = ngx_ws_worker.sh;

    if (ngx_exiting || ngx_terminate || sh == NULL) {
        return;
    }

    if (!ngx_ws_redis_elected) {
        pid = (ngx_pid_t) sh->redis_pid;

        if ((pid == 0 || !ngx_ws_pid_alive(pid))
            && ngx_atomic_cmp_set(&sh->redis_pid, (ngx_atomic_uint_t) pid,
                                  (ngx_atomic_uint_t) ngx_pid))
        {
            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "ws: this worker talks to redis at %V for the host",
                          &ngx_ws_redis_conf->url);

            ngx_ws_redis_elected = 1;
            ngx_ws_redis_connect(&ngx_ws_redis_pub);
            ngx_ws_redis_connect(&ngx_ws_redis_sub);
        }
    }

    ngx_add_timer(ev, NGX_WS_REDIS_CHECK);
}


void
ngx_ws_redis_exit(void)
{
    ngx_ws_redis_link_t  *l;
    ngx_uint_t            i;

    if (ngx_ws_redis_conf == NULL) {
        return;
    }

    for (i = 0; i < 2; i++) {
        l = i ? &ngx_ws_redis_sub : &ngx_ws_redis_pub;

        ngx_ws_redis_close(l);

        if (l->out) {
            ngx_free(l->out);
            l->out = NULL;
        }
    }

    if (ngx_ws_redis_elected && ngx_ws_worker.sh) {
        /* another worker takes over at its next look */
        ngx_ws_worker.sh->redis_state = NGX_WS_REDIS_DOWN;
        (void) ngx_atomic_cmp_set(&ngx_ws_worker.sh->redis_pid,
                                  (ngx_atomic_uint_t) ngx_pid, 0);
        ngx_ws_redis_elected = 0;
    }
}


static void
ngx_ws_redis_connect(ngx_ws_redis_link_t *l)
{
    ngx_int_t             rc;
    ngx_connection_t     *c;
    ngx_ws_redis_conf_t  *rcf;

    rcf = ngx_ws_redis_conf;

    ngx_memzero(&l->peer, sizeof(ngx_peer_connection_t));

    l->peer.sockaddr = rcf->addr->sockaddr;
    l->peer.socklen = rcf->addr->socklen;
    l->peer.name = &rcf->addr->name;
    l->peer.get = ngx_event_get_peer;
    l->peer.log = ngx_cycle->log;
    l->peer.log_error = NGX_ERROR_ERR;

    l->connected = 0;
    l->up = 0;
    l->expect = 0;
    l->out_len = 0;
    l->out_pos = 0;

    ngx_ws_worker.sh->redis_state = ngx_ws_redis_pub.up && ngx_ws_redis_sub.up
                                    ? NGX_WS_REDIS_UP
                                    : NGX_WS_REDIS_CONNECTING;

    rc = ngx_event_connect_peer(&l->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_ws_redis_down(l, "connect() failed");
        return;
    }

    c = l->peer.connection;
    c->data = l;
    c->read->handler = ngx_ws_redis_read_handler;
    c->write->handler = ngx_ws_redis_write_handler;
    c->log = ngx_cycle->log;
    c->read->log = c->log;
    c->write->log = c->log;

    l->reader = redisReaderCreate();
    if (l->reader == NULL) {
        ngx_ws_redis_down(l, "no memory");
        return;
    }

    ngx_ws_redis_setup(l);

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, ngx_ws_redis_conf->connect_timeout);
        return;
    }

    ngx_ws_redis_write_handler(c->write);
}


/* AUTH and SELECT, then for a subscriber the channels of every namespace */

static void
ngx_ws_redis_setup(ngx_ws_redis_link_t *l)
{
    u_char               db[NGX_INT_T_LEN];
    size_t               len[3];
    ngx_str_t           *ch;
    ngx_uint_t           i;
    ngx_pool_t          *pool;
    const char          *argv[3];
    ngx_ws_bytes_t       nsp;
    ngx_ws_redis_conf_t *rcf;

    rcf = ngx_ws_redis_conf;

    if (rcf->password.len) {
        argv[0] = "AUTH";
        len[0] = 4;
        i = 1;

        if (rcf->user.len) {
            argv[i] = (const char *) rcf->user.data;
            len[i++] = rcf->user.len;
        }

        argv[i] = (const char *) rcf->password.data;
        len[i++] = rcf->password.len;

        (void) ngx_ws_redis_command(l, (int) i, argv, len);
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        len[0] = 6;
        argv[1] = (const char *) db;
        len[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        (void) ngx_ws_redis_command(l, 2, argv, len);
    }

    if (!l->subscriber) {
        return;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        nsp.data = ngx_ws_worker.nsps[i].name.data;
        nsp.len = ngx_ws_worker.nsps[i].name.len;

        /* every broadcast of the namespace, to rooms or not */

        ch = ngx_ws_redis_channel(pool, "#", &nsp);
        if (ch == NULL) {
            break;
        }

        ch->data[ch->len++] = '*';

        argv[0] = "PSUBSCRIBE";
        len[0] = 10;
        argv[1] = (const char *) ch->data;
        len[1] = ch->len;

        if (ngx_ws_redis_command(l, 2, argv, len) == NGX_OK) {
            l->expect++;
        }

        ch = ngx_ws_redis_channel(pool, "-request#", &nsp);
        if (ch == NULL) {
            break;
        }

        argv[0] = "SUBSCRIBE";
        len[0] = 9;
        argv[1] = (const char *) ch->data;
        len[1] = ch->len;

        if (ngx_ws_redis_command(l, 2, argv, len) == NGX_OK) {
            l->expect++;
        }
    }

    ngx_destroy_pool(pool);
}


/* <prefix><kind><nsp>#, with one more byte for a pattern's "*" */

static ngx_str_t *
ngx_ws_redis_channel(ngx_pool_t *pool, const char *kind, ngx_ws_bytes_t *nsp)
{
    u_char     *p;
    size_t      klen;
    ngx_str_t  *ch;

    klen = ngx_strlen(kind);

    ch = ngx_palloc(pool, sizeof(ngx_str_t));
    if (ch == NULL) {
        return NULL;
    }

    ch->data = ngx_pnalloc(pool, ngx_ws_redis_conf->prefix.len + klen
                                 + nsp->len + 2);
    if (ch->data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(ch->data, ngx_ws_redis_conf->prefix.data,
                   ngx_ws_redis_conf->prefix.len);
    p = ngx_cpymem(p, kind, klen);
    p = ngx_cpymem(p, nsp->data, nsp->len);
    *p++ = '#';

    ch->len = p - ch->data;

    return ch;
}


static ngx_int_t
ngx_ws_redis_command(ngx_ws_redis_link_t *l, int argc, const char **argv,
    const size_t *argvlen)
{
    u_char  *buf;
    char    *cmd;
    int      len;
    size_t   size;

    len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        return NGX_ERROR;
    }

    if (l->out_len + len > l->out_size) {
        size = ngx_max(2 * l->out_size, l->out_len + len);
        size = ngx_max(size, 4096);

        buf = ngx_alloc(size, ngx_cycle->log);
        if (buf == NULL) {
            redisFreeCommand(cmd);
            return NGX_ERROR;
        }

        if (l->out) {
            ngx_memcpy(buf, l->out + l->out_pos, l->out_len - l->out_pos);
            ngx_free(l->out);
        }

        l->out_len -= l->out_pos;
        l->out_pos = 0;
        l->out = buf;
        l->out_size = size;
    }

    ngx_memcpy(l->out + l->out_len, cmd, len);
    l->out_len += len;

    redisFreeCommand(cmd);

    return NGX_OK;
}


static void
ngx_ws_redis_write_handler(ngx_event_t *wev)
{
    int                   err;
    socklen_t             len;
    ngx_connection_t     *c;
    ngx_ws_redis_link_t  *l;

    c = wev->data;
    l = c->data;

    if (wev->timedout) {
        ngx_ws_redis_down(l, "connect timed out");
        return;
    }

    if (!l->connected) {
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_socket_errno = err;
            ngx_ws_redis_down(l, "connect() failed");
            return;
        }

        if (wev->timer_set) {
            ngx_del_timer(wev);
        }

        l->connected = 1;
        l->attempts = 0;

        /* a publisher is of use at once; a subscriber once confirmed */
        l->up = !l->subscriber || l->expect == 0;
        ngx_ws_redis_state();

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_ws_redis_down(l, "no read event");
            return;
        }
    }

    if (ngx_ws_redis_flush(l) != NGX_OK) {
        ngx_ws_redis_down(l, "send() failed");
    }
}


static ngx_int_t
ngx_ws_redis_flush(ngx_ws_redis_link_t *l)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = l->peer.connection;

    if (c == NULL || !l->connected) {
        return NGX_OK;
    }

    while (l->out_pos < l->out_len) {
        n = c->send(c, l->out + l->out_pos, l->out_len - l->out_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN) {
            return ngx_handle_write_event(c->write, 0);
        }

        l->out_pos += n;
    }

    l->out_pos = 0;
    l->out_len = 0;

    return NGX_OK;
}


static void
ngx_ws_redis_read_handler(ngx_event_t *rev)
{
    void                 *reply;
    ssize_t               n;
    ngx_connection_t     *c;
    ngx_ws_redis_link_t  *l;
    u_char                buf[NGX_WS_REDIS_READ];

    c = rev->data;
    l = c->data;

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_ws_redis_down(l, n ? "recv() failed" : "connection closed");
            return;
        }

        if (redisReaderFeed(l->reader, (const char *) buf, n) != REDIS_OK) {
            ngx_ws_redis_down(l, "no memory");
            return;
        }

        for ( ;; ) {
            if (redisReaderGetReply(l->reader, &reply) != REDIS_OK) {
                ngx_ws_redis_down(l, "a reply hiredis cannot parse");
                return;
            }

            if (reply == NULL) {
                break;
            }

            ngx_ws_redis_reply(l, reply);
            freeReplyObject(reply);

            if (l->peer.connection == NULL) {
                /* the reply was an error that closed the link */
                return;
            }
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ws_redis_down(l, "no read event");
    }
}


static void
ngx_ws_redis_reply(ngx_ws_redis_link_t *l, redisReply *reply)
{
    redisReply  **e;

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: redis %s: %*s", l->name, (size_t) reply->len,
                      reply->str);
        ngx_ws_redis_down(l, "an error reply");
        return;
    }

    if (!l->subscriber || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 3)
    {
        /* OK, a PUBLISH's count of receivers */
        return;
    }

    e = reply->element;

    if (e[0]->type != REDIS_REPLY_STRING) {
        return;
    }

    if (e[0]->len == 8 && ngx_strncmp(e[0]->str, "pmessage", 8) == 0
        && reply->elements == 4)
    {
        ngx_ws_redis_message(e[2], e[3]);
        return;
    }

    if (e[0]->len == 7 && ngx_strncmp(e[0]->str, "message", 7) == 0) {
        ngx_ws_redis_message(e[1], e[2]);
        return;
    }

    if ((e[0]->len == 10 && ngx_strncmp(e[0]->str, "psubscribe", 10) == 0)
        || (e[0]->len == 9 && ngx_strncmp(e[0]->str, "subscribe", 9) == 0))
    {
        if (l->expect && --l->expect == 0) {
            l->up = 1;
            l->reported = 0;

            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ws: redis at %V: subscribed",
                          &ngx_ws_redis_conf->url);

            ngx_ws_redis_state();
        }
    }
}


/*
 * A broadcast of another member, or a request: into the log, like a push
 * answered here, marked so that it does not go back to Redis.
 */

static void
ngx_ws_redis_message(redisReply *channel, redisReply *payload)
{
    size_t               plen;
    unsigned             type;
    ngx_uint_t           matched;
    ngx_pool_t          *pool;
    ngx_ws_op_t          op;
    const char          *reason;
    ngx_ws_bytes_t       uid, nsp;
    ngx_ws_redis_conf_t *rcf;

    if (channel->type != REDIS_REPLY_STRING
        || payload->type != REDIS_REPLY_STRING)
    {
        return;
    }

    rcf = ngx_ws_redis_conf;
    plen = rcf->prefix.len;

    if ((size_t) channel->len <= plen
        || ngx_strncmp(channel->str, rcf->prefix.data, plen) != 0)
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
                                    payload->len, pool);
            }

            ngx_destroy_pool(pool);
            return;
        }

        if (reason
            && (type == NGX_WS_ADAPTER_SERVER_SIDE_EMIT
                || type == NGX_WS_ADAPTER_BROADCAST))
        {
            ngx_ws_redis_answer(&nsp, type, payload, pool);
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
ngx_ws_redis_answer(ngx_ws_bytes_t *nsp, unsigned type, redisReply *payload,
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

        ngx_ws_redis_respond(nsp, NGX_WS_ADAPTER_SERVER_SIDE_EMIT, &id, "",
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

    ngx_ws_redis_respond(nsp, NGX_WS_ADAPTER_BROADCAST_COUNT, &id,
                         ",\"clientCount\":0", pool);
}


/* An answer, JSON, on <prefix>-response#<nsp>#: Node listens there. */

void
ngx_ws_redis_response(ngx_ws_bytes_t *nsp, u_char *body, size_t len)
{
    ngx_str_t   *ch;
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ch = ngx_ws_redis_channel(pool, "-response#", nsp);

    if (ch == NULL || !ngx_ws_redis_pub.up
        || ngx_ws_redis_publish(ch, body, len) != NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }

    ngx_destroy_pool(pool);
}


/* {"type":N,"requestId":"...",rest} on <prefix>-response#<nsp>#, JSON */

static void
ngx_ws_redis_respond(ngx_ws_bytes_t *nsp, ngx_uint_t type,
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

    if (!ngx_ws_redis_pub.up
        || ngx_ws_redis_publish(ch, body, p - body) != NGX_OK)
    {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }
}


/*
 * An operation accepted by this host: to the other members, if this is
 * the host's Redis worker (every operation passes through it, its own
 * and the other workers' through the log).
 */

void
ngx_ws_redis_forward(ngx_ws_op_t *op)
{
    u_char               *out;
    size_t                len;
    ngx_str_t             ch;
    ngx_pool_t           *pool;
    const char           *reason;
    ngx_ws_redis_conf_t  *rcf;

    if (!ngx_ws_redis_elected || (op->flags & NGX_WS_OP_FROM_REDIS)
        || op->type < NGX_WS_EMIT || op->type > NGX_WS_DISCONNECT)
    {
        return;
    }

    if (!ngx_ws_redis_pub.up) {
        /* lost: Redis keeps nothing for a member that was away */
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
        return;
    }

    rcf = ngx_ws_redis_conf;

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

    ch.len = ngx_ws_adapter_channel_len(op, rcf->prefix.data,
                                        rcf->prefix.len);
    ch.data = ngx_pnalloc(pool, ch.len);

    if (ch.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    (void) ngx_ws_adapter_channel(ch.data, op, rcf->prefix.data,
                                  rcf->prefix.len);

    if (ngx_ws_redis_publish(&ch, out, len) != NGX_OK) {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }

    ngx_destroy_pool(pool);
}


static ngx_int_t
ngx_ws_redis_publish(ngx_str_t *channel, u_char *data, size_t len)
{
    size_t       argvlen[3];
    const char  *argv[3];

    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = (const char *) channel->data;
    argvlen[1] = channel->len;
    argv[2] = (const char *) data;
    argvlen[2] = len;

    if (ngx_ws_redis_command(&ngx_ws_redis_pub, 3, argv, argvlen) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_ws_redis_flush(&ngx_ws_redis_pub) != NGX_OK) {
        ngx_ws_redis_down(&ngx_ws_redis_pub, "send() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_ws_redis_down(ngx_ws_redis_link_t *l, const char *why)
{
    ngx_msec_t  delay;

    if (!l->reported) {
        /* once per outage, not per attempt */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_socket_errno,
                      "ws: redis at %V: %s %s, retrying",
                      &ngx_ws_redis_conf->url, l->name, why);
        l->reported = 1;
    }

    ngx_ws_redis_close(l);

    l->connected = 0;
    l->up = 0;
    l->out_len = 0;
    l->out_pos = 0;

    (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_reconnects, 1);
    ngx_ws_redis_state();

    if (ngx_exiting || ngx_terminate || !ngx_ws_redis_elected) {
        return;
    }

    /* 100 ms doubling up to the cap, a random half of it added */

    delay = NGX_WS_REDIS_BACKOFF << ngx_min(l->attempts, 8);
    delay = ngx_min(delay, ngx_ws_redis_conf->backoff_max);
    delay = delay / 2 + (ngx_msec_t) ngx_random() % (delay / 2 + 1);

    l->attempts++;

    if (!l->retry.timer_set) {
        ngx_add_timer(&l->retry, delay);
    }
}


static void
ngx_ws_redis_close(ngx_ws_redis_link_t *l)
{
    if (l->peer.connection) {
        ngx_close_connection(l->peer.connection);
        l->peer.connection = NULL;
    }

    if (l->reader) {
        redisReaderFree(l->reader);
        l->reader = NULL;
    }
}


static void
ngx_ws_redis_retry_handler(ngx_event_t *ev)
{
    ngx_ws_redis_connect(ev->data);
}


static void
ngx_ws_redis_state(void)
{
    ngx_ws_worker.sh->redis_state =
        (ngx_ws_redis_pub.up && ngx_ws_redis_sub.up)
        ? NGX_WS_REDIS_UP
        : (ngx_ws_redis_pub.connected || ngx_ws_redis_sub.connected)
          ? NGX_WS_REDIS_CONNECTING : NGX_WS_REDIS_DOWN;
}
