#!/usr/bin/perl
#
# 061_partitions.t
#	  README's time-partitioned packet table, run exactly as README gives
#	  it: the ```sql blocks of "Time-partitioned packet tables" are read from
#	  README.md; the sample capture's directory (/tmp/) is the test's, and
#	  README's table name capture_by_day is read as capture.  Partitions by
#	  day of the expression packet_time(p), tracked in Tokyo days with
#	  on_delete 'keep', loaded through the parent with pcap_read and with
#	  mirai_load; rows land in the partition of their day, the rollups equal
#	  the GROUP BY over the rows, EXPLAIN shows pruning, dropping the oldest
#	  partition leaves the rollups as they were; a packet outside every
#	  partition fails its statement with 23514; the parent's statistics give
#	  the per-day groups.
#
# Runs inside the test cluster (PGHOST, PGPORT, PGUSER set by
# test/in_cluster.sh); MIRAI_GEN, MIRAI_LOAD and MIRAI_WORK as for the
# other tests.
#
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $gen = $ENV{MIRAI_GEN} or plan skip_all => 'MIRAI_GEN not set';
my $load = $ENV{MIRAI_LOAD} or plan skip_all => 'MIRAI_LOAD not set';
my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my $dir = "$work/partitions_t";
mkdir $dir;
chmod 0755, $dir;
our $db = 'mirai_t061';
$ENV{PGOPTIONS} = '-c client_min_messages=warning';

# Run SQL from a file; returns (exit code, output).
sub psql_rc
{
	my ($sql, @opt) = @_;
	open(my $fh, '>', "$dir/q.sql") or die "$!\n";
	print $fh $sql;
	close($fh);
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 @opt -d $db -f $dir/q.sql 2>&1`;
	my $rc = $? >> 8;
	chomp $out;
	return ($rc, $out);
}

sub psql
{
	my ($rc, $out) = psql_rc(@_);
	die "psql failed: $out\n" if $rc != 0;
	return $out;
}

# README's ```sql blocks in the section, in order
open(my $fh, '<', "$top/README.md") or die "README.md: $!\n";
my $readme = join('', <$fh>);
close($fh);
my ($section) = $readme =~ /^### Time-partitioned packet tables\n(.*?)^#/ms;
ok(defined $section, 'README has the section "Time-partitioned packet tables"');
$section //= '';
my @blocks = $section =~ /^```sql\n(.*?)^```$/msg;
s/\bcapture_by_day/capture/g for @blocks;
is(scalar(@blocks), 3, 'three code blocks: set-up and loads, a pruned query, retention');
my ($setup, $query, $retention) = @blocks;
$setup //= '';
$query //= '';
$retention //= '';

# the sample capture README loads (three UTC days from 2024-12-13), and
# another file of 2024-12-15 for mirai_load
system("cp $top/test/data/sample.pcap.gz $dir/") == 0 or BAIL_OUT('cannot copy the sample');
chmod 0644, "$dir/sample.pcap.gz";
system("$gen -s 15 -n 5000 --start 1734220800 --rate 0.1 -o $dir/2024-12-15.pcap") == 0
  or BAIL_OUT('mirai_gen failed');
chmod 0644, "$dir/2024-12-15.pcap";
ok($setup =~ m{'/tmp/sample\.pcap\.gz'}, 'the set-up loads the sample from /tmp/');
s{/tmp/}{$dir/}g for ($setup, $query, $retention);

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or BAIL_OUT('createdb failed');
psql('CREATE EXTENSION mirai_ext');

my ($rc, $out) = psql_rc($setup);
is($rc, 0, "README's set-up runs") or diag($out);
is(psql("SELECT partstrat::text || ' ' || pg_get_partkeydef('capture'::regclass) FROM pg_partitioned_table WHERE partrelid = 'capture'::regclass"),
	'r RANGE (packet_time(p))', 'capture is partitioned by range of packet_time(p)');
is(psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'capture'::regclass"), 19, 'a partition a day to 2024-12-31');

# every row in the partition of its Tokyo day, both files loaded
my $loaded = psql("SELECT count(*) FROM pcap_read('$dir/sample.pcap.gz')");
is(psql('SELECT count(*) FROM capture'), $loaded, 'every packet of the sample is in the table');
is(psql("SELECT count(*) FROM capture
         WHERE tableoid::regclass::text <> 'capture_' || to_char(packet_time(p) AT TIME ZONE 'Asia/Tokyo', 'YYYYMMDD')"),
	'0', 'every row is in the partition of its Tokyo day');

# the rollups against the rows
my $diff = "WITH r AS (SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date AS day, count(*) AS packets,
                              count(DISTINCT packet_src(p)) AS sources FROM capture WHERE is_mirai(p) GROUP BY 1),
                 v AS (SELECT day, packets, sources FROM mirai_daily WHERE tbl = 'capture'::regclass)
            SELECT count(*) FROM ((TABLE r EXCEPT TABLE v) UNION ALL (TABLE v EXCEPT TABLE r)) x";
is(psql($diff), '0', 'mirai_daily of the partitioned table equals the GROUP BY over its rows');

# mirai_load through the parent
my $conn = "host=$ENV{PGHOST} port=$ENV{PGPORT} dbname=$db";
my $day15 = psql("SELECT count(*) FROM capture_20241215");
$out = `$load -q -d '$conn' -t capture $dir/2024-12-15.pcap 2>&1`;
is($? >> 8, 0, 'mirai_load -t capture loads a file through the parent') or diag($out);
is(psql("SELECT count(*) FROM capture_20241215") - $day15,
	psql("SELECT count(*) FROM pcap_read('$dir/2024-12-15.pcap') p WHERE packet_time(p) < '2024-12-16 00:00+09'"),
	"mirai_load's packets of that Tokyo day are in its partition");
is(psql($diff), '0', 'and in the rollups');

# pruning: README's query reads one partition
$out = psql($query);
like($out, qr/Seq Scan on capture_20241214 capture/, "README's query reads the partition of 2024-12-14")
  or diag($out);
is(scalar(() = $out =~ /Scan on capture_/g), 1, 'and no other') or diag($out);
like(psql("EXPLAIN (COSTS OFF) SELECT count(*) FROM capture WHERE packet_time(p) >= now() - interval '7 days'"),
	qr/Subplans Removed: \d+/, 'a bound relative to now() prunes when the query starts');
$out = psql("EXPLAIN (COSTS OFF) SELECT count(*) FROM capture WHERE (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date = '2024-12-14'");
is(scalar(() = $out =~ /Scan on capture_/g), 19, 'a condition on a day expression reads every partition (README says so)');

# retention: the views keep the dropped day
my $daily = "SELECT string_agg(concat_ws('|', day, packets, sources), ',' ORDER BY day) FROM mirai_daily WHERE tbl = 'capture'::regclass";
my $sources = "SELECT md5(string_agg(concat_ws('|', day, src, packets, first_seen, last_seen, ports), ',' ORDER BY day, src))
               FROM mirai_sources WHERE tbl = 'capture'::regclass";
my ($daily_before, $sources_before) = (psql($daily), psql($sources));
like($daily_before, qr/^2024-12-13\|/, 'the rollups have 2024-12-13');
($rc, $out) = psql_rc($retention);
is($rc, 0, "README's retention runs") or diag($out);
like($out, qr/^2024-12-13\|/m, "README's SELECT still shows 2024-12-13");
is(psql($daily), $daily_before, 'dropping the oldest partition leaves mirai_daily as it was');
is(psql($sources), $sources_before, 'and mirai_sources');
is(psql("SELECT count(*) FROM capture WHERE packet_time(p) < '2024-12-14 00:00+09'"), '0', 'the raw rows of 2024-12-13 are gone');

# a packet outside every partition fails its statement, as README says
($rc, $out) = psql_rc("INSERT INTO capture VALUES ('2025-03-01T00:00:00Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54')",
	'-v', 'VERBOSITY=verbose');
ok($rc != 0 && $out =~ /23514/ && $out =~ /no partition of relation "capture" found for row/,
	'a packet in no partition: 23514, no partition found for row') or diag($out);

# the parent's statistics give a query over all partitions its groups
my $per_day = "SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date, count(*) FROM capture WHERE is_mirai(p) GROUP BY 1";
psql("CREATE STATISTICS capture_day_tokyo ON ((packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date) FROM capture; ANALYZE capture");
my ($groups) = psql("EXPLAIN $per_day") =~ /rows=(\d+)/;
is($groups, psql("SELECT count(*) FROM ($per_day) s"), 'with statistics on the parent, the per-day groups of all partitions');

# pg_dump and pg_restore: the expression key, the partitions, the rollups
my $db2 = "${db}_restored";
system("dropdb --if-exists $db2 >/dev/null 2>&1");
ok(system("pg_dump -Fc -f $dir/db.dump $db") == 0 && system("createdb $db2") == 0
	  && system("pg_restore -d $db2 $dir/db.dump 2>$dir/restore.err") == 0,
	'pg_dump and pg_restore of the partitioned, tracked table') or diag(`cat $dir/restore.err`);
my $rows = psql('SELECT count(*) FROM capture');
{
	local $db = $db2;
	is(psql("SELECT pg_get_partkeydef('capture'::regclass) || ' ' || count(*) FROM pg_inherits WHERE inhparent = 'capture'::regclass"),
		'RANGE (packet_time(p)) 18', 'restored: the expression key and the 18 partitions left');
	is(psql($daily), $daily_before, 'restored: mirai_daily, the dropped day included');
	is(psql('SELECT count(*) FROM capture'), $rows, 'restored: the rows');
}
system("dropdb $db2");

system("dropdb $db");
done_testing();
