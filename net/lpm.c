/*
 * IPv4 longest-prefix match (API and conventions in net/lpm.h).
 *
 * Two layouts, chosen by max_routes at lpm_create (lpm_mem_bytes sizes the
 * one that will be chosen), or by the caller with lpm_create_layout and
 * lpm_mem_bytes_layout:
 *
 * - compact (max_routes < LPM_DIRECT_MIN_ROUTES = 2^14, and always in the
 *   image): a 2^16 direct root over plain 256-slot nodes, "16-8-8".
 *   lpm_mem_bytes(1,032), its worst case, is 2.3 MB, what the image's
 *   kernel heap (7.5 MiB) can give.
 * - direct (max_routes >= 2^14, host builds only): one byte per /24, so
 *   that nearly every lookup is one read, as rte_lpm's tbl24, at a quarter
 *   of its size.
 *
 * ---- compact -------------------------------------------------------------
 *
 *   addr  [ 31 ........ 16 | 15 .... 8 | 7 ..... 0 ]
 *           root slot        L2 slot     L3 slot
 *
 *   root: 65536 x 4-byte entries (256 KiB)   entry = leaf | node | no route
 *   L2 node: the /16's 256 slots, one per /24        (allocated on demand)
 *   L3 node: the /24's 256 slots, one per address    (allocated on demand)
 *
 * A node is 256 plain entries (1 KiB, 16 lines), as rte_lpm's tbl8: a step
 * is one load. A root slot holds its L2 node's offset biased by the slot
 * (lpm.h, LPM_ROOT_BIAS) so that the step is root[entry + addr / 256], one
 * add. The lookup sorts each entry with one compare (hit, no route, node).
 * This layout used to compress its nodes (runs of equal slots, a bitmap and
 * a popcount: a node with a few routes in one line); that step cost ~11
 * instructions against tbl8's 4, and a lookup in the 1k table 22 against
 * rte_lpm's 16.3. Since the layout only serves tables below 2^14 routes
 * now, the memory is spent on plain nodes instead (at most 2 KiB a route).
 *
 * Why not DIR-24-8 for small tables: rte_lpm's tbl24 is 64 MiB whatever the
 * table holds, and the image has 7.5 MiB. An update rewrites at most one L2
 * and one L3 node in place (routes longer than /16), or edits in place the
 * nodes under the root slots of a /16-or-shorter route; it allocates a node
 * only where a leaf becomes one.
 *
 * Entries (root slots and node slots), 32 bits (lpm.h):
 *
 *   leaf:      [ 1 | 0 | rank : 6 | next hop : 24 ]
 *   node:      [ 0 | byte offset of the node from root[0] (64-aligned);
 *                in a root slot biased, see above ]
 *   no route:  0x80000000 (the leaf of rank 0)
 *
 * rank is depth + 1 of the route that owns the slot (0: no route). It is
 * what rte_lpm keeps as "depth" in each entry: an add overwrites slots whose
 * rank is at most its own (shorter or equal routes), a delete rewrites the
 * slots that carry exactly its rank with the next-longest covering route
 * from the rule store. A node's content is therefore a function of the set
 * of routes alone, which is what the memory bound below rests on.
 *
 * Memory, all of it from the region given to lpm_create:
 *
 *   | struct lpm, root[] at its start | rules: max_routes x 12 B | hash buckets | node heap |
 *
 * The rule store (prefix, depth, next hop) is a hash table keyed by prefix
 * and depth; a delete finds the covering route by probing depths d-1..0.
 * The node heap hands out runs of 64-byte lines: a free list per size plus
 * a bump pointer. The compact layout's nodes are all 16 lines, so a freed
 * node is reused as it is and the heap never needs compacting (the direct
 * layout's compressed nodes, of 1..17 lines, do).
 *
 * Worst case: an L2 node exists only for a /16 holding a route longer than
 * /16, an L3 node only for a /24 holding one longer than /24, so there are
 * at most 2 nodes (2 KiB) per route, whatever the order of updates.
 * lpm_mem_bytes() reserves exactly that, so with a region of that size
 * neither add nor delete ever fails for memory (the unit tests fill it
 * with 1,032 isolated /32s). A smaller region works until the heap is
 * full: then an add (or a delete that turns a leaf back into a node)
 * returns -PM_ENOMEM and leaves the table as it was. Past 2^19 routes the
 * worst case would not fit 31-bit node offsets: the layout is refused.
 *
 * ---- direct --------------------------------------------------------------
 *
 *   codes[addr >> 8]: 2^24 bytes (16 MiB), one code per /24
 *     0         no route in the /24
 *     1..254    the whole /24 has one leaf: palette[code]
 *     255       further: routes longer than /24 in it, or a leaf no code
 *               was left for; the side table has it
 *   palette:    code -> next hop (bulk) and code -> leaf (lpm_lookup), in
 *               the first 2 KiB of the root, which this layout does not
 *               otherwise use (nor does it need root slots: the rest of the
 *               root holds this layout's state, struct direct)
 *   side table: /24 -> leaf or L3 node (the compact layout's node format,
 *               from the same heap); open addressing, linear probing, one
 *               line per probe ((key, value) pairs), at most half full
 *
 * A code stands for one leaf; codes are handed out as leaves appear and
 * taken back when no /24 uses them (reference counts), so any 254 distinct
 * leaves have one. WORKLOADS.md's next hops 0..255 need 256: the two
 * without a code are side table leaves (0.35% of the lookups of the 100k
 * table).
 *
 * Ranks: every route of /24 or shorter has the one rank RANK_SHORT, routes
 * longer than /24 have depth + 1 (their leaves live in L3 nodes), no route
 * 0. An add or delete of a route longer than /24 works on its /24's L3 node
 * as in the compact layout. A route of /d <= 24 rewrites every /24 under it
 * whose content came from a route of /24 or shorter (rank <= RANK_SHORT,
 * and palette codes), then the routes of /d+1../24 inside it, found in the
 * rule store, write theirs back, shortest first: ranks cannot tell a /18
 * from a /22 here, the rule store can. A /16 add probes 2^1 + ... + 2^8 =
 * 510 candidate prefixes (a scan of the rules instead when that is fewer),
 * only at depths that hold routes.
 *
 * Memory never runs out: a /24 whose leaf or node finds no room (side table
 * at its limit, heap full) keeps code 255 without a side entry, and its
 * lookups fall back to the rule store (one probe per depth that has
 * routes): slow, but exact. So add and delete never return -PM_ENOMEM, and
 * lpm_mem_bytes() is a budget rather than a worst case: 16 MiB of codes,
 * the rule store, a side table of 2^ceil(log2(max_routes / 2)) slots and
 * max_routes / 5 heap lines. For the WORKLOADS.md 100k table that is
 * 20.57 MB (rte_lpm: 84.7 MB), with 10,028 L3 nodes and ~11,400 side
 * leaves in use.
 *
 * Measured with tools/bench/host_bench (WORKLOADS.md tables, gcc 12 -O3
 * -march=corei7, AMD EPYC VM; rte_lpm in the same run). Instructions per
 * lookup (callgrind, including the benchmark's loop, about 8 of them):
 *
 *                      single          bulk of 32
 *   100k (direct)      15.74 (16.35)   16.32 (16.78)
 *   1k (compact)       16.27 (16.34)   18.07 (16.76)
 *   1k (direct, asked) 15.56 (16.34)   16.09 (16.76)
 *
 * In the direct layout a hit costs 15 instructions with the loop and a
 * miss 13 (rte_lpm: 17 and 15): one compare tells a hit's leaf from both
 * "no route" and "further" (0), which pays for the layout test (2 on
 * every host lookup). The 5.35% of the 100k table's lookups in further
 * /24s cost about 30 more (a call, the side table probe, a node step)
 * where rte_lpm's tbl8 read costs 5. In the compact layout a miss in an
 * empty /16 costs 11 with the loop and the layout test, a hit in an L2
 * node 21. Its bulk lookup is still 1.3 above rte_lpm's: a pass per
 * address with a branch for the node step against rte_lpm's straight
 * tbl24 read. Time per lookup, one run on a busy machine: 0.78x rte_lpm's
 * (single) and 0.55x (bulk) for 100k, 0.54x and 0.66x for 1k compact,
 * 0.90x and 0.69x for 1k direct (its 16 MiB of codes miss the cache where
 * the compact table's 256 KiB root and touched node lines do not). Build
 * of the 100k table: 38.5 ms (rte_lpm 555 ms), 327 M instructions. Memory
 * for 100k: lpm_mem_bytes 20,574,463 B, 24.3% of rte_lpm's 84,687,104 B
 * (19.9 MB in use); 1k compact: 2,330,559 B (1.37 MB in use); 1k direct:
 * 17,078,847 B.
 *
 * Updates and lookups must not overlap (single writer, between bursts):
 * nodes are rewritten in place.
 */
#include <stdbool.h>

#include "net/errno.h"
#include "net/lpm.h"

#define ROOT_SLOTS       LPM_ROOT_SLOTS
#define NODE_SLOTS       256u
#define LINE_BYTES       64u
#define NODE_HDR_BYTES   36u
#define NODE_MAX_LINES   ((NODE_HDR_BYTES + 4u * NODE_SLOTS + LINE_BYTES - 1) / LINE_BYTES)
#define PLAIN_LINES      (4u * NODE_SLOTS / LINE_BYTES)  /* a compact layout node: 16 */
#define HEAP_END_MAX     0x7fffffc0u        /* node entries are offsets below this */
#define LPM_ROUTES_LIMIT (1u << 24)         /* keeps lpm_mem_bytes under HEAP_END_MAX */
#define COMPACT_ROUTES_LIMIT (1u << 19)     /* 2 nodes of 1 KiB each: 1 GiB */
#define NIL              0xffffffffu
#define DIRECT_SLOTS     (1u << 24)         /* one code per /24 */

#define ENTRY_LEAF       LPM_ENTRY_LEAF
#define ENTRY_NODE_PENDING HEAP_END_MAX     /* a node not allocated yet */
#define NO_ROUTE         LPM_ENTRY_NONE

/* Direct layout (see the top of the file). */
#define CODE_NONE        0u                 /* no route */
#define CODE_FURTHER     (LPM_NB_CODES - 1) /* look in the side table */
#define CODE_MAP_SLOTS   512u               /* leaf -> code, under half full */
#define MAP_EMPTY        0xffffffffu
#define ENTRY_ABSENT     0xfffffffeu        /* a further /24 not in the side table */
#define RANK_SHORT       1u                 /* every route of /24 or shorter */
#define SIDE_HASH        0x9e3779b1u        /* a key's home: (key * this) >> shift */

_Static_assert(offsetof(struct lpm_node, values) == NODE_HDR_BYTES, "7 values share the header's line");
_Static_assert(NODE_MAX_LINES == 17, "a full node is 1060 bytes");
_Static_assert(NODE_SLOTS == LPM_NODE_SLOTS && PLAIN_LINES == 16, "a plain node is 1 KiB");

/* A free run of heap lines reuses the node header: run_starts[0] == 0 tells
 * it apart from a node (a node's slot 0 always starts a run). */
#define FREE_LINES(n)    ((n)->run_starts[1])
#define FREE_NEXT(n)     ((n)->run_starts[2])

struct lpm_rule {
    uint32_t prefix;
    uint32_t nh_depth;          /* next hop in bits 0..23, depth in 24..31 */
    uint32_t next;              /* hash chain, or free list */
};

#define RULE_FREE_DEPTH  0xffu

/* Open addressing with linear probing; keys are never MAP_EMPTY. Slot at
 * is kv[2 * at] (key) and kv[2 * at + 1] (value), so that a lookup reads
 * one line. */
struct probe_map {
    uint32_t *kv;
    uint32_t mask, shift, count;
};

/* What one add or delete does to the leaves it reaches: leaf slots whose
 * rank lies in [rank_min, rank_max] become `value`. */
struct change {
    unsigned rank_min, rank_max;
    uint32_t value;
};

struct lpm {
    /* First, so that a lookup needs nothing but t (lpm.h): root slots and
     * nodes are at fixed offsets from it (a node entry is an offset from
     * root[0]). */
    struct lpm_front front;
    uint32_t heap_base;         /* byte offset of the heap from root[0] */
    struct lpm_rule *rules;
    uint32_t *buckets;
    uint32_t bucket_mask;
    uint32_t max_routes;
    uint32_t nb_routes;
    uint32_t rule_free;         /* free list of rule slots */
    uint32_t rules_used;        /* slots ever handed out: [0, rules_used) */
    uint32_t heap_lines;
    uint32_t heap_bump;         /* lines [0, heap_bump) are nodes or free runs */
    uint32_t live_lines;
    uint32_t nb_compactions;
    uint32_t free_head[NODE_MAX_LINES + 1];
    size_t fixed_bytes;         /* from mem up to the heap */
    size_t mem_total;
    uint32_t scratch[2][NODE_SLOTS];  /* an L2 and an L3 node, expanded */
    uint32_t values_scratch[2][NODE_SLOTS];  /* their run values, changed */
};

/* The direct layout's state. It does not use the root for the match, so
 * this lives at its start (the compact layout pays nothing for it), the
 * palettes first, where lpm.h reads them. */
struct direct {
    uint32_t palette[LPM_NB_CODES];      /* next hop, LPM_NO_ROUTE, _FURTHER */
    uint32_t palette_leaf[LPM_NB_CODES]; /* the same as leaves; 0 for further */
    uint32_t code_leaf[LPM_NB_CODES];   /* the leaf a code stands for; NO_ROUTE: free */
    uint32_t code_refs[LPM_NB_CODES];   /* /24s coded with it */
    struct probe_map code_map;          /* leaf -> code */
    uint32_t code_map_kv[2 * CODE_MAP_SLOTS];
    struct probe_map side;              /* /24 -> leaf or node entry */
    uint32_t side_max;                  /* entries the side table takes */
    uint32_t depth_routes[33];          /* routes of each depth */
};
_Static_assert(offsetof(struct direct, palette_leaf) == 4 * LPM_NB_CODES, "lpm.h's palettes");
_Static_assert(sizeof(struct direct) <= sizeof(((struct lpm_front *)0)->root), "fits the root");
_Static_assert(offsetof(struct lpm, front) == 0, "lpm_front() in lpm.h");

static struct direct *dir(struct lpm *t)
{
    return (struct direct *)(void *)t->front.root;
}

static const struct direct *dir_c(const struct lpm *t)
{
    return (const struct direct *)(const void *)t->front.root;
}

/* The codes, which lpm.h reads through a const pointer. */
static uint8_t *codes_of(struct lpm *t)
{
    return (uint8_t *)(uintptr_t)t->front.codes;
}

/* Where each part goes, as offsets from the region's start. */
struct lpm_parts {
    size_t lpm_off, codes_off, rules_off, buckets_off, side_off, heap_off;
    uint32_t nb_buckets, side_slots;
    bool direct;
};

static size_t align_up(size_t x, size_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static uint32_t depth_mask(unsigned depth)
{
    return depth ? (uint32_t)(0xffffffffull << (32 - depth)) : 0;
}

static uint32_t bucket_count(uint32_t max_routes)
{
    uint32_t n = 16;

    while (n < max_routes)
        n <<= 1;
    return n;
}

/* Whether a table of max_routes asking for `layout` gets the direct one
 * (lpm_layout_valid has checked that it may). */
static bool direct_for(uint32_t max_routes, enum lpm_layout layout)
{
    if (layout == LPM_LAYOUT_AUTO)
        return LPM_HAVE_DIRECT && max_routes >= LPM_DIRECT_MIN_ROUTES;
    return layout == LPM_LAYOUT_DIRECT;
}

static struct lpm_parts layout_for(uintptr_t base, uint32_t max_routes, bool direct)
{
    struct lpm_parts l;

    l.direct = direct;
    l.nb_buckets = bucket_count(max_routes);
    /* the side table: at most half full with max_routes / 4 entries */
    l.side_slots = l.direct ? bucket_count(max_routes / 2) : 0;
    /* Lines are aligned in memory, not as offsets: a node entry is an
     * offset from the root whose low 6 bits must be free for the tag. */
    l.lpm_off = align_up(base, LINE_BYTES) - base;
    l.codes_off = l.lpm_off + sizeof(struct lpm);
    l.rules_off = l.codes_off + (l.direct ? DIRECT_SLOTS : 0);
    l.buckets_off = align_up(base + l.rules_off + (size_t)max_routes * sizeof(struct lpm_rule),
                             LINE_BYTES) - base;
    l.side_off = align_up(base + l.buckets_off + (size_t)l.nb_buckets * sizeof(uint32_t),
                          LINE_BYTES) - base;
    l.heap_off = align_up(base + l.side_off + (size_t)l.side_slots * 2 * sizeof(uint32_t),
                          LINE_BYTES) - base;
    return l;
}

/* Node lines lpm_mem_bytes reserves: the worst case in the compact layout
 * (two plain nodes per route, see the top of the file); in the direct
 * layout a budget past which /24s go to the slow path. */
static size_t heap_lines_for(uint32_t max_routes, bool direct)
{
    if (direct)
        return max_routes / 5 + 2 * NODE_MAX_LINES;
    return 2 * (size_t)max_routes * PLAIN_LINES;
}

/* ---- entries and nodes ------------------------------------------------- */

static inline uint32_t rank_leaf(uint32_t next_hop, unsigned rank)
{
    return ENTRY_LEAF | rank << 24 | next_hop;
}

static inline uint32_t leaf_entry(uint32_t next_hop, unsigned depth)
{
    return rank_leaf(next_hop, depth + 1);
}

static inline unsigned entry_rank(uint32_t e)
{
    return (e >> 24) & 0x3f;
}

static inline bool entry_is_node(uint32_t e)
{
    return lpm_entry_is_node(e);
}

static inline uint32_t node_entry(const struct lpm *t, uint32_t line)
{
    return t->heap_base + line * LINE_BYTES;
}

static inline uint32_t entry_line(const struct lpm *t, uint32_t e)
{
    return (e - t->heap_base) / LINE_BYTES;
}

static struct lpm_node *node_of(const struct lpm *t, uint32_t e)
{
    return (struct lpm_node *)((uint8_t *)t->front.root + e);
}

static struct lpm_node *node_at(const struct lpm *t, uint32_t line)
{
    return node_of(t, node_entry(t, line));
}

static uint32_t lines_for_runs(unsigned nb_runs)
{
    return (NODE_HDR_BYTES + 4u * nb_runs + LINE_BYTES - 1) / LINE_BYTES;
}

static unsigned node_nb_runs(const struct lpm_node *n)
{
    return lpm_popcount64(n->run_starts[0]) + lpm_popcount64(n->run_starts[1]) +
           lpm_popcount64(n->run_starts[2]) + lpm_popcount64(n->run_starts[3]);
}

static uint32_t node_lines(const struct lpm_node *n)
{
    return lines_for_runs(node_nb_runs(n));
}

/* The 256 slots a node's runs stand for, with the run values given. */
static void slots_from_runs(const uint64_t run_starts[4], const uint32_t *values,
                            uint32_t slots[NODE_SLOTS])
{
    uint32_t v = 0;
    size_t k = 0;

    for (unsigned s = 0; s < NODE_SLOTS; s++) {
        if ((run_starts[s >> 6] >> (s & 63)) & 1)
            v = values[k++];
        slots[s] = v;
    }
}

/* The compact layout's nodes are plain: 256 entries, 16 lines. */
static bool plain_nodes(const struct lpm *t)
{
    return !lpm_is_direct(&t->front);
}

static uint32_t *plain_of(const struct lpm *t, uint32_t e)
{
    return (uint32_t *)(void *)((uint8_t *)t->front.root + e);
}

/* Root slot s's entry with a node's unbiased (lpm.h, LPM_ROOT_BIAS), and
 * the store of one. */
static uint32_t root_get(const struct lpm *t, uint32_t s)
{
    uint32_t e = t->front.root[s];

    return entry_is_node(e) ? 4 * (e - LPM_ROOT_BIAS + 256 * s) : e;
}

static void root_set(struct lpm *t, uint32_t s, uint32_t e)
{
    t->front.root[s] = entry_is_node(e) ? e / 4 + LPM_ROOT_BIAS - 256 * s : e;
}

/* All 256 slots of what e stands for: a node's slots (or runs), or one
 * leaf 256 times. */
static void slots_expand(const struct lpm *t, uint32_t e, uint32_t slots[NODE_SLOTS])
{
    const struct lpm_node *n;

    if (!entry_is_node(e)) {
        for (unsigned s = 0; s < NODE_SLOTS; s++)
            slots[s] = e;
        return;
    }
    if (plain_nodes(t)) {
        for (unsigned s = 0; s < NODE_SLOTS; s++)
            slots[s] = plain_of(t, e)[s];
        return;
    }
    n = node_of(t, e);
    slots_from_runs(n->run_starts, n->values, slots);
}

static unsigned slots_nb_runs(const uint32_t slots[NODE_SLOTS])
{
    unsigned nb_runs = 1;

    for (unsigned s = 1; s < NODE_SLOTS; s++)
        nb_runs += slots[s] != slots[s - 1];
    return nb_runs;
}

static bool slots_one_leaf(const uint32_t slots[NODE_SLOTS])
{
    return !entry_is_node(slots[0]) && slots_nb_runs(slots) == 1;
}

static void node_count_runs_before(struct lpm_node *n)
{
    unsigned before = 0;

    for (unsigned w = 0; w < 4; w++) {
        n->runs_before[w] = (uint8_t)before;
        before += lpm_popcount64(n->run_starts[w]);
    }
}

/* Stores slots into n, which has room for their runs. */
static void node_write(struct lpm_node *n, const uint32_t slots[NODE_SLOTS])
{
    uint64_t starts[4] = { 1, 0, 0, 0 };
    size_t k = 1;

    n->values[0] = slots[0];
    for (unsigned s = 1; s < NODE_SLOTS; s++) {
        if (slots[s] != slots[s - 1]) {
            starts[s >> 6] |= 1ull << (s & 63);
            n->values[k++] = slots[s];
        }
    }
    for (unsigned w = 0; w < 4; w++)
        n->run_starts[w] = starts[w];
    node_count_runs_before(n);
}

/* ---- node heap --------------------------------------------------------- */

static void heap_free(struct lpm *t, uint32_t line, uint32_t nb_lines)
{
    struct lpm_node *n = node_at(t, line);

    n->run_starts[0] = 0;
    FREE_LINES(n) = nb_lines;
    FREE_NEXT(n) = t->free_head[nb_lines];
    t->free_head[nb_lines] = line;
    t->live_lines -= nb_lines;
}

/* NIL when neither the free list of that size nor the bump pointer has room. */
static uint32_t heap_alloc(struct lpm *t, uint32_t nb_lines)
{
    uint32_t line = t->free_head[nb_lines];

    if (line != NIL) {
        t->free_head[nb_lines] = (uint32_t)FREE_NEXT(node_at(t, line));
    } else {
        if (t->heap_lines - t->heap_bump < nb_lines)
            return NIL;
        line = t->heap_bump;
        t->heap_bump += nb_lines;
    }
    t->live_lines += nb_lines;
    return line;
}

/* Writes into every live node the one entry that points at it: its side
 * table slot. Only the direct layout compacts its heap (the compact
 * layout's nodes are all one size, so a freed one always fits the next). */
static void heap_tag_parents(struct lpm *t)
{
    for (uint32_t at = 0; at <= dir(t)->side.mask; at++) {
        if (dir(t)->side.kv[2 * at] != MAP_EMPTY && entry_is_node(dir(t)->side.kv[2 * at + 1]))
            node_of(t, dir(t)->side.kv[2 * at + 1])->parent = at;
    }
}

static void heap_set_parent(struct lpm *t, uint32_t parent, uint32_t e)
{
    dir(t)->side.kv[2 * parent + 1] = e;
}

/* Copies upwards line by line: dst < src, the runs may overlap. The empty
 * asm keeps the loop from becoming a libc memmove call. */
static void heap_move(struct lpm *t, uint32_t dst, uint32_t src, uint32_t nb_lines)
{
    uint64_t *d = (uint64_t *)node_at(t, dst);
    const uint64_t *s = (const uint64_t *)node_at(t, src);

    for (size_t i = 0; i < (size_t)nb_lines * (LINE_BYTES / 8); i++) {
        d[i] = s[i];
        __asm__ volatile("" ::: "memory");
    }
}

/* Slides every live node down over the free runs, fixing the side table
 * entry that points at it, so all free space ends up above the bump
 * pointer (direct layout only). */
static void heap_compact(struct lpm *t)
{
    uint32_t dst = 0, src = 0;

    heap_tag_parents(t);
    while (src < t->heap_bump) {
        struct lpm_node *n = node_at(t, src);
        uint32_t nb_lines, parent;

        if (!(n->run_starts[0] & 1)) {
            src += (uint32_t)FREE_LINES(n);
            continue;
        }
        nb_lines = node_lines(n);
        parent = n->parent;
        if (dst != src)
            heap_move(t, dst, src, nb_lines);
        node_count_runs_before(node_at(t, dst));
        heap_set_parent(t, parent, node_entry(t, dst));
        dst += nb_lines;
        src += nb_lines;
    }
    t->heap_bump = dst;
    for (unsigned c = 0; c <= NODE_MAX_LINES; c++)
        t->free_head[c] = NIL;
    t->nb_compactions++;
}

/* ---- table updates ----------------------------------------------------- */

static bool change_hits(const struct change *c, uint32_t e)
{
    unsigned rank = entry_rank(e);

    return !entry_is_node(e) && rank >= c->rank_min && rank <= c->rank_max;
}

/* node_commit for a plain node: rewritten in place, or allocated when
 * `old` was a leaf. */
static uint32_t plain_commit(struct lpm *t, uint32_t old, const uint32_t slots[NODE_SLOTS])
{
    uint32_t e = old, *dst;

    if (slots_one_leaf(slots)) {
        if (entry_is_node(old))
            heap_free(t, entry_line(t, old), PLAIN_LINES);
        return slots[0];
    }
    if (!entry_is_node(old))
        e = node_entry(t, heap_alloc(t, PLAIN_LINES));
    dst = plain_of(t, e);
    for (unsigned s = 0; s < NODE_SLOTS; s++)
        dst[s] = slots[s];
    return e;
}

/* Stores slots in place of the node (or leaf) `old` and returns the entry
 * that now stands for them: a leaf if all 256 slots agree, else a node,
 * rewritten in place when it still fits (the tail freed if it shrank), or a
 * new one. Allocates only when the runs outgrow `old` (a plain node: when
 * `old` is a leaf), and the caller has counted that in (deep_change), so
 * the allocation cannot fail. */
static uint32_t node_commit(struct lpm *t, uint32_t old, const uint32_t slots[NODE_SLOTS])
{
    unsigned nb_runs;
    uint32_t old_lines, nb_lines, line;

    if (plain_nodes(t))
        return plain_commit(t, old, slots);
    nb_runs = slots_nb_runs(slots);
    old_lines = entry_is_node(old) ? node_lines(node_of(t, old)) : 0;
    if (nb_runs == 1 && !entry_is_node(slots[0])) {
        if (old_lines)
            heap_free(t, entry_line(t, old), old_lines);
        return slots[0];
    }
    nb_lines = lines_for_runs(nb_runs);
    if (nb_lines <= old_lines) {
        node_write(node_of(t, old), slots);
        if (nb_lines < old_lines)
            heap_free(t, entry_line(t, old) + nb_lines, old_lines - nb_lines);
        return old;
    }
    line = heap_alloc(t, nb_lines);
    node_write(node_at(t, line), slots);
    if (old_lines)
        heap_free(t, entry_line(t, old), old_lines);
    return node_entry(t, line);
}

/* Lines node_commit(old, slots) will allocate. */
static uint32_t commit_lines(const struct lpm *t, uint32_t old, const uint32_t slots[NODE_SLOTS])
{
    uint32_t nb_lines, old_lines;

    if (slots_one_leaf(slots))
        return 0;
    if (plain_nodes(t))
        return entry_is_node(old) ? 0 : PLAIN_LINES;
    nb_lines = lines_for_runs(slots_nb_runs(slots));
    old_lines = entry_is_node(old) ? node_lines(node_of(t, old)) : 0;
    return nb_lines > old_lines ? nb_lines : 0;
}

static uint32_t subtree_change(struct lpm *t, uint32_t e, const struct change *c,
                               unsigned level, bool commit);

/* subtree_change for a plain node: its slots are rewritten in place, or it
 * collapses to the one leaf they all became. */
static uint32_t plain_subtree_change(struct lpm *t, uint32_t e, const struct change *c,
                                     unsigned level, bool commit)
{
    uint32_t *slots = plain_of(t, e), *values = t->values_scratch[level];
    bool changed = false, one_value = true;

    for (unsigned s = 0; s < NODE_SLOTS; s++) {
        uint32_t v = slots[s];

        /* only an L2 node (level 0) has nodes below it */
        if (level == 0 && entry_is_node(v))
            values[s] = subtree_change(t, v, c, 1, commit);
        else
            values[s] = change_hits(c, v) ? c->value : v;
        changed |= values[s] != v;
        one_value &= values[s] == values[0];
    }
    if (!changed)
        return e;
    if (one_value && !entry_is_node(values[0])) {
        if (commit)
            heap_free(t, entry_line(t, e), PLAIN_LINES);
        return values[0];
    }
    if (commit) {
        for (unsigned s = 0; s < NODE_SLOTS; s++)
            slots[s] = values[s];
    }
    return e;
}

/* Applies c to every slot under entry e (a leaf, or an L2/L3 node and its
 * children; level 0 or 1 picks the scratch arrays) and returns what
 * replaces e.
 * The change maps each run's (or plain slot's) value on its own, so runs
 * can merge but never split: this never allocates. Usually none merge and
 * only the values are rewritten. Without commit it only works out the
 * answer: e, or the leaf the node collapses to. */
static uint32_t subtree_change(struct lpm *t, uint32_t e, const struct change *c,
                               unsigned level, bool commit)
{
    uint32_t *values = t->values_scratch[level];
    unsigned nb_runs, nb_new_runs = 1;
    bool changed = false;
    struct lpm_node *n;

    if (!entry_is_node(e))
        return change_hits(c, e) ? c->value : e;
    if (plain_nodes(t))
        return plain_subtree_change(t, e, c, level, commit);
    n = node_of(t, e);
    nb_runs = node_nb_runs(n);
    for (unsigned k = 0; k < nb_runs; k++) {
        uint32_t v = n->values[k];

        /* only an L2 node (level 0) has nodes below it */
        if (level == 0 && entry_is_node(v))
            values[k] = subtree_change(t, v, c, 1, commit);
        else
            values[k] = change_hits(c, v) ? c->value : v;
        changed |= values[k] != n->values[k];
        if (k > 0)
            nb_new_runs += values[k] != values[k - 1];
    }
    if (!changed)
        return e;
    if (nb_new_runs == 1) {                 /* one leaf for all 256 slots */
        if (commit)
            heap_free(t, entry_line(t, e), node_lines(n));
        return values[0];
    }
    if (!commit)
        return e;
    if (nb_new_runs == nb_runs) {
        for (unsigned k = 0; k < nb_runs; k++)
            n->values[k] = values[k];
        return e;
    }
    slots_from_runs(n->run_starts, values, t->scratch[level]);
    return node_commit(t, e, t->scratch[level]);
}

/* A route longer than /16 changes one range of slots of one L2 node (and,
 * for /25-/32, of one L3 node under it). With commit it writes the result;
 * without, it only returns the lines the commit will allocate. */
static uint32_t deep_apply(struct lpm *t, uint32_t prefix, unsigned depth,
                           const struct change *c, bool commit)
{
    uint32_t *l2 = t->scratch[0], *l3 = t->scratch[1];
    uint32_t root_slot = prefix >> 16, old2 = root_get(t, root_slot), nb_lines = 0;

    slots_expand(t, old2, l2);
    if (depth <= 24) {
        unsigned lo = (prefix >> 8) & 0xff, hi = lo + (1u << (24 - depth));

        for (unsigned s = lo; s < hi; s++)
            l2[s] = subtree_change(t, l2[s], c, 1, commit);
    } else {
        unsigned l2_slot = (prefix >> 8) & 0xff;
        unsigned lo = prefix & 0xff, hi = lo + (1u << (32 - depth));
        uint32_t old3 = l2[l2_slot];

        slots_expand(t, old3, l3);
        for (unsigned s = lo; s < hi; s++) {
            if (change_hits(c, l3[s]))
                l3[s] = c->value;
        }
        if (commit) {
            l2[l2_slot] = node_commit(t, old3, l3);
        } else {
            nb_lines = commit_lines(t, old3, l3);
            l2[l2_slot] = slots_one_leaf(l3) ? l3[0] :
                          entry_is_node(old3) ? old3 : ENTRY_NODE_PENDING;
        }
    }
    if (commit)
        root_set(t, root_slot, node_commit(t, old2, l2));
    else
        nb_lines += commit_lines(t, old2, l2);
    return nb_lines;
}

/* Works out the memory first, so that -PM_ENOMEM leaves the table as it
 * was. Every node is PLAIN_LINES long and every free run is a whole node
 * (in a free list) or lies above the bump pointer, so when the free lines
 * are enough, heap_alloc finds them. */
static int deep_change(struct lpm *t, uint32_t prefix, unsigned depth, const struct change *c)
{
    uint32_t nb_lines = deep_apply(t, prefix, depth, c, false);

    if (t->heap_lines - t->live_lines < nb_lines)
        return -PM_ENOMEM;
    deep_apply(t, prefix, depth, c, true);
    return 0;
}

/* Routes of /16 or shorter cover whole root slots and never allocate. */
static int table_change(struct lpm *t, uint32_t prefix, unsigned depth, const struct change *c)
{
    if (depth > 16)
        return deep_change(t, prefix, depth, c);
    for (uint32_t s = prefix >> 16, end = s + (1u << (16 - depth)); s < end; s++)
        root_set(t, s, subtree_change(t, root_get(t, s), c, 0, true));
    return 0;
}

/* ---- rule store -------------------------------------------------------- */

static uint32_t rule_hash(const struct lpm *t, uint32_t prefix, unsigned depth)
{
    uint32_t h = prefix ^ (depth * 0x9e3779b9u);

    /* murmur3's finaliser: /24 prefixes have their low 8 bits all zero */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h & t->bucket_mask;
}

static unsigned rule_depth(const struct lpm_rule *r)
{
    return r->nh_depth >> 24;
}

static uint32_t rule_next_hop(const struct lpm_rule *r)
{
    return r->nh_depth & LPM_MAX_NEXT_HOP;
}

static uint32_t rule_find(const struct lpm *t, uint32_t prefix, unsigned depth)
{
    uint32_t i = t->buckets[rule_hash(t, prefix, depth)];

    while (i != NIL && (t->rules[i].prefix != prefix || rule_depth(&t->rules[i]) != depth))
        i = t->rules[i].next;
    return i;
}

/* The caller has checked nb_routes < max_routes. */
static void rule_insert(struct lpm *t, uint32_t prefix, unsigned depth, uint32_t next_hop)
{
    uint32_t *bucket = &t->buckets[rule_hash(t, prefix, depth)];
    uint32_t i = t->rule_free;

    if (i != NIL)
        t->rule_free = t->rules[i].next;
    else
        i = t->rules_used++;
    t->rules[i].prefix = prefix;
    t->rules[i].nh_depth = (uint32_t)depth << 24 | next_hop;
    t->rules[i].next = *bucket;
    *bucket = i;
    t->nb_routes++;
    if (lpm_is_direct(&t->front))
        dir(t)->depth_routes[depth]++;
}

static void rule_remove(struct lpm *t, uint32_t i)
{
    struct lpm_rule *r = &t->rules[i];
    uint32_t *link = &t->buckets[rule_hash(t, r->prefix, rule_depth(r))];

    while (*link != i)
        link = &t->rules[*link].next;
    *link = r->next;
    if (lpm_is_direct(&t->front))
        dir(t)->depth_routes[rule_depth(r)]--;
    r->nh_depth = RULE_FREE_DEPTH << 24;
    r->next = t->rule_free;
    t->rule_free = i;
    t->nb_routes--;
}

/* Whether a probe of the rule store at depth may find anything (the
 * direct layout counts routes per depth; the compact one probes all). */
static bool depth_has_routes(const struct lpm *t, unsigned depth)
{
    return !lpm_is_direct(&t->front) || dir_c(t)->depth_routes[depth] > 0;
}

/* A route's leaf. The direct layout gives every route of /24 or shorter
 * the one rank RANK_SHORT (see the top of the file). */
static uint32_t route_leaf(const struct lpm *t, uint32_t next_hop, unsigned depth)
{
    if (lpm_is_direct(&t->front) && depth <= 24)
        return rank_leaf(next_hop, RANK_SHORT);
    return leaf_entry(next_hop, depth);
}

/* The leaf for the longest route strictly shorter than depth that covers
 * prefix: what its slots fall back to when prefix/depth goes. */
static uint32_t covering_leaf(const struct lpm *t, uint32_t prefix, unsigned depth)
{
    while (depth-- > 0) {
        uint32_t i = depth_has_routes(t, depth) ? rule_find(t, prefix & depth_mask(depth), depth)
                                                : NIL;

        if (i != NIL)
            return route_leaf(t, rule_next_hop(&t->rules[i]), depth);
    }
    return NO_ROUTE;
}

/* ---- direct layout ----------------------------------------------------- */

static uint32_t map_home(const struct probe_map *m, uint32_t key)
{
    return (key * SIDE_HASH) >> m->shift;
}

/* The slot holding key, or NIL. */
static uint32_t map_find(const struct probe_map *m, uint32_t key)
{
    for (uint32_t at = map_home(m, key);; at = (at + 1) & m->mask) {
        if (m->kv[2 * at] == key)
            return at;
        if (m->kv[2 * at] == MAP_EMPTY)
            return NIL;
    }
}

/* key is not in m, and m has an empty slot. */
static void map_insert(struct probe_map *m, uint32_t key, uint32_t val)
{
    uint32_t at = map_home(m, key);

    while (m->kv[2 * at] != MAP_EMPTY)
        at = (at + 1) & m->mask;
    m->kv[2 * at] = key;
    m->kv[2 * at + 1] = val;
    m->count++;
}

/* Empties slot at, moving back the keys after it that probed past it. */
static void map_remove_at(struct probe_map *m, uint32_t at)
{
    for (uint32_t next = (at + 1) & m->mask; m->kv[2 * next] != MAP_EMPTY;
         next = (next + 1) & m->mask) {
        uint32_t home = map_home(m, m->kv[2 * next]);

        /* next's key may fill the hole unless its home lies in (at, next] */
        if (((next - home) & m->mask) >= ((next - at) & m->mask)) {
            m->kv[2 * at] = m->kv[2 * next];
            m->kv[2 * at + 1] = m->kv[2 * next + 1];
            at = next;
        }
    }
    m->kv[2 * at] = MAP_EMPTY;
    m->count--;
}

static void map_init(struct probe_map *m, uint32_t *kv, uint32_t slots)
{
    unsigned bits = 0;

    while ((1u << bits) < slots)
        bits++;
    m->kv = kv;
    m->mask = slots - 1;
    m->shift = 32 - bits;
    m->count = 0;
    for (uint32_t at = 0; at < slots; at++)
        ((volatile uint32_t *)kv)[2 * at] = MAP_EMPTY;
}

/* A code for leaf, with one more reference; NIL when all are taken. */
static uint32_t code_ref(struct lpm *t, uint32_t leaf)
{
    uint32_t at = map_find(&dir(t)->code_map, leaf), code;

    if (at != NIL) {
        code = dir(t)->code_map.kv[2 * at + 1];
    } else {
        for (code = 1; code < CODE_FURTHER && dir(t)->code_leaf[code] != NO_ROUTE; code++)
            ;
        if (code == CODE_FURTHER)
            return NIL;
        dir(t)->code_leaf[code] = leaf;
        dir(t)->palette[code] = lpm_entry_next_hop(leaf);
        dir(t)->palette_leaf[code] = leaf;
        map_insert(&dir(t)->code_map, leaf, code);
    }
    dir(t)->code_refs[code]++;
    return code;
}

static void code_unref(struct lpm *t, uint32_t code)
{
    if (--dir(t)->code_refs[code] > 0)
        return;
    map_remove_at(&dir(t)->code_map, map_find(&dir(t)->code_map, dir(t)->code_leaf[code]));
    dir(t)->code_leaf[code] = NO_ROUTE;
    dir(t)->palette[code] = LPM_PALETTE_FURTHER;
    dir(t)->palette_leaf[code] = 0;
}

/* What /24 b holds: a leaf, a node entry, or ENTRY_ABSENT. *at is its
 * side table slot (NIL if none). */
static uint32_t direct_get(const struct lpm *t, uint32_t b, uint32_t *at)
{
    unsigned code = t->front.codes[b];

    *at = NIL;
    if (code != CODE_FURTHER)
        return code == CODE_NONE ? NO_ROUTE : dir_c(t)->code_leaf[code];
    *at = map_find(&dir_c(t)->side, b);
    return *at == NIL ? ENTRY_ABSENT : dir_c(t)->side.kv[2 * (*at) + 1];
}

/* Lets go of what /24 b holds: its code, or its side entry and node. */
static void direct_drop(struct lpm *t, uint32_t b)
{
    unsigned code = t->front.codes[b];

    if (code == CODE_FURTHER) {
        uint32_t at = map_find(&dir(t)->side, b);

        if (at != NIL) {
            uint32_t e = dir(t)->side.kv[2 * at + 1];

            if (entry_is_node(e))
                heap_free(t, entry_line(t, e), node_lines(node_of(t, e)));
            map_remove_at(&dir(t)->side, at);
        }
    } else if (code != CODE_NONE) {
        code_unref(t, code);
    }
    codes_of(t)[b] = CODE_NONE;
}

/* b holds nothing (direct_drop). A leaf without a code goes to the side
 * table, or when that is full, to the slow path (ENTRY_ABSENT). */
static void direct_put_leaf(struct lpm *t, uint32_t b, uint32_t leaf)
{
    uint32_t code;

    if (leaf == NO_ROUTE)
        return;
    code = code_ref(t, leaf);
    if (code != NIL) {
        codes_of(t)[b] = (uint8_t)code;
        return;
    }
    codes_of(t)[b] = CODE_FURTHER;
    if (dir(t)->side.count < dir(t)->side_max)
        map_insert(&dir(t)->side, b, leaf);
}

/* b holds nothing. The node goes to the side table, or when that or the
 * heap is full, b goes to the slow path. */
static void direct_put_node(struct lpm *t, uint32_t b, const uint32_t slots[NODE_SLOTS])
{
    uint32_t nb_lines = lines_for_runs(slots_nb_runs(slots)), line;

    codes_of(t)[b] = CODE_FURTHER;
    if (dir(t)->side.count >= dir(t)->side_max)
        return;
    if (t->heap_lines - t->heap_bump < nb_lines) {
        if (t->heap_lines - t->live_lines < nb_lines)
            return;
        heap_compact(t);
    }
    line = heap_alloc(t, nb_lines);
    node_write(node_at(t, line), slots);
    map_insert(&dir(t)->side, b, node_entry(t, line));
}

static void direct_store(struct lpm *t, uint32_t b, const uint32_t slots[NODE_SLOTS])
{
    direct_drop(t, b);
    if (slots_one_leaf(slots))
        direct_put_leaf(t, b, slots[0]);
    else
        direct_put_node(t, b, slots);
}

/* Applies c to the 256 addresses of /24 b. An absent /24 is left to the
 * slow path, which reads the rule store. */
static void direct_change(struct lpm *t, uint32_t b, const struct change *c)
{
    uint32_t at, e = direct_get(t, b, &at), n;

    if (e == ENTRY_ABSENT)
        return;
    if (!entry_is_node(e)) {
        if (change_hits(c, e) && e != c->value) {
            direct_drop(t, b);
            direct_put_leaf(t, b, c->value);
        }
        return;
    }
    n = subtree_change(t, e, c, 1, true);   /* never allocates */
    if (n == e)
        return;
    /* all 256 became one leaf; subtree_change freed the node */
    map_remove_at(&dir(t)->side, at);
    codes_of(t)[b] = CODE_NONE;
    direct_put_leaf(t, b, n);
}

/* A route longer than /24 changes part of one /24. */
static void direct_deep(struct lpm *t, uint32_t prefix, unsigned depth, const struct change *c)
{
    uint32_t *slots = t->scratch[1];
    uint32_t b = prefix >> 8, at, e = direct_get(t, b, &at);
    unsigned lo = prefix & 0xff, hi = lo + (1u << (32 - depth));

    if (e == ENTRY_ABSENT)
        return;
    slots_expand(t, e, slots);
    for (unsigned s = lo; s < hi; s++) {
        if (change_hits(c, slots[s]))
            slots[s] = c->value;
    }
    direct_store(t, b, slots);
}

static void direct_route_over(struct lpm *t, uint32_t prefix, unsigned depth,
                              const struct change *c)
{
    for (uint32_t b = prefix >> 8, end = b + (1u << (24 - depth)); b < end; b++)
        direct_change(t, b, c);
}

/* A route of /24 or shorter: its /24s take `value` wherever a route of /24
 * or shorter decided them (RANK_SHORT; the ranks do not say which), then
 * the routes of depth+1..24 inside it, shortest first, write theirs back.
 * They are found by probing the rule store for each possible prefix, or by
 * a scan of all rules when that is fewer lookups. */
static void direct_short(struct lpm *t, uint32_t prefix, unsigned depth, uint32_t value)
{
    struct change c = { 0, RANK_SHORT, value };

    direct_route_over(t, prefix, depth, &c);
    for (unsigned d = depth + 1; d <= 24; d++) {
        uint32_t nb_prefixes = 1u << (d - depth);

        if (!depth_has_routes(t, d))
            continue;
        for (uint32_t k = 0; nb_prefixes <= t->rules_used && k < nb_prefixes; k++) {
            uint32_t p = prefix | k << (32 - d), i = rule_find(t, p, d);

            if (i == NIL)
                continue;
            c.value = route_leaf(t, rule_next_hop(&t->rules[i]), d);
            direct_route_over(t, p, d, &c);
        }
        for (uint32_t i = 0; nb_prefixes > t->rules_used && i < t->rules_used; i++) {
            const struct lpm_rule *r = &t->rules[i];

            if (rule_depth(r) != d || (r->prefix & depth_mask(depth)) != prefix)
                continue;
            c.value = route_leaf(t, rule_next_hop(r), d);
            direct_route_over(t, r->prefix, d, &c);
        }
    }
}

/* The rule store updated, the table follows: c says what changes. */
static void direct_change_route(struct lpm *t, uint32_t prefix, unsigned depth,
                                const struct change *c)
{
    if (depth <= 24)
        direct_short(t, prefix, depth, c->value);
    else
        direct_deep(t, prefix, depth, c);
}

/* The slow path: the longest match from the rule store, one probe per
 * depth that has routes. */
static uint32_t rules_match(const struct lpm *t, uint32_t addr)
{
    for (unsigned d = 33; d-- > 0;) {
        uint32_t i = depth_has_routes(t, d) ? rule_find(t, addr & depth_mask(d), d) : NIL;

        if (i != NIL)
            return rule_next_hop(&t->rules[i]);
    }
    return LPM_NO_ROUTE;
}

/* The slow path's leaf: a /24 that found no room in the side table. */
static __attribute__((noinline)) uint32_t rules_leaf(const struct lpm *t, uint32_t addr)
{
    uint32_t nh = rules_match(t, addr);

    /* rank RANK_SHORT: a leaf of next hop 0 must not read as no route */
    return nh == LPM_NO_ROUTE ? NO_ROUTE : rank_leaf(nh, RANK_SHORT);
}

/* The leaf for addr in a /24 coded CODE_FURTHER: from its side table entry
 * (most often in its home slot), else from the rule store. */
uint32_t lpm_lookup_further_leaf(const struct lpm *t, uint32_t addr)
{
    const struct probe_map *side = &dir_c(t)->side;
    uint32_t b = addr >> 8, at = map_home(side, b), e;
    const uint32_t *slot = side->kv + 2 * (size_t)at;    /* key, value */

    while (__builtin_expect(slot[0] != b, 0)) {
        if (slot[0] == MAP_EMPTY)
            return rules_leaf(t, addr);
        at = (at + 1) & side->mask;
        slot = side->kv + 2 * (size_t)at;
    }
    e = slot[1];
    return entry_is_node(e) ? lpm_node_value(t->front.root, e, addr & 0xff) : e;
}

/* ---- public API -------------------------------------------------------- */

/* A layout this build has, for a number of routes it takes. */
static bool layout_valid(uint32_t max_routes, enum lpm_layout layout)
{
    if (max_routes > LPM_ROUTES_LIMIT)
        return false;
    if (layout == LPM_LAYOUT_DIRECT)
        return LPM_HAVE_DIRECT;
    if (layout != LPM_LAYOUT_AUTO && layout != LPM_LAYOUT_COMPACT)
        return false;
    return direct_for(max_routes, layout) || max_routes <= COMPACT_ROUTES_LIMIT;
}

size_t lpm_mem_bytes_layout(uint32_t max_routes, enum lpm_layout layout)
{
    struct lpm_parts l;
    bool direct;

    if (!layout_valid(max_routes, layout))
        return 0;
    direct = direct_for(max_routes, layout);
    /* the worst start alignment costs LINE_BYTES - 1 */
    l = layout_for(0, max_routes, direct);
    return LINE_BYTES - 1 + l.heap_off + heap_lines_for(max_routes, direct) * LINE_BYTES;
}

size_t lpm_mem_bytes(uint32_t max_routes)
{
    return lpm_mem_bytes_layout(max_routes, LPM_LAYOUT_AUTO);
}

struct lpm *lpm_create_layout(void *mem, size_t bytes, uint32_t max_routes,
                              enum lpm_layout layout)
{
    struct lpm_parts l;
    uint8_t *base = mem;
    struct lpm *t;
    size_t heap_lines;

    if (!mem || !layout_valid(max_routes, layout))
        return NULL;
    l = layout_for((uintptr_t)mem, max_routes, direct_for(max_routes, layout));
    if (bytes < l.heap_off)
        return NULL;
    heap_lines = (bytes - l.heap_off) / LINE_BYTES;

    t = (struct lpm *)(base + l.lpm_off);
    t->heap_base = (uint32_t)(l.heap_off - l.lpm_off);
    t->rules = (struct lpm_rule *)(base + l.rules_off);
    t->buckets = (uint32_t *)(base + l.buckets_off);
    t->bucket_mask = l.nb_buckets - 1;
    t->max_routes = max_routes;
    t->nb_routes = 0;
    t->rule_free = NIL;
    t->rules_used = 0;
    if (heap_lines > (HEAP_END_MAX - t->heap_base) / LINE_BYTES)
        heap_lines = (HEAP_END_MAX - t->heap_base) / LINE_BYTES;
    t->heap_lines = (uint32_t)heap_lines;
    t->heap_bump = 0;
    t->live_lines = 0;
    t->nb_compactions = 0;
    for (unsigned c = 0; c <= NODE_MAX_LINES; c++)
        t->free_head[c] = NIL;
    t->fixed_bytes = l.heap_off;
    t->mem_total = bytes;
    /* volatile: these loops would otherwise become libc memset calls */
    for (uint32_t b = 0; b < l.nb_buckets; b++)
        ((volatile uint32_t *)t->buckets)[b] = NIL;
    t->front.codes = NULL;
    if (!l.direct) {
        for (uint32_t s = 0; s < ROOT_SLOTS; s++)
            ((volatile uint32_t *)t->front.root)[s] = NO_ROUTE;
        return t;
    }
    /* direct: the root is not used; every /24 starts with no route */
    for (uint32_t w = 0; w < DIRECT_SLOTS / 8; w++)
        ((volatile uint64_t *)(base + l.codes_off))[w] = 0;
    for (unsigned c = 0; c < LPM_NB_CODES; c++) {
        dir(t)->code_leaf[c] = NO_ROUTE;
        dir(t)->code_refs[c] = 0;
        dir(t)->palette[c] = LPM_PALETTE_FURTHER;
        dir(t)->palette_leaf[c] = 0;
    }
    for (unsigned d = 0; d <= 32; d++)
        dir(t)->depth_routes[d] = 0;
    dir(t)->palette[CODE_NONE] = LPM_NO_ROUTE;
    dir(t)->palette_leaf[CODE_NONE] = NO_ROUTE;
    map_init(&dir(t)->code_map, dir(t)->code_map_kv, CODE_MAP_SLOTS);
    map_init(&dir(t)->side, (uint32_t *)(base + l.side_off), l.side_slots);
    dir(t)->side_max = l.side_slots / 2;
    t->front.codes = base + l.codes_off;
    return t;
}

struct lpm *lpm_create(void *mem, size_t bytes, uint32_t max_routes)
{
    return lpm_create_layout(mem, bytes, max_routes, LPM_LAYOUT_AUTO);
}

/* The direct layout updates the rule store first (the table's changes read
 * it) and never runs out of memory: what does not fit goes to the slow
 * path. */
static int direct_add(struct lpm *t, uint32_t prefix, unsigned depth, uint32_t next_hop)
{
    struct change c = { 0, depth + 1u, route_leaf(t, next_hop, depth) };
    uint32_t i = rule_find(t, prefix, depth);

    if (i != NIL) {
        if (rule_next_hop(&t->rules[i]) == next_hop)
            return 0;
        t->rules[i].nh_depth = (uint32_t)depth << 24 | next_hop;
    } else {
        if (t->nb_routes >= t->max_routes)
            return -PM_ENOSPC;
        rule_insert(t, prefix, depth, next_hop);
    }
    direct_change_route(t, prefix, depth, &c);
    return 0;
}

static int direct_delete(struct lpm *t, uint32_t prefix, unsigned depth, uint32_t i)
{
    struct change c = { depth + 1u, depth + 1u, covering_leaf(t, prefix, depth) };

    rule_remove(t, i);
    direct_change_route(t, prefix, depth, &c);
    return 0;
}

int lpm_add(struct lpm *t, uint32_t prefix, uint8_t depth, uint32_t next_hop)
{
    struct change c;
    uint32_t i;
    int rc;

    if (depth > 32 || next_hop > LPM_MAX_NEXT_HOP)
        return -PM_EINVAL;
    prefix &= depth_mask(depth);
    if (lpm_is_direct(&t->front))
        return direct_add(t, prefix, depth, next_hop);
    c.rank_min = 0;
    c.rank_max = depth + 1u;
    c.value = leaf_entry(next_hop, depth);

    i = rule_find(t, prefix, depth);
    if (i != NIL) {
        if (rule_next_hop(&t->rules[i]) == next_hop)
            return 0;
        rc = table_change(t, prefix, depth, &c);
        if (rc == 0)
            t->rules[i].nh_depth = (uint32_t)depth << 24 | next_hop;
        return rc;
    }
    if (t->nb_routes >= t->max_routes)
        return -PM_ENOSPC;
    rc = table_change(t, prefix, depth, &c);
    if (rc == 0)
        rule_insert(t, prefix, depth, next_hop);
    return rc;
}

int lpm_delete(struct lpm *t, uint32_t prefix, uint8_t depth)
{
    struct change c;
    uint32_t i;
    int rc;

    if (depth > 32)
        return -PM_ENOENT;
    prefix &= depth_mask(depth);
    i = rule_find(t, prefix, depth);
    if (i == NIL)
        return -PM_ENOENT;
    if (lpm_is_direct(&t->front))
        return direct_delete(t, prefix, depth, i);
    c.rank_min = depth + 1u;
    c.rank_max = depth + 1u;
    c.value = covering_leaf(t, prefix, depth);
    rc = table_change(t, prefix, depth, &c);
    if (rc == 0)
        rule_remove(t, i);
    return rc;
}

#define BULK_GROUP 32u

/* Unrolled, the loop's own instructions are a small part of each lookup's
 * (measured: 2.5 fewer per address). gcc only: clang's fuzz builds warn
 * that they cannot. */
#if defined(__clang__)
#define LPM_UNROLL_8
#else
#define LPM_UNROLL_8 _Pragma("GCC unroll 8")
#endif

/* One pass per address for its leaf, whose loads do not depend on the
 * previous address's, so the CPU overlaps them; then one pass that turns
 * leaves into next hops, without a branch (vectorised where the compiler
 * can). A miss in an empty /16, the common case, is one load and one
 * test. */
/* An address's top 16 bits, the root slot's index, loaded on their own: on
 * a little-endian CPU they are the upper two bytes of the word, and a
 * 16-bit load saves the shift (and the copy of the address a shift needs
 * when the address is used again). The whole address is loaded only for a
 * node step. */
static inline uint32_t addr_top16(const uint32_t *addr)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t top;

    __builtin_memcpy(&top, (const uint8_t *)addr + 2, sizeof(top));
    return top;
#else
    return *addr >> 16;
#endif
}

static void lookup_group(const struct lpm *t, const uint32_t *addrs, uint32_t *next_hops,
                         unsigned n)
{
    const uint32_t *root = t->front.root;

    LPM_UNROLL_8
    for (unsigned i = 0; i < n; i++) {
        uint32_t x = root[addr_top16(&addrs[i])];

        if (entry_is_node(x)) {
            uint32_t a = addrs[i];
            x = lpm_root_node_slot(root, x, a);
            if (__builtin_expect(entry_is_node(x), 0))
                x = lpm_slot(root, x, (uint8_t)a);
        }
        next_hops[i] = x;
    }
    for (unsigned i = 0; i < n; i++)
        next_hops[i] = next_hops[i] == NO_ROUTE ? LPM_NO_ROUTE : lpm_entry_next_hop(next_hops[i]);
}

/* A bulk lookup's answer for an address whose code said LPM_PALETTE_FURTHER. */
static uint32_t bulk_further(const struct lpm *t, uint32_t addr)
{
    uint32_t e = lpm_lookup_further_leaf(t, addr);

    return e == NO_ROUTE ? LPM_NO_ROUTE : lpm_entry_next_hop(e);
}

/* One read of a code per address; the palette stays in L1. Eight at a
 * time, so that the loop's own instructions are a small part of each
 * lookup's; a group with a further /24 in it is gone over again. */
#define DIRECT_STRIDE 8u

/* Whether a group's answers include a further /24's: a chain of compares
 * and branches, not an OR of flags (one instruction fewer each). */
static inline bool any_further(const uint32_t v[DIRECT_STRIDE])
{
    for (unsigned k = 0; k < DIRECT_STRIDE; k++) {
        if (v[k] == LPM_PALETTE_FURTHER)
            return true;
    }
    return false;
}

/* gcc's SLP vectoriser makes this loop slower; clang has no such switch. */
#if defined(__clang__)
#define LPM_NO_SLP
#else
#define LPM_NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#endif

static LPM_NO_SLP
void lookup_direct(const struct lpm *t, const uint32_t *addrs, uint32_t *next_hops, unsigned n)
{
    const uint8_t *codes = t->front.codes;
    const uint32_t *palette = dir_c(t)->palette;
    const uint32_t *a = addrs, *end = addrs + (n & ~(DIRECT_STRIDE - 1));
    uint32_t *out = next_hops;

    for (; a < end; a += DIRECT_STRIDE, out += DIRECT_STRIDE) {
        uint32_t v[DIRECT_STRIDE];

        for (unsigned k = 0; k < DIRECT_STRIDE; k++)
            v[k] = palette[codes[a[k] >> 8]];
        for (unsigned k = 0; k < DIRECT_STRIDE; k++)
            out[k] = v[k];
        if (any_further(v)) {
            for (unsigned k = 0; k < DIRECT_STRIDE; k++) {
                if (out[k] == LPM_PALETTE_FURTHER)
                    out[k] = bulk_further(t, a[k]);
            }
        }
    }
    for (unsigned i = 0; i < n % DIRECT_STRIDE; i++) {
        out[i] = palette[codes[a[i] >> 8]];
        if (out[i] == LPM_PALETTE_FURTHER)
            out[i] = bulk_further(t, a[i]);
    }
}

/* Full groups have a size the compiler knows. */
static __attribute__((noinline))
void lookup_compact(const struct lpm *t, const uint32_t *addrs, uint32_t *next_hops, unsigned n)
{
    for (; n >= BULK_GROUP; n -= BULK_GROUP) {
        lookup_group(t, addrs, next_hops, BULK_GROUP);
        addrs += BULK_GROUP;
        next_hops += BULK_GROUP;
    }
    if (n > 0)
        lookup_group(t, addrs, next_hops, n);
}

/* Each layout's loop is a function of its own: the test of the layout
 * comes before either saves registers. */
void lpm_lookup_bulk(const struct lpm *t, const uint32_t *addrs, uint32_t *next_hops, unsigned n)
{
    if (lpm_is_direct(&t->front))
        lookup_direct(t, addrs, next_hops, n);
    else
        lookup_compact(t, addrs, next_hops, n);
}

void lpm_get_stats(const struct lpm *t, struct lpm_stats *out)
{
    out->nb_routes = t->nb_routes;
    out->mem_used = t->fixed_bytes + (size_t)t->live_lines * LINE_BYTES;
    out->mem_total = t->mem_total;
}

void lpm_walk(const struct lpm *t, void (*fn)(void *ctx, uint32_t prefix, uint8_t depth,
                                              uint32_t next_hop), void *ctx)
{
    for (uint32_t i = 0; i < t->rules_used; i++) {
        const struct lpm_rule *r = &t->rules[i];

        if (rule_depth(r) != RULE_FREE_DEPTH)
            fn(ctx, r->prefix, (uint8_t)rule_depth(r), rule_next_hop(r));
    }
}
