
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_METRICS_H_INCLUDED_
#define _NGX_WS_METRICS_H_INCLUDED_


#include "ngx_ws.h"


/*
 * The host's counters: one array of atomics in the zone, every worker
 * adding to it and any worker reading it for a scrape.  An index names a
 * counter; the labelled families are ranges of it.
 */

/* the namespaces of the zone, then "_invalid" and "_other" */
#define NGX_WS_M_NSPS            (NGX_WS_ZONE_NSPS + 2)
#define NGX_WS_M_NSP_INVALID     NGX_WS_ZONE_NSPS
#define NGX_WS_M_NSP_OTHER       (NGX_WS_ZONE_NSPS + 1)

#define NGX_WS_M_CONNECT_SUCCESS   0
#define NGX_WS_M_CONNECT_REJECTED  1
#define NGX_WS_M_CONNECT_ERROR     2
#define NGX_WS_M_CONNECT_STATUSES  3

#define NGX_WS_M_PUSH_OK         0
#define NGX_WS_M_PUSH_REJECTED   1
#define NGX_WS_M_PUSH_ERROR      2
#define NGX_WS_M_PUSH_RESULTS    3
#define NGX_WS_M_PUSH_OPS        5             /* invalid, emit ... */

#define NGX_WS_M_HOOKS           3             /* connect, event, ... */
#define NGX_WS_M_HOOK_RESULTS    2             /* ok, error */
#define NGX_WS_M_BUCKETS         12            /* the last one is +Inf */

#define NGX_WS_M_REASONS         13
#define NGX_WS_M_CODES           7


/* plain counters */
#define NGX_WS_M_EIO_WEBSOCKET   0
#define NGX_WS_M_EIO_POLLING     1
#define NGX_WS_M_UPGRADES        2
#define NGX_WS_M_PACKETS_IN      3
#define NGX_WS_M_PACKETS_OUT     4
#define NGX_WS_M_BYTES_IN        5
#define NGX_WS_M_BYTES_OUT       6
#define NGX_WS_M_DELIVERIES      7
#define NGX_WS_M_SLOW_READER     8
#define NGX_WS_M_SEND_TIMEOUT    9
#define NGX_WS_M_REDIS_PUBLISHED 10
#define NGX_WS_M_REDIS_RECEIVED  11

/* the families, one after the other */
#define NGX_WS_M_CONNECTS        12
#define NGX_WS_M_DISCONNECTS                                                  \
    (NGX_WS_M_CONNECTS + NGX_WS_M_NSPS * NGX_WS_M_CONNECT_STATUSES)
#define NGX_WS_M_PUSHES          (NGX_WS_M_DISCONNECTS + NGX_WS_M_REASONS)
#define NGX_WS_M_PROTOCOL                                                     \
    (NGX_WS_M_PUSHES + NGX_WS_M_PUSH_OPS * NGX_WS_M_PUSH_RESULTS)
#define NGX_WS_M_HOOK_CALLS      (NGX_WS_M_PROTOCOL + NGX_WS_M_CODES)
#define NGX_WS_M_HOOK_BUCKETS                                                 \
    (NGX_WS_M_HOOK_CALLS + NGX_WS_M_HOOKS * NGX_WS_M_HOOK_RESULTS)
#define NGX_WS_M_HOOK_USEC                                                    \
    (NGX_WS_M_HOOK_BUCKETS + NGX_WS_M_HOOKS * NGX_WS_M_BUCKETS)
#define NGX_WS_M_MAX             (NGX_WS_M_HOOK_USEC + NGX_WS_M_HOOKS)


/* NULL until the worker attaches to the zone, and with no zone */
extern ngx_atomic_t  *ngx_ws_metrics;


/* One atomic add to the shared memory: what a hot path pays. */

static ngx_inline void
ngx_ws_metric_add(ngx_uint_t index, ngx_atomic_int_t n)
{
    if (ngx_ws_metrics) {
        (void) ngx_atomic_fetch_add(&ngx_ws_metrics[index], n);
    }
}


ngx_int_t ngx_ws_metrics_zone_init(ngx_ws_sh_t *sh);
void ngx_ws_metrics_attach(void);
void ngx_ws_metrics_connect(ngx_ws_nsp_t *nsp, ngx_uint_t status);
void ngx_ws_metrics_disconnect(const char *reason);
void ngx_ws_metrics_push(ngx_uint_t type, ngx_uint_t result);
void ngx_ws_metrics_protocol(ngx_uint_t code);
uint64_t ngx_ws_metrics_usec(void);
void ngx_ws_metrics_hook(const char *name, ngx_uint_t ok, uint64_t start);
ngx_int_t ngx_ws_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_WS_METRICS_H_INCLUDED_ */
