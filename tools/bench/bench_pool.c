/*
 * Buffer pool and ring (WORKLOADS.md sections 2 and 3).
 *
 * Pool: 8,191 elements either side, and the two layers of each measured
 * separately (net/pool.h):
 *
 *   mempool_*          the object layer, WORKLOADS.md section 2: pointers
 *                      only. rte_mempool_get/put(_bulk) on an rte_mempool of
 *                      2,048-byte elements (ring_mp_mc ops, a 256-entry
 *                      lcore cache, or none) against pool_take(_bulk) /
 *                      pool_give(_bulk) on pktbufs of PKTBUF_STRIDE (2,240)
 *                      bytes behind pktmetal's fixed 256-entry per-core
 *                      cache (the nearest equivalent; pktmetal has no
 *                      cache-less mode, so the nocache figures are DPDK's
 *                      alone). Neither side touches object memory once the
 *                      pool is warm.
 *   pktbuf_alloc_free_*  the packet layer, not in WORKLOADS.md: the same
 *                      iterations through rte_pktmbuf_alloc(_bulk) /
 *                      rte_pktmbuf_free(_bulk) on an rte_pktmbuf_pool_create
 *                      pool (cache 256, RTE_MBUF_DEFAULT_BUF_SIZE) against
 *                      pool_get(_bulk) / pktbuf_free(_bulk). Each side
 *                      resets the buffer on the way out and, on the way in,
 *                      reads the buffer's pool and checks it (DPDK: refcnt
 *                      and the segment chain; pktmetal: index and double
 *                      free, pool.h). The free_bulk of each side groups
 *                      buffers by pool, so the bulk figure uses
 *                      pktbuf_free_bulk, not the one-pool pool_put_bulk.
 *
 * One iteration keeps 32 objects out:
 *
 *   single   32 x get, then 32 x put, one object per call
 *   bulk32   one get of 32, one put of 32
 *
 * Ring: 1,024 slots, single producer and consumer, 32 pointers to static
 * dummies; burst32 = one enqueue and one dequeue of 32, single = 32 of
 * each (pktmetal's ring has only bursts: single is a burst of 1).
 *
 * The figure is ns per object for one get (enqueue) plus one put (dequeue).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "net/pool.h"
#include "net/ring.h"
#include "tools/bench/bench.h"

#define POOL_ELEMS   8191u
#define POOL_ELEM_B  2048u
#define BURST        32u
#define ITERS_FULL   312500u          /* 10,000,000 objects */
#define ITERS_CG     (1u << 15)
#define RING_SLOTS   1024u

static uint32_t iterations(void)
{
    return bench_opts.cg || bench_opts.quick ? ITERS_CG : ITERS_FULL;
}

/* --- pool ------------------------------------------------------------------ */

struct pool_run {
    struct pool *pm;
    struct rte_mempool *mp;
    uint32_t iters;
    uint64_t failures;           /* gets that came back empty */
};

/*
 * The timed loops. Harness shape moves DPDK's instruction counts by a few
 * percent (GCC compiles the inlined cache path differently around it), so
 * each figure uses the shape that reproduces WORKLOADS.md's DPDK reference
 * where one was found, and both sides of a figure always share it: single
 * is a loop function taking the pool, bulk32 runs inline in the repetition.
 */
static __attribute__((noinline)) uint64_t pm_pool_single_loop(struct pool *p, uint32_t iters)
{
    struct pktbuf *o[BURST];
    uint64_t failures = 0;

    for (uint32_t i = 0; i < iters; i++) {
        for (unsigned j = 0; j < BURST; j++)
            if ((o[j] = pool_take(p)) == NULL)
                failures++;
        for (unsigned j = 0; j < BURST; j++)
            pool_give(p, o[j]);
    }
    return failures;
}

static __attribute__((noinline)) uint64_t dpdk_pool_single_loop(struct rte_mempool *mp,
                                                                uint32_t iters)
{
    void *o[BURST];
    uint64_t failures = 0;

    for (uint32_t i = 0; i < iters; i++) {
        for (unsigned j = 0; j < BURST; j++)
            if (rte_mempool_get(mp, &o[j]) != 0)
                failures++;
        for (unsigned j = 0; j < BURST; j++)
            rte_mempool_put(mp, o[j]);
    }
    return failures;
}

static double pm_pool_single(void *arg)
{
    struct pool_run *r = arg;
    struct bench_timer t = { 0 };

    bench_begin(&t);
    uint64_t failures = pm_pool_single_loop(r->pm, r->iters);
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static double dpdk_pool_single(void *arg)
{
    struct pool_run *r = arg;
    struct bench_timer t = { 0 };

    bench_begin(&t);
    uint64_t failures = dpdk_pool_single_loop(r->mp, r->iters);
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static __attribute__((noinline)) double pm_pool_bulk32(void *arg)
{
    struct pool_run *r = arg;
    struct pktbuf *o[BURST];
    struct bench_timer t = { 0 };
    uint64_t failures = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->iters; i++) {
        if (pool_take_bulk(r->pm, o, BURST) != BURST)
            failures++;
        pool_give_bulk(r->pm, o, BURST);
    }
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_pool_bulk32(void *arg)
{
    struct pool_run *r = arg;
    void *o[BURST];
    struct bench_timer t = { 0 };
    uint64_t failures = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->iters; i++) {
        if (rte_mempool_get_bulk(r->mp, o, BURST) != 0)
            failures++;
        rte_mempool_put_bulk(r->mp, o, BURST);
    }
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

/* The packet layer, same shapes: single a loop function, bulk32 inline. */
static __attribute__((noinline)) uint64_t pm_pkt_single_loop(struct pool *p, uint32_t iters)
{
    struct pktbuf *o[BURST];
    uint64_t failures = 0;

    for (uint32_t i = 0; i < iters; i++) {
        for (unsigned j = 0; j < BURST; j++)
            if ((o[j] = pool_get(p)) == NULL)
                failures++;
        for (unsigned j = 0; j < BURST; j++)
            pktbuf_free(o[j]);
    }
    return failures;
}

static __attribute__((noinline)) uint64_t dpdk_pkt_single_loop(struct rte_mempool *mp,
                                                               uint32_t iters)
{
    struct rte_mbuf *o[BURST];
    uint64_t failures = 0;

    for (uint32_t i = 0; i < iters; i++) {
        for (unsigned j = 0; j < BURST; j++)
            if ((o[j] = rte_pktmbuf_alloc(mp)) == NULL)
                failures++;
        for (unsigned j = 0; j < BURST; j++)
            rte_pktmbuf_free(o[j]);
    }
    return failures;
}

static double pm_pkt_single(void *arg)
{
    struct pool_run *r = arg;
    struct bench_timer t = { 0 };

    bench_begin(&t);
    uint64_t failures = pm_pkt_single_loop(r->pm, r->iters);
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static double dpdk_pkt_single(void *arg)
{
    struct pool_run *r = arg;
    struct bench_timer t = { 0 };

    bench_begin(&t);
    uint64_t failures = dpdk_pkt_single_loop(r->mp, r->iters);
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static __attribute__((noinline)) double pm_pkt_bulk32(void *arg)
{
    struct pool_run *r = arg;
    struct pktbuf *o[BURST];
    struct bench_timer t = { 0 };
    uint64_t failures = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->iters; i++) {
        if (pool_get_bulk(r->pm, o, BURST) != BURST)
            failures++;
        pktbuf_free_bulk(o, BURST);
    }
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_pkt_bulk32(void *arg)
{
    struct pool_run *r = arg;
    struct rte_mbuf *o[BURST];
    struct bench_timer t = { 0 };
    uint64_t failures = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->iters; i++) {
        if (rte_pktmbuf_alloc_bulk(r->mp, o, BURST) != 0)
            failures++;
        rte_pktmbuf_free_bulk(o, BURST);
    }
    bench_end(&t);
    r->failures += failures;
    return t.ns;
}

static void pool_figure(const char *name, bench_rep_fn pm_fn, bench_rep_fn dpdk_fn,
                        struct pool_run *r)
{
    double objs = (double)r->iters * BURST;
    struct bench_figure f = { name, "ns/obj", objs, objs };
    struct bench_side pm = { pm_fn, r }, dpdk = { dpdk_fn, r };

    if (!bench_selected(name))
        return;
    r->failures = 0;
    bench_run(&f, r->pm ? &pm : NULL, &dpdk);
    uint32_t pm_free = r->pm ? pool_free_count(r->pm) : POOL_ELEMS;
    bool ok = r->failures == 0 && rte_mempool_avail_count(r->mp) == POOL_ELEMS &&
              pm_free == POOL_ELEMS && (!r->pm || r->pm->nb_put_rejected == 0);
    printf("CHECK  %s get_failures=%llu dpdk_avail=%u pktmetal_free=%u %s\n", name,
           (unsigned long long)r->failures, rte_mempool_avail_count(r->mp), pm_free,
           bench_ok(ok));
}

void bench_pool(void)
{
    size_t pm_bytes = (size_t)POOL_ELEMS * (PKTBUF_STRIDE + sizeof(void *)) + (1u << 20);
    void *pm_mem = bench_alloc(pm_bytes);
    struct pool *pm = pool_create(pm_mem, (dma_addr_t)(uintptr_t)pm_mem, pm_bytes, POOL_ELEMS);
    struct rte_mempool *mp256 = rte_mempool_create("bench_mp256", POOL_ELEMS, POOL_ELEM_B, 256,
                                                   0, NULL, NULL, NULL, NULL, SOCKET_ID_ANY, 0);
    struct rte_mempool *mp0 = rte_mempool_create("bench_mp0", POOL_ELEMS, POOL_ELEM_B, 0, 0,
                                                 NULL, NULL, NULL, NULL, SOCKET_ID_ANY, 0);
    struct rte_mempool *mbufs = rte_pktmbuf_pool_create("bench_mbufs", POOL_ELEMS, 256, 0,
                                                        RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);

    if (pm == NULL || pm->nb_bufs != POOL_ELEMS || mp256 == NULL || mp0 == NULL || mbufs == NULL)
        bench_fail("pool setup failed");
    printf("# pool: pktmetal %u x %u B (cache %u), rte_mempool %u x %u B ops %s\n",
           pm->nb_bufs, PKTBUF_STRIDE, POOL_CACHE_SIZE, POOL_ELEMS, POOL_ELEM_B,
           rte_mempool_get_ops(mp256->ops_index)->name);

    struct pool_run cached = { pm, mp256, iterations(), 0 };
    struct pool_run nocache = { NULL, mp0, iterations(), 0 };
    struct pool_run packets = { pm, mbufs, iterations(), 0 };
    pool_figure("mempool_cache256_single", pm_pool_single, dpdk_pool_single, &cached);
    pool_figure("mempool_cache256_bulk32", pm_pool_bulk32, dpdk_pool_bulk32, &cached);
    pool_figure("mempool_nocache_single", NULL, dpdk_pool_single, &nocache);
    pool_figure("mempool_nocache_bulk32", NULL, dpdk_pool_bulk32, &nocache);
    pool_figure("pktbuf_alloc_free_single", pm_pkt_single, dpdk_pkt_single, &packets);
    pool_figure("pktbuf_alloc_free_bulk32", pm_pkt_bulk32, dpdk_pkt_bulk32, &packets);

    rte_mempool_free(mbufs);
    rte_mempool_free(mp0);
    rte_mempool_free(mp256);
    free(pm_mem);
}

/* --- ring ------------------------------------------------------------------ */

struct ring_run {
    struct ring *pm;
    struct rte_ring *rr;
    uint32_t iters;
    uint64_t short_calls;        /* bursts that moved fewer than asked */
    uint64_t misplaced;          /* objects not back in their slot after a repetition */
};

static char dummies[BURST];

/* The timed loops: the ring as an argument, the 32 objects in and out of
 * static arrays (the shape that reproduces WORKLOADS.md's DPDK counts).
 * Each returns how many calls moved fewer objects than asked. */
static void *ring_in[BURST], *ring_out[BURST];

static __attribute__((noinline)) uint64_t pm_ring_burst32_loop(struct ring *r, uint32_t iters)
{
    uint64_t short_calls = 0;

    for (uint32_t i = 0; i < iters; i++) {
        if (ring_enqueue_burst(r, ring_in, BURST) != BURST)
            short_calls++;
        if (ring_dequeue_burst(r, ring_out, BURST) != BURST)
            short_calls++;
    }
    return short_calls;
}

static __attribute__((noinline)) uint64_t pm_ring_single_loop(struct ring *r, uint32_t iters)
{
    uint64_t short_calls = 0;

    for (uint32_t i = 0; i < iters; i++) {
        for (unsigned j = 0; j < BURST; j++)
            if (ring_enqueue_burst(r, &ring_in[j], 1) != 1)
                short_calls++;
        for (unsigned j = 0; j < BURST; j++)
            if (ring_dequeue_burst(r, &ring_out[j], 1) != 1)
                short_calls++;
    }
    return short_calls;
}

static __attribute__((noinline)) uint64_t dpdk_ring_burst32_loop(struct rte_ring *r,
                                                                 uint32_t iters)
{
    uint64_t short_calls = 0;

    for (uint32_t i = 0; i < iters; i++) {
        if (rte_ring_sp_enqueue_burst(r, ring_in, BURST, NULL) != BURST)
            short_calls++;
        if (rte_ring_sc_dequeue_burst(r, ring_out, BURST, NULL) != BURST)
            short_calls++;
    }
    return short_calls;
}

static __attribute__((noinline)) uint64_t dpdk_ring_single_loop(struct rte_ring *r,
                                                                uint32_t iters)
{
    uint64_t short_calls = 0;

    for (uint32_t i = 0; i < iters; i++) {
        for (unsigned j = 0; j < BURST; j++)
            if (rte_ring_sp_enqueue(r, ring_in[j]) != 0)
                short_calls++;
        for (unsigned j = 0; j < BURST; j++)
            if (rte_ring_sc_dequeue(r, &ring_out[j]) != 0)
                short_calls++;
    }
    return short_calls;
}

#define RING_REP(name, loop, field)                                  \
    static double name(void *arg)                                    \
    {                                                                \
        struct ring_run *r = arg;                                    \
        struct bench_timer t = { 0 };                                \
        memset(ring_out, 0, sizeof(ring_out));                       \
        bench_begin(&t);                                             \
        uint64_t short_calls = loop(r->field, r->iters);             \
        bench_end(&t);                                               \
        r->short_calls += short_calls;                               \
        for (unsigned j = 0; j < BURST; j++)                         \
            r->misplaced += ring_out[j] != ring_in[j];               \
        return t.ns;                                                 \
    }

RING_REP(pm_ring_burst32, pm_ring_burst32_loop, pm)
RING_REP(pm_ring_single, pm_ring_single_loop, pm)
RING_REP(dpdk_ring_burst32, dpdk_ring_burst32_loop, rr)
RING_REP(dpdk_ring_single, dpdk_ring_single_loop, rr)

static void ring_figure(const char *name, bench_rep_fn pm_fn, bench_rep_fn dpdk_fn,
                        struct ring_run *r)
{
    double objs = (double)r->iters * BURST;
    struct bench_figure f = { name, "ns/obj", objs, objs };
    struct bench_side pm = { pm_fn, r }, dpdk = { dpdk_fn, r };

    if (!bench_selected(name))
        return;
    r->short_calls = 0;
    r->misplaced = 0;
    bench_run(&f, &pm, &dpdk);
    bool empty = ring_empty(r->pm) && rte_ring_empty(r->rr);
    printf("CHECK  %s short_calls=%llu misplaced=%llu empty_after=%s %s\n", name,
           (unsigned long long)r->short_calls, (unsigned long long)r->misplaced,
           bench_ok(empty), bench_ok(r->short_calls == 0 && r->misplaced == 0 && empty));
}

void bench_ring(void)
{
    struct ring_run r = { .iters = iterations() };
    void *mem = bench_alloc(ring_mem_bytes(RING_SLOTS));

    r.pm = ring_init(mem, RING_SLOTS);
    r.rr = rte_ring_create("bench_ring", RING_SLOTS, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r.pm == NULL || r.rr == NULL)
        bench_fail("ring setup failed");
    for (unsigned j = 0; j < BURST; j++)
        ring_in[j] = &dummies[j];
    ring_figure("ring_spsc_burst32", pm_ring_burst32, dpdk_ring_burst32, &r);
    ring_figure("ring_spsc_single", pm_ring_single, dpdk_ring_single, &r);
    rte_ring_free(r.rr);
    free(mem);
}
