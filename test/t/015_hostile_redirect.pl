# An unprivileged role tries to redirect a request, with the library
# preloaded and loaded on demand: (a) the settings that choose where a
# request goes (bedrock.endpoint, sts_endpoint, imds_endpoint, ca_file,
# region, credential_source, role_arn), set with SET, SET LOCAL, set_config,
# ALTER ROLE ... SET on itself and a function's SET clause, also before the
# library is loaded in the session (a placeholder); (b) model ids crafted
# to leave the /model/{id}/converse path; (c) per-call options naming an
# endpoint.  Every attempt is refused or ignored: the call that follows
# goes to the configured emulator, and a second emulator (the attacker's)
# receives no request at all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu      = BedrockEmulator->start;
my $attacker = BedrockEmulator->start;
my $model    = 'openai.gpt-oss-20b-1:0';
my $evil     = $attacker->endpoint;

delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_FULL_URI
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_AUTHORIZATION_TOKEN);

sub as_mallory
{
	my ($node, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', $sql,
		stdout => \$out, stderr => \$err, timeout => 60, on_error_stop => 0,
		extra_params => [ '-U', 'mallory' ]);
	return ($out, $err);
}

sub setup_roles
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
		CREATE ROLE mallory LOGIN;
		GRANT CREATE ON SCHEMA public TO mallory;
		GRANT EXECUTE ON FUNCTION bedrock_chat(text, text, text, jsonb) TO mallory;
		GRANT EXECUTE ON FUNCTION bedrock_chat_batch(text, text[], text, jsonb) TO mallory;
	});
}

# the attacker's address for each setting that chooses a destination
my @settings = (
	[ 'bedrock.endpoint',          $evil ],
	[ 'bedrock.sts_endpoint',      $evil ],
	[ 'bedrock.imds_endpoint',     $evil ],
	[ 'bedrock.ca_file',           '/tmp/attacker-ca.pem' ],
	[ 'bedrock.region',            'eu-west-1' ],
	[ 'bedrock.credential_source', 'imds' ],
	[ 'bedrock.role_arn',          'arn:aws:iam::123456789012:role/attacker' ],
);

my $chat = "SELECT bedrock_chat('$model', 'echo: redirected?')->>'text';";

# (a) settings: for each way of setting them, one fresh session tries
# every setting, then calls the model.  Without preloading the session has
# not loaded the library yet, so the SET makes a placeholder; "after
# loading" calls the model first.  Each attempt must be refused (ERROR) or
# dropped with a WARNING naming the setting, and the call must still reach
# the configured emulator.
sub settings_are_ignored
{
	my ($node, $label) = @_;
	my %ways = (
		'SET'               => sub { "SET $_[0] = '$_[1]';\n" },
		'SET after loading' => sub { "SET $_[0] = '$_[1]';\n" },
		'SET LOCAL'         => sub { "BEGIN;\nSET LOCAL $_[0] = '$_[1]';\n$chat\nCOMMIT;\n" },
		'set_config'        => sub { "SELECT set_config('$_[0]', '$_[1]', false);\n" },
		'ALTER ROLE SET'    => sub { "ALTER ROLE mallory SET $_[0] = '$_[1]';\n" },
		'a function SET clause' => sub {
			"CREATE OR REPLACE FUNCTION public.mallory_chat() RETURNS text LANGUAGE sql SET $_[0] = '$_[1]' AS \$f\$SELECT bedrock_chat('$model', 'echo: redirected?')->>'text'\$f\$;\n"
			  . "SELECT public.mallory_chat();\nDROP FUNCTION IF EXISTS public.mallory_chat();\n"
		},
	);
	$emu->admin('reset');
	my $answers = 0;
	for my $way (sort keys %ways)
	{
		my $sql = $way eq 'SET after loading' ? $chat . "\n" : '';
		$sql .= $ways{$way}->(@$_) for @settings;
		my ($out, $err) = as_mallory($node, $sql . $chat);
		my @got = ($out =~ /^redirected\?$/mg);
		$answers += @got;
		like($out, qr/^redirected\?\s*\z/m,
			"$label: $way: the call after the attempts is answered")
		  or diag($err);
		for my $s (@settings)
		{
			like($err, qr/(?:ERROR|WARNING):[^\n]*"\Q$s->[0]\E"/,
				"$label: $way $s->[0]: refused or dropped with a warning");
		}
	}
	# a refused or ignored ALTER ROLE must not persist either
	my ($out) = as_mallory($node, $chat);
	like($out, qr/^redirected\?$/m, "$label: a later session still calls the configured emulator");
	$answers++;
	is($emu->stat('requests.converse'), $answers,
		"$label: every call ($answers) went to the configured emulator");
	is($attacker->stat('requests.total'), 0,
		"$label: the attacker received nothing");
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE c LIKE 'bedrock.%'"),
		0, "$label: no ALTER ROLE ... SET bedrock.* was stored");
}

# (b) model ids that try to leave /model/{id}/converse
sub model_ids_stay_in_path
{
	my ($node, $label) = @_;
	my @ids = ('../../x', 'x?y=z', 'x#frag', '@127.0.0.1:9/x', '%2e%2e/',
		"x\ny", "x\r\nHost: 127.0.0.1:9", 'a' x 5000);
	for my $id (@ids)
	{
		(my $shown = $id) =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
		$shown = substr($shown, 0, 20) . '...' if length($shown) > 30;
		$emu->admin('reset');
		my ($out, $err) = as_mallory($node,
			"SELECT bedrock_chat(E'" . join('', map { sprintf('\\x%02x', ord) } split //, $id)
			  . "', 'echo: hi', NULL, '{\"max_attempts\": 1}');");
		is($attacker->stat('requests.total'), 0,
			"$label: model id '$shown': the attacker receives nothing");
		my $stats = $emu->admin('stats');
		my @paths = ($stats =~ /"path":\s*"([^"]*)"/g);
		my @bad = grep { !m{^/model/[A-Za-z0-9._~%-]+/converse$} } @paths;
		is("@bad", '',
			"$label: model id '$shown': every path sent is /model/{encoded id}/converse ("
			  . scalar(@paths) . ' sent)');
		ok(!grep({ m{/\.\./|[?#@]} } @paths),
			"$label: model id '$shown': no dot segment, query, fragment or user information");
	}
}

# (c) per-call options cannot carry a destination
sub options_carry_no_endpoint
{
	my ($node, $label) = @_;
	for my $key ('endpoint', 'url', 'region')
	{
		$emu->admin('reset');
		my ($out, $err) = as_mallory($node,
			"SELECT bedrock_chat('$model', 'echo: hi', NULL, '{\"$key\": \"$evil\"}');");
		like($err, qr/unknown option "$key"/,
			"$label: option \"$key\" is refused");
		($out, $err) = as_mallory($node,
			"SELECT bedrock_chat_batch('$model', ARRAY['echo: a'], NULL, '{\"$key\": \"$evil\"}');");
		like($err, qr/unknown option "$key"/,
			"$label: batch option \"$key\" is refused");
		is($emu->stat('requests.converse'), 0, "$label: option \"$key\": nothing sent");
		is($attacker->stat('requests.total'), 0,
			"$label: option \"$key\": the attacker receives nothing");
	}
}

sub run_all
{
	my ($node, $label) = @_;
	setup_roles($node);
	settings_are_ignored($node, $label);
	model_ids_stay_in_path($node, $label);
	options_carry_no_endpoint($node, $label);
	my $log = slurp_file($node->logfile);
	unlike($log, qr/PANIC|server process .* was terminated by signal/,
		"$label: no crash");
}

# preloaded, credentials in postgresql.conf
my $pre = $emu->preloaded_node('preloaded');
run_all($pre, 'preloaded');
$pre->stop;

# loaded on demand: credentials from the server's environment
my $lazy = $emu->on_demand_node('lazy');
run_all($lazy, 'not preloaded');
$lazy->stop;

is($attacker->stat('requests.total'), 0, 'the attacker received no request at all');
done_testing();
