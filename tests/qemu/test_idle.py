"""Adaptive idle with wake on receive (kernel/idle.c): with every port a
virtio-net one, the loop halts up to idle-wake-max-us and a frame's MSI-X
interrupt ends the halt. After an idle second a frame on each port must be
reflected, the guest must have halted meanwhile, and at least one halt must
have ended before its timer, which only an armed port's interrupt does (the
ports are disarmed while the loop polls). No timing is asserted: the halts
here are 50 ms long, so a lost wake-up would still be answered by the
timer, and the check on woken_early is what catches it.

With an e1000 among the ports the image must fall back to the timer's
back-off and say why."""
import time

from accounting import quit_clean, stats_json
from qemutest import BOOT_TIMEOUT_S, booted, check
from traffic import pktgen, warm_up

WAKE_HALT_US = 50000
# One STATS interval for the whole test: the loop counters in `stats json`
# are then totals since boot, not since the last periodic line.
CONF = f"mode reflect\nidle-wake-max-us {WAKE_HALT_US}\nstats-interval-ms 3600000\n"


def check_halts_ended_by_frames(m, before, after, when, nb_frames):
    """Between two `stats json` answers: the loop halted, at least one halt
    ended before its timer (a port's interrupt), and each of ports 0 and 1
    sent nb_frames."""
    halts = after["loop"]["halts"] - before["loop"]["halts"]
    woken = after["loop"]["woken_early"] - before["loop"]["woken_early"]
    check(halts > 0, f"no halt {when}: {before['loop']} -> {after['loop']}", m)
    check(woken >= 1, f"no halt {when} ended early: the frames' interrupts never came "
          f"({before['loop']} -> {after['loop']})", m)
    for p in (0, 1):
        moved = after["ports"][p]["tx_packets"] - before["ports"][p]["tx_packets"]
        check(moved == nb_frames, f"port {p} sent {moved} frames, want {nb_frames}", m)


def test_idle_wake_on_receive_virtio(image):
    with booted(image, CONF, nics=("virtio", "virtio-modern"), big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        check(f"up to {WAKE_HALT_US} us, woken by a frame on any port (MSI-X" in m.output(),
              "idle should halt until a frame arrives on either virtio-net port", m)
        warm_up(m, ["0=0", "1=1"])
        before = stats_json(m)
        time.sleep(1.0)
        for p in (0, 1):
            r = pktgen(m, "--stream", f"{p}={p}", "--count", "1", "--dst-mac",
                       f"{p}={m.nics[p].mac}", "--expect-all", "--wait-ms", "2000")
            check(r.returncode == 0 and "result: PASS" in r.stdout,
                  f"port {p}: the frame after an idle second was not reflected: "
                  f"rc {r.returncode}\n{r.stdout}{r.stderr}", m)
        after = stats_json(m)
        check_halts_ended_by_frames(m, before, after, "during the idle second", 1)
        quit_clean(m)


def test_idle_falls_back_to_the_timer_with_an_e1000(image):
    with booted(image, CONF, nics=("e1000", "virtio"), big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        out = m.output()
        check("port 0 (e1000) cannot wake the CPU on receive" in out,
              "the e1000 port should be named as the reason", m)
        check("idle: halt after 200 empty polls, 10..100 us" in out,
              "idle should keep the timer back-off", m)
        warm_up(m, ["0=0", "1=1"])
        quit_clean(m)


# idle-batch: after a poll of a few frames, halt until BATCH wait on a port
# or BATCH_WAIT_US pass. idle-polls at its maximum keeps the empty-poll halt
# (which any first frame ends) out of the stream's way, so a halt that ends
# before its timer here is one a batch's interrupt ended.
BATCH, BATCH_WAIT_US = 4, 10000
BATCH_CONF = (f"mode reflect\nidle-batch {BATCH} {BATCH_WAIT_US}\nidle-polls 1000000\n"
              "stats-interval-ms 3600000\n")


def test_idle_batch_wakes_on_the_kth_frame_virtio(image):
    with booted(image, BATCH_CONF, nics=("virtio", "virtio-modern"), big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        check(f"halt until {BATCH} wait on a port or {BATCH_WAIT_US} us pass\n" in m.output(),
              "idle should announce the batch wake, with the ports' interrupts", m)
        warm_up(m, ["0=0", "1=1"])
        before = stats_json(m)
        r = pktgen(m, "--stream", "0=0", "--stream", "1=1", "--count", "300", "--rate", "4000",
                   "--dst-mac", f"0={m.nics[0].mac}", "--dst-mac", f"1={m.nics[1].mac}",
                   "--expect-all", "--wait-ms", "2000")
        check(r.returncode == 0 and "result: PASS" in r.stdout,
              f"not every frame was reflected: rc {r.returncode}\n{r.stdout}{r.stderr}", m)
        after = stats_json(m)
        check_halts_ended_by_frames(m, before, after, "while frames trickled in", 300)
        batch = after["loop"]["batch_halts"] - before["loop"]["batch_halts"]
        check(0 < batch <= after["loop"]["halts"] - before["loop"]["halts"],
              f"batch halts should be counted among the halts: {before['loop']} -> "
              f"{after['loop']}", m)
        quit_clean(m)


def test_idle_batch_is_ignored_with_an_e1000(image):
    with booted(image, BATCH_CONF, nics=("e1000", "virtio"), big_rcvbuf=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        check(f"idle-batch {BATCH} ignored: it needs every port to wake" in m.output(),
              "with an e1000 port idle-batch should be turned off, and say so", m)
        warm_up(m, ["0=0", "1=1"])
        r = pktgen(m, "--stream", "0=0", "--stream", "1=1", "--count", "300", "--rate", "4000",
                   "--dst-mac", f"0={m.nics[0].mac}", "--dst-mac", f"1={m.nics[1].mac}",
                   "--expect-all", "--wait-ms", "2000")
        check(r.returncode == 0 and "result: PASS" in r.stdout,
              f"not every frame was reflected: rc {r.returncode}\n{r.stdout}{r.stderr}", m)
        check(stats_json(m)["loop"]["batch_halts"] == 0,
              "with idle-batch ignored no halt should be a batch halt", m)
        quit_clean(m)
