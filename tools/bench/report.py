#!/usr/bin/env python3
"""Writes the figures of one `make bench` into BENCHMARKS.md.

`make bench` runs the parts (bench-host, bench-qemu, and without QUICK=1
bench-overload, bench-idle, bench-startup, bench-capture), each leaving its
output in the bench directory, then this script. It replaces the generated
regions of BENCHMARKS.md, each between

    <!-- make bench: NAME -->  ...  <!-- end make bench: NAME -->

and leaves the prose around them alone:

    summary   date, machine, versions, commit, which parts ran, wall time,
              and every target of the issue with MET / MISSED
    host      summarize.py's table (host building blocks vs DPDK) and the
              LPM memory figures
    qemu      qemu_sweep.py's summary (rates, ratios); the plot is copied
              to tools/bench/qemu/results/ beside results.json
    guest     start-up and footprint, idle, capture hook, overload

A part whose output is missing, or older than this run's start stamp, is
not rewritten: the summary says so, and its region keeps the figures of
the run that made them (each region starts with its own date).

    tools/bench/report.py [--dir build/bench] [--doc BENCHMARKS.md]
"""
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
QEMU_KEEP = os.path.join("tools", "bench", "qemu", "results")   # beside the document

# The targets beyond the host ones summarize.py already judges.
QEMU_VS_LINUX = 2.5
QEMU_VS_CEILING = 0.8
IDLE_CPU_PCT = 10.0
IDLE_ADDED_US = 100.0
STARTUP_US = 50_000


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    qemu = sh("qemu-system-x86_64", "--version").splitlines()
    return [
        ("CPU", f"`{cpu}`, {os.cpu_count()} CPUs"),
        ("kernel", sh("uname", "-r")),
        ("QEMU", qemu[0] if qemu else "not installed"),
        ("DPDK", sh("pkg-config", "--modversion", "libdpdk") or "not installed"),
        ("compiler", (sh("gcc", "--version").splitlines() or ["gcc not found"])[0]),
        ("valgrind", sh("valgrind", "--version") or "not installed"),
        ("commit", sh("git", "-C", ROOT, "describe", "--always", "--dirty")),
    ]


def fresh(path, since):
    """path exists and was written during this run."""
    return os.path.exists(path) and (since is None or os.path.getmtime(path) >= since)


def stamp(path):
    t = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def results(path):
    """RESULT lines as {figure: (median, rest of the line)}; later lines win."""
    out = {}
    for line in open(path, errors="replace"):
        m = re.match(r"RESULT\s+(\S+)\s+\S+\s+median=(\S+)(.*)", line)
        if m:
            out[m.group(1)] = (float(m.group(2)), line.strip())
    return out


# --- the parts ---------------------------------------------------------------

def host_part(d):
    """(region text, [(target, ok, detail)]) from run_host.sh's outputs."""
    summary = os.path.join(d, "summary.txt")
    text = open(summary, errors="replace").read()
    table = [l for l in text.splitlines() if l.startswith("|")]
    targets = []
    for l in text.splitlines():
        m = re.match(r"TARGET\s+(\S+)\s+(MET|MISSED)\s*(.*)", l)
        if m:
            targets.append((m.group(1), m.group(2) == "MET", m.group(3)))
    memory = []
    for name in ("timed.txt", "cg.txt"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            memory = [l.strip() for l in open(p, errors="replace") if "_memory " in l] or memory
            if memory:
                break
    mism = sum(l.count("MISMATCH") for n in ("timed.txt", "cg.txt")
               if os.path.exists(os.path.join(d, n))
               for l in open(os.path.join(d, n), errors="replace"))
    fails = [l for l in text.splitlines() if l.startswith("CHECK") and l.endswith("FAIL")]
    lines = [f"Run of {stamp(summary)} (`make bench-host`; outputs in `{d}/`). "
             f"Correctness mismatches: {mism}. DPDK instruction counts more than 2% off "
             f"WORKLOADS.md section 7: {len(fails)}.", ""]
    lines += table + [""]
    if memory:
        lines += ["LPM table memory (`CHECK` lines):", "", "```"] + memory + ["```"]
    for f in fails:
        lines += ["", f"`{f}`"]
    return "\n".join(lines), targets


def qemu_part(d, keep):
    src = os.path.join(d, "qemu", "summary.md")
    text = open(src, errors="replace").read().rstrip()
    targets = []
    # Frame sizes whose no-guest ceiling carried all pktgen could send: the
    # ceiling is then the generator's rate, a lower bound of the path's.
    gen_bound = set(re.findall(r"^\| - \| - \| (\d+) \| qemu-hub[^\n]*gen-bound", text, re.M))
    for l in text.splitlines():
        cells = [c.strip() for c in l.strip("|").split("|")]
        if len(cells) != 6 or not cells[0].startswith("qemu_"):
            continue
        size = re.search(r"_(\d+)B_", cells[0])
        bound = " (ceiling generator-bound)" if size and size.group(1) in gen_bound else ""
        try:
            vs_linux, vs_ceiling = float(cells[3]), float(cells[5])
        except ValueError:
            continue
        targets.append((f"{cells[0]} >= {QEMU_VS_LINUX}x best Linux", vs_linux >= QEMU_VS_LINUX,
                        f"pktmetal {cells[1]}, {cells[2]}: {vs_linux:.2f}x"))
        targets.append((f"{cells[0]} >= {QEMU_VS_CEILING:.0%} of ceiling",
                        vs_ceiling >= QEMU_VS_CEILING, f"ceiling {cells[4]}: {vs_ceiling:.2f}{bound}"))
    plot = os.path.join(d, "qemu", "sweeps.png")
    os.makedirs(keep, exist_ok=True)
    for name in ("summary.md", "results.json", "sweeps.png"):
        p = os.path.join(d, "qemu", name)
        if os.path.exists(p):
            shutil.copy(p, os.path.join(keep, name))
    lines = [f"Run of {stamp(src)} (`make bench-qemu`; every trial in "
             f"`tools/bench/qemu/results/results.json`, copied there with this summary).", "",
             text, ""]
    if os.path.exists(plot):
        lines += ["![rate sweeps](tools/bench/qemu/results/sweeps.png)"]
    return "\n".join(lines), targets


def guest_part(d, since):
    rows, targets, missing = [], [], []
    for name, what in (("startup.txt", "start-up and footprint (`make bench-startup`)"),
                       ("idle.txt", "idle (`make bench-idle`)"),
                       ("capture.txt", "capture hook in QEMU (`make bench-capture`)"),
                       ("overload.txt", "overload (`make bench-overload`)")):
        p = os.path.join(d, name)
        if not fresh(p, since):
            missing.append(what)
            continue
        rows.append(f"**{what}**, {stamp(p)}:")
        rows.append("")
        rows.append("```")
        rows += [l.rstrip() for l in open(p, errors="replace")
                 if l.startswith(("RESULT", "RATIO"))]
        rows.append("```")
        rows.append("")
        r = results(p)
        if name == "startup.txt" and "startup_virtio_ready" in r:
            v = r["startup_virtio_ready"][0]
            targets.append((f"start-up <= {STARTUP_US / 1000:.0f} ms", v <= STARTUP_US,
                            f"ready {v / 1000:.1f} ms median"))
        if name == "idle.txt":
            for line in open(p, errors="replace"):
                m = re.match(r"RESULT idle setting=(\S+) qemu_cpu_idle_pct=(\S+).*"
                             r"added_latency_us=(\S+)", line)
                if m and m.group(1).startswith("wake"):
                    cpu, added = float(m.group(2)), float(m.group(3))
                    targets.append((f"idle CPU <= {IDLE_CPU_PCT:.0f}% of a core",
                                    cpu <= IDLE_CPU_PCT, f"{cpu:.1f}% ({m.group(1)})"))
                    targets.append((f"idle added latency <= {IDLE_ADDED_US:.0f} us",
                                    added <= IDLE_ADDED_US, f"{added:.1f} us median"))
    return "\n".join(rows).rstrip(), targets, missing


# --- the document --------------------------------------------------------------

def replace_region(doc, name, body):
    begin, end = f"<!-- make bench: {name} -->", f"<!-- end make bench: {name} -->"
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"report: BENCHMARKS.md has no region {name!r} ({begin} ... {end})")
    return doc[:i + len(begin)] + "\n" + body.rstrip() + "\n" + doc[j:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="build/bench")
    ap.add_argument("--doc", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--quick", action="store_true", help="the run was make bench QUICK=1")
    ap.add_argument("--end-of-run", action="store_true",
                    help="called by make bench as its last step: the wall time is now - the stamp")
    args = ap.parse_args()
    about = machine()      # before the copies into tools/bench/qemu/results

    start_file = os.path.join(args.dir, "make-bench.start")
    since = os.path.getmtime(start_file) if os.path.exists(start_file) else None
    now = datetime.datetime.now(datetime.timezone.utc)
    doc = open(args.doc).read()
    targets, notes = [], []

    if fresh(os.path.join(args.dir, "summary.txt"), since):
        body, t = host_part(args.dir)
        doc = replace_region(doc, "host", body)
        targets += t
    else:
        notes.append("host building blocks (`make bench-host`)")
    if fresh(os.path.join(args.dir, "qemu", "summary.md"), since):
        body, t = qemu_part(args.dir, os.path.join(os.path.dirname(os.path.abspath(args.doc)),
                                                   QEMU_KEEP))
        doc = replace_region(doc, "qemu", body)
        targets += t
    else:
        notes.append("QEMU end to end (`make bench-qemu`)")
    body, t, missing = guest_part(args.dir, since)
    if body:
        doc = replace_region(doc, "guest", body)
    targets += t
    notes += missing

    if since and args.end_of_run:
        wall = f"the whole run took {(now.timestamp() - since) / 60:.1f} min"
    else:
        wall = "the wall time of the run is in its make output (report.py ran on its own)"
    lines = [f"Written by `make bench` on {now.strftime('%Y-%m-%d %H:%M UTC')}; {wall}.",
             "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in about]
    if args.quick:
        lines += ["", "**QUICK=1**: reduced counts, fewer repetitions and QEMU "
                  "configurations: a smoke run, not figures to quote."]
    lines += ["", "Not rerun by this `make bench`, so their sections keep the figures of "
              "an earlier run: " + ", ".join(notes) + "." if notes else
              "Every part ran in this `make bench`.", ""]
    met = sum(ok for _, ok, _ in targets)
    lines += [f"Targets of the issue judged from this run's outputs: {met} of {len(targets)} met.",
              "", "| target | result | figure |", "|---|---|---|"]
    lines += [f"| {what} | {'met' if ok else '**missed**'} | {detail} |"
              for what, ok, detail in targets]
    doc = replace_region(doc, "summary", "\n".join(lines))
    with open(args.doc, "w") as f:
        f.write(doc)
    print(f"report: {args.doc} written: {met} of {len(targets)} targets met"
          + (f"; not rerun: {', '.join(notes)}" if notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
