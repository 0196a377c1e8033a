# make bench-overload: the router flooded (tools/bench/overload_bench.py):
# offered vs forwarded pps, where the excess went, recovery time, console
# answer time; 3 floods of 30 s, ~3 min. QUICK=1: one flood of 10 s.
# Included by the top Makefile beside bench.mk; `make bench` runs it too
# (not with QUICK=1: then only bench-host and bench-qemu run).

.PHONY: bench-overload
bench-overload: $(BUILD)/pktmetal.efi $(TOOLS_BIN)
	@python3 tools/bench/overload_bench.py \
	  $(if $(filter-out 0,$(QUICK)),--reps 1 --seconds 10) \
	  --out $(or $(BENCH_OUT),build/bench)/overload.txt

ifeq ($(filter-out 0,$(QUICK)),)
bench: bench-overload
endif
