"""Soak (issue 7): SOAK_PACKETS packets (default 1,000,000 in `make test`;
`make soak` runs 20,000,000) of mixed sizes and kinds through the router
with an ACL, at a rate it forwards without loss. Zero crashes; every routed
frame arrives intact, once, in order, rewritten; the accounting invariant
holds; each drop reason moves by exactly what the frames that provoke it
add up to; no counter ever goes backwards; and at `quit` every buffer is
back in the pool.

What the host may still take away is counted, never assumed: on a busy
2-core host QEMU's I/O thread can stall long enough for the virtio-net TX
ring to fill (tx_full: the frame is dropped under that reason) or, rarely,
for QEMU's socket to overflow (pktgen's peer_drops). A stream frame may be
missing only when those counts explain it, and the mix's drop counts are
exact unless QEMU's socket dropped frames before the guest saw them, in
which case each may fall short by no more than those drops. The figures
line reports both; at SOAK_RATE on a quiet host they are 0.

Traffic, all through one pktgen:
  - IMIX UDP streams both ways, 64 flows each, checked frame by frame;
  - after every MIX_EVERY-th stream frame, the next frame of a mix per
    port (pktgen --mix, cycling): TCP both ways, ICMP echo to the router
    and through it, ARP requests for the router's address and for one it
    does not own, TTL-1 packets, a destination with no route, ACL-denied
    TCP and UDP flows, IPv6, a frame for another MAC, and a few malformed
    headers. Each mix frame carries its expected drop reason, or None when
    it is forwarded or answered.

The echo-reply bucket is set far above the mix's echo rate so that no
reply is rate-limited (icmp_rate_limit stays 0); ICMP errors keep the
default bucket, and whatever it lets through is part of the ledger's
"generated"."""
import os
import struct
import time

import routed
from accounting import Ledger, quit_clean
from malformed import csum, eth, ipv4, pad, udp, write_pcap
from qemutest import BOOT_TIMEOUT_S, booted, check

SOAK_PACKETS = int(os.environ.get("SOAK_PACKETS", "1000000"))
SOAK_RATE = int(os.environ.get("SOAK_RATE", "24000"))   # stream frames per second, both ways
MIX_EVERY = 20
FLOWS = 64

ACL = """acl deny proto tcp dport 23
acl deny proto udp dport 666
acl deny proto udp src 10.1.0.0/24 dport 5000-5999
acl default allow
"""
CONF = routed.ROUTER_CONF + ACL + "icmp-echo-rate 20000\n"

NOWHERE_IP = bytes([192, 0, 2, 1])          # TEST-NET-1: no route to it


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def tcp(src, dst, sport, dport, flags=0x02, payload=b""):
    """A TCP segment with a correct checksum over the IPv4 pseudo-header."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 8192, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def icmp_echo(size):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x50, 1) + bytes(range(256)) * (size // 256 + 1)
    body = body[:size]
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def arp_request(sha, spa, tpa):
    return (b"\xff" * 6 + sha + struct.pack("!H", 0x0806) +
            struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, sha, spa, b"\0" * 6, tpa))


def ipv6_udp(src_mac, dst_mac):
    a, b = b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\1", b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\2"
    return eth(0x86dd, dst=dst_mac, src=src_mac) + struct.pack("!IHBB16s16s", 0x60000000, 26, 17,
                                                                64, a, b) + udp()


def mixes(m):
    """{port: [(expected drop reason or None, frame)]}: what each host slips
    between its stream frames."""
    out = {}
    for p, far in ((0, 1), (1, 0)):
        me, router = mac(routed.HOST_MAC[p]), mac(m.nics[p].mac)
        src, dst = ip4(routed.HOST_IP[p]), ip4(routed.HOST_IP[far])
        gw = ip4(routed.ROUTER_IP[p])

        def to_router(ethertype, payload):
            return pad(eth(ethertype, dst=router, src=me) + payload)

        frames = [
            (None, to_router(0x0800, ipv4(tcp(src, dst, 40000 + p, 80), 6, src=src, dst=dst))),
            (None, to_router(0x0800, ipv4(tcp(src, dst, 40100 + p, 443, 0x18, b"d" * 1460), 6,
                                          src=src, dst=dst))),
            ("acl_deny", to_router(0x0800, ipv4(tcp(src, dst, 40200 + p, 23), 6, src=src, dst=dst))),
            ("acl_deny", to_router(0x0800, ipv4(udp(666, payload=b"u" * 548), 17, src=src, dst=dst))),
            (None, to_router(0x0800, ipv4(icmp_echo(72), 1, src=src, dst=gw))),
            (None, to_router(0x0800, ipv4(icmp_echo(1000), 1, src=src, dst=dst))),
            (None, pad(arp_request(me, src, gw))),
            ("not_for_us", pad(arp_request(me, src, src[:3] + b"\x4d"))),
            ("ttl_expired", to_router(0x0800, ipv4(udp(), 17, src=src, dst=dst, ttl=1))),
            ("no_route", to_router(0x0800, ipv4(udp(), 17, src=src, dst=NOWHERE_IP))),
            ("local_unhandled", to_router(0x0800, ipv4(udp(9), 17, src=src, dst=gw))),
            ("unsupported", pad(ipv6_udp(me, router))),
            ("not_for_us", pad(eth(0x0800, dst=mac("02:00:00:00:bb:bb"), src=me) +
                               ipv4(udp(), 17, src=src, dst=dst))),
            ("bad_ip_csum", to_router(0x0800, ipv4(udp(), 17, src=src, dst=dst, good_csum=False))),
            ("bad_l4_len", to_router(0x0800, ipv4(udp(length=4), 17, src=src, dst=dst))),
            ("martian", to_router(0x0800, ipv4(udp(), 17, src=ip4("127.0.0.1"), dst=dst))),
        ]
        if p == 0:
            # Only host 0 is inside the ACL's 10.1.0.0/24 source prefix.
            frames.append(("acl_deny", to_router(0x0800, ipv4(udp(5353), 17, src=src, dst=dst))))
            frames.append(("bad_ihl", to_router(0x0800, ipv4(udp(), 17, src=src, dst=dst,
                                                             ver_ihl=0x44))))
        else:
            # port 1 is virtio-net, which delivers a short frame as it is
            # (QEMU's e1000 pads it to 60 bytes).
            frames.append(("runt", eth(0x0800, dst=router, src=me)[:12]))
            frames.append(("bad_ip_version", to_router(0x0800, ipv4(udp(), 17, src=src, dst=dst,
                                                                    ver_ihl=0x55))))
        out[p] = frames
    return out


def expected_drops(frames, sent):
    """Drops by reason caused by a mix that sent `sent` frames in all,
    cycling through `frames` (pktgen: frame i went out sent // F + (i < sent % F) times)."""
    want = {}
    n = len(frames)
    for i, (reason, _) in enumerate(frames):
        times = sent // n + (1 if i < sent % n else 0)
        if reason is not None and times:
            want[reason] = want.get(reason, 0) + times
    return want


def stream_count(packets):
    """Frames per stream so that the two streams and the two mixes (one
    frame each per MIX_EVERY stream frames) offer at least `packets`."""
    per_stream = packets * MIX_EVERY // (2 * MIX_EVERY + 4)
    while 2 * per_stream + 2 * (2 * per_stream // MIX_EVERY) < packets:
        per_stream += 1
    return per_stream


def never_backwards(samples, m):
    """Every counter in the periodic STATS lines only grows: a counter that
    wrapped or was cut to fewer bits would step back."""
    keys = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "rx_missed", "rx_nobuf", "tx_full")
    for a, b in zip(samples, samples[1:]):
        for pa, pb in zip(a["ports"], b["ports"]):
            for k in keys:
                check(pb[k] >= pa[k], f"port {pa['port']} {k} went back: {pa[k]} -> {pb[k]}", m)
        for k, v in a["drops"].items():
            check(b["drops"].get(k, 0) >= v, f"drops {k} went back: {v} -> {b['drops'].get(k)}", m)
        for k in ("received", "generated", "forwarded", "dropped", "consumed"):
            check(b["ledger"][k] >= a["ledger"][k],
                  f"ledger {k} went back: {a['ledger'][k]} -> {b['ledger'][k]}", m)


def soak(image, packets=SOAK_PACKETS, rate=SOAK_RATE):
    per_stream = stream_count(packets)
    seconds = 2 * per_stream / rate            # the mixes ride on top of the rate
    with booted(image, CONF, big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        routed.warm_up(m)
        mix = mixes(m)
        args = []
        for p, frames in mix.items():
            path = os.path.join(m.workdir, f"mix{p}.pcap")
            write_pcap(path, frames)
            args += ["--mix", f"{p}={path}"]
        ledger = Ledger(m)
        t0 = time.monotonic()
        r = routed.run(m, routed.routed_args(m) + args + [
            "--count", str(per_stream), "--rate", str(rate), "--size", "imix",
            "--flows", str(FLOWS), "--mix-every", str(MIX_EVERY)],
            timeout_s=int(seconds * 2) + 120)
        took = time.monotonic() - t0
        check(r.returncode == 0, f"pktgen: rc {r.returncode}\n{r.stdout}{r.stderr}", m)
        acct = ledger.check([r])
        tx_full = acct["drops"].pop("tx_full", 0)
        host_lost = sum(routed.field(r.stdout, f"port {p}:", k) for p in (0, 1)
                        for k in ("peer_drops", "sock_drops"))
        lost = 0
        for tx, rx in ((0, 1), (1, 0)):
            line = f"stream {tx}->{rx}:"
            check(routed.field(r.stdout, line, "sent") == per_stream, f"{line} not all sent", m)
            for k in ("reordered", "duplicate", "corrupt", "mac_mismatch", "ttl_mismatch"):
                check(routed.field(r.stdout, line, k) == 0, f"{line} {k}:\n{r.stdout}", m)
            lost += routed.field(r.stdout, line, "lost")
        check(lost <= tx_full + host_lost,
              f"{lost} stream frames lost, more than tx_full {tx_full} + QEMU's and pktgen's "
              f"socket drops {host_lost} explain:\n{r.stdout}", m)
        offered = sum(routed.field(r.stdout, f"port {p}:", "tx") for p in (0, 1))
        check(offered >= packets, f"offered {offered} frames, fewer than {packets}", m)
        want = {}
        for p, frames in mix.items():
            sent = routed.field(r.stdout, f"mix {p}:", "sent")
            check(sent == 2 * per_stream // MIX_EVERY, f"mix {p} sent {sent}", m)
            for reason, n in expected_drops(frames, sent).items():
                want[reason] = want.get(reason, 0) + n
        peer_drops = sum(routed.field(r.stdout, f"port {p}:", "peer_drops") for p in (0, 1))
        got = acct["drops"]
        short = sum(want.get(k, 0) - got.get(k, 0) for k in want)
        check(set(got) <= set(want) and all(got[k] <= want[k] for k in got) and
              short <= peer_drops and (peer_drops or got == want),
              f"drops by reason {got} (tx_full {tx_full} aside)\nwant {want} "
              f"(QEMU's sockets dropped {peer_drops})", m)
        samples = routed.periodic_stats(m, t0, time.monotonic())
        check(len(samples) >= took / 2, f"only {len(samples)} periodic STATS lines in {took:.0f} s", m)
        never_backwards(samples, m)
        quit_clean(m)
        return dict(offered=offered, seconds=took, per_stream=per_stream,
                    mix=sum(routed.field(r.stdout, f"mix {p}:", "sent") for p in (0, 1)),
                    drops=got, ledger=acct["ledger"], tx_full=tx_full, lost=lost,
                    peer_drops=peer_drops)


def test_soak_router_acl_mixed_traffic(image):
    f = soak(image)
    print(f"  figures: soak {f['offered']} packets in {f['seconds']:.1f} s "
          f"({f['offered'] / f['seconds']:.0f} pps offered): streams 2 x {f['per_stream']}, "
          f"mix {f['mix']}; ledger {f['ledger']}; drops {f['drops']}; tx_full {f['tx_full']}, "
          f"stream frames lost {f['lost']}, QEMU socket drops {f['peer_drops']}", flush=True)


test_soak_router_acl_mixed_traffic.exclusive = True
