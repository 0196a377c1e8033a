/*
 * Packet buffer pool (DESIGN.md, Packet buffers): fixed-size pktbufs carved
 * from one block of DMA-able memory (the 2 MiB-paged arena).
 *
 *   mem (as given; the pool starts at the first 64-byte boundary)
 *   +-------------+---------------------+----------------------------------+
 *   | struct pool | free stack: nb_bufs | buffers, PKTBUF_STRIDE each,     |
 *   |             | pointers (LIFO)     | 64-byte aligned                  |
 *   +-------------+---------------------+----------------------------------+
 *
 * Free buffers live on a LIFO stack, so the most recently freed — still in
 * cache — is handed out first. A per-core cache sits in front of the stack
 * (one core today; the cache is where a second core would not contend).
 * Creation writes only the pool's bookkeeping; each buffer's 64-byte metadata
 * line is written when the buffer is first handed out, so start-up never
 * walks the arena (TRAPS.md: zeroing 64 MiB costs ~0.3 s).
 *
 * Two layers, as in DPDK (rte_mempool under rte_pktmbuf_alloc/free):
 *
 *   packet layer   pool_get_bulk, pool_get, pool_put_bulk, pktbuf_free,
 *                  pktbuf_free_bulk: what drivers and the pipeline call.
 *                  A get resets each buffer (pktbuf_reset); a put checks
 *                  each buffer before giving it back.
 *   object layer   pool_take_bulk, pool_take, pool_give_bulk, pool_give:
 *                  only move pointers between the caller's array, the
 *                  cache and the stack. No reset, no check: it trusts its
 *                  caller. The one to hold against rte_mempool_get/put
 *                  (tools/bench/bench_pool.c measures both layers).
 *
 * Both hand out the same order: the free buffers form one LIFO sequence
 * (the stack with the cache on top of it, then the never-used buffers in
 * address order), and a get or take of n returns its top n, the most
 * recently freed first. Exhaustion is not an error: both return a short
 * count (counted in nb_get_short).
 *
 * Every packet-layer put is checked: a pointer that is not at a buffer
 * boundary of this pool (or NULL, or a buffer never handed out) is refused
 * from its value alone, never dereferenced; a buffer of the pool whose
 * metadata says it is not out through the packet layer (struct pktbuf's
 * in_pool: cleared by a get in the same store that resets the buffer, set
 * again by the put) is a double free and refused too. Both are counted in
 * nb_put_rejected, never stored. So a buffer can never be handed out twice
 * through the packet layer; the counter is the symptom to look for. The
 * check costs a few instructions per buffer (a multiply, two compares, the
 * flag) and touches only the metadata line, which the caller has just been
 * using.
 *
 * The object layer's contract: give back only what a take handed out, once
 * each. It does not read or write in_pool (a buffer taken for the first time
 * gets in_pool = 1, "not out through the packet layer", with the rest of its
 * first metadata line), so a buffer from a take that reaches pool_put_bulk
 * is refused as a double free; but a buffer from a get must go back through
 * the packet layer (a give would leave its flag saying "out" while it is
 * free, and a later double put of it would go unseen). Its one guard: the
 * stack never overflows, even when a caller gives more than it took; the
 * excess is dropped and counted in nb_put_rejected.
 */
#ifndef PKTMETAL_NET_POOL_H
#define PKTMETAL_NET_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/pktbuf.h"

#define POOL_CACHE_SIZE 256     /* per-core cache capacity, buffers */
#define POOL_CACHE_BULK 64      /* moved between cache and stack at a time */

struct pool_cache {
    uint32_t len;
    struct pktbuf *bufs[POOL_CACHE_SIZE];
};

struct pool {
    struct pktbuf **stack;     /* free buffers, stack[0..top) */
    uint32_t top;
    uint32_t nb_bufs;          /* buffers in the pool, free or not */
    uint8_t *bufs_mem;         /* first buffer */
    dma_addr_t bufs_dma;       /* its DMA address */
    uint64_t nb_get_short;     /* gets and takes that came back short */
    uint64_t nb_put_rejected;  /* buffers refused by pool_put_bulk (double
                                * free, foreign or misaligned pointer) or
                                * dropped by a give that would overflow */
    uint32_t next_fresh;       /* buffers [next_fresh, nb_bufs) were never handed
                                * out: free, metadata not yet written */
    struct pool_cache cache;   /* core 0's cache */
};

/* Lays a pool out in [mem, mem + bytes), whose DMA address is mem_dma.
 * nb_bufs_max 0 = as many as fit. Returns NULL if not even one fits. */
struct pool *pool_create(void *mem, dma_addr_t mem_dma, size_t bytes, uint32_t nb_bufs_max);

/* --- object layer: pointers only, the caller is trusted (top of file) --- */

/* Up to n buffers, their metadata as they were left; returns how many. */
unsigned pool_take_bulk(struct pool *p, struct pktbuf **bufs, unsigned n);
/* Returns n buffers that pool_take_bulk/pool_take handed out, unchecked. */
void pool_give_bulk(struct pool *p, struct pktbuf *const *bufs, unsigned n);

static inline struct pktbuf *pool_take(struct pool *p)
{
    struct pktbuf *b;

    if (p->cache.len > 0)
        return p->cache.bufs[--p->cache.len];
    return pool_take_bulk(p, &b, 1) == 1 ? b : NULL;
}

static inline void pool_give(struct pool *p, struct pktbuf *b)
{
    if (p->cache.len < POOL_CACHE_SIZE)
        p->cache.bufs[p->cache.len++] = b;
    else
        pool_give_bulk(p, &b, 1);
}

/* --- packet layer: reset on the way out, checked on the way in ---------- */

/* Up to n buffers, reset (pktbuf_reset); returns how many it got. */
unsigned pool_get_bulk(struct pool *p, struct pktbuf **bufs, unsigned n);
/* Returns n buffers of this pool. A buffer that is not out of this pool is
 * refused and counted in nb_put_rejected (see the top of this file). */
void pool_put_bulk(struct pool *p, struct pktbuf *const *bufs, unsigned n);
/* Returns buffers that may belong to different pools (each entry's pool
 * pointer is read, so entries must be real buffers, not NULL). */
void pktbuf_free_bulk(struct pktbuf *const *bufs, unsigned n);

/* Returns one buffer to its own pool, checked as pool_put_bulk does. */
void pktbuf_free(struct pktbuf *b);

/* What a get does to each buffer it hands out: reset, and in_pool cleared.
 * The four 16-bit fields are neighbours, so this is one 8-byte store. */
static inline void pool_hand_out(struct pktbuf *b)
{
    pktbuf_reset(b);
    b->in_pool = 0;
}

static inline struct pktbuf *pool_get(struct pool *p)
{
    struct pktbuf *b = pool_take(p);

    if (b != NULL)
        pool_hand_out(b);
    return b;
}

/* Moves the cache back onto the shared stack. */
void pool_cache_flush(struct pool *p);
uint32_t pool_free_count(const struct pool *p);
static inline uint32_t pool_in_use(const struct pool *p)
{
    return p->nb_bufs - pool_free_count(p);
}

#endif
