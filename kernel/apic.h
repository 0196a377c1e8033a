/*
 * The local APIC (xAPIC, MMIO at the MADT's address) as a one-shot wake-up
 * timer for the idle loop, and the IOAPIC masked so no device interrupt can
 * ever reach us (DESIGN.md, Idle; TRAPS.md: -cpu qemu64 has no x2APIC and no
 * TSC-deadline timer).
 */
#ifndef PKTMETAL_KERNEL_APIC_H
#define PKTMETAL_KERNEL_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_TIMER_VECTOR    32
#define APIC_SPURIOUS_VECTOR 0xff
#define IOAPIC_DEFAULT_BASE  0xfec00000ull

/* Enables the local APIC, masks every IOAPIC input, and measures the APIC
 * timer against the TSC clock. Returns 0 or a negative PM_E*. */
int apic_init(uint64_t lapic_base, uint64_t ioapic_base);
uint64_t apic_timer_hz(void);
/* Arms the timer to fire once after `us` microseconds. */
void apic_timer_oneshot_us(uint32_t us);

#endif
