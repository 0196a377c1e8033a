# pktmetal — top-level build.
#
#   make          build/pktmetal.efi (GNU-EFI, freestanding, baseline x86-64)
#   make deps     install the Debian packages the project needs (idempotent)
#   make run      boot pktmetal as a router with live traffic, stats, a summary (tools/demo)
#   make console  boot the image with the serial console on this terminal
#   make test     unit tests (host, ASan/UBSan) + QEMU tests; fails on any failure
#   make unit     unit tests only
#   make soak     20 million packets through the router (SOAK_PACKETS=N)
#   make clean

BUILD      := build
EFI_INC    := /usr/include/efi
EFI_LIB    := /usr/lib
EFI_LDS    := $(EFI_LIB)/elf_x86_64_efi.lds
EFI_CRT0   := $(EFI_LIB)/crt0-efi-x86_64.o

VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CC         ?= gcc
# The image: freestanding, position independent (GNU-EFI relocates it), no red
# zone (exceptions push onto the interrupted stack), baseline x86-64 so the
# benchmark CPU model qemu64 (no SSE4.2) runs it. Frame pointers stay in so an
# exception dump can walk the stack.
IMG_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin \
              -fpic -fshort-wchar -mno-red-zone -march=x86-64 -mtune=generic \
              -fno-stack-protector -fno-omit-frame-pointer -fno-strict-aliasing \
              -fno-asynchronous-unwind-tables -DPKTMETAL_IMAGE \
              -DPKTMETAL_VERSION='"$(VERSION)"' \
              -I. -I$(EFI_INC) -I$(EFI_INC)/x86_64 -DGNU_EFI_USE_MS_ABI
# --no-undefined: a -shared link would otherwise accept a missing symbol and
# the image would jump to address 0 at run time.
IMG_LDFLAGS := -nostdlib -znocombreloc -T $(EFI_LDS) -shared -Bsymbolic --no-undefined -L$(EFI_LIB)

# Everything in these directories goes into the image.
IMG_SRCS   := $(wildcard boot/*.c kernel/*.c drivers/*.c net/*.c)
IMG_ASM    := $(wildcard boot/*.S kernel/*.S)
IMG_OBJS   := $(patsubst %.c,$(BUILD)/img/%.o,$(IMG_SRCS)) \
              $(patsubst %.S,$(BUILD)/img/%.o,$(IMG_ASM))

# Host unit tests: all of net/ plus the pure parts of kernel/ and drivers/
# that are written to run against host memory (see DESIGN.md, "Where tests live").
HOST_KERNEL := kernel/acpi.c kernel/pci.c kernel/paging.c
# The WORKLOADS.md generators: their fingerprints are checked as unit tests.
HOST_BENCH  := tools/bench/workloads.c
HOST_SRCS  := $(wildcard net/*.c) $(wildcard $(HOST_KERNEL)) $(wildcard drivers/*.c) $(wildcard $(HOST_BENCH)) \
              $(wildcard tests/models/*.c)
UNIT_SRCS  := $(wildcard tests/unit/*.c)
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -I. -DPKTMETAL_HOST \
               -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
HOST_LIBS  := -lcriterion -lpcap

.PHONY: all deps run console test unit clean esp fuzz fuzz-build
all: $(BUILD)/pktmetal.efi

$(BUILD)/img/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(IMG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/img/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS    $<"
	@$(CC) $(IMG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pktmetal.so: $(IMG_OBJS)
	ld $(IMG_LDFLAGS) $(EFI_CRT0) $(IMG_OBJS) -o $@ -lefi -lgnuefi

$(BUILD)/pktmetal.efi: $(BUILD)/pktmetal.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
	        -j .rela -j .reloc --target=efi-app-x86_64 $< $@
	@size=$$(stat -c %s $@); echo "image: $@ $$size bytes"; \
	  if [ $$size -gt 262144 ]; then echo "image over 256 KiB" >&2; exit 1; fi

$(BUILD)/host/unit_tests: $(HOST_SRCS) $(UNIT_SRCS) $(wildcard net/*.h kernel/*.h drivers/*.h tests/models/*.h tests/unit/*.h tools/bench/workloads.h)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(HOST_SRCS) $(UNIT_SRCS) -o $@ $(HOST_LIBS)

unit: $(BUILD)/host/unit_tests
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)/host/unit_tests --jobs 2

deps:
	@tools/deps.sh

esp: $(BUILD)/pktmetal.efi
	@tools/mkesp.sh $(BUILD)/esp $(BUILD)/pktmetal.efi $(or $(CONF),pktmetal.conf)

run: deps $(BUILD)/pktmetal.efi tools
	@tools/demo --image $(BUILD)/pktmetal.efi $(ARGS)

console: deps $(BUILD)/pktmetal.efi tools
	@tools/pktmetal-qemu --image $(BUILD)/pktmetal.efi --conf $(or $(CONF),pktmetal.conf) $(ARGS)

# The benchmark binary is built by a fresh make: on a new machine DPDK
# arrives with `deps`, after this Makefile's pkg-config ran.
test: deps $(BUILD)/pktmetal.efi $(BUILD)/host/unit_tests tools fuzz-build
	@$(MAKE) --no-print-directory $(BENCH_DIR)/host_bench
	@tools/run-tests.sh

clean:
	rm -rf $(BUILD)

# libFuzzer targets (clang): the whole pipeline with a frame as input, the
# config parser, the BPF validator + interpreter, and the capture commands. `make test` runs each
# briefly and replays the pipeline corpus (replay_pipeline: every drop reason
# reached); `make fuzz` runs them longer, FUZZ_SECONDS each, or FUZZ_RUNS
# executions each when that is set. New inputs land in build/fuzz/corpus-*;
# the seeds in tests/fuzz/corpus/ are only read (tests/fuzz/make_seeds.py
# writes the named ones).
FUZZ_CC     := clang
FUZZ_CFLAGS := -std=gnu11 -O1 -g -I. -DPKTMETAL_HOST -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
FUZZ_SECONDS ?= 300
FUZZ_RUNS    ?=
FUZZ_LIMIT   = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
FUZZ_PIPELINE_SRCS := tests/fuzz/fuzz_pipeline.c $(wildcard net/*.c) tests/models/sink_netdev.c
FUZZ_PIPELINE_DEPS := $(FUZZ_PIPELINE_SRCS) tests/fuzz/fuzz_pipeline.h $(wildcard net/*.h) \
                      tests/models/sink_netdev.h

$(BUILD)/fuzz/fuzz_pipeline: $(FUZZ_PIPELINE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_PIPELINE_SRCS) -o $@

# The same harness without libFuzzer, under gcc's ASan/UBSan, for the replay.
$(BUILD)/fuzz/replay_pipeline: tests/fuzz/replay_pipeline.c $(FUZZ_PIPELINE_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) tests/fuzz/replay_pipeline.c $(FUZZ_PIPELINE_SRCS) -o $@

$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(wildcard net/*.c net/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(wildcard net/*.c) -o $@

$(BUILD)/fuzz/fuzz_bpf: tests/fuzz/fuzz_bpf.c net/bpf.c net/bpf.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< net/bpf.c -o $@

# The capture control channel: commands (start/stop/status) with packets in
# between; a running capture's filter must always be a validated one.
$(BUILD)/fuzz/fuzz_capture: tests/fuzz/fuzz_capture.c $(wildcard net/*.c net/*.h) \
                            tests/models/sink_netdev.c tests/models/sink_netdev.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(wildcard net/*.c) tests/models/sink_netdev.c -o $@

fuzz-build: $(BUILD)/fuzz/fuzz_pipeline $(BUILD)/fuzz/fuzz_config $(BUILD)/fuzz/fuzz_bpf \
            $(BUILD)/fuzz/fuzz_capture $(BUILD)/fuzz/replay_pipeline

fuzz: fuzz-build
	@for t in pipeline config bpf capture; do \
	  tests/fuzz/run.sh $$t $(BUILD)/fuzz/corpus-$$t $(FUZZ_LIMIT) || exit 1; \
	done

# Host tools (pktgen, ...): their rules live beside them.
-include tools/tools.mk
# Benchmarks (make bench): figures, never tests.
-include tools/bench/bench.mk
-include tools/bench/overload.mk
-include tools/bench/guest.mk

# Soak (issue 7): SOAK_PACKETS packets of mixed sizes and kinds through the
# router with an ACL (tests/qemu/test_soak.py, ~12 min at the default rate);
# `make test` runs the same test with 1,000,000. SOAK_RATE: stream frames
# per second, both ways together (default 24000).
SOAK_PACKETS ?= 20000000
.PHONY: soak
soak: deps $(BUILD)/pktmetal.efi tools
	@SOAK_PACKETS=$(SOAK_PACKETS) $(if $(SOAK_RATE),SOAK_RATE=$(SOAK_RATE)) \
	  python3 tests/qemu/run.py -k test_soak

-include $(shell find $(BUILD)/img -name '*.d' 2>/dev/null)
