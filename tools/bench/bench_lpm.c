/*
 * LPM (WORKLOADS.md section 1): net/lpm.c against rte_lpm on the 1k and
 * 100k route tables. Absorbs tools/bench/lpm_bench.c's pktmetal-only runs.
 *
 *   lpmN_build          create + n adds in emission order, ms per table.
 *                       rte_lpm_create(max_rules n, 2^14 tbl8 groups)
 *                       allocates (and zeroes) its tables inside the timed
 *                       region, so pktmetal's side allocates its region
 *                       (lpm_mem_bytes(n)) inside it too. The previous
 *                       table is freed outside.
 *   lpmN_memory         rte_malloc heap growth across the build and tbl8
 *                       groups in use; lpm_get_stats' mem_used and the
 *                       region reserved (CHECK line).
 *   lpmN_lookup_single  one lookup per address
 *   lpmN_lookup_bulk32  32 addresses per call
 *   lpmN_lookupx4       rte_lpm_lookupx4 (DPDK only: lpm.h has no x4 call)
 *   lpm1k_direct_lookup_single, lpm1k_direct_lookup_bulk32
 *                       the 1k table again in pktmetal's direct layout
 *                       (lpm_create_layout, LPM_LAYOUT_DIRECT; built outside
 *                       the timed region, lpm1k_direct_memory CHECK line)
 *                       against the same rte_lpm table; the lpm1k figures
 *                       are the compact layout the image uses.
 *
 * Lookups run over 10,000,000 addresses (2^20 under --cg or --quick)
 * generated before timing; every mode must give the same hits and next-hop
 * sum, which are checked against WORKLOADS.md's table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_malloc.h>

#include "net/lpm.h"
#include "tools/bench/bench.h"
#include "tools/bench/workloads.h"

#define LOOKUPS_FULL 10000000u
#define LOOKUPS_CG   (1u << 20)
#define NB_TBL8      (1u << 14)

enum lookup_mode { MODE_SINGLE, MODE_BULK32, MODE_X4, NB_MODES };

struct lpm_expect {
    uint64_t routes_fnv;
    uint64_t addrs_fnv_full, hits_full, sum_full;
    uint64_t addrs_fnv_cg, hits_cg, sum_cg;
    uint32_t tbl8_groups;
    uint64_t heap_bytes;
};

static const struct lpm_expect expect_1k = {
    0x52717b122dc02dd5ull, 0x5a47c969d3aa8e2cull, 4999515, 658703488,
    0xb51204861ca92077ull, 523925, 69008410, 96, 83895104,
};
static const struct lpm_expect expect_100k = {
    0xfd7482a0cb4f0d9full, 0xe846b4aad24579cbull, 4999497, 637848549,
    0x92fc7d8817f30845ull, 524373, 66874457, 10028, 84687104,
};

struct sums {
    uint64_t hits, sum;
};

struct lpm_run {
    const char *name;
    const struct wl_route *routes;
    uint32_t n;
    const uint32_t *addrs;
    uint32_t count;
    void *pm_mem;
    struct lpm *pm;
    void *pm_direct_mem;         /* the 1k table in the direct layout */
    struct lpm *pm_direct;
    const struct lpm *pm_lookup; /* the table pm_single and pm_bulk32 use */
    struct rte_lpm *rte;
    uint64_t rte_heap_bytes;     /* heap growth across the last build */
    struct sums pm_sums[NB_MODES], dpdk_sums[NB_MODES];
};

/* --- build ----------------------------------------------------------------- */

static uint64_t heap_allocated(void)
{
    uint64_t total = 0;

    for (unsigned s = 0; s < rte_socket_count(); s++) {
        struct rte_malloc_socket_stats st;
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &st) == 0)
            total += st.heap_allocsz_bytes;
    }
    return total;
}

static __attribute__((noinline)) double pm_build(void *arg)
{
    struct lpm_run *r = arg;
    struct bench_timer t = { 0 };
    size_t bytes = lpm_mem_bytes(r->n);
    int failed = 0;

    free(r->pm_mem);                        /* outside the timed region */
    bench_begin(&t);
    r->pm_mem = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    r->pm = r->pm_mem ? lpm_create(r->pm_mem, bytes, r->n) : NULL;
    for (uint32_t i = 0; r->pm != NULL && i < r->n; i++)
        failed |= lpm_add(r->pm, r->routes[i].addr, r->routes[i].len, r->routes[i].nh);
    bench_end(&t);
    if (r->pm == NULL || failed)
        bench_fail("%s: pktmetal build failed", r->name);
    return t.ns;
}

static __attribute__((noinline)) double dpdk_build(void *arg)
{
    struct lpm_run *r = arg;
    struct rte_lpm_config cfg = { .max_rules = r->n, .number_tbl8s = NB_TBL8, .flags = 0 };
    struct bench_timer t = { 0 };
    int failed = 0;

    rte_lpm_free(r->rte);                   /* outside the timed region */
    uint64_t before = heap_allocated();
    bench_begin(&t);
    r->rte = rte_lpm_create(r->name, SOCKET_ID_ANY, &cfg);
    for (uint32_t i = 0; r->rte != NULL && i < r->n; i++)
        failed |= rte_lpm_add(r->rte, r->routes[i].addr, r->routes[i].len, r->routes[i].nh);
    bench_end(&t);
    if (r->rte == NULL || failed)
        bench_fail("%s: rte_lpm build failed (rte_errno %d)", r->name, rte_errno);
    r->rte_heap_bytes = heap_allocated() - before;
    return t.ns;
}

/* rte_lpm's tbl8 groups in use: tbl24 entries that point to a group. */
static uint32_t rte_tbl8_in_use(const struct rte_lpm *lpm)
{
    uint32_t nb = 0;

    for (uint32_t i = 0; i < RTE_LPM_TBL24_NUM_ENTRIES; i++)
        nb += lpm->tbl24[i].valid && lpm->tbl24[i].valid_group;
    return nb;
}

static void memory_check(const char *figure, const struct lpm_run *r, const struct lpm *pm,
                         const struct lpm_expect *e)
{
    struct lpm_stats st;
    uint32_t tbl8 = rte_tbl8_in_use(r->rte);

    lpm_get_stats(pm, &st);
    printf("CHECK  %s dpdk_heap_bytes=%llu (%s) dpdk_tbl8_groups=%u (%s) "
           "pktmetal_mem_used=%zu pktmetal_region_bytes=%zu pktmetal_routes=%u "
           "used/dpdk=%.4f region/dpdk=%.4f\n",
           figure, (unsigned long long)r->rte_heap_bytes,
           bench_ok(r->rte_heap_bytes == e->heap_bytes), tbl8, bench_ok(tbl8 == e->tbl8_groups),
           st.mem_used, st.mem_total, st.nb_routes, (double)st.mem_used / r->rte_heap_bytes,
           (double)st.mem_total / r->rte_heap_bytes);
}

/* The same routes in the direct layout, untimed: for the lpm1k_direct
 * lookups. */
static void pm_build_direct(struct lpm_run *r, const struct lpm_expect *e)
{
    size_t bytes = lpm_mem_bytes_layout(r->n, LPM_LAYOUT_DIRECT);
    char figure[64];
    int failed = 0;

    r->pm_direct_mem = bytes ? aligned_alloc(64, (bytes + 63) & ~(size_t)63) : NULL;
    r->pm_direct = r->pm_direct_mem ? lpm_create_layout(r->pm_direct_mem, bytes, r->n,
                                                        LPM_LAYOUT_DIRECT) : NULL;
    for (uint32_t i = 0; r->pm_direct != NULL && i < r->n; i++)
        failed |= lpm_add(r->pm_direct, r->routes[i].addr, r->routes[i].len, r->routes[i].nh);
    if (r->pm_direct == NULL || failed)
        bench_fail("%s: pktmetal direct layout build failed", r->name);
    snprintf(figure, sizeof(figure), "%s_direct_memory", r->name);
    memory_check(figure, r, r->pm_direct, e);
}

static void lpm_build_figures(struct lpm_run *r, const struct lpm_expect *e)
{
    char name[64];
    struct bench_figure f = { name, "ms/table", 1, 1e6 };
    struct bench_side pm = { pm_build, r }, dpdk = { dpdk_build, r };

    snprintf(name, sizeof(name), "%s_build", r->name);
    if (bench_selected(name))
        bench_run(&f, &pm, &dpdk);
    else {                                  /* the lookups still need tables */
        pm_build(r);
        dpdk_build(r);
    }
    snprintf(name, sizeof(name), "%s_memory", r->name);
    memory_check(name, r, r->pm, e);
}

/* --- lookups --------------------------------------------------------------- */

static __attribute__((noinline)) double pm_single(void *arg)
{
    struct lpm_run *r = arg;
    struct bench_timer t = { 0 };
    struct sums s = { 0, 0 };

    bench_begin(&t);
    for (uint32_t i = 0; i < r->count; i++) {
        uint32_t nh = 0;
        int rc = lpm_lookup(r->pm_lookup, r->addrs[i], &nh);
        s.hits += rc == 0;
        s.sum += rc == 0 ? nh : 0;
    }
    bench_end(&t);
    r->pm_sums[MODE_SINGLE] = s;
    return t.ns;
}

static __attribute__((noinline)) double pm_bulk32(void *arg)
{
    struct lpm_run *r = arg;
    struct bench_timer t = { 0 };
    struct sums s = { 0, 0 };
    uint32_t nh[32];

    bench_begin(&t);
    for (uint32_t i = 0; i < r->count; i += 32) {
        lpm_lookup_bulk(r->pm_lookup, r->addrs + i, nh, 32);
        for (unsigned j = 0; j < 32; j++) {
            s.hits += nh[j] != LPM_NO_ROUTE;
            s.sum += nh[j] != LPM_NO_ROUTE ? nh[j] : 0;
        }
    }
    bench_end(&t);
    r->pm_sums[MODE_BULK32] = s;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_single(void *arg)
{
    struct lpm_run *r = arg;
    struct bench_timer t = { 0 };
    struct sums s = { 0, 0 };

    bench_begin(&t);
    for (uint32_t i = 0; i < r->count; i++) {
        uint32_t nh = 0;
        int rc = rte_lpm_lookup(r->rte, r->addrs[i], &nh);
        s.hits += rc == 0;
        s.sum += rc == 0 ? nh : 0;
    }
    bench_end(&t);
    r->dpdk_sums[MODE_SINGLE] = s;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_bulk32(void *arg)
{
    struct lpm_run *r = arg;
    struct bench_timer t = { 0 };
    struct sums s = { 0, 0 };
    uint32_t nh[32];

    bench_begin(&t);
    for (uint32_t i = 0; i < r->count; i += 32) {
        rte_lpm_lookup_bulk(r->rte, r->addrs + i, nh, 32);
        for (unsigned j = 0; j < 32; j++) {
            bool hit = (nh[j] & RTE_LPM_LOOKUP_SUCCESS) != 0;
            s.hits += hit;
            s.sum += hit ? (nh[j] & 0xFFFFFF) : 0;
        }
    }
    bench_end(&t);
    r->dpdk_sums[MODE_BULK32] = s;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_x4(void *arg)
{
    struct lpm_run *r = arg;
    struct bench_timer t = { 0 };
    struct sums s = { 0, 0 };
    uint32_t hop[4];

    bench_begin(&t);
    for (uint32_t i = 0; i < r->count; i += 4) {
        rte_lpm_lookupx4(r->rte, _mm_loadu_si128((const __m128i *)(r->addrs + i)), hop,
                         UINT32_MAX);
        for (unsigned j = 0; j < 4; j++) {
            s.hits += hop[j] != UINT32_MAX;
            s.sum += hop[j] != UINT32_MAX ? hop[j] : 0;
        }
    }
    bench_end(&t);
    r->dpdk_sums[MODE_X4] = s;
    return t.ns;
}

static void lookup_figure(struct lpm_run *r, const char *suffix, enum lookup_mode mode,
                          bench_rep_fn pm_fn, bench_rep_fn dpdk_fn, const struct lpm_expect *e)
{
    char name[64];
    struct bench_figure f = { name, "ns/lookup", r->count, r->count };
    struct bench_side pm = { pm_fn, r }, dpdk = { dpdk_fn, r };
    bool full = r->count == LOOKUPS_FULL;
    uint64_t hits = full ? e->hits_full : e->hits_cg, sum = full ? e->sum_full : e->sum_cg;

    snprintf(name, sizeof(name), "%s_%s", r->name, suffix);
    if (!bench_selected(name))
        return;
    r->pm_sums[mode] = r->dpdk_sums[mode] = (struct sums){ 0, 0 };
    bench_run(&f, pm_fn ? &pm : NULL, &dpdk);
    struct sums d = r->dpdk_sums[mode], p = pm_fn ? r->pm_sums[mode] : d;
    printf("CHECK  %s lookups=%u hits=%llu nh_sum=%llu pktmetal_hits=%llu pktmetal_nh_sum=%llu "
           "%s\n", name, r->count, (unsigned long long)d.hits, (unsigned long long)d.sum,
           (unsigned long long)p.hits, (unsigned long long)p.sum,
           bench_ok(d.hits == hits && d.sum == sum && p.hits == hits && p.sum == sum));
}

/* Whether --only leaves any of the table's direct layout figures. */
static bool direct_selected(const char *table)
{
    static const char *const suffixes[] = { "direct_memory", "direct_lookup_single",
                                            "direct_lookup_bulk32" };
    char name[64];

    for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        snprintf(name, sizeof(name), "%s_%s", table, suffixes[k]);
        if (bench_selected(name))
            return true;
    }
    return false;
}

void bench_lpm_table(const char *name, uint32_t nb_routes)
{
    const struct lpm_expect *e = nb_routes == 1000 ? &expect_1k : &expect_100k;
    struct lpm_run r = { .name = name, .n = nb_routes };
    static const char *const words[] = { "lpm", "pipeline", "lookup", "build", "memory",
                                         "selfcheck" };
    bool any = bench_opts.only == NULL;

    for (size_t k = 0; k < sizeof(words) / sizeof(words[0]) && !any; k++)
        any = strstr(bench_opts.only, words[k]) != NULL || strstr(words[k], bench_opts.only);
    if (!any)
        return;             /* --only names none of this table's figures */

    r.count = bench_opts.cg || bench_opts.quick ? LOOKUPS_CG : LOOKUPS_FULL;
    struct wl_route *routes = wl_gen_routes(nb_routes, WL_ROUTE_SEED);
    uint32_t *addrs = routes ? wl_gen_addrs(routes, nb_routes, r.count, WL_ADDR_SEED) : NULL;
    if (addrs == NULL)
        bench_fail("out of memory generating %s", name);
    r.routes = routes;
    r.addrs = addrs;
    uint64_t rf = wl_routes_fnv(routes, nb_routes), af = wl_addrs_fnv(addrs, r.count);
    uint64_t af_expect = r.count == LOOKUPS_FULL ? e->addrs_fnv_full : e->addrs_fnv_cg;
    printf("CHECK  %s routes=%u routes_fnv=%016llx addrs=%u addrs_fnv=%016llx %s\n", name,
           nb_routes, (unsigned long long)rf, r.count, (unsigned long long)af,
           bench_ok(rf == e->routes_fnv && af == af_expect));

    lpm_build_figures(&r, e);
    r.pm_lookup = r.pm;
    lookup_figure(&r, "lookup_single", MODE_SINGLE, pm_single, dpdk_single, e);
    lookup_figure(&r, "lookup_bulk32", MODE_BULK32, pm_bulk32, dpdk_bulk32, e);
    lookup_figure(&r, "lookupx4", MODE_X4, NULL, dpdk_x4, e);
    if (nb_routes == 1000 && direct_selected(name)) {
        pm_build_direct(&r, e);
        r.pm_lookup = r.pm_direct;
        lookup_figure(&r, "direct_lookup_single", MODE_SINGLE, pm_single, dpdk_single, e);
        lookup_figure(&r, "direct_lookup_bulk32", MODE_BULK32, pm_bulk32, dpdk_bulk32, e);
    }
    char self[64];
    snprintf(self, sizeof(self), "selfcheck_%s_lookup_single", name);
    if (!bench_opts.cg && bench_selected(self)) {
        struct bench_figure f = { self + strlen("selfcheck_"), "ns/lookup", r.count, r.count };
        struct bench_side dpdk = { dpdk_single, &r };
        bench_self(&f, &dpdk);
    }
    free(addrs);

    bench_pipeline_table(name, routes, nb_routes, r.rte);
    rte_lpm_free(r.rte);
    free(r.pm_mem);
    free(r.pm_direct_mem);
    free(routes);
}
