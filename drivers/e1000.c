/*
 * Intel 82540EM (QEMU -device e1000) driver: polled legacy descriptor rings,
 * one doorbell per burst, zero copy from and to the packet pool.
 *
 * Follows the 8254x Software Developer's Manual (SDM): chapter 14 for the
 * bring-up order (14.3 general configuration, 14.4 receive and 14.5
 * transmit initialisation), chapter 3 for descriptors and rings, chapter 13
 * for registers. QEMU exposes the device as PCI 8086:100e with its
 * registers in memory BAR0 (hw/net/e1000.c); what QEMU does differently
 * from the manual is noted where it matters:
 *   - CTRL.RST only clears itself: no register returns to its default, so
 *     bring-up writes every register it relies on (RDH, TDH, IMC, MTA);
 *   - every RCTL write makes it refuse frames for ~1 s (TRAPS.md), so RCTL
 *     is written once, as the last step of bring-up;
 *   - TX completes synchronously inside the TDT write, and DD is written
 *     back only for descriptors with RS (TRAPS.md);
 *   - MPC is not clear-on-read there (link_poll copes with both), and in
 *     practice stays 0: with the ring full QEMU stops taking frames from its
 *     backend, and the host drops them uncounted (TRAPS.md).
 *
 * Both rings are arrays of 16-byte descriptors in DMA memory. The device
 * owns the slots from its head (RDH/TDH) up to, not including, the tail
 * (RDT/TDT) that software writes; head == tail means it owns none, so one
 * slot always stays with software (3.2.6, 3.4).
 *
 *   RX ring, in ring order (every slot holds a pool buffer at all times):
 *
 *     RDT == rx_next-1  rx_next                 RDH
 *         |              |                       |
 *   ...-+-v--------+-----v------+------------+---v--------+-- .. --+-...
 *       | refilled | DD: frame  | DD: frame  | empty      |  ..    |
 *       | kept     | to hand up | to hand up |            |        |
 *   ...-+----------+------------+------------+------------+-- .. --+-...
 *       |<----- software's: RDT .. RDH-1 --->|<-- device's: RDH .. RDT-1 -->
 *
 *   TX ring:   tx_clean (oldest not yet freed) .. tx_next-1 are in flight;
 *              tx_next == TDT is the next slot to fill.
 *
 * The hot path never reads RDH/TDH (13.4.28: "reading the descriptor head
 * to determine which buffers are finished is not reliable", and each MMIO
 * read is a VM exit): completion is the DD bit in descriptor memory.
 */
#include "drivers/e1000.h"

#include "drivers/e1000_regs.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/dma.h"
#include "kernel/io.h"
#include "net/errno.h"
#include "net/pool.h"

#define RING_ALIGN_BYTES       128u      /* the manual needs 16; 128 keeps a ring on whole lines */
#define RESET_SETTLE_NS        1000u     /* 13.4.1: ~1 us before touching registers after RST */
#define RESET_TIMEOUT_NS       10000000u /* 10 ms */
#define RESET_POLL_NS          10000u
#define MAC_LOAD_TIMEOUT_NS    10000000u /* EEPROM auto-load of RAL0/RAH0 after reset */
#define TX_RECLAIM_THRESHOLD   32u       /* reclaim when fewer free TX slots than this */
#define TX_FREE_BATCH          64u       /* buffers handed to pktbuf_free_bulk at a time */
#define DESC_POISON            0xdeadbeefdeadbeefull  /* not a byte pattern: no memset */

_Static_assert(PKTBUF_BUF_BYTES <= E1000_TXD_MAX_LEN, "any buffer fits one TX descriptor");
_Static_assert(PKTBUF_BUF_BYTES - PKTBUF_HEADROOM >= 2048, "RX buffers hold RCTL.BSIZE bytes");
_Static_assert(E1000_RING_MIN * sizeof(struct e1000_rdesc) % E1000_RING_LEN_MULTIPLE == 0,
               "the smallest ring is a whole number of 128-byte blocks");

struct e1000_port {
    struct netdev nd;                    /* first, so ops can get back to the port */
    volatile uint8_t *regs;              /* BAR0 */
    uint32_t rctl;                       /* RCTL as last written */
    uint32_t tctl;                       /* TCTL as last written */

    struct e1000_rdesc *rx_ring;
    struct pktbuf **rx_bufs;             /* the buffer behind each RX slot */
    uint16_t rx_mask;                    /* rx ring size - 1 */
    uint16_t rx_next;                    /* oldest slot not yet handed up */
    bool rx_discarding;                  /* inside a multi-buffer frame being dropped */

    struct e1000_tdesc_legacy *tx_ring;
    struct pktbuf **tx_bufs;             /* the buffer behind each in-flight TX slot */
    uint16_t tx_mask;
    uint16_t tx_next;                    /* next slot to fill; TDT as last written */
    uint16_t tx_clean;                   /* oldest slot not yet reclaimed */
    uint16_t tx_nb_free;                 /* slots tx_burst may fill */

    uint32_t mpc_seen;                   /* MPC total so far, where MPC does not clear */
    struct e1000_xstats xstats;
};

static const struct netdev_ops e1000_ops;
static const struct netdev_ops e1000_stopped_ops;

static struct e1000_port *port_of(struct netdev *nd)
{
    return (struct e1000_port *)nd;      /* nd is the first member */
}

static uint32_t reg_read(const struct e1000_port *p, uint32_t off)
{
    return mmio_read32(p->regs + off);
}

static void reg_write(struct e1000_port *p, uint32_t off, uint32_t val)
{
    mmio_write32(p->regs + off, val);
}

/* The device writes status behind the compiler's back: read it afresh. */
static uint8_t desc_status(const uint8_t *status)
{
    return *(const volatile uint8_t *)status;
}

static bool is_pow2(uint32_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

bool e1000_supports(uint16_t vendor, uint16_t device)
{
    return vendor == E1000_VENDOR_INTEL &&
           (device == E1000_DEVICE_82540EM || device == E1000_DEVICE_82545EM);
}

/* ======================================================================
 * Bring-up
 * ====================================================================== */

static int check_config(const struct pci_dev *dev, const struct netdev_config *cfg)
{
    if (!e1000_supports(dev->vendor, dev->device) || dev->bar[0].is_io ||
        dev->bar[0].base == 0)
        return -PM_ENODEV;
    if (cfg->pool == NULL)
        return -PM_EINVAL;
    if (!is_pow2(cfg->rx_ring_size) || cfg->rx_ring_size < E1000_RING_MIN ||
        cfg->rx_ring_size > E1000_RING_MAX)
        return -PM_EINVAL;
    if (!is_pow2(cfg->tx_ring_size) || cfg->tx_ring_size < E1000_RING_MIN ||
        cfg->tx_ring_size > E1000_RING_MAX)
        return -PM_EINVAL;
    return 0;
}

/* Memory decode and bus mastering (the device DMAs descriptors and frames),
 * and INTx off: we poll, and IMC masks every cause anyway. */
static void pci_setup(const struct pci_cfg_ops *pci, const struct pci_dev *dev)
{
    uint16_t cmd = pci_cfg_read16(pci, dev, PCI_CFG_COMMAND);

    cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER | PCI_COMMAND_INTX_DISABLE;
    pci_write_command(pci, dev, cmd);
}

/*
 * Global reset (13.4.1, CTRL.RST), with every interrupt masked before and
 * after (13.4.21: a 1 written to IMC masks that cause; the manual asks for
 * interrupts to be masked across a reset, 14.3). The bit clears itself when
 * the reset is done; the manual asks for ~1 us before looking.
 */
static int device_reset(struct e1000_port *p)
{
    uint64_t deadline;

    reg_write(p, E1000_IMC, E1000_IMC_ALL);
    reg_write(p, E1000_CTRL, reg_read(p, E1000_CTRL) | E1000_CTRL_RST);
    clock_delay_ns(RESET_SETTLE_NS);
    deadline = clock_ns() + RESET_TIMEOUT_NS;
    while (reg_read(p, E1000_CTRL) & E1000_CTRL_RST) {
        if (clock_ns() > deadline)
            return -PM_ETIMEDOUT;
        clock_delay_ns(RESET_POLL_NS);
    }
    reg_write(p, E1000_IMC, E1000_IMC_ALL);
    (void)reg_read(p, E1000_ICR);        /* drop causes latched before the reset */
    return 0;
}

/*
 * 14.3: link up with speed and duplex resolved by the internal PHY
 * (ASDE, no forcing), no link or PHY reset, copper (ILOS = 0), no VLAN
 * mode. SLU alone does not renegotiate, so the link stays up under QEMU
 * (restarting autonegotiation costs ~500 ms of link down, TRAPS.md).
 */
static void link_setup(struct e1000_port *p)
{
    uint32_t ctrl = reg_read(p, E1000_CTRL);

    ctrl |= E1000_CTRL_SLU | E1000_CTRL_ASDE;
    ctrl &= ~(E1000_CTRL_LRST | E1000_CTRL_PHY_RST | E1000_CTRL_ILOS | E1000_CTRL_FRCSPD |
              E1000_CTRL_FRCDPLX | E1000_CTRL_VME);
    reg_write(p, E1000_CTRL, ctrl);
}

/*
 * 13.5.2/13.5.3: after reset the device loads receive address 0 from the
 * EEPROM and sets RAH0.AV; QEMU presets it. Wait (bounded) for AV, then
 * RAL0 holds bytes 0-3 and RAH0 bytes 4-5, lowest byte first.
 */
static int mac_read(struct e1000_port *p)
{
    uint64_t deadline = clock_ns() + MAC_LOAD_TIMEOUT_NS;
    uint32_t ral, rah;

    while (!((rah = reg_read(p, E1000_RAH0)) & E1000_RAH_AV)) {
        if (clock_ns() > deadline)
            return -PM_EIO;
        clock_delay_ns(RESET_POLL_NS);
    }
    ral = reg_read(p, E1000_RAL0);
    for (int i = 0; i < 4; i++)
        p->nd.mac[i] = (uint8_t)(ral >> (8 * i));
    p->nd.mac[4] = (uint8_t)rah;
    p->nd.mac[5] = (uint8_t)(rah >> 8);
    return 0;
}

/* 14.4: the MTA comes out of reset undefined; zero = no multicast group
 * (RCTL.MPE still lets every multicast in when promiscuous). */
static void mta_clear(struct e1000_port *p)
{
    for (uint32_t i = 0; i < E1000_MTA_NB_ENTRIES; i++)
        reg_write(p, E1000_MTA + 4 * i, 0);
}

/* Every field an unmistakable pattern, so a slot the driver forgot to set
 * up points the device at a non-canonical address (STYLE.md, habit 6). */
static void ring_poison(void *ring, uint32_t nb_desc)
{
    uint64_t *w = ring;

    for (uint32_t i = 0; i < 2 * nb_desc; i++)
        w[i] = DESC_POISON;
}

static int rings_alloc(struct e1000_port *p, const struct netdev_config *cfg)
{
    uint32_t rx_bytes = cfg->rx_ring_size * (uint32_t)sizeof(struct e1000_rdesc);
    uint32_t tx_bytes = cfg->tx_ring_size * (uint32_t)sizeof(struct e1000_tdesc_legacy);

    p->rx_ring = dma_alloc(rx_bytes, RING_ALIGN_BYTES);
    p->tx_ring = dma_alloc(tx_bytes, RING_ALIGN_BYTES);
    p->rx_bufs = dma_alloc(cfg->rx_ring_size * sizeof(struct pktbuf *), 64);
    p->tx_bufs = dma_alloc(cfg->tx_ring_size * sizeof(struct pktbuf *), 64);
    if (!p->rx_ring || !p->tx_ring || !p->rx_bufs || !p->tx_bufs)
        return -PM_ENOMEM;
    ring_poison(p->rx_ring, cfg->rx_ring_size);
    ring_poison(p->tx_ring, cfg->tx_ring_size);
    p->rx_mask = (uint16_t)(cfg->rx_ring_size - 1);
    p->tx_mask = (uint16_t)(cfg->tx_ring_size - 1);
    return 0;
}

/* Hands slot d to the device with buffer b: empty, status and errors
 * cleared, so a stale DD can never be mistaken for a new frame (3.2.3). */
static void rx_desc_arm(struct e1000_rdesc *d, struct pktbuf *b)
{
    d->buffer_addr = pktbuf_data_dma(b);
    d->length = 0;
    d->checksum = 0;
    d->errors = 0;
    d->special = 0;
    d->status = 0;
}

/* A buffer in every RX slot, all from the pool in one go; on a short pool
 * nothing is kept. */
static int rx_fill(struct e1000_port *p)
{
    uint32_t nb = (uint32_t)p->rx_mask + 1;
    uint32_t got = pool_get_bulk(p->nd.pool, p->rx_bufs, nb);

    if (got < nb) {
        pool_put_bulk(p->nd.pool, p->rx_bufs, got);
        return -PM_ENOMEM;
    }
    for (uint32_t i = 0; i < nb; i++)
        rx_desc_arm(&p->rx_ring[i], p->rx_bufs[i]);
    return 0;
}

/*
 * 14.4, receive initialisation, up to but not including RCTL: ring base
 * and length, head 0, tail one short of the head so the device owns every
 * slot but one (3.2.6: head == tail would mean it owns none).
 */
static void rx_ring_program(struct e1000_port *p)
{
    dma_addr_t base = dma_addr(p->rx_ring);

    reg_write(p, E1000_RDBAL, (uint32_t)base);
    reg_write(p, E1000_RDBAH, (uint32_t)(base >> 32));
    reg_write(p, E1000_RDLEN, ((uint32_t)p->rx_mask + 1) * (uint32_t)sizeof(struct e1000_rdesc));
    reg_write(p, E1000_RDH, 0);
    p->rx_next = 0;
    reg_write(p, E1000_RDT, p->rx_mask);      /* = rx_next - 1: see the file comment */
}

/* 14.5, transmit initialisation: ring base and length, head = tail = 0. */
static void tx_ring_program(struct e1000_port *p)
{
    dma_addr_t base = dma_addr(p->tx_ring);

    reg_write(p, E1000_TDBAL, (uint32_t)base);
    reg_write(p, E1000_TDBAH, (uint32_t)(base >> 32));
    reg_write(p, E1000_TDLEN, ((uint32_t)p->tx_mask + 1) *
                              (uint32_t)sizeof(struct e1000_tdesc_legacy));
    reg_write(p, E1000_TDH, 0);
    reg_write(p, E1000_TDT, 0);
    p->tx_next = 0;
    p->tx_clean = 0;
    p->tx_nb_free = p->tx_mask;               /* size - 1: head == tail means empty */
}

/* 14.5: inter-packet gap (Table 13-77 values for copper), then TCTL:
 * enable, pad short frames, collision threshold and full-duplex collision
 * distance as Table 13-76 recommends. */
static void tx_enable(struct e1000_port *p)
{
    reg_write(p, E1000_TIPG, E1000_TIPG_IPGT_COPPER << E1000_TIPG_IPGT_SHIFT |
                             E1000_TIPG_IPGR1_DEFAULT << E1000_TIPG_IPGR1_SHIFT |
                             E1000_TIPG_IPGR2_DEFAULT << E1000_TIPG_IPGR2_SHIFT);
    p->tctl = E1000_TCTL_EN | E1000_TCTL_PSP |
              E1000_TCTL_CT_DEFAULT << E1000_TCTL_CT_SHIFT |
              E1000_TCTL_COLD_FULL_DUPLEX << E1000_TCTL_COLD_SHIFT;
    reg_write(p, E1000_TCTL, p->tctl);
}

/*
 * 13.4.22: the one RCTL write (QEMU ignores the wire for ~1 s after any
 * RCTL write). Receiver on, broadcasts accepted, 2048-byte buffers
 * (BSEX = 0, BSIZE = 00b), CRC stripped so lengths are frame lengths, no
 * long packets: with LPE off nothing over 1522 bytes is accepted, so every
 * frame fits one buffer. Promiscuous adds all unicast and multicast.
 */
static void rx_enable(struct e1000_port *p, bool promisc)
{
    p->rctl = E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_BSIZE_2048 | E1000_RCTL_SECRC;
    if (promisc)
        p->rctl |= E1000_RCTL_UPE | E1000_RCTL_MPE;
    p->nd.promisc = promisc;
    reg_write(p, E1000_RCTL, p->rctl);
}

static void netdev_init(struct e1000_port *p, const struct netdev_config *cfg,
                        const struct pci_dev *dev)
{
    p->regs = (volatile uint8_t *)(uintptr_t)dev->bar[0].base;
    p->nd.ops = &e1000_ops;
    p->nd.driver = "e1000";
    p->nd.port_id = cfg->port_id;
    p->nd.rx_ring_size = cfg->rx_ring_size;
    p->nd.tx_ring_size = cfg->tx_ring_size;
    p->nd.pool = cfg->pool;
}

int e1000_create(const struct pci_cfg_ops *pci, const struct pci_dev *dev,
                 const struct netdev_config *cfg, struct netdev **out)
{
    struct e1000_port *p;
    int rc = check_config(dev, cfg);

    if (rc < 0)
        return rc;
    p = dma_alloc(sizeof(*p), 64);
    if (p == NULL)
        return -PM_ENOMEM;
    netdev_init(p, cfg, dev);
    pci_setup(pci, dev);
    /* 1. Reset, interrupts masked (13.4.1, 13.4.21). */
    rc = device_reset(p);
    if (rc < 0) {
        kprintf("e1000 %02x:%02x.%x: reset did not complete\n", dev->bus, dev->dev, dev->fn);
        return rc;
    }
    /* 2. Link and address filters (14.3, 14.4). */
    link_setup(p);
    rc = mac_read(p);
    if (rc < 0) {
        kprintf("e1000 %02x:%02x.%x: no valid MAC in RAL0/RAH0\n", dev->bus, dev->dev, dev->fn);
        return rc;
    }
    mta_clear(p);
    /* 3. Rings: allocated, poisoned, RX filled from the pool (3.2.6, 3.4). */
    rc = rings_alloc(p, cfg);
    if (rc == 0)
        rc = rx_fill(p);
    if (rc < 0)
        return rc;
    rx_ring_program(p);
    tx_ring_program(p);
    /* 4. Transmitter, then receiver: from here on frames move (14.4, 14.5). */
    tx_enable(p);
    rx_enable(p, cfg->promisc);
    p->nd.link_up = (reg_read(p, E1000_STATUS) & E1000_STATUS_LU) != 0;
    *out = &p->nd;
    return 0;
}

/* ======================================================================
 * Receive
 * ====================================================================== */

/* How many slots from rx_next the device has finished, at most nb. */
static uint16_t rx_count_done(const struct e1000_port *p, uint16_t nb)
{
    uint16_t n = 0;
    uint16_t idx = p->rx_next;

    while (n < nb && (desc_status(&p->rx_ring[idx].status) & E1000_RXD_STAT_DD)) {
        n++;
        idx = (idx + 1) & p->rx_mask;
    }
    return n;
}

/*
 * Whether a finished slot is a whole, good frame. A frame larger than one
 * buffer (no EOP; impossible with LPE off, but the manual allows it,
 * 3.2.3) is dropped piece by piece up to and including its EOP piece.
 */
static bool rx_frame_ok(struct e1000_port *p, uint8_t status, uint8_t errors)
{
    if (!(status & E1000_RXD_STAT_EOP)) {
        p->rx_discarding = true;
        p->xstats.rx_chained++;
        return false;
    }
    if (p->rx_discarding) {
        p->rx_discarding = false;
        p->xstats.rx_chained++;
        return false;
    }
    if (errors & E1000_RXD_ERR_FRAME) {
        p->xstats.rx_frame_errors++;
        return false;
    }
    return true;
}

/*
 * Walks nb finished slots from rx_next: good frames go to pkts and their
 * slot gets a fresh buffer; a dropped frame's buffer stays in its slot and
 * is armed again. Returns the frames handed up; *nb_fresh_used says how
 * many fresh buffers went into the ring.
 */
static uint16_t rx_harvest(struct e1000_port *p, struct pktbuf **pkts,
                           struct pktbuf *const *fresh, uint16_t nb, uint16_t *nb_fresh_used)
{
    uint64_t now_tsc = cpu_rdtsc();      /* one timestamp per burst */
    uint64_t bytes = 0;
    uint16_t nb_pkts = 0, nb_used = 0;

    dma_rmb();                           /* DD seen: now read length and errors */
    for (uint16_t i = 0; i < nb; i++) {
        uint16_t idx = p->rx_next;
        struct e1000_rdesc *d = &p->rx_ring[idx];
        struct pktbuf *b = p->rx_bufs[idx];

        if (rx_frame_ok(p, d->status, d->errors)) {
            b->data_len = d->length;
            b->port = p->nd.port_id;
            b->rx_tsc = now_tsc;
            bytes += d->length;
            pkts[nb_pkts++] = b;
            b = fresh[nb_used++];
            p->rx_bufs[idx] = b;
        }
        rx_desc_arm(d, b);
        p->rx_next = (idx + 1) & p->rx_mask;
    }
    p->nd.stats.rx_packets += nb_pkts;
    p->nd.stats.rx_bytes += bytes;
    *nb_fresh_used = nb_used;
    return nb_pkts;
}

/*
 * Up to nb frames (at most E1000_RX_BURST_MAX). Each finished slot needs a
 * fresh buffer before its frame can go up; when the pool runs short the
 * remaining slots keep their frame and their DD and are tried again on
 * the next call (counted once per burst in rx_nobuf). Meanwhile the
 * device sees fewer free slots and, when it runs out, counts MPC.
 */
static uint16_t e1000_rx_burst(struct netdev *nd, struct pktbuf **pkts, uint16_t nb)
{
    struct e1000_port *p = port_of(nd);
    struct pktbuf *fresh[E1000_RX_BURST_MAX];
    uint16_t nb_done, nb_fresh, nb_used, nb_pkts;

    if (nb > E1000_RX_BURST_MAX)
        nb = E1000_RX_BURST_MAX;
    nb_done = rx_count_done(p, nb);
    if (nb_done == 0)
        return 0;
    nb_fresh = (uint16_t)pool_get_bulk(nd->pool, fresh, nb_done);
    if (nb_fresh < nb_done)
        nd->stats.rx_nobuf++;
    if (nb_fresh == 0)
        return 0;
    nb_pkts = rx_harvest(p, pkts, fresh, nb_fresh, &nb_used);
    if (nb_used < nb_fresh)              /* dropped frames kept their own buffer */
        pool_put_bulk(nd->pool, fresh + nb_used, (unsigned)(nb_fresh - nb_used));
    /*
     * Tail update. Invariant: RDT == rx_next - 1. Every slot from RDT up to
     * the device's head is software's; the slot at RDT itself is the one
     * kept back, so head == tail always means "device owns nothing".
     * Descriptor writes must be visible before the doorbell.
     */
    dma_wmb();
    reg_write(p, E1000_RDT, (uint32_t)((p->rx_next - 1) & p->rx_mask));
    return nb_pkts;
}

/* ======================================================================
 * Transmit
 * ====================================================================== */

/*
 * Frees, in bulk, every buffer whose descriptor the device has written
 * back (DD), oldest first; stops at the first one still pending, since the
 * device completes in ring order (3.4).
 */
static void tx_reclaim(struct e1000_port *p)
{
    struct pktbuf *done[TX_FREE_BATCH];
    unsigned nb_done = 0;
    uint32_t nb_freed = 0;

    while (p->tx_clean != p->tx_next &&
           (desc_status(&p->tx_ring[p->tx_clean].status) & E1000_TXD_STAT_DD)) {
        done[nb_done++] = p->tx_bufs[p->tx_clean];
        p->tx_bufs[p->tx_clean] = NULL;
        p->tx_clean = (p->tx_clean + 1) & p->tx_mask;
        if (nb_done == TX_FREE_BATCH) {
            pktbuf_free_bulk(done, nb_done);
            nb_freed += nb_done;
            nb_done = 0;
        }
    }
    if (nb_done > 0)
        pktbuf_free_bulk(done, nb_done);
    nb_freed += nb_done;
    p->tx_nb_free = (uint16_t)(p->tx_nb_free + nb_freed);
    if (nb_freed > 0)
        p->xstats.tx_reclaims++;
}

/*
 * One legacy descriptor per frame (3.3.3): EOP (the whole frame), IFCS
 * (the device appends the CRC) and RS, because the device writes DD back
 * only for descriptors with RS (3.3.3.2; QEMU likewise), and DD is how
 * tx_reclaim learns a buffer is free.
 */
static void tx_desc_fill(struct e1000_tdesc_legacy *d, const struct pktbuf *b)
{
    d->buffer_addr = pktbuf_data_dma(b);
    d->length = b->data_len;
    d->cso = 0;
    d->cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS;
    d->status = 0;
    d->css = 0;
    d->special = 0;
}

/* A frame the device could send: not empty, and not reaching past the
 * buffer (which also keeps it under the 16288-byte descriptor limit). */
static bool tx_len_ok(const struct pktbuf *b)
{
    return b->data_len != 0 && b->data_len <= pktbuf_tailroom(b);
}

static uint16_t e1000_tx_burst(struct netdev *nd, struct pktbuf **pkts, uint16_t nb)
{
    struct e1000_port *p = port_of(nd);
    uint16_t n, nb_queued = 0;
    uint64_t bytes = 0;

    if (p->tx_nb_free < TX_RECLAIM_THRESHOLD)
        tx_reclaim(p);
    n = nb < p->tx_nb_free ? nb : p->tx_nb_free;
    for (uint16_t i = 0; i < n; i++) {
        struct pktbuf *b = pkts[i];

        if (!tx_len_ok(b)) {             /* a pipeline bug: taken, counted, freed */
            p->xstats.tx_bad_len++;
            pktbuf_free(b);
            continue;
        }
        tx_desc_fill(&p->tx_ring[p->tx_next], b);
        p->tx_bufs[p->tx_next] = b;
        p->tx_next = (p->tx_next + 1) & p->tx_mask;
        bytes += b->data_len;
        nb_queued++;
    }
    if (nb_queued > 0) {
        p->tx_nb_free = (uint16_t)(p->tx_nb_free - nb_queued);
        /*
         * Tail update. Invariant: the device owns TDH .. TDT-1; software
         * keeps at least one slot (tx_nb_free <= size - 1), so TDT never
         * catches up with TDH from behind, and head == tail means idle.
         */
        dma_wmb();
        reg_write(p, E1000_TDT, p->tx_next);
    }
    nd->stats.tx_packets += nb_queued;
    nd->stats.tx_bytes += bytes;
    nd->stats.tx_full += (uint64_t)(nb - n);
    return n;
}

/* ======================================================================
 * Control: link, promiscuous mode, stop
 * ====================================================================== */

/*
 * Frames missed since the last call. The manual's MPC is clear-on-read
 * (13.7), so a read is already that count. QEMU's is not: hw/net/e1000.c
 * reads it like any register, so there a read is the total since power-on.
 * A second read tells them apart: a clearing counter starts again from
 * (almost) zero, a plain one reads at least the same total. Only when MPC
 * is non-zero does this cost the second read.
 */
static uint32_t mpc_delta(struct e1000_port *p)
{
    uint32_t first = reg_read(p, E1000_MPC), second, delta;

    if (first == 0)
        return 0;
    second = reg_read(p, E1000_MPC);
    if (second < first || second < p->mpc_seen)
        return first + second;           /* cleared by the first read */
    delta = second - p->mpc_seen;        /* a running total */
    p->mpc_seen = second;
    return delta;
}

/* Once per stats interval: STATUS.LU (13.4.2) and missed frames. */
static bool e1000_link_poll(struct netdev *nd)
{
    struct e1000_port *p = port_of(nd);
    bool up = (reg_read(p, E1000_STATUS) & E1000_STATUS_LU) != 0;

    if (up != nd->link_up) {
        nd->link_up = up;
        nd->stats.link_changes++;
    }
    nd->stats.rx_missed += mpc_delta(p);
    return up;
}

/* Writes RCTL only when the bits change: under QEMU every RCTL write stops
 * reception for about a second (TRAPS.md). */
static void e1000_set_promisc(struct netdev *nd, bool on)
{
    struct e1000_port *p = port_of(nd);
    uint32_t promisc_bits = E1000_RCTL_UPE | E1000_RCTL_MPE;
    uint32_t rctl = on ? (p->rctl | promisc_bits) : (p->rctl & ~promisc_bits);

    nd->promisc = on;
    if (rctl == p->rctl)
        return;
    p->rctl = rctl;
    reg_write(p, E1000_RCTL, rctl);
}

/* Every TX buffer still in the ring, sent or not, back to its pool. */
static void tx_release_all(struct e1000_port *p)
{
    struct pktbuf *bufs[TX_FREE_BATCH];
    unsigned nb = 0;

    for (; p->tx_clean != p->tx_next; p->tx_clean = (p->tx_clean + 1) & p->tx_mask) {
        bufs[nb++] = p->tx_bufs[p->tx_clean];
        p->tx_bufs[p->tx_clean] = NULL;
        if (nb == TX_FREE_BATCH) {
            pktbuf_free_bulk(bufs, nb);
            nb = 0;
        }
    }
    if (nb > 0)
        pktbuf_free_bulk(bufs, nb);
    p->tx_nb_free = p->tx_mask;
}

/*
 * Receiver and transmitter off (13.4.22, 13.4.33), then a global reset so
 * that no DMA can still be under way into or out of our buffers, then every
 * buffer back to the pool: the RX ring's (all from our pool) in one bulk
 * put, the TX ring's (from any pool) in batches. The port answers bursts
 * with 0 afterwards.
 */
static void e1000_stop(struct netdev *nd)
{
    struct e1000_port *p = port_of(nd);

    reg_write(p, E1000_RCTL, p->rctl & ~E1000_RCTL_EN);
    reg_write(p, E1000_TCTL, p->tctl & ~E1000_TCTL_EN);
    if (device_reset(p) < 0)
        kprintf("e1000 port %u: reset at stop did not complete\n", nd->port_id);
    tx_release_all(p);
    pool_put_bulk(nd->pool, p->rx_bufs, (unsigned)p->rx_mask + 1);
    for (uint32_t i = 0; i <= p->rx_mask; i++)
        p->rx_bufs[i] = NULL;
    nd->link_up = false;
    nd->ops = &e1000_stopped_ops;
}

void e1000_get_xstats(const struct netdev *dev, struct e1000_xstats *out)
{
    *out = ((const struct e1000_port *)dev)->xstats;
}

static const struct netdev_ops e1000_ops = {
    .rx_burst = e1000_rx_burst,
    .tx_burst = e1000_tx_burst,
    .link_poll = e1000_link_poll,
    .set_promisc = e1000_set_promisc,
    .stop = e1000_stop,
};

/* ---- after stop(): the buffers are back in the pool, the device idle ---- */

static uint16_t stopped_rx_burst(struct netdev *nd, struct pktbuf **pkts, uint16_t nb)
{
    (void)nd, (void)pkts, (void)nb;
    return 0;
}

static uint16_t stopped_tx_burst(struct netdev *nd, struct pktbuf **pkts, uint16_t nb)
{
    (void)pkts;
    nd->stats.tx_full += nb;
    return 0;
}

static bool stopped_link_poll(struct netdev *nd)
{
    return nd->link_up;
}

static void stopped_set_promisc(struct netdev *nd, bool on)
{
    nd->promisc = on;
}

static void stopped_stop(struct netdev *nd)
{
    (void)nd;
}

static const struct netdev_ops e1000_stopped_ops = {
    .rx_burst = stopped_rx_burst,
    .tx_burst = stopped_tx_burst,
    .link_poll = stopped_link_poll,
    .set_promisc = stopped_set_promisc,
    .stop = stopped_stop,
};
