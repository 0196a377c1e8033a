"""What the QEMU sweeps print and write: WORKLOADS.md-style lines, a
Markdown table, the JSON record and the plot.

A result is one configuration's record (qemu_sweep.py builds them):

    {"impl": "pktmetal" | "linux-<path>" | "qemu-hub", "nic": "e1000" | "virtio" | None,
     "mode": "l2fwd" | "router" | None, "size": 64, "run": 1 | 2, "knee": TRIAL | None,
     "saturation": TRIAL | None, "generator_bound": bool, "trials": [TRIAL...],
     "error": None | "why"}

with TRIAL = sweep.Trial as a dict. The ceiling (impl qemu-hub) has no NIC
and no mode: it is compared with every configuration of its frame size. A
full run measures it first and last (run 1 and 2: how far the host drifted);
ratios take the better of the two.

Lines (rates are frames per second over both directions together):

    RESULT qemu_<mode>_<nic>_<size>B_knee pps median=D min=D max=D reps=1 ops=N impl=I offered=O loss=L%
    RESULT qemu_<mode>_<nic>_<size>B_sat  pps ...
        (pktmetal's add guest_cycles_per_pkt=C: its STATS lines' pipeline
        cycles per packet over that trial)
    RATIO  qemu_<mode>_<nic>_<size>B_knee pktmetal/linux median=R min=R max=R baseline=linux-<path>
    RATIO  qemu_<mode>_<nic>_<size>B_knee pktmetal/ceiling median=R min=R max=R
    TARGET ...

One trial per figure, so median = min = max; ops is the frames received in
that trial.
"""

import json
import os
import subprocess

TARGET_VS_LINUX = 2.5
TARGET_VS_CEILING = 0.8
SYSTEM_PYTHON = "/usr/bin/python3"     # Debian's, with python3-matplotlib


def label(r):
    return r["impl"] + (f" (run {r['run']})" if r.get("run", 1) > 1 or r["impl"] == "qemu-hub" else "")


def figure_name(r, which):
    if r["impl"] == "qemu-hub":
        return f"qemu_ceiling_{r['size']}B_{which}"
    return f"qemu_{r['mode']}_{r['nic']}_{r['size']}B_{which}"


def _point(r, which):
    return r.get(which) if not r.get("error") else None


def result_lines(results):
    lines = []
    for r in results:
        for which, key in (("knee", "knee"), ("sat", "saturation")):
            t = _point(r, key)
            name = figure_name(r, which)
            if t is None:
                why = r.get("error") or "no rate passed"
                lines.append(f"RESULT {name} pps median=nan min=nan max=nan reps=0 ops=0 "
                             f"impl={r['impl']} error={why.splitlines()[0]!r}")
                continue
            d = t["delivered"]
            extra = " generator_bound=1" if r.get("generator_bound") else ""
            if t.get("guest_cycles_per_pkt"):
                extra += f" guest_cycles_per_pkt={t['guest_cycles_per_pkt']}"
            lines.append(f"RESULT {name} pps median={d} min={d} max={d} reps=1 ops={t['received']} "
                         f"impl={r['impl']} offered={t['offered']} loss={t['loss'] * 100:.2f}%{extra}")
    return lines


def _best(candidates, key):
    """The candidate with the highest delivered rate at key, or None."""
    scored = [(c[key]["delivered"], c) for c in candidates if _point(c, key)]
    return max(scored, key=lambda x: x[0])[1] if scored else None


def comparisons(results):
    """[(pktmetal result, key, best linux result, ceiling result)] per figure."""
    out = []
    for pm in (r for r in results if r["impl"] == "pktmetal"):
        linux = [r for r in results if r["impl"].startswith("linux-") and r["nic"] == pm["nic"]
                 and r["mode"] == pm["mode"] and r["size"] == pm["size"]]
        hubs = [r for r in results if r["impl"] == "qemu-hub" and r["size"] == pm["size"]]
        for key in ("knee", "saturation"):
            out.append((pm, key, _best(linux, key), _best(hubs, key)))
    return out


def ratio_lines(results):
    lines = []
    for pm, key, linux, hub in comparisons(results):
        name = figure_name(pm, "knee" if key == "knee" else "sat")
        p = _point(pm, key)
        linux_extra = f" baseline={linux['impl']}" if linux else ""
        hub_extra = f" baseline=qemu-hub run={hub.get('run', 1)}" if hub else ""
        for what, other, extra in (("pktmetal/linux", linux, linux_extra),
                                   ("pktmetal/ceiling", hub, hub_extra)):
            if p is None or other is None or not other[key]["delivered"]:
                lines.append(f"RATIO  {name} {what} median=nan min=nan max=nan")
                continue
            x = p["delivered"] / other[key]["delivered"]
            lines.append(f"RATIO  {name} {what} median={x:.3f} min={x:.3f} max={x:.3f}{extra}")
    return lines


def target_lines(results):
    lines = []
    for pm, key, linux, hub in comparisons(results):
        if key != "knee":
            continue
        name = figure_name(pm, "knee")
        p = _point(pm, key)
        for what, other, goal in (("pktmetal/linux", linux, TARGET_VS_LINUX),
                                  ("pktmetal/ceiling", hub, TARGET_VS_CEILING)):
            if p is None or other is None:
                lines.append(f"TARGET {name} {what} >= {goal} MISSED (no figure)")
                continue
            x = p["delivered"] / other[key]["delivered"]
            lines.append(f"TARGET {name} {what} >= {goal} {'MET' if x >= goal else 'MISSED'} "
                         f"{x:.2f} ({p['delivered']} vs {other[key]['delivered']} pps, {label(other)})")
    return lines


def _cell(t):
    if t is None:
        return "-"
    return f"{t['delivered']:,} ({t['offered']:,}, {t['loss'] * 100:.1f}%)"


def markdown(results):
    rows = ["| mode | NIC | frame | implementation | <1% loss: delivered (offered, loss) "
            "| saturation: delivered (offered, loss) | guest cycles/pkt | trials |",
            "|---|---|---:|---|---:|---:|---:|---:|"]
    order = {"pktmetal": 0, "qemu-hub": 2}
    for r in sorted(results, key=lambda r: (r["mode"] or "~", r["nic"] or "~", r["size"],
                                             order.get(r["impl"], 1), r["impl"])):
        knee = _cell(_point(r, "knee")) + (" gen-bound" if r.get("generator_bound") else "")
        if r.get("error"):
            knee = "error: " + r["error"].splitlines()[0][:60]
        k = _point(r, "knee")
        cycles = f"{k['guest_cycles_per_pkt']:,}" if k and k.get("guest_cycles_per_pkt") else "-"
        rows.append(f"| {r['mode'] or '-'} | {r['nic'] or '-'} | {r['size']} | {label(r)} | {knee} "
                    f"| {_cell(_point(r, 'saturation'))} | {cycles} | {len(r.get('trials', []))} |")
    rows += ["", "| figure | pktmetal | best Linux path | pktmetal / Linux | ceiling | pktmetal / ceiling |",
             "|---|---:|---|---:|---:|---:|"]
    for pm, key, linux, hub in comparisons(results):
        p = _point(pm, key)
        pd = p["delivered"] if p else None
        ld = linux[key]["delivered"] if linux else None
        hd = hub[key]["delivered"] if hub else None
        rl = f"{pd / ld:.2f}" if pd and ld else "-"
        rh = f"{pd / hd:.2f}" if pd and hd else "-"
        rows.append(f"| {figure_name(pm, 'knee' if key == 'knee' else 'sat')} | "
                    f"{format(pd, ',') if pd else '-'} | "
                    f"{(linux['impl'] + ' ' + format(ld, ',')) if linux else '-'} | {rl} | "
                    f"{format(hd, ',') if hd else '-'} | {rh} |")
    return "\n".join(rows) + "\n"


def write_json(path, meta, results):
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)


def plot(json_path, png_path):
    """Draws the sweeps with Debian's python (matplotlib); returns an error
    string or None. Runs as a child so the sweep itself needs no matplotlib."""
    r = subprocess.run([SYSTEM_PYTHON, os.path.abspath(__file__), "--plot", json_path, png_path],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return (r.stderr or r.stdout).strip().splitlines()[-1] if (r.stderr or r.stdout) else "failed"
    return None


STYLE = {"pktmetal": ("tab:red", "o"), "linux-bridge": ("tab:blue", "s"),
         "linux-mirred": ("tab:green", "^"), "linux-xdp-generic": ("tab:purple", "v"),
         "linux-xdp-native": ("tab:orange", "D"), "linux-forward": ("tab:cyan", "P"),
         "qemu-hub": ("black", "x")}


def _draw(json_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(json_path) as f:
        doc = json.load(f)
    results = doc["results"]
    sizes = sorted({r["size"] for r in results})
    modes = [m for m in ("l2fwd", "router") if any(r["mode"] == m for r in results)]
    fig, axes = plt.subplots(len(sizes), len(modes), figsize=(7 * len(modes), 5.5 * len(sizes)),
                             squeeze=False)
    for i, size in enumerate(sizes):
        for j, mode in enumerate(modes):
            ax = axes[i][j]
            top = 0
            for r in results:
                if r["size"] != size or r["mode"] not in (mode, None) or not r.get("trials"):
                    continue
                pts = sorted((t["offered"], t["delivered"]) for t in r["trials"])
                top = max([top] + [p for pt in pts for p in pt])
                color, marker = STYLE.get(r["impl"], ("grey", "."))
                name = label(r) + (f" {r['nic']}" if r["nic"] else "")
                ls = "--" if r["nic"] == "virtio" else ":" if r["nic"] is None else "-"
                ax.plot([p[0] / 1e3 for p in pts], [p[1] / 1e3 for p in pts], ls=ls, marker=marker,
                        color=color, label=name, markersize=4, linewidth=1.2)
            ax.plot([0, top / 1e3], [0, top / 1e3], color="lightgrey", linewidth=0.8, zorder=0)
            ax.set_title(f"{mode}, {size}-byte frames (both directions)")
            ax.set_xlabel("offered, kpps")
            ax.set_ylabel("delivered, kpps")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7, loc="upper left")
    meta = doc.get("meta", {})
    fig.suptitle(f"pktmetal vs Linux in QEMU {meta.get('qemu', '').split()[0]} (TCG, -cpu qemu64 -smp 1), "
                 f"{meta.get('date', '')}, {meta.get('cpu', '')}\n"
                 "one point per trial; solid e1000, dashed virtio-net, dotted no guest (qemu-hub)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 4 and sys.argv[1] == "--plot":
        _draw(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: report.py --plot RESULTS.json OUT.png")
