# tests/fuzz/fuzz.mk: build every tests/fuzz/fuzz_*.c as a libFuzzer binary
# (clang, ASan + UBSan) against the library sources, then run each for
# FUZZ_SECONDS over its corpus (tests/fuzz/corpus/<name>/ when present).
# Invoked by `make fuzz`.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 20
FUZZ_PKGS    := libmicrohttpd sqlite3 libcrypto liburing jansson inih libisal libarchive
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
                $(shell pkg-config --cflags $(FUZZ_PKGS))
FUZZ_LIBS    := $(shell pkg-config --libs $(FUZZ_PKGS)) -lpthread
FUZZ_LIBSRC  := $(filter-out server/main.c,$(sort $(wildcard common/*.c storage/*.c replication/*.c server/*.c)))
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

.PHONY: fuzz-all fuzz-run
fuzz-run: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	    name=$$(basename $$f); corpus=tests/fuzz/corpus/$$name; work=$(FUZZ_BUILD)/corpus/$$name; \
	    mkdir -p $$work; [ -d $$corpus ] && cp -n $$corpus/* $$work/ 2>/dev/null || true; \
	    echo "== $$name ($(FUZZ_SECONDS)s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $$work >$(FUZZ_BUILD)/$$name.log 2>&1 \
	        || { tail -n 40 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	    tail -n 1 $(FUZZ_BUILD)/$$name.log; \
	done

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBSRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBSRC) $(FUZZ_LIBS)
