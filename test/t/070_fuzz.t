#!/usr/bin/perl
#
# 070_fuzz.t
#	  The fuzz targets of test/fuzz/ in the default test run:
#	  1. they build with clang -fsanitize=fuzzer,address,undefined (Debian
#	     clang + libclang-rt-14-dev; test/deps.sh installs them): if they do
#	     not, this test FAILS, it does not skip;
#	  2. each runs a short smoke run from its committed corpus (seconds
#	     each; `make fuzz` runs them for long) and finds no crash;
#	  3. the replay programs (gcc with ASan and UBSan, no libFuzzer) replay
#	     every committed input: the seed corpora, the inputs fuzzing found,
#	     and for the reader the crafted corpus of test/corpus/.
#
# Environment: MIRAI_TOP (repository), MIRAI_WORK (scratch; binaries and
# work corpora go to MIRAI_WORK/fuzz).  FUZZ_SMOKE_SECONDS overrides the
# seconds per target (default 8).
#
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $work = ($ENV{MIRAI_WORK} // '/tmp') . '/fuzz';
my $secs = $ENV{FUZZ_SMOKE_SECONDS} // 8;
my @targets = qw(reader text recv entries);

plan tests => 1 + 2 * @targets + 1;

chdir($top) or die "cd $top: $!\n";
$ENV{FUZZ_OUT} = $work;


system("mkdir -p '$work'");
my ($rc, $log) = run_mode("$work/build.log", "build");
ok($rc == 0 && -x "$work/reader" && -x "$work/reader_replay",
	'fuzzers build with clang -fsanitize=fuzzer,address,undefined, replay with gcc')
  or diag($log);
# the same command line with the mode last
sub run_mode
{
	my ($log, $mode, @env) = @_;
	system(join(' ', @env, 'FUZZ_NOBUILD=1', 'sh', 'test/fuzz/run.sh', $mode) . " >'$log' 2>&1");
	my $rc = $? >> 8;
	open(my $fh, '<', $log) or return ($rc, '');
	local $/;
	my $text = <$fh>;
	return ($rc, $text);
}

for my $t (@targets)
{
	my ($rc, $log) = run_mode("$work/smoke-$t.out", 'smoke', "FUZZ_TARGETS=$t",
		"FUZZ_SECONDS=$secs");
	my ($stats) = ($log =~ /^(#\d+\s+DONE.*)$/m);
	my $crashes = () = glob("$work/crash-$t-*");
	ok($rc == 0 && defined $stats && $crashes == 0,
		"fuzz $t for ${secs}s: no crash" . (defined $stats ? " ($stats)" : ''))
	  or diag($log);
}

my $committed = 0;
for my $t (@targets)
{
	my @inputs = grep { -f } glob("$top/test/fuzz/corpus/$t/*");
	push @inputs, grep { -f } glob("$top/test/corpus/*") if $t eq "reader";
	$committed += @inputs;
	my ($rc, $log) = run_mode("$work/replay-$t.out", 'replay', "FUZZ_TARGETS=$t");
	my ($n) = ($log =~ /replayed (\d+) inputs/);
	ok($rc == 0 && defined $n && $n == @inputs,
		"replay $t: all " . scalar(@inputs) . " committed inputs run clean under ASan/UBSan")
	  or diag($log);
}
ok($committed > 100, "the committed corpora hold $committed inputs");
