#!/bin/sh
# Remake the committed seed corpora of the fuzz targets (test/fuzz/corpus/)
# from mirai_gen output: small files of every format, byte order, link type
# and pcapng feature, gzip'd or not, for the reader; the text and stored
# forms of a few packets of every kind, for the text and recv targets;
# packed day rows of both versions, for the entries target.
# Run from the top of the repository after `make`.  Deterministic: the same
# generator gives the same seeds.  (Inputs that long fuzzing runs found are
# added to the same directories with libFuzzer's -merge=1; see README.)
set -eu
gen=${MIRAI_GEN:-src/bin/mirai_gen}
dir=test/fuzz/corpus
mkdir -p "$dir/reader" "$dir/text" "$dir/recv" "$dir/entries"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

i=0
g() {
	i=$((i + 1))
	"$gen" -s "$i" -n 12 --non-ip 0.2 --ipv6 0.3 --frag 0.2 --ip-options 0.2 "$@" \
		-o "$dir/reader/seed-$(printf %02d $i)"
}
for l in ether sll sll2 raw raw12 raw14 ipv4 ipv6 null loop; do
	g -l "$l"
	g -f pcapng -l "$l" --byte-order big
done
g -f pcap-ns --byte-order big -l ether --vlan 100
g -l ether --qinq 100,200 -z
g -l ether --pcap-version 2.2
g -l ether --kuznetzov --byte-order big
g -l ether --snaplen 50
g -l ether --truncate-last 10
g -f pcapng -l ether,raw,sll2,unknown --sections 3 --byte-order mixed --unknown-blocks
g -f pcapng -l ether --pcapng-blocks epb,spb,opb
g -f pcapng -l ether --tsresol 9 --tsoffset 1000
g -f pcapng -l ether --tsresol 0x94 -z
g -f pcapng -l ether --truncate-last 6 -z
g -f pcap-ns -l null --byte-order big -z
# link types and encapsulations, in every framing variant
for l in ppp ppp-hdlc chdlc fddi arcnet arcnet-bsd wlan radiotap ppi pktap ipnet nflog; do
	g -l "$l" --link-variants
done
g -l nflog --byte-order big --link-variants
g -l ether --pppoe 7 --qinq 100,200 --link-variants
g -l ether --vntag 5 --vlan 9 --pbb 77 --mpls 16,17
g -l ppp --mpls 3
g -l frelay --link-variants
g -l ipoib
g -l ether --arista --vlan 9
g -l ether --macsec integ --vlan 9
g -l ether --macsec encrypted
g -l ether --nsh --link-variants

# text and stored forms, from bigger files of every kind
n=0
for args in "-l ether" "-l ether --vlan 7 --snaplen 60" "-l raw --ipv6 0.5" \
	"-l ipv6" "-l sll2 --frag 0.5 --ip-options 0.5" "-f pcapng -l ether --tsresol 9"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	"$gen" -s "$n" -n 3000 --ipv6 0.3 --frag 0.1 $args -o "$tmp/c$n"
done
cc -std=c99 -D_DEFAULT_SOURCE -O1 -Isrc/decode -o "$tmp/seeds" test/fuzz/seeds.c \
	src/decode/mx_stream.c src/decode/mx_reader.c src/decode/mx_link.c src/decode/mx_frame.c \
	src/decode/mx_filter.c src/decode/mx_packet.c src/decode/mx_scanner.c src/decode/mx_error.c \
	-lz -lpcap
"$tmp/seeds" "$dir/text" "$dir/recv" "$tmp"/c*
# hand-written texts: every optional field, both extremes of time
cat >"$dir/text/hand-01" <<'T'
1677-09-21T00:12:43.145224192Z udplite [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535 > [::]:0 ttl=255 len=4294967295 caplen=0 vlan=4095 frag
T
cat >"$dir/text/hand-02" <<'T'
2262-04-11 23:47:16.854775807 tcp 0.0.0.0:0 > 255.255.255.255:65535 flags=FSRPAUECN seq=4294967295 ack=4294967295 win=65535 ttl=255 id=65535 len=70000 caplen=65536
T
cat >"$dir/text/hand-03" <<'T'
2024-02-29T12:00:00Z icmp6 ::ffff:192.0.2.1 > 2001:db8::1 type=255 code=255 ttl=1 len=0
T
# packed day rows (src/decode/mx_entries.h): empty, one entry, countries,
# forty entries, and version 1
perl -e '
sub v { my ($x) = @_; my $o = ""; while ($x >= 0x80) { $o .= chr(($x & 0x7f) | 0x80); $x >>= 7 } return $o . chr($x) }
sub row
{
	my ($base, $countries, @e) = @_;
	my $b = chr(2) . v(scalar @e) . v(scalar @$countries);
	$b .= chr(length $_) . $_ for @$countries;
	$b .= pack("q>", $base);
	$b .= join("", map { v($_) } @$_) for @e;
	return $b;
}
my @many = map { [$_ ? 37 * $_ + 1 : 0x01020304, (23, 2323, 80, 8080)[$_ % 4], $_ + 1, $_ * 1000003, $_ * 17, $_ % 4] } 0 .. 39;
my @seeds = (row(0, []),
	row(0, [], [0xC0000201, 23, 1, 0, 0, 0]),
	row(1734134400000000, ["JP", "US"], [0xC0000201, 23, 5, 10, 100, 1], [0, 2323, 2, 0, 5, 1], [7, 23, 1, 3, 0, 2]),
	row(0, ["TW"], [0xC0000201, 23, 1, 0, 0, 1]),
	row(1734134400000000, ["CN", "US", "BR"], @many),
	chr(1) . "\0\0\0" . pack("N", 1) . pack("N n q> q> q>", 0xC0000201, 23, 3, 1000, 2000) . "US" . "\0" x 6);
for my $i (0 .. $#seeds)
{
	open(my $fh, ">", sprintf("%s/seed-%02d", $ARGV[0], $i + 1)) or die "$!\n";
	binmode $fh;
	print $fh $seeds[$i];
	close $fh;
}
' "$dir/entries"
du -sh "$dir"
