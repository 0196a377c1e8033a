"""Hostile input for the router (issue 7): crafted frames, each with what
must become of it, for tests/qemu/test_hostile.py to replay with pktgen.

The machine: three ports, the router's addresses and the simulated hosts
pktgen plays on them (pktgen's default MACs, `ip=` so they answer ARP):

    port 0 virtio  10.1.0.1/16  52:54:00:12:34:10   host 10.1.0.2 02:00:00:00:00:00
    port 1 e1000   10.2.0.1/24  52:54:00:12:34:11   host 10.2.0.2 02:00:00:00:00:01
                   route 10.9.0.0/16 via 10.2.0.2 (resolved by ARP)
    port 2 virtio  10.3.0.1/24  52:54:00:12:34:12   host 10.3.0.2 02:00:00:00:00:02
                   (a static neighbour entry)

Port 0's network is a /16 so an ARP storm can come from more senders than
the neighbour table has entries. The ACL denies UDP to port 666 and TCP to
port 23.

A Case says what the router must do with one frame: drop it under a reason
(the drop counter's name), forward it out a port (optionally with a given
length), answer it out the port it came in by (ARP or echo reply), or never
see it because the emulated NIC discards it (NIC). It also says how many
ICMP errors the router sends about it.

What the NIC models do with odd lengths (QEMU 7.2, read in its source):
  - e1000 (hw/net/e1000.c e1000_receive_iov) pads frames shorter than 60
    bytes with zeros, so runts reach the guest only through virtio-net; with
    RCTL.LPE clear it discards frames over 1522 bytes (e1000x_is_oversized,
    counting them in the ROC register, which pktmetal's driver does not
    read).
  - virtio-net without mergeable RX buffers (hw/net/virtio-net.c
    virtio_net_receive_rcu) discards a frame that does not fit one buffer
    and says nothing; pktmetal's buffers hold 2048 bytes of frame, so
    1515..2048 bytes reach the guest (a giant: the router drops it), longer
    ones vanish inside QEMU.
"""
import collections
import os
import re
import struct

from malformed import csum, eth, icmp_echo, ipv4, pad, udp, write_pcap

NB_PORTS = 3
ROUTER_MAC = [bytes.fromhex("5254001234%02x" % (0x10 + p)) for p in range(NB_PORTS)]
ROUTER_IP = [bytes([10, p + 1, 0, 1]) for p in range(NB_PORTS)]
HOST_MAC = [bytes.fromhex("0200000000%02x" % p) for p in range(NB_PORTS)]
HOST_IP = [bytes([10, p + 1, 0, 2]) for p in range(NB_PORTS)]
GATEWAY_NET = bytes([10, 9, 0, 5])                 # behind 10.2.0.2 on port 1
BROADCAST = b"\xff" * 6
OTHER_MAC = bytes.fromhex("020000009999")

NICS = ("virtio", "e1000", "virtio")
CONF = """mode router
port 0 ip 10.1.0.1/16
port 1 ip 10.2.0.1/24
port 2 ip 10.3.0.1/24
route 10.9.0.0/16 via 10.2.0.2
neighbor 10.3.0.2 02:00:00:00:00:02
acl deny proto udp dport 666
acl deny proto tcp dport 23
"""

# Frame lengths the NIC models pass to the guest (see above).
NIC_MAX_FRAME = {"virtio": 2048, "e1000": 1522}


def router_h(name):
    """A number #defined in net/router.h, so the tests follow the image."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "net", "router.h")
    with open(path) as f:
        m = re.search(rf"^#define {name}\s+(\d+)", f.read(), re.M)
    if not m:
        raise LookupError(f"net/router.h defines no {name}")
    return int(m.group(1))


MTU_FRAME = 14 + router_h("ROUTER_MTU")
# Each bucket holds half a second's worth, at least one (router.h).
ROUTER_MAX_NEIGHBORS = router_h("ROUTER_MAX_NEIGHBORS")

ETH_IPV4, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
ETH_VLAN, ETH_QINQ = 0x8100, 0x88A8
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17

NIC = "nic"          # expect: the emulated NIC discards it; the guest never sees it
REPLY = "reply"      # expect: answered (ARP or echo reply) out the input port


class Case(collections.namedtuple("Case", "name frame expect icmp out_len")):
    """expect: a drop reason, REPLY, NIC, or ("forward", port)."""

    def forwarded_to(self):
        return self.expect[1] if isinstance(self.expect, tuple) else None


def case(name, frame, expect, icmp=0, out_len=None):
    return Case(name, frame, expect, icmp, out_len)


def forward(port):
    return ("forward", port)


def write_cases(path, cases):
    write_pcap(path, [(c.name, c.frame) for c in cases])


# --- builders ---------------------------------------------------------------

def to_router(port, ethertype, dst=None):
    """An Ethernet header from port's host to the router (or to dst)."""
    return eth(ethertype, dst=ROUTER_MAC[port] if dst is None else dst, src=HOST_MAC[port])


def udp_from(port, dst_ip, payload=b"u" * 18, dport=7, **ip_kw):
    """IPv4/UDP from port's host (or ip_kw's src) to dst_ip."""
    ip_kw.setdefault("src", HOST_IP[port])
    return ipv4(udp(dport=dport, payload=payload), PROTO_UDP, dst=dst_ip, **ip_kw)


def tcp_segment(dport=80, data_off=0x50, length=20):
    seg = struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, data_off, 0x02, 1024, 0, 0)
    return (seg + b"\0" * 40)[:length]


def icmp_echo_request(ident=1, seq=1, payload=b"p" * 16):
    m = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def arp(op, sha, spa, tpa, tha=b"\0" * 6, hlen=6, ptype=ETH_IPV4):
    return struct.pack("!HHBBH", 1, ptype, hlen, 4, op) + sha + spa + tha + tpa


def arp_request(port, tpa, dst=BROADCAST, sha=None, spa=None):
    sha = HOST_MAC[port] if sha is None else sha
    spa = HOST_IP[port] if spa is None else spa
    return eth(ETH_ARP, dst=dst, src=sha) + arp(1, sha, spa, tpa)


def vlan_tag(vid, inner_type, tpid=ETH_VLAN):
    return struct.pack("!HH", vid, inner_type), tpid


def tagged(port, tags, inner_type, payload, dst=None):
    """A frame with tags [(tpid, vid), ...] outermost first."""
    types = [t for t, _ in tags] + [inner_type]
    body = b"".join(struct.pack("!HH", vid, types[i + 1]) for i, (_, vid) in enumerate(tags))
    return to_router(port, types[0], dst) + body + payload


V6_SRC = bytes.fromhex("20010db8000000000000000000000002")
V6_DST = bytes.fromhex("20010db8000100000000000000000002")
V6_HOPOPTS, V6_ROUTING, V6_FRAGMENT, V6_AH, V6_DSTOPTS, V6_NONE = 0, 43, 44, 51, 60, 59


def v6_ext(next_hdr, units=0):
    """A hop-by-hop/routing/destination options header of (units + 1) * 8
    bytes, padded with PadN."""
    body = bytes([1, units * 8 + 4]) + b"\0" * (units * 8 + 4)
    return bytes([next_hdr, units]) + body


def v6_frag(next_hdr, offset_units=0, more=False):
    return struct.pack("!BBHI", next_hdr, 0, offset_units << 3 | int(more), 0x1234)


def v6_ah(next_hdr, len_field):
    """An AH header whose length field is len_field ((len + 2) * 4 bytes)."""
    size = (len_field + 2) * 4
    return bytes([next_hdr, len_field]) + b"\0" * (size - 2)


def ipv6(port, chain, first, payload, payload_len=None):
    """IPv6 from port's host: extension headers chain (bytes, starting with
    header type first), then payload."""
    body = chain + payload
    plen = len(body) if payload_len is None else payload_len
    hdr = struct.pack("!IHBB16s16s", 0x60000000, plen, first, 64, V6_SRC, V6_DST)
    return to_router(port, ETH_IPV6) + hdr + body


def v6_udp():
    return struct.pack("!HHHH", 4000, 7, 12, 0) + b"six!"


def chain_of(types_then_upper):
    """Extension headers of the given types, each pointing at the next; the
    last entry is the upper-layer protocol. Returns (first, chain bytes)."""
    out = b""
    for i, t in enumerate(types_then_upper[:-1]):
        nxt = types_then_upper[i + 1]
        if t == V6_FRAGMENT:
            out += v6_frag(nxt)
        elif t == V6_AH:
            out += v6_ah(nxt, 4)
        else:
            out += v6_ext(nxt)
    return types_then_upper[0], out


# --- the kinds --------------------------------------------------------------

def runts():
    """Into port 0 (virtio: nothing pads them): a UDP datagram with no data
    (42 bytes whole) and an ARP request (42 bytes whole), each cut at every
    length, and both whole."""
    datagram = to_router(0, ETH_IPV4) + udp_from(0, HOST_IP[2], payload=b"")
    request = arp_request(0, ROUTER_IP[0])
    assert len(datagram) == 42 and len(request) == 42
    cases = []
    for n in range(1, len(datagram)):
        why = "runt" if n < 14 + 20 else "bad_ip_len"     # Ethernet, then IPv4 header cut
        cases.append(case(f"udp cut at {n}", datagram[:n], why))
    cases.append(case("udp whole, 42 bytes", datagram, forward(2), out_len=60))
    for n in range(14, len(request)):
        cases.append(case(f"arp cut at {n}", request[:n], "runt"))
    cases.append(case("arp whole, 42 bytes", request, REPLY))
    return cases


JUMBO_LENGTHS = (1514, 1515, 1518, 1522, 1523, 2048, 2049, 4096, 9018, 16384, 65000)


def jumbos(port, nic):
    """UDP of every length in JUMBO_LENGTHS into port (NIC model nic) for
    the host on port 2, and a small datagram with 1600 - 60 bytes of junk
    after it (a giant frame, whatever its IP length says)."""
    cases = []
    for n in JUMBO_LENGTHS:
        frame = to_router(port, ETH_IPV4) + udp_from(port, HOST_IP[2], payload=b"J" * (n - 42))
        assert len(frame) == n
        if n > NIC_MAX_FRAME[nic]:
            expect = NIC
        elif n > MTU_FRAME:
            expect = "unsupported"
        else:
            expect = forward(2)
        cases.append(case(f"{nic} {n} bytes", frame, expect, out_len=n))
    small = pad(to_router(port, ETH_IPV4) + udp_from(port, HOST_IP[2]))
    cases.append(case(f"{nic} 60-byte packet in a 1600-byte frame", small + b"\xa5" * 1540,
                      "unsupported" if NIC_MAX_FRAME[nic] >= 1600 else NIC))
    cases.append(case(f"{nic} 60-byte packet in a 1514-byte frame", small + b"\xa5" * 1454,
                      forward(2), out_len=60))
    return cases


def malformed_headers():
    """Into port 0: every way a header can be wrong that the parser or the
    router tells apart (tests/qemu/malformed.py has one frame per drop
    reason; these are the other shapes of each)."""
    far = HOST_IP[2]
    e4 = to_router(0, ETH_IPV4)
    c = [
        case("ipv4 header cut at 19 bytes", e4 + udp_from(0, far)[:19], "runt"),
        case("ipv4 ihl 15 past the frame", pad(e4 + udp_from(0, far, ver_ihl=0x4F)), "bad_ihl"),
        case("ipv4 ihl 4", pad(e4 + udp_from(0, far, ver_ihl=0x44)), "bad_ihl"),
        case("ipv4 total length below the header", pad(e4 + udp_from(0, far, tot=19)), "bad_ip_len"),
        case("ipv4 total length past the frame", pad(e4 + udp_from(0, far, tot=1400)), "bad_ip_len"),
        case("ipv4 version 6", pad(e4 + udp_from(0, far, ver_ihl=0x65)), "bad_ip_version"),
        case("ipv4 version 0", pad(e4 + udp_from(0, far, ver_ihl=0x05)), "bad_ip_version"),
        case("ipv4 checksum off by one", pad(e4 + udp_from(0, far, good_csum=False)), "bad_ip_csum"),
        case("tcp data offset 4", pad(e4 + ipv4(tcp_segment(data_off=0x40), PROTO_TCP,
                                                 src=HOST_IP[0], dst=far)), "bad_l4_len"),
        case("tcp data offset past the packet", pad(e4 + ipv4(tcp_segment(data_off=0xF0), PROTO_TCP,
                                                               src=HOST_IP[0], dst=far)), "bad_l4_len"),
        case("tcp header cut at 10", pad(e4 + ipv4(tcp_segment(length=10), PROTO_TCP,
                                                   src=HOST_IP[0], dst=far)), "bad_l4_len"),
        case("udp length 7", pad(e4 + ipv4(udp(length=7), PROTO_UDP, src=HOST_IP[0], dst=far)),
             "bad_l4_len"),
        case("udp length past the packet", pad(e4 + ipv4(udp(length=200), PROTO_UDP,
                                                         src=HOST_IP[0], dst=far)), "bad_l4_len"),
        case("udp header cut at 4", pad(e4 + ipv4(udp()[:4], PROTO_UDP, src=HOST_IP[0], dst=far)),
             "bad_l4_len"),
        case("icmp header cut at 4", pad(e4 + ipv4(icmp_echo()[:4], PROTO_ICMP, src=HOST_IP[0],
                                                   dst=ROUTER_IP[0])), "bad_l4_len"),
        case("arp hardware length 8", pad(eth(ETH_ARP, dst=BROADCAST, src=HOST_MAC[0])
                                          + arp(1, HOST_MAC[0], HOST_IP[0], ROUTER_IP[0], hlen=8)),
             "bad_arp"),
        case("arp for ipv6", pad(eth(ETH_ARP, dst=BROADCAST, src=HOST_MAC[0])
                                 + arp(1, HOST_MAC[0], HOST_IP[0], ROUTER_IP[0], ptype=ETH_IPV6)),
             "bad_arp"),
        case("arp opcode 3", pad(eth(ETH_ARP, dst=BROADCAST, src=HOST_MAC[0])
                                 + arp(3, HOST_MAC[0], HOST_IP[0], ROUTER_IP[0])), "bad_arp"),
        case("arp cut at 20 bytes", arp_request(0, ROUTER_IP[0])[:34], "runt"),
        case("three vlan tags", pad(tagged(0, [(ETH_VLAN, 1), (ETH_VLAN, 2), (ETH_VLAN, 3)],
                                           ETH_IPV4, udp_from(0, far))), "bad_vlan"),
        case("802.1ad inside 802.1q", pad(tagged(0, [(ETH_VLAN, 1), (ETH_QINQ, 2)], ETH_IPV4,
                                                 udp_from(0, far))), "bad_vlan"),
        case("vlan tag cut in half", to_router(0, ETH_VLAN) + b"\x00\x0a", "runt"),
        case("lldp", pad(to_router(0, 0x88CC) + b"\x02\x07\x04" + HOST_MAC[0]), "unknown_ethertype"),
        case("mpls", pad(to_router(0, 0x8847) + b"\x00\x01\x01\x40" + udp_from(0, far)),
             "unknown_ethertype"),
        case("802.3 length field", pad(to_router(0, 0x002E) + b"\xaa\xaa\x03" + b"\0" * 40),
             "unknown_ethertype"),
        case("ipv6 header cut at 30", to_router(0, ETH_IPV6) + b"\x60" + b"\0" * 29, "runt"),
        case("ipv6 payload past the frame", ipv6(0, b"", PROTO_UDP, v6_udp(), payload_len=400),
             "bad_ip_len"),
        case("ipv6 version 4", to_router(0, ETH_IPV6) + b"\x40" + ipv6(0, b"", PROTO_UDP,
                                                                        v6_udp())[15:], "bad_ip_version"),
        case("source 0.0.0.0", pad(e4 + udp_from(0, far, src=bytes(4))), "martian"),
        case("source is the router", pad(e4 + udp_from(0, far, src=ROUTER_IP[0])), "martian"),
        case("source is a directed broadcast", pad(e4 + udp_from(0, far, src=bytes([10, 1, 255, 255]))),
             "martian"),
        case("destination 127.0.0.1", pad(e4 + udp_from(0, bytes([127, 0, 0, 1]))), "martian"),
        case("destination 0.1.2.3", pad(e4 + udp_from(0, bytes([0, 1, 2, 3]))), "martian"),
        case("destination 240.0.0.1", pad(e4 + udp_from(0, bytes([240, 0, 0, 1]))), "martian"),
        case("destination 255.255.255.255", pad(e4 + udp_from(0, b"\xff" * 4)), "local_unhandled"),
        case("destination a directed broadcast", pad(e4 + udp_from(0, bytes([10, 3, 0, 255]))),
             "local_unhandled"),
        case("destination 239.1.1.1", pad(e4 + udp_from(0, bytes([239, 1, 1, 1]))), "unsupported"),
    ]
    return c


MAC_KINDS = [("broadcast", BROADCAST), ("ipv4 multicast", bytes.fromhex("01005e000001")),
             ("ipv6 multicast", bytes.fromhex("333300000001")),
             ("stp", bytes.fromhex("0180c2000000")), ("another host", OTHER_MAC)]


def addressed(port):
    """Into port: IPv4 to the next port's host with each port's MAC and each
    group MAC as the destination; only the port's own MAC is forwarded.
    ARP to broadcast (answered) and to a group or another port's MAC (not),
    echo to the port's own and another port's address, and IP destinations
    that are broadcast or multicast behind the port's own MAC."""
    nxt = (port + 1) % NB_PORTS
    cases = []
    for p in range(NB_PORTS):
        frame = pad(to_router(port, ETH_IPV4, dst=ROUTER_MAC[p]) + udp_from(port, HOST_IP[nxt]))
        cases.append(case(f"port {port}: to port {p}'s mac", frame,
                          forward(nxt) if p == port else "not_for_us"))
    for name, mac in MAC_KINDS:
        frame = pad(to_router(port, ETH_IPV4, dst=mac) + udp_from(port, HOST_IP[nxt]))
        cases.append(case(f"port {port}: ipv4 to {name}", frame, "not_for_us"))
    cases += [
        case(f"port {port}: arp request, broadcast", pad(arp_request(port, ROUTER_IP[port])), REPLY),
        case(f"port {port}: arp request to a multicast mac",
             pad(arp_request(port, ROUTER_IP[port], dst=MAC_KINDS[1][1])), "not_for_us"),
        case(f"port {port}: arp request to port {nxt}'s mac",
             pad(arp_request(port, ROUTER_IP[port], dst=ROUTER_MAC[nxt])), "not_for_us"),
        case(f"port {port}: arp request for port {nxt}'s address",
             pad(arp_request(port, ROUTER_IP[nxt])), "not_for_us"),
        case(f"port {port}: echo to its address",
             pad(to_router(port, ETH_IPV4) + ipv4(icmp_echo_request(), PROTO_ICMP, src=HOST_IP[port],
                                                  dst=ROUTER_IP[port])), REPLY),
        case(f"port {port}: echo to port {nxt}'s address",
             pad(to_router(port, ETH_IPV4) + ipv4(icmp_echo_request(), PROTO_ICMP, src=HOST_IP[port],
                                                  dst=ROUTER_IP[nxt])), REPLY),
        case(f"port {port}: udp to 224.0.0.1", pad(to_router(port, ETH_IPV4)
                                                   + udp_from(port, bytes([224, 0, 0, 1]))),
             "unsupported"),
        case(f"port {port}: udp to 255.255.255.255", pad(to_router(port, ETH_IPV4)
                                                         + udp_from(port, b"\xff" * 4)),
             "local_unhandled"),
        case(f"port {port}: udp to its address", pad(to_router(port, ETH_IPV4)
                                                     + udp_from(port, ROUTER_IP[port])),
             "local_unhandled", icmp=1),                  # port unreachable
    ]
    return cases


def vlan_tagged(port):
    """Tagged frames into a router that is not VLAN-aware: refused whole
    (UNSUPPORTED), whatever they carry; malformed tag stacks BAD_VLAN."""
    far = HOST_IP[2]
    return [
        case(f"port {port}: 802.1q vid 10, ipv4", pad(tagged(port, [(ETH_VLAN, 10)], ETH_IPV4,
                                                             udp_from(port, far))), "unsupported"),
        case(f"port {port}: priority tag (vid 0), ipv4",
             pad(tagged(port, [(ETH_VLAN, 0x6000)], ETH_IPV4, udp_from(port, far))), "unsupported"),
        case(f"port {port}: 802.1ad + 802.1q, ipv4",
             pad(tagged(port, [(ETH_QINQ, 100), (ETH_VLAN, 10)], ETH_IPV4, udp_from(port, far))),
             "unsupported"),
        case(f"port {port}: 802.1q arp request for us",
             pad(tagged(port, [(ETH_VLAN, 10)], ETH_ARP,
                        arp(1, HOST_MAC[port], HOST_IP[port], ROUTER_IP[port]), dst=BROADCAST)),
             "unsupported"),
        case(f"port {port}: 802.1q echo to us",
             pad(tagged(port, [(ETH_VLAN, 10)], ETH_IPV4,
                        ipv4(icmp_echo_request(), PROTO_ICMP, src=HOST_IP[port], dst=ROUTER_IP[port]))),
             "unsupported"),
        case(f"port {port}: 802.1q ipv6", tagged(port, [(ETH_VLAN, 10)], ETH_IPV6,
                                                 ipv6(port, b"", PROTO_UDP, v6_udp())[14:]),
             "unsupported"),
        case(f"port {port}: 802.1q to another host", pad(tagged(port, [(ETH_VLAN, 10)], ETH_IPV4,
                                                                udp_from(port, far), dst=OTHER_MAC)),
             "not_for_us"),
        case(f"port {port}: 802.1q ttl 1 (no icmp: not parsed as ours)",
             pad(tagged(port, [(ETH_VLAN, 10)], ETH_IPV4, udp_from(port, far, ttl=1))), "unsupported"),
        case(f"port {port}: three tags", pad(tagged(port, [(ETH_VLAN, 1), (ETH_VLAN, 2), (ETH_VLAN, 3)],
                                                    ETH_IPV4, udp_from(port, far))), "bad_vlan"),
    ]


RR = bytes([7, 11, 4]) + b"\0" * 8 + b"\0"                       # record route, 2 slots, END
TS = bytes([68, 12, 5, 0]) + b"\0" * 8                           # timestamps only, 2 slots
ROUTER_ALERT = bytes([148, 4, 0, 0])
LSRR = bytes([1, 131, 7, 4]) + HOST_IP[2]
SSRR = bytes([137, 7, 4]) + HOST_IP[2] + b"\0"


def options_and_fragments():
    """Into port 0, for the host on port 2 unless said: IPv4 options the
    router forwards unchanged, source routes it refuses, option lists that
    are malformed; fragments in transit (forwarded: a router does not
    reassemble) and to us (dropped: nothing reassembles them)."""
    far, us = HOST_IP[2], ROUTER_IP[0]
    e4 = to_router(0, ETH_IPV4)

    def u(dst=far, **kw):
        return pad(e4 + udp_from(0, dst, **kw))

    def frag(dst=far, frag=0, proto=PROTO_UDP, payload=None, **kw):
        payload = udp(payload=b"f" * 40) if payload is None else payload
        return pad(e4 + ipv4(payload, proto, src=HOST_IP[0], dst=dst, frag=frag, **kw))

    mf, df, last_off = 0x2000, 0x4000, 0x1FFF
    c = [
        case("option record route", u(opts=RR), forward(2)),
        case("option timestamp", u(opts=TS), forward(2)),
        case("option router alert", u(opts=ROUTER_ALERT), forward(2)),
        case("40 bytes of nop (ihl 15)", u(opts=b"\x01" * 40), forward(2)),
        case("loose source route", u(opts=LSRR), "unsupported"),
        case("strict source route", u(opts=SSRR), "unsupported"),
        case("option length 0", u(opts=bytes([7, 0, 0, 0])), "bad_ihl"),
        case("option length 1", u(opts=bytes([68, 1, 0, 0])), "bad_ihl"),
        case("option past the header", u(opts=bytes([1, 1, 7, 7, 4, 0, 0, 0])), "bad_ihl"),
        case("option type with no length byte", u(opts=bytes([1, 1, 1, 7])), "bad_ihl"),
        case("record route, ttl 1", u(opts=RR, ttl=1), "ttl_expired", icmp=1),
        case("echo with record route, to us",
             pad(e4 + ipv4(icmp_echo_request(), PROTO_ICMP, src=HOST_IP[0], dst=us, opts=RR)), REPLY),
        case("first fragment", frag(frag=mf), forward(2)),
        case("middle fragment", frag(frag=mf | 100, payload=b"m" * 48), forward(2)),
        case("last fragment", frag(frag=200, payload=b"l" * 48), forward(2)),
        case("first fragment, udp port 666", frag(frag=mf, payload=udp(dport=666, payload=b"f" * 40)),
             "acl_deny"),
        case("later fragment of port 666 (no ports to match)", frag(frag=mf | 5, payload=b"x" * 48),
             forward(2)),
        case("first fragment to us", frag(dst=us, frag=mf), "fragment"),
        case("later fragment to us", frag(dst=us, frag=7, payload=b"y" * 48), "fragment"),
        case("tiny first fragment, tcp header cut", frag(frag=mf, proto=PROTO_TCP,
                                                         payload=tcp_segment(length=8)), "bad_l4_len"),
        case("first fragment, ttl 1", frag(frag=mf, ttl=1), "ttl_expired", icmp=1),
        case("later fragment, ttl 1 (no icmp)", frag(frag=9, ttl=1, payload=b"z" * 48), "ttl_expired"),
        case("fragment ending past 65535", frag(frag=last_off, payload=b"p" * 200), forward(2)),
        case("fragment ending past 65535, to us", frag(dst=us, frag=last_off, payload=b"p" * 200),
             "fragment"),
        case("dont-fragment set", frag(frag=df), forward(2)),
        case("dont-fragment and more-fragments", frag(frag=df | mf), forward(2)),
    ]
    return c


def ipv6_chains():
    """IPv6 with extension header chains (the router routes no IPv6: a
    chain the parser can walk ends UNSUPPORTED, one it cannot BAD_IPV6_EXT)."""
    def v6(types, payload=None, **kw):
        first, chain = chain_of(types)
        return ipv6(0, chain, first, v6_udp() if payload is None else payload, **kw)

    rfc_order = [V6_HOPOPTS, V6_DSTOPTS, V6_ROUTING, V6_FRAGMENT, V6_AH, V6_DSTOPTS, PROTO_UDP]
    big = b"".join(v6_ext(V6_DSTOPTS if i < 7 else PROTO_UDP, units=20) for i in range(8))
    return [
        case("the six headers of RFC 8200 4.1, in order", v6(rfc_order), "unsupported"),
        case("8 destination options headers", v6([V6_DSTOPTS] * 8 + [PROTO_UDP]), "unsupported"),
        case("9 destination options headers", v6([V6_DSTOPTS] * 9 + [PROTO_UDP]), "bad_ipv6_ext"),
        case("8 headers of 168 bytes", ipv6(0, big, V6_DSTOPTS, v6_udp()), "unsupported"),
        case("100 headers", v6([V6_DSTOPTS] * 100 + [PROTO_UDP]), "bad_ipv6_ext"),
        case("hop-by-hop not first", v6([V6_DSTOPTS, V6_HOPOPTS, PROTO_UDP]), "bad_ipv6_ext"),
        case("two fragment headers", v6([V6_FRAGMENT, V6_FRAGMENT, PROTO_UDP]), "bad_ipv6_ext"),
        case("header longer than the payload",
             ipv6(0, v6_ext(PROTO_UDP, units=4)[:16], V6_DSTOPTS, b""), "bad_ipv6_ext"),
        case("ah of 20 bytes (not a multiple of 8)", ipv6(0, v6_ah(PROTO_UDP, 3), V6_AH, v6_udp()),
             "bad_ipv6_ext"),
        case("later fragment: the chain stops there",
             ipv6(0, v6_frag(V6_DSTOPTS, offset_units=10), V6_FRAGMENT, b"\xee" * 24), "unsupported"),
        case("no next header", v6([V6_DSTOPTS, V6_NONE], payload=b""), "unsupported"),
        case("udp cut after the chain", v6([V6_HOPOPTS, V6_DSTOPTS, PROTO_UDP],
                                           payload=v6_udp()[:5]), "bad_l4_len"),
    ]


# --- floods and storms ------------------------------------------------------

def echo_flood(count):
    """Echo requests from port 0's host to the router, distinct sequence numbers."""
    return [pad(to_router(0, ETH_IPV4)
                + ipv4(icmp_echo_request(ident=0x4242, seq=i & 0xFFFF), PROTO_ICMP, src=HOST_IP[0],
                       dst=ROUTER_IP[0], ident=i & 0xFFFF))
            for i in range(count)]


def ttl1_flood(count):
    """UDP with TTL 1 from port 0's host, for the host on port 2."""
    return [pad(to_router(0, ETH_IPV4) + udp_from(0, HOST_IP[2], ttl=1, ident=i & 0xFFFF))
            for i in range(count)]


def storm_sender(i):
    """The i-th storm host on port 0's /16: 10.1.1.1 upwards, MAC 02:aa:..:i."""
    ip = bytes([10, 1, 1 + i // 250, 1 + i % 250])
    mac = bytes([0x02, 0xAA, 0, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
    return ip, mac


def arp_storm(count):
    """Broadcast ARP requests from count distinct hosts on port 0's network:
    even ones ask for the router's address, odd ones for addresses nobody
    has (10.1.200.x). Returns the frames and how many ask for the router."""
    frames = []
    for i in range(count):
        ip, mac = storm_sender(i)
        target = ROUTER_IP[0] if i % 2 == 0 else bytes([10, 1, 200, 1 + i % 250])
        frames.append(pad(arp_request(0, target, sha=mac, spa=ip)))
    return frames, (count + 1) // 2


def write_frames(path, frames):
    write_pcap(path, [("", f) for f in frames])


# --- what came back -----------------------------------------------------------

Received = collections.namedtuple("Received", "port kind length frame")


def read_pcap(path):
    """The frames of a classic pcap (as pktgen --write makes): [bytes]."""
    frames = []
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return frames
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            _, _, caplen, _ = struct.unpack(endian + "IIII", rec)
            frames.append(f.read(caplen))
    return frames


def classify(frame):
    """What the router sent: its output port (by source MAC) and a kind:
    arp_request, arp_reply, echo_reply, icmp_error (types 3, 11) or
    forwarded. Port None: not from the router."""
    src = frame[6:12]
    port = ROUTER_MAC.index(src) if src in ROUTER_MAC else None
    ethertype = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else None
    kind = "forwarded"
    if ethertype == ETH_ARP and len(frame) >= 22:
        kind = "arp_request" if frame[21] == 1 else "arp_reply"
    elif ethertype == ETH_IPV4 and len(frame) >= 35 and frame[23] == PROTO_ICMP:
        ihl = (frame[14] & 0xF) * 4
        icmp_type = frame[14 + ihl] if len(frame) > 14 + ihl else None
        if port is not None and frame[26:30] in ROUTER_IP:
            kind = {0: "echo_reply", 3: "icmp_error", 11: "icmp_error"}.get(icmp_type, kind)
    return Received(port, kind, len(frame), frame)
