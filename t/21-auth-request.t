#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Handshake authentication the nginx way: auth_request in the socket.io
# location refuses the upgrade (401, 403) before any hook runs, and lets
# it through on 2xx.

use strict;
use warnings;

use Test::More;
use NgxWs::Test;
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%%;

        location /socket.io/ {
            ws_socketio;
            auth_request /auth;
        }

        location = /auth {
            internal;
            if ($http_cookie ~ "session=good") { return 204; }
            if ($http_cookie ~ "session=banned") { return 403; }
            return 401;
        }
    }
EOF
$t->run;

my $port = $t->port;

for my $case (['session=good', 101], ['session=bad', 401],
              ['session=banned', 403], [undef, 401])
{
    my ($cookie, $status) = @$case;
    my $ws = NgxWs::WebSocket->new(port => $port,
                                   headers => { Cookie => $cookie });
    is($ws && $ws->status, $status,
       'auth_request, cookie ' . ($cookie // 'none') . ": $status");
    if ($status == 101) {
        ok($ws->eio_open, 'and the session opens');
    }
}

done_testing;
