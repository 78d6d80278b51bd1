#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Bad input in bulk: garbage after the upgrade, absurd length headers,
# connections dropped mid-handshake or mid-frame, random frames.  The
# worker never dies and a client that behaves is never affected.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use NgxWs::Test qw(get_json push_json wait_for server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(
    socketio => ['ws_namespace /chat', 'ws_max_payload 100000'],
    push => 1, health => 1));
$t->run;

my $port = $t->port;
my @workers = $t->worker_pids;
srand(20260501);    # the same "random" input on every run

# A client that behaves, connected all along.
my $good = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/', '/chat']);
ok($good, 'the good client is connected');
my $seq = 0;

sub good_still_served {
    my ($name) = @_;
    $seq++;
    my ($st, $d) = push_json($port,
        qq({"nsp":"/chat","rooms":["${\ $good->sio_sid('/chat')}"],)
        . qq("event":"seq","data":[$seq]}));
    is($st, 200, "$name: push answered");
    is($good->read_packet(5), qq(42/chat,["seq",$seq]),
       "$name: the good client still gets its pushes");
    is_deeply([$t->worker_pids], \@workers, "$name: the worker is the same");
}

sub rand_bytes {
    my ($n) = @_;
    return join '', map { chr int rand 256 } 1 .. $n;
}

sub upgraded {
    my $ws = NgxWs::WebSocket->new(port => $port);
    return undef unless $ws && ($ws->status // 0) == 101;
    $ws->eio_open;
    return $ws;
}

sub abort_conn {
    my ($sock) = @_;
    # RST instead of FIN.
    setsockopt($sock, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $sock;
}

# --------------------------------------------------- garbage after 101

# The close code for a stream that starts with $b, told by its first frame
# header alone, in the order the server checks it (RFC 6455 5.2, 5.5):
# 1002 for a protocol error, 1009 for a length over ws_max_payload; undef
# when the header is valid (then what follows decides).
sub header_close_code {
    my ($b, $max) = @_;
    my ($b0, $b1) = unpack('CC', $b);
    my $op = $b0 & 0x0F;
    my $control = $op >= 8;
    return 1002 if $b0 & 0x70;                            # RSV bits
    return 1002 unless grep { $op == $_ } 1, 2, 8, 9, 10; # no message open
    return 1002 unless $b1 & 0x80;                        # unmasked
    my $len = $b1 & 0x7F;
    return 1002 if $control
                   && (!($b0 & 0x80) || $len > 125 || ($op == 8 && $len == 1));
    if ($len == 126) {
        $len = unpack('n', substr($b, 2, 2));
    } elsif ($len == 127) {
        return 1002 if ord(substr($b, 2, 1)) & 0x80;
        $len = unpack('Q>', substr($b, 2, 8));
    }
    return 1009 if !$control && $len > $max;
    return undef;
}

{
    # Random bytes whose first frame header is wrong (most are): each is
    # closed with the code for what is wrong first, and nothing follows
    # the close frame.
    my @c;
    for my $i (1 .. 30) {
        my $ws = upgraded() or next;
        my ($bytes, $code);
        do {
            $bytes = rand_bytes(10 + int rand 8183);
            $code = header_close_code($bytes, 100000);
        } until defined $code;
        $ws->send_raw($bytes);
        push @c, [$ws, $code, $i];
    }
    is(scalar @c, 30, 'garbage: 30 upgraded clients');
    for (@c) {
        my ($ws, $code, $i) = @$_;
        is($ws->wait_closed(10), $code, "garbage $i: close $code");
        is_deeply($ws->after_close, [],
                  "garbage $i: nothing after the close frame");
    }
}
good_still_served('after garbage');

# ------------------------------------------------ absurd length headers

{
    my @cases = (
        ['64-bit length 2^63-1', pack('CCNN', 0x82, 0xFF, 0x7FFFFFFF,
                                      0xFFFFFFFF)],
        ['64-bit length with the top bit', pack('CCNN', 0x82, 0xFF,
                                                0xFFFFFFFF, 0xFFFFFFFF)],
        ['64-bit length 2^32', pack('CCQ>', 0x81, 0xFF, 4294967296)],
        ['16-bit length 65535 (under the limit), payload never complete',
            pack('CCn', 0x81, 0xFE, 65535)],
        ['control frame with a 64-bit length', pack('CCQ>', 0x89, 0xFF, 1)],
    );
    my @c;
    for my $case (@cases) {
        my $ws = upgraded() or next;
        $ws->send_raw($case->[1] . 'mask');
        push @c, [$ws, $case->[0]];
    }
    my ($w0, $w1, $w2, $w3, $w4) = map { $_->[0] } @c;
    is($w0->wait_closed(10), 1009, '2^63-1: close 1009');
    is($w1->wait_closed(10), 1002, 'top bit set: close 1002');
    is($w2->wait_closed(10), 1009, '2^32: close 1009');
    is($w4->wait_closed(10), 1002, 'control frame, 64-bit length: 1002');

    # 65535 is under the limit: the server waits for the payload.  Half
    # of it, a pause, then the rest: one Engine.IO noop ("6...", which
    # means nothing), and a ping's pong is the next thing the server
    # sends (the barrier): it waited for the whole frame.
    my $payload = '6' . ('x' x 65534);
    my $masked = NgxWs::WebSocket::mask_bytes($payload, 'mask');
    $w3->send_raw(substr($masked, 0, 30000));
    select(undef, undef, undef, 0.2);
    $w3->send_raw(substr($masked, 30000));
    is_deeply($w3->barrier, [],
              'a 64 KB frame in two halves: read whole, nothing sent back');
    $w3->close;
}
good_still_served('after huge lengths');

# ----------------------------------------- dropped mid-handshake, mid-frame

{
    my $key = NgxWs::WebSocket::random_key();
    my $req = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            . "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
    my @s;
    for my $i (1 .. 300) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port) or next;
        my $cut = $i % 3 == 0 ? length $req : int rand length $req;
        syswrite($s, substr($req, 0, $cut));
        push @s, $s;
    }
    is(scalar @s, 300, '300 connections with partial or whole requests');
    for my $i (0 .. $#s) {
        $i % 2 ? close $s[$i] : abort_conn($s[$i]);
    }

    # Upgraded, then dropped in the middle of a frame, FIN or RST.
    for my $i (1 .. 100) {
        my $ws = upgraded() or next;
        $ws->sio_connect('/chat') if $i % 2;
        my $f = NgxWs::WebSocket::build_frame(1, '42/chat,["' . ('z' x 500)
                                                 . '"]');
        $ws->send_raw(substr($f, 0, 1 + int rand(length($f) - 1)));
        $i % 4 < 2 ? $ws->close : abort_conn($ws->sock);
    }

    my $d;
    ok(wait_for(10, sub {
        (undef, $d) = get_json($port, '/health');
        $d && $d->{connections} == 1 && $d->{namespaces}{'/chat'} == 1;
    }), 'every dropped connection is gone (health: 1 connection left)')
        or diag(explain($d));
}
good_still_served('after dropped connections');

# --------------------------------------------------------- random frames

{
    my @c;
    for my $i (1 .. 100) {
        my $ws = upgraded() or next;
        $ws->sio_connect('/') if $i % 2;
        for (1 .. 1 + int rand 5) {
            my $op = (0, 1, 2, 8, 9, 10, int rand 16)[int rand 7];
            my $payload = rand() < 0.5
                ? rand_bytes(int rand 300)
                : ('40', '41', '42', '4', '2', '3', 'b', '451-', '42/chat,',
                   '40/chat,')[int rand 10]
                  . rand_bytes(int rand 20);
            $ws->send_frame($op, $payload, fin => rand() < 0.8 ? 1 : 0,
                            rsv => rand() < 0.1 ? int rand 8 : 0,
                            mask => rand() < 0.95 ? 1 : 0);
        }
        push @c, $ws;
    }
    is(scalar @c, 100, 'random frames: 100 clients');
    $_->close for @c;
    ok(wait_for(10, sub {
        my (undef, $d) = get_json($port, '/health');
        $d && $d->{connections} == 1;
    }), 'random frames: all gone');
}
good_still_served('after random frames');

# ---------------------------------------- many valid frames at once

{
    # 2,000 small frames in one write: all processed, in order.
    my $ws = upgraded();
    $ws->sio_connect('/');
    my $burst = join '', map { NgxWs::WebSocket::build_frame(1,
                                   qq(42["n",$_])) } 1 .. 2000;
    $burst .= NgxWs::WebSocket::build_frame(9, 'end-of-burst');
    $ws->send_raw($burst);
    my $pong;
    while (my $f = $ws->read_frame(10)) {
        next unless $f->{opcode} == 0xA;
        $pong = $f->{payload};
        last;
    }
    is($pong, 'end-of-burst', '2,000 frames in one write: all read');
}
good_still_served('after the burst');

# --------------------------------------- bad requests to the other endpoints

{
    for my $raw ("POST /_ws/push HTTP/1.1\r\nHost: x\r\n"
                 . "Content-Type: application/json\r\nContent-Length: 5\r\n\r\n",
                 "POST /_ws/push HTTP/1.1\r\nHost: x\r\n"
                 . "Content-Type: application/json\r\n"
                 . "Content-Length: 99999999999999999999\r\n\r\n{}",
                 "GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 . "Connection: Upgrade\r\n\r\n") {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port) or next;
        syswrite($s, $raw);
        close $s;
    }
    for my $i (1 .. 50) {
        my $json = rand_bytes(int rand 200);
        push_json($port, $json);
        push_json($port, '{"rooms":["nobody"],"event":"e","data":['
                         . rand_bytes(20) . ']}');
    }
}
good_still_served('after bad pushes');

done_testing;
