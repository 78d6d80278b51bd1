
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


/*
 * ws_limit_conn_per_ip: Engine.IO sessions held at once per client
 * address, for the whole host.  nginx's limit_conn counts requests, and
 * the handshake's request is freed at the hand-off (a polling session has
 * no request at all between its GETs), so it caps handshakes in flight,
 * not the sessions that stay.
 *
 * Each worker counts the sessions it owns in an entry of the zone per
 * client address, (address, worker slot): the limit is the sum of an
 * address' entries, read and raised under the zone's mutex, so that two
 * workers cannot both take the last place.  An entry is the worker's
 * alone: a worker that dies (kill -9) leaves its entries with its slot,
 * and they go with the slot when a new worker reaps it.
 *
 * A session that took a place keeps a pointer to its entry right after
 * the session struct, allocated only in locations with the limit
 * (ngx_ws_session_create()), and gives the place back once, when it is
 * freed.
 */


#define NGX_WS_LIMIT_STATUS   429


/* one per (address, worker) with sessions: 64 bytes, a slab chunk */
typedef struct {
    ngx_rbtree_node_t          node;           /* key: crc32 of addr */
    uint32_t                   count;          /* sessions of the worker */
    uint16_t                   slot;
    u_char                     len;            /* 4 or 16 */
    u_char                     addr[16];
} ngx_ws_limit_node_t;


static ngx_uint_t ngx_ws_limit_addr(struct sockaddr *sa, u_char *addr);
static ngx_int_t ngx_ws_limit_cmp(ngx_ws_limit_node_t *ln, u_char *addr,
    size_t len);
static ngx_ws_limit_node_t *ngx_ws_limit_first(ngx_rbtree_t *tree,
    uint32_t key, u_char *addr, size_t len);
static void ngx_ws_limit_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_ws_limit_refuse(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);


static ngx_str_t  ngx_ws_limit_over =
    ngx_string("{\"code\":4,\"message\":\"Too many connections\"}");
static ngx_str_t  ngx_ws_limit_full =
    ngx_string("{\"code\":4,\"message\":\"Server busy\"}");


static ngx_inline ngx_ws_limit_node_t **
ngx_ws_limit_ref(ngx_ws_session_t *s)
{
    return (ngx_ws_limit_node_t **) (s + 1);
}


/* ws_limit_conn_per_ip number | off */

char *
ngx_ws_limit_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (wlcf->limit_conn != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        wlcf->limit_conn = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n <= 0) {
        return "takes a number greater than 0, or \"off\"";
    }

    wlcf->limit_conn = n;

    return NGX_CONF_OK;
}


/* A new zone: no entries. */

void
ngx_ws_limit_init(ngx_ws_sh_t *sh)
{
    ngx_rbtree_init(&sh->limit.tree, &sh->limit.sentinel,
                    ngx_ws_limit_insert_value);
    sh->limit.entries = 0;
}


/*
 * A new session of the request's client address takes a place, or the
 * request is answered: NGX_DECLINED when the session may go on, as with
 * the handshake's other checks.  Clients on unix sockets are not limited.
 */

ngx_int_t
ngx_ws_limit_take(ngx_http_request_t *r, ngx_ws_session_t *s)
{
    uint32_t              key, total;
    ngx_uint_t            len;
    ngx_ws_sh_t          *sh;
    ngx_rbtree_node_t    *node;
    ngx_ws_worker_t      *w;
    ngx_ws_limit_node_t  *ln, *mine;
    u_char                addr[16];

    w = &ngx_ws_worker;

    if (s->conf->limit_conn == 0 || w->sh == NULL) {
        return NGX_DECLINED;
    }

    len = ngx_ws_limit_addr(r->connection->sockaddr, addr);

    if (len == 0) {
        return NGX_DECLINED;
    }

    sh = w->sh;
    key = ngx_crc32_short(addr, len);
    total = 0;
    mine = NULL;

    ngx_shmtx_lock(&w->shpool->mutex);

    for (ln = ngx_ws_limit_first(&sh->limit.tree, key, addr, len);
         ln;
         ln = (ngx_ws_limit_node_t *) node)
    {
        total += ln->count;

        if (ln->slot == w->slot_index) {
            mine = ln;
        }

        node = ngx_rbtree_next(&sh->limit.tree, &ln->node);

        if (node == NULL || node->key != key
            || ngx_ws_limit_cmp((ngx_ws_limit_node_t *) node, addr, len)
               != 0)
        {
            break;
        }
    }

    if (total >= s->conf->limit_conn) {
        ngx_shmtx_unlock(&w->shpool->mutex);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ws: %uD sessions from %V, ws_limit_conn_per_ip %ui "
                      "refuses another", total, &r->connection->addr_text,
                      s->conf->limit_conn);

        return ngx_ws_limit_refuse(r, NGX_WS_LIMIT_STATUS,
                                   &ngx_ws_limit_over);
    }

    if (mine == NULL) {
        mine = ngx_slab_alloc_locked(w->shpool, sizeof(ngx_ws_limit_node_t));

        if (mine == NULL) {
            ngx_shmtx_unlock(&w->shpool->mutex);

            /* as limit_conn does with a full zone: nobody is let in */

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "ws: ws_zone is full, ws_limit_conn_per_ip "
                          "cannot count %V: make ws_zone larger",
                          &r->connection->addr_text);

            return ngx_ws_limit_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       &ngx_ws_limit_full);
        }

        mine->node.key = key;
        mine->count = 0;
        mine->slot = (uint16_t) w->slot_index;
        mine->len = (u_char) len;
        ngx_memcpy(mine->addr, addr, len);

        ngx_rbtree_insert(&sh->limit.tree, &mine->node);
        sh->limit.entries++;
    }

    mine->count++;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ws limit: %V has %uD sessions, %uD here, "
                   "%ui entries in ws_zone", &r->connection->addr_text,
                   total + 1, mine->count, sh->limit.entries);

    ngx_shmtx_unlock(&w->shpool->mutex);

    *ngx_ws_limit_ref(s) = mine;
    s->limited = 1;

    return NGX_DECLINED;
}


/* The session is freed: its place is given back, once. */

void
ngx_ws_limit_release(ngx_ws_session_t *s)
{
    ngx_ws_worker_t      *w;
    ngx_ws_limit_node_t  *ln;

    w = &ngx_ws_worker;

    if (!s->limited) {
        return;
    }

    s->limited = 0;

    /* a worker that left the zone took its entries with its slot */

    if (w->sh == NULL) {
        return;
    }

    ln = *ngx_ws_limit_ref(s);

    ngx_shmtx_lock(&w->shpool->mutex);

    if (--ln->count == 0) {
        ngx_rbtree_delete(&w->sh->limit.tree, &ln->node);
        ngx_slab_free_locked(w->shpool, ln);
        w->sh->limit.entries--;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(s), 0,
                   "ws limit: session %*s gave its place back",
                   (size_t) NGX_WS_ID_LEN, s->sid);

    ngx_shmtx_unlock(&w->shpool->mutex);
}


/* The entries of a worker that left, or died; the mutex is held. */

void
ngx_ws_limit_release_slot(ngx_ws_sh_t *sh, ngx_uint_t slot)
{
    ngx_rbtree_node_t    *node, *next, *sentinel;
    ngx_ws_limit_node_t  *ln;

    sentinel = sh->limit.tree.sentinel;

    if (sh->limit.tree.root == sentinel) {
        return;
    }

    for (node = ngx_rbtree_min(sh->limit.tree.root, sentinel);
         node;
         node = next)
    {
        next = ngx_rbtree_next(&sh->limit.tree, node);
        ln = (ngx_ws_limit_node_t *) node;

        if (ln->slot == slot) {
            ngx_rbtree_delete(&sh->limit.tree, node);
            ngx_slab_free_locked(sh->shpool, ln);
            sh->limit.entries--;
        }
    }
}


/*
 * The address as $binary_remote_addr has it (after realip), an IPv4
 * address mapped into IPv6 as the IPv4 one; 0 for a unix socket.
 */

static ngx_uint_t
ngx_ws_limit_addr(struct sockaddr *sa, u_char *addr)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        ngx_memcpy(addr, &sin->sin_addr, 4);
        return 4;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            ngx_memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
            return 4;
        }

        ngx_memcpy(addr, sin6->sin6_addr.s6_addr, 16);
        return 16;
#endif

    default:
        return 0;
    }
}


/* the order among entries of one key: by address */

static ngx_int_t
ngx_ws_limit_cmp(ngx_ws_limit_node_t *ln, u_char *addr, size_t len)
{
    if (len != ln->len) {
        return (len < ln->len) ? -1 : 1;
    }

    return ngx_memcmp(addr, ln->addr, len);
}


/* The leftmost entry of an address: its worker entries follow it. */

static ngx_ws_limit_node_t *
ngx_ws_limit_first(ngx_rbtree_t *tree, uint32_t key, u_char *addr,
    size_t len)
{
    ngx_int_t             rc;
    ngx_rbtree_node_t    *node, *sentinel;
    ngx_ws_limit_node_t  *ln, *found;

    node = tree->root;
    sentinel = tree->sentinel;
    found = NULL;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        ln = (ngx_ws_limit_node_t *) node;
        rc = ngx_ws_limit_cmp(ln, addr, len);

        if (rc == 0) {
            found = ln;
            node = node->left;

        } else {
            node = (rc < 0) ? node->left : node->right;
        }
    }

    return found;
}


/* ordered by key, address, slot */

static void
ngx_ws_limit_insert_value(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_int_t             rc;
    ngx_rbtree_node_t   **p;
    ngx_ws_limit_node_t  *ln, *lt;

    ln = (ngx_ws_limit_node_t *) node;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            lt = (ngx_ws_limit_node_t *) temp;
            rc = ngx_ws_limit_cmp(lt, ln->addr, ln->len);

            if (rc == 0) {
                rc = (ln->slot < lt->slot) ? -1 : 1;
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


/*
 * Refused as engine.io refuses a handshake its allowRequest turned down
 * (code 4 and a message of its own), with the status of a client over its
 * share: socket.io-client retries later with its backoff.
 */

static ngx_int_t
ngx_ws_limit_refuse(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    return ngx_ws_http_reply(r, status, body->data, body->len);
}
