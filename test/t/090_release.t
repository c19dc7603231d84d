#!/usr/bin/perl
# Released versions are immutable and upgradable.
#
# test/upgrade/mirai_ext--V.sql is the frozen install script of each
# released version V.  The script the Makefile builds for the current
# version must equal its frozen copy once that version is released (a
# changed SQL object needs a new version and an upgrade script).  Every
# older frozen version is installed (the Makefile installs the frozen
# scripts of older versions), given data, updated with ALTER EXTENSION
# UPDATE, and must then read its stored packets back the same and have the
# same objects as a fresh install of the current version.
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my ($current) = `sed -n "s/^default_version = '\\(.*\\)'/\\1/p" $top/mirai_ext.control` =~ /(\S+)/;
ok(defined $current, "current version: $current");

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	return <$fh>;
}

my %frozen = map { /--([^-]+)\.sql$/ ? ($1 => $_) : () } glob("$top/test/upgrade/mirai_ext--*.sql");
ok(exists $frozen{$current}, "the current version $current is frozen in test/upgrade/");
my $built = slurp("$top/sql/mirai_ext--$current.sql");
ok(defined $built && defined $frozen{$current} && $built eq slurp($frozen{$current}),
	"the install script built from src/sql/ equals the frozen $current script");

# objects of the extension, as pg_describe_object lists them
sub objects
{
	my ($db) = @_;
	return `psql -X -A -t -d $db -c "SELECT pg_describe_object(classid, objid, 0) FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mirai_ext') AND deptype = 'e' ORDER BY 1"`;
}

my $sample = "'2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54'";
system("dropdb --if-exists mirai_t090_fresh >/dev/null 2>&1; createdb mirai_t090_fresh");
system("psql -X -q -d mirai_t090_fresh -c 'CREATE EXTENSION mirai_ext'") == 0 or BAIL_OUT('CREATE EXTENSION failed');
my $fresh = objects('mirai_t090_fresh');

for my $v (sort grep { $_ ne $current } keys %frozen)
{
	my $db = "mirai_t090_$v";
	$db =~ s/\W/_/g;
	system("dropdb --if-exists $db >/dev/null 2>&1; createdb $db");
	is(system("psql -X -q -d $db -c \"CREATE EXTENSION mirai_ext VERSION '$v'\""), 0, "install $v");
	system("psql -X -q -d $db -c \"CREATE TABLE t (p packet); INSERT INTO t VALUES ($sample)\"");
	my $before = `psql -X -A -t -d $db -c 'SELECT p FROM t'`;
	is(system("psql -X -q -d $db -c 'ALTER EXTENSION mirai_ext UPDATE'"), 0, "update $v to $current");
	is(`psql -X -A -t -d $db -c 'SELECT p FROM t'`, $before, "$v: stored packets read back the same");
	is(objects($db), $fresh, "$v updated has the objects of a fresh $current");
	system("dropdb $db");
}
system('dropdb mirai_t090_fresh');
done_testing();
