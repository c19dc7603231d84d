#!/usr/bin/perl
#
# 078_filter_names.t
#	  BPF filters in the server hold no names: libpcap's pcap_compile()
#	  would look a name up (a host in DNS, a service, a protocol, a network,
#	  a MAC address), so pcap_read and pcap_file_info refuse one before
#	  libpcap sees it, with 22023, the name, and how to write it as a number.
#	  1. in the decoder (test/decode/filter_lookups.c, which interposes the
#	     resolver functions libpcap calls): refused names make no lookup,
#	     where the loader's compile of the same filter makes one; numeric
#	     filters make none either way; and over 20000 generated filters
#	     (keywords, qualifiers, numbers, addresses, names, ranges, glued
#	     and damaged), no filter the server accepts makes a lookup;
#	  2. in SQL: the refusals (SQLSTATE, message, hint), and numeric filters
#	     accepted and matching what tcpdump matches on the same files.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP, MIRAI_WORK,
# MIRAI_FIXTURES, MIRAI_FIXTURES_SQL.
#
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $fx = $ENV{MIRAI_FIXTURES_SQL} // 'mirai_fixtures';
my $fxdir = $ENV{MIRAI_FIXTURES} // die "MIRAI_FIXTURES is not set\n";
my $dir = ($ENV{MIRAI_WORK} // '/tmp') . "/filter_names.$$";
my $db = 'mirai_t078';

mkdir($dir) or die "mkdir $dir: $!\n";
END
{
	system("dropdb --if-exists $db >/dev/null 2>&1");
	system('rm', '-rf', $dir) if defined $dir;
}

# name => [filter, hint wanted]
my @names = (
	['host example.com', qr/Write the address instead, as in "host 192\.0\.2\.1"/, 'example.com'],
	['net foo', qr/Write the network as a number instead, as in "net 192\.0\.2\.0\/24"/, 'foo'],
	['ether host somehost', qr/Write the MAC address instead, as in "ether host 00:11:22:33:44:55"/, 'somehost'],
	['port http', qr/Write the port number instead, as in "port 23"/, 'http'],
	['gateway x', qr/"gateway" takes only a host name/, 'x'],
	['tcp dst port 23 or smtp', qr/as in "port 23"/, 'smtp'],
	['ip proto \\tcp', qr/as in "ip proto 6"/, '\\tcp'],
	['src 10.0.0.1 or localhost', qr/"host 192\.0\.2\.1"/, 'localhost'],
	['tcp portrange 1-2 or udp 3-4', qr/"host 192\.0\.2\.1"/, '3-4'],
	['host deadbeef', qr/"host 192\.0\.2\.1"/, 'deadbeef'],
	['TCP', qr/lower case/, 'TCP'],
);
my @numeric = ('tcp and dst port 23', 'host 192.0.2.1', 'net 10.0.0.0/8',
	'ip6 and src host 2001:db8::1', 'ether host 00:11:22:33:44:55', 'vlan and tcp',
	'tcp[tcpflags] & tcp-syn != 0', 'icmp[icmptype] = icmp-echo',
	'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535', 'net 10.0.0.0 mask 255.0.0.0',
	'ip6 net 2001:db8::/32', 'ether host 0011.2233.4455', 'port 0x17', 'llc s');

plan tests => 1 + 2 * @names + @numeric + 3 + 3 * @names + 2 + 12;

# ---- 1. the decoder, with the resolver functions interposed ----
my $prog = "$dir/filter_lookups";
my $cc = `cc -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I'$top/src/decode' -rdynamic -o '$prog' '$top/test/decode/filter_lookups.c' '$top/src/decode/mx_filter.c' '$top/src/decode/mx_error.c' -lpcap -ldl 2>&1`;
is($?, 0, 'test/decode/filter_lookups.c builds with the filter code') or diag($cc);

# filter => its output line, for a list of filters
sub lookups
{
	my @filters = @_;
	open(my $in, '>', "$dir/in") or die;
	print $in "$_\n" for @filters;
	close($in);
	my @out = `'$prog' < '$dir/in' 2>&1`;
	my %r;
	for my $i (0 .. $#filters)
	{
		$r{ $filters[$i] } = $out[$i] // '';
	}
	return \%r;
}

my $r = lookups((map { $_->[0] } @names), @numeric);
for my $n (@names)
{
	my ($f, $hint, $word) = @$n;
	my $l = $r->{$f};
	ok($l =~ /^server=refused lookups=0 / && $l =~ /\| [^|]*"\Q$word\E" is a name[^|]*\| [^|]*$hint/,
		"'$f': refused, naming \"$word\", with a hint; no lookup")
	  or diag($l);
	# what libpcap would have done: Debian's builds no 'gateway', and
	# 'TCP' and a second range never reach a lookup (syntax, Q_UNDEF)
	if ($f =~ /^(gateway|TCP|tcp portrange)/)
	{
		ok($l =~ /loader=invalid lookups=0 /, "... libpcap refuses '$f' without a lookup")
		  or diag($l);
	}
	else
	{
		ok($l =~ /loader=\w+ lookups=[1-9]/, "... where the loader's compile of it looks up")
		  or diag($l);
	}
}
for my $f (@numeric)
{
	like($r->{$f}, qr/^server=ok lookups=0 loader=ok lookups=0 /,
		"'$f': accepted, compiled without a lookup");
}

# generated filters: nothing the server accepts looks anything up
{
	my @gen = generate(20000, 78);
	my $g = lookups(@gen);
	my ($accepted, $bad, $refused_lookup, $lines) = (0, 0, 0, 0);
	my @bad;
	for my $f (@gen)
	{
		my $l = $g->{$f};
		next unless $l =~ /^server=(\w+) lookups=(\d+) loader=(\w+) lookups=(\d+)/;
		$lines++;
		if ($1 eq 'ok')
		{
			$accepted++;
			if ($2 || $4)
			{
				$bad++;
				push @bad, $f if @bad < 5;
			}
		}
		$refused_lookup++ if $1 eq 'refused' && $4 > 0;
	}
	is($bad, 0, "20000 generated filters: none the server accepts makes a lookup ($accepted accepted)")
	  or diag(join("\n", @bad));
	ok($accepted >= 500 && $lines >= 19000,
		"... and they exercise libpcap: $accepted accepted and compiled, of $lines");
	ok($refused_lookup >= 1000,
		"... while $refused_lookup that the server refuses do make the loader's compile look up");
}

# Filters shaped by libpcap's grammar, from a fixed seed, some glued
# together or damaged; names, numbers and near-numbers mixed.
sub generate
{
	my ($n, $seed) = @_;
	srand($seed);
	my @pq = qw(ether link ip ip6 tcp udp sctp icmp icmp6 arp rarp decnet ppp wlan fddi iso stp ah igmp l1);
	my @dq = ('src', 'dst', 'src or dst', 'src and dst', 'ra', 'addr1');
	my @aq = qw(host net port portrange gateway proto protochain);
	my @vals = (qw(192.0.2.1 10.1 10.0.0 0x0a.1 1.2.3.4.5 1.2.3. 2001:db8::1 :: ::1 fe80::1:2
		  1:2:3:4:5:6:7:8 1:2:3:4:5:6:7:8:9 1:2:3:4:5:6:1.2.3.4 ::ffff:1.2.3.4 1::2::3 12345::1
		  00:11:22:33:44:55 00-11-22-33-44-55 0.1.2.3.4.5 0011.2233.4455 aabbccddeeff aabbccddeeffaa
		  1:2: dead:beef deadbeef 23 0x17 017 08 1e5 0x1g 4294967296 1-2 1025-65535 0x1-0x2 1--2
		  1-2-3 -1 example.com foo http smtp localhost tcp TCP \\tcp \\foo \\1 a-b a_b a. a.b.c
		  10.0.0.0/8 192.0.2.0/24 2001:db8::/32 $1 $ab mgt beacon s i u rr nods pass x),
		'tcp-syn', 'icmp-echo', 'tcp-synx');
	my @ops = ('and', 'or', 'not', '&&', '||', '!', 'and not');
	my @other = ('vlan', 'vlan 100', 'less 100', 'tcp[13] & 2 != 0', 'tcp[tcpflags] & tcp-syn != 0',
		'icmp[icmptype] = icmp-echo', 'len > 60', 'ether broadcast', 'llc', 'llc s', 'llc foo',
		'type mgt', 'dir nods', 'on eth0', 'reason match', 'action pass', 'ip proto 6',
		'ether proto 0x0806', 'net 10.0.0.0 mask 255.0.0.0', 'tcp portrange 1-2');
	my @noise = split(//, '()[]:-./\\$=<>,;@#%^&|"\'~{}?');
	my $pick = sub { $_[int(rand(@_))] };
	my $prim = sub {
		return $pick->(@other) if rand() < 0.25;
		my @h;
		push @h, $pick->(@pq) if rand() < 0.5;
		push @h, $pick->(@dq) if rand() < 0.3;
		push @h, $pick->(@aq) if rand() < 0.6;
		return join(' ', @h, $pick->(@vals));
	};
	my @out;
	for (1 .. $n)
	{
		my $e = $prim->();
		for (1 .. int(rand(3)))
		{
			$e .= ' ' . $pick->(@ops) . ' ' . (rand() < 0.3 ? $pick->(@vals) : $prim->());
		}
		my $r = rand();
		if ($r < 0.2)
		{
			$e =~ s/ /rand() < 0.3 ? '' : ' '/ge;
		}
		elsif ($r < 0.35)
		{
			substr($e, int(rand(length($e) + 1)), 0) = $pick->(@noise);
		}
		elsif ($r < 0.45)
		{
			substr($e, int(rand(length($e))), 1) = $pick->(split(//, 'abcdefx0123456789:.-_/\\ $'));
		}
		push @out, $e;
	}
	return @out;
}

# ---- 2. in SQL ----
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create a database with the extension');
$ENV{PGDATABASE} = $db;

my $nsql = 0;
sub psql
{
	my ($sql) = @_;
	$nsql++;
	my $f = "$dir/q$nsql.sql";
	open(my $fh, '>', $f) or die;
	print $fh $sql;
	close($fh);
	system("psql -X -A -t -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -f '$f' >'$f.out' 2>'$f.err'");
	my $rc = $? >> 8;
	local $/;
	open(my $o, '<', "$f.out");
	my $out = <$o> // '';
	open(my $e, '<', "$f.err");
	my $err = <$e> // '';
	$out =~ s/\s+$//;
	return ($rc, $out, $err);
}

sub sqlq
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

for my $n (@names)
{
	my ($f, $hint, $word) = @$n;
	my ($rc, $out, $err) = psql("SELECT count(*) FROM (SELECT pcap_read('$fx/ether.pcap', filter => "
		  . sqlq($f) . ")) s;\n");
	like($err, qr/ERROR:  22023: invalid filter "\Q$f\E": "\Q$word\E" is a name, which the server does not look up/,
		"pcap_read(filter => '$f'): 22023 naming \"$word\"");
	like($err, qr/DETAIL:  Filters read in the server take addresses, port and protocol numbers/,
		'... DETAIL says what filters in the server take');
	like($err, qr/HINT:  .*$hint/, '... HINT says how to write it');
}
{
	my ($rc, $out, $err) = psql("SELECT records FROM pcap_file_info('$fx/ether.pcap', 'port http');\n");
	like($err, qr/ERROR:  22023: invalid filter "port http": "http" is a name/,
		'pcap_file_info refuses a name too (22023)');
	like($err, qr/HINT:  Write the port number instead, as in "port 23"\./, '... with the hint');
}

# numeric filters: accepted, and they match what tcpdump matches (these
# match no ARP frame, which tcpdump would print and pcap_read skips)
sub tcpdump_count
{
	my ($file, $filter) = @_;
	my $n = `tcpdump -nn -r '$fxdir/$file' '$filter' 2>/dev/null | wc -l`;
	$n =~ s/\s+//g;
	return $n;
}
for my $c (['ether.pcap', 'tcp and dst port 23'], ['ether.pcap', 'host 192.0.2.1'],
	['ether.pcap', 'net 10.0.0.0/8'], ['ether.pcap', 'ether host 00:11:22:33:44:55'],
	['ether.pcap', 'tcp[tcpflags] & tcp-syn != 0'], ['ether.pcap', 'icmp[icmptype] = icmp-echo'],
	['ether.pcap', 'ip and host 203.0.113.7 and net 203.0.113.0/24'],
	['ether.pcap', 'ether host 00:16:3e:4d:49:52'],
	['vlan.pcap', 'vlan and tcp'], ['ipv6.pcap', 'ip6 and src host 2001:db8::1'],
	['ipv6.pcap', 'ip6 and dst host 2001:db8::7'],
	['ether.pcap', 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535'])
{
	my ($file, $f) = @$c;
	my ($rc, $out, $err) = psql("SELECT count(*) FROM (SELECT pcap_read('$fx/$file', filter => "
		  . sqlq($f) . ")) s;\n");
	my $want = tcpdump_count($file, $f);
	is($rc == 0 ? $out : $err, $want, "$file, '$f': $want packets, as tcpdump");
}
