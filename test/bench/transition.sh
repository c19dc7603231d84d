#!/bin/sh
# What a statement trigger's transition table costs a load, by work_mem.
#
#   sh test/bench/transition.sh              (or: BENCH_ONLY=transition make bench)
#   BENCH_PACKETS=1000000 BENCH_ROUNDS=5 BENCH_WORK_MEMS="256MB 64MB 4MB"
#
# A tracked table's rollups are kept by a statement trigger that reads the
# statement's rows from its transition table, which PostgreSQL collects in
# memory up to work_mem and in a temporary file past it.  This loads the
# same binary COPY file of BENCH_PACKETS Mirai SYNs (the flooded day of
# flat.sh) into a plain table and into one whose AFTER INSERT trigger (FOR
# EACH STATEMENT, REFERENCING NEW TABLE) only reads its rows back, each
# COPY in a new session set as mirai_load's are (mirai_ext.keep_free_memory
# 256MB, which the session takes at once), the plain table first and then
# the other at each work_mem, BENCH_ROUNDS rounds: the median extra time of
# the transition table, beside the plain load.  Then the same with each
# table's second COPY of a session.
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=2GB' -o 'max_wal_size=8GB' \
		-o 'work_mem=64MB' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
packets=${BENCH_PACKETS:-1000000}
rounds=${BENCH_ROUNDS:-5}
work=$(mktemp -d /tmp/mirai_transition.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
db=mirai_transition
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

. "$top/test/bench/common.sh"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
$P -c "CREATE EXTENSION mirai_ext" \
	-c "CREATE FUNCTION read_back() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN PERFORM count(*) FROM n; RETURN NULL; END'"
$P -c "COPY (SELECT format('2024-12-20T%s:%s:%sZ tcp %s:%s > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=%s len=54',
                lpad((i % 9)::text, 2, '0'), lpad((i % 60)::text, 2, '0'), lpad((i / 60 % 60)::text, 2, '0'),
                host('1.0.0.0'::inet + (i::bigint * 3203 % 3707764736)), 1025 + i % 64000, i % 65536)::packet
             FROM generate_series(1, $packets) i) TO '$work/flood.bin' (FORMAT binary)"

# one COPY in a new session; prints its wall time, s
load() {
	printf '%s\n' "SET mirai_ext.keep_free_memory = '256MB'; SET work_mem = '$2';" \
		"COPY $1 FROM '$work/flood.bin' (FORMAT binary);" >"$work/load.sql"
	s=$(now)
	$P -f "$work/load.sql"
	echo "$(now) - $s" | bc
}

# in one session: a COPY into each table to fault its memory in, then one
# more into each, timed (psql's \timing); prints the two times, s
warm() {
	{
		echo "SET mirai_ext.keep_free_memory = '256MB'; SET work_mem = '$1';"
		echo "COPY plain FROM '$work/flood.bin' (FORMAT binary);"
		echo "COPY captured FROM '$work/flood.bin' (FORMAT binary);"
		echo "TRUNCATE plain, captured;"
		printf '%s\n' '\timing on'
		echo "COPY plain FROM '$work/flood.bin' (FORMAT binary);"
		echo "COPY captured FROM '$work/flood.bin' (FORMAT binary);"
	} >"$work/warm.sql"
	$P -f "$work/warm.sql" | awk '/^Time:/ { printf "%s ", $2 / 1000 } END { print "" }'
}

# one round of each way: a new pair of tables, a COPY into each in its own
# new session ("new"), or a warmed-up session's second COPY into each
# ("warm"); prints the two times, s
round() {
	if [ "$1" = new ]; then
		$P -c "DROP TABLE IF EXISTS plain, captured" \
			-c "CREATE TABLE plain (p packet); CREATE TABLE captured (p packet)" \
			-c "CREATE TRIGGER read_back AFTER INSERT ON captured REFERENCING NEW TABLE AS n
			    FOR EACH STATEMENT EXECUTE FUNCTION read_back()" -c CHECKPOINT
		echo "$(load plain "$2") $(load captured "$2")"
	else
		$P -c "TRUNCATE plain, captured" -c CHECKPOINT
		warm "$2"
	fi
}

for way in new warm; do
	if [ "$way" = new ]; then
		echo "== $packets packets a COPY, $rounds rounds, each COPY in a new session"
	else
		echo "== the same, each table's second COPY of a session (its memory faulted in by the first)"
	fi
	printf '%-10s %12s %22s %10s\n' work_mem 'plain (s)' 'transition table (s)' ratio
	for mem in ${BENCH_WORK_MEMS:-256MB 64MB 4MB}; do
		: >"$work/rounds"
		r=0
		while [ "$r" -lt "$rounds" ]; do
			round "$way" "$mem" >>"$work/rounds"
			r=$((r + 1))
		done
		printf '%-10s %12.3f %22.3f %10.2f\n' "$mem" \
			"$(awk '{ print $1 }' "$work/rounds" | median)" \
			"$(awk '{ print $2 - $1 }' "$work/rounds" | median)" \
			"$(awk '{ print $2 / $1 }' "$work/rounds" | median)"
	done
done
psql -X -q -d postgres -c "DROP DATABASE $db"
