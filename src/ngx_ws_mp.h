
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_MP_H_INCLUDED_
#define _NGX_WS_MP_H_INCLUDED_


/*
 * msgpack and the JSON text socket.io's Redis adapters exchange, both
 * ways, as notepack.io and JSON.parse() read them (ngx_ws_mp.c), for the
 * adapters' formats (ngx_ws_adapter.c).  libc and msgpack-c's packer only.
 */


#include <msgpack.h>

#include "ngx_ws_op.h"


/*
 * Reading msgpack is done here, not with msgpack-c's unpacker: that one
 * allocates count * 24 bytes for an array as soon as it reads the header
 * (5 bytes that claim 2^32 elements ask for 96 GB: ASan aborts, and a
 * worker would be asked to), and nests at most 32 levels
 * (MSGPACK_EMBED_STACK_SIZE) where the module allows 1000.  This reader
 * allocates nothing and checks every count against the bytes left.
 * Writing is msgpack-c's packer, which chooses the smallest forms as
 * notepack.io does.
 */


#define NGX_WS_MP_MAX_DEPTH  NGX_WS_JSON_MAX_DEPTH

/* 2^52: every double of at least this magnitude is an integer */
#define NGX_WS_MP_2_52       4503599627370496.0
#define NGX_WS_MP_2_53       9007199254740992.0
#define NGX_WS_MP_2_32       4294967296.0

/* the longest number Number::toString() prints: -0.000001234...(17) */
#define NGX_WS_MP_NUMBER_MAX  25

/* ECMAScript's time value range, in ms either side of the epoch */
#define NGX_WS_MP_MAX_TIME   8.64e15


typedef enum {
    NGX_WS_MP_NIL = 0,
    NGX_WS_MP_FALSE,
    NGX_WS_MP_TRUE,
    NGX_WS_MP_NUMBER,
    NGX_WS_MP_STR,
    NGX_WS_MP_BIN,
    NGX_WS_MP_EXT,
    NGX_WS_MP_ARRAY,
    NGX_WS_MP_MAP
} ngx_ws_mp_type_e;


/* one msgpack header, and the payload of a STR, BIN or EXT */
typedef struct {
    ngx_ws_mp_type_e           type;
    u_char                     code;     /* the first byte */
    int                        ext;      /* EXT: its type, -128..127 */
    uint32_t                   n;        /* ARRAY, MAP: entries;
                                            STR, BIN, EXT: bytes */
    u_char                    *data;     /* STR, BIN, EXT */
    double                     num;      /* NUMBER: as notepack.io reads
                                            it, a JavaScript number */
} ngx_ws_mp_t;


/* where text goes; with buf NULL it is only counted (the measuring pass) */
typedef struct {
    u_char                    *buf;
    size_t                     len;
    size_t                     cap;
    unsigned                   over;     /* the writing pass wrote more than
                                            the measuring pass counted */
} ngx_ws_mp_out_t;


/* msgpack to JSON text */
typedef struct {
    ngx_ws_mp_out_t            out;
    ngx_ws_bytes_t             bins[NGX_WS_SIO_MAX_ATTACHMENTS];
    unsigned                   nbins;
    unsigned                   lookalike;  /* a map with "_placeholder":
                                              true */
    unsigned                   twice;      /* a map had a key twice */
    u_char                   **slots;      /* the keys of a map: reused,
                                              the values are not read */
    size_t                     nslots;
    ngx_ws_op_alloc_pt         alloc;
    void                      *data;
} ngx_ws_mp_json_t;


/* maps of more keys than this have their keys checked in a hash table */
#define NGX_WS_MP_FEW_KEYS   8


/* a JSON array or object of the payload, as the scan found it */
typedef struct {
    uint32_t                   count;    /* elements, members */
    uint32_t                   end;      /* one past it, from the payload */
    uint32_t                   inner;    /* arrays and objects inside */
    int32_t                    num;      /* "num": an integer >= 0, or -1 */
    uint32_t                   placeholder;  /* "_placeholder" is true */
} ngx_ws_mp_box_t;


/* JSON text to msgpack */
typedef struct {
    msgpack_packer             pk;
    ngx_ws_mp_out_t            out;
    u_char                    *base;     /* the JSON payload */
    u_char                    *end;
    ngx_ws_mp_box_t           *boxes;
    size_t                     nboxes;
    size_t                     k;        /* the next box, in document order */
    u_char                    *scratch;  /* a string or number token's room */
    ngx_ws_bytes_t            *bins;
    size_t                     nbins;    /* 0: placeholders are no binary */
} ngx_ws_mp_pack_t;


#define NGX_WS_MP_OK      0
#define NGX_WS_MP_ERROR  -1


extern const char  ngx_ws_mp_bad_mp[];
extern const char  ngx_ws_mp_deep[];
extern const char  ngx_ws_mp_bins[];


void ngx_ws_mp_put(ngx_ws_mp_out_t *o, const void *p,
    size_t n);
int ngx_ws_mp_sink(void *data, const char *buf, size_t len);
int ngx_ws_mp_read(u_char **pp, u_char *end, ngx_ws_mp_t *v);
int ngx_ws_mp_skip(u_char **pp, u_char *end, uint64_t n);
int ngx_ws_mp_members(u_char *p, u_char *end, const char **keys,
    u_char **vals);
int ngx_ws_mp_string(u_char *p, u_char *end, ngx_ws_bytes_t *s);
int ngx_ws_mp_undefined(u_char *p, u_char *end);
int ngx_ws_mp_truthy(u_char *p, u_char *end);
int ngx_ws_mp_text_valid(const u_char *s, size_t len,
    unsigned nul);
void ngx_ws_mp_json_string(ngx_ws_mp_out_t *o,
    const u_char *s, size_t len, unsigned cesu);
const char *ngx_ws_mp_value(ngx_ws_mp_json_t *j,
    u_char **pp, u_char *end, unsigned depth);
const char *ngx_ws_mp_pack_prepare(ngx_ws_mp_pack_t *c,
    u_char *p, u_char *end, ngx_ws_op_alloc_pt alloc, void *data);
const char *ngx_ws_mp_pack(ngx_ws_mp_pack_t *c,
    u_char **pp);
void ngx_ws_mp_pack_str(msgpack_packer *pk, const u_char *s,
    size_t len);
void ngx_ws_mp_pack_list(msgpack_packer *pk,
    ngx_ws_bytes_t *list, size_t n);
const char *ngx_ws_mp_from_json(u_char *p, u_char *end,
    u_char **out, size_t *out_len, ngx_ws_op_alloc_pt alloc, void *data);

int ngx_ws_mp_pack_pass(ngx_ws_mp_pack_t *c, size_t pass,
    ngx_ws_op_alloc_pt alloc, void *data);

#endif /* _NGX_WS_MP_H_INCLUDED_ */
