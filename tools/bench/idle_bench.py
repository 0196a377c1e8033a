#!/usr/bin/env python3
"""Adaptive idle: what busy polling costs the host, and what halting adds to
latency (a benchmark: figures, no pass/fail).

For idle-halt on and off, in turn: boot pktmetal in reflect mode on one
virtio-net port, let it sit with no traffic and read the QEMU process's CPU
time from /proc/PID/stat over --idle-seconds, then send --probes frames at
10 pps through pktgen and take pktgen's round-trip latency. Prints the host
CPU share of the QEMU process with no traffic, and the median round trip
with halting on minus the same with halting off (the added latency).

    tools/bench/idle_bench.py [--idle-seconds 10] [--probes 100] [--extra-conf "idle-max-us 200"]
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
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import pmqemu  # noqa: E402
from traffic import pktgen, warm_up  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS      # utime + stime


def one_run(halt, args):
    conf = f"mode reflect\nidle-halt {'on' if halt else 'off'}\n" + args.extra_conf.replace(";", "\n")
    m = pmqemu.Machine(args.image, conf_text=conf + "\n", nics=("virtio",), big_rcvbuf=True)
    try:
        m.start()
        m.expect("ready:", 60)
        time.sleep(2)
        c0, t0 = cpu_seconds(m.proc.pid), time.monotonic()
        time.sleep(args.idle_seconds)
        cpu = (cpu_seconds(m.proc.pid) - c0) / (time.monotonic() - t0)
        warm_up(m, ["0=0"])
        guest_mac = m.nics[0].mac
        rtts = []
        for _ in range(args.probes // 10):
            r = pktgen(m, "--stream", "0=0", "--count", "10", "--rate", "10", "--size", "128",
                       "--dst-mac", f"0={guest_mac}", "--wait-ms", "500")
            lat = re.search(r"latency_min_us ([\d.]+) latency_avg_us ([\d.]+)", r.stdout)
            if lat:
                rtts.append(float(lat.group(2)))
        m.send("quit\r")
        m.wait(30)
        return cpu, rtts
    finally:
        m.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--extra-conf", default="")
    args = ap.parse_args()
    res = {}
    for halt in (True, False):
        cpu, rtts = one_run(halt, args)
        med = statistics.median(rtts) if rtts else float("nan")
        res[halt] = (cpu, med)
        print(f"RESULT idle-halt={'on' if halt else 'off'} qemu_cpu_idle={cpu * 100:.1f}% "
              f"rtt_median_us={med:.1f} (median of {len(rtts)} 10-frame averages at 10 pps)",
              flush=True)
    added = res[True][1] - res[False][1]
    print(f"RESULT idle added_latency_us={added:.1f} qemu_cpu_idle_on={res[True][0] * 100:.1f}% "
          f"qemu_cpu_idle_off={res[False][0] * 100:.1f}%")


if __name__ == "__main__":
    main()
