#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: Socket.IO CONNECT in bulk.
#
#  - One connection, 10,000 CONNECTs: 5,000 connect/disconnect cycles to
#    a served namespace (each CONNECT answered with a fresh sid) and 5,000
#    CONNECTs to namespaces that are not served (CONNECT_ERROR
#    {"message":"Invalid namespace"} each, as socket.io answers).  The
#    worker's memory stays flat and the connection keeps working; a
#    second CONNECT to a namespace it has joined is a protocol error that
#    closes it (socket.io's Client closes on it too).
#  - 1,000 connections, 10 CONNECTs each to a namespace that is not
#    served: a CONNECT_ERROR for each of the 10,000, memory bounded, and
#    since none joined a namespace ws_connect_timeout still closes them
#    all (1000).
#
# A connected client gets its pushes throughout.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use NgxWs::Test qw(push_json server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx health connections_are
    good_client good_served upgrade_many send_all collect close_codes);

use constant CYCLES   => 5000;
use constant UNKNOWN  => 5000;
use constant BATCH    => 500;
use constant CONNS    => 1000;
use constant PER_CONN => 10;
use constant TIMEOUT  => 10;      # ws_connect_timeout, seconds

my $INVALID = '{"message":"Invalid namespace"}';

my ($t, $port, $pid) = start_nginx(server_conf(
    socketio => ['ws_namespace /chat',
                 'ws_connect_timeout ' . TIMEOUT . 's'],
    push => 1, health => 1));

my $good = good_client($port, nsps => ['/', '/chat'], nsp => '/chat',
                       room => 1);

# Reads $n packets (answering Engine.IO pings); returns them.
sub read_n {
    my ($ws, $n) = @_;
    my @p;
    while (@p < $n) {
        my $p = $ws->read_packet(10);
        last unless defined $p;
        push @p, $p;
    }
    return @p;
}

# ------------------------------------------- 10,000 CONNECTs, one connection

my $ws = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
ok($ws, 'the flooding client is connected to "/"');

my $rss0 = vm_rss($pid);
my $peak = $rss0;

{
    my (%sids, $bad);
    for (my $i = 0; $i < CYCLES; $i += BATCH) {
        $ws->send_raw(join '', map {
            NgxWs::WebSocket::build_frame(1, '40/chat,')
            . NgxWs::WebSocket::build_frame(1, '41/chat,')
        } 1 .. BATCH);
        for my $p (read_n($ws, BATCH)) {
            if ($p =~ m{^40/chat,\{"sid":"([^"]+)"\}\z}) {
                $sids{$1}++;
            } else {
                $bad++;
            }
        }
        my $rss = vm_rss($pid);
        $peak = $rss if $rss > $peak;
    }
    is(scalar keys %sids, CYCLES, CYCLES . ' connect/disconnect cycles to '
                                  . '/chat: a fresh sid for each CONNECT');
    ok(!$bad, 'and no other answer');
}

{
    my $ok = 0;
    for (my $i = 0; $i < UNKNOWN; $i += BATCH) {
        $ws->send_raw(join '', map {
            NgxWs::WebSocket::build_frame(1, "40/nope$_,")
        } $i .. $i + BATCH - 1);
        my @p = read_n($ws, BATCH);
        for my $k (0 .. $#p) {
            $ok++ if $p[$k] eq '44/nope' . ($i + $k) . ",$INVALID";
        }
        my $rss = vm_rss($pid);
        $peak = $rss if $rss > $peak;
    }
    is($ok, UNKNOWN, UNKNOWN . ' CONNECTs to namespaces not served: '
                     . 'CONNECT_ERROR "Invalid namespace" each, in order');
}

rss_ok($rss0, $peak, 1024, '10,000 CONNECTs on one connection');
{
    my $h = health($port);
    is_deeply($h->{namespaces}, { '/' => 2, '/chat' => 1 },
              'health: no socket left behind by the cycles')
        or diag(explain($h));
}
good_served('after 10,000 CONNECTs');

ok($ws->alive, 'the flooding connection still answers a ping');
{
    my $r = $ws->sio_connect('/chat');
    like($r // '', qr{^40/chat,\{"sid":}, 'and joins /chat once more');
    my ($st, $d) = push_json($port, '{"nsp":"/chat","event":"both"}');
    is($d && $d->{matched}, 2, 'a push to /chat matches it and the other '
                               . 'client');
    is($ws->read_packet(5), '42/chat,["both"]', 'it gets the push');
    is($good->read_packet(5), '42/chat,["both"]', 'the other client too');

    $ws->send_text('40/chat,');
    is($ws->wait_closed(5), 1000, 'a second CONNECT to a joined namespace '
                                  . 'closes the connection (1000)');
    ok($t->error_log =~ /invalid socket\.io packet/,
       'the error log says "invalid socket.io packet"');
}
good_served('after the protocol error');

# ------------------------------- 10,000 CONNECTs from 1,000 connections

{
    my $rss1 = vm_rss($pid);
    my @c = upgrade_many($port, CONNS);
    is(scalar @c, CONNS, CONNS . ' connections upgraded');

    my $frames = join '', map {
        NgxWs::WebSocket::build_frame(1, '40/unknown,')
    } 1 .. PER_CONN;
    is(send_all(\@c, $frames), CONNS,
       'each sends ' . PER_CONN . ' CONNECTs to /unknown');

    my $want = "44/unknown,$INVALID";
    my $done = collect(\@c, 30, sub {
        my ($c) = @_;
        return (grep { $_->{opcode} == 1 && $_->{payload} eq $want }
                @{$c->{frames}}) >= PER_CONN;
    });
    is($done, CONNS, 'every one gets ' . PER_CONN . ' CONNECT_ERRORs');
    my $other = grep { $_->{payload} ne $want }
                map { @{$_->{frames}} } @c;
    is($other, 0, 'and nothing else');

    my $rss2 = vm_rss($pid);
    rss_ok($rss1, $rss2, CONNS * 4 + 1024,
           CONNS * PER_CONN . ' CONNECT_ERRORs on ' . CONNS
           . ' connections (< 4 KB each)');
    is(health($port)->{connections}, CONNS + 1, 'health: all open');
    good_served('during the CONNECT flood');

    $_->{frames} = [] for @c;
    my %codes = close_codes(\@c, TIMEOUT + 20);
    is_deeply(\%codes, { 1000 => CONNS },
              'connect errors do not count as joining: ws_connect_timeout '
              . 'closes them all (1000)') or diag(explain(\%codes));
    ok(connections_are($port, 1, 10),
       'health: only the connected client is left');
}

good_served('at the end');

done_testing;
