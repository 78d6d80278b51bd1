#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# wss:// through an ssl listener, with a certificate made at test time.
# Needs IO::Socket::SSL (Debian's libio-socket-ssl-perl) and openssl,
# both installed by make test: without them this file fails.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json missing);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

missing('IO::Socket::SSL (Debian package libio-socket-ssl-perl)')
    unless eval { require IO::Socket::SSL; 1 };

my $openssl = `command -v openssl 2>/dev/null`;
chomp $openssl;
missing('openssl (Debian package openssl)') unless $openssl;

my $p = $t->prefix;
system("$openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
       . " -keyout $p/key.pem -out $p/cert.pem >$p/openssl.log 2>&1") == 0
    or missing("a certificate from openssl req:\n"
               . $t->read_file('openssl.log'));

$t->write_conf(<<'EOF');
    server {
        listen 127.0.0.1:%%PORT%% ssl;
        ssl_certificate %%PREFIX%%/cert.pem;
        ssl_certificate_key %%PREFIX%%/key.pem;
        location /socket.io/ {
            ws_socketio;
            ws_namespace /chat;
            ws_max_payload 1000;
        }
    }
    server {
        listen 127.0.0.1:%%PORT2%%;
        location /_ws/push {
            ws_push;
        }
    }
EOF
$t->run;

my $port = $t->port(1);
my $SID = qr/[A-Za-z0-9_-]{20}/;

my $ws = NgxWs::WebSocket->new(port => $port, ssl => 1);
ok($ws, 'TLS connection');
is($ws && $ws->status, 101, 'wss: 101');
is($ws->header('sec-websocket-accept'),
   NgxWs::WebSocket::accept_for($ws->key), 'wss: Sec-WebSocket-Accept');
ok($ws->eio_open, 'wss: open packet');
like($ws->sio_connect('/chat') // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
     'wss: CONNECT /chat');

push_json($t->port(2), '{"nsp":"/chat","event":"tls","data":["x"]}');
is($ws->read_packet(5), '42/chat,["tls","x"]', 'wss: push received');

# A large push (many TLS records) arrives whole.
my $big = 'b' x 100000;
my ($bst, undef, $bbody) = push_json($t->port(2),
    qq({"nsp":"/chat","event":"big","data":["$big"]}));
is($bst, 200, "wss: 100 KB push accepted") or diag($bbody);
my $got = $ws->read_packet(5);
is(length($got // q()), length(qq(42/chat,["big","$big"])), "wss: 100 KB push: length");
is($got, qq(42/chat,["big","$big"]), "wss: 100 KB push");

$ws->send_ping('tls-ping');
my $f = $ws->read_frame(5);
is($f && $f->{payload}, 'tls-ping', 'wss: pong');

# Protocol errors get their codes over TLS too.
my $e = NgxWs::WebSocket->new(port => $port, ssl => 1);
$e->eio_open;
$e->sio_connect('/');
$e->send_text('x' x 1001);
is($e->wait_closed(10), 1009, 'wss: 1009 over ws_max_payload');

$ws->send_close(1000);
is($ws->wait_closed(5), 1000, 'wss: close echoed');

# Reload: 1001 over TLS.
my $r = NgxWs::WebSocket->new(port => $port, ssl => 1);
$r->eio_open;
$r->sio_connect('/');
my @old = $t->reload;
is($r->wait_closed(5), 1001, 'wss: 1001 on reload');
ok($t->wait_gone(\@old, 10), 'wss: old worker exits');

done_testing;
