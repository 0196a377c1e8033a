# Host tools: the traffic generator/sink, its test wire, and the receive-buffer
# shim for QEMU. Included by the top Makefile; built with the host's libc.
#
#   make tools             build everything in $(TOOLS)
#   make pktgen-selftest   pktgen against udpwire on loopback (no QEMU)

TOOLS_DIR    := build/tools
TOOLS_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE

PKTGEN_SRCS  := $(filter-out tools/src/pktgen/udpwire.c,$(wildcard tools/src/pktgen/*.c))
PKTGEN_HDRS  := $(wildcard tools/src/pktgen/*.h)

TOOLS     := $(TOOLS_DIR)/pktgen $(TOOLS_DIR)/udpwire $(TOOLS_DIR)/rcvbuf_preload.so
# What tests that drive traffic need: `test: $(TOOLS_BIN)`.
TOOLS_BIN := build/tools/pktgen build/tools/rcvbuf_preload.so

.PHONY: tools pktgen-selftest
tools: $(TOOLS)

$(TOOLS_DIR)/pktgen: $(PKTGEN_SRCS) $(PKTGEN_HDRS) tools/tools.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(TOOLS_CFLAGS) $(PKTGEN_SRCS) -o $@ -lpcap

$(TOOLS_DIR)/udpwire: tools/src/pktgen/udpwire.c tools/tools.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(TOOLS_CFLAGS) $< -o $@

# -fPIC -shared: loaded into QEMU with LD_PRELOAD; dlsym lives in libc on
# Debian 12, -ldl keeps older glibc working.
$(TOOLS_DIR)/rcvbuf_preload.so: tools/rcvbuf_preload.c tools/tools.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(TOOLS_CFLAGS) -fPIC -shared $< -o $@ -ldl

pktgen-selftest: $(TOOLS)
	@tools/src/pktgen/selftest.sh

# pktcap: capture inside the image (net/capture.h); includes net/ headers for
# the wire format and the drop reason names, nothing else from the image.
PKTCAP_SRCS := $(wildcard tools/src/pktcap/*.c)
PKTCAP_HDRS := $(wildcard tools/src/pktcap/*.h) $(wildcard net/*.h)

TOOLS     += $(TOOLS_DIR)/pktcap
TOOLS_BIN += build/tools/pktcap

# `tools: $(TOOLS)` above was expanded when make read it: name pktcap again.
.PHONY: pktcap-selftest
tools: $(TOOLS_DIR)/pktcap

$(TOOLS_DIR)/pktcap: $(PKTCAP_SRCS) $(PKTCAP_HDRS) tools/tools.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(CC) $(TOOLS_CFLAGS) -I. $(PKTCAP_SRCS) -o $@ -lpcap -lm

pktcap-selftest: $(TOOLS_DIR)/pktcap
	@tools/src/pktcap/selftest.sh
