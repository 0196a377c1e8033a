/*
 * IPv4 longest-prefix match (DESIGN.md, Modes: router).
 *
 * Routes map a prefix (address/depth) to a 24-bit next-hop value chosen by
 * the caller (an index into its neighbour/next-hop table). The table lives
 * in memory the caller hands to lpm_create() and never allocates elsewhere.
 * Two layouts, picked from max_routes or by the caller (lpm_create_layout):
 * a compact one for small tables (and the image), and for 2^14 routes or
 * more a direct one with one byte per /24, for rte_lpm's lookup cost at a
 * quarter of its memory; see the comment at the top of lpm.c for the
 * design and why.
 * Addresses and prefixes are in host byte order.
 */
#ifndef PKTMETAL_NET_LPM_H
#define PKTMETAL_NET_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/errno.h"

#define LPM_MAX_NEXT_HOP 0xffffffu   /* 24 bits */
#define LPM_NO_ROUTE     0xffffffffu /* lookup_bulk's value for a miss */

struct lpm;

struct lpm_stats {
    uint32_t nb_routes;
    size_t mem_used;          /* bytes of the region in use by tables */
    size_t mem_total;         /* bytes of the region */
};

/* The layout a table is built with (the top of lpm.c compares them).
 * lpm_create and lpm_mem_bytes take LPM_LAYOUT_AUTO: compact below
 * LPM_DIRECT_MIN_ROUTES routes and in the image, direct from there on.
 * The _layout calls let a caller choose: LPM_LAYOUT_DIRECT for a small
 * table that can spend 16 MiB on it, or LPM_LAYOUT_COMPACT for a large one
 * whose routes are known to share their /16s and /24s (its worst case is
 * 2 KiB a route; refused past 2^19 routes). The image is built without the
 * direct layout: there it is refused (0 bytes, NULL table). */
enum lpm_layout {
    LPM_LAYOUT_AUTO,
    LPM_LAYOUT_COMPACT,
    LPM_LAYOUT_DIRECT,
};

/* Bytes lpm_create needs for max_routes routes. Compact layout: the worst
 * case the design allows, two 1 KiB nodes a route (a caller may give less
 * and get -PM_ENOMEM on add). Direct layout: 16 MiB of codes plus a budget for the rest; past it
 * lookups in the /24s concerned get slower, never wrong, and updates never
 * fail for memory. */
size_t lpm_mem_bytes(uint32_t max_routes);
/* Builds an empty table in [mem, mem+bytes). NULL if bytes is too small for
 * the fixed part. */
struct lpm *lpm_create(void *mem, size_t bytes, uint32_t max_routes);
/* The same for the given layout: lpm_mem_bytes_layout is 0 and
 * lpm_create_layout NULL for a layout this build does not have (or an
 * unknown one). */
size_t lpm_mem_bytes_layout(uint32_t max_routes, enum lpm_layout layout);
struct lpm *lpm_create_layout(void *mem, size_t bytes, uint32_t max_routes,
                              enum lpm_layout layout);
/* 0, -PM_EINVAL (depth > 32, next hop > LPM_MAX_NEXT_HOP), -PM_ENOMEM
 * (compact layout only), or -PM_ENOSPC (max_routes reached). Adding an
 * existing prefix replaces its next hop. A route of /d <= 24 in the direct
 * layout writes 2^(24-d) codes, as rte_lpm's tbl24 entries. */
int lpm_add(struct lpm *t, uint32_t prefix, uint8_t depth, uint32_t next_hop);
/* 0 or -PM_ENOENT (also for depth > 32). -PM_ENOMEM only in the compact
 * layout, when the region is smaller than lpm_mem_bytes(max_routes) and the
 * delete would grow a node; the table is then unchanged. */
int lpm_delete(struct lpm *t, uint32_t prefix, uint8_t depth);
/* 0 and *next_hop, or -PM_ENOENT. Inline: see below. */
static inline int lpm_lookup(const struct lpm *t, uint32_t addr, uint32_t *next_hop);
/* next_hops[i] is addrs[i]'s next hop, or LPM_NO_ROUTE. */
void lpm_lookup_bulk(const struct lpm *t, const uint32_t *addrs, uint32_t *next_hops, unsigned n);
void lpm_get_stats(const struct lpm *t, struct lpm_stats *out);
/* Calls fn for every route (prefix order unspecified); for `routes`. */
void lpm_walk(const struct lpm *t, void (*fn)(void *ctx, uint32_t prefix, uint8_t depth,
                                              uint32_t next_hop), void *ctx);

/* ---- the lookup, inline --------------------------------------------------
 *
 * A lookup is a handful of instructions, so it is inline as rte_lpm's is: a
 * call would cost as much again. What it reads is laid out here; lpm.c
 * explains the two layouts and owns every write.
 *
 * Entries (root slots, node slots, the direct layout's leaves), 32 bits:
 *
 *   leaf:      [ 1 | 0 | rank : 6 | next hop : 24 ]   (rank 0: no route)
 *   node:      [ 0 | byte offset of the node from the root, 64-aligned ]
 *
 * so one unsigned compare with LPM_ENTRY_NONE (the leaf of rank 0) sorts
 * an entry: above it a route's leaf, below it a node, equal no route.
 *
 * struct lpm starts with a struct lpm_front. In the compact layout (small
 * tables, and the image) codes is NULL and the lookup starts at root,
 * LPM_ROOT_SLOTS entries; a node there is 256 plain entries (LPM_NODE_SLOTS),
 * the slot's entry at node + 4 * slot, as rte_lpm's tbl8.
 *
 * In the direct layout (tables of LPM_DIRECT_MIN_ROUTES routes or more, or
 * asked for with LPM_LAYOUT_DIRECT; not in the image) codes[addr >> 8] is
 * one byte per /24 and the palette entry of that code is the answer: no route, a leaf, or (code 255) "look
 * further" for a /24 that holds routes longer than /24 or a leaf without a
 * code, which lpm_lookup_further_leaf() resolves (lpm.c) from a compressed
 * node: struct lpm_node, whose slot s holds
 * values[runs_before[s / 64] + popcount(run_starts[s / 64] bits 0..s % 64) - 1].
 * The test of the layout costs the compact layout's lookups two
 * instructions on the host.
 */
#define LPM_ROOT_SLOTS  (1u << 16)
#define LPM_NODE_SLOTS  256u
#define LPM_ENTRY_LEAF  0x80000000u  /* the tag bit: clear in a node entry */
#define LPM_ENTRY_NONE  LPM_ENTRY_LEAF /* the leaf of no route (rank 0) */
#define LPM_NB_CODES    256u
#define LPM_PALETTE_FURTHER 0xfffffffeu
#define LPM_DIRECT_MIN_ROUTES (1u << 14)

/* The image's kernel heap (7.5 MiB, kernel/mm.h) cannot hold the direct
 * layout's 16 MiB and its tables are for CONFIG_MAX_ROUTES + ports routes,
 * so the image is built without it: its lookups skip the layout test. */
#if defined(PKTMETAL_IMAGE)
#define LPM_HAVE_DIRECT 0
#else
#define LPM_HAVE_DIRECT 1
#endif

/* The direct layout does not use root for the match: its first slots hold
 * the palettes (lpm_palette) and the rest of lpm.c's state. */
struct lpm_front {
    uint32_t root[LPM_ROOT_SLOTS];
    const uint8_t *codes;
};

/* The direct layout's node (the compact layout's are plain arrays). */
struct lpm_node {
    uint64_t run_starts[4];         /* bit s: slot s starts a run */
    union {
        uint8_t runs_before[4];     /* runs started in the words before */
        uint32_t parent;            /* lpm.c's, while the heap is compacted */
    };
    uint32_t values[];              /* one per run; 7 share the first line */
};

/* The direct layout's answer for a /24 whose code is not in the palette
 * (lpm.c): a leaf, LPM_ENTRY_NONE or next hop << 8 | rank << 1 | 1. Out of
 * line: about 5% of lookups in WORKLOADS.md's 100k table come here (rte_lpm
 * reads a tbl8 for the same ones). */
uint32_t lpm_lookup_further_leaf(const struct lpm *t, uint32_t addr) __attribute__((pure));

/* The image is built for baseline x86-64 (qemu64 has no POPCNT) and may
 * not call libgcc's __popcountdi2, so the fallback is the SWAR sum. */
static inline unsigned lpm_popcount64(uint64_t x)
{
#if defined(__POPCNT__)
    return (unsigned)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}

static inline bool lpm_entry_is_node(uint32_t e)
{
    return e < LPM_ENTRY_NONE;
}

static inline uint32_t lpm_entry_next_hop(uint32_t e)
{
    return e & LPM_MAX_NEXT_HOP;
}

static inline const struct lpm_front *lpm_front(const struct lpm *t)
{
    return (const struct lpm_front *)(const void *)t;
}

static inline bool lpm_is_direct(const struct lpm_front *f)
{
    return LPM_HAVE_DIRECT && f->codes != NULL;
}

/* The direct layout's palettes: the answer for each code as a next hop
 * (LPM_NO_ROUTE, LPM_PALETTE_FURTHER) and as a leaf (0 for further). */
static inline const uint32_t *lpm_palette(const struct lpm_front *f)
{
    return f->root;
}

static inline const uint32_t *lpm_palette_leaf(const struct lpm_front *f)
{
    return f->root + LPM_NB_CODES;
}

/* The value of `slot` in the compressed node that entry e points at.
 * Shifting left by 63 - slot % 64 keeps the bits of slots 0..slot % 64 of
 * its word. */
static inline uint32_t lpm_node_value(const uint32_t *root, uint32_t e, unsigned slot)
{
    const struct lpm_node *n = (const struct lpm_node *)(const void *)((const uint8_t *)root + e);
    unsigned word = slot >> 6;
    uint64_t upto = n->run_starts[word] << (~slot & 63);

    return n->values[(size_t)n->runs_before[word] + lpm_popcount64(upto) - 1];
}

/* The compact layout's root slots hold their L2 node's entry biased so
 * that the node's slot for addr is read at root + 4 * (entry + addr / 256)
 * - LPM_ROOT_BIAS * 4 (one add, no mask of the slot's bits):
 *
 *   root entry = node offset / 4 + LPM_ROOT_BIAS - 256 * root slot
 *
 * which stays in 1..2^31 - 1 (a node entry) for offsets below 2^31. */
#define LPM_ROOT_BIAS (1u << 24)

static inline uint32_t lpm_root_node_slot(const uint32_t *root, uint32_t e, uint32_t addr)
{
    size_t idx = (size_t)e + (addr >> 8);

    return *(const uint32_t *)(const void *)((const uint8_t *)root +
                                             (idx * 4 - (size_t)LPM_ROOT_BIAS * 4));
}

/* The entry of `slot` in the compact layout's node that entry e (an L2
 * node's, unbiased) points at: one load. */
static inline uint32_t lpm_slot(const uint32_t *root, uint32_t e, uint8_t slot)
{
    return ((const uint32_t *)(const void *)((const uint8_t *)root + e))[slot];
}

/* lpm_lookup in the compact layout. Each entry read is sorted by one
 * compare with LPM_ENTRY_NONE: a miss in an empty /16 (the most common
 * answer) takes one test, a hit in an L2 node three before its read and
 * one after. */
static inline int lpm_lookup_compact(const struct lpm *t, uint32_t addr, uint32_t *next_hop)
{
    const uint32_t *root = lpm_front(t)->root;
    uint32_t e = root[addr >> 16];

    if (e == LPM_ENTRY_NONE)
        return -PM_ENOENT;
    if (e > LPM_ENTRY_NONE)
        goto hit;
    e = lpm_root_node_slot(root, e, addr);
    if (e > LPM_ENTRY_NONE)
        goto hit;
    if (e == LPM_ENTRY_NONE)
        return -PM_ENOENT;
    e = lpm_slot(root, e, (uint8_t)addr);
    if (e == LPM_ENTRY_NONE)
        return -PM_ENOENT;
hit:
    *next_hop = lpm_entry_next_hop(e);
    return 0;
}

static inline int lpm_lookup(const struct lpm *t, uint32_t addr, uint32_t *next_hop)
{
    const struct lpm_front *f = lpm_front(t);
    uint32_t e;

    if (!lpm_is_direct(f)) {
        return lpm_lookup_compact(t, addr, next_hop);
    } else {
        e = lpm_palette_leaf(f)[f->codes[addr >> 8]];
        /* A hit's leaf is above LPM_ENTRY_NONE and "further" (0) below
         * it: hits pass one test. */
        if (e <= LPM_ENTRY_NONE) {
            if (e == LPM_ENTRY_NONE)
                return -PM_ENOENT;
            e = lpm_lookup_further_leaf(t, addr);
            if (e == LPM_ENTRY_NONE)
                return -PM_ENOENT;
        }
        *next_hop = lpm_entry_next_hop(e);
        return 0;
    }
}

#endif
