#!/usr/bin/perl
# Cross-check with real peers: for every generated capture, the counts that
# SQL gives (pcap_file_info, pcap_read + is_mirai, pcap_read with a BPF
# filter) equal tcpdump's counts on the same file, and the generator's own
# exact counts (which also cover the files libpcap 1.10 cannot read: pcapng
# with interfaces of different link types, link type 14).
use strict;
use warnings;
use JSON::PP;
use Test::More;

my $dir = $ENV{MIRAI_FIXTURES} or die "MIRAI_FIXTURES is not set";
my $sqldir = $ENV{MIRAI_FIXTURES_SQL} or die "MIRAI_FIXTURES_SQL is not set";
my $mirai_bpf = 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535';

sub psql
{
	my ($sql) = @_;
	my $out = `PGOPTIONS="-c client_min_messages=error" psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$sql" 2>&1`;
	die "psql failed: $out" if $?;
	chomp $out;
	return $out;
}

# tcpdump's count of frames matching $filter, reading through zcat for gzip
# (the lines that start a frame: it hex-dumps payloads it does not know)
sub tcpdump_count
{
	my ($file, $gz, $filter) = @_;
	my $src = $gz ? "zcat '$dir/$file' |" : '';
	my $r = $gz ? '-' : "'$dir/$file'";
	my $n = `$src tcpdump -nn -r $r '$filter' 2>/dev/null | grep -c -v '^[[:space:]]'`;
	chomp $n;
	return $n + 0;
}

psql('CREATE EXTENSION IF NOT EXISTS mirai_ext');

# What a BPF filter needs before "ip" to reach the IP header of the link
# fixtures' encapsulations; undef where libpcap cannot filter at all (PKTAP,
# NFLOG, IPoIB: "filtering not implemented"), knows no keyword (802.1ah,
# VN-Tag, Arista's time stamp, MACsec, NSH) or does not follow the framing (PPP's
# compressions and octet stuffing, MPLS's multicast type; Frame Relay, whose
# IP header libpcap 1.10 reads 4 bytes early, after the NLPID's test).
my %bpf_prefix = (
	pppoe => 'pppoes and ',
	pppoe_qinq => 'vlan and vlan and pppoes and ',
	mpls => 'mpls and mpls and ',
	mpls_ppp => 'mpls and ',
	pktap => undef,
	nflog => undef,
	nflog_be => undef,
	pbb => undef,
	vntag => undef,
	arista => undef,
	macsec => undef,
	macsec_encrypted => undef,
	nsh => undef,
	nsh_variants => undef,
	frelay => undef,
	frelay_variants => undef,
	ipoib => undef,
	ppp_variants => undef,
	mpls_variants => undef,
	mpls_ppp_variants => undef);

opendir(my $dh, $dir) or die;
my @files = sort grep { -f "$dir/$_.counts" } readdir($dh);
closedir($dh);
ok(@files >= 25, 'fixtures with counts: ' . scalar(@files));

for my $f (@files)
{
	open(my $fh, '<', "$dir/$f.counts") or die;
	my $c = decode_json(join('', <$fh>));
	close($fh);

	my ($records, $ip4, $ip6, $ip4_tcp, $mirai, $skipped) = split /\|/,
	  psql("SELECT records, ipv4, ipv6, ipv4_tcp, mirai, skipped FROM pcap_file_info('$sqldir/$f')");
	is($records, $c->{records}, "$f: records equal the generator's");
	# the generator counts packets as made, before a snaplen cuts them
	if (!$c->{snapped})
	{
		is($ip4 + 0, $c->{ip4}, "$f: IPv4 packets equal the generator's");
		is($ip6 + 0, $c->{ip6}, "$f: IPv6 packets equal the generator's");
		is($mirai, $c->{mirai}, "$f: Mirai packets equal the generator's");
		is($skipped, $c->{non_ip} + $c->{skipped},
			"$f: skipped frames equal the generator's non-IP and unknown-link frames");
	}

	my $sql_mirai = psql("SELECT count(*) FROM (SELECT pcap_read('$sqldir/$f') AS p) s WHERE is_mirai(p)");
	is($sql_mirai, $mirai, "$f: pcap_read + is_mirai counts what pcap_file_info counts");

	# tcpdump cannot read mixed link types (libpcap 1.10) nor LINKTYPE 14 on Linux
	next if $f =~ /^(mixed|raw14|links_variants)/;
	my $gz = $f =~ /\.gz$|gzip/;
	my $pre = $f =~ /^vlan/ ? 'vlan and ' : $f =~ /^qinq/ ? 'vlan and vlan and ' : '';
	$pre = $bpf_prefix{$1} if $f =~ /^(\w+)\.pcap$/ && exists $bpf_prefix{$1};
	my $ip = $f =~ /^ipv6/ ? 'ip6' : 'ip';
	is($records, tcpdump_count($f, $gz, ''), "$f: records equal tcpdump's");
	# libpcap's filters cannot reach these packets (test/t/022_links.t
	# compares them with tshark)
	next unless defined $pre;
	is($ip4_tcp, $ip eq 'ip6' ? 0 : tcpdump_count($f, $gz, "${pre}ip and tcp"),
		"$f: IPv4 TCP packets equal tcpdump's");
	is($mirai, $ip eq 'ip6' ? 0 : tcpdump_count($f, $gz, "$pre$mirai_bpf"),
		"$f: Mirai packets equal tcpdump's BPF");
	my $bpf = "${pre}tcp dst port 23";
	my $sql_bpf = psql("SELECT count(*) FROM (SELECT pcap_read('$sqldir/$f', filter => '$bpf')) s");
	is($sql_bpf, tcpdump_count($f, $gz, $bpf), "$f: pcap_read filter '$bpf' matches what tcpdump matches");
}

done_testing();
