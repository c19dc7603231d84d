#!/bin/sh
# `make demo`, until the demo analysis lands: generate a day of honeypot
# capture with mirai_gen, load it in a throw-away cluster with pcap_read
# and with mirai_load, and print the counts beside tcpdump's.
set -eu
top=$(pwd)
work=$(mktemp -d /tmp/mirai_demo.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
bpf='tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535'

echo "generating a capture: 200000 packets, 70% Mirai, pcapng, gzip"
"$top/src/bin/mirai_gen" -s 2024 -n 200000 -f pcapng -z -o "$work/day.pcapng.gz"
chmod 644 "$work/day.pcapng.gz"

MIRAI_DEMO_FILE="$work/day.pcapng.gz" MIRAI_DEMO_BPF="$bpf" \
pg_virtualenv -t -v 15 sh -c '
	set -e
	psql -X -q -c "CREATE EXTENSION mirai_ext" -c "CREATE TABLE capture (p packet)" \
		-c "CREATE TABLE loaded (p packet)"
	psql -X -q -c "INSERT INTO capture SELECT pcap_read('"'"'$MIRAI_DEMO_FILE'"'"')"
	mirai_load -q -d postgres -t loaded "$MIRAI_DEMO_FILE"
	psql -X -c "SELECT (SELECT count(*) FROM capture) AS pcap_read_packets,
	                   (SELECT count(*) FROM capture WHERE is_mirai(p)) AS mirai,
	                   (SELECT count(*) FROM loaded) AS mirai_load_packets,
	                   (SELECT count(*) FROM loaded WHERE is_mirai(p)) AS mirai_loaded"
	echo "tcpdump, same file: $(zcat "$MIRAI_DEMO_FILE" | tcpdump -r - -nn "$MIRAI_DEMO_BPF" 2>/dev/null | wc -l) Mirai packets"
	psql -X -c "SELECT packet_src(p) AS source, count(*) AS packets FROM capture
	            WHERE is_mirai(p) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
'
