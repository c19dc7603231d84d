#!/bin/sh
# Flat rollups benchmark: the study-shaped capture plus one flooded day of
# 1 M distinct Mirai-shaped sources (what a /8 telescope, or anyone forging
# Mirai SYNs, produces), each question's server time beside its bar.
#
#   sh test/bench/flat.sh                       the study's size (2.1 M packets)
#   BENCH_COPIES=54 sh test/bench/flat.sh       about 100 M packets (make bench-scale)
#   BENCH_FLOOD=1000000                         sources of the flooded day
#   BENCH_WORK_MEM=64MB                         the server's work_mem
#   BENCH_KEEP=256MB                            mirai_ext.keep_free_memory of the
#                                               load sessions (mirai_load's; 0:
#                                               the C library's thresholds)
#   BENCH_LOAD_WORK_MEM=4MB                     work_mem of the load sessions
#                                               (mirai_load's; empty: the server's)
#   BENCH_QUERY_KEEP=64MB                       also ask each question in sessions
#                                               that keep that much freed memory
#
# 1. Makes the study-shaped capture (test/bench/rollup_data.sql, BENCH_COPIES
#    copies with different seeds) and the flooded day, and writes them as
#    binary COPY files, one per UTC day: what mirai_load streams.
# 2. Loads the study's files into a plain table and into a table tracked in
#    Asia/Tokyo, one transaction each, which goes first alternating, and
#    then the flooded day into each: load time ratios, side by side.
# 3. Asks each question 5 times and reports the fastest server time
#    (EXPLAIN ANALYZE: planning plus execution), beside its bar.
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=2GB' -o 'max_wal_size=8GB' \
		-o "work_mem=${BENCH_WORK_MEM:-64MB}" sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
copies=${BENCH_COPIES:-1}
flood=${BENCH_FLOOD:-1000000}
rounds=${BENCH_ROUNDS:-5}
keep=${BENCH_KEEP:-256MB}
loadmem=${BENCH_LOAD_WORK_MEM-256MB}
qkeep=${BENCH_QUERY_KEEP:-}
work=$(mktemp -d /tmp/mirai_flat.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
db=mirai_flat
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

. "$top/test/bench/common.sh"

study_tables

echo "== data: $copies cop(y/ies) of the study-shaped capture and a day of $flood sources"
t0=$(now)
study_staging staging "$copies"
study_day_files staging "$work" study-
npackets=$($P -A -t -c "SELECT count(*) FROM staging")
# the flooded day: one Mirai SYN from each of $flood addresses (spread over
# the IPv4 space, each once), on 2024-12-20 in Tokyo
$P -c "COPY (SELECT format('2024-12-20T%s:%s:%sZ tcp %s:%s > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=%s len=54',
                lpad((i % 9)::text, 2, '0'), lpad((i % 60)::text, 2, '0'), lpad((i / 60 % 60)::text, 2, '0'),
                host('1.0.0.0'::inet + (i::bigint * 3203 % 3707764736)), 1025 + i % 64000, i % 65536)::packet
             FROM generate_series(1, $flood) i) TO '$work/flood.bin' (FORMAT binary)"
$P -c "DROP TABLE staging"
printf 'made %s study packets in %s files and the flooded day, %.0f s\n' "$npackets" \
	"$(ls "$work"/study-*.bin | wc -l)" "$(echo "$(now) - $t0" | bc)"

# each load in a session set as mirai_load's are: it keeps the memory it
# frees, and its transition tables go to a temporary file past 4 MB
session="SET mirai_ext.keep_free_memory = '$keep';"
[ -z "$loadmem" ] || session="$session SET work_mem = '$loadmem';"
{
	echo "$session"
	for f in "$work"/study-*.bin; do echo "COPY :tbl FROM '$f' (FORMAT binary);"; done
} >"$work/study.sql"
printf '%s\n' "$session" "COPY :tbl FROM '$work/flood.bin' (FORMAT binary);" >"$work/flood.sql"
load() {
	s=$(now)
	$P -v tbl="$1" -f "$work/$2.sql"
	echo "$(now) - $s" | bc
}

echo "== load: the study's files, one COPY transaction each, then the flooded day, $rounds rounds"
: >"$work/rounds.t"
r=0
while [ "$r" -lt "$rounds" ]; do
	$P -c "TRUNCATE base, tracked" -c "CHECKPOINT"
	if [ $((r % 2)) -eq 0 ]; then
		b=$(load base study)
		t=$(load tracked study)
		$P -c "CHECKPOINT"
		fb=$(load base flood)
		ft=$(load tracked flood)
	else
		t=$(load tracked study)
		b=$(load base study)
		$P -c "CHECKPOINT"
		ft=$(load tracked flood)
		fb=$(load base flood)
	fi
	echo "$b $t $fb $ft" >>"$work/rounds.t"
	r=$((r + 1))
done
awk '{ printf "round %d: the study without %.2f s, with %.2f s: %+.0f%%; the flooded day without %.2f s, with %.2f s: %.2fx\n",
	NR, $1, $2, ($2 / $1 - 1) * 100, $3, $4, $4 / $3 }' "$work/rounds.t"
rw=$(awk '{ print $2 / $1 }' "$work/rounds.t" | median)
rf=$(awk '{ print $4 / $3 }' "$work/rounds.t" | median)
printf 'study load with tracking: %+.0f%% (median of the per-round ratios; bar +50%%)\n' "$(echo "($rw - 1) * 100" | bc -l)"
printf 'flooded day (%s sources in one statement) with tracking: %.2fx (median of the per-round ratios; bar 2x)\n' \
	"$flood" "$rf"
$P -c "DROP TABLE base" -c "VACUUM ANALYZE"
$P -A -t -c "SELECT format('rollups: %s day rows, %s parts (largest %s), dictionary %s; packet table %s',
	(SELECT count(*) FROM mirai_rollup_day), (SELECT count(*) FROM mirai_rollup_part),
	(SELECT pg_size_pretty(max(octet_length(entries))::bigint) FROM mirai_rollup_part),
	pg_size_pretty(pg_total_relation_size('mirai_rollup_dict')), pg_size_pretty(pg_total_relation_size('tracked')))"

# fastest of 5 server times (planning + execution), ms; with
# BENCH_QUERY_KEEP, then the same in sessions that keep that much of the
# memory they free (mirai_ext.keep_free_memory)
qtime() {
	server_ms 5 "$1"
	if [ -n "$qkeep" ]; then
		(
			PGOPTIONS="$PGOPTIONS -c mirai_ext.keep_free_memory=$qkeep"
			export PGOPTIONS
			server_ms 5 "$1"
		)
	fi
}

# a new packet on the flooded day from a new source, each time
ins() {
	echo "INSERT INTO tracked VALUES ('2024-12-20T05:00:00Z tcp 100.64.$1.$2:4000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54')"
}
t_ins=$(for k in 1 2 3 4 5; do echo "EXPLAIN (ANALYZE, TIMING OFF) $(ins 7 $k);"; done |
	$P -A -t 2>&1 | awk '/^Planning Time:/ { p = $3 } /^Execution Time:/ { print p + $3 }' | sort -n | head -n 1)

F0="'2024-12-20 00:00+09'::timestamptz"
F1="'2024-12-21 00:00+09'::timestamptz"
S0="'2024-11-16 00:00+09'::timestamptz"
S1="'2025-02-16 00:00+09'::timestamptz"
echo "== questions (fastest of 5, server ms; study $npackets packets plus the flooded day)"
row() {
	set -- "$1" $2 "$3"
	if [ $# -eq 4 ]; then
		printf '%-62s %10.2f %10.2f %8s\n' "$1" "$2" "$3" "$4"
	else
		printf '%-62s %10.2f %8s\n' "$1" "$2" "$3"
	fi
}
if [ -n "$qkeep" ]; then
	printf '%-62s %10s %10s %8s\n' question ms "ms, $qkeep" bar
else
	printf '%-62s %10s %8s\n' question ms bar
fi
row "one-row INSERT into the flooded day" "$t_ins" 5
row "top 10 sources of the flooded day (mirai_top_sources)" \
	"$(qtime "SELECT * FROM mirai_top_sources($F0, $F1, 10, 'tracked')")" 10
row "top 10 sources over the 92 days (mirai_top_sources)" \
	"$(qtime "SELECT * FROM mirai_top_sources($S0, $S1, 10, 'tracked')")" 10
row "mirai_new_sources" "$(qtime "SELECT * FROM mirai_new_sources WHERE tbl = 'tracked'::regclass")" 10
row "top 10 bots by packets (mirai_top_sources over all days)" \
	"$(qtime "SELECT * FROM mirai_top_sources('-infinity', 'infinity', 10, 'tracked')")" 10
busiest=$($P -A -t -c "SELECT host(src) FROM mirai_top_sources('-infinity', 'infinity', 1, 'tracked')")
row "the busiest bot over all days (mirai_source)" \
	"$(qtime "SELECT * FROM mirai_source('$busiest', of_table => 'tracked')")" 10
row "one source of the flooded day over all days (mirai_source)" \
	"$(qtime "SELECT * FROM mirai_source('1.0.0.0'::inet + 3203 * 500000, of_table => 'tracked')")" 10
# a lookup's first call in a new session (catalogs, plans, parts not yet
# read), and another source's right after it: server time of the second
lookups() {
	for k in "$@"; do
		echo "EXPLAIN (ANALYZE, TIMING OFF) SELECT * FROM mirai_source('1.0.0.0'::inet + 3203 * $k::bigint, of_table => 'tracked');"
	done | $P -A -t | awk '/^Planning Time:/ { p = $3 } /^Execution Time:/ { print p + $3 }'
}
row "another source, the first call of a session" "$(lookups 500001)" -
row "another source, the second call of a session" "$(lookups 500002 700003 | tail -n 1)" -
row "one source (mirai_bots view, WHERE src = ...)" \
	"$(qtime "SELECT * FROM mirai_bots WHERE tbl = 'tracked'::regclass AND src = '1.0.0.0'::inet + 3203 * 500000")" 10
row "top 10 bots (mirai_bots view, ORDER BY packets DESC LIMIT 10)" \
	"$(qtime "SELECT * FROM mirai_bots WHERE tbl = 'tracked'::regclass ORDER BY packets DESC LIMIT 10")" 10
row "mirai_daily" "$(qtime "SELECT * FROM mirai_daily WHERE tbl = 'tracked'::regclass")" 10
row "mirai_countries" "$(qtime "SELECT * FROM mirai_countries WHERE tbl = 'tracked'::regclass")" 10
echo "-- the same questions through the views and functions that list every source:"
row "top 10 of the flooded day (mirai_sources view, ORDER BY LIMIT)" \
	"$(qtime "SELECT * FROM mirai_sources WHERE tbl = 'tracked'::regclass AND day = '2024-12-20' ORDER BY packets DESC LIMIT 10")" -
row "top 10 over the 92 days (mirai_sources(from, to) LIMIT 10)" \
	"$(qtime "SELECT * FROM mirai_sources($S0, $S1, 'tracked') LIMIT 10")" -
psql -X -q -d postgres -c "DROP DATABASE $db"
