package NgxWs::WebSocket;

# Copyright (C) 2026 The ngx_ws authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A small RFC 6455 client for the tests, in core Perl, with Engine.IO v4
# and Socket.IO v5 helpers.  Every part of the handshake can be changed
# (to test the bad ones) and frames can be built wrong on purpose.
#
#   my $ws = NgxWs::WebSocket->new(port => $port);    # connect + upgrade
#   $ws->status;                                      # 101
#   my $open = $ws->eio_open;                         # {sid => ..., ...}
#   my $reply = $ws->sio_connect('/chat');            # '40/chat,{"sid":..}'
#   $ws->send_text('42["x"]');
#   my $f = $ws->read_frame(2);                       # {opcode, fin, payload}
#   my $code = $ws->wait_closed(5);                   # 1002, or 'eof'
#   ok($ws->alive, 'still open');                     # ping -> its pong
#   is_deeply($ws->barrier, [], 'nothing came');     # the same, strictly

use strict;
use warnings;

use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF pack_sockaddr_in inet_aton);
use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64 decode_base64);
use JSON::PP ();
use Time::HiRes qw(time);

use constant {
    OP_CONT   => 0x0,
    OP_TEXT   => 0x1,
    OP_BINARY => 0x2,
    OP_CLOSE  => 0x8,
    OP_PING   => 0x9,
    OP_PONG   => 0xA,
};

use constant WS_GUID => '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
use constant EIO_PATH => '/socket.io/?EIO=4&transport=websocket';

$SIG{PIPE} = 'IGNORE';

my $json = JSON::PP->new->canonical(0);

# The Sec-WebSocket-Accept value for a key.
sub accept_for {
    my ($key) = @_;
    return encode_base64(sha1($key . WS_GUID), '');
}

sub random_key {
    return encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
}

# Options:
#   port       (required) host is 127.0.0.1
#   path       request target (default /socket.io/?EIO=4&transport=websocket)
#   query      appended to path with '&' (e.g. 'b64=1')
#   method     (GET)       http   HTTP version ('1.1')
#   key        Sec-WebSocket-Key   version  Sec-WebSocket-Version (13)
#   headers    { Name => value | undef } replaces (undef: removes) or adds
#              headers, names case-insensitive
#   request    the whole raw request instead
#   timeout    for the connect and the response head (5 s)
#   ssl        1 to speak TLS (needs IO::Socket::SSL, not core)
#   rcvbuf     SO_RCVBUF set before connecting
#   local      the client's own address (e.g. '127.0.0.2'), plain TCP only
# Returns the client (whatever the status: check ->status), or undef when
# the TCP connection fails.
sub new {
    my ($class, %o) = @_;

    my $self = bless {
        port    => $o{port},
        timeout => $o{timeout} // 5,
        rbuf    => '',
        eof     => 0,
    }, $class;

    my $sock;
    if ($o{ssl}) {
        require IO::Socket::SSL;
        $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $o{port},
                                     SSL_verify_mode => 0,
                                     Timeout => $self->{timeout});
    } elsif ($o{rcvbuf}) {
        # A small receive buffer set before connect (so the window is
        # small from the start): a reader that falls behind quickly.
        $sock = IO::Socket::INET->new(Proto => 'tcp') or return undef;
        setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf});
        connect($sock, pack_sockaddr_in($o{port}, inet_aton('127.0.0.1')))
            or return undef;
    } else {
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $o{port}, Proto => 'tcp',
                                      Timeout => $self->{timeout},
                                      $o{local} ? (LocalAddr => $o{local})
                                                : ());
    }
    return undef unless $sock;
    $sock->autoflush(1);
    binmode $sock;
    $self->{sock} = $sock;
    $self->{sel} = IO::Select->new($sock);

    my $key = exists $o{key} ? $o{key} : random_key();
    $self->{key} = $key;

    my $req = $o{request};
    unless (defined $req) {
        my $path = $o{path} // EIO_PATH;
        $path .= ($path =~ /\?/ ? '&' : '?') . $o{query} if $o{query};

        my @h = (
            Host                    => "127.0.0.1:$o{port}",
            Upgrade                 => 'websocket',
            Connection              => 'Upgrade',
            'Sec-WebSocket-Key'     => $key,
            'Sec-WebSocket-Version' => $o{version} // 13,
        );
        my $over = $o{headers} || {};
        for my $name (keys %$over) {
            my $found = 0;
            for (my $i = 0; $i < @h; $i += 2) {
                next unless lc $h[$i] eq lc $name;
                $h[$i + 1] = $over->{$name};
                $found = 1;
            }
            push @h, $name, $over->{$name} unless $found;
        }
        $req = sprintf("%s %s HTTP/%s\r\n", $o{method} // 'GET', $path,
                       $o{http} // '1.1');
        for (my $i = 0; $i < @h; $i += 2) {
            $req .= "$h[$i]: $h[$i + 1]\r\n" if defined $h[$i + 1];
        }
        $req .= "\r\n";
    }

    $self->send_raw($req);
    $self->_read_response_head;
    return $self;
}

sub _fill {
    my ($self, $timeout) = @_;
    return 0 if $self->{eof};
    my $sock = $self->{sock};
    unless ($sock->can('pending') && $sock->pending) {
        return 0 unless $self->{sel}->can_read($timeout < 0 ? 0 : $timeout);
    }
    my $n = sysread($sock, $self->{rbuf}, 65536, length $self->{rbuf});
    unless ($n) {
        $self->{eof} = 1;
        return 0;
    }
    return $n;
}

sub _read_response_head {
    my ($self) = @_;
    my $end = time + $self->{timeout};
    my $i;
    while (($i = index($self->{rbuf}, "\r\n\r\n")) < 0) {
        return unless $self->_fill($end - time);
        return if time > $end;
    }
    my $head = substr($self->{rbuf}, 0, $i);
    substr($self->{rbuf}, 0, $i + 4) = '';

    my ($line, @lines) = split /\r\n/, $head;
    $self->{status_line} = $line;
    ($self->{status}) = $line =~ m{^HTTP/\d\.\d (\d{3})};
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    $self->{headers} = \%h;
    return if defined $self->{status} && $self->{status} == 101;

    # Not upgraded: the rest is an HTTP body.
    my $len = $h{'content-length'};
    while (!defined $len || length $self->{rbuf} < $len) {
        last unless $self->_fill($end - time);
        last if time > $end;
    }
    $self->{body} = $self->{rbuf};
    $self->{rbuf} = '';
}

sub status      { $_[0]{status} }
sub status_line { $_[0]{status_line} }
sub headers     { $_[0]{headers} }
sub header      { $_[0]{headers}{lc $_[1]} }
sub body        { $_[0]{body} }
sub key         { $_[0]{key} }
sub sock        { $_[0]{sock} }
sub eof         { $_[0]{eof} }

sub send_raw {
    my ($self, $bytes) = @_;
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        unless (defined $n) {
            next if $!{EINTR} || $!{EAGAIN};
            $self->{write_error} = "$!";
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# A frame as bytes.  Options: fin (1), mask (1), rsv (0..7: RSV1 = 4),
# mask_key (4 bytes), len (a declared length other than the real one).
sub build_frame {
    my ($opcode, $payload, %o) = @_;
    $payload //= '';
    utf8::encode($payload) if utf8::is_utf8($payload);

    my $fin  = $o{fin} // 1;
    my $mask = $o{mask} // 1;
    my $rsv  = $o{rsv} // 0;
    my $len  = $o{len} // length $payload;

    my $b = pack('C', ($fin ? 0x80 : 0) | (($rsv & 7) << 4) | ($opcode & 0xF));
    my $m = $mask ? 0x80 : 0;
    if ($len < 126) {
        $b .= pack('C', $m | $len);
    } elsif ($len < 65536) {
        $b .= pack('Cn', $m | 126, $len);
    } else {
        $b .= pack('CQ>', $m | 127, $len);
    }
    if ($mask) {
        my $key = $o{mask_key}
                  // pack('N', int(rand(4294967296)));
        $b .= $key . mask_bytes($payload, $key);
    } else {
        $b .= $payload;
    }
    return $b;
}

sub mask_bytes {
    my ($data, $key) = @_;
    my $n = length $data;
    return '' unless $n;
    return $data ^ substr($key x (int($n / 4) + 1), 0, $n);
}

# send_frame(opcode, payload, fin => 0/1, mask => 0/1, rsv => n,
#            len => declared length, raw => bytes sent as they are)
sub send_frame {
    my ($self, $opcode, $payload, %o) = @_;
    return $self->send_raw($o{raw}) if defined $o{raw};
    return $self->send_raw(build_frame($opcode, $payload, %o));
}

sub send_text   { my $s = shift; $s->send_frame(OP_TEXT, @_) }
sub send_binary { my $s = shift; $s->send_frame(OP_BINARY, @_) }
sub send_ping   { my $s = shift; $s->send_frame(OP_PING, @_) }
sub send_pong   { my $s = shift; $s->send_frame(OP_PONG, @_) }

# send_close(code, reason): no code -> empty payload.
sub send_close {
    my ($self, $code, $reason, %o) = @_;
    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';
    $self->{close_sent} = 1;
    return $self->send_frame(OP_CLOSE, $p, %o);
}

# The next frame from the server as {opcode, fin, rsv, masked, payload},
# or undef on timeout ($ws->timed_out) or EOF ($ws->eof).
sub read_frame {
    my ($self, $timeout) = @_;
    $timeout //= $self->{timeout};
    my $end = time + $timeout;
    $self->{timed_out} = 0;

    while (1) {
        my $f = parse_frame(\$self->{rbuf});
        return $f if $f;
        return undef if $self->{eof};
        unless ($self->_fill($end - time)) {
            $self->{timed_out} = 1 unless $self->{eof};
            return undef;
        }
    }
}

sub timed_out { $_[0]{timed_out} }

# A frame from the front of the buffer $$buf, removed from it:
# {opcode, fin, rsv, masked, payload}, or undef while it is incomplete.
# (Also for the abuse tests' many raw clients, NgxWs::Abuse.)
sub parse_frame {
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
    my $masked = $b1 & 0x80;
    $hlen += 4 if $masked;
    return undef if length $$buf < $hlen + $len;

    my $payload = substr($$buf, $hlen, $len);
    $payload = mask_bytes($payload, substr($$buf, $hlen - 4, 4)) if $masked;
    substr($$buf, 0, $hlen + $len) = '';

    return {
        opcode  => $b0 & 0x0F,
        fin     => ($b0 & 0x80) ? 1 : 0,
        rsv     => ($b0 >> 4) & 7,
        masked  => $masked ? 1 : 0,
        payload => $payload,
    };
}

# The code of a close frame (1005 when it has none) and its reason.
sub close_code {
    my ($frame) = @_;
    $frame = $_[1] if ref $frame && ref $frame eq __PACKAGE__;
    return undef unless $frame && $frame->{opcode} == OP_CLOSE;
    my $p = $frame->{payload};
    return wantarray ? (1005, '') : 1005 if length $p < 2;
    my $code = unpack('n', $p);
    return wantarray ? ($code, substr($p, 2)) : $code;
}

# Reads until a close frame (returns its code, 1005 if it has none) or EOF
# without one ('eof'); undef on timeout.  After a close frame, waits for
# the TCP close (bounded by the same timeout): ->tcp_closed tells; the
# close is echoed first unless one was sent or no_echo => 1.  Data
# frames read before the close frame are kept in ->{skipped}; whatever
# the server sent after its close frame (it must send nothing) in
# ->after_close: the frames, then any bytes that are no whole frame.
sub wait_closed {
    my ($self, $timeout, %o) = @_;
    $timeout //= 5;
    my $end = time + $timeout;

    while (1) {
        my $f = $self->read_frame($end - time);
        unless ($f) {
            return 'eof' if $self->{eof};
            return undef;
        }
        if ($f->{opcode} == OP_CLOSE) {
            my ($code, $reason) = close_code($f);
            $self->{close_code} = $code;
            $self->{close_reason} = $reason;
            $self->{after_close} = [];
            # Complete the close handshake as a client does (the server
            # may wait for it before closing TCP).
            $self->send_close($code == 1005 ? undef : $code)
                unless $self->{close_sent} || $o{no_echo};
            while (!$self->{eof}) {
                my $g = $self->read_frame($end - time);
                if ($g) {
                    push @{$self->{after_close}}, $g;
                    next;
                }
                last unless $self->{eof};
            }
            push @{$self->{after_close}}, { bytes => $self->{rbuf} }
                if length $self->{rbuf};
            $self->{tcp_closed} = $self->{eof};
            return $code;
        }
        push @{$self->{skipped}}, $f;
    }
}

sub tcp_closed   { $_[0]{tcp_closed} }
sub after_close  { $_[0]{after_close} }
sub close_reason { $_[0]{close_reason} }

# True when the connection is closed (close frame or EOF) within $timeout.
sub is_closed {
    my ($self, $timeout) = @_;
    my $r = $self->wait_closed($timeout);
    return defined $r ? 1 : 0;
}

sub close {
    my ($self) = @_;
    CORE::close($self->{sock}) if $self->{sock};
    $self->{eof} = 1;
}

# A barrier: sends a WebSocket ping with a fresh payload and reads up to
# its pong.  The server writes to one connection in order, so whatever it
# had sent before it read the ping has arrived by then.  Returns what came
# before the pong (Engine.IO packets as read_packet returns them, other
# pongs as {pong => payload}, a close frame as {close => code}), or undef
# when the pong does not come within $timeout (5 s) or the connection
# closes.  WebSocket pings and Engine.IO pings ("2", answered with "3")
# are the heartbeat, not something that "arrived", and are left out.
#
#   is_deeply($ws->barrier, [], 'nothing arrived');
sub barrier {
    my ($self, $timeout) = @_;
    my $tag = 'barrier-' . int rand 1e9;
    my $end = time + ($timeout // 5);
    my @before;
    $self->{before_barrier} = \@before;
    $self->send_ping($tag) or return undef;
    while (1) {
        my $f = $self->read_frame($end - time) or return undef;
        my $op = $f->{opcode};
        if ($op == OP_PONG) {
            return \@before if $f->{payload} eq $tag;
            push @before, { pong => $f->{payload} };
        } elsif ($op == OP_PING) {
            $self->send_pong($f->{payload});
        } elsif ($op == OP_CLOSE) {
            ($self->{close_code}, $self->{close_reason}) = close_code($f);
            push @before, { close => $self->{close_code} };
            return undef;
        } elsif ($op == OP_BINARY) {
            push @before, { binary => $f->{payload} };
        } elsif ($op == OP_TEXT && $f->{payload} eq '2') {
            $self->{pings}++;
            $self->send_text('3');
        } else {
            push @before, $f->{payload};
        }
    }
}

# What came before the last barrier's pong (for diagnostics).
sub before_barrier { $_[0]{before_barrier} }

# True when the connection is alive, the server still reads it and has
# sent nothing but the heartbeat: a barrier with nothing before it.
sub alive {
    my ($self, $timeout) = @_;
    my $got = $self->barrier($timeout);
    return $got && !@$got ? 1 : 0;
}

# ------------------------------------------------------------ Engine.IO

# Reads the open packet '0{...}': returns the decoded object (undef when
# the first frame is something else); the raw text is in ->{open_raw}.
sub eio_open {
    my ($self, $timeout) = @_;
    my $f = $self->read_frame($timeout);
    return undef unless $f && $f->{opcode} == OP_TEXT;
    $self->{open_raw} = $f->{payload};
    return undef unless $f->{payload} =~ /^0(\{.*\})\z/s;
    my $o = eval { $json->decode($1) } or return undef;
    $self->{sid} = $o->{sid};
    return $self->{open} = $o;
}

sub open_raw { $_[0]{open_raw} }
sub sid      { $_[0]{sid} }

# The next Engine.IO packet: the text of a text frame ('4...'), or
# {binary => bytes} for a binary frame; undef on timeout, EOF or a close
# frame (then ->{close_code} is set).  Engine.IO pings ('2') are answered
# with '3' and skipped unless no_pong => 1; WebSocket pings get a pong.
sub read_packet {
    my ($self, $timeout, %o) = @_;
    $timeout //= $self->{timeout};
    my $end = time + $timeout;

    while (1) {
        my $f = $self->read_frame($end - time) or return undef;
        my $op = $f->{opcode};
        if ($op == OP_PING) {
            $self->send_pong($f->{payload});
            next;
        }
        next if $op == OP_PONG;
        if ($op == OP_CLOSE) {
            ($self->{close_code}, $self->{close_reason}) = close_code($f);
            return undef;
        }
        return { binary => $f->{payload} } if $op == OP_BINARY;
        if ($f->{payload} eq '2' && !$o{no_pong}) {
            $self->{pings}++;
            $self->send_text('3');
            next;
        }
        return $f->{payload};
    }
}

# Skips packets until one matches $re (a regexp or a string prefix);
# returns it, or undef on timeout/close.
sub read_until {
    my ($self, $re, $timeout) = @_;
    $re = qr/^\Q$re\E/ unless ref $re;
    my $end = time + ($timeout // $self->{timeout});
    while (1) {
        my $p = $self->read_packet($end - time);
        return undef unless defined $p;
        return $p if !ref $p && $p =~ $re;
    }
}

# Reads packets (answering pings) for $seconds; returns them all.  Ends
# early on close/EOF (->closed_early is then true).
sub drain {
    my ($self, $seconds) = @_;
    my $end = time + $seconds;
    my @got;
    $self->{closed_early} = 0;
    while (time < $end) {
        my $p = $self->read_packet($end - time);
        if (defined $p) {
            push @got, $p;
            next;
        }
        $self->{closed_early} = 1 if $self->{eof}
                                     || defined $self->{close_code};
        last;
    }
    return @got;
}

sub closed_early { $_[0]{closed_early} }

# ------------------------------------------------------------ Socket.IO

sub nsp_prefix {
    my ($nsp) = @_;
    return (!defined $nsp || $nsp eq '/') ? '' : "$nsp,";
}

# Sends CONNECT to $nsp with an optional auth payload (JSON text) and
# returns the reply packet.
sub sio_connect {
    my ($self, $nsp, $auth, $timeout) = @_;
    $self->send_text('40' . nsp_prefix($nsp) . ($auth // ''));
    return $self->read_packet($timeout);
}

# Opens Engine.IO and connects to each namespace given (default '/');
# returns the client, or undef if any step fails.
sub sio_open {
    my ($class, %o) = @_;
    my $nsps = delete $o{nsps} // ['/'];
    my $ws = $class->new(%o) or return undef;
    return undef unless ($ws->status // 0) == 101;
    $ws->eio_open or return undef;
    for my $nsp (@$nsps) {
        my $r = $ws->sio_connect($nsp);
        return undef unless defined $r && !ref $r
            && $r =~ /^40\Q${\ nsp_prefix($nsp)}\E\{"sid":"[^"]+"\}\z/;
        my ($sid) = $r =~ /"sid":"([^"]+)"/;
        $ws->{sio_sid}{$nsp} = $sid;
    }
    return $ws;
}

sub sio_sid { $_[0]{sio_sid}{$_[1] // '/'} }

sub sio_disconnect {
    my ($self, $nsp) = @_;
    $self->send_text('41' . nsp_prefix($nsp));
}

1;
