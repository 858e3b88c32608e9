# Per-role AWS identities through the bedrock_fdw foreign data wrapper:
# two roles mapped to two IAM roles call in parallel and each call is
# signed with, and logged under, its own principal; session tags name the
# database and the role; a role without USAGE or mapping gets the
# documented error and nothing is sent; ALTER USER MAPPING takes effect on
# the next call; pg_dump/pg_restore round-trips servers and mappings; the
# worker refreshes 20 identities without a thundering herd; another role
# never reads a mapping's static keys (hostile).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time usleep);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
my $acct = '123456789012';
my $team_a = "arn:aws:iam::$acct:role/team-a";
my $team_b = "arn:aws:iam::$acct:role/team-b";
delete $ENV{$_} for qw(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN);

# The emulator's STS: the roles, and credentials that live 20 s (the
# worker refreshes them every 10 s); again after every reset
sub emulator_setup
{
	$emu->admin('reset');
	$emu->admin('services', '{"sts":{"maxLifetimeSeconds":20}}');
	$emu->admin('role', qq({"arn":"$team_a"}));
	$emu->admin('role', qq({"arn":"$team_b","externalId":"team-b-ext"}));
	$emu->admin('role', '[' . join(',', map { sprintf('{"arn":"arn:aws:iam::%s:role/herd-%02d"}', $acct, $_) } 1 .. 20) . ']');
}
emulator_setup();

my $node = $emu->preloaded_node('fdw',
	conf => "bedrock.sts_endpoint = '" . $emu->endpoint . "'\n"
	  . "max_connections = 60\n"
	  . "bedrock.max_identities = 40\n"
	  . "bedrock.credential_wait_ms = 10000\n");

sub sts_log
{
	return decode_json($emu->admin('sts-log'))->{assumeRole};
}

$node->safe_psql('postgres', qq{
	CREATE ROLE alice LOGIN;  CREATE ROLE bob LOGIN;
	CREATE ROLE carol LOGIN;  CREATE ROLE dave LOGIN;
	GRANT bedrock_user TO alice, bob, carol, dave;
	CREATE SERVER prod FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region 'us-east-1');
	GRANT USAGE ON FOREIGN SERVER prod TO alice, bob, dave;
	CREATE USER MAPPING FOR alice SERVER prod OPTIONS (role_arn '$team_a');
	CREATE USER MAPPING FOR bob SERVER prod OPTIONS (role_arn '$team_b', external_id 'team-b-ext');
});

# 1. two roles, two IAM roles, in parallel: 8 backends alternate between
# alice's and bob's calls
$node->pgbench('--no-vacuum --client=8 --jobs=4 --transactions=25', 0,
	[qr{actually processed: 200/200}], [qr{^$}], 'alice and bob call in parallel',
	{
		'alice@1' => "SET ROLE alice;\nSELECT bedrock_chat('$model', 'as alice', NULL, '{\"server\": \"prod\"}');\nRESET ROLE;\n",
		'bob@1' => "SET ROLE bob;\nSELECT bedrock_chat('$model', 'as bob', NULL, '{\"server\": \"prod\"}');\nRESET ROLE;\n",
	});
my $alice_arn = "arn:aws:sts::$acct:assumed-role/team-a/pg-alice";
my $bob_arn = "arn:aws:sts::$acct:assumed-role/team-b/pg-bob";
my $by_principal = decode_json($emu->admin('stats'))->{callsByPrincipal};
$node->poll_query_until('postgres',
	"SELECT count(*) = 200 FROM bedrock.usage_log WHERE server_name = 'prod'")
  or die 'usage rows did not arrive';
my $logged = $node->safe_psql('postgres',
	"SELECT role_name, principal_arn, count(*) FROM bedrock.usage_log WHERE server_name = 'prod' GROUP BY 1, 2 ORDER BY 1");
my ($alice_n) = $logged =~ /^alice\|\Q$alice_arn\E\|(\d+)$/m;
my ($bob_n) = $logged =~ /^bob\|\Q$bob_arn\E\|(\d+)$/m;
ok(defined $alice_n && defined $bob_n && $alice_n + $bob_n == 200,
	"every call logged under its role's own principal ($logged)");
is($by_principal->{$alice_arn} // 0, $alice_n, "Bedrock saw alice's $alice_n calls signed as team-a");
is($by_principal->{$bob_arn} // 0, $bob_n, "Bedrock saw bob's $bob_n calls signed as team-b");
is(scalar(keys %$by_principal), 2, 'no call was signed by anyone else');

my @assumed = grep { $_->{outcome} eq 'ok' } @{ sts_log() };
my %per_role;
$per_role{ $_->{roleArn} }++ for @assumed;
cmp_ok($per_role{$team_a} // 0, '>=', 1, 'team-a assumed');
cmp_ok($per_role{$team_a} // 0, '<=', 2, "200 calls from 8 backends cost $per_role{$team_a} AssumeRole of team-a");
my ($tag) = grep { $_->{roleArn} eq $team_b } @assumed;
is_deeply($tag->{tags}, { postgres_database => 'postgres', postgres_role => 'bob' },
	'the session tags name the database and the role');
is($tag->{sessionName}, 'pg-bob', 'the session name names the role');
ok($tag->{externalIdGiven}, 'the external id was sent');

# 2. no USAGE, no mapping: the documented errors, and nothing is sent
my $before = $emu->stat('requests.converse');
my ($ret, $out, $err) = $node->psql('postgres',
	"SET ROLE carol; SELECT bedrock_chat('$model', 'no usage', NULL, '{\"server\": \"prod\"}')");
like($err, qr/permission denied for foreign server prod.*HINT:  GRANT USAGE ON FOREIGN SERVER prod TO carol;/s,
	'a role without USAGE: 42501 with the GRANT to run');
($ret, $out, $err) = $node->psql('postgres',
	"SET ROLE dave; SET bedrock.server = prod; SELECT bedrock_chat('$model', 'no mapping')");
like($err, qr/no user mapping for role "dave" on server "prod".*HINT:  CREATE USER MAPPING FOR dave SERVER prod/s,
	'a role without a mapping: 28000 with the CREATE USER MAPPING to run');
is($emu->stat('requests.converse'), $before, 'no request was sent for either');

# 3. ALTER USER MAPPING takes effect on the next call: in the session that
# used the old identity, and in a new one
($ret, $out, $err) = $node->psql('postgres', qq{
	SET ROLE alice; SET bedrock.server = prod;
	SELECT bedrock_whoami()->>'arn';
	RESET ROLE;
	ALTER USER MAPPING FOR alice SERVER prod OPTIONS (SET role_arn '$team_b', ADD external_id 'team-b-ext');
	SET ROLE alice;
	SELECT bedrock_whoami()->>'arn';
	SELECT bedrock_chat('$model', 'after alter')->>'stop_reason';});
is($out, "$alice_arn\narn:aws:sts::$acct:assumed-role/team-b/pg-alice\nend_turn",
	'after ALTER USER MAPPING the same session is team-b at once');
is($node->safe_psql('postgres', "SET ROLE alice; SET bedrock.server = prod; SELECT bedrock_whoami()->>'arn'"),
	"arn:aws:sts::$acct:assumed-role/team-b/pg-alice", 'and so is a new session');
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM bedrock.usage_log WHERE principal_arn = 'arn:aws:sts::$acct:assumed-role/team-b/pg-alice'")
  or die 'the call after ALTER USER MAPPING was not logged under team-b';
pass('the call after ALTER USER MAPPING is logged under team-b');

# 4. hostile: static keys in a mapping are not readable by another role,
# through any view, and never in an error
$node->safe_psql('postgres', q{
	CREATE USER MAPPING FOR carol SERVER prod
	  OPTIONS (access_key_id 'AKIAHOSTILE000000001', secret_access_key 'carol-secret-xyzzy-1234')});
for my $q ('SELECT umoptions::text FROM pg_user_mappings',
	'SELECT row_to_json(c)::text FROM bedrock.credentials c',
	'SELECT srvoptions::text FROM pg_foreign_server',
	"SELECT umoptions::text FROM pg_user_mapping")
{
	($ret, $out, $err) = $node->psql('postgres', "SET ROLE bob; $q");
	unlike("$out $err", qr/carol-secret-xyzzy/, "bob cannot read carol's secret: $q");
}
$node->safe_psql('postgres', 'GRANT USAGE ON FOREIGN SERVER prod TO carol');
($ret, $out, $err) = $node->psql('postgres',
	"SET ROLE carol; SELECT bedrock_chat('$model', 'static keys', NULL, '{\"server\": \"prod\"}')");
like($err, qr/no AWS credentials|InvalidClientTokenId|UnrecognizedClient|security token/i,
	'an unknown static key is refused by Bedrock');
unlike($err, qr/carol-secret-xyzzy/, 'the error does not show the secret');
my $log = slurp_file($node->logfile);
unlike($log, qr/carol-secret-xyzzy/, 'the server log does not show the secret');

# 5. pg_dump / pg_restore round-trips servers and user mappings
my $dump = "${PostgreSQL::Test::Utils::tmp_check}/fdw.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
my $catalog = q{SELECT s.srvname, s.srvoptions, m.usename,
	(SELECT array_agg(o ORDER BY o) FROM unnest(m.umoptions) o), s.srvacl
	FROM pg_foreign_server s LEFT JOIN pg_user_mappings m ON m.srvid = s.oid ORDER BY 1, 3};
is($node->safe_psql('restored', $catalog), $node->safe_psql('postgres', $catalog),
	'servers, their grants and user mappings are restored as they were');

# 6. 20 identities used by 20 backends for 25 s, credentials living 20 s:
# each identity is fetched on first use and then once per refresh period
# (10 s), never twice in a row by several backends
$node->safe_psql('postgres', join("\n",
	'CREATE SERVER herd FOREIGN DATA WRAPPER bedrock_fdw;',
	map {
		my $r = sprintf('herd_%02d', $_);
		sprintf("CREATE ROLE %s; GRANT bedrock_user TO %s; GRANT USAGE ON FOREIGN SERVER herd TO %s;"
			  . " CREATE USER MAPPING FOR %s SERVER herd OPTIONS (role_arn 'arn:aws:iam::%s:role/herd-%02d');",
			$r, $r, $r, $r, $acct, $_)
	} 1 .. 20));
emulator_setup();
my $t0 = time;
$node->pgbench('--no-vacuum --client=20 --jobs=4 --time=25', 0,
	[qr{processed: \d+}], [qr{^$}], '20 backends round-robin over 20 identities',
	{
		'herd' => "\\set r random(1, 20)\n"
		  . "SELECT 'herd_' || lpad(:r::text, 2, '0') AS rn \\gset\n"
		  . "SET ROLE :rn;\n"
		  . "SELECT bedrock_chat('$model', 'herd', NULL, '{\"server\": \"herd\"}');\n"
		  . "RESET ROLE;\n"
	});
my $elapsed = time - $t0;
my %fetches;
for my $e (grep { $_->{roleArn} =~ /herd-/ } @{ sts_log() })
{
	push @{ $fetches{ $e->{roleArn} } }, $e;
}
is(scalar(keys %fetches), 20, 'every identity was fetched');
my ($max_fetches, $min_gap) = (0, 1e9);
for my $arn (keys %fetches)
{
	my @t = sort map { $_->{at} } @{ $fetches{$arn} };
	$max_fetches = @t if @t > $max_fetches;
	for my $i (1 .. $#t)
	{
		my $gap = iso_seconds($t[$i]) - iso_seconds($t[ $i - 1 ]);
		$min_gap = $gap if $gap < $min_gap;
	}
	ok(!grep({ $_->{outcome} ne 'ok' } @{ $fetches{$arn} }), "$arn: every AssumeRole succeeded");
}
# the refresh period is 10 s: over ${elapsed}s at most 1 + elapsed/10 fetches
cmp_ok($max_fetches, '<=', 1 + int($elapsed / 10) + 1,
	"at most one fetch per identity per refresh period (max $max_fetches in ${elapsed}s)");
cmp_ok($min_gap, '>=', 5, "no identity fetched twice within 5 s (closest: ${min_gap}s)");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM bedrock.credentials WHERE server_name = 'herd' AND last_error IS NULL AND expiration > now()"),
	20, 'bedrock.credentials shows the 20 identities, all valid');
note("herd: " . $emu->stat('requests.converse') . " calls in ${elapsed}s, fetches per identity up to $max_fetches");

sub iso_seconds
{
	my ($iso) = @_;
	my ($h, $m, $s) = $iso =~ /T(\d\d):(\d\d):(\d\d(?:\.\d+)?)Z$/;
	return $h * 3600 + $m * 60 + $s;
}

$node->stop;
done_testing();
