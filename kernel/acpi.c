/*
 * ACPI table parser: RSDP -> XSDT/RSDT -> MCFG, FADT, MADT.
 *
 * Follows the ACPI Specification 6.5, section 5.2: 5.2.5.3 (RSDP), 5.2.6
 * (table header and checksum rule), 5.2.7/5.2.8 (RSDT with 32-bit entries,
 * XSDT with 64-bit entries), 5.2.9 (FADT: PM_TMR_BLK, X_PM_TMR_BLK, flag
 * TMR_VAL_EXT), 5.2.12 (MADT and its Local APIC Address Override entry);
 * and the PCI Firmware Specification 3.x, section 4.1.2, for MCFG.
 *
 * Every table is checked before a field of it is believed: a signature, a
 * sane length, and a byte sum of zero over that length. The RSDP and the
 * root table are the spine, so a fault there fails the parse; a listed
 * table that fails its check is skipped and counted, as if absent.
 *
 * Under QEMU q35 + OVMF the RSDP is revision 2, the XSDT lists FACP, APIC,
 * HPET, MCFG, WAET (and more), and the tables sit in EfiACPIReclaimMemory
 * below 4 GiB. The image is identity-mapped, so a table's physical address
 * is its pointer (acpi_phys_to_ptr). Fields are read through packed structs,
 * since the XSDT's 64-bit entries start at offset 36, not 8-byte aligned.
 */
#include <stddef.h>

#include "kernel/acpi.h"
#include "net/errno.h"

/* 5.2.5.3, Table 5.3: Root System Description Pointer. */
struct acpi_rsdp {
    char     signature[8];     /* "RSD PTR " */
    uint8_t  checksum;         /* over the first 20 bytes (the ACPI 1.0 part) */
    char     oem_id[6];
    uint8_t  revision;         /* 0 = ACPI 1.0; 2 = ACPI 2.0 and later */
    uint32_t rsdt_address;
    /* revision >= 2 only: */
    uint32_t length;           /* of this structure, 36 */
    uint64_t xsdt_address;
    uint8_t  extended_checksum; /* over `length` bytes */
    uint8_t  reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
_Static_assert(offsetof(struct acpi_rsdp, length) == 20, "RSDP v1 part is 20 bytes");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "RSDP XsdtAddress");

#define ACPI_RSDP_V1_BYTES 20

/* 5.2.6, Table 5.4: System Description Table Header, common to every SDT. */
struct acpi_sdt_header {
    char     signature[4];
    uint32_t length;           /* of the whole table, header included */
    uint8_t  revision;
    uint8_t  checksum;         /* whole table sums to zero */
    char     oem_id[6];
    char     oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header is 36 bytes");

/*
 * No table the kernel reads comes near this; a larger length is garbage
 * and would have the checksum walk far past the table.
 */
#define ACPI_SDT_MAX_BYTES (1u << 20)

/* PCI Firmware Spec 3.x, 4.1.2: MCFG header, then allocation structures. */
struct acpi_mcfg {
    struct acpi_sdt_header hdr;
    uint8_t reserved[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG header is 44 bytes");

struct acpi_mcfg_alloc {
    uint64_t base_address;     /* ECAM address of bus 0 of this segment */
    uint16_t segment;
    uint8_t  bus_start;
    uint8_t  bus_end;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG allocation is 16 bytes");

/* 5.2.3.2, Table 5.1: Generic Address Structure. */
struct acpi_gas {
    uint8_t  space_id;         /* 0 system memory, 1 system I/O, ... */
    uint8_t  bit_width;
    uint8_t  bit_offset;
    uint8_t  access_size;
    uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_GAS_SYSTEM_IO 1

/*
 * 5.2.9, Table 5.9: FADT, up to X_PM_TMR_BLK (the last field read here).
 * An ACPI 1.0 FADT ends after `flags` (116 bytes); the X_ fields exist only
 * when the table's length covers them.
 */
struct acpi_fadt {
    struct acpi_sdt_header hdr;            /* "FACP" */
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t  reserved0;
    uint8_t  preferred_pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t  acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
    uint32_t pm2_cnt_blk;
    uint32_t pm_tmr_blk;                   /* offset 76: legacy I/O port */
    uint32_t gpe0_blk, gpe1_blk;
    uint8_t  pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
    uint8_t  gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t  duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t  reserved1;
    uint32_t flags;                        /* offset 112: Table 5.10 */
    struct acpi_gas reset_reg;
    uint8_t  reset_value;
    uint16_t arm_boot_arch;
    uint8_t  fadt_minor_version;
    uint64_t x_firmware_ctrl, x_dsdt;
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk;
    struct acpi_gas x_pm1a_cnt_blk, x_pm1b_cnt_blk;
    struct acpi_gas x_pm2_cnt_blk;
    struct acpi_gas x_pm_tmr_blk;          /* offset 208 */
} __attribute__((packed));
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT X_PM_TMR_BLK");

#define ACPI_FADT_ACPI1_BYTES      116
#define ACPI_FADT_TMR_VAL_EXT      (1u << 8)   /* PM timer counts 32 bits, not 24 */
#define ACPI_FADT_HW_REDUCED_ACPI  (1u << 20)  /* no fixed hardware, so no PM timer */

/* 5.2.12, Table 5.43: MADT header; entries of (type, length) follow. */
struct acpi_madt {
    struct acpi_sdt_header hdr;            /* "APIC" */
    uint32_t lapic_address;
    uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header is 44 bytes");

struct acpi_madt_entry {
    uint8_t type;
    uint8_t length;
} __attribute__((packed));

/* 5.2.12.8: a 64-bit local APIC address that supersedes the 32-bit one. */
struct acpi_madt_lapic_override {
    struct acpi_madt_entry entry;          /* type 5, length 12 */
    uint16_t reserved;
    uint64_t lapic_address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_override) == 12, "override is 12 bytes");

#define ACPI_MADT_LAPIC_OVERRIDE 5

/* What the table walk found, beyond what goes into struct acpi_info. */
struct acpi_walk {
    bool have_mcfg;
    bool mcfg_bad_checksum;    /* an "MCFG" was listed but failed its checksum */
    bool mcfg_no_segment0;     /* an MCFG was read but had no segment 0 entry */
};

static const char *acpi_error = "ok";

/* The one place a firmware physical address becomes a pointer (identity map). */
static const void *acpi_phys_to_ptr(uint64_t phys)
{
    return (const void *)(uintptr_t)phys;
}

static int acpi_fail(int err, const char *why)
{
    acpi_error = why;
    return err;
}

const char *acpi_last_error(void)
{
    return acpi_error;
}

/* 5.2.6: all bytes of a table, checksum field included, sum to zero mod 256. */
static uint8_t acpi_sum(const void *p, uint32_t nb_bytes)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (uint32_t i = 0; i < nb_bytes; i++)
        sum += b[i];
    return sum;
}

static bool acpi_sig_is(const char *sig, const char *want, int nb_chars)
{
    for (int i = 0; i < nb_chars; i++)
        if (sig[i] != want[i])
            return false;
    return true;
}

/* Signatures are four printable ASCII characters; anything else is not a table. */
static bool acpi_sig_printable(const char sig[4])
{
    for (int i = 0; i < 4; i++)
        if (sig[i] < 0x21 || sig[i] > 0x7e)
            return false;
    return true;
}

static bool acpi_sdt_length_sane(const struct acpi_sdt_header *hdr)
{
    return hdr->length >= sizeof(*hdr) && hdr->length <= ACPI_SDT_MAX_BYTES;
}

static int acpi_check_rsdp(const struct acpi_rsdp *rsdp)
{
    if (!acpi_sig_is(rsdp->signature, "RSD PTR ", 8))
        return acpi_fail(-PM_EINVAL, "RSDP signature mismatch");
    if (acpi_sum(rsdp, ACPI_RSDP_V1_BYTES) != 0)
        return acpi_fail(-PM_EINVAL, "RSDP checksum mismatch");
    if (rsdp->revision < 2)
        return 0;
    if (rsdp->length < sizeof(*rsdp) || rsdp->length > ACPI_SDT_MAX_BYTES)
        return acpi_fail(-PM_EINVAL, "RSDP length implausible");
    if (acpi_sum(rsdp, rsdp->length) != 0)
        return acpi_fail(-PM_EINVAL, "RSDP extended checksum mismatch");
    return 0;
}

/* The root table: XSDT when the RSDP has one (5.2.5.3), else the RSDT. */
struct acpi_root {
    const struct acpi_sdt_header *hdr;
    uint32_t entry_bytes;      /* 8 (XSDT) or 4 (RSDT) */
    int nb_entries;
};

static int acpi_check_root(const struct acpi_sdt_header *hdr, bool is_xsdt)
{
    if (hdr == NULL)
        return acpi_fail(-PM_EINVAL, is_xsdt ? "XSDT address is 0" : "RSDT address is 0");
    if (!acpi_sig_is(hdr->signature, is_xsdt ? "XSDT" : "RSDT", 4))
        return acpi_fail(-PM_EINVAL, is_xsdt ? "XSDT signature mismatch" : "RSDT signature mismatch");
    if (!acpi_sdt_length_sane(hdr))
        return acpi_fail(-PM_EINVAL, is_xsdt ? "XSDT length implausible" : "RSDT length implausible");
    if (acpi_sum(hdr, hdr->length) != 0)
        return acpi_fail(-PM_EINVAL, is_xsdt ? "XSDT checksum mismatch" : "RSDT checksum mismatch");
    return 0;
}

static int acpi_find_root(const struct acpi_rsdp *rsdp, struct acpi_root *root)
{
    bool is_xsdt = rsdp->revision >= 2 && rsdp->xsdt_address != 0;
    uint64_t phys = is_xsdt ? rsdp->xsdt_address : rsdp->rsdt_address;
    int err;

    root->hdr = acpi_phys_to_ptr(phys);
    err = acpi_check_root(root->hdr, is_xsdt);
    if (err)
        return err;
    root->entry_bytes = is_xsdt ? 8 : 4;
    root->nb_entries = (int)((root->hdr->length - sizeof(*root->hdr)) / root->entry_bytes);
    return 0;
}

/* Entry i of the root table: a little-endian physical address, unaligned in the XSDT. */
static uint64_t acpi_root_entry(const struct acpi_root *root, int i)
{
    const uint8_t *entries = (const uint8_t *)(root->hdr + 1);
    const uint8_t *e = entries + (uint32_t)i * root->entry_bytes;
    uint64_t phys = 0;

    for (uint32_t b = root->entry_bytes; b-- > 0;)
        phys = (phys << 8) | e[b];
    return phys;
}

/* Keeps the segment 0 allocation; other segments do not exist on q35. */
static void acpi_use_mcfg(const struct acpi_sdt_header *hdr, struct acpi_info *out,
                          struct acpi_walk *walk)
{
    const struct acpi_mcfg_alloc *alloc = (const void *)((const struct acpi_mcfg *)hdr + 1);
    uint32_t nb_allocs;

    if (walk->have_mcfg || hdr->length < sizeof(struct acpi_mcfg))
        return;
    nb_allocs = (hdr->length - sizeof(struct acpi_mcfg)) / sizeof(*alloc);
    for (uint32_t i = 0; i < nb_allocs; i++) {
        if (alloc[i].segment != 0)
            continue;
        out->ecam_base = alloc[i].base_address;
        out->ecam_bus_start = alloc[i].bus_start;
        out->ecam_bus_end = alloc[i].bus_end;
        walk->have_mcfg = true;
        return;
    }
    walk->mcfg_no_segment0 = true;
}

/*
 * The PM timer port: X_PM_TMR_BLK when the table is long enough to hold it
 * and it names a nonzero system I/O port, else PM_TMR_BLK. A timer in
 * memory space, or past port 0xffff, is one this kernel cannot read.
 */
static uint64_t acpi_fadt_timer_port(const struct acpi_fadt *fadt)
{
    const struct acpi_gas *x = &fadt->x_pm_tmr_blk;
    bool has_x = fadt->hdr.length >= offsetof(struct acpi_fadt, x_pm_tmr_blk) + sizeof(*x);

    if (has_x && x->space_id == ACPI_GAS_SYSTEM_IO && x->address != 0)
        return x->address;
    return fadt->pm_tmr_blk;
}

static void acpi_use_fadt(const struct acpi_sdt_header *hdr, struct acpi_info *out)
{
    const struct acpi_fadt *fadt = (const void *)hdr;
    uint64_t port;

    if (hdr->length < ACPI_FADT_ACPI1_BYTES)
        return;
    if (fadt->flags & ACPI_FADT_HW_REDUCED_ACPI)
        return;
    port = acpi_fadt_timer_port(fadt);
    if (port == 0 || port > 0xffff)
        return;
    out->has_pm_timer = true;
    out->pm_timer_port = (uint16_t)port;
    out->pm_timer_32bit = (fadt->flags & ACPI_FADT_TMR_VAL_EXT) != 0;
}

static void acpi_use_madt(const struct acpi_sdt_header *hdr, struct acpi_info *out)
{
    const struct acpi_madt *madt = (const void *)hdr;
    const uint8_t *p = (const uint8_t *)(madt + 1);
    const uint8_t *end = (const uint8_t *)hdr + hdr->length;

    if (hdr->length < sizeof(*madt))
        return;
    out->lapic_base = madt->lapic_address;
    while (end - p >= (ptrdiff_t)sizeof(struct acpi_madt_entry)) {
        const struct acpi_madt_entry *e = (const void *)p;

        if (e->length < sizeof(*e) || e->length > end - p)
            break;  /* malformed entry: stop rather than loop or overrun */
        if (e->type == ACPI_MADT_LAPIC_OVERRIDE &&
            e->length >= sizeof(struct acpi_madt_lapic_override))
            out->lapic_base = ((const struct acpi_madt_lapic_override *)p)->lapic_address;
        p += e->length;
    }
}

/* One listed table: check it, then read it if it is one the kernel uses. */
static void acpi_use_table(uint64_t phys, struct acpi_info *out, struct acpi_walk *walk)
{
    const struct acpi_sdt_header *hdr = acpi_phys_to_ptr(phys);

    if (hdr == NULL || !acpi_sig_printable(hdr->signature) || !acpi_sdt_length_sane(hdr)) {
        out->nb_bad_tables++;
        return;
    }
    if (acpi_sum(hdr, hdr->length) != 0) {
        out->nb_bad_tables++;
        if (acpi_sig_is(hdr->signature, "MCFG", 4))
            walk->mcfg_bad_checksum = true;
        return;
    }
    if (acpi_sig_is(hdr->signature, "MCFG", 4))
        acpi_use_mcfg(hdr, out, walk);
    else if (acpi_sig_is(hdr->signature, "FACP", 4))
        acpi_use_fadt(hdr, out);
    else if (acpi_sig_is(hdr->signature, "APIC", 4))
        acpi_use_madt(hdr, out);
}

static void acpi_info_init(struct acpi_info *out)
{
    out->rsdp_revision = 0;
    out->ecam_base = 0;
    out->ecam_bus_start = 0;
    out->ecam_bus_end = 0;
    out->has_pm_timer = false;
    out->pm_timer_port = 0;
    out->pm_timer_32bit = false;
    out->lapic_base = ACPI_LAPIC_DEFAULT_BASE;
    out->nb_tables = 0;
    out->nb_bad_tables = 0;
}

static int acpi_mcfg_missing(const struct acpi_walk *walk)
{
    if (walk->mcfg_no_segment0)
        return acpi_fail(-PM_ENOENT, "MCFG has no segment 0 entry");
    if (walk->mcfg_bad_checksum)
        return acpi_fail(-PM_ENOENT, "MCFG checksum mismatch");
    return acpi_fail(-PM_ENOENT, "no MCFG table");
}

int acpi_parse(uint64_t rsdp_phys, struct acpi_info *out)
{
    const struct acpi_rsdp *rsdp = acpi_phys_to_ptr(rsdp_phys);
    struct acpi_walk walk = { .have_mcfg = false };
    struct acpi_root root;
    int err;

    acpi_info_init(out);
    if (rsdp == NULL)
        return acpi_fail(-PM_EINVAL, "no RSDP");
    err = acpi_check_rsdp(rsdp);
    if (err)
        return err;
    out->rsdp_revision = rsdp->revision;
    err = acpi_find_root(rsdp, &root);
    if (err)
        return err;
    out->nb_tables = root.nb_entries;
    for (int i = 0; i < root.nb_entries; i++)
        acpi_use_table(acpi_root_entry(&root, i), out, &walk);
    if (!walk.have_mcfg)
        return acpi_mcfg_missing(&walk);
    acpi_error = "ok";
    return 0;
}
