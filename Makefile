# nanoshim - plain GNU make, no configure step.
#
#   make            release binary: static musl, build/containerd-shim-nanoshim-v2
#   make debug      glibc debug build (tests use it next to the release one)
#   make check      ASan/UBSan build + unit tests under the sanitizers
#   make gen        regenerate gen/ from proto/ (committed; CI checks no diff)
#   make test       everything: deps, gen check, wire conformance, unit, integration
#   make unit       cmocka unit tests only
#   make integration  integration suite (root; private containerd + runc)
#   make demo       the README's demo: a container through nanoshim vs the Go shim
#   make bench      footprint, latency, density and throughput against the
#                   Go shim; tables in bench/results/latest.txt, PNG charts
#   make soak       100,000 exec cycles: RSS, VmData and fds must not move
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       apt-get install what is missing (Debian 12)

PREFIX ?= /usr/local
# V=1 shows every command.
Q := $(if $(V),,@)
DESTDIR ?=
BIN := containerd-shim-nanoshim-v2
B := build
NANOPB := build/nanopb

# Paths are checked against PATH_MAX where they come in, so gcc's guesses
# about snprintf truncating them are noise: -Wno-format-truncation.
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wframe-larger-than=4096 \
	-Wno-format-truncation
DEFS := -D_GNU_SOURCE -DPB_BUFFER_ONLY
INCS := -Isrc -Igen -I$(NANOPB)
CFLAGS_ALL := -std=c11 $(WARN) $(DEFS) $(INCS)
# nanopb's own sources are not ours to re-style; only the errors that
# matter for us stay fatal there.
PBFLAGS := -std=c11 -Wall -Werror $(DEFS) $(INCS)

SRC := $(sort $(wildcard src/*.c))
GEN := $(sort $(shell find gen -name '*.pb.c' 2>/dev/null))
PBSRC := $(NANOPB)/pb_common.c $(NANOPB)/pb_encode.c $(NANOPB)/pb_decode.c
LIBSRC := $(filter-out src/main.c,$(SRC))
UNIT := $(sort $(wildcard tests/unit/test_*.c))

# NS_OWN_PRINTF: src/fmt.c stands in for libc's snprintf family, so musl's
# full printf (floating point and all, ~11 KB) stays out of the binary.
# -mcmodel=medium with a low large-data threshold moves every static
# array of 1 KiB or more into .lbss, away from the small variables: those
# then share two or three pages instead of each sitting next to a big
# buffer's first page.  (RSS is the headline figure; tools/rssmap.py.)
# -fno-pie: a static binary gains nothing from position independence, and
# constant tables then sit in .rodata instead of writable .data.rel.ro.
REL_CFLAGS := $(CFLAGS_ALL) -Os -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -fno-stack-protector -DNS_OWN_PRINTF \
	-DNS_LAYOUT \
	-mcmodel=medium -mlarge-data-threshold=1024 -fno-pie -flto
# -z noseparate-code: headers, code and constants share pages instead of
# each starting a page of its own.
# tools/ld/idle-first.ld: the idle shim's code (src/layout.h) and the C
# library first, so an idle shim maps the first text window only.  Headers
# keep a page of their own (separate-code) so reading them at startup does
# not map the code around them.
REL_LDFLAGS := -static -no-pie -flto=auto -Wl,--gc-sections \
	-Wl,-T,tools/ld/idle-first.ld -Wl,-z,norelro -s
DBG_CFLAGS := $(CFLAGS_ALL) -O1 -g
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
SAN_CFLAGS := $(CFLAGS_ALL) -O1 -g $(SAN) -DNS_NO_ALLOC_GUARD


.PHONY: all release release-syms debug check gen gen-check protocheck test unit \
	integration demo bench soak install clean deps nanopb

all: release

deps:
	@tools/deps.sh

$(NANOPB)/pb.h:
	@tools/fetch-nanopb.sh $(NANOPB)
# The runtime's sources come with pb.h (one fetch brings them all).
$(PBSRC): $(NANOPB)/pb.h
	@test -f $@
nanopb: $(NANOPB)/pb.h

# --- the three builds: one rule template, three flavours ---------------
define flavour
$(B)/$(1)/%.o: src/%.c $(wildcard src/*.h) Makefile | $(NANOPB)/pb.h
	@mkdir -p $$(@D)
	@echo "  CC $(1)  $$<"
	$$(Q)$$(CC_$(1)) $$(CFLAGS_$(1)) -c $$< -o $$@
$(B)/$(1)/gen/%.o: gen/%.c | $(NANOPB)/pb.h
	@mkdir -p $$(@D)
	@echo "  CC $(1)  $$<"
	$$(Q)$$(CC_$(1)) $$(CFLAGS_$(1)) -c $$< -o $$@
$(B)/$(1)/pb/%.o: $(NANOPB)/%.c | $(NANOPB)/pb.h
	@mkdir -p $$(@D)
	@echo "  CC $(1)  $$<"
	$$(Q)$$(CC_$(1)) $$(filter-out $(WARN),$$(CFLAGS_$(1))) -Wall -Werror -c $$< -o $$@
OBJ_$(1) := $(patsubst src/%.c,$(B)/$(1)/%.o,$(SRC)) \
	$(patsubst gen/%.c,$(B)/$(1)/gen/%.o,$(GEN)) \
	$(patsubst $(NANOPB)/%.c,$(B)/$(1)/pb/%.o,$(PBSRC))
endef

CC_rel := musl-gcc
CFLAGS_rel := $(REL_CFLAGS)
CC_dbg := gcc
CFLAGS_dbg := $(DBG_CFLAGS)
CC_san := gcc
CFLAGS_san := $(SAN_CFLAGS)
CC_unit := gcc
CFLAGS_unit := $(CFLAGS_ALL) -O1 -g -DNS_NO_ALLOC_GUARD -DNS_UNIT_TEST
$(eval $(call flavour,rel))
$(eval $(call flavour,dbg))
$(eval $(call flavour,san))
$(eval $(call flavour,unit))

release: $(B)/$(BIN)
$(B)/$(BIN): $(OBJ_rel)
	@mkdir -p $(@D)
	@echo "  LD rel  $@"
	$(Q)musl-gcc $(REL_CFLAGS) $(REL_LDFLAGS) $^ -o $@
	@size $@ | tail -1 | awk '{printf "release binary: %s bytes text, %s data, %s bss\n", $$1, $$2, $$3}'

# Same objects, same layout, symbols kept: for tools/rssmap.py.
release-syms: $(B)/syms/$(BIN)
$(B)/syms/$(BIN): $(OBJ_rel)
	@mkdir -p $(@D)
	@echo "  LD syms $@"
	$(Q)musl-gcc $(REL_CFLAGS) $(filter-out -s,$(REL_LDFLAGS)) $^ -o $@

debug: $(B)/debug/$(BIN)
$(B)/debug/$(BIN): $(OBJ_dbg)
	@mkdir -p $(@D)
	@echo "  LD dbg  $@"
	$(Q)gcc $(DBG_CFLAGS) $^ -o $@

$(B)/san/$(BIN): $(OBJ_san)
	@mkdir -p $(@D)
	@echo "  LD san  $@"
	$(Q)gcc $(SAN_CFLAGS) $^ -o $@

# --- unit tests: one cmocka binary per tests/unit/test_*.c ---------------
# A test names extra link flags (syscall seams) on a line
# "// LDFLAGS: -Wl,--wrap=waitpid" of its own source.
UNIT_LIB := $(B)/unit/libns.a
$(UNIT_LIB): $(filter-out $(B)/unit/main.o,$(OBJ_unit))
	@mkdir -p $(@D)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/unit/test_%: tests/unit/test_%.c $(UNIT_LIB)
	@echo "  LD unit $@"
	$(Q)gcc $(CFLAGS_unit) -Itests/unit $< $(UNIT_LIB) -lcmocka \
	    $(shell sed -n 's,^// LDFLAGS: ,,p' $<) -o $@

UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT))

unit: deps $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; \
	    (cd tests/unit && ../../$$t); done
	@tests/unit/run-scripts.sh

check: deps $(B)/san/$(BIN)
	$(MAKE) unit CFLAGS_unit="$(SAN_CFLAGS) -DNS_UNIT_TEST" \
	    B=$(B)/check

# --- schema ---------------------------------------------------------------
gen:
	tools/gen.sh

gen-check: deps
	tools/gen.sh --check

protocheck: deps
	/usr/bin/python3 tools/protocheck.py
	/usr/bin/python3 tools/protocheck.py --selftest

# --- suites ---------------------------------------------------------------
# The suite runs twice: the static musl release binary (what users run)
# and the glibc debug build.  Both carry the allocation guard (src/alloc.c)
# and NANOSHIM_STRICT_ALLOC=1 makes any allocation after startup abort
# the shim, which fails the suite: that is the no-heap proof.
# The release pass runs the full 10,000 exec cycles (t_exec_cycles); the
# debug pass, checking the same code built against glibc, 2,000.
integration: deps release debug
	NANOSHIM_STRICT_ALLOC=1 SHIM=$(CURDIR)/$(B)/$(BIN) \
	    tests/integration/run.sh
	NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=2000 \
	    SHIM=$(CURDIR)/$(B)/debug/$(BIN) tests/integration/run.sh

test: deps gen-check protocheck unit integration

demo: deps release
	tools/demo.sh $(CURDIR)/$(B)/$(BIN)

bench: deps release
	@tools/deps.sh bench
	bench/run.sh $(CURDIR)/$(B)/$(BIN)

soak: deps release
	bench/soak.sh

install: release
	install -D -m 0755 $(B)/$(BIN) $(DESTDIR)$(PREFIX)/bin/$(BIN)

clean:
	rm -rf $(B)/rel $(B)/dbg $(B)/san $(B)/unit $(B)/check $(B)/debug \
	    $(B)/$(BIN)
