#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: 5,000 connections that get the 101 and then send nothing (no
# Socket.IO CONNECT).  ws_connect_timeout closes every one of them with a
# WebSocket close 1000 (what ngx_ws_heartbeat() sends, as socket.io's
# connectTimeout closes the transport); while they are open the worker's
# RSS grows by well under 4 KB per connection, and the memory is given
# back (a second wave of 5,000 takes no more than the first); a client
# connected to a namespace is served throughout.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use NgxWs::Test qw(server_conf);
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx connections_are good_client
    good_served upgrade_many close_codes close_all);

use constant N       => 5000;
use constant TIMEOUT => 10;       # ws_connect_timeout, seconds

my ($t, $port, $pid) = start_nginx(
    server_conf(socketio => ['ws_connect_timeout ' . TIMEOUT . 's'],
                push => 1, health => 1),
    worker_connections => 2 * N + 1000, rlimit_nofile => 2 * N + 2000);

# A client that joined '/' is not subject to ws_connect_timeout.
good_client($port, ws => $t->sio_client,
            matched => 'the push matched the connected client',
            got => 'and it got it');

# Warm up: the first connections allocate what every later one reuses.
{
    my @w = upgrade_many($port, 100);
    is(scalar @w, 100, 'warm-up: 100 upgraded');
    close_all(\@w);
    ok(connections_are($port, 1, 10), 'warm-up connections gone');
}

my $rss0 = vm_rss($pid);

my @c = upgrade_many($port, N);
is(scalar @c, N, N . ' connections upgraded (101 and the open packet)');
my $opened = time;

ok(connections_are($port, N + 1, 5), 'health: all of them open at once');
my $rss1 = vm_rss($pid);
rss_ok($rss0, $rss1, N * 4, N . ' idle upgraded connections (< 4 KB each)');
diag(sprintf('%d idle upgraded connections: %+d KB, %.2f KB each',
             N, $rss1 - $rss0, ($rss1 - $rss0) / N));

good_served('while ' . N . ' idle connections are open');

my %codes = close_codes(\@c, TIMEOUT + 20);
is_deeply(\%codes, { 1000 => N },
          'ws_connect_timeout closes every one with close 1000')
    or diag(explain(\%codes));

{
    my @iv = sort { $a <=> $b }
             map { $_->{closed_at} - $_->{upgraded_at} }
             grep { $_->{closed_at} } @c;
    cmp_ok($iv[0], '>=', TIMEOUT - 2,
           sprintf('none closed before ws_connect_timeout (earliest %.1f s)',
                   $iv[0] // -1));
}

{
    my $log = $t->error_log;
    my $n = () = $log =~ /no namespace connected in time/g;
    is($n, N, 'the error log says why, once per connection');
}

ok(connections_are($port, 1, 10), 'health: only the connected client is left');
good_served('after the timeouts');

my $rss2 = vm_rss($pid);
note(sprintf('RSS after they closed: %d KB (before %d, peak %d)',
             $rss2, $rss0, $rss1));

# Freed, not leaked: a second wave of the same size takes no more than
# the first one did.
my @d = upgrade_many($port, N);
is(scalar @d, N, 'second wave: ' . N . ' upgraded');
my $rss3 = vm_rss($pid);
rss_ok($rss1, $rss3, 1024 + int(($rss1 - $rss0) / 10),
       'second wave: memory of the first was freed and reused');
close_all(\@d);
ok(connections_are($port, 1, 10),
   'second wave closed by the clients: all gone');

good_served('at the end');

done_testing;
