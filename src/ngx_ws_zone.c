
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <openssl/rand.h>

#include "ngx_ws_metrics.h"


/*
 * The shared memory zone every worker of the host attaches to, both
 * generations during a reload (nginx keeps a zone of the same name, size
 * and tag): a slot per worker with its counters, the namespace names the
 * counters refer to, the registry of session and socket ids, and the log
 * of operations (ngx_ws_broker.c).  Everything is changed under the slab
 * pool's mutex, which the master releases should a worker die holding it.
 */


/* a registry entry, its id after the node as in every id tree: 64 bytes */
typedef struct {
    ngx_rbtree_node_t          node;           /* key: crc32 of the id */
    u_char                     id[NGX_WS_ID_LEN];
    uint16_t                   slot;
} ngx_ws_reg_t;


static ngx_int_t ngx_ws_zone_init(ngx_shm_zone_t *shm_zone, void *data);
static void ngx_ws_zone_reap(ngx_ws_sh_t *sh);
static void ngx_ws_zone_release(ngx_ws_sh_t *sh, ngx_uint_t slot);
static ngx_uint_t ngx_ws_zone_nsp_index(ngx_ws_sh_t *sh, ngx_str_t *name);


static ngx_str_t  ngx_ws_zone_name = ngx_string("ngx_ws");


/* Called once the configuration is read, where the module is used. */

ngx_int_t
ngx_ws_zone_add(ngx_conf_t *cf, ngx_ws_main_conf_t *wmcf)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, &ngx_ws_zone_name, wmcf->zone_size,
                                     &ngx_ws_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_ws_zone_init;
    shm_zone->noreuse = 0;
    wmcf->zone = shm_zone;

    return NGX_OK;
}


/*
 * In the master, for every cycle: a zone kept from the previous cycle
 * (data) is the same memory; each new configuration is a new generation.
 */

static ngx_int_t
ngx_ws_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t            len;
    ngx_ws_sh_t      *sh;
    ngx_slab_pool_t  *shpool;
    u_char            raw[NGX_WS_REDIS_UID_LEN / 2];

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data || shm_zone->shm.exists) {
        sh = shpool->data;
        shm_zone->data = sh;

        ngx_shmtx_lock(&shpool->mutex);
        sh->generation++;
        ngx_shmtx_unlock(&shpool->mutex);

        return ngx_ws_metrics_zone_init(sh);
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ws_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    /* half of the zone is the log; the rest holds the registry */

    sh->size = ngx_align(shm_zone->shm.size / 2, 8) - 8;

    sh->ring = ngx_slab_alloc(shpool, sh->size);
    if (sh->ring == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&sh->registry, &sh->sentinel,
                    ngx_ws_id_rbtree_insert_value);
    ngx_rbtree_init(&sh->rooms, &sh->rooms_sentinel,
                    ngx_ws_shard_rbtree_insert_value);
    ngx_ws_limit_init(sh);

    sh->shpool = shpool;
    sh->next_seq = 1;
    sh->first_seq = 1;
    sh->generation = 1;

    /* the host's name among Redis adapters, kept across reloads */

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    ngx_hex_dump(sh->uid, raw, sizeof(raw));

    shpool->data = sh;
    shm_zone->data = sh;

    len = sizeof(" in ws_zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in ws_zone \"%V\"%Z",
                &shm_zone->shm.name);

    shpool->log_nomem = 0;

    return ngx_ws_metrics_zone_init(sh);
}


/*
 * A new worker takes a slot, after freeing those of workers that died
 * without leaving theirs (kill -9), and finds the zone's number for each
 * namespace it serves.
 */

ngx_int_t
ngx_ws_zone_attach(ngx_cycle_t *cycle)
{
    ngx_uint_t           i;
    ngx_ws_sh_t         *sh;
    ngx_ws_slot_t       *slot;
    ngx_slab_pool_t     *shpool;
    ngx_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_module);

    if (wmcf == NULL || wmcf->zone == NULL) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) wmcf->zone->shm.addr;
    sh = wmcf->zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    ngx_ws_zone_reap(sh);

    for (i = 0; i < NGX_WS_ZONE_SLOTS; i++) {
        if (sh->slots[i].pid == 0) {
            break;
        }
    }

    if (i == NGX_WS_ZONE_SLOTS) {
        ngx_shmtx_unlock(&shpool->mutex);
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ws: no free worker slot in ws_zone (%d in use)",
                      NGX_WS_ZONE_SLOTS);
        return NGX_ERROR;
    }

    slot = &sh->slots[i];
    ngx_memzero(slot, sizeof(ngx_ws_slot_t));
    slot->pid = ngx_pid;
    slot->generation = sh->generation;
    slot->start = ngx_time();

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        ngx_ws_worker.nsps[i].zone_index =
                         ngx_ws_zone_nsp_index(sh, &ngx_ws_worker.nsps[i].name);
    }

    ngx_ws_worker.shpool = shpool;
    ngx_ws_worker.sh = sh;
    ngx_ws_worker.slot = slot;
    ngx_ws_worker.slot_index = slot - sh->slots;

    /* a new worker has no clients yet: what was logged is not for it */
    ngx_ws_worker.applied = sh->next_seq - 1;
    ngx_ws_worker.pos = sh->head;

    ngx_shmtx_unlock(&shpool->mutex);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "ws zone: slot %ui, generation %ui, log at %uL",
                   ngx_ws_worker.slot_index, slot->generation,
                   ngx_ws_worker.applied);

    return NGX_OK;
}


void
ngx_ws_zone_detach(void)
{
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;

    if (w->sh == NULL) {
        return;
    }

    ngx_shmtx_lock(&w->shpool->mutex);
    ngx_ws_zone_release(w->sh, w->slot_index);
    ngx_shmtx_unlock(&w->shpool->mutex);

    w->sh = NULL;
    w->slot = NULL;
}


/* The slots of workers that are gone; the mutex is held. */

static void
ngx_ws_zone_reap(ngx_ws_sh_t *sh)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_WS_ZONE_SLOTS; i++) {
        if (sh->slots[i].pid == 0 || sh->slots[i].pid == ngx_pid) {
            continue;
        }

        if (!ngx_ws_pid_alive(sh->slots[i].pid)) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ws: worker %P is gone, its slot and ids released",
                          sh->slots[i].pid);
            ngx_ws_zone_release(sh, i);
        }
    }
}


static void
ngx_ws_zone_release(ngx_ws_sh_t *sh, ngx_uint_t slot)
{
    ngx_ws_reg_t       *reg;
    ngx_rbtree_node_t  *node, *next, *sentinel;

    sentinel = sh->registry.sentinel;

    if (sh->registry.root != sentinel) {
        for (node = ngx_rbtree_min(sh->registry.root, sentinel);
             node;
             node = next)
        {
            next = ngx_rbtree_next(&sh->registry, node);
            reg = (ngx_ws_reg_t *) node;

            if (reg->slot == slot) {
                ngx_rbtree_delete(&sh->registry, node);
                ngx_slab_free_locked(sh->shpool, reg);
            }
        }
    }

    ngx_ws_shard_rooms_release(sh, slot);
    ngx_ws_limit_release_slot(sh, slot);

    ngx_memzero(&sh->slots[slot], sizeof(ngx_ws_slot_t));
}


/* Namespaces are counted by name, so that every generation agrees. */

static ngx_uint_t
ngx_ws_zone_nsp_index(ngx_ws_sh_t *sh, ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 0; i < sh->nnsps; i++) {
        if (sh->nsps[i].len == name->len
            && ngx_memcmp(sh->nsps[i].data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    if (sh->nnsps == NGX_WS_ZONE_NSPS) {
        /* not counted per namespace; the worker still serves it */
        return NGX_WS_ZONE_NSPS;
    }

    sh->nsps[i].len = name->len;
    ngx_memcpy(sh->nsps[i].data, name->data, name->len);
    sh->nnsps++;

    return i;
}


void
ngx_ws_zone_count(ngx_ws_nsp_t *nsp, ngx_atomic_int_t n)
{
    ngx_ws_slot_t  *slot;

    slot = ngx_ws_worker.slot;

    if (slot == NULL) {
        return;
    }

    if (nsp == NULL) {
        (void) ngx_atomic_fetch_add(&slot->connections, n);

    } else if (nsp->zone_index < NGX_WS_ZONE_NSPS) {
        (void) ngx_atomic_fetch_add(&slot->sockets[nsp->zone_index], n);
    }
}


/*
 * The registry: which worker owns a session id.  A full zone only costs
 * the entry, said once per worker.
 */

void
ngx_ws_registry_add(u_char *id)
{
    ngx_ws_reg_t     *reg;
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;

    if (w->sh == NULL) {
        return;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    reg = ngx_slab_alloc_locked(w->shpool, sizeof(ngx_ws_reg_t));

    if (reg) {
        reg->node.key = ngx_crc32_short(id, NGX_WS_ID_LEN);
        reg->slot = (uint16_t) w->slot_index;
        ngx_memcpy(reg->id, id, NGX_WS_ID_LEN);
        ngx_rbtree_insert(&w->sh->registry, &reg->node);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    if (reg == NULL && !w->registry_full) {
        w->registry_full = 1;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ws: ws_zone is full, ids are not registered: "
                      "make it larger");
    }
}


void
ngx_ws_registry_del(u_char *id)
{
    ngx_ws_reg_t     *reg;
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;

    if (w->sh == NULL) {
        return;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    reg = (ngx_ws_reg_t *) ngx_ws_id_rbtree_lookup(&w->sh->registry, id);

    if (reg && reg->slot == w->slot_index) {
        ngx_rbtree_delete(&w->sh->registry, &reg->node);
        ngx_slab_free_locked(w->shpool, reg);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


/* The pid of the worker that owns the id, or 0. */

/*
 * Whether a worker is still there: one that died (kill -9) keeps its slot
 * and its ids until a worker that starts reaps them.
 */

ngx_uint_t
ngx_ws_pid_alive(ngx_pid_t pid)
{
    return !(kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH);
}


ngx_pid_t
ngx_ws_registry_owner(u_char *id, size_t len)
{
    ngx_pid_t         pid;
    ngx_ws_reg_t     *reg;
    ngx_ws_worker_t  *w;

    w = &ngx_ws_worker;

    if (w->sh == NULL || len != NGX_WS_ID_LEN) {
        return 0;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    reg = (ngx_ws_reg_t *) ngx_ws_id_rbtree_lookup(&w->sh->registry, id);
    pid = reg ? w->sh->slots[reg->slot].pid : 0;

    ngx_shmtx_unlock(&w->shpool->mutex);

    return pid;
}
