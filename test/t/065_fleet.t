#!/usr/bin/perl
#
# 065_fleet.t
#	  Many servers: three sensor clusters and a coordinator cluster on this
#	  machine, set up exactly as README's "Many servers" says.  Each sensor
#	  loads its own captures (overlapping sources, a day split in parts on
#	  one sensor and not on another) with mirai_load; the coordinator has a
#	  foreign partition per sensor and a local partition.  A single server
#	  (a database of the test cluster) loads all the same captures into
#	  one table.  Then:
#	  1. every view and range function of the coordinator, every column,
#	     equals the single server's, after the first loads, after a sensor
#	     loads another capture, after rows inserted through the coordinator
#	     into a foreign partition and into the local one, after a delete;
#	  2. the raw Mirai count per day runs on the sensors (EXPLAIN VERBOSE:
#	     is_mirai and count(*) in each Remote SQL) and equals the rollups;
#	  3. the rollups go through the user mapping of the role that reads,
#	     and show a role only what it may read; a partition made after
#	     mirai_track cannot miscount; a sensor in another time zone, and a
#	     sensor that is down, are errors naming the server.
#	  The clusters run as the postgres user (initdb refuses root), in a
#	  directory of MIRAI_WORK, unix sockets only; they are stopped and
#	  removed at the end, whatever happens.
#
# test/t/065_fleet.t
#
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell qw(shq);

my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my $gen = $ENV{MIRAI_GEN} or plan skip_all => 'MIRAI_GEN not set';
my $load = $ENV{MIRAI_LOAD} or plan skip_all => 'MIRAI_LOAD not set';
my $mmdb = "$ENV{MIRAI_FIXTURES}/geoip-country.mmdb";
my $bindir = `pg_config --bindir`;
chomp $bindir;
$ENV{PGOPTIONS} = '-c client_min_messages=warning';

my $dir = "$work/fleet_t";
my $root = $> == 0;
my @clusters;					# started, stopped at the end

# Run a command as the clusters' owner (postgres when run as root).
sub as_owner
{
	my ($cmd) = @_;
	$cmd = 'su postgres -s /bin/sh -c ' . shq($cmd) if $root;
	my $out = `$cmd 2>&1`;
	die "failed: $cmd\n$out" if $? != 0;
	return $out;
}

END
{
	my $status = $?;
	for my $c (@clusters)
	{
		system($root
			? "su postgres -s /bin/sh -c " . shq("$bindir/pg_ctl -D $c->{data} -m immediate -w stop") . " >/dev/null 2>&1"
			: "$bindir/pg_ctl -D $c->{data} -m immediate -w stop >/dev/null 2>&1");
	}
	system('rm', '-rf', $dir) if -d $dir;
	$? = $status;
}
$SIG{INT} = $SIG{TERM} = sub { exit 1 };

# SQL on a cluster (undef: the test cluster's reference database): output
# with errors; dies on an error unless may_fail.
sub psql
{
	my ($c, $sql, %o) = @_;
	my $conn = $c ? "-h $dir -p $c->{port} -U postgres -d postgres" : '-d mirai_fleet_ref';
	$conn .= " -c " . shq("SET ROLE $o{role}") if $o{role};
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 $conn -c @{[shq($sql)]} 2>&1`;
	my $rc = $? >> 8;
	chomp $out;
	die "psql failed ($sql): $out\n" if $rc != 0 && !$o{may_fail};
	return wantarray ? ($rc, $out) : $out;
}

# mirai_load files into a cluster's table (undef: the reference).
sub load
{
	my ($c, $table, @files) = @_;
	my $conn = $c ? "-h $dir -p $c->{port} -U postgres -d postgres" : '-d mirai_fleet_ref';
	my $out = `$load -q $conn -t $table @files 2>&1`;
	die "mirai_load failed: $out" if $? != 0;
}

# ---------------------------------------------------------------------
# Captures: schedules with overlapping sources
# ---------------------------------------------------------------------
mkdir $dir or die "$dir: $!";
chmod 0755, $dir;
if ($root)
{
	my (undef, undef, $uid, $gid) = getpwnam('postgres') or die "no postgres user\n";
	chown $uid, $gid, $dir;
}
my $cap = "$work/fleet_captures";
mkdir $cap;
my %day = (13 => 1734048000, 14 => 1734134400, 15 => 1734220800, 16 => 1734307200);

# flood(from, to): one packet from each of the addresses from..to of 198.18/15
sub flood
{
	my ($from, $to) = @_;
	return map { sprintf('198.18.%d.%d 1', $_ >> 8, $_ & 255) } $from .. $to;
}

my %captures = (
	s1 => [[13, 400, '192.0.2.10 100', '198.51.100.7 50', '203.0.113.201 20'],
		   [14, 600, '198.51.100.66 150', '192.0.2.99 120', '198.51.100.7 30'],
		   [15, 6000, flood(1, 5000)]],
	s2 => [[13, 300, '192.0.2.10 70', '198.51.100.8 40'],
		   [14, 500, '198.51.100.66 90', '192.0.2.99 10', '1.0.0.5 33'],
		   [15, 4000, flood(2501, 6000), '192.0.2.10 7']],
	s3 => [[14, 300, '198.51.100.66 60', '203.0.113.130 44'],
		   [15, 300, '192.0.2.10 21', '198.51.100.7 24']],
	s2b => [[14, 100, '198.51.100.7 11', '203.0.113.201 5'],
			[16, 100, '192.0.2.44 9', '1.0.0.5 3']],
	hq => [[13, 100, '192.0.2.10 12', '100.64.1.2 8'],
		   [16, 50, '198.51.100.66 4']]);
my $seed = 40;
for my $name (sort keys %captures)
{
	open my $f, '>', "$cap/$name.sched" or die;
	for my $w (@{ $captures{$name} })
	{
		my ($d, $records, @sources) = @$w;
		print $f "window $day{$d} @{[$day{$d} + 86400]} $records\n";
		print $f "$_\n" for @sources;
	}
	close $f;
	my $out = `$gen -s @{[$seed++]} --schedule $cap/$name.sched -l ether -o $cap/$name.pcap 2>&1`;
	die "mirai_gen: $out" if $? != 0;
}

# ---------------------------------------------------------------------
# Clusters: one initdb, copied; unix sockets in $dir only
# ---------------------------------------------------------------------
as_owner("$bindir/initdb -D $dir/template -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync");
my $port = 54320 + ($$ % 500);
for my $name (qw(s1 s2 s3 coord))
{
	$port++ while -e "$dir/.s.PGSQL.$port" || -e "/var/run/postgresql/.s.PGSQL.$port";
	my $c = {name => $name, port => $port++, data => "$dir/$name"};
	as_owner("cp -a $dir/template $c->{data}");
	open my $conf, '>>', "$c->{data}/postgresql.conf" or die;
	print $conf "port = $c->{port}\nlisten_addresses = ''\nunix_socket_directories = '$dir'\n",
	  "extension_destdir = '$work/root'\nmirai_ext.geoip_database = '$mmdb'\n",
	  "fsync = off\nshared_buffers = 16MB\nmax_connections = 20\n";
	close $conf;
	as_owner("$bindir/pg_ctl -D $c->{data} -l $c->{data}/log -w start");
	push @clusters, $c;
}
my ($s1, $s2, $s3, $coord) = @clusters;
my %sensor = (s1 => $s1, s2 => $s2, s3 => $s3);

# The single server: a database of the test cluster, one table for all.
system("psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS mirai_fleet_ref' >/dev/null 2>&1");
system("psql -X -q -d postgres -c 'CREATE DATABASE mirai_fleet_ref' >/dev/null") == 0 or die;
psql(undef, "ALTER DATABASE mirai_fleet_ref SET mirai_ext.geoip_database = " . shq($mmdb));
psql(undef, "CREATE EXTENSION mirai_ext; CREATE TABLE capture (sensor text, p packet); "
	  . "SELECT mirai_track('capture')");

# load a capture into a sensor (or the coordinator's local partition) and
# the same into the single server, with the same sensor column
sub load_both
{
	my ($c, $table, $name, $sensor) = @_;
	load($c, $table, "$cap/$name.pcap");
	psql(undef, "ALTER TABLE capture ALTER sensor SET DEFAULT " . shq($sensor));
	load(undef, 'capture', "$cap/$name.pcap");
}

# ---------------------------------------------------------------------
# The set-up of README, "Many servers"
# ---------------------------------------------------------------------
for my $name (qw(s1 s2 s3))
{
	psql($sensor{$name}, "CREATE EXTENSION mirai_ext; "
		  . "CREATE TABLE capture (sensor text DEFAULT '$name', p packet); "
		  . "SELECT mirai_track('capture')");
	load_both($sensor{$name}, 'capture', $name, $name);
}
my $setup = "CREATE EXTENSION postgres_fdw; CREATE EXTENSION mirai_ext; ";
for my $name (qw(s1 s2 s3))
{
	$setup .= "CREATE SERVER $name FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$dir', "
	  . "port '$sensor{$name}{port}', dbname 'postgres', extensions 'mirai_ext', async_capable 'true'); "
	  . "CREATE USER MAPPING FOR postgres SERVER $name; ";
}
$setup .= "CREATE TABLE capture (sensor text, p packet) PARTITION BY LIST (sensor); ";
$setup .= "CREATE FOREIGN TABLE capture_$_ PARTITION OF capture FOR VALUES IN ('$_') "
  . "SERVER $_ OPTIONS (table_name 'capture'); "
  for qw(s1 s2 s3);
$setup .= "CREATE TABLE capture_hq PARTITION OF capture (sensor DEFAULT 'hq') FOR VALUES IN ('hq'); ";
$setup .= "SELECT mirai_track('capture'); ";
$setup .= "ANALYZE capture; ALTER DATABASE postgres SET enable_partitionwise_aggregate = on";
psql($coord, $setup);
load_both($coord, 'capture_hq', 'hq', 'hq');

# ---------------------------------------------------------------------
# The coordinator's views against the single server's
# ---------------------------------------------------------------------
my @questions = (
	'mirai_daily', 'mirai_sources', 'mirai_countries', 'mirai_daily_countries',
	'mirai_hourly', 'mirai_bots', 'mirai_new_sources',
	"mirai_daily('2024-12-13', '2024-12-17', 'capture')",
	"mirai_daily('2024-12-14', '2024-12-15', 'capture')",
	"mirai_sources('2024-12-13', '2024-12-17', 'capture')",
	"mirai_sources('2024-12-14', '2024-12-16', 'capture')",
	"mirai_top_sources('2024-12-13', '2024-12-17', 3, 'capture')",
	"mirai_top_sources('2024-12-14', '2024-12-15', 10, 'capture')",
	# every source of the range, each looked up
	"(SELECT s.* FROM mirai_sources('2024-12-13', '2024-12-17', 'capture') a, "
	  . "mirai_source(a.src, '2024-12-14', '2024-12-16', 'capture') s)",
	"mirai_countries('2024-12-13', '2024-12-17', 'capture')",
	"mirai_daily_packets('Asia/Tokyo', '2024-12-12', '2024-12-18', 'capture')");

sub rows_of
{
	my ($c, $q, %o) = @_;
	return psql($c, "SELECT v::text FROM $q v WHERE tbl = 'capture'::regclass ORDER BY 1", %o);
}

# The rows of every question, asked in one session (its connections to
# the sensors kept): a list of strings.
sub answers
{
	my ($c) = @_;
	my $conn = $c ? "-h $dir -p $c->{port} -U postgres -d postgres" : '-d mirai_fleet_ref';
	my $script = "$dir/questions.sql";
	open my $f, '>', $script or die;
	print $f "\\echo ==\nSELECT v::text FROM $_ v WHERE tbl = 'capture'::regclass ORDER BY 1;\n"
	  for @questions;
	close $f;
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 $conn -f $script 2>&1`;
	die "psql failed: $out\n" if $? != 0;
	my @a = split /^==\n/m, $out;
	shift @a;
	return @a;
}

sub same_as_single_server
{
	my ($when) = @_;
	my @want = answers(undef);
	my @got = answers($coord);
	for my $i (0 .. $#questions)
	{
		my ($w, $g) = ($want[$i] // '', $got[$i] // '');
		ok(length($w) > 0 && $g eq $w, "$when: $questions[$i] equals the single server's")
		  or diag("coordinator:\n" . substr($g, 0, 2000) . "\nsingle server:\n" . substr($w, 0, 2000));
	}
}

# the parts: a day split on one sensor and not on another
is(psql($s1, "SELECT parts FROM mirai_rollup_day WHERE day = '2024-12-15'") . ' '
	  . psql($s2, "SELECT parts FROM mirai_rollup_day WHERE day = '2024-12-15'"),
	'2 1', 'the flooded day is in 2 parts on s1, 1 on s2');
is(psql($coord, "SELECT sources FROM mirai_daily WHERE day = '2024-12-15'"), '6002',
	'a source seen by two sensors counts once');
same_as_single_server('first loads');
# the scanner dimension is per sensor: the coordinator's view leaves the fleet table out
is(psql($coord, "SELECT count(*) FROM mirai_scanners_daily WHERE tbl = 'capture'::regclass"), '0',
	'mirai_scanners_daily leaves a table with foreign partitions out');
is(psql($s1, "SELECT count(*) FROM (SELECT (packet_time(p) AT TIME ZONE 'UTC')::date, packet_scanner(p), "
		  . "count(*), count(DISTINCT packet_src(p)) FROM capture GROUP BY 1, 2 "
		  . "EXCEPT SELECT day, scanner, packets, sources FROM mirai_scanners_daily WHERE tbl = 'capture'::regclass) x"), '0',
	"a sensor's own mirai_scanners_daily has its table");

# ---------------------------------------------------------------------
# The raw count per day runs on the sensors
# ---------------------------------------------------------------------
my $raw = "SELECT date '1970-01-01' + d::integer AS day, sum(n) AS mirai FROM "
  . "(SELECT sensor, packet_time_ns(p) / 86400000000000 AS d, count(*) AS n "
  . "FROM capture WHERE is_mirai(p) GROUP BY sensor, d) s GROUP BY 1 ORDER BY 1";
my $plan = psql($coord, "EXPLAIN (VERBOSE, COSTS OFF) $raw");
my @remote = $plan =~ /Remote SQL: (SELECT sensor, \(public\.packet_time_ns\(p\) \/ 86400000000000::bigint\), count\(\*\) FROM public\.capture WHERE \(public\.is_mirai\(p\)\) GROUP BY 1, 2)/g;
is(scalar @remote, 3, 'the per-day Mirai count is pushed down to each sensor (EXPLAIN VERBOSE)')
  or diag($plan);
like($plan, qr/Async Foreign Scan/, 'the sensors are scanned at once (async append)');
is(psql($coord, $raw),
	psql($coord, "SELECT day || '|' || packets FROM mirai_daily WHERE tbl = 'capture'::regclass ORDER BY day"),
	'the pushed-down raw count equals the rollups');

# ---------------------------------------------------------------------
# Live: a sensor loads another capture; rows inserted through the coordinator
# ---------------------------------------------------------------------
load_both($s2, 'capture', 's2b', 's2');
same_as_single_server('after s2 loads another capture');

my $pk = "2024-12-16T05:00:00Z tcp 198.51.100.99:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54";
my $pk2 = "2024-12-13T06:00:00Z tcp 192.0.2.10:40001 > 203.0.113.7:2323 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=2 len=54";
for my $c ($coord, undef)
{
	psql($c, "INSERT INTO capture VALUES ('s3', '$pk'), ('s3', '$pk2'), ('hq', '$pk'), ('hq', '$pk2')");
}
is(psql($s3, "SELECT count(*) FROM capture WHERE packet_src(p) = '198.51.100.99'"), '1',
	'a row inserted through the coordinator into a foreign partition is on its sensor');
for my $c ($coord, undef)
{
	psql($c, "DELETE FROM capture WHERE sensor = 'hq' AND packet_src(p) = '192.0.2.10' "
		  . "AND packet_time(p) < '2024-12-13 06:00'");
}
same_as_single_server('after inserts through the coordinator and a delete');

# ---------------------------------------------------------------------
# Partitions made later, time zones, privileges, a sensor down
# ---------------------------------------------------------------------
psql($coord, "CREATE TABLE capture_lab PARTITION OF capture (sensor DEFAULT 'lab') FOR VALUES IN ('lab')");
my ($rc, $out) = psql($coord, "INSERT INTO capture_lab (p) VALUES ('$pk')", may_fail => 1);
like($out, qr/rows of partition "capture_lab" were not counted in the rollups of table "capture"/,
	'rows inserted into a partition made after mirai_track, not counted, fail the commit');
psql($coord, "SELECT mirai_rebuild('capture'); INSERT INTO capture_lab (p) VALUES ('$pk')");
psql(undef, "INSERT INTO capture VALUES ('lab', '$pk')");
is(rows_of($coord, 'mirai_daily'), rows_of(undef, 'mirai_daily'),
	'after mirai_rebuild, that partition counts its rows');

psql($coord, "CREATE TABLE tokyo (sensor text, p packet) PARTITION BY LIST (sensor); "
	  . "CREATE FOREIGN TABLE tokyo_s1 PARTITION OF tokyo FOR VALUES IN ('s1') SERVER s1 OPTIONS (table_name 'capture'); "
	  . "SELECT mirai_track('tokyo', time_zone => 'Asia/Tokyo')");
($rc, $out) = psql($coord, "SELECT * FROM mirai_daily WHERE tbl = 'tokyo'::regclass", may_fail => 1);
like($out, qr/table public\.capture on server "s1" counts days of time zone "UTC", table "tokyo" here days of "Asia\/Tokyo"/,
	'a sensor whose days are of another time zone is an error naming it');
psql($coord, "SELECT mirai_untrack('tokyo'); DROP TABLE tokyo");

# roles: on the sensors, reader may read the per-table views, noread nothing
for my $c ($s1, $s2, $s3)
{
	psql($c, "CREATE ROLE reader LOGIN; CREATE ROLE noread LOGIN; "
		  . "GRANT SELECT ON capture_mirai_daily, capture_mirai_sources, capture_mirai_countries TO reader");
}
my $roles = "CREATE ROLE analyst; CREATE ROLE nomap; CREATE ROLE weak; CREATE ROLE nosee; "
  . "GRANT SELECT ON capture TO analyst, nomap, weak; ";
$roles .= "CREATE USER MAPPING FOR analyst SERVER $_ OPTIONS (user 'reader', password_required 'false'); "
  . "CREATE USER MAPPING FOR weak SERVER $_ OPTIONS (user 'noread', password_required 'false'); "
  for qw(s1 s2 s3);
psql($coord, $roles);
for my $q ('mirai_daily', 'mirai_sources', "mirai_top_sources('2024-12-13', '2024-12-17', 3, 'capture')")
{
	is(rows_of($coord, $q, role => 'analyst'), rows_of(undef, $q),
		"$q through the user mapping of the role that reads");
}
is(psql($coord, "SELECT count(*) FROM mirai_daily WHERE tbl = 'capture'::regclass", role => 'nosee'), '0',
	'a role that may not read the table sees none of its rollups (and no sensor is asked)');
# the fleet functions behind the views are callable by any role: called
# directly on a table it may not read, they answer nothing and ask no sensor
is(psql($coord, "SELECT (SELECT count(*) FROM mirai_fleet_days('capture', 'sources'))
                      + (SELECT count(*) FROM mirai_fleet_hours('capture'))
                      + (SELECT count(*) FROM mirai_fleet_countries('capture'))
                      + (SELECT count(*) FROM mirai_fleet_entries('capture', '2024-12-14') e WHERE e IS NOT NULL)",
		role => 'nosee'), '0',
	'mirai_fleet_days, _hours, _countries and _entries called directly by a role that may not read give nothing');
($rc, $out) = psql($coord, "SELECT count(*) FROM mirai_daily", role => 'nomap', may_fail => 1);
like($out, qr/user mapping not found for "nomap"/, 'a role without a user mapping reads no sensor');
($rc, $out) = psql($coord, "SELECT count(*) FROM mirai_sources", role => 'weak', may_fail => 1);
like($out, qr/permission denied for the rollups of table public\.capture on server "s\d"/,
	'a role mapped to a sensor role that may not read is refused, naming the server');

# what a sensor answers is checked: corrupt packed entries, a negative count
psql($s3, "CREATE TABLE saved AS SELECT day, part, entries FROM mirai_rollup_part WHERE day = '2024-12-14'; "
	  . "UPDATE mirai_rollup_part SET entries = '\\x02ff' WHERE day = '2024-12-14'");
($rc, $out) = psql($coord, "SELECT * FROM mirai_daily", may_fail => 1);
like($out, qr/corrupt rollup entries.*\n(.*\n)*.*foreign partition public\.capture_s3 on server "s3"/,
	'corrupt entries from a sensor are an error naming it');
psql($s3, "UPDATE mirai_rollup_part p SET entries = s.entries FROM saved s WHERE (p.day, p.part) = (s.day, s.part); "
	  . "UPDATE mirai_rollup_day SET packets = -5 WHERE day = '2024-12-14'");
($rc, $out) = psql($coord, "SELECT * FROM mirai_sources WHERE day = '2024-12-15'", may_fail => 1);
like($out, qr/a sensor answered with an invalid count.*\n(.*\n)*.*on server "s3"/,
	'a negative count from a sensor is an error naming it');
psql($s3, "SELECT mirai_rebuild('capture')");
is(rows_of($coord, 'mirai_daily'), rows_of(undef, 'mirai_daily'), 'the sensor rebuilt, the views are whole again');

as_owner("$bindir/pg_ctl -D $s3->{data} -m fast -w stop");
($rc, $out) = psql($coord, "SELECT * FROM mirai_daily", may_fail => 1);
like($out, qr/could not connect to server "s3"/, 'a sensor that is down is an error naming its server');
as_owner("$bindir/pg_ctl -D $s3->{data} -l $s3->{data}/log -w start");

system("psql -X -q -d postgres -c 'DROP DATABASE mirai_fleet_ref' >/dev/null 2>&1");
done_testing();
