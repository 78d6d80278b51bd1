#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The WebSocket upgrade and the Engine.IO handshake: the 101 and the open
# packet, and every refusal (400 JSON, 426) in its documented check order.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use NgxWs::Test qw(http_request wait_for server_conf missing);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(join("\n",
    server_conf(),
    server_conf(port => 2,
                socketio => ['ws_namespace /chat', 'ws_ping_interval 300ms',
                             'ws_ping_timeout 200ms', 'ws_max_payload 5000']),
    server_conf(port => 3, listen => 'http2')));
$t->run;

my $port = $t->port(1);
my $SID = qr/[A-Za-z0-9_-]{20}/;

# ---------------------------------------------------------------- success

my $ws = NgxWs::WebSocket->new(port => $port);
is($ws->status, 101, 'upgrade: 101');
like($ws->status_line, qr{^HTTP/1\.1 101 Switching Protocols\s*$},
     'upgrade: status line');
is(lc($ws->header('upgrade') // ''), 'websocket', 'upgrade: Upgrade');
like($ws->header('connection') // '', qr/^upgrade$/i, 'upgrade: Connection');
is($ws->header('sec-websocket-accept'),
   NgxWs::WebSocket::accept_for($ws->key), 'upgrade: Sec-WebSocket-Accept');

my $open = $ws->eio_open;
like($ws->open_raw,
     qr/^0\{"sid":"$SID","upgrades":\[\],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000\}\z/,
     'open packet: exact keys, order and defaults');
ok($open && length $open->{sid} == 20, 'open packet: 20-char sid');

my $ws2 = NgxWs::WebSocket->new(port => $port);
my $open2 = $ws2->eio_open;
isnt($open2 && $open2->{sid}, $open && $open->{sid}, 'sids differ');

# The first frame is the open packet and nothing else follows unasked:
# a ping's pong is the next frame.
is_deeply($ws2->barrier, [], 'nothing after the open packet');

my $c = NgxWs::WebSocket->new(port => $t->port(2));
$c->eio_open;
like($c->open_raw,
     qr/^0\{"sid":"$SID","upgrades":\[\],"pingInterval":300,"pingTimeout":200,"maxPayload":5000\}\z/,
     'open packet: values from the directives, in ms');
$c->close;

# Variants a browser or proxy may send, all valid.
for my $case (
    ['Upgrade: WebSocket (case)', headers => { Upgrade => 'WebSocket' }],
    ['Connection: keep-alive, Upgrade (Firefox)',
        headers => { Connection => 'keep-alive, Upgrade' }],
    ['Connection: upgrade (lower case)', headers => { Connection => 'upgrade' }],
    ['extra query args', query => 't=NxYz12&foo=bar'],
    # a page of the same origin (t/23-cors.t: others are refused)
    ['Origin and cookies', headers => { Origin => "http://127.0.0.1:$port",
                                        Cookie => 'a=b; c=d' }],
) {
    my ($name, %o) = @$case;
    my $v = NgxWs::WebSocket->new(port => $port, %o);
    is($v->status, 101, "valid: $name");
    ok($v->eio_open, "valid: $name: open packet");
    $v->close;
}

# A request head split over several writes.
{
    my $key = NgxWs::WebSocket::random_key();
    my $req = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            . "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die $!;
    for my $piece (unpack('(a20)*', $req)) {
        syswrite($s, $piece);
        select(undef, undef, undef, 0.01);
    }
    my $buf = '';
    my $sel = IO::Select->new($s);
    while ($buf !~ /\r\n\r\n.*0\{.*\}/s && $sel->can_read(5)) {
        sysread($s, $buf, 4096, length $buf) or last;
    }
    like($buf, qr{^HTTP/1\.1 101 }, 'head in pieces: 101');
    like($buf, qr/\r\n\r\n\x81.0\{"sid"/s, 'head in pieces: open packet');
    close $s;
}

# --------------------------------------------------------------- refusals

sub refused {
    my ($name, $status, $code, $msg, %o) = @_;
    my $r = NgxWs::WebSocket->new(port => $port, %o);
    is($r && $r->status, $status, "$name: $status");
    if (defined $code) {
        is($r->header('content-type'), 'application/json',
           "$name: Content-Type");
        is($r->body, qq({"code":$code,"message":"$msg"}), "$name: body");
    }
    return $r;
}

my $P = '/socket.io/';

refused('transport missing', 400, 0, 'Transport unknown',
        path => "$P?EIO=4");
refused('transport unknown', 400, 0, 'Transport unknown',
        path => "$P?EIO=4&transport=carrier-pigeon");

# polling is a transport: its handshake is a plain 200 with the open packet,
# Upgrade headers or not (t/24-polling.t has the rest)
for my $h ({}, { Upgrade => undef, Connection => undef,
                 'Sec-WebSocket-Key' => undef,
                 'Sec-WebSocket-Version' => undef }) {
    my $r = NgxWs::WebSocket->new(port => $port,
                                  path => "$P?EIO=4&transport=polling",
                                  headers => $h);
    my $what = %$h ? 'plain GET' : 'with Upgrade headers';
    is($r && $r->status, 200, "transport=polling, $what: 200");
    like($r->body, qr/^0\{"sid":"[\w-]{20}","upgrades":\["websocket"\],/,
         "transport=polling, $what: open packet offers the upgrade");
}
refused('transport=polling, EIO=3', 400, 5, 'Unsupported protocol version',
        path => "$P?EIO=3&transport=polling");
refused('transport=polling, unknown sid', 400, 1, 'Session ID unknown',
        path => "$P?EIO=4&transport=polling&sid=x");
refused('no query at all', 400, 0, 'Transport unknown', path => $P);

refused('sid given', 400, 1, 'Session ID unknown',
        query => 'sid=AAAAAAAAAAAAAAAAAAAA');

refused('POST', 400, 2, 'Bad handshake method', method => 'POST',
        headers => { 'Content-Length' => 0 });
refused('PUT', 400, 2, 'Bad handshake method', method => 'PUT',
        headers => { 'Content-Length' => 0 });

refused('no Upgrade', 400, 3, 'Bad request', headers => { Upgrade => undef });
refused('Upgrade: h2c', 400, 3, 'Bad request', headers => { Upgrade => 'h2c' });
refused('no Connection', 400, 3, 'Bad request',
        headers => { Connection => undef });
refused('Connection: keep-alive', 400, 3, 'Bad request',
        headers => { Connection => 'keep-alive' });
refused('no Sec-WebSocket-Key', 400, 3, 'Bad request', key => undef);
refused('empty Sec-WebSocket-Key', 400, 3, 'Bad request', key => '');
refused('key of 15 bytes', 400, 3, 'Bad request',
        key => encode_base64('x' x 15, ''));
refused('key of 17 bytes', 400, 3, 'Bad request',
        key => encode_base64('x' x 17, ''));
refused('key not base64', 400, 3, 'Bad request',
        key => '!!!!!!!!!!!!!!!!!!!!!!==');
refused('HTTP/1.0', 400, 3, 'Bad request', http => '1.0');
refused('HTTP/1.0, plain', 400, 3, 'Bad request', http => '1.0',
        headers => { Host => undef });

{
    my $r = refused('Sec-WebSocket-Version: 8', 426, undef, undef,
                    version => 8);
    is($r->header('sec-websocket-version'), '13',
       'version 8: Sec-WebSocket-Version: 13');
    $r = refused('Sec-WebSocket-Version: 14', 426, undef, undef,
                 version => 14);
    is($r->header('sec-websocket-version'), '13',
       'version 14: Sec-WebSocket-Version: 13');
    $r = NgxWs::WebSocket->new(port => $port,
                               headers => { 'Sec-WebSocket-Version' => undef });
    isnt($r->status, 101, 'no Sec-WebSocket-Version: refused');
}

refused('EIO missing', 400, 5, 'Unsupported protocol version',
        path => "$P?transport=websocket");
refused('EIO=3', 400, 5, 'Unsupported protocol version',
        path => "$P?EIO=3&transport=websocket");
refused('EIO=5', 400, 5, 'Unsupported protocol version',
        path => "$P?EIO=5&transport=websocket");
refused('EIO=44', 400, 5, 'Unsupported protocol version',
        path => "$P?EIO=44&transport=websocket");

# Check order: transport, sid, method, upgrade (426 for the version), EIO.
refused('order: transport before sid', 400, 0, 'Transport unknown',
        path => "$P?EIO=4&transport=flash&sid=x");
refused('order: transport before EIO', 400, 0, 'Transport unknown',
        path => "$P?EIO=3&transport=flash");
refused('order: sid before method', 400, 1, 'Session ID unknown',
        query => 'sid=x', method => 'POST',
        headers => { 'Content-Length' => 0 });
refused('order: method before upgrade', 400, 2, 'Bad handshake method',
        method => 'POST', headers => { Upgrade => undef,
                                       'Content-Length' => 0 });
refused('order: upgrade before EIO', 400, 3, 'Bad request',
        path => "$P?EIO=3&transport=websocket", key => undef);
refused('order: version before EIO', 426, undef, undef,
        path => "$P?EIO=3&transport=websocket", version => 12);

# After a refusal the server is fine.
{
    my $v = NgxWs::WebSocket->new(port => $port);
    is($v->status, 101, 'after refusals: upgrade works');
    ok($v->eio_open, 'after refusals: open packet');
}

# --------------------------------------------------------------- HTTP/2

{
    # curl is in TEST_PKGS; Debian's is built with nghttp2.
    my $curl = `command -v curl 2>/dev/null`;
    chomp $curl;
    missing('curl (Debian package curl)') unless $curl;
    my $v = `$curl -V 2>/dev/null`;
    ok($v =~ /^Features:.*\bHTTP2\b/m, 'curl speaks HTTP/2') or diag($v);

    my $out = $t->prefix . '/h2.body';
    my $key = NgxWs::WebSocket::random_key();
    my $code = `$curl -s --max-time 5 --http2-prior-knowledge -o $out \\
        -w '%{http_code} %{http_version}' \\
        -H 'Upgrade: websocket' -H 'Connection: Upgrade' \\
        -H 'Sec-WebSocket-Key: $key' -H 'Sec-WebSocket-Version: 13' \\
        'http://127.0.0.1:${\ $t->port(3)}/socket.io/?EIO=4&transport=websocket'`;
    my ($status, $ver) = split ' ', $code // '';
    is($ver, '2', 'h2c: spoke HTTP/2');
    is($status, '400', 'upgrade over HTTP/2: 400');
    is($t->read_file($out), '{"code":3,"message":"Bad request"}',
       'upgrade over HTTP/2: body');
}

# ------------------------------------------------------------ access log

$ws->close;
$ws2->close;
ok(wait_for(5, sub {
    $t->read_file('access.log')
        =~ m{"GET /socket\.io/\?EIO=4&transport=websocket HTTP/1\.1" 101 }
}), 'the upgrade is in the access log');

done_testing;
