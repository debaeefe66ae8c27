# The AIS executive and its C libraries.
#
#   make                  release build: target/release/{aisexec,ais-keygen,ais-cfgtool}
#                         and the C libraries in target/release/lib
#   make check            every test (what CI runs)
#   make demo             a single-node executive, then checkpoint failover on three,
#                         then AMF failover of a checkpointed counter on three (root)
#   make bench            request/answer loop benchmarks on 1 and 3 nodes (root;
#                         CLASSIC_SRC=<openais 0.80.6 tree> to compare, BENCH_ARGS=...),
#                         then make bench-ipc-floor and make bench-amf
#   make bench-ipc-floor  what one local request/answer pair costs by wait mechanism
#                         (Unix socket, SysV semaphores, eventfd + futex), quiet
#                         and beside two busy loops
#   make bench-amf        AMF failover, restart, healthcheck jitter and idle CPU on
#                         3 nodes (root; AMF_BENCH_REPS=5)
#   make scale N=64       live scale test: N executives in network namespaces, formation,
#                         stability, throughput, failover and rejoin (root; minutes;
#                         SCALE_ARGS=... as scripts/scale-test.sh takes)
#   make install          install (PREFIX, DESTDIR, ... below)
#   make uninstall        remove exactly what install put there
#   make clean
#
# Install directories (defaults in scripts/install.sh, which both this file
# and `cmake --install` use):
#   PREFIX=/usr/local  LIBDIR=$(PREFIX)/lib  INCLUDEDIR=$(PREFIX)/include
#   SBINDIR=$(PREFIX)/sbin  MANDIR=$(PREFIX)/share/man
#   SYSCONFDIR=/etc when PREFIX=/usr, else $(PREFIX)/etc
#   SYSTEMDUNITDIR=$(PREFIX)/lib/systemd/system  DESTDIR=(none)
# PROFILE=debug installs the debug build instead (the tests do, to skip a
# second full build). Install never builds (run `make` first, then `sudo
# make install`); STRIP=1 strips the installed programs and libraries.

CARGO ?= cargo
PROFILE ?= release
PREFIX ?= /usr/local
export PREFIX LIBDIR INCLUDEDIR SBINDIR SYSCONFDIR MANDIR SYSTEMDUNITDIR DESTDIR STRIP

PROFILE_FLAG_release := --release
PROFILE_FLAG_debug :=

.PHONY: all build-release build-debug check install uninstall demo bench bench-ipc-floor bench-amf scale clean

all: build-release

build-release build-debug: build-%:
	$(CARGO) build $(PROFILE_FLAG_$*) --workspace
	scripts/link-libs.sh target/$* target/$*/lib

# Stops at the first failing step. The C and packaging tests use the debug
# build; only the Totem simulator check builds in release mode. The C tests
# of each service run against live executives: one node, then three on
# 127.0.0.1-3 (and the Rust tests start clusters in network namespaces).
check:
	@echo "==> [0/16] cargo fmt --check and cargo clippy -D warnings"
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@echo "==> [1/16] build (debug profile) and link the C libraries"
	$(MAKE) --no-print-directory build-debug
	@echo "==> [2/16] cargo test --workspace (unit, executive, multi-node)"
	$(CARGO) test --workspace
	@echo "==> [3/16] generated headers are up to date"
	scripts/gen-headers.sh --check
	@echo "==> [4/16] sonames, version nodes and exported symbols"
	scripts/check-symbols.sh target/debug/lib
	@echo "==> [5/16] C ABI tests"
	c-tests/run-abi.sh
	@echo "==> [6/16] CLM: C tests on one node, then three"
	c-tests/clm/run.sh target
	@echo "==> [7/16] EVS and CPG: C tests on one node, then three"
	c-tests/groups/run.sh debug target
	c-tests/groups/cluster.sh target
	@echo "==> [8/16] CKPT: C tests on one node, three nodes, failover"
	c-tests/ckpt/run.sh target
	@echo "==> [9/16] EVT: C tests on one node, then three"
	c-tests/evt/run.sh target
	@echo "==> [10/16] LCK: C tests on one node, then three"
	c-tests/lck/run.sh target
	@echo "==> [11/16] MSG: C tests on one node, then three"
	c-tests/msg/run.sh target
	@echo "==> [12/16] AMF: C API test, two-node failover (own host name per node)"
	c-tests/amf/run.sh target
	@echo "==> [13/16] classic programs: openais 0.80 usage (timeouts of 0, ...)"
	c-tests/classic/run.sh target
	@echo "==> [14/16] pkg-config: build a C program against a staged install"
	c-tests/pkgconfig/run.sh
	@echo "==> [15/16] CMake: find_package(Ais) against a staged install"
	c-tests/cmake/run.sh
	@echo "==> [16/16] Totem simulator"
	scripts/check-totem.sh
	@echo "==> make check: all steps passed"

install:
	scripts/install.sh install target/$(PROFILE) target/$(PROFILE)/lib

uninstall:
	scripts/install.sh uninstall

demo: build-release
	scripts/demo.sh target/release
	c-tests/ckpt/demo.sh target/release
	timeout -k 10 120 c-tests/amf/demo.sh target/release

# Timings, not tests: never part of `make check`.
bench:
	scripts/bench-loops.sh $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-ipc-floor
	$(MAKE) --no-print-directory bench-amf

# The cost of one local request/answer pair by wait mechanism, quiet and
# beside two busy loops (c-tests/bench/ipc_floor.c).
bench-ipc-floor:
	mkdir -p target/bench
	$(CC) -O2 -std=gnu99 -Wall -Wextra -Werror -o target/bench/ipc_floor c-tests/bench/ipc_floor.c
	timeout -k 10 120 target/bench/ipc_floor --rounds 3 --seconds 3
	timeout -k 10 120 target/bench/ipc_floor --rounds 3 --seconds 3 --busy 2

AMF_BENCH_REPS ?= 5
bench-amf: build-release
	timeout -k 10 900 c-tests/amf/bench.sh target/release $(AMF_BENCH_REPS)

scale:
	scripts/scale-test.sh $(or $(N),16) $(SCALE_ARGS)

clean:
	$(CARGO) clean
	rm -rf build
