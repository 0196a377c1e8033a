/*
 * virtio-net port driver (VIRTIO 1.1, 5.1) over the modern PCI transport:
 * QEMU's virtio-net-pci (transitional, 1af4:1000) and
 * virtio-net-pci-non-transitional (1af4:1041).
 *
 * virtio_net_create() binds one function and returns a struct netdev
 * (net/netdev.h) that polls two split virtqueues, RX = queue 0 and TX =
 * queue 1: at most one doorbell per burst, and only when the device asks
 * for it. No interrupts on the packet path (INTx disabled, TX and config
 * without MSI-X vector); only if opts give a wake-up message does the RX
 * queue get MSI-X vector 0, and the device is asked to use it only right
 * before an idle halt (netdev rx_wake).
 *
 * Features: VIRTIO_F_VERSION_1 (required), VIRTIO_NET_F_MAC,
 * VIRTIO_NET_F_STATUS and, unless opts say otherwise,
 * VIRTIO_F_RING_EVENT_IDX; nothing else. So there are no offloads, no
 * mergeable RX buffers and no control queue, and every packet carries the
 * 12-byte struct virtio_net_hdr, kept in the pktbuf headroom right before
 * the frame so that a packet is one descriptor.
 *
 * Under QEMU, mind (see virtio_net.c for the sources):
 *   - ring sizes are min(cfg, device maximum): QEMU's maximum is 256 unless
 *     -device virtio-net-pci,rx_queue_size=N (N up to 1024); tx_queue_size
 *     above 256 only works with vhost-user/vdpa backends;
 *   - with no control queue the device is promiscuous and cannot be made
 *     otherwise: set_promisc(false) says so and leaves promisc set;
 *   - while the link is down QEMU discards received frames and drops queued
 *     TX buffers (returned with length 0: counted as sent here).
 */
#ifndef PKTMETAL_DRIVERS_VIRTIO_NET_H
#define PKTMETAL_DRIVERS_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/pci.h"
#include "net/netdev.h"

#define VIRTIO_NET_DEVICE_TRANSITIONAL  0x1000u
#define VIRTIO_NET_DEVICE_MODERN        0x1041u   /* 0x1040 + device type 1 */

#define VIRTIO_NET_RX_BURST_MAX         64u       /* rx_burst hands over at most this many */

/* True for the PCI ids this driver binds. */
bool virtio_net_supports(uint16_t vendor, uint16_t device);

/* Choices beyond struct netdev_config. */
struct virtio_net_opts {
    bool event_idx;          /* negotiate VIRTIO_F_RING_EVENT_IDX if offered */
    /* Wake-on-receive: the MSI message (kernel/apic.h apic_msi_message) the
     * RX queue's interrupt sends, when asked for by rx_wake. 0: none, and
     * rx_wake answers NETDEV_WAKE_NONE. */
    uint64_t wake_msi_addr;
    uint32_t wake_msi_data;
};

/* What virtio_net_create() uses: event_idx on, no wake-up. */
void virtio_net_default_opts(struct virtio_net_opts *opts);

/*
 * Binds the function at dev (3.1.1): reset, ACKNOWLEDGE, DRIVER, features,
 * FEATURES_OK (checked), RX and TX queues of min(cfg size, device maximum)
 * entries in dma_alloc() memory, every RX slot filled from cfg->pool,
 * DRIVER_OK. dev->bar[] must be mapped uncached. Returns 0 and *out, or
 * -PM_EINVAL (bad config), -PM_ENODEV (not virtio-net, no modern
 * interface, or no RX/TX queue), -PM_ETIMEDOUT (reset never finished),
 * -PM_ENOTSUP (no VIRTIO_F_VERSION_1, or the device refused the features),
 * -PM_EIO (queue setup refused), -PM_ENOMEM. On failure the device is left
 * with FAILED set where it got that far, and every pool buffer is returned.
 */
int virtio_net_create(const struct pci_cfg_ops *pci, const struct pci_dev *dev,
                      const struct netdev_config *cfg, struct netdev **out);
int virtio_net_create_opts(const struct pci_cfg_ops *pci, const struct pci_dev *dev,
                           const struct netdev_config *cfg, const struct virtio_net_opts *opts,
                           struct netdev **out);

/* Counters beyond struct netdev_stats, for the curious and for tests. */
struct virtio_net_xstats {
    uint64_t features;            /* negotiated feature bits */
    uint64_t rx_notify, tx_notify;                       /* doorbells rung */
    uint64_t rx_notify_suppressed, tx_notify_suppressed; /* device said not needed */
    uint64_t rx_bad_len;          /* used entries with an impossible length, dropped */
    uint64_t bad_used;            /* used entries naming no posted buffer (device fault) */
    uint64_t tx_bad_headroom;     /* packets with no room for the header or no data, dropped */
    uint64_t tx_reclaimed;        /* TX buffers returned to their pools */
    bool device_needs_reset;      /* DEVICE_NEEDS_RESET seen by link_poll */
    bool rx_wake;                 /* the RX queue has an MSI-X vector: rx_wake works */
    uint64_t wake_arms;           /* rx_wake(arm) calls */
    uint64_t wake_pending;        /* ... that found a frame already waiting */
};

/* dev must come from virtio_net_create(). */
void virtio_net_get_xstats(const struct netdev *dev, struct virtio_net_xstats *out);

#endif
