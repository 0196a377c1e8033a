#!/usr/bin/env python3
"""Overload figures (issue 7): what pktmetal's router forwards while pktgen
floods both ports as fast as it can, where the excess goes, and how long
pktmetal takes to drain once the flood stops (a benchmark: figures, no
timed pass/fail; the run still checks the accounting invariant and that a
paced stream after the flood is forwarded exactly, as the test does).

Each repetition is one run of tests/qemu/test_overload.py's experiment:
boot, --seconds of 60-byte frames at pktgen's --rate max both ways (16
flows each), the console polled with `stats json` every 250 ms, then a
paced IMIX stream. QEMU's dgram sockets are enlarged to 8 MiB
(build/tools/rcvbuf_preload.so), as in the tests.

Prints WORKLOADS.md RESULT lines (median/min/max over the repetitions):

  qemu_overload_router_<nics>_60B_offered     pps  pktgen's send rate
  qemu_overload_router_<nics>_60B_forwarded   pps  pktmetal's TX, steady state
                                                   (median of the per-second STATS)
  qemu_overload_router_<nics>_60B_recovery    ms   last flood frame sent -> RX and TX
                                                   counters final (250 ms polls)
  qemu_overload_router_<nics>_60B_stats_answer ms  `stats json` round trip in the flood

    tools/bench/overload_bench.py [--reps 3] [--seconds 30] [--nics e1000,virtio] [--out FILE]
"""
import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests", "qemu")]
import test_overload  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="runs (default 3)")
    ap.add_argument("--seconds", type=float, default=test_overload.FLOOD_S,
                    help=f"flood length (default {test_overload.FLOOD_S})")
    ap.add_argument("--nics", default="e1000,virtio",
                    help="port 0 and port 1 NIC models (default e1000,virtio)")
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    ap.add_argument("--out", help="also write the RESULT lines to this file")
    args = ap.parse_args()
    nics = tuple(args.nics.split(","))
    if len(nics) != 2 or not set(nics) <= {"e1000", "virtio", "virtio-modern"}:
        ap.error("--nics: two of e1000, virtio, virtio-modern, comma-separated")
    if args.reps < 1 or args.seconds <= 0:
        ap.error("--reps must be at least 1 and --seconds positive")
    for path in (args.image, os.path.join(ROOT, "build", "tools", "pktgen")):
        if not os.path.exists(path):
            sys.exit(f"overload_bench: {path} missing: run make and make tools")
    results = []
    for i in range(args.reps):
        r = test_overload.flood_and_recover(args.image, flood_s=args.seconds, nics=nics)
        print(f"# rep {i + 1}/{args.reps}: offered {r['offered_pps']:.0f} pps, forwarded "
              f"{statistics.median(r['forwarded_pps']):.0f} pps, lost at QEMU's "
              f"socket {r['peer_drops']}, rx_missed {r['rx_missed']}, pipeline drops "
              f"{r['drops'] or 'none'}, recovery {r['recovery_s'] * 1000:.0f} ms", flush=True)
        results.append(r)
    lines = test_overload.figures(results, nics=nics)
    print("\n".join(lines))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
