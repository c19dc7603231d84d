#!/bin/sh
# Growth curve: the same measures at 1, 10 (and 100) times the study's size,
# on one server and on a coordinator over three sensors; the ratios between
# sizes say whether the views stay flat and loads and raw scans linear
# (figures and method in test/bench/README.md).
#
#   sh test/bench/growth.sh                       1x and 10x (BENCH_SCALES="1 10")
#   BENCH_SCALES=1 sh test/bench/growth.sh        what make bench runs
#   BENCH_SCALES="1 10 100" BENCH_FLEET_SCALES="1 10" sh test/bench/growth.sh
#                                                 make bench-scale
#   BENCH_OUT=DIR                                 also write DIR/growth.tsv and
#                                                 the chart DIR/growth.png (gnuplot)
#   sh test/bench/growth.sh --chart DIR           only draw DIR/growth.png again
#
# For each scale S of BENCH_SCALES:
# 1. The study-shaped capture at S times its size (rollup_data.sql with
#    scale S: S times the packets of each day, S times the pool of
#    long-tail sources), remade as pcap files, one per Tokyo day, each with
#    the day's records and exact Mirai packets per source (common.sh,
#    study_pcap_files).
# 2. Load: the files with mirai_load into an untracked and a tracked table
#    (Asia/Tokyo), BENCH_ROUNDS rounds (default 3), which goes first
#    alternating: the tracked load's packets/s (median) and its ratio to the
#    untracked load (median of the per-round ratios).
# 3. Each view's question, the fastest of BENCH_RUNS (default 5) server
#    times (EXPLAIN ANALYZE: planning plus execution), the questions of
#    flat.sh.
# 4. The raw scan: the per-day Mirai count over the table, with README's
#    statistics on the day expression (the default parallel plan), the
#    fastest of 3 server times: rows/s.
# 5. Storage: the packet table (with its indexes: none) and the rollup
#    tables, mirai_rollup_* (after VACUUM FULL: the untracked table's rounds leave none, the
#    tracked table's earlier rounds leave dead rows), bytes per packet.
# For each scale of BENCH_FLEET_SCALES (default 1; empty: none): fleet.sh at that scale
# (three sensors of a third each and a coordinator, databases of this
# cluster), the coordinator's figures (psql \timing, fastest of 5).
# Runs in a throw-away cluster (pg_virtualenv) unless PGHOST is set.
set -eu

# chart TSV PNG: draws the figures of growth.tsv with gnuplot
chart() {
	cwork=$(mktemp -d /tmp/mirai_growth_chart.XXXXXX)
	awk -F '\t' '$1 == "one"' "$1" >"$cwork/one.dat"
	awk -F '\t' '$1 == "fleet"' "$1" >"$cwork/fleet.dat"
	cat >"$cwork/growth.gp" <<EOF
set terminal pngcairo size 1000,440 font 'DejaVu Sans,9' noenhanced
set output '$2'
set datafile separator "\t"
set datafile missing "-"
set multiplot layout 1,2 title "mirai_ext at 1x, 10x, ... the study's size (test/bench/growth.sh)"
set logscale x
set xlabel "packets"
set format x "%.0s%c"
set grid
set key below horizontal maxcols 2 samplen 2 width -6
set logscale y
set title "views and functions, ms (fastest server time)"
plot '$cwork/one.dat' using 3:10 with linespoints title "mirai_daily", \
	'' using 3:11 with linespoints title "mirai_countries", \
	'' using 3:12 with linespoints title "top 10 of the peak day, mirai_sources", \
	'' using 3:13 with linespoints title "top 10 of the peak day, mirai_top_sources", \
	'' using 3:14 with linespoints title "mirai_top_sources, 92 days", \
	'' using 3:15 with linespoints title "mirai_sources(from, to) LIMIT 10", \
	'' using 3:16 with linespoints title "mirai_new_sources", \
	'' using 3:17 with linespoints title "mirai_bots top 10", \
	'$cwork/fleet.dat' using 3:10 with linespoints dt 2 title "mirai_daily, 3 sensors"
unset logscale y
set yrange [0:*]
set title "rates, M packets/s"
plot '$cwork/one.dat' using 3:(\$4 / 1e6) with linespoints title "load, mirai_load, tracked", \
	'' using 3:(\$6 / 1e6) with linespoints title "raw scan, per-day Mirai count", \
	'$cwork/fleet.dat' using 3:(\$6 / 1e6) with linespoints dt 2 title "raw scan, 3 sensors"
unset multiplot
EOF
	gnuplot "$cwork/growth.gp"
	rm -rf "$cwork"
}

# --chart DIR: only draw DIR/growth.png again from DIR/growth.tsv
if [ "${1:-}" = --chart ]; then
	chart "$2/growth.tsv" "$2/growth.png"
	exit 0
fi

if [ -z "${PGHOST:-}" ] && [ -z "${MIRAI_BENCH_INNER:-}" ]; then
	export MIRAI_BENCH_INNER=1
	exec pg_virtualenv -t -v 15 -o 'shared_buffers=2GB' -o 'max_wal_size=8GB' \
		-o 'work_mem=64MB' -o 'max_worker_processes=8' sh "$0" "$@"
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
scales=${BENCH_SCALES:-1 10}
fleet_scales=${BENCH_FLEET_SCALES-1}
rounds=${BENCH_ROUNDS:-3}
runs=${BENCH_RUNS:-5}
loader=${MIRAI_LOAD:-$top/src/bin/mirai_load}
work=$(mktemp -d /tmp/mirai_growth.XXXXXX)
chmod 777 "$work"
db=mirai_growth
trap 'rm -rf "$work"' EXIT INT TERM
export PGOPTIONS='-c client_min_messages=warning'
P="psql -X -q -v ON_ERROR_STOP=1 -d $db"
. "$top/test/bench/common.sh"

S0="'2024-11-16 00:00+09'::timestamptz"
S1="'2025-02-16 00:00+09'::timestamptz"
# the figures, one line a set-up and scale
views="daily countries day_top10 day_top_sources top_sources_92d sources_92d new_sources bots_top10"
printf 'setup\tscale\tpackets\tload_pps\tload_vs_untracked\tscan_rows_s\tbytes_per_packet\ttable_bytes_per_packet\trollup_bytes_per_packet' >"$work/growth.tsv"
for v in $views; do printf '\t%s_ms' "$v" >>"$work/growth.tsv"; done
echo >>"$work/growth.tsv"

# load TABLE: the pcap files with mirai_load, prints wall seconds
load() {
	$P -c "TRUNCATE $1" -c "DELETE FROM mirai_load_ledger WHERE tbl = '$1'::regclass" -c "CHECKPOINT"
	s=$(now)
	"$loader" -q -d "$db" -t "$1" "$work"/*.pcap
	echo "$(now) - $s" | bc
}

for scale in $scales; do
	echo "== ${scale}x: the study-shaped capture at $scale times its size"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	$P -c "CREATE EXTENSION mirai_ext" \
		-c "CREATE TABLE staging (p packet); CREATE TABLE plain (p packet); CREATE TABLE tracked (p packet)" \
		-c "SELECT mirai_track('tracked', time_zone => 'Asia/Tokyo')" >/dev/null
	t0=$(now)
	study_staging staging 1 "$scale"
	study_pcap_files staging "$work" Asia/Tokyo
	$P -c "DROP TABLE staging"
	nfiles=$(ls "$work"/*.pcap | wc -l)
	pcap_bytes=$(cat "$work"/*.pcap | wc -c)
	printf 'made %s pcap files (%s bytes), %.0f s\n' "$nfiles" "$pcap_bytes" "$(echo "$(now) - $t0" | bc)"

	echo "-- load: $nfiles files with mirai_load, $rounds rounds (wall s)"
	: >"$work/rounds.t"
	r=0
	while [ "$r" -lt "$rounds" ]; do
		if [ $((r % 2)) -eq 0 ]; then
			b=$(load plain)
			t=$(load tracked)
		else
			t=$(load tracked)
			b=$(load plain)
		fi
		echo "$b $t" >>"$work/rounds.t"
		r=$((r + 1))
	done
	npackets=$($P -A -t -c "SELECT count(*) FROM tracked")
	$P -A -t -c "SELECT format('%s Mirai packets, %s (day, source) pairs', sum(packets), sum(sources))
		FROM mirai_daily WHERE tbl = 'tracked'::regclass"
	[ "$npackets" = "$($P -A -t -c "SELECT count(*) FROM plain")" ] || { echo "the two tables differ" >&2; exit 1; }
	awk -v n="$npackets" '{ printf "round %d: untracked %.2f s (%.2f M packets/s), tracked %.2f s (%.2f M/s): %+.0f%%\n",
		NR, $1, n / $1 / 1e6, $2, n / $2 / 1e6, ($2 / $1 - 1) * 100 }' "$work/rounds.t"
	tt=$(awk '{ print $2 }' "$work/rounds.t" | median)
	rw=$(awk '{ print $2 / $1 }' "$work/rounds.t" | median)
	pps=$(echo "$npackets / $tt" | bc -l)
	printf 'tracked load: %s packets, %.2f M packets/s (median), %+.0f%% over untracked (median of the per-round ratios)\n' \
		"$npackets" "$(echo "$pps / 1000000" | bc -l)" "$(echo "($rw - 1) * 100" | bc -l)"
	rm -f "$work"/*.pcap
	$P -c "DROP TABLE plain"
	# the extension's rollup tables, whatever their number
	rollups="SELECT oid::regclass FROM pg_class WHERE relname LIKE 'mirai\\_rollup\\_%' AND relkind = 'r'"
	printf '%s\n' "SELECT format('VACUUM FULL %s', r) FROM ($rollups) s(r) \\gexec" | $P
	$P -c "VACUUM ANALYZE tracked" \
		-c "CREATE STATISTICS tracked_day ON (packet_time(p)::date) FROM tracked" -c "ANALYZE tracked"
	$P -A -t -F ' ' -c "SELECT pg_total_relation_size('tracked'),
		(SELECT sum(pg_total_relation_size(r)) FROM ($rollups) s(r))" >"$work/sizes.t"
	read -r tbytes rbytes <"$work/sizes.t"
	printf 'storage: packet table %s bytes (%.1f a packet), rollups %s bytes (%.2f a packet); the pcap files %.1f a packet\n' \
		"$tbytes" "$(echo "$tbytes / $npackets" | bc -l)" "$rbytes" "$(echo "$rbytes / $npackets" | bc -l)" \
		"$(echo "$pcap_bytes / $npackets" | bc -l)"

	peak=$($P -A -t -c "SELECT day FROM mirai_daily WHERE tbl = 'tracked'::regclass ORDER BY packets DESC LIMIT 1")
	echo "-- views: the fastest of $runs server times, ms (peak day $peak; load average $(cut -d' ' -f1-3 /proc/loadavg))"
	: >"$work/views.t"
	ask() {
		ms=$(server_ms "$runs" "$2")
		printf '%-16s %10.2f  %s\n' "$1" "$ms" "$2"
		printf '\t%s' "$ms" >>"$work/views.t"
	}
	ask daily "SELECT * FROM mirai_daily WHERE tbl = 'tracked'::regclass"
	ask countries "SELECT * FROM mirai_countries WHERE tbl = 'tracked'::regclass"
	ask day_top10 "SELECT * FROM mirai_sources WHERE tbl = 'tracked'::regclass AND day = '$peak' ORDER BY packets DESC LIMIT 10"
	ask day_top_sources "SELECT * FROM mirai_top_sources('$peak 00:00+09'::timestamptz, '$peak 00:00+09'::timestamptz + interval '1 day', 10, 'tracked')"
	ask top_sources_92d "SELECT * FROM mirai_top_sources($S0, $S1, 10, 'tracked')"
	ask sources_92d "SELECT * FROM mirai_sources($S0, $S1, 'tracked') LIMIT 10"
	ask new_sources "SELECT * FROM mirai_new_sources WHERE tbl = 'tracked'::regclass"
	ask bots_top10 "SELECT * FROM mirai_bots WHERE tbl = 'tracked'::regclass ORDER BY packets DESC LIMIT 10"

	Q="SELECT packet_time(p)::date, count(*) FILTER (WHERE is_mirai(p)) FROM tracked GROUP BY 1"
	plan=$($P -A -t -c "EXPLAIN $Q" | sed -n 's/.*Workers Planned: \([0-9]*\).*/\1 workers/p')
	scan_ms=$(server_ms 3 "$Q")
	scan=$(echo "$npackets / $scan_ms * 1000" | bc -l)
	# where the pages came from: shared buffers (hit) or the kernel (read)
	bufs=$($P -A -t -c "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) $Q" | sed -n 's/^ *Buffers: *//p' | head -n 1)
	printf 'raw scan: %.0f ms, %.2f M rows/s (plan: %s; buffers of one more run: %s)\n  %s\n' "$scan_ms" \
		"$(echo "$scan / 1000000" | bc -l)" "${plan:-serial}" "$bufs" "$Q"
	printf 'one\t%s\t%s\t%.0f\t%.3f\t%.0f\t%.2f\t%.2f\t%.3f%s\n' "$scale" "$npackets" "$pps" "$rw" "$scan" \
		"$(echo "($tbytes + $rbytes) / $npackets" | bc -l)" "$(echo "$tbytes / $npackets" | bc -l)" \
		"$(echo "$rbytes / $npackets" | bc -l)" "$(cat "$work/views.t")" >>"$work/growth.tsv"
	psql -X -q -d postgres -c "DROP DATABASE $db"
done

# the coordinator's figures: fleet.sh at each scale, its fastest times
for scale in $fleet_scales; do
	echo "== ${scale}x on three sensors and a coordinator (test/bench/fleet.sh)"
	BENCH_FLEET_SCALE=$scale BENCH_FLEET_TSV="$work/fleet.t" BENCH_FLEET_LOAD=0 BENCH_RUNS=$runs \
		sh "$top/test/bench/fleet.sh"
	awk -F '\t' -v scale="$scale" -v views="$views" '
		BEGIN {
			k["mirai_daily"] = "daily"; k["mirai_countries"] = "countries"
			k["top 10 sources of the peak day (mirai_sources)"] = "day_top10"
			k["top 10 sources of the 92 days (mirai_top_sources)"] = "top_sources_92d"
			k["mirai_new_sources"] = "new_sources"; k["top 10 bots (mirai_bots)"] = "bots_top10"
		}
		$1 == "packets" { n = $2 }
		$1 in k { ms[k[$1]] = $2 }
		$1 ~ /^raw / { scan = n / $2 * 1000 }
		END {
			printf "fleet\t%s\t%s\t-\t-\t%.0f\t-\t-\t-", scale, n, scan
			nv = split(views, v, " ")
			for (i = 1; i <= nv; i++) printf "\t%s", (v[i] in ms ? ms[v[i]] : "-")
			printf "\n"
		}' "$work/fleet.t" >>"$work/growth.tsv"
done

printf '%s\n' "== the growth curve (load and scan: M packets/s; views: ms; fleet: the coordinator, psql \\timing)"
awk -F '\t' 'NR == 1 { next }
	NR == 2 { printf "%-6s %5s %11s %8s %7s %8s %7s %8s %9s %10s %9s %9s %9s %9s %9s\n", "setup", "scale", "packets",
		"load", "vs untr", "scan", "B/pkt", "daily", "countries", "day top10", "day top", "top 92d", "src 92d", "new src", "bots 10" }
	{
		printf "%-6s %5s %11s %8s %7s %8.2f %7s", $1, $2 "x", $3, ($4 == "-" ? "-" : sprintf("%.2f", $4 / 1e6)),
			($5 == "-" ? "-" : sprintf("%+.0f%%", ($5 - 1) * 100)), $6 / 1e6, $7
		for (i = 10; i <= NF; i++) printf " %9s", ($i == "-" ? "-" : sprintf("%.2f", $i))
		printf "\n"
	}' "$work/growth.tsv"
# flatness: each figure at one scale over the same at the scale before, and
# the exponent log(ratio) / log(packets ratio): 0 flat, 1 linear
echo "== ratios between consecutive scales (exponent: 0 flat, 1 linear in the packets)"
awk -F '\t' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
	{
		if (($1 in last)) {
			split(last[$1], a, "\t")
			pr = $3 / a[3]
			printf "%s %sx/%sx: packets %.2fx\n", $1, $2, a[2], pr
			for (i = 4; i <= NF; i++) {
				if (i == 5 || $i == "-" || a[i] == "-" || a[i] == 0) continue
				r = $i / a[i]
				printf "  %-26s %8.2fx   exponent %5.2f\n", h[i], r, log(r) / log(pr)
			}
		}
		last[$1] = $0
	}' "$work/growth.tsv"
echo "-- (load_pps and scan_rows_s: a ratio of 1 is linear time; the views: a ratio of 1 is flat)"
echo "== growth.tsv"
cat "$work/growth.tsv"

if [ -n "${BENCH_OUT:-}" ]; then
	mkdir -p "$BENCH_OUT"
	cp "$work/growth.tsv" "$BENCH_OUT/growth.tsv"
	if command -v gnuplot >/dev/null 2>&1; then
		chart "$BENCH_OUT/growth.tsv" "$BENCH_OUT/growth.png"
		echo "wrote $BENCH_OUT/growth.tsv and $BENCH_OUT/growth.png"
	else
		echo "gnuplot not found (Debian package gnuplot-nox): wrote $BENCH_OUT/growth.tsv only"
	fi
fi
