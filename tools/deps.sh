#!/usr/bin/env bash
# Installs the Debian packages pktmetal needs: idempotent, prints what it
# installs, a no-op when everything is present. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  build-essential      # gcc, make, binutils (ld, objcopy)
  clang                # libFuzzer targets
  libclang-rt-14-dev   # libFuzzer and sanitizer runtimes for clang
  gnu-efi              # UEFI headers, crt0, linker script, libefi
  ovmf                 # UEFI firmware for QEMU
  qemu-system-x86      # the machine the image boots on
  libcriterion-dev     # unit tests
  python3              # QEMU launcher and test driver
  python3-matplotlib   # tools/pktstat --plot (Debian's /usr/bin/python3)
  libpcap-dev          # host tools (capture filters, pcap output)
  tshark               # checks what goes on the wire
  tcpdump
  iproute2             # network namespaces and taps for tests
  iputils-ping         # ping from Linux peers in the router/bridge tests
  libdpdk-dev          # the benchmark binary (tools/bench): make test builds it and
                       # checks the WORKLOADS.md fingerprints
)

# `tools/deps.sh --bench` (make bench) also installs what only the timed
# benchmarks need; make test does not, so CI stays lean.
BENCH_PACKAGES=(
  valgrind             # callgrind instruction counts
  # The Linux guest of the QEMU benchmark (tools/bench/qemu_sweep.py): its
  # kernel and modules, and what its initramfs is built from. It also copies
  # in iproute2's ip and tc, and plots with python3-matplotlib (both above).
  linux-image-amd64    # /boot/vmlinuz-* and /lib/modules/* (e1000, virtio_net, bridge, ...)
  busybox-static       # the guest's shell, init and insmod
  xdp-tools            # the guest's xdp-bench (XDP redirect, generic and native)
  cpio                 # packs the initramfs
)
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=("${BENCH_PACKAGES[@]}")
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "deps: not root and no sudo; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "deps: done"
