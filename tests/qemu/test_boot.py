"""The image boots, says what it found, obeys the console, and fails loudly:
the foundation issue's QEMU tests."""
import re
import time

from qemutest import BOOT_TIMEOUT_S, EXIT_TIMEOUT_S, booted, check, qemu_status

EXIT_CONFIG, EXIT_EXCEPTION, EXIT_PANIC = 1, 2, 3


def test_boots_to_ready_names_both_nics_and_quits_with_0(image):
    with booted(image, "arena-mb 64\n", nics=("e1000", "virtio")) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        m.expect("footprint:", 10)
        log = m.output()
        check("e1000 (82540EM) 8086:100e" in log, "banner does not name the e1000", m)
        check("virtio-net" in log and "1af4:1000" in log, "banner does not name virtio-net", m)
        check("2 NICs recognised" in log, "banner does not count 2 NICs", m)
        check(re.search(r"arena: 64 MiB at [0-9a-f]+, mapped by 32 x 2 MiB pages", log),
              "arena line missing or wrong page count", m)
        check(re.search(r"cache: LLC L\d \d+ KiB, line \d+ bytes", log), "no LLC line", m)
        check(re.search(r"tsc: \d+\.\d+ MHz", log), "no TSC line", m)
        # The time itself is a benchmark figure (tools/bench/startup_bench.py):
        # guest time under TCG stretches with the host's load.
        check(re.search(r"ready: \d+ us from efi_main", log), "no start-up time", m)
        check(re.search(r"footprint: image \d+ KiB, kernel heap \d+ of \d+ KiB used", log),
              "no footprint line", m)
        m.send("quit\r")
        rc = m.wait(EXIT_TIMEOUT_S)
        check(rc == 0, f"quit should exit 0, QEMU exited {rc}", m)


def test_non_transitional_virtio_is_recognised(image):
    with booted(image, "", nics=("virtio-modern",)) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        check("1af4:1041" in m.output() and "1 NIC recognised" in m.output(),
              "virtio 1af4:1041 not recognised", m)
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)


def test_console_commands_answer(image):
    with booted(image, "") as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        m.send("help\r")
        m.expect("memory map summary", 10)
        m.send("pci\r")
        m.expect("BAR", 10)
        m.send("mem\r")
        m.expect("kernel heap", 10)
        m.send("bogus\r")
        m.expect("unknown command 'bogus'", 10)
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
        log = m.output()
        check(re.search(r"00:1[01]\.0 8086:100e ethernet", log), "pci lists no e1000", m)
        check(re.search(r"BAR\d mem [0-9a-f]{16} size 0x", log), "pci lists no BAR", m)


def test_missing_config_uses_defaults_and_says_so(image):
    with booted(image, None) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        log = m.output()
        check("no pktmetal.conf on the boot volume, using built-in defaults" in log,
              "missing config not reported", m)
        check("arena: 64 MiB" in log, "default arena is not 64 MiB", m)
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)


def test_bad_config_line_stops_with_line_number(image):
    conf = "# comment\narena-mb 64\narena-gb 2\n"
    with booted(image, conf) as m:
        rc = m.wait(BOOT_TIMEOUT_S)
        check("config:3: unknown directive 'arena-gb'" in m.output(),
              "config error with its line number not on serial", m)
        check("ready:" not in m.output(), "a bad config must stop start-up", m)
        check(rc == qemu_status(EXIT_CONFIG), f"exit code {rc}, want {qemu_status(EXIT_CONFIG)}", m)


def test_page_fault_dumps_cr2_and_fails(image):
    with booted(image, "selftest-fault page\n") as m:
        rc = m.wait(BOOT_TIMEOUT_S)
        log = m.output()
        check("*** EXCEPTION 14: #PF page fault" in log, "no page-fault report", m)
        check("cr2=00007f0000000000" in log, "CR2 not reported", m)
        check(re.search(r"rip=[0-9a-f]{16} \(pktmetal\.so\+0x[0-9a-f]+\)", log), "no RIP", m)
        check("rax=" in log and "r15=" in log, "registers not dumped", m)
        check(re.search(r"backtrace:\n  #0  [0-9a-f]{16}.*\n  #1  [0-9a-f]{16}", log),
              "no backtrace with a caller", m)
        check(rc == qemu_status(EXIT_EXCEPTION), f"exit code {rc}", m)


def test_stack_overflow_hits_guard_page_not_triple_fault(image):
    with booted(image, "selftest-fault stack\n") as m:
        rc = m.wait(BOOT_TIMEOUT_S)
        check("stack overflow: kernel stack ran into its guard page" in m.output(),
              "stack overflow not reported as such", m)
        check(rc == qemu_status(EXIT_EXCEPTION), f"exit code {rc} (a triple fault exits 0)", m)


def test_divide_error_is_reported(image):
    with booted(image, "selftest-fault divide\n") as m:
        rc = m.wait(BOOT_TIMEOUT_S)
        check("*** EXCEPTION 0: #DE divide error" in m.output(), "no #DE report", m)
        check(rc == qemu_status(EXIT_EXCEPTION), f"exit code {rc}", m)


def test_panic_prints_message_and_backtrace(image):
    with booted(image, "selftest-fault panic\n") as m:
        rc = m.wait(BOOT_TIMEOUT_S)
        log = m.output()
        check("*** PANIC: selftest-fault panic requested" in log, "no panic message", m)
        check("backtrace:" in log, "no backtrace", m)
        check(rc == qemu_status(EXIT_PANIC), f"exit code {rc}", m)


def test_guest_clock_matches_host_wall_clock(image):
    wait_ms = 3000
    with booted(image, f"selftest-wait-ms {wait_ms}\n") as m:
        t_begin, _ = m.expect("SELFTEST-WAIT-BEGIN", BOOT_TIMEOUT_S)
        t_end, _ = m.expect("SELFTEST-WAIT-END", wait_ms / 1000 * 3 + 10)
        host_ms = (t_end - t_begin) * 1000
        check(abs(host_ms - wait_ms) <= wait_ms * 0.10,
              f"guest waited {wait_ms} ms by its clock, host saw {host_ms:.0f} ms", m)
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)


def test_control_channel_on_com2_answers_commands(image):
    import socket
    with booted(image, "", control=True) as m:
        m.expect("ready:", BOOT_TIMEOUT_S)
        m.expect("footprint:", 10)
        check("control channel on COM2" in m.output(), "COM2 not detected", m)
        on_com1 = m.output().count("kernel heap")      # the footprint line at ready has it
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(m.control_path)
            s.settimeout(10)
            s.sendall(b"mem\n")
            reply = b""
            while b"kernel heap" not in reply:
                chunk = s.recv(4096)
                check(chunk, "COM2 closed before the reply", m)
                reply += chunk
        time.sleep(0.5)
        check(m.output().count("kernel heap") == on_com1,
              "a COM2 command's reply leaked onto COM1", m)
        m.send("quit\r")
        check(m.wait(EXIT_TIMEOUT_S) == 0, "quit should exit 0", m)
