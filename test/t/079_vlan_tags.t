#!/usr/bin/perl
#
# 079_vlan_tags.t
#	  Ethernet frames with any number of VLAN tags (802.1Q 0x8100, 802.1ad
#	  0x88a8, and the older 0x9100, mixed): the decoder reads through all
#	  of them, as tcpdump does, and keeps the outermost VLAN id.  A crafted
#	  capture holds IPv4 TCP packets behind 1, 2, 8, 9, 16, 100 and 1000
#	  tags, a frame the snaplen cut among its tags (skipped, "short") and a
#	  frame captured whole that ends among its tags (skipped, "other").
#	  pcap_read gives every packet with its VLAN id, pcap_file_info counts
#	  the two skipped frames by reason, and tcpdump prints the same packets
#	  as IP.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_WORK.
#
use strict;
use warnings;
use Test::More;

my $dir = ($ENV{MIRAI_WORK} // '/tmp') . "/vlan_tags.$$";
my $db = 'mirai_t079';
mkdir($dir) or die "mkdir $dir: $!\n";
chmod(0755, $dir);
END
{
	system("dropdb --if-exists $db >/dev/null 2>&1");
	system('rm', '-rf', $dir) if defined $dir;
}

plan tests => 5;

my @types = (0x8100, 0x88a8, 0x9100);

# $n tags, the outermost with VLAN id $vid, then $payload (type $type)
sub tags
{
	my ($n, $vid, $type) = @_;
	my $t = '';
	for my $i (0 .. $n - 1)
	{
		# each tag: its TCI, then the type of what follows
		my $next = $i == $n - 1 ? $type : $types[($i + 1) % 3];
		$t .= pack('n n', $i == 0 ? $vid : ($i % 4095) + 1, $next);
	}
	return $t;
}

sub ipv4_tcp
{
	my ($k) = @_;
	return pack('C C n n n C C n a4 a4', 0x45, 0, 40, $k, 0, 64, 6, 0,
		pack('C4', 192, 0, 2, $k), pack('C4', 203, 0, 113, 7))
	  . pack('n n N N C C n n n', 40512, 23, 0xcb007107, 0, 0x50, 0x02, 14600, 0, 0);
}

my $ether = pack('H12 H12', '001122334455', '66778899aabb');
my @frames;		# [data, wire length]
my @want;		# "vlan src" of each packet
my $k = 0;
for my $n (1, 2, 8, 9, 16, 100, 1000)
{
	$k++;
	my $vid = 100 + $k;
	my $f = $ether . pack('n', $types[0]) . tags($n, $vid, 0x0800) . ipv4_tcp($k);
	push @frames, [$f, length($f)];
	push @want, "$vid 192.0.2.$k";
}
{
	# 20 tags, the snaplen cut after 10 of them
	my $f = $ether . pack('n', $types[1]) . tags(20, 300, 0x0800) . ipv4_tcp(99);
	push @frames, [substr($f, 0, 14 + 40), length($f)];
	# captured whole, but its 12th tag says another follows, and none does
	$f = $ether . pack('n', $types[2]) . tags(12, 301, 0x8100);
	push @frames, [$f, length($f)];
}
my $file = "$dir/tags.pcap";
open(my $fh, '>:raw', $file) or die "$file: $!\n";
print $fh pack('V v v l V V V', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1);
my $t = 1734000000;
for my $fr (@frames)
{
	print $fh pack('V V V V', $t++, 0, length($fr->[0]), $fr->[1]) . $fr->[0];
}
close($fh);
chmod(0644, $file);

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create a database with the extension');

sub psql
{
	my ($sql) = @_;
	my $out = `PGOPTIONS='-c client_min_messages=warning' psql -X -A -t -q -d $db -c "$sql" 2>&1`;
	$out =~ s/\s+$//;
	return $out;
}

my @got = split(/\n/, psql("SELECT packet_vlan(p) || ' ' || host(packet_src(p)) FROM (SELECT pcap_read('$file') AS p) s"));
is_deeply(\@got, \@want, 'pcap_read: the packets behind 1, 2, 8, 9, 16, 100 and 1000 tags, with the outermost VLAN id')
  or diag(join("\n", @got));
is(psql("SELECT count(*) FILTER (WHERE is_mirai(p)) FROM (SELECT pcap_read('$file') AS p) s"), scalar(@want),
	'... decoded through to their TCP headers (each one is a Mirai SYN)');
is(psql("SELECT records || ' ' || ipv4 || ' ' || skipped_by_reason::text FROM pcap_file_info('$file')"),
	'9 7 {"other": 1, "short": 1}',
	'pcap_file_info: 9 records, 7 IPv4 packets, the frame cut among its tags "short", the one ending among them "other"');

my @td = grep { / IP 192\.0\.2\.\d+\.40512 > 203\.0\.113\.7\.23: / } `tcpdump -nn -r '$file' 2>/dev/null`;
my @tdsrc = map { / IP (192\.0\.2\.\d+)\./ ? $1 : '?' } @td;
is_deeply(\@tdsrc, [map { (split / /)[1] } @want], 'tcpdump reads the same 7 packets as IP')
  or diag(`tcpdump -nn -r '$file' 2>&1`);
my $outer = `tcpdump -e -nn -r '$file' -c 1 2>/dev/null`;
like($outer, qr/vlan 101,/, '... and shows the same outermost VLAN id');
