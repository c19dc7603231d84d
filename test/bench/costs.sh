#!/bin/sh
# What each packet function costs per call, in units of int4pl: the basis of
# their COST markings (figures and method in test/bench/README.md).
#
#   sh test/bench/costs.sh       (or BENCH_ONLY=costs make bench)
#
# 1. A capture of BENCH_PACKETS (default 2,100,000) records from mirai_gen
#    (its default mix: 70% Mirai, other TCP, UDP, ICMP, IPv6, fragments),
#    loaded with INSERT ... SELECT pcap_read(...), beside two int columns.
# 2. BENCH_ROUNDS rounds (default 7), each one psql session running, in an
#    order that rotates from round to round, SELECT count(E) FROM capture
#    for every expression E, serial plans, JIT off (the planner's costs are
#    those of interpreted expressions).  Each query is timed by the CPU time
#    of its backend (/proc/PID/schedstat, nanoseconds: the server runs on
#    this machine), which other work on a shared machine disturbs far less
#    than the wall clock; the wall clock is printed beside it.
# 3. Per expression: the median CPU time, minus that of count(p) (the same
#    scan, the same deforming), per row, divided by the cost of one int4pl
#    call (count(i + j + ... + j) with 20 additions, minus count(i), over
#    20): COST 1 is what PostgreSQL charges for int4pl.
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=1GB' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
packets=${BENCH_PACKETS:-2100000}
rounds=${BENCH_ROUNDS:-7}
gen=${MIRAI_GEN:-$top/src/bin/mirai_gen}
work=$(mktemp -d /tmp/mirai_bench_costs.XXXXXX)
chmod 755 "$work"
db=mirai_bench_costs
trap 'rm -rf "$work"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT INT TERM
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== data: $packets records (mirai_gen -s 42)"
"$gen" -s 42 -n "$packets" -o "$work/capture.pcap"
chmod 644 "$work/capture.pcap"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
$P -c "CREATE EXTENSION mirai_ext"
$P -c "CREATE TABLE capture AS SELECT p, (random() * 1000)::int AS i, (random() * 1000)::int AS j
	FROM (SELECT pcap_read('$work/capture.pcap') AS p) s" -c "VACUUM ANALYZE capture"
n=$($P -A -t -c "SELECT count(*) FROM capture")
rm -f "$work/capture.pcap"

chain="i$(printf '+ j %.0s' $(seq 20))"
# one expression a line; the first three are the baselines
cat >"$work/exprs" <<EOF
p
i
$chain
is_mirai(p)
packet_is_fragment(p)
packet_time(p)
packet_time_ns(p)
packet_src(p)
packet_dst(p)
packet_sport(p)
packet_dport(p)
packet_proto(p)
packet_ipver(p)
packet_seq(p)
packet_ack(p)
packet_flags(p)
packet_flags_text(p)
packet_window(p)
packet_ttl(p)
packet_ipid(p)
packet_len(p)
packet_caplen(p)
packet_vlan(p)
packet_icmp_type(p)
packet_icmp_code(p)
packet_fields(p)
packet_scanner(p)
packet_scanners(p)
p = p
p < p
packet_cmp(p, p)
packet_hash(p)
p::text
p::text::packet
packet_time(p)::date
(packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date
EOF
nexpr=$(wc -l <"$work/exprs")

echo "== $rounds rounds of count(E) over $n rows (serial, JIT off)"
: >"$work/all"
r=0
while [ "$r" -lt "$rounds" ]; do
	# rotate the order: expression k runs at position (k + 5 r) mod nexpr
	awk -v r="$r" -v n="$nexpr" '{ print (NR - 1 + r * 5) % n "\t" NR "\t" $0 }' "$work/exprs" |
		sort -n >"$work/order"
	# the backend's CPU nanoseconds before and after each query
	cpu="\\! awk '{ print \$1 }' /proc/\$MIRAI_BENCH_PID/schedstat >>$work/cpu"
	: >"$work/cpu"
	{
		printf '%s\n' 'SET max_parallel_workers_per_gather = 0;' 'SET jit = off;' \
			'SELECT pg_backend_pid() AS pid \gset' '\setenv MIRAI_BENCH_PID :pid' '\timing on' '\o /dev/null'
		printf '%s\n' 'SELECT count(p) FROM capture;'	# warm the cache
		cut -f3- "$work/order" | while IFS= read -r e; do
			printf '%s\nSELECT count(%s) FROM capture;\n%s\n' "$cpu" "$e" "$cpu"
		done
	} | $P 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n "$nexpr" >"$work/times"
	awk 'NR % 2 == 1 { b = $1 } NR % 2 == 0 { print ($1 - b) / 1000000 }' "$work/cpu" >"$work/cpus"
	cut -f2 "$work/order" | paste - "$work/cpus" "$work/times" >>"$work/all"
	r=$((r + 1))
done

# median CPU ms (column 2) or wall ms (column 3) of expression k
med() { awk -v k="$1" -v c="${2:-2}" '$1 == k { print $c }' "$work/all" | median; }
tp=$(med 1)
ti=$(med 2)
tc=$(med 3)
unit=$(echo "($tc - $ti) / 20" | bc -l)
printf '%-52s %8s %8s %8s %8s\n' "expression" "CPU ms" "wall ms" "ns/call" "int4pl"
printf '%-52s %8.1f %8.1f\n' "count(p) (baseline)" "$tp" "$(med 1 3)"
printf '%-52s %8.1f %8.1f %8.1f %8.1f\n' "int4pl (20 in a chain, per call)" "$tc" "$(med 3 3)" \
	"$(echo "$unit * 1000000 / $n" | bc -l)" 1
k=4
while [ "$k" -le "$nexpr" ]; do
	e=$(sed -n "${k}p" "$work/exprs")
	t=$(med "$k")
	printf '%-52s %8.1f %8.1f %8.1f %8.1f\n' "$e" "$t" "$(med "$k" 3)" \
		"$(echo "($t - $tp) * 1000000 / $n" | bc -l)" "$(echo "($t - $tp) / $unit" | bc -l)"
	k=$((k + 1))
done
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
