# tests/fuzz/fuzz.mk: libFuzzer targets for the parsers of untrusted input
# (paths, queries, headers, ranges, names). Invoked by the main Makefile:
#   make fuzz          run each target for FUZZ_SECONDS, starting from its corpus
#   make fuzz-replay   run each target once over its seed corpus (part of `make check`)
# The library is built once with clang (-fsanitize=fuzzer-no-link,address,
# undefined) into $(FUZZ_BUILD); each target links against it.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 20
FUZZ_PKGS    := libmicrohttpd sqlite3 libcrypto liburing jansson inih libisal libarchive libcurl
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined \
                $(shell pkg-config --cflags $(FUZZ_PKGS))
FUZZ_LIBS    := $(shell pkg-config --libs $(FUZZ_PKGS)) -lpthread
FUZZ_LIBSRC  := $(filter-out server/main.c,$(sort $(wildcard common/*.c storage/*.c replication/*.c server/*.c tools/*.c)))
FUZZ_LIBOBJ  := $(FUZZ_LIBSRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

.PHONY: fuzz-run fuzz-replay
.SECONDARY:

fuzz-run: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	    name=$$(basename $$f); work=$(FUZZ_BUILD)/corpus/$$name; mkdir -p $$work; \
	    echo "== $$name ($(FUZZ_SECONDS)s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $$work tests/fuzz/corpus/$$name \
	        >$(FUZZ_BUILD)/$$name.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	    tail -n 1 $(FUZZ_BUILD)/$$name.log; \
	done

fuzz-replay: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	    name=$$(basename $$f); \
	    $$f -runs=0 tests/fuzz/corpus/$$name >$(FUZZ_BUILD)/$$name.replay.log 2>&1 \
	        || { tail -n 40 $(FUZZ_BUILD)/$$name.replay.log; exit 1; }; \
	    echo "fuzz-replay $$name: $$(ls tests/fuzz/corpus/$$name | wc -l) inputs ok"; \
	done

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBOBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIBOBJ) $(FUZZ_LIBS)
