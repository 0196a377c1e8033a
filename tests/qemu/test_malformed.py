"""Every drop reason the wire can provoke (issue 4): pktgen replays a corpus
of malformed and unroutable frames into the router; each must be dropped
and counted under its own reason, pktmetal must keep running, and the pool
must be back at its baseline afterwards."""
import os
import re

from accounting import Ledger, quit_clean
from malformed import corpus, write_pcap
from qemutest import BOOT_TIMEOUT_S, booted, check
from traffic import pktgen

CONF = """mode router
port 0 ip 10.1.0.1/24
port 1 ip 10.2.0.1/24
neighbor 10.2.0.9 02:00:00:00:00:09
acl deny proto udp dport 666
"""
REPEAT = 3


def test_each_malformed_frame_is_dropped_under_its_reason(image):
    frames = corpus() * REPEAT
    with booted(image, CONF, nics=("virtio", "virtio")) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        pcap = os.path.join(m.workdir, "corpus.pcap")
        write_pcap(pcap, frames)
        ledger = Ledger(m)
        r = pktgen(m, "--replay", pcap, "--tx-port", "0", "--rate", "200", "--wait-ms", "500")
        check(r.returncode == 0, f"pktgen replay failed: {r.stdout}{r.stderr}", m)
        m.send("stats\r")
        _, line = m.expect("drops:", 10)
        got = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", line.split("drops:", 1)[1]))
        want = {}
        for reason, _ in frames:
            want[reason] = want.get(reason, 0) + 1
        for reason, n in want.items():
            check(got.get(reason) == n, f"{reason}: counted {got.get(reason)}, sent {n}\n{line}", m)
        ledger.check([r])
        quit_clean(m)


test_each_malformed_frame_is_dropped_under_its_reason.exclusive = True
