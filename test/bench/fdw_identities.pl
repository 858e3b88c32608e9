# Benchmark (not part of make test): per-role AWS identities through
# bedrock_fdw servers and user mappings, against the local emulator.
#
#   * calls per second of 20 backends calling bedrock_chat for 20 s, all as
#     one identity (one role, one user mapping with a role_arn), then with
#     20 identities (20 roles mapped to 20 IAM roles) picked at random per
#     call, then one identity again, interleaved, side by side in one run;
#   * credential fetches (sts:AssumeRole) per identity per refresh period,
#     the STS credentials living 20 s (refreshed every 10 s).
#
# Run it like a TAP test, with the extension installed:
#   BEDROCK_EMULATOR_TESTS=0 BEDROCK_REGRESS=none \
#     BEDROCK_TAP=test/bench/fdw_identities.pl test/run-suites
# The numbers are printed as "# fdw-bench:" lines (BENCHMARKS.md).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use BedrockEmulator;

my $seconds = $ENV{FDW_BENCH_SECONDS} // 20;
my $clients = 20;
my $acct = '123456789012';
my $model = 'openai.gpt-oss-20b-1:0';
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN);

my $emu = BedrockEmulator->start;
my $roles_json = '[' . join(',', map { sprintf('{"arn":"arn:aws:iam::%s:role/bench-%02d"}', $acct, $_) } 1 .. 20) . ']';
sub emulator_setup
{
	$emu->admin('reset');
	$emu->admin('services', '{"sts":{"maxLifetimeSeconds":20}}');
	$emu->admin('role', $roles_json);
}
emulator_setup();

my $node = $emu->preloaded_node('fdwbench',
	conf => "bedrock.sts_endpoint = '" . $emu->endpoint . "'\n"
	  . "max_connections = 60\n"
	  . "bedrock.credential_wait_ms = 10000\n");
$node->safe_psql('postgres', join("\n",
	'CREATE SERVER bench FOREIGN DATA WRAPPER bedrock_fdw;',
	map {
		my $r = sprintf('bench_%02d', $_);
		sprintf("CREATE ROLE %s; GRANT bedrock_user TO %s; GRANT USAGE ON FOREIGN SERVER bench TO %s;"
			  . " CREATE USER MAPPING FOR %s SERVER bench OPTIONS (role_arn 'arn:aws:iam::%s:role/bench-%02d');",
			$r, $r, $r, $r, $acct, $_)
	} 1 .. 20));

# one pgbench run of $seconds: calls per second
sub run
{
	my ($label, $identities) = @_;
	my $script = "\\set r random(1, $identities)\n"
	  . "SELECT 'bench_' || lpad(:r::text, 2, '0') AS rn \\gset\n"
	  . "SET ROLE :rn;\n"
	  . "SELECT bedrock_chat('$model', 'bench', NULL, '{\"server\": \"bench\"}');\n"
	  . "RESET ROLE;\n";
	my $file = $node->basedir . "/bench_$label.sql";
	unlink $file;
	append_to_file($file, $script);
	my $before = $emu->stat('requests.converse');
	my $t0 = time;
	my ($stdout, $stderr);
	IPC::Run::run([ 'pgbench', '--no-vacuum', "--client=$clients", '--jobs=4', "--time=$seconds",
			'-f', $file, '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$stdout, '2>', \$stderr) or die "pgbench failed: $stderr";
	my $elapsed = time - $t0;
	my $calls = $emu->stat('requests.converse') - $before;
	my ($failed) = $stdout =~ /number of failed transactions: (\d+)/;
	my $cps = $calls / $elapsed;
	diag(sprintf('fdw-bench: %-14s %6d calls in %5.1f s = %7.1f calls/s (failed %s)',
		$label, $calls, $elapsed, $cps, $failed // 0));
	return $cps;
}

# warm up every identity, so that the first fetches are not in the figures
run('warm-up', 20);
my @single = (run('1 identity', 1));
my @twenty = (run('20 identities', 20));
push @single, run('1 identity', 1);
push @twenty, run('20 identities', 20);
my $avg = sub { my $s = 0; $s += $_ for @_; $s / @_ };
my ($s, $t) = ($avg->(@single), $avg->(@twenty));
diag(sprintf('fdw-bench: 20 identities / 1 identity = %.3f (%.1f vs %.1f calls/s, mean of 2 runs each)',
	$t / $s, $t, $s));

# fetches per identity per refresh period (10 s) over the whole run
my $log = decode_json($emu->admin('sts-log'))->{assumeRole};
my %n;
$n{ $_->{roleArn} }++ for grep { $_->{outcome} eq 'ok' } @$log;
my @counts = sort { $a <=> $b } values %n;
my $span = 5 * ($seconds + 1);    # the five pgbench runs
diag(sprintf('fdw-bench: AssumeRole per identity over %d s: min %d, max %d; refresh periods of 10 s: %d; fetches per identity per period <= %.2f',
	$span, $counts[0], $counts[-1], int($span / 10), $counts[-1] / ($span / 10)));
cmp_ok($counts[-1] / ($span / 10), '<=', 1.2, 'about one fetch per identity per refresh period');
cmp_ok($t / $s, '>', 0.5, 'twenty identities are not drastically slower than one');

$node->stop;
done_testing();
