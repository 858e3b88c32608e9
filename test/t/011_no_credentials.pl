# No credentials anywhere: the error lists the whole chain with why each
# provider was skipped or failed; a call that was never sent (no
# credentials, half a key pair) is logged as CredentialsUnavailable with 0
# attempts, not as Interrupted with 1; bedrock.credentials shows static
# keys masked.  With and without preloading.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
my $chain = qr/static skipped \(no bedrock\.access_key_id, bedrock\.secret_access_key\); environment skipped \(no AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in the server's environment\); web_identity skipped \(no AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN\); container skipped \(no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI\); instance failed \(could not reach the instance metadata service/;

# nothing in the environment either; nothing listens on port 1
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_EC2_METADATA_DISABLED);
my $no_imds = "bedrock.imds_endpoint = 'http://127.0.0.1:1'\n";

# 1. preloaded: the worker's error lists every provider
my $node = $emu->preloaded_node('nocreds', credentials => 0,
	conf => $no_imds . "bedrock.database = 'postgres'\nbedrock.usage_flush_ms = 100\n");
my ($ret, $out, $err) = $node->psql('postgres', "SELECT bedrock_chat('$model', 'x')");
like($err, qr/ERROR:  no valid AWS credentials/, 'preloaded: no credentials is an error');
like($err, $chain, 'preloaded: the detail lists the whole chain, why each was skipped');

# 2. never sent: logged as such, with 0 attempts
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE error_code = 'CredentialsUnavailable' AND attempts = 0"),
	'the unsent call is logged as CredentialsUnavailable with 0 attempts');

# 3. half a key pair: which setting is set and which is missing, no value
($ret, $out, $err) = $node->psql('postgres',
	"SET bedrock.access_key_id = 'AKIDHALFPAIR00009876'; SELECT bedrock_chat('$model', 'x')");
like($err, qr/incomplete AWS credentials in static: bedrock\.access_key_id is set, bedrock\.secret_access_key is not/,
	'half a key pair names the settings');
unlike($err, qr/HALFPAIR/, 'and not the value');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM bedrock.usage_log WHERE error_code = 'CredentialsUnavailable' AND attempts = 0"),
	'the half-configured call is logged as CredentialsUnavailable too');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM bedrock.usage_log WHERE error_code IN ('Interrupted', 'Cancelled')"),
	'0', 'no unsent call is logged as interrupted');
is($emu->stat('requests.converse'), '0', 'nothing reached Bedrock');

# 4. static keys in bedrock.credentials: a row, the key id masked
is($node->safe_psql('postgres',
		"SET bedrock.access_key_id = 'AKIDSTATICKEY0001234'; "
		  . "SET bedrock.secret_access_key = 'notShownAnywhere/000000000000000000000'; "
		  . "SELECT cache, source, access_key_id, last_error IS NULL FROM bedrock.credentials"),
	'none|static|AKID****1234|t', 'static keys show as a masked row');
$node->stop;

# 5. not preloaded: the backend's own chain says the same
my $lazy = PostgreSQL::Test::Cluster->new('nocreds_lazy');
$lazy->init;
$lazy->append_conf('postgresql.conf', $emu->conf_lines(0) . $no_imds);
$lazy->start;
$lazy->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');
($ret, $out, $err) = $lazy->psql('postgres', "SELECT bedrock_chat('$model', 'x')");
like($err, qr/ERROR:  no AWS credentials found/, 'not preloaded: no credentials is an error');
like($err, $chain, 'not preloaded: the detail lists the whole chain');
$lazy->stop;

done_testing();
