"""`make run` itself (issue 5): tools/demo in a short mode must boot
pktmetal as a router, carry pktgen's mixed traffic, show live statistics,
print the summary and end with a passing verification."""
import os
import subprocess

import pmqemu


def test_make_run_demo_passes_its_verification(image):
    demo = os.path.join(pmqemu.ROOT, "tools", "demo")
    r = subprocess.run([demo, "--image", image, "--duration", "4", "--rate", "2000"],
                       capture_output=True, text=True, timeout=240)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"demo exited {r.returncode}:\n{out[-4000:]}"
    assert "verification: PASS" in out, out[-4000:]
    assert "result: PASS" in out, out[-4000:]
    assert "drops:" in out and "acl_deny" in out and "ttl_expired" in out, out[-4000:]


test_make_run_demo_passes_its_verification.exclusive = True
