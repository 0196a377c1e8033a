"""The QEMU processes the end-to-end benchmark drives, all built on
tools/pmqemu.py's Machine so NICs, dgram netdevs and serial handling are the
ones the tests use:

    PktmetalMachine   pktmetal under OVMF (pmqemu's command line) + -smp 1
    LinuxMachine      (linux_guest.py) Debian's kernel, -kernel/-initrd
    HubMachine        no guest: two dgram netdevs joined by a QEMU hub,
                      the ceiling of the path itself

Every one runs with the same receive-buffer shim on QEMU's dgram sockets
(build/tools/rcvbuf_preload.so, SO_RCVBUFFORCE at bind; TRAPS.md) and
the same optional CPU pinning (taskset), and reports what the shim set.
"""

import json
import re

import pmqemu

RCVBUF_RE = re.compile(r"^rcvbuf_preload: fd \d+: (\S+) (\d+), kernel reports (\d+)")


class BenchMachine(pmqemu.Machine):
    """pmqemu.Machine plus -smp, pinning, and the shim's report on COM1's stream."""

    def __init__(self, image, nics, cpu, smp=1, taskset=None, conf_text=None):
        super().__init__(image, conf_text=conf_text, nics=nics, cpu=cpu, big_rcvbuf=True)
        self.smp = smp
        self.taskset = taskset

    def qemu_command(self):
        raise NotImplementedError

    def command(self):
        pin = ["taskset", "-c", self.taskset] if self.taskset else []
        return pin + self.qemu_command()

    def environment(self):
        env = super().environment()
        env["PKTMETAL_RCVBUF_VERBOSE"] = "1"     # one line per socket, on QEMU's stderr
        return env

    def rcvbuf_report(self):
        """[(how, bytes asked, bytes the kernel reports)] for QEMU's dgram sockets."""
        found = []
        for _, line in self.lines:
            m = RCVBUF_RE.match(line)
            if m:
                found.append((m.group(1), int(m.group(2)), int(m.group(3))))
        return found


class PktmetalMachine(BenchMachine):
    def qemu_command(self):
        return pmqemu.Machine.command(self) + ["-smp", str(self.smp)]

    def guest_cycles_per_pkt(self, t_start, t_end):
        """Guest TSC cycles per packet in the pipeline (pipeline_run and
        flush, TX included, RX not: `loop` in the STATS line), over the
        statistics intervals that lie wholly between two host times; None
        when none does."""
        cycles = pkts = 0
        for t, line in self.lines:
            if not line.startswith("STATS ") or not t_start < t <= t_end:
                continue
            stats = json.loads(line[len("STATS "):])
            if t - stats["interval_ms"] / 1e3 < t_start:
                continue
            cycles += stats["loop"]["pipeline_cycles"]
            pkts += stats["loop"]["pipeline_pkts"]
        return round(cycles / pkts) if pkts else None


class HubMachine(BenchMachine):
    """QEMU with no machine at all: each Nic's dgram netdev goes to a port of
    hub 0, so a frame from one pktgen port leaves by the other."""

    def __init__(self, taskset=None):
        super().__init__(image=None, nics=("e1000", "e1000"), cpu=None, taskset=taskset)

    def _make_esp(self, conf_text):
        pass

    def qemu_command(self):
        cmd = ["qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
               "-monitor", "none", "-serial", "none"]
        for nic in self.nics:
            nd = f"n{nic.index}"
            cmd += ["-netdev",
                    f"dgram,id={nd},local.type=inet,local.host=127.0.0.1,local.port={nic.guest_port},"
                    f"remote.type=inet,remote.host=127.0.0.1,remote.port={nic.host_port}",
                    "-netdev", f"hubport,id=hub{nic.index},hubid=0,netdev={nd}"]
        return cmd
