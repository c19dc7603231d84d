#!/bin/sh
# Helpers of the rollup benchmarks (flat.sh, rollup.sh, statement.sh,
# growth.sh), sourced after they set $top (the top of the tree), $db and $P
# (psql on $db):
#
#   now                          the wall clock, seconds
#   median                       the median of the numbers on stdin
#   server_ms N QUERY            the fastest of N server times of QUERY, ms
#                                (EXPLAIN ANALYZE: planning plus execution)
#   study_tables                 a new database $db with mirai_ext and the
#                                packet tables staging, base (plain) and
#                                tracked (tracked in Asia/Tokyo)
#   study_staging TBL COPIES [SCALE]
#                                the study-shaped capture (rollup_data.sql)
#                                into table TBL: COPIES copies with seeds
#                                0.42, 0.43, ..., each at SCALE times the
#                                study's size (default 1)
#   study_day_files TBL DIR PREFIX
#                                TBL's packets as binary COPY files, one per
#                                UTC day, DIR/PREFIXyyyy-mm-dd.bin, each in
#                                packet order: what mirai_load streams
#   study_pcap_files TBL DIR ZONE
#                                TBL's packets remade as pcap files, one per
#                                day of ZONE, DIR/yyyy-mm-dd.pcap, by mirai_gen
#                                --schedule: each day's records and its exact
#                                Mirai packets per source (other packets are
#                                mirai_gen's IPv4 non-Mirai traffic)
# run.sh does not run this file; its functions name their variables with a leading _.

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

server_ms() {
	{
		_i=0
		while [ "$_i" -lt "$1" ]; do echo "EXPLAIN (ANALYZE, TIMING OFF) $2;"; _i=$((_i + 1)); done
	} | $P -A -t 2>&1 | awk '/^Planning Time:/ { p = $3 } /^Execution Time:/ { print p + $3 }' | sort -n | head -n 1
}

study_tables() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	$P -c "CREATE EXTENSION mirai_ext"
	$P -c "CREATE TABLE staging (p packet); CREATE TABLE base (p packet); CREATE TABLE tracked (p packet)"
	$P -c "SELECT mirai_track('tracked', time_zone => 'Asia/Tokyo')"
}

study_staging() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		$P -v tbl="$1" -v seed="0.$((42 + _i))" -v shift_days=0 -v scale="${3:-1}" \
			-f "$top/test/bench/rollup_data.sql" >/dev/null
		_i=$((_i + 1))
	done
}

study_day_files() {
	# an index on the UTC day: one scan of the table per file would read 93
	# times 100 M rows at the large scale
	$P -c "CREATE INDEX $1_day ON $1 (((packet_time(p) AT TIME ZONE 'UTC')::date))"
	$P -c "DO \$\$
DECLARE d date;
BEGIN
  FOR d IN SELECT DISTINCT (packet_time(p) AT TIME ZONE 'UTC')::date FROM $1 ORDER BY 1 LOOP
    EXECUTE format('COPY (SELECT p FROM $1 WHERE (packet_time(p) AT TIME ZONE ''UTC'')::date = %L ORDER BY p) TO %L (FORMAT binary)',
                   d, '$2/$3' || d || '.bin');
  END LOOP;
END \$\$"
}

study_pcap_files() {
	_day="(packet_time(p) AT TIME ZONE '$3')::date"
	# the schedules: "D window START END RECORDS" for each day, then
	# "D ADDRESS COUNT" for each Mirai source of the day; awk splits them
	$P -A -t -F ' ' -c "SELECT d, 'window', extract(epoch FROM d::timestamp AT TIME ZONE '$3')::bigint,
		extract(epoch FROM (d + 1)::timestamp AT TIME ZONE '$3')::bigint, n
		FROM (SELECT $_day AS d, count(*) AS n FROM $1 GROUP BY 1) s ORDER BY 1" >"$2/days.sched"
	$P -c "COPY (SELECT $_day, host(packet_src(p)), count(*) FROM $1 WHERE is_mirai(p) GROUP BY 1, 2)
		TO STDOUT (FORMAT text, DELIMITER ' ')" |
		cat "$2/days.sched" - | awk -v dir="$2" '{
			f = dir "/" $1 ".sched"
			if ($2 == "window") print "window", $3, $4, $5 > f
			else print $2, $3 > f
		}'
	rm -f "$2/days.sched"
	_k=0
	for _s in "$2"/*.sched; do
		_k=$((_k + 1))
		"${MIRAI_GEN:-$top/src/bin/mirai_gen}" -s "$_k" --schedule "$_s" --ipv6 0 --frag 0 --non-ip 0 \
			--ip-options 0 -o "${_s%.sched}.pcap"
		rm -f "$_s"
	done
}
