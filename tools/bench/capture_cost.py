#!/usr/bin/env python3
"""The cost of the capture hook (a benchmark: figures, no pass/fail).

pktmetal routes a paced stream both ways between two virtio-net ports while
a third is its capture port. In alternating phases (off, on, off, on, ...)
the capture is off, or on at every point of both ports with a filter that
matches nothing (`ether proto 0x88b6`), so every packet runs the hook and
the BPF program but no copy is made. For each phase the guest's own
counters (`stats json`: pipeline_cycles / pipeline_pkts, TSC cycles spent
from RX burst to TX flush) give cycles per packet. Under TCG these are
emulated-CPU cycles: compare the two sides of one run, not runs.

    tools/bench/capture_cost.py [--phases 6] [--rate 10000] [--seconds 5]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import pmqemu  # noqa: E402
from accounting import stats_json  # noqa: E402
import routed  # noqa: E402

PKTCAP = os.path.join(ROOT, "build", "tools", "pktcap")
CONF = routed.ROUTER_CONF + "port 2 role capture\n"
NOTHING = "ether proto 0x88b6"


def streams(m, rate, seconds):
    count = int(rate * seconds / 2)
    return routed.run(m, routed.routed_args(m) + ["--count", str(count), "--rate", str(rate),
                                                  "--size", "64", "--flows", "16"],
                      timeout_s=int(seconds) + 60)


def phase(m, run_file, capture, args):
    cap = None
    if capture:
        cap = subprocess.Popen([PKTCAP, "--run", run_file, "-w", os.devnull, "--point", "any",
                                "--timeout", str(int(args.seconds) + 120), NOTHING],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        log = os.path.join(m.workdir, "com2.log")
        while "capture: ok started" not in open(log, errors="replace").read():
            if time.monotonic() > deadline or cap.poll() is not None:
                raise RuntimeError("pktcap did not start a capture")
            time.sleep(0.1)
    before = stats_json(m)
    r = streams(m, args.rate, args.seconds)
    after = stats_json(m)
    if cap is not None:
        cap.send_signal(signal.SIGINT)
        _, err = cap.communicate(timeout=30)
        if "image captured: 0" not in err:
            raise RuntimeError(f"the filter matched something: {err}")
    if r.returncode != 0:
        raise RuntimeError(f"pktgen: {r.stdout}{r.stderr}")
    pkts = after["loop"]["pipeline_pkts"] - before["loop"]["pipeline_pkts"]
    cycles = after["loop"]["pipeline_cycles"] - before["loop"]["pipeline_cycles"]
    return cycles / pkts if pkts else float("nan"), pkts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    ap.add_argument("--phases", type=int, default=6, help="even: off/on alternate")
    ap.add_argument("--rate", type=int, default=10000, help="pps, both ways together")
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    m = pmqemu.Machine(args.image, conf_text=CONF, nics=("virtio", "virtio", "virtio"),
                       control=True, big_rcvbuf=True)
    hub = None
    try:
        m.start()
        hub = pmqemu.ControlHub(m, log_path=os.path.join(m.workdir, "com2.log"))
        hub.start()
        run_file = os.path.join(m.workdir, "run.json")
        pmqemu.write_run_file(m, hub, run_file, capture_port=2)
        m.expect("ready:", 60)
        time.sleep(1)
        streams(m, 1000, 1)                       # warm-up: ARP-free, static neighbours
        res = {False: [], True: []}
        for i in range(args.phases):
            on = i % 2 == 1
            cpp, pkts = phase(m, run_file, on, args)
            res[on].append(cpp)
            print(f"# phase {i + 1}: capture {'on (matches nothing)' if on else 'off'}: "
                  f"{cpp:.0f} cycles/packet over {pkts} packets", flush=True)
        off, on = res[False], res[True]
        for name, vals in (("off", off), ("on_nomatch", on)):
            print(f"RESULT capture_hook_{name} cycles/pkt median={statistics.median(vals):.0f} "
                  f"min={min(vals):.0f} max={max(vals):.0f} reps={len(vals)} "
                  f"ops={int(args.rate * args.seconds)} impl=pktmetal")
        ratios = [b / a for a, b in zip(off, on)]
        print(f"RATIO  capture_hook on_nomatch/off median={statistics.median(ratios):.3f} "
              f"min={min(ratios):.3f} max={max(ratios):.3f}")
    finally:
        if hub is not None:
            hub.stop()
        m.kill()
        m.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
