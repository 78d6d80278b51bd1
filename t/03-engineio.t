#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Engine.IO v4 over WebSocket: the heartbeat (server pings, pong timeout),
# base64 binary (b64=1 and "b<base64>" from the client), and the packets
# that close the connection.

use strict;
use warnings;

use Test::More;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);
use NgxWs::Test qw(push_json server_conf wait_for);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

# Port 1: a fast heartbeat.  Port 2: a slow one, for the packet tests.
# (ws_ping_timeout 1s, not less: the client must answer in time even on
# a loaded machine; 01-handshake checks 300ms/200ms reach the open packet.)
$t->write_conf(join("\n",
    server_conf(socketio => ['ws_ping_interval 300ms', 'ws_ping_timeout 1s']),
    server_conf(port => 2, push => 1)));
$t->run;

my $fast = $t->port(1);
my $port = $t->port(2);
my $SID = qr/[A-Za-z0-9_-]{20}/;

# ------------------------------------------------------------ heartbeat

# Lines of the error log matching $re.
sub log_lines {
    my ($re) = @_;
    return scalar grep { /$re/ } split /^/, $t->error_log;
}

# The session was closed for a missing pong: close 1000 after the ping
# timeout (1 s), the TCP close, and the log line saying why.
sub closed_for_no_pong {
    my ($ws, $name, $pinged_at) = @_;
    my $before = log_lines(qr/ws: ping timeout, closing/);
    is($ws->wait_closed(5), 1000, "$name: close 1000");
    my $after = time - $pinged_at;
    # (the ping was read a moment after it was sent: some slack)
    ok($after >= 0.5, "$name: not before ws_ping_timeout (after "
                      . sprintf('%.2f', $after) . ' s)');
    is_deeply($ws->after_close, [], "$name: nothing after the close frame");
    ok($ws->tcp_closed, "$name: TCP closed");
    ok(wait_for(5, sub { log_lines(qr/ws: ping timeout, closing/) > $before }),
       "$name: the error log says \"ping timeout\"");
}

{
    # Answered pings keep the session alive for many rounds.
    my $ws = $t->sio_client($fast);
    my $start = time;
    my @got = $ws->drain(3);
    ok(!$ws->closed_early, 'answered pings: still open after 3 s');
    ok(($ws->{pings} // 0) >= 3,
       'pings keep coming (' . ($ws->{pings} // 0) . ' in 3 s)');
    is_deeply(\@got, [], 'nothing but pings');
    ok($ws->alive, 'answered pings: alive, nothing else pending');
}

{
    # The first ping is the text frame "2".
    my $ws = $t->sio_client($fast);
    my $p = $ws->read_packet(5, no_pong => 1);
    is($p, '2', 'server ping is "2"');
    $ws->send_text('3');
    is($ws->read_packet(5, no_pong => 1), '2', 'next ping after a pong');
    $ws->send_text('3');
}

{
    # No pong: closed.
    my $ws = $t->sio_client($fast);
    is($ws->read_packet(5, no_pong => 1), '2', 'no pong: pinged');
    closed_for_no_pong($ws, 'no pong', time);
}

{
    # Same for a session that never connected to a namespace.
    my $ws = $t->eio_client($fast);
    is($ws->read_packet(5, no_pong => 1), '2', 'no CONNECT, no pong: pinged');
    closed_for_no_pong($ws, 'no CONNECT, no pong', time);
}

{
    # WebSocket-level pongs are not Engine.IO pongs.
    my $ws = $t->sio_client($fast);
    is($ws->read_packet(5, no_pong => 1), '2', 'WS pong only: pinged');
    my $at = time;
    $ws->send_pong('2');
    closed_for_no_pong($ws, 'WS pong only', $at);
}

# ------------------------------------------------------------ base64

{
    # b64=1: binary attachments arrive as "b<base64>" text frames.
    my $ws = $t->eio_client($port, query => 'b64=1');
    like($ws->sio_connect('/') // '', qr/^40\{"sid":"$SID"\}\z/,
         'b64=1: connected');
    my ($st, $d) = push_json($port,
        '{"event":"bin","data":[{"$binary":"AQID"}]}');
    is($st, 200, 'b64=1: binary push');
    is($ws->read_packet(5), '451-["bin",{"_placeholder":true,"num":0}]',
       'b64=1: binary event header');
    my $f = $ws->read_frame(5);
    is($f && $f->{opcode}, 1, 'b64=1: attachment in a text frame');
    is($f && $f->{payload}, 'bAQID', 'b64=1: attachment is b<base64>');
}

{
    # Without b64: a binary frame.
    my $ws = $t->sio_client($port);
    push_json($port, '{"event":"bin","data":[{"$binary":"AQID"}]}');
    is($ws->read_packet(5), '451-["bin",{"_placeholder":true,"num":0}]',
       'binary event header');
    my $f = $ws->read_frame(5);
    is($f && $f->{opcode}, 2, 'attachment in a binary frame');
    is($f && $f->{payload}, "\x01\x02\x03", 'attachment bytes');
}

{
    # A client binary event whose attachment comes as "b<base64>" text.
    my $ws = $t->sio_client($port);
    $ws->send_text('451-["up",{"_placeholder":true,"num":0}]');
    $ws->send_text('b' . encode_base64("\x00\xff\x10", ''));
    ok($ws->alive, 'client attachment as b<base64>: accepted');
    push_json($port, '{"event":"after"}');
    is($ws->read_packet(5), '42["after"]',
       'client attachment as b<base64>: still served');

    # ... and as a binary frame, two attachments.
    $ws->send_text('452-["up",{"_placeholder":true,"num":0},'
                   . '{"_placeholder":true,"num":1}]');
    $ws->send_binary("\x01\x02");
    $ws->send_text('bAwQ=');
    ok($ws->alive, 'client attachments, binary frame + b<base64>: accepted');
    push_json($port, '{"event":"after2"}');
    is($ws->read_packet(5), '42["after2"]', 'and still served');
}

{
    # b64=1 with a client binary frame: also accepted.
    my $ws = $t->eio_client($port, query => 'b64=1');
    $ws->sio_connect('/');
    $ws->send_text('451-["up",{"_placeholder":true,"num":0}]');
    $ws->send_binary("\x09");
    ok($ws->alive, 'b64=1, client binary frame: accepted');
}

# ------------------------------------------------------ closing packets

my @closing;
sub closes {
    my ($name, @frames) = @_;
    my $ws = $t->sio_client($port);
    for my $f (@frames) {
        ref $f ? $ws->send_binary($$f) : $ws->send_text($f);
    }
    push @closing, [$ws, $name];
}

closes('empty text frame', '');
closes('unknown packet type "9"', '9');
closes('unknown packet type "x"', 'xyz');
closes('client ping "2"', '2');
closes('client ping "2probe"', '2probe');
closes('client close "1"', '1');
closes('binary frame nobody expects', \"\x01\x02");
closes('"b" message nobody expects', 'bAQID');

# Engine.IO closes the transport on these; here with a normal close.
for (@closing) {
    my ($ws, $name) = @$_;
    is($ws->wait_closed(10), 1000, "$name: close 1000");
    is_deeply($ws->after_close, [], "$name: nothing after the close frame");
    ok($ws->tcp_closed, "$name: TCP closed");
}

{
    # A pong nobody asked for is harmless, and "4" messages are
    # Socket.IO's.
    my $ws = $t->sio_client($port);
    $ws->send_text('3');
    ok($ws->alive, 'unsolicited pong "3": harmless');
    $ws->send_text('42["ev"]');
    ok($ws->alive, 'message "42[...]": accepted');
}

done_testing;
