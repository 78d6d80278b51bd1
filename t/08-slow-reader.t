#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A client that never reads while pushes flood it is disconnected once its
# write queue passes ws_write_queue, with an error-log line; a client on
# the same worker that reads gets every message; the worker survives.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(get_json push_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(socketio => ['ws_write_queue 64k'],
                           push => 1, health => 1));
$t->run;

my $port = $t->port;
my @workers = $t->worker_pids;

# The slow one has a small receive buffer, so that the kernel buffers
# fill quickly and the rest has to wait in nginx.
my $slow = NgxWs::WebSocket->new(port => $port, rcvbuf => 4096);
ok($slow && $slow->status == 101, 'slow reader: upgraded');
$slow->eio_open;
like($slow->sio_connect('/') // '', qr/^40\{/, 'slow reader: connected');

my $good = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
ok($good, 'good reader: connected');

my $pad = 'p' x 8000;
my ($sent, $lost, $dropped) = (0, 0, 0);

# Up to 4000 pushes of 8 KB (32 MB, well past any socket buffers): the
# good reader reads each one before the next push; stop soon after the
# slow one is gone.
for my $i (1 .. 4000) {
    my ($st, $d) = push_json($port,
        qq({"event":"m","data":[$i,"$pad"]}));
    unless ($st && $st == 200) {
        fail("push $i: " . ($st // 'no answer'));
        last;
    }
    $sent = $i;
    my $p = $good->read_packet(5);
    $lost++ unless defined $p && $p eq qq(42["m",$i,"$pad"]);

    if (!$dropped && $d->{matched} == 1) {
        $dropped = $i;
    }
    last if $dropped && $i >= $dropped + 50;
}

ok($dropped, "the slow reader was dropped (after push $dropped of $sent)");
is($lost, 0, "the good reader got all $sent messages, in order");

my $SLOW = qr/\[warn\] .*ws: slow reader, (\d+) bytes queued over ws_write_queue 65536, closing/;
ok(wait_for(5, sub { $t->error_log =~ $SLOW }),
   'the error log says "slow reader" (warn)');
is(scalar(grep { /$SLOW/ } split /^/, $t->error_log), 1,
   'one slow reader line: the slow reader alone was dropped');
{
    my ($queued) = $t->error_log =~ $SLOW;
    ok($queued && $queued > 65536, "queued $queued bytes, over 64k");
}

{
    my $d;
    ok(wait_for(5, sub {
        (undef, $d) = get_json($port, '/health');
        $d && $d->{connections} == 1;
    }), 'health: only the good reader is left') or diag(explain($d));
}

# The slow one sees its stream end once it reads what was queued: the
# server dropped the TCP connection without a close frame, as it could
# not write one (there is no room for it).
{
    my ($n, @close) = (0);
    while (my $f = $slow->read_frame(10)) {
        $n++;
        push @close, $f if $f->{opcode} == NgxWs::WebSocket::OP_CLOSE;
    }
    ok($slow->eof, "slow reader: TCP closed (after $n frames)");
    is(scalar @close, 0, 'slow reader: no close frame');
}

# The worker survived and serves.
is_deeply([$t->worker_pids], \@workers, 'the worker survived');
push_json($port, '{"event":"after"}');
is($good->read_packet(5), '42["after"]', 'the good reader is still served');

my $new = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
ok($new, 'a new client connects');

done_testing;
