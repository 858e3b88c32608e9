# BedrockEmulator.pm: start and stop the local AWS emulator from TAP tests.
#
#   my $emu = BedrockEmulator->start;
#   $emu->port; $emu->endpoint;              # http://127.0.0.1:PORT
#   $emu->admin('fault', '{"type":"latency","ms":5000}');
#   $emu->stat('requests.converse');
#   $emu->conf_lines;                        # postgresql.conf lines for it
#
# The emulator listens on 127.0.0.1 on a free port and is stopped when the
# object goes away (or at the latest when the test script ends).  Its port
# is exported as BEDROCK_EMULATOR_PORT for admin.js lines in psql scripts.
package BedrockEmulator;

use strict;
use warnings;
use File::Temp qw(tempdir);
use IPC::Run;
use Time::HiRes qw(usleep);

our $ACCESS_KEY_ID     = 'AKIDEMULATOR00000001';
our $SECRET_ACCESS_KEY = 'emulatorSecretKey/0000000000000000000000001';

sub root_dir
{
	my $dir = $ENV{BEDROCK_SOURCE_DIR} // '.';
	return $dir;
}

sub start
{
	my ($class) = @_;
	my $dir       = tempdir(CLEANUP => 1);
	my $port_file = "$dir/port";
	my $root      = root_dir();
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'node', "$root/test/emulator/server.js", '--host', '127.0.0.1',
		  '--port', '0', '--port-file', $port_file, '--quiet' ],
		'>', \$out, '2>', \$err);
	for (my $i = 0; $i < 200 && !-s $port_file; $i++)
	{
		usleep(50_000);
	}
	die "emulator did not start: $err" unless -s $port_file;
	open my $fh, '<', $port_file or die "cannot read $port_file: $!";
	my $port = <$fh>;
	close $fh;
	chomp $port;
	my $self = bless { handle => $h, port => $port, root => $root }, $class;
	$self->admin('wait-ready');
	# psql's \! lines run test/emulator/admin.js, which reads this
	$ENV{BEDROCK_EMULATOR_PORT} = $port;
	return $self;
}

sub port     { return $_[0]->{port}; }
sub endpoint { return 'http://127.0.0.1:' . $_[0]->{port}; }

# Run an admin.js command; returns its stdout, dies on failure.
sub admin
{
	my ($self, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'node', "$self->{root}/test/emulator/admin.js", '--port',
		  $self->{port}, @args ],
		'>', \$out, '2>', \$err)
	  or die "admin.js @args failed: $err";
	chomp $out;
	return $out;
}

sub stat { my ($self, $path) = @_; return $self->admin('stat', $path); }

# postgresql.conf lines pointing bedrock_fdw at this emulator; credentials
# are included unless $with_credentials is false.
sub conf_lines
{
	my ($self, $with_credentials) = @_;
	$with_credentials //= 1;
	my $conf = "bedrock.endpoint = '" . $self->endpoint . "'\n"
	  . "bedrock.region = 'us-east-1'\n"
	  . "bedrock.connect_timeout_ms = 2000\n"
	  . "bedrock.timeout_ms = 20000\n";
	$conf .= "bedrock.access_key_id = '$ACCESS_KEY_ID'\n"
	  . "bedrock.secret_access_key = '$SECRET_ACCESS_KEY'\n"
	  if $with_credentials;
	return $conf;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{handle};
	$self->{handle}->signal('TERM');
	eval { $self->{handle}->finish; };
	delete $self->{handle};
}

sub DESTROY { $_[0]->stop; }

1;
