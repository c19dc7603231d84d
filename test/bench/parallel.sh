#!/bin/sh
# Parallel scans of a packet table: the planner's estimates, the plans it
# picks with default settings, and the speed-up of 2 workers over a serial
# plan (figures and method in test/bench/README.md).
#
#   sh test/bench/parallel.sh       (or BENCH_ONLY=parallel make bench)
#
# 1. A capture of BENCH_PACKETS (default 2,100,000) records from mirai_gen
#    spread over 92 days (about 2.06 M IP packets, 70% of them Mirai's),
#    loaded into `capture (p packet)`; the same rows as a built-in reference
#    table `plain (ts timestamptz, mirai boolean)`.
# 2. After VACUUM ANALYZE, then again after README's CREATE STATISTICS (the
#    two per-day expressions and is_mirai(p)) and ANALYZE: the estimated and
#    the true rows of is_mirai(p) and groups of each per-day count, and the
#    plan's shape.
# 3. BENCH_ROUNDS rounds (default 9) of each per-day count, each round one
#    psql session running it with max_parallel_workers_per_gather = 0
#    (serial) and with the defaults (2 workers), which goes first
#    alternating; reports the medians, their ratio and the spread of the
#    per-round ratios.  The built-in table runs the same queries: what this
#    machine gives a query of the same shape on built-in types.
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=1GB' -o 'max_worker_processes=8' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
packets=${BENCH_PACKETS:-2100000}
rounds=${BENCH_ROUNDS:-9}
gen=${MIRAI_GEN:-$top/src/bin/mirai_gen}
work=$(mktemp -d /tmp/mirai_bench_parallel.XXXXXX)
chmod 755 "$work"
db=mirai_bench_parallel
trap 'rm -rf "$work"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT INT TERM
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 92 days from 2024-11-16 00:00 UTC: the rate that spreads the records over them
rate=$(echo "$packets / (92 * 86400)" | bc -l)
echo "== data: $packets records over 92 days (mirai_gen -s 42 --rate $(printf '%.4f' "$rate"))"
"$gen" -s 42 -n "$packets" --start 1731715200 --rate "$rate" -o "$work/capture.pcap"
chmod 644 "$work/capture.pcap"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
$P -c "CREATE EXTENSION mirai_ext"
$P -c "CREATE TABLE capture (p packet)" \
	-c "INSERT INTO capture SELECT pcap_read('$work/capture.pcap')" \
	-c "CREATE TABLE plain AS SELECT packet_time(p) AS ts, is_mirai(p) AS mirai FROM capture" \
	-c "VACUUM ANALYZE capture" -c "VACUUM ANALYZE plain"
rm -f "$work/capture.pcap"
$P -A -t -c "SELECT format('%s packets, %s Mirai (%s%%), %s days; table %s, plain %s',
	count(*), count(*) FILTER (WHERE is_mirai(p)),
	round(100.0 * count(*) FILTER (WHERE is_mirai(p)) / count(*), 1),
	count(DISTINCT packet_time(p)::date),
	pg_size_pretty(pg_relation_size('capture')), pg_size_pretty(pg_relation_size('plain'))) FROM capture"

Q1="SELECT packet_time(p)::date, count(*) FROM capture WHERE is_mirai(p) GROUP BY 1"
Q2="SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date, count(*) FROM capture WHERE is_mirai(p) GROUP BY 1"
B1="SELECT ts::date, count(*) FROM plain WHERE mirai GROUP BY 1"
B2="SELECT (ts AT TIME ZONE 'Asia/Tokyo')::date, count(*) FROM plain WHERE mirai GROUP BY 1"

# the planner's estimate of a query's rows (top node) and its plan's shape
estimate() {
	$P -A -t -c "EXPLAIN $1" >"$work/plan"
	est=$(sed -n '1s/.*rows=\([0-9]*\).*/\1/p' "$work/plan")
	shape=$(sed -n '/^JIT:/q; s/^ *\(->  \)\{0,1\}\([A-Z][A-Za-z ]*[a-z]\).*/\2/p' "$work/plan" |
		grep -v '^\(Filter\|Group Key\|Sort Key\|Workers Planned\)' | paste -sd '<' - | sed 's/</ < /g')
	grep -q '^JIT:' "$work/plan" && shape="$shape (JIT)"
	echo "$est|$shape"
}
report() {
	echo "-- $1"
	truth=$($P -A -t -c "SELECT count(*) FROM capture WHERE is_mirai(p)")
	e=$(estimate "SELECT * FROM capture WHERE is_mirai(p)")
	printf '   is_mirai(p): estimated %s rows, true %s (x%.2f)\n' "${e%%|*}" "$truth" "$(echo "${e%%|*} / $truth" | bc -l)"
	for q in "$Q1" "$Q2"; do
		truth=$($P -A -t -c "SELECT count(*) FROM ($q) s")
		e=$(estimate "$q")
		printf '   %s\n      groups: estimated %s, true %s; plan: %s\n' "$q" "${e%%|*}" "$truth" "${e#*|}"
	done
}

echo "== estimates and plans with default settings"
report "after VACUUM ANALYZE"
$P -c "CREATE STATISTICS capture_day ON (packet_time(p)::date) FROM capture" \
	-c "CREATE STATISTICS capture_day_tokyo ON ((packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date) FROM capture" \
	-c "CREATE STATISTICS capture_mirai ON (is_mirai(p)) FROM capture" \
	-c "CREATE STATISTICS plain_day ON (ts::date) FROM plain" \
	-c "CREATE STATISTICS plain_day_tokyo ON ((ts AT TIME ZONE 'Asia/Tokyo')::date) FROM plain" \
	-c "ANALYZE capture" -c "ANALYZE plain"
report "after README's CREATE STATISTICS (the two day expressions, is_mirai(p)) and ANALYZE"

# serial and parallel, one session a round, which goes first alternating
side_by_side() {
	q=$1
	: >"$work/s.t"
	: >"$work/p.t"
	r=0
	while [ "$r" -lt "$rounds" ]; do
		{
			printf '%s\n' '\timing on' '\o /dev/null'
			if [ $((r % 2)) = 0 ]; then
				printf '%s\n' 'SET max_parallel_workers_per_gather = 0;' "$q;" 'RESET max_parallel_workers_per_gather;' "$q;"
			else
				printf '%s\n' 'RESET max_parallel_workers_per_gather;' "$q;" 'SET max_parallel_workers_per_gather = 0;' "$q;"
			fi
		} | $P 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$work/r.t"
		# the times of: SET/RESET, the query, SET/RESET, the query
		a=$(sed -n 2p "$work/r.t")
		b=$(sed -n 4p "$work/r.t")
		if [ $((r % 2)) = 0 ]; then
			echo "$a" >>"$work/s.t"
			echo "$b" >>"$work/p.t"
		else
			echo "$b" >>"$work/s.t"
			echo "$a" >>"$work/p.t"
		fi
		r=$((r + 1))
	done
	ts=$(median <"$work/s.t")
	tp=$(median <"$work/p.t")
	ratios=$(paste "$work/s.t" "$work/p.t" | awk '{ printf "%.2f\n", $1 / $2 }')
	printf '%s\n   serial %.0f ms, 2 workers %.0f ms: %.2fx (per round %s; median %.2fx)\n' "$q" "$ts" "$tp" \
		"$(echo "$ts / $tp" | bc -l)" "$(echo "$ratios" | sort -n | sed -n '1p;$p' | paste -sd '-' -)" \
		"$(echo "$ratios" | median)"
}

echo "== serial vs 2 workers ($rounds rounds, medians; load average $(cut -d' ' -f1-3 /proc/loadavg))"
for q in "$Q1" "$Q2" "$B1" "$B2"; do
	side_by_side "$q"
done
printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
