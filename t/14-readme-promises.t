#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# What README's directive table promises and no other file checks: the
# directives given at http {} and server {} level reach the locations
# that do not set them, and "nginx -t" refuses what the table rules out
# (namespace names, zero ping values, a zero ws_max_payload, the endpoint
# directives outside a location) with a message that says why.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use NgxWs::Test qw(push_json server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

my $SID = qr/[A-Za-z0-9_-]{20}/;

# ------------------------------------------------------------ inheritance

# http {} sets the heartbeat, the payload limit, the connect timeout and a
# namespace; server 2 overrides some of them and adds its namespace;
# location /own/ of server 2 overrides the heartbeat again.
$t->write_conf(<<'CONF');
    ws_ping_interval 700ms;
    ws_ping_timeout 900ms;
    ws_max_payload 4321;
    ws_connect_timeout 1s;
    ws_namespace /from-http;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /socket.io/ {
            ws_socketio;
        }
        location = /_ws/push {
            ws_push;
        }
    }

    server {
        listen 127.0.0.1:%%PORT2%%;
        ws_ping_interval 1100ms;
        ws_max_payload 2222;
        ws_namespace /from-server;
        location /socket.io/ {
            ws_socketio;
        }
        location /own/ {
            ws_socketio;
            ws_ping_interval 1300ms;
        }
    }
CONF
$t->run;

my ($p1, $p2) = ($t->port(1), $t->port(2));

sub open_packet {
    my ($port, %o) = @_;
    my $ws = NgxWs::WebSocket->new(port => $port, %o);
    $ws->eio_open;
    return ($ws, $ws->open_raw // '');
}

{
    my ($ws, $open) = open_packet($p1);
    like($open, qr/^0\{"sid":"$SID","upgrades":\[\],"pingInterval":700,"pingTimeout":900,"maxPayload":4321\}\z/,
         'http level: ws_ping_interval, ws_ping_timeout, ws_max_payload '
         . 'in the open packet');
    like($ws->sio_connect('/from-http') // '',
         qr/^40\/from-http,\{"sid":"$SID"\}\z/,
         'http level: ws_namespace served by the location');
    is($ws->sio_connect('/from-server'),
       '44/from-server,{"message":"Invalid namespace"}',
       'http level: another server\'s namespace is not served here');

    my ($st, $d) = push_json($p1, '{"nsp":"/from-http","event":"e"}');
    is($d && $d->{matched}, 1, 'http level: push to its namespace');
    is($ws->read_packet(5), '42/from-http,["e"]',
       'http level: the push arrives');

    # ws_max_payload 4321 is enforced, not just advertised.
    $ws->send_text('42/from-http,["' . ('x' x 4400) . '"]');
    is($ws->wait_closed(5), 1009, 'http level: ws_max_payload, close 1009');
}

{
    # ws_connect_timeout 1s from http {}: no CONNECT, closed.
    my $since = time;
    my ($ws) = open_packet($p1);
    is($ws->wait_closed(5), 1000, 'http level: ws_connect_timeout closes');
    my $took = time - $since;
    ok($took >= 0.9 && $took < 5,
       sprintf('http level: after ws_connect_timeout (%.2f s)', $took));
}

{
    my ($ws, $open) = open_packet($p2);
    like($open, qr/^0\{"sid":"$SID","upgrades":\[\],"pingInterval":1100,"pingTimeout":900,"maxPayload":2222\}\z/,
         'server level: its values, the rest from http level');
    like($ws->sio_connect('/from-server') // '',
         qr/^40\/from-server,\{"sid":"$SID"\}\z/,
         'server level: ws_namespace served by the location');
    like($ws->sio_connect('/') // '', qr/^40\{"sid":"$SID"\}\z/,
         'server level: "/" is always served');
    $ws->send_text('42["' . ('x' x 2300) . '"]');
    is($ws->wait_closed(5), 1009, 'server level: ws_max_payload, close 1009');

    my ($own, $open2) = open_packet($p2,
        path => '/own/?EIO=4&transport=websocket');
    like($open2, qr/^0\{"sid":"$SID","upgrades":\[\],"pingInterval":1300,"pingTimeout":900,"maxPayload":2222\}\z/,
         'location level: its value over the server\'s');
    like($own->sio_connect('/from-server') // '',
         qr/^40\/from-server,\{"sid":"$SID"\}\z/,
         'location level: the server\'s namespace');
}

# ---------------------------------------------------------------- nginx -t

# A configuration with @directives at $level (http, server or location).
sub conf_with {
    my ($level, @directives) = @_;
    my $d = join '', map { "    $_;\n" } @directives;
    return $d . server_conf() if $level eq 'http';
    return "    server {\n        listen 127.0.0.1:%%PORT9%%;\n$d"
         . "        location /socket.io/ { ws_socketio; }\n    }\n"
        if $level eq 'server';
    return server_conf(socketio => \@directives);
}

sub conf_ok {
    my ($name, $level, @directives) = @_;
    my ($rc, $out) = $t->conf_test(conf_with($level, @directives));
    is($rc, 0, "nginx -t accepts $name") or diag($out);
    like($out, qr/test is successful/, "nginx -t accepts $name: says so");
}

sub conf_refused {
    my ($name, $re, $level, @directives) = @_;
    my ($rc, $out) = $t->conf_test(conf_with($level, @directives));
    isnt($rc, 0, "nginx -t refuses $name");
    like($out, $re, "nginx -t refuses $name: the message") or diag($out);
    like($out, qr/test failed/, "nginx -t refuses $name: test failed");
}

sub namespace_refused {
    my ($name, $value, $shown) = @_;
    for my $level (qw(http server location)) {
        conf_refused("ws_namespace $name ($level)",
                     qr/\[emerg\] invalid namespace "\Q$shown\E": it starts with "\/", has no ",", """ or "\\" and at most 255 characters/,
                     $level, "ws_namespace $value");
    }
}

conf_ok('the directives of the README', 'location',
        'ws_namespace /chat', 'ws_namespace /notifications',
        'ws_ping_interval 25s', 'ws_ping_timeout 20s',
        'ws_max_payload 1000000', 'ws_connect_timeout 45s',
        'ws_write_queue 1m', 'ws_send_timeout 60s');
conf_ok('a namespace of 255 characters', 'location',
        'ws_namespace /' . ('n' x 254));
conf_ok('"/" as a namespace', 'location', 'ws_namespace /');

namespace_refused('without the leading "/"', 'chat', 'chat');
namespace_refused('empty', '""', '');
namespace_refused('with ","', '/a,b', '/a,b');
namespace_refused('with \'"\'', q('/a"b'), '/a"b');
namespace_refused('with "\\"', '/a\\\\b', '/a\\b');
namespace_refused('of 256 characters', '/' . ('n' x 255), '/' . ('n' x 255));

# Zero at http {} and server {} level too (t/15-hardening.t has every
# time and size directive at location level).
for my $level (qw(http server)) {
    for my $d (qw(ws_ping_interval ws_ping_timeout ws_max_payload)) {
        conf_refused("$d 0 ($level)",
                     qr/\[emerg\] "$d" directive must be greater than 0/,
                     $level, "$d 0");
    }
}

# The contexts of the table: ws_socketio, ws_push and ws_health only in a
# location.
for my $d (qw(ws_socketio ws_push ws_health)) {
    conf_refused("$d in server {}",
                 qr/\[emerg\] "$d" directive is not allowed here/,
                 'server', $d);
}

done_testing;
