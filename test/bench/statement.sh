#!/bin/sh
# One load statement at the scale of make bench-scale's flat part: the
# study's days 40 to 43 from 54 seeds (what 54 copies of the study hold on
# those days), written as binary COPY files, one per UTC day (about a
# million packets each), loaded into a plain table and into a table
# tracked in Asia/Tokyo, each table's in one session: the first two files
# warm it up, the third and fourth are timed: their times and ratios.  With
# BENCH_PERF=1 (and perf installed), the tracked load of the third is
# recorded with perf record -g (the report's top lines are printed).
# Each session keeps the memory it frees, as mirai_load's do
# (mirai_ext.keep_free_memory, 256MB; BENCH_KEEP=0 for the C library's own
# thresholds), and sets work_mem as they do (4MB; BENCH_LOAD_WORK_MEM=
# for the server's).
#
#   sh test/bench/statement.sh
#   BENCH_COPIES=54 BENCH_DAYS="40 43" BENCH_PERF=1 sh test/bench/statement.sh
#
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=2GB' -o 'max_wal_size=8GB' \
		-o "work_mem=${BENCH_WORK_MEM:-64MB}" sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
copies=${BENCH_COPIES:-54}
keep=${BENCH_KEEP:-256MB}
loadmem=${BENCH_LOAD_WORK_MEM-256MB}
set -- ${BENCH_DAYS:-40 43}
day_from=$1
day_to=$2
work=$(mktemp -d /tmp/mirai_statement.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
db=mirai_statement
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

. "$top/test/bench/common.sh"

study_tables

echo "== data: days $day_from to $day_to of $copies seeds of the study-shaped capture"
i=0
while [ "$i" -lt "$copies" ]; do
	$P -v tbl=staging -v seed="0.$((42 + i))" -v shift_days=0 -v scale=1 \
		-v day_from="$day_from" -v day_to="$day_to" -f "$top/test/bench/rollup_data.sql" >/dev/null
	i=$((i + 1))
done
study_day_files staging "$work" day-
$P -c "DROP TABLE staging"
set -- "$work"/day-*.bin
if [ $# -lt 4 ]; then
	echo "statement.sh: $# UTC days; four are needed (BENCH_DAYS spans at least three days)" >&2
	exit 1
fi

# each table's four loads in one session, as mirai_load's workers keep
# theirs: the first two warm it up, the third and fourth are timed
session() {
	{
		echo "SET mirai_ext.keep_free_memory = '$keep';"
		[ -z "$loadmem" ] || echo "SET work_mem = '$loadmem';"
		echo 'SELECT pg_backend_pid() AS pid \gset'
		echo '\setenv MIRAI_BENCH_PID :pid'
		echo "COPY $1 FROM '$3' (FORMAT binary);"
		echo "COPY $1 FROM '$4' (FORMAT binary);"
		echo 'CHECKPOINT;'
		if [ "$2" = perf ]; then
			echo "\\! perf record -g -o $work/perf.data -p \$MIRAI_BENCH_PID >/dev/null 2>&1 & sleep 1"
		fi
		echo "\\! date +%s.%N >$work/$1.0"
		echo "COPY $1 FROM '$5' (FORMAT binary);"
		echo "\\! date +%s.%N >$work/$1.1"
		if [ "$2" = perf ]; then
			echo "\\! pkill -INT -f 'perf record -g -o $work/perf.data'; sleep 2"
		fi
		echo 'CHECKPOINT;'
		echo "\\! date +%s.%N >$work/$1.2"
		echo "COPY $1 FROM '$6' (FORMAT binary);"
		echo "\\! date +%s.%N >$work/$1.3"
	} >"$work/$1.sql"
	$P -f "$work/$1.sql"
}
secs() { echo "$(cat "$work/$1.$3") - $(cat "$work/$1.$2")" | bc; }
perf=-
if [ -n "${BENCH_PERF:-}" ] && command -v perf >/dev/null; then
	perf=perf
fi
session base - "$@"
session tracked "$perf" "$@"
for k in 3 4; do
	eval "f=\${$k}"
	d=$(basename "$f" .bin | sed 's/^day-//')
	if [ $k = 3 ]; then b=$(secs base 0 1); t=$(secs tracked 0 1); else b=$(secs base 2 3); t=$(secs tracked 2 3); fi
	n=$($P -A -t -c "SELECT count(*) FROM base WHERE (packet_time(p) AT TIME ZONE 'UTC')::date = '$d'")
	printf 'UTC day %s: %s packets; without tracking %.2f s, with %.2f s%s: %.2fx\n' "$d" "$n" "$b" "$t" \
		"$([ $k = 3 ] && [ $perf = perf ] && echo ' (under perf)')" "$(echo "$t / $b" | bc -l)"
done
if [ $perf = perf ]; then
	perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
		grep -E '^ +[0-9]' | grep -v ' 0x0000' | head -n 40
fi
psql -X -q -d postgres -c "DROP DATABASE $db"
