
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


/*
 * What a load balancer and an operator want from the host: that it
 * answers, since when this worker runs, and how many clients the host
 * holds, per namespace and per worker.  The counts come from the zone,
 * where every worker keeps its own: no worker is asked anything.
 */


typedef struct {
    ngx_pid_t                  pid;
    ngx_atomic_uint_t          connections;
    ngx_atomic_uint_t          sockets[NGX_WS_ZONE_NSPS];
} ngx_ws_health_worker_t;


typedef struct {
    ngx_uint_t                 nworkers;
    ngx_uint_t                 nnsps;
    ngx_uint_t                 shown[NGX_WS_ZONE_NSPS];
    ngx_ws_health_worker_t     workers[NGX_WS_ZONE_SLOTS];
    ngx_ws_zone_nsp_t          nsps[NGX_WS_ZONE_NSPS];
} ngx_ws_health_t;


static void ngx_ws_health_snapshot(ngx_ws_health_t *h);
static void ngx_ws_health_local(ngx_ws_health_t *h);
static u_char *ngx_ws_health_redis(ngx_http_request_t *r, u_char *p);
static u_char *ngx_ws_health_counts(u_char *p, ngx_ws_health_t *h,
    ngx_atomic_uint_t connections, ngx_atomic_uint_t *sockets);


ngx_int_t
ngx_ws_health_handler(ngx_http_request_t *r)
{
    u_char                 *body, *p;
    size_t                  len, counts;
    ngx_uint_t              i;
    ngx_ws_health_t        *h;
    ngx_atomic_uint_t       total[NGX_WS_ZONE_NSPS], connections;
    ngx_ws_health_worker_t *w;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_ws_http_not_allowed(r, "GET, HEAD");
    }

    h = ngx_pcalloc(r->pool, sizeof(ngx_ws_health_t));
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_ws_worker.sh) {
        ngx_ws_health_snapshot(h);

    } else {
        ngx_ws_health_local(h);
    }

    ngx_memzero(total, sizeof(total));
    connections = 0;

    for (i = 0; i < h->nworkers; i++) {
        connections += h->workers[i].connections;

        for (len = 0; len < h->nnsps; len++) {
            total[len] += h->workers[i].sockets[len];
        }
    }

    /* namespace names have no '"' or '\': checked at configuration */

    counts = sizeof("\"connections\":,\"namespaces\":{}") + NGX_ATOMIC_T_LEN;

    for (i = 0; i < h->nnsps; i++) {
        counts += h->nsps[i].len + sizeof("\"\":,") + NGX_ATOMIC_T_LEN;
    }

    len = sizeof("{\"status\":\"ok\",\"pid\":,\"uptime\":,,\"workers\":[]}")
          + sizeof(",\"redis\":{\"state\":\"connecting\",\"lost\":,"
                   "\"reconnects\":}") + 2 * NGX_ATOMIC_T_LEN
          + sizeof(",\"version\":\"" NGX_WS_VERSION "\"")
          + 2 * NGX_INT_T_LEN + counts
          + h->nworkers * (sizeof("{\"pid\":,},") + NGX_INT_T_LEN + counts);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"status\":\"ok\",\"pid\":%P,\"uptime\":%T,",
                    ngx_pid, ngx_time() - ngx_ws_worker.start);

    p = ngx_ws_health_counts(p, h, connections, total);

    p = ngx_cpymem(p, ",\"workers\":[", sizeof(",\"workers\":[") - 1);

    for (i = 0; i < h->nworkers; i++) {
        w = &h->workers[i];

        p = ngx_sprintf(p, "%s{\"pid\":%P,", i ? "," : "", w->pid);
        p = ngx_ws_health_counts(p, h, w->connections, w->sockets);
        *p++ = '}';
    }

    *p++ = ']';

    p = ngx_ws_health_redis(r, p);

    p = ngx_cpymem(p, ",\"version\":\"" NGX_WS_VERSION "\"}",
                   sizeof(",\"version\":\"" NGX_WS_VERSION "\"}") - 1);

    return ngx_ws_http_reply(r, NGX_HTTP_OK, body, p - body);
}


/*
 * With ws_redis: whether the host's Redis worker is connected, and what
 * could not be published while it was not (lost: Redis keeps nothing).
 */

static u_char *
ngx_ws_health_redis(ngx_http_request_t *r, u_char *p)
{
    ngx_ws_sh_t         *sh;
    ngx_ws_main_conf_t  *wmcf;

    static const char  *states[] = { "down", "connecting", "up" };

    wmcf = ngx_http_get_module_main_conf(r, ngx_ws_module);
    sh = ngx_ws_worker.sh;

    if (wmcf->redis == NULL || sh == NULL) {
        return p;
    }

    return ngx_sprintf(p, ",\"redis\":{\"state\":\"%s\",\"lost\":%uA,"
                       "\"reconnects\":%uA}",
                       states[sh->redis_state % 3], sh->redis_lost,
                       sh->redis_reconnects);
}


/*
 * The live workers' counts, and the namespaces worth showing: those this
 * worker serves, and any other (an older configuration's) in use.
 */

static void
ngx_ws_health_snapshot(ngx_ws_health_t *h)
{
    ngx_uint_t      i, k;
    ngx_ws_sh_t    *sh;
    ngx_ws_slot_t  *slot;

    sh = ngx_ws_worker.sh;

    ngx_shmtx_lock(&ngx_ws_worker.shpool->mutex);

    h->nnsps = sh->nnsps;
    ngx_memcpy(h->nsps, sh->nsps, sh->nnsps * sizeof(ngx_ws_zone_nsp_t));

    for (i = 0; i < NGX_WS_ZONE_SLOTS; i++) {
        slot = &sh->slots[i];

        if (slot->pid == 0) {
            continue;
        }

        h->workers[h->nworkers].pid = slot->pid;
        h->workers[h->nworkers].connections = slot->connections;

        for (k = 0; k < sh->nnsps; k++) {
            h->workers[h->nworkers].sockets[k] = slot->sockets[k];

            if (slot->sockets[k]) {
                h->shown[k] = 1;
            }
        }

        h->nworkers++;
    }

    ngx_shmtx_unlock(&ngx_ws_worker.shpool->mutex);

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        if (ngx_ws_worker.nsps[i].zone_index < NGX_WS_ZONE_NSPS) {
            h->shown[ngx_ws_worker.nsps[i].zone_index] = 1;
        }
    }
}


/* No zone (nothing uses the module but this location): this worker. */

static void
ngx_ws_health_local(ngx_ws_health_t *h)
{
    ngx_uint_t     i;
    ngx_ws_nsp_t  *nsp;

    h->nworkers = 1;
    h->workers[0].pid = ngx_pid;
    h->workers[0].connections = ngx_ws_worker.nsessions;

    for (i = 0; i < ngx_ws_worker.nnsps && i < NGX_WS_ZONE_NSPS; i++) {
        nsp = &ngx_ws_worker.nsps[i];

        h->nsps[i].len = nsp->name.len;
        ngx_memcpy(h->nsps[i].data, nsp->name.data, nsp->name.len);
        h->workers[0].sockets[i] = nsp->nsockets;
        h->shown[i] = 1;
    }

    h->nnsps = i;
}


static u_char *
ngx_ws_health_counts(u_char *p, ngx_ws_health_t *h,
    ngx_atomic_uint_t connections, ngx_atomic_uint_t *sockets)
{
    ngx_uint_t  i, n;

    p = ngx_sprintf(p, "\"connections\":%uA,\"namespaces\":{", connections);

    n = 0;

    for (i = 0; i < h->nnsps; i++) {
        if (!h->shown[i]) {
            continue;
        }

        p = ngx_sprintf(p, "%s\"%*s\":%uA", n++ ? "," : "",
                        h->nsps[i].len, h->nsps[i].data, sockets[i]);
    }

    *p++ = '}';

    return p;
}
