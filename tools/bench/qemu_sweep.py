#!/usr/bin/python3
"""End to end in QEMU, in one run: how many frames per second pktmetal
forwards, beside a Linux guest doing the same job in the same QEMU, and
beside QEMU carrying the same traffic with no guest at all (the ceiling).

For each NIC model (e1000, virtio-net) and frame size (64 and 1514 bytes,
pktgen --size, FCS not counted), tools/pktgen offers UDP frames both ways at
once (8 flows a direction) over -netdev dgram on 127.0.0.1 and a rate sweep
finds (tools/bench/qemu/sweep.py):

  knee        the highest offered rate forwarded with under 1% loss
  saturation  what gets through when pktgen offers all it can

for:

  pktmetal    booted under QEMU + OVMF, `mode l2fwd`, then `mode router`
              (static neighbours)
  linux-*     Debian's kernel with a busybox initramfs built here
              (tools/bench/qemu/linux_guest.py, tools/bench/linux_guest/init):
              l2fwd through the bridge, tc mirred, XDP redirect generic and
              native (native only on virtio-net: e1000 has no XDP driver);
              router through ip_forward with static neighbours
  qemu-hub    no guest: the two dgram netdevs joined by a QEMU hub

All QEMU runs: q35, -cpu qemu64 -smp 1, -m 512M, TCG, romfile= on the NICs,
and QEMU's dgram sockets enlarged to 8 MiB by build/tools/rcvbuf_preload.so
(SO_RCVBUFFORCE at bind; the kernel reports what it set, see the CHECK
line); the same taskset pinning when --qemu-cpus is given.

Prints RESULT / RATIO / TARGET lines (WORKLOADS.md's output format) and a
Markdown table; writes results.json, summary.md, sweeps.png (the
sweeps, offered against delivered) and logs/ (each QEMU's console) to --out.

    tools/bench/qemu_sweep.py [--quick] [--models e1000,virtio] [--sizes 64,1514]
        [--impls pktmetal,linux,ceiling] [--seconds 2] [--qemu-cpus 1 --pktgen-cpus 0]

--quick: 64-byte frames only, the Linux paths expected to be each NIC's best
(e1000: bridge, mirred; virtio-net: xdp-native) and ip_forward, at most two
search trials after the saturation one (a narrow miss is still run twice):
a smoke run (~3 min), not figures to quote.
"""
import argparse
import collections
import datetime
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "tests", "qemu"),
                os.path.join(ROOT, "tools", "bench", "qemu")]
import linux_guest  # noqa: E402
import machines  # noqa: E402
import report  # noqa: E402
import sweep  # noqa: E402
import traffic  # noqa: E402

MODES = ("l2fwd", "router")

# pktgen's ports: MAC 02:00:00:00:00:0N, address 10.0.N.2 (tools/pktgen --help).
ROUTER_CONF = """mode router
port 0 ip 10.0.0.1/24
port 1 ip 10.0.1.1/24
neighbor 10.0.0.2 02:00:00:00:00:00
neighbor 10.0.1.2 02:00:00:00:00:01
"""
PKTMETAL_CONF = {"l2fwd": "mode l2fwd\n", "router": ROUTER_CONF}

LINUX_PATHS = {"l2fwd": ("bridge", "mirred", "xdp-generic", "xdp-native"), "router": ("forward",)}
LINUX_PATHS_QUICK = {"e1000": ("bridge", "mirred", "forward"), "virtio": ("xdp-native", "forward")}
NATIVE_XDP_MODELS = ("virtio",)

BOOT_TIMEOUT_S = 120


def top_rate(size):
    """The saturation trial's total rate: above what QEMU alone carries here
    (TRAPS.md: ~145-190 kpps), which pktgen can offer only for small frames."""
    return 250000 if size <= 128 else 120000


class Bench:
    def __init__(self, args):
        self.args = args
        self.plan = sweep.Plan(seconds=args.seconds, top_rate=0, max_trials=args.max_trials,
                               resolution=args.resolution)
        self.results = []
        self.rcvbuf = []
        self.kernel_release = None
        self.logs = os.path.join(args.out, "logs")
        self.nb_logs = {}
        shutil.rmtree(self.logs, ignore_errors=True)
        os.makedirs(self.logs)
        self.t0 = time.monotonic()

    def log(self, text):
        print(f"[{time.monotonic() - self.t0:6.0f}s] {text}", flush=True)

    # --- one configuration ---------------------------------------------------

    def measure(self, tr, impl, nic, mode, size):
        self.log(f"  {impl} {nic or ''} {mode or ''} {size}B")
        plan = sweep.Plan(self.plan.seconds, top_rate(size), self.plan.max_trials, self.plan.resolution)
        sw = sweep.run_sweep(tr, plan, size, lambda s: self.log(s))
        cycles = getattr(tr.machine, "guest_cycles_per_pkt", None)
        run = 1 + sum(1 for r in self.results
                      if (r["impl"], r["nic"], r["mode"], r["size"]) == (impl, nic, mode, size))
        self.results.append({
            "impl": impl, "nic": nic, "mode": mode, "size": size, "run": run,
            "knee": trial_dict(sw.knee, cycles), "saturation": trial_dict(sw.saturation, cycles),
            "generator_bound": sw.generator_bound,
            "trials": [trial_dict(t, cycles) for t in sw.trials], "error": None})

    def failed(self, impl, nic, mode, sizes, why):
        self.log(f"  {impl} {nic or ''} {mode or ''}: FAILED: {why.splitlines()[0]}")
        done = {(r["impl"], r["nic"], r["mode"], r["size"]) for r in self.results}
        for size in sizes:
            if (impl, nic, mode, size) not in done:
                self.results.append({"impl": impl, "nic": nic, "mode": mode, "size": size, "run": 1,
                                     "knee": None, "saturation": None, "generator_bound": False,
                                     "trials": [], "error": why})

    def traffic_for(self, m, mode):
        if mode == "router":
            return sweep.Traffic(m, ["--dst-mac", f"0={m.nics[0].mac}", "--dst-mac", f"1={m.nics[1].mac}"],
                                 taskset=self.args.pktgen_cpus, port_opts=(",ip=10.0.0.2", ",ip=10.0.1.2"))
        return sweep.Traffic(m, taskset=self.args.pktgen_cpus)

    def finish(self, m, name):
        """Stops QEMU; keeps what it printed (COM1 and stderr) in --out/logs."""
        if m.proc:
            m.kill()
            m.wait(10)                  # the serial reader has the last lines
        self.rcvbuf += m.rcvbuf_report()
        self.nb_logs[name] = self.nb_logs.get(name, 0) + 1
        with open(os.path.join(self.logs, f"{name}.{self.nb_logs[name]}.log"), "w") as f:
            f.write(m.output() + "\n")
        m.cleanup()

    # --- the three kinds of QEMU run -----------------------------------------

    def run_pktmetal(self, model, mode, sizes):
        self.log(f"pktmetal, {model}, {mode}: booting")
        m = machines.PktmetalMachine(self.args.image, nics=(model, model), cpu="qemu64",
                                     taskset=self.args.qemu_cpus,
                                     conf_text=PKTMETAL_CONF[mode] + self.args.pktmetal_conf)
        try:
            m.start()
            m.expect("ready:", BOOT_TIMEOUT_S)
            tr = self.traffic_for(m, mode)
            tr.warm_up()
            for size in sizes:
                self.measure(tr, "pktmetal", model, mode, size)
            m.send("quit\r")
            m.wait(30)
        except (OSError, TimeoutError, EOFError, sweep.TrafficError,
                subprocess.TimeoutExpired) as e:
            self.failed("pktmetal", model, mode, sizes, f"{e}\n{m.output()[-2000:]}")
        finally:
            self.finish(m, f"pktmetal-{model}-{mode}")

    def run_linux(self, model, paths, sizes, kernel, initrd):
        self.log(f"linux, {model}: booting {os.path.basename(kernel)}")
        m = linux_guest.LinuxMachine(kernel, initrd, nics=(model, model), cpu="qemu64",
                                     taskset=self.args.qemu_cpus)
        pending = list(paths)
        try:
            m.start()
            _, up = m.expect("bench-guest: up", BOOT_TIMEOUT_S)
            self.kernel_release = up.split()[-1]
            while pending:
                path = pending[0]
                mode = "router" if path == "forward" else "l2fwd"
                try:
                    m.set_path(path)
                    tr = self.traffic_for(m, mode)
                    tr.warm_up()
                    for size in sizes:
                        self.measure(tr, f"linux-{path}", model, mode, size)
                except (linux_guest.GuestError, sweep.TrafficError) as e:
                    self.failed(f"linux-{path}", model, mode, sizes, str(e))
                pending.pop(0)
            m.send("quit\n")
            m.wait(30)
        except (OSError, TimeoutError, EOFError, subprocess.TimeoutExpired) as e:
            for path in pending:
                mode = "router" if path == "forward" else "l2fwd"
                self.failed(f"linux-{path}", model, mode, sizes, f"{e}\n{m.output()[-2000:]}")
        finally:
            self.finish(m, f"linux-{model}")

    def run_ceiling(self, sizes):
        self.log("qemu-hub (no guest): starting")
        m = machines.HubMachine(taskset=self.args.qemu_cpus)
        try:
            m.start()
            tr = self.traffic_for(m, "l2fwd")
            tr.warm_up()
            for size in sizes:
                self.measure(tr, "qemu-hub", None, None, size)
        except (OSError, sweep.TrafficError, subprocess.TimeoutExpired) as e:
            self.failed("qemu-hub", None, None, sizes, f"{e}\n{m.output()[-2000:]}")
        finally:
            self.finish(m, "qemu-hub")


def trial_dict(t, guest_cycles=None):
    """A trial for the JSON record; with pktmetal's cycles per packet
    (PktmetalMachine.guest_cycles_per_pkt) when the guest reports them."""
    if t is None:
        return None
    d = {k: v for k, v in vars(t).items() if k not in ("started", "ended")}
    d["loss"] = round(t.loss, 5)
    if guest_cycles:
        d["guest_cycles_per_pkt"] = guest_cycles(t.started, t.ended)
    return d


def linux_paths(model, quick, only):
    if only:
        paths = only
    elif quick:
        paths = LINUX_PATHS_QUICK[model]
    else:
        paths = LINUX_PATHS["l2fwd"] + LINUX_PATHS["router"]
    return [p for p in paths if p != "xdp-native" or model in NATIVE_XDP_MODELS]


def other_qemu_processes():
    """QEMU processes already running (other users of this host's CPUs)."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                count += f.read().startswith("qemu-system")
        except OSError:
            pass
    return count


def machine_facts():
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.split("\n")[0]
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu, "cpus": os.cpu_count(), "host_kernel": platform.release(),
            "qemu": qemu.replace("QEMU emulator version ", ""), "git": rev,
            "loadavg_start": open("/proc/loadavg").read().split()[:3],
            "other_qemu_processes_start": other_qemu_processes()}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run (~3 min)")
    ap.add_argument("--models", default="e1000,virtio")
    ap.add_argument("--sizes", default=None, help="frame sizes without FCS (default 64,1514; quick: 64)")
    ap.add_argument("--modes", default="l2fwd,router")
    ap.add_argument("--impls", default="pktmetal,linux,ceiling")
    ap.add_argument("--linux-paths", default=None,
                    help="comma list of bridge,mirred,xdp-generic,xdp-native,forward")
    ap.add_argument("--seconds", type=float, default=2.0, help="per trial")
    ap.add_argument("--max-trials", type=int, default=None,
                    help="search trials after the saturation one (default 6; quick: 2)")
    ap.add_argument("--resolution", type=float, default=0.05)
    ap.add_argument("--qemu-cpus", default=None, help="taskset CPU list for every QEMU")
    ap.add_argument("--pktgen-cpus", default=None, help="taskset CPU list for pktgen")
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    ap.add_argument("--pktmetal-conf", default="",
                    help="config lines added to pktmetal's (\\n between lines), e.g. 'idle-polls 20'")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "qemu"))
    args = ap.parse_args()
    args.pktmetal_conf = "".join(l.strip() + "\n" for l in args.pktmetal_conf.split("\\n") if l.strip())
    args.sizes = [int(s) for s in (args.sizes or ("64" if args.quick else "64,1514")).split(",")]
    if args.max_trials is None:
        args.max_trials = 2 if args.quick else 6
    for size in args.sizes:
        if not 60 <= size <= 1514:
            ap.error(f"frame size {size}: pktgen sends 60..1514 bytes")
    args.models = args.models.split(",")
    for model in args.models:
        if model not in ("e1000", "virtio"):
            ap.error(f"NIC model {model}: e1000 or virtio")
    args.modes = args.modes.split(",")
    args.impls = args.impls.split(",")
    args.linux_paths = args.linux_paths.split(",") if args.linux_paths else None
    known = LINUX_PATHS["l2fwd"] + LINUX_PATHS["router"]
    for path in args.linux_paths or ():
        if path not in known:
            ap.error(f"Linux path {path}: one of {', '.join(known)}")
    return args


def check_prerequisites(args):
    needed = (args.image, traffic.PKTGEN, os.path.join(ROOT, "build", "tools", "rcvbuf_preload.so"))
    missing = [p for p in needed if not os.path.exists(p)]
    if missing:
        sys.exit(f"qemu_sweep: missing {', '.join(missing)}: run `make && make tools`")


def main():
    args = parse_args()
    check_prerequisites(args)
    os.makedirs(args.out, exist_ok=True)
    bench = Bench(args)
    meta = machine_facts()
    bench.log(f"{meta['date']}, {meta['cpu']}, {meta['cpus']} CPUs, QEMU {meta['qemu']}, "
              f"load {' '.join(meta['loadavg_start'])}, {meta['other_qemu_processes_start']} other QEMU "
              f"processes; trials of {args.seconds} s, "
              f"pinning qemu={args.qemu_cpus} pktgen={args.pktgen_cpus}")

    kernel = initrd = None
    if "linux" in args.impls:
        initrd = os.path.join(args.out, "linux-initrd.cpio.gz")
        try:
            release, kernel = linux_guest.find_kernel()
            info = linux_guest.build_initramfs(initrd, release)
        except linux_guest.GuestError as e:
            sys.exit(f"qemu_sweep: {e}")
        meta["guest_kernel_package_release"] = release
        meta["initramfs"] = info
        bench.log(f"initramfs {initrd}: {info['bytes']} bytes, modules {' '.join(info['modules'])}")

    if "ceiling" in args.impls:
        bench.run_ceiling(args.sizes)
    for model in args.models:
        if "pktmetal" in args.impls:
            for mode in args.modes:
                bench.run_pktmetal(model, mode, args.sizes)
        if "linux" in args.impls:
            paths = [p for p in linux_paths(model, args.quick, args.linux_paths)
                     if ("router" if p == "forward" else "l2fwd") in args.modes]
            bench.run_linux(model, paths, args.sizes, kernel, initrd)
    if "ceiling" in args.impls and not args.quick:
        bench.run_ceiling(args.sizes)     # again: how much the host drifted over the run

    meta.update({
        "image": args.image, "image_bytes": os.path.getsize(args.image),
        "guest_kernel": bench.kernel_release, "seconds_per_trial": args.seconds,
        "qemu_cpus": args.qemu_cpus, "pktgen_cpus": args.pktgen_cpus, "quick": args.quick,
        "wall_s": round(time.monotonic() - bench.t0), "loadavg_end": open("/proc/loadavg").read().split()[:3],
        "rcvbuf": {f"{how} asked {asked} kernel reports {got}": n
                   for (how, asked, got), n in sorted(collections.Counter(bench.rcvbuf).items())},
        "frames": "pktgen --size N: Ethernet frames of N bytes without FCS, UDP over IPv4, "
                  "8 flows a direction",
    })
    print()
    for how, n in meta["rcvbuf"].items():
        print(f"CHECK  qemu_dgram_rcvbuf rcvbuf_preload.so {how} sockets={n}")
    lines = report.result_lines(bench.results) + report.ratio_lines(bench.results) + \
        report.target_lines(bench.results)
    print("\n".join(lines))
    md = report.markdown(bench.results)
    print()
    print(md)
    json_path = os.path.join(args.out, "results.json")
    report.write_json(json_path, meta, bench.results)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(f"{meta['date']}, {meta['cpu']} ({meta['cpus']} CPUs), QEMU {meta['qemu']}, "
                f"guest kernel {meta['guest_kernel']}, pktmetal {meta['git']}, wall {meta['wall_s']} s\n\n")
        f.write(md + "\n" + "\n".join(lines) + "\n")
    png = os.path.join(args.out, "sweeps.png")
    err = report.plot(json_path, png)
    bench.log(f"wrote {json_path}, summary.md" + (f", {png}" if not err else f"; no plot: {err}"))
    bench.log(f"done in {meta['wall_s']} s")


if __name__ == "__main__":
    main()
