#!/bin/sh
# What per-source rows behind an index would cost a load: the study's
# (UTC day, source) pairs, aggregated beforehand, upserted day by day (one
# INSERT ... ON CONFLICT DO UPDATE a day, in source order) into a table with
# a row per source, its primary key and an index on packets, as tracking
# would have to after each statement; against reading the same pairs alone.
# Compare with the untracked load of the study in flat.sh (about 1.2 s).
#
#   sh test/bench/source_rows.sh
#
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=2GB' -o 'max_wal_size=8GB' \
		-o 'work_mem=64MB' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/mirai_source_rows.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
db=mirai_source_rows
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

. "$top/test/bench/common.sh"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
$P -c "CREATE EXTENSION mirai_ext" -c "CREATE TABLE staging (p packet)"
study_staging staging 1
$P -c "CREATE TABLE daysrc AS
         SELECT (packet_time(p) AT TIME ZONE 'UTC')::date AS day, packet_src(p) AS src,
                min(packet_time(p)) AS f, max(packet_time(p)) AS l, count(*) AS n,
                array_agg(DISTINCT packet_dport(p)) AS ports
           FROM staging WHERE is_mirai(p) GROUP BY 1, 2" \
   -c "CREATE INDEX ON daysrc (day)" -c "ANALYZE daysrc"
$P -c "CREATE TABLE bots (tbl oid, src inet, first_seen timestamptz, last_seen timestamptz,
                          first_day date, last_day date, days int, packets bigint, ports int[],
                          PRIMARY KEY (tbl, src)) WITH (fillfactor = 80)" \
   -c "CREATE INDEX ON bots (tbl, packets DESC)"
days=$($P -A -t -c "SELECT DISTINCT day FROM daysrc ORDER BY 1")
for d in $days; do
	echo "INSERT INTO bots AS b SELECT 1, src, f, l, day, day, 1, n, ports FROM daysrc WHERE day = '$d' ORDER BY src
	      ON CONFLICT (tbl, src) DO UPDATE SET last_seen = greatest(b.last_seen, excluded.last_seen),
	      last_day = greatest(b.last_day, excluded.last_day), days = b.days + 1, packets = b.packets + excluded.packets,
	      ports = (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(b.ports || excluded.ports) x);"
done >"$work/upsert.sql"
for d in $days; do echo "SELECT count(*) FROM daysrc WHERE day = '$d';"; done >"$work/read.sql"
s=$(now); $P -f "$work/upsert.sql"; u=$(echo "$(now) - $s" | bc)
s=$(now); $P -f "$work/read.sql" >/dev/null; r=$(echo "$(now) - $s" | bc)
printf '%s (day, source) pairs, %s sources, %s statements\n' \
	"$($P -A -t -c "SELECT count(*) FROM daysrc")" "$($P -A -t -c "SELECT count(*) FROM bots")" \
	"$(echo "$days" | wc -l)"
printf 'upserting them: %.2f s; reading them alone: %.2f s; the upserts beyond reading: %.2f s\n' \
	"$u" "$r" "$(echo "$u - $r" | bc)"
psql -X -q -d postgres -c "DROP DATABASE $db"
