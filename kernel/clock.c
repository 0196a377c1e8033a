/*
 * TSC calibration and the nanosecond clock. See clock.h.
 *
 * Conversion avoids division on the hot path: ns = (tsc * mult) >> 32 with
 * mult = 10^9 * 2^32 / tsc_hz, computed once; the product is 128 bits wide so
 * a delta of years cannot overflow. (No 128-bit division: the image has no
 * libgcc.)
 */
#include "kernel/clock.h"

#include "kernel/cpu.h"
#include "kernel/io.h"

#define PM_TIMER_HZ       3579545ull
#define PIT_HZ            1193182ull
#define CALIB_PM_TICKS    (PM_TIMER_HZ / 100)     /* 10 ms */
#define PIT_CH2_GATE      0x61
#define PIT_CMD           0x43
#define PIT_CH2_DATA      0x42

static struct clock_source_info info;
static uint64_t tsc_epoch, ns_mult;

static uint64_t tsc_from_cpuid(const char **source)
{
    uint32_t r[4];
    cpu_cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    if (max_leaf >= 0x15) {
        cpu_cpuid(0x15, 0, r);            /* eax denominator, ebx numerator, ecx crystal Hz */
        if (r[0] != 0 && r[1] != 0 && r[2] != 0) {
            *source = "cpuid.15";
            return (uint64_t)r[2] * r[1] / r[0];
        }
    }
    if (max_leaf >= 0x16) {
        cpu_cpuid(0x16, 0, r);            /* eax base frequency, MHz */
        if ((r[0] & 0xffff) != 0) {
            *source = "cpuid.16";
            return (uint64_t)(r[0] & 0xffff) * 1000000ull;
        }
    }
    return 0;
}

/* Counts TSC ticks across CALIB_PM_TICKS of the PM timer, which wraps at
 * 2^24 or 2^32. The first read is taken right after a timer edge so the
 * quantisation error is one PM tick (279 ns) over 10 ms. */
static uint64_t tsc_from_pm_timer(uint16_t port, bool is_32bit)
{
    uint32_t mask = is_32bit ? 0xffffffffu : 0xffffffu;
    uint32_t start = pio_read32(port) & mask, now;
    while (((now = pio_read32(port) & mask)) == start)
        ;
    start = now;
    uint64_t tsc_start = cpu_rdtsc();
    uint32_t elapsed;
    do {
        now = pio_read32(port) & mask;
        elapsed = (now - start) & mask;
    } while (elapsed < CALIB_PM_TICKS);
    uint64_t tsc_end = cpu_rdtsc();
    return (tsc_end - tsc_start) * PM_TIMER_HZ / elapsed;
}

/* PIT channel 2 in one-shot mode, gated through port 0x61: 10 ms countdown. */
static uint64_t tsc_from_pit(void)
{
    uint16_t count = (uint16_t)(PIT_HZ / 100);
    uint8_t gate = pio_read8(PIT_CH2_GATE);
    pio_write8(PIT_CH2_GATE, (gate & ~0x02) | 0x01);   /* speaker off, gate on */
    pio_write8(PIT_CMD, 0xb0);                          /* ch2, lo/hi, mode 0 */
    pio_write8(PIT_CH2_DATA, count & 0xff);
    pio_write8(PIT_CH2_DATA, count >> 8);
    uint64_t tsc_start = cpu_rdtsc();
    for (uint64_t spins = 0; !(pio_read8(PIT_CH2_GATE) & 0x20) && spins < 100000000; spins++)
        ;
    uint64_t tsc_end = cpu_rdtsc();
    pio_write8(PIT_CH2_GATE, gate);
    return (tsc_end - tsc_start) * PIT_HZ / count;
}

void clock_init(uint16_t pm_port, bool pm_32bit, uint64_t epoch)
{
    uint64_t t0 = cpu_rdtsc();
    info.source = "pit";
    info.tsc_hz = tsc_from_cpuid(&info.source);
    if (info.tsc_hz == 0 && pm_port != 0) {
        info.source = "acpi-pm";
        info.tsc_hz = tsc_from_pm_timer(pm_port, pm_32bit);
    }
    if (info.tsc_hz == 0) {
        info.source = "pit";
        info.tsc_hz = tsc_from_pit();
    }
    tsc_epoch = epoch;
    ns_mult = (1000000000ull << 32) / info.tsc_hz;     /* 10^9 * 2^32 < 2^64 */
    info.calib_us = (uint32_t)(clock_tsc_to_ns(cpu_rdtsc() - t0) / 1000);
}

const struct clock_source_info *clock_info(void)
{
    return &info;
}

uint64_t clock_tsc_to_ns(uint64_t tsc_delta)
{
    return (uint64_t)(((unsigned __int128)tsc_delta * ns_mult) >> 32);
}

uint64_t clock_ns_to_tsc(uint64_t ns)
{
    /* Split at whole seconds so neither product can overflow 64 bits. */
    uint64_t sec = ns / 1000000000ull, rem = ns % 1000000000ull;
    return sec * info.tsc_hz + rem * info.tsc_hz / 1000000000ull;
}

uint64_t clock_epoch_tsc(void)
{
    return tsc_epoch;
}

uint64_t clock_ns(void)
{
    return clock_tsc_to_ns(cpu_rdtsc() - tsc_epoch);
}

void clock_delay_ns(uint64_t ns)
{
    uint64_t end = cpu_rdtsc() + clock_ns_to_tsc(ns);
    while (cpu_rdtsc() < end)
        cpu_pause();
}
