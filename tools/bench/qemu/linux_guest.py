"""The Linux guest of the QEMU benchmark: Debian's kernel booted straight
from -kernel/-initrd, with an initramfs built here from the host's own
packages.

    /init                         tools/bench/linux_guest/init
    /bin/busybox                  busybox-static (applets linked at boot)
    /usr/sbin/{ip,tc,xdp-bench}   iproute2, xdp-tools
    /lib/x86_64-linux-gnu/...     their shared libraries, found with ldd
    /lib64/ld-linux-x86-64.so.2   the dynamic loader
    /usr/lib/x86_64-linux-gnu/bpf libxdp's BPF objects (xdp-bench's dispatcher)
    /lib/modules/kernel/...       the drivers and their dependencies,
    /etc/bench-modules            listed in load order (modules.dep)

The kernel is the newest /boot/vmlinuz-* with modules in /lib/modules
(package linux-image-amd64). Nothing here needs root but reading /boot.
"""

import glob
import gzip
import os
import re
import shutil
import subprocess
import tempfile
import time

from machines import BenchMachine

HERE = os.path.dirname(os.path.abspath(__file__))
INIT_SCRIPT = os.path.join(os.path.dirname(HERE), "linux_guest", "init")

BUSYBOX = "/bin/busybox"
BINARIES = ("/usr/sbin/ip", "/usr/sbin/tc", "/usr/sbin/xdp-bench")
BPF_OBJECTS = "/usr/lib/x86_64-linux-gnu/bpf"

# What the paths need; modules.dep adds virtio, virtio_ring, failover, stp, llc ...
MODULES = ("e1000", "virtio_pci", "virtio_net", "bridge", "sch_ingress", "cls_matchall",
           "act_mirred")


class GuestError(RuntimeError):
    pass


def find_kernel():
    """(release, vmlinuz path) of the newest installed kernel that has modules."""
    def version_key(release):
        return [int(x) for x in re.findall(r"\d+", release)]
    releases = [os.path.basename(p)[len("vmlinuz-"):] for p in glob.glob("/boot/vmlinuz-*")]
    releases = [r for r in releases if os.path.isfile(f"/lib/modules/{r}/modules.dep")]
    if not releases:
        raise GuestError("no /boot/vmlinuz-* with /lib/modules: apt-get install linux-image-amd64 "
                         "(tools/deps.sh --bench)")
    release = max(releases, key=version_key)
    path = f"/boot/vmlinuz-{release}"
    if not os.access(path, os.R_OK):
        raise GuestError(f"{path} is not readable (Debian makes it root-only)")
    return release, path


def module_load_order(release, wanted=MODULES):
    """Relative module paths, every module after the ones it depends on."""
    deps = {}
    with open(f"/lib/modules/{release}/modules.dep") as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    by_name = {re.sub(r"\.ko(\.\w+)?$", "", os.path.basename(p)).replace("-", "_"): p for p in deps}
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        for dep in deps[path]:
            visit(dep)
        order.append(path)

    for name in wanted:
        if name not in by_name:
            raise GuestError(f"module {name} not in /lib/modules/{release}/modules.dep")
        visit(by_name[name])
    for path in order:
        if not path.endswith(".ko"):
            raise GuestError(f"{path}: compressed modules are not handled (busybox insmod)")
    return order


def shared_libraries(binary):
    """Absolute paths ldd names for binary, the dynamic loader included."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"=> (/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.append(m.group(1))
    return libs


def _copy(src, root, dest=None):
    """Copies src's content (symlinks followed) to root/dest (default: the same path)."""
    target = os.path.join(root, (dest or src).lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(src, target)


def build_initramfs(out_path, release):
    """Writes a gzip'd newc cpio archive to out_path; returns what went in."""
    for tool in (BUSYBOX,) + BINARIES:
        if not os.path.exists(tool):
            raise GuestError(f"{tool} missing: run tools/deps.sh --bench")
    if not shutil.which("cpio"):
        raise GuestError("cpio missing: run tools/deps.sh --bench")
    modules = module_load_order(release)
    with tempfile.TemporaryDirectory(prefix="pm-initramfs-") as root:
        _copy(INIT_SCRIPT, root, "/init")
        os.chmod(os.path.join(root, "init"), 0o755)
        _copy(BUSYBOX, root)
        libs = sorted({lib for b in BINARIES for lib in shared_libraries(b)})
        for path in BINARIES + tuple(libs):
            _copy(path, root)
        for obj in glob.glob(os.path.join(BPF_OBJECTS, "*.o")):
            _copy(obj, root)
        for mod in modules:
            _copy(f"/lib/modules/{release}/{mod}", root, f"/lib/modules/{mod}")
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc", "bench-modules"), "w") as f:
            f.write("".join(m + "\n" for m in modules))
        names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, capture_output=True,
                               text=True, check=True).stdout
        archive = subprocess.run(["cpio", "--create", "--format=newc", "--owner=0:0",
                                  "--reproducible", "--quiet"], cwd=root, input=names.encode(),
                                 capture_output=True, check=True).stdout
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with gzip.GzipFile(out_path, "wb", mtime=0) as f:
        f.write(archive)
    return {"modules": [os.path.basename(m) for m in modules], "libraries": libs,
            "bytes": os.path.getsize(out_path)}


class LinuxMachine(BenchMachine):
    """The Linux guest on the same QEMU machine as pktmetal (q35, the same
    NICs and dgram netdevs, -cpu, -smp, shim and pinning) but booted with
    -kernel/-initrd instead of OVMF. mitigations=off: pktmetal has none
    either, and Linux should not pay for them here."""

    def __init__(self, kernel, initrd, nics, cpu, smp=1, taskset=None):
        super().__init__(image=None, nics=nics, cpu=cpu, smp=smp, taskset=taskset)
        self.kernel = kernel
        self.initrd = initrd

    def _make_esp(self, conf_text):
        pass                        # no firmware, no boot volume

    def qemu_command(self):
        append = ("console=ttyS0 quiet panic=-1 mitigations=off "
                  + " ".join(f"bench.mac{n.index}={n.mac}" for n in self.nics))
        cmd = [
            "qemu-system-x86_64", "-machine", "q35", "-m", self.memory, "-no-reboot",
            "-display", "none", "-cpu", self.cpu, "-smp", str(self.smp),
            "-kernel", self.kernel, "-initrd", self.initrd, "-append", append,
            "-serial", "stdio",
        ]
        for nic in self.nics:
            cmd += nic.args()
        return cmd

    def set_path(self, path, timeout=60):
        """Sets up a forwarding path; raises GuestError when the guest says it failed."""
        deadline = time.monotonic() + timeout
        self.send(f"path {path}\n")
        while True:
            _, line = self.expect("bench-guest: ", max(0.1, deadline - time.monotonic()))
            if line.endswith(f"ready {path}"):
                return
            if f"failed {path}" in line:
                raise GuestError(f"{line}\n{self.output()[-3000:]}")
