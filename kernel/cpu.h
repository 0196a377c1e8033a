/*
 * The CPU's own tables: GDT with a 64-bit code/data pair and a TSS, and an IDT
 * for the 32 exception vectors. The TSS holds the interrupt stacks (IST) that
 * #DF, #PF, NMI and #MC switch to, so a fault caused by the stack itself — a
 * kernel stack overflow into its guard page — still has a stack to report on.
 */
#ifndef PKTMETAL_KERNEL_CPU_H
#define PKTMETAL_KERNEL_CPU_H

#include <stdint.h>

enum cpu_ist {           /* TSS IST slots (Intel SDM vol. 3, 8.7 and 6.14.5) */
    CPU_IST_DOUBLE_FAULT = 1,
    CPU_IST_PAGE_FAULT   = 2,
    CPU_IST_NMI_MC       = 3,
};

/* Loads GDT, TSS and IDT. ist_tops[i] is the top of IST slot i+1's stack. */
void cpu_init(const uint64_t ist_tops[3]);

/* Switches to `stack_top` and calls fn(arg); never returns. */
void cpu_run_on_stack(uint64_t stack_top, void (*fn)(void *), void *arg)
    __attribute__((noreturn));

static inline uint64_t cpu_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                         : "a"(leaf), "c"(sub));
}

static inline void cpu_pause(void)
{
    __asm__ __volatile__("pause");
}

struct cpu_cache_info {
    uint32_t llc_bytes;      /* 0 when the CPU does not say */
    uint32_t line_bytes;
    uint8_t llc_level;
    const char *source;      /* "cpuid.4" or "cpuid.80000006" */
};
void cpu_cache_info(struct cpu_cache_info *out);

#endif
