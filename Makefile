# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# mdr: XDP/AF_XDP instance-metadata responder.
#   make            build everything into $(BUILD)
#   make check      install missing deps, build, run every test suite
#                   (SAN=1: everything built with ASan+UBSan in build-san)
#   make check-san-unit  sanitized unit, bpf and fuzz suites only (quick)
#   make bench      benchmark report (not a test)
#   make soak       SOAK_MINUTES (60) of mixed traffic, fails on growth; plot in docs/
#   make demo       compute node + 3 guests in namespaces, left running
#                   (VM=1: 3 real QEMU VMs instead of guest namespaces)
#   make demo-down  tear the demo down
#   make install    install binaries, BPF object and docs under $(PREFIX)
#   make deb        Debian package in $(BUILD)/deb (debhelper)
# Quiet unless V=1.

# SAN=1 builds every program, test and tool with AddressSanitizer and
# UndefinedBehaviorSanitizer, into its own directory by default so it never
# mixes with a normal build (BPF objects are unchanged).
ifeq ($(SAN),1)
BUILD   ?= build-san
else
BUILD   ?= build
endif
PREFIX  ?= /usr/local
# systemd units (dist/systemd); /usr/local/lib/systemd/system is on
# systemd's search path, as /lib/systemd/system is for PREFIX=/usr.
UNITDIR ?= $(PREFIX)/lib/systemd/system
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

WARN    := -Wall -Wextra -Wshadow -Werror
CSTD    := -std=gnu11
LIBS_PC := libbpf libxdp jansson libmnl libcrypto libisofs-1
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS   := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null) -lelf -lz
CFLAGS  ?= -O2 -g
override CFLAGS += $(CSTD) $(WARN) -D_GNU_SOURCE -Imaps -Iuser/core -Iuser/io -I$(BUILD) $(PC_CFLAGS)
# Pure cores see only their own folder and the ABI: an #include of an I/O
# header from user/core/ fails to compile (the "core never includes io" rule).
CORE_CFLAGS = $(filter-out -Iuser/io,$(CFLAGS))
# -fno-sanitize-recover: undefined behaviour aborts, so a test fails on it.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifeq ($(SAN),1)
override CFLAGS  += $(SAN_FLAGS)
endif
LDLIBS  := $(PC_LIBS) -lpthread
BPF_CFLAGS := -g -O2 -target bpf $(WARN) -Imaps -Ibpf -D__TARGET_ARCH_x86 \
	-I/usr/include/$(shell uname -m)-linux-gnu

# ---- BPF objects and skeletons --------------------------------------------
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h) maps/mdr_abi.h

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- the library: pure cores (user/core) and I/O helpers (user/io) --------
CORE_SRCS := $(wildcard user/core/*.c)
IO_SRCS   := $(wildcard user/io/*.c)
LIB_SRCS  := $(CORE_SRCS) $(IO_SRCS)
CORE_OBJS := $(patsubst user/core/%.c,$(BUILD)/core/%.o,$(CORE_SRCS))
IO_OBJS   := $(patsubst user/io/%.c,$(BUILD)/io/%.o,$(IO_SRCS))
LIB_HDRS  := $(wildcard user/core/*.h user/io/*.h) maps/mdr_abi.h
LIBMDR    := $(BUILD)/libmdr.a

$(BUILD)/core/%.o: user/core/%.c $(LIB_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CORE_CFLAGS) -c $< -o $@

$(BUILD)/io/%.o: user/io/%.c $(LIB_HDRS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIBMDR): $(CORE_OBJS) $(IO_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- programs: user/<dir>/*.c -> $(BUILD)/<program> -------------------------
PROGS := mdrd mdr-responder mdrctl
mdrd_SRCS          := $(wildcard user/mdrd/*.c)
mdr-responder_SRCS := $(wildcard user/responder/*.c)
mdrctl_SRCS        := $(wildcard user/mdrctl/*.c)
# Libraries only one program needs (pkg-config names).
mdrd_PC            := libmicrohttpd libsystemd libnftables
mdrctl_PC          := libnftables
mdr-responder_PC   := libmicrohttpd libsystemd

define PROG_RULES
$(1)_OBJS := $$(patsubst user/%.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(BUILD)/$(1): $$($(1)_OBJS) $(LIBMDR)
	$$(call msg,LD,$$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $$^ -o $$@ $(LDLIBS) $$(if $$($(1)_PC),$$(shell $(PKG_CONFIG) --libs $$($(1)_PC)))
endef
$(foreach p,$(PROGS),$(eval $(call PROG_RULES,$(p))))

$(BUILD)/obj/%.o: user/%.c $(LIB_HDRS) $(wildcard user/*/*.h) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Iuser -c $< -o $@

# ---- tools: tools/<name>.c -> $(BUILD)/tools/<name> -------------------------
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
$(BUILD)/tools/%: tools/%.c $(LIBMDR) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LIBMDR) -o $@ $(LDLIBS)

# ---- tests ----------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf_%,$(BPFT_SRCS))
TEST_HDRS := $(wildcard tests/unit/*.h tests/bpf/*.h)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBMDR) $(TEST_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIBMDR) -o $@ $(LDLIBS) -lcmocka

# test_cache compiles the responder's cache.c in.
$(BUILD)/tests/test_cache: user/responder/cache.c user/responder/cache.h

$(BUILD)/tests/bpf_%: tests/bpf/%.c $(LIBMDR) $(SKELS) $(BPF_OBJS) $(TEST_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $< $(LIBMDR) -o $@ $(LDLIBS) -lcmocka

# ---- fault injectors (LD_PRELOAD shims used by the e2e fault suite) --------
FAULT_SRCS := $(wildcard tests/fault/*.c)
FAULT_LIBS := $(patsubst tests/fault/%.c,$(BUILD)/tests/fault_%.so,$(FAULT_SRCS))
$(BUILD)/tests/fault_%.so: tests/fault/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out $(SAN_FLAGS),$(CFLAGS)) -shared -fPIC $< -o $@ -ldl

# ---- fuzzers (libFuzzer; built by `make fuzz`, run briefly by the suite) ---
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_SRCS := $(CORE_SRCS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(LIB_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CSTD) $(WARN) -D_GNU_SOURCE -Imaps -Iuser/core -I$(BUILD) $(PC_CFLAGS) \
		-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$< $(FUZZ_LIB_SRCS) -o $@ $(LDLIBS)

# ---- top-level targets ------------------------------------------------------
ALL := $(BPF_OBJS) $(SKELS) $(LIBMDR) $(addprefix $(BUILD)/,$(PROGS)) $(TOOL_BINS) \
	$(UNIT_BINS) $(BPFT_BINS) $(FAULT_LIBS)

all: $(ALL)

# `make fuzz` builds the targets; with FUZZ_SECONDS=N it also runs each for
# N seconds from its corpus (FUZZ_GROW=1 merges inputs that add coverage back
# into tests/fuzz/corpus/, minimised by libFuzzer's -merge=1).
fuzz: $(FUZZ_BINS)
	$(Q)$(if $(FUZZ_SECONDS),FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_GROW=$(FUZZ_GROW) \
		BUILD=$(BUILD) sh tests/run.sh 'fuzz_*',:)

deps:
	$(Q)sh tools/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all fuzz FUZZ_SECONDS=
	$(Q)BUILD=$(BUILD) sh tests/run.sh

# The sanitized unit, BPF and fuzz suites (no e2e): quick enough for every
# change. Builds into build-san whatever BUILD the caller uses.
SAN_BUILD ?= build-san
check-san-unit: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 BUILD=$(SAN_BUILD) all fuzz FUZZ_SECONDS=
	$(Q)BUILD=$(SAN_BUILD) sh tests/run.sh 'unit_*' && \
		BUILD=$(SAN_BUILD) sh tests/run.sh 'bpf_*' && \
		BUILD=$(SAN_BUILD) sh tests/run.sh 'fuzz_*'

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh tools/bench.sh

# Soak: mixed traffic for SOAK_MINUTES, sampled and judged (tests/e2e/e2e_soak.sh;
# make check runs a 2-minute one). CSV and summary in $(BUILD)/soak, plot in docs/.
SOAK_MINUTES ?= 60
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) SOAK_MINUTES=$(SOAK_MINUTES) SOAK_OUT=$(BUILD)/soak \
		SOAK_PLOT=$(CURDIR)/docs/soak.png sh tests/e2e/e2e_soak.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) VM=$(VM) sh tools/demo.sh up

demo-down:
	$(Q)BUILD=$(BUILD) sh tools/demo.sh down

install: all install-files

# What `make install` copies; the Debian package (make deb) uses it alone.
install-files: $(addprefix $(BUILD)/,$(PROGS)) $(BUILD)/bpf/mdr_xdp.bpf.o
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/mdr $(DESTDIR)$(PREFIX)/share/doc/mdr
	install -m 0755 $(addprefix $(BUILD)/,$(PROGS)) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(BUILD)/bpf/mdr_xdp.bpf.o $(DESTDIR)$(PREFIX)/lib/mdr/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/mdr/
	install -m 0644 maps/README.md $(DESTDIR)$(PREFIX)/share/doc/mdr/maps.md
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/doc/mdr/examples
	for u in dist/systemd/*.service.in; do \
		sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' -e 's|@DOCDIR@|$(PREFIX)/share/doc/mdr|g' $$u \
			>$(DESTDIR)$(UNITDIR)/$$(basename $$u .in) && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u .in) || exit 1; \
	done
	install -m 0644 dist/default/mdrd dist/default/mdr-responder $(DESTDIR)$(PREFIX)/share/doc/mdr/examples/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/mdrd.8 man/mdr-responder.8 man/mdrctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# Debian package (debhelper) of the committed and untracked-but-not-ignored
# files, built in $(BUILD)/deb from a copy (the tree stays clean):
# $(BUILD)/deb/mdr_<version>_amd64.deb. dist/debian becomes debian/.
DEB_DIR := $(BUILD)/deb
deb:
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)git ls-files -z -co --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/src
	$(Q)cp -r dist/debian $(DEB_DIR)/src/debian
	$(Q)cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	$(Q)ls $(DEB_DIR)/*.deb

clean:
	$(Q)rm -rf $(BUILD)

.PHONY: all check check-san-unit soak bench demo demo-down install install-files deb clean deps fuzz
