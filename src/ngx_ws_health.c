
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include "ngx_ws.h"


/*
 * What a load balancer and an operator want from one worker: that it
 * answers, since when, and how many clients it holds per namespace.
 */

ngx_int_t
ngx_ws_health_handler(ngx_http_request_t *r)
{
    u_char        *body, *p;
    size_t         len;
    ngx_uint_t     i;
    ngx_ws_nsp_t  *nsp;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_ws_http_not_allowed(r, "GET, HEAD");
    }

    len = sizeof("{\"status\":\"ok\",\"pid\":,\"uptime\":,\"connections\":,"
                 "\"namespaces\":{}}")
          + 3 * NGX_INT_T_LEN;

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        nsp = &ngx_ws_worker.nsps[i];

        /* namespace names have no '"' or '\': checked at configuration */
        len += nsp->name.len + sizeof("\"\":,") + NGX_INT_T_LEN;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"status\":\"ok\",\"pid\":%P,\"uptime\":%T,"
                    "\"connections\":%ui,\"namespaces\":{",
                    ngx_pid, ngx_time() - ngx_ws_worker.start,
                    ngx_ws_worker.nsessions);

    for (i = 0; i < ngx_ws_worker.nnsps; i++) {
        nsp = &ngx_ws_worker.nsps[i];

        p = ngx_sprintf(p, "%s\"%V\":%ui", i ? "," : "", &nsp->name,
                        nsp->nsockets);
    }

    *p++ = '}';
    *p++ = '}';

    return ngx_ws_http_reply(r, NGX_HTTP_OK, body, p - body);
}
