# Scans of the Bedrock catalog foreign tables over many pages: with the
# emulator's pages capped small, every entry comes back exactly once, each
# page's request carries the pushed filters, pages are fetched only as rows
# are consumed (LIMIT), a scan's page cap and a service that repeats its
# token are errors, and a slow page is cancelled by statement_timeout.
# Request and filter counts are read from the emulator's stats.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu  = BedrockEmulator->start;
my $node = $emu->preloaded_node('catalog_pages');

$node->safe_psql('postgres', q{
	CREATE SERVER catalog_pages FOREIGN DATA WRAPPER bedrock_fdw OPTIONS (region 'us-east-1');
	CREATE USER MAPPING FOR CURRENT_USER SERVER catalog_pages;
	CREATE SCHEMA cat;
	IMPORT FOREIGN SCHEMA bedrock FROM SERVER catalog_pages INTO cat;
});

sub stat_of
{
	my ($path) = @_;
	my $v = eval { $emu->stat($path) };
	return defined $v ? $v : 0;
}

# 200 guardrails, 7 to a page: 29 pages
$emu->admin('reset');
$emu->admin('catalog', '{"pageSize":7,"guardrails":200}');
is( $node->safe_psql('postgres',
		'SELECT count(*), count(DISTINCT id), min(name), max(name) FROM cat.guardrails'),
	'200|200|guardrail-0001|guardrail-0200',
	'every guardrail once over 29 pages');
is(stat_of('controlOps.list-guardrails'), 29, '29 ListGuardrails requests');
is(stat_of('controlParams.nextToken'),    28, 'each page after the first asked with its token');
is(stat_of('controlParams.maxResults'),   29, 'every page asks for maxResults');

my $plan = $node->safe_psql('postgres',
	'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM cat.guardrails');
like($plan, qr/Remote requests: 29\n\s*Remote rows: 200/, 'EXPLAIN ANALYZE counts the pages and rows');

# a pushed filter goes out once: the one guardrail, one request
$emu->admin('reset');
$emu->admin('catalog', '{"pageSize":7,"guardrails":200}');
is($node->safe_psql('postgres', q{SELECT name FROM cat.guardrails WHERE id = 'g00000000042'}),
	'guardrail-0042', 'guardrail by id');
is(stat_of('controlOps.list-guardrails'),          1, 'by id: one request');
is(stat_of('controlParams.guardrailIdentifier'),   1, 'by id: guardrailIdentifier sent');

# LIMIT: pages are fetched as rows are consumed
$emu->admin('reset');
$emu->admin('catalog', '{"pageSize":7,"guardrails":200}');
is($node->safe_psql('postgres', 'SELECT count(*) FROM (SELECT * FROM cat.guardrails LIMIT 10) s'),
	'10', 'LIMIT 10');
is(stat_of('controlOps.list-guardrails'), 2, 'LIMIT 10 over pages of 7: two requests');

# 60 jobs, one in three Completed: the filter rides on every page
my @jobs;
for my $i (1 .. 60)
{
	my $status = $i % 3 == 0 ? 'Completed' : 'InProgress';
	push @jobs, sprintf('{"jobName":"job-%03d","status":"%s","submitTime":"2026-01-01T00:%02d:00Z"}',
		$i, $status, $i - 1);
}
$emu->admin('reset');
$emu->admin('catalog', '{"pageSize":7,"jobs":[' . join(',', @jobs) . ']}');
is( $node->safe_psql('postgres',
		q{SELECT count(*), min(job_name), max(job_name) FROM cat.model_invocation_jobs WHERE status = 'Completed'}),
	'20|job-003|job-060', 'the 20 completed jobs');
is(stat_of('controlOps.list-model-invocation-jobs'), 3,
	'20 completed jobs over pages of 7: three requests, not the nine of all 60');
is(stat_of('controlParams.statusEquals'), 3, 'statusEquals on every page');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM cat.model_invocation_jobs WHERE job_name LIKE '%job-01%'}),
	'10', 'nameContains: job-010 to job-019');
is(stat_of('controlParams.nameContains'), 2, 'nameContains on both pages');

# the page cap: 1000 pages a scan
$emu->admin('reset');
$emu->admin('catalog', '{"pageSize":1,"guardrails":1001}');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM cat.guardrails');
like($err, qr/ERROR:  Bedrock ListGuardrails returned more than 1000 pages/, 'page cap');
like($err, qr/HINT:  Narrow the scan/, 'page cap hint');
is(stat_of('controlOps.list-guardrails'), 1000, 'the 1001st page was not asked for');

# a service that hands back the token it was given
$emu->admin('reset');
$emu->admin('fault',
	'[{"type":"malformed","route":"control","body":"{\"guardrails\":[],\"nextToken\":\"same\"}"},'
	  . '{"type":"malformed","route":"control","body":"{\"guardrails\":[],\"nextToken\":\"same\"}"}]');
($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM cat.guardrails');
like($err, qr/the response repeats the pagination token of its request/, 'repeated token refused');
is(stat_of('controlOps.list-guardrails'), 2, 'after two requests');

# a slow page: statement_timeout cancels it
$emu->admin('reset');
my $models = $node->safe_psql('postgres', 'SELECT count(*) FROM cat.foundation_models');
$emu->admin('fault', '{"type":"latency","ms":20000,"route":"control"}');
($rc, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '500ms'; SELECT count(*) FROM cat.foundation_models",
	timeout => 60);
like($err, qr/canceling statement due to statement timeout/, 'a slow page is cancelled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cat.foundation_models'),
	$models, 'the next scan works');

$node->stop;
$emu->stop;
done_testing();
