#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: WebSocket pings of 0 and 1 byte, sent forever by a client that
# never reads the pongs.  Every pong is queued for it, so it is a slow
# reader: dropped once ws_write_queue (the default, 1m) is exceeded, and
# the worker's memory grows by no more than about that much meanwhile
# (2 x ws_write_queue + 1 MB of slack), however small the pongs are.
# Another client is served throughout.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx good_client good_served);

use constant QUEUE => 1024 * 1024;    # ws_write_queue's default

for my $size (0, 1) {
    # Each case on an nginx of its own: freed memory that the worker keeps
    # would hide the second case's growth.
    my ($t, $port, $pid) = start_nginx(server_conf(push => 1, health => 1));
    good_client($port, room => 1, alive => 'and nothing else came');
    my $name = "$size-byte pings, pongs never read";
    my $rss0 = vm_rss($pid);
    my $peak = $rss0;
    my $ws = NgxWs::WebSocket->new(port => $port, rcvbuf => 4096);
    $ws->eio_open;
    like($ws->sio_connect('/') // '', qr/^40\{/, "$name: connected");

    my $chunk = NgxWs::WebSocket::build_frame(9, 'x' x $size,
                                              mask_key => "\0\0\0\0")
                x 10000;
    my $sent = 0;
    # 8 million pings at most: 16 MB of pongs and more, well past 1m
    while ($sent < 8_000_000) {
        last unless $ws->send_raw($chunk);
        $sent += 10000;
        my $rss = vm_rss($pid);
        $peak = $rss if $rss > $peak;
        good_served("$name, $sent sent") if $sent % 1_000_000 == 0;
    }
    ok($ws->{write_error}, "$name: the server stopped reading after "
                           . "$sent pings");
    my $n = () = $t->error_log =~ /ws: slow reader/g;
    is($n, 1, qq($name: dropped as a "slow reader"));
    diag(sprintf('%s: worker RSS peak %+d KB for ws_write_queue %d KB',
                 $name, $peak - $rss0, QUEUE / 1024));
    rss_ok($rss0, $peak, 2 * QUEUE / 1024 + 1024,
           "$name: memory bounded by ws_write_queue");
    $ws->close;
    good_served("after $name");
    $t->finish;
}

done_testing;
