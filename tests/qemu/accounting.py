"""The accounting invariant (issue 7), one check shared by every QEMU test
that moves traffic: every frame is accounted for, from the host's socket
through pktmetal and back.

    ledger = Ledger(machine)            # after warm-up, before the traffic
    runs = [pktgen(...), ...]           # the traffic, pktgen's reports kept
    ledger.check(runs)                  # after the traffic has finished

With Linux peers on taps (tests/qemu/netns.py) the host side is the taps'
own counters instead: Ledger(machine, taps={port: host}), check([]).

For each forwarding port p, over the span between the two snapshots:

  offered_p  = pktgen tx + ARP replies it sent on p
             = pktmetal rx_packets_p + peer_drops_p + rx_missed_p
    peer_drops: what QEMU's socket for p dropped before the guest saw it,
    read by pktgen on its own from /proc/net/udp (TRAPS.md), never computed
    as a remainder (with a tap: the tap's tx dropped); rx_missed: what the
    device reported missing.
  tx_packets_p = what pktgen read on p + what its socket dropped
               (or the tap's rx + rx dropped)

and for the image as a whole (net/pipeline.h, the ledger in `stats json`):

  received = sum of rx_packets;  forwarded = sum of tx_packets
  received + generated = forwarded + dropped by reason + consumed + parked
  and at `quit` (quit_clean) pool in_use is back at its baseline.

Frames QEMU discards on its own (the e1000's first second after RCTL is
written, a link that is down) happen outside the span: take the first
snapshot after warm-up and after a link comes back.
"""
import json
import re
import time

from qemutest import EXIT_TIMEOUT_S, check

PORT_LINE = re.compile(r"^port (\d+): tx (\d+) rx (\d+) .*?arp_replied (\d+) sock_drops (\d+)"
                       r"(?: tx_errors \d+)?(?: peer_drops (-?\d+))?", re.M)


def stats_json(machine, timeout=20):
    """Sends `stats json` and returns the STATS object it prints (its
    "interval_ms" is 0, which tells it from a per-interval line on COM1)."""
    start = len(machine.lines)
    machine.send("stats json\r")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, line in machine.lines[start:]:
            at = line.find("STATS {")
            if at >= 0 and '"interval_ms":0,' in line:
                return json.loads(line[at + len("STATS "):])
        time.sleep(0.05)
    raise AssertionError(f"stats json: no STATS line within {timeout} s")


def pktgen_ports(output):
    """{port: counters} summed over pktgen reports (stdout texts)."""
    ports = {}
    for text in output:
        for m in PORT_LINE.finditer(text):
            p = int(m.group(1))
            c = ports.setdefault(p, dict(tx=0, rx=0, arp_replied=0, sock_drops=0, peer_drops=0,
                                         peer_known=True))
            c["tx"] += int(m.group(2))
            c["rx"] += int(m.group(3))
            c["arp_replied"] += int(m.group(4))
            c["sock_drops"] += int(m.group(5))
            if m.group(6) is None:
                c["peer_known"] = False
            else:
                c["peer_drops"] += int(m.group(6))
    return ports


def tap_counters(host):
    """The stats64 of a peer's tap, read inside its namespace."""
    r = host.exec("ip", "-s", "-j", "link", "show", "dev", host.tap)
    st = json.loads(r.stdout)[0]["stats64"]
    return dict(tx=st["tx"]["packets"], tx_dropped=st["tx"]["dropped"],
                rx=st["rx"]["packets"], rx_dropped=st["rx"]["dropped"])


def _port_delta(before, after, key):
    return {p["port"]: p[key] - before[p["port"]][key] for p in after["ports"]}


class Ledger:
    """Snapshot of pktmetal's counters; check() compares the traffic since."""

    def __init__(self, machine, taps=None):
        self.machine = machine
        self.taps = taps or {}
        self.before, self.taps_before = self._snapshot()

    def _snapshot(self, tries=20):
        """The image's counters, and the taps' when there are taps. Linux
        peers may send at any moment (ARP, IPv6 ND): the snapshot is taken
        when the taps' counters did not move around the `stats json`."""
        for _ in range(tries):
            t1 = {p: tap_counters(h) for p, h in self.taps.items()}
            stats = stats_json(self.machine)
            t2 = {p: tap_counters(h) for p, h in self.taps.items()}
            if t1 == t2:
                return stats, t1
            time.sleep(0.2)
        check(False, f"accounting: the taps never stayed still for a snapshot: {t1} {t2}",
              self.machine)

    def _host_from_taps(self, taps_after):
        host = {}
        for p, a in taps_after.items():
            b = self.taps_before[p]
            host[p] = dict(tx=a["tx"] - b["tx"], arp_replied=0,
                           peer_drops=a["tx_dropped"] - b["tx_dropped"],
                           rx=a["rx"] - b["rx"], sock_drops=a["rx_dropped"] - b["rx_dropped"],
                           peer_known=True)
        return host

    def check(self, runs, host_ports=None):
        """runs: pktgen CompletedProcesses (or their stdout) since the
        snapshot ([] with taps); host_ports: the ports the host drove
        (default: every port pktgen reported, or every tap). Returns the
        deltas, for tests that want more."""
        m = self.machine
        after, taps_after = self._snapshot()
        before_ports = {p["port"]: p for p in self.before["ports"]}
        texts = [r if isinstance(r, str) else r.stdout for r in runs]
        host = self._host_from_taps(taps_after) if self.taps else pktgen_ports(texts)
        check(host, f"accounting: no pktgen port lines in {texts!r:.500}", m)
        forward = [p["port"] for p in after["ports"] if p["role"] == "forward"]
        d_rx = _port_delta(before_ports, after, "rx_packets")
        d_tx = _port_delta(before_ports, after, "tx_packets")
        d_missed = _port_delta(before_ports, after, "rx_missed")
        report = []
        for p in (host_ports if host_ports is not None else sorted(host)):
            c = host[p]
            check(c["peer_known"], f"accounting: pktgen could not read port {p}'s QEMU socket "
                                   "drops from /proc/net/udp", m)
            offered = c["tx"] + c["arp_replied"]
            seen = d_rx[p] + c["peer_drops"] + d_missed[p]
            report.append(f"port {p}: offered {offered} = rx {d_rx[p]} + QEMU-side drops "
                          f"{c['peer_drops']} + missed {d_missed[p]}; guest tx {d_tx[p]} = "
                          f"host rx {c['rx']} + host socket drops {c['sock_drops']}")
            check(offered == seen, "accounting: offered != received + QEMU socket drops + "
                                   "device misses\n" + "\n".join(report), m)
            check(d_tx[p] == c["rx"] + c["sock_drops"],
                  "accounting: what pktmetal sent != what the host received\n" +
                  "\n".join(report), m)
        lb, la = self.before["ledger"], after["ledger"]
        d = {k: la[k] - lb[k] for k in ("received", "generated", "forwarded", "dropped",
                                        "consumed")}
        d_parked = la["parked"] - lb["parked"]
        drops = {k: v - self.before["drops"].get(k, 0) for k, v in after["drops"].items()
                 if v != self.before["drops"].get(k, 0)}
        summary = (f"ledger delta {d}, parked {lb['parked']} -> {la['parked']}, drops {drops}\n" +
                   "\n".join(report))
        check(d["received"] == sum(d_rx[p] for p in forward),
              "accounting: the pipeline's received != the ports' rx_packets\n" + summary, m)
        check(d["forwarded"] == sum(d_tx[p] for p in forward),
              "accounting: the pipeline's forwarded != the ports' tx_packets\n" + summary, m)
        check(d["received"] + d["generated"] ==
              d["forwarded"] + d["dropped"] + d["consumed"] + d_parked,
              "accounting: received + generated != forwarded + dropped + consumed + parked\n" +
              summary, m)
        return dict(ports=report, ledger=d, drops=drops, after=after)


def quit_clean(machine, timeout=EXIT_TIMEOUT_S):
    """The last part of the invariant: `quit` stops the ports, which return
    every buffer (TX rings hold sent buffers until their next burst, so
    in_use is exact only then), and the image exits 0."""
    machine.send("quit\r")
    check(machine.wait(timeout) == 0, "quit should exit 0", machine)
    check("every buffer returned" in machine.output(),
          "accounting: pool in_use not back at baseline after quit", machine)
