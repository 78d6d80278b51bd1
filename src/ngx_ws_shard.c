
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The host as one member of a cluster of sharded adapters
 * (createShardedAdapter: Redis 7's SSUBSCRIBE and SPUBLISH, the messages
 * of socket.io-adapter's ClusterAdapter).
 *
 * Such an adapter publishes a broadcast to one room on that room's own
 * channel, and subscribes to the channel of every room it has.  So the
 * host must know its rooms, which live in each worker's memory: the zone
 * keeps the set of rooms the host has, a bit per worker, changed when a
 * worker's first member joins a room or its last one leaves.  The Redis
 * worker subscribes to a room's channel when the host's first worker has
 * the room (that worker tells it through the log), or sooner, when a join
 * this host accepted passes through the log; it gives the channel up once
 * the set says no worker has the room any more.
 */


#include "ngx_ws.h"
#include "ngx_ws_adapter.h"
#include "ngx_ws_redis.h"


/* how long a room's channel is kept after the last join seen for it */
#define NGX_WS_SHARD_KEEP      10000


typedef struct {
    ngx_rbtree_node_t          node;           /* key: crc32 of the name */
    uint16_t                   nsp;            /* the zone's namespace */
    uint16_t                   len;
    uint8_t                    workers[NGX_WS_ZONE_SLOTS / 8];
    u_char                     name[1];
} ngx_ws_shard_room_t;


static ngx_ws_shard_room_t *ngx_ws_shard_room_lookup(ngx_ws_sh_t *sh,
    ngx_uint_t nsp, u_char *name, size_t len, uint32_t hash);
static ngx_str_t *ngx_ws_shard_room_channel(ngx_pool_t *pool,
    ngx_str_t *nsp, u_char *room, size_t len);
static void ngx_ws_shard_want_room(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *room,
    ngx_pool_t *pool);
static void ngx_ws_shard_room_new(ngx_ws_nsp_t *nsp, ngx_str_t *name);
static void ngx_ws_shard_answer(ngx_ws_adapter_shard_t *m,
    ngx_ws_op_t *op, u_char *p, size_t len, ngx_pool_t *pool);
static void ngx_ws_shard_respond(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *to,
    ngx_uint_t type, u_char *data, size_t len, ngx_pool_t *pool);
static ngx_uint_t ngx_ws_shard_own(ngx_ws_bytes_t *uid);


/* set in every worker when ws_redis is sharded: the rooms are counted */
ngx_uint_t  ngx_ws_shard_rooms;


/* ---------------------------------------------------- the host's rooms */


void
ngx_ws_shard_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_int_t             rc;
    ngx_rbtree_node_t   **p;
    ngx_ws_shard_room_t  *n, *t;

    for ( ;; ) {
        n = (ngx_ws_shard_room_t *) node;
        t = (ngx_ws_shard_room_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            rc = (ngx_int_t) n->nsp - (ngx_int_t) t->nsp;

            if (rc == 0) {
                rc = (ngx_int_t) n->len - (ngx_int_t) t->len;
            }

            if (rc == 0) {
                rc = ngx_memcmp(n->name, t->name, n->len);
            }

            p = (rc < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_ws_shard_room_t *
ngx_ws_shard_room_lookup(ngx_ws_sh_t *sh, ngx_uint_t nsp, u_char *name,
    size_t len, uint32_t hash)
{
    ngx_int_t             rc;
    ngx_rbtree_node_t    *node, *sentinel;
    ngx_ws_shard_room_t  *r;

    node = sh->rooms.root;
    sentinel = sh->rooms.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        r = (ngx_ws_shard_room_t *) node;

        rc = (ngx_int_t) nsp - (ngx_int_t) r->nsp;

        if (rc == 0) {
            rc = (ngx_int_t) len - (ngx_int_t) r->len;
        }

        if (rc == 0) {
            rc = ngx_memcmp(name, r->name, len);
        }

        if (rc == 0) {
            return r;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* This worker's first member of a room joined, or its last one left. */

void
ngx_ws_shard_room(ngx_ws_nsp_t *nsp, ngx_str_t *name, ngx_uint_t held)
{
    uint32_t              hash;
    ngx_uint_t            i, bit, new;
    ngx_ws_sh_t          *sh;
    ngx_ws_worker_t      *w;
    ngx_ws_shard_room_t  *r;

    w = &ngx_ws_worker;
    sh = w->sh;

    /* rooms named like socket ids have no channel */

    if (!ngx_ws_shard_rooms || sh == NULL
        || nsp->zone_index >= NGX_WS_ZONE_NSPS
        || name->len == NGX_WS_SHARD_ID_LEN || name->len == 0
        || name->len > 0xffff)
    {
        return;
    }

    hash = ngx_crc32_short(name->data, name->len);
    bit = w->slot_index;
    new = 0;

    ngx_shmtx_lock(&w->shpool->mutex);

    r = ngx_ws_shard_room_lookup(sh, nsp->zone_index, name->data, name->len,
                                 hash);

    if (held) {
        if (r == NULL) {
            r = ngx_slab_calloc_locked(w->shpool,
                                       sizeof(ngx_ws_shard_room_t)
                                       + name->len);
            if (r == NULL) {
                /* its channel is kept for good: what costs less */
                ngx_shmtx_unlock(&w->shpool->mutex);
                return;
            }

            r->node.key = hash;
            r->nsp = (uint16_t) nsp->zone_index;
            r->len = (uint16_t) name->len;
            ngx_memcpy(r->name, name->data, name->len);
            ngx_rbtree_insert(&sh->rooms, &r->node);
            new = 1;
        }

        r->workers[bit / 8] |= (uint8_t) (1 << (bit % 8));

    } else if (r) {
        r->workers[bit / 8] &= (uint8_t) ~(1 << (bit % 8));

        for (i = 0; i < NGX_WS_ZONE_SLOTS / 8; i++) {
            if (r->workers[i]) {
                break;
            }
        }

        if (i == NGX_WS_ZONE_SLOTS / 8) {
            ngx_rbtree_delete(&sh->rooms, &r->node);
            ngx_slab_free_locked(w->shpool, r);
        }
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    if (new) {
        ngx_ws_shard_room_new(nsp, name);
    }
}


/* A room the host did not have: its Redis worker listens on its channel. */

static void
ngx_ws_shard_room_new(ngx_ws_nsp_t *nsp, ngx_str_t *name)
{
    ngx_pid_t    pid;
    ngx_ws_op_t  op;

    pid = (ngx_pid_t) ngx_ws_worker.sh->redis_pid;

    if (pid == 0) {
        /* the worker elected next listens on every room the set has */
        return;
    }

    ngx_memzero(&op, sizeof(ngx_ws_op_t));

    op.type = NGX_WS_RELAY;
    op.kind = NGX_WS_RELAY_ROOM;
    op.target = (uint32_t) pid;
    op.nsp.data = nsp->name.data;
    op.nsp.len = nsp->name.len;
    op.packet.data = name->data;
    op.packet.len = name->len;

    if (pid == ngx_pid) {
        /* the log skips a worker's own records */
        ngx_ws_shard_room_apply(&op);
        return;
    }

    (void) ngx_ws_broker_relay(&op);
}


void
ngx_ws_shard_room_apply(ngx_ws_op_t *op)
{
    ngx_pool_t  *pool;

    if ((ngx_pid_t) op->target != ngx_pid) {
        return;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool) {
        ngx_ws_shard_want_room(&op->nsp, &op->packet, pool);
        ngx_destroy_pool(pool);
    }
}


/* A worker that is gone holds no rooms; the mutex is held. */

void
ngx_ws_shard_rooms_release(ngx_ws_sh_t *sh, ngx_uint_t slot)
{
    ngx_uint_t            i;
    ngx_rbtree_node_t    *node, *next, *sentinel;
    ngx_ws_shard_room_t  *r;

    sentinel = sh->rooms.sentinel;

    if (sh->rooms.root == sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(sh->rooms.root, sentinel); node; node = next) {
        next = ngx_rbtree_next(&sh->rooms, node);
        r = (ngx_ws_shard_room_t *) node;

        r->workers[slot / 8] &= (uint8_t) ~(1 << (slot % 8));

        for (i = 0; i < NGX_WS_ZONE_SLOTS / 8; i++) {
            if (r->workers[i]) {
                break;
            }
        }

        if (i == NGX_WS_ZONE_SLOTS / 8) {
            ngx_rbtree_delete(&sh->rooms, node);
            ngx_slab_free_locked(sh->shpool, r);
        }
    }
}


/*
 * Whether a worker of the host has the room of the channel
 * "<prefix>#<nsp>#<room>#".
 */

ngx_uint_t
ngx_ws_shard_room_held(ngx_str_t *channel)
{
    u_char           *room;
    size_t            len, plen;
    ngx_uint_t        i, held;
    ngx_ws_sh_t      *sh;
    ngx_ws_nsp_t     *nsp;
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;
    sh = w->sh;
    plen = ngx_ws_redis_prefix()->len + 1;

    for (i = 0; i < w->nnsps; i++) {
        nsp = &w->nsps[i];

        if (channel->len > plen + nsp->name.len + 2
            && ngx_memcmp(channel->data + plen, nsp->name.data,
                          nsp->name.len) == 0
            && channel->data[plen + nsp->name.len] == '#')
        {
            break;
        }
    }

    if (i == w->nnsps || sh == NULL) {
        return 0;
    }

    room = channel->data + plen + nsp->name.len + 1;
    len = channel->len - plen - nsp->name.len - 2;

    ngx_shmtx_lock(&w->shpool->mutex);

    held = ngx_ws_shard_room_lookup(sh, nsp->zone_index, room, len,
                                    ngx_crc32_short(room, len))
           != NULL;

    ngx_shmtx_unlock(&w->shpool->mutex);

    return held;
}


/*
 * The channels the host listens on: each namespace's, and each room's
 * that a worker has (the set copied out under the lock first).
 */

void
ngx_ws_shard_want_all(void)
{
    size_t                n;
    ngx_str_t            *ch, *names;
    ngx_uint_t            i, k, *nsps;
    ngx_pool_t           *pool;
    ngx_ws_sh_t          *sh;
    ngx_ws_worker_t      *w;
    ngx_rbtree_node_t    *node, *sentinel;
    ngx_ws_shard_room_t  *r;

    w = &ngx_ws_worker;
    sh = w->sh;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    for (i = 0; i < w->nnsps; i++) {
        ch = ngx_ws_shard_room_channel(pool, &w->nsps[i].name, NULL, 0);

        if (ch) {
            ngx_ws_redis_want(ch, 0);
        }
    }

    n = 0;
    names = NULL;
    nsps = NULL;

    ngx_shmtx_lock(&w->shpool->mutex);

    sentinel = sh->rooms.sentinel;

    for (node = (sh->rooms.root == sentinel)
                ? NULL : ngx_rbtree_min(sh->rooms.root, sentinel);
         node;
         node = ngx_rbtree_next(&sh->rooms, node))
    {
        n++;
    }

    if (n) {
        names = ngx_palloc(pool, n * sizeof(ngx_str_t));
        nsps = ngx_palloc(pool, n * sizeof(ngx_uint_t));
    }

    k = 0;

    for (node = (n == 0 || names == NULL || nsps == NULL)
                ? NULL : ngx_rbtree_min(sh->rooms.root, sentinel);
         node;
         node = ngx_rbtree_next(&sh->rooms, node))
    {
        r = (ngx_ws_shard_room_t *) node;

        names[k].data = ngx_pnalloc(pool, r->len);
        if (names[k].data == NULL) {
            break;
        }

        names[k].len = r->len;
        ngx_memcpy(names[k].data, r->name, r->len);
        nsps[k++] = r->nsp;
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    for (n = 0; n < k; n++) {
        for (i = 0; i < w->nnsps; i++) {
            if (w->nsps[i].zone_index != nsps[n]) {
                continue;
            }

            ch = ngx_ws_shard_room_channel(pool, &w->nsps[i].name,
                                           names[n].data, names[n].len);
            if (ch) {
                ngx_ws_redis_want(ch, 1);
            }
        }
    }

    ngx_destroy_pool(pool);
}


/* "<prefix>#<nsp>#", or with a room "<prefix>#<nsp>#<room>#" */

static ngx_str_t *
ngx_ws_shard_room_channel(ngx_pool_t *pool, ngx_str_t *nsp, u_char *room,
    size_t len)
{
    u_char     *p;
    ngx_str_t  *ch, *prefix;

    prefix = ngx_ws_redis_prefix();

    ch = ngx_palloc(pool, sizeof(ngx_str_t));
    if (ch == NULL) {
        return NULL;
    }

    ch->data = ngx_pnalloc(pool, prefix->len + nsp->len + len + 3);
    if (ch->data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(ch->data, prefix->data, prefix->len);
    *p++ = '#';
    p = ngx_cpymem(p, nsp->data, nsp->len);
    *p++ = '#';

    if (room) {
        p = ngx_cpymem(p, room, len);
        *p++ = '#';
    }

    ch->len = p - ch->data;

    return ch;
}


static void
ngx_ws_shard_want_room(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *room,
    ngx_pool_t *pool)
{
    ngx_str_t  *ch, name;

    if (room->len == NGX_WS_SHARD_ID_LEN || room->len == 0) {
        return;
    }

    name.data = nsp->data;
    name.len = nsp->len;

    ch = ngx_ws_shard_room_channel(pool, &name, room->data, room->len);

    if (ch) {
        ngx_ws_redis_want(ch, 1);
    }
}


/* ------------------------------------------------------- the messages */


/*
 * An operation accepted by this host, in its Redis worker: what did not
 * come from Redis goes there, and its joins make the host listen on their
 * rooms' channels at once (a join from Redis may concern no socket here:
 * the worker that gets the room's first member says so).
 */

void
ngx_ws_shard_forward(ngx_ws_op_t *op)
{
    u_char      *out;
    size_t       i, len;
    ngx_str_t   *ch, nsp, *prefix;
    ngx_pool_t  *pool;
    const char  *reason;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (op->flags & NGX_WS_OP_FROM_REDIS) {
        ngx_destroy_pool(pool);
        return;
    }

    if (op->type == NGX_WS_JOIN && ngx_ws_shard_rooms) {
        for (i = 0; i < op->nnames; i++) {
            ngx_ws_shard_want_room(&op->nsp, &op->names[i], pool);
        }
    }

    reason = ngx_ws_adapter_shard_encode(op, ngx_ws_worker.sh->uid,
                                         NGX_WS_REDIS_UID_LEN, &out, &len,
                                         ngx_ws_pool_alloc, pool);
    if (reason) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: an operation not published to redis: %s", reason);
        ngx_destroy_pool(pool);
        return;
    }

    if (ngx_ws_redis_conf->sharded == NGX_WS_SHARDED_STATIC) {
        /* every message on the namespace's channel */
        nsp.data = op->nsp.data;
        nsp.len = op->nsp.len;

        if (nsp.len == 0) {
            ngx_str_set(&nsp, "/");
        }

        ch = ngx_ws_shard_room_channel(pool, &nsp, NULL, 0);

    } else {
        prefix = ngx_ws_redis_prefix();

        ch = ngx_palloc(pool, sizeof(ngx_str_t));
        if (ch) {
            ch->len = ngx_ws_adapter_shard_channel_len(op, prefix->len);
            ch->data = ngx_pnalloc(pool, ch->len);

            if (ch->data == NULL) {
                ch = NULL;

            } else {
                (void) ngx_ws_adapter_shard_channel(ch->data, op,
                                                    prefix->data,
                                                    prefix->len);
            }
        }
    }

    if (ch && ngx_ws_redis_publish(ch, out, len) != NGX_OK) {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }

    ngx_destroy_pool(pool);
}


/*
 * A message on one of the host's channels: an operation of another
 * member, into the log like a push, marked so that it does not go back;
 * or a request the host answers.
 */

void
ngx_ws_shard_message(u_char *channel, size_t channel_len, u_char *p,
    size_t len)
{
    size_t                   plen;
    ngx_uint_t               matched;
    ngx_pool_t              *pool;
    ngx_ws_op_t              op;
    const char              *reason;
    ngx_ws_adapter_shard_t   m;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    reason = ngx_ws_adapter_shard_decode(p, len, &op, &m, ngx_ws_pool_alloc,
                                         pool);

    /* our own, back from Redis; a namespace's message on its channels only */

    plen = ngx_ws_redis_prefix()->len;

    if (ngx_ws_shard_own(&m.uid)
        || m.nsp.len == 0
        || channel_len < plen + m.nsp.len + 2
        || ngx_memcmp(channel + plen + 1, m.nsp.data, m.nsp.len) != 0
        || channel[plen + 1 + m.nsp.len] != '#'
        || ngx_ws_nsp_find(m.nsp.data, m.nsp.len) == NULL)
    {
        ngx_destroy_pool(pool);
        return;
    }

    if (reason && reason != ngx_ws_op_nomem) {
        ngx_ws_shard_answer(&m, NULL, p, len, pool);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws redis: message %ui: %s", (ngx_uint_t) m.type,
                       reason);
        ngx_destroy_pool(pool);
        return;
    }

    if (reason) {
        ngx_destroy_pool(pool);
        return;
    }

    op.flags |= NGX_WS_OP_FROM_REDIS;

    (void) ngx_ws_broker_publish(&op, pool, &matched);

    if (m.type == NGX_WS_SHARD_BROADCAST && m.request_id.len) {
        ngx_ws_shard_answer(&m, &op, p, len, pool);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws redis: op %ui from \"%*s\" applied",
                   (ngx_uint_t) op.type, channel_len, channel);

    ngx_destroy_pool(pool);
}


/*
 * What a Node member waits for: the sockets of the host (fetchSockets,
 * gathered from every worker), an acknowledgement of a serverSideEmit
 * (nginx has no server-side listeners: no argument), and the count of
 * clients whose acks a broadcast with acks collects here (0: not
 * collected).
 */

static void
ngx_ws_shard_answer(ngx_ws_adapter_shard_t *m, ngx_ws_op_t *op, u_char *p,
    size_t len, ngx_pool_t *pool)
{
    u_char  *v, *v_end, *body, *b;

    if (m->request_id.len == 0 || m->uid.len == 0) {
        return;
    }

    switch (m->type) {

    case NGX_WS_SHARD_FETCH_SOCKETS:

        /* JSON (a request holds no binary): its data is the request */

        if (len == 0 || p[0] != '{') {
            return;
        }

        v = ngx_ws_json_member(p, p + len, "data", &v_end);

        if (v && *v == '{') {
            ngx_ws_gather_start(&m->nsp, NGX_WS_ADAPTER_REMOTE_FETCH, v,
                                v_end - v, &m->uid, pool);
        }

        return;

    case NGX_WS_SHARD_SERVER_SIDE_EMIT:
    case NGX_WS_SHARD_BROADCAST:

        body = ngx_pnalloc(pool, sizeof("{\"requestId\":,\"clientCount\":0}")
                           + ngx_ws_json_string_len(m->request_id.data,
                                                    m->request_id.len));
        if (body == NULL) {
            return;
        }

        b = ngx_cpymem(body, "{\"requestId\":", 13);
        b = ngx_ws_json_string_write(b, m->request_id.data,
                                     m->request_id.len);

        if (op) {
            b = ngx_cpymem(b, ",\"clientCount\":0", 16);
        }

        *b++ = '}';

        ngx_ws_shard_respond(&m->nsp, &m->uid,
                             op ? NGX_WS_SHARD_BROADCAST_CLIENT_COUNT
                                : NGX_WS_SHARD_SERVER_SIDE_EMIT_RESPONSE,
                             body, b - body, pool);
        return;

    default:
        return;
    }
}


/* The gathered sockets of a sharded adapter's fetchSockets(). */

void
ngx_ws_shard_fetch_response(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *to,
    u_char *body, size_t len)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_ws_shard_respond(nsp, to, NGX_WS_SHARD_FETCH_SOCKETS_RESPONSE, body,
                         len, pool);

    ngx_destroy_pool(pool);
}


/*
 * {"type":N,"data":data,"uid":..,"nsp":..} on "<prefix>#<nsp>#<uid>#",
 * the channel of the member that asked.
 */

static void
ngx_ws_shard_respond(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *to,
    ngx_uint_t type, u_char *data, size_t len, ngx_pool_t *pool)
{
    u_char     *msg, *p;
    size_t      size;
    ngx_str_t   ch, *prefix;

    prefix = ngx_ws_redis_prefix();

    size = sizeof("{\"type\":,\"data\":,\"uid\":\"\",\"nsp\":}") + NGX_INT_T_LEN
           + len + NGX_WS_REDIS_UID_LEN
           + ngx_ws_json_string_len(nsp->data, nsp->len);

    msg = ngx_pnalloc(pool, size);
    ch.data = ngx_pnalloc(pool, prefix->len + nsp->len + to->len + 3);

    if (msg == NULL || ch.data == NULL) {
        return;
    }

    p = ngx_sprintf(msg, "{\"type\":%ui,\"data\":", type);
    p = ngx_cpymem(p, data, len);
    p = ngx_cpymem(p, ",\"uid\":\"", 8);
    p = ngx_cpymem(p, ngx_ws_worker.sh->uid, NGX_WS_REDIS_UID_LEN);
    p = ngx_cpymem(p, "\",\"nsp\":", 8);
    p = ngx_ws_json_string_write(p, nsp->data, nsp->len);
    *p++ = '}';

    ch.len = ngx_sprintf(ch.data, "%V#%*s#%*s#", prefix, nsp->len, nsp->data,
                         to->len, to->data)
             - ch.data;

    if (ngx_ws_redis_publish(&ch, msg, p - msg) != NGX_OK) {
        (void) ngx_atomic_fetch_add(&ngx_ws_worker.sh->redis_lost, 1);
    }
}


static ngx_uint_t
ngx_ws_shard_own(ngx_ws_bytes_t *uid)
{
    return uid->len == NGX_WS_REDIS_UID_LEN
           && ngx_memcmp(uid->data, ngx_ws_worker.sh->uid,
                         NGX_WS_REDIS_UID_LEN) == 0;
}
