# swiftlet — build, run, test. See README.md.
#
#   make            build/swiftlet
#   make run        install missing packages, build, serve on 127.0.0.1:8080
#   make test       install, build, unit tests (cmocka) + black-box tests (pytest)
#   make check      the same tests under AddressSanitizer + UBSan
#   make bench      benchmarks (bench/)
#   make fuzz       libFuzzer targets, a short run each
#   make install    PREFIX=/usr/local DESTDIR=
# Build outputs go under build/ (build/asan for `check`, build/fuzz for fuzz).

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
PYTEST   := /usr/bin/python3 -m pytest

PKGS     := libmicrohttpd sqlite3 libcrypto liburing jansson inih libisal libarchive libcurl
WARN     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wformat=2 -Wwrite-strings -Wundef \
            -Werror=implicit-function-declaration -Werror=deprecated-declarations
ifneq ($(CI),)
WARN     += -Werror
endif
OPT      ?= -O2 -g
CFLAGS_ALL = $(WARN) $(OPT) -D_GNU_SOURCE -MMD -MP $(EXTRA_CFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread $(EXTRA_LDFLAGS)

LIB_SRC  := $(sort $(wildcard common/*.c storage/*.c replication/*.c server/*.c tools/*.c))
LIB_SRC  := $(filter-out server/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Test-only LD_PRELOAD fault injector (tests/faultinject/README.md); never
# installed, never sanitized (it wraps libc under the sanitizers too).
FI_LIB   := $(BUILD)/libfaultinject.so

.PHONY: all deps test-deps run test unit http check test-built bench fuzz fuzz-replay install clean \
        fmt lint docs-config

all: $(BUILD)/swiftlet

# Keep test objects between runs.
.SECONDARY:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/libswiftlet.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/swiftlet: $(BUILD)/server/main.o $(BUILD)/libswiftlet.a
	$(CC) $(OPT) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(FI_LIB): tests/faultinject/faultinject.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -O2 -g -fPIC -shared -o $@ $< -ldl -lpthread

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libswiftlet.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT) -o $@ $^ -lcmocka $(LDLIBS_ALL)

deps:
	@deploy/install-deps.sh build

test-deps:
	@deploy/install-deps.sh test

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	exec $(BUILD)/swiftlet serve --data var --listen 127.0.0.1:8080 \
	    --user test:tester:testing:admin --print-connect

# Unit tests: every cmocka binary; each prints its own summary.
unit: $(UNIT_BIN)
	@rc=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || rc=1; done; exit $$rc

# Black-box tests against the real binary (tests/http/conftest.py starts it).
http: $(BUILD)/swiftlet $(FI_LIB)
	SWIFTLET_BIN=$(abspath $(BUILD)/swiftlet) SWIFTLET_FAULTINJECT=$(abspath $(FI_LIB)) $(PYTEST) -q -p no:cacheprovider tests/http $(PYTEST_ARGS)

test: test-deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(FI_LIB)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory http

# ASan + UBSan build of the same tests in build/asan. io_uring stays on;
# leak checking is on for the unit tests and the server.
check: test-deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" test-built
	@$(MAKE) --no-print-directory fuzz-replay

test-built: $(BUILD)/swiftlet $(UNIT_BIN) $(FI_LIB)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory http

bench: all
	bench/run.sh

fuzz: test-deps
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk fuzz-run

# Every fuzz target once over its seed corpus (tests/fuzz/corpus/).
fuzz-replay: test-deps
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk fuzz-replay

docs-config: all
	$(BUILD)/swiftlet --config-docs > docs/config.md

install: all
	install -D -m 0755 $(BUILD)/swiftlet $(DESTDIR)$(PREFIX)/bin/swiftlet
	install -D -m 0644 deploy/swiftlet.service $(DESTDIR)$(PREFIX)/lib/systemd/system/swiftlet.service
	install -D -m 0644 deploy/swiftlet.conf $(DESTDIR)$(PREFIX)/share/doc/swiftlet/swiftlet.conf.example

fmt:
	clang-format -i $(LIB_SRC) server/main.c $(wildcard */*.h) $(UNIT_SRC)

lint:
	clang-tidy $(LIB_SRC) server/main.c -- $(CFLAGS_ALL)
	cppcheck --quiet --enable=warning,performance --std=c11 -I. $(LIB_SRC) server/main.c

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
