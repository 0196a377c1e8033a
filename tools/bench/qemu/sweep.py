"""Rate sweeps with tools/pktgen against one booted QEMU: the highest
offered rate forwarded with under 1% loss (the knee), and what gets through
when pktgen offers all it can (saturation).

A trial offers `rate` frames per second in total, split over two streams
(port 0 to port 1 and back, 8 UDP flows each), for `seconds`, and reads
pktgen's total line:

    total: offered P pps delivered P pps over T s sent N received N lost N pace_slips N

"offered" is what pktgen really sent (on a busy host it falls short of the
rate asked: pace_slips), "delivered" the received frames over the receive
span, loss = 1 - received / sent.

A trial passes when it loses under 1% AND the frames come out at the rate
they went in (delivered >= 95% of offered). The second condition matters:
QEMU's dgram sockets hold 16 MiB here (the rcvbuf shim), some 20,000
64-byte frames (7,000 of 1514 bytes), enough to hide a forwarder 30% too slow for the length of a 2 s
trial, which then drains the backlog after pktgen stopped sending and loses
nothing.

Search, per configuration (coarse, then fine):

  1. saturation: one trial at the highest rate (what pktgen can give);
     if it loses under 1%, it is also the knee (the generator was the limit);
  2. coarse: a trial at 0.95 x the rate delivered at saturation, then
     0.7 x down until one passes;
  3. fine: bisection between the best pass and the lowest failure (at
     first the rate pktgen really offered at saturation), never stepping
     more than 20% above the best pass, until the two are within
     `resolution` of each other or the trial budget is used.

A narrowly failed trial (under 5% lost, delivered >= 90% of offered) is
run once more and the better of the two kept: a few hundred frames lost
to a stall of a neighbour's process should not halve a figure, and every
configuration gets the same rule.
"""

import dataclasses
import re
import subprocess
import time

import traffic

TOTAL_RE = re.compile(r"^total: offered (\d+) pps delivered (\d+) pps over ([\d.]+) s "
                      r"sent (\d+) received (\d+) lost (-?\d+) pace_slips (\d+)", re.M)

LOSS_LIMIT = 0.01
PACE_MIN = 0.95
RETRY_BELOW_LOSS = 0.05
RETRY_ABOVE_PACE = 0.90
STEP_UP_MAX = 1.2        # fine search: never more than +20% above the best pass


class TrafficError(RuntimeError):
    pass


@dataclasses.dataclass
class Trial:
    rate: int              # asked, pps in total
    offered: int           # what pktgen sent, pps
    delivered: int         # what came back, pps
    sent: int
    received: int
    pace_slips: int
    seconds: float         # pktgen's span
    started: float = 0.0   # host monotonic time around the pktgen run
    ended: float = 0.0

    @property
    def loss(self):
        return 1.0 - self.received / self.sent if self.sent else 1.0

    @property
    def pace(self):
        return self.delivered / self.offered if self.offered else 0.0

    @property
    def ok(self):
        return self.loss < LOSS_LIMIT and self.pace >= PACE_MIN

    @property
    def narrow_miss(self):
        return not self.ok and self.loss < RETRY_BELOW_LOSS and self.pace >= RETRY_ABOVE_PACE

    def describe(self):
        why = "" if self.ok else "  (over 1% lost)" if self.loss >= LOSS_LIMIT else "  (fell behind)"
        return (f"asked {self.rate:7d} offered {self.offered:7d} delivered {self.delivered:7d} pps "
                f"loss {self.loss * 100:6.2f}% pace {self.pace:.3f}{why}")


class Traffic:
    """pktgen against one machine's two ports, with the arguments the
    configuration needs (router: addresses and the guest's MACs)."""

    def __init__(self, machine, extra_args=(), taskset=None, port_opts=("", "")):
        self.machine = machine
        self.extra_args = list(extra_args)
        self.taskset = taskset
        self.port_opts = port_opts

    def run(self, *args, timeout=120):
        ports = []
        for nic, opt in zip(self.machine.nics, self.port_opts):
            ports += ["--port", f"{nic.index}={nic.host_port}:{nic.guest_port}{opt}"]
        pin = ["taskset", "-c", self.taskset] if self.taskset else []
        cmd = pin + [traffic.PKTGEN] + ports + ["--timeout", str(timeout - 10), "--quiet",
                                               "--stream", "0=1", "--stream", "1=0"]
        cmd += self.extra_args + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def warm_up(self, tries=40):
        """Until one frame crosses each way: a NIC can take no RX for a
        while after its driver starts (e1000 ~1 s after RCTL; TRAPS.md)."""
        for _ in range(tries):
            r = self.run("--count", "1", "--expect-all", "--wait-ms", "300", timeout=30)
            if r.returncode == 0:
                return
            time.sleep(0.25)
        raise TrafficError(f"no frame crossed both ways after {tries} tries:\n{r.stdout}{r.stderr}")

    def trial(self, rate, seconds, size):
        per_stream = max(100, int(rate * seconds / 2))
        timeout = int(seconds * 6 + 30)
        started = time.monotonic()
        r = self.run("--count", str(per_stream), "--size", str(size), "--flows", "8",
                     "--rate", str(rate), "--wait-ms", "500", timeout=timeout)
        m = TOTAL_RE.search(r.stdout)
        if not m:
            raise TrafficError(f"pktgen gave no total line (exit {r.returncode}):\n{r.stdout}{r.stderr}")
        offered, delivered, span, sent, received, _, slips = m.groups()
        return Trial(rate, int(offered), int(delivered), int(sent), int(received), int(slips),
                     float(span), started, time.monotonic())


@dataclasses.dataclass
class Plan:
    seconds: float          # per trial
    top_rate: int           # the saturation trial's rate
    max_trials: int         # search trials after the saturation one
    resolution: float       # stop when the pass/fail bracket is this close (fraction)


@dataclasses.dataclass
class Sweep:
    trials: list
    saturation: Trial
    knee: Trial             # None when no rate passed
    generator_bound: bool   # the saturation trial passed: pktgen, not the target, was the limit


def run_sweep(tr, plan, size, log):
    def trial(rate):
        t = tr.trial(rate, plan.seconds, size)
        log(f"    {t.describe()}")
        trials.append(t)
        if t.narrow_miss:
            again = tr.trial(rate, plan.seconds, size)
            log(f"    {again.describe()}  (once more)")
            trials.append(again)
            t = again if (again.ok, again.delivered) > (t.ok, t.delivered) else t
        return t

    trials = []
    sat = trial(plan.top_rate)
    if sat.ok:
        return Sweep(trials, sat, sat, True)
    best, fail = None, sat.offered
    rate = int(sat.delivered * 0.95)
    budget = plan.max_trials
    while budget > 0 and rate >= 1000:
        budget -= 1
        t = trial(rate)
        if t.ok:
            best = t
            break
        fail = rate
        rate = int(rate * 0.7)
    while best and budget > 0 and (fail - best.rate) > plan.resolution * fail:
        budget -= 1
        t = trial(min((best.rate + fail) // 2, int(best.rate * STEP_UP_MAX)))
        if t.ok:
            best = t
        else:
            fail = t.rate
    return Sweep(trials, sat, best, False)
