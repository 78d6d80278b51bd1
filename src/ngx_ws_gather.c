
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * A Node server's fetchSockets() and allRooms() (the adapter's requests
 * 5 and 1, and the legacy 0), answered for the whole host.  Sockets live
 * in each worker's memory, so the host's Redis worker asks the others
 * through the log (a GATHER record) and each answers with its part (a
 * PART record, JSON); the answer goes to Redis once every worker of the
 * host has answered, or after a second with what came.
 */


#include "ngx_ws.h"
#include "ngx_ws_adapter.h"


#define NGX_WS_GATHER_WAIT     1000
#define NGX_WS_GATHER_ID_MAX   64


typedef struct {
    ngx_queue_t                queue;
    ngx_event_t                timer;
    ngx_uint_t                 type;
    ngx_uint_t                 expect;
    ngx_uint_t                 got;
    ngx_str_t                  nsp;
    u_char                    *buf;            /* the parts, comma-joined */
    size_t                     len;
    size_t                     size;
    size_t                     id_len;
    u_char                     id[NGX_WS_GATHER_ID_MAX];
    size_t                     to_len;         /* a sharded adapter's */
    u_char                     to[NGX_WS_GATHER_ID_MAX];
} ngx_ws_gather_t;


/* what a part is made from: a request's selection */
typedef struct {
    ngx_uint_t                 type;
    ngx_ws_target_t            target;
    u_char                    *buf;
    size_t                     len;
    size_t                     size;
    ngx_uint_t                 n;
    ngx_uint_t                 failed;
} ngx_ws_gather_part_t;


static ngx_int_t ngx_ws_gather_parse(u_char *p, u_char *end,
    ngx_pool_t *pool, ngx_ws_gather_part_t *part, ngx_str_t *id);
static ngx_int_t ngx_ws_gather_names(u_char *v, u_char *v_end,
    ngx_pool_t *pool, ngx_str_t **names, ngx_uint_t *n);
static ngx_int_t ngx_ws_gather_make(ngx_ws_gather_part_t *part,
    ngx_ws_nsp_t *nsp);
static void ngx_ws_gather_socket(ngx_ws_socket_t *sock, void *data);
static void ngx_ws_gather_rooms(ngx_ws_gather_part_t *part,
    ngx_ws_nsp_t *nsp);
static void ngx_ws_gather_put(ngx_ws_gather_part_t *part, u_char *data,
    size_t len);
static void ngx_ws_gather_string(ngx_ws_gather_part_t *part, u_char *data,
    size_t len);
static u_char *ngx_ws_gather_room(ngx_ws_gather_part_t *part,
    size_t need);
static void ngx_ws_gather_add(ngx_ws_gather_t *g, u_char *data, size_t len);
static void ngx_ws_gather_timer_handler(ngx_event_t *ev);
static void ngx_ws_gather_finish(ngx_ws_gather_t *g);
static ngx_uint_t ngx_ws_gather_workers(void);


static ngx_queue_t  ngx_ws_gathers;
static ngx_uint_t   ngx_ws_gathers_init;


/*
 * A request of type 0, 1 or 5 on <prefix>-request#<nsp>#, in the host's
 * Redis worker, or a sharded adapter's FETCH_SOCKETS (its data, and to:
 * the uid of the member that asked).  publish() sends the answer when it
 * is complete.
 */

void
ngx_ws_gather_start(ngx_ws_bytes_t *nsp, ngx_uint_t type, u_char *p,
    size_t len, ngx_ws_bytes_t *to, ngx_pool_t *pool)
{
    ngx_str_t              id;
    ngx_ws_op_t            op;
    ngx_ws_nsp_t          *n;
    ngx_ws_gather_t       *g;
    ngx_ws_gather_part_t   part;

    n = ngx_ws_nsp_find(nsp->data, nsp->len);

    if (n == NULL || !ngx_ws_json_valid(p, p + len)
        || (to && to->len > NGX_WS_GATHER_ID_MAX))
    {
        return;
    }

    ngx_memzero(&part, sizeof(ngx_ws_gather_part_t));
    part.type = type;

    if (ngx_ws_gather_parse(p, p + len, pool, &part, &id) != NGX_OK
        || id.len == 0 || id.len > NGX_WS_GATHER_ID_MAX)
    {
        return;
    }

    if (!ngx_ws_gathers_init) {
        ngx_queue_init(&ngx_ws_gathers);
        ngx_ws_gathers_init = 1;
    }

    g = ngx_calloc(sizeof(ngx_ws_gather_t) + nsp->len, ngx_cycle->log);
    if (g == NULL) {
        return;
    }

    g->type = type;
    g->id_len = id.len;
    ngx_memcpy(g->id, id.data, id.len);

    if (to) {
        g->to_len = to->len;
        ngx_memcpy(g->to, to->data, to->len);
    }
    g->nsp.data = (u_char *) (g + 1);
    g->nsp.len = nsp->len;
    ngx_memcpy(g->nsp.data, nsp->data, nsp->len);

    g->timer.handler = ngx_ws_gather_timer_handler;
    g->timer.data = g;
    g->timer.log = ngx_cycle->log;

    ngx_queue_insert_tail(&ngx_ws_gathers, &g->queue);

    /* this worker's part */

    if (ngx_ws_gather_make(&part, n) == NGX_OK) {
        ngx_ws_gather_add(g, part.buf, part.len);
    }

    if (part.buf) {
        ngx_free(part.buf);
    }

    g->expect = ngx_ws_gather_workers();

    if (g->expect == 0) {
        ngx_ws_gather_finish(g);
        return;
    }

    /* the others': the request as it came, the id to answer under */

    ngx_memzero(&op, sizeof(ngx_ws_op_t));
    op.type = NGX_WS_RELAY;
    op.kind = NGX_WS_RELAY_GATHER;
    op.status = (uint32_t) type;
    op.nsp = *nsp;
    op.sid.data = g->id;
    op.sid.len = g->id_len;
    op.packet.data = p;
    op.packet.len = len;

    if (ngx_ws_broker_relay(&op) != NGX_OK) {
        ngx_ws_gather_finish(g);
        return;
    }

    ngx_add_timer(&g->timer, NGX_WS_GATHER_WAIT);
}


/* A GATHER from the Redis worker (its part asked), or a PART for it. */

void
ngx_ws_gather_apply(ngx_ws_op_t *op, ngx_pid_t from)
{
    ngx_str_t              id;
    ngx_queue_t           *q;
    ngx_pool_t            *pool;
    ngx_ws_op_t            part_op;
    ngx_ws_nsp_t          *n;
    ngx_ws_gather_t       *g;
    ngx_ws_gather_part_t   part;

    if (op->kind == NGX_WS_RELAY_PART) {

        if (!ngx_ws_gathers_init || (ngx_pid_t) op->target != ngx_pid) {
            return;
        }

        for (q = ngx_queue_head(&ngx_ws_gathers);
             q != ngx_queue_sentinel(&ngx_ws_gathers);
             q = ngx_queue_next(q))
        {
            g = ngx_queue_data(q, ngx_ws_gather_t, queue);

            if (g->id_len == op->sid.len
                && ngx_memcmp(g->id, op->sid.data, g->id_len) == 0)
            {
                if (op->status == 0) {
                    ngx_ws_gather_add(g, op->packet.data, op->packet.len);
                }

                if (++g->got >= g->expect) {
                    ngx_ws_gather_finish(g);
                }

                return;
            }
        }

        return;
    }

    /* GATHER: this worker's part, even an empty one, so none is awaited */

    n = ngx_ws_nsp_find(op->nsp.data, op->nsp.len);

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_memzero(&part, sizeof(ngx_ws_gather_part_t));
    part.type = op->status;

    ngx_memzero(&part_op, sizeof(ngx_ws_op_t));
    part_op.type = NGX_WS_RELAY;
    part_op.kind = NGX_WS_RELAY_PART;
    part_op.target = (uint32_t) from;
    part_op.sid = op->sid;

    if (n == NULL
        || ngx_ws_gather_parse(op->packet.data,
                               op->packet.data + op->packet.len, pool, &part,
                               &id)
           != NGX_OK
        || ngx_ws_gather_make(&part, n) != NGX_OK)
    {
        part_op.status = 1;

    } else {
        part_op.packet.data = part.buf;
        part_op.packet.len = part.len;
    }

    (void) ngx_ws_broker_relay(&part_op);

    if (part.buf) {
        ngx_free(part.buf);
    }

    ngx_destroy_pool(pool);
}


/* requestId and opts.rooms / opts.except of a valid JSON request */

static ngx_int_t
ngx_ws_gather_parse(u_char *p, u_char *end, ngx_pool_t *pool,
    ngx_ws_gather_part_t *part, ngx_str_t *id)
{
    u_char  *v, *v_end, *o, *o_end;

    id->len = 0;

    v = ngx_ws_json_member(p, end, "requestId", &v_end);

    if (v && *v == '"') {
        id->data = ngx_pnalloc(pool, v_end - v);
        if (id->data == NULL) {
            return NGX_ERROR;
        }

        id->len = ngx_ws_json_string_decode(v, v_end, id->data);
    }

    o = ngx_ws_json_member(p, end, "opts", &o_end);

    if (o == NULL || *o != '{') {
        return NGX_OK;
    }

    v = ngx_ws_json_member(o, o_end, "rooms", &v_end);

    if (v && ngx_ws_gather_names(v, v_end, pool, &part->target.rooms,
                                 &part->target.nrooms)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    v = ngx_ws_json_member(o, o_end, "except", &v_end);

    if (v && ngx_ws_gather_names(v, v_end, pool, &part->target.except,
                                 &part->target.nexcept)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ws_gather_names(u_char *v, u_char *v_end, ngx_pool_t *pool,
    ngx_str_t **names, ngx_uint_t *n)
{
    u_char     *p, *e, *e_end;
    ngx_str_t  *s;
    ngx_uint_t  count;

    if (*v != '[') {
        return NGX_ERROR;
    }

    count = 0;

    for (p = v + 1; (p = ngx_ws_json_array_next(p, v_end, &e, &e_end));
         /* void */)
    {
        count++;
    }

    *names = ngx_palloc(pool, (count + 1) * sizeof(ngx_str_t));
    if (*names == NULL) {
        return NGX_ERROR;
    }

    *n = 0;

    for (p = v + 1; (p = ngx_ws_json_array_next(p, v_end, &e, &e_end));
         /* void */)
    {
        if (*e != '"') {
            return NGX_ERROR;
        }

        s = &(*names)[(*n)++];

        s->data = ngx_pnalloc(pool, e_end - e);
        if (s->data == NULL) {
            return NGX_ERROR;
        }

        s->len = ngx_ws_json_string_decode(e, e_end, s->data);
    }

    return NGX_OK;
}


/* A worker's part: its selected sockets, or its rooms, JSON, comma-joined */

static ngx_int_t
ngx_ws_gather_make(ngx_ws_gather_part_t *part, ngx_ws_nsp_t *nsp)
{
    part->target.nsp = nsp;

    if (part->type == NGX_WS_ADAPTER_ALL_ROOMS) {
        ngx_ws_gather_rooms(part, nsp);

    } else {
        (void) ngx_ws_select(&part->target, ngx_ws_gather_socket, part);
    }

    return part->failed ? NGX_ERROR : NGX_OK;
}


/*
 * fetchSockets(): what a RemoteSocket is made of.  nginx keeps no
 * handshake (the request is freed at the hand-off): its fields are there,
 * empty, so that code reading them does not fail.
 */

static void
ngx_ws_gather_socket(ngx_ws_socket_t *sock, void *data)
{
    ngx_ws_gather_part_t *part = data;

    u_char           *p;
    ngx_ws_member_t  *m;
    u_char            buf[NGX_WS_ID_LEN + 16];

    if (part->n++) {
        ngx_ws_gather_put(part, (u_char *) ",", 1);
    }

    if (part->type == NGX_WS_ADAPTER_SOCKETS) {
        p = ngx_sprintf(buf, "\"%*s\"", (size_t) NGX_WS_ID_LEN, sock->id);
        ngx_ws_gather_put(part, buf, p - buf);
        return;
    }

    p = ngx_sprintf(buf, "{\"id\":\"%*s\",", (size_t) NGX_WS_ID_LEN,
                    sock->id);
    ngx_ws_gather_put(part, buf, p - buf);

    ngx_ws_gather_put(part, (u_char *)
        "\"handshake\":{\"headers\":{},\"time\":\"\",\"address\":\"\","
        "\"xdomain\":false,\"secure\":false,\"issued\":0,\"url\":\"\","
        "\"query\":{},\"auth\":{}},\"rooms\":[",
        sizeof("\"handshake\":{\"headers\":{},\"time\":\"\",\"address\":"
               "\"\",\"xdomain\":false,\"secure\":false,\"issued\":0,"
               "\"url\":\"\",\"query\":{},\"auth\":{}},\"rooms\":[") - 1);

    /* a socket is in the room of its own id first, as socket.io's */

    p = ngx_sprintf(buf, "\"%*s\"", (size_t) NGX_WS_ID_LEN, sock->id);
    ngx_ws_gather_put(part, buf, p - buf);

    for (m = sock->rooms; m; m = m->next) {
        ngx_ws_gather_put(part, (u_char *) ",", 1);
        ngx_ws_gather_string(part, m->room->node.str.data,
                             m->room->node.str.len);
    }

    ngx_ws_gather_put(part, (u_char *) "],\"data\":", 9);

    if (sock->data && !sock->data_is_auth && sock->data_len) {
        ngx_ws_gather_put(part, sock->data, sock->data_len);

    } else {
        ngx_ws_gather_put(part, (u_char *) "{}", 2);
    }

    ngx_ws_gather_put(part, (u_char *) "}", 1);
}


/* allRooms(): the named rooms and the room of every socket's id */

static void
ngx_ws_gather_rooms(ngx_ws_gather_part_t *part, ngx_ws_nsp_t *nsp)
{
    u_char             *p;
    ngx_queue_t        *q;
    ngx_rbtree_node_t  *node, *root, *sentinel;
    ngx_ws_room_t      *room;
    ngx_ws_socket_t    *sock;
    u_char              buf[NGX_WS_ID_LEN + 4];

    root = nsp->rooms.root;
    sentinel = nsp->rooms.sentinel;

    if (root != sentinel) {
        for (node = ngx_rbtree_min(root, sentinel);
             node;
             node = ngx_rbtree_next(&nsp->rooms, node))
        {
            room = (ngx_ws_room_t *) node;

            if (part->n++) {
                ngx_ws_gather_put(part, (u_char *) ",", 1);
            }

            ngx_ws_gather_string(part, room->node.str.data,
                                 room->node.str.len);
        }
    }

    for (q = ngx_queue_head(&nsp->sockets);
         q != ngx_queue_sentinel(&nsp->sockets);
         q = ngx_queue_next(q))
    {
        sock = ngx_queue_data(q, ngx_ws_socket_t, queue);

        if (part->n++) {
            ngx_ws_gather_put(part, (u_char *) ",", 1);
        }

        p = ngx_sprintf(buf, "\"%*s\"", (size_t) NGX_WS_ID_LEN, sock->id);
        ngx_ws_gather_put(part, buf, p - buf);
    }
}


static void
ngx_ws_gather_put(ngx_ws_gather_part_t *part, u_char *data, size_t len)
{
    u_char  *p;

    p = ngx_ws_gather_room(part, len);

    if (p) {
        ngx_memcpy(p, data, len);
        part->len += len;
    }
}


/* data as a JSON string */

static void
ngx_ws_gather_string(ngx_ws_gather_part_t *part, u_char *data, size_t len)
{
    u_char  *p;
    size_t   need;

    need = ngx_ws_json_string_len(data, len);

    p = ngx_ws_gather_room(part, need);

    if (p) {
        (void) ngx_ws_json_string_write(p, data, len);
        part->len += need;
    }
}


/* where need more bytes go, or NULL (then the part is given up) */

static u_char *
ngx_ws_gather_room(ngx_ws_gather_part_t *part, size_t need)
{
    u_char  *buf;
    size_t   size;

    if (part->failed) {
        return NULL;
    }

    if (part->len + need > part->size) {
        size = ngx_max(2 * part->size, part->len + need);
        size = ngx_max(size, 1024);

        buf = ngx_alloc(size, ngx_cycle->log);
        if (buf == NULL) {
            part->failed = 1;
            return NULL;
        }

        if (part->buf) {
            ngx_memcpy(buf, part->buf, part->len);
            ngx_free(part->buf);
        }

        part->buf = buf;
        part->size = size;
    }

    return part->buf + part->len;
}


static void
ngx_ws_gather_add(ngx_ws_gather_t *g, u_char *data, size_t len)
{
    u_char  *buf;
    size_t   size;

    if (len == 0) {
        return;
    }

    if (g->len + len + 1 > g->size) {
        size = ngx_max(2 * g->size, g->len + len + 1);

        buf = ngx_alloc(size, ngx_cycle->log);
        if (buf == NULL) {
            return;
        }

        if (g->buf) {
            ngx_memcpy(buf, g->buf, g->len);
            ngx_free(g->buf);
        }

        g->buf = buf;
        g->size = size;
    }

    if (g->len) {
        g->buf[g->len++] = ',';
    }

    ngx_memcpy(g->buf + g->len, data, len);
    g->len += len;
}


static void
ngx_ws_gather_timer_handler(ngx_event_t *ev)
{
    ngx_ws_gather_t  *g;

    g = ev->data;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "ws: %ui of %ui workers answered a redis request in time",
                  g->got, g->expect);

    ngx_ws_gather_finish(g);
}


/* {"requestId":"..","sockets":[...]} or {"requestId":"..","rooms":[...]} */

static void
ngx_ws_gather_finish(ngx_ws_gather_t *g)
{
    u_char          *body, *p;
    ngx_ws_bytes_t   nsp, to;

    if (g->timer.timer_set) {
        ngx_del_timer(&g->timer);
    }

    ngx_queue_remove(&g->queue);

    body = ngx_alloc(g->len + g->id_len * 6 + 64, ngx_cycle->log);

    if (body) {
        p = ngx_cpymem(body, "{\"requestId\":", 13);
        p = ngx_ws_json_string_write(p, g->id, g->id_len);
        p = ngx_sprintf(p, ",\"%s\":[",
                        g->type == NGX_WS_ADAPTER_ALL_ROOMS ? "rooms"
                                                            : "sockets");
        if (g->len) {
            p = ngx_cpymem(p, g->buf, g->len);
        }

        *p++ = ']';
        *p++ = '}';

        nsp.data = g->nsp.data;
        nsp.len = g->nsp.len;

        to.data = g->to;
        to.len = g->to_len;

        ngx_ws_redis_response(&nsp, &to, body, p - body);
        ngx_free(body);
    }

    if (g->buf) {
        ngx_free(g->buf);
    }

    ngx_free(g);
}


/* the other live workers of the host, of any generation */

static ngx_uint_t
ngx_ws_gather_workers(void)
{
    ngx_pid_t     pid;
    ngx_uint_t    i, n;
    ngx_ws_sh_t  *sh;

    sh = ngx_ws_worker.sh;
    n = 0;

    for (i = 0; i < NGX_WS_ZONE_SLOTS; i++) {
        pid = sh->slots[i].pid;

        if (pid && pid != ngx_pid && ngx_ws_pid_alive(pid)) {
            n++;
        }
    }

    return n;
}


/* an exiting worker answers what it gathered so far */

void
ngx_ws_gather_exit(void)
{
    ngx_queue_t  *q;

    if (!ngx_ws_gathers_init) {
        return;
    }

    while (!ngx_queue_empty(&ngx_ws_gathers)) {
        q = ngx_queue_head(&ngx_ws_gathers);
        ngx_ws_gather_finish(ngx_queue_data(q, ngx_ws_gather_t, queue));
    }
}
