# The guest's own figures, beside bench.mk and overload.mk (included by the
# top Makefile; `make bench` runs them too):
#   make bench-idle      host CPU of an idle pktmetal and the latency halting
#                        adds (tools/bench/idle_bench.py; ~4 min, QUICK=1 ~1)
#   make bench-startup   efi_main -> ready -> first forwarded packet, image
#                        and kernel heap (tools/bench/startup_bench.py)
#   make bench-capture   guest cycles/packet, capture off vs on with a filter
#                        that matches nothing (tools/bench/capture_cost.py)
# Outputs: $(BENCH_OUT)/{idle,startup,capture}.txt (default build/bench).

GUEST_BENCH_OUT = $(or $(BENCH_OUT),build/bench)
GUEST_QUICK     = $(filter-out 0,$(QUICK))

.PHONY: bench-idle bench-startup bench-capture
bench-idle: $(BUILD)/pktmetal.efi $(TOOLS_BIN)
	@mkdir -p $(GUEST_BENCH_OUT)
	@python3 tools/bench/idle_bench.py $(if $(GUEST_QUICK),--idle-seconds 5 --probes 50,--repeat 2) \
	  > $(GUEST_BENCH_OUT)/idle.txt; rc=$$?; cat $(GUEST_BENCH_OUT)/idle.txt; exit $$rc

bench-startup: $(BUILD)/pktmetal.efi $(TOOLS_BIN)
	@mkdir -p $(GUEST_BENCH_OUT)
	@python3 tools/bench/startup_bench.py $(if $(GUEST_QUICK),--boots 2,--boots 5) \
	  > $(GUEST_BENCH_OUT)/startup.txt; rc=$$?; cat $(GUEST_BENCH_OUT)/startup.txt; exit $$rc

bench-capture: $(BUILD)/pktmetal.efi $(TOOLS_BIN)
	@mkdir -p $(GUEST_BENCH_OUT)
	@python3 tools/bench/capture_cost.py $(if $(GUEST_QUICK),--phases 2 --seconds 3,--phases 6) \
	  > $(GUEST_BENCH_OUT)/capture.txt; rc=$$?; cat $(GUEST_BENCH_OUT)/capture.txt; exit $$rc

# QUICK=1 keeps `make bench` to its two table-making parts (bench-host and
# bench-qemu, under 5 minutes together); these run on their own then.
ifeq ($(filter-out 0,$(QUICK)),)
bench: bench-idle bench-startup bench-capture
endif
