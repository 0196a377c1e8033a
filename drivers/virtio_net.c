/*
 * virtio-net port driver (VIRTIO 1.1, 5.1): see virtio_net.h for what it
 * negotiates, virtio_pci.c for the transport and virtqueue.c for the rings.
 *
 * One packet is one descriptor. The 12-byte header (5.1.6: with
 * VIRTIO_F_VERSION_1 it always has num_buffers, MRG_RXBUF or not) sits in the
 * pktbuf headroom right before the frame:
 *
 *   pktbuf   | meta 64 | headroom 128              | data room 2048        |
 *                      |               | hdr 12   | frame ...              |
 *                                      ^ desc.addr = frame DMA - 12
 *   RX:  desc.len = 12 + 2048, device-writable; the device writes the header
 *        and the frame, and reports used.len = 12 + frame length.
 *   TX:  desc.len = 12 + frame length, device-readable; header all zeros
 *        (no checksum or segmentation offload was negotiated).
 *
 * Hot path: rx_burst takes what the used ring holds, refills the free slots
 * from the pool in bulk, publishes them with one avail->idx store and rings
 * the doorbell at most once, only if the device asked (virtqueue_kick).
 * tx_burst first takes back what the device has sent (freeing the buffers in
 * bulk), then describes as many packets as there are free descriptors and
 * kicks at most once.
 *
 * QEMU facts this relies on (QEMU 7.2, hw/net/virtio-net.c and
 * hw/virtio/virtio.c):
 *   - RX: a frame is written only when a whole buffer is available; without
 *     MRG_RXBUF a frame that does not fit is dropped. 2060-byte buffers hold
 *     any 1514-byte frame (and a VLAN tag). QEMU writes the first 10 header
 *     bytes; num_buffers is left as it was, so it is never read here.
 *   - TX: buffers come back with used.len = 0, in order, from a bottom half
 *     that runs after the doorbell; with the link down they come back unsent.
 *   - Under TCG there is no ioeventfd: the doorbell write is handled in the
 *     vCPU thread before it returns, and the TX handler turns notifications
 *     off at once, so later bursts are not kicked until the bottom half has
 *     run (virtio_net_handle_tx_bh).
 */
#include "drivers/virtio_net.h"

#include "drivers/virtio_pci.h"
#include "drivers/virtqueue.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/dma.h"
#include "net/errno.h"
#include "net/pool.h"

/* Device feature bits (5.1.3). */
#define VIRTIO_NET_F_MAC           5
#define VIRTIO_NET_F_STATUS        16

/* struct virtio_net_config (5.1.4): byte offsets. */
#define VIRTIO_NET_CFG_MAC         0     /* u8[6] */
#define VIRTIO_NET_CFG_STATUS      6     /* le16 */
#define VIRTIO_NET_S_LINK_UP       1u

#define VNET_RXQ                   0     /* receiveq1 (5.1.2) */
#define VNET_TXQ                   1     /* transmitq1 */
#define VNET_CHUNK                 64u   /* buffers moved per pool call */
#define VNET_WAKE_MSIX_ENTRY       0     /* the RX queue's vector: MSI-X table entry 0 */
#define VNET_MAC_READ_TRIES        16

#define BIT64(n)                   (1ull << (n))

/* struct virtio_net_hdr (5.1.6), the VERSION_1 layout. */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "5.1.6: 12 bytes with VERSION_1");

#define VNET_HDR_BYTES             ((uint32_t)sizeof(struct virtio_net_hdr))
#define VNET_RX_BUF_BYTES          (VNET_HDR_BYTES + PKTBUF_DATA_ROOM)
_Static_assert(PKTBUF_HEADROOM >= VNET_HDR_BYTES, "the header lives in the headroom");
_Static_assert(VNET_RX_BUF_BYTES >= 1526, "5.1.6.3.1: RX buffers of at least 1526 bytes");

struct virtio_net {
    struct netdev nd;                /* first: the ops get &nd */
    struct virtio_pci vp;
    struct virtqueue rxq, txq;
    uint64_t features;
    bool stopped;
    bool promisc_noted;
    uint16_t rx_vector;              /* RX queue's MSI-X vector, or NO_VECTOR */
    uint64_t rx_bad_len, tx_bad_headroom, tx_reclaimed;
    uint64_t wake_arms, wake_pending;
    bool device_needs_reset;
};

static struct virtio_net *vnet_of(struct netdev *nd)
{
    return (struct virtio_net *)nd;
}

static bool is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static uint16_t pow2_floor(uint16_t x)
{
    uint16_t p = 1;

    while ((uint32_t)p * 2 <= x)
        p = (uint16_t)(p * 2);
    return p;
}

/* ---- buffers ---- */

/* Returns every buffer a queue still holds to its pool (after a reset). */
static void vnet_release_all(struct virtqueue *vq)
{
    void *cookies[VNET_CHUNK];
    struct pktbuf *bufs[VNET_CHUNK];
    uint16_t n;

    while ((n = virtqueue_detach(vq, cookies, VNET_CHUNK)) > 0) {
        for (uint16_t i = 0; i < n; i++)
            bufs[i] = cookies[i];
        pktbuf_free_bulk(bufs, n);
    }
}

/* Fills every free RX descriptor with a fresh buffer and publishes them.
 * Returns false when the pool ran short: not an error, the slots stay
 * empty and every later burst tries again. */
static bool vnet_rx_refill(struct virtio_net *vn)
{
    struct pktbuf *bufs[VNET_CHUNK];
    bool enough = true;

    while (virtqueue_nb_free(&vn->rxq) > 0) {
        unsigned want = virtqueue_nb_free(&vn->rxq);
        unsigned got;

        if (want > VNET_CHUNK)
            want = VNET_CHUNK;
        got = pool_get_bulk(vn->nd.pool, bufs, want);
        for (unsigned i = 0; i < got; i++)
            virtqueue_add(&vn->rxq, bufs[i], pktbuf_data_dma(bufs[i]) - VNET_HDR_BYTES,
                          VNET_RX_BUF_BYTES, VIRTQ_DESC_F_WRITE);
        if (got < want) {
            enough = false;
            break;
        }
    }
    virtqueue_publish(&vn->rxq);
    return enough;
}

/* Takes back what the device has sent and frees it in bulk. */
static void vnet_tx_reclaim(struct virtio_net *vn)
{
    void *cookies[VNET_CHUNK];
    uint32_t lens[VNET_CHUNK];
    struct pktbuf *bufs[VNET_CHUNK];

    while (virtqueue_nb_used(&vn->txq) > 0) {
        uint16_t n = virtqueue_dequeue(&vn->txq, cookies, lens, VNET_CHUNK);

        for (uint16_t i = 0; i < n; i++)
            bufs[i] = cookies[i];
        pktbuf_free_bulk(bufs, n);
        vn->tx_reclaimed += n;
    }
}

/* ---- link ---- */

static bool vnet_link_read(struct virtio_net *vn)
{
    /* QEMU sets DEVICE_NEEDS_RESET when it declares the device broken
     * (virtio_error: a ring it cannot make sense of); it then ignores the
     * queues until a reset, so the port is as good as down. */
    if (virtio_pci_get_status(&vn->vp) & VIRTIO_STATUS_NEEDS_RESET) {
        if (!vn->device_needs_reset)
            kprintf("virtio-net port %u: device needs reset (it found an error in our rings)\n",
                    vn->nd.port_id);
        vn->device_needs_reset = true;
        return false;
    }
    if (!(vn->features & BIT64(VIRTIO_NET_F_STATUS)))
        return true;                 /* 5.1.4: no STATUS means the link is up */
    return (virtio_pci_cfg_read16(&vn->vp, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP) != 0;
}

static bool vnet_link_poll(struct netdev *nd)
{
    struct virtio_net *vn = vnet_of(nd);
    bool up = !vn->stopped && vnet_link_read(vn);

    if (up != nd->link_up) {
        nd->link_up = up;
        nd->stats.link_changes++;
    }
    return up;
}

/* ---- hot path ---- */

/* Turns used RX buffers into packets: length past the header, port, time.
 * Returns how many went into pkts; impossible lengths are dropped. */
static uint16_t vnet_rx_deliver(struct virtio_net *vn, void **done, const uint32_t *lens,
                                uint16_t n, struct pktbuf **pkts)
{
    struct pktbuf *drops[VIRTIO_NET_RX_BURST_MAX];
    uint64_t tsc = cpu_rdtsc();
    uint64_t bytes = 0;
    uint16_t k = 0, nb_drops = 0;

    for (uint16_t i = 0; i < n; i++) {
        struct pktbuf *b = done[i];

        if (lens[i] <= VNET_HDR_BYTES || lens[i] > VNET_RX_BUF_BYTES) {
            drops[nb_drops++] = b;
            continue;
        }
        /* data_off is PKTBUF_HEADROOM from pool_get: the frame's first byte. */
        b->data_len = (uint16_t)(lens[i] - VNET_HDR_BYTES);
        b->port = vn->nd.port_id;
        b->rx_tsc = tsc;
        bytes += b->data_len;
        pkts[k++] = b;
    }
    if (nb_drops > 0) {
        pktbuf_free_bulk(drops, nb_drops);
        vn->rx_bad_len += nb_drops;
    }
    vn->nd.stats.rx_packets += k;
    vn->nd.stats.rx_bytes += bytes;
    return k;
}

static uint16_t vnet_rx_burst(struct netdev *nd, struct pktbuf **pkts, uint16_t nb)
{
    struct virtio_net *vn = vnet_of(nd);
    void *done[VIRTIO_NET_RX_BURST_MAX];
    uint32_t lens[VIRTIO_NET_RX_BURST_MAX];
    uint16_t n, k = 0;

    if (vn->stopped)
        return 0;
    if (nb > VIRTIO_NET_RX_BURST_MAX)
        nb = VIRTIO_NET_RX_BURST_MAX;
    n = virtqueue_dequeue(&vn->rxq, done, lens, nb);
    if (n > 0)
        k = vnet_rx_deliver(vn, done, lens, n, pkts);
    else if (virtqueue_nb_busy(&vn->txq) > 0)
        vnet_tx_reclaim(vn);         /* idle: let in_use settle back to its baseline */
    /* Frames go up even when their slots cannot be refilled: the ring
     * shrinks until the pool recovers (counted once per such burst, as
     * e1000 does; an idle poll retries without counting). */
    if (!vnet_rx_refill(vn) && n > 0)
        nd->stats.rx_nobuf++;
    virtqueue_kick(&vn->rxq);
    return k;
}

/* Describes one packet; false (and the packet freed) if it cannot be sent. */
static bool vnet_tx_post(struct virtio_net *vn, struct pktbuf *b)
{
    struct virtio_net_hdr *hdr;

    if (b->data_off < VNET_HDR_BYTES || b->data_len == 0 ||
        b->data_len > pktbuf_tailroom(b)) {
        vn->tx_bad_headroom++;
        pktbuf_free(b);
        return false;
    }
    hdr = (struct virtio_net_hdr *)(pktbuf_data(b) - VNET_HDR_BYTES);
    hdr->flags = 0;                  /* no VIRTIO_NET_HDR_F_NEEDS_CSUM */
    hdr->gso_type = 0;               /* VIRTIO_NET_HDR_GSO_NONE */
    hdr->hdr_len = 0;
    hdr->gso_size = 0;
    hdr->csum_start = 0;
    hdr->csum_offset = 0;
    hdr->num_buffers = 0;            /* 5.1.6.2: the driver sets it to 0 on TX */
    virtqueue_add(&vn->txq, b, pktbuf_data_dma(b) - VNET_HDR_BYTES,
                  VNET_HDR_BYTES + b->data_len, 0);
    return true;
}

static uint16_t vnet_tx_burst(struct netdev *nd, struct pktbuf **pkts, uint16_t nb)
{
    struct virtio_net *vn = vnet_of(nd);
    uint64_t bytes = 0, sent = 0;
    uint16_t n;

    if (vn->stopped) {
        nd->stats.tx_full += nb;
        return 0;
    }
    vnet_tx_reclaim(vn);
    n = virtqueue_nb_free(&vn->txq);
    if (n > nb)
        n = nb;
    for (uint16_t i = 0; i < n; i++) {
        uint16_t len = pkts[i]->data_len;

        if (vnet_tx_post(vn, pkts[i])) {
            bytes += len;
            sent++;
        }
    }
    virtqueue_publish(&vn->txq);
    virtqueue_kick(&vn->txq);
    nd->stats.tx_packets += sent;
    nd->stats.tx_bytes += bytes;
    nd->stats.tx_full += (uint64_t)(nb - n);
    return n;
}

/*
 * QEMU's virtio-net filters received frames only on the control queue's
 * say-so (VIRTIO_NET_F_CTRL_RX, class VIRTIO_NET_CTRL_RX). Its
 * receive_filter() returns "accept" at once while n->promisc is set, and
 * virtio_net_reset() sets it; only a control queue command clears it. This
 * driver negotiates no control queue, so the port receives every frame the
 * backend delivers: it is promiscuous, and turning that off is impossible.
 */
static void vnet_set_promisc(struct netdev *nd, bool on)
{
    struct virtio_net *vn = vnet_of(nd);

    if (!on && !vn->promisc_noted) {
        kprintf("virtio-net port %u: stays promiscuous (no control queue); "
                "filter by destination MAC in the pipeline\n", nd->port_id);
        vn->promisc_noted = true;
    }
    nd->promisc = true;
}

static void vnet_stop(struct netdev *nd)
{
    struct virtio_net *vn = vnet_of(nd);

    if (vn->stopped)
        return;
    /* Reset first: after it the device owns no descriptor (4.1.4.3.2). */
    if (virtio_pci_reset(&vn->vp, VIRTIO_PCI_RESET_TIMEOUT_US) < 0)
        kprintf("virtio-net port %u: reset timed out in stop\n", nd->port_id);
    vn->stopped = true;
    vnet_release_all(&vn->rxq);
    vnet_release_all(&vn->txq);
    nd->link_up = false;
}

/*
 * Wake-on-receive: the RX queue's MSI-X vector ends an idle halt. The
 * device is asked for an interrupt only here, right before the halt, and
 * the ring is looked at once more after asking (virtqueue_enable_interrupts):
 * a frame that landed in between would otherwise sleep until the timer.
 * QEMU decides per frame (virtio_split_should_notify): with EVENT_IDX
 * whether used->idx stepped past used_event, without it whether
 * avail->flags lacks NO_INTERRUPT; then msix_notify() writes the message.
 * It asks after every frame, comparing with the used index of its previous
 * look, so a used_event set nb_frames - 1 ahead (a coalesced wake while
 * traffic flows) is crossed exactly by the nb_frames-th waiting frame.
 */
static enum netdev_wake vnet_rx_wake(struct netdev *nd, uint16_t nb_frames)
{
    struct virtio_net *vn = vnet_of(nd);

    if (vn->rx_vector == VIRTIO_MSI_NO_VECTOR || vn->stopped)
        return NETDEV_WAKE_NONE;
    if (nb_frames == 0) {
        virtqueue_disable_interrupts(&vn->rxq);
        return NETDEV_WAKE_OFF;
    }
    vn->wake_arms++;
    if (virtqueue_enable_interrupts(&vn->rxq, nb_frames))
        return NETDEV_WAKE_ARMED;
    vn->wake_pending++;
    return NETDEV_WAKE_PENDING;
}

static const struct netdev_ops vnet_ops = {
    .rx_burst = vnet_rx_burst,
    .tx_burst = vnet_tx_burst,
    .link_poll = vnet_link_poll,
    .set_promisc = vnet_set_promisc,
    .stop = vnet_stop,
    .rx_wake = vnet_rx_wake,
};

/* ---- bring-up (3.1.1) ---- */

bool virtio_net_supports(uint16_t vendor, uint16_t device)
{
    return vendor == VIRTIO_PCI_VENDOR &&
           (device == VIRTIO_NET_DEVICE_TRANSITIONAL || device == VIRTIO_NET_DEVICE_MODERN);
}

void virtio_net_default_opts(struct virtio_net_opts *opts)
{
    opts->event_idx = true;
    opts->wake_msi_addr = 0;
    opts->wake_msi_data = 0;
}

/* MSI-X on with one entry for the RX queue, before the device reset (MSI-X
 * state lives in PCI config space, which a virtio reset leaves alone). */
static void vnet_wake_setup(struct virtio_net *vn, const struct virtio_net_opts *opts)
{
    int rc;

    vn->rx_vector = VIRTIO_MSI_NO_VECTOR;
    if (opts->wake_msi_addr == 0)
        return;
    rc = virtio_pci_msix_setup(&vn->vp, VNET_WAKE_MSIX_ENTRY, opts->wake_msi_addr,
                               opts->wake_msi_data);
    if (rc < 0) {
        kprintf("virtio-net port %u: no usable MSI-X (error %d): it cannot wake the CPU\n",
                vn->nd.port_id, rc);
        return;
    }
    vn->rx_vector = VNET_WAKE_MSIX_ENTRY;
}

static int vnet_check_config(const struct netdev_config *cfg)
{
    if (cfg == NULL || cfg->pool == NULL)
        return -PM_EINVAL;
    if (!is_pow2(cfg->rx_ring_size) || !is_pow2(cfg->tx_ring_size))
        return -PM_EINVAL;
    return 0;
}

/* Steps 4-6: take VERSION_1, MAC, STATUS and (if wanted) EVENT_IDX. */
static int vnet_negotiate(struct virtio_net *vn, const struct virtio_net_opts *opts)
{
    uint64_t offered = virtio_pci_device_features(&vn->vp);
    uint64_t wanted = BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MAC) |
                      BIT64(VIRTIO_NET_F_STATUS);

    if (!(offered & BIT64(VIRTIO_F_VERSION_1))) {
        kprintf("virtio-net port %u: device does not offer VIRTIO_F_VERSION_1 "
                "(legacy only?): not supported\n", vn->nd.port_id);
        return -PM_ENOTSUP;
    }
    if (opts->event_idx)
        wanted |= BIT64(VIRTIO_F_RING_EVENT_IDX);
    vn->features = offered & wanted;
    virtio_pci_set_driver_features(&vn->vp, vn->features);
    if (!virtio_pci_features_ok(&vn->vp)) {
        kprintf("virtio-net port %u: device refused features 0x%llx (FEATURES_OK did not stick)\n",
                vn->nd.port_id, (unsigned long long)vn->features);
        return -PM_ENOTSUP;
    }
    return 0;
}

static int vnet_setup_queue(struct virtio_net *vn, struct virtqueue *vq, uint16_t index,
                            uint16_t cfg_size, uint16_t *vector)
{
    uint16_t max = virtio_pci_queue_max_size(&vn->vp, index);
    int rc;

    if (max == 0) {
        kprintf("virtio-net port %u: device has no queue %u\n", vn->nd.port_id, index);
        return -PM_ENODEV;
    }
    rc = virtqueue_init(vq, index, pow2_floor(max < cfg_size ? max : cfg_size),
                        (vn->features & BIT64(VIRTIO_F_RING_EVENT_IDX)) != 0);
    if (rc < 0)
        return rc;
    rc = virtio_pci_queue_enable(&vn->vp, vq, vector);
    if (rc < 0)
        kprintf("virtio-net port %u: queue %u setup refused\n", vn->nd.port_id, index);
    return rc;
}

/* The MAC is 6 one-byte fields: read it between two equal generation
 * counts so a concurrent change cannot tear it (2.4.1). Without
 * VIRTIO_NET_F_MAC the driver makes one up (5.1.5): locally administered. */
static void vnet_read_mac(struct virtio_net *vn)
{
    uint8_t *mac = vn->nd.mac;

    if (!(vn->features & BIT64(VIRTIO_NET_F_MAC))) {
        const uint8_t made_up[6] = { 0x02, 'p', 'm', 0, (uint8_t)(vn->nd.port_id >> 8),
                                     (uint8_t)vn->nd.port_id };
        for (int i = 0; i < 6; i++)
            mac[i] = made_up[i];
        return;
    }
    for (int tries = 0; tries < VNET_MAC_READ_TRIES; tries++) {
        uint8_t gen = virtio_pci_config_generation(&vn->vp);

        for (uint32_t i = 0; i < 6; i++)
            mac[i] = virtio_pci_cfg_read8(&vn->vp, VIRTIO_NET_CFG_MAC + i);
        if (gen == virtio_pci_config_generation(&vn->vp))
            return;
    }
}

/* Step 7: queues, configuration, RX buffers. Buffers are posted (and
 * published) before DRIVER_OK, as 3.1.1 allows; the doorbell waits for it. */
static int vnet_setup(struct virtio_net *vn, const struct netdev_config *cfg)
{
    uint16_t wanted_rx_vector = vn->rx_vector, tx_vector = VIRTIO_MSI_NO_VECTOR;
    int rc;

    if (virtio_pci_num_queues(&vn->vp) < 2) {
        kprintf("virtio-net port %u: fewer than 2 queues\n", vn->nd.port_id);
        return -PM_ENODEV;
    }
    virtio_pci_disable_config_vector(&vn->vp);
    rc = vnet_setup_queue(vn, &vn->rxq, VNET_RXQ, cfg->rx_ring_size, &vn->rx_vector);
    if (rc == 0)
        rc = vnet_setup_queue(vn, &vn->txq, VNET_TXQ, cfg->tx_ring_size, &tx_vector);
    if (rc < 0)
        return rc;
    if (vn->rx_vector != wanted_rx_vector)
        kprintf("virtio-net port %u: device took no MSI-X vector for RX: it cannot wake "
                "the CPU\n", vn->nd.port_id);
    vnet_read_mac(vn);
    vn->nd.rx_ring_size = vn->rxq.size;
    vn->nd.tx_ring_size = vn->txq.size;
    if (!vnet_rx_refill(vn))
        vn->nd.stats.rx_nobuf++;
    if (virtqueue_nb_busy(&vn->rxq) == 0) {
        kprintf("virtio-net port %u: pool has no buffers for the RX queue\n", vn->nd.port_id);
        return -PM_ENOMEM;
    }
    return 0;
}

static int vnet_bring_up(struct virtio_net *vn, const struct netdev_config *cfg,
                         const struct virtio_net_opts *opts)
{
    int rc;

    /* 1. Reset. */
    rc = virtio_pci_reset(&vn->vp, VIRTIO_PCI_RESET_TIMEOUT_US);
    if (rc < 0) {
        kprintf("virtio-net port %u: reset did not complete\n", vn->nd.port_id);
        return rc;
    }
    /* 2-3. The OS has noticed the device and knows how to drive it. */
    virtio_pci_add_status(&vn->vp, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_pci_add_status(&vn->vp, VIRTIO_STATUS_DRIVER);
    /* 4-6. Features, FEATURES_OK, and check that it stuck. */
    rc = vnet_negotiate(vn, opts);
    /* 7. Device-specific setup. */
    if (rc == 0)
        rc = vnet_setup(vn, cfg);
    if (rc < 0)
        return rc;
    /* 8. DRIVER_OK: the device is live; only now may it be notified. */
    virtio_pci_add_status(&vn->vp, VIRTIO_STATUS_DRIVER_OK);
    virtqueue_kick(&vn->rxq);
    vn->nd.link_up = vnet_link_read(vn);
    return 0;
}

static void vnet_init_netdev(struct virtio_net *vn, const struct netdev_config *cfg)
{
    struct netdev *nd = &vn->nd;

    nd->ops = &vnet_ops;
    nd->driver = "virtio-net";
    nd->port_id = cfg->port_id;
    nd->pool = cfg->pool;
    nd->promisc = true;              /* see vnet_set_promisc */
    nd->link_up = false;
}

int virtio_net_create_opts(const struct pci_cfg_ops *pci, const struct pci_dev *dev,
                           const struct netdev_config *cfg, const struct virtio_net_opts *opts,
                           struct netdev **out)
{
    struct virtio_net *vn;
    int rc;

    if (!virtio_net_supports(dev->vendor, dev->device))
        return -PM_ENODEV;
    rc = vnet_check_config(cfg);
    if (rc < 0)
        return rc;
    /* Zeroed, never freed: the kernel's allocator for what drivers keep. */
    vn = dma_alloc(sizeof(*vn), 64);
    if (vn == NULL)
        return -PM_ENOMEM;
    vnet_init_netdev(vn, cfg);
    rc = virtio_pci_probe(&vn->vp, pci, dev);
    if (rc < 0) {
        kprintf("virtio-net port %u (%02x:%02x.%x): no usable modern virtio capabilities\n",
                cfg->port_id, dev->bus, dev->dev, dev->fn);
        return rc;
    }
    virtio_pci_enable_function(&vn->vp);
    vnet_wake_setup(vn, opts);
    rc = vnet_bring_up(vn, cfg, opts);
    if (rc < 0) {
        /* 3.1.1: give up with FAILED set; a later reset recovers the device.
         * Posted RX buffers (none unless setup got that far) go back. */
        virtio_pci_add_status(&vn->vp, VIRTIO_STATUS_FAILED);
        vnet_release_all(&vn->rxq);
        return rc;
    }
    if (!cfg->promisc)
        vnet_set_promisc(&vn->nd, false);
    *out = &vn->nd;
    return 0;
}

int virtio_net_create(const struct pci_cfg_ops *pci, const struct pci_dev *dev,
                      const struct netdev_config *cfg, struct netdev **out)
{
    struct virtio_net_opts opts;

    virtio_net_default_opts(&opts);
    return virtio_net_create_opts(pci, dev, cfg, &opts, out);
}

void virtio_net_get_xstats(const struct netdev *dev, struct virtio_net_xstats *out)
{
    const struct virtio_net *vn = (const struct virtio_net *)dev;

    out->features = vn->features;
    out->rx_notify = vn->rxq.nb_notify;
    out->tx_notify = vn->txq.nb_notify;
    out->rx_notify_suppressed = vn->rxq.nb_notify_suppressed;
    out->tx_notify_suppressed = vn->txq.nb_notify_suppressed;
    out->rx_bad_len = vn->rx_bad_len;
    out->bad_used = vn->rxq.nb_bad_used + vn->txq.nb_bad_used;
    out->tx_bad_headroom = vn->tx_bad_headroom;
    out->tx_reclaimed = vn->tx_reclaimed;
    out->device_needs_reset = vn->device_needs_reset;
    out->rx_wake = vn->rx_vector != VIRTIO_MSI_NO_VECTOR;
    out->wake_arms = vn->wake_arms;
    out->wake_pending = vn->wake_pending;
}
