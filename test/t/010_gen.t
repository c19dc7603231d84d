#!/usr/bin/perl
#
# 010_gen.t
#	  Check the capture-file generator (src/bin/mirai_gen) against
#	  tcpdump/libpcap: every count that mirai_gen --counts reports must be
#	  what tcpdump reads and what its BPF filters match, output must be
#	  reproducible, and libpcap's known limits must show up as expected.
#
# Environment: MIRAI_GEN = path of the built generator
#			   (default src/bin/mirai_gen, relative to the current directory).
# Needs tcpdump (4.99 / libpcap 1.10) and zcat in PATH.
#
# test/t/010_gen.t
#
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use File::Path qw(rmtree);
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell qw(shq);

my $gen = $ENV{MIRAI_GEN} || 'src/bin/mirai_gen';

if (system('tcpdump --version >/dev/null 2>&1') != 0)
{
	plan skip_all => 'tcpdump not available';
}
if (!-x $gen)
{
	BAIL_OUT("generator $gen not found or not executable (build it, or set MIRAI_GEN)");
}

my $tmp = `mktemp -d`;
chomp $tmp;
die "mktemp -d failed\n" if $? != 0 || !-d $tmp;

END
{
	rmtree($tmp) if defined $tmp && -d $tmp;
}

my $MIRAI_BPF = 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535';
my $START = '1734134400.123456789';
my $fileno = 0;

# Next fresh file name in the temporary directory.
sub tmpfile
{
	my ($suffix) = @_;
	$fileno++;
	return "$tmp/f$fileno$suffix";
}

# Run the generator with --counts; returns (exit status, counts hash, stderr).
sub gen
{
	my ($file, @args) = @_;
	my $err = "$tmp/gen.err";
	my $cmd = join(' ', map { shq($_) } ($gen, @args, '--counts', '-o', $file))
	  . ' 2>' . shq($err);
	system($cmd);
	my $rc = $? >> 8;
	open(my $fh, '<', $err) or die "cannot read $err: $!";
	local $/;
	my $text = <$fh>;
	close($fh);
	my %c;
	if ($text =~ /^(\{.*\})\s*$/m)
	{
		my $json = $1;
		while ($json =~ /"(\w+)":(\d+)/g)
		{
			$c{$1} = $2;
		}
	}
	return ($rc, \%c, $text);
}

# Run tcpdump on a file (through zcat if gz); returns (lines, exit, stderr).
sub tcpdump
{
	my ($file, $gz, $opts, $filter) = @_;
	my $err = "$tmp/tcpdump.err";
	my $cmd =
	  $gz
	  ? 'zcat ' . shq($file) . " | tcpdump $opts -r -"
	  : 'tcpdump ' . $opts . ' -r ' . shq($file);
	$cmd .= ' ' . shq($filter) if defined $filter;
	$cmd .= ' 2>' . shq($err);
	my @lines = `$cmd`;
	my $rc = $? >> 8;
	open(my $fh, '<', $err) or die "cannot read $err: $!";
	local $/;
	my $text = <$fh>;
	close($fh);
	return (scalar(@lines), $rc, $text, \@lines);
}

# Read a whole file as bytes.
sub slurp
{
	my ($file) = @_;
	open(my $fh, '<:raw', $file) or die "cannot read $file: $!";
	local $/;
	my $d = <$fh>;
	close($fh);
	return $d;
}

# Generate a file and compare its counts with tcpdump: records, ip4_tcp
# (or ip6_tcp on the IPv6-only link type) and mirai.
sub check_counts
{
	my ($name, $gz, $prefix, $v6only, @args) = @_;
	my $file = tmpfile($gz ? '.gz' : '');
	my ($rc, $c, $err) = gen($file, @args, $gz ? ('--gzip') : ());

	if ($rc != 0 || !defined $c->{records})
	{
		fail("$name: generator ran") for 1 .. 3;
		diag($err);
		return;
	}
	my ($n) = tcpdump($file, $gz, '-nn');
	is($n, $c->{records}, "$name: tcpdump reads all records");
	if ($v6only)
	{
		($n) = tcpdump($file, $gz, '-nn', 'ip6 and tcp');
		is($n, $c->{ip6_tcp}, "$name: 'ip6 and tcp' = ip6_tcp");
		ok($c->{mirai} == 0 && $c->{ip4} == 0, "$name: no IPv4 on an IPv6-only link");
		return;
	}
	($n) = tcpdump($file, $gz, '-nn', "${prefix}ip and tcp");
	is($n, $c->{ip4_tcp}, "$name: '${prefix}ip and tcp' = ip4_tcp");
	($n) = tcpdump($file, $gz, '-nn', "$prefix$MIRAI_BPF");
	is($n, $c->{mirai}, "$name: mirai BPF = mirai");
}

# ---- the format x link type x gzip matrix ----
my @links = (
	[ 'ether',      '',                   0, '-l', 'ether' ],
	[ 'ether-big',  '',                   0, '-l', 'ether', '--byte-order', 'big' ],
	[ 'vlan',       'vlan and ',          0, '-l', 'ether', '--vlan', '100' ],
	[ 'qinq',       'vlan and vlan and ', 0, '-l', 'ether', '--qinq', '100,200' ],
	[ 'sll',        '',                   0, '-l', 'sll' ],
	[ 'sll2',       '',                   0, '-l', 'sll2' ],
	[ 'raw',        '',                   0, '-l', 'raw' ],
	[ 'raw12',      '',                   0, '-l', 'raw12' ],
	[ 'ipv4',       '',                   0, '-l', 'ipv4' ],
	[ 'ipv6',       '',                   1, '-l', 'ipv6' ],
	[ 'null',       '',                   0, '-l', 'null' ],
	[ 'null-big',   '',                   0, '-l', 'null', '--byte-order', 'big' ],
	[ 'loop',       '',                   0, '-l', 'loop' ],
	[ 'loop-big',   '',                   0, '-l', 'loop', '--byte-order', 'big' ],
);

my $seed = 100;
for my $fmt (qw(pcap pcap-ns pcapng))
{
	for my $l (@links)
	{
		my ($lname, $prefix, $v6only, @largs) = @$l;
		for my $gz (0, 1)
		{
			$seed++;
			check_counts("$fmt/$lname" . ($gz ? '/gzip' : ''),
				$gz, $prefix, $v6only,
				'-n', '2000', '-s', $seed, '-f', $fmt, @largs,
				'--frag', '0.05', '--ip-options', '0.05');
		}
	}
}

# ---- link types and encapsulations libpcap's filters follow ----
# (PKTAP, NFLOG and IPoIB, which libpcap cannot filter, Frame Relay, whose
# IP header libpcap's filters look for 4 bytes early, 802.1ah, VN-Tag and
# Arista's time stamp, which it has no keyword for, and --link-variants are
# test/t/022_links.t's, beside tshark)
for my $l (
	[ 'ppp',        '',                              '-l', 'ppp' ],
	[ 'ppp-hdlc',   '',                              '-l', 'ppp-hdlc' ],
	[ 'chdlc',      '',                              '-l', 'chdlc' ],
	[ 'fddi',       '',                              '-l', 'fddi' ],
	[ 'arcnet',     '',                              '-l', 'arcnet' ],
	[ 'arcnet-bsd', '',                              '-l', 'arcnet-bsd' ],
	[ 'wlan',       '',                              '-l', 'wlan' ],
	[ 'radiotap',   '',                              '-l', 'radiotap' ],
	[ 'ppi',        '',                              '-l', 'ppi' ],
	[ 'ipnet',      '',                              '-l', 'ipnet' ],
	[ 'pppoe',      'pppoes and ',                   '--pppoe', '4660' ],
	[ 'pppoe/qinq', 'vlan and vlan and pppoes and ', '--pppoe', '4660', '--qinq', '100,200' ],
	[ 'mpls',       'mpls and mpls and ',            '--mpls', '1000,2000' ],
	[ 'mpls/ppp',   'mpls and ',                     '-l', 'ppp', '--mpls', '17' ],
	[ 'mpls/chdlc', 'mpls and ',                     '-l', 'chdlc', '--mpls', '17' ])
{
	my ($lname, $prefix, @largs) = @$l;
	$seed++;
	check_counts("links/$lname", 0, $prefix, 0, '-n', '1000', '-s', $seed, @largs,
		'--non-ip', '0.1', '--ipv6', '0.1', '--frag', '0.05', '--ip-options', '0.05');
}

# ---- the counts are meaningful ----
{
	my $file = tmpfile('');
	my ($rc, $c) = gen($file, '-n', '2000', '--frag', '0.05', '--ip-options', '0.05');
	is($rc, 0, 'generator exits 0');
	my @keys = qw(records ip4 ip6 ip4_tcp mirai non_ip fragments);
	ok(!(grep { !defined $c->{$_} } @keys), '--counts has records ip4 ip6 ip4_tcp mirai non_ip fragments');
	ok($c->{mirai} > 1000 && $c->{mirai} < $c->{ip4_tcp}, 'mirai is most, not all, of ip4_tcp');
	ok($c->{fragments} > 0 && $c->{non_ip} > 0 && $c->{ip6} > 0 && $c->{ip4_options} > 0,
		'fragments, non-IP, IPv6 and IP options present');
	is($c->{records}, $c->{ip4} + $c->{ip6} + $c->{non_ip}, 'records = ip4 + ip6 + non_ip');
	my $slurp = slurp("$tmp/gen.err");
	like($slurp, qr/"linktypes":\{"ether":2000\}/, 'per link type counts');
	# non-first fragments are in 'ip and tcp' but never in the mirai filter
	my ($n) = tcpdump($file, 0, '-nn', 'ip and tcp and ip[6:2] & 0x1fff != 0');
	ok($n > 0, 'some non-first TCP fragments are generated');
	# near misses exist: seq == dst with a source port <= 1024
	($n) = tcpdump($file, 0, '-nn', 'tcp[4:4] = ip[16:4] and tcp src portrange 0-1024');
	ok($n > 0, 'near misses with source port <= 1024 are generated');
	# Mirai frames are 54 bytes on Ethernet, not padded
	my ($plain) = tcpdump($file, 0, '-nn', "$MIRAI_BPF and ip[0] = 0x45");
	($n) = tcpdump($file, 0, '-nn', "$MIRAI_BPF and ip[0] = 0x45 and len = 54");
	ok($plain > 1000 && $n == $plain, 'Mirai SYNs without IP options are 54-byte frames');
	# checksums
	my (undef, undef, undef, $lines) = tcpdump($file, 0, '-nn -vv', 'ip and (tcp or udp) and ip[6:2] & 0x3fff = 0');
	ok(!(grep { /incorrect/ } @$lines), 'TCP/UDP checksums are correct');
}

# ---- reproducibility ----
{
	my @variants = (
		[ 'pcap',   '-n', '500' ],
		[ 'pcapng', '-n', '500', '-f', 'pcapng', '-l', 'ether,raw,null', '--sections', '3',
		  '--unknown-blocks', '--byte-order', 'mixed', '--pcapng-blocks', 'epb,opb',
		  '--tsresol', '0x8a', '--tsoffset', '1000' ],
		[ 'gzip',   '-n', '500', '-z', '-f', 'pcap-ns', '-l', 'sll2' ],
		[ 'links',  '-n', '500', '-f', 'pcapng', '--link-variants', '--pppoe', '7',
		  '-l', 'ether,ppp,ppp-hdlc,chdlc,fddi,arcnet,arcnet-bsd,wlan,radiotap,ppi,pktap,ipnet,nflog' ],
		[ 'encaps', '-n', '500', '--vntag', '5', '--qinq', '1,2', '--pbb', '9', '--pppoe', '7',
		  '--mpls', '16,17' ],
	);
	for my $v (@variants)
	{
		my ($name, @args) = @$v;
		my ($a, $b, $c) = (tmpfile(''), tmpfile(''), tmpfile(''));
		gen($a, @args, '-s', '7');
		gen($b, @args, '-s', '7');
		gen($c, @args, '-s', '8');
		ok(slurp($a) eq slurp($b), "$name: same seed, byte-identical file");
		ok(slurp($a) ne slurp($c), "$name: different seed, different file");
	}
	my $a = tmpfile('');
	gen($a, '-n', '300', '-s', '9');
	my $out = `@{[shq($gen)]} -n 300 -s 9 -o - 2>/dev/null`;
	ok($out eq slurp($a), '-o - writes the same bytes to stdout');

	# Golden digests: the same seed must give these bytes on every machine.
	# (Update them only on purpose, when the generated traffic changes.)
	my $g1 = tmpfile('');
	gen($g1, '-n', '200', '-s', '42');
	my $g2 = tmpfile('');
	gen($g2, '-n', '200', '-s', '42', '-f', 'pcapng', '-l', 'sll,loop', '--byte-order', 'big',
		'--tsresol', '9', '--rate', '3.5', '--start', $START, '--frag', '0.2',
		'--ip-options', '0.2', '--non-ip', '0.1');
	is(sha256_hex(slurp($g1)), '65e026214d76a927b7c284ebff3b174ad4ce046071aa4ac24e1b812fddef9041', 'golden pcap digest');
	is(sha256_hex(slurp($g2)), '428415ff4c9c35dc40430bb9ec14952ab642ea781b16e1e981758f9edebfeceb', 'golden pcapng digest');
}

# ---- truncated last record ----
for my $v ([ 'pcap', 0 ], [ 'pcapng', 0 ], [ 'pcap', 1 ], [ 'pcapng', 1 ])
{
	my ($fmt, $gz) = @$v;
	my $name = "$fmt" . ($gz ? '/gzip' : '') . ' --truncate-last';
	my $file = tmpfile($gz ? '.gz' : '');
	my ($rc, $c) = gen($file, '-n', '300', '-f', $fmt, '--truncate-last', '10', $gz ? ('-z') : ());
	is($c->{truncated_records}, 1, "$name: one record cut");
	my ($n, $trc, $err) = tcpdump($file, $gz, '-nn');
	is($n, 299, "$name: tcpdump reads all records but the last");
	is($c->{records}, 299, "$name: counts exclude the cut record");
	ok($trc != 0 && $err =~ /truncated/, "$name: tcpdump reports a truncated file");
}

# ---- old pcap versions and Kuznetzov's format ----
# --snaplen 96 makes caplen differ from len (so swapped fields matter) while
# keeping every header the filters read (up to 14 + 60 + 8 bytes).
for my $v ([ '2.2', '--pcap-version', '2.2' ], [ '2.0', '--pcap-version', '2.0' ],
		   [ '2.3', '--pcap-version', '2.3' ],
		   [ 'kuznetzov', '--kuznetzov' ], [ 'kuznetzov-big', '--kuznetzov', '--byte-order', 'big' ],
		   [ '2.2-big', '--pcap-version', '2.2', '--byte-order', 'big' ])
{
	my ($name, @args) = @$v;
	check_counts("pcap $name", 0, '', 0, '-n', '1000', '--snaplen', '96',
		'--frag', '0.05', '--ip-options', '0.05', @args);
}
{
	my $file = tmpfile('');
	my ($rc, $c) = gen($file, '-n', '1000', '--snaplen', '96', '--pcap-version', '2.2');
	ok($c->{snapped} > 0, '--snaplen cut some records');
	my ($n) = tcpdump($file, 0, '-nn', 'greater 97');
	is($n, $c->{snapped}, 'tcpdump sees the wire length of the cut records');
}

# ---- pcapng specifics ----
{
	my $file = tmpfile('');
	my ($rc, $c) = gen($file, '-n', '500', '-f', 'pcapng', '-l', 'ether,raw');
	is($c->{records}, 500, 'mixed link type pcapng generated');
	my ($n, $trc, $err) = tcpdump($file, 0, '-nn');
	ok($trc != 0 && $err =~ /different from the type of the first interface/,
		'libpcap 1.10 refuses a pcapng with mixed link types');
}
{
	my $file = tmpfile('');
	my ($rc, $c) = gen($file, '-n', '500', '-f', 'pcapng', '--sections', '2', '--byte-order', 'mixed');
	my ($n, $trc, $err) = tcpdump($file, 0, '-nn');
	# libpcap reads the next SHB's length in the old byte order, so it fails
	# with "pcapng block size ... > maximum" before its own byte-order check
	ok($n == 250 && $trc != 0 && $err =~ /pcapng block size \d+ > maximum|different byte orders/,
		'libpcap 1.10 stops at a section with another byte order');
}
for my $v (
	[ 'sections+unknown-blocks', '.123456', '--sections', '3', '--unknown-blocks' ],
	[ 'sections+unknown-blocks big', '.123456', '--sections', '3', '--unknown-blocks', '--byte-order', 'big' ],
	[ 'epb,spb,opb', '.123456', '--pcapng-blocks', 'epb,spb,opb' ],
	[ 'tsresol 9', '.123456', '--tsresol', '9' ],
	[ 'tsresol 3', '.123000', '--tsresol', '3' ],
	[ 'tsresol 0x8a', '.123046', '--tsresol', '0x8a' ],
	[ 'tsoffset 1000', '.123456', '--tsoffset', '1000' ],
	[ 'tsoffset 1000 tsresol 9', '.123456', '--tsoffset', '1000', '--tsresol', '9' ],
	[ 'tsoffset -1000', '.123456', '--tsoffset', '-1000' ])
{
	my ($name, $frac, @args) = @$v;
	check_counts("pcapng $name", 0, '', 0, '-n', '2000', '-f', 'pcapng', '--start', $START,
		'--frag', '0.05', @args);
	my $file = "$tmp/f$fileno";
	my (undef, undef, undef, $lines) = tcpdump($file, 0, '-tt -nn -c1');
	like($lines->[0] // '', qr/^1734134400\Q$frac\E /, "pcapng $name: first timestamp");
}
{
	# SPB records have no timestamp: libpcap reports 0
	my $file = tmpfile('');
	gen($file, '-n', '3', '-f', 'pcapng', '--pcapng-blocks', 'spb');
	my (undef, undef, undef, $lines) = tcpdump($file, 0, '-tt -nn -c1');
	like($lines->[0] // '', qr/^0\.000000 /, 'pcapng spb: libpcap gives time 0');
}
{
	# nanosecond pcap keeps the nanoseconds
	my $file = tmpfile('');
	gen($file, '-n', '3', '-f', 'pcap-ns', '--start', $START);
	my (undef, undef, undef, $lines) = tcpdump($file, 0, '--time-stamp-precision=nano -tt -nn -c1');
	like($lines->[0] // '', qr/^1734134400\.123456789 /, 'pcap-ns: nanosecond first timestamp');
}
{
	my $file = tmpfile('');
	my ($rc, $c) = gen($file, '-n', '100', '-f', 'pcapng', '-l', 'ether,unknown');
	ok($c->{skipped} == 50 && $c->{records} == 100, 'unknown link type records are counted as skipped');
}

# ---- --schedule: exact records per window, exact Mirai packets per source ----
{
	my $sched = "$tmp/s.sched";
	open(my $fh, '>', $sched) or die "cannot write $sched: $!";
	print $fh <<'EOS';
# two windows with sources, an empty one, one without Mirai packets
window 1734188400 1734220800 3000   # 15:00 .. 24:00 JST
198.51.100.10 1200
192.0.2.99 7
198.51.100.10 3
window 1734220800 1734220800.5 0
window 1734220801 1734224400 400
198.51.100.20 400
window 1734224400.25 1734228000 500
EOS
	close($fh);
	for my $fmt ([ 'pcap', 0 ], [ 'pcapng', 1 ])
	{
		my ($name, $gz) = @$fmt;
		my $file = tmpfile($gz ? '.gz' : '');
		my ($rc, $c, $err) = gen($file, '--schedule', $sched, '-f', $name, '--frag', '0.05',
			$gz ? ('-z') : ());
		is($rc, 0, "schedule $name: generator ran") or diag($err);
		is($c->{records}, 3900, "schedule $name: records are the windows' sum");
		is($c->{mirai}, 1610, "schedule $name: Mirai packets are the sources' sum");
		my (undef, undef, undef, $all) = tcpdump($file, $gz, '-tt -nn');
		my @t = map { /^(\d+\.\d+) / ? $1 : -1 } @$all;
		is(scalar(@t), 3900, "schedule $name: tcpdump reads every record");
		is_deeply([ sort { $a <=> $b } @t ], \@t, "schedule $name: times are in order");
		my @per = (0, 0, 0);
		for my $t (@t)
		{
			$per[0]++ if $t >= 1734188400 && $t < 1734220800;
			$per[1]++ if $t >= 1734220801 && $t < 1734224400;
			$per[2]++ if $t >= 1734224400.25 && $t < 1734228000;
		}
		is_deeply(\@per, [ 3000, 400, 500 ], "schedule $name: records per window");
		my (undef, undef, undef, $m) = tcpdump($file, $gz, '-tt -nn', $MIRAI_BPF);
		my %src;
		for (@$m)
		{
			my ($t, $s) = /^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\./ or next;
			my $w = $t < 1734220800 ? 1 : $t < 1734224400 ? 2 : 3;
			$src{"$w $s"}++;
		}
		is_deeply(\%src, { '1 198.51.100.10' => 1203, '1 192.0.2.99' => 7, '2 198.51.100.20' => 400 },
			"schedule $name: Mirai packets per window and source, as tcpdump counts them");
	}
	my ($a, $b) = (tmpfile(''), tmpfile(''));
	gen($a, '--schedule', $sched, '-s', '3');
	gen($b, '--schedule', $sched, '-s', '3');
	ok(slurp($a) eq slurp($b), 'schedule: same seed, byte-identical file');

	my @bad = (
		[ "window 10 20 5\n198.51.100.1 6\n", 'more Mirai packets than records' ],
		[ "window 10 20 5\nwindow 15 30 5\n", 'overlapping windows' ],
		[ "window 20 10 5\n", 'a window that ends before it starts' ],
		[ "198.51.100.1 6\n", 'a source before any window' ],
		[ "window 10 20 5\n203.0.113.7 1\n", "the honeypot's address as a source" ],
		[ "window 10 20 5\n198.51.100.300 1\n", 'a malformed address' ]);
	for my $v (@bad)
	{
		my ($text, $what) = @$v;
		open(my $bf, '>', "$tmp/bad.sched") or die;
		print $bf $text;
		close($bf);
		my ($rc, undef, $err) = gen(tmpfile(''), '--schedule', "$tmp/bad.sched");
		ok($rc == 1 && $err =~ /^mirai_gen: .*bad\.sched:\d+: /m, "schedule with $what: exit 1, file and line named");
	}
	my ($rc, undef, $err) = gen(tmpfile(''), '--schedule', $sched, '-n', '10');
	ok($rc == 2 && $err =~ /--schedule/, 'schedule with -n: exit 2');
}

# ---- invalid options ----
for my $bad ([ '--bogus' ], [ '-n', 'abc' ], [ '-f', 'pcapx' ], [ '-l', 'ether,raw' ],
			 [ '-l', 'token' ], [ '--tsresol', '9' ], [ '-f', 'pcapng', '--kuznetzov' ],
			 [ '-f', 'pcapng', '-l', 'ether,raw', '--pcapng-blocks', 'spb' ],
			 [ '--mirai', '2' ], [ '--vlan', '100', '-l', 'raw' ], [ '--pcap-version', '3.0' ],
			 [ '--pppoe', '1', '-l', 'raw' ], [ '--pbb', '1', '-l', 'ppp' ], [ '--vntag', '1', '-l', 'sll' ],
			 [ '--arista', '-l', 'frelay' ], [ '--macsec', 'integ', '-l', 'raw' ],
			 [ '--macsec', 'gcm' ], [ '--nsh', '-l', 'ppp' ],
			 [ '--mpls', '16', '-l', 'sll' ], [ '--mpls', '1048576' ], [ '--mpls', '1,,2' ],
			 [ '--pbb', '16777216' ], [ '--vntag', '16384' ], [ '--pppoe', '65536' ])
{
	my $file = tmpfile('');
	my ($rc, $c, $err) = gen($file, @$bad);
	ok($rc == 2 && $err =~ /^mirai_gen: /, "invalid @$bad: exit 2 with a message");
}

done_testing();
