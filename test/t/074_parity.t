#!/usr/bin/perl
#
# 074_parity.t
#	  mirai_load and pcap_read read every capture file the same way, since
#	  both are adapters of one packet stream (src/decode/mx_stream.c): for
#	  every fixture and every corpus file, in both modes (strict, and
#	  on_error => 'skip' / --on-error=skip), the packets mirai_load loads
#	  are the packets pcap_read returns, in the same order, and what each
#	  says about the file is the same, word for word: its ERROR, its
#	  WARNINGs and its NOTICE (mirai_load -v prints notices), with the
#	  file's name as each was given it.  mirai_load reads every file in
#	  one run per mode, one transaction a file.  Captures one after another on a
#	  pipe are one stream to both.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP, MIRAI_LOAD,
# MIRAI_FIXTURES, MIRAI_FIXTURES_SQL, MIRAI_WORK.
#
use strict;
use warnings;
use Cwd qw(realpath);
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell qw(slurp spew);

my $load = $ENV{MIRAI_LOAD} || 'src/bin/mirai_load';
my $fx = $ENV{MIRAI_FIXTURES};
my $fxsql = $ENV{MIRAI_FIXTURES_SQL} // 'mirai_fixtures';
my $work = ($ENV{MIRAI_WORK} // '/tmp') . '/074_parity';

plan skip_all => 'not inside the test cluster (MIRAI_FIXTURES, MIRAI_WORK)'
  unless $fx && -x $load;

system("mkdir -p '$work'") == 0 or die;
my $db = 'mirai_t074';
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create a database with the extension');
$ENV{PGDATABASE} = $db;
END { system("dropdb --if-exists $db >/dev/null 2>&1") if defined $db; }

# every capture the tests read: the fixtures and the corpus
my @files;
for my $sub ('', 'corpus/')
{
	opendir(my $dh, "$fx/$sub") or die "$fx/$sub: $!";
	push @files, map { "$sub$_" } sort grep {
		-f "$fx/$sub$_" && !/\.(counts|mmdb)$/
	} readdir($dh);
	closedir($dh);
}
my @modes = ('error', 'skip');
my @runs = map { my $f = $_; map { [ $f, $_ ] } @modes } @files;

# The messages of one reader, in order: [level, text, detail], the file's
# name replaced by FILE.
sub messages
{
	my ($text, $name, $loader) = @_;
	my @m;
	for my $line (split /\n/, $text)
	{
		$line =~ s/^psql:[^:]*:\d+: //;	# where in the script psql was
		if ($loader ? $line =~ /^mirai_load: (error|warning|notice): (.*)$/
			: $line =~ /^(ERROR|WARNING|NOTICE):  (.*)$/)
		{
			push @m, [ lc $1, $2, '' ];
		}
		elsif ($line =~ /^DETAIL:  (.*)$/ && @m && $m[-1][2] eq '')
		{
			$m[-1][2] = $1;
		}
	}
	for my $m (@m)
	{
		$m->[1] =~ s/"\Q$name\E"/"FILE"/g;
		$m->[2] =~ s/"\Q$name\E"/"FILE"/g;
	}
	return map { join(' | ', @$_) } @m;
}

# ---- pcap_read: one session; each file's packets to a file of its own ----
my $script = "$work/read.sql";
open(my $sq, '>', $script) or die;
print $sq "\\set VERBOSITY default\n\\pset format unaligned\n\\pset tuples_only on\n";
for my $i (0 .. $#runs)
{
	my ($f, $mode) = @{ $runs[$i] };
	print $sq "\\warn @@@ $i\n\\o $work/sql.$i\n";
	print $sq "SELECT p FROM pcap_read('$fxsql/$f', on_error => '$mode') AS p;\n\\o\n";
}
print $sq "\\warn @@@ end\n";
close($sq);
my $log = `psql -X -q -v ON_ERROR_STOP=0 -f '$script' 2>&1`;
my %sqlmsg;
for my $part (split(/^@@@ /m, $log))
{
	$sqlmsg{$1} = $2 if $part =~ /^(\d+)\n(.*)/s;
	$sqlmsg{$1} //= '' if $part =~ /^(\d+)$/;
}

# ---- mirai_load: every file in one run per mode ---------------------------
# Each file is its own transaction, with its ledger row: the rows of a file
# are those whose xmin is its ledger row's; n numbers them in the order
# mirai_load sent them.  Each message names its file.
my (%loadrows, %loadmsg);
for my $mode (@modes)
{
	my $t = "loaded_$mode";
	system("psql -X -q -c 'CREATE TABLE $t (n bigserial, p packet)'") == 0 or die;
	my $err = `'$load' -v --force -d dbname=$db -t $t -c p @{[ $mode eq 'skip' ? '--on-error=skip' : '' ]} @{[ map { "'$fx/$_'" } @files ]} 2>&1 >/dev/null`;
	# the messages, each with its DETAIL line
	my @lines = split /\n/, $err;
	for (my $i = 0; $i < @lines; $i++)
	{
		next unless $lines[$i] =~ /^mirai_load: (error|warning|notice): [^"]*"([^"]*)"/;
		my ($name, $text) = ($2, $lines[$i] . "\n");
		$text .= $lines[++$i] . "\n" if $i + 1 < @lines && $lines[$i + 1] =~ /^DETAIL:  /;
		$loadmsg{"$name\0$mode"} .= $text;
	}
	my $rows = `psql -X -A -t -F '|' -c "SELECT l.file_name, t.p FROM $t t JOIN mirai_load_ledger l ON l.xmin = t.xmin AND l.tbl = '$t'::regclass ORDER BY t.n"`;
	die "psql failed" if $?;
	for my $line (split /\n/, $rows)
	{
		my ($name, $p) = split /\|/, $line, 2;
		$loadrows{"$name\0$mode"} .= "$p\n";
	}
}

# ---- compare ------------------------------------------------------------
my ($same_packets, $same_words, $read, $failed, $warned, $noticed) = (0, 0, 0, 0, 0, 0);
for my $i (0 .. $#runs)
{
	my ($f, $mode) = @{ $runs[$i] };
	my @theirs = messages($sqlmsg{$i} // '', "$fxsql/$f", 0);
	my $real = realpath("$fx/$f");
	my @mine = messages($loadmsg{"$fx/$f\0$mode"} // '', "$fx/$f", 1);
	my $sqlrows = slurp("$work/sql.$i");
	my $loadrows = $loadrows{"$real\0$mode"} // '';
	my $error = grep { /^error/ } @theirs;
	if ($error)
	{
		# an ERROR: no rows from pcap_read, none stay from mirai_load
		$sqlrows = '';
		$failed++;
	}
	else
	{
		$read++;
	}
	$warned++ if grep { /^warning/ } @theirs;
	$noticed++ if grep { /^notice/ } @theirs;
	if ($sqlrows eq $loadrows)
	{
		$same_packets++;
	}
	else
	{
		diag("$f ($mode): mirai_load loaded other packets than pcap_read returns");
	}
	if ("@theirs" eq "@mine" && (!$error || grep { /^error/ } @mine))
	{
		$same_words++;
	}
	else
	{
		diag("$f ($mode): the words differ\npcap_read:\n  " . join("\n  ", @theirs)
			  . "\nmirai_load:\n  " . join("\n  ", @mine));
	}
}
my $n = scalar @runs;
ok(@files >= 90, scalar(@files) . ' files: the fixtures and the corpus');
is($same_packets, $n, "mirai_load loads the packets pcap_read returns, in both modes ($read reads, $failed failures)");
is($same_words, $n, "mirai_load says what pcap_read says: the same errors, warnings ($warned reads) and notices ($noticed reads)");
ok($failed > 20 && $warned > 20 && $noticed > 40, 'the runs cover errors, warnings and notices');

# ---- a pipe of captures one after another ---------------------------------
{
	my $count = sub { my ($f) = @_; `psql -X -A -t -c "SELECT count(*) FROM pcap_read('$fxsql/$f')" 2>/dev/null` + 0 };
	my $want = $count->('ether.pcap.gz') + $count->('mixed.pcapng.gz') + $count->('ether_ns_be.pcap');
	system("psql -X -q -c 'CREATE TABLE piped (p packet)'");
	my $err = `(zcat '$fx/ether.pcap.gz' '$fx/mixed.pcapng.gz'; cat '$fx/ether_ns_be.pcap') | '$load' -q -d dbname=$db -t piped - 2>&1`;
	my $got = `psql -X -A -t -c 'SELECT count(*) FROM piped'` + 0;
	ok($? == 0 && $got == $want && $err eq '',
		"zcat a.pcap.gz b.pcapng.gz; cat c.pcap | mirai_load -: one stream, $want packets")
	  or diag("$got packets: $err");
}

# ---- salvage mode through a descriptor, records longer than the snaplen ---
# 20000 records of 100 bytes in a file whose snapshot length is 64: every
# record is cut to 64 bytes, none is damage, also where a record straddles
# the edge of the reader's window (1 MiB) while salvage mode looks at the
# header after it
{
	my $cut = "$work/cut.pcap";
	open(my $fh, '>:raw', $cut) or die;
	print $fh pack('V v v V V V V', 0xa1b2c3d4, 2, 4, 0, 0, 64, 1);
	for my $i (1 .. 20000)
	{
		my $ip = pack('C C n n n C C n a4 a4', 0x45, 0, 86, $i & 0xffff, 0, 64, 6, 0,
			pack('C4', 198, 51, 100, $i % 250 + 1), pack('C4', 203, 0, 113, 7));
		my $tcp = pack('n n N N C C n n n', 40000 + $i % 1000, 23, 0xcb007107, 0, 5 << 4, 2, 14600, 0, 0);
		my $frame = pack('H12 H12 n', '020000000001', '020000000002', 0x0800) . $ip . $tcp . ("\0" x 46);
		print $fh pack('V V V V', 1734134400 + $i, $i, length($frame), length($frame)) . $frame;
	}
	close($fh);
	chmod 0644, $cut;
	my $err = `'$load' -n --on-error=skip '$cut' 2>&1`;
	my ($n) = $err =~ /(\d+) packets decoded/;
	ok(($n // 0) == 20000 && $err !~ /damaged/,
		'salvage mode through a descriptor: 20000 records longer than the snapshot length are read, cut, none taken for damage')
	  or diag(join("\n", grep { !/cut a record|Its first/ } split /\n/, $err));
	my $sql = `psql -X -A -t -c "SELECT count(*) FROM pcap_read('$cut', on_error => 'skip')" 2>&1`;
	ok($sql =~ /^20000$/m && $sql !~ /damaged/, 'pcap_read(..., on_error => \'skip\') reads them all too')
	  or diag($sql);
}

done_testing();
