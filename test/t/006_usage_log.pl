# Usage accounting: every call leaves a row in bedrock.usage_log, whether
# the caller commits, rolls back, fails or is cancelled; 8 backends x 500
# calls give exactly 4,000 rows; a clean restart loses none; a full queue
# drops and counts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

my $node = $emu->preloaded_node('usage',
	conf => "bedrock.database = 'postgres'\n"
	  . "bedrock.usage_flush_ms = 200\n"
	  . "max_connections = 30\n");

sub rows_where
{
	my ($cond) = @_;
	return $node->safe_psql('postgres', "SELECT count(*) FROM bedrock.usage_log WHERE $cond");
}

sub wait_rows
{
	my ($cond, $n, $what) = @_;
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = $n FROM bedrock.usage_log WHERE $cond"), $what);
}

# 1. a rolled-back call keeps its row, and the time it takes to land
my $t0 = time;
my $rid = $node->safe_psql('postgres',
	"BEGIN; SELECT bedrock_chat('$model', 'rolled back')->>'request_id'; ROLLBACK;");
like($rid, qr/^[0-9a-f-]{36}$/, 'the call inside the transaction succeeded');
wait_rows("request_id = '$rid'", 1, 'the row of a rolled-back call exists');
diag(sprintf('a usage record landed %.0f ms after the call (flush interval 200 ms)', (time - $t0) * 1000));
is($node->safe_psql('postgres',
		"SELECT operation, model, role_name, database_name, credential_source, http_status, attempts, "
		  . "input_tokens > 0 AND output_tokens > 0 AND total_tokens = input_tokens + output_tokens, "
		  . "client_latency_ms >= 0, service_latency_ms IS NOT NULL, error_code IS NULL "
		  . "FROM bedrock.usage_log WHERE request_id = '$rid'"),
	"converse|$model|" . $node->safe_psql('postgres', 'SELECT current_user') . "|postgres|static|200|1|t|t|t|t",
	'the row has the call, tokens and latency');

# 2. a transaction that fails after the call keeps the row too
my ($ret, $out, $err) = $node->psql('postgres',
	"BEGIN; SELECT bedrock_chat('$model', 'then fail')->>'request_id'; SELECT 1/0; COMMIT;");
like($err, qr/division by zero/, 'the transaction failed');
wait_rows("request_id = '$out'", 1, 'the call of a failed transaction is recorded');

# 3. a failed call is recorded with its error
$node->psql('postgres', "SELECT bedrock_chat('openai.no-such-model-v9:0', 'x')");
wait_rows("model = 'openai.no-such-model-v9:0' AND error_code = 'ValidationException' AND http_status = 400 AND input_tokens IS NULL",
	1, 'a failed call has a row with its AWS error code');

# 4. retries and throttling are counted
$emu->admin('fault', '{"type":"throttle","count":2}');
$node->safe_psql('postgres', "SET application_name = 'throttled'; SELECT bedrock_chat('$model', 'throttled')");
wait_rows("application_name = 'throttled' AND attempts = 3 AND throttled_attempts = 2 AND error_code IS NULL",
	1, 'attempts and throttled attempts are recorded');

# 5. a cancelled call keeps its row
$emu->admin('fault', '{"type":"latency","ms":20000,"count":1}');
($ret, $out, $err) = $node->psql('postgres',
	"SET application_name = 'cancelled'; SET statement_timeout = '300ms'; SELECT bedrock_chat('$model', 'slow')");
like($err, qr/statement timeout/, 'the call was cancelled');
wait_rows("application_name = 'cancelled' AND error_code = 'Cancelled'", 1,
	'the cancelled call has a row');
$emu->admin('clear');

# 6. 8 backends x 500 calls: exactly 4,000 rows
local $ENV{PGAPPNAME} = 'pgbench-8x500';
$node->pgbench('--no-vacuum --client=8 --jobs=4 --transactions=500', 0,
	[qr{actually processed: 4000/4000}], [qr{^$}], '8 backends x 500 calls',
	{ 'usage_calls' => "SELECT bedrock_chat('$model', 'pgbench');\n" });
wait_rows("application_name = 'pgbench-8x500'", 4000, '4,000 calls, 4,000 rows');
$ENV{PGAPPNAME} = '006_usage_log.pl';
is($node->safe_psql('postgres', 'SELECT dropped, queued FROM bedrock.usage_queue'), '0|0',
	'nothing dropped, nothing left in the queue');

# 7. a clean restart right after the calls loses none
$node->safe_psql('postgres',
	"SET application_name = 'before restart'; SELECT count(bedrock_chat('$model', 'r' || g)) FROM generate_series(1, 200) g");
$node->restart;
is(rows_where("application_name = 'before restart'"), 200, 'a clean restart lost no record');

# 8. a full queue drops records and counts them; they wait while the
# database has no usage_log
$node->safe_psql('postgres', 'CREATE DATABASE noext');
$node->append_conf('postgresql.conf', "bedrock.database = 'noext'\nbedrock.usage_queue_size = 16\n");
$node->restart;
$node->safe_psql('postgres',
	"SET application_name = 'overflow'; SELECT count(bedrock_chat('$model', 'o' || g)) FROM generate_series(1, 30) g");
is($node->safe_psql('postgres', 'SELECT capacity, queued, dropped FROM bedrock.usage_queue'),
	'16|16|14', 'a full queue keeps 16 records and counts 14 dropped');
like($node->safe_psql('postgres', 'SELECT last_error FROM bedrock.usage_queue'),
	qr/no bedrock.usage_log/, 'the queue says why records wait');
$node->append_conf('postgresql.conf', "bedrock.database = 'postgres'\n");
$node->restart;
is(rows_where("application_name = 'overflow'"), 0, 'records queued before a restart are gone (memory only)');

unlike(slurp_file($node->logfile), qr/emulatorSecretKey/, 'no secret in the log');
$node->stop;
done_testing();
