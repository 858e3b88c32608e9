# The library loaded on demand and preloaded; credentials from the settings
# and from the server's environment; no credentials at all; and no secret
# in the server log whatever happens.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

sub chat_text
{
	my ($node, $prompt) = @_;
	return $node->safe_psql('postgres',
		"SELECT bedrock_chat('$model', '$prompt')->>'text' IS NOT NULL");
}

# 1. not preloaded: CREATE EXTENSION loads the library, settings apply;
# the key comes from the server's environment, as secrets in the settings
# are refused without preloading (012_hostile_secrets.pl)
my $lazy = $emu->on_demand_node('lazy');
is(chat_text($lazy, 'hello'), 't', 'bedrock_chat works without shared_preload_libraries');
is($lazy->safe_psql('postgres', 'SHOW bedrock.endpoint'), $emu->endpoint,
	'settings from postgresql.conf apply when the library loads on demand');
$lazy->stop;

# 2. preloaded
my $node = PostgreSQL::Test::Cluster->new('preloaded');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'bedrock_fdw'\n" . $emu->conf_lines(0));
{
	# the server's environment holds temporary credentials
	local $ENV{AWS_ACCESS_KEY_ID}     = 'ASIAEMULATOR00000002';
	local $ENV{AWS_SECRET_ACCESS_KEY} = 'emulatorSecretKey/0000000000000000000000002';
	local $ENV{AWS_SESSION_TOKEN}     = 'emulatorSessionToken2';
	$node->start;
}
$node->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');
$emu->admin('reset');
is(chat_text($node, 'hello'), 't', 'environment credentials sign the call');
like($emu->admin('stats'), qr/ASIAEMULATOR00000002/,
	'the call was signed with the environment key');

# 3. settings take precedence over the environment (set in the
# configuration file, as the README advises: an ALTER SYSTEM statement
# would itself be logged under log_statement = all)
$node->append_conf('postgresql.conf',
	"bedrock.access_key_id = '$BedrockEmulator::ACCESS_KEY_ID'\n"
	  . "bedrock.secret_access_key = '$BedrockEmulator::SECRET_ACCESS_KEY'\n");
$node->reload;
$emu->admin('reset');
is(chat_text($node, 'hello again'), 't', 'settings credentials sign the call');
like($emu->admin('stats'), qr/AKIDEMULATOR00000001/, 'the settings key was used');

# 4. half-configured settings are an error, not a silent fallback
my ($ret, $out, $err) = $node->psql('postgres',
	"SET bedrock.secret_access_key = ''; SELECT bedrock_chat('$model', 'x')");
like($err, qr/incomplete AWS credentials in static/, 'half-set credentials are reported');
unlike($err, qr/emulatorSecretKey/, 'the secret is not in the error');

# 5. statements that assign secrets are logged (log_statement = all) with
# the values masked, in every form PostgreSQL accepts
$node->safe_psql('postgres', q{SET bedrock.secret_access_key = 'emulatorSecretKey/quoted'});
$node->safe_psql('postgres', q{SET bedrock.session_token TO emulatorSessionTokenBare});
$node->safe_psql('postgres', q{ALTER SYSTEM SET bedrock.session_token = E'emulatorSessionToken\\escaped'});
$node->safe_psql('postgres', q{ALTER SYSTEM SET bedrock.session_token = $tok$emulatorSessionTokenDollar$tok$});
$node->safe_psql('postgres', q{ALTER SYSTEM RESET bedrock.session_token});
($ret, $out, $err) = $node->psql('postgres',
	q{SET bedrock.secret_access_key = 'emulatorSecretKey/failing'; SELECT 1/0});
like($err, qr/division by zero/, 'an error in a statement that sets a secret');
like(slurp_file($node->logfile), qr/bedrock.secret_access_key = '\*{8}'/,
	'the logged statement shows the assignment, masked');
$node->stop;

# 6. no credentials anywhere
my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->append_conf('postgresql.conf', $emu->conf_lines(0));
{
	local $ENV{AWS_ACCESS_KEY_ID};
	local $ENV{AWS_SECRET_ACCESS_KEY};
	local $ENV{AWS_SESSION_TOKEN};
	delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN);
	$bare->start;
}
$bare->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');
($ret, $out, $err) = $bare->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT bedrock_chat('$model', 'x')");
like($err, qr/28000: no AWS credentials found/, 'no credentials: 28000 with a clear message');
$bare->stop;

# 7. nothing secret reached any server log
for my $n ($lazy, $node, $bare)
{
	my $log = slurp_file($n->logfile);
	unlike($log, qr/emulatorSecretKey|emulatorSessionToken/,
		'no secret in the server log of ' . $n->name);
}

done_testing();
