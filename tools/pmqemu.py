"""pmqemu: builds and runs the QEMU command line for a pktmetal image.

One place knows how pktmetal boots: `tools/pktmetal-qemu` (used by `make run`)
and the QEMU tests under tests/qemu/ both go through Machine. Every command
line carries what DESIGN.md and TRAPS.md require: q35, -m 512M, -no-reboot,
isa-debug-exit on port 0xf4 (the only way a failure code reaches the host),
and romfile= on each NIC (OVMF would otherwise spend ~1.8 s loading iPXE).

NIC back ends are UDP sockets on 127.0.0.1 (`-netdev dgram`), never any other
address: port pairs are chosen per NIC so tools can send and receive frames.
A NIC may instead be wired to a tap device or, for a peer that can push back,
to a unix stream socket (`-netdev stream`). With qmp=True the machine carries
a QMP socket, through which tests flip a NIC's link (`set_link`).
"""

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OVMF_CANDIDATES = ("/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF.fd")

NIC_MODELS = {
    "e1000": "e1000",
    "virtio": "virtio-net-pci",
    "virtio-modern": "virtio-net-pci-non-transitional",
}


def find_ovmf():
    for path in OVMF_CANDIDATES:
        if os.path.exists(path):
            return path
    raise FileNotFoundError("OVMF firmware not found (apt-get install ovmf, or run `make deps`)")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nic:
    """A NIC on the guest's PCI bus. By default wired to a pair of UDP ports
    on loopback: QEMU listens on guest_port; frames the guest sends go to
    host_port. With tap=IFNAME it is wired to that (existing) tap device
    instead, for a real Linux peer (tests/qemu/netns.py).

    With stream=PATH it is wired to a unix stream socket that a peer is
    already listening on: QEMU connects to it at start (server=off) and
    frames travel both ways as a 4-byte big-endian length, then the frame.
    Unlike dgram and tap, this back end pushes back: when the peer stops
    reading and the socket's buffers fill, QEMU keeps the frame it could not
    write and takes nothing more from the NIC (net/stream.c returns 0, and
    virtio-net stops its TX queue until the frame is written)."""

    def __init__(self, model, index, tap=None, stream=None):
        if model not in NIC_MODELS:
            raise ValueError(f"unknown NIC model {model!r}; choose from {', '.join(NIC_MODELS)}")
        if tap and stream:
            raise ValueError(f"NIC {index}: a tap and a stream socket at once")
        self.model = model
        self.index = index
        self.tap = tap
        self.stream = stream
        self.guest_port = free_udp_port()
        self.host_port = free_udp_port()
        # Ports are numbered in PCI address order (DESIGN.md): pin slots.
        self.pci_addr = 0x10 + index
        self.mac = "52:54:00:12:34:%02x" % (0x10 + index)

    def args(self):
        nd = f"n{self.index}"
        dev = f"{NIC_MODELS[self.model]},netdev={nd},mac={self.mac},addr=0x{self.pci_addr:x},romfile="
        if self.tap:
            return ["-netdev", f"tap,id={nd},ifname={self.tap},script=no,downscript=no",
                    "-device", dev]
        if self.stream:
            return ["-netdev", f"stream,id={nd},server=off,addr.type=unix,addr.path={self.stream}",
                    "-device", dev]
        return [
            "-netdev",
            f"dgram,id={nd},local.type=inet,local.host=127.0.0.1,local.port={self.guest_port},"
            f"remote.type=inet,remote.host=127.0.0.1,remote.port={self.host_port}",
            "-device",
            f"{NIC_MODELS[self.model]},netdev={nd},mac={self.mac},addr=0x{self.pci_addr:x},romfile=",
        ]


class Machine:
    """One QEMU run of the image. Serial COM1 is read line by line with host
    timestamps; COM2 goes to a unix socket when control=True. taps and
    streams list, per NIC, a tap name or a stream socket path (None: dgram);
    qmp=True adds a QMP socket for set_link."""

    def __init__(self, image, conf_text=None, nics=("e1000", "virtio"), control=False,
                 extra_args=(), workdir=None, memory="512M", cpu=None, big_rcvbuf=False,
                 taps=(), streams=(), qmp=False):
        self.image = image
        self.workdir = workdir or tempfile.mkdtemp(prefix="pktmetal-")
        self.esp = os.path.join(self.workdir, "esp")
        taps = list(taps) + [None] * (len(nics) - len(taps))
        streams = list(streams) + [None] * (len(nics) - len(streams))
        self.nics = [Nic(m, i, tap=t, stream=st)
                     for i, (m, t, st) in enumerate(zip(nics, taps, streams))]
        self.control_path = os.path.join(self.workdir, "com2.sock") if control else None
        self.qmp_path = os.path.join(self.workdir, "qmp.sock") if qmp else None
        self._qmp = None
        self.memory = memory
        self.cpu = cpu
        self.extra_args = list(extra_args)
        self.big_rcvbuf = big_rcvbuf
        self.proc = None
        self.lines = []            # (host monotonic time, text)
        self._queue = queue.Queue()
        self._reader = None
        self._make_esp(conf_text)

    def _make_esp(self, conf_text):
        boot = os.path.join(self.esp, "EFI", "BOOT")
        os.makedirs(boot, exist_ok=True)
        shutil.copyfile(self.image, os.path.join(boot, "BOOTX64.EFI"))
        conf = os.path.join(self.esp, "pktmetal.conf")
        if conf_text is None:
            if os.path.exists(conf):
                os.unlink(conf)
        else:
            with open(conf, "w") as f:
                f.write(conf_text)

    def command(self):
        cmd = [
            "qemu-system-x86_64", "-machine", "q35", "-m", self.memory,
            "-bios", find_ovmf(), "-no-reboot", "-display", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", f"format=raw,file=fat:rw:{self.esp}",
            "-serial", "stdio",
        ]
        if self.cpu:
            cmd += ["-cpu", self.cpu]
        if self.control_path:
            cmd += ["-serial", f"unix:{self.control_path},server=on,wait=off"]
        if self.qmp_path:
            cmd += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        for nic in self.nics:
            cmd += nic.args()
        return cmd + self.extra_args

    def environment(self):
        """QEMU's environment. big_rcvbuf preloads a shim that enlarges the
        receive buffer of QEMU's dgram sockets (TRAPS.md: the host default
        ~208 KiB drops frames when QEMU stalls briefly on a busy host)."""
        env = dict(os.environ)
        if self.big_rcvbuf:
            shim = os.path.join(ROOT, "build", "tools", "rcvbuf_preload.so")
            if not os.path.exists(shim):
                raise FileNotFoundError(f"{shim} missing: run `make tools`")
            env["LD_PRELOAD"] = shim
        return env

    def start(self):
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.environment())
        self._reader = threading.Thread(target=self._read_serial, daemon=True)
        self._reader.start()
        return self

    def _read_serial(self):
        buf = b""
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                break
            now = time.monotonic()
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").rstrip("\r")
                self.lines.append((now, line))
                self._queue.put((now, line))
        if buf:
            line = buf.decode("utf-8", "replace")
            self.lines.append((time.monotonic(), line))
            self._queue.put((time.monotonic(), line))
        self._queue.put(None)

    def expect(self, needle, timeout):
        """Waits for a COM1 line containing needle; returns (time, line)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line containing {needle!r} within {timeout}s")
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if item is None:
                raise EOFError(f"QEMU exited before printing {needle!r}")
            if needle in item[1]:
                return item

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait(self, timeout):
        """Waits for QEMU to exit; kills it at the timeout. Returns the exit code."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(f"QEMU still running after {timeout}s; killed")
        if self._reader:
            self._reader.join(timeout=2)
        return rc

    def qmp(self):
        """The QMP connection (Machine(qmp=True)), opened on first use."""
        if self.qmp_path is None:
            raise RuntimeError("this Machine has no QMP socket (pass qmp=True)")
        if self._qmp is None:
            self._qmp = Qmp(self.qmp_path)
        return self._qmp

    def set_link(self, index, up):
        """Takes NIC index's link down or up, as an unplugged and replugged
        cable would. QEMU flips the netdev and the NIC together: the NIC
        shows it (e1000 STATUS.LU after its autonegotiation delay, virtio-net
        its config status) and, while down, QEMU silently discards every
        frame in either direction."""
        self.qmp().execute("set_link", name=f"n{index}", up=bool(up))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def output(self):
        return "\n".join(line for _, line in self.lines)

    def cleanup(self):
        if self._qmp:
            self._qmp.close()
            self._qmp = None
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


class QmpError(RuntimeError):
    pass


class Qmp:
    """A minimal client of QEMU's machine protocol on a unix socket: one JSON
    object a line; the greeting, then qmp_capabilities, then commands, each
    answered by {"return": ...} or {"error": ...}. Asynchronous events can
    arrive in between; they are kept in `events`."""

    def __init__(self, path, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"QEMU's QMP socket {path} never appeared")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rb")
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QmpError("QEMU closed the QMP socket")
        return json.loads(line)

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            elif "return" in reply:
                return reply["return"]

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class ControlHub:
    """Shares the guest's control channel (COM2) among several tools.

    QEMU's socket chardev takes one client. The hub is that client: every
    line the guest writes is appended to `log_path` (so tools/pktstat can
    follow it like any serial log) and copied to each client connected to
    the hub's own unix socket; bytes a client sends go to the guest. So
    pktcap can drive a capture while pktstat watches STATS lines.
    """

    def __init__(self, machine, sock_path=None, log_path=None):
        self.machine = machine
        self.sock_path = sock_path or os.path.join(machine.workdir, "control.sock")
        self.log_path = log_path or os.path.join(machine.workdir, "com2.log")
        self.clients = []
        self.lock = threading.Lock()
        self.guest = None
        self.stopped = False

    def start(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.guest = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.guest.connect(self.machine.control_path)
                break
            except OSError:
                self.guest.close()
                if time.monotonic() > deadline:
                    raise TimeoutError("QEMU's COM2 socket never appeared")
                time.sleep(0.05)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.sock_path)
        self.server.listen(8)
        self.log = open(self.log_path, "ab", buffering=0)
        threading.Thread(target=self._from_guest, daemon=True).start()
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _from_guest(self):
        while not self.stopped:
            try:
                data = self.guest.recv(65536)
            except OSError:
                break
            if not data:
                break
            self.log.write(data)
            with self.lock:
                for c in list(self.clients):
                    try:
                        c.sendall(data)
                    except OSError:
                        self.clients.remove(c)

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.server.accept()
            except OSError:
                break
            with self.lock:
                self.clients.append(c)
            threading.Thread(target=self._from_client, args=(c,), daemon=True).start()

    def _from_client(self, c):
        while not self.stopped:
            try:
                data = c.recv(65536)
            except OSError:
                break
            if not data:
                break
            try:
                self.guest.sendall(data)
            except OSError:
                break
        with self.lock:
            if c in self.clients:
                self.clients.remove(c)

    def send(self, line):
        self.guest.sendall(line.encode() + b"\n")

    def stop(self):
        self.stopped = True
        for s in [self.server, self.guest] + self.clients:
            try:
                s.close()
            except OSError:
                pass


def write_run_file(machine, hub, path, capture_port=None):
    """What host tools need to find a running pktmetal (pktcap --run)."""
    info = {
        "control": hub.sock_path if hub else None,
        "com2_log": hub.log_path if hub else None,
        "capture_udp": machine.nics[capture_port].host_port if capture_port is not None else None,
        "ports": [{"index": n.index, "model": n.model, "mac": n.mac, "guest_udp": n.guest_port,
                   "host_udp": n.host_port} for n in machine.nics],
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(info, f, indent=1)
    return info
