#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Nothing of a hook call stays with the connection: each call lives in a
# pool of its own, freed when it ends.  A socket that sends 100,000 events
# through the event hook ends with the worker's memory where it was after
# its first 100 (the bound is generous: no timing, no exact figure).

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(server_conf);
use NgxWs::WebSocket;
use NgxWs::App;
use NgxWs::Abuse qw(vm_rss rss_ok worker_pid);

use constant EVENTS => 100_000;

my $t = NgxWs::Test->new->require_module;

my $app = NgxWs::App->start(log => '/dev/null',
    handler => sub {
        my ($req) = @_;
        my $j = $req->{json} // {};
        # the last one of a round asks for an ack
        return (200, ($j->{ack} ? '{"ack":["done"]}' : '{}'));
    });

my $upstream = "    upstream app {\n"
             . "        server 127.0.0.1:" . $app->port . ";\n"
             . "        keepalive 4;\n"
             . "    }\n";

$t->write_conf($upstream . server_conf(
    socketio => ['ws_hook_event /_hook/event', 'ws_ping_interval 300s'],
    locations => [
        '/_hook/' => ['internal', 'proxy_pass http://app/api/',
                      'proxy_http_version 1.1',
                      'proxy_set_header Connection ""']]));
$t->run;

my $pid = worker_pid($t);
my $ws = NgxWs::WebSocket->sio_open(port => $t->port) or die;

# n events, the last with an ack: when the ack is back, all were handled
sub round {
    my ($n, $id) = @_;
    my $frames = '';
    for my $i (1 .. $n - 1) {
        $frames .= NgxWs::WebSocket::build_frame(1, qq(42["e",$i]));
        if (length $frames > 65536) {
            $ws->send_raw($frames);
            $frames = '';
        }
    }
    $frames .= NgxWs::WebSocket::build_frame(1, qq(42${id}["e","last"]));
    $ws->send_raw($frames);
    return $ws->read_packet(600);
}

is(round(100, 1), '431["done"]', 'the first 100 events are handled');
my $before = vm_rss($pid);

is(round(EVENTS, 2), '432["done"]', '100,000 more are handled');
my $after = vm_rss($pid);

rss_ok($before, $after, 2048, '100,000 events through the event hook');

$app->stop;

done_testing;
