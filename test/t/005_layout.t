#!/usr/bin/perl
# The layout's promises: the decoder is plain C with no PostgreSQL headers
# and no process-wide side effects, builds alone with -Wall -Wextra -Werror
# as C99, and the Makefile parses where pg_config is not installed.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
chdir $top or die;
my $tmp = tempdir(CLEANUP => 1);
my @src = glob('src/decode/*.c src/decode/*.h');
ok(@src >= 6, 'decoder sources found: ' . scalar(@src));

for my $f (@src)
{
	open(my $fh, '<', $f) or die;
	my $text = join('', <$fh>);
	close($fh);
	# drop comments and strings before looking for calls
	$text =~ s{/\*.*?\*/}{}gs;
	$text =~ s{"(\\.|[^"\\])*"}{""}g;
	unlike($text, qr/#\s*include\s*[<"](postgres|fmgr|utils\/|access\/|catalog\/)/,
		"$f includes no PostgreSQL header");
	unlike($text, qr/\b(palloc|pfree|ereport|elog|longjmp|setjmp|exit|abort|printf|fprintf|puts)\s*\(/,
		"$f calls no palloc, ereport, longjmp, exit or printing function");
	unlike($text, qr/^static\s+(?!const\b|inline\b)[^(;]*=[^;]*;/m,
		"$f has no mutable static data");
}

for my $f (glob('src/decode/*.c'))
{
	my $out = `cc -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -c -o $tmp/x.o $f 2>&1`;
	is($?, 0, "$f builds alone with -std=c99 -Wall -Wextra -Werror") or diag($out);
}

my $out = `make -s -f Makefile PG_CONFIG=/nonexistent/pg_config all 2>&1`;
like($out, qr/pg_config not found/, 'the Makefile parses without pg_config and says what to do');

done_testing();
