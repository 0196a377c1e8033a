"""Hostile input through QEMU (issue 7): pktgen replays crafted frames into
the router (three ports, an ACL; tests/qemu/hostile.py builds the frames
and says what must become of each). Every phase is checked against the
image's counters and against what the host received:

  - the accounting invariant over the phase (accounting.Ledger: offered =
    received + QEMU socket drops + device misses, port by port; sent = what
    the host read; received + generated = forwarded + dropped + consumed +
    parked), and at `quit` every buffer back in the pool;
  - each drop reason moved by exactly the number of frames meant for it,
    and no other reason moved (when QEMU's socket lost nothing; otherwise by
    no more than that);
  - what left each port is what the cases say: the frames to forward (at
    their expected length), the replies, the ICMP errors; nothing else;
  - the image is alive: its console answers `stats` after the phase.

Frames the emulated NIC discards before the guest sees them (hostile.py
says which, from QEMU's source) cannot be in the invariant, which counts
what QEMU's socket and the device report: they go in a phase of their own,
outside any ledger, which checks that the image received none of them and
sent nothing.

ICMP floods check the rate limits against the bucket sizes in
net/router.h; the ARP storm checks that the neighbour table stays bounded
and that configured next hops, one resolved by ARP after the storm and one
static, still forward a paced stream with zero loss.
"""
import collections
import os
import re
import subprocess
import time

import hostile
from accounting import Ledger, quit_clean, stats_json
from hostile import NIC, REPLY
from malformed import corpus as one_frame_per_reason
from qemutest import BOOT_TIMEOUT_S, booted, check
from traffic import PKTGEN

REPLAY_RATE = 400        # frames per second for the case corpora: well inside what QEMU carries
PKTGEN_TIMEOUT_S = 120

TOTAL_RE = re.compile(r"^total: offered ([\d.]+) pps .* sent (\d+)", re.M)
PEER_DROPS_RE = re.compile(r"^port (\d+): .* peer_drops (-?\d+)", re.M)
ARP_SUMMARY_RE = re.compile(r"(\d+) of (\d+) entries in use; not learned \(no free entry\) (\d+), "
                            r"next hops refused \(table full\) (\d+)")

Delta = collections.namedtuple("Delta", "rx tx drops")


class Replay(collections.namedtuple("Replay", "sent seconds peer_drops received stdout")):
    def lost_in_qemu(self):
        return sum(self.peer_drops.values())

    def from_router(self, port=None, kind=None):
        return [r for r in self.received
                if r.port is not None and (port is None or r.port == port)
                and (kind is None or r.kind == kind)]


class Rig:
    """One booted router and the host side of its three ports."""

    def __init__(self, machine):
        self.m = machine
        self.nb_runs = 0

    def port_args(self):
        args = []
        for nic in self.m.nics:
            ip = ".".join(map(str, hostile.HOST_IP[nic.index]))
            args += ["--port", f"{nic.index}={nic.host_port}:{nic.guest_port},ip={ip}"]
        return args

    def pktgen(self, *args, timeout=PKTGEN_TIMEOUT_S):
        cmd = [PKTGEN] + self.port_args() + ["--timeout", str(timeout - 10), "--quiet"] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def console(self, command, until, timeout=30):
        """Sends a console command; returns the lines it printed, up to and
        including the first containing `until`."""
        start = len(self.m.lines)
        self.m.send(command + "\r")
        self.m.expect(until, timeout)
        lines = [line for _, line in self.m.lines[start:]]
        end = next(i for i, line in enumerate(lines) if until in line)
        return lines[:end + 1]

    def alive(self, title):
        lines = self.console("stats", "buffers in use")
        check(any(line.startswith("drops:") for line in lines),
              f"{title}: `stats` printed no drops line", self.m)

    def replay(self, frames, port, rate, wait_ms=500):
        """Sends frames (bytes, or Cases) on port at rate; returns what
        pktgen counted and every frame the host received."""
        self.nb_runs += 1
        pcap = os.path.join(self.m.workdir, f"replay{self.nb_runs}.pcap")
        got = os.path.join(self.m.workdir, f"received{self.nb_runs}.pcap")
        if frames and isinstance(frames[0], hostile.Case):
            hostile.write_cases(pcap, frames)
        else:
            hostile.write_frames(pcap, frames)
        r = self.pktgen("--replay", pcap, "--tx-port", str(port), "--rate", str(rate),
                        "--wait-ms", str(wait_ms), "--write", got)
        check(r.returncode == 0, f"pktgen replay failed: {r.stdout}{r.stderr}", self.m)
        total = TOTAL_RE.search(r.stdout)
        peer = {int(p): max(0, int(n)) for p, n in PEER_DROPS_RE.findall(r.stdout)}
        check(total and len(peer) == hostile.NB_PORTS, f"pktgen said: {r.stdout}", self.m)
        sent, offered_pps = int(total.group(2)), float(total.group(1))
        received = [hostile.classify(f) for f in hostile.read_pcap(got)]
        return Replay(sent=sent, seconds=sent / offered_pps if offered_pps else 0.0,
                      peer_drops=peer, received=received, stdout=r.stdout)

    def accounted_replay(self, title, frames, port, rate, wait_ms=500):
        """A replay inside a ledger: the invariant checked over it. Returns
        the replay and the counters' deltas."""
        ledger = Ledger(self.m)
        r = self.replay(frames, port, rate, wait_ms)
        res = ledger.check([r.stdout])
        before = {p["port"]: p for p in ledger.before["ports"]}
        d = Delta({p["port"]: p["rx_packets"] - before[p["port"]]["rx_packets"]
                   for p in res["after"]["ports"]},
                  {p["port"]: p["tx_packets"] - before[p["port"]]["tx_packets"]
                   for p in res["after"]["ports"]},
                  res["drops"])
        check(r.sent == len(frames), f"{title}: pktgen sent {r.sent} of {len(frames)}", self.m)
        strays = [x for x in r.received if x.port is None]
        check(not strays, f"{title}: frames from no router port: {strays[:3]}", self.m)
        self.alive(title)
        return r, d

    def arp_table(self):
        """The `arp` rows (ip -> (mac, state)) and the summary numbers."""
        lines = self.console("arp", "entries in use", timeout=60)
        rows = {}
        for line in lines:
            f = line.split()
            if len(f) == 6 and f[0].count(".") == 3:
                rows[f[0]] = (f[1], f[2])
        m = ARP_SUMMARY_RE.search(lines[-1])
        check(m, f"no summary line after arp: {lines[-1]}", self.m)
        return rows, tuple(map(int, m.groups()))


def counters_seen(stats):
    """What a frame reaching the image would move: the ports' packet
    counters, the drops, the ledger."""
    ports = [{k: v for k, v in p.items() if k.endswith(("_packets", "_missed", "_nobuf"))}
             for p in stats["ports"]]
    return ports, stats["drops"], stats["ledger"]


def discarded_by_nic(rig, title, cases, port):
    """Frames the NIC model throws away: the image must not see one (its
    rx_packets and drops stay put) nor send anything."""
    before = counters_seen(stats_json(rig.m))
    r = rig.replay(cases, port, REPLAY_RATE)
    after = counters_seen(stats_json(rig.m))
    check(before == after, f"{title}: the image saw frames its NIC should have discarded\n"
          f"{describe(cases)}\nbefore {before}\nafter  {after}", rig.m)
    check(r.sent == len(cases) and not r.received,
          f"{title}: sent {r.sent} of {len(cases)}, {len(r.received)} came back", rig.m)


def run_cases(rig, title, cases, port, rate=REPLAY_RATE):
    """Replays cases into port and checks every counter they should move."""
    nic = [c for c in cases if c.expect == NIC]
    if nic:
        discarded_by_nic(rig, title + ", discarded by the NIC model", nic, port)
    cases = [c for c in cases if c.expect != NIC]
    r, d = rig.accounted_replay(title, cases, port, rate)

    want_drops = collections.Counter(c.expect for c in cases
                                     if isinstance(c.expect, str) and c.expect != REPLY)
    want_fwd = collections.defaultdict(list)
    for c in cases:
        if c.forwarded_to() is not None:
            want_fwd[c.forwarded_to()].append(c.out_len or len(c.frame))
    want_replies = sum(c.expect == REPLY for c in cases)
    want_icmp = sum(c.icmp for c in cases)
    got_replies = len(r.from_router(port, "arp_reply")) + len(r.from_router(port, "echo_reply"))
    got_icmp = len(r.from_router(port, "icmp_error"))
    exact = r.lost_in_qemu() == 0
    for reason in set(want_drops) | set(d.drops):
        got, want = d.drops.get(reason, 0), want_drops.get(reason, 0)
        check(got == want if exact else got <= want,
              f"{title}: {reason} moved by {got}, cases want {want}\n{describe(cases)}", rig.m)
    for p in range(hostile.NB_PORTS):
        got = sorted(x.length for x in r.from_router(p, "forwarded"))
        want = sorted(want_fwd.get(p, []))
        check(got == want if exact else set(got) <= set(want),
              f"{title}: port {p} forwarded frames of {got} bytes, cases want {want}", rig.m)
    check(got_replies == want_replies if exact else got_replies <= want_replies,
          f"{title}: {got_replies} replies, cases want {want_replies}", rig.m)
    check(got_icmp == want_icmp if exact else got_icmp <= want_icmp,
          f"{title}: {got_icmp} ICMP errors, cases want {want_icmp}", rig.m)
    return r, d


def describe(cases):
    return "\n".join(f"  {c.name}: {c.expect}" for c in cases)


def warm_up_e1000(rig):
    """QEMU's e1000 takes no frames for ~1 s after the driver's RCTL write
    (TRAPS.md): probe from port 1 to port 2's static neighbour until one
    crosses, so no case frame vanishes inside QEMU uncounted."""
    for _ in range(20):
        r = rig.pktgen("--stream", "1=2", "--count", "1", "--dst-mac",
                       "1=" + mac_text(hostile.ROUTER_MAC[1]),
                       "--expect-all", "--wait-ms", "300", timeout=30)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    check(False, f"no probe crossed port 1 -> 2:\n{r.stdout}{r.stderr}", rig.m)


def mac_text(mac):
    return ":".join("%02x" % b for b in mac)


def ip_text(ip):
    return ".".join(map(str, ip))


# --- the tests ----------------------------------------------------------------

def test_hostile_frames_are_dropped_by_reason_and_nothing_else_forwarded(image):
    """Runts, jumbos on both NIC models, every malformed header, every MAC
    a frame can be addressed to on every port, VLAN tags, IPv4 options and
    fragments, IPv6 extension header chains."""
    with booted(image, hostile.CONF, nics=hostile.NICS) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        rig = Rig(m)
        warm_up_e1000(rig)
        run_cases(rig, "runts into virtio", hostile.runts(), 0)
        run_cases(rig, "jumbos into virtio", hostile.jumbos(0, "virtio"), 0)
        run_cases(rig, "jumbos into e1000", hostile.jumbos(1, "e1000"), 1)
        # malformed.py's corpus: each frame's name is its reason.
        corpus = [hostile.case(name, frame, name, icmp=int(name in ("ttl_expired", "no_route")))
                  for name, frame in one_frame_per_reason()]
        run_cases(rig, "malformed headers", corpus + hostile.malformed_headers(), 0)
        for p in range(hostile.NB_PORTS):
            run_cases(rig, f"addressed to every mac, into port {p}", hostile.addressed(p), p)
        run_cases(rig, "vlan tags into virtio", hostile.vlan_tagged(0), 0)
        run_cases(rig, "vlan tags into e1000", hostile.vlan_tagged(1), 1)
        run_cases(rig, "ipv4 options and fragments", hostile.options_and_fragments(), 0)
        run_cases(rig, "ipv6 extension header chains", hostile.ipv6_chains(), 0)
        quit_clean(m)


def rate_limited(rig, title, frames, rate, kind, per_s, burst):
    """Floods port 0 with frames that each earn one ICMP message of kind;
    checks that the messages sent stay within the bucket: per_s a second
    over the flood (plus a second for frames still queued when it ended)
    plus the burst, and at least the burst."""
    r, d = rig.accounted_replay(title, frames, 0, rate)
    sent_back = len(r.from_router(0, kind))
    bound = per_s * (r.seconds + 1) + burst
    received = d.rx[0]
    check(0 < sent_back <= bound, f"{title}: {sent_back} {kind} for {received} received over "
          f"{r.seconds:.2f} s; the bucket allows at most {bound:.0f}", rig.m)
    check(sent_back >= min(burst, received), f"{title}: only {sent_back} {kind}, less than "
          f"the burst of {burst}", rig.m)
    check(len(r.from_router(0)) == sent_back and not r.from_router(1) and not r.from_router(2),
          f"{title}: something else left the router", rig.m)
    return r, d, sent_back


# Rates below the defaults (router.h), so the test also shows the
# icmp-rate / icmp-echo-rate directives reach the router.
ECHO_RATE, ICMP_RATE = 400, 50


def test_icmp_floods_get_rate_limited_answers(image):
    conf = hostile.CONF + f"icmp-echo-rate {ECHO_RATE}\nicmp-rate {ICMP_RATE}\n"
    with booted(image, conf, nics=hostile.NICS) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        rig = Rig(m)
        title = "echo flood"
        r, d, replies = rate_limited(rig, title, hostile.echo_flood(5000), 2500, "echo_reply",
                                     ECHO_RATE, ECHO_RATE // 2)
        limited = d.drops.get("icmp_rate_limit", 0)
        check(replies + limited == d.rx[0] and set(d.drops) <= {"icmp_rate_limit"},
              f"{title}: {replies} replies + {limited} icmp_rate_limit != {d.rx[0]} received; "
              f"drops {d.drops}", m)
        check(limited > 0, f"{title}: nothing was rate-limited ({replies} replies in "
              f"{r.seconds:.2f} s)", m)

        title = "ttl 1 flood"
        r, d, errors = rate_limited(rig, title, hostile.ttl1_flood(4000), 2000, "icmp_error",
                                    ICMP_RATE, ICMP_RATE // 2)
        check(d.drops == {"ttl_expired": d.rx[0]}, f"{title}: drops {d.drops}, received "
              f"{d.rx[0]}", m)
        check(all(x.frame[34] == 11 for x in r.from_router(0, "icmp_error")),
              f"{title}: ICMP errors other than time exceeded", m)
        quit_clean(m)


STORM_FRAMES = 15000
STORM_RATE = 10000
STREAM_FRAMES = 2000
STREAM_RATE = 1000


def stream_after_storm(rig, rx_port, dst_ip):
    """A paced stream from port 0's host through the router to dst_ip,
    which leaves by rx_port: every frame must arrive, rewritten."""
    common = ["--stream", f"0={rx_port}", "--dst-mac", "0=" + mac_text(hostile.ROUTER_MAC[0]),
              "--dst-ip", "0=" + dst_ip,
              "--expect-smac", f"{rx_port}=" + mac_text(hostile.ROUTER_MAC[rx_port]),
              "--expect-dmac", f"{rx_port}=" + mac_text(hostile.HOST_MAC[rx_port]),
              "--ttl", "64", "--expect-ttl", f"{rx_port}=63"]
    # The first frame makes the router resolve a next hop it may not have
    # yet; send single probes until one crosses, then the paced stream.
    for _ in range(20):
        probe = rig.pktgen(*common, "--count", "1", "--expect-all", "--wait-ms", "300", timeout=30)
        if probe.returncode == 0:
            break
        time.sleep(0.2)
    check(probe.returncode == 0, f"no probe crossed to {dst_ip}:\n{probe.stdout}", rig.m)
    ledger = Ledger(rig.m)
    r = rig.pktgen(*common, "--count", str(STREAM_FRAMES), "--rate", str(STREAM_RATE),
                   "--expect-all", "--wait-ms", "1000")
    check(r.returncode == 0, f"stream to {dst_ip} after the ARP storm:\n{r.stdout}{r.stderr}",
          rig.m)
    ledger.check([r])
    rig.alive(f"stream to {dst_ip}")


def test_arp_storm_keeps_the_table_bounded_and_next_hops_working(image):
    with booted(image, hostile.CONF, nics=hostile.NICS) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        rig = Rig(m)
        title = "arp storm"
        frames, nb_for_us = hostile.arp_storm(STORM_FRAMES)
        r, d = rig.accounted_replay(title, frames, 0, STORM_RATE, wait_ms=1000)
        replies = len(r.from_router(0, "arp_reply"))
        ignored = d.drops.get("not_for_us", 0)
        check(set(d.drops) <= {"not_for_us"} and replies + ignored == d.rx[0],
              f"{title}: {replies} replies + {ignored} not_for_us != {d.rx[0]} received; "
              f"drops {d.drops}", m)
        check(replies <= nb_for_us and ignored <= STORM_FRAMES - nb_for_us,
              f"{title}: {replies} replies, {ignored} ignored for {nb_for_us} requests for us", m)
        if r.lost_in_qemu() == 0:
            check(replies == nb_for_us, f"{title}: {replies} replies to {nb_for_us} requests", m)
        check(not r.from_router(1) and not r.from_router(2), f"{title}: frames left other ports",
              m)

        # Every request for us came from a new sender: the table fills up
        # (the static entry and as many senders as fit) and stops there.
        rows, (in_use, size, not_learned, refused) = rig.arp_table()
        check(size == hostile.ROUTER_MAX_NEIGHBORS and in_use == len(rows),
              f"arp: {in_use} of {size} in use, {len(rows)} rows", m)
        want_in_use = min(size, 1 + replies)
        check(in_use == want_in_use and not_learned == replies - (in_use - 1),
              f"arp: {in_use} in use (want {want_in_use}), {not_learned} not learned after "
              f"{replies} requests from new senders", m)
        check(rows.get("10.3.0.2", ("", ""))[1] == "static", "the static neighbour is gone", m)

        stream_after_storm(rig, 1, ip_text(hostile.GATEWAY_NET))   # via 10.2.0.2, resolved now
        stream_after_storm(rig, 2, ip_text(hostile.HOST_IP[2]))     # the static neighbour
        rows, (in_use, size, not_learned, refused) = rig.arp_table()
        check(in_use <= size and refused == 0, f"arp after the streams: {in_use} of {size}, "
              f"{refused} next hops refused", m)
        check(rows.get("10.2.0.2", ("", ""))[1] == "reachable",
              f"the gateway 10.2.0.2 is {rows.get('10.2.0.2')}", m)
        quit_clean(m)


test_hostile_frames_are_dropped_by_reason_and_nothing_else_forwarded.exclusive = True
test_icmp_floods_get_rate_limited_answers.exclusive = True
test_arp_storm_keeps_the_table_bounded_and_next_hops_working.exclusive = True
