
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The host's connections to Redis.
 *
 * One worker of the host, elected through the zone, talks to Redis for
 * all of them: every operation the host accepts passes through the log of
 * the zone, which that worker reads like the others, and it publishes
 * those that did not come from Redis; what its subscriptions bring is
 * decoded once and published into the log like a push, marked as from
 * Redis.  So local delivery never waits for Redis, the host counts once
 * among the adapters' servers, and its own messages come back to no one.
 * What the messages are is the classic adapter's (ngx_ws_classic.c) or
 * the sharded one's (ngx_ws_shard.c).
 *
 * To each Redis node, two connections: one publishes, one subscribes.
 * The classic adapter needs one node: PUBLISH reaches a whole Redis
 * Cluster from any of its nodes.  The sharded one publishes and subscribes
 * on the node that serves the channel's hash slot: the first node says
 * which node serves which slots (CLUSTER SLOTS; a server without cluster
 * support serves them all), a MOVED reply sends a command to the node it
 * names and has the map read again, and a channel whose slot moved is
 * subscribed anew where it went.
 *
 * The connections are nginx's own, driven by the event loop; hiredis
 * formats the commands and parses the replies (its reader and formatter
 * only: the async API of Debian's hiredis 0.14 would abort on message
 * types it does not know, smessage among them).  No call blocks: the
 * address is resolved when the configuration loads, the nodes a cluster
 * names are addresses, connects are non-blocking with a timeout, and a
 * lost connection is retried with a growing, jittered delay.
 */


#include <signal.h>

#include "ngx_ws.h"
#include "ngx_ws_metrics.h"
#include "ngx_ws_adapter.h"
#include "ngx_ws_redis.h"


#define NGX_WS_REDIS_READ        16384
#define NGX_WS_REDIS_CHECK       1000
#define NGX_WS_REDIS_BACKOFF     100


static void ngx_ws_redis_check_handler(ngx_event_t *ev);
static void ngx_ws_redis_start(void);
static ngx_ws_redis_node_t *ngx_ws_redis_node(struct sockaddr *sa,
    socklen_t socklen);
static void ngx_ws_redis_connect(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_setup(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_setup_classic(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_write_handler(ngx_event_t *wev);
static void ngx_ws_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_ws_redis_append(u_char **buf, size_t *len,
    size_t *pos, size_t *size, u_char *data, size_t n);
static void ngx_ws_redis_reply(ngx_ws_redis_link_t *l, redisReply *reply);
static void ngx_ws_redis_published(ngx_ws_redis_link_t *l,
    redisReply *reply);
static void ngx_ws_redis_pushed(ngx_ws_redis_link_t *l, redisReply *reply);
static ngx_uint_t ngx_ws_redis_is(redisReply *r, const char *s);
static void ngx_ws_redis_down(ngx_ws_redis_link_t *l, const char *why);
static void ngx_ws_redis_close(ngx_ws_redis_link_t *l);
static void ngx_ws_redis_retry_handler(ngx_event_t *ev);


ngx_ws_redis_conf_t         *ngx_ws_redis_conf;
ngx_ws_redis_node_t         *ngx_ws_redis_nodes[NGX_WS_REDIS_NODES];
ngx_uint_t                   ngx_ws_redis_nnodes;
ngx_uint_t                   ngx_ws_redis_elected;

static ngx_event_t           ngx_ws_redis_check;

/* what nginx's debug log of a timer reads as its connection */
static ngx_connection_t      ngx_ws_redis_dumb;


/*
 * ws_redis address [user=name] [password=secret] [db=n] [prefix=name]
 *          [backoff=time] [sharded[=dynamic|static]];
 * address is host:port (6379 by default) or unix:/path; with sharded, a
 * node of a Redis Cluster will do.
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

        if ((v.len == 7 && ngx_strncmp(v.data, "sharded", 7) == 0)
            || (v.len == 15 && ngx_strncmp(v.data, "sharded=dynamic", 15) == 0))
        {
            rcf->sharded = NGX_WS_SHARDED_DYNAMIC;
            continue;
        }

        if (v.len == 14 && ngx_strncmp(v.data, "sharded=static", 14) == 0) {
            rcf->sharded = NGX_WS_SHARDED_STATIC;
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

    /* every worker keeps the host's set of rooms up to date */
    ngx_ws_shard_rooms =
        (ngx_ws_redis_conf->sharded == NGX_WS_SHARDED_DYNAMIC);

    ngx_ws_redis_dumb.fd = (ngx_socket_t) -1;

    ngx_ws_redis_check.handler = ngx_ws_redis_check_handler;
    ngx_ws_redis_check.data = &ngx_ws_redis_dumb;
    ngx_ws_redis_check.log = cycle->log;
    ngx_ws_redis_check.cancelable = 1;

    ngx_ws_slots_init(cycle, &ngx_ws_redis_dumb);

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
            ngx_ws_redis_start();
        }
    }

    ngx_add_timer(ev, NGX_WS_REDIS_CHECK);
}


static void
ngx_ws_redis_start(void)
{
    ngx_ws_redis_node_t  *node;
    ngx_ws_redis_conf_t  *rcf;

    rcf = ngx_ws_redis_conf;

    if (rcf->sharded && ngx_ws_slots_start() != NGX_OK) {
        return;
    }

    node = ngx_ws_redis_node(rcf->addr->sockaddr, rcf->addr->socklen);
    if (node == NULL) {
        return;
    }

    node->name = rcf->addr->name;

    ngx_ws_redis_connect(&node->pub);
    ngx_ws_redis_connect(&node->sub);
}


void
ngx_ws_redis_exit(void)
{
    ngx_uint_t            i;
    ngx_ws_redis_node_t  *node;

    if (ngx_ws_redis_conf == NULL) {
        return;
    }

    for (i = 0; i < ngx_ws_redis_nnodes; i++) {
        node = ngx_ws_redis_nodes[i];

        ngx_ws_redis_close(&node->pub);
        ngx_ws_redis_close(&node->sub);

        if (node->pub.retry.timer_set) {
            ngx_del_timer(&node->pub.retry);
        }

        if (node->sub.retry.timer_set) {
            ngx_del_timer(&node->sub.retry);
        }

        ngx_free(node->pub.out);
        ngx_free(node->pub.pend);
        ngx_free(node->sub.out);
        ngx_free(node);
    }

    ngx_ws_redis_nnodes = 0;

    if (ngx_ws_redis_elected && ngx_ws_worker.sh) {
        /* another worker takes over at its next look */
        ngx_ws_worker.sh->redis_state = NGX_WS_REDIS_DOWN;
        (void) ngx_atomic_cmp_set(&ngx_ws_worker.sh->redis_pid,
                                  (ngx_atomic_uint_t) ngx_pid, 0);
        ngx_ws_redis_elected = 0;
    }
}


/* The node at an address: known, or new (and connected to). */

static ngx_ws_redis_node_t *
ngx_ws_redis_node(struct sockaddr *sa, socklen_t socklen)
{
    ngx_uint_t            i;
    ngx_ws_redis_link_t  *l;
    ngx_ws_redis_node_t  *node;

    for (i = 0; i < ngx_ws_redis_nnodes; i++) {
        node = ngx_ws_redis_nodes[i];

        if (ngx_cmp_sockaddr(&node->sockaddr.sockaddr, node->socklen, sa,
                             socklen, 1)
            == NGX_OK)
        {
            return node;
        }
    }

    if (ngx_ws_redis_nnodes == NGX_WS_REDIS_NODES
        || socklen > sizeof(ngx_sockaddr_t))
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: redis: more than %d nodes", NGX_WS_REDIS_NODES);
        return NULL;
    }

    node = ngx_calloc(sizeof(ngx_ws_redis_node_t), ngx_cycle->log);
    if (node == NULL) {
        return NULL;
    }

    node->index = ngx_ws_redis_nnodes;
    node->socklen = socklen;
    ngx_memcpy(&node->sockaddr, sa, socklen);

    node->name.data = node->text;
    node->name.len = ngx_sock_ntop(sa, socklen, node->text,
                                   NGX_SOCKADDR_STRLEN, 1);

    for (i = 0; i < 2; i++) {
        l = i ? &node->sub : &node->pub;

        l->node = node;
        l->name = i ? "subscriber" : "publisher";
        l->subscriber = i;
        l->retry.handler = ngx_ws_redis_retry_handler;
        l->retry.data = l;
        l->retry.log = ngx_cycle->log;
        l->retry.cancelable = 1;
    }

    ngx_ws_redis_nodes[ngx_ws_redis_nnodes++] = node;

    if (node->index) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws: redis node %V joins", &node->name);

        ngx_ws_redis_connect(&node->pub);
        ngx_ws_redis_connect(&node->sub);
    }

    return node;
}


/* A node that a cluster names "ip:port" ("" for the one asked). */

ngx_ws_redis_node_t *
ngx_ws_redis_node_text(u_char *text, size_t len, ngx_ws_redis_node_t *asked)
{
    ngx_addr_t   addr;
    ngx_pool_t  *pool;
    ngx_ws_redis_node_t  *node;

    pool = ngx_create_pool(512, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    node = NULL;

    if (ngx_parse_addr_port(pool, &addr, text, len) == NGX_OK) {
        node = ngx_ws_redis_node(addr.sockaddr, addr.socklen);

    } else if (asked) {
        node = asked;

    } else {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: redis names a node \"%*s\" that is no address",
                      len, text);
    }

    ngx_destroy_pool(pool);

    return node;
}


static void
ngx_ws_redis_connect(ngx_ws_redis_link_t *l)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    ngx_memzero(&l->peer, sizeof(ngx_peer_connection_t));

    l->peer.sockaddr = &l->node->sockaddr.sockaddr;
    l->peer.socklen = l->node->socklen;
    l->peer.name = &l->node->name;
    l->peer.get = ngx_event_get_peer;
    l->peer.log = ngx_cycle->log;
    l->peer.log_error = NGX_ERROR_ERR;

    l->connected = 0;
    l->up = 0;
    l->expect = 0;
    l->out_len = 0;
    l->out_pos = 0;
    l->pend_len = 0;
    l->pend_pos = 0;

    ngx_ws_redis_state();

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


/*
 * AUTH and SELECT; then a publisher of the sharded adapter asks for the
 * map of the slots, and a subscriber subscribes.
 */

static void
ngx_ws_redis_setup(ngx_ws_redis_link_t *l)
{
    u_char                db[NGX_INT_T_LEN];
    size_t                len[3];
    ngx_uint_t            i;
    const char           *argv[3];
    ngx_ws_redis_conf_t  *rcf;

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

        (void) ngx_ws_redis_command(l, NGX_WS_REDIS_SETUP, (int) i, argv,
                                    len);
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        len[0] = 6;
        argv[1] = (const char *) db;
        len[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        (void) ngx_ws_redis_command(l, NGX_WS_REDIS_SETUP, 2, argv, len);
    }

    if (!rcf->sharded) {
        if (l->subscriber) {
            ngx_ws_redis_setup_classic(l);
        }

        return;
    }

    if (!l->subscriber) {
        if (!ngx_ws_slots_known) {
            argv[0] = "CLUSTER";
            len[0] = 7;
            argv[1] = "SLOTS";
            len[1] = 5;

            (void) ngx_ws_redis_command(l, NGX_WS_REDIS_MAP, 2, argv, len);
        }

        return;
    }

    ngx_ws_slots_setup(l);
}


/* the classic adapter: every namespace's broadcasts and requests */

static void
ngx_ws_redis_setup_classic(ngx_ws_redis_link_t *l)
{
    size_t           len[2];
    ngx_str_t       *ch;
    ngx_uint_t       i;
    ngx_pool_t      *pool;
    const char      *argv[2];
    ngx_ws_bytes_t   nsp;

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

        if (ngx_ws_redis_command(l, NGX_WS_REDIS_SETUP, 2, argv, len)
            == NGX_OK)
        {
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

        if (ngx_ws_redis_command(l, NGX_WS_REDIS_SETUP, 2, argv, len)
            == NGX_OK)
        {
            l->expect++;
        }
    }

    ngx_destroy_pool(pool);
}


/* <prefix><kind><nsp>#, with one more byte for a pattern's "*" */

ngx_str_t *
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


ngx_str_t *
ngx_ws_redis_prefix(void)
{
    return &ngx_ws_redis_conf->prefix;
}


ngx_int_t
ngx_ws_redis_command(ngx_ws_redis_link_t *l, ngx_uint_t kind, int argc,
    const char **argv, const size_t *argvlen)
{
    int        len;
    char      *cmd;
    ngx_int_t  rc;

    len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        return NGX_ERROR;
    }

    rc = ngx_ws_redis_queue(l, kind, (u_char *) cmd, len);

    redisFreeCommand(cmd);

    return rc;
}


/* a formatted command to send, noted if its reply has to be told apart */

ngx_int_t
ngx_ws_redis_queue(ngx_ws_redis_link_t *l, ngx_uint_t kind, u_char *cmd,
    size_t len)
{
    u_char  head[1 + sizeof(size_t)];

    if (ngx_ws_redis_append(&l->out, &l->out_len, &l->out_pos, &l->out_size,
                            cmd, len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (l->subscriber || !ngx_ws_redis_conf->sharded) {
        return NGX_OK;
    }

    if (kind != NGX_WS_REDIS_PUBLISHED) {
        len = 0;
    }

    head[0] = (u_char) kind;
    ngx_memcpy(head + 1, &len, sizeof(size_t));

    if (ngx_ws_redis_append(&l->pend, &l->pend_len, &l->pend_pos,
                            &l->pend_size, head, sizeof(head))
        != NGX_OK
        || ngx_ws_redis_append(&l->pend, &l->pend_len, &l->pend_pos,
                               &l->pend_size, cmd, len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* bytes added to a buffer whose start (before pos) is consumed */

static ngx_int_t
ngx_ws_redis_append(u_char **buf, size_t *len, size_t *pos, size_t *size,
    u_char *data, size_t n)
{
    u_char  *b;
    size_t   s;

    if (*len + n > *size) {
        s = ngx_max(2 * *size, *len - *pos + n);
        s = ngx_max(s, 4096);

        b = ngx_alloc(s, ngx_cycle->log);
        if (b == NULL) {
            return NGX_ERROR;
        }

        if (*buf) {
            ngx_memcpy(b, *buf + *pos, *len - *pos);
            ngx_free(*buf);
        }

        *len -= *pos;
        *pos = 0;
        *buf = b;
        *size = s;
    }

    ngx_memcpy(*buf + *len, data, n);
    *len += n;

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


ngx_int_t
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
    if (!l->subscriber && ngx_ws_redis_conf->sharded) {
        ngx_ws_redis_published(l, reply);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        if (l->subscriber && ngx_ws_redis_conf->sharded
            && ngx_ws_slots_moved(reply, NULL, 0))
        {
            return;
        }

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: redis %V %s: %*s", &l->node->name, l->name,
                      (size_t) reply->len, reply->str);
        ngx_ws_redis_down(l, "an error reply");
        return;
    }

    if (l->subscriber && reply->type == REDIS_REPLY_ARRAY
        && reply->elements >= 3
        && reply->element[0]->type == REDIS_REPLY_STRING)
    {
        ngx_ws_redis_pushed(l, reply);
    }

    /* else OK, a PUBLISH's count of receivers */
}


/* A reply to a sharded publisher: to what, its first pending command. */

static void
ngx_ws_redis_published(ngx_ws_redis_link_t *l, redisReply *reply)
{
    u_char      *cmd;
    size_t       len;
    ngx_uint_t   kind;

    if (l->pend_len - l->pend_pos < 1 + sizeof(size_t)) {
        ngx_ws_redis_down(l, "a reply to no command");
        return;
    }

    kind = l->pend[l->pend_pos];
    ngx_memcpy(&len, l->pend + l->pend_pos + 1, sizeof(size_t));
    cmd = l->pend + l->pend_pos + 1 + sizeof(size_t);

    /* the bytes stay where they are until the next command is queued */

    l->pend_pos += 1 + sizeof(size_t) + len;

    if (l->pend_pos == l->pend_len) {
        l->pend_pos = 0;
        l->pend_len = 0;
    }

    if (kind == NGX_WS_REDIS_MAP) {
        if (reply->type == REDIS_REPLY_ARRAY) {
            ngx_ws_slots_map(reply, l->node);

        } else if (!ngx_ws_slots_known) {
            /* no cluster: the one server serves every slot */
            ngx_ws_slots_map_all(l->node);
        }

        return;
    }

    if (reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    if (kind == NGX_WS_REDIS_PUBLISHED && ngx_ws_slots_moved(reply, cmd, len))
    {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "ws: redis %V %s: %*s", &l->node->name, l->name,
                  (size_t) reply->len, reply->str);

    if (kind == NGX_WS_REDIS_PUBLISHED) {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
        return;
    }

    ngx_ws_redis_down(l, "an error reply");
}


/* What a subscription brings, and what confirms one. */

static void
ngx_ws_redis_pushed(ngx_ws_redis_link_t *l, redisReply *reply)
{
    redisReply          **e;

    e = reply->element;

    if (ngx_ws_redis_is(e[0], "smessage")) {
        if (e[1]->type == REDIS_REPLY_STRING
            && e[2]->type == REDIS_REPLY_STRING)
        {
            ngx_ws_shard_message((u_char *) e[1]->str, e[1]->len,
                                 (u_char *) e[2]->str, e[2]->len);
        }

        return;
    }

    if (ngx_ws_redis_is(e[0], "pmessage") && reply->elements == 4) {
        ngx_ws_classic_message(e[2], e[3]);
        return;
    }

    if (ngx_ws_redis_is(e[0], "message")) {
        ngx_ws_classic_message(e[1], e[2]);
        return;
    }

    if (ngx_ws_redis_is(e[0], "psubscribe")
        || ngx_ws_redis_is(e[0], "subscribe")
        || ngx_ws_redis_is(e[0], "ssubscribe"))
    {
        if (l->expect && --l->expect == 0 && !l->up) {
            l->up = 1;
            l->reported = 0;

            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ws: redis at %V: subscribed", &l->node->name);
        }

        ngx_ws_redis_state();
        return;
    }

    if (ngx_ws_redis_is(e[0], "sunsubscribe")
        && e[1]->type == REDIS_REPLY_STRING)
    {
        ngx_ws_slots_unsubscribed(l, (u_char *) e[1]->str, e[1]->len);
    }
}


static ngx_uint_t
ngx_ws_redis_is(redisReply *r, const char *s)
{
    size_t  len;

    len = ngx_strlen(s);

    return (size_t) r->len == len && ngx_strncmp(r->str, s, len) == 0;
}


/*
 * An operation accepted by this host: to the other members, if this is
 * the host's Redis worker (every operation passes through it, its own
 * and the other workers' through the log).
 */

void
ngx_ws_redis_forward(ngx_ws_op_t *op)
{
    if (!ngx_ws_redis_elected
        || op->type < NGX_WS_EMIT || op->type > NGX_WS_DISCONNECT)
    {
        return;
    }

    if (ngx_ws_redis_conf->sharded) {
        ngx_ws_shard_forward(op);

    } else {
        ngx_ws_classic_forward(op);
    }
}


/* The answer to a fetchSockets() or an allRooms(), gathered. */

void
ngx_ws_redis_response(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *to, u_char *body,
    size_t len)
{
    if (to && to->len) {
        ngx_ws_shard_fetch_response(nsp, to, body, len);

    } else {
        ngx_ws_classic_response(nsp, body, len);
    }
}


/*
 * PUBLISH, or for the sharded adapter SPUBLISH to the node of the
 * channel's slot.  NGX_ERROR: not sent (Redis is away), for the caller
 * to count as lost.
 */

ngx_int_t
ngx_ws_redis_publish(ngx_str_t *channel, u_char *data, size_t len)
{
    size_t                argvlen[3];
    const char           *argv[3];
    ngx_ws_redis_link_t  *l;
    ngx_ws_redis_node_t  *node;

    if (ngx_ws_redis_nnodes == 0) {
        return NGX_ERROR;
    }

    argv[1] = (const char *) channel->data;
    argvlen[1] = channel->len;
    argv[2] = (const char *) data;
    argvlen[2] = len;

    if (!ngx_ws_redis_conf->sharded) {
        l = &ngx_ws_redis_nodes[0]->pub;
        argv[0] = "PUBLISH";
        argvlen[0] = 7;

    } else {
        node = ngx_ws_slots_node(channel->data, channel->len);

        if (node == NULL) {
            return NGX_ERROR;
        }

        l = &node->pub;
        argv[0] = "SPUBLISH";
        argvlen[0] = 8;
    }

    if (!l->up
        || ngx_ws_redis_command(l, NGX_WS_REDIS_PUBLISHED, 3, argv, argvlen)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_ws_redis_flush(l) != NGX_OK) {
        ngx_ws_redis_down(l, "send() failed");
        return NGX_ERROR;
    }

    ngx_ws_metric_add(NGX_WS_M_REDIS_PUBLISHED, 1);
    return NGX_OK;
}


static void
ngx_ws_redis_down(ngx_ws_redis_link_t *l, const char *why)
{
    size_t      len;
    ngx_msec_t  delay;

    if (!l->reported) {
        /* once per outage, not per attempt */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, ngx_socket_errno,
                      "ws: redis at %V: %s %s, retrying", &l->node->name,
                      l->name, why);
        l->reported = 1;
    }

    ngx_ws_redis_close(l);

    /* what was sent and not answered may not have arrived */

    while (l->pend_len - l->pend_pos >= 1 + sizeof(size_t)) {
        if (l->pend[l->pend_pos] == NGX_WS_REDIS_PUBLISHED) {
            (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
        }

        ngx_memcpy(&len, l->pend + l->pend_pos + 1, sizeof(size_t));
        l->pend_pos += 1 + sizeof(size_t) + len;
    }

    l->connected = 0;
    l->up = 0;
    l->out_len = 0;
    l->out_pos = 0;
    l->pend_len = 0;
    l->pend_pos = 0;

    (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_reconnects, 1);
    ngx_ws_redis_state();

    if (ngx_exiting || ngx_terminate || !ngx_ws_redis_elected) {
        return;
    }

    if (ngx_ws_slots_known && ngx_ws_redis_nnodes > 1) {
        /* a node of a cluster gone: its replica may take its slots */
        ngx_ws_slots_refresh_soon();
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


/*
 * Up: every node that serves slots (the one node of the classic adapter)
 * publishes and has confirmed its subscriptions.
 */

void
ngx_ws_redis_state(void)
{
    ngx_uint_t            i, up, some;
    ngx_ws_redis_node_t  *node;

    up = ngx_ws_redis_nnodes > 0
         && (!ngx_ws_redis_conf->sharded || ngx_ws_slots_known);
    some = 0;

    for (i = 0; i < ngx_ws_redis_nnodes; i++) {
        node = ngx_ws_redis_nodes[i];

        if (node->pub.connected || node->sub.connected) {
            some = 1;
        }

        if (ngx_ws_redis_conf->sharded ? node->slots == 0 : i > 0) {
            continue;
        }

        if (!node->pub.up || !node->sub.up || node->sub.expect) {
            up = 0;
        }
    }

    ngx_ws_worker.sh->redis_state = up ? NGX_WS_REDIS_UP
                                    : some ? NGX_WS_REDIS_CONNECTING
                                           : NGX_WS_REDIS_DOWN;
}
