#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The side-by-side benchmark: ngx_ws, the Node socket.io reference and the
# C limit, one after the other, each server pinned to one CPU and the load
# generator on the other; ngx_ws with its app hooks (ngx_ws_hooks: the
# minimal app bench/app/app.mjs on the server's CPU); then ngx_ws again with
# BENCH_WORKERS workers (one per CPU of BENCH_CPU_WORKERS, the generator
# sharing BENCH_CPU_GEN with one of them).  Idle memory is measured with
# WebSocket clients and with idle HTTP long-polling sessions.  Across hosts
# (metric redis): pushes to host A, subscribers on host B, a redis-server
# between them, for ngx_ws (two one-worker nginx with ws_redis) and for
# Node (two socket.io servers with @socket.io/redis-adapter).  Prints one
# table and writes the results as JSON to bench/results/<date>-<commit>.json
# and bench/results/latest.json.
#
#   bench/run.sh NGINX_BIN MODULE BUILD_DIR        (what `make bench` runs)
#
# Quick runs: BENCH_RUNS=1 BENCH_N=1000 BENCH_N_BIG=2000
#             BENCH_STEP_SECONDS=2 BENCH_SERVERS=node,climit bench/run.sh ...
# Everything tunable is listed below with its default.

set -uo pipefail

NGINX_BIN=${1:-/usr/sbin/nginx}
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
MODULE=${2:-$REPO/build/nginx/ngx_ws_module.so}
BUILD_DIR=${3:-$REPO/build/bench}
case $MODULE in /*) ;; *) MODULE=$PWD/$MODULE ;; esac
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$PWD/$BUILD_DIR ;; esac

RUNS=${BENCH_RUNS:-3}                   # runs per metric (median taken)
N=${BENCH_N:-10000}                     # connections / subscribers
N_BIG=${BENCH_N_BIG:-19000}             # the second memory point
POLL_N=${BENCH_POLL_N:-5000}            # idle polling sessions
STEP_S=${BENCH_STEP_SECONDS:-10}        # seconds per fan-out rate step
# fan-out ladder in deliveries/s (messages/s x subscribers)
LADDER=10000,20000,40000,60000,80000,100000,120000,140000,160000,180000
LADDER=${BENCH_LADDER:-$LADDER,200000,240000}
PROBE=${BENCH_PROBE:-40000}             # latency reported at this rate
P99_MS=${BENCH_P99_MS:-200}             # a step passes with p99 <= this
SETTLE=${BENCH_SETTLE:-3}               # seconds idle before reading RSS
WARMUP=${BENCH_WARMUP:-500}             # connections opened and closed first
# fewer before the memory runs: memory freed by the warm-up connections is
# reused by the measured ones and would hide up to WARMUP_MEM of them
WARMUP_MEM=${BENCH_WARMUP_MEM:-100}
PER_PROC=${BENCH_PER_PROC:-19000}       # connections per loadgen process
SERVERS=${BENCH_SERVERS:-ngx_ws,ngx_ws_hooks,ngx_ws_workers,node,climit}
# which measurements (ngx_ws_hooks: memory at N and events only; climit:
# no events, no polling; redis: ngx_ws and Node only)
METRICS=${BENCH_METRICS:-memory,polling,connect,fanout,redis,events,scrape}
# the scrape row (ngx_ws, one and several workers): SCRAPES scrapes of
# /metrics, SCRAPE_GAP seconds apart, while N subscribers get pushes at
# SCRAPE_RATE deliveries/s (most of what one worker passes) for
# SCRAPE_SECONDS
SCRAPES=${BENCH_SCRAPES:-50}
SCRAPE_GAP=${BENCH_SCRAPE_GAP:-0.1}
SCRAPE_RATE=${BENCH_SCRAPE_RATE:-100000}
SCRAPE_SECONDS=${BENCH_SCRAPE_SECONDS:-15}
PROMTOOL=${BENCH_PROMTOOL:-promtool}
CPU_SERVER=${BENCH_CPU_SERVER:-0}
CPU_GEN=${BENCH_CPU_GEN:-1}
# the app behind ngx_ws's hooks: on the server's CPU, so that the server
# side (nginx + app) has one CPU as Node has
CPU_APP=${BENCH_CPU_APP:-$CPU_SERVER}
CPU_HOST_A=${BENCH_CPU_HOST_A:-$CPU_SERVER}
CPU_REDIS=${BENCH_CPU_REDIS:-$CPU_SERVER}
# the events row: clients, events outstanding per client, seconds counted
# (after EV_WARM seconds not counted); the cookie every client of
# ngx_ws_hooks (memory and events) and of Node (events) sends
EV_N=${BENCH_EV_N:-1000}
EV_WINDOW=${BENCH_EV_WINDOW:-1}
EV_SECONDS=${BENCH_EV_SECONDS:-10}
EV_WARM=${BENCH_EV_WARM:-3}
COOKIE_BYTES=${BENCH_COOKIE_BYTES:-200}
# idle keep-alive connections to the app, and hook calls in flight per
# worker: as many calls as kept connections, or nginx opens (and closes)
# a connection for each call beyond them
KEEPALIVE=${BENCH_KEEPALIVE:-32}
HOOK_CONC=${BENCH_HOOK_CONCURRENCY:-$KEEPALIVE}
# ngx_ws_workers: worker_processes WORKERS, listen ... reuseport, worker i
# pinned to the i-th CPU of CPU_WORKERS (worker_cpu_affinity); with 2 CPUs
# the generator (CPU_GEN) shares a CPU with one worker
WORKERS=${BENCH_WORKERS:-2}
CPU_WORKERS=${BENCH_CPU_WORKERS:-0,1}
PORT=${BENCH_PORT:-18400}
APP_PORT=${BENCH_APP_PORT:-$((PORT + 1))}
# across hosts (metric redis): host A on PORT answers the pushes, host B on
# PORT_B holds the subscribers, both one worker (one process for Node);
# the redis-server between them on a free port (or BENCH_REDIS_PORT), with
# its own data directory under BUILD_DIR.  Host B on CPU_SERVER like every
# server; host A and Redis on CPU_SERVER too by default: the server side
# has one CPU in both columns, the generator has CPU_GEN to itself
PORT_B=${BENCH_PORT_B:-$((PORT + 2))}
REDIS_PORT_FIXED=${BENCH_REDIS_PORT:-}
REDIS_SERVER=${BENCH_REDIS_SERVER:-redis-server}
REDIS_CLI=${BENCH_REDIS_CLI:-redis-cli}
# the socket.io Redis adapter both columns speak: classic (createAdapter,
# PUBLISH) or sharded (createShardedAdapter, SPUBLISH; ws_redis sharded)
REDIS_ADAPTER=${BENCH_REDIS_ADAPTER:-classic}
# BENCH_RECOVERY=1: every ngx_ws server with connection state recovery on
# (ws_recovery_zone BENCH_RECOVERY_ZONE, ws_recovery 2m), to compare a run
# with it against one without
RECOVERY=${BENCH_RECOVERY:-0}
RECOVERY_ZONE=${BENCH_RECOVERY_ZONE:-64m}
case $REDIS_ADAPTER in classic|sharded) ;; *)
    echo "BENCH_REDIS_ADAPTER: classic or sharded" >&2; exit 2 ;; esac
RESULTS=${BENCH_RESULTS:-$BENCH/results}
SHARED=${BENCH_SHARED:-$REPO/../shared}
CC=${CC:-cc}

CLIMIT_SRC=$SHARED/peers/c-limit/climit.c
LOADGEN=$BUILD_DIR/loadgen
RAW=$BUILD_DIR/raw.jsonl
LOG=$BUILD_DIR/log
SRV_MAIN=
SRV_PID=
SRV_PIDS=
APP_PID=
HOST_A_MAIN=
HOST_A_PID=
REDIS_PID=
REDIS_PORT=
HOLD_ARGS=

mkdir -p "$BUILD_DIR" "$LOG" "$RESULTS" || exit 1
: > "$RAW"

say() { echo "bench: $*" >&2; }

# ------------------------------------------------------------------ build

say "building the load generator"
$CC -O2 -Wall -Wextra -Werror -o "$LOADGEN" "$BENCH/loadgen.c" || exit 1

HAVE_CLIMIT=0
if [ -f "$CLIMIT_SRC" ]; then
    say "building the C limit from $CLIMIT_SRC"
    if $CC -O2 -o "$BUILD_DIR/climit" "$CLIMIT_SRC" -lcrypto; then
        HAVE_CLIMIT=1
    else
        say "the C limit does not build: its column is skipped"
    fi
else
    say "no $SHARED/peers/c-limit: the C limit column is skipped"
fi

HAVE_NODE=0
if command -v node >/dev/null && command -v npm >/dev/null; then
    if [ ! -d "$BENCH/node/node_modules" ] \
       || [ "$BENCH/node/package-lock.json" -nt "$BENCH/node/node_modules" ]
    then
        say "npm ci in bench/node"
        (cd "$BENCH/node" && npm ci --no-audit --no-fund --loglevel=error) \
            && touch "$BENCH/node/node_modules" && HAVE_NODE=1
    else
        HAVE_NODE=1
    fi
fi
[ $HAVE_NODE = 1 ] || say "no Node (or npm ci failed): its column is skipped"

HAVE_REDIS=0
if command -v "$REDIS_SERVER" >/dev/null && command -v "$REDIS_CLI" >/dev/null
then
    HAVE_REDIS=1
fi

# nginx's own sizes, for the per-slot preallocation beside the measurement
NGX_SIZES=
NGX_OBJS=$(dirname "$MODULE")
NGX_INC=/usr/share/nginx/src/src
if [ -f "$NGX_OBJS/ngx_auto_config.h" ] && [ -d "$NGX_INC/core" ]; then
    cat > "$BUILD_DIR/ngx_sizes.c" <<'EOF'
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

int
main(void)
{
    printf("%zu %zu\n", sizeof(ngx_connection_t), sizeof(ngx_event_t));
    return 0;
}
EOF
    if $CC -I"$NGX_INC/core" -I"$NGX_INC/event" -I"$NGX_INC/event/modules" \
        -I"$NGX_INC/os/unix" -I"$NGX_OBJS" -o "$BUILD_DIR/ngx_sizes" \
        "$BUILD_DIR/ngx_sizes.c" 2>/dev/null
    then
        NGX_SIZES=$("$BUILD_DIR/ngx_sizes")
    fi
fi

# ---------------------------------------------------------------- servers

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# the sum over SRV_PIDS (nginx's workers, or the one server process)
rss_sum_kb() {
    local p t=0
    for p in $SRV_PIDS; do
        t=$(( t + $(rss_kb "$p") ))
    done
    echo "$t"
}

# proportional set size: shared pages (the ws_zone) divided among the
# processes that touch them, where RSS counts them in each
pss_kb() {
    local v
    v=$(awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null)
    echo "${v:-0}"
}

# each measured process: pid, the CPUs it may run on, RSS and PSS
workers_json() {
    local p sep= out=[
    for p in $SRV_PIDS; do
        out="$out$sep{\"pid\":$p,\"cpus\":\"$(awk '/^Cpus_allowed_list:/ \
{ print $2 }' "/proc/$p/status" 2>/dev/null)\",\"rss_kb\":$(rss_kb "$p"),\
\"pss_kb\":$(pss_kb "$p")}"
        sep=,
    done
    echo "$out]"
}

# ngx_ws's /health (any worker answers it: the counts of every worker come
# from the zone), or null
health_json() {
    local h
    h=$(curl -s -m 2 "http://127.0.0.1:${1:-$PORT}/health" 2>/dev/null)
    case $h in \{*\}) echo "$h" ;; *) echo null ;; esac
}

# health_when N PID: /health once it counts N connections, or the last
# answer when PID has exited first
health_when() {
    local h=null c
    while kill -0 "$2" 2>/dev/null; do
        h=$(health_json)
        c=$(sed -E 's/^\{[^{]*"connections":([0-9]+).*/\1/;t;s/.*/0/' \
            <<< "$h")
        [ "$c" -ge "$1" ] && break
        sleep 0.2
    done
    echo "$h"
}

wait_port() {
    local i
    for i in $(seq 1 100); do
        curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/health" && return 0
        sleep 0.1
    done
    return 1
}

# worker_cpu_affinity masks, one worker per CPU of the list, in order:
# "0,1" -> " 01 10"
cpu_masks() {
    local c b m out= top=0
    for c in ${1//,/ }; do
        [ "$c" -gt "$top" ] && top=$c
    done
    for c in ${1//,/ }; do
        m=
        for b in $(seq "$top" -1 0); do
            [ "$b" = "$c" ] && m=${m}1 || m=${m}0
        done
        out="$out $m"
    done
    echo "$out"
}

# ngx_conf WORKER_CONNECTIONS [WORKERS [HOOKS [PREFIX PORT [REDIS]]]]:
# with more than one worker, each has its own listening socket (reuseport:
# the kernel spreads the connections by a hash of the addresses) and its
# own CPU; HOOKS=1: the connect, event and disconnect hooks to the app on
# APP_PORT, through an upstream with keep-alive connections; PREFIX and
# PORT: another host than BUILD_DIR/nginx on PORT; REDIS: ws_redis to it
ngx_conf() {
    local wc=$1 w=${2:-1} prefix=${4:-$BUILD_DIR/nginx} port=${5:-$PORT}
    local affinity= reuseport= upstream= hooks= hookloc= redis=
    local recovery_zone= recovery=
    if [ "$w" -gt 1 ]; then
        affinity="worker_cpu_affinity$(cpu_masks "$CPU_WORKERS");"
        reuseport=" reuseport"
    fi
    if [ "${3:-0}" = 1 ]; then
        upstream="upstream bench_app {
        server 127.0.0.1:$APP_PORT;
        keepalive $KEEPALIVE;
    }"
        hooks="ws_hook_connect /_hook/connect;
            ws_hook_event /_hook/event;
            ws_hook_disconnect /_hook/disconnect;
            ws_hook_concurrency $HOOK_CONC;"
        hookloc="location /_hook/ {
            internal;
            proxy_pass http://bench_app/;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }"
    fi
    [ -n "${6:-}" ] && redis="ws_redis $6;"
    if [ "$RECOVERY" = 1 ]; then
        recovery_zone="ws_recovery_zone $RECOVERY_ZONE;"
        recovery="ws_recovery 2m;"
    fi
    mkdir -p "$prefix/tmp"
    cat > "$prefix/nginx.conf" <<EOF
# generated by bench/run.sh
load_module $MODULE;
daemon off;
worker_processes $w;
$affinity
worker_rlimit_nofile 20000;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;

events {
    worker_connections $wc;
}

http {
    access_log off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    $redis
    $recovery_zone

    $upstream

    server {
        listen 127.0.0.1:$port backlog=4096$reuseport;

        location /socket.io/ {
            ws_socketio;
            ws_namespace /chat;
            $hooks
            $recovery
        }

        $hookloc

        location = /_ws/push {
            ws_push;
        }

        location = /health {
            ws_health;
        }

        location = /metrics {
            ws_metrics;
        }
    }
}
EOF
}

# start_server NAME [worker_connections]: sets SRV_MAIN (what to stop) and
# SRV_PID (what to measure: nginx's worker, the Node or C process);
# SRV_PIDS: every process measured (the workers of ngx_ws_workers);
# APP_PID: the app behind the hooks (ngx_ws_hooks)
start_server() {
    local i hooks=0
    SRV_MAIN=
    SRV_PID=
    SRV_PIDS=
    APP_PID=

    case $1 in
    ngx_ws|ngx_ws_hooks)
        if [ "$1" = ngx_ws_hooks ]; then
            hooks=1
            taskset -c "$CPU_APP" node "$BENCH/app/app.mjs" "$APP_PORT" \
                >>"$LOG/app.log" 2>&1 &
            APP_PID=$!
            for i in $(seq 1 100); do
                curl -s -o /dev/null -m 1 "http://127.0.0.1:$APP_PORT/" \
                    && break
                sleep 0.1
            done
        fi
        # Above 15/16 of worker_connections in use nginx closes connections
        # still waiting for their request (ngx_drain_connections): slots
        # must outnumber the 19,000 sockets by more than 1/16, although
        # open files stay capped at 20,000.
        ngx_conf "${2:-24000}" 1 "$hooks"
        taskset -c "$CPU_SERVER" "$NGINX_BIN" -p "$BUILD_DIR/nginx/" \
            -e "$BUILD_DIR/nginx/error.log" \
            -c "$BUILD_DIR/nginx/nginx.conf" >>"$LOG/ngx_ws.log" 2>&1 &
        SRV_MAIN=$!
        for i in $(seq 1 50); do
            SRV_PID=$(ps --ppid "$SRV_MAIN" -o pid= 2>/dev/null | head -n 1)
            SRV_PID=${SRV_PID// /}
            [ -n "$SRV_PID" ] && break
            sleep 0.1
        done
        SRV_PIDS=$SRV_PID
        ;;
    ngx_ws_workers)
        ngx_conf "${2:-24000}" "$WORKERS"
        taskset -c "$CPU_WORKERS" "$NGINX_BIN" -p "$BUILD_DIR/nginx/" \
            -e "$BUILD_DIR/nginx/error.log" \
            -c "$BUILD_DIR/nginx/nginx.conf" >>"$LOG/ngx_ws.log" 2>&1 &
        SRV_MAIN=$!
        for i in $(seq 1 50); do
            SRV_PIDS=$(ps --ppid "$SRV_MAIN" -o pid= 2>/dev/null | xargs)
            [ "$(wc -w <<< "$SRV_PIDS")" -ge "$WORKERS" ] && break
            sleep 0.1
        done
        SRV_PID=${SRV_PIDS%% *}
        [ "$(wc -w <<< "$SRV_PIDS")" -ge "$WORKERS" ] || SRV_PID=
        ;;
    node)
        taskset -c "$CPU_SERVER" node "$BENCH/node/server.js" "$PORT" \
            >>"$LOG/node.log" 2>&1 &
        SRV_MAIN=$!
        SRV_PID=$SRV_MAIN
        SRV_PIDS=$SRV_PID
        ;;
    climit)
        taskset -c "$CPU_SERVER" "$BUILD_DIR/climit" "$PORT" \
            >>"$LOG/climit.log" 2>&1 &
        SRV_MAIN=$!
        SRV_PID=$SRV_MAIN
        SRV_PIDS=$SRV_PID
        ;;
    esac

    if [ -z "$SRV_PID" ] || ! wait_port "$PORT"; then
        say "$1 did not start (see $LOG/$1.log)"
        stop_server
        return 1
    fi
}

stop_server() {
    local p
    for p in "$SRV_MAIN" "$APP_PID" "$HOST_A_MAIN" "$REDIS_PID"; do
        [ -n "$p" ] || continue
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    APP_PID=
    HOST_A_MAIN=
    HOST_A_PID=
    REDIS_PID=
    SRV_MAIN=
    SRV_PID=
    SRV_PIDS=
    # the port's TIME_WAIT entries belong to the clients: nothing to wait for
    sleep 0.5
}

# a free TCP port on 127.0.0.1 (for Redis)
free_port() {
    node -e 'const s = require("node:net").createServer();
        s.listen(0, "127.0.0.1", () => {
            console.log(s.address().port); s.close(); });'
}

# the first worker of an nginx master, once it is there
ngx_worker_of() {
    local i w
    for i in $(seq 1 50); do
        w=$(ps --ppid "$1" -o pid= 2>/dev/null | head -n 1)
        w=${w// /}
        [ -n "$w" ] && { echo "$w"; return 0; }
        sleep 0.1
    done
    return 1
}

# start_hosts ngx_ws|node: two hosts of a cluster and the redis-server
# between them.  Host B (PORT_B, CPU_SERVER) is the measured server:
# SRV_MAIN, SRV_PID; host A (PORT, CPU_HOST_A), which answers the pushes:
# HOST_A_MAIN, HOST_A_PID; Redis (CPU_REDIS) with a fresh data directory:
# REDIS_PID, REDIS_PORT.  Returns once both hosts have subscribed.
start_hosts() {
    local srv=$1 dir=$BUILD_DIR/redis i n h url
    SRV_MAIN=
    SRV_PID=
    SRV_PIDS=
    APP_PID=
    HOST_A_MAIN=
    HOST_A_PID=
    REDIS_PID=

    REDIS_PORT=${REDIS_PORT_FIXED:-$(free_port)}
    rm -rf "$dir"
    mkdir -p "$dir"
    taskset -c "$CPU_REDIS" "$REDIS_SERVER" --port "$REDIS_PORT" \
        --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        --daemonize no --logfile "$dir/redis.log" >>"$LOG/redis.log" 2>&1 &
    REDIS_PID=$!
    for i in $(seq 1 100); do
        [ "$("$REDIS_CLI" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] \
            && break
        sleep 0.1
    done
    url=redis://127.0.0.1:$REDIS_PORT

    case $srv in
    ngx_ws)
        for h in b a; do
            local prefix=$BUILD_DIR/nginx-$h port=$PORT_B cpu=$CPU_SERVER
            local wc=24000
            if [ $h = a ]; then
                port=$PORT
                cpu=$CPU_HOST_A
                wc=1024
            fi
            ngx_conf "$wc" 1 0 "$prefix" "$port" "127.0.0.1:$REDIS_PORT$(
                [ "$REDIS_ADAPTER" = sharded ] && echo ' sharded')"
            taskset -c "$cpu" "$NGINX_BIN" -p "$prefix/" \
                -e "$prefix/error.log" -c "$prefix/nginx.conf" \
                >>"$LOG/ngx_ws-$h.log" 2>&1 &
            if [ $h = a ]; then
                HOST_A_MAIN=$!
                HOST_A_PID=$(ngx_worker_of "$HOST_A_MAIN")
            else
                SRV_MAIN=$!
                SRV_PID=$(ngx_worker_of "$SRV_MAIN")
            fi
        done
        ;;
    node)
        REDIS_ADAPTER=$REDIS_ADAPTER \
        taskset -c "$CPU_SERVER" node "$BENCH/node/server.js" "$PORT_B" \
            "$url" >>"$LOG/node-b.log" 2>&1 &
        SRV_MAIN=$!
        SRV_PID=$SRV_MAIN
        REDIS_ADAPTER=$REDIS_ADAPTER \
        taskset -c "$CPU_HOST_A" node "$BENCH/node/server.js" "$PORT" \
            "$url" >>"$LOG/node-a.log" 2>&1 &
        HOST_A_MAIN=$!
        HOST_A_PID=$HOST_A_MAIN
        ;;
    esac
    SRV_PIDS=$SRV_PID

    if [ -z "$SRV_PID" ] || [ -z "$HOST_A_PID" ] || ! wait_port "$PORT_B" \
       || ! wait_port "$PORT"
    then
        say "$srv hosts did not start (see $LOG/)"
        stop_server
        return 1
    fi

    # both hosts subscribed: each SUBSCRIBEs to the namespace's request
    # channel after PSUBSCRIBing to its broadcasts, on one connection (the
    # sharded adapter: SSUBSCRIBEs to the namespace's channel)
    for i in $(seq 1 100); do
        if [ "$REDIS_ADAPTER" = sharded ]; then
            n=$("$REDIS_CLI" -p "$REDIS_PORT" --raw pubsub shardnumsub \
                'socket.io#/chat#' 2>/dev/null | sed -n 2p)
        else
            n=$("$REDIS_CLI" -p "$REDIS_PORT" --raw pubsub numsub \
                'socket.io-request#/chat#' 2>/dev/null | sed -n 2p)
        fi
        [ "${n:-0}" -ge 2 ] && return 0
        sleep 0.1
    done
    say "$srv hosts did not subscribe to Redis (see $LOG/)"
    stop_server
    return 1
}

# utime + stime of a process, in clock ticks
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ------------------------------------------------------------- load

# lg OUT MODE N ARGS...: runs loadgen on the generator CPU, split over
# several processes when N is more than one process may open, and writes
# the (merged) JSON result to OUT.  Split fanout: the first process
# publishes and subscribes, the others only subscribe.  Split hold: with
# LG_READY set, touches $LG_READY once all processes are connected and
# stops them when $LG_READY.stop appears.
lg() {
    local out=$1 mode=$2 n=$3 procs i each first pids=() files=()
    local gport=${GEN_PORT:-$PORT}
    shift 3
    procs=$(( (n + PER_PROC - 1) / PER_PROC ))
    [ "$procs" -ge 1 ] || procs=1

    if [ "$procs" = 1 ]; then
        taskset -c "$CPU_GEN" "$LOADGEN" --port "$gport" --mode "$mode" \
            --conns "$n" "$@" > "$out" 2>>"$LOG/loadgen.log"
        return
    fi

    each=$(( n / procs ))
    first=$(( n - each * (procs - 1) ))
    files=("$out.0")
    rm -f "$out".*

    for i in $(seq 1 $((procs - 1))); do
        files+=("$out.$i")
        if [ "$mode" = fanout ]; then
            taskset -c "$CPU_GEN" "$LOADGEN" --port "$gport" --mode fanout \
                --conns "$each" --sub-only --hist --timeout 3600 \
                --ready-file "$out.$i.ready" > "$out.$i" \
                2>>"$LOG/loadgen.log" &
        else
            taskset -c "$CPU_GEN" "$LOADGEN" --port "$gport" --mode "$mode" \
                --conns "$each" "$@" ${LG_READY:+--ready-file "$LG_READY.$i"} \
                > "$out.$i" 2>>"$LOG/loadgen.log" &
        fi
        pids+=($!)
    done

    if [ "$mode" = fanout ]; then
        for i in $(seq 1 $((procs - 1))); do
            wait_file "$out.$i.ready" 300
        done
        taskset -c "$CPU_GEN" "$LOADGEN" --port "$gport" --mode fanout \
            --conns "$first" --hist --all-steps "$@" \
            > "$out.0" 2>>"$LOG/loadgen.log"
    else
        taskset -c "$CPU_GEN" "$LOADGEN" --port "$gport" --mode "$mode" \
            --conns "$first" "$@" ${LG_READY:+--ready-file "$LG_READY.0"} \
            > "$out.0" 2>>"$LOG/loadgen.log" &
        pids+=($!)
        if [ -n "${LG_READY:-}" ]; then
            for i in $(seq 0 $((procs - 1))); do
                wait_file "$LG_READY.$i" 300
            done
            : > "$LG_READY"
            while [ ! -e "$LG_READY.stop" ]; do sleep 0.2; done
            kill -TERM "${pids[@]}" 2>/dev/null
        fi
    fi

    wait "${pids[@]}" 2>/dev/null
    node "$BENCH/report.js" merge "$P99_MS" "${files[@]}" > "$out"
}

wait_file() {
    local i
    for i in $(seq 1 $(( $2 * 10 ))); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

json_or_null() {
    if [ -s "$1" ]; then head -n 1 "$1"; else echo null; fi
}

record() {
    echo "$1" >> "$RAW"
}

# warmup [N [MODE]]: N connections opened and closed (MODE poll: polling
# sessions, each ended by the server when its pending GET's connection
# closes, as engine.io does)
warmup() {
    local n=${1:-$WARMUP} mode=${2:-connect} args=
    [ "$n" -gt 0 ] || return 0
    [ "$mode" = poll ] && args="--seconds 0"
    taskset -c "$CPU_GEN" "$LOADGEN" --port "${GEN_PORT:-$PORT}" \
        --mode "$mode" --conns "$n" $args > /dev/null 2>>"$LOG/loadgen.log"
    sleep 1
}

# where the server's connections are: {"PID":COUNT,...} of the
# established sockets on PORT (ngx_ws_workers' polling row: which worker
# holds the pending GETs), or null without ss
conns_by_pid_json() {
    command -v ss >/dev/null || { echo null; return; }
    ss -tnpH state established "( sport = :$PORT )" 2>/dev/null \
        | grep -o 'pid=[0-9]*' | sort | uniq -c \
        | awk 'BEGIN { printf "{" } { sub("pid=", "", $2);
              printf "%s\"%s\":%d", (NR > 1 ? "," : ""), $2, $1 }
              END { print "}" }'
}

# measure_memory SERVER N RUN [METRIC]: idle memory, the RSS of the server
# before and after N held connections (of all its workers for
# ngx_ws_workers, which records each worker as well).  METRIC polling: N
# idle polling sessions instead (loadgen --mode poll, each with its GET
# pending), against several workers with a new connection for each
# request (--poll-reopen), so that each lands on either worker.
measure_memory() {
    local srv=$1 n=$2 run=$3 metric=${4:-memory} out=$BUILD_DIR/hold.json
    local ready lpid base rss extra= mode=hold args=$HOLD_ARGS

    if [ "$metric" = polling ]; then
        mode=poll
        args=
        [ "$srv" = ngx_ws_workers ] && args=--poll-reopen
    fi

    start_server "$srv" || return 1
    warmup "$WARMUP_MEM" "$mode"
    sleep 1
    base=$(rss_sum_kb)
    [ "$srv" = ngx_ws_workers ] && extra=",\"workers_base\":$(workers_json)"
    ready=$BUILD_DIR/hold.ready
    rm -f "$ready" "$ready".*

    if [ "$n" -le "$PER_PROC" ]; then
        taskset -c "$CPU_GEN" "$LOADGEN" --port "$PORT" --mode "$mode" \
            --conns "$n" --seconds 600 --ready-file "$ready" $args \
            > "$out" 2>>"$LOG/loadgen.log" &
        lpid=$!
        wait_file "$ready" 300
        sleep "$SETTLE"
        rss=$(rss_sum_kb)
        [ "$srv" = ngx_ws_workers ] && extra="$extra,\"workers\":\
$(workers_json),\"health\":$(health_json)"
        [ "$srv" = ngx_ws_workers ] && [ "$mode" = poll ] \
            && extra="$extra,\"conns_by_pid\":$(conns_by_pid_json)"
        kill -TERM "$lpid" 2>/dev/null
        wait "$lpid" 2>/dev/null
    else
        LG_READY=$ready lg "$out" "$mode" "$n" --seconds 600 $args &
        lpid=$!
        wait_file "$ready" 300
        sleep "$SETTLE"
        rss=$(rss_sum_kb)
        [ "$srv" = ngx_ws_workers ] && extra="$extra,\"workers\":\
$(workers_json),\"health\":$(health_json)"
        [ "$srv" = ngx_ws_workers ] && [ "$mode" = poll ] \
            && extra="$extra,\"conns_by_pid\":$(conns_by_pid_json)"
        : > "$ready.stop"
        wait "$lpid" 2>/dev/null
    fi

    record "{\"server\":\"$srv\",\"metric\":\"$metric\",\"n\":$n,\
\"run\":$run,\"hold_args\":\"$args\",\"rss_base_kb\":$base,\
\"rss_kb\":$rss$extra,\"result\":$(json_or_null "$out")}"
    say "$srv $metric n=$n run $run: RSS $base -> $rss kB"
    stop_server
}

measure_connect() {
    local srv=$1 run=$2 out=$BUILD_DIR/connect.json

    start_server "$srv" || return 1
    warmup
    lg "$out" connect "$N"
    record "{\"server\":\"$srv\",\"metric\":\"connect\",\"n\":$N,\
\"run\":$run,\"result\":$(json_or_null "$out")}"
    say "$srv connect run $run: $(grep -o '"connects_per_s":[0-9.]*' "$out")"
    stop_server
}

# events with acks: EV_N clients, each with EV_WINDOW events outstanding,
# for EV_WARM + EV_SECONDS; loadgen reads the CPU time (utime + stime in
# /proc/PID/stat) of the server process and of the app over the counted
# seconds, and its own
measure_events() {
    local srv=$1 run=$2 out=$BUILD_DIR/events.json cpus

    start_server "$srv" || return 1
    warmup
    taskset -c "$CPU_GEN" "$LOADGEN" --port "$PORT" --mode events \
        --conns "$EV_N" --window "$EV_WINDOW" --warm "$EV_WARM" \
        --seconds "$EV_SECONDS" --cookie-bytes "$COOKIE_BYTES" \
        --cpu-pid "$SRV_PID" ${APP_PID:+--cpu-pid "$APP_PID"} \
        > "$out" 2>>"$LOG/loadgen.log"
    cpus="\"server\":\"$CPU_SERVER\",\"gen\":\"$CPU_GEN\""
    [ -n "$APP_PID" ] && cpus="$cpus,\"app\":\"$CPU_APP\""
    record "{\"server\":\"$srv\",\"metric\":\"events\",\"n\":$EV_N,\
\"run\":$run,\"pids\":{\"server\":$SRV_PID${APP_PID:+,\"app\":$APP_PID}},\
\"cpus\":{$cpus},\"result\":$(json_or_null "$out")}"
    say "$srv events run $run: $(grep -o '"acks_per_s":[0-9.]*' "$out")" \
        "$(grep -o '"p99_ms":[0-9.]*' "$out")" \
        "cpu ticks $(grep -o '"cpu":\[[^]]*\]' "$out")"
    stop_server
}

# measure_scrape SERVER RUN: how long a scrape of /metrics takes while N
# subscribers get a push flood; the answers' times (curl's time_total, on
# the generator's CPU), and promtool check metrics of a scrape under load
measure_scrape() {
    local srv=$1 run=$2 out=$BUILD_DIR/scrape.json lpid i t times= sep=
    local text=$BUILD_DIR/scrape.txt lint=null health rate

    start_server "$srv" || return 1
    warmup
    rate=$(awk -v d="$SCRAPE_RATE" -v n="$N" 'BEGIN { printf "%.6g", d / n }')
    lg "$out" fanout "$N" --seconds "$SCRAPE_SECONDS" --p99-ms "$P99_MS" \
        --rates "$rate" &
    lpid=$!
    health=$(health_when "$N" "$lpid")
    sleep 2
    for i in $(seq 1 "$SCRAPES"); do
        t=$(taskset -c "$CPU_GEN" curl -s -o "$text" -m 5 \
            -w '%{time_total}' "http://127.0.0.1:$PORT/metrics") || t=null
        times="$times$sep$t"
        sep=,
        sleep "$SCRAPE_GAP"
    done
    if command -v "$PROMTOOL" >/dev/null; then
        lint=false
        "$PROMTOOL" check metrics < "$text" >> "$LOG/promtool.log" 2>&1 \
            && lint=true
    fi
    wait "$lpid"
    record "{\"server\":\"$srv\",\"metric\":\"scrape\",\"n\":$N,\
\"run\":$run,\"rate\":$SCRAPE_RATE,\"times_s\":[$times],\
\"promtool_ok\":$lint,\"bytes\":$(wc -c < "$text"),\"health\":$health,\
\"result\":$(json_or_null "$out")}"
    say "$srv scrape run $run: $(tr ',' '\n' <<< "$times" | sort -n \
        | tail -n 1) s at most, promtool $lint"
    stop_server
}

has_metric() {
    case ",$METRICS," in *",$1,"*) return 0 ;; esac
    return 1
}

# the ladder in messages/s from index $1 on
ladder_rates() {
    echo "$LADDER" | tr ',' '\n' | tail -n +"$(( $1 + 1 ))" \
        | awk -v n="$N" '{ printf "%s%.6g", (NR > 1 ? "," : ""), $1 / n }'
}

# measure_fanout SERVER RUN FROM [METRIC]: the ladder from step FROM.
# METRIC redis: across hosts, the subscribers on host B (GEN_PORT), the
# pushes to host A (--push-port); the CPU ticks of host A, host B and Redis
# over the whole run are recorded, and each host's /health at its end.
measure_fanout() {
    local srv=$1 run=$2 from=$3 metric=${4:-fanout} probe lpid
    local out=$BUILD_DIR/$metric.json extra= t0= a0 b0 r0 s0 GEN_PORT=

    probe=$(awk -v p="$PROBE" -v n="$N" 'BEGIN { printf "%.6g", p / n }')
    if [ "$metric" = redis ]; then
        start_hosts "$srv" || return 1
        GEN_PORT=$PORT_B
        warmup
        t0="$(cpu_ticks "$HOST_A_PID") $(cpu_ticks "$SRV_PID")\
 $(cpu_ticks "$REDIS_PID") $(date +%s%N)"
        lg "$out" fanout "$N" --push-port "$PORT" --seconds "$STEP_S" \
            --p99-ms "$P99_MS" --probe "$probe" \
            --rates "$(ladder_rates "$from")"
        read -r a0 b0 r0 s0 <<< "$t0"
        s0=$(( ($(date +%s%N) - s0) / 1000000 ))
        extra=",\"hosts\":{\"seconds\":${s0}e-3,\
\"a\":{\"port\":$PORT,\"cpus\":\"$CPU_HOST_A\",\
\"pid\":$HOST_A_PID,\"cpu_ticks\":$(( $(cpu_ticks "$HOST_A_PID") - a0 )),\
\"health\":$(health_json "$PORT")},\"b\":{\"port\":$PORT_B,\
\"cpus\":\"$CPU_SERVER\",\"pid\":$SRV_PID,\
\"cpu_ticks\":$(( $(cpu_ticks "$SRV_PID") - b0 )),\
\"health\":$(health_json "$PORT_B")},\"redis\":{\"port\":$REDIS_PORT,\
\"cpus\":\"$CPU_REDIS\",\"pid\":$REDIS_PID,\
\"cpu_ticks\":$(( $(cpu_ticks "$REDIS_PID") - r0 ))},\
\"gen_cpus\":\"$CPU_GEN\",\"hz\":$(getconf CLK_TCK)}"
    elif [ "$srv" = ngx_ws_workers ]; then
        start_server "$srv" || return 1
        warmup
        # where the subscribers landed: /health once all are connected
        lg "$out" fanout "$N" --seconds "$STEP_S" --p99-ms "$P99_MS" \
            --probe "$probe" --rates "$(ladder_rates "$from")" &
        lpid=$!
        extra=",\"health\":$(health_when "$N" "$lpid")"
        wait "$lpid"
        extra="$extra,\"workers\":$(workers_json)"
    else
        start_server "$srv" || return 1
        warmup
        lg "$out" fanout "$N" --seconds "$STEP_S" --p99-ms "$P99_MS" \
            --probe "$probe" --rates "$(ladder_rates "$from")"
    fi
    record "{\"server\":\"$srv\",\"metric\":\"$metric\",\"n\":$N,\
\"run\":$run,\"ladder_from\":$from$extra,\"result\":$(json_or_null "$out")}"
    say "$srv $metric run $run:" \
        "$(grep -o '"max_pass_deliveries_per_s":[0-9.]*' "$out")"
    stop_server

    # a run that starts higher up and fails at once says nothing of the
    # rate the server does sustain: walk the ladder from the bottom
    if [ "$from" -gt 0 ] \
       && ! grep -q '"max_pass_deliveries_per_s":[1-9]' "$out"
    then
        say "$srv $metric run $run: no step passed from step $from," \
            "again from the bottom"
        measure_fanout "$srv" "$run" 0 "$metric"
    fi
}

# where the next runs start: two steps below the best passing step of
# $1 (fanout or redis)
ladder_from() {
    node -e '
        const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
        const ladder = process.argv[2].split(",").map(Number);
        const best = r && r.max_pass_deliveries_per_s || 0;
        let i = ladder.findIndex((d) => d >= best * 0.999 && best > 0);
        console.log(Math.max(0, i - 2));
    ' "$BUILD_DIR/${1:-fanout}.json" "$LADDER" 2>/dev/null || echo 0
}

# nginx allocates worker_connections slots (ngx_connection_t and two
# ngx_event_t each) at start and touches them all: the worker's RSS with
# 20000 slots minus that with 1024, at zero connections, divided by the
# slot count difference
measure_slots() {
    local small big
    start_server ngx_ws 1024 || return 1
    sleep 1
    small=$(rss_kb "$SRV_PID")
    stop_server
    start_server ngx_ws 20000 || return 1
    sleep 1
    big=$(rss_kb "$SRV_PID")
    stop_server
    record "{\"server\":\"ngx_ws\",\"metric\":\"slots\",\"wc_small\":1024,\
\"wc_big\":20000,\"rss_small_kb\":$small,\"rss_big_kb\":$big,\
\"sizes\":\"$NGX_SIZES\"}"
    say "ngx_ws slots: worker RSS $small kB (1024) -> $big kB (20000)"
}

bench_server() {
    local srv=$1 run from

    say "=== $srv"
    if [ "$srv" = ngx_ws_hooks ]; then
        # the hooks: idle memory at N with every client sending a cookie
        # (its connect through the connect hook), and events with acks
        if has_metric memory; then
            HOLD_ARGS="--cookie-bytes $COOKIE_BYTES"
            for run in $(seq 1 "$RUNS"); do
                measure_memory "$srv" "$N" "$run"
            done
            HOLD_ARGS=
        fi
        if has_metric events; then
            for run in $(seq 1 "$RUNS"); do
                measure_events "$srv" "$run"
            done
        fi
        return
    fi
    [ "$srv" = ngx_ws ] && has_metric memory && measure_slots
    for run in $(seq 1 "$RUNS"); do
        has_metric memory || break
        measure_memory "$srv" "$N" "$run"
        # several workers: memory at N and fan-out only
        [ "$srv" = ngx_ws_workers ] && continue
        measure_memory "$srv" "$N_BIG" "$run"
    done
    # idle polling sessions (the C limit speaks WebSocket only)
    if [ "$srv" != climit ] && has_metric polling; then
        for run in $(seq 1 "$RUNS"); do
            measure_memory "$srv" "$POLL_N" "$run" polling
        done
    fi
    if [ "$srv" != ngx_ws_workers ] && has_metric connect; then
        for run in $(seq 1 "$RUNS"); do
            measure_connect "$srv" "$run"
        done
    fi
    if [ "$srv" = node ] && has_metric events; then
        for run in $(seq 1 "$RUNS"); do
            measure_events "$srv" "$run"
        done
    fi
    if { [ "$srv" = ngx_ws ] || [ "$srv" = ngx_ws_workers ]; } \
       && has_metric scrape
    then
        for run in $(seq 1 "$RUNS"); do
            measure_scrape "$srv" "$run"
        done
    fi
    if has_metric fanout; then
        from=0
        for run in $(seq 1 "$RUNS"); do
            measure_fanout "$srv" "$run" "$from"
            [ "$run" = 1 ] && from=$(ladder_from fanout)
        done
    fi
    # across hosts through Redis: ngx_ws and Node only
    case $srv in ngx_ws|node) ;; *) return ;; esac
    has_metric redis || return
    if [ $HAVE_REDIS = 0 ]; then
        say "no $REDIS_SERVER or $REDIS_CLI: the cross-host rows are skipped"
        return
    fi
    from=0
    for run in $(seq 1 "$RUNS"); do
        measure_fanout "$srv" "$run" "$from" redis
        [ "$run" = 1 ] && from=$(ladder_from redis)
    done
}

trap 'stop_server; exit 130' INT TERM

started=$(date +%s)
for srv in ${SERVERS//,/ }; do
    case $srv in
    ngx_ws)
        if [ -f "$MODULE" ] && [ -x "$NGINX_BIN" ]; then
            bench_server ngx_ws
        else
            say "no $MODULE or $NGINX_BIN: the ngx_ws column is skipped"
        fi
        ;;
    ngx_ws_hooks)
        if [ -f "$MODULE" ] && [ -x "$NGINX_BIN" ] \
           && command -v node >/dev/null
        then
            bench_server ngx_ws_hooks
        else
            say "no $MODULE, no $NGINX_BIN or no node:" \
                "the rows of the app hooks are skipped"
        fi
        ;;
    ngx_ws_workers)
        if [ -f "$MODULE" ] && [ -x "$NGINX_BIN" ] && [ "$WORKERS" -gt 1 ]
        then
            bench_server ngx_ws_workers
        else
            say "no $MODULE, no $NGINX_BIN or BENCH_WORKERS < 2:" \
                "the rows of several workers are skipped"
        fi
        ;;
    node)
        [ $HAVE_NODE = 1 ] && bench_server node ;;
    climit)
        [ $HAVE_CLIMIT = 1 ] && bench_server climit ;;
    *)
        say "unknown server $srv" ;;
    esac
done

commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)
if [ "$commit" != none ] && [ -n "$(git -C "$REPO" status --porcelain \
        -- . ':!bench/results' 2>/dev/null)" ]; then
    commit=$commit-dirty
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
redis_version=
[ $HAVE_REDIS = 1 ] && redis_version=$("$REDIS_SERVER" --version \
    | sed -E 's/.* v=([^ ]*).*/\1/')

node "$BENCH/report.js" report "$RAW" \
    "$RESULTS/$stamp-$commit.json" "$RESULTS/latest.json" \
    "{\"date\":\"$(date -u +%FT%TZ)\",\"commit\":\"$commit\",\
\"seconds\":$(( $(date +%s) - started )),\"runs\":$RUNS,\"n\":$N,\
\"n_big\":$N_BIG,\"poll_n\":$POLL_N,\"step_seconds\":$STEP_S,\
\"ladder\":\"$LADDER\",\"probe\":$PROBE,\"p99_ms\":$P99_MS,\"cpus\":$(nproc),\
\"cpu_server\":\"$CPU_SERVER\",\"cpu_gen\":\"$CPU_GEN\",\"workers\":$WORKERS,\
\"cpu_workers\":\"$CPU_WORKERS\",\"cpu_app\":\"$CPU_APP\",\"ev_n\":$EV_N,\
\"ev_window\":$EV_WINDOW,\"ev_seconds\":$EV_SECONDS,\"ev_warm\":$EV_WARM,\
\"cookie_bytes\":$COOKIE_BYTES,\"keepalive\":$KEEPALIVE,\
\"port_b\":$PORT_B,\"cpu_host_a\":\"$CPU_HOST_A\",\
\"cpu_redis\":\"$CPU_REDIS\",\"redis_version\":\"$redis_version\",\
\"redis_adapter\":\"$REDIS_ADAPTER\",\"recovery\":$RECOVERY,\
\"hook_concurrency\":$HOOK_CONC,\"metrics\":\"$METRICS\",\
\"scrape_rate\":$SCRAPE_RATE,\"scrapes\":$SCRAPES,\
\"kernel\":\"$(uname -r)\",\"cpu\":\"$(awk -F': ' '/model name/ \
{ print $2; exit }' /proc/cpuinfo | tr -d '"')\"}"
