package NgxWs::Test;

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A small harness for the nginx tests of ngx_ws, in core Perl only: an
# nginx (Debian's binary with the module loaded) on free ports from a
# config template, in a temp prefix of its own; start, reload, stop; and,
# when the test file finishes, a check that the error log holds no crit
# (EMFILE, temp files), no alert, no emerg, no worker killed by a signal
# (and no sanitizer report when NGX_WS_ASAN=1).
#
#   my $t = NgxWs::Test->new;
#   $t->write_conf(<<'EOF');      # the inside of http {}, or a whole conf
#   server { listen 127.0.0.1:%%PORT%%; location /socket.io/ { ws_socketio; } }
#   EOF
#   $t->run;
#   ... tests ...
#   done_testing;                 # the log checks run just before the plan
#
# The usual server block can be had from server_conf, and clients that
# are past the handshake from $t->eio_client and $t->sio_client:
#
#   $t->write_conf(server_conf(socketio => ['ws_namespace /chat'],
#                              push => 1));
#   my $ws = $t->sio_client;      # upgraded, opened, connected to '/'
#
# Environment: NGX_WS_NGINX (default /usr/sbin/nginx), NGX_WS_MODULE
# (default build/nginx/ngx_ws_module.so), NGX_WS_ASAN=1, NGX_WS_LEAVE=1
# (keep the prefix and print where it is).

use strict;
use warnings;

use Test::More;
use Test2::API qw(test2_add_callback_testing_done);
use Cwd qw(abs_path getcwd);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Select;
use POSIX qw(WNOHANG);
use Socket qw(SOL_SOCKET SO_REUSEADDR);
use Time::HiRes qw(sleep time);
use Exporter qw(import);
use JSON::PP ();
use Carp qw(croak);

our @EXPORT_OK = qw(http_request http_get http_post_json wait_for
    parse_http_response push_json get_json server_conf missing);

my @instances;                    # every harness of this process
my $creator_pid = $$;

test2_add_callback_testing_done(sub {
    return unless $$ == $creator_pid;
    $_->finish for grep { defined } @instances;
});

END {
    # A test that died or never called done_testing: the checks run here,
    # before File::Temp's END removes the logs (this END runs first, as
    # this file loads File::Temp).  After a skip_all or done_testing the
    # hub has ended: just stop nginx.
    local $?;
    return unless $$ == $creator_pid;
    my $hub = Test2::API::test2_stack()->top;
    for my $t (grep { defined } @instances) {
        if ($hub->ended) {
            $t->stop if $t->{master};
        } else {
            $t->finish;
        }
    }
}

sub new {
    my ($class, %opts) = @_;

    my $self = bless {
        nginx   => $ENV{NGX_WS_NGINX} || '/usr/sbin/nginx',
        module  => $ENV{NGX_WS_MODULE} || 'build/nginx/ngx_ws_module.so',
        asan    => $ENV{NGX_WS_ASAN} ? 1 : 0,
        workers => 1,
        ports   => {},
        holders => {},
        %opts,
    }, $class;

    $self->{module} = abs_path($self->{module}) // $self->{module};
    $self->{prefix} = tempdir('ngx-ws-t-XXXXXX', TMPDIR => 1,
                              CLEANUP => !$ENV{NGX_WS_LEAVE});
    # Workers run as an unprivileged user when the master is root: they
    # must reach the prefix (temp files, sanitizer logs).
    chmod 0755, $self->{prefix};
    mkdir "$self->{prefix}/$_" for qw(tmp logs san);
    chmod 01777, "$self->{prefix}/san";
    diag("prefix: $self->{prefix}") if $ENV{NGX_WS_LEAVE};

    push @instances, $self;
    return $self;
}

sub prefix { $_[0]{prefix} }
sub module { $_[0]{module} }

# Fails the test file (never skips it) unless the module and nginx are
# there: make test builds the one and installs the other.
sub require_module {
    my ($self) = @_;
    missing("the module at $self->{module} (make build)")
        unless -f $self->{module};
    missing("nginx at $self->{nginx} (Debian package nginx)")
        unless -x $self->{nginx};
    return $self;
}

# Ends the test file with one failure naming what it needs and does not
# have: what make test installs or builds is never a reason to skip.
sub missing {
    my ($what) = @_;
    fail("needed: $what");
    done_testing;
    exit 1;
}

# A free TCP port on 127.0.0.1: bound to port 0 and held open until nginx
# starts, so that no other port() of this process (nor, with
# SO_REUSEADDR off, another process binding 0) is handed the same one.
sub port {
    my ($self, $n) = @_;
    $n //= 1;
    return $self->{ports}{$n} if $self->{ports}{$n};

    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "cannot bind a free port: $!";
    $self->{holders}{$n} = $s;
    return $self->{ports}{$n} = $s->sockport;
}

sub _expand {
    my ($self, $text) = @_;

    $text =~ s/%%MODULE%%/$self->{module}/g;
    $text =~ s/%%PREFIX%%/$self->{prefix}/g;
    $text =~ s/%%PORT(\d*)%%/$self->port($1 eq '' ? 1 : $1)/ge;
    return $text;
}

# The template is the inside of http {} unless it has its own "http {"
# (then it is the whole configuration).  Options for the configuration
# around it: workers (worker_processes, 1), worker_connections (4096),
# rlimit_nofile (worker_rlimit_nofile, not set by default).
sub write_conf {
    my ($self, $template, %opts) = @_;

    $self->{template} = [$template, %opts];
    my $workers = $opts{workers} // $self->{workers};
    $self->{workers} = $workers;

    my $conf = $self->_expand($self->_conf_text($template, 'error.log',
                                                %opts, workers => $workers));
    $self->write_file('nginx.conf', $conf);
    $self->{conf} = $conf;
    return $self;
}

sub _conf_text {
    my ($self, $template, $log, %o) = @_;

    return $template if $template =~ /^\s*http\s*\{/m;
    my $workers = $o{workers} // 1;
    my $connections = $o{worker_connections} // 4096;
    my $nofile = defined $o{rlimit_nofile}
        ? "worker_rlimit_nofile $o{rlimit_nofile};\n" : '';
    return <<"EOF";
load_module %%MODULE%%;
daemon off;
master_process on;
worker_processes $workers;
${nofile}pid %%PREFIX%%/nginx.pid;
error_log %%PREFIX%%/$log info;

events {
    worker_connections $connections;
}

http {
    access_log %%PREFIX%%/access.log;
    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;
    default_type application/octet-stream;

$template
}
EOF
}

# "nginx -t -p <prefix> -c <conf>" with the module loaded, on a
# configuration given as write_conf takes it, in files of its own (the
# running nginx's conf and error log are left alone).  Returns nginx's
# exit status and what it printed.
sub conf_test {
    my ($self, $template) = @_;
    my $n = ++$self->{conf_tests};
    my $conf = $self->_expand($self->_conf_text($template,
                                                "conf-test-$n.log"));
    my $file = $self->write_file("conf-test-$n.conf", $conf);
    my %env = $self->{asan} ? $self->_asan_env : ();
    local @ENV{keys %env} = values %env;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open(STDERR, '>&', \*STDOUT);
        exec($self->{nginx}, '-t', '-p', "$self->{prefix}/",
             '-e', "$self->{prefix}/conf-test-$n.log", '-c', $file)
            or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = "$self->{prefix}/$name";
    open(my $fh, '>', $path) or die "$path: $!";
    print $fh $content;
    close $fh;
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{prefix}/$name";
    open(my $fh, '<', $path) or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}

sub error_log { $_[0]->read_file('error.log') }
sub stderr_log { $_[0]->read_file('stderr.log') }

sub _asan_env {
    my ($self) = @_;
    my $lib = `gcc -print-file-name=libasan.so 2>/dev/null`;
    chomp $lib;
    die "NGX_WS_ASAN=1 but no libasan.so (gcc -print-file-name)\n"
        unless $lib && -e $lib;
    return (
        LD_PRELOAD    => $lib,
        ASAN_OPTIONS  => "detect_leaks=0:abort_on_error=0"
                         . ":log_path=$self->{prefix}/san/asan",
        UBSAN_OPTIONS => "print_stacktrace=1:log_path=$self->{prefix}/san/ubsan",
    );
}

# Starts nginx.  Should another process take one of the free ports in the
# moment between their release and nginx's bind, the ports are picked
# again and nginx started again (up to 3 times).
sub run {
    my ($self) = @_;

    for my $try (1 .. 3) {
        my $err = $self->_run_once;
        return $self unless $err;
        if ($try < 3 && $err =~ /Address already in use/) {
            $self->{ports} = {};
            $self->write_conf(@{$self->{template}});
            $self->write_file('error.log', '');
            next;
        }
        die $err;
    }
}

sub _run_once {
    my ($self) = @_;

    die "run() before write_conf()\n" unless $self->{conf};
    die "nginx already running\n" if $self->{master};

    my %env = $self->{asan} ? $self->_asan_env : ();

    # Give the held ports back just before nginx binds them.
    close $_ for values %{$self->{holders}};
    $self->{holders} = {};

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        @ENV{keys %env} = values %env;
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', "$self->{prefix}/stderr.log");
        open(STDERR, '>&', \*STDOUT);
        exec($self->{nginx}, '-p', "$self->{prefix}/",
             '-e', "$self->{prefix}/error.log",
             '-c', "$self->{prefix}/nginx.conf")
            or POSIX::_exit(127);
    }
    $self->{master} = $pid;
    $self->{started_once} = 1;

    my $ok = wait_for(10, sub {
        return 0 if $self->_master_gone;
        return 0 unless $self->worker_pids >= $self->{workers};
        for my $port (values %{$self->{ports}}) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port, Proto => 'tcp',
                                          Timeout => 1) or return 0;
            close $s;
        }
        return 1;
    });

    unless ($ok) {
        my $why = $self->{master_status}
            ? "nginx exited (status $self->{master_status})" : 'timeout';
        my $log = $self->error_log . $self->stderr_log;
        $self->stop if $self->{master};
        return "nginx did not start ($why):\n$log\n";
    }
    return '';
}

sub _master_gone {
    my ($self) = @_;
    return 1 unless $self->{master};
    my $r = waitpid($self->{master}, WNOHANG);
    if ($r == $self->{master}) {
        $self->{master_status} = $?;
        delete $self->{master};
        return 1;
    }
    return 0;
}

sub master_pid { $_[0]{master} }

# Children of the master, read from /proc; zombies left out.
sub worker_pids {
    my ($self) = @_;
    my $master = $self->{master} or return ();
    my @kids;
    opendir(my $dh, '/proc') or return ();
    for my $d (readdir $dh) {
        next unless $d =~ /^\d+$/;
        open(my $fh, '<', "/proc/$d/stat") or next;
        my $stat = <$fh>;
        close $fh;
        next unless defined $stat;
        # "pid (comm) state ppid ...": comm may hold spaces and parens.
        my ($state, $ppid) = (substr($stat, rindex($stat, ')') + 2)
                              =~ /^(\S+) (\d+)/) or next;
        push @kids, $d + 0 if $ppid == $master && $state ne 'Z';
    }
    closedir $dh;
    @kids = sort { $a <=> $b } @kids;
    return @kids;
}

sub _cmdline {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/cmdline") or return undef;
    local $/;
    my $s = <$fh> // '';
    close $fh;
    $s =~ s/\0+/ /g;
    return $s;
}

sub _alive {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/stat") or return 0;
    my $stat = <$fh> // '';
    close $fh;
    my ($state) = substr($stat, rindex($stat, ')') + 2) =~ /^(\S+)/;
    return defined $state && $state ne 'Z';
}

# Workers that are not shutting down.
sub active_workers {
    my ($self) = @_;
    my @w = grep {
        my $c = _cmdline($_);
        defined $c && $c =~ /worker process/ && $c !~ /shutting down/
    } $self->worker_pids;
    return @w;
}

# SIGHUP to the master; returns the old worker pids once the new workers
# run and the old ones are shutting down (or gone), so that no new
# connection can land on an old worker.
sub reload {
    my ($self, %opts) = @_;
    my $timeout = $opts{timeout} // 10;
    my %old = map { $_ => 1 } $self->worker_pids;

    kill('HUP', $self->{master}) or die "SIGHUP: $!";

    my $ok = wait_for($timeout, sub {
        my @new = grep { !$old{$_} } $self->active_workers;
        return 0 unless @new >= $self->{workers};
        for my $pid (keys %old) {
            next unless _alive($pid);
            my $c = _cmdline($pid) // next;
            return 0 unless $c =~ /shutting down/;
        }
        return 1;
    });
    die "reload: new workers did not start within ${timeout}s\n"
        . $self->error_log unless $ok;

    my @old = sort { $a <=> $b } keys %old;
    return @old;
}

# True once none of the pids is alive any more.
sub wait_gone {
    my ($self, $pids, $timeout) = @_;
    return wait_for($timeout // 10, sub { !grep { _alive($_) } @$pids });
}

sub stop {
    my ($self, %opts) = @_;
    my $pid = $self->{master} or return $self;
    my $timeout = $opts{timeout} // 10;

    kill('QUIT', $pid);
    unless (wait_for($timeout, sub { $self->_master_gone })) {
        $self->{stop_problem} = "nginx did not exit on SIGQUIT within "
                                . "${timeout}s";
        kill('TERM', $pid);
        unless (wait_for(5, sub { $self->_master_gone })) {
            kill('KILL', $pid);
            wait_for(5, sub { $self->_master_gone });
        }
    }
    delete $self->{master};
    return $self;
}

sub _sanitizer_reports {
    my ($self) = @_;
    my $out = '';
    opendir(my $dh, "$self->{prefix}/san") or return '';
    for my $f (sort grep { /^(asan|ubsan)\./ } readdir $dh) {
        $out .= "== $f\n" . $self->read_file("san/$f");
    }
    closedir $dh;
    my $stderr = $self->stderr_log;
    $out .= "== stderr\n$stderr"
        if $stderr =~ /AddressSanitizer|LeakSanitizer|runtime error:/;
    my $log = $self->error_log;
    $out .= "== error.log\n" . join('', grep {
            /AddressSanitizer|LeakSanitizer|runtime error:/
        } split /^/, $log)
        if $log =~ /AddressSanitizer|LeakSanitizer|runtime error:/;
    return $out;
}

# Runs once, when the test file calls done_testing (or ends without a plan).
# A line that would fail the log check but that the test causes on
# purpose (a worker killed with SIGKILL): it must appear, once per call.
sub expect_log {
    my ($self, $re) = @_;
    push @{$self->{expected_log}}, $re;
    return $self;
}

sub finish {
    my ($self) = @_;
    return if $self->{finished}++;
    return unless $self->{started_once} || $self->{master}
                  || -e "$self->{prefix}/error.log";

    $self->stop;
    ok(!$self->{stop_problem}, 'nginx stops on SIGQUIT')
        or diag($self->{stop_problem});

    my $log = $self->error_log;
    my @bad = grep { /\[(crit|alert|emerg)\]|exited on signal/ }
              split /^/, $log;

    # a line the test caused on purpose, once each (expect_log)
    for my $re (@{$self->{expected_log} || []}) {
        my ($i) = grep { $bad[$_] =~ $re } 0 .. $#bad;
        ok(defined $i, "the error log has the expected $re");
        splice(@bad, $i, 1) if defined $i;
    }

    is(join('', @bad), '',
       'no crit, alert or emerg in the error log, no crashed worker');

    if ($self->{asan}) {
        is($self->_sanitizer_reports, '', 'no sanitizer reports');
    }
}

# ------------------------------------------------------------- clients

# An upgraded WebSocket past the Engine.IO open packet, on $port (default:
# port 1), with NgxWs::WebSocket's options.  Dies when a step fails: the
# tests that use it are about what comes after the handshake, and must not
# go on with a client they did not get.
sub eio_client {
    my ($self, $port, %o) = @_;
    # Loaded here, not at the top: NgxWs::WebSocket ignores SIGPIPE for
    # the whole process, which the programs a test without clients runs
    # (10-bench-smoke) would inherit.
    require NgxWs::WebSocket;
    my $ws = NgxWs::WebSocket->new(port => $port // $self->port, %o);
    croak("upgrade failed: "
          . ($ws ? $ws->status_line // 'no answer' : $!))
        unless $ws && ($ws->status // 0) == 101;
    $ws->eio_open or croak("no open packet");
    return $ws;
}

# ... and connected to the namespace '/'.  (NgxWs::WebSocket->sio_open
# returns undef instead, for the tests that check the connection.)
sub sio_client {
    my ($self, @args) = @_;
    my $ws = $self->eio_client(@args);
    my $r = $ws->sio_connect('/');
    croak("no CONNECT reply") unless defined $r && $r =~ /^40\{/;
    return $ws;
}

# ------------------------------------------------------------- helpers

# One server {} for write_conf, in the layout most tests share, so that a
# test spells out only what it is about (its directives):
#   port       n of %%PORT<n>%% (default: %%PORT%%)
#   listen     parameters after the address ('http2', 'ssl')
#   socketio   directives of location /socket.io/ besides ws_socketio
#   push       1 for location /_ws/push, or the directives besides ws_push
#   health     1 for location /health
#   locations  [path => [directives], ...] after those
# Directives are given without their ';'.  Several servers: join the
# blocks with "\n".
sub server_conf {
    my (%o) = @_;

    my @loc = ('/socket.io/' => ['ws_socketio', @{$o{socketio} || []}]);
    push @loc, '/_ws/push' => ['ws_push', ref $o{push} ? @{$o{push}} : ()]
        if $o{push};
    push @loc, '/health' => ['ws_health'] if $o{health};
    push @loc, @{$o{locations} || []};

    my $port = $o{port} // '';
    my $listen = $o{listen} ? " $o{listen}" : '';
    my $conf = "    server {\n"
             . "        listen 127.0.0.1:%%PORT$port%%$listen;\n";
    while (my ($path, $directives) = splice(@loc, 0, 2)) {
        $conf .= "        location $path {\n";
        $conf .= "            $_;\n" for @$directives;
        $conf .= "        }\n";
    }
    return $conf . "    }\n";
}

# Polls $cond every 20 ms for up to $timeout seconds.
sub wait_for {
    my ($timeout, $cond) = @_;
    my $end = time + $timeout;
    while (1) {
        return 1 if $cond->();
        return 0 if time > $end;
        sleep 0.02;
    }
}

sub parse_http_response {
    my ($buf) = @_;
    my $end = index($buf, "\r\n\r\n");
    return unless $end >= 0;
    my $head = substr($buf, 0, $end);
    my $body = substr($buf, $end + 4);
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($status) = $status_line =~ m{^HTTP/\d\.\d (\d{3})} or return;
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    return ($status + 0, \%h, $body, $status_line);
}

# Sends a raw HTTP request; returns (status, {lowercased headers}, body).
# Reads until the body is complete by Content-Length, a 1xx/204/304 head,
# or EOF; status is undef on timeout or a connection error.
sub http_request {
    my ($port, $raw, %opts) = @_;
    my $timeout = $opts{timeout} // 5;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or return;
    $s->autoflush(1);
    $s->blocking(1);
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $raw) {
        my $n = syswrite($s, $raw, length($raw) - $off, $off);
        last unless defined $n;
        $off += $n;
    }

    my $buf = '';
    my $sel = IO::Select->new($s);
    my $end = time + $timeout;
    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
        my ($st, $h, $body) = parse_http_response($buf);
        next unless defined $st;
        last if $st < 200 || $st == 204 || $st == 304;
        if (defined $h->{'content-length'}) {
            last if length($body) >= $h->{'content-length'};
        }
    }
    close $s;
    my ($st, $h, $body) = parse_http_response($buf);
    return ($st, $h // {}, $body // '');
}

sub http_get {
    my ($port, $path, %headers) = @_;
    my $hdrs = join '', map { "$_: $headers{$_}\r\n" } sort keys %headers;
    return http_request($port, "GET $path HTTP/1.1\r\nHost: localhost\r\n"
                               . "Connection: close\r\n$hdrs\r\n");
}

# POSTs $json (a string, sent as it is) with Content-Type application/json
# unless a Content-Type is given in %headers.
sub http_post_json {
    my ($port, $path, $json, %headers) = @_;
    my %h = map { lc($_) => $headers{$_} } keys %headers;
    $h{'content-type'} //= 'application/json';
    my $hdrs = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return http_request($port, "POST $path HTTP/1.1\r\nHost: localhost\r\n"
                               . "Connection: close\r\n"
                               . "Content-Length: " . length($json) . "\r\n"
                               . "$hdrs\r\n$json");
}

# POSTs to the push endpoint: returns (status, decoded JSON or undef,
# raw body, headers).
sub push_json {
    my ($port, $json, %opts) = @_;
    my $path = delete $opts{path} // '/_ws/push';
    my ($st, $h, $body) = http_post_json($port, $path, $json, %opts);
    my $d = eval { JSON::PP->new->decode($body) };
    return ($st, $d, $body, $h);
}

# GETs a JSON document: (status, decoded or undef, raw body, headers).
sub get_json {
    my ($port, $path) = @_;
    my ($st, $h, $body) = http_get($port, $path);
    my $d = eval { JSON::PP->new->decode($body) };
    return ($st, $d, $body, $h);
}

1;
