
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws.h"
#include "ngx_ws_metrics.h"
#include "ngx_ws_var.h"
#include "ngx_ws_recovery.h"


static ngx_int_t ngx_ws_postconfiguration(ngx_conf_t *cf);
static void *ngx_ws_create_main_conf(ngx_conf_t *cf);
static char *ngx_ws_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_ws_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void ngx_ws_body_limits(ngx_ws_loc_conf_t *conf);
static char *ngx_ws_socketio(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_ws_namespace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_push(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_ws_hook_headers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_hook_queue(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_relay(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_ws_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_ws_metrics_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_set_handler(ngx_conf_t *cf,
    ngx_http_handler_pt handler);
static char *ngx_ws_msec_check(ngx_conf_t *cf, void *post, void *data);
static char *ngx_ws_size_check(ngx_conf_t *cf, void *post, void *data);
static ngx_int_t ngx_ws_init_process(ngx_cycle_t *cycle);
static void ngx_ws_exit_process(ngx_cycle_t *cycle);


/* a zero time or size would close every client: refused by nginx -t */
static ngx_conf_post_t  ngx_ws_msec_positive = { ngx_ws_msec_check };
static ngx_conf_post_t  ngx_ws_size_positive = { ngx_ws_size_check };

static ngx_conf_num_bounds_t  ngx_ws_num_positive = {
    ngx_conf_check_num_bounds, 1, -1
};

/* the log must hold the largest push, the registry every id */
static ngx_conf_num_bounds_t  ngx_ws_zone_min = {
    ngx_conf_check_num_bounds, 1024 * 1024, -1
};


static ngx_command_t  ngx_ws_commands[] = {

    { ngx_string("ws_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_ws_main_conf_t, zone_size),
      &ngx_ws_zone_min },

    { ngx_string("ws_recovery_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_ws_recovery_zone_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_recovery"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_ws_recovery_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_ws_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_socketio"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_socketio,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_namespace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_ws_namespace,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, ping_interval),
      &ngx_ws_msec_positive },

    { ngx_string("ws_ping_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, ping_timeout),
      &ngx_ws_msec_positive },

    { ngx_string("ws_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, connect_timeout),
      &ngx_ws_msec_positive },

    { ngx_string("ws_send_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, send_timeout),
      &ngx_ws_msec_positive },

    { ngx_string("ws_max_payload"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, max_payload),
      &ngx_ws_size_positive },

    { ngx_string("ws_write_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, write_queue),
      &ngx_ws_size_positive },

    { ngx_string("ws_hook_connect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, hook_connect),
      NULL },

    { ngx_string("ws_hook_event"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, hook_event),
      NULL },

    { ngx_string("ws_hook_disconnect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, hook_disconnect),
      NULL },

    { ngx_string("ws_hook_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_ws_hook_queue,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_hook_concurrency"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, hook_concurrency),
      &ngx_ws_num_positive },

    { ngx_string("ws_relay"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_ws_relay,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_hook_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_hook_headers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_cors_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_cors_origin_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_cors_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_loc_conf_t, cors_credentials),
      NULL },

    { ngx_string("ws_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_ws_cors_cookie_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_limit_conn_per_ip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_ws_limit_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_push"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_push,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ws_metrics_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ws_module_ctx = {
    ngx_ws_var_add,                        /* preconfiguration */
    ngx_ws_postconfiguration,              /* postconfiguration */

    ngx_ws_create_main_conf,               /* create main configuration */
    ngx_ws_init_main_conf,                 /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_ws_create_loc_conf,                /* create location configuration */
    ngx_ws_merge_loc_conf                  /* merge location configuration */
};


ngx_module_t  ngx_ws_module = {
    NGX_MODULE_V1,
    &ngx_ws_module_ctx,                    /* module context */
    ngx_ws_commands,                       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ws_init_process,                   /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ws_exit_process,                   /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_ws_worker_t  ngx_ws_worker;


static ngx_int_t
ngx_ws_postconfiguration(ngx_conf_t *cf)
{
    ngx_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_ws_module);

    if (wmcf->used && ngx_ws_zone_add(cf, wmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (wmcf->used && ngx_ws_recovery_zone_add(cf, wmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_ws_var_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_ws_http_init_filters(cf);
}


static void *
ngx_ws_create_main_conf(ngx_conf_t *cf)
{
    ngx_str_t           *root;
    ngx_ws_main_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&wmcf->namespaces, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    root = ngx_array_push(&wmcf->namespaces);
    if (root == NULL) {
        return NULL;
    }

    ngx_str_set(root, "/");

    wmcf->zone_size = NGX_CONF_UNSET_SIZE;

    return wmcf;
}


static char *
ngx_ws_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ws_main_conf_t *wmcf = conf;

    ngx_conf_init_size_value(wmcf->zone_size, 32 * 1024 * 1024);

    return NGX_CONF_OK;
}


static void *
ngx_ws_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ws_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->namespaces = NULL;
     *     conf->hook_connect = { 0, NULL };
     *     conf->ctx = NULL;
     *     conf->cookie = { 0, NULL };
     *     conf->cookie_path = { 0, NULL };
     */

    conf->ping_interval = NGX_CONF_UNSET_MSEC;
    conf->ping_timeout = NGX_CONF_UNSET_MSEC;
    conf->connect_timeout = NGX_CONF_UNSET_MSEC;
    conf->send_timeout = NGX_CONF_UNSET_MSEC;
    conf->max_payload = NGX_CONF_UNSET_SIZE;
    conf->write_queue = NGX_CONF_UNSET_SIZE;
    conf->hook_headers = NGX_CONF_UNSET_PTR;
    conf->hook_queue = NGX_CONF_UNSET_UINT;
    conf->hook_queue_size = NGX_CONF_UNSET_SIZE;
    conf->hook_concurrency = NGX_CONF_UNSET_UINT;
    conf->relays = NGX_CONF_UNSET_PTR;
    conf->cors_origins = NGX_CONF_UNSET_PTR;
    conf->cors_credentials = NGX_CONF_UNSET;
    conf->limit_conn = NGX_CONF_UNSET_UINT;
    conf->recovery = NGX_CONF_UNSET_MSEC;

    /* not inherited: set only where ws_push or ws_health is */
    conf->json_errors = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_ws_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_loc_conf_t *prev = parent;
    ngx_ws_loc_conf_t *conf = child;

    ngx_str_t  *name;

    if (conf->namespaces == NULL) {
        conf->namespaces = prev->namespaces;
    }

    /* socket.io's defaults */

    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              25000);
    ngx_conf_merge_msec_value(conf->ping_timeout, prev->ping_timeout, 20000);
    ngx_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout,
                              45000);
    ngx_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    ngx_conf_merge_size_value(conf->max_payload, prev->max_payload, 1000000);
    ngx_conf_merge_size_value(conf->write_queue, prev->write_queue,
                              1024 * 1024);

    if (conf->json_errors == NGX_CONF_UNSET) {
        conf->json_errors = 0;
    }

    ngx_conf_merge_str_value(conf->hook_connect, prev->hook_connect, "");
    ngx_conf_merge_str_value(conf->hook_event, prev->hook_event, "");
    ngx_conf_merge_str_value(conf->hook_disconnect, prev->hook_disconnect,
                             "");
    ngx_conf_merge_uint_value(conf->hook_queue, prev->hook_queue, 16);
    ngx_conf_merge_size_value(conf->hook_queue_size, prev->hook_queue_size,
                              64 * 1024);
    ngx_conf_merge_uint_value(conf->hook_concurrency, prev->hook_concurrency,
                              256);
    ngx_conf_merge_ptr_value(conf->relays, prev->relays, NULL);
    ngx_conf_merge_ptr_value(conf->hook_headers, prev->hook_headers, NULL);

    if (conf->hook_headers == NULL) {
        conf->hook_headers = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (conf->hook_headers == NULL) {
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(conf->hook_headers);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        /* the app's login session: what a connect hook usually checks */
        ngx_str_set(name, "cookie");
    }

    if (conf->ctx == NULL) {
        conf->ctx = prev->ctx;

    } else if (conf->ctx->loc_conf[ngx_ws_module.ctx_index] == conf) {
        ngx_ws_body_limits(conf);
    }

    /* a list of origins replaces the enclosing level's, as add_header */

    ngx_conf_merge_ptr_value(conf->cors_origins, prev->cors_origins, NULL);
    ngx_conf_merge_value(conf->cors_credentials, prev->cors_credentials, 0);
    ngx_conf_merge_uint_value(conf->limit_conn, prev->limit_conn, 0);

    /* the window and its skip_hooks go together */

    if (conf->recovery == NGX_CONF_UNSET_MSEC) {
        conf->recovery = (prev->recovery == NGX_CONF_UNSET_MSEC)
                         ? 0 : prev->recovery;
        conf->recovery_skip_hooks = prev->recovery_skip_hooks;
    }

    /* the name and the path are set together */

    if (conf->cookie.data == NULL) {
        conf->cookie = prev->cookie;
        conf->cookie_path = prev->cookie_path;
    }

    if (conf->cookie.data == NULL) {
        ngx_str_set(&conf->cookie, "");
        ngx_str_set(&conf->cookie_path, "/");
    }

    return NGX_CONF_OK;
}


/*
 * The ws_socketio location itself: polling POSTs are limited by
 * ws_max_payload, not by client_max_body_size, which nginx checks before
 * any module runs; their bodies stay in memory to be read.  The core's
 * values are merged by now: its module comes first.
 */

static void
ngx_ws_body_limits(ngx_ws_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = conf->ctx->loc_conf[ngx_http_core_module.ctx_index];

    clcf->client_max_body_size = conf->max_payload;

    if (clcf->client_body_buffer_size < conf->max_payload) {
        clcf->client_body_buffer_size = conf->max_payload;
    }
}


/* ws_hook_queue count size: events a socket's queue holds, at most */

static char *
ngx_ws_hook_queue(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_str_t  *value;
    ngx_int_t   n;
    ssize_t     size;

    if (wlcf->hook_queue != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    size = ngx_parse_size(&value[2]);

    if (n <= 0 || size <= 0) {
        return "takes a count and a size, both greater than 0";
    }

    wlcf->hook_queue = n;
    wlcf->hook_queue_size = size;

    return NGX_CONF_OK;
}


/* ws_relay event [room=N] */

static char *
ngx_ws_relay(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_str_t       *value;
    ngx_ws_relay_t  *relay;

    if (wlcf->relays == NGX_CONF_UNSET_PTR) {
        wlcf->relays = ngx_array_create(cf->pool, 2, sizeof(ngx_ws_relay_t));
        if (wlcf->relays == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    relay = ngx_array_push(wlcf->relays);
    if (relay == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    /* compared as a C string with the event's JSON token */

    relay->event.len = value[1].len;
    relay->event.data = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (relay->event.data == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(relay->event.data, value[1].data, value[1].len + 1);

    relay->room = -1;

    if (cf->args->nelts == 3) {
        if (value[2].len < 6 || ngx_strncmp(value[2].data, "room=", 5) != 0) {
            return "takes an event and an optional room=N";
        }

        relay->room = ngx_atoi(value[2].data + 5, value[2].len - 5);

        if (relay->room == NGX_ERROR) {
            return "takes room=N with N a number";
        }
    }

    return NGX_CONF_OK;
}


/* ws_hook_headers name ...: kept from the handshake, names lower-cased */

static char *
ngx_ws_hook_headers(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    if (wlcf->hook_headers != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wlcf->hook_headers = ngx_array_create(cf->pool, cf->args->nelts,
                                          sizeof(ngx_str_t));
    if (wlcf->hook_headers == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        name = ngx_array_push(wlcf->hook_headers);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        name->len = value[i].len;
        name->data = ngx_pnalloc(cf->pool, value[i].len);
        if (name->data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_strlow(name->data, value[i].data, value[i].len);
    }

    return NGX_CONF_OK;
}


static char *
ngx_ws_msec_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msp = data;

    return (*msp == 0) ? "must be greater than 0" : NGX_CONF_OK;
}


static char *
ngx_ws_size_check(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    return (*sp == 0) ? "must be greater than 0" : NGX_CONF_OK;
}


static char *
ngx_ws_socketio(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    /* the hooks' requests will run in this location's configuration */
    wlcf->ctx = cf->ctx;

    return ngx_ws_set_handler(cf, ngx_ws_socketio_handler);
}


static char *
ngx_ws_push(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    wlcf->json_errors = 1;

    return ngx_ws_set_handler(cf, ngx_ws_push_handler);
}


static char *
ngx_ws_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    wlcf->json_errors = 1;

    return ngx_ws_set_handler(cf, ngx_ws_health_handler);
}


static char *
ngx_ws_metrics_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_ws_set_handler(cf, ngx_ws_metrics_handler);
}


static char *
ngx_ws_set_handler(ngx_conf_t *cf, ngx_http_handler_pt handler)
{
    ngx_ws_main_conf_t        *wmcf;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate";
    }

    clcf->handler = handler;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_ws_module);
    wmcf->used = 1;

    return NGX_CONF_OK;
}


/*
 * Namespaces are named in the location; the main configuration numbers
 * every distinct name, so that each worker keeps one table per namespace
 * however many locations serve it.
 */

static char *
ngx_ws_namespace(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_loc_conf_t *wlcf = conf;

    ngx_str_t           *value, *name;
    ngx_uint_t           i, *index;
    ngx_ws_main_conf_t  *wmcf;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/'
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, ',')
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '"')
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, '\\')
        || value[1].len > 255)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid namespace \"%V\": it starts with \"/\", "
                           "has no \",\", \"\"\" or \"\\\" and at most "
                           "255 characters",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[1].len == 1) {
        /* "/" is always served */
        return NGX_CONF_OK;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_ws_module);

    name = wmcf->namespaces.elts;

    for (i = 0; i < wmcf->namespaces.nelts; i++) {
        if (name[i].len == value[1].len
            && ngx_strncmp(name[i].data, value[1].data, value[1].len) == 0)
        {
            break;
        }
    }

    if (i == wmcf->namespaces.nelts) {
        name = ngx_array_push(&wmcf->namespaces);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = value[1];
    }

    if (wlcf->namespaces == NULL) {
        wlcf->namespaces = ngx_array_create(cf->pool, 4, sizeof(ngx_uint_t));
        if (wlcf->namespaces == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    index = ngx_array_push(wlcf->namespaces);
    if (index == NULL) {
        return NGX_CONF_ERROR;
    }

    *index = i;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ws_init_process(ngx_cycle_t *cycle)
{
    ngx_str_t           *name;
    ngx_uint_t           i;
    ngx_ws_nsp_t        *nsp;
    ngx_ws_main_conf_t  *wmcf;

    ngx_memzero(&ngx_ws_worker, sizeof(ngx_ws_worker_t));

    ngx_rbtree_init(&ngx_ws_worker.sessions, &ngx_ws_worker.sentinel,
                    ngx_ws_id_rbtree_insert_value);
    ngx_rbtree_init(&ngx_ws_worker.holds, &ngx_ws_worker.holds_sentinel,
                    ngx_ws_id_rbtree_insert_value);
    ngx_queue_init(&ngx_ws_worker.calls_wait);

    ngx_ws_worker.start = ngx_time();

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_ws_module);
    if (wmcf == NULL) {
        return NGX_OK;
    }

    nsp = ngx_pcalloc(cycle->pool,
                      wmcf->namespaces.nelts * sizeof(ngx_ws_nsp_t));
    if (nsp == NULL) {
        return NGX_ERROR;
    }

    name = wmcf->namespaces.elts;

    for (i = 0; i < wmcf->namespaces.nelts; i++) {
        nsp[i].name = name[i];
        ngx_queue_init(&nsp[i].sockets);
        ngx_rbtree_init(&nsp[i].ids, &nsp[i].ids_sentinel,
                        ngx_ws_id_rbtree_insert_value);
        ngx_rbtree_init(&nsp[i].rooms, &nsp[i].rooms_sentinel,
                        ngx_str_rbtree_insert_value);
    }

    ngx_ws_worker.nsps = nsp;
    ngx_ws_worker.nnsps = wmcf->namespaces.nelts;

    /* the cache manager and loader serve no clients: not in the zone */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_ws_zone_attach(cycle) != NGX_OK
        || ngx_ws_recovery_attach(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_ws_metrics_attach();

    if (ngx_ws_broker_init(cycle) != NGX_OK
        || ngx_ws_redis_init(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_ws_exit_process(ngx_cycle_t *cycle)
{
    /* whatever is still open would be reported as "open socket left" */
    ngx_ws_session_close_all();

    ngx_ws_gather_exit();
    ngx_ws_redis_exit();
    ngx_ws_flush_exit();
    ngx_ws_broker_exit();
    ngx_ws_zone_detach();
}
