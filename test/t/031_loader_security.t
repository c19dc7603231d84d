#!/usr/bin/perl
#
# 031_loader_security.t
#	  mirai_load among roles that do not trust each other:
#	  - operators planted in schema public by another role never run inside
#	    mirai_load's own queries (catalog and ledger), while the COPY keeps
#	    the loading role's search_path for the table's triggers;
#
# Environment (set by test/run.sh inside pg_virtualenv): MIRAI_LOAD,
# MIRAI_FIXTURES (client paths), MIRAI_FIXTURES_SQL (the same files as the
# server opens them), MIRAI_WORK, PGHOST/PGPORT/PGUSER/PGPASSWORD.
#
# test/t/031_loader_security.t
#
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);

my $load = $ENV{MIRAI_LOAD} || 'src/bin/mirai_load';
my $fx = $ENV{MIRAI_FIXTURES};
my $fxsql = $ENV{MIRAI_FIXTURES_SQL};
my $work = $ENV{MIRAI_WORK};

plan skip_all => 'not inside the test cluster (MIRAI_FIXTURES, MIRAI_WORK)'
  unless $fx && $fxsql && $work && -x $load;

my $db = 'mirai_t031';
my $dir = "$work/loader_security";
mkdir $dir or die "mkdir $dir: $!";
chmod 0755, $dir;

# the roles: the table's owner, a role with INSERT only, a hostile role
# with INSERT, and a role that may only SELECT
my %pw = (
	mirai_t031_owner => 'Owner-pw-1',
	mirai_t031_loader => 'Loader-pw-2',
	mirai_t031_mallory => 'Mallory-pw-3',
	mirai_t031_reader => 'Reader-pw-4');
my ($owner, $loader, $mallory, $reader) =
  qw(mirai_t031_owner mirai_t031_loader mirai_t031_mallory mirai_t031_reader);

# Quote one word for sh.
sub shq
{
	my ($s) = @_;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

# Read a whole file.
sub slurp
{
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or return '';
	local $/;
	my $d = <$fh>;
	close($fh);
	return $d // '';
}

# Write a whole file.
sub spew
{
	my ($f, $d) = @_;
	open(my $fh, '>:raw', $f) or die "cannot write $f: $!";
	print $fh $d;
	close($fh);
}

# An SQL string literal.
sub sql_lit
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# Run SQL as the superuser, or as $role over TCP with its password;
# returns trimmed output (dies on error).
sub sql
{
	my ($q, %o) = @_;
	my $dbname = $o{db} // $db;
	my $qf = "$dir/q.sql";
	spew($qf, $q);
	my $conn = $o{role}
	  ? shq("host=localhost dbname=$dbname user=$o{role} password=$pw{$o{role}}")
	  : $dbname;
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -d $conn -f $qf 2>$dir/q.err`;
	die "psql failed: $q\n$out" . slurp("$dir/q.err") if $? != 0;
	$out =~ s/\s+\z//;
	return $out;
}

# Run a shell command line; returns (exit status, stdout, stderr).
my $runno = 0;

sub run
{
	my ($cmd) = @_;
	$runno++;
	my ($o, $e) = ("$dir/run$runno.out", "$dir/run$runno.err");
	system("$cmd >$o 2>$e");
	my $rc = $? == -1 ? 255 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
	return ($rc, slurp($o), slurp($e));
}

# mirai_load as $role (password from PGPASSWORD), arguments shell-quoted.
sub ml_as
{
	my ($role, $args, %o) = @_;
	my $dbname = $o{db} // $db;
	my $pre = $o{stdin} ? "cat $o{stdin} | " : '';
	return run("${pre}PGPASSWORD=" . shq($pw{$role}) . ' ' . shq($load)
		  . ' -d ' . shq("host=localhost dbname=$dbname user=$role") . " $args");
}

# Packets pcap_read returns for a fixture (server side).
sub pcap_read_count
{
	my ($name) = @_;
	return sql("SELECT count(*) FROM (SELECT pcap_read('$fxsql/$name')) s");
}

system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db") == 0 or die "createdb failed";
sql("CREATE EXTENSION mirai_ext");
for my $r (sort keys %pw)
{
	sql("DROP ROLE IF EXISTS $r; CREATE ROLE $r LOGIN PASSWORD " . sql_lit($pw{$r}));
}
my @dbs = ($db);

END
{
	if (defined $db)
	{
		system("dropdb --if-exists $_ >/dev/null 2>&1") for @dbs;
		system("psql -X -q -c 'DROP ROLE IF EXISTS $_' >/dev/null 2>&1") for sort keys %pw;
	}
}

my %count;
$count{$_} = pcap_read_count($_)
  for qw(ether.pcap sll2.pcap ipv6.pcap raw.pcap null.pcap vlan.pcap);

# ---- 1. operators planted in public do not run in mirai_load's queries ------
#
# CVE-2018-1058: a role that may create objects in a schema of the loading
# role's search_path (public, before PostgreSQL 15 by default) defines
# operators whose argument types match mirai_load's comparisons more
# exactly than pg_catalog's (oid = regclass, regclass = regclass) and so
# would be chosen by an unqualified "=".  Each records that it ran, in a
# sequence (not undone by a rollback) and with a warning.
{
	my $sp = 'mirai_t031_sp';
	push @dbs, $sp;
	system("dropdb --if-exists $sp >/dev/null 2>&1");
	system("createdb $sp") == 0 or die "createdb $sp failed";
	sql("CREATE EXTENSION mirai_ext; GRANT CREATE ON SCHEMA public TO $mallory", db => $sp);
	# [left type, right type, the real comparison]
	my @ops = (
		['oid', 'regclass', '$1 OPERATOR(pg_catalog.=) $2::pg_catalog.oid'],
		['regclass', 'oid', '$1::pg_catalog.oid OPERATOR(pg_catalog.=) $2'],
		['regclass', 'regclass', '$1::pg_catalog.oid OPERATOR(pg_catalog.=) $2::pg_catalog.oid'],
		['name', 'text', '$1::pg_catalog.text OPERATOR(pg_catalog.=) $2'],
		['text', 'name', '$1 OPERATOR(pg_catalog.=) $2::pg_catalog.text'],
		['name', 'name', '$1 OPERATOR(pg_catalog.=) $2'],
		['oid', 'oid', '$1 OPERATOR(pg_catalog.=) $2'],
		['bytea', 'bytea', '$1 OPERATOR(pg_catalog.=) $2'],
		['bigint', 'bigint', '$1 OPERATOR(pg_catalog.=) $2'],
		['text', 'text', '$1 OPERATOR(pg_catalog.=) $2'],
		['"char"', '"char"', '$1 OPERATOR(pg_catalog.=) $2']);
	my $plant = "CREATE SEQUENCE public.mallory_ran;\n"
	  . "GRANT USAGE ON SEQUENCE public.mallory_ran TO PUBLIC;\n";
	for my $op (@ops)
	{
		my ($l, $r, $cmp) = @$op;
		$plant .= "CREATE FUNCTION public.mallory_eq($l, $r) RETURNS boolean LANGUAGE plpgsql AS \$f\$\n"
		  . "BEGIN\n"
		  . "  PERFORM pg_catalog.nextval('public.mallory_ran');\n"
		  . "  RAISE WARNING 'mallory ran as %', CURRENT_USER;\n"
		  . "  RETURN $cmp;\n"
		  . "END \$f\$;\n"
		  . "CREATE OPERATOR public.= (LEFTARG = $l, RIGHTARG = $r, FUNCTION = public.mallory_eq);\n";
	}
	sql($plant, db => $sp, role => $mallory);

	# a table of the owner in public, INSERT for the loader; and one in the
	# owner's own schema ("$user" in the search_path) whose trigger calls a
	# function by its bare name
	sql("CREATE TABLE public.t1 (p packet); ALTER TABLE public.t1 OWNER TO $owner; "
		  . "GRANT INSERT ON public.t1 TO $loader; "
		  . "CREATE SCHEMA $owner AUTHORIZATION $owner", db => $sp);
	sql("CREATE FUNCTION $owner.stamp() RETURNS text LANGUAGE sql AS \$\$SELECT 'stamped'::text\$\$; "
		  . "CREATE FUNCTION $owner.t2_stamp() RETURNS trigger LANGUAGE plpgsql AS "
		  . "\$\$BEGIN NEW.note := stamp(); RETURN NEW; END\$\$; "
		  . "CREATE TABLE $owner.t2 (p packet, note text); "
		  . "CREATE TRIGGER t2_stamp BEFORE INSERT ON $owner.t2 FOR EACH ROW EXECUTE FUNCTION $owner.t2_stamp()",
		db => $sp, role => $owner);

	my $ran = sub { sql("SELECT is_called FROM public.mallory_ran", db => $sp) };
	my @runs = (
		[$owner, "-v -t t1 $fx/ether.pcap", qr/loaded ".*ether\.pcap"/, 'a new file (hashed as it streams, looked up before COMMIT)'],
		[$owner, "-v -t t1 $fx/ether.pcap", qr/skipped ".*ether\.pcap"/, 'the same file again (hashed first, looked up before the COPY)'],
		[$owner, "-v -t t1 -", qr/skipped "-"/, 'the same bytes on standard input', "$fx/ether.pcap"],
		[$owner, "-v --force -t t1 $fx/ether.pcap", qr/loaded ".*ether\.pcap"/, '--force'],
		[$loader, "-v -t t1 $fx/ether.pcap", qr/skipped ".*ether\.pcap"/, 'the INSERT-only role, a file the owner loaded'],
		[$loader, "-v -t t1 $fx/sll2.pcap", qr/loaded ".*sll2\.pcap"/, 'the INSERT-only role, a new file'],
		[$owner, "-v -j 2 -t t1 $fx/ipv6.pcap $fx/raw.pcap", qr/loaded ".*raw\.pcap"/, '-j 2'],
		[$owner, "-v -t t2 $fx/ether.pcap", qr/loaded ".*ether\.pcap"/, 'a table found through "$user" in the search_path']);
	for my $run (@runs)
	{
		my ($role, $args, $want, $what, $stdin) = @$run;
		my ($rc, $out, $err) = ml_as($role, $args, db => $sp, stdin => $stdin);
		ok($rc == 0 && $err =~ $want && $err !~ /mallory/ && $ran->() eq 'f',
			"operators planted in public do not run: $what")
		  or diag("exit $rc\n$out$err");
	}
	is(sql("SELECT count(*) FROM public.t1", db => $sp),
		2 * $count{'ether.pcap'} + $count{'sll2.pcap'} + $count{'ipv6.pcap'} + $count{'raw.pcap'},
		'... and every load did its work');
	is(sql("SELECT count(*) FILTER (WHERE note OPERATOR(pg_catalog.=) 'stamped') FROM $owner.t2", db => $sp),
		$count{'ether.pcap'},
		'the COPY keeps the role\'s search_path: the table\'s trigger finds its function by its bare name');
	# the planted operator is live: an unqualified comparison runs it
	sql("SELECT 't1'::regclass::oid = 't1'::regclass", db => $sp, role => $loader);
	is($ran->(), 't', 'the test is sound: an unqualified oid = regclass runs the planted operator');
}

done_testing();
