#!/usr/bin/perl
#
# 050_rollup.t
#	  Rollups of tracked tables against the raw rows: random batches of
#	  loads (INSERT ... SELECT pcap_read on generated captures, and COPY in
#	  binary), deletes and truncates, two concurrent loaders, for a table
#	  tracked in UTC and one in Asia/Tokyo; after every step each view
#	  equals the same GROUP BY over the table, exactly.  Then pg_dump and
#	  pg_restore into a second database, and privileges.
#
# Runs inside the test cluster (PGHOST, PGPORT, PGUSER set by
# test/in_cluster.sh); MIRAI_GEN and MIRAI_WORK as described in COMMON.md.
#
# test/t/050_rollup.t
#
use strict;
use warnings;
use Test::More;

my $gen = $ENV{MIRAI_GEN} or plan skip_all => 'MIRAI_GEN not set';
my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my $dir = "$work/rollup_t";
mkdir $dir;
chmod 0755, $dir;
my $db = 'mirai_rollup_t';
$ENV{PGOPTIONS} = '-c client_min_messages=warning';
my $db2 = 'mirai_rollup_t_restored';

# Quote one word for sh.
sub shq
{
	my ($s) = @_;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

# Run SQL in a database; returns trimmed output, dies on error.
sub psql
{
	my ($sql, %o) = @_;
	my $d = $o{db} || $db;
	my $user = $o{user} ? '-U ' . shq($o{user}) : '';
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 $user -d $d -c @{[shq($sql)]} 2>&1`;
	my $rc = $? >> 8;
	chomp $out;
	die "psql failed ($sql): $out\n" if $rc != 0 && !$o{may_fail};
	return wantarray ? ($rc, $out) : $out;
}

# The differences between the views and the GROUP BY over a table.
my $DIFF_FN = <<'SQL';
CREATE FUNCTION rollups_diff(t regclass, zone text)
RETURNS TABLE (what text, n bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH raw AS (
            SELECT (packet_time(p) AT TIME ZONE %2$L)::date AS day, packet_src(p) AS src,
                   packet_dport(p) AS dport, packet_time(p) AS t
              FROM %1$s WHERE is_mirai(p)),
        rd AS (SELECT day, count(*) AS packets, count(DISTINCT src) AS sources FROM raw GROUP BY day),
        vd AS (SELECT day, packets, sources FROM mirai_daily WHERE tbl = %1$L::regclass),
        rs AS (SELECT day, src, count(*) AS packets, min(t) AS first_seen, max(t) AS last_seen,
                      array_agg(DISTINCT dport ORDER BY dport) AS ports,
                      round(count(*)::numeric / (SELECT packets FROM rd WHERE rd.day = raw.day), 6) AS share
                 FROM raw GROUP BY day, src),
        vs AS (SELECT day, src, packets, first_seen, last_seen, ports, share
                 FROM mirai_sources WHERE tbl = %1$L::regclass),
        rh AS (SELECT date_trunc('hour', packet_time(p), 'UTC') AS hour,
                      count(*) FILTER (WHERE is_mirai(p)) AS packets, count(*) AS all_packets
                 FROM %1$s GROUP BY 1),
        vh AS (SELECT "time" AS hour, packets, all_packets FROM mirai_hourly WHERE tbl = %1$L::regclass),
        rb AS (SELECT src, min(t) AS first_seen, max(t) AS last_seen, min(day) AS first_day,
                      count(DISTINCT day) AS days, count(*) AS packets FROM raw GROUP BY src),
        vb AS (SELECT src, first_seen, last_seen, first_day, days, packets
                 FROM mirai_bots WHERE tbl = %1$L::regclass),
        rt AS (SELECT src, packets FROM rb ORDER BY packets DESC, src LIMIT 50),
        vt AS (SELECT src, packets FROM mirai_bots WHERE tbl = %1$L::regclass
                ORDER BY packets DESC, src LIMIT 50),
        rn AS (SELECT first_day AS day, count(*) AS new_sources FROM (SELECT src, min(day) AS first_day FROM raw GROUP BY src) f GROUP BY 1),
        vn AS (SELECT day, new_sources FROM mirai_new_sources WHERE tbl = %1$L::regclass),
        rc AS (SELECT NULL::text AS country, count(*) AS packets FROM raw HAVING count(*) > 0),
        vc AS (SELECT country, packets FROM mirai_countries WHERE tbl = %1$L::regclass),
        rsc AS (SELECT (packet_time(p) AT TIME ZONE %2$L)::date AS day, packet_scanner(p) AS scanner,
                       count(*) AS packets, count(DISTINCT packet_src(p)) AS sources FROM %1$s GROUP BY 1, 2),
        vsc AS (SELECT day, scanner, packets, sources FROM mirai_scanners_daily WHERE tbl = %1$L::regclass)
        SELECT 'daily', count(*) FROM ((TABLE rd EXCEPT TABLE vd) UNION ALL (TABLE vd EXCEPT TABLE rd)) x
        UNION ALL
        SELECT 'sources', count(*) FROM ((TABLE rs EXCEPT TABLE vs) UNION ALL (TABLE vs EXCEPT TABLE rs)) x
        UNION ALL
        SELECT 'hourly', count(*) FROM ((TABLE rh EXCEPT TABLE vh) UNION ALL (TABLE vh EXCEPT TABLE rh)) x
        UNION ALL
        SELECT 'bots', count(*) FROM ((TABLE rb EXCEPT TABLE vb) UNION ALL (TABLE vb EXCEPT TABLE rb)) x
        UNION ALL
        SELECT 'bots best first', count(*) FROM ((TABLE rt EXCEPT TABLE vt) UNION ALL (TABLE vt EXCEPT TABLE rt)) x
        UNION ALL
        SELECT 'new', count(*) FROM ((TABLE rn EXCEPT TABLE vn) UNION ALL (TABLE vn EXCEPT TABLE rn)) x
        UNION ALL
        SELECT 'countries', count(*) FROM ((TABLE rc EXCEPT TABLE vc) UNION ALL (TABLE vc EXCEPT TABLE rc)) x
        UNION ALL
        SELECT 'scanners', count(*) FROM ((TABLE rsc EXCEPT TABLE vsc) UNION ALL (TABLE vsc EXCEPT TABLE rsc)) x
    $q$, t, zone);
END $$;
SQL

my %zone = (cap_utc => 'UTC', cap_jst => 'Asia/Tokyo');

# One assertion: both tables' rollups equal their GROUP BY (and are not empty).
sub check_all
{
	my ($what) = @_;
	my @bad;
	for my $t (sort keys %zone)
	{
		my $out = psql("SELECT string_agg(what || '=' || n, ' ') FROM rollups_diff('$t', '$zone{$t}') WHERE n <> 0");
		push @bad, "$t: $out" if $out ne '';
	}
	ok(!@bad, "$what: rollups equal the GROUP BY over the rows")
	  or diag(join("\n", @bad));
}

# A capture file spread over days: seed, start, rate, packets.
my $fileno = 0;
sub capture
{
	my ($seed, $start, $rate, $n) = @_;
	$fileno++;
	my $f = "$dir/c$fileno.pcap";
	system("$gen -s $seed -n $n --start $start --rate $rate -o " . shq($f)) == 0
	  or die "mirai_gen failed\n";
	chmod 0644, $f;
	return $f;
}

psql("DROP DATABASE IF EXISTS $db", db => 'postgres');
psql("DROP DATABASE IF EXISTS $db2", db => 'postgres');
psql("CREATE DATABASE $db", db => 'postgres');
psql('CREATE EXTENSION mirai_ext');
psql($DIFF_FN);
psql('CREATE TABLE cap_utc (p packet); CREATE TABLE cap_jst (p packet)');
# backfill: some rows before tracking
my $first = capture(1, 1734100000, 0.05, 4000);
psql("INSERT INTO cap_utc SELECT pcap_read('$first'); INSERT INTO cap_jst SELECT pcap_read('$first')");
psql("SELECT mirai_track('cap_utc'); SELECT mirai_track('cap_jst', time_zone => 'Asia/Tokyo')");
check_all('backfill');
# the check of mirai_bots by packets reads it best first, as a dashboard's top n does
like(psql("EXPLAIN SELECT src FROM mirai_bots WHERE tbl = 'cap_utc'::regclass ORDER BY packets DESC, src LIMIT 50"),
	 qr/Mirai Bots: best sources first/, 'mirai_bots by packets is read best first');

# ---- random batches: loads (pcap_read, COPY binary), deletes, truncates ----
srand(5);
# every kind of step, in an order and with parameters drawn at random
my @ops = (0, 0, 1, 4, 5, 7, 8, 9, 0, 4, 7, 9, 5);
for my $i (reverse 1 .. $#ops)
{
	my $j = int(rand($i + 1));
	@ops[$i, $j] = @ops[$j, $i];
}
for my $step (1 .. @ops)
{
	my $op = $ops[$step - 1];
	my $t = (sort keys %zone)[int(rand(2))];
	my $desc;
	if ($op < 4)
	{
		my $f = capture(100 + $step, 1734000000 + int(rand(400000)), 0.02 + rand(0.2), 1000 + int(rand(3000)));
		psql("INSERT INTO $t SELECT pcap_read('$f')");
		$desc = "pcap_read into $t";
	}
	elsif ($op < 7)
	{
		my $f = capture(200 + $step, 1734000000 + int(rand(400000)), 0.05, 2000);
		my $bin = "$dir/s$step.bin";
		psql("CREATE TABLE IF NOT EXISTS staging (p packet); TRUNCATE staging; INSERT INTO staging SELECT pcap_read('$f')");
		system("psql -X -q -d $db -c " . shq("\\copy staging TO '$bin' (FORMAT binary)")) == 0 or die;
		system("psql -X -q -d $db -c " . shq("\\copy $t FROM '$bin' (FORMAT binary)")) == 0 or die;
		$desc = "COPY binary into $t";
	}
	elsif ($op < 9)
	{
		my $lo = int(rand(200));
		psql("DELETE FROM $t WHERE host(packet_src(p))::inet << '$lo.0.0.0/6' OR packet_time(p) < (SELECT min(packet_time(p)) + interval '3 hours' FROM $t)");
		$desc = "DELETE from $t";
	}
	else
	{
		psql("TRUNCATE $t");
		$desc = "TRUNCATE $t";
	}
	check_all("step $step ($desc)");
}

# ---- two concurrent loaders into both tables ----
my @files = map { capture(300 + $_, 1734000000 + 7200 * $_, 0.1, 3000) } 1 .. 6;
my $rows_before = psql("SELECT count(*) FROM cap_utc");
my $rows_files = 0;
$rows_files += psql("SELECT count(*) FROM pcap_read('$_')") for @files;
my @pids;
for my $l (0 .. 1)
{
	my $pid = fork();
	die "fork failed\n" unless defined $pid;
	if ($pid == 0)
	{
		# each loader: every file, into both tables, one transaction each
		my @order = $l ? reverse(@files) : @files;
		my $sql = join('', map { "INSERT INTO cap_utc SELECT pcap_read('$_'); INSERT INTO cap_jst SELECT pcap_read('$_');\n" } @order);
		open(my $ph, '|-', "psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null") or exit 1;
		print $ph $sql;
		close($ph);
		exit($? >> 8);
	}
	push @pids, $pid;
}
my $loaders_ok = 1;
for my $pid (@pids)
{
	waitpid($pid, 0);
	$loaders_ok = 0 if $? != 0;
}
ok($loaders_ok, 'two concurrent loaders finished without error (no deadlock)');
check_all('after two concurrent loaders');
is(psql("SELECT count(*) FROM cap_utc"), $rows_before + 2 * $rows_files, 'both loaders inserted every file');

# ---- retention: a table whose rollups stay as history ----
psql("CREATE TABLE cap_hist (p packet, day date) PARTITION BY RANGE (day);
      CREATE TABLE cap_hist_a PARTITION OF cap_hist FOR VALUES FROM ('2000-01-01') TO ('2024-12-14');
      CREATE TABLE cap_hist_b PARTITION OF cap_hist FOR VALUES FROM ('2024-12-14') TO ('2100-01-01');
      SELECT mirai_track('cap_hist', on_delete => 'keep');
      INSERT INTO cap_hist SELECT p, (packet_time(p) AT TIME ZONE 'UTC')::date FROM cap_utc;");
my $hist_before = psql("SELECT sum(packets) FROM mirai_daily WHERE tbl = 'cap_hist'::regclass");
psql("DROP TABLE cap_hist_a; DELETE FROM cap_hist WHERE packet_src(p) << '0.0.0.0/2'");
is(psql("SELECT sum(packets) FROM mirai_daily WHERE tbl = 'cap_hist'::regclass"), $hist_before,
   'retention: dropping a partition and deleting rows keep the rollups');
ok(psql("SELECT count(*) FROM cap_hist WHERE is_mirai(p)") < $hist_before, 'retention: raw rows are gone');

# ---- countries: GeoIP configured when the packets arrive ----
# the test database (test/geoip/country.csv): 192.0.2.0/24 JP,
# 198.51.100.0/24 US, 203.0.113.0/25 TW, 203.0.113.128/25 CN, 1.0.0.0/24 AU,
# 100.64.0.0/10 a record without a country, 10.0.0.0/8 no record
SKIP:
{
	skip 'no GeoIP test database (MIRAI_FIXTURES_SQL not set)', 11 unless $ENV{MIRAI_FIXTURES_SQL};
	my $set = "SET mirai_ext.geoip_database = '$ENV{MIRAI_FIXTURES_SQL}/geoip-country.mmdb';";
	my $packets = sub {
		my ($from, $n, $src) = @_;
		return "INSERT INTO cap_geo SELECT format('2024-12-%sT%s:%s:00Z tcp %s:%s > 203.0.113.7:%s flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54',
		    13 + g % 2, lpad((g % 24)::text, 2, '0'), lpad((g % 60)::text, 2, '0'), host($src), 1025 + g % 60000,
		    CASE WHEN g % 5 = 0 THEN 2323 ELSE 23 END)::packet FROM generate_series($from, $from + $n - 1) g;";
	};
	my $mixed = "(ARRAY[inet '192.0.2.1', '198.51.100.1', '203.0.113.1', '203.0.113.129', '1.0.0.1', '100.64.0.1', '10.9.9.1'])[1 + g % 7] + (g % 19)";
	# some rows before tracking (the backfill looks countries up too), then loads
	psql("CREATE TABLE cap_geo (p packet); " . $packets->(1, 700, $mixed));
	psql("$set SELECT mirai_track('cap_geo'); " . $packets->(701, 2300, $mixed));
	my $raw_vs_view = "WITH rc AS (SELECT %s AS country, count(*) AS packets FROM cap_geo WHERE is_mirai(p) GROUP BY 1),
	    vc AS (SELECT country, packets FROM mirai_countries WHERE tbl = 'cap_geo'::regclass)
	    SELECT count(*) FROM ((TABLE rc EXCEPT TABLE vc) UNION ALL (TABLE vc EXCEPT TABLE rc)) x";
	is(psql($set . sprintf($raw_vs_view, 'geoip_country(packet_src(p))')), '0',
	   'mirai_countries equals GROUP BY geoip_country over the rows');
	is(psql("SELECT string_agg(coalesce(country, '-'), ',' ORDER BY country) FROM mirai_countries WHERE tbl = 'cap_geo'::regclass"),
	   'AU,CN,JP,TW,US,-', 'the countries of the test database, unknown last');
	is(psql("$set SELECT count(*) FROM mirai_sources WHERE tbl = 'cap_geo'::regclass AND country IS DISTINCT FROM geoip_country(src)"),
	   '0', 'each source of each day has its GeoIP country');
	is(psql("$set WITH r AS (SELECT (packet_time(p) AT TIME ZONE 'UTC')::date AS day, geoip_country(packet_src(p)) AS country, count(*) AS packets
	                         FROM cap_geo WHERE is_mirai(p) GROUP BY 1, 2),
	              v AS (SELECT day, country, packets FROM mirai_daily_countries WHERE tbl = 'cap_geo'::regclass)
	         SELECT count(*) FROM ((TABLE r EXCEPT TABLE v) UNION ALL (TABLE v EXCEPT TABLE r)) x"),
	   '0', 'mirai_daily_countries equals the GROUP BY per day and country');
	# without the database: sources already seen keep their country, new ones have none
	psql($packets->(5001, 1000, "CASE WHEN g % 2 = 0 THEN inet '198.51.100.1' + (g % 19) ELSE inet '198.51.100.200' + (g % 10) END"));
	is(psql("SELECT count(*) FILTER (WHERE src < '198.51.100.200' AND country IS DISTINCT FROM 'US') || ':' ||
	                count(*) FILTER (WHERE src >= '198.51.100.200' AND country IS NOT NULL) || ':' ||
	                (count(*) FILTER (WHERE src >= '198.51.100.200') > 0)
	         FROM mirai_sources WHERE tbl = 'cap_geo'::regclass AND src << '198.51.100.0/24'"),
	   '0:0:true', 'a stored country stays when the GeoIP database goes; new sources get none');
	is(psql($set . sprintf($raw_vs_view,
	        "CASE WHEN packet_src(p) >= '198.51.100.200' AND packet_src(p) << '198.51.100.0/24' THEN NULL ELSE geoip_country(packet_src(p)) END")),
	   '0', 'mirai_countries counts each packet under the country its source had when it arrived');
	my $geo_digest = "SELECT md5(string_agg(concat_ws('|', day, packets, sources, countries, country_packets,
	                         (SELECT string_agg(md5(entries), ',' ORDER BY part) FROM mirai_rollup_part p
	                           WHERE p.tbl = d.tbl AND p.day = d.day)), ',' ORDER BY day))
	                  FROM mirai_rollup_day d WHERE tbl = 'cap_geo'::regclass";
	my $before = psql($geo_digest);
	psql("$set SELECT mirai_rebuild('cap_geo')");
	is(psql($geo_digest), $before, 'mirai_rebuild keeps the stored countries');
	isnt(psql("SELECT count(*) FROM mirai_rollup_day WHERE tbl = 'cap_geo'::regclass"), '0', 'cap_geo has rollups');
	# re-geolocation: every source's country from the database configured now
	my ($rc, $out) = psql("SELECT mirai_rebuild('cap_geo', countries => true)", may_fail => 1);
	ok($rc != 0 && $out =~ /no GeoIP database is configured/, 'mirai_rebuild with countries needs a GeoIP database') or diag($out);
	psql("$set SELECT mirai_rebuild('cap_geo', countries => true)");
	is(psql($set . sprintf($raw_vs_view, 'geoip_country(packet_src(p))')), '0',
	   'mirai_rebuild with countries: every packet counted under its source\'s country now');
	is(psql("$set SELECT count(*) FROM mirai_sources WHERE tbl = 'cap_geo'::regclass AND country IS DISTINCT FROM geoip_country(src)"),
	   '0', '... and every source of every day has it');
}

# ---- pg_dump and pg_restore into a second database ----
my $digest = "SELECT md5(string_agg(concat_ws('|', tbl::text, day, packets, sources, countries, country_packets, parts, nentries,
                     (SELECT string_agg(md5(entries), ',' ORDER BY part) FROM mirai_rollup_part p
                       WHERE p.tbl = d.tbl AND p.day = d.day)), ',' ORDER BY tbl::text, day)) FROM mirai_rollup_day d";
my $hdigest = "SELECT md5(string_agg(concat_ws('|', tbl::text, hour, packets, all_packets), ',' ORDER BY tbl::text, hour)) FROM mirai_rollup_hour";
my $dump = "$dir/db.dump";
ok(system("pg_dump -Fc -f " . shq($dump) . " $db") == 0, 'pg_dump');
psql("CREATE DATABASE $db2", db => 'postgres');
ok(system("pg_restore -d $db2 " . shq($dump) . " 2>$dir/restore.err") == 0, 'pg_restore')
  or diag(`cat $dir/restore.err`);
is(psql($digest, db => $db2), psql($digest), 'restored day rollups equal the dumped ones (history included)');
is(psql($hdigest, db => $db2), psql($hdigest), 'restored hourly rollups equal the dumped ones');
is(psql("SELECT string_agg(tbl::text || ':' || time_zone || ':' || on_delete, ',' ORDER BY tbl::text) FROM mirai_tracked", db => $db2),
   psql("SELECT string_agg(tbl::text || ':' || time_zone || ':' || on_delete, ',' ORDER BY tbl::text) FROM mirai_tracked"),
   'restored tracking settings');
# the restored triggers maintain the restored rollups
my $more = capture(400, 1734300000, 0.1, 2000);
psql("INSERT INTO cap_jst SELECT pcap_read('$more'); DELETE FROM cap_utc WHERE packet_src(p) << '64.0.0.0/2'", db => $db2);
is(psql("SELECT coalesce(sum(n), 0) FROM (SELECT * FROM rollups_diff('cap_utc', 'UTC') UNION ALL SELECT * FROM rollups_diff('cap_jst', 'Asia/Tokyo')) x", db => $db2),
   '0', 'restored triggers keep the restored rollups exact');

# ---- privileges ----
# the test cluster may ask for a password: the roles get the test user's
my $pw = defined $ENV{PGPASSWORD} ? "PASSWORD '$ENV{PGPASSWORD}'" : '';
psql("DROP ROLE IF EXISTS mx_alice; DROP ROLE IF EXISTS mx_bob; DROP ROLE IF EXISTS mx_graf; DROP ROLE IF EXISTS mx_loader;
      CREATE ROLE mx_alice LOGIN $pw; CREATE ROLE mx_bob LOGIN $pw; CREATE ROLE mx_graf LOGIN $pw; CREATE ROLE mx_loader LOGIN $pw;", db => 'postgres');
psql("GRANT CREATE ON SCHEMA public TO mx_alice");
psql("CREATE TABLE alice_cap (p packet)", user => 'mx_alice');
psql("INSERT INTO alice_cap SELECT pcap_read('$first')");
psql("SELECT mirai_track('alice_cap', time_zone => 'Asia/Tokyo')", user => 'mx_alice');
is(psql("SELECT count(DISTINCT pg_get_userbyid(c.relowner)) || ':' || min(pg_get_userbyid(c.relowner))
         FROM pg_class c WHERE c.oid IN (SELECT unnest(ARRAY[daily_view, sources_view, countries_view]) FROM mirai_tracked WHERE tbl = 'alice_cap'::regclass)"),
   '1:mx_alice', 'per-table views are owned by the table owner');
my ($rc, $out) = psql("SELECT mirai_untrack('alice_cap')", user => 'mx_bob', may_fail => 1);
ok($rc != 0 && $out =~ /must be owner/, 'a non-owner cannot untrack') or diag($out);
($rc, $out) = psql("SELECT mirai_rollup_admin('alice_cap', 'clear')", user => 'mx_bob', may_fail => 1);
ok($rc != 0 && $out =~ /permission denied for function/, 'a non-owner cannot call the internal function') or diag($out);
($rc, $out) = psql("SELECT count(*) FROM mirai_rollup_day", user => 'mx_bob', may_fail => 1);
ok($rc != 0 && $out =~ /permission denied/, 'rollup tables are not readable directly') or diag($out);
is(psql("SELECT count(*) FROM mirai_daily WHERE tbl = 'alice_cap'::regclass", user => 'mx_bob'), '0',
   'a role without access sees no rows of the table in the views');
is(psql("SELECT count(*) FROM mirai_bots WHERE tbl = 'alice_cap'::regclass", user => 'mx_bob'), '0',
   'nor in mirai_bots');
my $alice_src = psql("SELECT min(packet_src(p)) FROM alice_cap WHERE is_mirai(p)");
is(psql("SELECT count(*) FROM mirai_bots WHERE src = '$alice_src'", user => 'mx_bob'), '0',
   'nor when mirai_bots looks one of its sources up');
($rc, $out) = psql("SELECT count(*) FROM mirai_bots_scan", user => 'mx_bob', may_fail => 1);
ok($rc != 0 && $out =~ /permission denied/, 'the scan under mirai_bots is not readable directly') or diag($out);
psql("GRANT SELECT ON alice_cap_mirai_daily TO mx_graf", user => 'mx_alice');
($rc, $out) = psql("SELECT count(*) FROM alice_cap", user => 'mx_graf', may_fail => 1);
ok($rc != 0 && $out =~ /permission denied/, 'the dashboard role cannot read the raw table');
is(psql("SELECT sum(packets) FROM alice_cap_mirai_daily", user => 'mx_graf'),
   psql("SELECT count(*) FROM alice_cap WHERE is_mirai(p)"),
   'the dashboard role granted the per-table view reads the rollups');
is(psql("SELECT sum(packets) FROM mirai_daily WHERE tbl = 'alice_cap'::regclass", user => 'mx_graf'),
   psql("SELECT count(*) FROM alice_cap WHERE is_mirai(p)"),
   'and sees the table in the shared view too');
is(psql("SELECT count(*) FROM mirai_bots WHERE tbl = 'alice_cap'::regclass", user => 'mx_graf'), '0',
   'the daily view alone does not show the sources');
is(psql("SELECT count(*) FROM mirai_bots WHERE src = '$alice_src'", user => 'mx_graf'), '0',
   'not even looked up one by one');
psql("GRANT SELECT ON alice_cap_mirai_sources TO mx_graf", user => 'mx_alice');
is(psql("SELECT count(*) FROM mirai_bots WHERE tbl = 'alice_cap'::regclass", user => 'mx_graf'),
   psql("SELECT count(DISTINCT packet_src(p)) FROM alice_cap WHERE is_mirai(p)"),
   'the per-table sources view does: mirai_bots lists every source');
is(psql("SELECT count(*) FROM mirai_bots WHERE src = '$alice_src'", user => 'mx_graf'), '1',
   'and looks one up');
psql("GRANT INSERT ON alice_cap TO mx_loader", user => 'mx_alice');
psql("CREATE TABLE IF NOT EXISTS staging2 (p packet); TRUNCATE staging2; INSERT INTO staging2 SELECT p FROM cap_utc LIMIT 300; GRANT SELECT ON staging2 TO mx_loader");
psql("INSERT INTO alice_cap SELECT p FROM staging2", user => 'mx_loader');
is(psql("SELECT coalesce(sum(n), 0) FROM rollups_diff('alice_cap', 'Asia/Tokyo')"), '0',
   'a role that may only INSERT still maintains the rollups');
is(psql("SELECT count(*) FROM mirai_daily WHERE tbl = 'alice_cap'::regclass", user => 'mx_loader'), '0',
   'but cannot read them');

# A session that keeps memory (mirai_ext.keep_free_memory) takes it at
# once, in huge pages where the kernel gives them when asked, so that its
# first statement's transition table does not fault it in: the backend's
# resident memory, from /proc, before and after the setting (set before the
# library loads, and raised after).
SKIP:
{
	open(my $thp, '<', '/sys/kernel/mm/transparent_hugepage/enabled')
	  or skip 'no transparent huge pages on this kernel', 2;
	my $mode = <$thp> // '';
	close $thp;
	skip "transparent huge pages are not given when asked ($mode)", 2
	  unless $mode =~ /\[(always|madvise)\]/;
	my $script = "$dir/keep.sql";
	my $rss = "grep -E '^Rss:' /proc/\$PID/smaps_rollup | tr -s ' ' | cut -d ' ' -f 2";
	open(my $fh, '>', $script) or die;
	print $fh <<"SQL";
SELECT pg_backend_pid() AS pid \\gset
\\setenv PID :pid
\\! $rss
SET mirai_ext.keep_free_memory = '96MB';
LOAD 'mirai_ext';
\\! $rss
SET mirai_ext.keep_free_memory = '192MB';
\\! $rss
SQL
	close $fh;
	my @kb = grep { /^\d+$/ } split /\n/, `psql -X -A -t -q -d $db -f $script 2>&1`;
	skip 'the server\'s /proc is not readable here', 2
	  unless @kb == 3;
	cmp_ok($kb[1] - $kb[0], '>=', 90 * 1024,
		'setting mirai_ext.keep_free_memory before the library loads takes the memory at once');
	cmp_ok($kb[2] - $kb[1], '>=', 90 * 1024, '... and raising it takes the rest');
}

# clean up
psql("DROP DATABASE $db2", db => 'postgres');
psql("DROP DATABASE $db", db => 'postgres');
psql("DROP ROLE mx_alice; DROP ROLE mx_bob; DROP ROLE mx_graf; DROP ROLE mx_loader", db => 'postgres');
done_testing();
