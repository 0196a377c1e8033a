"""Helpers for QEMU tests that move traffic: run pktgen against a booted
Machine's NICs, read pktmetal's per-port counters from the console, and
check a pcap with tshark."""
import os
import re
import subprocess
import time

import pmqemu
from qemutest import check

PKTGEN = os.path.join(pmqemu.ROOT, "build", "tools", "pktgen")
PKTGEN_TIMEOUT_S = 300


def port_args(machine, ports=None):
    args = []
    for nic in machine.nics:
        if ports is None or nic.index in ports:
            args += ["--port", f"{nic.index}={nic.host_port}:{nic.guest_port}"]
    return args


def pktgen(machine, *args, timeout=PKTGEN_TIMEOUT_S, ports=None):
    """Runs pktgen on the machine's ports (or those listed: another tool may
    own a port's socket, e.g. pktcap the capture port's); returns the
    CompletedProcess."""
    cmd = [PKTGEN] + port_args(machine, ports) + ["--timeout", str(timeout - 10), "--quiet"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def warm_up(machine, streams, tries=20):
    """Sends one probe frame per stream until all cross. QEMU's e1000 takes
    no RX for ~1 s after the driver writes RCTL (TRAPS.md), so the first
    frames after "ready" can vanish inside QEMU."""
    stream_args = [a for s in streams for a in ("--stream", s)]
    for _ in range(tries):
        r = pktgen(machine, *stream_args, "--count", "1", "--expect-all", "--wait-ms", "300",
                   timeout=30)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    check(False, f"no probe frame crossed after {tries} tries:\n{r.stdout}{r.stderr}", machine)


COUNTER_RE = re.compile(r"^port (\d+): rx (\d+) pkts (\d+) B, tx (\d+) pkts (\d+) B, "
                        r"rx_missed (\d+) rx_nobuf (\d+) tx_full (\d+) no_output (\d+)")


def read_counters(machine, command="stats", after_marker=None, timeout=20):
    """Sends `command` (unless None) and returns {port: dict} from the
    'port N: rx X pkts ...' lines that follow it, or that follow the last
    line containing after_marker."""
    start = len(machine.lines)
    if command:
        machine.send(command + "\r")
        machine.expect("pool:", timeout)
    if after_marker:
        marks = [i for i, (_, line) in enumerate(machine.lines) if after_marker in line]
        start = marks[-1] if marks else len(machine.lines)
    counters = {}
    for _, line in machine.lines[start:]:
        m = COUNTER_RE.match(line)
        if m:
            p = int(m.group(1))
            counters[p] = dict(rx=int(m.group(2)), rx_bytes=int(m.group(3)), tx=int(m.group(4)),
                               tx_bytes=int(m.group(5)), rx_missed=int(m.group(6)),
                               rx_nobuf=int(m.group(7)), tx_full=int(m.group(8)),
                               no_output=int(m.group(9)))
    return counters


def stream_result(stdout, tx, rx):
    m = re.search(rf"^stream {tx}->{rx}: sent (\d+) received (\d+) lost (\d+) reordered (\d+) "
                  rf"duplicate (\d+) corrupt (\d+) mac_mismatch (\d+)", stdout, re.M)
    if not m:
        return None
    keys = ("sent", "received", "lost", "reordered", "duplicate", "corrupt", "mac_mismatch")
    return dict(zip(keys, map(int, m.groups())))


def tshark_count(pcap, display_filter=None):
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-e", "frame.number"]
    if display_filter:
        cmd += ["-Y", display_filter]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"tshark failed: {r.stderr}")
    return len([ln for ln in r.stdout.splitlines() if ln.strip()])
