#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Polling sessions on 4 workers with reuseport, every request on a
# connection of its own: the kernel spreads them, so most requests of a
# session land on a worker that does not own it and are relayed through
# the log (src/ngx_ws_relay.c).  Handshake, POST, a GET answered by a
# push, a cancelled GET, the upgrade with its WebSocket on any worker, a
# polling request after it; also under ASan, where the relay's memory
# handling is checked.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);

use lib 't/lib';
use NgxWs::Test qw(http_request http_get push_json get_json server_conf
                   wait_for);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;
$t->write_conf(server_conf(listen => 'reuseport', push => 1, health => 1),
               workers => 4);
$t->run;

my $port = $t->port;
my $P = '/socket.io/?EIO=4&transport=polling';
my $ERR1 = '{"code":1,"message":"Session ID unknown"}';
my $ERR3 = '{"code":3,"message":"Bad request"}';

sub get {
    my ($sid) = @_;
    return http_get($port, "$P&sid=$sid");
}

sub post {
    my ($sid, $body) = @_;
    return http_request($port, "POST $P&sid=$sid HTTP/1.1\r\n"
                               . "Host: localhost\r\nConnection: close\r\n"
                               . "Content-Type: text/plain;charset=UTF-8\r\n"
                               . "Content-Length: " . length($body)
                               . "\r\n\r\n$body");
}

# a GET left waiting on a connection of its own
sub start_get {
    my ($sid) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp') or die "connect: $!";
    print $s "GET $P&sid=$sid HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n";
    return $s;
}

sub finish_get {
    my ($s) = @_;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $end = time + 5;
    while (time < $end && $sel->can_read($end - time)) {
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    return (NgxWs::Test::parse_http_response($buf))[2] // '';
}

# ------------------------------------------------------------ sessions

my $N = 40;
my @sid;

for my $i (1 .. $N) {
    my ($st, undef, $body) = http_get($port, $P);
    my ($sid) = ($body // '') =~ /^0\{"sid":"([\w-]{20})"/;
    push @sid, $sid;
}

is(scalar(grep { defined } @sid), $N, "$N handshakes");

my $connected = 0;
for my $sid (@sid) {
    my (undef, undef, $ok) = post($sid, '40');
    my (undef, undef, $body) = get($sid);
    $connected++ if $ok eq 'ok' && $body =~ /^40\{"sid":"[\w-]{20}"\}\z/;
}
is($connected, $N, 'every POST "40" ok, every GET the CONNECT reply');

my (undef, $h) = get_json($port, '/health');
is($h->{connections}, $N, '/health: the sessions, once each');
ok((grep { $_->{connections} > 0 } @{$h->{workers}}) >= 2,
   'owned by more than one worker');

# ------------------------------------------------------------ pushes

{
    my @gets = map { start_get($_) } @sid;
    sleep 0.3;
    my ($st, $d) = push_json($port, '{"event":"all","data":[1,"é"]}');
    is($st, 200, 'push to all');

    my $got = 0;
    $got += (finish_get($_) eq '42["all",1,"é"]') for @gets;
    is($got, $N, 'every waiting GET, wherever held, got the push');
}

{
    # a POST with two packets, relayed or not; then a GET takes the ping
    # answer nothing: the session goes on
    my $ok = 0;
    for my $sid (@sid) {
        my (undef, undef, $body) = post($sid, "40/nope,\x1e3");
        $ok++ if $body eq 'ok';
    }
    is($ok, $N, 'POSTs of two packets: ok');

    my $err = 0;
    for my $sid (@sid) {
        my (undef, undef, $body) = get($sid);
        $err++ if $body eq '44/nope,{"message":"Invalid namespace"}';
    }
    is($err, $N, 'the CONNECT error of each, by its next GET');
}

# ------------------------------------------------------------ cancel

{
    my @gone = splice @sid, 0, 5;
    for my $sid (@gone) {
        my $s = start_get($sid);
        sleep 0.1;
        close $s;
    }

    for my $sid (@gone) {
        ok(wait_for(5, sub { (get($sid))[2] eq $ERR1 }),
           'a cancelled GET, wherever held, ends its session');
    }
}

# ------------------------------------------------------------ upgrade

{
    my @up = splice @sid, 0, 10;
    my @ws;

    for my $sid (@up) {
        my $get = start_get($sid);
        my $ws = NgxWs::WebSocket->new(port => $port,
            path => "/socket.io/?EIO=4&transport=websocket&sid=$sid");
        is($ws && $ws->status, 101, 'upgrade: 101');
        $ws->send_text('2probe');
        is($ws->read_packet(5), '3probe', 'upgrade: 3probe');
        is(finish_get($get), '6', 'upgrade: the waiting GET gets a noop');
        $ws->send_text('5');
        push @ws, $ws;
    }

    for my $sid (@up) {
        ok(wait_for(5, sub { (get($sid))[2] eq $ERR3 }),
           'after the upgrade: a polling GET gets Bad request');
    }

    my ($st) = push_json($port, '{"event":"ws","data":[2]}');
    is($st, 200, 'push after the upgrades');
    my $got = 0;
    $got += (($_->read_packet(5) // '') eq '42["ws",2]') for @ws;
    is($got, 10, 'every upgraded session gets it on its WebSocket');

    # a packet from the client, wherever its WebSocket is: a CONNECT
    my $ok = 0;
    for my $ws (@ws) {
        $ws->send_text('40/nope,');
        $ok++ if ($ws->read_packet(5) // '')
                 eq '44/nope,{"message":"Invalid namespace"}';
    }
    is($ok, 10, 'a CONNECT sent on the WebSocket is answered on it');

    $_->close for @ws;
    for my $sid (@up) {
        ok(wait_for(5, sub { (get($sid))[2] eq $ERR1 }),
           'the WebSocket closed: the session is gone');
    }
}

# ------------------------------------------------------------ reload

{
    # what was pushed to all meanwhile is taken first
    my $drained = 0;
    for my $sid (@sid) {
        my (undef, undef, $body) = get($sid);
        $drained++ if $body eq '42["ws",2]';
    }
    is($drained, scalar @sid, 'the polling sessions got the push too');

    my @gets = map { start_get($_) } @sid;
    sleep 0.3;
    $t->reload;

    my $got = 0;
    for my $g (@gets) {
        my $b = finish_get($g);
        $got++ if $b eq '1';
        diag("reload: got '$b'") unless $b eq '1';
    }
    is($got, scalar @sid, 'a reload: every waiting GET gets the close packet');
}

done_testing;
