#!/usr/bin/perl
#
# 033_follow.t
#	  mirai_load on captures that are still being written, each packet
#	  loaded exactly once:
#	  - a file loaded while it grows (pcap, pcapng with two sections, gzip),
#	    loaded again after each piece: resumed after the records loaded,
#	    the rows chained in the ledger; a row of another role never makes
#	    a load resume;
#	  - --commit-every on a pipe (tcpdump -r x -w -): rows visible from
#	    another session while the pipe still runs; kill -9 mid-stream keeps
#	    exactly the batches committed;
#	  - --follow on tcpdump -C rotation, killed with -9 between batches and
#	    run again, and on -G (strftime) rotation.
#
# Environment (set by test/run.sh inside pg_virtualenv): MIRAI_LOAD,
# MIRAI_GEN, MIRAI_WORK, PGHOST/PGPORT/PGUSER/PGPASSWORD.
#
# test/t/033_follow.t
#
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell;
use Time::HiRes qw(sleep time);
use POSIX ();

my $load = $ENV{MIRAI_LOAD} || 'src/bin/mirai_load';
my $gen = $ENV{MIRAI_GEN} || 'src/bin/mirai_gen';
my $work = $ENV{MIRAI_WORK};

plan skip_all => 'not inside the test cluster (MIRAI_WORK)' unless $work && -x $load;

my $db = 'mirai_t033';
my $dir = "$work/follow";
mkdir $dir or die "mkdir $dir: $!";
MiraiShell::setup(dir => $dir, db => $db);
chmod 0755, $dir;
my $role = 'mirai_t033_r';
my $me = getpwuid($<);			# tcpdump -Z: write as this user (as root too)

# sql, or '' when it fails (a query of the ledger's columns on an older
# ledger: the test then fails, the script goes on).
sub try_sql
{
	my $v = eval { sql(@_) };
	return $v // '';
}

# Run a shell command line; returns (exit status, stdout, stderr).

sub ml
{
	my ($args) = @_;
	return run("$load -d $db $args");
}

sub gen
{
	my ($file, $args) = @_;
	system("$gen $args -o $file") == 0 or die "mirai_gen $args";
	chmod 0644, $file;
}

# Start a shell command line in the background, in its own process group
# (so that a kill reaches the whole pipe); returns its pid.
sub start
{
	my ($tag, $cmd) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		setpgrp(0, 0);
		open(STDOUT, '>', "$dir/$tag.out");
		open(STDERR, '>', "$dir/$tag.err");
		exec('sh', '-c', $cmd) or POSIX::_exit(127);
	}
	return $pid;
}

# Wait for a process (up to $secs); returns its exit status, or -1.
sub reap
{
	my ($pid, $secs) = @_;
	for (my $t = 0; $t < $secs * 20; $t++)
	{
		return ($? & 127 ? 128 + ($? & 127) : $? >> 8) if waitpid($pid, POSIX::WNOHANG()) == $pid;
		sleep 0.05;
	}
	kill 'KILL', -$pid;
	waitpid($pid, 0);
	return -1;
}

# Wait until a query gives a true value (up to $secs); returns that value.
sub wait_for
{
	my ($q, $secs) = @_;
	for (my $t = 0; $t < $secs * 10; $t++)
	{
		my $v = sql($q);
		return $v if $v && $v ne 'f';
		sleep 0.1;
	}
	return 0;
}

# The packets of a table differ from those of some files (as pcap_read reads
# them): how many are in one and not the other, duplicates counted.
sub differ
{
	my ($table, @files) = @_;
	my $src = join(' UNION ALL ', map { "SELECT p::text AS t FROM pcap_read('$_') p" } @files);
	return sql("SELECT (SELECT count(*) FROM (SELECT p::text FROM $table EXCEPT ALL ($src)) a) "
		  . "+ (SELECT count(*) FROM (($src) EXCEPT ALL SELECT p::text FROM $table) b)");
}

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or die "createdb failed";
sql("CREATE EXTENSION mirai_ext; DROP ROLE IF EXISTS $role; CREATE ROLE $role LOGIN PASSWORD 'Pw-033'");
my $as_role = "env PGPASSWORD=Pw-033 $load -d $db -U $role";
END
{
	system("dropdb --if-exists $db >/dev/null 2>&1");
	system("psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $role' >/dev/null 2>&1");
}

# ---- 1. a file loaded while it grows, then again ---------------------------------
for my $case (
	['pcap', 'grow.pcap', '-s 31 -n 3000'],
	['pcapng with two sections', 'grow.pcapng', '-s 32 -n 3000 -f pcapng --sections 2'],
	['gzip-compressed pcap', 'grow.pcap.gz', '-s 33 -n 3000 -z'])
{
	my ($what, $name, $args) = @$case;
	my $full = "$dir/full_$name";
	my $file = "$dir/$name";
	my $table = 'g' . length($what);
	gen($full, $args);
	my $bytes = slurp($full);
	my $n = length($bytes);
	sql("CREATE TABLE $table (p packet)");
	# three loads: after 40% (a record cut in two), after 75%, whole
	my @rc;
	for my $part (int($n * 0.4) + 3, int($n * 0.75) + 1, $n)
	{
		spew($file, substr($bytes, 0, $part));
		my ($rc, $out, $err) = ml("-v -t $table $file");
		push @rc, $rc;
		diag("exit $rc\n$out$err") if $rc != 0;
	}
	my $want = sql("SELECT count(*) FROM pcap_read('$full')");
	is(sql("SELECT count(*) FROM $table") . ' ' . differ($table, $full), "$want 0",
		"$what loaded at 40%, 75% and whole: each of its $want packets once");
	my $chain = try_sql("SELECT string_agg(from_record || '-' || records || ':' || truncated, ' ' ORDER BY from_record) "
		  . "FROM mirai_load_ledger WHERE tbl = '$table'::regclass");
	ok($chain =~ /^0-(\d+):true (\d+)-(\d+):true (\d+)-3000:false$/ && $1 == $2 && $3 == $4,
		"... the ledger rows chain, each resuming after the records of the one before: $chain");
}
{
	# -v and the summary say so
	my ($rc, $out, $err);
	my $f = "$dir/words.pcap";
	gen("$dir/words_full.pcap", '-s 34 -n 400');
	my $b = slurp("$dir/words_full.pcap");
	spew($f, substr($b, 0, 10000));
	ml("-t g4 $f");
	spew($f, $b);
	($rc, $out, $err) = ml("-v -t g4 $f");
	my ($from) = $out =~ /1 loaded \(1 resumed from record (\d+)\)/;
	ok($rc == 0 && $from && $err =~ /^mirai_load: resuming "\Q$f\E" from record $from: its first 10000 bytes are those loaded into g4 as "\Q$f\E" by /m
		  && $err =~ /^mirai_load: loaded "\Q$f\E": \d+ packets \(0 filtered\), resumed from record $from in /m,
		'-v and the summary say from which record the file was resumed')
	  or diag("exit $rc\n$out$err");

	# a warning about a record read before is not given again
	my $cb = slurp("$ENV{MIRAI_TOP}/test/corpus/pcap_caplen_snaplen.pcap");
	spew("$dir/cut.pcap", substr($cb, 0, 300));
	my ($rc1, $out1, $err1) = ml("-t g4 $dir/cut.pcap");
	spew("$dir/cut.pcap", $cb);
	($rc, $out, $err) = ml("-t g4 $dir/cut.pcap");
	ok($rc1 == 0 && $err1 =~ /cut a record of capture file .* At record 3,/s && $rc == 0
		  && $out =~ /1 loaded \(1 resumed from record 3\)/ && $err !~ /cut a record/,
		'a resumed load does not warn again of a record before the one it resumes from (cut to the snapshot length)')
	  or diag("exit $rc1, $rc\n$out1$err1$out$err");
}
{
	# the trust rule: another role's row of a cut file neither resumes nor skips
	sql("CREATE TABLE trust (p packet); GRANT INSERT ON trust TO $role");
	my $full = "$dir/full_trust.pcap";
	gen($full, '-s 35 -n 1000');
	my $b = slurp($full);
	spew("$dir/trust.pcap", substr($b, 0, 30000));
	my ($rc, $out, $err) = run("$as_role -t trust $dir/trust.pcap");
	my $theirs = sql('SELECT count(*) FROM trust');
	spew("$dir/trust.pcap", $b);
	($rc, $out, $err) = ml("-v -t trust $dir/trust.pcap");
	my $all = sql("SELECT count(*) FROM pcap_read('$full')");
	my $not_resumed = $theirs > 0 && $rc == 0 && sql('SELECT count(*) FROM trust') == $theirs + $all
	  && $err !~ /resum/;
	diag("exit $rc, theirs $theirs\n$out$err") unless $not_resumed;
	# ... and the other role resumes the owner's load (it trusts the owner)
	gen("$dir/full_trust2.pcap", '-s 39 -n 1000');
	$b = slurp("$dir/full_trust2.pcap");
	$all = sql("SELECT count(*) FROM pcap_read('$dir/full_trust2.pcap')");
	spew("$dir/trust2.pcap", substr($b, 0, 30000));
	ml("-t trust $dir/trust2.pcap");
	my $before = sql('SELECT count(*) FROM trust');
	spew("$dir/trust2.pcap", $b);
	($rc, $out, $err) = run("$as_role -v -t trust $dir/trust2.pcap");
	my $owners = try_sql("SELECT packets FROM mirai_load_ledger WHERE tbl = 'trust'::regclass AND file_name LIKE '%trust2.pcap' AND loaded_by = current_user");
	ok($not_resumed && $rc == 0 && sql('SELECT count(*) FROM trust') == $before + $all - $owners
		  && $err =~ /resuming/,
		'a load cut short by another role is never resumed (the owner loads every packet again), '
		  . 'while that role resumes a load of the table\'s owner')
	  or diag("exit $rc\n$out$err");
}

# ---- 2. --commit-every on a pipe -------------------------------------------------
my $big = "$dir/big.pcap";
gen($big, '-s 36 -n 8000');
my $total = sql("SELECT count(*) FROM pcap_read('$big')");
{
	sql('CREATE TABLE live (p packet)');
	# tcpdump writes the capture into the pipe; the second half comes later
	my $pid = start('live', "{ tcpdump -r $big -w - 2>/dev/null | head -c 300000; sleep 4; "
		  . "tcpdump -r $big -w - 2>/dev/null | tail -c +300001; } | $load -d $db -t live --commit-every=1s -");
	my $seen = wait_for('SELECT count(*) FROM live', 3.5);
	my $batch = try_sql("SELECT count(*) FROM mirai_load_ledger WHERE tbl = 'live'::regclass AND NOT at_end");
	my $running = waitpid($pid, POSIX::WNOHANG()) == 0;
	my $rc = reap($pid, 20);
	ok($seen > 0 && $seen < $total && $batch >= 1 && $running,
		"--commit-every=1s on a pipe: $seen of $total packets visible from another session while the pipe runs")
	  or diag("seen $seen, batches $batch, running $running\n" . slurp("$dir/live.err"));
	is($rc . ' ' . sql('SELECT count(*) FROM live') . ' ' . differ('live', $big), "0 $total 0",
		'... and when it ends, every packet once');
	is(try_sql("SELECT count(*) FILTER (WHERE at_end) || ' ' || (sum(packets) = $total) FROM mirai_load_ledger WHERE tbl = 'live'::regclass"),
		'1 true', '... its batches\' rows sum to the packets, the last one at the end');

	sql('CREATE TABLE live_n (p packet)');
	my ($rc2, $out, $err) = run("tcpdump -r $big -w - 2>/dev/null | $load -d $db -t live_n --commit-every=1000 -v -");
	my $nb = () = $err =~ /^mirai_load: committed a batch of "-": 1000 packets, records /mg;
	ok($rc2 == 0 && $nb == int($total / 1000) && sql('SELECT count(*) FROM live_n') == $total,
		"--commit-every=1000: $nb batches of 1000 packets, then the rest")
	  or diag("exit $rc2\n$out$err");
}
{
	# kill -9 mid-stream: exactly the batches committed stay
	sql('CREATE TABLE crash (p packet)');
	my $pid = start('crash', "{ tcpdump -r $big -w - 2>/dev/null | head -c 300000; sleep 30; } "
		  . "| $load -d $db -t crash --commit-every=500 -");
	wait_for("SELECT count(*) >= 2 FROM mirai_load_ledger WHERE tbl = 'crash'::regclass", 10);
	sleep 0.3;
	kill 'KILL', -$pid;
	waitpid($pid, 0);
	# the server sees the connection drop; what is left is what was committed
	wait_for("SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = '$db' AND state <> 'idle' AND pid <> pg_backend_pid() AND query ILIKE 'COPY%'", 5);
	my ($records, $rows) = split(/\|/, try_sql("SELECT max(records), sum(packets) FROM mirai_load_ledger WHERE tbl = 'crash'::regclass"));
	$records ||= 0;
	$rows ||= 0;
	if ($records)
	{
		# the first $records records, as tcpdump reads them
		system("tcpdump -r $big -c $records -w $dir/crash_prefix.pcap 2>/dev/null") == 0 or die 'tcpdump -c';
		chmod 0644, "$dir/crash_prefix.pcap";
	}
	my $have = sql('SELECT count(*) FROM crash');
	ok($records && $rows > 0 && $have == $rows && $have < $total && differ('crash', "$dir/crash_prefix.pcap") == 0,
		"kill -9 mid-stream keeps exactly the committed batches: the $have packets of the first $records records")
	  or diag("records $records, rows $rows, have $have\n" . slurp("$dir/crash.err"));
}

{
	# SIGTERM while a file is followed: the open batch is rolled back, 143
	sql('CREATE TABLE term (p packet)');
	my $b = slurp($big);
	spew("$dir/term.pcap", substr($b, 0, 250000));
	my $pid = start('term', "exec $load -d $db -t term --follow --commit-every=500 $dir/term.pcap");
	wait_for("SELECT count(*) >= 2 FROM mirai_load_ledger WHERE tbl = 'term'::regclass", 10);
	sleep 0.3;
	kill 'TERM', $pid;
	my $rc = reap($pid, 10);
	my $err = slurp("$dir/term.err");
	my ($rows, $open) = split(/\|/, try_sql("SELECT sum(packets), bool_or(at_end) FROM mirai_load_ledger WHERE tbl = 'term'::regclass"));
	ok($rc == 143 && $err =~ /^mirai_load: interrupted, rolled back the open batch of "\Q$dir\E\/term.pcap": the batches committed before it stay loaded$/m
		  && sql('SELECT count(*) FROM term') == ($rows // -1) && $open eq 'f',
		"SIGTERM while following: exit 143, the open batch rolled back, the $rows packets of the batches committed stay")
	  or diag("exit $rc, rows " . ($rows // '') . "\n$err");
}

# ---- 3. --follow on tcpdump's rotation ---------------------------------------------
{
	sql('CREATE TABLE rot (p packet)');
	my $src = "$dir/rot_src.pcap";
	gen($src, '-s 37 -n 45000');
	my $want = sql("SELECT count(*) FROM pcap_read('$src')");
	my $rdir = "$dir/rot";
	mkdir $rdir;
	chmod 0755, $rdir;
	# tcpdump -C 1 writes dump, dump1, ... from a capture that comes in pieces
	my $writer = start('rot_w', "umask 022; perl -e 'open(F, \"<:raw\", \"$src\"); binmode STDOUT; \$| = 1; "
		  . "while (read(F, \$b, 150000)) { print \$b; select(undef, undef, undef, 0.15) }' "
		  . "| tcpdump -Z $me -r - -w $rdir/dump -C 1 2>/dev/null");
	for (my $t = 0; $t < 50 && !-s "$rdir/dump"; $t++) { sleep 0.1 }
	my $follow = "$load -d $db -t rot --follow --commit-every=1s --follow-idle=2 -v $rdir/dump";
	my $pid = start('rot1', $follow);
	wait_for("SELECT count(*) >= 1 FROM mirai_load_ledger WHERE tbl = 'rot'::regclass", 10);
	sleep 0.2;
	kill 'KILL', -$pid;
	waitpid($pid, 0);
	my $first = sql('SELECT count(*) FROM rot');
	$pid = start('rot2', $follow);
	my $rc = reap($pid, 30);
	reap($writer, 5);
	my @files = sort glob("$rdir/dump*");
	ok($rc == 0 && @files >= 3 && sql('SELECT count(*) FROM rot') == $want && differ('rot', $src) == 0,
		"--follow on tcpdump -C rotation (" . scalar(@files) . " files), killed with -9 after $first packets and run again: each of the $want packets once")
	  or diag("exit $rc, have " . sql('SELECT count(*) FROM rot') . " of $want, files @files\n"
		  . slurp("$dir/rot1.err") . "--\n" . slurp("$dir/rot2.err"));
	like(slurp("$dir/rot2.err"), qr/^mirai_load: resuming "\Q$rdir\E\/dump\d*" from record \d+: /m,
		'... the second run resumed the file it was killed in after its committed batches');
}
{
	# tcpdump -G with a strftime name: the next file's name is the next second's
	sql('CREATE TABLE rotg (p packet)');
	my $src = "$dir/rotg_src.pcap";
	gen($src, '-s 38 -n 6000');
	my $want = sql("SELECT count(*) FROM pcap_read('$src')");
	my $rdir = "$dir/rotg";
	mkdir $rdir;
	chmod 0755, $rdir;
	my $writer = start('rotg_w', "umask 022; perl -e 'open(F, \"<:raw\", \"$src\"); binmode STDOUT; \$| = 1; "
		  . "while (read(F, \$b, 40000)) { print \$b; select(undef, undef, undef, 0.25) }' "
		  . "| tcpdump -Z $me -r - -w '$rdir/h-%H%M%S.pcap' -G 1 2>/dev/null");
	my @first;
	for (my $t = 0; $t < 50 && !(@first = glob("$rdir/h-*.pcap")); $t++) { sleep 0.1 }
	my $pid = start('rotg', "$load -d $db -t rotg --follow --commit-every=1s --follow-idle=2 $first[0]");
	# a second loader following the same file into the same table gives up
	wait_for("SELECT count(*) >= 1 FROM mirai_load_ledger WHERE tbl = 'rotg'::regclass", 10);
	my ($rc2, $out2, $err2) = ml("-t rotg --follow --follow-idle=1 $first[0]");
	ok($rc2 == 1 && $err2 =~ /^mirai_load: error: "\Q$rdir\E\/h-\d+\.pcap" is being loaded into rotg in batches by another mirai_load$/m,
		'a second loader following the same file into the same table stops at once, with an error')
	  or diag("exit $rc2\n$out2$err2");
	my $rc = reap($pid, 30);
	reap($writer, 5);
	my @files = glob("$rdir/h-*.pcap");
	ok($rc == 0 && @files >= 2 && sql('SELECT count(*) FROM rotg') == $want && differ('rotg', $src) == 0,
		'--follow on tcpdump -G rotation (' . scalar(@files) . " files): each of the $want packets once")
	  or diag("exit $rc, have " . sql('SELECT count(*) FROM rotg') . " of $want, files @files\n" . slurp("$dir/rotg.err"));
}

done_testing();
