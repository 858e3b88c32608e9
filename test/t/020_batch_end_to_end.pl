# Batch inference jobs end to end against the emulator: 10,000 rows
# submitted as JSONL in several files and several jobs, collected into the
# target column by key; the usage log gets one row per job with the
# manifest's tokens; records that failed in Bedrock are left NULL, reported,
# and a retry batch fills them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'anthropic.claude-3-haiku-20240307-v1:0';
my $role = 'arn:aws:iam::123456789012:role/BedrockBatchRole';

my $node = $emu->preloaded_node('batch_e2e');
$node->safe_psql('postgres', q{
CREATE TABLE docs (id bigint PRIMARY KEY, body text, summary text);
INSERT INTO docs SELECT g, 'document ' || g, NULL FROM generate_series(1, 10000) g;
});

# every 500th record of a job fails in Bedrock (an error line in .out)
$emu->admin('batch', '{"stepMs": 20, "failEvery": 500, "recordsPerTick": 5000}');
my $batch = $node->safe_psql('postgres', qq{
SELECT bedrock_batch_submit('docs', '$model', 'docs', 'id', \$\$'echo: ' || body\$\$,
    's3://tap-bucket/jobs', '$role',
    '{"target_column": "summary", "records_per_file": 2000, "records_per_job": 4000, "max_tokens": 50}')});
is($node->safe_psql('postgres',
	"SELECT string_agg(records || '/' || files, ',' ORDER BY job_no) FROM bedrock.batch_jobs WHERE batch_id = $batch"),
	'3334/2,3334/2,3332/2', 'three balanced jobs of two files each');
is($emu->stat('requests.s3'), 6, 'six PutObject requests, one per file');

$node->safe_psql('postgres',
	"CALL bedrock_batch_collect($batch, wait => true, poll_interval => '50 ms', max_wait => '5 min')");
my $failed = 3 * int(3333 / 500);
is($node->safe_psql('postgres',
	"SELECT status || ' ' || rows_total || ' ' || rows_done || ' ' || rows_failed FROM bedrock.batches WHERE batch_id = $batch"),
	"partially_completed 10000 " . (10000 - $failed) . " $failed",
	'the batch ended partially completed, the failed records counted');
is($node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE summary = body) || ' ' || count(*) FILTER (WHERE summary IS NULL) FROM docs}),
	(10000 - $failed) . " $failed", 'every other row got its own answer, joined by key');
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM bedrock.batch_records r JOIN docs d ON d.id = r.row_key::bigint
 WHERE r.batch_id = $batch AND r.state = 'failed' AND r.error_code = '400' AND d.summary IS NULL}),
	$failed, 'the failed records carry their error and their rows stay NULL');

# usage: one row per job, operation batch, tokens from the manifests
$node->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM bedrock.usage_log WHERE operation = 'batch'")
  or die 'no usage rows';
is($node->safe_psql('postgres', qq{
SELECT (SELECT sum(input_tokens) FROM bedrock.usage_log WHERE operation = 'batch')
     = (SELECT input_tokens FROM bedrock.batches WHERE batch_id = $batch)
   AND (SELECT sum(output_tokens) FROM bedrock.usage_log WHERE operation = 'batch')
     = (SELECT output_tokens FROM bedrock.batches WHERE batch_id = $batch)
   AND (SELECT min(input_tokens) FROM bedrock.usage_log WHERE operation = 'batch') > 0}),
	't', 'the usage rows carry the jobs\' tokens');
$node->safe_psql('postgres',
	"INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k) VALUES ('$model', 2, 4)");
is($node->safe_psql('postgres', qq{
SELECT s.estimated_cost = trim_scale((b.input_tokens * 1 + b.output_tokens * 2) * 0.001)
  FROM bedrock.usage_summary s, bedrock.batches b
 WHERE s.model = '$model' AND b.batch_id = $batch}),
	't', 'usage_summary prices batch rows at half the on-demand price');
is($node->safe_psql('postgres', "SELECT kind || ' ' || status FROM bedrock.all_jobs"),
	'batch partially_completed', 'bedrock.all_jobs shows the batch');

# retry: only the failed rows, as a new batch (the emulator's and our
# minimum lowered: there are only a few)
$emu->admin('batch', '{"failEvery": 0, "minRecords": 1}');
$emu->admin('reset');
my $retry = $node->safe_psql('postgres', "SELECT bedrock_batch_retry($batch, '{\"min_records\": 1}')");
is($node->safe_psql('postgres', "SELECT rows_total || ' ' || retry_of FROM bedrock.batches WHERE batch_id = $retry"),
	"$failed $batch", 'the retry batch holds only the failed rows');
$node->safe_psql('postgres',
	"CALL bedrock_batch_collect($retry, wait => true, poll_interval => '50 ms', max_wait => '5 min')");
is($node->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE summary = body'), 10000,
	'after the retry every row has its answer');
is($node->safe_psql('postgres', "SELECT status FROM bedrock.batches WHERE batch_id = $retry"),
	'completed', 'the retry batch completed');

# a batch whose job fails in Bedrock: visible, its records missing
$emu->admin('batch', '{"minRecords": 100, "nextOutcomes": [{"status": "Failed", "message": "could not validate GetObject permissions"}]}');
$node->safe_psql('postgres', q{
CREATE TABLE more (id int PRIMARY KEY, body text, answer text);
INSERT INTO more SELECT g, 'more ' || g, NULL FROM generate_series(1, 150) g;
});
my $bad = $node->safe_psql('postgres', qq{
SELECT bedrock_batch_submit('more', '$model', 'more', 'id', 'body', 's3://tap-bucket/jobs', '$role',
    '{"target_column": "answer"}')});
$node->safe_psql('postgres',
	"CALL bedrock_batch_collect($bad, wait => true, poll_interval => '50 ms', max_wait => '5 min')");
is($node->safe_psql('postgres',
	"SELECT status || ' ' || rows_failed || ' ' || (last_error LIKE '%Failed: could not validate GetObject permissions') FROM bedrock.batches WHERE batch_id = $bad"),
	'failed 150 true', 'a failed job: the batch is failed, with Bedrock\'s message');
is($node->safe_psql('postgres', "SELECT count(*) FROM bedrock.batch_records WHERE batch_id = $bad AND state = 'missing'"),
	150, 'its records are missing, for a retry');

$node->stop;
done_testing();
