#!/usr/bin/perl
# Load: four mirai_load processes into one tracked table at once while a
# dashboard queries the views in a loop; then kill -9 of a loader and of a
# backend in the middle of a tracked load.
#
#   - no loader fails (no deadlock, no serialization error);
#   - every dashboard query sees views that agree with each other (the
#     packets of mirai_daily, mirai_sources and mirai_countries add up to the
#     same total in one snapshot) and totals that never go down;
#   - afterwards, and after each kill, the views equal the same GROUP BY over
#     the raw rows, exactly: no count lost, none doubled, nothing partial.
use strict;
use warnings;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

my $gen = $ENV{MIRAI_GEN} or die 'MIRAI_GEN is not set';
my $load = $ENV{MIRAI_LOAD} or die 'MIRAI_LOAD is not set';
my $work = $ENV{MIRAI_WORK} or die 'MIRAI_WORK is not set';
my $dir = "$work/load_t";
mkdir $dir;
chmod 0755, $dir;
my $db = 'mirai_t076';
$ENV{PGOPTIONS} = '-c client_min_messages=warning';

sub psql
{
	my ($sql) = @_;
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -d $db -c "$sql" 2>&1`;
	die "psql failed ($sql): $out" if $?;
	chomp $out;
	return $out;
}

# rows of the views that differ from the GROUP BY over the table
my $diff = <<'SQL';
WITH raw AS (
    SELECT (packet_time(p) AT TIME ZONE 'UTC')::date AS day, packet_src(p) AS src
      FROM cap WHERE is_mirai(p)),
rd AS (SELECT day, count(*) AS packets, count(DISTINCT src) AS sources FROM raw GROUP BY day),
rs AS (SELECT day, src, count(*) AS packets FROM raw GROUP BY day, src),
vd AS (SELECT day, packets, sources FROM mirai_daily WHERE tbl = 'cap'::regclass),
vs AS (SELECT day, src, packets FROM mirai_sources WHERE tbl = 'cap'::regclass)
SELECT (SELECT count(*) FROM ((TABLE rd EXCEPT TABLE vd) UNION ALL (TABLE vd EXCEPT TABLE rd)) a)
     + (SELECT count(*) FROM ((TABLE rs EXCEPT TABLE vs) UNION ALL (TABLE vs EXCEPT TABLE rs)) b)
SQL
$diff =~ s/\n/ /g;

# the three views' totals in one snapshot
my $totals = "SELECT (SELECT coalesce(sum(packets), 0) FROM mirai_daily WHERE tbl = 'cap'::regclass) || ' ' || "
  . "(SELECT coalesce(sum(packets), 0) FROM mirai_sources WHERE tbl = 'cap'::regclass) || ' ' || "
  . "(SELECT coalesce(sum(packets), 0) FROM mirai_countries WHERE tbl = 'cap'::regclass)";

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or BAIL_OUT('createdb failed');
psql('CREATE EXTENSION mirai_ext');
psql('CREATE TABLE cap (p packet)');
psql("SELECT mirai_track('cap')");

# four captures over the same two days, so the loaders meet on the same rows
my @files;
for my $i (1 .. 4)
{
	my $f = "$dir/l$i.pcap";
	system($gen, '-s', 100 + $i, '-n', '250000', '--start', '1734134400', '--rate', '2',
		'-o', $f) == 0 or BAIL_OUT('mirai_gen failed');
	chmod 0644, $f;
	push @files, $f;
}

# ---- four loaders and a dashboard ----
my @loaders;
for my $f (@files)
{
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		exec($load, '-q', '-d', $db, '-t', 'cap', $f) or exit(127);
	}
	push @loaders, $pid;
}
my ($queries, $inconsistent, $went_down, $last) = (0, 0, 0, 0);
my %status;
while (keys %status < @loaders)
{
	my ($d, $s, $c) = split / /, psql($totals);
	$queries++;
	$inconsistent++ if $d != $s || $d != $c;
	$went_down++ if $d < $last;
	$last = $d;
	for my $pid (@loaders)
	{
		next if exists $status{$pid};
		$status{$pid} = $? >> 8 if waitpid($pid, WNOHANG) == $pid;
	}
	sleep(0.02);
}
is(scalar(grep { $_ == 0 } values %status), 4, 'four concurrent loaders all finished with exit 0 (no deadlock)');
ok($queries >= 3, "the dashboard queried the views $queries times during the loads");
is($inconsistent, 0, 'in every dashboard query mirai_daily, mirai_sources and mirai_countries add up to the same total');
is($went_down, 0, 'the total never went down between dashboard queries');
is(psql($diff), 0, 'after the loads the views equal the GROUP BY over the rows');
my $count = psql('SELECT count(*) FROM cap');
my $expected = 0;
for my $f (@files)
{
	$expected += `PGOPTIONS='-c client_min_messages=error' psql -X -A -t -d $db -c "SELECT count(*) FROM (SELECT pcap_read('$f')) s"`;
}
is($count, $expected, "the table holds every packet of the four files once ($expected)");

# ---- kill -9 of a loader in the middle of a file ----
{
	my $fifo = "$dir/kill.fifo";
	unlink($fifo);
	system('mkfifo', $fifo) == 0 or die "mkfifo $fifo failed";
	my $writer = fork();
	if ($writer == 0)
	{
		open(my $in, '<:raw', "$dir/l1.pcap") or exit(1);
		open(my $out, '>:raw', $fifo) or exit(1);
		my $buf;
		while (read($in, $buf, 65536))
		{
			print $out $buf;
			sleep(0.02);
		}
		sleep(30);				# keep the FIFO open: the load stays mid-file
		exit(0);
	}
	my $loader = fork();
	if ($loader == 0)
	{
		open(STDIN, '<', $fifo) or exit(1);
		exec($load, '-q', '-d', $db, '-t', 'cap', '--force', '-') or exit(127);
	}
	# wait until the COPY is under way, then kill the loader
	my $active = 0;
	for (1 .. 200)
	{
		$active = psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND state = 'active'");
		last if $active;
		sleep(0.05);
	}
	ok($active, 'a loader is mid-COPY');
	kill('KILL', $loader);
	waitpid($loader, 0);
	kill('KILL', $writer);
	waitpid($writer, 0);
	# its backend notices the lost client and rolls back
	for (1 .. 200)
	{
		last unless psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND datname = '$db'");
		sleep(0.05);
	}
	is(psql('SELECT count(*) FROM cap'), $count, 'after kill -9 of the loader nothing of its file stays');
	is(psql($diff), 0, '... and the views still equal the GROUP BY over the rows');
}

# ---- kill -9 of a backend in the middle of a tracked INSERT ... pcap_read ----
{
	my $bg = fork();
	if ($bg == 0)
	{
		exec('psql', '-X', '-q', '-d', $db, '-c',
			"INSERT INTO cap SELECT pcap_read('$dir/l2.pcap') FROM generate_series(1, 50)")
		  or exit(127);
	}
	my $pid = '';
	for (1 .. 200)
	{
		$pid = psql("SELECT pid FROM pg_stat_activity WHERE query LIKE 'INSERT INTO cap%' AND state = 'active'");
		last if $pid =~ /^\d+$/;
		sleep(0.05);
	}
	sleep(0.3);
	ok($pid =~ /^\d+$/ && kill('KILL', $pid), "kill -9 of the backend of a tracked INSERT ($pid)");
	waitpid($bg, 0);
	my $up = 0;
	for (1 .. 300)
	{
		if (system("psql -X -q -d $db -c 'SELECT 1' >/dev/null 2>&1") == 0) { $up = 1; last; }
		sleep(0.2);
	}
	ok($up, 'the server is back after crash recovery');
	is(psql('SELECT count(*) FROM cap'), $count, 'nothing of the killed INSERT stays');
	is(psql($diff), 0, '... and the views equal the GROUP BY over the rows');
}

system("dropdb $db");
done_testing();
