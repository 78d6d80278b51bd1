#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The connect hook: nginx asks the application whether a socket may join
# its namespace.  What the application is sent; an accept with socket data
# and push operations (run once the socket is connected); a refusal, which
# the client sees as connect_error with the app's message and data; and
# every failure (an error status, a body that is no JSON object, a timeout,
# an answer too large, data over 8 KB, the app down), which closes the
# Engine.IO connection so that the client comes back with its backoff.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(push_json wait_for server_conf);
use NgxWs::WebSocket;
use NgxWs::App;
use Time::HiRes qw(sleep);

my $t = NgxWs::Test->new->require_module;

# What the app answers, by the cookie the client sent.
my %answers = (
    ok       => sub {
        my ($j) = @_;
        return (200, qq({"data":{"user":42},"push":[{"event":"welcome",)
                     . qq("rooms":"$j->{sid}","data":["hi"]},)
                     . qq({"op":"join","rooms":"$j->{sid}","room":"u42"}]}));
    },
    refuse   => sub {
        (200, '{"error":{"message":"not logged in","data":{"code":401}}}')
    },
    plain    => sub { (200, '{"error":{"message":"no"}}') },
    status   => sub { (500, '{"data":1}') },
    notjson  => sub { (200, 'yes') },
    array    => sub { (200, '[1]') },
    slow     => sub { (200, '{}', 3) },
    big      => sub { (200, '{"data":"' . ('x' x 20000) . '"}') },
    bigdata  => sub { (200, '{"data":"' . ('x' x 9000) . '"}') },
    badpush  => sub {
        my ($j) = @_;
        (200, qq({"push":[{"event":"connect"},{"op":"nope"},)
              . qq({"event":"ok","rooms":"$j->{sid}"}]}));
    },
);

my $app = NgxWs::App->start(log => $t->prefix . '/app.log',
    handler => sub {
        my ($req) = @_;
        my ($which) = ($req->{headers}{cookie} // '') =~ /who=(\w+)/;
        my $f = $answers{$which // ''} or return (404, '{}');
        return $f->($req->{json});
    });


$t->write_conf(server_conf(
    socketio => ['ws_namespace /chat', 'ws_hook_connect /_hook/connect',
                 'ws_hook_headers Cookie X-Tenant'],
    push => 1,
    locations => [
        '/_hook/' => ['internal',
                      'proxy_pass http://127.0.0.1:' . $app->port . '/api/',
                      'proxy_read_timeout 1s',
                      'subrequest_output_buffer_size 16k'],
        '/_down/' => ['internal', 'proxy_pass http://127.0.0.1:1/']]));

my $port = $t->port;

$t->run;

sub client {
    my ($who, %o) = @_;
    my $ws = NgxWs::WebSocket->new(port => $port,
        headers => { Cookie => "a=1; who=$who", 'X-Tenant' => 't1',
                     %{$o{headers} || {}} });
    die "no upgrade" unless $ws && ($ws->status // 0) == 101;
    $ws->eio_open or die "no open packet";
    return $ws;
}

# ------------------------------------------------------------ accepted

{
    my $ws = client('ok');
    my $r = $ws->sio_connect('/chat', '{"token":"abc"}');
    like($r, qr{^40/chat,\{"sid":"([\w-]{20})"\}\z}, 'accepted: CONNECT');
    my ($sid) = ($r // '') =~ /"sid":"([\w-]+)"/;

    is($ws->read_packet(5), '42/chat,["welcome","hi"]',
       'accepted: the push of the answer reaches the new socket');

    # the join of the answer ran too: the room reaches it
    my ($st, $d) = push_json($port, '{"nsp":"/chat","rooms":"u42",'
                                    . '"event":"room"}');
    is($d && $d->{matched}, 1, 'accepted: the join of the answer ran');
    is($ws->read_packet(5), '42/chat,["room"]', 'the room reaches it');

    my ($req) = grep { ($_->{json}{sid} // '') eq ($sid // '-') }
                @{$app->requests};
    ok($req, 'the app got the call');
    is($req->{method}, 'POST', 'a POST');
    is($req->{path}, '/api/connect', 'to the hook location, proxied');
    like($req->{headers}{'content-type'} // '', qr{^application/json},
         'as JSON');
    is($req->{headers}{cookie}, 'a=1; who=ok',
       'the handshake cookie comes as a header');
    is($req->{headers}{'x-tenant'}, 't1', 'and the other kept header');
    is_deeply($req->{json}, {
        type => 'connect', nsp => '/chat', sid => $sid,
        auth => { token => 'abc' },
        headers => { cookie => 'a=1; who=ok', 'x-tenant' => 't1' },
        address => '127.0.0.1' }, 'the body, exactly');
}

{
    # no auth payload: {} as socket.io has it
    my $ws = client('ok');
    like($ws->sio_connect('/'), qr/^40\{"sid"/, 'accepted on "/" too');
    my $req = $app->requests->[-1];
    is_deeply($req->{json}{auth}, {}, 'no CONNECT payload: auth is {}');
    is($req->{json}{nsp}, '/', 'nsp "/"');
}

# ------------------------------------------------------------ refused

{
    my $ws = client('refuse');
    is($ws->sio_connect('/chat'),
       '44/chat,{"message":"not logged in","data":{"code":401}}',
       'refused: connect_error with the message and the data');

    my $w2 = client('plain');
    is($w2->sio_connect('/chat'), '44/chat,{"message":"no"}',
       'refused without data: the message alone');

    # the connection stays: a refusal is not an error of the client's
    ok($w2->alive, 'the connection stays after a refusal');
}

# ------------------------------------------------------------ failures

for my $case (qw(status notjson array slow big bigdata)) {
    my $ws = client($case);
    $ws->send_text('40/chat,');
    is($ws->wait_closed(10), 1011,
       "$case: the Engine.IO connection closes with 1011");
}

like($t->error_log, qr/ws: the connect hook "\/_hook\/connect" failed: status 500/,
     'the failed call is logged with its status');
like($t->error_log, qr/socket data of 9\d{3} bytes from a hook, over 8192/,
     'data over 8 KB is logged');

{
    my $ws = client('badpush');
    like($ws->sio_connect('/chat'), qr/^40\/chat,/,
         'a malformed push entry: still connected');
    is($ws->read_packet(5), '42/chat,["ok"]',
       'the valid push entries run');
    like($t->error_log, qr/a push from the connect hook is refused: .*reserved/,
         'the malformed ones are logged');
}

{
    # the client goes away while the app thinks: the late answer finds
    # nobody, and nothing breaks
    my $ws = client('slow');
    $ws->send_text('40/chat,');
    $ws->close;
    my $other = client('ok');
    like($other->sio_connect('/chat'), qr/^40\/chat,/,
         'another client meanwhile');
    sleep 1.5;
}

# the app is down: a failure like the others
{
    $t->write_conf($t->{template}[0] =~ s{/_hook/connect}{/_down/connect}r);
    $t->reload;

    my $ws = client('ok');
    $ws->send_text('40/chat,');
    is($ws->wait_closed(10), 1011, 'the app down: closed with 1011');
}

$app->stop;

done_testing;
