
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Where the sharded adapter's channels live.  Redis Cluster spreads
 * channels, like keys, over 16384 hash slots, and SPUBLISH and SSUBSCRIBE
 * go to the node that serves the channel's slot.  The host's Redis worker
 * keeps the map of the slots (CLUSTER SLOTS; a server without cluster
 * support serves them all) and the channels it listens on; when a slot
 * moves, the node that lost it says so (a MOVED reply, an unsubscription
 * not asked for), the map is read again and each channel is subscribed
 * where its slot went.
 */


#include "ngx_ws.h"
#include "ngx_ws_redis.h"


#define NGX_WS_SLOTS_REFRESH     50
#define NGX_WS_SLOTS_GC          5000
#define NGX_WS_SLOTS_RETRY       1000


static void ngx_ws_slots_mapped(void);
static void ngx_ws_slots_refresh_handler(ngx_event_t *ev);
static void ngx_ws_slots_subscribe(ngx_ws_redis_chan_t *chan);
static void ngx_ws_slots_unsubscribe(ngx_ws_redis_chan_t *chan);
static void ngx_ws_slots_gc_handler(ngx_event_t *ev);
static ngx_uint_t ngx_ws_slots_key(u_char *key, size_t len);
static ngx_rbtree_node_t *ngx_ws_slots_first(void);


ngx_uint_t                   ngx_ws_slots_known;

/* the node of every slot, and the channels listened on */
static uint8_t              *ngx_ws_slots;
static ngx_rbtree_t          ngx_ws_slots_chans;
static ngx_rbtree_node_t     ngx_ws_slots_sentinel;

static ngx_event_t           ngx_ws_slots_refresh;
static ngx_event_t           ngx_ws_slots_gc;


void
ngx_ws_slots_init(ngx_cycle_t *cycle, ngx_connection_t *dumb)
{
    ngx_ws_slots_refresh.handler = ngx_ws_slots_refresh_handler;
    ngx_ws_slots_refresh.data = dumb;
    ngx_ws_slots_refresh.log = cycle->log;
    ngx_ws_slots_refresh.cancelable = 1;

    ngx_ws_slots_gc.handler = ngx_ws_slots_gc_handler;
    ngx_ws_slots_gc.data = dumb;
    ngx_ws_slots_gc.log = cycle->log;
    ngx_ws_slots_gc.cancelable = 1;
}


/* In the elected worker: the channels wanted, subscribed once mapped. */

ngx_int_t
ngx_ws_slots_start(void)
{
    if (ngx_ws_slots == NULL) {
        ngx_ws_slots = ngx_alloc(NGX_WS_SLOTS, ngx_cycle->log);
        if (ngx_ws_slots == NULL) {
            return NGX_ERROR;
        }

        ngx_rbtree_init(&ngx_ws_slots_chans, &ngx_ws_slots_sentinel,
                        ngx_str_rbtree_insert_value);
    }

    ngx_memset(ngx_ws_slots, NGX_WS_SLOTS_NO_NODE, NGX_WS_SLOTS);

    ngx_ws_shard_want_all();

    if (!ngx_ws_slots_gc.timer_set) {
        ngx_add_timer(&ngx_ws_slots_gc, NGX_WS_SLOTS_GC);
    }

    return NGX_OK;
}


/* A subscriber (re)connected: the channels whose slots its node serves. */

void
ngx_ws_slots_setup(ngx_ws_redis_link_t *l)
{
    ngx_rbtree_node_t    *node;
    ngx_ws_redis_chan_t  *chan;

    if (!ngx_ws_slots_known) {
        return;
    }

    for (node = ngx_ws_slots_first();
         node;
         node = ngx_rbtree_next(&ngx_ws_slots_chans, node))
    {
        chan = (ngx_ws_redis_chan_t *) node;

        if (ngx_ws_slots[chan->slot] == l->node->index) {
            chan->on = NGX_WS_SLOTS_NO_NODE;
            ngx_ws_slots_subscribe(chan);
        }
    }
}


/* The node that serves a channel, or NULL while unknown. */

ngx_ws_redis_node_t *
ngx_ws_slots_node(u_char *channel, size_t len)
{
    ngx_uint_t  slot;

    if (!ngx_ws_slots_known) {
        return NULL;
    }

    slot = ngx_ws_slots_key(channel, len);

    if (ngx_ws_slots[slot] == NGX_WS_SLOTS_NO_NODE) {
        return NULL;
    }

    return ngx_ws_redis_nodes[ngx_ws_slots[slot]];
}


/* An unsubscription not asked for: the channel's slot went elsewhere. */

void
ngx_ws_slots_unsubscribed(ngx_ws_redis_link_t *l, u_char *name, size_t len)
{
    ngx_str_t             ch;
    ngx_ws_redis_chan_t  *chan;

    if (!ngx_ws_slots_known) {
        return;
    }

    ch.data = name;
    ch.len = len;

    chan = (ngx_ws_redis_chan_t *)
               ngx_str_rbtree_lookup(&ngx_ws_slots_chans, &ch,
                                     ngx_crc32_short(name, len));

    if (chan && chan->on == l->node->index) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws: redis %V: the slot of \"%V\" moved",
                      &l->node->name, &ch);

        chan->on = NGX_WS_SLOTS_NO_NODE;
        ngx_ws_slots_refresh_soon();
    }
}


/*
 * "MOVED <slot> <ip>:<port>": that slot is the other node's now; a
 * publish goes there again, the channels of the slot are subscribed
 * there, and the whole map is read again soon.
 */

ngx_uint_t
ngx_ws_slots_moved(redisReply *reply, u_char *cmd, size_t len)
{
    u_char               *p, *end, *addr;
    ngx_int_t             slot;
    ngx_rbtree_node_t    *node;
    ngx_ws_redis_chan_t  *chan;
    ngx_ws_redis_node_t  *to;

    p = (u_char *) reply->str;
    end = p + reply->len;

    if (reply->len < 6 || ngx_strncmp(p, "MOVED ", 6) != 0) {
        return 0;
    }

    p += 6;
    addr = ngx_strlchr(p, end, ' ');

    if (addr == NULL) {
        return 0;
    }

    slot = ngx_atoi(p, addr - p);
    addr++;

    if (slot < 0 || slot >= NGX_WS_SLOTS) {
        return 0;
    }

    to = ngx_ws_redis_node_text(addr, end - addr, NULL);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws redis: slot %i moved to %*s", slot,
                   (size_t) (end - addr), addr);

    ngx_ws_slots_refresh_soon();

    if (to == NULL) {
        if (cmd) {
            (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
        }

        return 1;
    }

    ngx_ws_slots[slot] = (uint8_t) to->index;

    if (cmd) {
        if (!to->pub.up
            || ngx_ws_redis_queue(&to->pub, NGX_WS_REDIS_PUBLISHED, cmd, len)
               != NGX_OK
            || ngx_ws_redis_flush(&to->pub) != NGX_OK)
        {
            (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
        }

        return 1;
    }

    for (node = ngx_ws_slots_first();
         node;
         node = ngx_rbtree_next(&ngx_ws_slots_chans, node))
    {
        chan = (ngx_ws_redis_chan_t *) node;

        if (chan->slot == slot && chan->on != to->index) {
            chan->on = NGX_WS_SLOTS_NO_NODE;
            ngx_ws_slots_subscribe(chan);
        }
    }

    return 1;
}


/*
 * CLUSTER SLOTS: [[first, last, [ip, port, id, ...], replicas...], ...];
 * a master's empty ip is the node asked.
 */

void
ngx_ws_slots_map(redisReply *reply, ngx_ws_redis_node_t *asked)
{
    u_char                text[NGX_SOCKADDR_STRLEN + NGX_INT_T_LEN];
    size_t                len;
    ngx_int_t             first, last, s;
    ngx_uint_t            i;
    redisReply           *r, *m;
    ngx_ws_redis_node_t  *node;

    for (i = 0; i < reply->elements; i++) {
        r = reply->element[i];

        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
            || r->element[0]->type != REDIS_REPLY_INTEGER
            || r->element[1]->type != REDIS_REPLY_INTEGER
            || r->element[2]->type != REDIS_REPLY_ARRAY
            || r->element[2]->elements < 2
            || r->element[2]->element[0]->type != REDIS_REPLY_STRING
            || r->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
        {
            continue;
        }

        first = r->element[0]->integer;
        last = r->element[1]->integer;
        m = r->element[2];

        if (first < 0 || last >= NGX_WS_SLOTS || first > last
            || m->element[0]->len > NGX_SOCKADDR_STRLEN - 2)
        {
            continue;
        }

        if (m->element[0]->len == 0) {
            node = asked;

        } else {
            len = ngx_snprintf(text, sizeof(text), "%s%*s%s:%L",
                               ngx_strlchr((u_char *) m->element[0]->str,
                                           (u_char *) m->element[0]->str
                                           + m->element[0]->len, ':')
                               ? "[" : "",
                               (size_t) m->element[0]->len,
                               m->element[0]->str,
                               ngx_strlchr((u_char *) m->element[0]->str,
                                           (u_char *) m->element[0]->str
                                           + m->element[0]->len, ':')
                               ? "]" : "",
                               m->element[1]->integer)
                  - text;

            node = ngx_ws_redis_node_text(text, len, NULL);
        }

        if (node == NULL) {
            continue;
        }

        for (s = first; s <= last; s++) {
            ngx_ws_slots[s] = (uint8_t) node->index;
        }
    }

    ngx_ws_slots_mapped();
}


void
ngx_ws_slots_map_all(ngx_ws_redis_node_t *node)
{
    ngx_memset(ngx_ws_slots, (int) node->index, NGX_WS_SLOTS);
    ngx_ws_slots_mapped();
}


/* the map is known, or changed: every channel where its slot is */

static void
ngx_ws_slots_mapped(void)
{
    ngx_uint_t            i;
    ngx_rbtree_node_t    *node;
    ngx_ws_redis_chan_t  *chan;

    if (!ngx_ws_slots_known) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ws: redis at %V: the slots are known",
                      &ngx_ws_redis_conf->url);
    }

    ngx_ws_slots_known = 1;

    for (i = 0; i < ngx_ws_redis_nnodes; i++) {
        ngx_ws_redis_nodes[i]->slots = 0;
    }

    for (i = 0; i < NGX_WS_SLOTS; i++) {
        if (ngx_ws_slots[i] != NGX_WS_SLOTS_NO_NODE) {
            ngx_ws_redis_nodes[ngx_ws_slots[i]]->slots++;
        }
    }

    for (node = ngx_ws_slots_first();
         node;
         node = ngx_rbtree_next(&ngx_ws_slots_chans, node))
    {
        chan = (ngx_ws_redis_chan_t *) node;

        if (chan->on != ngx_ws_slots[chan->slot]) {
            ngx_ws_slots_unsubscribe(chan);
            ngx_ws_slots_subscribe(chan);
        }
    }

    ngx_ws_redis_state();
}


void
ngx_ws_slots_refresh_soon(void)
{
    if (!ngx_ws_slots_refresh.timer_set && !ngx_exiting && !ngx_terminate) {
        ngx_add_timer(&ngx_ws_slots_refresh, NGX_WS_SLOTS_REFRESH);
    }
}


/* CLUSTER SLOTS again, to the first node whose publisher is up */

static void
ngx_ws_slots_refresh_handler(ngx_event_t *ev)
{
    size_t                len[2];
    ngx_uint_t            i;
    const char           *argv[2];
    ngx_ws_redis_link_t  *l;

    for (i = 0; i < ngx_ws_redis_nnodes; i++) {
        l = &ngx_ws_redis_nodes[i]->pub;

        if (!l->up) {
            continue;
        }

        argv[0] = "CLUSTER";
        len[0] = 7;
        argv[1] = "SLOTS";
        len[1] = 5;

        if (ngx_ws_redis_command(l, NGX_WS_REDIS_MAP, 2, argv, len) == NGX_OK
            && ngx_ws_redis_flush(l) == NGX_OK)
        {
            return;
        }
    }

    ngx_add_timer(ev, NGX_WS_SLOTS_RETRY);
}


/* SSUBSCRIBE on the node that serves the channel's slot, once known */

static void
ngx_ws_slots_subscribe(ngx_ws_redis_chan_t *chan)
{
    size_t                len[2];
    const char           *argv[2];
    ngx_ws_redis_link_t  *l;

    if (!ngx_ws_slots_known
        || ngx_ws_slots[chan->slot] == NGX_WS_SLOTS_NO_NODE
        || chan->on != NGX_WS_SLOTS_NO_NODE)
    {
        return;
    }

    l = &ngx_ws_redis_nodes[ngx_ws_slots[chan->slot]]->sub;

    if (l->peer.connection == NULL) {
        /* its setup subscribes it */
        return;
    }

    argv[0] = "SSUBSCRIBE";
    len[0] = 10;
    argv[1] = (const char *) chan->sn.str.data;
    len[1] = chan->sn.str.len;

    if (ngx_ws_redis_command(l, NGX_WS_REDIS_SETUP, 2, argv, len) != NGX_OK
        || ngx_ws_redis_flush(l) != NGX_OK)
    {
        return;
    }

    chan->on = (uint8_t) l->node->index;
    l->expect++;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws redis: ssubscribe \"%V\" on %V", &chan->sn.str,
                   &l->node->name);
}


static void
ngx_ws_slots_unsubscribe(ngx_ws_redis_chan_t *chan)
{
    size_t                len[2];
    const char           *argv[2];
    ngx_ws_redis_link_t  *l;

    if (chan->on == NGX_WS_SLOTS_NO_NODE) {
        return;
    }

    l = &ngx_ws_redis_nodes[chan->on]->sub;
    chan->on = NGX_WS_SLOTS_NO_NODE;

    if (!l->connected) {
        return;
    }

    argv[0] = "SUNSUBSCRIBE";
    len[0] = 12;
    argv[1] = (const char *) chan->sn.str.data;
    len[1] = chan->sn.str.len;

    if (ngx_ws_redis_command(l, NGX_WS_REDIS_SETUP, 2, argv, len) == NGX_OK) {
        (void) ngx_ws_redis_flush(l);
    }
}


/*
 * The sharded adapter listens on a channel: a namespace's for good, a
 * room's until no worker of the host has the room.
 */

void
ngx_ws_redis_want(ngx_str_t *channel, ngx_uint_t room)
{
    uint32_t              hash;
    ngx_ws_redis_chan_t  *chan;

    if (!ngx_ws_redis_elected || ngx_ws_slots == NULL) {
        return;
    }

    hash = ngx_crc32_short(channel->data, channel->len);

    chan = (ngx_ws_redis_chan_t *)
               ngx_str_rbtree_lookup(&ngx_ws_slots_chans, channel, hash);

    if (chan == NULL) {
        chan = ngx_alloc(sizeof(ngx_ws_redis_chan_t) + channel->len,
                         ngx_cycle->log);
        if (chan == NULL) {
            return;
        }

        chan->sn.str.data = (u_char *) (chan + 1);
        chan->sn.str.len = channel->len;
        ngx_memcpy(chan->sn.str.data, channel->data, channel->len);
        chan->sn.node.key = hash;
        chan->slot = (uint16_t) ngx_ws_slots_key(channel->data,
                                                  channel->len);
        chan->on = NGX_WS_SLOTS_NO_NODE;
        chan->room = room ? 1 : 0;

        ngx_rbtree_insert(&ngx_ws_slots_chans, &chan->sn.node);

        ngx_ws_slots_subscribe(chan);
    }

    chan->wanted = ngx_current_msec;
}


/* the rooms' channels that no worker of the host needs any more */

static void
ngx_ws_slots_gc_handler(ngx_event_t *ev)
{
    ngx_rbtree_node_t    *node, *next;
    ngx_ws_redis_chan_t  *chan;

    for (node = ngx_ws_slots_first(); node; node = next) {
        next = ngx_rbtree_next(&ngx_ws_slots_chans, node);
        chan = (ngx_ws_redis_chan_t *) node;

        if (!chan->room
            || ngx_current_msec - chan->wanted < NGX_WS_SLOTS_GC
            || ngx_ws_shard_room_held(&chan->sn.str))
        {
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws redis: \"%V\" not needed", &chan->sn.str);

        ngx_ws_slots_unsubscribe(chan);
        ngx_rbtree_delete(&ngx_ws_slots_chans, node);
        ngx_free(chan);
    }

    if (!ngx_exiting && !ngx_terminate) {
        ngx_add_timer(ev, NGX_WS_SLOTS_GC);
    }
}


/*
 * Redis Cluster's hash slot: CRC16 (XMODEM) of the key, or of the part
 * between the first "{" and the next "}" when that part is not empty.
 */

static ngx_uint_t
ngx_ws_slots_key(u_char *key, size_t len)
{
    u_char      *open, *close;
    uint16_t     crc;
    ngx_uint_t   i, b;

    open = ngx_strlchr(key, key + len, '{');

    if (open) {
        close = ngx_strlchr(open + 1, key + len, '}');

        if (close && close > open + 1) {
            key = open + 1;
            len = close - key;
        }
    }

    crc = 0;

    for (i = 0; i < len; i++) {
        crc ^= (uint16_t) key[i] << 8;

        for (b = 0; b < 8; b++) {
            crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                 : (uint16_t) (crc << 1);
        }
    }

    return crc & (NGX_WS_SLOTS - 1);
}


/* the first channel listened on, or NULL */

static ngx_rbtree_node_t *
ngx_ws_slots_first(void)
{
    ngx_rbtree_node_t  *sentinel;

    sentinel = ngx_ws_slots_chans.sentinel;

    if (ngx_ws_slots_chans.root == sentinel) {
        return NULL;
    }

    return ngx_rbtree_min(ngx_ws_slots_chans.root, sentinel);
}
