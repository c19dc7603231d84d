#!/usr/bin/perl
#
# 001_install.t
#	  The test cluster runs the extension this run built: test/run.sh
#	  installs it into a private tree (MIRAI_WORK/root) read through
#	  Debian's extension_destdir, and a backend that loads it maps the
#	  library from there, not an older one of the system's.
#
use strict;
use warnings;
use Test::More;

my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my $db = 'mirai_t001';
system("dropdb --if-exists $db >/dev/null 2>&1; createdb $db") == 0 or BAIL_OUT("createdb $db failed");
my $maps = `psql -X -A -t -d $db -c 'CREATE EXTENSION mirai_ext' -c "SELECT pg_read_file('/proc/self/maps')" 2>&1`;
my ($lib) = $maps =~ m{(\S*/mirai_ext\.so)$}m;
ok(defined $lib, 'a backend that created the extension maps mirai_ext.so') or diag($maps);
like($lib // '', qr{^\Q$work\E/root/}, "... from the run's private tree ($work/root)");
is(`psql -X -A -t -d $db -c "SELECT extversion FROM pg_extension WHERE extname = 'mirai_ext'"`,
	`sed -n "s/^default_version = '\\(.*\\)'/\\1/p" $ENV{MIRAI_TOP}/mirai_ext.control`,
	'the version installed is the control file\'s');
system("dropdb $db");
done_testing();
