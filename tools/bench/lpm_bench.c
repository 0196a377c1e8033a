/*
 * LPM benchmark: net/lpm.c alone on the WORKLOADS.md section 1 workload
 * (generators in workloads.c, figures, CHECK fingerprints and output format
 * as specified there), for a machine without DPDK. host_bench runs the same
 * figures side by side with rte_lpm (tools/bench/bench_lpm.c).
 *
 *   gcc -std=gnu11 -O3 -g -march=corei7 -I. tools/bench/lpm_bench.c \
 *       tools/bench/workloads.c net/lpm.c -o build/lpm_bench
 *   taskset -c 1 build/lpm_bench [-r REPS]
 *   valgrind --tool=callgrind --collect-atstart=no build/lpm_bench --cg
 *
 * Figures: build (ms per table: create + n adds), table memory (mem_used
 * from lpm_get_stats), lookup_single and lookup_bulk32 (ns per lookup over
 * 10,000,000 addresses; 2^20 under --cg). lpm1k_direct is the 1k table
 * in the direct layout (LPM_LAYOUT_DIRECT), lpm1k the compact one the
 * image uses.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "net/lpm.h"
#include "tools/bench/workloads.h"

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void result(const char *figure, const char *unit, double *v, int reps, uint64_t ops)
{
    qsort(v, reps, sizeof(*v), cmp_double);
    printf("RESULT %s %s median=%.3f min=%.3f max=%.3f reps=%d ops=%llu impl=pktmetal\n",
           figure, unit, v[reps / 2], v[0], v[reps - 1], reps, (unsigned long long)ops);
}

struct table {
    void *mem;
    struct lpm *lpm;
};

static struct lpm *build(struct table *tb, const struct wl_route *routes, uint32_t n,
                         enum lpm_layout layout)
{
    size_t bytes = lpm_mem_bytes_layout(n, layout);

    free(tb->mem);
    tb->mem = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (!tb->mem)
        exit(1);
    tb->lpm = lpm_create_layout(tb->mem, bytes, n, layout);
    if (!tb->lpm) {
        fprintf(stderr, "lpm_create_layout failed\n");
        exit(1);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (lpm_add(tb->lpm, routes[i].addr, routes[i].len, routes[i].nh) != 0) {
            fprintf(stderr, "add %u failed\n", i);
            exit(1);
        }
    }
    return tb->lpm;
}

struct sums {
    uint64_t hits, sum;
};

static __attribute__((noinline)) struct sums run_single(const struct lpm *t, const uint32_t *a,
                                                        uint32_t count)
{
    struct sums r = { 0, 0 };

    for (uint32_t i = 0; i < count; i++) {
        uint32_t nh = 0;
        int rc = lpm_lookup(t, a[i], &nh);

        r.hits += rc == 0;
        r.sum += rc == 0 ? nh : 0;
    }
    return r;
}

static __attribute__((noinline)) struct sums run_bulk32(const struct lpm *t, const uint32_t *a,
                                                        uint32_t count)
{
    struct sums r = { 0, 0 };
    uint32_t nh[32];

    for (uint32_t i = 0; i < count; i += 32) {
        lpm_lookup_bulk(t, a + i, nh, 32);
        for (unsigned j = 0; j < 32; j++) {
            r.hits += nh[j] != LPM_NO_ROUTE;
            r.sum += nh[j] != LPM_NO_ROUTE ? nh[j] : 0;
        }
    }
    return r;
}

typedef struct sums (*run_fn)(const struct lpm *, const uint32_t *, uint32_t);

static void bench_lookups(const char *figure, run_fn fn, const struct lpm *t,
                          const uint32_t *a, uint32_t count, int reps, int cg)
{
    double v[64];
    struct sums r = { 0, 0 };

    if (cg) {
        CALLGRIND_ZERO_STATS;
        CALLGRIND_TOGGLE_COLLECT;
        r = fn(t, a, count);
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(figure);
    } else {
        fn(t, a, count);                               /* warm-up */
        for (int k = 0; k < reps; k++) {
            double t0 = now_ns();

            r = fn(t, a, count);
            v[k] = (now_ns() - t0) / count;
        }
        result(figure, "ns/lookup", v, reps, count);
    }
    printf("CHECK  %s lookups=%u hits=%llu nh_sum=%llu\n", figure, count,
           (unsigned long long)r.hits, (unsigned long long)r.sum);
}

static void bench_table(const char *name, uint32_t n, enum lpm_layout layout, int reps, int cg)
{
    uint32_t count = cg ? 1u << 20 : 10000000;
    struct wl_route *routes = wl_gen_routes(n, WL_ROUTE_SEED);
    uint32_t *addrs = wl_gen_addrs(routes, n, count, WL_ADDR_SEED);
    struct table tb = { NULL, NULL };
    char figure[64];
    double v[64];
    struct lpm_stats st;

    if (routes == NULL || addrs == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    printf("CHECK  %s routes_fnv=%016llx addrs_fnv=%016llx\n", name,
           (unsigned long long)wl_routes_fnv(routes, n),
           (unsigned long long)wl_addrs_fnv(addrs, count));

    snprintf(figure, sizeof(figure), "%s_build", name);
    if (cg) {
        CALLGRIND_ZERO_STATS;
        CALLGRIND_TOGGLE_COLLECT;
        build(&tb, routes, n, layout);
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(figure);
    } else {
        build(&tb, routes, n, layout);                         /* warm-up */
        for (int k = 0; k < reps; k++) {
            double t0;

            free(tb.mem);                              /* outside the timed region */
            tb.mem = NULL;
            t0 = now_ns();
            build(&tb, routes, n, layout);
            v[k] = (now_ns() - t0) / 1e6;
        }
        result(figure, "ms/table", v, reps, n);
    }
    lpm_get_stats(tb.lpm, &st);
    printf("CHECK  %s mem_used=%zu lpm_mem_bytes=%zu routes=%u\n", figure, st.mem_used,
           st.mem_total, st.nb_routes);

    snprintf(figure, sizeof(figure), "%s_lookup_single", name);
    bench_lookups(figure, run_single, tb.lpm, addrs, count, reps, cg);
    snprintf(figure, sizeof(figure), "%s_lookup_bulk32", name);
    bench_lookups(figure, run_bulk32, tb.lpm, addrs, count, reps, cg);

    free(tb.mem);
    free(addrs);
    free(routes);
}

int main(int argc, char **argv)
{
    int reps = 7, cg = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cg") == 0)
            cg = 1;
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
    }
    if (reps < 1 || reps > 64)
        reps = 7;
    if (cg)
        reps = 1;
    bench_table("lpm1k", 1000, LPM_LAYOUT_AUTO, reps, cg);
    bench_table("lpm1k_direct", 1000, LPM_LAYOUT_DIRECT, reps, cg);
    bench_table("lpm100k", 100000, LPM_LAYOUT_AUTO, reps, cg);
    return 0;
}
