#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: JSON nested 100,000 deep.  The module's JSON scanner is
# iterative with a fixed stack and refuses more than 1000 levels (cJSON's
# limit), so such a push body gets 400 with a JSON {"error":...}: arrays,
# objects, or brackets never closed.  Exactly 1000 levels go through.
# The same from a client, inside a Socket.IO event, is a malformed packet
# that closes its connection (1000).  No crash, the worker's memory stays
# flat over dozens of them, other clients are served.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use NgxWs::Test qw(push_json server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx connections_are good_client
    good_served);

use constant DEEP  => 100_000;
use constant LIMIT => 1000;       # levels the scanner accepts

my ($t, $port, $pid) = start_nginx(server_conf(
    push => ['client_max_body_size 4m', 'client_body_buffer_size 4m'],
    health => 1));

my $good = good_client($port, alive => 'and nothing else came');

# $n levels of arrays / objects (the outermost included).
sub arrays  { ('[' x $_[0]) . (']' x $_[0]) }
sub objects { ('{"a":' x ($_[0] - 1)) . '{}' . ('}' x ($_[0] - 1)) }

sub is_json_400 {
    my ($name, $st, $d, $body) = @_;
    is($st, 400, "$name: 400");
    ok(ref $d eq 'HASH' && defined $d->{error} && !ref $d->{error}
       && length $d->{error}, qq($name: a JSON body with an "error" member))
        or diag('body: ' . substr($body // '', 0, 300));
}

my $rss0 = vm_rss($pid);

# ------------------------------------------------------------ push bodies

{
    # The body object is level 1, "data" level 2: data holding arrays
    # DEEP levels deep makes DEEP + 1 in all.
    my @cases = (
        ['arrays ' . DEEP . ' deep in "data"',
         '{"event":"e","data":' . arrays(DEEP) . '}'],
        ['objects ' . DEEP . ' deep in "data"',
         '{"event":"e","data":[' . objects(DEEP) . ']}'],
        ['a body that is only ' . DEEP . ' arrays', arrays(DEEP)],
        [DEEP . ' brackets never closed',
         '{"event":"e","data":' . ('[' x DEEP)],
        ['arrays ' . DEEP . ' deep in "rooms"',
         '{"event":"e","rooms":' . arrays(DEEP) . '}'],
        ['arrays ' . DEEP . ' deep in an unknown member',
         '{"event":"e","x":' . arrays(DEEP) . '}'],
    );
    for my $c (@cases) {
        my ($st, $d, $body) = push_json($port, $c->[1]);
        is_json_400($c->[0], $st, $d, $body);
    }
}

{
    # LIMIT levels in all: the body (1), "data" (2) and LIMIT - 2 inside.
    my $inner = arrays(LIMIT - 2);
    my ($st, $d) = push_json($port, qq({"event":"e","data":[$inner]}));
    is($st, 200, LIMIT . ' levels in all: 200');
    is($d && $d->{matched}, 1, 'and delivered');
    is($good->read_packet(5), qq(42["e",$inner]),
       'the client gets it as it was written');

    my $deeper = arrays(LIMIT - 1);
    my ($st2, $d2, $body2) = push_json($port,
                                       qq({"event":"e","data":[$deeper]}));
    is_json_400(LIMIT + 1 . ' levels in all', $st2, $d2, $body2);
}
is_deeply($good->barrier, [], 'nothing refused reached the client');
good_served('after the deep bodies');

# ------------------------------------------------------------ dozens

{
    my $n = 50;
    my $body = '{"event":"e","data":' . arrays(DEEP) . '}';
    my $bad = 0;
    for (1 .. $n) {
        my ($st, $d) = push_json($port, $body);
        $bad++ unless ($st // 0) == 400 && ref $d eq 'HASH' && $d->{error};
    }
    is($bad, 0, "$n pushes " . DEEP . ' deep: a JSON 400 for each');
    rss_ok($rss0, vm_rss($pid), 2048, "$n pushes " . DEEP . ' deep');
}
is_deeply([$t->worker_pids], [$pid], 'the worker is the same');

# ------------------------------------------------------------ from a client

{
    my $ws = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
    $ws->send_text('42["e",' . arrays(LIMIT - 1) . ']');
    ok($ws->alive, 'a client event ' . LIMIT . ' levels deep is accepted');

    $ws->send_text('42["e",' . arrays(DEEP) . ']');
    is($ws->wait_closed(10), 1000, 'a client event ' . DEEP . ' levels deep '
                                   . 'closes its connection (1000)');
    ok($t->error_log =~ /invalid socket\.io packet/,
       'the error log says "invalid socket.io packet"');
}
ok(connections_are($port, 1, 5), 'health: only the connected client is left');
good_served('at the end');

done_testing;
