# Copyright (c) 2026, bedrock_fdw developers
#
# 001_sigv4_suite.pl
#	  Sign every case of the AWS SigV4 test suite (test/sigv4-test-suite/v4,
#	  from awslabs/aws-c-auth) with bedrock_sign_request() and compare the
#	  canonical request, string to sign, signature and Authorization header
#	  with the expected files, byte for byte.
#
# Each case's request.txt is parsed here: the request line, "Name:Value"
# header lines (obsolete line folding unfolded to one space, repeated names
# passed as a JSON array in order), then a blank line and the body.  The
# target is unencoded in these files, which is what double URI encoding of
# a wire path expects.  Every argument crosses to SQL hex-encoded, so
# spaces, quotes and UTF-8 in paths and bodies need no quoting.

use strict;
use warnings;

use File::Basename qw(dirname);
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $extension = 'bedrock_fdw';

# Where the suite is: the cwd is the repository root under "make
# installcheck" and prove; fall back to TESTDIR and to this file's place.
my @candidates = ('test/sigv4-test-suite/v4');
push @candidates, "$ENV{TESTDIR}/test/sigv4-test-suite/v4"
  if defined $ENV{TESTDIR};
push @candidates, dirname(__FILE__) . '/../sigv4-test-suite/v4';
my ($suite) = grep { -d $_ } @candidates;
BAIL_OUT("SigV4 test suite not found (looked in: @candidates)")
  unless defined $suite;

opendir(my $dh, $suite) or die "could not open $suite: $!";
my @cases = sort grep { !/^\./ && -d "$suite/$_" } readdir($dh);
closedir($dh);
cmp_ok(scalar(@cases), '>=', 38, "found at least 38 SigV4 cases in $suite")
  or BAIL_OUT('SigV4 test suite is incomplete');

sub slurp_raw
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "could not open $path: $!";
	local $/;
	my $data = <$fh>;
	close($fh);
	return $data;
}

# bytes -> SQL expression for a text value (the cluster is UTF8)
sub sql_text
{
	my ($bytes) = @_;
	return 'NULL' unless defined $bytes;
	return "convert_from('\\x" . unpack('H*', $bytes) . "'::bytea, 'UTF8')";
}

sub sql_bytea
{
	my ($bytes) = @_;
	return "'\\x" . unpack('H*', $bytes) . "'::bytea";
}

# Parse request.txt into (method, target, [ [name, value], ... ], body).
sub parse_request
{
	my ($raw) = @_;
	my ($head, $body) = split(/\n\n/, $raw, 2);
	$body = '' unless defined $body;
	$head =~ s/\n+\z//;

	# unfold obs-fold: newline plus leading blanks become one space
	$head =~ s/\n[ \t]+/ /g;

	my @lines = split(/\n/, $head);
	my $request_line = shift @lines;
	my ($method, $target) = $request_line =~ /^(\S+) (.*) HTTP\/\d\.\d\z/
	  or die "bad request line: $request_line";

	my @headers;
	foreach my $line (@lines)
	{
		my ($name, $value) = $line =~ /^([^:]+):(.*)\z/s
		  or die "bad header line: $line";
		push @headers, [ $name, $value ];
	}
	return ($method, $target, \@headers, $body);
}

my $json = JSON::PP->new->canonical(1);
my @queries;
my %context;

foreach my $case (@cases)
{
	my $dir = "$suite/$case";
	my $ctx = decode_json(slurp_raw("$dir/context.json"));
	my ($method, $target, $headers, $body) =
	  parse_request(slurp_raw("$dir/request.txt"));
	$context{$case} = $ctx;

	# headers: {"Name": "v"} or {"Name": ["v1", "v2"]} for repeats
	my %hdr;
	foreach my $h (@$headers)
	{
		my ($name, $value) = @$h;
		if (!exists $hdr{$name})
		{
			$hdr{$name} = $value;
		}
		elsif (ref $hdr{$name})
		{
			push @{ $hdr{$name} }, $value;
		}
		else
		{
			$hdr{$name} = [ $hdr{$name}, $value ];
		}
	}
	$hdr{'x-amz-content-sha256'} = sha256_hex($body)
	  if $ctx->{sign_body};

	my $creds = $ctx->{credentials};
	my $token = $creds->{token};
	$token = undef if $ctx->{omit_session_token};

	# request.txt holds raw bytes: keep them as bytes in the JSON text
	my $headers_json = $json->encode(\%hdr);

	my $call = sprintf(
		"bedrock_sign_request(method => %s, url => %s, headers => %s::jsonb, "
		  . "body => %s, region => %s, service => %s, access_key_id => %s, "
		  . "secret_access_key => %s, session_token => %s, "
		  . "signing_time => %s::timestamptz, normalize_path => %s)",
		sql_text($method), sql_text($target),
		sql_text($headers_json), sql_bytea($body),
		sql_text($ctx->{region}), sql_text($ctx->{service}),
		sql_text($creds->{access_key_id}),
		sql_text($creds->{secret_access_key}),
		sql_text($token), sql_text($ctx->{timestamp}),
		($ctx->{normalize} ? 'true' : 'false'));

	push @queries,
	    "SELECT '$case', "
	  . "encode(convert_to(r->>'canonical_request', 'UTF8'), 'hex'), "
	  . "encode(convert_to(r->>'string_to_sign', 'UTF8'), 'hex'), "
	  . "r->>'signature', "
	  . "encode(convert_to(r->'headers'->>'authorization', 'UTF8'), 'hex') "
	  . "FROM (SELECT $call AS r) s";
}

my $node = PostgreSQL::Test::Cluster->new('sigv4');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION $extension");

my $out = $node->safe_psql('postgres', join(";\n", @queries) . ';');
my %got;
foreach my $row (split(/\n/, $out))
{
	my ($case, $creq, $sts, $sig, $auth) = split(/\|/, $row, -1);
	$got{$case} = {
		creq => pack('H*', $creq),
		sts => pack('H*', $sts),
		sig => $sig,
		auth => pack('H*', $auth),
	};
}
is(scalar(keys %got), scalar(@cases), 'every case returned a row');

foreach my $case (@cases)
{
	my $dir = "$suite/$case";
	my $g = $got{$case} || {};

	is($g->{creq}, slurp_raw("$dir/header-canonical-request.txt"),
		"$case: canonical request");
	is($g->{sts}, slurp_raw("$dir/header-string-to-sign.txt"),
		"$case: string to sign");
	is($g->{sig}, slurp_raw("$dir/header-signature.txt"),
		"$case: signature");

	my ($auth) =
	  slurp_raw("$dir/header-signed-request.txt") =~ /^Authorization:(.*)$/m;
	is($g->{auth}, $auth, "$case: Authorization header");
}

$node->stop;
done_testing();
