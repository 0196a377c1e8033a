/*
 * Packet buffer pool (DESIGN.md, Packet buffers; the API is net/pool.h).
 *
 * pool_create carves one block of DMA-able memory, normally a slice of the
 * 2 MiB-paged arena:
 *
 *   mem        64-byte boundary
 *   |          v
 *   +----------+-------------+-----------+-----------+-----+--------------+
 *   | (align)  | struct pool | stack     | in-use map| pad | buf 0, 1, .. |
 *   |          |             | nb_bufs * | nb_bufs   |     | PKTBUF_STRIDE|
 *   |          |             | pointer   | bits      |     | each         |
 *   +----------+-------------+-----------+-----------+-----+--------------+
 *                                                          ^ 64-byte aligned
 *
 * Only the pool's own bookkeeping (the in-use map) is written at creation. A
 * buffer's 64-byte metadata line is written the first time it is handed out
 * (fresh_take): even writing one line per buffer of a 64 MiB arena took
 * ~155 ms under TCG at start-up, measured, against a 50 ms budget. The data
 * areas are never touched by the pool (TRAPS.md: zeroing the arena costs a
 * third of a second under TCG).
 *
 * The free buffers form one logical LIFO stack: the shared stack
 * stack[0..top) with the per-core cache cache.bufs[0..len) sitting on top of
 * it. Gets pop the cache and refill it from the stack POOL_CACHE_BULK at a
 * time; puts push onto the cache and, when it is full, move its bottom
 * POOL_CACHE_BULK entries to the stack. Both moves keep the logical order,
 * so the buffer freed last is always the one handed out next.
 *
 * Invariant, kept by the in-use map:
 *   top + cache.len + (nb_bufs - next_fresh) + (bits set in in_use_map) == nb_bufs
 * A put whose buffer's bit is clear (or that is no buffer of this pool) is
 * refused and counted, so the stack can never overflow.
 */
#include "net/pool.h"

#define CACHE_LINE_BYTES 64u
#define MAP_WORD_BITS    64u

_Static_assert(POOL_CACHE_BULK <= POOL_CACHE_SIZE, "the cache moves at most its own size");
_Static_assert(PKTBUF_STRIDE % CACHE_LINE_BYTES == 0, "buffers stay line-aligned");

/* Where each part of a pool goes, as offsets from the memory given. */
struct pool_layout {
    uint64_t pool_off;
    uint64_t stack_off;
    uint64_t map_off;
    uint64_t bufs_off;
    uint64_t end_off;       /* one past the last buffer */
};

static uint64_t align_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static uint64_t map_words(uint64_t nb_bufs)
{
    return (nb_bufs + MAP_WORD_BITS - 1) / MAP_WORD_BITS;
}

static struct pool_layout layout_for(uintptr_t base, uint64_t nb_bufs)
{
    struct pool_layout l;

    l.pool_off = align_up(base, CACHE_LINE_BYTES) - base;
    l.stack_off = l.pool_off + sizeof(struct pool);
    l.map_off = l.stack_off + nb_bufs * sizeof(struct pktbuf *);
    l.bufs_off = align_up(base + l.map_off + map_words(nb_bufs) * sizeof(uint64_t),
                          CACHE_LINE_BYTES) - base;
    l.end_off = l.bufs_off + nb_bufs * PKTBUF_STRIDE;
    return l;
}

/* The most buffers that fit in [base, base + bytes), at most nb_bufs_max
 * (0 = no limit). Starts from an estimate that ignores the map and counts
 * the padding after the pool header, which can be off by one either way
 * (padding differs with the count), then steps to the exact answer. */
static uint32_t fit_count(uintptr_t base, size_t bytes, uint32_t nb_bufs_max)
{
    uint64_t fixed_bytes = layout_for(base, 0).end_off;
    uint64_t n, limit = nb_bufs_max != 0 ? nb_bufs_max : UINT32_MAX;

    if (bytes <= fixed_bytes)
        return 0;
    n = (bytes - fixed_bytes) / (PKTBUF_STRIDE + sizeof(struct pktbuf *));
    if (n > limit)
        n = limit;
    while (n < limit && layout_for(base, n + 1).end_off <= bytes)
        n++;
    while (n > 0 && layout_for(base, n).end_off > bytes)
        n--;
    return (uint32_t)n;
}

/* Writes buffer i's metadata line, and nothing else of the buffer. */
static struct pktbuf *buf_init(struct pool *p, uint32_t i)
{
    struct pktbuf *b = (struct pktbuf *)(p->bufs_mem + (uint64_t)i * PKTBUF_STRIDE);

    b->buf_dma = p->bufs_dma + (uint64_t)i * PKTBUF_STRIDE + PKTBUF_META_BYTES;
    b->pool = p;
    b->rx_tsc = 0;
    b->port = 0;
    b->user = 0;
    b->reserved = 0;
    pktbuf_reset(b);
    return b;
}

struct pool *pool_create(void *mem, dma_addr_t mem_dma, size_t bytes, uint32_t nb_bufs_max)
{
    uintptr_t base = (uintptr_t)mem;
    uint32_t nb_bufs = fit_count(base, bytes, nb_bufs_max);
    struct pool_layout l;
    struct pool *p;

    if (nb_bufs == 0)
        return NULL;
    l = layout_for(base, nb_bufs);
    p = (struct pool *)(base + l.pool_off);
    p->stack = (struct pktbuf **)(base + l.stack_off);
    p->top = 0;
    p->nb_bufs = nb_bufs;
    p->bufs_mem = (uint8_t *)(base + l.bufs_off);
    p->bufs_dma = mem_dma + l.bufs_off;
    p->nb_get_short = 0;
    p->in_use_map = (uint64_t *)(base + l.map_off);
    p->nb_put_rejected = 0;
    p->cache.len = 0;
    p->next_fresh = 0;
    for (uint64_t w = 0; w < map_words(nb_bufs); w++)
        p->in_use_map[w] = 0;
    return p;
}

/* --- the in-use map -------------------------------------------------- */

/* Buffer b's index, or false if b is not at a buffer boundary of p. Only the
 * pointer's value is used: a stray pointer is never dereferenced. */
static bool buf_index(const struct pool *p, const struct pktbuf *b, uint32_t *idx)
{
    uintptr_t off = (uintptr_t)b - (uintptr_t)p->bufs_mem;   /* below: wraps, too big */

    if (off % PKTBUF_STRIDE != 0 || off / PKTBUF_STRIDE >= p->nb_bufs)
        return false;
    *idx = (uint32_t)(off / PKTBUF_STRIDE);
    return true;
}

static void map_set_in_use(struct pool *p, const struct pktbuf *b)
{
    uint32_t idx = (uint32_t)(((const uint8_t *)b - p->bufs_mem) / PKTBUF_STRIDE);

    p->in_use_map[idx / MAP_WORD_BITS] |= 1ull << (idx % MAP_WORD_BITS);
}

/* Clears b's in-use bit; false (and nothing changed) if b is not a buffer
 * of p that is currently out. */
static bool map_take_back(struct pool *p, const struct pktbuf *b)
{
    uint32_t idx;
    uint64_t bit;
    uint64_t *word;

    if (!buf_index(p, b, &idx))
        return false;
    word = &p->in_use_map[idx / MAP_WORD_BITS];
    bit = 1ull << (idx % MAP_WORD_BITS);
    if (!(*word & bit))
        return false;
    *word &= ~bit;
    return true;
}

/* --- cache <-> stack ------------------------------------------------- */

/* Moves the stack's top POOL_CACHE_BULK (or fewer) into the empty cache,
 * same order, so the stack's top becomes the cache's top. */
static void cache_refill(struct pool *p)
{
    struct pool_cache *c = &p->cache;
    uint32_t k = p->top < POOL_CACHE_BULK ? p->top : POOL_CACHE_BULK;

    p->top -= k;
    for (uint32_t i = 0; i < k; i++)
        c->bufs[i] = p->stack[p->top + i];
    c->len = k;
}

/* Moves the full cache's bottom POOL_CACHE_BULK onto the stack and slides
 * the rest down: the bottom of the cache is what sits right above the
 * stack's top in LIFO order. The stack has room: those buffers are free, and
 * the map guarantees no more than nb_bufs are free at once. */
static void cache_spill(struct pool *p)
{
    struct pool_cache *c = &p->cache;

    for (uint32_t i = 0; i < POOL_CACHE_BULK; i++)
        p->stack[p->top + i] = c->bufs[i];
    p->top += POOL_CACHE_BULK;
    for (uint32_t i = POOL_CACHE_BULK; i < c->len; i++)
        c->bufs[i - POOL_CACHE_BULK] = c->bufs[i];
    c->len -= POOL_CACHE_BULK;
}

/* Pops up to n buffers off the cache, marks them out and resets them. */
static unsigned cache_pop(struct pool *p, struct pktbuf **bufs, unsigned n)
{
    struct pool_cache *c = &p->cache;
    unsigned k = n < c->len ? n : c->len;

    for (unsigned i = 0; i < k; i++) {
        struct pktbuf *b = c->bufs[--c->len];

        map_set_in_use(p, b);
        pktbuf_reset(b);
        bufs[i] = b;
    }
    return k;
}

void pool_cache_flush(struct pool *p)
{
    struct pool_cache *c = &p->cache;

    for (uint32_t i = 0; i < c->len; i++)
        p->stack[p->top + i] = c->bufs[i];
    p->top += c->len;
    c->len = 0;
}

/* --- the hot path ---------------------------------------------------- */

/* Hands out buffers never used before, in address order, writing each one's
 * metadata line now. They sit logically under the whole stack: a recycled
 * (cache-warm) buffer always goes first. */
static unsigned fresh_take(struct pool *p, struct pktbuf **bufs, unsigned n)
{
    unsigned k = 0;

    for (; k < n && p->next_fresh < p->nb_bufs; k++) {
        struct pktbuf *b = buf_init(p, p->next_fresh++);

        map_set_in_use(p, b);
        bufs[k] = b;
    }
    return k;
}

unsigned pool_get_bulk(struct pool *p, struct pktbuf **bufs, unsigned n)
{
    unsigned got = cache_pop(p, bufs, n);

    while (got < n && p->top > 0) {
        cache_refill(p);
        got += cache_pop(p, bufs + got, n - got);
    }
    if (got < n)
        got += fresh_take(p, bufs + got, n - got);
    if (got < n)
        p->nb_get_short++;
    return got;
}

void pool_put_bulk(struct pool *p, struct pktbuf *const *bufs, unsigned n)
{
    struct pool_cache *c = &p->cache;

    for (unsigned i = 0; i < n; i++) {
        if (!map_take_back(p, bufs[i])) {
            p->nb_put_rejected++;
            continue;
        }
        if (c->len == POOL_CACHE_SIZE)
            cache_spill(p);
        c->bufs[c->len++] = bufs[i];
    }
}

/* Hands each run of consecutive same-pool buffers to pool_put_bulk at once:
 * a burst usually comes from one port, so one pool. */
void pktbuf_free_bulk(struct pktbuf *const *bufs, unsigned n)
{
    unsigned start = 0;

    while (start < n) {
        struct pool *p = bufs[start]->pool;
        unsigned end = start + 1;

        while (end < n && bufs[end]->pool == p)
            end++;
        pool_put_bulk(p, bufs + start, end - start);
        start = end;
    }
}

uint32_t pool_free_count(const struct pool *p)
{
    return p->top + p->cache.len + (p->nb_bufs - p->next_fresh);
}
