#!/bin/sh
# Rollup benchmark (figures in test/bench/README.md).
#
#   sh test/bench/rollup.sh            1.47 M Mirai packets (the study's size)
#   BENCH_COPIES=54 sh test/bench/rollup.sh   about 100 M packets (make bench-scale)
#
# 1. Makes the study-shaped capture with test/bench/rollup_data.sql (92 days,
#    1,473,544 Mirai + 368,356 other packets, ~306 k (day, source) pairs),
#    once per copy (BENCH_COPIES, different seeds, same 92 days), and writes
#    it as one binary COPY file per UTC day: what mirai_load streams.
# 2. Load time: the same files COPYed into a plain table and into a table
#    tracked in Asia/Tokyo, one transaction per file, BENCH_ROUNDS rounds
#    (default 3), which table goes first alternating; reports each round's
#    ratio (wall clock and the loading backend's CPU time) and the medians.
# 3. Each view's dashboard query (median of 15 runs) against the same
#    question over the raw table.
# 4. DuckDB (npm @duckdb/node-api, installed into a scratch directory) on the
#    same packets exported to CSV and converted to Parquet: the same three
#    questions (median of 5 runs).
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set;
# BENCH_KEEP=1 keeps the database and the scratch directory (Parquet file)
# for further queries.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=2GB' -o 'max_wal_size=8GB' \
		-o 'work_mem=64MB' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
copies=${BENCH_COPIES:-1}
rounds=${BENCH_ROUNDS:-3}
work=$(mktemp -d /tmp/mirai_bench.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
db=mirai_bench
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

. "$top/test/bench/common.sh"

study_tables

echo "== data: $copies cop(y/ies) of the study-shaped capture"
t0=$(now)
study_staging staging "$copies"
echo "generated, $(echo "$(now) - $t0" | bc | cut -d. -f1) s; writing one file per UTC day"
study_day_files staging "$work" ""
npackets=$($P -A -t -c "SELECT count(*) FROM staging")
nmirai=$($P -A -t -c "SELECT count(*) FROM staging WHERE is_mirai(p)")
nfiles=$(ls "$work"/*.bin | wc -l)
$P -c "DROP TABLE staging"
printf 'made %s packets (%s Mirai) in %s files, %.0f s\n' "$npackets" "$nmirai" "$nfiles" "$(echo "$(now) - $t0" | bc)"

# the loading session also reports its backend's CPU seconds (utime +
# stime from /proc: the server runs on this machine), a figure that the
# other work on a shared machine disturbs less than the wall clock
{
	echo 'SELECT pg_backend_pid() AS pid \gset'
	echo '\setenv MIRAI_BENCH_PID :pid'
	for f in "$work"/*.bin; do echo "COPY :tbl FROM '$f' (FORMAT binary);"; done
	echo "\\! awk '{ print (\$14 + \$15) / 100 }' /proc/\$MIRAI_BENCH_PID/stat 2>/dev/null || echo 0"
} >"$work/load.sql"

echo "== load: the same $nfiles files, one COPY transaction each, $rounds rounds (wall s, backend CPU s)"
# load TABLE: prints wall seconds and the backend's CPU seconds
load() {
	$P -c "TRUNCATE $1" -c "CHECKPOINT"
	s=$(now)
	cpu=$($P -v tbl="$1" -f "$work/load.sql")
	echo "$(echo "$(now) - $s" | bc) $cpu"
}
: >"$work/rounds.t"
r=0
while [ "$r" -lt "$rounds" ]; do
	# alternate which table goes first
	if [ $((r % 2)) -eq 0 ]; then
		b=$(load base)
		t=$(load tracked)
	else
		t=$(load tracked)
		b=$(load base)
	fi
	echo "$b $t" >>"$work/rounds.t"
	r=$((r + 1))
done
awk '{ printf "round %d: without %.2f s (CPU %.2f s), with %.2f s (CPU %.2f s): %+.0f%% wall, %+.0f%% CPU\n",
	NR, $1, $2, $3, $4, ($3 / $1 - 1) * 100, ($2 > 0 ? ($4 / $2 - 1) * 100 : 0) }' "$work/rounds.t"
tb=$(awk '{ print $1 }' "$work/rounds.t" | median)
tt=$(awk '{ print $3 }' "$work/rounds.t" | median)
rw=$(awk '{ print $3 / $1 }' "$work/rounds.t" | median)
rc=$(awk '$2 > 0 { print $4 / $2 }' "$work/rounds.t" | median)
printf 'load time with tracking: %+.0f%% (median of the per-round ratios; backend CPU %+.0f%%); medians %.2f s without (%.2f M packets/s), %.2f s with (%.2f M/s)\n' \
	"$(echo "($rw - 1) * 100" | bc -l)" "$(echo "(${rc:-1} - 1) * 100" | bc -l)" \
	"$tb" "$(echo "$npackets / $tb / 1000000" | bc -l)" "$tt" "$(echo "$npackets / $tt / 1000000" | bc -l)"
# the loads are done: the files and the untracked copy only take disk space
rm -f "$work"/*.bin
$P -c "DROP TABLE base"
$P -c "VACUUM ANALYZE"
$P -A -t -c "SELECT format('sizes: packet table %s, rollups %s (%s of packed entries in parts), hourly %s',
	pg_size_pretty(pg_total_relation_size('tracked')),
	pg_size_pretty(pg_total_relation_size('mirai_rollup_day') + pg_total_relation_size('mirai_rollup_part')
	               + pg_total_relation_size('mirai_rollup_dict') + pg_total_relation_size('mirai_rollup_hour')),
	pg_size_pretty(sum(length(entries))), pg_size_pretty(pg_total_relation_size('mirai_rollup_hour')))
	FROM mirai_rollup_part"

# median of N runs of a query, ms (server-side, psql \timing)
qtime() {
	n=$1
	q=$2
	{
		printf '%s\n' '\timing on'
		printf '%s\n' '\o /dev/null'
		i=0
		while [ "$i" -lt "$n" ]; do echo "$q;"; i=$((i + 1)); done
	} | $P 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | median
}

peak=$($P -A -t -c "SELECT day FROM mirai_daily WHERE tbl = 'tracked'::regclass ORDER BY packets DESC LIMIT 1")
V1="SELECT * FROM mirai_daily WHERE tbl = 'tracked'::regclass ORDER BY day"
V2="SELECT * FROM mirai_sources WHERE day = '$peak' ORDER BY packets DESC LIMIT 10"
V3="SELECT * FROM mirai_countries ORDER BY rank"
R1="SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date AS day, count(*), count(DISTINCT packet_src(p)) FROM tracked WHERE is_mirai(p) GROUP BY 1 ORDER BY 1"
R2="SELECT packet_src(p), count(*), count(*)::numeric / sum(count(*)) OVER () FROM tracked WHERE is_mirai(p) AND (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date = '$peak' GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
R3="SELECT NULL::text AS country, count(*) FROM tracked WHERE is_mirai(p) GROUP BY 1 ORDER BY 2 DESC"
if [ "$($P -A -t -c "SELECT count(*) FROM pg_proc WHERE proname = 'geoip_available'")" != 0 ] &&
	[ "$($P -A -t -c "SELECT geoip_available()")" = t ]; then
	R3="SELECT geoip_country(packet_src(p)) AS country, count(*) FROM tracked WHERE is_mirai(p) GROUP BY 1 ORDER BY 2 DESC"
fi

echo "== queries (median ms; $npackets packets, peak day $peak)"
rawruns=${BENCH_RAW_RUNS:-3}
for k in 1 2 3; do
	eval v=\$V$k
	eval rq=\$R$k
	tv=$(qtime 15 "$v")
	tr_=$(qtime "$rawruns" "$rq")
	printf '%-15s view %8.3f ms   raw table %10.1f ms   %8.0fx\n' \
		"$(echo "$v" | sed 's/.*FROM \([a-z_]*\).*/\1/')" "$tv" "$tr_" "$(echo "$tr_ / $tv" | bc -l)"
	echo "$tv" >"$work/view$k.t"
done

echo "== DuckDB over the same packets (CSV -> Parquet)"
duck="${BENCH_DUCKDB_DIR:-$work/duckdb}"
if [ ! -d "$duck/node_modules/@duckdb/node-api" ]; then
	mkdir -p "$duck"
	(cd "$duck" && npm install --silent --no-audit --no-fund @duckdb/node-api >/dev/null 2>&1) || {
		echo "npm install @duckdb/node-api failed: DuckDB comparison skipped"
		exit 0
	}
fi
# the country column: what the rollups stored (geoip_country when the
# packets arrived), so that DuckDB answers from the same data
country="NULL::text"
case "$R3" in *geoip_country*) country="geoip_country(packet_src(p))" ;; esac
$P -c "\\copy (SELECT packet_time(p) AS t, host(packet_src(p)) AS src, is_mirai(p) AS mirai, $country AS country FROM tracked) TO '$work/packets.csv' (FORMAT csv, HEADER)"
cat >"$work/duck.mjs" <<EOF
import { DuckDBInstance } from '$duck/node_modules/@duckdb/node-api/lib/index.js';
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run("SET TimeZone = 'Asia/Tokyo'");
await con.run("COPY (SELECT * FROM read_csv('$work/packets.csv', header = true, types = {'t': 'TIMESTAMPTZ', 'country': 'VARCHAR'})) TO '$work/packets.parquet' (FORMAT parquet)");
(await import('fs')).unlinkSync('$work/packets.csv');
const P = "read_parquet('$work/packets.parquet')";
const qs = {
  mirai_daily: \`SELECT CAST(t AS DATE) AS day, count(*), count(DISTINCT src) FROM \${P} WHERE mirai GROUP BY 1 ORDER BY 1\`,
  mirai_sources: \`SELECT src, count(*) AS n, count(*) / sum(count(*)) OVER () FROM \${P} WHERE mirai AND CAST(t AS DATE) = DATE '$peak' GROUP BY 1 ORDER BY n DESC LIMIT 10\`,
  mirai_countries: \`SELECT country, count(*) AS n FROM \${P} WHERE mirai GROUP BY 1 ORDER BY n DESC\`,
};
for (const [name, q] of Object.entries(qs)) {
  const ts = [];
  for (let i = 0; i < 6; i++) {
    const s = process.hrtime.bigint();
    await (await con.run(q)).getRows();
    ts.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  ts.shift();
  ts.sort((a, b) => a - b);
  console.log(name + ' ' + ts[Math.floor(ts.length / 2)].toFixed(3));
}
EOF
node "$work/duck.mjs" >"$work/duck.out"
k=0
while read -r name ms; do
	k=$((k + 1))
	tv=$(cat "$work/view$k.t")
	printf '%-15s view %8.3f ms   DuckDB/Parquet %8.1f ms   views %6.0fx faster\n' "$name" "$tv" "$ms" "$(echo "$ms / $tv" | bc -l)"
done <"$work/duck.out"
if [ -n "${BENCH_KEEP:-}" ]; then
	echo "kept: database $db and $work"
	trap - EXIT INT TERM
else
	psql -X -q -d postgres -c "DROP DATABASE $db"
fi
