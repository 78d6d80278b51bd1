#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: clients that never read while pushes flood them.  Each one is
# dropped once what waits for it passes ws_write_queue ("slow reader" in
# the error log), so the worker holds at most ws_write_queue (plus the
# message in flight) per such client: its RSS stays bounded while far
# more is pushed.  A client that reads gets every push, in order.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx connections_are);

use constant SLOW  => 20;            # clients that never read
use constant QUEUE => 256 * 1024;    # ws_write_queue
use constant PAD   => 32000;         # bytes per push

my ($t, $port, $pid) = start_nginx(server_conf(
    socketio => ['ws_write_queue ' . QUEUE],
    push => ['client_body_buffer_size 64k'],
    health => 1));

# Small receive buffers: the kernel takes little, the rest waits in nginx.
my @slow;
for (1 .. SLOW) {
    my $ws = NgxWs::WebSocket->new(port => $port, rcvbuf => 4096);
    next unless $ws && ($ws->status // 0) == 101 && $ws->eio_open;
    next unless ($ws->sio_connect('/') // '') =~ /^40\{/;
    push @slow, $ws;
}
is(scalar @slow, SLOW, SLOW . ' clients that will never read: connected');

my $good = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
ok($good, 'a client that reads: connected');

my $rss0 = vm_rss($pid);
my $peak = $rss0;

my $pad = 'p' x PAD;
my ($sent, $lost, $all_dropped) = (0, 0, 0);
my $bytes = 0;

# Pushes until every slow client is dropped and 24 MB were pushed in all
# (twice the RSS bound below, which unbounded queues would pass): the
# reader reads each push before the next one.
for my $i (1 .. 3000) {
    my ($st, $d) = push_json($port, qq({"event":"m","data":[$i,"$pad"]}));
    unless ($st && $st == 200) {
        fail("push $i: " . ($st // 'no answer'));
        last;
    }
    $sent = $i;
    $bytes += PAD;
    my $p = $good->read_packet(5);
    $lost++ unless defined $p && $p eq qq(42["m",$i,"$pad"]);

    my $rss = vm_rss($pid);
    $peak = $rss if $rss > $peak;

    $all_dropped ||= $i if $d->{matched} == 1;
    last if $all_dropped && $bytes >= 24_000_000;
}

ok($all_dropped, "every slow client dropped (by push $all_dropped)");
is($lost, 0, "the reading client got all $sent pushes, in order");
diag(sprintf('%d pushes of %d KB (%.1f MB to each of %d clients); worker '
             . 'RSS peak %+d KB', $sent, PAD / 1000, $bytes / 1e6, SLOW + 1,
             $peak - $rss0));

rss_ok($rss0, $peak, int(SLOW * (QUEUE + 2 * PAD) / 1024) + 4096,
       'RSS bounded by ws_write_queue per slow client');

{
    my $log = $t->error_log;
    my $n = () = $log =~ /ws: slow reader/g;
    is($n, SLOW, 'the error log says "slow reader" once per slow client');
}

ok(connections_are($port, 1, 5), 'health: only the reading client is left');

# What a slow client had been sent ends with its connection closed.
my $closed = 0;
for my $ws (@slow) {
    while ($ws->read_frame(5)) { }
    $closed++ if $ws->eof;
}
is($closed, SLOW, 'each slow client sees its stream end');

push_json($port, '{"event":"after"}');
is($good->read_packet(5), '42["after"]', 'the reading client is still served');
ok($good->alive, 'and answers a ping');

done_testing;
