"""pktmetal between real Linux hosts (issue 4): two network namespaces, each
with a tap wired to one pktmetal port. Router mode: ping the router, ping
through it (TTL decremented, checksums valid on the wire), a 10 MB TCP
transfer whose digest matches, a TTL=1 probe answered with time-exceeded,
and an ACL that blocks one TCP port while another passes. Bridge mode: two
hosts on one subnet ping each other and exchange a TCP stream."""
import hashlib
import os
import re
import subprocess
import time

from accounting import Ledger
from netns import Peers
from qemutest import BOOT_TIMEOUT_S, EXIT_TIMEOUT_S, booted, check

ROUTER_CONF = """mode router
port 0 ip 10.77.1.1/24
port 1 ip 10.77.2.1/24
acl deny proto tcp dport 9999
"""

# A TCP sink in the peer: accepts one connection, hashes what arrives, prints it.
SINK = ("import hashlib,socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
        "socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',int(sys.argv[1])));s.listen(1);"
        "s.settimeout(40);c,_=s.accept();c.settimeout(40);h=hashlib.sha256();n=0\n"
        "while True:\n d=c.recv(65536)\n if not d: break\n h.update(d);n+=len(d)\n"
        "print(n,h.hexdigest(),flush=True)")
# A TCP source: connects, sends N pseudo-random bytes, prints their digest.
SOURCE = ("import hashlib,os,socket,sys;d=os.urandom(int(sys.argv[3]));"
          "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[4]));"
          "s.sendall(d);s.shutdown(socket.SHUT_WR);s.recv(1);print(len(d),hashlib.sha256(d).hexdigest())")


def ping(host, target, count=3, ttl=None, timeout=20):
    args = ["ping", "-n", "-c", str(count), "-i", "0.3", "-W", "2"]
    if ttl:
        args += ["-t", str(ttl)]
    return host.exec(*args, target, check=False, timeout=timeout)


def tcp_transfer(src, dst, port, nbytes, connect_timeout=10.0):
    sink = dst.popen("python3", "-c", SINK, str(port), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        r = src.exec("python3", "-c", SOURCE, dst.ip, str(port), str(nbytes),
                     str(connect_timeout), check=False, timeout=60)
        if r.returncode != 0:
            return None, None, r.stderr
        out, _ = sink.communicate(timeout=60)
        return r.stdout.split(), out.split(), ""
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()


def start_capture(host, pcap):
    p = host.popen("tcpdump", "-n", "-U", "-i", host.tap, "-w", pcap, "icmp",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return p


def test_router_between_two_linux_namespaces(image):
    specs = [("10.77.1.2/24", "10.77.1.1"), ("10.77.2.2/24", "10.77.2.1")]
    with Peers("r", specs) as peers, \
            booted(image, ROUTER_CONF, nics=("e1000", "virtio"), taps=peers.taps()) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        peers.attach()
        a, b = peers.hosts
        time.sleep(1.5)                      # e1000 takes no RX for ~1 s after RCTL
        ledger = Ledger(m, taps={0: a, 1: b})
        r = ping(a, "10.77.1.1")
        check(r.returncode == 0, f"ping of the router failed:\n{r.stdout}{r.stderr}", m)

        pcap = os.path.join(m.workdir, "b.pcap")
        cap = start_capture(b, pcap)
        r = ping(a, b.ip, count=5)
        cap.terminate()
        cap.wait(10)
        check(r.returncode == 0, f"ping A->B through the router failed:\n{r.stdout}", m)
        check(re.search(r"ttl=63", r.stdout), f"reply TTL not decremented once:\n{r.stdout}", m)
        t = subprocess.run(["tshark", "-n", "-r", pcap, "-o", "ip.check_checksum:TRUE",
                            "-T", "fields", "-e", "ip.ttl", "-e", "ip.checksum.status",
                            "-Y", "icmp.type == 8"], capture_output=True, text=True, timeout=60)
        rows = [ln.split("\t") for ln in t.stdout.splitlines() if ln.strip()]
        check(rows and all(row[0] == "63" for row in rows),
              f"echo requests reaching B should carry TTL 63: {rows}", m)
        check(all(row[1] in ("1", "Good") for row in rows), f"bad IPv4 checksums on the wire: {rows}", m)

        sent, got, err = tcp_transfer(a, b, 8080, 10 * 1024 * 1024)
        check(sent and got and sent == got, f"TCP transfer A->B: sent {sent} got {got} {err}", m)

        r = ping(a, b.ip, count=1, ttl=1)
        check("Time to live exceeded" in r.stdout and "10.77.1.1" in r.stdout,
              f"TTL=1 probe not answered with time-exceeded from the router:\n{r.stdout}", m)

        sent, got, err = tcp_transfer(a, b, 9999, 1000, connect_timeout=3.0)
        check(sent is None, "a connection to the denied port 9999 went through", m)

        m.send("stats\r")
        m.expect("drops:", 10)
        m.send("acl\r")
        time.sleep(1)
        ledger.check([])
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
        log = m.output()
        check(re.search(r"acl_deny [1-9]", log), "ACL drops not counted", m)
        check(re.search(r"ttl_expired [1-9]", log), "TTL expiry not counted", m)
        check("every buffer returned" in log, "pool in_use not back at baseline", m)


def test_bridge_between_two_linux_namespaces(image):
    specs = [("10.78.0.1/24", None), ("10.78.0.2/24", None)]
    with Peers("b", specs) as peers, \
            booted(image, "mode bridge\n", nics=("virtio", "e1000"), taps=peers.taps()) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        peers.attach()
        a, b = peers.hosts
        time.sleep(1.5)
        ledger = Ledger(m, taps={0: a, 1: b})
        r = ping(a, b.ip, count=5)
        check(r.returncode == 0, f"ping A->B across the bridge failed:\n{r.stdout}{r.stderr}", m)
        check(re.search(r"ttl=64", r.stdout), "a bridge must not touch the TTL", m)
        sent, got, err = tcp_transfer(b, a, 8081, 5 * 1024 * 1024)
        check(sent and got and sent == got, f"TCP stream B->A: sent {sent} got {got} {err}", m)
        m.send("macs\r")
        m.expect("port", 10)
        ledger.check([])
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
        check("every buffer returned" in m.output(), "pool in_use not back at baseline", m)


test_router_between_two_linux_namespaces.exclusive = True
test_bridge_between_two_linux_namespaces.exclusive = True
