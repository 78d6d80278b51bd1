
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_ADAPTER_H_INCLUDED_
#define _NGX_WS_ADAPTER_H_INCLUDED_


/*
 * The operation record and the wire format of socket.io's Redis adapter
 * (@socket.io/redis-adapter v8, lib/index.ts) and emitter
 * (@socket.io/redis-emitter v5), both ways: broadcasts are msgpack as
 * notepack.io writes it, requests JSON (msgpack when they do not start
 * with '{').  libc and msgpack-c's packer only, so that it can be unit
 * tested and fuzzed alone.
 *
 * Values map as a Node server with the adapter maps them: a msgpack value
 * becomes the JSON text socket.io-parser would send for what notepack.io
 * decodes (numbers printed as JavaScript prints them, NaN and Infinity as
 * null, Dates (timestamp ext -1, legacy ext 0) as ISO-8601 strings,
 * invalid UTF-8 in strings replaced by U+FFFD, undefined members left
 * out, a key that comes twice in the first place with the last value,
 * bin and ArrayBuffer as binary attachments, other extensions as
 * [type, attachment]); JSON becomes msgpack as notepack.io encodes what
 * JSON.parse() gives (integers in the smallest int form, other numbers
 * float64, placeholders of a BINARY_EVENT as bin).  One difference: an
 * integer beyond the uint64/int64 range goes as float64, where
 * notepack.io writes it wrapped around.
 */


#include "ngx_ws_op.h"


/* the request types of the adapter's request channel (RequestType) */
#define NGX_WS_ADAPTER_SOCKETS              0
#define NGX_WS_ADAPTER_ALL_ROOMS            1
#define NGX_WS_ADAPTER_REMOTE_JOIN          2
#define NGX_WS_ADAPTER_REMOTE_LEAVE         3
#define NGX_WS_ADAPTER_REMOTE_DISCONNECT    4
#define NGX_WS_ADAPTER_REMOTE_FETCH         5
#define NGX_WS_ADAPTER_SERVER_SIDE_EMIT     6
#define NGX_WS_ADAPTER_BROADCAST            7
#define NGX_WS_ADAPTER_BROADCAST_COUNT      8
#define NGX_WS_ADAPTER_BROADCAST_ACK        9

/* *type when the message has no type that is an integer 0..255 */
#define NGX_WS_ADAPTER_NO_TYPE              ((unsigned) -1)

/* flags of a broadcast, from its opts.flags */
#define NGX_WS_ADAPTER_VOLATILE             0x01


/*
 * The channel an op is published to, with prefix ("socket.io" by
 * default): an EMIT goes to "<prefix>#<nsp>#", or to
 * "<prefix>#<nsp>#<room>#" when it names exactly one room (one distinct
 * room, as the adapter's Set counts); JOIN, LEAVE and DISCONNECT go to
 * the request channel "<prefix>-request#<nsp>#".  _len() is the exact
 * length that ngx_ws_adapter_channel() writes, without a NUL.
 */
size_t ngx_ws_adapter_channel_len(ngx_ws_op_t *op, const u_char *prefix,
    size_t prefix_len);
u_char *ngx_ws_adapter_channel(u_char *dst, ngx_ws_op_t *op,
    const u_char *prefix, size_t prefix_len);

/*
 * The message that publishes op from the adapter uid (the host's, never
 * "emitter"), in memory from alloc, exactly as a Node server with the
 * adapter writes it:
 *
 * - EMIT: msgpack [uid, {"type":2, "data":[event, args...], "nsp":nsp},
 *   {"rooms":[...], "except":[...], "flags":{}}], from op->packet (an
 *   EVENT or BINARY_EVENT without ack id, as ngx_ws_op_packet() writes
 *   it) and op->bins.  The type is 2 with binary too: the adapter
 *   publishes the packet before socket.io-parser makes it a BINARY_EVENT.
 *   Rooms and except go without duplicates, in their order.
 * - JOIN, LEAVE: JSON {"uid":..,"type":2|3,"opts":{"rooms":[..],
 *   "except":[..]},"rooms":[names]}; DISCONNECT: JSON {"uid":..,"type":4,
 *   "opts":{..},"close":true|false}.
 *
 * Returns NULL, or the reason it cannot (JSON-safe text), or
 * ngx_ws_op_nomem.
 */
const char *ngx_ws_adapter_encode(ngx_ws_op_t *op, const u_char *uid,
    size_t uid_len, u_char **out, size_t *out_len, ngx_ws_op_alloc_pt alloc,
    void *data);

/*
 * A message from a broadcast channel "<prefix>#<nsp>#..." (from the
 * adapter or the emitter: the maps are read by key; "nsp" absent is "/")
 * into an EMIT op whose packet and bins are what ngx_ws_op_packet() gives
 * for the same event: "2<nsp>,[...]" or "5N-<nsp>,[...]" with N
 * attachments.  *uid is the sender's adapter uid (empty when it is no
 * string), for the caller to ignore its own messages; *flags (may be
 * NULL) gets NGX_WS_ADAPTER_VOLATILE when opts.flags.volatile is truthy.
 * The caller checks op->nsp against the channel's.
 *
 * op->nsp, rooms, except, bins and *uid point into p..p+len; the packet
 * and the lists are from alloc.  Returns NULL, or the reason the message
 * is refused (JSON-safe text): not msgpack, a packet type other than 2 or
 * 5, no event name or a reserved one, more than 10 binary attachments,
 * nesting over 1000 levels, map keys that are no strings of valid UTF-8,
 * a map with "_placeholder" true beside binary data (a client would take
 * it for an attachment), names with NUL or invalid UTF-8...; or
 * ngx_ws_op_nomem.
 */
const char *ngx_ws_adapter_decode(u_char *p, size_t len, ngx_ws_op_t *op,
    ngx_ws_bytes_t *uid, unsigned *flags, ngx_ws_op_alloc_pt alloc,
    void *data);

/*
 * A message from the request channel "<prefix>-request#nsp#" (JSON when
 * it starts with '{', else msgpack), of namespace nsp: *type gets its
 * type (NGX_WS_ADAPTER_NO_TYPE if none), *uid the sender's uid (empty if
 * none: the emitter sends none).  REMOTE_JOIN, REMOTE_LEAVE and
 * REMOTE_DISCONNECT become a JOIN, LEAVE or DISCONNECT op: opts.rooms
 * and opts.except its rooms and except, "rooms" its names (a string or
 * an array of strings), "close" its close (truthy as JavaScript sees
 * it).  Any other type, and the legacy forms without "opts", return a
 * reason with op zeroed and *type set: the caller answers what it answers
 * from *type.  Strings point into p..p+len or into memory from alloc.
 */
const char *ngx_ws_adapter_request(u_char *p, size_t len, ngx_ws_bytes_t *nsp,
    ngx_ws_op_t *op, unsigned *type, ngx_ws_bytes_t *uid,
    ngx_ws_op_alloc_pt alloc, void *data);


/*
 * A broadcast with acks from a Node server (request type 7, msgpack
 * {uid, requestId, type, packet, opts}): its broadcast as an EMIT op, as
 * ngx_ws_adapter_decode() reads one, and its requestId (valid UTF-8, for
 * the answer).
 */
const char *ngx_ws_adapter_broadcast_request(u_char *p, size_t len,
    ngx_ws_op_t *op, ngx_ws_bytes_t *uid, ngx_ws_bytes_t *request_id,
    ngx_ws_op_alloc_pt alloc, void *data);


/*
 * The sharded adapter (createShardedAdapter, Redis 7 SSUBSCRIBE and
 * SPUBLISH) speaks socket.io-adapter's ClusterAdapter messages:
 * {type, data, uid, nsp}, JSON, or msgpack when the data holds binary.
 * Its MessageType values:
 */
#define NGX_WS_SHARD_BROADCAST              3
#define NGX_WS_SHARD_SOCKETS_JOIN           4
#define NGX_WS_SHARD_SOCKETS_LEAVE          5
#define NGX_WS_SHARD_DISCONNECT_SOCKETS     6
#define NGX_WS_SHARD_FETCH_SOCKETS          7
#define NGX_WS_SHARD_FETCH_SOCKETS_RESPONSE 8
#define NGX_WS_SHARD_SERVER_SIDE_EMIT       9
#define NGX_WS_SHARD_SERVER_SIDE_EMIT_RESPONSE  10
#define NGX_WS_SHARD_BROADCAST_CLIENT_COUNT 11

/* a room channel is not used for a room named like a socket id */
#define NGX_WS_SHARD_ID_LEN                 20


/* what a cluster message says besides its operation */
typedef struct {
    unsigned                   type;       /* NGX_WS_ADAPTER_NO_TYPE: none */
    unsigned                   flags;      /* NGX_WS_ADAPTER_VOLATILE */
    ngx_ws_bytes_t             uid;        /* the sender's; may be empty */
    ngx_ws_bytes_t             nsp;
    ngx_ws_bytes_t             request_id; /* empty: no answer expected */
} ngx_ws_adapter_shard_t;


/*
 * A cluster message (JSON when it starts with '{', else msgpack): *m gets
 * its type, uid, nsp and data.requestId.  A BROADCAST becomes an EMIT op
 * (the packet's namespace is the message's), SOCKETS_JOIN, SOCKETS_LEAVE
 * and DISCONNECT_SOCKETS a JOIN, LEAVE or DISCONNECT op, as the classic
 * adapter's requests do.  Other types return a reason with op zeroed and
 * *m filled in, for the caller to answer.  Strings point into p..p+len or
 * into memory from alloc.
 */
const char *ngx_ws_adapter_shard_decode(u_char *p, size_t len,
    ngx_ws_op_t *op, ngx_ws_adapter_shard_t *m, ngx_ws_op_alloc_pt alloc,
    void *data);

/*
 * op as the sharded adapter of uid publishes it: an EMIT as msgpack
 * {type: 3, data: {packet: {type: 2, data}, opts}, uid, nsp} (msgpack
 * always: binary or not, receivers take both), JOIN, LEAVE, DISCONNECT
 * as JSON {type: 4|5|6, data: {opts, rooms|close}, uid, nsp}, as
 * JSON.stringify() writes them.
 */
const char *ngx_ws_adapter_shard_encode(ngx_ws_op_t *op, const u_char *uid,
    size_t uid_len, u_char **out, size_t *out_len, ngx_ws_op_alloc_pt alloc,
    void *data);

/*
 * Its channel: "<prefix>#<nsp>#<room>#" for an EMIT to exactly one room
 * whose name is not 20 bytes long (the adapter's dynamic subscription
 * mode), else "<prefix>#<nsp>#".
 */
size_t ngx_ws_adapter_shard_channel_len(ngx_ws_op_t *op, size_t prefix_len);
u_char *ngx_ws_adapter_shard_channel(u_char *dst, ngx_ws_op_t *op,
    const u_char *prefix, size_t prefix_len);


/*
 * JavaScript's Number.prototype.toString() of v (the shortest digits that
 * read back as v, "1e+21", "5e-324"), "null" for NaN and the infinities,
 * as JSON.stringify prints it; buf has room for 32 bytes.  Returns the
 * length.
 */
size_t ngx_ws_adapter_number(double v, u_char *buf);


#endif /* _NGX_WS_ADAPTER_H_INCLUDED_ */
