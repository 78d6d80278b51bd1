
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <sys/un.h>

#include "ngx_ws_metrics.h"
#include "ngx_ws_recovery.h"


/*
 * Operations between the workers of a host.  The zone holds one ordered
 * log of operation records, a ring: the worker that accepts an operation
 * appends it (encoded once: an emit's packet travels as bytes), wakes the
 * others and applies it to its own sockets at once; every other worker
 * applies the records it has not seen, in log order, when woken.  Before
 * applying its own record a worker applies those logged before it, so
 * every client sees operations in the order the host accepted them.
 *
 * The wake-up is a datagram to a socket in the abstract namespace named
 * after the worker's pid: any worker can reach any other, of this
 * configuration or the previous one, with no descriptor passed between
 * them.  Its content means nothing; what to do is in the log.
 *
 * A worker that falls behind by more than the ring holds finds the gap,
 * logs it and closes its clients with 1011, so that they reconnect.
 */


/* a record in the ring, 8-byte aligned, followed by the op as bytes */
typedef struct {
    uint64_t                   seq;            /* 0: the ring wraps here */
    uint32_t                   len;
    ngx_pid_t                  pid;            /* applied it already */
} ngx_ws_rec_t;


#define NGX_WS_REC_SIZE(len)   ngx_align(sizeof(ngx_ws_rec_t) + (len), 8)

/* what one worker copies out of the ring per hold of the mutex */
#define NGX_WS_COPY_BUDGET     (256 * 1024)


static ngx_int_t ngx_ws_broker_append(ngx_ws_op_t *op, uint64_t *seq);
static void ngx_ws_log_make_room(ngx_ws_sh_t *sh, size_t need);
static void ngx_ws_broker_wake(void);
static void ngx_ws_broker_sync(uint64_t upto);
static ngx_int_t ngx_ws_broker_copy(uint64_t upto, u_char **buf,
    size_t *len, uint64_t *missed);
static void ngx_ws_broker_apply(u_char *buf, size_t len);
static void ngx_ws_broker_gap(uint64_t missed);
static void ngx_ws_broker_wake_handler(ngx_event_t *rev);
static socklen_t ngx_ws_broker_address(struct sockaddr_un *sun,
    ngx_pid_t pid, u_char *wake);


/*
 * Applies an operation accepted here, and has every other worker apply
 * it.  *matched counts this worker's sockets only.
 */

ngx_int_t
ngx_ws_broker_publish(ngx_ws_op_t *op, ngx_pool_t *pool,
    ngx_uint_t *matched)
{
    ngx_int_t  rc;
    uint64_t   seq;

    *matched = 0;

    /* every operation of another host passes here, from either adapter */

    if (op->flags & NGX_WS_OP_FROM_REDIS) {
        ngx_ws_metric_add(NGX_WS_M_REDIS_RECEIVED, 1);
    }

    if (ngx_ws_nsp_find(op->nsp.data, op->nsp.len) == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_ws_worker.sh == NULL) {
        op->seq = 0;
        return ngx_ws_apply(op, pool, matched);
    }

    rc = ngx_ws_broker_append(op, &seq);

    if (rc == NGX_OK) {
        /* the other hosts, if this worker talks to Redis for this one */
        ngx_ws_redis_forward(op);
    }
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_ws_broker_wake();

    /* what the host accepted before goes first; our own record is skipped */
    ngx_ws_broker_sync(seq);

    op->seq = seq;

    return ngx_ws_apply(op, pool, matched);
}


/*
 * A relay record: for one worker, applied by no other, so not here; the
 * log keeps it in order with the operations around it.
 */

ngx_int_t
ngx_ws_broker_relay(ngx_ws_op_t *op)
{
    ngx_int_t  rc;
    uint64_t   seq;

    if (ngx_ws_worker.sh == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_ws_broker_append(op, &seq);
    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_ws_broker_wake();

    return NGX_OK;
}


static ngx_int_t
ngx_ws_broker_append(ngx_ws_op_t *op, uint64_t *seq)
{
    size_t          len, need, waste;
    ngx_ws_sh_t    *sh;
    ngx_ws_rec_t   *rec;

    sh = ngx_ws_worker.sh;

    len = ngx_ws_op_size(op);
    need = NGX_WS_REC_SIZE(len);

    if (need > sh->size / 2) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: an operation of %uz bytes does not fit the log "
                      "of ws_zone (%uz bytes at most)", len, sh->size / 2);
        return NGX_BUSY;
    }

    ngx_shmtx_lock(&ngx_ws_worker.shpool->mutex);

    if (sh->head + need > sh->size) {

        /* the end of the ring is too short: start over at its beginning */

        waste = sh->size - sh->head;
        ngx_ws_log_make_room(sh, waste + need);

        if (waste >= sizeof(ngx_ws_rec_t)) {
            rec = (ngx_ws_rec_t *) (sh->ring + sh->head);
            rec->seq = 0;
        }

        sh->used += waste;
        sh->head = 0;

    } else {
        ngx_ws_log_make_room(sh, need);
    }

    if (sh->head == 0) {
        sh->wrap_seq = sh->next_seq;
    }

    rec = (ngx_ws_rec_t *) (sh->ring + sh->head);
    (void) ngx_ws_op_write(op, (u_char *) (rec + 1));
    rec->len = (uint32_t) len;
    rec->pid = ngx_pid;
    rec->seq = sh->next_seq;

    /* kept for recovery in log order: under the log's mutex */
    ngx_ws_recovery_log(op, sh->next_seq, (u_char *) (rec + 1), len);

    *seq = sh->next_seq++;
    sh->used += need;
    sh->head += need;

    if (sh->head == sh->size) {
        sh->head = 0;
    }

    ngx_shmtx_unlock(&ngx_ws_worker.shpool->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "ws broker: logged op %uL, %uz bytes", *seq, len);

    return NGX_OK;
}


/* Drops the oldest records until need bytes are free; the mutex is held. */

static void
ngx_ws_log_make_room(ngx_ws_sh_t *sh, size_t need)
{
    size_t         rsize;
    ngx_ws_rec_t  *rec;

    while (sh->size - sh->used < need) {

        rec = (ngx_ws_rec_t *) (sh->ring + sh->tail);

        if (sh->size - sh->tail < sizeof(ngx_ws_rec_t) || rec->seq == 0) {
            sh->used -= sh->size - sh->tail;
            sh->tail = 0;
            continue;
        }

        rsize = NGX_WS_REC_SIZE(rec->len);

        sh->used -= rsize;
        sh->tail += rsize;
        sh->first_seq = rec->seq + 1;

        if (sh->tail == sh->size) {
            sh->tail = 0;
        }
    }
}


static void
ngx_ws_broker_wake(void)
{
    ngx_uint_t           i, n;
    ngx_ws_sh_t         *sh;
    socklen_t            len;
    struct sockaddr_un   sun;
    ngx_pid_t            pids[NGX_WS_ZONE_SLOTS];
    u_char               wakes[NGX_WS_ZONE_SLOTS][NGX_WS_ID_LEN];

    sh = ngx_ws_worker.sh;
    n = 0;

    ngx_shmtx_lock(&ngx_ws_worker.shpool->mutex);

    for (i = 0; i < NGX_WS_ZONE_SLOTS; i++) {
        if (sh->slots[i].pid && sh->slots[i].pid != ngx_pid
            && sh->slots[i].wake[0])
        {
            pids[n] = sh->slots[i].pid;
            ngx_memcpy(wakes[n], sh->slots[i].wake, NGX_WS_ID_LEN);
            n++;
        }
    }

    ngx_shmtx_unlock(&ngx_ws_worker.shpool->mutex);

    for (i = 0; i < n; i++) {
        len = ngx_ws_broker_address(&sun, pids[i], wakes[i]);

        /*
         * A full queue means a wake-up is pending already; a socket that
         * is not there is a worker starting or gone (reaped when the
         * master starts another).
         */

        if (sendto(ngx_ws_worker.wake->fd, "w", 1, MSG_DONTWAIT,
                   (struct sockaddr *) &sun, len)
            == -1)
        {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, ngx_errno,
                           "ws broker: no wake-up for %P (%d)", pids[i],
                           ngx_errno);
        }
    }
}


/*
 * Applies the records of the other workers up to seq upto, in order,
 * copied out of the ring a part at a time.
 */

static void
ngx_ws_broker_sync(uint64_t upto)
{
    u_char     *buf;
    size_t      len;
    uint64_t    missed;
    ngx_int_t   more;

    do {
        missed = 0;

        more = ngx_ws_broker_copy(upto, &buf, &len, &missed);

        if (missed) {
            ngx_ws_broker_gap(missed);
        }

        if (len) {
            ngx_ws_broker_apply(buf, len);
        }

    } while (more == NGX_AGAIN);
}


/*
 * Copies the pending records of other workers (headers included) into the
 * worker's buffer.  NGX_AGAIN when the budget stopped it before upto.
 */

static ngx_int_t
ngx_ws_broker_copy(uint64_t upto, u_char **buf, size_t *len,
    uint64_t *missed)
{
    size_t            rsize, n;
    u_char           *p;
    ngx_int_t         rc;
    ngx_ws_sh_t      *sh;
    ngx_ws_rec_t     *rec;
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;
    sh = w->sh;
    n = 0;
    rc = NGX_OK;

    ngx_shmtx_lock(&w->shpool->mutex);

    if (w->applied + 1 < sh->first_seq) {
        *missed = sh->first_seq - 1 - w->applied;
        w->applied = sh->first_seq - 1;
        w->pos = sh->tail;
    }

    while (w->applied < upto && w->applied + 1 < sh->next_seq) {

        /*
         * The record after a wrap is at the ring's start, whatever is left
         * where its marker was (the marker may be gone already).
         */

        if (w->applied + 1 == sh->wrap_seq) {
            w->pos = 0;
        }

        rec = (ngx_ws_rec_t *) (sh->ring + w->pos);

        if (sh->size - w->pos < sizeof(ngx_ws_rec_t) || rec->seq == 0) {
            w->pos = 0;
            continue;
        }

        if (rec->seq != w->applied + 1) {
            /* cannot happen: the record here is the next one, or a gap */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "ws: op %uL found where %uL was due",
                          rec->seq, w->applied + 1);
            *missed += sh->next_seq - 1 - w->applied;
            w->applied = sh->next_seq - 1;
            w->pos = sh->head;
            break;
        }

        rsize = NGX_WS_REC_SIZE(rec->len);

        if (rec->pid != ngx_pid) {

            if (n && n + rsize > NGX_WS_COPY_BUDGET) {
                rc = NGX_AGAIN;
                break;
            }

            if (n + rsize > w->copy_size) {
                p = ngx_alloc(ngx_max(n + rsize, NGX_WS_COPY_BUDGET),
                              ngx_cycle->log);
                if (p == NULL) {
                    /* the next wake-up tries again */
                    break;
                }

                if (w->copy) {
                    ngx_memcpy(p, w->copy, n);
                    ngx_free(w->copy);
                }

                w->copy = p;
                w->copy_size = ngx_max(n + rsize, NGX_WS_COPY_BUDGET);
            }

            ngx_memcpy(w->copy + n, rec, rsize);
            n += rsize;
        }

        w->applied = rec->seq;
        w->pos += rsize;

        if (w->pos == sh->size) {
            w->pos = 0;
        }
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    *buf = w->copy;
    *len = n;

    return rc;
}


static void
ngx_ws_broker_apply(u_char *buf, size_t len)
{
    u_char        *p, *end;
    ngx_uint_t     matched;
    ngx_pool_t    *pool;
    ngx_ws_op_t    op;
    ngx_ws_rec_t  *rec;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    end = buf + len;

    for (p = buf; p < end; p += NGX_WS_REC_SIZE(rec->len)) {
        rec = (ngx_ws_rec_t *) p;

        if (ngx_ws_op_read((u_char *) (rec + 1), rec->len, &op,
                           ngx_ws_pool_alloc, pool)
            != 0)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "ws: op %uL in the log is damaged", rec->seq);
            continue;
        }

        if (op.type == NGX_WS_RELAY) {
            ngx_ws_relay_apply(&op, rec->pid);
            continue;
        }

        op.seq = rec->seq;

        ngx_ws_redis_forward(&op);

        /* a namespace of another configuration: nobody here */
        (void) ngx_ws_apply(&op, pool, &matched);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "ws broker: applied op %uL of %P, %ui sockets",
                       rec->seq, rec->pid, matched);
    }

    ngx_destroy_pool(pool);

    if (ngx_ws_worker.copy_size > NGX_WS_COPY_BUDGET) {
        /* one huge record does not stay allocated */
        ngx_free(ngx_ws_worker.copy);
        ngx_ws_worker.copy = NULL;
        ngx_ws_worker.copy_size = 0;
    }
}


static void
ngx_ws_broker_gap(uint64_t missed)
{
    ngx_rbtree_node_t  *node, *sentinel;
    ngx_ws_session_t   *s;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "ws: this worker fell %uL operations behind the log of "
                  "ws_zone, closing its clients with 1011", missed);

    (void) ngx_atomic_fetch_add(&ngx_ws_worker.slot->gaps, missed);

    sentinel = ngx_ws_worker.sessions.sentinel;

    if (ngx_ws_worker.sessions.root == sentinel) {
        return;
    }

    /* closing keeps sessions in the tree until they are finalized */

    for (node = ngx_rbtree_min(ngx_ws_worker.sessions.root, sentinel);
         node;
         node = ngx_rbtree_next(&ngx_ws_worker.sessions, node))
    {
        s = (ngx_ws_session_t *) ((u_char *) node
                                  - offsetof(ngx_ws_session_t, node));
        ngx_ws_session_close(s, NGX_WS_CLOSE_INTERNAL, "log gap");
    }
}


/* ------------------------------------------------------------ wake-ups */


ngx_int_t
ngx_ws_broker_init(ngx_cycle_t *cycle)
{
    int                  fd;
    socklen_t            len;
    ngx_uint_t           try;
    ngx_event_t         *rev;
    ngx_connection_t    *c;
    struct sockaddr_un   sun;
    u_char               wake[NGX_WS_ID_LEN];

    if (ngx_ws_worker.sh == NULL) {
        return NGX_OK;
    }

    fd = socket(AF_UNIX, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "ws: socket(AF_UNIX) failed");
        return NGX_ERROR;
    }

    /*
     * A random name, published in the worker's slot: a local user who
     * binds the name first cannot keep a worker from starting.
     */

    for (try = 0; /* void */; try++) {
        if (ngx_ws_id_generate(wake) != NGX_OK) {
            (void) close(fd);
            return NGX_ERROR;
        }

        len = ngx_ws_broker_address(&sun, ngx_pid, wake);

        if (bind(fd, (struct sockaddr *) &sun, len) == 0) {
            break;
        }

        if (ngx_socket_errno != NGX_EADDRINUSE || try == 3) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "ws: bind() of the wake-up socket failed");
            (void) close(fd);
            return NGX_ERROR;
        }
    }

    ngx_shmtx_lock(&ngx_ws_worker.shpool->mutex);
    ngx_memcpy(ngx_ws_worker.slot->wake, wake, NGX_WS_ID_LEN);
    ngx_shmtx_unlock(&ngx_ws_worker.shpool->mutex);

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    rev = c->read;
    rev->handler = ngx_ws_broker_wake_handler;
    rev->log = cycle->log;
    c->write->log = cycle->log;

    if (ngx_add_event(rev, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_free_connection(c);
        (void) close(fd);
        return NGX_ERROR;
    }

    /*
     * Idle, so that a graceful shutdown calls it: the worker's polling
     * sessions have no connection of their own to be told through.
     */
    c->idle = 1;

    ngx_ws_worker.wake = c;

    return NGX_OK;
}


void
ngx_ws_broker_exit(void)
{
    if (ngx_ws_worker.wake) {
        ngx_close_connection(ngx_ws_worker.wake);
        ngx_ws_worker.wake = NULL;
    }

    if (ngx_ws_worker.copy) {
        ngx_free(ngx_ws_worker.copy);
        ngx_ws_worker.copy = NULL;
        ngx_ws_worker.copy_size = 0;
    }
}


static void
ngx_ws_broker_wake_handler(ngx_event_t *rev)
{
    u_char             buf[64];
    ngx_connection_t  *c;

    c = rev->data;

    if (c->close) {
        /* the worker shuts down; the log is still read until it exits */
        c->close = 0;
        c->idle = 0;
        ngx_ws_poll_close_all();
    }

    /* drained first: a record logged meanwhile wakes us again */

    while (recv(c->fd, buf, sizeof(buf), 0) > 0) { /* void */ }

    if (ngx_ws_worker.sh) {
        ngx_ws_broker_sync((uint64_t) -1);
    }
}


static socklen_t
ngx_ws_broker_address(struct sockaddr_un *sun, ngx_pid_t pid, u_char *wake)
{
    u_char  *p;

    ngx_memzero(sun, sizeof(struct sockaddr_un));
    sun->sun_family = AF_UNIX;

    /* sun_path[0] is '\0': the abstract namespace, nothing on disk */
    p = ngx_sprintf((u_char *) sun->sun_path + 1, "ngx_ws/%P/%*s", pid,
                    (size_t) NGX_WS_ID_LEN, wake);

    return offsetof(struct sockaddr_un, sun_path)
           + (p - (u_char *) sun->sun_path);
}
