#!/usr/bin/perl
#
# 085_scanner.t
#	  The catalogue of scanner fingerprints (src/decode/mx_scanner.c),
#	  measured rather than asserted, in the decoder and in SQL:
#	  1. false positives: on 1,000,000 random SYNs (IPv4 TCP, SYN alone,
#	     ack 0, every other header field uniform; seeded), each rule's rate
#	     derived again from its tests equals the rate the catalogue states,
#	     and the measured count stays within chance of it: at most
#	     n*p + 5*sqrt(n*p*(1-p)), the binomial mean plus five standard
#	     deviations (a rule that cannot be checked matches none).  Each test
#	     of each rule, alone, passes its derived share of the SYNs within 5
#	     standard deviations either way, so the figures the rates multiply
#	     are measured too.  Every SYN gets the same answer decoded, stored
#	     and read in place;
#	  2. each tool's own packets, built as its source builds them (20,000
#	     per rule), all match the rule, and packet_scanner's catalogue order
#	     names that rule first;
#	  3. rule lists as mirai_load --scanner would take them;
#	  4. SQL: on 20,000 packets of every kind (random SYNs, each tool's
#	     packets, and packets near every rule's values), packet_scanner and
#	     packet_scanners agree with the decoder's rules, the mirai rule is
#	     is_mirai, and mirai_scanner_rules shows the decoder's catalogue.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_TOP, MIRAI_WORK.
#
use strict;
use warnings;
use Test::More;

my $top = $ENV{MIRAI_TOP} // '.';
my $dir = ($ENV{MIRAI_WORK} // '/tmp') . "/scanner.$$";
my $db = 'mirai_t085';
mkdir($dir) or die "mkdir $dir: $!\n";
chmod(0755, $dir);

my $prog = "$dir/scanner_rules";
my $cc = `cc -std=c99 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -I'$top/src/decode' -o '$prog' '$top/test/decode/scanner_rules.c' '$top/src/decode/mx_scanner.c' '$top/src/decode/mx_packet.c' '$top/src/decode/mx_error.c' -lm 2>&1`;
is($?, 0, 'test/decode/scanner_rules.c builds with the decoder') or diag($cc);

# ---- 1. false positives on random SYNs ----
my $n = 1_000_000;
my @fp = `'$prog' fp $n 20241214`;
is($?, 0, "scanner_rules fp $n runs");
my (@rules, %rule);
for (grep { /^rule / } @fp)
{
	my ($name, %f) = /^rule (\S+) (.*)$/ ? ($1, map { split /=/, $_, 2 } split / /, $2) : ();
	push @rules, $name;
	$rule{$name} = \%f;
}
ok(@rules >= 6, 'the catalogue has ' . scalar(@rules) . ' rules: ' . join(', ', @rules));
for my $name (@rules)
{
	my $r = $rule{$name};
	if ($r->{stated} < 0)
	{
		is($r->{measured}, 0, "$name cannot be checked and matches none of $n random SYNs");
		next;
	}
	ok(abs($r->{derived} - $r->{stated}) <= 1e-9 * $r->{stated},
		"$name: the stated rate $r->{stated} is the one its tests give ($r->{derived})");
	cmp_ok($r->{measured}, '<=', $r->{bound},
		sprintf('%s: %d of %d random SYNs match, expected %.6f, at most %.3f (mean + 5 sigma)',
			$name, $r->{measured}, $n, $r->{expected}, $r->{bound}));
}
my @factors = grep { /^factor / } @fp;
my @off = grep { /z=(\S+)/ && abs($1) > 5 } @factors;
ok(@factors > 20, scalar(@factors) . ' tests of the rules measured one by one');
is(join('', @off), '', 'each test passes its derived share of the random SYNs, within 5 sigma');
my ($stored) = grep { /^stored / } @fp;
like($stored // '', qr/^stored agree=$n disagree=0$/,
	'every random SYN gets the same rules decoded, stored, and read in place');

# ---- 2. each tool's packets ----
my $per = 20000;
my @tools = `'$prog' tools $per 8`;
is($?, 0, "scanner_rules tools $per runs");
my %tool = map { /^tool (\S+) (.*)$/ ? ($1 => { map { split /=/, $_, 2 } split / /, $2 }) : () } @tools;
for my $name (@rules)
{
	my $t = $tool{$name} // {};
	if ($rule{$name}{stated} < 0)
	{
		is($t->{matched} // -1, 0, "$name: its tool's packets match nothing, as the rule cannot be checked");
		next;
	}
	is($t->{n} // 0, $per, "$name: scanner_rules builds its tool's packets");
	is($t->{matched} // 0, $per, "$name: every one of $per packets built as its source builds them matches");
	is($t->{first} // 0, $per, "$name: packet_scanner's order names it first for each of them");
}

# ---- 3. rule lists ----
my @lists = (
	['mirai,masscan', 'ok mirai,masscan'],
	[' masscan , mirai ', 'ok mirai,masscan'],
	['all', 'ok ' . join(',', grep { $rule{$_}{stated} >= 0 } @rules)],
	['nmap,all', 'ok ' . join(',', grep { $rule{$_}{stated} >= 0 } @rules)],
	['mirai,,zmap', qr/^error offset=6: empty scanner rule name \(rules: all, mirai, /],
	['', qr/^error offset=0: empty scanner rule name/],
	['mirai,Zmap', qr/^error offset=6: unknown scanner rule "Zmap" \(rules: all, mirai, zmap, /],
	['zmap41', qr/^error offset=0: scanner rule "zmap41" cannot be checked on decoded packets \| It reads header fields that the decoder does not keep/],
);
for my $l (@lists)
{
	my ($list, $want) = @$l;
	my $out = `'$prog' parse '$list'`;
	chomp $out;
	if (ref $want)
	{
		like($out, $want, "rule list \"$list\": $out");
	}
	else
	{
		is($out, $want, "rule list \"$list\"");
	}
}

# ---- 4. SQL against the decoder ----
my $m = 20000;
system("'$prog' emit $m 85 >'$dir/packets.tsv' 2>'$dir/emit.err'");
is($?, 0, "scanner_rules emit $m: the mirai rule is is_mirai, and stored forms read in place agree")
  or diag(`cat '$dir/emit.err'`);
system("dropdb --if-exists $db >/dev/null 2>&1");
system("createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION mirai_ext'") == 0
  or BAIL_OUT('cannot create the extension');

# a statement's output, unaligned; the statement goes through a file, not the shell
sub sql
{
	my ($q) = @_;
	open(my $fh, '>', "$dir/q.sql") or die "$dir/q.sql: $!\n";
	print $fh "$q\n";
	close($fh);
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -d $db -f '$dir/q.sql' 2>&1`;
	chomp $out;
	return $out;
}

is(sql("CREATE TABLE k (p packet, first text, names text[]);\n\\copy k FROM '$dir/packets.tsv'\nSELECT count(*) FROM k;"),
	$m, "the $m packets load");
is(sql('SELECT count(*) FROM k WHERE packet_scanner(p) IS DISTINCT FROM first'), '0',
	'packet_scanner names the rule the decoder names first, on every packet');
is(sql('SELECT count(*) FROM k WHERE packet_scanners(p) <> names'), '0',
	'packet_scanners names every rule the decoder matches, in order, on every packet');
is(sql("SELECT count(*) FROM k WHERE is_mirai(p) <> ('mirai' = ANY (packet_scanners(p)))"), '0',
	'the mirai rule is is_mirai');
my $kinds = sql("SELECT string_agg(DISTINCT coalesce(first, '-'), ',' ORDER BY coalesce(first, '-')) FROM k");
is($kinds, join(',', sort('-', grep { $rule{$_}{stated} >= 0 } @rules)),
	'every checkable rule comes first on some of them');
my $multi = sql('SELECT count(*) FROM k WHERE cardinality(names) > 1');
cmp_ok($multi, '>', 100, "$multi of them match more than one rule");
is(sql("SELECT string_agg(name, ',' ORDER BY position) FROM mirai_scanner_rules"), join(',', @rules),
	'mirai_scanner_rules lists the decoder\'s rules in its order');
my $rates = join(', ', map { "('$_', " . ($rule{$_}{stated} < 0 ? 'NULL' : $rule{$_}{stated}) . '::float8)' } @rules);
is(sql("SELECT count(*) FROM mirai_scanner_rules r JOIN (VALUES $rates) v(name, rate) USING (name)
         WHERE (r.fp_rate IS NULL) <> (v.rate IS NULL) OR abs(r.fp_rate - v.rate) > 1e-12 * v.rate"),
	'0', '... with the rates the decoder states (NULL where the rule cannot be checked)');
is(sql("SELECT count(*) FROM mirai_scanner_rules WHERE source !~ '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+, [A-Za-z0-9_./-]+[.](c|cc|h|in), [A-Za-z_]'"),
	'0', 'each rule cites the repository, file and function its values come from');
is(sql("SELECT count(*) FROM mirai_scanner_rules WHERE NOT checkable AND rule NOT LIKE '% [not in the stored packet]'"),
	'0', 'each rule that cannot be checked says what the stored packet lacks');

# ---- 5. Probes the generator builds as each tool's code does ----
# mirai_gen --scanners writes ZMap (up to 4.0 and 4.1), Masscan (both
# windows), Nmap and Unicornscan SYNs beside its Mirai and background
# traffic, and counts them by tool; the catalogue, a separate reading of the
# same tools' code, must name each probe by its tool, ZMap 4.1's by none.
my $gen = $ENV{MIRAI_GEN} // "$top/src/bin/mirai_gen";
my $cap = "$dir/tools.pcap";
my $json = `'$gen' -n 30000 --seed 1515 --scanners 0.4 --counts -o '$cap' 2>&1`;
chmod 0644, $cap;
my %made = $json =~ /"scanners":\{([^}]*)\}/ ? ($1 =~ /"(\w+)":(\d+)/g) : ();
my ($mirai_made) = $json =~ /"mirai":(\d+)/;
$made{mirai} = $mirai_made;
cmp_ok($made{$_} // 0, '>', 500, "mirai_gen --scanners writes $_ packets ($made{$_})")
	for qw(zmap zmap41 masscan nmap unicornscan);
my $found = sql("SET client_min_messages = warning;
SELECT string_agg(coalesce(s, '-') || '=' || n, ' ' ORDER BY s)
                   FROM (SELECT packet_scanner(p) AS s, count(*) AS n
                           FROM (SELECT pcap_read('$cap') AS p) r GROUP BY 1) c");
my %found = map { split /=/ } split / /, $found;
for my $rule (qw(mirai zmap masscan nmap unicornscan backscatter))
{
	is($found{$rule} // 0, $made{$rule}, "packet_scanner names every $rule packet the generator wrote, and no other");
}
my $unnamed = sql("SET client_min_messages = warning;
SELECT count(*) FROM (SELECT pcap_read('$cap') AS p) r
                    WHERE packet_scanner(p) IS NULL AND packet_window(p) = 65535
                      AND packet_ttl(p) <= 64 AND packet_sport(p) BETWEEN 32768 AND 61000");
cmp_ok($unnamed, '>=', $made{zmap41}, "ZMap 4.1's probes ($made{zmap41}) are named by no rule ($unnamed such SYNs unnamed)");

system("dropdb $db");
system("rm -rf '$dir'");
done_testing();
