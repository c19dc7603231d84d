#!/usr/bin/perl
#
# 030_loader.t
#	  mirai_load, the client-side COPY loader, against the real cluster:
#	  several files, stdin (cat, zcat), a corrupt file in the middle of a
#	  list, reruns, kill -9 in the middle of a file, -j 2, concurrent
#	  loaders, a wrong password, quoted table names, tables without a packet
#	  column, counts equal to pcap_read's and tcpdump's for the same files,
#	  and --on-error=skip on damaged files equal to pcap_read(..., on_error
#	  => 'skip').
#
# Environment (set by test/run.sh inside pg_virtualenv): MIRAI_LOAD,
# MIRAI_GEN, MIRAI_FIXTURES (client paths), MIRAI_FIXTURES_SQL (the same
# files as the server opens them), MIRAI_WORK, PGHOST/PGPORT/PGUSER/PGPASSWORD.
#
# test/t/030_loader.t
#
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell;
use Time::HiRes qw(sleep time);
use POSIX qw(WNOHANG);

my $load = $ENV{MIRAI_LOAD} || 'src/bin/mirai_load';
my $gen = $ENV{MIRAI_GEN} || 'src/bin/mirai_gen';
my $fx = $ENV{MIRAI_FIXTURES};
my $fxsql = $ENV{MIRAI_FIXTURES_SQL};
my $work = $ENV{MIRAI_WORK};

plan skip_all => 'not inside the test cluster (MIRAI_FIXTURES, MIRAI_WORK)'
  unless $fx && $fxsql && $work && -x $load;

my $MIRAI_BPF = 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535';
my $db = 'mirai_load_t';
my $dir = "$work/loader";
mkdir $dir or die "mkdir $dir: $!";
MiraiShell::setup(dir => $dir, db => $db);

# Run a shell command line; returns (exit status, stdout, stderr).
# mirai_load with arguments (already shell-quoted where needed).
sub ml
{
	my ($args) = @_;
	return run(shq($load) . " -d $db $args");
}

# Packets pcap_read returns for a fixture (server side).
sub pcap_read_count
{
	my ($name, $filter) = @_;
	my $f = defined $filter ? ", " . sql_lit($filter) : '';
	return sql("SELECT count(*) FROM (SELECT pcap_read('$fxsql/$name'$f)) s");
}

# Lines tcpdump prints for a file with a filter.
sub tcpdump_count
{
	my ($file, $filter) = @_;
	my $n = `tcpdump -nn -r @{[shq($file)]} @{[shq($filter)]} 2>/dev/null | wc -l`;
	chomp $n;
	return $n + 0;
}

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or die "createdb failed";
sql("CREATE EXTENSION mirai_ext");
END
{
	system("dropdb --if-exists $db >/dev/null 2>&1") if defined $db;
	system("psql -X -q -d postgres -c 'ALTER SYSTEM RESET work_mem' -c 'SELECT pg_reload_conf()' >/dev/null 2>&1");
}

# ---- command line ------------------------------------------------------
{
	my ($rc, $out) = run(shq($load) . " --help");
	ok($rc == 0 && $out =~ /--table/ && $out =~ /--jobs/ && $out =~ /Exit status/,
		'--help exits 0 and lists the options and exit codes');
	($rc, $out) = run(shq($load) . " -V");
	like($out, qr/^mirai_load \(mirai_ext\) \d+\.\d+/, '-V prints the version');
	my $err;
	($rc, $out, $err) = run(shq($load) . " --bogus -t x f");
	ok($rc == 2 && $err =~ /invalid option/, 'an unknown option is a usage error (exit 2)');
	($rc, $out, $err) = run(shq($load) . " $fx/ether.pcap");
	ok($rc == 2 && $err =~ /no table/, 'no table: exit 2');
	($rc, $out, $err) = run(shq($load) . " -t x");
	ok($rc == 2 && $err =~ /no file/, 'no file: exit 2');
	($rc, $out, $err) = run(shq($load) . " -t x --on-error=ignore $fx/ether.pcap");
	ok($rc == 2 && $err =~ /invalid value for --on-error: "ignore" \(valid: error, skip\)/,
		'--on-error takes error or skip');
	($rc, $out, $err) = run(shq($load) . " -t x -f 'tcp port' $fx/ether.pcap");
	ok($rc == 2 && $err =~ /invalid filter/, 'a bad BPF filter is a usage error');
	($rc, $out, $err) = run(shq($load) . " -t x - -");
	ok($rc == 2 && $err =~ /only once/, 'stdin twice is a usage error');
	($rc, $out, $err) = run(shq($load) . " -n $fx/ether.pcap");
	like($out, qr/1 loaded.* \d+ packets decoded \(dry run\)/, '--dry-run decodes without a database');
}

# ---- several files, counts equal pcap_read's ---------------------------
my @files = qw(ether.pcap ether_ns_be.pcap vlan.pcap qinq.pcap sll2.pcap raw.pcap null.pcap
  ipv6.pcap frag.pcap kuz.pcap v22.pcap mixed.pcapng blocks.pcapng tsresol.pcapng
  ether.pcap.gz mixed.pcapng.gz);
my %count;
$count{$_} = pcap_read_count($_) for (@files, 'trunc.pcap', 'big.pcap');
sql("CREATE TABLE cap (p packet)");
{
	my ($rc, $out, $err) = ml("-t cap " . join(' ', map { "$fx/$_" } @files));
	is($rc, 0, 'several files in one run: exit 0');
	like($out, qr/^mirai_load: ${\ scalar(@files)} files: ${\ scalar(@files)} loaded, 0 already loaded, 0 failed;/,
		'the summary counts the files');
	my $sum = 0;
	$sum += $count{$_} for @files;
	is(sql("SELECT count(*) FROM cap"), $sum, 'the table holds as many packets as pcap_read reads');
	my $union = join(' UNION ALL ', map { "SELECT pcap_read('$fxsql/$_') AS p" } @files);
	is(sql("SELECT count(*) FROM (SELECT p FROM cap EXCEPT ALL SELECT p FROM ($union) s) d"), 0,
		'every loaded packet is one pcap_read reads');
	is(sql("SELECT count(*) FROM (SELECT p FROM ($union) s EXCEPT ALL SELECT p FROM cap) d"), 0,
		'every packet pcap_read reads was loaded');
	my $bad = 0;
	for my $f (@files)
	{
		my $n = sql("SELECT packets FROM mirai_load_ledger WHERE table_name = 'cap'::regclass "
			  . "AND file_name = " . sql_lit("$fx/$f"));
		$bad++ if $n ne $count{$f};
	}
	is($bad, 0, 'one ledger row per file, with pcap_read\'s count');
	like($out, qr/packets loaded in .*packets\/s.*not loaded: .*arp/, 'the summary gives rates and skipped frames by reason');

	# a rerun: nothing doubled
	($rc, $out, $err) = ml("-t cap " . join(' ', map { "$fx/$_" } @files));
	ok($rc == 0 && $out =~ /0 loaded, ${\ scalar(@files)} already loaded/, 'rerun: every file is already loaded, exit 0');
	is(sql("SELECT count(*) FROM cap"), $sum, 'rerun: nothing doubled');
	($rc, $out, $err) = ml("-q -t cap $fx/ether.pcap");
	ok($rc == 0 && $out eq '' && $err eq '', '-q prints nothing when all goes well');

	# same content under another name is the same file
	system("cp $fx/ether.pcap $dir/renamed.pcap");
	($rc, $out, $err) = ml("-v -t cap $dir/renamed.pcap");
	ok($rc == 0 && $err =~ /skipped .*already loaded into cap as ".*ether\.pcap"/,
		'a copy under another name is skipped as already loaded');
	# fixtures.sh makes gzip_no_suffix with the options of ether.pcap.gz
	($rc, $out, $err) = ml("-v -t cap $fx/gzip_no_suffix");
	ok($rc == 0 && $err =~ /skipped .*gzip_no_suffix.*already loaded into cap as ".*ether\.pcap\.gz"/,
		'a gzip file with the same bytes as one loaded is skipped');
	# --force loads it again, on purpose
	($rc, $out, $err) = ml("--force -t cap $fx/ether.pcap");
	is(sql("SELECT count(*) FROM cap"), $sum + $count{'ether.pcap'}, '--force loads again');
	is(sql("SELECT count(*) FROM mirai_load_ledger WHERE forced"), 1, '--force is recorded in the ledger');
}

# ---- counts equal tcpdump's --------------------------------------------
{
	sql("CREATE TABLE tcp_only (p packet); CREATE TABLE mirai (p packet); CREATE TABLE vl (p packet)");
	my $f = "$fx/big.pcap";
	my ($rc, $out) = ml("-t tcp_only --filter tcp $f");
	is(sql("SELECT count(*) FROM tcp_only"), tcpdump_count($f, 'tcp'), "--filter tcp = tcpdump 'tcp'");
	($rc, $out) = ml("--mirai-only -t mirai $f");
	my $n = sql("SELECT count(*) FROM mirai");
	is($n, tcpdump_count($f, $MIRAI_BPF), '--mirai-only = tcpdump with the Mirai BPF');
	is($n, sql("SELECT count(*) FROM (SELECT pcap_read('$fxsql/big.pcap') p) s WHERE is_mirai(p)"),
		'--mirai-only = is_mirai over pcap_read');
	is(sql("SELECT filtered + packets FROM mirai_load_ledger WHERE table_name = 'mirai'::regclass"),
		$count{'big.pcap'}, 'the ledger counts the packets left out by --mirai-only');
	is($count{'big.pcap'}, tcpdump_count($f, 'ip or ip6'), "all packets = tcpdump 'ip or ip6'");
	($rc, $out) = ml("-t vl $fx/vlan.pcap");
	is(sql("SELECT count(*) FROM vl"), tcpdump_count("$fx/vlan.pcap", 'vlan and (ip or ip6)'),
		"VLAN file = tcpdump 'vlan and (ip or ip6)'");
	# a pcapng with an interface of a link type we do not decode: skipped, not an error
	sql("CREATE TABLE mx (p packet)");
	($rc, $out) = ml("-t mx --filter tcp $fx/mixed.pcapng");
	ok($rc == 0 && sql("SELECT count(*) FROM mx") == pcap_read_count('mixed.pcapng', 'tcp'),
		'--filter on a pcapng with an unknown link type = pcap_read with the filter');
}

# ---- stdin ---------------------------------------------------------------
{
	sql("CREATE TABLE piped (p packet)");
	my ($rc, $out, $err) = run("cat $fx/ether.pcap | " . shq($load) . " -d $db -t piped -");
	ok($rc == 0 && sql("SELECT count(*) FROM piped") == $count{'ether.pcap'}, 'cat FILE | mirai_load -');
	is(sql("SELECT file_name || ' ' || file_size FROM mirai_load_ledger WHERE table_name = 'piped'::regclass"),
		'- ' . -s "$fx/ether.pcap", 'stdin is recorded as "-" with the bytes read');
	($rc, $out, $err) = run("zcat $fx/mixed.pcapng.gz | " . shq($load) . " -d $db -t piped -");
	ok($rc == 0 && sql("SELECT count(*) FROM piped") == $count{'ether.pcap'} + $count{'mixed.pcapng.gz'},
		'zcat FILE.gz | mirai_load -');
	# the same bytes again through stdin, and as a file: already loaded
	($rc, $out, $err) = run("cat $fx/ether.pcap | " . shq($load) . " -d $db -t piped -");
	ok($rc == 0 && $out =~ /1 already loaded/, 'the same content on stdin again is skipped');
	system("zcat $fx/mixed.pcapng.gz > $dir/mixed.pcapng");
	($rc, $out, $err) = ml("-t piped $dir/mixed.pcapng");
	ok($rc == 0 && $out =~ /1 already loaded/, 'a file with the content stdin had is skipped');
	is(sql("SELECT count(*) FROM piped"), $count{'ether.pcap'} + $count{'mixed.pcapng.gz'}, 'stdin: nothing doubled');
	($rc, $out, $err) = run("printf 'not a capture' | " . shq($load) . " -d $db -t piped -");
	ok($rc == 1 && $err =~ /invalid capture file "-": not a pcap or pcapng file/, 'garbage on stdin: exit 1 with the reason');
}

# ---- a corrupt file in the middle of a list --------------------------------
# Overwrite the captured length of record 100 (of 500) of a copy of ether.pcap.
sub record_offset
{
	my ($data, $k) = @_;
	my $off = 24;
	for (my $i = 1; $i < $k; $i++)
	{
		my $caplen = unpack('V', substr($data, $off + 8, 4));
		$off += 16 + $caplen;
	}
	return $off;
}
{
	my $data = slurp("$fx/ether.pcap");
	my $off = record_offset($data, 100);
	# above the largest captured length read (262144): an error, as in libpcap
	substr($data, $off + 8, 4) = pack('V', 300000);
	spew("$dir/bad.pcap", $data);
	system("$gen -s 21 -n 300 -o $dir/good1.pcap");
	system("$gen -s 22 -n 300 -f pcapng -o $dir/good2.pcapng");
	sql("CREATE TABLE mid (p packet)");
	my ($rc, $out, $err) = ml("--stop-on-error -t mid $dir/good1.pcap $dir/bad.pcap $dir/good2.pcapng");
	ok($rc == 1 && $out =~ /1 loaded, 0 already loaded, 1 failed, 1 not attempted/,
		'--stop-on-error stops at the corrupt file, exit 1');
	($rc, $out, $err) = ml("-t mid $dir/good1.pcap $dir/bad.pcap $dir/good2.pcapng");
	is($rc, 1, 'a corrupt file in the middle: exit 1');
	like($err, qr/invalid capture file ".*bad\.pcap": captured length 300000 is larger than the largest we accept \(262144\)\nDETAIL:  At packet 100, byte offset ${\ ($off + 8)}, field pcap\.caplen\. Expected 262144, found 300000\./,
		'the error names the file, packet number, byte offset, field and values');
	like($err, qr/"[^"]*bad\.pcap" was rolled back/, 'the corrupt file is rolled back');
	like($out, qr/1 loaded, 1 already loaded, 1 failed/, 'the files after it are loaded');
	my $expect = sql("SELECT sum(packets) FROM mirai_load_ledger WHERE table_name = 'mid'::regclass");
	ok(sql("SELECT count(*) FROM mid") == $expect && $expect > 500,
		'none of the 99 good packets before the damage stay');
	is(sql("SELECT count(*) FROM mirai_load_ledger WHERE file_name LIKE '%bad.pcap'"), 0, 'no ledger row for the corrupt file');

	# the same error in SQL
	system("chmod 644 $dir/bad.pcap; chmod 755 $dir");
	my $sqlerr = `psql -X -q -d $db -c "SELECT count(*) FROM pcap_read('$dir/bad.pcap')" 2>&1`;
	ok($sqlerr =~ /captured length 300000 is larger than the largest we accept \(262144\)/ &&
		$sqlerr =~ /At packet 100, byte offset ${\ ($off + 8)}, field pcap\.caplen/,
		'pcap_read reports the same error, at the same place');

	# a cut-short last record: warning, the packets before it are kept
	sql("CREATE TABLE tr (p packet)");
	($rc, $out, $err) = ml("-t tr $fx/trunc.pcap");
	ok($rc == 0 && $err =~ /warning: capture file ".*trunc\.pcap" is cut short: .*\nDETAIL:  At record 500, byte offset \d+, field pcap\.data\. The 499 records before it are kept\./,
		'a truncated last record is a warning in pcap_read\'s words, exit 0');
	is(sql("SELECT count(*) FROM tr"), $count{'trunc.pcap'}, 'the packets before it are kept, as pcap_read keeps them');
	is(sql("SELECT truncated FROM mirai_load_ledger WHERE table_name = 'tr'::regclass"), 't', 'the ledger says truncated');
	($rc, $out, $err) = ml("-t tr $fx/not_a_capture.txt $fx/empty.pcap $dir/missing.pcap");
	ok($rc == 1 && $err =~ /not_a_capture\.txt": not a pcap or pcapng file/ && $err =~ /empty\.pcap": the file is empty/
		&& $err =~ /missing\.pcap": No such file/, 'not a capture, empty, missing: each reported, exit 1');
}

# ---- damaged files: strict by default, --on-error=skip as pcap_read -------
{
	# fixtures.sh damages one record of each; here also a frame with an
	# IPv4 header length of 1 word (malformed, not damaged), and a gzip file
	# whose deflate data is damaged early (the reader gives up on the rest)
	my $data = slurp("$fx/ether.pcap");
	my ($off, $k) = (24, 0);
	while ($off < length($data))
	{
		$k++;
		my $caplen = unpack('V', substr($data, $off + 8, 4));
		if ($k >= 300 && unpack('n', substr($data, $off + 16 + 12, 2)) == 0x0800)
		{
			substr($data, $off + 16 + 14, 1) = chr(0x41);
			last;
		}
		$off += 16 + $caplen;
	}
	spew("$dir/malformed.pcap", $data);
	system("gzip -c $fx/big.pcap > $dir/gzdamage.pcap.gz") == 0 or die "gzip";
	$data = slurp("$dir/gzdamage.pcap.gz");
	substr($data, 100000, 4096) = "\0" x 4096;
	spew("$dir/gzdamage.pcap.gz", $data);
	system("chmod 644 $dir/malformed.pcap $dir/gzdamage.pcap.gz; chmod 755 $dir");

	# name => [client path, server path]
	my %dmg = map { ($_ => ["$fx/$_", "$fxsql/$_"]) }
	  qw(damaged_caplen.pcap damaged_header.pcap damaged_block.pcapng damaged_caplen.pcap.gz);
	$dmg{'malformed.pcap'} = ["$dir/malformed.pcap", "$dir/malformed.pcap"];
	$dmg{'gzdamage.pcap.gz'} = ["$dir/gzdamage.pcap.gz", "$dir/gzdamage.pcap.gz"];
	my @names = sort keys %dmg;

	# strict: damage that no reader reads past fails its file; a record
	# whose length runs past the end of the file (damaged_caplen: libpcap
	# reads it) cuts the file short, and a malformed packet is skipped
	my @failing = qw(damaged_block.pcapng damaged_header.pcap gzdamage.pcap.gz);
	sql("CREATE TABLE dmg_strict (p packet)");
	my ($rc, $out, $err) = ml("-t dmg_strict " . join(' ', map { $dmg{$_}[0] } @names));
	ok($rc == 1 && $out =~ /6 files: 3 loaded, 0 already loaded, 3 failed/,
		'strict mode (the default): every file with damage no reader reads past fails, exit 1');
	my $reported = 0;
	for my $n (@failing)
	{
		$reported++ if $err =~ /error: invalid capture file "\Q$dmg{$n}[0]\E": .*\nDETAIL:  At packet \d+, byte offset \d+, field [a-z0-9_.]+\./
		  && $err =~ /"\Q$dmg{$n}[0]\E" was rolled back/;
	}
	is($reported, 3, 'strict mode: each such file reported with packet, offset and field, and rolled back');
	like($err, qr/warning: capture file "\Q$dmg{'damaged_caplen.pcap'}[0]\E" is cut short: its last record has \d+ of its 70016 bytes\nDETAIL:  At record 100, /,
		'strict mode: a captured length above the snapshot length is read, as libpcap reads it: here it runs past the end of the file');
	like($out, qr/not loaded: .*\b1 malformed\b/,
		'strict mode: a malformed packet is skipped and counted, not an error');
	my $want = sql("SET client_min_messages = error; SELECT sum(n) FROM (" . join(' UNION ALL ',
		map { "SELECT count(*) AS n FROM pcap_read(" . sql_lit($dmg{$_}[1]) . ")" }
		  qw(damaged_caplen.pcap damaged_caplen.pcap.gz malformed.pcap)) . ") s");
	is(sql("SELECT count(*) FROM dmg_strict") . ' ' . sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'dmg_strict'::regclass"),
		"$want 3", 'strict mode: nothing of the failed files is loaded; the others are, with ledger rows');

	# skip: each file into its own table, compared with pcap_read's skip mode
	my ($same, $warned, $ledger_ok) = (0, 0, 0);
	my %skip;
	for my $i (0 .. $#names)
	{
		my $n = $names[$i];
		my ($cli, $srv) = @{ $dmg{$n} };
		sql("CREATE TABLE dmg$i (p packet)");
		($rc, $out, $err) = ml("--on-error=skip -t dmg$i $cli");
		$skip{$n} = [$rc, $out, $err];
		my $read = "SELECT pcap_read(" . sql_lit($srv) . ", on_error => 'skip') AS p";
		my $diff = sql("SET client_min_messages = error; "
			  . "SELECT (SELECT count(*) FROM (SELECT p FROM dmg$i EXCEPT ALL SELECT p FROM ($read) s) a) "
			  . "+ (SELECT count(*) FROM (SELECT p FROM ($read) s EXCEPT ALL SELECT p FROM dmg$i) b)");
		my $rows = sql("SELECT count(*) FROM dmg$i");
		$same++ if $rc == 0 && $diff eq '0' && $rows > 0;
		diag("$n: exit $rc, $rows rows, $diff differ from pcap_read's\n$err") unless $rc == 0 && $diff eq '0';

		# the warnings, in pcap_read's words (the server's path for the file)
		my $sqlerr = `psql -X -q -d $db -c "SELECT count(*) FROM (SELECT pcap_read('$srv', on_error => 'skip')) s" 2>&1 >/dev/null`;
		my @mine = $err =~ /warning: (skipped \d+ damaged bytes of capture file "[^"]*": .*\nDETAIL:  .*|capture file "[^"]*" is (?:damaged|cut short): .*)\n/g;
		my @theirs = $sqlerr =~ /WARNING:  (skipped \d+ damaged bytes of capture file "[^"]*": .*\nDETAIL:  .*|capture file "[^"]*" is (?:damaged|cut short): .*)\n/g;
		s/"\Q$cli\E"/"F"/g for @mine;
		s/"\Q$srv\E"/"F"/g for @theirs;
		$warned++ if "@mine" eq "@theirs" && (@mine || $n eq 'malformed.pcap');
		diag("$n: warnings differ:\nmirai_load: @mine\npcap_read: @theirs") unless "@mine" eq "@theirs";

		# the ledger's malformed column: 0, malformed packets are not damage
		my ($regions, $bytes) = $sqlerr =~ /is damaged: skipped (\d+) damaged regions? \((\d+) bytes\)/;
		my $row = sql("SELECT packets || ' ' || damaged_regions || ' ' || damaged_bytes || ' ' || malformed "
			  . "|| ' ' || file_size FROM mirai_load_ledger WHERE table_name = 'dmg$i'::regclass");
		my $expect = join(' ', $rows, $regions // 0, $bytes // 0, 0, -s $cli);
		$ledger_ok++ if $row eq $expect;
		diag("$n: ledger '$row', expected '$expect'") unless $row eq $expect;
	}
	is($same, 6, '--on-error=skip loads exactly the packets pcap_read(..., on_error => \'skip\') returns, for each damaged file');
	is($warned, 6, '--on-error=skip warns as pcap_read does: each damaged region, the file');
	is($ledger_ok, 6, 'the ledger records each file as loaded, with its damaged regions, bytes and whole size');
	like($skip{'damaged_caplen.pcap'}[2],
		qr/warning: skipped 74 damaged bytes of capture file ".*damaged_caplen\.pcap": captured length 70000 is larger than the file's snapshot length 65535\nDETAIL:  At record 100, byte offset 8353, field pcap\.caplen\.\n/,
		'a damaged record: warning with record, byte offset and field');
	like($skip{'damaged_caplen.pcap'}[1],
		qr/1 file: 1 loaded, .*; damaged: 1 file, 1 regions \(74 bytes\) and 0 malformed packets skipped$/m,
		'the summary counts what was skipped');
	like($skip{'malformed.pcap'}[1], qr/not loaded: .*\b1 malformed\b/,
		'a malformed packet is skipped and counted, as in strict mode');
	like($skip{'gzdamage.pcap.gz'}[2], qr/warning: skipped \d+ damaged bytes of capture file ".*gzdamage\.pcap\.gz": gzip data is corrupt/,
		'damaged deflate data ends the stream with a warning; the packets before it are loaded');

	# the whole file was hashed, also the part after the deflate damage
	($rc, $out, $err) = ml("--on-error=skip -t dmg" . (grep { $names[$_] eq 'gzdamage.pcap.gz' } 0 .. $#names)[0]
		  . " $dir/gzdamage.pcap.gz");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/, 'a rerun of the salvaged gzip file skips it: its hash covers every byte');
	# a load that skipped damage gave other rows than a strict load would:
	# a strict rerun does not count it, tries the file and fails on the damage
	($rc, $out, $err) = ml("-v -t dmg0 $dmg{$names[0]}[0]");
	ok($rc == 1 && $out =~ /0 loaded, 0 already loaded, 1 failed/
		  && $err =~ /loading ".*" although the ledger has it: loaded into dmg0 as ".*" by \S+ at .* with other options \(--column=p --on-error=skip; this load: --column=p\)/,
		'a strict rerun of a file salvaged before is not skipped: it tries the file, which fails')
	  or diag("exit $rc\n$out$err");
	# several files, mixed, in one run: the totals
	sql("CREATE TABLE dmg_all (p packet)");
	($rc, $out, $err) = ml("--on-error=skip -t dmg_all $fx/ether.pcap $fx/damaged_caplen.pcap $fx/damaged_block.pcapng $dir/malformed.pcap");
	ok($rc == 0 && $out =~ /4 files: 4 loaded, .*; damaged: 2 files, 2 regions \(226 bytes\) and 0 malformed packets skipped$/m,
		'the summary sums the damage of several files');
	is(sql("SELECT string_agg(options, ' | ' ORDER BY file_name) FROM mirai_load_ledger WHERE table_name = 'dmg_all'::regclass"),
		'--column=p --on-error=skip | --column=p --on-error=skip | --column=p | --column=p',
		'the ledger records --on-error=skip for the files where it skipped damage only');
	# where --on-error=skip skipped nothing, the rows are a strict load's
	($rc, $out, $err) = ml("-v -t dmg_all $fx/ether.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/,
		'a strict rerun skips a file that --on-error=skip loaded without damage (the same rows)');
	# damage far into a big file: thousands of rows are in flight when the
	# decoding thread finds it; the COPY is aborted, nothing stays
	system("cp $fx/big.pcap $dir/bigdamaged.pcap");
	my $boff = `perl $ENV{MIRAI_TOP}/test/damage.pl $dir/bigdamaged.pcap 40000 hugecaplen`;
	chomp $boff;
	sql("CREATE TABLE bigdmg (p packet)");
	($rc, $out, $err) = ml("-t bigdmg $dir/bigdamaged.pcap");
	ok($rc == 1 && $err =~ /At packet 40000, byte offset ${\ ($boff + 8)}, field pcap\.caplen/
		&& sql("SELECT count(*) FROM bigdmg") == 0,
		'damage at packet 40000 of 50000: reported where it is, and none of the 39999 packets before it stay');
	($rc, $out, $err) = ml("--on-error=skip -t bigdmg $dir/bigdamaged.pcap");
	ok($rc == 0 && sql("SELECT count(*) FROM bigdmg") == $count{'big.pcap'} - 1,
		'the same file with --on-error=skip: every packet but the damaged one');
	($rc, $out, $err) = ml("--on-error=skip -n $fx/damaged_header.pcap");
	ok($rc == 0 && $err =~ /is damaged: skipped 1 damaged region \(106 bytes\)\nDETAIL:  The 489 packets around the damage were read\./,
		'--dry-run --on-error=skip reports the damage too');
}

# ---- kill -9 in the middle of a file --------------------------------------
{
	sql("CREATE TABLE killed (p packet)");
	my $fifo = "$dir/slow.fifo";
	system("mkfifo $fifo") == 0 or die "mkfifo";
	my $big = slurp("$fx/big.pcap");
	my $half = int(length($big) / 2);
	my $writer = fork();
	if ($writer == 0)
	{
		open(my $fh, '>:raw', $fifo) or exit 1;
		print $fh substr($big, 0, $half);
		sleep 60;				# hold the fifo open: the loader waits mid-file
		exit 0;
	}
	my $loader = fork();
	if ($loader == 0)
	{
		open(STDOUT, '>', "$dir/killed.out");
		open(STDERR, '>', "$dir/killed.err");
		exec($load, '-d', $db, '-t', 'killed', $fifo);
		exit 127;
	}
	my $copied = 0;
	for (my $t = 0; $t < 300 && !$copied; $t++)
	{
		sleep 0.1;
		$copied = sql("SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy "
			  . "WHERE relid = 'killed'::regclass");
	}
	ok($copied > 0, "the loader is in the middle of the COPY ($copied rows sent)");
	kill 'KILL', $loader;
	waitpid($loader, 0);
	kill 'KILL', $writer;
	waitpid($writer, 0);
	for (my $t = 0; $t < 100; $t++)
	{
		last if sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mirai_load'") == 0;
		sleep 0.1;
	}
	is(sql("SELECT count(*) FROM killed"), 0, 'after kill -9, nothing of the file stays');
	is(sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'killed'::regclass"), 0,
		'after kill -9, no ledger row');
	my ($rc, $out) = ml("-t killed $fx/big.pcap");
	ok($rc == 0 && sql("SELECT count(*) FROM killed") == $count{'big.pcap'}, 'the rerun loads the whole file');
}

# ---- the server stops the COPY --------------------------------------------
{
	# a constraint the file breaks: the server's error, that file only
	sql("CREATE TABLE chk (p packet CHECK (NOT is_mirai(p)))");
	my ($rc, $out, $err) = ml("-t chk $fx/big.pcap $fx/ipv6.pcap");
	ok($rc == 1 && $err =~ /"[^"]*big\.pcap": server: new row for relation "chk" violates check constraint "chk_p_check"\nDETAIL:  Failing row contains/
		&& $out =~ /2 files: 1 loaded, 0 already loaded, 1 failed/,
		'a constraint violation: the server\'s error and detail, that file fails, the next loads');
	is(sql("SELECT count(*) FROM chk") . ' ' . sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'chk'::regclass"),
		"$count{'ipv6.pcap'} 1", '... and nothing of the failed file stays');

	# the backend is terminated in the middle of the COPY: exit 3
	sql("CREATE TABLE slow (p packet); "
		  . "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END\$\$; "
		  . "CREATE TRIGGER slow_row BEFORE INSERT ON slow FOR EACH ROW EXECUTE FUNCTION slow_row()");
	my $pid = fork();
	if ($pid == 0)
	{
		open(STDOUT, '>', "$dir/term.out");
		open(STDERR, '>', "$dir/term.err");
		exec($load, '-d', $db, '-t', 'slow', "$fx/big.pcap");
		exit 127;
	}
	my $copying = 0;
	for (my $t = 0; $t < 300 && !$copying; $t++)
	{
		sleep 0.05;
		$copying = sql("SELECT count(*) FROM pg_stat_progress_copy WHERE relid = 'slow'::regclass AND tuples_processed > 100");
	}
	sql("SELECT pg_terminate_backend(pid) FROM pg_stat_progress_copy WHERE relid = 'slow'::regclass");
	waitpid($pid, 0);
	my $code = $? >> 8;
	ok($copying && $code == 3 && slurp("$dir/term.err") =~ /the connection to the server was lost/,
		'the backend terminated in the middle of a COPY: exit 3, connection lost')
	  or diag("exit $code: " . slurp("$dir/term.err"));
	is(sql("SELECT count(*) FROM slow"), 0, '... and nothing of the file stays');
}

# ---- -j 2, and concurrent loaders of the same file -------------------------
{
	sql("CREATE TABLE par (p packet)");
	my @list = ("$fx/big.pcap", "$fx/ether.pcap.gz", "$fx/mixed.pcapng", "$fx/big.pcap", "$fx/sll2.pcap",
		"$fx/ether.pcap.gz");
	my ($rc, $out, $err) = ml("-j 2 -t par @list");
	ok($rc == 0 && $out =~ /6 files: 4 loaded, 2 already loaded, 0 failed/, '-j 2: every file loaded once');
	my $sum = $count{'big.pcap'} + $count{'ether.pcap.gz'} + $count{'mixed.pcapng'} + $count{'sll2.pcap'};
	is(sql("SELECT count(*) FROM par"), $sum, '-j 2: counts equal pcap_read\'s, nothing doubled');

	sql("CREATE TABLE conc (p packet)");
	my @pids;
	for my $i (1 .. 3)
	{
		my $pid = fork();
		if ($pid == 0)
		{
			open(STDOUT, '>', "$dir/conc$i.out");
			open(STDERR, '>', "$dir/conc$i.err");
			exec($load, '-d', $db, '-t', 'conc', "$fx/big.pcap");
			exit 127;
		}
		push @pids, $pid;
	}
	waitpid($_, 0) for @pids;
	my $loaded = 0;
	$loaded += (slurp("$dir/conc$_.out") =~ /: 1 loaded/ ? 1 : 0) for 1 .. 3;
	is($loaded, 1, 'three concurrent loaders of one file: exactly one loads it');
	is(sql("SELECT count(*) FROM conc"), $count{'big.pcap'}, 'concurrent loaders: nothing doubled');
	my $pipes = 0;
	for my $i (1 .. 2)
	{
		my $pid = fork();
		if ($pid == 0)
		{
			open(STDOUT, '>', "$dir/cpipe$i.out");
			open(STDERR, '>', "$dir/cpipe$i.err");
			exec('sh', '-c', "cat $fx/ether.pcap | " . shq($load) . " -d $db -t conc -");
			exit 127;
		}
		push @pids, $pid;
	}
	waitpid($_, 0) for @pids;
	$pipes += (slurp("$dir/cpipe$_.out") =~ /: 1 loaded/ ? 1 : 0) for 1 .. 2;
	is($pipes, 1, 'two concurrent loaders of the same stdin content: exactly one loads it');
}

# ---- connection, roles, privileges -----------------------------------------
{
	sql("DROP ROLE IF EXISTS mirai_load_r; CREATE ROLE mirai_load_r LOGIN PASSWORD 'Right-pw'");
	my $ci = "host=localhost dbname=$db user=mirai_load_r password=Wrong-pw";
	my ($rc, $out, $err) = run(shq($load) . " -d " . shq($ci) . " -t cap $fx/ether.pcap");
	is($rc, 3, 'wrong password: exit 3');
	like($err, qr/could not connect to the database: .*password authentication failed for user "mirai_load_r"/,
		'wrong password: libpq\'s message');
	ok($err =~ /Connection: .*user=mirai_load_r/ && $err !~ /Wrong-pw/,
		'the conninfo is shown without the password');
	($rc, $out, $err) = run(shq($load) . " -d " . shq("postgresql://mirai_load_r:Wrong-pw\@localhost/$db")
		  . " -t cap $fx/ether.pcap");
	ok($rc == 3 && $err !~ /Wrong-pw/, 'a URI with a wrong password: exit 3, password not shown');
	($rc, $out, $err) = run(shq($load) . " -d " . shq("host=localhost port=1 dbname=$db") . " -t cap $fx/ether.pcap");
	ok($rc == 3 && $err =~ /Connection refused/, 'no server: exit 3 with libpq\'s message');

	# a plain role: needs INSERT on the table; the ledger lets it record its own loads
	sql("CREATE TABLE own (p packet)");
	my $ok = "host=localhost dbname=$db user=mirai_load_r password=Right-pw";
	($rc, $out, $err) = run(shq($load) . " -d " . shq($ok) . " -t own $fx/ether.pcap");
	ok($rc == 2 && $err =~ /permission denied: cannot insert into table own/, 'no INSERT privilege: exit 2 before loading');
	sql("GRANT INSERT ON own TO mirai_load_r");
	($rc, $out, $err) = run("PGPASSWORD=Right-pw " . shq($load) . " -d " . shq("host=localhost dbname=$db user=mirai_load_r")
		  . " -t own $fx/ether.pcap $fx/sll2.pcap");
	ok($rc == 0 && sql("SELECT count(*) FROM own") == $count{'ether.pcap'} + $count{'sll2.pcap'},
		'a role with INSERT loads (password from PGPASSWORD)');
	is(sql("SELECT string_agg(DISTINCT loaded_by, ',') FROM mirai_load_ledger WHERE table_name = 'own'::regclass"),
		'mirai_load_r', 'the ledger records who loaded');
	($rc, $out, $err) = run("PGPASSWORD=Right-pw " . shq($load) . " -d " . shq("host=localhost dbname=$db user=mirai_load_r")
		  . " -t own $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 already loaded/, 'the plain role sees its ledger rows on a rerun');
	my $forged = `psql -X -q -d "host=localhost dbname=$db user=mirai_load_r password=Right-pw" -c "INSERT INTO mirai_load_ledger (table_name, file_name, file_size, content_hash, packets) VALUES ('cap', 'x', 1, decode(repeat('00', 32), 'hex'), 0)" 2>&1`;
	like($forged, qr/row-level security/, 'a role cannot write ledger rows for a table it cannot insert into');
}

# ---- table names, columns -----------------------------------------------------
{
	sql(q{CREATE TABLE "Cap.Ta""ble" (id serial, note text DEFAULT 'x', pk packet)});
	my ($rc, $out, $err) = ml(q{-t '"Cap.Ta""ble"' } . "$fx/ether.pcap");
	ok($rc == 0 && sql(q{SELECT count(pk) FROM "Cap.Ta""ble"}) == $count{'ether.pcap'},
		'a table named with capitals, a dot and a quote, quoted as in SQL');
	($rc, $out, $err) = ml(q{-t 'Cap.Ta"ble' } . "$fx/ether.pcap");
	ok($rc == 2 && $err =~ /(does not exist|invalid table name)/, 'the same name unquoted is refused: exit 2');
	sql(q{CREATE SCHEMA "Sch ema"; CREATE TABLE "Sch ema"."T" (p packet)});
	($rc, $out, $err) = ml(q{-t '"Sch ema"."T"' } . "$fx/ether.pcap");
	ok($rc == 0 && sql(q{SELECT count(*) FROM "Sch ema"."T"}) == $count{'ether.pcap'}, 'a schema-qualified quoted name');
	($rc, $out, $err) = ml(q{-t 'cap; DROP TABLE cap' } . "$fx/ether.pcap");
	ok($rc == 2 && sql("SELECT count(*) FROM pg_class WHERE relname = 'cap'") == 1, 'SQL in a table name is not run');

	sql("CREATE TABLE nopkt (a int, b text)");
	($rc, $out, $err) = ml("-t nopkt $fx/ether.pcap");
	ok($rc == 2 && $err =~ /table nopkt has no column of type packet/, 'a table without a packet column: clear error, exit 2');
	is(sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'nopkt'::regclass"), 0, '... and nothing loaded');
	($rc, $out, $err) = ml("-t nosuch $fx/ether.pcap");
	ok($rc == 2 && $err =~ /table "nosuch" does not exist/, 'a missing table: exit 2');

	sql(q{CREATE TABLE two (a packet, "B" packet)});
	($rc, $out, $err) = ml("-t two $fx/ether.pcap");
	ok($rc == 2 && $err =~ /several columns of type packet \(a, B\)/, 'two packet columns need --column');
	($rc, $out, $err) = ml(q{-t two --column '"B"' } . "$fx/ether.pcap");
	ok($rc == 0 && sql(q{SELECT count("B") || ' ' || count(a) FROM two}) eq "$count{'ether.pcap'} 0",
		'--column picks the column (quoted as in SQL)');
}

# ---- the session keeps the memory it frees ------------------------------------
# mirai_load sets mirai_ext.keep_free_memory in its sessions, unless the role
# or PGOPTIONS gave one: a statement trigger of the table records what the
# loading session has.
{
	sql(q{CREATE TABLE keep_seen (setting text)});
	sql(q{CREATE TABLE keep_cap (p packet)});
	sql(q{CREATE FUNCTION keep_note() RETURNS trigger LANGUAGE plpgsql AS $$
	        BEGIN
	          INSERT INTO keep_seen VALUES (current_setting('mirai_ext.keep_free_memory', true));
	          RETURN NULL;
	        END $$});
	sql(q{CREATE TRIGGER keep_note AFTER INSERT ON keep_cap FOR EACH STATEMENT EXECUTE FUNCTION keep_note()});
	my ($rc) = ml("-t keep_cap -j 2 $fx/ether.pcap $fx/vlan.pcap");
	is(sql(q{SELECT string_agg(setting, ' ') FROM keep_seen}) . " $rc", '256MB 256MB 0',
		'mirai_load keeps 256MB of freed memory in each of its sessions');
	sql(q{TRUNCATE keep_seen});
	($rc) = run("PGOPTIONS='-c mirai_ext.keep_free_memory=64MB' " . shq($load)
		  . " -d $db -t keep_cap --force $fx/ether.pcap");
	is(sql(q{SELECT string_agg(setting, ' ') FROM keep_seen}) . " $rc", '64MB 0',
		'... and leaves a setting the session has');
}

# ---- a transition table stays in the memory the session keeps ---------------
# mirai_load raises work_mem to the session's mirai_ext.keep_free_memory when
# the value comes from the server's configuration, and leaves one the
# database, the role or PGOPTIONS set, or a higher one.
{
	sql(q{CREATE TABLE mem_seen (setting text)});
	sql(q{CREATE TABLE mem_cap (p packet)});
	sql(q{CREATE FUNCTION mem_note() RETURNS trigger LANGUAGE plpgsql AS $$
	        BEGIN
	          INSERT INTO mem_seen VALUES (current_setting('work_mem'));
	          RETURN NULL;
	        END $$});
	sql(q{CREATE TRIGGER mem_note AFTER INSERT ON mem_cap FOR EACH STATEMENT EXECUTE FUNCTION mem_note()});
	my $seen = sub {
		my ($env, $args) = @_;
		sql(q{TRUNCATE mem_seen});
		my ($rc) = run("$env " . shq($load) . " -d $db -t mem_cap --force $args");
		return sql(q{SELECT string_agg(setting, ' ') FROM mem_seen}) . " $rc";
	};
	my $conf = sub {
		my ($v) = @_;
		sql($v ? "ALTER SYSTEM SET work_mem = '$v'" : "ALTER SYSTEM RESET work_mem");
		sql("SELECT pg_reload_conf()");
		my $want = $v || sql("SELECT boot_val || 'kB' FROM pg_settings WHERE name = 'work_mem'");
		for (1 .. 100)
		{
			last if sql("SELECT pg_size_bytes(current_setting('work_mem')) = pg_size_bytes('$want')") eq 't';
			sleep 0.1;
		}
	};
	$conf->('64MB');
	is($seen->('', "-j 2 $fx/ether.pcap $fx/vlan.pcap"), '256MB 256MB 0',
		'mirai_load raises the configuration\'s work_mem to the 256MB its sessions keep');
	is($seen->("PGOPTIONS='-c mirai_ext.keep_free_memory=128MB'", "$fx/ether.pcap"), '128MB 0',
		'... or to what the session keeps');
	is($seen->("PGOPTIONS='-c work_mem=32MB'", "$fx/ether.pcap"), '32MB 0',
		'... and leaves a value PGOPTIONS gives');
	sql(qq{ALTER DATABASE $db SET work_mem = '16MB'});
	is($seen->('', "$fx/ether.pcap"), '16MB 0', '... or the database gives');
	sql(qq{ALTER DATABASE $db RESET work_mem});
	$conf->('1GB');
	is($seen->('', "$fx/ether.pcap"), '1GB 0', '... and never lowers it');
	$conf->(undef);
	is($seen->('', "$fx/ether.pcap"), '256MB 0', '... the default 4MB included');
}

# ---- pg_dump keeps the ledger ------------------------------------------------
{
	my $dump = `pg_dump -a -d $db 2>&1`;
	ok($dump =~ /COPY public\.mirai_load_ledger/ && $dump =~ /\Q$fx\/ether.pcap\E/, 'pg_dump dumps the ledger rows');
}

done_testing();
