#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Graceful shutdown: on reload (SIGHUP) and quit (SIGQUIT) every client of
# an old worker gets WebSocket close 1001 promptly, never a Socket.IO
# DISCONNECT; the old worker exits; clients connect again after a reload.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(get_json push_json wait_for server_conf);
use NgxWs::WebSocket;
use Time::HiRes qw(time);

my $t = NgxWs::Test->new->require_module;

$t->write_conf(server_conf(socketio => ['ws_namespace /chat'],
                           push => 1, health => 1));
$t->run;

my $port = $t->port;

# Clients in every state an old worker may hold: Socket.IO on / and
# /chat, Engine.IO only, and one in the middle of a fragmented message.
sub clients {
    my @c = (
        NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']),
        NgxWs::WebSocket->sio_open(port => $port, nsps => ['/', '/chat']),
        NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat']),
    );
    my $e = NgxWs::WebSocket->new(port => $port);
    $e->eio_open;
    push @c, $e;
    my $f = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
    $f->send_text('42["half', fin => 0);
    push @c, $f;
    return @c;
}

sub all_get_1001 {
    my ($name, @c) = @_;
    my $i = 0;
    for my $ws (@c) {
        $i++;
        my $code = $ws->wait_closed(5);
        is($code, 1001, "$name: client $i gets close 1001");
        ok(!grep({ $_->{opcode} == 1 && $_->{payload} =~ /^41/ }
                 @{$ws->{skipped} || []}),
           "$name: client $i got no Socket.IO DISCONNECT");
        is_deeply($ws->after_close, [],
                  "$name: client $i: nothing after the close frame");
        ok($ws->tcp_closed, "$name: client $i: TCP closed");
    }
}

for my $round (1 .. 3) {
    my @c = clients();
    is(scalar(grep { defined } @c), 5, "reload $round: 5 clients");
    my ($st, $d) = get_json($port, '/health');
    is($d->{connections}, 5, "reload $round: 5 connections");
    my $old_pid = $d->{pid};

    my @old = $t->reload;
    all_get_1001("reload $round", @c);
    ok($t->wait_gone(\@old, 10),
       "reload $round: old worker exits within 10 s");

    # The new worker serves.
    my $n = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/', '/chat']);
    ok($n, "reload $round: a client connects to the new worker");
    ($st, $d) = get_json($port, '/health');
    isnt($d->{pid}, $old_pid, "reload $round: served by a new worker");
    is($d->{connections}, 1, "reload $round: the new worker has 1 connection");
    push_json($port, '{"nsp":"/chat","event":"after-reload"}');
    is($n && $n->read_packet(5), '42/chat,["after-reload"]',
       "reload $round: pushes reach it");
    $n->close if $n;
}

# README: the old worker exits as soon as its clients are gone, at most
# 2 s later: a client that never answers the close nor closes TCP is
# closed by the server, and the old worker does not wait for it longer.
{
    my $q = NgxWs::WebSocket->sio_open(port => $port, nsps => ['/']);
    ok($q, 'silent client: connected');
    my $t0 = time;
    my @old = $t->reload;
    is($q->wait_closed(10, no_echo => 1), 1001, 'silent client: close 1001');
    is_deeply($q->after_close, [],
              'silent client: nothing after the close frame');
    ok($q->tcp_closed, 'silent client: TCP closed by the server');
    ok($t->wait_gone(\@old, 10), 'silent client: the old worker exits');
    my $took = time - $t0;
    # 2 s, and generous slack for a loaded machine.
    ok($took < 2 + 3, 'silent client: the old worker is gone within 2 s '
                      . '(+3 s slack) of the reload ('
                      . sprintf('%.2f', $took) . ' s)');
}

# A reload with no client at all.
{
    my @old = $t->reload;
    ok($t->wait_gone(\@old, 10), 'idle reload: old worker exits');
}

# Quit: the clients get 1001 while nginx exits.
{
    my @c = clients();
    my @workers = $t->worker_pids;
    kill('QUIT', $t->master_pid);
    all_get_1001('quit', @c);
    ok($t->wait_gone(\@workers, 10), 'quit: worker exits within 10 s');
    $t->stop;
    ok(!$t->master_pid, 'quit: master exited');
}

done_testing;
