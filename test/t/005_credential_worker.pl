# The credential worker keeps one copy of temporary credentials for the
# whole server: 20 backends x 50 calls cost at most 2 fetches; short-lived
# credentials are refreshed with no failed call; an IMDS outage is ridden
# out until the credentials expire, then reported clearly; a terminated
# worker comes back; credentials Bedrock rejects are replaced at once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'bedrock_fdw'\n"
	  . "max_connections = 40\n"
	  . $emu->conf_lines(0)
	  . "bedrock.credential_source = 'instance'\n"
	  . "bedrock.imds_endpoint = '" . $emu->endpoint . "'\n"
	  . "bedrock.sts_endpoint = '" . $emu->endpoint . "'\n"
	  . "bedrock.credential_wait_ms = 3000\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');

sub chat
{
	my ($prompt) = @_;
	return $node->psql('postgres', "SELECT bedrock_chat('$model', '$prompt')->>'stop_reason'");
}

# 1. steady state: 20 backends x 50 calls, at most 2 credential fetches
is(($node->psql('postgres', "SELECT bedrock_chat('$model', 'warm up')->>'stop_reason'"))[1],
	'end_turn', 'the first call fetches credentials through the worker');
$emu->admin('reset');
$node->pgbench('--no-vacuum --client=20 --jobs=4 --transactions=50', 0, [qr{actually processed: 1000/1000}],
	[qr{^$}], '20 backends x 50 calls',
	{ 'bedrock_calls' => "SELECT bedrock_chat('$model', 'pgbench call');\n" });
is($emu->stat('requests.converse'), 1000, 'all 1000 calls reached Bedrock');
my $fetches = $emu->stat('credentialFetches.imdsCredentials');
cmp_ok($fetches, '<=', 2, "1000 calls from 20 backends cost $fetches credential fetches");

# 2. credentials that live 30 s are refreshed ahead of expiry: 35 s of
# calls see no failure and at least one refresh
$emu->admin('services', '{"imds":{"lifetimeSeconds":30}}');
$node->append_conf('postgresql.conf', "bedrock.role_session_name = 'short-lived'\n");
$node->reload;    # a changed setting makes the worker fetch anew
$node->poll_query_until('postgres',
	"SELECT expiration < now() + interval '40 seconds' FROM bedrock.credentials")
  or die 'the worker did not fetch short-lived credentials';
my $refreshes_before = $node->safe_psql('postgres', 'SELECT refresh_count FROM bedrock.credentials');
my ($calls, $failures) = (0, 0);
my $end = time + 35;
while (time < $end)
{
	my ($ret, $out, $err) = chat('short-lived');
	$calls++;
	$failures++ if $ret != 0 || $out ne 'end_turn';
	usleep(200_000);
}
is($failures, 0, "no failed call in $calls calls across credential expiry");
cmp_ok($node->safe_psql('postgres', 'SELECT refresh_count FROM bedrock.credentials'),
	'>', $refreshes_before, 'the worker refreshed the short-lived credentials');

# 3. IMDS down: calls go on with the cached credentials until they expire,
# then fail with a clear error; IMDS back: calls work again.  IMDS goes
# down just after a refresh, so that the cached credentials have well over
# the 10 s of life a backend needs to take them (on a loaded machine the
# refresh due at half-life may come late)
$node->poll_query_until('postgres',
	"SELECT expiration > now() + interval '20 seconds' FROM bedrock.credentials")
  or die 'the worker did not refresh the short-lived credentials';
$emu->admin('services', '{"imds":{"enabled":false}}');
my $expires = $node->safe_psql('postgres',
	'SELECT extract(epoch FROM expiration - now()) FROM bedrock.credentials');
my ($ret, $out, $err) = chat('imds down');
is($out, 'end_turn', "with IMDS down the cached credentials still serve (expire in ${expires}s)");
usleep(int(($expires + 1) * 1_000_000)) if $expires > 0;
($ret, $out, $err) = chat('after expiry');
like($err, qr/no valid AWS credentials/, 'after expiry: a clear error');
like($err, qr/DETAIL:.*instance/s, 'naming the failing source');
$emu->admin('services', '{"imds":{"enabled":true,"lifetimeSeconds":3600}}');
($ret, $out, $err) = chat('imds back');
is($out, 'end_turn', 'IMDS back: calls work again');

# 4. the worker terminated: calls go on, the worker comes back
my $pid = $node->safe_psql('postgres', 'SELECT worker_pid FROM bedrock.credentials');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
is((chat('worker gone'))[1], 'end_turn', 'calls work while the worker restarts');
ok($node->poll_query_until('postgres',
	"SELECT worker_pid IS NOT NULL AND worker_pid <> $pid FROM bedrock.credentials"),
	'the worker came back');
is((chat('worker back'))[1], 'end_turn', 'and calls keep working');

# 5. credentials that Bedrock rejects as expired are replaced at once: the
# call is retried once with fresh ones and succeeds
$emu->admin('fault', '{"type":"error","code":"ExpiredTokenException","status":403}');
my $gen_before = $node->safe_psql('postgres', 'SELECT refresh_count FROM bedrock.credentials');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT bedrock_chat('$model', 'rejected')->>'stop_reason'");
is($out, 'end_turn', 'a call whose credentials were rejected succeeds after a refresh');
cmp_ok($node->safe_psql('postgres', 'SELECT refresh_count FROM bedrock.credentials'),
	'>', $gen_before, 'the rejection made the worker fetch new credentials');

# 6. expired credentials served by IMDS are refused, not used
$emu->admin('services', '{"imds":{"serveExpired":true}}');
$node->append_conf('postgresql.conf', "bedrock.role_session_name = 'expired'\n");
$node->reload;
($ret, $out, $err) = chat('expired from imds');
like($err, qr/returned credentials that expired/, 'expired credentials from IMDS are reported as such');
$emu->admin('services', '{"imds":{"serveExpired":false}}');

unlike(slurp_file($node->logfile), qr/SecretAccessKey|emulatorSecretKey/, 'no secret in the log');
$node->stop;
done_testing();
