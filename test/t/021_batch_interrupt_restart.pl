# Batch inference jobs survive interruptions: the server restarted while a
# job runs in Bedrock (the submission is in the tables, collection picks it
# up), and a collection whose backend is terminated half-way resumes
# without writing any record twice or recording a job's usage twice.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'anthropic.claude-3-haiku-20240307-v1:0';
my $role = 'arn:aws:iam::123456789012:role/BedrockBatchRole';

my $node = $emu->preloaded_node('batch_restart');
$node->safe_psql('postgres', q{
CREATE TABLE docs (id int PRIMARY KEY, body text, answer jsonb);
INSERT INTO docs SELECT g, 'document ' || g, NULL FROM generate_series(1, 2000) g;
});

# the jobs wait in Scheduled until released
$emu->admin('batch', '{"stepMs": 20, "hold": true}');
my $batch = $node->safe_psql('postgres', qq{
SELECT bedrock_batch_submit('docs', '$model', 'docs', 'id', \$\$'echo: ' || body\$\$,
    's3://tap-bucket/restart', '$role',
    '{"target_column": "answer", "records_per_file": 100, "records_per_job": 1000}')});
$node->safe_psql('postgres', "CALL bedrock_batch_collect($batch)");
is($node->safe_psql('postgres',
	"SELECT string_agg(DISTINCT status, ',') FROM bedrock.batch_jobs WHERE batch_id = $batch"),
	'Scheduled', 'both jobs are scheduled in Bedrock');

$node->restart;
$emu->admin('batch', '{"hold": false}');

# collect with every S3 request slowed down, and terminate the collecting
# backend once some output files are in
$emu->admin('fault', '{"type":"latency","ms":150,"count":0,"route":"s3"}');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/,
	"\\echo started\nCALL bedrock_batch_collect($batch, wait => true, poll_interval => '50 ms', max_wait => '5 min');\n");
$node->poll_query_until('postgres',
	"SELECT sum(cardinality(collected_files)) >= 4 FROM bedrock.batch_jobs WHERE batch_id = $batch")
  or die 'collection made no progress';
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL bedrock_batch_collect%'");
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE 'CALL bedrock_batch_collect%'")
  or die 'the backend did not go';
eval { $bg->quit; };

my $part = $node->safe_psql('postgres', "SELECT rows_done FROM bedrock.batches WHERE batch_id = $batch");
cmp_ok($part, '>=', 400, "the interrupted collection kept what it committed ($part rows)");
cmp_ok($part, '<', 2000, 'it was interrupted before the end');
is($node->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE answer IS NOT NULL'), $part,
	'the rows filled are exactly the records counted done');

$emu->admin('clear');
$node->safe_psql('postgres',
	"CALL bedrock_batch_collect($batch, wait => true, poll_interval => '50 ms', max_wait => '5 min')");
is($node->safe_psql('postgres',
	"SELECT status || ' ' || rows_done || ' ' || rows_failed FROM bedrock.batches WHERE batch_id = $batch"),
	'completed 2000 0', 'the second collection completed the batch, counting each record once');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM docs
 WHERE answer #>> '{output,message,content,0,text}' = body}), 2000,
	'every row holds its own result (a jsonb target gets the whole model output)');
is($node->safe_psql('postgres', "SELECT count(*) FROM bedrock.batch_records WHERE batch_id = $batch AND state <> 'done'"),
	0, 'every record is done');
$node->poll_query_until('postgres', "SELECT count(*) >= 2 FROM bedrock.usage_log WHERE operation = 'batch'")
  or die 'no usage rows';
$node->safe_psql('postgres', "CALL bedrock_batch_collect($batch)");
sleep 1;
is($node->safe_psql('postgres', "SELECT count(*) FROM bedrock.usage_log WHERE operation = 'batch'"), 2,
	'one usage row per job, however many collections ran');

# stop: a held job is stopped and shows as such
$emu->admin('batch', '{"hold": true}');
$node->safe_psql('postgres', 'UPDATE docs SET answer = NULL WHERE id <= 500');
my $stopped = $node->safe_psql('postgres', qq{
SELECT bedrock_batch_submit('docs', '$model', 'docs', 'id', 'body', 's3://tap-bucket/restart', '$role',
    '{"target_column": "answer"}')});
is($node->safe_psql('postgres', "SELECT bedrock_batch_stop($stopped)"), 1, 'bedrock_batch_stop stopped the job');
$node->safe_psql('postgres',
	"CALL bedrock_batch_collect($stopped, wait => true, poll_interval => '50 ms', max_wait => '1 min')");
is($node->safe_psql('postgres',
	"SELECT b.status || ' ' || b.rows_failed || ' ' || j.status FROM bedrock.batches b JOIN bedrock.batch_jobs j USING (batch_id) WHERE b.batch_id = $stopped"),
	'stopped 500 Stopped', 'the stopped batch and job are visible, its records missing');

$node->stop;
done_testing();
