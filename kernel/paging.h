/*
 * x86-64 4-level page tables for pktmetal's single identity-mapped address
 * space (Intel SDM vol. 3A, 4.5 "4-Level Paging"; 11.12 for PAT).
 *
 * kernel_main builds its own tables after ExitBootServices: 2 MiB pages for
 * RAM and the packet arena, uncached pages for MMIO (PCI BARs, the local
 * APIC), 4 KiB pages around the kernel stacks so guard pages can be cut out.
 * Table pages come from a caller-supplied allocator: kernel memory reserved
 * before ExitBootServices on the image, aligned_alloc() in the host tests.
 * Every entry holds the physical address of the next table, which under
 * identity mapping is the table's pointer value.
 *
 *   virtual address == physical address (bits 63..48 copy bit 47)
 *
 *    47     39 38     30 29     21 20     12 11          0
 *   +---------+---------+---------+---------+-------------+
 *   |PML4 idx |PDPT idx | PD idx  | PT idx  | page offset |
 *   +---------+---------+---------+---------+-------------+
 *        |         |         |         |
 *   CR3 -> PML4 --> PDPT --> PD --+--> PT --> 4 KiB page
 *                                 |
 *                                 +-- PS=1: the PD entry maps a 2 MiB page
 *                                     and bits 20..0 are the offset
 *
 *   entry bits this module writes
 *     0      P    present
 *     1      RW   writable; set at every level (the walk ANDs them)
 *     3      PWT  \ both set on a leaf select PAT entry 3, which is UC under
 *     4      PCD  / the reset PAT; both clear select entry 0, WB
 *     7      PS   PD entry only: this entry is a 2 MiB leaf
 *                 (bit 7 of a PT entry is PAT, left clear)
 *     51..12 address of the next table or 4 KiB page (51..21 for 2 MiB)
 *     63     XD   never set: with EFER.NXE off it is a reserved bit (#PF)
 *
 * A 4-level virtual address has 48 bits and identity mapping needs VA == PA,
 * so only [0, 2^47) can be mapped, although physical addresses reach 2^52.
 * OVMF's highest BARs (around 0xE000000000, 896 GiB) sit well inside.
 *
 * The tables are edited in memory only: after changing a present entry of
 * the active tables (a UC map over RAM, a split, an unmap), call
 * pt_activate() again; reloading CR3 flushes the stale TLB entries.
 */
#ifndef PKTMETAL_KERNEL_PAGING_H
#define PKTMETAL_KERNEL_PAGING_H

#include <stdint.h>

#define PT_PAGE_4K      0x1000ull
#define PT_PAGE_2M      0x200000ull
#define PT_ENTRIES      512u
#define PT_ADDR_LIMIT   (1ull << 47)  /* first address identity mapping cannot reach */

#define PTE_P           (1ull << 0)
#define PTE_RW          (1ull << 1)
#define PTE_PWT         (1ull << 3)
#define PTE_PCD         (1ull << 4)
#define PTE_PS          (1ull << 7)
#define PTE_ADDR_MASK   0x000ffffffffff000ull  /* bits 51..12 */

/* Hands out one zeroed, 4 KiB-aligned page per call, or NULL when out. */
struct pt_page_alloc {
    void *(*alloc_page)(void *ctx);
    void *ctx;
};

struct page_table {
    uint64_t *pml4;               /* what CR3 points at */
    struct pt_page_alloc alloc;
    unsigned nb_table_pages;      /* pages taken from alloc, PML4 included */
};

enum pt_cache {
    PT_CACHE_WB,                  /* RAM, the packet arena */
    PT_CACHE_UC,                  /* MMIO: PCD|PWT, PAT entry 3 */
};

/* Allocates an empty PML4. 0 or -PM_ENOMEM. */
int pt_init(struct page_table *pt, struct pt_page_alloc alloc);

/*
 * Identity-maps [phys, phys + len), rounded out to 4 KiB, present and
 * writable: a 2 MiB page for every 2 MiB-aligned chunk the range covers
 * whole, 4 KiB pages at the edges. The range replaces earlier mappings of
 * it; a 2 MiB page only partly covered is first split into 512 4 KiB
 * entries that keep its old attributes. A 2 MiB page written over a split
 * region abandons that region's PT page (the allocator cannot take it back).
 *
 * 0; -PM_EINVAL for len 0, a range reaching PT_ADDR_LIMIT, or a bad cache;
 * -PM_ENOMEM when the allocator runs dry, in which case every address still
 * translates as before (the tables the range needed are built first and the
 * leaves written only once all of them exist; see pt_map_range()).
 */
int pt_map(struct page_table *pt, uint64_t phys, uint64_t len, enum pt_cache cache);

/* As pt_map() but 4 KiB pages throughout, so single pages (stack guards)
 * can be unmapped later without a split. */
int pt_map_4k(struct page_table *pt, uint64_t phys, uint64_t len, enum pt_cache cache);

/*
 * Makes the 4 KiB page holding addr not present (a stack guard page, the
 * null page), splitting a 2 MiB page around it first. An address nothing
 * maps is left alone. 0, -PM_EINVAL (addr >= PT_ADDR_LIMIT) or -PM_ENOMEM.
 */
int pt_unmap_4k(struct page_table *pt, uint64_t addr);

/*
 * Translates va the way the MMU would. 0 and fills *pa, *page_size (4096 or
 * 2 MiB) and *cache (each may be NULL); -PM_ENOENT when not mapped;
 * -PM_EINVAL for a non-canonical va.
 */
int pt_resolve(const struct page_table *pt, uint64_t va, uint64_t *pa,
               uint64_t *page_size, enum pt_cache *cache);

/* Number of 2 MiB leaf entries lying wholly inside [phys, phys + len);
 * 0 for an invalid range. The banner reports it for the packet arena. */
unsigned pt_count_2m(const struct page_table *pt, uint64_t phys, uint64_t len);

#ifdef PKTMETAL_IMAGE
/*
 * Switches to these tables, which must map the running code, its stack and
 * everything it touches next. CR3's PWT/PCD bits (3, 4) stay clear: the
 * PML4 is read write-back. Also the TLB flush after editing live tables.
 */
static inline void pt_activate(const struct page_table *pt)
{
    uint64_t cr3 = (uint64_t)(uintptr_t)pt->pml4;

    __asm__ __volatile__("mov %0, %%cr3" : : "r"(cr3) : "memory");
}
#endif

#endif
