# SPDX-License-Identifier: GPL-2.0
#
# kspan: one `make` builds the module for KERNEL and every user-space
# program and test.
#
#   make [KERNEL=6.1|6.12|6.12-rt|debug|kcsan]   module + user space + tests
#   make check [KERNEL=...]                all checks and suites (all kernels
#                                          unless KERNEL is given)
#   make bench [KERNEL=...] [ACCEL=kvm]    benchmarks in a guest (ratios);
#        [ICOUNT=1] [ONLY=producers|kfunc] ICOUNT=1: producers again, counting
#                                          instructions; ONLY: that part alone
#   make stress [KERNEL=...]               the stress suite at full scale
#   make fuzz [KERNEL=debug] [DURATION=s] [SEED=n]  the in-guest fuzzer
#   make demo                              boot a guest, load the module
#   make dkms-install [KVER=release]       install the module's sources for
#                                          DKMS and build it (root; default:
#                                          the running kernel)
#   make dkms-uninstall                    remove it from DKMS
#   make setup                             install dependencies (root)
#   make clean

KERNEL ?= 6.1
KSPAN_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kspan
export KSPAN_CACHE

BUILD := build
MODDIR := $(BUILD)/$(KERNEL)/mod
KDIR = $(shell cat $(KSPAN_CACHE)/kernels/$(KERNEL)/build 2>/dev/null)
# The kernel's BTF, base of the module's (kfuncs need it): the image's
# vmlinux, extracted by scripts/setup; on a host, /sys/kernel/btf/vmlinux.
# The kernels built from source have none here: their own vmlinux is in
# the tree, and Kbuild encodes the module's BTF itself.
BTF_BASE ?= $(wildcard $(KSPAN_CACHE)/kernels/$(KERNEL)/vmlinux)
HARNESS_INC := $(KSPAN_CACHE)/tools/include

CC ?= cc
WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -O2 -g $(WARN) -Iuapi -Iuserspace/lib -Iuserspace/spanagent
USER_CFLAGS := -std=c11 -D_GNU_SOURCE $(BASE_CFLAGS)
# The kselftest harness needs GNU C (typeof, statement expressions); it is
# a system header so that its own unused parameters do not trip -Wextra.
TEST_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(BASE_CFLAGS) -isystem $(HARNESS_INC)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all

LIB_SRC := $(wildcard userspace/lib/*.c)
LIB_HDR := $(wildcard userspace/lib/*.h) uapi/linux/kspan.h
# libkspan, the producer library: its own files and the shared helpers it uses.
LIBKSPAN_SRC := $(wildcard userspace/lib/libkspan/*.c)
LIBKSPAN_ALL := $(LIBKSPAN_SRC) userspace/lib/kspan_client.c userspace/lib/kspan_record.c \
		userspace/lib/kspan_sring.c
LIBKSPAN_HDR := userspace/lib/libkspan.h $(wildcard userspace/lib/libkspan/*.h) $(LIB_HDR)
LIBKSPAN_VERSION := 1.0.0
AGENT_MAIN := userspace/spanagent/main.c
AGENT_SRC := $(filter-out $(AGENT_MAIN),$(wildcard userspace/spanagent/*.c))
AGENT_HDR := $(wildcard userspace/spanagent/*.h)
AGENT_LIBS := -lcurl -lz -lm -lmicrohttpd
UNIT_SRC := $(wildcard tests/unit/*.c)
GUEST_SRC := $(wildcard tests/guest/*.c)
BPF_TEST_SRC := $(wildcard tests/bpf/*.bpf.c)
BPF_TEST_OBJ := $(BPF_TEST_SRC:tests/bpf/%.c=$(BUILD)/tests/bpf/%.o)

USER_BINS := $(BUILD)/bin/kspanctl $(BUILD)/bin/spanagent $(BUILD)/bin/checkout \
	     $(BUILD)/bin/request_sim $(BUILD)/bin/spantrace
LIBKSPAN := $(BUILD)/lib/libkspan.so.$(LIBKSPAN_VERSION) $(BUILD)/lib/libkspan.a \
	    $(BUILD)/lib/pkgconfig/kspan.pc
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
GUEST_BINS := $(GUEST_SRC:tests/guest/%.c=$(BUILD)/tests/guest/%)

.PHONY: all module user tests bench bench-bin stress fuzz check demo setup clean \
	dkms-install dkms-uninstall
all: module user tests bench-bin

# Kbuild writes objects next to the sources, so each kernel gets a farm of
# symlinks to the sources and builds there.
module:
	@test -n "$(KDIR)" || { echo "kernel $(KERNEL) not prepared: run scripts/setup --kernel $(KERNEL)" >&2; exit 1; }
	@mkdir -p $(MODDIR)/tests
	@cp -rsf $(CURDIR)/Kbuild $(CURDIR)/kmod $(CURDIR)/uapi $(MODDIR)/
	@cp -rsf $(CURDIR)/tests/kmod $(MODDIR)/tests/
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(MODDIR) W=1 KSPAN_TESTS=m modules
	@scripts/module-btf $(MODDIR)/kspan.ko $(BTF_BASE)

user: $(LIBKSPAN) $(USER_BINS)

# libkspan: a shared library exporting only its API, a static one, and a
# pkg-config file. Both are built from position-independent objects.
LIBKSPAN_OBJ := $(LIBKSPAN_ALL:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/%.o: %.c $(LIBKSPAN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -fPIC -fvisibility=hidden -pthread -c -o $@ $<

$(BUILD)/lib/libkspan.so.$(LIBKSPAN_VERSION): $(LIBKSPAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -pthread -Wl,-soname,libkspan.so.1 -Wl,--no-undefined -o $@ $^
	ln -sf libkspan.so.$(LIBKSPAN_VERSION) $(BUILD)/lib/libkspan.so.1
	ln -sf libkspan.so.1 $(BUILD)/lib/libkspan.so

$(BUILD)/lib/libkspan.a: $(LIBKSPAN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/lib/pkgconfig/kspan.pc: userspace/lib/kspan.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(or $(PREFIX),/usr/local)|' -e 's|@VERSION@|$(LIBKSPAN_VERSION)|' $< > $@

# The public header compiles alone as strict C99 and as C++.
$(BUILD)/obj/libkspan-header.ok: userspace/lib/libkspan.h
	@mkdir -p $(dir $@)
	echo '#include "libkspan.h"' | $(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iuserspace/lib -x c -fsyntax-only -
	echo '#include "libkspan.h"' | $(CXX) -std=c++11 -pedantic -Wall -Wextra -Werror -Iuserspace/lib -x c++ -fsyntax-only -
	touch $@

$(BUILD)/bin/request_sim: userspace/examples/request_sim.c $(BUILD)/lib/libkspan.so.$(LIBKSPAN_VERSION) $(BUILD)/obj/libkspan-header.ok
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $< -L$(BUILD)/lib -lkspan -Wl,-rpath,'$$ORIGIN/../lib'

# spantrace: BPF C compiled once against a kernel's BTF and relocated by
# libbpf to the running kernel's (CO-RE); vmlinux.h and the skeleton are
# generated, never committed. The syscall names come from this
# architecture's <asm/unistd.h>.
# Any stock image's BTF will do (6.1 first: the oldest); else the host's.
VMLINUX_BTF ?= $(firstword $(wildcard $(KSPAN_CACHE)/kernels/6.1/vmlinux \
		$(KSPAN_CACHE)/kernels/*/vmlinux) /sys/kernel/btf/vmlinux)
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	bpftool btf dump file $(VMLINUX_BTF) format c > $@.tmp
	mv $@.tmp $@

# Names only: the compiler resolves each __NR_ (aliases such as
# __NR3264_fcntl on asm-generic architectures included).
$(BUILD)/bpf/syscall_names.h:
	@mkdir -p $(dir $@)
	{ echo '/* generated from <asm/unistd.h> */'; \
	  echo '#include <asm/unistd.h>'; \
	  echo 'static const char *const syscall_names[] = {'; \
	  echo '#include <asm/unistd.h>' | $(CC) -dM -E -x c - | \
	    sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' | \
	    grep -v -x -e syscalls -e arch_specific_syscall -e 'syscall_max' | sort -u | \
	    sed 's/.*/\t[__NR_&] = "&",/'; \
	  echo '};'; } > $@.tmp
	mv $@.tmp $@

$(BUILD)/bpf/spantrace.bpf.o: userspace/bpf/spantrace.bpf.c userspace/bpf/spantrace.h \
		uapi/linux/kspan.h $(BUILD)/bpf/vmlinux.h
	clang -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -O2 -g -Wall -Werror \
		-I$(BUILD)/bpf -Iuapi -Iuserspace/bpf -I/usr/include/$(shell gcc -dumpmachine) -c -o $@ $<

$(BUILD)/bpf/spantrace.skel.h: $(BUILD)/bpf/spantrace.bpf.o
	bpftool gen skeleton $< name spantrace_bpf > $@.tmp
	mv $@.tmp $@

$(BUILD)/bin/spantrace: userspace/bpf/spantrace.c userspace/bpf/spantrace.h \
		$(BUILD)/bpf/spantrace.skel.h $(BUILD)/bpf/syscall_names.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -I$(BUILD)/bpf -Iuserspace/bpf -o $@ $< -lbpf

# The in-guest fuzzer: make fuzz [KERNEL=debug] [DURATION=600] [SEED=n].
$(BUILD)/tests/fuzz/kspan_fuzz: tests/fuzz/kspan_fuzz.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $< $(LIB_SRC)

fuzz: module $(BUILD)/tests/fuzz/kspan_fuzz
	scripts/fuzz --kernel $(KERNEL) --duration $(or $(DURATION),600) $(if $(SEED),--seed $(SEED))

# The stress suite at full scale: 2*10^6 records, 10^6 wake-up cycles.
stress: module tests
	@mkdir -p $(BUILD)/stress-$(KERNEL)
	scripts/vm-run --kernel $(KERNEL) --quiet --timeout 5400 --scratch $(BUILD)/stress-$(KERNEL) -- \
		tests/guest/run $(CURDIR)/$(BUILD)/stress-$(KERNEL)/tap $(CURDIR)/$(BUILD)/tests/guest/ring_stress

# make bench runs the benchmarks in a guest; bench-bin only builds them.
bench:
	scripts/bench --kernel $(KERNEL) $(if $(ACCEL),--accel $(ACCEL)) \
		$(if $(ICOUNT),--icount) $(if $(ONLY),--only $(ONLY))

bench-bin: $(BUILD)/bench/kspan_bench $(BUILD)/bench/encode_bench $(BUILD)/bench/agent_bench \
	   $(BUILD)/bench/producer_bench $(BUILD)/bench/kfunc_bench $(BUILD)/bench/kfunc_bench.bpf.o

# A span through the kfunc against bpf_ringbuf_output of the same bytes.
$(BUILD)/bench/kfunc_bench.bpf.o: tests/bench/kfunc_bench.bpf.c
	@mkdir -p $(dir $@)
	clang -target bpf -O2 -g -Wall -Werror -Iuapi -I/usr/include/$(shell gcc -dumpmachine) -c -o $@ $<

$(BUILD)/bench/kfunc_bench: tests/bench/kfunc_bench.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $< $(LIB_SRC) -lbpf

# libkspan as an application links it (the static archive), against an
# LTTng-UST tracepoint provider linked into the same program.
$(BUILD)/bench/producer_bench: tests/bench/producer_bench.c tests/bench/lttng_tp.c \
		tests/bench/lttng_tp.h userspace/lib/kspan_consumer.c $(BUILD)/lib/libkspan.a $(LIBKSPAN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Itests/bench -pthread -o $@ tests/bench/producer_bench.c \
		tests/bench/lttng_tp.c userspace/lib/kspan_consumer.c $(BUILD)/lib/libkspan.a \
		-llttng-ust -ldl

$(BUILD)/bench/agent_bench: tests/bench/agent_bench.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $< $(LIB_SRC) -lmicrohttpd

$(BUILD)/bench/encode_bench: tests/bench/encode_bench.c $(AGENT_SRC) $(AGENT_HDR) $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $< $(AGENT_SRC) $(LIB_SRC) $(AGENT_LIBS)

$(BUILD)/bench/kspan_bench: tests/bench/kspan_bench.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -pthread -o $@ $< $(LIB_SRC)
tests: $(UNIT_BINS) $(GUEST_BINS) $(BPF_TEST_OBJ) $(BUILD)/tests/fuzz/kspan_fuzz

# BPF programs of the guest suites: plain BPF C, with BTF for libbpf.
$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c
	@mkdir -p $(dir $@)
	clang -target bpf -O2 -g -Wall -Werror -Iuapi -I/usr/include/$(shell gcc -dumpmachine) -c -o $@ $<

$(BUILD)/bin/kspanctl: userspace/kspanctl/kspanctl.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $< $(LIB_SRC)

$(BUILD)/bin/spanagent: $(AGENT_MAIN) $(AGENT_SRC) $(AGENT_HDR) $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $(AGENT_MAIN) $(AGENT_SRC) $(LIB_SRC) $(AGENT_LIBS)

$(BUILD)/bin/checkout: userspace/examples/checkout.c $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $< $(LIB_SRC)

# Host unit tests run under ASan and UBSan.
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_SRC) $(LIB_HDR) $(AGENT_SRC) $(AGENT_HDR) $(LIBKSPAN_SRC) $(LIBKSPAN_HDR) | harness
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) -pthread -o $@ $< $(LIB_SRC) $(AGENT_SRC) $(LIBKSPAN_SRC) $(AGENT_LIBS)

$(BUILD)/tests/guest/%: tests/guest/%.c $(wildcard tests/guest/*.h) $(LIB_SRC) $(LIB_HDR) $(LIBKSPAN_SRC) $(LIBKSPAN_HDR) | harness
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -pthread -o $@ $< $(LIB_SRC) $(LIBKSPAN_SRC) $(if $(filter bpf_%,$*),-lbpf)

.PHONY: harness
harness:
	@test -r $(HARNESS_INC)/kselftest_harness.h || { echo "kselftest harness missing: run scripts/setup" >&2; exit 1; }

check:
	scripts/check $(if $(filter command line,$(origin KERNEL)),--kernel $(KERNEL))

demo:
	scripts/demo

dkms-install:
	scripts/dkms-install $(if $(KVER),--kernel $(KVER))

dkms-uninstall:
	scripts/dkms-install --uninstall

setup:
	scripts/setup

clean:
	rm -rf $(BUILD)
