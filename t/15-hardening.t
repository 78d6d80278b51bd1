#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Defects a review of the core found, each with the test that shows it:
# "\u0000" in names and event names, JSON nesting, what "matched" counts,
# the push body limit answered in JSON, zero times and sizes refused by
# nginx -t, codec reasons and state changes in the log.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json http_request server_conf wait_for);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

# a small fixed send buffer: what a client does not read stays queued
$t->write_conf(server_conf(
    listen => 'sndbuf=64k',
    socketio => ['ws_namespace /chat', 'ws_write_queue 64k'],
    push => ['client_max_body_size 16m', 'client_body_buffer_size 16m'],
    locations => ['/_ws/push-small' => ['ws_push',
                                        'client_max_body_size 100']]));
$t->run;

my $port = $t->port;

sub client {
    my (%o) = @_;
    my $ws = NgxWs::WebSocket->sio_open(port => $port, %o);
    die "client setup failed" unless $ws;
    return $ws;
}

sub push_to {
    my ($ws, $event) = @_;
    my $sid = $ws->sio_sid('/');
    my ($st, $d, $body) = push_json($port,
        qq({"event":"$event","rooms":"$sid"}));
    return $st == 200 ? $body : "$st $body";
}

# ------------------------------------------------- "\u0000" in event names

{
    # "connect\u0000" is not the reserved "connect": socket.io takes it as
    # an event; once it was compared as "connect" and closed the client
    my $ws = client();
    $ws->send_text('42["connect\u0000"]');
    is(push_to($ws, 'after'), '{"matched":1}', 'event "connect\u0000": '
       . 'the client is still there');
    is($ws->read_packet(5), '42["after"]',
       'event "connect\u0000": nothing but the next push arrives');
}

# ------------------------------------------------- "\u0000" in names

{
    my $ws = client(nsps => ['/chat']);
    my $sid = $ws->sio_sid('/chat');

    my ($st, $d) = push_json($port,
        qq({"op":"join","nsp":"/chat","rooms":"$sid","room":"user:1"}));
    is($st, 200, 'joined user:1');

    for my $case (
        ['rooms', qq({"event":"x","nsp":"/chat","rooms":"user:1\\u0000x"})],
        ['rooms', qq({"event":"x","nsp":"/chat","rooms":["a","user:1\\u0000"]})],
        ['except', qq({"event":"x","nsp":"/chat","except":"user:1\\u0000"})],
        ['nsp', qq({"event":"x","nsp":"/chat\\u0000"})],
        ['nsp', qq({"event":"x","nsp":"chat\\u0000x"})],
        ['room', qq({"op":"leave","nsp":"/chat","room":"user:1\\u0000x"})],
        ['room', qq({"op":"join","nsp":"/chat","room":["b","c\\u0000"]})])
    {
        my ($key, $json) = @$case;
        my ($st, $d, $body) = push_json($port, $json);
        is($st, 400, "$key with \\u0000: 400");
        is($d && $d->{error}, qq("$key" must not contain \\u0000),
           "$key with \\u0000: the reason");
    }

    # still in user:1 only (the refused leave and join did nothing), and
    # the refused emits sent nothing: the next packet is this one
    ($st, $d) = push_json($port,
        '{"event":"y","nsp":"/chat","rooms":"user:1","except":["b","c"]}');
    is($d && $d->{matched}, 1, 'still in user:1');
    is($ws->read_packet(5), '42/chat,["y"]', 'nothing else arrived');

    # an escape that is not NUL is decoded, as before
    ($st, $d) = push_json($port,
        '{"event":"z","nsp":"\\/chat","rooms":"user:\\u0031"}');
    is($d && $d->{matched}, 1, 'escaped names are decoded');
    is($ws->read_packet(5), '42/chat,["z"]', 'and reach the room');
}

# ------------------------------------------------- JSON nesting

sub nested {
    my ($depth) = @_;
    return ('[' x $depth) . (']' x $depth);
}

{
    # socket.io accepts a deep packet; 1000 levels are allowed in all
    my $ws = client();
    $ws->send_text('42["deep",' . nested(998) . ']');
    is(push_to($ws, 'after-deep'), '{"matched":1}',
       'a packet 1000 levels deep keeps the connection');
    is($ws->read_packet(5), '42["after-deep"]', 'and nothing else came');

    $ws->send_text('42["deeper",' . nested(1000) . ']');
    is($ws->wait_closed(5), 1000, 'a packet 1001 levels deep: close 1000');

    my $other = client();

    my ($st, $d) = push_json($port, '{"event":"d","rooms":"'
        . $other->sio_sid('/') . '","data":[' . nested(998) . ']}');
    is($st, 200, 'a push 1000 levels deep: 200');
    is($other->read_packet(5), '42["d",' . nested(998) . ']',
       'and delivered as written');

    ($st, $d) = push_json($port, '{"event":"d","data":['
                                 . nested(999) . ']}');
    is($st, 400, 'a push 1001 levels deep: 400');
    is($d && $d->{error}, 'body is not valid JSON', 'with its reason');

    ($st, $d) = push_json($port, '{"event":"d","data":['
                                 . nested(100_000) . ']}');
    is($st, 400, 'a push 100,000 levels deep: 400');
}

# ------------------------------------------------- matched

{
    # A client that reads nothing: the first big message waits in its
    # queue; the next one overflows ws_write_queue and is not queued, so
    # it is not counted.
    my $stuck = client(rcvbuf => 4096);
    my $ok = client();
    my $sid_stuck = $stuck->sio_sid('/');
    my $sid_ok = $ok->sio_sid('/');

    my $big = 'x' x (1024 * 1024);
    my ($st, $d) = push_json($port,
        qq({"event":"big","rooms":"$sid_stuck","data":["$big"]}));
    is($d && $d->{matched}, 1, 'big message queued for the stuck client');

    ($st, $d) = push_json($port,
        qq({"event":"small","rooms":["$sid_stuck","$sid_ok"]}));
    is($d && $d->{matched}, 1,
       'matched counts only the client the packet was queued to');
    is($ok->read_packet(5), '42["small"]', 'the reader got it');

    ok(wait_for(5, sub { $t->error_log =~ /slow reader/ }),
       'the stuck client was dropped as a slow reader');
}

# ------------------------------------------------- push body limit

{
    my $json = '{"event":"x","data":["' . ('a' x 200) . '"]}';

    my ($st, $d, $body, $h) = push_json($port, $json,
                                        path => '/_ws/push-small');
    is($st, 413, 'body over client_max_body_size: 413');
    like($h->{'content-type'} // '', qr{^application/json}, 'as JSON');
    is($d && $d->{error},
       'body is larger than client_max_body_size (100 bytes)',
       'with its reason');

    my $raw = "POST /_ws/push-small HTTP/1.1\r\nHost: x\r\n"
            . "Connection: close\r\nContent-Type: application/json\r\n"
            . "Transfer-Encoding: chunked\r\n\r\n";
    my ($st2, $h2, $body2) = http_request($port, $raw
        . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $json, $json));
    is($st2, 413, 'chunked body over client_max_body_size: 413');
    like($body2, qr/^\{"error":"body is larger than/, 'as JSON');

    my $small = '{"event":"x"}';
    ($st2, $h2, $body2) = http_request($port, $raw
        . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $small, $small));
    is($st2, 200, 'a small chunked body is still fine');
}

# ------------------------------------------------- nginx -t

sub nginx_t {
    my ($directive) = @_;
    return $t->conf_test(server_conf(socketio => [$directive], push => 1));
}

for my $d (qw(ws_ping_interval ws_ping_timeout ws_connect_timeout
              ws_send_timeout ws_max_payload ws_write_queue))
{
    my ($rc, $out) = nginx_t("$d 0");
    isnt($rc, 0, "nginx -t refuses $d 0");
    like($out, qr/"$d" directive must be greater than 0/,
         "$d 0: the message says why");
}

{
    my ($rc, $out) = nginx_t('ws_send_timeout 0s');
    isnt($rc, 0, 'nginx -t refuses ws_send_timeout 0s');
    ($rc, $out) = nginx_t('ws_connect_timeout 1');
    is($rc, 0, 'nginx -t takes ws_connect_timeout 1') or diag($out);
}

# ------------------------------------------------- worker_processes

# Until pushes crossed workers, more than one worker was warned about at
# start; now every worker serves (t/16-workers.t), and nothing is said.

{
    my $t2 = NgxWs::Test->new->require_module;
    $t2->write_conf(server_conf(push => 1), workers => 2);
    $t2->run;
    unlike($t2->error_log, qr/worker_processes/,
           'worker_processes 2: no warning any more');
    $t2->stop;
}

# ------------------------------------------------- debug log

{
    my $t3 = NgxWs::Test->new->require_module;
    $t3->write_conf(<<'EOF');
load_module %%MODULE%%;
daemon off;
worker_processes 1;
pid %%PREFIX%%/nginx.pid;
error_log %%PREFIX%%/error.log debug;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %%PREFIX%%/tmp/body;
    server {
        listen 127.0.0.1:%%PORT%%;
        location /socket.io/ { ws_socketio; }
        location /_ws/push { ws_push; }
    }
}
EOF
    $t3->run;

    my $port3 = $t3->port;
    my $ws = NgxWs::WebSocket->sio_open(port => $port3);
    my $sid = $ws->sid;
    my $id = $ws->sio_sid('/');
    push_json($port3, '{"event":"x"}');
    $ws->send_text('42{}');
    is($ws->wait_closed(5), 1000, 'a bad packet closes');

    my $bad = NgxWs::WebSocket->sio_open(port => $port3);
    my $bad_sid = $bad->sid;
    $bad->send_raw("\x81\x01x");        # not masked
    is($bad->wait_closed(5), 1002, 'an unmasked frame: 1002');

    ok(wait_for(5, sub { $t3->error_log =~ /\Q$bad_sid\E: finalized/ }),
       'the second session is finalized');

    my $log = $t3->error_log;
    for my $re (
        qr/ws handoff: 101 sent, request freed, session \Q$sid\E/,
        qr/ws session \Q$sid\E: started/,
        qr/ws socket \Q$id\E: connected to "\/"/,
        qr/ws apply: op 1 nsp "\/"/,
        qr/invalid socket\.io packet \(EVENT payload is no array\)/,
        qr/ws session \Q$sid\E: closing with 1000, parse error/,
        qr/ws: bad frame \(frame not masked\), closing with 1002/,
        qr/ws session \Q$bad_sid\E: closing with 1002, transport error/,
        qr/ws session \Q$sid\E: finalized/)
    {
        like($log, $re, "debug log: $re");
    }
    $t3->stop;
}

done_testing;
