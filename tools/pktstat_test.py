#!/usr/bin/env python3
"""Tests for tools/pktstat: `python3 tools/pktstat_test.py`.

Feeds synthetic serial logs (CRLF, prompts, broken lines, unknown keys) to
the parser in-process and to the script as a program (file, growing file,
stdin, unix socket, pty), and checks its summaries, CSV and PNG. Needs
python3-matplotlib for /usr/bin/python3 (tools/deps.sh). Ends with
"N passed, N failed"; exits non-zero on a failure.
"""

import csv
import importlib.machinery
import importlib.util
import json
import os
import pty
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKTSTAT = os.path.join(HERE, "pktstat")
TIMEOUT = 60


def load_module():
    loader = importlib.machinery.SourceFileLoader("pktstat_mod", PKTSTAT)
    spec = importlib.util.spec_from_loader("pktstat_mod", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


ps = load_module()

T0 = 12_345_678_900


def record(i, extra_key=True, drop_reasons=("ttl_expired", "acl_deny"), ports=2):
    """The i-th synthetic record: one per second; port n rx_pps = 1000*(i+1)//(n+1);
    ttl_expired grows by 10 a second, acl_deny by 2; cycles = 1000 + i."""
    plist = []
    for n in range(ports):
        p = {"port": n, "driver": "e1000" if n == 0 else "virtio", "link": True,
             "rx_packets": 1000 * i, "rx_bytes": 64000 * i, "tx_packets": 900 * i,
             "tx_bytes": 57600 * i, "rx_missed": i, "rx_nobuf": 2 * i, "tx_full": 3 * i,
             "link_changes": 1, "rx_pps": 1000 * (i + 1) // (n + 1), "tx_pps": 900 + n,
             "rx_mbps": 0.512, "tx_mbps": 0.46}
        if extra_key:
            p["queue_depth"] = 7                       # unknown key
        plist.append(p)
    drops = {}
    if "ttl_expired" in drop_reasons:
        drops["ttl_expired"] = 3 + 10 * i
    if "acl_deny" in drop_reasons:
        drops["acl_deny"] = 2 * i
    rec = {"t_ns": T0 + i * 1_000_000_000, "interval_ms": 1000, "ports": plist,
           "drops": drops, "pool": {"in_use": 770, "total": 29850},
           "loop": {"busy": 0.125, "cycles_per_pkt": 1000 + i},
           "capture": {"active": i == 2, "captured": i, "queue_drops": 0}}
    if extra_key:
        rec["future"] = {"nested": [1, 2]}
    return rec


def stats_line(i, prefix="", **kw):
    return prefix + "STATS " + json.dumps(record(i, **kw), separators=(",", ":"))


BROKEN = [
    'STATS {"t_ns":5,"interval_ms":1000,"ports":[{"port":0,',      # cut short
    'STATS {garbage}',
    'STATS {"t_ns":6,"ports":{"port":0}}',                          # ports not a list
    'STATS {"interval_ms":1000,"ports":[]}',                        # no t_ns
]


def synthetic_log(n=5):
    """n good records (two with a prompt before them), human lines, and the
    four BROKEN lines; CRLF throughout. Returns the text."""
    out = ["", "pktmetal 0.1 booting", "port 0: e1000 52:54:00:00:00:01 up"]
    for i in range(n):
        prefix = "pktmetal> " if i in (1, 3) else ""
        out.append(f"port 0: rx {i} tx {i} missed 0")
        out.append(stats_line(i, prefix=prefix))
        if i == 2:
            out += BROKEN[:2]
        if i == 3:
            out += BROKEN[2:]
    return "\r\n".join(out) + "\r\n"


def run(args, input=None, timeout=TIMEOUT, exe=None):
    cmd = ([exe, PKTSTAT] if exe else [PKTSTAT]) + args
    return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)


def out_lines(proc):
    return [ln for ln in proc.stdout.decode().splitlines() if ln.strip()]


class LineReader:
    """Reads a process's stdout lines on a thread, so a test can wait for
    the next one with a timeout."""

    def __init__(self, pipe):
        import queue
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.t.start()

    def _run(self, pipe):
        for raw in pipe:
            self.q.put(raw.decode())
        self.q.put(None)

    def next(self, timeout=10):
        import queue
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout}s")
        if line is None:
            raise AssertionError("pktstat ended early")
        return line

    def rest(self, timeout=10):
        self.t.join(timeout)
        out = []
        while not self.q.empty():
            line = self.q.get()
            if line is not None:
                out.append(line)
        return out


def stop(p, timeout=15):
    """Waits for p to end by itself; kills it (and fails) past the timeout."""
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("pktstat did not stop by itself")


def field(line, key):
    for tok in line.split():
        if tok.startswith(key + "="):
            return tok[len(key) + 1:]
    return None


class Parser(unittest.TestCase):
    def test_prompt_and_unknown_keys(self):
        recs, errs = ps.parse_line("pktmetal> " + stats_line(4))
        self.assertEqual(errs, [])
        self.assertEqual(len(recs), 1)
        r = recs[0]
        self.assertEqual(r["t_ns"], T0 + 4_000_000_000)
        self.assertEqual(r["ports"][1]["driver"], "virtio")
        self.assertEqual(r["ports"][0]["rx_pps"], 5000)
        self.assertEqual(r["drops"], {"ttl_expired": 43, "acl_deny": 8})
        self.assertEqual(r["cycles_per_pkt"], 1004)

    def test_missing_optional_keys(self):
        recs, errs = ps.parse_line('STATS {"t_ns":1000,"ports":[{"port":3}]}')
        self.assertEqual(errs, [])
        r = recs[0]
        self.assertIsNone(r["busy"])
        self.assertIsNone(r["capture_active"])
        self.assertIsNone(r["ports"][0]["rx_pps"])
        self.assertEqual(r["ports"][0]["port"], 3)
        line = ps.summary_line(ps.Tracker(False).add(r))
        self.assertIn("p3=-,- rx_pps=-", line)
        self.assertIn("busy=-%", line)

    def test_broken_lines(self):
        for line in BROKEN + ['x STATS [1,2]', 'STATS {"t_ns":"soon"}',
                              'STATS {"t_ns":1,"drops":{"x":"many"}}',
                              'STATS {"t_ns":1,"ports":[{"link":"yes"}]}']:
            recs, errs = ps.parse_line(line)
            if line.startswith("x STATS ["):
                self.assertEqual((recs, errs), ([], []), line)    # no "STATS {"
                continue
            self.assertEqual(recs, [], line)
            self.assertEqual(len(errs), 1, line)

    def test_not_stats(self):
        self.assertEqual(ps.parse_line("port 0: rx 1 tx 1"), ([], []))
        self.assertEqual(ps.parse_line(""), ([], []))

    def test_cut_record_then_whole_one(self):
        line = BROKEN[0] + stats_line(1)
        recs, errs = ps.parse_line(line)
        self.assertEqual(len(recs), 1)
        self.assertEqual(len(errs), 1)
        self.assertEqual(recs[0]["t_ns"], T0 + 1_000_000_000)

    def test_trailing_text_after_json(self):
        recs, errs = ps.parse_line(stats_line(0) + "pktmetal> ")
        self.assertEqual((len(recs), errs), (1, []))

    def test_splitter_across_reads(self):
        data = synthetic_log(3).encode()
        sp = ps.LineSplitter()
        lines = []
        for i in range(0, len(data), 7):               # 7-byte reads
            lines += sp.feed(data[i:i + 7])
        lines += sp.flush()
        self.assertEqual(lines, synthetic_log(3).split("\r\n")[:-1])
        self.assertFalse(any(ln.endswith("\r") for ln in lines))

    def test_tracker_rates_and_reset(self):
        tr = ps.Tracker(True)
        rows = [tr.add(ps.parse_line(stats_line(i))[0][0]) for i in range(3)]
        self.assertIsNone(rows[0]["drops_per_s"])
        self.assertAlmostEqual(rows[1]["drops_per_s"]["ttl_expired"], 10.0)
        self.assertAlmostEqual(rows[2]["drops_per_s"]["acl_deny"], 2.0)
        self.assertEqual([r["x"] for r in rows], [0.0, 1.0, 2.0])
        # The image restarts: t_ns and counters go back; x keeps going.
        again = ps.parse_line(stats_line(0))[0][0]
        row = tr.add(again)
        self.assertIsNone(row["drops_per_s"])
        self.assertAlmostEqual(row["x"], 3.0)
        row = tr.add(ps.parse_line(stats_line(1))[0][0])
        self.assertAlmostEqual(row["x"], 4.0)
        self.assertAlmostEqual(row["drops_per_s"]["ttl_expired"], 10.0)

    def test_counter_going_back(self):
        """A drop counter that falls while time moves on (counters cleared)
        gives no rate for that record, then rates from the new base."""
        tr = ps.Tracker(False)
        tr.add(ps.parse_line(stats_line(5))[0][0])
        r = record(6)
        r["drops"]["ttl_expired"] = 1
        row = tr.add(ps.parse_line("STATS " + json.dumps(r))[0][0])
        self.assertIsNone(row["drops_per_s"]["ttl_expired"])
        self.assertAlmostEqual(row["drops_per_s"]["acl_deny"], 2.0)
        r = record(7)
        r["drops"]["ttl_expired"] = 4
        row = tr.add(ps.parse_line("STATS " + json.dumps(r))[0][0])
        self.assertAlmostEqual(row["drops_per_s"]["ttl_expired"], 3.0)

    def test_rates_computed_when_absent(self):
        tr = ps.Tracker(False)
        for i in range(2):
            r = record(i, ports=1)
            for k in ("rx_pps", "tx_pps", "rx_mbps", "tx_mbps"):
                del r["ports"][0][k]
            row = tr.add(ps.parse_line("STATS " + json.dumps(r))[0][0])
        p = row["ports"][0]
        self.assertAlmostEqual(p["rx_pps"], 1000.0)
        self.assertAlmostEqual(p["tx_pps"], 900.0)
        self.assertAlmostEqual(p["rx_mbps"], 0.512)

    def test_reason_appearing_later(self):
        tr = ps.Tracker(False)
        tr.add(ps.parse_line(stats_line(0, drop_reasons=("ttl_expired",)))[0][0])
        row = tr.add(ps.parse_line(stats_line(3))[0][0])       # acl_deny=6 appears
        self.assertAlmostEqual(row["drops_per_s"]["acl_deny"], 2.0)   # 6 over 3 s


class Program(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pktstat-test-")
        self.log = os.path.join(self.dir, "serial.log")
        with open(self.log, "w", newline="") as f:
            f.write(synthetic_log(5))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_summaries(self, proc, n=5):
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        lines = out_lines(proc)
        self.assertEqual(len(lines), n, proc.stdout.decode())
        for i, line in enumerate(lines):
            self.assertEqual(field(line, "t"), f"{(T0 + i * 1_000_000_000) / 1e9:.3f}")
            self.assertEqual(field(line, "p0"), "e1000,up")
            self.assertEqual(field(line, "p1"), "virtio,up")
            self.assertEqual(field(line, "rx_pps"), str(1000 * (i + 1)))   # port 0's
            self.assertEqual(field(line, "missed"), str(i))
            self.assertEqual(field(line, "ttl_expired"), str(3 + 10 * i))
            self.assertEqual(field(line, "drops"), str(3 + 12 * i))
            self.assertEqual(field(line, "pool"), "770/29850")
            self.assertEqual(field(line, "busy"), "12.5%")
            self.assertEqual(field(line, "cyc/pkt"), str(1000 + i))
            self.assertEqual(field(line, "capture"), "on" if i == 2 else "off")
        return lines

    def test_finished_log(self):
        proc = run(["--until-eof", self.log])
        self.check_summaries(proc)
        err = proc.stderr.decode()
        self.assertIn("5 records, 4 malformed STATS lines skipped", err)

    def test_once(self):
        proc = run(["--once", self.log])      # follows by default; --once returns
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        lines = out_lines(proc)
        self.assertEqual(len(lines), 1)
        self.assertEqual(field(lines[0], "cyc/pkt"), "1004")

    def test_once_without_record(self):
        empty = os.path.join(self.dir, "empty.log")
        open(empty, "w").close()
        proc = run(["--once", "--until-eof", empty])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no STATS record", proc.stderr.decode())

    def test_stdin(self):
        with open(self.log, "rb") as f:
            proc = run(["-"], input=f.read())
        self.check_summaries(proc)
        self.assertIn("4 malformed", proc.stderr.decode())

    def test_json_output(self):
        proc = run(["--until-eof", "--json", self.log])
        lines = out_lines(proc)
        self.assertEqual(len(lines), 5)
        self.assertEqual(json.loads(lines[4])["loop"]["cycles_per_pkt"], 1004)
        self.assertIn("future", json.loads(lines[0]))     # passed through as read

    def test_missing_inputs(self):
        proc = run([os.path.join(self.dir, "nope.log")])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no such file", proc.stderr.decode())
        proc = run(["--socket", os.path.join(self.dir, "nope.sock")])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no such socket", proc.stderr.decode())
        proc = run(["--socket", self.log])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("not a unix socket", proc.stderr.decode())
        dead = os.path.join(self.dir, "dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(dead)
        s.close()                                      # bound, never listened
        proc = run(["--socket", dead])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("nothing is listening", proc.stderr.decode())
        proc = run([])
        self.assertEqual(proc.returncode, 2)

    def test_csv(self):
        out = os.path.join(self.dir, "run.csv")
        proc = run(["--until-eof", "--csv", out, self.log])
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 5)
        self.assertEqual([r["t_s"] for r in rows], ["0.000", "1.000", "2.000", "3.000", "4.000"])
        self.assertEqual(rows[0]["drop_ttl_expired_per_s"], "")        # no rate yet
        self.assertEqual(float(rows[1]["drop_ttl_expired_per_s"]), 10.0)
        self.assertEqual(float(rows[4]["drop_acl_deny_per_s"]), 2.0)
        self.assertEqual(rows[4]["drop_ttl_expired"], "43")
        self.assertEqual(rows[3]["p0_rx_pps"], "4000")
        self.assertEqual(rows[3]["p1_tx_pps"], "901")
        self.assertEqual(rows[2]["capture_active"], "1")
        self.assertEqual(rows[2]["p0_link"], "1")
        self.assertEqual(rows[4]["cycles_per_pkt"], "1004")
        self.assertEqual(rows[0]["loop_busy"], "0.125")

    def test_plot(self):
        png = os.path.join(self.dir, "run.png")
        # A longer run so the panels have something to draw.
        with open(self.log, "a", newline="") as f:
            for i in range(5, 30):
                f.write(stats_line(i) + "\r\n")
        proc = run(["--until-eof", "--plot", png, self.log])
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        with open(png, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(data[12:16], b"IHDR")
        w, h = struct.unpack(">II", data[16:24])
        self.assertGreaterEqual(w, 600)
        self.assertGreaterEqual(h, 600)
        self.assertGreater(len(data), 20000)
        self.assertTrue(data.endswith(b"IEND\xaeB`\x82"))
        keep = os.environ.get("PKTSTAT_TEST_KEEP_PNG")
        if keep:
            shutil.copyfile(png, keep)

    def test_plot_under_this_python(self):
        """`python3 tools/pktstat --plot` under a python without matplotlib
        (a pyenv build) still plots: it re-runs itself under /usr/bin/python3."""
        png = os.path.join(self.dir, "run.png")
        proc = run(["--until-eof", "--plot", png, self.log], exe=sys.executable)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.check_summaries(proc)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_plot_without_records(self):
        empty = os.path.join(self.dir, "empty.log")
        with open(empty, "w") as f:
            f.write("nothing here\r\n")
        png = os.path.join(self.dir, "run.png")
        proc = run(["--until-eof", "--plot", png, empty])
        self.assertEqual(proc.returncode, 1)
        self.assertFalse(os.path.exists(png))

    def test_follow_growing_file(self):
        log = os.path.join(self.dir, "grow.log")
        with open(log, "w", newline="") as f:
            f.write("boot\r\n" + stats_line(0) + "\r\n")
        out = os.path.join(self.dir, "grow.csv")
        p = subprocess.Popen([PKTSTAT, "--duration", "3", "--csv", out, log],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rd = LineReader(p.stdout)
        try:
            first = rd.next()
            self.assertEqual(field(first, "cyc/pkt"), "1000")
            with open(log, "a", newline="") as f:
                for i in (1, 2):
                    time.sleep(0.3)
                    f.write("pktmetal> " + stats_line(i) + "\r\n")
                    f.flush()
                # a line split across two writes, and a broken one
                line = stats_line(3) + "\r\n"
                f.write(line[:40])
                f.flush()
                time.sleep(0.4)
                f.write(line[40:] + BROKEN[0] + "\r\n")
                f.flush()
            for i in (1, 2, 3):
                got = rd.next()
                self.assertEqual(field(got, "cyc/pkt"), str(1000 + i))
            self.assertEqual(stop(p), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(rd.rest(), [])
        self.assertIn("4 records, 1 malformed", p.stderr.read().decode())
        p.stderr.close()
        with open(out, newline="") as f:
            self.assertEqual(len(list(csv.DictReader(f))), 4)

    def test_follow_truncated_file(self):
        log = os.path.join(self.dir, "trunc.log")
        with open(log, "w", newline="") as f:
            f.write("\r\n".join(stats_line(i) for i in range(3)) + "\r\n")
        p = subprocess.Popen([PKTSTAT, "--duration", "3", log],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rd = LineReader(p.stdout)
        try:
            for i in range(3):
                rd.next()
            time.sleep(0.3)
            with open(log, "w", newline="") as f:        # truncate, start over
                f.write(stats_line(7) + "\r\n")
            got = rd.next()
            self.assertEqual(field(got, "cyc/pkt"), "1007")
            self.assertEqual(stop(p), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()

    def socket_server(self, chunks, delay=0.05, hold=0.0):
        """A unix socket server (like QEMU's -serial unix:...,server=on) that
        sends chunks to the first client, then holds the connection open for
        hold seconds and closes it."""
        path = os.path.join(self.dir, "com2.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.settimeout(20)

        def serve():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            try:
                for c in chunks:
                    conn.sendall(c)
                    time.sleep(delay)
                time.sleep(hold)
            except OSError:
                pass
            finally:
                conn.close()
                srv.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        return path, t

    def test_socket(self):
        data = synthetic_log(5).encode()
        chunks = [data[i:i + 100] for i in range(0, len(data), 100)]   # lines split
        path, t = self.socket_server(chunks, delay=0.01)
        proc = run(["--socket", path])            # ends when the server closes
        t.join(5)
        self.check_summaries(proc)
        self.assertIn("4 malformed", proc.stderr.decode())

    def test_socket_once(self):
        """--once on a live socket prints the first record and returns without
        waiting for the server to close."""
        chunks = [(stats_line(i) + "\r\n").encode() for i in range(2)]
        path, t = self.socket_server(chunks, delay=0.5, hold=30)
        start = time.monotonic()
        proc = run(["--once", "--socket", path])
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertEqual(len(out_lines(proc)), 1)

    def test_socket_duration(self):
        path, t = self.socket_server([b"pktmetal> \r\n"], hold=30)
        start = time.monotonic()
        proc = run(["--duration", "1", "--socket", path])
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 10)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertEqual(proc.returncode, 0)
        self.assertIn("no STATS record", proc.stderr.decode())

    def test_sigterm_still_writes_csv(self):
        out = os.path.join(self.dir, "term.csv")
        p = subprocess.Popen([PKTSTAT, "--csv", out, self.log],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rd = LineReader(p.stdout)
        try:
            for _ in range(5):
                rd.next()
            p.send_signal(signal.SIGTERM)
            stop(p)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0)
        with open(out, newline="") as f:
            self.assertEqual(len(list(csv.DictReader(f))), 5)

    def test_tty_table(self):
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([PKTSTAT, "--until-eof", self.log], stdout=slave,
                                 stderr=subprocess.PIPE, close_fds=True)
            os.close(slave)
            slave = None
            out = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:                 # EIO: the child closed the pty
                        break
                    if not chunk:
                        break
                    out += chunk
                elif p.poll() is not None:
                    break
            p.wait(timeout=10)
            p.stderr.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        text = out.decode("utf-8", "replace")
        self.assertTrue(text.startswith("\x1b[H\x1b[2J"), repr(text[:40]))
        self.assertIn("PORT DRIVER", text)
        self.assertIn("ttl_expired", text)
        self.assertIn("malformed=4", text)
        self.assertIn("cycles/packet 1004", text)
        self.assertIn("busy 12.5 %", text)
        self.assertIn("770 / 29850", text)


def main():
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    suite.addTests(loader.loadTestsFromTestCase(Parser))
    suite.addTests(loader.loadTestsFromTestCase(Program))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"pktstat: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
