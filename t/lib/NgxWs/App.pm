package NgxWs::App;

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A stand-in for the application behind the hooks, in core Perl: an
# HTTP/1.1 server in a child process that hands each POST's path, headers
# and JSON body to a routine of the test, which returns the answer, and
# appends every request as a JSON line to a file the test can read.
#
#   my $app = NgxWs::App->start(log => "$prefix/app.log",
#       handler => sub { my ($req) = @_;   # {path, headers, body, json}
#                        return (200, '{"data":null}') });
#   ... $app->port, $app->requests ...     # where it listens, what it got
#   $app->stop;                            # also at the end of the test

use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep);

my @apps;

END {
    local $?;
    $_->stop for grep { $_->{pid} && $_->{parent} == $$ } @apps;
}

sub start {
    my ($class, %o) = @_;

    my $self = bless { %o, parent => $$ }, $class;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $o{port} // 0,
                                       Proto => 'tcp', Listen => 128,
                                       ReuseAddr => 1)
        or die "app: cannot listen: $!";
    $self->{port} = $listen->sockport;

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        $self->_serve($listen);
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    push @apps, $self;
    return $self;
}

sub port { $_[0]{port} }

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill('KILL', $self->{pid});
    waitpid($self->{pid}, 0);
    delete $self->{pid};
}

# The requests the app got, oldest first: {path, headers, json}.
sub requests {
    my ($self) = @_;
    open(my $fh, '<', $self->{log}) or return [];
    my @r = map { JSON::PP->new->decode($_) } <$fh>;
    close $fh;
    return \@r;
}

sub _serve {
    my ($self, $listen) = @_;

    $SIG{PIPE} = 'IGNORE';

    # one child per connection, so that a slow answer holds up no other
    $SIG{CHLD} = 'IGNORE';

    while (my $c = $listen->accept) {
        my $pid = fork();
        if (defined $pid && $pid == 0) {
            close $listen;
            $self->_connection($c);
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub _connection {
    my ($self, $c) = @_;

    binmode $c;

    # keepalive: answer requests until the peer closes
    while (1) {
        my $head = '';
        while ($head !~ /\r\n\r\n/) {
            my $n = sysread($c, $head, 4096, length $head);
            return unless $n;
        }
        my ($top, $rest) = split /\r\n\r\n/, $head, 2;
        my ($line, @lines) = split /\r\n/, $top;
        my ($method, $path) = split / /, $line;
        my %h;
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
            $h{lc $k} = $v;
        }
        my $len = $h{'content-length'} // 0;
        my $body = $rest // '';
        while (length $body < $len) {
            my $n = sysread($c, $body, $len - length $body, length $body);
            return unless $n;
        }

        my $json = eval { JSON::PP->new->decode($body) };
        my $req = { method => $method, path => $path, headers => \%h,
                    body => $body, json => $json };

        if (open(my $fh, '>>', $self->{log})) {
            print $fh JSON::PP->new->canonical->encode({
                method => $method, path => $path, headers => \%h,
                json => $json }) . "\n";
            close $fh;
        }

        my ($status, $answer, $delay) = $self->{handler}->($req);
        sleep $delay if $delay;

        my $out = "HTTP/1.1 $status X\r\n"
                . "Content-Type: application/json\r\n"
                . "Content-Length: " . length($answer) . "\r\n\r\n"
                . $answer;
        syswrite($c, $out) or return;
    }
}

1;
