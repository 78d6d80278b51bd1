#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The variables $ws_sid, $ws_transport, $ws_namespaces,
# $ws_disconnect_reason, $ws_packets_in, $ws_packets_out in nginx's own
# access log: on the 101 line and on each polling request, and on the line
# nginx's log phase writes when a session ends (its length in
# $request_time, what the WebSocket sent in $bytes_sent), selected with
# access_log's if=.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(http_get http_post_json push_json wait_for server_conf);
use NgxWs::WebSocket;
use Time::HiRes qw(sleep);

my $t = NgxWs::Test->new->require_module;

my $FORMAT = q{'$ws_transport $ws_sid "$ws_namespaces" ' }
           . q{'"$ws_disconnect_reason" $ws_packets_in $ws_packets_out ' }
           . q{'$status $request_time $bytes_sent "$request"'};

# README's recipe: the ends in a log of their own, the rest without them
$t->write_conf("    log_format ws $FORMAT;\n"
    . "    map \$ws_disconnect_reason \$ws_not_end { \"\" 1; default 0; }\n"
    . server_conf(socketio => ['ws_namespace /chat',
                               'access_log %%PREFIX%%/ws.log ws',
                               'access_log %%PREFIX%%/ends.log ws '
                               . 'if=$ws_disconnect_reason',
                               'access_log %%PREFIX%%/others.log ws '
                               . 'if=$ws_not_end'],
                  push => 1));
$t->run;

my $port = $t->port;

sub lines {
    my ($file) = @_;
    return grep { length } split /\n/, $t->read_file($file) // '';
}

# the line of a session's end, once it is there
sub end_line {
    my ($sid) = @_;
    my $line;
    wait_for(5, sub {
        ($line) = grep { /^\S+ \Q$sid\E .* "[^"]+" \d+ \d+ / } lines('ends.log');
        defined $line;
    });
    return $line;
}

# ------------------------------------------------------------- WebSocket

my $ws = NgxWs::WebSocket->new(port => $port);
my $open = $ws->eio_open;
my $sid = $open && $open->{sid};
ok($sid, 'a WebSocket session');

my ($l101) = grep { /" 101 / || / 101 [\d.]+ \d+ "GET / } lines('ws.log');
like($l101 // '', qr/^websocket \Q$sid\E "-" "-" - - 101 [\d.]+ \d+ "GET \/socket\.io\/\?EIO=4&transport=websocket HTTP\/1\.1"$/,
     'the 101 line: the new session\'s sid, the transport, no namespace '
     . 'yet ("-": no value)');

like($ws->sio_connect('/') // '', qr/^40\{/, 'connected to /');
like($ws->sio_connect('/chat') // '', qr/^40\/chat,/, 'and to /chat');
$ws->send_text('42["a"]');
$ws->send_text('42/chat,["b"]');
for my $i (1 .. 3) {
    my ($st) = push_json($port, qq({"nsp":"/chat","event":"p","data":[$i]}));
    is($st, 200, "push $i");
    is($ws->read_packet(5), qq(42/chat,["p",$i]), "push $i arrives");
}
sleep 1.1;
$ws->send_close(1000);
$ws->wait_closed(5);

my $end = end_line($sid);
like($end // '', qr{^websocket \Q$sid\E "/,/chat" "transport close" 4 5 101 (\d+\.\d+) (\d+) "-"$},
     'the end: namespaces in join order, the reason, 4 packets in, 5 out');
my ($time, $bytes) = ($end // '') =~ / 101 (\S+) (\d+) /;
cmp_ok($time // 0, '>=', 1, '$request_time: the session\'s length');
cmp_ok($bytes // 0, '>', 129 + 50, '$bytes_sent: the 101 and the frames');
is(scalar(grep { /\Q$sid\E/ } lines('ws.log')), 2,
   'two lines for the session: the 101, the end');

# ------------------------------------------------------------- polling

my ($st, $h, $body) = http_get($port, '/socket.io/?EIO=4&transport=polling');
my ($psid) = $body =~ /"sid":"([^"]+)"/;
ok($psid, 'a polling session');
my $q = "/socket.io/?EIO=4&transport=polling&sid=$psid";
($st) = http_post_json($port, $q, '40/chat,', 'Content-Type' => 'text/plain');
is($st, 200, 'CONNECT posted');
($st, $h, $body) = http_get($port, $q);
like($body, qr{^40/chat,}, 'connected');
($st) = http_post_json($port, $q, '1', 'Content-Type' => 'text/plain');
is($st, 200, 'close posted');

# (a request's line is written once it is answered: wait for the last)
my @poll;
wait_for(5, sub {
    @poll = grep { / \Q$psid\E / } lines('ws.log');
    @poll >= 5;
});
like($poll[0] // '', qr/^polling \Q$psid\E "-" "-" - - 200 .*"GET \S+transport=polling HTTP/,
     'the handshake line: the new sid');
is(scalar(grep { /^polling \Q$psid\E "-" "-" - - 200 .*"(GET|POST) / } @poll),
   4, 'each polling request has its line, with the sid');
like(end_line($psid) // '',
     qr{^polling \Q$psid\E "/chat" "transport close" 2 1 200 [\d.]+ 0 "-"$},
     'the end of a polling session');

# ------------------------------------------------------------- shutdown

my $last = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat']);
$t->stop;
like(join("\n", lines('ends.log')), qr/^websocket \S+ "\/chat" "server shutting down" 1 1 101 /m,
     'a session nginx closes on its way out is logged');

is(scalar(grep { !/"(transport close|server shutting down)"/ } lines('ends.log')),
   0, 'if=$ws_disconnect_reason: only the ends in that log');
my @others = lines('others.log');
is(scalar(@others), scalar(lines('ws.log')) - scalar(lines('ends.log')),
   'if=$ws_not_end: every other line in the other log');
is(scalar(grep { !/ "-" "-" - - / } @others), 0, 'and no end there');

done_testing;
