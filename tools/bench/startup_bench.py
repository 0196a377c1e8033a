#!/usr/bin/env python3
"""Start-up and footprint (a benchmark: figures, no pass/fail).

Boots pktmetal --boots times in l2fwd mode on two NICs of one model while
pktgen keeps offering frames on port 0 from before efi_main runs, so the
first frame the guest can take is forwarded at once. From the guest's own clock
(TSC, counted from efi_main entry) it reads:

  ready:          efi_main entry -> every port up, tables built
  first forward:  efi_main entry -> the first frame left a port
  footprint:      image size, kernel heap used, the packet arena

and prints them as WORKLOADS.md RESULT lines (median over the boots).

    tools/bench/startup_bench.py [--boots 5] [--nic virtio|e1000]

QEMU's e1000 takes no RX for ~1 s after the driver writes RCTL (TRAPS.md),
so its first forward is that much later: the figure for e1000 measures QEMU,
virtio-net (the default) measures pktmetal.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import pmqemu  # noqa: E402

PKTGEN = os.path.join(ROOT, "build", "tools", "pktgen")
READY = re.compile(r"^ready: (\d+) us from efi_main entry")
FIRST = re.compile(r"first forward: (\d+) us from efi_main entry")
FOOT = re.compile(r"^footprint: image (\d+) KiB, kernel heap (\d+) of (\d+) KiB used")


def one_boot(args):
    conf = ("mode l2fwd\nport 0 peer-mac 02:00:00:00:00:b0\nport 1 peer-mac 02:00:00:00:00:b1\n")
    m = pmqemu.Machine(args.image, conf_text=conf, nics=(args.nic, args.nic), big_rcvbuf=True)
    gen = None
    try:
        # QEMU binds its sockets at once; OVMF takes seconds to reach
        # efi_main, so a stream started now is already flowing when the
        # guest's ports come up: 2 kpps for up to 60 s.
        m.start()
        time.sleep(0.5)
        nic0, nic1 = m.nics
        gen = subprocess.Popen([PKTGEN, "--port", f"0={nic0.host_port}:{nic0.guest_port}",
                                "--port", f"1={nic1.host_port}:{nic1.guest_port}",
                                "--stream", "0=1", "--count", "120000", "--rate", "2000",
                                "--size", "64", "--quiet", "--timeout", "70"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        m.expect("first forward:", 60)
        lines = [line for _, line in m.lines]
        got = {}
        for line in lines:
            for key, rx in (("ready", READY), ("first", FIRST), ("foot", FOOT)):
                mt = rx.search(line)
                if mt:
                    got[key] = [int(g) for g in mt.groups()]
        return got
    finally:
        if gen is not None:
            gen.kill()
            gen.wait()
        m.kill()
        m.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boots", type=int, default=5)
    ap.add_argument("--nic", choices=("virtio", "e1000"), default="virtio")
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    args = ap.parse_args()
    runs = []
    for i in range(args.boots):
        got = one_boot(args)
        if "ready" not in got or "first" not in got or "foot" not in got:
            print(f"startup: boot {i + 1} printed no ready/first forward/footprint line",
                  file=sys.stderr)
            return 1
        runs.append(got)
        print(f"# boot {i + 1}: ready {got['ready'][0]} us, first forward {got['first'][0]} us",
              flush=True)
    ready = statistics.median(r["ready"][0] for r in runs)
    first = statistics.median(r["first"][0] for r in runs)
    image_kib, heap_kib, heap_total_kib = runs[-1]["foot"]
    name = f"startup_{args.nic}"
    for figure, key, med in ((f"{name}_ready", "ready", ready),
                             (f"{name}_first_forward", "first", first)):
        vals = [r[key][0] for r in runs]
        print(f"RESULT {figure} us median={med:.0f} min={min(vals)} max={max(vals)} "
              f"reps={len(runs)} ops=1 impl=pktmetal")
    print(f"RESULT footprint_image KiB median={image_kib} min={image_kib} max={image_kib} "
          f"reps=1 ops=1 impl=pktmetal")
    print(f"RESULT footprint_kernel_heap_used KiB median={heap_kib} min={heap_kib} "
          f"max={heap_kib} reps=1 ops=1 impl=pktmetal (of {heap_total_kib} KiB; the arena "
          f"is apart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
