/*
 * A software model of PCI configuration space, for running kernel/pci.c's
 * enumeration on the host (tests/unit/test_pci.c).
 *
 * Each modelled function has 256 bytes of config space and, per byte, a
 * mask of the bits software may write and a mask of the bits a written 1
 * clears. That is enough to behave like hardware where the walk cares:
 *
 *   - a BAR's low address bits are read-only zeros, so writing all ones
 *     reads back ~(size - 1) with the type bits intact (6.2.5.1);
 *   - STATUS error bits are write-1-to-clear, so a careless read-modify-
 *     write of COMMAND shows up as lost status bits;
 *   - an absent function reads all ones and ignores writes.
 *
 * The model also counts accesses, records which buses were touched and
 * counts BARs written with all ones while the function was decoding, so a
 * test can pin how the walk behaves, not just what it returns.
 */
#ifndef PKTMETAL_TESTS_MODELS_PCI_MODEL_H
#define PKTMETAL_TESTS_MODELS_PCI_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/pci.h"

#define PCI_MODEL_MAX_FNS   16
#define PCI_MODEL_CFG_BYTES 256

/* Flags for pci_model_bar(). */
#define PCI_MODEL_BAR_IO       (1u << 0)
#define PCI_MODEL_BAR_64       (1u << 1)
#define PCI_MODEL_BAR_PREFETCH (1u << 2)

struct pci_model_fn {
    uint8_t bus, dev, fn;
    uint8_t cfg[PCI_MODEL_CFG_BYTES];
    uint8_t wmask[PCI_MODEL_CFG_BYTES];    /* 1: software can write this bit */
    uint8_t w1cmask[PCI_MODEL_CFG_BYTES];  /* 1: writing 1 clears this bit */
    uint8_t last_cap;                      /* offset of the list's tail, 0 if empty */
    unsigned nb_bar_ones_while_decoding;   /* BAR sizing done with decode on */
};

struct pci_model {
    struct pci_model_fn fns[PCI_MODEL_MAX_FNS];
    int nb_fns;
    unsigned nb_reads, nb_writes;
    uint8_t buses_touched[256 / 8];        /* a bit per bus any access named */
};

void pci_model_init(struct pci_model *m);

/* A present function with its ids and class; header_type may carry bit 7 (multi-function). */
struct pci_model_fn *pci_model_add(struct pci_model *m, uint8_t bus, uint8_t dev, uint8_t fn,
                                   uint16_t vendor, uint16_t device, uint8_t class_code,
                                   uint8_t subclass, uint8_t header_type);

/* BAR i decodes `size` bytes (a power of two) at `base`; a 64-bit BAR also takes slot i+1. */
void pci_model_bar(struct pci_model_fn *f, int i, uint64_t base, uint64_t size, unsigned flags);

/* Type 1 header bus numbers (writable, as on a real bridge). */
void pci_model_bridge(struct pci_model_fn *f, uint8_t primary, uint8_t secondary,
                      uint8_t subordinate);

/* Append a capability of `nb_bytes` at config offset `off` and set STATUS.CAP_LIST. */
void pci_model_cap(struct pci_model_fn *f, uint8_t off, uint8_t cap_id, uint8_t nb_bytes);

/* Direct access, bypassing the write masks: for setting up and checking state. */
uint32_t pci_model_peek32(const struct pci_model_fn *f, uint16_t off);
void pci_model_poke32(struct pci_model_fn *f, uint16_t off, uint32_t val);

bool pci_model_bus_touched(const struct pci_model *m, uint8_t bus);

/* Config ops that read and write the model. */
void pci_model_ops(struct pci_model *m, struct pci_cfg_ops *ops);

#endif
