/*
 * ACPI table discovery: what the kernel needs from the firmware's tables.
 *
 * boot/ finds the RSDP physical address in the EFI configuration table and
 * hands it to acpi_parse(), which follows RSDP -> XSDT (or RSDT) -> the
 * tables listed there and keeps three facts:
 *
 *   MCFG  where PCI Express config space (ECAM) lives, for segment 0
 *   FADT  the ACPI PM timer's I/O port and width (a fixed-rate clock,
 *         3.579545 MHz, used to calibrate the TSC)
 *   MADT  the local APIC's physical address
 *
 * Nothing is kept pointing into firmware memory: struct acpi_info is a copy.
 */
#ifndef PKTMETAL_KERNEL_ACPI_H
#define PKTMETAL_KERNEL_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_LAPIC_DEFAULT_BASE 0xFEE00000u  /* architectural xAPIC page */

struct acpi_info {
    uint8_t  rsdp_revision;     /* 0: ACPI 1.0 (RSDT only), >= 2: has XSDT */
    uint64_t ecam_base;         /* MCFG: ECAM base for segment 0 (bus 0's address) */
    uint8_t  ecam_bus_start, ecam_bus_end;
    bool     has_pm_timer;      /* FADT present and names a PM timer I/O port */
    uint16_t pm_timer_port;     /* X_PM_TMR_BLK if system I/O and nonzero, else PM_TMR_BLK */
    bool     pm_timer_32bit;    /* FADT flag TMR_VAL_EXT; false: the counter wraps at 2^24 */
    uint64_t lapic_base;        /* MADT (or its override entry); ACPI_LAPIC_DEFAULT_BASE if no MADT */
    int      nb_tables;         /* entries listed in the XSDT/RSDT */
    int      nb_bad_tables;     /* of those, skipped: null, bad signature, length or checksum */
};

/*
 * Parse the tables reachable from the RSDP at physical address rsdp_phys.
 * Returns 0, -PM_EINVAL (bad RSDP or root table: signature, checksum,
 * length) or -PM_ENOENT (no usable MCFG entry for segment 0: the kernel
 * cannot reach PCI without it). A listed table with a bad checksum is
 * skipped and counted in nb_bad_tables, never trusted.
 */
int acpi_parse(uint64_t rsdp_phys, struct acpi_info *out);

/* Why the last acpi_parse() failed, e.g. "XSDT checksum mismatch"; "ok" after success. */
const char *acpi_last_error(void);

#endif
