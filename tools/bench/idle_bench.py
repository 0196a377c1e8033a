#!/usr/bin/env python3
"""Adaptive idle: what busy polling costs the host, and what halting adds to
latency (a benchmark: figures, no pass/fail).

Each run boots pktmetal in reflect mode on one virtio-net port with one
setting, lets it sit with no traffic and reads the QEMU process's CPU time
from /proc/PID/stat over --idle-seconds (and the guest's own count of halts
from its STATS lines), then sends --probes frames at 10 pps and times each
round trip itself: a frame goes out of a UDP socket bound to the NIC's host
port, the reflected copy comes back on it, both instants on the host's
monotonic clock. Per setting it reports the median round trip; the added
latency of a setting is its median minus the median with idle-halt off from
the same repetition (the machine is shared: only side-by-side figures mean
something). On a busy host the busy-polling vCPU is itself preempted for
milliseconds now and then, which moves the median with halting off a lot;
the 10th percentiles, compared the same way (added_p10_us), show what
waking up costs when neither side was disturbed. --repeat runs every
setting again, in the same order, and the summary gives the median and the
range over repetitions.

    tools/bench/idle_bench.py [--idle-seconds 10] [--probes 200] [--repeat 3]
        [--setting NAME=DIRECTIVES]...

A setting is pktmetal.conf lines separated by ';', added after
"mode reflect". idle-halt off always runs first in each repetition, as the
baseline. Without --setting: the defaults (wake on receive, halts up to
idle-wake-max-us 2000) and the timer-only back-off at idle-max-us 100.
"""
import argparse
import json
import os
import re
import socket
import statistics
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import pmqemu  # noqa: E402
from traffic import warm_up  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
DEFAULT_SETTINGS = ["wake-2000=", "timer-100=idle-wake-max-us 0;idle-max-us 100"]
BASELINE = ("off", "idle-halt off")
PROBE_RATE = 10                     # frames per second
PROBE_BYTES = 128
PROBE_ETHERTYPE = 0x88b5            # IEEE local experimental
PROBE_SRC_MAC = bytes.fromhex("020000000000")
PROBE_TIMEOUT_S = 0.5
STATS_RE = re.compile(r"STATS (\{.*\})")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS      # utime + stime


def guest_halts(machine, t0, t1):
    """Halts per second and the halted fraction the guest's STATS lines
    report for the intervals that lie inside host times t0..t1 (a line
    closes the interval before it)."""
    halts = halted_ms = interval_ms = 0
    for t, text in list(machine.lines):
        m = STATS_RE.search(text)
        if m and t0 + 1.0 <= t <= t1:
            stats = json.loads(m.group(1))
            halts += stats["loop"]["halts"]
            halted_ms += stats["loop"]["halted_ms"]
            interval_ms += stats["interval_ms"]
    if interval_ms == 0:
        return float("nan"), float("nan")
    return halts * 1000 / interval_ms, halted_ms / interval_ms


def probe_frame(dst_mac, seq):
    head = bytes.fromhex(dst_mac.replace(":", "")) + PROBE_SRC_MAC + struct.pack("!H", PROBE_ETHERTYPE)
    body = struct.pack("!I", seq)
    return head + body + bytes(PROBE_BYTES - len(head) - len(body))


def probe_rtts(nic, count):
    """Round trips (us) of `count` frames sent at PROBE_RATE through the
    reflecting port, and how many never came back."""
    rtts, lost = [], 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", nic.host_port))
        guest = ("127.0.0.1", nic.guest_port)
        next_send = time.monotonic()
        for seq in range(count):
            pause = next_send - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            next_send += 1.0 / PROBE_RATE
            frame = probe_frame(nic.mac, seq)
            t0 = time.monotonic_ns()
            s.sendto(frame, guest)
            deadline = t0 + int(PROBE_TIMEOUT_S * 1e9)
            while True:
                left = (deadline - time.monotonic_ns()) / 1e9
                if left <= 0:
                    lost += 1
                    break
                s.settimeout(left)
                try:
                    data = s.recv(2048)
                except socket.timeout:
                    lost += 1
                    break
                t1 = time.monotonic_ns()
                if len(data) >= 18 and struct.unpack("!I", data[14:18])[0] == seq:
                    rtts.append((t1 - t0) / 1000)
                    break
    return rtts, lost


def one_run(name, directives, args):
    conf = "mode reflect\n" + directives.replace(";", "\n") + "\n"
    m = pmqemu.Machine(args.image, conf_text=conf, nics=("virtio",), big_rcvbuf=True)
    try:
        m.start()
        m.expect("ready:", 90)
        idle_line = next((text for _, text in m.lines if text.startswith("idle:")), "idle: ?")
        time.sleep(2)
        c0, t0 = cpu_seconds(m.proc.pid), time.monotonic()
        time.sleep(args.idle_seconds)
        c1, t1 = cpu_seconds(m.proc.pid), time.monotonic()
        cpu = (c1 - c0) / (t1 - t0)
        warm_up(m, ["0=0"])
        halts_per_s, halted = guest_halts(m, t0, t1)
        rtts, lost = probe_rtts(m.nics[0], args.probes)
        m.send("quit\r")
        m.wait(30)
    finally:
        m.cleanup()
    med = statistics.median(rtts) if rtts else float("nan")
    q = statistics.quantiles(rtts, n=10) if len(rtts) >= 10 else [float("nan")] * 9
    print(f"RUN {name}: qemu_cpu_idle={cpu * 100:.1f}% guest_halts_per_s={halts_per_s:.0f} "
          f"guest_halted={halted * 100:.0f}% rtt_median_us={med:.1f} "
          f"rtt_p10_us={q[0]:.1f} rtt_p90_us={q[8]:.1f} probes={len(rtts)} lost={lost} "
          f"[{idle_line.strip()}]", flush=True)
    return cpu, med, q[0]


def spread(values):
    values = [v for v in values if v == v]          # drop NaN
    if not values:
        return "n/a"
    return f"{statistics.median(values):.1f} ({min(values):.1f}..{max(values):.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--setting", action="append", metavar="NAME=DIRECTIVES",
                    help="a setting to compare with idle-halt off (repeatable)")
    args = ap.parse_args()
    settings = [BASELINE]
    for s in args.setting or DEFAULT_SETTINGS:
        name, sep, directives = s.partition("=")
        if not sep or not name:
            ap.error(f"--setting {s!r}: want NAME=DIRECTIVES")
        settings.append((name, directives))
    cpu = {name: [] for name, _ in settings}
    added = {name: [] for name, _ in settings}
    added_p10 = {name: [] for name, _ in settings}
    for rep in range(args.repeat):
        base = None
        for name, directives in settings:
            c, med, p10 = one_run(name, directives, args)
            cpu[name].append(c * 100)
            if base is None:
                base = (med, p10)
            added[name].append(med - base[0])
            added_p10[name].append(p10 - base[1])
    print(f"== {args.repeat} repetition(s), {args.idle_seconds:g} s idle, {args.probes} probes "
          f"of {PROBE_BYTES} B at {PROBE_RATE} pps; median (min..max) over repetitions")
    for name, directives in settings:
        baseline = name == BASELINE[0]
        print(f"RESULT idle setting={name} qemu_cpu_idle_pct={spread(cpu[name])} "
              f"added_latency_us={'0 (baseline)' if baseline else spread(added[name])} "
              f"added_p10_us={'0 (baseline)' if baseline else spread(added_p10[name])} "
              f"conf=\"{directives}\"")


if __name__ == "__main__":
    main()
