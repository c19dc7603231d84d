#!/usr/bin/perl
#
# 077_interrupts.t
#	  A cancel reaches pcap_read and pcap_file_info while they wait:
#	  1. a FIFO with no writer (open(2) would wait for one forever):
#	     statement_timeout, pg_cancel_backend and pg_terminate_backend end
#	     the wait; a writer that comes a second later is read to the end;
#	     a writer that opens and closes without writing is an empty file.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP, MIRAI_WORK,
# MIRAI_FIXTURES (the fixtures as this script sees them),
# MIRAI_FIXTURES_SQL (as the server sees them).
#
use strict;
use warnings;
use Fcntl qw(O_WRONLY O_NONBLOCK);
use POSIX qw(mkfifo WNOHANG _exit);
use Time::HiRes qw(time sleep);
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $fx = $ENV{MIRAI_FIXTURES_SQL} // 'mirai_fixtures';
my $fxdir = $ENV{MIRAI_FIXTURES} // die "MIRAI_FIXTURES is not set\n";
my $db = 'mirai_t077';
my $dir = ($ENV{MIRAI_WORK} // '/tmp') . "/interrupts.$$";
my @children;
my @fifos;
my $parent = $$;

plan tests => 18;

mkdir($dir) or die "mkdir $dir: $!\n";
chmod(0755, $dir);
$ENV{PGDATABASE} = $db;

END
{
	return if $$ != $parent;
	kill('KILL', $_) for grep { $_ } @children;
	unblock($_) for @fifos;
	system("dropdb --if-exists $db >/dev/null 2>&1");
	system('rm', '-rf', $dir);
}

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return '';
	local $/;
	my $t = <$fh>;
	return $t // '';
}

sub spew
{
	my ($f, $data) = @_;
	open(my $fh, '>:raw', $f) or die "$f: $!\n";
	print $fh $data;
	close($fh) or die "$f: $!\n";
	chmod(0644, $f);
}

# Run SQL in a new session; returns (exit status, stdout, stderr).
my $nsql = 0;
sub psql
{
	my ($sql) = @_;
	$nsql++;
	my $f = "$dir/q$nsql.sql";
	spew($f, $sql);
	system("psql -X -A -t -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -f '$f' >'$f.out' 2>'$f.err'");
	my $rc = $? >> 8;
	return ($rc, slurp("$f.out"), slurp("$f.err"));
}

sub value
{
	my ($sql) = @_;
	my ($rc, $out, $err) = psql($sql);
	die "query failed: $sql\n$err" if $rc != 0;
	chomp $out;
	return $out;
}

# Start psql on $sql in the background, as application $tag.
sub psql_bg
{
	my ($sql, $tag) = @_;
	my $f = "$dir/bg-$tag.sql";
	spew($f, $sql);
	my $pid = fork();
	die "fork: $!\n" unless defined $pid;
	if ($pid == 0)
	{
		$ENV{PGAPPNAME} = $tag;
		open(STDOUT, '>', "$f.out");
		open(STDERR, '>', "$f.err");
		exec('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-f', $f)
		  or _exit(127);
	}
	push @children, $pid;
	return ($pid, "$f.err");
}

# Wait for a child up to $secs; true if it ended.
sub wait_child
{
	my ($pid, $secs) = @_;
	my $end = time() + $secs;
	while (time() < $end)
	{
		return 1 if waitpid($pid, WNOHANG) == $pid;
		sleep(0.02);
	}
	return 0;
}

# A reader stuck in open(2) or read(2) of a FIFO ends when a writer comes
# and goes: what a test does when a cancel did not work.
sub unblock
{
	my ($fifo) = @_;
	for (1 .. 3)
	{
		sysopen(my $w, $fifo, O_WRONLY | O_NONBLOCK) or return;
		close($w);
		sleep(0.05);
	}
}

sub new_fifo
{
	my ($name) = @_;
	my $fifo = "$dir/$name";
	mkfifo($fifo, 0644) or die "mkfifo $fifo: $!\n";
	chmod(0644, $fifo);
	push @fifos, $fifo;
	return $fifo;
}

# The backend of the session named $tag, once it runs its statement.
sub backend_of
{
	my ($tag) = @_;
	for (1 .. 250)
	{
		my $pid = value("SELECT pid FROM pg_stat_activity WHERE application_name = '$tag' AND state = 'active'");
		return $pid if $pid =~ /^\d+$/;
		sleep(0.02);
	}
	return undef;
}

# Run $sql (one statement that should fail) in one session with
# statement_timeout = 200ms; the time is taken by the server, from just
# before the statement to just after it.  Returns (seconds, stderr).
sub timed_out
{
	my ($sql, $fifo) = @_;
	$nsql++;
	my $f = "$dir/t$nsql.sql";
	spew($f, "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset\n"
		  . "SET statement_timeout = '200ms';\n$sql\nRESET statement_timeout;\n"
		  . "SELECT extract(epoch FROM clock_timestamp()) - :t0 AS elapsed;\n");
	my ($pid, $err) = (undef, "$f.err");
	$pid = fork();
	die "fork: $!\n" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>', "$f.out");
		open(STDERR, '>', "$f.err");
		exec('psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=verbose', '-f', $f)
		  or _exit(127);
	}
	push @children, $pid;
	my $t0 = time();
	# a read that ignores the timeout: give it 15 s, then unblock a FIFO
	if (!wait_child($pid, 15))
	{
		unblock($fifo) if $fifo;
		wait_child($pid, 60) or kill('KILL', $pid);
	}
	my $out = slurp("$f.out");
	my @nums = ($out =~ /^([\d.]+)\s*$/mg);
	return ($nums[-1] // time() - $t0, slurp($err));
}

# ---- set-up ----
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or BAIL_OUT('createdb failed');
value('CREATE EXTENSION mirai_ext');
my $ether_n = value("SELECT count(*) FROM (SELECT pcap_read('$fx/ether.pcap')) s");
ok($ether_n > 0, "ether.pcap holds $ether_n packets");

# ---- 1. FIFOs: waiting for a writer ----
for my $fn (['pcap_read', "SELECT count(*) FROM (SELECT pcap_read('%s')) s;"],
			['pcap_file_info', "SELECT records FROM pcap_file_info('%s');"])
{
	my ($name, $q) = @$fn;
	my $fifo = new_fifo("nowriter-$name.fifo");
	my ($el, $err) = timed_out(sprintf($q, $fifo), $fifo);
	like($err, qr/57014: canceling statement due to statement timeout/,
		"$name on a FIFO with no writer: statement_timeout cancels the wait (57014)");
	ok($el < 2, sprintf("... within %.2f s of a 200 ms timeout (bound 2 s)", $el));
}

{
	my $fifo = new_fifo('cancel.fifo');
	my ($bpid, $berr) = psql_bg("SELECT count(*) FROM (SELECT pcap_read('$fifo')) s;\n", 't077_cancel');
	my $pid = backend_of('t077_cancel');
	ok(defined $pid, 'a session waits on a FIFO with no writer');
	sleep(0.3);
	my $t0 = time();
	value("SELECT pg_cancel_backend($pid)") if defined $pid;
	my $ended = wait_child($bpid, 5);
	my $el = time() - $t0;
	unblock($fifo) if !$ended;
	wait_child($bpid, 10) if !$ended;
	ok($ended && slurp($berr) =~ /57014: canceling statement due to user request/,
		'pg_cancel_backend ends the wait (57014)')
	  or diag(slurp($berr));
	ok($el < 2, sprintf('... within %.2f s (bound 2 s)', $el));
	is(value("SELECT count(*) FROM pg_stat_activity WHERE pid = " . ($pid // 0)
			. " AND state = 'active'"), 0, '... and the backend is idle again');
}

{
	my $fifo = new_fifo('terminate.fifo');
	my ($bpid, $berr) = psql_bg("SELECT records FROM pcap_file_info('$fifo');\n", 't077_terminate');
	my $pid = backend_of('t077_terminate');
	ok(defined $pid, 'a session waits on a FIFO with no writer (pcap_file_info)');
	sleep(0.3);
	my $t0 = time();
	value("SELECT pg_terminate_backend($pid)") if defined $pid;
	my $gone = 0;
	for (1 .. 100)
	{
		if (value("SELECT count(*) FROM pg_stat_activity WHERE pid = " . ($pid // 0)) == 0)
		{
			$gone = 1;
			last;
		}
		sleep(0.05);
	}
	my $el = time() - $t0;
	unblock($fifo) if !$gone;
	wait_child($bpid, 10);
	ok($gone, 'pg_terminate_backend ends the backend')
	  or diag(slurp($berr));
	ok($el < 2, sprintf('... within %.2f s (bound 2 s)', $el));
	like(slurp($berr), qr/57P01: terminating connection due to administrator command/,
		'... and the client is told why (57P01)');
}

# a writer that comes a second late: every packet is read
for my $fn (['pcap_read', "SELECT count(*) FROM (SELECT pcap_read('%s')) s", $ether_n],
			['pcap_file_info', "SELECT ipv4 + ipv6 FROM pcap_file_info('%s')", $ether_n])
{
	my ($name, $q, $want) = @$fn;
	my $fifo = new_fifo("late-$name.fifo");
	my $wpid = fork();
	die "fork: $!\n" unless defined $wpid;
	if ($wpid == 0)
	{
		sleep(1);
		my $data = slurp("$fxdir/ether.pcap");
		open(my $w, '>:raw', $fifo) or _exit(1);
		print $w $data;
		close($w);
		_exit(0);
	}
	push @children, $wpid;
	my $t0 = time();
	my ($rc, $out, $err) = psql(sprintf($q, $fifo));
	my $el = time() - $t0;
	chomp $out;
	is($out, $want, "$name on a FIFO whose writer comes 1 s later reads all of it ($want)")
	  or diag($err);
	ok($el >= 0.9, sprintf('... after waiting for the writer (%.2f s)', $el));
	waitpid($wpid, 0);
}

# a writer that opens and closes without writing: an empty file
{
	my ($rc, $out, $want) = psql("SELECT pcap_read('$fx/empty.pcap');");
	$want =~ s/.*?ERROR:\s+([^\n]*).*/$1/s;
	$want =~ s/"[^"]*"/"FILE"/;
	my $fifo = new_fifo('empty.fifo');
	my $wpid = fork();
	die "fork: $!\n" unless defined $wpid;
	if ($wpid == 0)
	{
		sleep(0.5);
		open(my $w, '>:raw', $fifo) or _exit(1);
		close($w);
		_exit(0);
	}
	push @children, $wpid;
	my $err;
	($rc, $out, $err) = psql("SELECT pcap_read('$fifo');");
	$err =~ s/.*?ERROR:\s+([^\n]*).*/$1/s;
	$err =~ s/"[^"]*"/"FILE"/;
	ok($want =~ /22P04/ && $err eq $want,
		"a FIFO whose writer closes without writing is an empty file ($err)");
	waitpid($wpid, 0);
}
