"""Live capture end to end (issue 5): pktcap compiles a tcpdump filter with
libpcap, pktmetal runs it at the chosen capture points while it keeps
routing, and the copies leave by the capture port into a pcapng that
tcpdump/tshark read: exactly the matching packets (checked against pktgen's
own record filtered by libpcap), one interface per port, drop reasons as
packet comments; copies beyond the capture queue (`--queue`) are counted as
capture drops, copies + drops add up to every RX and TX, and forwarding stays
exact."""
import hashlib
import os
import re
import signal
import subprocess
import time

import pmqemu
from accounting import Ledger, quit_clean
from malformed import corpus, write_pcap
from qemutest import BOOT_TIMEOUT_S, booted, check
from traffic import pktgen, read_counters

PKTCAP = os.path.join(pmqemu.ROOT, "build", "tools", "pktcap")
CONF = """mode router
port 0 ip 10.1.0.1/24
port 1 ip 10.2.0.1/24
port 2 role capture
neighbor 10.1.0.2 02:00:00:00:00:00
neighbor 10.2.0.2 02:00:00:00:00:01
acl deny proto udp dport 666
"""
HOSTS = ["--port", None, "--port", None]


def host_args(m):
    return [f"0={m.nics[0].host_port}:{m.nics[0].guest_port},mac=02:00:00:00:00:00,ip=10.1.0.2",
            f"1={m.nics[1].host_port}:{m.nics[1].guest_port},mac=02:00:00:00:00:01,ip=10.2.0.2"]


def routed_streams(m, count, rate, extra=()):
    """pktgen both ways through the router, all frames checked."""
    p0, p1 = host_args(m)
    cmd = [os.path.join(pmqemu.ROOT, "build", "tools", "pktgen"), "--port", p0, "--port", p1,
           "--stream", "0=1", "--stream", "1=0", "--count", str(count), "--rate", str(rate),
           "--size", "imix", "--flows", "16", "--quiet", "--timeout", "200",
           "--dst-mac", f"0={m.nics[0].mac}", "--dst-ip", "0=10.2.0.2",
           "--dst-mac", f"1={m.nics[1].mac}", "--dst-ip", "1=10.1.0.2",
           "--expect-all", "--expect-ttl", "1=63", "--expect-ttl", "0=63"] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240)


def start_pktcap(m, run_file, out, args, expr):
    p = subprocess.Popen([PKTCAP, "--run", run_file, "-w", out, "--timeout", "200",
                          "--reply-timeout", "20"] + args + [expr],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if p.poll() is not None:
            break
        if "capture: ok started" in open(os.path.join(m.workdir, "com2.log"), errors="replace").read():
            time.sleep(0.3)
            return p
        time.sleep(0.1)
    out_, err = p.communicate(timeout=10) if p.poll() is not None else ("", "")
    raise AssertionError(f"pktcap did not start a capture: {out_}{err}")


def stop_pktcap(p):
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    return p.returncode, out + err


def frames_of(pcap, expr=None):
    """Each frame's bytes as hex, read back by tcpdump (libpcap)."""
    cmd = ["tcpdump", "-n", "-r", pcap, "-xx"] + ([expr] if expr else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    frames, cur = [], None
    for line in r.stdout.splitlines():
        if line.startswith("\t0x"):
            cur.append("".join(line.split(":", 1)[1].split()))
        else:
            if cur is not None:
                frames.append("".join(cur))
            cur = []
    if cur:
        frames.append("".join(cur))
    return sorted(hashlib.sha256(f.encode()).hexdigest() for f in frames)


def tshark(pcap, *args):
    return subprocess.run(["tshark", "-n", "-r", pcap] + list(args), capture_output=True,
                          text=True, timeout=120).stdout


# Without an ACL the router forwards on its fast path, which a capture
# watches through a callback (net/router.h, router_burst_out.seen).
CONF_NO_ACL = "".join(line + "\n" for line in CONF.splitlines() if not line.startswith("acl "))


def boot(image, nics=("e1000", "virtio", "virtio"), conf=CONF):
    return booted(image, conf, nics=nics, control=True, big_rcvbuf=True)


def hub_and_run_file(m):
    hub = pmqemu.ControlHub(m).start()
    run_file = os.path.join(m.workdir, "run.json")
    pmqemu.write_run_file(m, hub, run_file, capture_port=2)
    return hub, run_file


def test_capture_holds_exactly_the_matching_packets(image):
    capture_holds_exactly_the_matching_packets(image, CONF)


def test_capture_of_the_router_fast_path_holds_exactly_the_matching_packets(image):
    capture_holds_exactly_the_matching_packets(image, CONF_NO_ACL)


def capture_holds_exactly_the_matching_packets(image, conf):
    with boot(image, conf=conf) as m:
        hub, run_file = hub_and_run_file(m)
        m.expect("ready:", BOOT_TIMEOUT_S)
        time.sleep(1.5)
        ledger = Ledger(m)
        out = os.path.join(m.workdir, "cap.pcapng")
        expr = "udp src port 49155 or (udp and greater 1000)"
        cap = start_pktcap(m, run_file, out, ["-i", "1", "--point", "tx"], expr)
        record = os.path.join(m.workdir, "pktgen.pcap")
        r = routed_streams(m, 3000, 2000, ["--write", record])
        time.sleep(1)
        rc, summary = stop_pktcap(cap)
        hub.stop()
        check(r.returncode == 0, f"pktgen: {r.stdout}{r.stderr}", m)
        check(rc == 0, f"pktcap exit {rc}: {summary}", m)
        want = frames_of(record, f"ether dst 02:00:00:00:00:01 and ({expr})")
        got = frames_of(out)
        check(len(want) > 100, f"only {len(want)} matching frames: the test sends too few", m)
        check(got == want, f"pcapng holds {len(got)} frames, pktgen's record filtered by "
                           f"libpcap {len(want)}; pktcap said: {summary}", m)
        bad = tshark(out, "-Y", "_ws.malformed || _ws.expert.severity >= warning")
        check(bad.strip() == "", f"tshark warnings:\n{bad[:2000]}", m)
        ifaces = tshark(out, "-T", "fields", "-e", "frame.interface_name")
        check(set(ifaces.split()) == {"port1"}, f"interfaces: {set(ifaces.split())}", m)
        ledger.check([r])
        quit_clean(m)


def test_capture_of_drops_carries_the_reasons(image):
    # Port 0 is virtio here: QEMU's e1000 pads short frames to 60 bytes, so a
    # runt would reach the guest as a frame of unknown ethertype.
    with boot(image, nics=("virtio", "e1000", "virtio")) as m:
        hub, run_file = hub_and_run_file(m)
        m.expect("ready:", BOOT_TIMEOUT_S)
        time.sleep(1.5)
        ledger = Ledger(m)
        out = os.path.join(m.workdir, "drops.pcapng")
        cap = start_pktcap(m, run_file, out, ["-i", "0", "--point", "drop"], "")
        frames = corpus()
        pcap = os.path.join(m.workdir, "corpus.pcap")
        write_pcap(pcap, frames)
        r = pktgen(m, "--replay", pcap, "--tx-port", "0", "--rate", "200", "--wait-ms", "500",
                   ports=(0, 1))
        time.sleep(1)
        rc, summary = stop_pktcap(cap)
        hub.stop()
        check(r.returncode == 0 and rc == 0, f"pktgen {r.returncode} pktcap {rc}: {summary}", m)
        comments = tshark(out, "-T", "fields", "-e", "frame.comment").split("\n")
        reasons = sorted(c.split("drop: ", 1)[1] for c in comments if "drop: " in c)
        want = sorted(reason for reason, _ in frames)
        check(reasons == want, f"drop comments {reasons}\nwant {want}", m)
        ledger.check([r])
        quit_clean(m)


def test_capture_flood_counts_capture_drops_and_forwarding_stays_exact(image):
    # queue=1: one copy may wait for the capture port. The main loop drains
    # the queue once per round, after every port's RX and TX, so the TX copy
    # of a forwarded packet always finds the RX copy still queued: shedding
    # is certain whatever the host's speed (with the default 512-slot queue
    # it depends on how the host schedules QEMU).
    with boot(image) as m:
        hub, run_file = hub_and_run_file(m)
        m.expect("ready:", BOOT_TIMEOUT_S)
        time.sleep(1.5)
        before = read_counters(m)
        ledger = Ledger(m)
        out = os.path.join(m.workdir, "flood.pcapng")
        cap = start_pktcap(m, run_file, out, ["--point", "any", "--queue", "1"], "")
        r = routed_streams(m, 40000, 10000)
        time.sleep(1)
        rc, summary = stop_pktcap(cap)
        hub.stop()
        check(r.returncode == 0 and "result: PASS" in r.stdout,
              f"forwarding lost frames while capturing: {r.stdout}{r.stderr}", m)
        check(rc == 0, f"pktcap exit {rc}: {summary}", m)
        after = read_counters(m)
        events = sum(after[p][k] - before[p][k] for p in (0, 1) for k in ("rx", "tx"))
        field = {k: int(v) for k, v in re.findall(r"image (captured|queue drops|filtered): (\d+)",
                                                  summary)}
        check(field.get("queue drops", 0) > 0,
              f"a queue of one copy must shed copies of a routed stream: {summary}", m)
        check(field.get("filtered") == 0 and
              field.get("captured", 0) + field.get("queue drops", 0) == events,
              f"every RX and TX of ports 0 and 1 ({events}) is a copy or a capture drop: "
              f"{summary}", m)
        ledger.check([r])
        quit_clean(m)


for _t in (test_capture_holds_exactly_the_matching_packets, test_capture_of_drops_carries_the_reasons,
           test_capture_flood_counts_capture_drops_and_forwarding_stays_exact):
    _t.exclusive = True
