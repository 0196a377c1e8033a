/*
 * A software 82540EM for host tests of drivers/e1000.c: a register file
 * claimed on the MMIO bus (tests/models/host_platform.h) and a device that
 * walks the descriptor rings in host memory the way the 8254x SDM (and
 * QEMU's hw/net/e1000.c) describe.
 *
 *   - A TDT write transmits every descriptor from TDH to TDT into a list of
 *     sent frames and writes DD back where RS is set (synchronously, as
 *     QEMU does, unless the test holds TX to make the ring fill up).
 *   - model_e1000_rx() receives a frame: filtered by RCTL (BAM, UPE, MPE,
 *     RAL0/RAH0, MTA), padded to 60 bytes, 4 FCS bytes kept unless
 *     RCTL.SECRC, stored into the descriptor at RDH if RDH != RDT (length,
 *     DD|EOP), else counted in MPC.
 *   - CTRL.RST resets the register file as the manual says (unlike QEMU,
 *     which only clears the bit); RAL0/RAH0 come back with the MAC.
 *   - STATUS.LU follows model_e1000_set_link().
 *
 * It is deliberately strict. Anything the manual forbids or a polling,
 * one-doorbell-per-burst driver must not do is recorded as a violation
 * (a count and a text log); tests assert there are none:
 *   ring base not 16-byte aligned; RDLEN/TDLEN zero or not a multiple of
 *   128; RX or TX enabled before its ring registers are programmed; ring
 *   registers or RDH/TDH written while the unit is enabled; RDT/TDT beyond
 *   the ring, or passing the head; a descriptor handed over with DD still
 *   set, or pointing outside DMA memory (host_dma_contains); a TX
 *   descriptor of length 0 or > 16288, or not legacy; a TDT doorbell whose
 *   last descriptor lacks RS (the driver could never see those complete);
 *   IMS written non-zero (we poll); RDH/TDH read after RX/TX were enabled
 *   (the hot path must poll DD in memory); more than one RDT or TDT write
 *   inside one burst window (model_e1000_burst_begin/end); an MMIO access
 *   that is not 32 bits wide and aligned.
 */
#ifndef PKTMETAL_TESTS_MODELS_E1000_MODEL_H
#define PKTMETAL_TESTS_MODELS_E1000_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_E1000_WINDOW_BYTES 0x20000u   /* BAR0: 128 KiB */
#define MODEL_E1000_MAX_SENT     4096u      /* frames kept; more are only counted */
#define MODEL_E1000_LOG_BYTES    4096u

struct model_e1000_frame {
    uint8_t *data;
    uint16_t len;
};

struct model_e1000 {
    uint32_t *regs;                 /* the register window, 128 KiB, 4 KiB aligned */
    uint8_t mac[6];
    bool link_up;
    bool eeprom_blank;              /* reset loads no address: RAH0.AV stays clear */
    bool mpc_sticky;                /* MPC not cleared by reads, as in QEMU */

    /* TX */
    bool tx_held;                   /* TDT writes queue work instead of sending */
    struct model_e1000_frame sent[MODEL_E1000_MAX_SENT];
    uint32_t nb_sent;               /* frames sent (all, even beyond MAX_SENT) */
    uint8_t *tx_partial;            /* frame being gathered across descriptors */
    uint32_t tx_partial_len;

    /* RX */
    uint32_t nb_rx_filtered;        /* frames RCTL/RA/MTA did not accept */
    uint32_t nb_rx_dropped;         /* RX off, link down, or oversized */

    /* what the driver did */
    uint32_t nb_resets;
    uint32_t nb_rctl_writes;
    uint32_t nb_rdt_writes, nb_tdt_writes;
    uint32_t nb_head_reads;         /* RDH/TDH reads, at any time */
    uint32_t nb_imc_all_writes;     /* IMC writes of all ones */
    bool rx_enabled_once, tx_enabled_once;
    uint32_t reset_busy_reads;      /* CTRL.RST reads as set this many more times */

    /* burst window */
    bool in_burst;
    uint32_t burst_rdt_writes, burst_tdt_writes;

    /* violations */
    uint32_t nb_violations;
    char log[MODEL_E1000_LOG_BYTES];
    size_t log_len;
};

/* Allocates a model with this MAC (link up) and claims its window on the
 * MMIO bus. The window's address goes into the test's pci_dev bar[0]. */
struct model_e1000 *model_e1000_create(const uint8_t mac[6]);
/* Releases the bus claim and all memory. */
void model_e1000_destroy(struct model_e1000 *m);

static inline uint64_t model_e1000_bar0(const struct model_e1000 *m)
{
    return (uint64_t)(uintptr_t)m->regs;
}

/* Register value as the device holds it, without side effects. */
uint32_t model_e1000_peek(const struct model_e1000 *m, uint32_t offset);
void model_e1000_poke(struct model_e1000 *m, uint32_t offset, uint32_t val);

/* Receive options for model_e1000_rx_ex. */
struct model_e1000_rx_opts {
    uint16_t piece_bytes;    /* 0: the RCTL buffer size; else spread the frame over
                                buffers of this many bytes (what LPE allows) */
    uint8_t errors;          /* RDESC.errors to report on the last piece */
    bool skip_size_check;    /* accept frames over 1518 bytes as if LPE were on */
};

/* A frame arrives on the wire. Returns true if it was stored in the ring;
 * false if filtered, dropped (RX off, link down, oversized) or missed (no
 * free descriptor: MPC counts it). */
bool model_e1000_rx(struct model_e1000 *m, const void *frame, uint16_t len);
bool model_e1000_rx_ex(struct model_e1000 *m, const void *frame, uint16_t len,
                       const struct model_e1000_rx_opts *opts);

void model_e1000_set_link(struct model_e1000 *m, bool up);

/* Holding TX: TDT writes are accepted but nothing is sent until release,
 * which then processes everything up to TDT (a slow wire). */
void model_e1000_tx_hold(struct model_e1000 *m, bool hold);
void model_e1000_tx_release(struct model_e1000 *m);

/* Between begin and end at most one RDT and one TDT write are allowed. */
void model_e1000_burst_begin(struct model_e1000 *m);
void model_e1000_burst_end(struct model_e1000 *m);

/* Records a violation (the model's own checks use it; tests may too). */
void model_e1000_violation(struct model_e1000 *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Free descriptors the device holds for RX: RDT - RDH mod ring size. */
uint32_t model_e1000_rx_free(const struct model_e1000 *m);

#endif
