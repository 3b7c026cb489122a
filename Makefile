# s3mirror - plain GNU Makefile. `make deps` installs the Debian packages it needs.
PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
PKGS = libcurl libcrypto libssl libxml-2.0 libuv
# The Debian package that ships each pkg-config module (`make deps` installs them).
DEB_libcurl = libcurl4-openssl-dev
DEB_libcrypto = libssl-dev
DEB_libssl = libssl-dev
DEB_libxml-2.0 = libxml2-dev
DEB_libuv = libuv1-dev
# Flags are computed when a recipe first needs them (not when make starts), so `make demo` and
# `make deps check` on a bare machine see the packages `deps` has just installed; a missing
# module stops make with the package to install instead of a compiler error later on.
pkg_missing = $(shell command -v pkg-config >/dev/null || echo pkg-config; \
    for m in $(PKGS); do pkg-config --exists $$m 2>/dev/null || echo $$m; done)
pkg_flags = $(if $(pkg_missing),$(error not found: $(pkg_missing); install the Debian packages \
    $(sort $(foreach m,$(pkg_missing),$(or $(DEB_$(m)),$(m)))) (`make deps` does)), \
    $(shell pkg-config $(1) $(PKGS)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkg_flags,--cflags))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(call pkg_flags,--libs))$(PKG_LIBS)
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
       -Wno-format-nonliteral
ifdef WERROR
WARN += -Werror
endif
OPT ?= -O2 -g
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Iinclude $(PKG_CFLAGS) -MMD -MP
ALL_CFLAGS = $(BASE_CFLAGS) $(SAN) $(CFLAGS)
ALL_LDFLAGS = $(SAN) $(LDFLAGS)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

UTIL_SRCS = $(wildcard src/util/*.c)
CORE_SRCS = $(wildcard src/core/*.c)
NET_SRCS = $(wildcard src/net/*.c) $(wildcard src/s3/*.c) $(wildcard src/engine/*.c)
CLI_SRCS = $(wildcard src/cli/*.c)
LIB_SRCS = $(UTIL_SRCS) $(CORE_SRCS) $(NET_SRCS)
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS = $(CLI_SRCS:%.c=$(BUILD)/%.o)
LIB = $(BUILD)/libs3m.a
BIN = $(BUILD)/s3mirror

UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPERS = $(BUILD)/tests/unit/tjson.o $(BUILD)/tests/unit/thttp.o

DEB_PKGS = build-essential pkg-config libcurl4-openssl-dev libssl-dev libxml2-dev libuv1-dev \
           libcmocka-dev clang clang-format valgrind man-db groff-base openssl curl uuid-runtime \
           ceph-mon ceph-osd radosgw ceph-common rclone time gnuplot-nox \
           python3 python3-boto3 python3-yaml zsh restic nginx-light postgresql-15 pgbackrest wrk \
           prometheus-pushgateway strace
# `make deps check` (or -j2): nothing is built before deps has installed the packages.
ifneq ($(filter deps,$(MAKECMDGOALS)),)
.NOTPARALLEL:
endif

.PHONY: all deps check check-unit check-docs check-deploy check-e2e check-pgbackrest check-model fuzz-regress asan check-asan check-valgrind fuzz clean install \
        demo bench bench-smoke format-check check-install check-fresh check-layers check-layers-selftest

all: $(BIN) s3mirror $(BUILD)/tests/s3ops

s3mirror: $(BIN)
	@ln -sf $(BIN) s3mirror

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/src/cli/version.o: ALL_CFLAGS += -DS3M_VERSION='"$(VERSION)"' -DS3M_GIT_REV='"$(GIT_REV)"'
$(BUILD)/src/cli/plan_out.o: ALL_CFLAGS += -DS3M_VERSION='"$(VERSION)"'

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $< $(UNIT_HELPERS) $(UNIT_OBJS) $(LIB) $(PKG_LIBS) -lcmocka -lm \
	    $(ALL_LDFLAGS) -o $@

# Unit tests of the CLI's pure functions (test_shard) link its objects, all but main.o.
CLI_TEST_OBJS = $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJS))
$(BUILD)/tests/test_shard: $(CLI_TEST_OBJS)
$(BUILD)/tests/test_shard: UNIT_OBJS = $(CLI_TEST_OBJS)
$(BUILD)/tests/test_cutoff: $(CLI_TEST_OBJS)
$(BUILD)/tests/test_cutoff: UNIT_OBJS = $(CLI_TEST_OBJS)

# the allocation-failure run alone gets the failing allocator (it replaces malloc for the binary)
$(BUILD)/tests/test_allocfail: tests/unit/test_allocfail.c tests/unit/failalloc.c $(UNIT_HELPERS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $< tests/unit/failalloc.c $(UNIT_HELPERS) $(LIB) $(PKG_LIBS) \
	    -lcmocka -lm -ldl $(ALL_LDFLAGS) -o $@

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	        || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	else echo "deps: all Debian packages present"; fi

# Unit tests: pure code against the conformance data in tests/data (copied from ../shared/testdata).
check-unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    S3M_TESTDATA=$(CURDIR)/tests/data $(RUNNER) $$t || fail=1; done; \
	[ $$fail = 0 ] && echo "unit tests: all passed" || { echo "unit tests: FAILED"; exit 1; }

check-e2e: $(BIN) $(BUILD)/bench/listsrv
	tests/e2e/run.sh $(E2E_ARGS)

# pgBackRest's stop-point proof with a stop point per request of the sync (capped) and verify
# and a restore at every one (make check runs a sample); PGBR_POINTS=KILLS,REFUSALS,RESTORES
PGBR_POINTS ?= 40,12,52
check-pgbackrest: $(BIN)
	S3M_PGBR_POINTS=$(PGBR_POINTS) tests/e2e/run.sh -k PgbackrestTest $(E2E_ARGS)

# + the state-machine table of docs/internals/README.md against the enums of the code
check-docs: $(BIN)
	S3MIRROR_BIN=$(BIN) tests/docs_test.sh
	scripts/check-internals.sh
	tests/internals_test.sh

# The shape rules of STYLE.md: includes only down the layers, libuv/curl only in net/, files
# <= 600 lines, functions <= 60 (scripts/check-layers.sh; --longest 10 lists the biggest).
check-layers:
	scripts/check-layers.sh

# check-layers.sh itself against tiny fake trees that must pass or fail each rule
check-layers-selftest:
	tests/layers_test.sh

# deploy/: rendered Kubernetes manifests parse and say what they should; systemd units verify
check-deploy:
	python3 -W ignore tests/deploy_test.py

# Random cases against a model of sync written from the documents (tests/model/): the saved
# regression cases, then CASES generated ones per server from SEED. `make check` runs a fixed set.
CASES ?= 6
SEED ?= 7
comma := ,
# moto where it is installed (it is no Debian package), Ceph always
SERVERS ?= $(if $(shell command -v moto_server),moto$(comma))ceph
RCLONE ?= 4
check-model: $(BIN)
	python3 tests/model/run.py --oracle-only
	S3MIRROR_BIN=$(CURDIR)/$(BIN) python3 tests/model/run.py --cases $(CASES) --seed $(SEED) \
	    --servers $(SERVERS) --rclone $(RCLONE)

check: all check-unit check-layers check-layers-selftest fuzz-regress check-docs check-install check-deploy check-e2e check-model

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all $(addprefix build-asan/tests/,$(notdir $(UNIT_BINS)))

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all check-unit fuzz-regress
	S3MIRROR_BIN=$(CURDIR)/build-asan/s3mirror ASAN_OPTIONS=detect_leaks=1 tests/e2e/run.sh --quick

# unit tests and the main sync scenarios of the e2e suite (moto) under valgrind memcheck
check-valgrind: all $(UNIT_BINS)
	$(MAKE) check-unit RUNNER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
	S3MIRROR_BIN=$(CURDIR)/tests/valgrind-s3mirror tests/e2e/run.sh --quick -k test_first_sync -k test_dry_run -k test_sizes_and_multipart -k test_counts -k test_parallel_listing -k test_json_log_file

# Fuzz harnesses: libFuzzer under clang; under gcc they replay their corpora as regression tests.
FUZZ_TARGETS = xml config uri spec glob plan
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude $(PKG_CFLAGS)
FUZZ_LIB_SRCS = $(UTIL_SRCS) $(CORE_SRCS)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_LIB_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(SAN) $^ $(PKG_LIBS) -o $@

fuzz-regress: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
	@for t in $(FUZZ_TARGETS); do $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t || exit 1; done

fuzz:
	@mkdir -p build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	    clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_$$t.c $(FUZZ_LIB_SRCS) \
	        $(PKG_LIBS) -o build-fuzz/fuzz_$$t || exit 1; \
	    mkdir -p build-fuzz/corpus_$$t; \
	    build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
	        build-fuzz/corpus_$$t tests/fuzz/corpus/$$t 2>build-fuzz/fuzz_$$t.log \
	        || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	    echo "fuzz $$t: $$(grep -o 'Done [0-9]* runs' build-fuzz/fuzz_$$t.log) in $(FUZZ_SECONDS)s, no crash"; \
	done

# Completions are printed by the binary from the option table that drives --help.
BASH_COMPDIR = $(PREFIX)/share/bash-completion/completions
ZSH_COMPDIR = $(PREFIX)/share/zsh/site-functions
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(BASH_COMPDIR) $(DESTDIR)$(ZSH_COMPDIR)
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/s3mirror
	install -m 644 man/s3mirror.1 $(DESTDIR)$(PREFIX)/share/man/man1/s3mirror.1
	$(BIN) completion bash >$(DESTDIR)$(BASH_COMPDIR)/s3mirror
	$(BIN) completion zsh >$(DESTDIR)$(ZSH_COMPDIR)/_s3mirror

# make install into a temporary PREFIX; the bash completion completes, the zsh one parses
check-install: $(BIN)
	tests/install_test.sh

# deps first, then a make of its own: it computes the flags of the packages deps installed
demo: deps
	$(MAKE) all
	tests/demo.sh

# The README's promise on a fresh Debian 12 root (debootstrap, chroot): make demo, make deps check
check-fresh:
	tests/fresh/check-fresh.sh

clean:
	@! grep -qF " $(CURDIR)/build/" /proc/self/mountinfo || \
	    { echo "clean: something is mounted under build/ (a check-fresh root?); not removing"; exit 1; }
	rm -rf build build-asan build-fuzz s3mirror

# Layout per the committed .clang-format (scripts/format-apply.sh applies it, and --count says
# how far the tree is from it).
FORMAT_SRCS = $(wildcard src/*/*.c src/*/*.h include/s3m/*.h tests/unit/*.c tests/unit/*.h)
format-check:
	clang-format --dry-run --Werror --style=file $(FORMAT_SRCS)

-include $(shell find $(BUILD) -path $(BUILD)/fresh -prune -o -name '*.d' -type f -print 2>/dev/null)

$(BUILD)/tests/s3ops: tests/e2e/s3ops.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(PKG_LIBS) $(ALL_LDFLAGS) -o $@

# bench/fastsrv: the bench's fast S3 endpoint; listsrv is the same program (listsrv PORT NKEYS)
FASTSRV_OBJS = $(patsubst bench/fastsrv/%.c,$(BUILD)/bench/fastsrv.o/%.o,$(wildcard bench/fastsrv/*.c))
$(BUILD)/bench/fastsrv.o/%.o: bench/fastsrv/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/bench/fastsrv: $(FASTSRV_OBJS)
	$(CC) $(FASTSRV_OBJS) $(PKG_LIBS) $(ALL_LDFLAGS) -o $@

$(BUILD)/bench/listsrv: $(BUILD)/bench/fastsrv
	ln -sf fastsrv $@

# The whole bench (docs/benchmarks.md): plain HTTP (the Ceph datasets, the night's delta, the
# client against bench/fastsrv, the no-change sync of 1M and 10M keys), then the large objects
# again over TLS (nginx fronts with the bench's own CA). About 80 minutes (3 rounds; rclone runs in a
# 4 GiB memory cgroup and dies there on 1M keys and more).
BENCH_ARGS ?= --huge-keys 1000000,10000000
BENCH_TLS_ARGS ?= --datasets large:0.25 --fast large --night 0 --huge-keys 0
bench: deps all $(BUILD)/bench/listsrv $(BUILD)/bench/fastsrv $(BUILD)/bench/delayproxy $(BUILD)/bench/parsebound
	bench/run $(BENCH_ARGS)
	bench/run --tls $(BENCH_TLS_ARGS)

bench-smoke: all $(BUILD)/bench/listsrv $(BUILD)/bench/fastsrv $(BUILD)/bench/delayproxy $(BUILD)/bench/parsebound
	bench/run --smoke

$(BUILD)/bench/parsebound: bench/parsebound.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(PKG_LIBS) $(ALL_LDFLAGS) -o $@

$(BUILD)/bench/delayproxy: bench/delayproxy.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(PKG_LIBS) $(ALL_LDFLAGS) -o $@
