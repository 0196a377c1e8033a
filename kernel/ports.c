/*
 * Port bring-up, the tables of the configured mode, and the polling loop's
 * per-port work.
 *
 * Per burst (DESIGN.md, Hot path): rx_burst up to 32 packets from a port,
 * run them through the pipeline (net/pipeline.c: hook, parse, ACL, mode),
 * then flush every port's TX batch with one tx_burst and free the drops in
 * bulk. Tables (LPM, router, bridge, pipeline) live in the kernel heap.
 */
#include "kernel/ports.h"

#include "drivers/e1000.h"
#include "drivers/virtio_net.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/dma.h"
#include "kernel/idle.h"
#include "kernel/mm.h"
#include "net/bridge.h"
#include "net/capture.h"
#include "net/errno.h"
#include "net/fwd.h"
#include "net/lpm.h"
#include "net/netdev.h"
#include "net/pipeline.h"
#include "net/pool.h"
#include "net/ring.h"
#include "net/router.h"

#define BRIDGE_MAX_MACS 4096
#define BRIDGE_AGE_EVERY_NS 1000000000ull
#define LINK_POLL_NS        10000000ull      /* 10 ms */

struct port_state {
    struct netdev *dev;
    struct netdev_stats last;    /* at the previous tick, for rates */
};

#define CAPTURE_QUEUE_SLOTS 512

static struct port_state ports[PORTS_MAX];
static uint16_t nb_ports;            /* bound NICs */
static uint16_t nb_fwd_ports;        /* those that forward: all but the capture port */
static struct netdev *capture_dev;
static struct capture *cap;
/* Loop accounting for the STATS line: polls, polls that found packets, and
 * TSC cycles spent from rx_burst's return to the end of the TX flush. */
static uint64_t nb_polls, nb_busy_polls, pipeline_cycles, pipeline_pkts;
static uint64_t last_polls, last_busy, last_cycles, last_pkts, last_halted_ns, last_halts;
static uint64_t last_woken_early, last_batch_halts;
static struct pool *pkt_pool;
static uint32_t pool_baseline_in_use;
static struct pipeline *pl;
static struct lpm *lpm;
static struct router *router;
static struct bridge *bridge;
static struct acl *acl;
static uint64_t next_bridge_age_ns, next_link_poll_ns;

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
        idle_rx_wake_msi(cfg, &opts.wake_msi_addr, &opts.wake_msi_data);
        return virtio_net_create_opts(pci, d, nc, &opts, dev);
    }
    return -PM_ENODEV;
}

static void print_mac(const uint8_t mac[6])
{
    kprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

unsigned ports_nb_nics(const struct pci_dev *devs, int nb_devs)
{
    unsigned n = 0;
    for (int i = 0; i < nb_devs && n < PORTS_MAX; i++)
        if (pci_nic_name(devs[i].vendor, devs[i].device) != NULL)
            n++;
    return n;
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

static void describe_ports(const struct config *cfg)
{
    for (uint16_t p = 0; p < nb_ports; p++) {
        struct netdev *dev = ports[p].dev;
        kprintf("port %u: %s mac ", p, dev->driver);
        print_mac(dev->mac);
        kprintf(", rings rx %u tx %u, link %s, ", dev->rx_ring_size, dev->tx_ring_size,
                dev->link_up ? "up" : "down");
        if (dev == capture_dev) {
            kprintf("capture: carries captured frames out (pktcap)\n");
            continue;
        }
        uint16_t out = pl->ports[p].l2fwd_out;
        switch (cfg->mode) {
        case CONFIG_MODE_REFLECT:
            kprintf("reflect\n");
            break;
        case CONFIG_MODE_L2FWD:
            if (out == FWD_NO_PORT) {
                kprintf("no pair: frames dropped\n");
                break;
            }
            kprintf("l2fwd -> port %u, dst ", out);
            print_mac(pl->ports[out].peer_mac);
            kprintf("\n");
            break;
        case CONFIG_MODE_BRIDGE:
            kprintf("bridge\n");
            break;
        case CONFIG_MODE_ROUTER:
            if (cfg->ports[p].has_ip)
                kprintf("router %u.%u.%u.%u/%u\n", cfg->ports[p].ip >> 24,
                        (cfg->ports[p].ip >> 16) & 0xff, (cfg->ports[p].ip >> 8) & 0xff,
                        cfg->ports[p].ip & 0xff, cfg->ports[p].ip_len);
            else
                kprintf("router, no address: IPv4 to it is not routed\n");
            break;
        }
    }
}

static void router_emit(void *ctx, uint16_t port, struct pktbuf *pkt)
{
    pipeline_emit(ctx, port, pkt);
}

static void router_drop(void *ctx, struct pktbuf *pkt, enum drop_reason why)
{
    pipeline_drop(ctx, pkt, why);
}

static int setup_router(const struct config *cfg)
{
    uint32_t max_routes = CONFIG_MAX_ROUTES + CONFIG_MAX_PORTS;
    size_t lpm_bytes = lpm_mem_bytes(max_routes);
    void *lpm_mem = kmem_alloc(lpm_bytes, 64);
    void *rt_mem = kmem_alloc(router_mem_bytes(), 64);
    if (lpm_mem == NULL || rt_mem == NULL)
        return -PM_ENOMEM;
    lpm = lpm_create(lpm_mem, lpm_bytes, max_routes);
    struct router_io io = { .pool = pkt_pool, .emit = router_emit, .drop = router_drop, .ctx = pl };
    router = lpm ? router_create(rt_mem, router_mem_bytes(), lpm, &io) : NULL;
    if (router == NULL)
        return -PM_ENOMEM;
    int rc = 0;
    uint64_t t0 = clock_ns();
    for (uint16_t p = 0; rc == 0 && p < nb_fwd_ports; p++)
        if (cfg->ports[p].has_ip)
            rc = router_add_port(router, p, cfg->ports[p].ip, cfg->ports[p].ip_len,
                                 ports[p].dev->mac);
    for (uint32_t i = 0; rc == 0 && i < cfg->nb_routes; i++)
        rc = router_add_route(router, cfg->routes[i].prefix, cfg->routes[i].len,
                              cfg->routes[i].gw);
    for (uint32_t i = 0; rc == 0 && i < cfg->nb_neighbors; i++)
        rc = router_add_neighbor(router, cfg->neighbors[i].ip, cfg->neighbors[i].mac);
    if (rc == 0)
        rc = router_set_icmp_rate(router, cfg->icmp_rate, cfg->icmp_echo_rate);
    struct lpm_stats ls;
    lpm_get_stats(lpm, &ls);
    kprintf("lpm: %u routes in %llu us, %llu KiB of %llu KiB used\n", ls.nb_routes,
            (unsigned long long)(clock_ns() - t0) / 1000, (unsigned long long)ls.mem_used >> 10,
            (unsigned long long)ls.mem_total >> 10);
    pl->router = router;
    return rc;
}

static int setup_mode(const struct config *cfg)
{
    struct netdev *devs[PORTS_MAX];
    for (uint16_t p = 0; p < nb_fwd_ports; p++)
        devs[p] = ports[p].dev;
    pl = kmem_alloc(sizeof(*pl), 64);
    acl = kmem_alloc(sizeof(*acl), 64);
    if (pl == NULL || acl == NULL)
        return -PM_ENOMEM;
    pipeline_init(pl, cfg, devs, nb_fwd_ports, pkt_pool);
    *acl = cfg->acl;
    size_t acl_bytes = acl_mem_bytes(acl->nb_rules);
    void *acl_mem = kmem_alloc(acl_bytes, 64);
    if (acl_mem == NULL || acl_build(acl, acl_mem, acl_bytes) < 0)
        return -PM_ENOMEM;
    pl->acl = acl;
    if (cfg->mode == CONFIG_MODE_BRIDGE) {
        size_t bytes = bridge_mem_bytes(BRIDGE_MAX_MACS);
        void *mem = kmem_alloc(bytes, 64);
        bridge = mem ? bridge_create(mem, bytes, BRIDGE_MAX_MACS,
                                     (uint64_t)cfg->bridge_age_s * 1000000000ull,
                                     cfg->bridge_vlan) : NULL;
        pl->bridge = bridge;
        return bridge ? 0 : -PM_ENOMEM;
    }
    if (cfg->mode == CONFIG_MODE_ROUTER)
        return setup_router(cfg);
    return 0;
}

/* `port N role capture` names the last port (config_check_ports saw to it
 * before start-up), so forwarding ports keep their numbers 0..nb_fwd_ports-1. */
static int setup_capture(const struct config *cfg, uint64_t epoch_ns)
{
    nb_fwd_ports = nb_ports;
    if (nb_ports > 0 && cfg->ports[nb_ports - 1].is_capture) {
        nb_fwd_ports = nb_ports - 1;
        capture_dev = ports[nb_ports - 1].dev;
    }
    cap = kmem_alloc(sizeof(*cap), 64);
    void *ring_mem = kmem_alloc(ring_mem_bytes(CAPTURE_QUEUE_SLOTS), 64);
    if (cap == NULL || ring_mem == NULL)
        return -PM_ENOMEM;
    static const uint8_t no_mac[6];
    capture_init(cap, pkt_pool, ring_init(ring_mem, CAPTURE_QUEUE_SLOTS),
                 capture_dev ? capture_dev->mac : no_mac, epoch_ns);
    return 0;
}

void ports_capture_command(const char *args)
{
    char reply[256];
    if (capture_dev == NULL) {
        kprintf("capture: error no capture port (add 'port N role capture' for the last NIC)\n");
        return;
    }
    capture_command(cap, args, nb_fwd_ports, reply, sizeof(reply));
    kprintf("%s\n", reply);
}

int ports_init(const struct config *cfg, const struct pci_cfg_ops *pci,
               const struct pci_dev *devs, int nb_devs, void *arena, uint64_t arena_bytes,
               uint32_t llc_bytes, uint64_t epoch_ns)
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
    rc = setup_capture(cfg, epoch_ns);
    for (uint16_t p = 0; rc == 0 && p < nb_fwd_ports; p++)
        idle_watch_port(ports[p].dev);
    if (rc == 0)
        rc = setup_mode(cfg);
    if (rc == 0 && capture_dev != NULL)
        pl->capture = cap;
    if (rc < 0) {
        kprintf("ports: tables for the mode could not be set up (error %d)\n", rc);
        return rc;
    }
    describe_ports(cfg);
    if (acl->nb_rules > 0 || acl->default_action == ACL_DENY)
        kprintf("acl: %u rules, default %s, classifier %zu bytes\n", acl->nb_rules,
                acl->default_action == ACL_DENY ? "deny" : "allow",
                acl_mem_bytes(acl->nb_rules));
    return nb_ports;
}

/* The capture port forwards nothing; whatever arrives on it is freed. */
static void drain_capture_port(void)
{
    struct pktbuf *pkts[PORTS_BURST];
    uint16_t n = netdev_rx_burst(capture_dev, pkts, PORTS_BURST);
    if (n > 0)
        pktbuf_free_bulk(pkts, n);
    capture_drain(cap, capture_dev);
}

/* Start-up figure (issue "Benchmarks"): when the first packet left. */
static uint64_t first_forward_tsc;
static bool first_forward_told;

unsigned ports_poll(void)
{
    struct pktbuf *pkts[PORTS_BURST];
    unsigned total = 0;
    for (uint16_t p = 0; p < nb_fwd_ports; p++) {
        uint16_t n = netdev_rx_burst(ports[p].dev, pkts, PORTS_BURST);
        if (n == 0)
            continue;
        uint64_t t0 = cpu_rdtsc();
        pipeline_run(pl, p, pkts, n, clock_tsc_to_ns(t0 - clock_epoch_tsc()));
        pipeline_flush(pl);
        pipeline_cycles += cpu_rdtsc() - t0;
        pipeline_pkts += n;
        total += n;
    }
    nb_polls++;
    if (total) {
        nb_busy_polls++;
        if (__builtin_expect(first_forward_tsc == 0, 0) && pl->forwarded != 0)
            first_forward_tsc = cpu_rdtsc();
    }
    if (capture_dev != NULL)
        drain_capture_port();
    return total;
}

/* Link state, read from each NIC every LINK_POLL_NS: the pipeline sends
 * nothing to a port without link (drop reason link_down), so a stale
 * answer would hold traffic back after the cable is back. */
static void poll_links(uint64_t now_ns)
{
    if (now_ns < next_link_poll_ns)
        return;
    next_link_poll_ns = now_ns + LINK_POLL_NS;
    for (uint16_t p = 0; p < nb_ports; p++) {
        struct netdev *dev = ports[p].dev;
        bool was_up = dev->link_up;
        bool up = dev->ops->link_poll(dev);
        if (up != was_up)
            kprintf("port %u: link %s\n", p, up ? "up" : "down");
    }
}

void ports_housekeeping(uint64_t now_ns)
{
    poll_links(now_ns);
    if (first_forward_tsc != 0 && !first_forward_told) {
        kprintf("first forward: %llu us from efi_main entry\n",
                (unsigned long long)clock_tsc_to_ns(first_forward_tsc - clock_epoch_tsc()) / 1000);
        first_forward_told = true;
    }
    if (router != NULL) {
        router_tick(router, now_ns);
        pipeline_flush(pl);           /* ARP retries it sent, drops it made */
    }
    if (bridge != NULL && now_ns >= next_bridge_age_ns) {
        bridge_age(bridge, now_ns);
        next_bridge_age_ns = now_ns + BRIDGE_AGE_EVERY_NS;
    }
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
            (unsigned long long)s->tx_full, (unsigned long long)pl->drops[DROP_NO_OUTPUT],
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

static void print_drops(void);

/* The human drops line, when any count moved since the last interval. */
static void print_drops_if_changed(void)
{
    static uint64_t last_total;
    uint64_t total = 0;
    for (int r = 1; r < DROP__COUNT; r++)
        total += pl->drops[r];
    if (total == last_total)
        return;
    last_total = total;
    print_drops();
}

/* delta per interval, times scale; 64-bit is enough (a second's packets
 * times 10^9 stays below 2^63) and the image has no 128-bit division. */
static uint64_t per_interval(uint64_t delta, uint64_t interval_ns, uint64_t scale)
{
    return interval_ns ? delta * scale / interval_ns : 0;
}

/* Where the STATS line goes: ctl_printf (COM2, or COM1 when there is no
 * COM2) for the per-interval line, kprintf for `stats json`. */
static int (*json_out)(const char *fmt, ...) = ctl_printf;

/* One port's object of the STATS line; rates over the interval. */
static void json_port(uint16_t p, uint64_t interval_ns)
{
    const struct netdev *dev = ports[p].dev;
    const struct netdev_stats *s = &dev->stats, *l = &ports[p].last;
    uint64_t rx_mbps_milli = per_interval(s->rx_bytes - l->rx_bytes, interval_ns, 8000000ull);
    uint64_t tx_mbps_milli = per_interval(s->tx_bytes - l->tx_bytes, interval_ns, 8000000ull);
    json_out("%s{\"port\":%u,\"driver\":\"%s\",\"role\":\"%s\",\"link\":%s,"
             "\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"tx_bytes\":%llu,"
             "\"rx_missed\":%llu,\"rx_nobuf\":%llu,\"tx_full\":%llu,\"link_changes\":%llu,"
             "\"rx_pps\":%llu,\"tx_pps\":%llu,\"rx_mbps\":%llu.%03llu,\"tx_mbps\":%llu.%03llu}",
             p ? "," : "", p, dev->driver, dev == capture_dev ? "capture" : "forward",
             dev->link_up ? "true" : "false",
             (unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
             (unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes,
             (unsigned long long)s->rx_missed, (unsigned long long)s->rx_nobuf,
             (unsigned long long)s->tx_full, (unsigned long long)s->link_changes,
             (unsigned long long)per_interval(s->rx_packets - l->rx_packets, interval_ns,
                                                1000000000ull),
             (unsigned long long)per_interval(s->tx_packets - l->tx_packets, interval_ns,
                                                1000000000ull),
             (unsigned long long)rx_mbps_milli / 1000, (unsigned long long)rx_mbps_milli % 1000,
             (unsigned long long)tx_mbps_milli / 1000, (unsigned long long)tx_mbps_milli % 1000);
}

/* The ledger of net/pipeline.h, which the QEMU tests check against the
 * ports' counters and the host's. */
static void json_ledger(void)
{
    struct pipeline_accounting a = { 0 };
    if (pl)
        pipeline_get_accounting(pl, &a);
    json_out("\"ledger\":{\"received\":%llu,\"generated\":%llu,\"forwarded\":%llu,"
             "\"dropped\":%llu,\"consumed\":%llu,\"parked\":%llu},",
             (unsigned long long)a.received, (unsigned long long)a.generated,
             (unsigned long long)a.forwarded, (unsigned long long)a.dropped,
             (unsigned long long)a.consumed, (unsigned long long)a.parked);
}

/* advance: this line closes an interval (the per-interval line does; an
 * on-demand `stats json` leaves the interval running). */
static void json_tail(bool advance)
{
    json_out("],\"drops\":{");
    for (int r = 1, n = 0; r < DROP__COUNT; r++)
        if (pl->drops[r] != 0)
            json_out("%s\"%s\":%llu", n++ ? "," : "", drop_reason_name((enum drop_reason)r),
                     (unsigned long long)pl->drops[r]);
    uint64_t polls = nb_polls - last_polls, busy = nb_busy_polls - last_busy;
    uint64_t pkts = pipeline_pkts - last_pkts, cycles = pipeline_cycles - last_cycles;
    uint64_t busy_milli = polls ? busy * 1000 / polls : 0;
    struct idle_stats idle;
    idle_get_stats(&idle);
    uint64_t halts = idle.halts - last_halts, halted_ns = idle.halted_ns - last_halted_ns;
    uint64_t woken_early = idle.woken_early - last_woken_early;
    uint64_t batch_halts = idle.batch_halts - last_batch_halts;
    json_out("},\"pool\":{\"in_use\":%u,\"total\":%u,\"rejected_puts\":%llu},"
             "\"loop\":{\"polls\":%llu,\"busy\":%llu.%03llu,\"cycles_per_pkt\":%llu,"
             "\"halts\":%llu,\"halted_ms\":%llu,\"woken_early\":%llu,\"batch_halts\":%llu,"
             "\"pipeline_pkts\":%llu,\"pipeline_cycles\":%llu},",
             pool_in_use(pkt_pool), pkt_pool->nb_bufs,
             (unsigned long long)pkt_pool->nb_put_rejected, (unsigned long long)polls,
             (unsigned long long)busy_milli / 1000, (unsigned long long)busy_milli % 1000,
             (unsigned long long)(pkts ? cycles / pkts : 0), (unsigned long long)halts,
             (unsigned long long)halted_ns / 1000000, (unsigned long long)woken_early,
             (unsigned long long)batch_halts, (unsigned long long)pipeline_pkts,
             (unsigned long long)pipeline_cycles);
    json_ledger();
    json_out("\"capture\":{\"active\":%s,\"captured\":%llu,\"queue_drops\":%llu,"
             "\"sent\":%llu}}\n",
             cap && cap->active ? "true" : "false",
             (unsigned long long)(cap ? cap->captured : 0),
             (unsigned long long)(cap ? cap->queue_drops : 0),
             (unsigned long long)(cap ? cap->sent : 0));
    if (!advance)
        return;
    last_halts = idle.halts;
    last_halted_ns = idle.halted_ns;
    last_woken_early = idle.woken_early;
    last_batch_halts = idle.batch_halts;
    last_polls = nb_polls;
    last_busy = nb_busy_polls;
    last_pkts = pipeline_pkts;
    last_cycles = pipeline_cycles;
}

/* The machine line (DESIGN.md: one STATS {json} per interval on COM2). */
static void print_stats_json(uint64_t interval_ns, bool advance)
{
    json_out("STATS {\"t_ns\":%llu,\"interval_ms\":%llu,\"ports\":[",
             (unsigned long long)clock_ns(), (unsigned long long)interval_ns / 1000000);
    for (uint16_t p = 0; p < nb_ports; p++)
        json_port(p, interval_ns);
    json_tail(advance);
}

/* The per-interval lines: one STATS {json} for tools, then for humans the
 * rates of each port whose counters moved, so an idle console stays
 * readable. */
void ports_tick(uint64_t interval_ns)
{
    print_stats_json(interval_ns, true);
    print_drops_if_changed();
    for (uint16_t p = 0; p < nb_ports; p++) {
        struct netdev *dev = ports[p].dev;
        struct netdev_stats *last = &ports[p].last;
        if (!stats_changed(&dev->stats, last))
            continue;
        const struct netdev_stats *st = &dev->stats;
        uint64_t rx_mbps_milli = per_interval(st->rx_bytes - last->rx_bytes, interval_ns, 8000000ull);
        uint64_t tx_mbps_milli = per_interval(st->tx_bytes - last->tx_bytes, interval_ns, 8000000ull);
        kprintf("port %u: rx %llu pps %llu.%02llu Mbps, tx %llu pps %llu.%02llu Mbps, "
                "rx_missed %llu rx_nobuf %llu tx_full %llu\n", p,
                (unsigned long long)per_interval(st->rx_packets - last->rx_packets, interval_ns,
                                               1000000000ull),
                (unsigned long long)rx_mbps_milli / 1000,
                (unsigned long long)(rx_mbps_milli % 1000) / 10,
                (unsigned long long)per_interval(st->tx_packets - last->tx_packets, interval_ns,
                                               1000000000ull),
                (unsigned long long)tx_mbps_milli / 1000,
                (unsigned long long)(tx_mbps_milli % 1000) / 10,
                (unsigned long long)st->rx_missed, (unsigned long long)st->rx_nobuf,
                (unsigned long long)st->tx_full);
        *last = dev->stats;
    }
}

static void print_drops(void)
{
    kprintf("drops:");
    unsigned shown = 0;
    for (int r = 1; r < DROP__COUNT; r++) {
        if (pl->drops[r] == 0)
            continue;
        kprintf(" %s %llu", drop_reason_name((enum drop_reason)r),
                (unsigned long long)pl->drops[r]);
        shown++;
    }
    kprintf(shown ? "\n" : " none\n");
}

/* `stats json`: the STATS line on the console now, counters as they stand
 * (rates 0: no interval). */
void ports_print_stats_json(void)
{
    json_out = kprintf;
    print_stats_json(0, false);
    json_out = ctl_printf;
}

void ports_print_stats(void)
{
    for (uint16_t p = 0; p < nb_ports; p++)
        print_port_counters(p);
    if (pl)
        print_drops();
    if (pkt_pool)
        kprintf("pool: %u of %u buffers in use\n", pool_in_use(pkt_pool), pkt_pool->nb_bufs);
}

void ports_stop(void)
{
    for (uint16_t p = 0; p < nb_ports; p++)
        ports[p].dev->ops->stop(ports[p].dev);
    for (uint16_t p = 0; p < nb_ports; p++)
        print_port_counters(p);
    if (pl)
        print_drops();
    if (pkt_pool == NULL)
        return;
    uint32_t in_use = pool_in_use(pkt_pool);
    kprintf("pool: in_use %u after stop, baseline %u: %s\n", in_use, pool_baseline_in_use,
            in_use == pool_baseline_in_use ? "every buffer returned" : "BUFFERS MISSING");
}

void ports_print_routes(void)
{
    if (router == NULL) {
        kprintf("routes: not in router mode\n");
        return;
    }
    router_print_routes(router, kprintf);
}

void ports_print_arp(void)
{
    if (router == NULL) {
        kprintf("arp: not in router mode\n");
        return;
    }
    router_print_arp(router, clock_ns(), kprintf);
}

void ports_print_acl(void)
{
    if (acl)
        acl_print(acl, kprintf);
}

void ports_print_macs(void)
{
    if (bridge == NULL) {
        kprintf("macs: not in bridge mode\n");
        return;
    }
    bridge_print(bridge, clock_ns(), kprintf);
}
