# bpfilter top-level Makefile.
#   make            build everything into build/
#   make deps       install the Debian packages (root; idempotent)
#   make run        start the daemon
#   make check      build and run every test (SANITIZE=1: ASan + UBSan)
#   make bench      benchmarks (not part of check)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
# Where `make install` puts bpfilter.service.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
BUILD ?= build
CC ?= gcc
SANITIZE ?= 0

PKGS := libbpf libelf zlib libmnl
CFLAGS_BASE := -std=gnu17 -O2 -g -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -fPIC -D_GNU_SOURCE -Iinclude -I.
ifeq ($(SANITIZE),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS_SAN := -fsanitize=address,undefined
BUILD := build-san
endif
CFLAGS := $(CFLAGS_BASE) $(CFLAGS_EXTRA)
LIBS_BPF = $(shell pkg-config --libs libbpf libelf zlib 2>/dev/null || echo -lbpf -lelf -lz)
LIBS_CMOCKA = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

LIB_SRCS := $(wildcard lib/*.c)
CODEGEN_SRCS := $(wildcard codegen/*.c)
UNIT_SRCS := $(wildcard selftests/unit/test_*.c)
E2E_SRCS := $(wildcard selftests/e2e/test_*.c)
E2E_COMMON := $(wildcard selftests/e2e/common/*.c)
TOOL_SRCS := $(wildcard selftests/tools/*.c)
# bf_chaintool is several files: one binary from selftests/tools/chaintool/.
CHAINTOOL_SRCS := $(wildcard selftests/tools/chaintool/*.c)
BENCH_SRCS := $(wildcard selftests/bench/*.c)
DAEMON_SRCS := $(wildcard daemon/*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# nfnl/ for the unit tests (nfnl/preload/ is not matched: no recursion).
# transport.c needs the daemon, so it stays out; an archive, so a test
# links only the members it uses.
NFNL_UNIT_SRCS := $(filter-out nfnl/transport.c,$(wildcard nfnl/*.c))
NFNL_UNIT_OBJS := $(NFNL_UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
NFNL_UNIT_LIB := $(BUILD)/libbfnfnl-unit.a
LIBS_MNL = $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl)
CODEGEN_OBJS := $(CODEGEN_SRCS:%.c=$(BUILD)/obj/%.o)
E2E_COMMON_OBJS := $(E2E_COMMON:%.c=$(BUILD)/obj/%.o)
# The packet builder alone (no cmocka), for tools and benchmarks.
PACKETS_OBJ := $(BUILD)/obj/selftests/e2e/common/packets.o
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
# The netlink transport (nfnl/transport.c) is part of the daemon.
DAEMON_OBJS += $(BUILD)/obj/nfnl/transport.o
# The nftables front-end (nfnl/nft_*.c), its expression lowering and codegen.
DAEMON_OBJS += $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard nfnl/nft_*.c) \
	$(wildcard nfnl/expr*.c) nfnl/nlattr.c) $(CODEGEN_OBJS)
$(BUILD)/bpfilter: LIBS_BPF += $(LIBS_MNL)
UNIT_BINS := $(UNIT_SRCS:selftests/unit/%.c=$(BUILD)/tests/unit/%)
E2E_BINS := $(E2E_SRCS:selftests/e2e/%.c=$(BUILD)/tests/e2e/%)
TOOL_BINS := $(TOOL_SRCS:selftests/tools/%.c=$(BUILD)/tools/%) \
	$(BUILD)/tools/bf_chaintool
BENCH_BIN := $(BUILD)/bench
DAEMON_BIN := $(BUILD)/bpfilter

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps run check check-unit check-e2e check-shell bench fuzz diff-test install clean

all: $(BUILD)/libbpfilter.so $(BUILD)/libbfcodegen.a $(UNIT_BINS) $(E2E_BINS) \
	$(TOOL_BINS) $(BENCH_BIN) $(DAEMON_BIN)

# Packages: installed by scripts/deps.sh, checked again whenever it changes.
deps:
	@scripts/deps.sh

$(DEPS_STAMP): scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libbpfilter.so: $(LIB_OBJS)
	$(CC) -shared $(LDFLAGS_SAN) -Wl,--version-script=lib/libbpfilter.map \
		-Wl,-soname,libbpfilter.so -o $@ $^

$(BUILD)/libbfcodegen.a: $(CODEGEN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(NFNL_UNIT_LIB): $(NFNL_UNIT_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Builds NEWRULE messages with libnftnl, as nft does.
$(BUILD)/tests/unit/test_nft_expr%: LIBS_UNIT_EXTRA = -lnftnl

# The nft expression tests share their helpers; the corpus (rules and the
# kernel's dumps of them) is two objects, linked where it is used.
NFT_EXPR_UNIT_BINS := $(filter $(BUILD)/tests/unit/test_nft_expr_%,$(UNIT_BINS))
NFT_EXPR_CORPUS_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,\
	$(wildcard selftests/unit/nft_expr_corpus_*.c))
$(NFT_EXPR_UNIT_BINS): selftests/unit/nft_expr_helpers.h
$(BUILD)/tests/unit/test_nft_expr_corpus: $(NFT_EXPR_CORPUS_OBJS)

# The validation tests share their table builders.
$(BUILD)/tests/unit/test_validate_chain $(BUILD)/tests/unit/test_validate_expr: \
	selftests/unit/validate_helpers.h

# Tests link the objects directly, so they can reach internals.
$(BUILD)/tests/unit/%: selftests/unit/%.c $(LIB_OBJS) $(CODEGEN_OBJS) $(NFNL_UNIT_LIB) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS_SAN) -o $@ $(filter-out %.h,$^) $(LIBS_UNIT_EXTRA) $(LIBS_CMOCKA) $(LIBS_BPF) $(LIBS_MNL)

# The ruleset core and what it needs of the daemon, driven as a front-end.
$(BUILD)/tests/e2e/test_ruleset: $(BUILD)/obj/daemon/ruleset.o \
	$(BUILD)/obj/daemon/ruleset_pin.o \
	$(BUILD)/obj/daemon/netns.o $(BUILD)/obj/daemon/front.o

$(BUILD)/tests/e2e/%: selftests/e2e/%.c $(E2E_COMMON_OBJS) $(LIB_OBJS) $(CODEGEN_OBJS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iselftests/e2e $(LDFLAGS_SAN) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_BPF)

$(BUILD)/tools/%: selftests/tools/%.c $(PACKETS_OBJ) $(LIB_OBJS) $(CODEGEN_OBJS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iselftests/e2e $(LDFLAGS_SAN) -o $@ $^ $(LIBS_BPF)

$(BUILD)/tools/bf_chaintool: $(CHAINTOOL_SRCS) $(wildcard selftests/tools/chaintool/*.h) \
	$(LIB_OBJS) $(CODEGEN_OBJS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS_SAN) -o $@ $(filter-out %.h,$^) $(LIBS_BPF)

# Test client of the daemon socket (selftests/shell/daemon.sh): the wire
# protocol header only, nothing of the daemon.
$(BUILD)/tools/bf_daemon_client: selftests/tools/bf_daemon_client.c include/bpfilter/proto.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS_SAN) -o $@ $<

$(DAEMON_BIN): $(DAEMON_OBJS) $(LIB_OBJS) | $(DEPS_STAMP)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(LIBS_BPF)

$(BENCH_BIN): $(BENCH_SRCS) $(wildcard selftests/bench/*.h) $(PACKETS_OBJ) \
	$(LIB_OBJS) $(CODEGEN_OBJS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iselftests/e2e $(LDFLAGS_SAN) -o $@ $(filter-out %.h,$^) $(LIBS_BPF)

# The LD_PRELOAD interposer and its wrapper command (Documentation/interposer.md).
# Built without sanitizers: an ASan runtime must come first in LD_PRELOAD.
PRELOAD_SRCS := $(wildcard nfnl/preload/*.c)
PRELOAD_LIB := $(BUILD)/libbpfilter-preload.so
BFEXEC_BIN := $(BUILD)/bfexec
PRELOAD_CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS)) -fvisibility=hidden -pthread

all: $(PRELOAD_LIB) $(BFEXEC_BIN)

$(PRELOAD_LIB): $(PRELOAD_SRCS) $(wildcard nfnl/preload/*.h) include/bpfilter/proto.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(PRELOAD_CFLAGS) -shared -Wl,-soname,libbpfilter-preload.so \
		-o $@ $(PRELOAD_SRCS) -ldl -pthread

$(BFEXEC_BIN): nfnl/bfexec.c include/bpfilter/proto.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS_SAN) -o $@ $<

# libFuzzer targets (clang), one per parser of untrusted bytes. `make check`
# runs each for FUZZ_CHECK_SECONDS; `make fuzz` for FUZZ_SECONDS, keeping
# the corpus it grows in $(BUILD)/fuzz/corpus/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 20
FUZZ_SRCS := $(wildcard selftests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:selftests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_DEPS_SRCS := $(wildcard nfnl/expr*.c) nfnl/nlattr.c $(LIB_SRCS)
# Extra sources per target: the nftables front-end and its transport, the
# daemon's connections, front-end registry, netns contexts and ruleset core
# (run in dry-run mode: generate, never load or attach). Nothing stubbed.
FUZZ_EXTRA_fuzz_nft_msg := $(wildcard nfnl/nft_*.c) nfnl/transport.c \
	daemon/client.c daemon/request.c daemon/front.c daemon/netns.c \
	daemon/ruleset.c daemon/ruleset_pin.c daemon/persist.c $(CODEGEN_SRCS)
FUZZ_LIBS_fuzz_nft_msg = $(LIBS_BPF)
# The persisted state: the file and the nft section (daemon/persist.c,
# nfnl/nft_persist.c), with what they reach.
FUZZ_EXTRA_fuzz_state := $(FUZZ_EXTRA_fuzz_nft_msg)
FUZZ_LIBS_fuzz_state = $(LIBS_BPF)

$(BUILD)/fuzz/%: selftests/fuzz/%.c $(FUZZ_DEPS_SRCS) $(wildcard nfnl/*.c nfnl/*.h daemon/*.c daemon/*.h codegen/*.c codegen/*.h) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu17 -g -O1 -D_GNU_SOURCE -Iinclude -I. \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $< $(FUZZ_DEPS_SRCS) $(FUZZ_EXTRA_$*) $(LIBS_MNL) $(FUZZ_LIBS_$*)

fuzz: $(FUZZ_BINS)
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Differential test against kernel nf_tables (selftests/diff), alone; make
# check runs it too.
diff-test: all
	@BUILD=$(BUILD) selftests/diff/nft_diff.sh

# The daemon, in the foreground with its default paths (root).
# The daemon pins under /sys/fs/bpf/bpfilter: mount the bpffs first where
# nothing did (systemd mounts it at boot), as the daemon refuses a
# --bpffs-path that is not one.
BPFFS_DEFAULT := /sys/fs/bpf
run: $(DAEMON_BIN) $(PRELOAD_LIB) $(BFEXEC_BIN)
	@[ "$$(stat -f -c %T $(BPFFS_DEFAULT) 2>/dev/null)" = bpf_fs ] || \
		{ echo "mounting a bpffs on $(BPFFS_DEFAULT)"; \
		  mount -t bpf bpf $(BPFFS_DEFAULT); }
	$(DAEMON_BIN)

check: all $(FUZZ_BINS)
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) scripts/run-tests.sh

check-unit: all
	@BUILD=$(BUILD) scripts/run-tests.sh unit

check-e2e: all
	@BUILD=$(BUILD) scripts/run-tests.sh e2e

check-shell: all
	@BUILD=$(BUILD) scripts/run-tests.sh shell

bench: all
	@BUILD=$(BUILD) scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/bpfilter \
		$(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 $(BUILD)/libbpfilter.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/bpfilter/*.h $(DESTDIR)$(PREFIX)/include/bpfilter/
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(DAEMON_BIN) $(DESTDIR)$(PREFIX)/sbin/bpfilter
	install -m 0644 $(PRELOAD_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(BFEXEC_BIN) $(DESTDIR)$(PREFIX)/bin/bfexec
	install -m 0644 Documentation/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 Documentation/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' daemon/systemd/bpfilter.service.in \
		>$(DESTDIR)$(SYSTEMD_UNIT_DIR)/bpfilter.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/bpfilter.service

clean:
	rm -rf build build-san

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/obj/*/*/*/*.d)
