#!/usr/bin/perl
#
# 031_loader_security.t
#	  mirai_load among roles that do not trust each other:
#	  - operators planted in schema public by another role never run inside
#	    mirai_load's own queries (catalog and ledger), while the COPY keeps
#	    the loading role's search_path for the table's triggers;
#	  - the ledger: a file counts as loaded only for a row of the loading
#	    role itself or of the table's owner, with the same options; another
#	    role can neither make a load skip a file (a load that kept nothing,
#	    a forged row) nor block it (the unique index);
#	  - who sees which ledger rows (row-level security);
#	  - the update from 0.1.0 gives the ledger of a fresh install, and the
#	    rows 0.1.0 wrote keep counting;
#	  - a password in -d (conninfo or URI) is in no command line of
#	    mirai_load or its workers; PGPASSWORD and ~/.pgpass work.
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
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiShell qw(shq sql_lit slurp spew run);
use Time::HiRes qw(sleep);
use Digest::SHA qw(sha256_hex);
use POSIX ();

my $load = $ENV{MIRAI_LOAD} || 'src/bin/mirai_load';
my $fx = $ENV{MIRAI_FIXTURES};
my $fxsql = $ENV{MIRAI_FIXTURES_SQL};
my $work = $ENV{MIRAI_WORK};

plan skip_all => 'not inside the test cluster (MIRAI_FIXTURES, MIRAI_WORK)'
  unless $fx && $fxsql && $work && -x $load;

my $db = 'mirai_t031';
my $dir = "$work/loader_security";
mkdir $dir or die "mkdir $dir: $!";
MiraiShell::setup(dir => $dir, db => $db);
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

# Run SQL as the superuser, or as $role over TCP with its password;
# returns trimmed output (dies on error).
sub sql
{
	my ($q, %o) = @_;
	my $dbname = $o{db} // $db;

	return MiraiShell::sql($q, conn => $o{role}
						   ? shq("host=localhost dbname=$dbname user=$o{role} password=$pw{$o{role}}")
						   : $dbname);
}

# Run a shell command line; returns (exit status, stdout, stderr).

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
  for qw(ether.pcap sll2.pcap ipv6.pcap raw.pcap null.pcap vlan.pcap qinq.pcap);

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

# ---- 2. the ledger: only the role's own and the owner's loads count ---------
sql("CREATE TABLE cap (p packet); ALTER TABLE cap OWNER TO $owner; "
	  . "GRANT INSERT ON cap TO $loader, $mallory; GRANT SELECT ON cap TO $reader");
my $has_options = sql("SELECT count(*) FROM pg_attribute WHERE attrelid = 'mirai_load_ledger'::regclass "
	  . "AND attname = 'options' AND NOT attisdropped");
my $cap_count = sub { sql("SELECT count(*) FROM cap") };

# A row forged by mallory for a file: its true hash, the options a plain
# load of it records, and a size (the file's own by default).
sub forge
{
	my ($file, $size) = @_;
	my $hash = sha256_hex(slurp($file));
	$size //= -s $file;
	my ($cols, $vals) = ('', '');
	($cols, $vals) = (', options', ", '--column=p'") if $has_options;
	sql("INSERT INTO mirai_load_ledger (table_name, file_name, file_size, content_hash, packets$cols) "
		  . "VALUES ('cap', " . sql_lit($file) . ", $size, decode('$hash', 'hex'), 0$vals)",
		role => $mallory);
}

{
	# (a) mallory loads a file first with a filter that keeps nothing
	my ($rc, $out, $err) = ml_as($mallory, "-t cap --filter 'not ip and not ip6' $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 loaded/ && $cap_count->() == 0,
		'another role with INSERT loads a file with --filter \'not ip and not ip6\': nothing kept');
	($rc, $out, $err) = ml_as($owner, "-v -t cap $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/ && $cap_count->() == $count{'ether.pcap'},
		'(a) the owner still loads the file: another role\'s load does not count')
	  or diag("exit $rc\n$out$err");
	like($err, qr/loading ".*ether\.pcap" although the ledger has it: loaded into cap as ".*ether\.pcap" by $mallory at [^,]+, and only loads by $owner, the table's owner, count\n/,
		'(a) -v says whose row it was and why it does not count');
	($rc, $out, $err) = ml_as($mallory, "-t cap --filter 'not ip and not ip6' $fx/sll2.pcap");
	($rc, $out, $err) = ml_as($loader, "-v -t cap $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/
		  && $cap_count->() == $count{'ether.pcap'} + $count{'sll2.pcap'},
		'(a) an INSERT-only role still loads a file another INSERT-only role loaded with a filter')
	  or diag("exit $rc\n$out$err");

	# (b) mallory forges rows with the true hashes of files not loaded yet
	forge("$fx/ipv6.pcap");
	forge("$fx/raw.pcap", 1);
	forge("$fx/null.pcap");
	my $before = $cap_count->();
	($rc, $out, $err) = ml_as($owner, "-v -t cap $fx/ipv6.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/ && $cap_count->() == $before + $count{'ipv6.pcap'},
		'(b) a forged row of another role does not make the owner skip the file (hashed first: same size)')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml_as($owner, "-v -t cap $fx/raw.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/
		  && $cap_count->() == $before + $count{'ipv6.pcap'} + $count{'raw.pcap'},
		'(b) nor block its ledger row through the unique index (hashed as it streams, recorded after the COPY)')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml_as($loader, "-v -t cap $fx/null.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/,
		'(b) a forged row of another role does not make an INSERT-only role skip the file')
	  or diag("exit $rc\n$out$err");

	# the rows that count
	($rc, $out, $err) = ml_as($loader, "-v -t cap $fx/ether.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/
		  && $err =~ /skipped ".*ether\.pcap": already loaded into cap as ".*ether\.pcap" by $owner at .* \($count{'ether.pcap'} packets\)/,
		'the owner\'s load counts for an INSERT-only role: skipped, -v says by whom and when')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml_as($loader, "-v -t cap $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/ && $err =~ /already loaded into cap as ".*sll2\.pcap" by $loader at /,
		'the same role with the same options: skipped')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = run("cat $fx/sll2.pcap | PGPASSWORD=" . shq($pw{$loader}) . ' ' . shq($load)
		  . ' -v -d ' . shq("host=localhost dbname=$db user=$loader") . ' -t cap -');
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/, '... also through standard input (looked up before COMMIT)');
	$before = $cap_count->();
	($rc, $out, $err) = ml_as($loader, "-v -t cap --filter tcp $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/ && $cap_count->() > $before
		  && $err =~ /loading ".*sll2\.pcap" although the ledger has it: loaded into cap as ".*sll2\.pcap" by $loader at .* with other options \(--column=p; this load: --column=p --filter=tcp\)/,
		'the same role with another filter: loaded, -v says the options differ')
	  or diag("exit $rc\n$out$err");
	($rc, $out, $err) = ml_as($loader, "-v -t cap --mirai-only --filter tcp $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/, '... and with --mirai-only added: loaded again');
	($rc, $out, $err) = ml_as($loader, "-t cap $fx/qinq.pcap");
	($rc, $out, $err) = ml_as($owner, "-v -t cap $fx/qinq.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/
		  && $err =~ /loading ".*qinq\.pcap" although the ledger has it: loaded into cap as ".*qinq\.pcap" by $loader at [^,]+, and only loads by $owner, the table's owner, count\n/,
		'an INSERT-only role\'s load does not count for the owner')
	  or diag("exit $rc\n$out$err");

	# two loads of one file by one role with the same options at once: one loads
	my @pids;
	for my $i (1 .. 2)
	{
		my $pid = fork();
		if ($pid == 0)
		{
			open(STDOUT, '>', "$dir/conc$i.out");
			open(STDERR, '>', "$dir/conc$i.err");
			$ENV{PGPASSWORD} = $pw{$loader};
			exec($load, '-d', "host=localhost dbname=$db user=$loader", '-t', 'cap', "$fx/vlan.pcap")
			  or POSIX::_exit(127);
		}
		push @pids, $pid;
	}
	waitpid($_, 0) for @pids;
	my $loaded = grep { slurp("$dir/conc$_.out") =~ /: 1 loaded/ } 1 .. 2;
	my $skipped = grep { slurp("$dir/conc$_.out") =~ /: 0 loaded, 1 already loaded/ } 1 .. 2;
	ok($loaded == 1 && $skipped == 1,
		'two concurrent loads of one file by an INSERT-only role with the same options: one loads, one skips');
	is(sql("SELECT count(*) FROM mirai_load_ledger WHERE file_name LIKE '%/vlan.pcap'"), 1, '... one ledger row');
}

# ---- 3. who sees which ledger rows ---------------------------------------
{
	sql("CREATE TABLE other (p packet); ALTER TABLE other OWNER TO $owner; GRANT INSERT ON other TO $loader");
	my ($rc, $out, $err) = ml_as($owner, "-t other $fx/ether.pcap");
	my $who = "SELECT string_agg(DISTINCT loaded_by || ':' || table_name::text, ',' ORDER BY loaded_by || ':' || table_name::text) "
	  . "FROM mirai_load_ledger";
	is(sql($who, role => $loader), "$loader:cap,$owner:cap,$owner:other",
		'a role with INSERT only sees its own rows and the table owner\'s, not those of other roles');
	is(sql($who, role => $mallory), "$mallory:cap,$owner:cap",
		'... the same for the other role (and no row of a table it may not insert into)');
	is(sql($who, role => $reader), "$loader:cap,$mallory:cap,$owner:cap",
		'a role that may SELECT from the table sees every row of it');
	is(sql($who, role => $owner), "$loader:cap,$mallory:cap,$owner:cap,$owner:other",
		'the owner sees every row of its tables');
	is(sql("SELECT count(*) FROM mirai_load_ledger WHERE client_host IS NOT NULL AND loaded_by = '$mallory'", role => $loader), 0,
		'an INSERT-only role reads no path or client host of another role\'s loads');
}

# ---- 4. the update from 0.1.0 ----------------------------------------------
{
	my ($up, $fresh) = ('mirai_t031_up', 'mirai_t031_fresh');
	push @dbs, $up, $fresh;
	system("dropdb --if-exists $_ >/dev/null 2>&1; createdb $_") for ($up, $fresh);
	sql("CREATE EXTENSION mirai_ext", db => $fresh);
	sql("CREATE EXTENSION mirai_ext VERSION '0.1.0'; CREATE TABLE cap (p packet); "
		  . "CREATE TABLE two (a packet, b packet)", db => $up);
	my ($rc, $out, $err) = run(shq($load) . " -d $up -t cap $fx/ether.pcap");
	ok($rc == 2 && $err =~ /extension "mirai_ext" in database "$up" is version 0\.1\.0, older than this mirai_load\nHINT:  Run ALTER EXTENSION mirai_ext UPDATE; in that database first\./,
		'against mirai_ext 0.1.0, mirai_load stops before loading and says to update the extension')
	  or diag("exit $rc\n$out$err");

	# rows as mirai_load 0.1.0 wrote them
	my $row = sub {
		my ($tbl, $file, $filter, $damaged) = @_;
		my $hash = sha256_hex(slurp("$fx/$file"));
		sql("INSERT INTO mirai_load_ledger (table_name, file_name, file_size, content_hash, packets, "
			  . "damaged_regions, filter) VALUES ('$tbl', '$fx/$file', " . (-s "$fx/$file")
			  . ", decode('$hash', 'hex'), 1, $damaged, " . (defined $filter ? sql_lit($filter) : 'NULL') . ")",
			db => $up);
	};
	$row->('cap', 'ether.pcap', undef, 0);
	$row->('cap', 'sll2.pcap', '--mirai-only', 0);
	$row->('cap', 'ipv6.pcap', '--filter=tcp port 23 --mirai-only', 0);
	$row->('cap', 'damaged_caplen.pcap', undef, 1);
	$row->('two', 'ether.pcap', undef, 0);
	is(system("psql -X -q -d $up -c 'ALTER EXTENSION mirai_ext UPDATE'"), 0, 'ALTER EXTENSION mirai_ext UPDATE from 0.1.0');
	is(sql("SELECT string_agg(table_name::text || ' ' || options, ' | ' ORDER BY table_name::text, file_name) FROM mirai_load_ledger", db => $up),
		'cap --column=p --on-error=skip | cap --column=p | cap --column=p --filter=tcp port 23 --mirai-only | cap --column=p --mirai-only | two --column=?',
		'the update gives 0.1.0\'s rows the options they were loaded with (the column unknown when the table has several)');

	# the ledger's definition: the same as a fresh install's
	my $def = <<'SQL';
SELECT 'column ' || attnum || ' ' || attname || ' ' || format_type(atttypid, atttypmod)
       || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
       || coalesce(' -- ' || col_description(a.attrelid, a.attnum), '')
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = 'mirai_load_ledger'::regclass AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'mirai_load_ledger'::regclass
UNION ALL
SELECT 'constraint ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'mirai_load_ledger'::regclass
UNION ALL
SELECT 'policy ' || policyname || ' ' || cmd || ' ' || roles::text || ' ' || coalesce(qual, '-') || ' ' || coalesce(with_check, '-')
FROM pg_policies WHERE tablename = 'mirai_load_ledger'
UNION ALL
SELECT 'table ' || relrowsecurity || ' ' || relforcerowsecurity || ' ' || relacl::text || ' ' || obj_description(oid, 'pg_class')
FROM pg_class WHERE oid = 'mirai_load_ledger'::regclass
ORDER BY 1
SQL
	my ($a, $b) = (sql($def, db => $up), sql($def, db => $fresh));
	ok($a eq $b && $a =~ /column 17 options text NOT NULL/ && $a =~ /loaded_by, options, from_record\) WHERE \(NOT forced\)/,
		'the updated ledger has the columns (in order), defaults, comments, indexes, constraints, policies and grants of a fresh install')
	  or diag("updated:\n$a\nfresh:\n$b");

	# 0.1.0's rows keep counting, with their options
	($rc, $out, $err) = run(shq($load) . " -v -d $up -t cap $fx/ether.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/, 'after the update, a file 0.1.0 loaded is skipped');
	($rc, $out, $err) = run(shq($load) . " -v -d $up -t cap --mirai-only $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/, '... with the filter it was loaded with');
	($rc, $out, $err) = run(shq($load) . " -v -d $up -t cap $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /1 loaded, 0 already loaded/, '... and loaded without that filter');
	($rc, $out, $err) = run(shq($load) . " -v -d $up -t cap --on-error=skip $fx/damaged_caplen.pcap");
	ok($rc == 0 && $out =~ /0 loaded, 1 already loaded/, '... and a file 0.1.0 salvaged, with --on-error=skip');
}

# ---- 5. a password given with -d is not in the process's command line ------
{
	my $role = 'mirai_t031_pw';
	my $secret = "Hunter two's-5";
	$pw{$role} = $secret;
	sql("DROP ROLE IF EXISTS $role; CREATE ROLE $role LOGIN PASSWORD " . sql_lit($secret) . "; "
		  . "CREATE TABLE pw (p packet); GRANT INSERT ON pw TO $role");
	(my $enc = $secret) =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord($1))/ge;
	my @cases = (
		['a conninfo string with a quoted password', 1,
			"host=localhost dbname=$db user=$role password='Hunter two\\'s-5'"],
		['a URI with user:password@', 2, "postgresql://$role:$enc\@localhost/$db"],
		['a URI with ?password=, given as --dbname=', 2,
			"--dbname=postgresql://$role\@localhost/$db?connect_timeout=10&password=$enc"]);
	my $n = 0;
	for my $case (@cases)
	{
		my ($what, $jobs, $conninfo) = @$case;
		$n++;
		# FIFOs whose writers wait for a go: the loader stalls in the middle
		my @fifos = map { "$dir/pw$n.$_.fifo" } 1 .. $jobs;
		my $go = "$dir/pw$n.go";
		my @writers;
		for my $i (0 .. $#fifos)
		{
			my $fifo = $fifos[$i];
			system('mkfifo', $fifo) == 0 or die "mkfifo $fifo";
			my $pid = fork();
			if ($pid == 0)
			{
				# a child leaves by _exit: END (dropdb) belongs to the parent
				open(my $fh, '>:raw', $fifo) or POSIX::_exit(1);
				sleep 0.05 until -e $go;
				print $fh slurp($i ? "$fx/sll2.pcap" : "$fx/ether.pcap");
				close($fh);
				POSIX::_exit(0);
			}
			push @writers, $pid;
		}
		my $loader_pid = fork();
		if ($loader_pid == 0)
		{
			delete $ENV{PGPASSWORD};
			open(STDOUT, '>', "$dir/pw$n.out");
			open(STDERR, '>', "$dir/pw$n.err");
			exec($load, ($conninfo =~ /^--/ ? ($conninfo) : ('-d', $conninfo)),
				'-j', $jobs, '-t', 'pw', @fifos)
			  or POSIX::_exit(127);
		}
		# wait until every worker is connected (and waiting on its FIFO)
		my $connected = 0;
		for (my $t = 0; $t < 200 && $connected < $jobs; $t++)
		{
			sleep 0.05;
			$connected = sql("SELECT count(*) FROM pg_stat_activity WHERE usename = '$role'");
		}
		my @pids = ($loader_pid);
		if ($jobs > 1)
		{
			for my $stat (glob('/proc/[0-9]*/stat'))
			{
				my ($pid, $ppid) = (slurp($stat) =~ /^(\d+) \(.*\) \S+ (\d+)/s);
				push @pids, $pid if defined $ppid && $ppid == $loader_pid;
			}
		}
		my ($shown, $cmdlines) = (0, '');
		for my $pid (@pids)
		{
			my $cmd = slurp("/proc/$pid/cmdline");
			$cmd =~ s/\0/ /g;
			$cmdlines .= "$pid: $cmd\n";
			$shown++ if $cmd =~ /Hunter|two|\Q$enc\E/;
		}
		ok($connected == $jobs && @pids == 1 + ($jobs > 1 ? $jobs : 0) && $shown == 0
			  && $cmdlines =~ /\Q$role\E/,
			"$what: the password is in no command line (mirai_load" . ($jobs > 1 ? " and its $jobs workers" : '')
			  . '), the rest of the connection string is')
		  or diag("connected $connected, processes:\n$cmdlines");
		spew($go, '');
		waitpid($_, 0) for @writers;
		waitpid($loader_pid, 0);
		my $rc = $? >> 8;
		ok($rc == 0 && slurp("$dir/pw$n.out") =~ /$jobs files?: $jobs loaded/,
			"$what: ... and the load goes on with it")
		  or diag("exit $rc\n" . slurp("$dir/pw$n.out") . slurp("$dir/pw$n.err"));
		sql("TRUNCATE pw; DELETE FROM mirai_load_ledger WHERE table_name = 'pw'::regclass");
	}

	# the ways without a password in the command line: PGPASSWORD, ~/.pgpass
	my $ci = "host=localhost dbname=$db user=$role";
	my ($rc, $out, $err) = run('PGPASSWORD=' . shq($secret) . ' ' . shq($load) . ' -d ' . shq($ci) . " -t pw $fx/ether.pcap");
	ok($rc == 0 && $out =~ /1 loaded/, 'the password from PGPASSWORD');
	my $home = "$dir/home";
	mkdir $home;
	spew("$home/.pgpass", "localhost:*:$db:$role:$secret\n");
	chmod 0600, "$home/.pgpass";
	($rc, $out, $err) = run("env -u PGPASSWORD -u PGPASSFILE HOME=" . shq($home) . ' ' . shq($load) . ' -d ' . shq($ci)
		  . " -t pw $fx/sll2.pcap");
	ok($rc == 0 && $out =~ /1 loaded/, 'the password from ~/.pgpass') or diag("exit $rc\n$out$err");
}

done_testing();
