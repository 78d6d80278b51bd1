#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# ws_send_timeout: a client that stops reading while its queue is still
# far under ws_write_queue is closed once writing to it has made no
# progress for ws_send_timeout (the error log says "client timed out
# reading"); the others are not affected.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use NgxWs::Test qw(get_json push_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

my $TIMEOUT = 3;    # ws_send_timeout, seconds

$t->write_conf(server_conf(
    socketio => ['ws_write_queue 100m', "ws_send_timeout ${TIMEOUT}s"],
    push => ['client_body_buffer_size 128k'], health => 1));
$t->run;

my $port = $t->port;

my $stuck = NgxWs::WebSocket->new(port => $port, rcvbuf => 4096);
$stuck->eio_open;
like($stuck->sio_connect('/') // '', qr/^40\{/, 'stuck client: connected');

my $good = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
ok($good, 'good client: connected');

# Fill the socket buffers (8 MB, more than loopback buffers hold), then
# stop pushing: 8 MB stays far under 100m, so only the send timeout can
# end the stuck client.  Nothing can be written to it before the first
# push: its send timer starts after $start.
my $pad = 'p' x 80000;
my $lost = 0;
my $start = time;
for my $i (1 .. 100) {
    push_json($port, qq({"event":"m","data":[$i,"$pad"]}));
    my $p = $good->read_packet(5);
    $lost++ unless defined $p && $p eq qq(42["m",$i,"$pad"]);
}
my $filled = time;
is($lost, 0, 'the good client got every message');

my $d;
ok(wait_for($TIMEOUT + 10, sub {
    (undef, $d) = get_json($port, '/health');
    $d && $d->{connections} == 1;
}), 'the stalled client is closed') or diag(explain($d));
my $closed = time;

# Not before ws_send_timeout had passed since the first push, and not
# long after it had passed since the last (generous slack: this is no
# performance measure).
ok($closed - $start >= $TIMEOUT - 0.1,
   sprintf('closed %.2f s after the first push: not before '
           . 'ws_send_timeout (%d s)', $closed - $start, $TIMEOUT));
ok($closed - $filled <= $TIMEOUT + 5,
   sprintf('closed %.2f s after the last push: within ws_send_timeout '
           . '(+5 s slack)', $closed - $filled));

my $TIMED_OUT = qr/\[info\] .*ws: client timed out reading, closing/;
ok(wait_for(5, sub { $t->error_log =~ $TIMED_OUT }),
   'the error log says "client timed out reading"');
is(scalar(grep { /$TIMED_OUT/ } split /^/, $t->error_log), 1,
   'one such line: the stuck client alone timed out');
unlike($t->error_log, qr/slow reader/, 'no "slow reader": the queue bound '
                                       . 'did not close it');

{
    my ($st, $r) = push_json($port, '{"event":"after"}');
    is($r && $r->{matched}, 1, 'only the good client is matched');
    is($good->read_packet(5), '42["after"]', 'the good client is served');
}

# What the stuck client had received ends with the TCP close and no close
# frame: the server could not write one.
{
    my ($n, @close) = (0);
    while (my $f = $stuck->read_frame(10)) {
        $n++;
        push @close, $f if $f->{opcode} == NgxWs::WebSocket::OP_CLOSE;
    }
    ok($stuck->eof, "stuck client: TCP closed (after $n frames)");
    is(scalar @close, 0, 'stuck client: no close frame');
}

done_testing;
