#!/usr/bin/env python3
"""A stand-in for the image side of a capture, for pktcap's self-test.

It plays what the real image and QEMU do around `pktcap` (net/capture.h):

* listens on a unix stream socket, as QEMU serves COM2 (one client);
* talks the control line protocol: reads command lines, writes every one it
  receives to --record (one line each, as received), answers "capture start"
  with "capture: ok started points=P insns=N snap=N" and "capture stop" with
  "capture: ok stopped active=0 captured=8 queue_drops=2 filtered=7 sent=7
  tx_drops=1" (net/capture.c's formats); interleaves "STATS {json}" lines and,
  before the start reply, a "capture: status ..." line answering some other
  tool (as pmqemu.ControlHub shows every client everything), all of which
  pktcap must skip; ends lines with CRLF as a UART console does;
* after a start, sends the copies of SCENARIO (below) to 127.0.0.1:--udp, as
  QEMU's -netdev dgram delivers the capture port's frames: Ethernet
  (ff:ff:ff:ff:ff:ff, the capture port's MAC, type 0x88b5), the 32-byte
  capture_wire_hdr in network byte order, the frame.

SCENARIO: seven copies numbered 0..6, of which seq 3 is never sent (a gap),
on ports 0 and 1, at the rx, tx and drop points, with three bad datagrams
among them (wrong magic, cap_len past the datagram, not 0x88b5), a snapped
copy (cap_len < orig_len), a padded datagram, and a drop with a reason the
image does not define. The stop reply says captured=8: one copy after the last
one sent was "lost" too (the capture port refused it: tx_drops=1). Timestamps are T0 + seq * 1001 ns, T0 =
1700000000.123456789 s, so nanoseconds show.

--mode changes the behaviour for the failure tests:
  normal   as above
  hold     like normal, but the stop reply waits --hold-s seconds (a slow image)
  silent   reads commands, never answers (pktcap must give up after 5 s)
  refuse   answers the start with "capture: error ..."
  hangup   answers the start, sends the copies, then closes the socket
  stale    before the real start reply, sends the late replies a slow image
           gives an earlier pktcap that stopped waiting ("ok started" with
           another insns=, "ok stopped")

Prints "ready" on stdout once listening; exits when the client disconnects.
Traffic goes to 127.0.0.1 only.
"""
import argparse
import json
import os
import re
import socket
import struct
import sys
import time

CAPTURE_ETHERTYPE = 0x88B5
CAPTURE_MAGIC = 0x504D4350
CAPTURE_VERSION = 1
RX, TX, DROP = 0, 1, 2
T0_NS = 1700000000_123456789
CAPTURE_MAC = bytes.fromhex("52540012341f")
HOST_MAC = bytes.fromhex("020000000001")
PORT0_MAC = bytes.fromhex("525400123410")
PORT1_MAC = bytes.fromhex("525400123411")
PEER1_MAC = bytes.fromhex("020000000002")
UNKNOWN_REASON = 999


def drop_reasons(drop_h):
    """The DROP_REASONS X-macro's text names, in enum order."""
    with open(drop_h) as f:
        return re.findall(r'X\(\s*\w+\s*,\s*"([a-z0-9_]+)"\s*\)', f.read())


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def udp(src, dst, sport, dport, payload, ttl=64):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, 8 + len(payload))
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return ipv4(src, dst, 17, hdr[:6] + struct.pack("!H", c) + payload, ttl)


def tcp_syn(src, dst, sport, dport):
    opts = bytes.fromhex("020405b40402080a0000000100000000")    # MSS, SACK ok, timestamps
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, (20 + len(opts)) // 4 << 4, 0x02,
                      64240, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    return ipv4(src, dst, 6, hdr)


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp_request(smac, sip, tip):
    return eth(b"\xff" * 6, smac, 0x0806, struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, smac, socket.inet_aton(sip), b"\0" * 6,
        socket.inet_aton(tip)))


def wire(point, port, seq, frame, cap_len=None, reason=0, magic=CAPTURE_MAGIC, pad=0,
         claim_cap_len=None, ethertype=CAPTURE_ETHERTYPE):
    cap = len(frame) if cap_len is None else cap_len
    hdr = struct.pack("!IBBHHHIIQI", magic, CAPTURE_VERSION, point, port, reason, 0, len(frame),
                      cap if claim_cap_len is None else claim_cap_len, T0_NS + seq * 1001, seq)
    assert len(hdr) == 32
    return eth(b"\xff" * 6, CAPTURE_MAC, ethertype, hdr + frame[:cap] + b"\0" * pad)


def scenario(reasons):
    """(datagram, description) in sending order."""
    ttl_expired = reasons.index("ttl_expired")
    f_in = eth(PORT0_MAC, HOST_MAC, 0x0800, udp("10.0.0.2", "10.0.1.2", 1000, 2000, b"pktcap-0"))
    f_out = eth(PEER1_MAC, PORT1_MAC, 0x0800,
                udp("10.0.0.2", "10.0.1.2", 1000, 2000, b"pktcap-0", ttl=63))
    f_ttl = eth(PORT0_MAC, HOST_MAC, 0x0800, udp("10.0.0.2", "10.0.1.2", 1000, 2000, b"ttl", ttl=1))
    f_syn = eth(PORT1_MAC, PEER1_MAC, 0x0800, tcp_syn("10.0.1.2", "10.0.0.2", 3000, 80))
    f_arp = arp_request(PORT0_MAC, "10.0.0.1", "10.0.0.2")
    f_small = eth(PORT1_MAC, PEER1_MAC, 0x0800, udp("10.0.1.2", "10.0.0.2", 5, 6, b"x" * 18))
    return [
        (wire(RX, 0, 0, f_in), "seq 0 rx port0 udp"),
        (wire(TX, 1, 1, f_out), "seq 1 tx port1 udp"),
        (wire(DROP, 0, 2, f_ttl, reason=ttl_expired), "seq 2 drop port0 ttl_expired"),
        # seq 3: never sent
        (wire(RX, 0, 3, f_in, magic=0x12345678), "bad magic"),
        (wire(RX, 0, 3, f_in, claim_cap_len=len(f_in) + 10), "bad cap_len"),
        (wire(RX, 0, 3, f_in, ethertype=0x0800), "not 0x88b5"),
        (wire(RX, 1, 4, f_syn, cap_len=54), "seq 4 rx port1 tcp, snapped 54 of 74"),
        (wire(TX, 0, 5, f_arp, pad=4), "seq 5 tx port0 arp, 4 bytes of padding"),
        (wire(DROP, 1, 6, f_small, reason=UNKNOWN_REASON), "seq 6 drop port1 reason 999"),
    ]


STOP_CAPTURED = 8        # seq 0..7 made; 3 and 7 never arrive
STOP_QUEUE_DROPS = 2
STOP_FILTERED = 7
STOP_SENT = 7
STOP_TX_DROPS = 1


def stats_line():
    return "STATS " + json.dumps({"t_ms": int(time.time() * 1000), "ports": [
        {"port": 0, "rx": 10, "tx": 9}, {"port": 1, "rx": 9, "tx": 10}]})


class Session:
    def __init__(self, conn, args):
        self.conn = conn
        self.args = args
        self.reasons = drop_reasons(args.drop_h)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_line(self, text):
        self.conn.sendall(text.encode() + b"\r\n")

    def record(self, line):
        with open(self.args.record, "a") as f:
            f.write(line + "\n")

    def start(self, line):
        fields = dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
        hexprog = fields.get("bpf", "")
        if self.args.mode == "refuse":
            self.send_line("capture: error bpf: insn 3: jump out of range")
            return
        if len(hexprog) % 16 or not re.fullmatch(r"[0-9a-fA-F]*", hexprog) or not hexprog:
            self.send_line("capture: error bad bpf hex")
            return
        self.send_line(stats_line())
        if self.args.mode == "stale":
            self.send_line("capture: ok started points=rx0 insns=999 snap=65535")
            self.send_line("capture: ok stopped active=0 captured=0 queue_drops=0 filtered=0 "
                           "sent=0 tx_drops=0")
        self.send_line("capture: status active=0 captured=0 queue_drops=0 filtered=0 sent=0 tx_drops=0")
        self.send_line("capture: ok started points=%s insns=%d snap=%s"
                       % (fields.get("points", "?"), len(hexprog) // 16, fields.get("snap", "65535")))
        for dgram, _ in scenario(self.reasons):
            self.udp.sendto(dgram, ("127.0.0.1", self.args.udp))
            time.sleep(0.002)
        self.send_line(stats_line())
        if self.args.mode == "hangup":
            time.sleep(0.2)
            self.conn.shutdown(socket.SHUT_RDWR)

    def stop(self):
        if self.args.mode == "hold":
            time.sleep(self.args.hold_s)
        self.send_line("capture: ok stopped active=0 captured=%d queue_drops=%d filtered=%d "
                       "sent=%d tx_drops=%d" % (STOP_CAPTURED, STOP_QUEUE_DROPS, STOP_FILTERED,
                                                STOP_SENT, STOP_TX_DROPS))

    def handle(self, line):
        self.record(line)
        if self.args.mode == "silent":
            return
        if line.startswith("capture start"):
            self.start(line)
        elif line == "capture stop":
            self.stop()
        elif line == "capture status":
            self.send_line("capture: status active=1 captured=0 queue_drops=0 filtered=0 sent=0 "
                           "tx_drops=0")
        else:
            self.send_line("unknown command")

    def run(self):
        self.send_line(stats_line())        # a tool connects mid-stream
        buf = b""
        while True:
            try:
                data = self.conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.handle(line.decode().rstrip("\r"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--control", required=True, help="unix socket path to listen on")
    ap.add_argument("--udp", type=int, required=True, help="pktcap's capture UDP port")
    ap.add_argument("--record", required=True, help="append received command lines here")
    ap.add_argument("--drop-h", default="net/drop.h")
    ap.add_argument("--mode", default="normal", choices=["normal", "hold", "silent", "refuse", "hangup", "stale"])
    ap.add_argument("--hold-s", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=60.0, help="give up waiting for a client")
    ap.add_argument("--list", action="store_true", help="print the scenario and exit")
    args = ap.parse_args()

    if args.list:
        for _, what in scenario(drop_reasons(args.drop_h)):
            print(what)
        return 0
    if os.path.exists(args.control):
        os.unlink(args.control)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.control)
    srv.listen(1)
    srv.settimeout(args.timeout)
    print("ready", flush=True)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("fake_image: no client", file=sys.stderr)
        return 1
    conn.settimeout(args.timeout)
    Session(conn, args).run()
    conn.close()
    srv.close()
    os.unlink(args.control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
