#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: frames of one byte each, forever.
#
#  - A fragmented message of 1-byte continuation frames: the reassembly
#    buffer never exceeds ws_max_payload; one byte more closes with 1009.
#  - Empty continuation frames: the message never grows, and a client in
#    the middle of a message cannot answer Engine.IO pings, so the
#    heartbeat closes it (ws_ping_interval + ws_ping_timeout).
#  - A million 1-byte messages (Engine.IO noop "6"): each is handled and
#    forgotten; no memory growth, the connection stays healthy.
#
# Meanwhile a connected client gets every push and answers pings.

use strict;
use warnings;

use Test::More;
use IO::Select;
use Time::HiRes qw(time);
use NgxWs::Test qw(push_json server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx connections_are good_client
    good_served);

use constant MAX_PAYLOAD => 1000000;    # the default ws_max_payload
use constant ATTACKERS   => 5;

my ($t, $port, $pid) = start_nginx(server_conf(
    push => 1, health => 1,
    locations => ['/hb/' => ['ws_socketio', 'ws_ping_interval 2s',
                             'ws_ping_timeout 2s']]));

my $good = good_client($port, room => 1);

# Frames with a zero mask key: the same bytes every time, built once.
sub frames {
    my ($opcode, $payload, $n, %o) = @_;
    return NgxWs::WebSocket::build_frame($opcode, $payload,
                                         mask_key => "\0\0\0\0", %o) x $n;
}

sub close_frame_of {
    my ($ws) = @_;
    while (my $f = $ws->read_frame(0)) {
        return NgxWs::WebSocket::close_code($f) if $f->{opcode} == 8;
    }
    return undef;
}

# ----------------------------------- 1-byte continuation frames, forever

{
    my $rss0 = vm_rss($pid);
    my $peak = $rss0;
    my @a;
    for (1 .. ATTACKERS) {
        my $ws = $t->eio_client;
        # a text message that is never finished: "4" then "a", "a", ...
        $ws->send_frame(1, '4', fin => 0);
        push @a, { ws => $ws, sent => 1 };
    }

    my $chunk_n = 10000;
    my $chunk = frames(0, 'a', $chunk_n, fin => 0);
    my $end = time + 60;
    while (time < $end && grep { !defined $_->{code} } @a) {
        for my $x (grep { !defined $_->{code} } @a) {
            if ($x->{sent} <= MAX_PAYLOAD + $chunk_n) {
                $x->{ws}->send_raw($chunk) and $x->{sent} += $chunk_n;
            }
            my $code = close_frame_of($x->{ws});
            $x->{code} = $code if defined $code;
            $x->{code} = 'eof' if $x->{ws}->eof && !defined $x->{code};
        }
        my $rss = vm_rss($pid);
        $peak = $rss if $rss > $peak;
        # all sent: only the answer is awaited
        IO::Select->new(map { $_->{ws}->sock } @a)->can_read(0.05)
            unless grep { $_->{sent} <= MAX_PAYLOAD + $chunk_n } @a;
    }

    is_deeply([map { $_->{code} } @a], [(1009) x ATTACKERS],
              ATTACKERS . ' messages of 1-byte frames: close 1009 each');
    my @sent = sort { $a <=> $b } map { $_->{sent} } @a;
    cmp_ok($sent[0], '>', MAX_PAYLOAD,
           "each had sent more than ws_max_payload ($sent[0] bytes in "
           . "1-byte frames)");
    rss_ok($rss0, $peak,
           int(ATTACKERS * 2 * MAX_PAYLOAD / 1024) + 2048,
           'reassembly bounded by ws_max_payload per connection');
    diag(sprintf('%d x %d 1-byte frames: worker RSS peak %+d KB',
                 ATTACKERS, $sent[0], $peak - $rss0));
    $_->{ws}->close for @a;
}
good_served('after 1-byte continuation frames');

# ----------------------------------- empty continuation frames, forever

{
    my $rss0 = vm_rss($pid);
    my $ws = $t->eio_client(undef, path => '/hb/?EIO=4&transport=websocket');
    $ws->send_frame(1, '4', fin => 0);
    my $chunk = frames(0, '', 1000, fin => 0);
    my ($sent, $code, $pings) = (0, undef, 0);
    my $start = time;
    while (time - $start < 20) {
        $ws->send_raw($chunk) and $sent += 1000;
        while (my $f = $ws->read_frame(0.01)) {
            $pings++ if $f->{opcode} == 1 && $f->{payload} eq '2';
            if ($f->{opcode} == 8) {
                $code = NgxWs::WebSocket::close_code($f);
                last;
            }
        }
        last if defined $code || $ws->eof;
    }
    my $took = time - $start;
    is($code, 1000, "empty continuation frames ($sent): closed with 1000");
    is($pings, 1, 'after one unanswerable Engine.IO ping');
    cmp_ok($took, '>=', 3, sprintf('not before ping interval + timeout '
                                   . '(%.1f s)', $took));
    ok($t->error_log =~ /ping timeout/, 'the error log says "ping timeout"');
    rss_ok($rss0, vm_rss($pid), 1024, 'empty continuation frames');
    $ws->close;
}
good_served('after empty continuation frames');

# ----------------------------------- a million 1-byte messages

{
    my $ws = $t->sio_client;
    my $rss0 = vm_rss($pid);
    my $peak = $rss0;
    my $chunk = frames(1, '6', 10000);      # Engine.IO noop
    my $sent = 0;
    for my $i (1 .. 100) {
        $ws->send_raw($chunk) or last;
        $sent += 10000;
        if ($i % 25 == 0) {
            my $rss = vm_rss($pid);
            $peak = $rss if $rss > $peak;
            good_served("during 1-byte messages ($sent sent)");
        }
    }
    is($sent, 1_000_000, 'a million 1-byte noop messages sent');
    ok($ws->alive(10), 'that connection is still served (ping, pong)');
    my $rss = vm_rss($pid);
    $peak = $rss if $rss > $peak;
    rss_ok($rss0, $peak, 1024, 'a million 1-byte messages');

    my ($st, $d) = push_json($port, '{"event":"x"}');
    is($d && $d->{matched}, 2, 'both clients are still in "/"');
    is($ws->read_packet(5), '42["x"]', 'the sender still gets pushes');
    is($good->read_packet(5), '42["x"]', 'and so does the other client');
    $ws->close;
}

ok(connections_are($port, 1, 5), 'health: only the connected client is left');

done_testing;
