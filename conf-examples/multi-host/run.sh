#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Two nginx hosts of one cluster on one machine, sharing their broadcasts
# through Redis pub/sub:
#
#   127.0.0.1:8081  nginx "host 1" (2 workers)  \   ws_redis 127.0.0.1:6380
#   127.0.0.1:8082  nginx "host 2" (2 workers)  /
#   127.0.0.1:6380  a redis-server of its own, data directory PREFIX/redis
#   127.0.0.1:8091  the chat app (../chat-app/server.mjs), behind both
#
# Each host serves the demo's configuration (../demo.conf: its namespaces,
# push endpoint, hooks and page) with one line more, `ws_redis`, and two
# workers.  A user on http://127.0.0.1:8081 and one on
# http://127.0.0.1:8082 chat together: the app answers each host's hooks,
# the host delivers to its own clients and publishes to Redis, the other
# host delivers what it reads there.
#
# Never Debian's redis-server service (6379): this one runs in the
# foreground with everything else, until Ctrl-C (or SIGTERM), which stops
# all of them; if any one exits, the rest are stopped too.
#
#   run.sh NGINX_BIN MODULE_SO PREFIX_DIR [WORKERS]
#
# The ports can be changed through the environment (the e2e test runs it
# on free ports): MULTI_HOST_PORT1, MULTI_HOST_PORT2, MULTI_HOST_APP_PORT,
# MULTI_HOST_REDIS_PORT.  `make multi-host` calls it after building the
# module and installing redis-server and the npm packages of t/e2e (the
# page's socket.io-client bundle comes from there).

set -euo pipefail

nginx_bin=${1:-/usr/sbin/nginx}
module=${2:?usage: run.sh NGINX_BIN MODULE_SO PREFIX_DIR [WORKERS]}
prefix=${3:?usage: run.sh NGINX_BIN MODULE_SO PREFIX_DIR [WORKERS]}
workers=${4:-2}

host=127.0.0.1
ports=("${MULTI_HOST_PORT1:-8081}" "${MULTI_HOST_PORT2:-8082}")
# Not the chat demo's 8081: host 1 listens there.
app_port=${MULTI_HOST_APP_PORT:-8091}
redis_port=${MULTI_HOST_REDIS_PORT:-6380}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
client_dist=$root/t/e2e/node_modules/socket.io-client/dist

die() {
    echo "multi-host: $*" >&2
    exit 1
}

[ -x "$nginx_bin" ] || die "no nginx at $nginx_bin"
[ -f "$module" ] || die "no module at $module (run: make build)"
[ -f "$client_dist/socket.io.min.js" ] \
    || die "no socket.io-client bundle (run: cd t/e2e && npm ci)"
command -v node >/dev/null || die "no node for the chat app (Debian: nodejs)"
command -v redis-server >/dev/null \
    || die "no redis-server (Debian: apt-get install redis-server)"
[[ $workers =~ ^([1-9][0-9]*|auto)$ ]] || die "WORKERS=$workers: a number or auto"

all_ports=("${ports[@]}" "$app_port" "$redis_port")
for p in "${all_ports[@]}"; do
    [[ $p =~ ^[1-9][0-9]{0,4}$ ]] && [ "$p" -le 65535 ] \
        || die "port $p: a number from 1 to 65535"
done
[ "$(printf '%s\n' "${all_ports[@]}" | sort -u | wc -l)" -eq 4 ] \
    || die "the four ports must differ: ${all_ports[*]}"

port_taken() {
    # A connect that succeeds means someone listens there already.
    (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

taken_message() {
    echo "multi-host: $host:$1 is already in use by another program." >&2
    if command -v ss >/dev/null; then
        ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' >&2 || true
    fi
    echo "multi-host: stop it (the chat demo of make run uses 8080 and" \
         "8081) and run make multi-host again." >&2
}

for p in "${all_ports[@]}"; do
    if port_taken "$p"; then
        taken_message "$p"
        exit 1
    fi
done

# Absolute paths: nginx resolves relative ones against its prefix.
mkdir -p "$prefix/host1/tmp" "$prefix/host2/tmp" "$prefix/redis"
prefix=$(cd "$prefix" && pwd)
module=$(cd "$(dirname "$module")" && pwd)/$(basename "$module")
app_log=$prefix/app.log
redis_dir=$prefix/redis
redis_log=$redis_dir/redis.log

# Under a root master the workers run as nobody, and a checkout in a
# private home (/root is 0700) is out of their reach: the page would be a
# 403.  Only then do the workers run as root (on loopback only).
user_line=""
if [ "$(id -u)" -eq 0 ] && ! runuser -u nobody -- sh -c \
        'test -r "$1" && test -x "$2"' sh \
        "$client_dist/socket.io.min.js" "$prefix/host1/tmp" 2>/dev/null; then
    user_line="user root;"
    echo "multi-host: user nobody cannot read $root; workers run as root."
fi

# The demo's configuration, with `worker_processes $workers;` and
# `ws_redis` as the first line of http{}: all a host needs to join the
# cluster.  Refuse a demo.conf these two edits no longer fit.
template=$root/conf-examples/demo.conf
[ "$(grep -c '^worker_processes auto;$' "$template")" -eq 1 ] \
    && [ "$(grep -c '^http {$' "$template")" -eq 1 ] \
    || die "$template no longer has one 'worker_processes auto;' and one" \
           "'http {' line; update $here/run.sh"

conf_of() { echo "$prefix/host$1/nginx.conf"; }
log_of() { echo "$prefix/host$1/error.log"; }

for i in 1 2; do
    hp=$prefix/host$i
    sed -e "s|@USER@|$user_line|g" \
        -e "s|@MODULE@|$module|g" \
        -e "s|@PREFIX@|$hp|g" \
        -e "s|@LISTEN@|$host:${ports[i-1]}|g" \
        -e "s|@APP@|$host:$app_port|g" \
        -e "s|@CLIENT_DIST@|$client_dist|g" \
        -e "s|^worker_processes auto;$|worker_processes $workers;|" \
        -e "/^http {$/a\\
    # One line more than the single-host demo: the cluster meets here.\\
    ws_redis $host:$redis_port;\\
" \
        "$template" > "$(conf_of "$i")"
    if grep -q '@[A-Z_]*@' "$(conf_of "$i")"; then
        die "$(conf_of "$i") keeps a placeholder: $(grep -o '@[A-Z_]*@' \
             "$(conf_of "$i")" | sort -u | tr '\n' ' ')"
    fi
    # -e: even the log nginx opens before reading the config is ours.
    "$nginx_bin" -q -t -p "$hp" -c "$(conf_of "$i")" -e "$(log_of "$i")" \
        || die "the generated $(conf_of "$i") does not pass nginx -t"
done

# Everything in the background, so that this shell gets the signals and
# stops them all (a shell waiting for a foreground child would die and
# leave the rest).
redis_pid=""
app_pid=""
nginx_pids=("" "")

stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

stop_all() {
    trap '' INT TERM HUP
    # nginx first (its workers tell the app of the sockets going away),
    # then the app, then Redis, which the hosts use until they exit.
    for pid in "${nginx_pids[@]}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${nginx_pids[@]}"; do
        [ -n "$pid" ] && { wait "$pid" 2>/dev/null || true; }
    done
    stop_pid "$app_pid"
    stop_pid "$redis_pid"
}

stopped() {
    echo
    echo "multi-host: $1, stopping both nginx hosts, the chat app and redis-server."
    stop_all
    echo "multi-host: stopped."
    exit 0
}

trap 'stopped SIGINT' INT
trap 'stopped SIGTERM' TERM
trap 'stopped SIGHUP' HUP

# Redis keeps nothing for pub/sub: no snapshot, no append-only file; its
# own directory all the same, and its log there.
redis-server --port "$redis_port" --bind "$host" --daemonize no \
    --dir "$redis_dir" --save '' --appendonly no \
    --logfile "$redis_log" &
redis_pid=$!

redis_answers() {
    local line=""
    {
        exec 3<>"/dev/tcp/$host/$redis_port" || return 1
        printf 'PING\r\n' >&3
        read -r -t 1 line <&3 || true
        exec 3<&-
    } 2>/dev/null
    [ "${line%$'\r'}" = "+PONG" ]
}

for _ in $(seq 100); do
    redis_answers && break
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
done
if ! redis_answers; then
    stop_all
    tail -n 20 "$redis_log" >&2 || true
    die "redis-server did not start (log above, in $redis_log)"
fi

node "$root/conf-examples/chat-app/server.mjs" --host "$host" \
    --port "$app_port" > "$app_log" 2>&1 &
app_pid=$!

# The app is up before nginx sends it anyone.
for _ in $(seq 100); do
    port_taken "$app_port" && break
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
done
if ! port_taken "$app_port"; then
    stop_all
    cat "$app_log" >&2
    die "the chat app did not start (log above, in $app_log)"
fi

for i in 1 2; do
    "$nginx_bin" -p "$prefix/host$i" -c "$(conf_of "$i")" -e "$(log_of "$i")" &
    nginx_pids[i-1]=$!
done

health() {
    # GET /health of host $1 (HTTP/1.0: nginx closes when done).
    {
        exec 3<>"/dev/tcp/$host/${ports[$1-1]}" || return 1
        printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
        timeout 2 cat <&3 || true
        exec 3<&-
    } 2>/dev/null
}

# Each host is a member of the cluster once one of its workers has
# subscribed: its /health says "redis":{"state":"up",...}.
for i in 1 2; do
    up=""
    for _ in $(seq 100); do
        if health "$i" | grep -q '"redis":{"state":"up"'; then
            up=1
            break
        fi
        kill -0 "${nginx_pids[i-1]}" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$up" ]; then
        stop_all
        tail -n 20 "$(log_of "$i")" >&2 || true
        if grep -q 'Address already in use' "$(log_of "$i")" 2>/dev/null; then
            taken_message "${ports[i-1]}"
            exit 1
        fi
        die "host $i did not join Redis within 10 s (log above, in $(log_of "$i"))"
    fi
done

h1=http://$host:${ports[0]}
h2=http://$host:${ports[1]}
cat <<MSG
ngx_ws on two hosts: both are members of the cluster in Redis.

  host 1  $h1   ($workers workers)
  host 2  $h2   ($workers workers)
  redis   $host:$redis_port   (its own, data directory $redis_dir)
  app     http://$host:$app_port   (the chat app, behind both hosts)

Open $h1 in one browser and $h2
in another (or in a private window: one browser shares the app's session
cookie between the two), log in as two users, join the same room and chat:
each message crosses from one host to the other through Redis.

Push on host 1, received by the pages of both hosts:

  curl -s -H 'Content-Type: application/json' -d '{"nsp":"/notifications","event":"notification","data":[{"text":"Hello from host 1"}]}' $h1/_ws/push

Health:  curl -s $h1/health; curl -s $h2/health
Files:   $prefix (host1/, host2/: nginx.conf and logs; redis/; app.log)
Stop:    Ctrl-C

MSG

# Until any one stops (or a signal: the traps above).
rc=0
wait -n "${nginx_pids[@]}" "$app_pid" "$redis_pid" || rc=$?
what=""
for i in 1 2; do
    if ! kill -0 "${nginx_pids[i-1]}" 2>/dev/null; then
        what="nginx host $i (see $(log_of "$i"))"
    fi
done
if ! kill -0 "$app_pid" 2>/dev/null; then
    what="the chat app (see $app_log)"
elif ! kill -0 "$redis_pid" 2>/dev/null; then
    what="redis-server (see $redis_log)"
fi
trap '' INT TERM HUP
stop_all
if [ "$rc" -eq 0 ]; then
    echo "multi-host: ${what:-a process} stopped; so did the rest."
else
    echo "multi-host: ${what:-a process} exited with $rc; everything is stopped." >&2
fi
exit "$rc"
