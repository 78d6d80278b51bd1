#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Connection state recovery byte for byte, as socket.io's session-aware
# adapter speaks it: "pid" in the CONNECT reply, the offset as the last
# argument of every logged event (binary ones too), the missed packets
# before the CONNECT of a recovered socket, once; nothing of it in a
# location without ws_recovery; and what nginx -t refuses.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json server_conf http_get);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf("    ws_recovery_zone 1m;\n" . server_conf(
    socketio => ['ws_namespace /chat', 'ws_recovery 1m'],
    push => 1,
    locations => ['/plain/' => ['ws_socketio', 'ws_namespace /chat'],
                  '/metrics' => ['ws_metrics']]));
$t->run;

my $port = $t->port;
my $SID = qr/[A-Za-z0-9_-]{20}/;
my $OFF = qr/\d+-[0-9a-f]{8}/;

sub client {
    my (%o) = @_;
    my $ws = NgxWs::WebSocket->new(port => $port, %o);
    $ws->eio_open or die "no open packet";
    return $ws;
}

sub push_ok {
    my ($json, $name) = @_;
    my ($st, $d, $body) = push_json($port, $json);
    is($st, 200, "$name: 200") or diag($body);
}

# ------------------------------------------------------------ the wire

my $a = client();
my $r = $a->sio_connect('/chat') // '';
like($r, qr/^40\/chat,\{"sid":"$SID","pid":"$SID"\}\z/,
     'CONNECT reply: sid and pid');
my ($sid, $pid) = $r =~ /"sid":"([^"]+)","pid":"([^"]+)"/;
isnt($pid, $sid, 'the pid is not the id');

my $plain = client(path => '/plain/?EIO=4&transport=websocket');
like($plain->sio_connect('/chat') // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
     'no ws_recovery: no pid');

push_ok('{"nsp":"/chat","event":"e","data":[1,{"a":"b"}]}', 'emit');
my $p = $a->read_packet(5) // '';
like($p, qr/^42\/chat,\["e",1,\{"a":"b"\},"$OFF"\]\z/,
     'the offset is the last argument');
my ($off1) = $p =~ /,"($OFF)"\]\z/;
is($plain->read_packet(5), '42/chat,["e",1,{"a":"b"}]',
   'no ws_recovery: the packet as pushed');

push_ok('{"nsp":"/chat","event":"bin","data":[{"$binary":"AQID"}]}',
        'binary emit');
like($a->read_packet(5) // '',
     qr/^451-\/chat,\["bin",\{"_placeholder":true,"num":0\},"$OFF"\]\z/,
     'binary: the offset after the placeholder');
is_deeply($a->read_packet(5), { binary => "\x01\x02\x03" },
          'binary: the attachment');
$plain->read_packet(5) for 1 .. 2;

push_ok('{"nsp":"/chat","event":"e","data":[2]}', 'emit 2');
like($a->read_packet(5) // '', qr/^42\/chat,\["e",2,"$OFF"\]\z/, 'emit 2');
$plain->read_packet(5);

push_ok(qq({"op":"join","nsp":"/chat","rooms":["$sid"],"room":"r"}),
        'join r');

# ------------------------------------------------------------ recovery

# the transport closes (a close frame: "transport close")
$a->send_close(1000);
$a->wait_closed(5);
select(undef, undef, undef, 0.3);

push_ok('{"nsp":"/chat","rooms":["r"],"event":"missed","data":[3]}',
        'to its room while away');
push_ok('{"nsp":"/chat","rooms":["other"],"event":"other","data":[]}',
        'to another room');
push_ok('{"nsp":"/chat","except":["r"],"event":"other","data":[]}',
        'except its room');
push_ok('{"event":"other","data":[]}', 'to another namespace');

my $b = client();
$b->send_text(qq(40/chat,{"pid":"$pid","offset":"$off1","token":"x"}));
my @got = map { $b->read_packet(5) // '(none)' } 1 .. 4;
like($got[0], qr/^451-\/chat,\["bin",\{"_placeholder":true,"num":0\},"$OFF"\]\z/,
     'missed 1: the binary event, before the CONNECT');
is_deeply($got[1], { binary => "\x01\x02\x03" }, 'its attachment');
like($got[2], qr/^42\/chat,\["e",2,"$OFF"\]\z/, 'missed 2');
like($got[3], qr/^42\/chat,\["missed",3,"$OFF"\]\z/,
     'missed 3, to its room');
my ($off3) = $got[3] =~ /,"($OFF)"\]\z/;
is($b->read_packet(5), qq(40/chat,{"sid":"$sid","pid":"$pid"}),
   'then the CONNECT: same sid, same pid');

push_ok('{"nsp":"/chat","rooms":["r"],"event":"back","data":[]}',
        'to its room again');
like($b->read_packet(5) // '', qr/^42\/chat,\["back","$OFF"\]\z/,
     'its room came back, nothing else came');

# recovered once: while it is back, its pid and offset give a fresh socket
my $c = client();
$c->send_text(qq(40/chat,{"pid":"$pid","offset":"$off3"}));
my $fresh = $c->read_packet(5) // '';
like($fresh, qr/^40\/chat,\{"sid":"$SID","pid":"$SID"\}\z/,
     'the same pid again: a CONNECT');
unlike($fresh, qr/"sid":"$sid"/, 'of a fresh socket');

# a client's own disconnect is not kept (socket.io's reasons)
$b->send_text('41/chat,');
select(undef, undef, undef, 0.3);
my $d = client();
$d->send_text(qq(40/chat,{"pid":"$pid","offset":"$off3"}));
$fresh = $d->read_packet(5) // '';
like($fresh, qr/^40\/chat,\{"sid":"$SID","pid":"$SID"\}\z/,
     'after a client namespace disconnect: a CONNECT');
unlike($fresh, qr/"sid":"$sid"/, 'of a fresh socket');

# offsets that are not ours, or garbage: a fresh socket, no error
for my $auth ('{"pid":"x","offset":"y"}', '{"pid":1,"offset":2}',
              qq({"pid":"$pid","offset":"1-00000000"}),
              qq({"pid":"$pid","offset":"99999999999999999999999-abc"}),
              '{"pid":"' . ('p' x 300) . '","offset":"1"}')
{
    my $e = client();
    $e->send_text("40/chat,$auth");
    like($e->read_packet(5) // '',
         qr/^40\/chat,\{"sid":"$SID","pid":"$SID"\}\z/,
         "auth $auth: a fresh socket");
}

# ---------------------------------------------------------------- metrics

# one socket recovered with its 3 missed packets; the others fresh
my (undef, undef, $metrics) = http_get($port, '/metrics');
$metrics //= '';
like($metrics, qr/^socket_recovery_total\{result="recovered"\} 1$/m,
     'metrics: one socket recovered');
my ($not) = $metrics
    =~ /^socket_recovery_total\{result="not_recovered"\} (\d+)$/m;
ok(($not // 0) >= 2, 'metrics: the fresh ones with a pid and an offset');
like($metrics, qr/^socket_recovery_replayed_packets_total 3$/m,
     'metrics: its 3 packets replayed');
like($metrics, qr/^socket_recovery_sessions_total\{event="kept"\} [1-9]/m,
     'metrics: sessions kept');
like($metrics, qr/^socket_recovery_kept_packets [1-9]/m,
     'metrics: packets kept now');

SKIP: {
    skip 'no promtool', 1 unless -x '/usr/bin/promtool';
    my $file = $t->prefix . '/scrape.txt';
    open my $fh, '>', $file or die "$file: $!";
    print $fh $metrics;
    close $fh;
    my $out = `/usr/bin/promtool check metrics < $file 2>&1`;
    is($? >> 8, 0, 'promtool check metrics') or diag($out);
}

$t->stop;

# ---------------------------------------------------------------- nginx -t

sub conf_refused {
    my ($name, $re, $conf) = @_;
    my ($rc, $out) = $t->conf_test($conf);
    isnt($rc, 0, "$name: refused");
    like($out, $re, "$name: says why");
}

conf_refused('ws_recovery without ws_recovery_zone',
             qr/\[emerg\] "ws_recovery" needs "ws_recovery_zone"/,
             server_conf(socketio => ['ws_recovery 2m']));
conf_refused('ws_recovery with a bad parameter',
             qr/\[emerg\] invalid parameter "skip"/,
             "    ws_recovery_zone 1m;\n"
             . server_conf(socketio => ['ws_recovery 2m skip']));
conf_refused('ws_recovery 0', qr/\[emerg\] "ws_recovery" directive has an invalid time/,
             "    ws_recovery_zone 1m;\n"
             . server_conf(socketio => ['ws_recovery 0']));
conf_refused('ws_recovery_zone too small',
             qr/\[emerg\] "ws_recovery_zone" must be at least/,
             "    ws_recovery_zone 4k;\n" . server_conf());
conf_refused('ws_recovery in server {}',
             qr/\[emerg\] "ws_recovery" directive is not allowed here/,
             "    ws_recovery_zone 1m;\n    server {\n"
             . "        listen 127.0.0.1:%%PORT9%%;\n"
             . "        ws_recovery 2m;\n    }\n");
my ($rc, $out) = $t->conf_test("    ws_recovery_zone 1m;\n"
    . server_conf(socketio => ['ws_recovery 2m skip_hooks']));
is($rc, 0, 'ws_recovery 2m skip_hooks: accepted') or diag($out);

$t->finish;
done_testing;
