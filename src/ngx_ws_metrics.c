
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_metrics.h"
#include "ngx_ws_recovery.h"


/*
 * Prometheus metrics for the whole host (ws_metrics): every worker adds to
 * one block of atomics in the zone, and the worker that answers a scrape
 * reads it, with the gauges of every worker's slot, without asking any
 * worker anything.  The block is laid out by the names below, not by the
 * configuration: a reload that keeps the zone keeps the counts, and a
 * module whose names differ starts a block of its own (counts from 0,
 * which rate() takes as a reset).
 */


typedef struct {
    uint32_t                   signature;      /* of the names below */
    time_t                     master_start;
    ngx_atomic_t               v[NGX_WS_M_MAX];
} ngx_ws_metrics_sh_t;


/* the gauges of the live workers' slots, copied under the mutex */
typedef struct {
    ngx_uint_t                 nnsps;
    ngx_atomic_uint_t          connections;
    ngx_atomic_uint_t          sockets[NGX_WS_ZONE_NSPS];
    ngx_ws_zone_nsp_t          nsps[NGX_WS_ZONE_NSPS];
} ngx_ws_metrics_snapshot_t;


static uint32_t ngx_ws_metrics_signature(void);
static time_t ngx_ws_metrics_master_start(void);
static void ngx_ws_metrics_snapshot(ngx_ws_metrics_snapshot_t *snap);
static u_char *ngx_ws_metrics_help(u_char *p, const char *name,
    const char *type, const char *help);
static u_char *ngx_ws_metrics_one(u_char *p, const char *name,
    const char *type, const char *help, ngx_atomic_uint_t value);
static u_char *ngx_ws_metrics_label(u_char *p, u_char *data, size_t len);
static u_char *ngx_ws_metrics_nsp(u_char *p, ngx_ws_metrics_snapshot_t *snap,
    ngx_uint_t i);
static u_char *ngx_ws_metrics_sockets(u_char *p,
    ngx_ws_metrics_snapshot_t *snap, ngx_atomic_t *v);
static u_char *ngx_ws_metrics_engineio(u_char *p,
    ngx_ws_metrics_snapshot_t *snap, ngx_atomic_t *v);
static u_char *ngx_ws_metrics_traffic(u_char *p, ngx_atomic_t *v);
static u_char *ngx_ws_metrics_hooks(u_char *p, ngx_atomic_t *v);
static u_char *ngx_ws_metrics_recovery(ngx_http_request_t *r, u_char *p);
static u_char *ngx_ws_metrics_redis(ngx_http_request_t *r, u_char *p,
    ngx_atomic_t *v);


ngx_atomic_t  *ngx_ws_metrics;


static const char  *ngx_ws_metrics_statuses[] = {
    "success", "rejected", "error"
};

/* socket.io's reasons, and the module's own; "other" for anything else */
static const char  *ngx_ws_metrics_reasons[NGX_WS_M_REASONS] = {
    "client namespace disconnect", "server namespace disconnect",
    "transport close", "transport error", "ping timeout", "parse error",
    "server shutting down", "forced close", "forced server close",
    "connect hook failed", "log gap", "connect timeout", "other"
};

/* close codes of the frame parser, 1000 for packet errors; then "other" */
static ngx_uint_t  ngx_ws_metrics_codes[NGX_WS_M_CODES - 1] = {
    1000, 1002, 1003, 1007, 1008, 1009
};

static const char  *ngx_ws_metrics_ops[NGX_WS_M_PUSH_OPS] = {
    "invalid", "emit", "join", "leave", "disconnect"
};

static const char  *ngx_ws_metrics_results[NGX_WS_M_PUSH_RESULTS] = {
    "ok", "rejected", "error"
};

static const char  *ngx_ws_metrics_hook_names[NGX_WS_M_HOOKS] = {
    "connect", "event", "disconnect"
};

/* the bounds of the hook latency buckets, in microseconds and as written */
static uint64_t  ngx_ws_metrics_bounds[NGX_WS_M_BUCKETS - 1] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
    2500000, 5000000
};

static const char  *ngx_ws_metrics_le[NGX_WS_M_BUCKETS] = {
    "0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
    "2.5", "5", "+Inf"
};


#define NGX_WS_METRICS_TYPE  "text/plain; version=0.0.4; charset=utf-8"

/* what one line may take besides a namespace's name */
#define NGX_WS_METRICS_LINE  160


/*
 * In the master, for every cycle, once the zone is there: a block made by
 * a module with other names is left where it is (workers of the old
 * generation may still add to it) and a new one is made.
 */

ngx_int_t
ngx_ws_metrics_zone_init(ngx_ws_sh_t *sh)
{
    uint32_t              signature;
    ngx_ws_metrics_sh_t  *m;

    signature = ngx_ws_metrics_signature();
    m = sh->metrics;

    if (m == NULL || m->signature != signature) {
        m = ngx_slab_calloc(sh->shpool, sizeof(ngx_ws_metrics_sh_t));
        if (m == NULL) {
            return NGX_ERROR;
        }

        m->signature = signature;
        sh->metrics = m;
    }

    m->master_start = ngx_ws_metrics_master_start();

    return NGX_OK;
}


void
ngx_ws_metrics_attach(void)
{
    ngx_ws_metrics_sh_t  *m;

    if (ngx_ws_worker.sh == NULL) {
        return;
    }

    m = ngx_ws_worker.sh->metrics;
    ngx_ws_metrics = m->v;
}


static uint32_t
ngx_ws_metrics_signature(void)
{
    uint32_t    crc;
    ngx_uint_t  i;

    ngx_crc32_init(crc);

#define ngx_ws_metrics_sign(names, n)                                         \
    for (i = 0; i < n; i++) {                                                 \
        ngx_crc32_update(&crc, (u_char *) names[i],                           \
                         ngx_strlen(names[i]) + 1);                           \
    }

    ngx_ws_metrics_sign(ngx_ws_metrics_statuses, NGX_WS_M_CONNECT_STATUSES);
    ngx_ws_metrics_sign(ngx_ws_metrics_reasons, NGX_WS_M_REASONS);
    ngx_ws_metrics_sign(ngx_ws_metrics_ops, NGX_WS_M_PUSH_OPS);
    ngx_ws_metrics_sign(ngx_ws_metrics_results, NGX_WS_M_PUSH_RESULTS);
    ngx_ws_metrics_sign(ngx_ws_metrics_hook_names, NGX_WS_M_HOOKS);
    ngx_ws_metrics_sign(ngx_ws_metrics_le, NGX_WS_M_BUCKETS);

#undef ngx_ws_metrics_sign

    i = NGX_WS_M_MAX;
    ngx_crc32_update(&crc, (u_char *) &i, sizeof(i));
    ngx_crc32_update(&crc, (u_char *) ngx_ws_metrics_codes,
                     sizeof(ngx_ws_metrics_codes));

    ngx_crc32_final(crc);

    return crc;
}


/*
 * When the master started (this runs in the master): its start in clock
 * ticks after boot, from Linux's /proc/self/stat, against the time since
 * boot now.  Elsewhere, or should /proc not say, the time the zone was set
 * up.
 */

static time_t
ngx_ws_metrics_master_start(void)
{
    u_char           *p, *last;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         ticks;
    ngx_uint_t        i;
    struct timespec   boot;
    u_char            buf[1024];

    fd = ngx_open_file("/proc/self/stat", NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return ngx_time();
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));
    (void) ngx_close_file(fd);

    if (n <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0) {
        return ngx_time();
    }

    /* field 22, counted from the ")" that ends field 2, the name */

    last = buf + n;

    for (p = last - 1; p > buf && *p != ')'; p--) { /* void */ }

    for (i = 2; p > buf && i < 22; i++) {
        p = ngx_strlchr(p + 1, last, ' ');

        if (p == NULL) {
            return ngx_time();
        }
    }

    if (p == buf) {
        return ngx_time();
    }

    for (last = ++p; last < buf + n && *last >= '0' && *last <= '9'; last++) {
        /* void */
    }

    ticks = ngx_atoi(p, last - p);

    if (ticks == NGX_ERROR || sysconf(_SC_CLK_TCK) <= 0) {
        return ngx_time();
    }

    return ngx_time() - (boot.tv_sec - ticks / sysconf(_SC_CLK_TCK));
}


/* ----------------------------------------------------------- counting */


void
ngx_ws_metrics_connect(ngx_ws_nsp_t *nsp, ngx_uint_t status)
{
    ngx_uint_t  i;

    if (nsp == NULL) {
        i = NGX_WS_M_NSP_INVALID;

    } else if (nsp->zone_index < NGX_WS_ZONE_NSPS) {
        i = nsp->zone_index;

    } else {
        i = NGX_WS_M_NSP_OTHER;
    }

    ngx_ws_metric_add(NGX_WS_M_CONNECTS + i * NGX_WS_M_CONNECT_STATUSES
                      + status, 1);
}


void
ngx_ws_metrics_disconnect(const char *reason)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_WS_M_REASONS - 1; i++) {
        if (ngx_strcmp(reason, ngx_ws_metrics_reasons[i]) == 0) {
            break;
        }
    }

    ngx_ws_metric_add(NGX_WS_M_DISCONNECTS + i, 1);
}


void
ngx_ws_metrics_push(ngx_uint_t type, ngx_uint_t result)
{
    if (type >= NGX_WS_M_PUSH_OPS) {
        type = 0;
    }

    ngx_ws_metric_add(NGX_WS_M_PUSHES + type * NGX_WS_M_PUSH_RESULTS + result,
                      1);
}


void
ngx_ws_metrics_protocol(ngx_uint_t code)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_WS_M_CODES - 1; i++) {
        if (ngx_ws_metrics_codes[i] == code) {
            break;
        }
    }

    ngx_ws_metric_add(NGX_WS_M_PROTOCOL + i, 1);
}


/* A monotonic clock in microseconds: the cached time is only milliseconds. */

uint64_t
ngx_ws_metrics_usec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/* A hook call ended (start: 0 when it never started). */

void
ngx_ws_metrics_hook(const char *name, ngx_uint_t ok, uint64_t start)
{
    uint64_t    usec;
    ngx_uint_t  hook, i;

    for (hook = 0; hook < NGX_WS_M_HOOKS - 1; hook++) {
        if (ngx_strcmp(name, ngx_ws_metrics_hook_names[hook]) == 0) {
            break;
        }
    }

    ngx_ws_metric_add(NGX_WS_M_HOOK_CALLS + hook * NGX_WS_M_HOOK_RESULTS
                      + (ok ? 0 : 1), 1);

    if (start == 0) {
        return;
    }

    usec = ngx_ws_metrics_usec() - start;

    for (i = 0; i < NGX_WS_M_BUCKETS - 1; i++) {
        if (usec <= ngx_ws_metrics_bounds[i]) {
            break;
        }
    }

    ngx_ws_metric_add(NGX_WS_M_HOOK_BUCKETS + hook * NGX_WS_M_BUCKETS + i, 1);
    ngx_ws_metric_add(NGX_WS_M_HOOK_USEC + hook, (ngx_atomic_int_t) usec);
}


/* ----------------------------------------------------------- the scrape */


ngx_int_t
ngx_ws_metrics_handler(ngx_http_request_t *r)
{
    u_char                     *body, *p;
    size_t                      len;
    ngx_atomic_t               *v;
    ngx_ws_metrics_sh_t        *m;
    ngx_ws_metrics_snapshot_t  *snap;

    static ngx_atomic_t         none[NGX_WS_M_MAX];

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_ws_http_not_allowed(r, "GET, HEAD");
    }

    snap = ngx_pcalloc(r->pool, sizeof(ngx_ws_metrics_snapshot_t));
    if (snap == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_ws_metrics_snapshot(snap);

    v = ngx_ws_metrics ? ngx_ws_metrics : none;

    /* a namespace's name is at most 255 bytes, twice that escaped */

    len = 288 * NGX_WS_METRICS_LINE
          + (snap->nnsps + 2) * (NGX_WS_M_CONNECT_STATUSES + 1)
            * (NGX_WS_METRICS_LINE + 2 * 255);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_ws_metrics_help(body, "ngx_ws_build_info", "gauge",
                            "The module's version and nginx's.");
    p = ngx_sprintf(p, "ngx_ws_build_info{version=\"" NGX_WS_VERSION
                    "\",nginx=\"" NGINX_VERSION "\"} 1\n");

    m = ngx_ws_worker.sh ? ngx_ws_worker.sh->metrics : NULL;

    p = ngx_ws_metrics_help(p, "socket_server_uptime_seconds", "gauge",
                            "Seconds since the nginx master started.");
    p = ngx_sprintf(p, "socket_server_uptime_seconds %T\n",
                    ngx_time() - (m ? m->master_start : ngx_ws_worker.start));

    p = ngx_ws_metrics_sockets(p, snap, v);
    p = ngx_ws_metrics_engineio(p, snap, v);
    p = ngx_ws_metrics_traffic(p, v);
    p = ngx_ws_metrics_hooks(p, v);
    p = ngx_ws_metrics_redis(r, p, v);
    p = ngx_ws_metrics_recovery(r, p);

    return ngx_ws_http_send(r, NGX_HTTP_OK, NGX_WS_METRICS_TYPE, body,
                            p - body);
}


/* The mutex is held for a copy of the slots' numbers, nothing more. */

static void
ngx_ws_metrics_snapshot(ngx_ws_metrics_snapshot_t *snap)
{
    ngx_uint_t      i, k;
    ngx_ws_sh_t    *sh;
    ngx_ws_slot_t  *slot;

    sh = ngx_ws_worker.sh;

    if (sh == NULL) {
        return;
    }

    ngx_shmtx_lock(&ngx_ws_worker.shpool->mutex);

    snap->nnsps = sh->nnsps;
    ngx_memcpy(snap->nsps, sh->nsps, sh->nnsps * sizeof(ngx_ws_zone_nsp_t));

    for (i = 0; i < NGX_WS_ZONE_SLOTS; i++) {
        slot = &sh->slots[i];

        if (slot->pid == 0) {
            continue;
        }

        snap->connections += slot->connections;

        for (k = 0; k < sh->nnsps; k++) {
            snap->sockets[k] += slot->sockets[k];
        }
    }

    ngx_shmtx_unlock(&ngx_ws_worker.shpool->mutex);
}


static u_char *
ngx_ws_metrics_help(u_char *p, const char *name, const char *type,
    const char *help)
{
    return ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}


/* a metric of one value, with its HELP and TYPE */

static u_char *
ngx_ws_metrics_one(u_char *p, const char *name, const char *type,
    const char *help, ngx_atomic_uint_t value)
{
    p = ngx_ws_metrics_help(p, name, type, help);

    return ngx_sprintf(p, "%s %uA\n", name, value);
}


/* A label's value: '\', '"' and newlines escaped, as the format wants. */

static u_char *
ngx_ws_metrics_label(u_char *p, u_char *data, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (data[i]) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = data[i];
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = data[i];
        }
    }

    return p;
}


static u_char *
ngx_ws_metrics_nsp(u_char *p, ngx_ws_metrics_snapshot_t *snap, ngx_uint_t i)
{
    if (i == NGX_WS_M_NSP_INVALID) {
        return ngx_cpymem(p, "_invalid", sizeof("_invalid") - 1);
    }

    if (i == NGX_WS_M_NSP_OTHER) {
        return ngx_cpymem(p, "_other", sizeof("_other") - 1);
    }

    return ngx_ws_metrics_label(p, snap->nsps[i].data, snap->nsps[i].len);
}


static u_char *
ngx_ws_metrics_sockets(u_char *p, ngx_ws_metrics_snapshot_t *snap,
    ngx_atomic_t *v)
{
    ngx_uint_t     i, k, n;
    ngx_atomic_t  *c;

    p = ngx_ws_metrics_help(p, "socket_active_connections", "gauge",
                            "Socket.IO sockets connected, per namespace.");

    for (i = 0; i < snap->nnsps; i++) {
        p = ngx_cpymem(p, "socket_active_connections{namespace=\"",
                       sizeof("socket_active_connections{namespace=\"") - 1);
        p = ngx_ws_metrics_nsp(p, snap, i);
        p = ngx_sprintf(p, "\"} %uA\n", snap->sockets[i]);
    }

    p = ngx_ws_metrics_help(p, "socket_connections_total", "counter",
                            "Socket.IO CONNECTs, per namespace and by "
                            "outcome.");

    for (i = 0; i < NGX_WS_M_NSPS; i++) {
        if (i >= snap->nnsps && i < NGX_WS_M_NSP_INVALID) {
            continue;
        }

        c = &v[NGX_WS_M_CONNECTS + i * NGX_WS_M_CONNECT_STATUSES];

        for (n = 0, k = 0; k < NGX_WS_M_CONNECT_STATUSES; k++) {
            n += c[k];
        }

        if (i == NGX_WS_M_NSP_OTHER && n == 0) {
            continue;
        }

        for (k = 0; k < NGX_WS_M_CONNECT_STATUSES; k++) {
            p = ngx_cpymem(p, "socket_connections_total{namespace=\"",
                           sizeof("socket_connections_total{namespace=\"")
                           - 1);
            p = ngx_ws_metrics_nsp(p, snap, i);
            p = ngx_sprintf(p, "\",status=\"%s\"} %uA\n",
                            ngx_ws_metrics_statuses[k], c[k]);
        }
    }

    return p;
}


static u_char *
ngx_ws_metrics_engineio(u_char *p, ngx_ws_metrics_snapshot_t *snap,
    ngx_atomic_t *v)
{
    ngx_uint_t  i;

    p = ngx_ws_metrics_one(p, "socket_engineio_active_connections", "gauge",
                           "Engine.IO sessions open.",
                           snap->connections);

    p = ngx_ws_metrics_help(p, "socket_engineio_connections_total", "counter",
                            "Engine.IO sessions opened, by the transport "
                            "they opened with.");
    p = ngx_sprintf(p, "socket_engineio_connections_total"
                    "{transport=\"websocket\"} %uA\n"
                    "socket_engineio_connections_total"
                    "{transport=\"polling\"} %uA\n",
                    v[NGX_WS_M_EIO_WEBSOCKET], v[NGX_WS_M_EIO_POLLING]);

    p = ngx_ws_metrics_one(p, "socket_engineio_upgrades_total", "counter",
                           "Polling sessions upgraded to a WebSocket.",
                           v[NGX_WS_M_UPGRADES]);

    p = ngx_ws_metrics_help(p, "socket_disconnects_total", "counter",
                            "Socket.IO sockets that left, by socket.io's "
                            "reason.");

    for (i = 0; i < NGX_WS_M_REASONS; i++) {
        p = ngx_sprintf(p, "socket_disconnects_total{reason=\"%s\"} %uA\n",
                        ngx_ws_metrics_reasons[i],
                        v[NGX_WS_M_DISCONNECTS + i]);
    }

    return p;
}


static u_char *
ngx_ws_metrics_traffic(u_char *p, ngx_atomic_t *v)
{
    ngx_uint_t  i, k;

    p = ngx_ws_metrics_one(p, "socket_packets_received_total", "counter",
                           "Engine.IO packets received from clients.",
                           v[NGX_WS_M_PACKETS_IN]);

    p = ngx_ws_metrics_one(p, "socket_packets_sent_total", "counter",
                           "Engine.IO packets queued to clients.",
                           v[NGX_WS_M_PACKETS_OUT]);

    p = ngx_ws_metrics_one(p, "socket_received_bytes_total", "counter",
                           "Bytes read from clients: WebSocket frames, "
                           "polling bodies.",
                           v[NGX_WS_M_BYTES_IN]);

    p = ngx_ws_metrics_one(p, "socket_sent_bytes_total", "counter",
                           "Bytes written to clients: WebSocket frames, "
                           "polling bodies.",
                           v[NGX_WS_M_BYTES_OUT]);

    p = ngx_ws_metrics_help(p, "socket_pushes_total", "counter",
                            "Requests to the push endpoint, by operation "
                            "and result.");

    for (i = 0; i < NGX_WS_M_PUSH_OPS; i++) {
        for (k = 0; k < NGX_WS_M_PUSH_RESULTS; k++) {
            p = ngx_sprintf(p, "socket_pushes_total{operation=\"%s\","
                            "result=\"%s\"} %uA\n", ngx_ws_metrics_ops[i],
                            ngx_ws_metrics_results[k],
                            v[NGX_WS_M_PUSHES + i * NGX_WS_M_PUSH_RESULTS
                              + k]);
        }
    }

    p = ngx_ws_metrics_one(p, "socket_broadcast_deliveries_total",
                           "counter",
                           "Sockets an emit was queued to, whoever emitted "
                           "it.",
                           v[NGX_WS_M_DELIVERIES]);

    p = ngx_ws_metrics_one(p, "socket_slow_reader_drops_total", "counter",
                           "Clients disconnected for a write queue over "
                           "ws_write_queue.",
                           v[NGX_WS_M_SLOW_READER]);

    p = ngx_ws_metrics_one(p, "socket_send_timeout_drops_total", "counter",
                           "Clients disconnected after ws_send_timeout "
                           "with nothing written.",
                           v[NGX_WS_M_SEND_TIMEOUT]);

    p = ngx_ws_metrics_help(p, "socket_protocol_errors_total", "counter",
                            "Clients closed for a protocol error, by close "
                            "code (1000: a bad Engine.IO or Socket.IO "
                            "packet).");

    for (i = 0; i < NGX_WS_M_CODES; i++) {
        if (i < NGX_WS_M_CODES - 1) {
            p = ngx_sprintf(p, "socket_protocol_errors_total{code=\"%ui\"} "
                            "%uA\n", ngx_ws_metrics_codes[i],
                            v[NGX_WS_M_PROTOCOL + i]);

        } else {
            p = ngx_sprintf(p, "socket_protocol_errors_total{code=\"other\"} "
                            "%uA\n", v[NGX_WS_M_PROTOCOL + i]);
        }
    }

    return p;
}


static u_char *
ngx_ws_metrics_hooks(u_char *p, ngx_atomic_t *v)
{
    uint64_t      usec;
    ngx_uint_t    i, k, n;
    const char   *hook;

    p = ngx_ws_metrics_help(p, "socket_hook_calls_total", "counter",
                            "Calls to the application's hooks, by hook and "
                            "result (error: no 200 answer).");

    for (i = 0; i < NGX_WS_M_HOOKS; i++) {
        for (k = 0; k < NGX_WS_M_HOOK_RESULTS; k++) {
            p = ngx_sprintf(p, "socket_hook_calls_total{hook=\"%s\","
                            "result=\"%s\"} %uA\n",
                            ngx_ws_metrics_hook_names[i], k ? "error" : "ok",
                            v[NGX_WS_M_HOOK_CALLS + i * NGX_WS_M_HOOK_RESULTS
                              + k]);
        }
    }

    p = ngx_ws_metrics_help(p, "socket_hook_duration_seconds", "histogram",
                            "How long a hook call took, answered or not.");

    for (i = 0; i < NGX_WS_M_HOOKS; i++) {
        hook = ngx_ws_metrics_hook_names[i];

        for (n = 0, k = 0; k < NGX_WS_M_BUCKETS; k++) {
            n += v[NGX_WS_M_HOOK_BUCKETS + i * NGX_WS_M_BUCKETS + k];

            p = ngx_sprintf(p, "socket_hook_duration_seconds_bucket"
                            "{hook=\"%s\",le=\"%s\"} %ui\n", hook,
                            ngx_ws_metrics_le[k], n);
        }

        usec = v[NGX_WS_M_HOOK_USEC + i];

        p = ngx_sprintf(p, "socket_hook_duration_seconds_sum{hook=\"%s\"} "
                        "%uL.%06uL\n"
                        "socket_hook_duration_seconds_count{hook=\"%s\"} "
                        "%ui\n", hook, usec / 1000000, usec % 1000000, hook,
                        n);
    }

    return p;
}


/* With ws_recovery_zone: the counters the recovery zone keeps. */

static u_char *
ngx_ws_metrics_recovery(ngx_http_request_t *r, u_char *p)
{
    ngx_ws_main_conf_t          *wmcf;
    ngx_ws_recovery_counters_t  *rc;

    wmcf = ngx_http_get_module_main_conf(r, ngx_ws_module);

    if (wmcf->recovery_zone == NULL) {
        return p;
    }

    rc = ngx_ws_recovery_counters();

    p = ngx_ws_metrics_help(p, "socket_recovery_total", "counter",
                            "CONNECTs with a pid and an offset: the socket "
                            "restored, or a fresh one.");
    p = ngx_sprintf(p, "socket_recovery_total{result=\"recovered\"} %uA\n"
                    "socket_recovery_total{result=\"not_recovered\"} %uA\n",
                    rc->recovered, rc->not_recovered);

    p = ngx_ws_metrics_one(p, "socket_recovery_replayed_packets_total",
                           "counter",
                           "Packets sent again to recovered sockets.",
                           rc->replayed);

    p = ngx_ws_metrics_one(p, "socket_recovery_dropped_packets_total",
                           "counter",
                           "Packets dropped from the recovery zone before "
                           "their time, for room.",
                           rc->dropped);

    p = ngx_ws_metrics_help(p, "socket_recovery_sessions_total", "counter",
                            "Sessions kept for recovery, and how those "
                            "not recovered ended: expired, or evicted for "
                            "room.");
    p = ngx_sprintf(p, "socket_recovery_sessions_total{event=\"kept\"} %uA\n"
                    "socket_recovery_sessions_total{event=\"expired\"} %uA\n"
                    "socket_recovery_sessions_total{event=\"evicted\"} %uA\n",
                    rc->persisted, rc->expired, rc->evicted);

    p = ngx_ws_metrics_one(p, "socket_recovery_kept_packets", "gauge",
                           "Packets in the recovery zone now.",
                           rc->packets);

    p = ngx_ws_metrics_one(p, "socket_recovery_waiting_sessions", "gauge",
                           "Sessions waiting to be recovered now.",
                           rc->sessions);

    return p;
}


/* With ws_redis: the state the Redis worker keeps in the zone for /health. */

static u_char *
ngx_ws_metrics_redis(ngx_http_request_t *r, u_char *p, ngx_atomic_t *v)
{
    ngx_ws_sh_t         *sh;
    ngx_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_ws_module);
    sh = ngx_ws_worker.sh;

    if (wmcf->redis == NULL || sh == NULL) {
        return p;
    }

    p = ngx_ws_metrics_help(p, "socket_redis_connected", "gauge",
                            "1 while the host's Redis worker is subscribed, "
                            "0 otherwise.");
    p = ngx_sprintf(p, "socket_redis_connected %d\n",
                    sh->redis_state == NGX_WS_REDIS_UP);

    p = ngx_ws_metrics_one(p, "socket_redis_reconnects_total", "counter",
                           "Connections to Redis lost.",
                           sh->redis_reconnects);

    p = ngx_ws_metrics_one(p, "socket_redis_published_total", "counter",
                           "Operations of this host published to Redis.",
                           v[NGX_WS_M_REDIS_PUBLISHED]);

    p = ngx_ws_metrics_one(p, "socket_redis_received_total", "counter",
                           "Messages of other hosts received from Redis.",
                           v[NGX_WS_M_REDIS_RECEIVED]);

    p = ngx_ws_metrics_one(p, "socket_redis_lost_total", "counter",
                           "Operations not published while Redis was "
                           "down (lost for the other hosts).",
                           sh->redis_lost);

    return p;
}
