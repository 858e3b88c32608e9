# HTTPS with HTTP/2: a batch multiplexes its requests as streams of one
# TLS connection, later calls of the backend reuse that connection, plain
# http:// stays HTTP/1.1, and a certificate that does not verify against
# bedrock.ca_file fails the call with the TLS SQLSTATE (HV00N), also when a
# verified connection to the same endpoint is cached.
use strict;
use warnings;
use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use BedrockEmulator;

my $emu = BedrockEmulator->start(tls => 1);
my $model = 'openai.gpt-oss-20b-1:0';

my $node = $emu->preloaded_node('http2', tls => 1);

sub stats { return decode_json($_[0]->admin('stats')); }

# libcurl's major version and Node.js's: two behaviours below differ by them
my ($curl_major) = (`curl-config --version 2>/dev/null` // '') =~ /(\d+)\./;
$curl_major //= 7;
my ($node_major) = (`node --version 2>/dev/null` // '') =~ /^v(\d+)/;
$node_major //= 18;

# 1. 16 prompts, 16 in flight, 200 ms each: one TLS connection, HTTP/2,
# all 16 requests in flight on it at once
my $s = $node->background_psql('postgres', on_error_stop => 0);
$emu->admin('reset');
$emu->admin('fault', '{"type":"latency","ms":200,"count":16}');
my $t0 = time;
my $batch = $s->query(
	"SELECT count(*) || ' ' || count(*) FILTER (WHERE response->>'text' = 'p' || ord)
	   FROM bedrock_chat_batch('$model',
	                           (SELECT array_agg('echo: p' || g ORDER BY g) FROM generate_series(1, 16) g),
	                           NULL, '{\"concurrency\": 16}')");
my $elapsed = time - $t0;
is($batch, '16 16', 'every prompt of the batch was answered, in order');
my $st = stats($emu);
is($st->{requests}{converse}, 16, '16 requests reached the emulator');
is($st->{faults}{latency}, 16, 'each of them waited 200 ms');
is($st->{rejected}{mismatch}, 0, 'every signature verified over HTTP/2');
is($st->{httpVersions}{'2.0'}, 16, 'all 16 requests came over HTTP/2');
is($st->{tlsRequests}, 16, 'all 16 requests came over TLS');
is($st->{connections}, 1, 'the batch used one connection');
is($st->{maxConcurrentPerConnection}, 16,
	'the 16 requests were in flight at once as streams of that connection');
cmp_ok($elapsed, '<', 1.6,
	sprintf('the batch took %.2f s, not 16 x 200 ms', $elapsed));
my %conn_ids = map { $_->{connection} => 1 } @{ $st->{last} };
is(scalar keys %conn_ids, 1, 'the request log names one connection');
my ($batch_conn) = keys %conn_ids;

# 2. sequential calls of the same backend reuse that connection
$emu->admin('reset');
is($s->query("SELECT bedrock_chat('$model', 'sequential $_')->>'stop_reason'"),
	'end_turn', "sequential call $_") for 1 .. 5;
$st = stats($emu);
is($st->{requests}{converse}, 5, '5 sequential requests');
is($st->{httpVersions}{'2.0'}, 5, 'over HTTP/2');
is($st->{connections}, 1, 'on one connection');
is($st->{last}[-1]{connection}, $batch_conn, "the batch's connection was reused");

# 3. http:// stays HTTP/1.1 (no h2c upgrade): kept alive, and a batch's
# requests do not wait for a multiplexed connection that cannot come, they
# open connections of their own at once
$emu->admin('reset');
$s->query("SET bedrock.endpoint = '" . $emu->endpoint . "'");
is($s->query(
		"SELECT count(*) FILTER (WHERE response ? 'text')
		   FROM bedrock_chat_batch('$model', ARRAY['a', 'b', 'c', 'd'], NULL, '{\"concurrency\": 1}')"),
	'4', 'a batch over plain http is answered');
$st = stats($emu);
is($st->{httpVersions}{'1.1'}, 4, 'plain http is HTTP/1.1');
is($st->{httpVersions}{'2.0'}, 0, 'and never HTTP/2');
is($st->{tlsRequests}, 0, 'and not TLS');
is($st->{connections}, 1, 'one kept-alive connection');
$s->query('RESET bedrock.endpoint');
# (a new backend, so that no connection tells curl the server's version)
$emu->admin('reset');
$emu->admin('fault', '{"type":"latency","ms":200,"count":16}');
is($node->safe_psql('postgres',
		"SET bedrock.endpoint = '" . $emu->endpoint . "';
		 SELECT count(*) FILTER (WHERE response ? 'text')
		   FROM bedrock_chat_batch('$model', (SELECT array_agg('h1 ' || g) FROM generate_series(1, 16) g),
		                           NULL, '{\"concurrency\": 16}')"),
	'16', 'a batch of 16 over plain http is answered');
$st = stats($emu);
is($st->{maxConcurrentRequests}, 16, 'its 16 requests were in flight at once');
is($st->{maxConcurrentPerConnection}, 1, 'one per HTTP/1.1 connection');
is($st->{connections}, 16, 'on 16 connections');

# 4. an https endpoint that does not offer HTTP/2: the batch's requests
# wait for the first handshake only, then open their own connections
my $h1emu = BedrockEmulator->start(tls => 1, http1_only => 1);
$h1emu->admin('fault', '{"type":"latency","ms":200,"count":16}');
is($node->safe_psql('postgres',
		"SET bedrock.endpoint = '" . $h1emu->tls_endpoint . "';
		 SET bedrock.ca_file = '" . $h1emu->cert_file . "';
		 SELECT count(*) FILTER (WHERE response ? 'text')
		   FROM bedrock_chat_batch('$model', (SELECT array_agg('h1 tls ' || g) FROM generate_series(1, 16) g),
		                           NULL, '{\"concurrency\": 16}')"),
	'16', 'a batch of 16 over https without HTTP/2 is answered');
$st = stats($h1emu);
is($st->{httpVersions}{'1.1'}, 16, 'over HTTP/1.1');
is($st->{tlsRequests}, 16, 'and TLS');
if ($curl_major >= 8)
{
	# libcurl 8 lets one transfer that waited for the first handshake
	# (PIPEWAIT) queue behind that connection's request once it turns out
	# to be HTTP/1.1, instead of opening a 16th connection
	cmp_ok($st->{maxConcurrentRequests}, '>=', 15,
		'at least 15 of its 16 requests were in flight at once (libcurl 8)');
	cmp_ok($st->{connections}, '>=', 15, 'on at least 15 connections (libcurl 8)');
}
else
{
	is($st->{maxConcurrentRequests}, 16, 'its 16 requests were in flight at once');
	is($st->{connections}, 16, 'on 16 connections');
}
$h1emu->stop;
# BEDROCK_EMULATOR_PORT stays the first emulator's
$ENV{BEDROCK_EMULATOR_PORT} = $emu->port;

# 5. a CA that does not match: the call fails with HV00N and a TLS message;
# a connection verified with the old CA is not reused by the same backend
my $other_dir = tempdir(CLEANUP => 1);
my ($other_ca) = BedrockEmulator::make_certificate($other_dir, 'other');
$emu->admin('reset');
$s->query("SET bedrock.ca_file = '$other_ca'");
$s->{stderr} = '';
$s->query("\\set VERBOSITY verbose\nSELECT bedrock_chat('$model', 'wrong ca', NULL, '{\"max_attempts\": 1}')");
my $err = $s->{stderr};
like($err, qr/ERROR:  HV00N: Bedrock Converse failed: .*(certificate|SSL)/,
	'a certificate the CA file does not vouch for fails with HV00N');
like($err, qr/Transport error TlsFailure/, 'the detail names the TLS failure');
unlike($err, qr/\Q$BedrockEmulator::SECRET_ACCESS_KEY\E/, 'no secret in the error');
$st = stats($emu);
is($st->{requests}{total}, 0, 'no request was sent over the cached connection');
SKIP:
{
	# with libcurl 8 against Node.js 22 or later (Debian sid) the client's
	# abort after the certificate check reaches the emulator as no failed
	# handshake; the facts above (HV00N, no request sent) still hold
	skip 'libcurl 8 with Node.js 22+ does not report the failed handshake to the server', 1
	  if $curl_major >= 8 && $node_major >= 22;
	cmp_ok($st->{tlsHandshakeFailures}, '>=', 1, 'the emulator saw the handshake fail');
}
$s->query('RESET bedrock.ca_file');
is($s->query("SELECT bedrock_chat('$model', 'right ca again')->>'stop_reason'"),
	'end_turn', 'with the right CA the backend calls again');
$s->quit;

# ... and in a new backend, with the wrong CA from the start
my ($ret, $out, $stderr) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSET bedrock.ca_file = '$other_ca';\n"
	  . "SELECT bedrock_chat('$model', 'wrong ca', NULL, '{\"max_attempts\": 1}')");
isnt($ret, 0, 'a new backend with the wrong CA fails');
like($stderr, qr/HV00N: Bedrock Converse failed: .*(certificate|SSL)/,
	'with HV00N and a certificate message');
unlike($stderr, qr/\Q$BedrockEmulator::SECRET_ACCESS_KEY\E/, 'no secret in the error');

my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$BedrockEmulator::SECRET_ACCESS_KEY\E/, 'no secret in the server log');

$node->stop;
$emu->stop;
done_testing();
