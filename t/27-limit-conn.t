#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# ws_limit_conn_per_ip: Engine.IO sessions per client address, for the
# whole host, on 4 workers with reuseport (a client's connections land
# on any of them).  Exactly N sessions of one address, WebSocket and
# polling alike; the next handshake gets 429 with engine.io's JSON;
# another address is not affected; the requests of a session (its polls,
# its upgrade) take no place; a session gives its place back when it
# ends, however it ends (a close, a "1" in a POST, the connect timeout
# of an abandoned poll, a worker killed with SIGKILL); no count and no
# zone entry is left after many connects and disconnects; an IPv4 client
# on a dual-stack listener is its IPv4 address, ::1 another.  Also under
# ASan.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Socket::IP;
use IO::Select;
use Time::HiRes qw(sleep time);

use lib 't/lib';
use NgxWs::Test qw(get_json wait_for parse_http_response);
use NgxWs::WebSocket;

my $L = 6;
my $P = '/socket.io/?EIO=4&transport=polling';
my $OVER = '{"code":4,"message":"Too many connections"}';

my $t = NgxWs::Test->new->require_module;

# ------------------------------------------------------------ nginx -t

for my $bad ('0', '-1', 'many', '3 4') {
    my ($rc, $out) = $t->conf_test(
        "server { listen 127.0.0.1:%%PORT%%; location /socket.io/ {"
        . " ws_socketio; ws_limit_conn_per_ip $bad; } }");
    isnt($rc, 0, "ws_limit_conn_per_ip $bad: refused by nginx -t");
}

{
    my ($rc, $out) = $t->conf_test(
        "ws_limit_conn_per_ip 10;\n"
        . "server { listen 127.0.0.1:%%PORT%%; location /socket.io/ {"
        . " ws_socketio; ws_limit_conn_per_ip off; } }");
    is($rc, 0, 'ws_limit_conn_per_ip in http, off in a location') or diag($out);
}

# ------------------------------------------------------------ nginx

# The whole configuration: debug_connection shows the zone's entries for
# one address (127.0.0.9) only.  An abandoned poll ends after 1 s.
$t->write_conf(<<'EOF', workers => 4);
load_module %%MODULE%%;
daemon off;
master_process on;
worker_processes 4;
pid %%PREFIX%%/nginx.pid;
error_log %%PREFIX%%/error.log info;

events {
    worker_connections 4096;
    debug_connection 127.0.0.9;
}

http {
    access_log off;
    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;

    server {
        listen 127.0.0.1:%%PORT%% reuseport;
        listen [::]:%%PORT2%% ipv6only=off;

        location /socket.io/ {
            ws_socketio;
            ws_limit_conn_per_ip 6;
            ws_connect_timeout 1s;
        }

        location = /health {
            ws_health;
        }
    }
}
EOF
$t->expect_log(qr/worker process \d+ exited on signal 9/);
$t->run;

my $port = $t->port;

# ------------------------------------------------------------ clients

# A raw HTTP exchange from a given address (to 127.0.0.1:port, or with
# $to = [host, port] elsewhere): (status, headers, body).
sub req {
    my ($local, $raw, $to) = @_;
    my $s = $to
        ? IO::Socket::IP->new(PeerHost => $to->[0], PeerPort => $to->[1],
                              Proto => 'tcp', Timeout => 5)
        : IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                LocalAddr => $local, Proto => 'tcp',
                                Timeout => 5);
    return unless $s;
    $s->autoflush(1);
    print $s $raw;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $end = time + 5;
    while (time < $end && $sel->can_read($end - time)) {
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
        my ($st, $h, $body) = parse_http_response($buf);
        last if defined $st && defined $h->{'content-length'}
                && length($body) >= $h->{'content-length'};
    }
    close $s;
    return parse_http_response($buf);
}

sub poll_get {
    my ($local, $query) = @_;
    return req($local, "GET $P$query HTTP/1.1\r\nHost: localhost\r\n"
                       . "Connection: close\r\n\r\n");
}

sub poll_post {
    my ($local, $sid, $body) = @_;
    return req($local, "POST $P&sid=$sid HTTP/1.1\r\nHost: localhost\r\n"
                       . "Connection: close\r\n"
                       . "Content-Type: text/plain;charset=UTF-8\r\n"
                       . "Content-Length: " . length($body)
                       . "\r\n\r\n$body");
}

# A polling session: its sid, or undef with the answer in @refused.
my @refused;

sub poll_open {
    my ($local) = @_;
    my ($st, $h, $body) = poll_get($local // '127.0.0.1', '');
    @refused = ($st, $h, $body);
    return undef unless ($st // 0) == 200;
    my ($sid) = $body =~ /^0\{"sid":"([\w-]{20})"/;
    return $sid;
}

sub poll_close {
    my ($local, $sid) = @_;
    my (undef, undef, $body) = poll_post($local, $sid, '1');
    return $body eq 'ok';
}

# A WebSocket session past its open packet, or undef (the client, with
# the refusal, in $last_ws).
my $last_ws;

sub ws_open {
    my ($local) = @_;
    my $ws = NgxWs::WebSocket->new(port => $port,
                                   local => $local // '127.0.0.1');
    $last_ws = $ws;
    return undef unless $ws && ($ws->status // 0) == 101;
    return undef unless $ws->eio_open;
    return $ws;
}

sub refused_ws {
    my ($local, $name) = @_;
    my $ws = NgxWs::WebSocket->new(port => $port,
                                   local => $local // '127.0.0.1');
    subtest $name => sub {
        is($ws && $ws->status, 429, 'status 429');
        is($ws && $ws->header('content-type'), 'application/json',
           'application/json');
        is($ws && $ws->body, $OVER, 'engine.io\'s JSON, code 4');
        ok(!($ws && $ws->header('upgrade')), 'no Upgrade header');
    };
}

sub refused_poll {
    my ($local, $name) = @_;
    my $sid = poll_open($local);
    my ($st, $h, $body) = @refused;
    subtest $name => sub {
        ok(!defined $sid, 'no session');
        is($st, 429, 'status 429');
        is($h && $h->{'content-type'}, 'application/json', 'JSON');
        is($body, $OVER, 'engine.io\'s JSON, code 4');
    };
}

sub health {
    my (undef, $d) = get_json($port, '/health');
    return $d // {};
}

sub wait_connections {
    my ($n, $timeout) = @_;
    return wait_for($timeout // 10, sub { (health()->{connections} // -1)
                                          == $n });
}

# Retries until a new session is let in: a place comes back once the
# worker has seen the client go.
sub ws_eventually {
    my ($local) = @_;
    my $ws;
    wait_for(10, sub { $ws = ws_open($local) });
    return $ws;
}

# ------------------------------------------------------------ exactly N

my (@ws, @polls);

for my $try (1 .. 10) {
    $_->close for @ws;
    poll_close('127.0.0.1', $_) for @polls;
    wait_connections(0);
    @ws = grep { defined } map { ws_open() } 1 .. 4;
    @polls = grep { defined } map { poll_open() } 1 .. 2;
    my $h = health();
    last if (grep { $_->{connections} > 0 } @{$h->{workers}}) >= 2;
}

is(scalar @ws, 4, '4 WebSocket sessions from 127.0.0.1');
is(scalar @polls, 2, '2 polling sessions from 127.0.0.1');

{
    my $h = health();
    is($h->{connections}, $L, "/health: $L sessions");
    ok((grep { $_->{connections} > 0 } @{$h->{workers}}) >= 2,
       'held by more than one worker');
}

refused_ws(undef, "the 7th, a WebSocket: refused");
refused_poll(undef, "the 7th, polling: refused");
refused_ws(undef, 'again: refused, nothing counted for a refusal');

{
    my $other = ws_open('127.0.0.2');
    ok($other, 'another address: let in');
    my $sid = poll_open('127.0.0.2');
    ok($sid, 'another address, polling: let in');
    $other->close if $other;
    poll_close('127.0.0.2', $sid) if $sid;
}

# The requests of a session take no place: its polls and its upgrade.
{
    my $sid = $polls[0];
    my (undef, undef, $ok) = poll_post('127.0.0.1', $sid, '40');
    my (undef, undef, $body) = poll_get('127.0.0.1', "&sid=$sid");
    is($ok, 'ok', 'at the limit: a POST of a session, ok');
    like($body, qr/^40\{"sid":/, 'at the limit: a GET of a session');

    my $up = NgxWs::WebSocket->new(port => $port,
                                   query => "sid=$sid");
    is($up && $up->status, 101, 'at the limit: the upgrade of a session');
    $up->send_text('2probe');
    is($up->read_packet, '3probe', 'probe answered');
    $up->send_text('5');
    ok($up->alive, 'upgraded');

    refused_ws(undef, 'the upgraded session still counts once');

    $up->close;
    my $again = ws_eventually();
    ok($again, 'the upgraded session closed: its place back');
    refused_ws(undef, 'and only its place');
    $polls[0] = undef;
    push @ws, $again;
}

{
    (shift @ws)->close;
    my $again = ws_eventually();
    ok($again, 'a WebSocket closed: its place back');
    refused_ws(undef, 'exactly one place');
    push @ws, $again;
}

{
    ok(poll_close('127.0.0.1', $polls[1]), 'a polling session says "1"');
    my $sid;
    wait_for(10, sub { $sid = poll_open() });
    ok($sid, 'its place back');
    refused_poll(undef, 'exactly one place');
    $polls[1] = $sid;
}

$_->close for @ws;
poll_close('127.0.0.1', $_) for grep { defined } @polls;
ok(wait_connections(0), 'every session gone');

# ------------------------------------------------------------ churn

# Sessions opened and ended every way, on every worker: each round lets
# exactly N in, whatever the mix of transports and workers, and ends them
# (a close, a CONNECT then a close, a "1", an upgrade then a close).
{
    my $exact = 0;
    my $rounds = 40;
    for my $round (1 .. $rounds) {
        my (@w, @p);
        for (1 .. $L + 2) {
            if (rand() < 0.6) {
                my $ws = ws_open() or next;
                push @w, $ws;
            } else {
                my $sid = poll_open() or next;
                push @p, $sid;
            }
        }
        $exact++ if @w + @p == $L;
        $w[0]->sio_connect('/') if @w && rand() < 0.5;
        if (@p && rand() < 0.5) {
            my $sid = shift @p;
            my $up = NgxWs::WebSocket->new(port => $port,
                                           query => "sid=$sid");
            $up->send_text('2probe');
            $up->read_packet;
            $up->send_text('5');
            $up->alive;
            push @w, $up;
        }
        $_->close for @w;
        poll_close('127.0.0.1', $_) for @p;
        last unless wait_connections(0);
    }
    is($exact, $rounds, "$rounds rounds of ${\($L + 2)} handshakes at once: "
                        . "$L let in each time");

    # abandoned polls: ended by the connect timeout, freed 10 s later
    my @abandoned = grep { defined } map { poll_open() } 1 .. 3;
    is(scalar @abandoned, 3, '3 polling sessions abandoned');
    ok(wait_connections(0, 20), 'abandoned: gone after the connect timeout');

    my @held = grep { defined } map { ws_open() } 1 .. $L;
    is(scalar @held, $L, "afterwards: exactly $L again");
    refused_ws(undef, 'afterwards: the next refused');
    $_->close for @held;
    ok(wait_connections(0), 'gone');
}

# ------------------------------------------------------------ zone entries

# 300 addresses come and go; then one connection from 127.0.0.9, whose
# debug log says how many entries the zone holds: its own only.
{
    my $ok = 0;
    for my $i (1 .. 300) {
        my $local = sprintf('127.0.%d.%d', 1 + int($i / 250), 1 + $i % 250);
        my $ws = ws_open($local) or next;
        $ok++;
        $ws->close;
    }
    is($ok, 300, '300 addresses, one session each');
    ok(wait_connections(0), 'gone');

    my $ws = ws_open('127.0.0.9');
    ok($ws, 'a session from 127.0.0.9');
    my @lines = $t->error_log =~ /ws limit: 127\.0\.0\.9 has (\d+) sessions, (\d+) here, (\d+) entries in ws_zone/g;
    is_deeply([@lines[-3 .. -1]], [1, 1, 1],
              'the zone holds its entry alone: none left by the others');
    $ws->close;
    ok(wait_connections(0), 'gone');
}

# ------------------------------------------------------------ IPv6

# The dual-stack listener: an IPv4 client there (::ffff:127.0.0.1) counts
# as its IPv4 address, ::1 as an address of its own.
{
    my $p6 = $t->port(2);
    my $poll6 = sub {
        my ($host) = @_;
        my ($st, $h, $body) = req(undef, "GET $P HTTP/1.1\r\nHost: localhost"
                                         . "\r\nConnection: close\r\n\r\n",
                                  [$host, $p6]);
        @refused = ($st, $h, $body);
        return undef unless ($st // 0) == 200;
        return ($body =~ /^0\{"sid":"([\w-]{20})"/)[0];
    };

    my @held = grep { defined } map { ws_open() } 1 .. $L - 1;
    my $mapped = $poll6->('127.0.0.1');
    ok($mapped, 'an IPv4 client on the dual-stack listener');
    refused_ws(undef, 'counted as 127.0.0.1: the next one refused');

    my @six = grep { defined } map { $poll6->('::1') } 1 .. $L;
    is(scalar @six, $L, "::1: $L of its own");
    ok(!defined $poll6->('::1') && $refused[0] == 429, '::1: then 429');

    $_->close for @held;
    poll_close('127.0.0.1', $_) for $mapped, @six;
    ok(wait_connections(0), 'gone');
}

# ------------------------------------------------------------ kill -9

# The places of a killed worker's sessions come back when the master's
# new worker reaps its slot.
{
    my @held;
    for my $try (1 .. 10) {
        $_->close for @held;
        wait_connections(0);
        @held = grep { defined } map { ws_open('127.0.0.3') } 1 .. $L;
        my @busy = grep { $_->{connections} > 0 } @{health()->{workers}};
        last if @busy >= 2;
    }
    is(scalar @held, $L, "$L sessions from 127.0.0.3");

    my @busy = grep { $_->{connections} > 0 } @{health()->{workers}};
    my $victim = $busy[0];
    my $lost = $victim->{connections};
    ok($lost > 0 && $lost < $L, "worker $victim->{pid} holds $lost of them");

    kill('KILL', $victim->{pid});
    ok(wait_for(10, sub {
        my @w = @{health()->{workers} || []};
        @w == 4 && !grep { $_->{pid} == $victim->{pid} } @w;
    }), 'a new worker took the slot');

    my $got = 0;
    while (my $ws = ws_open('127.0.0.3')) {
        push @held, $ws;
        last if ++$got > $L;
    }
    is($got, $lost, "exactly the $lost places of the killed worker back");
    is(health()->{connections}, $L, "$L sessions again");
    $_->close for @held;
    ok(wait_connections(0), 'gone');
}

done_testing;
