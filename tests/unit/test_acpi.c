/*
 * Tests for kernel/acpi.c against ACPI tables built byte by byte in host
 * memory: RSDP v2 -> XSDT (64-bit entries) -> MCFG, FADT, MADT, shaped like
 * the ones QEMU q35 + OVMF provide. Offsets here are written from the ACPI
 * 6.5 and PCI Firmware 3.x tables independently of the parser's structs, so
 * a wrong offset in either shows up as a failed test.
 *
 * The XSDT fixtures live on the (ASan) heap, far above 4 GiB, which is what
 * proves the 64-bit entries are followed in full. The RSDT path needs 32-bit
 * addresses, so those fixtures are placed below 2 GiB with mmap(MAP_32BIT).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/acpi.h"
#include "net/errno.h"

#define FX_BYTES     8192
#define FX_MAX_TABLES 8

struct acpi_fx {
    uint8_t *mem;
    size_t used;
    bool low;                    /* below 4 GiB: an RSDT is built too */
    uint8_t rsdp_revision;
    bool xsdt_address_zero;      /* revision 2 RSDP that names no XSDT */
    uint8_t *rsdp, *xsdt, *rsdt;
    uint8_t *tables[FX_MAX_TABLES];
    int nb_tables;
    uint8_t *mcfg, *fadt, *madt;
};

static struct acpi_fx fx;

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }
static uint64_t phys(const void *p) { return (uint64_t)(uintptr_t)p; }

static uint8_t *fx_alloc(size_t nb_bytes)
{
    uint8_t *p = fx.mem + fx.used;

    fx.used += (nb_bytes + 15) & ~(size_t)15;
    cr_assert_leq(fx.used, FX_BYTES, "fixture buffer too small");
    return p;
}

/* Table header, 5.2.6: signature, length, revision, OEM id; checksum at sealing. */
static uint8_t *fx_sdt(const char *sig, uint32_t length, uint8_t revision)
{
    uint8_t *t = fx_alloc(length);

    memcpy(t, sig, 4);
    put32(t + 4, length);
    t[8] = revision;
    memcpy(t + 10, "BOCHS ", 6);
    memcpy(t + 16, "BXPCTEST", 8);
    return t;
}

static void fx_list(uint8_t *t)
{
    cr_assert_lt(fx.nb_tables, FX_MAX_TABLES);
    fx.tables[fx.nb_tables++] = t;
}

/* MCFG: one allocation, segment 0, ECAM at 0xB0000000 for buses 0..255. */
static uint8_t *fx_mcfg(void)
{
    uint8_t *t = fx_sdt("MCFG", 44 + 16, 1);

    put64(t + 44, 0xB0000000);
    put16(t + 52, 0);
    t[54] = 0;
    t[55] = 255;
    return t;
}

/* FADT revision 3, 244 bytes as QEMU q35 builds it, but X_PM_TMR_BLK != PM_TMR_BLK. */
static uint8_t *fx_fadt(void)
{
    uint8_t *t = fx_sdt("FACP", 244, 3);

    put32(t + 76, 0x608);              /* PM_TMR_BLK */
    t[91] = 4;                         /* PM_TMR_LEN */
    put32(t + 112, 0x84a5 | (1u << 8)); /* QEMU's flags plus TMR_VAL_EXT */
    t[208] = 1;                        /* X_PM_TMR_BLK: system I/O */
    t[209] = 32;
    put64(t + 212, 0xb008);
    return t;
}

/* MADT with a 32-bit local APIC address and two processor local APIC entries. */
static uint8_t *fx_madt(uint32_t lapic)
{
    uint8_t *t = fx_sdt("APIC", 44 + 2 * 8, 1);

    put32(t + 36, lapic);
    put32(t + 40, 1);                  /* PCAT_COMPAT */
    for (int i = 0; i < 2; i++) {
        uint8_t *e = t + 44 + 8 * i;
        e[0] = 0;                      /* processor local APIC */
        e[1] = 8;
        e[2] = i;                      /* ACPI processor UID */
        e[3] = i;                      /* APIC id */
        put32(e + 4, 1);               /* enabled */
    }
    return t;
}

static void fx_setup_in(uint8_t *mem, bool low)
{
    memset(&fx, 0, sizeof(fx));
    fx.mem = mem;
    fx.low = low;
    fx.rsdp_revision = 2;
    fx.mcfg = fx_mcfg();
    fx.fadt = fx_fadt();
    fx.madt = fx_madt(0xFEE00000);
    fx_list(fx.fadt);
    fx_list(fx.madt);
    fx_list(fx.mcfg);
}

static void fx_setup_high(void)
{
    fx_setup_in(calloc(1, FX_BYTES), false);
}

static void fx_teardown(void)
{
    if (fx.low)
        munmap(fx.mem, FX_BYTES);
    else
        free(fx.mem);
}

static void fx_setup_low(void)
{
    void *mem = mmap(NULL, FX_BYTES, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

    if (mem == MAP_FAILED)
        cr_skip_test("mmap(MAP_32BIT) failed: no memory below 4 GiB for RSDT fixtures");
    cr_assert_lt(phys(mem) + FX_BYTES, 1ull << 32);
    fx_setup_in(mem, true);
}

static void seal_checksum(uint8_t *bytes, size_t nb_bytes, uint8_t *field)
{
    uint8_t sum = 0;

    *field = 0;
    for (size_t i = 0; i < nb_bytes; i++)
        sum += bytes[i];
    *field = (uint8_t)-sum;
}

static void seal_sdt(uint8_t *t)
{
    uint32_t length = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

    seal_checksum(t, length, t + 9);
}

static void fx_build_roots(void)
{
    fx.xsdt = fx_sdt("XSDT", 36 + 8 * fx.nb_tables, 1);
    for (int i = 0; i < fx.nb_tables; i++)
        put64(fx.xsdt + 36 + 8 * i, phys(fx.tables[i]));
    if (!fx.low)
        return;
    fx.rsdt = fx_sdt("RSDT", 36 + 4 * fx.nb_tables, 1);
    for (int i = 0; i < fx.nb_tables; i++)
        put32(fx.rsdt + 36 + 4 * i, (uint32_t)phys(fx.tables[i]));
}

static void fx_build_rsdp(void)
{
    uint8_t *r = fx.rsdp = fx_alloc(36);

    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "BOCHS ", 6);
    r[15] = fx.rsdp_revision;
    put32(r + 16, fx.rsdt ? (uint32_t)phys(fx.rsdt) : 0);
    if (fx.rsdp_revision >= 2) {
        put32(r + 20, 36);
        put64(r + 24, fx.xsdt_address_zero ? 0 : phys(fx.xsdt));
    }
    seal_checksum(r, 20, r + 8);
    if (fx.rsdp_revision >= 2)
        seal_checksum(r, 36, r + 32);
}

/* Checksums every table, builds the roots and the RSDP; returns the RSDP address. */
static uint64_t fx_seal(void)
{
    for (int i = 0; i < fx.nb_tables; i++)
        seal_sdt(fx.tables[i]);
    fx_build_roots();
    seal_sdt(fx.xsdt);
    if (fx.rsdt)
        seal_sdt(fx.rsdt);
    fx_build_rsdp();
    return phys(fx.rsdp);
}

static void fx_unlist(uint8_t *t)
{
    for (int i = 0; i < fx.nb_tables; i++)
        if (fx.tables[i] == t)
            fx.tables[i] = fx.tables[--fx.nb_tables];
}

static int parse(struct acpi_info *info)
{
    return acpi_parse(fx_seal(), info);
}

TestSuite(acpi, .init = fx_setup_high, .fini = fx_teardown);

/* ---- the good path ---- */

Test(acpi, good_xsdt_parse_fills_every_field)
{
    struct acpi_info info;

    cr_assert_eq(parse(&info), 0, "%s", acpi_last_error());
    cr_assert_str_eq(acpi_last_error(), "ok");
    cr_assert_eq(info.rsdp_revision, 2);
    cr_assert_eq(info.ecam_base, 0xB0000000);
    cr_assert_eq(info.ecam_bus_start, 0);
    cr_assert_eq(info.ecam_bus_end, 255);
    cr_assert(info.has_pm_timer);
    cr_assert_eq(info.pm_timer_port, 0xb008);
    cr_assert(info.pm_timer_32bit);
    cr_assert_eq(info.lapic_base, 0xFEE00000);
    cr_assert_eq(info.nb_tables, 3);
    cr_assert_eq(info.nb_bad_tables, 0);
}

Test(acpi, xsdt_entries_are_followed_above_4gib)
{
    struct acpi_info info;

    cr_assert_gt(phys(fx.mcfg), 0xFFFFFFFFull, "host heap should sit above 4 GiB");
    cr_assert_eq(parse(&info), 0, "%s", acpi_last_error());
    cr_assert_eq(info.ecam_base, 0xB0000000);
}

Test(acpi, unknown_tables_are_counted_and_ignored)
{
    struct acpi_info info;
    uint8_t *hpet = fx_sdt("HPET", 56, 1);

    fx_list(hpet);
    cr_assert_eq(parse(&info), 0, "%s", acpi_last_error());
    cr_assert_eq(info.nb_tables, 4);
    cr_assert_eq(info.nb_bad_tables, 0);
}

Test(acpi, ecam_base_above_4gib_and_partial_bus_range)
{
    struct acpi_info info;

    put64(fx.mcfg + 44, 0xE000000000ull);
    fx.mcfg[54] = 0;
    fx.mcfg[55] = 63;
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.ecam_base, 0xE000000000ull);
    cr_assert_eq(info.ecam_bus_end, 63);
}

Test(acpi, mcfg_picks_the_segment_0_allocation)
{
    struct acpi_info info;
    uint8_t *mcfg = fx_sdt("MCFG", 44 + 2 * 16, 1);

    put64(mcfg + 44, 0xC0000000);     /* segment 1 first */
    put16(mcfg + 52, 1);
    mcfg[55] = 255;
    put64(mcfg + 60, 0xB8000000);     /* then segment 0 */
    put16(mcfg + 68, 0);
    mcfg[70] = 0;
    mcfg[71] = 127;
    fx_unlist(fx.mcfg);
    fx_list(mcfg);
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.ecam_base, 0xB8000000);
    cr_assert_eq(info.ecam_bus_end, 127);
}

/* ---- RSDP ---- */

Test(acpi, null_rsdp_is_rejected)
{
    struct acpi_info info;

    cr_assert_eq(acpi_parse(0, &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "no RSDP");
}

Test(acpi, rsdp_bad_signature_is_rejected)
{
    struct acpi_info info;

    fx_seal();
    memcpy(fx.rsdp, "RSD PTX ", 8);
    seal_checksum(fx.rsdp, 20, fx.rsdp + 8);   /* checksums right, only the name wrong */
    seal_checksum(fx.rsdp, 36, fx.rsdp + 32);
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDP signature mismatch");
}

Test(acpi, rsdp_checksum_over_first_20_bytes_is_checked)
{
    struct acpi_info info;

    fx_seal();
    fx.rsdp[10] ^= 0x01;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDP checksum mismatch");
}

Test(acpi, rsdp_extended_checksum_is_checked_for_revision_2)
{
    struct acpi_info info;

    fx_seal();
    fx.rsdp[33] = 0x5a;                 /* reserved byte: outside the 20-byte sum */
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDP extended checksum mismatch");
}

Test(acpi, rsdp_revision_2_with_short_length_is_rejected)
{
    struct acpi_info info;

    fx_seal();
    put32(fx.rsdp + 20, 20);
    seal_checksum(fx.rsdp, 20, fx.rsdp + 8);
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDP length implausible");
}

/* ---- XSDT ---- */

Test(acpi, xsdt_bad_signature_is_rejected)
{
    struct acpi_info info;

    fx_seal();
    memcpy(fx.xsdt, "RSDT", 4);
    seal_sdt(fx.xsdt);
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "XSDT signature mismatch");
}

Test(acpi, xsdt_bad_checksum_is_rejected)
{
    struct acpi_info info;

    fx_seal();
    fx.xsdt[20] ^= 0x80;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "XSDT checksum mismatch");
}

Test(acpi, xsdt_length_shorter_than_header_is_rejected)
{
    struct acpi_info info;

    fx_seal();
    put32(fx.xsdt + 4, 20);
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "XSDT length implausible");
}

Test(acpi, null_xsdt_entry_is_counted_bad_and_skipped)
{
    struct acpi_info info;

    fx_seal();
    put64(fx.xsdt + 36 + 8 * 1, 0);    /* the MADT's entry */
    seal_sdt(fx.xsdt);
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
    cr_assert_eq(info.nb_tables, 3);
    cr_assert_eq(info.nb_bad_tables, 1);
    cr_assert_eq(info.lapic_base, ACPI_LAPIC_DEFAULT_BASE);
}

/* ---- listed tables with bad checksums: skipped, counted ---- */

Test(acpi, mcfg_with_bad_checksum_is_skipped_so_mcfg_is_missing)
{
    struct acpi_info info;

    fx_seal();
    fx.mcfg[44] ^= 0x10;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_ENOENT);
    cr_assert_str_eq(acpi_last_error(), "MCFG checksum mismatch");
    cr_assert_eq(info.nb_bad_tables, 1);
    cr_assert_eq(info.ecam_base, 0, "a table that failed its checksum must not be read");
}

Test(acpi, fadt_with_bad_checksum_is_skipped_so_no_pm_timer)
{
    struct acpi_info info;

    fx_seal();
    fx.fadt[100] ^= 0x01;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
    cr_assert_not(info.has_pm_timer);
    cr_assert_eq(info.pm_timer_port, 0);
    cr_assert_eq(info.nb_bad_tables, 1);
}

Test(acpi, madt_with_bad_checksum_is_skipped_so_lapic_is_default)
{
    struct acpi_info info;

    put32(fx.madt + 36, 0xFEC80000);
    fx_seal();
    fx.madt[50] ^= 0x01;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
    cr_assert_eq(info.lapic_base, ACPI_LAPIC_DEFAULT_BASE);
    cr_assert_eq(info.nb_bad_tables, 1);
}

Test(acpi, listed_table_with_unprintable_signature_is_counted_bad)
{
    struct acpi_info info;

    fx.madt[0] = 0x00;
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.nb_bad_tables, 1);
    cr_assert_eq(info.lapic_base, ACPI_LAPIC_DEFAULT_BASE);
}

Test(acpi, listed_table_with_huge_length_is_counted_bad_not_summed)
{
    struct acpi_info info;

    fx_seal();
    put32(fx.madt + 4, 0x40000000);     /* would read 1 GiB past a 60-byte table */
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
    cr_assert_eq(info.nb_bad_tables, 1);
}

/* ---- MCFG ---- */

Test(acpi, missing_mcfg_is_enoent)
{
    struct acpi_info info;

    fx_unlist(fx.mcfg);
    cr_assert_eq(parse(&info), -PM_ENOENT);
    cr_assert_str_eq(acpi_last_error(), "no MCFG table");
    cr_assert_eq(info.nb_tables, 2);
}

Test(acpi, mcfg_misspelled_is_not_an_mcfg)
{
    struct acpi_info info;

    memcpy(fx.mcfg, "MCFX", 4);
    cr_assert_eq(parse(&info), -PM_ENOENT);
    cr_assert_str_eq(acpi_last_error(), "no MCFG table");
    cr_assert_eq(info.nb_bad_tables, 0);
}

Test(acpi, mcfg_without_segment_0_is_enoent)
{
    struct acpi_info info;

    put16(fx.mcfg + 52, 1);
    cr_assert_eq(parse(&info), -PM_ENOENT);
    cr_assert_str_eq(acpi_last_error(), "MCFG has no segment 0 entry");
}

Test(acpi, mcfg_with_no_allocations_is_enoent)
{
    struct acpi_info info;
    uint8_t *mcfg = fx_sdt("MCFG", 44, 1);

    fx_unlist(fx.mcfg);
    fx_list(mcfg);
    cr_assert_eq(parse(&info), -PM_ENOENT);
}

/* ---- FADT: PM timer ---- */

Test(acpi, missing_fadt_means_no_pm_timer_but_parse_succeeds)
{
    struct acpi_info info;

    fx_unlist(fx.fadt);
    cr_assert_eq(parse(&info), 0);
    cr_assert_not(info.has_pm_timer);
    cr_assert_not(info.pm_timer_32bit);
}

Test(acpi, fadt_x_pm_tmr_blk_in_system_io_wins_over_legacy)
{
    struct acpi_info info;

    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.pm_timer_port, 0xb008);
}

Test(acpi, fadt_legacy_pm_tmr_blk_used_when_x_address_is_zero)
{
    struct acpi_info info;

    put64(fx.fadt + 212, 0);
    cr_assert_eq(parse(&info), 0);
    cr_assert(info.has_pm_timer);
    cr_assert_eq(info.pm_timer_port, 0x608);
}

Test(acpi, fadt_legacy_pm_tmr_blk_used_when_x_is_in_memory_space)
{
    struct acpi_info info;

    fx.fadt[208] = 0;                   /* system memory: not an I/O port */
    put64(fx.fadt + 212, 0xFED00000);
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.pm_timer_port, 0x608);
}

Test(acpi, fadt_acpi1_table_without_x_fields_uses_legacy_port)
{
    struct acpi_info info;
    uint8_t *fadt = fx_sdt("FACP", 116, 1);

    put32(fadt + 76, 0x408);
    fx_unlist(fx.fadt);
    fx_list(fadt);
    cr_assert_eq(parse(&info), 0);
    cr_assert(info.has_pm_timer);
    cr_assert_eq(info.pm_timer_port, 0x408);
    cr_assert_not(info.pm_timer_32bit);
}

Test(acpi, fadt_timer_is_24_bit_without_tmr_val_ext)
{
    struct acpi_info info;

    put32(fx.fadt + 112, 0x84a5);       /* QEMU q35's actual flags */
    cr_assert_eq(parse(&info), 0);
    cr_assert(info.has_pm_timer);
    cr_assert_not(info.pm_timer_32bit);
}

Test(acpi, fadt_timer_is_32_bit_with_tmr_val_ext)
{
    struct acpi_info info;

    put32(fx.fadt + 112, 1u << 8);
    cr_assert_eq(parse(&info), 0);
    cr_assert(info.pm_timer_32bit);
}

Test(acpi, fadt_with_no_timer_ports_means_no_pm_timer)
{
    struct acpi_info info;

    put32(fx.fadt + 76, 0);
    put64(fx.fadt + 212, 0);
    cr_assert_eq(parse(&info), 0);
    cr_assert_not(info.has_pm_timer);
}

Test(acpi, fadt_hardware_reduced_means_no_pm_timer)
{
    struct acpi_info info;

    put32(fx.fadt + 112, 1u << 20);
    cr_assert_eq(parse(&info), 0);
    cr_assert_not(info.has_pm_timer);
}

Test(acpi, fadt_shorter_than_acpi1_is_ignored)
{
    struct acpi_info info;
    uint8_t *fadt = fx_sdt("FACP", 80, 1);

    put32(fadt + 76, 0x608);
    fx_unlist(fx.fadt);
    fx_list(fadt);
    cr_assert_eq(parse(&info), 0);
    cr_assert_not(info.has_pm_timer);
}

/* ---- MADT ---- */

Test(acpi, madt_lapic_address_is_reported)
{
    struct acpi_info info;

    put32(fx.madt + 36, 0xFEC80000);
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.lapic_base, 0xFEC80000);
}

Test(acpi, madt_lapic_address_override_wins)
{
    struct acpi_info info;
    uint8_t *madt = fx_sdt("APIC", 44 + 8 + 12, 1);

    put32(madt + 36, 0xFEE00000);
    madt[44] = 0;                       /* processor local APIC */
    madt[45] = 8;
    madt[52] = 5;                       /* local APIC address override */
    madt[53] = 12;
    put64(madt + 56, 0x1FEE00000ull);
    fx_unlist(fx.madt);
    fx_list(madt);
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.lapic_base, 0x1FEE00000ull);
}

Test(acpi, madt_entry_of_length_zero_stops_the_walk)
{
    struct acpi_info info;

    fx.madt[45] = 0;                    /* first entry claims length 0 */
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.lapic_base, 0xFEE00000);
}

Test(acpi, missing_madt_means_default_lapic_base)
{
    struct acpi_info info;

    fx_unlist(fx.madt);
    cr_assert_eq(parse(&info), 0);
    cr_assert_eq(info.lapic_base, 0xFEE00000);
}

/* ---- RSDT path: fixtures below 4 GiB ---- */

TestSuite(acpi_rsdt, .init = fx_setup_low, .fini = fx_teardown);

Test(acpi_rsdt, revision_0_rsdp_uses_rsdt_32bit_entries)
{
    struct acpi_info info;

    fx.rsdp_revision = 0;
    cr_assert_eq(parse(&info), 0, "%s", acpi_last_error());
    cr_assert_eq(info.rsdp_revision, 0);
    cr_assert_eq(info.ecam_base, 0xB0000000);
    cr_assert_eq(info.pm_timer_port, 0xb008);
    cr_assert_eq(info.nb_tables, 3);
}

Test(acpi_rsdt, revision_0_rsdp_reads_rsdt_not_xsdt)
{
    struct acpi_info info;

    fx.rsdp_revision = 0;
    fx_seal();
    fx.xsdt[20] ^= 0x80;                /* unused: must not matter */
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
    fx.rsdt[20] ^= 0x80;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDT checksum mismatch");
}

Test(acpi_rsdt, revision_0_rsdp_ignores_bytes_past_20)
{
    struct acpi_info info;

    fx.rsdp_revision = 0;
    fx_seal();
    memset(fx.rsdp + 20, 0xee, 16);     /* a v1 RSDP is 20 bytes; these are not its own */
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
}

Test(acpi_rsdt, revision_2_rsdp_prefers_xsdt_over_rsdt)
{
    struct acpi_info info;

    fx_seal();
    fx.rsdt[20] ^= 0x80;                /* unused when an XSDT exists */
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0);
    fx.xsdt[20] ^= 0x80;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "XSDT checksum mismatch");
}

Test(acpi_rsdt, revision_2_rsdp_without_xsdt_falls_back_to_rsdt)
{
    struct acpi_info info;

    fx.xsdt_address_zero = true;
    fx_seal();
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), 0, "%s", acpi_last_error());
    cr_assert_eq(info.ecam_base, 0xB0000000);
    fx.rsdt[20] ^= 0x80;
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDT checksum mismatch");
}

Test(acpi_rsdt, rsdt_bad_signature_is_rejected)
{
    struct acpi_info info;

    fx.rsdp_revision = 0;
    fx_seal();
    memcpy(fx.rsdt, "XSDT", 4);
    seal_sdt(fx.rsdt);
    cr_assert_eq(acpi_parse(phys(fx.rsdp), &info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDT signature mismatch");
}

Test(acpi, revision_0_rsdp_with_rsdt_address_0_is_rejected)
{
    struct acpi_info info;

    fx.rsdp_revision = 0;               /* high fixtures: no RSDT is built */
    cr_assert_eq(parse(&info), -PM_EINVAL);
    cr_assert_str_eq(acpi_last_error(), "RSDT address is 0");
}
