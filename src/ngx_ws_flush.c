
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * A broadcast to a large room is queued to every socket at once, and
 * written in slices, one slice per turn of the event loop: the worker
 * answers its other connections (a scrape, a handshake, the next push)
 * between two slices instead of after the whole room.  Nothing changes
 * order: each socket writes its own queue in order, whenever it is
 * written, and what comes next for it queues behind.
 *
 * The connections wait by pointer and number: nginx keeps a worker's
 * connections in one array for the worker's life, a connection closed
 * meanwhile has no descriptor, and one reused has another number.
 */


#include "ngx_ws.h"


/* sockets written per turn: a few milliseconds of send() calls */
#define NGX_WS_FLUSH_SLICE  512


typedef struct {
    ngx_connection_t          *c;
    ngx_atomic_uint_t          number;
} ngx_ws_flush_t;


static void ngx_ws_flush_handler(ngx_event_t *ev);


static ngx_ws_flush_t    *ngx_ws_flushes;
static ngx_uint_t         ngx_ws_flushes_head;
static ngx_uint_t         ngx_ws_flushes_n;
static ngx_uint_t         ngx_ws_flushes_size;

static ngx_event_t        ngx_ws_flush_event;

/* what nginx's debug log of a posted event reads as its connection */
static ngx_connection_t   ngx_ws_flush_dumb;


/* c has something queued that only a slice will write */

void
ngx_ws_flush_add(ngx_connection_t *c)
{
    size_t           size;
    ngx_uint_t       n;
    ngx_ws_flush_t  *f;

    n = ngx_ws_flushes_n - ngx_ws_flushes_head;

    if (ngx_ws_flushes_n == ngx_ws_flushes_size) {
        size = ngx_max(2 * n, 1024);

        f = ngx_alloc(size * sizeof(ngx_ws_flush_t), c->log);
        if (f == NULL) {
            /* written now: what a slice would have done */
            ngx_ws_session_flush_later(c);
            return;
        }

        if (ngx_ws_flushes) {
            ngx_memcpy(f, ngx_ws_flushes + ngx_ws_flushes_head,
                       n * sizeof(ngx_ws_flush_t));
            ngx_free(ngx_ws_flushes);
        }

        ngx_ws_flushes = f;
        ngx_ws_flushes_size = size;
        ngx_ws_flushes_head = 0;
        ngx_ws_flushes_n = n;
    }

    ngx_ws_flushes[ngx_ws_flushes_n].c = c;
    ngx_ws_flushes[ngx_ws_flushes_n].number = c->number;
    ngx_ws_flushes_n++;

    if (!ngx_ws_flush_event.posted) {
        ngx_ws_flush_dumb.fd = (ngx_socket_t) -1;
        ngx_ws_flush_event.data = &ngx_ws_flush_dumb;
        ngx_ws_flush_event.handler = ngx_ws_flush_handler;
        ngx_ws_flush_event.log = ngx_cycle->log;

        /* after the network events of the next turn */
        ngx_post_event(&ngx_ws_flush_event, &ngx_posted_next_events);
    }
}


static void
ngx_ws_flush_handler(ngx_event_t *ev)
{
    ngx_uint_t          end;
    ngx_connection_t   *c;
    ngx_atomic_uint_t   number;

    end = ngx_min(ngx_ws_flushes_head + NGX_WS_FLUSH_SLICE,
                  ngx_ws_flushes_n);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "ws flush: a slice of %ui, %ui waiting",
                   end - ngx_ws_flushes_head,
                   ngx_ws_flushes_n - ngx_ws_flushes_head);

    while (ngx_ws_flushes_head < end) {

        /* by index: a write may add to the array, and move it */

        c = ngx_ws_flushes[ngx_ws_flushes_head].c;
        number = ngx_ws_flushes[ngx_ws_flushes_head].number;
        ngx_ws_flushes_head++;

        if (c->fd != (ngx_socket_t) -1 && c->number == number) {
            ngx_ws_session_flush_later(c);
        }
    }

    if (ngx_ws_flushes_head < ngx_ws_flushes_n) {
        ngx_post_event(ev, &ngx_posted_next_events);
        return;
    }

    ngx_ws_flushes_head = 0;
    ngx_ws_flushes_n = 0;
}


void
ngx_ws_flush_exit(void)
{
    if (ngx_ws_flush_event.posted) {
        ngx_delete_posted_event(&ngx_ws_flush_event);
    }

    if (ngx_ws_flushes) {
        ngx_free(ngx_ws_flushes);
        ngx_ws_flushes = NULL;
    }

    ngx_ws_flushes_head = 0;
    ngx_ws_flushes_n = 0;
    ngx_ws_flushes_size = 0;
}
