"""Helpers shared by the QEMU tests: boot a Machine, and fail with the
serial log attached so a red test says what the guest printed."""
import contextlib

import pmqemu

BOOT_TIMEOUT_S = 60     # OVMF alone takes ~5 s under TCG; CI machines are noisy
EXIT_TIMEOUT_S = 30


def qemu_status(code):
    """QEMU's exit status for a pktmetal failure code (isa-debug-exit)."""
    return (code << 1) | 1


class GuestError(AssertionError):
    pass


def check(cond, message, machine):
    if not cond:
        raise GuestError(f"{message}\n--- serial log ---\n{machine.output()}\n---")


@contextlib.contextmanager
def booted(image, conf_text="", **kw):
    m = pmqemu.Machine(image, conf_text=conf_text, **kw)
    try:
        m.start()
        yield m
    except (TimeoutError, EOFError) as e:
        raise GuestError(f"{e}\n--- serial log ---\n{m.output()}\n---") from None
    finally:
        m.cleanup()
