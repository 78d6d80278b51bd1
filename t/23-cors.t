#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# CORS and the Origin check (src/ngx_ws_cors.c): preflights answered 204
# or refused 403, ws_cors_origin's exact, wildcard and "*" origins, the
# credentials echo, Vary; the WebSocket upgrade refused to a foreign page
# (cross-site WebSocket hijacking) with and without ws_cors_origin; what
# "nginx -t" refuses in ws_cors_origin and ws_cookie; inheritance.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use NgxWs::Test qw(http_request server_conf);
use NgxWs::WebSocket;

my $t = NgxWs::Test->new->require_module;

$t->write_conf(join("\n",
    # 1: no ws_cors_origin: the page must be the site's own
    server_conf(),
    # 2: exact and wildcard origins, over two directives
    server_conf(port => 2, socketio => [
        'ws_cors_origin https://app.example.com https://*.example.com:8443',
        'ws_cors_origin http://localhost:3000']),
    # 3: any origin
    server_conf(port => 3, socketio => ['ws_cors_origin *']),
    # 4: any origin, with credentials: echoed, never "*"
    server_conf(port => 4, socketio => ['ws_cors_origin *',
                                       'ws_cors_credentials on']),
    # 5: one origin, credentials, the io cookie
    server_conf(port => 5, socketio => [
        'ws_cors_origin https://app.example.com', 'ws_cors_credentials on',
        'ws_cookie io']),
    # 6: set at server level, replaced in one location
    <<'CONF',
    server {
        listen 127.0.0.1:%%PORT6%%;
        ws_cors_origin https://a.example.com;
        ws_cors_credentials on;
        ws_cookie sid path=/socket.io/;
        location /socket.io/ {
            ws_socketio;
        }
        location /own/ {
            ws_socketio;
            ws_cors_origin https://b.example.com;
            ws_cors_credentials off;
            ws_cookie off;
        }
    }
CONF
));
$t->run;

my ($p1, $p2, $p3, $p4, $p5, $p6) = map { $t->port($_) } 1 .. 6;

my $FORBIDDEN = '{"code":4,"message":"Forbidden"}';
my $WS = '/socket.io/?EIO=4&transport=websocket';
my $POLL = '/socket.io/?EIO=4&transport=polling';

# A raw request: Host is 127.0.0.1:port unless given.  Returns (status,
# {lowercased headers}, body).
sub request {
    my ($port, $method, $path, @headers) = @_;
    my %h = @headers;
    my $raw = "$method $path HTTP/1.1\r\n";
    $raw .= "Host: 127.0.0.1:$port\r\n" unless grep { lc eq 'host' } keys %h;
    while (my ($k, $v) = splice(@headers, 0, 2)) {
        $raw .= "$k: $v\r\n";
    }
    return http_request($port, $raw . "Connection: close\r\n\r\n");
}

sub preflight {
    my ($port, $origin, @more) = @_;
    return request($port, 'OPTIONS', $POLL, Origin => $origin,
                   'Access-Control-Request-Method' => 'GET', @more);
}

sub upgrade {
    my ($port, %headers) = @_;
    return NgxWs::WebSocket->new(port => $port, headers => \%headers);
}

# The answer to a refused origin: 403, engine.io's code 4, no CORS.
sub refused {
    my ($name, $st, $h, $body, %o) = @_;
    is($st, 403, "$name: 403");
    is($body, $FORBIDDEN, "$name: engine.io's Forbidden");
    is($h->{'content-type'}, 'application/json', "$name: JSON");
    ok(!exists $h->{'access-control-allow-origin'},
       "$name: no Access-Control-Allow-Origin");
    ok(!exists $h->{'access-control-allow-credentials'},
       "$name: no Access-Control-Allow-Credentials");
    if ($o{cors}) {
        is($h->{vary}, 'Origin', "$name: Vary: Origin");
    } else {
        ok(!exists $h->{vary}, "$name: no Vary");
    }
}

# ------------------------------------------------------------- preflight

{
    my ($st, $h, $body) = preflight($p2, 'https://app.example.com',
        'Access-Control-Request-Headers' => 'content-type,x-token');
    is($st, 204, 'preflight: 204');
    is($body, '', 'preflight: no body');
    ok(!exists $h->{'content-length'},
       'preflight: no Content-Length (RFC 9110 on a 204)');
    is($h->{'access-control-allow-origin'}, 'https://app.example.com',
       'preflight: the origin echoed');
    is($h->{'access-control-allow-methods'}, 'GET, POST, OPTIONS',
       'preflight: the methods');
    is($h->{'access-control-allow-headers'}, 'content-type,x-token',
       'preflight: the headers asked for');
    is($h->{'access-control-max-age'}, '86400', 'preflight: max age');
    is($h->{vary}, 'Origin, Access-Control-Request-Headers',
       'preflight: Vary');
    ok(!exists $h->{'access-control-allow-credentials'},
       'preflight: no credentials unless ws_cors_credentials');

    ($st, $h) = preflight($p2, 'https://app.example.com');
    is($st, 204, 'preflight without Access-Control-Request-Headers: 204');
    ok(!exists $h->{'access-control-allow-headers'},
       'preflight without Access-Control-Request-Headers: none allowed');

    refused('preflight from a foreign origin',
            preflight($p2, 'https://evil.example.org'), cors => 1);
    refused('preflight from a foreign origin, no ws_cors_origin',
            preflight($p1, 'https://evil.example.org'));

    ($st, $h, $body) = preflight($p4, 'https://any.example.net',
        'Access-Control-Request-Headers' => 'authorization');
    is($st, 204, 'preflight, "*" and credentials: 204');
    is($h->{'access-control-allow-origin'}, 'https://any.example.net',
       'preflight, "*" and credentials: the origin echoed, not "*"');
    is($h->{'access-control-allow-credentials'}, 'true',
       'preflight, "*" and credentials: Allow-Credentials');

    ($st, $h) = preflight($p3, 'https://any.example.net');
    is($st, 204, 'preflight, "*": 204');
    is($h->{'access-control-allow-origin'}, '*', 'preflight, "*": "*"');
}

# Not preflights: the handshake's own answer (engine.io's 400), with the
# CORS headers when the origin is allowed.

{
    my ($st, $h, $body) = request($p2, 'OPTIONS', $WS,
                                  Origin => 'https://app.example.com');
    is($st, 400, 'OPTIONS without Access-Control-Request-Method: '
       . 'the handshake answers');
    is($h->{'access-control-allow-origin'}, 'https://app.example.com',
       'OPTIONS without Access-Control-Request-Method: the origin echoed');
    is($h->{vary}, 'Origin',
       'OPTIONS without Access-Control-Request-Method: Vary: Origin');

    ($st, $h) = request($p2, 'OPTIONS', $WS,
                        'Access-Control-Request-Method' => 'GET');
    is($st, 400, 'OPTIONS without Origin: the handshake answers');
    ok(!exists $h->{'access-control-allow-origin'},
       'OPTIONS without Origin: no Access-Control-Allow-Origin');

    # a same-origin "preflight" with no ws_cors_origin: no CORS at all
    ($st, $h, $body) = request($p1, 'OPTIONS', $WS,
        Origin => "http://127.0.0.1:$p1",
        'Access-Control-Request-Method' => 'GET');
    is($st, 400, 'same-origin OPTIONS, no ws_cors_origin: the handshake '
       . 'answers');
    is($body, '{"code":2,"message":"Bad handshake method"}',
       'same-origin OPTIONS, no ws_cors_origin: engine.io\'s error');
    ok(!exists $h->{'access-control-allow-origin'} && !exists $h->{vary},
       'same-origin OPTIONS, no ws_cors_origin: no CORS headers');

    # a handshake error for an allowed page carries the CORS headers, so
    # that the page can read it
    ($st, $h, $body) = request($p2, 'GET', '/socket.io/?EIO=4',
                               Origin => 'http://localhost:3000');
    is($st, 400, 'handshake error, allowed origin: 400');
    is($body, '{"code":0,"message":"Transport unknown"}',
       'handshake error, allowed origin: engine.io\'s error');
    is($h->{'access-control-allow-origin'}, 'http://localhost:3000',
       'handshake error, allowed origin: Access-Control-Allow-Origin');

    ($st, $h) = request($p2, 'GET', '/socket.io/?EIO=4');
    is($h->{vary}, 'Origin', 'no Origin, ws_cors_origin set: Vary: Origin');
    ok(!exists $h->{'access-control-allow-origin'},
       'no Origin: no Access-Control-Allow-Origin');
}

# ------------------------------------------------------------- origins

for my $case (
    # origin, allowed
    ['https://app.example.com', 1],
    ['https://APP.Example.com', 1],              # case
    ['https://app.example.com:443', 1],          # the default port
    ['http://localhost:3000', 1],                # the second directive
    ['https://chat.example.com:8443', 1],        # wildcard
    ['https://a.b.example.com:8443', 1],         # deeper
    ['https://example.com:8443', 0],             # not the bare domain
    ['https://chat.example.com', 0],             # its port only
    ['http://chat.example.com:8443', 0],         # its scheme only
    ['https://chat.example.com.evil.org:8443', 0],
    ['https://evilexample.com:8443', 0],
    ['http://app.example.com', 0],
    ['https://app.example.com:9443', 0],
    ['https://example.com', 0],
    ['https://app.example.co', 0],
    ['https://xapp.example.com', 0],
    ['http://localhost:3001', 0],
    ['http://localhost', 0],
    ['null', 0],
    ['https://app.example.com/', 0],             # malformed
    ['app.example.com', 0],
    ['', 0],
) {
    my ($origin, $allowed) = @$case;
    my $name = "origin \"$origin\"";
    my ($st, $h, $body) = preflight($p2, $origin);
    if ($allowed) {
        is($st, 204, "$name: preflight 204");
        is($h->{'access-control-allow-origin'}, $origin,
           "$name: echoed as sent");
        my $ws = upgrade($p2, Origin => $origin);
        is($ws->status, 101, "$name: upgrade 101");
        is($ws->header('access-control-allow-origin'), $origin,
           "$name: the 101 has Access-Control-Allow-Origin");
        is($ws->header('vary'), 'Origin', "$name: the 101 has Vary");
        ok($ws->eio_open, "$name: the session opens");
        $ws->close;
    } else {
        refused("$name: preflight", $st, $h, $body, cors => 1);
        my $ws = upgrade($p2, Origin => $origin);
        refused("$name: upgrade", $ws->status, $ws->headers, $ws->body,
                cors => 1);
    }
}

{
    my $ws = upgrade($p2);
    is($ws->status, 101, 'no Origin, ws_cors_origin set: upgrade 101');
    ok(!defined $ws->header('access-control-allow-origin'),
       'no Origin: no Access-Control-Allow-Origin on the 101');
    ok($ws->eio_open, 'no Origin: the session opens');
    $ws->close;

    # polling from a foreign page is refused before the transport matters
    refused('polling GET from a foreign origin',
            request($p2, 'GET', $POLL, Origin => 'https://evil.example.org'),
            cors => 1);
    refused('polling POST from a foreign origin',
            request($p2, 'POST', "$POLL&sid=AAAAAAAAAAAAAAAAAAAA",
                    Origin => 'https://evil.example.org',
                    'Content-Length' => 0),
            cors => 1);
}

# "*": any well-formed origin, answered "*" without credentials

for my $origin ('https://any.example.net', 'http://10.1.2.3:8080',
                'capacitor://localhost')
{
    my $ws = upgrade($p3, Origin => $origin);
    is($ws->status, 101, "\"*\": $origin: 101");
    is($ws->header('access-control-allow-origin'), '*',
       "\"*\": $origin: Access-Control-Allow-Origin: *");
    is($ws->header('vary'), 'Origin', "\"*\": $origin: Vary");
    ok(!defined $ws->header('access-control-allow-credentials'),
       "\"*\": $origin: no credentials");
    $ws->close;

    $ws = upgrade($p4, Origin => $origin);
    is($ws->status, 101, "\"*\" and credentials: $origin: 101");
    is($ws->header('access-control-allow-origin'), $origin,
       "\"*\" and credentials: $origin: echoed");
    is($ws->header('access-control-allow-credentials'), 'true',
       "\"*\" and credentials: $origin: Allow-Credentials");
    $ws->close;
}

for my $port ($p3, $p4) {
    for my $origin ('null', 'https://app.example.com/path') {
        my $ws = upgrade($port, Origin => $origin);
        refused("\"*\": \"$origin\" is no origin", $ws->status,
                $ws->headers, $ws->body, cors => 1);
    }
}

{
    my $ws = upgrade($p5, Origin => 'https://app.example.com');
    is($ws->status, 101, 'credentials: 101');
    is($ws->header('access-control-allow-origin'), 'https://app.example.com',
       'credentials: echoed');
    is($ws->header('access-control-allow-credentials'), 'true',
       'credentials: Allow-Credentials: true');
    ok(!defined $ws->header('set-cookie'),
       'ws_cookie: no cookie on a WebSocket handshake');
    $ws->close;

    refused('credentials, foreign origin',
            preflight($p5, 'https://evil.example.org'), cors => 1);
}

# --------------------------------------------- no ws_cors_origin: same origin

for my $case (
    # Host, Origin, allowed
    [undef, "http://127.0.0.1:$p1", 1],
    [undef, "https://127.0.0.1:$p1", 1],        # a proxy may end TLS
    [undef, "http://localhost:$p1", 0],
    [undef, 'http://example.com', 0],
    [undef, "http://127.0.0.1:" . ($p1 + 1), 0],
    [undef, "http://127.0.0.1", 0],
    [undef, 'null', 0],
    [undef, "http://127.0.0.1:$p1/", 0],
    ['example.com', 'http://example.com', 1],
    ['example.com', 'https://example.com', 1],
    ['EXAMPLE.com', 'http://example.COM', 1],
    ['example.com:80', 'http://example.com', 1],
    ['example.com:443', 'https://example.com', 1],
    ['example.com:8080', 'http://example.com:8080', 1],
    ['example.com', 'http://example.com:80', 1],
    ['example.com:80', 'https://example.com', 0],
    ['example.com:443', 'http://example.com', 0],
    ['example.com', 'http://example.com:8080', 0],
    ['example.com:8080', 'http://example.com', 0],
    ['example.com', 'http://www.example.com', 0],
    ['www.example.com', 'http://example.com', 0],
    ['[::1]:8080', 'http://[::1]:8080', 1],
    ['[::1]', 'http://[::1]:8080', 0],
) {
    my ($host, $origin, $allowed) = @$case;
    my $name = 'no ws_cors_origin, Host ' . ($host // "127.0.0.1:$p1")
             . ", Origin \"$origin\"";
    my $ws = upgrade($p1, Origin => $origin, defined $host ? (Host => $host)
                                                           : ());
    if ($allowed) {
        is($ws->status, 101, "$name: 101");
        ok(!defined $ws->header('access-control-allow-origin')
           && !defined $ws->header('vary'), "$name: no CORS headers");
        ok($ws->eio_open, "$name: the session opens");
        $ws->close;
    } else {
        refused($name, $ws->status, $ws->headers, $ws->body);
    }
}

{
    my $ws = upgrade($p1);
    is($ws->status, 101, 'no ws_cors_origin, no Origin: 101');
    ok($ws->eio_open, 'no ws_cors_origin, no Origin: the session opens');
    $ws->close;

    refused('no ws_cors_origin, polling from a foreign origin',
            request($p1, 'GET', $POLL, Origin => 'https://evil.example.org'));
}

like($t->error_log, qr/ws: origin "https:\/\/evil\.example\.org" refused: not in ws_cors_origin/,
     'a refusal is logged (info) with its reason');

# ------------------------------------------------------------- inheritance

{
    my $ws = upgrade($p6, Origin => 'https://a.example.com');
    is($ws->status, 101, 'server level: its origin, 101');
    is($ws->header('access-control-allow-credentials'), 'true',
       'server level: ws_cors_credentials inherited');
    $ws->close;

    $ws = upgrade($p6, Origin => 'https://b.example.com');
    is($ws->status, 403, 'server level: another origin, 403');

    $ws = NgxWs::WebSocket->new(port => $p6,
        path => '/own/?EIO=4&transport=websocket',
        headers => { Origin => 'https://b.example.com' });
    is($ws->status, 101, 'location level: its own list, 101');
    is($ws->header('access-control-allow-origin'), 'https://b.example.com',
       'location level: echoed');
    ok(!defined $ws->header('access-control-allow-credentials'),
       'location level: ws_cors_credentials off over the server\'s on');
    $ws->close;

    $ws = NgxWs::WebSocket->new(port => $p6,
        path => '/own/?EIO=4&transport=websocket',
        headers => { Origin => 'https://a.example.com' });
    is($ws->status, 403,
       'location level: the list replaces the server\'s, 403');
}

# ---------------------------------------------------------------- nginx -t

sub conf_ok {
    my ($name, @directives) = @_;
    my ($rc, $out) = $t->conf_test(server_conf(port => 9,
                                               socketio => \@directives));
    is($rc, 0, "nginx -t accepts $name") or diag($out);
}

sub conf_refused {
    my ($name, $re, @directives) = @_;
    my ($rc, $out) = $t->conf_test(server_conf(port => 9,
                                               socketio => \@directives));
    isnt($rc, 0, "nginx -t refuses $name");
    like($out, $re, "nginx -t refuses $name: the message") or diag($out);
}

conf_ok('exact, wildcard and "*" origins',
        'ws_cors_origin https://app.example.com http://localhost:3000 '
        . 'https://*.example.com https://*.example.com:8443 *');
conf_ok('an IPv6 origin, another scheme',
        'ws_cors_origin http://[::1]:3000 capacitor://localhost');
conf_ok('credentials', 'ws_cors_origin https://a.example.com',
        'ws_cors_credentials on');
conf_ok('ws_cookie io', 'ws_cookie io');
conf_ok('ws_cookie off', 'ws_cookie off');
conf_ok('ws_cookie with a path', 'ws_cookie sid path=/socket.io/');

{
    my ($rc, $out) = $t->conf_test(<<'CONF' . server_conf(port => 9));
    ws_cors_origin https://app.example.com;
    ws_cors_credentials on;
    ws_cookie io;
CONF
    is($rc, 0, 'nginx -t accepts the directives at http level') or diag($out);
}

my $FORM = qr/an origin is scheme:\/\/host\[:port\], scheme:\/\/\*\.domain\[:port\] or "\*"/;

for my $case (
    ['app.example.com', 'no scheme'],
    ['null', 'no scheme'],
    ['*.example.com', 'no scheme'],
    ['://app.example.com', 'no scheme'],
    ['1http://app.example.com', 'no scheme'],
    ['https://app.example.com/', 'a path, query or fragment'],
    ['https://app.example.com/app', 'a path, query or fragment'],
    ['https://app.example.com?x', 'a path, query or fragment'],
    ['https://user@app.example.com', 'a user name'],
    ['https://', 'a bad host'],
    ['https://app..example.com', 'a bad host'],
    ['https://.example.com', 'a bad host'],
    ['https://app.example.com.', 'a bad host'],
    ['https://a%20b.com', 'a bad host'],
    ['https://[::1', 'a bad host'],
    ['https://[::1]x', 'a bad host'],
    ['https://app.example.com:', 'a bad port'],
    ['https://app.example.com:0', 'a bad port'],
    ['https://app.example.com:65536', 'a bad port'],
    ['https://app.example.com:80a', 'a bad port'],
    ['https://*', 'a bad wildcard'],
    ['https://*example.com', 'a bad wildcard'],
    ['https://app*.example.com', 'a bad wildcard'],
    ['https://a.*.example.com', 'a bad wildcard'],
    ['https://**.example.com', 'a bad wildcard'],
    ['https://*.*.example.com', 'a bad wildcard'],
    ['**', 'no scheme'],
) {
    my ($value, $why) = @$case;
    conf_refused("ws_cors_origin $value",
                 qr/\[emerg\] invalid origin "\Q$value\E" in "ws_cors_origin": \Q$why\E[^;]*; $FORM/,
                 "ws_cors_origin '$value'");
}

conf_refused('ws_cors_origin with no value',
             qr/invalid number of arguments in "ws_cors_origin"/,
             'ws_cors_origin');
conf_refused('ws_cors_credentials maybe',
             qr/invalid value "maybe" in "ws_cors_credentials"/,
             'ws_cors_credentials maybe');
conf_refused('ws_cookie with a space in its name',
             qr/\[emerg\] invalid cookie name "a b" in "ws_cookie"/,
             'ws_cookie "a b"');
conf_refused('ws_cookie a=b', qr/invalid cookie name "a=b"/, 'ws_cookie a=b');
conf_refused('ws_cookie with a path not starting with "/"',
             qr/"ws_cookie" directive takes a name and an optional path=\/\.\.\./,
             'ws_cookie io path=x');
conf_refused('ws_cookie with something else than path=',
             qr/"ws_cookie" directive takes a name and an optional path=\/\.\.\./,
             'ws_cookie io secure');
conf_refused('ws_cookie with ";" in its path',
             qr/"ws_cookie" directive takes a path with no ";"/,
             'ws_cookie io "path=/a;b"');
conf_refused('ws_cookie off with a path',
             qr/"ws_cookie" directive takes "off" alone/,
             'ws_cookie off path=/');
conf_refused('ws_cookie twice', qr/"ws_cookie" directive is duplicate/,
             'ws_cookie io', 'ws_cookie sid');
conf_refused('ws_cookie with three arguments',
             qr/invalid number of arguments in "ws_cookie"/,
             'ws_cookie io path=/ x');

# ---------------------------------------------------------------- polling
#
# Polling (CORS headers and ws_cookie on the polling handshake, which
# calls ngx_ws_cors_cookie() with the new sid): to enable once
# transport=polling answers, by removing the "# TODO(polling): " prefix,
#     sed -i 's/^# TODO(polling): \{0,1\}//' t/23-cors.t
#
{
    my ($st, $h, $body) = request($p5, 'GET', $POLL,
        Origin => 'https://app.example.com');
    is($st, 200, 'polling handshake, allowed origin: 200');
    is($h->{'access-control-allow-origin'},
       'https://app.example.com',
       'polling handshake: Access-Control-Allow-Origin');
    is($h->{'access-control-allow-credentials'}, 'true',
       'polling handshake: Allow-Credentials');
    is($h->{vary}, 'Origin', 'polling handshake: Vary');
    my ($sid) = $body =~ /"sid":"([A-Za-z0-9_-]{20})"/;
    ok($sid, 'polling handshake: a sid');
    is($h->{'set-cookie'},
       "io=$sid; Path=/; HttpOnly; SameSite=Lax",
       'ws_cookie io: Set-Cookie with the sid');

    ($st, $h, $body) = request($p6, 'GET', $POLL,
        Origin => 'https://a.example.com');
    ($sid) = $body =~ /"sid":"([A-Za-z0-9_-]{20})"/;
    is($h->{'set-cookie'},
       "sid=$sid; Path=/socket.io/; HttpOnly; SameSite=Lax",
       'ws_cookie sid path=/socket.io/: its name and path');

    ($st, $h) = request($p6, 'GET',
        '/own/?EIO=4&transport=polling',
        Origin => 'https://b.example.com');
    is($st, 200, 'ws_cookie off: 200');
    ok(!exists $h->{'set-cookie'}, 'ws_cookie off: no cookie');

    ($st, $h) = request($p2, 'GET', $POLL,
        Origin => 'https://app.example.com');
    ok(!exists $h->{'set-cookie'}, 'no ws_cookie: no cookie');

    ($st, $h) = request($p1, 'GET', $POLL,
        Origin => "http://127.0.0.1:$p1");
    is($st, 200, 'no ws_cors_origin, same origin: 200');
    ok(!exists $h->{'access-control-allow-origin'},
       'no ws_cors_origin, same origin: no CORS headers');
}

done_testing;
