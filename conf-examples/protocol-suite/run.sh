#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The server socket.io's v5 protocol test suite expects, on localhost:3000:
# nginx with the ngx_ws module in front, app.js (the hooks) behind it, both
# in the foreground until Ctrl-C (or SIGTERM), which stops both.
#
#   run.sh NGINX_BIN MODULE_SO PREFIX_DIR [WORKERS]
#
# `make protocol-suite` calls it after building the module.

set -euo pipefail

nginx_bin=${1:-/usr/sbin/nginx}
module=${2:?usage: run.sh NGINX_BIN MODULE_SO PREFIX_DIR [WORKERS]}
prefix=${3:?usage: run.sh NGINX_BIN MODULE_SO PREFIX_DIR [WORKERS]}
workers=${4:-1}
port=3000
here=$(cd "$(dirname "$0")" && pwd)

die() {
    echo "protocol-suite: $*" >&2
    exit 1
}

[ -x "$nginx_bin" ] || die "no nginx at $nginx_bin"
[ -f "$module" ] || die "no module at $module (run: make build)"
command -v node >/dev/null || die "no node (apt-get install nodejs)"
[[ $workers =~ ^([1-9][0-9]*|auto)$ ]] || die "WORKERS=$workers: a number or auto"

# [::1] too if the host has IPv6 on loopback: "localhost" may be either.
listen6=""
if grep -qs ' lo$' /proc/net/if_inet6; then
    listen6="listen [::1]:$port;"
fi

for host in 127.0.0.1 ${listen6:+::1}; do
    # a connect that succeeds means someone listens there already
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        command -v ss >/dev/null \
            && ss -Hltnp "sport = :$port" 2>/dev/null | sed 's/^/    /' >&2
        die "$host:$port is already in use; stop that program first"
    fi
done

mkdir -p "$prefix/tmp"
prefix=$(cd "$prefix" && pwd)
module=$(cd "$(dirname "$module")" && pwd)/$(basename "$module")
conf=$prefix/nginx.conf
log=$prefix/error.log
port_file=$prefix/app.port
rm -f "$port_file"

app_pid=""
nginx_pid=""

stop() {
    trap - INT TERM EXIT
    # nginx: TERM is its fast shutdown, the master stops its workers
    for pid in $nginx_pid $app_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $nginx_pid $app_pid; do
        wait "$pid" 2>/dev/null || true
    done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT

# The app on a free port of its choosing, then nginx pointed at it.
node "$here/app.js" 0 "$port_file" &
app_pid=$!
for _ in $(seq 50); do
    [ -s "$port_file" ] && break
    kill -0 "$app_pid" 2>/dev/null || die "app.js did not start"
    sleep 0.1
done
[ -s "$port_file" ] || die "app.js did not say its port"
app_port=$(cat "$port_file")

sed -e "s|@MODULE@|$module|g" \
    -e "s|@PREFIX@|$prefix|g" \
    -e "s|@WORKERS@|$workers|g" \
    -e "s|@APP_PORT@|$app_port|g" \
    -e "s|@LISTEN6@|$listen6|g" \
    "$here/nginx.conf" > "$conf"

"$nginx_bin" -q -t -p "$prefix" -c "$conf" -e "$log" \
    || die "the generated $conf does not pass nginx -t"

cat <<MSG
protocol-suite: nginx on 127.0.0.1:$port${listen6:+ and [::1]:$port}, $workers worker(s); app.js on 127.0.0.1:$app_port
Files: $prefix (nginx.conf, error.log, access.log)
Run the suite (socketio/socket.io, docs/socket.io-protocol/v5-test-suite):
  npm ci && npx mocha test-suite.js
Stop: Ctrl-C
MSG

"$nginx_bin" -p "$prefix" -c "$conf" -e "$log" &
nginx_pid=$!

# Either one ending ends both (the EXIT trap stops the other).
rc=0
wait -n "$nginx_pid" "$app_pid" || rc=$?
if kill -0 "$app_pid" 2>/dev/null; then
    echo "protocol-suite: nginx exited ($rc), see $log" >&2
else
    echo "protocol-suite: app.js exited ($rc)" >&2
fi
exit "$rc"
