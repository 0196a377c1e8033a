#!/usr/bin/env python3
"""Instruction counts and the results table for tools/bench/run_host.sh.

Reads host_bench's callgrind dumps (one per figure and side, named
"figure|impl|ops" by CALLGRIND_DUMP_STATS_AT) and the timed pass's RESULT /
RATIO / CHECK lines, and prints:

  IR     <figure> impl=<dpdk|pktmetal> ir_per_op=<>
  RATIO  <figure>_ir pktmetal/dpdk median=<> min=<> max=<>   (exact, so all equal)
  CHECK  <figure> dpdk_ir=<> reference=<> diff=<>% PASS|FAIL  (WORKLOADS.md section 7, 2%)
  TARGET <what> MET|MISSED ...                                (the issue's targets)

then a Markdown table of every figure (BENCHMARKS.md's format).

  summarize.py TIMED_OUTPUT CALLGRIND_DIR
"""
import glob
import os
import re
import sys

# WORKLOADS.md section 7: DPDK Ir per op, DPDK 22.11.11, gcc 12.2 -O3 -march=corei7.
REFERENCE = {
    "lpm1k_lookup_single": 16.34, "lpm100k_lookup_single": 16.35,
    "lpm1k_lookup_bulk32": 16.70, "lpm100k_lookup_bulk32": 16.71,
    "lpm1k_lookupx4": 21.94, "lpm100k_lookupx4": 21.95,
    "lpm1k_build": 1644899, "lpm100k_build": 11740850216,
    "mempool_cache256_single": 48.50, "mempool_cache256_bulk32": 5.78,
    "mempool_nocache_single": 147.50, "mempool_nocache_bulk32": 14.25,
    "ring_spsc_burst32": 11.00, "ring_spsc_single": 38.22,
    "cksum_ipv4_hdr20": 78, "cksum_raw64": 90, "cksum_raw1500": 1010,
    "cksum_ipv4_udp1472": 1050,
    "pipeline_lpm1k_scalar": 151.15, "pipeline_lpm1k_bulk": 164.30,
    "pipeline_lpm100k_scalar": 151.16, "pipeline_lpm100k_bulk": 164.32,
}
TOLERANCE = 0.02


def read_dumps(cg_dir):
    """{figure: {impl: ir_per_op}} from callgrind.out.N files, in dump order."""
    ir = {}
    files = glob.glob(os.path.join(cg_dir, "cg.out.*"))
    for path in sorted(files, key=lambda p: int(p.rsplit(".", 1)[1])):
        name = total = None
        with open(path) as f:
            for line in f:
                if line.startswith("desc: Trigger: Client Request: "):
                    name = line.split(": ", 3)[3].strip()
                elif line.startswith("totals:"):
                    total = int(line.split()[1])
        if name and total is not None and name.count("|") == 2:
            figure, impl, ops = name.split("|")
            ir.setdefault(figure, {})[impl] = total / float(ops)
    return ir


def read_timed(path):
    """RESULT medians {figure: {impl: (median, min, max, unit)}}, RATIO lines, CHECK lines."""
    results, ratios, checks = {}, {}, []
    if not path or not os.path.exists(path):
        return results, ratios, checks
    with open(path) as f:
        for line in f:
            m = re.match(r"RESULT (\S+) (\S+) median=(\S+) min=(\S+) max=(\S+) .* impl=(\S+)", line)
            if m:
                fig, unit, med, lo, hi, impl = m.groups()
                results.setdefault(fig, {})[impl] = (float(med), float(lo), float(hi), unit)
            m = re.match(r"RATIO\s+(\S+) (\S+) median=(\S+) min=(\S+) max=(\S+)", line)
            if m:
                ratios[m.group(1)] = tuple(float(x) for x in m.group(3, 4, 5))
            if line.startswith("CHECK"):
                checks.append(line.rstrip())
    return results, ratios, checks


def fmt(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:,.1f}"
    return f"{v:.2f}"


def print_ir(ir):
    bad = 0
    for fig, sides in ir.items():
        for impl in ("pktmetal", "dpdk"):
            if impl in sides:
                print(f"IR     {fig} impl={impl} ir_per_op={sides[impl]:.3f}")
        if "pktmetal" in sides and "dpdk" in sides:
            r = sides["pktmetal"] / sides["dpdk"]
            print(f"RATIO  {fig}_ir pktmetal/dpdk median={r:.3f} min={r:.3f} max={r:.3f}")
        if "dpdk" in sides and fig in REFERENCE:
            ref, got = REFERENCE[fig], sides["dpdk"]
            diff = (got - ref) / ref
            verdict = "PASS" if abs(diff) <= TOLERANCE else "FAIL"
            bad += verdict == "FAIL"
            print(f"CHECK  {fig} dpdk_ir={got:.3f} reference={ref} diff={diff * 100:+.2f}% {verdict}")
    return bad


def target(what, ok, detail):
    print(f"TARGET {what} {'MET' if ok else 'MISSED'} {detail}")


def print_targets(ir, results, ratios, checks):
    def irr(fig):
        s = ir.get(fig, {})
        return s.get("pktmetal"), s.get("dpdk")

    # lpm1k_direct: the 1k table in pktmetal's direct layout (lookups only)
    for table in ("lpm1k", "lpm100k", "lpm1k_direct"):
        fig = f"pipeline_{table}_scalar"
        pm, dp = irr(fig)
        if pm and dp:
            target(f"{fig}_ir<=0.8x", pm <= 0.8 * dp, f"pktmetal={pm:.1f} dpdk={dp:.1f} ratio={pm / dp:.3f}")
        if fig in ratios:
            r = ratios[fig][0]
            target(f"{fig}_ns<=1.0x", r <= 1.0, f"median ratio={r:.3f}")
        for mode in ("lookup_single", "lookup_bulk32"):
            fig = f"{table}_{mode}"
            pm, dp = irr(fig)
            if pm and dp:
                target(f"{fig}_ir<=dpdk", pm <= dp, f"pktmetal={pm:.2f} dpdk={dp:.2f} ratio={pm / dp:.3f}")
            if fig in ratios:
                r = ratios[fig][0]
                target(f"{fig}_ns<=dpdk", r <= 1.0, f"median ratio={r:.3f}")
    for line in checks:
        m = re.match(r"CHECK\s+lpm100k_memory dpdk_heap_bytes=(\d+).*pktmetal_mem_used=(\d+) "
                     r"pktmetal_region_bytes=(\d+)", line)
        if m:
            dp, used, region = (int(x) for x in m.groups())
            target("lpm100k_memory<1/4", region < dp / 4,
                   f"region={region} used={used} dpdk={dp} region/dpdk={region / dp:.3f}")
    for fig in ("mempool_cache256_bulk32", "ring_spsc_burst32"):
        pm, dp = irr(fig)
        if pm and dp:
            target(f"{fig}_ir<=dpdk", pm <= dp, f"pktmetal={pm:.2f} dpdk={dp:.2f} ratio={pm / dp:.3f}")


def print_table(ir, results, ratios):
    figures = list(results) + [f for f in ir if f not in results]
    print()
    print("| figure | unit | pktmetal median (min-max) | DPDK median (min-max) | ns ratio median (min-max) "
          "| pktmetal Ir/op | DPDK Ir/op | Ir ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for fig in figures:
        res = results.get(fig, {})
        unit = next((v[3] for v in res.values()), "")
        cells = []
        for impl in ("pktmetal", "dpdk"):
            v = res.get(impl)
            cells.append(f"{fmt(v[0])} ({fmt(v[1])}-{fmt(v[2])})" if v else "-")
        rr = ratios.get(fig)
        ratio = f"{rr[0]:.3f} ({rr[1]:.3f}-{rr[2]:.3f})" if rr else "-"
        pm, dp = ir.get(fig, {}).get("pktmetal"), ir.get(fig, {}).get("dpdk")
        irratio = f"{pm / dp:.3f}" if pm and dp else "-"
        print(f"| {fig} | {unit} | {cells[0]} | {cells[1]} | {ratio} | {fmt(pm)} | {fmt(dp)} | {irratio} |")
    selfs = {k: v for k, v in ratios.items() if k.startswith("selfcheck_")}
    for k, v in selfs.items():
        print(f"| {k} (DPDK vs DPDK) | | | | {v[0]:.3f} ({v[1]:.3f}-{v[2]:.3f}) | | | |")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ir = read_dumps(sys.argv[2])
    results, ratios, checks = read_timed(sys.argv[1])
    bad = print_ir(ir)
    print_targets(ir, results, ratios, checks)
    print_table(ir, results, ratios)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
