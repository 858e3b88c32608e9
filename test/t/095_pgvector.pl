# Embeddings end to end: usage rows of operation 'invoke' (every
# environment), and where pgvector is installed the whole flow of
# docs/embeddings.md: a vector column filled by bedrock_enrich, an HNSW
# index, and a search with <=> against bedrock_embed(query, search_query).
# Without pgvector (PostgreSQL 15 on Debian 12) that part is skipped with a
# message; the PostgreSQL 17 and 18 legs install postgresql-NN-pgvector so
# it runs there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $node = $emu->preloaded_node('pgvector',
	conf => "bedrock.database = 'postgres'\nbedrock.usage_flush_ms = 200\n");

# usage: one row per request, operation invoke, tokens from the header
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM bedrock.usage_log');
$node->safe_psql('postgres',
	"SELECT count(*) FROM bedrock_embed_batch('cohere.embed-english-v3', "
	  . "ARRAY(SELECT 'clause ' || i FROM generate_series(1, 100) i))");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = $before + 2 FROM bedrock.usage_log"),
	'100 Cohere texts make 2 usage rows (2 requests)');
is($node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT operation, ','), bool_and(input_tokens > 0), "
		  . "bool_and(output_tokens IS NULL OR output_tokens = 0), bool_and(error_code IS NULL) "
		  . "FROM bedrock.usage_log WHERE model = 'cohere.embed-english-v3'"),
	'invoke|t|t|t', 'the rows are of operation invoke, with input tokens');
# priced by bedrock.model_prices like every other call
$node->safe_psql('postgres',
	"INSERT INTO bedrock.model_prices (model, input_per_1k, output_per_1k) "
	  . "VALUES ('cohere.embed-english-v3', 0.1, 0)");
is($node->safe_psql('postgres',
		"SELECT bool_and(bedrock.call_cost(model, called_at, input_tokens, output_tokens) > 0) "
		  . "FROM bedrock.usage_log WHERE model = 'cohere.embed-english-v3'"),
	't', 'the embedding calls are priced by bedrock.model_prices');

my $has_vector = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'");
if ($has_vector eq '0')
{
	my $version = $node->safe_psql('postgres', 'SHOW server_version');
	diag("SKIPPED: pgvector is not installed for PostgreSQL $version here; "
		  . "the pgvector flow runs on the PostgreSQL 17 and 18 legs (make test-pg17, test-pg18)");
  SKIP:
	{
		skip 'pgvector (the extension "vector") is not installed', 1;
	}
	$node->stop;
	$emu->stop;
	done_testing();
	exit 0;
}

# the flow of docs/embeddings.md
$node->safe_psql('postgres', q{
CREATE EXTENSION vector;
CREATE TABLE contracts (id int PRIMARY KEY, body text, embedding vector(1024));
INSERT INTO contracts
SELECT i, CASE i % 4
            WHEN 0 THEN 'the tenant pays the rent monthly in advance, contract ' || i
            WHEN 1 THEN 'either party may terminate with three months notice, contract ' || i
            WHEN 2 THEN 'the supplier delivers the goods within ten days, contract ' || i
            ELSE 'disputes go to arbitration in Geneva, contract ' || i END, NULL
  FROM generate_series(1, 300) i;
});
$node->safe_psql('postgres',
	"CALL bedrock_enrich('contracts', 'embedding', 'body', 'cohere.embed-english-v3', chunk_size => 200)");
is($node->safe_psql('postgres',
		'SELECT count(embedding), min(vector_dims(embedding)) FROM contracts'),
	'300|1024', 'bedrock_enrich filled the vector column');
is($node->safe_psql('postgres',
		"SELECT status, rows_done, errors FROM bedrock.jobs WHERE table_name = 'contracts'"),
	'done|300|0', 'the job is done in bedrock.jobs');
is($node->safe_psql('postgres',
		"SELECT embedding = bedrock_embed('cohere.embed-english-v3', body)::vector FROM contracts WHERE id = 7"),
	't', 'the stored vector is bedrock_embed(...)::vector of the row');

$node->safe_psql('postgres',
	'CREATE INDEX contracts_embedding ON contracts USING hnsw (embedding vector_cosine_ops)');
my $search = q{
SELECT id % 4 FROM contracts
 ORDER BY embedding <=> (SELECT bedrock_embed('cohere.embed-english-v3', 'when is the rent paid by the tenant',
                                              '{"input_type": "search_query"}')::vector)
 LIMIT 5};
is($node->safe_psql('postgres', "SET enable_seqscan = off; $search"),
	join("\n", (0) x 5), 'the nearest contracts are about rent');
like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN $search"),
	qr/contracts_embedding/, 'the search uses the HNSW index');
# the query is embedded once, not per row
my $calls = $node->safe_psql('postgres',
	"SELECT calls FROM bedrock_stats() WHERE model = 'cohere.embed-english-v3'");
$node->safe_psql('postgres', $search);
is($node->safe_psql('postgres',
		"SELECT calls - $calls FROM bedrock_stats() WHERE model = 'cohere.embed-english-v3'"),
	'1', 'the search makes one call');

# typed variants are casts: halfvec and real[] work as well
is($node->safe_psql('postgres',
		"SELECT vector_dims(bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{\"dimensions\": 256}')::vector), "
		  . "vector_dims(bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{\"dimensions\": 256}')::halfvec)"),
	'256|256', 'real[] casts to vector and halfvec');

$node->stop;
$emu->stop;
done_testing();
