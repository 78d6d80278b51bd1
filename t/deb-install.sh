#!/usr/bin/env bash
#
# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The install test (make deb-install, a suite of make test): the package
# installed with apt in a fresh Debian 12 root, the way an admin installs it
# on a new machine, then used there by a site and a real client.
#
#   t/deb-install.sh <libnginx-mod-http-ws_*.deb> <cache dir>
#
#   <cache>/base   a debootstrap --variant=minbase bookworm root with the
#                  security and updates suites and a policy-rc.d that
#                  forbids starting services; made once, reused after
#   <cache>/apt    apt's lists and downloads, kept between runs (bound into
#                  the root), so that a second run downloads next to nothing
#   <cache>/root   this run's root: a fresh copy of base
#
# In the root: apt-get install ./the.deb (which brings nginx through the
# ABI dependency), the modules-enabled link, no service started by the
# install, nginx -t with a site using the module, then that nginx started on
# a free loopback port (the root shares the host's network) and the stock
# socket.io-client from the host (t/e2e/deb-client.mjs) connected, upgraded
# and pushed to.  Last, apt is shown an nginx of another ABI: an upgrade
# keeps it back and installing it removes the module, so no upgrade leaves
# a module that nginx cannot load.  Whatever happens, the nginx started
# here is stopped and everything mounted is unmounted (trap).
#
# DEB_MIRROR, DEB_SECURITY_MIRROR: the Debian mirrors (deb.debian.org).

set -euo pipefail

deb=$(realpath "$1")
cache=$(realpath -m "$2")
mirror=${DEB_MIRROR:-http://deb.debian.org/debian}
security=${DEB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
here=$(cd "$(dirname "$0")" && pwd)

base=$cache/base
root=$cache/root
pkg=$(dpkg-deb -f "$deb" Package)
abi=$(dpkg-deb -f "$deb" Depends | grep -o 'nginx-abi-[^ ,]*' || true)
mounts=()
nginx_pid=

say() { echo "deb-install: $*"; }
fail() { echo "deb-install: FAILED: $*" >&2; exit 1; }

in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}

mounted_under() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1' /proc/mounts
}

# Only the nginx master this script started, by its pid.
stop_nginx() {
    local i

    [ -n "$nginx_pid" ] || return 0
    kill -TERM "$nginx_pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$nginx_pid" 2>/dev/null || true
    nginx_pid=
}

cleanup() {
    local i

    stop_nginx
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[i]}" || umount -l "${mounts[i]}" || true
    done
    mounts=()
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mount_in_root() {
    mount "$@"
    mounts+=("${!#}")
}

make_base() {
    local tmp=$base.tmp

    [ -f "$base/.complete" ] && return 0
    [ -z "$(mounted_under "$tmp")" ] || fail "something is mounted in $tmp"
    rm -rf --one-file-system "$tmp" "$base"
    mkdir -p "$cache"
    say "debootstrap bookworm into $base (once; log in $cache/debootstrap.log)"
    debootstrap --variant=minbase bookworm "$tmp" "$mirror" \
        > "$cache/debootstrap.log" 2>&1 \
        || { tail -n 30 "$cache/debootstrap.log"; fail "debootstrap"; }
    cat > "$tmp/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
    cat > "$tmp/usr/sbin/policy-rc.d" <<'EOF'
#!/bin/sh
# No package starts a service in this root: the install test starts nginx.
exit 101
EOF
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    rm -rf "$tmp/var/lib/apt/lists"/* "$tmp/var/cache/apt/archives"/*.deb
    touch "$tmp/.complete"
    mv "$tmp" "$base"
}

fresh_root() {
    [ -z "$(mounted_under "$root")" ] || fail "something is mounted in $root"
    rm -rf --one-file-system "$root"
    cp -a "$base" "$root"
    mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial"
    mount_in_root --bind "$cache/apt/lists" "$root/var/lib/apt/lists"
    mount_in_root --bind "$cache/apt/archives" "$root/var/cache/apt/archives"
    mount_in_root -t proc proc "$root/proc"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
}

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1,
                                     LocalAddr => "127.0.0.1:0")->sockport'
}

install_package() {
    cp "$deb" "$root/tmp/"
    say "apt-get install ./$(basename "$deb") in a fresh bookworm root"
    in_root apt-get update -qq
    in_root apt-get install -y -qq "/tmp/$(basename "$deb")" \
        > "$cache/apt-install.log" 2>&1 \
        || { tail -n 30 "$cache/apt-install.log"; fail "apt-get install"; }
    in_root dpkg-query -W -f '${Package} ${Version} ${Status}\n' "$pkg" nginx

    [ "$(readlink "$root/etc/nginx/modules-enabled/50-mod-http-ws.conf")" \
        = /usr/share/nginx/modules-available/mod-http-ws.conf ] \
        || fail "no modules-enabled link to mod-http-ws.conf"
    grep -qx 'load_module modules/ngx_ws_module.so;' \
        "$root/usr/share/nginx/modules-available/mod-http-ws.conf" \
        || fail "mod-http-ws.conf does not load the module"
    [ ! -e "$root/run/nginx.pid" ] \
        || fail "the install started nginx despite policy-rc.d"
}

configure_site() {
    local port=$1

    rm -f "$root/etc/nginx/sites-enabled/default"
    cat > "$root/etc/nginx/sites-available/ngx-ws" <<EOF
server {
    listen 127.0.0.1:$port;

    location /socket.io/ {
        ws_socketio;
        ws_namespace /news;
    }

    location = /_ws/push {
        allow 127.0.0.1;
        deny all;
        ws_push;
    }
}
EOF
    ln -s ../sites-available/ngx-ws "$root/etc/nginx/sites-enabled/ngx-ws"
    in_root nginx -t
}

serve_client() {
    local port=$1 log=$root/var/log/nginx/error.log

    in_root nginx
    nginx_pid=$(cat "$root/run/nginx.pid")
    say "nginx $nginx_pid on 127.0.0.1:$port"
    node "$here/e2e/deb-client.mjs" "http://127.0.0.1:$port"
    stop_nginx
    ! grep -E '\[(alert|crit|emerg)\]' "$log" \
        || fail "nginx logged the lines above"
}

# An nginx that provides another ABI (a future nginx upload): apt must not
# install it under the module.
abi_upgrade() {
    local repo=$root/tmp/abi-repo version

    version=$(in_root dpkg-query -W -f '${Version}' nginx)
    mkdir -p "$repo/nginx/DEBIAN" "$repo/lists/partial"
    cat > "$repo/nginx/DEBIAN/control" <<EOF
Package: nginx
Version: $version.1
Architecture: $(dpkg-deb -f "$deb" Architecture)
Maintainer: ngx_ws install test <dev@ngx-ws.invalid>
Provides: httpd, nginx-abi-0.0.0-0
Description: an nginx of another ABI, for the install test
EOF
    dpkg-deb -b "$repo/nginx" "$repo/nginx_$version.1.deb" > /dev/null
    (cd "$repo" && dpkg-scanpackages . > Packages 2> /dev/null)
    echo 'deb [trusted=yes] file:/tmp/abi-repo ./' > "$repo/abi.list"

    local apt=(apt-get -o Dir::Etc::SourceList=/tmp/abi-repo/abi.list
               -o Dir::Etc::SourceParts=/nonexistent
               -o Dir::State::Lists=/tmp/abi-repo/lists)
    in_root "${apt[@]}" update -qq
    in_root "${apt[@]}" -s upgrade > "$repo/upgrade.log"
    grep -A1 'kept back' "$repo/upgrade.log" | grep -qw nginx \
        || { cat "$repo/upgrade.log"; fail "apt upgrade did not keep nginx back"; }
    in_root "${apt[@]}" -s install nginx > "$repo/install.log"
    grep -q "^Remv $pkg " "$repo/install.log" \
        || { cat "$repo/install.log"; fail "installing nginx kept $pkg"; }
    say "an nginx without $abi: apt upgrade keeps it back," \
        "installing it removes $pkg"
}

[ -n "$abi" ] || fail "$deb does not depend on an nginx-abi-* package"
make_base
fresh_root
install_package
port=$(free_port)
configure_site "$port"
serve_client "$port"
abi_upgrade
say "ok"
