# bedrock_extract_batch cancelled while the follow-up calls of its
# extractions (the validation retry) are in flight: the statement stops at
# once with PostgreSQL's error, every call leaves its usage record (the
# answered first calls, the cancelled retries), no socket is left behind,
# and the backend extracts again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use BedrockEmulator;

my $emu = BedrockEmulator->start;
my $model = 'openai.gpt-oss-20b-1:0';
my $node = $emu->preloaded_node('extract_cancel');
my $schema = '{"type": "object", "properties": {"law": {"type": "string"}}, "required": ["law"]}';
my $n = 8;

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
is($s->query("SELECT count(*) FILTER (WHERE result ? 'law') FROM bedrock_extract_batch('$model', "
	  . "(SELECT array_agg('law: Ohio ' || g) FROM generate_series(1, $n) g), '$schema')"),
	$n, 'a warm-up batch extracts every object');
my $fds_before = network_fds($pid);

# every call takes 1 s: the first calls answer (wrongly) after 1 s, their
# retries are in flight when the statement times out at 1.5 s
$emu->admin('reset');
$emu->admin('fault', '{"type":"latency","ms":1000,"count":0,"route":"converse"}');
$s->query('SELECT bedrock_stats_reset() IS NOT NULL');
$s->query("SET statement_timeout = '1500ms'");
$s->{stderr} = '';
my $t0 = time;
$s->query("SELECT count(*) FROM bedrock_extract_batch('$model', "
	  . "(SELECT array_agg('#bad-first law: Ohio ' || g) FROM generate_series(1, $n) g), '$schema')");
my $elapsed = time - $t0;
like($s->{stderr}, qr/canceling statement due to statement timeout/, 'the batch was cancelled');
cmp_ok($elapsed, '<', 5, "it stopped at once ($elapsed s)");
is($emu->stat('requests.converse'), 2 * $n, "the $n first calls and their $n retries were sent");
$s->query('RESET statement_timeout');
is($s->query("SELECT calls || ' calls, ' || errors || ' errors' FROM bedrock_stats() WHERE model = '$model'"),
	(2 * $n) . " calls, $n errors", 'every call left its usage record, the cancelled retries as errors');
cmp_ok(network_fds($pid), '<=', $fds_before, 'no socket was left behind');

$emu->admin('clear');
is($s->query("SELECT count(*) FILTER (WHERE result ? 'law') FROM bedrock_extract_batch('$model', "
	  . "(SELECT array_agg('#bad-first law: Ohio ' || g) FROM generate_series(1, $n) g), '$schema')"),
	$n, 'the backend extracts again, retries included');
$s->quit;
$node->stop;
done_testing();
