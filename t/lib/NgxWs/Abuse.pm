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
#   - a whole nginx.conf (conf()) for tests that need more
#     worker_connections than the harness's 4096;
#   - thousands of raw WebSocket clients at once (upgrade_many(),
#     send_all(), collect(), close_codes()): plain sockets read through
#     one select(), no object per client beyond a small hash.
#
#   my $t = NgxWs::Test->new->require_module;
#   $t->write_conf(conf(worker_connections => 8192,
#                       http => server_conf(...)));
#   $t->run;
#   my $rss0 = vm_rss(($t->worker_pids)[0]);
#   my @c = upgrade_many($t->port, 5000);
#   my %codes = close_codes(\@c, 30);      # {1000 => 5000}

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use Exporter qw(import);
use Carp qw(croak);
use NgxWs::WebSocket ();

our @EXPORT_OK = qw(vm_rss rss_parts rss_ok asan conf upgrade_many send_all collect
    close_codes close_all parse_server_frame worker_pid);

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

# ------------------------------------------------------------ config

# A whole nginx.conf for NgxWs::Test::write_conf, the same as the
# harness's own but with worker_connections (and the open file limit
# with it) chosen; http is the inside of http {}.
sub conf {
    my (%o) = @_;
    my $wc = $o{worker_connections} // 4096;
    my $nofile = $wc + 1000;
    my $http = $o{http} // '';
    return <<"EOF";
load_module %%MODULE%%;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $nofile;
pid %%PREFIX%%/nginx.pid;
error_log %%PREFIX%%/error.log info;

events {
    worker_connections $wc;
}

http {
    access_log %%PREFIX%%/access.log;
    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;
    default_type application/octet-stream;

$http
}
EOF
}

# ------------------------------------------------------------ many clients

# A server frame (never masked) from the front of $$buf, removed from it:
# {opcode, fin, payload}, or undef while incomplete.
sub parse_server_frame {
    my ($buf) = @_;
    return undef if length $$buf < 2;
    my ($b0, $b1) = unpack('CC', $$buf);
    my $len = $b1 & 0x7F;
    my $hlen = 2;
    if ($len == 126) {
        return undef if length $$buf < 4;
        $len = unpack('n', substr($$buf, 2, 2));
        $hlen = 4;
    } elsif ($len == 127) {
        return undef if length $$buf < 10;
        $len = unpack('Q>', substr($$buf, 2, 8));
        $hlen = 10;
    }
    $hlen += 4 if $b1 & 0x80;
    return undef if length $$buf < $hlen + $len;
    my $payload = substr($$buf, $hlen, $len);
    $payload = NgxWs::WebSocket::mask_bytes($payload,
                                            substr($$buf, $hlen - 4, 4))
        if $b1 & 0x80;
    substr($$buf, 0, $hlen + $len) = '';
    return { opcode => $b0 & 0x0F, fin => ($b0 >> 7) & 1,
             payload => $payload };
}

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
                   && (my $f = parse_server_frame(\$c->{rbuf}))) {
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
                while (my $f = parse_server_frame(\$c->{rbuf})) {
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
