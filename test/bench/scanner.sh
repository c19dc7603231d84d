#!/bin/sh
# packet_scanner against is_mirai over the same 2.1 M packets, side by side
# (figures and method in test/bench/README.md, "Scanner fingerprints").
#
#   BENCH_ONLY=scanner make bench      (or: sh test/bench/scanner.sh)
#
# 1. A capture from mirai_gen (-s 42, its default mix: 70% Mirai, other TCP,
#    UDP, ICMP, IPv6, fragments; BENCH_RECORDS records, default 2,143,000,
#    of which about 2,100,000 are IP packets), loaded with pcap_read.
# 2. BENCH_ROUNDS rounds (default 7), each one psql session that asks, in an
#    order that rotates from round to round:
#      scan        SELECT count(*) FROM capture                  (the scan alone)
#      is_mirai    SELECT count(*) FROM capture WHERE is_mirai(p)
#      scanner     SELECT count(*) FROM capture WHERE packet_scanner(p) IS NOT NULL
#      mirai_by    SELECT is_mirai(p), count(*) FROM capture GROUP BY 1
#      mirai_tby   SELECT CASE WHEN is_mirai(p) THEN 'mirai' END, count(*) FROM capture GROUP BY 1
#      scanner_by  SELECT packet_scanner(p), count(*) FROM capture GROUP BY 1
#    serial plans, JIT off.  mirai_tby is is_mirai's answer as a text key:
#    grouping by text costs more than grouping by a boolean, whatever
#    computes the key.  Each query is timed by its backend's CPU time
#    (/proc/self/schedstat read with pg_read_file, nanoseconds: the server
#    runs on this machine), which the other work of a shared machine
#    disturbs far less than the wall clock; the wall clock is printed too.
# 3. The medians; the bar: packet_scanner costs at most 1.2 times is_mirai,
#    whole query against whole query of the same shape (scanner against
#    is_mirai, scanner_by against mirai_tby).  Exits 1 when a ratio is above
#    it.
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=1GB' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
records=${BENCH_RECORDS:-2143000}
rounds=${BENCH_ROUNDS:-7}
gen=${MIRAI_GEN:-$top/src/bin/mirai_gen}
work=$(mktemp -d /tmp/mirai_bench_scanner.XXXXXX)
chmod 755 "$work"
db=mirai_bench_scanner
trap 'rm -rf "$work"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT INT TERM
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== data: $records records (mirai_gen -s 42)"
"$gen" -s 42 -n "$records" -o "$work/capture.pcap"
chmod 644 "$work/capture.pcap"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
$P -c "CREATE EXTENSION mirai_ext"
$P -c "CREATE TABLE capture AS SELECT pcap_read('$work/capture.pcap') AS p" -c "VACUUM ANALYZE capture"
rm -f "$work/capture.pcap"
$P -A -t -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE is_mirai(p)), pg_size_pretty(pg_table_size('capture')) FROM capture" |
	{ read -r n m size; echo "$n packets, $m Mirai, table $size"; }
$P -c "SELECT coalesce(packet_scanner(p), '(none)') AS first_rule, count(*) FROM capture GROUP BY 1 ORDER BY 2 DESC"

cat >"$work/queries" <<'EOF'
scan|SELECT count(*) FROM capture
is_mirai|SELECT count(*) FROM capture WHERE is_mirai(p)
scanner|SELECT count(*) FROM capture WHERE packet_scanner(p) IS NOT NULL
mirai_by|SELECT is_mirai(p), count(*) FROM capture GROUP BY 1
mirai_tby|SELECT CASE WHEN is_mirai(p) THEN 'mirai' END, count(*) FROM capture GROUP BY 1
scanner_by|SELECT packet_scanner(p), count(*) FROM capture GROUP BY 1
EOF
nq=$(wc -l <"$work/queries")

# one session per round: warm-up, then every query once, the order rotated
r=1
while [ "$r" -le "$rounds" ]; do
	{
		echo "SET jit = off;"
		echo "SET max_parallel_workers_per_gather = 0;"
		echo "SELECT count(*) FROM capture \\g /dev/null"
		i=0
		while [ "$i" -lt "$nq" ]; do
			line=$(sed -n "$(( (i + r) % nq + 1 ))p" "$work/queries")
			name=${line%%|*}
			query=${line#*|}
			echo "SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint AS c0, clock_timestamp() AS w0 \\gset"
			echo "$query \\g /dev/null"
			echo "SELECT '$name', split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - :c0,"
			echo "       round(extract(epoch FROM clock_timestamp() - :'w0') * 1000, 1);"
			i=$((i + 1))
		done
	} >"$work/round.sql"
	$P -A -t -F ' ' -f "$work/round.sql" | sed "s/^/$r /" >>"$work/times"
	r=$((r + 1))
done

ms() { awk -v n="$1" '$2 == n {print $3 / 1e6}' "$work/times" | median; }
wall() { awk -v n="$1" '$2 == n {print $4}' "$work/times" | median; }
echo "== $rounds rounds, median backend CPU time (wall clock) per query"
for name in scan is_mirai scanner mirai_by mirai_tby scanner_by; do
	printf '%-11s %8.1f ms  (%s ms)\n' "$name" "$(ms $name)" "$(wall $name)"
done
n=$($P -A -t -c "SELECT count(*) FROM capture")
ratio=$(echo "$(ms scanner) / $(ms is_mirai)" | bc -l)
ratio_by=$(echo "$(ms scanner_by) / $(ms mirai_tby)" | bc -l)
ratio_bool=$(echo "$(ms scanner_by) / $(ms mirai_by)" | bc -l)
beyond_mirai=$(echo "($(ms is_mirai) - $(ms scan)) * 1000000 / $n" | bc -l)
beyond_scanner=$(echo "($(ms scanner) - $(ms scan)) * 1000000 / $n" | bc -l)
printf 'packet_scanner / is_mirai: %.2fx (WHERE), %.2fx (GROUP BY, text keys); bar 1.2x\n' "$ratio" "$ratio_by"
printf '(GROUP BY packet_scanner against GROUP BY is_mirai as a boolean: %.2fx)\n' "$ratio_bool"
printf 'per packet beyond the scan: is_mirai %.1f ns, packet_scanner %.1f ns\n' "$beyond_mirai" "$beyond_scanner"
if [ "$(echo "$ratio > 1.2 || $ratio_by > 1.2" | bc)" = 1 ]; then
	echo "packet_scanner costs more than 1.2 times is_mirai"
	exit 1
fi
