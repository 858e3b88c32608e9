--
-- bedrock_sign_request(): SigV4 header signing from SQL.
--
-- The Appendix A vectors of the protocol reference (checked against
-- botocore), path double encoding, S3, header and query canonicalisation,
-- NULL handling and input errors.  Every call passes a fixed signing_time
-- so the output is deterministic.
--
\set akid 'AKIDEXAMPLE'
\set secret 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
\set t '2025-01-15 12:00:00+00'

CREATE TEMP TABLE signed (name text PRIMARY KEY, r jsonb);

-- A.1: Converse with a session token; the wire path's %3A is signed as %253A
INSERT INTO signed VALUES ('a1', bedrock_sign_request(
	'POST',
	'https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse',
	'{"Content-Type": "application/json"}',
	convert_to('{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}}', 'UTF8'),
	'us-east-1', 'bedrock', :'akid', :'secret',
	session_token => 'FQoGZXIvYXdzEXAMPLETOKEN',
	signing_time => :'t'));

SELECT r->>'canonical_request' = E'POST\n'
	'/model/us.anthropic.claude-3-5-haiku-20241022-v1%253A0/converse\n'
	'\n'
	'content-type:application/json\n'
	'host:bedrock-runtime.us-east-1.amazonaws.com\n'
	'x-amz-date:20250115T120000Z\n'
	'x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n'
	'\n'
	'content-type;host;x-amz-date;x-amz-security-token\n'
	'f5b802cc64a01910fd197a46e9e959f3a5795f7728fa5710fb28f1ec3019f545'
	AS canonical_request_ok,
	r->>'string_to_sign' = E'AWS4-HMAC-SHA256\n'
	'20250115T120000Z\n'
	'20250115/us-east-1/bedrock/aws4_request\n'
	'6b0783a3a7af903f62f19c27b40f49345aa0cc15177abe2e14151549636aaf5c'
	AS string_to_sign_ok,
	r->'headers'->>'authorization' = 'AWS4-HMAC-SHA256 '
	'Credential=AKIDEXAMPLE/20250115/us-east-1/bedrock/aws4_request, '
	'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, '
	'Signature=498fb47e4a9e036e513b204b86b7cce0b01da333016b2899b0afd0ee4aa9c28f'
	AS authorization_ok
FROM signed WHERE name = 'a1';

SELECT r->>'canonical_request' AS canonical_request,
	r->>'string_to_sign' AS string_to_sign
FROM signed WHERE name = 'a1';
SELECT key, value FROM signed, jsonb_each_text(r->'headers')
WHERE name = 'a1' ORDER BY key;
SELECT r->>'signed_headers' AS signed_headers, r->>'signature' AS signature
FROM signed WHERE name = 'a1';

-- A.2: ListFoundationModels, query parameters sorted, no token, no body
INSERT INTO signed VALUES ('a2', bedrock_sign_request(
	'GET',
	'https://bedrock.us-east-1.amazonaws.com/foundation-models?byProvider=Anthropic&byOutputModality=TEXT',
	NULL, NULL, 'us-east-1', 'bedrock', :'akid', :'secret',
	signing_time => :'t'));
SELECT r->>'canonical_request' AS canonical_request FROM signed WHERE name = 'a2';
SELECT r->'headers'->>'authorization' = 'AWS4-HMAC-SHA256 '
	'Credential=AKIDEXAMPLE/20250115/us-east-1/bedrock/aws4_request, '
	'SignedHeaders=host;x-amz-date, '
	'Signature=f321f2470a3154e5555a8553d6d3bb2caa65670205949a38678235cd8fcff0f5'
	AS authorization_ok,
	r->'headers' ? 'x-amz-security-token' AS has_token
FROM signed WHERE name = 'a2';

-- a model ARN in the path: %3A and %2F are encoded a second time
SELECT split_part(bedrock_sign_request('POST',
	'https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2F1arbu5hu2sjr/converse',
	'{"content-type": "application/json"}', '\x7b7d', 'us-east-1', 'bedrock',
	:'akid', :'secret', signing_time => :'t')->>'canonical_request',
	E'\n', 2) AS canonical_uri;

-- S3: no double encoding, no normalization, X-Amz-Content-SHA256 added
INSERT INTO signed VALUES ('s3', bedrock_sign_request(
	'PUT', 'https://examplebucket.s3.amazonaws.com/my%20photos//a%3Ab/../c.jpg',
	NULL, convert_to('hello', 'UTF8'), 'us-east-1', 's3', :'akid', :'secret',
	signing_time => :'t'));
SELECT r->>'canonical_request' AS canonical_request FROM signed WHERE name = 's3';
SELECT key, value FROM signed, jsonb_each_text(r->'headers')
WHERE name = 's3' ORDER BY key;
-- a caller's X-Amz-Content-SHA256 is the payload hash, and is not returned
SELECT r->>'canonical_request' AS canonical_request,
	r->'headers' ? 'x-amz-content-sha256' AS returned
FROM bedrock_sign_request('GET', 'https://examplebucket.s3.amazonaws.com/k',
	'{"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}', NULL, 'us-east-1', 's3',
	:'akid', :'secret', signing_time => :'t') AS r;

-- path normalization: on by default except for S3, and can be turned off
SELECT n, split_part(bedrock_sign_request('GET',
	'https://example.com/a/./b/../c//d/', NULL, NULL, 'us-east-1', 'bedrock',
	:'akid', :'secret', signing_time => :'t', normalize_path => n)
	->>'canonical_request', E'\n', 2) AS canonical_uri
FROM (VALUES (NULL::boolean), (true), (false)) AS v(n);
SELECT split_part(bedrock_sign_request('GET', 'https://example.com/..', NULL,
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t')
	->>'canonical_request', E'\n', 2) AS canonical_uri;

-- repeated header as an array (order kept), relative URL with a Host header,
-- blanks trimmed and folded, never-signed headers left out
SELECT r->>'canonical_request' AS canonical_request,
	(SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(r->'headers') k)
	AS returned_headers
FROM bedrock_sign_request('GET', '/',
	'{"Host": "example.amazonaws.com", "X-Custom": ["b", "  a   c "], '
	'"User-Agent": "psql", "Authorization": "old", "Connection": "close"}',
	NULL, 'us-east-1', 'service', :'akid', :'secret',
	signing_time => :'t') AS r;

-- query canonicalisation: decoded, re-encoded ('+' stays a plus), sorted
SELECT split_part(bedrock_sign_request('GET',
	'https://example.com/?b=2&a=%2F+x&c&a=1&&d=%e1%88%b4#fragment', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t')
	->>'canonical_request', E'\n', 3) AS canonical_query;

-- host from the URL: lower-cased, default ports dropped
SELECT u, bedrock_sign_request('GET', u, NULL, NULL, 'us-east-1', 'bedrock',
	:'akid', :'secret', signing_time => :'t')->'headers'->>'host' AS host
FROM (VALUES ('http://Example.COM:80/x'), ('HTTPS://example.com:443'),
	('https://example.com:8443/x'), ('http://example.com:443/'),
	('http://[::1]:8080/'), ('https://example.com:/')) AS v(u);

-- NULL handling
SELECT bedrock_sign_request(NULL, '/', '{"host": "h"}', NULL, 'us-east-1',
	'bedrock', :'akid', :'secret') IS NULL AS null_method;
SELECT bedrock_sign_request('GET', NULL, '{"host": "h"}', NULL, 'us-east-1',
	'bedrock', :'akid', :'secret') IS NULL AS null_url;
SELECT bedrock_sign_request('GET', '/', '{"host": "h"}', NULL, NULL,
	'bedrock', :'akid', :'secret') IS NULL AS null_region;
SELECT bedrock_sign_request('GET', '/', '{"host": "h"}', NULL, 'us-east-1',
	NULL, :'akid', :'secret') IS NULL AS null_service;
SELECT bedrock_sign_request('GET', '/', '{"host": "h"}', NULL, 'us-east-1',
	'bedrock', NULL, :'secret') IS NULL AS null_key_id;
SELECT bedrock_sign_request('GET', '/', '{"host": "h"}', NULL, 'us-east-1',
	'bedrock', :'akid', NULL) IS NULL AS null_secret;
SELECT r->>'signed_headers' AS signed_headers,
	r->'headers' ? 'x-amz-security-token' AS has_token,
	right(r->>'canonical_request', 64) AS payload_hash
FROM bedrock_sign_request('POST', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', session_token => '',
	signing_time => :'t') AS r;
-- NULL signing_time and the default both mean now
SELECT r1->'headers'->>'x-amz-date' ~ '^\d{8}T\d{6}Z$' AS null_time_is_now,
	r2->'headers'->>'x-amz-date' ~ '^\d{8}T\d{6}Z$' AS default_time_is_now
FROM bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => NULL) AS r1,
	bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret') AS r2;

-- errors; none of them may show a header value or the secret
SELECT bedrock_sign_request('GET', 'https://example.com/',
	'{"X-Api-Key": "top-secret\r\nX-Injected: 1"}', NULL, 'us-east-1',
	'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/',
	'{"X-Api-Key": ["ok", "top-secret\n"]}', NULL, 'us-east-1',
	'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', '["host"]', NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', '"example.com"',
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', '{"X-Count": 5}',
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/',
	'{"X-List": ["a", null]}', NULL, 'us-east-1', 'bedrock', :'akid',
	:'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', '{"X-List": []}',
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', '{"Bad Name": "x"}',
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', '{"": "x"}',
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'ftp://example.com/file', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'example.com/file', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'h%74tp://example.com/file', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', '/model/x/converse', '{"Content-Type": "a"}',
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', E'https://example.com/a\r\nX: y', NULL,
	NULL, 'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://exa mple.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://user:pw@example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com:99999/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https:///path', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET /evil', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
	'us-east-1/x', 'bedrock', :'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', '', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', '', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/',
	'{"X-Amz-Date": "20200101T000000Z"}', NULL, 'us-east-1', 'bedrock',
	:'akid', :'secret', signing_time => :'t');
SELECT bedrock_sign_request('GET', 'https://example.com/', NULL, NULL,
	'us-east-1', 'bedrock', :'akid', :'secret', signing_time => 'infinity');

DROP TABLE signed;
