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
 * Exhaustion is not an error: pool_get_bulk returns a short count.
 *
 * Every put is checked: a pointer that is not at a buffer boundary of this
 * pool (or NULL, or a buffer never handed out) is refused from its value
 * alone, never dereferenced; a buffer of the pool whose metadata says it is
 * already free (struct pktbuf's in_pool, set by the put, cleared by the get
 * in the same store that resets the buffer) is a double free and refused
 * too. Both are counted in nb_put_rejected, never stored. So the free stack
 * cannot overflow and a buffer can never be handed out twice; the counter
 * is the symptom to look for. The check costs a few instructions per buffer
 * (a multiply, two compares, the flag) and touches only the metadata line,
 * which the caller has just been using.
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
    uint64_t nb_get_short;     /* pool_get_bulk calls that came back short */
    uint64_t nb_put_rejected;  /* buffers refused by pool_put_bulk: double
                                * free, foreign or misaligned pointer */
    uint32_t next_fresh;       /* buffers [next_fresh, nb_bufs) were never handed
                                * out: free, metadata not yet written */
    struct pool_cache cache;   /* core 0's cache */
};

/* Lays a pool out in [mem, mem + bytes), whose DMA address is mem_dma.
 * nb_bufs_max 0 = as many as fit. Returns NULL if not even one fits. */
struct pool *pool_create(void *mem, dma_addr_t mem_dma, size_t bytes, uint32_t nb_bufs_max);

/* Up to n buffers, reset (pktbuf_reset); returns how many it got. */
unsigned pool_get_bulk(struct pool *p, struct pktbuf **bufs, unsigned n);
/* Returns n buffers of this pool. A buffer that is not out of this pool is
 * refused and counted in nb_put_rejected (see the top of this file). */
void pool_put_bulk(struct pool *p, struct pktbuf *const *bufs, unsigned n);
/* Returns buffers that may belong to different pools (each entry's pool
 * pointer is read, so entries must be real buffers, not NULL). */
void pktbuf_free_bulk(struct pktbuf *const *bufs, unsigned n);

static inline struct pktbuf *pool_get(struct pool *p)
{
    struct pktbuf *b;
    return pool_get_bulk(p, &b, 1) == 1 ? b : NULL;
}

static inline void pktbuf_free(struct pktbuf *b)
{
    pool_put_bulk(b->pool, &b, 1);
}

/* Moves the cache back onto the shared stack. */
void pool_cache_flush(struct pool *p);
uint32_t pool_free_count(const struct pool *p);
static inline uint32_t pool_in_use(const struct pool *p)
{
    return p->nb_bufs - pool_free_count(p);
}

#endif
