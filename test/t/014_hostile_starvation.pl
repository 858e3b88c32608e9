# A hostile user tries to starve the others: an unprivileged role
# (mallory), granted only the calling functions, floods the usage queue
# with cheap failing calls, steps around the rate limiter (ARNs, inference
# profiles, model-id churn that fills the limiter's table, rule changes)
# and drains the shared retry quota with calls that time out on purpose.
# Each attempt is contained as documented, and another role (alice) still
# gets her records stored and her calls admitted and retried.  Every check
# counts (records, attempts, admissions); none measures a duration, and the
# waits that must not end are cut short by statement_timeout.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $openai = 'openai.gpt-oss-20b-1:0';
my $openai_arn = "arn:aws:bedrock:us-east-1::foundation-model/$openai";
my $claude = 'anthropic.claude-3-haiku-20240307-v1:0';
my $claude_profile = "us.$claude";
my $alice_model = 'amazon.titan-text-express-v1';

my $node = $emu->preloaded_node('starve',
	conf => "bedrock.usage_queue_size = 32\n"
	  . "bedrock.rate_limits = 'openai.* rpm=1, anthropic.claude-3-haiku* rpm=1, slow.* rpm=1, * rpm=60000'\n");

$node->safe_psql('postgres', q{
CREATE ROLE mallory LOGIN;
CREATE ROLE alice LOGIN;
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT oid FROM pg_proc WHERE proname IN ('bedrock_chat', 'bedrock_chat_batch') LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO mallory, alice', f);
    END LOOP;
END $$;
-- bedrock.rate_limits is no longer PUBLIC's since 0.3.0; mallory watches
-- it to time the attack, which takes no other privilege
GRANT EXECUTE ON FUNCTION bedrock_rate_limits() TO mallory;
GRANT SELECT ON bedrock.rate_limits TO mallory;
});

# Run $sql as $role; returns (stdout, stderr).
sub run_as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return ($out, $err);
}

# A call as $role that the limiter must hold back: it waits for the budget
# until statement_timeout cuts it short.
sub held_back
{
	my ($role, $model, $what, $before) = @_;
	my ($out, $err) = run_as($role, ($before // '')
		  . "SET statement_timeout = '2s'; SELECT bedrock_chat('$model', 'echo: x')->>'text'");
	like($err, qr/canceling statement due to statement timeout/, "$what: held back");
	return $out;
}

sub count_matches
{
	my ($text, $re) = @_;
	my @all = ($text =~ /$re/g);
	return scalar @all;
}

# ---- 1. the usage queue (32 records) ----
# The writer is held up: a transaction locks bedrock.usage_log, and the
# writer waits on it with one record of alice's in hand.
my $lock = $node->background_psql('postgres', on_error_stop => 1);
$lock->query_safe('BEGIN; LOCK TABLE bedrock.usage_log IN ACCESS EXCLUSIVE MODE;');
run_as('alice', "SELECT bedrock_chat('$alice_model', 'echo: a0')");
$node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type LIKE '%usage writer%' AND wait_event_type = 'Lock'})
  or die 'the usage writer did not wait for the lock';

# mallory floods it: 80 calls that fail at once (an unknown model)
my ($out, $err) = run_as('mallory', q{
SELECT count(*) FROM bedrock_chat_batch('flood.model',
    (SELECT array_agg('f' || g) FROM generate_series(1, 80) g))});
is($out, '80', 'mallory: 80 failing calls');
is(count_matches($err, qr/WARNING:  usage record of a \w+ call on model "flood.model" dropped: the usage queue is full/),
	1, 'mallory is told once that records were dropped');

# alice's calls still find room: each takes the place of one of mallory's
($out, $err) = run_as('alice', qq{
SELECT count(*) FILTER (WHERE r->>'text' = 'a' || g)
  FROM generate_series(1, 5) g, LATERAL bedrock_chat('$alice_model', 'echo: a' || g) r});
is($out, '5', 'alice: 5 calls answered');
unlike($err, qr/WARNING/, 'alice: no record of hers dropped');

# mallory again: the role holding the most records loses its own
($out, $err) = run_as('mallory', q{
SELECT count(*) FROM bedrock_chat_batch('flood.model',
    (SELECT array_agg('g' || g) FROM generate_series(1, 10) g))});
is(count_matches($err, qr/WARNING:  usage record/), 1, 'mallory: dropped again, told once');

is($node->safe_psql('postgres', q{
SELECT string_agg(role_name || ':' || queued || ':' || dropped, ' ' ORDER BY role_name)
  FROM bedrock.usage_queue_roles}),
	'alice:6:0 mallory:26:64',
	'per role: alice holds 6 records and lost none; mallory holds 26, lost 64');
is((run_as('alice', 'SELECT string_agg(role_name, \',\') FROM bedrock.usage_queue_roles'))[0],
	'alice', 'alice sees her own row only');
is((run_as('mallory', 'SELECT string_agg(role_name, \',\') FROM bedrock.usage_queue_roles'))[0],
	'mallory', 'mallory sees his own row only');

$lock->query_safe('COMMIT');
$node->poll_query_until('postgres', 'SELECT queued = 0 FROM bedrock.usage_queue')
  or die 'the queue was not drained';
is($node->safe_psql('postgres', q{
SELECT string_agg(session_role || ':' || n, ' ' ORDER BY session_role)
  FROM (SELECT session_role, count(*) AS n FROM bedrock.usage_log GROUP BY 1) s}),
	'alice:6 mallory:26', "every record of alice's was stored");

# ---- 2. the rate limiter ----
# ARNs and inference profiles draw on the model's budget (1 a minute)
is((run_as('mallory', "SELECT bedrock_chat('$openai', 'echo: m1')->>'text'"))[0], 'm1',
	'mallory: the first openai call is admitted');
held_back('mallory', $openai_arn, 'the same model through its ARN');
is((run_as('mallory', "SELECT bedrock_chat('$claude_profile', 'echo: m2')->>'text'"))[0], 'm2',
	'mallory: the first call through an inference profile is admitted');
held_back('mallory', $claude, 'the profile\'s model under its own id');

# a changed rule does not refill the budget
$node->safe_psql('postgres', q{
ALTER SYSTEM SET bedrock.rate_limits = 'openai.* rpm=2, anthropic.claude-3-haiku* rpm=1, slow.* rpm=1, * rpm=60000';
SELECT pg_reload_conf()});
$node->poll_query_until('postgres', "SELECT current_setting('bedrock.rate_limits') LIKE 'openai.* rpm=2%'")
  or die 'the new rule did not take';
held_back('mallory', $openai, 'the spent budget after the rule changed');

# model-id churn: 1,000 junk ids fill the limiter's table; its entries
# come back to rest at once (a fast rule), so new models take their place
# and keep budgets of their own
($out, $err) = run_as('mallory', q{
SELECT count(*) FROM generate_series(1, 1000) g,
       LATERAL bedrock_chat('junk.m' || g, 'x', NULL, '{"on_error": "json"}') r
 WHERE r ? 'error'});
is($out, '1000', 'mallory: 1000 calls on junk model ids failed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM bedrock.rate_limits'), '1000',
	'the limiter\'s table is full');
is((run_as('mallory', "SELECT bedrock_chat('openai.gpt-oss-120b-1:0', 'echo: m3')->>'text'"))[0],
	'm3', 'mallory: a new model is admitted once');
run_as('mallory', q{SELECT bedrock_chat('junk.new', 'x', NULL, '{"on_error": "json"}')});
held_back('mallory', 'openai.gpt-oss-120b-1:0', 'a new model in turn with a new junk id');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM bedrock.rate_limits WHERE model IN ('openai.gpt-oss-120b-1:0', '(other)')"),
	'1', 'the new model has an entry of its own, and nobody shares "(other)"');
is((run_as('alice', qq{SELECT bedrock_chat('$alice_model', 'echo: a6')->>'text'}))[0], 'a6',
	'alice: her call is admitted');

# entries that are not at rest (1 a minute, spent) cannot be taken: once
# they fill the table, new models share "(other)", which keeps the
# strictest limit of its callers until it is full again
# (the call that must be held back follows at once, in the same session,
# before an entry could come to rest)
$out = held_back('mallory', 'fast.model-1',
	'a model of the fast rule, in "(other)" after a slow one', q{
DO $$
DECLARE i int := 0;
BEGIN
    WHILE NOT EXISTS (SELECT FROM bedrock.rate_limits WHERE model = '(other)') LOOP
        i := i + 1;
        IF i > 1100 THEN RAISE EXCEPTION 'no "(other)" after % models', i; END IF;
        PERFORM bedrock_chat('slow.m' || i, 'x', NULL, '{"on_error": "json"}');
    END LOOP;
END $$;
SELECT rpm_limit, admitted FROM bedrock.rate_limits WHERE model = '(other)';
});
is($out, '1|1', '"(other)" appeared, holding one call of a 1-a-minute model');

# ---- 3. the retry quota (500 tokens, a role may hold 250) ----
# (the DBA resets the limiter: "(other)" would hold every new model to one
# request a minute for as long as mallory's entries are spent)
$node->safe_psql('postgres', q{
SELECT bedrock_rate_limits_reset();
ALTER SYSTEM SET bedrock.rate_limits = '';
ALTER SYSTEM SET bedrock.adaptive_rate_limiting = off;
SELECT pg_reload_conf()});
$node->poll_query_until('postgres', "SELECT current_setting('bedrock.rate_limits') = ''")
  or die 'the rules were not cleared';
$emu->admin('fault', qq{{"type":"latency","ms":1500,"count":0,"model":"$openai"}});
$emu->admin('fault', qq{{"type":"throttle","count":0,"model":"$alice_model"}});

# mallory's calls time out on purpose (10 tokens a retry): 25 retries
($out, $err) = run_as('mallory', qq{
SELECT sum((response->>'attempts')::int), count(*) FILTER (WHERE response->'error' ? 'retry_quota_exhausted')
  FROM bedrock_chat_batch('$openai', (SELECT array_agg('t' || g) FROM generate_series(1, 40) g),
                          NULL, '{"concurrency": 8, "max_attempts": 2, "timeout_ms": 100}')});
is($out, '65|15', 'mallory: 40 calls timed out; 25 retried (his 250 tokens), 15 not');

# alice's throttled calls still have the other half: 50 retries at 5
($out, $err) = run_as('alice', qq{
SELECT sum((response->>'attempts')::int), count(*) FILTER (WHERE response->'error' ? 'retry_quota_exhausted')
  FROM bedrock_chat_batch('$alice_model', (SELECT array_agg('t' || g) FROM generate_series(1, 80) g),
                          NULL, '{"concurrency": 8, "max_attempts": 2}')});
is($out, '130|30', 'alice: 80 calls throttled; 50 retried (the other 250 tokens), 30 not');

# the bucket is empty: successes put tokens back (1 each), to those who
# made them
$emu->admin('clear');
is((run_as('alice', qq{
SELECT count(*) FROM generate_series(1, 10) g, LATERAL bedrock_chat('$alice_model', 'echo: s' || g) r
 WHERE r ? 'text'}))[0], '10', 'alice: 10 calls answered at the first try');
$emu->admin('fault', qq{{"type":"latency","ms":1500,"count":0,"model":"$openai"}});
$emu->admin('fault', qq{{"type":"throttle","count":0,"model":"$alice_model"}});
is((run_as('mallory', qq{
SELECT sum((response->>'attempts')::int)
  FROM bedrock_chat_batch('$openai', ARRAY['u1', 'u2'], NULL,
                          '{"max_attempts": 2, "timeout_ms": 100}')}))[0],
	'2', 'mallory: still no retry (his share is used)');
is((run_as('alice', qq{
SELECT sum((response->>'attempts')::int)
  FROM bedrock_chat_batch('$alice_model', ARRAY['v1', 'v2', 'v3', 'v4', 'v5'], NULL,
                          '{"concurrency": 1, "max_attempts": 2}')}))[0],
	'7', 'alice: the 10 tokens her successes put back pay 2 retries');
$emu->admin('clear');

$lock->quit;
$node->stop;
done_testing();
