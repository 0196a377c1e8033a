/*
 * Intel 82540EM (QEMU's -device e1000, PCI 8086:100e) port driver.
 *
 * e1000_create() binds one NIC and returns a struct netdev (net/netdev.h)
 * whose ops poll legacy RX/TX descriptor rings: no interrupts, one doorbell
 * per burst. See drivers/e1000.c for the bring-up sequence and the ring
 * conventions, and drivers/e1000_regs.h for the registers.
 *
 * Under QEMU, mind two things (TRAPS.md and hw/net/e1000.c):
 *   - QEMU's e1000 accepts no frame for ~1 s after any RCTL write, so the
 *     first frame arrives about a second after e1000_create() returns, and
 *     set_promisc() with a changed setting costs another second;
 *   - link_up is read from STATUS.LU, which QEMU drives from the netdev's
 *     link state (`set_link`), not from the driver.
 */
#ifndef PKTMETAL_DRIVERS_E1000_H
#define PKTMETAL_DRIVERS_E1000_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/pci.h"
#include "net/netdev.h"

#define E1000_VENDOR_INTEL    0x8086u
#define E1000_DEVICE_82540EM  0x100eu   /* QEMU "e1000" */
#define E1000_DEVICE_82545EM  0x100fu   /* QEMU "e1000-82545em": same programming model */

#define E1000_RING_MIN        8u        /* RDLEN/TDLEN: multiples of 128 bytes */
#define E1000_RING_MAX        4096u     /* a sane bound; the device allows 65528 */
#define E1000_RX_BURST_MAX    64u       /* rx_burst hands over at most this many */

/* True for the PCI ids this driver binds. */
bool e1000_supports(uint16_t vendor, uint16_t device);

/*
 * Binds the NIC at dev: global reset, interrupts masked, link set up (no
 * autonegotiation restart), MAC read from RAL0/RAH0, multicast table
 * cleared, RX and TX rings of cfg's sizes (powers of two, E1000_RING_MIN ..
 * E1000_RING_MAX) in dma_alloc() memory, every RX slot filled from
 * cfg->pool. dev->bar[0].base is the register window, already mapped
 * uncached. Returns 0 and *out, or -PM_EINVAL (bad config), -PM_ENODEV (not
 * an e1000 or no memory BAR), -PM_ETIMEDOUT (reset never completed),
 * -PM_EIO (no valid MAC), -PM_ENOMEM (rings or RX buffers). On failure every
 * buffer taken from the pool has been returned.
 */
int e1000_create(const struct pci_cfg_ops *pci, const struct pci_dev *dev,
                 const struct netdev_config *cfg, struct netdev **out);

/* Counters beyond struct netdev_stats, for the curious and for tests. */
struct e1000_xstats {
    uint64_t rx_frame_errors;   /* frames the NIC flagged (RDESC.errors), dropped */
    uint64_t rx_chained;        /* buffers of frames that spanned several, dropped */
    uint64_t tx_bad_len;        /* buffers tx_burst refused to describe: length 0 or too long */
    uint64_t tx_reclaims;       /* reclaim scans that freed at least one buffer */
};

/* dev must come from e1000_create(). */
void e1000_get_xstats(const struct netdev *dev, struct e1000_xstats *out);

#endif
