
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_H_INCLUDED_
#define _NGX_WS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_frame.h"
#include "ngx_ws_eio.h"
#include "ngx_ws_sio.h"
#include "ngx_ws_json.h"
#include "ngx_ws_op.h"


/*
 * The one definition of the module's version: /health, the metrics' build
 * info and the Debian package read it from here.
 */
#define NGX_WS_VERSION         "0.9.0"

#define NGX_WS_ID_LEN          20
#define NGX_WS_ID_RAW          15
#define NGX_WS_LINGER          2000
#define NGX_WS_RBUF_MIN        4096
#define NGX_WS_READ_BUDGET     65536

/* engine.io's upgradeTimeout: a probe that never says "5" is closed */
#define NGX_WS_UPGRADE_TIMEOUT 10000

/*
 * What a socket keeps for the application, its CONNECT payload and the
 * data the hooks set: bounded, so that a client cannot make every socket
 * hold ws_max_payload.
 */
#define NGX_WS_DATA_MAX        8192

/*
 * What a queued entry costs besides its bytes: the entry and, for a reply
 * of its own (a pong), the message's header, in malloc's chunks.
 */
#define NGX_WS_OUT_COST        64

/* the host's uid among socket.io adapters: 16 hex digits */
#define NGX_WS_REDIS_UID_LEN   16

#define NGX_WS_REDIS_DOWN        0
#define NGX_WS_REDIS_CONNECTING  1
#define NGX_WS_REDIS_UP          2

/* workers of every generation alive at once, and namespaces counted */
#define NGX_WS_ZONE_SLOTS      128
#define NGX_WS_ZONE_NSPS       64


typedef struct ngx_ws_nsp_s      ngx_ws_nsp_t;
typedef struct ngx_ws_session_s  ngx_ws_session_t;
typedef struct ngx_ws_socket_s   ngx_ws_socket_t;
typedef struct ngx_ws_room_s     ngx_ws_room_t;
typedef struct ngx_ws_member_s   ngx_ws_member_t;
typedef struct ngx_ws_msg_s      ngx_ws_msg_t;
typedef struct ngx_ws_out_s      ngx_ws_out_t;
typedef struct ngx_ws_hooks_s    ngx_ws_hooks_t;
typedef struct ngx_ws_hook_item_s  ngx_ws_hook_item_t;
typedef struct ngx_ws_call_s     ngx_ws_call_t;
typedef struct ngx_ws_hook_binary_s  ngx_ws_hook_binary_t;
typedef struct ngx_ws_poll_s     ngx_ws_poll_t;


/* ws_redis: where the hosts of a cluster meet */
typedef struct {
    ngx_str_t                  url;            /* as written, for logs */
    ngx_addr_t                *addr;           /* resolved at load time */
    ngx_str_t                  user;
    ngx_str_t                  password;
    ngx_str_t                  prefix;         /* "socket.io" */
    ngx_uint_t                 db;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 backoff_max;
    ngx_uint_t                 sharded;        /* NGX_WS_SHARDED_* */
} ngx_ws_redis_conf_t;

/* createShardedAdapter's subscriptionMode: "dynamic" (its default) */
#define NGX_WS_SHARDED_DYNAMIC   1
#define NGX_WS_SHARDED_STATIC    2


typedef struct {
    ngx_array_t                namespaces;     /* ngx_str_t, [0] is "/" */
    ngx_uint_t                 used;           /* ws_socketio or ws_push */
    size_t                     zone_size;
    ngx_shm_zone_t            *zone;
    ngx_ws_redis_conf_t       *redis;          /* NULL: one host alone */
    size_t                     recovery_size;  /* ws_recovery_zone */
    ngx_shm_zone_t            *recovery_zone;
    ngx_msec_t                 recovery_max;   /* the longest ws_recovery */
    ngx_array_t               *recovery_locs;  /* ngx_ws_loc_conf_t *, for
                                                  deferred disconnects */
} ngx_ws_main_conf_t;


/* A worker's place in the zone: who it is and what it holds. */
typedef struct {
    ngx_pid_t                  pid;            /* 0: free */
    ngx_uint_t                 generation;
    time_t                     start;
    ngx_atomic_t               connections;
    ngx_atomic_t               gaps;           /* operations it missed */
    ngx_atomic_t               sockets[NGX_WS_ZONE_NSPS];
    u_char                     wake[NGX_WS_ID_LEN];  /* its wake-up
                                                  socket's random name */
} ngx_ws_slot_t;


typedef struct {
    size_t                     len;
    u_char                     data[256];
} ngx_ws_zone_nsp_t;


/* ws_limit_conn_per_ip's count per client address (ngx_ws_limit.c) */
typedef struct {
    ngx_rbtree_t               tree;
    ngx_rbtree_node_t          sentinel;
    ngx_uint_t                 entries;
} ngx_ws_limit_sh_t;


/* The shared memory zone (ngx_ws_zone.c, ngx_ws_broker.c). */
typedef struct {
    ngx_slab_pool_t           *shpool;
    ngx_rbtree_t               registry;
    ngx_rbtree_node_t          sentinel;

    /* the log of operations: a ring of records */
    u_char                    *ring;
    size_t                     size;
    size_t                     head;
    size_t                     tail;
    size_t                     used;
    uint64_t                   next_seq;
    uint64_t                   first_seq;      /* the oldest one kept */
    uint64_t                   wrap_seq;       /* the last one written at
                                                  the ring's start */

    ngx_uint_t                 generation;

    /* the one worker of the host that talks to Redis, and how it goes */
    ngx_atomic_t               redis_pid;
    ngx_atomic_t               redis_state;    /* NGX_WS_REDIS_* */
    ngx_atomic_t               redis_lost;     /* not published: down */
    ngx_atomic_t               redis_reconnects;
    u_char                     uid[NGX_WS_REDIS_UID_LEN];  /* the host's,
                                                  as an adapter's */

    ngx_ws_limit_sh_t          limit;

    void                      *metrics;        /* ngx_ws_metrics.c */

    ngx_uint_t                 nnsps;
    ngx_ws_zone_nsp_t          nsps[NGX_WS_ZONE_NSPS];
    ngx_ws_slot_t              slots[NGX_WS_ZONE_SLOTS];

    /* the rooms the host has, for the sharded adapter (ngx_ws_shard.c) */
    ngx_rbtree_t               rooms;
    ngx_rbtree_node_t          rooms_sentinel;
} ngx_ws_sh_t;


typedef struct {
    ngx_array_t               *namespaces;     /* ngx_uint_t indexes */
    ngx_msec_t                 ping_interval;
    ngx_msec_t                 ping_timeout;
    ngx_msec_t                 connect_timeout;
    ngx_msec_t                 send_timeout;
    size_t                     max_payload;
    size_t                     write_queue;
    ngx_flag_t                 json_errors;    /* nginx's errors as JSON */

    ngx_str_t                  hook_connect;
    ngx_str_t                  hook_event;
    ngx_str_t                  hook_disconnect;
    ngx_array_t               *hook_headers;   /* ngx_str_t, lowercase */
    ngx_uint_t                 hook_queue;     /* events a socket queues */
    size_t                     hook_queue_size;
    ngx_uint_t                 hook_concurrency;
    ngx_array_t               *relays;         /* ngx_ws_relay_t */
    ngx_http_conf_ctx_t       *ctx;            /* hook requests run in it */

    ngx_array_t               *cors_origins;   /* ws_cors_origin, parsed */
    ngx_flag_t                 cors_credentials;
    ngx_str_t                  cookie;         /* ws_cookie name, "": off */
    ngx_str_t                  cookie_path;

    ngx_uint_t                 limit_conn;     /* per address, 0: off */

    ngx_msec_t                 recovery;       /* ws_recovery, 0: off */
    ngx_flag_t                 recovery_skip_hooks;
} ngx_ws_loc_conf_t;


/* ws_relay: an event re-emitted by nginx, with no hook */
typedef struct {
    ngx_str_t                  event;
    ngx_int_t                  room;           /* argument N, or -1 */
} ngx_ws_relay_t;


/* body is NULL when the call failed */
typedef void (*ngx_ws_call_pt)(ngx_ws_call_t *call, u_char *body,
    size_t len);


/* An HTTP call to the application, in a pool of its own. */
struct ngx_ws_call_s {
    ngx_pool_t                *pool;
    ngx_connection_t          *connection;     /* the call's own */
    ngx_ws_call_pt             handler;
    void                      *data;
    ngx_str_t                  uri;
    const char                *name;
    uint64_t                   start;          /* for its latency, in us */
    unsigned                   answered:1;
    unsigned                   finalized:1;
};


/*
 * A session's calls to the application, one at a time and in order.  It
 * outlives its session while calls are queued or in flight (the
 * disconnect hook comes after the events).
 */
struct ngx_ws_hooks_s {
    ngx_ws_session_t          *session;        /* NULL once it is gone */
    ngx_ws_loc_conf_t         *conf;
    ngx_ws_hook_item_t        *head;
    ngx_ws_hook_item_t       **tail;
    ngx_uint_t                 events;         /* queued, not sent */
    size_t                     bytes;
    ngx_queue_t                wait;           /* for a call slot */
    ngx_event_t                next;           /* sends the next call */
    ngx_ws_hook_binary_t      *binary;         /* an event's attachments
                                                  still due */
    ngx_listening_t           *listening;
    socklen_t                  socklen;
    socklen_t                  local_socklen;
    ngx_sockaddr_t             sockaddr;
    ngx_sockaddr_t             local_sockaddr;
    unsigned                   busy:1;
    unsigned                   waiting:1;
    u_char                     sid[NGX_WS_ID_LEN];
    u_char                     info[1];        /* address\0name\0value\0
                                                  ...\0 */
};


/*
 * A namespace of this worker: its sockets, the index of their ids (the
 * room every socket is in) and its named rooms.
 */
struct ngx_ws_nsp_s {
    ngx_str_t                  name;
    ngx_uint_t                 zone_index;     /* its counters in the zone */
    ngx_queue_t                sockets;
    ngx_uint_t                 nsockets;
    ngx_rbtree_t               ids;
    ngx_rbtree_node_t          ids_sentinel;
    ngx_rbtree_t               rooms;
    ngx_rbtree_node_t          rooms_sentinel;
};


/*
 * An Engine.IO session, over one of two transports: a WebSocket connection
 * it owns after the hand-off, or long-polling, where requests come and go
 * and the session keeps its queue and its timers in an ngx_ws_poll_t.  An
 * upgrade moves a live session from the second to the first.  The node of
 * the worker's sid index comes first and the sid right after it
 * (ngx_ws_id_rbtree_insert_value() finds ids there); the layout keeps the
 * struct at 208 bytes, a malloc chunk of 224 (the packet counts of its
 * access log line took it past 200 and a chunk of 208).  Where
 * ws_limit_conn_per_ip is set, a pointer to the session's count follows
 * the struct (ngx_ws_limit.c): 8 bytes there only, not in every session.
 */
struct ngx_ws_session_s {
    ngx_rbtree_node_t          node;           /* worker's sid index */
    u_char                     sid[NGX_WS_ID_LEN];

    unsigned                   attachments:4;  /* binary frames expected */
    unsigned                   pong_wait:1;
    unsigned                   connected:1;
    unsigned                   closing:1;
    unsigned                   peer_closed:1;
    unsigned                   discard:1;
    unsigned                   error:1;
    unsigned                   b64:1;
    unsigned                   started:1;
    unsigned                   throttled:1;    /* the hook queue is full */
    unsigned                   polling:1;      /* poll, not connection */
    unsigned                   probe:1;        /* a WebSocket upgrading the
                                                  polling session of sid */
    unsigned                   upgraded:1;     /* the probe got its "5" */
    unsigned                   relay:1;        /* a WebSocket of a session
                                                  of another worker */
    unsigned                   limited:1;      /* counted by
                                                  ws_limit_conn_per_ip */
    unsigned                   logged:1;       /* its end is logged */
    unsigned                   flush_later:1;  /* in the writes spread
                                                  over turns */

    union {
        ngx_connection_t      *connection;     /* WebSocket */
        ngx_ws_poll_t         *poll;           /* long-polling */
    };

    ngx_ws_loc_conf_t         *conf;
    ngx_ws_socket_t           *sockets;

    u_char                    *rbuf;           /* NULL while idle */
    size_t                     rbuf_len;
    size_t                     rbuf_size;

    ngx_ws_out_t              *out;
    ngx_ws_out_t             **out_last;
    size_t                     out_bytes;

    ngx_ws_parser_t            parser;

    ngx_msec_t                 heartbeat_at;
    ngx_msec_t                 connect_at;

    ngx_ws_hooks_t            *hooks;          /* NULL: no hooks */

    uint32_t                   packets_in;     /* for its log line */
    uint32_t                   packets_out;
};


/*
 * What a long-polling session keeps between its requests.  The parked GET
 * and the POST whose packets wait are the requests' own: each has a
 * cleanup that finds the session again by sid, and the session lets go of
 * them before it answers them.
 */
struct ngx_ws_poll_s {
    ngx_http_request_t        *get;            /* parked, waiting for data */
    ngx_http_request_t        *post;           /* its packets not all read */
    u_char                    *post_data;      /* what is left of them */
    size_t                     post_len;
    ngx_event_t                timer;          /* heartbeat, connect, linger */
    ngx_event_t                flush;          /* posted: answer the GET */
    ngx_log_t                  log;
    ngx_pid_t                  get_pid;        /* a GET parked in that
                                                  worker */
    ngx_pid_t                  ws_pid;         /* upgraded to a WebSocket
                                                  held by that worker */
    ngx_msec_t                 start;          /* for its log line */
    unsigned                   probing:1;      /* a probe is connected */
    unsigned                   upgrading:1;    /* a probe said "2probe" */
};


#define NGX_WS_POLL_TEXT       "text/plain; charset=UTF-8"


/* A request's hold on its session: found again by sid, never by pointer. */
typedef struct {
    ngx_http_request_t        *request;
    u_char                     sid[NGX_WS_ID_LEN];
} ngx_ws_poll_ref_t;


/* A Socket.IO socket: a session's membership of one namespace. */
struct ngx_ws_socket_s {
    ngx_rbtree_node_t          node;           /* nsp->ids, the id next */
    u_char                     id[NGX_WS_ID_LEN];
    unsigned                   pending:1;      /* the connect hook runs */
    unsigned                   data_is_auth:1;
    unsigned                   recovering:1;   /* a kept session claimed */
    ngx_queue_t                queue;          /* nsp->sockets */
    ngx_ws_session_t          *session;
    ngx_ws_nsp_t              *nsp;
    ngx_ws_socket_t           *next;           /* session->sockets */
    ngx_ws_member_t           *rooms;
    u_char                    *data;           /* the CONNECT payload until
                                                  the connect hook, then the
                                                  socket data the app sets */
    uint32_t                   data_len;
    uint32_t                   mark;           /* broadcast epoch */
};


struct ngx_ws_room_s {
    ngx_str_node_t             node;
    ngx_queue_t                members;
    ngx_uint_t                 count;
};


struct ngx_ws_member_s {
    ngx_queue_t                queue;          /* room->members */
    ngx_ws_member_t           *next;           /* socket->rooms */
    ngx_ws_room_t             *room;
    ngx_ws_socket_t           *socket;
};


/*
 * Encoded WebSocket frames, shared by every receiver of a broadcast and
 * freed when the last write queue lets go of them.
 */
struct ngx_ws_msg_s {
    ngx_uint_t                 refs;
    size_t                     len;
    u_char                     data[1];
};


struct ngx_ws_out_s {
    ngx_ws_out_t              *next;
    ngx_ws_msg_t              *msg;
    size_t                     pos;
};


/* What a broadcast selects: a namespace, rooms (none: all), except rooms. */
typedef struct {
    ngx_ws_nsp_t              *nsp;
    ngx_str_t                 *rooms;
    ngx_uint_t                 nrooms;
    ngx_str_t                 *except;
    ngx_uint_t                 nexcept;
} ngx_ws_target_t;


typedef void (*ngx_ws_socket_pt)(ngx_ws_socket_t *sock, void *data);


/*
 * An emit's frames, built once in each form a client may need: binary
 * attachments as binary frames or as "b<base64>" (NGX_WS_MSG_B64), with
 * or without the op's offset as the last argument (NGX_WS_MSG_OFFSET,
 * for clients of a location with ws_recovery).
 */
#define NGX_WS_MSG_B64         1
#define NGX_WS_MSG_OFFSET      2

typedef struct {
    ngx_ws_op_t               *op;
    ngx_ws_msg_t              *msgs[4];
} ngx_ws_event_t;


typedef struct {
    ngx_rbtree_t               sessions;
    ngx_rbtree_node_t          sentinel;
    ngx_uint_t                 nsessions;
    ngx_ws_nsp_t              *nsps;
    ngx_uint_t                 nnsps;
    uint32_t                   epoch;
    time_t                     start;
    size_t                     rand_left;
    u_char                     rand[NGX_WS_ID_RAW * 64];

    ngx_slab_pool_t           *shpool;
    ngx_ws_sh_t               *sh;             /* NULL: no zone */
    ngx_ws_slot_t             *slot;
    ngx_uint_t                 slot_index;
    uint64_t                   applied;        /* the last op seen */
    size_t                     pos;            /* where the next one is */
    ngx_connection_t          *wake;
    u_char                    *copy;
    size_t                     copy_size;
    ngx_uint_t                 registry_full;

    ngx_rbtree_t               holds;          /* GETs of other workers'
                                                  sessions, by sid */
    ngx_rbtree_node_t          holds_sentinel;

    ngx_uint_t                 calls;          /* hook calls in flight */
    ngx_queue_t                calls_wait;     /* ngx_ws_hooks_t waiting */
} ngx_ws_worker_t;


extern ngx_module_t     ngx_ws_module;
extern ngx_ws_worker_t  ngx_ws_worker;


/* ngx_ws_http.c */
ngx_int_t ngx_ws_http_init_filters(ngx_conf_t *cf);
ngx_int_t ngx_ws_http_reply(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len);
ngx_int_t ngx_ws_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_ws_http_not_allowed(ngx_http_request_t *r, const char *allow);
ngx_int_t ngx_ws_http_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, u_char *body, size_t len);
ngx_table_elt_t *ngx_ws_http_header_in(ngx_http_request_t *r,
    const char *name, size_t len);
ngx_int_t ngx_ws_http_header_out(ngx_http_request_t *r, const char *name,
    size_t nlen, u_char *value, size_t vlen);

/* ngx_ws_cors.c */
ngx_int_t ngx_ws_cors(ngx_http_request_t *r);
ngx_int_t ngx_ws_cors_cookie(ngx_http_request_t *r, u_char *sid, size_t len);
char *ngx_ws_cors_origin_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_ws_cors_cookie_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_ws_handshake.c */
ngx_int_t ngx_ws_socketio_handler(ngx_http_request_t *r);

/* ngx_ws_session.c */
ngx_ws_session_t *ngx_ws_session_create(ngx_connection_t *c,
    ngx_ws_loc_conf_t *conf);
u_char *ngx_ws_session_open(ngx_ws_session_t *s, ngx_pool_t *pool,
    size_t *len);
ngx_int_t ngx_ws_session_input(ngx_ws_session_t *s, u_char *data,
    size_t len);
void ngx_ws_session_start(ngx_ws_session_t *s);
void ngx_ws_session_free(ngx_ws_session_t *s);
ngx_int_t ngx_ws_session_send(ngx_ws_session_t *s, ngx_ws_msg_t *msg);
ngx_int_t ngx_ws_session_send_later(ngx_ws_session_t *s, ngx_ws_msg_t *msg);
void ngx_ws_session_flush_later(ngx_connection_t *c);

/* ngx_ws_flush.c */
void ngx_ws_flush_add(ngx_connection_t *c);
void ngx_ws_flush_exit(void);
void ngx_ws_session_close(ngx_ws_session_t *s, ngx_uint_t code,
    const char *reason);
void ngx_ws_session_close_all(void);
ngx_ws_session_t *ngx_ws_session_find(u_char *sid);
void ngx_ws_session_register(ngx_ws_session_t *s);
void ngx_ws_session_detach(ngx_ws_session_t *s, const char *reason);
void ngx_ws_session_resume(ngx_ws_session_t *s);
void ngx_ws_session_heartbeat(ngx_ws_session_t *s);
void ngx_ws_session_timer_arm(ngx_ws_session_t *s);
void ngx_ws_session_engineio(ngx_ws_session_t *s, unsigned binary,
    u_char *payload, size_t len);
ngx_int_t ngx_ws_session_upgrade(ngx_http_request_t *r,
    ngx_ws_session_t *s);
void ngx_ws_id_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
ngx_rbtree_node_t *ngx_ws_id_rbtree_lookup(ngx_rbtree_t *tree, u_char *id);
ngx_int_t ngx_ws_id_generate(u_char *id);

/* ngx_ws_poll.c */
ngx_int_t ngx_ws_poll_open(ngx_http_request_t *r);
ngx_int_t ngx_ws_poll_request(ngx_http_request_t *r, ngx_ws_session_t *s);
ngx_int_t ngx_ws_poll_detach(ngx_ws_session_t *s);
void ngx_ws_poll_closed(ngx_ws_session_t *s);
void ngx_ws_poll_end(ngx_ws_session_t *s, const char *reason);
ngx_int_t ngx_ws_poll_reply(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, u_char *body, size_t len);
ngx_int_t ngx_ws_poll_post_check(ngx_http_request_t *r, size_t max_payload);
ngx_int_t ngx_ws_poll_body_len(ngx_http_request_t *r, size_t max_payload,
    size_t *len);
u_char *ngx_ws_poll_body_copy(ngx_http_request_t *r, u_char *p);
void ngx_ws_poll_relayed(ngx_ws_session_t *s, ngx_ws_op_t *op,
    ngx_pid_t from);

/* ngx_ws_relay.c */
#define NGX_WS_RELAY_GET       0
#define NGX_WS_RELAY_GET_GONE  1
#define NGX_WS_RELAY_POST      2
#define NGX_WS_RELAY_END       3
#define NGX_WS_RELAY_PROBE     4
#define NGX_WS_RELAY_UPGRADE   5
#define NGX_WS_RELAY_PACKET    6
#define NGX_WS_RELAY_ANSWER    7
#define NGX_WS_RELAY_FRAMES    8
#define NGX_WS_RELAY_GATHER    9
#define NGX_WS_RELAY_PART      10
#define NGX_WS_RELAY_ROOM      11

extern ngx_str_t  ngx_ws_eio_unknown_sid;
extern ngx_str_t  ngx_ws_eio_bad_request;

ngx_pid_t ngx_ws_relay_owner(u_char *sid, size_t len);
ngx_int_t ngx_ws_relay_request(ngx_http_request_t *r, u_char *sid,
    ngx_pid_t owner);
ngx_int_t ngx_ws_relay_send(ngx_uint_t kind, u_char *sid, ngx_pid_t target,
    ngx_uint_t status, u_char *data, size_t len);
void ngx_ws_relay_apply(ngx_ws_op_t *op, ngx_pid_t from);
void ngx_ws_relay_close_all(void);
ngx_int_t ngx_ws_poll_queue(ngx_ws_session_t *s, ngx_ws_msg_t *msg);
void ngx_ws_poll_fail(ngx_ws_session_t *s);
void ngx_ws_poll_close(ngx_ws_session_t *s);
void ngx_ws_poll_resume(ngx_ws_session_t *s);
void ngx_ws_poll_probed(ngx_ws_session_t *s);
void ngx_ws_poll_free(ngx_ws_session_t *s);
void ngx_ws_poll_close_all(void);


static ngx_inline ngx_log_t *
ngx_ws_session_log(ngx_ws_session_t *s)
{
    return s->polling ? &s->poll->log : s->connection->log;
}


/* ngx_ws_socket.c */
const char *ngx_ws_socket_packet(ngx_ws_session_t *s, u_char *data,
    size_t len);
const char *ngx_ws_socket_attachment(ngx_ws_session_t *s, u_char *data,
    size_t len);
const char *ngx_ws_socket_accept(ngx_ws_socket_t *sock);
ngx_int_t ngx_ws_socket_refuse(ngx_ws_socket_t *sock, u_char *json,
    size_t len);
ngx_ws_socket_t *ngx_ws_socket_by_id(ngx_ws_session_t *s, u_char *id);
void ngx_ws_socket_destroy(ngx_ws_socket_t *sock, const char *reason);
void ngx_ws_socket_disconnect(ngx_ws_socket_t *sock);
ngx_ws_nsp_t *ngx_ws_nsp_find(u_char *name, size_t len);

/* ngx_ws_room.c */
ngx_int_t ngx_ws_room_join(ngx_ws_socket_t *sock, ngx_str_t *name);
void ngx_ws_room_leave(ngx_ws_socket_t *sock, ngx_str_t *name);
void ngx_ws_room_leave_all(ngx_ws_socket_t *sock);
ngx_uint_t ngx_ws_select(ngx_ws_target_t *t, ngx_ws_socket_pt handler,
    void *data);

/* ngx_ws_msg.c */
ngx_ws_msg_t *ngx_ws_msg_frame(unsigned opcode, size_t len, u_char **p);
void ngx_ws_msg_release(ngx_ws_msg_t *msg);
ngx_ws_msg_t *ngx_ws_event_msg(ngx_ws_event_t *ev, unsigned form);
void ngx_ws_event_release(ngx_ws_event_t *ev);

/* ngx_ws_apply.c */
ngx_int_t ngx_ws_apply(ngx_ws_op_t *op, ngx_pool_t *pool,
    ngx_uint_t *matched);
void *ngx_ws_pool_alloc(void *data, size_t size);

/* ngx_ws_zone.c */
ngx_int_t ngx_ws_zone_add(ngx_conf_t *cf, ngx_ws_main_conf_t *wmcf);
ngx_int_t ngx_ws_zone_attach(ngx_cycle_t *cycle);
void ngx_ws_zone_detach(void);
void ngx_ws_zone_count(ngx_ws_nsp_t *nsp, ngx_atomic_int_t n);
void ngx_ws_registry_add(u_char *id);
void ngx_ws_registry_del(u_char *id);
ngx_pid_t ngx_ws_registry_owner(u_char *id, size_t len);
ngx_uint_t ngx_ws_pid_alive(ngx_pid_t pid);

/* ngx_ws_limit.c */
#define ngx_ws_limit_extra(conf)  ((conf)->limit_conn ? sizeof(void *) : 0)

char *ngx_ws_limit_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_ws_limit_init(ngx_ws_sh_t *sh);
ngx_int_t ngx_ws_limit_take(ngx_http_request_t *r, ngx_ws_session_t *s);
void ngx_ws_limit_release(ngx_ws_session_t *s);
void ngx_ws_limit_release_slot(ngx_ws_sh_t *sh, ngx_uint_t slot);

/* ngx_ws_broker.c */
ngx_int_t ngx_ws_broker_init(ngx_cycle_t *cycle);
void ngx_ws_broker_exit(void);
ngx_int_t ngx_ws_broker_publish(ngx_ws_op_t *op, ngx_pool_t *pool,
    ngx_uint_t *matched);
ngx_int_t ngx_ws_broker_relay(ngx_ws_op_t *op);

/* ngx_ws_redis.c */
char *ngx_ws_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_ws_redis_init(ngx_cycle_t *cycle);
void ngx_ws_redis_exit(void);
void ngx_ws_redis_forward(ngx_ws_op_t *op);
void ngx_ws_redis_response(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *to,
    u_char *body, size_t len);
ngx_int_t ngx_ws_redis_publish(ngx_str_t *channel, u_char *data, size_t len);
void ngx_ws_redis_want(ngx_str_t *channel, ngx_uint_t room);
ngx_str_t *ngx_ws_redis_prefix(void);
ngx_str_t *ngx_ws_redis_channel(ngx_pool_t *pool, const char *kind,
    ngx_ws_bytes_t *nsp);

/* ngx_ws_classic.c (and ngx_ws_redis.h) */
void ngx_ws_classic_forward(ngx_ws_op_t *op);
void ngx_ws_classic_response(ngx_ws_bytes_t *nsp, u_char *body, size_t len);

/* ngx_ws_shard.c */
extern ngx_uint_t  ngx_ws_shard_rooms;
void ngx_ws_shard_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
void ngx_ws_shard_room(ngx_ws_nsp_t *nsp, ngx_str_t *name, ngx_uint_t held);
void ngx_ws_shard_room_apply(ngx_ws_op_t *op);
void ngx_ws_shard_rooms_release(ngx_ws_sh_t *sh, ngx_uint_t slot);
ngx_uint_t ngx_ws_shard_room_held(ngx_str_t *channel);
void ngx_ws_shard_want_all(void);
void ngx_ws_shard_forward(ngx_ws_op_t *op);
void ngx_ws_shard_message(u_char *channel, size_t channel_len, u_char *p,
    size_t len);
void ngx_ws_shard_fetch_response(ngx_ws_bytes_t *nsp, ngx_ws_bytes_t *to,
    u_char *body, size_t len);

/* ngx_ws_gather.c */
void ngx_ws_gather_start(ngx_ws_bytes_t *nsp, ngx_uint_t type, u_char *p,
    size_t len, ngx_ws_bytes_t *to, ngx_pool_t *pool);
void ngx_ws_gather_apply(ngx_ws_op_t *op, ngx_pid_t from);
void ngx_ws_gather_exit(void);

/* ngx_ws_call.c */
ngx_ws_call_t *ngx_ws_call_create(ngx_str_t *uri, const char *name);
ngx_int_t ngx_ws_call_start(ngx_ws_call_t *call, ngx_ws_hooks_t *hooks,
    u_char *body, size_t len);
u_char *ngx_ws_json_member(u_char *p, u_char *end, const char *key,
    u_char **val_end);

/* ngx_ws_hook.c */
ngx_int_t ngx_ws_hook_keep(ngx_http_request_t *r, ngx_ws_session_t *s);
void ngx_ws_hook_release(ngx_ws_session_t *s);
ngx_int_t ngx_ws_hook_connect(ngx_ws_socket_t *sock);
ngx_int_t ngx_ws_hook_event(ngx_ws_socket_t *sock, u_char *payload,
    size_t len, int64_t ack_id);
ngx_int_t ngx_ws_hook_binary_event(ngx_ws_socket_t *sock,
    ngx_ws_sio_packet_t *pkt);
ngx_int_t ngx_ws_hook_attachment(ngx_ws_session_t *s, u_char *data,
    size_t len);
void ngx_ws_hook_disconnect(ngx_ws_socket_t *sock, const char *reason);
size_t ngx_ws_hook_disconnect_len(ngx_ws_socket_t *sock, const char *reason);
u_char *ngx_ws_hook_disconnect_write(u_char *p, ngx_ws_socket_t *sock,
    const char *reason);
ngx_int_t ngx_ws_hook_deferred(ngx_ws_hooks_t *hooks, u_char *body,
    size_t len);

/* ngx_ws_push.c */
ngx_int_t ngx_ws_push_handler(ngx_http_request_t *r);

/* ngx_ws_health.c */
ngx_int_t ngx_ws_health_handler(ngx_http_request_t *r);


#endif /* _NGX_WS_H_INCLUDED_ */
