# Helpers the loader tests share: files, shell commands and psql.
#
#   use lib "$FindBin::Bin/../lib";
#   use MiraiShell;
#   MiraiShell::setup(dir => $dir, db => $db);   # where the files go, the default database
#
#   shq($word)            $word quoted for sh
#   sql_lit($s)           $s as an SQL string literal
#   slurp($file)          a whole file ('' when it cannot be read)
#   spew($file, $data)    write a whole file
#   sql($q, db => $db, conn => $conninfo)
#                         run SQL with psql; its trimmed output (dies on error)
#   run($cmdline)         (exit status, stdout, stderr) of a shell command line;
#                         status 128 + N when killed by signal N
package MiraiShell;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(shq sql_lit slurp spew sql run);

my ($dir, $db);
my $runno = 0;

sub setup
{
	my (%o) = @_;
	$dir = $o{dir};
	$db = $o{db};
	return;
}

sub shq
{
	my ($s) = @_;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

sub sql_lit
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or return '';
	local $/;
	my $d = <$fh>;
	close($fh);
	return $d // '';
}

sub spew
{
	my ($f, $d) = @_;
	open(my $fh, '>:raw', $f) or die "cannot write $f: $!";
	print $fh $d;
	close($fh);
	return;
}

sub sql
{
	my ($q, %o) = @_;
	my $conn = $o{conn} // $o{db} // $db;
	my $qf = "$dir/q.sql";
	spew($qf, $q);
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -d $conn -f $qf 2>$dir/q.err`;
	die "psql failed: $q\n$out" . slurp("$dir/q.err") if $? != 0;
	$out =~ s/\s+\z//;
	return $out;
}

sub run
{
	my ($cmd) = @_;
	$runno++;
	my ($o, $e) = ("$dir/run$runno.out", "$dir/run$runno.err");
	system("$cmd >$o 2>$e");
	my $rc = $? == -1 ? 255 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
	return ($rc, slurp($o), slurp($e));
}

1;
