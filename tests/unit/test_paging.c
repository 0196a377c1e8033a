/*
 * Tests for kernel/paging.c: the identity-mapped 4-level page tables, built
 * in host memory. Table pages come from aligned_alloc(); their "physical"
 * addresses are host pointers, which the walk follows as the MMU would
 * follow physical ones. The mapped addresses themselves are never touched.
 *
 * The allocator records every page it hands out and frees them all in the
 * fixture's teardown (a split abandons PT pages the tables no longer
 * reach); a page limit stands in for running out of kernel memory.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/paging.h"
#include "net/errno.h"

#define MIB                 (1024ull * 1024)
#define GIB                 (1024ull * MIB)
#define TEST_MAX_PAGES      256u

struct test_alloc {
    void *pages[TEST_MAX_PAGES];
    unsigned nb_pages;
    unsigned max_pages;                 /* allocator fails beyond this */
};

static struct test_alloc test_alloc;
static struct page_table pt;

static void *test_alloc_page(void *ctx)
{
    struct test_alloc *ta = ctx;
    void *page;

    if (ta->nb_pages >= ta->max_pages)
        return NULL;
    page = aligned_alloc(4096, 4096);
    cr_assert_not_null(page);
    memset(page, 0, 4096);
    ta->pages[ta->nb_pages++] = page;
    return page;
}

static void setup(void)
{
    struct pt_page_alloc alloc = { test_alloc_page, &test_alloc };

    test_alloc.nb_pages = 0;
    test_alloc.max_pages = TEST_MAX_PAGES;
    cr_assert_eq(pt_init(&pt, alloc), 0);
}

static void teardown(void)
{
    for (unsigned i = 0; i < test_alloc.nb_pages; i++)
        free(test_alloc.pages[i]);
    test_alloc.nb_pages = 0;
}

TestSuite(paging, .init = setup, .fini = teardown);

/* Lets the allocator hand out only nb_more further pages. */
static void limit_pages(unsigned nb_more)
{
    test_alloc.max_pages = test_alloc.nb_pages + nb_more;
}

/*
 * The leaf entry for va, walked independently of paging.c from the layout
 * in paging.h; *level is 2 for a 2 MiB leaf, 1 for a 4 KiB one. NULL when
 * an upper level is not present.
 */
static uint64_t *raw_leaf(uint64_t va, int *level)
{
    uint64_t *table = pt.pml4;

    for (int l = 4; l >= 2; l--) {
        uint64_t entry = table[(va >> (12 + 9 * (l - 1))) & 511];

        if (!(entry & PTE_P))
            return NULL;
        if (l == 2 && (entry & PTE_PS)) {
            *level = 2;
            return &table[(va >> 21) & 511];
        }
        table = (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
    }
    *level = 1;
    return &table[(va >> 12) & 511];
}

/* Asserts va translates to itself with the given page size and cache. */
static void expect_identity(uint64_t va, uint64_t page_size, enum pt_cache cache)
{
    uint64_t pa = 0, size = 0;
    enum pt_cache got_cache = PT_CACHE_WB;
    int err = pt_resolve(&pt, va, &pa, &size, &got_cache);

    cr_assert_eq(err, 0, "va %#llx: err %d", (unsigned long long)va, err);
    cr_assert_eq(pa, va, "va %#llx -> pa %#llx", (unsigned long long)va,
                 (unsigned long long)pa);
    cr_assert_eq(size, page_size, "va %#llx: page size %#llx",
                 (unsigned long long)va, (unsigned long long)size);
    cr_assert_eq(got_cache, cache, "va %#llx: cache %d", (unsigned long long)va,
                 got_cache);
}

static void expect_unmapped(uint64_t va)
{
    cr_assert_eq(pt_resolve(&pt, va, NULL, NULL, NULL), -PM_ENOENT,
                 "va %#llx should be unmapped", (unsigned long long)va);
}

Test(paging, init_takes_one_page_and_maps_nothing)
{
    cr_assert_eq(pt.nb_table_pages, 1);
    expect_unmapped(0);
    expect_unmapped(0x100000);
}

Test(paging, two_mib_mapping_resolves_every_address_to_itself_as_2m)
{
    uint64_t base = 5 * PT_PAGE_2M;

    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_WB), 0);
    for (uint64_t i = 0; i < 512; i++)
        expect_identity(base + i * PT_PAGE_4K, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(base + 1, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(base + 0x12345, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(base + 0xfff, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(base + PT_PAGE_2M - 1, PT_PAGE_2M, PT_CACHE_WB);
    expect_unmapped(base - 1);
    expect_unmapped(base + PT_PAGE_2M);
    /* PML4 + PDPT + PD: a 2 MiB page needs no PT. */
    cr_assert_eq(pt.nb_table_pages, 3);
}

Test(paging, unaligned_range_uses_4k_edges_and_2m_inside)
{
    /* [0x1ff800, 0x600800) rounds out to [0x1ff000, 0x601000). */
    cr_assert_eq(pt_map(&pt, 0x1ff800, 0x401000, PT_CACHE_WB), 0);
    expect_unmapped(0x1fefff);
    expect_identity(0x1ff000, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(0x1ff7ff, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(0x200000, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(0x5fffff, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(0x600000, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(0x600fff, PT_PAGE_4K, PT_CACHE_WB);
    expect_unmapped(0x601000);
    cr_assert_eq(pt_count_2m(&pt, 0, 8 * MIB), 2);
}

Test(paging, a_byte_range_maps_the_whole_page_around_it)
{
    cr_assert_eq(pt_map(&pt, 0x1234, 1, PT_CACHE_WB), 0);
    expect_identity(0x1000, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(0x1fff, PT_PAGE_4K, PT_CACHE_WB);
    expect_unmapped(0xfff);
    expect_unmapped(0x2000);
}

Test(paging, mmio_mapping_sets_pcd_and_pwt_and_resolves_uncached)
{
    uint64_t bar = 0xfebc0000;          /* e1000 BAR0 on q35, 128 KiB */
    int level;

    cr_assert_eq(pt_map(&pt, bar, 0x20000, PT_CACHE_UC), 0);
    for (uint64_t off = 0; off < 0x20000; off += PT_PAGE_4K) {
        uint64_t *pte = raw_leaf(bar + off, &level);

        cr_assert_not_null(pte);
        cr_assert_eq(level, 1);
        cr_assert_eq(*pte & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
        cr_assert_eq(*pte & (PTE_P | PTE_RW), PTE_P | PTE_RW);
        cr_assert_eq(*pte & (1ull << 63), 0, "XD must stay clear");
        expect_identity(bar + off, PT_PAGE_4K, PT_CACHE_UC);
    }
}

Test(paging, uncached_2m_mapping_sets_pcd_and_pwt_on_the_pde)
{
    int level;
    uint64_t *pde;

    cr_assert_eq(pt_map(&pt, 0xc0000000, PT_PAGE_2M, PT_CACHE_UC), 0);
    pde = raw_leaf(0xc0000000, &level);
    cr_assert_not_null(pde);
    cr_assert_eq(level, 2);
    cr_assert_eq(*pde & (PTE_PCD | PTE_PWT | PTE_PS), PTE_PCD | PTE_PWT | PTE_PS);
    expect_identity(0xc0100000, PT_PAGE_2M, PT_CACHE_UC);
}

Test(paging, write_back_leaf_has_no_cache_disable_bits)
{
    int level;
    uint64_t *pde;

    cr_assert_eq(pt_map(&pt, 0x40000000, PT_PAGE_2M, PT_CACHE_WB), 0);
    pde = raw_leaf(0x40000000, &level);
    cr_assert_not_null(pde);
    cr_assert_eq(*pde & (PTE_PCD | PTE_PWT), 0);
}

Test(paging, uc_map_over_part_of_wb_2m_page_splits_it_and_keeps_the_rest_wb)
{
    uint64_t base = 0x40000000, mmio = base + 0x100000;

    cr_assert_eq(pt_map(&pt, base, 2 * PT_PAGE_2M, PT_CACHE_WB), 0);
    cr_assert_eq(pt_map(&pt, mmio, PT_PAGE_4K, PT_CACHE_UC), 0);
    for (uint64_t va = base; va < base + PT_PAGE_2M; va += PT_PAGE_4K)
        expect_identity(va, PT_PAGE_4K, va == mmio ? PT_CACHE_UC : PT_CACHE_WB);
    /* The neighbouring 2 MiB page is not touched. */
    expect_identity(base + PT_PAGE_2M, PT_PAGE_2M, PT_CACHE_WB);
    cr_assert_eq(pt_count_2m(&pt, base, 2 * PT_PAGE_2M), 1);
}

Test(paging, split_keeps_the_uncached_attributes_of_the_2m_page)
{
    uint64_t base = 0xc0000000;

    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_UC), 0);
    cr_assert_eq(pt_unmap_4k(&pt, base), 0);
    expect_unmapped(base);
    for (uint64_t va = base + PT_PAGE_4K; va < base + PT_PAGE_2M; va += PT_PAGE_4K)
        expect_identity(va, PT_PAGE_4K, PT_CACHE_UC);
}

Test(paging, later_mapping_wins_in_both_directions)
{
    cr_assert_eq(pt_map_4k(&pt, 0x800000, 0x4000, PT_CACHE_UC), 0);
    cr_assert_eq(pt_map(&pt, 0x801000, 0x1000, PT_CACHE_WB), 0);
    expect_identity(0x800000, PT_PAGE_4K, PT_CACHE_UC);
    expect_identity(0x801000, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(0x802000, PT_PAGE_4K, PT_CACHE_UC);
}

Test(paging, whole_2m_map_over_a_split_region_restores_a_2m_page)
{
    uint64_t base = 0x40000000;

    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_WB), 0);
    cr_assert_eq(pt_unmap_4k(&pt, base + 0x3000), 0);
    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_WB), 0);
    expect_identity(base + 0x3000, PT_PAGE_2M, PT_CACHE_WB);
    cr_assert_eq(pt_count_2m(&pt, base, PT_PAGE_2M), 1);
}

Test(paging, unmapping_a_guard_page_inside_2m_page_leaves_neighbours_mapped)
{
    uint64_t base = 0x600000, guard = base + 0x5000;
    int level;

    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_WB), 0);
    cr_assert_eq(pt_unmap_4k(&pt, guard + 0x10), 0);   /* any byte of it */
    expect_unmapped(guard);
    expect_unmapped(guard + PT_PAGE_4K - 1);
    expect_identity(guard - PT_PAGE_4K, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(guard + PT_PAGE_4K, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(base, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(base + PT_PAGE_2M - 1, PT_PAGE_4K, PT_CACHE_WB);
    cr_assert_eq(*raw_leaf(guard, &level), 0);
    cr_assert_eq(level, 1);
}

Test(paging, map_4k_forces_4k_pages_over_an_aligned_range)
{
    uint64_t stack = 0x800000;

    cr_assert_eq(pt_map_4k(&pt, stack, 2 * PT_PAGE_2M, PT_CACHE_WB), 0);
    expect_identity(stack, PT_PAGE_4K, PT_CACHE_WB);
    expect_identity(stack + PT_PAGE_2M + 0x1234, PT_PAGE_4K, PT_CACHE_WB);
    cr_assert_eq(pt_count_2m(&pt, stack, 2 * PT_PAGE_2M), 0);

    unsigned nb_before = pt.nb_table_pages;

    cr_assert_eq(pt_unmap_4k(&pt, stack), 0);
    cr_assert_eq(pt.nb_table_pages, nb_before, "no split needed");
    expect_unmapped(stack);
    expect_identity(stack + PT_PAGE_4K, PT_PAGE_4K, PT_CACHE_WB);
}

Test(paging, unmapping_an_unmapped_page_builds_nothing)
{
    cr_assert_eq(pt_unmap_4k(&pt, 0x12345000), 0);
    cr_assert_eq(pt.nb_table_pages, 1);
    expect_unmapped(0x12345000);
}

Test(paging, high_bar_at_0xe000000000_maps)
{
    uint64_t bar = 0xe000000000ull;

    cr_assert_eq(pt_map(&pt, bar, 0x4000, PT_CACHE_UC), 0);
    expect_identity(bar, PT_PAGE_4K, PT_CACHE_UC);
    expect_identity(bar + 0x3fff, PT_PAGE_4K, PT_CACHE_UC);
    expect_unmapped(bar + 0x4000);
    expect_unmapped(bar & 0xffffffffull);   /* no aliasing into the low 4 GiB */
}

Test(paging, top_page_below_2_to_the_47_maps)
{
    uint64_t top = PT_ADDR_LIMIT - PT_PAGE_4K;

    cr_assert_eq(pt_map(&pt, top, PT_PAGE_4K, PT_CACHE_UC), 0);
    expect_identity(top, PT_PAGE_4K, PT_CACHE_UC);
    expect_identity(PT_ADDR_LIMIT - 1, PT_PAGE_4K, PT_CACHE_UC);
}

Test(paging, range_spanning_1g_boundaries_uses_2m_pages_throughout)
{
    uint64_t base = GIB - 2 * PT_PAGE_2M;

    cr_assert_eq(pt_map(&pt, base, GIB + 4 * PT_PAGE_2M, PT_CACHE_WB), 0);
    cr_assert_eq(pt_count_2m(&pt, base, GIB + 4 * PT_PAGE_2M), 512 + 4);
    expect_identity(GIB - 1, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(GIB, PT_PAGE_2M, PT_CACHE_WB);
    expect_identity(2 * GIB + 2 * PT_PAGE_2M - 1, PT_PAGE_2M, PT_CACHE_WB);
    expect_unmapped(2 * GIB + 2 * PT_PAGE_2M);
}

Test(paging, count_2m_counts_a_64mib_arena_as_32)
{
    uint64_t arena = 0x10000000, len = 64 * MIB;

    cr_assert_eq(pt_map(&pt, arena, len, PT_CACHE_WB), 0);
    cr_assert_eq(pt_count_2m(&pt, arena, len), 32);
    /* Only 2 MiB pages wholly inside the range count. */
    cr_assert_eq(pt_count_2m(&pt, arena + 1, len - 1), 31);
    cr_assert_eq(pt_count_2m(&pt, arena, len - 1), 31);
    cr_assert_eq(pt_count_2m(&pt, arena - 16 * MIB, len + 32 * MIB), 32);
    cr_assert_eq(pt_count_2m(&pt, arena, 0), 0);
}

Test(paging, allocation_failure_returns_enomem_and_keeps_the_2m_page)
{
    uint64_t base = 0x40000000;

    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_WB), 0);
    limit_pages(0);
    cr_assert_eq(pt_map(&pt, base + 0x100000, PT_PAGE_4K, PT_CACHE_UC), -PM_ENOMEM);
    cr_assert_eq(pt_unmap_4k(&pt, base + 0x5000), -PM_ENOMEM);
    for (uint64_t va = base; va < base + PT_PAGE_2M; va += PT_PAGE_4K)
        expect_identity(va, PT_PAGE_2M, PT_CACHE_WB);
}

Test(paging, failed_map_changes_no_translation_in_its_range)
{
    uint64_t base = 0x40000000;

    /* A 1 GiB-long UC map whose tail needs a new PD and a new PT; the
     * allocator only has the PD. The first 1 GiB must stay WB. */
    cr_assert_eq(pt_map(&pt, base, PT_PAGE_2M, PT_CACHE_WB), 0);
    limit_pages(1);
    cr_assert_eq(pt_map(&pt, base, GIB + PT_PAGE_4K, PT_CACHE_UC), -PM_ENOMEM);
    expect_identity(base, PT_PAGE_2M, PT_CACHE_WB);
    expect_unmapped(base + PT_PAGE_2M);
    expect_unmapped(base + GIB);
}

Test(paging, init_fails_with_enomem_when_no_page_is_left)
{
    struct page_table other;
    struct pt_page_alloc alloc = { test_alloc_page, &test_alloc };

    limit_pages(0);
    cr_assert_eq(pt_init(&other, alloc), -PM_ENOMEM);
    cr_assert_null(other.pml4);
}

Test(paging, unmapped_addresses_return_enoent)
{
    cr_assert_eq(pt_map(&pt, 0x200000, PT_PAGE_4K, PT_CACHE_WB), 0);
    expect_unmapped(0x201000);          /* same PT, empty entry */
    expect_unmapped(0x400000);          /* same PD, empty entry */
    expect_unmapped(0x40000000);        /* same PDPT, empty entry */
    expect_unmapped(0x8000000000ull);   /* empty PML4 entry */
    expect_unmapped(0xffff800000000000ull);  /* canonical upper half */
}

Test(paging, invalid_ranges_and_addresses_are_rejected)
{
    cr_assert_eq(pt_map(&pt, 0x1000, 0, PT_CACHE_WB), -PM_EINVAL);
    cr_assert_eq(pt_map(&pt, PT_ADDR_LIMIT, PT_PAGE_4K, PT_CACHE_WB), -PM_EINVAL);
    cr_assert_eq(pt_map(&pt, PT_ADDR_LIMIT - PT_PAGE_4K, 2 * PT_PAGE_4K, PT_CACHE_WB),
                 -PM_EINVAL);
    cr_assert_eq(pt_map(&pt, 0x1000, UINT64_MAX, PT_CACHE_WB), -PM_EINVAL);
    cr_assert_eq(pt_map(&pt, 0xfd00000000000ull, PT_PAGE_4K, PT_CACHE_UC), -PM_EINVAL);
    cr_assert_eq(pt_map(&pt, 0x1000, PT_PAGE_4K, (enum pt_cache)7), -PM_EINVAL);
    cr_assert_eq(pt_map_4k(&pt, 0x1000, 0, PT_CACHE_WB), -PM_EINVAL);
    cr_assert_eq(pt_unmap_4k(&pt, PT_ADDR_LIMIT), -PM_EINVAL);
    cr_assert_eq(pt_resolve(&pt, 0x0000800000000000ull, NULL, NULL, NULL), -PM_EINVAL);
    cr_assert_eq(pt.nb_table_pages, 1, "a rejected call builds nothing");
}
