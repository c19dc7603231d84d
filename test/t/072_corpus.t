#!/usr/bin/perl
#
# 072_corpus.t
#	  The crafted corpus (test/corpus/) against the server: for every file in
#	  the table of test/corpus/README.md, pcap_read gives the documented
#	  outcome (an ERROR with that SQLSTATE, naming the file, the packet, the
#	  byte offset and the field, with the documented message; a WARNING and
#	  the packets it keeps; the NOTICE of the frames skipped, naming the
#	  first malformed packet's field, and the packets; or the packets and
#	  no warning), and the server stays up: the
#	  backend's pid is the same before and after each file, all in one
#	  session, and the postmaster was not restarted.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP,
# MIRAI_FIXTURES_SQL (the fixtures as the server sees them; fixtures.sh
# copies the corpus to its corpus/ subdirectory), MIRAI_WORK.
#
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $fx = $ENV{MIRAI_FIXTURES_SQL} // 'mirai_fixtures';
my $work = $ENV{MIRAI_WORK} // '/tmp';

# The table: file | what is wrong | SQLSTATE | field | message | outcome
my @rows;
open(my $rd, '<', "$top/test/corpus/README.md") or die "README.md: $!\n";
while (<$rd>)
{
	next unless /^\| `([^`]+)` \| (.*?) \| (\w{5}) \| `([^`]+)` \| (.*?) \| (error|warning \d+|notice \d+|ok \d+) \|$/;
	push @rows, { file => $1, what => $2, state => $3, field => $4, msg => $5, outcome => $6 };
}
close($rd);
my @files = grep { -f $_ } glob("$top/test/corpus/*.pcap $top/test/corpus/*.pcapng $top/test/corpus/*.gz");

plan tests => 3 + 2 * @rows;

# a database of our own, so that TAP tests do not meet
my $db = 'mirai_t072';
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create a database with the extension');
$ENV{PGDATABASE} = $db;
END { system("dropdb --if-exists $db >/dev/null 2>&1") if defined $db; }

is(scalar(@rows), scalar(@files), 'the README table has a row for every corpus file');
ok(@rows >= 60, 'the corpus covers the decoder\'s errors and rules (' . scalar(@rows) . ' files)');

# One psql session; progress markers and results go to stderr with the
# errors (\warn), so that their order is kept.
my $script = "$work/072_corpus.sql";
open(my $sq, '>', $script) or die "$script: $!\n";
print $sq "\\set VERBOSITY verbose\n";
print $sq "SELECT pg_postmaster_start_time() AS t0 \\gset\n";
print $sq "SELECT pg_backend_pid() AS pid \\gset\n\\warn pid :pid\n";
for my $r (@rows)
{
	print $sq "\\unset n\n\\warn @@@ $r->{file}\n";
	print $sq "SELECT count(*) AS n FROM pcap_read('$fx/corpus/$r->{file}') \\gset\n";
	print $sq "\\warn count :n\n";
	print $sq "SELECT pg_backend_pid() AS pid \\gset\n\\warn pid :pid\n";
}
print $sq "SELECT pg_postmaster_start_time() = :'t0' AS same_start \\gset\n\\warn same_start :same_start\n";
close($sq);

my $out = `psql -X -q -v ON_ERROR_STOP=0 -f '$script' 2>&1`;
my @parts = split(/^@@@ /m, $out);
my ($first_pid) = ($parts[0] =~ /^pid (\d+)$/m);
my $pid = $first_pid;
my %seen;
for my $p (@parts[1 .. $#parts])
{
	my ($file) = ($p =~ /^(\S+)/);
	$seen{$file} = $p;
}
for my $r (@rows)
{
	my $p = $seen{$r->{file}} // '';
	my $name = "$r->{file}: $r->{what}";
	my ($n) = ($p =~ /^count (\S+)$/m);
	my ($after) = ($p =~ /^pid (\d+)$/m);
	if ($r->{outcome} eq 'error')
	{
		my ($state, $msg) = ($p =~ /ERROR:  (\w{5}): (.*)$/m);
		my ($detail) = ($p =~ /DETAIL:  (.*)$/m);
		my $ok = defined $state && $state eq $r->{state}
		  && index($msg, $r->{msg}) >= 0
		  && index($msg, "\"$fx/corpus/$r->{file}\"") >= 0
		  && (($detail // '') =~ /^(In the file header|At packet \d+), (at )?byte offset \d+, field \Q$r->{field}\E\./)
		  && $n eq ':n';
		ok($ok, "$name: ERROR $r->{state}, field $r->{field}")
		  or diag($p);
	}
	elsif ($r->{outcome} =~ /^ok (\d+)/)
	{
		ok($n eq $1 && $p !~ /ERROR|WARNING/, "$name: read cleanly, $1 packets")
		  or diag($p);
	}
	elsif ($r->{outcome} =~ /^notice (\d+)/)
	{
		my $kept = $1;
		my ($msg) = ($p =~ /NOTICE:  00000: (.*)$/m);
		my ($detail) = ($p =~ /NOTICE:  .*\nDETAIL:  (.*)$/m);
		my $ok = defined $msg && index($msg, "\"$fx/corpus/$r->{file}\"") >= 0
		  && ($detail // '') =~ /malformed \d+\..* \Q$r->{msg}\E, field \Q$r->{field}\E\.$/
		  && $p !~ /ERROR|WARNING/ && defined $n && $n eq $kept;
		ok($ok, "$name: NOTICE naming field $r->{field}, $kept packets kept")
		  or diag($p);
	}
	else
	{
		my ($kept) = ($r->{outcome} =~ /(\d+)/);
		my ($state, $msg) = ($p =~ /WARNING:  (\w{5}): (.*)$/m);
		my ($detail) = ($p =~ /DETAIL:  (.*)$/m);
		my $ok = defined $state && $state eq $r->{state}
		  && index($msg, "\"$fx/corpus/$r->{file}\"") >= 0
		  && index($msg, $r->{msg}) >= 0
		  && ($detail // '') =~ /^At record \d+, byte offset \d+, field \Q$r->{field}\E\./
		  && defined $n && $n eq $kept;
		ok($ok, "$name: WARNING $r->{state}, $kept packets kept")
		  or diag($p);
	}
	ok(defined $after && defined $pid && $after == $pid, "$r->{file}: same backend after it (pid "
		  . ($pid // '?') . ')')
	  or diag($p);
}
like($out, qr/^same_start t$/m, 'the postmaster was not restarted');
