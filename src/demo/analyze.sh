#!/bin/sh
# The analysis part of the demo, run where PG* variables point at a server
# (inside pg_virtualenv for `make demo`, inside the test cluster for
# test/t/080_demo.t):
#
#   sh src/demo/analyze.sh MMDB CAPTURE_DIR CHART_DIR MODEL_DIR
#
# Makes database ${MIRAI_DEMO_DB:-honeypot} with the extension, the GeoIP
# setting (MMDB must be readable by the server's user), a packet table
# tracked in the study's time zone (MMDB empty: no GeoIP, countries NULL); loads every capture file of CAPTURE_DIR
# with mirai_load -j 2 (one transaction per file, tracking on); prints the
# report (src/demo/report.pl; extra arguments in MIRAI_DEMO_REPORT_ARGS).
# Prints each command as a user would type it.  KEEP=1: ends in psql on
# the database (the cluster lives until psql exits).
set -eu
mmdb=$1
captures=$2
charts=$3
model=$4
db=${MIRAI_DEMO_DB:-honeypot}
load=${MIRAI_LOAD:-mirai_load}
here=$(dirname "$0")
tz=$(sed -n 's/^time_zone *= *//p' "$model/study.conf")

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "== Set-up: psql -d $db"
echo
createdb "$db"
echo "    CREATE EXTENSION mirai_ext;"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION mirai_ext'
if [ -n "$mmdb" ]; then
	echo "    ALTER DATABASE $db SET mirai_ext.geoip_database = '$mmdb';"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
		-c "ALTER DATABASE \"$db\" SET mirai_ext.geoip_database = '$mmdb'"
fi
echo "    CREATE TABLE capture (p packet);"
echo "    SELECT mirai_track('capture', time_zone => '$tz');"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
	-c 'CREATE TABLE capture (p packet)' \
	-c "SELECT mirai_track('capture', time_zone => '$tz')" >/dev/null
if [ -n "$mmdb" ]; then
	psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" -c "SELECT '    -- GeoIP: ' || database_type || ', built ' || build_time::date FROM geoip_database_info() WHERE database = 'country'"
fi

nfiles=$(ls "$captures"/honeypot-*.pcap* | wc -l)
echo
echo "== Load: $nfiles files, several at once, as a batch job would"
echo
echo "    mirai_load -j 2 -d $db -t capture $captures/honeypot-*.pcap*"
t0=$(now)
"$load" -j 2 -d "$db" -t capture "$captures"/honeypot-*.pcap* >"$charts/load.out"
t1=$(now)
sed 's/^/    /' "$charts/load.out"
echo "    load: $(secs "$t0" "$t1") s" >"$charts/load.time"
echo

perl "$here/report.pl" -d "$db" --model "$model" --charts "$charts" ${MIRAI_DEMO_REPORT_ARGS:-}

if [ -n "${KEEP:-}" ]; then
	echo
	echo "KEEP=1: psql on database $db of the demo's cluster; the cluster is removed when psql exits (\\q)"
	psql -d "$db" || true
fi
