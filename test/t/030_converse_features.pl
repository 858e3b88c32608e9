# The usage rows of the Converse features: guardrail_action
# (INTERVENED, NONE, NULL), the service tier that served, the cache token
# columns, bedrock_apply_guardrail's rows (operation guardrail), and that
# none of them stores the request metadata or a document.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'anthropic.claude-3-haiku-20240307-v1:0';

my $node = $emu->preloaded_node('conv',
	conf => "bedrock.database = 'postgres'\n" . "bedrock.usage_flush_ms = 200\n");

sub wait_rows
{
	my ($cond, $n, $what) = @_;
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = $n FROM bedrock.usage_log WHERE $cond"), $what);
}

sub row_of
{
	my ($app, $cols) = @_;
	return $node->safe_psql('postgres',
		"SELECT $cols FROM bedrock.usage_log WHERE application_name = '$app'");
}

my $guard = q('{"guardrail_identifier": "gr1abc2def3g", "guardrail_version": "1"}');
$node->safe_psql('postgres', "SET application_name = 'passed'; SELECT bedrock_chat('$model', 'fine', NULL, $guard)");
$node->safe_psql('postgres', "SET application_name = 'blocked'; SELECT bedrock_chat('$model', 'BLOCKME', NULL, $guard)");
$node->safe_psql('postgres', "SET application_name = 'unguarded'; SELECT bedrock_chat('$model', 'fine')");
wait_rows("application_name IN ('passed', 'blocked', 'unguarded')", 3, 'three chat rows');
is(row_of('passed', "coalesce(guardrail_action, '-')"), 'NONE', 'a guarded call let through: NONE');
is(row_of('blocked', "coalesce(guardrail_action, '-') || ' ' || output_tokens"), 'INTERVENED 0',
	'a blocked call: INTERVENED');
is(row_of('unguarded', "coalesce(guardrail_action, '-')"), '-', 'no guardrail: NULL');

# the mandatory guardrail counts for bedrock_converse too
$node->safe_psql('postgres',
	"SET bedrock.guardrail_identifier = 'gr4hij5klm6n'; SET bedrock.guardrail_version = '2'; "
	  . "SET application_name = 'mandatory'; "
	  . "SELECT bedrock_converse('$model', '{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"fine\"}]}]}')");
wait_rows("application_name = 'mandatory'", 1, 'the bedrock_converse row');
is(row_of('mandatory', 'guardrail_action'), 'NONE', 'the mandatory guardrail is recorded');

# tiers and caching
my $sys = "'Rules. ' || repeat('Answer briefly. ', 400)";
$node->safe_psql('postgres',
	"SET application_name = 'flex'; SELECT bedrock_chat('$model', 'a', $sys, '{\"cache\": true, \"service_tier\": \"flex\"}')");
$node->safe_psql('postgres',
	"SET application_name = 'cached'; SELECT bedrock_chat('$model', 'b', $sys, '{\"cache\": true}')");
wait_rows("application_name IN ('flex', 'cached')", 2, 'the tier and cache rows');
is(row_of('flex', "service_tier || ' ' || (cache_write_input_tokens > 1024) || ' ' || cache_read_input_tokens"),
	'flex true 0', 'the served tier and the cache write are recorded');
is(row_of('cached', "coalesce(service_tier, '-') || ' ' || (cache_read_input_tokens > 1024) || ' ' || cache_write_input_tokens"),
	'- true 0', 'the cache read is recorded');
$node->safe_psql('postgres',
	"INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k) VALUES ('$model', 1, 1)");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM bedrock.usage_log u WHERE application_name IN ('flex', 'cached') "
		  . "AND bedrock.call_cost(u.model, u.called_at, u.input_tokens, u.output_tokens, "
		  . "u.cache_read_input_tokens, u.cache_write_input_tokens, u.service_tier) > 0"),
	'2', 'the rows are priced');

# bedrock_apply_guardrail
$node->safe_psql('postgres',
	"SET application_name = 'apply'; SELECT bedrock_apply_guardrail('gr1abc2def3g', '1', 'mail ann\@example.com')");
$node->safe_psql('postgres',
	"SET application_name = 'apply-none'; SELECT bedrock_apply_guardrail('gr1abc2def3g', '1', 'nothing')");
wait_rows("application_name IN ('apply', 'apply-none')", 2, 'the ApplyGuardrail rows');
is(row_of('apply', "operation || ' ' || model || ' ' || guardrail_action || ' ' || http_status || ' ' || attempts"),
	'guardrail gr1abc2def3g INTERVENED 200 1', 'ApplyGuardrail: operation guardrail, INTERVENED');
is(row_of('apply-none', 'guardrail_action'), 'NONE', 'ApplyGuardrail that let the text through: NONE');

# the request metadata and the content never reach the log
$node->safe_psql('postgres',
	"SET application_name = 'meta'; SELECT bedrock_chat('$model', 'x', NULL, "
	  . "jsonb_build_object('request_metadata', '{\"tenant\": \"t-secret-42\"}'::jsonb, "
	  . "'documents', jsonb_build_array(bedrock_document('Doc', 'txt', convert_to('confidential-body', 'UTF8')))))");
wait_rows("application_name = 'meta'", 1, 'the metadata row');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM bedrock.usage_log u WHERE u::text LIKE '%t-secret-42%' OR u::text LIKE '%confidential%'"),
	'0', 'no row holds the request metadata or the document');
like($emu->admin('stat', 'last.-1.requestMetadata.tenant'), qr/t-secret-42/, 'the metadata went to Bedrock');

$node->stop;
done_testing();
