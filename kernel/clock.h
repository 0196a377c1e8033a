/*
 * Time: the TSC and a monotonic nanosecond clock built on it.
 *
 * The TSC rate comes from CPUID leaf 0x15 (crystal ratio) or 0x16 (base MHz)
 * where the CPU reports them, else it is measured against the ACPI PM timer
 * (3.579545 MHz, a fixed rate by the ACPI spec, 4.8.2.1), else against the
 * 8254 PIT. -cpu qemu64 reports neither leaf, so under QEMU it is measured.
 */
#ifndef PKTMETAL_KERNEL_CLOCK_H
#define PKTMETAL_KERNEL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct clock_source_info {
    uint64_t tsc_hz;
    const char *source;     /* "cpuid.15", "cpuid.16", "acpi-pm", "pit" */
    uint32_t calib_us;      /* how long calibration took */
};

/* pm_port 0 = no ACPI PM timer. tsc_epoch is the TSC value clock_ns() counts
 * from (efi_main entry). */
void clock_init(uint16_t pm_port, bool pm_32bit, uint64_t tsc_epoch);
const struct clock_source_info *clock_info(void);
uint64_t clock_ns(void);                        /* since tsc_epoch */
uint64_t clock_epoch_tsc(void);                 /* the TSC value clock_ns() counts from */
uint64_t clock_tsc_to_ns(uint64_t tsc_delta);
uint64_t clock_ns_to_tsc(uint64_t ns);
void clock_delay_ns(uint64_t ns);

#endif
