# Hostile users against bedrock_fdw's privileged code: a database owner and
# an unprivileged role try to make the usage writer (a background worker
# started as the bootstrap superuser) or a SECURITY DEFINER function run
# their code: a table named bedrock.usage_log created before (or without)
# the extension, with a trigger; a search_path of the database that puts
# their own now() and operators first; objects created first in schema
# bedrock.  Each attempt is refused with the documented message, the role
# never becomes superuser, and no usage record is lost.
#
# Then the writer's availability: a bedrock.database that does not exist
# is reported once (no FATAL every 5 seconds), and DROP DATABASE of it
# works while the writer runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

my $node = $emu->preloaded_node('hostile',
	conf => "bedrock.database = 'usagedb'\n"
	  . "bedrock.usage_flush_ms = 200\n"
	  . "bedrock.usage_retention = '30 days'\n");

# dbowner owns the usage database; caller may call Bedrock from postgres
$node->safe_psql('postgres', q{
	CREATE ROLE dbowner LOGIN;
	CREATE ROLE caller LOGIN;
	CREATE DATABASE usagedb OWNER dbowner;
	GRANT EXECUTE ON FUNCTION bedrock_chat(text, text, text, jsonb) TO caller;
});

sub is_superuser
{
	my ($role) = @_;
	return $node->safe_psql('postgres',
		"SELECT rolsuper FROM pg_roles WHERE rolname = '$role'");
}

sub call_as_caller
{
	my ($tag) = @_;
	$node->safe_psql('postgres',
		"SET application_name = '$tag'; SELECT bedrock_chat('$model', '$tag')->>'request_id'",
		extra_params => [ '-U', 'caller' ]);
}

my $log;

sub log_since
{
	my ($offset) = @_;
	return substr(slurp_file($node->logfile), $offset);
}

# A trigger function that makes its definer's target superuser when anyone
# with the right runs it.
my $escalate = q{
	CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN NEW;
	END $$;
};

# A schema evil with a now() that does the same, for a search_path that
# puts it first.
my $evil_now = q{
	CREATE SCHEMA evil;
	CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN pg_catalog.now();
	END $$;
};

# ---- A: a fake bedrock.usage_log, made by the database owner before the
# extension exists in the usage database
my $offset = -s $node->logfile;
$node->safe_psql('usagedb', sprintf($escalate, 'public.grab') . q{
	CREATE SCHEMA bedrock;
	CREATE TABLE bedrock.usage_log (
		called_at timestamptz, database_name name, session_role name,
		role_name name, application_name text, backend_pid int, query_id bigint,
		operation text, model text, input_tokens bigint, output_tokens bigint,
		total_tokens bigint, cache_read_input_tokens bigint,
		cache_write_input_tokens bigint, client_latency_ms float8,
		service_latency_ms bigint, http_status int, error_code text, attempts int,
		throttled_attempts int, request_id text, principal_arn text,
		credential_source text, guardrail_action text);
	CREATE TRIGGER grab BEFORE INSERT ON bedrock.usage_log
		FOR EACH ROW EXECUTE FUNCTION public.grab();
}, extra_params => [ '-U', 'dbowner' ]);

my $rid = call_as_caller('fake table');
ok($node->poll_query_until('postgres',
		"SELECT coalesce(last_error LIKE '%not a member of extension%', false)
		        OR (SELECT rolsuper FROM pg_roles WHERE rolname = 'dbowner')
		   FROM bedrock.usage_queue"),
	'the writer reached the fake table');
is(is_superuser('dbowner'), 'f', 'A: a trigger on a fake bedrock.usage_log did not make its owner superuser');
like($node->safe_psql('postgres', 'SELECT last_error FROM bedrock.usage_queue'),
	qr/not a member of extension bedrock_fdw/, 'A: the queue says why records wait');
like(log_since($offset), qr/bedrock\.usage_log in database "usagedb" is not a member of extension bedrock_fdw/,
	'A: the log says why');
is($node->safe_psql('postgres', 'SELECT queued >= 1 FROM bedrock.usage_queue'), 't',
	'A: the record waits in the queue');

# the DBA drops the fake and creates the extension: the record lands
$node->safe_psql('usagedb', 'DROP SCHEMA bedrock CASCADE; CREATE EXTENSION bedrock_fdw');
ok($node->poll_query_until('usagedb',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE request_id = '$rid'"),
	'A: once the extension exists the waiting record is stored');
is(is_superuser('dbowner'), 'f', 'A: still not superuser');
# (so that B proves itself if A failed)
$node->safe_psql('postgres', 'ALTER ROLE dbowner NOSUPERUSER');

# ---- B: the database's search_path puts the owner's now() and operators
# first; the writer's purge (and bedrock_usage_purge) must not run them
$node->safe_psql('usagedb', $evil_now . q{
	CREATE FUNCTION evil.lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN $1 OPERATOR(pg_catalog.<) $2;
	END $$;
	CREATE OPERATOR evil.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.lt);
	CREATE FUNCTION evil.minus(timestamptz, interval) RETURNS timestamptz LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN $1 OPERATOR(pg_catalog.-) $2;
	END $$;
	CREATE OPERATOR evil.- (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = evil.minus);
	CREATE FUNCTION evil.gt(interval, interval) RETURNS boolean LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN $1 OPERATOR(pg_catalog.>) $2;
	END $$;
	CREATE OPERATOR evil.> (LEFTARG = interval, RIGHTARG = interval, FUNCTION = evil.gt);
	GRANT USAGE ON SCHEMA evil TO PUBLIC;
	ALTER DATABASE usagedb SET search_path = evil, pg_catalog, public;
}, extra_params => [ '-U', 'dbowner' ]);
# the writer purges when it starts (then hourly): restart it
$offset = -s $node->logfile;
$node->restart;
$rid = call_as_caller('after restart');
ok($node->poll_query_until('usagedb',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE request_id = '$rid'"),
	'B: the writer stores records');
is(is_superuser('dbowner'), 'f', 'B: the purge did not run the owner\'s now() or operators');

# bedrock_usage_purge, by a bedrock_admin member whose session puts evil first
$node->safe_psql('usagedb', 'CREATE ROLE purger LOGIN IN ROLE bedrock_admin');
is($node->safe_psql('usagedb',
		"SET search_path = evil, pg_catalog, public; SELECT bedrock_usage_purge('1 day') >= 0",
		extra_params => [ '-U', 'purger' ]), 't', 'B: a bedrock_admin member purges');
is(is_superuser('dbowner'), 'f', 'B: bedrock_usage_purge did not run the owner\'s operators');

# ---- C: a trigger on the real usage_log, by a role a DBA granted TRIGGER
$node->safe_psql('usagedb', 'GRANT TRIGGER ON bedrock.usage_log TO dbowner');
$offset = -s $node->logfile;
$node->safe_psql('usagedb', sprintf($escalate, 'public.grab2') . q{
	CREATE TRIGGER grab2 BEFORE INSERT ON bedrock.usage_log
		FOR EACH ROW EXECUTE FUNCTION public.grab2();
}, extra_params => [ '-U', 'dbowner' ]);
$rid = call_as_caller('granted trigger');
ok($node->poll_query_until('postgres',
		"SELECT last_error LIKE '%has trigger%' OR (SELECT rolsuper FROM pg_roles WHERE rolname = 'dbowner')
		   FROM bedrock.usage_queue"),
	'C: the writer reached the table with a trigger');
is(is_superuser('dbowner'), 'f', 'C: a trigger on the extension\'s usage_log did not run as its owner');
like(log_since($offset),
	qr/usage records wait: bedrock\.usage_log in database "usagedb" has trigger "grab2", which extension bedrock_fdw did not create/,
	'C: the log names the trigger');
$node->safe_psql('usagedb', 'DROP TRIGGER grab2 ON bedrock.usage_log');
ok($node->poll_query_until('usagedb',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE request_id = '$rid'"),
	'C: once the trigger is gone the waiting record is stored');

# ---- I: the writer runs as the table's owner, not as the superuser: a
# superuser gave usage_log to tabowner and indexed it on an expression that
# logs who evaluates it
$node->safe_psql('usagedb', q{
	CREATE ROLE tabowner;
	ALTER TABLE bedrock.usage_log OWNER TO tabowner;
	CREATE FUNCTION public.who(bigint) RETURNS bigint IMMUTABLE LANGUAGE plpgsql AS $$
	BEGIN
		RAISE LOG 'usage_log indexed as %', current_user;
		RETURN $1;
	END $$;
	CREATE INDEX usage_log_who ON bedrock.usage_log (public.who(id));
});
$offset = -s $node->logfile;
$rid = call_as_caller('as owner');
ok($node->poll_query_until('usagedb',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE request_id = '$rid'"),
	'I: the writer stores into a table owned by another role');
$log = log_since($offset);
like($log, qr/usage_log indexed as tabowner/, 'I: it inserts as the table\'s owner');
unlike($log, qr/usage_log indexed as (?!tabowner)/, 'I: and as no one else');
$node->safe_psql('usagedb', q{
	DROP INDEX bedrock.usage_log_who;
	ALTER TABLE bedrock.usage_log OWNER TO CURRENT_USER;
});

# ---- D: objects created first, in schema bedrock and before the extension
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE TABLE bedrock.usage_log2 (x int)',
	extra_params => [ '-U', 'caller' ]);
like($err, qr/permission denied for schema bedrock/, 'D: nobody else creates objects in schema bedrock');
($ret, $out, $err) = $node->psql('postgres',
	'CREATE FUNCTION bedrock.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT pg_catalog.now()$$',
	extra_params => [ '-U', 'caller' ]);
like($err, qr/permission denied for schema bedrock/, 'D: nor functions');
$node->safe_psql('postgres', 'CREATE DATABASE predb OWNER dbowner');
$node->safe_psql('predb', 'CREATE SCHEMA bedrock', extra_params => [ '-U', 'dbowner' ]);
($ret, $out, $err) = $node->psql('predb', 'CREATE EXTENSION bedrock_fdw');
like($err, qr/schema "bedrock" already exists/,
	'D: CREATE EXTENSION refuses a schema bedrock made by someone else');

# ---- E: model ids of every role are not PUBLIC's
for my $q ('SELECT count(*) FROM bedrock_stats()', 'SELECT count(*) FROM bedrock.rate_limits',
	'SELECT count(*) FROM bedrock_rate_limits()')
{
	($ret, $out, $err) = $node->psql('postgres', $q, extra_params => [ '-U', 'caller' ]);
	like($err, qr/permission denied/, "E: a role without grants cannot run: $q");
}
$node->safe_psql('postgres', 'CREATE ROLE watcher LOGIN IN ROLE pg_monitor');
is($node->safe_psql('postgres',
		'SELECT count(*) > 0 FROM bedrock_stats(); SELECT count(*) >= 0 FROM bedrock.rate_limits',
		extra_params => [ '-U', 'watcher' ]), "t\nt", 'E: pg_monitor members see them');

# ---- F: DROP DATABASE of bedrock.database while the writer runs, then a
# bedrock.database that does not exist: no FATAL loop, one warning, and
# the records wait for the database to come back
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
$node->safe_psql('dropme', 'CREATE EXTENSION bedrock_fdw');
$node->append_conf('postgresql.conf', "bedrock.database = 'dropme'\n");
$node->restart;
$rid = call_as_caller('before drop');
ok($node->poll_query_until('dropme',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE request_id = '$rid'"),
	'F: the writer runs in dropme');
$offset = -s $node->logfile;
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE dropme');
is($ret, 0, 'F: DROP DATABASE of bedrock.database works while the writer runs');
like(log_since($offset), qr/usage writer leaves database "dropme"/, 'F: the writer left for it');
$rid = call_as_caller('after drop');
# the old writer restarted every 5 seconds: give it time for several
sleep(12);
$log = log_since($offset);
my $fatals = () = $log =~ /FATAL/g;
my $warnings = () = $log =~ /usage records wait: database "dropme" named by bedrock.database does not exist/g;
is($fatals, 0, 'F: no FATAL while bedrock.database does not exist');
is($warnings, 1, 'F: one warning says why records wait');
like($node->safe_psql('postgres', 'SELECT last_error FROM bedrock.usage_queue'),
	qr/does not exist/, 'F: bedrock.usage_queue says it too');
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
$node->safe_psql('dropme', 'CREATE EXTENSION bedrock_fdw');
ok($node->poll_query_until('dropme',
		"SELECT count(*) = 1 FROM bedrock.usage_log WHERE request_id = '$rid'"),
	'F: the record made while the database was missing is stored once it exists');
is(is_superuser('dbowner'), 'f', 'dbowner never became superuser');

unlike(slurp_file($node->logfile), qr/emulatorSecretKey/, 'no secret in the log');
$node->stop;

# ---- G: without shared_preload_libraries: the SQL functions alone
my $plain = PostgreSQL::Test::Cluster->new('hostile_plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', q{
	CREATE ROLE dbowner LOGIN;
	CREATE ROLE purger LOGIN;
	CREATE DATABASE usagedb OWNER dbowner;
});
$plain->safe_psql('usagedb', 'CREATE EXTENSION bedrock_fdw; GRANT bedrock_admin TO purger');
$plain->safe_psql('usagedb', $evil_now . q{
	GRANT USAGE ON SCHEMA evil TO PUBLIC;
	ALTER DATABASE usagedb SET search_path = evil, pg_catalog, public;
}, extra_params => [ '-U', 'dbowner' ]);
is($plain->safe_psql('usagedb', "SELECT bedrock_usage_purge('1 day')",
		extra_params => [ '-U', 'purger' ]), '0', 'G: bedrock_usage_purge works unpreloaded');
is($plain->safe_psql('usagedb', "SELECT bedrock_usage_purge('1 day')"), '0',
	'G: and run by the superuser');
is($plain->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'dbowner'"), 'f',
	'G: it did not run the owner\'s now()');
is($plain->safe_psql('usagedb',
		"SELECT prosecdef, proconfig FROM pg_proc WHERE proname = 'bedrock_usage_purge'"),
	'f|{"search_path=pg_catalog, pg_temp"}', 'G: bedrock_usage_purge runs with its caller\'s rights, search_path pinned');

# ---- H: an operator planted in the schema the extension is created in,
# before CREATE EXTENSION: the cost function and views must not have bound
# it (bigint * numeric, numeric >= integer match no pg_catalog operator
# exactly), nor model_prices' checks
$plain->safe_psql('postgres', 'CREATE DATABASE plantdb OWNER dbowner');
$plain->safe_psql('plantdb', q{
	CREATE FUNCTION public.mul(bigint, numeric) RETURNS numeric LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN $1::numeric OPERATOR(pg_catalog.*) $2;
	END $$;
	CREATE OPERATOR public.* (LEFTARG = bigint, RIGHTARG = numeric, FUNCTION = public.mul);
	CREATE FUNCTION public.ge(numeric, integer) RETURNS boolean LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE dbowner SUPERUSER;
		RETURN $1 OPERATOR(pg_catalog.>=) $2;
	END $$;
	CREATE OPERATOR public.>= (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.ge);
}, extra_params => [ '-U', 'dbowner' ]);
$plain->safe_psql('plantdb', q{
	CREATE EXTENSION bedrock_fdw;
	INSERT INTO bedrock.model_prices VALUES ('m', 1, 2);
	INSERT INTO bedrock.usage_log (called_at, role_name, operation, model, input_tokens,
	                               output_tokens, attempts)
	VALUES (now(), current_user, 'converse', 'm', 1000, 1000, 1);
});
is($plain->safe_psql('plantdb', q{
		SELECT (SELECT estimated_cost FROM bedrock.usage_summary WHERE model = 'm'),
		       (SELECT estimated_cost FROM bedrock.usage_by_role),
		       bedrock.call_cost('m', now(), 1000, 1000)}),
	'3|3|3.000', 'H: the superuser reads the costs (the views trim trailing zeros)');
is($plain->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'dbowner'"), 'f',
	'H: the planted operator did not run');
$plain->stop;
done_testing();
