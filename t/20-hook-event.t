#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The event and disconnect hooks, and ws_relay.  A client's events reach
# the application one at a time and in order, whatever its delays; the
# answer's ack, data and push are applied before the next event is sent;
# a full queue stops the reading of the client and loses nothing; a
# failed call drops its event and keeps the connection.  The disconnect
# hook says why, with socket.io's reasons.  ws_relay re-emits an event to
# the sender's rooms with no call at all.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json wait_for server_conf);
use NgxWs::WebSocket;
use NgxWs::App;
use JSON::PP ();
use Time::HiRes qw(sleep);

my $t = NgxWs::Test->new->require_module;

my $app = NgxWs::App->start(log => $t->prefix . '/app.log',
    handler => sub {
        my ($req) = @_;
        my $j = $req->{json} // {};
        return (200, '{}') if $j->{type} ne 'event';

        my $ev = $j->{event};
        my @args = @{$j->{args}};
        my $n = ($j->{data} // {})->{n} // 0;

        return (500, '{}') if $ev eq 'fail';
        return (200, '{"ack":' . JSON::PP->new->encode(\@args) . '}')
            if $ev eq 'bin';
        return (200, '{"data":{"n":' . ($n + 1) . '}}') if $ev eq 'noack';
        return (200, '{"ack":[' . ($args[0] // 0) . ',' . ($n + 1)
                     . '],"data":{"n":' . ($n + 1) . '}}',
                $ev eq 'slow' ? 0.2 : rand(0.03));
    });

$t->write_conf(server_conf(
    socketio => ['ws_namespace /chat', 'ws_hook_event /_hook/event',
                 'ws_hook_disconnect /_hook/disconnect',
                 'ws_hook_queue 2 1k', 'ws_relay typing',
                 'ws_relay cursor room=0'],
    push => 1,
    locations => [
        # the same, with a heartbeat short enough to see a ping timeout
        '/quick/' => ['ws_socketio', 'ws_namespace /chat',
                      'ws_hook_disconnect /_hook/disconnect',
                      'ws_ping_interval 500ms', 'ws_ping_timeout 500ms'],
        '/_hook/' => ['internal',
                      'proxy_pass http://127.0.0.1:' . $app->port . '/api/',
                      'proxy_read_timeout 2s']]));
$t->run;

my $port = $t->port;

sub client {
    my $ws = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat'],
                                        headers => { Cookie => 'c=1' })
        or die "client setup failed";
    return $ws;
}

sub requests {
    my ($type, $sid) = @_;
    return [ grep { $_->{json}{type} eq $type
                    && (!$sid || $_->{json}{sid} eq $sid) }
             @{$app->requests} ];
}

# ------------------------------------------------------------ events

{
    my $ws = client();
    my $sid = $ws->sio_sid('/chat');

    $ws->send_text('42/chat,7["msg",1,{"a":[true]}]');
    is($ws->read_packet(5), '43/chat,7[1,1]', 'the app\'s ack, with its id');

    my $req = requests('event', $sid)->[0];
    is_deeply($req->{json}, { type => 'event', nsp => '/chat', sid => $sid,
                              data => undef, event => 'msg',
                              args => [1, { a => [JSON::PP::true] }],
                              ack => JSON::PP::true },
              'the event hook\'s body, exactly');
    is($req->{headers}{cookie}, 'c=1', 'with the handshake cookie');

    # 20 events, the app answering with random delays: acks in order,
    # and each event sees the data the previous answer set
    $ws->send_text(qq(42/chat,$_\["msg",$_\])) for 10 .. 29;
    my @got = map { $ws->read_packet(5) // 'none' } 10 .. 29;
    is_deeply(\@got, [ map { "43/chat,$_\[$_," . ($_ - 8) . ']' } 10 .. 29 ],
              '20 events: acked in order, the data of one seen by the next');

    # no "ack" in the answer: no ACK, as when a handler never calls back
    $ws->send_text('42/chat,40["noack"]');
    $ws->send_text('42/chat,41["msg",41]');
    is($ws->read_packet(5), '43/chat,41[41,23]',
       'no "ack" in the answer: nothing for that event');

    # the client asks for no ack: none is sent even if the app gives one
    $ws->send_text('42/chat,["msg",50]');
    $ws->send_text('42/chat,51["msg",51]');
    is($ws->read_packet(5), '43/chat,51[51,25]', 'no ack asked: none sent');
    is(requests('event', $sid)->[-2]{json}{ack}, JSON::PP::false,
       '"ack":false in the body');

    # a failing call: no ack, the event dropped, the connection stays
    $ws->send_text('42/chat,60["fail"]');
    $ws->send_text('42/chat,61["msg",61]');
    is($ws->read_packet(5), '43/chat,61[61,26]',
       'a failed call: no ack for it, the next goes on');
    like($t->error_log, qr/the event hook "\/_hook\/event" failed: status 500/,
         'the failure is logged');
}

# ------------------------------------------------------------ binary

{
    # a Buffer from the client reaches the app as {"$binary":...}, and one
    # in the app's ack goes back as an attachment
    my $ws = client();
    my $sid = $ws->sio_sid('/chat');

    $ws->send_text('451-/chat,9["bin",{"_placeholder":true,"num":0},2]');
    $ws->send_binary("\x01\x02\x03");

    is($ws->read_packet(5), '461-/chat,9[{"_placeholder":true,"num":0},2]',
       'binary: the ack comes back as a BINARY_ACK');
    is_deeply($ws->read_packet(5), { binary => "\x01\x02\x03" },
              'with the same bytes as its attachment');

    my $req = requests('event', $sid)->[-1];
    is_deeply($req->{json}{args}, [{ '$binary' => 'AQID' }, 2],
              'the app got the Buffer as {"$binary":"<base64>"}');

    # a placeholder that names no attachment is a malformed packet
    $ws->send_text('451-/chat,["bin",{"_placeholder":true,"num":3}]');
    $ws->send_binary("x");
    is($ws->wait_closed(5), 1000, 'a bad placeholder: closed, as socket.io');
}

# ------------------------------------------------------------ backpressure

{
    # ws_hook_queue 2 1k and an app that takes 200 ms: 8 quick events
    # fill the queue; nginx stops reading, and none is lost
    my $ws = client();
    $ws->send_text(qq(42/chat,$_\["slow",$_\])) for 1 .. 8;
    my @got = map { $ws->read_packet(5) // 'none' } 1 .. 8;
    is_deeply(\@got, [ map { "43/chat,$_\[$_,$_]" } 1 .. 8 ],
              'a full queue: nothing lost, all in order');
    ok($ws->alive, 'and the client is still served');
}

{
    # events still queued when the client goes reach the app all the same,
    # then its disconnect
    my $ws = client();
    my $sid = $ws->sio_sid('/chat');
    $ws->send_text(qq(42/chat,["slow",$_])) for 1 .. 3;
    $ws->close;

    my @calls;
    wait_for(10, sub {
        @calls = grep { $_->{json}{sid} eq $sid } @{$app->requests};
        @calls == 4;
    });
    is_deeply([ map { $_->{json}{type} eq 'event'
                      ? "event $_->{json}{args}[0]"
                      : $_->{json}{reason} } @calls ],
              ['event 1', 'event 2', 'event 3', 'transport close'],
              'queued events of a client that left, then its disconnect');
}

# ------------------------------------------------------------ disconnects

sub reason_of {
    my ($sid) = @_;
    my $r;
    wait_for(5, sub { ($r) = @{requests('disconnect', $sid)}; $r });
    return $r ? $r->{json} : {};
}

{
    my $ws = client();
    my $sid = $ws->sio_sid('/chat');
    push_json($port, qq({"op":"join","nsp":"/chat","rooms":"$sid",)
                     . qq("room":"r1"}));
    $ws->sio_disconnect('/chat');
    my $d = reason_of($sid);
    is($d->{reason}, 'client namespace disconnect', 'client DISCONNECT');
    is_deeply($d->{rooms}, [$sid, 'r1'], 'with socket.rooms');
    is($d->{nsp}, '/chat', 'and the namespace');

    my $w2 = client();
    my $sid2 = $w2->sio_sid('/chat');
    $w2->close;
    is(reason_of($sid2)->{reason}, 'transport close', 'the client goes');

    my $w3 = client();
    my $sid3 = $w3->sio_sid('/chat');
    push_json($port, qq({"op":"disconnect","nsp":"/chat","rooms":"$sid3"}));
    is(reason_of($sid3)->{reason}, 'server namespace disconnect',
       'a push disconnects it');

    # pings unanswered: the reader below never pongs
    my $w4 = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat'],
                                        path => '/quick/?EIO=4&transport=websocket')
        or die;
    my $sid4 = $w4->sio_sid('/chat');
    $w4->read_packet(3, no_pong => 1);
    is(reason_of($sid4)->{reason}, 'ping timeout', 'no pong');

    my $w5 = client();
    my $sid5 = $w5->sio_sid('/chat');
    $w5->send_text('42/chat,["x"');      # not JSON
    is(reason_of($sid5)->{reason}, 'parse error', 'a malformed packet');
}

# ------------------------------------------------------------ ws_relay

{
    my ($a, $b, $c) = (client(), client(), client());
    for my $ws ($a, $b) {
        my $sid = $ws->sio_sid('/chat');
        push_json($port, qq({"op":"join","nsp":"/chat","rooms":"$sid",)
                         . qq("room":"room1"}));
    }

    my $calls = @{requests('event')};

    $a->send_text('42/chat,["typing",{"who":"a"}]');
    is($b->read_packet(5), '42/chat,["typing",{"who":"a"}]',
       'relay: a member of the sender\'s room gets it as sent');

    $a->send_text('42/chat,["cursor","room1",3]');
    is($b->read_packet(5), '42/chat,["cursor","room1",3]',
       'relay room=0: to the room the argument names');

    $a->send_text('42/chat,["cursor","elsewhere",3]');
    $c->send_text('42/chat,["typing"]');     # c is in no room

    my ($st, $d) = push_json($port, '{"nsp":"/chat","event":"end"}');
    is($b->read_packet(5), '42/chat,["end"]',
       'not to a room the sender is not in; not from a sender in none');
    is($c->read_packet(5), '42/chat,["end"]',
       'c, in no room of a\'s, got nothing relayed');
    is($a->read_packet(5), '42/chat,["end"]', 'nor did the sender');
    is(scalar @{requests('event')}, $calls, 'relayed events call no hook');
}

# ------------------------------------------------------------ reload

{
    my $ws = client();
    my $sid = $ws->sio_sid('/chat');
    $t->reload;
    is(reason_of($sid)->{reason}, 'server shutting down', 'a reload');
}

$app->stop;

done_testing;
