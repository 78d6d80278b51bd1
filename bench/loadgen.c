/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * loadgen: a Socket.IO v5 / Engine.IO v4 over WebSocket load generator.
 *
 * One single-threaded epoll process drives up to ~19,000 client
 * connections (the open-files cap is 20,000 per process); connections are
 * spread over the source addresses 127.0.0.1 .. 127.0.0.<addrs>.
 *
 * Modes:
 *   hold     open N, say so (--ready-file), hold them --seconds (or until
 *            SIGTERM/SIGINT), answering pings;
 *   connect  connect storm: time until all N have their namespace CONNECT
 *            answered, at most --inflight handshakes under way at once;
 *   fanout   N subscribers in --nsp (optionally --room), then for each
 *            rate of --rates (messages/s) push messages for --seconds
 *            through POST --push-path on one keep-alive connection; every
 *            subscriber takes the monotonic timestamp out of each message
 *            and records the latency.  Stops at the first failing step
 *            unless --all-steps.  --sub-only: subscribe and record only
 *            (another process publishes), until the "end" event arrives.
 *            --push-port: the pushes go to another server (another host
 *            of a cluster, which passes them on to --port's server);
 *   events   N clients in --nsp each emit "msg" with an ack id and wait for
 *            the ACK (43<nsp,><id>[...]), at most --window outstanding per
 *            client: --warm seconds not counted, then --seconds counted
 *            (acks/s, round-trip latency); the CPU time of each --cpu-pid
 *            (/proc/PID/stat utime+stime) and of the generator itself is
 *            read at the start and end of the counted seconds;
 *   poll     as hold, over HTTP long-polling: each client opens a session
 *            (GET: the open packet), joins --nsp (POST 40<nsp,>, GET: the
 *            CONNECT reply) and then keeps one GET pending, which is all
 *            an idle polling client holds; a ping answering it is
 *            answered with POST 3 and a new GET.  One keep-alive
 *            connection per client, or with --poll-reopen a new one for
 *            each request (so that each lands on any worker of the
 *            server).
 *
 * --cookie-bytes B: every handshake carries a Cookie header of B bytes.
 *
 * The result is one JSON line on stdout; progress goes to stderr.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define LG_MAX_STEPS       64
#define LG_HIST_SUB_BITS   7
#define LG_HIST_SUB        (1 << LG_HIST_SUB_BITS)
#define LG_HIST_SIZE       (LG_HIST_SUB * 48)
#define LG_RBUF_SIZE       (256 * 1024)
#define LG_MAX_FRAME       (LG_RBUF_SIZE / 2)
#define LG_MAX_HEADER      16384
#define LG_EVENTS          4096

#define LG_KIND_SUB        1
#define LG_KIND_PUSH       2
#define LG_KIND_POLL       3

#define LG_WIN_MAX         8          /* events outstanding per client */
#define LG_MAX_CPU_PIDS    4
#define LG_SID_MAX         64


typedef enum {
    LG_MODE_HOLD = 0,
    LG_MODE_CONNECT,
    LG_MODE_FANOUT,
    LG_MODE_EVENTS,
    LG_MODE_POLL
} lg_mode_e;


typedef enum {
    LG_ST_IDLE = 0,        /* not opened yet */
    LG_ST_CONNECTING,      /* TCP connect under way */
    LG_ST_UPGRADING,       /* GET sent, waiting for the 101 */
    LG_ST_OPENING,         /* waiting for the Engine.IO open packet */
    LG_ST_JOINING,         /* "40..." sent, waiting for the CONNECT reply */
    LG_ST_READY,           /* in the namespace */
    LG_ST_FAILED,          /* never got ready */
    LG_ST_CLOSED           /* was ready, then closed */
} lg_state_e;


typedef enum {
    LG_PH_CONNECT = 0,
    LG_PH_JOIN_ROOM,
    LG_PH_SETTLE,
    LG_PH_HOLD,
    LG_PH_STEP,
    LG_PH_DRAIN,
    LG_PH_LISTEN,
    LG_PH_EV_WARM,         /* events: sending, not counted */
    LG_PH_EV_RUN,          /* events: sending, counted */
    LG_PH_EV_DRAIN,        /* events: waiting for the last acks */
    LG_PH_DONE
} lg_phase_e;


/* the request a polling client has under way (or sends next) */
typedef enum {
    LG_PR_OPEN = 0,        /* GET: the open packet */
    LG_PR_JOIN,            /* POST 40<nsp,>: "ok" */
    LG_PR_JOINED,          /* GET: the CONNECT reply */
    LG_PR_PARK,            /* GET: pending until a ping or a message */
    LG_PR_PONG             /* POST 3: "ok" */
} lg_poll_req_e;


typedef struct {
    u_char          *data;
    size_t           len;
    size_t           size;
} lg_buf_t;


typedef struct {
    int              status;
    u_char          *body;
    size_t           body_len;
    unsigned         chunked:1;   /* body_len is that of the raw chunks */
} lg_http_resp_t;


typedef struct {
    uint64_t         count[LG_HIST_SIZE];
    uint64_t         n;
    uint64_t         max;
} lg_hist_t;


typedef struct {
    int              kind;
    int              fd;
    uint32_t         state;
    uint32_t         out_wanted;
    lg_buf_t         rest;         /* unparsed tail of the last read */
    lg_buf_t         out;          /* bytes the socket did not take yet */
    lg_buf_t         msg;          /* a fragmented message being joined */
    uint32_t         msg_op;
    int64_t          started;
    uint32_t         ev_next;      /* events: the next ack id */
    uint32_t         ev_out;       /* events: outstanding */
    int64_t          ev_sent[LG_WIN_MAX];  /* send times, by id % window */
    uint32_t         poll_req;     /* polling: lg_poll_req_e */
    uint32_t         poll_conn;    /* polling: the TCP connection is up */
    uint32_t         poll_ping;    /* polling: a ping to answer */
    uint32_t         sid_len;
    u_char           sid[LG_SID_MAX];
} lg_conn_t;


typedef struct {
    int              kind;
    int              fd;
    int              connected;
    uint32_t         out_wanted;
    lg_buf_t         in;
    lg_buf_t         out;
    uint64_t         inflight;
    uint64_t         sent;
    uint64_t         acked;
    uint64_t         errors;
    uint64_t         matched;
    uint64_t         opens;
    int64_t          last_active;
} lg_push_t;


typedef struct {
    double           rate;         /* messages/s */
    int64_t          start;
    int64_t          send_end;
    int64_t          drain_start;
    int64_t          end;
    int64_t          last_rx;
    uint64_t         planned;
    uint64_t         sent;
    uint64_t         acked_at_start;
    uint64_t         errors_at_start;
    uint64_t         acked;
    uint64_t         push_errors;
    uint64_t         subscribers;
    uint64_t         received;
    uint64_t         closed;
    lg_hist_t        hist;
    int              pass;
} lg_step_t;


typedef struct {
    const char      *host;
    int              port;
    int              push_port;    /* where pushes go; 0: port */
    lg_mode_e        mode;
    int              n;
    int              addrs;
    const char      *nsp;
    const char      *room;
    const char      *path;
    const char      *push_path;
    int              inflight;
    double           seconds;
    double           drain;
    double           settle;
    double           timeout;
    double           rates[LG_MAX_STEPS];
    int              nrates;
    double           probe;
    int              payload;
    double           p99_limit_ms;
    int              all_steps;
    int              sub_only;
    int              hist_out;
    int              busy;
    const char      *ready_file;
    int              cookie_bytes;
    int              window;
    double           warm;
    int              cpu_pids[LG_MAX_CPU_PIDS];
    int              ncpu_pids;
    int              poll_reopen;
} lg_conf_t;


static lg_conf_t    lg_conf = {
    .host = "127.0.0.1", .port = 0, .mode = LG_MODE_HOLD, .n = 100,
    .addrs = 16, .nsp = "/chat", .room = NULL, .path = "/socket.io/",
    .push_path = "/_ws/push", .inflight = 500, .seconds = 10, .drain = 10,
    .settle = 1, .timeout = 120, .nrates = 0, .probe = 0, .payload = 100,
    .p99_limit_ms = 200, .all_steps = 0, .sub_only = 0, .hist_out = 0,
    .ready_file = NULL, .cookie_bytes = 0, .window = 1, .warm = 2,
    .ncpu_pids = 0, .poll_reopen = 0
};

static int           lg_ep;
static lg_conn_t    *lg_conns;
static lg_push_t     lg_push;
/*
 * Frames are at most LG_MAX_FRAME: a kept partial frame plus a read always
 * fit in the read buffer.
 */
static u_char        lg_rbuf[LG_RBUF_SIZE];
static volatile sig_atomic_t  lg_stop;
static lg_phase_e    lg_phase;
static int64_t       lg_phase_start;

static int           lg_opened;      /* connections started */
static int           lg_pending;     /* handshakes under way */
static int           lg_ready;       /* currently ready */
static int           lg_ever_ready;
static int           lg_failed;
static int           lg_closed;
static int64_t       lg_t_start;
static int64_t       lg_t_all_ready;
static uint64_t      lg_pings;
static uint64_t      lg_events;      /* Socket.IO EVENT packets received */
static uint64_t      lg_bad_events;  /* EVENT packets without a timestamp */
static uint64_t      lg_end_seen;
static lg_hist_t     lg_hs_hist;     /* handshake times */

static uint64_t      lg_err_connect;
static uint64_t      lg_err_http;
static uint64_t      lg_err_ws;
static uint64_t      lg_err_nsp;
static uint64_t      lg_err_eof;
static uint64_t      lg_close_frames;

static lg_step_t     lg_steps[LG_MAX_STEPS];
static int           lg_step;        /* the step running (fanout) */
static int           lg_nsteps;      /* steps started */
static uint64_t      lg_seq;

/* events mode */
static uint64_t      lg_ev_sent;
static uint64_t      lg_ev_acked;          /* all acks */
static uint64_t      lg_ev_counted;        /* acks in the counted seconds */
static uint64_t      lg_ev_bad;            /* acks out of order / unknown */
static uint64_t      lg_ev_lost;           /* outstanding when closed */
static int64_t       lg_ev_t0, lg_ev_t1;   /* the counted seconds */
static lg_hist_t     lg_ev_hist;
static uint64_t      lg_cpu0[LG_MAX_CPU_PIDS][2], lg_cpu1[LG_MAX_CPU_PIDS][2];
static double        lg_self0, lg_self1;
static char          lg_cookie[2048];      /* "Cookie: ...\r\n" or "" */

/* poll mode */
static uint64_t      lg_poll_requests;     /* requests sent */
static uint64_t      lg_poll_conns;        /* TCP connections opened */

static char          lg_nsp_prefix[256];   /* "/chat," or "" */
static size_t        lg_nsp_prefix_len;


static int64_t
lg_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/* ------------------------------------------------------------ histogram */

/*
 * Log-linear buckets: exact below 256 us, then 128 buckets per power of
 * two, so any value is known to better than 1 %.
 */

static size_t
lg_hist_index(uint64_t v)
{
    int  msb, shift;

    if (v < 2 * LG_HIST_SUB) {
        return (size_t) v;
    }

    msb = 63 - __builtin_clzll(v);
    shift = msb - LG_HIST_SUB_BITS;

    if (shift + 1 >= LG_HIST_SIZE / LG_HIST_SUB) {
        return LG_HIST_SIZE - 1;
    }

    return (size_t) (shift + 1) * LG_HIST_SUB
           + (size_t) (v >> shift) - LG_HIST_SUB;
}


static uint64_t
lg_hist_value(size_t i)
{
    uint64_t  shift, lo;

    if (i < 2 * LG_HIST_SUB) {
        return i;
    }

    shift = i / LG_HIST_SUB - 1;
    lo = ((uint64_t) (i % LG_HIST_SUB) + LG_HIST_SUB) << shift;

    /* the middle of the bucket */
    return lo + ((1ULL << shift) >> 1);
}


static void
lg_hist_add(lg_hist_t *h, int64_t v)
{
    if (v < 0) {
        v = 0;
    }

    h->count[lg_hist_index((uint64_t) v)]++;
    h->n++;

    if ((uint64_t) v > h->max) {
        h->max = (uint64_t) v;
    }
}


static double
lg_hist_pct_ms(lg_hist_t *h, double pct)
{
    size_t    i;
    uint64_t  want, seen, v;

    if (h->n == 0) {
        return 0;
    }

    want = (uint64_t) ((double) h->n * pct / 100.0 + 0.999999);
    if (want == 0) {
        want = 1;
    }

    seen = 0;
    for (i = 0; i < LG_HIST_SIZE; i++) {
        seen += h->count[i];
        if (seen >= want) {
            v = lg_hist_value(i);
            return (double) (v < h->max ? v : h->max) / 1000.0;
        }
    }

    return (double) h->max / 1000.0;
}


static void
lg_hist_print(lg_hist_t *h)
{
    size_t  i;
    int     first;

    printf(",\"hist\":[");
    first = 1;

    for (i = 0; i < LG_HIST_SIZE; i++) {
        if (h->count[i]) {
            printf("%s[%llu,%llu]", first ? "" : ",",
                   (unsigned long long) lg_hist_value(i),
                   (unsigned long long) h->count[i]);
            first = 0;
        }
    }

    printf("]");
}


/* -------------------------------------------------------------- buffers */

static int
lg_buf_append(lg_buf_t *b, const u_char *p, size_t n)
{
    size_t   size;
    u_char  *d;

    if (b->len + n > b->size) {
        size = b->size ? b->size : 256;
        while (size < b->len + n) {
            size *= 2;
        }

        d = realloc(b->data, size);
        if (d == NULL) {
            return -1;
        }

        b->data = d;
        b->size = size;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;

    return 0;
}


static void
lg_buf_free(lg_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->size = 0;
}


static void
lg_buf_consume(lg_buf_t *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;

    /* idle connections keep no memory */
    if (b->len == 0) {
        lg_buf_free(b);
    }
}


/* ---------------------------------------------------------------- epoll */

static int
lg_epoll_set(int op, int fd, void *ptr, int out)
{
    struct epoll_event  ev;

    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.ptr = ptr;

    return epoll_ctl(lg_ep, op, fd, &ev);
}


/*
 * Writes what it can and keeps the rest in "out"; EPOLLOUT is asked for
 * only while something is waiting.
 */

static int
lg_send(int fd, void *ptr, lg_buf_t *out, uint32_t *out_wanted,
    const u_char *p, size_t n)
{
    ssize_t  w;

    if (out->len == 0) {
        while (n > 0) {
            w = write(fd, p, n);

            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }

                if (errno == EAGAIN) {
                    break;
                }

                return -1;
            }

            p += w;
            n -= (size_t) w;
        }

        if (n == 0) {
            return 0;
        }
    }

    if (lg_buf_append(out, p, n) != 0) {
        return -1;
    }

    if (!*out_wanted) {
        *out_wanted = 1;
        if (lg_epoll_set(EPOLL_CTL_MOD, fd, ptr, 1) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
lg_flush(int fd, void *ptr, lg_buf_t *out, uint32_t *out_wanted)
{
    ssize_t  w;

    while (out->len > 0) {
        w = write(fd, out->data, out->len);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }

            if (errno == EAGAIN) {
                return 0;
            }

            return -1;
        }

        lg_buf_consume(out, (size_t) w);
    }

    if (*out_wanted) {
        *out_wanted = 0;
        if (lg_epoll_set(EPOLL_CTL_MOD, fd, ptr, 0) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
lg_socket(int index, int port)
{
    int                 fd, one;
    struct sockaddr_in  src, dst;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    /*
     * The port is chosen at connect() time, per destination: every source
     * address has the whole ephemeral range for itself.
     */
    (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                      sizeof(one));

    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK
                                + (uint32_t) (index % lg_conf.addrs));

    if (bind(fd, (struct sockaddr *) &src, sizeof(src)) != 0) {
        close(fd);
        return -1;
    }

    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t) port);

    if (inet_pton(AF_INET, lg_conf.host, &dst.sin_addr) != 1) {
        close(fd);
        errno = EINVAL;
        return -1;
    }

    if (connect(fd, (struct sockaddr *) &dst, sizeof(dst)) != 0
        && errno != EINPROGRESS)
    {
        close(fd);
        return -1;
    }

    return fd;
}


static int
lg_connected(int fd)
{
    int        err;
    socklen_t  len;

    len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        return 0;
    }

    return 1;
}


/* ------------------------------------------------------------ websocket */

/* a masked client text frame around p */

static size_t
lg_ws_frame(u_char *f, int op, const u_char *p, size_t n)
{
    size_t           h, i;
    static uint32_t  seed = 0x9e3779b9;
    u_char           key[4];

    f[0] = (u_char) (0x80 | op);

    if (n < 126) {
        f[1] = (u_char) (0x80 | n);
        h = 2;

    } else if (n < 65536) {
        f[1] = 0x80 | 126;
        f[2] = (u_char) (n >> 8);
        f[3] = (u_char) n;
        h = 4;

    } else {
        f[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) {
            f[2 + i] = (u_char) ((uint64_t) n >> (56 - 8 * i));
        }
        h = 10;
    }

    /* xorshift: a different key per frame, as clients must */
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;

    memcpy(key, &seed, 4);
    memcpy(f + h, key, 4);
    h += 4;

    for (i = 0; i < n; i++) {
        f[h + i] = p[i] ^ key[i & 3];
    }

    return h + n;
}


static int
lg_sub_send(lg_conn_t *c, int op, const char *p, size_t n)
{
    u_char  f[512];
    size_t  len;

    if (n > sizeof(f) - 14) {
        return -1;
    }

    len = lg_ws_frame(f, op, (const u_char *) p, n);

    return lg_send(c->fd, c, &c->out, &c->out_wanted, f, len);
}


static int
lg_sub_start(lg_conn_t *c)
{
    int   n;
    char  req[2560];

    n = snprintf(req, sizeof(req),
                 "GET %s?EIO=4&transport=websocket HTTP/1.1\r\n"
                 "Host: %s:%d\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s"
                 "\r\n",
                 lg_conf.path, lg_conf.host, lg_conf.port, lg_cookie);

    c->state = LG_ST_UPGRADING;

    return lg_send(c->fd, c, &c->out, &c->out_wanted, (u_char *) req,
                   (size_t) n);
}


static void
lg_sub_close(lg_conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }

    lg_buf_free(&c->rest);
    lg_buf_free(&c->out);
    lg_buf_free(&c->msg);

    if (c->state == LG_ST_READY) {
        lg_ready--;
        lg_closed++;
        lg_ev_lost += c->ev_out;
        c->ev_out = 0;

        if (lg_phase == LG_PH_STEP || lg_phase == LG_PH_DRAIN) {
            lg_steps[lg_step].closed++;
        }

        c->state = LG_ST_CLOSED;

    } else if (c->state != LG_ST_CLOSED && c->state != LG_ST_FAILED) {
        lg_pending--;
        lg_failed++;
        c->state = LG_ST_FAILED;
    }
}


static void
lg_sub_ready(lg_conn_t *c, int64_t now)
{
    c->state = LG_ST_READY;
    lg_pending--;
    lg_ready++;
    lg_ever_ready++;
    lg_hist_add(&lg_hs_hist, now - c->started);
}


static uint64_t
lg_parse_uint(const u_char **pp, const u_char *end)
{
    uint64_t       v;
    const u_char  *p;

    v = 0;
    for (p = *pp; p < end && *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t) (*p - '0');
    }

    *pp = p;

    return v;
}


/*
 * An EVENT: 42<nsp,>["msg","<ts>-<step>-<seq>-<padding>"] carries the
 * publisher's monotonic send time; ["end"] tells subscriber-only
 * processes that the publisher is done.
 */

static void
lg_sub_event(const u_char *p, size_t n, int64_t now)
{
    int64_t        ts;
    uint64_t       step;
    const u_char  *end, *q;
    lg_step_t     *s;

    end = p + n;
    lg_events++;

    q = memchr(p, '[', n);
    if (q == NULL) {
        lg_bad_events++;
        return;
    }

    if (end - q >= 6 && memcmp(q, "[\"end\"", 6) == 0) {
        lg_end_seen++;
        return;
    }

    q = memmem(q, (size_t) (end - q), "\",\"", 3);
    if (q == NULL) {
        lg_bad_events++;
        return;
    }

    q += 3;
    ts = (int64_t) lg_parse_uint(&q, end);

    if (q >= end || *q != '-') {
        lg_bad_events++;
        return;
    }

    q++;
    step = lg_parse_uint(&q, end);

    if (step >= LG_MAX_STEPS) {
        lg_bad_events++;
        return;
    }

    s = &lg_steps[step];
    s->received++;
    s->last_rx = now;
    lg_hist_add(&s->hist, now - ts);

    if ((int) step + 1 > lg_nsteps && lg_conf.sub_only) {
        lg_nsteps = (int) step + 1;
    }
}


/* ---------------------------------------------------------------- events */

static void lg_enter(lg_phase_e ph, int64_t now);

/* 42<nsp,><id>["msg","xxx..."]: --payload bytes on the wire */

static int
lg_ev_send(lg_conn_t *c, int64_t now)
{
    int     n, pad;
    char    b[512];

    n = snprintf(b, sizeof(b), "42%s%u[\"msg\",\"", lg_nsp_prefix,
                 c->ev_next);
    pad = lg_conf.payload - n - 2;
    if (pad < 0) {
        pad = 0;
    }
    if (pad > (int) sizeof(b) - n - 16) {
        pad = (int) sizeof(b) - n - 16;
    }

    memset(b + n, 'x', (size_t) pad);
    n += pad;
    b[n++] = '"';
    b[n++] = ']';

    c->ev_sent[c->ev_next % (uint32_t) lg_conf.window] = now;
    c->ev_next++;
    c->ev_out++;
    lg_ev_sent++;

    return lg_sub_send(c, 1, b, (size_t) n);
}


static int
lg_ev_fill(lg_conn_t *c, int64_t now)
{
    while (c->ev_out < (uint32_t) lg_conf.window) {
        if (lg_ev_send(c, now) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * An ACK: 43<nsp,><id>[...]; a connection's acks come in the order of its
 * events (the hook calls one at a time, Node's handler answers at once),
 * so the oldest outstanding id is the one expected.
 */

static int
lg_ev_ack(lg_conn_t *c, const u_char *p, size_t n, int64_t now)
{
    uint32_t       id, want;
    const u_char  *q, *end;

    end = p + n;
    q = p + 2;

    if ((size_t) (end - q) < lg_nsp_prefix_len
        || memcmp(q, lg_nsp_prefix, lg_nsp_prefix_len) != 0)
    {
        lg_ev_bad++;
        return 0;
    }

    q += lg_nsp_prefix_len;
    id = (uint32_t) lg_parse_uint(&q, end);

    if (q >= end || *q != '[' || c->ev_out == 0) {
        lg_ev_bad++;
        return 0;
    }

    want = c->ev_next - c->ev_out;
    if (id != want) {
        lg_ev_bad++;

        /* a lost ack: take the events before this one as lost */
        if (id - want >= c->ev_out) {
            return 0;
        }

        lg_ev_lost += id - want;
        c->ev_out -= id - want;
    }

    c->ev_out--;
    lg_ev_acked++;

    if (lg_phase == LG_PH_EV_RUN) {
        lg_ev_counted++;
        lg_hist_add(&lg_ev_hist,
                    now - c->ev_sent[id % (uint32_t) lg_conf.window]);
    }

    if (lg_phase == LG_PH_EV_WARM || lg_phase == LG_PH_EV_RUN) {
        return lg_ev_fill(c, now);
    }

    return 0;
}


/* utime and stime of a process, in clock ticks */

static void
lg_proc_ticks(int pid, uint64_t *t)
{
    char                 path[64], buf[1024], *p;
    int                  fd;
    ssize_t              r;
    unsigned long long   ut, st;

    t[0] = 0;
    t[1] = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return;
    }

    r = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (r <= 0) {
        return;
    }

    buf[r] = '\0';

    /* after "(comm)": state ppid pgrp session tty tpgid flags minflt
       cminflt majflt cmajflt utime stime */
    p = strrchr(buf, ')');
    if (p == NULL
        || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                  "%llu %llu", &ut, &st) != 2)
    {
        return;
    }

    t[0] = ut;
    t[1] = st;
}


static double
lg_self_cpu(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static void
lg_ev_cpu(uint64_t (*ticks)[2], double *self)
{
    int  i;

    for (i = 0; i < lg_conf.ncpu_pids; i++) {
        lg_proc_ticks(lg_conf.cpu_pids[i], ticks[i]);
    }

    *self = lg_self_cpu();
}


static void
lg_ev_start(int64_t now)
{
    int         i;
    lg_conn_t  *c;

    fprintf(stderr, "loadgen: events from %d clients, window %d, "
            "%.1f s warm-up, %.1f s counted\n", lg_ready, lg_conf.window,
            lg_conf.warm, lg_conf.seconds);

    lg_enter(LG_PH_EV_WARM, now);

    for (i = 0; i < lg_opened; i++) {
        c = &lg_conns[i];

        if (c->state == LG_ST_READY && c->fd >= 0
            && lg_ev_fill(c, now) != 0)
        {
            lg_sub_close(c);
        }
    }
}


/* one Engine.IO packet in a text message; -1 closes the connection */

static int
lg_sub_packet(lg_conn_t *c, const u_char *p, size_t n, int64_t now)
{
    char   b[300];
    int    len;

    if (n == 0) {
        return 0;
    }

    switch (p[0]) {

    case '0':
        if (c->state != LG_ST_OPENING) {
            return 0;
        }

        len = snprintf(b, sizeof(b), "40%s", lg_nsp_prefix);
        c->state = LG_ST_JOINING;

        return lg_sub_send(c, 1, b, (size_t) len);

    case '2':
        lg_pings++;
        return lg_sub_send(c, 1, "3", 1);

    case '1':
        lg_err_eof++;
        return -1;

    case '4':
        if (n < 2) {
            return 0;
        }

        if (p[1] == '2') {
            if (c->state == LG_ST_READY) {
                lg_sub_event(p, n, now);
            }
            return 0;
        }

        if (p[1] == '3') {
            if (c->state == LG_ST_READY && lg_conf.mode == LG_MODE_EVENTS) {
                return lg_ev_ack(c, p, n, now);
            }
            return 0;
        }

        if (p[1] == '0' && c->state == LG_ST_JOINING) {
            if ((size_t) n >= 2 + lg_nsp_prefix_len
                && memcmp(p + 2, lg_nsp_prefix, lg_nsp_prefix_len) == 0)
            {
                lg_sub_ready(c, now);
            }
            return 0;
        }

        if (p[1] == '4' && c->state == LG_ST_JOINING) {
            lg_err_nsp++;
            return -1;
        }

        if (p[1] == '1') {
            lg_err_eof++;
            return -1;
        }

        return 0;

    default:
        return 0;
    }
}


static int
lg_sub_message(lg_conn_t *c, int op, const u_char *p, size_t n, int64_t now)
{
    if (op == 1) {
        return lg_sub_packet(c, p, n, now);
    }

    /* binary messages are attachments: nothing to measure */
    return 0;
}


/*
 * Parses the frames in p; returns how many bytes were consumed, or -1 when
 * the connection is to be closed.
 */

static ssize_t
lg_sub_frames(lg_conn_t *c, u_char *p, size_t n, int64_t now)
{
    int       op, fin;
    size_t    off, h, i;
    uint64_t  len;
    u_char   *pl;

    off = 0;

    while (n - off >= 2) {
        op = p[off] & 0x0f;
        fin = p[off] & 0x80;

        if (p[off + 1] & 0x80) {
            /* a server must not mask */
            lg_err_ws++;
            return -1;
        }

        len = p[off + 1] & 0x7f;
        h = 2;

        if (len == 126) {
            if (n - off < 4) {
                break;
            }
            len = (uint64_t) p[off + 2] << 8 | p[off + 3];
            h = 4;

        } else if (len == 127) {
            if (n - off < 10) {
                break;
            }
            len = 0;
            for (i = 0; i < 8; i++) {
                len = len << 8 | p[off + 2 + i];
            }
            h = 10;
        }

        if (len > LG_MAX_FRAME) {
            lg_err_ws++;
            return -1;
        }

        if (n - off < h + len) {
            break;
        }

        pl = p + off + h;
        off += h + (size_t) len;

        switch (op) {

        case 0x8:
            lg_close_frames++;
            return -1;

        case 0x9:
            if (len > 125
                || lg_sub_send(c, 0xa, (char *) pl, (size_t) len) != 0)
            {
                return -1;
            }
            continue;

        case 0xa:
            continue;

        case 0x0:
            if (c->msg_op == 0) {
                lg_err_ws++;
                return -1;
            }

            if (c->msg.len + len > LG_MAX_FRAME
                || lg_buf_append(&c->msg, pl, (size_t) len) != 0)
            {
                lg_err_ws++;
                return -1;
            }

            if (fin) {
                op = (int) c->msg_op;
                c->msg_op = 0;

                if (lg_sub_message(c, op, c->msg.data, c->msg.len, now)
                    != 0)
                {
                    return -1;
                }

                lg_buf_free(&c->msg);
            }
            continue;

        case 0x1:
        case 0x2:
            if (!fin) {
                c->msg_op = (uint32_t) op;
                if (lg_buf_append(&c->msg, pl, (size_t) len) != 0) {
                    return -1;
                }
                continue;
            }

            if (lg_sub_message(c, op, pl, (size_t) len, now) != 0) {
                return -1;
            }
            continue;

        default:
            lg_err_ws++;
            return -1;
        }
    }

    return (ssize_t) off;
}


/* the 101 response; returns the header length, 0 for "more", -1 bad */

static ssize_t
lg_sub_upgrade(u_char *p, size_t n)
{
    u_char  *e;

    e = memmem(p, n, "\r\n\r\n", 4);
    if (e == NULL) {
        if (n > LG_MAX_HEADER) {
            lg_err_http++;
            return -1;
        }
        return 0;
    }

    if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
        lg_err_http++;
        return -1;
    }

    return e + 4 - p;
}


static void
lg_sub_read(lg_conn_t *c, int64_t now)
{
    size_t    have, off;
    ssize_t   r;

    have = c->rest.len;
    if (have) {
        memcpy(lg_rbuf, c->rest.data, have);
        lg_buf_free(&c->rest);
    }

    r = read(c->fd, lg_rbuf + have, sizeof(lg_rbuf) - have);

    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (have) {
                (void) lg_buf_append(&c->rest, lg_rbuf, have);
            }
            return;
        }

        lg_err_eof++;
        lg_sub_close(c);
        return;
    }

    have += (size_t) r;
    off = 0;

    if (c->state == LG_ST_UPGRADING) {
        r = lg_sub_upgrade(lg_rbuf, have);

        if (r < 0) {
            lg_sub_close(c);
            return;
        }

        if (r == 0) {
            (void) lg_buf_append(&c->rest, lg_rbuf, have);
            return;
        }

        off = (size_t) r;
        c->state = LG_ST_OPENING;
    }

    r = lg_sub_frames(c, lg_rbuf + off, have - off, now);

    if (r < 0) {
        lg_sub_close(c);
        return;
    }

    off += (size_t) r;

    if (off < have) {
        (void) lg_buf_append(&c->rest, lg_rbuf + off, have - off);
    }
}


static void
lg_sub_event_handler(lg_conn_t *c, uint32_t events, int64_t now)
{
    if (c->state == LG_ST_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            return;
        }

        if (!lg_connected(c->fd)) {
            lg_err_connect++;
            lg_sub_close(c);
            return;
        }

        if (lg_sub_start(c) != 0) {
            lg_err_connect++;
            lg_sub_close(c);
            return;
        }

        if (lg_flush(c->fd, c, &c->out, &c->out_wanted) != 0) {
            lg_sub_close(c);
        }

        return;
    }

    if (events & EPOLLOUT) {
        if (lg_flush(c->fd, c, &c->out, &c->out_wanted) != 0) {
            lg_err_eof++;
            lg_sub_close(c);
            return;
        }
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        lg_sub_read(c, now);
    }
}


static void
lg_open_more(int64_t now)
{
    lg_conn_t  *c;

    while (lg_opened < lg_conf.n && lg_pending < lg_conf.inflight) {
        c = &lg_conns[lg_opened];

        c->kind = lg_conf.mode == LG_MODE_POLL ? LG_KIND_POLL : LG_KIND_SUB;
        c->started = now;
        c->fd = lg_socket(lg_opened, lg_conf.port);
        lg_opened++;
        lg_pending++;

        if (c->fd < 0) {
            lg_err_connect++;
            c->state = LG_ST_FAILED;
            lg_pending--;
            lg_failed++;

            if (errno == EMFILE || errno == ENFILE) {
                fprintf(stderr, "loadgen: out of file descriptors\n");
            }
            continue;
        }

        c->state = LG_ST_CONNECTING;
        c->out_wanted = 1;

        if (c->kind == LG_KIND_POLL) {
            c->poll_req = LG_PR_OPEN;
            lg_poll_conns++;
        }

        if (lg_epoll_set(EPOLL_CTL_ADD, c->fd, c, 1) != 0) {
            lg_err_connect++;
            lg_sub_close(c);
        }
    }
}


/* ------------------------------------------------------------------ http */

/* the value of a header (name without the colon, any case), or NULL */

static u_char *
lg_http_header(u_char *p, size_t hlen, const char *name)
{
    size_t   n;
    u_char  *e, *line;

    n = strlen(name);
    e = p + hlen;
    line = memmem(p, hlen, "\r\n", 2);

    while (line != NULL && (size_t) (e - line) > n + 3) {
        line += 2;

        if (strncasecmp((char *) line, name, n) == 0 && line[n] == ':') {
            return line + n + 1;
        }

        line = memmem(line, (size_t) (e - line), "\r\n", 2);
    }

    return NULL;
}


/*
 * Parses one response in p; returns its length, 0 for "more", -1 for
 * garbage.  Content-Length and chunked bodies are both understood (a
 * chunked body is left as it came); without either the body is empty.
 */

static ssize_t
lg_http_response(u_char *p, size_t n, lg_http_resp_t *hr)
{
    size_t   hlen, clen, pos;
    u_char  *e, *h, *m;

    e = memmem(p, n, "\r\n\r\n", 4);

    if (e == NULL) {
        return n > LG_MAX_HEADER ? -1 : 0;
    }

    hlen = (size_t) (e + 4 - p);

    if (hlen < 12 || memcmp(p, "HTTP/1.", 7) != 0) {
        return -1;
    }

    hr->status = atoi((char *) p + 9);
    hr->body = p + hlen;
    hr->chunked = 0;

    h = lg_http_header(p, hlen, "content-length");

    if (h != NULL) {
        pos = hlen + strtoul((char *) h, NULL, 10);
        if (n < pos) {
            return 0;
        }

    } else if (memmem(p, hlen, "chunked", 7) != NULL) {
        hr->chunked = 1;
        pos = hlen;

        for ( ;; ) {
            m = memmem(p + pos, n - pos, "\r\n", 2);
            if (m == NULL) {
                return 0;
            }

            clen = strtoul((char *) p + pos, NULL, 16);
            pos = (size_t) (m + 2 - p) + clen + 2;

            if (pos > n) {
                return 0;
            }

            if (clen == 0) {
                break;
            }
        }

    } else {
        pos = hlen;
    }

    hr->body_len = pos - hlen;

    return (ssize_t) pos;
}


/* ------------------------------------------------------------------ push */

static int
lg_push_open(void)
{
    lg_push.kind = LG_KIND_PUSH;
    lg_push.fd = lg_socket(0, lg_conf.push_port);

    if (lg_push.fd < 0) {
        return -1;
    }

    lg_push.connected = 0;
    lg_push.out_wanted = 1;

    return lg_epoll_set(EPOLL_CTL_ADD, lg_push.fd, &lg_push, 1);
}


static void
lg_push_close(void)
{
    if (lg_push.fd >= 0) {
        close(lg_push.fd);
    }

    lg_push.fd = -1;
    lg_push.connected = 0;
    lg_push.out_wanted = 0;

    /* requests without an answer are lost */
    lg_push.errors += lg_push.inflight;
    lg_push.inflight = 0;

    lg_buf_free(&lg_push.in);
    lg_buf_free(&lg_push.out);
}


static int
lg_push_request(const char *body, size_t n)
{
    int   len;
    char  head[512];

    /*
     * An HTTP server may close an idle keep-alive connection (Node after
     * 5 s) just as a request goes out: a connection idle for long is
     * replaced before it is used.
     */
    if (lg_push.fd >= 0 && lg_push.inflight == 0
        && lg_now() - lg_push.last_active > 2000000)
    {
        lg_push_close();
    }

    if (lg_push.fd < 0) {
        lg_push.opens++;
        if (lg_push_open() != 0) {
            lg_push.errors++;
            return -1;
        }
    }

    len = snprintf(head, sizeof(head),
                   "POST %s HTTP/1.1\r\n"
                   "Host: %s:%d\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n"
                   "\r\n",
                   lg_conf.push_path, lg_conf.host, lg_conf.push_port, n);

    /* until connected, everything waits in "out" */
    if (!lg_push.connected) {
        if (lg_buf_append(&lg_push.out, (u_char *) head, (size_t) len) != 0
            || lg_buf_append(&lg_push.out, (const u_char *) body, n) != 0)
        {
            return -1;
        }

    } else if (lg_send(lg_push.fd, &lg_push, &lg_push.out,
                       &lg_push.out_wanted, (u_char *) head, (size_t) len)
               != 0
               || lg_send(lg_push.fd, &lg_push, &lg_push.out,
                          &lg_push.out_wanted, (const u_char *) body, n)
                  != 0)
    {
        lg_push_close();
        lg_push.errors++;
        return -1;
    }

    lg_push.inflight++;
    lg_push.sent++;
    lg_push.last_active = lg_now();

    return 0;
}


/* one response from "in": its length, 0 for "more", -1 for garbage */

static ssize_t
lg_push_response(void)
{
    ssize_t          n;
    const u_char    *q;
    lg_http_resp_t   hr;

    n = lg_http_response(lg_push.in.data, lg_push.in.len, &hr);
    if (n <= 0) {
        return n;
    }

    if (hr.status == 200) {
        lg_push.acked++;

        q = memmem(hr.body, hr.body_len, "\"matched\":", 10);
        if (q != NULL) {
            q += 10;
            lg_push.matched += lg_parse_uint(&q, hr.body + hr.body_len);
        }

    } else {
        lg_push.errors++;
        fprintf(stderr, "loadgen: push answered %d\n", hr.status);
    }

    lg_push.inflight--;
    lg_push.last_active = lg_now();

    return n;
}


static void
lg_push_read(void)
{
    u_char   b[16384];
    ssize_t  r;

    r = read(lg_push.fd, b, sizeof(b));

    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }

        lg_push_close();
        return;
    }

    if (lg_buf_append(&lg_push.in, b, (size_t) r) != 0) {
        lg_push_close();
        return;
    }

    while (lg_push.in.len > 0 && lg_push.inflight > 0) {
        r = lg_push_response();

        if (r < 0) {
            fprintf(stderr, "loadgen: bad push response\n");
            lg_push_close();
            return;
        }

        if (r == 0) {
            break;
        }

        lg_buf_consume(&lg_push.in, (size_t) r);
    }
}


static void
lg_push_event_handler(uint32_t events)
{
    if (!lg_push.connected) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            return;
        }

        if (!lg_connected(lg_push.fd)) {
            fprintf(stderr, "loadgen: push connection failed\n");
            lg_push_close();
            return;
        }

        lg_push.connected = 1;
        lg_push.out_wanted = 1;
    }

    if (events & EPOLLOUT) {
        if (lg_flush(lg_push.fd, &lg_push, &lg_push.out, &lg_push.out_wanted)
            != 0)
        {
            lg_push_close();
            return;
        }
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        lg_push_read();
    }
}


static int
lg_push_message(lg_step_t *s, int step, int64_t ts)
{
    int     n, pad, pre;
    char    body[2048], head[128], tail[1024];
    size_t  overhead;

    pre = snprintf(head, sizeof(head), "%lld-%d-%llu-", (long long) ts, step,
                   (unsigned long long) lg_seq++);

    /* 42<nsp,>["msg","..."] is --payload bytes on the wire */
    overhead = 2 + lg_nsp_prefix_len + sizeof("[\"msg\",\"\"]") - 1;
    pad = lg_conf.payload - (int) overhead - pre;
    if (pad < 0) {
        pad = 0;
    }
    if (pad > (int) sizeof(tail) - 1) {
        pad = (int) sizeof(tail) - 1;
    }

    memset(tail, 'x', (size_t) pad);
    tail[pad] = '\0';

    if (lg_conf.room) {
        n = snprintf(body, sizeof(body),
                     "{\"nsp\":\"%s\",\"rooms\":[\"%s\"],\"event\":\"msg\","
                     "\"data\":[\"%s%s\"]}",
                     lg_conf.nsp, lg_conf.room, head, tail);
    } else {
        n = snprintf(body, sizeof(body),
                     "{\"nsp\":\"%s\",\"event\":\"msg\",\"data\":[\"%s%s\"]}",
                     lg_conf.nsp, head, tail);
    }

    if (lg_push_request(body, (size_t) n) != 0) {
        return -1;
    }

    s->sent++;

    return 0;
}


/* --------------------------------------------------------------- polling */

/* the request c->poll_req, on the session's URL once its sid is known */

static int
lg_poll_send(lg_conn_t *c)
{
    int   n;
    char  req[2560], body[300];

    switch (c->poll_req) {

    case LG_PR_JOIN:
        (void) snprintf(body, sizeof(body), "40%s", lg_nsp_prefix);
        break;

    case LG_PR_PONG:
        (void) snprintf(body, sizeof(body), "3");
        break;

    default:
        body[0] = '\0';
    }

    if (body[0] == '\0') {
        n = snprintf(req, sizeof(req),
                     "GET %s?EIO=4&transport=polling%s%.*s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "%s"
                     "\r\n",
                     lg_conf.path, c->sid_len ? "&sid=" : "",
                     (int) c->sid_len, c->sid, lg_conf.host, lg_conf.port,
                     lg_cookie);

    } else {
        n = snprintf(req, sizeof(req),
                     "POST %s?EIO=4&transport=polling&sid=%.*s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Content-Type: text/plain;charset=UTF-8\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "\r\n"
                     "%s",
                     lg_conf.path, (int) c->sid_len, c->sid, lg_conf.host,
                     lg_conf.port, strlen(body), lg_cookie, body);
    }

    if (n < 0 || (size_t) n >= sizeof(req)) {
        return -1;
    }

    lg_poll_requests++;

    return lg_send(c->fd, c, &c->out, &c->out_wanted, (u_char *) req,
                   (size_t) n);
}


/* --poll-reopen: the next request goes on a new connection */

static int
lg_poll_reopen(lg_conn_t *c)
{
    close(c->fd);
    lg_buf_free(&c->rest);
    lg_buf_free(&c->out);

    c->poll_conn = 0;
    c->fd = lg_socket((int) (c - lg_conns), lg_conf.port);

    if (c->fd < 0) {
        lg_err_connect++;
        return -1;
    }

    lg_poll_conns++;
    c->out_wanted = 1;

    return lg_epoll_set(EPOLL_CTL_ADD, c->fd, c, 1);
}


/* sends req next; 1: on a new connection, whose answer is still to come */

static int
lg_poll_next(lg_conn_t *c, lg_poll_req_e req)
{
    c->poll_req = req;

    if (lg_conf.poll_reopen) {
        return lg_poll_reopen(c) == 0 ? 1 : -1;
    }

    return lg_poll_send(c);
}


/* the sid of the open packet: 0{"sid":"...",...} */

static int
lg_poll_sid(lg_conn_t *c, const u_char *p, size_t n)
{
    const u_char  *q, *e;

    q = memmem(p, n, "\"sid\":\"", 7);
    if (q == NULL) {
        return -1;
    }

    q += 7;
    e = memchr(q, '"', (size_t) (p + n - q));

    if (e == NULL || e == q || e - q > LG_SID_MAX) {
        return -1;
    }

    c->sid_len = (uint32_t) (e - q);
    memcpy(c->sid, q, c->sid_len);

    return 0;
}


/* one Engine.IO packet of a polling payload; -1 closes the client */

static int
lg_poll_packet(lg_conn_t *c, const u_char *p, size_t n, int64_t now)
{
    if (n == 0) {
        return 0;
    }

    switch (p[0]) {

    case '0':
        if (c->poll_req != LG_PR_OPEN || lg_poll_sid(c, p, n) != 0) {
            lg_err_http++;
            return -1;
        }
        return 0;

    case '1':
        lg_err_eof++;
        return -1;

    case '2':
        lg_pings++;
        c->poll_ping = 1;
        return 0;

    case '4':
        if (n < 2) {
            return 0;
        }

        if (p[1] == '0' && c->state == LG_ST_JOINING
            && n >= 2 + lg_nsp_prefix_len
            && memcmp(p + 2, lg_nsp_prefix, lg_nsp_prefix_len) == 0)
        {
            lg_sub_ready(c, now);
            return 0;
        }

        if (p[1] == '4' && c->state == LG_ST_JOINING) {
            lg_err_nsp++;
            return -1;
        }

        if (p[1] == '1') {
            lg_err_eof++;
            return -1;
        }

        if (p[1] == '2') {
            lg_events++;
        }

        return 0;

    default:
        /* 6 (noop) */
        return 0;
    }
}


/* the packets of an answer to a GET, separated by 0x1e */

static int
lg_poll_payload(lg_conn_t *c, const u_char *p, size_t n, int64_t now)
{
    const u_char  *e, *end;

    end = p + n;

    while (p < end) {
        e = memchr(p, 0x1e, (size_t) (end - p));
        if (e == NULL) {
            e = end;
        }

        if (lg_poll_packet(c, p, (size_t) (e - p), now) != 0) {
            return -1;
        }

        p = e + 1;
    }

    return 0;
}


/*
 * An answer to c->poll_req, and the request that follows it: the parked
 * GET once in the namespace, POST 3 first when a ping came.  Returns -1
 * to close the client, 1 when it went on on a new connection.
 */

static int
lg_poll_answer(lg_conn_t *c, lg_http_resp_t *hr, int64_t now)
{
    if (hr->status != 200 || hr->chunked) {
        lg_err_http++;
        return -1;
    }

    switch (c->poll_req) {

    case LG_PR_JOIN:
    case LG_PR_PONG:
        if (hr->body_len != 2 || memcmp(hr->body, "ok", 2) != 0) {
            lg_err_http++;
            return -1;
        }

        return lg_poll_next(c, c->state == LG_ST_READY ? LG_PR_PARK
                                                       : LG_PR_JOINED);

    default:
        if (lg_poll_payload(c, hr->body, hr->body_len, now) != 0) {
            return -1;
        }

        if (c->poll_req == LG_PR_OPEN) {
            if (c->sid_len == 0) {
                lg_err_http++;
                return -1;
            }

            c->state = LG_ST_JOINING;

            return lg_poll_next(c, LG_PR_JOIN);
        }

        if (c->poll_ping) {
            c->poll_ping = 0;
            return lg_poll_next(c, LG_PR_PONG);
        }

        return lg_poll_next(c, c->state == LG_ST_READY ? LG_PR_PARK
                                                       : LG_PR_JOINED);
    }
}


static void
lg_poll_read(lg_conn_t *c, int64_t now)
{
    int             rc;
    size_t          have, off;
    ssize_t         r;
    lg_http_resp_t  hr;

    have = c->rest.len;
    if (have) {
        memcpy(lg_rbuf, c->rest.data, have);
        lg_buf_free(&c->rest);
    }

    r = read(c->fd, lg_rbuf + have, sizeof(lg_rbuf) - have);

    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (have) {
                (void) lg_buf_append(&c->rest, lg_rbuf, have);
            }
            return;
        }

        lg_err_eof++;
        lg_sub_close(c);
        return;
    }

    have += (size_t) r;
    off = 0;

    while (off < have) {
        r = lg_http_response(lg_rbuf + off, have - off, &hr);

        if (r < 0) {
            lg_err_http++;
            lg_sub_close(c);
            return;
        }

        if (r == 0) {
            break;
        }

        off += (size_t) r;
        rc = lg_poll_answer(c, &hr, now);

        if (rc < 0) {
            lg_sub_close(c);
            return;
        }

        if (rc == 1) {
            /* a new connection: what is left was the old one's */
            return;
        }
    }

    if (off < have) {
        if (have - off > LG_MAX_HEADER + LG_MAX_FRAME) {
            lg_err_http++;
            lg_sub_close(c);
            return;
        }

        (void) lg_buf_append(&c->rest, lg_rbuf + off, have - off);
    }
}


static void
lg_poll_event_handler(lg_conn_t *c, uint32_t events, int64_t now)
{
    if (!c->poll_conn) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            return;
        }

        if (!lg_connected(c->fd)) {
            lg_err_connect++;
            lg_sub_close(c);
            return;
        }

        c->poll_conn = 1;

        if (c->state == LG_ST_CONNECTING) {
            c->state = LG_ST_OPENING;
        }

        if (lg_poll_send(c) != 0
            || lg_flush(c->fd, c, &c->out, &c->out_wanted) != 0)
        {
            lg_err_connect++;
            lg_sub_close(c);
        }

        return;
    }

    if (events & EPOLLOUT) {
        if (lg_flush(c->fd, c, &c->out, &c->out_wanted) != 0) {
            lg_err_eof++;
            lg_sub_close(c);
            return;
        }
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        lg_poll_read(c, now);
    }
}


/* --------------------------------------------------------------- phases */

static void
lg_enter(lg_phase_e ph, int64_t now)
{
    lg_phase = ph;
    lg_phase_start = now;
}


static void
lg_write_ready_file(void)
{
    int  fd;

    if (lg_conf.ready_file == NULL) {
        return;
    }

    fd = open(lg_conf.ready_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, "ready\n", 6) < 0) {
            /* the runner only looks for the file */
        }
        close(fd);
    }
}


static void
lg_step_begin(int64_t now)
{
    lg_step_t  *s;
    double      planned;

    s = &lg_steps[lg_step];
    s->rate = lg_conf.rates[lg_step];
    s->start = now;
    s->subscribers = (uint64_t) lg_ready;
    s->acked_at_start = lg_push.acked;
    s->errors_at_start = lg_push.errors;

    planned = s->rate * lg_conf.seconds;
    s->planned = (uint64_t) (planned + 0.5);
    if (s->planned == 0) {
        s->planned = 1;
    }

    lg_nsteps = lg_step + 1;

    fprintf(stderr, "loadgen: step %d: %.2f msg/s = %.0f deliveries/s "
            "to %d subscribers\n", lg_step, s->rate,
            s->rate * (double) lg_ready, lg_ready);

    lg_enter(LG_PH_STEP, now);
}


static void
lg_step_judge(lg_step_t *s)
{
    double  p99;

    p99 = lg_hist_pct_ms(&s->hist, 99);

    s->pass = s->sent == s->planned
              && s->push_errors == 0
              && s->acked == s->sent
              && s->closed == 0
              && s->received == s->sent * s->subscribers
              && s->subscribers > 0
              && p99 <= lg_conf.p99_limit_ms;
}


/* messages are sent on a fixed schedule; the timestamp is the schedule */

static void
lg_step_send(int64_t now)
{
    lg_step_t  *s;
    int64_t     due;

    s = &lg_steps[lg_step];

    while (s->sent < s->planned) {
        due = s->start + (int64_t) ((double) s->sent * 1e6 / s->rate);

        if (due > now) {
            return;
        }

        if (lg_push_message(s, lg_step, due) != 0) {
            s->push_errors++;
            s->sent++;
        }
    }

    s->send_end = now;
    lg_enter(LG_PH_DRAIN, now);
    s->drain_start = now;
}


static int
lg_step_drained(int64_t now)
{
    lg_step_t  *s;
    int64_t     quiet;

    s = &lg_steps[lg_step];
    s->acked = lg_push.acked - s->acked_at_start;

    if (lg_push.inflight > 0 && now - s->drain_start < lg_conf.drain * 1e6) {
        return 0;
    }

    if (s->received >= s->sent * s->subscribers) {
        return 1;
    }

    /* nothing more has come for a second: the rest is lost */
    quiet = now - (s->last_rx > s->drain_start ? s->last_rx : s->drain_start);

    return quiet > 1000000 || now - s->drain_start > lg_conf.drain * 1e6;
}


static void
lg_step_end(int64_t now)
{
    lg_step_t  *s;

    s = &lg_steps[lg_step];
    s->end = now;
    s->acked = lg_push.acked - s->acked_at_start;
    s->push_errors += lg_push.errors - s->errors_at_start;

    lg_step_judge(s);

    fprintf(stderr, "loadgen: step %d: received %llu of %llu, p99 %.1f ms, "
            "%s\n", lg_step, (unsigned long long) s->received,
            (unsigned long long) (s->sent * s->subscribers),
            lg_hist_pct_ms(&s->hist, 99), s->pass ? "pass" : "FAIL");
}


static void
lg_publish_end(void)
{
    char  body[512];
    int   n;

    n = snprintf(body, sizeof(body),
                 "{\"nsp\":\"%s\",\"event\":\"end\",\"data\":[]}",
                 lg_conf.nsp);

    (void) lg_push_request(body, (size_t) n);
}


static void
lg_connect_done(int64_t now)
{
    char  body[512];
    int   n;

    lg_t_all_ready = now;

    fprintf(stderr, "loadgen: %d connected, %d failed in %.2f s\n",
            lg_ready, lg_failed, (double) (now - lg_t_start) / 1e6);

    switch (lg_conf.mode) {

    case LG_MODE_CONNECT:
        lg_enter(LG_PH_DONE, now);
        return;

    case LG_MODE_HOLD:
    case LG_MODE_POLL:
        lg_write_ready_file();
        lg_enter(LG_PH_HOLD, now);
        return;

    case LG_MODE_EVENTS:
        lg_write_ready_file();
        lg_enter(LG_PH_SETTLE, now);
        return;

    case LG_MODE_FANOUT:
        if (lg_conf.sub_only) {
            lg_write_ready_file();
            lg_enter(LG_PH_LISTEN, now);
            return;
        }

        if (lg_conf.room) {
            n = snprintf(body, sizeof(body),
                         "{\"op\":\"join\",\"nsp\":\"%s\",\"room\":\"%s\"}",
                         lg_conf.nsp, lg_conf.room);
            (void) lg_push_request(body, (size_t) n);
            lg_enter(LG_PH_JOIN_ROOM, now);
            return;
        }

        lg_enter(LG_PH_SETTLE, now);
        return;
    }
}


static void
lg_tick(int64_t now)
{
    switch (lg_phase) {

    case LG_PH_CONNECT:
        lg_open_more(now);

        if ((lg_opened == lg_conf.n && lg_pending == 0)
            || now - lg_phase_start > lg_conf.timeout * 1e6)
        {
            lg_connect_done(now);
        }
        return;

    case LG_PH_JOIN_ROOM:
        if (lg_push.inflight == 0 || now - lg_phase_start > 10000000) {
            lg_enter(LG_PH_SETTLE, now);
        }
        return;

    case LG_PH_SETTLE:
        if (now - lg_phase_start >= lg_conf.settle * 1e6) {
            if (lg_conf.mode == LG_MODE_EVENTS) {
                lg_ev_start(now);
                return;
            }

            if (lg_conf.nrates == 0) {
                lg_enter(LG_PH_DONE, now);
                return;
            }

            lg_step = 0;
            lg_step_begin(now);
        }
        return;

    case LG_PH_HOLD:
        if (now - lg_phase_start >= lg_conf.seconds * 1e6) {
            lg_enter(LG_PH_DONE, now);
        }
        return;

    case LG_PH_STEP:
        lg_step_send(now);
        return;

    case LG_PH_DRAIN:
        if (!lg_step_drained(now)) {
            return;
        }

        lg_step_end(now);

        if (lg_step + 1 < lg_conf.nrates
            && (lg_steps[lg_step].pass || lg_conf.all_steps
                || (lg_step == 0 && lg_conf.probe > 0)))
        {
            lg_step++;
            lg_step_begin(now);
            return;
        }

        lg_publish_end();
        lg_enter(LG_PH_DONE, now);
        return;

    case LG_PH_EV_WARM:
        if (now - lg_phase_start >= lg_conf.warm * 1e6) {
            lg_ev_cpu(lg_cpu0, &lg_self0);
            lg_ev_t0 = lg_now();
            lg_enter(LG_PH_EV_RUN, lg_ev_t0);
        }
        return;

    case LG_PH_EV_RUN:
        if (now - lg_phase_start >= lg_conf.seconds * 1e6) {
            lg_ev_t1 = lg_now();
            lg_ev_cpu(lg_cpu1, &lg_self1);
            lg_enter(LG_PH_EV_DRAIN, lg_ev_t1);
        }
        return;

    case LG_PH_EV_DRAIN:
        if (lg_ev_sent == lg_ev_acked + lg_ev_lost
            || now - lg_phase_start > lg_conf.drain * 1e6)
        {
            lg_enter(LG_PH_DONE, now);
        }
        return;

    case LG_PH_LISTEN:
        if (lg_end_seen || now - lg_phase_start > lg_conf.timeout * 1e6) {
            lg_enter(LG_PH_DONE, now);
        }
        return;

    case LG_PH_DONE:
        return;
    }
}


static int
lg_timeout_ms(int64_t now)
{
    lg_step_t  *s;
    int64_t     due;

    if (lg_conf.busy
        && (lg_phase == LG_PH_STEP || lg_phase == LG_PH_DRAIN
            || lg_phase == LG_PH_LISTEN))
    {
        return 0;
    }

    switch (lg_phase) {

    case LG_PH_STEP:
        s = &lg_steps[lg_step];
        due = s->start + (int64_t) ((double) s->sent * 1e6 / s->rate);
        if (due <= now) {
            return 0;
        }
        return (int) ((due - now + 999) / 1000);

    case LG_PH_CONNECT:
        return lg_pending < lg_conf.inflight && lg_opened < lg_conf.n ? 0 : 50;

    default:
        return 50;
    }
}


/* --------------------------------------------------------------- output */

static void
lg_print_conn(void)
{
    double  secs;

    secs = (double) ((lg_t_all_ready ? lg_t_all_ready : lg_now())
                     - lg_t_start) / 1e6;

    printf("\"n\":%d,\"connected\":%d,\"failed\":%d,\"closed\":%d,"
           "\"connect_seconds\":%.4f,\"connects_per_s\":%.1f,"
           "\"handshake_p50_ms\":%.3f,\"handshake_p99_ms\":%.3f,"
           "\"t_start_us\":%lld,\"t_ready_us\":%lld,\"pings\":%llu,"
           "\"errors\":{\"connect\":%llu,\"http\":%llu,\"ws\":%llu,"
           "\"nsp\":%llu,\"eof\":%llu,\"close_frames\":%llu}",
           lg_conf.n, lg_ever_ready, lg_conf.n - lg_ever_ready,
           lg_closed, secs, secs > 0 ? lg_ever_ready / secs : 0,
           lg_hist_pct_ms(&lg_hs_hist, 50), lg_hist_pct_ms(&lg_hs_hist, 99),
           (long long) lg_t_start, (long long) lg_t_all_ready,
           (unsigned long long) lg_pings,
           (unsigned long long) lg_err_connect,
           (unsigned long long) lg_err_http, (unsigned long long) lg_err_ws,
           (unsigned long long) lg_err_nsp, (unsigned long long) lg_err_eof,
           (unsigned long long) lg_close_frames);
}


static void
lg_print_step(lg_step_t *s)
{
    double    dur, ratio, expected;
    int64_t   last;

    last = s->last_rx > s->send_end ? s->last_rx : s->send_end;
    dur = (double) (last - s->start) / 1e6;
    if (dur < lg_conf.seconds) {
        dur = lg_conf.seconds;
    }

    expected = (double) s->sent * (double) s->subscribers;
    ratio = expected > 0 ? (double) s->received / expected : 0;

    printf("{\"rate\":%.4f,\"target_deliveries_per_s\":%.1f,"
           "\"subscribers\":%llu,\"planned\":%llu,\"sent\":%llu,"
           "\"acked\":%llu,\"push_errors\":%llu,\"received\":%llu,"
           "\"ratio\":%.6f,\"delivered_per_s\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"closed\":%llu,\"pass\":%s,"
           "\"probe\":%s",
           s->rate, s->rate * (double) s->subscribers,
           (unsigned long long) s->subscribers,
           (unsigned long long) s->planned, (unsigned long long) s->sent,
           (unsigned long long) s->acked,
           (unsigned long long) s->push_errors,
           (unsigned long long) s->received, ratio,
           (double) s->received / dur, lg_hist_pct_ms(&s->hist, 50),
           lg_hist_pct_ms(&s->hist, 99), (double) s->hist.max / 1000.0,
           (unsigned long long) s->closed, s->pass ? "true" : "false",
           lg_conf.probe > 0 && s == &lg_steps[0] ? "true" : "false");

    if (lg_conf.hist_out) {
        lg_hist_print(&s->hist);
    }

    printf("}");
}


static void
lg_print_result(void)
{
    int     i;
    double  best_rate, best_del;

    static const char  *modes[] = { "hold", "connect", "fanout",
                                    "events", "poll" };

    printf("{\"mode\":\"%s\",\"port\":%d,\"nsp\":\"%s\",\"pid\":%d,",
           modes[lg_conf.mode], lg_conf.port, lg_conf.nsp, getpid());

    lg_print_conn();

    if (lg_conf.mode == LG_MODE_EVENTS) {
        double  secs;

        secs = lg_ev_t1 > lg_ev_t0 ? (double) (lg_ev_t1 - lg_ev_t0) / 1e6
                                   : 0;

        printf(",\"cookie_bytes\":%d,\"acks\":{\"window\":%d,"
               "\"payload\":%d,\"warm_seconds\":%.2f,\"seconds\":%.4f,"
               "\"sent\":%llu,\"acked\":%llu,\"counted\":%llu,"
               "\"bad\":%llu,\"lost\":%llu,\"unanswered\":%lld,"
               "\"acks_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"max_ms\":%.3f,\"hz\":%ld,\"gen_cpu_s\":%.4f,\"cpu\":[",
               lg_conf.cookie_bytes, lg_conf.window, lg_conf.payload,
               lg_conf.warm, secs, (unsigned long long) lg_ev_sent,
               (unsigned long long) lg_ev_acked,
               (unsigned long long) lg_ev_counted,
               (unsigned long long) lg_ev_bad,
               (unsigned long long) lg_ev_lost,
               (long long) (lg_ev_sent - lg_ev_acked - lg_ev_lost),
               secs > 0 ? (double) lg_ev_counted / secs : 0,
               lg_hist_pct_ms(&lg_ev_hist, 50),
               lg_hist_pct_ms(&lg_ev_hist, 99),
               (double) lg_ev_hist.max / 1000.0, sysconf(_SC_CLK_TCK),
               lg_self1 - lg_self0);

        for (i = 0; i < lg_conf.ncpu_pids; i++) {
            printf("%s{\"pid\":%d,\"ticks\":%llu,\"utime\":%llu,"
                   "\"stime\":%llu}", i ? "," : "", lg_conf.cpu_pids[i],
                   (unsigned long long) (lg_cpu1[i][0] + lg_cpu1[i][1]
                                         - lg_cpu0[i][0] - lg_cpu0[i][1]),
                   (unsigned long long) (lg_cpu1[i][0] - lg_cpu0[i][0]),
                   (unsigned long long) (lg_cpu1[i][1] - lg_cpu0[i][1]));
        }

        printf("]}");

    } else if (lg_conf.cookie_bytes > 0) {
        printf(",\"cookie_bytes\":%d", lg_conf.cookie_bytes);
    }

    if (lg_conf.mode == LG_MODE_POLL) {
        printf(",\"poll\":{\"reopen\":%s,\"requests\":%llu,"
               "\"tcp_connections\":%llu,\"events\":%llu}",
               lg_conf.poll_reopen ? "true" : "false",
               (unsigned long long) lg_poll_requests,
               (unsigned long long) lg_poll_conns,
               (unsigned long long) lg_events);
    }

    if (lg_conf.mode == LG_MODE_FANOUT) {
        best_rate = 0;
        best_del = 0;

        for (i = lg_conf.probe > 0 ? 1 : 0; i < lg_nsteps; i++) {
            if (lg_steps[i].pass && lg_steps[i].rate > best_rate) {
                best_rate = lg_steps[i].rate;
                best_del = lg_steps[i].rate
                           * (double) lg_steps[i].subscribers;
            }
        }

        printf(",\"sub_only\":%s,\"payload\":%d,\"step_seconds\":%.2f,"
               "\"push\":{\"port\":%d,\"sent\":%llu,\"acked\":%llu,"
               "\"errors\":%llu,"
               "\"matched\":%llu,\"opens\":%llu},"
               "\"events\":%llu,\"bad_events\":%llu,"
               "\"max_pass_rate\":%.4f,\"max_pass_deliveries_per_s\":%.1f,"
               "\"steps\":[",
               lg_conf.sub_only ? "true" : "false", lg_conf.payload,
               lg_conf.seconds, lg_conf.push_port,
               (unsigned long long) lg_push.sent,
               (unsigned long long) lg_push.acked,
               (unsigned long long) lg_push.errors,
               (unsigned long long) lg_push.matched,
               (unsigned long long) lg_push.opens,
               (unsigned long long) lg_events,
               (unsigned long long) lg_bad_events, best_rate, best_del);

        for (i = 0; i < lg_nsteps; i++) {
            if (i) {
                printf(",");
            }
            lg_print_step(&lg_steps[i]);
        }

        printf("]");
    }

    printf("}\n");
    fflush(stdout);
}


/* ----------------------------------------------------------------- main */

static void
lg_on_signal(int sig)
{
    (void) sig;
    lg_stop = 1;
}


static void
lg_usage(void)
{
    fprintf(stderr,
        "usage: loadgen --port P [--mode hold|connect|fanout|events|poll]\n"
        "  [--conns N] [--cookie-bytes B]\n"
        "  poll: [--seconds S] [--poll-reopen]\n"
        "  events: [--window 1] [--warm 2] [--seconds S] [--payload 100]\n"
        "          [--cpu-pid PID]... (at most 4)\n"
        "  [--host 127.0.0.1] [--addrs 16] [--nsp /chat] [--room R]\n"
        "  [--path /socket.io/] [--push-path /_ws/push] [--push-port P]\n"
        "  [--inflight 500]\n"
        "  [--seconds S] [--rates r1,r2,.. (messages/s)] [--probe r]\n"
        "  [--payload 100]\n"
        "  [--drain 10] [--settle 1] [--timeout 120] [--p99-ms 200]\n"
        "  [--all-steps] [--sub-only] [--hist] [--ready-file PATH]\n");
}


static int
lg_parse_rates(const char *s)
{
    char   *end;
    double  r;

    lg_conf.nrates = 0;

    while (*s) {
        r = strtod(s, &end);
        if (end == s || r <= 0 || lg_conf.nrates == LG_MAX_STEPS) {
            return -1;
        }

        lg_conf.rates[lg_conf.nrates++] = r;
        s = end;

        if (*s == ',') {
            s++;
        }
    }

    return lg_conf.nrates > 0 ? 0 : -1;
}


static int
lg_parse_args(int argc, char **argv)
{
    int  ch;

    static struct option  opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "mode", required_argument, NULL, 'm' },
        { "conns", required_argument, NULL, 'n' },
        { "addrs", required_argument, NULL, 'a' },
        { "nsp", required_argument, NULL, 's' },
        { "room", required_argument, NULL, 'R' },
        { "path", required_argument, NULL, 'P' },
        { "push-path", required_argument, NULL, 'u' },
        { "push-port", required_argument, NULL, 'U' },
        { "inflight", required_argument, NULL, 'i' },
        { "seconds", required_argument, NULL, 'd' },
        { "rates", required_argument, NULL, 'r' },
        { "probe", required_argument, NULL, 'q' },
        { "payload", required_argument, NULL, 'b' },
        { "drain", required_argument, NULL, 'D' },
        { "settle", required_argument, NULL, 'S' },
        { "timeout", required_argument, NULL, 't' },
        { "p99-ms", required_argument, NULL, 'l' },
        { "all-steps", no_argument, NULL, 'A' },
        { "sub-only", no_argument, NULL, 'O' },
        { "hist", no_argument, NULL, 'h' },
        { "busy-poll", no_argument, NULL, 'B' },
        { "ready-file", required_argument, NULL, 'f' },
        { "cookie-bytes", required_argument, NULL, 'C' },
        { "window", required_argument, NULL, 'w' },
        { "warm", required_argument, NULL, 'W' },
        { "cpu-pid", required_argument, NULL, 'c' },
        { "poll-reopen", no_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 }
    };

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'H': lg_conf.host = optarg; break;
        case 'p': lg_conf.port = atoi(optarg); break;
        case 'n': lg_conf.n = atoi(optarg); break;
        case 'a': lg_conf.addrs = atoi(optarg); break;
        case 's': lg_conf.nsp = optarg; break;
        case 'R': lg_conf.room = optarg; break;
        case 'P': lg_conf.path = optarg; break;
        case 'u': lg_conf.push_path = optarg; break;
        case 'U': lg_conf.push_port = atoi(optarg); break;
        case 'i': lg_conf.inflight = atoi(optarg); break;
        case 'd': lg_conf.seconds = atof(optarg); break;
        case 'b': lg_conf.payload = atoi(optarg); break;
        case 'q': lg_conf.probe = atof(optarg); break;
        case 'D': lg_conf.drain = atof(optarg); break;
        case 'S': lg_conf.settle = atof(optarg); break;
        case 't': lg_conf.timeout = atof(optarg); break;
        case 'l': lg_conf.p99_limit_ms = atof(optarg); break;
        case 'A': lg_conf.all_steps = 1; break;
        case 'O': lg_conf.sub_only = 1; break;
        case 'h': lg_conf.hist_out = 1; break;
        case 'B': lg_conf.busy = 1; break;
        case 'f': lg_conf.ready_file = optarg; break;
        case 'C': lg_conf.cookie_bytes = atoi(optarg); break;
        case 'w': lg_conf.window = atoi(optarg); break;
        case 'W': lg_conf.warm = atof(optarg); break;
        case 'o': lg_conf.poll_reopen = 1; break;

        case 'c':
            if (lg_conf.ncpu_pids == LG_MAX_CPU_PIDS) {
                return -1;
            }
            lg_conf.cpu_pids[lg_conf.ncpu_pids++] = atoi(optarg);
            break;

        case 'r':
            if (lg_parse_rates(optarg) != 0) {
                return -1;
            }
            break;

        case 'm':
            if (strcmp(optarg, "hold") == 0) {
                lg_conf.mode = LG_MODE_HOLD;
            } else if (strcmp(optarg, "connect") == 0) {
                lg_conf.mode = LG_MODE_CONNECT;
            } else if (strcmp(optarg, "fanout") == 0) {
                lg_conf.mode = LG_MODE_FANOUT;
            } else if (strcmp(optarg, "events") == 0) {
                lg_conf.mode = LG_MODE_EVENTS;
            } else if (strcmp(optarg, "poll") == 0) {
                lg_conf.mode = LG_MODE_POLL;
            } else {
                return -1;
            }
            break;

        default:
            return -1;
        }
    }

    if (lg_conf.push_port == 0) {
        lg_conf.push_port = lg_conf.port;
    }

    if (lg_conf.port <= 0 || lg_conf.port > 65535 || lg_conf.n < 0
        || lg_conf.push_port < 0 || lg_conf.push_port > 65535
        || lg_conf.addrs < 1 || lg_conf.addrs > 254 || lg_conf.inflight < 1
        || lg_conf.nsp[0] != '/' || strlen(lg_conf.nsp) > 200
        || (lg_conf.room && strlen(lg_conf.room) > 200)
        || lg_conf.payload < 0 || lg_conf.payload > 900
        || lg_conf.cookie_bytes < 0 || lg_conf.cookie_bytes > 1500
        || lg_conf.window < 1 || lg_conf.window > LG_WIN_MAX
        || (lg_conf.mode == LG_MODE_EVENTS && lg_conf.payload > 400))
    {
        return -1;
    }

    if (lg_conf.mode == LG_MODE_FANOUT && !lg_conf.sub_only
        && lg_conf.nrates == 0)
    {
        fprintf(stderr, "loadgen: fanout needs --rates\n");
        return -1;
    }

    /* the probe runs first, whatever its outcome */
    if (lg_conf.probe > 0) {
        if (lg_conf.nrates == LG_MAX_STEPS) {
            return -1;
        }

        memmove(&lg_conf.rates[1], &lg_conf.rates[0],
                lg_conf.nrates * sizeof(double));
        lg_conf.rates[0] = lg_conf.probe;
        lg_conf.nrates++;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int                  i, n;
    int64_t              now;
    lg_conn_t           *c;
    struct rlimit        rl;
    struct sigaction     sa;
    struct epoll_event  *events;

    if (lg_parse_args(argc, argv) != 0) {
        lg_usage();
        return 2;
    }

    if (strcmp(lg_conf.nsp, "/") == 0) {
        lg_nsp_prefix[0] = '\0';
    } else {
        (void) snprintf(lg_nsp_prefix, sizeof(lg_nsp_prefix), "%s,",
                        lg_conf.nsp);
    }

    lg_nsp_prefix_len = strlen(lg_nsp_prefix);

    /* "Cookie: " + B bytes of value: sid=xxx... */
    if (lg_conf.cookie_bytes > 0) {
        n = snprintf(lg_cookie, sizeof(lg_cookie), "Cookie: sid=");
        for (i = 4; i < lg_conf.cookie_bytes; i++) {
            lg_cookie[n++] = (char) ('a' + i % 26);
        }
        lg_cookie[n++] = '\r';
        lg_cookie[n++] = '\n';
        lg_cookie[n] = '\0';
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);

        if ((rlim_t) lg_conf.n + 16 > rl.rlim_cur) {
            fprintf(stderr, "loadgen: %d connections need more than the %lu "
                    "open files allowed; run several processes\n",
                    lg_conf.n, (unsigned long) rl.rlim_cur);
            return 2;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = lg_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lg_conns = calloc((size_t) lg_conf.n + 1, sizeof(lg_conn_t));
    events = calloc(LG_EVENTS, sizeof(struct epoll_event));
    lg_ep = epoll_create1(EPOLL_CLOEXEC);

    if (lg_conns == NULL || events == NULL || lg_ep < 0) {
        perror("loadgen");
        return 1;
    }

    for (i = 0; i < lg_conf.n; i++) {
        lg_conns[i].fd = -1;
    }

    lg_push.fd = -1;

    now = lg_now();
    lg_t_start = now;
    lg_enter(LG_PH_CONNECT, now);

    while (lg_phase != LG_PH_DONE && !lg_stop) {
        n = epoll_wait(lg_ep, events, LG_EVENTS, lg_timeout_ms(lg_now()));

        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            break;
        }

        now = lg_now();

        for (i = 0; i < n; i++) {
            c = events[i].data.ptr;

            if (c->kind == LG_KIND_PUSH) {
                lg_push_event_handler(events[i].events);

            } else if (c->fd < 0) {
                continue;

            } else if (c->kind == LG_KIND_POLL) {
                lg_poll_event_handler(c, events[i].events, now);

            } else {
                lg_sub_event_handler(c, events[i].events, now);
            }
        }

        lg_tick(now);
    }

    if (lg_phase == LG_PH_CONNECT) {
        lg_t_all_ready = 0;
    }

    if (lg_phase == LG_PH_STEP || lg_phase == LG_PH_DRAIN) {
        lg_step_end(lg_now());
    }

    lg_print_result();

    return 0;
}
