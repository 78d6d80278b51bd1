#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# HTTP long-polling, byte for byte as engine.io 6.6 serves it: the
# handshake, POSTs of packets joined by \x1e and their "ok", GETs that
# take everything queued (binary as "b<base64>") or wait for it, the
# heartbeat over GETs, every error answer, a cancelled or doubled GET, the
# close packet both ways, the upgrade to a WebSocket (probe, noop, "5",
# then everything on the WebSocket), the hooks, and a reload or a stop
# answering a waiting GET with the close packet.  One worker: which worker
# serves a request is t/e2e/polling.test.mjs's business.
#
# A GET that must be waiting (parked) before the next step is made sure of
# with a request on another connection answered after it (settle()): one
# worker reads its connections in the order they were accepted, so once
# that answer is here the GET has been read.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(sleep time);
use NgxWs::Test qw(http_get push_json wait_for parse_http_response
                   server_conf);
use NgxWs::WebSocket;
use NgxWs::App;

my $t = NgxWs::Test->new->require_module;

# The app behind the hooks of /hooked/: the handshake's cookie decides.
my $app = NgxWs::App->start(log => $t->prefix . '/app.log',
    handler => sub {
        my ($req) = @_;
        my $j = $req->{json} // {};
        my $type = $j->{type} // '';
        if ($type eq 'connect') {
            return (200, '{"error":{"message":"who are you"}}')
                unless ($req->{headers}{cookie} // '') =~ /who=ok/;
            return (200, qq({"data":{"n":0},"push":[{"event":"welcome",)
                         . qq("rooms":"$j->{sid}","data":["hi"]}]}));
        }
        if ($type eq 'event') {
            return (200, '{"ack":' . JSON::PP->new->encode($j->{args})
                         . '}');
        }
        return (200, '{}');
    });

my @hooks = ('ws_hook_connect /_hook/connect', 'ws_hook_event /_hook/event',
             'ws_hook_disconnect /_hook/disconnect',
             'ws_hook_headers Cookie');

$t->write_conf(server_conf(
    socketio => ['ws_namespace /chat', 'ws_relay typing'],
    push => 1, health => 1,
    locations => [
        # a heartbeat short enough to wait for, and a small payload limit
        '/quick/' => ['ws_socketio', 'ws_namespace /chat',
                      'ws_ping_interval 300ms', 'ws_ping_timeout 200ms',
                      'ws_max_payload 5000',
                      'ws_hook_disconnect /_hook/disconnect'],
        # a client that never connects a namespace
        '/slowjoin/' => ['ws_socketio', 'ws_connect_timeout 300ms'],
        '/hooked/' => ['ws_socketio', 'ws_namespace /chat', @hooks],
        '/_hook/' => ['internal',
                      'proxy_pass http://127.0.0.1:' . $app->port . '/api/',
                      'proxy_read_timeout 2s']]));
$t->run;

my $port = $t->port;
my $SID = qr/[A-Za-z0-9_-]{20}/;
my $TEXT = 'text/plain; charset=UTF-8';
my $RS = "\x1e";

my %ERR = (
    1 => '{"code":1,"message":"Session ID unknown"}',
    2 => '{"code":2,"message":"Bad handshake method"}',
    3 => '{"code":3,"message":"Bad request"}',
);

# ------------------------------------------------------------ helpers

# An HTTP/1.1 connection: requests sent, answers read by Content-Length.
package Conn {
    use IO::Select;
    use Time::HiRes qw(time);

    sub new {
        my ($class, $port) = @_;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp',
                                      Timeout => 5)
            or die "connect: $!";
        binmode $s;
        return bless { sock => $s, buf => '', eof => 0 }, $class;
    }

    # %h: headers; Connection: close unless keepalive => 1; a body gets a
    # Content-Length unless a Transfer-Encoding is given.
    sub send {
        my ($self, $method, $path, $body, %h) = @_;
        my $keep = delete $h{keepalive};
        my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n";
        $req .= "Connection: close\r\n" unless $keep;
        $req .= "Content-Length: " . length($body) . "\r\n"
            if defined $body && !grep { lc eq 'transfer-encoding' } keys %h;
        $req .= "$_: $h{$_}\r\n" for sort keys %h;
        $req .= "\r\n" . ($body // '');
        local $SIG{PIPE} = 'IGNORE';
        my $off = 0;
        while ($off < length $req) {
            my $n = syswrite($self->{sock}, $req, length($req) - $off, $off);
            die "write: $!" unless defined $n;
            $off += $n;
        }
        return $self;
    }

    # (status, {headers}, body) of the next answer, or () on a timeout or
    # a connection closed before a whole answer.
    sub response {
        my ($self, $timeout) = @_;
        my $end = time + ($timeout // 5);
        my $sel = IO::Select->new($self->{sock});
        while (1) {
            my ($st, $h, $body)
                = NgxWs::Test::parse_http_response($self->{buf});
            if (defined $st) {
                my $len = $h->{'content-length'};
                if (defined $len && length($body) >= $len) {
                    my $head = index($self->{buf}, "\r\n\r\n") + 4;
                    substr($self->{buf}, 0, $head + $len) = '';
                    return ($st, $h, substr($body, 0, $len));
                }
                if ($self->{eof}) {
                    $self->{buf} = '';
                    return ($st, $h, $body);
                }
            }
            return () if $self->{eof};
            my $left = $end - time;
            return () if $left <= 0 || !$sel->can_read($left);
            my $n = sysread($self->{sock}, $self->{buf}, 65536,
                            length $self->{buf});
            $self->{eof} = 1 unless $n;
        }
    }

    # Nothing has come on the connection, not even its close.
    sub quiet {
        my ($self) = @_;
        return length($self->{buf}) == 0
               && !IO::Select->new($self->{sock})->can_read(0);
    }

    sub close { CORE::close($_[0]{sock}) }
}

sub url {
    my ($sid, %o) = @_;
    my $loc = $o{loc} // '/socket.io/';
    return "$loc?EIO=4&transport=polling" . ($sid ? "&sid=$sid" : '')
           . ($o{query} ? "&$o{query}" : '');
}

# A request on a connection of its own, under way.
sub start_req {
    my ($method, $sid, $body, %o) = @_;
    my $loc = delete $o{loc};
    my $query = delete $o{query};
    return Conn->new($port)->send($method, url($sid, loc => $loc,
                                               query => $query),
                                  $body, %o);
}

# ... and its answer: (status, headers, body).
sub req {
    my ($method, $sid, $body, %o) = @_;
    return start_req($method, $sid, $body, %o)->response(5);
}

sub pget  { req('GET', $_[0], undef, @_[1 .. $#_]) }
sub ppost {
    my ($sid, $body, %o) = @_;
    return req('POST', $sid, $body,
               'Content-Type' => 'text/plain;charset=UTF-8', %o);
}

# A request answered after whatever was sent before it (see the top).
sub settle {
    my ($st) = http_get($port, '/health');
    die "settle: /health answered " . ($st // 'nothing')
        unless ($st // 0) == 200;
}

# A polling handshake: the sid.
sub handshake {
    my (%o) = @_;
    my ($st, $h, $body) = req('GET', undef, undef, %o);
    die "handshake: " . ($st // 'no answer') . " $body"
        unless ($st // 0) == 200 && $body =~ /^0\{"sid":"($SID)"/;
    return $1;
}

# A session connected to $nsp ('/' by default): (sid, socket id).
sub connected {
    my (%o) = @_;
    my $nsp = delete $o{nsp} // '/';
    my $sid = handshake(%o);
    my $pre = $nsp eq '/' ? '' : "$nsp,";
    my ($st, undef, $ok) = ppost($sid, "40$pre", loc => $o{loc});
    die "CONNECT: " . ($st // 'no answer')
        unless ($st // 0) == 200 && $ok eq 'ok';
    my (undef, undef, $body) = pget($sid, loc => $o{loc});
    die "no CONNECT reply: $body"
        unless $body =~ /^40\Q$pre\E\{"sid":"($SID)"\}/;
    return ($sid, $1);
}

sub push_ok {
    my ($json, $matched, $name) = @_;
    my ($st, $d, $raw) = push_json($port, $json);
    is($st, 200, "$name: push 200");
    is($d && $d->{matched}, $matched, "$name: matched $matched")
        or diag($raw);
}

# ------------------------------------------------------------ handshake

{
    my ($st, $h, $body) = pget(undef);
    is($st, 200, 'handshake: 200');
    is($h->{'content-type'}, $TEXT, 'handshake: Content-Type');
    is($h->{'cache-control'}, 'no-store', 'handshake: Cache-Control');
    is($h->{'content-length'}, length $body, 'handshake: Content-Length');
    like($body, qr/^0\{"sid":"$SID","upgrades":\["websocket"\],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000\}\z/,
         'handshake: the open packet, exact keys, order and defaults');

    my (undef, undef, $other) = pget(undef, query => 't=PxZ1a2b');
    like($other, qr/^0\{"sid":"$SID"/, 'a cache buster (t=) is fine');
    isnt(substr($other, 8, 20), substr($body, 8, 20), 'sids differ');

    (undef, undef, $body) = pget(undef, loc => '/quick/');
    like($body, qr/^0\{"sid":"$SID","upgrades":\["websocket"\],"pingInterval":300,"pingTimeout":200,"maxPayload":5000\}\z/,
         'handshake: values from the directives');
}

# ------------------------------------------------------------ messages

{
    my $sid = handshake();
    my ($st, $h, $body) = ppost($sid, '40');
    is($st, 200, 'POST 40: 200');
    is($body, 'ok', 'POST 40: ok');
    is($h->{'content-type'}, 'text/html', 'POST: Content-Type text/html');

    ($st, $h, $body) = pget($sid);
    is($st, 200, 'GET: 200');
    is($h->{'content-type'}, $TEXT, 'GET: Content-Type');
    is($h->{'cache-control'}, 'no-store', 'GET: Cache-Control');
    like($body, qr/^40\{"sid":"$SID"\}\z/, 'GET: the CONNECT reply');
    my ($sock) = $body =~ /"sid":"(.*?)"/;
    isnt($sock, $sid, 'the socket id is not the Engine.IO sid');

    # several packets in one POST, their replies in one GET
    ($st, undef, $body) = ppost($sid, "40/chat,${RS}40/nope,");
    is($body, 'ok', 'two CONNECTs in one POST: ok');
    (undef, undef, $body) = pget($sid);
    like($body, qr{^40/chat,\{"sid":"$SID"\}\x1e
                   44/nope,\{"message":"Invalid\x20namespace"\}\z}x,
         'one GET: both replies, in order, joined by \x1e');

    # what waits is taken whole by the next GET
    push_ok(qq({"rooms":["$sock"],"event":"m","data":[$_]}), 1, "push $_")
        for 1 .. 3;
    (undef, undef, $body) = pget($sid);
    is($body, join($RS, map { qq(42["m",$_]) } 1 .. 3),
       'three pushes: one GET, joined by \x1e');

    # binary: "b<base64>", an empty attachment as "b"
    push_ok(qq({"rooms":["$sock"],"event":"bin","data":[{"\$binary":"AQID"}]}),
            1, 'binary push');
    (undef, undef, $body) = pget($sid);
    is($body, qq(451-["bin",{"_placeholder":true,"num":0}]${RS}bAQID),
       'a binary push: the header, then b<base64>');

    push_ok(qq({"nsp":"/chat","event":"who","data":[]}), 1, '/chat');
    (undef, undef, $body) = pget($sid);
    is($body, '42/chat,["who"]', 'a push to /chat');
    push_ok('{"nsp":"/chat","event":"b2","data":[{"$binary":"AAEC"},'
            . '[{"$binary":""}],"é€"]}', 1, 'two attachments');
    (undef, $h, $body) = pget($sid);
    is($body, qq(452-/chat,["b2",{"_placeholder":true,"num":0},)
              . qq([{"_placeholder":true,"num":1}],"é€"]${RS}bAAEC${RS}b),
       'two attachments, one empty, and UTF-8 text');
    is($h->{'content-length'}, length $body,
       'Content-Length counts bytes');

    # a GET with nothing to take waits; a push answers it
    my $get = start_req('GET', $sid);
    settle();
    ok($get->quiet, 'nothing queued: the GET waits');
    push_ok(qq({"rooms":["$sock"],"event":"late"}), 1, 'a push while waiting');
    ($st, $h, $body) = $get->response(5);
    is($st, 200, 'the waiting GET: 200');
    is($body, '42["late"]', 'the waiting GET: the push');

    # the session is keep-alive friendly: handshake, POST, GET and a
    # waiting GET on one connection
    my $c = Conn->new($port);
    ($st, undef, $body) = $c->send('GET', url(), undef, keepalive => 1)
                            ->response(5);
    my ($ksid) = $body =~ /"sid":"($SID)"/;
    ok($ksid, 'keepalive: handshake');
    (undef, undef, $body) = $c->send('POST', url($ksid), '40', keepalive => 1)
                              ->response(5);
    is($body, 'ok', 'keepalive: POST');
    (undef, undef, $body) = $c->send('GET', url($ksid), undef, keepalive => 1)
                              ->response(5);
    my ($ksock) = $body =~ /^40\{"sid":"($SID)"\}\z/;
    ok($ksock, 'keepalive: CONNECT reply');
    $c->send('GET', url($ksid), undef, keepalive => 1);
    settle();
    push_ok(qq({"rooms":["$ksock"],"event":"k"}), 1, 'keepalive: push');
    (undef, undef, $body) = $c->response(5);
    is($body, '42["k"]', 'keepalive: the waiting GET answered');
    $c->close;

    # client events: ws_relay to a WebSocket client in the same room,
    # and back
    my $ws = NgxWs::WebSocket->sio_open(port => $port) or die 'ws client';
    my $wsock = $ws->sio_sid('/');
    push_ok(qq({"op":"join","rooms":["$sock","$wsock"],"room":"r"}), 2,
            'both join r');
    (undef, undef, $body) = ppost($sid, '42["typing","from polling"]');
    is($body, 'ok', 'an event POSTed');
    is($ws->read_packet(5), '42["typing","from polling"]',
       'relayed to the WebSocket client');
    $get = start_req('GET', $sid);
    settle();
    $ws->send_text('42["typing","from ws"]');
    (undef, undef, $body) = $get->response(5);
    is($body, '42["typing","from ws"]',
       'the WebSocket client\'s event reaches the waiting GET');

    # POST "1": the waiting GET gets a noop, the POST its ok, the session
    # is gone
    $get = start_req('GET', $sid);
    settle();
    ($st, undef, $body) = ppost($sid, '1');
    is($st, 200, 'POST 1: 200');
    is($body, 'ok', 'POST 1: ok');
    ($st, undef, $body) = $get->response(5);
    is($st, 200, 'POST 1: the waiting GET 200');
    is($body, '6', 'POST 1: the waiting GET gets a noop');
    ($st, $h, $body) = pget($sid);
    is($st, 400, 'after POST 1: 400');
    is($body, $ERR{1}, 'after POST 1: Session ID unknown');
    is($h->{'content-type'}, 'application/json', 'as JSON');
    ok($ws->alive, 'the WebSocket client is fine');
}

# ------------------------------------------------------------ heartbeat

{
    # GET -> "2", POST "3", three times: the session lives past the
    # timeout of each ping
    my ($sid) = connected(loc => '/quick/');
    for my $i (1 .. 3) {
        my ($st, undef, $body) = pget($sid, loc => '/quick/');
        is($body, '2', "ping $i: the waiting GET gets 2");
        (undef, undef, $body) = ppost($sid, '3', loc => '/quick/');
        is($body, 'ok', "ping $i: POST 3: ok");
    }

    # no pong: the session is gone at pingInterval + pingTimeout, a GET
    # waiting then gets the close packet
    ($sid) = connected(loc => '/quick/');
    my ($st, undef, $body) = pget($sid, loc => '/quick/');
    is($body, '2', 'a ping');
    ($st, undef, $body) = pget($sid, loc => '/quick/');
    is($st, 200, 'no pong: the waiting GET 200');
    is($body, '1', 'no pong: the waiting GET gets the close packet');
    ($st, undef, $body) = pget($sid, loc => '/quick/');
    is($st, 400, 'no pong: then 400');
    is($body, $ERR{1}, 'no pong: Session ID unknown');

    # and with no GET at all: gone 500 ms after the handshake
    $sid = handshake(loc => '/quick/');
    sleep 0.7;                              # pingInterval + pingTimeout
    ($st, undef, $body) = pget($sid, loc => '/quick/');
    is($st, 400, 'never polled: 400 after the ping timeout');
    is($body, $ERR{1}, 'never polled: Session ID unknown');

    my $disc = wait_for(5, sub {
        grep { ($_->{json}{type} // '') eq 'disconnect'
               && ($_->{json}{reason} // '') eq 'ping timeout' }
            @{$app->requests} });
    ok($disc, 'the disconnect hook says "ping timeout"');

    # no CONNECT within ws_connect_timeout: the waiting GET gets "1"
    $sid = handshake(loc => '/slowjoin/');
    ($st, undef, $body) = pget($sid, loc => '/slowjoin/');
    is($st, 200, 'connect timeout: the waiting GET 200');
    like($body, qr/(?:^|\x1e)1\z/,
         'connect timeout: the waiting GET ends with the close packet');
    ($st, undef, $body) = pget($sid, loc => '/slowjoin/');
    is($body, $ERR{1}, 'connect timeout: then Session ID unknown');
}

# ------------------------------------------------------------ errors

{
    my ($st, $h, $body) = pget('AAAAAAAAAAAAAAAAAAAA');
    is($st, 400, 'unknown sid: 400');
    is($body, $ERR{1}, 'unknown sid: Session ID unknown');
    ($st, undef, $body) = ppost('AAAAAAAAAAAAAAAAAAAA', '40');
    is($body, $ERR{1}, 'unknown sid, POST: Session ID unknown');

    for my $m (qw(POST PUT)) {
        ($st, $h, $body) = req($m, undef, '40');
        is($st, 400, "$m without sid: 400");
        is($body, $ERR{2}, "$m without sid: Bad handshake method");
    }

    my ($sid) = connected();
    for my $m (qw(PUT DELETE)) {
        ($st, $h, $body) = req($m, $sid, $m eq 'PUT' ? '40' : undef);
        is($st, 500, "$m with a sid: 500");
        is($body, '', "$m with a sid: no body");
    }
    ($st, undef, $body) = ppost($sid, '40/chat,');
    is($body, 'ok', 'after PUT and DELETE the session goes on');
    (undef, undef, $body) = pget($sid);
    like($body, qr{^40/chat,\{"sid":"$SID"\}\z}, '... and answers');

    # a second GET: 400; the first gets the close packet; the session is
    # gone
    my $get = start_req('GET', $sid);
    settle();
    ($st, undef, $body) = pget($sid, query => 't=burst');
    is($st, 400, 'a second GET: 400');
    ($st, undef, $body) = $get->response(5);
    is($st, 200, 'a second GET: the first one 200');
    is($body, '1', 'a second GET: the first one gets the close packet');
    ($st, undef, $body) = pget($sid);
    is($st, 400, 'a second GET: then 400');
    is($body, $ERR{1}, 'a second GET: then Session ID unknown');

    # a binary body: 400, the session closed
    ($sid) = connected();
    ($st) = req('POST', $sid, '42["x"]',
                'Content-Type' => 'application/octet-stream');
    is($st, 400, 'application/octet-stream: 400');
    ($st, undef, $body) = pget($sid);
    is($body, $ERR{1}, 'application/octet-stream: the session is gone');

    # a GET the client gives up on closes the session
    ($sid) = connected();
    $get = start_req('GET', $sid);
    settle();
    $get->close;
    ($st, undef, $body) = pget($sid);
    is($st, 400, 'a cancelled GET: then 400');
    is($body, $ERR{1}, 'a cancelled GET: Session ID unknown');

    # an Engine.IO packet that is none: the session is closed, as
    # engine.io does (the official suite: the next GET gets 400)
    ($sid) = connected();
    req('POST', $sid, 'abc');
    ($st, undef, $body) = pget($sid);
    is($st, 400, 'POST abc: the next GET 400');
    is($body, $ERR{1}, 'POST abc: Session ID unknown');

    # a ping from the client ("invalid heartbeat direction")
    ($sid) = connected();
    req('POST', $sid, '2');
    ($st, undef, $body) = pget($sid);
    is($st, 400, 'POST 2: the next GET 400');

    # a Socket.IO packet that is none: socket.io closes the connection,
    # the next GET takes the close packet
    ($sid) = connected();
    ppost($sid, '4abc');
    ($st, undef, $body) = pget($sid);
    like($body, qr/(?:^|\x1e)1\z/, 'POST 4abc: the next GET: close packet');
    ($st, undef, $body) = pget($sid);
    is($body, $ERR{1}, 'POST 4abc: then Session ID unknown');

    # bodies: up to ws_max_payload taken, one byte more 413 and the
    # session stays
    ($sid) = connected(loc => '/quick/');
    my $at = '42["x","' . ('a' x (5000 - 10)) . '"]';
    is(length $at, 5000, 'a body of ws_max_payload bytes');
    ($st, undef, $body) = ppost($sid, $at, loc => '/quick/');
    is($st, 200, 'ws_max_payload bytes: 200');
    ($st) = ppost($sid, $at . ' ', loc => '/quick/');
    is($st, 413, 'one byte more: 413');
    ($st, undef, $body) = ppost($sid, '40/chat,', loc => '/quick/');
    is($body, 'ok', 'after a 413: POST ok');
    (undef, undef, $body) = pget($sid, loc => '/quick/');
    like($body, qr{(?:^|\x1e)40/chat,\{"sid":"$SID"\}}, 'after a 413: GET');

    # the same, chunked (no Content-Length to refuse early)
    ($st) = ppost($sid, sprintf("%x\r\n%s\r\n0\r\n\r\n", 5001, $at . ' '),
                  loc => '/quick/', 'Transfer-Encoding' => 'chunked');
    is($st, 413, 'chunked, one byte over: 413');
    ($st, undef, $body) = ppost($sid, '41/chat,', loc => '/quick/');
    is($body, 'ok', 'after a chunked 413: the session goes on');
    ($sid) = connected(loc => '/quick/');
    ($st, undef, $body) = ppost($sid, sprintf("%x\r\n%s\r\n0\r\n\r\n", 5000,
                                              $at),
                                loc => '/quick/',
                                'Transfer-Encoding' => 'chunked');
    is($st, 200, 'chunked, ws_max_payload bytes: 200');
    is($body, 'ok', 'chunked, ws_max_payload bytes: ok');
}

# ------------------------------------------------------------ upgrade

sub ws_for {
    my ($sid, %o) = @_;
    my $loc = delete $o{loc} // '/socket.io/';
    return NgxWs::WebSocket->new(port => $port,
        path => "$loc?EIO=4&transport=websocket&sid=$sid", %o);
}

{
    my ($sid, $sock) = connected();
    my $get = start_req('GET', $sid);
    settle();

    my $ws = ws_for($sid);
    is($ws->status, 101, 'upgrade: 101');
    is_deeply($ws->barrier, [], 'upgrade: no open packet on the WebSocket');
    ok($get->quiet, 'upgrade: the GET still waits');

    $ws->send_text('2probe');
    is($ws->read_packet(5), '3probe', 'upgrade: 2probe -> 3probe');
    my ($st, $h, $body) = $get->response(5);
    is($st, 200, 'upgrade: the waiting GET 200');
    is($body, '6', 'upgrade: the waiting GET gets a noop');

    # what is pushed before the "5" waits, and goes on the WebSocket
    push_ok(qq({"rooms":["$sock"],"event":"before5"}), 1, 'push before 5');
    $ws->send_text('5');
    is($ws->read_packet(5), '42["before5"]',
       'upgrade: the queue is flushed on the WebSocket');

    push_ok(qq({"rooms":["$sock"],"event":"after5"}), 1, 'push after 5');
    is($ws->read_packet(5), '42["after5"]', 'after: pushes are WS frames');
    push_ok(qq({"rooms":["$sock"],"event":"bin","data":[{"\$binary":"AQID"}]}),
            1, 'binary push after 5');
    is($ws->read_packet(5), '451-["bin",{"_placeholder":true,"num":0}]',
       'after: a binary push, its header');
    is_deeply($ws->read_packet(5), { binary => "\x01\x02\x03" },
              'after: its attachment as a binary frame');

    # the upgraded client's events are the session's
    my $other = NgxWs::WebSocket->sio_open(port => $port) or die 'ws';
    push_ok(qq({"op":"join","rooms":["$sock","${\ $other->sio_sid('/')}"],)
            . qq("room":"u"}), 2, 'join u');
    $ws->send_text('42["typing","upgraded"]');
    is($other->read_packet(5), '42["typing","upgraded"]',
       'after: an event sent on the WebSocket');
    $ws->send_text('40/chat,');
    like($ws->read_packet(5), qr{^40/chat,\{"sid":"$SID"\}\z},
         'after: a CONNECT on the WebSocket');

    ($st, $h, $body) = pget($sid);
    is($st, 400, 'polling GET after the upgrade: 400');
    is($body, $ERR{3}, 'polling GET after the upgrade: Bad request');
    ($st, $h, $body) = ppost($sid, '42["x"]');
    is($body, $ERR{3}, 'polling POST after the upgrade: Bad request');

    my $ws2 = ws_for($sid);
    is($ws2->status, 101, 'a second WebSocket: 101');
    ok(defined $ws2->wait_closed(5), 'a second WebSocket: closed at once');
    ok($ws->alive, 'the first WebSocket is fine');

    push_ok(qq({"rooms":["$sock"],"event":"still"}), 1, 'push');
    is($ws->read_packet(5), '42["still"]', 'the session goes on');

    # closing the WebSocket ends the session
    $ws->close;
    ok(wait_for(5, sub { (pget($sid))[2] eq $ERR{1} }),
       'the WebSocket closed: the sid is unknown');
}

{
    # packets queued before the probe, and a GET after "3probe": the GET
    # takes the queue; the WebSocket gets the rest
    my ($sid, $sock) = connected();
    push_ok(qq({"rooms":["$sock"],"event":"q1"}), 1, 'queued');
    my $ws = ws_for($sid);
    $ws->send_text('2probe');
    is($ws->read_packet(5), '3probe', 'probe');
    my ($st, undef, $body) = pget($sid);
    is($body, '42["q1"]', 'a GET during the upgrade takes the queue');
    (undef, undef, $body) = pget($sid);
    is($body, '6', 'a GET during the upgrade with nothing queued: noop');
    push_ok(qq({"rooms":["$sock"],"event":"q2"}), 1, 'queued again');
    $ws->send_text('5');
    is($ws->read_packet(5), '42["q2"]', 'after 5: on the WebSocket');
    $ws->close;
}

{
    # a probe that goes away: the session stays on polling, and may
    # upgrade later
    my ($sid, $sock) = connected();
    my $ws = ws_for($sid);
    $ws->send_text('2probe');
    is($ws->read_packet(5), '3probe', 'a probe');
    my $w2 = ws_for($sid);
    is($w2->status, 101, 'a second WebSocket during the upgrade: 101');
    ok(defined $w2->wait_closed(5), '... closed at once');
    $ws->close;

    # the probe's end is seen before the next connection's request
    settle();
    my $get = start_req('GET', $sid);
    settle();
    push_ok(qq({"rooms":["$sock"],"event":"poll"}), 1, 'push');
    my ($st, undef, $body) = $get->response(5);
    is($body, '42["poll"]', 'the probe gone: polling goes on');

    # a probe that says something else is closed; polling goes on
    $ws = ws_for($sid);
    $ws->send_text('42["nope"]');
    ok(defined $ws->wait_closed(5), 'a probe sending a message: closed');
    settle();
    push_ok(qq({"rooms":["$sock"],"event":"poll2"}), 1, 'push');
    (undef, undef, $body) = pget($sid);
    is($body, '42["poll2"]', 'and polling goes on');

    $ws = ws_for($sid);
    $ws->send_text('2probe');
    is($ws->read_packet(5), '3probe', 'a later probe');
    $ws->send_text('5');
    push_ok(qq({"rooms":["$sock"],"event":"ws"}), 1, 'push');
    is($ws->read_packet(5), '42["ws"]', 'a later upgrade works');
}

{
    # after the upgrade the heartbeat is on the WebSocket
    my $sid = handshake(loc => '/quick/');
    ppost($sid, '40', loc => '/quick/');
    my $ws = ws_for($sid, loc => '/quick/');
    $ws->send_text('2probe');
    is($ws->read_packet(5, no_pong => 1), '3probe', 'quick: probe');
    $ws->send_text('5');
    my @got;
    while (@got < 3) {
        my $p = $ws->read_packet(5, no_pong => 1);
        last unless defined $p;
        if ($p eq '2') {
            push @got, $p;
            $ws->send_text('3');
        }
    }
    is_deeply(\@got, [('2') x 3], 'upgraded: pings as "2", three answered');
    ok($ws->alive, 'upgraded: alive after three pings');
}

# ------------------------------------------------------------ hooks

{
    # the connect hook sees the handshake's headers, not the POST's
    my $sid = handshake(loc => '/hooked/', Cookie => 'a=1; who=ok');
    my ($st, undef, $body) = ppost($sid, '40/chat,{"token":"t"}',
                                   loc => '/hooked/', Cookie => 'who=not');
    is($body, 'ok', 'hooked: CONNECT POSTed');
    my $get = start_req('GET', $sid, undef, loc => '/hooked/');
    ($st, undef, $body) = $get->response(5);
    if ($body !~ /\x1e/) {
        # the welcome push may come in a GET of its own
        my (undef, undef, $more) = pget($sid, loc => '/hooked/');
        $body .= "$RS$more";
    }
    like($body,
         qr{^40/chat,\{"sid":"($SID)"\}\x1e42/chat,\["welcome","hi"\]\z},
         'hooked: accepted, and the push of the answer');
    my ($sock) = $body =~ /"sid":"($SID)"/;

    my ($req) = grep { ($_->{json}{type} // '') eq 'connect'
                       && ($_->{json}{sid} // '') eq ($sock // '-') }
                @{$app->requests};
    is($req && $req->{headers}{cookie}, 'a=1; who=ok',
       'hooked: the handshake cookie comes as a header');
    is_deeply($req && $req->{json}, {
        type => 'connect', nsp => '/chat', sid => $sock,
        auth => { token => 't' }, headers => { cookie => 'a=1; who=ok' },
        address => '127.0.0.1' }, 'hooked: the connect body');

    # an event with an ack; a binary one
    ppost($sid, '42/chat,5["echo",1]', loc => '/hooked/');
    (undef, undef, $body) = pget($sid, loc => '/hooked/');
    is($body, '43/chat,5[1]', 'hooked: the app\'s ack');
    ppost($sid,
          qq(451-/chat,6["echo",{"_placeholder":true,"num":0}]${RS}bAQID),
          loc => '/hooked/');
    (undef, undef, $body) = pget($sid, loc => '/hooked/');
    is($body, qq(461-/chat,6[{"_placeholder":true,"num":0}]${RS}bAQID),
       'hooked: a binary event and its binary ack');
    my ($ev) = grep { ($_->{json}{type} // '') eq 'event'
                      && ref(($_->{json}{args} // [])->[0]) eq 'HASH' }
               @{$app->requests};
    is_deeply($ev && $ev->{json}{args}, [{ '$binary' => 'AQID' }],
              'hooked: the app got the attachment as $binary');

    # a refused CONNECT
    my $s2 = handshake(loc => '/hooked/', Cookie => 'who=nobody');
    ppost($s2, '40/chat,', loc => '/hooked/', Cookie => 'who=ok');
    (undef, undef, $body) = pget($s2, loc => '/hooked/');
    is($body, '44/chat,{"message":"who are you"}',
       'hooked: refused by the handshake cookie');

    # the close packet: the disconnect hook says "transport close"
    ppost($sid, '1', loc => '/hooked/');
    my $d;
    wait_for(5, sub {
        ($d) = grep { ($_->{json}{type} // '') eq 'disconnect'
                      && ($_->{json}{sid} // '') eq $sock }
               @{$app->requests};
        return $d;
    });
    is($d && $d->{json}{reason}, 'transport close',
       'hooked: POST 1 -> disconnect hook, "transport close"');
}

# ------------------------------------------------------------ reload, stop

{
    my ($sid) = connected();
    my $get = start_req('GET', $sid);
    settle();
    my ($idle) = connected();               # no GET waiting

    my @old = $t->reload;
    my ($st, undef, $body) = $get->response(5);
    is($st, 200, 'reload: the waiting GET 200');
    is($body, '1', 'reload: the waiting GET gets the close packet');
    ok($t->wait_gone(\@old, 5), 'reload: the old worker exits within 5 s');
    ($st, undef, $body) = pget($sid);
    is($body, $ERR{1}, 'reload: the sid is unknown to the new worker');
    ($st, undef, $body) = pget($idle);
    is($body, $ERR{1}, 'reload: an idle session too');

    ($sid) = connected();
    $get = start_req('GET', $sid);
    settle();
    my $t0 = time;
    $t->stop(timeout => 5);
    ($st, undef, $body) = $get->response(5);
    is($st, 200, 'stop: the waiting GET 200');
    is($body, '1', 'stop: the waiting GET gets the close packet');
    ok(time - $t0 < 5, 'stop: nginx exits at once');
}

$app->stop;

done_testing;
