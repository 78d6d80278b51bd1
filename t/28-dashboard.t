#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The Grafana dashboard (conf-examples/grafana/ngx_ws.json) without
# Grafana: its JSON structure (panels, targets, the datasource variable),
# every panel expression through promtool check rules (Grafana's own
# variables replaced as Grafana would), every metric it names present in a
# scrape of ws_metrics (with ws_redis, so that the Redis metrics are
# there); and conf-examples/prometheus.yml through promtool check config.

use strict;
use warnings;

use Test::More;
use NgxWs::Test qw(http_get server_conf missing);
use JSON::PP ();
use IO::Socket::INET;

my $t = NgxWs::Test->new->require_module;

my $promtool = '/usr/bin/promtool';
missing("promtool (make test-deps installs Debian's prometheus)")
    unless -x $promtool;

my $DASH = 'conf-examples/grafana/ngx_ws.json';
my $PROM = 'conf-examples/prometheus.yml';

# ------------------------------------------------------------- structure

my $dash = do {
    open my $fh, '<', $DASH or die "$DASH: $!";
    local $/;
    JSON::PP->new->decode(<$fh>);
};

ok($dash->{title} && $dash->{uid}, 'a title and a uid');

my @vars = @{$dash->{templating}{list} || []};
my ($ds) = grep { $_->{type} eq 'datasource' } @vars;
ok($ds, 'a datasource variable');
is($ds && $ds->{query}, 'prometheus', 'of Prometheus data sources');
my $DSREF = '${' . ($ds ? $ds->{name} : 'datasource') . '}';

my @panels = grep { $_->{type} ne 'row' } @{$dash->{panels} || []};
cmp_ok(scalar @panels, '>=', 10, scalar(@panels) . ' panels');

my (%ids, %titles, @exprs);
for my $p (@panels) {
    my $name = $p->{title} // "panel $p->{id}";
    ok(!$ids{$p->{id}}++, "$name: a unique id");
    ok($p->{title} && !$titles{$p->{title}}++, "$name: a unique title");
    ok(ref $p->{gridPos} eq 'HASH'
       && !grep({ !defined $p->{gridPos}{$_} } qw(x y w h)),
       "$name: a place on the grid");
    is($p->{datasource}{uid}, $DSREF, "$name: the datasource variable");
    my @targets = @{$p->{targets} || []};
    ok(@targets, "$name: targets");
    my %ref;
    for my $tg (@targets) {
        ok($tg->{expr} && $tg->{refId} && !$ref{$tg->{refId}}++,
           "$name: target $tg->{refId}: an expression, a unique refId");
        is($tg->{datasource}{uid}, $DSREF,
           "$name: target $tg->{refId}: the datasource variable");
        push @exprs, ["$p->{id}_$tg->{refId}", $tg->{expr}, $name];
    }
}

# what the dashboard is for, each shown somewhere
my $all = join "\n", map { $_->[1] } @exprs;
for (['sockets per namespace', qr/by \(namespace\) \(socket_active_connections/],
     ['connect rate by status',
      qr/by \(status\) \(rate\(socket_connections_total/],
     ['messages in', qr/rate\(socket_packets_received_total/],
     ['messages out', qr/rate\(socket_packets_sent_total/],
     ['deliveries/s', qr/rate\(socket_broadcast_deliveries_total/],
     ['slow-reader drops', qr/socket_slow_reader_drops_total/],
     ['send-timeout drops', qr/socket_send_timeout_drops_total/],
     ['hook latency p50',
      qr/histogram_quantile\(0\.5, .*socket_hook_duration_seconds_bucket/],
     ['hook latency p99',
      qr/histogram_quantile\(0\.99, .*socket_hook_duration_seconds_bucket/],
     ['Redis state', qr/socket_redis_connected/])
{
    like($all, $_->[1], "the dashboard shows $_->[0]");
}

# ------------------------------------------------------------- promtool

# Grafana's variables as Grafana fills them in
sub grafana_expand {
    my ($e) = @_;
    $e =~ s/\$__rate_interval/1m/g;
    $e =~ s/\$__interval/15s/g;
    $e =~ s/\$instance/.*/g;
    return $e;
}

my $rules = "groups:\n  - name: ngx_ws_dashboard\n    rules:\n";
for my $x (@exprs) {
    my ($id, $expr) = @$x;
    unlike($expr, qr/\$(?!__rate_interval|__interval|instance\b)/,
           "panel $id: only known variables");
    (my $q = grafana_expand($expr)) =~ s/'/''/g;
    $rules .= "      - record: dashboard:panel_$id\n"
            . "        expr: '$q'\n";
}
$t->write_file('dashboard-rules.yml', $rules);

my $out = `$promtool check rules ${\ $t->prefix}/dashboard-rules.yml 2>&1`;
is($? >> 8, 0, 'promtool check rules: every panel expression')
    or diag($out);
like($out, qr/SUCCESS: ${\ scalar @exprs} rules found/,
     scalar(@exprs) . ' expressions checked');

$out = `$promtool check config $PROM 2>&1`;
is($? >> 8, 0, "promtool check config $PROM") or diag($out);

# ------------------------------------------------------------- a scrape

# ws_redis to a port where nobody listens: the Redis metrics are there,
# with the host disconnected.
my $nobody = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "a free port: $!";
    $s->sockport;
};
$t->write_conf("    ws_redis 127.0.0.1:$nobody;\n"
               . server_conf(socketio => ['ws_namespace /chat'],
                             locations => ['/metrics' => ['ws_metrics']]));
$t->run;

my ($st, $h, $body) = http_get($t->port, '/metrics');
is($st, 200, 'a scrape');

my %have;
for (split /\n/, $body) {
    $have{$1} = 1 if /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/;
}

my %named;
for my $x (@exprs) {
    $named{$_} //= $x->[2] for $x->[1] =~ /\b((?:socket|ngx_ws)_[a-z_]+)\b/g;
}
ok(%named, scalar(keys %named) . ' metrics named by the dashboard');
for my $name (sort keys %named) {
    ok($have{$name}, "$name ($named{$name}): in the scrape");
}

like($body, qr/^socket_redis_connected 0$/m, 'Redis: not connected');

done_testing;
