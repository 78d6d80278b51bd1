#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Two nginx hosts (two workers each) through a redis-server of the test's
# own, with the classic adapter's channels and then with the sharded
# adapter's (ws_redis ... sharded): a push on either reaches the clients
# of both, once, exactly as a push on the host itself would; what Redis
# brings that is not a socket.io message is ignored (garbage on the
# channels, a request of a type not served); with Redis gone each host
# serves its own clients and counts what it could not publish; when Redis
# is back they find each other again.  Sharded, a room has a channel of
# its own while a worker of the host has the room.  Runs under ASan too.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use File::Temp qw(tempdir);

use lib 't/lib';
use NgxWs::Test qw(push_json get_json server_conf wait_for missing);

my $redis_bin = '/usr/bin/redis-server';
missing('redis-server (Debian package redis-server)') unless -x $redis_bin;

# ------------------------------------------------------------ redis

my $rport = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};
my $rdir = tempdir('ngx-ws-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $rpid;

sub redis_start {
    $rpid = fork // die "fork: $!";
    if ($rpid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec $redis_bin, '--port', $rport, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $rdir;
        exit 127;
    }
    ok(wait_for(10, sub { defined redis_cmd('PING') }), 'redis-server up');
}

sub redis_stop {
    return unless $rpid;
    kill 'KILL', $rpid;
    waitpid $rpid, 0;
    undef $rpid;
}

END { local $?; redis_stop() }

# One command, RESP2, its first reply line (undef when nobody answers).
sub redis_cmd {
    my @args = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $rport,
                                  Timeout => 2) or return undef;
    my $cmd = '*' . @args . "\r\n";
    $cmd .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $cmd;
    my $line = <$s>;
    close $s;
    return $line;
}

# ------------------------------------------------------------ hosts

redis_start();

my @hosts;
my $mode;

sub hosts_start {
    ($mode) = @_;
    my $opt = $mode eq 'sharded' ? ' sharded' : '';

    $_->stop for @hosts;
    @hosts = ();

    for my $i (0, 1) {
        my $t = NgxWs::Test->new->require_module;
        $t->write_conf("    ws_redis 127.0.0.1:$rport$opt;\n"
                       . server_conf(socketio => ['ws_namespace /chat'],
                                     push => 1, health => 1),
                       workers => 2);
        $t->run;
        push @hosts, $t;
    }
}

sub redis_state {
    my ($t) = @_;
    my (undef, $d) = get_json($t->port, '/health');
    return $d && $d->{redis} ? $d->{redis} : {};
}

sub hosts_up {
    for my $t (@hosts) {
        ok(wait_for(10, sub { (redis_state($t)->{state} // '') eq 'up' }),
           "$mode: host subscribed: /health says redis up");
    }
}

sub client {
    my ($t) = @_;
    my $ws = $t->eio_client;
    my $r = $ws->sio_connect('/chat');
    die "no CONNECT" unless defined $r && $r =~ m{^40/chat,\{"sid":"([^"]+)"};
    $ws->{sio_sid}{'/chat'} = $1;
    return $ws;
}

sub push_ok {
    my ($t, $json, $name) = @_;
    my ($st) = push_json($t->port, $json);
    is($st, 200, "$name: pushed");
}

# What a client got, pings answered, until the marker event arrives.
sub until_marker {
    my ($ws, $marker) = @_;
    my @got;
    while (defined(my $p = $ws->read_packet(5))) {
        return \@got if $p =~ /"\Q$marker\E"/;
        push @got, $p;
    }
    return [@got, 'TIMEOUT'];
}

# a message on a channel, as the mode's adapter publishes
sub publish {
    my ($channel, $msg) = @_;
    return redis_cmd($mode eq 'sharded' ? 'SPUBLISH' : 'PUBLISH', $channel,
                     $msg);
}

for my $m ('classic', 'sharded') {
    hosts_start($m);
    hosts_up();
    across();
    garbage();
    rooms() if $mode eq 'sharded';
    away();
    elected();
}

done_testing;

# ------------------------------------------------------------ across

sub across {
    my $a = client($hosts[0]);
    my $b = client($hosts[1]);

    # between hosts there is no order (nor with socket.io): one at a time
    push_ok($hosts[0], '{"nsp":"/chat","event":"x","data":[1,"é",{"k":null}]}',
            'A');
    for my $c ([$a, 'A'], [$b, 'B']) {
        my ($ws, $who) = @$c;
        is($ws->read_packet(5), '42/chat,["x",1,"é",{"k":null}]',
           "client on $who: the push of A, byte for byte");
    }

    push_ok($hosts[1], '{"nsp":"/chat","event":"y","data":[{"$binary":"AQID"}]}',
            'B');
    for my $c ([$a, 'A'], [$b, 'B']) {
        my ($ws, $who) = @$c;
        is($ws->read_packet(5), '451-/chat,["y",{"_placeholder":true,"num":0}]',
           "client on $who: the binary push of B");
        my $bin = $ws->read_packet(5);
        is(ref $bin && $bin->{binary}, "\x01\x02\x03",
           "client on $who: its attachment");
    }

    push_ok($hosts[0], '{"nsp":"/chat","event":"end"}', 'marker');
    for my $c ([$a, 'A'], [$b, 'B']) {
        my ($ws, $who) = @$c;
        is_deeply(until_marker($ws, 'end'), [], "client on $who: once each");
    }
}

# ------------------------------------------------------------ garbage

sub garbage {
    my $a = client($hosts[0]);
    my $b = client($hosts[1]);

    # not msgpack, a packet that is no event, a request type not served,
    # a request that is no JSON: all ignored
    for my $msg ("\xc1\xc1\xc1", "\x93\xa1x\x81\xa4type\x03\x80",
                 '{"type":5,"requestId":"x","opts":{"rooms":[]}}', '{"type":',
                 "\xdd\xff\xff\xff\xff") {
        my $r = publish('socket.io#/chat#', $msg);
        like($r // '', qr/^:\d+/, 'garbage published on the broadcast channel');
        $r = publish('socket.io-request#/chat#', $msg);
        like($r // '', qr/^:\d+/, 'garbage published on the request channel');
    }

    push_ok($hosts[1], '{"nsp":"/chat","event":"after"}', 'after the garbage');
    for my $ws ($a, $b) {
        my $got = until_marker($ws, 'after');
        is_deeply($got, [], 'nothing from the garbage, the next push arrives');
    }
}

# ------------------------------------------------------------ rooms

# Sharded: a room's broadcast goes on the room's channel, which the host
# listens on while one of its workers has the room, and gives up after.
sub rooms {
    my $a = client($hosts[0]);
    my $b = client($hosts[1]);
    my $sid = $a->sio_sid('/chat');

    push_ok($hosts[0], qq({"op":"join","nsp":"/chat","rooms":["$sid"],)
                       . '"room":"r1"}', 'join on A');
    ok(wait_for(5, sub { shard_subscribers('socket.io#/chat#r1#') == 1 }),
       'host A listens on the room channel');

    push_ok($hosts[1], '{"nsp":"/chat","rooms":["r1"],"event":"in-r1"}',
            'to the room, on B');
    is($a->read_packet(5), '42/chat,["in-r1"]', 'the member on A gets it');

    # a socket.io message of a Node server, JSON, on the room channel
    my $r = publish('socket.io#/chat#r1#',
                    '{"type":3,"data":{"packet":{"type":2,"data":["node",1]},'
                    . '"opts":{"rooms":["r1"],"except":[],"flags":{}}},'
                    . '"uid":"0123456789abcdef","nsp":"/chat"}');
    like($r // '', qr/^:1/, 'published by "Node" on the room channel');
    is($a->read_packet(5), '42/chat,["node",1]', 'the member gets that too');

    push_ok($hosts[0], '{"nsp":"/chat","event":"end-r"}', 'marker');
    is_deeply(until_marker($b, 'end-r'), [], 'the other client: none of it');

    $a->close;
    ok(wait_for(15, sub {
           shard_subscribers('socket.io#/chat#r1#') == 0 }),
       'the room gone, its channel is given up');
}

# SHARDNUMSUB's count for one channel
sub shard_subscribers {
    my ($channel) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $rport,
                                  Timeout => 2) or return -1;
    print $s "*3\r\n\$6\r\nPUBSUB\r\n\$11\r\nSHARDNUMSUB\r\n\$"
             . length($channel) . "\r\n$channel\r\n";
    # *2, the channel's length and name, its count
    my @lines = map { scalar <$s> } 1 .. 4;
    close $s;
    return defined $lines[3] && $lines[3] =~ /^:(\d+)/ ? $1 : -1;
}

# ------------------------------------------------------------ redis away

sub away {
    my $a = client($hosts[0]);
    my $b = client($hosts[1]);

    redis_stop();
    ok(wait_for(5, sub { (redis_state($hosts[0])->{state} // '') ne 'up' }),
       'redis gone: /health says so');

    push_ok($hosts[0], '{"nsp":"/chat","event":"local"}', 'while away');
    is_deeply(until_marker($a, 'local'), [], 'the local client gets it');
    ok(redis_state($hosts[0])->{lost} >= 1, 'counted as lost');

    redis_start();
    my $t0 = time;
    for my $t (@hosts) {
        ok(wait_for(5, sub { (redis_state($t)->{state} // '') eq 'up' }),
           'subscribed again');
    }
    ok(time - $t0 <= 5, 'within 5 s of the restart');
    ok(redis_state($hosts[0])->{reconnects} >= 1, 'reconnects counted');

    push_ok($hosts[0], '{"nsp":"/chat","event":"back"}', 'back');
    my $got = until_marker($b, 'back');
    is_deeply($got, [], 'the other host gets pushes again (not the lost one)')
        or diag(explain($got));
}

# the elected worker said so once
sub elected {
    for my $t (@hosts) {
        my $log = $t->error_log;
        my $n = () = $log =~ /this worker talks to redis/g;
        is($n, 1, "$mode: one worker of the host talks to redis");
    }
}
