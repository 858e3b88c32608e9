# Query cancel, statement_timeout and backend termination stop a Bedrock
# call in flight at once, with PostgreSQL's own errors, and leave the
# backend able to call again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';

my $node = $emu->preloaded_node('cancel');

# Wait until the backend running the slow call is inside it.
sub wait_for_call
{
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%slow call%' AND state = 'active' AND pid <> pg_backend_pid()")
	  or die 'the slow call never started';
	usleep(100_000);
}

# 1. pg_cancel_backend during a call that would take 20 s
$emu->admin('fault', '{"type":"latency","ms":20000,"count":1}');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "\\echo started\nSELECT bedrock_chat('$model', 'slow call') IS NOT NULL;\n");
wait_for_call();
my $t0 = time;
$node->safe_psql('postgres',
	"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%slow call%' AND pid <> pg_backend_pid()");
my $after = $bg->query('SELECT 1');
my $elapsed = time - $t0;
like($bg->{stderr}, qr/canceling statement due to user request/, 'cancel raises 57014');
cmp_ok($elapsed, '<', 5, "the cancelled call returned promptly (${elapsed}s)");
$bg->{stderr} = '';
$emu->admin('clear');
is($bg->query("SELECT bedrock_chat('$model', 'after cancel')->>'stop_reason'"), 'end_turn',
	'the same backend calls again after a cancel');

# 2. statement_timeout
$emu->admin('fault', '{"type":"latency","ms":20000,"count":1}');
$t0 = time;
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSET statement_timeout = '300ms'; SELECT bedrock_chat('$model', 'timeout')");
$elapsed = time - $t0;
like($err, qr/57014: canceling statement due to statement timeout/, 'statement_timeout raises 57014');
cmp_ok($elapsed, '<', 5, "statement_timeout stopped the call promptly (${elapsed}s)");
$emu->admin('clear');

# 3. a cancel inside a savepoint: the transaction goes on and can call again
$emu->admin('fault', '{"type":"latency","ms":20000,"count":1}');
$out = $node->safe_psql('postgres', q{
SET statement_timeout = '300ms';
DO $$
BEGIN
  BEGIN
    PERFORM bedrock_chat('openai.gpt-oss-20b-1:0', 'in a savepoint');
  EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'caught cancel';
  END;
END $$;
RESET statement_timeout;
SELECT bedrock_chat('openai.gpt-oss-20b-1:0', 'after savepoint')->>'stop_reason';
});
is($out, 'end_turn', 'a call after a cancelled subtransaction works');
$emu->admin('clear');

# 4. pg_terminate_backend during a call
$emu->admin('fault', '{"type":"latency","ms":20000,"count":1}');
my $bg2 = $node->background_psql('postgres', on_error_stop => 0);
$bg2->query_until(qr/started/, "\\echo started\nSELECT bedrock_chat('$model', 'slow call 2');\n");
wait_for_call();
$t0 = time;
$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%slow call 2%' AND pid <> pg_backend_pid()");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE '%slow call 2%' AND pid <> pg_backend_pid()"),
	'the terminated backend is gone');
cmp_ok(time - $t0, '<', 5, 'termination was prompt');
eval { $bg2->quit; };
$emu->admin('clear');

# 5. no handle, socket or buffer survives an interrupted call: once the
# backend's HTTP state exists (curl's wakeup socket pair, a kept-alive
# connection), 100 statement_timeout cancellations leave its sockets and
# event descriptors where they were (files are not counted: the backend
# opens relation files as it pleases)
sub network_fds
{
	my ($pid) = @_;
	opendir(my $dh, "/proc/$pid/fd") or die "cannot list /proc/$pid/fd: $!";
	my @fds = grep { /^\d+$/ } readdir $dh;
	closedir $dh;
	return scalar grep { (readlink("/proc/$pid/fd/$_") // '') =~ /^(socket|anon_inode|pipe):/ } @fds;
}
my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query('SELECT pg_backend_pid()');
$s->query("SELECT bedrock_chat('$model', 'warm up') IS NOT NULL");
$emu->admin('fault', '{"type":"latency","ms":20000,"count":0}');
$s->query("SET statement_timeout = '20ms'");
$s->query("SELECT bedrock_chat('$model', 'warm up a cancel')");
my $fds_before = network_fds($pid);
$s->{stderr} = '';
$s->query("SELECT bedrock_chat('$model', 'slow $_')") for 1 .. 100;
my @cancels = ($s->{stderr} =~ /canceling statement due to statement timeout/g);
is(scalar @cancels, 100, 'all 100 calls were cancelled');
my $fds_after = network_fds($pid);
is($fds_after - $fds_before, 0,
	"100 cancelled calls leaked no socket or event descriptor ($fds_before before, $fds_after after)");
$s->quit;
$emu->admin('clear');

# 6. cancelling a batch with 16 calls in flight stops them all and leaves
# no socket behind: after a warm-up batch (which leaves up to 16 kept-alive
# connections), 20 cancelled batches do not add a descriptor
$emu->admin('clear');
my $sb = $node->background_psql('postgres', on_error_stop => 0);
my $bpid = $sb->query('SELECT pg_backend_pid()');
$sb->query("SELECT count(*) FROM bedrock_chat_batch('$model', (SELECT array_agg('warm ' || g) FROM generate_series(1, 16) g))");
my $batch_fds_before = network_fds($bpid);
$emu->admin('fault', '{"type":"latency","ms":20000,"count":0}');
$sb->query("SET statement_timeout = '100ms'");
$sb->{stderr} = '';
$sb->query("SELECT count(*) FROM bedrock_chat_batch('$model', (SELECT array_agg('slow ' || g) FROM generate_series(1, 16) g))")
  for 1 .. 20;
my @batch_cancels = ($sb->{stderr} =~ /canceling statement due to statement timeout/g);
is(scalar @batch_cancels, 20, 'all 20 batches were cancelled');
my $batch_fds_after = network_fds($bpid);
cmp_ok($batch_fds_after, '<=', $batch_fds_before,
	"20 cancelled batches of 16 left no descriptor behind ($batch_fds_before before, $batch_fds_after after)");
$emu->admin('clear');
$sb->query('RESET statement_timeout');
is($sb->query("SELECT count(*) FILTER (WHERE response ? 'text') FROM bedrock_chat_batch('$model', ARRAY['a', 'b', 'c'])"),
	'3', 'the backend runs batches again after the cancels');
$sb->quit;

$bg->quit;
$node->stop;
done_testing();
