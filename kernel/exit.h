/*
 * Leaving the machine (DESIGN.md, Boot step 3).
 *
 * A clean exit calls the EFI runtime ResetSystem(Shutdown): QEMU exits 0.
 * A failure first writes its code to QEMU's isa-debug-exit port, which makes
 * QEMU exit with (code << 1) | 1 — ResetSystem cannot carry a status
 * (TRAPS.md) — and falls back to ResetSystem when that device is absent.
 */
#ifndef PKTMETAL_KERNEL_EXIT_H
#define PKTMETAL_KERNEL_EXIT_H

/* Failure codes; QEMU's exit status is (code << 1) | 1. */
enum exit_code {
    EXIT_CONFIG    = 1,   /* bad pktmetal.conf          -> QEMU exits 3 */
    EXIT_EXCEPTION = 2,   /* CPU exception               -> 5 */
    EXIT_PANIC     = 3,   /* broken invariant            -> 7 */
    EXIT_PLATFORM  = 4,   /* ACPI/PCI/memory unusable    -> 9 */
};

void exit_init(void (*efi_shutdown)(void));
void machine_shutdown(void) __attribute__((noreturn));
void machine_fail(enum exit_code code) __attribute__((noreturn));

#endif
