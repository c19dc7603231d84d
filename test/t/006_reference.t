#!/usr/bin/perl
# README's Reference names every function, aggregate and view of the
# extension, with the markings the catalog has.
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
open(my $fh, '<', "$top/README.md") or die "README.md: $!";
my $readme = join('', <$fh>);
close($fh);
my ($ref) = $readme =~ /^## Reference\n(.*?)^## /ms;
ok(defined $ref, 'README has a Reference section');
$ref //= '';

my $db = 'mirai_t006';
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create the extension');

my $sql = <<'SQL';
SELECT p.proname || '|' ||
       CASE p.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END ||
       CASE WHEN p.proisstrict THEN ' STRICT' ELSE '' END ||
       CASE p.proparallel WHEN 's' THEN ' PARALLEL SAFE' WHEN 'r' THEN ' PARALLEL RESTRICTED'
                          ELSE ' PARALLEL UNSAFE' END
FROM pg_proc p
JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
WHERE p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
  AND p.proname !~ '^packet_(in|out|recv|send|cmp|eq|ne|lt|le|gt|ge|hash|hash_extended)$'
UNION ALL
SELECT c.relname || '|view'
FROM pg_class c
JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
WHERE c.relkind = 'v'
ORDER BY 1
SQL
my @objects = grep { length } split /\n/, `psql -X -A -t -d $db -c "$sql"`;
ok(@objects > 40, 'the extension has ' . scalar(@objects) . ' functions and views');

for my $o (@objects)
{
	my ($name, $marks) = split /\|/, $o;
	if ($marks eq 'view')
	{
		like($ref, qr/^\| `\Q$name\E` \| view \|/m, "Reference lists the view $name");
	}
	else
	{
		like($ref, qr/^\| `\Q$name\E\(.*\| \Q$marks\E \|/m,
			"Reference lists $name with its markings ($marks)");
	}
}
system("dropdb $db");
done_testing();
