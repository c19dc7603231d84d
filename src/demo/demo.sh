#!/bin/sh
# `make demo`: the honeypot study, end to end, on a synthetic capture shaped
# after the study's published figures (see src/demo/README.md).
#
#   1. the GeoIP country database: Debian's geoip-database converted to a
#      GeoLite2-Country-compatible mmdb (src/demo/build_geoip.pl, cached in
#      build/geoip), or the file named by GEOIP=/path/to/GeoLite2-Country.mmdb;
#   2. the capture: 93 daily files written by mirai_gen after the model in
#      src/demo/model (src/demo/capture.pl, cached in build/demo/captures);
#   3. a throw-away PostgreSQL 15 cluster (pg_virtualenv -t), in which
#      src/demo/analyze.sh loads the files with mirai_load and prints the
#      report; charts go to build/demo.  KEEP=1 ends in psql on the demo's
#      database; the cluster is removed when psql exits.
#
# Run from the top of the repository, after `make install` (make demo does
# both).  Prints the time of each step and the total.
set -eu
top=$(pwd)
out="$top/build/demo"
model="$top/src/demo/model"
mkdir -p "$out"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)

echo "mirai_ext demo: the honeypot study, end to end"
echo "SYNTHETIC capture, shaped after the study's published figures (src/demo/model);"
echo "days are Japanese days (Asia/Tokyo)."
echo

# 1. GeoIP
t0=$(now)
if [ -n "${GEOIP:-}" ]; then
	mmdb=$GEOIP
	echo "GeoIP: $mmdb (GEOIP)"
else
	mmdb="$top/build/geoip/GeoIP-legacy-country.mmdb"
	perl src/demo/build_geoip.pl --out "$mmdb" | sed 's/^/GeoIP: /'
fi
t_geoip=$(secs "$t0" "$(now)")

# 2. the capture
t0=$(now)
perl src/demo/capture.pl --mmdb "$mmdb" --model "$model" --out "$out/captures" --cache "$out"
t_capture=$(secs "$t0" "$(now)")
echo

# 3. the cluster; the server reads the mmdb from a world-readable copy
work=$(mktemp -d /tmp/mirai_demo.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM
cp "$mmdb" "$work/country.mmdb"
chmod 644 "$work/country.mmdb"
t0=$(now)
pg_virtualenv -t -v 15 sh src/demo/analyze.sh "$work/country.mmdb" "$out/captures" "$out" "$model"
t_cluster=$(secs "$t0" "$(now)")

echo
echo "== Times"
echo
echo "  GeoIP database        $t_geoip s"
echo "  capture (generate)    $t_capture s"
sed 's/^ *load: /  load (mirai_load)     /' "$out/load.time"
echo "  cluster, set-up, load, report, charts: $t_cluster s"
echo "  total                 $(secs "$t_start" "$(now)") s"
