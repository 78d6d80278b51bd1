
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws_json.h"
#include "ngx_ws_sio.h"
#include "ngx_ws_op.h"


/* the members the record is made of; the first of a name counts */
typedef enum {
    NGX_WS_KEY_OP = 0,
    NGX_WS_KEY_NSP,
    NGX_WS_KEY_ROOMS,
    NGX_WS_KEY_EXCEPT,
    NGX_WS_KEY_ROOM,
    NGX_WS_KEY_EVENT,
    NGX_WS_KEY_DATA,
    NGX_WS_KEY_CLOSE,
    NGX_WS_NKEYS
} ngx_ws_op_key_e;


/* what a name list is refused for, per member (JSON-safe texts) */
typedef struct {
    const char                *name;
    const char                *bad_type;
    const char                *nul;
} ngx_ws_op_key_t;


typedef struct {
    ngx_ws_op_t               *op;
    ngx_ws_bytes_t            *nsp;
    ngx_ws_op_alloc_pt         alloc;
    void                      *data;
    u_char                    *val[NGX_WS_NKEYS];
    u_char                    *val_end[NGX_WS_NKEYS];
} ngx_ws_op_ctx_t;


static const char *ngx_ws_op_members(ngx_ws_op_ctx_t *ctx, u_char *p,
    u_char *end);
static const char *ngx_ws_op_nsp(ngx_ws_op_ctx_t *ctx);
static const char *ngx_ws_op_type(ngx_ws_op_ctx_t *ctx);
static const char *ngx_ws_op_names(ngx_ws_op_ctx_t *ctx, ngx_ws_op_key_e key,
    ngx_ws_bytes_t **list, size_t *n);
static const char *ngx_ws_op_string(ngx_ws_op_ctx_t *ctx, u_char *p,
    u_char *end, ngx_ws_bytes_t *s);
static const char *ngx_ws_op_emit(ngx_ws_op_ctx_t *ctx);

static ngx_ws_json_type_e ngx_ws_op_json_type(u_char *p);
static u_char *ngx_ws_op_write_list(u_char *p, ngx_ws_bytes_t *s, size_t n);
static int ngx_ws_op_read_list(u_char **pp, u_char *end, ngx_ws_bytes_t **s,
    size_t n, ngx_ws_op_alloc_pt alloc, void *data);
static int ngx_ws_op_read_bytes(u_char **pp, u_char *end,
    ngx_ws_bytes_t *s);


/* the header of a record as bytes: its counts; every string has a length */
typedef struct {
    uint32_t                   type;
    uint32_t                   close;
    uint32_t                   nrooms;
    uint32_t                   nexcept;
    uint32_t                   nnames;
    uint32_t                   nbins;
    uint32_t                   target;
    uint32_t                   kind;
    uint32_t                   status;
    uint32_t                   flags;
} ngx_ws_op_header_t;


const char  ngx_ws_op_nomem[] = "out of memory";


static const ngx_ws_op_key_t  ngx_ws_op_keys[NGX_WS_NKEYS] = {
    { "op", NULL, NULL },
    { "nsp", NULL, NULL },
    { "rooms",
      "\\\"rooms\\\" must be a string or an array of strings",
      "\\\"rooms\\\" must not contain \\\\u0000" },
    { "except",
      "\\\"except\\\" must be a string or an array of strings",
      "\\\"except\\\" must not contain \\\\u0000" },
    { "room",
      "\\\"room\\\" must be a string or an array of strings",
      "\\\"room\\\" must not contain \\\\u0000" },
    { "event", NULL, NULL },
    { "data", NULL, NULL },
    { "close", NULL, NULL }
};


const char *
ngx_ws_op_parse(u_char *p, u_char *end, ngx_ws_bytes_t *nsp, ngx_ws_op_t *op,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    const char       *rc;
    ngx_ws_op_ctx_t   ctx;

    memset(op, 0, sizeof(ngx_ws_op_t));
    memset(&ctx, 0, sizeof(ngx_ws_op_ctx_t));

    ctx.op = op;
    ctx.nsp = nsp;
    ctx.alloc = alloc;
    ctx.data = data;

    if (!ngx_ws_json_valid(p, end)) {
        return "body is not valid JSON";
    }

    p = ngx_ws_json_skip_ws(p, end);

    if (*p != '{') {
        return "body must be a JSON object";
    }

    rc = ngx_ws_op_members(&ctx, p + 1, end);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_op_nsp(&ctx);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_op_names(&ctx, NGX_WS_KEY_ROOMS, &op->rooms, &op->nrooms);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_op_names(&ctx, NGX_WS_KEY_EXCEPT, &op->except, &op->nexcept);
    if (rc) {
        return rc;
    }

    rc = ngx_ws_op_type(&ctx);
    if (rc) {
        return rc;
    }

    switch (op->type) {

    case NGX_WS_EMIT:
        return ngx_ws_op_emit(&ctx);

    case NGX_WS_DISCONNECT:
        p = ctx.val[NGX_WS_KEY_CLOSE];

        if (p == NULL) {
            return NULL;
        }

        if (*p != 't' && *p != 'f') {
            return "\\\"close\\\" must be a boolean";
        }

        op->close = (*p == 't');
        return NULL;

    default: /* NGX_WS_JOIN, NGX_WS_LEAVE */
        rc = ngx_ws_op_names(&ctx, NGX_WS_KEY_ROOM, &op->names, &op->nnames);
        if (rc) {
            return rc;
        }

        if (op->nnames == 0) {
            return "\\\"room\\\" is required";
        }

        return NULL;
    }
}


/* Notes where each member of interest is; the text is valid JSON. */

static const char *
ngx_ws_op_members(ngx_ws_op_ctx_t *ctx, u_char *p, u_char *end)
{
    u_char      *key, *key_end, *val, *val_end;
    size_t       i;

    while ((p = ngx_ws_json_object_next(p, end, &key, &key_end, &val,
                                        &val_end)))
    {
        for (i = 0; i < NGX_WS_NKEYS; i++) {
            if (ctx->val[i] == NULL
                && ngx_ws_json_string_eq(key, key_end, ngx_ws_op_keys[i].name))
            {
                ctx->val[i] = val;
                ctx->val_end[i] = val_end;
                break;
            }
        }
    }

    return (val_end == NULL) ? "body is not valid JSON" : NULL;
}


/* io.of("chat") is io.of("/chat") */

static const char *
ngx_ws_op_nsp(ngx_ws_op_ctx_t *ctx)
{
    u_char          *p;
    const char      *rc;
    ngx_ws_bytes_t   name;

    p = ctx->val[NGX_WS_KEY_NSP];

    if (p == NULL) {
        if (ctx->nsp) {
            ctx->op->nsp = *ctx->nsp;

        } else {
            ctx->op->nsp.data = (u_char *) "/";
            ctx->op->nsp.len = 1;
        }

        return NULL;
    }

    if (*p != '"') {
        return "\\\"nsp\\\" must be a string";
    }

    rc = ngx_ws_op_string(ctx, p, ctx->val_end[NGX_WS_KEY_NSP], &name);
    if (rc) {
        return (rc == ngx_ws_op_nomem) ? rc
                                       : "\\\"nsp\\\" must not contain "
                                         "\\\\u0000";
    }

    if (name.len && name.data[0] == '/') {
        ctx->op->nsp = name;
        return NULL;
    }

    p = ctx->alloc(ctx->data, name.len + 1);
    if (p == NULL) {
        return ngx_ws_op_nomem;
    }

    p[0] = '/';
    memcpy(p + 1, name.data, name.len);

    ctx->op->nsp.data = p;
    ctx->op->nsp.len = name.len + 1;

    return NULL;
}


static const char *
ngx_ws_op_type(ngx_ws_op_ctx_t *ctx)
{
    u_char  *p, *end;

    p = ctx->val[NGX_WS_KEY_OP];
    end = ctx->val_end[NGX_WS_KEY_OP];

    if (p == NULL) {
        ctx->op->type = NGX_WS_EMIT;
        return NULL;
    }

    if (*p != '"') {
        return "\\\"op\\\" must be a string";
    }

    if (ngx_ws_json_string_eq(p, end, "emit")) {
        ctx->op->type = NGX_WS_EMIT;

    } else if (ngx_ws_json_string_eq(p, end, "join")) {
        ctx->op->type = NGX_WS_JOIN;

    } else if (ngx_ws_json_string_eq(p, end, "leave")) {
        ctx->op->type = NGX_WS_LEAVE;

    } else if (ngx_ws_json_string_eq(p, end, "disconnect")) {
        ctx->op->type = NGX_WS_DISCONNECT;

    } else {
        return "unknown \\\"op\\\": use emit, join, leave or disconnect";
    }

    return NULL;
}


/* A string or an array of strings; absent or null is an empty list. */

static const char *
ngx_ws_op_names(ngx_ws_op_ctx_t *ctx, ngx_ws_op_key_e key,
    ngx_ws_bytes_t **list, size_t *n)
{
    u_char              *p, *end, *pos, *elt, *elt_end;
    size_t               i;
    const char          *rc;
    ngx_ws_bytes_t      *s;
    ngx_ws_json_type_e   type;

    *list = NULL;
    *n = 0;

    p = ctx->val[key];
    end = ctx->val_end[key];

    if (p == NULL) {
        return NULL;
    }

    type = ngx_ws_op_json_type(p);

    if (type == NGX_WS_JSON_NULL) {
        return NULL;
    }

    if (type == NGX_WS_JSON_STRING) {
        s = ctx->alloc(ctx->data, sizeof(ngx_ws_bytes_t));
        if (s == NULL) {
            return ngx_ws_op_nomem;
        }

        i = 1;
        rc = ngx_ws_op_string(ctx, p, end, s);
        goto done;
    }

    if (type != NGX_WS_JSON_ARRAY) {
        return ngx_ws_op_keys[key].bad_type;
    }

    /* an array of N elements is at least 2N + 1 bytes long */

    s = ctx->alloc(ctx->data, ((end - p) / 2 + 1) * sizeof(ngx_ws_bytes_t));
    if (s == NULL) {
        return ngx_ws_op_nomem;
    }

    i = 0;
    rc = NULL;

    for (pos = p + 1;
         (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         i++)
    {
        if (*elt != '"') {
            return ngx_ws_op_keys[key].bad_type;
        }

        rc = ngx_ws_op_string(ctx, elt, elt_end, &s[i]);
        if (rc) {
            break;
        }
    }

done:

    if (rc) {
        return (rc == ngx_ws_op_nomem) ? rc : ngx_ws_op_keys[key].nul;
    }

    *list = s;
    *n = i;

    return NULL;
}


/*
 * A string token's value: in place when it has no escapes, else decoded
 * into new memory.  A NUL in it is refused ("" as the reason): names
 * travel as C strings through the application's tools.
 */

static const char *
ngx_ws_op_string(ngx_ws_op_ctx_t *ctx, u_char *p, u_char *end,
    ngx_ws_bytes_t *s)
{
    u_char  *out;

    if (memchr(p + 1, '\\', end - p - 2) == NULL) {
        s->data = p + 1;
        s->len = end - p - 2;
        return NULL;
    }

    out = ctx->alloc(ctx->data, end - p);
    if (out == NULL) {
        return ngx_ws_op_nomem;
    }

    s->data = out;
    s->len = ngx_ws_json_string_decode(p, end, out);

    return memchr(out, '\0', s->len) ? "" : NULL;
}


static const char *
ngx_ws_op_emit(ngx_ws_op_ctx_t *ctx)
{
    u_char  *event, *event_end, *args;

    event = ctx->val[NGX_WS_KEY_EVENT];
    event_end = ctx->val_end[NGX_WS_KEY_EVENT];

    /* the name goes out as written, escapes and all */

    if (event == NULL || *event != '"' || event_end - event == 2) {
        return "\\\"event\\\" is required and must be a non-empty string";
    }

    if (ngx_ws_sio_reserved_event(event, event_end)) {
        return "\\\"event\\\" is a reserved name";
    }

    args = ctx->val[NGX_WS_KEY_DATA];

    if (args && *args != '[') {
        return "\\\"data\\\" must be an array of arguments";
    }

    return ngx_ws_op_packet(ctx->op, event, event_end - event, args,
                            ctx->val_end[NGX_WS_KEY_DATA], -1, ctx->alloc,
                            ctx->data);
}


/*
 * The packet is built from the body's own bytes: each argument goes out as
 * the application wrote it, with {"$binary":"<base64>"} objects turned
 * into attachments.  Two passes: one measures, one writes.
 */

const char *
ngx_ws_op_packet(ngx_ws_op_t *op, u_char *event, size_t event_len,
    u_char *args, u_char *end, int64_t ack_id, ngx_ws_op_alloc_pt alloc,
    void *data)
{
    u_char          *pos, *elt, *elt_end, *out, *bin;
    size_t           len, json_len, bin_len, total_bin, k;
    unsigned         type, nbins, total, first;
    ngx_ws_bytes_t  *nsp;
    size_t           lens[NGX_WS_SIO_MAX_ATTACHMENTS];

    nsp = &op->nsp;

    len = 2 + event_len;
    total = 0;
    total_bin = 0;

    for (pos = args ? args + 1 : NULL;
         pos && (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         /* void */)
    {
        if (ngx_ws_json_binary_measure(elt, elt_end - elt, &json_len, &nbins,
                                       &bin_len)
            != 0)
        {
            return "invalid base64 in \\\"$binary\\\"";
        }

        if (nbins > NGX_WS_SIO_MAX_ATTACHMENTS - total) {
            return "more than 10 binary attachments";
        }

        len += 1 + json_len;
        total += nbins;
        total_bin += bin_len;
    }

    if (ack_id >= 0) {
        type = total ? NGX_WS_SIO_BINARY_ACK : NGX_WS_SIO_ACK;

    } else {
        type = total ? NGX_WS_SIO_BINARY_EVENT : NGX_WS_SIO_EVENT;
    }

    len += ngx_ws_sio_header_len(type, nsp->len, total, ack_id);

    out = alloc(data, len);
    bin = alloc(data, total_bin + 1);
    op->bins = alloc(data, (total + 1) * sizeof(ngx_ws_bytes_t));

    if (out == NULL || bin == NULL || op->bins == NULL) {
        return ngx_ws_op_nomem;
    }

    op->packet.data = out;

    out = ngx_ws_sio_header_write(out, type, nsp->data, nsp->len, total,
                                  ack_id);
    *out++ = '[';

    if (event) {
        memcpy(out, event, event_len);
        out += event_len;
    }

    total = 0;
    first = (event == NULL);

    for (pos = args ? args + 1 : NULL;
         pos && (pos = ngx_ws_json_array_next(pos, end, &elt, &elt_end));
         /* void */)
    {
        if (!first) {
            *out++ = ',';
        }

        first = 0;

        (void) ngx_ws_json_binary_measure(elt, elt_end - elt, &json_len,
                                          &nbins, &bin_len);

        if (nbins == 0) {
            memcpy(out, elt, elt_end - elt);
            out += elt_end - elt;
            continue;
        }

        (void) ngx_ws_json_binary_write(elt, elt_end - elt, total, out, bin,
                                        lens);
        out += json_len;

        for (k = 0; k < nbins; k++) {
            op->bins[total + k].data = bin;
            op->bins[total + k].len = lens[k];
            bin += lens[k];
        }

        total += nbins;
    }

    *out++ = ']';

    op->packet.len = out - op->packet.data;
    op->nbins = total;

    return NULL;
}


static ngx_ws_json_type_e
ngx_ws_op_json_type(u_char *p)
{
    switch (*p) {

    case '{':
        return NGX_WS_JSON_OBJECT;

    case '[':
        return NGX_WS_JSON_ARRAY;

    case '"':
        return NGX_WS_JSON_STRING;

    case 't':
        return NGX_WS_JSON_TRUE;

    case 'f':
        return NGX_WS_JSON_FALSE;

    case 'n':
        return NGX_WS_JSON_NULL;

    default:
        return NGX_WS_JSON_NUMBER;
    }
}


size_t
ngx_ws_op_size(ngx_ws_op_t *op)
{
    size_t  i, n;

    n = sizeof(ngx_ws_op_header_t) + 4 + op->nsp.len + 4 + op->packet.len
        + 4 + op->sid.len;

    for (i = 0; i < op->nrooms; i++) {
        n += 4 + op->rooms[i].len;
    }

    for (i = 0; i < op->nexcept; i++) {
        n += 4 + op->except[i].len;
    }

    for (i = 0; i < op->nnames; i++) {
        n += 4 + op->names[i].len;
    }

    for (i = 0; i < op->nbins; i++) {
        n += 4 + op->bins[i].len;
    }

    return n;
}


u_char *
ngx_ws_op_write(ngx_ws_op_t *op, u_char *p)
{
    ngx_ws_op_header_t  h;

    h.type = op->type;
    h.close = op->close;
    h.nrooms = (uint32_t) op->nrooms;
    h.nexcept = (uint32_t) op->nexcept;
    h.nnames = (uint32_t) op->nnames;
    h.nbins = (uint32_t) op->nbins;
    h.target = op->target;
    h.kind = op->kind;
    h.status = op->status;
    h.flags = op->flags;

    memcpy(p, &h, sizeof(ngx_ws_op_header_t));
    p += sizeof(ngx_ws_op_header_t);

    p = ngx_ws_op_write_list(p, &op->nsp, 1);
    p = ngx_ws_op_write_list(p, &op->packet, 1);
    p = ngx_ws_op_write_list(p, &op->sid, 1);
    p = ngx_ws_op_write_list(p, op->rooms, op->nrooms);
    p = ngx_ws_op_write_list(p, op->except, op->nexcept);
    p = ngx_ws_op_write_list(p, op->names, op->nnames);

    return ngx_ws_op_write_list(p, op->bins, op->nbins);
}


static u_char *
ngx_ws_op_write_list(u_char *p, ngx_ws_bytes_t *s, size_t n)
{
    size_t    i;
    uint32_t  len;

    for (i = 0; i < n; i++) {
        len = (uint32_t) s[i].len;
        memcpy(p, &len, 4);
        p += 4;

        if (len) {
            memcpy(p, s[i].data, len);
            p += len;
        }
    }

    return p;
}


int
ngx_ws_op_read(u_char *p, size_t len, ngx_ws_op_t *op,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    u_char              *end;
    ngx_ws_op_header_t   h;

    memset(op, 0, sizeof(ngx_ws_op_t));

    if (len < sizeof(ngx_ws_op_header_t)) {
        return -1;
    }

    end = p + len;

    memcpy(&h, p, sizeof(ngx_ws_op_header_t));
    p += sizeof(ngx_ws_op_header_t);

    /* every string takes at least its 4 length bytes */

    if (h.type < NGX_WS_EMIT || h.type > NGX_WS_RELAY || h.close > 1
        || h.kind >= NGX_WS_RELAY_KINDS
        || h.nbins > NGX_WS_SIO_MAX_ATTACHMENTS
        || (uint64_t) h.nrooms + h.nexcept + h.nnames + h.nbins
           > (uint64_t) (end - p) / 4)
    {
        return -1;
    }

    op->type = h.type;
    op->close = h.close;
    op->nrooms = h.nrooms;
    op->nexcept = h.nexcept;
    op->nnames = h.nnames;
    op->nbins = h.nbins;
    op->target = h.target;
    op->kind = h.kind;
    op->status = h.status;
    op->flags = h.flags;

    if (ngx_ws_op_read_bytes(&p, end, &op->nsp) != 0
        || ngx_ws_op_read_bytes(&p, end, &op->packet) != 0
        || ngx_ws_op_read_bytes(&p, end, &op->sid) != 0
        || ngx_ws_op_read_list(&p, end, &op->rooms, op->nrooms, alloc, data)
           != 0
        || ngx_ws_op_read_list(&p, end, &op->except, op->nexcept, alloc,
                               data)
           != 0
        || ngx_ws_op_read_list(&p, end, &op->names, op->nnames, alloc, data)
           != 0
        || ngx_ws_op_read_list(&p, end, &op->bins, op->nbins, alloc, data)
           != 0)
    {
        return -1;
    }

    return (p == end) ? 0 : -1;
}


static int
ngx_ws_op_read_list(u_char **pp, u_char *end, ngx_ws_bytes_t **s, size_t n,
    ngx_ws_op_alloc_pt alloc, void *data)
{
    size_t  i;

    *s = alloc(data, (n + 1) * sizeof(ngx_ws_bytes_t));
    if (*s == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (ngx_ws_op_read_bytes(pp, end, &(*s)[i]) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
ngx_ws_op_read_bytes(u_char **pp, u_char *end, ngx_ws_bytes_t *s)
{
    u_char    *p;
    uint32_t   len;

    p = *pp;

    if (end - p < 4) {
        return -1;
    }

    memcpy(&len, p, 4);
    p += 4;

    if (len > (size_t) (end - p)) {
        return -1;
    }

    s->data = p;
    s->len = len;
    *pp = p + len;

    return 0;
}
