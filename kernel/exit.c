/*
 * Shutdown paths. See exit.h for why a failure goes through isa-debug-exit.
 */
#include "kernel/exit.h"

#include <stddef.h>

#include "kernel/io.h"

#define ISA_DEBUG_EXIT_PORT 0xf4

static void (*exit_efi_shutdown)(void);

void exit_init(void (*efi_shutdown)(void))
{
    exit_efi_shutdown = efi_shutdown;
}

static void __attribute__((noreturn)) exit_halt_forever(void)
{
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void machine_shutdown(void)
{
    if (exit_efi_shutdown != NULL)
        exit_efi_shutdown();
    exit_halt_forever();
}

void machine_fail(enum exit_code code)
{
    pio_write32(ISA_DEBUG_EXIT_PORT, (uint32_t)code);
    machine_shutdown();
}
