#!/usr/bin/env python3
"""Writes the named seeds of the fuzz corpora (tests/fuzz/corpus/):

  pipeline/<reason>-<what>  inputs reaching each drop reason of net/drop.h,
                            one per way; replay_pipeline checks that each
                            still counts its reason
  pipeline/pass-<what>      inputs that are forwarded or answered, for the
                            fuzzer to start from
  config/<what>.conf        pktmetal.conf texts: every directive, the modes,
                            two errors
  bpf/<what>                programs of 0, BPF_MAX_INSNS and one more
                            instructions (the other bpf inputs were found by
                            libFuzzer)

A pipeline input is the header fuzz_pipeline.c reads (input port, knobs,
time since the previous input) and then the frame; the addresses are those
fuzz_pipeline.c configures. Inputs libFuzzer found (named by their SHA-1,
without a '-') are left alone; a named seed this script no longer writes is
removed.

  usage: tests/fuzz/make_seeds.py
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# fuzz_pipeline.c: three ports, router addresses on 0 and 1.
PORT_MAC = [bytes.fromhex("5254000000%02x" % (0x10 + p)) for p in range(3)]
PORT_IP = [bytes([10, 0, 0, 1]), bytes([10, 0, 1, 1])]
HOST_MAC = bytes.fromhex("02000000000a")         # a host on port 0's network
HOST_IP = bytes([10, 0, 0, 10])
GATEWAY_IP = bytes([10, 0, 0, 2])               # next hop of 192.168.0.0/16, resolved by ARP
OTHER_MAC = bytes.fromhex("02000000bbbb")
BROADCAST_MAC = b"\xff" * 6
BEHIND_STATIC = bytes([172, 16, 5, 5])          # via the static neighbour 10.0.1.2
BEHIND_GATEWAY = bytes([192, 168, 7, 7])
NOWHERE = bytes([198, 51, 100, 1])              # no route
V6_SRC = bytes.fromhex("20010db8000000000000000000000001")
V6_DST = bytes.fromhex("20010db8000000000000000000000002")

# Header byte 0 (fuzz_pipeline.c): input port, and the port a program
# redirects to in bits 2-3 (3 does not exist).
REDIRECT_NOWHERE = 3 << 2
# Knobs byte: copies, TX room, program, empty pool, neighbours answering ARP.
COPIES_2, COPIES_QUEUE_PLUS_1, COPIES_64 = 1, 2, 3
TX_NONE, TX_ONE = 1 << 2, 2 << 2
PROG_DROP, PROG_TX, PROG_REDIRECT = 1 << 4, 2 << 4, 3 << 4
STARVE = 1 << 6
LINKS_DOWN = 0x10                               # byte 0: every port's link down
ANSWER = 1 << 7
# Byte 2: time since the previous input, in 2 s.
GAP_UNIT_S = 2

ETH_IPV4, ETH_ARP, ETH_IPV6, ETH_VLAN, ETH_QINQ = 0x0800, 0x0806, 0x86DD, 0x8100, 0x88A8


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(ethertype, dst=PORT_MAC[0], src=HOST_MAC):
    return dst + src + struct.pack("!H", ethertype)


def vlan(vid, ethertype):
    return struct.pack("!HH", vid, ethertype)


def ipv4(payload, proto, src=HOST_IP, dst=BEHIND_STATIC, ttl=64, frag=0, ihl=5, version=4,
         total=None, good_csum=True, options=b""):
    total = 4 * ihl + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, total, 0x1234, frag, ttl, proto, 0,
                    src, dst) + options
    c = csum(h) ^ (0 if good_csum else 0x5555)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def udp(sport=4000, dport=53, payload=b"seed", length=None):
    length = 8 + len(payload) if length is None else length
    return struct.pack("!HHHH", sport, dport, length, 0) + payload


def tcp(dport=80, data_off=5):
    return struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, data_off << 4, 0x02, 1024, 0, 0) \
        + b"\0" * (4 * data_off - 20)


def icmp_echo(good_csum=True):
    m = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"ping" * 4
    c = csum(m) if good_csum else csum(m) ^ 0x0F0F
    return m[:2] + struct.pack("!H", c) + m[4:]


def arp(op, sha, spa, tpa, tha=b"\0" * 6, hlen=6):
    return struct.pack("!HHBBH", 1, ETH_IPV4, hlen, 4, op) + sha + spa + tha + tpa


def ipv6(payload, next_header, payload_len=None):
    payload_len = len(payload) if payload_len is None else payload_len
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, next_header, 64, V6_SRC, V6_DST) \
        + payload


def ipv6_ext(next_header, body=b"\0" * 6):
    """An extension header of len(body) + 2 bytes (a multiple of 8)."""
    return bytes([next_header, (len(body) + 2) // 8 - 1]) + body


def pad(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


def seed(frame, port=0, knobs=0, gap_s=0):
    return bytes([port, knobs, gap_s // GAP_UNIT_S]) + frame


def udp_to(dst, **kw):
    return pad(eth(ETH_IPV4) + ipv4(udp(), 17, dst=dst, **kw))


def pipeline_seeds():
    """(name, input) pairs; a name starts with the drop reason it reaches."""
    arp_request_for_us = arp(1, HOST_MAC, HOST_IP, PORT_IP[0])
    yield "runt-short-ethernet", seed(eth(ETH_IPV4)[:12])
    yield "runt-cut-ipv4-header", seed(eth(ETH_IPV4) + ipv4(b"", 17)[:12])
    yield "runt-cut-vlan-tag", seed(eth(ETH_VLAN) + b"\x00")
    yield "bad_vlan-three-tags", seed(pad(eth(ETH_VLAN) + vlan(1, ETH_VLAN) + vlan(2, ETH_VLAN)
                                          + vlan(3, ETH_IPV4) + ipv4(udp(), 17)))
    yield "bad_vlan-qinq-inside-tag", seed(pad(eth(ETH_VLAN) + vlan(1, ETH_QINQ)
                                               + vlan(2, ETH_IPV4) + ipv4(udp(), 17)))
    yield "unknown_ethertype-local-experimental", seed(pad(eth(0x88B5) + b"hello"))
    yield "bad_arp-hardware-length-5", seed(pad(eth(ETH_ARP, dst=BROADCAST_MAC)
                                                + arp(1, HOST_MAC, HOST_IP, PORT_IP[0], hlen=5)))
    yield "bad_ip_version-5", seed(udp_to(BEHIND_STATIC, version=5))
    yield "bad_ihl-4", seed(udp_to(BEHIND_STATIC, ihl=4))
    yield "bad_ip_len-past-frame", seed(udp_to(BEHIND_STATIC, total=1000))
    yield "bad_ip_csum-flipped", seed(udp_to(BEHIND_STATIC, good_csum=False))
    yield "bad_ipv6_ext-past-payload", seed(pad(eth(ETH_IPV6)
                                                + ipv6(ipv6_ext(17, b"\0" * 14)[:8], 0)))
    yield "bad_ipv6_ext-hop-by-hop-second", seed(pad(eth(ETH_IPV6) + ipv6(
        ipv6_ext(0) + ipv6_ext(17) + udp(), 60)))
    yield "bad_l4_len-udp-length-4", seed(pad(eth(ETH_IPV4) + ipv4(udp(length=4), 17)))
    yield "bad_l4_len-tcp-offset-past-payload", seed(pad(eth(ETH_IPV4)
                                                         + ipv4(tcp(data_off=15)[:20], 6)))
    yield "bad_l4_csum-echo-request", seed(pad(eth(ETH_IPV4)
                                               + ipv4(icmp_echo(good_csum=False), 1,
                                                      dst=PORT_IP[0])))
    yield "martian-loopback-source", seed(udp_to(BEHIND_STATIC, src=bytes([127, 0, 0, 1])))
    yield "martian-reserved-destination", seed(udp_to(bytes([240, 0, 0, 1])))
    yield "ttl_expired-ttl-1", seed(udp_to(BEHIND_STATIC, ttl=1))
    yield "ttl_expired-no-buffer-for-the-error", seed(udp_to(BEHIND_STATIC, ttl=1),
                                                      knobs=STARVE)
    yield "ttl_expired-no-error-about-an-error", seed(pad(eth(ETH_IPV4) + ipv4(
        struct.pack("!BBHI", 3, 1, 0, 0) + ipv4(udp(), 17)[:28], 1, ttl=1)))
    yield "no_route-documentation-net", seed(udp_to(NOWHERE))
    yield "acl_deny-ssh", seed(pad(eth(ETH_IPV4) + ipv4(tcp(dport=22), 6)))
    yield "acl_deny-source-net", seed(udp_to(BEHIND_STATIC, src=bytes([10, 9, 1, 1])))
    yield "not_for_us-other-mac", seed(pad(eth(ETH_IPV4, dst=OTHER_MAC) + ipv4(udp(), 17)))
    yield "not_for_us-port-without-address", seed(udp_to(BEHIND_STATIC), port=2)
    yield "not_for_us-arp-for-another-host", seed(pad(eth(ETH_ARP, dst=BROADCAST_MAC)
                                                      + arp(1, HOST_MAC, HOST_IP,
                                                            bytes([10, 0, 0, 77]))))
    # Parked on a neighbour that never answers, dropped when it fails; the
    # next input, right after, finds it failed and in its hold-down.
    yield "no_neighbor-1-resolution-fails", seed(udp_to(bytes([10, 0, 0, 99])))
    yield "no_neighbor-2-hold-down", seed(udp_to(bytes([10, 0, 0, 99])))
    # Failed too, then asked for again 6 s later: past the hold-down, with no
    # housekeeping in between to forget it, so resolution starts over.
    yield "no_neighbor-3-fails-again", seed(udp_to(bytes([10, 0, 0, 97])))
    yield "no_neighbor-4-resolves-after-hold-down", seed(udp_to(bytes([10, 0, 0, 97])),
                                                         gap_s=6)
    # The pool is empty when the ARP request should go: it goes with the
    # first retry instead, unanswered.
    yield "no_neighbor-5-no-buffer-for-the-request", seed(udp_to(bytes([10, 0, 0, 96])),
                                                          knobs=STARVE)
    yield "arp_queue_full-nine-to-one-neighbour", seed(udp_to(bytes([10, 0, 0, 98])),
                                                       knobs=COPIES_QUEUE_PLUS_1)
    yield "fragment-to-us", seed(pad(eth(ETH_IPV4) + ipv4(udp(), 17, dst=PORT_IP[0],
                                                          frag=0x2000)))
    yield "unsupported-ipv6", seed(pad(eth(ETH_IPV6) + ipv6(udp(), 17)))
    yield "unsupported-vlan-tagged", seed(pad(eth(ETH_VLAN) + vlan(5, ETH_IPV4)
                                              + ipv4(udp(), 17)))
    yield "unsupported-multicast-destination", seed(udp_to(bytes([224, 0, 0, 9])))
    yield "icmp_rate_limit-echo-flood", seed(pad(eth(ETH_IPV4) + ipv4(icmp_echo(), 1,
                                                                      dst=PORT_IP[0])),
                                             knobs=COPIES_QUEUE_PLUS_1)
    yield "local_unhandled-tcp-to-us", seed(pad(eth(ETH_IPV4) + ipv4(tcp(), 6, dst=PORT_IP[0])))
    yield "local_unhandled-udp-port-unreachable", seed(udp_to(PORT_IP[0]))
    yield "local_unhandled-directed-broadcast", seed(udp_to(bytes([10, 0, 0, 255])))
    # Bridge: the source is learned on the input port, then the destination
    # is found there.
    yield "same_port-to-itself", seed(pad(eth(ETH_IPV4, dst=HOST_MAC) + ipv4(udp(), 17)))
    yield "no_output-unpaired-l2fwd-port", seed(udp_to(BEHIND_STATIC), port=2)
    yield "no_output-redirect-nowhere", seed(udp_to(BEHIND_STATIC), port=REDIRECT_NOWHERE,
                                             knobs=PROG_REDIRECT)
    yield "tx_full-ports-take-nothing", seed(udp_to(BEHIND_STATIC), knobs=TX_NONE)
    yield "tx_full-one-per-burst", seed(pad(eth(ETH_IPV4, dst=BROADCAST_MAC) + ipv4(udp(), 17)),
                                        knobs=TX_ONE | COPIES_2)
    yield "no_buffer-flood-from-empty-pool", seed(pad(eth(ETH_IPV4, dst=BROADCAST_MAC)
                                                      + ipv4(udp(), 17)), knobs=STARVE)
    yield "program-drop", seed(udp_to(BEHIND_STATIC), knobs=PROG_DROP)
    yield "link_down-every-port", seed(udp_to(BEHIND_STATIC), port=LINKS_DOWN)

    # Forwarded or answered: starting points for the fuzzer.
    yield "pass-forward-via-static-neighbour", seed(udp_to(BEHIND_STATIC))
    yield "pass-arp-request-for-us", seed(pad(eth(ETH_ARP, dst=BROADCAST_MAC)
                                              + arp_request_for_us))
    # The gateway of 192.168.0.0/16 is learned from a reply, used, and used
    # again when its entry has gone stale: the probe that sends is answered.
    gateway_mac = bytes.fromhex("020000000002")
    yield "pass-gateway-1-arp-reply", seed(pad(eth(ETH_ARP) + arp(
        2, gateway_mac, GATEWAY_IP, PORT_IP[0], tha=PORT_MAC[0])))
    yield "pass-gateway-2-forward", seed(udp_to(BEHIND_GATEWAY))
    yield "pass-gateway-3-stale-probe-answered", seed(udp_to(BEHIND_GATEWAY), knobs=ANSWER,
                                                      gap_s=310)
    # Parked while the neighbour is asked, sent when it answers.
    yield "pass-parked-until-answered", seed(udp_to(bytes([10, 0, 0, 95])),
                                             knobs=ANSWER | COPIES_2)
    # A station learned on port 1, then found there by a frame from port 0.
    yield "pass-bridge-1-station-on-port-1", seed(pad(eth(ETH_IPV4, dst=BROADCAST_MAC,
                                                          src=OTHER_MAC) + ipv4(udp(), 17)),
                                                  port=1)
    yield "pass-bridge-2-to-known-station", seed(pad(eth(ETH_IPV4, dst=OTHER_MAC)
                                                     + ipv4(udp(), 17)))
    yield "pass-forward-short-frame", seed(eth(ETH_IPV4) + ipv4(udp(), 17))
    yield "pass-echo-request-with-ip-options", seed(pad(eth(ETH_IPV4) + ipv4(
        icmp_echo(), 1, dst=PORT_IP[0], ihl=6, options=b"\x01\x01\x01\x00")))
    ah = bytes([17, 4, 0, 0]) + struct.pack("!II", 0x100, 1) + b"\0" * 12
    yield "pass-ipv6-authentication-header", seed(pad(eth(ETH_IPV6, dst=OTHER_MAC)
                                                      + ipv6(ah + udp(), 51)), port=1)
    icmpv6_echo = struct.pack("!BBHHH", 128, 0, 0, 1, 1)
    yield "pass-icmpv6-echo", seed(pad(eth(ETH_IPV6, dst=OTHER_MAC) + ipv6(icmpv6_echo, 58)),
                                   port=1)
    yield "pass-echo-request", seed(pad(eth(ETH_IPV4) + ipv4(icmp_echo(), 1, dst=PORT_IP[0])))
    yield "pass-ip-options", seed(pad(eth(ETH_IPV4) + ipv4(udp(), 17, ihl=6,
                                                           options=b"\x01\x01\x01\x00")))
    yield "pass-tcp-with-options", seed(pad(eth(ETH_IPV4) + ipv4(tcp(data_off=8), 6)))
    yield "pass-ttl-1-flood", seed(udp_to(BEHIND_STATIC, ttl=1), knobs=COPIES_64)
    yield "pass-ipv6-extension-chain", seed(eth(ETH_IPV6, dst=OTHER_MAC) + ipv6(
        ipv6_ext(43) + ipv6_ext(44) + struct.pack("!BBHI", 60, 0, 1, 7)
        + ipv6_ext(17) + udp(sport=1500), 0), port=1)
    yield "pass-ipv6-udp-allowed", seed(pad(eth(ETH_IPV6, dst=OTHER_MAC)
                                            + ipv6(udp(sport=1500), 17)), port=1)
    yield "pass-double-tagged", seed(pad(eth(ETH_QINQ, dst=OTHER_MAC) + vlan(10, ETH_VLAN)
                                         + vlan(20, ETH_IPV4) + ipv4(udp(), 17)), port=1)
    yield "pass-program-tx", seed(udp_to(BEHIND_STATIC), knobs=PROG_TX)
    yield "pass-program-redirect", seed(udp_to(BEHIND_STATIC), port=1 << 2, knobs=PROG_REDIRECT)
    yield "pass-second-fragment", seed(udp_to(BEHIND_STATIC, frag=0x0010))


CONFIG_SEEDS = {
    "every-directive.conf": """\
# every directive once
mode router
rx-ring 256
tx-ring 1024
port 0 ip 10.0.0.1/24
port 1 ip 10.0.1.1/24
port 2 role capture
port 3 peer-mac 02:00:00:00:00:03
virtio-event-idx off
route 172.16.0.0/12 via 10.0.1.2
route default via 10.0.0.2
neighbor 10.0.1.2 02:00:00:00:01:02
bridge-age-s 300
bridge-vlan on
acl deny proto tcp src 10.0.0.0/8 dst 192.168.0.0/16 sport 1024-65535 dport 22
acl allow proto udp dst 2001:db8::/32 dport 53
acl deny proto icmp
acl default allow
idle-halt on
idle-polls 64
idle-min-us 10
idle-max-us 1000
arena-mb 64
stats-interval-ms 500
""",
    "l2fwd.conf": "mode l2fwd\nport 0 peer-mac 02:00:00:00:00:01\n"
                  "port 1 peer-mac 02:00:00:00:00:02\n",
    "bridge.conf": "mode bridge\nbridge-age-s 60\nbridge-vlan off\n"
                   "acl default deny\nacl allow proto udp\n",
    "error-bad-prefix.conf": "mode router\nport 0 ip 10.0.0.1/33\n",
    "error-unknown-directive.conf": "mode reflect\n\tfrobnicate 1 # comment\n",
}


BPF_MAX_INSNS = 512                             # net/bpf.h


def bpf_input(insns, packet):
    """fuzz_bpf.c's layout: a little-endian count, the instructions, the packet."""
    body = b"".join(struct.pack("<HBBI", code, jt, jf, k) for code, jt, jf, k in insns)
    return struct.pack("<H", len(insns)) + body + packet


def bpf_seeds():
    packet = pad(eth(ETH_IPV4) + ipv4(udp(), 17))
    # ldh [12]; jeq #0x800 jt 254 (a long forward jump); ld #i ...; ret a
    longest = [(0x28, 0, 0, 12), (0x15, 254, 0, 0x800)]
    longest += [(0x00, 0, 0, i) for i in range(BPF_MAX_INSNS - 3)] + [(0x16, 0, 0, 0)]
    yield "empty-program", bpf_input([], packet)
    yield "longest-program", bpf_input(longest, packet)
    yield "one-too-many", bpf_input([(0x00, 0, 0, 1)] + longest, packet)


def write_all(dirname, items, remove_stale=lambda name: False):
    """Writes items (name, bytes) into dirname; removes the files remove_stale
    picks that are not among them."""
    path = os.path.join(CORPUS, dirname)
    os.makedirs(path, exist_ok=True)
    names = set()
    for name, data in items:
        if name in names:
            sys.exit("make_seeds: %s written twice" % name)
        names.add(name)
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    for old in os.listdir(path):
        if remove_stale(old) and old not in names:
            os.remove(os.path.join(path, old))
    return len(names)


def main():
    # libFuzzer names what it finds by SHA-1: hex digits, no '-'.
    n = write_all("pipeline", pipeline_seeds(), remove_stale=lambda name: "-" in name)
    m = write_all("config", ((k, v.encode()) for k, v in CONFIG_SEEDS.items()))
    b = write_all("bpf", bpf_seeds(), remove_stale=lambda name: "-" in name)
    print("make_seeds: %d pipeline, %d config, %d bpf seeds in %s" % (n, m, b, CORPUS))


if __name__ == "__main__":
    main()
