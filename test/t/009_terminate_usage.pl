# Calls cut off by the end of the process still leave a usage record:
# pg_terminate_backend (a FATAL, which no PG_CATCH sees) during a batch
# records the 4 prompts in flight as 'Terminated' and not the 4 never sent;
# during a single call, that call; and a cancelled parallel query records
# its leader's call as 'Cancelled' and the calls of the workers, which the
# leader terminates, as 'Terminated'.  All of them under the leader's pid.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

my $node = $emu->preloaded_node('terminate_usage',
	conf => "bedrock.database = 'postgres'\n" . "bedrock.usage_flush_ms = 100\n");

# Wait until the emulator has received $n Converse requests (they then
# hang in its latency fault).
sub wait_for_requests
{
	my ($n) = @_;
	for (1 .. 200)
	{
		return if $emu->stat('requests.converse') >= $n;
		usleep(50_000);
	}
	die "the emulator never saw $n Converse requests";
}

# Start $sql in a new session, wait for $requests requests to reach the
# emulator, and return the session and its pid.
sub start_slow
{
	my ($sql, $requests) = @_;
	$emu->admin('reset');
	$emu->admin('fault', '{"type":"latency","ms":5000,"count":0}');
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "\\echo started\n$sql\n");
	wait_for_requests($requests);
	return ($bg, $pid);
}

# The usage records of $pid, by error code, once the writer has stored
# every queued record ("Terminated=4" and so on, sorted).
sub records_of
{
	my ($pid) = @_;
	$node->poll_query_until('postgres', 'SELECT queued = 0 FROM bedrock.usage_queue')
	  or die 'the usage queue never drained';
	return $node->safe_psql('postgres',
		"SELECT string_agg(coalesce(error_code, 'ok') || '=' || n, ' ' ORDER BY error_code)
		   FROM (SELECT error_code, count(*) AS n FROM bedrock.usage_log
		          WHERE backend_pid = $pid GROUP BY error_code) c");
}

# Terminate the backend $pid and wait until it has exited.
sub terminate
{
	my ($bg, $pid) = @_;
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
	  or die "backend $pid did not exit";
	eval { $bg->quit; };
}

# 1. a batch of 8 prompts at concurrency 4: 4 in flight, 4 never sent
my ($bg, $pid) = start_slow(
	"SELECT count(*) FROM bedrock_chat_batch('$model',
	   (SELECT array_agg('terminated batch ' || g) FROM generate_series(1, 8) g),
	   NULL, '{\"concurrency\": 4}');", 4);
terminate($bg, $pid);
is(records_of($pid), 'Terminated=4',
	'a terminated batch records its 4 calls in flight as Terminated, and not the 4 never sent');
is($node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE attempts = 1 AND input_tokens IS NULL
		                           AND output_tokens IS NULL AND http_status IS NULL
		                           AND client_latency_ms > 0 AND client_latency_ms < 5000
		                           AND model = '$model')
		   FROM bedrock.usage_log WHERE backend_pid = $pid"),
	'4', 'each has its attempt and latency so far, no tokens, no response');

# 2. a single call
($bg, $pid) = start_slow("SELECT bedrock_chat('$model', 'terminated call');", 1);
terminate($bg, $pid);
is(records_of($pid), 'Terminated=1', 'a terminated bedrock_chat records its call as Terminated');

# 3. a parallel query whose leader is cancelled: the leader's own call is
# 'Cancelled' (its PG_CATCH), the workers' calls, cut off when the leader
# terminates them, 'Terminated'; all under the leader's pid
$node->safe_psql('postgres', q{
CREATE TABLE fan_out (id int, pad text) WITH (fillfactor = 10, parallel_workers = 2);
INSERT INTO fan_out SELECT g, repeat('x', 500) FROM generate_series(1, 40) g;
ANALYZE fan_out;
});
($bg, $pid) = start_slow(
	"SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	 SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
	 SELECT count(bedrock_chat('$model', 'parallel ' || id)) FROM fan_out;", 3);
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
like($bg->query('SELECT 1'), qr/^1$/, 'the leader survives its cancel');
like($bg->{stderr}, qr/canceling statement due to user request/, 'the query was cancelled');
$bg->quit;
is(records_of($pid), 'Cancelled=1 Terminated=2',
	"a cancelled parallel query records the leader's call as Cancelled and the workers' as Terminated");

# 4. calls that ended normally are no longer in flight: a backend that
# made a call and a batch, terminated while idle, adds no record
$emu->admin('reset');
$bg = $node->background_psql('postgres', on_error_stop => 0);
$pid = $bg->query('SELECT pg_backend_pid()');
$bg->query("SELECT bedrock_chat('$model', 'finished call') IS NOT NULL");
$bg->query("SELECT count(*) FROM bedrock_chat_batch('$model', ARRAY['one', 'two', 'three'])");
terminate($bg, $pid);
is(records_of($pid), 'ok=4', 'a backend terminated between calls records only the calls it made');

$node->stop;
$emu->stop;
done_testing();
