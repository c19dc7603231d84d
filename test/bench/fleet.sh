#!/bin/sh
# Fleet benchmark: a coordinator reading three sensors' rollups (README, "Many servers").
#
#   BENCH_ONLY=fleet make bench      # or: sh test/bench/fleet.sh
#
# 1. Three sensors, each a database with its own backends, as postgres_fdw
#    reaches another server: a third of the study-shaped capture each
#    (test/bench/rollup_data.sql at scale 1/3, seeds 0.43, 0.44, 0.45: 92
#    days, about 491 k Mirai packets each, sources overlapping), loaded into
#    a table tracked in Asia/Tokyo; the same packets, copied in binary, into
#    one tracked table of a fourth database, the single server.
# 2. The coordinator: the set-up of README, a foreign partition per sensor,
#    tracked; its views are checked to equal the single server's.
# 3. Each question, BENCH_RUNS times (default 15) in one session (its
#    connections to the sensors open), the median of psql's \timing; the
#    same on the single server, the baseline; then mirai_daily as the first
#    query of BENCH_RUNS new sessions (postgres_fdw connects to the three
#    sensors each time).
# 4. A third of the study loaded into the coordinator's local partition,
#    beside a plain and a tracked table (BENCH_FLEET_LOAD=0 skips it).
# BENCH_FLEET_SCALE=10 gives each sensor ten times as much (a third of 10
# times the study, test/bench/growth.sh); BENCH_FLEET_TSV=FILE also writes
# the figures there, one line a question: name, fleet's fastest and median
# ms, the single server's fastest and median ms (and a line "packets N").
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=1GB' -o 'max_wal_size=8GB' \
		-o 'work_mem=64MB' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${BENCH_RUNS:-15}
fscale=$(awk "BEGIN { printf \"%.6f\", 0.333333 * ${BENCH_FLEET_SCALE:-1} }")
tsv=${BENCH_FLEET_TSV:-/dev/null}
export PGOPTIONS='-c client_min_messages=warning'
port=$(psql -X -A -t -d postgres -c 'SHOW port')
host=$(psql -X -A -t -d postgres -c "SELECT coalesce(nullif(split_part(current_setting('unix_socket_directories'), ',', 1), ''), 'localhost')")
P="psql -X -q -v ON_ERROR_STOP=1"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
work=$(mktemp /tmp/mirai_fleet_bench.XXXXXX)
trap 'rm -f "$work" "$work.f" "$work.s"' EXIT INT TERM

for d in fleet_s1 fleet_s2 fleet_s3 fleet_single fleet_coord; do
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d"
done

echo "== data: three sensors, a third of the study-shaped capture each (rollup_data.sql at scale $fscale)"
$P -d fleet_single -c "CREATE EXTENSION mirai_ext" \
	-c "CREATE TABLE capture (sensor text, p packet)" \
	-c "SELECT mirai_track('capture', time_zone => 'Asia/Tokyo')" >/dev/null
i=1
for s in s1 s2 s3; do
	db=fleet_$s
	$P -d $db -c "CREATE EXTENSION mirai_ext" \
		-c "CREATE TABLE capture (sensor text DEFAULT '$s', p packet)" \
		-c "SELECT mirai_track('capture', time_zone => 'Asia/Tokyo')" \
		-c "CREATE TABLE staging (p packet)" >/dev/null
	$P -d $db -v tbl=staging -v seed="0.$((42 + i))" -v shift_days=0 -v scale="$fscale" \
		-f "$top/test/bench/rollup_data.sql" >/dev/null
	$P -d $db -c "INSERT INTO capture (p) SELECT p FROM staging ORDER BY p"
	$P -d $db -c "COPY (SELECT p FROM staging ORDER BY p) TO STDOUT (FORMAT binary)" |
		$P -d fleet_single -c "ALTER TABLE capture ALTER sensor SET DEFAULT '$s'" \
			-c "COPY capture (p) FROM STDIN (FORMAT binary)"
	$P -d $db -c "DROP TABLE staging" -c "VACUUM ANALYZE"
	$P -d $db -A -t -c "SELECT format('sensor $s: %s Mirai packets, %s (day, source) pairs, %s of packed entries',
		sum(packets), sum(sources), (SELECT pg_size_pretty(sum(length(entries))) FROM mirai_fleet_parts))
		FROM mirai_daily"
	i=$((i + 1))
done
$P -d fleet_single -c "VACUUM ANALYZE"

echo "== the coordinator (README's set-up)"
{
	echo "CREATE EXTENSION postgres_fdw;"
	echo "CREATE EXTENSION mirai_ext;"
	for s in s1 s2 s3; do
		echo "CREATE SERVER $s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$host', port '$port', dbname 'fleet_$s', extensions 'mirai_ext', async_capable 'true');"
		echo "CREATE USER MAPPING FOR CURRENT_USER SERVER $s;"
	done
	echo "CREATE TABLE capture (sensor text, p packet) PARTITION BY LIST (sensor);"
	for s in s1 s2 s3; do
		echo "CREATE FOREIGN TABLE capture_$s PARTITION OF capture FOR VALUES IN ('$s') SERVER $s OPTIONS (table_name 'capture');"
	done
	echo "SELECT mirai_track('capture', time_zone => 'Asia/Tokyo');"
	echo "ANALYZE capture;"
	echo "ALTER DATABASE fleet_coord SET enable_partitionwise_aggregate = on;"
} | $P -d fleet_coord >/dev/null
for v in mirai_daily mirai_countries mirai_new_sources; do
	a=$($P -d fleet_coord -A -t -c "SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) FROM $v v")
	b=$($P -d fleet_single -A -t -c "SELECT md5(string_agg(v::text, ',' ORDER BY v::text)) FROM $v v")
	[ "$a" = "$b" ] || { echo "$v of the coordinator differs from the single server's" >&2; exit 1; }
done
$P -d fleet_coord -A -t -c "SELECT format('fleet: %s Mirai packets, %s (day, source) pairs over %s days; the views equal the single server''s',
	sum(packets), sum(sources), count(*)) FROM mirai_daily"
printf 'packets\t%s\n' "$($P -d fleet_single -A -t -c "SELECT count(*) FROM capture")" >"$tsv"

# the times of $runs runs of a query in one session, ms (psql \timing)
qtimes() {
	{
		printf '%s\n' '\timing on' '\o /dev/null'
		i=0
		while [ "$i" -lt "$runs" ]; do echo "$2;"; i=$((i + 1)); done
	} | $P -d "$1" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

# the first query of $runs new sessions, ms
cold() {
	i=0
	while [ "$i" -lt "$runs" ]; do
		printf '%s\n' '\timing on' '\o /dev/null' "$2;" | $P -d "$1" 2>&1 |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
		i=$((i + 1))
	done | median
}

# the loads and their vacuums are done before anything is timed
psql -X -q -d postgres -c CHECKPOINT
sleep 5
peak=$($P -d fleet_single -A -t -c "SELECT day FROM mirai_daily ORDER BY packets DESC LIMIT 1")
echo "== questions: ms, median and fastest of $runs runs in one session (load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-58s %9s %9s %9s %9s %7s\n' question fleet fastest single fastest ratio
ask() {
	qtimes fleet_coord "$2" >"$work.f"
	qtimes fleet_single "$2" >"$work.s"
	f=$(median <"$work.f")
	s=$(median <"$work.s")
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$(sort -n "$work.f" | head -n 1)" "$f" \
		"$(sort -n "$work.s" | head -n 1)" "$s" >>"$tsv"
	printf '%-58s %9.2f %9.2f %9.2f %9.2f %6.1fx\n' "$1" "$f" "$(sort -n "$work.f" | head -n 1)" \
		"$s" "$(sort -n "$work.s" | head -n 1)" "$(echo "$f / $s" | bc -l)"
}
ask "mirai_daily" "SELECT * FROM mirai_daily WHERE tbl = 'capture'::regclass ORDER BY day"
ask "mirai_daily_countries" "SELECT * FROM mirai_daily_countries WHERE tbl = 'capture'::regclass"
ask "mirai_countries" "SELECT * FROM mirai_countries WHERE tbl = 'capture'::regclass ORDER BY rank"
ask "mirai_hourly" "SELECT * FROM mirai_hourly WHERE tbl = 'capture'::regclass"
ask "top 10 sources of the peak day (mirai_sources)" \
	"SELECT * FROM mirai_sources WHERE tbl = 'capture'::regclass AND day = '$peak' ORDER BY packets DESC LIMIT 10"
ask "top 10 sources of the 92 days (mirai_top_sources)" \
	"SELECT * FROM mirai_top_sources('2024-11-01', '2025-03-01', 10, 'capture')"
ask "mirai_new_sources" "SELECT * FROM mirai_new_sources WHERE tbl = 'capture'::regclass"
ask "top 10 bots (mirai_bots)" "SELECT * FROM mirai_bots WHERE tbl = 'capture'::regclass ORDER BY packets DESC LIMIT 10"
printf '%-58s %9.2f\n' "mirai_daily, the first query of a new session (median)" \
	"$(cold fleet_coord "SELECT * FROM mirai_daily WHERE tbl = 'capture'::regclass ORDER BY day")"
raw="SELECT date '1970-01-01' + d::integer AS day, sum(n) FROM (SELECT sensor, (packet_time_ns(p) + 32400000000000) / 86400000000000 AS d, count(*) AS n FROM capture WHERE is_mirai(p) GROUP BY sensor, d) s GROUP BY 1"
runs=3
ask "raw Mirai count per Tokyo day (fleet: pushed down; median of 3)" "$raw"

# loading the coordinator's local partition: row triggers, against the
# statement triggers of a table without foreign partitions
if [ "${BENCH_FLEET_LOAD:-1}" = 1 ]; then
	echo "== a third of the study loaded into the coordinator, one INSERT ... SELECT each, s (best of 3)"
	$P -d fleet_coord -c "CREATE TABLE capture_hq PARTITION OF capture (sensor DEFAULT 'hq') FOR VALUES IN ('hq')" \
		-c "SELECT mirai_rebuild('capture')" \
		-c "CREATE TABLE staging (p packet)" -c "CREATE TABLE plain (sensor text, p packet)" \
		-c "CREATE TABLE tracked (sensor text, p packet)" -c "SELECT mirai_track('tracked', time_zone => 'Asia/Tokyo')" >/dev/null
	$P -d fleet_coord -v tbl=staging -v seed=0.46 -v shift_days=0 -v scale=0.333333 \
		-f "$top/test/bench/rollup_data.sql" >/dev/null
	# the time of loading the staging rows into $1, in a transaction rolled
	# back (a TRUNCATE of the fleet table would empty the sensors' tables too)
	loadtime() {
		best=
		for r in 1 2 3; do
			t=$(printf '%s\n' 'CHECKPOINT;' 'BEGIN;' '\timing on' "INSERT INTO $1 SELECT 'hq', p FROM staging;" \
				'\timing off' 'ROLLBACK;' | $P -d fleet_coord 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
			best=$(printf '%s\n%s\n' "$t" "${best:-$t}" | sort -n | head -n 1)
		done
		echo "$best / 1000" | bc -l
	}
	before=$($P -d fleet_coord -A -t -c "SELECT sum(packets) FROM mirai_daily WHERE tbl = 'capture'::regclass")
	tp=$(loadtime plain)
	tt=$(loadtime tracked)
	tf=$(loadtime capture)
	printf 'untracked table %.2f s; tracked table (statement triggers) %.2f s, %+.0f%%; the local partition of the tracked fleet table (row triggers) %.2f s, %+.0f%%\n' \
		"$tp" "$tt" "$(echo "($tt / $tp - 1) * 100" | bc -l)" "$tf" "$(echo "($tf / $tp - 1) * 100" | bc -l)"
	$P -d fleet_coord -c "INSERT INTO tracked SELECT 'hq', p FROM staging" -c "INSERT INTO capture SELECT 'hq', p FROM staging"
	a=$($P -d fleet_coord -A -t -c "SELECT sum(packets) FROM mirai_daily WHERE tbl = 'tracked'::regclass")
	b=$($P -d fleet_coord -A -t -c "SELECT sum(packets) FROM mirai_daily WHERE tbl = 'capture'::regclass")
	[ "$b" = "$((a + before))" ] || { echo "the local partition's rows are not counted: $b, expected $a + $before" >&2; exit 1; }
fi

for d in fleet_coord fleet_s1 fleet_s2 fleet_s3 fleet_single; do
	psql -X -q -d postgres -c "DROP DATABASE $d"
done
