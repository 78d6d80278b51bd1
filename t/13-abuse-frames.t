#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: frames that break RFC 6455, and the exact close code each one
# gets: unmasked client frames, RSV bits, reserved opcodes, control
# frames over 125 bytes or fragmented, continuations out of place,
# close frames with bad codes (1002); invalid UTF-8 in text messages,
# across fragments and in close reasons (1007); messages over
# ws_max_payload (1009).
#
# Then random bit flips in the headers of a valid stream, each answered
# as a reference parser written here from the RFC predicts (pongs, then
# the close code, or nothing while a frame is incomplete).  The worker
# survives every one and a connected client is served throughout.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use NgxWs::Test qw(server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx connections_are good_client
    good_served);

use constant MAX_PAYLOAD => 100000;
use constant RANDOM      => 300;

my ($t, $port, $pid) = start_nginx(server_conf(
    socketio => ['ws_max_payload ' . MAX_PAYLOAD], push => 1, health => 1));
srand(20261129);    # the same "random" flips on every run

good_client($port, room => 1);

# ------------------------------------------------------------ the model

# RFC 3629 UTF-8, whole and as a prefix (a fragment may end inside a
# character).
my $U8 = qr/(?:[\x00-\x7F]|[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]
              |[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}|\xED[\x80-\x9F][\x80-\xBF]
              |\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}
              |\xF4[\x80-\x8F][\x80-\xBF]{2})/x;
my $U8_PART = qr/(?:[\xC2-\xDF]|\xE0[\xA0-\xBF]?|[\xE1-\xEC\xEE\xEF][\x80-\xBF]?
                   |\xED[\x80-\x9F]?|\xF0(?:[\x90-\xBF][\x80-\xBF]?)?
                   |[\xF1-\xF3](?:[\x80-\xBF]{1,2})?
                   |\xF4(?:[\x80-\x8F][\x80-\xBF]?)?)/x;

# (a loop, not $U8*: no regex recursion limit on long messages)
sub utf8_rest {
    my ($s) = @_;
    pos($s) = 0;
    1 while $s =~ /\G$U8/gc;
    return substr($s, pos($s) // 0);
}

sub utf8_whole  { utf8_rest($_[0]) eq '' }
sub utf8_prefix { utf8_rest($_[0]) =~ /\A$U8_PART?\z/ }

sub close_code_valid {
    my ($c) = @_;
    return ($c >= 1000 && $c <= 1003) || ($c >= 1007 && $c <= 1011)
           || ($c >= 3000 && $c <= 4999);
}

# What an Engine.IO session that joined no namespace does with a whole
# message: undef (nothing), a close code, or 'skip' (a Socket.IO packet,
# which the model does not predict).
sub eio_message {
    my ($op, $p) = @_;
    return 1000 if $op == 2;                 # binary: no packet awaits it
    return 1000 if $p eq '';
    my $type = substr($p, 0, 1);
    return 'skip' if $type eq '4';
    return undef if $type =~ /^[0356]\z/;    # open, pong, upgrade, noop
    return 1000;                             # close, ping, b<...>, garbage
}

# The server's answer to a byte stream from a client: {pongs => [...],
# close => code or undef (waiting for more)}, or 'skip'.
sub model {
    my ($bytes) = @_;
    my ($pos, $frag_op, $frag) = (0, 0, '');
    my @pongs;
    my $res = sub { return { pongs => [@pongs], close => $_[0] } };

    while (1) {
        my $avail = length($bytes) - $pos;
        return $res->(undef) if $avail < 2;
        my ($b0, $b1) = unpack('CC', substr($bytes, $pos, 2));
        my $fin = $b0 & 0x80;
        my $op = $b0 & 0x0F;
        return $res->(1002) if $b0 & 0x70;
        my $control = $op >= 8;
        if ($op == 0) {
            return $res->(1002) unless $frag_op;
        } elsif ($op == 1 || $op == 2) {
            return $res->(1002) if $frag_op;
        } elsif ($op > 10 || ($op > 2 && $op < 8)) {
            return $res->(1002);
        }
        return $res->(1002) unless $b1 & 0x80;
        my $len = $b1 & 0x7F;
        return $res->(1002)
            if $control && (!$fin || $len > 125 || ($op == 8 && $len == 1));
        my $hlen = 2;
        if ($len == 126) {
            $hlen = 4;
            return $res->(undef) if $avail < $hlen;
            $len = unpack('n', substr($bytes, $pos + 2, 2));
        } elsif ($len == 127) {
            $hlen = 10;
            return $res->(undef) if $avail < $hlen;
            return $res->(1002) if ord(substr($bytes, $pos + 2, 1)) & 0x80;
            $len = unpack('Q>', substr($bytes, $pos + 2, 8));
        }
        return $res->(1009)
            if !$control && length($frag) + $len > MAX_PAYLOAD;
        $hlen += 4;
        return $res->(undef) if $avail < $hlen + $len;
        my $p = NgxWs::WebSocket::mask_bytes(
            substr($bytes, $pos + $hlen, $len),
            substr($bytes, $pos + $hlen - 4, 4));
        $pos += $hlen + $len;

        if ($op == 8) {
            return $res->(1000) if $len == 0;
            my $code = unpack('n', $p);
            return $res->(1002) unless close_code_valid($code);
            return $res->(1007) unless utf8_whole(substr($p, 2));
            return $res->($code);
        }
        if ($op == 9) {
            push @pongs, $p;
            next;
        }
        next if $op == 10;

        my $msg_op;
        if ($op != 0 && $fin) {
            return $res->(1007) if $op == 1 && !utf8_whole($p);
            $msg_op = $op;
        } else {
            ($frag_op, $frag) = ($op, '') if $op != 0;
            $frag .= $p;
            return $res->(1007) if $frag_op == 1 && !utf8_prefix($frag);
            next unless $fin;
            return $res->(1007) if $frag_op == 1 && !utf8_whole($frag);
            ($msg_op, $p) = ($frag_op, $frag);
            ($frag_op, $frag) = (0, '');
        }
        my $r = eio_message($msg_op, $p);
        return 'skip' if defined $r && $r eq 'skip';
        return $res->($r) if defined $r;
    }
}

# ------------------------------------------------------------ running cases

sub frame {
    my ($op, $payload, %o) = @_;
    return NgxWs::WebSocket::build_frame($op, $payload,
                                         mask_key => "\0\0\0\0", %o);
}

sub unmasked { NgxWs::WebSocket::build_frame($_[0], $_[1], mask => 0) }

# A raw frame header, for lengths build_frame would not write.
sub raw_header {
    my ($b0, $len_byte, $ext) = @_;
    return pack('CC', $b0, $len_byte) . ($ext // '') . "\0\0\0\0";
}

sub hexdump { join ' ', map { sprintf '%02x', $_ } unpack('C*', substr($_[0], 0, 40)) }

# Sends each case's bytes on a connection of its own (all at once), then
# reads what each got: pongs, and the close code or nothing.
sub run_cases {
    my (@cases) = @_;
    for my $c (@cases) {
        $c->{ws} = $t->eio_client;
        $c->{ws}->send_raw($c->{bytes});
    }
    sleep 0.5;
    for my $c (@cases) {
        my $ws = $c->{ws};
        # an expected answer is waited for; silence only briefly, past
        # the 0.5 s all of them had
        my $want = @{$c->{expect}{pongs}};
        my $end = time + 5;
        my (@pongs, $code, @other);
        while (my $f = $ws->read_frame(
                   defined $c->{expect}{close} || @pongs < $want
                   ? $end - time : 0.05)) {
            if ($f->{opcode} == 0xA) {
                push @pongs, $f->{payload};
            } elsif ($f->{opcode} == 8) {
                $code = NgxWs::WebSocket::close_code($f);
                last;
            } else {
                push @other, $f;
            }
        }
        $c->{got} = { pongs => \@pongs, close => $code };
        $c->{got}{other} = scalar @other if @other;
        $ws->close;
        delete $c->{ws};
    }
}

my $rss0 = vm_rss($pid);

# ------------------------------------------------------------ named cases

my $ok6 = frame(1, '6');          # a valid Engine.IO noop
my @named = (
    ['unmasked text', unmasked(1, '6'), 1002],
    ['unmasked ping', unmasked(9, 'x'), 1002],
    ['unmasked close', unmasked(8, pack('n', 1000)), 1002],
    ['unmasked after valid frames', $ok6 . frame(9, 'a') . unmasked(1, '6'),
     1002, ['a']],
    (map { ["RSV$_ on a text frame", frame(1, '6', rsv => 1 << (3 - $_)),
            1002] } 1 .. 3),
    ['RSV1 on a ping', frame(9, 'x', rsv => 4), 1002],
    ['RSV3 on a continuation', frame(1, '6', fin => 0)
                               . frame(0, '', rsv => 1), 1002],
    (map { [sprintf('reserved opcode 0x%X', $_), frame($_, '6'), 1002] }
         3 .. 7, 0xB .. 0xF),
    ['ping of 126 bytes', frame(9, 'p' x 126), 1002],
    ['pong of 126 bytes', frame(0xA, 'p' x 126), 1002],
    ['close of 126 bytes', frame(8, pack('n', 1000) . 'r' x 124), 1002],
    ['ping with a 64-bit length of 5', raw_header(0x89, 0xFF,
                                                  pack('Q>', 5)) . 'x' x 5,
     1002],
    ['ping of 125 bytes (the limit)', frame(9, 'p' x 125) . frame(9, 'z'),
     undef, ['p' x 125, 'z']],
    ['fragmented ping', frame(9, 'x', fin => 0), 1002],
    ['fragmented pong', frame(0xA, 'x', fin => 0), 1002],
    ['fragmented close', frame(8, pack('n', 1000), fin => 0), 1002],
    ['continuation with no message', frame(0, '6'), 1002],
    ['text inside a fragmented message', frame(1, '6', fin => 0)
                                         . frame(1, '6'), 1002],
    ['binary inside a fragmented text', frame(1, '6', fin => 0)
                                        . frame(2, 'x'), 1002],
    ['ping inside a fragmented message (allowed)',
     frame(1, '6', fin => 0) . frame(9, 'in') . frame(0, '') . frame(9, 'z'),
     undef, ['in', 'z']],
    ['close with a 1-byte payload', frame(8, 'x'), 1002],
    (map { ["close code $_", frame(8, pack('n', $_)), 1002] }
         0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
         65535),
    (map { ["close code $_ (echoed)", frame(8, pack('n', $_) . 'bye'), $_] }
         1000, 1001, 1003, 1011, 3000, 4999),
    ['empty close', frame(8, ''), 1000],
    ['64-bit length with the top bit set',
     raw_header(0x81, 0xFF, pack('NN', 0x80000000, 1)), 1002],
    ['text over ws_max_payload (header only)',
     raw_header(0x81, 0xFF, pack('Q>', MAX_PAYLOAD + 1)), 1009],
    ['text of exactly ws_max_payload announced (waits for it)',
     raw_header(0x81, 0xFF, pack('Q>', MAX_PAYLOAD)) . '6', undef],
    ['fragments over ws_max_payload in all',
     frame(1, '6' x 60000, fin => 0) . frame(0, 'x' x 40001), 1009],
    ['fragments of exactly ws_max_payload in all',
     frame(1, '6' x 60000, fin => 0) . frame(0, 'x' x 40000)
     . frame(9, 'z'), undef, ['z']],
    (map { ["invalid UTF-8 in a text frame: $_->[0]", frame(1, "6$_->[1]"),
            1007] }
         ['0xFF', "\xff"], ['overlong /', "\xc0\xaf"],
         ['surrogate U+D800', "\xed\xa0\x80"],
         ['above U+10FFFF', "\xf4\x90\x80\x80"],
         ['cut at the end', "\xe2\x82"], ['lone continuation', "\x80"],
         ['5-byte form', "\xf8\x88\x80\x80\x80"]),
    ['invalid UTF-8 across fragments', frame(1, "6\xe2", fin => 0)
                                       . frame(0, "\x28\xa1"), 1007],
    ['invalid UTF-8 in a later fragment', frame(1, '6', fin => 0)
                                          . frame(0, 'ok', fin => 0)
                                          . frame(0, "\xff"), 1007],
    ['message ending inside a character', frame(1, "6\xe2\x82", fin => 0)
                                          . frame(0, ''), 1007],
    ['a character split across fragments (valid)',
     frame(1, "6\xe2", fin => 0) . frame(0, "\x82", fin => 0)
     . frame(0, "\xac") . frame(9, 'ok'), undef, ['ok']],
    ['invalid UTF-8 in a close reason', frame(8, pack('n', 1000) . "\xff"),
     1007],
    ['bytes that are not UTF-8 in a binary frame (Engine.IO closes, not '
     . '1007)', frame(2, "\xff"), 1000],
);

my @cases = map {
    { name => $_->[0], bytes => $_->[1],
      expect => { pongs => $_->[3] || [], close => $_->[2] } }
} @named;

# The model agrees with every hand-written expectation.
{
    my @wrong = grep { !eq_deeply_model($_) } @cases;
    is(join(', ', map { $_->{name} } @wrong), '',
       'the reference parser predicts every named case');
}

sub eq_deeply_model {
    my ($c) = @_;
    my $m = model($c->{bytes});
    return 0 unless ref $m;
    return 0 unless ($m->{close} // 'none') eq ($c->{expect}{close} // 'none');
    return join("\0", @{$m->{pongs}}) eq join("\0", @{$c->{expect}{pongs}});
}

run_cases(@cases);
for my $c (@cases) {
    is_deeply($c->{got}, $c->{expect}, $c->{name} . ': '
              . (defined $c->{expect}{close}
                 ? "close $c->{expect}{close}" : 'no close'))
        or diag(hexdump($c->{bytes}));
}
good_served('after the named cases');

# ------------------------------------------------------------ random flips

# A valid stream: a noop, a ping, a fragmented noop with a ping inside, a
# pong, a 16-bit-length noop, a close.  Its headers (first bytes, length
# bytes, mask keys) are where bits are flipped.
my @stream = (
    [1, '6', 1], [9, 'p1', 1], [1, '6', 0], [9, 'p2', 1], [0, 'zz', 1],
    [0xA, 'x', 1], [1, '6' . 'z' x 129, 1], [9, 'p3', 1],
    [8, pack('n', 1000) . 'bye', 1],
);
my ($base, @header_bytes) = ('');
for my $f (@stream) {
    my $b = frame($f->[0], $f->[1], fin => $f->[2]);
    my $hlen = length($b) - length($f->[1]);
    push @header_bytes, length($base) .. length($base) + $hlen - 1;
    $base .= $b;
}
is_deeply(model($base), { pongs => ['p1', 'p2', 'p3'], close => 1000 },
          'the unflipped stream: three pongs, the close echoed');

my @random;
while (@random < RANDOM) {
    my $b = $base;
    my @flips;
    for (1 .. 1 + int rand 3) {
        my $at = $header_bytes[int rand @header_bytes];
        my $bit = int rand 8;
        substr($b, $at, 1) = chr(ord(substr($b, $at, 1)) ^ (1 << $bit));
        push @flips, "$at:$bit";
    }
    my $m = model($b);
    next unless ref $m;
    push @random, { name => "flips @flips", bytes => $b, expect => $m };
}

{
    my %kinds;
    $kinds{$_->{expect}{close} // 'waits'}++ for @random;
    note('random flips predicted: '
         . join(', ', map { "$_: $kinds{$_}" } sort keys %kinds));
    # the flips reach every kind of answer
    ok($kinds{$_}, "some flips predict $_") for 1000, 1002, 1007, 'waits';
}

# In rounds, so that the worker's connections stay few.
for (my $i = 0; $i < @random; $i += 100) {
    my @round = @random[$i .. ($i + 99 < $#random ? $i + 99 : $#random)];
    run_cases(@round);
}
{
    my @wrong = grep {
        my $g = $_->{got};
        my $e = $_->{expect};
        ($g->{close} // 'none') ne ($e->{close} // 'none')
            || join("\0", @{$g->{pongs}}) ne join("\0", @{$e->{pongs}})
            || $g->{other}
    } @random;
    is(scalar @wrong, 0, RANDOM . ' streams with random header bit flips: '
                         . 'each answered as the model predicts');
    for my $w (@wrong[0 .. ($#wrong < 4 ? $#wrong : 4)]) {
        diag("$w->{name}: " . hexdump($w->{bytes}) . "\n  expected "
             . explain($w->{expect}) . "  got " . explain($w->{got}));
    }
}

good_served('after the random flips');
rss_ok($rss0, vm_rss($pid), 2048,
       scalar(@cases) + RANDOM . ' bad streams');

ok(connections_are($port, 1, 5), 'health: only the connected client is left');

done_testing;
