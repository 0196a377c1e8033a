"""Real Linux hosts for the QEMU tests: network namespaces, each with a tap
device that QEMU wires to one pktmetal port.

QEMU opens a tap by name in its own (the root) namespace, so each tap is
created there, QEMU attaches to it, and only then is the tap moved into its
namespace, where it gets its address and routes. Deleting the namespace
deletes the tap. Names carry the test process id so parallel runs and
leftovers of a killed run never collide; addresses live only inside the
namespaces.
"""
import os
import subprocess
import time


def sh(*args, check=True, timeout=30, ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


class Host:
    def __init__(self, tag, index, addr, gw=None):
        suffix = f"{os.getpid() % 100000}{tag}{index}"
        self.ns = f"pm{suffix}"
        self.tap = f"pmt{suffix}"[:15]
        self.addr = addr              # "10.10.1.2/24"
        self.gw = gw
        self.ip = addr.split("/")[0]

    def exec(self, *args, check=True, timeout=30):
        return sh(*args, check=check, timeout=timeout, ns=self.ns)

    def popen(self, *args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns] + list(args), **kw)


class Peers:
    """Context manager: creates the taps before QEMU starts (taps()), moves
    and configures them once QEMU has attached (attach()), removes all."""

    def __init__(self, tag, specs):
        self.hosts = [Host(tag, i, addr, gw) for i, (addr, gw) in enumerate(specs)]

    def __enter__(self):
        for h in self.hosts:
            sh("ip", "netns", "add", h.ns)
            sh("ip", "tuntap", "add", "dev", h.tap, "mode", "tap")
        return self

    def taps(self):
        return [h.tap for h in self.hosts]

    def attach(self):
        """Moves each tap into its namespace and configures it. Call once
        QEMU has started the guest: QEMU opens its taps before the firmware
        runs, so by the guest's first line they are held."""
        for h in self.hosts:
            sh("ip", "link", "set", h.tap, "netns", h.ns)
            h.exec("ip", "link", "set", "lo", "up")
            h.exec("ip", "link", "set", h.tap, "up")
            h.exec("ip", "addr", "add", h.addr, "dev", h.tap)
            if h.gw:
                h.exec("ip", "route", "add", "default", "via", h.gw)

    def __exit__(self, *exc):
        for h in self.hosts:
            sh("ip", "netns", "del", h.ns, check=False)
            sh("ip", "link", "del", h.tap, check=False)
        return False
