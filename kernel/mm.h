/*
 * Memory: the kernel memory block's layout, a bump allocator for kernel
 * tables, and the identity-mapped page tables (DESIGN.md, Boot step 2).
 *
 *   kmem (2 MiB aligned)
 *   +0        boot/'s part: boot_info, config text, memory map
 *   +256 KiB  guard | kernel stack 128 KiB | guard | #DF stack | guard |
 *             #PF stack | guard | NMI/#MC stack        (4 KiB pages)
 *   +512 KiB  heap: page-table pages, PCI device list, later tables
 *   +8 MiB    end
 *
 * Guard pages are left unmapped, so running off the bottom of a stack faults
 * at once; #PF and #DF use their own stacks (cpu.h), so the fault is reported.
 */
#ifndef PKTMETAL_KERNEL_MM_H
#define PKTMETAL_KERNEL_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi.h"
#include "kernel/boot_info.h"

struct mm_summary {
    uint64_t ram_bytes;          /* RAM the firmware handed over */
    uint64_t runtime_bytes;      /* EFI runtime regions kept mapped */
    unsigned nb_regions;
    unsigned arena_2m_pages;     /* 2 MiB pages that map the packet arena */
    unsigned nb_table_pages;     /* page-table pages in use */
    uint64_t heap_used, heap_bytes;
};

/* Sets up the stacks in kmem (returns their tops) before anything else. */
void mm_stacks(const struct boot_info *bi, uint64_t *kernel_top, uint64_t ist_tops[3]);
/* Builds and loads the page tables: RAM and arena 2 MiB WB; firmware MMIO,
 * ECAM and the local APIC uncached; guard pages and page 0 unmapped.
 * Returns 0 or a negative PM_E*. */
int mm_init(const struct boot_info *bi, const struct acpi_info *acpi);
/* Maps a device region (a PCI BAR) uncached. */
int mm_map_mmio(uint64_t phys, uint64_t bytes);
bool mm_is_mapped(uint64_t addr);
/* Zeroed kernel memory from the heap; NULL when it is used up. */
void *kmem_alloc(size_t bytes, size_t align);
void mm_get_summary(struct mm_summary *out);
void mm_print_map(void);

#endif
