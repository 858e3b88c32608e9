--
-- demo.sql: what "make demo" shows, run by test/demo/run-demo with psql
-- against a throw-away cluster whose bedrock.* settings point at the local
-- AWS emulator.  Every statement must succeed (ON_ERROR_STOP).
--
\set ON_ERROR_STOP on
\pset null '(null)'
\set model 'openai.gpt-oss-20b-1:0'

\echo
\echo '==== 1. CREATE EXTENSION bedrock_fdw'
\echo
CREATE EXTENSION bedrock_fdw;
SELECT extversion FROM pg_extension WHERE extname = 'bedrock_fdw';
SELECT name, setting FROM pg_settings
 WHERE name IN ('bedrock.endpoint', 'bedrock.region', 'bedrock.access_key_id')
 ORDER BY name;

\echo
\echo '==== 2. A contracts table'
\echo
CREATE TABLE contracts (
    id        int PRIMARY KEY,
    kind      text NOT NULL,
    title     text NOT NULL,
    parties   text NOT NULL,
    signed_on date NOT NULL,
    body      text NOT NULL,
    summary   jsonb
);

INSERT INTO contracts (id, kind, title, parties, signed_on, body) VALUES
(1, 'lease', 'Office lease, 14 Harbour Street', 'Meridian Properties Ltd / Calder & Finch LLP', '2024-03-01',
 'Meridian Properties Ltd leases the third floor of 14 Harbour Street, Bristol, to Calder & Finch LLP for five years from 1 April 2024. '
 'The annual rent is GBP 186,000, payable quarterly in advance and reviewed upwards only to market rent on the third anniversary. '
 'The tenant may break the lease on 31 March 2027 by giving six months'' written notice, provided the rent is fully paid.'),
(2, 'nda', 'Mutual non-disclosure agreement', 'Helix Biologics Inc. / Norrland Analytics AB', '2024-05-14',
 'Helix Biologics Inc. and Norrland Analytics AB will exchange confidential information to evaluate a joint assay development programme. '
 'Each party shall use the other''s information only for that evaluation and protect it with at least reasonable care. '
 'The obligations last three years after the last disclosure, and trade secrets stay protected for as long as they remain secret.'),
(3, 'supply', 'Supply agreement for aluminium extrusions', 'Vantor Components GmbH / Eastline Windows Ltd', '2023-11-20',
 'Vantor Components GmbH shall supply Eastline Windows Ltd with up to 1,200 tonnes of 6063-T5 aluminium extrusions a year at EUR 3,850 per tonne, adjusted each quarter to the LME aluminium price. '
 'Deliveries are DAP Eastline''s Leeds plant within 21 days of each purchase order. '
 'Late deliveries incur liquidated damages of 0.5% of the order value per week, capped at 10%.'),
(4, 'saas', 'SaaS subscription, Ledgerly Enterprise', 'Ledgerly Software Inc. / Quayside Logistics plc', '2024-01-08',
 'Quayside Logistics plc subscribes to Ledgerly Enterprise for 450 named users for 36 months at USD 22 per user per month, invoiced annually in advance. '
 'Ledgerly commits to 99.9% monthly availability; each full 0.1% below that earns a 5% service credit, up to 30% of the monthly fee. '
 'Customer data is hosted in the EU and is returned in CSV form within 30 days of termination.'),
(5, 'employment', 'Employment contract, Head of Data Engineering', 'Orbis Retail Group / Dr. Amara Okafor', '2024-06-03',
 'Orbis Retail Group employs Dr. Amara Okafor as Head of Data Engineering from 1 July 2024 at a base salary of EUR 142,000 a year plus a target bonus of 20%. '
 'The first six months are a probation period with a notice period of one month; afterwards either side must give three months'' notice. '
 'A non-solicitation covenant applies for twelve months after the employment ends.'),
(6, 'loan', 'Term loan facility', 'First Cascade Bank N.A. / Pinegrove Hospitality LLC', '2023-09-29',
 'First Cascade Bank N.A. makes a USD 4,500,000 term loan available to Pinegrove Hospitality LLC to refinance two hotels in Bend, Oregon. '
 'Interest is SOFR plus 2.75% a year, payable monthly, and the principal amortises over 20 years with a balloon payment at the seventh anniversary. '
 'The borrower must keep a debt service coverage ratio of at least 1.35 to 1, tested quarterly.'),
(7, 'licence', 'Patent and know-how licence', 'Aurelia Optics SA / Kestrel Imaging Co., Ltd.', '2024-02-12',
 'Aurelia Optics SA grants Kestrel Imaging Co., Ltd. an exclusive licence under patent family EP 3 412 908 to make and sell adaptive lenses in Japan and South Korea. '
 'Kestrel pays an upfront fee of EUR 750,000 and a royalty of 4.5% of net sales, with a minimum annual royalty of EUR 200,000 from 2026. '
 'Either party may terminate for a material breach not cured within 60 days of notice.'),
(8, 'services', 'Facilities management services agreement', 'Brightwell Facility Services Ltd / St. Columba University Hospital', '2023-12-18',
 'Brightwell Facility Services Ltd will provide cleaning, porterage and grounds maintenance at St. Columba University Hospital for four years from 1 February 2024. '
 'The fixed monthly charge is GBP 310,000, indexed yearly to CPI and capped at 4%. '
 'Performance below the agreed service levels in two consecutive months allows the hospital to withhold up to 8% of the monthly charge.'),
(9, 'distribution', 'Exclusive distribution agreement', 'Tessaro Coffee Roasters S.r.l. / Nordic Bean Trading Oy', '2024-04-22',
 'Tessaro Coffee Roasters S.r.l. appoints Nordic Bean Trading Oy as its exclusive distributor of packaged coffee in Finland, Sweden and the Baltic states for three years. '
 'Nordic Bean must buy at least 180 tonnes in the first year, rising by 10% each year, at the price list less a 32% distributor discount. '
 'Missing the minimum purchase target lets Tessaro end exclusivity on 90 days'' notice.'),
(10, 'construction', 'Design and build contract, distribution centre', 'Halden Construction AS / Arctic Cold Chain AS', '2023-08-07',
 'Halden Construction AS will design and build a 24,000 square metre refrigerated distribution centre in Trondheim for Arctic Cold Chain AS for a lump sum of NOK 612 million. '
 'Practical completion is due on 30 September 2025; delay damages are NOK 450,000 per day, capped at 10% of the contract sum. '
 'Five percent of each interim payment is retained until the end of the two-year defects liability period.'),
(11, 'consulting', 'Consulting agreement, ERP migration', 'Stratwell Advisory LLP / Granite Ridge Mining Corp.', '2024-07-15',
 'Stratwell Advisory LLP will advise Granite Ridge Mining Corp. on migrating its ERP system to the cloud, starting 1 August 2024 for an estimated 16 weeks. '
 'Fees are charged on time and materials at CAD 1,950 per consultant day, with a cap of CAD 480,000 that may be exceeded only with written approval. '
 'All deliverables become the client''s property on payment, and Stratwell''s liability is limited to the fees paid.'),
(12, 'sale', 'Sale of goods, wind turbine gearboxes', 'Baltwind Drivetrain Sp. z o.o. / Greenhaven Renewables Ltd', '2024-03-27',
 'Baltwind Drivetrain Sp. z o.o. sells eighteen 3.6 MW wind turbine gearboxes to Greenhaven Renewables Ltd for EUR 5.94 million, delivered FCA Gdansk in three batches between June and October 2024. '
 'Thirty percent of the price is paid with the order and the rest within 45 days of each delivery. '
 'Baltwind warrants the gearboxes against defects for 36 months from commissioning, limited to repair or replacement.');

SELECT id, kind, title, parties, signed_on, length(body) AS chars
  FROM contracts ORDER BY id;

\echo
\echo '==== 3. The flagship query: summarise every contract'
\echo
\echo 'The emulator answers with a deterministic stand-in, "Summary (N words): <the first words> ...";'
\echo 'real Bedrock returns what the model writes.'
\echo
\set ECHO queries
SELECT id, title,
       bedrock_chat('openai.gpt-oss-20b-1:0', 'Summarize: ' || body)->>'text' AS summary
  FROM contracts
 ORDER BY id;
\set ECHO none

\echo
\echo '==== 4. Keep the whole result, then look at usage: tokens, latency, attempts'
\echo
\set ECHO queries
UPDATE contracts
   SET summary = bedrock_chat(:'model', 'Summarize: ' || body,
                              system  => 'You summarise contracts for a busy general counsel in two sentences.',
                              options => '{"max_tokens": 300, "temperature": 0.2, "on_error": "json"}');

SELECT id,
       summary->'usage'->>'input_tokens'  AS input_tokens,
       summary->'usage'->>'output_tokens' AS output_tokens,
       summary->>'latency_ms'             AS latency_ms,
       summary->>'attempts'               AS attempts,
       summary->>'stop_reason'            AS stop_reason,
       summary->>'request_id'             AS request_id
  FROM contracts
 ORDER BY id;

SELECT count(*)                                          AS calls,
       sum((summary->'usage'->>'input_tokens')::int)    AS input_tokens,
       sum((summary->'usage'->>'output_tokens')::int)   AS output_tokens,
       round(avg((summary->>'latency_ms')::numeric), 1) AS avg_latency_ms,
       count(*) FILTER (WHERE summary ? 'error')        AS failed
  FROM contracts;

SELECT jsonb_pretty(summary) AS "one whole result" FROM contracts WHERE id = 1;
\set ECHO none

\echo
\echo '==== 5. A batch: every contract in one call, several requests in flight at once'
\echo
\set ECHO queries
SELECT b.ord, b.response->>'text' AS answer, b.response->>'latency_ms' AS latency_ms
  FROM bedrock_chat_batch(:'model',
         (SELECT array_agg('Name the parties: ' || parties ORDER BY id) FROM contracts),
         options => '{"concurrency": 4}') b
 ORDER BY b.ord;
\set ECHO none

\echo
\echo '==== 6. An enrichment job: fill a column for every row, in committed chunks,'
\echo '====    with progress in bedrock.jobs; Ctrl-C and CALL again resumes'
\echo
\set ECHO queries
ALTER TABLE contracts ADD COLUMN risks text;
CALL bedrock_enrich('contracts', 'risks',
                    prompt  => $$'List the risks for us in: ' || body$$,
                    model   => :'model',
                    chunk_size => 4, notices => true);
SELECT job_id, status, rows_done, rows_total, rows_skipped, errors,
       input_tokens, output_tokens, rows_per_second
  FROM bedrock.jobs;
SELECT id, left(risks, 60) AS risks FROM contracts ORDER BY id LIMIT 3;
\set ECHO none

\echo
\echo '==== 6b. Typed fields: bedrock_enrich with a JSON Schema fills a jsonb column with the'
\echo '====     objects bedrock_extract_batch extracts, each checked against the schema'
\echo
\echo 'The emulator picks the enum value that the text mentions; real Bedrock reads the contract.'
\echo
\set ECHO queries
ALTER TABLE contracts ADD COLUMN fields jsonb;
CALL bedrock_enrich('contracts', 'fields', 'body', 'anthropic.claude-3-haiku-20240307-v1:0',
                    options => '{"schema": {"type": "object",
                                            "properties": {"currency": {"type": "string",
                                                                        "enum": ["EUR", "GBP", "USD", "NOK", "CAD"]}},
                                            "required": ["currency"]}}');
SELECT id, title, fields->>'currency' AS currency
  FROM contracts WHERE id IN (1, 3, 4, 10, 11) ORDER BY id;
\set ECHO none

\echo
\echo '==== 6c. A contract that exists only as a PDF in a bytea column: the document goes'
\echo '====     to the model with the request, the typed fields come back'
\echo
\set ECHO queries
CREATE TABLE contract_files (id int PRIMARY KEY, title text, pdf bytea, fields jsonb);
INSERT INTO contract_files (id, title, pdf)
VALUES (12, 'Supply agreement 2024-12', pg_read_binary_file(:'pdf_path'));
UPDATE contract_files
   SET fields = bedrock_extract('anthropic.claude-3-haiku-20240307-v1:0',
         'Extract the fields of the attached contract.',
         '{"type": "object",
           "properties": {"parties": {"type": "string"},
                          "governing_law": {"type": "string"},
                          "amount": {"type": "number"},
                          "currency": {"type": "string", "enum": ["EUR", "GBP", "USD", "NOK", "CAD"]},
                          "term_months": {"type": "integer"}},
           "required": ["parties", "governing_law", "amount", "currency", "term_months"]}',
         options => jsonb_build_object('documents',
                      jsonb_build_array(bedrock_document('contract-12', 'pdf', pdf))));
SELECT id, title, length(pdf) AS pdf_bytes, jsonb_pretty(fields) AS fields FROM contract_files;
\set ECHO none

\echo
\echo '==== 7. Errors: a bad model id, as data ("on_error": "json") and as an ERROR'
\echo
\set ECHO queries
SELECT jsonb_pretty(bedrock_chat('openai.gpt-oss-20b-9:9', 'Summarize: ' || body,
                                 options => '{"on_error": "json"}')) AS result
  FROM contracts WHERE id = 2;

DO $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    PERFORM bedrock_chat('openai.gpt-oss-20b-9:9', 'Summarize: one clause.');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RAISE NOTICE E'caught SQLSTATE %\n  message: %\n  detail:  %\n  hint:    %',
                 st, msg, det, hnt;
END $$;
\set ECHO none

\echo
\echo '==== 8. bedrock_sign_request: SigV4 for any AWS request, with its canonical request'
\echo
\set ECHO queries
CREATE TEMP TABLE signed AS
SELECT bedrock_sign_request(
         'POST',
         'https://bedrock-runtime.us-east-1.amazonaws.com/model/openai.gpt-oss-20b-1%3A0/converse',
         '{"content-type": "application/json"}',
         convert_to('{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}', 'UTF8'),
         'us-east-1', 'bedrock',
         'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
         signing_time => '2025-01-15 12:00:00+00') AS r;
\set ECHO none
\pset format unaligned
\pset tuples_only on
\echo
\echo '-- canonical_request (the model id''s "%3A" is signed as "%253A": Bedrock wants it encoded twice)'
SELECT r->>'canonical_request' FROM signed;
\echo
\echo '-- string_to_sign'
SELECT r->>'string_to_sign' FROM signed;
\echo
\echo '-- headers to add to the request'
SELECT key || ': ' || value FROM signed, jsonb_each_text(r->'headers') ORDER BY key;
\pset format aligned
\pset tuples_only off

\echo
\echo '==== 9. The usage dashboard, in SQL: every call above was recorded by a background'
\echo '====     writer in bedrock.usage_log (even those of rolled-back transactions)'
\echo
-- the writer flushes every second: wait (quietly) until it has
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN (SELECT count(*) FROM bedrock.usage_log)
                  >= (SELECT coalesce(sum(calls), 0) FROM bedrock_stats());
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
\x off
SELECT model, day, calls, errors, input_tokens, output_tokens,
       round(p50_latency_ms::numeric, 1) AS p50_ms, round(p95_latency_ms::numeric, 1) AS p95_ms
  FROM bedrock.usage_summary ORDER BY model;
SELECT role_name, calls, errors, input_tokens, output_tokens FROM bedrock.usage_by_role;
\echo '-- bedrock_stats(): cumulative counters in shared memory, like pg_stat_statements'
SELECT model, calls, errors, total_tokens, round(mean_latency_ms::numeric, 1) AS mean_ms
  FROM bedrock_stats() ORDER BY model;
