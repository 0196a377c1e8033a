# Benchmarks: pktmetal's building blocks against DPDK's on the host, with the
# workloads of WORKLOADS.md. Included by the top Makefile. Figures, never
# tests: nothing here runs in `make test`.
#
#   make bench-host-build   build/bench/host_bench
#   make bench-host         build, then the timed pass (pinned) and the
#                           callgrind pass (tools/bench/run_host.sh)
#   make bench-qemu         end to end in QEMU: pktmetal, a Linux guest and
#                           QEMU alone, rate sweeps (tools/bench/qemu_sweep.py,
#                           ~10 min; outputs in build/bench/qemu)
#   make bench              all of the above (and bench-overload, bench-idle,
#                           bench-startup, bench-capture), then writes the
#                           figures into BENCHMARKS.md (tools/bench/report.py;
#                           QUICK=1: into build/bench/BENCHMARKS-quick.md)
#   QUICK=1                 smaller counts and R=3, one frame size and fewer
#                           configurations in QEMU: a smoke run, not figures
#   QEMU_BENCH_ARGS=...     more qemu_sweep.py options (--qemu-cpus 1 ...)
#   BENCH_CORE=N            the CPU to pin to (default: the last one)
#   BENCH_OUT=DIR           where outputs go (default build/bench)
#
# Both implementations are built into one binary with the same flags: gcc
# -O3 -g plus DPDK's pkg-config cflags (Debian 12: -march=corei7).

BENCH_DIR     := build/bench
BENCH_CC      := gcc
BENCH_DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
BENCH_DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null)
BENCH_CFLAGS  := -std=gnu11 -O3 -g -Wall -Wextra -I. $(BENCH_DPDK_CFLAGS)
BENCH_SRCS    := tools/bench/host_bench.c tools/bench/bench_core.c tools/bench/bench_pool.c \
                 tools/bench/bench_csum.c tools/bench/bench_lpm.c tools/bench/bench_pipeline.c \
                 tools/bench/workloads.c
# pktmetal's side: all of net/ (as the unit tests link it) and the software port.
BENCH_PM_SRCS := $(wildcard net/*.c) tests/models/sink_netdev.c
BENCH_HDRS    := $(wildcard tools/bench/*.h net/*.h) tests/models/sink_netdev.h

.PHONY: bench bench-start bench-host bench-host-build bench-deps bench-qemu

# DPDK and valgrind are installed here, not by `make deps`, so CI stays lean;
# the binary is then built by a fresh make, whose pkg-config sees DPDK.
bench-deps:
	@tools/deps.sh --bench

bench-host-build: bench-deps
	@$(MAKE) --no-print-directory $(BENCH_DIR)/host_bench

$(BENCH_DIR)/host_bench: $(BENCH_SRCS) $(BENCH_PM_SRCS) $(BENCH_HDRS) tools/bench/bench.mk
	@if [ -z "$(BENCH_DPDK_LIBS)" ]; then \
	  echo "bench: libdpdk not found (pkg-config libdpdk): run make bench-deps" >&2; \
	  exit 1; fi
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(BENCH_CC) $(BENCH_CFLAGS) $(BENCH_SRCS) $(BENCH_PM_SRCS) -o $@ $(BENCH_DPDK_LIBS) -lm

bench-host: bench-host-build
	@BENCH_OUT=$(or $(BENCH_OUT),$(BENCH_DIR)) QUICK=$(QUICK) BENCH_CORE=$(BENCH_CORE) \
	  tools/bench/run_host.sh $(BENCH_DIR)/host_bench

# The Linux guest, its initramfs parts and matplotlib come from bench-deps;
# the sweep runs on Debian's python (matplotlib for the plot).
bench-qemu: bench-deps $(BUILD)/pktmetal.efi $(TOOLS_BIN)
	@/usr/bin/python3 tools/bench/qemu_sweep.py $(if $(filter-out 0,$(QUICK)),--quick) \
	  --out $(or $(BENCH_OUT),$(BENCH_DIR))/qemu $(QEMU_BENCH_ARGS)

# `make bench` stamps its start, runs every part (the other .mk files add
# theirs as prerequisites), then writes the figures into BENCHMARKS.md
# (tools/bench/report.py: only parts that ran since the stamp).
# QUICK=1 (a smoke run) leaves BENCHMARKS.md alone and writes a copy with
# its figures, $(BENCH_OUT)/BENCHMARKS-quick.md.
BENCH_REPORT_DOC = $(if $(filter-out 0,$(QUICK)),$(or $(BENCH_OUT),$(BENCH_DIR))/BENCHMARKS-quick.md,BENCHMARKS.md)

bench: bench-start bench-host bench-qemu
	@$(if $(filter-out 0,$(QUICK)),cp BENCHMARKS.md $(BENCH_REPORT_DOC) &&) \
	  python3 tools/bench/report.py --end-of-run --dir $(or $(BENCH_OUT),$(BENCH_DIR)) \
	  --doc $(BENCH_REPORT_DOC) $(if $(filter-out 0,$(QUICK)),--quick)

bench-start:
	@mkdir -p $(or $(BENCH_OUT),$(BENCH_DIR)) && touch $(or $(BENCH_OUT),$(BENCH_DIR))/make-bench.start
