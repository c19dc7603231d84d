#!/bin/sh
# Make the capture files that the tests read, in directory $1.  Every file is
# made by mirai_gen with a fixed seed, so the same command gives the same
# bytes on any machine and expected/ can hold exact counts.  The files must
# be readable by the server's user (pg_virtualenv runs it as postgres).
set -eu
dir=$1
gen=${MIRAI_GEN:-src/bin/mirai_gen}
top=${MIRAI_TOP:-.}
mkdir -p "$dir"
chmod 755 "$dir"
umask 022

# each file gets NAME.counts beside it: the generator's own exact counts
g() {
	out=$1
	shift
	"$gen" -s 7 -n 500 "$@" -o "$dir/$out" --counts 2>"$dir/$out.counts"
}

# one file per pcap flavour and link type
g ether.pcap -l ether
g ether_ns_be.pcap -f pcap-ns --byte-order big -l ether
g vlan.pcap -l ether --vlan 100
g qinq.pcap -l ether --qinq 100,200
g sll.pcap -l sll
g sll2.pcap -l sll2
g raw.pcap -l raw
g raw12.pcap -l raw12
g raw14.pcap -l raw14
g ipv4.pcap -l ipv4
g ipv6.pcap -l ipv6
g null.pcap -l null
g null_be.pcap -l null --byte-order big
g loop.pcap -l loop
g v22.pcap -l ether --pcap-version 2.2
g kuz.pcap -l ether --kuznetzov
g snap.pcap -l ether --snaplen 50
g frag.pcap -l ether --frag 0.3 --ip-options 0.2
g trunc.pcap -l ether --truncate-last 10

# pcapng: several sections, byte orders, interfaces of different link types
g ether.pcapng -f pcapng -l ether
g be.pcapng -f pcapng --byte-order big -l ether
g mixed.pcapng -f pcapng -l ether,raw,sll2,unknown --sections 3 --byte-order mixed --unknown-blocks
g blocks.pcapng -f pcapng -l ether --pcapng-blocks epb,spb,opb
g tsresol.pcapng -f pcapng -l ether --tsresol 9 --tsoffset 1000
g tsres2.pcapng -f pcapng -l ether --tsresol 0x94
g trunc.pcapng -f pcapng -l ether --truncate-last 6

# gzip, found by content whatever the name
g ether.pcap.gz -l ether -z
g mixed.pcapng.gz -f pcapng -l ether,raw,sll2,unknown --sections 3 --byte-order mixed --unknown-blocks -z
g gzip_no_suffix -l ether -z

# damaged copies for salvage mode (on_error => 'skip'): one record each
cp "$dir/ether.pcap" "$dir/damaged_caplen.pcap"
perl test/damage.pl "$dir/damaged_caplen.pcap" 100 caplen >/dev/null
cp "$dir/ether.pcap" "$dir/damaged_header.pcap"
perl test/damage.pl "$dir/damaged_header.pcap" 200 garbage >/dev/null
cp "$dir/ether.pcapng" "$dir/damaged_block.pcapng"
perl test/damage.pl "$dir/damaged_block.pcapng" 50 blocklen >/dev/null
gzip -c "$dir/damaged_caplen.pcap" >"$dir/damaged_caplen.pcap.gz"

# not captures
printf 'this is not a capture file\n' >"$dir/not_a_capture.txt"
: >"$dir/empty.pcap"

# the crafted corpus of damaged files (test/corpus/, see its README.md)
mkdir -p "$dir/corpus"
chmod 755 "$dir/corpus"
cp test/corpus/*.pcap test/corpus/*.pcapng test/corpus/*.gz "$dir/corpus/"
chmod 644 "$dir/corpus/"*

# GeoIP test databases (mmdb), built with MaxMind's writer from test/geoip/*.csv
mmdb() {
	perl "$top/test/geoip/build_mmdb.pl" "$@"
}
mmdb --type country --csv "$top/test/geoip/country.csv" --out "$dir/geoip-country.mmdb"
mmdb --type country --ip-version 4 --csv "$top/test/geoip/country.csv" --out "$dir/geoip-country-v4.mmdb"
mmdb --type asn --csv "$top/test/geoip/asn.csv" --out "$dir/geoip-asn.mmdb"
mmdb --type ipinfo --csv "$top/test/geoip/ipinfo.csv" --out "$dir/geoip-ipinfo.mmdb"
mmdb --type country --no-country --csv "$top/test/geoip/country.csv" --out "$dir/geoip-nocountry.mmdb"
printf 'this is not a MaxMind DB file\n' >"$dir/geoip-not-mmdb.mmdb"
head -c 1000 "$dir/geoip-country.mmdb" >"$dir/geoip-truncated.mmdb"

# a bigger file for streaming and max_packets
"$gen" -s 11 -n 50000 -l ether -o "$dir/big.pcap"

# link types and encapsulations (test/t/022_links.t reads them beside
# tshark, test/t/020_tcpdump.t beside tcpdump); nanosecond time stamps, so
# that every record's time is its own
l() {
	g "$@" -f pcap-ns --non-ip 0.1 --ipv6 0.1 --frag 0.05
}
l ppp.pcap -l ppp
l ppp_variants.pcap -l ppp --link-variants
l ppp_hdlc.pcap -l ppp-hdlc
l chdlc.pcap -l chdlc
l frelay.pcap -l frelay
l frelay_variants.pcap -l frelay --link-variants
l fddi.pcap -l fddi
l arcnet.pcap -l arcnet
l arcnet_bsd.pcap -l arcnet-bsd
l wlan.pcap -l wlan
l radiotap.pcap -l radiotap
l ppi.pcap -l ppi
l pktap.pcap -l pktap
l ipnet.pcap -l ipnet
l nflog.pcap -l nflog
l nflog_be.pcap -l nflog --byte-order big
l ipoib.pcap -l ipoib
l pppoe.pcap -l ether --pppoe 4660
l pppoe_qinq.pcap -l ether --pppoe 4660 --qinq 100,200
l mpls.pcap -l ether --mpls 1000,2000
l mpls_ppp.pcap -l ppp --mpls 17
l pbb.pcap -l ether --pbb 5000 --vlan 30
l vntag.pcap -l ether --vntag 77 --vlan 10
l arista.pcap -l ether --arista --vlan 20
l macsec.pcap -l ether --macsec integ --vlan 40
l macsec_encrypted.pcap -l ether --macsec encrypted
l nsh.pcap -l ether --nsh --vlan 50
l nsh_variants.pcap -l ether --nsh --link-variants
l mpls_variants.pcap -l ether --mpls 1000,2000 --link-variants
l mpls_ppp_variants.pcap -l ppp --mpls 17 --link-variants
# every framing each link type allows, libpcap's filters or not (PPP's are
# in ppp_variants.pcap: tcpdump reads its octet-stuffed frames, tshark not)
g links_variants.pcapng -n 2000 -f pcapng --tsresol 9 --sections 2 --byte-order mixed \
	--non-ip 0.1 --ipv6 0.1 --frag 0.05 --link-variants --pppoe 7 \
	-l ether,ppp-hdlc,chdlc,fddi,arcnet,arcnet-bsd,wlan,radiotap,ppi,pktap,ipnet,nflog
ls -l "$dir" >/dev/null
