-- How much of a call's CPU goes into turning its result (JSON text) into
-- jsonb, against building the same document with the jsonb builder
-- (jsonb_build_object, i.e. pushJsonbValue) and against the text alone.
-- Run with psql on any PostgreSQL 15+ (no extension needed); BENCHMARKS.md.
\timing on
-- parse: the result as JSON text, varied per row so nothing is folded
SELECT count(j) FROM (SELECT ('{"text": "Summary ' || g || ': the supplier shall deliver the goods within thirty days of the order; the buyer pays within sixty days of the invoice. Governing law: England and Wales.", "model": "openai.gpt-oss-20b-1:0", "stop_reason": "end_turn", "usage": {"input_tokens": 42, "output_tokens": 37, "total_tokens": 79, "cache_read_input_tokens": 0, "cache_write_input_tokens": 0}, "request_id": "4f1c2a9e-1b2c-4d5e-8f90-123456789abc", "latency_ms": 12.345, "service_latency_ms": 10, "attempts": 1, "throttled_attempts": 0, "rate_limited_ms": 0}')::jsonb AS j FROM generate_series(1,200000) g) s;
-- build: the same document through the jsonb builder (pushJsonbValue)
SELECT count(j) FROM (SELECT jsonb_build_object('text', 'Summary ' || g || ': the supplier shall deliver the goods within thirty days of the order; the buyer pays within sixty days of the invoice. Governing law: England and Wales.', 'model', 'openai.gpt-oss-20b-1:0', 'stop_reason', 'end_turn', 'usage', jsonb_build_object('input_tokens', 42, 'output_tokens', 37, 'total_tokens', 79, 'cache_read_input_tokens', 0, 'cache_write_input_tokens', 0), 'request_id', '4f1c2a9e-1b2c-4d5e-8f90-123456789abc', 'latency_ms', 12.345, 'service_latency_ms', 10, 'attempts', 1, 'throttled_attempts', 0, 'rate_limited_ms', 0) AS j FROM generate_series(1,200000) g) s;
-- baseline: the text alone
SELECT count(j) FROM (SELECT ('Summary ' || g || ': x') AS j FROM generate_series(1,200000) g) s;
