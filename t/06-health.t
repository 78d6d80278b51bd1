#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The health endpoint: its JSON, and the counts as clients come and go.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(get_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(socketio => ['ws_namespace /chat'], health => 1));
$t->run;

my $port = $t->port;

sub health {
    my ($st, $d, $body, $h) = get_json($port, '/health');
    return $d;
}

# Waits until the counts are as expected (closing is asynchronous).
sub counts_are {
    my ($conns, $root, $chat, $name) = @_;
    my $d;
    my $ok = wait_for(5, sub {
        $d = health();
        $d && $d->{connections} == $conns
           && $d->{namespaces}{'/'} == $root
           && $d->{namespaces}{'/chat'} == $chat;
    });
    ok($ok, "$name: connections $conns, / $root, /chat $chat")
        or diag(explain($d));
}

{
    my ($st, $d, $body, $h) = get_json($port, '/health');
    is($st, 200, 'health: 200');
    like($h->{'content-type'} // '', qr{^application/json}, 'health: JSON');
    like($body, qr/^\{"status":"ok","pid":\d+,"uptime":\d+,"connections":0,"namespaces":\{"\/":0,"\/chat":0\},"workers":\[\{"pid":\d+,"connections":0,"namespaces":\{"\/":0,"\/chat":0\}\}\],"version":"\d+\.\d+\.\d+"\}\z/,
         'health: exact fields, in order');
    my @w = $t->worker_pids;
    is($d->{pid}, $w[0], 'health: pid is the worker');
    ok($d->{uptime} >= 0 && $d->{uptime} < 60, 'health: uptime in seconds');
}

counts_are(0, 0, 0, 'idle');

my $e = NgxWs::WebSocket->new(port => $port);
$e->eio_open;
counts_are(1, 0, 0, 'Engine.IO only');

my $a = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/', '/chat']);
my $b = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
counts_are(3, 2, 1, 'two Socket.IO clients');

# A refused namespace counts nowhere.
$e->sio_connect('/nope');
counts_are(3, 2, 1, 'after CONNECT_ERROR');

$a->sio_disconnect('/chat');
counts_are(3, 2, 0, 'a left /chat');

$b->send_close(1000);
is($b->wait_closed(5), 1000, 'b: close 1000 echoed');
counts_are(2, 1, 0, 'b closed');

$e->close;
counts_are(1, 1, 0, 'e dropped (TCP only)');

# A protocol error takes the socket out at once.
$a->send_text('x', mask => 0);
is($a->wait_closed(5), 1002, 'a: unmasked frame, close 1002');
counts_are(0, 0, 0, 'a failed');

# Plain GETs on a busy worker too.
my @many = map { NgxWs::WebSocket->sio_open(port => $port,
                                            nsps => ['/chat']) } 1 .. 20;
counts_are(20, 0, 20, '20 clients on /chat');
$_->close for @many;
counts_are(0, 0, 0, 'all gone');

{
    my ($st, $d) = get_json($port, '/health');
    ok($d->{uptime} >= 0, 'uptime still a number');
}

done_testing;
