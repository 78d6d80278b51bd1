#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The push endpoint: emit to a namespace, to rooms, except rooms; binary
# attachments; arguments byte-exact; join/leave/disconnect; every error.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json http_request server_conf);
use NgxWs::WebSocket;
use MIME::Base64 ();

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(
    socketio => ['ws_namespace /chat', 'ws_namespace /notifications'],
    push => ['client_max_body_size 2k'],
    locations => ['/_ws/push-big' => ['ws_push', 'client_max_body_size 1m',
                                      'client_body_buffer_size 8k']]));
$t->run;

my $port = $t->port;
my $SID = qr/[A-Za-z0-9_-]{20}/;

# A client connected to the namespaces given.
sub client {
    my (@nsps) = @_;
    my $ws = NgxWs::WebSocket->sio_open(port => $port,
                                        nsps => @nsps ? \@nsps : ['/']);
    die "client setup failed" unless $ws;
    return $ws;
}

sub push_ok {
    my ($json, $matched, $name) = @_;
    my ($st, $d, $body, $h) = push_json($port, $json);
    is($st, 200, "$name: 200");
    is($body, qq({"matched":$matched}), "$name: matched $matched");
    return $d;
}

# Everything a client got (the heartbeat aside) up to a barrier, a ping's
# pong: whatever a push answered before it sent has arrived by then.
sub got {
    my ($ws) = @_;
    return $ws->barrier
        // ['(no pong: closed or timed out)', @{$ws->before_barrier}];
}

# -------------------------------------------------------------- emit

my $a = client('/', '/chat');
my $b = client('/chat');
my $c = client('/');
my $n = client('/notifications');

{
    my ($st, $d, $body, $h) = push_json($port,
        '{"nsp":"/chat","event":"msg","data":[1]}');
    is($st, 200, 'emit to /chat: 200');
    like($h->{'content-type'} // '', qr{^application/json},
         'answer is application/json');
    is($body, '{"matched":2}', 'emit to /chat: matched 2');
    is($a->read_packet(5), '42/chat,["msg",1]', 'emit to /chat: a gets it');
    is($b->read_packet(5), '42/chat,["msg",1]', 'emit to /chat: b gets it');
    is_deeply(got($c), [], 'emit to /chat: c (only /) gets nothing');
    is_deeply(got($n), [], 'emit to /chat: n gets nothing');
}

push_ok('{"event":"hi"}', 2, 'nsp defaults to /, data to []');
is($a->read_packet(5), '42["hi"]', 'default nsp: a');
is($c->read_packet(5), '42["hi"]', 'default nsp: c');
is_deeply(got($b), [], 'default nsp: b (only /chat) gets nothing');

push_ok('{"nsp":"/","event":"hi","data":[]}', 2, 'nsp "/" explicit');
is($c->read_packet(5), '42["hi"]', 'nsp "/" explicit: c');
$a->read_packet(5);

push_ok('{"nsp":"/notifications","event":"notification","data":[{"id":7}]}',
        1, 'the README example');
is($n->read_packet(5), '42/notifications,["notification",{"id":7}]',
   'the README example: wire');

push_ok('{"nsp":"/chat","rooms":[],"except":[],"event":"e"}', 2,
        'empty rooms = whole namespace');
$_->read_packet(5) for $a, $b;

# ------------------------------------------------------- byte-exact args

{
    my @args = ('1.50', '{"b":1,"a":2}', '1e3', '-0', '0.1000',
                '"\u00e9\n"', "\"\xc3\xa9\"", 'null', 'true', 'false',
                '[]', '{}', '[1,[2,[3]]]', '123456789012345678901234567890',
                '"a\"b"');
    my $data = join(',', @args);
    push_ok(qq({"event":"exact","data":[$data]}), 2, 'args byte-exact');
    is($c->read_packet(5), qq(42["exact",$data]), 'args go out as received');
    $a->read_packet(5);

    push_ok(qq({ "event" : "ws" , "data" : [ 1.50 , {"b":1,"a":2} ] }), 2,
            'whitespace around the members');
    my $p = $c->read_packet(5) // '';
    like($p, qr/^42\["ws",\s*1\.50\s*,\s*\{"b":1,"a":2\}\s*\]\z/,
         'whitespace around members: args kept');
    $a->read_packet(5);

    push_ok('{"event":"sp","data":[{"b": 1, "a": [2, 3]}]}', 2,
            'whitespace inside an argument');
    is($c->read_packet(5), '42["sp",{"b": 1, "a": [2, 3]}]',
       'whitespace inside an argument: kept as received');
    $a->read_packet(5);

    push_ok('{"data":[7],"event":"order"}', 2, 'members in any order');
    is($c->read_packet(5), '42["order",7]', 'members in any order: wire');
    $a->read_packet(5);
}

# README: "emit (default, or "op":"emit")", and "nsp": "chat" is "/chat".
push_ok('{"op":"emit","nsp":"/chat","event":"explicit","data":[1]}', 2,
        '"op":"emit" spelled out');
is($a->read_packet(5), '42/chat,["explicit",1]', '"op":"emit": a');
is($b->read_packet(5), '42/chat,["explicit",1]', '"op":"emit": b');
is_deeply(got($c), [], '"op":"emit": c (only /) gets nothing');

push_ok('{"nsp":"chat","event":"noslash"}', 2, '"nsp":"chat" without "/"');
is($a->read_packet(5), '42/chat,["noslash"]', '"nsp":"chat": a, in /chat');
is($b->read_packet(5), '42/chat,["noslash"]', '"nsp":"chat": b, in /chat');
is_deeply(got($c), [], '"nsp":"chat": nothing in /');

push_ok('{"nsp":"notifications","event":"n"}', 1,
        '"nsp":"notifications" without "/"');
is($n->read_packet(5), '42/notifications,["n"]',
   '"nsp":"notifications": delivered in /notifications');

# ------------------------------------------------------------- rooms

my $sa = $a->sio_sid('/chat');
my $sb = $b->sio_sid('/chat');

push_ok(qq({"nsp":"/chat","rooms":["$sa"],"event":"own"}), 1,
        'room named by the socket id');
is($a->read_packet(5), '42/chat,["own"]', 'own room: a gets it');
is_deeply(got($b), [], 'own room: b does not');

# README: rooms/except may also be one string.
push_ok(qq({"nsp":"/chat","rooms":"$sa","event":"str"}), 1,
        'rooms as one string');
is($a->read_packet(5), '42/chat,["str"]', 'rooms as one string: a');
push_ok(qq({"nsp":"/chat","except":"$sa","event":"str2"}), 1,
        'except as one string');
is($b->read_packet(5), '42/chat,["str2"]', 'except as one string: b');
is_deeply(got($a), [], 'except as one string: not a');

push_ok(qq({"rooms":["$sa"],"event":"x"}), 0,
        'a /chat socket id is no room in /');

push_ok(qq({"op":"join","nsp":"/chat","rooms":["$sa"],"room":"r1"}), 1,
        'join a to r1');
push_ok(qq({"op":"join","nsp":"/chat","rooms":["$sb"],"room":["r2","r3"]}), 1,
        'join b to r2 and r3');
push_ok(qq({"op":"join","nsp":"/chat","rooms":["$sa"],"room":["r2"]}), 1,
        'join a to r2');

push_ok('{"nsp":"/chat","rooms":["r1"],"event":"to-r1"}', 1, 'emit to r1');
is($a->read_packet(5), '42/chat,["to-r1"]', 'r1: a');
is_deeply(got($b), [], 'r1: not b');

push_ok('{"nsp":"/chat","rooms":["r1","r2"],"event":"one-copy"}', 2,
        'emit to r1 and r2 (a is in both)');
is($a->read_packet(5), '42/chat,["one-copy"]', 'a in two rooms: a copy');
is_deeply(got($a), [], 'a in two rooms: only one');
is($b->read_packet(5), '42/chat,["one-copy"]', 'b: a copy');
is_deeply(got($b), [], 'b: only one');

push_ok('{"nsp":"/chat","except":["r1"],"event":"not-r1"}', 1,
        'except r1');
is_deeply(got($a), [], 'except r1: not a');
is($b->read_packet(5), '42/chat,["not-r1"]', 'except r1: b');

push_ok('{"nsp":"/chat","rooms":["r2"],"except":["r3"],"event":"r2-r3"}', 1,
        'rooms r2 except r3');
is($a->read_packet(5), '42/chat,["r2-r3"]', 'r2 except r3: a');
is_deeply(got($b), [], 'r2 except r3: not b');

push_ok('{"nsp":"/chat","rooms":["nobody"],"event":"x"}', 0,
        'unknown room: matched 0');
push_ok('{"nsp":"/chat","except":["r2"],"event":"x"}', 0,
        'except a room everybody is in: matched 0');

push_ok('{"rooms":["r1"],"event":"x"}', 0,
        'rooms are per namespace: r1 is empty in /');

push_ok('{"op":"join","nsp":"/chat","except":["r1"],"room":"b-only"}', 1,
        'join with except');
push_ok('{"nsp":"/chat","rooms":["b-only"],"event":"bo"}', 1,
        'emit to the room joined with except');
is($b->read_packet(5), '42/chat,["bo"]', 'b-only: b');

push_ok('{"op":"join","nsp":"/chat","room":"all"}', 2,
        'join the whole namespace');
push_ok(qq({"op":"leave","nsp":"/chat","rooms":["$sa"],"room":"r1"}), 1,
        'a leaves r1');
push_ok('{"nsp":"/chat","rooms":["r1"],"event":"x"}', 0,
        'r1 is empty after leave');
push_ok('{"op":"leave","nsp":"/chat","rooms":["all"],"room":["all","r2"]}', 2,
        'leave two rooms');
push_ok('{"nsp":"/chat","rooms":["all","r2"],"event":"x"}', 0,
        'all and r2 are empty');
is_deeply(got($a), [], 'a got nothing from empty rooms');
is_deeply(got($b), [], 'b got nothing from empty rooms');

# ------------------------------------------------------------ binary

push_ok('{"event":"bin","data":[{"$binary":"AQID"}]}', 2, 'binary push');
is($c->read_packet(5), '451-["bin",{"_placeholder":true,"num":0}]',
   'binary: header');
is_deeply($c->read_packet(5), { binary => "\x01\x02\x03" },
          'binary: attachment');
$a->read_packet(5) for 1 .. 2;

push_ok('{"nsp":"/chat","rooms":["' . $sb . '"],"event":"bin2",'
        . '"data":["x",{"file":{"$binary":"AAEC"},"n":1.0},[{"$binary":""}]]}',
        1, 'two attachments at depth, in /chat');
is($b->read_packet(5), '452-/chat,["bin2","x",{"file":{"_placeholder":true,'
   . '"num":0},"n":1.0},[{"_placeholder":true,"num":1}]]',
   'two attachments: header, args kept');
is_deeply($b->read_packet(5), { binary => "\x00\x01\x02" },
          'two attachments: first');
is_deeply($b->read_packet(5), { binary => '' },
          'two attachments: second (empty)');

# README: at most 10 attachments.  10 go out as 10 binary frames; 11 are
# refused and nothing is sent.
{
    my @ten = map { sprintf('{"$binary":"%s"}', MIME::Base64::encode_base64(chr($_), '')) }
              0 .. 9;
    push_ok(qq({"rooms":["${\ $c->sio_sid('/')}"],"event":"ten","data":[)
            . join(',', @ten) . ']}', 1, '10 attachments');
    is($c->read_packet(5), '4510-["ten",' . join(',', map {
           qq({"_placeholder":true,"num":$_}) } 0 .. 9) . ']',
       '10 attachments: header');
    my @bins = map { $c->read_packet(5) } 0 .. 9;
    is_deeply(\@bins, [map { { binary => chr($_) } } 0 .. 9],
              '10 attachments: each in its binary frame, in order');

    my $eleven = '{"event":"eleven","data":['
        . join(',', @ten, '{"$binary":"Cg=="}') . ']}';
    my ($st, $d, $body, $h) = push_json($port, $eleven);
    is($st, 400, '11 attachments: 400');
    ok(ref $d eq 'HASH' && defined $d->{error} && length $d->{error},
       '11 attachments: {"error":...}') or diag("body: $body");

    # Nested does not escape the count.
    my $nested = '{"event":"eleven","data":[[' . join(',', @ten[0 .. 4])
        . '],{"x":[' . join(',', @ten[5 .. 9], '{"$binary":"Cg=="}')
        . ']}]}';
    ($st) = push_json($port, $nested);
    is($st, 400, '11 attachments, nested: 400');
    is_deeply(got($_), [], '11 attachments: nothing delivered')
        for $a, $b, $c, $n;
}

# ------------------------------------------------------- disconnect op

{
    my $d = client('/', '/chat');
    my $sd = $d->sio_sid('/chat');
    push_ok(qq({"op":"disconnect","nsp":"/chat","rooms":["$sd"]}), 1,
            'disconnect (close defaults to false)');
    is($d->read_packet(5), '41/chat,', 'disconnect: 41/chat,');
    push_ok(qq({"event":"still","rooms":["${\ $d->sio_sid('/')}"]}), 1,
            'disconnect: connection stays, / still served');
    is($d->read_packet(5), '42["still"]', 'disconnect: / push received');
    push_ok(qq({"nsp":"/chat","rooms":["$sd"],"event":"x"}), 0,
            'disconnect: the /chat socket is gone');

    like($d->sio_connect('/chat') // '', qr/^40\/chat,\{"sid":"$SID"\}\z/,
         'disconnect: CONNECT /chat again');

    push_ok(qq({"op":"disconnect","rooms":["${\ $d->sio_sid('/')}"],)
            . '"close":false}', 1, 'disconnect close:false in /');
    is($d->read_packet(5), '41', 'disconnect in /: 41');

    my $e = client('/', '/chat');
    push_ok(qq({"op":"disconnect","nsp":"/chat","rooms":["${\ $e->sio_sid('/chat')}"],)
            . '"close":true}', 1, 'disconnect close:true');
    # socket.io's disconnect(true): the DISCONNECT first, then the close
    is($e->read_packet(5), '41/chat,', 'close:true: 41/chat, first');
    is($e->wait_closed(5), 1000, 'close:true: close 1000');
    is_deeply($e->after_close, [], 'close:true: nothing after the close');
    ok($e->tcp_closed, 'close:true: TCP closed');
}

# -------------------------------------------------------------- errors

sub push_error {
    my ($json, $status, $name, %headers) = @_;
    my ($st, $d, $body, $h) = push_json($port, $json, %headers);
    is($st, $status, "$name: $status");
    if ($status == 400) {
        like($h->{'content-type'} // '', qr{^application/json},
             "$name: JSON answer");
        ok(ref $d eq 'HASH' && defined $d->{error} && !ref $d->{error}
           && length $d->{error}, "$name: {\"error\":...}")
            or diag("body: $body");
    }
}

push_error('{"event":', 400, 'truncated JSON');
push_error('{"event":"x",}', 400, 'trailing comma');
push_error('{"event":"x"} x', 400, 'garbage after the object');
push_error('', 400, 'empty body');
push_error('[1]', 400, 'not an object');
push_error('"event"', 400, 'a string');
push_error('{"nsp":"/chat"}', 400, 'missing event');
push_error('{"event":1}', 400, 'event a number');
push_error('{"event":null}', 400, 'event null');
push_error('{"event":["x"]}', 400, 'event an array');
push_error(qq({"event":"$_"}), 400, "reserved event $_")
    for qw(connect connect_error disconnect disconnecting newListener
           removeListener);
push_error('{"nsp":1,"event":"x"}', 400, 'nsp a number');
push_error('{"nsp":"/nope","event":"x"}', 400, 'unknown nsp');
push_error('{"rooms":1,"event":"x"}', 400, 'rooms a number');
push_error('{"rooms":{"r":1},"event":"x"}', 400, 'rooms an object');
push_error('{"except":1,"event":"x"}', 400, 'except a number');
push_error('{"rooms":[1],"event":"x"}', 400, 'rooms of numbers');
push_error('{"except":{},"event":"x"}', 400, 'except an object');
push_error('{"except":[null],"event":"x"}', 400, 'except of null');
push_error('{"event":"x","data":{"a":1}}', 400, 'data an object');
push_error('{"event":"x","data":"s"}', 400, 'data a string');
push_error('{"op":"explode"}', 400, 'unknown op');
push_error('{"op":1}', 400, 'op a number');
push_error('{"op":"join"}', 400, 'join without room');
push_error('{"op":"join","room":1}', 400, 'join with a number room');
push_error('{"op":"join","room":[1]}', 400, 'join with room [1]');
push_error('{"op":"leave","room":{}}', 400, 'leave with an object room');
push_error('{"op":"disconnect","close":"yes"}', 400, 'close a string');
push_error('{"op":"join","nsp":"/nope","room":"r"}', 400,
           'join in an unknown nsp');

push_error('{"event":"x"}', 415, 'text/plain',
           'Content-Type' => 'text/plain');
push_error('{"event":"x"}', 415, 'form',
           'Content-Type' => 'application/x-www-form-urlencoded');
# A refused push delivers nothing.
is_deeply(got($_), [], 'refused pushes: nothing delivered') for $a, $b, $c, $n;

{
    my ($st) = http_request($port, "POST /_ws/push HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\nContent-Length: 13\r\n\r\n{\"event\":\"x\"}");
    is($st, 415, 'no Content-Type: 415');
}
{
    my ($st, $d, $body) = push_json($port, '{"event":"ct"}',
        'Content-Type' => 'application/json; charset=utf-8');
    is($st, 200, 'application/json; charset=utf-8: 200');
    is($body, '{"matched":2}', 'application/json; charset=utf-8: matched');
    $_->read_packet(5) for $a, $c;
}

for my $m (qw(GET PUT DELETE)) {
    my ($st) = http_request($port, "$m /_ws/push HTTP/1.1\r\nHost: x\r\n"
                                   . "Connection: close\r\n\r\n");
    is($st, 405, "$m: 405");
}

{
    my $big = '{"event":"big","data":["' . ('x' x 3000) . '"]}';
    my ($st) = push_json($port, $big);
    is($st, 413, 'over client_max_body_size: 413');
}

{
    # A body bigger than client_body_buffer_size (kept in a temp file).
    my $big = 'q' x 200000;
    my ($st, $d, $body) = push_json($port,
        qq({"event":"big","data":["$big",1.50]}), path => '/_ws/push-big');
    is($st, 200, 'body in a temp file: 200');
    is($body, '{"matched":2}', 'body in a temp file: matched 2');
    is($c->read_packet(5), qq(42["big","$big",1.50]),
       'body in a temp file: delivered whole');
    $a->read_packet(5);
}

{
    # A chunked body is a body like any other.
    my $json = '{"event":"chunked"}';
    my ($st, $h, $body) = http_request($port,
        "POST /_ws/push HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $json, $json));
    is($st, 200, 'chunked body: 200');
    is($c->read_packet(5), '42["chunked"]', 'chunked body: delivered');
    $a->read_packet(5);
}

# Nothing stray reached anybody during the errors.
is_deeply(got($_), [], 'no stray packets') for $a, $b, $c, $n;

done_testing;
