#!/usr/bin/env python3
"""Runs the QEMU tests: every `test_*` function in tests/qemu/test_*.py.

Each test boots the real image under QEMU + OVMF (TCG) through
tools/pmqemu.py and checks the serial console and QEMU's exit code. Every
QEMU run is bounded by a timeout. Tests run two at a time (this machine has
two cores and a TCG guest keeps one busy). Prints one line per test and a
closing `qemu: N passed, N failed`; exits non-zero if any failed.

    tests/qemu/run.py [-k SUBSTRING] [-j JOBS] [--image build/pktmetal.efi]
"""
import argparse
import concurrent.futures
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, HERE)


def discover(pattern):
    tests = []
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in sorted(dir(mod)):
            fn = getattr(mod, attr)
            full = f"{name[:-3]}.{attr}"
            if attr.startswith("test_") and callable(fn) and (not pattern or pattern in full):
                tests.append((full, fn))
    return tests


def run_one(full, fn, image):
    t0 = time.monotonic()
    try:
        fn(image)
        return full, True, time.monotonic() - t0, ""
    except Exception:
        return full, False, time.monotonic() - t0, traceback.format_exc()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="run tests whose name contains this")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--image", default=os.path.join(ROOT, "build", "pktmetal.efi"))
    args = ap.parse_args()
    if not os.path.exists(args.image):
        print(f"qemu: image {args.image} missing; run make first", file=sys.stderr)
        return 2
    tests = discover(args.k)
    # Traffic tests (marked `exclusive`) run one at a time after the others:
    # two guests pushing packets on a 2-core host would steal each other's
    # CPU and lose frames in QEMU's sockets.
    shared = [t for t in tests if not getattr(t[1], "exclusive", False)]
    alone = [t for t in tests if getattr(t[1], "exclusive", False)]
    passed = failed = 0
    for batch, jobs in ((shared, args.j), (alone, 1)):
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_one, full, fn, args.image) for full, fn in batch]
            for fut in concurrent.futures.as_completed(futures):
                full, ok, secs, tb = fut.result()
                print(f"[{'PASS' if ok else 'FAIL'}] {full} ({secs:.1f} s)", flush=True)
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print(tb, flush=True)
    print(f"qemu: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
