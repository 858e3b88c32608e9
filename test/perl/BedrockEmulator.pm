# BedrockEmulator.pm: start and stop the local AWS emulator from TAP tests.
#
#   my $emu = BedrockEmulator->start;
#   $emu->port; $emu->endpoint;              # http://127.0.0.1:PORT
#   $emu->admin('fault', '{"type":"latency","ms":5000}');
#   $emu->stat('requests.converse');
#   $emu->conf_lines;                        # postgresql.conf lines for it
#   $emu->preloaded_node('name');            # a started server, preloaded
#   $emu->on_demand_node('name');            # one loading the library on demand
#
#   my $emu = BedrockEmulator->start(tls => 1);  # plus an HTTPS listener
#   BedrockEmulator->start(tls => 1, http1_only => 1);  # HTTPS without h2
#   $emu->tls_endpoint; $emu->cert_file;     # https://127.0.0.1:TLSPORT, its CA
#   $emu->conf_lines(1, tls => 1);           # bedrock.endpoint https, ca_file
#
# The emulator listens on 127.0.0.1 on a free port and is stopped when the
# object goes away (or at the latest when the test script ends).  Its port
# is exported as BEDROCK_EMULATOR_PORT for admin.js lines in psql scripts.
# With tls => 1 it also listens with TLS on a second free port (HTTP/2 when
# the client offers it, else HTTP/1.1), with a self-signed certificate for
# 127.0.0.1 made by the openssl command; the admin API stays on the plain
# port.
package BedrockEmulator;

use strict;
use warnings;
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use Time::HiRes qw(usleep);

our $ACCESS_KEY_ID     = 'AKIDEMULATOR00000001';
our $SECRET_ACCESS_KEY = 'emulatorSecretKey/0000000000000000000000001';

sub root_dir
{
	my $dir = $ENV{BEDROCK_SOURCE_DIR} // '.';
	return $dir;
}

# Make a self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1)
# in $dir with the openssl command; returns (certificate file, key file).
sub make_certificate
{
	my ($dir, $name) = @_;
	$name //= 'emulator';
	my ($crt, $key) = ("$dir/$name.crt", "$dir/$name.key");
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
		  'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
		  '-subj', "/CN=127.0.0.1/O=bedrock_fdw $name",
		  '-addext', 'subjectAltName=IP:127.0.0.1',
		  '-keyout', $key, '-out', $crt ],
		'<', \'', '>', \$out, '2>', \$err)
	  or die "openssl could not make a certificate: $err";
	return ($crt, $key);
}

sub read_port_file
{
	my ($file) = @_;
	open my $fh, '<', $file or die "cannot read $file: $!";
	my $port = <$fh>;
	close $fh;
	chomp $port;
	return $port;
}

# the emulators started and not yet stopped, so that END stops them
my %running;

sub start
{
	my ($class, %opts) = @_;
	my $dir       = tempdir(CLEANUP => 1);
	my $port_file = "$dir/port";
	my $root      = root_dir();
	my ($out, $err) = ('', '');
	my @cmd = ('node', "$root/test/emulator/server.js", '--host', '127.0.0.1',
		'--port', '0', '--port-file', $port_file, '--quiet');
	my ($cert_file, $key_file);
	if ($opts{tls})
	{
		($cert_file, $key_file) = make_certificate($dir);
		push @cmd, '--tls-cert', $cert_file, '--tls-key', $key_file,
		  '--tls-port', '0', '--tls-port-file', "$dir/tls_port";
		push @cmd, '--tls-http1-only' if $opts{http1_only};
	}
	my $h = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err);
	# the TLS port file is written before the plain one
	for (my $i = 0; $i < 200 && !-s $port_file; $i++)
	{
		usleep(50_000);
	}
	die "emulator did not start: $err" unless -s $port_file;
	my $port = read_port_file($port_file);
	my $self = bless { handle => $h, port => $port, root => $root }, $class;
	$running{$h} = $h;
	if ($opts{tls})
	{
		$self->{tls_port}  = read_port_file("$dir/tls_port");
		$self->{cert_file} = $cert_file;
	}
	$self->admin('wait-ready');
	# psql's \! lines run test/emulator/admin.js, which reads this
	$ENV{BEDROCK_EMULATOR_PORT} = $port;
	return $self;
}

sub port     { return $_[0]->{port}; }
sub endpoint { return 'http://127.0.0.1:' . $_[0]->{port}; }
sub tls_port  { return $_[0]->{tls_port}; }
sub cert_file { return $_[0]->{cert_file}; }

sub tls_endpoint
{
	my ($self) = @_;
	die 'the emulator was started without tls => 1' unless $self->{tls_port};
	return 'https://127.0.0.1:' . $self->{tls_port};
}

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
# are included unless $with_credentials is false.  With tls => 1 the
# endpoint is the HTTPS one, verified with the emulator's certificate.
sub conf_lines
{
	my ($self, $with_credentials, %opts) = @_;
	$with_credentials //= 1;
	my $conf = "bedrock.endpoint = '"
	  . ($opts{tls} ? $self->tls_endpoint : $self->endpoint) . "'\n";
	$conf .= "bedrock.control_endpoint = '" . $self->endpoint . "'\n"
	  . "bedrock.s3_endpoint = '" . $self->endpoint . "'\n";
	$conf .= "bedrock.ca_file = '" . $self->cert_file . "'\n" if $opts{tls};
	$conf .= "bedrock.region = 'us-east-1'\n"
	  . "bedrock.connect_timeout_ms = 2000\n"
	  . "bedrock.timeout_ms = 20000\n";
	$conf .= "bedrock.access_key_id = '$ACCESS_KEY_ID'\n"
	  . "bedrock.secret_access_key = '$SECRET_ACCESS_KEY'\n"
	  if $with_credentials;
	return $conf;
}

# A started PostgreSQL::Test::Cluster named $name with bedrock_fdw in
# shared_preload_libraries, pointed at this emulator (conf_lines, with
# credentials unless credentials => 0; tls => 1 for the HTTPS endpoint), the
# extension created in database postgres.  conf => '...' appends more
# postgresql.conf lines.
sub preloaded_node
{
	my ($self, $name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'bedrock_fdw'\n"
		  . $self->conf_lines($opts{credentials} // 1, tls => $opts{tls})
		  . ($opts{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');
	return $node;
}

# A started PostgreSQL::Test::Cluster named $name WITHOUT
# shared_preload_libraries (the library loads on demand), pointed at this
# emulator (conf_lines without credentials: secrets in the settings are
# refused without preloading) and started with the emulator's static key
# in its environment, the extension created in database postgres.
sub on_demand_node
{
	my ($self, $name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', $self->conf_lines(0));
	{
		local $ENV{AWS_ACCESS_KEY_ID}     = $ACCESS_KEY_ID;
		local $ENV{AWS_SECRET_ACCESS_KEY} = $SECRET_ACCESS_KEY;
		$node->start;
	}
	$node->safe_psql('postgres', 'CREATE EXTENSION bedrock_fdw');
	return $node;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{handle};
	stop_handle(delete $self->{handle});
}

sub stop_handle
{
	my ($h) = @_;
	delete $running{$h};
	eval { $h->signal('TERM'); $h->finish; };
}

sub DESTROY { $_[0]->stop; }

# A test that ends without stopping its emulator must not leave it running:
# DESTROY during global destruction may come after IPC::Run's own cleanup.
END
{
	my $status = $?;
	stop_handle($_) for values %running;
	$? = $status;
}

1;
