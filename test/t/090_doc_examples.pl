# Every SQL example of README.md and docs/*.md runs as written against the
# local emulator.
#
# The fenced blocks are taken from each file in order:
#   ```sql        run; any ERROR fails the test
#   ```sql-error  run; must fail with an ERROR (an example that shows one);
#                 when the next block is the ```text of that error, its
#                 ERROR and HINT lines must be the ones the server prints
#                 (numbers aside: request ids, milliseconds)
#   ```sql-norun  not run (needs a real AWS account, or objects the page
#                 only sketches, like pgvector's); counted as skipped
# and every other info string (sh, conf, json, text, ...) is not SQL.
#
# One cluster runs them all, configured with the emulator settings that
# docs/testing.md gives to readers (its ```conf block that names
# http://127.0.0.1:4566, with the emulator's real port), so that block is
# tested too.  README.md runs in database postgres (bedrock.database, where
# usage rows land), every docs/*.md file in a new database of its own; the
# extension is created there first unless the file's own SQL creates it.
# Blocks of one file run in order, each in its own psql session.  Roles
# belong to the cluster: files must not create the same role.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $root = BedrockEmulator::root_dir();

# A message with its UUIDs (request ids) and numbers (milliseconds, ports)
# replaced by placeholders, to compare an error a document shows with the
# one the server prints.  libcurl 8 (Debian 13 and later) words some
# transport errors differently from Debian 12's 7.88, which the documents
# quote (and the newest writes "host:port" where 7.88 writes "host port
# N"): those become 7.88's words, as in the regression suites.
sub numbers_aside
{
	my ($text) = @_;
	return undef unless defined $text;
	$text =~ s/Could not connect to server/Couldn't connect to server/g;
	$text =~ s/(\d+\.\d+\.\d+\.\d+):(\d+)/$1 port $2/g;
	$text =~ s/end of response with (\d+) bytes missing/transfer closed with $1 bytes remaining to read/g;
	$text =~ s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g;
	$text =~ s/\d+/<n>/g;
	return $text;
}

# Fenced blocks of a Markdown file: a list of { info, text, line }.
sub fenced_blocks
{
	my ($file) = @_;
	open my $fh, '<', $file or die "cannot read $file: $!";
	my (@blocks, $cur, $indent);
	while (my $line = <$fh>)
	{
		if (!$cur)
		{
			if ($line =~ /^(\s*)```+\s*(\S*)/)
			{
				$indent = length $1;
				$cur = { info => $2, text => '', line => $. };
			}
		}
		elsif ($line =~ /^\s*```+\s*$/)
		{
			push @blocks, $cur;
			undef $cur;
		}
		else
		{
			$line =~ s/^ {0,$indent}//;
			$cur->{text} .= $line;
		}
	}
	close $fh;
	die "$file: unterminated code block from line $cur->{line}\n" if $cur;
	return @blocks;
}

# The postgresql.conf lines docs/testing.md gives for the emulator.
my ($emulator_conf) =
  grep { $_->{info} eq 'conf' && $_->{text} =~ m{http://127\.0\.0\.1:4566} }
  fenced_blocks("$root/docs/testing.md");
ok($emulator_conf, 'docs/testing.md has the emulator configuration block')
  or BAIL_OUT('no emulator configuration in docs/testing.md');
like($emulator_conf->{text}, qr/^shared_preload_libraries\s*=\s*'bedrock_fdw'/m,
	'the emulator configuration preloads the library');

my $emu = BedrockEmulator->start;
(my $conf = $emulator_conf->{text}) =~ s/:4566\b/':' . $emu->port/ge;

my @files = ("$root/README.md", sort glob("$root/docs/*.md"));
my ($ran, $ran_error, $skipped) = (0, 0, 0);
my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
$node->append_conf('postgresql.conf', $conf);
$node->start;

for my $file (@files)
{
	(my $name = $file) =~ s{^\Q$root\E/}{};
	my @blocks = fenced_blocks($file);
	# the ```text block that shows what a ```sql-error block prints
	for my $i (0 .. $#blocks - 1)
	{
		$blocks[$i]{shown} = $blocks[ $i + 1 ]{text}
		  if $blocks[$i]{info} eq 'sql-error'
		  && $blocks[ $i + 1 ]{info} eq 'text'
		  && $blocks[ $i + 1 ]{text} =~ /^ERROR:/;
	}
	my @sql = grep { $_->{info} =~ /^sql(-error|-norun)?$/ } @blocks;
	my @run = grep { $_->{info} ne 'sql-norun' } @sql;
	$skipped += @sql - @run;
	next unless @run;

	my $db = 'postgres';
	if ($name ne 'README.md')
	{
		($db = "docs_$name") =~ s/\W/_/g;
		$node->safe_psql('postgres', "CREATE DATABASE $db");
	}
	$emu->admin('reset');
	$node->safe_psql($db, 'CREATE EXTENSION bedrock_fdw')
	  unless grep { $_->{text} =~ /^\s*CREATE EXTENSION bedrock_fdw/mi } @run;

	for my $b (@run)
	{
		my ($rc, $out, $err) = $node->psql($db, $b->{text},
			on_error_stop => 1, extra_params => ['-v', 'VERBOSITY=default']);
		my $what = "$name line $b->{line}";
		if ($b->{info} eq 'sql-error')
		{
			$ran_error++;
			ok($rc != 0 && $err =~ /ERROR:/, "$what fails with an ERROR")
			  or diag("exit $rc\n$err");
			if (defined $b->{shown})
			{
				for my $field ('ERROR', 'HINT')
				{
					my ($doc) = $b->{shown} =~ /^$field:\s+(.*)$/m;
					next unless defined $doc;
					my ($real) = $err =~ /$field:\s+(.*)$/m;
					is(numbers_aside($real), numbers_aside($doc),
						"$what: the $field line shown is the server's");
				}
			}
		}
		else
		{
			$ran++;
			ok($rc == 0 && $err !~ /ERROR:/, "$what runs")
			  or diag("exit $rc\n$b->{text}\n$err");
		}
	}
}
$node->stop('fast');

diag("doc examples: $ran run, $ran_error shown failing, $skipped not runnable");
cmp_ok($ran, '>', 0, "ran $ran SQL examples ($ran_error expected errors, $skipped skipped)");
$emu->stop;
done_testing();
