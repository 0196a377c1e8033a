"""A corpus of frames that the router must drop, one per drop reason the wire
can provoke, each with the reason it must be counted under. Written as a
classic pcap so pktgen --replay can send it."""
import struct

ROUTER_MAC = bytes.fromhex("525400123410")       # port 0 of the test machine
HOST_MAC = bytes.fromhex("02000000000a")
OTHER_MAC = bytes.fromhex("02000000bbbb")
HOST_IP = bytes([10, 1, 0, 2])
ROUTER_IP = bytes([10, 1, 0, 1])
FAR_IP = bytes([10, 2, 0, 9])                    # behind port 1


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def eth(t, dst=ROUTER_MAC, src=HOST_MAC):
    return dst + src + struct.pack("!H", t)


def ipv4(payload, proto, src=HOST_IP, dst=FAR_IP, ttl=64, frag=0, ver_ihl=None, tot=None,
         good_csum=True, opts=b"", ident=7):
    """An IPv4 header (options opts, a multiple of 4 bytes) and payload.
    ver_ihl and tot default to what the options and payload make."""
    ver_ihl = 0x45 + len(opts) // 4 if ver_ihl is None else ver_ihl
    tot = 20 + len(opts) + len(payload) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", ver_ihl, 0, tot, ident, frag, ttl, proto, 0, src, dst) + opts
    c = csum(h) if good_csum else (csum(h) ^ 0x5555)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def udp(dport=7, length=None, payload=b"x" * 18):
    return struct.pack("!HHHH", 4000, dport, 8 + len(payload) if length is None else length, 0) + payload


def icmp_echo(good=True):
    m = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"p" * 16
    c = csum(m) if good else 0x1234
    return m[:2] + struct.pack("!H", c) + m[4:]


def pad(f):
    return f + b"\0" * max(0, 60 - len(f))


def corpus():
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x02, 1024, 0, 0)
    ipv6_udp = (struct.pack("!IHBB16s16s", 0x60000000, 26, 17, 64, b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\1",
                            b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\2") + udp())
    ipv6_badext = struct.pack("!IHBB16s16s", 0x60000000, 8, 0, 64, b"\0" * 15 + b"\1", b"\0" * 15 + b"\2") \
        + bytes([17, 5]) + b"\0" * 6
    arp_bad = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 5, 4, 1, HOST_MAC, HOST_IP, b"\0" * 6, ROUTER_IP)
    frames = [
        ("runt", eth(0x0800)[:12]),
        ("bad_vlan", pad(eth(0x8100) + struct.pack("!HH", 1, 0x8100) + struct.pack("!HH", 2, 0x8100)
                         + struct.pack("!HH", 3, 0x0800) + ipv4(udp(), 17))),
        ("unknown_ethertype", pad(eth(0x88b5) + b"hello")),
        ("bad_arp", pad(eth(0x0806) + arp_bad)),
        ("bad_ip_version", pad(eth(0x0800) + ipv4(udp(), 17, ver_ihl=0x55))),
        ("bad_ihl", pad(eth(0x0800) + ipv4(udp(), 17, ver_ihl=0x44))),
        ("bad_ip_len", pad(eth(0x0800) + ipv4(udp(), 17, tot=1000))),
        ("bad_ip_csum", pad(eth(0x0800) + ipv4(udp(), 17, good_csum=False))),
        ("bad_ipv6_ext", pad(eth(0x86dd) + ipv6_badext)),
        ("bad_l4_len", pad(eth(0x0800) + ipv4(udp(length=4), 17))),
        ("bad_l4_csum", pad(eth(0x0800) + ipv4(icmp_echo(good=False), 1, dst=ROUTER_IP))),
        ("martian", pad(eth(0x0800) + ipv4(udp(), 17, src=bytes([127, 0, 0, 1])))),
        ("ttl_expired", pad(eth(0x0800) + ipv4(udp(), 17, ttl=1))),
        ("no_route", pad(eth(0x0800) + ipv4(udp(), 17, dst=bytes([192, 0, 2, 1])))),
        ("acl_deny", pad(eth(0x0800) + ipv4(udp(dport=666), 17))),
        ("not_for_us", pad(eth(0x0800, dst=OTHER_MAC) + ipv4(udp(), 17))),
        ("fragment", pad(eth(0x0800) + ipv4(udp(), 17, dst=ROUTER_IP, frag=0x2000))),
        ("unsupported", pad(eth(0x86dd) + ipv6_udp)),
        ("local_unhandled", pad(eth(0x0800) + ipv4(tcp, 6, dst=ROUTER_IP))),
    ]
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, (_, frame) in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)))
            f.write(frame)
