/*
 * Kernel memory and page tables. See mm.h for the layout of kmem.
 *
 * RAM is mapped in 2 MiB pages, rounded out to 2 MiB boundaries; the
 * firmware's MMIO regions, ECAM and the local APIC are then mapped uncached
 * on top (a later mapping wins, splitting a 2 MiB page where it must). The
 * EFI runtime regions are RAM to us and stay mapped at their physical
 * addresses, which is what lets ResetSystem run after ExitBootServices with
 * our own CR3 (TRAPS.md).
 */
#include "kernel/mm.h"

#include "kernel/console.h"
#include "kernel/dma.h"
#include "kernel/paging.h"
#include "kernel/trap.h"
#include "net/errno.h"

#define PAGE_4K 4096ull
#define PAGE_2M (2ull << 20)

#define STACKS_OFFSET   KMEM_BOOT_BYTES
#define KSTACK_BYTES    (128u << 10)
#define IST_STACK_BYTES (16u << 10)
#define HEAP_OFFSET     (512u << 10)
#define LAPIC_BYTES     PAGE_4K

static struct page_table kpt;
static uint64_t heap_base, heap_next, heap_end;
static const struct boot_info *mm_bi;

void *kmem_alloc(size_t bytes, size_t align)
{
    uint64_t p = (heap_next + align - 1) & ~((uint64_t)align - 1);
    if (p + bytes > heap_end || p + bytes < p)
        return NULL;
    heap_next = p + bytes;
    uint8_t *m = (uint8_t *)(uintptr_t)p;
    for (size_t i = 0; i < bytes; i++)
        m[i] = 0;
    return m;
}

/* Rings and device structures come from the kernel heap: it is RAM, mapped
 * write-back, identity mapped, and never freed. */
void *dma_alloc(size_t bytes, size_t align)
{
    return kmem_alloc(bytes, align);
}

static void *pt_alloc_page(void *ctx)
{
    (void)ctx;
    return kmem_alloc(PAGE_4K, PAGE_4K);
}

/* guard | kernel stack | guard | IST1 | guard | IST2 | guard | IST3 */
void mm_stacks(const struct boot_info *bi, uint64_t *kernel_top, uint64_t ist_tops[3])
{
    static const char *const ist_names[3] = { "#DF", "#PF", "NMI/#MC" };
    uint64_t p = bi->kmem_phys + STACKS_OFFSET;
    trap_add_guard(p, "kernel");
    p += PAGE_4K + KSTACK_BYTES;
    *kernel_top = p;
    for (int i = 0; i < 3; i++) {
        trap_add_guard(p, ist_names[i]);
        p += PAGE_4K + IST_STACK_BYTES;
        ist_tops[i] = p;
    }
    heap_base = heap_next = bi->kmem_phys + HEAP_OFFSET;
    heap_end = bi->kmem_phys + bi->kmem_bytes;
}

static int map_firmware_regions(const struct boot_info *bi)
{
    for (unsigned i = 0; i < bi->nb_mem; i++) {
        const struct boot_mem_region *r = &bi->mem[i];
        if (r->bytes == 0 || r->kind == BOOT_MEM_MMIO || r->kind == BOOT_MEM_RESERVED)
            continue;
        uint64_t start = r->phys & ~(PAGE_2M - 1);
        uint64_t end = (r->phys + r->bytes + PAGE_2M - 1) & ~(PAGE_2M - 1);
        int rc = pt_map(&kpt, start, end - start, PT_CACHE_WB);
        if (rc < 0)
            return rc;
    }
    for (unsigned i = 0; i < bi->nb_mem; i++) {
        const struct boot_mem_region *r = &bi->mem[i];
        if (r->bytes != 0 && r->kind == BOOT_MEM_MMIO) {
            int rc = pt_map(&kpt, r->phys, r->bytes, PT_CACHE_UC);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* The stacks' 2 MiB page is remapped in 4 KiB pages so the guards can go. */
static int cut_guard_pages(const struct boot_info *bi)
{
    int rc = pt_map_4k(&kpt, bi->kmem_phys, PAGE_2M, PT_CACHE_WB);
    uint64_t p = bi->kmem_phys + STACKS_OFFSET;
    for (int i = 0; rc == 0 && i < 4; i++) {
        rc = pt_unmap_4k(&kpt, p);
        p += PAGE_4K + (i == 0 ? KSTACK_BYTES : IST_STACK_BYTES);
    }
    return rc;
}

int mm_init(const struct boot_info *bi, const struct acpi_info *acpi)
{
    mm_bi = bi;
    struct pt_page_alloc alloc = { pt_alloc_page, NULL };
    int rc = pt_init(&kpt, alloc);
    if (rc == 0)
        rc = map_firmware_regions(bi);
    /* The arena was allocated from RAM, so it is mapped already; map it
     * again explicitly so its 2 MiB pages never depend on map rounding. */
    if (rc == 0)
        rc = pt_map(&kpt, bi->arena_phys, bi->arena_bytes, PT_CACHE_WB);
    if (rc == 0)
        rc = cut_guard_pages(bi);
    if (rc == 0)        /* page 0: a NULL dereference faults */
        rc = pt_unmap_4k(&kpt, 0);
    if (rc == 0 && acpi->ecam_base != 0)
        rc = pt_map(&kpt, acpi->ecam_base,
                    ((uint64_t)acpi->ecam_bus_end - acpi->ecam_bus_start + 1) << 20,
                    PT_CACHE_UC);
    if (rc == 0)
        rc = pt_map(&kpt, acpi->lapic_base, LAPIC_BYTES, PT_CACHE_UC);
    if (rc < 0)
        return rc;
    pt_activate(&kpt);
    trap_set_mapped_check(mm_is_mapped);
    return 0;
}

int mm_map_mmio(uint64_t phys, uint64_t bytes)
{
    int rc = pt_map(&kpt, phys, bytes, PT_CACHE_UC);
    if (rc == 0)
        pt_activate(&kpt);       /* reloading CR3 flushes stale translations */
    return rc;
}

bool mm_is_mapped(uint64_t addr)
{
    uint64_t pa, size;
    enum pt_cache cache;
    return pt_resolve(&kpt, addr, &pa, &size, &cache) == 0;
}

void mm_get_summary(struct mm_summary *out)
{
    *out = (struct mm_summary){ 0 };
    for (unsigned i = 0; i < mm_bi->nb_mem; i++) {
        const struct boot_mem_region *r = &mm_bi->mem[i];
        if (r->kind == BOOT_MEM_RAM)
            out->ram_bytes += r->bytes;
        else if (r->kind == BOOT_MEM_RUNTIME)
            out->runtime_bytes += r->bytes;
    }
    out->nb_regions = mm_bi->nb_mem;
    out->arena_2m_pages = pt_count_2m(&kpt, mm_bi->arena_phys, mm_bi->arena_bytes);
    out->nb_table_pages = kpt.nb_table_pages;
    out->heap_used = heap_next - heap_base;
    out->heap_bytes = heap_end - heap_base;
}

static const char *kind_name(enum boot_mem_kind k)
{
    switch (k) {
    case BOOT_MEM_RAM:      return "ram";
    case BOOT_MEM_RUNTIME:  return "efi-runtime";
    case BOOT_MEM_ACPI:     return "acpi";
    case BOOT_MEM_MMIO:     return "mmio";
    default:                return "reserved";
    }
}

/* The `mem` command: adjacent regions of one kind are merged into one line. */
void mm_print_map(void)
{
    struct mm_summary s;
    mm_get_summary(&s);
    kprintf("memory map (%u firmware regions, merged by kind):\n", s.nb_regions);
    for (unsigned i = 0; i < mm_bi->nb_mem;) {
        const struct boot_mem_region *r = &mm_bi->mem[i];
        uint64_t end = r->phys + r->bytes;
        unsigned j = i + 1;
        for (; j < mm_bi->nb_mem && mm_bi->mem[j].kind == r->kind && mm_bi->mem[j].phys == end; j++)
            end += mm_bi->mem[j].bytes;
        kprintf("  %016llx-%016llx %8llu KiB %s\n", (unsigned long long)r->phys,
                (unsigned long long)end - 1, (unsigned long long)(end - r->phys) >> 10,
                kind_name(r->kind));
        i = j;
    }
    kprintf("ram %llu MiB, efi runtime %llu KiB, arena %llu MiB at %016llx in %u x 2 MiB pages\n",
            (unsigned long long)s.ram_bytes >> 20, (unsigned long long)s.runtime_bytes >> 10,
            (unsigned long long)mm_bi->arena_bytes >> 20, (unsigned long long)mm_bi->arena_phys,
            s.arena_2m_pages);
    kprintf("kernel heap %llu of %llu KiB used, %u page-table pages\n",
            (unsigned long long)s.heap_used >> 10, (unsigned long long)s.heap_bytes >> 10,
            s.nb_table_pages);
}
