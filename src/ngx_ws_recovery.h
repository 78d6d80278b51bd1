
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_RECOVERY_H_INCLUDED_
#define _NGX_WS_RECOVERY_H_INCLUDED_


#include "ngx_ws.h"


/* "<seq>-<8 hex digits of the log's uid>", as written into events */
#define NGX_WS_RECOVERY_TAG_LEN     8
#define NGX_WS_RECOVERY_OFFSET_LEN                                           \
    (NGX_INT64_LEN + 1 + NGX_WS_RECOVERY_TAG_LEN)


/*
 * The recovery zone's counters, read without the lock (metrics): each
 * only grows.
 */
typedef struct {
    ngx_atomic_t               recovered;      /* sockets restored */
    ngx_atomic_t               not_recovered;  /* a pid and an offset came,
                                                  a fresh socket went */
    ngx_atomic_t               replayed;       /* packets sent again */
    ngx_atomic_t               persisted;      /* sessions kept */
    ngx_atomic_t               expired;        /* kept sessions never
                                                  claimed in time */
    ngx_atomic_t               evicted;        /* sessions dropped for
                                                  room in the zone */
    ngx_atomic_t               dropped;        /* packets dropped for room
                                                  before their time */
    ngx_atomic_t               packets;        /* packets kept now */
    ngx_atomic_t               sessions;       /* sessions kept now */
} ngx_ws_recovery_counters_t;


extern ngx_uint_t  ngx_ws_recovery_nskips;

char *ngx_ws_recovery_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_ws_recovery_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_ws_recovery_zone_add(ngx_conf_t *cf, ngx_ws_main_conf_t *wmcf);
ngx_int_t ngx_ws_recovery_attach(ngx_cycle_t *cycle);
ngx_ws_recovery_counters_t *ngx_ws_recovery_counters(void);

void ngx_ws_recovery_log(ngx_ws_op_t *op, uint64_t seq, u_char *rec,
    size_t len);
u_char *ngx_ws_recovery_offset(u_char *p, uint64_t seq);
ngx_int_t ngx_ws_recovery_connect(ngx_ws_socket_t *sock, u_char *auth,
    size_t len);
void ngx_ws_recovery_restore(ngx_ws_socket_t *sock);
u_char *ngx_ws_recovery_pid(ngx_ws_socket_t *sock, u_char *pid);
ngx_int_t ngx_ws_recovery_persist(ngx_ws_socket_t *sock,
    const char *reason);
void ngx_ws_recovery_release(ngx_ws_socket_t *sock);
ngx_uint_t ngx_ws_recovery_skip(ngx_ws_socket_t *sock, uint64_t seq);


#endif /* _NGX_WS_RECOVERY_H_INCLUDED_ */
