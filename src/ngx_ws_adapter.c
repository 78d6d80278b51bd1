
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <stdio.h>
#include <stdlib.h>

#include "ngx_ws_json.h"
#include "ngx_ws_sio.h"
#include "ngx_ws_adapter.h"
#include "ngx_ws_mp.h"


static const char *ngx_ws_adapter_mp_names(u_char *p, u_char *end,
    unsigned string_ok, ngx_ws_bytes_t **list, size_t *n,
    ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_unique(ngx_ws_bytes_t *list, size_t *n,
    ngx_ws_op_alloc_pt alloc, void *data);
static int ngx_ws_adapter_same(ngx_ws_bytes_t *a, ngx_ws_bytes_t *b);
static const char *ngx_ws_adapter_sets(ngx_ws_op_t *op,
    ngx_ws_bytes_t **rooms, size_t *nrooms, ngx_ws_bytes_t **except,
    size_t *nexcept, ngx_ws_op_alloc_pt alloc, void *data);

static const char *ngx_ws_adapter_request_json(u_char *p, u_char *end,
    ngx_ws_op_t *op, unsigned *type, ngx_ws_bytes_t *uid,
    ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_request_mp(u_char *p, u_char *end,
    ngx_ws_op_t *op, unsigned *type, ngx_ws_bytes_t *uid,
    ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_json_names(u_char *v, u_char *v_end,
    unsigned string_ok, ngx_ws_bytes_t **list, size_t *n,
    ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_json_str(u_char *v, u_char *v_end,
    ngx_ws_bytes_t *s, ngx_ws_op_alloc_pt alloc, void *data);
static int ngx_ws_adapter_json_number(u_char *v, u_char *v_end, double *d,
    ngx_ws_op_alloc_pt alloc, void *data);
static int ngx_ws_adapter_json_truthy(u_char *v, u_char *v_end,
    ngx_ws_op_alloc_pt alloc, void *data);

static const char *ngx_ws_adapter_encode_op(ngx_ws_op_t *op,
    const u_char *uid, size_t uid_len, unsigned sharded, u_char **out,
    size_t *out_len, ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_encode_emit(ngx_ws_op_t *op,
    const u_char *uid, size_t uid_len, unsigned sharded, u_char **out,
    size_t *out_len, ngx_ws_op_alloc_pt alloc, void *data);
static void ngx_ws_adapter_emit_envelope(ngx_ws_mp_pack_t *c,
    const u_char *uid, size_t uid_len, unsigned sharded);
static void ngx_ws_adapter_emit_opts(ngx_ws_mp_pack_t *c,
    ngx_ws_bytes_t *rooms, size_t nrooms, ngx_ws_bytes_t *except,
    size_t nexcept);
static const char *ngx_ws_adapter_encode_request(ngx_ws_op_t *op,
    const u_char *uid, size_t uid_len, unsigned sharded, u_char **out,
    size_t *out_len, ngx_ws_op_alloc_pt alloc, void *data);
static void ngx_ws_adapter_request_text(ngx_ws_mp_out_t *o,
    ngx_ws_op_t *op, const u_char *uid, size_t uid_len, unsigned sharded,
    ngx_ws_bytes_t *rooms, size_t nrooms, ngx_ws_bytes_t *except,
    size_t nexcept);
static void ngx_ws_adapter_json_list(ngx_ws_mp_out_t *o,
    ngx_ws_bytes_t *list, size_t n);
static int ngx_ws_adapter_one_room(ngx_ws_op_t *op);
static int ngx_ws_adapter_shard_room(ngx_ws_op_t *op);
static const char *ngx_ws_adapter_broadcast(u_char *pkt, u_char *opts,
    u_char *end, ngx_ws_bytes_t *nsp, ngx_ws_op_t *op, unsigned *flags,
    ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_request_body(u_char *opts_v,
    u_char *rooms_v, u_char *close_v, u_char *end, unsigned type,
    ngx_ws_op_t *op, ngx_ws_op_alloc_pt alloc, void *data);
static const char *ngx_ws_adapter_shard_read(u_char *p, u_char *end,
    ngx_ws_op_t *op, ngx_ws_adapter_shard_t *m, ngx_ws_op_alloc_pt alloc,
    void *data);


static const char  ngx_ws_adapter_bad_names[] =
    "rooms and except must be arrays of strings without NUL";

static u_char  ngx_ws_adapter_main_nsp[] = "/";


/* ------------------------------------------------------------ decode */


const char *
ngx_ws_adapter_decode(u_char *p, size_t len, ngx_ws_op_t *op,
    ngx_ws_bytes_t *uid, unsigned *flags, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    u_char       *end, *q, *val, *pkt, *opts;
    ngx_ws_mp_t   v, t;

    memset(op, 0, sizeof(ngx_ws_op_t));
    uid->data = NULL;
    uid->len = 0;

    if (flags) {
        *flags = 0;
    }

    end = p + len;

    /* one well-formed value, nothing after it (notepack.io's decode) */

    q = p;

    if (ngx_ws_mp_skip(&q, end, 1) != 0 || q != end) {
        return ngx_ws_mp_bad_mp;
    }

    q = p;

    if (ngx_ws_mp_read(&q, end, &v) != 0 || v.type != NGX_WS_MP_ARRAY
        || v.n < 3)
    {
        return "not a msgpack array of uid, packet and opts";
    }

    val = q;
    (void) ngx_ws_mp_read(&val, end, &t);

    if (t.type == NGX_WS_MP_STR) {
        uid->data = t.data;
        uid->len = t.n;
    }

    (void) ngx_ws_mp_skip(&q, end, 1);
    pkt = q;
    (void) ngx_ws_mp_skip(&q, end, 1);
    opts = q;

    return ngx_ws_adapter_broadcast(pkt, opts, end, NULL, op, flags, alloc,
                                    data);
}


/*
 * A broadcast request with acks (type 7: {uid, requestId, type, packet,
 * opts}, msgpack), read as the broadcast it carries.
 */

const char *
ngx_ws_adapter_broadcast_request(u_char *p, size_t len, ngx_ws_op_t *op,
    ngx_ws_bytes_t *uid, ngx_ws_bytes_t *request_id,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char       *end, *q, *pkt, *opts, *type_v, *vals[5];
    ngx_ws_mp_t   t;

    static const char  *keys[] = { "packet", "opts", "type", "uid",
                                   "requestId", NULL };

    memset(op, 0, sizeof(ngx_ws_op_t));
    uid->data = NULL;
    uid->len = 0;
    request_id->data = NULL;
    request_id->len = 0;

    end = p + len;
    q = p;

    if (ngx_ws_mp_skip(&q, end, 1) != 0 || q != end) {
        return ngx_ws_mp_bad_mp;
    }

    if (ngx_ws_mp_members(p, end, keys, vals) != 0) {
        return "not a msgpack map";
    }

    pkt = vals[0];
    opts = vals[1];
    type_v = vals[2];

    (void) ngx_ws_mp_string(vals[3], end, uid);

    if (ngx_ws_mp_string(vals[4], end, request_id)
        && !ngx_ws_mp_text_valid(request_id->data, request_id->len, 0))
    {
        request_id->len = 0;
    }

    if (type_v == NULL || ngx_ws_mp_read(&type_v, end, &t) != 0
        || t.type != NGX_WS_MP_NUMBER || t.num != NGX_WS_ADAPTER_BROADCAST)
    {
        return "not a broadcast request";
    }

    if (pkt == NULL || opts == NULL || request_id->len == 0) {
        return "a broadcast request without packet, opts or requestId";
    }

    return ngx_ws_adapter_broadcast(pkt, opts, end, NULL, op, NULL, alloc,
                                    data);
}


/*
 * The packet and opts of a broadcast, into an EMIT op; nsp is the
 * namespace of a packet that names none (NULL: "/").
 */

static const char *
ngx_ws_adapter_broadcast(u_char *pkt, u_char *opts, u_char *end,
    ngx_ws_bytes_t *nsp, ngx_ws_op_t *op, unsigned *flags,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char                 *q, *type_v, *data_v, *nsp_v, *rooms_v,
                           *except_v, *flags_v, *out, *e, *vals[3];
    size_t                  hlen;
    unsigned                sio_type;
    const char             *rc;
    ngx_ws_mp_t             v, t;
    ngx_ws_json_type_e      jt;
    ngx_ws_mp_json_t        j;

    static const char  *packet_keys[] = { "type", "data", "nsp", NULL };
    static const char  *opts_keys[] = { "rooms", "except", "flags", NULL };
    static const char  *flags_keys[] = { "volatile", NULL };

    /* the packet: {type, data, nsp}, by key */

    if (ngx_ws_mp_members(pkt, end, packet_keys, vals) != 0) {
        return "the packet is no map";
    }

    type_v = vals[0];
    data_v = vals[1];
    nsp_v = vals[2];

    /* opts: {rooms, except, flags}; an array is an object without them */

    if (ngx_ws_mp_members(opts, end, opts_keys, vals) != 0) {
        q = opts;
        (void) ngx_ws_mp_read(&q, end, &v);

        if (v.type != NGX_WS_MP_ARRAY) {
            return "the opts are no map";
        }
    }

    rooms_v = vals[0];
    except_v = vals[1];
    flags_v = vals[2];

    /* an EVENT, or a BINARY_EVENT: the attachments are counted anew */

    if (type_v == NULL
        || ngx_ws_mp_read(&type_v, end, &t) != 0
        || t.type != NGX_WS_MP_NUMBER
        || (t.num != NGX_WS_SIO_EVENT && t.num != NGX_WS_SIO_BINARY_EVENT))
    {
        return "the packet is no EVENT";
    }

    if ((nsp_v == NULL || ngx_ws_mp_undefined(nsp_v, end)) && nsp) {
        op->nsp = *nsp;

    } else if (nsp_v == NULL || ngx_ws_mp_undefined(nsp_v, end)) {
        op->nsp.data = ngx_ws_adapter_main_nsp;
        op->nsp.len = 1;

    } else {
        (void) ngx_ws_mp_read(&nsp_v, end, &t);

        if (t.type != NGX_WS_MP_STR || t.n == 0 || t.data[0] != '/'
            || !ngx_ws_mp_text_valid(t.data, t.n, 0))
        {
            return "the namespace is no valid name";
        }

        op->nsp.data = t.data;
        op->nsp.len = t.n;
    }

    rc = ngx_ws_adapter_mp_names(rooms_v, end, 0, &op->rooms, &op->nrooms,
                                 alloc, data);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_adapter_mp_names(except_v, end, 0, &op->except,
                                 &op->nexcept, alloc, data);
    if (rc) {
        return rc;
    }

    if (flags && ngx_ws_mp_members(flags_v, end, flags_keys, vals) == 0
        && vals[0])
    {
        *flags = ngx_ws_mp_truthy(vals[0], end) ? NGX_WS_ADAPTER_VOLATILE : 0;
    }

    /* the data: measured, then written after the packet's header */

    q = data_v;

    if (data_v == NULL || ngx_ws_mp_read(&q, end, &v) != 0
        || v.type != NGX_WS_MP_ARRAY || v.n == 0)
    {
        return "the packet data is no array of an event and arguments";
    }

    memset(&j, 0, sizeof(ngx_ws_mp_json_t));

    j.alloc = alloc;
    j.data = data;

    q = data_v;

    rc = ngx_ws_mp_value(&j, &q, end, 1);
    if (rc) {
        return rc;
    }

    if (j.nbins && j.lookalike) {
        /* socket.io-parser on the client would take it for binary */
        return "a map with _placeholder true beside binary data";
    }

    sio_type = j.nbins ? NGX_WS_SIO_BINARY_EVENT : NGX_WS_SIO_EVENT;
    hlen = ngx_ws_sio_header_len(sio_type, op->nsp.len, j.nbins, -1);

    out = alloc(data, hlen + j.out.len);
    op->bins = alloc(data, (j.nbins + 1) * sizeof(ngx_ws_bytes_t));

    if (out == NULL || op->bins == NULL) {
        return ngx_ws_op_nomem;
    }

    (void) ngx_ws_sio_header_write(out, sio_type, op->nsp.data, op->nsp.len,
                                   j.nbins, -1);

    j.out.buf = out + hlen;
    j.out.cap = j.out.len;
    j.out.len = 0;
    j.nbins = 0;

    q = data_v;

    /* numbers other than integers were measured at their longest */

    if (ngx_ws_mp_value(&j, &q, end, 1) != NULL || j.out.over) {
        return "the data changed between two passes";
    }

    op->type = NGX_WS_EMIT;
    op->packet.data = out;
    op->packet.len = hlen + j.out.len;
    op->nbins = j.nbins;
    memcpy(op->bins, j.bins, j.nbins * sizeof(ngx_ws_bytes_t));

    /* the event: a string that is no reserved name, or a number */

    q = out + hlen + 1;
    e = ngx_ws_json_value(q, out + op->packet.len, &jt);

    if (e == NULL || (jt != NGX_WS_JSON_STRING && jt != NGX_WS_JSON_NUMBER)) {
        return "the event name is no string";
    }

    if (jt == NGX_WS_JSON_STRING && ngx_ws_sio_reserved_event(q, e)) {
        return "the event name is reserved";
    }

    return NULL;
}


/*
 * A list of names at p (NULL, nil or undefined: empty): an array of
 * strings, or with string_ok a string; valid UTF-8 without NUL.  Rooms
 * and except go without duplicates (the adapter makes Sets of them).
 */

static const char *
ngx_ws_adapter_mp_names(u_char *p, u_char *end, unsigned string_ok,
    ngx_ws_bytes_t **list, size_t *n, ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char          *start;
    uint32_t         i;
    ngx_ws_mp_t      v, s;
    ngx_ws_bytes_t  *l;

    *list = NULL;
    *n = 0;

    v.type = NGX_WS_MP_NIL;
    v.n = 0;
    start = p;

    if (p && !ngx_ws_mp_undefined(p, end)
        && ngx_ws_mp_read(&p, end, &v) != 0)
    {
        return ngx_ws_mp_bad_mp;
    }

    if (v.type == NGX_WS_MP_STR && string_ok) {
        /* one name: the string is read again as the list's element */
        v.n = 1;
        p = start;

    } else if (v.type != NGX_WS_MP_ARRAY && v.type != NGX_WS_MP_NIL) {
        return string_ok ? "the rooms must be a string or an array of "
                           "strings without NUL"
                         : ngx_ws_adapter_bad_names;
    }

    l = alloc(data, ((size_t) v.n + 1) * sizeof(ngx_ws_bytes_t));
    if (l == NULL) {
        return ngx_ws_op_nomem;
    }

    for (i = 0; i < v.n; i++) {
        if (ngx_ws_mp_read(&p, end, &s) != 0 || s.type != NGX_WS_MP_STR
            || !ngx_ws_mp_text_valid(s.data, s.n, 0))
        {
            return string_ok ? "the rooms must be a string or an array of "
                               "strings without NUL"
                             : ngx_ws_adapter_bad_names;
        }

        l[i].data = s.data;
        l[i].len = s.n;
    }

    *list = l;
    *n = v.n;

    return string_ok ? NULL : ngx_ws_adapter_unique(l, n, alloc, data);
}


/* op's rooms and except as the adapter's Sets: copies without duplicates */

static const char *
ngx_ws_adapter_sets(ngx_ws_op_t *op, ngx_ws_bytes_t **rooms, size_t *nrooms,
    ngx_ws_bytes_t **except, size_t *nexcept, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    const char  *rc;

    *rooms = alloc(data, (op->nrooms + 1) * sizeof(ngx_ws_bytes_t));
    *except = alloc(data, (op->nexcept + 1) * sizeof(ngx_ws_bytes_t));

    if (*rooms == NULL || *except == NULL) {
        return ngx_ws_op_nomem;
    }

    if (op->nrooms) {
        memcpy(*rooms, op->rooms, op->nrooms * sizeof(ngx_ws_bytes_t));
    }

    if (op->nexcept) {
        memcpy(*except, op->except, op->nexcept * sizeof(ngx_ws_bytes_t));
    }

    *nrooms = op->nrooms;
    *nexcept = op->nexcept;

    rc = ngx_ws_adapter_unique(*rooms, nrooms, alloc, data);
    if (rc) {
        return rc;
    }

    return ngx_ws_adapter_unique(*except, nexcept, alloc, data);
}


/*
 * Drops the later copies of a name, in place: a pair of loops for short
 * lists, a hash table for longer ones.
 */

static const char *
ngx_ws_adapter_unique(ngx_ws_bytes_t *list, size_t *n,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    size_t    i, j, m, out, h, *slot;

    if (*n <= 16) {
        out = 0;

        for (i = 0; i < *n; i++) {
            for (j = 0; j < out; j++) {
                if (ngx_ws_adapter_same(&list[j], &list[i])) {
                    break;
                }
            }

            if (j == out) {
                list[out++] = list[i];
            }
        }

        *n = out;
        return NULL;
    }

    for (m = 32; m < *n * 2; m *= 2) { /* void */ }

    slot = alloc(data, m * sizeof(size_t));
    if (slot == NULL) {
        return ngx_ws_op_nomem;
    }

    memset(slot, 0, m * sizeof(size_t));
    out = 0;

    for (i = 0; i < *n; i++) {

        /* FNV-1a */

        h = 2166136261u;

        for (j = 0; j < list[i].len; j++) {
            h = (h ^ list[i].data[j]) * 16777619u;
        }

        for (h &= m - 1; slot[h]; h = (h + 1) & (m - 1)) {
            if (ngx_ws_adapter_same(&list[slot[h] - 1], &list[i])) {
                break;
            }
        }

        if (slot[h] == 0) {
            list[out] = list[i];
            slot[h] = ++out;
        }
    }

    *n = out;

    return NULL;
}


static int
ngx_ws_adapter_same(ngx_ws_bytes_t *a, ngx_ws_bytes_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


/* ------------------------------------------------------------ requests */


const char *
ngx_ws_adapter_request(u_char *p, size_t len, ngx_ws_bytes_t *nsp,
    ngx_ws_op_t *op, unsigned *type, ngx_ws_bytes_t *uid,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    const char  *rc;

    memset(op, 0, sizeof(ngx_ws_op_t));
    *type = NGX_WS_ADAPTER_NO_TYPE;
    uid->data = NULL;
    uid->len = 0;

    /* the adapter's own test: JSON if the first byte is '{' */

    if (len && p[0] == '{') {
        rc = ngx_ws_adapter_request_json(p, p + len, op, type, uid, alloc,
                                         data);

    } else {
        rc = ngx_ws_adapter_request_mp(p, p + len, op, type, uid, alloc,
                                       data);
    }

    if (rc) {
        memset(op, 0, sizeof(ngx_ws_op_t));
        return rc;
    }

    op->type = (*type == NGX_WS_ADAPTER_REMOTE_JOIN) ? NGX_WS_JOIN
               : (*type == NGX_WS_ADAPTER_REMOTE_LEAVE) ? NGX_WS_LEAVE
               : NGX_WS_DISCONNECT;

    if (nsp && nsp->len) {
        op->nsp = *nsp;

    } else {
        op->nsp.data = ngx_ws_adapter_main_nsp;
        op->nsp.len = 1;
    }

    return NULL;
}


static const char *
ngx_ws_adapter_request_json(u_char *p, u_char *end, ngx_ws_op_t *op,
    unsigned *type, ngx_ws_bytes_t *uid, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    u_char      *pos, *k, *k_end, *v, *v_end, *uid_v, *uid_e, *type_v,
                *type_e, *opts_v, *opts_e, *rooms_v, *rooms_e, *close_v,
                *close_e, *r_v, *r_e, *x_v, *x_e;
    double       d;
    const char  *rc;

    if (!ngx_ws_json_valid(p, end)) {
        return "the request is no valid JSON";
    }

    uid_v = uid_e = type_v = type_e = opts_v = opts_e = NULL;
    rooms_v = rooms_e = close_v = close_e = NULL;

    /* JSON.parse(): the last of a key counts */

    for (pos = p + 1;
         (pos = ngx_ws_json_object_next(pos, end, &k, &k_end, &v, &v_end));
         /* void */)
    {
        if (ngx_ws_json_string_eq(k, k_end, "uid")) {
            uid_v = v;
            uid_e = v_end;

        } else if (ngx_ws_json_string_eq(k, k_end, "type")) {
            type_v = v;
            type_e = v_end;

        } else if (ngx_ws_json_string_eq(k, k_end, "opts")) {
            opts_v = v;
            opts_e = v_end;

        } else if (ngx_ws_json_string_eq(k, k_end, "rooms")) {
            rooms_v = v;
            rooms_e = v_end;

        } else if (ngx_ws_json_string_eq(k, k_end, "close")) {
            close_v = v;
            close_e = v_end;
        }
    }

    if (v_end == NULL) {
        return "the request is no valid JSON";
    }

    if (uid_v && *uid_v == '"') {
        /* a NUL is fine in a uid: it is only compared */

        rc = ngx_ws_adapter_json_str(uid_v, uid_e, uid, alloc, data);
        if (rc == ngx_ws_op_nomem) {
            return rc;
        }
    }

    if (type_v == NULL || (*type_v != '-' && (*type_v < '0' || *type_v > '9'))
        || ngx_ws_adapter_json_number(type_v, type_e, &d, alloc, data) != 0)
    {
        return "the request has no type";
    }

    if (d >= 0 && d <= 255 && d == (double) (int) d) {
        *type = (unsigned) d;
    }

    if (*type != NGX_WS_ADAPTER_REMOTE_JOIN
        && *type != NGX_WS_ADAPTER_REMOTE_LEAVE
        && *type != NGX_WS_ADAPTER_REMOTE_DISCONNECT)
    {
        return "a request other than join, leave or disconnect";
    }

    if (opts_v == NULL
        || !ngx_ws_adapter_json_truthy(opts_v, opts_e, alloc, data))
    {
        return "a legacy request without opts";
    }

    /* opts that are no object hold no rooms: every socket */

    r_v = r_e = x_v = x_e = NULL;

    if (*opts_v == '{') {
        for (pos = opts_v + 1;
             (pos = ngx_ws_json_object_next(pos, opts_e, &k, &k_end, &v,
                                            &v_end));
             /* void */)
        {
            if (ngx_ws_json_string_eq(k, k_end, "rooms")) {
                r_v = v;
                r_e = v_end;

            } else if (ngx_ws_json_string_eq(k, k_end, "except")) {
                x_v = v;
                x_e = v_end;
            }
        }
    }

    rc = ngx_ws_adapter_json_names(r_v, r_e, 0, &op->rooms, &op->nrooms,
                                   alloc, data);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_adapter_json_names(x_v, x_e, 0, &op->except, &op->nexcept,
                                   alloc, data);
    if (rc) {
        return rc;
    }

    if (*type == NGX_WS_ADAPTER_REMOTE_DISCONNECT) {
        op->close = close_v
                    && ngx_ws_adapter_json_truthy(close_v, close_e, alloc,
                                                  data);
        return NULL;
    }

    if (rooms_v == NULL) {
        return "the request names no rooms";
    }

    rc = ngx_ws_adapter_json_names(rooms_v, rooms_e, 1, &op->names,
                                   &op->nnames, alloc, data);
    if (rc) {
        return rc;
    }

    return op->nnames ? NULL : "the request names no rooms";
}


static const char *
ngx_ws_adapter_request_mp(u_char *p, u_char *end, ngx_ws_op_t *op,
    unsigned *type, ngx_ws_bytes_t *uid, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    u_char       *q, *type_v, *opts_v, *rooms_v, *close_v, *vals[5];
    ngx_ws_mp_t   t;

    static const char  *keys[] = { "uid", "type", "opts", "rooms", "close",
                                   NULL };

    q = p;

    if (ngx_ws_mp_skip(&q, end, 1) != 0 || q != end) {
        return ngx_ws_mp_bad_mp;
    }

    if (ngx_ws_mp_members(p, end, keys, vals) != 0) {
        return "the request is no map";
    }

    type_v = vals[1];
    opts_v = vals[2];
    rooms_v = vals[3];
    close_v = vals[4];

    (void) ngx_ws_mp_string(vals[0], end, uid);

    if (type_v == NULL || ngx_ws_mp_read(&type_v, end, &t) != 0
        || t.type != NGX_WS_MP_NUMBER)
    {
        return "the request has no type";
    }

    if (t.num >= 0 && t.num <= 255 && t.num == (double) (int) t.num) {
        *type = (unsigned) t.num;
    }

    if (*type != NGX_WS_ADAPTER_REMOTE_JOIN
        && *type != NGX_WS_ADAPTER_REMOTE_LEAVE
        && *type != NGX_WS_ADAPTER_REMOTE_DISCONNECT)
    {
        return "a request other than join, leave or disconnect";
    }

    if (!ngx_ws_mp_truthy(opts_v, end)) {
        return "a legacy request without opts";
    }

    return ngx_ws_adapter_request_body(opts_v, rooms_v, close_v, end, *type,
                                       op, alloc, data);
}


/*
 * What a join, leave or disconnect asks for, from its msgpack "opts",
 * "rooms" and "close" (type is the request channel's).
 */

static const char *
ngx_ws_adapter_request_body(u_char *opts_v, u_char *rooms_v, u_char *close_v,
    u_char *end, unsigned type, ngx_ws_op_t *op, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    u_char       *r_v, *x_v, *vals[2];
    const char   *rc;

    static const char  *keys[] = { "rooms", "except", NULL };

    /* opts that are no map hold no rooms: every socket */

    (void) ngx_ws_mp_members(opts_v, end, keys, vals);

    r_v = vals[0];
    x_v = vals[1];

    rc = ngx_ws_adapter_mp_names(r_v, end, 0, &op->rooms, &op->nrooms,
                                 alloc, data);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_adapter_mp_names(x_v, end, 0, &op->except, &op->nexcept,
                                 alloc, data);
    if (rc) {
        return rc;
    }

    if (type == NGX_WS_ADAPTER_REMOTE_DISCONNECT) {
        op->close = ngx_ws_mp_truthy(close_v, end);
        return NULL;
    }

    if (rooms_v == NULL || ngx_ws_mp_undefined(rooms_v, end)) {
        return "the request names no rooms";
    }

    rc = ngx_ws_adapter_mp_names(rooms_v, end, 1, &op->names, &op->nnames,
                                 alloc, data);
    if (rc) {
        return rc;
    }

    return op->nnames ? NULL : "the request names no rooms";
}


/*
 * A list of names, v NULL or null: empty, an array of strings, or with
 * string_ok a string; names hold no NUL, as the push endpoint's.
 */

static const char *
ngx_ws_adapter_json_names(u_char *v, u_char *v_end, unsigned string_ok,
    ngx_ws_bytes_t **list, size_t *n, ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char          *pos, *e, *e_end;
    size_t           i;
    const char      *bad, *rc;
    ngx_ws_bytes_t  *l;

    *list = NULL;
    *n = 0;

    bad = string_ok ? "the rooms must be a string or an array of strings "
                      "without NUL"
                    : ngx_ws_adapter_bad_names;

    if (v != NULL && *v != '[' && (*v != '"' || !string_ok)
        && (*v != 'n' || string_ok))
    {
        return bad;
    }

    /* an array of N elements is at least 2N + 1 bytes long */

    l = alloc(data, ((v ? v_end - v : 0) / 2 + 1) * sizeof(ngx_ws_bytes_t));
    if (l == NULL) {
        return ngx_ws_op_nomem;
    }

    i = 0;

    if (v == NULL || *v == 'n') {
        /* void */

    } else if (*v == '"') {
        rc = ngx_ws_adapter_json_str(v, v_end, &l[i++], alloc, data);
        if (rc) {
            return (rc == ngx_ws_op_nomem) ? rc : bad;
        }

    } else {
        for (pos = v + 1;
             (pos = ngx_ws_json_array_next(pos, v_end, &e, &e_end));
             i++)
        {
            if (*e != '"') {
                return bad;
            }

            rc = ngx_ws_adapter_json_str(e, e_end, &l[i], alloc, data);
            if (rc) {
                return (rc == ngx_ws_op_nomem) ? rc : bad;
            }
        }
    }

    *list = l;
    *n = i;

    return string_ok ? NULL : ngx_ws_adapter_unique(l, n, alloc, data);
}


/* a string token's value: in place without escapes; a NUL is refused */

static const char *
ngx_ws_adapter_json_str(u_char *v, u_char *v_end, ngx_ws_bytes_t *s,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char  *out;

    if (memchr(v + 1, '\\', v_end - v - 2) == NULL) {
        s->data = v + 1;
        s->len = v_end - v - 2;
        return NULL;
    }

    out = alloc(data, v_end - v);
    if (out == NULL) {
        return ngx_ws_op_nomem;
    }

    s->data = out;
    s->len = ngx_ws_json_string_decode(v, v_end, out);

    return memchr(out, '\0', s->len) ? "a name holds NUL" : NULL;
}


/* a valid number token as JSON.parse() reads it */

static int
ngx_ws_adapter_json_number(u_char *v, u_char *v_end, double *d,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    char    buf[64], *s;
    size_t  n;

    n = v_end - v;
    s = (n < sizeof(buf)) ? buf : alloc(data, n + 1);

    if (s == NULL) {
        return -1;
    }

    memcpy(s, v, n);
    s[n] = '\0';

    *d = strtod(s, NULL);

    return 0;
}


static int
ngx_ws_adapter_json_truthy(u_char *v, u_char *v_end,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    double  d;

    switch (*v) {

    case 'n':
    case 'f':
        return 0;

    case '"':
        return v_end - v > 2;

    case 't':
    case '[':
    case '{':
        return 1;

    default:
        return ngx_ws_adapter_json_number(v, v_end, &d, alloc, data) == 0
               && d != 0;
    }
}


/* ------------------------------------------------------------ encode */


const char *
ngx_ws_adapter_encode(ngx_ws_op_t *op, const u_char *uid, size_t uid_len,
    u_char **out, size_t *out_len, ngx_ws_op_alloc_pt alloc, void *data)
{
    return ngx_ws_adapter_encode_op(op, uid, uid_len, 0, out, out_len, alloc,
                                    data);
}


/* op in the classic adapter's format, or the sharded one's */

static const char *
ngx_ws_adapter_encode_op(ngx_ws_op_t *op, const u_char *uid, size_t uid_len,
    unsigned sharded, u_char **out, size_t *out_len,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    *out = NULL;
    *out_len = 0;

    switch (op->type) {

    case NGX_WS_EMIT:
        return ngx_ws_adapter_encode_emit(op, uid, uid_len, sharded, out,
                                          out_len, alloc, data);

    case NGX_WS_JOIN:
    case NGX_WS_LEAVE:
    case NGX_WS_DISCONNECT:
        return ngx_ws_adapter_encode_request(op, uid, uid_len, sharded, out,
                                             out_len, alloc, data);

    default:
        return "no operation the adapter publishes";
    }
}


static const char *
ngx_ws_adapter_encode_emit(ngx_ws_op_t *op, const u_char *uid,
    size_t uid_len, unsigned sharded, u_char **out, size_t *out_len,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char                 *p, *end, *hdr;
    size_t                  hlen, nrooms, nexcept, pass;
    unsigned                sio_type;
    const char             *rc;
    ngx_ws_bytes_t          nsp, *rooms, *except;
    ngx_ws_mp_pack_t        c;

    nsp = op->nsp;

    if (nsp.len == 0) {
        nsp.data = ngx_ws_adapter_main_nsp;
        nsp.len = 1;
    }

    if (op->nbins > NGX_WS_SIO_MAX_ATTACHMENTS) {
        return ngx_ws_mp_bins;
    }

    /* the packet: exactly the header ngx_ws_op_packet() writes */

    sio_type = op->nbins ? NGX_WS_SIO_BINARY_EVENT : NGX_WS_SIO_EVENT;
    hlen = ngx_ws_sio_header_len(sio_type, nsp.len, op->nbins, -1);

    if (op->packet.len <= hlen || op->packet.len - hlen >= UINT32_MAX) {
        return "the packet is no EVENT of this namespace";
    }

    hdr = alloc(data, hlen);
    if (hdr == NULL) {
        return ngx_ws_op_nomem;
    }

    (void) ngx_ws_sio_header_write(hdr, sio_type, nsp.data, nsp.len,
                                   op->nbins, -1);

    if (memcmp(hdr, op->packet.data, hlen) != 0) {
        return "the packet is no EVENT of this namespace";
    }

    p = op->packet.data + hlen;
    end = op->packet.data + op->packet.len;

    if (!ngx_ws_json_valid(p, end)) {
        return "the packet payload is no valid JSON";
    }

    p = ngx_ws_json_skip_ws(p, end);

    if (*p != '[') {
        return "the packet payload is no array";
    }

    /* rooms and except without duplicates, as the adapter's Sets */

    rc = ngx_ws_adapter_sets(op, &rooms, &nrooms, &except, &nexcept, alloc,
                             data);
    if (rc) {
        return rc;
    }

    /* the arrays and objects of the payload, in document order */

    memset(&c, 0, sizeof(ngx_ws_mp_pack_t));

    rc = ngx_ws_mp_pack_prepare(&c, p, end, alloc, data);
    if (rc) {
        return rc;
    }

    c.bins = op->bins;
    c.nbins = op->nbins;

    if (c.boxes[0].count == 0) {
        return "the packet has no event";
    }

    /* measure, then write */

    for (pass = 0; pass < 2; pass++) {

        if (ngx_ws_mp_pack_pass(&c, pass, alloc, data) != NGX_WS_MP_OK) {
            return ngx_ws_op_nomem;
        }

        ngx_ws_adapter_emit_envelope(&c, uid, uid_len, sharded);

        c.k = 0;
        p = c.base;

        rc = ngx_ws_mp_pack(&c, &p);
        if (rc) {
            return rc;
        }

        if (sharded) {
            /* packet ends here: then data.opts, uid, nsp */

            msgpack_pack_str(&c.pk, 4);
            msgpack_pack_str_body(&c.pk, "opts", 4);
            ngx_ws_adapter_emit_opts(&c, rooms, nrooms, except, nexcept);

            msgpack_pack_str(&c.pk, 3);
            msgpack_pack_str_body(&c.pk, "uid", 3);
            msgpack_pack_str(&c.pk, uid_len);
            msgpack_pack_str_body(&c.pk, uid, uid_len);
            msgpack_pack_str(&c.pk, 3);
            msgpack_pack_str_body(&c.pk, "nsp", 3);
            ngx_ws_mp_pack_str(&c.pk, nsp.data, nsp.len);

            continue;
        }

        msgpack_pack_str(&c.pk, 3);
        msgpack_pack_str_body(&c.pk, "nsp", 3);
        ngx_ws_mp_pack_str(&c.pk, nsp.data, nsp.len);

        ngx_ws_adapter_emit_opts(&c, rooms, nrooms, except, nexcept);
    }

    if (c.out.over || c.out.len != c.out.cap) {
        return "the message changed between two passes";
    }

    *out = c.out.buf;
    *out_len = c.out.len;

    return NULL;
}


/*
 * What comes before the packet's data: [uid, {type: 2, data: ...] for the
 * classic adapter, {type: 3, data: {packet: {type: 2, data: ...] for the
 * sharded one, in the order JSON.stringify() and notepack.io keep.
 */

static void
ngx_ws_adapter_emit_envelope(ngx_ws_mp_pack_t *c, const u_char *uid,
    size_t uid_len, unsigned sharded)
{
    if (sharded) {
        msgpack_pack_map(&c->pk, 4);
        msgpack_pack_str(&c->pk, 4);
        msgpack_pack_str_body(&c->pk, "type", 4);
        msgpack_pack_int(&c->pk, NGX_WS_SHARD_BROADCAST);
        msgpack_pack_str(&c->pk, 4);
        msgpack_pack_str_body(&c->pk, "data", 4);
        msgpack_pack_map(&c->pk, 2);
        msgpack_pack_str(&c->pk, 6);
        msgpack_pack_str_body(&c->pk, "packet", 6);
        msgpack_pack_map(&c->pk, 2);

    } else {
        msgpack_pack_array(&c->pk, 3);
        msgpack_pack_str(&c->pk, uid_len);
        msgpack_pack_str_body(&c->pk, uid, uid_len);
        msgpack_pack_map(&c->pk, 3);
    }

    msgpack_pack_str(&c->pk, 4);
    msgpack_pack_str_body(&c->pk, "type", 4);
    msgpack_pack_int(&c->pk, NGX_WS_SIO_EVENT);
    msgpack_pack_str(&c->pk, 4);
    msgpack_pack_str_body(&c->pk, "data", 4);
}


static void
ngx_ws_adapter_emit_opts(ngx_ws_mp_pack_t *c, ngx_ws_bytes_t *rooms,
    size_t nrooms, ngx_ws_bytes_t *except, size_t nexcept)
{
    msgpack_pack_map(&c->pk, 3);
    msgpack_pack_str(&c->pk, 5);
    msgpack_pack_str_body(&c->pk, "rooms", 5);
    ngx_ws_mp_pack_list(&c->pk, rooms, nrooms);
    msgpack_pack_str(&c->pk, 6);
    msgpack_pack_str_body(&c->pk, "except", 6);
    ngx_ws_mp_pack_list(&c->pk, except, nexcept);
    msgpack_pack_str(&c->pk, 5);
    msgpack_pack_str_body(&c->pk, "flags", 5);
    msgpack_pack_map(&c->pk, 0);
}


static const char *
ngx_ws_adapter_encode_request(ngx_ws_op_t *op, const u_char *uid,
    size_t uid_len, unsigned sharded, u_char **out, size_t *out_len,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    size_t                  nrooms, nexcept;
    const char             *rc;
    ngx_ws_bytes_t         *rooms, *except;
    ngx_ws_mp_out_t         o;

    rc = ngx_ws_adapter_sets(op, &rooms, &nrooms, &except, &nexcept, alloc,
                             data);
    if (rc) {
        return rc;
    }

    memset(&o, 0, sizeof(ngx_ws_mp_out_t));

    ngx_ws_adapter_request_text(&o, op, uid, uid_len, sharded, rooms, nrooms,
                                except, nexcept);

    o.buf = alloc(data, o.len);
    if (o.buf == NULL) {
        return ngx_ws_op_nomem;
    }

    o.cap = o.len;
    o.len = 0;

    ngx_ws_adapter_request_text(&o, op, uid, uid_len, sharded, rooms, nrooms,
                                except, nexcept);

    if (o.over || o.len != o.cap) {
        return "the message changed between two passes";
    }

    *out = o.buf;
    *out_len = o.len;

    return NULL;
}


/*
 * The Node adapters' JSON.stringify() of addSockets() and the others:
 * {"uid","type":2|3|4,"opts",...} for the classic one, {"type":4|5|6,
 * "data":{"opts",...},"uid","nsp"} for the sharded one.
 */

static void
ngx_ws_adapter_request_text(ngx_ws_mp_out_t *o, ngx_ws_op_t *op,
    const u_char *uid, size_t uid_len, unsigned sharded,
    ngx_ws_bytes_t *rooms, size_t nrooms, ngx_ws_bytes_t *except,
    size_t nexcept)
{
    if (sharded) {
        ngx_ws_mp_put(o, "{\"type\":", 8);
        ngx_ws_mp_put(o, (op->type == NGX_WS_JOIN) ? "4"
                         : (op->type == NGX_WS_LEAVE) ? "5" : "6", 1);
        ngx_ws_mp_put(o, ",\"data\":{", 9);

    } else {
        ngx_ws_mp_put(o, "{\"uid\":", 7);
        ngx_ws_mp_json_string(o, uid, uid_len, 1);

        ngx_ws_mp_put(o, ",\"type\":", 8);
        ngx_ws_mp_put(o, (op->type == NGX_WS_JOIN) ? "2"
                         : (op->type == NGX_WS_LEAVE) ? "3" : "4", 1);
        ngx_ws_mp_put(o, ",", 1);
    }

    ngx_ws_mp_put(o, "\"opts\":{\"rooms\":", 16);
    ngx_ws_adapter_json_list(o, rooms, nrooms);
    ngx_ws_mp_put(o, ",\"except\":", 10);
    ngx_ws_adapter_json_list(o, except, nexcept);

    if (sharded) {
        ngx_ws_mp_put(o, ",\"flags\":{}", 11);
    }

    ngx_ws_mp_put(o, "}", 1);

    if (op->type == NGX_WS_DISCONNECT) {
        if (op->close) {
            ngx_ws_mp_put(o, ",\"close\":true", 13);

        } else {
            ngx_ws_mp_put(o, ",\"close\":false", 14);
        }

    } else {
        ngx_ws_mp_put(o, ",\"rooms\":", 9);
        ngx_ws_adapter_json_list(o, op->names, op->nnames);
    }

    ngx_ws_mp_put(o, "}", 1);

    if (sharded) {
        ngx_ws_mp_put(o, ",\"uid\":", 7);
        ngx_ws_mp_json_string(o, uid, uid_len, 1);
        ngx_ws_mp_put(o, ",\"nsp\":", 7);

        if (op->nsp.len) {
            ngx_ws_mp_json_string(o, op->nsp.data, op->nsp.len, 1);

        } else {
            ngx_ws_mp_put(o, "\"/\"", 3);
        }

        ngx_ws_mp_put(o, "}", 1);
    }
}


static void
ngx_ws_adapter_json_list(ngx_ws_mp_out_t *o, ngx_ws_bytes_t *list,
    size_t n)
{
    size_t  i;

    ngx_ws_mp_put(o, "[", 1);

    for (i = 0; i < n; i++) {
        if (i) {
            ngx_ws_mp_put(o, ",", 1);
        }

        ngx_ws_mp_json_string(o, list[i].data, list[i].len, 1);
    }

    ngx_ws_mp_put(o, "]", 1);
}


/* ------------------------------------------------------------ channel */


size_t
ngx_ws_adapter_channel_len(ngx_ws_op_t *op, const u_char *prefix,
    size_t prefix_len)
{
    size_t  nsp_len;

    (void) prefix;

    nsp_len = op->nsp.len ? op->nsp.len : 1;

    if (op->type != NGX_WS_EMIT) {
        return prefix_len + sizeof("-request#") - 1 + nsp_len + 1;
    }

    return prefix_len + 1 + nsp_len + 1
           + (ngx_ws_adapter_one_room(op) ? op->rooms[0].len + 1 : 0);
}


u_char *
ngx_ws_adapter_channel(u_char *dst, ngx_ws_op_t *op, const u_char *prefix,
    size_t prefix_len)
{
    if (prefix_len) {
        dst = (u_char *) memcpy(dst, prefix, prefix_len) + prefix_len;
    }

    if (op->type != NGX_WS_EMIT) {
        dst = (u_char *) memcpy(dst, "-request", 8) + 8;
    }

    *dst++ = '#';

    if (op->nsp.len) {
        dst = (u_char *) memcpy(dst, op->nsp.data, op->nsp.len)
              + op->nsp.len;

    } else {
        *dst++ = '/';
    }

    *dst++ = '#';

    if (op->type == NGX_WS_EMIT && ngx_ws_adapter_one_room(op)) {
        if (op->rooms[0].len) {
            dst = (u_char *) memcpy(dst, op->rooms[0].data,
                                    op->rooms[0].len)
                  + op->rooms[0].len;
        }

        *dst++ = '#';
    }

    return dst;
}


/* exactly one distinct room: the adapter's Set has size 1 */

static int
ngx_ws_adapter_one_room(ngx_ws_op_t *op)
{
    size_t  i;

    if (op->nrooms == 0) {
        return 0;
    }

    for (i = 1; i < op->nrooms; i++) {
        if (!ngx_ws_adapter_same(&op->rooms[0], &op->rooms[i])) {
            return 0;
        }
    }

    return 1;
}


/* ------------------------------------------------------------ sharded */


const char *
ngx_ws_adapter_shard_encode(ngx_ws_op_t *op, const u_char *uid,
    size_t uid_len, u_char **out, size_t *out_len, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    return ngx_ws_adapter_encode_op(op, uid, uid_len, 1, out, out_len, alloc,
                                    data);
}


const char *
ngx_ws_adapter_shard_decode(u_char *p, size_t len, ngx_ws_op_t *op,
    ngx_ws_adapter_shard_t *m, ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char      *mp;
    size_t       mp_len;
    const char  *rc;

    memset(op, 0, sizeof(ngx_ws_op_t));
    memset(m, 0, sizeof(ngx_ws_adapter_shard_t));
    m->type = NGX_WS_ADAPTER_NO_TYPE;

    /* the adapter's own test: JSON if the first byte is '{' */

    if (len && p[0] == '{') {
        if (!ngx_ws_json_valid(p, p + len)) {
            return "the message is no valid JSON";
        }

        /* read as msgpack: what JSON.parse() gives, as notepack.io has it */

        rc = ngx_ws_mp_from_json(p, p + len, &mp, &mp_len, alloc,
                                 data);
        if (rc) {
            return rc;
        }

        p = mp;
        len = mp_len;
    }

    rc = ngx_ws_adapter_shard_read(p, p + len, op, m, alloc, data);

    if (rc) {
        memset(op, 0, sizeof(ngx_ws_op_t));
    }

    return rc;
}


/* {type, data, uid, nsp}, msgpack, by key */

static const char *
ngx_ws_adapter_shard_read(u_char *p, u_char *end, ngx_ws_op_t *op,
    ngx_ws_adapter_shard_t *m, ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char       *q, *type_v, *pkt, *opts, *rooms, *close, *vals[5];
    unsigned      request;
    const char   *rc;
    ngx_ws_mp_t   t;

    static const char  *keys[] = { "type", "data", "uid", "nsp", NULL };
    static const char  *data_keys[] = { "packet", "opts", "rooms", "close",
                                        "requestId", NULL };

    q = p;

    if (ngx_ws_mp_skip(&q, end, 1) != 0 || q != end) {
        return ngx_ws_mp_bad_mp;
    }

    if (ngx_ws_mp_members(p, end, keys, vals) != 0) {
        return "the message is no map";
    }

    type_v = vals[0];
    (void) ngx_ws_mp_string(vals[2], end, &m->uid);
    (void) ngx_ws_mp_string(vals[3], end, &m->nsp);

    /* data: {packet, opts, rooms, close, requestId} */

    (void) ngx_ws_mp_members(vals[1], end, data_keys, vals);

    pkt = vals[0];
    opts = vals[1];
    rooms = vals[2];
    close = vals[3];

    if (ngx_ws_mp_string(vals[4], end, &m->request_id)
        && !ngx_ws_mp_text_valid(m->request_id.data,
                                 m->request_id.len, 0))
    {
        m->request_id.len = 0;
    }

    if (type_v && ngx_ws_mp_read(&type_v, end, &t) == 0
        && t.type == NGX_WS_MP_NUMBER && t.num >= 0 && t.num <= 255
        && t.num == (double) (int) t.num)
    {
        m->type = (unsigned) t.num;
    }

    if (m->nsp.len == 0 || m->nsp.data[0] != '/'
        || !ngx_ws_mp_text_valid(m->nsp.data, m->nsp.len, 0))
    {
        return "the namespace is no valid name";
    }

    switch (m->type) {

    case NGX_WS_SHARD_BROADCAST:
        if (pkt == NULL || opts == NULL) {
            return "a broadcast without packet or opts";
        }

        return ngx_ws_adapter_broadcast(pkt, opts, end, &m->nsp, op,
                                        &m->flags, alloc, data);

    case NGX_WS_SHARD_SOCKETS_JOIN:
        request = NGX_WS_ADAPTER_REMOTE_JOIN;
        op->type = NGX_WS_JOIN;
        break;

    case NGX_WS_SHARD_SOCKETS_LEAVE:
        request = NGX_WS_ADAPTER_REMOTE_LEAVE;
        op->type = NGX_WS_LEAVE;
        break;

    case NGX_WS_SHARD_DISCONNECT_SOCKETS:
        request = NGX_WS_ADAPTER_REMOTE_DISCONNECT;
        op->type = NGX_WS_DISCONNECT;
        break;

    default:
        return "a message answered, or ignored, by the caller";
    }

    if (!ngx_ws_mp_truthy(opts, end)) {
        return "a request without opts";
    }

    rc = ngx_ws_adapter_request_body(opts, rooms, close, end, request, op,
                                     alloc, data);
    if (rc) {
        return rc;
    }

    op->nsp = m->nsp;

    return NULL;
}


size_t
ngx_ws_adapter_shard_channel_len(ngx_ws_op_t *op, size_t prefix_len)
{
    return prefix_len + 1 + (op->nsp.len ? op->nsp.len : 1) + 1
           + (ngx_ws_adapter_shard_room(op) ? op->rooms[0].len + 1 : 0);
}


u_char *
ngx_ws_adapter_shard_channel(u_char *dst, ngx_ws_op_t *op,
    const u_char *prefix, size_t prefix_len)
{
    if (prefix_len) {
        dst = (u_char *) memcpy(dst, prefix, prefix_len) + prefix_len;
    }

    *dst++ = '#';

    if (op->nsp.len) {
        dst = (u_char *) memcpy(dst, op->nsp.data, op->nsp.len)
              + op->nsp.len;

    } else {
        *dst++ = '/';
    }

    *dst++ = '#';

    if (ngx_ws_adapter_shard_room(op)) {
        dst = (u_char *) memcpy(dst, op->rooms[0].data, op->rooms[0].len)
              + op->rooms[0].len;
        *dst++ = '#';
    }

    return dst;
}


/*
 * A broadcast to one room goes to that room's channel, unless the room
 * looks like a socket id: those have no channel of their own.
 */

static int
ngx_ws_adapter_shard_room(ngx_ws_op_t *op)
{
    return op->type == NGX_WS_EMIT && ngx_ws_adapter_one_room(op)
           && op->rooms[0].len != NGX_WS_SHARD_ID_LEN
           && op->rooms[0].len != 0;
}
