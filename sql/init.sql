--
-- init: create the extension and the helpers the other tests share.
--
CREATE EXTENSION bedrock_fdw;

-- what the extension installs, and who may run it
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.prosecdef,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'bedrock_fdw')
 ORDER BY p.proname;

-- the bedrock.* prefix is reserved: a typo is an error, not a placeholder
SET bedrock.no_such_setting = 'x';

-- Run a statement and report how it ended, with the parts of an error that
-- change from run to run (request ids, ports) masked.
CREATE FUNCTION regress_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE stmt INTO result;
    RETURN 'ok: ' || coalesce(result, '<NULL>');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN concat_ws(E'\n', 'ERROR ' || st || ': ' || regress_mask(msg),
                     'DETAIL: ' || nullif(regress_mask(det), ''),
                     'HINT: ' || nullif(hnt, ''));
END $$;

CREATE FUNCTION regress_mask(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(regexp_replace(regexp_replace(
           regexp_replace(regexp_replace(regexp_replace(
             regexp_replace(s, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
                            '<request-id>', 'g'),
             '127\.0\.0\.1( port |:)[0-9]+', '127.0.0.1:<port>', 'g'),
           -- curl's messages carry timings and byte counts
           '(after|with) [0-9]+ (ms|bytes)', '\1 N \2', 'g'),
           'OpenSSL/[0-9.]+[a-z]*', 'OpenSSL/<version>', 'g'),
           -- libcurl 8 (Debian 13 and later) words these differently from
           -- Debian 12's 7.88: show 7.88's words
           'end of response with N bytes missing',
           'transfer closed with N bytes remaining to read', 'g'),
           'Could not connect to server', 'Couldn''t connect to server', 'g'),
           'TLS connect error: ', 'OpenSSL/<version>: ', 'g')
$$;

-- A chat result without the members that vary from run to run.
CREATE FUNCTION regress_stable(r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
      WHEN r ? 'error' THEN
        (r - 'latency_ms') || jsonb_build_object('error',
            (r->'error') - 'request_id' ||
            jsonb_build_object('request_id_present', r->'error'->'request_id' <> 'null'::jsonb))
      ELSE
        (r - 'latency_ms' - 'request_id' - 'service_latency_ms') ||
        jsonb_build_object('request_id_is_uuid',
            (r->>'request_id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
            'latency_ms_is_number', jsonb_typeof(r->'latency_ms') = 'number',
            'service_latency_ms_is_number', jsonb_typeof(r->'service_latency_ms') = 'number')
    END
$$;
