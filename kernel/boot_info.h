/*
 * What boot/ hands the kernel after ExitBootServices (DESIGN.md, Boot step 1).
 *
 * boot/ is the only code that talks to the firmware's boot services. It fills
 * this struct in memory that survives ExitBootServices (the kernel memory
 * block), then calls kernel_main(). From then on the kernel uses nothing of
 * the firmware but the runtime service behind `shutdown`.
 *
 *   kernel memory block (kmem, 2 MiB aligned, EfiLoaderData)
 *   +---------------------------+ kmem_phys
 *   | boot_info, memory map,    |  filled by boot/ before ExitBootServices
 *   | config text               |
 *   +---------------------------+ kmem_phys + KMEM_BOOT_BYTES
 *   | stacks, page tables, heap |  the kernel's (kernel/kmem.c)
 *   +---------------------------+ kmem_phys + kmem_bytes
 */
#ifndef PKTMETAL_KERNEL_BOOT_INFO_H
#define PKTMETAL_KERNEL_BOOT_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/config.h"

#define KMEM_BYTES       (8u << 20)   /* kernel memory block */
#define KMEM_BOOT_BYTES  (256u << 10) /* its first part: what boot/ fills */
#define BOOT_CONFIG_MAX  (64u << 10)  /* largest pktmetal.conf read */

enum boot_mem_kind {
    BOOT_MEM_RAM,        /* conventional, loader, boot services: ours after EBS */
    BOOT_MEM_RUNTIME,    /* EFI runtime code/data: kept mapped, never touched */
    BOOT_MEM_ACPI,       /* ACPI tables and NVS */
    BOOT_MEM_MMIO,       /* memory-mapped I/O the firmware declared */
    BOOT_MEM_RESERVED,   /* anything else */
};

struct boot_mem_region {
    uint64_t phys;
    uint64_t bytes;
    uint32_t efi_type;       /* EFI_MEMORY_TYPE as the firmware said */
    enum boot_mem_kind kind;
};

struct boot_wallclock {
    uint16_t year;
    uint8_t month, day, hour, minute, second;
    uint32_t nanosecond;
    bool valid;
};

struct boot_info {
    uint64_t tsc_at_entry;          /* rdtsc at efi_main entry */
    uint64_t image_base;            /* where the firmware loaded us */
    uint64_t image_bytes;
    uint64_t rsdp_phys;             /* ACPI 2.0 RSDP, 0 if not found */

    uint64_t arena_phys;            /* packet arena, 2 MiB aligned */
    uint64_t arena_bytes;
    uint64_t kmem_phys;             /* kernel memory block, 2 MiB aligned */
    uint64_t kmem_bytes;

    struct boot_mem_region *mem;    /* memory map, sorted by address */
    unsigned nb_mem;
    unsigned ebs_attempts;          /* ExitBootServices calls it took */

    /* pktmetal.conf, parsed by boot/ because the arena size comes from it. */
    bool config_found;
    int config_status;              /* 0 or negative PM_E* */
    char config_error[256];         /* "config:LINE: ..." when config_status < 0 */
    struct config config;

    struct boot_wallclock wallclock; /* GetTime() before EBS: capture epoch */
    uint64_t tsc_at_wallclock;

    /* EFI runtime ResetSystem(EfiResetShutdown); returns only if it failed. */
    void (*shutdown)(void);
};

void kernel_main(struct boot_info *bi) __attribute__((noreturn));

#endif
