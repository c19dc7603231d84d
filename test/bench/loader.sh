#!/bin/sh
# Benchmark of mirai_load (issue 3), against baselines measured in the same
# run.  Runs inside pg_virtualenv (test/bench/run.sh; PG* are set):
#
#   sh test/bench/loader.sh [PACKETS]        (default 2100000, ~70% Mirai)
#
# On a generated pcap of PACKETS records, the rows per second of:
#   (a) mirai_load FILE
#   (b) INSERT INTO t SELECT pcap_read(FILE)           (select-list form)
#   (c) tcpdump -tt -n -r FILE | awk | psql -c "COPY cols(...) FROM STDIN"
#       into a table of plain columns (the pipeline mirai_load replaces)
#   (d) mirai_load FILE.gz  vs  zcat FILE.gz | mirai_load -
#       (and the same two with --dry-run: decoding alone, no database)
#   (e) mirai_load -j 2 on two files  vs  one file
#   (r) for reference: the server's own COPY t FROM 'server file'
#       (FORMAT binary) of the same rows, the ceiling of any COPY client
# and the ratios against the bars: a/b >= 1, a/c >= 4, d >= 2, e >= 1.6.
#
# The machine is shared and noisy: every timing is the median of ROUNDS
# runs (default 5; the slow baseline (c): BASE_ROUNDS, default 1), taken
# in alternation with the others so that noise hurts every side alike.
set -eu

packets=${1:-2100000}
rounds=${ROUNDS:-5}
base_rounds=${BASE_ROUNDS:-1}
top=$(pwd)
gen=${MIRAI_GEN:-$top/src/bin/mirai_gen}
load=${MIRAI_LOAD:-$top/src/bin/mirai_load}
awkprog=$top/test/bench/tcpdump_to_copy.awk
db=mirai_bench_load

dir=$(mktemp -d /tmp/mirai_bench_load.XXXXXX)
chmod 755 "$dir"
trap 'rm -rf "$dir"; dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT INT TERM
umask 022

"$gen" -s 1 -n "$packets" -o "$dir/one.pcap"
"$gen" -s 2 -n "$packets" -o "$dir/two.pcap"
"$gen" -s 1 -n "$packets" -z -o "$dir/one.pcap.gz"

dropdb --if-exists $db >/dev/null 2>&1 || true
createdb $db
q() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d $db -c "SET client_min_messages = warning" -c "$1"
}
q "CREATE EXTENSION mirai_ext"
q "CREATE TABLE t (p packet)"
q "CREATE TABLE cols (ts timestamptz, src inet, dst inet, sport int, dport int, seq bigint, flags int, ttl int)"

# seconds since an arbitrary point, with nanoseconds
now() {
	date +%s.%N
}

# empty the tables and the ledger between runs, and settle
reset() {
	q "TRUNCATE t, cols; DELETE FROM mirai_load_ledger; CHECKPOINT" >/dev/null
}

# time_of NAME COMMAND...: run once after a reset, append "seconds" to
# $dir/NAME.times and remember the rows loaded in $dir/NAME.rows
time_of() {
	name=$1
	shift
	reset
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }' >>"$dir/$name.times"
	q "SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM cols)" >"$dir/$name.rows"
}

median() {
	sort -n "$dir/$1.times" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

run_a() { "$load" -q -d $db -t t "$dir/one.pcap"; }
run_b() { q "INSERT INTO t SELECT pcap_read('$dir/one.pcap')"; }
run_c() {
	tcpdump -tt -n -r "$dir/one.pcap" 2>/dev/null | awk -f "$awkprog" |
		psql -X -q -d $db -c "COPY cols(ts, src, dst, sport, dport, seq, flags, ttl) FROM STDIN"
}
run_dgz() { "$load" -q -d $db -t t "$dir/one.pcap.gz"; }
run_dzcat() { zcat "$dir/one.pcap.gz" | "$load" -q -d $db -t t -; }
run_dgz_dry() { "$load" -q -n "$dir/one.pcap.gz"; }
run_dzcat_dry() { zcat "$dir/one.pcap.gz" | "$load" -q -n -; }
run_e1() { "$load" -q -d $db -t t "$dir/one.pcap"; }
run_e2() { "$load" -q -j 2 -d $db -t t "$dir/one.pcap" "$dir/two.pcap"; }
run_r() { q "COPY t FROM '$rows' (FORMAT binary)"; }

# the rows of (a) as a binary COPY file in the server's data directory, for (r)
rows=$(q "SHOW data_directory")/mirai_bench_rows.bin
run_a
q "COPY t TO '$rows' (FORMAT binary)"

echo "loader benchmark: $packets records, $(stat -c %s "$dir/one.pcap") bytes (gzip: $(stat -c %s "$dir/one.pcap.gz")), median of $rounds rounds"
i=0
while [ $i -lt "$rounds" ]; do
	for m in a b dgz dzcat dgz_dry dzcat_dry e1 e2 r; do
		time_of $m run_$m
	done
	if [ $i -lt "$base_rounds" ]; then
		time_of c run_c
	fi
	i=$((i + 1))
done

# rate NAME: rows per second of the median run
rate() {
	echo "$(cat "$dir/$1.rows") $(median "$1")" | awk '{ printf "%.0f", $1 / $2 }'
}
line() {
	printf '  %-58s %9s rows %7.3f s %6.2f M rows/s\n' "$2" "$(cat "$dir/$1.rows")" "$(median "$1")" \
		"$(echo "$(rate "$1")" | awk '{ print $1 / 1e6 }')"
}
# dry runs count the packets decoded, not rows
for m in dgz_dry dzcat_dry; do
	cat "$dir/a.rows" >"$dir/$m.rows"
done

line a "(a) mirai_load FILE"
line b "(b) INSERT INTO t SELECT pcap_read(FILE)"
line c "(c) tcpdump -tt -n | awk | psql COPY (IPv4 TCP rows only)"
line dgz "(d) mirai_load FILE.gz"
line dzcat "(d) zcat FILE.gz | mirai_load -"
line dgz_dry "(d) mirai_load --dry-run FILE.gz (decode only)"
line dzcat_dry "(d) zcat FILE.gz | mirai_load --dry-run - (decode only)"
line e1 "(e) mirai_load, one file"
line e2 "(e) mirai_load -j 2, two files"
line r "(r) server-side COPY t FROM 'file' (FORMAT binary)"

ratio() {
	awk -v x="$(rate "$1")" -v y="$(rate "$2")" -v bar="$3" -v label="$4" 'BEGIN {
		r = x / y
		printf "  %-44s %5.2f  (bar >= %s: %s)\n", label, r, bar, (r >= bar) ? "met" : "NOT MET"
	}'
}
echo "ratios (rows per second):"
ratio a b 1 "(a) mirai_load / (b) INSERT pcap_read"
ratio a c 4 "(a) mirai_load / (c) tcpdump|awk|psql"
ratio dgz dzcat 2 "(d) FILE.gz / zcat | mirai_load -"
ratio e2 e1 1.6 "(e) -j 2 on two files / one file"
echo "for reference (no bar):"
echo "$(rate dgz_dry) $(rate dzcat_dry)" | awk '{ printf "  %-44s %5.2f\n", "(d) the same, decoding only (--dry-run)", $1 / $2 }'
echo "$(rate a) $(rate r)" | awk '{ printf "  %-44s %5.2f\n", "(a) mirai_load / (r) server-side COPY", $1 / $2 }'
