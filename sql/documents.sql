--
-- documents: options.documents and options.images, sent as Converse
-- document and image blocks before the prompt; bedrock_document() and
-- bedrock_image() make their elements from a bytea.  Bedrock's limits are
-- checked before anything is sent.  The emulator's answer starts with what
-- it read ("I read document ... : <the PDF's text>").
--
\! node test/emulator/admin.js reset
-- a one-page PDF of a contract, made by the demo's generator
\set pdf_b64 `printf 'Parties: Acme Ltd (landlord) and Bob Smith (tenant).\nGoverning law: Norway.\nTerm: 24 months, renewed automatically.\n' | test/demo/make-contract-pdf - 'Lease 2024-17' | base64 -w0`
CREATE TEMP TABLE contracts (id int, title text, pdf bytea);
INSERT INTO contracts VALUES (1, 'Lease 2024-17', decode(:'pdf_b64', 'base64'));
-- a 1x1 PNG (its header is what is checked) and a GIF header
CREATE TEMP TABLE pics (name text, img bytea);
INSERT INTO pics VALUES
  ('png', decode('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6360000000020001e221bc330000000049454e44ae426082', 'hex')),
  ('gif', decode('47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex'));

-- ---- the helpers ----
SELECT d->>'name' AS name, d->>'format' AS format, length(decode(d->>'bytes', 'base64')) = length(c.pdf) AS same_bytes,
       left(d->>'bytes', 12) AS base64_start
  FROM contracts c, LATERAL bedrock_document(c.title, 'pdf', c.pdf) d;
SELECT bedrock_image('gif', img) FROM pics WHERE name = 'gif';
SELECT bedrock_document('Notes', 'txt', convert_to('Governing law: Sweden.', 'UTF8'));
-- NULL in, NULL out (STRICT)
SELECT bedrock_document('x', 'pdf', NULL) IS NULL AS is_null;

-- ---- a contract PDF read by the model ----
SELECT r->>'text' AS text, (r->'usage'->>'input_tokens')::int > 10 AS counted
  FROM contracts c,
       LATERAL bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: What is the governing law?', NULL,
                            jsonb_build_object('documents', jsonb_build_array(bedrock_document(c.title, 'pdf', c.pdf)))) r;
-- two documents and two images in one call
SELECT bedrock_chat('anthropic.claude-3-haiku-20240307-v1:0', 'echo: Compare them.', NULL,
         jsonb_build_object('documents', jsonb_build_array(
                               bedrock_document('Lease 2024-17', 'pdf', (SELECT pdf FROM contracts)),
                               bedrock_document('Notes', 'md', convert_to('# Notes' || chr(10) || 'Rent is due monthly.', 'UTF8'))),
                            'images', (SELECT jsonb_agg(bedrock_image(name, img) ORDER BY name) FROM pics)))->>'text' AS text;
-- the batch form: the same documents with every prompt
SELECT ord, r->>'text' AS text
  FROM bedrock_chat_batch('anthropic.claude-3-haiku-20240307-v1:0',
         ARRAY['echo: Who are the parties?', 'echo: What is the term?'], NULL,
         jsonb_build_object('documents', jsonb_build_array(bedrock_document('Lease', 'pdf', (SELECT pdf FROM contracts))))) AS b(ord, r)
 ORDER BY ord;
-- typed fields out of the PDF: bedrock_extract with the document, both
-- methods (the answer is the object itself, checked against the schema;
-- in the emulator only gpt-oss has structured output)
SELECT m.method, bedrock_extract(m.model,
         'Extract the fields of the attached lease.',
         '{"type": "object",
           "properties": {"parties": {"type": "string"}, "governing_law": {"type": "string"}},
           "required": ["parties", "governing_law"]}',
         options => jsonb_build_object('method', m.method,
                                       'documents', jsonb_build_array(bedrock_document(c.title, 'pdf', c.pdf)))) AS fields
  FROM contracts c,
       (VALUES ('tool', 'anthropic.claude-3-haiku-20240307-v1:0'),
               ('output_format', 'openai.gpt-oss-20b-1:0')) AS m(method, model)
 ORDER BY m.method;
\! node test/emulator/admin.js stat requests.converse

-- ---- refusals, before anything is sent ----
\! node test/emulator/admin.js reset
-- the helpers
SELECT regress_try($$SELECT bedrock_document('Lease', 'rtf', '\x7b5c727466'::bytea)::text$$);
SELECT regress_try($$SELECT bedrock_document('Lease  2024', 'txt', 'x'::bytea)::text$$);
SELECT regress_try($$SELECT bedrock_document('lease.pdf', 'pdf', (SELECT pdf FROM contracts))::text$$);
SELECT regress_try($$SELECT bedrock_document(repeat('a', 201), 'txt', 'x'::bytea)::text$$);
SELECT regress_try($$SELECT bedrock_document('Lease', 'pdf', convert_to('not a pdf', 'UTF8'))::text$$);
SELECT regress_try($$SELECT bedrock_document('Lease', 'docx', convert_to('not a zip', 'UTF8'))::text$$);
SELECT regress_try($$SELECT bedrock_document('Lease', 'txt', ''::bytea)::text$$);
SELECT regress_try($$SELECT bedrock_document('Big', 'pdf', convert_to('%PDF-' || repeat('x', 4718592), 'UTF8'))::text$$);
SELECT regress_try($$SELECT bedrock_image('bmp', '\x424d'::bytea)::text$$);
SELECT regress_try($$SELECT bedrock_image('jpeg', (SELECT img FROM pics WHERE name = 'png'))::text$$);
SELECT regress_try($$SELECT bedrock_image('png', decode('89504e470d0a1a0a0000000d4948445200002328000000010806000000', 'hex'))::text$$);
SELECT regress_try($$SELECT bedrock_image('png', '\x89504e470d0a1a0a'::bytea || convert_to(repeat('x', 3932160), 'UTF8'))::text$$);
-- the options
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": {"name": "x"}}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": ["x"]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": [{"name": "x", "format": "txt", "bytes": "eA==", "source": "s3"}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": [{"name": "x", "format": "txt"}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": [{"format": "txt", "bytes": "eA=="}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": [{"name": "x", "format": "txt", "bytes": "not base64!"}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": [{"name": "x", "format": "txt", "bytes": 5}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"documents": [{"name": "x", "format": "txt", "bytes": "eA=="}, {"name": "x", "format": "txt", "bytes": "eQ=="}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, jsonb_build_object('documents', (SELECT jsonb_agg(bedrock_document('Doc ' || i, 'txt', 'x'::bytea)) FROM generate_series(1, 6) i)))::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, jsonb_build_object('images', (SELECT jsonb_agg(bedrock_image('gif', img)) FROM pics, generate_series(1, 21) WHERE name = 'gif')))::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"images": [{"name": "x", "format": "gif", "bytes": "R0lGODlh"}]}')::text$$);
SELECT regress_try($$SELECT bedrock_chat('m', 'p', NULL, '{"images": [{"format": "gif", "bytes": "iVBORw0KGgo="}]}')::text$$);
SELECT regress_try($$SELECT bedrock_converse('m', '{"messages": []}', '{"documents": []}')::text$$);
SELECT regress_try($$SELECT bedrock_embed('amazon.titan-embed-text-v2:0', 'x', '{"images": []}')::text$$);
\! node test/emulator/admin.js stat requests.total
