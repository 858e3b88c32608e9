# The fault matrix's row "an immediate shutdown mid-enrich": pg_ctl stop
# -m immediate while CALL bedrock_enrich runs (40 rows, chunks of 4, 200 ms
# per call), then the server is started again.  No crash beyond the
# immediate stop; the job stays visible in bedrock.jobs and is marked by
# the next run (not left `running`); the next CALL fills every remaining
# row exactly once (the rows committed before the stop are not sent
# again: the emulator counts the requests); and bedrock.usage_log has one
# row per call made after the restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu   = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
my $rows  = 40;
my $enrich = "CALL bedrock_enrich('docs', 'summary', \$\$'echo: ' || body\$\$, '$model', chunk_size => 4)";

my $node = $emu->preloaded_node('shutdown', conf => "bedrock.usage_flush_ms = 200\n");
$node->safe_psql('postgres', qq{
CREATE TABLE docs (id int PRIMARY KEY, body text, summary text);
INSERT INTO docs SELECT g, 'document ' || g, NULL FROM generate_series(1, $rows) g;
});

# 200 ms per call: ten chunks of four take a couple of seconds at least
$emu->admin('fault', '{"type":"latency","ms":200,"count":0}');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "\\echo started\n$enrich;\n");
$node->poll_query_until('postgres',
	"SELECT rows_done >= 8 FROM bedrock.jobs WHERE status = 'running'")
  or die 'the job made no progress';

# the immediate stop, in the middle of the job
my $log_offset = -s $node->logfile;
$node->stop('immediate');
eval { $bg->quit; };
my $sent_before = $emu->stat('requests.converse');
$emu->admin('clear');
$emu->admin('reset');

$node->start;
my $restarted_at = $node->safe_psql('postgres', 'SELECT now()');
my $filled = $node->safe_psql('postgres',
	'SELECT count(*) FROM docs WHERE summary IS NOT NULL');
cmp_ok($filled, '>=', 8, "the chunks committed before the stop stay ($filled rows)");
cmp_ok($filled, '<', $rows, 'the stop came before the end of the job');
is($node->safe_psql('postgres',
		'SELECT count(*) FROM docs WHERE summary IS NOT NULL AND summary <> body'),
	0, 'every kept row has its own answer');
is($node->safe_psql('postgres', 'SELECT count(*) || \':\' || max(rows_done) FROM bedrock.jobs'),
	"1:$filled", 'the stopped job is visible, with the rows it committed');
note("before the stop $sent_before calls were sent, $filled rows committed");

# the next run marks the stopped job and resumes
$node->safe_psql('postgres', $enrich, timeout => 120);
is($node->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE summary = body'),
	$rows, 'the next run filled every remaining row');
is($emu->stat('requests.converse'), $rows - $filled,
	'it called the model once per remaining row, none for the rows kept');
is($node->safe_psql('postgres',
		"SELECT string_agg(status, ',' ORDER BY job_id) FROM bedrock.jobs"),
	'interrupted,done', 'the stopped job is marked interrupted, the new one done');
is($node->safe_psql('postgres',
		"SELECT rows_done FROM bedrock.jobs ORDER BY job_id DESC LIMIT 1"),
	$rows - $filled, 'the new job counts the rows it filled');

# one usage row per call made after the restart (the writer flushes
# asynchronously: wait for them, then check there are no more)
my $usage_sql = "SELECT count(*) FROM bedrock.usage_log WHERE called_at >= '$restarted_at' AND model = '$model'";
$node->poll_query_until('postgres', "SELECT ($usage_sql) >= " . ($rows - $filled))
  or diag('usage rows: ' . $node->safe_psql('postgres', $usage_sql));
sleep 1;
is($node->safe_psql('postgres', $usage_sql), $rows - $filled,
	'the usage log has one row per call made after the restart');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM bedrock.usage_log WHERE called_at >= '$restarted_at' AND (http_status IS DISTINCT FROM 200 OR error_code IS NOT NULL)"),
	0, 'and every one of them succeeded');

# no crash beyond the immediate stop
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/PANIC|was terminated by signal|server process .* exited with exit code/,
	'no backend or worker crashed after the restart');
like($log, qr/database system is ready to accept connections/, 'the server came back');

$node->stop;
done_testing();
