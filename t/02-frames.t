#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# RFC 6455 framing: each protocol error gets its close code (1002, 1007,
# 1009), fragmentation and control frames between fragments work, ping ->
# pong, the close handshake.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json server_conf);
use NgxWs::WebSocket;

use constant {
    CONT => 0x0, TEXT => 0x1, BINARY => 0x2,
    CLOSE => 0x8, PING => 0x9, PONG => 0xA,
};

my $t = NgxWs::Test->new->require_module;

# ws_max_payload 1000: a message of exactly 1000 bytes passes, 1001 is
# closed with 1009.
$t->write_conf(server_conf(
    socketio => ['ws_namespace /chat', 'ws_max_payload 1000'], push => 1));
$t->run;

my $port = $t->port;
my @workers = $t->worker_pids;
my $SID = qr/[A-Za-z0-9_-]{20}/;

# Sends what $send does on a fresh connected client and expects close code
# $code then the TCP close.  The cases run side by side (check_closes):
# after a failed connection the server waits a moment for the client's
# end of stream before closing TCP, and that need not add up.
my @closing;

sub closes_with {
    my ($code, $name, $send) = @_;
    my $ws = $t->sio_client;
    $send->($ws);
    push @closing, [$ws, $code, $name];
}

sub check_closes {
    for (@closing) {
        my ($ws, $code, $name) = @$_;
        my $got = $ws->wait_closed(10);
        is($got, $code, "$name: close $code");
        is_deeply($ws->after_close, [],
                  "$name: nothing after the close frame");
        ok($ws->tcp_closed, "$name: TCP closed after");
    }
    @closing = ();
}

# ------------------------------------------------------------ 1002

closes_with(1002, 'unmasked frame', sub {
    $_[0]->send_text('42["x"]', mask => 0);
});
closes_with(1002, 'unmasked ping', sub {
    $_[0]->send_ping('p', mask => 0);
});
for my $rsv (1, 2, 4, 7) {
    closes_with(1002, "RSV bits $rsv", sub {
        $_[0]->send_text('42["x"]', rsv => $rsv);
    });
}
closes_with(1002, 'RSV bit on a ping', sub {
    $_[0]->send_ping('p', rsv => 4);
});
for my $op (3, 4, 5, 6, 7, 0xB, 0xC, 0xF) {
    closes_with(1002, sprintf('unknown opcode 0x%X', $op), sub {
        $_[0]->send_frame($op, 'x');
    });
}
closes_with(1002, 'fragmented ping', sub {
    $_[0]->send_ping('p', fin => 0);
});
closes_with(1002, 'fragmented close', sub {
    $_[0]->send_close(1000, '', fin => 0);
});
closes_with(1002, 'ping of 126 bytes', sub {
    $_[0]->send_ping('p' x 126);
});
closes_with(1002, 'pong of 200 bytes', sub {
    $_[0]->send_pong('p' x 200);
});
closes_with(1002, 'close of 126 bytes', sub {
    $_[0]->send_close(1000, 'r' x 124);
});
closes_with(1002, 'continuation without a start', sub {
    $_[0]->send_frame(CONT, '42["x"]');
});
closes_with(1002, 'final continuation without a start', sub {
    $_[0]->send_frame(CONT, 'x', fin => 1);
});
closes_with(1002, 'text while a text message is open', sub {
    $_[0]->send_text('42["x"', fin => 0);
    $_[0]->send_text('42["y"]');
});
closes_with(1002, 'binary while a text message is open', sub {
    $_[0]->send_text('42["x"', fin => 0);
    $_[0]->send_binary('yy', fin => 0);
});
closes_with(1002, 'close payload of 1 byte', sub {
    $_[0]->send_frame(CLOSE, "\x03");
});
for my $code (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
              65535)
{
    closes_with(1002, "close code $code", sub {
        $_[0]->send_close($code);
    });
}

# ------------------------------------------------------------ 1007

closes_with(1007, 'invalid UTF-8 (0xFF)', sub {
    $_[0]->send_text("42[\"\xff\"]");
});
closes_with(1007, 'truncated sequence at the end', sub {
    $_[0]->send_text("42[\"\xc3");
});
closes_with(1007, 'overlong encoding', sub {
    $_[0]->send_text("42[\"\xc0\xaf\"]");
});
closes_with(1007, 'UTF-16 surrogate', sub {
    $_[0]->send_text("42[\"\xed\xa0\x80\"]");
});
closes_with(1007, 'code point over U+10FFFF', sub {
    $_[0]->send_text("42[\"\xf4\x90\x80\x80\"]");
});
closes_with(1007, 'invalid UTF-8 across fragments', sub {
    $_[0]->send_text("42[\"\xe2\x82", fin => 0);
    $_[0]->send_frame(CONT, "\x28\"]");
});
closes_with(1007, 'message ends inside a sequence split by fragments', sub {
    $_[0]->send_text("42[\"x\xe2", fin => 0);
    $_[0]->send_frame(CONT, "\x82");
});
closes_with(1007, 'invalid UTF-8 in the close reason', sub {
    $_[0]->send_close(1000, "bye\xff");
});

# ------------------------------------------------------------ 1009

closes_with(1009, 'message of ws_max_payload + 1', sub {
    my $p = '42["e","' . ('x' x 1000) . '"]';
    $_[0]->send_text(substr($p, 0, 1001));
});
closes_with(1009, 'fragments adding up past ws_max_payload', sub {
    $_[0]->send_text('42["e","' . ('x' x 500), fin => 0);
    $_[0]->send_frame(CONT, 'x' x 400, fin => 0);
    $_[0]->send_frame(CONT, 'x' x 200 . '"]');
});
closes_with(1009, 'binary frame past ws_max_payload', sub {
    $_[0]->send_binary("\x00" x 1500);
});
closes_with(1009, 'announced length past it (16-bit), no payload sent', sub {
    $_[0]->send_raw(pack('CCn', 0x81, 0x80 | 126, 60000) . 'mask');
});
closes_with(1009, 'announced length past it (64-bit), no payload sent', sub {
    $_[0]->send_raw(pack('CCQ>', 0x81, 0x80 | 127, 1 << 40) . 'mask');
});

check_closes();

{
    my $ws = $t->sio_client;
    my $p = '42["e","' . ('x' x 1000);
    $p = substr($p, 0, 998) . '"]';
    is(length $p, 1000, 'a message of exactly ws_max_payload bytes');
    $ws->send_text($p);
    ok($ws->alive, 'exactly ws_max_payload: accepted');
}

# ------------------------------------------------------ fragmentation

{
    # A CONNECT in three fragments with a ping between two of them: the
    # pong comes while the message is open, then the CONNECT reply.
    my $ws = $t->eio_client;
    $ws->send_text('4', fin => 0);
    $ws->send_ping('between');
    $ws->send_frame(CONT, '', fin => 0);
    $ws->send_frame(CONT, '0', fin => 1);
    my ($pong, $reply);
    while (my $f = $ws->read_frame(5)) {
        if ($f->{opcode} == PONG) {
            $pong = $f->{payload};
            next;
        }
        $reply = $f->{payload} if $f->{opcode} == TEXT;
        last;
    }
    is($pong, 'between', 'ping between fragments: pong');
    like($reply // '', qr/^40\{"sid":"$SID"\}\z/,
         'fragmented CONNECT delivered');
}

{
    # The same with a pong (unsolicited) between fragments, and a
    # multi-byte character split across fragments: valid.
    my $ws = $t->eio_client;
    $ws->send_text("40/chat,{\"n\":\"\xc3", fin => 0);
    $ws->send_pong('unsolicited');
    $ws->send_frame(CONT, "\xa9\"}");
    my $r = $ws->read_packet(5);
    like($r // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
         'UTF-8 split across fragments is valid');
    ok($ws->alive, 'still open');
}

{
    # One frame sent a byte at a time, then two frames in one write.
    my $ws = $t->eio_client;
    my $bytes = NgxWs::WebSocket::build_frame(TEXT, '40');
    for my $b (split //, $bytes) {
        $ws->send_raw($b);
        select(undef, undef, undef, 0.01);
    }
    like($ws->read_packet(5) // '', qr/^40\{"sid":"$SID"\}\z/,
         'a frame sent byte by byte');
    $ws->send_raw(NgxWs::WebSocket::build_frame(TEXT, '40/chat,')
                  . NgxWs::WebSocket::build_frame(PING, 'two'));
    like($ws->read_packet(5) // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
         'two frames in one write: first');
    my $f = $ws->read_frame(5);
    ok($f && $f->{opcode} == PONG && $f->{payload} eq 'two',
       'two frames in one write: then the pong to the ping');
    ok($ws->alive, 'two frames in one write: nothing else');
}

{
    # Frames sent in the same write as the upgrade request.
    my $key = NgxWs::WebSocket::random_key();
    my $ws = NgxWs::WebSocket->new(port => $port, request =>
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        . "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n"
        . NgxWs::WebSocket::build_frame(TEXT, '40'));
    is($ws->status, 101, 'frame with the request: 101');
    ok($ws->eio_open, 'frame with the request: open packet');
    like($ws->read_packet(5) // '', qr/^40\{"sid":"$SID"\}\z/,
         'frame with the request: CONNECT handled');
}

{
    # A masked frame with a 16-bit length (a long event), accepted.
    my $ws = $t->sio_client;
    $ws->send_text('42["e","' . ('y' x 300) . '"]');
    ok($ws->alive, '16-bit length frame accepted');
}

# --------------------------------------------------------- ping / pong

{
    my $ws = $t->eio_client;
    for my $p ('', 'hello', join('', map { chr } 0 .. 124)) {
        $ws->send_ping($p);
        my $f = $ws->read_frame(5);
        ok($f && $f->{opcode} == PONG && $f->{fin}, 'pong to a ping of '
           . length($p) . ' bytes');
        is($f && $f->{payload}, $p, 'pong payload = ping payload ('
           . length($p) . ' bytes)');
    }
}

# ------------------------------------------------------------- close

for my $case ([undef, 1000, 'no code'], [1000, 1000, '1000'],
              [1001, 1001, '1001'], [3000, 3000, '3000'],
              [4999, 4999, '4999'], [1000, 1000, '1000 with a reason', 'bye'])
{
    my ($send, $want, $name, $reason) = @$case;
    my $ws = $t->sio_client;
    $ws->send_close($send, $reason);
    is($ws->wait_closed(5), $want, "client close ($name): echoed $want");
    ok($ws->tcp_closed, "client close ($name): TCP closed");
}

{
    # A close frame while a fragmented message is open is still a close.
    my $ws = $t->sio_client;
    $ws->send_text('42["x"', fin => 0);
    $ws->send_close(1000);
    is($ws->wait_closed(5), 1000, 'close inside a fragmented message');
}

{
    # Data after the close frame is ignored, and the server sends nothing
    # after its own close frame: what follows it on the wire is the end
    # of the stream.
    my $ws = $t->sio_client;
    $ws->send_raw(NgxWs::WebSocket::build_frame(CLOSE, pack('n', 1000))
                  . NgxWs::WebSocket::build_frame(TEXT, '40/chat,'));
    $ws->{close_sent} = 1;
    my $code = $ws->wait_closed(5);
    is($code, 1000, 'data after close: close echoed');
    is_deeply($ws->{skipped} || [], [],
              'data after close: nothing before the close frame');
    is_deeply($ws->after_close, [],
              'data after close: nothing after the close frame');
    ok($ws->tcp_closed, 'data after close: then TCP closed');
}

{
    # The same when the server closes first (a protocol error): its close
    # frame is the last thing it writes, whatever the client sends after.
    my $ws = $t->sio_client;
    $ws->send_raw(NgxWs::WebSocket::build_frame(TEXT, '42["x"]', mask => 0)
                  . NgxWs::WebSocket::build_frame(TEXT, '40/chat,')
                  . NgxWs::WebSocket::build_frame(PING, 'late'));
    is($ws->wait_closed(5), 1002, 'after a server close: 1002');
    is_deeply($ws->after_close, [],
              'after a server close: nothing after the close frame');
    ok($ws->tcp_closed, 'after a server close: then TCP closed');
}

# ------------------------------------------------------------- the end

# Pushes still reach a client that has been there all along.
{
    my $ws = $t->sio_client;
    my ($st, $d) = push_json($port, '{"event":"still"}');
    is($st, 200, 'push after the error cases');
    is($ws->read_packet(5), '42["still"]', 'push delivered');
}

is_deeply([$t->worker_pids], \@workers, 'the worker never restarted');

done_testing;
