#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Abuse: push bodies over client_max_body_size.  Whether the length is
# announced (Content-Length, the body sent or not) or found while reading
# a chunked body, the answer is 413 with a JSON {"error":...} like every
# other answer of the push endpoint, nothing is delivered, the worker's
# memory stays flat over hundreds of them, and a body of exactly the
# limit still goes through.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use NgxWs::Test qw(http_request push_json server_conf);
use NgxWs::WebSocket;
use NgxWs::Abuse qw(vm_rss rss_ok start_nginx good_client good_served);

use constant LIMIT => 65536;      # client_max_body_size

my ($t, $port, $pid) = start_nginx(server_conf(
    push => ['client_max_body_size ' . LIMIT,
             'client_body_buffer_size ' . LIMIT],
    health => 1));

my $good = good_client($port, alive => 'and nothing else came');

# A push body of exactly $len bytes.
sub body_of {
    my ($len) = @_;
    my $head = '{"event":"big","data":["';
    my $tail = '"]}';
    return $head . ('p' x ($len - length($head) - length($tail))) . $tail;
}

sub is_json_413 {
    my ($name, $st, $h, $body) = @_;
    is($st, 413, "$name: 413");
    like($h->{'content-type'} // '', qr{^application/json},
         "$name: Content-Type application/json");
    my $d = eval { JSON::PP->new->decode($body) };
    ok(ref $d eq 'HASH' && defined $d->{error} && !ref $d->{error}
       && length $d->{error}, qq($name: a JSON body with an "error" member))
        or diag("body: " . substr($body // '', 0, 300));
}

sub post {
    my ($head, $body) = @_;
    return http_request($port, "POST /_ws/push HTTP/1.1\r\nHost: localhost\r\n"
                               . "Content-Type: application/json\r\n"
                               . "Connection: close\r\n$head\r\n"
                               . ($body // ''), timeout => 10);
}

my $rss0 = vm_rss($pid);

# ------------------------------------------------------------ one of each

{
    my $b = body_of(LIMIT + 1);
    my ($st, $h, $body) = post('Content-Length: ' . length($b) . "\r\n", $b);
    is_json_413('one byte over, sent whole', $st, $h, $body);
}
{
    my ($st, $h, $body) = post("Content-Length: 1073741824\r\n");
    is_json_413('1 GB announced, nothing sent', $st, $h, $body);
}
{
    my $b = body_of(4 * LIMIT);
    my $chunked = '';
    for (my $i = 0; $i < length $b; $i += 8192) {
        my $c = substr($b, $i, 8192);
        $chunked .= sprintf("%x\r\n%s\r\n", length $c, $c);
    }
    $chunked .= "0\r\n\r\n";
    my ($st, $h, $body) = post("Transfer-Encoding: chunked\r\n", $chunked);
    is_json_413('chunked, over the limit as it arrives', $st, $h, $body);
}
is_deeply($good->barrier, [], 'none of them reached the client');

{
    my ($st, $d) = push_json($port, body_of(LIMIT));
    is($st, 200, 'a body of exactly client_max_body_size: 200');
    is($d && $d->{matched}, 1, 'and it is delivered');
    my ($pad) = body_of(LIMIT) =~ /"(p+)"/;
    is($good->read_packet(5), qq(42["big","$pad"]), 'the client gets it whole');
}
good_served('after the oversized bodies');

# ------------------------------------------------------------ hundreds

{
    my ($n413, $n) = (0, 300);
    my $b = body_of(2 * LIMIT);
    for my $i (1 .. $n) {
        my ($st, $h, $body) = $i % 2
            ? post('Content-Length: ' . length($b) . "\r\n", $b)
            : post("Content-Length: 1073741824\r\n");
        my $d = eval { JSON::PP->new->decode($body) };
        $n413++ if ($st // 0) == 413 && ref $d eq 'HASH' && $d->{error};
    }
    is($n413, $n, "$n oversized pushes: a JSON 413 for each");
    rss_ok($rss0, vm_rss($pid), 1024, "$n oversized pushes");
}

is_deeply([$t->worker_pids], [$pid], 'the worker is the same');
good_served('at the end');

done_testing;
