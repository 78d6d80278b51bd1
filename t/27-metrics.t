#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# ws_metrics: the Prometheus text of the whole host, whichever of the 4
# workers answers.  Counters are checked exactly against what the test did
# (connects by namespace and status, Engine.IO sessions by transport),
# before and after a reload that keeps the zone; promtool check metrics
# accepts every scrape.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(http_get http_request push_json wait_for server_conf
                   missing);
use NgxWs::WebSocket;
use NgxWs::App;
use Time::HiRes qw(sleep);
use POSIX ();

my $t = NgxWs::Test->new->require_module;

my $promtool = '/usr/bin/promtool';
missing("promtool (make test-deps installs Debian's prometheus)")
    unless -x $promtool;

# The connect hook of /refuse/ says no, that of /fail/ fails.
my $app = NgxWs::App->start(log => $t->prefix . '/app.log',
    handler => sub {
        my ($req) = @_;
        return (200, '{"error":{"message":"no"}}')
            if $req->{path} eq '/api/refuse';
        return (200, '{}', 1) if $req->{path} eq '/api/slow';
        return (500, '{}');
    });

my $hook = ['internal', 'proxy_pass http://127.0.0.1:' . $app->port . '/api/',
            'proxy_read_timeout 2s'];

my $conf = server_conf(listen => 'reuseport',
    socketio => ['ws_namespace /chat'],
    push => ['client_body_buffer_size 128k'], health => 1,
    locations => [
        '/refuse/' => ['ws_socketio', 'ws_hook_connect /_hook/refuse'],
        '/fail/'   => ['ws_socketio', 'ws_hook_connect /_hook/fail'],
        '/slow/'   => ['ws_socketio', 'ws_namespace /chat',
                       'ws_hook_connect /_hook/slow'],
        '/tiny/'   => ['ws_socketio', 'ws_namespace /slow',
                       'ws_write_queue 64k'],
        '/stuck/'  => ['ws_socketio', 'ws_namespace /stuck',
                       'ws_write_queue 100m', 'ws_send_timeout 1s'],
        '/_hook/'  => $hook,
        '/metrics' => ['ws_metrics']]);

$t->write_conf($conf, workers => 4);
$t->run;

my $port = $t->port;

# ------------------------------------------------------------- helpers

sub scrape_raw {
    my ($st, $h, $body) = http_get($port, '/metrics');
    return ($st, $h, $body);
}

# name{labels} => value
sub scrape {
    my ($st, $h, $body) = scrape_raw();
    return undef unless ($st // 0) == 200;
    my %m;
    for (split /\n/, $body) {
        next if /^#/ || !length;
        my ($k, $v) = /^(\S+(?:\{.*\})?) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}

sub promtool_ok {
    my ($body, $name) = @_;
    my $file = $t->prefix . '/scrape.txt';
    open my $fh, '>', $file or die "$file: $!";
    print $fh $body;
    close $fh;
    my $out = `$promtool check metrics < $file 2>&1`;
    is($? >> 8, 0, "promtool check metrics: $name") or diag($out);
    is($out, '', "promtool: no lint for $name") or diag($out);
}

# Waits until every expected delta over $base is there, then checks that
# each is exact (and still is a moment later: nothing counted twice).
sub deltas_are {
    my ($base, $want, $name) = @_;
    my $m;
    my $ok = wait_for(10, sub {
        $m = scrape() or return 0;
        for my $k (keys %$want) {
            return 0 if ($m->{$k} // 0) - ($base->{$k} // 0) < $want->{$k};
        }
        return 1;
    });
    sleep 0.3;
    $m = scrape();
    for my $k (sort keys %$want) {
        is(($m->{$k} // 0) - ($base->{$k} // 0), $want->{$k},
           "$name: $k +$want->{$k}");
    }
    return $m;
}

sub gauge_is {
    my ($key, $want, $name) = @_;
    my $m;
    my $ok = wait_for(10, sub {
        $m = scrape() or return 0;
        return ($m->{$key} // -1) == $want;
    });
    is($m && $m->{$key}, $want, "$name: $key is $want");
}

sub conn { qq(socket_connections_total{namespace="$_[0]",status="$_[1]"}) }
sub active { qq(socket_active_connections{namespace="$_[0]"}) }
my $EIO_WS = 'socket_engineio_connections_total{transport="websocket"}';
my $EIO_POLL = 'socket_engineio_connections_total{transport="polling"}';

# ------------------------------------------------------------- the text

my ($version) = do {
    open my $fh, '<', 'src/ngx_ws.h' or die "src/ngx_ws.h: $!";
    local $/;
    <$fh> =~ /#define NGX_WS_VERSION\s+"([^"]+)"/;
};

{
    my ($st, $h, $body) = scrape_raw();
    is($st, 200, 'metrics: 200');
    is($h->{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
       'metrics: the text format 0.0.4');
    like($body, qr/^ngx_ws_build_info\{version="\Q$version\E",nginx="1\.\d+\.\d+"\} 1$/m,
         'build info: the module version of src/ngx_ws.h, nginx\'s');
    like($body, qr/^# TYPE socket_connections_total counter$/m,
         'types are declared');
    like($body, qr/^socket_server_uptime_seconds \d+$/m, 'uptime');
    my ($up) = $body =~ /^socket_server_uptime_seconds (\d+)$/m;
    my $etimes = `ps -o etimes= -p ${\ $t->master_pid}`;
    ok(defined $up && abs($up - $etimes) <= 2,
       "uptime: the master's ($up s, ps says ${\ ($etimes =~ s/\s//gr)} s)");
    unlike($body, qr/^socket_redis/m, 'no Redis metrics without ws_redis');
    promtool_ok($body, 'idle');

    my ($hst) = http_request($port, "POST /metrics HTTP/1.1\r\n"
        . "Host: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    is($hst, 405, 'metrics: POST is not allowed');

    my (undef, $d) = NgxWs::Test::get_json($port, '/health');
    is($d && $d->{version}, $version, 'health: the same version');
}

my $base = scrape();
ok($base, 'a first scrape');
is($base->{active('/')}, 0, 'no sockets yet');
is($base->{conn('/chat', 'success')}, 0, 'no connects yet');

# ------------------------------------------------------------- connects

# Clients until every worker holds some (reuseport hashes the source port).
my @c;
my $spread = wait_for(20, sub {
    push @c, NgxWs::WebSocket->sio_open(port => $port, nsps => ['/', '/chat'])
        // die "client setup failed" for 1 .. 8;
    my (undef, $h) = NgxWs::Test::get_json($port, '/health');
    return $h && @{$h->{workers}} == 4
           && !grep { $_->{connections} == 0 } @{$h->{workers}};
});
ok($spread, scalar(@c) . ' clients over 4 workers');
my $n = @c;

# unknown namespaces: counted under "_invalid", never under their name
for my $nsp ('/nope', '/other', '/nope2') {
    like($c[0]->sio_connect($nsp) // '', qr/^44/, "$nsp: CONNECT_ERROR");
}

my @refused;
for (1 .. 2) {
    my $ws = NgxWs::WebSocket->new(port => $port,
        path => '/refuse/?EIO=4&transport=websocket');
    $ws->eio_open or die "no open";
    like($ws->sio_connect('/') // '', qr/^44\{"message":"no"\}/,
         'refused by the hook');
    push @refused, $ws;
}

for (1 .. 2) {
    my $ws = NgxWs::WebSocket->new(port => $port,
        path => '/fail/?EIO=4&transport=websocket');
    $ws->eio_open or die "no open";
    $ws->send_text('40');
    ok($ws->wait_closed(5), 'the hook failed: closed');
}

# one polling session, its handshake only
my ($pst) = http_get($port, '/socket.io/?EIO=4&transport=polling');
is($pst, 200, 'a polling handshake');

my $m = deltas_are($base, {
    conn('/', 'success') => $n,
    conn('/chat', 'success') => $n,
    conn('_invalid', 'rejected') => 3,
    conn('/', 'rejected') => 2,
    conn('/', 'error') => 2,
    conn('/chat', 'rejected') => 0,
    conn('/chat', 'error') => 0,
    $EIO_WS => $n + 4,
    $EIO_POLL => 1,
}, 'connects');

ok(!grep({ m{"/(nope|other)} } keys %$m), 'client-chosen names are no labels');
gauge_is(active('/'), $n, 'sockets');
gauge_is(active('/chat'), $n, 'sockets');
is(($m->{'socket_hook_duration_seconds_count{hook="connect"}'} // 0)
   - ($base->{'socket_hook_duration_seconds_count{hook="connect"}'} // 0),
   4, 'hook latency: one observation per call');
like($m->{'socket_hook_duration_seconds_sum{hook="connect"}'} // '',
     qr/^\d+\.\d{6}\z/, 'hook latency: a sum in seconds');
is($m->{'socket_hook_duration_seconds_bucket{hook="connect",le="+Inf"}'},
   $m->{'socket_hook_duration_seconds_count{hook="connect"}'},
   'hook latency: +Inf is the count');

# ------------------------------------------------------------- pushes

$base = $m;

sub pushed {
    my ($json, $status) = @_;
    my ($st) = push_json($port, $json);
    is($st, $status, "push $json: $status");
}

pushed('{"nsp":"/chat","event":"m","data":[1]}', 200) for 1 .. 5;
pushed('{"op":"join","nsp":"/chat","room":"r"}', 200);
pushed('{"nsp":"/chat","rooms":"r","event":"in-r"}', 200);
pushed('{"nsp":"/zzz","event":"m"}', 400);
pushed('{"nsp":', 400);

$c[1]->sio_disconnect('/chat');

# protocol errors: an unmasked frame (1002), a packet of no type (1000)
my @bad = map {
    NgxWs::WebSocket->sio_open(port => $port, nsps => ['/'])
        // die "client setup failed"
} 1 .. 2;
$bad[0]->send_text('42["x"]', mask => 0);
is($bad[0]->wait_closed(5), 1002, 'unmasked: closed with 1002');
$bad[1]->send_text('49');
ok($bad[1]->wait_closed(5), 'a packet of no type: closed');

$m = deltas_are($base, {
    'socket_pushes_total{operation="emit",result="ok"}' => 6,
    'socket_pushes_total{operation="join",result="ok"}' => 1,
    'socket_pushes_total{operation="emit",result="rejected"}' => 1,
    'socket_pushes_total{operation="invalid",result="rejected"}' => 1,
    'socket_broadcast_deliveries_total' => 6 * $n,
    'socket_disconnects_total{reason="client namespace disconnect"}' => 1,
    'socket_disconnects_total{reason="transport error"}' => 1,
    'socket_disconnects_total{reason="parse error"}' => 1,
    'socket_protocol_errors_total{code="1002"}' => 1,
    'socket_protocol_errors_total{code="1000"}' => 1,
    conn('/', 'success') => 2,
}, 'pushes');

cmp_ok($m->{socket_packets_sent_total} - $base->{socket_packets_sent_total},
       '>=', 6 * $n, 'packets sent: at least the deliveries');
# 41/chat, two CONNECTs, "49" (the unmasked frame is no packet)
is($m->{socket_packets_received_total}
   - $base->{socket_packets_received_total}, 4, 'packets received');
cmp_ok($m->{socket_sent_bytes_total} - $base->{socket_sent_bytes_total},
       '>=', 6 * $n * 10, 'bytes sent');
cmp_ok($m->{socket_received_bytes_total}
       - $base->{socket_received_bytes_total}, '>', 0, 'bytes received');

# ------------------------------------------------------------- under load

# promtool accepts what a scrape says while another process floods the
# push endpoint; the flood's deliveries are all counted.
$base = scrape();
my $floods = 200;
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    push_json($port, '{"nsp":"/chat","event":"flood","data":[1]}')
        for 1 .. $floods;
    POSIX::_exit(0);
}
for my $i (1 .. 5) {
    my ($st, $h, $body) = scrape_raw();
    promtool_ok($body, "scrape $i under a push flood");
}
waitpid($pid, 0);
is($?, 0, 'the flood ran');

$m = deltas_are($base, {
    'socket_pushes_total{operation="emit",result="ok"}' => $floods,
    'socket_broadcast_deliveries_total' => $floods * ($n - 1),
}, 'the flood');

# ------------------------------------------------------------- drops

# A client that never reads: past ws_write_queue (64k) in /slow, past
# ws_send_timeout (1 s, 100m of queue) in /stuck.
$base = scrape();
my %drop;
for my $where (['tiny', '/slow'], ['stuck', '/stuck']) {
    my ($loc, $nsp) = @$where;
    my $ws = NgxWs::WebSocket->new(port => $port, rcvbuf => 4096,
        path => "/$loc/?EIO=4&transport=websocket");
    $ws->eio_open or die "no open";
    like($ws->sio_connect($nsp) // '', qr/^40\Q$nsp\E,/, "$nsp: connected");
    $drop{$nsp} = $ws;
}
# (the clients read nothing: the scrape says when the slow one is gone)
my $pad = 'p' x 80000;
for my $nsp ('/slow', '/stuck') {
    for my $i (1 .. 100) {
        push_json($port, qq({"nsp":"$nsp","event":"m","data":["$pad"]}));
        last if $nsp eq '/slow' && (scrape()->{active('/slow')} // 1) == 0;
    }
}
$m = deltas_are($base, {
    socket_slow_reader_drops_total => 1,
    socket_send_timeout_drops_total => 1,
}, 'drops');
gauge_is(active('/slow'), 0, 'the slow reader is gone');
gauge_is(active('/stuck'), 0, 'the stuck client is gone');

# ------------------------------------------------------------- lost

# A client that goes before the connect hook answers: an error, no
# disconnect (the socket never joined).
$base = scrape();
{
    my $ws = NgxWs::WebSocket->new(port => $port,
        path => '/slow/?EIO=4&transport=websocket');
    $ws->eio_open or die "no open";
    $ws->send_text('40/chat,');
    sleep 0.3;
    $ws->close;
}
$m = deltas_are($base, {
    conn('/chat', 'error') => 1,
    conn('/chat', 'success') => 0,
    'socket_disconnects_total{reason="transport close"}' => 0,
    'socket_hook_calls_total{hook="connect",result="ok"}' => 1,
}, 'gone before the answer');

# ------------------------------------------------------------- reload

my $uptime = $m->{socket_server_uptime_seconds};
$base = $m;

$t->write_conf($conf, workers => 4);
my @old = $t->reload;
ok($t->wait_gone(\@old, 20), 'the old workers exited');
$_->close for @c, @refused;

my @d;
push @d, NgxWs::WebSocket->sio_open(port => $port, nsps => ['/chat'])
    // die "client setup failed" for 1 .. 5;

$m = deltas_are($base, {
    conn('/', 'success') => 0,
    conn('/chat', 'success') => 5,
    $EIO_WS => 5,
    'socket_disconnects_total{reason="server shutting down"}' => 2 * $n - 1,
}, 'after the reload');

gauge_is(active('/chat'), 5, 'after the reload');
gauge_is(active('/'), 0, 'after the reload');
cmp_ok($m->{socket_server_uptime_seconds}, '>=', $uptime,
       'uptime counts from the master, not the workers');
{
    my $etimes = `ps -o etimes= -p ${\ $t->master_pid}` + 0;
    cmp_ok($etimes, '>=', 5, "the master has run for ${etimes} s");
    ok(abs($m->{socket_server_uptime_seconds} - $etimes) <= 2,
       'after the reload, uptime is still the master\'s');
}

done_testing;
