#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Socket.IO v5: CONNECT to namespaces (auth payload, unknown namespace),
# several namespaces on one connection, DISCONNECT, malformed packets,
# client events, the connect timeout.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use NgxWs::Test qw(push_json server_conf wait_for);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

# Port 1: namespaces, push.  Port 2: a short connect timeout.
$t->write_conf(join("\n",
    server_conf(socketio => ['ws_namespace /chat',
                             'ws_namespace /notifications'],
                push => 1),
    server_conf(port => 2, socketio => ['ws_connect_timeout 1s'])));
$t->run;

my $port = $t->port(1);
my $SID = qr/[A-Za-z0-9_-]{20}/;

# ------------------------------------------------------------ CONNECT

{
    my $ws = $t->eio_client;
    my $r = $ws->sio_connect('/');
    like($r // '', qr/^40\{"sid":"$SID"\}\z/, 'CONNECT /');
    my ($sid) = ($r // '') =~ /"sid":"([^"]+)"/;
    isnt($sid, $ws->sid, 'socket id differs from the Engine.IO sid');

    $r = $ws->sio_connect('/chat');
    like($r // '', qr/^40\/chat,\{"sid":"$SID"\}\z/, 'CONNECT /chat');
    my ($sid2) = ($r // '') =~ /"sid":"([^"]+)"/;
    isnt($sid2, $sid, 'each namespace socket has its own id');

    $r = $ws->sio_connect('/notifications');
    like($r // '', qr/^40\/notifications,\{"sid":"$SID"\}\z/,
         'CONNECT /notifications on the same connection');

    # A push to each namespace reaches this one connection.
    for my $nsp ('/', '/chat', '/notifications') {
        my ($st, $d) = push_json($port, qq({"nsp":"$nsp","event":"hi"}));
        is($d && $d->{matched}, 1, "push to $nsp: matched 1");
        my $pre = $nsp eq '/' ? '' : "$nsp,";
        is($ws->read_packet(5), qq(42${pre}["hi"]), "push to $nsp received");
    }

    # Leave /chat: no more pushes from it, the others still come.
    $ws->sio_disconnect('/chat');
    ok($ws->alive, 'after 41/chat,: connection open');
    my ($st, $d) = push_json($port, '{"nsp":"/chat","event":"gone"}');
    is($d && $d->{matched}, 0, 'push to /chat after leaving: matched 0');
    push_json($port, '{"nsp":"/notifications","event":"here"}');
    is($ws->read_packet(5), '42/notifications,["here"]',
       'after leaving /chat: no /chat push, /notifications push received');

    # Joining /chat again works.
    like($ws->sio_connect('/chat') // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
         'CONNECT /chat again after leaving');
}

{
    my $ws = $t->eio_client;
    like($ws->sio_connect('/', '{"token":"x"}') // '',
         qr/^40\{"sid":"$SID"\}\z/, 'CONNECT / with auth');
    like($ws->sio_connect('/chat', '{"token":"abc","n":[1,2,{"x":null}]}')
         // '', qr/^40\/chat,\{"sid":"$SID"\}\z/, 'CONNECT /chat with auth');
}

{
    # Unknown namespace: CONNECT_ERROR, and the connection stays usable.
    my $ws = $t->eio_client;
    is($ws->sio_connect('/random'),
       '44/random,{"message":"Invalid namespace"}', 'unknown namespace');
    is($ws->sio_connect('/random', '{"token":"x"}'),
       '44/random,{"message":"Invalid namespace"}',
       'unknown namespace with auth');
    is($ws->sio_connect('/cha'),
       '44/cha,{"message":"Invalid namespace"}', 'a prefix of /chat');
    is($ws->sio_connect('/chat/x'),
       '44/chat/x,{"message":"Invalid namespace"}', '/chat/x');
    ok($ws->alive, 'after CONNECT_ERROR: open');
    like($ws->sio_connect('/chat') // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
         'after CONNECT_ERROR: CONNECT /chat works');
    like($ws->sio_connect('/') // '', qr/^40\{"sid":"$SID"\}\z/,
         'after CONNECT_ERROR: CONNECT / works');
}

# -------------------------------------------------------- client events

{
    my $ws = $t->eio_client;
    $ws->sio_connect('/');
    $ws->sio_connect('/chat');
    $ws->send_text('42["hello",1,{"a":[]}]');
    $ws->send_text('421["with-ack"]');
    $ws->send_text('42/chat,["hello"]');
    $ws->send_text('42/chat,7["with-ack"]');
    $ws->send_text('43/chat,5["an","ack"]');
    $ws->send_text('42[7,"numeric event name"]');
    $ws->send_text('451-["bin",{"_placeholder":true,"num":0}]');
    $ws->send_binary("\x01");
    $ws->send_text('461-/chat,9[{"_placeholder":true,"num":0}]');
    $ws->send_binary("\x02");
    is_deeply($ws->barrier, [],
              'client events and acks: accepted, no reply, still open');
    push_json($port, '{"event":"x"}');
    is($ws->read_packet(5), '42["x"]', 'client events: still served');
}

# ---------------------------------------------------- malformed packets

my @closing;
sub closes {
    my ($name, $nsps, @frames) = @_;
    my $ws = $t->eio_client;
    for my $nsp (@$nsps) {
        my $r = $ws->sio_connect($nsp);
        die "CONNECT $nsp failed" unless ($r // '') =~ /^40/;
    }
    $ws->send_text($_) for @frames;
    push @closing, [$ws, $name];
}

closes('"4abc"', ['/'], '4abc');
closes('"4" (empty Socket.IO packet)', ['/'], '4');
closes('unknown Socket.IO type "47"', ['/'], '47');
closes('"42{}"', ['/'], '42{}');
closes('"42abc[\"x\"]"', ['/'], '42abc["x"]');
closes('"42[]"', ['/'], '42[]');
closes('"42\"x\""', ['/'], '42"x"');
closes('"42[\"x\"" (truncated JSON)', ['/'], '42["x"');
closes('"42[\"x\"]junk"', ['/'], '42["x"]junk');
closes('reserved event name', ['/'], '42["connect"]');
closes('"451-" without the attachment, then text', ['/'],
       '451-["b",{"_placeholder":true,"num":0}]', '42["x"]');
closes('event to a namespace not joined', ['/'], '42/chat,["x"]');
closes('event to "/" not joined', ['/chat'], '42["x"]');
closes('event to an unknown namespace', ['/'], '42/nope,["x"]');
closes('second CONNECT to /', ['/'], '40');
closes('second CONNECT to /chat', ['/', '/chat'], '40/chat,');
closes('CONNECT with a non-object auth', [], '40["x"]');
closes('DISCONNECT from a namespace not joined', ['/'], '41/chat,');

for (@closing) {
    my ($ws, $name) = @$_;
    is($ws->wait_closed(10), 1000, "$name: close 1000");
    ok($ws->tcp_closed, "$name: TCP closed");
    ok(!grep({ $_->{opcode} == 1 && $_->{payload} =~ /^4[0-6]/ }
             @{$ws->{skipped} || []}), "$name: no Socket.IO reply");
}

# ------------------------------------------------------ connect timeout

my $slow = $t->port(2);

sub log_lines {
    my ($re) = @_;
    return scalar grep { /$re/ } split /^/, $t->error_log;
}

# Closed by the connect timeout: close 1000 no sooner than 1 s after the
# upgrade, and the log line saying why.
sub closed_by_connect_timeout {
    my ($ws, $name, $since) = @_;
    my $re = qr/ws: no namespace connected in time, closing/;
    my $before = log_lines($re);
    is($ws->wait_closed(5), 1000, "$name: close 1000");
    my $after = time - $since;
    ok($after >= 0.9, "$name: not before ws_connect_timeout (after "
                      . sprintf('%.2f', $after) . ' s)');
    ok($ws->tcp_closed, "$name: TCP closed");
    ok(wait_for(5, sub { log_lines($re) > $before }),
       "$name: the error log says \"no namespace connected in time\"");
}

{
    # No CONNECT within 1 s: closed.
    my $since = time;
    my $ws = $t->eio_client($slow);
    closed_by_connect_timeout($ws, 'no CONNECT', $since);
}

{
    # A failed CONNECT does not clear the timeout.
    my $since = time;
    my $ws = $t->eio_client($slow);
    is($ws->sio_connect('/nope'), '44/nope,{"message":"Invalid namespace"}',
       'CONNECT_ERROR on the short-timeout server');
    closed_by_connect_timeout($ws, 'only a failed CONNECT', $since);
}

{
    # A CONNECT in time keeps the session open well past the timeout,
    # even after leaving the namespace again.
    my $ws = $t->eio_client($slow);
    like($ws->sio_connect('/') // '', qr/^40\{"sid":"$SID"\}\z/,
         'CONNECT in time');
    is_deeply([$ws->drain(2.5)], [], 'CONNECT in time: nothing but pings');
    ok(!$ws->closed_early, 'CONNECT in time: open after 2.5x the timeout');
    is_deeply($ws->barrier, [], 'CONNECT in time: alive, nothing else came');
}

done_testing;
