#!/usr/bin/perl
#
# report.pl
#	  The demo's report: the questions of the honeypot study answered by the
#	  rollup views over the loaded packets, each figure beside the study's
#	  published one, with the time each query took; the capture's mix of
#	  scanner fingerprints; and three charts, drawn by gnuplot.
#
#	  report.pl [-d DBNAME] [-t TABLE] [--model DIR] [--charts DIR]
#	            [--json FILE]
#
# Every measured number comes from a query a user would type against the
# documented views (mirai_daily, mirai_sources, mirai_bots,
# mirai_countries, mirai_scanners_daily), run with psql (PG* variables apply); the queries are
# printed with their results.  The study's figures come from study.conf in
# --model (default src/demo/model).  --json writes the measured numbers for
# tests.  --charts (default build/demo) receives mirai_daily,
# mirai_countries and mirai_scanners as PNG, SVG and PDF, and charts.gp, which draws them again
# from any directory; without gnuplot, no charts and a warning.
#
# src/demo/report.pl
#
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use Getopt::Long;
use JSON::PP;
use Time::Local qw(timegm);

my $top = dirname(dirname(dirname(__FILE__)));
my %opt = (
	d      => '',
	t      => 'capture',
	model  => "$top/src/demo/model",
	charts => "$top/build/demo");
GetOptions(\%opt, 'd=s', 't=s', 'model=s', 'charts=s', 'json=s')
  or die "usage: $0 [-d DBNAME] [-t TABLE] [--model DIR] [--charts DIR] [--json FILE]\n";

# Read a "key = value" file.
sub read_conf
{
	my ($file) = @_;
	my %c;
	open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
	while (<$fh>)
	{
		s/#.*//;
		next unless /\S/;
		/^\s*(\w+)\s*=\s*(.*?)\s*$/ or die "$0: $file:$.: expected key = value\n";
		$c{$1} = $2;
	}
	return \%c;
}

my $study = read_conf("$opt{model}/study.conf");
my %measured;
my @timings;

# Quote a string as an SQL literal.
sub lit
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# Run one query with psql; returns (rows as arrays, milliseconds).
sub query
{
	my ($label, $sql) = @_;
	my @cmd = ('psql', '-X', '-q', '-A', '-t', '-F', "\t", '-v', 'ON_ERROR_STOP=1',
			   ($opt{d} ne '' ? ('-d', $opt{d}) : ()), '-c', '\timing on', '-c', $sql);
	open(my $ph, '-|', @cmd) or die "$0: cannot run psql: $!\n";
	my (@rows, $ms);
	while (my $line = <$ph>)
	{
		chomp $line;
		if ($line =~ /^Time: ([\d.]+) ms/)
		{
			$ms = $1;
			next;
		}
		push @rows, [ split /\t/, $line, -1 ];
	}
	close($ph) or die "$0: query failed ($label):\n$sql\n";
	push @timings, [ $label, $ms ];
	return (\@rows, $ms);
}

# 1234567 -> 1,234,567
sub commify
{
	my ($n) = @_;
	return '' unless defined $n;
	1 while $n =~ s/^(-?\d+)(\d{3})/$1,$2/;
	return $n;
}

# 1 -> 1st, 10 -> 10th
sub ordinal
{
	my ($n) = @_;
	my $suf = ($n % 100 >= 11 && $n % 100 <= 13) ? 'th' : (qw(th st nd rd th th th th th th))[ $n % 10 ];
	return "$n$suf";
}

# Number of days from one YYYY-MM-DD to another, both included.
sub ndays
{
	my ($a, $b) = map { my ($y, $m, $d) = split /-/; timegm(0, 0, 0, $d, $m - 1, $y) } @_;
	return int(($b - $a) / 86400 + 0.5) + 1;
}

# Print a query as a user would type it, indented.
sub show_sql
{
	my ($sql) = @_;
	print map { "    $_\n" } split /\n/, $sql;
}

# Print rows as an aligned table with a header.
sub table
{
	my ($head, $rows, $right) = @_;
	my @w = map { length } @$head;
	for my $r (@$rows)
	{
		for my $i (0 .. $#$r)
		{
			my $l = length($r->[$i] // '');
			$w[$i] = $l if $l > ($w[$i] // 0);
		}
	}
	for my $r ($head, @$rows)
	{
		my @c;
		for my $i (0 .. $#$head)
		{
			my $v = $r->[$i] // '';
			push @c, $right->[$i] ? sprintf("%*s", $w[$i], $v) : sprintf("%-*s", $w[$i], $v);
		}
		(my $line = '  ' . join('  ', @c)) =~ s/\s+$//;
		print "$line\n";
	}
}

my $tbl = lit($opt{t});
my $peak_day = $study->{peak_day};
my $quiet = $study->{quiet_below};
my $busy = $study->{busy_from};

print "Synthetic capture shaped after the study's published figures; days are Japanese days\n";
print "(the table is tracked with time_zone => '$study->{time_zone}'). Each measured figure below\n";
print "is a query over the loaded packets' rollups; the study's figure is beside it.\n";

# ---------------------------------------------------------------------
# 1. Mirai packets per day
# ---------------------------------------------------------------------
my $q_days = <<"EOS";
SELECT count(*) AS days, min(day) AS first_day, max(day) AS last_day,
       sum(packets) AS packets,
       count(*) FILTER (WHERE packets < $quiet) AS quiet_days,
       min(packets) FILTER (WHERE packets < $quiet) AS quiet_min,
       max(packets) FILTER (WHERE packets < $quiet) AS quiet_max,
       count(*) FILTER (WHERE packets >= $busy) AS busy_days,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY packets)
         FILTER (WHERE packets >= $busy) AS busy_median,
       (array_agg(day ORDER BY packets DESC))[1] AS peak_day,
       max(packets) AS peak_packets
  FROM mirai_daily WHERE tbl = ${tbl}::regclass;
EOS
my ($r, $ms) = query('days: mirai_daily, summary', $q_days);
my ($days, $d0, $d1, $total, $qd, $qmin, $qmax, $bd, $bmed, $pday, $ppk) = @{ $r->[0] };
%measured = (%measured, days => $days + 0, first_day => $d0, last_day => $d1,
			 total_packets => $total + 0, quiet_days => $qd + 0, quiet_min => $qmin + 0,
			 quiet_max => $qmax + 0, busy_days => $bd + 0, busy_median => $bmed + 0,
			 peak_day => $pday, peak_packets => $ppk + 0);
print "\n== Mirai packets per day ($study->{time_zone}) ($ms ms)\n\n";
show_sql($q_days);
print "\n";
table([ '', 'this capture', 'the study' ],
	  [ [ 'days', "$days, $d0 .. $d1", ndays($study->{first_day}, $study->{last_day}) . ", $study->{first_day} .. $study->{last_day}" ],
		[ 'Mirai packets', commify($total), commify($study->{total_packets}) ],
		[ "quiet days (below " . commify($quiet) . ")", "$qd days, " . commify($qmin) . ' to ' . commify($qmax),
		  $study->{quiet_days} ],
		[ "busy days (" . commify($busy) . " or more)", "$bd days, median " . commify($bmed), $study->{busy_days} ],
		[ 'peak', "$pday: " . commify($ppk), "$study->{peak_day}: " . commify($study->{peak_packets}) ] ]);

my $q_all = "SELECT sum(all_packets), sum(packets) FROM mirai_hourly WHERE tbl = ${tbl}::regclass;";
($r, $ms) = query('all packets: mirai_hourly', $q_all);
my ($nall, $nmirai) = @{ $r->[0] };
$measured{all_packets} = $nall + 0;
printf "\n  Of the %s packets loaded, %s (%.1f%%) are Mirai's (is_mirai); the rest is other\n"
  . "  traffic that the filter leaves out of the counts (%s, %s ms).\n",
  commify($nall), commify($nmirai), 100 * $nmirai / ($nall || 1), 'mirai_hourly', $ms;

my $q_series = "SELECT day, packets FROM mirai_daily WHERE tbl = ${tbl}::regclass ORDER BY day;";
my ($series) = query('days: mirai_daily, the series', $q_series);
$measured{daily} = { map { $_->[0] => $_->[1] + 0 } @$series };

# ---------------------------------------------------------------------
# 2. Top sources of the peak day
# ---------------------------------------------------------------------
my $q_top = <<"EOS";
SELECT src, country, packets, round(100 * share, 1) AS "share %"
  FROM mirai_sources
 WHERE tbl = ${tbl}::regclass AND day = '$peak_day'
 ORDER BY packets DESC LIMIT 5;
EOS
($r, $ms) = query('top sources: mirai_sources', $q_top);
print "\n== Top sources on $peak_day ($ms ms)\n\n";
show_sql($q_top);
print "\n";
my @study_top = ([ $study->{top1_share}, $study->{top1_country} ],
				 [ $study->{top2_share}, $study->{top2_country} ]);
my @rows;
my $k = 0;
for my $row (@$r)
{
	my ($src, $cc, $n, $sh) = @$row;
	my $s = $study_top[$k] ? "$study_top[$k][0]%, one $study_top[$k][1] address" : '';
	push @rows, [ $k + 1, $src, $cc, commify($n), "$sh%", $s ];
	push @{ $measured{peak_top} }, { src => $src, country => $cc, packets => $n + 0, share => $sh + 0 };
	$k++;
}
table([ '#', 'source', 'country', 'packets', 'share', 'the study' ], \@rows, [ 1, 0, 0, 1, 1, 0 ]);

# ---------------------------------------------------------------------
# 3. Source countries over the period
# ---------------------------------------------------------------------
my $q_bots = <<"EOS";
SELECT rank() OVER (ORDER BY count(*) DESC) AS rank, country, count(*) AS sources,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "share %"
  FROM mirai_bots WHERE tbl = ${tbl}::regclass
 GROUP BY country ORDER BY rank, country;
EOS
($r, $ms) = query('countries by sources: mirai_bots', $q_bots);
my %lead = map { my @l = split ' ', $study->{leading_countries}; ($l[$_] => $_ + 1) } 0 .. 2;
my $jp_note = ordinal($study->{japan_rank}) . ", $study->{japan_share}%";
print "\n== Source countries over the period, by Mirai source addresses ($ms ms)\n\n";
show_sql($q_bots);
print "\n";
@rows = ();
my $nsrc = 0;
$nsrc += $_->[2] for @$r;
for my $row (@$r)
{
	my ($rank, $cc, $n, $sh) = @$row;
	$cc = '(none)' if $cc eq '';
	push @{ $measured{countries_by_sources} }, { rank => $rank + 0, country => $cc, sources => $n + 0, share => $sh + 0 };
	next unless $rank <= 12 || $cc eq 'JP';
	my $s = $lead{$cc} ? 'leading (' . ordinal($lead{$cc}) . ')' : $cc eq 'JP' ? $jp_note : '';
	push @rows, [ $rank, $cc, commify($n), "$sh%", $s ];
}
table([ 'rank', 'country', 'sources', 'share', 'the study' ], \@rows, [ 1, 0, 1, 1, 0 ]);
printf "  ... %d countries, %s Mirai source addresses; country: ISO code from geoip_country when the packet arrived\n",
  scalar(@$r), commify($nsrc);

my $q_ctry = <<"EOS";
SELECT rank, country, packets, round(100 * share, 1) AS "share %"
  FROM mirai_countries WHERE tbl = ${tbl}::regclass ORDER BY rank, country;
EOS
($r, $ms) = query('countries by packets: mirai_countries', $q_ctry);
print "\n== Source countries over the period, by Mirai packets ($ms ms)\n\n";
show_sql($q_ctry);
print "\n";
@rows = ();
for my $row (@$r)
{
	my ($rank, $cc, $n, $sh) = @$row;
	$cc = '(none)' if $cc eq '';
	push @{ $measured{countries_by_packets} }, { rank => $rank + 0, country => $cc, packets => $n + 0, share => $sh + 0 };
	push @rows, [ $rank, $cc, commify($n), "$sh%" ] if $rank <= 12 || $cc eq 'JP';
}
table([ 'rank', 'country', 'packets', 'share' ], \@rows, [ 1, 0, 1, 1 ]);
my ($jp) = grep { $_->{country} eq 'JP' } @{ $measured{countries_by_packets} || [] };
my $top2 = int($study->{top2_share} / 100 * $study->{peak_packets} + 0.5);
print "  The study ranks Japan ", ordinal($study->{japan_rank}), " with $study->{japan_share}%: a share of source addresses. By packets,\n";
printf "  its Japanese address of %s alone sent %s of its %s packets (%.1f%%).\n",
  $peak_day, commify($top2), commify($study->{total_packets}), 100 * $top2 / $study->{total_packets};

# ---------------------------------------------------------------------
# 4. Scanner mix
# ---------------------------------------------------------------------
my $q_scan = <<"EOS";
SELECT coalesce(scanner, '(none)') AS scanner, sum(packets) AS packets,
       round(100.0 * sum(packets) / sum(sum(packets)) OVER (), 2) AS "share %",
       max(sources) AS "sources, busiest day"
  FROM mirai_scanners_daily WHERE tbl = ${tbl}::regclass
 GROUP BY scanner ORDER BY packets DESC;
EOS
($r, $ms) = query('scanner mix: mirai_scanners_daily', $q_scan);
print "\n== All packets by scanner fingerprint (packet_scanner) ($ms ms)\n\n";
show_sql($q_scan);
print "\n";
@rows = ();
for my $row (@$r)
{
	my ($sc, $n, $sh, $ns) = @$row;
	push @{ $measured{scanners} }, { scanner => $sc, packets => $n + 0, share => $sh + 0, max_sources => $ns + 0 };
	push @rows, [ $sc, commify($n), "$sh%", commify($ns) ];
}
table([ 'scanner', 'packets', 'share', 'sources, busiest day' ], \@rows, [ 0, 1, 1, 1 ]);
print "  The study counted Mirai's packets only; the other tools' probes are the capture's model\n";
print "  (mirai_gen --scanners), named here by the catalogue (mirai_scanner_rules).\n";

my $q_scan_days = <<"EOS";
SELECT day, scanner, packets FROM mirai_scanners_daily
 WHERE tbl = ${tbl}::regclass AND scanner IS NOT NULL ORDER BY day, scanner;
EOS
my ($scan_days) = query('scanner mix: mirai_scanners_daily, per day', $q_scan_days);

# ---------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------
my @charts;
if (system('command -v gnuplot >/dev/null 2>&1') == 0)
{
	make_path($opt{charts}) unless -d $opt{charts};
	# absolute paths: the script runs from any directory
	my $cdir = File::Spec->rel2abs($opt{charts});
	my $dat = "$cdir/mirai_daily.dat";
	open(my $fh, '>', $dat) or die "$0: cannot write $dat: $!\n";
	print $fh "# day\tMirai packets\tlabel (the peak)\n";
	print $fh "$_->[0]\t$_->[1]\t", ($_->[1] == $ppk ? " $_->[0]: " . commify($_->[1]) : ''), "\n" for @$series;
	close($fh);
	my $cdat = "$cdir/mirai_countries.dat";
	open($fh, '>', $cdat) or die "$0: cannot write $cdat: $!\n";
	print $fh "# rank\tcountry\tshare of sources (%)\tJapan\n";
	my @all = @{ $measured{countries_by_sources} || [] };
	my @c = grep { $_->{rank} <= 15 || $_->{country} eq 'JP' } @all;
	printf $fh "%d\t%s\t%s\t%d\n", $_->{rank}, $_->{country}, $_->{share}, $_->{country} eq 'JP' ? 1 : 0 for @c;
	close($fh);
	my $sdat = "$cdir/mirai_scanners.dat";
	my @scanners = map { $_->{scanner} } grep { $_->{scanner} ne '(none)' } @{ $measured{scanners} || [] };
	my %by_day;
	$by_day{ $_->[0] }{ $_->[1] } = $_->[2] for @$scan_days;
	open($fh, '>', $sdat) or die "$0: cannot write $sdat: $!\n";
	print $fh join("\t", '# day', @scanners), "\n";
	for my $d (sort keys %by_day)
	{
		print $fh join("\t", $d, map { $by_day{$d}{$_} // 0 } @scanners), "\n";
	}
	close($fh);
	my $splot = join(", \\\n     ", map { my $c = '$' . ($_ + 2); "'$sdat' using (timecolumn(1) + 43200):($c > 0 ? $c : 1/0) with linespoints pt 7 ps 0.5 title '$scanners[$_]'" } 0 .. $#scanners);
	my $shown = @c == 16 ? 'the top 15 and Japan' : sprintf('the top %d', scalar @c);
	my $png1 = "$cdir/mirai_daily.png";
	my $png2 = "$cdir/mirai_countries.png";
	my $gpfile = "$cdir/charts.gp";
	# the same two charts for the screen (PNG) and for papers (SVG, PDF)
	my @terms = (['png', "pngcairo size 1200,560 font 'DejaVu Sans,11' noenhanced"],
				 ['svg', "svg size 1200,560 font 'DejaVu Sans,11' noenhanced"],
				 ['pdf', "pdfcairo size 12in,5.6in font 'DejaVu Sans,11' noenhanced"]);
	open($fh, '>', $gpfile) or die "$0: cannot write $gpfile: $!\n";
	print $fh "# The demo's charts (written by src/demo/report.pl; run again from any directory:\n# gnuplot $gpfile)\n";
	for my $t (@terms)
	{
		my ($ext, $term) = @$t;
		print $fh <<"EOS";
reset
set terminal $term
set rmargin 5
set datafile separator "\\t"
set output '$cdir/mirai_daily.$ext'
set title "Mirai packets per day ($study->{time_zone}), $d0 .. $d1\\nsynthetic capture shaped after the study's published figures"
set xdata time
set timefmt '%Y-%m-%d'
set format x '%Y-%m-%d'
set xtics '$d0', 7*86400 rotate by -45
set mxtics 7
set xrange ['$d0':'$d1']
set offsets 43200, 43200, graph 0.08, 0
set xlabel 'day ($study->{time_zone})'
set ylabel 'Mirai packets (thousands)'
set format y '%.0f'
set yrange [0:*]
set grid ytics
set style fill solid 0.9 noborder
set boxwidth 0.8*86400 absolute
unset key
plot '$dat' using (timecolumn(1) + 43200):(\$2 / 1000.0) with boxes lc rgb '#3b6ea5', \\
     '' using (timecolumn(1) + 43200):(\$2 / 1000.0):3 with labels left offset 0.6,0 notitle

set output '$cdir/mirai_countries.$ext'
unset xdata
set title "Source countries of the Mirai packets, $d0 .. $d1: share of source addresses, $shown of @{[ scalar @all ]} countries (Japan in red)\\nsynthetic capture; countries from geoip_country when each packet arrived"
set format x '%g'
set xtics 1 rotate by 0 scale 0
unset mxtics
set xrange [0.4:*]
set offsets 0, 0.6, 0, 0
set xlabel 'source country (ISO 3166 code), by rank'
set ylabel 'share of source addresses (%)'
set format y '%.0f'
set yrange [0:*]
set boxwidth 0.75 absolute
plot '$cdat' using (\$0 + 1):(\$4 == 0 ? \$3 : 1/0):xtic(2) with boxes lc rgb '#3b6ea5', \\
     '' using (\$0 + 1):(\$4 == 1 ? \$3 : 1/0) with boxes lc rgb '#c0392b', \\
     '' using (\$0 + 1):3:(sprintf('%.1f%%', \$3)) with labels offset 0,0.8 notitle

set output '$cdir/mirai_scanners.$ext'
set title "Packets per day ($study->{time_zone}) by scanner fingerprint (packet_scanner), $d0 .. $d1\\nsynthetic capture: Mirai after the study, the other tools' probes and backscatter from the model"
set xdata time
set timefmt '%Y-%m-%d'
set format x '%Y-%m-%d'
set xtics '$d0', 7*86400 rotate by -45
set mxtics 7
set xrange ['$d0':'$d1']
set offsets 0, 0, 0, 0
set xlabel 'day ($study->{time_zone})'
set ylabel 'packets (log scale)'
set logscale y
set yrange [1:*]
set key outside right top
plot $splot
unset logscale y
set key default

EOS
	}
	close($fh);
	if (system('gnuplot', $gpfile) != 0)
	{
		warn "$0: gnuplot failed on $gpfile\n";
	}
	@charts = grep { -s } map { my $e = $_; ("$cdir/mirai_daily.$e", "$cdir/mirai_countries.$e", "$cdir/mirai_scanners.$e") } qw(png svg pdf);
}
else
{
	warn "$0: gnuplot not found: no charts (Debian package gnuplot-nox)\n";
}
$measured{charts} = \@charts;
$measured{timings_ms} = { map { $_->[0] => $_->[1] + 0 } @timings };

print "\n== Query times\n\n";
table([ 'query', 'ms' ], [ map { [ $_->[0], $_->[1] ] } @timings ], [ 0, 1 ]);

if ($opt{json})
{
	open(my $jh, '>', $opt{json}) or die "$0: cannot write $opt{json}: $!\n";
	print $jh JSON::PP->new->canonical->pretty->encode(\%measured);
	close($jh);
}
print "\n== Charts\n\n", map { "  $_\n" } @charts if @charts;
