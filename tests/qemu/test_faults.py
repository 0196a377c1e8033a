"""Faults (issue 7): a NIC's link goes down and comes back, a peer stops
reading, a config file is wrong in the middle.

Link flap: QEMU's `set_link` (over QMP) unplugs a NIC's cable. pktmetal must
say so on the console, keep every buffer, count what it cannot send there
as link_down (QEMU would discard it without telling anyone), and forward
again with zero loss once the link returns. QEMU also discards what comes
in on the down link, so the test pauses its paced streams around the flap
and measures what it sends into the down link on its own.

Stalled peer: a virtio-net port wired to a unix stream socket
(`-netdev stream`, the one QEMU back end that pushes back) whose peer reads,
then stops. QEMU stops taking frames from the TX queue, the ring fills, and
pktmetal must count what it cannot send as tx_full while the other ports
forward exactly, then deliver everything it took once the peer reads again.

Each test prints one `figures:` line with what it measured.
"""
import os
import re
import shutil
import socket
import struct
import tempfile
import threading
import time

from qemutest import BOOT_TIMEOUT_S, EXIT_TIMEOUT_S, booted, check, qemu_status
from traffic import pktgen, read_counters, warm_up

PEER = {0: "02:00:00:00:00:b0", 1: "02:00:00:00:00:b1"}
L2FWD_CONF = "mode l2fwd\n" + "".join(f"port {p} peer-mac {mac}\n" for p, mac in PEER.items())
LINK_LINE_TIMEOUT_S = 15        # the link is polled once per stats interval (1 s)
RESUME_TIMEOUT_S = 30
FLAP_STREAM_FRAMES = 4000       # per direction, before and after the flap
FLAP_STREAM_RATE = 4000         # pps, both directions together
DOWN_FRAMES = 300               # per direction while the link is down
STALL_FRAMES = 12000            # per direction while the stream peer does not read
STALL_RATE = 6000               # pps, both directions together
RESUMED_FRAMES = 4000           # per direction once it reads again, and for the second stall
RESUMED_RATE = 4000
STUCK = 2                       # the port on the stream back end
BROADCAST = "ff:ff:ff:ff:ff:ff"
LINK_CHANGES_RE = re.compile(r"^port (\d+): rx \d+ pkts .* link_changes (\d+)")
DROPS_RE = re.compile(r"^drops: (.*)$")
POOL_RE = re.compile(r"^pool: \d+ of \d+ buffers in use")
EXIT_CONFIG = 1


def streams_exact(m, count, rate, *extra):
    """pktgen both ways between ports 0 and 1, every frame checked."""
    r = pktgen(m, "--stream", "0=1", "--stream", "1=0", "--count", str(count), "--rate", str(rate),
               "--size", "imix", "--flows", "16", "--expect-all", *extra, ports=(0, 1))
    check(r.returncode == 0 and "result: PASS" in r.stdout,
          f"pktgen: rc {r.returncode}\n{r.stdout}{r.stderr}", m)
    return r


def delta(after, before, port, key):
    return after[port][key] - before[port][key]


def link_changes(m, after_marker):
    """{port: link_changes} from the counter lines after the last marker line."""
    marks = [i for i, (_, line) in enumerate(m.lines) if after_marker in line]
    found = {}
    for _, line in m.lines[marks[-1] if marks else 0:]:
        hit = LINK_CHANGES_RE.match(line)
        if hit:
            found[int(hit.group(1))] = int(hit.group(2))
    return found


def last_stats_drops(m):
    """{reason: count} from the drops line of the last `stats` reply (the
    line before its closing `pool: N of M buffers in use`)."""
    lines = [line for _, line in m.lines]
    ends = [i for i, line in enumerate(lines) if POOL_RE.match(line)]
    if ends:
        for line in reversed(lines[:ends[-1]]):
            hit = DROPS_RE.match(line)
            if hit:
                return {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", hit.group(1))}
    return {}


def seconds_until_both_cross(m, since, timeout):
    """Sends one probe frame each way until both cross; returns the time from
    `since` (host monotonic) to the end of the first probe round that passed.
    A probe sent before the path is back is simply lost."""
    while time.monotonic() - since < timeout:
        r = pktgen(m, "--stream", "0=1", "--stream", "1=0", "--count", "1", "--expect-all",
                   "--wait-ms", "100", timeout=30, ports=(0, 1))
        if r.returncode == 0:
            return time.monotonic() - since
    check(False, f"no probe crossed both ways within {timeout} s of the link coming back", m)


def link_flap(image, nics, flap):
    other = 1 - flap
    with booted(image, L2FWD_CONF, nics=nics, big_rcvbuf=True, qmp=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        warm_up(m, ["0=1", "1=0"])
        streams_exact(m, FLAP_STREAM_FRAMES, FLAP_STREAM_RATE)

        # Paused: the flap itself. QEMU drops frames on both sides of the
        # down link, so what is sent now is measured, not streamed.
        before = read_counters(m)
        down_before = last_stats_drops(m).get("link_down", 0)
        t_off = time.monotonic()
        m.set_link(flap, False)
        t_down, _ = m.expect(f"port {flap}: link down", LINK_LINE_TIMEOUT_S)
        r = pktgen(m, "--stream", "0=1", "--stream", "1=0", "--count", str(DOWN_FRAMES),
                   "--rate", "1000", "--expect-none", "--wait-ms", "500", ports=(0, 1))
        check(r.returncode == 0, f"a frame crossed the down link:\n{r.stdout}{r.stderr}", m)
        during = read_counters(m)
        link_down = last_stats_drops(m).get("link_down", 0) - down_before
        check(delta(during, before, flap, "rx") == 0,
              f"port {flap} received with its link down: {during[flap]}", m)
        check(delta(during, before, other, "rx") == DOWN_FRAMES,
              f"port {other} took {delta(during, before, other, 'rx')} of {DOWN_FRAMES}", m)
        check(link_down == DOWN_FRAMES and delta(during, before, flap, "tx") == 0 and
              delta(during, before, flap, "tx_full") == 0,
              f"frames toward the down port: {link_down} counted link_down, "
              f"{delta(during, before, flap, 'tx')} sent, "
              f"{delta(during, before, flap, 'tx_full')} tx_full; {DOWN_FRAMES} received for it",
              m)
        check(delta(during, before, other, "tx") == 0, "frames left by the up port", m)

        t_on = time.monotonic()
        m.set_link(flap, True)
        resume_s = seconds_until_both_cross(m, t_on, RESUME_TIMEOUT_S)
        t_up, _ = m.expect(f"port {flap}: link up", LINK_LINE_TIMEOUT_S)
        streams_exact(m, FLAP_STREAM_FRAMES, FLAP_STREAM_RATE)
        read_counters(m)
        link_down_total = last_stats_drops(m).get("link_down", 0)

        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
        log = m.output()
        check("every buffer returned" in log, "pool in_use not back at baseline", m)
        check(f"port {other}: link" not in log, f"port {other}'s link was reported changing", m)
        changes = link_changes(m, "quit: stopping ports")
        check(changes == {flap: 2, other: 0}, f"link_changes at quit: {changes}", m)
        final = read_counters(m, command=None, after_marker="quit: stopping ports")
        # link_down is one counter for all ports: before the flap it can
        # only hold frames sent while a link came up at boot.
        received = final[0]["rx"] + final[1]["rx"]
        accounted = sum(final[p]["tx"] + final[p]["tx_full"] for p in (0, 1)) + link_down_total
        check(received == accounted,
              f"l2fwd: received {received}, sent or refused {accounted} (link_down "
              f"{link_down_total}): {final}", m)
        print(f"  figures: {nics[flap]} port {flap}: link down seen {t_down - t_off:.2f} s after "
              f"set_link off; {DOWN_FRAMES} frames sent to it discarded by QEMU, "
              f"{link_down} forwarded toward it counted link_down; "
              f"link up seen {t_up - t_on:.2f} s after set_link on; "
              f"traffic crossing again {resume_s:.2f} s after set_link on", flush=True)


def test_link_flap_e1000(image):
    link_flap(image, ("e1000", "virtio"), 0)


def test_link_flap_virtio(image):
    link_flap(image, ("e1000", "virtio"), 1)


class StreamPeer:
    """The far end of a `-netdev stream` NIC: listens on a unix socket that
    QEMU connects to, reads frames (a 4-byte big-endian length, then the
    frame) and counts them by source MAC, until told to stop reading. Then
    nothing drains the socket: once its buffers are full QEMU can write no
    more.

    Counting by source matters: before pktmetal starts, OVMF's own network
    stack sends a few IPv6 frames (MLD report, neighbour solicitation) from
    the NIC's MAC; in bridge mode pktmetal never originates a frame, so
    every frame it sends carries another host's source MAC."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pktmetal-peer-")
        self.path = os.path.join(self.dir, "peer.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.lock = threading.Lock()
        self.counts = {}             # source MAC -> [frames, bytes]
        self.reading = threading.Event()
        self.reading.set()
        self.stalled = threading.Event()     # set by the reader once it has stopped
        self.done = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.server.settimeout(BOOT_TIMEOUT_S)
            conn, _ = self.server.accept()
            conn.settimeout(0.1)
            pending = b""
            while not self.done.is_set():
                if not self.reading.is_set():
                    self.stalled.set()
                    self.reading.wait(0.1)
                    continue
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                pending += data
                while len(pending) >= 4:
                    (length,) = struct.unpack(">I", pending[:4])
                    if len(pending) < 4 + length:
                        break
                    self._count(pending[4:4 + length])
                    pending = pending[4 + length:]
            conn.close()
        except OSError as e:
            self.error = e

    def _count(self, frame):
        src = ":".join(f"{b:02x}" for b in frame[6:12])
        with self.lock:
            c = self.counts.setdefault(src, [0, 0])
            c[0] += 1
            c[1] += len(frame)

    def received(self, except_src):
        """(frames, bytes) read so far, leaving out those from except_src."""
        with self.lock:
            kept = [c for src, c in self.counts.items() if src != except_src]
        return sum(c[0] for c in kept), sum(c[1] for c in kept)

    def stall(self):
        """Stops reading; returns once the reader has finished its last recv."""
        self.reading.clear()
        if not self.stalled.wait(5):
            raise TimeoutError(f"stream peer did not stop reading (error: {self.error})")

    def resume(self):
        self.stalled.clear()
        self.reading.set()

    def wait_for(self, frames, except_src, timeout):
        """Waits until at least `frames` frames not from except_src were read;
        returns the seconds it took."""
        t0 = time.monotonic()
        while self.received(except_src)[0] < frames and time.monotonic() - t0 < timeout:
            time.sleep(0.01)
        return time.monotonic() - t0

    def close(self):
        self.done.set()
        self.thread.join(timeout=5)
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_peer_has_all(m, peer, port, timeout=20):
    """Polls pktmetal's counters until the peer has read every frame the port
    sent, frames and bytes; returns the counters."""
    t0 = time.monotonic()
    while True:
        c = read_counters(m)
        frames, nbytes = peer.received(except_src=m.nics[port].mac)
        if frames == c[port]["tx"] and nbytes == c[port]["tx_bytes"]:
            return c
        check(frames <= c[port]["tx"], f"the peer read {frames} frames, port {port} sent "
              f"{c[port]['tx']}; by source MAC: {peer.counts}", m)
        check(time.monotonic() - t0 < timeout,
              f"peer read {frames} frames {nbytes} B, port {port} sent {c[port]['tx']} "
              f"frames {c[port]['tx_bytes']} B (error: {peer.error})", m)
        time.sleep(0.2)


def test_stalled_peer_counts_tx_full_and_spares_the_other_ports(image):
    """Bridge over three ports: 0 and 1 on dgram, 2 (virtio-net) on a stream
    whose peer stops reading. Port 0's stream is broadcast, so the bridge
    floods every frame to port 1 (checked by pktgen) and to port 2; port 1's
    stream goes to port 0's learned MAC only."""
    peer = StreamPeer()
    try:
        with booted(image, "mode bridge\n", nics=("e1000", "virtio", "virtio"),
                    streams=(None, None, peer.path), big_rcvbuf=True) as m:
            m.expect("ready:", BOOT_TIMEOUT_S)
            warm_up(m, ["0=1", "1=0"])          # also teaches the bridge both MACs
            start = wait_peer_has_all(m, peer, STUCK)
            check(start[STUCK]["tx"] > 0, "nothing was flooded to the stream port", m)

            # The peer stops reading: QEMU fills the socket, keeps the frame
            # it cannot write and stops taking from the TX queue.
            peer.stall()
            streams_exact(m, STALL_FRAMES, STALL_RATE, "--dst-mac", f"0={BROADCAST}")
            stalled = read_counters(m)
            drops = last_stats_drops(m)
            full = delta(stalled, start, STUCK, "tx_full")
            taken = delta(stalled, start, STUCK, "tx")
            check(full > 0, f"port {STUCK}: no tx_full with its peer not reading", m)
            check(taken + full == STALL_FRAMES,
                  f"port {STUCK}: {taken} sent + {full} tx_full, {STALL_FRAMES} flooded to it", m)
            check(drops.get("tx_full") == stalled[STUCK]["tx_full"],
                  f"drops by reason {drops} disagree with port {STUCK}'s tx_full", m)
            for p in (0, 1):
                check(stalled[p]["tx_full"] == 0, f"port {p} counted tx_full", m)
            in_flight = stalled[STUCK]["tx"] - peer.received(m.nics[STUCK].mac)[0]

            # It reads again: everything the port took arrives, then it keeps up.
            peer.resume()
            drain_s = peer.wait_for(stalled[STUCK]["tx"], m.nics[STUCK].mac, 20)
            wait_peer_has_all(m, peer, STUCK)
            resumed_start = read_counters(m)
            streams_exact(m, RESUMED_FRAMES, RESUMED_RATE, "--dst-mac", f"0={BROADCAST}")
            resumed = wait_peer_has_all(m, peer, STUCK)
            resumed_full = delta(resumed, resumed_start, STUCK, "tx_full")
            check(delta(resumed, resumed_start, STUCK, "tx") + resumed_full == RESUMED_FRAMES,
                  f"port {STUCK} after the peer resumed: {resumed[STUCK]}", m)

            # It stops again, and pktmetal quits with the TX queue full.
            peer.stall()
            streams_exact(m, RESUMED_FRAMES, RESUMED_RATE, "--dst-mac", f"0={BROADCAST}")
            last = read_counters(m)
            check(delta(last, resumed, STUCK, "tx_full") > 0, "the second stall counted no tx_full", m)
            m.send("quit\r")
            check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
            check("every buffer returned" in m.output(),
                  "pool in_use not back at baseline after a stop with a full TX queue", m)
            print(f"  figures: stalled peer: {STALL_FRAMES} frames flooded to port {STUCK}, "
                  f"{taken} taken ({in_flight} held between the TX ring and the full socket), "
                  f"{full} tx_full; {STALL_FRAMES} each way between ports 0 and 1 exact; "
                  f"peer had every frame {drain_s:.2f} s after it resumed; after resuming "
                  f"{resumed_full} tx_full of {RESUMED_FRAMES}; second stall "
                  f"{delta(last, resumed, STUCK, 'tx_full')} tx_full, then quit; OVMF sent "
                  f"{peer.counts.get(m.nics[STUCK].mac, [0])[0]} frames of its own before ready",
                  flush=True)
    finally:
        peer.close()


def test_bad_line_in_the_middle_stops_before_any_port_starts(image):
    """A valid router config with one bad line (5 of 8): start-up stops at
    that line with its number, before any NIC, pool or table is set up."""
    conf = ("# router with an ACL\n"
            "mode router\n"
            "port 0 ip 10.1.0.1/24\n"
            "port 1 ip 10.2.0.1/24\n"
            "route 10.9.0.0/16 via 10.3.0.254\n"
            "neighbor 10.2.0.9 02:00:00:00:00:09\n"
            "acl deny proto tcp dport 23\n"
            "stats-interval-ms 500\n")
    with booted(image, conf) as m:
        rc = m.wait(BOOT_TIMEOUT_S)
        log = m.output()
        check("config:5: route: next hop 10.3.0.254 is not on any connected network" in log,
              "no line-numbered message for line 5", m)
        check(rc == qemu_status(EXIT_CONFIG), f"exit code {rc}, want {qemu_status(EXIT_CONFIG)}", m)
        for started in ("ready:", "pool:", "port 0:", "lpm:", "acl:"):
            check(started not in log, f"'{started}' printed: start-up went on past the bad line", m)


def test_port_lines_must_name_the_nics_found(image):
    """Parsed before the PCI scan, `port N` lines are checked against the
    NICs found before any of them starts: a port beyond the last NIC, and a
    capture port that is not the last, stop start-up with the line."""
    cases = (
        ("mode l2fwd\nport 0 peer-mac 02:00:00:00:00:01\nport 2 peer-mac 02:00:00:00:00:02\n",
         "config:3: port 2: only 2 NICs found (ports 0..1)"),
        ("mode l2fwd\nport 0 role capture\n",
         "config:2: port 0 role capture: the capture port must be the last port (1)"),
    )
    for conf, message in cases:
        with booted(image, conf) as m:
            rc = m.wait(BOOT_TIMEOUT_S)
            log = m.output()
            check(message in log, f"no '{message}'", m)
            check(rc == qemu_status(EXIT_CONFIG), f"exit code {rc}, want {qemu_status(EXIT_CONFIG)}", m)
            for started in ("ready:", "pool:", "port 0:"):
                check(started not in log, f"'{started}' printed: start-up went on past the bad line", m)


for _t in (test_link_flap_e1000, test_link_flap_virtio,
           test_stalled_peer_counts_tx_full_and_spares_the_other_ports):
    _t.exclusive = True
