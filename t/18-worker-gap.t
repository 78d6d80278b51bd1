#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A worker that falls further behind than the log holds (stopped with
# SIGSTOP while the others push more than the ring of a small ws_zone):
# once it runs again it logs the gap and closes its clients with 1011, so
# that they reconnect, while the other worker's clients got every push.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json get_json wait_for server_conf);
use NgxWs::WebSocket;
use IO::Socket::INET;

my $t = NgxWs::Test->new->require_module;

# clients spread over the workers on port 1; pushes and health on port 2
$t->write_conf("    ws_zone 1m;\n"
               . server_conf(listen => 'reuseport')
               . server_conf(port => 2, push => ['client_max_body_size 1m'],
                             health => 1),
               workers => 2);
$t->run;

my $port = $t->port;
my $push = $t->port(2);

# A request on a kept connection: (status, body).
sub keep_request {
    my ($s, $method, $path, $body) = @_;
    $body //= '';
    print $s "$method $path HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/json\r\n"
             . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        sysread($s, $buf, 65536, length $buf) or return;
    }
    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my ($st) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = $head =~ /Content-Length: (\d+)/i;
    while (length $rest < ($len // 0)) {
        sysread($s, $rest, 65536, length $rest) or last;
    }
    return ($st, $rest);
}

sub per_worker {
    my ($st, $d) = get_json($push, '/health');
    return { map { $_->{pid} => $_->{connections} } @{$d->{workers}} };
}

my @c;
ok(wait_for(20, sub {
       push @c, NgxWs::WebSocket->sio_open(port => $port)
           // die "client setup failed" for 1 .. 4;
       my $w = per_worker();
       return keys %$w == 2 && !grep { !$_ } values %$w;
   }), scalar(@c) . ' clients over 2 workers');

# One keep-alive connection to a worker (/health names the one that
# answers), and the other one stopped: every push goes to the running one,
# not to the kernel's choice, which could be the stopped worker.
my ($keep, $running);
ok(wait_for(10, sub {
       $keep = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $push) or return 0;
       my ($st, $body) = keep_request($keep, 'GET', '/health');
       ($running) = ($body // '') =~ /^\{"status":"ok","pid":(\d+)/;
       return $running;
   }), 'a keep-alive connection to one worker');

my ($stopped) = grep { $_ != $running } $t->worker_pids;
my $behind = per_worker()->{$stopped};

kill('STOP', $stopped);

# 12 pushes of 100 KB: more than the 512 KB ring holds
my $data = 'x' x (100 * 1024);
my $ok = 0;
for my $i (1 .. 12) {
    my ($st) = keep_request($keep, 'POST', '/_ws/push',
                            qq({"event":"big","data":[$i,"$data"]}));
    $ok++ if ($st // 0) == 200;
}
is($ok, 12, 'the running worker answers every push');

kill('CONT', $stopped);

my ($closed, $complete) = (0, 0);
for my $ws (@c) {
    my @got;
    while (defined(my $p = $ws->read_packet(10))) {
        push @got, $p;
        last if @got == 12;
    }
    if (@got == 12) {
        $complete++;
    } elsif (($ws->{close_code} // 0) == 1011) {
        $closed++;
    }
}

is($closed, $behind, 'the stopped worker closes its clients with 1011');
is($complete, @c - $behind, 'the other clients got all 12 pushes');
like($t->error_log,
     qr/ws: this worker fell \d+ operations behind the log of ws_zone/,
     'the gap is logged');

done_testing;
