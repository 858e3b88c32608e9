# bedrock_count_tokens is a call like any other, and free: each call leaves
# one usage row of operation count_tokens whose token columns are NULL (so
# the usage views price it at nothing), a failed or cancelled count leaves
# its row with the error, and an enrichment estimate (or dry run) leaves
# only the rows of the counts it made, no Converse call.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'anthropic.claude-3-haiku-20240307-v1:0';

my $node = $emu->preloaded_node('count_tokens',
	conf => "bedrock.database = 'postgres'\n" . "bedrock.usage_flush_ms = 200\n");

sub wait_rows
{
	my ($cond, $n, $what) = @_;
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = $n FROM bedrock.usage_log WHERE $cond"), $what);
}

# 1. a count: one row, no tokens, priced at nothing
$node->safe_psql('postgres', qq{
INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k) VALUES ('$model', 1, 1);
});
is($node->safe_psql('postgres',
		"SET application_name = 'counted'; SELECT bedrock_count_tokens('$model', 'How many tokens is this?')"),
	'6', 'the count');
wait_rows("application_name = 'counted'", 1, 'the count has its usage row');
is($node->safe_psql('postgres', q{
SELECT operation, model, http_status, attempts, error_code IS NULL,
       input_tokens IS NULL AND output_tokens IS NULL AND total_tokens IS NULL,
       request_id ~ '^[0-9a-f-]{36}$'
  FROM bedrock.usage_log WHERE application_name = 'counted'}),
	"count_tokens|$model|200|1|t|t|t", 'operation count_tokens, no token counts, the request id');
is($node->safe_psql('postgres', qq{
SELECT calls, input_tokens, estimated_cost FROM bedrock.usage_summary WHERE model = '$model'}),
	'1|0|0', 'the usage views count the call and price it at nothing');

# 2. a refused model leaves its row with Bedrock's error
$node->psql('postgres',
	"SET application_name = 'refused'; SELECT bedrock_count_tokens('openai.gpt-oss-20b-1:0', 'x')");
wait_rows("application_name = 'refused' AND operation = 'count_tokens' AND error_code = 'ValidationException' AND http_status = 400",
	1, 'a count Bedrock refuses has its row with the error');

# 3. a cancelled count leaves its row
$emu->admin('fault', '{"type":"latency","ms":20000,"count":1,"route":"count_tokens"}');
my ($ret, $out, $err) = $node->psql('postgres',
	"SET application_name = 'cancelled'; SET statement_timeout = '300ms'; SELECT bedrock_count_tokens('$model', 'slow')");
like($err, qr/statement timeout/, 'the count was cancelled');
wait_rows("application_name = 'cancelled' AND operation = 'count_tokens' AND error_code = 'Cancelled'", 1,
	'the cancelled count has its row');
$emu->admin('clear');

# 4. an estimate and a dry run: the counts of their samples, nothing else
$emu->admin('reset');
$node->safe_psql('postgres', q{
CREATE TABLE notes (id int, body text, summary text);
INSERT INTO notes SELECT g, 'note number ' || g, NULL FROM generate_series(1, 30) g;
});
is($node->safe_psql('postgres', qq{
SET application_name = 'estimate';
SELECT rows_to_do, rows_to_call, sample_rows, input_basis
  FROM bedrock_enrich_estimate('notes', 'summary', 'body', '$model', sample_size => 5)}),
	"30|30|5|CountTokens ($model) on 5 sampled rows", 'the estimate counted a sample of 5');
$node->safe_psql('postgres', qq{
SET application_name = 'dry run';
CALL bedrock_enrich('notes', 'summary', 'body', '$model', dry_run => true)});
wait_rows("application_name = 'estimate' AND operation = 'count_tokens'", 5, 'the estimate left 5 count rows');
wait_rows("application_name = 'dry run' AND operation = 'count_tokens'", 20, 'the dry run left 20 count rows');
is($emu->stat('requests.converse'), 0, 'no model was called');
is($node->safe_psql('postgres',
		q{SELECT (SELECT count(*) FROM notes WHERE summary IS NOT NULL) + (SELECT count(*) FROM bedrock.jobs)}),
	'0', 'nothing was written, no job was made');

$node->stop;
done_testing();
