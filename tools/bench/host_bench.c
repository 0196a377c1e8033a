/*
 * host_bench: pktmetal's building blocks against DPDK's on the host, with
 * the workloads, counts and output of /work/shared/bench/WORKLOADS.md.
 *
 *   taskset -c 1 build/bench/host_bench [-r R] [--quick] [--only SUBSTR]
 *   valgrind --tool=callgrind --collect-atstart=no build/bench/host_bench --cg
 *
 * tools/bench/run_host.sh runs both passes and checks the DPDK side's
 * instruction counts against WORKLOADS.md's reference table.
 *
 * One binary holds both implementations, built with the same flags (gcc
 * -O3 -g plus DPDK's pkg-config cflags, i.e. -march=corei7). DPDK runs as a
 * library in one thread: EAL without hugepages or PCI, with a 1 GiB heap
 * (rte_lpm's 100k table needs ~81 MiB, more than --no-huge's default 64),
 * its lcore 0 pinned to the CPU this process is pinned to.
 *
 * Figures, in the order they run:
 *   mempool_*  pool.c vs rte_mempool, get+put per object      (bench_pool.c)
 *   ring_*     ring.h vs rte_ring, enqueue+dequeue per object  (bench_pool.c)
 *   cksum_*    csum.c vs rte_ip.h, per call                    (bench_csum.c)
 *   lpmN_*     lpm.c vs rte_lpm: build, memory, lookups        (bench_lpm.c)
 *   pipeline_lpmN_*  pipeline.c + router.c in router mode vs
 *              the l3fwd-style steps on rte_mbuf/rte_lpm/rte_acl (bench_pipeline.c)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_version.h>

#include "tools/bench/bench.h"

static void usage(void)
{
    fprintf(stderr, "usage: host_bench [--cg] [--quick] [-r REPS] [--only SUBSTR]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cg") == 0)
            bench_opts.cg = true;
        else if (strcmp(argv[i], "--quick") == 0)
            bench_opts.quick = true;
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            bench_opts.reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            bench_opts.only = argv[++i];
        else
            usage();
    }
    if (bench_opts.reps < 1 || bench_opts.reps > BENCH_MAX_REPS)
        usage();
    if (bench_opts.cg)
        bench_opts.reps = 1;
}

/* The first CPU this process may run on: `taskset -c N` makes it N, and
 * EAL's own affinity call for lcore 0 then pins to the same CPU. */
static int first_cpu(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            return c;
    return 0;
}

static void eal_init(const char *prog)
{
    char lcores[32];

    snprintf(lcores, sizeof(lcores), "--lcores=0@%d", first_cpu());
    char *eal_argv[] = {
        (char *)prog, "--no-huge", "--no-pci", "-m", "1024", "--no-shconf", "--no-telemetry",
        lcores, "--log-level=4", NULL,
    };
    int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;

    if (rte_eal_init(eal_argc, eal_argv) < 0)
        bench_fail("rte_eal_init failed");
    printf("# %s, lcore 0 on CPU %d, %s, R=%d%s\n", rte_version(), first_cpu(),
           bench_opts.cg ? "callgrind counts" : "wall clock", bench_opts.reps,
           bench_opts.quick ? ", QUICK counts" : "");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    eal_init(argv[0]);
    bench_pool();
    bench_ring();
    bench_csum();
    bench_lpm_table("lpm1k", 1000);
    bench_lpm_table("lpm100k", 100000);
    rte_eal_cleanup();
    return 0;
}
