/*
 * Port bring-up and the forwarding loop for l2fwd and reflect.
 *
 * Per burst (DESIGN.md, Hot path): rx_burst up to 32 packets from a port,
 * rewrite their Ethernet header for the mode, hand the whole burst to the
 * output port's tx_burst (one doorbell), free what it could not take (the
 * driver counted it in tx_full). Frames with nowhere to go (an unpaired last
 * port in l2fwd) are freed in bulk and counted.
 */
#include "kernel/ports.h"

#include "drivers/e1000.h"
#include "drivers/virtio_net.h"
#include "kernel/console.h"
#include "kernel/dma.h"
#include "net/errno.h"
#include "net/fwd.h"
#include "net/netdev.h"
#include "net/pool.h"

struct port_state {
    struct netdev *dev;
    uint16_t out_port;           /* FWD_NO_PORT: frames are dropped */
    uint8_t peer_mac[6];         /* l2fwd destination for frames leaving here */
    uint64_t no_output_drops;
    struct netdev_stats last;    /* at the previous tick, for rates */
};

static struct port_state ports[PORTS_MAX];
static uint16_t nb_ports;
static struct pool *pkt_pool;
static uint32_t pool_baseline_in_use;
static enum config_mode fwd_mode;

static bool is_virtio(const struct netdev *dev)
{
    return dev->driver[0] == 'v';      /* "virtio-net" */
}

static int bind_nic(const struct config *cfg, const struct pci_cfg_ops *pci,
                    const struct pci_dev *d, const struct netdev_config *nc,
                    struct netdev **dev)
{
    if (e1000_supports(d->vendor, d->device))
        return e1000_create(pci, d, nc, dev);
    if (virtio_net_supports(d->vendor, d->device)) {
        struct virtio_net_opts opts;
        virtio_net_default_opts(&opts);
        opts.event_idx = cfg->virtio_event_idx;
        return virtio_net_create_opts(pci, d, nc, &opts, dev);
    }
    return -PM_ENODEV;
}

static void print_mac(const uint8_t mac[6])
{
    kprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static int bind_ports(const struct config *cfg, const struct pci_cfg_ops *pci,
                      const struct pci_dev *devs, int nb_devs)
{
    for (int i = 0; i < nb_devs && nb_ports < PORTS_MAX; i++) {
        if (pci_nic_name(devs[i].vendor, devs[i].device) == NULL)
            continue;
        struct netdev_config nc = {
            .port_id = nb_ports, .rx_ring_size = (uint16_t)cfg->rx_ring,
            .tx_ring_size = (uint16_t)cfg->tx_ring, .promisc = true, .pool = pkt_pool,
        };
        struct netdev *dev = NULL;
        int rc = bind_nic(cfg, pci, &devs[i], &nc, &dev);
        if (rc < 0) {
            kprintf("port %u: %02x:%02x.%x could not be brought up (error %d)\n", nb_ports,
                    devs[i].bus, devs[i].dev, devs[i].fn, rc);
            return rc;
        }
        ports[nb_ports++].dev = dev;
    }
    return nb_ports;
}

static void plan_forwarding(const struct config *cfg)
{
    fwd_mode = cfg->mode;
    for (uint16_t p = 0; p < nb_ports; p++) {
        ports[p].out_port = fwd_out_port(cfg->mode, p, nb_ports);
        fwd_peer_mac(cfg, p, ports[p].peer_mac);
    }
    for (uint16_t p = 0; p < nb_ports; p++) {
        struct port_state *ps = &ports[p];
        kprintf("port %u: %s mac ", p, ps->dev->driver);
        print_mac(ps->dev->mac);
        kprintf(", rings rx %u tx %u, link %s, ", ps->dev->rx_ring_size, ps->dev->tx_ring_size,
                ps->dev->link_up ? "up" : "down");
        if (ps->out_port == FWD_NO_PORT)
            kprintf("no pair: frames dropped\n");
        else if (cfg->mode == CONFIG_MODE_REFLECT)
            kprintf("reflect\n");
        else {
            kprintf("l2fwd -> port %u, dst ", ps->out_port);
            print_mac(ports[ps->out_port].peer_mac);
            kprintf("\n");
        }
    }
}

int ports_init(const struct config *cfg, const struct pci_cfg_ops *pci,
               const struct pci_dev *devs, int nb_devs, void *arena, uint64_t arena_bytes,
               uint32_t llc_bytes)
{
    pkt_pool = pool_create(arena, dma_addr(arena), arena_bytes, 0);
    if (pkt_pool == NULL)
        return -PM_ENOMEM;
    pool_baseline_in_use = pool_in_use(pkt_pool);
    int rc = bind_ports(cfg, pci, devs, nb_devs);
    if (rc < 0)
        return rc;
    uint64_t slots = 0;
    for (uint16_t p = 0; p < nb_ports; p++)
        slots += ports[p].dev->rx_ring_size + ports[p].dev->tx_ring_size;
    uint64_t ws = slots * PKTBUF_STRIDE;
    kprintf("pool: %u buffers x %u B (%u B headroom, %u B data room); DMA working set "
            "%llu slots x %u B = %llu KiB vs LLC %u KiB\n",
            pkt_pool->nb_bufs, PKTBUF_STRIDE, PKTBUF_HEADROOM, PKTBUF_DATA_ROOM,
            (unsigned long long)slots, PKTBUF_STRIDE, (unsigned long long)ws >> 10,
            llc_bytes >> 10);
    plan_forwarding(cfg);
    return nb_ports;
}

static void forward_burst(struct port_state *in, struct pktbuf **pkts, uint16_t n)
{
    if (in->out_port == FWD_NO_PORT) {
        in->no_output_drops += n;
        pktbuf_free_bulk(pkts, n);
        return;
    }
    struct port_state *out = &ports[in->out_port];
    for (uint16_t i = 0; i < n; i++) {
        uint8_t *frame = pktbuf_data(pkts[i]);
        if (fwd_mode == CONFIG_MODE_REFLECT)
            fwd_rewrite_reflect(frame);
        else
            fwd_rewrite_l2fwd(frame, out->dev->mac, out->peer_mac);
    }
    uint16_t sent = netdev_tx_burst(out->dev, pkts, n);
    if (sent < n)
        pktbuf_free_bulk(pkts + sent, n - sent);
}

unsigned ports_poll(void)
{
    struct pktbuf *pkts[PORTS_BURST];
    unsigned total = 0;
    for (uint16_t p = 0; p < nb_ports; p++) {
        uint16_t n = netdev_rx_burst(ports[p].dev, pkts, PORTS_BURST);
        if (n == 0)
            continue;
        forward_burst(&ports[p], pkts, n);
        total += n;
    }
    return total;
}

static bool stats_changed(const struct netdev_stats *a, const struct netdev_stats *b)
{
    return a->rx_packets != b->rx_packets || a->tx_packets != b->tx_packets ||
           a->rx_missed != b->rx_missed || a->rx_nobuf != b->rx_nobuf ||
           a->tx_full != b->tx_full || a->link_changes != b->link_changes;
}

static void print_port_counters(uint16_t p)
{
    const struct netdev_stats *s = &ports[p].dev->stats;
    kprintf("port %u: rx %llu pkts %llu B, tx %llu pkts %llu B, rx_missed %llu rx_nobuf %llu "
            "tx_full %llu no_output %llu link_changes %llu\n", p,
            (unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
            (unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes,
            (unsigned long long)s->rx_missed, (unsigned long long)s->rx_nobuf,
            (unsigned long long)s->tx_full, (unsigned long long)ports[p].no_output_drops,
            (unsigned long long)s->link_changes);
    if (is_virtio(ports[p].dev)) {
        struct virtio_net_xstats x;
        virtio_net_get_xstats(ports[p].dev, &x);
        kprintf("port %u: virtio event_idx %s, doorbells rx %llu tx %llu, suppressed rx %llu "
                "tx %llu\n", p, (x.features >> 29) & 1 ? "on" : "off",
                (unsigned long long)x.rx_notify, (unsigned long long)x.tx_notify,
                (unsigned long long)x.rx_notify_suppressed,
                (unsigned long long)x.tx_notify_suppressed);
    }
}

/* The per-interval line: rates over the interval, printed only for ports
 * whose counters moved, so an idle console stays readable. */
void ports_tick(uint64_t interval_ns)
{
    for (uint16_t p = 0; p < nb_ports; p++) {
        struct netdev *dev = ports[p].dev;
        bool was_up = dev->link_up;
        bool up = dev->ops->link_poll(dev);
        if (up != was_up)
            kprintf("port %u: link %s\n", p, up ? "up" : "down");
        struct netdev_stats *last = &ports[p].last;
        if (!stats_changed(&dev->stats, last))
            continue;
        uint64_t rx = dev->stats.rx_packets - last->rx_packets;
        uint64_t tx = dev->stats.tx_packets - last->tx_packets;
        uint64_t ms = interval_ns / 1000000 ? interval_ns / 1000000 : 1;
        kprintf("port %u: rx %llu pps, tx %llu pps, totals rx %llu tx %llu, rx_nobuf %llu "
                "tx_full %llu, pool in use %u\n", p,
                (unsigned long long)(rx * 1000 / ms), (unsigned long long)(tx * 1000 / ms),
                (unsigned long long)dev->stats.rx_packets,
                (unsigned long long)dev->stats.tx_packets,
                (unsigned long long)dev->stats.rx_nobuf, (unsigned long long)dev->stats.tx_full,
                pool_in_use(pkt_pool));
        *last = dev->stats;
    }
}

void ports_print_stats(void)
{
    for (uint16_t p = 0; p < nb_ports; p++)
        print_port_counters(p);
    if (pkt_pool)
        kprintf("pool: %u of %u buffers in use\n", pool_in_use(pkt_pool), pkt_pool->nb_bufs);
}

void ports_stop(void)
{
    for (uint16_t p = 0; p < nb_ports; p++)
        ports[p].dev->ops->stop(ports[p].dev);
    for (uint16_t p = 0; p < nb_ports; p++)
        print_port_counters(p);
    if (pkt_pool == NULL)
        return;
    uint32_t in_use = pool_in_use(pkt_pool);
    kprintf("pool: in_use %u after stop, baseline %u: %s\n", in_use, pool_baseline_in_use,
            in_use == pool_baseline_in_use ? "every buffer returned" : "BUFFERS MISSING");
}
