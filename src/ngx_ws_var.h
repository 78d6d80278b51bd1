
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_VAR_H_INCLUDED_
#define _NGX_WS_VAR_H_INCLUDED_


#include "ngx_ws.h"


#define NGX_WS_VAR_SID         0
#define NGX_WS_VAR_TRANSPORT   1
#define NGX_WS_VAR_NAMESPACES  2
#define NGX_WS_VAR_REASON      3
#define NGX_WS_VAR_PACKETS_IN  4
#define NGX_WS_VAR_PACKETS_OUT 5
#define NGX_WS_VAR_N           6


ngx_int_t ngx_ws_var_add(ngx_conf_t *cf);
ngx_int_t ngx_ws_var_init(ngx_conf_t *cf);
void ngx_ws_var_set(ngx_http_request_t *r, ngx_uint_t var, u_char *data,
    size_t len);
void ngx_ws_var_sid(ngx_http_request_t *r, u_char *sid);
void ngx_ws_var_log(ngx_ws_session_t *s, const char *reason);


#endif /* _NGX_WS_VAR_H_INCLUDED_ */
