#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse of the long-polling transport: thousands of polling handshakes
# never followed (each a session with no connection), a POST of ten
# thousand packets, GETs for sids that do not exist, a session's GETs
# cancelled one after the other, payloads that are no Engine.IO.  What
# they get, that nothing stays behind, and that a client connected all
# along is served throughout.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;

use lib 't/lib';
use NgxWs::Test qw(http_request http_get server_conf wait_for);
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx health connections_are
                    good_client good_served);

my ($t, $port, $pid) = start_nginx(
    server_conf(push => 1, health => 1,
                # the abused location times out fast; the good client is
                # served by /socket.io/ and its defaults
                locations => ['/quick/' => ['ws_socketio',
                                            'ws_connect_timeout 1s',
                                            'ws_ping_interval 1s',
                                            'ws_ping_timeout 1s',
                                            'ws_max_payload 100000']]),
    worker_connections => 8192, rlimit_nofile => 9192);

my $P = '/quick/?EIO=4&transport=polling';
my $ERR1 = '{"code":1,"message":"Session ID unknown"}';

my $good = good_client($port, room => 1);

sub handshake {
    my (undef, undef, $body) = http_get($port, $P);
    my ($sid) = ($body // '') =~ /^0\{"sid":"([\w-]{20})"/;
    return $sid;
}

sub post {
    my ($sid, $body) = @_;
    return http_request($port, "POST $P&sid=$sid HTTP/1.1\r\n"
                               . "Host: localhost\r\nConnection: close\r\n"
                               . "Content-Type: text/plain;charset=UTF-8\r\n"
                               . "Content-Length: " . length($body)
                               . "\r\n\r\n$body");
}

# ------------------------------------------------------------ handshakes

{
    my $rss0 = vm_rss($pid);
    my $n = 0;

    for (1 .. 3000) {
        $n++ if defined handshake();
    }

    is($n, 3000, '3,000 polling handshakes, each answered');
    my $rss1 = vm_rss($pid);
    note(sprintf('3000 polling sessions with no request: +%d KB, %.2f KB '
                 . 'each', $rss1 - $rss0, ($rss1 - $rss0) / 3000));

    # no namespace, no GET: ws_connect_timeout closes them all, and the
    # close packet no GET takes goes with its session 10 s later
    # (engine.io waits 30 s)
    ok(connections_are($port, 1, 20),
       'all ended by ws_connect_timeout: only the good client is left');

    my $rss2 = vm_rss($pid);
    rss_ok($rss0, $rss2, 1024, 'after 3,000 abandoned polling sessions');
    good_served('after the abandoned sessions');
}

# ------------------------------------------------------------ payloads

{
    my $sid = handshake();
    my ($st, undef, $body) = post($sid, '40');
    is($body, 'ok', 'a session in /');
    http_get($port, "$P&sid=$sid");

    # ten thousand noops in one POST: read, answered ok, nothing kept
    ($st, undef, $body) = post($sid, join("\x1e", ('6') x 10000));
    is($st, 200, '10,000 packets in one POST: 200');
    is($body, 'ok', '10,000 packets in one POST: ok');

    # "b" and garbage base64: an Engine.IO parse error ends the session
    ($st, undef, $body) = post($sid, 'b!!!!' . ('A' x 50000));
    is($body, 'ok', 'bad base64: the POST is answered');
    ($st, undef, $body) = http_get($port, "$P&sid=$sid");
    is($body, $ERR1, 'bad base64: the session is gone');

    # a body over ws_max_payload: 413, and the session goes on
    $sid = handshake();
    ($st) = post($sid, '4' . ('x' x 100000));
    is($st, 413, 'a body over ws_max_payload: 413');
    ($st, undef, $body) = post($sid, '40');
    is($body, 'ok', 'the session goes on after the 413');

    good_served('after the payloads');
}

# ------------------------------------------------------------ sids

{
    my $bad = 0;
    for my $i (1 .. 1000) {
        my $sid = sprintf('%020d', $i);
        my ($st, undef, $body) = http_get($port, "$P&sid=$sid");
        $bad++ if ($st // 0) == 400 && $body eq $ERR1;
    }
    is($bad, 1000, '1,000 GETs with made-up sids: Session ID unknown each');

    # a session whose GETs are cancelled, again and again: the first
    # cancel ends it, the rest are refused
    my $sid = handshake();
    post($sid, '40');
    http_get($port, "$P&sid=$sid");

    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        print $s "GET $P&sid=$sid HTTP/1.1\r\nHost: localhost\r\n\r\n";
        close $s;
    }

    ok(wait_for(5, sub { (http_get($port, "$P&sid=$sid"))[2] eq $ERR1 }),
       '200 cancelled GETs: the session ended at the first');
    ok(connections_are($port, 1, 10), 'nothing left behind');
    good_served('after the cancelled GETs');
}

done_testing;
