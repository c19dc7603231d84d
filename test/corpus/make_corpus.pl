#!/usr/bin/perl
#
# make_corpus.pl
#	  Make the crafted corpus of test/corpus/: one small capture file for
#	  every error and warning the decoder reports (src/decode/mx_reader.c,
#	  mx_frame.c), and README.md, the table of what each file holds and
#	  what pcap_read must say about it.
#
# Usage: perl test/corpus/make_corpus.pl [DIR]   (default: this script's dir)
#
# Only core Perl (IO::Compress::Gzip ships with Perl).  Every byte is
# written here, field by field, so the files are the same on any machine.
# Most files hold two good packets, then the damage, then two more good
# packets: strict reading fails at the damage (or warns, for a file cut
# short, and keeps the packets before it); salvage reading must keep the
# packets on both sides.
#
# The table @FILES is the specification: test/t/072_corpus.t reads
# README.md and checks every file's SQLSTATE, field and message against the
# server, and sql/corpus.sql shows every full message.
#
use strict;
use warnings;
use File::Basename qw(dirname);
use IO::Compress::Gzip qw(gzip $GzipError);

my $dir = $ARGV[0] // dirname($0);
my $T0 = 1734134400;	# 2024-12-14 00:00:00 UTC

# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------

# The IPv4 header checksum of a header.
sub ip_checksum
{
	my ($h) = @_;
	my $sum = 0;
	$sum += $_ for unpack('n*', $h);
	$sum = ($sum & 0xffff) + ($sum >> 16) while $sum > 0xffff;
	return ~$sum & 0xffff;
}

# Ethernet header with the given type.
sub ether
{
	my ($type) = @_;
	return pack('H12 H12 n', '020000000001', '020000000002', $type);
}

# An IPv4 header: ihl in words, total length, protocol; checksum filled.
sub ipv4
{
	my (%o) = @_;
	my $ihl = $o{ihl} // 5;
	my $h = pack('C C n n n C C n a4 a4',
		(($o{version} // 4) << 4) | $ihl, 0, $o{totlen}, $o{id} // 1, 0,
		64, $o{proto} // 6, 0, pack('C4', 198, 51, 100, $o{i} // 1),
		pack('C4', 203, 0, 113, 7));
	$h .= $o{options} // '';
	substr($h, 10, 2) = pack('n', ip_checksum($h));
	return $h;
}

# A Mirai scanner's SYN (sequence number = destination address): 54 bytes.
sub good_frame
{
	my ($i) = @_;
	my $tcp = pack('n n N N C C n n n', 40000 + $i, 23, 0xcb007107, 0,
		5 << 4, 0x02, 14600, 0, 0);
	return ether(0x0800) . ipv4(totlen => 40, i => $i, id => $i) . $tcp;
}

# The same SYN as raw IP, without the Ethernet header: 40 bytes.
sub good_ip
{
	my ($i) = @_;
	return substr(good_frame($i), 14);
}

# An IPv6 header (40 bytes) with the payload length and next header.
sub ipv6
{
	my (%o) = @_;
	return pack('N n C C a16 a16', (($o{version} // 6) << 28), $o{plen},
		$o{nh}, 64, pack('H32', '20010db8000000000000000000000001'),
		pack('H32', '20010db8000000000000000000000007'));
}

# ---------------------------------------------------------------------------
# pcap (little-endian, microseconds)
# ---------------------------------------------------------------------------

sub pcap_header
{
	my (%o) = @_;
	return pack('V v v V V V V', $o{magic} // 0xa1b2c3d4, $o{major} // 2, $o{minor} // 4,
		0, 0, $o{snaplen} // 65535, $o{linktype} // 1);
}

# A record: caplen and len default to the data's length; frac to $i ms.
sub pcap_record
{
	my ($i, $data, %o) = @_;
	return pack('V V V V', $T0 + $i, $o{frac} // $i * 1000, $o{caplen} // length($data),
		$o{len} // length($data)) . $data;
}

# The same, big-endian, with nanoseconds.
sub pcap_header_be_ns
{
	my (%o) = @_;
	return pack('N n n N N N N', 0xa1b23c4d, 2, 4, 0, 0, 65535, $o{linktype} // 1);
}

sub pcap_record_be_ns
{
	my ($i, $data) = @_;
	return pack('N N N N', $T0 + $i, $i * 1000000, length($data), length($data)) . $data;
}

# Two good records numbered from $from.
sub pcap_good
{
	my ($from) = @_;
	return join('', map { pcap_record($_, good_frame($_)) } ($from, $from + 1));
}

# A pcap file: 2 good packets, the bad frame, 2 good packets.
sub pcap_with_frame
{
	my ($frame) = @_;
	return pcap_header() . pcap_good(1) . pcap_record(3, $frame) . pcap_good(4);
}

# ---------------------------------------------------------------------------
# pcapng (little-endian)
# ---------------------------------------------------------------------------

sub pad4
{
	my ($s) = @_;
	return $s . ("\0" x ((4 - length($s) % 4) % 4));
}

# A block; $len overrides the leading length, $trail the trailing one.
sub block
{
	my ($type, $body, %o) = @_;
	$body = pad4($body);
	my $len = 12 + length($body);
	return pack('V V', $type, $o{len} // $len) . $body . pack('V', $o{trail} // $len);
}

sub option
{
	my ($code, $value) = @_;
	return pack('v v', $code, length($value)) . pad4($value);
}

sub shb
{
	my (%o) = @_;
	return block(0x0a0d0d0a, pack('V v v', $o{bom} // 0x1a2b3c4d, $o{major} // 1,
			$o{minor} // 0) . pack('V V', 0xffffffff, 0xffffffff), trail => $o{trail});
}

# A section header block in big-endian byte order; $trail overrides its
# trailing length.
sub shb_be
{
	my (%o) = @_;
	return pack('N N N n n N N N', 0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0, 0xffffffff,
		0xffffffff, $o{trail} // 28);
}

sub idb
{
	my (%o) = @_;
	my $opts = $o{options} // '';
	$opts .= pack('V', 0) if length $opts;	# opt_endofopt
	return block(1, pack('v v V', $o{linktype} // 1, 0, $o{snaplen} // 65535) . $opts);
}

# An enhanced packet block; ts in microseconds.
sub epb
{
	my ($i, $data, %o) = @_;
	my $ts = ($T0 + $i) * 1000000 + $i * 1000;
	return block(6, pack('V V V V V', $o{ifid} // 0, $ts >> 32, $ts & 0xffffffff,
			$o{caplen} // length($data), length($data)) . $data, %o);
}

sub pcapng_good
{
	my ($from) = @_;
	return join('', map { epb($_, good_frame($_)) } ($from, $from + 1));
}

# A pcapng file: section, interface, 2 good packets, $bad, 2 good packets.
sub pcapng_with
{
	my ($bad) = @_;
	return shb() . idb() . pcapng_good(1) . $bad . pcapng_good(4);
}

# ---------------------------------------------------------------------------
# gzip
# ---------------------------------------------------------------------------

# One gzip member of $data (level 0 = stored blocks, byte positions known).
sub gz
{
	my ($data, $level) = @_;
	my $out;
	gzip(\$data => \$out, Minimal => 1, Level => $level // 6, Time => 0)
	  or die "gzip: $GzipError\n";
	return $out;
}

# A pcap of packets $from.. in one member (no file header unless $hdr).
sub pcap_member
{
	my ($hdr, $from, $level) = @_;
	return gz(($hdr ? pcap_header() : '') . pcap_good($from), $level);
}

# ---------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------

# Each: name, bytes, what is wrong, SQLSTATE, field, message (a part of the
# decoder's message that the server's error or warning must contain),
# outcome: "error", or "warning N" (N packets kept).
my @FILES;

sub file
{
	push @FILES, [@_];
}

# --- any file ---
file('empty.pcap', '', 'an empty file', '22P04', 'magic',
	'the file is empty', 'error');
file('short.pcap', "\xd4\xc3\xb2", 'three bytes', '22P04', 'magic',
	'the file is too short to be a capture (3 bytes)', 'error');
file('bad_magic.pcap', "GIF89a\x01\x00\x01\x00" . ("\0" x 30), 'a GIF image, not a capture',
	'22P04', 'magic', 'not a pcap or pcapng file: it starts with 0x47494638', 'error');

# --- pcap ---
file('pcap_header_truncated.pcap', substr(pcap_header(), 0, 20),
	'pcap file header cut at 20 of its 24 bytes', '22P04', 'pcap.header',
	'the file ends inside its pcap header', 'error');
file('pcap_version.pcap', pcap_header(major => 3, minor => 0) . pcap_good(1),
	'pcap version 3.0', '22P04', 'pcap.version', 'unsupported pcap version 3.0', 'error');
file('pcap_minor_version.pcap', pcap_header(minor => 5) . pcap_good(1) . pcap_good(3),
	'pcap version 2.5: a later minor version, read as 2.4 as Wireshark reads it (libpcap 1.10 refuses it)',
	'00000', '-', '4 packets', 'ok 4');
file('pcap_record_truncated.pcap',
	pcap_header() . pcap_good(1) . substr(pcap_record(3, good_frame(3)), 0, 10),
	'the file ends 10 bytes into the third record header', '22P04', 'pcap.record',
	'its last record has 10 of its 16 bytes', 'warning 2');
file('pcap_data_truncated.pcap',
	pcap_header() . pcap_good(1) . substr(pcap_record(3, good_frame(3)), 0, 16 + 30),
	'the third record has 30 of its 54 data bytes', '22P04', 'pcap.data',
	'its last record has 46 of its 70 bytes', 'warning 2');
file('pcap_caplen_snaplen.pcap',
	pcap_header(snaplen => 64) . pcap_good(1)
	  . pcap_record(3, good_frame(3) . ("\0" x 46)) . pcap_good(4),
	'a 100-byte record in a file whose snapshot length is 64: cut to 64 bytes, as libpcap cuts it',
	'22P04', 'pcap.caplen',
	'captured length 100 is larger than the file\'s snapshot length 64', 'warning 5');
file('pcap_time_fraction.pcap',
	pcap_header() . pcap_good(1) . pcap_record(3, good_frame(3), frac => 1500000) . pcap_good(4),
	'a record whose fraction of a second is 1500000 microseconds: carried into the seconds',
	'22P04', 'pcap.ts_fraction', 'its fraction of a second is 1500000 microseconds', 'warning 5');
file('pcap_ns_time_fraction.pcap',
	pcap_header(magic => 0xa1b23c4d) . pcap_good(1)
	  . pcap_record(3, good_frame(3), frac => 1500000000) . pcap_good(4),
	'a nanosecond file\'s record whose fraction of a second is 1500000000 nanoseconds',
	'22P04', 'pcap.ts_fraction', 'its fraction of a second is 1500000000 nanoseconds', 'warning 5');
file('concatenated.pcap',
	pcap_header() . pcap_good(1) . pcap_header_be_ns(linktype => 101)
	  . join('', map { pcap_record_be_ns($_, good_ip($_)) } 3, 4)
	  . shb() . idb() . pcapng_good(5) . pcap_header() . pcap_good(7),
	'four captures one after another (cat a.pcap b.pcap c.pcapng d.pcap): microsecond Ethernet, big-endian nanosecond raw IP, pcapng, microsecond Ethernet',
	'00000', '-', '8 packets', 'ok 8');
file('concatenated_header_cut.pcap',
	pcap_header() . pcap_good(1) . substr(pcap_header(), 0, 20),
	'a pcap capture followed by 20 bytes of another one\'s file header', '22P04',
	'pcap.header', 'the file ends inside its pcap header', 'warning 2');
file('pcap_caplen_huge.pcap',
	pcap_header() . pcap_good(1) . pcap_record(3, good_frame(3), caplen => 0xfffffff0)
	  . pcap_good(4),
	'a record header claiming 4294967280 captured bytes', '54000', 'pcap.caplen',
	'captured length 4294967280 is larger than the largest we accept (262144)', 'error');

# --- IP headers in uncut frames (caplen = len) ---
my $tcp20 = pack('n n N N C C n n n', 40003, 23, 1, 0, 5 << 4, 2, 14600, 0, 0);
file('ipv4_ihl.pcap',
	pcap_with_frame(ether(0x0800) . ipv4(ihl => 4, totlen => 40, i => 3) . $tcp20),
	'IPv4 header length 4 words (16 bytes): no field can be read, skipped as malformed',
	'00000', 'ipv4.ihl', 'IPv4 header length is below 5 words (byte 14 of the frame)', 'notice 4');
file('ipv4_total_length.pcap',
	pcap_with_frame(ether(0x0800) . ipv4(totlen => 10, i => 3) . $tcp20),
	'IPv4 total length 10, below its 20-byte header: skipped as malformed', '00000',
	'ipv4.total_length', 'IPv4 total length is smaller than its header (byte 14 of the frame)',
	'notice 4');
file('ipv4_header_cut.pcap',
	pcap_with_frame(ether(0x0800) . substr(ipv4(totlen => 40, i => 3), 0, 12)),
	'a frame captured whole that ends 12 bytes into its IPv4 header: skipped as malformed',
	'00000', 'ipv4.header', 'IPv4 header is cut short (byte 14 of the frame)', 'notice 4');
file('ipv4_options_past_end.pcap',
	pcap_with_frame(ether(0x0800)
		  . ipv4(ihl => 15, totlen => 60, i => 3, options => "\x01" x 10)),
	'IPv4 header length 60 bytes in a frame with 30 bytes of IP: kept with its addresses, TTL, id and protocol, no ports',
	'00000', '-', '5 packets', 'ok 5');
file('ipv4_version.pcap',
	pcap_with_frame(ether(0x0800) . ipv4(version => 6, totlen => 40, i => 3) . $tcp20),
	'Ethernet type IPv4, IP version 6: read as IPv6, as Wireshark reads it', '00000', '-',
	'5 packets', 'ok 5');
file('ipv4_version_bogus.pcap',
	pcap_with_frame(ether(0x0800) . ipv4(version => 5, totlen => 40, i => 3) . $tcp20),
	'Ethernet type IPv4, IP version 5: skipped as malformed', '00000', 'ipv4.version',
	'IPv4 header has the wrong version (byte 14 of the frame)', 'notice 4');
file('ipv6_header_cut.pcap',
	pcap_with_frame(ether(0x86dd) . substr(ipv6(plen => 20, nh => 6), 0, 20)),
	'a frame captured whole that ends 20 bytes into its IPv6 header: skipped as malformed',
	'00000', 'ipv6.header', 'IPv6 header is cut short (byte 14 of the frame)', 'notice 4');
file('ipv6_version.pcap',
	pcap_with_frame(ether(0x86dd) . ipv6(version => 4, plen => 20, nh => 6) . $tcp20),
	'Ethernet type IPv6, IP version 4: skipped as malformed (Wireshark reads no field of it)',
	'00000', 'ipv6.version', 'IPv6 header has the wrong version (byte 14 of the frame)',
	'notice 4');
file('ipv6_ext_past_end.pcap',
	pcap_with_frame(ether(0x86dd) . ipv6(plen => 16, nh => 0)
		  . pack('C C', 6, 10) . ("\0" x 14)),
	'a hop-by-hop header of 88 bytes with 16 bytes of payload: kept with its addresses and hop limit, no ports',
	'00000', '-', '5 packets', 'ok 5');
file('ipv6_ext_short.pcap',
	pcap_with_frame(ether(0x86dd) . ipv6(plen => 4, nh => 60) . "\x06\0\0\0"),
	'a destination options header cut at 4 of its 8 bytes: kept with its addresses and hop limit, no ports',
	'00000', '-', '5 packets', 'ok 5');
file('ipv6_ext_loop.pcap',
	pcap_with_frame(ether(0x86dd) . ipv6(plen => 65 * 8 + 20, nh => 60)
		  . (pack('C C', 60, 0) . ("\0" x 6)) x 65 . $tcp20),
	'a chain of 65 destination options headers: kept with its addresses and hop limit, no ports',
	'00000', '-', '5 packets', 'ok 5');
file('ipv6_atomic_fragment.pcap',
	pcap_with_frame(ether(0x86dd) . ipv6(plen => 28, nh => 44)
		  . pack('C C n N', 6, 0, 0, 0x12345678) . $tcp20),
	'an IPv6 fragment header with offset 0 and M = 0 (an atomic fragment, RFC 6946): not a fragment, ports read',
	'00000', '-', '5 packets', 'ok 5');
file('tcp_data_offset.pcap',
	pcap_with_frame(ether(0x0800) . ipv4(totlen => 40, i => 3)
		  . pack('n n N N C C n n n', 40003, 23, 0xcb007107, 9, 4 << 4, 2, 14600, 0, 0)),
	'a TCP data offset of 4 words: kept with its ports and sequence number (a Mirai SYN still), not what follows',
	'00000', '-', '5 packets', 'ok 5');

# --- pcapng ---
file('pcapng_header_truncated.pcapng', substr(shb(), 0, 8),
	'the first block cut at 8 bytes', '22P04', 'pcapng.header',
	'the file ends inside its first pcapng block', 'error');
file('pcapng_byte_order.pcapng', shb(bom => 0x11223344) . idb() . pcapng_good(1),
	'a section header with byte-order magic 0x11223344', '22P04', 'pcapng.byte_order',
	'pcapng section has an unknown byte-order magic 0x11223344', 'error');
file('pcapng_byte_order_section2.pcapng',
	shb() . idb() . pcapng_good(1) . shb(bom => 0x11223344) . idb() . pcapng_good(3),
	'a second section with byte-order magic 0x11223344', '22P04', 'pcapng.byte_order',
	'pcapng section has an unknown byte-order magic 0x11223344', 'error');
file('pcapng_version.pcapng', shb(major => 2) . idb() . pcapng_good(1),
	'pcapng version 2.0', '22P04', 'pcapng.version', 'unsupported pcapng version 2.0', 'error');
file('pcapng_version_section2.pcapng',
	shb() . idb() . pcapng_good(1) . shb(major => 2) . idb() . pcapng_good(3),
	'a second section of pcapng version 2.0: the first section is kept, reading stops there',
	'22P04', 'pcapng.version', 'unsupported pcapng version 2.0', 'warning 2');
file('pcapng_shb_lost_interfaces.pcapng',
	shb() . idb() . pcapng_good(1) . shb(trail => 24) . idb(linktype => 101)
	  . join('', map { epb($_, good_ip($_)) } 3, 4) . shb() . idb() . pcapng_good(5),
	'a second section header whose trailing length is wrong, then a raw IP interface and its packets (on_error => \'skip\' reads them with that interface, not the first section\'s)',
	'22P04', 'pcapng.block_length', 'trailing block length 24 differs from the leading one 28',
	'error');
file('pcapng_shb_lost_byte_order.pcapng',
	shb() . idb() . pcapng_good(1) . shb_be(trail => 24) . idb(linktype => 101)
	  . join('', map { epb($_, good_ip($_)) } 3, 4) . shb() . idb() . pcapng_good(5),
	'a big-endian section header whose trailing length is wrong, amid little-endian blocks (on_error => \'skip\' keeps reading little-endian)',
	'22P04', 'pcapng.block_length', 'trailing block length 24 differs from the leading one 28',
	'error');
file('pcapng_block_length_align.pcapng',
	pcapng_with(epb(3, good_frame(3), len => 85, trail => 85)),
	'a packet block of length 85', '22P04', 'pcapng.block_length',
	'block length 85 is not a multiple of 4', 'error');
file('pcapng_block_length_small.pcapng', pcapng_with(pack('V V V', 6, 8, 8)),
	'a block of length 8, less than a block header and trailer', '22P04',
	'pcapng.block_length', 'block length 8 is smaller than the smallest block', 'error');
file('pcapng_zero_length_blocks.pcapng', pcapng_with(pack('V V', 0x0bad, 0) x 16),
	'16 blocks of length 0 (a reader that trusts the length loops forever)', '22P04',
	'pcapng.block_length', 'block length 0 is smaller than the smallest block', 'error');
file('pcapng_block_length_huge.pcapng', pcapng_with(pack('V V V', 6, 0x7ffffff0, 0)),
	'a block of length 2147483632', '54000', 'pcapng.block_length',
	'block length 2147483632 is larger than the largest we accept (16777216)', 'error');
file('pcapng_trailer_mismatch.pcapng',
	pcapng_with(epb(3, good_frame(3), trail => 76)),
	'a packet block whose trailing length (76) differs from its leading one (88)',
	'22P04', 'pcapng.block_length',
	'trailing block length 76 differs from the leading one 88', 'error');
file('pcapng_shb_short.pcapng',
	block(0x0a0d0d0a, pack('V v v V', 0x1a2b3c4d, 1, 0, 0)) . idb() . pcapng_good(1),
	'a section header block of 24 bytes', '22P04', 'pcapng.block_length',
	'section header block is too short', 'error');
file('pcapng_idb_short.pcapng', shb() . block(1, pack('v v', 1, 0)) . pcapng_good(1),
	'an interface description block of 16 bytes', '22P04', 'pcapng.block_length',
	'interface description block is too short', 'error');
file('pcapng_option_past_end.pcapng',
	shb() . block(1, pack('v v V v v', 1, 0, 65535, 2, 200) . 'eth0') . pcapng_good(1),
	'an interface option of 200 bytes in a 32-byte block', '22P04', 'pcapng.option',
	'interface option 2 runs past the end of its block', 'error');
file('pcapng_tsresol.pcapng', shb() . idb(options => option(9, "\x14")) . pcapng_good(1),
	'if_tsresol 20 (10^-20 s)', '22P04', 'pcapng.if_tsresol',
	'interface time stamp resolution 10^-20 is out of range', 'error');
file('pcapng_timestamp.pcapng',
	shb() . idb(options => option(14, pack('Q<', 1 << 62))) . pcapng_good(1),
	'if_tsoffset 2^62 seconds: no packet time fits', '22P04', 'pcapng.timestamp',
	'time stamp 1734134401001000 of interface 0 is out of range', 'error');
file('pcapng_interface_id.pcapng', pcapng_with(epb(3, good_frame(3), ifid => 5)),
	'a packet naming interface 5 in a section with 1', '22P04', 'pcapng.interface_id',
	'packet names interface 5, but its section has 1', 'error');
file('pcapng_spb_no_interface.pcapng',
	shb() . block(3, pack('V', 54) . good_frame(1)) . idb() . pcapng_good(2),
	'a simple packet block before any interface', '22P04', 'pcapng.interface_id',
	'packet names interface 0, but its section has 0', 'error');
file('pcapng_pb_interface_id.pcapng',
	pcapng_with(block(2, pack('v v V V V V', 3, 0, 0, 0, 54, 54) . good_frame(3))),
	'an obsolete packet block naming interface 3 in a section with 1', '22P04',
	'pcapng.interface_id', 'packet names interface 3, but its section has 1', 'error');
file('pcapng_interface_other_section.pcapng',
	shb() . idb() . pcapng_good(1) . shb() . pcapng_good(3),
	'a second section that uses the first section\'s interface', '22P04',
	'pcapng.interface_id', 'packet names interface 0, but its section has 0', 'error');
file('pcapng_epb_short.pcapng', pcapng_with(block(6, pack('V V V V', 0, 0, 0, 0))),
	'an enhanced packet block of 28 bytes', '22P04', 'pcapng.block_length',
	'packet block is too short', 'error');
file('pcapng_spb_short.pcapng', pcapng_with(pack('V V V', 3, 12, 12)),
	'a simple packet block of 12 bytes', '22P04', 'pcapng.block_length',
	'simple packet block is too short', 'error');
file('pcapng_caplen_block.pcapng', pcapng_with(epb(3, good_frame(3), caplen => 500)),
	'a packet block claiming 500 captured bytes in 56 bytes of data', '22P04',
	'pcapng.caplen', 'captured length 500 runs past the end of its block', 'error');
file('pcapng_caplen_snaplen.pcapng',
	shb() . idb(snaplen => 40) . pcapng_good(1),
	'54-byte packets on an interface whose snapshot length is 40: cut to 40 bytes, as libpcap cuts pcap records',
	'22P04', 'pcapng.caplen',
	'captured length 54 is larger than the interface\'s snapshot length 40', 'warning 2');
file('pcapng_block_truncated.pcapng',
	shb() . idb() . pcapng_good(1) . substr(epb(3, good_frame(3)), 0, 40),
	'the file ends 40 bytes into an 88-byte packet block', '22P04', 'pcapng.block',
	'its last record has 40 of its 88 bytes', 'warning 2');
file('pcapng_block_header_truncated.pcapng',
	shb() . idb() . pcapng_good(1) . substr(epb(3, good_frame(3)), 0, 8),
	'the file ends 8 bytes into a block header', '22P04', 'pcapng.block',
	'its last record has 8 of its 12 bytes', 'warning 2');
file('pcapng_too_many_interfaces.pcapng.gz',
	gz(shb() . join('', map { idb(options => option(2, sprintf('if%05d', $_))) } 0 .. 65536)
		  . pcapng_good(1), 9),
	'65537 interfaces in one section (gzip\'d)', '54000', 'pcapng.interfaces',
	'pcapng section has more than 65536 interfaces', 'error');

# --- gzip ---
{
	my $m1 = pcap_member(1, 1, 0);	# header + packets 1, 2
	my $m2 = pcap_member(0, 3, 0);	# packets 3, 4

	my $crc = $m2;
	substr($crc, -8, 1) = chr(ord(substr($crc, -8, 1)) ^ 0xff);
	file('gzip_bad_crc.pcap.gz', $m1 . $crc,
		'a second gzip member whose CRC-32 is wrong', '22P04', 'gzip.trailer',
		'gzip data is corrupt: incorrect data check', 'error');
	my $len = $m2;
	substr($len, -4, 1) = chr(ord(substr($len, -4, 1)) ^ 0x01);
	file('gzip_bad_length.pcap.gz', $m1 . $len,
		'a second gzip member whose length (ISIZE) is wrong', '22P04', 'gzip.trailer',
		'gzip data is corrupt: incorrect length check', 'error');
	my $data = $m2;
	substr($data, 10, 1) = "\x07";	# BFINAL, BTYPE 11 (reserved)
	file('gzip_corrupt.pcap.gz', $m1 . $data,
		'a second gzip member with a deflate block of the reserved type 3', '22P04',
		'gzip.data', 'gzip data is corrupt: invalid block type', 'error');
	my $hdr = $m2;
	substr($hdr, 3, 1) = "\xe0";	# reserved FLG bits
	file('gzip_bad_header.pcap.gz', $m1 . $hdr,
		'a second gzip member with reserved header flags set', '22P04', 'gzip.header',
		'gzip data is corrupt: unknown header flags set', 'error');
	file('gzip_trailing_garbage.pcap.gz', $m1 . $m2 . 'garbage!',
		'8 bytes that are not gzip after the last member', '22P04', 'gzip.trailer',
		'8 bytes of trailing garbage follow the gzip stream', 'error');
	file('gzip_no_trailer.pcap.gz', $m1 . substr($m2, 0, length($m2) - 8),
		'the file ends before the last member\'s 8-byte trailer', '22P04', 'gzip.trailer',
		'the gzip stream ends before its trailer', 'warning 4');
	my $one = pcap_member(1, 1, 0);
	file('gzip_truncated.pcap.gz', substr($one, 0, 10 + 5 + 24 + 70 + 30),
		'a gzip stream cut 30 bytes into its second packet', '22P04', 'pcap.data',
		'its last record has 30 of its 70 bytes', 'warning 1');
	file('gzip_empty.gz', gz('', 9), 'a gzip stream of nothing', '22P04', 'magic',
		'the file is empty', 'error');
	# 16 MB of zero bytes (empty pcap records) after a pcap header
	file('gzip_bomb.pcap.gz', gz(pcap_header() . ("\0" x (16 << 20)), 9),
		'16 MB of zero bytes after a pcap header, in 16 kB of gzip', '54000', 'gzip.ratio',
		'gzip stream expands more than 1000 times', 'error');
}

# --- fuzz regressions: inputs that once broke the decoder read cleanly ---
file('fuzz_tsresol_pow2_fine.pcapng',
	shb() . idb(options => option(9, "\xff")) . pcapng_good(1),
	'if_tsresol 2^-127 s: every time stamp is below a nanosecond (the decoder once shifted a 64-bit value by 93 bits)',
	'00000', '-', 'packet times 0 (1970-01-01)', 'ok 2');

# ---------------------------------------------------------------------------
# Write the files and the README table
# ---------------------------------------------------------------------------

for my $f (@FILES)
{
	my ($name, $bytes) = @$f;
	open(my $fh, '>:raw', "$dir/$name") or die "$dir/$name: $!\n";
	print $fh $bytes;
	close($fh) or die "$dir/$name: $!\n";
}

open(my $rd, '>', "$dir/README.md") or die "$dir/README.md: $!\n";
print $rd <<'HEAD';
# Crafted corpus: one file for every rule the decoder reads by

Made by `perl test/corpus/make_corpus.pl` (core Perl only; do not edit the files or this table
by hand: edit the script and run it again).  Each file is a small capture with one defect or one
thing that a reader may stumble on.  Most hold two good packets, the defect, then two more good
packets, so that salvage reading (`on_error => 'skip'`) can show that it keeps the packets on
both sides.

`pcap_read` on each must give the outcome below:

- `error`: an ERROR with that SQLSTATE whose message names the file and whose detail names the
  packet, the byte offset and the field;
- `warning N`: a WARNING with that SQLSTATE and message, whose detail names the record, the byte
  offset and the field, and N packets: a file cut short in its last record, a record longer
  than the snapshot length (cut to it, as libpcap cuts it), a fraction of a second out of range,
  a pcapng section of a version that is not read;
- `notice N`: N packets and the NOTICE of the frames skipped, which names the first malformed
  packet and its field: a packet whose IP header cannot be read at all is skipped, never an error;
- `ok N`: N packets, no warning: a malformed packet kept with the fields that are valid (as
  tshark shows it), a later pcap minor version, captures one after another.

The server must stay up (the backend's pid is the same before and after:
`test/t/072_corpus.t`, which checks every row of this table against the server) and
`sql/corpus.sql` shows each full message and the packets of every file that is read.  SQLSTATE
22P04 is `bad_copy_file_format`, 54000 `program_limit_exceeded`; 00000 marks a file that is read
without a warning.

Since 0.2.0 a malformed packet never fails a file, and the record rules follow libpcap 1.10 and
Wireshark: so the `ipv4_*` and `ipv6_*` files, `pcap_caplen_snaplen.pcap` and
`pcapng_caplen_snaplen.pcapng`, which 0.1.x refused with an ERROR, are read now (outcome `ok`,
`notice` or `warning` below); src/decode/README.md ("What is read past, and how") has the table of rules.  The
`pcapng_shb_lost_*` files are errors when read strictly; `sql/salvage.sql` reads them with
`on_error => 'skip'`.  `test/t/073_tshark.t` reads the files that tshark reads whole and compares
every packet with tshark's fields.

The `fuzz_*` rows are inputs that once made the decoder misbehave (found by the fuzzers of
test/fuzz/); they must now read cleanly.

Not files: a directory given as a capture (`could not read capture file ...: Is a directory`,
42809) and a missing file (58P01); both are in `sql/corpus.sql`.

| file | what is wrong | SQLSTATE | field | message | outcome |
|---|---|---|---|---|---|
HEAD
for my $f (@FILES)
{
	my ($name, undef, $what, $state, $field, $msg, $outcome) = @$f;
	print $rd "| `$name` | $what | $state | `$field` | $msg | $outcome |\n";
}
close($rd) or die "$dir/README.md: $!\n";

# The pg_regress test: pcap_read on every file, through the fixtures link
# (test/fixtures.sh copies this directory to mirai_fixtures/corpus).
my $sql = dirname($0) . '/../../sql/corpus.sql';
open(my $sq, '>', $sql) or die "$sql: $!\n";
print $sq <<'HEAD';
-- The crafted corpus (test/corpus/, made by test/corpus/make_corpus.pl):
-- pcap_read on each file gives its documented error or warning, naming the
-- file, the packet, the byte offset and the field.  Generated by
-- make_corpus.pl with the corpus; the expected output is checked by hand.
\set VERBOSITY default
HEAD
for my $f (@FILES)
{
	my ($name, undef, $what) = @$f;
	print $sq "\n-- $what\n";
	if ($f->[6] =~ /^(ok|notice|warning) (\d+)/ && $2 <= 8)
	{
		print $sq "SELECT packet_time_ns(p), p FROM pcap_read('mirai_fixtures/corpus/$name') AS p;\n";
		next;
	}
	print $sq "SELECT count(*) AS packets FROM pcap_read('mirai_fixtures/corpus/$name');\n";
}
print $sq <<'TAIL';

-- not a file, no file
SELECT count(*) FROM pcap_read('mirai_fixtures/corpus');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pcap_read('mirai_fixtures/corpus/no_such_file.pcap');
\echo :LAST_ERROR_SQLSTATE

-- an error leaves no rows behind; a warning keeps the packets before it
CREATE TEMP TABLE corpus_load (p packet);
INSERT INTO corpus_load SELECT pcap_read('mirai_fixtures/corpus/pcapng_trailer_mismatch.pcapng');
SELECT count(*) AS kept_after_error FROM corpus_load;
INSERT INTO corpus_load SELECT pcap_read('mirai_fixtures/corpus/pcap_data_truncated.pcap');
SELECT count(*) AS kept_after_warning, count(*) FILTER (WHERE is_mirai(p)) AS mirai FROM corpus_load;
-- max_packets stops before the damage: no error
SELECT count(*) AS before_damage FROM pcap_read('mirai_fixtures/corpus/pcapng_trailer_mismatch.pcapng', max_packets => 2);
-- what pcap_file_info counts of a file with a malformed packet
SELECT records, ipv4, skipped, skipped_by_reason FROM pcap_file_info('mirai_fixtures/corpus/ipv4_ihl.pcap');
DROP TABLE corpus_load;
TAIL
close($sq) or die "$sql: $!\n";
printf "%d files in %s\n", scalar(@FILES), $dir;
