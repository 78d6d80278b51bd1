
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_JSON_H_INCLUDED_
#define _NGX_WS_JSON_H_INCLUDED_


/*
 * A strict RFC 8259 scanner that validates and delimits JSON text in place,
 * without allocating; libc only.  Strings must be valid UTF-8 without raw
 * control characters; escaped lone surrogates are accepted, as JSON.parse
 * does; numbers have no leading zeros.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


/*
 * cJSON's own compiled-in limit (CJSON_NESTING_LIMIT): one bound for every
 * JSON path, client packets, push bodies and hook replies alike.
 */
#define NGX_WS_JSON_MAX_DEPTH  1000


typedef enum {
    NGX_WS_JSON_INVALID = 0,
    NGX_WS_JSON_OBJECT,
    NGX_WS_JSON_ARRAY,
    NGX_WS_JSON_STRING,
    NGX_WS_JSON_NUMBER,
    NGX_WS_JSON_TRUE,
    NGX_WS_JSON_FALSE,
    NGX_WS_JSON_NULL
} ngx_ws_json_type_e;


/* the first byte at or after p that is not JSON whitespace, or end */
u_char *ngx_ws_json_skip_ws(u_char *p, u_char *end);

/*
 * p is at the first byte of a value (no leading whitespace).  Returns one
 * past its end and sets *type, or returns NULL and sets *type to
 * NGX_WS_JSON_INVALID if the value is invalid or nests arrays and objects
 * more than NGX_WS_JSON_MAX_DEPTH deep.
 */
u_char *ngx_ws_json_value(u_char *p, u_char *end, ngx_ws_json_type_e *type);

/* 1 if p..end is exactly one value with optional surrounding whitespace */
int ngx_ws_json_valid(u_char *p, u_char *end);

/*
 * Iterates the elements of an array.  p is just after the '[' (whitespace
 * may follow), or the value returned by the previous call.
 *
 * - an element: sets *elt and *elt_end around it (no whitespace) and returns
 *   where the next call starts (never NULL);
 * - the end of the array: returns NULL, *elt = NULL, *elt_end = one past
 *   the closing ']';
 * - invalid JSON (a bad element, a missing or trailing ',', no ']'): returns
 *   NULL, *elt = NULL, *elt_end = NULL.
 *
 * Loop: for (pos = arr + 1; (pos = next(pos, end, &e, &ee)); ) { use e }
 * then tell the end from an error by ee.
 */
u_char *ngx_ws_json_array_next(u_char *p, u_char *end, u_char **elt,
    u_char **elt_end);

/*
 * Iterates the members of an object, as ngx_ws_json_array_next() does the
 * elements of an array: p is just after the '{' or the value returned by
 * the previous call; each member sets *key..*key_end (the key's string
 * token) and *val..*val_end.  At the end: NULL with *key = NULL and
 * *val_end one past the '}'; on invalid JSON: NULL, *key = *val_end = NULL.
 */
u_char *ngx_ws_json_object_next(u_char *p, u_char *end, u_char **key,
    u_char **key_end, u_char **val, u_char **val_end);

/*
 * The value of a valid string token p..end (with its quotes) written to
 * out, which has room for end - p bytes; returns its length.  An escaped
 * "\u0000" becomes a NUL byte: callers that need C strings must look.
 */
size_t ngx_ws_json_string_decode(const u_char *p, const u_char *end,
    u_char *out);

/* the length of s as a quoted JSON string, as JSON.stringify writes it */
size_t ngx_ws_json_string_len(const u_char *s, size_t len);
u_char *ngx_ws_json_string_write(u_char *dst, const u_char *s, size_t len);

/*
 * p..end is a valid JSON string token (with its quotes); 1 if its unescaped
 * value equals the NUL-terminated lit, else 0.
 */
int ngx_ws_json_string_eq(const u_char *p, const u_char *end,
    const char *lit);

/*
 * {"$binary":"<base64>"} rewriting for the push endpoint: every object that
 * has exactly one member "$binary" whose value is a string becomes
 * {"_placeholder":true,"num":N} (N counting from first_num, in document
 * order) and its base64 (standard alphabet, padding optional, JSON escapes
 * such as "\/" allowed) is decoded as attachment N.  Everything else is
 * copied byte for byte.
 *
 * measure: 0 and *json_len (the rewritten length, exact for first_num +
 * *nbins <= 10, i.e. single-digit numbers, as Socket.IO's attachment limit
 * implies; each number of more digits adds its extra digits), *nbins and
 * *bin_len (the decoded bytes in all), or -1 if the text is not valid JSON
 * or a base64 string is invalid.
 *
 * write: writes the rewritten text to json_out, the attachments one after
 * another to bin_out and their lengths to bin_lens[0..nbins).  Returns 0 or
 * -1 like measure.
 */
int ngx_ws_json_binary_measure(const u_char *p, size_t len, size_t *json_len,
    unsigned *nbins, size_t *bin_len);
int ngx_ws_json_binary_write(const u_char *p, size_t len, unsigned first_num,
    u_char *json_out, u_char *bin_out, size_t *bin_lens);


/*
 * The other way, for what clients send: every object whose member
 * "_placeholder" is true (as socket.io-parser decides) becomes
 * {"$binary":"<base64 of attachment num>"}; everything else is copied.
 * p..p+len must be valid JSON.  With out NULL it only measures.  Returns
 * the length written, or -1 if a placeholder's "num" is not an integer
 * below nbins.
 */
ssize_t ngx_ws_json_unplace(const u_char *p, size_t len,
    const u_char **bins, const size_t *lens, unsigned nbins, u_char *out);


#endif /* _NGX_WS_JSON_H_INCLUDED_ */
