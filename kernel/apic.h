/*
 * The local APIC (xAPIC, MMIO at the MADT's address) as a one-shot wake-up
 * timer for the idle loop, and the IOAPIC masked so no legacy device
 * interrupt can ever reach us (DESIGN.md, Idle; TRAPS.md: -cpu qemu64 has
 * no x2APIC and no TSC-deadline timer). The only other interrupt is a NIC's
 * MSI-X message on APIC_RX_WAKE_VECTOR, sent straight to the local APIC
 * (kernel/idle.c arms it only around a halt).
 */
#ifndef PKTMETAL_KERNEL_APIC_H
#define PKTMETAL_KERNEL_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define APIC_TIMER_VECTOR    32
#define APIC_RX_WAKE_VECTOR  33      /* NICs' MSI-X: a frame ended the idle halt */
#define APIC_SPURIOUS_VECTOR 0xff
#define IOAPIC_DEFAULT_BASE  0xfec00000ull

/* Enables the local APIC, masks every IOAPIC input, and measures the APIC
 * timer against the TSC clock. Returns 0 or a negative PM_E*. */
int apic_init(uint64_t lapic_base, uint64_t ioapic_base);
uint64_t apic_timer_hz(void);
/* Arms the timer to fire once after `us` microseconds. */
void apic_timer_oneshot_us(uint32_t us);
/* Disarms it; true when it had not fired yet (something else ended the
 * halt it was meant to end). */
bool apic_timer_cancel(void);

/*
 * The MSI message that raises `vector` on this CPU (SDM vol. 3A, 11.11):
 * address 0xFEE00000 with our APIC ID as physical destination, data = the
 * vector with fixed delivery, edge triggered. The ID is CPUID.1:EBX[31:24],
 * the initial APIC ID, which xAPIC mode keeps; no APIC access is needed, so
 * drivers can be given the message before apic_init().
 */
void apic_msi_message(uint8_t vector, uint64_t *addr, uint32_t *data);

#endif
