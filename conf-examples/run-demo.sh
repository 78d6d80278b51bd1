#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Serve the demo: nginx on 127.0.0.1:8080 with the ngx_ws module, its own
# prefix, pid file, logs and temp paths, and the chat app behind it
# (chat-app/server.mjs, plain Node) on 127.0.0.1:8081.  Both run until
# Ctrl-C or SIGTERM, which stops both; if either exits, so does the other.
#
#   run-demo.sh NGINX_BIN MODULE_SO PREFIX_DIR
#
# `make run` calls it after building the module and installing the npm
# packages of t/e2e (the page's socket.io-client bundle comes from there).

set -euo pipefail

nginx_bin=${1:-/usr/sbin/nginx}
module=${2:?usage: run-demo.sh NGINX_BIN MODULE_SO PREFIX_DIR}
prefix=${3:?usage: run-demo.sh NGINX_BIN MODULE_SO PREFIX_DIR}

host=127.0.0.1
port=8080
app_port=8081
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
client_dist=$root/t/e2e/node_modules/socket.io-client/dist

die() {
    echo "run-demo: $*" >&2
    exit 1
}

[ -x "$nginx_bin" ] || die "no nginx at $nginx_bin"
[ -f "$module" ] || die "no module at $module (run: make build)"
[ -f "$client_dist/socket.io.min.js" ] \
    || die "no socket.io-client bundle (run: cd t/e2e && npm ci)"
command -v node >/dev/null || die "no node for the chat app (Debian: nodejs)"

port_taken() {
    # A connect that succeeds means someone listens there already.
    (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

taken_message() {
    echo "run-demo: $host:$1 is already in use by another program." >&2
    if command -v ss >/dev/null; then
        ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' >&2 || true
    fi
    echo "run-demo: stop it (or a demo still running) and run make run again." >&2
}

for p in "$port" "$app_port"; do
    if port_taken "$p"; then
        taken_message "$p"
        exit 1
    fi
done

# Absolute paths: nginx resolves relative ones against its prefix.
mkdir -p "$prefix/tmp"
prefix=$(cd "$prefix" && pwd)
module=$(cd "$(dirname "$module")" && pwd)/$(basename "$module")
conf=$prefix/nginx.conf
log=$prefix/error.log
app_log=$prefix/app.log

# Under a root master the workers run as nobody, and a checkout in a
# private home (/root is 0700) is out of their reach: the page would be a
# 403.  Only then do the demo's workers run as root (on loopback only).
user_line=""
if [ "$(id -u)" -eq 0 ] && ! runuser -u nobody -- sh -c \
        'test -r "$1" && test -x "$2"' sh \
        "$client_dist/socket.io.min.js" "$prefix/tmp" 2>/dev/null; then
    user_line="user root;"
    echo "run-demo: user nobody cannot read $root; workers run as root."
fi

sed -e "s|@USER@|$user_line|g" \
    -e "s|@MODULE@|$module|g" \
    -e "s|@PREFIX@|$prefix|g" \
    -e "s|@LISTEN@|$host:$port|g" \
    -e "s|@APP@|$host:$app_port|g" \
    -e "s|@CLIENT_DIST@|$client_dist|g" \
    "$here/demo.conf" > "$conf"

# -e: even the log nginx opens before reading the config is ours.
"$nginx_bin" -q -t -p "$prefix" -c "$conf" -e "$log" \
    || die "the generated $conf does not pass nginx -t"

# Both in the background, so that this shell gets the signals and stops
# them (a shell waiting for a foreground child would die and leave it).
app_pid=""
nginx_pid=""

stop_all() {
    trap '' INT TERM HUP
    # nginx first: its workers tell the app of the sockets going away.
    if [ -n "$nginx_pid" ]; then
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    if [ -n "$app_pid" ]; then
        kill -TERM "$app_pid" 2>/dev/null || true
        wait "$app_pid" 2>/dev/null || true
    fi
}

stopped() {
    echo
    echo "run-demo: $1, stopping nginx and the chat app."
    stop_all
    echo "run-demo: stopped."
    exit 0
}

trap 'stopped SIGINT' INT
trap 'stopped SIGTERM' TERM
trap 'stopped SIGHUP' HUP

node "$here/chat-app/server.mjs" --host "$host" --port "$app_port" \
    > "$app_log" 2>&1 &
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

cat <<MSG
ngx_ws demo: open http://$host:$port/ (log in, join a room, chat; open a
second browser or a private window as another user to see messages and
typing arrive)

Push a notification to every logged-in page:

  curl -s -H 'Content-Type: application/json' -d '{"nsp":"/notifications","event":"notification","data":[{"text":"Hello from curl"}]}' http://$host:$port/_ws/push

Health:  curl -s http://$host:$port/health
Files:   $prefix (nginx.conf, error.log, access.log, app.log, pid, temp)
Stop:    Ctrl-C

MSG

"$nginx_bin" -p "$prefix" -c "$conf" -e "$log" &
nginx_pid=$!

# Until either stops (or a signal: the traps above).
rc=0
wait -n "$nginx_pid" "$app_pid" || rc=$?
if ! kill -0 "$nginx_pid" 2>/dev/null; then
    wait "$nginx_pid" 2>/dev/null || rc=$?
    nginx_pid=""
    what=nginx
else
    what="the chat app (see $app_log)"
fi
trap '' INT TERM HUP
stop_all
if grep -q 'Address already in use' "$log" 2>/dev/null; then
    taken_message "$port"
    exit 1
fi
if [ "$rc" -eq 0 ]; then
    echo "run-demo: $what stopped; so did the rest."
else
    echo "run-demo: $what exited with $rc; everything is stopped." >&2
fi
exit "$rc"
