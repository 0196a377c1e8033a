/*
 * Tests for net/lpm.c, the IPv4 longest-prefix match.
 *
 * Small hand-written tables pin the rules of the match: the longest prefix
 * wins, /0 is a default route, /32 a host route, routes at and around the
 * depths where the structure changes level (8, 16, 24, 32) and at every
 * depth 0..32; an add of an existing prefix replaces its next hop, a delete
 * brings back the next-longest covering route; the error codes.
 *
 * Memory: a region that runs out makes add return -PM_ENOMEM while the
 * table keeps answering for what it holds; freed node memory is compacted
 * and reused; a table emptied again uses exactly what an empty one did; the
 * worst case lpm_mem_bytes promises (isolated /32s) and the 100,000-route
 * WORKLOADS.md table fit in lpm_mem_bytes(n), and the latter reproduces
 * the workload's CHECK figures for hits and next-hop sum.
 *
 * A randomized run (fixed seed) holds the table against a reference model:
 * 10,000 routes, inserts, deletes and replacements interleaved with
 * 1,000,000 lookups, half of them aimed inside installed prefixes. The
 * model answers by probing every depth in a hash of (prefix, depth), and is
 * itself checked against a plain linear scan of its route list.
 *
 * The direct layout (2^14 routes or more) gets the same randomized run, one
 * where it has no node memory (the rule store answers), and tests of its
 * codes running out and of short routes nesting; so do a small table that
 * asks for the direct layout and a large one that asks for the compact
 * layout (lpm_create_layout).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/errno.h"
#include "net/lpm.h"

#define FILL_BYTE 0xa5

static void *region;

static void free_region(void)
{
    free(region);
    region = NULL;
}

TestSuite(lpm, .fini = free_region);

/* A table of max_routes in a region of `bytes` (filled with a pattern so
 * nothing relies on zeroed memory), at a deliberately odd address. */
static struct lpm *lpm_in_layout(uint32_t max_routes, size_t bytes, enum lpm_layout layout)
{
    struct lpm *t;

    cr_assert_null(region, "one table per test");
    region = malloc(bytes + 8);
    cr_assert_not_null(region);
    memset(region, FILL_BYTE, bytes + 8);
    t = lpm_create_layout((uint8_t *)region + 8, bytes, max_routes, layout);
    cr_assert_not_null(t);
    return t;
}

static struct lpm *lpm_in(uint32_t max_routes, size_t bytes)
{
    return lpm_in_layout(max_routes, bytes, LPM_LAYOUT_AUTO);
}

static struct lpm *lpm_new(uint32_t max_routes)
{
    return lpm_in(max_routes, lpm_mem_bytes(max_routes));
}

/* A table in the layout asked for, in a region of its lpm_mem_bytes_layout. */
static struct lpm *lpm_new_layout(uint32_t max_routes, enum lpm_layout layout)
{
    size_t bytes = lpm_mem_bytes_layout(max_routes, layout);

    cr_assert_gt(bytes, 0);
    return lpm_in_layout(max_routes, bytes, layout);
}

/* A region with room for the fixed part and about nb_lines 64-byte lines of
 * nodes: an empty table's mem_used is its fixed part. */
static struct lpm *lpm_with_heap_lines(uint32_t max_routes, size_t nb_lines)
{
    size_t bytes = lpm_mem_bytes(max_routes);
    void *probe = malloc(bytes);
    struct lpm_stats empty;

    cr_assert_not_null(probe);
    lpm_get_stats(lpm_create(probe, bytes, max_routes), &empty);
    free(probe);
    return lpm_in(max_routes, empty.mem_used + nb_lines * 64);
}

static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static uint32_t mask(unsigned depth)
{
    return depth ? (uint32_t)(0xffffffffull << (32 - depth)) : 0;
}

static void expect_hop(const struct lpm *t, uint32_t addr, uint32_t want)
{
    uint32_t nh = 0xdeadbeef;
    int rc = lpm_lookup(t, addr, &nh);

    cr_assert_eq(rc, 0, "%08x: no route, want next hop %u", addr, want);
    cr_assert_eq(nh, want, "%08x: next hop %u, want %u", addr, nh, want);
}

static void expect_miss(const struct lpm *t, uint32_t addr)
{
    uint32_t nh = 0xdeadbeef;
    int rc = lpm_lookup(t, addr, &nh);

    cr_assert_eq(rc, -PM_ENOENT, "%08x: next hop %u, want no route", addr, nh);
    cr_assert_eq(nh, 0xdeadbeef, "a miss leaves *next_hop alone");
}

static void add_ok(struct lpm *t, uint32_t prefix, uint8_t depth, uint32_t nh)
{
    int rc = lpm_add(t, prefix, depth, nh);

    cr_assert_eq(rc, 0, "add %08x/%u -> %u: %d", prefix, depth, nh, rc);
}

static void delete_ok(struct lpm *t, uint32_t prefix, uint8_t depth)
{
    int rc = lpm_delete(t, prefix, depth);

    cr_assert_eq(rc, 0, "delete %08x/%u: %d", prefix, depth, rc);
}

/* ---- the match ---------------------------------------------------------- */

Test(lpm, empty_table_has_no_route)
{
    struct lpm *t = lpm_new(16);

    expect_miss(t, 0);
    expect_miss(t, ip(10, 1, 2, 3));
    expect_miss(t, 0xffffffff);
}

Test(lpm, default_route_answers_every_address)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, 0, 0, 7);
    expect_hop(t, 0, 7);
    expect_hop(t, ip(10, 1, 2, 3), 7);
    expect_hop(t, 0xffffffff, 7);
    delete_ok(t, 0, 0);
    expect_miss(t, ip(10, 1, 2, 3));
}

Test(lpm, longest_prefix_wins_over_shorter_and_default_route)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, 0, 0, 1);
    add_ok(t, ip(10, 0, 0, 0), 8, 2);
    add_ok(t, ip(10, 1, 0, 0), 16, 3);
    add_ok(t, ip(10, 1, 2, 0), 24, 4);
    add_ok(t, ip(10, 1, 2, 128), 25, 5);
    add_ok(t, ip(10, 1, 2, 200), 32, 6);

    expect_hop(t, ip(11, 0, 0, 1), 1);
    expect_hop(t, ip(10, 2, 0, 1), 2);
    expect_hop(t, ip(10, 1, 3, 1), 3);
    expect_hop(t, ip(10, 1, 2, 127), 4);
    expect_hop(t, ip(10, 1, 2, 128), 5);
    expect_hop(t, ip(10, 1, 2, 199), 5);
    expect_hop(t, ip(10, 1, 2, 200), 6);
    expect_hop(t, ip(10, 1, 2, 201), 5);
}

Test(lpm, order_of_adds_does_not_matter)
{
    struct lpm *t = lpm_new(16);

    /* longest first: each shorter route must leave the longer ones alone */
    add_ok(t, ip(10, 1, 2, 200), 32, 6);
    add_ok(t, ip(10, 1, 2, 128), 25, 5);
    add_ok(t, ip(10, 1, 2, 0), 24, 4);
    add_ok(t, ip(10, 1, 0, 0), 16, 3);
    add_ok(t, ip(10, 0, 0, 0), 8, 2);
    add_ok(t, 0, 0, 1);

    expect_hop(t, ip(11, 0, 0, 1), 1);
    expect_hop(t, ip(10, 2, 0, 1), 2);
    expect_hop(t, ip(10, 1, 3, 1), 3);
    expect_hop(t, ip(10, 1, 2, 127), 4);
    expect_hop(t, ip(10, 1, 2, 199), 5);
    expect_hop(t, ip(10, 1, 2, 200), 6);
}

Test(lpm, host_routes_match_one_address_only)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, ip(192, 168, 1, 1), 32, 11);
    add_ok(t, ip(192, 168, 1, 2), 32, 12);
    add_ok(t, ip(192, 168, 1, 255), 32, 13);
    add_ok(t, ip(0, 0, 0, 0), 32, 14);
    add_ok(t, ip(255, 255, 255, 255), 32, 15);

    expect_hop(t, ip(192, 168, 1, 1), 11);
    expect_hop(t, ip(192, 168, 1, 2), 12);
    expect_hop(t, ip(192, 168, 1, 255), 13);
    expect_hop(t, 0, 14);
    expect_hop(t, 0xffffffff, 15);
    expect_miss(t, ip(192, 168, 1, 0));
    expect_miss(t, ip(192, 168, 1, 3));
    expect_miss(t, ip(192, 168, 1, 254));
    expect_miss(t, ip(192, 168, 2, 1));
    expect_miss(t, 1);
    expect_miss(t, 0xfffffffe);
}

/* /8, /16, /24 and /32 fill whole root slots, whole L2 slots or single
 * addresses; one bit more or less falls the other side of a level. */
Test(lpm, depth_boundaries_8_16_24_32_and_either_side)
{
    static const uint8_t depths[] = { 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32 };

    for (unsigned i = 0; i < sizeof(depths); i++) {
        unsigned d = depths[i];
        uint32_t prefix = ip(172, 31, 255, 254) & mask(d);
        uint32_t last = prefix | ~mask(d);
        struct lpm *t = lpm_new(4);

        add_ok(t, prefix, (uint8_t)d, 100 + d);
        expect_hop(t, prefix, 100 + d);
        expect_hop(t, last, 100 + d);
        expect_miss(t, prefix - 1);
        if (last != 0xffffffff)
            expect_miss(t, last + 1);
        free_region();
    }
}

/* A chain of nested routes, one at every depth, on the path to one
 * address: the address that differs from it first at bit 31 - d is
 * answered by the /d route. */
static void expect_chain(const struct lpm *t, uint32_t addr, const bool present[33])
{
    for (unsigned d = 0; d <= 32; d++) {
        uint32_t probe = d < 32 ? addr ^ (0x80000000u >> d) : addr;
        int want = -1;

        /* probe agrees with addr on bits above 31 - d only */
        for (unsigned k = 0; k <= d; k++) {
            if (present[k])
                want = (int)k;
        }
        if (want < 0)
            expect_miss(t, probe);
        else
            expect_hop(t, probe, 1000 + (uint32_t)want);
    }
}

Test(lpm, every_depth_0_to_32_nests_and_unwinds)
{
    const uint32_t addr = ip(203, 0, 113, 77);
    struct lpm *t = lpm_new(64);
    bool present[33] = { false };
    /* a fixed shuffle of 0..32 for the deletes */
    static const uint8_t order[33] = { 17, 3, 32, 24, 0, 9, 28, 16, 8, 25, 1, 30, 12,
                                       20, 5, 31, 14, 23, 2, 26, 10, 19, 7, 29, 15,
                                       22, 4, 27, 11, 18, 6, 21, 13 };

    for (unsigned d = 0; d <= 32; d++) {
        add_ok(t, addr & mask(d), (uint8_t)d, 1000 + d);
        present[d] = true;
        expect_chain(t, addr, present);
    }
    for (unsigned i = 0; i < 33; i++) {
        delete_ok(t, addr, order[i]);
        present[order[i]] = false;
        expect_chain(t, addr, present);
    }
}

Test(lpm, every_depth_0_to_32_added_longest_first)
{
    const uint32_t addr = ip(198, 51, 100, 9);
    struct lpm *t = lpm_new(64);
    bool present[33] = { false };

    for (int d = 32; d >= 0; d--) {
        add_ok(t, addr & mask((unsigned)d), (uint8_t)d, 1000 + (uint32_t)d);
        present[d] = true;
        expect_chain(t, addr, present);
    }
    for (unsigned d = 0; d <= 32; d++) {
        delete_ok(t, addr, (uint8_t)d);
        present[d] = false;
        expect_chain(t, addr, present);
    }
}

Test(lpm, prefix_bits_beyond_depth_are_ignored)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, ip(10, 20, 30, 40), 16, 5);
    expect_hop(t, ip(10, 20, 0, 0), 5);
    expect_hop(t, ip(10, 20, 255, 255), 5);
    add_ok(t, ip(10, 20, 0, 0), 16, 6);          /* the same route */
    expect_hop(t, ip(10, 20, 1, 1), 6);
    delete_ok(t, ip(10, 20, 99, 99), 16);
    expect_miss(t, ip(10, 20, 1, 1));
}

/* ---- updates ------------------------------------------------------------ */

Test(lpm, adding_an_existing_prefix_replaces_its_next_hop)
{
    static const uint8_t depths[] = { 0, 8, 16, 20, 24, 28, 32 };
    struct lpm *t = lpm_new(16);
    struct lpm_stats st;

    for (unsigned i = 0; i < sizeof(depths); i++) {
        uint32_t p = ip(10, 9, 8, 7) & mask(depths[i]);

        add_ok(t, p, depths[i], 50);
        add_ok(t, p, depths[i], 60 + i);
        expect_hop(t, ip(10, 9, 8, 7), 60 + i);
    }
    lpm_get_stats(t, &st);
    cr_assert_eq(st.nb_routes, sizeof(depths), "a replacement is not a new route: %u",
                 st.nb_routes);
    /* the replaced /24 still yields to the /28 and covers its own range */
    expect_hop(t, ip(10, 9, 8, 200), 60 + 4);
    expect_hop(t, ip(10, 9, 128, 1), 60 + 2);
}

Test(lpm, delete_restores_the_covering_route)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, ip(10, 0, 0, 0), 8, 1);
    add_ok(t, ip(10, 1, 0, 0), 16, 2);
    add_ok(t, ip(10, 1, 0, 0), 18, 3);
    add_ok(t, ip(10, 1, 2, 0), 24, 4);
    add_ok(t, ip(10, 1, 2, 16), 28, 5);

    delete_ok(t, ip(10, 1, 2, 16), 28);
    expect_hop(t, ip(10, 1, 2, 17), 4);
    delete_ok(t, ip(10, 1, 2, 0), 24);
    expect_hop(t, ip(10, 1, 2, 17), 3);
    expect_hop(t, ip(10, 1, 64, 1), 2);
    delete_ok(t, ip(10, 1, 0, 0), 18);
    expect_hop(t, ip(10, 1, 2, 17), 2);
    delete_ok(t, ip(10, 1, 0, 0), 16);
    expect_hop(t, ip(10, 1, 2, 17), 1);
    delete_ok(t, ip(10, 0, 0, 0), 8);
    expect_miss(t, ip(10, 1, 2, 17));
}

Test(lpm, delete_of_a_shorter_route_keeps_the_longer_ones)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, 0, 0, 9);
    add_ok(t, ip(10, 0, 0, 0), 8, 1);
    add_ok(t, ip(10, 1, 2, 0), 24, 4);
    add_ok(t, ip(10, 1, 2, 3), 32, 5);
    delete_ok(t, ip(10, 0, 0, 0), 8);
    expect_hop(t, ip(10, 1, 2, 3), 5);
    expect_hop(t, ip(10, 1, 2, 4), 4);
    expect_hop(t, ip(10, 1, 3, 4), 9);
    delete_ok(t, 0, 0);
    expect_hop(t, ip(10, 1, 2, 4), 4);
    expect_miss(t, ip(10, 1, 3, 4));
}

/* Three neighbouring /24s with one next hop are one run; deleting the
 * middle one splits it, so the node grows on a delete. */
Test(lpm, delete_between_equal_neighbours_splits_the_run)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, ip(10, 1, 0, 0), 16, 2);
    add_ok(t, ip(10, 1, 4, 0), 24, 8);
    add_ok(t, ip(10, 1, 5, 0), 24, 8);
    add_ok(t, ip(10, 1, 6, 0), 24, 8);
    delete_ok(t, ip(10, 1, 5, 0), 24);
    expect_hop(t, ip(10, 1, 4, 9), 8);
    expect_hop(t, ip(10, 1, 5, 9), 2);
    expect_hop(t, ip(10, 1, 6, 9), 8);
    expect_hop(t, ip(10, 1, 7, 9), 2);
}

/* Two /17s with one next hop fill their /16 with one value: the node goes
 * and the root holds a /17 leaf, which the next /17 must still override. */
Test(lpm, sibling_routes_that_fill_a_node_collapse_and_split_again)
{
    struct lpm *t = lpm_new(16);

    add_ok(t, ip(10, 1, 0, 0), 16, 1);
    add_ok(t, ip(10, 1, 0, 0), 17, 3);
    add_ok(t, ip(10, 1, 128, 0), 17, 3);
    expect_hop(t, ip(10, 1, 200, 1), 3);
    add_ok(t, ip(10, 1, 0, 0), 16, 4);           /* shorter: stays hidden */
    expect_hop(t, ip(10, 1, 200, 1), 3);
    add_ok(t, ip(10, 1, 128, 0), 17, 5);
    expect_hop(t, ip(10, 1, 1, 1), 3);
    expect_hop(t, ip(10, 1, 200, 1), 5);
    delete_ok(t, ip(10, 1, 0, 0), 17);
    expect_hop(t, ip(10, 1, 1, 1), 4);
    expect_hop(t, ip(10, 1, 200, 1), 5);
}

Test(lpm, delete_of_a_missing_prefix_is_enoent)
{
    struct lpm *t = lpm_new(16);

    cr_assert_eq(lpm_delete(t, ip(10, 0, 0, 0), 8), -PM_ENOENT);
    add_ok(t, ip(10, 0, 0, 0), 8, 1);
    cr_assert_eq(lpm_delete(t, ip(10, 0, 0, 0), 9), -PM_ENOENT, "same prefix, other depth");
    cr_assert_eq(lpm_delete(t, ip(11, 0, 0, 0), 8), -PM_ENOENT, "same depth, other prefix");
    cr_assert_eq(lpm_delete(t, ip(10, 0, 0, 0), 33), -PM_ENOENT);
    delete_ok(t, ip(10, 0, 0, 0), 8);
    cr_assert_eq(lpm_delete(t, ip(10, 0, 0, 0), 8), -PM_ENOENT, "deleted twice");
}

Test(lpm, add_rejects_depth_over_32_and_next_hop_over_24_bits)
{
    struct lpm *t = lpm_new(16);
    struct lpm_stats st;

    cr_assert_eq(lpm_add(t, ip(10, 0, 0, 0), 33, 1), -PM_EINVAL);
    cr_assert_eq(lpm_add(t, ip(10, 0, 0, 0), 255, 1), -PM_EINVAL);
    cr_assert_eq(lpm_add(t, ip(10, 0, 0, 0), 8, LPM_MAX_NEXT_HOP + 1), -PM_EINVAL);
    cr_assert_eq(lpm_add(t, ip(10, 0, 0, 0), 8, 0xffffffff), -PM_EINVAL);
    lpm_get_stats(t, &st);
    cr_assert_eq(st.nb_routes, 0);
    expect_miss(t, ip(10, 0, 0, 0));

    add_ok(t, ip(10, 0, 0, 0), 8, LPM_MAX_NEXT_HOP);
    add_ok(t, ip(10, 1, 1, 1), 32, 0);
    expect_hop(t, ip(10, 0, 0, 0), LPM_MAX_NEXT_HOP);
    expect_hop(t, ip(10, 1, 1, 1), 0);
}

Test(lpm, max_routes_reached_is_enospc_but_replace_still_works)
{
    struct lpm *t = lpm_new(3);

    add_ok(t, ip(10, 0, 0, 0), 8, 1);
    add_ok(t, ip(10, 1, 0, 0), 16, 2);
    add_ok(t, ip(10, 1, 1, 0), 24, 3);
    cr_assert_eq(lpm_add(t, ip(10, 1, 1, 1), 32, 4), -PM_ENOSPC);
    expect_hop(t, ip(10, 1, 1, 1), 3);
    add_ok(t, ip(10, 1, 1, 0), 24, 5);
    expect_hop(t, ip(10, 1, 1, 1), 5);
    delete_ok(t, ip(10, 0, 0, 0), 8);
    add_ok(t, ip(10, 1, 1, 1), 32, 4);
    expect_hop(t, ip(10, 1, 1, 1), 4);
}

Test(lpm, create_refuses_null_memory_and_a_region_below_the_fixed_part)
{
    static uint8_t small[4096];

    cr_assert_null(lpm_create(NULL, 1 << 20, 16));
    cr_assert_null(lpm_create(small, sizeof(small), 16));
    cr_assert_gt(lpm_mem_bytes(1000), lpm_mem_bytes(10));
}

/* lpm_mem_bytes and lpm_create choose by max_routes; the _layout calls
 * follow the caller, and refuse what they do not know. The region sizes
 * tell the layouts apart: the direct one has 16 MiB of codes, the compact
 * one two 1 KiB nodes per route and no codes. */
Test(lpm, layout_is_chosen_by_size_or_by_the_caller)
{
    const size_t codes = (size_t)1 << 24;
    static uint8_t small[4096];

    cr_assert_eq(lpm_mem_bytes_layout(1000, LPM_LAYOUT_AUTO), lpm_mem_bytes(1000));
    cr_assert_eq(lpm_mem_bytes_layout(1000, LPM_LAYOUT_COMPACT), lpm_mem_bytes(1000));
    cr_assert_lt(lpm_mem_bytes(1000), codes);
    cr_assert_gt(lpm_mem_bytes_layout(1000, LPM_LAYOUT_DIRECT), codes);
    cr_assert_gt(lpm_mem_bytes(LPM_DIRECT_MIN_ROUTES), codes);
    cr_assert_eq(lpm_mem_bytes_layout(LPM_DIRECT_MIN_ROUTES, LPM_LAYOUT_DIRECT),
                 lpm_mem_bytes(LPM_DIRECT_MIN_ROUTES));
    cr_assert_geq(lpm_mem_bytes_layout(LPM_DIRECT_MIN_ROUTES, LPM_LAYOUT_COMPACT),
                  (size_t)LPM_DIRECT_MIN_ROUTES * 2048);
    cr_assert_lt(lpm_mem_bytes_layout(LPM_DIRECT_MIN_ROUTES, LPM_LAYOUT_COMPACT),
                 (size_t)LPM_DIRECT_MIN_ROUTES * 2048 + codes / 16);
    /* past 2^19 routes its worst case would not fit node offsets */
    cr_assert_gt(lpm_mem_bytes_layout(1u << 19, LPM_LAYOUT_COMPACT), 0);
    cr_assert_eq(lpm_mem_bytes_layout((1u << 19) + 1, LPM_LAYOUT_COMPACT), 0);
    cr_assert_gt(lpm_mem_bytes_layout((1u << 19) + 1, LPM_LAYOUT_AUTO), codes);
    cr_assert_eq(lpm_mem_bytes_layout(1000, (enum lpm_layout)7), 0);
    cr_assert_null(lpm_create_layout(small, sizeof(small), 16, (enum lpm_layout)7));
    cr_assert_null(lpm_create_layout(NULL, 1 << 20, 16, LPM_LAYOUT_COMPACT));
}

/* The direct layout's codes do not fit in a compact table's region. */
Test(lpm, direct_layout_refuses_a_compact_sized_region)
{
    size_t bytes = lpm_mem_bytes(1000);

    region = malloc(bytes);
    cr_assert_not_null(region);
    cr_assert_null(lpm_create_layout(region, bytes, 1000, LPM_LAYOUT_DIRECT));
    cr_assert_not_null(lpm_create_layout(region, bytes, 1000, LPM_LAYOUT_COMPACT));
}

Test(lpm, lookup_bulk_agrees_with_single_lookups)
{
    struct lpm *t = lpm_new(64);
    uint32_t addrs[77], hops[77];

    add_ok(t, ip(10, 0, 0, 0), 8, 1);
    add_ok(t, ip(10, 1, 0, 0), 20, 2);
    add_ok(t, ip(10, 1, 2, 0), 24, 3);
    add_ok(t, ip(10, 1, 2, 64), 26, 4);
    add_ok(t, ip(10, 1, 2, 65), 32, 5);
    for (unsigned i = 0; i < 77; i++)
        addrs[i] = ip(10, (i % 3), 2, 40 + i);
    addrs[76] = ip(11, 0, 0, 0);
    memset(hops, 0x55, sizeof(hops));
    lpm_lookup_bulk(t, addrs, hops, 77);   /* two full groups and a partial one */
    for (unsigned i = 0; i < 77; i++) {
        uint32_t nh;

        if (lpm_lookup(t, addrs[i], &nh) == 0)
            cr_assert_eq(hops[i], nh, "addr %u: bulk %u, single %u", i, hops[i], nh);
        else
            cr_assert_eq(hops[i], LPM_NO_ROUTE, "addr %u: bulk %u, want a miss", i, hops[i]);
    }
    cr_assert_eq(hops[76], LPM_NO_ROUTE);
    lpm_lookup_bulk(t, addrs, hops, 0);
}

struct walk_seen {
    unsigned nb;
    uint32_t sum;
};

static void count_route(void *ctx, uint32_t prefix, uint8_t depth, uint32_t next_hop)
{
    struct walk_seen *seen = ctx;

    seen->nb++;
    seen->sum += prefix ^ depth ^ next_hop;
}

Test(lpm, walk_visits_each_route_once)
{
    struct lpm *t = lpm_new(16);
    struct walk_seen seen = { 0, 0 };

    add_ok(t, ip(10, 0, 0, 0), 8, 1);
    add_ok(t, ip(10, 1, 0, 0), 16, 2);
    add_ok(t, ip(10, 1, 1, 1), 32, 3);
    delete_ok(t, ip(10, 1, 0, 0), 16);
    add_ok(t, ip(10, 1, 1, 1), 32, 4);
    lpm_walk(t, count_route, &seen);
    cr_assert_eq(seen.nb, 2);
    cr_assert_eq(seen.sum, (ip(10, 0, 0, 0) ^ 8 ^ 1) + (ip(10, 1, 1, 1) ^ 32 ^ 4));
}

/* ---- memory ------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Routes in distinct /16s are one L2 node each, /25+ also one L3 node. */
static uint32_t isolated_prefix(unsigned i)
{
    return (uint32_t)i << 16 | 0x0542;
}

Test(lpm, region_exhaustion_is_enomem_and_the_table_keeps_answering)
{
    /* room for 80 nodes of 16 lines: about 40 routes of two nodes each */
    struct lpm *t = lpm_with_heap_lines(1000, 80 * 16);
    unsigned nb_added = 0;
    struct lpm_stats before, after;
    int rc = 0;

    add_ok(t, 0, 0, 77);
    while (nb_added < 1000) {
        rc = lpm_add(t, isolated_prefix(nb_added), 32, nb_added);
        if (rc != 0)
            break;
        nb_added++;
    }
    cr_assert_eq(rc, -PM_ENOMEM, "got %d after %u routes", rc, nb_added);
    cr_assert_gt(nb_added, 30);
    lpm_get_stats(t, &before);
    cr_assert_eq(before.nb_routes, nb_added + 1, "the refused route is not kept");
    cr_assert_leq(before.mem_used, before.mem_total);

    for (unsigned i = 0; i < nb_added; i++)
        expect_hop(t, isolated_prefix(i), i);
    expect_hop(t, isolated_prefix(nb_added), 77);
    expect_hop(t, isolated_prefix(3) + 1, 77);

    /* routes that need no node still go in; shorter ones keep the nodes */
    add_ok(t, ip(10, 0, 0, 0), 8, 5);
    add_ok(t, ip(10, 0, 0, 0), 16, 6);
    cr_assert_eq(lpm_add(t, isolated_prefix(nb_added), 32, 1), -PM_ENOMEM, "still full");
    lpm_get_stats(t, &after);
    cr_assert_eq(after.mem_used, before.mem_used);

    /* freeing one route makes room for one more */
    delete_ok(t, isolated_prefix(0), 32);
    add_ok(t, isolated_prefix(nb_added), 32, 1);
    expect_hop(t, isolated_prefix(nb_added), 1);
    expect_hop(t, isolated_prefix(0), 77);
    for (unsigned i = 1; i < nb_added; i++)
        expect_hop(t, isolated_prefix(i), i);
}

/* The worst case lpm_mem_bytes is sized for: every route a /32 alone in its
 * /16, i.e. one L2 and one L3 node per route. */
/* n /32s, each alone in its /16: the compact layout's worst case (two
 * nodes per route), or in the direct layout one node per route, far past
 * its node budget of n / 5 lines. */
static void isolated_host_routes(uint32_t n)
{
    struct lpm *t = lpm_new(n);
    struct lpm_stats st;

    for (uint32_t i = 0; i < n; i++)
        add_ok(t, isolated_prefix(i) + (i & 0xff), 32, i);
    lpm_get_stats(t, &st);
    cr_assert_leq(st.mem_used, st.mem_total);
    for (uint32_t i = 0; i < n; i++) {
        expect_hop(t, isolated_prefix(i) + (i & 0xff), i);
        expect_miss(t, isolated_prefix(i) + ((i + 1) & 0xff));
    }
}

Test(lpm, isolated_host_routes_fit_in_lpm_mem_bytes)
{
    isolated_host_routes(LPM_DIRECT_MIN_ROUTES - 1);
}

Test(lpm, direct_layout_host_routes_past_its_node_budget_still_match)
{
    isolated_host_routes(20000);
}

Test(lpm, emptied_table_returns_all_node_memory)
{
    struct lpm *t = lpm_new(2000);
    struct lpm_stats empty, full, again;
    uint64_t s = 42;

    lpm_get_stats(t, &empty);
    for (unsigned round = 0; round < 2; round++) {
        uint32_t pfx[2000];
        uint8_t dep[2000];

        s = 42;
        for (unsigned i = 0; i < 2000; i++) {
            uint64_t r = splitmix64(&s);

            dep[i] = (uint8_t)(r % 33);
            pfx[i] = (uint32_t)(r >> 32) & mask(dep[i]);
            lpm_add(t, pfx[i], dep[i], i);
        }
        lpm_get_stats(t, &full);
        cr_assert_gt(full.mem_used, empty.mem_used);
        for (unsigned i = 0; i < 2000; i++)
            lpm_delete(t, pfx[i], dep[i]);    /* duplicates: ENOENT, fine */
        lpm_get_stats(t, &again);
        cr_assert_eq(again.nb_routes, 0);
        cr_assert_eq(again.mem_used, empty.mem_used, "round %u: %zu bytes left over", round,
                     again.mem_used - empty.mem_used);
    }
    expect_miss(t, ip(10, 1, 2, 3));
}

/* Compact layout nodes are all one size (16 lines): a freed node is handed
 * out again wherever it lies, without compaction. A full region takes new
 * routes, in other /16s, as soon as old ones go. */
Test(lpm, freed_nodes_are_reused_for_routes_elsewhere)
{
    struct lpm *t = lpm_with_heap_lines(400, 2 * 16 * 100);
    const uint32_t dense = ip(250, 1, 0, 0);
    unsigned nb_full = 0, nb_again, free_nodes;
    struct lpm_stats st;

    /* each isolated /28 takes an L2 and an L3 node */
    while (lpm_add(t, isolated_prefix(nb_full), 28, nb_full) == 0)
        nb_full++;
    cr_assert_geq(nb_full, 99);
    for (unsigned i = 0; i < nb_full; i += 2)
        delete_ok(t, isolated_prefix(i), 28);
    /* every other /24 of one /16, each with its own next hop: one L2 node */
    for (unsigned k = 0; k < 128; k++)
        add_ok(t, dense | k << 9, 24, 5000 + k);
    /* every free node, wherever it lies, takes part in isolated routes again */
    lpm_get_stats(t, &st);
    free_nodes = (unsigned)((st.mem_total - st.mem_used) / 1024);
    cr_assert_geq(free_nodes, nb_full - 1);
    nb_again = nb_full;
    while (lpm_add(t, isolated_prefix(nb_again), 28, nb_again) == 0)
        nb_again++;
    cr_assert_eq(nb_again - nb_full, free_nodes / 2, "%u routes in %u free nodes",
                 nb_again - nb_full, free_nodes);
    for (unsigned k = 0; k < 128; k++) {
        expect_hop(t, dense | k << 9 | 7, 5000 + k);
        expect_miss(t, dense | k << 9 | 1u << 8);
    }
    for (unsigned i = 0; i < nb_again; i++) {
        if (i % 2 || i >= nb_full)
            expect_hop(t, isolated_prefix(i), i);
        else
            expect_miss(t, isolated_prefix(i));
    }
}

/* The image's table: CONFIG_MAX_ROUTES routes and one per port, all /32s
 * alone in their /16 (two nodes each, the worst case), in a region of
 * exactly lpm_mem_bytes, which must stay well inside the image's 7.5 MiB
 * kernel heap. */
Test(lpm, image_worst_case_1032_host_routes_fit_and_stay_small)
{
    const uint32_t n = 1024 + 8;
    struct lpm *t = lpm_new_layout(n, LPM_LAYOUT_COMPACT);
    struct lpm_stats empty, st;

    cr_assert_lt(lpm_mem_bytes_layout(n, LPM_LAYOUT_COMPACT), (size_t)3 << 20);
    lpm_get_stats(t, &empty);
    for (uint32_t i = 0; i < n; i++)
        add_ok(t, isolated_prefix(i) + (i & 0xff), 32, i);
    cr_assert_eq(lpm_add(t, ip(10, 0, 0, 0), 8, 1), -PM_ENOSPC);
    lpm_get_stats(t, &st);
    cr_assert_eq(st.mem_used - empty.mem_used, (size_t)n * 2 * 1024, "two 1 KiB nodes a route");
    cr_assert_leq(st.mem_used, st.mem_total);
    for (uint32_t i = 0; i < n; i++) {
        expect_hop(t, isolated_prefix(i) + (i & 0xff), i);
        expect_miss(t, isolated_prefix(i) + ((i + 1) & 0xff));
    }
    /* a delete never needs memory: each route can go and come back */
    for (uint32_t i = 0; i < n; i += 3) {
        delete_ok(t, isolated_prefix(i) + (i & 0xff), 32);
        expect_miss(t, isolated_prefix(i) + (i & 0xff));
        add_ok(t, isolated_prefix(i) + (i & 0xff), 32, i + 1);
        expect_hop(t, isolated_prefix(i) + (i & 0xff), i + 1);
    }
}

/* Deep prefixes /17../32 nested at one /24 boundary and at one /16
 * boundary, with a /16 and a /24 around them: each address answers its
 * longest route, and deleting the routes in a scrambled order hands every
 * address back to the next-longest one left. */
static void nested_at(uint32_t base)
{
    struct lpm *t = lpm_new(64);
    bool present[33] = { false };
    const unsigned order[] = { 24, 32, 17, 28, 20, 31, 25, 16, 29, 18, 26, 22,
                               30, 19, 27, 21, 23 };

    for (unsigned d = 16; d <= 32; d++) {
        add_ok(t, base, (uint8_t)d, 100 + d);
        present[d] = true;
    }
    add_ok(t, base ^ 0x80000000u, 1, 7);   /* an unrelated route elsewhere */
    for (unsigned k = 0; k <= sizeof(order) / sizeof(order[0]); k++) {
        for (unsigned bit = 0; bit <= 16; bit++) {
            /* base with bit (from the bottom) flipped: inside /d for d <= 31 - bit */
            uint32_t a = bit == 16 ? base : base ^ (1u << bit);
            int best = -1;

            for (unsigned d = 16; d <= 32; d++) {
                if (present[d] && ((a ^ base) & mask(d)) == 0)
                    best = (int)d;
            }
            if (best < 0)
                expect_miss(t, a);
            else
                expect_hop(t, a, 100 + (uint32_t)best);
        }
        if (k < sizeof(order) / sizeof(order[0])) {
            delete_ok(t, base, (uint8_t)order[k]);
            present[order[k]] = false;
        }
    }
    expect_hop(t, base ^ 0x80000000u, 7);
}

Test(lpm, deep_prefixes_nest_at_a_24_boundary_and_unwind)
{
    nested_at(ip(10, 1, 2, 0));
}

Test(lpm, deep_prefixes_nest_at_a_16_boundary_and_unwind)
{
    nested_at(ip(10, 1, 0, 0));
}

Test(lpm, deep_prefixes_nest_in_the_last_24_of_a_16_and_unwind)
{
    nested_at(ip(10, 1, 255, 0));
}

/* ---- randomized against a reference ------------------------------------- */

#define REF_SLOTS (1u << 16)    /* >= 4 x the routes it holds */
#define REF_EMPTY -1

struct ref_route {
    uint32_t prefix;
    uint32_t depth;
    uint32_t next_hop;
};

/* The model: a list of routes and an open-addressed index (prefix, depth)
 * -> position in the list (linear probing, backward-shift deletion). */
struct ref {
    struct ref_route routes[REF_SLOTS / 4];
    unsigned nb;
    int32_t index[REF_SLOTS];
};

static unsigned ref_home(uint32_t prefix, uint32_t depth)
{
    uint64_t h = ((uint64_t)prefix << 6 | depth) * 0x9E3779B97F4A7C15ull;

    return (unsigned)(h >> 48);
}

/* The slot holding prefix/depth, or the empty slot where it would go. */
static unsigned ref_slot(const struct ref *m, uint32_t prefix, uint32_t depth)
{
    unsigned i = ref_home(prefix, depth);

    while (m->index[i] != REF_EMPTY) {
        const struct ref_route *r = &m->routes[m->index[i]];

        if (r->prefix == prefix && r->depth == depth)
            break;
        i = (i + 1) & (REF_SLOTS - 1);
    }
    return i;
}

static void ref_init(struct ref *m)
{
    m->nb = 0;
    for (unsigned i = 0; i < REF_SLOTS; i++)
        m->index[i] = REF_EMPTY;
}

static void ref_add(struct ref *m, uint32_t prefix, uint32_t depth, uint32_t nh)
{
    unsigned i = ref_slot(m, prefix, depth);

    if (m->index[i] == REF_EMPTY) {
        m->routes[m->nb] = (struct ref_route){ prefix, depth, nh };
        m->index[i] = (int32_t)m->nb++;
    } else {
        m->routes[m->index[i]].next_hop = nh;
    }
}

static void ref_delete(struct ref *m, uint32_t prefix, uint32_t depth)
{
    unsigned hole = ref_slot(m, prefix, depth);
    unsigned pos = (unsigned)m->index[hole], j = hole;
    struct ref_route *last = &m->routes[m->nb - 1];

    /* the last route takes the deleted one's place in the list */
    m->index[ref_slot(m, last->prefix, last->depth)] = (int32_t)pos;
    m->routes[pos] = *last;
    m->nb--;
    /* backward shift: pull later entries of the probe run into the hole */
    for (;;) {
        unsigned home;

        j = (j + 1) & (REF_SLOTS - 1);
        if (m->index[j] == REF_EMPTY)
            break;
        home = ref_home(m->routes[m->index[j]].prefix, m->routes[m->index[j]].depth);
        if (((j - home) & (REF_SLOTS - 1)) >= ((j - hole) & (REF_SLOTS - 1))) {
            m->index[hole] = m->index[j];
            hole = j;
        }
    }
    m->index[hole] = REF_EMPTY;
}

static int64_t ref_lookup(const struct ref *m, uint32_t addr)
{
    for (int d = 32; d >= 0; d--) {
        unsigned i = ref_slot(m, addr & mask((unsigned)d), (uint32_t)d);

        if (m->index[i] != REF_EMPTY)
            return m->routes[m->index[i]].next_hop;
    }
    return -1;
}

static int64_t ref_lookup_linear(const struct ref *m, uint32_t addr)
{
    int best = -1;
    int64_t nh = -1;

    for (unsigned i = 0; i < m->nb; i++) {
        const struct ref_route *r = &m->routes[i];

        if ((addr & mask(r->depth)) == r->prefix && (int)r->depth > best) {
            best = (int)r->depth;
            nh = r->next_hop;
        }
    }
    return nh;
}

/* Routes shorter than this become this long: a route of /d writes 2^(24-d)
 * codes in the direct layout (as in rte_lpm's tbl24), too slow under ASan
 * for thousands of /0-/11. */
static unsigned random_min_depth;

/* Depths weighted towards /16-/32 with some short ones; 40% of the prefixes
 * inside 10.0.0.0/12 so nodes there get dense and deeply nested; next hops
 * often from a handful of values so equal neighbours merge into runs. */
static struct ref_route random_route(uint64_t *s)
{
    uint64_t r = splitmix64(s);
    unsigned pick = r % 100;
    struct ref_route route;

    route.depth = pick < 4 ? (r >> 8) % 8 : pick < 14 ? 8 + (r >> 8) % 8 :
                  pick < 40 ? 16 + (r >> 8) % 8 : pick < 75 ? 24 : 25 + (r >> 8) % 8;
    if (route.depth < random_min_depth)
        route.depth = random_min_depth + route.depth % 4;
    route.prefix = (uint32_t)(r >> 32);
    if ((r >> 16) % 10 < 4)
        route.prefix = ip(10, 0, 0, 0) | (route.prefix & 0x000fffff);
    route.prefix &= mask(route.depth);
    route.next_hop = (r >> 20) % 2 ? (r >> 24) % 4 : (uint32_t)(r >> 24) & LPM_MAX_NEXT_HOP;
    return route;
}

/* One update: mostly adds while below target, else an even mix. */
static void random_update(struct lpm *t, struct ref *m, uint64_t *s, unsigned target)
{
    uint64_t r = splitmix64(s);
    unsigned pick = r % 100;

    if (m->nb > 0 && (pick < 20 || (m->nb >= target && pick < 55))) {
        struct ref_route victim = m->routes[(r >> 8) % m->nb];

        delete_ok(t, victim.prefix, (uint8_t)victim.depth);
        ref_delete(m, victim.prefix, victim.depth);
        cr_assert_eq(lpm_delete(t, victim.prefix, (uint8_t)victim.depth), -PM_ENOENT);
    } else if (m->nb > 0 && pick < 30) {
        struct ref_route *old = &m->routes[(r >> 8) % m->nb];
        uint32_t nh = (uint32_t)(r >> 40) % 4;

        add_ok(t, old->prefix, (uint8_t)old->depth, nh);
        ref_add(m, old->prefix, old->depth, nh);
    } else {
        struct ref_route n = random_route(s);

        add_ok(t, n.prefix, (uint8_t)n.depth, n.next_hop);
        ref_add(m, n.prefix, n.depth, n.next_hop);
    }
}

/* Half uniform, half inside a random installed route. */
static uint32_t random_addr(const struct ref *m, uint64_t *s)
{
    uint64_t r = splitmix64(s);
    const struct ref_route *route;

    if ((r & 1) || m->nb == 0)
        return (uint32_t)(r >> 32);
    route = &m->routes[(r >> 1) % m->nb];
    return route->prefix | ((uint32_t)(r >> 32) & ~mask(route->depth));
}

static void expect_as_ref(const struct ref *m, uint32_t addr, uint32_t got)
{
    int64_t want = ref_lookup(m, addr);

    if (want < 0)
        cr_assert_eq(got, LPM_NO_ROUTE, "%08x: next hop %u, want none", addr, got);
    else
        cr_assert_eq(got, (uint32_t)want, "%08x: next hop %u, want %lld", addr, got,
                     (long long)want);
}

/* target routes in t, updates interleaved with nb_lookups lookups, then
 * deleted one by one. */
static void random_run(struct lpm *t, unsigned target, unsigned nb_lookups, uint64_t s)
{
    const unsigned batch = 1000;
    static struct ref model;
    struct lpm_stats st, empty;

    lpm_get_stats(t, &empty);
    ref_init(&model);
    while (model.nb < target)
        random_update(t, &model, &s, target);
    for (unsigned i = 0; i < 10000; i++) {
        uint32_t a = random_addr(&model, &s);

        cr_assert_eq(ref_lookup(&model, a), ref_lookup_linear(&model, a),
                     "the model disagrees with itself at %08x", a);
    }
    for (unsigned done = 0; done < nb_lookups; done += batch) {
        uint32_t addrs[1000], hops[1000];

        for (unsigned i = 0; i < batch; i++)
            addrs[i] = random_addr(&model, &s);
        if ((done / batch) % 2) {
            /* calls of 1..40 addresses: every remainder of a group */
            for (unsigned i = 0, len; i < batch; i += len) {
                len = 1 + (i + done / batch) % 40;
                len = len < batch - i ? len : batch - i;
                lpm_lookup_bulk(t, addrs + i, hops + i, len);
            }
        } else {
            for (unsigned i = 0; i < batch; i++) {
                if (lpm_lookup(t, addrs[i], &hops[i]) != 0)
                    hops[i] = LPM_NO_ROUTE;
            }
        }
        for (unsigned i = 0; i < batch; i++)
            expect_as_ref(&model, addrs[i], hops[i]);
        for (unsigned u = 0; u < 50; u++)
            random_update(t, &model, &s, target);
    }
    lpm_get_stats(t, &st);
    cr_assert_eq(st.nb_routes, model.nb);

    /* and down to nothing again */
    while (model.nb > 0) {
        struct ref_route victim = model.routes[splitmix64(&s) % model.nb];

        delete_ok(t, victim.prefix, (uint8_t)victim.depth);
        ref_delete(&model, victim.prefix, victim.depth);
        if (model.nb % 1000 == 0) {
            for (unsigned i = 0; i < 1000; i++) {
                uint32_t a = (uint32_t)splitmix64(&s), nh;

                expect_as_ref(&model, a, lpm_lookup(t, a, &nh) ? LPM_NO_ROUTE : nh);
            }
        }
    }
    expect_miss(t, ip(10, 1, 2, 3));
    lpm_get_stats(t, &st);
    cr_assert_eq(st.mem_used, empty.mem_used, "emptied: %zu bytes, empty %zu", st.mem_used,
                 empty.mem_used);
}

Test(lpm, random_table_matches_a_reference_through_updates, .timeout = 60)
{
    random_run(lpm_new(11000), 10000, 1000000, 0x5eed1e55);
}

/* The direct layout, in a region of lpm_mem_bytes: half the next hops are
 * random 24-bit values, far more than the codes, so the side table fills
 * and /24s also go to the slow path; the other half share 4 codes, which
 * are freed and taken again as routes come and go. */
Test(lpm, direct_layout_matches_a_reference_through_updates, .timeout = 60)
{
    random_min_depth = 12;
    random_run(lpm_new(LPM_DIRECT_MIN_ROUTES), 10000, 1000000, 0xd12ec7);
}

/* The direct layout asked for by a small table: the side table and the
 * node budget scale with max_routes, so here they are small, and 1,800
 * routes, half of them with random next hops, run them full. */
Test(lpm, small_direct_table_matches_a_reference_through_updates, .timeout = 60)
{
    random_min_depth = 12;
    random_run(lpm_new_layout(2000, LPM_LAYOUT_DIRECT), 1800, 300000, 0x5d17ec7);
}

/* And the compact layout asked for by a table past LPM_DIRECT_MIN_ROUTES. */
Test(lpm, large_compact_table_matches_a_reference_through_updates, .timeout = 60)
{
    random_run(lpm_new_layout(LPM_DIRECT_MIN_ROUTES, LPM_LAYOUT_COMPACT), 10000, 300000,
               0xc0c0a);
}

/* The direct layout with a node heap of 8 lines: most /24 with routes
 * longer than /24 are answered from the rule store, and still right. */
Test(lpm, direct_layout_without_node_memory_still_matches, .timeout = 60)
{
    random_min_depth = 12;
    random_run(lpm_with_heap_lines(LPM_DIRECT_MIN_ROUTES, 8), 3000, 200000, 0x10e5);
}

/* The direct layout's codes: 300 /24s with 300 next hops need more than
 * its 254 codes (the rest go to the side table); deleted, they give their
 * codes back, and 300 new ones get them again. */
Test(lpm, direct_layout_codes_run_out_and_come_back)
{
    struct lpm *t = lpm_new(LPM_DIRECT_MIN_ROUTES);
    struct lpm_stats empty, st;

    lpm_get_stats(t, &empty);
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned i = 0; i < 300; i++)
            add_ok(t, ip(10, i / 256, i % 256, 0), 24, 1000 * (round + 1) + i);
        add_ok(t, ip(10, 0, 7, 128), 25, 77);
        for (unsigned i = 0; i < 300; i++) {
            expect_hop(t, ip(10, i / 256, i % 256, 1), 1000 * (round + 1) + i);
            expect_hop(t, ip(10, i / 256, i % 256, 255), i == 7 ? 77 : 1000 * (round + 1) + i);
        }
        expect_miss(t, ip(10, 2, 0, 0));
        for (unsigned i = 0; i < 300; i++)
            delete_ok(t, ip(10, i / 256, i % 256, 0), 24);
        expect_hop(t, ip(10, 0, 7, 200), 77);
        expect_miss(t, ip(10, 0, 7, 1));
        delete_ok(t, ip(10, 0, 7, 128), 25);
        for (unsigned i = 0; i < 300; i++)
            expect_miss(t, ip(10, i / 256, i % 256, 1));
        lpm_get_stats(t, &st);
        cr_assert_eq(st.mem_used, empty.mem_used);
    }
}

/* In the direct layout every route of /24 or shorter has the same rank, so
 * an add or delete of a short route must find the longer ones inside it in
 * the rule store and give them their /24s back. */
Test(lpm, direct_layout_short_routes_nest_and_unwind)
{
    struct lpm *t = lpm_new(LPM_DIRECT_MIN_ROUTES);

    add_ok(t, ip(10, 1, 5, 0), 24, 5);
    add_ok(t, ip(10, 1, 0, 0), 16, 1);
    add_ok(t, ip(10, 1, 0, 0), 20, 2);
    add_ok(t, ip(10, 1, 5, 64), 26, 6);
    add_ok(t, ip(10, 0, 0, 0), 8, 8);
    expect_hop(t, ip(10, 1, 5, 1), 5);
    expect_hop(t, ip(10, 1, 5, 70), 6);
    expect_hop(t, ip(10, 1, 6, 1), 2);
    expect_hop(t, ip(10, 1, 200, 1), 1);
    expect_hop(t, ip(10, 2, 0, 1), 8);
    add_ok(t, ip(10, 1, 0, 0), 16, 11);          /* replace under the /20 and /24 */
    expect_hop(t, ip(10, 1, 200, 1), 11);
    expect_hop(t, ip(10, 1, 6, 1), 2);
    expect_hop(t, ip(10, 1, 5, 1), 5);
    delete_ok(t, ip(10, 1, 0, 0), 20);
    expect_hop(t, ip(10, 1, 6, 1), 11);
    expect_hop(t, ip(10, 1, 5, 1), 5);
    delete_ok(t, ip(10, 1, 5, 0), 24);
    expect_hop(t, ip(10, 1, 5, 1), 11);
    expect_hop(t, ip(10, 1, 5, 70), 6);
    delete_ok(t, ip(10, 1, 0, 0), 16);
    expect_hop(t, ip(10, 1, 5, 1), 8);
    expect_hop(t, ip(10, 1, 5, 70), 6);
    delete_ok(t, ip(10, 0, 0, 0), 8);
    expect_miss(t, ip(10, 1, 5, 1));
    expect_hop(t, ip(10, 1, 5, 70), 6);
}

/* A region with room for only part of what the routes want: adds (and the
 * rare delete that splits a run) meet -PM_ENOMEM, the heap is compacted
 * again and again, and whatever was accepted must still match. */
static void tight_update(struct lpm *t, struct ref *m, uint64_t *s, unsigned *nb_enomem)
{
    uint64_t r = splitmix64(s);
    int rc;

    if (m->nb > 0 && r % 100 < 45) {
        struct ref_route victim = m->routes[(r >> 8) % m->nb];

        rc = lpm_delete(t, victim.prefix, (uint8_t)victim.depth);
        if (rc == 0)
            ref_delete(m, victim.prefix, victim.depth);
    } else {
        struct ref_route n = random_route(s);

        rc = lpm_add(t, n.prefix, (uint8_t)n.depth, n.next_hop);
        if (rc == 0)
            ref_add(m, n.prefix, n.depth, n.next_hop);
    }
    cr_assert(rc == 0 || rc == -PM_ENOMEM, "update: %d", rc);
    *nb_enomem += rc == -PM_ENOMEM;
}

Test(lpm, random_updates_in_a_tight_region_match_the_reference, .timeout = 60)
{
    const unsigned max_routes = 4000, heap_lines = 600;
    static struct ref model;
    struct lpm *t = lpm_with_heap_lines(max_routes, heap_lines);
    uint64_t s = 0x7165a7;
    unsigned nb_enomem = 0;
    struct lpm_stats st;

    ref_init(&model);
    for (unsigned round = 0; round < 200; round++) {
        for (unsigned u = 0; u < 100; u++)
            tight_update(t, &model, &s, &nb_enomem);
        for (unsigned i = 0; i < 500; i++) {
            uint32_t a = random_addr(&model, &s), nh;

            expect_as_ref(&model, a, lpm_lookup(t, a, &nh) ? LPM_NO_ROUTE : nh);
        }
    }
    lpm_get_stats(t, &st);
    cr_assert_eq(st.nb_routes, model.nb);
    cr_assert_leq(st.mem_used, st.mem_total);
    cr_assert_gt(nb_enomem, 100, "the region never ran out (%u)", nb_enomem);
}

/* ---- the WORKLOADS.md 100k table ---------------------------------------- */

#define WL_ROUTE_SEED 0x00C0FFEEull
#define WL_ADDR_SEED  0x0ADD2E55ull

/* WORKLOADS.md 1a. Seen (prefix, len) pairs go in an open-addressed set. */
static struct ref_route *wl_gen_routes(uint32_t n)
{
    const uint32_t nb_slots = 1u << 19;       /* >= 4 x n for n = 100,000 */
    struct ref_route *routes = malloc(n * sizeof(*routes));
    uint64_t *seen = calloc(nb_slots, sizeof(*seen));
    uint64_t s = WL_ROUTE_SEED;
    uint32_t nb = 0;

    cr_assert(routes && seen && n <= nb_slots / 4);
    while (nb < n) {
        uint64_t d1 = splitmix64(&s), d2 = splitmix64(&s);
        unsigned p = d1 % 1000, len;
        uint32_t addr, slot;
        uint64_t key;

        len = p < 600 ? 24 : p < 660 ? 23 : p < 720 ? 22 :
              p < 900 ? 16 + (d1 >> 32) % 6 : 25 + (d1 >> 32) % 8;
        addr = (uint32_t)(d2 >> 32) & mask(len);
        key = ((uint64_t)addr << 8 | len) + 1;   /* 0 marks an empty slot */
        slot = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 45);
        while (seen[slot] != 0 && seen[slot] != key)
            slot = (slot + 1) & (nb_slots - 1);
        if (seen[slot] == key)
            continue;
        seen[slot] = key;
        routes[nb++] = (struct ref_route){ addr, len, (uint32_t)(d2 & 0xff) };
    }
    free(seen);
    return routes;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

Test(lpm, workload_100k_table_fits_and_reproduces_the_check_figures, .timeout = 60)
{
    const uint32_t n = 100000, nb_addrs = 1u << 20;
    struct ref_route *routes = wl_gen_routes(n);
    uint8_t *touched = calloc(1u << 24, 1);
    struct lpm *t = lpm_new(n);
    uint64_t h = 0xcbf29ce484222325ull, s = WL_ADDR_SEED, hits = 0, sum = 0;
    struct lpm_stats st;

    for (uint32_t i = 0; i < n; i++) {
        uint8_t rec[6] = { (uint8_t)routes[i].prefix, (uint8_t)(routes[i].prefix >> 8),
                           (uint8_t)(routes[i].prefix >> 16), (uint8_t)(routes[i].prefix >> 24),
                           (uint8_t)routes[i].depth, (uint8_t)routes[i].next_hop };

        h = fnv1a(h, rec, sizeof(rec));
        add_ok(t, routes[i].prefix, (uint8_t)routes[i].depth, routes[i].next_hop);
    }
    cr_assert_eq(h, 0xfd7482a0cb4f0d9full, "routes_fnv %016llx", (unsigned long long)h);
    lpm_get_stats(t, &st);
    cr_assert_eq(st.nb_routes, n);
    cr_assert_leq(st.mem_used, st.mem_total);
    fprintf(stderr, "lpm: 100k WORKLOADS.md table: mem_used %zu bytes of lpm_mem_bytes %zu\n",
            st.mem_used, st.mem_total);

    /* the callgrind address stream: first 2^20 addresses, hits and nh_sum */
    cr_assert_not_null(touched);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = routes[i].prefix >> 8;
        uint32_t nb = routes[i].depth <= 24 ? 1u << (24 - routes[i].depth) : 1;

        for (uint32_t k = 0; k < nb; k++)
            touched[b + k] = 1;
    }
    for (uint32_t i = 0; i < nb_addrs; i++) {
        uint64_t d = splitmix64(&s);
        uint32_t a, nh;

        if (d >> 63 == 0) {
            const struct ref_route *r = &routes[(uint32_t)d % n];

            a = r->prefix | ((uint32_t)(splitmix64(&s) >> 32) & ~mask(r->depth));
        } else {
            do
                a = (uint32_t)(splitmix64(&s) >> 32);
            while (touched[a >> 8]);
        }
        if (lpm_lookup(t, a, &nh) == 0) {
            hits++;
            sum += nh;
        }
    }
    cr_assert_eq(hits, 524373, "hits %llu", (unsigned long long)hits);
    cr_assert_eq(sum, 66874457, "nh_sum %llu", (unsigned long long)sum);
    free(touched);
    free(routes);
}
