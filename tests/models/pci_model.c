/*
 * PCI configuration-space model: see pci_model.h. Accesses follow the rules
 * of the PCI Local Bus Specification 3.0, 6.1-6.2, as far as the kernel's
 * walk depends on them; a misaligned or out-of-range dword access aborts,
 * because real ECAM would not do what the caller meant either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/models/pci_model.h"

#define MODEL_STATUS_W1C   0xf900u   /* parity, SERR, aborts: RW1C (6.2.3) */
#define MODEL_COMMAND_RW   0x0547u   /* IO, MEM, BM, parity, SERR, INTx disable */

static void model_put32(uint8_t *bytes, uint16_t off, uint32_t val)
{
    for (int i = 0; i < 4; i++)
        bytes[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t model_get32(const uint8_t *bytes, uint16_t off)
{
    uint32_t val = 0;

    for (int i = 3; i >= 0; i--)
        val = (val << 8) | bytes[off + i];
    return val;
}

void pci_model_init(struct pci_model *m)
{
    memset(m, 0, sizeof(*m));
}

struct pci_model_fn *pci_model_add(struct pci_model *m, uint8_t bus, uint8_t dev, uint8_t fn,
                                   uint16_t vendor, uint16_t device, uint8_t class_code,
                                   uint8_t subclass, uint8_t header_type)
{
    struct pci_model_fn *f;

    if (m->nb_fns >= PCI_MODEL_MAX_FNS) {
        fprintf(stderr, "pci_model: more than %d functions\n", PCI_MODEL_MAX_FNS);
        abort();
    }
    f = &m->fns[m->nb_fns++];
    memset(f, 0, sizeof(*f));
    f->bus = bus;
    f->dev = dev;
    f->fn = fn;
    model_put32(f->cfg, PCI_CFG_VENDOR_ID, vendor | (uint32_t)device << 16);
    model_put32(f->cfg, PCI_CFG_REVISION_ID, (uint32_t)class_code << 24 | (uint32_t)subclass << 16);
    f->cfg[PCI_CFG_HEADER_TYPE] = header_type;
    model_put32(f->wmask, PCI_CFG_COMMAND, MODEL_COMMAND_RW);
    model_put32(f->w1cmask, PCI_CFG_COMMAND, MODEL_STATUS_W1C << 16);
    f->wmask[0x3c] = 0xff;                 /* interrupt line: scratch for software */
    return f;
}

void pci_model_bar(struct pci_model_fn *f, int i, uint64_t base, uint64_t size, unsigned flags)
{
    uint16_t off = (uint16_t)(PCI_CFG_BAR0 + 4 * i);
    uint64_t addr_mask = ~(size - 1);
    uint32_t type = (flags & PCI_MODEL_BAR_IO) ? 0x1 :
                    ((flags & PCI_MODEL_BAR_64) ? 0x4 : 0x0) |
                    ((flags & PCI_MODEL_BAR_PREFETCH) ? 0x8 : 0x0);

    model_put32(f->cfg, off, (uint32_t)(base & addr_mask) | type);
    /* I/O BARs decode 16 bits here, as on many devices: the upper half reads 0. */
    model_put32(f->wmask, off, (uint32_t)addr_mask & ((flags & PCI_MODEL_BAR_IO) ? 0xfffcu : ~15u));
    if (!(flags & PCI_MODEL_BAR_64))
        return;
    model_put32(f->cfg, off + 4, (uint32_t)((base & addr_mask) >> 32));
    model_put32(f->wmask, off + 4, (uint32_t)(addr_mask >> 32));
}

void pci_model_bridge(struct pci_model_fn *f, uint8_t primary, uint8_t secondary,
                      uint8_t subordinate)
{
    f->cfg[0x18] = primary;
    f->cfg[0x19] = secondary;
    f->cfg[0x1a] = subordinate;
    f->wmask[0x18] = f->wmask[0x19] = f->wmask[0x1a] = 0xff;
}

void pci_model_cap(struct pci_model_fn *f, uint8_t off, uint8_t cap_id, uint8_t nb_bytes)
{
    f->cfg[off] = cap_id;
    f->cfg[off + 1] = 0;
    for (int i = 2; i < nb_bytes; i++)
        f->cfg[off + i] = (uint8_t)(0xa0 + i);   /* recognisable body bytes */
    if (f->last_cap)
        f->cfg[f->last_cap + 1] = off;
    else
        f->cfg[PCI_CFG_CAP_PTR] = off;
    f->last_cap = off;
    f->cfg[PCI_CFG_STATUS] |= PCI_STATUS_CAP_LIST;
}

uint32_t pci_model_peek32(const struct pci_model_fn *f, uint16_t off)
{
    return model_get32(f->cfg, off);
}

void pci_model_poke32(struct pci_model_fn *f, uint16_t off, uint32_t val)
{
    model_put32(f->cfg, off, val);
}

bool pci_model_bus_touched(const struct pci_model *m, uint8_t bus)
{
    return (m->buses_touched[bus / 8] >> (bus % 8)) & 1;
}

static struct pci_model_fn *model_find(struct pci_model *m, uint8_t bus, uint8_t dev, uint8_t fn,
                                       uint16_t off)
{
    if ((off & 3) || off >= 4096 || dev >= 32 || fn >= 8) {
        fprintf(stderr, "pci_model: bad access %02x:%02x.%x +%#x\n", bus, dev, fn, off);
        abort();
    }
    m->buses_touched[bus / 8] |= (uint8_t)(1u << (bus % 8));
    for (int i = 0; i < m->nb_fns; i++) {
        struct pci_model_fn *f = &m->fns[i];
        if (f->bus == bus && f->dev == dev && f->fn == fn)
            return f;
    }
    return NULL;
}

static uint32_t model_read32(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    struct pci_model *m = ctx;
    struct pci_model_fn *f = model_find(m, bus, dev, fn, off);

    m->nb_reads++;
    if (f == NULL)
        return 0xffffffffu;
    if (off >= PCI_MODEL_CFG_BYTES)
        return 0;              /* extended config space: nothing modelled there */
    return model_get32(f->cfg, off);
}

static bool model_is_bar(const struct pci_model_fn *f, uint16_t off)
{
    int nb_bars = (f->cfg[PCI_CFG_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == 1 ? 2 : 6;

    return off >= PCI_CFG_BAR0 && off < PCI_CFG_BAR0 + 4 * nb_bars;
}

static void model_write32(void *ctx, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
                          uint32_t val)
{
    struct pci_model *m = ctx;
    struct pci_model_fn *f = model_find(m, bus, dev, fn, off);
    uint32_t old, wmask, w1c;

    m->nb_writes++;
    if (f == NULL || off >= PCI_MODEL_CFG_BYTES)
        return;
    if (model_is_bar(f, off) && val == 0xffffffffu &&
        (f->cfg[PCI_CFG_COMMAND] & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)))
        f->nb_bar_ones_while_decoding++;
    old = model_get32(f->cfg, off);
    wmask = model_get32(f->wmask, off);
    w1c = model_get32(f->w1cmask, off);
    model_put32(f->cfg, off, ((old & ~wmask) | (val & wmask)) & ~(val & w1c));
}

void pci_model_ops(struct pci_model *m, struct pci_cfg_ops *ops)
{
    ops->read32 = model_read32;
    ops->write32 = model_write32;
    ops->ctx = m;
}
