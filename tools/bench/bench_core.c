/*
 * The side-by-side runner (bench.h): alternation, statistics and the
 * RESULT / RATIO lines, or the callgrind dumps in --cg mode.
 */
#define _GNU_SOURCE
#include "tools/bench/bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_opts bench_opts = { .reps = 7 };

void bench_fail(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "host_bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

void *bench_alloc(size_t bytes)
{
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);

    if (p == NULL)
        bench_fail("out of memory (%zu bytes)", bytes);
    memset(p, 0, rounded);
    return p;
}

const char *bench_ok(bool ok)
{
    return ok ? "ok" : "MISMATCH";
}

bool bench_selected(const char *name)
{
    return bench_opts.only == NULL || strstr(name, bench_opts.only) != NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

struct stats {
    double median, min, max;
};

static struct stats stats_of(const double *v, int n)
{
    double s[BENCH_MAX_REPS];

    memcpy(s, v, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    double median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    return (struct stats){ median, s[0], s[n - 1] };
}

static void print_result(const struct bench_figure *f, const char *impl, const double *v)
{
    struct stats st = stats_of(v, bench_opts.reps);

    printf("RESULT %s %s median=%.3f min=%.3f max=%.3f reps=%d ops=%.0f impl=%s\n", f->name,
           f->unit, st.median, st.min, st.max, bench_opts.reps, f->ops, impl);
}

static void print_ratio(const char *name, const char *what, const double *a, const double *b)
{
    double r[BENCH_MAX_REPS];

    for (int k = 0; k < bench_opts.reps; k++)
        r[k] = a[k] / b[k];
    struct stats st = stats_of(r, bench_opts.reps);
    printf("RATIO  %s %s median=%.3f min=%.3f max=%.3f\n", name, what, st.median, st.min,
           st.max);
}

static void run_cg(const struct bench_figure *f, const char *impl, const struct bench_side *s)
{
    char dump[160];

    snprintf(dump, sizeof(dump), "%s|%s|%.0f", f->name, impl, f->ops);
    CALLGRIND_ZERO_STATS;
    s->rep(s->arg);
    CALLGRIND_DUMP_STATS_AT(dump);
}

static double figure_of(const struct bench_figure *f, const struct bench_side *s)
{
    return s->rep(s->arg) / f->ns_per_unit;
}

/* Warm-up of each, then AB, BA, AB, ... */
static void alternate(const struct bench_figure *f, const struct bench_side *a,
                      const struct bench_side *b, double *va, double *vb)
{
    if (a)
        a->rep(a->arg);
    if (b)
        b->rep(b->arg);
    for (int k = 0; k < bench_opts.reps; k++) {
        if (k % 2 == 0) {
            if (a)
                va[k] = figure_of(f, a);
            if (b)
                vb[k] = figure_of(f, b);
        } else {
            if (b)
                vb[k] = figure_of(f, b);
            if (a)
                va[k] = figure_of(f, a);
        }
    }
}

void bench_run(const struct bench_figure *f, const struct bench_side *pktmetal,
               const struct bench_side *dpdk)
{
    double vp[BENCH_MAX_REPS], vd[BENCH_MAX_REPS];

    if (bench_opts.cg) {
        if (pktmetal)
            run_cg(f, "pktmetal", pktmetal);
        if (dpdk)
            run_cg(f, "dpdk", dpdk);
        return;
    }
    alternate(f, pktmetal, dpdk, vp, vd);
    if (pktmetal)
        print_result(f, "pktmetal", vp);
    if (dpdk)
        print_result(f, "dpdk", vd);
    if (pktmetal && dpdk)
        print_ratio(f->name, "pktmetal/dpdk", vp, vd);
    fflush(stdout);
}

void bench_self(const struct bench_figure *f, const struct bench_side *dpdk)
{
    double va[BENCH_MAX_REPS], vb[BENCH_MAX_REPS];
    char name[128];

    if (bench_opts.cg)
        return;
    alternate(f, dpdk, dpdk, va, vb);
    snprintf(name, sizeof(name), "selfcheck_%s", f->name);
    print_ratio(name, "dpdk/dpdk", va, vb);
    fflush(stdout);
}
