#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A broadcast to a large room is written to its first sockets at once and
# to the rest in slices over the next turns of the event loop: nothing
# changes order for any socket.  700 clients in one room (two slices) get
# a run of broadcasts interleaved with emits to single sockets, each in
# order, once; a disconnect right after a broadcast still delivers the
# broadcast first; a client closed while its slice waits costs nothing;
# the worker answers another request between slices.  Runs under ASan too.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json get_json server_conf);
use NgxWs::WebSocket;

my $N = 700;

my $t = NgxWs::Test->new->require_module;
$t->write_conf(server_conf(socketio => ['ws_namespace /chat'], push => 1,
                           health => 1),
               worker_connections => 1024);
$t->run;

my $port = $t->port;

my @c;
for my $i (1 .. $N) {
    my $ws = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat'])
        or BAIL_OUT("client $i did not connect");
    push @c, $ws;
}

sub push_ok {
    my ($json, $name) = @_;
    my ($st, undef, $body) = push_json($port, $json);
    is($st, 200, "$name: pushed") or diag($body);
    return $body;
}

# ------------------------------------------------------------ order

# every client joins "all"; broadcasts to it alternate with an emit to
# one socket (the last client's, which a slice writes)
my @sids = map { $_->sio_sid('/chat') } @c;
push_ok(qq({"op":"join","nsp":"/chat","rooms":[)
        . join(',', map { qq("$_") } @sids) . '],"room":"all"}', 'join');

my $last = $sids[-1];
for my $k (1 .. 10) {
    push_ok(qq({"nsp":"/chat","rooms":["all"],"event":"b","data":[$k]}),
            "broadcast $k");
    push_ok(qq({"nsp":"/chat","rooms":["$last"],"event":"one","data":[$k]}),
            "to the last socket $k");
}

# a request between the slices is answered
my ($st) = get_json($port, '/health');
is($st, 200, 'the worker answers while slices are written');

my $bad = 0;
for my $i (0 .. $#c) {
    my $got = $c[$i]->barrier(10) // ['(no barrier)'];
    my @want = map { qq(42/chat,["b",$_]) } 1 .. 10;
    if ($i == $#c) {
        @want = map { (qq(42/chat,["b",$_]), qq(42/chat,["one",$_])) }
                1 .. 10;
    }
    unless (join("\n", @$got) eq join("\n", @want)) {
        $bad++;
        diag("client $i got: " . join(' ', @$got)) if $bad <= 3;
    }
}
is($bad, 0, "all $N clients: every broadcast once, in order, the single "
            . 'emits in their place');

# ------------------------------------------------------------ then close

# fifty clients close before the next broadcast's slices reach them
$_->close for @c[200 .. 249];
push_ok('{"nsp":"/chat","rooms":["all"],"event":"last"}', 'broadcast');
push_ok('{"op":"disconnect","nsp":"/chat","rooms":["all"],"close":true}',
        'and disconnect them all, close');

$bad = 0;
for my $i (0 .. 199, 250 .. $#c) {
    my $ws = $c[$i];
    my @got;
    while (defined(my $p = $ws->read_packet(10))) {
        push @got, ref $p ? 'close' : $p;
    }
    unless (@got >= 2 && $got[0] eq '42/chat,["last"]'
            && $got[1] eq '41/chat,')
    {
        $bad++;
        diag("client $i got: @got") if $bad <= 3;
    }
}
is($bad, 0, 'the broadcast arrives before the DISCONNECT that follows it');

ok(NgxWs::Test::wait_for(5, sub {
       my (undef, $h) = get_json($port, '/health');
       $h && $h->{connections} == 0 }),
   'every connection gone: none left behind by a slice');

done_testing;
