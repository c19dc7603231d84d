#!/usr/bin/perl
#
# 060_parallel.t
#	  The planner's view of a raw packet table of 2.1 M records over 92 days
#	  (README, "Raw scans: parallel plans and partitions"): after ANALYZE its row
#	  estimates for is_mirai(p) are within a factor of the truth; after the
#	  recommended CREATE STATISTICS on the per-day expressions its group
#	  estimates are too, and the per-day Mirai counts get parallel plans
#	  (Gather over a Parallel Seq Scan) with default settings, as does the
#	  same count over the rows partitioned by day once the partitioned table
#	  is analyzed.  Plan shapes and estimates only: timings are for
#	  test/bench/parallel.sh.
#
# Runs inside the test cluster (PGHOST, PGPORT, PGUSER set by
# test/in_cluster.sh); MIRAI_GEN and MIRAI_WORK as for the other tests.
#
use strict;
use warnings;
use Test::More;

my $gen = $ENV{MIRAI_GEN} or plan skip_all => 'MIRAI_GEN not set';
my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my $dir = "$work/parallel_t";
mkdir $dir;
chmod 0755, $dir;
my $db = 'mirai_t060';
$ENV{PGOPTIONS} = '-c client_min_messages=warning';

sub psql
{
	my ($sql) = @_;
	open(my $fh, '>', "$dir/q.sql") or die "$!\n";
	print $fh $sql;
	close($fh);
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -d $db -f $dir/q.sql 2>&1`;
	die "psql failed ($sql): $out" if $?;
	chomp $out;
	return $out;
}

# the planner's row estimate of a query (its top node)
sub estimate
{
	my ($q) = @_;
	my $plan = psql("EXPLAIN $q");
	my ($rows) = $plan =~ /rows=(\d+)/ or die "no estimate in: $plan\n";
	return $rows;
}

# ok when estimate and truth are within a factor of each other
sub within
{
	my ($est, $truth, $factor, $what) = @_;
	ok($truth > 0 && $est >= $truth / $factor && $est <= $truth * $factor,
		"$what: estimated $est, true $truth (within a factor of $factor)");
}

# 2.1 M records over 92 days from 2024-11-16 (mirai_gen's mix: about 70%
# of the IP packets are Mirai's)
my $file = "$dir/capture.pcap";
my $rate = 2100000 / (92 * 86400);
system("$gen -s 42 -n 2100000 --start 1731715200 --rate $rate -o $file") == 0
  or BAIL_OUT('mirai_gen failed');
chmod 0644, $file;
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or BAIL_OUT('createdb failed');
psql('CREATE EXTENSION mirai_ext');
psql("CREATE TABLE capture (p packet); INSERT INTO capture SELECT pcap_read('$file'); VACUUM ANALYZE capture");
unlink $file;

my $rows = psql('SELECT count(*) FROM capture');
my $mirai = psql('SELECT count(*) FROM capture WHERE is_mirai(p)');
ok($rows > 2000000 && $mirai > $rows / 2, "$rows packets, $mirai of them Mirai's");

# is_mirai: the predicate on the column's histogram (100 packets: a
# standard error of about 5%; a third of the rows before the support
# function, whatever the data)
within(estimate('SELECT * FROM capture WHERE is_mirai(p)'), $mirai, 1.5, 'is_mirai(p) after ANALYZE');
within(estimate('SELECT * FROM capture WHERE packet_is_mirai(p)'), $mirai, 1.5, 'packet_is_mirai(p) after ANALYZE');
within(estimate('SELECT * FROM capture WHERE NOT is_mirai(p)'), $rows - $mirai, 2, 'NOT is_mirai(p) after ANALYZE');

# the per-day Mirai counts of README, in UTC days and in Tokyo's
my %q = (
	'UTC days' => 'SELECT packet_time(p)::date, count(*) FROM capture WHERE is_mirai(p) GROUP BY 1',
	'Tokyo days' => "SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date, count(*) FROM capture WHERE is_mirai(p) GROUP BY 1",
);

# the recommended statistics, exactly as README gives them
psql("CREATE STATISTICS capture_day ON (packet_time(p)::date) FROM capture;
      CREATE STATISTICS capture_day_tokyo ON ((packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date) FROM capture;
      ANALYZE capture");
for my $k (sort keys %q)
{
	my $days = psql("SELECT count(*) FROM ($q{$k}) s");
	within(estimate($q{$k}), $days, 2, "groups of the per-day count ($k) with the statistics");
	my $plan = psql("EXPLAIN $q{$k}");
	ok($plan =~ /Gather/ && $plan =~ /Parallel Seq Scan on capture/,
		"the per-day count ($k) gets a parallel plan with default settings")
	  or diag($plan);
	is(psql("SET max_parallel_workers_per_gather = 0; SELECT md5(string_agg(d || ':' || n, ',' ORDER BY d)) FROM ($q{$k}) s(d, n)"),
		psql("SELECT md5(string_agg(d || ':' || n, ',' ORDER BY d)) FROM ($q{$k}) s(d, n)"),
		"the per-day count ($k): the same answer from the serial and the parallel plan");
}

# statistics on the call itself: the whole ANALYZE sample, not the histogram
psql('CREATE STATISTICS capture_mirai ON (is_mirai(p)) FROM capture; ANALYZE capture');
within(estimate('SELECT * FROM capture WHERE is_mirai(p)'), $mirai, 1.1, 'is_mirai(p) with statistics on (is_mirai(p))');

# the same rows in a table partitioned by UTC day of packet_time(p)
# (README, "Time-partitioned packet tables"): autovacuum never analyzes the
# partitioned table, so the statistics are created on it and it is analyzed
# by hand, as README says
psql("CREATE TABLE capture_days (p packet) PARTITION BY RANGE (packet_time(p));
      DO \$\$
      DECLARE d date;
      BEGIN
          FOR d IN SELECT generate_series(date '2024-11-16', date '2025-02-16', interval '1 day') LOOP
              EXECUTE format('CREATE TABLE %I PARTITION OF capture_days FOR VALUES FROM (%L) TO (%L)',
                             'capture_days_' || to_char(d, 'YYYYMMDD'),
                             d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
          END LOOP;
      END \$\$;
      INSERT INTO capture_days SELECT p FROM capture;
      CREATE STATISTICS capture_days_day ON (packet_time(p)::date) FROM capture_days;
      VACUUM ANALYZE capture_days");
(my $qd = $q{'UTC days'}) =~ s/FROM capture /FROM capture_days /;
within(estimate($qd), psql("SELECT count(*) FROM ($qd) s"), 2, 'groups of the per-day count over 93 partitions');
my $plan = psql("EXPLAIN $qd");
ok($plan =~ /Gather/ && $plan =~ /Parallel Append/, 'the per-day count over the partitions gets a Parallel Append')
  or diag($plan);

system("dropdb $db");
done_testing();
