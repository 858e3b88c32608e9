# An unprivileged role tries to read any credential, with the library
# loaded on demand and preloaded: settings (SHOW, current_setting,
# pg_settings, pg_file_settings, pg_db_role_setting), the credential views
# and functions, the errors it can provoke, other roles' queries in
# pg_stat_activity, and the server log after every way of assigning or
# passing a secret that an administrator might use.  Each attempt fails
# with the documented error, and no secret appears anywhere: the whole log
# file is searched for every secret value at the end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu   = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

# the emulator's temporary key: its secret and session token are what no
# unprivileged role may ever see
my $TEMP_KEY_ID = 'ASIAEMULATOR00000002';
my $TEMP_SECRET = 'emulatorSecretKey/0000000000000000000000002';
my $TEMP_TOKEN  = 'emulatorSessionToken2';

# every secret value used below, searched for in outputs and in the log
my @secrets = ($BedrockEmulator::SECRET_ACCESS_KEY, $TEMP_SECRET, $TEMP_TOKEN);

sub as_mallory
{
	my ($node, $sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', $sql, extra_params => [ '-U', 'mallory' ]);
	return ($ret, $out . $err);
}

sub no_secret_in
{
	my ($text, $what) = @_;
	my @found = grep { index($text, $_) >= 0 } @secrets;
	is("@found", '', "no secret in $what");
}

sub setup_roles
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION bedrock_fdw;
		CREATE ROLE mallory LOGIN;
		GRANT EXECUTE ON FUNCTION bedrock_chat(text, text, text, jsonb) TO mallory;
		GRANT EXECUTE ON FUNCTION bedrock_chat_batch(text, text[], text, jsonb) TO mallory;
	});
}

# The attempts of an unprivileged role on settings, views and functions.
sub mallory_reads_nothing
{
	my ($node, $label) = @_;
	my ($ret, $out);

	# in a session that has not loaded the library yet, and in one that has
	for my $load ('', "SELECT bedrock_chat('$model', 'hi') IS NOT NULL;\n")
	{
		my $when = $load ? 'after loading' : 'before loading';

		($ret, $out) = as_mallory($node, $load . 'SHOW bedrock.secret_access_key');
		isnt($ret, 0, "$label, $when: SHOW of the secret fails");
		no_secret_in($out, "$label, $when: SHOW");
		($ret, $out) = as_mallory($node,
			$load . "SELECT current_setting('bedrock.session_token', true)");
		no_secret_in($out, "$label, $when: current_setting");
		($ret, $out) = as_mallory($node,
			$load . "SELECT name, setting FROM pg_settings WHERE name LIKE 'bedrock.%'");
		no_secret_in($out, "$label, $when: pg_settings");
		($ret, $out) = as_mallory($node, $load . 'SHOW ALL');
		no_secret_in($out, "$label, $when: SHOW ALL");
	}

	($ret, $out) = as_mallory($node, 'SELECT * FROM pg_file_settings');
	like($out, qr/permission denied/, "$label: pg_file_settings is refused");
	($ret, $out) = as_mallory($node, 'SELECT setconfig FROM pg_db_role_setting');
	no_secret_in($out, "$label: pg_db_role_setting");
	($ret, $out) = as_mallory($node, 'SELECT * FROM bedrock.credentials');
	like($out, qr/permission denied for view credentials/,
		"$label: bedrock.credentials is refused");
	($ret, $out) = as_mallory($node, 'SELECT bedrock_whoami()');
	like($out, qr/permission denied for function bedrock_whoami/,
		"$label: bedrock_whoami is refused");
	($ret, $out) = as_mallory($node,
		"SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL, 'us-east-1', 'bedrock', 'AKIDX', 'secretsecret')");
	like($out, qr/permission denied for function bedrock_sign_request/,
		"$label: bedrock_sign_request is not executable by PUBLIC");

	# errors it can provoke
	for my $sql (
		"SELECT bedrock_chat('no-such-model', 'hi')",
		"SELECT bedrock_chat('$model', 'hi', NULL, '{\"timeout_ms\": \"x\"}')",
		"SET bedrock.secret_access_key = 'x'",
		"SET bedrock.endpoint = 'http://127.0.0.1:9'",
		"SELECT set_config('bedrock.session_token', 'x', false)")
	{
		($ret, $out) = as_mallory($node, $sql);
		no_secret_in($out, "$label: the error of $sql");
	}
}

# The log tricks of a superuser: every way to assign or pass a secret, in
# sessions that have loaded the library ($load is prepended: without
# preloading, a session that never loads it is not redacted, as documented).
# The values are prefixed with $tag so that both servers use their own.
sub log_tricks
{
	my ($node, $tag, $load) = @_;
	my @tricks = (
		[ "SELECT set_config('bedrock.secret_access_key', '${tag}setConfigSecret/0001', false)", "${tag}setConfigSecret/0001" ],
		[ qq{SET "bedrock"."secret_access_key" = '${tag}quotedNameSecret/0001'}, "${tag}quotedNameSecret/0001" ],
		[ "SET bedrock.secret_access_key /* note */ = '${tag}commentSecret/0001'", "${tag}commentSecret/0001" ],
		[ "SET bedrock.secret_access_key -- note\n= '${tag}newlineSecret/0001'", "${tag}newlineSecret/0001" ],
		[ "SET bedrock . secret_access_key = '${tag}spacedDotSecret/0001'", "${tag}spacedDotSecret/0001" ],
		[ "SET bedrock.session_token TO \$q\$${tag}dollarToken0001\$q\$", "${tag}dollarToken0001" ],
		[ "SET bedrock.session_token = E'${tag}escapedToken\\\\0001'", "${tag}escapedToken" ],
		[ "ALTER SYSTEM SET bedrock.session_token = '${tag}alterSystemToken0001'", "${tag}alterSystemToken0001" ],
		[ 'ALTER SYSTEM RESET bedrock.session_token', undef ],
		[ "SET bedrock.secret_access_key = '${tag}failingStatementSecret/0001'; SELECT 1/0", "${tag}failingStatementSecret/0001" ],
		[ "SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL, 'bad region', 'bedrock', 'AKIDX', '${tag}signRequestSecret/0001', '${tag}signRequestToken0001')", "${tag}signRequestSecret/0001", "${tag}signRequestToken0001" ],
		[ "DO \$\$BEGIN RAISE EXCEPTION 'boom' USING DETAIL = current_setting('bedrock.secret_access_key'), HINT = current_setting('bedrock.session_token'); END\$\$", undef ],
	);
	for my $t (@tricks)
	{
		my ($sql, @values) = @$t;
		push @secrets, grep { defined } @values;
		my ($r, $o, $e) = $node->psql('postgres', $load . $sql);
		no_secret_in($e, "the errors of: $sql");
	}

	# extended protocol: the values travel as parameters
	my $script = $node->basedir . '/set_secret.sql';
	append_to_file($script,
		$load
		  . "SELECT set_config('bedrock.secret_access_key', :v, false);\n"
		  . "SELECT set_config(:n, :t, false);\n");
	push @secrets, "${tag}parameterSecret/0001", "${tag}parameterToken0001";
	$node->command_ok(
		[
			'pgbench', '-n', '-M', 'extended', '-t', '1', '-f', $script,
			'-D', "v=${tag}parameterSecret/0001", '-D', 'n=bedrock.session_token',
			'-D', "t=${tag}parameterToken0001", 'postgres'
		],
		'secrets passed as parameters of the extended protocol');
}

# ---------------------------------------------------------------------
# 1. Loaded on demand.  Supported: the secret comes from the server's
# environment, so no setting holds it.
my $lazy = PostgreSQL::Test::Cluster->new('lazy_secrets');
$lazy->init;
$lazy->append_conf('postgresql.conf',
	$emu->conf_lines(0) . "log_statement = all\nlog_min_messages = info\n");
{
	local $ENV{AWS_ACCESS_KEY_ID}     = $TEMP_KEY_ID;
	local $ENV{AWS_SECRET_ACCESS_KEY} = $TEMP_SECRET;
	local $ENV{AWS_SESSION_TOKEN}     = $TEMP_TOKEN;
	$lazy->start;
}
setup_roles($lazy);
my ($ret, $out) = as_mallory($lazy,
	"SELECT bedrock_chat('$model', 'hi')->>'text' IS NOT NULL");
like($out, qr/^t$/m, 'on demand: a granted role calls Bedrock with the environment key');
mallory_reads_nothing($lazy, 'on demand');

log_tricks($lazy, 'lazy', "LOAD 'bedrock_fdw';\n");

# (the log up to here: the supported configuration)
my $lazy_log_supported = slurp_file($lazy->logfile);
no_secret_in($lazy_log_supported, 'on demand: the server log');

# Not supported: a secret in postgresql.conf without preloading.  It was a
# placeholder every role could read before the library came, so it is
# refused with an error that says why; nothing is signed with it.
$lazy->append_conf('postgresql.conf',
	"bedrock.access_key_id = '$BedrockEmulator::ACCESS_KEY_ID'\n"
	  . "bedrock.secret_access_key = '$BedrockEmulator::SECRET_ACCESS_KEY'\n");
$lazy->reload;
$emu->admin('reset');
($ret, $out) = as_mallory($lazy, "SELECT bedrock_chat('$model', 'hi')");
like($out,
	qr/ERROR:  bedrock.secret_access_key is set, but bedrock_fdw is not in shared_preload_libraries/,
	'on demand: a secret from the settings is refused');
like($out, qr/HINT:  Add bedrock_fdw to shared_preload_libraries/,
	'on demand: the hint says to preload or use another source');
no_secret_in($out, 'on demand: the refusal');
unlike($emu->admin('stats'), qr/AKIDEMULATOR00000001/,
	'on demand: nothing was signed with the refused key');
$lazy->stop;

# ---------------------------------------------------------------------
# 2. Preloaded, the secrets in postgresql.conf (the temporary key, with its
# session token); every statement logged, with its parameters.
my $node = PostgreSQL::Test::Cluster->new('preloaded_secrets');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'bedrock_fdw'\n"
	  . $emu->conf_lines(0)
	  . "bedrock.access_key_id = '$TEMP_KEY_ID'\n"
	  . "bedrock.secret_access_key = '$TEMP_SECRET'\n"
	  . "bedrock.session_token = '$TEMP_TOKEN'\n"
	  . "log_statement = all\nlog_min_messages = info\n"
	  . "log_parameter_max_length = -1\n");
$node->start;
setup_roles($node);
($ret, $out) = as_mallory($node,
	"SELECT bedrock_chat('$model', 'hi')->>'text' IS NOT NULL");
like($out, qr/^t$/m, 'preloaded: a granted role calls Bedrock with the configured key');
mallory_reads_nothing($node, 'preloaded');

# Credential settings cannot be stored where every role reads them.
for my $sql (
	"ALTER ROLE mallory SET bedrock.secret_access_key = 'roleSecretValue/0001'",
	"ALTER DATABASE postgres SET bedrock.session_token = 'databaseTokenValue0001'",
	"CREATE FUNCTION f() RETURNS int LANGUAGE sql SET bedrock.secret_access_key = 'functionSecretValue/0001' AS 'SELECT 1'")
{
	my ($r, $o, $e) = $node->psql('postgres', $sql);
	like($e,
		qr/ERROR:  bedrock credential settings cannot be set per role, per database or per function/,
		"refused: $sql");
}
push @secrets, 'roleSecretValue/0001', 'databaseTokenValue0001',
  'functionSecretValue/0001';
($ret, $out) = as_mallory($node,
	'SELECT setconfig FROM pg_db_role_setting UNION ALL SELECT proconfig FROM pg_proc');
no_secret_in($out, 'preloaded: pg_db_role_setting and pg_proc');

# Another role's query, with a secret in it, seen from pg_stat_activity.
push @secrets, 'statActivitySecret/0001';
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/,
	"\\echo started\nSELECT pg_sleep(120) /* SET bedrock.secret_access_key = 'statActivitySecret/0001' */;\n");
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'})
  or die 'the sleeping query did not show up';
($ret, $out) = as_mallory($node, 'SELECT query FROM pg_stat_activity');
like($out, qr/<insufficient privilege>/, 'another role\'s query is hidden');
no_secret_in($out, 'pg_stat_activity seen by mallory');
$node->safe_psql('postgres',
	q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'});
$bg->quit;

# A signature error quotes the canonical request, x-amz-security-token
# included: it reaches neither an error, the on_error JSON, nor
# bedrock_whoami's message.
$node->safe_psql('postgres', 'GRANT EXECUTE ON FUNCTION bedrock_whoami() TO mallory');
my ($r, $o, $e) = $node->psql('postgres',
	"SET bedrock.secret_access_key = 'wrongSecretKey/00000000000000000000002';\n"
	  . "SELECT response FROM bedrock_chat_batch('$model', ARRAY['a', 'b']);\n"
	  . "SELECT bedrock_chat('$model', 'c');\n"
	  . "SELECT bedrock_whoami();\n");
push @secrets, 'wrongSecretKey/00000000000000000000002';
like($o, qr/InvalidSignatureException/, 'the batch reports the signature error in JSON');
unlike($o . $e, qr/x-amz-security-token:|Canonical String/i,
	'the quoted canonical request is cut from errors and JSON');
no_secret_in($o . $e, 'signature errors');

log_tricks($node, 'pre', '');

# a reload that changes a secret: the postmaster logs the change
$node->append_conf('postgresql.conf', "bedrock.session_token = 'reloadedToken0001'\n");
push @secrets, 'reloadedToken0001';
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT current_setting('bedrock.session_token') = 'reloadedToken0001'})
  or die 'the reload did not take';

$node->stop;

# The whole log: not one secret, and the statements are there, masked.
my $log = slurp_file($node->logfile);
no_secret_in($log, 'the server log of the preloaded server');
like($log, qr/statement: SET bedrock\.secret_access_key \/\* note \*\/ = '\*{8}'/,
	'the log shows the masked assignment');
like($log, qr/parameter "bedrock\.session_token" changed to "\*{8}"/,
	'the reload is logged, masked');
like($log, qr/[Pp]arameters: \$1 = 'bedrock\.session_token', \$2 = '\*{8}'/,
	'the parameters of set_config are logged, the value masked');

done_testing();
