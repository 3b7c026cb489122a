# s3mirror - plain GNU Makefile. `make deps` installs the Debian packages it needs.
PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
PKGS = libcurl libcrypto libxml-2.0 libuv
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
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
UNIT_HELPERS = $(BUILD)/tests/unit/tjson.o

DEB_PKGS = build-essential pkg-config libcurl4-openssl-dev libssl-dev libxml2-dev libuv1-dev \
           libcmocka-dev clang valgrind man-db groff-base openssl curl uuid-runtime \
           ceph-mon ceph-osd radosgw ceph-common rclone time gnuplot-nox

.PHONY: all deps check check-unit check-docs check-deploy check-e2e check-model fuzz-regress asan check-asan check-valgrind fuzz clean install \
        demo bench bench-smoke format-check

all: $(BIN) s3mirror $(BUILD)/tests/s3ops

s3mirror: $(BIN)
	@ln -sf $(BIN) s3mirror

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/src/cli/version.o: ALL_CFLAGS += -DS3M_VERSION='"$(VERSION)"' -DS3M_GIT_REV='"$(GIT_REV)"'

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $< $(UNIT_HELPERS) $(LIB) $(PKG_LIBS) -lcmocka -lm \
	    $(ALL_LDFLAGS) -o $@

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
	tests/e2e/run.sh

check-docs: $(BIN)
	S3MIRROR_BIN=$(BIN) tests/docs_test.sh

# deploy/: rendered Kubernetes manifests parse and say what they should; systemd units verify
check-deploy:
	python3 -W ignore tests/deploy_test.py

# Random cases against a model of sync written from the documents (tests/model/): the saved
# regression cases, then CASES generated ones per server from SEED. `make check` runs a fixed set.
CASES ?= 6
SEED ?= 7
SERVERS ?= moto,ceph
RCLONE ?= 4
check-model: $(BIN)
	python3 tests/model/run.py --oracle-only
	S3MIRROR_BIN=$(CURDIR)/$(BIN) python3 tests/model/run.py --cases $(CASES) --seed $(SEED) \
	    --servers $(SERVERS) --rclone $(RCLONE)

check: all check-unit fuzz-regress check-docs check-deploy check-e2e check-model

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
FUZZ_TARGETS = xml config uri spec glob
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

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/s3mirror
	install -m 644 man/s3mirror.1 $(DESTDIR)$(PREFIX)/share/man/man1/s3mirror.1

demo: deps all
	tests/demo.sh

clean:
	rm -rf build build-asan build-fuzz s3mirror

format-check:
	clang-format --dry-run --Werror $(LIB_SRCS) $(CLI_SRCS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/tests/s3ops: tests/e2e/s3ops.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(PKG_LIBS) $(ALL_LDFLAGS) -o $@

$(BUILD)/bench/listsrv: bench/listsrv.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(PKG_LIBS) $(ALL_LDFLAGS) -o $@

bench: deps all $(BUILD)/bench/listsrv $(BUILD)/bench/delayproxy
	bench/run $(BENCH_ARGS)

bench-smoke: all $(BUILD)/bench/listsrv $(BUILD)/bench/delayproxy
	bench/run --smoke

$(BUILD)/bench/delayproxy: bench/delayproxy.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(PKG_LIBS) $(ALL_LDFLAGS) -o $@
