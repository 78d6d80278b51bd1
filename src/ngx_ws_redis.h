
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_REDIS_H_INCLUDED_
#define _NGX_WS_REDIS_H_INCLUDED_


/*
 * Between the host's Redis links (ngx_ws_redis.c), the map of a Redis
 * Cluster's slots (ngx_ws_slots.c) and the classic adapter, which reads
 * replies (ngx_ws_classic.c).
 */


#include <hiredis/hiredis.h>


/* the masters of a cluster this host talks to, at most */
#define NGX_WS_REDIS_NODES       64
#define NGX_WS_SLOTS_NO_NODE     0xff
#define NGX_WS_SLOTS             16384

/* what a reply to a sharded publisher answers */
#define NGX_WS_REDIS_SETUP       0
#define NGX_WS_REDIS_MAP         1
#define NGX_WS_REDIS_PUBLISHED   2


typedef struct ngx_ws_redis_node_s  ngx_ws_redis_node_t;


typedef struct {
    ngx_peer_connection_t      peer;
    redisReader               *reader;
    u_char                    *out;
    size_t                     out_len;
    size_t                     out_pos;
    size_t                     out_size;

    /*
     * a sharded publisher's commands waiting for their replies, in order:
     * what each is, and a publish's bytes, to send again after a MOVED
     */
    u_char                    *pend;
    size_t                     pend_len;
    size_t                     pend_pos;
    size_t                     pend_size;

    ngx_event_t                retry;
    ngx_uint_t                 attempts;
    ngx_uint_t                 expect;         /* subscriptions unconfirmed */
    ngx_ws_redis_node_t       *node;
    const char                *name;
    unsigned                   subscriber:1;
    unsigned                   connected:1;
    unsigned                   up:1;
    unsigned                   reported:1;     /* its failure was logged */
} ngx_ws_redis_link_t;


struct ngx_ws_redis_node_s {
    ngx_ws_redis_link_t        pub;
    ngx_ws_redis_link_t        sub;
    ngx_uint_t                 index;
    ngx_uint_t                 slots;          /* how many it serves */
    socklen_t                  socklen;
    ngx_sockaddr_t             sockaddr;
    ngx_str_t                  name;
    u_char                     text[NGX_SOCKADDR_STRLEN];
};


/* a channel the sharded adapter listens on */
typedef struct {
    ngx_str_node_t             sn;
    ngx_msec_t                 wanted;         /* a room's: its last join */
    uint16_t                   slot;
    uint8_t                    on;             /* the node subscribed on */
    unsigned                   room:1;
} ngx_ws_redis_chan_t;


extern ngx_ws_redis_conf_t  *ngx_ws_redis_conf;
extern ngx_ws_redis_node_t  *ngx_ws_redis_nodes[NGX_WS_REDIS_NODES];
extern ngx_uint_t            ngx_ws_redis_nnodes;
extern ngx_uint_t            ngx_ws_redis_elected;
extern ngx_uint_t            ngx_ws_slots_known;


/* ngx_ws_redis.c */
ngx_ws_redis_node_t *ngx_ws_redis_node_text(u_char *text, size_t len,
    ngx_ws_redis_node_t *asked);
ngx_int_t ngx_ws_redis_command(ngx_ws_redis_link_t *l, ngx_uint_t kind,
    int argc, const char **argv, const size_t *argvlen);
ngx_int_t ngx_ws_redis_queue(ngx_ws_redis_link_t *l, ngx_uint_t kind,
    u_char *cmd, size_t len);
ngx_int_t ngx_ws_redis_flush(ngx_ws_redis_link_t *l);
void ngx_ws_redis_state(void);

/* ngx_ws_slots.c */
void ngx_ws_slots_init(ngx_cycle_t *cycle, ngx_connection_t *dumb);
ngx_int_t ngx_ws_slots_start(void);
void ngx_ws_slots_setup(ngx_ws_redis_link_t *l);
ngx_ws_redis_node_t *ngx_ws_slots_node(u_char *channel, size_t len);
ngx_uint_t ngx_ws_slots_moved(redisReply *reply, u_char *cmd, size_t len);
void ngx_ws_slots_map(redisReply *reply, ngx_ws_redis_node_t *asked);
void ngx_ws_slots_map_all(ngx_ws_redis_node_t *node);
void ngx_ws_slots_refresh_soon(void);
void ngx_ws_slots_unsubscribed(ngx_ws_redis_link_t *l, u_char *name,
    size_t len);

/* ngx_ws_classic.c */
void ngx_ws_classic_message(redisReply *channel, redisReply *payload);


#endif /* _NGX_WS_REDIS_H_INCLUDED_ */
