#!/usr/bin/perl
#
# 077_interrupts.t
#	  A cancel reaches pcap_read and pcap_file_info wherever they wait or
#	  work without handing out a packet:
#	  1. a FIFO with no writer (open(2) would wait for one forever):
#	     statement_timeout, pg_cancel_backend and pg_terminate_backend end
#	     the wait; a writer that comes a second later is read to the end;
#	     a writer that opens and closes without writing is an empty file;
#	  2. long stretches without a packet: a pcapng stream of non-packet
#	     blocks, and salvage mode (on_error => 'skip') scanning garbage:
#	     statement_timeout ends them promptly, not when the file ends;
#	  3. inside the decoder (test/decode/hooks.c, on regular files): the
#	     loops that skip blocks, scan for a record in salvage mode (pcap
#	     and pcapng) and step over empty gzip members ask the caller's
#	     interrupted hook, and ask it cheaply.
#
# The files are generated here (nothing big is committed).  The timed
# files of 2. are gzip streams of many identical members, so that a few
# MB on disk hold seconds of work: a reader that does not ask for
# interrupts while it skips ended the statements after 3.2 s and 3.9 s
# (when the file ended); now they end 0.20 to 0.21 s after they start.
# The bound of 1.5 s sits well between, on a busy 2-core machine.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP, MIRAI_WORK,
# MIRAI_FIXTURES (the fixtures as this script sees them),
# MIRAI_FIXTURES_SQL (as the server sees them).
#
use strict;
use warnings;
use Digest::SHA qw(sha256);
use Fcntl qw(O_WRONLY O_NONBLOCK);
use IO::Compress::Gzip qw(gzip $GzipError);
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

plan tests => 33;

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

# ---- 2. long stretches without a packet, under statement_timeout ----

# An Ethernet / IPv4 / TCP frame (a Mirai SYN), and the containers.
my $frame = pack('H12 H12 n', '001122334455', '66778899aabb', 0x0800)
  . pack('C C n n n C C n a4 a4', 0x45, 0, 40, 1, 0, 64, 6, 0, pack('C4', 192, 0, 2, 1), pack('C4', 203, 0, 113, 7))
  . pack('n n N N C C n n n', 40512, 23, 0xcb007107, 0, 0x50, 0x02, 14600, 0, 0);
my $pcap_header = pack('V v v l V V V', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1);
my $pcap_record = pack('V V V V', 1734000000, 0, length($frame), length($frame)) . $frame;
my $shb_idb = pack('V V V v v q< V', 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
  . pack('V V v v V V', 1, 20, 1, 0, 65535, 20);
my $pad = "\0" x ((4 - length($frame) % 4) % 4);
my $epb_len = 32 + length($frame) + length($pad);
my $epb = pack('V V V V V V V', 6, $epb_len, 0, 0, 0, length($frame), length($frame))
  . $frame . $pad . pack('V', $epb_len);
# 1 MiB of non-packet blocks: name resolution (only its end record) and
# custom blocks, 16 bytes each
my $blocks_mib = (pack('V V v v V', 4, 16, 0, 0, 16) . pack('V V V V', 0xbad, 16, 32473, 16)) x 32768;
# 1 MiB of bytes that no pcap or pcapng scan takes for a record; and 1 MiB
# that looks random (4 kB of SHA-256 output, repeated, so that gzip still
# packs it 100 to 1, far below the reader's limit of 1000 to 1)
my $garbage_mib = "\xff" x (1 << 20);
my $noise_mib = join('', map { sha256("mirai_ext $_") } 1 .. 128) x 256;

sub gz
{
	my ($data) = @_;
	my $z;
	gzip(\$data => \$z) or die "gzip: $GzipError\n";
	return $z;
}

{
	# 3 GiB of blocks in 3072 gzip members (8 MB): skipped in about 3 s
	my $f = "$dir/blocks.pcapng.gz";
	my $member = gz($blocks_mib);
	spew($f, gz($shb_idb) . ($member x 3072) . gz($epb));
	my ($el, $err) = timed_out("SELECT count(*) FROM (SELECT pcap_read('$f')) s;");
	like($err, qr/57014: canceling statement due to statement timeout/,
		'pcapng of 3 GiB of non-packet blocks: statement_timeout cancels (57014)');
	ok($el < 1.5, sprintf('... within %.2f s of a 200 ms timeout (bound 1.5 s; the whole file takes about 3 s)', $el));
	($el, $err) = timed_out("SELECT records FROM pcap_file_info('$f');");
	like($err, qr/57014: canceling statement due to statement timeout/,
		'... the same in pcap_file_info (57014)');
	ok($el < 1.5, sprintf('... within %.2f s (bound 1.5 s)', $el));
}

{
	# a good record, then 500 MiB of garbage in 500 gzip members (5 MB):
	# salvage mode scans it in about 3.5 s
	my $f = "$dir/garbage.pcap.gz";
	my $member = gz($noise_mib);
	spew($f, gz($pcap_header . $pcap_record) . ($member x 500));
	my ($el, $err) = timed_out("SELECT count(*) FROM (SELECT pcap_read('$f', on_error => 'skip')) s;");
	like($err, qr/57014: canceling statement due to statement timeout/,
		"on_error => 'skip' scanning 500 MiB of garbage: statement_timeout cancels (57014)");
	ok($el < 1.5, sprintf('... within %.2f s of a 200 ms timeout (bound 1.5 s; the whole file takes about 3.5 s)', $el));
}

# ---- 3. inside the decoder: which loops ask the hook ----
my $hooks = "$dir/hooks";
my $cc_out = `cc -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I'$top/src/decode' -o '$hooks' '$top/test/decode/hooks.c' '$top/src/decode/mx_reader.c' '$top/src/decode/mx_error.c' -lz 2>&1`;
is($?, 0, 'test/decode/hooks.c builds with the reader') or diag($cc_out);

my %plain = (
	'blocks.pcapng' => [$shb_idb . ($blocks_mib x 8) . $epb, '', 'skipping non-packet pcapng blocks'],
	'garbage.pcap' => [$pcap_header . $pcap_record . ($garbage_mib x 8), 'skip', 'salvage: scanning for a pcap record'],
	'garbage.pcapng' => [$shb_idb . $epb . ($garbage_mib x 8), 'skip', 'salvage: scanning for a pcapng block'],
	'members.pcap.gz' => [gz($pcap_header . $pcap_record)
		  . (pack('H*', '1f8b080000000000000303000000000000000000') x 419430), '',
		'stepping over empty gzip members'],
);
for my $name (sort keys %plain)
{
	my ($data, $mode, $what) = @{ $plain{$name} };
	my $f = "$dir/$name";
	spew($f, $data);
	my $size = -s $f;
	# yes from the fourth question on (the first three come before the
	# stretch, in a gzip file): in the middle of the stretch
	my $yes = `'$hooks' '$f' 4 $mode 2>&1`;
	my $no = `'$hooks' '$f' 0 $mode 2>&1`;
	my ($at) = ($yes =~ /input=(\d+)/);
	ok($yes =~ /asked=4 status=i\/o error errnum=4 / && defined $at && $at < $size / 2,
		"$what ($name, 8 MiB): the hook is asked, and the read stops at byte "
		  . ($at // '?') . ' (EINTR)')
	  or diag($yes);
	my ($asked) = ($no =~ /asked=(\d+)/);
	ok($no =~ /^records=1 .*status=end / && defined $asked && $asked >= 4 && $asked <= $size / 16384,
		"... answered no, the read goes on to its one packet, asking "
		  . ($asked // '?') . " times (at least 4, at most one question per 16 kB)")
	  or diag($no);
}
