#!/usr/bin/perl
# README's examples run as written, in order, in a database "honeypot":
#
#   ```sql   run with psql in that database, each block in its own session;
#            it must succeed, and when the next block is ```text (nothing but
#            blank lines between), the session's output must be that text
#   ```sh    run with sh -e from the top of the repository, with the built
#            tools first in PATH; it must succeed
#   ```text  output, or a query for another program (Grafana): not run
#   ```LANG norun: WHY   not run, and says why (installs packages, needs a
#            capture interface)
#
# The one change made to the examples: "/tmp/" is this run's directory, so
# that runs at the same time do not share the sample's copies.
# The sample capture the quick start reads is also made again with the
# command test/data/README.md gives, and must come out byte for byte.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Compare qw(compare);

my $top  = $ENV{MIRAI_TOP} // '.';
my $work = tempdir('readme.XXXXXX', DIR => $ENV{MIRAI_WORK} // '/tmp', CLEANUP => 1);
chmod 0755, $work;

open(my $fh, '<', "$top/README.md") or die "README.md: $!";
my @lines = <$fh>;
close($fh);

# the fenced blocks, with the line each starts on and what follows it
my @blocks;
for (my $i = 0; $i < @lines; $i++)
{
	next unless $lines[$i] =~ /^```(\S*)\s*(.*?)\s*$/;
	my ($lang, $info, $start, $body) = ($1, $2, $i + 1, '');
	$i++;
	while ($i < @lines && $lines[$i] !~ /^```\s*$/)
	{
		$body .= $lines[$i++];
	}
	die "README.md: block at line $start is not closed\n" if $i >= @lines;
	my $j = $i + 1;
	$j++ while $j < @lines && $lines[$j] =~ /^\s*$/;
	push @blocks, { lang => $lang, info => $info, line => $start, body => $body,
		next_line => $j };
}
ok(@blocks > 20, 'README has ' . scalar(@blocks) . ' fenced blocks');

my @unknown = grep { $_->{lang} !~ /^(sql|sh|text)$/ } @blocks;
is(join(', ', map { "line $_->{line}: $_->{lang}" } @unknown), '',
	'every block is sql, sh or text');
my @unexplained = grep { $_->{info} ne '' && $_->{info} !~ /^norun: \S/ } @blocks;
is(join(', ', map { "line $_->{line}: $_->{info}" } @unexplained), '',
	'every block that is not run says why ("norun: ...")');

# the expected output of a block: the ```text block right after it
my %starts = map { $_->{line} - 1 => $_ } @blocks;
for my $b (@blocks)
{
	my $n = $starts{ $b->{next_line} };
	$b->{expect} = $n->{body} if $n && $n->{lang} eq 'text' && $b->{lang} eq 'sql';
}

sub here { my ($s) = @_; $s =~ s{/tmp/}{$work/}g; return $s; }

$ENV{PATH} = "$top/src/bin:$ENV{PATH}";
$ENV{PGTZ} = 'UTC';
system("dropdb --if-exists honeypot >/dev/null 2>&1; psql -X -q -c 'DROP ROLE IF EXISTS grafana' >/dev/null 2>&1");

my ($ran_sql, $ran_sh) = (0, 0);
for my $b (@blocks)
{
	next if $b->{lang} eq 'text';
	if ($b->{info} =~ /^norun: (.*)/)
	{
		note("README line $b->{line}: not run ($1)");
		next;
	}
	my $code = here($b->{body});
	my $file = "$work/block.$b->{line}";
	open(my $out, '>', $file) or die "$file: $!";
	print $out $code;
	close($out);
	my $first = (split /\n/, $b->{body})[0];
	if ($b->{lang} eq 'sh')
	{
		my $output = `cd '$top' && sh -e '$file' 2>&1`;
		is($?, 0, "README line $b->{line} runs: $first") or diag($output);
		$ran_sh++;
		next;
	}
	my $output = `psql -X -d honeypot -v ON_ERROR_STOP=1 -f '$file' 2>&1`;
	my $status = $?;
	$output =~ s/^psql:[^:\n]*:\d+: //mg;
	if (defined $b->{expect})
	{
		my $want = here($b->{expect});
		my $fails = $want =~ /^ERROR:/m;
		ok($fails ? $status != 0 : $status == 0,
			"README line $b->{line} " . ($fails ? 'fails as shown' : 'runs') . ": $first");
		is($output, $want, "README line $b->{line} gives the output shown below it");
	}
	else
	{
		is($status, 0, "README line $b->{line} runs: $first") or diag($output);
	}
	$ran_sql++;
}
cmp_ok($ran_sql, '>=', 15, "$ran_sql SQL blocks ran");
cmp_ok($ran_sh, '>=', 3, "$ran_sh shell blocks ran");

system("dropdb honeypot; psql -X -q -c 'DROP ROLE grafana'");

# the sample capture is what the command in test/data/README.md makes
open($fh, '<', "$top/test/data/README.md") or die "test/data/README.md: $!";
my $data_readme = join('', <$fh>);
close($fh);
my ($cmd) = $data_readme =~ /^ {4}(src\/bin\/mirai_gen .*?[^\\])\n/ms;
ok(defined $cmd, 'test/data/README.md gives the command that made the sample');
SKIP:
{
	skip 'no command', 2 unless defined $cmd;
	$cmd =~ s/\\\n\s*/ /g;
	# write into this run's directory, read the schedule from the repository
	mkdir("$work/gen");
	$cmd =~ s{-o test/data/}{-o $work/gen/};
	$cmd =~ s{2> test/data/}{2> $work/gen/};
	system("cd '$top' && $cmd");
	is(compare("$work/gen/sample.pcap.gz", "$top/test/data/sample.pcap.gz"), 0,
		'the generator makes sample.pcap.gz again, byte for byte');
	is(compare("$work/gen/sample.counts", "$top/test/data/sample.counts"), 0,
		'and the same counts');
}

# the documentation speaks of the software, not of how it was made
my @docs = grep { !m{^\.git/} } split /\n/, `cd '$top' && git ls-files '*.md' 2>/dev/null`;
my @history;
for my $doc (@docs)
{
	open(my $d, '<', "$top/$doc") or next;
	while (my $l = <$d>)
	{
		push @history, "$doc:$.: $1"
		  if $l =~ /(\b(?:the issue|this session|an engineer|engineers)\b|\bcommit "?[0-9a-f]{7,40}\b|\bcommit "[^"]+")/i;
	}
	close($d);
}
is(join("\n", @history), '', 'no document (' . scalar(@docs) . ') speaks of issues, sessions, engineers or commits');

done_testing();
