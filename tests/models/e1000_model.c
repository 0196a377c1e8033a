/*
 * A strict software 82540EM (see e1000_model.h for what it does and what
 * it refuses).
 *
 * The register offsets and bits below are written out again from the 8254x
 * SDM (chapter 13) rather than taken from drivers/e1000_regs.h, so a wrong
 * offset in the driver's header shows up as a failing test instead of two
 * files agreeing on the same mistake.
 *
 * Ring ownership, as the device sees it (3.2.6, 3.4): the device owns the
 * slots head .. tail-1; software owns tail .. head-1, which is all N slots
 * when head == tail. A tail write hands over k slots and must leave at
 * least one with software, or head == tail would read as "owns nothing".
 */
#include "tests/models/e1000_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/models/host_platform.h"

/* Registers, as byte offsets (13.4, 13.5, 13.7). */
enum {
    M_CTRL = 0x0000, M_STATUS = 0x0008, M_ICR = 0x00c0, M_IMS = 0x00d0, M_IMC = 0x00d8,
    M_RCTL = 0x0100, M_TCTL = 0x0400, M_TIPG = 0x0410,
    M_RDBAL = 0x2800, M_RDBAH = 0x2804, M_RDLEN = 0x2808, M_RDH = 0x2810, M_RDT = 0x2818,
    M_TDBAL = 0x3800, M_TDBAH = 0x3804, M_TDLEN = 0x3808, M_TDH = 0x3810, M_TDT = 0x3818,
    M_MPC = 0x4010, M_MTA = 0x5200, M_RAL0 = 0x5400, M_RAH0 = 0x5404,
};

#define M_CTRL_RST      (1u << 26)
#define M_STATUS_FD     (1u << 0)
#define M_STATUS_LU     (1u << 1)
#define M_STATUS_1000   (2u << 6)
#define M_RCTL_EN       (1u << 1)
#define M_RCTL_UPE      (1u << 3)
#define M_RCTL_MPE      (1u << 4)
#define M_RCTL_LPE      (1u << 5)
#define M_RCTL_BAM      (1u << 15)
#define M_RCTL_BSEX     (1u << 25)
#define M_RCTL_SECRC    (1u << 26)
#define M_TCTL_EN       (1u << 1)
#define M_RAH_AV        (1u << 31)

#define M_RXD_DD        0x01u
#define M_RXD_EOP       0x02u
#define M_RXD_IXSM      0x04u      /* "ignore checksum": what QEMU reports */
#define M_TXD_EOP       0x01u
#define M_TXD_RS        0x08u
#define M_TXD_DEXT      0x20u
#define M_TXD_DD        0x01u

#define M_MTA_WORDS     128u
#define M_TXD_MAX_LEN   16288u     /* 3.3.3 */
#define M_FRAME_MIN     60u        /* padded like QEMU does, CRC excluded */
#define M_FRAME_MAX     1518u      /* without LPE, CRC excluded */
#define M_FCS_BYTES     4u
#define M_MTA_JUNK      0x5a5aa5a5u

struct m_rdesc {                   /* Table 3-1 */
    uint64_t addr;
    uint16_t length, csum;
    uint8_t status, errors;
    uint16_t special;
};

struct m_tdesc {                   /* Table 3-8 */
    uint64_t addr;
    uint16_t length;
    uint8_t cso, cmd, status, css;
    uint16_t special;
};

_Static_assert(sizeof(struct m_rdesc) == 16 && sizeof(struct m_tdesc) == 16, "descriptors");

static uint32_t reg(const struct model_e1000 *m, uint32_t off)
{
    return m->regs[off / 4];
}

static void set_reg(struct model_e1000 *m, uint32_t off, uint32_t val)
{
    m->regs[off / 4] = val;
}

void model_e1000_violation(struct model_e1000 *m, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof(m->log) - m->log_len;

    m->nb_violations++;
    if (room <= 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(m->log + m->log_len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->log_len += (size_t)n < room - 1 ? (size_t)n : room - 1;
    if (m->log_len < sizeof(m->log) - 1)
        m->log[m->log_len++] = '\n';
    m->log[m->log_len] = '\0';
}

/* ---- ring geometry ---- */

static uint32_t ring_slots(const struct model_e1000 *m, uint32_t len_reg)
{
    return reg(m, len_reg) / 16;
}

static uint64_t ring_base(const struct model_e1000 *m, uint32_t bal, uint32_t bah)
{
    return ((uint64_t)reg(m, bah) << 32) | reg(m, bal);
}

static uint32_t rx_buf_bytes(const struct model_e1000 *m)
{
    uint32_t rctl = reg(m, M_RCTL);
    uint32_t bsize = (rctl >> 16) & 3;
    static const uint32_t plain[4] = { 2048, 1024, 512, 256 };
    static const uint32_t extended[4] = { 0, 16384, 8192, 4096 };   /* 00b reserved */

    return (rctl & M_RCTL_BSEX) ? extended[bsize] : plain[bsize];
}

uint32_t model_e1000_rx_free(const struct model_e1000 *m)
{
    uint32_t n = ring_slots(m, M_RDLEN);

    return n ? (reg(m, M_RDT) + n - reg(m, M_RDH)) % n : 0;
}

/* ---- reset and link ---- */

static uint32_t status_value(const struct model_e1000 *m)
{
    return m->link_up ? (M_STATUS_FD | M_STATUS_LU | M_STATUS_1000) : M_STATUS_FD;
}

/* 13.4.1: everything back to its initial value; the MTA is undefined after
 * reset (junk here, so a driver that forgets to clear it is caught);
 * receive address 0 reloaded from the EEPROM. */
static void device_reset(struct model_e1000 *m)
{
    memset(m->regs, 0, MODEL_E1000_WINDOW_BYTES);
    for (uint32_t i = 0; i < M_MTA_WORDS; i++)
        set_reg(m, M_MTA + 4 * i, M_MTA_JUNK);
    if (!m->eeprom_blank) {
        set_reg(m, M_RAL0, (uint32_t)m->mac[0] | (uint32_t)m->mac[1] << 8 |
                           (uint32_t)m->mac[2] << 16 | (uint32_t)m->mac[3] << 24);
        set_reg(m, M_RAH0, (uint32_t)m->mac[4] | (uint32_t)m->mac[5] << 8 | M_RAH_AV);
    }
    set_reg(m, M_STATUS, status_value(m));
    free(m->tx_partial);
    m->tx_partial = NULL;
    m->tx_partial_len = 0;
    m->rx_enabled_once = false;
    m->tx_enabled_once = false;
}

void model_e1000_set_link(struct model_e1000 *m, bool up)
{
    m->link_up = up;
    set_reg(m, M_STATUS, status_value(m));
}

/* ---- tail writes: what the driver hands over ---- */

/* k slots handed over by moving tail from old to new; violation if that
 * passes the head (takes the slot software must keep). */
static bool tail_move_ok(struct model_e1000 *m, const char *name, uint32_t head,
                         uint32_t old_tail, uint32_t new_tail, uint32_t n)
{
    uint32_t sw_owned = (head + n - old_tail - 1) % n + 1;
    uint32_t k = (new_tail + n - old_tail) % n;

    if (k > sw_owned - 1) {
        model_e1000_violation(m, "%s %u -> %u hands over %u slots but software owns only "
                              "%u (head %u): the tail passed the head", name, old_tail,
                              new_tail, k, sw_owned, head);
        return false;
    }
    return true;
}

static struct m_rdesc *rx_desc(const struct model_e1000 *m, uint32_t idx)
{
    return (struct m_rdesc *)(uintptr_t)ring_base(m, M_RDBAL, M_RDBAH) + idx;
}

static struct m_tdesc *tx_desc(const struct model_e1000 *m, uint32_t idx)
{
    return (struct m_tdesc *)(uintptr_t)ring_base(m, M_TDBAL, M_TDBAH) + idx;
}

/* Each RX slot handed over must have a buffer in DMA memory big enough for
 * RCTL.BSIZE and no DD left from last time (3.2.3). */
static void check_rx_handover(struct model_e1000 *m, uint32_t from, uint32_t to, uint32_t n)
{
    for (uint32_t i = from; i != to; i = (i + 1) % n) {
        const struct m_rdesc *d = rx_desc(m, i);
        if (!host_dma_contains(d->addr, rx_buf_bytes(m)))
            model_e1000_violation(m, "RX slot %u handed over with buffer %#llx outside DMA "
                                  "memory", i, (unsigned long long)d->addr);
        if (d->status & M_RXD_DD)
            model_e1000_violation(m, "RX slot %u handed over with DD still set", i);
    }
}

static void check_tx_handover(struct model_e1000 *m, uint32_t from, uint32_t to, uint32_t n)
{
    for (uint32_t i = from; i != to; i = (i + 1) % n)
        if (tx_desc(m, i)->status & M_TXD_DD)
            model_e1000_violation(m, "TX slot %u handed over with DD still set", i);
}

static void count_doorbell(struct model_e1000 *m, uint32_t *burst_count, const char *name)
{
    if (!m->in_burst)
        return;
    if (++*burst_count == 2)
        model_e1000_violation(m, "second %s write in one burst: one doorbell per burst", name);
}

static void write_rdt(struct model_e1000 *m, uint32_t val)
{
    uint32_t n = ring_slots(m, M_RDLEN);

    m->nb_rdt_writes++;
    count_doorbell(m, &m->burst_rdt_writes, "RDT");
    if (n == 0 || ring_base(m, M_RDBAL, M_RDBAH) == 0) {
        model_e1000_violation(m, "RDT written before the RX ring was programmed");
        set_reg(m, M_RDT, val & 0xffff);
        return;
    }
    if (val >= n) {
        model_e1000_violation(m, "RDT %u beyond the ring of %u", val, n);
        return;
    }
    if (tail_move_ok(m, "RDT", reg(m, M_RDH), reg(m, M_RDT), val, n))
        check_rx_handover(m, reg(m, M_RDT), val, n);
    set_reg(m, M_RDT, val);
}

/* ---- transmit ---- */

static void tx_gather(struct model_e1000 *m, const struct m_tdesc *d, uint32_t idx)
{
    if (d->length == 0 || d->length > M_TXD_MAX_LEN) {
        model_e1000_violation(m, "TX slot %u length %u: must be 1..16288 (3.3.3)", idx,
                              d->length);
        return;
    }
    if (!host_dma_contains(d->addr, d->length)) {
        model_e1000_violation(m, "TX slot %u buffer %#llx+%u outside DMA memory", idx,
                              (unsigned long long)d->addr, d->length);
        return;
    }
    m->tx_partial = realloc(m->tx_partial, m->tx_partial_len + d->length);
    memcpy(m->tx_partial + m->tx_partial_len, (const void *)(uintptr_t)d->addr, d->length);
    m->tx_partial_len += d->length;
}

static void tx_frame_done(struct model_e1000 *m)
{
    if (m->nb_sent < MODEL_E1000_MAX_SENT && m->tx_partial_len <= UINT16_MAX) {
        m->sent[m->nb_sent].data = m->tx_partial;
        m->sent[m->nb_sent].len = (uint16_t)m->tx_partial_len;
        m->tx_partial = NULL;
    }
    m->nb_sent++;
    free(m->tx_partial);
    m->tx_partial = NULL;
    m->tx_partial_len = 0;
}

/* Sends everything from TDH to TDT (3.4), writing DD back where RS asks for
 * it (3.3.3.2). A run that ends on a descriptor without RS leaves the
 * driver nothing that could ever tell it those slots are free. */
static void tx_process(struct model_e1000 *m)
{
    uint32_t n = ring_slots(m, M_TDLEN);
    bool last_rs = true;
    uint32_t first = reg(m, M_TDH);

    if (!(reg(m, M_TCTL) & M_TCTL_EN) || m->tx_held || n == 0)
        return;
    while (reg(m, M_TDH) != reg(m, M_TDT)) {
        uint32_t idx = reg(m, M_TDH);
        struct m_tdesc *d = tx_desc(m, idx);

        if (d->cmd & M_TXD_DEXT)
            model_e1000_violation(m, "TX slot %u is not a legacy descriptor (DEXT)", idx);
        else
            tx_gather(m, d, idx);
        if (d->cmd & M_TXD_EOP)
            tx_frame_done(m);
        last_rs = (d->cmd & M_TXD_RS) != 0;
        if (last_rs)
            d->status |= M_TXD_DD;
        set_reg(m, M_TDH, (idx + 1) % n);
    }
    if (!last_rs)
        model_e1000_violation(m, "TX slots from %u to %u: the last has no RS, so no DD "
                              "will ever report them done", first, reg(m, M_TDH));
}

void model_e1000_tx_hold(struct model_e1000 *m, bool hold)
{
    m->tx_held = hold;
}

void model_e1000_tx_release(struct model_e1000 *m)
{
    m->tx_held = false;
    tx_process(m);
}

static void write_tdt(struct model_e1000 *m, uint32_t val)
{
    uint32_t n = ring_slots(m, M_TDLEN);

    m->nb_tdt_writes++;
    count_doorbell(m, &m->burst_tdt_writes, "TDT");
    if (n == 0 || ring_base(m, M_TDBAL, M_TDBAH) == 0) {
        if (val != 0)
            model_e1000_violation(m, "TDT written before the TX ring was programmed");
        set_reg(m, M_TDT, val & 0xffff);
        return;
    }
    if (val >= n) {
        model_e1000_violation(m, "TDT %u beyond the ring of %u", val, n);
        return;
    }
    if (tail_move_ok(m, "TDT", reg(m, M_TDH), reg(m, M_TDT), val, n))
        check_tx_handover(m, reg(m, M_TDT), val, n);
    set_reg(m, M_TDT, val);
    tx_process(m);
}

/* ---- enabling and ring registers ---- */

/* 14.4/14.5: base, length, head and tail programmed before enabling. */
static void check_ring_ready(struct model_e1000 *m, const char *unit, uint32_t bal,
                             uint32_t bah, uint32_t len, uint32_t head, uint32_t tail)
{
    uint32_t n = ring_slots(m, len);

    if (ring_base(m, bal, bah) == 0 || n == 0)
        model_e1000_violation(m, "%s enabled before its ring base and length were programmed",
                              unit);
    else if (reg(m, head) >= n || reg(m, tail) >= n)
        model_e1000_violation(m, "%s enabled with head %u / tail %u outside the ring of %u",
                              unit, reg(m, head), reg(m, tail), n);
}

static void write_rctl(struct model_e1000 *m, uint32_t val)
{
    m->nb_rctl_writes++;
    if ((val & M_RCTL_EN) && !(reg(m, M_RCTL) & M_RCTL_EN)) {
        check_ring_ready(m, "RX", M_RDBAL, M_RDBAH, M_RDLEN, M_RDH, M_RDT);
        m->rx_enabled_once = true;
    }
    set_reg(m, M_RCTL, val);
}

static void write_tctl(struct model_e1000 *m, uint32_t val)
{
    if ((val & M_TCTL_EN) && !(reg(m, M_TCTL) & M_TCTL_EN)) {
        check_ring_ready(m, "TX", M_TDBAL, M_TDBAH, M_TDLEN, M_TDH, M_TDT);
        m->tx_enabled_once = true;
    }
    set_reg(m, M_TCTL, val);
    tx_process(m);
}

/* RDBAL/RDLEN/RDH and their TX twins: only while the unit is off
 * (13.4.28: writing the head while enabled gives indeterminate results). */
static void write_ring_reg(struct model_e1000 *m, uint32_t off, uint32_t val, bool unit_on,
                           const char *name)
{
    if (unit_on)
        model_e1000_violation(m, "%s written while the unit is enabled", name);
    if ((off == M_RDBAL || off == M_TDBAL) && (val & 0xf)) {
        model_e1000_violation(m, "%s %#x not 16-byte aligned (bits 3:0 are dropped)", name,
                              val);
        val &= ~0xfu;
    }
    if ((off == M_RDLEN || off == M_TDLEN) && (val == 0 || val % 128 != 0 || val > 0xfff80))
        model_e1000_violation(m, "%s %u is not a non-zero multiple of 128", name, val);
    if (off == M_RDH || off == M_TDH)
        val &= 0xffff;
    set_reg(m, off, val);
}

/* ---- the MMIO window ---- */

static uint64_t mmio_read(void *ctx, uint64_t off, unsigned width)
{
    struct model_e1000 *m = ctx;
    uint32_t val;

    if (width != 4 || off % 4 != 0) {
        model_e1000_violation(m, "%u-byte read at %#llx: registers are 32-bit", width,
                              (unsigned long long)off);
        return 0;
    }
    switch (off) {
    case M_CTRL:
        if (m->reset_busy_reads > 0) {
            m->reset_busy_reads--;
            return reg(m, M_CTRL) | M_CTRL_RST;
        }
        return reg(m, M_CTRL);
    case M_MPC:
        if (m->mpc_sticky)             /* QEMU: a plain register */
            return reg(m, M_MPC);
        /* fall through */
    case M_ICR:                        /* clear on read (13.4.17, 13.7) */
        val = reg(m, (uint32_t)off);
        set_reg(m, (uint32_t)off, 0);
        return val;
    case M_IMC:
        return 0;                      /* write only */
    case M_RDH:
    case M_TDH:
        m->nb_head_reads++;
        if (m->rx_enabled_once || m->tx_enabled_once)
            model_e1000_violation(m, "%s read after the rings were enabled: poll DD in "
                                  "descriptor memory instead", off == M_RDH ? "RDH" : "TDH");
        return reg(m, (uint32_t)off);
    default:
        return reg(m, (uint32_t)off);
    }
}

static void write_ctrl(struct model_e1000 *m, uint32_t val)
{
    if (val & M_CTRL_RST) {
        m->nb_resets++;
        device_reset(m);
    }
    set_reg(m, M_CTRL, val & ~M_CTRL_RST);
}

static void write_interrupt_reg(struct model_e1000 *m, uint32_t off, uint32_t val)
{
    switch (off) {
    case M_IMS:
        if (val != 0)
            model_e1000_violation(m, "IMS written with %#x: this driver polls", val);
        set_reg(m, M_IMS, reg(m, M_IMS) | val);
        break;
    case M_IMC:
        if (val == 0xffffffffu)
            m->nb_imc_all_writes++;
        set_reg(m, M_IMS, reg(m, M_IMS) & ~val);
        break;
    default:                           /* ICR: write 1 to clear */
        set_reg(m, M_ICR, reg(m, M_ICR) & ~val);
        break;
    }
}

static void mmio_write(void *ctx, uint64_t off64, unsigned width, uint64_t val64)
{
    struct model_e1000 *m = ctx;
    uint32_t off = (uint32_t)off64, val = (uint32_t)val64;
    bool rx_on = (reg(m, M_RCTL) & M_RCTL_EN) != 0;
    bool tx_on = (reg(m, M_TCTL) & M_TCTL_EN) != 0;

    if (width != 4 || off % 4 != 0) {
        model_e1000_violation(m, "%u-byte write at %#x: registers are 32-bit", width, off);
        return;
    }
    switch (off) {
    case M_CTRL:   write_ctrl(m, val); break;
    case M_STATUS: break;              /* read only */
    case M_ICR: case M_IMS: case M_IMC: write_interrupt_reg(m, off, val); break;
    case M_RCTL:   write_rctl(m, val); break;
    case M_TCTL:   write_tctl(m, val); break;
    case M_RDBAL:  write_ring_reg(m, off, val, rx_on, "RDBAL"); break;
    case M_RDBAH:  write_ring_reg(m, off, val, rx_on, "RDBAH"); break;
    case M_RDLEN:  write_ring_reg(m, off, val, rx_on, "RDLEN"); break;
    case M_RDH:    write_ring_reg(m, off, val, rx_on, "RDH"); break;
    case M_TDBAL:  write_ring_reg(m, off, val, tx_on, "TDBAL"); break;
    case M_TDBAH:  write_ring_reg(m, off, val, tx_on, "TDBAH"); break;
    case M_TDLEN:  write_ring_reg(m, off, val, tx_on, "TDLEN"); break;
    case M_TDH:    write_ring_reg(m, off, val, tx_on, "TDH"); break;
    case M_RDT:    write_rdt(m, val); break;
    case M_TDT:    write_tdt(m, val); break;
    case M_MPC:    break;              /* statistics are read only */
    default:       set_reg(m, off, val); break;
    }
}

static const struct mmio_region_ops model_ops = {
    .read = mmio_read,
    .write = mmio_write,
};

/* ---- receive ---- */

/* 13.4.22 and 13.5: broadcast needs BAM, multicast MPE or its MTA bit
 * (MO = 00b: destination bits 47:36), unicast UPE or a match with RA0. */
static bool rx_accepts(const struct model_e1000 *m, const uint8_t *dst)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint32_t rctl = reg(m, M_RCTL);

    if (memcmp(dst, bcast, 6) == 0 && (rctl & M_RCTL_BAM))
        return true;
    if (dst[0] & 1) {
        uint32_t hash = (((uint32_t)dst[5] << 8) | dst[4]) >> 4 & 0xfff;
        return (rctl & M_RCTL_MPE) ||
               (reg(m, M_MTA + 4 * (hash >> 5)) >> (hash & 31) & 1);
    }
    if (rctl & M_RCTL_UPE)
        return true;
    return (reg(m, M_RAH0) & M_RAH_AV) && reg(m, M_RAL0) == ((uint32_t)dst[0] |
           (uint32_t)dst[1] << 8 | (uint32_t)dst[2] << 16 | (uint32_t)dst[3] << 24) &&
           (reg(m, M_RAH0) & 0xffff) == ((uint32_t)dst[4] | (uint32_t)dst[5] << 8);
}

/* Stores one piece at RDH and advances it; false if the slot is unusable. */
static bool rx_store_piece(struct model_e1000 *m, const uint8_t *data, uint16_t len,
                           bool last, uint8_t errors)
{
    uint32_t idx = reg(m, M_RDH);
    struct m_rdesc *d = rx_desc(m, idx);

    if (!host_dma_contains(d->addr, rx_buf_bytes(m))) {
        model_e1000_violation(m, "RX slot %u: buffer %#llx outside DMA memory at receive",
                              idx, (unsigned long long)d->addr);
        return false;
    }
    memcpy((void *)(uintptr_t)d->addr, data, len);
    d->length = len;
    d->errors = last ? errors : 0;
    d->special = 0;
    /* status last, DD in it: the driver may look at any moment */
    d->status = M_RXD_DD | (last ? (M_RXD_EOP | M_RXD_IXSM) : 0);
    set_reg(m, M_RDH, (idx + 1) % ring_slots(m, M_RDLEN));
    return true;
}

bool model_e1000_rx_ex(struct model_e1000 *m, const void *frame, uint16_t len,
                       const struct model_e1000_rx_opts *opts)
{
    static const struct model_e1000_rx_opts defaults;
    uint8_t wire[M_FRAME_MAX + 2048 + M_FCS_BYTES];
    const uint8_t *data = frame;
    uint32_t piece, nb_pieces;

    if (opts == NULL)
        opts = &defaults;
    if (!(reg(m, M_RCTL) & M_RCTL_EN) || !m->link_up || ring_slots(m, M_RDLEN) == 0 ||
        len < 14 || (len > M_FRAME_MAX && !(reg(m, M_RCTL) & M_RCTL_LPE) &&
                     !opts->skip_size_check)) {
        m->nb_rx_dropped++;
        return false;
    }
    if (!rx_accepts(m, data)) {
        m->nb_rx_filtered++;
        return false;
    }
    if (len > sizeof(wire) - M_FCS_BYTES) {
        model_e1000_violation(m, "test frame of %u bytes is longer than the model takes", len);
        return false;
    }
    /* Pad to the minimum frame (QEMU does); keep the FCS unless SECRC
     * strips it: the buffer then gets 4 more bytes (a stand-in CRC). */
    memcpy(wire, data, len);
    if (len < M_FRAME_MIN) {
        memset(wire + len, 0, M_FRAME_MIN - len);
        len = M_FRAME_MIN;
    }
    if (!(reg(m, M_RCTL) & M_RCTL_SECRC)) {
        memset(wire + len, 0xfc, M_FCS_BYTES);
        len += M_FCS_BYTES;
    }
    data = wire;
    piece = opts->piece_bytes ? opts->piece_bytes : rx_buf_bytes(m);
    if (piece > rx_buf_bytes(m))
        model_e1000_violation(m, "test asked for %u-byte pieces in %u-byte buffers", piece,
                              rx_buf_bytes(m));
    nb_pieces = (len + piece - 1) / piece;
    if (model_e1000_rx_free(m) < nb_pieces) {
        set_reg(m, M_MPC, reg(m, M_MPC) + 1);      /* no room: missed (13.7) */
        return false;
    }
    for (uint32_t off = 0; off < len; off += piece) {
        uint16_t n = (uint16_t)(len - off < piece ? len - off : piece);
        if (!rx_store_piece(m, data + off, n, off + n == len, opts->errors))
            return false;
    }
    return true;
}

bool model_e1000_rx(struct model_e1000 *m, const void *frame, uint16_t len)
{
    return model_e1000_rx_ex(m, frame, len, NULL);
}

/* ---- the rest of the API ---- */

void model_e1000_burst_begin(struct model_e1000 *m)
{
    m->in_burst = true;
    m->burst_rdt_writes = 0;
    m->burst_tdt_writes = 0;
}

void model_e1000_burst_end(struct model_e1000 *m)
{
    m->in_burst = false;
}

uint32_t model_e1000_peek(const struct model_e1000 *m, uint32_t offset)
{
    return reg(m, offset);
}

void model_e1000_poke(struct model_e1000 *m, uint32_t offset, uint32_t val)
{
    set_reg(m, offset, val);
}

struct model_e1000 *model_e1000_create(const uint8_t mac[6])
{
    struct model_e1000 *m = calloc(1, sizeof(*m));

    if (m == NULL)
        abort();
    m->regs = aligned_alloc(4096, MODEL_E1000_WINDOW_BYTES);
    if (m->regs == NULL)
        abort();
    memcpy(m->mac, mac, 6);
    m->link_up = true;
    device_reset(m);                   /* power-on state */
    if (host_mmio_register(m->regs, MODEL_E1000_WINDOW_BYTES, &model_ops, m) != 0)
        abort();
    return m;
}

void model_e1000_destroy(struct model_e1000 *m)
{
    if (m == NULL)
        return;
    host_mmio_unregister(m->regs);
    for (uint32_t i = 0; i < m->nb_sent && i < MODEL_E1000_MAX_SENT; i++)
        free(m->sent[i].data);
    free(m->tx_partial);
    free(m->regs);
    free(m);
}
