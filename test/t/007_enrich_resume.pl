# bedrock_enrich survives its backend being killed: what was committed
# stays, the killed run shows as interrupted, and running it again
# resumes without sending the committed rows' prompts again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

my $node = $emu->preloaded_node('enrich');
$node->safe_psql('postgres', q{
CREATE TABLE docs (id int PRIMARY KEY, body text, summary text);
INSERT INTO docs SELECT g, 'document ' || g, NULL FROM generate_series(1, 60) g;
});

# each chunk of 10 takes about a second: 200 ms per call, 2 in flight
$emu->admin('fault', '{"type":"latency","ms":200,"count":0}');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/,
	"\\echo started\nCALL bedrock_enrich('docs', 'summary', \$\$'echo: ' || body\$\$, '$model', options => '{\"concurrency\": 2}', chunk_size => 10);\n");
$node->poll_query_until('postgres', 'SELECT rows_done >= 20 FROM bedrock.jobs')
  or die 'the job made no progress';
$node->safe_psql('postgres',
	'SELECT pg_terminate_backend(pid) FROM bedrock.jobs WHERE status = \'running\'');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE 'CALL bedrock_enrich%'")
  or die 'the backend did not go';
eval { $bg->quit; };

my $filled = $node->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE summary IS NOT NULL');
my $done = $node->safe_psql('postgres', 'SELECT rows_done FROM bedrock.jobs');
is($filled, $done, "the killed run kept what it committed ($filled rows)");
cmp_ok($filled, '<', 60, 'the run was killed before the end');
is($node->safe_psql('postgres', q{SELECT count(*) FROM docs WHERE summary IS NOT NULL AND summary <> body}),
	0, 'every kept row has its own answer');

# run again: only the missing rows are sent
$emu->admin('clear');
$emu->admin('reset');
$node->safe_psql('postgres',
	"CALL bedrock_enrich('docs', 'summary', \$\$'echo: ' || body\$\$, '$model', chunk_size => 10)");
is($node->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE summary = body'), 60,
	'the second run completed the table');
is($emu->stat('requests.converse'), 60 - $filled,
	'it sent only the rows the first run had not committed');
is($node->safe_psql('postgres', 'SELECT string_agg(status, \',\' ORDER BY job_id) FROM bedrock.jobs'),
	'interrupted,done', 'the killed run is marked interrupted');

$node->stop;
done_testing();
