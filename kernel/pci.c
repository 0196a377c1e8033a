/*
 * PCI enumeration and configuration over ECAM.
 *
 * Follows the PCI Local Bus Specification 3.0 (6.1 config header layout,
 * 6.2.2 command register, 6.2.5.1 BAR sizing, 6.7 capability list), the
 * PCI-to-PCI Bridge Architecture Specification 1.2 (3.2 type 1 header:
 * secondary bus number) and PCI Express Base 4.0, 7.2.2 (ECAM: 4 KiB of
 * config space per function at base + bus<<20 | dev<<15 | fn<<12).
 *
 * QEMU q35 exposes ECAM at the MCFG base (0xB0000000 with OVMF); every
 * config access is a trapped MMIO access, a VM exit under TCG. So the walk
 * reads as little as it can: only bus 0 and the buses that bridges lead to,
 * functions 1..7 only of multi-function devices, and a few dwords each.
 *
 * Bus walk, in ascending bus order so devices come out sorted by b:d.f:
 *
 *   pending = {0}
 *   for bus = 0..255 in pending:
 *       for dev 0..31, fn 0 (fn 1..7 if multi-function):
 *           record it, size its BARs
 *           if a bridge with secondary > bus: pending += secondary
 *
 * Firmware numbers buses depth-first, so a bridge's secondary bus is always
 * above its own: one ascending pass reaches every bus, and a misprogrammed
 * bridge pointing back down cannot make the walk loop.
 */
#include <stddef.h>

#include "kernel/io.h"
#include "kernel/pci.h"
#include "net/errno.h"

#define PCI_MAX_DEVS_PER_BUS 32
#define PCI_MAX_FNS          8
#define PCI_NB_BUSES         256
#define PCI_CAP_FIRST        0x40   /* capabilities live after the 64-byte header */
#define PCI_CAP_MAX_HOPS     48     /* (256 - 64) / 4: more means a looped list */

/* BAR low bits (6.2.5.1). */
#define PCI_BAR_IO           0x1u
#define PCI_BAR_IO_MASK      0xfffffffcu
#define PCI_BAR_MEM_TYPE     0x6u
#define PCI_BAR_MEM_TYPE_32  0x0u
#define PCI_BAR_MEM_TYPE_1M  0x2u   /* legacy "below 1 MiB": decodes like 32-bit */
#define PCI_BAR_MEM_TYPE_64  0x4u
#define PCI_BAR_PREFETCH     0x8u
#define PCI_BAR_MEM_MASK     0xfffffff0u

/* ---- ECAM ---- */

/* The one ECAM window (the kernel knows only segment 0). */
struct pci_ecam {
    uint64_t base;             /* MCFG base address: where bus 0 would be */
    uint8_t bus_start, bus_end;   /* MCFG's bus range: only these are mapped */
};

static struct pci_ecam pci_ecam_window;

static volatile void *pci_ecam_addr(const struct pci_ecam *ecam, uint8_t bus, uint8_t dev,
                                    uint8_t fn, uint16_t off)
{
    uint64_t addr = ecam->base + ((uint64_t)bus << 20) + ((uint64_t)(dev & 31) << 15) +
                    ((uint64_t)(fn & 7) << 12) + (off & 0xffc);

    return (volatile void *)(uintptr_t)addr;
}

static uint32_t pci_ecam_read32(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    const struct pci_ecam *ecam = ctx;

    if (bus < ecam->bus_start || bus > ecam->bus_end)
        return 0xffffffffu;    /* outside the window: looks like an empty slot */
    return mmio_read32(pci_ecam_addr(ecam, bus, dev, fn, off));
}

static void pci_ecam_write32(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
                             uint32_t val)
{
    const struct pci_ecam *ecam = ctx;

    if (bus < ecam->bus_start || bus > ecam->bus_end)
        return;
    mmio_write32(pci_ecam_addr(ecam, bus, dev, fn, off), val);
}

void pci_ecam_ops(struct pci_cfg_ops *ops, uint64_t ecam_base, uint8_t bus_start,
                  uint8_t bus_end)
{
    pci_ecam_window.base = ecam_base;
    pci_ecam_window.bus_start = bus_start;
    pci_ecam_window.bus_end = bus_end;
    ops->read32 = pci_ecam_read32;
    ops->write32 = pci_ecam_write32;
    ops->ctx = &pci_ecam_window;
}

/* ---- config access for a known function ---- */

uint32_t pci_cfg_read32(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off)
{
    return ops->read32(ops->ctx, d->bus, d->dev, d->fn, off & 0xffc);
}

uint16_t pci_cfg_read16(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off)
{
    return (uint16_t)(pci_cfg_read32(ops, d, off) >> ((off & 2) * 8));
}

uint8_t pci_cfg_read8(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off)
{
    return (uint8_t)(pci_cfg_read32(ops, d, off) >> ((off & 3) * 8));
}

void pci_cfg_write32(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                     uint32_t val)
{
    ops->write32(ops->ctx, d->bus, d->dev, d->fn, off & 0xffc, val);
}

/* Replace the `mask` bits at byte `shift` of a dword, keeping the rest. */
static void pci_cfg_rmw(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                        uint32_t mask, uint32_t val)
{
    unsigned shift = (off & 3) * 8;
    uint32_t v = pci_cfg_read32(ops, d, off);

    v = (v & ~(mask << shift)) | ((val & mask) << shift);
    pci_cfg_write32(ops, d, off, v);
}

void pci_cfg_write16(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                     uint16_t val)
{
    pci_cfg_rmw(ops, d, off & ~1u, 0xffff, val);
}

void pci_cfg_write8(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                    uint8_t val)
{
    pci_cfg_rmw(ops, d, off, 0xff, val);
}

/*
 * COMMAND shares its dword with STATUS, whose error bits are write-1-to-
 * clear (6.2.3). Writing zeros in the STATUS half changes nothing there.
 */
void pci_write_command(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t cmd)
{
    pci_cfg_write32(ops, d, PCI_CFG_COMMAND, cmd);
}

void pci_enable(const struct pci_cfg_ops *ops, const struct pci_dev *d, bool mem, bool io,
                bool bus_master)
{
    uint16_t cmd = pci_cfg_read16(ops, d, PCI_CFG_COMMAND);
    uint16_t want = cmd;

    if (mem)
        want |= PCI_COMMAND_MEMORY;
    if (io)
        want |= PCI_COMMAND_IO;
    if (bus_master)
        want |= PCI_COMMAND_BUS_MASTER;
    if (want != cmd)
        pci_write_command(ops, d, want);
}

/* ---- capabilities (6.7) ---- */

static uint16_t pci_cap_list_head(uint8_t header_type)
{
    /* A CardBus bridge keeps its list pointer at 0x14; the others at 0x34. */
    return (header_type & PCI_HEADER_TYPE_MASK) == 2 ? 0x14 : PCI_CFG_CAP_PTR;
}

int pci_find_cap(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint8_t cap_id,
                 int start)
{
    uint8_t ptr;

    if (start == 0) {
        if (!(pci_cfg_read16(ops, d, PCI_CFG_STATUS) & PCI_STATUS_CAP_LIST))
            return -PM_ENOENT;
        ptr = pci_cfg_read8(ops, d, pci_cap_list_head(d->header_type));
    } else if (start >= PCI_CAP_FIRST && start <= 0xfc) {
        ptr = pci_cfg_read8(ops, d, (uint16_t)start + 1);
    } else {
        return -PM_EINVAL;
    }
    for (int hops = 0; hops < PCI_CAP_MAX_HOPS; hops++) {
        uint16_t id_next;

        ptr &= 0xfc;            /* the bottom two bits are reserved */
        if (ptr < PCI_CAP_FIRST)
            return -PM_ENOENT;  /* 0 ends the list; inside the header is corrupt */
        id_next = pci_cfg_read16(ops, d, ptr);
        if ((id_next & 0xff) == cap_id)
            return ptr;
        ptr = (uint8_t)(id_next >> 8);
    }
    return -PM_ENOENT;
}

/* ---- BARs (6.2.5.1) ---- */

/* Lowest set bit of the writable address bits: the BAR's size. */
static uint64_t pci_bar_size(uint64_t writable)
{
    return writable & (~writable + 1);
}

static void pci_bar_clear(struct pci_bar *bar)
{
    bar->base = 0;
    bar->size = 0;
    bar->is_io = false;
    bar->is_64 = false;
    bar->prefetchable = false;
}

int pci_bar_decode(uint32_t orig_lo, uint32_t orig_hi, uint32_t probe_lo, uint32_t probe_hi,
                   bool last_slot, struct pci_bar *out)
{
    uint32_t type = orig_lo & PCI_BAR_MEM_TYPE;

    pci_bar_clear(out);
    if (orig_lo & PCI_BAR_IO) {
        /* I/O BARs may hardwire the upper 16 bits to 0: the low set bit still sizes. */
        out->is_io = true;
        out->base = orig_lo & PCI_BAR_IO_MASK;
        out->size = pci_bar_size(probe_lo & PCI_BAR_IO_MASK);
        return 1;
    }
    out->prefetchable = (orig_lo & PCI_BAR_PREFETCH) != 0;
    if (type == PCI_BAR_MEM_TYPE_32 || type == PCI_BAR_MEM_TYPE_1M) {
        out->base = orig_lo & PCI_BAR_MEM_MASK;
        out->size = pci_bar_size(probe_lo & PCI_BAR_MEM_MASK);
        return 1;
    }
    if (type != PCI_BAR_MEM_TYPE_64 || last_slot) {
        pci_bar_clear(out);
        return -PM_EINVAL;     /* reserved type, or a 64-bit BAR with no upper half */
    }
    out->is_64 = true;
    out->base = ((uint64_t)orig_hi << 32) | (orig_lo & PCI_BAR_MEM_MASK);
    out->size = pci_bar_size(((uint64_t)probe_hi << 32) | (probe_lo & PCI_BAR_MEM_MASK));
    return 2;
}

static int pci_nb_bars(uint8_t header_type)
{
    switch (header_type & PCI_HEADER_TYPE_MASK) {
    case PCI_HEADER_TYPE_DEVICE: return 6;
    case PCI_HEADER_TYPE_BRIDGE: return 2;
    default:                     return 1;  /* CardBus: the socket register block */
    }
}

/*
 * Write all ones to the dword at off, read back what sticks, put the
 * original back. When nothing stuck (an unimplemented BAR reads 0 either
 * way) the register already holds its old value: skip that access.
 */
static uint32_t pci_bar_probe(const struct pci_cfg_ops *ops, const struct pci_dev *d,
                              uint16_t off, uint32_t orig)
{
    uint32_t probe;

    pci_cfg_write32(ops, d, off, 0xffffffffu);
    probe = pci_cfg_read32(ops, d, off);
    if (probe != orig)
        pci_cfg_write32(ops, d, off, orig);
    return probe;
}

/* Sizes BAR slot i (decode already off); returns the slots it used (>= 1). */
static int pci_size_bar(const struct pci_cfg_ops *ops, struct pci_dev *d, int i, int nb_bars)
{
    uint16_t off = (uint16_t)(PCI_CFG_BAR0 + 4 * i);
    bool last_slot = i == nb_bars - 1;
    uint32_t lo = pci_cfg_read32(ops, d, off);
    uint32_t hi = 0, probe_hi = 0, probe_lo;
    bool is_mem64 = !(lo & PCI_BAR_IO) && (lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM_TYPE_64;
    int nb_slots;

    probe_lo = pci_bar_probe(ops, d, off, lo);
    if (is_mem64 && !last_slot) {
        hi = pci_cfg_read32(ops, d, off + 4);
        probe_hi = pci_bar_probe(ops, d, off + 4, hi);
    }
    nb_slots = pci_bar_decode(lo, hi, probe_lo, probe_hi, last_slot, &d->bar[i]);
    return nb_slots > 0 ? nb_slots : 1;
}

/*
 * 6.2.5.1: turn decode off while a BAR holds all ones, or the device would
 * briefly claim whatever address range that spells; then put COMMAND back.
 */
static void pci_size_bars(const struct pci_cfg_ops *ops, struct pci_dev *d)
{
    int nb_bars = pci_nb_bars(d->header_type);
    uint16_t decode = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
    uint16_t cmd = pci_cfg_read16(ops, d, PCI_CFG_COMMAND);

    if (cmd & decode)
        pci_write_command(ops, d, cmd & ~decode);
    for (int i = 0; i < nb_bars;)
        i += pci_size_bar(ops, d, i, nb_bars);
    if (cmd & decode)
        pci_write_command(ops, d, cmd);
}

/* ---- enumeration ---- */

struct pci_walk {
    const struct pci_cfg_ops *ops;
    struct pci_dev *devs;
    int max_devs;
    int nb_found;
    uint8_t pending[PCI_NB_BUSES / 8];   /* buses still to scan, one bit each */
};

static void pci_walk_mark(struct pci_walk *w, uint8_t bus)
{
    w->pending[bus / 8] |= (uint8_t)(1u << (bus % 8));
}

static bool pci_walk_is_pending(const struct pci_walk *w, int bus)
{
    return (w->pending[bus / 8] >> (bus % 8)) & 1;
}

/* Fill in a present function from its header dwords; returns its header type. */
static uint8_t pci_read_ids(const struct pci_cfg_ops *ops, struct pci_dev *d, uint32_t id)
{
    uint32_t class_rev = pci_cfg_read32(ops, d, PCI_CFG_REVISION_ID);

    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    d->prog_if = (uint8_t)(class_rev >> 8);
    d->subclass = (uint8_t)(class_rev >> 16);
    d->class_code = (uint8_t)(class_rev >> 24);
    d->header_type = pci_cfg_read8(ops, d, PCI_CFG_HEADER_TYPE);
    for (int i = 0; i < 6; i++)
        pci_bar_clear(&d->bar[i]);
    return d->header_type;
}

/*
 * Record one function if there is a slot for it (a function past max_devs
 * is counted only, its BARs left alone). A bridge queues its secondary bus.
 * Returns the header type, or -1 if the function is absent.
 */
static int pci_scan_fn(struct pci_walk *w, uint8_t bus, uint8_t dev, uint8_t fn)
{
    struct pci_dev spare;
    struct pci_dev *d = w->nb_found < w->max_devs ? &w->devs[w->nb_found] : &spare;
    uint32_t id;
    uint8_t header_type;

    d->bus = bus;
    d->dev = dev;
    d->fn = fn;
    id = pci_cfg_read32(w->ops, d, PCI_CFG_VENDOR_ID);
    if ((id & 0xffff) == PCI_VENDOR_NONE)
        return -1;
    header_type = pci_read_ids(w->ops, d, id);
    if (d != &spare)
        pci_size_bars(w->ops, d);
    if ((header_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE) {
        uint8_t secondary = pci_cfg_read8(w->ops, d, PCI_CFG_BRIDGE_SECONDARY_BUS);
        if (secondary > bus)
            pci_walk_mark(w, secondary);
    }
    w->nb_found++;
    return header_type;
}

static void pci_scan_bus(struct pci_walk *w, uint8_t bus)
{
    for (uint8_t dev = 0; dev < PCI_MAX_DEVS_PER_BUS; dev++) {
        int header_type = pci_scan_fn(w, bus, dev, 0);

        if (header_type < 0 || !(header_type & PCI_HEADER_MULTI_FN))
            continue;
        for (uint8_t fn = 1; fn < PCI_MAX_FNS; fn++)
            pci_scan_fn(w, bus, dev, fn);
    }
}

int pci_enumerate(const struct pci_cfg_ops *ops, struct pci_dev *devs, int max_devs)
{
    struct pci_walk w = { .ops = ops, .devs = devs, .max_devs = max_devs };

    if (w.max_devs < 0)
        w.max_devs = 0;
    pci_walk_mark(&w, 0);
    for (int bus = 0; bus < PCI_NB_BUSES; bus++)
        if (pci_walk_is_pending(&w, bus))
            pci_scan_bus(&w, (uint8_t)bus);
    return w.nb_found;
}

/* ---- MSI-X (6.8.2) ---- */

int pci_msix_probe(const struct pci_cfg_ops *ops, const struct pci_dev *d, struct pci_msix *out)
{
    int cap = pci_find_cap(ops, d, PCI_CAP_ID_MSIX, 0);
    uint32_t where;
    const struct pci_bar *bar;
    uint64_t offset, bytes;

    if (cap < 0)
        return -PM_ENOENT;
    out->cap = (uint16_t)cap;
    out->table_size =
        (uint16_t)((pci_cfg_read16(ops, d, (uint16_t)(cap + PCI_MSIX_CONTROL)) &
                    PCI_MSIX_CTRL_SIZE_MASK) + 1);
    where = pci_cfg_read32(ops, d, (uint16_t)(cap + PCI_MSIX_TABLE));
    out->table = NULL;
    if ((where & PCI_MSIX_BIR_MASK) >= 6)
        return -PM_ENODEV;
    bar = &d->bar[where & PCI_MSIX_BIR_MASK];
    offset = where & ~(uint32_t)PCI_MSIX_BIR_MASK;
    bytes = (uint64_t)out->table_size * PCI_MSIX_ENTRY_BYTES;
    if (bar->is_io || bar->base == 0 || bar->size < bytes || offset > bar->size - bytes)
        return -PM_ENODEV;
    out->table = (volatile uint8_t *)(uintptr_t)(bar->base + offset);
    return 0;
}

int pci_msix_set_entry(const struct pci_msix *x, uint16_t n, uint64_t addr, uint32_t data,
                       bool masked)
{
    volatile uint8_t *e;

    if (x->table == NULL || n >= x->table_size)
        return -PM_EINVAL;
    e = x->table + (size_t)n * PCI_MSIX_ENTRY_BYTES;
    /* 6.8.2.9: change a message only while its entry is masked. */
    mmio_write32(e + PCI_MSIX_ENTRY_CTRL, PCI_MSIX_ENTRY_MASKED);
    mmio_write32(e + PCI_MSIX_ENTRY_ADDR_LO, (uint32_t)addr);
    mmio_write32(e + PCI_MSIX_ENTRY_ADDR_HI, (uint32_t)(addr >> 32));
    mmio_write32(e + PCI_MSIX_ENTRY_DATA, data);
    if (!masked)
        mmio_write32(e + PCI_MSIX_ENTRY_CTRL, 0);
    return 0;
}

void pci_msix_enable(const struct pci_cfg_ops *ops, const struct pci_dev *d,
                     const struct pci_msix *x, bool on)
{
    uint16_t at = (uint16_t)(x->cap + PCI_MSIX_CONTROL);
    uint16_t ctrl = pci_cfg_read16(ops, d, at);

    ctrl &= (uint16_t)~(PCI_MSIX_CTRL_MASKALL | PCI_MSIX_CTRL_ENABLE);
    if (on)
        ctrl |= PCI_MSIX_CTRL_ENABLE;
    pci_cfg_write16(ops, d, at, ctrl);
}

/* ---- names ---- */

struct pci_nic_id {
    uint16_t vendor, device;
    const char *name;
};

static const struct pci_nic_id pci_nics[] = {
    { 0x8086, 0x100e, "e1000 (82540EM)" },
    { 0x1af4, 0x1000, "virtio-net (transitional)" },   /* virtio 1.x, 4.1.2.1 */
    { 0x1af4, 0x1041, "virtio-net" },                  /* 0x1040 + device id 1 */
};

const char *pci_nic_name(uint16_t vendor, uint16_t device)
{
    for (size_t i = 0; i < sizeof(pci_nics) / sizeof(pci_nics[0]); i++)
        if (pci_nics[i].vendor == vendor && pci_nics[i].device == device)
            return pci_nics[i].name;
    return NULL;
}

/* PCI Code and ID Assignment Specification 1.x, section 1: base class and sub-class. */
struct pci_class_id {
    uint8_t class_code, subclass;
    const char *name;
};

static const struct pci_class_id pci_classes[] = {
    { 0x01, 0x00, "scsi" },         { 0x01, 0x01, "ide" },
    { 0x01, 0x06, "sata" },         { 0x01, 0x08, "nvme" },
    { 0x02, 0x00, "ethernet" },     { 0x03, 0x00, "vga" },
    { 0x03, 0x80, "display" },      { 0x04, 0x03, "audio" },
    { 0x05, 0x00, "ram" },          { 0x06, 0x00, "host bridge" },
    { 0x06, 0x01, "isa bridge" },   { 0x06, 0x04, "pci bridge" },
    { 0x07, 0x00, "serial" },       { 0x08, 0x80, "system" },
    { 0x0c, 0x03, "usb" },          { 0x0c, 0x05, "smbus" },
};

const char *pci_class_name(uint8_t class_code, uint8_t subclass)
{
    for (size_t i = 0; i < sizeof(pci_classes) / sizeof(pci_classes[0]); i++)
        if (pci_classes[i].class_code == class_code && pci_classes[i].subclass == subclass)
            return pci_classes[i].name;
    return "other";
}
