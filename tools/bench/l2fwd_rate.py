#!/usr/bin/env python3
"""Highest l2fwd rate with under 1% loss, per NIC model (a benchmark, not a
test: it prints figures and fails on nothing).

For each model, boots pktmetal in l2fwd with two ports of that model and
offers 60-byte frames (64 on the wire with the FCS) both ways at once,
searching the offered rate by bisection; each step runs `--seconds` and
counts pktgen's delivered frames. QEMU's dgram sockets get 8 MiB receive
buffers (tools/rcvbuf_preload.so; TRAPS.md), said here because it matters.

    tools/bench/l2fwd_rate.py [--models e1000,virtio] [--lo 2000] [--hi 200000]
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import pmqemu  # noqa: E402
from traffic import pktgen, warm_up  # noqa: E402


def offer(m, rate, seconds, size):
    count = max(1000, int(rate * seconds / 2))        # per direction
    r = pktgen(m, "--stream", "0=1", "--stream", "1=0", "--count", str(count), "--size", str(size),
               "--flows", "8", "--rate", str(rate), "--wait-ms", "500")
    t = re.search(r"^total: offered (\d+) pps delivered (\d+) pps .* sent (\d+) received (\d+)",
                  r.stdout, re.M)
    if not t:
        raise RuntimeError(f"pktgen gave no total line:\n{r.stdout}{r.stderr}")
    offered, delivered, sent, received = map(int, t.groups())
    return offered, delivered, 1.0 - received / sent if sent else 1.0


def search(model, args, image):
    conf = "mode l2fwd\n" + args.extra_conf.replace(";", "\n") + "\n"
    m = pmqemu.Machine(image, conf_text=conf, nics=(model, model), big_rcvbuf=True)
    best = (0, 0, 0.0)
    try:
        m.start()
        m.expect("ready:", 60)
        warm_up(m, ["0=1", "1=0"])
        lo, hi = args.lo, args.hi
        while hi - lo > max(500, lo // 20):
            mid = (lo + hi) // 2
            offered, delivered, loss = offer(m, mid, args.seconds, args.size)
            ok = loss < 0.01
            print(f"  {model}: offered {offered} pps -> delivered {delivered} pps, "
                  f"loss {loss * 100:.2f}% {'ok' if ok else 'too much'}", flush=True)
            if ok:
                lo, best = mid, (offered, delivered, loss)
            else:
                hi = mid
        m.send("quit\r")
        m.wait(30)
    finally:
        m.cleanup()
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="e1000,virtio")
    ap.add_argument("--lo", type=int, default=2000)
    ap.add_argument("--hi", type=int, default=200000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size", default="60")
    ap.add_argument("--extra-conf", default="", help="config lines, ';'-separated")
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    args = ap.parse_args()
    results = {}
    for model in args.models.split(","):
        results[model] = search(model, args, args.image)
    print(f"\nl2fwd, {args.size}-byte frames, both directions, highest rate with <1% loss:")
    for model, (offered, delivered, loss) in results.items():
        print(f"  {model:8s} offered {offered:7d} pps  delivered {delivered:7d} pps  "
              f"loss {loss * 100:.2f}%")


if __name__ == "__main__":
    main()
