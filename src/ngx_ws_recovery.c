
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "ngx_ws.h"
#include "ngx_ws_recovery.h"


/*
 * socket.io's connection state recovery (its session-aware adapter),
 * kept in a shared zone of its own so that any worker, of this
 * configuration or the next one, restores what another kept.
 *
 * Every emit the host logs is kept here too, with its selection, under
 * the number the log gave it: that number, with the log's uid, is the
 * offset clients of a ws_recovery location get as the last argument of
 * the event, the same on every worker.  A socket that leaves for a reason
 * socket.io deems recoverable leaves its id, rooms and data here, found by
 * its private id (pid).  A CONNECT that names that pid and an offset
 * after which nothing was dropped gets the socket back: the packets it
 * missed (after the offset, up to what this worker has applied from the
 * log, those that selected it) before its CONNECT, the rest through the
 * log as for any socket.
 *
 * The pid is an HMAC of the socket id under the zone's key: nothing to
 * keep per socket, and unguessable from the id, which other clients may
 * see.  The zone's mutex is taken inside the log's (ngx_ws_broker.c)
 * and never the other way round.
 */


/* an emit as the log has it, in the order of the log */
typedef struct {
    ngx_queue_t                queue;
    uint64_t                   seq;
    ngx_msec_t                 at;
    uint32_t                   len;
    u_char                     op[1];          /* ngx_ws_op_write()'s */
} ngx_ws_recovery_packet_t;


/*
 * A socket waiting to be recovered; the node first and the pid after it,
 * as in every id tree.  bytes: the namespace, then each room as a 16-bit
 * length and its name, then the data; with a disconnect hook due, then
 * the client's address and the local one, the hooks' info and the body
 * of the disconnect call, made when the socket left.
 */
typedef struct {
    ngx_rbtree_node_t          node;           /* key: crc32 of the pid */
    u_char                     pid[NGX_WS_ID_LEN];
    u_char                     sid[NGX_WS_ID_LEN];
    ngx_queue_t                queue;          /* sh->sessions_queue, or a
                                                  worker's due calls */
    ngx_msec_t                 expire;
    uint32_t                   nsp_len;
    uint32_t                   rooms_len;
    uint32_t                   data_len;
    uint32_t                   loc;            /* its location's key */
    uint32_t                   info_len;
    uint32_t                   hook_len;       /* 0: no disconnect due */
    uint16_t                   socklen;
    uint16_t                   local_socklen;
    u_char                     bytes[1];
} ngx_ws_recovery_session_t;


#define ngx_ws_recovery_session_size(rs)                                     \
    (offsetof(ngx_ws_recovery_session_t, bytes) + (rs)->nsp_len              \
     + (rs)->rooms_len + (rs)->data_len + (rs)->socklen                      \
     + (rs)->local_socklen + (rs)->info_len + (rs)->hook_len)


typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                sessions_queue; /* oldest first */
    ngx_queue_t                packets;        /* the log's order */
    uint64_t                   dropped;        /* the last seq let go */
    ngx_msec_t                 window;         /* packets kept this long */
    u_char                     log_uid[NGX_WS_RECOVERY_TAG_LEN];
    u_char                     key[32];        /* for pids */
    ngx_ws_recovery_counters_t counters;
} ngx_ws_recovery_sh_t;


/*
 * A recovered socket whose client had events this worker has not applied
 * yet: the log brings them again, and they are not for it.
 */
typedef struct {
    ngx_queue_t                queue;
    ngx_ws_socket_t           *socket;
    u_char                     id[NGX_WS_ID_LEN];
    uint64_t                   upto;
} ngx_ws_recovery_skip_t;


/* a claimed session in this worker, while its socket is let in */
typedef struct {
    ngx_queue_t                queue;
    ngx_ws_socket_t           *socket;
    uint64_t                   offset;
    uint32_t                   rooms_len;
    uint32_t                   data_len;
    u_char                     bytes[1];       /* rooms, then data */
} ngx_ws_recovery_claim_t;


static ngx_int_t ngx_ws_recovery_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void *ngx_ws_recovery_alloc(size_t size, ngx_uint_t sessions);
static void ngx_ws_recovery_drop_packet(ngx_uint_t full);
static void ngx_ws_recovery_drop_session(ngx_ws_recovery_session_t *rs,
    ngx_uint_t due);
static uint32_t ngx_ws_recovery_loc_key(ngx_ws_loc_conf_t *conf);
static size_t ngx_ws_recovery_info_len(u_char *info);
static void ngx_ws_recovery_timer_handler(ngx_event_t *ev);
static void ngx_ws_recovery_fire_handler(ngx_event_t *ev);
static void ngx_ws_recovery_fire(ngx_ws_recovery_session_t *rs);
static void ngx_ws_recovery_expire(void);
static ngx_int_t ngx_ws_recovery_parse_offset(u_char *p, size_t len,
    uint64_t *seq);
static ngx_int_t ngx_ws_recovery_string(u_char *p, u_char *end, u_char *buf,
    size_t size, size_t *len);
static ngx_ws_recovery_claim_t *ngx_ws_recovery_claim(ngx_ws_socket_t *sock,
    u_char *pid, uint64_t offset);
static ngx_ws_recovery_claim_t *ngx_ws_recovery_find(ngx_ws_socket_t *sock);
static u_char *ngx_ws_recovery_copy(ngx_ws_recovery_claim_t *claim,
    size_t *len);
static ngx_uint_t ngx_ws_recovery_selects(ngx_ws_op_t *op,
    ngx_ws_socket_t *sock, ngx_ws_recovery_claim_t *claim);
static ngx_uint_t ngx_ws_recovery_in(ngx_ws_bytes_t *names, size_t n,
    ngx_ws_socket_t *sock, ngx_ws_recovery_claim_t *claim);
static ngx_uint_t ngx_ws_recovery_replay(ngx_ws_socket_t *sock,
    ngx_ws_recovery_claim_t *claim, u_char *buf, size_t len);


static ngx_str_t  ngx_ws_recovery_zone_name = ngx_string("ngx_ws_recovery");

static ngx_slab_pool_t       *ngx_ws_recovery_shpool;
static ngx_ws_recovery_sh_t  *ngx_ws_recovery_sh;
static ngx_queue_t            ngx_ws_recovery_claims;
static ngx_queue_t            ngx_ws_recovery_skips;
static ngx_queue_t            ngx_ws_recovery_due;    /* disconnect calls
                                                         to make */
static ngx_event_t            ngx_ws_recovery_timer;
static ngx_event_t            ngx_ws_recovery_fire_ev;

/* how often a worker looks for windows that passed */
#define NGX_WS_RECOVERY_TICK  1000

static ngx_ws_recovery_counters_t  ngx_ws_recovery_none;

ngx_uint_t  ngx_ws_recovery_nskips;

static const char  *ngx_ws_recovery_reasons[] = {
    /* socket.io's RECOVERABLE_DISCONNECT_REASONS */
    "transport error",
    "transport close",
    "forced close",
    "ping timeout",
    "server shutting down",
    "forced server close",
    NULL
};


/* ------------------------------------------------------------ config */


char *
ngx_ws_recovery_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_main_conf_t *wmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (wmcf->recovery_size) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_recovery_zone\" must be at least %uz",
                           8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    wmcf->recovery_size = size;

    return NGX_CONF_OK;
}


char *
ngx_ws_recovery_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_str_t           *value;
    ngx_msec_t           window;
    ngx_ws_loc_conf_t  **loc;
    ngx_ws_main_conf_t  *wmcf;

    if (wlcf->recovery != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        wlcf->recovery = 0;
        wlcf->recovery_skip_hooks = 0;
        return NGX_CONF_OK;
    }

    window = ngx_parse_time(&value[1], 0);

    if (window == (ngx_msec_t) NGX_ERROR || window == 0) {
        return "has an invalid time";
    }

    wlcf->recovery = window;
    wlcf->recovery_skip_hooks = 0;

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "skip_hooks") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        wlcf->recovery_skip_hooks = 1;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_ws_module);

    if (window > wmcf->recovery_max) {
        wmcf->recovery_max = window;
    }

    /* where a deferred disconnect call finds its location again */

    if (wmcf->recovery_locs == NULL) {
        wmcf->recovery_locs = ngx_array_create(cf->pool, 4,
                                               sizeof(ngx_ws_loc_conf_t *));
        if (wmcf->recovery_locs == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    loc = ngx_array_push(wmcf->recovery_locs);
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    *loc = wlcf;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_ws_recovery_zone_add(ngx_conf_t *cf, ngx_ws_main_conf_t *wmcf)
{
    ngx_shm_zone_t  *shm_zone;

    if (wmcf->recovery_max && wmcf->recovery_size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_recovery\" needs \"ws_recovery_zone\" in "
                           "the http block");
        return NGX_ERROR;
    }

    if (wmcf->recovery_size == 0) {
        return NGX_OK;
    }

    shm_zone = ngx_shared_memory_add(cf, &ngx_ws_recovery_zone_name,
                                     wmcf->recovery_size, &ngx_ws_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_ws_recovery_zone_init;
    shm_zone->noreuse = 0;
    wmcf->recovery_zone = shm_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_recovery_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                 len;
    ngx_slab_pool_t       *shpool;
    ngx_ws_recovery_sh_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ws_recovery_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&sh->tree, &sh->sentinel, ngx_ws_id_rbtree_insert_value);
    ngx_queue_init(&sh->sessions_queue);
    ngx_queue_init(&sh->packets);

    if (RAND_bytes(sh->key, sizeof(sh->key)) != 1) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    shm_zone->data = sh;

    len = sizeof(" in ws_recovery_zone") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in ws_recovery_zone%Z");

    /* a full zone drops the oldest packets: no "no memory" alert */
    shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_ws_recovery_attach(ngx_cycle_t *cycle)
{
    ngx_ws_main_conf_t  *wmcf;

    ngx_queue_init(&ngx_ws_recovery_claims);
    ngx_queue_init(&ngx_ws_recovery_skips);
    ngx_queue_init(&ngx_ws_recovery_due);
    ngx_ws_recovery_nskips = 0;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_module);

    if (wmcf == NULL || wmcf->recovery_zone == NULL
        || ngx_ws_worker.sh == NULL)
    {
        return NGX_OK;
    }

    ngx_ws_recovery_shpool = (ngx_slab_pool_t *) wmcf->recovery_zone->shm.addr;
    ngx_ws_recovery_sh = wmcf->recovery_zone->data;

    ngx_shmtx_lock(&ngx_ws_recovery_shpool->mutex);

    /* the configuration loaded last says how long packets stay */
    ngx_ws_recovery_sh->window = wmcf->recovery_max;

    ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);

    ngx_ws_recovery_fire_ev.handler = ngx_ws_recovery_fire_handler;
    ngx_ws_recovery_fire_ev.log = cycle->log;

    if (wmcf->recovery_max) {
        /* the windows pass whether or not anything happens */
        ngx_ws_recovery_timer.handler = ngx_ws_recovery_timer_handler;
        ngx_ws_recovery_timer.log = cycle->log;
        ngx_ws_recovery_timer.cancelable = 1;
        ngx_add_timer(&ngx_ws_recovery_timer, NGX_WS_RECOVERY_TICK);
    }

    return NGX_OK;
}


/* The zone's counters, for the metrics; zeros without a zone. */

ngx_ws_recovery_counters_t *
ngx_ws_recovery_counters(void)
{
    if (ngx_ws_recovery_sh == NULL) {
        return &ngx_ws_recovery_none;
    }

    return &ngx_ws_recovery_sh->counters;
}


/* ------------------------------------------------------------ packets */


/*
 * An emit the log took as seq (rec, len: its bytes there); the log's
 * mutex is held, so packets are kept in the log's order.
 */

void
ngx_ws_recovery_log(ngx_ws_op_t *op, uint64_t seq, u_char *rec, size_t len)
{
    ngx_ws_recovery_sh_t      *sh;
    ngx_ws_recovery_packet_t  *pkt;

    sh = ngx_ws_recovery_sh;

    if (sh == NULL || op->type != NGX_WS_EMIT || sh->window == 0) {
        return;
    }

    ngx_shmtx_lock(&ngx_ws_recovery_shpool->mutex);

    if (ngx_memcmp(sh->log_uid, ngx_ws_worker.sh->uid,
                   NGX_WS_RECOVERY_TAG_LEN)
        != 0)
    {
        /* another log (ws_zone was made anew): its numbers mean nothing */

        while (!ngx_queue_empty(&sh->packets)) {
            ngx_ws_recovery_drop_packet(0);
        }

        ngx_memcpy(sh->log_uid, ngx_ws_worker.sh->uid,
                   NGX_WS_RECOVERY_TAG_LEN);
        sh->dropped = 0;
    }

    ngx_ws_recovery_expire();

    pkt = ngx_ws_recovery_alloc(offsetof(ngx_ws_recovery_packet_t, op) + len,
                                0);
    if (pkt == NULL) {
        /* larger than the zone: as if dropped at once */
        sh->dropped = seq;
        (void) ngx_atomic_fetch_add(&sh->counters.dropped, 1);
        ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);
        return;
    }

    pkt->seq = seq;
    pkt->at = ngx_current_msec;
    pkt->len = (uint32_t) len;
    ngx_memcpy(pkt->op, rec, len);

    ngx_queue_insert_tail(&sh->packets, &pkt->queue);
    (void) ngx_atomic_fetch_add(&sh->counters.packets, 1);

    ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);
}


/*
 * Memory from the zone, its mutex held: the oldest packets go first to
 * make room, then, for a session, the oldest sessions.
 */

static void *
ngx_ws_recovery_alloc(size_t size, ngx_uint_t sessions)
{
    void                  *p;
    ngx_queue_t           *q;
    ngx_ws_recovery_sh_t  *sh;

    sh = ngx_ws_recovery_sh;

    for ( ;; ) {
        p = ngx_slab_alloc_locked(ngx_ws_recovery_shpool, size);
        if (p) {
            return p;
        }

        if (!ngx_queue_empty(&sh->packets)) {
            ngx_ws_recovery_drop_packet(1);
            continue;
        }

        if (sessions && !ngx_queue_empty(&sh->sessions_queue)) {
            q = ngx_queue_head(&sh->sessions_queue);
            ngx_ws_recovery_drop_session(
                ngx_queue_data(q, ngx_ws_recovery_session_t, queue), 1);
            (void) ngx_atomic_fetch_add(&sh->counters.evicted, 1);
            continue;
        }

        return NULL;
    }
}


/* the oldest packet; full: for room, before its time (counted) */

static void
ngx_ws_recovery_drop_packet(ngx_uint_t full)
{
    ngx_queue_t               *q;
    ngx_ws_recovery_sh_t      *sh;
    ngx_ws_recovery_packet_t  *pkt;

    sh = ngx_ws_recovery_sh;

    q = ngx_queue_head(&sh->packets);
    pkt = ngx_queue_data(q, ngx_ws_recovery_packet_t, queue);

    if (pkt->seq > sh->dropped) {
        sh->dropped = pkt->seq;
    }

    ngx_queue_remove(q);
    ngx_slab_free_locked(ngx_ws_recovery_shpool, pkt);

    (void) ngx_atomic_fetch_add(&sh->counters.packets, -1);

    if (full) {
        (void) ngx_atomic_fetch_add(&sh->counters.dropped, 1);
    }
}


/*
 * A kept session goes; due: not recovered, so its disconnect call, if
 * any, is made now (copied out: it starts once the mutex is let go).
 */

static void
ngx_ws_recovery_drop_session(ngx_ws_recovery_session_t *rs, ngx_uint_t due)
{
    size_t                      size;
    ngx_ws_recovery_session_t  *copy;

    ngx_rbtree_delete(&ngx_ws_recovery_sh->tree, &rs->node);
    ngx_queue_remove(&rs->queue);

    if (due && rs->hook_len) {
        size = ngx_ws_recovery_session_size(rs);

        copy = ngx_alloc(size, ngx_cycle->log);

        if (copy) {
            ngx_memcpy(copy, rs, size);
            ngx_queue_insert_tail(&ngx_ws_recovery_due, &copy->queue);
            ngx_post_event(&ngx_ws_recovery_fire_ev, &ngx_posted_events);
        }
    }

    ngx_slab_free_locked(ngx_ws_recovery_shpool, rs);

    (void) ngx_atomic_fetch_add(&ngx_ws_recovery_sh->counters.sessions, -1);
}


/* What the windows let go: old packets, sessions past their time. */

static void
ngx_ws_recovery_expire(void)
{
    ngx_queue_t                *q;
    ngx_ws_recovery_sh_t       *sh;
    ngx_ws_recovery_packet_t   *pkt;
    ngx_ws_recovery_session_t  *rs;

    sh = ngx_ws_recovery_sh;

    while (!ngx_queue_empty(&sh->packets)) {
        q = ngx_queue_head(&sh->packets);
        pkt = ngx_queue_data(q, ngx_ws_recovery_packet_t, queue);

        if ((ngx_msec_int_t) (ngx_current_msec - pkt->at)
            <= (ngx_msec_int_t) sh->window)
        {
            break;
        }

        ngx_ws_recovery_drop_packet(0);
    }

    /* kept in the order they left; windows differ, so roughly */

    while (!ngx_queue_empty(&sh->sessions_queue)) {
        q = ngx_queue_head(&sh->sessions_queue);
        rs = ngx_queue_data(q, ngx_ws_recovery_session_t, queue);

        if ((ngx_msec_int_t) (rs->expire - ngx_current_msec) >= 0) {
            break;
        }

        if (rs->hook_len && (ngx_exiting || ngx_quit)) {
            /* its call is for a worker that stays */
            break;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws recovery: session %*s expired",
                       (size_t) NGX_WS_ID_LEN, rs->sid);

        ngx_ws_recovery_drop_session(rs, 1);
        (void) ngx_atomic_fetch_add(&sh->counters.expired, 1);
    }
}


u_char *
ngx_ws_recovery_offset(u_char *p, uint64_t seq)
{
    p = ngx_sprintf(p, "%uL-", seq);

    return ngx_cpymem(p, ngx_ws_worker.sh->uid, NGX_WS_RECOVERY_TAG_LEN);
}


static ngx_int_t
ngx_ws_recovery_parse_offset(u_char *p, size_t len, uint64_t *seq)
{
    u_char    *dash;
    uint64_t   n;

    dash = ngx_strlchr(p, p + len, '-');

    if (dash == NULL || dash == p || (size_t) (dash - p) > NGX_INT64_LEN - 1
        || (size_t) (p + len - (dash + 1)) != NGX_WS_RECOVERY_TAG_LEN
        || ngx_memcmp(dash + 1, ngx_ws_worker.sh->uid,
                      NGX_WS_RECOVERY_TAG_LEN)
           != 0)
    {
        return NGX_DECLINED;
    }

    for (n = 0; p < dash; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_DECLINED;
        }

        n = n * 10 + (*p - '0');
    }

    *seq = n;

    return NGX_OK;
}


/* ------------------------------------------------------------ sessions */


/* The socket's private id: 15 bytes of HMAC of its id, as base64url. */

u_char *
ngx_ws_recovery_pid(ngx_ws_socket_t *sock, u_char *pid)
{
    unsigned int  mdlen;
    ngx_str_t     src, dst;
    u_char        md[EVP_MAX_MD_SIZE];

    if (ngx_ws_recovery_sh == NULL
        || HMAC(EVP_sha256(), ngx_ws_recovery_sh->key,
                sizeof(ngx_ws_recovery_sh->key), sock->id, NGX_WS_ID_LEN,
                md, &mdlen)
           == NULL)
    {
        return NULL;
    }

    src.data = md;
    src.len = NGX_WS_ID_RAW;
    dst.data = pid;

    ngx_encode_base64url(&dst, &src);

    return pid + NGX_WS_ID_LEN;
}


/*
 * A socket of a ws_recovery location leaves: for socket.io's recoverable
 * reasons its id, rooms and data wait in the zone for its window.  With a
 * disconnect hook, its call waits too, made now (the socket is going)
 * and sent only if the window passes without recovery: NGX_OK then, and
 * the caller does not call it now.
 */

ngx_int_t
ngx_ws_recovery_persist(ngx_ws_socket_t *sock, const char *reason)
{
    u_char                     *p;
    size_t                      rooms_len, data_len, info_len, hook_len;
    ngx_uint_t                  i;
    ngx_ws_hooks_t             *hooks;
    ngx_ws_member_t            *m;
    ngx_ws_loc_conf_t          *conf;
    ngx_ws_recovery_sh_t       *sh;
    ngx_ws_recovery_session_t  *rs;
    u_char                      pid[NGX_WS_ID_LEN];

    conf = sock->session->conf;
    hooks = sock->session->hooks;
    sh = ngx_ws_recovery_sh;

    if (sh == NULL || conf->recovery == 0 || reason == NULL) {
        return NGX_DECLINED;
    }

    for (i = 0; ngx_ws_recovery_reasons[i]; i++) {
        if (ngx_strcmp(reason, ngx_ws_recovery_reasons[i]) == 0) {
            break;
        }
    }

    if (ngx_ws_recovery_reasons[i] == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_ws_recovery_pid(sock, pid) == NULL) {
        return NGX_DECLINED;
    }

    rooms_len = 0;

    for (m = sock->rooms; m; m = m->next) {
        if (m->room->node.str.len <= 0xffff) {
            rooms_len += 2 + m->room->node.str.len;
        }
    }

    data_len = (sock->data && !sock->data_is_auth) ? sock->data_len : 0;

    info_len = 0;
    hook_len = 0;

    if (hooks && conf->hook_disconnect.len) {
        info_len = ngx_ws_recovery_info_len(hooks->info);
        hook_len = ngx_ws_hook_disconnect_len(sock, reason);
    }

    ngx_shmtx_lock(&ngx_ws_recovery_shpool->mutex);

    ngx_ws_recovery_expire();

    rs = ngx_ws_recovery_alloc(offsetof(ngx_ws_recovery_session_t, bytes)
                               + sock->nsp->name.len + rooms_len + data_len
                               + (hook_len ? hooks->socklen
                                             + hooks->local_socklen : 0)
                               + info_len + hook_len,
                               1);
    if (rs == NULL) {
        (void) ngx_atomic_fetch_add(&sh->counters.evicted, 1);
        ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_memcpy(rs->pid, pid, NGX_WS_ID_LEN);
    ngx_memcpy(rs->sid, sock->id, NGX_WS_ID_LEN);
    rs->node.key = ngx_crc32_short(pid, NGX_WS_ID_LEN);
    rs->expire = ngx_current_msec + conf->recovery;
    rs->nsp_len = (uint32_t) sock->nsp->name.len;
    rs->rooms_len = (uint32_t) rooms_len;
    rs->data_len = (uint32_t) data_len;
    rs->loc = ngx_ws_recovery_loc_key(conf);
    rs->info_len = (uint32_t) info_len;
    rs->socklen = 0;
    rs->local_socklen = 0;

    p = ngx_cpymem(rs->bytes, sock->nsp->name.data, sock->nsp->name.len);

    for (m = sock->rooms; m; m = m->next) {
        if (m->room->node.str.len <= 0xffff) {
            *p++ = (u_char) (m->room->node.str.len >> 8);
            *p++ = (u_char) m->room->node.str.len;
            p = ngx_cpymem(p, m->room->node.str.data, m->room->node.str.len);
        }
    }

    if (data_len) {
        p = ngx_cpymem(p, sock->data, data_len);
    }

    if (hook_len) {
        rs->socklen = (uint16_t) hooks->socklen;
        rs->local_socklen = (uint16_t) hooks->local_socklen;
        p = ngx_cpymem(p, &hooks->sockaddr, hooks->socklen);
        p = ngx_cpymem(p, &hooks->local_sockaddr, hooks->local_socklen);
        p = ngx_cpymem(p, hooks->info, info_len);
        hook_len = ngx_ws_hook_disconnect_write(p, sock, reason) - p;
    }

    rs->hook_len = (uint32_t) hook_len;

    /* a pid is one socket's: a stale entry of it cannot be left */

    if (ngx_ws_id_rbtree_lookup(&sh->tree, pid) == NULL) {
        ngx_rbtree_insert(&sh->tree, &rs->node);
        ngx_queue_insert_tail(&sh->sessions_queue, &rs->queue);
        (void) ngx_atomic_fetch_add(&sh->counters.persisted, 1);
        (void) ngx_atomic_fetch_add(&sh->counters.sessions, 1);

    } else {
        ngx_slab_free_locked(ngx_ws_recovery_shpool, rs);
        hook_len = 0;
    }

    ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(sock->session), 0,
                   "ws recovery: socket %*s kept, disconnect hook %s",
                   (size_t) NGX_WS_ID_LEN, sock->id,
                   hook_len ? "deferred" : "not deferred");

    return hook_len ? NGX_OK : NGX_DECLINED;
}


/* "address\0name\0value\0...\0": its length, the last NUL included */

static size_t
ngx_ws_recovery_info_len(u_char *info)
{
    u_char  *p;

    p = info + ngx_strlen(info) + 1;

    while (*p) {
        p += ngx_strlen(p) + 1;
        p += ngx_strlen(p) + 1;
    }

    return p + 1 - info;
}


/*
 * A location the same across configurations: its server's name and its
 * own.  A call deferred past a reload runs in the new configuration's.
 */

static uint32_t
ngx_ws_recovery_loc_key(ngx_ws_loc_conf_t *conf)
{
    uint32_t                   crc;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_core_srv_conf_t  *cscf;

    if (conf->ctx == NULL) {
        /* ws_recovery where no ws_socketio is: no socket comes from it */
        return 0;
    }

    clcf = conf->ctx->loc_conf[ngx_http_core_module.ctx_index];
    cscf = conf->ctx->srv_conf[ngx_http_core_module.ctx_index];

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, cscf->server_name.data, cscf->server_name.len);
    ngx_crc32_update(&crc, (u_char *) "", 1);
    ngx_crc32_update(&crc, clcf->name.data, clcf->name.len);
    ngx_crc32_final(crc);

    return crc;
}


static void
ngx_ws_recovery_timer_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_quit) {
        return;
    }

    ngx_shmtx_lock(&ngx_ws_recovery_shpool->mutex);
    ngx_ws_recovery_expire();
    ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);

    ngx_add_timer(ev, NGX_WS_RECOVERY_TICK);
}


static void
ngx_ws_recovery_fire_handler(ngx_event_t *ev)
{
    ngx_queue_t                *q;
    ngx_ws_recovery_session_t  *rs;

    while (!ngx_queue_empty(&ngx_ws_recovery_due)) {
        q = ngx_queue_head(&ngx_ws_recovery_due);
        ngx_queue_remove(q);

        rs = ngx_queue_data(q, ngx_ws_recovery_session_t, queue);

        ngx_ws_recovery_fire(rs);
        ngx_free(rs);
    }
}


/*
 * The disconnect call of a session not recovered in its window, with this
 * configuration's hook for its location, the client's address and the
 * handshake's headers as they were.
 */

static void
ngx_ws_recovery_fire(ngx_ws_recovery_session_t *rs)
{
    u_char               *p;
    ngx_uint_t            i;
    ngx_listening_t      *ls;
    ngx_ws_hooks_t       *hooks;
    ngx_ws_loc_conf_t   **loc, *conf;
    ngx_ws_main_conf_t   *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle, ngx_ws_module);

    conf = NULL;
    loc = wmcf->recovery_locs ? wmcf->recovery_locs->elts : NULL;

    for (i = 0; loc && i < wmcf->recovery_locs->nelts; i++) {
        if (ngx_ws_recovery_loc_key(loc[i]) == rs->loc) {
            conf = loc[i];
            break;
        }
    }

    if (conf == NULL || conf->hook_disconnect.len == 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ws: the disconnect hook of socket %*s is not called: "
                      "its location has none now",
                      (size_t) NGX_WS_ID_LEN, rs->sid);
        return;
    }

    hooks = ngx_calloc(offsetof(ngx_ws_hooks_t, info) + rs->info_len,
                       ngx_cycle->log);
    if (hooks == NULL) {
        return;
    }

    p = rs->bytes + rs->nsp_len + rs->rooms_len + rs->data_len;

    hooks->socklen = rs->socklen;
    ngx_memcpy(&hooks->sockaddr, p, rs->socklen);
    p += rs->socklen;
    hooks->local_socklen = rs->local_socklen;
    ngx_memcpy(&hooks->local_sockaddr, p, rs->local_socklen);
    p += rs->local_socklen;
    ngx_memcpy(hooks->info, p, rs->info_len);
    p += rs->info_len;

    /* the listening socket the client came in on, or one like it */

    ls = ngx_cycle->listening.elts;
    hooks->listening = &ls[0];

    for (i = 0; i < ngx_cycle->listening.nelts; i++) {
        if (ngx_cmp_sockaddr(ls[i].sockaddr, ls[i].socklen,
                             &hooks->local_sockaddr.sockaddr,
                             hooks->local_socklen, 1)
            == NGX_OK)
        {
            hooks->listening = &ls[i];
            break;
        }
    }

    hooks->conf = conf;
    ngx_memcpy(hooks->sid, rs->sid, NGX_WS_ID_LEN);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws recovery: socket %*s not recovered in its window, "
                   "disconnect hook called", (size_t) NGX_WS_ID_LEN,
                   rs->sid);

    (void) ngx_ws_hook_deferred(hooks, p, rs->hook_len);
}


/*
 * A CONNECT to a ws_recovery location: with "pid" and "offset" strings in
 * its payload that name a kept session of this namespace, the socket
 * takes that session's id and the session is claimed (NGX_OK); it comes
 * back when the socket is let in (ngx_ws_recovery_restore()).
 */

ngx_int_t
ngx_ws_recovery_connect(ngx_ws_socket_t *sock, u_char *auth, size_t len)
{
    u_char                   *v, *v_end, *end;
    size_t                    n;
    uint64_t                  offset;
    ngx_ws_recovery_claim_t  *claim;
    u_char                    pid[NGX_WS_ID_LEN];
    u_char                    buf[NGX_WS_RECOVERY_OFFSET_LEN];

    if (ngx_ws_recovery_sh == NULL || sock->session->conf->recovery == 0
        || len == 0)
    {
        return NGX_DECLINED;
    }

    end = auth + len;

    v = ngx_ws_json_member(auth, end, "pid", &v_end);

    if (v == NULL || *v != '"') {
        return NGX_DECLINED;
    }

    if (ngx_ws_recovery_string(v, v_end, pid, sizeof(pid), &n) != NGX_OK
        || n != NGX_WS_ID_LEN)
    {
        goto fresh;
    }

    v = ngx_ws_json_member(auth, end, "offset", &v_end);

    if (v == NULL || *v != '"') {
        /* no event came before it left: socket.io starts afresh too */
        return NGX_DECLINED;
    }

    if (ngx_ws_recovery_string(v, v_end, buf, sizeof(buf), &n) != NGX_OK
        || ngx_ws_recovery_parse_offset(buf, n, &offset) != NGX_OK)
    {
        goto fresh;
    }

    claim = ngx_ws_recovery_claim(sock, pid, offset);

    if (claim == NULL) {
        goto fresh;
    }

    claim->socket = sock;
    ngx_queue_insert_tail(&ngx_ws_recovery_claims, &claim->queue);
    sock->recovering = 1;

    return NGX_OK;

fresh:

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(sock->session), 0,
                   "ws recovery: not recovered, a fresh socket");

    (void) ngx_atomic_fetch_add(&ngx_ws_recovery_sh->counters.not_recovered,
                                1);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_ws_recovery_string(u_char *p, u_char *end, u_char *buf, size_t size,
    size_t *len)
{
    /* a JSON string token, at most size bytes once decoded */

    if ((size_t) (end - p) > size + 2) {
        return NGX_DECLINED;
    }

    *len = ngx_ws_json_string_decode(p, end, buf);

    return (*len <= size) ? NGX_OK : NGX_DECLINED;
}


/* The kept session of pid, taken out of the zone; sock gets its id. */

static ngx_ws_recovery_claim_t *
ngx_ws_recovery_claim(ngx_ws_socket_t *sock, u_char *pid, uint64_t offset)
{
    ngx_ws_recovery_sh_t       *sh;
    ngx_ws_recovery_claim_t    *claim;
    ngx_ws_recovery_session_t  *rs;

    sh = ngx_ws_recovery_sh;
    claim = NULL;

    ngx_shmtx_lock(&ngx_ws_recovery_shpool->mutex);

    ngx_ws_recovery_expire();

    rs = (ngx_ws_recovery_session_t *) ngx_ws_id_rbtree_lookup(&sh->tree,
                                                                pid);

    if (rs == NULL
        || rs->nsp_len != sock->nsp->name.len
        || ngx_memcmp(rs->bytes, sock->nsp->name.data, rs->nsp_len) != 0
        || offset < sh->dropped
        || offset >= ngx_ws_worker.sh->next_seq
        || ngx_memcmp(sh->log_uid, ngx_ws_worker.sh->uid,
                      NGX_WS_RECOVERY_TAG_LEN)
           != 0)
    {
        goto done;
    }

    claim = ngx_alloc(offsetof(ngx_ws_recovery_claim_t, bytes)
                      + rs->rooms_len + rs->data_len, ngx_cycle->log);
    if (claim == NULL) {
        goto done;
    }

    claim->offset = offset;
    claim->rooms_len = rs->rooms_len;
    claim->data_len = rs->data_len;
    ngx_memcpy(claim->bytes, rs->bytes + rs->nsp_len,
               rs->rooms_len + rs->data_len);

    ngx_memcpy(sock->id, rs->sid, NGX_WS_ID_LEN);

    /* recovered once; the app never hears it left */
    ngx_ws_recovery_drop_session(rs, 0);

done:

    ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);

    return claim;
}


static ngx_ws_recovery_claim_t *
ngx_ws_recovery_find(ngx_ws_socket_t *sock)
{
    ngx_queue_t              *q;
    ngx_ws_recovery_claim_t  *claim;

    for (q = ngx_queue_head(&ngx_ws_recovery_claims);
         q != ngx_queue_sentinel(&ngx_ws_recovery_claims);
         q = ngx_queue_next(q))
    {
        claim = ngx_queue_data(q, ngx_ws_recovery_claim_t, queue);

        if (claim->socket == sock) {
            return claim;
        }
    }

    return NULL;
}


/* A claimed socket that never got in: its session is gone, as in socket.io */

void
ngx_ws_recovery_release(ngx_ws_socket_t *sock)
{
    ngx_ws_recovery_claim_t  *claim;

    claim = ngx_ws_recovery_find(sock);

    if (claim) {
        ngx_queue_remove(&claim->queue);
        ngx_free(claim);
    }

    sock->recovering = 0;
}


/*
 * The claimed socket is let in: its data (unless the connect hook set
 * other data), its rooms, and the packets it missed, sent before its
 * CONNECT as socket.io sends them.  Packets up to what this worker has
 * applied come from the zone; the later ones reach it through the log.
 * Should the zone have let go of some meanwhile, the socket starts afresh
 * with a new id.
 */

void
ngx_ws_recovery_restore(ngx_ws_socket_t *sock)
{
    u_char                   *p, *end, *buf, *data;
    size_t                    len, n;
    ngx_str_t                 name;
    ngx_uint_t                replayed;
    ngx_ws_recovery_skip_t   *skip;
    ngx_ws_recovery_claim_t  *claim;

    claim = ngx_ws_recovery_find(sock);

    sock->recovering = 0;

    if (claim == NULL) {
        return;
    }

    ngx_queue_remove(&claim->queue);

    buf = ngx_ws_recovery_copy(claim, &len);

    if (buf == NULL) {
        ngx_log_error(NGX_LOG_INFO, ngx_ws_session_log(sock->session), 0,
                      "ws: socket %*s not recovered: its packets are gone",
                      (size_t) NGX_WS_ID_LEN, sock->id);

        (void) ngx_atomic_fetch_add(
                            &ngx_ws_recovery_sh->counters.not_recovered, 1);

        (void) ngx_ws_id_generate(sock->id);
        ngx_free(claim);
        return;
    }

    if (claim->data_len && (sock->data == NULL || sock->data_is_auth)) {
        data = ngx_alloc(claim->data_len, ngx_cycle->log);

        if (data) {
            ngx_memcpy(data, claim->bytes + claim->rooms_len,
                       claim->data_len);

            if (sock->data) {
                ngx_free(sock->data);
            }

            sock->data = data;
            sock->data_len = claim->data_len;
            sock->data_is_auth = 0;
        }
    }

    p = claim->bytes;
    end = p + claim->rooms_len;

    while (p + 2 <= end) {
        n = ((size_t) p[0] << 8) | p[1];
        p += 2;

        if (n > (size_t) (end - p)) {
            break;
        }

        name.data = p;
        name.len = n;
        p += n;

        if (ngx_ws_room_join(sock, &name) == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ngx_ws_session_log(sock->session), 0,
                          "ws: a recovered socket's room is lost for want "
                          "of memory");
        }
    }

    replayed = ngx_ws_recovery_replay(sock, claim, buf, len);

    if (claim->offset > ngx_ws_worker.applied) {
        /* the client is ahead of this worker: what it has, it gets not */
        skip = ngx_alloc(sizeof(ngx_ws_recovery_skip_t), ngx_cycle->log);

        if (skip) {
            skip->socket = sock;
            ngx_memcpy(skip->id, sock->id, NGX_WS_ID_LEN);
            skip->upto = claim->offset;
            ngx_queue_insert_tail(&ngx_ws_recovery_skips, &skip->queue);
            ngx_ws_recovery_nskips++;
        }
    }

    (void) ngx_atomic_fetch_add(&ngx_ws_recovery_sh->counters.recovered, 1);
    (void) ngx_atomic_fetch_add(&ngx_ws_recovery_sh->counters.replayed,
                                replayed);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_ws_session_log(sock->session), 0,
                   "ws recovery: socket %*s recovered, %ui packets replayed",
                   (size_t) NGX_WS_ID_LEN, sock->id, replayed);

    if (buf != (u_char *) claim) {
        ngx_free(buf);
    }

    ngx_free(claim);
}


/*
 * Whether the event seq, being applied, is one a recovered socket's client
 * had already (ngx_ws_recovery_nskips is not 0).  Entries the log went
 * past go; a socket freed meanwhile no longer has its id there.
 */

ngx_uint_t
ngx_ws_recovery_skip(ngx_ws_socket_t *sock, uint64_t seq)
{
    ngx_uint_t               had;
    ngx_queue_t             *q, *next;
    ngx_ws_recovery_skip_t  *skip;

    had = 0;

    for (q = ngx_queue_head(&ngx_ws_recovery_skips);
         q != ngx_queue_sentinel(&ngx_ws_recovery_skips);
         q = next)
    {
        next = ngx_queue_next(q);
        skip = ngx_queue_data(q, ngx_ws_recovery_skip_t, queue);

        if (skip->upto < seq) {
            ngx_queue_remove(q);
            ngx_free(skip);
            ngx_ws_recovery_nskips--;
            continue;
        }

        if (skip->socket == sock
            && ngx_memcmp(skip->id, sock->id, NGX_WS_ID_LEN) == 0)
        {
            had = 1;
        }
    }

    if (had) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws recovery: op %uL not sent again to %*s", seq,
                       (size_t) NGX_WS_ID_LEN, sock->id);
    }

    return had;
}


/*
 * The packets after the claim's offset, up to what this worker applied,
 * copied out as (seq, len, op) records; NULL when some of them are gone.
 * An empty copy is the claim itself, so that NULL means only that.
 */

static u_char *
ngx_ws_recovery_copy(ngx_ws_recovery_claim_t *claim, size_t *len)
{
    u_char                    *buf, *p;
    size_t                     size;
    uint64_t                   applied;
    ngx_queue_t               *q;
    ngx_ws_recovery_sh_t      *sh;
    ngx_ws_recovery_packet_t  *pkt;

    sh = ngx_ws_recovery_sh;
    applied = ngx_ws_worker.applied;
    size = 0;
    buf = NULL;

    ngx_shmtx_lock(&ngx_ws_recovery_shpool->mutex);

    if (claim->offset < sh->dropped
        || ngx_memcmp(sh->log_uid, ngx_ws_worker.sh->uid,
                      NGX_WS_RECOVERY_TAG_LEN)
           != 0)
    {
        goto done;
    }

    for (q = ngx_queue_last(&sh->packets);
         q != ngx_queue_sentinel(&sh->packets);
         q = ngx_queue_prev(q))
    {
        pkt = ngx_queue_data(q, ngx_ws_recovery_packet_t, queue);

        if (pkt->seq <= claim->offset) {
            break;
        }

        if (pkt->seq <= applied) {
            size += ngx_align(offsetof(ngx_ws_recovery_packet_t, op)
                              + pkt->len, 8);
        }
    }

    if (size == 0) {
        buf = (u_char *) claim;
        goto done;
    }

    buf = ngx_alloc(size, ngx_cycle->log);
    if (buf == NULL) {
        goto done;
    }

    p = buf;

    for (q = ngx_queue_next(q);
         q != ngx_queue_sentinel(&sh->packets);
         q = ngx_queue_next(q))
    {
        pkt = ngx_queue_data(q, ngx_ws_recovery_packet_t, queue);

        if (pkt->seq > applied) {
            break;
        }

        p = ngx_cpymem(p, pkt, offsetof(ngx_ws_recovery_packet_t, op));
        p = ngx_cpymem(p, pkt->op, pkt->len);
        p = ngx_align_ptr(p, 8);
    }

    size = p - buf;

done:

    ngx_shmtx_unlock(&ngx_ws_recovery_shpool->mutex);

    *len = (buf == (u_char *) claim) ? 0 : size;

    return buf;
}


static ngx_uint_t
ngx_ws_recovery_replay(ngx_ws_socket_t *sock, ngx_ws_recovery_claim_t *claim,
    u_char *buf, size_t len)
{
    u_char                    *p, *end;
    unsigned                   form;
    ngx_uint_t                 n;
    ngx_pool_t                *pool;
    ngx_ws_op_t                op;
    ngx_ws_msg_t              *msg;
    ngx_ws_event_t             ev;
    ngx_ws_recovery_packet_t  *pkt;

    if (len == 0) {
        return 0;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return 0;
    }

    form = NGX_WS_MSG_OFFSET | (sock->session->b64 ? NGX_WS_MSG_B64 : 0);
    n = 0;
    end = buf + len;

    for (p = buf; p < end; /* void */) {
        pkt = (ngx_ws_recovery_packet_t *) p;
        p = ngx_align_ptr(p + offsetof(ngx_ws_recovery_packet_t, op)
                          + pkt->len, 8);

        if (ngx_ws_op_read(pkt->op, pkt->len, &op, ngx_ws_pool_alloc, pool)
            != 0)
        {
            continue;
        }

        if (!ngx_ws_recovery_selects(&op, sock, claim)) {
            continue;
        }

        op.seq = pkt->seq;

        ngx_memzero(&ev, sizeof(ngx_ws_event_t));
        ev.op = &op;

        msg = ngx_ws_event_msg(&ev, form);

        if (msg && ngx_ws_session_send(sock->session, msg) == NGX_OK) {
            n++;
        }

        ngx_ws_event_release(&ev);
    }

    ngx_destroy_pool(pool);

    return n;
}


/* socket.io's shouldIncludePacket(), the socket's id one of its rooms */

static ngx_uint_t
ngx_ws_recovery_selects(ngx_ws_op_t *op, ngx_ws_socket_t *sock,
    ngx_ws_recovery_claim_t *claim)
{
    if (op->nsp.len != sock->nsp->name.len
        || ngx_memcmp(op->nsp.data, sock->nsp->name.data, op->nsp.len) != 0)
    {
        return 0;
    }

    if (op->nrooms && !ngx_ws_recovery_in(op->rooms, op->nrooms, sock, claim))
    {
        return 0;
    }

    return !ngx_ws_recovery_in(op->except, op->nexcept, sock, claim);
}


static ngx_uint_t
ngx_ws_recovery_in(ngx_ws_bytes_t *names, size_t n, ngx_ws_socket_t *sock,
    ngx_ws_recovery_claim_t *claim)
{
    u_char  *p, *end;
    size_t   i, len;

    for (i = 0; i < n; i++) {
        if (names[i].len == NGX_WS_ID_LEN
            && ngx_memcmp(names[i].data, sock->id, NGX_WS_ID_LEN) == 0)
        {
            return 1;
        }

        p = claim->bytes;
        end = p + claim->rooms_len;

        while (p + 2 <= end) {
            len = ((size_t) p[0] << 8) | p[1];
            p += 2;

            if (len > (size_t) (end - p)) {
                break;
            }

            if (len == names[i].len && ngx_memcmp(p, names[i].data, len) == 0)
            {
                return 1;
            }

            p += len;
        }
    }

    return 0;
}
