# The rate limiter is shared by every backend: two sessions calling one
# model share its budget, and interactive calls (bedrock_chat) find room
# while a batch holds the model at its limit (bedrock.interactive_reserve).
# So is the retry quota.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-120b-1:0';

my $node = $emu->preloaded_node('ratelimit',
	conf => "bedrock.rate_limits = '$model rpm=120'\n");

sub admitted
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(admitted), 0) FROM bedrock.rate_limits WHERE model = '$model'");
}

sub batch_sql
{
	my ($tag, $n) = @_;
	return "SELECT count(*) FILTER (WHERE response->>'text' = '$tag' || ord) FROM "
	  . "bedrock_chat_batch('$model', (SELECT array_agg('echo: $tag' || g ORDER BY g) "
	  . "FROM generate_series(1, $n) g), NULL, '{\"concurrency\": 4}');";
}

# 1. Two backends, 6 prompts each, at 120 requests per minute in all: one
# second's worth goes at once, the other 10 or so take 5 s.  Alone, each
# batch would be done in about 2 s.
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $b = $node->background_psql('postgres', on_error_stop => 0);
my $t0 = time;
$a->query_until(qr/started/, "\\echo started\n" . batch_sql('a', 6) . "\n\\echo done-a\n");
$b->query_until(qr/started/, "\\echo started\n" . batch_sql('b', 6) . "\n\\echo done-b\n");
my $out_a = $a->query_until(qr/done-a/, '');
my $out_b = $b->query_until(qr/done-b/, '');
my $elapsed = time - $t0;
like($out_a, qr/^6$/m, 'session a: every prompt answered, in order');
like($out_b, qr/^6$/m, 'session b: every prompt answered, in order');
cmp_ok($elapsed, '>=', 3.5, sprintf('the two batches shared one budget (%.1f s)', $elapsed));
is(admitted(), 12, 'the shared limiter admitted all 12 requests');
is($emu->stat('requests.converse'), 12, 'the emulator saw 12 requests');

# 2. A batch of 20 at the limit (10 s); meanwhile a session makes 6 calls
# one after the other.  The batch leaves the reserve alone, so each
# interactive call takes the next request the budget has: the batch gets
# (almost) nothing while they run.
$node->safe_psql('postgres', 'SELECT bedrock_rate_limits_reset()');
$a->query_until(qr/started/, "\\echo started\n" . batch_sql('c', 20) . "\n\\echo done-c\n");
$node->poll_query_until('postgres',
	"SELECT admitted >= 4 FROM bedrock.rate_limits WHERE model = '$model'")
  or die 'the batch did not start';
my $before = admitted();
my $interactive = $node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE r->>'text' = 'i' || g),
       max(coalesce((r->>'rate_limited_ms')::float, 0)) < 1500
  FROM generate_series(1, 6) g, LATERAL bedrock_chat('$model', 'echo: i' || g) r});
my $batch_share = admitted() - $before - 6;
is($interactive, '6|t', 'each interactive call was admitted within the next request of the budget');
cmp_ok($batch_share, '<=', 2, "the batch took $batch_share of the requests while they ran");
like($a->query_until(qr/done-c/, ''), qr/^20$/m, 'the batch finished, every prompt answered');

# 3. The retry quota is shared too: 120 prompts throttled for good (the
# limiter's adaptive slowdown off, to reach the quota quickly) use up its
# 500 tokens at 5 per retry; after that, failures are reported at once,
# in every backend, and say why.
$node->safe_psql('postgres', q{
ALTER SYSTEM SET bedrock.rate_limits = '';
ALTER SYSTEM SET bedrock.adaptive_rate_limiting = off;
SELECT pg_reload_conf();
});
$emu->admin('fault', '{"type":"throttle","count":0}');
my $drained = $node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE response->'error'->>'code' = 'ThrottlingException'),
       count(*) FILTER (WHERE response->'error' ? 'retry_quota_exhausted'),
       sum((response->>'attempts')::int)
  FROM bedrock_chat_batch('$model', (SELECT array_agg('q' || g) FROM generate_series(1, 120) g),
                          NULL, '{"concurrency": 16, "max_attempts": 2}')});
my ($failed, $exhausted, $attempts) = split /\|/, $drained;
is($failed, 120, 'every prompt failed throttled');
cmp_ok($exhausted, '>=', 15, "$exhausted failures were not retried for want of quota");
cmp_ok($attempts, '<=', 120 + 101, "at most 100 retries were made in all ($attempts attempts)");
my ($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT bedrock_chat('$model', 'one more')");
like($stderr, qr/1 attempt\. Not retried: the server's retry quota is used up by recent failures\./,
	'another backend\'s call is not retried either, and its error says why');
$emu->admin('clear');

$a->quit;
$b->quit;
$node->stop;
done_testing();
