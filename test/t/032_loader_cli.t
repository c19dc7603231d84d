#!/usr/bin/perl
#
# 032_loader_cli.t
#	  mirai_load's command line as PostgreSQL's clients have it, and what it
#	  says when it loads nothing or is stopped:
#	  - the connection options of psql (-h -p -U -d -w -W), -? for the
#	    help; -h never prints the help, -F (once --force) is refused with a
#	    hint; a password typed at the prompt (on the terminal only) serves
#	    the -j workers; a password in -d stays hidden next to -h -p -U;
#	  - SIGINT and SIGTERM: the file in progress is rolled back and named,
#	    the exit status is 130 or 143, also with -j;
#	  - a file skipped as already loaded: the message says which load the
#	    ledger has (table, role, time), that the ledger keeps it when the
#	    table is emptied, and how to load it again; a warning when the
#	    table is empty;
#	  - -v says how a gzip file and a pipe are known to the ledger.
#
# Environment (set by test/run.sh inside pg_virtualenv): MIRAI_LOAD,
# MIRAI_GEN, MIRAI_FIXTURES (client paths), MIRAI_WORK,
# PGHOST/PGPORT/PGUSER/PGPASSWORD.
#
# test/t/032_loader_cli.t
#
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell;
use Time::HiRes qw(sleep time);
use IPC::Open2;
use IO::Select;
use POSIX ();

my $load = $ENV{MIRAI_LOAD} || 'src/bin/mirai_load';
my $gen = $ENV{MIRAI_GEN} || 'src/bin/mirai_gen';
my $fx = $ENV{MIRAI_FIXTURES};
my $work = $ENV{MIRAI_WORK};

plan skip_all => 'not inside the test cluster (MIRAI_FIXTURES, MIRAI_WORK)'
  unless $fx && $work && -x $load;

my $db = 'mirai_t032';
my $dir = "$work/loader_cli";
mkdir $dir or die "mkdir $dir: $!";
MiraiShell::setup(dir => $dir, db => $db);
chmod 0755, $dir;
my $port = $ENV{PGPORT} // 5432;
my $su = $ENV{PGUSER} // 'postgres';
my $role = 'mirai_t032_r';
my $pw = 'Typed-pw-7';
my $secret = 'Hidden-pw-9';			# the role's password from part 2 on

# Run a shell command line; returns (exit status, stdout, stderr).  The
# status is the exit code, or 128 + the signal for a process killed by one.

# mirai_load as the superuser, through the PG* variables of the cluster.
sub ml
{
	my ($args) = @_;
	return run(shq($load) . " -d $db $args");
}

# The environment without the cluster's connection settings, and a home
# without ~/.pgpass: only the command line (or what a test adds) connects.
my $home = "$dir/home";
mkdir $home;
my $bare = "env -u PGHOST -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE -u PGPASSFILE HOME=" . shq($home);

# Run a command on a terminal (script(1) gives it a pseudo-terminal);
# answer a prompt that matches $want with $answer.  Returns (exit status,
# what the terminal showed).
sub on_tty
{
	my ($cmd, $want, $answer) = @_;
	my $pid = open2(my $out, my $in, 'script', '-qfec', $cmd, '/dev/null');
	my ($buf, $sent) = ('', 0);
	my $sel = IO::Select->new($out);
	my $t0 = time;
	while (time - $t0 < 60)
	{
		next unless $sel->can_read(0.2);
		my $n = sysread($out, my $chunk, 65536);
		last unless $n;
		$buf .= $chunk;
		if (!$sent && defined $want && $buf =~ $want)
		{
			print $in "$answer\n";
			$in->flush;
			$sent = 1;
		}
	}
	close($in);
	waitpid($pid, 0);
	return ($? >> 8, $buf);
}

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or die "createdb failed";
sql("CREATE EXTENSION mirai_ext; DROP ROLE IF EXISTS $role; CREATE ROLE $role LOGIN PASSWORD '$pw'");
END
{
	if (defined $db)
	{
		system("dropdb --if-exists $db >/dev/null 2>&1");
		system("psql -X -q -c 'DROP ROLE IF EXISTS $role' >/dev/null 2>&1");
	}
}

my $ether = sql("SELECT count(*) FROM pcap_read('$ENV{MIRAI_FIXTURES_SQL}/ether.pcap')");
my $sll2 = sql("SELECT count(*) FROM pcap_read('$ENV{MIRAI_FIXTURES_SQL}/sll2.pcap')");

# ---- 1. the letters of PostgreSQL's clients ---------------------------------
{
	my ($rc, $out, $err) = run(shq($load) . ' -?');
	ok($rc == 0 && $out =~ /^\s+-\?, --help\s/m && $out =~ /^\s+-h, --host=HOSTNAME\s/m
		  && $out =~ /^\s+-p, --port=PORT\s/m && $out =~ /^\s+-U, --username=USERNAME\s/m
		  && $out =~ /^\s+-w, --no-password\s/m && $out =~ /^\s+-W, --password\s/m,
		'-? prints the help, which lists the connection options of psql')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run(shq($load) . ' -h');
	ok($rc == 2 && $out eq ''
		  && $err =~ /^mirai_load: error: option "-h" needs a value\nHINT:  -h is the database server's host \(--host\), as in psql; -\? or --help shows the help\.\n\z/,
		'-h alone is a usage error (exit 2) whose hint points to -? and --help, not the help')
	  or diag("exit $rc\n$out$err");

	sql("CREATE TABLE cap (p packet)");
	($rc, $out, $err) = run("$bare PGPASSWORD=" . shq($ENV{PGPASSWORD} // '') . ' ' . shq($load)
		  . " -h 127.0.0.1 -p $port -U $su -d $db -t cap $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 loaded/ && sql("SELECT count(*) FROM cap") == $ether,
		'-h HOST -p PORT -U USER -d DBNAME connect as in psql (nothing in PG* but the password)')
	  or diag("exit $rc\n$out$err");

	($rc, $out, $err) = ml("-F -t cap $fx/sll2.pcap");
	ok($rc == 2 && $err =~ /^mirai_load: error: invalid option "-F"\nHINT:  To load files again, use --force; it has no short form/
		  && sql("SELECT count(*) FROM cap") == $ether,
		'-F is refused (exit 2, nothing loaded) with a hint to write --force')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("--force -t cap $fx/ether.pcap");
	ok($rc == 0 && sql("SELECT count(*) FROM cap") == 2 * $ether, '--force still loads again');

	($rc, $out, $err) = run(shq($load) . ' --bogus -t cap f');
	ok($rc == 2 && $err =~ /^mirai_load: error: invalid option "--bogus"\nHINT:  Try "mirai_load --help" for more information\.\n\z/,
		'a usage error in the style of PostgreSQL\'s clients: "error:", then a HINT line')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run(shq($load) . ' -x -t cap f');
	ok($rc == 2 && $err =~ /^mirai_load: error: invalid option "-x"\n/, 'an unknown short option names itself');
	($rc, $out, $err) = run(shq($load) . ' --help');
	ok($rc == 0 && $out =~ /Connection options/ && $out =~ /130/, '--help: the connection options and exit 130');
}

# ---- 2. connecting: -d's settings win, passwords, prompts ---------------------
{
	sql("CREATE TABLE conn (p packet); GRANT INSERT ON conn TO $role");
	my $as = "-U $role -d $db -t conn";

	# a conninfo string in -d wins over -h, as in psql
	my ($rc, $out, $err) = run("$bare PGPASSWORD=" . shq($pw) . ' ' . shq($load)
		  . " -h /nonexistent -p 1 -U nobody -d " . shq("host=localhost port=$port user=$role dbname=$db")
		  . " -t conn $fx/ether.pcap");
	ok($rc == 0 && sql("SELECT string_agg(loaded_by, ',') FROM mirai_load_ledger WHERE table_name = 'conn'::regclass") eq $role,
		'the settings of a conninfo string in -d win over -h, -p and -U')
	  or diag("exit $rc\n$out$err");

	# PG* variables alone
	($rc, $out, $err) = run("$bare PGHOST=localhost PGPORT=$port PGUSER=$role PGDATABASE=$db PGPASSWORD="
		  . shq($pw) . ' ' . shq($load) . " -t conn $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /1 loaded/, 'PGHOST, PGPORT, PGUSER, PGDATABASE and PGPASSWORD apply')
	  or diag("exit $rc\n$out$err");

	# the server wants a password that libpq does not have
	($rc, $out, $err) = run("$bare timeout 60 " . shq($load) . " -w -h localhost -p $port $as $fx/raw.pcap");
	ok($rc == 3 && $err =~ /could not connect to the database: .*no password supplied/
		  && $err =~ /\nHINT:  -w \(--no-password\) was given: give the password in ~\/\.pgpass or PGPASSWORD\.\n/,
		'-w: no prompt; exit 3 with libpq\'s message and a hint')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run("$bare timeout 60 setsid -w " . shq($load) . " -h localhost -p $port $as $fx/raw.pcap </dev/null");
	ok($rc == 3 && $err =~ /\nHINT:  There is no terminal to ask for it on: give the password in ~\/\.pgpass or PGPASSWORD\.\n/,
		'no terminal: no prompt (standard input is never read for it); exit 3 with a hint')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run("$bare timeout 60 setsid -w " . shq($load) . " -W -h localhost -p $port $as $fx/raw.pcap </dev/null");
	ok($rc == 3 && $err =~ /cannot ask for the password: no terminal/, '-W without a terminal: exit 3, says why')
	  or diag("exit $rc\n$out$err");

	# on a terminal: asked for when needed, and with -W before connecting;
	# the password typed serves every worker of -j
	my $cmd = "$bare " . shq($load) . " -h localhost -p $port $as $fx/raw.pcap";
	my ($trc, $screen) = on_tty($cmd, qr/Password for user $role: /, $pw);
	ok($trc == 0 && $screen =~ /Password for user $role: / && $screen =~ /1 loaded/ && $screen !~ /\Q$pw\E/,
		'on a terminal, the password is asked for (not echoed) when the server wants one')
	  or diag("exit $trc\n$screen");
	$cmd = "$bare " . shq($load) . " -W -j 2 -h localhost -p $port $as $fx/null.pcap $fx/ipv6.pcap";
	($trc, $screen) = on_tty($cmd, qr/Password: /, $pw);
	ok($trc == 0 && $screen =~ /2 files: 2 loaded/ && $screen !~ /\Q$pw\E/,
		'-W asks before connecting; the -j workers use the password typed')
	  or diag("exit $trc\n$screen");
	($trc, $screen) = on_tty("$bare " . shq($load) . " -W -h localhost -p $port $as $fx/vlan.pcap", qr/Password: /, 'Wrong-pw');
	ok($trc == 3 && $screen =~ /password authentication failed for user "$role"/ && $screen !~ /Wrong-pw/,
		'a wrong password typed: exit 3, libpq\'s message')
	  or diag("exit $trc\n$screen");

	# a password in -d is hidden from the command line, also with -h -p -U
	sql("ALTER ROLE $role PASSWORD '$secret'");
	my $fifo = "$dir/pw.fifo";
	system('mkfifo', $fifo) == 0 or die "mkfifo";
	my $go = "$dir/pw.go";
	my $writer = fork();
	if ($writer == 0)
	{
		alarm 60;				# no reader came
		open(my $fh, '>:raw', $fifo) or POSIX::_exit(1);
		sleep 0.05 until -e $go;
		print $fh slurp("$fx/qinq.pcap");
		close($fh);
		POSIX::_exit(0);
	}
	my $loader = fork();
	if ($loader == 0)
	{
		open(STDOUT, '>', "$dir/pw.out");
		open(STDERR, '>', "$dir/pw.err");
		delete $ENV{$_} for qw(PGPASSWORD PGUSER PGHOST);
		exec($load, '-h', 'localhost', '-p', $port, '-U', $role, '-d', "dbname=$db password=$secret",
			'-t', 'conn', $fifo)
		  or POSIX::_exit(127);
	}
	my $connected = 0;
	for (my $t = 0; $t < 200 && !$connected; $t++)
	{
		sleep 0.05;
		$connected = sql("SELECT count(*) FROM pg_stat_activity WHERE usename = '$role'");
	}
	my $cmdline = slurp("/proc/$loader/cmdline");
	$cmdline =~ s/\0/ /g;
	ok($connected && $cmdline =~ /-h localhost -p $port -U $role/ && $cmdline !~ /\Q$secret\E/,
		'a password in -d is overwritten in the command line, also next to -h -p -U')
	  or diag("connected $connected: $cmdline");
	spew($go, '');
	waitpid($writer, 0);
	waitpid($loader, 0);
	ok($? == 0 && sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'conn'::regclass "
		  . "AND file_name = '$fifo' AND loaded_by = '$role'") == 1,
		'... and the load goes on with it, as the role of -U');
}

# ---- 3. SIGINT and SIGTERM ------------------------------------------------------
# A writer that gives a FIFO the first half of big.pcap, then holds it open:
# the loader waits in the middle of the file's COPY.
my $big = slurp("$fx/big.pcap");

sub stalled_fifo
{
	my ($name) = @_;
	my $fifo = "$dir/$name.fifo";
	system('mkfifo', $fifo) == 0 or die "mkfifo $fifo";
	my $pid = fork();
	if ($pid == 0)
	{
		alarm 120;
		open(my $fh, '>:raw', $fifo) or POSIX::_exit(1);
		print $fh substr($big, 0, int(length($big) / 2));
		sleep 110;
		POSIX::_exit(0);
	}
	return ($fifo, $pid);
}

# Start mirai_load (its own process group) with arguments; returns its pid.
sub start_loader
{
	my ($tag, @args) = @_;
	my $pid = fork();
	if ($pid == 0)
	{
		setpgrp(0, 0);
		open(STDOUT, '>', "$dir/$tag.out");
		open(STDERR, '>', "$dir/$tag.err");
		exec($load, '-d', $db, @args) or POSIX::_exit(127);
	}
	return $pid;
}

# Wait until $n COPYs into $table are under way.
sub wait_copying
{
	my ($table, $n) = @_;
	for (my $t = 0; $t < 300; $t++)
	{
		return 1 if sql("SELECT count(*) FROM pg_stat_progress_copy WHERE relid = '$table'::regclass "
			  . "AND tuples_processed > 0") >= $n;
		sleep 0.1;
	}
	return 0;
}

# Wait for a process; returns "exit N", "signal N" or "running".
sub reap
{
	my ($pid) = @_;
	for (my $t = 0; $t < 200; $t++)
	{
		return ($? & 127 ? 'signal ' . ($? & 127) : 'exit ' . ($? >> 8))
		  if waitpid($pid, POSIX::WNOHANG()) == $pid;
		sleep 0.05;
	}
	return 'running';
}

# Backends of mirai_load left in the database (0 once they are gone).
sub backends_left
{
	for (my $t = 0; $t < 100; $t++)
	{
		my $n = sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mirai_load' AND datname = '$db'");
		return 0 if $n == 0;
		sleep 0.1;
	}
	return 1;
}

{
	sql("CREATE TABLE intr (p packet)");
	for my $case (['INT', 130], ['TERM', 143])
	{
		my ($sig, $code) = @$case;
		my ($fifo, $writer) = stalled_fifo("one_$sig");
		my $pid = start_loader("one_$sig", '-t', 'intr', "$fx/sll2.pcap", $fifo);
		my $copying = wait_copying('intr', 1);
		kill $sig, $pid;
		my $how = reap($pid);
		kill 'KILL', $writer;
		waitpid($writer, 0);
		my $err = slurp("$dir/one_$sig.err");
		ok($copying && $how eq "exit $code"
			  && $err =~ /^mirai_load: interrupted, rolled back "\Q$fifo\E": none of its packets were loaded\n\z/m,
			"SIG$sig in the middle of a file: exit $code, the file named as rolled back")
		  or diag("copying $copying, $how\n$err");
		ok(backends_left() == 0
			  && sql("SELECT count(*) FROM intr") == ($sig eq 'INT' ? 1 : 2) * $sll2
			  && sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'intr'::regclass AND file_name LIKE '%fifo'") == 0,
			"SIG$sig: nothing of the interrupted file stays, the file committed before it does")
		  or diag(sql("SELECT count(*) FROM intr"));
		sql("TRUNCATE intr; DELETE FROM mirai_load_ledger WHERE table_name = 'intr'::regclass") if $sig eq 'TERM';
		sql("DELETE FROM mirai_load_ledger WHERE table_name = 'intr'::regclass") if $sig eq 'INT';
	}

	# before any transaction: waiting for a FIFO's writer
	my $lone = "$dir/lone.fifo";
	system('mkfifo', $lone) == 0 or die "mkfifo";
	my $pid = start_loader('lone', '-t', 'intr', $lone);
	for (my $t = 0; $t < 200; $t++)
	{
		last if sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mirai_load' AND datname = '$db'") > 0;
		sleep 0.05;
	}
	sleep 0.3;
	kill 'INT', $pid;
	my $how = reap($pid);
	ok($how eq 'exit 130' && slurp("$dir/lone.err") eq "mirai_load: interrupted\n",
		'SIGINT outside a file\'s transaction: exit 130, "interrupted", no file said to be rolled back')
	  or diag("$how\n" . slurp("$dir/lone.err"));

	# -j 2: SIGTERM to the parent alone reaches the workers; Ctrl-C (SIGINT
	# to the process group) too
	for my $case (['TERM', 143, 'the parent'], ['INT', 130, 'the process group'])
	{
		my ($sig, $code, $whom) = @$case;
		sql("TRUNCATE intr");
		my ($f1, $w1) = stalled_fifo("j1_$sig");
		my ($f2, $w2) = stalled_fifo("j2_$sig");
		my $pid = start_loader("j_$sig", '-j', '2', '-t', 'intr', $f1, $f2, "$fx/ether.pcap");
		my $copying = wait_copying('intr', 2);
		my @workers = map { (slurp($_) =~ /^(\d+) \(.*\) \S+ (\d+)/s && $2 == $pid) ? ($1) : () } glob('/proc/[0-9]*/stat');
		kill $sig, ($whom eq 'the parent' ? $pid : -$pid);
		my $how = reap($pid);
		my $alive = grep { kill(0, $_) } @workers;
		kill 'KILL', $w1, $w2;
		waitpid($_, 0) for ($w1, $w2);
		my $err = slurp("$dir/j_$sig.err");
		ok($copying && @workers == 2 && $how eq "exit $code" && $alive == 0
			  && $err =~ /^mirai_load: interrupted, rolled back "\Q$f1\E": none of its packets were loaded$/m
			  && $err =~ /^mirai_load: interrupted, rolled back "\Q$f2\E": none of its packets were loaded$/m,
			"-j 2, SIG$sig to $whom: exit $code, every worker gone, each names the file it rolled back")
		  or diag("copying $copying, workers @workers, $how, alive $alive\n$err");
		ok(backends_left() == 0 && sql("SELECT count(*) FROM intr") == 0
			  && sql("SELECT count(*) FROM mirai_load_ledger WHERE table_name = 'intr'::regclass") == 0,
			"-j 2, SIG$sig: nothing of either file stays, and the file after them was not started");
	}
}

# ---- 4. a file skipped as already loaded says why, and how to load it again --
{
	sql("CREATE TABLE sk (p packet)");
	my ($rc, $out, $err) = ml("-t sk $fx/ether.pcap");
	($rc, $out, $err) = ml("-t sk $fx/ether.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/
		  && $err =~ /^mirai_load: skipped "[^"]*ether\.pcap": already loaded into sk as "[^"]*ether\.pcap" by $su at \d{4}-\d\d-\d\d [\d:.]+[-+]\d\d \($ether packets\)\n/
		  && $err =~ /\nHINT:  The ledger public\.mirai_load_ledger records that load, and keeps it if the table was emptied since \(TRUNCATE, DELETE\); --force loads the file again, as does deleting its ledger row\.\n\z/,
		'a rerun says, without -v, which load the ledger has (table, role, time), that it outlives emptying the table, and --force')
	  or diag("exit $rc\n$out$err");

	sql("TRUNCATE sk");
	($rc, $out, $err) = ml("-t sk $fx/ether.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/ && sql("SELECT count(*) FROM sk") == 0
		  && $err =~ /^mirai_load: warning: skipped "[^"]*ether\.pcap": already loaded into sk as "[^"]*" by $su at [^(]+ \($ether packets\), but table sk is empty\nDETAIL:  The ledger public\.mirai_load_ledger still records that load: the table was emptied \(TRUNCATE, DELETE\) after it\.\nHINT:  To load the table's files again, use --force, or delete the table's ledger rows: DELETE FROM public\.mirai_load_ledger WHERE table_name = 'sk'::regclass;\n\z/,
		'after TRUNCATE, the rerun warns that the table is empty while the ledger has its load, and how to load again')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("-q -t sk $fx/ether.pcap");
	ok($rc == 0 && $out eq '' && $err =~ /^mirai_load: warning: skipped .* but table sk is empty\n/,
		'-q keeps that warning');
	my ($delete) = $err =~ /(DELETE FROM \S+ WHERE table_name = \S+;)/;
	sql($delete // 'SELECT');
	($rc, $out, $err) = ml("-t sk $fx/ether.pcap");
	ok(defined $delete && $rc == 0 && $out =~ /1 loaded/ && sql("SELECT count(*) FROM sk") == $ether,
		'the DELETE of the hint, run as given, lets the file load again')
	  or diag("exit $rc\n$out$err");
	sql("DELETE FROM sk");
	($rc, $out, $err) = ml("--force -t sk $fx/ether.pcap");
	ok($rc == 0 && sql("SELECT count(*) FROM sk") == $ether, 'after DELETE, --force loads it again');

	# rows the role cannot see: no claim that the table is empty
	sql("CREATE TABLE rls (p packet); GRANT SELECT, INSERT ON rls TO $role; ALTER TABLE rls ENABLE ROW LEVEL SECURITY; "
		  . "CREATE POLICY ins ON rls FOR INSERT TO $role WITH CHECK (true); "
		  . "CREATE POLICY sel ON rls FOR SELECT TO $role USING (false); "
		  . "CREATE TABLE ins_only (p packet); GRANT INSERT ON ins_only TO $role");
	my $ci = shq("host=localhost port=$port dbname=$db user=$role password=$secret");
	($rc, $out, $err) = ml("-t rls $fx/ether.pcap");
	($rc, $out, $err) = run(shq($load) . " -d $ci -t rls $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 already loaded/ && $err =~ /^mirai_load: skipped .* by $su at / && $err !~ /empty/,
		'a table whose rows row-level security hides from the role is never said to be empty (the owner\'s load counts)')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run(shq($load) . " -d $ci -t ins_only $fx/ether.pcap");
	sql("TRUNCATE ins_only");
	($rc, $out, $err) = run(shq($load) . " -d $ci -t ins_only $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 already loaded/ && $err =~ /^mirai_load: skipped / && $err !~ /empty/,
		'nor a table the role may not SELECT from')
	  or diag("exit $rc\n$out$err");

	# many files: the first 10 get a line, then one line counts the others
	my @many;
	for my $i (1 .. 12)
	{
		system("$gen -s " . (100 + $i) . " -n 20 -o $dir/many$i.pcap") == 0 or die "mirai_gen";
		push @many, "$dir/many$i.pcap";
	}
	sql("CREATE TABLE many (p packet)");
	($rc, $out, $err) = ml("-q -t many @many");
	($rc, $out, $err) = ml("-t many @many");
	my $lines = () = $err =~ /^mirai_load: skipped /mg;
	my $hints = () = $err =~ /^HINT:/mg;
	ok($rc == 0 && $lines == 10 && $hints == 1 && $err =~ /\nmirai_load: 2 more files were skipped as already loaded \(-v lists each\)\n\z/,
		'twelve files skipped: ten lines, one hint, and a count of the others')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("-v -t many @many");
	$lines = () = $err =~ /^mirai_load: skipped /mg;
	is($lines, 12, '-v gives every skipped file its line');
}

# ---- 5. -v: how the ledger knows a gzip file and a pipe ---------------------------
{
	sql("CREATE TABLE gz (p packet)");
	my ($rc, $out, $err) = ml("-v -t gz $fx/ether.pcap.gz $fx/mixed.pcapng.gz");
	my $n = () = $err =~ /^HINT:  "[^"]*\.gz" is gzip-compressed, and the ledger knows it by its compressed bytes: the same capture decompressed \(zcat, gunzip\) is another file to it and is loaded again\. Load each capture in one form\.$/mg;
	ok($rc == 0 && $n == 1, '-v: a hint, once, that a gzip file is known by its compressed bytes')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run("zcat $fx/ether.pcap.gz | " . shq($load) . " -v -d $db -t gz -");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/
		  && $err =~ /^HINT:  The ledger knows "-" by the bytes read from it: if they are a gzip file decompressed \(zcat\), that file given by name is another file to it and is loaded again\./m,
		'the same capture through zcat is other content and is loaded again; -v says why')
	  or diag("exit $rc\n$out$err");
	system("zcat $fx/ether.pcap.gz > $dir/ether_gunzipped.pcap") == 0 or die "zcat";
	($rc, $out, $err) = ml("-t gz $dir/ether_gunzipped.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/,
		'the file gunzip gives has the bytes zcat gave: already loaded');
	my $gz = sql("SELECT count(*) FROM pcap_read('$ENV{MIRAI_FIXTURES_SQL}/ether.pcap.gz')");
	my $mixed = sql("SELECT count(*) FROM pcap_read('$ENV{MIRAI_FIXTURES_SQL}/mixed.pcapng.gz')");
	is(sql("SELECT count(*) FROM gz"), 2 * $gz + $mixed, '... and the table holds that capture twice, as documented');
}

# ---- 6. --scanner: only packets that match one of the rules -----------------------
{
	my $sample = "$ENV{MIRAI_TOP}/test/data/sample.pcap.gz";
	my $copy = "$dir/sample.pcap.gz";
	system("cp $sample $copy && chmod 644 $copy") == 0 or die "cp";
	sql("CREATE TABLE sc (p packet)");
	my ($rc, $out, $err) = ml("-t sc --scanner=mirai,backscatter $copy");
	my $want = sql("SELECT count(*) FROM pcap_read('$copy') p WHERE packet_scanners(p) && '{mirai,backscatter}'");
	my $all = sql("SELECT count(*) FROM pcap_read('$copy')");
	ok($rc == 0 && $want > 0 && $want < $all && sql("SELECT count(*) FROM sc") == $want,
		"--scanner=mirai,backscatter loads the $want packets of $all that packet_scanners puts in either rule")
	  or diag("exit $rc, want $want of $all, have " . sql("SELECT count(*) FROM sc") . "\n$out$err");
	is(sql("SELECT count(*) FROM sc WHERE NOT packet_scanners(p) && '{mirai,backscatter}'"), 0,
		'... and no other packet');
	is(sql("SELECT options FROM mirai_load_ledger WHERE table_name = 'sc'::regclass"),
		'--column=p --scanner=mirai,backscatter', 'the ledger records the rules in catalogue order');
	($rc, $out, $err) = ml("-t sc --scanner=' backscatter , mirai' $copy");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/ && sql("SELECT count(*) FROM sc") == $want,
		'the same rules named in another order: already loaded')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("-t sc --scanner=mirai,backscatter -m $copy");
	my $both = sql("SELECT count(*) FROM pcap_read('$copy') p WHERE is_mirai(p)");
	ok($rc == 0 && sql("SELECT count(*) FROM sc") == $want + $both,
		'--mirai-only and --scanner both apply: another load, of the Mirai packets')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("-t sc --scanner=foo $copy");
	ok($rc == 2 && $err =~ /^mirai_load: error: unknown scanner rule "foo" \(rules: all, mirai, /
		  && $err =~ /^HINT:  Try "mirai_load --help"/m,
		'--scanner=foo: exit 2, naming the rules')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("-t sc --scanner=mirai,zmap41 $copy");
	ok($rc == 2 && $err =~ /^mirai_load: error: scanner rule "zmap41" cannot be checked on decoded packets\nHINT:  It reads header fields/,
		'--scanner=zmap41: exit 2, with why as the hint')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml("-n --scanner=all $copy");
	my $any = sql("SELECT count(*) FROM pcap_read('$copy') p WHERE packet_scanner(p) IS NOT NULL");
	ok($rc == 0 && $out =~ /\b$any packets decoded/, "--scanner=all: the $any packets some checkable rule matches")
	  or diag("exit $rc\n$out$err");
}

done_testing();
