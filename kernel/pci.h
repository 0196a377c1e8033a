/*
 * PCI: enumeration, BAR sizing and config-space helpers over ECAM.
 *
 * All config access goes through struct pci_cfg_ops, so the same walk runs
 * against real ECAM (pci_ecam_ops) on the image and against a software
 * model of config space in the host tests (tests/models/pci_model.h).
 *
 * Typical use at boot:
 *
 *     struct pci_cfg_ops ops;
 *     pci_ecam_ops(&ops, acpi.ecam_base, acpi.ecam_bus_start, acpi.ecam_bus_end);
 *     n = pci_enumerate(&ops, devs, MAX_DEVS);   // sized BARs, sorted by b:d.f
 *     pci_enable(&ops, &devs[i], true, false, true);
 */
#ifndef PKTMETAL_KERNEL_PCI_H
#define PKTMETAL_KERNEL_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Config header offsets (PCI Local Bus 3.0, 6.1; type 0 and type 1 share these). */
#define PCI_CFG_VENDOR_ID       0x00
#define PCI_CFG_DEVICE_ID       0x02
#define PCI_CFG_COMMAND         0x04
#define PCI_CFG_STATUS          0x06
#define PCI_CFG_REVISION_ID     0x08   /* then prog_if, subclass, class code */
#define PCI_CFG_HEADER_TYPE     0x0e
#define PCI_CFG_BAR0            0x10
#define PCI_CFG_CAP_PTR         0x34
#define PCI_CFG_BRIDGE_SECONDARY_BUS 0x19  /* type 1 only */

#define PCI_COMMAND_IO          (1u << 0)
#define PCI_COMMAND_MEMORY      (1u << 1)
#define PCI_COMMAND_BUS_MASTER  (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)

#define PCI_STATUS_CAP_LIST     (1u << 4)

#define PCI_HEADER_TYPE_MASK    0x7f   /* 0 device, 1 PCI-to-PCI bridge, 2 CardBus */
#define PCI_HEADER_MULTI_FN     0x80
#define PCI_HEADER_TYPE_DEVICE  0
#define PCI_HEADER_TYPE_BRIDGE  1

#define PCI_CAP_ID_PM           0x01
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_VENDOR       0x09   /* virtio's transport capabilities */
#define PCI_CAP_ID_PCIE         0x10
#define PCI_CAP_ID_MSIX         0x11

#define PCI_VENDOR_NONE         0xffff  /* what an empty slot reads as */

struct pci_bar {
    uint64_t base;             /* address as firmware programmed it; 0 if unassigned */
    uint64_t size;             /* bytes; 0: BAR not implemented */
    bool is_io;
    bool is_64;
    bool prefetchable;
};

struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint8_t class_code, subclass, prog_if;
    uint8_t header_type;       /* as read: PCI_HEADER_MULTI_FN may be set */
    struct pci_bar bar[6];     /* a 64-bit BAR fills bar[i]; bar[i+1] is left zero */
};

/* Config-space access as dword reads and writes at 4-byte-aligned offsets. */
struct pci_cfg_ops {
    uint32_t (*read32)(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
    void (*write32)(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t val);
    void *ctx;
};

/*
 * Real ECAM through mmio_read32/mmio_write32. ecam_base is the MCFG base
 * address, which addresses bus 0 even when the range starts later; buses
 * outside bus_start..bus_end (MCFG's range, the only part mapped) read as
 * absent (all ones) and ignore writes. One ECAM
 * window is supported: a second call replaces the first.
 */
void pci_ecam_ops(struct pci_cfg_ops *ops, uint64_t ecam_base, uint8_t bus_start,
                  uint8_t bus_end);

/*
 * Pure BAR decode (PCI Local Bus 3.0, 6.2.5.1). orig_lo/hi: the BAR as read;
 * probe_lo/hi: read back after writing all ones (hi only matters for a
 * 64-bit memory BAR). Returns the slots consumed (1, or 2 for 64-bit) or
 * -PM_EINVAL for a 64-bit BAR in the last slot or the reserved type 11b.
 */
int pci_bar_decode(uint32_t orig_lo, uint32_t orig_hi, uint32_t probe_lo, uint32_t probe_hi,
                   bool last_slot, struct pci_bar *out);

/*
 * Walk bus 0 and every bus behind a PCI-to-PCI bridge, filling devs in the
 * order found (ascending bus:dev.fn within a bus) with BARs sized. Returns
 * the number of functions found; if that exceeds max_devs only the first
 * max_devs are filled (and only those have their BARs probed).
 */
int pci_enumerate(const struct pci_cfg_ops *ops, struct pci_dev *devs, int max_devs);

uint32_t pci_cfg_read32(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off);
uint16_t pci_cfg_read16(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off);
uint8_t pci_cfg_read8(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off);
void pci_cfg_write32(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                     uint32_t val);
/*
 * 16/8-bit writes are read-modify-write of the containing dword. Beware the
 * dword holding a write-1-to-clear register: writing COMMAND this way would
 * write STATUS back and clear its error bits. Use pci_write_command() for it.
 */
void pci_cfg_write16(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                     uint16_t val);
void pci_cfg_write8(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off,
                    uint8_t val);

/* COMMAND written with zeros into STATUS, so no RW1C status bit is cleared. */
void pci_write_command(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t cmd);

/* Sets (never clears) memory decode, I/O decode and bus mastering as asked. */
void pci_enable(const struct pci_cfg_ops *ops, const struct pci_dev *d, bool mem, bool io,
                bool bus_master);

/*
 * Config offset of the next capability with id cap_id after the one at
 * `start` (0: search from the list head), or -PM_ENOENT; -PM_EINVAL if
 * start is neither 0 nor a capability offset (0x40..0xfc). A looped or
 * corrupt list ends the search instead of hanging it.
 */
int pci_find_cap(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint8_t cap_id,
                 int start);

/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2): the capability holds Message Control
 * (table size, function mask, enable) and where the table lives, a BAR and
 * an offset. Each table entry is a message (address, data) the function
 * writes to raise that interrupt, and a mask bit; a masked entry only sets
 * its pending bit. The table must be reached through a memory BAR the
 * kernel mapped uncached, with aligned 32-bit accesses.
 */
#define PCI_MSIX_CONTROL        2      /* Message Control, from the capability */
#define PCI_MSIX_TABLE          4      /* Table Offset / BIR */
#define   PCI_MSIX_CTRL_SIZE_MASK 0x07ffu /* table size - 1 */
#define   PCI_MSIX_CTRL_MASKALL  (1u << 14)
#define   PCI_MSIX_CTRL_ENABLE   (1u << 15)
#define   PCI_MSIX_BIR_MASK      0x7u
#define PCI_MSIX_ENTRY_BYTES    16
#define PCI_MSIX_ENTRY_ADDR_LO  0
#define PCI_MSIX_ENTRY_ADDR_HI  4
#define PCI_MSIX_ENTRY_DATA     8
#define PCI_MSIX_ENTRY_CTRL     12
#define   PCI_MSIX_ENTRY_MASKED  1u

struct pci_msix {
    uint16_t cap;                  /* config offset of the capability */
    uint16_t table_size;           /* entries */
    volatile uint8_t *table;       /* entry 0, through its mapped BAR */
};

/*
 * Finds d's MSI-X capability and its table. 0, -PM_ENOENT (no MSI-X), or
 * -PM_ENODEV when the table's BAR is not an assigned memory BAR or the
 * table does not fit inside it.
 */
int pci_msix_probe(const struct pci_cfg_ops *ops, const struct pci_dev *d, struct pci_msix *out);

/* Entry n sends (addr, data) when unmasked; it is masked while they change.
 * -PM_EINVAL when n is past the table. */
int pci_msix_set_entry(const struct pci_msix *x, uint16_t n, uint64_t addr, uint32_t data,
                       bool masked);

/* MSI-X Enable on (and the function unmasked) or off. While it is on the
 * function raises MSI-X messages only, never INTx. */
void pci_msix_enable(const struct pci_cfg_ops *ops, const struct pci_dev *d,
                     const struct pci_msix *x, bool on);

/* "e1000 (82540EM)", "virtio-net (transitional)", "virtio-net", or NULL. */
const char *pci_nic_name(uint16_t vendor, uint16_t device);

/* Short class text: "ethernet", "host bridge", "sata", ...; "other" if unknown. */
const char *pci_class_name(uint8_t class_code, uint8_t subclass);

#endif
