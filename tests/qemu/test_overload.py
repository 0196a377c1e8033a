"""Overload (issue 7): pktgen floods both ports of the router as fast as it
can send for 30 s, far beyond what QEMU and pktmetal carry. pktmetal must
not hang or crash; the excess must be lost before the pipeline (QEMU's
socket, which stops being read while the RX ring is full, or the ring
itself), never inside it: the only drop reason allowed is tx_full, and the
pool never runs dry (rx_nobuf). The console answers during the flood within
a bound; once the flood stops and the RX counters stop moving, a paced
stream is forwarded exactly. The accounting invariant holds over the flood
and over the paced stream.

Router mode, not l2fwd: it is the mode pktmetal is deployed in and does the
most per packet (parse, ACL, route lookup, TTL and checksum rewrite), so it
saturates first and the flood runs through the whole forwarding path. The
neighbours are static: ARP resolution (and frames parked waiting for it)
would be a second experiment inside this one.

The figures (offered and forwarded rate, recovery time, console answer
time) are printed as WORKLOADS.md RESULT lines; tools/bench/overload_bench.py
repeats the run for `make bench`. Recovery is a figure, never asserted."""
import json
import statistics
import time

import routed
from accounting import Ledger, quit_clean
from qemutest import BOOT_TIMEOUT_S, booted, check

FLOOD_S = 30
FLOOD_CAP = 20_000_000      # frames per stream at most (pktgen keeps a bit per frame)
FLOOD_SIZE = 60             # the most frames per second: the hardest case for the RX path
FLOOD_WAIT_MS = 3000        # pktgen listens this long after the last frame arrived
POLL_S = 0.25               # `stats json` every POLL_S through the flood and the drain
ANSWER_BOUND_S = 5          # the console must answer within this: ~10 ms is usual, CI is noisy
PACED_FRAMES = 20000        # per direction, after the flood
PACED_RATE = 10000          # pps over both directions: well below the loss-free rate
FORWARD_DROPS_ALLOWED = {"tx_full"}


def stats_answer(m, command="stats json", want=None, timeout=ANSWER_BOUND_S):
    """Sends command; returns (host time of the answer line, seconds it
    took, the line). `stats json` answers with a STATS line whose
    interval_ms is 0 (the periodic ones carry their interval)."""
    seen = len(m.lines)
    sent_at = time.monotonic()
    m.send(command + "\r")
    while time.monotonic() < sent_at + timeout:
        while seen < len(m.lines):
            t, line = m.lines[seen]
            seen += 1
            if want is None and "STATS {" in line and '"interval_ms":0,' in line:
                return t, t - sent_at, line[line.index("STATS {"):]
            if want is not None and want in line:
                return t, t - sent_at, line
        time.sleep(0.02)
    check(False, f"the console did not answer `{command}` within {timeout} s during the flood", m)


def counters(line):
    s = json.loads(line[len("STATS "):])
    return tuple((p["rx_packets"], p["tx_packets"]) for p in s["ports"] if p["role"] == "forward")


def result_line(name, unit, values, ops, extra=""):
    values = [round(v, 1) for v in values]
    med = statistics.median(values)
    return (f"RESULT {name} {unit} median={med:g} min={min(values):g} max={max(values):g} "
            f"reps={len(values)} ops={ops} impl=pktmetal{extra}")


def flood_and_recover(image, flood_s=FLOOD_S, nics=("e1000", "virtio")):
    """Boots the router, floods it, waits for the RX counters to settle,
    sends a paced stream; checks everything on the way and returns the
    figures as a dict."""
    with booted(image, routed.ROUTER_CONF, nics=nics, big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        routed.warm_up(m)
        ledger = Ledger(m)
        flood = routed.start(m, routed.routed_args(m) + [
            "--rate", "max", "--duration", str(flood_s), "--count", str(FLOOD_CAP),
            "--size", str(FLOOD_SIZE), "--flows", "16", "--wait-ms", str(FLOOD_WAIT_MS)],
            timeout_s=flood_s + 120)
        t0 = time.monotonic()
        polls, answer_s, human_s = [], [], None
        try:
            while flood.poll() is None and time.monotonic() < t0 + flood_s + 150:
                t, took, line = stats_answer(m)
                polls.append((t, counters(line)))
                answer_s.append(took)
                if human_s is None and t > t0 + flood_s / 2:
                    # The human `stats` too, halfway through: its last line is the pool's.
                    human_s = stats_answer(m, "stats", want="buffers in use")[1]
                time.sleep(POLL_S)
            out, err = flood.communicate(timeout=60)
        finally:
            if flood.poll() is None:
                flood.kill()
                flood.communicate()
        check(flood.returncode == 0, f"flood pktgen: rc {flood.returncode}\n{out}{err}", m)
        check("duration_ended" in out, f"pktgen sent all {FLOOD_CAP} frames per stream before "
                                       f"{flood_s} s: raise FLOOD_CAP\n{out}", m)
        check(human_s is not None, "the flood ended before `stats` was tried halfway", m)
        flood_start = routed.field(out, "clock:", "first_tx_ns") / 1e9
        flood_end = routed.field(out, "clock:", "last_tx_ns") / 1e9

        # Recovery: from the last frame of the flood to the first answer
        # whose RX and TX counters are already the final ones (pktgen ran
        # FLOOD_WAIT_MS past the last arrival, so the final ones are settled).
        final = polls[-1][1]
        settled = [t for t, c in polls if c == final and t >= flood_end]
        check(settled and polls[-1][0] - settled[0] >= FLOOD_WAIT_MS / 1000 / 2,
              f"the RX counters did not settle after the flood: {polls[-8:]}", m)
        recovery_s = settled[0] - flood_end

        acct = ledger.check([out])
        host = {p: dict(zip(("offered", "peer_drops", "sock_drops"),
                            (routed.field(out, f"port {p}:", "tx"),
                             routed.field(out, f"port {p}:", "peer_drops"),
                             routed.field(out, f"port {p}:", "sock_drops")))) for p in (0, 1)}
        after = {p["port"]: p for p in acct["after"]["ports"]}
        before = {p["port"]: p for p in ledger.before["ports"]}
        d = {p: {k: after[p][k] - before[p][k] for k in ("rx_packets", "tx_packets", "rx_missed",
                                                         "rx_nobuf", "tx_full")} for p in (0, 1)}
        where = (f"host offered {host}, guest {d}, pipeline drops {acct['drops']}, "
                 f"ledger {acct['ledger']}")
        peer_drops = sum(h["peer_drops"] for h in host.values())
        missed = sum(c["rx_missed"] for c in d.values())
        check(peer_drops + missed > 0,
              f"the flood did not exceed what pktmetal carries: nothing lost before it\n{where}", m)
        check(set(acct["drops"]) <= FORWARD_DROPS_ALLOWED,
              f"frames were dropped inside the pipeline for other reasons than tx_full\n{where}", m)
        check(all(c["rx_nobuf"] == 0 for c in d.values()),
              f"the pool ran dry under the flood (rx_nobuf)\n{where}", m)
        check(acct["after"]["pool"]["rejected_puts"] == 0, f"the pool refused puts\n{where}", m)

        # Steady state: the periodic lines well inside the flood.
        samples = [sum(p["tx_pps"] for p in s["ports"] if p["role"] == "forward")
                   for s in routed.periodic_stats(m, flood_start + 3, flood_end - 1)]
        check(samples, "no periodic STATS line inside the flood", m)

        ledger = Ledger(m)
        paced = routed.run(m, routed.routed_args(m) + [
            "--count", str(PACED_FRAMES), "--rate", str(PACED_RATE), "--size", "imix",
            "--flows", "16", "--expect-all"])
        check(paced.returncode == 0 and "result: PASS" in paced.stdout,
              f"the paced stream after the flood was not forwarded exactly:\n"
              f"{paced.stdout}{paced.stderr}", m)
        ledger.check([paced])
        quit_clean(m)
        offered = sum(h["offered"] for h in host.values())
        forwarded = sum(c["tx_packets"] for c in d.values())
        return dict(offered_pps=routed.field(out, "total:", "offered"), offered=offered,
                    forwarded=forwarded, forwarded_pps=samples,
                    peer_drops=peer_drops, rx_missed=missed,
                    sock_drops=sum(h["sock_drops"] for h in host.values()),
                    drops=acct["drops"], recovery_s=recovery_s, answer_s=answer_s,
                    human_answer_s=human_s, flood_s=flood_end - flood_start)


def figures(results, nics=("e1000", "virtio")):
    """RESULT lines over one or more runs of flood_and_recover."""
    name = f"qemu_overload_router_{'_'.join(nics)}_{FLOOD_SIZE}B"
    per_run_fwd = [statistics.median(r["forwarded_pps"]) for r in results]
    lost_before = sum(r["peer_drops"] + r["rx_missed"] for r in results)
    offered = sum(r["offered"] for r in results)
    drops = {}
    for r in results:
        for k, v in r["drops"].items():
            drops[k] = drops.get(k, 0) + v
    drops_text = ",".join(f"{k}:{v}" for k, v in sorted(drops.items())) or "none"
    return [
        result_line(f"{name}_offered", "pps", [r["offered_pps"] for r in results], offered,
                    f" flood_s={statistics.median(r['flood_s'] for r in results):.1f}"),
        result_line(f"{name}_forwarded", "pps", per_run_fwd,
                    sum(r["forwarded"] for r in results),
                    f" lost_before_pipeline={lost_before} (socket "
                    f"{sum(r['peer_drops'] for r in results)}, rx_missed "
                    f"{sum(r['rx_missed'] for r in results)}) pipeline_drops={drops_text} "
                    f"host_sock_drops={sum(r['sock_drops'] for r in results)}"),
        result_line(f"{name}_recovery", "ms", [r["recovery_s"] * 1000 for r in results], 1,
                    f" poll_ms={POLL_S * 1000:g}"),
        result_line(f"{name}_stats_answer", "ms",
                    [a * 1000 for r in results for a in r["answer_s"]],
                    sum(len(r["answer_s"]) for r in results)),
    ]


def test_overload_router_flood_then_exact_recovery(image):
    result = flood_and_recover(image)
    print("  figures: " + "\n  figures: ".join(figures([result])), flush=True)


test_overload_router_flood_then_exact_recovery.exclusive = True
