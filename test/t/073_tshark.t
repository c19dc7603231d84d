#!/usr/bin/perl
#
# 073_tshark.t
#	  Differential test against tshark (Wireshark's dissectors), field by
#	  field and packet by packet, on a list of capture files:
#	  1. a file that tshark reads whole (exit 0, no message that the file is
#	     damaged or cut short) is read by pcap_read with default settings
#	     without an ERROR;
#	  2. its IPv4 TCP packets (the outermost IP header is IPv4 and tshark
#	     reads its addresses, TCP follows it and its ports are there) are
#	     tshark's, in the same order: time (ns), wire and captured length,
#	     source and destination, TTL, id, fragment, outermost VLAN id, ports,
#	     and the sequence number, acknowledgement number, flags and window
#	     where tshark shows them;
#	  3. its other IPv4 packets and its IPv6 packets (outermost header) too:
#	     time, lengths, addresses, TTL or hop limit, fragment, IPv4 id and
#	     protocol, UDP ports.
#	  A field that tshark leaves out must be NULL in pcap_read's packet, but
#	  for the cases @ALLOWED lists, where the decoder reads a field that
#	  tshark does not show (documented in README, "What is read").
#
# The files: every capture in MIRAI_FIXTURES that has a NAME.counts beside
# it (test/fixtures.sh makes one for each file mirai_gen writes: a new
# generator fixture is compared as soon as fixtures.sh makes it), the
# corpus files named in @CORPUS (test/corpus/, copied to
# MIRAI_FIXTURES/corpus), and the files named in TSHARK_FILES (paths
# relative to MIRAI_FIXTURES, separated by spaces).  Files where the
# decoder reads a record rule as libpcap does and tshark does not are in
# %RECORD_RULES, with the reason; their packets are still compared.  Files
# whose packets tshark misreads are in %OTHER_ORACLE, with the test that
# checks them against another tool.
#
# tshark takes about half a second of CPU to start, so it runs on two files
# at once, once for a gzip'd file and its plain twin, and its output is kept
# in build/tshark/ under the SHA-256 of the bytes it reads, its version and
# the command: a later run reads it from there (the first run takes 30 to 50
# seconds on a busy 2-core machine, a later one 2).  TSHARK_CACHE=0 runs
# tshark every time.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP, MIRAI_FIXTURES
# (the files), MIRAI_FIXTURES_SQL (the same as the server sees them),
# MIRAI_WORK.
#
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use IO::Uncompress::Gunzip qw(gunzip);
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $dir = $ENV{MIRAI_FIXTURES} or die "MIRAI_FIXTURES is not set\n";
my $sqldir = $ENV{MIRAI_FIXTURES_SQL} // 'mirai_fixtures';
my $work = ($ENV{MIRAI_WORK} // '/tmp') . '/073_tshark';
my $cache = $ENV{TSHARK_CACHE} // 1 ? "$top/build/tshark" : undef;

# corpus files whose packets and rules are compared (test/corpus/README.md)
my @CORPUS = qw(
  ipv4_header_cut.pcap ipv4_ihl.pcap ipv4_options_past_end.pcap ipv4_total_length.pcap
  ipv4_version.pcap ipv4_version_bogus.pcap ipv6_header_cut.pcap ipv6_version.pcap
  ipv6_ext_past_end.pcap ipv6_ext_short.pcap ipv6_ext_loop.pcap ipv6_atomic_fragment.pcap
  tcp_data_offset.pcap pcap_caplen_snaplen.pcap pcapng_caplen_snaplen.pcapng
  pcap_minor_version.pcap pcap_time_fraction.pcap pcap_ns_time_fraction.pcap
  pcap_version.pcap pcapng_block_length_align.pcapng
);

# Files tshark reads whole that pcap_read refuses or reads otherwise, by a
# record rule of libpcap 1.10 that the decoder follows (README, "Bad input")
my %RECORD_RULES = (
	'corpus/pcap_version.pcap' =>
	  'pcap major version 3: libpcap refuses it, Wireshark reads any major version from 2 on',
	'corpus/pcapng_block_length_align.pcapng' =>
	  'a block length that is not a multiple of 4: libpcap refuses it, Wireshark rounds it up',
	'corpus/pcap_caplen_snaplen.pcap' =>
	  'a record longer than the snapshot length: libpcap cuts it, Wireshark reads it whole',
	'corpus/pcapng_caplen_snaplen.pcapng' =>
	  'a record longer than the snapshot length: cut as libpcap cuts pcap records, Wireshark reads it whole',
);

# Files whose packets another oracle checks, because tshark misreads them
# (they are still read without an ERROR when tshark reads them whole)
my %OTHER_ORACLE = (
	'ppp_variants.pcap' =>
	  'octet-stuffed PPP frames, which tshark 4.0 does not read on LINKTYPE_PPP: test/t/022_links.t compares them with tcpdump',
	'mpls_ppp_variants.pcap' =>
	  'octet-stuffed PPP frames, which tshark 4.0 does not read on LINKTYPE_PPP: test/t/022_links.t compares them with tcpdump',
);

# Fields that pcap_read's packet may have where tshark shows none, and why;
# each is a test on (tshark's fields, our fields).
my @ALLOWED = (
	[ 'seq', 'the TCP header has 8 to 15 bytes, or a data offset below 5 words: the decoder keeps the sequence number (Mirai\'s mark), tshark needs 16 bytes or stops at the offset',
	  sub { my ($t, $o) = @_; $o->{flags} eq '' } ],
	[ 'dst', 'IPv4 options that run past the data: tshark looks for a source route option before it shows the destination',
	  sub { my ($t, $o) = @_; $t->{'ip.src'} ne '' && $o->{sport} eq '' } ],
	[ 'time_ns', 'a simple packet block has no time: tshark shows none, the decoder 0 (1970-01-01)',
	  sub { my ($t, $o) = @_; $o->{time_ns} eq '0' } ],
);

# Packets tshark shows that pcap_read skips, and why.
my @SKIPPED = (
	[ 'the snaplen cut the frame inside its IP header: tshark shows the fields before the cut, the decoder skips the frame ("short")',
	  sub { my ($t) = @_; $t->{'frame.cap_len'} < $t->{'frame.len'}
			  && ($t->{'ip.src'} ne '' ? $t->{'ip.dst'} eq '' && $t->{'ip.hdr_len'} <= 20
				  : $t->{'ipv6.dst'} eq '') } ],
);

my @TFIELDS = qw(frame.number frame.protocols frame.time_epoch frame.len frame.cap_len
  ip.hdr_len ip.src ip.dst ip.ttl ip.id ip.proto ip.flags.mf ip.frag_offset
  ipv6.src ipv6.dst ipv6.hlim ipv6.fraghdr.offset ipv6.fraghdr.more
  tcp.srcport tcp.dstport tcp.seq_raw tcp.ack_raw tcp.flags tcp.window_size_value
  udp.srcport udp.dstport vlan.id ieee8021ad.id);
my @TSHARK = ('tshark', '-n', '-T', 'fields', '-E', 'header=n', '-E', 'separator=/t',
	'-E', 'occurrence=f', '-o', 'tcp.desegment_tcp_streams:false',
	'-o', 'ip.defragment:false', '-o', 'ipv6.defragment:false',
	map { ('-e', $_) } @TFIELDS);
my @OFIELDS = qw(n time_ns ipver src dst proto sport dport seq ack flags window ttl ipid
  len caplen vlan is_fragment);

system("mkdir -p '$work'") == 0 or die;
my $version = `tshark --version 2>/dev/null` =~ /^TShark \(Wireshark\) (\S+)/ ? $1 : undef;
plan skip_all => 'tshark is not installed (test/deps.sh installs it)' unless defined $version;

# ---- the list ---------------------------------------------------------
my @files;
opendir(my $dh, $dir) or die "$dir: $!\n";
push @files, sort grep { -f "$dir/$_.counts" && -f "$dir/$_" } readdir($dh);
closedir($dh);
push @files, map { "corpus/$_" } @CORPUS;
push @files, split(' ', $ENV{TSHARK_FILES} // '');
@files = grep { -f "$dir/$_" } @files;

# ---- tshark, two at a time, or from the cache -------------------------
sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or return undef;
	local $/;
	my $s = <$fh>;
	return $s;
}

# The bytes tshark reads: a gzip file's content when it inflates whole (a
# gzip'd fixture and its plain twin then share one run of tshark).
sub content
{
	my ($path) = @_;
	my $raw = slurp($path) // '';
	return $raw unless substr($raw, 0, 2) eq "\x1f\x8b";
	my $plain;
	return gunzip(\$raw => \$plain, MultiStream => 1, Strict => 1) ? $plain : $raw;
}

my %tshark;						# file => { rc, out, err }
my (@todo, %queued);
for my $f (@files)
{
	my $key = sha256_hex(content("$dir/$f") . "\0$version\0" . join(' ', @TSHARK));
	my $base = ($cache // $work) . "/$key";
	$tshark{$f} = { base => $base };
	push @todo, $f unless ($cache && -f "$base.rc") || $queued{$base}++;
}
system("mkdir -p '$cache'") if $cache;
my %running;
while (@todo || %running)
{
	while (@todo && keys(%running) < 2)
	{
		my $f = shift @todo;
		my $base = $tshark{$f}{base};
		my $pid = fork() // die "fork: $!\n";
		if ($pid == 0)
		{
			open(STDOUT, '>', "$base.out.tmp") or die;
			open(STDERR, '>', "$base.err.tmp") or die;
			exec(@TSHARK, '-r', "$dir/$f") or exit 127;
		}
		$running{$pid} = $f;
	}
	my $pid = wait();
	last if $pid < 0;
	my $f = delete $running{$pid} or next;
	my $base = $tshark{$f}{base};
	rename("$base.out.tmp", "$base.out");
	rename("$base.err.tmp", "$base.err");
	open(my $fh, '>', "$base.rc") or die;
	print $fh ($? >> 8), "\n";
	close($fh);
}
for my $f (@files)
{
	my $b = $tshark{$f}{base};
	$tshark{$f}{rc} = (slurp("$b.rc") // "1\n") + 0;
	$tshark{$f}{out} = slurp("$b.out") // '';
	$tshark{$f}{err} = slurp("$b.err") // '';
	# a capture to tshark, not an image or a media file it also reads
	my $head = substr(slurp("$dir/$f") // '', 0, 4);
	$tshark{$f}{capture} = $head =~ /^(\xd4\xc3\xb2\xa1|\xa1\xb2\xc3\xd4|\x4d\x3c\xb2\xa1|\xa1\xb2\x3c\x4d|\x34\xcd\xb2\xa1|\xa1\xb2\xcd\x34|\x0a\x0d\x0d\x0a|\x1f\x8b)/s;
	$tshark{$f}{whole} = $tshark{$f}{capture} && $tshark{$f}{rc} == 0
	  && $tshark{$f}{err} !~ /tshark: The file|appears to|isn't a capture file|doesn't support/;
}

# ---- pcap_read, one session -------------------------------------------
my $db = 'mirai_t073';
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create a database with the extension');
$ENV{PGDATABASE} = $db;
END { system("dropdb --if-exists $db >/dev/null 2>&1") if defined $db; }

my $script = "$work/read.sql";
open(my $sq, '>', $script) or die "$script: $!\n";
print $sq "\\set VERBOSITY terse\n\\pset format unaligned\n\\pset tuples_only on\n\\pset fieldsep '\\t'\n\\pset null ''\n";
for my $i (0 .. $#files)
{
	(my $q = "$sqldir/$files[$i]") =~ s/'/''/g;
	print $sq "\\warn @@@ $i\n\\o $work/rows.$i\n";
	print $sq "SELECT n, time_ns, ipver, host(src), host(dst), proto, sport, dport, seq, ack, flags, \"window\", ttl, ipid, len, caplen, vlan, is_fragment "
	  . "FROM pcap_read('$q') WITH ORDINALITY AS t(p, n), packet_fields(p) ORDER BY n;\n\\o\n";
}
close($sq);
my $log = `PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=0 -f '$script' 2>&1`;
my %sqlerr;
for my $part (split(/^@@@ /m, $log))
{
	next unless $part =~ /^(\d+)\n(.*)/s;
	my ($i, $text) = ($1, $2);
	$sqlerr{ $files[$i] } = $text if $text =~ /ERROR:/;
}
unlike($log, qr/ERROR:  (syntax|column|function)/, 'the queries of pcap_read run') or diag($log);

# ---- compare -----------------------------------------------------------

# tshark's frame.time_epoch (seconds, then the nanoseconds as printed) in ns
sub epoch_ns
{
	my ($s) = @_;
	return undef unless defined $s && $s =~ /^(\d+)\.(\d+)$/;
	return $1 * 1000000000 + $2;
}

# the outermost IP layer of frame.protocols and what follows it ("ip:ipv6"
# without an IPv4 source is an IPv6 header behind an IPv4 type, which
# Wireshark, as the decoder, reads as IPv6)
sub outer
{
	my ($protocols, $v4src) = @_;
	my @p = split(/:/, $protocols);
	for my $i (0 .. $#p)
	{
		next unless $p[$i] eq 'ip' || $p[$i] eq 'ipv6';
		next if $p[$i] eq 'ip' && $v4src eq '' && ($p[$i + 1] // '') eq 'ipv6';
		my $j = $i + 1;
		$j++ while $j <= $#p && $p[$j] =~ /^ipv6\./;
		return ($p[$i], $p[$j] // '');
	}
	return ('', '');
}

my ($whole, $read_ok) = (0, 0);
for my $f (@files)
{
	my $t = $tshark{$f};
	my $why = $RECORD_RULES{$f};
	next unless $t->{whole} || defined $sqlerr{$f};
	if ($t->{whole} && !$why)
	{
		$whole++;
		ok(!defined $sqlerr{$f}, "$f: tshark reads it whole, so does pcap_read")
		  or diag($sqlerr{$f});
	}
	next if defined $sqlerr{$f} || !$t->{whole};
	if ($OTHER_ORACLE{$f})
	{
		note("$f: packets not compared: $OTHER_ORACLE{$f}");
		next;
	}

	# tshark's packets, by kind
	my (%tk);
	for my $line (split /\n/, $t->{out})
	{
		my @v = split /\t/, $line, -1;
		my %r;
		@r{@TFIELDS} = map { $_ // '' } @v[0 .. $#TFIELDS];
		my ($ip, $next) = outer($r{'frame.protocols'}, $r{'ip.src'});
		next if grep { $_->[1]->(\%r) } @SKIPPED;
		# the outermost VLAN tag: 802.1ad or 802.1Q, whichever comes first
		$r{vlan} = $r{'frame.protocols'} =~ /^(?:(?!vlan).)*ieee8021ad/ ? $r{'ieee8021ad.id'} : $r{'vlan.id'};
		if ($ip eq 'ip' && $r{'ip.src'} ne '')
		{
			push @{ $tk{v4} }, \%r;
			push @{ $tk{tcp} }, \%r if $next eq 'tcp' && $r{'tcp.srcport'} ne '';
			$r{udp} = $next eq 'udp';
		}
		elsif ($ip eq 'ipv6' && $r{'ipv6.src'} ne '')
		{
			push @{ $tk{v6} }, \%r;
			$r{tcp} = $next eq 'tcp';
			$r{udp} = $next eq 'udp';
		}
	}
	# ours
	my (%ok);
	for my $line (split /\n/, slurp("$work/rows." . (grep { $files[$_] eq $f } 0 .. $#files)[0]) // '')
	{
		my %o;
		@o{@OFIELDS} = map { $_ // '' } split(/\t/, $line, -1);
		if ($o{ipver} == 4)
		{
			push @{ $ok{v4} }, \%o;
			push @{ $ok{tcp} }, \%o if $o{proto} == 6 && $o{sport} ne '';
		}
		else
		{
			push @{ $ok{v6} }, \%o;
		}
	}

	my @diffs;
	my $cmp = sub {
		my ($kind, $i, $name, $theirs, $ours, $t, $o) = @_;
		return if $theirs eq $ours;
		# a record cut to the snapshot length: tshark reads it whole
		return if $ours eq '' && $why && $why =~ /snapshot length/;
		if ($theirs eq '')
		{
			for my $a (@ALLOWED)
			{
				return if $a->[0] eq $name && $a->[2]->($t, $o);
			}
		}
		push @diffs, "$kind packet $i (frame $t->{'frame.number'}): $name tshark '$theirs', pcap_read '$ours'";
	};
	my $common = sub {
		my ($kind, $i, $t, $o) = @_;
		$cmp->($kind, $i, 'time_ns', epoch_ns($t->{'frame.time_epoch'}) // '', $o->{time_ns}, $t, $o);
		$cmp->($kind, $i, 'len', $t->{'frame.len'}, $o->{len}, $t, $o);
		$cmp->($kind, $i, 'caplen', $t->{'frame.cap_len'}, $o->{caplen}, $t, $o)
		  unless $why && $why =~ /snapshot length/;
		$cmp->($kind, $i, 'vlan', $t->{vlan}, $o->{vlan}, $t, $o);
	};
	for my $kind (qw(tcp v4 v6))
	{
		my @t = @{ $tk{$kind} // [] };
		my @o = @{ $ok{$kind} // [] };
		if (@t != @o)
		{
			push @diffs, sprintf("%s packets: tshark %d, pcap_read %d", $kind, scalar @t, scalar @o);
			next;
		}
		for my $i (0 .. $#t)
		{
			my ($t, $o) = ($t[$i], $o[$i]);
			$common->($kind, $i, $t, $o);
			if ($kind eq 'v6')
			{
				$cmp->($kind, $i, 'src', $t->{'ipv6.src'}, $o->{src}, $t, $o);
				$cmp->($kind, $i, 'dst', $t->{'ipv6.dst'}, $o->{dst}, $t, $o);
				$cmp->($kind, $i, 'ttl', $t->{'ipv6.hlim'}, $o->{ttl}, $t, $o);
				# an atomic fragment (offset 0, M = 0) is not a fragment
				my $frag = (($t->{'ipv6.fraghdr.offset'} || 0) > 0
					|| $t->{'ipv6.fraghdr.more'} =~ /^(1|True)$/) ? 't' : 'f';
				$cmp->($kind, $i, 'is_fragment', $frag, $o->{is_fragment}, $t, $o);
				if ($t->{tcp} && $t->{'tcp.srcport'} ne '')
				{
					$cmp->($kind, $i, 'sport', $t->{'tcp.srcport'}, $o->{sport}, $t, $o);
					$cmp->($kind, $i, 'dport', $t->{'tcp.dstport'}, $o->{dport}, $t, $o);
					$cmp->($kind, $i, 'seq', $t->{'tcp.seq_raw'}, $o->{seq}, $t, $o);
				}
				$cmp->($kind, $i, 'sport', $t->{'udp.srcport'}, $o->{sport}, $t, $o) if $t->{udp};
				next;
			}
			$cmp->($kind, $i, 'src', $t->{'ip.src'}, $o->{src}, $t, $o);
			$cmp->($kind, $i, 'dst', $t->{'ip.dst'}, $o->{dst}, $t, $o);
			$cmp->($kind, $i, 'ttl', $t->{'ip.ttl'}, $o->{ttl}, $t, $o);
			$cmp->($kind, $i, 'ipid', $t->{'ip.id'} eq '' ? '' : hex($t->{'ip.id'}), $o->{ipid}, $t, $o);
			$cmp->($kind, $i, 'proto', $t->{'ip.proto'}, $o->{proto}, $t, $o);
			my $frag = ($t->{'ip.flags.mf'} =~ /^(1|True)$/ || ($t->{'ip.frag_offset'} || 0) > 0) ? 't' : 'f';
			$cmp->($kind, $i, 'is_fragment', $frag, $o->{is_fragment}, $t, $o);
			if ($t->{udp} && $kind eq 'v4')
			{
				$cmp->($kind, $i, 'sport', $t->{'udp.srcport'}, $o->{sport}, $t, $o);
				$cmp->($kind, $i, 'dport', $t->{'udp.dstport'}, $o->{dport}, $t, $o);
			}
			next unless $kind eq 'tcp';
			$cmp->($kind, $i, 'sport', $t->{'tcp.srcport'}, $o->{sport}, $t, $o);
			$cmp->($kind, $i, 'dport', $t->{'tcp.dstport'}, $o->{dport}, $t, $o);
			$cmp->($kind, $i, 'seq', $t->{'tcp.seq_raw'}, $o->{seq}, $t, $o);
			$cmp->($kind, $i, 'ack', $t->{'tcp.ack_raw'}, $o->{ack}, $t, $o);
			$cmp->($kind, $i, 'flags', $t->{'tcp.flags'} eq '' ? '' : hex($t->{'tcp.flags'}) & 0x1ff,
				$o->{flags}, $t, $o);
			$cmp->($kind, $i, 'window', $t->{'tcp.window_size_value'}, $o->{window}, $t, $o);
		}
	}
	my $n = scalar @{ $tk{tcp} // [] };
	ok(!@diffs, "$f: $n IPv4 TCP packets, and the other IP packets, equal tshark's field by field"
		  . ($why ? " (but for the captured length: $why)" : ''))
	  or diag(join("\n", @diffs[0 .. ($#diffs < 9 ? $#diffs : 9)]));
	$read_ok++;
}
ok($whole >= 30, "tshark reads $whole of the " . scalar(@files) . " files whole");
for my $f (sort keys %RECORD_RULES)
{
	next unless $tshark{$f};
	ok($tshark{$f}{whole}, "$f: tshark reads it whole; pcap_read follows libpcap: $RECORD_RULES{$f}")
	  or diag($tshark{$f}{err});
}
done_testing();
