/*
 * Adaptive idle; see idle.h. The halt is the classic race-free pair
 * "sti; hlt": sti takes effect after the next instruction, so a timer that
 * fires in between still ends the hlt instead of being lost.
 */
#include "kernel/idle.h"

#include "kernel/apic.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/cpu.h"

static bool enabled;
static uint32_t polls_before_halt, min_us, max_us, halt_us;
static uint32_t empty_polls;
static struct idle_stats stats;

bool idle_init(const struct config *cfg, uint64_t lapic_base)
{
    if (!cfg->idle_halt) {
        kprintf("idle: busy polling (idle-halt off)\n");
        return false;
    }
    int rc = apic_init(lapic_base, IOAPIC_DEFAULT_BASE);
    if (rc < 0) {
        kprintf("idle: local APIC unusable (error %d): busy polling\n", rc);
        return false;
    }
    enabled = true;
    polls_before_halt = cfg->idle_polls;
    min_us = cfg->idle_min_us;
    max_us = cfg->idle_max_us;
    halt_us = min_us;
    kprintf("idle: halt after %u empty polls, %u..%u us, APIC timer %llu kHz\n",
            polls_before_halt, min_us, max_us, (unsigned long long)apic_timer_hz() / 1000);
    return true;
}

static void halt_for(uint32_t us)
{
    uint64_t t0 = cpu_rdtsc();
    apic_timer_oneshot_us(us);
    __asm__ __volatile__("sti; hlt; cli" ::: "memory");
    stats.halts++;
    stats.halted_ns += clock_tsc_to_ns(cpu_rdtsc() - t0);
}

void idle_after_poll(unsigned nb_packets)
{
    if (nb_packets != 0) {
        empty_polls = 0;
        halt_us = min_us;
        return;
    }
    if (!enabled || ++empty_polls < polls_before_halt) {
        cpu_pause();
        return;
    }
    halt_for(halt_us);
    halt_us = halt_us * 2 > max_us ? max_us : halt_us * 2;
}

void idle_get_stats(struct idle_stats *out)
{
    *out = stats;
}
