#!/usr/bin/perl
#
# 080_demo.t
#	  The demo end to end on a scaled-down model: the same scripts as
#	  `make demo` (src/demo/capture.pl, analyze.sh, report.pl) on 3 Japanese
#	  days, in a database of the test cluster.  Checks that every number of
#	  the report equals SQL over the raw packet table, that the capture
#	  delivers the model exactly (daily counts, the peak day's top shares,
#	  the country table), that countries come from the GeoIP lookup, that
#	  the filter had non-Mirai traffic to reject, and that the charts are
#	  PNG files.  So the demo cannot break silently.
#
# Environment: as every TAP test (test/run.sh): PG* for the cluster,
# MIRAI_TOP, MIRAI_WORK, MIRAI_GEN, MIRAI_LOAD.  Needs the GeoIP database
# that src/demo/build_geoip.pl makes (cached in build/geoip).
#
# test/t/080_demo.t
#
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell qw(shq);

my $top  = $ENV{MIRAI_TOP}  || '.';
my $work = $ENV{MIRAI_WORK} || die "MIRAI_WORK is not set (run through test/run.sh)\n";
my $gen  = $ENV{MIRAI_GEN}  || "$top/src/bin/mirai_gen";
my $dir  = "$work/demo";
my $db   = 'mirai_demo_test';

make_path("$dir/model", "$dir/charts");
chmod 0755, $dir;

# Run a query in the test database; returns rows as arrays.
sub sql
{
	my ($q) = @_;
	my @out = `psql -X -q -A -t -F '\t' -v ON_ERROR_STOP=1 -d $db -c @{[shq($q)]}`;
	die "query failed: $q\n" if $? != 0;
	chomp @out;
	return [ map { [ split /\t/, $_, -1 ] } @out ];
}

# Write a file.
sub put
{
	my ($file, $text) = @_;
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh $text;
	close($fh);
}

# ---- the GeoIP database, readable by the server ----
my $mmdb = "$top/build/geoip/GeoIP-legacy-country.mmdb";
if (system("cd @{[shq($top)]} && perl src/demo/build_geoip.pl --quiet --out @{[shq($mmdb)]} >/dev/null") != 0)
{
	plan skip_all => 'no GeoIP database (src/demo/build_geoip.pl needs geoip-database, libgeo-ip-perl, libmaxmind-db-writer-perl)';
}
copy($mmdb, "$dir/country.mmdb") or die "cannot copy $mmdb: $!";
chmod 0644, "$dir/country.mmdb";

# ---- a scaled-down model: 3 Japanese days ----
put("$dir/model/study.conf", <<'EOS');
first_day          = 2024-12-13
last_day           = 2024-12-15
time_zone          = Asia/Tokyo
total_packets      = 9200
quiet_days         = 1-2 thousand
busy_days          = about 5 thousand
peak_day           = 2024-12-14
peak_packets       = 6000
top1_share         = 41.0
top1_country       = US
top2_share         = 38.5
top2_country       = JP
leading_countries  = TW CN US
japan_rank         = 4
japan_share        = 10.0
quiet_below        = 2000
busy_from          = 5000
EOS
put("$dir/model/model.conf", <<'EOS');
honeypot                = 203.0.113.7
background_min          = 300
background_max          = 500
background_per_source   = 1.5
campaign_per_source     = 8
background_new          = 0.55
campaign_pool           = 1.25
pcapng_from             = 2024-12-14
uncompressed_days       = 1
other_scanners          = 0.05
seed                    = 7
EOS
put("$dir/model/daily.tsv", "# day\tmirai\tother\n2024-12-13\t1200\t600\n2024-12-14\t6000\t700\n2024-12-15\t2000\t650\n");
put("$dir/model/countries.tsv", "# code\tshare\tname\nTW\t40\tTaiwan\nCN\t30\tChina\nUS\t20\tUnited States\nJP\t10\tJapan\n");

# ---- the capture, through the demo's script ----
my $cap = "$dir/captures";
# the network list of the mmdb is cached where make demo keeps it
my $capcmd = join(' ', 'cd', shq($top), '&& perl src/demo/capture.pl', '--mmdb', shq($mmdb),
	'--model', shq("$dir/model"), '--out', shq($cap), '--cache', shq("$top/build/demo"),
	'--gen', shq($gen));
my $out = `$capcmd 2>&1`;
is($?, 0, 'capture.pl ran') or diag($out);
like($out, qr/^capture: 4 files \(2 pcap\.gz, 1 pcapng, 1 pcapng\.gz\)/m,
	'one file per UTC day touched (4), formats by period') or diag($out);
$out = `$capcmd 2>&1`;
like($out, qr/^capture: reusing 4 files/m, 'a second run reuses the files') or diag($out);
chmod 0755, $cap;

# the model's truth about each source
my %model_country;
open(my $sf, '<', "$cap/sources.tsv") or die "cannot read sources.tsv: $!";
while (<$sf>)
{
	next if /^#/;
	chomp;
	my ($a, $cc) = split /\t/;
	$model_country{$a} = $cc;
}
close($sf);

# ---- set-up, load and report, through the demo's script ----
$ENV{MIRAI_DEMO_DB} = $db;
$ENV{MIRAI_DEMO_REPORT_ARGS} = "--json $dir/report.json";
delete $ENV{KEEP};
my $report = `cd @{[shq($top)]} && sh src/demo/analyze.sh @{[shq("$dir/country.mmdb")]} @{[shq($cap)]} @{[shq("$dir/charts")]} @{[shq("$dir/model")]} 2>&1`;
is($?, 0, 'analyze.sh ran') or diag($report);
like($report, qr/mirai_load: 4 files: 4 loaded, 0 already loaded, 0 failed/, 'mirai_load loaded the 4 files');
like($report, qr/Synthetic capture shaped after the study's published figures; days are Japanese days/,
	'the report says the capture is synthetic and days are Japanese');
my $m = eval { decode_json(do { local $/; open(my $j, '<', "$dir/report.json") or die; <$j> }) };
ok($m, 'the report wrote its numbers') or BAIL_OUT('no report.json');

# ---- the report's numbers against SQL over the raw table ----
my $jst = q{(packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date};
my $raw_days = sql("SELECT $jst, count(*) FROM capture WHERE is_mirai(p) GROUP BY 1 ORDER BY 1");
is_deeply($m->{daily}, { map { $_->[0] => $_->[1] } @$raw_days }, 'Mirai packets per Japanese day = raw GROUP BY');
is_deeply($m->{daily}, { '2024-12-13' => 1200, '2024-12-14' => 6000, '2024-12-15' => 2000 },
	'Mirai packets per Japanese day = the model (exactly)');
my ($total) = @{ sql('SELECT count(*) FROM capture WHERE is_mirai(p)')->[0] };
is($m->{total_packets}, $total, 'total Mirai packets = raw count');
like($report, qr/Mirai packets\s+9,200\s+9,200/, 'the total is printed beside the study\'s');
my ($all) = @{ sql('SELECT count(*) FROM capture')->[0] };
ok($all > $total + 1500, "non-Mirai packets were loaded too ($all packets, $total Mirai): the filter rejects some");
is($m->{all_packets}, $all, 'all packets (mirai_hourly) = raw count');
my ($near) = @{ sql("SELECT count(*) FROM capture WHERE NOT is_mirai(p) AND packet_proto(p) = 6 AND packet_dport(p) IN (23, 2323) AND packet_flags(p) = 2")->[0] };
ok($near > 0, "non-Mirai SYNs to the telnet ports are among them ($near)");

my %d = map { $_->[0] => $_->[1] } @$raw_days;
my @q = sort { $a <=> $b } grep { $_ < 2000 } values %d;
my @b = sort { $a <=> $b } grep { $_ >= 5000 } values %d;
is($m->{quiet_days}, scalar(@q), 'quiet days = raw');
is($m->{quiet_min}, $q[0], 'quietest day = raw');
is($m->{busy_days}, scalar(@b), 'busy days = raw');
my ($pday) = sort { $d{$b} <=> $d{$a} } keys %d;
is($m->{peak_day}, $pday, 'peak day = raw');
is($m->{peak_packets}, $d{$pday}, 'peak day packets = raw');

# top sources of the peak day
my $raw_top = sql("SELECT host(packet_src(p)), count(*), geoip_country(packet_src(p)),
                          round(100.0 * count(*) / sum(count(*)) OVER (), 1)
                     FROM capture WHERE is_mirai(p) AND $jst = '2024-12-14'
                    GROUP BY packet_src(p) ORDER BY 2 DESC, 1 LIMIT 5");
my @top = @{ $m->{peak_top} || [] };
is(scalar(@top), 5, 'five top sources reported');
for my $i (0 .. 1)
{
	is_deeply([ $top[$i]{src}, $top[$i]{packets}, $top[$i]{country}, $top[$i]{share} ],
		[ $raw_top->[$i][0], $raw_top->[$i][1], $raw_top->[$i][2], $raw_top->[$i][3] + 0 ],
		"peak day source #" . ($i + 1) . ": address, packets, country, share = raw");
}
is_deeply([ map { [ $_->{share}, $_->{country} ] } @top[ 0, 1 ] ], [ [ 41.0, 'US' ], [ 38.5, 'JP' ] ],
	'the two top shares and countries are the study\'s');
like($report, qr/41\.0%\s+41\.0%, one US address/, 'the top share is printed beside the study\'s');

# countries: from the lookup, and = the model's table
my $raw_c = sql("SELECT geoip_country(src), count(*) FROM (SELECT DISTINCT packet_src(p) AS src FROM capture WHERE is_mirai(p)) s GROUP BY 1 ORDER BY 2 DESC, 1");
is_deeply({ map { $_->{country} => $_->{sources} } @{ $m->{countries_by_sources} } },
	{ map { $_->[0] => $_->[1] } @$raw_c }, 'sources per country (report) = geoip_country over the raw sources');
my $nsrc = 0;
$nsrc += $_->[1] for @$raw_c;
is($nsrc, scalar(keys %model_country), 'every model source is in the table');
my %model_n;
$model_n{$_}++ for values %model_country;
is_deeply({ map { $_->{country} => $_->{sources} } @{ $m->{countries_by_sources} } }, \%model_n,
	'sources per country = the model\'s');
my %share = map { $_->{country} => $_->{share} } @{ $m->{countries_by_sources} };
my %table = (TW => 40, CN => 30, US => 20, JP => 10);
ok(!(grep { abs(($share{$_} // -1) - $table{$_}) > 0.1 + 1e-9 } keys %table) && keys %share == 4,
	'source shares = the model\'s table, to the 0.1% that whole sources allow')
  or diag(explain(\%share));
my $mismatch = 0;
for my $row (@{ sql('SELECT host(src), country FROM mirai_bots') })
{
	$mismatch++ if ($model_country{ $row->[0] } // '') ne $row->[1];
}
is($mismatch, 0, 'each source\'s stored country is the country the model drew its address from');
my $raw_p = sql("SELECT geoip_country(packet_src(p)), count(*) FROM capture WHERE is_mirai(p) GROUP BY 1");
is_deeply({ map { $_->{country} => $_->{packets} } @{ $m->{countries_by_packets} } },
	{ map { $_->[0] => $_->[1] } @$raw_p }, 'packets per country (report) = raw');

# the scanner mix: mirai_scanners_daily names Mirai's packets as mirai_daily
# counts them, and each tool the model's other_scanners writes
my %mix = map { $_->{scanner} => $_->{packets} } @{ $m->{scanners} || [] };
is($mix{mirai}, $m->{total_packets}, 'the scanner mix has as many mirai packets as mirai_daily');
is(join(',', grep { ($mix{$_} // 0) > 0 } qw(zmap masscan nmap unicornscan backscatter)),
	'zmap,masscan,nmap,unicornscan,backscatter', 'the scanner mix names every tool of the model, and backscatter');

# charts: three, as PNG, SVG and PDF; the gnuplot script draws them again from
# another directory; the date axis names the year; the countries chart says
# how many of how many countries it shows
my @charts = @{ $m->{charts} || [] };
is(scalar(@charts), 9, 'three charts, each as PNG, SVG and PDF');
my %magic = (png => "\x89PNG\r\n\x1a\n", pdf => '%PDF-', svg => '<?xml');
for my $f (@charts)
{
	my ($ext) = $f =~ /\.(\w+)$/;
	open(my $ph, '<:raw', $f) or next;
	read($ph, my $head, 8);
	close($ph);
	is(substr($head, 0, length $magic{$ext}), $magic{$ext}, "$f is a " . uc($ext));
}
my $gp = "$dir/charts/charts.gp";
unlink("$dir/charts/mirai_daily.svg");
my $gpout = `cd / && gnuplot @{[shq($gp)]} 2>&1`;
ok($? == 0 && -s "$dir/charts/mirai_daily.svg", 'charts.gp runs from another directory') or diag($gpout);
sub slurp_file { my ($f) = @_; open(my $fh, '<', $f) or return ''; local $/; return <$fh>; }
my $svg = slurp_file("$dir/charts/mirai_daily.svg");
like($svg, qr/>20\d\d-\d\d-\d\d</, 'the date axis names the year');
my $csvg = slurp_file("$dir/charts/mirai_countries.svg");
like($csvg, qr/of \d+ countries/, 'the countries chart says how many countries it shows of how many');

system("dropdb $db");
done_testing();
