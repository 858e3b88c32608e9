--
-- identity: bedrock_whoami() and bedrock.credentials with the static
-- settings of the test instance (the credential chain's network providers
-- are covered by the TAP tests).
--
SELECT jsonb_pretty(bedrock_whoami());

-- static settings are read on every call: the worker has nothing to do
SELECT cache, source, access_key_id, expiration, refresh_count, failure_count,
       worker_pid IS NOT NULL AS worker_running
  FROM bedrock.credentials;

-- both are the DBA's: revoked from PUBLIC
CREATE ROLE regress_bedrock_nobody;
SET ROLE regress_bedrock_nobody;
SELECT bedrock_whoami();
SELECT * FROM bedrock.credentials;
RESET ROLE;
DROP ROLE regress_bedrock_nobody;

-- wrong credentials: STS says so, without the secret
BEGIN;
SET LOCAL bedrock.secret_access_key = 'notTheRightSecret/000000000000000000000000';
SELECT regress_try('SELECT bedrock_whoami()');
ROLLBACK;
