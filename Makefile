# bedrock_fdw: Amazon Bedrock from SQL.  Built with PGXS.
#
#   make            build the extension
#   make install    install it into the PostgreSQL found by pg_config
#   make demo       install what is missing, build, and show it working
#                   against the local AWS emulator (no AWS account needed)
#   make test       install what is missing, build, and run every suite
#                   (against this machine's PostgreSQL 15)
#   make test-all   make test, then every suite on PostgreSQL 17 and 18
#                   (make test-pg17, make test-pg18), each in a throw-away
#                   Debian root made with debootstrap (test/legs/run-leg)
#   make bench      install what is missing, build, and measure it against
#                   the local AWS emulator and the AWS SDK (BENCHMARKS.md)

EXTENSION  = bedrock_fdw
EXTVERSION = 0.4.0

MODULE_big = bedrock_fdw
# One folder per layer (docs/testing.md describes them); the module core
# stays at the top of src/.
OBJS = \
	src/bedrock_fdw.o \
	src/guc.o \
	src/log_redact.o \
	src/json_util.o \
	src/secret_wipe.o \
	src/functions/chat.o \
	src/functions/chat_batch.o \
	src/functions/embed.o \
	src/functions/invoke.o \
	src/engine/embed_family.o \
	src/engine/embed_titan.o \
	src/engine/embed_cohere.o \
	src/engine/invoke_model.o \
	src/functions/identity.o \
	src/functions/sign_request.o \
	src/functions/enrich_timeout.o \
	src/functions/batch_s3.o \
	src/functions/batch_control.o \
	src/engine/chat_options.o \
	src/engine/converse.o \
	src/engine/runtime.o \
	src/engine/retry.o \
	src/engine/rate_limit_config.o \
	src/engine/rate_limiter.o \
	src/engine/model_table.o \
	src/engine/inflight_calls.o \
	src/aws/http.o \
	src/aws/sigv4.o \
	src/aws/aws_error.o \
	src/aws/xml_util.o \
	src/aws/aws_request.o \
	src/credentials/credentials.o \
	src/credentials/credential_cache.o \
	src/credentials/imds.o \
	src/credentials/container_credentials.o \
	src/credentials/sts.o \
	src/usage/usage_queue.o \
	src/usage/usage_record.o \
	src/usage/usage_stats.o \
	src/usage/usage_log_guard.o \
	src/usage/usage_database_notice.o \
	src/workers/worker_slot.o \
	src/workers/credentials_worker.o \
	src/workers/usage_launcher.o \
	src/workers/usage_writer.o \
	src/fdw/fdw_options.o \
	src/fdw/bedrock_target.o \
	src/fdw/identity_fetch.o \
	src/fdw/identity_cache.o

# the foreign tables over the Bedrock catalog (src/fdw, docs/catalog.md)
OBJS += \
	src/fdw/catalog_handler.o \
	src/fdw/catalog_planner.o \
	src/fdw/catalog_scan.o \
	src/fdw/catalog_import.o \
	src/fdw/catalog_resources.o \
	src/fdw/catalog_endpoint.o

# cost before you spend: bedrock_count_tokens, the enrichment estimate
OBJS += \
	src/functions/count_tokens.o
# extraction: bedrock_extract, its batch, classify and is_true over a
# JSON Schema subset (docs/extraction.md)
OBJS += \
	src/engine/json_schema.o \
	src/engine/extract_refusals.o \
	src/functions/extract.o
# Converse features: request metadata, guardrails, documents, caching, tiers
OBJS += \
	src/engine/converse_features.o \
	src/engine/converse_content.o \
	src/functions/apply_guardrail.o \
	src/functions/document_image.o

DATA = $(wildcard sql/bedrock_fdw--*.sql)

# every layer's folder is on the include path, so that a file includes
# "x.h" wherever x.h lives
SRC_DIRS = src src/functions src/engine src/aws src/credentials src/usage \
	src/workers src/fdw
PG_CPPFLAGS = $(addprefix -I,$(SRC_DIRS)) $(shell curl-config --cflags 2>/dev/null)
# Our own code is warning-free; -Wunused-parameter and
# -Wmissing-field-initializers are off as in PostgreSQL's own build
# (fmgr and callback signatures, designated initialisers); -Wclobbered
# fires inside PG_TRY itself on every release.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wno-sign-compare -Wno-clobbered
SHLIB_LINK = $(shell curl-config --libs 2>/dev/null) -lssl -lcrypto

# pg_regress runs on a throw-away instance with the library preloaded and
# the endpoint GUCs pointing at the emulator; test/run-suites writes that
# configuration (it holds the emulator's port) and passes it here.
REGRESS = init sign_request chat_basic chat_options chat_errors chat_retry \
	usage_stats chat_batch converse enrich chat_cancel parallel_query secrets bad_input identity usage_views \
	rate_limits usage_encoding upgrade roles catalog \
	batch_jobs embed invoke fdw \
	cost_estimate extract guardrails documents caching_tiers
BEDROCK_REGRESS_CONF ?= test/bedrock_fdw.conf
REGRESS_OPTS = --temp-config=$(BEDROCK_REGRESS_CONF) --temp-instance=./tmp_check

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
# our TAP helpers (the emulator harness) live in test/perl
PG_PROVE_FLAGS += -I $(srcdir)/test/perl
# PGXS builds without dependency tracking: rebuild every object when any of
# our headers changes, so that no object is left with a stale struct layout
$(OBJS): $(wildcard $(addsuffix /*.h,$(SRC_DIRS)))
else
# PostgreSQL is not installed yet: only the bootstrap targets work.
all install installcheck:
	@echo "PostgreSQL development files are missing: run 'make deps' (or 'make test')" >&2; exit 1
endif

.PHONY: deps test demo bench print-regress valgrind-check fuzz fuzz-smoke \
	asan-check bench-load

# Install the compiler, PostgreSQL, headers, libraries and Node.js we need
# (Debian 12; as root or through sudo).  Does nothing when all are present.
deps:
	@test/bootstrap/install-deps

test: deps
	$(MAKE) all
	test/bootstrap/as-root $(MAKE) install
	test/run-suites

demo: deps
	$(MAKE) all
	test/bootstrap/as-root $(MAKE) install
	test/demo/run-demo

bench: deps
	$(MAKE) all
	test/bootstrap/as-root $(MAKE) install
	test/bench/run-bench

# pgbench, 50 clients x 1,000 bedrock_chat calls: no error, a usage row per
# call, flat backend memory (BENCHMARKS.md)
bench-load: deps
	$(MAKE) all
	test/bootstrap/as-root $(MAKE) install
	test/bench/run-load

# The other PostgreSQL versions: each leg builds this checkout and runs
# every suite in its own debootstrapped Debian root (PostgreSQL 17 from
# trixie, 18 from sid, with pgvector), cached in /var/cache/bedrock_fdw.
# The host needs npm for the emulator's packages, hence deps.
TEST_LEGS = test-pg17 test-pg18
.PHONY: test-all test-legs $(TEST_LEGS)

test-all: test test-legs

test-legs: $(TEST_LEGS)

$(TEST_LEGS): deps
	test/legs/run-leg $(patsubst test-%,%,$@)

# the pg_regress suites, for scripts
print-regress:
	@echo $(REGRESS)

# the pg_regress suites against a server under valgrind (slow; not in test)
valgrind-check:
	@test/bootstrap/install-deps --valgrind
	test/sanitize/valgrind-regress

# libFuzzer on the parsers of untrusted input, with ASan and UBSan, inside a
# single-user backend (test/fuzz/run-fuzz): fuzz, one minute per target
# (FUZZ_SECONDS); fuzz-smoke, the corpus and a few seconds each (CI)
fuzz:
	@test/bootstrap/install-deps --fuzz
	test/fuzz/run-fuzz fuzz

fuzz-smoke:
	@test/bootstrap/install-deps --fuzz
	test/fuzz/run-fuzz smoke

# the regress and TAP suites against an ASan+UBSan build of the extension,
# the runtime preloaded into the uninstrumented server (slow; not in test)
asan-check:
	test/sanitize/asan-check
