#!/bin/sh
# GeoIP benchmark (figures in test/bench/README.md, "GeoIP lookups").
#
#   sh test/bench/geoip.sh          (or `make bench`, which runs every benchmark)
#
# 1. The demo-size country database: src/demo/build_geoip.pl converts
#    Debian's GeoIP.dat/GeoIPv6.dat (cached in build/geoip/).
# 2. A capture of BENCH_PACKETS (default 2,100,000) records from mirai_gen,
#    loaded with INSERT ... SELECT pcap_read(...).
# 3. Side by side, alternating, BENCH_ROUNDS times (default 7), serial plans:
#      SELECT count(packet_src(p)) FROM capture                  (baseline)
#      SELECT count(geoip_country(packet_src(p))) FROM capture
#    and the same over as many distinct random IPv4 addresses (no repeated
#    source: every lookup walks the search tree).  Reports medians, the cost
#    per lookup (difference / rows) and the ratio.
# 4. The once-per-statement check of the file: the cost of one stat().
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=1GB' -o 'max_worker_processes=8' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
packets=${BENCH_PACKETS:-2100000}
rounds=${BENCH_ROUNDS:-7}
gen=${MIRAI_GEN:-$top/src/bin/mirai_gen}
work=$(mktemp -d /tmp/mirai_bench_geoip.XXXXXX)
chmod 755 "$work"
db=mirai_bench_geoip
trap 'rm -rf "$work"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT INT TERM
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== country database"
t0=$(now)
perl "$top/src/demo/build_geoip.pl" --out "$top/build/geoip/GeoIP-legacy-country.mmdb"
cp "$top/build/geoip/GeoIP-legacy-country.mmdb" "$work/country.mmdb"
chmod 644 "$work/country.mmdb"
printf 'ready in %.1f s\n' "$(echo "$(now) - $t0" | bc)"

echo "== data: $packets records (mirai_gen -s 42)"
"$gen" -s 42 -n "$packets" -o "$work/capture.pcap"
chmod 644 "$work/capture.pcap"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
$P -c "CREATE EXTENSION mirai_ext"
$P -c "ALTER DATABASE $db SET mirai_ext.geoip_database = '$work/country.mmdb'"
$P -c "CREATE TABLE capture (p packet)" \
	-c "INSERT INTO capture SELECT pcap_read('$work/capture.pcap')"
n=$($P -A -t -c "SELECT count(*) FROM capture")
$P -c "CREATE TABLE addrs AS
	SELECT ('0.0.0.0'::inet + (i * 2654435761::bigint) % 4294967296) AS a
	FROM generate_series(1, $n) i" -c "VACUUM ANALYZE"
$P -A -t -F ' ' -c "SELECT 'packets', count(*), 'distinct sources', count(DISTINCT packet_src(p)),
	'with a country', round(100.0 * count(geoip_country(packet_src(p))) / count(*), 1) || '%' FROM capture"
$P -A -t -F ' ' -c "SELECT 'random addresses', count(*), 'distinct', count(DISTINCT a),
	'with a country', round(100.0 * count(geoip_country(a)) / count(*), 1) || '%' FROM addrs"

# run queries alternately, one psql session per round; times in ms
side_by_side() {
	name=$1
	qa=$2
	qb=$3
	: >"$work/a.t"
	: >"$work/b.t"
	r=0
	while [ "$r" -lt "$rounds" ]; do
		{
			printf '%s\n' 'SET max_parallel_workers_per_gather = 0;' '\timing on' '\o /dev/null'
			# warm: the first statement of a session opens the database
			printf '%s\n' "SELECT geoip_country('192.0.2.1');"
			if [ $((r % 2)) = 0 ]; then
				printf '%s;\n' "$qa" "$qb"
			else
				printf '%s;\n' "$qb" "$qa"
			fi
		} | $P 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 2 >"$work/r.t"
		if [ $((r % 2)) = 0 ]; then
			sed -n 1p "$work/r.t" >>"$work/a.t"
			sed -n 2p "$work/r.t" >>"$work/b.t"
		else
			sed -n 2p "$work/r.t" >>"$work/a.t"
			sed -n 1p "$work/r.t" >>"$work/b.t"
		fi
		r=$((r + 1))
	done
	ta=$(median <"$work/a.t")
	tb=$(median <"$work/b.t")
	echo "-- $name ($n rows, $rounds rounds, serial plans, ms)"
	echo "   $qa: $(tr '\n' ' ' <"$work/a.t") median $ta"
	echo "   $qb: $(tr '\n' ' ' <"$work/b.t") median $tb"
	printf '   cost per lookup: %.3f us; ratio %.2f\n' \
		"$(echo "($tb - $ta) * 1000 / $n" | bc -l)" "$(echo "$tb / $ta" | bc -l)"
}

echo "== side by side"
side_by_side "capture (sources repeat, as in a honeypot)" \
	"SELECT count(packet_src(p)) FROM capture" \
	"SELECT count(geoip_country(packet_src(p))) FROM capture"
side_by_side "distinct random IPv4 addresses (every lookup walks the tree)" \
	"SELECT count(a) FROM addrs" \
	"SELECT count(geoip_country(a)) FROM addrs"

echo "== the once-per-statement check: stat() of the file"
# what each statement's first lookup adds: one stat() (perl's stat is the
# system call plus a little; an empty loop of the same length is subtracted)
perl -MTime::HiRes=time -e '
	my ($f, $n) = ($ARGV[0], 200000);
	my @t;
	for my $r (1 .. 5) {
		my $t0 = time; for (1 .. $n) { my @s = stat($f) }
		my $t1 = time; for (1 .. $n) { my @s = () }
		my $t2 = time;
		push @t, (($t1 - $t0) - ($t2 - $t1)) / $n * 1e6;
	}
	@t = sort { $a <=> $b } @t;
	printf "   stat(): %.2f us per statement (median of 5 x %d)\n", $t[2], $n;
' "$work/country.mmdb"
