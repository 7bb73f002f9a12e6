# nanoshim - plain GNU make, no configure step.
#
#   make            release binary: static musl, build/containerd-shim-nanoshim-v2
#   make debug      glibc debug build (tests use it next to the release one)
#   make check      ASan/UBSan build + unit tests under the sanitizers
#   make gen        regenerate gen/ from proto/ (committed; CI checks no diff)
#   make test       everything: deps, gen check, wire conformance, unit,
#                   fuzz corpus replay, integration
#   make fuzz       each fuzz target for FUZZ_TIME seconds (tests/fuzz)
#   make unit       cmocka unit tests only
#   make layers     src/'s include graph: layers, no cycle, no file too long
#   make integration  integration suite (root; private containerd + runc)
#   make test-vm    the suite's cgroup v2 subset in a pure cgroup v2 VM (tests/vm)
#   make test-matrix  the slow cells: soaks, races under stress-ng load,
#                   containerd 1.7 and the Go shim on 2.x, every tests/vm cell
#   make demo       the README's demo: a container through nanoshim vs the Go shim
#   make bench      footprint, latency, density and throughput against the
#                   Go shim; tables in bench/results/latest.txt, PNG charts
#   make soak       100,000 exec cycles: RSS, VmData and fds must not move
#   make cri        CRI (Kubernetes) cases, nanoshim and the Go shim
#   make bench-pods pods-per-node through CRI against the Go shim (PODS=50)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       apt-get install what is missing (Debian 12)
#   make ARCH=arm64 (or armhf)  the release binary for that architecture,
#                   build/ARCH/; `make ARCH=.. unit` runs the unit tests
#                   under qemu-user
#   make cross      both architectures: release binaries and unit tests
#   make cross-smoke  the arm64 and armhf shims through qemu-user with containerd

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
	integration test-matrix demo bench soak install clean deps nanopb cross \
	cross-smoke suite-sid suite-trixie integration-release integration-ctrd2 matrix-soak \
	matrix-ctrd cri cri-deps bench-pods test-vm matrix-vm fuzz fuzz-replay \
	fuzz-bins fuzz-capture integration-san robust-full

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
$(B)/$(1)/%.o: src/%.c $(wildcard src/*.h) Makefile | $(NANOPB)/pb.h $(CROSS_DEP)
	@mkdir -p $$(@D)
	@echo "  CC $(1)  $$<"
	$$(Q)$$(CC_$(1)) $$(CFLAGS_$(1)) -c $$< -o $$@
$(B)/$(1)/gen/%.o: gen/%.c | $(NANOPB)/pb.h $(CROSS_DEP)
	@mkdir -p $$(@D)
	@echo "  CC $(1)  $$<"
	$$(Q)$$(CC_$(1)) $$(CFLAGS_$(1)) -c $$< -o $$@
$(B)/$(1)/pb/%.o: $(NANOPB)/%.c | $(NANOPB)/pb.h $(CROSS_DEP)
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
LDLIBS_unit := -lcmocka
# How unit tests and scripts run (a qemu-user for other architectures).
RUN_unit :=
UNIT_SCRIPTS := tests/unit/run-scripts.sh
LDSCRIPT := tools/ld/idle-first.ld
SIZE := size

# --- other architectures: ARCH=arm64 (aarch64) or ARCH=armhf (armv7) ------
# Debian's cross gcc against Debian's musl of that architecture
# (tools/cross-musl.sh puts both, with a cmocka built for it, in
# build/cross/ARCH); everything lands in build/ARCH.  Same sources, same
# flags, except what is x86-64 only: the medium code model that moves
# large arrays to .lbss (on arm they stay in .bss, and NS_COLD storage
# follows .bss instead: $(LDSCRIPT) below).  The unit tests are static
# musl binaries run by qemu-user.  debug, check and integration are this
# machine's only.  ARCH counts only on the command line: one in the
# environment (kernel builds set it) must not make this a cross build.
ifneq ($(origin ARCH),command line)
ARCH :=
endif
ifneq ($(ARCH),)
ifeq ($(filter arm64 armhf,$(ARCH)),)
$(error ARCH=$(ARCH): arm64 or armhf, or none for this machine's)
endif
GNU_arm64 := aarch64-linux-gnu
GNU_armhf := arm-linux-gnueabihf
# Debian 13's qemu-user (tools/cross-qemu.sh says why not Debian 12's).
QEMU_arm64 := build/cross/qemu/qemu-aarch64
QEMU_armhf := build/cross/qemu/qemu-arm
CROSS := build/cross/$(ARCH)
B := build/$(ARCH)
REL_CFLAGS := $(filter-out -mcmodel=% -mlarge-data-threshold=%,$(REL_CFLAGS))
CC_rel := $(CROSS)/musl-gcc
CFLAGS_rel := $(REL_CFLAGS)
CC_unit := $(CROSS)/musl-gcc
CFLAGS_unit += -I$(CROSS)/cmocka/include
LDLIBS_unit := $(CROSS)/cmocka/libcmocka.a -static
AR := $(GNU_$(ARCH))-ar
SIZE := $(GNU_$(ARCH))-size
RUN_unit := $(CURDIR)/$(QEMU_$(ARCH))
UNIT_DEP := build/cross/qemu/.ok
# The script that checks Stats against upstream's .proto, for this
# architecture's integer widths; the other scripts test the host build.
UNIT_SCRIPTS := UNIT_CC=$(CURDIR)/$(CROSS)/musl-gcc UNIT_RUN=$(RUN_unit) \
	tests/unit/cgroup_decode_check.sh
LDSCRIPT := $(B)/idle-first.ld
REL_LDFLAGS := $(subst tools/ld/idle-first.ld,$(LDSCRIPT),$(REL_LDFLAGS))
# arm64's ld pads to 64 KiB pages (kernels with 64 KiB pages exist there):
# the writable data starts on a 4 KiB page of its own instead of a 64 KiB
# one, which would put up to 64 KiB of zeros in the file.
$(LDSCRIPT): tools/ld/idle-first.ld Makefile
	@mkdir -p $(@D)
	$(Q)sed -e 's/^INSERT AFTER \.lbss;/INSERT AFTER .bss;/' \
	    -e 's/ALIGN(CONSTANT(MAXPAGESIZE))/ALIGN(CONSTANT(COMMONPAGESIZE))/' \
	    $< >$@
$(CROSS)/.ok: tools/cross-musl.sh
	@rm -f $@
	@tools/cross-musl.sh $(ARCH)
CROSS_DEP := $(CROSS)/.ok
endif
build/cross/qemu/.ok: tools/cross-qemu.sh
	@rm -f $@
	@tools/cross-qemu.sh
$(eval $(call flavour,rel))
$(eval $(call flavour,dbg))
$(eval $(call flavour,san))
$(eval $(call flavour,unit))

release: $(B)/$(BIN)
$(B)/$(BIN): $(OBJ_rel) $(LDSCRIPT)
	@mkdir -p $(@D)
	@echo "  LD rel  $@"
	$(Q)$(CC_rel) $(REL_CFLAGS) $(REL_LDFLAGS) $(OBJ_rel) -o $@
	@$(SIZE) $@ | tail -1 | awk '{printf "release binary: %s bytes text, %s data, %s bss\n", $$1, $$2, $$3}'

# Same objects, same layout, symbols kept: for tools/rssmap.py.
release-syms: $(B)/syms/$(BIN)
$(B)/syms/$(BIN): $(OBJ_rel) $(LDSCRIPT)
	@mkdir -p $(@D)
	@echo "  LD syms $@"
	$(Q)$(CC_rel) $(REL_CFLAGS) $(filter-out -s,$(REL_LDFLAGS)) $(OBJ_rel) -o $@

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
	$(Q)$(AR) rcs $@ $^

$(B)/unit/test_%: tests/unit/test_%.c $(UNIT_LIB)
	@echo "  LD unit $@"
	$(Q)$(CC_unit) $(CFLAGS_unit) -Itests/unit $< $(UNIT_LIB) $(LDLIBS_unit) \
	    $(shell sed -n 's,^// LDFLAGS: ,,p' $<) -o $@

UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT))

unit: deps $(UNIT_BINS) $(UNIT_DEP)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; \
	    (cd tests/unit && $(RUN_unit) ../../$$t); done
	@$(UNIT_SCRIPTS)

check: deps $(B)/san/$(BIN)
	$(MAKE) unit CFLAGS_unit="$(SAN_CFLAGS) -DNS_UNIT_TEST" \
	    B=$(B)/check

# --- fuzzing: tests/fuzz (clang's libFuzzer, ASan + UBSan) --------------
# One binary per tests/fuzz/f_<target>.c, linked with the shim's sources
# built by clang (flavour "fuzz": sanitizers, libc's malloc watched by the
# harness's no-heap guard).  A target names extra sources on a line
# "// SEAMS: seam_x.c" (files that #include a src/*.c to reach its
# statics) and link flags on a line "// LDFLAGS: ...".
#   make fuzz-replay   every committed corpus input once (in make test)
#   make fuzz          each target for FUZZ_TIME seconds (default 60),
#                      new inputs kept in build/fuzz/new/<target>
CC_fuzz := clang
CFLAGS_fuzz := $(CFLAGS_ALL) -Wno-unknown-warning-option -O1 -g \
	-fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -DNS_NO_ALLOC_GUARD -DNS_FUZZ
$(eval $(call flavour,fuzz))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/f_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/f_%.c,$(B)/fuzz/bin/%,$(FUZZ_SRC))
FUZZ_LIB := $(B)/fuzz/libns.a
FUZZ_TIME ?= 60
$(FUZZ_LIB): $(filter-out $(B)/fuzz/main.o,$(OBJ_fuzz))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/fuzz/bin/%: tests/fuzz/f_%.c tests/fuzz/fuzz_common.c tests/fuzz/fuzz.h \
    $(wildcard tests/fuzz/seam_*.c) $(SRC) $(FUZZ_LIB)
	@mkdir -p $(@D)
	@echo "  LD fuzz $@"
	$(Q)$(CC_fuzz) $(CFLAGS_fuzz) -fsanitize=fuzzer -Itests/fuzz $< \
	    tests/fuzz/fuzz_common.c \
	    $(addprefix tests/fuzz/,$(shell sed -n 's,^// SEAMS:,,p' $<)) \
	    $(FUZZ_LIB) $(shell sed -n 's,^// LDFLAGS: ,,p' $<) -o $@

fuzz-bins: $(FUZZ_BINS)

# The frame capture build: the debug shim keeping every frame it serves
# (tests/fuzz/frame_dump.c); fuzz-capture runs the integration suite with
# it and turns the frames into corpus inputs (tests/fuzz/corpus.py).
CC_dump := gcc
CFLAGS_dump := $(DBG_CFLAGS) -DNS_FRAME_DUMP
$(eval $(call flavour,dump))
$(B)/dump/$(BIN): $(OBJ_dump) tests/fuzz/frame_dump.c
	@mkdir -p $(@D)
	@echo "  LD dump $@"
	$(Q)gcc $(CFLAGS_dump) $^ -o $@

fuzz-capture: deps $(B)/dump/$(BIN)
	tests/fuzz/capture.sh $(CURDIR)/$(B)/dump/$(BIN)

fuzz-replay: deps $(FUZZ_BINS)
	@tests/fuzz/run.sh replay $(B)/fuzz/bin

fuzz: deps $(FUZZ_BINS)
	@tests/fuzz/run.sh fuzz $(B)/fuzz/bin $(FUZZ_TIME)

# --- schema ---------------------------------------------------------------
gen:
	tools/gen.sh

gen-check: deps
	tools/gen.sh --check

protocheck: deps suite-sid
	/usr/bin/python3 tools/protocheck.py
	/usr/bin/python3 tools/protocheck.py --selftest

# The module layering (README, "How it is built"): tools/layers.py checks
# itself, then src/: it fails on an include cycle, a private header used
# outside its module, a file over 1,300 lines, or a module README's table
# does not name.  It takes no time, so make test runs it first.
.PHONY: layers
layers:
	/usr/bin/python3 tools/layers.py --selftest
	/usr/bin/python3 tools/layers.py
test: layers

# --- containerd 1.7 and 2.x ------------------------------------------------
# Not installed: Debian trixie's containerd 1.7 and sid's 2.x (with the
# 2.x .proto files protocheck compares against) are fetched with a private
# apt configuration and unpacked under build/suites (tools/debsuite.sh);
# build/ caches them.  Their containerd and ctr run on Debian 12; runc
# stays the host's.
SID := $(B)/suites/sid/usr/bin
TRIXIE := $(B)/suites/trixie/usr/bin
suite-sid:
	@tools/debsuite.sh sid containerd \
	    golang-github-containerd-containerd-api-dev \
	    golang-github-containerd-cgroups-dev \
	    golang-github-containerd-ttrpc-dev >/dev/null
suite-trixie:
	@tools/debsuite.sh trixie containerd >/dev/null

# --- suites ---------------------------------------------------------------
# The suite runs twice: the static musl release binary (what users run)
# and the glibc debug build.  Both carry the allocation guard (src/alloc.c)
# and NANOSHIM_STRICT_ALLOC=1 makes any allocation after startup abort
# the shim, which fails the suite: that is the no-heap proof.
# The release pass runs 2,000 exec cycles (t_exec_cycles) and 12 rounds of
# a pod's stop race (t_group_stress); the debug pass, checking the same code
# built against glibc, 500 and 6.  test-matrix runs the long soaks: 10,000
# exec cycles, 300 pod rounds, and the race tests again under stress-ng.
integration: deps release debug
	NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=2000 SHIM=$(CURDIR)/$(B)/$(BIN) \
	    tests/integration/run.sh
	NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=500 GROUP_ROUNDS=6 FAULT_TESTS=0 \
	    SHIM=$(CURDIR)/$(B)/debug/$(BIN) tests/integration/run.sh

# Pure cgroup v2 in a VM (tests/vm/run.sh: qemu TCG, Debian 12's own 6.1
# kernel, the host's root read-only over 9p).  TCG runs the suite about
# 10x slower than the host, so make test runs the cgroupfs cell (v2) on
# the tests that depend on cgroup v2 or on what differs in the guest
# (ptys, criu, THP): about 6 minutes, boot included.  test-matrix runs the
# whole suite in every cell (v2 ~27 min, v2-systemd, v2-crun) and the
# subset on containerd 2.x in the VM.
VM_TESTS := t_cgroup2 t_oom t_metrics t_pause_resume t_update t_crun \
	t_shim_process t_tty_run t_exec_tty t_checkpoint
VM_CELLS := v2 v2-systemd v2-crun
VM_RUN := NANOSHIM_STRICT_ALLOC=1 SHIM=$(CURDIR)/$(B)/$(BIN) tests/vm/run.sh

test-vm: deps release
	$(VM_RUN) -c v2 $(VM_TESTS)

# Every VM cell on the whole suite, then containerd 2.x (sid's) in the v2
# VM on the make test subset.
matrix-vm: deps suite-sid release
	@rc=0; for c in $(VM_CELLS); do $(VM_RUN) -c $$c || rc=1; done; \
	CONTAINERD_BIN=$(CURDIR)/$(SID)/containerd CTR_BIN=$(CURDIR)/$(SID)/ctr \
	    VM_OUT=$(CURDIR)/$(B)/vm/runs/v2-ctrd2 $(VM_RUN) -c v2 $(VM_TESTS) \
	    || rc=1; exit $$rc

# The soaks: too slow for `make test` (which must stay under 30 minutes).
matrix-soak: deps release debug
	NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=10000 GROUP_ROUNDS=300 \
	    KILLALL_ROUNDS=40 TEST_TIMEOUT=1800 SHIM=$(CURDIR)/$(B)/$(BIN) \
	    tests/integration/run.sh t_exec_cycles t_group_stress \
	    t_kill_all_delete
	NANOSHIM_STRICT_ALLOC=1 GROUP_ROUNDS=100 KILLALL_ROUNDS=20 \
	    TEST_TIMEOUT=1800 SHIM=$(CURDIR)/$(B)/$(BIN) \
	    tests/integration/under_load.sh tests/integration/run.sh \
	    t_group_stress t_kill_all_delete t_concurrent t_exec_concurrent

# The arm64 and armhf builds, their unit tests under qemu-user, and the
# arm64 and armhf shims through qemu-user with the host's containerd and runc
# (tests/cross/smoke.sh).
cross: deps
	$(MAKE) ARCH=arm64 release unit
	$(MAKE) ARCH=armhf release unit

cross-smoke: deps
	$(MAKE) ARCH=arm64 release build/cross/qemu/.ok
	$(MAKE) ARCH=armhf release
	tests/cross/smoke.sh $(CURDIR)/build/arm64/$(BIN)

# The release binary through the suite on the host's containerd (1.6.20).
integration-release: deps release
	NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=2000 SHIM=$(CURDIR)/$(B)/$(BIN) \
	    tests/integration/run.sh

# containerd 2.x on the host.  CTRD2_SHIM picks the binary: make test runs
# the debug build here (its assertions on, 500 exec cycles), so that one
# pass covers 2.x and the debug checks, and the release binary runs on
# 1.6.20 (integration-release); `make integration` runs both builds on 1.6.20.
CTRD2_SHIM ?= $(CURDIR)/$(B)/debug/$(BIN)
integration-ctrd2: deps suite-sid release debug
	NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=500 GROUP_ROUNDS=6 \
	    CONTAINERD_BIN=$(SID)/containerd CTR_BIN=$(SID)/ctr FAULT_TESTS=0 \
	    SHIM=$(CTRD2_SHIM) tests/integration/run.sh

test: deps gen-check protocheck unit fuzz-replay cross cross-smoke \
	integration-release integration-ctrd2 cri test-vm

# Cells too slow for `make test`: containerd 1.7 with nanoshim and with
# the Go shim, the release binary on 2.x (make test runs the debug build
# there), and the Go shim on 2.x (the reference for the 2.x pass).
# Every cell runs, then the target fails if any did.
matrix-ctrd: deps suite-sid suite-trixie release
	@rc=0; \
	for cell in "trixie $(CURDIR)/$(B)/$(BIN)" "trixie go" \
	    "sid $(CURDIR)/$(B)/$(BIN)" "sid go"; do \
	    set -- $$cell; bin=$(B)/suites/$$1/usr/bin; \
	    shim=$$2; [ "$$shim" = go ] && shim=; \
	    echo "== containerd $$1, shim $${shim:-Go}"; \
	    NANOSHIM_STRICT_ALLOC=1 EXEC_CYCLES=500 FAULT_TESTS=0 \
	        CONTAINERD_BIN=$$bin/containerd CTR_BIN=$$bin/ctr \
	        SHIM=$$shim tests/integration/run.sh || rc=1; \
	done; exit $$rc
# Every slow cell.
test-matrix: matrix-soak matrix-ctrd matrix-vm robust-full integration-san

# --- CRI (Kubernetes): tests/cri, bench/pods.sh ----------------------------
# The pod sandbox's program (tests/cri/pause.c, static) and the CRI message
# classes (tools/cri-api.sh, from Debian's cri-api package) go into build/.
CRI_PAUSE := $(B)/cri/pause
$(CRI_PAUSE): tests/cri/pause.c
	@mkdir -p $(@D)
	@echo "  CC cri   $<"
	$(Q)musl-gcc -std=c11 $(WARN) -D_GNU_SOURCE -Os -static -s $< -o $@

cri-deps: deps $(CRI_PAUSE)
	@tools/cri-api.sh $(CURDIR)/$(B)/cri-api

# Every case runs twice: nanoshim as the handler's shim (no allocation
# after startup allowed) and the Go shim, so the cases test the right thing.
# The CRI cases on the host's containerd (1.6.20) and on 2.x, each with
# nanoshim and with the Go shim (about 1 minute a pass).
CRI_CTRD2 := CONTAINERD_BIN=$(SID)/containerd CTR_BIN=$(SID)/ctr
cri: cri-deps release suite-sid
	NANOSHIM_STRICT_ALLOC=1 SHIM=$(CURDIR)/$(B)/$(BIN) tests/cri/run.sh
	SHIM=/usr/bin/containerd-shim-runc-v2 tests/cri/run.sh
	NANOSHIM_STRICT_ALLOC=1 $(CRI_CTRD2) SHIM=$(CURDIR)/$(B)/$(BIN) \
	    tests/cri/run.sh
	$(CRI_CTRD2) SHIM=/usr/bin/containerd-shim-runc-v2 tests/cri/run.sh

bench-pods: cri-deps release
	bench/pods.sh $(CURDIR)/$(B)/$(BIN)

# The whole integration suite against the ASan + UBSan build of the shim
# (glibc; the allocation guard watches libc's malloc through ASan's hook,
# so NANOSHIM_STRICT_ALLOC=1 holds here too), with LeakSanitizer's check
# when each process exits.  Any report (SAN_LOG_DIR) fails the test that
# made it.  The invariant sampler is off: the sanitizer runtime maps
# memory of its own as it goes.
SAN_LOG_DIR ?= $(CURDIR)/$(B)/san-reports
integration-san: deps $(B)/san/$(BIN)
	@rm -rf $(SAN_LOG_DIR) && mkdir -p $(SAN_LOG_DIR)
	SAN_LOG_DIR=$(SAN_LOG_DIR) INVARIANTS=0 EXEC_CYCLES=200 \
	    ASAN_OPTIONS=log_path=$(SAN_LOG_DIR)/asan:detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=log_path=$(SAN_LOG_DIR)/ubsan:print_stacktrace=1:halt_on_error=1 \
	    NANOSHIM_STRICT_ALLOC=1 SHIM=$(CURDIR)/$(B)/san/$(BIN) \
	    tests/integration/run.sh

# Slower cells.  robust-full: the fault tests at full size against the
# release shim (100 MB through a vanished FIFO reader, a burst of 100
# exits while containerd is killed, containerd stopped for 30 s); make
# test runs them sized down (8 MB, 30 exits, 8 s).
robust-full: deps release
	FIFO_MB=100 FAULT_EXITS=100 STOP_SECS=30 NANOSHIM_STRICT_ALLOC=1 \
	    SHIM=$(CURDIR)/$(B)/$(BIN) tests/integration/run.sh 'fault_*'

demo: deps release
	tools/demo.sh $(CURDIR)/$(B)/$(BIN)

bench: deps release cri-deps
	@tools/deps.sh bench
	bench/run.sh $(CURDIR)/$(B)/$(BIN)
	bench/pods.sh $(CURDIR)/$(B)/$(BIN)

soak: deps release
	bench/soak.sh

install: release
	install -D -m 0755 $(B)/$(BIN) $(DESTDIR)$(PREFIX)/bin/$(BIN)

clean:
	rm -rf $(B)/rel $(B)/dbg $(B)/san $(B)/unit $(B)/check $(B)/debug \
	    $(B)/fuzz $(B)/dump $(B)/$(BIN)
