#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# ws_send_timeout: a client that stops reading while its queue is still
# far under ws_write_queue is closed once writing to it has made no
# progress for ws_send_timeout; the others are not affected.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(get_json push_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(
    socketio => ['ws_write_queue 100m', 'ws_send_timeout 1s'],
    push => 1, health => 1));
$t->run;

my $port = $t->port;

my $stuck = NgxWs::WebSocket->new(port => $port, rcvbuf => 4096);
$stuck->eio_open;
like($stuck->sio_connect('/') // '', qr/^40\{/, 'stuck client: connected');

my $good = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
ok($good, 'good client: connected');

# Fill the socket buffers (8 MB, more than loopback buffers hold), then
# stop pushing: 8 MB stays far under 100m, so only the send timeout can
# end the stuck client.
my $pad = 'p' x 8000;
my $lost = 0;
for my $i (1 .. 1000) {
    push_json($port, qq({"event":"m","data":[$i,"$pad"]}));
    my $p = $good->read_packet(5);
    $lost++ unless defined $p && $p eq qq(42["m",$i,"$pad"]);
}
is($lost, 0, 'the good client got every message');

my $d;
ok(wait_for(15, sub {
    (undef, $d) = get_json($port, '/health');
    $d && $d->{connections} == 1;
}), 'the stalled client is closed (send timeout) within 15 s')
    or diag(explain($d));

{
    my ($st, $r) = push_json($port, '{"event":"after"}');
    is($r && $r->{matched}, 1, 'only the good client is matched');
    is($good->read_packet(5), '42["after"]', 'the good client is served');
}

# What the stuck client had received ends with the stream closed.
{
    my $n = 0;
    while ($stuck->read_frame(10)) {
        $n++;
    }
    ok($stuck->eof, "stuck client: connection closed (after $n frames)");
}

done_testing;
