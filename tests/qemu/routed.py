"""Traffic through pktmetal's router between two simulated hosts, for the
tests that route in bulk (overload, soak), and the periodic STATS lines
they read back: host 0 (10.1.0.2) behind port 0,
host 1 (10.2.0.2) behind port 1, both static neighbours so that no ARP
resolution is part of the experiment. pktgen plays both hosts and checks
that every routed frame arrives with the router's MAC as source, the host's
as destination and the TTL decremented."""
import json
import os
import subprocess
import time

import pmqemu
from qemutest import check

PKTGEN = os.path.join(pmqemu.ROOT, "build", "tools", "pktgen")
HOST_MAC = {0: "02:00:00:00:00:00", 1: "02:00:00:00:00:01"}
HOST_IP = {0: "10.1.0.2", 1: "10.2.0.2"}
ROUTER_IP = {0: "10.1.0.1", 1: "10.2.0.1"}
TTL = 64

ROUTER_CONF = f"""mode router
port 0 ip {ROUTER_IP[0]}/24
port 1 ip {ROUTER_IP[1]}/24
neighbor {HOST_IP[0]} {HOST_MAC[0]}
neighbor {HOST_IP[1]} {HOST_MAC[1]}
"""


def host_args(m):
    """pktgen's --port options: each host with its MAC and address (it
    answers ARP for the address)."""
    args = []
    for p in (0, 1):
        nic = m.nics[p]
        args += ["--port", f"{p}={nic.host_port}:{nic.guest_port},mac={HOST_MAC[p]},ip={HOST_IP[p]}"]
    return args


def routed_args(m):
    """Streams 0->1 and 1->0 addressed to the far host through the router,
    with the rewrite checks (they apply with --expect-all)."""
    args = ["--stream", "0=1", "--stream", "1=0", "--ttl", str(TTL)]
    for tx, rx in ((0, 1), (1, 0)):
        args += ["--dst-mac", f"{tx}={m.nics[tx].mac}", "--dst-ip", f"{tx}={HOST_IP[rx]}",
                 "--expect-smac", f"{rx}={m.nics[rx].mac}", "--expect-dmac", f"{rx}={HOST_MAC[rx]}",
                 "--expect-ttl", f"{rx}={TTL - 1}"]
    return args


def pktgen_cmd(m, args, timeout_s):
    return [PKTGEN] + host_args(m) + ["--quiet", "--timeout", str(timeout_s)] + list(args)


def run(m, args, timeout_s=200):
    """Runs pktgen to the end; returns the CompletedProcess."""
    return subprocess.run(pktgen_cmd(m, args, timeout_s), capture_output=True, text=True,
                          timeout=timeout_s + 30)


def start(m, args, timeout_s=200):
    """Starts pktgen in the background (stdout and stderr to pipes)."""
    return subprocess.Popen(pktgen_cmd(m, args, timeout_s), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def warm_up(m, tries=20):
    """One routed frame each way until both cross: QEMU's e1000 takes no RX
    for ~1 s after the driver writes RCTL (TRAPS.md)."""
    for _ in range(tries):
        r = run(m, routed_args(m) + ["--count", "1", "--expect-all", "--wait-ms", "300"],
                timeout_s=20)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    check(False, f"no routed probe crossed after {tries} tries:\n{r.stdout}{r.stderr}", m)


def field(text, prefix, key):
    """The integer or float after key on pktgen's line starting with prefix."""
    for line in text.splitlines():
        if line.startswith(prefix):
            words = line.split()
            if key in words:
                value = words[words.index(key) + 1]
                return float(value) if "." in value else int(value)
    raise AssertionError(f"pktgen printed no '{prefix} ... {key}' in:\n{text}")


def periodic_stats(m, since, until):
    """The periodic STATS objects COM1 printed between two host times (the
    prompt may precede one on its line)."""
    out = []
    for t, line in list(m.lines):
        at = line.find("STATS {")
        if since <= t <= until and at >= 0 and '"interval_ms":0,' not in line:
            out.append(json.loads(line[at + len("STATS "):]))
    return out
