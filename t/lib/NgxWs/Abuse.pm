package NgxWs::Abuse;

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Helpers for the abuse tests (t/13-abuse-*.t), in core Perl only:
#
#   - the worker's memory: vm_rss($pid) from /proc/<pid>/status (VmRSS
#     less the shared memory zones), and
#     rss_ok() which asserts a bound on its growth except under
#     NGX_WS_ASAN=1 (ASan's quarantine keeps freed memory resident, so
#     RSS says nothing there; the rest of the test still runs);
#   - the nginx of a test (start_nginx(): one worker; write_conf's
#     options worker_connections and rlimit_nofile for tests that need
#     more connections than the harness's 4096), and its /health
#     (health(), connections_are());
#   - a client connected all along (good_client()) and the check that it
#     is still served (good_served());
#   - thousands of raw WebSocket clients at once (upgrade_many(),
#     send_all(), collect(), close_codes()): plain sockets read through
#     one select(), no object per client beyond a small hash.
#
#   my ($t, $port, $pid) = start_nginx(server_conf(...),
#                                      worker_connections => 8192,
#                                      rlimit_nofile => 9192);
#   my $good = good_client($port, room => 1);
#   my $rss0 = vm_rss($pid);
#   my @c = upgrade_many($port, 5000);
#   my %codes = close_codes(\@c, 30);      # {1000 => 5000}
#   good_served('after the idle ones');

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use Exporter qw(import);
use Carp qw(croak);
use NgxWs::Test qw(get_json push_json wait_for);
use NgxWs::WebSocket ();

our @EXPORT_OK = qw(vm_rss rss_parts rss_ok asan start_nginx health
    connections_are good_client good_served upgrade_many send_all collect
    close_codes close_all worker_pid);

# ------------------------------------------------------------ memory

sub asan { $ENV{NGX_WS_ASAN} ? 1 : 0 }

# Resident memory of a process in KB, or undef when it is gone: VmRSS
# less RssShmem.  Shared memory zones (ws_zone's) have the size the
# configuration gives them, are shared by every worker and are touched
# page by page as they fill: counted in, they would read as growth that
# the abuse did not cause.  rss_parts() gives all the numbers.
sub vm_rss {
    my ($pid) = @_;
    my $p = rss_parts($pid) or return undef;
    return $p->{VmRSS} - ($p->{RssShmem} // 0);
}

sub rss_parts {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/status") or return undef;
    my %p;
    while (my $l = <$fh>) {
        $p{$1} = $2 + 0 if $l =~ /^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+)\s+kB/;
    }
    return defined $p{VmRSS} ? \%p : undef;
}

# The only worker of a harness (the abuse tests run one).
sub worker_pid {
    my ($t) = @_;
    my @w = $t->worker_pids;
    croak("expected one worker, got @w") unless @w == 1;
    return $w[0];
}

# Asserts that RSS grew by at most $limit_kb from $from_kb to $to_kb
# (numbers printed either way); under ASan the assertion is skipped.
sub rss_ok {
    my ($from_kb, $to_kb, $limit_kb, $name) = @_;
    my $grown = $to_kb - $from_kb;
    my $msg = sprintf('%s: worker RSS %d KB -> %d KB (%+d KB, bound %d KB)',
                      $name, $from_kb, $to_kb, $grown, $limit_kb);
    SKIP: {
        if (asan()) {
            note($msg);
            skip("$name: RSS is meaningless under ASan (quarantine)", 1);
        }
        cmp_ok($grown, '<=', $limit_kb, $msg);
    }
    return $grown;
}

# ------------------------------------------------------------ nginx

# A harness with the module required, write_conf(@conf) and running:
# returns ($t, its port, its one worker's pid).
sub start_nginx {
    my (@conf) = @_;
    my $t = NgxWs::Test->new->require_module;
    $t->write_conf(@conf);
    $t->run;
    return ($t, $t->port, worker_pid($t));
}

# The /health document on $port ({} when there is none).
sub health {
    my ($port) = @_;
    my (undef, $d) = get_json($port, '/health');
    return $d || {};
}

# True once /health on $port counts $n connections, within $wait seconds;
# otherwise the last document is shown.
sub connections_are {
    my ($port, $n, $wait) = @_;
    my $d;
    my $ok = wait_for($wait, sub {
        $d = health($port);
        ($d->{connections} // -1) == $n;
    });
    diag(explain($d)) unless $ok;
    return $ok;
}

# ------------------------------------------------------------ a good client

my %good;       # what good_served() checks, from good_client()
my $seq = 0;    # the number of its last push, in the whole test file

# The client, connected all along, that good_served() checks: ws, or
# one that sio_open() connects to nsps (['/']) on $port.  Options:
#   nsp      the namespace the pushes are for (default '/')
#   room     1: push to the client's own room (its sid in nsp), so that
#            other clients of the namespace are not matched
#   matched, got, alive   the names of good_served()'s checks; alive
#            undef: no ping
# Returns the client.
sub good_client {
    my ($port, %o) = @_;
    my $ws = $o{ws} // NgxWs::WebSocket->sio_open(port => $port,
                                                  nsps => $o{nsps} // ['/']);
    my $nsp = $o{nsp};
    %good = (
        port    => $port,
        ws      => $ws,
        nsp     => $nsp,
        room    => $o{room} ? $ws->sio_sid($nsp // '/') : undef,
        matched => $o{matched} // 'a push matches the connected client',
        got     => $o{got} // 'and it gets it',
        alive   => exists $o{alive} ? $o{alive} : 'it answers a ping',
    );
    return $ws;
}

# Another client is still served: a push of the next number matches the
# good client alone, it gets it, and (unless alive is undef) it answers
# a ping with nothing else before the pong.
sub good_served {
    my ($name) = @_;
    $seq++;
    my $body = '{' . (defined $good{nsp} ? qq("nsp":"$good{nsp}",) : '')
             . (defined $good{room} ? qq("rooms":["$good{room}"],) : '')
             . qq("event":"seq","data":[$seq]});
    my ($st, $d) = push_json($good{port}, $body);
    is($d && $d->{matched}, 1, "$name: $good{matched}");
    is($good{ws}->read_packet(5),
       '42' . NgxWs::WebSocket::nsp_prefix($good{nsp}) . qq(["seq",$seq]),
       "$name: $good{got}");
    ok($good{ws}->alive, "$name: $good{alive}") if defined $good{alive};
}

# ------------------------------------------------------------ many clients

# Reads whatever the clients have for up to $timeout seconds, parsing
# frames into $c->{frames}; $done->($c) says when a client has what the
# caller waits for (it is then read no more).  EOF sets $c->{eof} (and
# ends the wait for that client).  Returns how many are done.
sub collect {
    my ($conns, $timeout, $done) = @_;
    my %by_fd;
    my $sel = IO::Select->new;
    my $ndone = 0;
    for my $c (@$conns) {
        if ($c->{eof} || $done->($c)) {
            $ndone++;
            next;
        }
        $by_fd{fileno $c->{sock}} = $c;
        $sel->add($c->{sock});
    }
    my $end = time + $timeout;
    while ($sel->count) {
        my $left = $end - time;
        last if $left <= 0;
        for my $s ($sel->can_read($left)) {
            my $c = $by_fd{fileno $s};
            my $n = sysread($s, $c->{rbuf}, 65536, length $c->{rbuf});
            $c->{eof} = 1 unless $n;
            # (before its 101 is read, a client's bytes are HTTP)
            while (!$c->{in_http}
                   && (my $f = NgxWs::WebSocket::parse_frame(\$c->{rbuf}))) {
                push @{$c->{frames}}, $f;
            }
            if ($c->{eof} || $done->($c)) {
                $ndone++;
                $sel->remove($s);
            }
        }
    }
    return $ndone;
}

# Upgrades $n clients (in batches, so that the listen backlog never
# overflows) and reads each one's Engine.IO open packet.  Options: path
# (the request target), batch (250), timeout (per batch, 20 s), host.
# Returns the clients: {sock, rbuf, frames, sid, open}; the ones that did
# not upgrade are left out (compare the count).
sub upgrade_many {
    my ($port, $n, %o) = @_;
    my $batch = $o{batch} // 250;
    my $path = $o{path} // NgxWs::WebSocket::EIO_PATH;
    my @ok;

    while ($n > 0) {
        my $k = $n < $batch ? $n : $batch;
        $n -= $k;
        my @b;
        for (1 .. $k) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port,
                                          Proto => 'tcp', Timeout => 10)
                or next;
            binmode $s;
            my $key = NgxWs::WebSocket::random_key();
            my $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                    . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    . "Sec-WebSocket-Key: $key\r\n"
                    . "Sec-WebSocket-Version: 13\r\n\r\n";
            defined syswrite($s, $req) or next;
            push @b, { sock => $s, rbuf => '', frames => [], in_http => 1 };
        }

        collect(\@b, $o{timeout} // 20, sub {
            my ($c) = @_;
            if ($c->{in_http}) {
                my $i = index($c->{rbuf}, "\r\n\r\n");
                return 0 if $i < 0;
                $c->{head} = substr($c->{rbuf}, 0, $i);
                substr($c->{rbuf}, 0, $i + 4) = '';
                $c->{in_http} = 0;
                while (my $f = NgxWs::WebSocket::parse_frame(\$c->{rbuf})) {
                    push @{$c->{frames}}, $f;
                }
            }
            return @{$c->{frames}} > 0;
        });

        my $now = time;
        for my $c (@b) {
            $c->{upgraded_at} = $now;
            next unless defined $c->{head}
                && $c->{head} =~ m{^HTTP/1\.1 101 }
                && @{$c->{frames}};
            my $f = shift @{$c->{frames}};
            next unless $f->{opcode} == 1 && $f->{payload} =~ /^0\{/;
            ($c->{sid}) = $f->{payload} =~ /"sid":"([^"]+)"/;
            $c->{open} = $f->{payload};
            push @ok, $c;
        }
    }
    return @ok;
}

# Writes the same bytes (or $bytes->($c, $i)) to every client; returns
# how many writes succeeded in full.
sub send_all {
    my ($conns, $bytes) = @_;
    my $ok = 0;
    my $i = 0;
    for my $c (@$conns) {
        my $b = ref $bytes ? $bytes->($c, $i) : $bytes;
        $i++;
        my $off = 0;
        while ($off < length $b) {
            my $w = syswrite($c->{sock}, $b, length($b) - $off, $off);
            last unless defined $w;
            $off += $w;
        }
        $ok++ if $off == length $b;
    }
    return $ok;
}

# Waits up to $timeout for a close frame (or EOF) on every client and
# closes them all; returns {code => count}, EOF without a close frame as
# 'eof', no answer as 'none'.  Data frames read meanwhile stay in
# $c->{frames}; $c->{closed_at} is when the close frame was read (and
# upgrade_many() set $c->{upgraded_at}).
sub close_codes {
    my ($conns, $timeout) = @_;
    my %codes;
    collect($conns, $timeout, sub {
        my ($c) = @_;
        return 1 if defined $c->{close_code};
        for my $f (@{$c->{frames}}) {
            next unless $f->{opcode} == 8;
            $c->{close_code} = length $f->{payload} >= 2
                ? unpack('n', $f->{payload}) : 1005;
            $c->{closed_at} = time;
            return 1;
        }
        return 0;
    });
    for my $c (@$conns) {
        my $code = $c->{close_code} // ($c->{eof} ? 'eof' : 'none');
        $codes{$code}++;
    }
    close_all($conns);
    return %codes;
}

sub close_all {
    my ($conns) = @_;
    for my $c (@$conns) {
        close $c->{sock} if $c->{sock};
        delete $c->{sock};
        $c->{eof} = 1;
    }
}

1;
