"""Packet I/O end to end (issue 3): l2fwd across each pair of NIC models and
reflect on each model. pktgen offers traffic on both ports at once, below the
loss-free rate, and checks every frame arrived intact, in per-flow order,
with the MACs rewritten; tshark checks pktgen's capture independently; the
serial counters must match pktgen's, the accounting invariant must hold
(tests/qemu/accounting.py) and the pool must be back at baseline."""
import os

from accounting import Ledger, quit_clean
from qemutest import BOOT_TIMEOUT_S, EXIT_TIMEOUT_S, booted, check
from traffic import pktgen, read_counters, stream_result, tshark_count, warm_up

L2FWD_FRAMES = 100000          # per port
L2FWD_RATE = 20000             # pps, both ports together (loss-free here: ~10 kpps a port)
PEER = {0: "02:00:00:00:00:b0", 1: "02:00:00:00:00:b1"}


def l2fwd_both_ways(image, nics):
    conf = "mode l2fwd\n" + "".join(f"port {p} peer-mac {mac}\n" for p, mac in PEER.items())
    with booted(image, conf, nics=nics, big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        warm_up(m, ["0=1", "1=0"])
        before = read_counters(m)
        ledger = Ledger(m)
        pcap = os.path.join(m.workdir, "rx.pcap")
        r = pktgen(m, "--stream", "0=1", "--stream", "1=0", "--count", str(L2FWD_FRAMES),
                   "--size", "imix", "--flows", "16", "--rate", str(L2FWD_RATE),
                   "--expect-all", "--write", pcap,
                   "--expect-smac", f"1={m.nics[1].mac}", "--expect-dmac", f"1={PEER[1]}",
                   "--expect-smac", f"0={m.nics[0].mac}", "--expect-dmac", f"0={PEER[0]}")
        check(r.returncode == 0 and "result: PASS" in r.stdout,
              f"pktgen: rc {r.returncode}\n{r.stdout}{r.stderr}", m)
        for tx, rx in ((0, 1), (1, 0)):
            s = stream_result(r.stdout, tx, rx)
            check(s and s["received"] == L2FWD_FRAMES, f"stream {tx}->{rx}: {s}", m)
        check(tshark_count(pcap) == 2 * L2FWD_FRAMES, "tshark frame count differs", m)
        check(tshark_count(pcap, "_ws.malformed || _ws.expert.severity >= warning") == 0,
              "tshark finds malformed frames", m)
        check(tshark_count(pcap, "frame.len == 60") > 0 and tshark_count(pcap, "frame.len == 1514") > 0,
              "60- and 1514-byte frames did not both cross", m)
        ledger.check([r])
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
        after = read_counters(m, command=None, after_marker="quit: stopping ports")
        for p in (0, 1):
            for key in ("rx", "tx"):
                got = after[p][key] - before[p][key]
                check(got == L2FWD_FRAMES, f"port {p} {key} counted {got}, pktgen sent {L2FWD_FRAMES}", m)
        check("every buffer returned" in m.output(), "pool in_use not back at baseline", m)


def reflect_one(image, nic):
    with booted(image, "mode reflect\n", nics=(nic,), big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        guest_mac = m.nics[0].mac
        warm_up(m, ["0=0"])
        ledger = Ledger(m)
        r = pktgen(m, "--stream", "0=0", "--count", "20000", "--size", "imix", "--flows", "4",
                   "--rate", "10000", "--dst-mac", f"0={guest_mac}", "--expect-all",
                   "--expect-smac", f"0={guest_mac}", "--expect-dmac", "0=02:00:00:00:00:00")
        check(r.returncode == 0 and "result: PASS" in r.stdout,
              f"pktgen: rc {r.returncode}\n{r.stdout}{r.stderr}", m)
        ledger.check([r])
        quit_clean(m)


def test_l2fwd_e1000_to_e1000(image):
    l2fwd_both_ways(image, ("e1000", "e1000"))


def test_l2fwd_virtio_to_virtio(image):
    l2fwd_both_ways(image, ("virtio", "virtio"))


def test_l2fwd_e1000_to_virtio(image):
    l2fwd_both_ways(image, ("e1000", "virtio-modern"))


def test_reflect_e1000(image):
    reflect_one(image, "e1000")


def test_reflect_virtio(image):
    reflect_one(image, "virtio")


for _t in (test_l2fwd_e1000_to_e1000, test_l2fwd_virtio_to_virtio, test_l2fwd_e1000_to_virtio,
           test_reflect_e1000, test_reflect_virtio):
    _t.exclusive = True
