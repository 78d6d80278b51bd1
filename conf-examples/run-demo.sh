#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Serve the demo: nginx in the foreground on 127.0.0.1:8080 with the
# ngx_ws module, its own prefix, pid file, logs and temp paths.
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

port_taken() {
    # A connect that succeeds means someone listens there already.
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

taken_message() {
    echo "run-demo: $host:$port is already in use by another program." >&2
    if command -v ss >/dev/null; then
        ss -Hltnp "sport = :$port" 2>/dev/null | sed 's/^/    /' >&2 || true
    fi
    echo "run-demo: stop it (or a demo still running) and run make run again." >&2
}

if port_taken; then
    taken_message
    exit 1
fi

# Absolute paths: nginx resolves relative ones against its prefix.
mkdir -p "$prefix/tmp"
prefix=$(cd "$prefix" && pwd)
module=$(cd "$(dirname "$module")" && pwd)/$(basename "$module")
conf=$prefix/nginx.conf
log=$prefix/error.log

# Under a root master the workers run as nobody, and a checkout in a
# private home (/root is 0700) is out of their reach: the page would be a
# 403.  Only then do the demo's workers run as root (on loopback only).
user_line=""
if [ "$(id -u)" -eq 0 ] && ! runuser -u nobody -- sh -c \
        'test -r "$1" && test -r "$2" && test -x "$3"' sh \
        "$here/demo/index.html" "$client_dist/socket.io.min.js" \
        "$prefix/tmp" 2>/dev/null; then
    user_line="user root;"
    echo "run-demo: user nobody cannot read $root; workers run as root."
fi

sed -e "s|@USER@|$user_line|g" \
    -e "s|@MODULE@|$module|g" \
    -e "s|@PREFIX@|$prefix|g" \
    -e "s|@LISTEN@|$host:$port|g" \
    -e "s|@DEMO_ROOT@|$here/demo|g" \
    -e "s|@CLIENT_DIST@|$client_dist|g" \
    "$here/demo.conf" > "$conf"

# -e: even the log nginx opens before reading the config is ours.
"$nginx_bin" -q -t -p "$prefix" -c "$conf" -e "$log" \
    || die "the generated $conf does not pass nginx -t"

cat <<MSG
ngx_ws demo: open http://$host:$port/

Push a notification to the page:

  curl -s -H 'Content-Type: application/json' -d '{"nsp":"/notifications","event":"notification","data":[{"text":"Hello from curl"}]}' http://$host:$port/_ws/push

Health:  curl -s http://$host:$port/health
Files:   $prefix (nginx.conf, error.log, access.log, pid, temp)
Stop:    Ctrl-C

MSG

rc=0
"$nginx_bin" -p "$prefix" -c "$conf" -e "$log" || rc=$?
if [ "$rc" -ne 0 ] && grep -q 'Address already in use' "$log" 2>/dev/null; then
    taken_message
    exit 1
fi
exit "$rc"
