#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A worker killed with SIGKILL: its clients lose their connection, the
# master starts another, the new one frees the dead one's place in the
# zone, and pushes keep reaching every other client, and the new worker's,
# with nothing left locked.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json get_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(listen => 'reuseport', push => 1, health => 1),
               workers => 4);
$t->run;
$t->expect_log(qr/worker process \d+ exited on signal 9/);

my $port = $t->port;

sub health {
    my ($st, $d) = get_json($port, '/health');
    return $d;
}

sub per_worker {
    my $h = health() // return {};
    return { map { $_->{pid} => $_->{connections} } @{$h->{workers}} };
}

my @c;
ok(wait_for(20, sub {
       push @c, NgxWs::WebSocket->sio_open(port => $port)
           // die "client setup failed" for 1 .. 8;
       my $w = per_worker();
       return keys %$w == 4 && !grep { !$_ } values %$w;
   }), scalar(@c) . ' clients over 4 workers');

my @before = $t->worker_pids;
my $victim = $before[0];
my $lost = per_worker()->{$victim};
ok($lost, "worker $victim holds $lost clients");

kill('KILL', $victim);

ok(wait_for(10, sub {
       my @now = $t->worker_pids;
       return @now == 4 && !grep { $_ == $victim } @now;
   }), 'the master starts a new worker');

my @after = $t->worker_pids;
my ($fresh) = grep { my $p = $_; !grep { $_ == $p } @before } @after;
ok($fresh, "the new worker is $fresh");

ok(wait_for(10, sub {
       my $w = per_worker();
       return !exists $w->{$victim} && exists $w->{$fresh};
   }), 'health: the dead worker left the zone, the new one is in it');

my ($st, $d) = push_json($port, '{"event":"after-kill"}');
is($st, 200, 'a push after the kill: 200');

my ($got, $gone) = (0, 0);
for my $ws (@c) {
    my $p = $ws->read_packet(5);
    if (defined $p) {
        $got++ if $p eq '42["after-kill"]';
    } elsif ($ws->eof) {
        $gone++;
    }
}
is($gone, $lost, 'the dead worker\'s clients lost their connection');
is($got, @c - $lost, 'every other client got the push');

my $h = health();
is($h->{connections}, @c - $lost, 'health: the host total without them');

# clients of the new worker get pushes answered by any worker
my @d;
ok(wait_for(20, sub {
       push @d, NgxWs::WebSocket->sio_open(port => $port)
           // die "client setup failed" for 1 .. 4;
       return (per_worker()->{$fresh} // 0) > 0;
   }), 'the new worker takes clients');

for my $i (1 .. 8) {
    push_json($port, qq({"event":"n","data":[$i]}));
}

my $all = 0;
for my $ws (@d) {
    my @p = map { $ws->read_packet(5) // '' } 1 .. 8;
    $all++ if "@p" eq join(' ', map { qq(42["n",$_]) } 1 .. 8);
}
is($all, scalar(@d), 'every new client got the 8 pushes in order');

done_testing;
