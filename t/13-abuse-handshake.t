#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse before the 101 (slowloris): upgrade requests dripped a byte at a
# time are nginx's business, not the module's.  client_header_timeout
# counts from the connection's first moment and is not restarted by each
# byte, so every dripping connection is closed (no response, "client
# timed out" in the error log) once it expires, however steadily it
# drips; headers sent fast and forever end at large_client_header_buffers
# with a 400.  Meanwhile the worker serves its clients and accepts new
# ones, and its memory stays bounded.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use NgxWs::Test qw(server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx health good_client
    good_served);

use constant N       => 200;    # dripping connections
use constant TIMEOUT => 2;      # client_header_timeout, seconds

my ($t, $port, $pid) = start_nginx(
    "    client_header_timeout " . TIMEOUT . "s;\n"
    . server_conf(push => 1, health => 1));

good_client($port, ws => $t->sio_client, alive => undef);

my $key = NgxWs::WebSocket::random_key();
my $req = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        . "Host: 127.0.0.1:$port\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Key: $key\r\n"
        . "Sec-WebSocket-Version: 13\r\n"
        . join('', map { "X-Drip-$_: " . ('d' x 40) . "\r\n" } 1 .. 10)
        . "\r\n";

# --------------------------------------------- headers dripped byte by byte

my $rss0 = vm_rss($pid);
my @c;
for my $i (1 .. N) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp') or last;
    $s->blocking(0);
    push @c, { sock => $s, at => time, sent => 0, got => '' };
}
is(scalar @c, N, N . ' connections open, dripping an upgrade request');

my $sel = IO::Select->new(map { $_->{sock} } @c);
my %by_fd = map { fileno($_->{sock}) => $_ } @c;
my ($rss_mid, $checked_others);
my $start = time;

# About a byte every 50 ms per connection: the request (711 bytes)
# would take half a minute to arrive whole.
while ($sel->count && time - $start < TIMEOUT + 15) {
    for my $c (@c) {
        next if $c->{closed} || $c->{sent} >= length $req;
        my $n = syswrite($c->{sock}, $req, 1, $c->{sent});
        $c->{sent}++ if $n;
    }
    for my $s ($sel->can_read(0.05)) {
        my $c = $by_fd{fileno $s};
        my $n = sysread($s, $c->{got}, 4096, length $c->{got});
        next if !defined $n && $!{EAGAIN};
        next if $n;
        $c->{closed} = time;
        $sel->remove($s);
    }
    if (!$checked_others && time - $start > TIMEOUT / 2) {
        # halfway through the timeout: every dripper still open
        $checked_others = 1;
        $rss_mid = vm_rss($pid);
        is(scalar(grep { !$_->{closed} } @c), N,
           'halfway through client_header_timeout: all still open');
        good_served('while ' . N . ' connections drip');
        my $new = eval { $t->sio_client };
        ok($new && $new->alive, 'a new client upgrades, connects, answers '
                                . 'a ping meanwhile');
        $new->close if $new;
    }
}

is(scalar(grep { $_->{closed} } @c), N, 'every dripping connection closed');
{
    my @iv = sort { $a <=> $b }
             map { $_->{closed} - $_->{at} } grep { $_->{closed} } @c;
    cmp_ok($iv[0], '>=', TIMEOUT - 0.5,
           sprintf('none before client_header_timeout (earliest %.2f s)',
                   $iv[0] // -1));
    cmp_ok($iv[-1], '<=', TIMEOUT + 5,
           sprintf('all soon after it (latest %.2f s), though still '
                   . 'dripping', $iv[-1] // -1));
    my $max_sent = (sort { $b <=> $a } map { $_->{sent} } @c)[0];
    cmp_ok($max_sent, '<', length $req,
           "none had sent its whole request ($max_sent of "
           . length($req) . ' bytes)');
}
is(join('', map { $_->{got} } @c), '', 'nginx answered none of them');
{
    my $log = $t->error_log;
    my $n = () = $log =~ /client timed out.*while reading client request/g;
    is($n, N, 'the error log has "client timed out" for each');
}
close $_->{sock} for @c;

rss_ok($rss0, $rss_mid, N * 16, N . ' dripping connections (< 16 KB each)');

# ------------------------------------- headers sent fast, and forever

{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp');
    my $head = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
             . "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    syswrite($s, $head);
    my $line = 'X-Forever: ' . ('f' x 100) . "\r\n";
    my ($sent, $got) = (length $head, '');
    my $ssel = IO::Select->new($s);
    my $end = time + 10;
    while (time < $end) {
        last unless defined syswrite($s, $line);
        $sent += length $line;
        last if $sent > 10_000_000;
        if ($ssel->can_read(0)) {
            my $n = sysread($s, $got, 4096, length $got);
            last unless $n;
        }
    }
    while ($ssel->can_read(2)) {
        my $n = sysread($s, $got, 4096, length $got);
        last unless $n;
    }
    close $s;
    like($got, qr{^HTTP/1\.1 400 }, 'endless headers: 400 from nginx');
    cmp_ok($sent, '<', 10_000_000,
           "endless headers: cut off after $sent bytes");
}

good_served('afterwards');
is(health($port)->{connections}, 1, 'health: the connected client alone');

done_testing;
