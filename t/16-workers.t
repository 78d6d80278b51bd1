#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Every worker serves: with 4 workers (reuseport spreads the clients), a
# push answered by any worker reaches the matching sockets of all of them,
# once, in the order the pushes were answered; join, leave and disconnect
# act on every worker's sockets; /health counts the whole host.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json get_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(listen => 'reuseport',
                           socketio => ['ws_namespace /chat'],
                           push => 1, health => 1),
               workers => 4);
$t->run;

my $port = $t->port;

sub health {
    my ($st, $d) = get_json($port, '/health');
    return $d;
}

# Clients until every worker holds some (reuseport hashes the source port).
my @c;
my $spread = wait_for(20, sub {
    push @c, NgxWs::WebSocket->sio_open(port => $port, nsps => ['/', '/chat'])
        // die "client setup failed" for 1 .. 8;
    my $h = health() or return 0;
    return @{$h->{workers}} == 4
           && !grep { $_->{connections} == 0 } @{$h->{workers}};
});
ok($spread, scalar(@c) . ' clients over 4 workers, every worker holds some');

my $n = @c;
my $h = health();
is($h->{connections}, $n, 'health: the host total');
is($h->{namespaces}{'/chat'}, $n, 'health: /chat total');
my $sum = 0;
$sum += $_->{connections} for @{$h->{workers}};
is($sum, $n, 'health: the workers add up');
is_deeply([sort { $a <=> $b } map { $_->{pid} } @{$h->{workers}}],
          [$t->worker_pids], 'health: one entry per worker');

# Reads a client's packets up to the "end" push; returns them.
sub until_end {
    my ($ws) = @_;
    my @got;
    while (defined(my $p = $ws->read_packet(10))) {
        return \@got if $p eq '42/chat,["end"]';
        push @got, $p;
    }
    push @got, '(closed or timed out)';
    return \@got;
}

sub push_ok {
    my ($json, $name) = @_;
    my ($st, $d, $body) = push_json($port, $json);
    is($st, 200, "$name: 200") or diag($body);
}

# ------------------------------------------------- order, once

my @expect = map { [] } 1 .. $n;

for my $i (0 .. 19) {
    if ($i % 2 == 0) {
        push_ok(qq({"nsp":"/chat","event":"all","data":[$i]}), "push $i");
        push @{$expect[$_]}, qq(42/chat,["all",$i]) for 0 .. $n - 1;
    } else {
        my $k = ($i * 7) % $n;
        my $id = $c[$k]->sio_sid('/chat');
        push_ok(qq({"nsp":"/chat","rooms":"$id","event":"one","data":[$i]}),
                "push $i");
        push @{$expect[$k]}, qq(42/chat,["one",$i]);
    }
}

push_ok('{"nsp":"/chat","event":"end"}', 'end');

my $exact = 0;
for my $k (0 .. $n - 1) {
    my $got = until_end($c[$k]);
    if (is_deeply($got, $expect[$k], "client $k: its pushes, once, in order"))
    {
        $exact++;
    }
}
is($exact, $n, 'every client got exactly its pushes');

# ------------------------------------------------- join, leave, disconnect

my @half = grep { $_ % 2 } 0 .. $n - 1;
my $ids = join ',', map { '"' . $c[$_]->sio_sid('/chat') . '"' } @half;

push_ok(qq({"op":"join","nsp":"/chat","rooms":[$ids],"room":"odd"}), 'join');
push_ok('{"nsp":"/chat","rooms":"odd","event":"odd"}', 'emit to the room');
push_ok(qq({"op":"leave","nsp":"/chat","rooms":[$ids],"room":"odd"}),
        'leave');
push_ok('{"nsp":"/chat","rooms":"odd","event":"odd-after-leave"}',
        'emit to the room left');
push_ok('{"nsp":"/chat","event":"end"}', 'end');

my %in_half = map { $_ => 1 } @half;
my $right = 0;
for my $k (0 .. $n - 1) {
    my $want = $in_half{$k} ? ['42/chat,["odd"]'] : [];
    $right++ if is_deeply(until_end($c[$k]), $want,
                          "client $k: the room while it was in it");
}
is($right, $n, 'join and leave acted on every worker');

# one socket on each worker gets a DISCONNECT; the others nothing
my @gone = map { $c[$_] } 0 .. 3;
my $gone_ids = join ',', map { '"' . $_->sio_sid('/chat') . '"' } @gone;
push_ok(qq({"op":"disconnect","nsp":"/chat","rooms":[$gone_ids]}),
        'disconnect');
push_ok('{"nsp":"/chat","event":"end"}', 'end');

for my $k (0 .. 3) {
    is($c[$k]->read_packet(10), '41/chat,', "client $k: DISCONNECT");
}

my $kept = grep { !@{until_end($c[$_])} } 4 .. $n - 1;
is($kept, $n - 4, 'the other clients got nothing but the end');

ok(wait_for(5, sub { (health() // {})->{namespaces}{'/chat'} == $n - 4 }),
   'health: 4 sockets left /chat');

# ------------------------------------------------- a reload

my @old = $t->reload;
my $closed = grep { ($_->wait_closed(10) // 0) == 1001 } @c;
is($closed, $n, 'reload: every client of the old workers gets 1001');
ok($t->wait_gone(\@old, 10), 'the old workers exit');

my @d = map { NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat'])
              // die "client setup failed" } 1 .. 16;
push_ok('{"nsp":"/chat","event":"after-reload"}', 'push after the reload');
my $after = grep { ($_->read_packet(10) // '') eq
                   '42/chat,["after-reload"]' } @d;
is($after, 16, 'the new workers deliver across each other');

ok(wait_for(5, sub {
       my $h = health() // return 0;
       my @pids = sort { $a <=> $b } map { $_->{pid} } @{$h->{workers}};
       return "@pids" eq join(' ', $t->worker_pids);
   }), 'health: the old workers left the zone');

done_testing;
