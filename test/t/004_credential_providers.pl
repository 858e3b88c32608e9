# Each credential provider end to end against the emulator: the EC2
# instance role (IMDSv2), the container endpoint, a web identity token,
# sts:AssumeRole on top (with and without an external id), without
# shared_preload_libraries, and bedrock_whoami() for each.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
my $account = '123456789012';

delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_FULL_URI
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN);

# A node whose only credentials are what $source fetches; %env is the
# server's environment.
sub provider_node
{
	my ($name, $source, $preload, %env) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		($preload ? "shared_preload_libraries = 'bedrock_fdw'\n" : '')
		  . $emu->conf_lines(0)
		  . "bedrock.credential_source = '$source'\n"
		  . "bedrock.imds_endpoint = '" . $emu->endpoint . "'\n"
		  . "bedrock.sts_endpoint = '" . $emu->endpoint . "'\n");
	{
		local %ENV = (%ENV, %env);
		$node->start;
	}
	$node->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');
	return $node;
}

sub whoami_arn
{
	my ($node) = @_;
	return $node->safe_psql('postgres', "SELECT bedrock_whoami()->>'arn'");
}

sub chat_ok
{
	my ($node, $what) = @_;
	is($node->safe_psql('postgres',
			"SELECT bedrock_chat('$model', 'hello')->>'stop_reason'"),
		'end_turn', "bedrock_chat works with $what");
}

# 1. the EC2 instance role
my $inst = provider_node('instance', 'instance', 1);
chat_ok($inst, 'the instance role');
like(whoami_arn($inst), qr{^arn:aws:sts::$account:assumed-role/emulator-instance-role/},
	'whoami: the instance role');
my $row = $inst->safe_psql('postgres',
	"SELECT cache, source, access_key_id ~ '^ASIA\\*{4}.{4}\$', expiration > now(), refresh_count, worker_pid IS NOT NULL FROM bedrock.credentials");
is($row, 'worker|instance|t|t|1|t', 'bedrock.credentials: shared cache filled once by the worker');
unlike($inst->safe_psql('postgres', 'SELECT row_to_json(c)::text FROM bedrock.credentials c'),
	qr/SecretAccessKey|Token/i, 'bedrock.credentials shows no secret');
my $who = $inst->safe_psql('postgres', 'SELECT bedrock_whoami()::text');
like($who, qr/"credential_source": "instance"/, 'whoami names the source');
like($who, qr/"access_key_id": "ASIA\*{4}[A-Z0-9]{4}"/, 'whoami masks the access key id');

# 2. sts:AssumeRole on top of the instance role, after a reload
$inst->append_conf('postgresql.conf',
	"bedrock.role_arn = 'arn:aws:iam::$account:role/bedrock-caller'\n"
	  . "bedrock.role_session_name = 'pg-tap'\n");
$inst->reload;
$inst->poll_query_until('postgres',
	"SELECT bedrock_whoami()->>'arn' LIKE '%assumed-role/bedrock-caller/pg-tap'")
  or die 'the identity did not switch';
pass('SIGHUP with a new bedrock.role_arn switches identity');
is($inst->safe_psql('postgres', 'SELECT source FROM bedrock.credentials'),
	'instance+assume_role', 'the source shows the role assumption');
chat_ok($inst, 'an assumed role');

# 3. a role that demands an external id
$inst->append_conf('postgresql.conf',
	"bedrock.role_arn = 'arn:aws:iam::$account:role/bedrock-partner'\n");
$inst->reload;
$inst->poll_query_until('postgres',
	"SELECT last_error IS NOT NULL OR source IS NULL FROM bedrock.credentials")
  or die 'no reaction to the new role';
my ($ret, $out, $err) = $inst->psql('postgres',
	"SELECT bedrock_chat('$model', 'hello')");
like($err, qr/no valid AWS credentials/, 'without the external id: no credentials');
like($err, qr/AccessDenied/, 'and the AWS reason is given');
$inst->append_conf('postgresql.conf', "bedrock.external_id = 'partner-external-id'\n");
$inst->reload;
$inst->poll_query_until('postgres',
	"SELECT bedrock_whoami()->>'arn' LIKE '%assumed-role/bedrock-partner/%'")
  or die 'the external id did not help';
pass('AssumeRole with the external id succeeds');
chat_ok($inst, 'a role assumed with an external id');
$inst->stop;

# 4. the container credentials endpoint (ECS task role, EKS Pod Identity)
my $cont = provider_node('container', 'container', 1,
	AWS_CONTAINER_CREDENTIALS_FULL_URI => $emu->endpoint . '/v1/credentials',
	AWS_CONTAINER_AUTHORIZATION_TOKEN => 'emulator-container-token');
chat_ok($cont, 'container credentials');
is($cont->safe_psql('postgres', 'SELECT source FROM bedrock.credentials'),
	'container', 'the source is the container endpoint');
$cont->stop;

# ... with a wrong authorization token: a clear error
my $badc = provider_node('container_bad', 'container', 1,
	AWS_CONTAINER_CREDENTIALS_FULL_URI => $emu->endpoint . '/v1/credentials',
	AWS_CONTAINER_AUTHORIZATION_TOKEN => 'not-the-token');
($ret, $out, $err) = $badc->psql('postgres', "SELECT bedrock_chat('$model', 'hello')");
like($err, qr/no valid AWS credentials.*container/s, 'a rejected container token is reported');
unlike($err, qr/not-the-token/, 'the token is not in the error');
$badc->stop;

# 5. a web identity token (EKS IRSA)
my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/token" or die;
print $fh "emulator-web-identity-token\n";
close $fh;
my $web = provider_node('web_identity', 'web_identity', 1,
	AWS_WEB_IDENTITY_TOKEN_FILE => "$dir/token",
	AWS_ROLE_ARN => "arn:aws:iam::$account:role/bedrock-caller",
	AWS_ROLE_SESSION_NAME => 'irsa-session');
chat_ok($web, 'a web identity token');
like(whoami_arn($web), qr{assumed-role/bedrock-caller/irsa-session$},
	'whoami: the web identity role');
$web->stop;

# 6. auto picks the instance role when nothing else is configured, and
# without shared_preload_libraries each backend fetches for itself
my $lazy = provider_node('lazy', 'auto', 0);
($ret, $out, $err) = $lazy->psql('postgres',
	"SELECT bedrock_chat('$model', 'hello')->>'stop_reason'");
is($out, 'end_turn', 'auto finds the instance role');
like($err, qr/NOTICE:  bedrock_fdw is not in shared_preload_libraries/,
	'without preloading a NOTICE says each backend fetches credentials');
is($lazy->safe_psql('postgres', 'SELECT cache, source FROM bedrock.credentials'),
	'backend|', 'bedrock.credentials describes the private cache of a new backend');

# 7. no secret or token reached any log
for my $n ($inst, $cont, $badc, $web, $lazy)
{
	unlike(slurp_file($n->logfile),
		qr/emulator-container-token|emulator-web-identity-token|not-the-token|SecretAccessKey/,
		'no secret in the log of ' . $n->name);
}
$lazy->stop;

done_testing();
