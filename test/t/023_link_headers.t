#!/usr/bin/perl
#
# 023_link_headers.t
#	  A malformed link header never fails a file: the frame is skipped and
#	  counted.  From every link fixture of test/fixtures.sh (PPP, PPP in HDLC
#	  framing, Cisco HDLC, Frame Relay, FDDI, ARCNET, 802.11, radiotap, PPI,
#	  PKTAP, IPNET, NFLOG, IPoIB, PPPoE, MPLS, 802.1ah, VN-Tag, Arista's
#	  time stamp, MACsec, NSH), IPv4 frames are cut at
#	  every byte of their link headers, once as if captured whole (skipped
#	  as "other") and once as if the snaplen cut them (skipped as "short");
#	  and headers whose lengths contradict the frame (PPI, radiotap, PKTAP,
#	  NFLOG), whose version is unknown or whose address, NLPID, type,
#	  subtype or format is not one that carries IP are skipped as "other", a PPPoE
#	  session frame with a discovery code as "control", a MACsec frame with
#	  the E or C bit as "encrypted".  802.2 LLC with
#	  SNAP carries IP on Ethernet after an 802.3 length or the jumbo type,
#	  as tcpdump reads it.  pcap_file_info reads each crafted file without
#	  an error and counts every frame.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_FIXTURES, MIRAI_WORK.
#
use strict;
use warnings;
use JSON::PP;
use Test::More;

my $fixtures = $ENV{MIRAI_FIXTURES} or die "MIRAI_FIXTURES is not set";
my $dir = ($ENV{MIRAI_WORK} // '/tmp') . "/link_headers.$$";
mkdir($dir) or die "mkdir $dir: $!\n";
chmod(0755, $dir);
END
{
	system('rm', '-rf', $dir) if defined $dir;
}

my @links = qw(ppp ppp_variants ppp_hdlc chdlc frelay frelay_variants fddi arcnet
  arcnet_bsd wlan radiotap ppi pktap ipnet nflog nflog_be ipoib pppoe pppoe_qinq mpls
  mpls_ppp mpls_variants mpls_ppp_variants pbb vntag arista macsec nsh nsh_variants);

# Bytes after the IP packet that belong to the link layer: MACsec's ICV.
my %trailer = (macsec => 16);

# A pcap file's byte order, link type and records [data, wire length].
sub read_pcap
{
	my ($file) = @_;
	open(my $fh, '<:raw', $file) or die "$file: $!\n";
	local $/;
	my $d = <$fh>;
	close($fh);
	my $le = unpack('V', $d) == 0xa1b23c4d || unpack('V', $d) == 0xa1b2c3d4;
	my ($L, $S) = $le ? ('V', 'v') : ('N', 'n');
	my $linktype = unpack($L, substr($d, 20, 4));
	my @recs;
	my $off = 24;
	while ($off + 16 <= length($d))
	{
		my ($caplen, $len) = unpack("x8 $L $L", substr($d, $off, 16));
		push @recs, [ substr($d, $off + 16, $caplen), $len ];
		$off += 16 + $caplen;
	}
	return ($le, $linktype, \@recs);
}

# Write records [data, wire length] as a pcap-ns file of that byte order.
sub write_pcap
{
	my ($file, $le, $linktype, $recs) = @_;
	my $L = $le ? 'V' : 'N';
	my $S = $le ? 'v' : 'n';
	open(my $fh, '>:raw', $file) or die "$file: $!\n";
	print $fh pack("$L $S $S $L $L $L $L", 0xa1b23c4d, 2, 4, 0, 0, 262144, $linktype);
	my $t = 1734000000;
	for my $r (@$recs)
	{
		print $fh pack("$L $L $L $L", $t++, 0, length($r->[0]), $r->[1]) . $r->[0];
	}
	close($fh);
	chmod(0644, $file);
}

# Where an IPv4 frame's IP header starts: the offset whose version nibble
# is 4 and whose total length reaches exactly the end of the frame, or
# $trailer bytes before it (no other trailer: radiotap's FCS, octet
# stuffing).  undef if none.
sub ip_offset
{
	my ($d, $trailer) = @_;
	$trailer //= 0;
	for my $o (0 .. length($d) - 20)
	{
		my ($vihl, $tot) = unpack('C x n', substr($d, $o, 4));
		return $o if ($vihl >> 4) == 4 && ($vihl & 15) >= 5 && $tot == length($d) - $o - $trailer;
	}
	return undef;
}

sub file_info
{
	my ($file) = @_;
	my $out = `PGOPTIONS='-c client_min_messages=warning' psql -X -A -t -q -c "SELECT records || '|' || ipv4 + ipv6 || '|' || skipped_by_reason::text FROM pcap_file_info('$file')" 2>&1`;
	chomp $out;
	return $out;
}

system("psql -X -q -c 'CREATE EXTENSION IF NOT EXISTS mirai_ext' >/dev/null") == 0
  or BAIL_OUT('cannot create the extension');

# ---- every link header, cut at each of its bytes ----
for my $name (@links)
{
	my ($le, $linktype, $recs) = read_pcap("$fixtures/$name.pcap");
	my (@whole, @cut);
	my $frames = 0;
	for my $r (@$recs)
	{
		my ($d, $len) = @$r;
		next if length($d) != $len;
		my $o = ip_offset($d, $trailer{$name});
		next unless defined $o && $o > 0;
		for my $k (0 .. $o - 1)
		{
			push @whole, [ substr($d, 0, $k), $k ];
			push @cut, [ substr($d, 0, $k), $len ];
		}
		last if ++$frames == 8;
	}
	my $n = @whole;
	write_pcap("$dir/$name.pcap", $le, $linktype, [ @whole, @cut ]);
	is(file_info("$dir/$name.pcap"), 2 * $n . "|0|{\"other\": $n, \"short\": $n}",
		"$name: $frames IPv4 frames cut at every byte of their link headers ($n cuts): "
		  . 'each skipped, "other" when captured whole, "short" when the snaplen cut it');
}

# ---- headers that contradict the frame ----
# [fixture, what, how to spoil a frame, the reason it is then skipped for]
my @spoilt = (
	[ 'ppi', 'PPI length 7 (below its own header)', sub { substr($_[0], 2, 2) = pack('v', 7) }, 'other' ],
	[ 'ppi', 'PPI length past the frame', sub { substr($_[0], 2, 2) = pack('v', length($_[0]) + 1) }, 'other' ],
	[ 'radiotap', 'radiotap length 4', sub { substr($_[0], 2, 2) = pack('v', 4) }, 'other' ],
	[ 'radiotap', 'radiotap length past the frame', sub { substr($_[0], 2, 2) = pack('v', length($_[0]) + 1) }, 'other' ],
	[ 'radiotap', 'radiotap version 1', sub { substr($_[0], 0, 1) = "\x01" }, 'other' ],
	[ 'pktap', 'PKTAP header length 100 (below 108)', sub { substr($_[0], 0, 4) = pack('V', 100) }, 'other' ],
	[ 'pktap', 'PKTAP header length past the frame', sub { substr($_[0], 0, 4) = pack('V', length($_[0]) + 1) }, 'other' ],
	[ 'pktap', 'PKTAP record type 0 (no packet)', sub { substr($_[0], 4, 4) = pack('V', 0) }, 'other' ],
	[ 'nflog', 'NFLOG version 1', sub { substr($_[0], 1, 1) = "\x01" }, 'other' ],
	[ 'nflog', 'NFLOG TLV length 2', sub { substr($_[0], 4, 2) = pack('v', 2) }, 'other' ],
	[ 'nflog_be', 'NFLOG TLV length past the frame (big-endian)', sub { substr($_[0], 4, 2) = pack('n', 0xfffc) }, 'other' ],
	[ 'pppoe', 'PPPoE session frame with a discovery code', sub { substr($_[0], 15, 1) = "\x09" }, 'control' ],
	[ 'ipnet', 'ipnet family 99', sub { substr($_[0], 1, 1) = "\x63" }, 'other' ],
	[ 'ppp_hdlc', 'PPP_SERIAL address 0x42', sub { substr($_[0], 0, 1) = "\x42" }, 'other' ],
	[ 'frelay', 'Q.922 address with the EA bit in its first byte', sub { substr($_[0], 0, 1) = "\x19" }, 'other' ],
	[ 'frelay', 'Q.922 address longer than 4 bytes', sub { substr($_[0], 1, 3) = "\x40\x40\x40" }, 'other' ],
	[ 'frelay', 'NLPID 0x81 (OSI)', sub { substr($_[0], 3, 1) = "\x81" }, 'other' ],
	[ 'frelay', 'NLPID 0x08 (Q.933)', sub { substr($_[0], 3, 1) = "\x08" }, 'control' ],
	[ 'ipoib', 'IPoIB type 0x1234', sub { substr($_[0], 40, 2) = "\x12\x34" }, 'other' ],
	[ 'arista', 'Arista subtype 2', sub { substr($_[0], 14, 2) = "\x00\x02" }, 'other' ],
	[ 'arista', 'Arista time stamp format 3', sub { substr($_[0], 17, 1) = "\x30" }, 'other' ],
	[ 'macsec', 'MACsec version bit', sub { substr($_[0], 18, 1) = "\x80" }, 'other' ],
	[ 'macsec', 'MACsec short length 0x40', sub { substr($_[0], 19, 1) = "\x40" }, 'other' ],
	[ 'macsec', 'MACsec short length past the ICV',
	  sub { my $sl = length($_[0]) - 20 - 16 - (ord(substr($_[0], 18, 1)) & 0x20 ? 8 : 0) + 1;
			substr($_[0], 19, 1) = chr($sl < 64 ? $sl : 0x40) }, 'other' ],
	[ 'macsec', 'MACsec E bit', sub { substr($_[0], 18, 1) |= "\x08" }, 'encrypted' ],
	[ 'macsec', 'MACsec C bit', sub { substr($_[0], 18, 1) |= "\x04" }, 'encrypted' ],
	[ 'nsh', 'NSH version 1', sub { substr($_[0], 18, 1) = "\x4f" }, 'other' ],
	[ 'nsh', 'NSH length 1 word', sub { substr($_[0], 19, 1) = "\xc1" }, 'other' ],
	[ 'nsh', 'NSH MD type 1 of 5 words', sub { substr($_[0], 19, 2) = "\xc5\x01" }, 'other' ],
	[ 'nsh', 'NSH next protocol 0x41', sub { substr($_[0], 21, 1) = "\x41" }, 'other' ],
);
for my $s (@spoilt)
{
	my ($name, $what, $spoil, $reason) = @$s;
	my ($le, $linktype, $recs) = read_pcap("$fixtures/$name.pcap");
	my @out;
	for my $r (@$recs)
	{
		my ($d, $len) = @$r;
		next unless length($d) == $len && defined ip_offset($d, $trailer{$name});
		$spoil->($d);
		push @out, [ $d, length($d) ];
		last if @out == 10;
	}
	my $file = "$dir/spoilt.pcap";
	write_pcap($file, $le, $linktype, \@out);
	is(file_info($file), scalar(@out) . "|0|{\"$reason\": " . scalar(@out) . '}',
		"$name: $what: every frame skipped as \"$reason\", no error");
}

# ---- 802.2 LLC / SNAP on Ethernet, as tcpdump reads it ----
# IPv4 frames of ether.pcap rewritten: an 802.3 length and SNAP (RFC 1042),
# the jumbo type 0x8870 and SNAP, and 1501 (neither a length nor a type)
{
	my ($le, $linktype, $recs) = read_pcap("$fixtures/ether.pcap");
	my @ip4 = grep { length($_->[0]) == $_->[1] && substr($_->[0], 12, 2) eq "\x08\x00" } @$recs;
	@ip4 = @ip4[0 .. 9];
	for my $v ([ 'an 802.3 length', undef, 10, 0 ], [ 'type 0x8870 (jumbo)', 0x8870, 10, 0 ],
			   [ 'type 1501', 1501, 0, 10 ])
	{
		my ($what, $type, $ip, $other) = @$v;
		my @out;
		for my $r (@ip4)
		{
			my $payload = "\xaa\xaa\x03\x00\x00\x00\x08\x00" . substr($r->[0], 14);
			my $d = substr($r->[0], 0, 12) . pack('n', $type // length($payload)) . $payload;
			push @out, [ $d, length($d) ];
		}
		my $file = "$dir/snap.pcap";
		write_pcap($file, $le, $linktype, \@out);
		is(file_info($file), "10|$ip|" . ($other ? "{\"other\": $other}" : '{}'),
			"Ethernet, $what, SNAP, IPv4: " . ($ip ? 'every packet read' : 'every frame skipped as "other"'));
		my $td = grep { / IP \d/ } `tcpdump -nn -r '$file' 2>/dev/null`;
		is($td, $ip, "... as tcpdump reads them");
	}
}

done_testing();
