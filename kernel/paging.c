/*
 * Builds and walks pktmetal's identity-mapped 4-level page tables (layout
 * and bits: paging.h; Intel SDM vol. 3A, 4.5).
 *
 * Levels are numbered as the SDM counts them: 4 = PML4, 3 = PDPT, 2 = PD,
 * 1 = PT. A level-L entry covers 4 KiB << 9*(L-1) bytes and is indexed by
 * the 9 address bits above that size. Only levels 2 (PS=1) and 1 hold
 * leaves here; this module never writes 1 GiB pages.
 *
 * The same file runs on the image and in the host tests: a table address is
 * a pointer cast to an integer, which is the physical address on the image
 * and a host heap address (4 KiB aligned, below 2^47) in the tests.
 */
#include "kernel/paging.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/errno.h"

/* The bits pt_map() puts on a leaf, and the ones a split copies over. */
#define PTE_LEAF_ATTRS  (PTE_P | PTE_RW | PTE_PWT | PTE_PCD)
#define PTE_ADDR_MASK_2M (PTE_ADDR_MASK & ~(PT_PAGE_2M - 1))

static uint64_t align_down(uint64_t addr, uint64_t size)
{
    return addr & ~(size - 1);
}

static uint64_t pt_level_size(int level)
{
    return PT_PAGE_4K << (9 * (level - 1));
}

static unsigned pt_index(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

static uint64_t *pt_table_of(uint64_t entry)
{
    return (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

/* Non-leaf entries are WB (PWT/PCD clear: they govern how the MMU reads the
 * next table) and writable, so the leaf alone decides. */
static uint64_t pt_table_entry(const uint64_t *table)
{
    return (uint64_t)(uintptr_t)table | PTE_P | PTE_RW;
}

static bool pt_is_canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* 0 when [phys, phys + len) is non-empty and below PT_ADDR_LIMIT. */
static int pt_check_range(uint64_t phys, uint64_t len)
{
    if (len == 0 || phys >= PT_ADDR_LIMIT || len > PT_ADDR_LIMIT - phys)
        return -PM_EINVAL;
    return 0;
}

static uint64_t *pt_new_table(struct page_table *pt)
{
    uint64_t *table = pt->alloc.alloc_page(pt->alloc.ctx);

    if (!table)
        return NULL;
    /* The allocator promises zeroes; a stale entry would map garbage, and
     * clearing 4 KiB once per table costs nothing next to that. */
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        table[i] = 0;
    pt->nb_table_pages++;
    return table;
}

/*
 * Replaces the 2 MiB leaf *pde by a PT of 512 entries mapping the same
 * memory with the same attributes, so no translation changes. The PT is
 * complete before the PDE points at it.
 */
static int pt_split_2m(struct page_table *pt, uint64_t *pde)
{
    uint64_t *ptes = pt_new_table(pt);
    uint64_t base = *pde & PTE_ADDR_MASK_2M;
    uint64_t attrs = *pde & PTE_LEAF_ATTRS;

    if (!ptes)
        return -PM_ENOMEM;
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        ptes[i] = (base + i * PT_PAGE_4K) | attrs;
    *pde = pt_table_entry(ptes);
    return 0;
}

/* Makes the level-`level` entry *entry point at a table: a new empty one if
 * it is not present, an equivalent PT if it is a 2 MiB leaf. */
static int pt_make_table(struct page_table *pt, uint64_t *entry, int level)
{
    uint64_t *table;

    if (!(*entry & PTE_P)) {
        table = pt_new_table(pt);
        if (!table)
            return -PM_ENOMEM;
        *entry = pt_table_entry(table);
        return 0;
    }
    if (level == 2 && (*entry & PTE_PS))
        return pt_split_2m(pt, entry);
    return 0;
}

/* The level-`level` entry for va, building the tables above it as needed;
 * NULL when the allocator runs dry. */
static uint64_t *pt_slot(struct page_table *pt, uint64_t va, int level)
{
    uint64_t *table = pt->pml4;

    for (int l = 4; l > level; l--) {
        uint64_t *entry = &table[pt_index(va, l)];

        if (pt_make_table(pt, entry, l) < 0)
            return NULL;
        table = pt_table_of(*entry);
    }
    return &table[pt_index(va, level)];
}

/* The level-`level` entry for va without building anything; NULL when an
 * entry above it is not present or is a leaf. */
static uint64_t *pt_walk(const struct page_table *pt, uint64_t va, int level)
{
    uint64_t *table = pt->pml4;

    for (int l = 4; l > level; l--) {
        uint64_t entry = table[pt_index(va, l)];

        if (!(entry & PTE_P) || (entry & PTE_PS))
            return NULL;
        table = pt_table_of(entry);
    }
    return &table[pt_index(va, level)];
}

/*
 * Maps [lo, hi), which lies inside one 2 MiB-aligned chunk, as a 2 MiB page
 * or as a run of 4 KiB entries of one PT. With write false it only builds
 * the tables that the write will need.
 */
static int pt_map_chunk(struct page_table *pt, uint64_t lo, uint64_t hi,
                        uint64_t attrs, bool use_2m, bool write)
{
    uint64_t *entry = pt_slot(pt, lo, use_2m ? 2 : 1);

    if (!entry)
        return -PM_ENOMEM;
    if (!write)
        return 0;
    if (use_2m) {
        *entry = lo | attrs | PTE_PS;
        return 0;
    }
    for (uint64_t addr = lo; addr < hi; addr += PT_PAGE_4K)
        *entry++ = addr | attrs;
    return 0;
}

static int pt_map_pass(struct page_table *pt, uint64_t start, uint64_t end,
                       uint64_t attrs, bool force_4k, bool write)
{
    uint64_t lo, hi;

    for (lo = start; lo < end; lo = hi) {
        hi = align_down(lo, PT_PAGE_2M) + PT_PAGE_2M;
        if (hi > end)
            hi = end;
        /* A whole chunk implies lo is 2 MiB aligned. */
        bool use_2m = !force_4k && hi - lo == PT_PAGE_2M;
        int err = pt_map_chunk(pt, lo, hi, attrs, use_2m, write);

        if (err)
            return err;
    }
    return 0;
}

/*
 * Two passes so that running out of table pages changes no translation.
 * The first builds every table the range needs: new tables are empty, and
 * a split PT maps exactly what its 2 MiB page did. The second writes the
 * leaves; its tables all exist, so it cannot fail. A failure thus leaves at
 * most some empty tables and split 2 MiB pages behind.
 */
static int pt_map_range(struct page_table *pt, uint64_t phys, uint64_t len,
                        enum pt_cache cache, bool force_4k)
{
    uint64_t start, end, attrs;
    int err = pt_check_range(phys, len);

    if (err)
        return err;
    if (cache != PT_CACHE_WB && cache != PT_CACHE_UC)
        return -PM_EINVAL;
    attrs = PTE_P | PTE_RW | (cache == PT_CACHE_UC ? PTE_PCD | PTE_PWT : 0);
    start = align_down(phys, PT_PAGE_4K);
    end = align_down(phys + len + PT_PAGE_4K - 1, PT_PAGE_4K);
    err = pt_map_pass(pt, start, end, attrs, force_4k, false);
    if (err)
        return err;
    return pt_map_pass(pt, start, end, attrs, force_4k, true);
}

int pt_init(struct page_table *pt, struct pt_page_alloc alloc)
{
    pt->alloc = alloc;
    pt->nb_table_pages = 0;
    pt->pml4 = pt_new_table(pt);
    return pt->pml4 ? 0 : -PM_ENOMEM;
}

int pt_map(struct page_table *pt, uint64_t phys, uint64_t len, enum pt_cache cache)
{
    return pt_map_range(pt, phys, len, cache, false);
}

int pt_map_4k(struct page_table *pt, uint64_t phys, uint64_t len, enum pt_cache cache)
{
    return pt_map_range(pt, phys, len, cache, true);
}

int pt_unmap_4k(struct page_table *pt, uint64_t addr)
{
    const uint64_t *pde;
    uint64_t *pte;

    if (addr >= PT_ADDR_LIMIT)
        return -PM_EINVAL;
    pde = pt_walk(pt, addr, 2);
    if (!pde || !(*pde & PTE_P))
        return 0;           /* nothing maps it; do not build tables for it */
    pte = pt_slot(pt, addr, 1);
    if (!pte)
        return -PM_ENOMEM;
    *pte = 0;
    return 0;
}

/*
 * Walks from the PML4 to the leaf like the MMU. PS counts at levels 3 and 2
 * only (it is reserved in a PML4 entry), so a 1 GiB page would resolve too.
 */
int pt_resolve(const struct page_table *pt, uint64_t va, uint64_t *pa,
               uint64_t *page_size, enum pt_cache *cache)
{
    const uint64_t *table = pt->pml4;
    uint64_t entry, size;
    int level;

    if (!pt_is_canonical(va))
        return -PM_EINVAL;
    for (level = 4;; level--) {
        entry = table[pt_index(va, level)];
        if (!(entry & PTE_P))
            return -PM_ENOENT;
        if (level == 1 || (level <= 3 && (entry & PTE_PS)))
            break;
        table = pt_table_of(entry);
    }
    size = pt_level_size(level);
    if (pa)
        *pa = (entry & PTE_ADDR_MASK & ~(size - 1)) | (va & (size - 1));
    if (page_size)
        *page_size = size;
    /* Only "neither" and "both" are ever written; either bit alone would
     * not be write-back either (WT or UC- under the reset PAT). */
    if (cache)
        *cache = (entry & (PTE_PCD | PTE_PWT)) ? PT_CACHE_UC : PT_CACHE_WB;
    return 0;
}

unsigned pt_count_2m(const struct page_table *pt, uint64_t phys, uint64_t len)
{
    unsigned nb_2m = 0;
    uint64_t end = phys + len;

    if (pt_check_range(phys, len))
        return 0;
    for (uint64_t addr = align_down(phys + PT_PAGE_2M - 1, PT_PAGE_2M);
         addr + PT_PAGE_2M <= end; addr += PT_PAGE_2M) {
        const uint64_t *pde = pt_walk(pt, addr, 2);

        if (pde && (*pde & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS))
            nb_2m++;
    }
    return nb_2m;
}
