#!/usr/bin/perl

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause

# The benchmark's load generator, briefly, against ngx_ws: every mode with a
# handful of connections must connect, hold and receive every message.  It
# measures nothing (make bench does).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use NgxWs::Test qw(server_conf);

my $t = NgxWs::Test->new;
$t->require_module;

$t->write_conf(server_conf(socketio => ['ws_namespace /chat'],
                           locations => ['= /_ws/push' => ['ws_push']]));

$t->run;

my $port = $t->port;
my $build = $ENV{NGX_WS_BUILD} || "$FindBin::Bin/../build";
my @out = `$FindBin::Bin/../bench/smoke.sh $port $build/bench 2>&1`;
my $rc = $? >> 8;

for my $line (@out) {
    chomp $line;

    if ($line =~ /^(not )?ok - (.*)/) {
        ok(!$1, $2) or diag($line);

    } else {
        diag($line);
    }
}

is($rc, 0, 'smoke.sh exits 0');

done_testing;
