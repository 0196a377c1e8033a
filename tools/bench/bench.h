/*
 * Side-by-side benchmark runner for tools/bench/host_bench (WORKLOADS.md
 * section 6): every figure runs pktmetal's code and DPDK's in one process,
 * one untimed warm-up of each, then R timed repetitions in alternating
 * order (pktmetal first on even repetitions, DPDK first on odd ones).
 *
 * A side is one function that runs one repetition and returns the
 * nanoseconds spent in its timed region. The timed region is marked with
 * bench_begin()/bench_end(), which in --cg mode switch callgrind's
 * collection on and off instead of reading the clock; the runner then zeroes
 * the counters before a side and dumps them after it under the name
 * "figure|impl|ops", which tools/bench/run_host.sh turns into IR lines.
 *
 * Output (WORKLOADS.md, "Output format"), one line each:
 *
 *   RESULT <figure> <unit> median= min= max= reps= ops= impl=pktmetal|dpdk
 *   RATIO  <figure> pktmetal/dpdk median= min= max=
 *   CHECK  <figure> ...
 */
#ifndef PKTMETAL_TOOLS_BENCH_BENCH_H
#define PKTMETAL_TOOLS_BENCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define BENCH_MAX_REPS 64

struct bench_opts {
    bool cg;                    /* callgrind pass: 1 repetition, no warm-up */
    bool quick;                 /* smaller counts and R, for a smoke run */
    int reps;                   /* timed repetitions R */
    const char *only;           /* run figures whose name contains this */
};

extern struct bench_opts bench_opts;

/* Time or instructions of a region; a repetition may have several. */
struct bench_timer {
    double ns;
    struct timespec t0;
};

static inline void bench_begin(struct bench_timer *t)
{
    if (bench_opts.cg)
        CALLGRIND_TOGGLE_COLLECT;
    else
        clock_gettime(CLOCK_MONOTONIC, &t->t0);
}

static inline void bench_end(struct bench_timer *t)
{
    if (bench_opts.cg) {
        CALLGRIND_TOGGLE_COLLECT;
        return;
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    t->ns += (double)(t1.tv_sec - t->t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t->t0.tv_nsec);
}

/* One repetition of one side; returns the timed nanoseconds. */
typedef double (*bench_rep_fn)(void *arg);

struct bench_side {
    bench_rep_fn rep;
    void *arg;
};

struct bench_figure {
    const char *name;
    const char *unit;           /* "ns/lookup", "ms/table", ... */
    double ops;                 /* operations per repetition (Ir/op divides by it) */
    double ns_per_unit;         /* figure = timed ns / ns_per_unit */
};

/* Either side may be NULL (a figure only one implementation has). */
void bench_run(const struct bench_figure *f, const struct bench_side *pktmetal,
               const struct bench_side *dpdk);
/* DPDK against itself, for the wall-clock noise floor (section 6). */
void bench_self(const struct bench_figure *f, const struct bench_side *dpdk);
bool bench_selected(const char *name);
/* Exits after printing why: a benchmark whose results are wrong has no figure. */
void bench_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void *bench_alloc(size_t bytes);    /* 64-byte aligned, zeroed; exits when out of memory */
const char *bench_ok(bool ok);      /* "ok" or "MISMATCH" */

/* The benchmarks, one file each. bench_lpm_table runs the pipeline on the
 * table it built (the DPDK side routes through that rte_lpm). */
struct rte_lpm;
struct wl_route;
void bench_lpm_table(const char *name, uint32_t nb_routes);
void bench_pipeline_table(const char *name, const struct wl_route *routes, uint32_t nb_routes,
                          struct rte_lpm *rte);
void bench_pool(void);
void bench_ring(void);
void bench_csum(void);

#endif
